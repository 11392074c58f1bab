/*
 * pirq.h - physical interrupts of PCI devices, delivered to the owning
 * domain as event channels (Xen's PHYSDEVOP_map_pirq + EVTCHNOP_bind_pirq).
 * Owns: the pirq table (pirq.c: owner, vector, device, bound port), the
 * dynamic vector allocator, the MSI-X table frames the hv made read-only,
 * and the MSI/MSI-X capability logic over an abstract config-space
 * interface (msi.c). Must never: touch hardware except through
 * struct pci_hw_ops, or trust a device location, table address or entry
 * number a guest passed without reading the device itself.
 * docs/interrupts.md describes the design.
 */
#ifndef XENOLITH_PIRQ_H
#define XENOLITH_PIRQ_H

#include <stdint.h>

struct domain;

/* pirq numbers are [0, PIRQ_NR); MSI pirqs are allocated from
 * PIRQ_FIRST_MSI up (below: GSIs, pirq == GSI as on Xen; not mapped yet). */
#define PIRQ_NR        128
#define PIRQ_FIRST_MSI 32
/* Dynamic vectors for device interrupts. Fixed vectors of the hv sit at
 * 0xf0 and above (arch.h); exceptions below 0x20; 0x20-0x3f stay free
 * (legacy PIC range, never unmasked). Every IDT gate here is DPL 0, so a
 * guest's `int $n` is a #GP, never a fake device interrupt. */
#define IRQ_VEC_FIRST 0x40
#define IRQ_VEC_LAST  0xdf

/* A PCI function (segment 0 only: ports 0xCF8/0xCFC reach no other). */
struct pci_sbdf {
    uint16_t seg;
    uint8_t bus, devfn;
};

/* The hardware behind the pure code: config space of one function, and
 * an uncached hv mapping of a device MMIO frame (NULL if it cannot be
 * mapped). The arch implements it (pci_hw.c); tests fake it. */
struct pci_hw_ops {
    uint32_t (*cfg_read)(const struct pci_sbdf *f, unsigned int off, unsigned int size);
    void (*cfg_write)(const struct pci_sbdf *f, unsigned int off, unsigned int size, uint32_t val);
    volatile uint32_t *(*map_mmio)(uint64_t mfn);
    uint32_t (*cpu0_apic_id)(void);
    /* The I/O APIC's pins (GSIs 0 .. n-1; 0: none), one pin's entry
     * (fixed delivery to apic_id, level-triggered active low or
     * edge-triggered active high; left masked), and its mask bit. */
    unsigned int (*gsi_count)(void);
    void (*gsi_program)(unsigned int gsi, uint8_t vector, int level, uint32_t apic_id);
    void (*gsi_mask)(unsigned int gsi, int masked);
};

/* ---- msi.c: PCI capabilities and MSI / MSI-X programming ---- */
#define PCI_CAP_ID_MSI  0x05
#define PCI_CAP_ID_MSIX 0x11

/* Offset of capability id in f's list, 0 if absent (no list, a loop, an
 * offset below 0x40 or a read of all ones end the walk). */
unsigned int msi_find_cap(const struct pci_hw_ops *hw, const struct pci_sbdf *f, uint8_t id);
/* The message of a fixed, edge-triggered interrupt on vector for the CPU
 * with this APIC id (physical destination mode; Intel SDM vol. 3 10.11). */
void msi_compose(uint32_t apic_id, uint8_t vector, uint64_t *addr, uint32_t *data);

/* Where an MSI-X table entry is, read from the device (never from the
 * guest): entry machine address, and the frames of table and PBA. */
struct msix_loc {
    uint64_t entry_maddr;
    uint64_t table_first_mfn, table_last_mfn;
    uint64_t pba_first_mfn, pba_last_mfn;
    unsigned int nr_entries;
};
/* 0, or -EINVAL (entry beyond the table, BIR > 5, an I/O or unassigned
 * BAR, a 64-bit BAR at BIR 5). */
int msix_locate(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                unsigned int entry_nr, struct msix_loc *loc);
/* Program one MSI-X entry (mask, address, data, unmask) and turn MSI-X
 * on with the function mask clear. 0 or -ENXIO (table not mappable). */
int msix_program(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                 uint64_t entry_maddr, uint64_t addr, uint32_t data);
/* Mask each of the table's n entries (before the hv first turns MSI-X
 * on for a function, so no entry dom0 may have written can fire). 0 or
 * -ENXIO. */
int msix_mask_all(const struct pci_hw_ops *hw, uint64_t table_maddr, unsigned int n);
/* Mask one entry; with last set, MSI-X goes off too. */
void msix_release(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                  uint64_t entry_maddr, int last);
/* MSI capability: one vector, address/data written, per-vector mask (if
 * any) clear, enabled. msi_release masks and disables it. */
void msi_program(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                 uint64_t addr, uint32_t data);
void msi_release(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap);

/* ---- pirq.c: the table, vectors, map/unmap/bind ---- */
enum pirq_kind { PIRQ_FREE = 0, PIRQ_MSI, PIRQ_MSIX, PIRQ_GSI };

