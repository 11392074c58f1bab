/*
 * test_vpit.c - host unit tests for the 8254 PIT model (cmocka,
 * ASan/UBSan): mode 2 count-down at given ns and the IRQ 0 period, mode 0
 * one-shot, mode 3's square wave and count by 2, mode 4's strobe, LSB/MSB
 * and LSB-then-MSB access, the latch command, read-back, port 0x61 gate
 * and OUT as Linux's PIT calibration uses them, gate pausing, huge now_ns
 * values, and random guest accesses.
 * Links: hv/arch/x86/hvm/vpit.c.
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

static unsigned int pulses, ups;
static int level_now;

static void cb_raise(void *ctx, unsigned int line, int level)
{
    (void)ctx;
    assert_int_equal(line, 0);
    if (level && !level_now)
        ups++;
    if (!level && level_now)
        pulses++;
    level_now = level;
}

static void setup(struct vpit *p)
{
    pulses = ups = 0;
    level_now = 0;
    vpit_init(p, cb_raise, NULL);
}

static void out8(struct vpit *p, uint16_t port, uint8_t v, uint64_t now)
{
    vpit_write(p, port, 1, v, now);
}

static uint8_t in8(struct vpit *p, uint16_t port, uint64_t now)
{
    return (uint8_t)vpit_read(p, port, 1, now);
}

/* Latch channel ch and read LSB, MSB. */
static uint16_t latched(struct vpit *p, unsigned int ch, uint64_t now)
{
    out8(p, 0x43, (uint8_t)(ch << 6), now);
    uint16_t lo = in8(p, (uint16_t)(0x40 + ch), now);
    return (uint16_t)(lo | in8(p, (uint16_t)(0x40 + ch), now) << 8);
}

/* Read-back status of channel ch. */
static uint8_t status(struct vpit *p, unsigned int ch, uint64_t now)
{
    out8(p, 0x43, (uint8_t)(0xE0 | 2 << ch), now);
    return in8(p, (uint16_t)(0x40 + ch), now);
}

static void test_mode2_rate_generator(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    assert_int_equal(vpit_next_deadline(&p), HVM_DEV_NO_DEADLINE);
    out8(&p, 0x43, 0x34, 0);                         /* ch0, LSB+MSB, mode 2 */
    out8(&p, 0x40, 1193 & 0xFF, 0);
    assert_int_equal(vpit_next_deadline(&p), HVM_DEV_NO_DEADLINE);
    out8(&p, 0x40, 1193 >> 8, 0);                    /* 1 ms at 1193182 Hz */
    assert_int_equal(latched(&p, 0, 0), 1193);
    /* 500 us = 596 ticks (596.59) */
    assert_int_equal(latched(&p, 0, 500000), 1193 - 596);
    assert_int_equal(latched(&p, 0, 838), 1193);     /* < 1 tick */
    assert_int_equal(latched(&p, 0, 839), 1192);
    /* the period: 1193 ticks = 999847.5 ns */
    assert_int_equal(vpit_next_deadline(&p), 999848);
    vpit_advance(&p, 999847);
    assert_int_equal(pulses, 0);
    vpit_advance(&p, 999848);
    assert_int_equal(pulses, 1);
    assert_int_equal(level_now, 0);
    assert_int_equal(vpit_next_deadline(&p), 1999695);
    /* reloaded: counting from 1193 again */
    assert_int_equal(latched(&p, 0, 999848 + 500000), 1193 - 596);
    /* late by 10 periods: one pulse, the next edge on the grid */
    vpit_advance(&p, 12 * 999848);
    assert_int_equal(pulses, 2);
    assert_int_equal(vpit_next_deadline(&p), (13ULL * 1193 * 1000000000ULL + 1193181) / 1193182);
    /* mode 2 OUT (channel 2 through status): low only at count 1 */
    out8(&p, 0x61, 1, 0);
    out8(&p, 0x43, 0xB4, 0);
    out8(&p, 0x42, 10, 0);
    out8(&p, 0x42, 0, 0);
    assert_true(status(&p, 2, 7500) & 0x80);         /* tick 8: count 2 */
    assert_false(status(&p, 2, 7600) & 0x80);        /* tick 9: count 1 */
    assert_true(status(&p, 2, 8383) & 0x80);         /* tick 10: reloaded */
}

