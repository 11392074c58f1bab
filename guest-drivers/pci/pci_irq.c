/*
 * pci_irq.c - device interrupts for dom0 as event channels
 * (xlguest/pci.h), the way a Linux PV dom0 gets them from Xen
 * (xen_initdom_setup_msi_irqs): PHYSDEVOP_map_pirq with index -1 and
 * pirq -1, type MSI_SEG (MSI on hypervisors without it), table_base the
 * MSI-X table's BAR for MSI-X or 0 for MSI; then EVTCHNOP_bind_pirq.
 * Works on Xenolith and on a real Xen's PV dom0.
 * Must never: write the MSI address/data or an MSI-X table entry itself
 * (the hypervisor owns the interrupt controllers and programs them), or
 * leave a pirq mapped when its binding failed.
 */
#include <xen/errno.h>
#include <xlguest/evtchn.h>
#include <xlguest/hypercall.h>
#include <xlguest/pci.h>

#define PCI_CAP_ID_MSIX 0x11

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
    long rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
    if (rc == -XEN_EINVAL) {
        /* as Linux: a hypervisor that predates MSI_SEG says -EINVAL */
        m.type = MAP_PIRQ_TYPE_MSI, m.index = -1, m.pirq = -1;
        rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
    }
    if (rc)
        return (int)rc;
    evtchn_bind_pirq_t b = { .pirq = (uint32_t)m.pirq, .flags = 0 };
    rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_pirq, &b);
    if (rc) {
        unmap_pirq(m.pirq);
        return (int)rc;
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
    (void)d;
    evtchn_unbind(port); /* masked, no handler (a no-op if none was set) */
    long rc = evtchn_close(port);
    long rc2 = unmap_pirq(pirq);
    return (int)(rc ? rc : rc2);
}
