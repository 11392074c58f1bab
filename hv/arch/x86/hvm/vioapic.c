/*
 * vioapic.c - the I/O APIC model of one HVM domain (82093AA-like, 24
 * pins, version 0x11; see hvm_dev.h): IOREGSEL/IOWIN, the ID, version and
 * arbitration registers, 24 redirection entries, edge detection and the
 * level-triggered remote IRR handshake with the local APIC's EOI.
 * Owns: the pins' state and redirection table. Must never: index past
 * the table whatever IOREGSEL says, deliver a masked pin, deliver a level
 * pin again before its EOI, call the rest of the hypervisor except
 * through its deliver callback.
 * Not emulated: the EOI register (version 0x20), polarity inversion (the
 * caller passes the logical line state, as Xen), delivery status (reads
 * 0: delivery is immediate).
 */
#include <xenolith/hvm_dev.h>
#include <xenolith/lib.h>

/* Bits the guest may write: vector, delivery mode, dest mode, polarity,
 * trigger, mask; destination 63:56. Delivery status and remote IRR are RO. */
#define RTE_WRITABLE 0xFF0000000001AFFFULL

void vioapic_init(struct vioapic *io, uint8_t id, const struct vioapic_cb *cb)
{
    memset(io, 0, sizeof(*io));
    if (cb)
        io->cb = *cb;
    io->id = (uint32_t)(id & 0xF) << 24;
    for (unsigned int i = 0; i < VIOAPIC_NR_PINS; i++)
        io->rte[i] = VIOAPIC_RTE_MASKED;
}

static void deliver(struct vioapic *io, unsigned int pin)
{
    uint64_t e = io->rte[pin];
    struct vioapic_irq irq = {
        .pin = pin,
        .vector = (uint8_t)e,
        .delivery_mode = (uint8_t)((e >> 8) & 7),
        .dest = (uint8_t)(e >> 56),
        .dest_logical = (e & VIOAPIC_RTE_DESTLOG) != 0,
        .level_trigger = (e & VIOAPIC_RTE_LEVEL) != 0,
    };
    if (irq.level_trigger)
        io->rte[pin] |= VIOAPIC_RTE_REMOTE_IRR;
    if (io->cb.deliver)
        io->cb.deliver(io->cb.ctx, &irq);
}

/* A level pin that is asserted, unmasked and not waiting for EOI fires. */
static void check_level(struct vioapic *io, unsigned int pin)
{
    uint64_t e = io->rte[pin];
    if ((e & VIOAPIC_RTE_LEVEL) && !(e & (VIOAPIC_RTE_MASKED | VIOAPIC_RTE_REMOTE_IRR)) &&
        (io->pin_level & (1u << pin)))
        deliver(io, pin);
}

void vioapic_set_irq(struct vioapic *io, unsigned int pin, int level)
{
    if (pin >= VIOAPIC_NR_PINS)
        return;
    uint32_t bit = 1u << pin;
    int was = (io->pin_level & bit) != 0;
    if (level)
        io->pin_level |= bit;
    else
        io->pin_level &= ~bit;
    uint64_t e = io->rte[pin];
    if (e & VIOAPIC_RTE_LEVEL)
        check_level(io, pin);
    else if (level && !was && !(e & VIOAPIC_RTE_MASKED))
        deliver(io, pin); /* edge: a masked edge is lost */
}

void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
    for (unsigned int pin = 0; pin < VIOAPIC_NR_PINS; pin++) {
        uint64_t e = io->rte[pin];
        if ((uint8_t)e != vector || !(e & VIOAPIC_RTE_REMOTE_IRR))
            continue;
        io->rte[pin] &= ~VIOAPIC_RTE_REMOTE_IRR;
        check_level(io, pin);
    }
}

static uint32_t read_reg(const struct vioapic *io, uint8_t reg)
{
    switch (reg) {
    case 0: return io->id;
    case 1: return ((VIOAPIC_NR_PINS - 1u) << 16) | VIOAPIC_VERSION;
    case 2: return io->id; /* arbitration ID = APIC ID */
    }
    if (reg >= 0x10 && reg < 0x10 + 2 * VIOAPIC_NR_PINS) {
        uint64_t e = io->rte[(reg - 0x10) >> 1];
        return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0;
}

static void write_reg(struct vioapic *io, uint8_t reg, uint32_t v)
{
    if (reg == 0) {
        io->id = v & 0x0F000000u;
        return;
    }
    if (reg < 0x10 || reg >= 0x10 + 2 * VIOAPIC_NR_PINS)
        return; /* version, arbitration: read-only; the rest: nothing */
    unsigned int pin = (reg - 0x10) >> 1;
    uint64_t e = io->rte[pin];
    uint64_t nv = (reg & 1) ? ((uint64_t)v << 32) | (uint32_t)e : (e & ~0xFFFFFFFFULL) | v;
    e = (e & ~RTE_WRITABLE) | (nv & RTE_WRITABLE);
    if (!(e & VIOAPIC_RTE_LEVEL)) /* edge entries have no remote IRR */
        e &= ~VIOAPIC_RTE_REMOTE_IRR;
    io->rte[pin] = e;
    /* unmasking a level pin that is still asserted delivers it */
    check_level(io, pin);
}

uint32_t vioapic_read(struct vioapic *io, uint32_t offset, unsigned int size)
{
    if (size != 1 && size != 2 && size != 4)
        return ~0u;
    uint32_t v, in;
    if (offset < 4) {
        v = io->regsel;
        in = offset;
    } else if (offset >= VIOAPIC_WIN && offset < VIOAPIC_WIN + 4) {
        v = read_reg(io, io->regsel);
        in = offset - VIOAPIC_WIN;
    } else {
        return 0;
    }
    if (in + size > 4)
        return 0;
    v >>= in * 8;
    return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

void vioapic_write(struct vioapic *io, uint32_t offset, unsigned int size, uint32_t value)
{
    if (size != 1 && size != 2 && size != 4)
        return;
    if (offset == VIOAPIC_REGSEL) {
        io->regsel = (uint8_t)value;
        return;
    }
    if (offset < VIOAPIC_WIN || offset + size > VIOAPIC_WIN + 4)
        return;
    /* a byte or word of IOWIN: merge it into the selected register */
    uint32_t in = offset - VIOAPIC_WIN;
    uint32_t mask = size == 4 ? ~0u : ((1u << (size * 8)) - 1) << (in * 8);
    uint32_t old = read_reg(io, io->regsel);
    write_reg(io, io->regsel, (old & ~mask) | ((value << (in * 8)) & mask));
}