static void test_mode0_oneshot(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    uint64_t t0 = 1000000000ULL;                     /* 1 s = tick 1193182 */
    out8(&p, 0x43, 0x30, t0);                        /* ch0, LSB+MSB, mode 0 */
    assert_int_equal(status(&p, 0, t0) & 0xC0, 0x40); /* OUT low, null count */
    out8(&p, 0x40, 100, t0);
    out8(&p, 0x40, 0, t0);
    assert_int_equal(status(&p, 0, t0) & 0xFF, 0x30); /* OUT low, LSB+MSB, mode 0 */
    assert_int_equal(vpit_next_deadline(&p), t0 + 83810);
    vpit_advance(&p, t0 + 83809);
    assert_int_equal(pulses, 0);
    assert_int_equal(latched(&p, 0, t0 + 83809), 1); /* tick 99 */
    vpit_advance(&p, t0 + 83810);
    assert_int_equal(pulses, 1);
    assert_int_equal(vpit_next_deadline(&p), HVM_DEV_NO_DEADLINE);
    assert_true(status(&p, 0, t0 + 83810) & 0x80);   /* OUT high at terminal count */
    vpit_advance(&p, t0 + 10 * 83810);
    assert_int_equal(pulses, 1);                     /* once */
    /* the counter wraps on past 0 */
    assert_int_equal(latched(&p, 0, t0 + 83810 + 839), 0xFFFF);
    /* Linux's shutdown: mode 0 and count 0, 0 (65536) */
    out8(&p, 0x43, 0x30, t0);
    out8(&p, 0x40, 0, t0);
    out8(&p, 0x40, 0, t0);
    assert_int_equal(vpit_next_deadline(&p), t0 + (65536ULL * 1000000000ULL + 1193181) / 1193182);
    /* a new control word stops the channel */
    out8(&p, 0x43, 0x30, t0);
    assert_int_equal(vpit_next_deadline(&p), HVM_DEV_NO_DEADLINE);
}

static void test_access_modes_and_latch(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    /* LSB only, mode 2 */
    out8(&p, 0x43, 0x14, 0);
    out8(&p, 0x40, 200, 0);
    assert_int_equal(in8(&p, 0x40, 0), 200);
    assert_int_equal(in8(&p, 0x40, 4191), 195);     /* 5 ticks */
    /* MSB only: count 0x0300 */
    out8(&p, 0x43, 0x24, 0);
    out8(&p, 0x40, 0x03, 0);
    assert_int_equal(in8(&p, 0x40, 0), 0x03);
    assert_int_equal(in8(&p, 0x40, 0), 0x03);
    assert_int_equal(in8(&p, 0x40, 839 * 256 / 1), 0x02); /* > 256 ticks later */
    /* LSB+MSB live reads alternate */
    out8(&p, 0x43, 0x34, 0);
    out8(&p, 0x40, 0x34, 0);
    out8(&p, 0x40, 0x12, 0);
    assert_int_equal(in8(&p, 0x40, 0), 0x34);
    assert_int_equal(in8(&p, 0x40, 0), 0x12);
    assert_int_equal(in8(&p, 0x40, 0), 0x34);
    /* latch: the value at the latch, whatever happens after; a second
     * latch before the read is ignored */
    out8(&p, 0x43, 0x00, 8390);                      /* tick 10 */
    out8(&p, 0x43, 0x00, 83900);
    assert_int_equal(in8(&p, 0x40, 99999999), 0x34 - 10); /* LSB */
    assert_int_equal(in8(&p, 0x40, 99999999), 0x12);
    /* then live reads again, their own LSB/MSB pointer where it was (as
     * Xen and QEMU: three live reads left it at the MSB) */
    assert_int_equal(in8(&p, 0x40, 0), 0x12);
    /* word access of port 0x40 reads 0x40 and 0x41 */
    out8(&p, 0x43, 0x00, 0);
    uint32_t w = vpit_read(&p, 0x40, 2, 0);
    assert_int_equal(w & 0xFF, 0x34);
    /* control register reads 0; ports not the PIT's read 0xFF */
    assert_int_equal(in8(&p, 0x43, 0), 0);
    assert_int_equal(vpit_read(&p, 0x43, 2, 0), 0xFF00);
    assert_int_equal(vpit_read(&p, 0x40, 3, 0), 0xFFFFFFFFu);
}

