/*
 * pci.h - PCI for dom0 built with the kit: configuration space (ports
 * 0xCF8/0xCFC under virtual IOPL, which the hypervisor emulates for the
 * privileged domain only), a scan of the buses, BARs, capabilities,
 * device MMIO mapped uncached into dom0 (guest-drivers/pci/pci.c), and
 * device interrupts as event channels through PHYSDEVOP_map_pirq +
 * EVTCHNOP_bind_pirq (guest-drivers/pci/pci_irq.c). Works on a real Xen's
 * PV dom0 too. Must never: write the MSI/MSI-X address/data itself (the
 * hypervisor owns the interrupt controllers and programs those).
 */
#ifndef XLGUEST_PCI_H
#define XLGUEST_PCI_H

#include <stddef.h>
#include <stdint.h>

#define PCI_MAX_DEVS 32

struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if;
    uint8_t irq_pin;          /* 1..4 = INTA..INTD, 0 none */
    uint8_t irq_line;         /* what the firmware wrote (legacy IRQ) */
};

/* Takes virtual IOPL 1 (once) and lists the functions found (bus 0 and
 * behind bridges); returns how many are in devs (at most max), or a
 * negative Xen errno when config space cannot be reached. */
int pci_scan(struct pci_dev *devs, unsigned int max);

uint32_t pci_read32(const struct pci_dev *d, unsigned int off);
uint16_t pci_read16(const struct pci_dev *d, unsigned int off);
uint8_t pci_read8(const struct pci_dev *d, unsigned int off);
void pci_write32(const struct pci_dev *d, unsigned int off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned int off, uint16_t v);
void pci_write8(const struct pci_dev *d, unsigned int off, uint8_t v);

/* Offset of the first capability with this id at or after `after`'s next
 * (after = 0: from the start of the list); 0 if none. */
unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned int after);

/* BAR n (0..5): its machine address (a 64-bit BAR takes n and n+1) and
 * size in *size; 0 for an I/O BAR, an absent one or a bad n. */
uint64_t pci_bar(const struct pci_dev *d, unsigned int n, uint64_t *size);
/* Enables memory decoding and bus mastering. */
void pci_enable(const struct pci_dev *d);

/* Maps machine range [maddr, maddr + len) uncached into dom0 and returns
 * its virtual address (page offsets kept); NULL if the window is full or
 * the hypervisor refused (said on the console). Mappings stay for good. */
void *pci_mmio_map(uint64_t maddr, size_t len);

/* Interrupts (pci_irq.c): MSI-X table entry `entry` (or, with
 * pci_irq_bind_msi, the MSI capability's single vector) of d routed to a
 * new event channel of dom0, returned in *port; the pirq in *pirq. The
 * hypervisor programs the entry and enables MSI-X. 0 or a negative Xen
 * errno (-ENOSYS: no physdev interrupts; callers may fall back to
 * polling). pci_irq_unbind undoes either. */
int pci_irq_bind_msix(const struct pci_dev *d, unsigned int entry, uint32_t *port, int *pirq);
int pci_irq_bind_msi(const struct pci_dev *d, uint32_t *port, int *pirq);
int pci_irq_unbind(const struct pci_dev *d, int pirq, uint32_t port);

#endif
