/*
 * test_hvm_wiring.c - the platform device models wired together the way
 * docs/hvm.md tells the exit handlers to (cmocka, ASan/UBSan): the PIT's
 * IRQ 0 through I/O APIC pin 2 to a local APIC at the right times, a
 * level pin re-delivered through the LAPIC's EOI, logical delivery to two
 * APICs, and the PIC through LINT0 in virtual-wire mode. A check that
 * the interfaces compose, not of any one model.
 * Links: hv/arch/x86/hvm/vlapic.c vioapic.c vpit.c vpic.c.
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

#define NR_VCPUS 2

/* A domain's platform, as an exit handler would hold it. */
struct plat {
    struct vlapic lapic[NR_VCPUS];
    struct vioapic ioapic;
    struct vpit pit;
    struct vpic pic;
    unsigned int kicks[NR_VCPUS];
};

static void lapic_kick(void *ctx, unsigned int vector, int level)
{
    (void)vector;
    (void)level;
    (*(unsigned int *)ctx)++;
}

static struct plat *the_plat;

static void lapic_eoi_level(void *ctx, uint8_t vector)
{
    (void)ctx;
    vioapic_eoi(&the_plat->ioapic, vector);
}

static void ioapic_deliver(void *ctx, const struct vioapic_irq *irq)
{
    struct plat *p = ctx;
    for (int i = 0; i < NR_VCPUS; i++)
        if (vlapic_match_dest(&p->lapic[i], irq->dest, irq->dest_logical))
            vlapic_set_irq(&p->lapic[i], irq->vector, irq->level_trigger);
}

static void isa_irq(void *ctx, unsigned int irq, int level)
{
    struct plat *p = ctx;
    vpic_set_irq(&p->pic, irq, level);
    vioapic_set_irq(&p->ioapic, irq == 0 ? 2 : irq, level); /* the MADT override */
}

static void plat_init(struct plat *p)
{
    memset(p, 0, sizeof(*p));
    the_plat = p;
    for (int i = 0; i < NR_VCPUS; i++) {
        struct vlapic_cb cb = { &p->kicks[i], lapic_kick, lapic_eoi_level, NULL };
        vlapic_init(&p->lapic[i], (uint8_t)i, &cb);
        vlapic_write(&p->lapic[i], VLAPIC_SVR, 4, 0x1FF, 0);
    }
    struct vioapic_cb iocb = { p, ioapic_deliver };
    vioapic_init(&p->ioapic, NR_VCPUS, &iocb);
    vpit_init(&p->pit, isa_irq, p);
    vpic_init(&p->pic, NULL, NULL);
}

static void ioapic_rte(struct plat *p, unsigned int pin, uint64_t e)
{
    vioapic_write(&p->ioapic, 0, 4, 0x11 + 2 * pin);
    vioapic_write(&p->ioapic, 0x10, 4, (uint32_t)(e >> 32));
    vioapic_write(&p->ioapic, 0, 4, 0x10 + 2 * pin);
    vioapic_write(&p->ioapic, 0x10, 4, (uint32_t)e);
}

/* What the vCPU loop does: inject the highest vector, the guest's handler
 * EOIs it. Returns the vector or -1. */
static int run_handler(struct plat *p, int cpu)
{
    int v = vlapic_pending_vector(&p->lapic[cpu]);
    if (v < 0)
        return -1;
    vlapic_ack(&p->lapic[cpu], (uint8_t)v);
    vlapic_write(&p->lapic[cpu], VLAPIC_EOI, 4, 0, 0);
    return v;
}

