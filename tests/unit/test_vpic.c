/*
 * test_vpic.c - host unit tests for the 8259A PIC pair model (cmocka,
 * ASan/UBSan): Linux's probe and ICW1-4 sequence, INTR through the
 * callback, priority order and nesting, masking, the cascade on IRQ 2,
 * non-specific, specific and rotating EOI, set priority, edge and level
 * (ELCR, LTIM) inputs, auto-EOI, spurious IRQ 7/15, IRR/ISR reads, poll,
 * special mask mode, and random guest accesses.
 * Links: hv/arch/x86/hvm/vpic.c.
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

static int intr;
static unsigned int changes;

static void cb_raise(void *ctx, unsigned int line, int level)
{
    (void)ctx;
    assert_int_equal(line, 0);
    assert_int_not_equal(level, intr);               /* only changes */
    intr = level;
    changes++;
}

static void out8(struct vpic *p, uint16_t port, uint8_t v) { vpic_write(p, port, 1, v); }
static uint8_t in8(struct vpic *p, uint16_t port) { return (uint8_t)vpic_read(p, port, 1); }

static uint8_t isr(struct vpic *p, uint16_t cmd)
{
    out8(p, cmd, 0x0B);
    uint8_t v = in8(p, cmd);
    out8(p, cmd, 0x0A);
    return v;
}

/* Linux's probe_8259A() and init_8259A(auto_eoi). */
static void linux_init(struct vpic *p, int auto_eoi)
{
    intr = 0;
    changes = 0;
    vpic_init(p, cb_raise, NULL);
    out8(p, 0xA1, 0xFF);
    out8(p, 0x21, 0xFB);
    assert_int_equal(in8(p, 0x21), 0xFB);            /* "we have a PIC" */
    out8(p, 0x21, 0xFF);
    out8(p, 0x20, 0x11);                             /* ICW1: edge, cascade, ICW4 */
    out8(p, 0x21, 0x30);                             /* ICW2: vector base */
    out8(p, 0x21, 0x04);                             /* ICW3: slave on IRQ 2 */
    out8(p, 0x21, auto_eoi ? 0x03 : 0x01);           /* ICW4: 8086, (auto) EOI */
    out8(p, 0xA0, 0x11);
    out8(p, 0xA1, 0x38);
    out8(p, 0xA1, 0x02);
    out8(p, 0xA1, 0x01);
    out8(p, 0x21, 0x00);                             /* unmask all */
    out8(p, 0xA1, 0x00);
}

static void test_linux_init_and_irq0(void **state)
{
    (void)state;
    struct vpic p;
    linux_init(&p, 0);
    assert_int_equal(in8(&p, 0x21), 0);
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_set_irq(&p, 0, 1);
    assert_int_equal(intr, 1);
    assert_int_equal(in8(&p, 0x20), 0x01);           /* IRR */
    assert_int_equal(vpic_pending_vector(&p), 0x30);
    assert_int_equal(vpic_ack(&p), 0x30);
    assert_int_equal(intr, 0);
    assert_int_equal(in8(&p, 0x20), 0x00);           /* edge: IRR cleared */
    assert_int_equal(isr(&p, 0x20), 0x01);
    vpic_set_irq(&p, 0, 0);
    vpic_set_irq(&p, 0, 1);                          /* next tick, still in service */
    assert_int_equal(intr, 0);
    out8(&p, 0x20, 0x20);                            /* non-specific EOI */
    assert_int_equal(isr(&p, 0x20), 0);
    assert_int_equal(intr, 1);
    assert_int_equal(vpic_ack(&p), 0x30);
    /* 16- and 32-bit accesses read consecutive ports; others 0xFF */
    out8(&p, 0x21, 0x5A);
    assert_int_equal(vpic_read(&p, 0x20, 2) >> 8, 0x5A);
    assert_int_equal(vpic_read(&p, 0x21, 4), 0xFFFFFF5A);
    assert_int_equal(vpic_read(&p, 0x20, 8), 0xFFFFFFFFu);
}

static void test_priority_and_nesting(void **state)
{
    (void)state;
    struct vpic p;
    linux_init(&p, 0);
    vpic_set_irq(&p, 4, 1);
    vpic_set_irq(&p, 1, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x31);
    assert_int_equal(vpic_ack(&p), 0x31);
    assert_int_equal(vpic_pending_vector(&p), -1);   /* 4 below 1 in service */
    vpic_set_irq(&p, 0, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x30); /* 0 nests over 1 */
    assert_int_equal(vpic_ack(&p), 0x30);
    assert_int_equal(isr(&p, 0x20), 0x03);
    out8(&p, 0x20, 0x20);                            /* EOI: the highest, 0 */
    assert_int_equal(isr(&p, 0x20), 0x02);
    assert_int_equal(vpic_pending_vector(&p), -1);
    out8(&p, 0x20, 0x20);
    assert_int_equal(vpic_pending_vector(&p), 0x34);
    /* masking holds the request in IRR */
    out8(&p, 0x21, 0x10);
    assert_int_equal(vpic_pending_vector(&p), -1);
    assert_int_equal(intr, 0);
    assert_int_equal(in8(&p, 0x20), 0x10);
    out8(&p, 0x21, 0x00);
    assert_int_equal(vpic_pending_vector(&p), 0x34);
    assert_int_equal(intr, 1);
}

