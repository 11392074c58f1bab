/*
 * hvm_dev.h - the platform devices an HVM guest sees, emulated in the
 * hypervisor as pure C models (hv/arch/x86/hvm/v*.c, host-tested):
 * the local APIC, the I/O APIC, the 8254 PIT, the 8259 PIC pair and the
 * MC146818 RTC/CMOS.
 *
 * Conventions, the same for every model:
 *  - A device is a struct the caller embeds (one per domain, the local
 *    APIC one per vCPU); no globals. *_init() resets it to the state the
 *    hardware has after reset and copies the caller's callbacks.
 *  - Accesses: MMIO devices take the offset from their base (local APIC:
 *    0xFEE00000, I/O APIC: 0xFEC00000); port devices take the port
 *    number itself (the PIT and the PIC pair span ports that are not
 *    contiguous: 0x40-0x43 + 0x61, 0x20/0x21 + 0xA0/0xA1). size is 1, 2
 *    or 4; a multi-byte port access is split into byte accesses of
 *    consecutive ports, as the bus does; a byte of a port the device does
 *    not own reads 0xFF. Any other size reads ~0 / is ignored.
 *  - Guest input never crashes a model: unknown registers read as 0,
 *    writes to read-only or unknown registers are ignored.
 *  - Time: the models never read a clock. Models with time behaviour (the
 *    local APIC, the PIT, the RTC) take now_ns (monotonic, the caller's)
 *    in every call that needs it and give
 *    the next absolute deadline (*_next_deadline(), HVM_DEV_NO_DEADLINE if
 *    none); the caller arms a timer for it and calls *_advance(now) then.
 *    Calling *_advance early, late or often is harmless: periods missed
 *    are coalesced into one interrupt.
 *  - Interrupts leave through callbacks in the struct; a NULL callback is
 *    allowed (the event is dropped). A callback may call into the other
 *    models; the one re-entry allowed is the local APIC's eoi_level
 *    leading back (through vioapic_eoi) to vlapic_set_irq on the same
 *    APIC: the EOI is complete when it is called. Otherwise a callback
 *    must not re-enter the model that called it.
 *  - Not thread-safe: the caller serialises accesses to one device.
 * Owns: nothing but the interface. The models must never: call into the
 * rest of the hypervisor, read a clock, use inline assembly.
 */
#ifndef XENOLITH_HVM_DEV_H
#define XENOLITH_HVM_DEV_H

#include <stdint.h>

#define HVM_DEV_NO_DEADLINE UINT64_MAX

/* An interrupt line or vector changes level (edge sources pulse 1 then 0). */
typedef void (*hvm_raise_fn)(void *ctx, unsigned int line, int level);

/* ================= Local APIC (xAPIC MMIO page) ================= */

#define VLAPIC_BASE        0xFEE00000ULL
#define VLAPIC_SIZE        0x1000
#define VLAPIC_VERSION     0x00050014u /* version 0x14, max LVT entry 5 */
/* The timer counts bus clocks of 1 ns (a 1 GHz bus, as Xen's), divided by
 * the divide configuration register. */
#define VLAPIC_BUS_NS      1

/* Register offsets (SDM vol. 3 table 11-1). */
#define VLAPIC_ID      0x020
#define VLAPIC_LVR     0x030
#define VLAPIC_TPR     0x080
#define VLAPIC_APR     0x090
#define VLAPIC_PPR     0x0A0
#define VLAPIC_EOI     0x0B0
#define VLAPIC_RRD     0x0C0
#define VLAPIC_LDR     0x0D0
#define VLAPIC_DFR     0x0E0
#define VLAPIC_SVR     0x0F0
#define VLAPIC_ISR     0x100
#define VLAPIC_TMR     0x180
#define VLAPIC_IRR     0x200
#define VLAPIC_ESR     0x280
#define VLAPIC_ICR_LO  0x300
#define VLAPIC_ICR_HI  0x310
#define VLAPIC_LVT_TIMER 0x320
#define VLAPIC_LVT_THERMAL 0x330
#define VLAPIC_LVT_PERF  0x340
#define VLAPIC_LVT_LINT0 0x350
#define VLAPIC_LVT_LINT1 0x360
#define VLAPIC_LVT_ERROR 0x370
#define VLAPIC_TMICT   0x380
#define VLAPIC_TMCCT   0x390
#define VLAPIC_TDCR    0x3E0

