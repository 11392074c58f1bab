/*
 * vpit.c - the 8254 programmable interval timer model of one HVM domain
 * (ports 0x40-0x43) and the PIT bits of port 0x61 (bit 0 channel 2 gate,
 * bit 1 speaker enable, bit 4 refresh toggle, bit 5 channel 2 OUT); see
 * hvm_dev.h. Time is the caller's now_ns, counted in ticks of 1193182 Hz;
 * channel 0's rising OUT edges pulse ISA IRQ 0.
 * Owns: the three counters' state. Must never: read a clock, overflow
 * while converting now_ns to ticks (the conversion is split into whole
 * seconds and a remainder), divide by a zero count.
 * Simplified: BCD counting (the bit is stored and reported, counting is
 * binary); a count written in mode 2/3 while counting takes effect at
 * once, not at the next reload; the load clock cycle is not counted;
 * mode 3 with an odd count counts down by 2 as with the even one below.
 */
#include <xenolith/hvm_dev.h>
#include <xenolith/lib.h>

#define NS_PER_S 1000000000ULL
#define NO_TICK UINT64_MAX

/* floor(ns * VPIT_HZ / 1e9) without overflow. */
static uint64_t ns_to_ticks(uint64_t ns)
{
    return ns / NS_PER_S * VPIT_HZ + ns % NS_PER_S * VPIT_HZ / NS_PER_S;
}

/* The first ns at which ns_to_ticks() reaches t: ceil(t * 1e9 / VPIT_HZ). */
static uint64_t ticks_to_ns(uint64_t t)
{
    uint64_t q = t / VPIT_HZ, r = t % VPIT_HZ;
    return q * NS_PER_S + (r * NS_PER_S + VPIT_HZ - 1) / VPIT_HZ;
}

static int gate_pauses(const struct vpit_channel *c) { return c->mode != 1 && c->mode != 5; }

/* Ticks counted since the count was loaded (or triggered). */
static uint64_t elapsed(const struct vpit_channel *c, uint64_t t)
{
    if (!c->loaded || c->load_tick == NO_TICK)
        return 0;
    if (!c->gate && gate_pauses(c))
        return c->paused_d;
    return t >= c->load_tick ? t - c->load_tick : 0;
}

static uint16_t counter_value(const struct vpit_channel *c, uint64_t t)
{
    uint64_t d = elapsed(c, t), n = c->count;
    if (!c->loaded || c->load_tick == NO_TICK)
        return (uint16_t)n;
    switch (c->mode) {
    case 2: return (uint16_t)(n - d % n);
    case 3: return (uint16_t)(n - (2 * d) % n);
    default: return (uint16_t)(n - d);  /* modes 0, 1, 4, 5: wraps past 0 */
    }
}

static int output(const struct vpit_channel *c, uint64_t t)
{
    if (!c->loaded)
        return c->mode != 0;             /* after the control word */
    if (c->load_tick == NO_TICK)
        return 1;                        /* mode 1/5 waiting for a trigger */
    if (!c->gate && (c->mode == 2 || c->mode == 3))
        return 1;
    uint64_t d = elapsed(c, t), n = c->count;
    switch (c->mode) {
    case 0: case 1: return d >= n;
    case 2: return n < 2 || d % n != n - 1;
    case 3: return d % n < (n + 1) / 2;
    default: return d != n;             /* 4, 5: low for one clock */
    }
}

/* Channel 0: the tick of the next rising OUT edge after loading. */
static void arm_edge(struct vpit_channel *c)
{
    c->next_edge = NO_TICK;
    if (!c->loaded || c->load_tick == NO_TICK)
        return;
    if (c->mode == 0 || c->mode == 2 || c->mode == 3)
        c->next_edge = c->load_tick + c->count;
    else if (c->mode == 4)
        c->next_edge = c->load_tick + c->count + 1;
}

void vpit_init(struct vpit *pit, hvm_raise_fn raise, void *ctx)
{
    memset(pit, 0, sizeof(*pit));
    pit->raise = raise;
    pit->ctx = ctx;
    for (int i = 0; i < 3; i++) {
        struct vpit_channel *c = &pit->ch[i];
        c->rw = 3;
        c->count = 0x10000;
        c->gate = i != 2;               /* channel 2's gate is port 0x61 bit 0 */
        c->next_edge = NO_TICK;
    }
}

void vpit_advance(struct vpit *pit, uint64_t now_ns)
{
    struct vpit_channel *c = &pit->ch[0];
    uint64_t t = ns_to_ticks(now_ns);
    if (c->next_edge == NO_TICK || t < c->next_edge)
        return;
    if (c->mode == 2 || c->mode == 3) /* missed periods coalesce into one */
        c->next_edge += ((t - c->next_edge) / c->count + 1) * c->count;
    else
        c->next_edge = NO_TICK;
    if (pit->raise) {
        pit->raise(pit->ctx, 0, 1);
        pit->raise(pit->ctx, 0, 0);
    }
}

uint64_t vpit_next_deadline(const struct vpit *pit)
{
    uint64_t e = pit->ch[0].next_edge;
    return e == NO_TICK ? HVM_DEV_NO_DEADLINE : ticks_to_ns(e);
}

static void load(struct vpit_channel *c, uint32_t count, uint64_t t)
{
    c->count = count ? count : 0x10000;
    c->loaded = 1;
    c->null_count = 0;
    c->paused_d = 0;
    /* modes 1 and 5 count from a rising gate edge */
    c->load_tick = (c->mode == 1 || c->mode == 5) ? NO_TICK : t;
    arm_edge(c);
}

