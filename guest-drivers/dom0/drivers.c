/*
 * drivers.c - dom0's device drivers at start and in the service loop:
 * scans PCI once, hands each function to the driver that knows it (the
 * virtio-blk devices become vda, vdb, ... in PCI order) and logs one line
 * per device; every loop pass reaps completions.
 * Runs in dom0's service mode only. Must never: keep the loop spinning
 * when no polled device has requests in flight.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/blkdev.h>
#include <xlguest/dom0_drivers.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pci.h>
#include <xlguest/virtio_blk.h>
#include <xlguest/virtio_pci.h>

static struct pci_dev pci_devs[PCI_MAX_DEVS];

void dom0_drivers_init(void)
{
    int n = pci_scan(pci_devs, PCI_MAX_DEVS);
    if (n < 0) {
        printk("dom0: no PCI configuration space (%d): no device drivers\n", n);
        return;
    }
    unsigned int nblk = 0;
    for (int i = 0; i < n; i++) {
        const struct pci_dev *p = &pci_devs[i];
        if (p->vendor != VIRTIO_PCI_VENDOR ||
            p->device != VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_BLOCK)
            continue;
        int rc = virtio_blk_probe(p);
        if (rc) {
            printk("dom0: virtio-blk 0000:%02x:%02x.%u: not used: %d\n", p->bus, p->dev, p->fn,
                   rc);
            continue;
        }
        char line[160];
        virtio_blk_describe(nblk++, line, sizeof(line));
        printk("dom0: %s\n", line);
    }
    printk("dom0: PCI: %d functions, %u virtio-blk disks\n", n, nblk);
}

int dom0_drivers_poll(void)
{
    blkdev_poll();
    if (!virtio_blk_polled_inflight())
        return 0;
    /* Polled I/O in flight: let other vCPUs run, then look again. */
    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    return 1;
}