#define VLAPIC_NR_LVT  6 /* timer, thermal, perf, LINT0, LINT1, error */
#define VLAPIC_LVT_MASKED   (1u << 16)
#define VLAPIC_LVT_PERIODIC (1u << 17)
#define VLAPIC_SVR_ENABLE   (1u << 8)

/* ESR bits the model sets. */
#define VLAPIC_ESR_SEND_ILLEGAL 0x20
#define VLAPIC_ESR_RECV_ILLEGAL 0x40
#define VLAPIC_ESR_ILLEGAL_REG  0x80

struct vlapic_cb {
    void *ctx;
    /* A vector entered IRR (line = vector, level 1): kick the vCPU. */
    hvm_raise_fn raise;
    /* EOI of a level-triggered vector (TMR set): tell the I/O APIC. */
    void (*eoi_level)(void *ctx, uint8_t vector);
    /* An IPI this APIC cannot deliver alone: any ICR write whose
     * destination is not only this APIC, or whose delivery mode is not
     * fixed. For fixed (and lowest-priority) IPIs that include this APIC
     * the model has already set its own IRR: the caller delivers to the
     * others only. Non-fixed modes (NMI, INIT, SIPI, ...) are all the
     * caller's, this APIC included. icr_lo bit 12 (delivery status) is 0. */
    void (*ipi)(void *ctx, uint32_t icr_lo, uint32_t icr_hi);
};

struct vlapic {
    struct vlapic_cb cb;
    uint32_t id;            /* APIC ID register (ID in bits 31:24; guest-writable) */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t esr;           /* what the guest reads */
    uint32_t esr_pending;   /* errors since the last ESR write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[VLAPIC_NR_LVT];
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t tmict, tdcr;
    uint64_t timer_start_ns; /* when the current count was last ICR */
    uint8_t timer_running;
};

void vlapic_init(struct vlapic *lapic, uint8_t apic_id, const struct vlapic_cb *cb);
/* The xAPIC page: offset 0..0xFFF. A read or write of 1, 2 or 4 bytes
 * inside a register's first 4 bytes works (a short write is merged into
 * the register, as Xen); bytes 4-15 of a register's slot and accesses
 * straddling them read 0 and write nothing. */
uint32_t vlapic_read(struct vlapic *lapic, uint32_t offset, unsigned int size, uint64_t now_ns);
void vlapic_write(struct vlapic *lapic, uint32_t offset, unsigned int size, uint32_t value,
                  uint64_t now_ns);
/* Accept a fixed interrupt (from the I/O APIC, an MSI, an IPI): IRR, and
 * TMR if level-triggered. 1 if accepted; 0 if the APIC is software
 * disabled; 0 and ESR "receive illegal vector" for vectors 0-15. */
int vlapic_set_irq(struct vlapic *lapic, uint8_t vector, int level_trigger);
/* The vector to inject: the highest in IRR whose priority class is above
 * PPR's; -1 if none or the APIC is software-disabled. */
int vlapic_pending_vector(const struct vlapic *lapic);
/* The CPU took vector (from vlapic_pending_vector): IRR -> ISR. */
void vlapic_ack(struct vlapic *lapic, uint8_t vector);
/* PPR as the SDM computes it from TPR and the highest ISR vector. */
uint32_t vlapic_ppr(const struct vlapic *lapic);
/* Would this APIC accept destination dest (8 bits) in physical (logical
 * = 0) or logical mode (flat or cluster model per DFR)? 0xFF is a
 * broadcast in both. */
int vlapic_match_dest(const struct vlapic *lapic, uint8_t dest, int logical);
/* Does LINT0 take the 8259's INTR (ExtINT, unmasked)? A software-
 * disabled APIC has LINT0 masked: no (as Xen's vlapic_accept_pic_intr). */
int vlapic_accepts_pic(const struct vlapic *lapic);
/* Fire the timer if it expired by now_ns. */
void vlapic_advance(struct vlapic *lapic, uint64_t now_ns);
/* The absolute time the timer next fires, or HVM_DEV_NO_DEADLINE. */
uint64_t vlapic_next_deadline(const struct vlapic *lapic);

/* ================= I/O APIC ================= */

#define VIOAPIC_BASE     0xFEC00000ULL
#define VIOAPIC_SIZE     0x1000
#define VIOAPIC_NR_PINS  24
#define VIOAPIC_VERSION  0x11 /* 82093AA-like: no EOI register */
#define VIOAPIC_REGSEL   0x00 /* offsets */
#define VIOAPIC_WIN      0x10

