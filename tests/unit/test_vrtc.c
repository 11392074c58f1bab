/*
 * test_vrtc.c - host unit tests for the MC146818 RTC/CMOS model (cmocka,
 * ASan/UBSan): the date and time registers in BCD and binary, 24 and 12
 * hour formats, time running with the caller's clock across leap days,
 * months, years and the century, setting the time with SET, UIP only in
 * the 244 us before a second's update, registers A-D, the NMI bit, CMOS
 * RAM, and random guest accesses.
 * Links: hv/arch/x86/hvm/vrtc.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/hvm_dev.h>

#define S 1000000000ULL
#define T0 (5 * S)   /* the caller's clock at init */

static uint8_t rd(struct vrtc *r, uint8_t reg, uint64_t now)
{
    vrtc_write(r, 0x70, 1, reg, now);
    return (uint8_t)vrtc_read(r, 0x71, 1, now);
}

static void wr(struct vrtc *r, uint8_t reg, uint8_t v, uint64_t now)
{
    vrtc_write(r, 0x70, 1, reg, now);
    vrtc_write(r, 0x71, 1, v, now);
}

/* sec, min, hour, wday, mday, mon, year, century as raw register bytes */
static void expect(struct vrtc *r, uint64_t now, const uint8_t e[8])
{
    static const uint8_t regs[8] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };
    for (int i = 0; i < 8; i++) {
        if (rd(r, regs[i], now) != e[i])
            fail_msg("register 0x%02x: 0x%02x, expected 0x%02x", regs[i], rd(r, regs[i], now), e[i]);
    }
}

static void test_bcd_24h(void **state)
{
    (void)state;
    struct vrtc r;
    vrtc_init(&r, 1796603445, T0, NULL, NULL);                   /* Mon 2026-12-07 00:30:45 */
    expect(&r, T0, (const uint8_t[]){ 0x45, 0x30, 0x00, 0x02, 0x07, 0x12, 0x26, 0x20 });
    expect(&r, T0 + 3 * S + S / 2, (const uint8_t[]){ 0x48, 0x30, 0x00, 0x02, 0x07, 0x12, 0x26, 0x20 });
    expect(&r, T0 + 15 * S, (const uint8_t[]){ 0x00, 0x31, 0x00, 0x02, 0x07, 0x12, 0x26, 0x20 });
    /* Sunday 2026-12-13 00:30:45 */
    expect(&r, T0 + 6 * 86400 * S, (const uint8_t[]){ 0x45, 0x30, 0x00, 0x01, 0x13, 0x12, 0x26, 0x20 });
    assert_int_equal(vrtc_time(&r, T0 + 10 * S + 1), 1796603455);
    assert_int_equal(rd(&r, 0x0A, T0), 0x26);
    assert_int_equal(rd(&r, 0x0B, T0), 0x02);
    /* six days went by: periodic, alarm (00:00:00, the reset alarm) and
     * update flags, no IRQF (nothing enabled); the read clears them */
    assert_int_equal(rd(&r, 0x0C, T0), 0x70);
    assert_int_equal(rd(&r, 0x0C, T0), 0x00);
    assert_int_equal(rd(&r, 0x0D, T0), 0x80);
}

static void test_rollovers(void **state)
{
    (void)state;
    struct vrtc r;
    vrtc_init(&r, 1709164799, 0, NULL, NULL);                    /* Wed 2024-02-28 23:59:59 */
    expect(&r, 0, (const uint8_t[]){ 0x59, 0x59, 0x23, 0x04, 0x28, 0x02, 0x24, 0x20 });
    expect(&r, S, (const uint8_t[]){ 0x00, 0x00, 0x00, 0x05, 0x29, 0x02, 0x24, 0x20 });
    expect(&r, 86401 * S, (const uint8_t[]){ 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20 });
    vrtc_init(&r, 946684799, 0, NULL, NULL);                     /* Fri 1999-12-31 23:59:59 */
    expect(&r, 0, (const uint8_t[]){ 0x59, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19 });
    expect(&r, S, (const uint8_t[]){ 0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20 });
    /* a clock that goes back does not move the RTC back past its base */
    assert_int_equal(vrtc_time(&r, 0), 946684799);
    vrtc_init(&r, 0, 7 * S, NULL, NULL);
    expect(&r, 7 * S, (const uint8_t[]){ 0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x70, 0x19 });
    assert_int_equal(vrtc_time(&r, 3 * S), 0);
}

