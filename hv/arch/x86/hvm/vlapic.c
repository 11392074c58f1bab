/*
 * vlapic.c - the local APIC model of one HVM vCPU (xAPIC MMIO page; see
 * hvm_dev.h): registers, IRR/ISR/TMR priority logic, EOI, self-IPIs and
 * the timer in one-shot and periodic mode, at 1 ns per bus clock.
 * Owns: the APIC state of one vCPU. Must never: read a clock (the caller
 * passes now_ns), call the rest of the hypervisor except through its
 * callbacks, index past the 256-bit registers whatever the guest writes.
 * Not emulated: x2APIC MSRs, TSC-deadline mode, CMCI LVT, APR/RRD (read
 * 0), directed EOI.
 */
#include <xenolith/hvm_dev.h>
#include <xenolith/lib.h>

static int test_bit256(const uint32_t *r, unsigned int v) { return (r[v >> 5] >> (v & 31)) & 1; }
static void set_bit256(uint32_t *r, unsigned int v) { r[v >> 5] |= 1u << (v & 31); }
static void clear_bit256(uint32_t *r, unsigned int v) { r[v >> 5] &= ~(1u << (v & 31)); }

/* The highest set bit of a 256-bit register, or -1. */
static int highest256(const uint32_t *r)
{
    for (int i = 7; i >= 0; i--)
        if (r[i])
            return i * 32 + 31 - __builtin_clz(r[i]);
    return -1;
}

static int sw_enabled(const struct vlapic *l) { return (l->svr & VLAPIC_SVR_ENABLE) != 0; }

static void error(struct vlapic *l, uint32_t bit)
{
    int fresh = !(l->esr_pending & bit);
    l->esr_pending |= bit;
    uint32_t lvt = l->lvt[5];
    if (fresh && !(lvt & VLAPIC_LVT_MASKED) && (lvt & 0xFF) >= 16)
        vlapic_set_irq(l, (uint8_t)lvt, 0);
}

void vlapic_init(struct vlapic *lapic, uint8_t apic_id, const struct vlapic_cb *cb)
{
    memset(lapic, 0, sizeof(*lapic));
    if (cb)
        lapic->cb = *cb;
    lapic->id = (uint32_t)apic_id << 24;
    lapic->dfr = 0xFFFFFFFFu;
    lapic->svr = 0xFF;
    for (int i = 0; i < VLAPIC_NR_LVT; i++)
        lapic->lvt[i] = VLAPIC_LVT_MASKED;
}

uint32_t vlapic_ppr(const struct vlapic *lapic)
{
    int isrv = highest256(lapic->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
    if ((lapic->tpr & 0xF0) >= isr_class)
        return lapic->tpr & 0xFF;
    return isr_class;
}

int vlapic_set_irq(struct vlapic *lapic, uint8_t vector, int level_trigger)
{
    if (vector < 16) {
        error(lapic, VLAPIC_ESR_RECV_ILLEGAL);
        return 0;
    }
    if (!sw_enabled(lapic))
        return 0;
    set_bit256(lapic->irr, vector);
    if (level_trigger)
        set_bit256(lapic->tmr, vector);
    else
        clear_bit256(lapic->tmr, vector);
    if (lapic->cb.raise)
        lapic->cb.raise(lapic->cb.ctx, vector, 1);
    return 1;
}

int vlapic_pending_vector(const struct vlapic *lapic)
{
    if (!sw_enabled(lapic))
        return -1;
    int v = highest256(lapic->irr);
    if (v < 0 || ((uint32_t)v & 0xF0) <= (vlapic_ppr(lapic) & 0xF0))
        return -1;
    return v;
}

void vlapic_ack(struct vlapic *lapic, uint8_t vector)
{
    if (!test_bit256(lapic->irr, vector))
        return;
    clear_bit256(lapic->irr, vector);
    set_bit256(lapic->isr, vector);
}

static void eoi(struct vlapic *l)
{
    int v = highest256(l->isr);
    if (v < 0)
        return;
    clear_bit256(l->isr, (unsigned int)v);
    if (test_bit256(l->tmr, (unsigned int)v) && l->cb.eoi_level)
        l->cb.eoi_level(l->cb.ctx, (uint8_t)v);
}

int vlapic_match_dest(const struct vlapic *lapic, uint8_t dest, int logical)
{
    if (dest == 0xFF)
        return 1;
    if (!logical)
        return dest == (uint8_t)(lapic->id >> 24);
    uint8_t ldr = (uint8_t)(lapic->ldr >> 24);
    if ((lapic->dfr >> 28) == 0xF) /* flat model */
        return (ldr & dest) != 0;
    /* cluster model: bits 7:4 the cluster, 3:0 a bitmap within it */
    return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xF) != 0;
}

int vlapic_accepts_pic(const struct vlapic *lapic)
{
    /* As Xen's vlapic_accept_pic_intr: LVT0 unmasked in ExtINT mode (a
     * software-disabled APIC has every LVT masked, so it takes none);
     * the hardware-disabled APIC (APIC base MSR) is not modelled. */
    uint32_t lint0 = lapic->lvt[3];
    return !(lint0 & VLAPIC_LVT_MASKED) && ((lint0 >> 8) & 7) == 7;
}