/* Redirection entry fields. */
#define VIOAPIC_RTE_MASKED     (1ULL << 16)
#define VIOAPIC_RTE_LEVEL      (1ULL << 15)
#define VIOAPIC_RTE_REMOTE_IRR (1ULL << 14)
#define VIOAPIC_RTE_DESTLOG    (1ULL << 11)

/* What a pin delivers: the caller routes it to local APICs. */
struct vioapic_irq {
    unsigned int pin;
    uint8_t vector;
    uint8_t delivery_mode;  /* 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT */
    uint8_t dest;           /* bits 63:56 of the entry */
    uint8_t dest_logical;
    uint8_t level_trigger;
};

struct vioapic_cb {
    void *ctx;
    void (*deliver)(void *ctx, const struct vioapic_irq *irq);
};

struct vioapic {
    struct vioapic_cb cb;
    uint32_t id;        /* ID register (bits 27:24) */
    uint8_t regsel;
    uint64_t rte[VIOAPIC_NR_PINS];
    uint32_t pin_level; /* bitmap: the pins' current (asserted) levels */
};

void vioapic_init(struct vioapic *io, uint8_t id, const struct vioapic_cb *cb);
/* offset 0..0xFFF from the base: IOREGSEL at 0, IOWIN at 0x10. */
uint32_t vioapic_read(struct vioapic *io, uint32_t offset, unsigned int size);
void vioapic_write(struct vioapic *io, uint32_t offset, unsigned int size, uint32_t value);
/* A pin's line is asserted (level 1) or not. The polarity bit is stored,
 * not applied (as Xen): level is the logical state. Edge entries deliver
 * on 0 -> 1; level entries deliver while asserted and remote IRR clear. */
void vioapic_set_irq(struct vioapic *io, unsigned int pin, int level);
/* A local APIC EOI'd a level-triggered vector: clear remote IRR of the
 * level pins with that vector, redeliver those still asserted. */
void vioapic_eoi(struct vioapic *io, uint8_t vector);

/* ================= 8254 PIT + port 0x61 ================= */

#define VPIT_HZ 1193182ULL
#define VPIT_PORT_CH0  0x40
#define VPIT_PORT_MODE 0x43
#define VPIT_PORT_61   0x61

struct vpit_channel {
    uint32_t count;        /* reload value, 1..65536 (0 written = 65536) */
    uint64_t load_tick;    /* absolute PIT tick counting began */
    uint64_t paused_d;     /* gate low in mode 0/4: ticks counted so far */
    uint64_t next_edge;    /* channel 0: tick of the next IRQ, or ~0 */
    uint16_t latched;      /* counter latch value */
    uint8_t mode;          /* 0..5 */
    uint8_t rw;            /* 1 LSB, 2 MSB, 3 LSB then MSB */
    uint8_t bcd;           /* stored, counting is binary */
    uint8_t gate;
    uint8_t loaded;        /* a count was written: counting */
    uint8_t null_count;    /* written but not yet loaded (status bit 6) */
    uint8_t latch_state;   /* 0 none, 1 LSB pending, 2 MSB pending, 3 both */
    uint8_t read_msb;      /* lohi read flip-flop: next read is the MSB */
    uint8_t write_msb;     /* lohi write flip-flop */
    uint8_t write_lsb;     /* LSB written, waiting for MSB */
    uint8_t status_latched;
    uint8_t status;
};

struct vpit {
    hvm_raise_fn raise;    /* ISA IRQ 0 (channel 0), pulsed 1 then 0 */
    void *ctx;
    struct vpit_channel ch[3];
    uint8_t port61;        /* bits 0 (gate 2) and 1 (speaker enable) */
};

void vpit_init(struct vpit *pit, hvm_raise_fn raise, void *ctx);
/* Ports 0x40-0x43 and 0x61. */
uint32_t vpit_read(struct vpit *pit, uint16_t port, unsigned int size, uint64_t now_ns);
void vpit_write(struct vpit *pit, uint16_t port, unsigned int size, uint32_t value, uint64_t now_ns);
/* Raise IRQ 0 for channel 0 edges due by now_ns. */
void vpit_advance(struct vpit *pit, uint64_t now_ns);
uint64_t vpit_next_deadline(const struct vpit *pit);

