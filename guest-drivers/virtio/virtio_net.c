/*
 * virtio_net.c - dom0's virtio-net driver (virtio spec 1.1 section 5.1)
 * on the modern PCI transport: one receive and one transmit queue, no
 * offloads. Receive buffers are the driver's own pages (header + frame),
 * posted at start and given back to the device after each frame went to
 * the netdev's rx callback; transmit chains are a zeroed header and the
 * caller's machine-addressed segments, completed through netdev_poll.
 * A queue that breaks is handled by a reset and a new start; transmits
 * in flight then fail with -EIO.
 * Runs in dom0. Owns: the devices' queues, receive pages, tx headers.
 * Must never: notify the device before DRIVER_OK, let the rx callback see
 * a buffer the device still owns, or complete a transmit twice.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/pci.h>
#include <xlguest/virtio_net.h>
#include <xlguest/virtio_pci.h>

#define VNET_MAX_DEVS 4
#define VNET_RX_BUFS 32
#define VNET_TX_SLOTS 32
#define VNET_QUEUE_MAX 256

struct vnet {
    struct netdev nd;
    struct virtio_pci_dev vp;
    struct virtio_pci_queue rxq, txq;
    uint8_t *rxbuf[VNET_RX_BUFS];   /* a page each */
    struct virtio_net_hdr *txhdr;   /* VNET_TX_SLOTS of them, one page */
    uint64_t txhdr_maddr;
    struct netdev_tx *tx[VNET_TX_SLOTS];
    unsigned int tx_inflight;
    int dead;
};

static struct vnet vnets[VNET_MAX_DEVS];
static unsigned int nr_vnets;

static int post_rx(struct vnet *d, unsigned int i)
{
    struct virtq_buf b = { virt_to_mfn(d->rxbuf[i]) << 12, 4096 };
    return virtq_add(&d->rxq.vq, NULL, 0, &b, 1, &d->rxbuf[i]);
}

/* Handshake, both queues, configuration, receive buffers, DRIVER_OK. */
static int vnet_start(struct vnet *d, int first)
{
    uint8_t cfg[VNET_CFG_LEN] = { 0 };
    int rc;
    if (!first) {
        virtio_pci_reset(&d->vp);
        virtio_pci_begin(&d->vp);
    }
    if ((rc = virtio_pci_negotiate(&d->vp, vnet_wanted_features())) ||
        (rc = virtio_pci_queue_setup(&d->vp, &d->rxq, VNET_RXQ, VNET_QUEUE_MAX, 0)) ||
        (rc = virtio_pci_queue_setup(&d->vp, &d->txq, VNET_TXQ, VNET_QUEUE_MAX, 1)))
        return rc;
    if (d->vp.features & (VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS)))
        if ((rc = virtio_pci_read_config(&d->vp, 0, cfg, sizeof(cfg))))
            return rc;
    vnet_setup(d->vp.features, cfg, (uint32_t)(d->vp.pci->bus << 8 | d->vp.pci->dev << 3 |
                                               d->vp.pci->fn), &d->nd.info);
    unsigned int max_tx = d->txq.num / (1 + NETDEV_MAX_SEGS);
    d->nd.info.max_tx_inflight = max_tx < VNET_TX_SLOTS ? max_tx : VNET_TX_SLOTS;
    if (!d->nd.info.max_tx_inflight)
        return -XEN_ENODEV;
    for (unsigned int i = 0; i < VNET_RX_BUFS && i < d->rxq.num; i++)
        if ((rc = post_rx(d, i)) < 0)
            return rc;
    virtq_publish(&d->rxq.vq);
    virtio_pci_driver_ok(&d->vp);
    virtio_pci_kick(&d->rxq);
    return 0;
}

static void vnet_recover(struct vnet *d, const char *why)
{
    struct netdev_tx *lost[VNET_TX_SLOTS];
    memcpy(lost, d->tx, sizeof(lost));
    memset(d->tx, 0, sizeof(d->tx));
    d->tx_inflight = 0;
    int rc = vnet_start(d, 0);
    printk("dom0: %s: %s: device reset, %s\n", d->nd.info.name, why,
           rc ? "it did not come back" : "running again");
    if (rc) {
        virtio_pci_reset(&d->vp);
        d->dead = 1;
    }
    for (unsigned int i = 0; i < VNET_TX_SLOTS; i++)
        if (lost[i])
            lost[i]->done(lost[i], -XEN_EIO);
}

static int vnet_tx(struct netdev *nd, struct netdev_tx *t)
{
    struct vnet *d = nd->drv;
    struct virtq_buf out[1 + NETDEV_MAX_SEGS];
    unsigned int i;
    if (d->dead)
        return -XEN_EIO;
    if (d->tx_inflight >= d->nd.info.max_tx_inflight)
        return -XEN_EBUSY;
    for (i = 0; i < VNET_TX_SLOTS && d->tx[i]; i++)
        ;
    if (i == VNET_TX_SLOTS)
        return -XEN_EBUSY;
    unsigned int n = vnet_build_tx(t, &d->txhdr[i], d->txhdr_maddr + i * sizeof(d->txhdr[0]), out);
    int rc = virtq_add(&d->txq.vq, out, n, NULL, 0, &d->tx[i]);
    if (rc == -XEN_ENOSPC)
        return -XEN_EBUSY;
    if (rc < 0)
        return rc;
    d->tx[i] = t;
    d->tx_inflight++;
    virtio_pci_kick(&d->txq);
    return 0;
}