static void latch_count(struct vpit_channel *c, uint64_t t)
{
    if (c->latch_state)
        return;                          /* the first latch holds until read */
    c->latched = counter_value(c, t);
    c->latch_state = c->rw;
}

static void latch_status(struct vpit_channel *c, uint64_t t)
{
    if (c->status_latched)
        return;
    c->status = (uint8_t)(output(c, t) << 7 | c->null_count << 6 | c->rw << 4 | c->mode << 1 | c->bcd);
    c->status_latched = 1;
}

static void write_control(struct vpit *pit, uint8_t v, uint64_t t)
{
    unsigned int sel = v >> 6;
    if (sel == 3) {                      /* read-back */
        for (int i = 0; i < 3; i++) {
            if (!(v & (2 << i)))
                continue;
            if (!(v & 0x20))
                latch_count(&pit->ch[i], t);
            if (!(v & 0x10))
                latch_status(&pit->ch[i], t);
        }
        return;
    }
    struct vpit_channel *c = &pit->ch[sel];
    unsigned int rw = (v >> 4) & 3;
    if (rw == 0) {                       /* counter latch command */
        latch_count(c, t);
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;                    /* 6, 7 are 2, 3 */
    c->bcd = v & 1;
    c->loaded = 0;
    c->null_count = 1;
    c->latch_state = 0;
    c->status_latched = 0;
    c->read_msb = c->write_msb = 0;
    c->next_edge = NO_TICK;
}

static void write_counter(struct vpit_channel *c, uint8_t v, uint64_t t)
{
    c->null_count = 1;
    switch (c->rw) {
    case 1: load(c, v, t); break;
    case 2: load(c, (uint32_t)v << 8, t); break;
    default:
        if (!c->write_msb) {
            c->write_lsb = v;
            c->write_msb = 1;
            if (c->mode == 0) {          /* the first byte stops mode 0 */
                c->loaded = 0;
                c->next_edge = NO_TICK;
            }
        } else {
            c->write_msb = 0;
            load(c, c->write_lsb | (uint32_t)v << 8, t);
        }
    }
}

static uint8_t read_counter(struct vpit_channel *c, uint64_t t)
{
    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->latch_state) {
        uint8_t r;
        switch (c->latch_state) {
        case 1: r = (uint8_t)c->latched; c->latch_state = 0; break;
        case 2: r = (uint8_t)(c->latched >> 8); c->latch_state = 0; break;
        default: r = (uint8_t)c->latched; c->latch_state = 2; break;
        }
        return r;
    }
    uint16_t v = counter_value(c, t);
    switch (c->rw) {
    case 1: return (uint8_t)v;
    case 2: return (uint8_t)(v >> 8);
    default:
        c->read_msb ^= 1;
        return c->read_msb ? (uint8_t)v : (uint8_t)(v >> 8);
    }
}

static void set_gate2(struct vpit *pit, int gate, uint64_t t)
{
    struct vpit_channel *c = &pit->ch[2];
    if (!!gate == c->gate)
        return;
    if (!gate) {                         /* falling: modes 0, 2, 3, 4 stop */
        c->paused_d = elapsed(c, t);
        c->gate = 0;
        return;
    }
    c->gate = 1;
    if (!c->loaded)
        return;
    if (c->mode == 0 || c->mode == 4) {  /* resume */
        c->load_tick = t - c->paused_d;
    } else {                             /* 1, 5 trigger; 2, 3 reload */
        c->load_tick = t;
        c->paused_d = 0;
    }
}

static uint8_t read_byte(struct vpit *pit, uint16_t port, uint64_t now_ns)
{
    uint64_t t = ns_to_ticks(now_ns);
    if (port >= VPIT_PORT_CH0 && port < VPIT_PORT_MODE)
        return read_counter(&pit->ch[port - VPIT_PORT_CH0], t);
    if (port == VPIT_PORT_MODE)
        return 0;                        /* the control word is write-only */
    if (port == VPIT_PORT_61)
        return (uint8_t)((pit->port61 & 0xF) | ((now_ns / 15085) & 1) << 4 |
                         output(&pit->ch[2], t) << 5);
    return 0xFF;
}

static void write_byte(struct vpit *pit, uint16_t port, uint8_t v, uint64_t now_ns)
{
    uint64_t t = ns_to_ticks(now_ns);
    if (port >= VPIT_PORT_CH0 && port < VPIT_PORT_MODE)
        write_counter(&pit->ch[port - VPIT_PORT_CH0], v, t);
    else if (port == VPIT_PORT_MODE)
        write_control(pit, v, t);
    else if (port == VPIT_PORT_61) {
        pit->port61 = v & 0xF;
        set_gate2(pit, v & 1, t);
    }
}

uint32_t vpit_read(struct vpit *pit, uint16_t port, unsigned int size, uint64_t now_ns)
{
    if (size != 1 && size != 2 && size != 4)
        return ~0u;
    vpit_advance(pit, now_ns);
    uint32_t v = 0;
    for (unsigned int i = 0; i < size; i++)
        v |= (uint32_t)read_byte(pit, (uint16_t)(port + i), now_ns) << (8 * i);
    return v;
}

void vpit_write(struct vpit *pit, uint16_t port, unsigned int size, uint32_t value, uint64_t now_ns)
{
    if (size != 1 && size != 2 && size != 4)
        return;
    vpit_advance(pit, now_ns);
    for (unsigned int i = 0; i < size; i++)
        write_byte(pit, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)), now_ns);
}
