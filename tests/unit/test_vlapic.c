/*
 * test_vlapic.c - host unit tests for the local APIC model (cmocka,
 * ASan/UBSan): reset values, PPR from TPR and ISR, IRR priority order,
 * TPR masking, ack and nested EOI order, level EOI notification, the
 * 256-bit register windows, self-IPIs and IPIs handed to the caller, ESR,
 * the timer's current count and deadlines in one-shot and periodic mode
 * with every divide value, SVR disable, destination matching, and random
 * guest accesses.
 * Links: hv/arch/x86/hvm/vlapic.c.
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

static unsigned int raised, eois, ipis;
static uint8_t last_eoi;
static uint32_t last_icr_lo, last_icr_hi;

static void cb_raise(void *ctx, unsigned int v, int level) { (void)ctx; (void)v; (void)level; raised++; }
static void cb_eoi(void *ctx, uint8_t v) { (void)ctx; eois++; last_eoi = v; }
static void cb_ipi(void *ctx, uint32_t lo, uint32_t hi)
{
    (void)ctx;
    ipis++;
    last_icr_lo = lo;
    last_icr_hi = hi;
}

static const struct vlapic_cb cbs = { NULL, cb_raise, cb_eoi, cb_ipi };

static uint32_t rd(struct vlapic *l, uint32_t off) { return vlapic_read(l, off, 4, 0); }
static void wr(struct vlapic *l, uint32_t off, uint32_t v) { vlapic_write(l, off, 4, v, 0); }

/* An APIC with id 3, software-enabled with spurious vector 0xFF. */
static void setup(struct vlapic *l)
{
    raised = eois = ipis = 0;
    last_eoi = 0;
    vlapic_init(l, 3, &cbs);
    wr(l, VLAPIC_SVR, 0x1FF);
}

static void test_reset(void **state)
{
    (void)state;
    struct vlapic l;
    vlapic_init(&l, 5, &cbs);
    assert_int_equal(rd(&l, VLAPIC_ID), 5u << 24);
    assert_int_equal(rd(&l, VLAPIC_LVR), 0x00050014);
    assert_int_equal(rd(&l, VLAPIC_DFR), 0xFFFFFFFFu);
    assert_int_equal(rd(&l, VLAPIC_SVR), 0xFF);
    assert_int_equal(rd(&l, VLAPIC_TPR), 0);
    assert_int_equal(rd(&l, VLAPIC_PPR), 0);
    for (uint32_t o = VLAPIC_LVT_TIMER; o <= VLAPIC_LVT_ERROR; o += 0x10)
        assert_int_equal(rd(&l, o), VLAPIC_LVT_MASKED);
    assert_int_equal(rd(&l, VLAPIC_TMICT), 0);
    assert_int_equal(rd(&l, VLAPIC_TMCCT), 0);
    assert_int_equal(vlapic_next_deadline(&l), HVM_DEV_NO_DEADLINE);
    /* software-disabled: interrupts are not accepted */
    assert_int_equal(vlapic_set_irq(&l, 0x40, 0), 0);
    assert_int_equal(vlapic_pending_vector(&l), -1);
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x20), 0);
}

static void test_ppr(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    wr(&l, VLAPIC_TPR, 0x57);
    assert_int_equal(rd(&l, VLAPIC_PPR), 0x57);      /* no ISR: PPR = TPR */
    vlapic_set_irq(&l, 0x45, 0);
    assert_int_equal(vlapic_pending_vector(&l), -1); /* class 4 <= class 5 */
    vlapic_set_irq(&l, 0x61, 0);
    assert_int_equal(vlapic_pending_vector(&l), 0x61);
    vlapic_ack(&l, 0x61);
    assert_int_equal(rd(&l, VLAPIC_PPR), 0x60);      /* ISR class above TPR */
    wr(&l, VLAPIC_TPR, 0x6A);
    assert_int_equal(rd(&l, VLAPIC_PPR), 0x6A);      /* TPR class >= ISR class */
    wr(&l, VLAPIC_TPR, 0x1FF);                       /* only 8 bits */
    assert_int_equal(rd(&l, VLAPIC_TPR), 0xFF);
    assert_int_equal(rd(&l, VLAPIC_PPR), 0xFF);
    wr(&l, VLAPIC_TPR, 0);
    /* the same class as the one in service is not delivered */
    vlapic_set_irq(&l, 0x6F, 0);
    assert_int_equal(vlapic_pending_vector(&l), -1);
    wr(&l, VLAPIC_EOI, 0);
    assert_int_equal(vlapic_pending_vector(&l), 0x6F);
    /* PPR is read-only */
    wr(&l, VLAPIC_PPR, 0xF0);
    assert_int_equal(rd(&l, VLAPIC_PPR), 0);
}