static void test_binary_and_12h(void **state)
{
    (void)state;
    struct vrtc r;
    vrtc_init(&r, 1796648709, T0, NULL, NULL);                   /* Mon 2026-12-07 13:05:09 */
    wr(&r, 0x0B, 0x06, T0);                          /* binary, 24 h */
    expect(&r, T0, (const uint8_t[]){ 9, 5, 13, 2, 7, 12, 26, 20 });
    wr(&r, 0x0B, 0x04, T0);                          /* binary, 12 h */
    assert_int_equal(rd(&r, 4, T0), 0x80 | 1);
    wr(&r, 0x0B, 0x00, T0);                          /* BCD, 12 h */
    assert_int_equal(rd(&r, 4, T0), 0x81);
    assert_int_equal(rd(&r, 4, T0 + 11 * 3600 * S), 0x12); /* 00:05: 12 AM */
    assert_int_equal(rd(&r, 4, T0 + 23 * 3600 * S), 0x92); /* 12:05: 12 PM */
    assert_int_equal(rd(&r, 4, T0 + 22 * 3600 * S), 0x11); /* 11:05 AM */
}

static void test_set_time(void **state)
{
    (void)state;
    struct vrtc r;
    vrtc_init(&r, 1796603445, T0, NULL, NULL);
    /* Linux's mc146818_set_time(): SET, write BCD fields, clear SET */
    wr(&r, 0x0B, 0x82, T0);
    assert_int_equal(rd(&r, 0x0B, T0), 0x82);
    /* frozen while SET: the time does not run */
    assert_int_equal(rd(&r, 0, T0 + 10 * S), 0x45);
    assert_int_equal(rd(&r, 0x0A, T0 + S - 1000) & 0x80, 0); /* no UIP */
    wr(&r, 0, 0x00, T0);
    wr(&r, 2, 0x00, T0);
    wr(&r, 4, 0x12, T0);
    wr(&r, 7, 0x04, T0);
    wr(&r, 8, 0x07, T0);
    wr(&r, 9, 0x31, T0);
    wr(&r, 0x32, 0x20, T0);
    expect(&r, T0 + 99 * S, (const uint8_t[]){ 0x00, 0x00, 0x12, 0x02, 0x04, 0x07, 0x31, 0x20 });
    wr(&r, 0x0B, 0x02, T0 + 20 * S);                 /* runs from here */
    assert_int_equal(vrtc_time(&r, T0 + 20 * S), 1940932800); /* 2031-07-04 12:00 */
    expect(&r, T0 + 21 * S, (const uint8_t[]){ 0x01, 0x00, 0x12, 0x06, 0x04, 0x07, 0x31, 0x20 });
    /* binary writes in binary mode; SET clears UIE */
    wr(&r, 0x0B, 0x96, T0);
    assert_int_equal(rd(&r, 0x0B, T0), 0x86);
    wr(&r, 0, 30, T0);
    wr(&r, 0x0B, 0x06, T0 + 22 * S);
    assert_int_equal(vrtc_time(&r, T0 + 22 * S), 1940932800 + 30);
    /* a field written while the time runs changes just that field */
    wr(&r, 2, 45, T0 + 22 * S);
    assert_int_equal(vrtc_time(&r, T0 + 22 * S), 1940932800 + 45 * 60 + 30);
    /* dates in January, February and a leap day round-trip */
    static const struct { uint8_t y, m, d; int64_t t; } dates[] = {
        { 0x00, 0x01, 0x01, 946684800 }, { 0x24, 0x02, 0x29, 1709164800 },
        { 0x25, 0x01, 0x31, 1738281600 }, { 0x26, 0x03, 0x01, 1772323200 },
    };
    for (unsigned int i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        wr(&r, 0x0B, 0x82, T0);
        wr(&r, 0, 0, T0);
        wr(&r, 2, 0, T0);
        wr(&r, 4, 0, T0);
        wr(&r, 7, dates[i].d, T0);
        wr(&r, 8, dates[i].m, T0);
        wr(&r, 9, dates[i].y, T0);
        wr(&r, 0x32, 0x20, T0);
        wr(&r, 0x0B, 0x02, T0);
        assert_int_equal(vrtc_time(&r, T0), dates[i].t);
        assert_int_equal(rd(&r, 7, T0), dates[i].d);
        assert_int_equal(rd(&r, 8, T0), dates[i].m);
    }
    /* nonsense values are clamped, never trusted */
    wr(&r, 0x0B, 0x82, T0);
    wr(&r, 8, 0x99, T0);
    wr(&r, 7, 0xFF, T0);
    wr(&r, 4, 0xFF, T0);
    wr(&r, 0x0B, 0x02, T0);
    assert_int_equal(rd(&r, 8, T0), 0x12);
    assert_int_equal(rd(&r, 7, T0), 0x31);
    assert_int_equal(rd(&r, 4, T0), 0x23);
}