static void test_cascade(void **state)
{
    (void)state;
    struct vpic p;
    linux_init(&p, 0);
    vpic_set_irq(&p, 12, 1);
    vpic_set_irq(&p, 3, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x3C); /* slave via IRQ 2 beats 3 */
    assert_int_equal(vpic_ack(&p), 0x3C);
    assert_int_equal(isr(&p, 0x20), 0x04);
    assert_int_equal(isr(&p, 0xA0), 0x10);
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_set_irq(&p, 1, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x31); /* 1 above the cascade */
    assert_int_equal(vpic_ack(&p), 0x31);
    out8(&p, 0x20, 0x61);                            /* specific EOI 1 */
    /* Linux: specific EOI on the slave, then on the master's IRQ 2 */
    out8(&p, 0xA0, 0x64);
    assert_int_equal(isr(&p, 0xA0), 0);
    out8(&p, 0x20, 0x62);
    assert_int_equal(isr(&p, 0x20), 0);
    assert_int_equal(vpic_pending_vector(&p), 0x33);
    /* the slave's IMR */
    vpic_set_irq(&p, 8, 1);
    out8(&p, 0xA1, 0x01);
    assert_int_equal(vpic_pending_vector(&p), 0x33);
    out8(&p, 0xA1, 0x00);
    assert_int_equal(vpic_pending_vector(&p), 0x38);
    /* the master's cascade input masked hides the slave */
    out8(&p, 0x21, 0x04);
    assert_int_equal(vpic_pending_vector(&p), 0x33);
    /* IRQ 2 itself and IRQs past 15 are ignored */
    vpic_set_irq(&p, 2, 1);
    vpic_set_irq(&p, 16, 1);
    vpic_set_irq(&p, 0xFFFFFFFF, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x33);
}

static void test_rotation(void **state)
{
    (void)state;
    struct vpic p;
    linux_init(&p, 0);
    out8(&p, 0x20, 0xC3);                            /* set priority: 3 lowest */
    vpic_set_irq(&p, 1, 1);
    vpic_set_irq(&p, 5, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x35); /* 4 highest: 5 before 1 */
    assert_int_equal(vpic_ack(&p), 0x35);
    out8(&p, 0x20, 0xA0);                            /* rotate on non-specific EOI */
    assert_int_equal(isr(&p, 0x20), 0);
    /* 5 is now lowest: 6 highest ... 1 next */
    vpic_set_irq(&p, 6, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x36);
    assert_int_equal(vpic_ack(&p), 0x36);
    out8(&p, 0x20, 0xE6);                            /* rotate on specific EOI 6 */
    vpic_set_irq(&p, 5, 0);
    vpic_set_irq(&p, 5, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x31); /* 7 highest, then 0, 1 ... 5 */
    out8(&p, 0x20, 0xC7);                            /* back to 0 highest */
    assert_int_equal(vpic_pending_vector(&p), 0x31);
    out8(&p, 0x20, 0x40);                            /* OCW2 no-op */
    assert_int_equal(vpic_pending_vector(&p), 0x31);
    /* set priority names the lowest: its neighbour above is the highest */
    linux_init(&p, 0);
    vpic_set_irq(&p, 3, 1);
    vpic_set_irq(&p, 4, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x33);
    out8(&p, 0x20, 0xC3);
    assert_int_equal(vpic_pending_vector(&p), 0x34);
    out8(&p, 0x20, 0xC4);
    assert_int_equal(vpic_pending_vector(&p), 0x33);
}

static void test_edge_level_spurious(void **state)
{
    (void)state;
    struct vpic p;
    linux_init(&p, 0);
    /* edge: a held line raises once */
    vpic_set_irq(&p, 3, 1);
    assert_int_equal(vpic_ack(&p), 0x33);
    out8(&p, 0x20, 0x20);
    vpic_set_irq(&p, 3, 1);
    assert_int_equal(vpic_pending_vector(&p), -1);
    /* level through the ELCR: IRR follows the line */
    out8(&p, 0x4D1, 0xFF);
    assert_int_equal(in8(&p, 0x4D1), 0xDE);          /* 8 and 13 edge-only */
    out8(&p, 0x4D0, 0xFF);
    assert_int_equal(in8(&p, 0x4D0), 0xF8);
    vpic_set_irq(&p, 10, 1);
    assert_int_equal(vpic_ack(&p), 0x3A);
    assert_int_equal(in8(&p, 0xA0) & 0x04, 0x04);    /* level: IRR stays */
    out8(&p, 0xA0, 0x20);
    out8(&p, 0x20, 0x20);
    assert_int_equal(vpic_pending_vector(&p), 0x3A); /* still asserted */
    vpic_set_irq(&p, 10, 0);
    assert_int_equal(vpic_pending_vector(&p), -1);
    assert_int_equal(intr, 0);
    /* a level request withdrawn before INTA: spurious IRQ 7, no ISR */
    vpic_set_irq(&p, 5, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x35);
    vpic_set_irq(&p, 5, 0);
    assert_int_equal(vpic_ack(&p), 0x37);
    assert_int_equal(isr(&p, 0x20), 0);
    /* on the slave: spurious IRQ 15, the master's IRQ 2 in service */
    vpic_set_irq(&p, 11, 1);
    p.chip[1].irr = 0;                               /* withdrawn at the slave */
    p.chip[1].line = 0;
    assert_int_equal(vpic_ack(&p), 0x3F);
    assert_int_equal(isr(&p, 0x20), 0x04);
    assert_int_equal(isr(&p, 0xA0), 0);
}

