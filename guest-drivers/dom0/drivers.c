/*
 * drivers.c - dom0's device drivers at start and in the service loop:
 * scans PCI once, hands each function to the driver that knows it (the
 * virtio-blk devices become vda, vdb, ... and the virtio-net ones eth0,
 * eth1, ... in PCI order) and logs one line per device; every loop pass
 * reaps completions and received frames.
 * Runs in dom0's service mode only. Must never: ask the loop for short
 * sleeps when no polled device has requests in flight.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/blkdev.h>
#include <xlguest/dom0_drivers.h>
#include <xlguest/kernel.h>
#include <xlguest/netdev.h>
#include <xlguest/pci.h>
#include <xlguest/virtio_blk.h>
#include <xlguest/virtio_net.h>
#include <xlguest/virtio_pci.h>

static struct pci_dev pci_devs[PCI_MAX_DEVS];

/* The service loop's event flags (toolstack/dom0svc/services.c): the
 * drivers count their interrupts through it. */
int svc_port_pending(uint32_t port);

void dom0_drivers_init(void)
{
    virtio_pci_port_pending = svc_port_pending;
    int n = pci_scan(pci_devs, PCI_MAX_DEVS);
    if (n < 0) {
        printk("dom0: no PCI configuration space (%d): no device drivers\n", n);
        return;
    }
    unsigned int nblk = 0, nnet = 0;
    for (int i = 0; i < n; i++) {
        const struct pci_dev *p = &pci_devs[i];
        int blk = p->device == VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_BLOCK;
        int net = p->device == VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_NET;
        if (p->vendor != VIRTIO_PCI_VENDOR || (!blk && !net))
            continue;
        int rc = blk ? virtio_blk_probe(p) : virtio_net_probe(p);
        if (rc) {
            printk("dom0: virtio-%s 0000:%02x:%02x.%u: not used: %d\n", blk ? "blk" : "net",
                   p->bus, p->dev, p->fn, rc);
            continue;
        }
        char line[160];
        if (blk)
            virtio_blk_describe(nblk++, line, sizeof(line));
        else
            virtio_net_describe(nnet++, line, sizeof(line));
        printk("dom0: %s\n", line);
    }
    printk("dom0: PCI: %d functions, %u virtio-blk disks, %u virtio-net NICs\n", n, nblk, nnet);
}

int dom0_drivers_pending(void)
{
    return virtio_blk_work_waiting() || virtio_net_work_waiting();
}

int dom0_drivers_poll(void)
{
    blkdev_poll();
    netdev_poll();
    return virtio_blk_polled_inflight() != 0;
}