static void test_uip_and_registers(void **state)
{
    (void)state;
    struct vrtc r;
    vrtc_init(&r, 1796603445, T0, NULL, NULL);
    assert_int_equal(rd(&r, 0x0A, T0 + S / 2) & 0x80, 0);
    assert_int_equal(rd(&r, 0x0A, T0 + S - 244001) & 0x80, 0);
    assert_int_equal(rd(&r, 0x0A, T0 + S - 244000) & 0x80, 0x80);
    assert_int_equal(rd(&r, 0x0A, T0 + S - 1) & 0x80, 0x80);
    assert_int_equal(rd(&r, 0x0A, T0 + S) & 0x80, 0);          /* updated */
    assert_int_equal(rd(&r, 0, T0 + S - 1), 0x45);
    assert_int_equal(rd(&r, 0, T0 + S), 0x46);
    /* Linux's UIP wait ends within 244 us whatever the phase */
    for (uint64_t ph = 0; ph < S; ph += 7919) {
        uint64_t t = T0 + 3 * S + ph, waited = 0;
        while (rd(&r, 0x0A, t) & 0x80) {
            t += 1000;
            waited += 1000;
            assert_true(waited <= 245000);
        }
    }
    /* A: UIP read-only; C, D read-only; the NMI bit of the index ignored */
    wr(&r, 0x0A, 0xF0, T0);
    assert_int_equal(rd(&r, 0x0A, T0), 0x70);
    (void)rd(&r, 0x0C, T0);
    wr(&r, 0x0C, 0xFF, T0);
    wr(&r, 0x0D, 0x00, T0);
    assert_int_equal(rd(&r, 0x0C, T0), 0);
    assert_int_equal(rd(&r, 0x0D, T0), 0x80);
    assert_int_equal(rd(&r, 0x8D, T0), 0x80);
    assert_int_equal(vrtc_read(&r, 0x70, 1, T0), 0xFF);
    /* RAM: alarms and 0x0E-0x7F but the century */
    for (unsigned int i = 0x0E; i < 0x80; i++)
        if (i != 0x32)
            wr(&r, (uint8_t)i, (uint8_t)(i * 3), T0);
    wr(&r, 1, 0x11, T0);
    wr(&r, 3, 0x22, T0);
    wr(&r, 5, 0x33, T0);
    for (unsigned int i = 0x0E; i < 0x80; i++)
        if (i != 0x32)
            assert_int_equal(rd(&r, (uint8_t)i, T0), (uint8_t)(i * 3));
    assert_int_equal(rd(&r, 1, T0), 0x11);
    assert_int_equal(rd(&r, 3, T0), 0x22);
    assert_int_equal(rd(&r, 5, T0), 0x33);
    assert_int_equal(rd(&r, 0x32, T0), 0x20);
    /* a word at 0x70 writes the index and the data */
    vrtc_write(&r, 0x70, 2, 0x5A40, T0);
    assert_int_equal(rd(&r, 0x40, T0), 0x5A);
    vrtc_write(&r, 0x70, 1, 0x40, T0);
    assert_int_equal(vrtc_read(&r, 0x70, 2, T0), 0x5AFF);
    assert_int_equal(vrtc_read(&r, 0x71, 2, T0), 0xFF5A);
    assert_int_equal(vrtc_read(&r, 0x71, 3, T0), 0xFFFFFFFFu);
}