static void test_irr_order_and_eoi(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    vlapic_set_irq(&l, 0x31, 0);
    vlapic_set_irq(&l, 0x80, 0);
    vlapic_set_irq(&l, 0x45, 0);
    vlapic_set_irq(&l, 0xFE, 1);
    assert_int_equal(raised, 4);
    /* IRR is a 256-bit register read in 8 windows of 32 bits */
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x10), 1u << (0x31 - 32));
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x20), 1u << (0x45 - 64));
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x40), 1u << 0);
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x70), 1u << 30);
    assert_int_equal(rd(&l, VLAPIC_TMR + 0x70), 1u << 30);
    assert_int_equal(rd(&l, VLAPIC_TMR + 0x40), 0);

    assert_int_equal(vlapic_pending_vector(&l), 0xFE);
    vlapic_ack(&l, 0xFE);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x70), 1u << 30);
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x70), 0);
    assert_int_equal(vlapic_pending_vector(&l), -1); /* everything below 0xF0 */
    wr(&l, VLAPIC_EOI, 0);
    assert_int_equal(eois, 1);                       /* level: I/O APIC told */
    assert_int_equal(last_eoi, 0xFE);

    /* nest: 0x45 in service, then 0x80 interrupts it */
    vlapic_set_irq(&l, 0x80, 0);
    assert_int_equal(vlapic_pending_vector(&l), 0x80);
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x40), 1);
    vlapic_ack(&l, 0x80);
    assert_int_equal(vlapic_pending_vector(&l), -1);
    wr(&l, VLAPIC_EOI, 0);
    assert_int_equal(vlapic_pending_vector(&l), 0x45);
    vlapic_ack(&l, 0x45);
    vlapic_set_irq(&l, 0x90, 0);
    vlapic_ack(&l, 0x90);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x20), 1u << 5);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x40), 1u << 16);
    wr(&l, VLAPIC_EOI, 0);                           /* the highest: 0x90 */
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x40), 0);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x20), 1u << 5);
    assert_int_equal(vlapic_pending_vector(&l), -1); /* 0x31 below 0x45's class */
    wr(&l, VLAPIC_EOI, 0);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x20), 0);
    assert_int_equal(vlapic_pending_vector(&l), 0x31);
    assert_int_equal(eois, 1);                       /* edge: never told */
    /* EOI with nothing in service is harmless */
    wr(&l, VLAPIC_EOI, 0);
    assert_int_equal(vlapic_pending_vector(&l), 0x31);
    /* ack of a vector not in IRR changes nothing */
    vlapic_ack(&l, 0x77);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x30), 0);
    /* a level vector re-raised as edge loses its TMR bit */
    vlapic_set_irq(&l, 0x31, 1);
    assert_int_equal(rd(&l, VLAPIC_TMR + 0x10), 1u << 17);
    vlapic_set_irq(&l, 0x31, 0);
    assert_int_equal(rd(&l, VLAPIC_TMR + 0x10), 0);
    /* ISR, TMR and IRR are read-only */
    wr(&l, VLAPIC_IRR + 0x10, 0);
    wr(&l, VLAPIC_ISR + 0x10, 0xFFFFFFFF);
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x10), 1u << 17);
    assert_int_equal(rd(&l, VLAPIC_ISR + 0x10), 0);
}