struct pirq {
    uint8_t kind;          /* enum pirq_kind */
    uint8_t vector;
    uint16_t owner;        /* domid */
    uint32_t port;         /* owner's event channel bound to it, 0 none */
    struct pci_sbdf dev;
    uint16_t cap;          /* MSI or MSI-X capability offset */
    uint16_t entry_nr;     /* MSI-X */
    struct msix_loc msix;  /* MSI-X: where the entry, table and PBA are */
    uint64_t delivered;    /* interrupts turned into events */
    uint8_t level;         /* GSI: level-triggered (masked from interrupt to EOI) */
    uint8_t in_service;    /* GSI level: masked by the hv, waiting for PHYSDEVOP_eoi */
};

/* The hardware ops in force (the arch sets them at boot; NULL: no
 * device can be mapped, -ENODEV). */
extern const struct pci_hw_ops *pirq_hw;

/* A map request as PHYSDEVOP_map_pirq gives it (type already folded
 * into msix: table_base != 0 means an MSI-X entry, as on Xen). */
struct pirq_map_req {
    int index, pirq;
    struct pci_sbdf dev;
    int msix;
    unsigned int entry_nr;
};
/* Xen's physdev_map_pirq for MSI/MSI-X, for target domain t by caller
 * domain c: -EPERM unless c is privileged and t == c; -EINVAL for an
 * index other than -1, a bad pirq or entry; -ENODEV no such device or
 * capability; -EEXIST that pirq or device entry is mapped already;
 * -ENOSPC no pirq or vector left; else 0 with the pirq in *pirq.
 * Programs the device. Big lock held. */
long pirq_map(const struct domain *c, const struct domain *t, const struct pirq_map_req *r,
              int *pirq);
/* Xen's allocate_and_map_gsi_pirq for dom0: GSI gsi (an I/O APIC pin)
 * as pirq gsi (pirq -1 or gsi; -EINVAL otherwise, or gsi beyond the
 * pins or the GSI pirq range); -EPERM as pirq_map or for a pin the hv
 * uses itself (0, 2, 4: PIT, cascade, COM1); mapping it again for the
 * same domain is 0 (Linux maps a shared GSI once per device). GSIs
 * below 16 are edge/active high, 16 and up level/active low (PCI); the
 * pin stays masked until a port is bound. */
long pirq_map_gsi(const struct domain *c, const struct domain *t, int gsi, int pirq_in,
                  int *pirq);
/* PHYSDEVOP_eoi: a level GSI pirq of d masked since its interrupt is
 * unmasked again (if still bound); anything else: nothing to do. */
void pirq_eoi(const struct domain *d, int pirq);
/* XENIRQSTAT_needs_eoi for d's pirq: a level GSI. */
int pirq_needs_eoi(const struct domain *d, int pirq);
/* Xen's physdev_unmap_pirq: -EPERM as above or another domain's pirq,
 * -EINVAL not mapped. Masks the entry (or the MSI cap), frees vector and
 * pirq; a bound port stays bound to nothing. */
long pirq_unmap(const struct domain *c, const struct domain *t, int pirq);
/* EVTCHNOP_bind_pirq's checks for domain d: -EINVAL beyond the table,
 * -EPERM not mapped for d (Xen's pirq_access_permitted), -EEXIST bound
 * already; then pirq_set_port. */
int pirq_bind_check(const struct domain *d, unsigned int pirq);
void pirq_set_port(unsigned int pirq, uint32_t port);
/* The port of d's pirq closes: unbound if it is still that binding. */
void pirq_unbind_port(const struct domain *d, unsigned int pirq, uint32_t port);
/* Is pirq mapped for d (PHYSDEVOP_irq_status_query, eoi)? */
int pirq_owned_by(const struct domain *d, int pirq);
/* A free MSI pirq for d (PHYSDEVOP_get_free_pirq), or -ENOSPC. */
int pirq_find_free(void);
/* An interrupt came in on vector: 1 and (owner, port) to raise, or 0
 * (no pirq on that vector, or none bound: counted as dropped). */
int pirq_take_interrupt(unsigned int vector, uint16_t *owner, uint32_t *port);
uint64_t pirq_dropped(void);
/* May dom0 map machine frame mfn writable? No (0) while it holds an
 * MSI-X table or PBA the hv programmed (Xen's mmio_ro_ranges). */
int pirq_mmio_writable(uint64_t mfn);
/* d is being destroyed: every pirq it owns is unmapped. */
void pirq_domain_destroy(const struct domain *d);
/* ---- the x86 side ---- */
/* pci_hw.c: put the real config space and MMIO mappings behind pirq_hw. */
void pci_hw_init(void);
/* physdev.c: a device interrupt on vector (big lock held, before the
 * LAPIC EOI): an event for the bound port, or counted and dropped. */
void physdev_interrupt(unsigned int vector);

/* Forget everything (host tests). */
void pirq_reset(void);
const struct pirq *pirq_get(unsigned int pirq);

#endif