static unsigned int irq_ups, irq_downs;
static int irq_level;

static void cb_irq(void *ctx, unsigned int line, int level)
{
    (void)ctx;
    assert_int_equal(line, 8);
    assert_int_not_equal(level, irq_level);          /* only changes */
    irq_level = level;
    if (level)
        irq_ups++;
    else
        irq_downs++;
}

static void irq_setup(struct vrtc *r)
{
    irq_ups = irq_downs = 0;
    irq_level = 0;
    vrtc_init(r, 1796603445, T0, cb_irq, NULL);      /* 00:30:45 */
}

static void test_periodic_irq(void **state)
{
    (void)state;
    struct vrtc r;
    irq_setup(&r);
    assert_int_equal(vrtc_next_deadline(&r), HVM_DEV_NO_DEADLINE);
    wr(&r, 0x0B, 0x42, T0);                          /* PIE; A = 0x26: 1024 Hz */
    assert_int_equal(vrtc_next_deadline(&r), T0 + 976563); /* 32 cycles of 32768 Hz */
    vrtc_advance(&r, T0 + 976562);
    assert_int_equal(irq_ups, 0);
    vrtc_advance(&r, T0 + 976563);
    assert_int_equal(irq_ups, 1);
    assert_int_equal(vrtc_next_deadline(&r), HVM_DEV_NO_DEADLINE); /* until C is read */
    assert_int_equal(rd(&r, 0x0C, T0 + 976563), 0xC0);
    assert_int_equal(irq_downs, 1);
    assert_int_equal(vrtc_next_deadline(&r), T0 + 1953125);
    /* late by many periods: one interrupt */
    vrtc_advance(&r, T0 + 50 * 976563);
    assert_int_equal(irq_ups, 2);
    assert_int_equal(rd(&r, 0x0C, T0 + 50 * 976563) & 0xC0, 0xC0);
    /* other rates: 8192 Hz, 256 Hz (rate 1), 2 Hz; rate 0 is off */
    static const struct { uint8_t a; uint64_t ns; } rates[] = {
        { 0x23, 122071 }, { 0x21, 3906250 }, { 0x2F, 500000000 },
    };
    for (unsigned int i = 0; i < 3; i++) {
        irq_setup(&r);
        wr(&r, 0x0A, rates[i].a, T0);
        wr(&r, 0x0B, 0x42, T0);
        assert_int_equal(vrtc_next_deadline(&r), T0 + rates[i].ns);
    }
    wr(&r, 0x0A, 0x20, T0);
    assert_int_equal(vrtc_next_deadline(&r), HVM_DEV_NO_DEADLINE);
    vrtc_advance(&r, T0 + 10 * S);
    assert_int_equal(rd(&r, 0x0C, T0 + 10 * S) & 0x40, 0);
    /* PF counts with PIE off; enabling PIE then raises at once */
    irq_setup(&r);
    vrtc_advance(&r, T0 + S);
    assert_int_equal(irq_ups, 0);
    wr(&r, 0x0B, 0x42, T0 + S);
    assert_int_equal(irq_ups, 1);
}