static void test_illegal_vector_esr(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    assert_int_equal(vlapic_set_irq(&l, 7, 0), 0);
    assert_int_equal(rd(&l, VLAPIC_ESR), 0);         /* latched on ESR write */
    wr(&l, VLAPIC_ESR, 0);
    assert_int_equal(rd(&l, VLAPIC_ESR), VLAPIC_ESR_RECV_ILLEGAL);
    wr(&l, VLAPIC_ESR, 0);
    assert_int_equal(rd(&l, VLAPIC_ESR), 0);
    /* an error LVT interrupt on the error */
    wr(&l, VLAPIC_LVT_ERROR, 0xE3);
    assert_int_equal(rd(&l, VLAPIC_LVT_ERROR), 0xE3);
    vlapic_read(&l, 0x2F0, 4, 0);                    /* a reserved register */
    assert_int_equal(vlapic_pending_vector(&l), 0xE3);
    wr(&l, VLAPIC_ESR, 0);
    assert_int_equal(rd(&l, VLAPIC_ESR), VLAPIC_ESR_ILLEGAL_REG);
}

static void test_ipi(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    /* shorthand self, fixed, vector 0x50 */
    wr(&l, VLAPIC_ICR_LO, (1u << 18) | 0x50);
    assert_int_equal(vlapic_pending_vector(&l), 0x50);
    assert_int_equal(ipis, 0);
    assert_int_equal(rd(&l, VLAPIC_ICR_LO) & (1u << 12), 0); /* delivered */
    /* physical destination = own id 3 */
    wr(&l, VLAPIC_ICR_HI, 3u << 24);
    wr(&l, VLAPIC_ICR_LO, 0x60);
    assert_int_equal(vlapic_pending_vector(&l), 0x60);
    assert_int_equal(ipis, 0);
    /* another CPU: handed to the caller, not set here */
    wr(&l, VLAPIC_ICR_HI, 1u << 24);
    wr(&l, VLAPIC_ICR_LO, 0x70);
    assert_int_equal(ipis, 1);
    assert_int_equal(last_icr_lo, 0x70);
    assert_int_equal(last_icr_hi, 1u << 24);
    assert_int_equal(vlapic_pending_vector(&l), 0x60);
    /* all including self: set here and handed to the caller */
    wr(&l, VLAPIC_ICR_LO, (2u << 18) | 0x80);
    assert_int_equal(ipis, 2);
    assert_int_equal(vlapic_pending_vector(&l), 0x80);
    /* all excluding self */
    wr(&l, VLAPIC_ICR_LO, (3u << 18) | 0x90);
    assert_int_equal(ipis, 3);
    assert_int_equal(vlapic_pending_vector(&l), 0x80);
    /* INIT to another CPU, then a SIPI */
    wr(&l, VLAPIC_ICR_LO, 0x4500);
    assert_int_equal(ipis, 4);
    assert_int_equal(last_icr_lo, 0x4500);
    wr(&l, VLAPIC_ICR_LO, 0x4608);
    assert_int_equal(last_icr_lo, 0x4608);
    /* NMI to self: the caller's */
    wr(&l, VLAPIC_ICR_LO, (1u << 18) | 0x400);
    assert_int_equal(ipis, 6);
    /* a fixed IPI with an illegal vector is not sent; ESR says so */
    wr(&l, VLAPIC_ICR_LO, (1u << 18) | 0x05);
    assert_int_equal(ipis, 6);
    wr(&l, VLAPIC_ESR, 0);
    assert_int_equal(rd(&l, VLAPIC_ESR), VLAPIC_ESR_SEND_ILLEGAL);
    /* read-only / reserved ICR bits */
    wr(&l, VLAPIC_ICR_HI, 0xFFFFFFFF);
    assert_int_equal(rd(&l, VLAPIC_ICR_HI), 0xFF000000u);
    /* logical flat destination matching our LDR */
    wr(&l, VLAPIC_LDR, 0x04000000);
    wr(&l, VLAPIC_ICR_HI, 0x06000000);
    unsigned int before = ipis;
    wr(&l, VLAPIC_ICR_LO, (1u << 11) | 0xA0);
    assert_int_equal(vlapic_pending_vector(&l), 0xA0);
    assert_int_equal(ipis, before + 1);              /* 0x02 is someone else */
    /* a "level" self-IPI is taken as edge: no TMR bit, no EOI to tell */
    wr(&l, VLAPIC_ICR_LO, (1u << 18) | (1u << 15) | (1u << 14) | 0xB0);
    assert_int_equal(rd(&l, VLAPIC_IRR + 0x50), (1u << 16) | 1u); /* and 0xA0 */
    assert_int_equal(rd(&l, VLAPIC_TMR + 0x50), 0);
}