/* ---- timer ---- */

static uint64_t divisor(const struct vlapic *l)
{
    uint32_t v = ((l->tdcr >> 1) & 4) | (l->tdcr & 3);
    return v == 7 ? 1 : 2ULL << v;
}

static uint64_t tick_ns(const struct vlapic *l) { return divisor(l) * VLAPIC_BUS_NS; }
static uint64_t period_ns(const struct vlapic *l) { return (uint64_t)l->tmict * tick_ns(l); }
static int periodic(const struct vlapic *l) { return (l->lvt[0] & VLAPIC_LVT_PERIODIC) != 0; }

uint64_t vlapic_next_deadline(const struct vlapic *lapic)
{
    if (!lapic->timer_running)
        return HVM_DEV_NO_DEADLINE;
    return lapic->timer_start_ns + period_ns(lapic);
}

void vlapic_advance(struct vlapic *lapic, uint64_t now_ns)
{
    if (!lapic->timer_running)
        return;
    uint64_t p = period_ns(lapic);
    if (now_ns < lapic->timer_start_ns + p)
        return;
    if (periodic(lapic)) /* missed periods coalesce into one interrupt */
        lapic->timer_start_ns += (now_ns - lapic->timer_start_ns) / p * p;
    else
        lapic->timer_running = 0;
    uint32_t lvt = lapic->lvt[0];
    if (!(lvt & VLAPIC_LVT_MASKED))
        vlapic_set_irq(lapic, (uint8_t)lvt, 0);
}

static uint32_t current_count(const struct vlapic *l, uint64_t now_ns)
{
    if (!l->timer_running || now_ns < l->timer_start_ns)
        return l->timer_running ? l->tmict : 0;
    uint64_t ticks = (now_ns - l->timer_start_ns) / tick_ns(l);
    if (periodic(l))
        return l->tmict - (uint32_t)(ticks % l->tmict);
    return ticks >= l->tmict ? 0 : l->tmict - (uint32_t)ticks;
}

/* Restart the count at cc (of tmict) at now_ns, at the current rate. */
static void rebase(struct vlapic *l, uint32_t cc, uint64_t now_ns)
{
    uint64_t done = (uint64_t)(l->tmict - cc) * tick_ns(l);
    /* only a timer started within the first ns of the caller's clock can
     * have done more than now_ns: it loses the difference */
    l->timer_start_ns = done > now_ns ? 0 : now_ns - done;
}

/* ---- registers ---- */

static const uint32_t lvt_writable[VLAPIC_NR_LVT] = {
    0x300FF, /* timer: vector, mask, periodic (no TSC-deadline) */
    0x107FF, /* thermal: vector, delivery mode, mask */
    0x107FF, /* perf */
    0x1A7FF, /* LINT0: vector, mode, polarity, trigger, mask */
    0x1A7FF, /* LINT1 */
    0x100FF, /* error: vector, mask */
};

static uint32_t read_reg(struct vlapic *l, uint32_t reg, uint64_t now_ns)
{
    switch (reg) {
    case VLAPIC_ID:    return l->id;
    case VLAPIC_LVR:   return VLAPIC_VERSION;
    case VLAPIC_TPR:   return l->tpr;
    case VLAPIC_APR:   return 0;
    case VLAPIC_PPR:   return vlapic_ppr(l);
    case VLAPIC_EOI:   return 0;
    case VLAPIC_RRD:   return 0;
    case VLAPIC_LDR:   return l->ldr;
    case VLAPIC_DFR:   return l->dfr;
    case VLAPIC_SVR:   return l->svr;
    case VLAPIC_ESR:   return l->esr;
    case VLAPIC_ICR_LO: return l->icr_lo;
    case VLAPIC_ICR_HI: return l->icr_hi;
    case VLAPIC_TMICT: return l->tmict;
    case VLAPIC_TMCCT: return current_count(l, now_ns);
    case VLAPIC_TDCR:  return l->tdcr;
    }
    if (reg >= VLAPIC_ISR && reg < VLAPIC_ISR + 0x80)
        return l->isr[(reg - VLAPIC_ISR) >> 4];
    if (reg >= VLAPIC_TMR && reg < VLAPIC_TMR + 0x80)
        return l->tmr[(reg - VLAPIC_TMR) >> 4];
    if (reg >= VLAPIC_IRR && reg < VLAPIC_IRR + 0x80)
        return l->irr[(reg - VLAPIC_IRR) >> 4];
    if (reg >= VLAPIC_LVT_TIMER && reg <= VLAPIC_LVT_ERROR)
        return l->lvt[(reg - VLAPIC_LVT_TIMER) >> 4];
    error(l, VLAPIC_ESR_ILLEGAL_REG);
    return 0;
}