/* ================= 8259A PIC pair ================= */

struct vpic_chip {
    uint8_t irr, isr, imr;
    uint8_t line;          /* input levels, for edge detection */
    uint8_t elcr;          /* level-triggered inputs (LTIM or ELCR) */
    uint8_t base;          /* ICW2 vector base (& 0xF8) */
    uint8_t priority_add;  /* the lowest-priority IRQ + 1 (rotation) */
    uint8_t init_state;    /* 0 ready, 1 ICW2, 2 ICW3, 3 ICW4 expected */
    uint8_t icw4_needed, single;
    uint8_t read_isr, poll, special_mask, auto_eoi, rotate_auto_eoi, sfnm;
};

struct vpic {
    hvm_raise_fn raise;    /* the master's INTR output: line 0, level */
    void *ctx;
    struct vpic_chip chip[2]; /* 0 master (0x20), 1 slave (0xA0) */
    uint8_t intr;          /* last INTR level signalled */
};

void vpic_init(struct vpic *pic, hvm_raise_fn raise, void *ctx);
/* Ports 0x20, 0x21, 0xA0, 0xA1, and the ELCR at 0x4D0, 0x4D1. */
uint32_t vpic_read(struct vpic *pic, uint16_t port, unsigned int size);
void vpic_write(struct vpic *pic, uint16_t port, unsigned int size, uint32_t value);
/* ISA IRQ 0..15 line level (edge inputs latch IRR on 0 -> 1). */
void vpic_set_irq(struct vpic *pic, unsigned int irq, int level);
/* The vector INTA would return now, or -1 when INTR is low. */
int vpic_pending_vector(const struct vpic *pic);
/* The INTA cycle: the vector (a spurious IRQ 7/15 vector if the request
 * went away), IRR -> ISR (unless auto-EOI). */
int vpic_ack(struct vpic *pic);

/* ================= MC146818 RTC / CMOS ================= */

#define VRTC_PORT_INDEX 0x70
#define VRTC_PORT_DATA  0x71

/* Register B bits. */
#define VRTC_B_SET   0x80
#define VRTC_B_PIE   0x40
#define VRTC_B_AIE   0x20
#define VRTC_B_UIE   0x10
#define VRTC_B_DM    0x04 /* binary (else BCD) */
#define VRTC_B_24H   0x02
#define VRTC_A_UIP   0x80
/* Register C bits (read clears them). */
#define VRTC_C_IRQF  0x80
#define VRTC_C_PF    0x40
#define VRTC_C_AF    0x20
#define VRTC_C_UF    0x10
#define VRTC_IRQ     8

struct vrtc {
    hvm_raise_fn raise;    /* ISA IRQ 8: 1 when IRQF sets, 0 when C is read */
    void *ctx;
    uint8_t cmos[128];     /* RAM; the time registers hold the guest's
                            * values only while register B's SET is on */
    uint8_t index;
    int64_t epoch;         /* UTC seconds since 1970 at base_ns */
    uint64_t base_ns;      /* the second boundaries and the divider's phase */
    uint64_t last_ns;      /* flags in register C account for time up to here */
};

/* epoch_s: the UTC time (seconds since 1970-01-01) at now_ns. Register A
 * 0x26 (32.768 kHz, 1024 Hz), B 0x02 (24 h, BCD), D 0x80 (valid). */
void vrtc_init(struct vrtc *rtc, int64_t epoch_s, uint64_t now_ns, hvm_raise_fn raise, void *ctx);
/* Ports 0x70 (index; bit 7, the NMI mask, ignored; reads 0xFF), 0x71. */
uint32_t vrtc_read(struct vrtc *rtc, uint16_t port, unsigned int size, uint64_t now_ns);
void vrtc_write(struct vrtc *rtc, uint16_t port, unsigned int size, uint32_t value, uint64_t now_ns);
/* The RTC's time now (seconds since 1970), as the guest last set it. */
int64_t vrtc_time(const struct vrtc *rtc, uint64_t now_ns);
/* Set register C's flags for the periodic, alarm and update events due
 * by now_ns; raise IRQ 8 if an enabled one sets IRQF. */
void vrtc_advance(struct vrtc *rtc, uint64_t now_ns);
/* When an enabled event would next raise IRQ 8 (none while IRQF is
 * already set: the line stays up until the guest reads register C). */
uint64_t vrtc_next_deadline(const struct vrtc *rtc);

#endif
