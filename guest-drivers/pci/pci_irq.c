/*
 * pci_irq.c - device interrupts for dom0 as event channels
 * (xlguest/pci.h), the way a Linux PV dom0 gets them from Xen
 * (xen_initdom_setup_msi_irqs): PHYSDEVOP_map_pirq with index -1 and
 * pirq -1, type MSI_SEG (MSI on hypervisors without it), table_base the
 * MSI-X table's BAR for MSI-X or 0 for MSI; then EVTCHNOP_bind_pirq.
 * The function is reported first (PHYSDEVOP_pci_device_add), as Linux
 * does, since a real Xen needs it.
 * Works on Xenolith and on a real Xen's PV dom0.
 * Must never: write the MSI address/data or an MSI-X table entry itself
 * (the hypervisor owns the interrupt controllers and programs them), or
 * leave a pirq mapped when its binding failed.
 */
#include <xen/errno.h>
#include <xlguest/evtchn.h>
#include <xlguest/hypercall.h>
#include <xlguest/pci.h>

#define PCI_CAP_ID_MSI  0x05
#define PCI_CAP_ID_MSIX 0x11
#define PCI_COMMAND_INTX_DISABLE 0x400

/* A 16-bit config write as one 16-bit data cycle: a real Xen refuses
 * dom0 writes that touch the MSI-X (or maskable MSI) control register in
 * any other size (pci_msi_conf_write_intercept: -EACCES, dropped), and
 * pci_write16 writes the whole dword. */
static void cfg_write16(const struct pci_dev *d, unsigned int off, uint16_t v)
{
    uint32_t a = 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)(d->dev & 31) << 11 |
                 (uint32_t)(d->fn & 7) << 8 | (off & 0xfc);
    __asm__ volatile("outl %0, %1" : : "a"(a), "Nd"((uint16_t)0xcf8));
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"((uint16_t)(0xcfc + (off & 2))));
}

/* What Linux's PCI core does around the hypervisor's setup
 * (msi_capability_init / msix_capability_init under Xen): the enable bit
 * on, MSI-X's function mask off, INTx off. Xenolith has done all of it
 * at map_pirq already (rewriting it changes nothing); a real Xen leaves
 * the enable bits to dom0. Never the address or data. */
static void enable_msi(const struct pci_dev *d, int msix)
{
    unsigned int cap = pci_find_cap(d, msix ? PCI_CAP_ID_MSIX : PCI_CAP_ID_MSI, 0);
    if (!cap)
        return;
    uint16_t ctrl = pci_read16(d, cap + 2);
    uint16_t want = msix ? (uint16_t)((ctrl | 0x8000) & ~0x4000) : (uint16_t)(ctrl | 1);
    if (want != ctrl)
        cfg_write16(d, cap + 2, want);
    pci_write16(d, 0x04, pci_read16(d, 0x04) | PCI_COMMAND_INTX_DISABLE);
}

/* Linux's pci_msi_shutdown: MSI off, INTx back on (Xenolith has turned
 * MSI off at unmap already). MSI-X stays as the hypervisor left it. */
static void disable_msi(const struct pci_dev *d)
{
    unsigned int cap = pci_find_cap(d, PCI_CAP_ID_MSI, 0);
    if (!cap || !(pci_read16(d, cap + 2) & 1))
        return;
    cfg_write16(d, cap + 2, pci_read16(d, cap + 2) & (uint16_t)~1u);
    pci_write16(d, 0x04, pci_read16(d, 0x04) & (uint16_t)~PCI_COMMAND_INTX_DISABLE);
}

/* Tell the hypervisor about the function first, as Linux's
 * xen_add_device does: a real Xen finds MSI capabilities only of
 * devices dom0 reported (-ENODEV otherwise). Xenolith reads the device
 * itself and answers -ENOSYS; -EEXIST (reported before) is fine too.
 * The answer is not the caller's business: map_pirq says what counts. */