static void test_match_dest(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    assert_true(vlapic_match_dest(&l, 3, 0));
    assert_false(vlapic_match_dest(&l, 4, 0));
    assert_true(vlapic_match_dest(&l, 0xFF, 0));
    wr(&l, VLAPIC_LDR, 0x12345678);
    assert_int_equal(rd(&l, VLAPIC_LDR), 0x12000000);
    assert_true(vlapic_match_dest(&l, 0x02, 1));     /* flat: bitmap */
    assert_false(vlapic_match_dest(&l, 0x0D, 1));
    wr(&l, VLAPIC_DFR, 0);                           /* cluster model */
    assert_int_equal(rd(&l, VLAPIC_DFR), 0x0FFFFFFF);
    assert_true(vlapic_match_dest(&l, 0x13, 1));     /* cluster 1, bit 1 */
    assert_false(vlapic_match_dest(&l, 0x23, 1));
    assert_false(vlapic_match_dest(&l, 0x14, 1));
    assert_true(vlapic_match_dest(&l, 0xFF, 1));
}

static void test_svr_and_lvt(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    wr(&l, VLAPIC_LVT_LINT0, 0x700);                 /* ExtINT, unmasked */
    assert_int_equal(rd(&l, VLAPIC_LVT_LINT0), 0x700);
    assert_true(vlapic_accepts_pic(&l));
    wr(&l, VLAPIC_LVT_LINT1, 0xFFFFFFFF);           /* remote IRR/status RO */
    assert_int_equal(rd(&l, VLAPIC_LVT_LINT1), 0x1A7FF);
    wr(&l, VLAPIC_LVT_TIMER, 0xFFFFFFFF);           /* no TSC-deadline */
    assert_int_equal(rd(&l, VLAPIC_LVT_TIMER), 0x300FF);
    /* software disable masks every LVT */
    wr(&l, VLAPIC_SVR, 0xFF);
    for (uint32_t o = VLAPIC_LVT_TIMER; o <= VLAPIC_LVT_ERROR; o += 0x10)
        assert_true(rd(&l, o) & VLAPIC_LVT_MASKED);
    assert_false(vlapic_accepts_pic(&l)); /* LINT0 masked with the rest (Xen, QEMU) */
    wr(&l, VLAPIC_LVT_LINT0, 0x700);                 /* stays masked */
    assert_int_equal(rd(&l, VLAPIC_LVT_LINT0), 0x10700);
    wr(&l, VLAPIC_SVR, 0x1FF);
    assert_false(vlapic_accepts_pic(&l));
    wr(&l, VLAPIC_SVR, 0xFFFFF);
    assert_int_equal(rd(&l, VLAPIC_SVR), 0x3FF);
    /* the version is read-only; the ID is writable (bits 31:24) and
     * destination matching follows it */
    wr(&l, VLAPIC_LVR, 0);
    assert_int_equal(rd(&l, VLAPIC_LVR), VLAPIC_VERSION);
    wr(&l, VLAPIC_ID, 0x07FFFFFF);
    assert_int_equal(rd(&l, VLAPIC_ID), 7u << 24);
    assert_true(vlapic_match_dest(&l, 7, 0));
    assert_false(vlapic_match_dest(&l, 3, 0));
}

static void test_timer_oneshot(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    uint64_t t0 = 5000000000ULL;
    vlapic_write(&l, VLAPIC_TDCR, 4, 0x3, t0);       /* divide by 16 */
    vlapic_write(&l, VLAPIC_LVT_TIMER, 4, 0xEF, t0); /* one-shot, vector 0xEF */
    vlapic_write(&l, VLAPIC_TMICT, 4, 1000, t0);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0), 1000);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 15), 1000);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 16), 999);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 1600), 900);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 8000), 500);
    assert_int_equal(vlapic_next_deadline(&l), t0 + 16000);
    vlapic_advance(&l, t0 + 15999);
    assert_int_equal(vlapic_pending_vector(&l), -1);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 15999), 1);
    vlapic_advance(&l, t0 + 16000);
    assert_int_equal(vlapic_pending_vector(&l), 0xEF);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 16000), 0);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 99999), 0);
    assert_int_equal(vlapic_next_deadline(&l), HVM_DEV_NO_DEADLINE);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMICT, 4, t0 + 99999), 1000);
    /* a read past the deadline fires the timer by itself */
    vlapic_ack(&l, 0xEF);
    wr(&l, VLAPIC_EOI, 0);
    vlapic_write(&l, VLAPIC_TMICT, 4, 10, t0);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 160), 0);
    assert_int_equal(vlapic_pending_vector(&l), 0xEF);
    /* writing 0 stops it */
    vlapic_write(&l, VLAPIC_TMICT, 4, 100, t0);
    vlapic_write(&l, VLAPIC_TMICT, 4, 0, t0 + 10);
    assert_int_equal(vlapic_next_deadline(&l), HVM_DEV_NO_DEADLINE);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 10), 0);
}