static void test_update_and_alarm_irq(void **state)
{
    (void)state;
    struct vrtc r;
    irq_setup(&r);
    wr(&r, 0x0A, 0x20, T0);                          /* no periodic */
    wr(&r, 0x0B, 0x12, T0);                          /* UIE */
    assert_int_equal(vrtc_next_deadline(&r), T0 + S);
    vrtc_advance(&r, T0 + S - 1);
    assert_int_equal(irq_ups, 0);
    vrtc_advance(&r, T0 + S);
    assert_int_equal(irq_ups, 1);
    assert_int_equal(rd(&r, 0x0C, T0 + S), 0x90);
    assert_int_equal(irq_level, 0);
    assert_int_equal(vrtc_next_deadline(&r), T0 + 2 * S);
    /* SET stops the updates: no UF, no deadline */
    wr(&r, 0x0B, 0x92, T0 + S);
    assert_int_equal(rd(&r, 0x0B, T0 + S), 0x82);    /* SET cleared UIE */
    wr(&r, 0x0B, 0x92 & ~0x10, T0 + S);
    assert_int_equal(vrtc_next_deadline(&r), HVM_DEV_NO_DEADLINE);
    vrtc_advance(&r, T0 + 5 * S);
    assert_int_equal(rd(&r, 0x0C, T0 + 5 * S), 0);
    /* clearing SET at T0 + 5.5 s starts the seconds from there */
    wr(&r, 0x0B, 0x12, T0 + 5 * S + S / 2);
    assert_int_equal(vrtc_next_deadline(&r), T0 + 6 * S + S / 2);

    /* the alarm at 00:30:50 */
    irq_setup(&r);
    wr(&r, 0x0A, 0x20, T0);
    wr(&r, 0x01, 0x50, T0);
    wr(&r, 0x03, 0x30, T0);
    wr(&r, 0x05, 0x00, T0);
    wr(&r, 0x0B, 0x22, T0);                          /* AIE */
    for (int s = 1; s <= 4; s++) {
        assert_int_equal(vrtc_next_deadline(&r), T0 + s * S);
        vrtc_advance(&r, T0 + s * S);
    }
    assert_int_equal(irq_ups, 0);
    assert_int_equal(rd(&r, 0x0C, T0 + 4 * S), 0x10); /* UF only */
    vrtc_advance(&r, T0 + 5 * S);
    assert_int_equal(irq_ups, 1);
    assert_int_equal(rd(&r, 0x0C, T0 + 5 * S), 0xB0);
    /* one day later, the same second again, even if the caller slept */
    vrtc_advance(&r, T0 + 86405 * S + S / 2);
    assert_int_equal(irq_ups, 2);
    (void)rd(&r, 0x0C, T0 + 86405 * S + S / 2);
    vrtc_advance(&r, T0 + 86406 * S);
    assert_int_equal(irq_ups, 2);
    /* don't-care hours and minutes: every minute at :00 */
    wr(&r, 0x01, 0x00, T0);
    wr(&r, 0x03, 0xC0, T0);
    wr(&r, 0x05, 0xFF, T0);
    vrtc_advance(&r, T0 + 86414 * S);                /* 00:30:59 */
    assert_int_equal(irq_ups, 2);
    vrtc_advance(&r, T0 + 86415 * S);                /* 00:31:00 */
    assert_int_equal(irq_ups, 3);
    /* all don't care: every second */
    (void)rd(&r, 0x0C, T0 + 86415 * S);
    wr(&r, 0x01, 0xC0, T0 + 86415 * S);
    vrtc_advance(&r, T0 + 86416 * S);
    assert_int_equal(irq_ups, 4);
}

static void test_random_access(void **state)
{
    (void)state;
    struct vrtc r;
    irq_setup(&r);
    srand(3);
    uint64_t now = T0;
    for (int i = 0; i < 300000; i++) {
        uint16_t port = (uint16_t)(0x6F + rand() % 4);
        unsigned int size = 1u << (rand() % 4);
        now += (uint64_t)(rand() % 10000000);
        if (rand() & 1)
            vrtc_write(&r, port, size, (uint32_t)rand(), now);
        else
            (void)vrtc_read(&r, port, size, now);
        vrtc_advance(&r, now);
        uint64_t d = vrtc_next_deadline(&r);
        assert_true(d == HVM_DEV_NO_DEADLINE || d > now);
        int64_t t = vrtc_time(&r, now);
        assert_true(t >= -62167219200LL && t < 253402300800LL + 86400LL * 400); /* years 0..9999 */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bcd_24h),
        cmocka_unit_test(test_rollovers),
        cmocka_unit_test(test_binary_and_12h),
        cmocka_unit_test(test_set_time),
        cmocka_unit_test(test_uip_and_registers),
        cmocka_unit_test(test_periodic_irq),
        cmocka_unit_test(test_update_and_alarm_irq),
        cmocka_unit_test(test_random_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