static void test_pit_through_ioapic(void **state)
{
    (void)state;
    static struct plat p;
    plat_init(&p);
    ioapic_rte(&p, 2, 0x30);                         /* edge, physical dest 0 */
    vpit_write(&p.pit, 0x43, 1, 0x34, 0);            /* mode 2, 1193 = 1 ms */
    vpit_write(&p.pit, 0x40, 1, 1193 & 0xFF, 0);
    vpit_write(&p.pit, 0x40, 1, 1193 >> 8, 0);
    uint64_t now = 0;
    for (int tick = 1; tick <= 100; tick++) {
        uint64_t d = vpit_next_deadline(&p.pit);
        assert_true(d > now);
        /* 1193 ticks are 999847.5 ns: the n-th interrupt at ceil(n * that) */
        assert_int_equal(d, (tick * 1193ULL * 1000000000ULL + 1193181) / 1193182);
        assert_int_equal(run_handler(&p, 0), -1);
        now = d;
        vpit_advance(&p.pit, now);
        assert_int_equal(run_handler(&p, 0), 0x30);
        assert_int_equal(run_handler(&p, 1), -1);    /* not its interrupt */
    }
    assert_int_equal(p.kicks[0], 100);
    assert_int_equal(p.kicks[1], 0);
}

static void test_level_pin_and_logical(void **state)
{
    (void)state;
    static struct plat p;
    plat_init(&p);
    /* logical flat: CPU 0 is bit 0, CPU 1 bit 1 */
    vlapic_write(&p.lapic[0], VLAPIC_LDR, 4, 0x01000000, 0);
    vlapic_write(&p.lapic[1], VLAPIC_LDR, 4, 0x02000000, 0);
    ioapic_rte(&p, 9, (0x02ULL << 56) | VIOAPIC_RTE_DESTLOG | VIOAPIC_RTE_LEVEL | 0x49);
    isa_irq(&p, 9, 1);
    assert_int_equal(run_handler(&p, 0), -1);
    /* the handler EOIs while the line is still high: delivered again */
    assert_int_equal(run_handler(&p, 1), 0x49);
    assert_int_equal(vlapic_pending_vector(&p.lapic[1]), 0x49);
    isa_irq(&p, 9, 0);                               /* the device is quiet now */
    assert_int_equal(run_handler(&p, 1), 0x49);
    assert_int_equal(run_handler(&p, 1), -1);
    /* broadcast to both */
    ioapic_rte(&p, 10, (0x03ULL << 56) | VIOAPIC_RTE_DESTLOG | 0x51);
    isa_irq(&p, 10, 1);
    assert_int_equal(run_handler(&p, 0), 0x51);
    assert_int_equal(run_handler(&p, 1), 0x51);
}

static void test_pic_virtual_wire(void **state)
{
    (void)state;
    static struct plat p;
    plat_init(&p);
    vlapic_write(&p.lapic[0], VLAPIC_LVT_LINT0, 4, 0x700, 0); /* ExtINT */
    assert_true(vlapic_accepts_pic(&p.lapic[0]));
    static const uint8_t icw[] = { 0x11, 0x30, 0x04, 0x01 };
    for (int i = 0; i < 4; i++)
        vpic_write(&p.pic, i ? 0x21 : 0x20, 1, icw[i]);
    vpic_write(&p.pic, 0x21, 1, 0xFE);               /* only IRQ 0 */
    vpit_write(&p.pit, 0x43, 1, 0x34, 0);
    vpit_write(&p.pit, 0x40, 1, 0x9C, 0);
    vpit_write(&p.pit, 0x40, 1, 0x2E, 0);            /* 11932: 10 ms */
    vpit_advance(&p.pit, vpit_next_deadline(&p.pit));
    assert_int_equal(vlapic_pending_vector(&p.lapic[0]), -1);
    assert_int_equal(vpic_pending_vector(&p.pic), 0x30);
    assert_int_equal(vpic_ack(&p.pic), 0x30);
    vpic_write(&p.pic, 0x20, 1, 0x20);
    assert_int_equal(vpic_pending_vector(&p.pic), -1);
    /* masked in the IMR: the next tick waits */
    vpic_write(&p.pic, 0x21, 1, 0xFF);
    vpit_advance(&p.pit, vpit_next_deadline(&p.pit));
    assert_int_equal(vpic_pending_vector(&p.pic), -1);
    vpic_write(&p.pic, 0x21, 1, 0xFE);
    assert_int_equal(vpic_pending_vector(&p.pic), 0x30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pit_through_ioapic),
        cmocka_unit_test(test_level_pin_and_logical),
        cmocka_unit_test(test_pic_virtual_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