static void test_timer_divide(void **state)
{
    (void)state;
    static const struct { uint32_t dcr; uint64_t div; } tab[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
        { 0x8, 32 }, { 0x9, 64 }, { 0xA, 128 }, { 0xB, 1 },
    };
    for (unsigned int i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        struct vlapic l;
        setup(&l);
        uint64_t t0 = 1000000;
        vlapic_write(&l, VLAPIC_TDCR, 4, tab[i].dcr | 0xF4, t0);
        assert_int_equal(vlapic_read(&l, VLAPIC_TDCR, 4, t0), tab[i].dcr);
        vlapic_write(&l, VLAPIC_TMICT, 4, 0x10000, t0);
        assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 100 * tab[i].div),
                         0x10000 - 100);
        assert_int_equal(vlapic_next_deadline(&l), t0 + 0x10000 * tab[i].div);
    }
    /* changing the divide while counting keeps the count, changes the rate */
    struct vlapic l;
    setup(&l);
    vlapic_write(&l, VLAPIC_TDCR, 4, 0xB, 1000);     /* by 1 */
    vlapic_write(&l, VLAPIC_TMICT, 4, 1000, 1000);
    vlapic_write(&l, VLAPIC_TDCR, 4, 0x0, 1400);     /* by 2, at count 600 */
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, 1400), 600);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, 1600), 500);
    assert_int_equal(vlapic_next_deadline(&l), 1400 + 1200);
}

static void test_timer_periodic(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    uint64_t t0 = 7000;
    vlapic_write(&l, VLAPIC_TDCR, 4, 0x3, t0);
    vlapic_write(&l, VLAPIC_LVT_TIMER, 4, VLAPIC_LVT_PERIODIC | 0x30, t0);
    vlapic_write(&l, VLAPIC_TMICT, 4, 100, t0);      /* 1600 ns period */
    assert_int_equal(vlapic_next_deadline(&l), t0 + 1600);
    vlapic_advance(&l, t0 + 1600);
    assert_int_equal(vlapic_pending_vector(&l), 0x30);
    assert_int_equal(vlapic_next_deadline(&l), t0 + 3200);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 1600), 100); /* reloaded */
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 1600 + 160), 90);
    vlapic_ack(&l, 0x30);
    wr(&l, VLAPIC_EOI, 0);
    /* late by 3.5 periods: one interrupt, the next deadline on the grid */
    unsigned int r = raised;
    vlapic_advance(&l, t0 + 1600 * 5 + 800);
    assert_int_equal(raised, r + 1);
    assert_int_equal(vlapic_pending_vector(&l), 0x30);
    assert_int_equal(vlapic_next_deadline(&l), t0 + 1600 * 6);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 1600 * 5 + 800), 50);
    /* masked: counting goes on, no interrupt */
    vlapic_ack(&l, 0x30);
    wr(&l, VLAPIC_EOI, 0);
    vlapic_write(&l, VLAPIC_LVT_TIMER, 4, VLAPIC_LVT_MASKED | VLAPIC_LVT_PERIODIC | 0x30,
                 t0 + 1600 * 5 + 800);
    r = raised;
    vlapic_advance(&l, t0 + 1600 * 6);
    assert_int_equal(raised, r);
    assert_int_equal(vlapic_pending_vector(&l), -1);
    assert_int_equal(vlapic_next_deadline(&l), t0 + 1600 * 7);
    /* switch to one-shot mid-period: it fires once at the period's end */
    vlapic_write(&l, VLAPIC_LVT_TIMER, 4, 0x30, t0 + 1600 * 6 + 320);
    assert_int_equal(vlapic_read(&l, VLAPIC_TMCCT, 4, t0 + 1600 * 6 + 320), 80);
    vlapic_advance(&l, t0 + 1600 * 7);
    assert_int_equal(vlapic_pending_vector(&l), 0x30);
    assert_int_equal(vlapic_next_deadline(&l), HVM_DEV_NO_DEADLINE);
}