static int reap_tx(struct vnet *d, int *n)
{
    void *tok;
    uint32_t len;
    int rc;
    while ((rc = virtq_get_used(&d->txq.vq, &tok, &len)) == 1) {
        struct netdev_tx **slot = tok, *t = *slot;
        *slot = NULL;
        d->tx_inflight--;
        d->nd.tx_frames++;
        (*n)++;
        t->done(t, 0);
    }
    return rc;
}

static int reap_rx(struct vnet *d, int *n)
{
    void *tok;
    uint32_t len;
    int rc, reposted = 0;
    while ((rc = virtq_get_used(&d->rxq.vq, &tok, &len)) == 1) {
        uint8_t **slot = tok;
        int flen = vnet_rx_frame_len(len, 4096);
        (*n)++;
        if (flen < 0 || !d->nd.rx) {
            d->nd.rx_dropped++;
        } else {
            d->nd.rx_frames++;
            d->nd.rx(&d->nd, *slot + sizeof(struct virtio_net_hdr), (uint32_t)flen,
                     d->nd.rx_opaque);
        }
        if (post_rx(d, (unsigned int)(slot - d->rxbuf)) < 0)
            return -XEN_EIO;
        reposted = 1;
    }
    if (reposted)
        virtio_pci_kick(&d->rxq);
    return rc;
}

static int vnet_poll(struct netdev *nd)
{
    struct vnet *d = nd->drv;
    int n = 0;
    if (d->dead)
        return 0;
    virtio_pci_count_event(&d->rxq);
    virtio_pci_count_event(&d->txq);
    for (;;) {
        if (reap_tx(d, &n) < 0 || reap_rx(d, &n) < 0) {
            vnet_recover(d, "broken queue");
            return n;
        }
        if (d->rxq.vector < 0)
            break;
        /* Both re-armed (no short-circuit), then look again if asked. */
        bool again = virtq_enable_cb(&d->txq.vq);
        again |= virtq_enable_cb(&d->rxq.vq);
        if (!again)
            break;
    }
    if (!n && d->tx_inflight && (virtio_pci_status(&d->vp) & VIRTIO_STATUS_NEEDS_RESET))
        vnet_recover(d, "DEVICE_NEEDS_RESET");
    return n;
}

static const struct netdev_ops vnet_ops = { .tx = vnet_tx, .poll = vnet_poll };

int virtio_net_probe(const struct pci_dev *p)
{
    if (nr_vnets == VNET_MAX_DEVS)
        return -XEN_ENOSPC;
    struct vnet *d = &vnets[nr_vnets];
    memset(d, 0, sizeof(*d));
    int rc = virtio_pci_open(&d->vp, p);
    if (rc)
        return rc;
    uint8_t *pg = pages_alloc(VNET_RX_BUFS + 1);
    if (!pg) {
        virtio_pci_reset(&d->vp);
        return -XEN_ENOMEM;
    }
    for (unsigned int i = 0; i < VNET_RX_BUFS; i++)
        d->rxbuf[i] = pg + 4096 * i;
    _Static_assert(VNET_TX_SLOTS * sizeof(struct virtio_net_hdr) <= 4096, "tx headers");
    d->txhdr = (struct virtio_net_hdr *)(pg + 4096 * VNET_RX_BUFS);
    d->txhdr_maddr = virt_to_mfn(d->txhdr) << 12;
    if ((rc = vnet_start(d, 1))) {
        virtio_pci_reset(&d->vp);
        pages_free(pg, VNET_RX_BUFS + 1);
        return rc;
    }
    xl_snprintf(d->nd.info.name, sizeof(d->nd.info.name), "eth%u", nr_vnets);
    d->nd.ops = &vnet_ops;
    d->nd.drv = d;
    if ((rc = netdev_register(&d->nd))) {
        virtio_pci_reset(&d->vp);
        return rc;
    }
    nr_vnets++;
    return 0;
}

int virtio_net_work_waiting(void)
{
    for (unsigned int i = 0; i < nr_vnets; i++)
        if (!vnets[i].dead && (virtio_pci_queue_has_used(&vnets[i].rxq) ||
                               virtio_pci_queue_has_used(&vnets[i].txq)))
            return 1;
    return 0;
}

int virtio_net_describe(unsigned int index, char *buf, unsigned int len)
{
    if (index >= nr_vnets)
        return -XEN_ENOENT;
    const struct vnet *d = &vnets[index];
    const struct netdev_info *in = &d->nd.info;
    const struct pci_dev *p = d->vp.pci;
    char ev[64] = "";
    if (d->rxq.vector >= 0)
        xl_snprintf(ev, sizeof(ev), " (rx port %u, %lu events; tx %lu)", d->rxq.port,
                    (unsigned long)d->rxq.events, (unsigned long)d->txq.events);
    return xl_snprintf(buf, len,
                       "%s: virtio-net 0000:%02x:%02x.%u, mac %02x:%02x:%02x:%02x:%02x:%02x, "
                       "link %s, queues %u/%u, %u rx buffers, %u tx in flight max, %s%s",
                       in->name, p->bus, p->dev, p->fn, in->mac[0], in->mac[1], in->mac[2],
                       in->mac[3], in->mac[4], in->mac[5], in->link_up ? "up" : "down",
                       d->rxq.num, d->txq.num, VNET_RX_BUFS, in->max_tx_inflight,
                       d->rxq.vector >= 0 ? "msi-x" : "polled", ev);
}
