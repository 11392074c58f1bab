/*
 * vpic.c - the 8259A PIC pair of one HVM domain (master at 0x20/0x21,
 * slave at 0xA0/0xA1 cascaded on the master's IRQ 2, ELCR at
 * 0x4D0/0x4D1); see hvm_dev.h. ICW1-4, OCW1 (IMR), OCW2 (non-specific,
 * specific and rotating EOI, set priority, rotate in auto-EOI), OCW3
 * (IRR/ISR read, poll, special mask), edge and level inputs, the INTA
 * cycle with spurious IRQ 7/15.
 * Owns: both chips' state. Must never: call the rest of the hypervisor
 * except through its raise callback, index outside the two chips.
 * Not emulated: buffered mode, 8080 mode (ICW4 bit 0 is taken as 8086),
 * single mode beyond skipping ICW3, a slave on any input but IRQ 2.
 */
#include <xenolith/hvm_dev.h>
#include <xenolith/lib.h>

/* Priority 0 (highest) .. 7 of the highest-priority bit of mask, 8 if none. */
static unsigned int priority(const struct vpic_chip *c, uint8_t mask)
{
    if (!mask)
        return 8;
    unsigned int p = 0;
    while (!(mask & (1u << ((p + c->priority_add) & 7))))
        p++;
    return p;
}

/* The IRQ (0-7) this chip would request INTR for, or -1. */
static int chip_pending(const struct vpic_chip *c, int is_master)
{
    unsigned int p = priority(c, c->irr & (uint8_t)~c->imr);
    if (p == 8)
        return -1;
    uint8_t in_service = c->isr;
    if (c->special_mask)
        in_service &= (uint8_t)~c->imr;
    if (is_master && c->sfnm)
        in_service &= (uint8_t)~(1u << 2); /* the slave may nest */
    if (p < priority(c, in_service))
        return (int)((p + c->priority_add) & 7);
    return -1;
}

static void chip_set_irq(struct vpic_chip *c, unsigned int irq, int level)
{
    uint8_t bit = (uint8_t)(1u << irq);
    if (c->elcr & bit) {
        if (level) {
            c->irr |= bit;
            c->line |= bit;
        } else {
            c->irr &= (uint8_t)~bit;
            c->line &= (uint8_t)~bit;
        }
        return;
    }
    if (level) {
        if (!(c->line & bit))
            c->irr |= bit;
        c->line |= bit;
    } else {
        c->line &= (uint8_t)~bit;
    }
}

/* The slave's INTR drives the master's IRQ 2 as a level (as Xen: IRR 2
 * follows it, so the master never requests for a slave with nothing to
 * give); the master's INTR drives raise. */
static void update(struct vpic *pic)
{
    if (chip_pending(&pic->chip[1], 0) >= 0)
        pic->chip[0].irr |= 1u << 2;
    else
        pic->chip[0].irr &= (uint8_t)~(1u << 2);
    uint8_t intr = chip_pending(&pic->chip[0], 1) >= 0;
    if (intr != pic->intr) {
        pic->intr = intr;
        if (pic->raise)
            pic->raise(pic->ctx, 0, intr);
    }
}

/* ICW1: everything but the ELCR and the input lines is reset; a level
 * request whose line is still high stays in IRR (as Xen), edge requests
 * are dropped. */
static void chip_reset(struct vpic_chip *c)
{
    uint8_t elcr = c->elcr, line = c->line, irr = c->irr & c->elcr;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr;
    c->line = line;
    c->irr = irr;
}

void vpic_init(struct vpic *pic, hvm_raise_fn raise, void *ctx)
{
    memset(pic, 0, sizeof(*pic));
    pic->raise = raise;
    pic->ctx = ctx;
    for (int i = 0; i < 2; i++)
        pic->chip[i].imr = 0xFF; /* no firmware: masked until the guest unmasks */
    pic->chip[0].base = 0x08;  /* the PC BIOS's bases, until ICW2 */
    pic->chip[1].base = 0x70;
}

void vpic_set_irq(struct vpic *pic, unsigned int irq, int level)
{
    if (irq >= 16 || irq == 2)
        return;                /* IRQ 2 is the cascade; its devices use 9 */
    chip_set_irq(&pic->chip[irq >> 3], irq & 7, level);
    update(pic);
}

int vpic_pending_vector(const struct vpic *pic)
{
    int irq = chip_pending(&pic->chip[0], 1);
    if (irq < 0)
        return -1;
    if (irq != 2)
        return pic->chip[0].base + irq;
    int s = chip_pending(&pic->chip[1], 0);
    return s < 0 ? -1 : pic->chip[1].base + s;
}

/* Acknowledge irq on one chip: IRR -> ISR. */
static void chip_ack(struct vpic_chip *c, int irq)
{
    uint8_t bit = (uint8_t)(1u << irq);
    if (!(c->elcr & bit))
        c->irr &= (uint8_t)~bit; /* a level request stays while the line is high */
    if (c->auto_eoi) {
        if (c->rotate_auto_eoi)
            c->priority_add = (uint8_t)((irq + 1) & 7);
    } else {
        c->isr |= bit;
    }
}