static void test_readback(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    out8(&p, 0x43, 0x7B, 0);                         /* ch1, LSB+MSB, mode 5 (101), BCD */
    assert_int_equal(status(&p, 1, 0), 0x80 | 0x40 | 0x30 | (5 << 1) | 1);
    out8(&p, 0x43, 0x76, 0);                         /* ch1, mode 3 */
    out8(&p, 0x41, 0x00, 0);
    out8(&p, 0x41, 0x10, 0);
    /* count and status both latched: status first, then LSB, MSB */
    out8(&p, 0x43, 0xC4, 0);
    assert_int_equal(in8(&p, 0x41, 0), 0x80 | 0x30 | (3 << 1));
    assert_int_equal(in8(&p, 0x41, 0), 0x00);
    assert_int_equal(in8(&p, 0x41, 0), 0x10);
    /* mode 3 counts by two: 100 ticks later, 0x1000 - 200 */
    out8(&p, 0x43, 0xD4, 83810);
    assert_int_equal(in8(&p, 0x41, 0), (0x1000 - 200) & 0xFF);
    assert_int_equal(in8(&p, 0x41, 0), (0x1000 - 200) >> 8);
    /* modes 6, 7 are 2, 3 */
    out8(&p, 0x43, 0x7C, 0);                         /* mode 6 */
    assert_int_equal(status(&p, 1, 0) & 0x0E, 2 << 1);
}

static void test_port61_calibration(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    uint64_t t0 = 3000000000ULL;
    /* pit_calibrate_tsc(): gate high, speaker off, ch2 mode 0, count */
    out8(&p, 0x61, (uint8_t)((in8(&p, 0x61, t0) & ~0x02) | 0x01), t0);
    assert_int_equal(in8(&p, 0x61, t0) & 0x03, 0x01);
    out8(&p, 0x43, 0xB0, t0);
    out8(&p, 0x42, 11932 & 0xFF, t0);                /* 10 ms */
    out8(&p, 0x42, 11932 >> 8, t0);
    assert_int_equal(in8(&p, 0x61, t0) & 0x20, 0);
    assert_int_equal(in8(&p, 0x61, t0 + 9999000) & 0x20, 0);
    assert_int_equal(in8(&p, 0x61, t0 + 10000100) & 0x20, 0);
    assert_int_equal(in8(&p, 0x61, t0 + 10001000) & 0x20, 0x20); /* 11932 ticks = 10.00016 ms */
    assert_int_equal(pulses, 0);                     /* channel 2 raises nothing */
    assert_int_equal(vpit_next_deadline(&p), HVM_DEV_NO_DEADLINE);
    /* quick_pit_calibrate(): 0xFFFF, the MSB read every so often drops */
    out8(&p, 0x43, 0xB0, t0);
    out8(&p, 0x42, 0xFF, t0);
    out8(&p, 0x42, 0xFF, t0);
    uint8_t prev = 0xFF;
    for (uint64_t ns = 0; ns < 50000000; ns += 250000) { /* every 250 us */
        (void)in8(&p, 0x42, t0 + ns);
        uint8_t msb = in8(&p, 0x42, t0 + ns);
        uint16_t expect = (uint16_t)(0xFFFF - ((t0 + ns) * 1193182 / 1000000000 - t0 * 1193182 / 1000000000));
        assert_int_equal(msb, expect >> 8);
        assert_true(msb <= prev);
        prev = msb;
    }
    /* gate low: counting pauses in mode 0; gate high: it resumes */
    out8(&p, 0x43, 0xB0, t0);
    out8(&p, 0x42, 0x00, t0);
    out8(&p, 0x42, 0x10, t0);                        /* 4096 */
    out8(&p, 0x61, 0x00, t0 + 838 * 100 + 100);      /* tick 100 */
    assert_int_equal(latched(&p, 2, t0 + 500000000), 4096 - 100);
    out8(&p, 0x61, 0x01, t0 + 600000000);
    assert_int_equal(latched(&p, 2, t0 + 600000000 + 839 * 10), 4096 - 110);
    /* bit 4 toggles with time, bits 0-3 read back */
    out8(&p, 0x61, 0xFD, t0);
    assert_int_equal(in8(&p, 0x61, 0) & 0x1F, 0x0D);
    assert_int_equal(in8(&p, 0x61, 15085) & 0x10, 0x10);
}