static void report_device(const struct pci_dev *d)
{
    struct physdev_pci_device_add add = {
        .seg = 0, .bus = d->bus, .devfn = (uint8_t)(d->dev << 3 | d->fn),
    };
    if (HYPERVISOR_physdev_op(PHYSDEVOP_pci_device_add, &add) == -XEN_ENOSYS) {
        struct physdev_manage_pci m = { .bus = d->bus, .devfn = add.devfn };
        HYPERVISOR_physdev_op(PHYSDEVOP_manage_pci_add, &m);
    }
}

static long unmap_pirq(int pirq)
{
    struct physdev_unmap_pirq u = { .domid = DOMID_SELF, .pirq = pirq };
    return HYPERVISOR_physdev_op(PHYSDEVOP_unmap_pirq, &u);
}

/* map_pirq then bind_pirq; 0 with *port and *pirq, or the errno of the
 * step that failed (a mapped pirq is unmapped again). */
static int map_and_bind(const struct pci_dev *d, unsigned int entry, uint64_t table_base,
                        uint32_t *port, int *pirq)
{
    struct physdev_map_pirq m = {
        .domid = DOMID_SELF, .type = MAP_PIRQ_TYPE_MSI_SEG, .index = -1, .pirq = -1,
        .bus = d->bus, /* segment 0 in the top half */
        .devfn = (int)((unsigned int)d->dev << 3 | d->fn),
        .entry_nr = (int)entry, .table_base = table_base,
    };
    report_device(d);
    long rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
    if (rc == -XEN_EINVAL) {
        /* as Linux: a hypervisor that predates MSI_SEG says -EINVAL */
        m.type = MAP_PIRQ_TYPE_MSI, m.index = -1, m.pirq = -1;
        rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
    }
    if (rc)
        return (int)rc;
    enable_msi(d, table_base != 0);
    evtchn_bind_pirq_t b = { .pirq = (uint32_t)m.pirq, .flags = 0 };
    rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_pirq, &b);
    if (rc) {
        if (!table_base)
            disable_msi(d);
        unmap_pirq(m.pirq);
        return (int)rc;
    }
    /* Linux's startup_pirq: an EOI right after the bind when the
     * hypervisor wants them (a real Xen, for an MSI without per-vector
     * masking, holds the pirq until then); Xenolith's MSI never does. */
    struct physdev_irq_status_query q = { .irq = (uint32_t)m.pirq };
    if (!HYPERVISOR_physdev_op(PHYSDEVOP_irq_status_query, &q) &&
        (q.flags & XENIRQSTAT_needs_eoi)) {
        struct physdev_eoi e = { .irq = (uint32_t)m.pirq };
        HYPERVISOR_physdev_op(PHYSDEVOP_eoi, &e);
    }
    *port = b.port;
    *pirq = m.pirq;
    return 0;
}

int pci_irq_bind_msix(const struct pci_dev *d, unsigned int entry, uint32_t *port, int *pirq)
{
    unsigned int cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
    if (!cap)
        return -XEN_ENODEV;
    /* table_base as Linux passes it: the start of the table's BAR (the
     * hypervisor reads the real place from the capability itself) */
    uint64_t bar = pci_bar(d, pci_read32(d, cap + 4) & 7, NULL);
    if (!bar)
        return -XEN_ENODEV;
    return map_and_bind(d, entry, bar, port, pirq);
}

int pci_irq_bind_msi(const struct pci_dev *d, uint32_t *port, int *pirq)
{
    return map_and_bind(d, 0, 0, port, pirq);
}

int pci_irq_unbind(const struct pci_dev *d, int pirq, uint32_t port)
{
    evtchn_unbind(port); /* masked, no handler (a no-op if none was set) */
    long rc = evtchn_close(port);
    disable_msi(d);
    long rc2 = unmap_pirq(pirq);
    return (int)(rc ? rc : rc2);
}