uint32_t vlapic_read(struct vlapic *lapic, uint32_t offset, unsigned int size, uint64_t now_ns)
{
    if (size != 1 && size != 2 && size != 4)
        return ~0u;
    if (offset >= VLAPIC_SIZE)
        return 0;
    vlapic_advance(lapic, now_ns);
    uint32_t in = offset & 0xF;
    if (in + size > 4) /* bytes 4..15 of each 16-byte slot are reserved */
        return 0;
    uint32_t v = read_reg(lapic, offset & ~0xFu, now_ns) >> (in * 8);
    return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void send_ipi(struct vlapic *l)
{
    uint32_t lo = l->icr_lo, mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
    uint8_t vector = (uint8_t)lo, dest = (uint8_t)(l->icr_hi >> 24);
    int fixed = mode == 0 || mode == 1;
    int self;
    switch (shorthand) {
    case 1: self = 1; break;                      /* self */
    case 2: self = 1; break;                      /* all including self */
    case 3: self = 0; break;                      /* all excluding self */
    default: self = vlapic_match_dest(l, dest, (lo >> 11) & 1);
    }
    if (fixed && vector < 16) {
        error(l, VLAPIC_ESR_SEND_ILLEGAL);
        return;
    }
    if (fixed && self) /* an IPI is edge-triggered here whatever bit 15 says (as Xen) */
        vlapic_set_irq(l, vector, 0);
    int only_self = shorthand == 1 || (shorthand == 0 && !(lo & (1u << 11)) &&
                                        dest == (uint8_t)(l->id >> 24));
    if ((!fixed || !only_self) && l->cb.ipi)
        l->cb.ipi(l->cb.ctx, lo, l->icr_hi);
}

static void write_lvt(struct vlapic *l, unsigned int i, uint32_t v, uint64_t now_ns)
{
    v &= lvt_writable[i];
    if (!sw_enabled(l))
        v |= VLAPIC_LVT_MASKED;
    if (i == 0 && ((v ^ l->lvt[0]) & VLAPIC_LVT_PERIODIC) && l->timer_running) {
        /* a mode change keeps the count where it is */
        uint32_t cc = current_count(l, now_ns);
        l->lvt[0] = (l->lvt[0] & ~lvt_writable[0]) | v;
        rebase(l, cc, now_ns);
    }
    l->lvt[i] = (l->lvt[i] & ~lvt_writable[i]) | v;
}

static void write_reg(struct vlapic *l, uint32_t reg, uint32_t v, uint64_t now_ns)
{
    switch (reg) {
    case VLAPIC_ID: l->id = v & 0xFF000000u; return; /* writable in xAPIC mode, as Xen */
    case VLAPIC_TPR: l->tpr = v & 0xFF; return;
    case VLAPIC_EOI: eoi(l); return;
    case VLAPIC_LDR: l->ldr = v & 0xFF000000u; return;
    case VLAPIC_DFR: l->dfr = v | 0x0FFFFFFFu; return;
    case VLAPIC_SVR:
        l->svr = v & 0x3FF;
        if (!sw_enabled(l))
            for (int i = 0; i < VLAPIC_NR_LVT; i++)
                l->lvt[i] |= VLAPIC_LVT_MASKED;
        return;
    case VLAPIC_ESR:
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        return;
    case VLAPIC_ICR_LO:
        l->icr_lo = v & 0xCCFFF;
        send_ipi(l);
        return;
    case VLAPIC_ICR_HI: l->icr_hi = v & 0xFF000000u; return;
    case VLAPIC_TMICT:
        l->tmict = v;
        l->timer_start_ns = now_ns;
        l->timer_running = v != 0;
        return;
    case VLAPIC_TDCR: {
        uint32_t cc = current_count(l, now_ns);
        l->tdcr = v & 0xB;
        if (l->timer_running) /* the count goes on at the new rate */
            rebase(l, cc, now_ns);
        return;
    }
    case VLAPIC_LVR: case VLAPIC_APR: case VLAPIC_PPR: case VLAPIC_RRD:
    case VLAPIC_TMCCT:
        return; /* read-only */
    }
    if (reg >= VLAPIC_LVT_TIMER && reg <= VLAPIC_LVT_ERROR) {
        write_lvt(l, (reg - VLAPIC_LVT_TIMER) >> 4, v, now_ns);
        return;
    }
    if (reg >= VLAPIC_ISR && reg < VLAPIC_IRR + 0x80)
        return; /* ISR, TMR, IRR: read-only */
    error(l, VLAPIC_ESR_ILLEGAL_REG);
}

void vlapic_write(struct vlapic *lapic, uint32_t offset, unsigned int size, uint32_t value,
                  uint64_t now_ns)
{
    /* The SDM asks for aligned 32-bit writes; like Xen, a byte or word
     * that fits in the register is merged into it. */
    uint32_t in = offset & 0xF, reg = offset & ~0xFu;
    if (offset >= VLAPIC_SIZE || (size != 1 && size != 2 && size != 4) || in + size > 4)
        return;
    vlapic_advance(lapic, now_ns);
    if (size < 4) {
        uint32_t mask = ((1u << (size * 8)) - 1) << (in * 8);
        value = (read_reg(lapic, reg, now_ns) & ~mask) | ((value << (in * 8)) & mask);
    }
    write_reg(lapic, reg, value, now_ns);
}