static void test_mode3_square_and_gate(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    out8(&p, 0x61, 0x01, 0);
    out8(&p, 0x43, 0xB6, 0);                         /* ch2, mode 3 */
    out8(&p, 0x42, 100, 0);
    out8(&p, 0x42, 0, 0);
    /* ticks 0-49 high, 50-99 low, 100 high */
    assert_int_equal(in8(&p, 0x61, 49 * 1000000000ULL / 1193182 + 1) & 0x20, 0x20);
    assert_int_equal(in8(&p, 0x61, 50 * 1000000000ULL / 1193182 + 1) & 0x20, 0);
    assert_int_equal(in8(&p, 0x61, 99 * 1000000000ULL / 1193182 + 1) & 0x20, 0);
    assert_int_equal(in8(&p, 0x61, 100 * 1000000000ULL / 1193182 + 1) & 0x20, 0x20);
    /* gate low forces OUT high; the rising gate reloads the count */
    out8(&p, 0x61, 0x00, 60 * 1000000000ULL / 1193182 + 1);
    assert_int_equal(in8(&p, 0x61, 61 * 1000000000ULL / 1193182 + 1) & 0x20, 0x20);
    out8(&p, 0x61, 0x01, 1000000);                   /* tick 1193 */
    assert_int_equal(latched(&p, 2, 1000000), 100);
    assert_int_equal(in8(&p, 0x61, 1000000 + 50 * 839) & 0x20, 0);
    /* mode 4 on channel 0: one pulse at count + 1 */
    out8(&p, 0x43, 0x38, 0);
    out8(&p, 0x40, 10, 0);
    out8(&p, 0x40, 0, 0);
    assert_int_equal(vpit_next_deadline(&p), (11ULL * 1000000000ULL + 1193181) / 1193182);
    vpit_advance(&p, vpit_next_deadline(&p));
    assert_int_equal(pulses, 1);
    assert_int_equal(vpit_next_deadline(&p), HVM_DEV_NO_DEADLINE);
}

static void test_huge_time(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    uint64_t t0 = 864000ULL * 1000000000ULL;         /* ten days */
    out8(&p, 0x43, 0x34, t0);
    out8(&p, 0x40, 1193 & 0xFF, t0);
    out8(&p, 0x40, 1193 >> 8, t0);
    assert_int_equal(latched(&p, 0, t0 + 500000), 1193 - 596);
    uint64_t d = vpit_next_deadline(&p);
    assert_true(d > t0 + 999000 && d < t0 + 1000000);
    vpit_advance(&p, d - 1);
    assert_int_equal(pulses, 0);
    vpit_advance(&p, d);
    assert_int_equal(pulses, 1);
    t0 = UINT64_MAX / 2;
    out8(&p, 0x40, 1193 & 0xFF, t0);
    out8(&p, 0x40, 1193 >> 8, t0);
    d = vpit_next_deadline(&p);
    assert_true(d > t0 && d <= t0 + 1000000);
}

static void test_random_access(void **state)
{
    (void)state;
    struct vpit p;
    setup(&p);
    srand(7);
    uint64_t now = 0;
    for (int i = 0; i < 300000; i++) {
        uint16_t port = (uint16_t)(0x3E + rand() % 0x26);
        unsigned int size = 1u << (rand() % 4);
        now += (uint64_t)(rand() % 100000);
        if (rand() & 1)
            vpit_write(&p, port, size, (uint32_t)rand(), now);
        else
            (void)vpit_read(&p, port, size, now);
        vpit_advance(&p, now);
        uint64_t d = vpit_next_deadline(&p);
        assert_true(d == HVM_DEV_NO_DEADLINE || d > now);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode2_rate_generator),
        cmocka_unit_test(test_mode0_oneshot),
        cmocka_unit_test(test_access_modes_and_latch),
        cmocka_unit_test(test_readback),
        cmocka_unit_test(test_port61_calibration),
        cmocka_unit_test(test_mode3_square_and_gate),
        cmocka_unit_test(test_huge_time),
        cmocka_unit_test(test_random_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