static void test_auto_eoi_poll_special_mask(void **state)
{
    (void)state;
    struct vpic p;
    linux_init(&p, 1);
    vpic_set_irq(&p, 1, 1);
    assert_int_equal(vpic_ack(&p), 0x31);
    assert_int_equal(isr(&p, 0x20), 0);              /* auto EOI */
    /* poll: 0x80 | irq, acknowledged; 0 when nothing */
    linux_init(&p, 0);
    vpic_set_irq(&p, 6, 1);
    out8(&p, 0x20, 0x0C);
    assert_int_equal(in8(&p, 0x20), 0x86);
    assert_int_equal(isr(&p, 0x20), 0x40);
    out8(&p, 0x20, 0x0C);
    assert_int_equal(in8(&p, 0x20), 0x00);
    assert_int_equal(in8(&p, 0x20), 0x00);           /* back to IRR reads */
    /* special mask: masking the in-service IRQ lets lower ones in */
    vpic_set_irq(&p, 7, 1);
    assert_int_equal(vpic_pending_vector(&p), -1);
    out8(&p, 0x20, 0x68);                            /* set special mask */
    out8(&p, 0x21, 0x40);
    assert_int_equal(vpic_pending_vector(&p), 0x37);
    out8(&p, 0x20, 0x48);                            /* reset special mask */
    assert_int_equal(vpic_pending_vector(&p), -1);
    /* ICW1 resets IMR, ISR and edge requests; a held level request stays */
    out8(&p, 0x4D0, 0x20);                           /* IRQ 5 level */
    vpic_set_irq(&p, 5, 1);
    vpic_set_irq(&p, 4, 1);
    out8(&p, 0x20, 0x11);
    assert_int_equal(isr(&p, 0x20), 0);
    assert_int_equal(in8(&p, 0x20), 0x20);
    vpic_set_irq(&p, 5, 0);
    out8(&p, 0x4D0, 0x00);
    out8(&p, 0x21, 0x20);
    out8(&p, 0x21, 0x04);
    out8(&p, 0x21, 0x01);
    assert_int_equal(in8(&p, 0x21), 0);
    vpic_set_irq(&p, 0, 1);
    assert_int_equal(vpic_pending_vector(&p), 0x20); /* the new base */
    /* LTIM in ICW1: level inputs; single mode skips ICW3 */
    out8(&p, 0x20, 0x1B);
    out8(&p, 0x21, 0x48);
    out8(&p, 0x21, 0x01);                            /* ICW4 */
    out8(&p, 0x21, 0xFE);                            /* OCW1 */
    assert_int_equal(in8(&p, 0x21), 0xFE);
    vpic_set_irq(&p, 0, 0);
    vpic_set_irq(&p, 0, 1);
    assert_int_equal(vpic_ack(&p), 0x48);
    assert_int_equal(in8(&p, 0x20), 0x01);           /* level IRR stays */
}

static void test_random_access(void **state)
{
    (void)state;
    struct vpic p;
    intr = 0;
    changes = 0;
    vpic_init(&p, cb_raise, NULL);
    srand(5);
    static const uint16_t ports[] = { 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x22 };
    for (int i = 0; i < 300000; i++) {
        uint16_t port = ports[rand() % 7];
        unsigned int size = 1u << (rand() % 4);
        switch (rand() % 4) {
        case 0: vpic_write(&p, port, size, (uint32_t)rand()); break;
        case 1: (void)vpic_read(&p, port, size); break;
        case 2: vpic_set_irq(&p, (unsigned int)rand() % 17, rand() & 1); break;
        default: {
            int v = vpic_pending_vector(&p);
            assert_int_equal(v >= 0, intr);
            if (v >= 0) {
                int a = vpic_ack(&p);
                assert_int_equal(a, v);
            }
        }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_init_and_irq0),
        cmocka_unit_test(test_priority_and_nesting),
        cmocka_unit_test(test_cascade),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_edge_level_spurious),
        cmocka_unit_test(test_auto_eoi_poll_special_mask),
        cmocka_unit_test(test_random_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