static void test_access_sizes(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    wr(&l, VLAPIC_TPR, 0xA5);
    assert_int_equal(vlapic_read(&l, VLAPIC_TPR, 1, 0), 0xA5);
    assert_int_equal(vlapic_read(&l, VLAPIC_ID + 3, 1, 0), 3);
    assert_int_equal(vlapic_read(&l, VLAPIC_LVR + 2, 2, 0), 0x0005);
    assert_int_equal(vlapic_read(&l, VLAPIC_LVR + 4, 4, 0), 0);  /* reserved bytes */
    assert_int_equal(vlapic_read(&l, VLAPIC_LVR + 3, 2, 0), 0);  /* straddles */
    assert_int_equal(vlapic_read(&l, VLAPIC_LVR, 8, 0), 0xFFFFFFFFu);
    assert_int_equal(vlapic_read(&l, 0x1000, 4, 0), 0);
    /* a byte or word inside the register is merged (as Xen); writes
     * past the register's 4 bytes, misaligned dwords and other sizes
     * are dropped */
    vlapic_write(&l, VLAPIC_TPR, 1, 0x11, 0);
    assert_int_equal(rd(&l, VLAPIC_TPR), 0x11);
    vlapic_write(&l, VLAPIC_TPR + 4, 4, 0x22, 0);
    vlapic_write(&l, VLAPIC_TPR + 1, 4, 0x33, 0);
    vlapic_write(&l, VLAPIC_TPR + 3, 2, 0x33, 0);
    vlapic_write(&l, VLAPIC_TPR, 8, 0x33, 0);
    vlapic_write(&l, 0x2000, 4, 0x44, 0);
    assert_int_equal(rd(&l, VLAPIC_TPR), 0x11);
    vlapic_write(&l, VLAPIC_LDR + 3, 1, 0x5A, 0);
    assert_int_equal(rd(&l, VLAPIC_LDR), 0x5A000000);
    vlapic_write(&l, VLAPIC_SVR + 1, 1, 0x00, 0);    /* disable, byte 1 */
    assert_int_equal(rd(&l, VLAPIC_SVR), 0xFF);
    /* reserved registers read 0 */
    assert_int_equal(rd(&l, 0x000), 0);
    assert_int_equal(rd(&l, 0x3F0), 0);
    assert_int_equal(rd(&l, 0xFF0), 0);
}

static void test_random_access(void **state)
{
    (void)state;
    struct vlapic l;
    setup(&l);
    srand(1234);
    uint64_t now = 1;
    for (int i = 0; i < 200000; i++) {
        uint32_t off = (uint32_t)rand() % 0x1100;
        unsigned int size = 1u << (rand() % 4);
        now += (uint64_t)(rand() % 1000);
        if (rand() & 1)
            vlapic_write(&l, off & ~0xFu, (rand() & 7) ? 4 : size, (uint32_t)rand() * 7u, now);
        else
            (void)vlapic_read(&l, off, size, now);
        if ((rand() & 15) == 0)
            vlapic_set_irq(&l, (uint8_t)rand(), rand() & 1);
        int v = vlapic_pending_vector(&l);
        if (v >= 0) {
            assert_true(v >= 16 && v < 256);
            vlapic_ack(&l, (uint8_t)v);
        }
        vlapic_advance(&l, now);
        uint64_t d = vlapic_next_deadline(&l);
        assert_true(d == HVM_DEV_NO_DEADLINE || d > now);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_ppr),
        cmocka_unit_test(test_irr_order_and_eoi),
        cmocka_unit_test(test_illegal_vector_esr),
        cmocka_unit_test(test_ipi),
        cmocka_unit_test(test_match_dest),
        cmocka_unit_test(test_svr_and_lvt),
        cmocka_unit_test(test_timer_oneshot),
        cmocka_unit_test(test_timer_divide),
        cmocka_unit_test(test_timer_periodic),
        cmocka_unit_test(test_access_sizes),
        cmocka_unit_test(test_random_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