int vpic_ack(struct vpic *pic)
{
    struct vpic_chip *m = &pic->chip[0], *s = &pic->chip[1];
    int irq = chip_pending(m, 1), vector;
    if (irq < 0) {
        vector = m->base + 7;  /* spurious: no ISR bit */
    } else if (irq != 2) {
        chip_ack(m, irq);
        vector = m->base + irq;
    } else {
        int sirq = chip_pending(s, 0);
        chip_ack(m, 2);
        if (sirq < 0) {
            vector = s->base + 7;
        } else {
            chip_ack(s, sirq);
            vector = s->base + sirq;
        }
    }
    update(pic);
    return vector;
}

static void write_cmd(struct vpic_chip *c, uint8_t v)
{
    if (v & 0x10) {            /* ICW1 */
        chip_reset(c);
        c->init_state = 1;
        c->icw4_needed = v & 1;
        c->single = (v >> 1) & 1;
        if (v & 0x08)
            c->elcr = 0xFF;    /* LTIM: every input level-triggered */
        return;
    }
    if (v & 0x08) {            /* OCW3 */
        if (v & 0x04)
            c->poll = 1;
        if (v & 0x02)
            c->read_isr = v & 1;
        if (v & 0x40)
            c->special_mask = (v >> 5) & 1;
        return;
    }
    /* OCW2 */
    unsigned int cmd = v >> 5;
    switch (cmd) {
    case 0: case 4:            /* rotate in auto-EOI mode: clear / set */
        c->rotate_auto_eoi = cmd >> 2;
        break;
    case 1: case 5: {          /* non-specific EOI, rotating */
        unsigned int p = priority(c, c->isr);
        if (p == 8)
            break;
        unsigned int irq = (p + c->priority_add) & 7;
        c->isr &= (uint8_t)~(1u << irq);
        if (cmd == 5)
            c->priority_add = (uint8_t)((irq + 1) & 7);
        break;
    }
    case 3: case 7: {          /* specific EOI, rotating */
        unsigned int irq = v & 7;
        c->isr &= (uint8_t)~(1u << irq);
        if (cmd == 7)
            c->priority_add = (uint8_t)((irq + 1) & 7);
        break;
    }
    case 6:                    /* set priority: irq lowest */
        c->priority_add = (uint8_t)((v + 1) & 7);
        break;
    default:                   /* 2: no operation */
        break;
    }
}

static void write_data(struct vpic_chip *c, uint8_t v)
{
    switch (c->init_state) {
    case 1:                    /* ICW2 */
        c->base = v & 0xF8;
        c->init_state = c->single ? (c->icw4_needed ? 3 : 0) : 2;
        break;
    case 2:                    /* ICW3: the cascade is fixed on IRQ 2 */
        c->init_state = c->icw4_needed ? 3 : 0;
        break;
    case 3:                    /* ICW4 */
        c->auto_eoi = (v >> 1) & 1;
        c->sfnm = (v >> 4) & 1;
        c->init_state = 0;
        break;
    default:                   /* OCW1 */
        c->imr = v;
    }
}

/* The poll command: the highest request as 0x80 | irq, acknowledged. */
static uint8_t poll(struct vpic *pic, unsigned int which)
{
    struct vpic_chip *c = &pic->chip[which];
    c->poll = 0;
    int irq = chip_pending(c, which == 0);
    if (irq < 0)
        return 0;
    chip_ack(c, irq);
    if (which == 0 && irq == 2) {
        int s = chip_pending(&pic->chip[1], 0);
        if (s >= 0)
            chip_ack(&pic->chip[1], s);
    }
    return (uint8_t)(0x80 | irq);
}

static uint8_t read_byte(struct vpic *pic, uint16_t port)
{
    switch (port) {
    case 0x20: case 0xA0: {
        unsigned int which = port == 0xA0;
        struct vpic_chip *c = &pic->chip[which];
        if (c->poll) {
            uint8_t r = poll(pic, which);
            update(pic);
            return r;
        }
        return c->read_isr ? c->isr : c->irr;
    }
    case 0x21: return pic->chip[0].imr;
    case 0xA1: return pic->chip[1].imr;
    case 0x4D0: return pic->chip[0].elcr;
    case 0x4D1: return pic->chip[1].elcr;
    }
    return 0xFF;
}

static void write_byte(struct vpic *pic, uint16_t port, uint8_t v)
{
    switch (port) {
    case 0x20: write_cmd(&pic->chip[0], v); break;
    case 0xA0: write_cmd(&pic->chip[1], v); break;
    case 0x21: write_data(&pic->chip[0], v); break;
    case 0xA1: write_data(&pic->chip[1], v); break;
    /* IRQ 0, 1, 2, 8 and 13 are edge-only on the PIIX */
    case 0x4D0: pic->chip[0].elcr = v & 0xF8; break;
    case 0x4D1: pic->chip[1].elcr = v & 0xDE; break;
    default: return;
    }
    update(pic);
}

uint32_t vpic_read(struct vpic *pic, uint16_t port, unsigned int size)
{
    if (size != 1 && size != 2 && size != 4)
        return ~0u;
    uint32_t v = 0;
    for (unsigned int i = 0; i < size; i++)
        v |= (uint32_t)read_byte(pic, (uint16_t)(port + i)) << (8 * i);
    return v;
}

void vpic_write(struct vpic *pic, uint16_t port, unsigned int size, uint32_t value)
{
    if (size != 1 && size != 2 && size != 4)
        return;
    for (unsigned int i = 0; i < size; i++)
        write_byte(pic, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
}
