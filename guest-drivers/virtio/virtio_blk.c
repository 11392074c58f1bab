/*
 * virtio_blk.c - dom0's virtio-blk driver (virtio spec 1.1 section 5.2)
 * on the modern PCI transport: one request queue per device, requests of
 * the blkdev interface as header + data + status chains (vblk_req.c),
 * several in flight, completions reaped by blkdev_poll (from the service
 * loop), MSI-X on an event channel when pci_irq can bind it, else polled.
 * A device that breaks the queue protocol or asks for a reset is reset
 * and set up again; what it had in flight completes with -EIO.
 * Runs in dom0. Owns: the devices' queues, request headers and status
 * bytes (one DMA page per device).
 * Must never: call a completion from blkdev_submit, complete a request
 * twice, or reuse a header/status slot before the device gave it back.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/pci.h>
#include <xlguest/virtio_blk.h>
#include <xlguest/virtio_pci.h>

#define VBLK_MAX_DEVS 8
#define VBLK_INFLIGHT 32        /* slots per device: headers + status bytes */
#define VBLK_QUEUE_MAX 256      /* each ring part inside one page */
#define STATUS_OFF 2048         /* status bytes after the headers in the page */

struct vblk_slot {
    struct blkdev_req *r;       /* NULL when free */
    uint32_t in_len;
};

struct vblk {
    struct blkdev bd;
    struct virtio_pci_dev vp;
    struct virtio_pci_queue q;
    struct vblk_limits lim;
    uint64_t wanted;
    struct virtio_blk_outhdr *hdr;  /* VBLK_INFLIGHT of them, DMA page */
    volatile uint8_t *status;       /* same page, at STATUS_OFF */
    uint64_t page_maddr;
    struct vblk_slot slot[VBLK_INFLIGHT];
    unsigned int inflight;
    int dead;
    int reset_asked;            /* virtio_blk_request_reset: at the next poll */
    unsigned int resets;
};

static struct vblk vblks[VBLK_MAX_DEVS];
static unsigned int nr_vblks;

/* Resets the device and runs the handshake up to DRIVER_OK (also after a
 * device error). 0 or a negative Xen errno. */
static int vblk_start(struct vblk *d, int first)
{
    uint8_t cfg[VBLK_CFG_LEN];
    int rc;
    if (!first) {
        virtio_pci_reset(&d->vp);
        virtio_pci_begin(&d->vp);
    }
    if ((rc = virtio_pci_negotiate(&d->vp, d->wanted)))
        return rc;
    if ((rc = virtio_pci_queue_setup(&d->vp, &d->q, 0, VBLK_QUEUE_MAX, 0)))
        return rc;
    if ((rc = virtio_pci_read_config(&d->vp, 0, cfg, sizeof(cfg))))
        return rc;
    if ((rc = vblk_setup(d->vp.features, cfg, d->q.num, VBLK_INFLIGHT, &d->bd.info, &d->lim)))
        return rc;
    virtio_pci_driver_ok(&d->vp);
    return 0;
}

static unsigned int count_free(const struct vblk_slot *s)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < VBLK_INFLIGHT; i++)
        n += !s[i].r;
    return n;
}

/* The device broke the protocol or wants a reset: start it again, then
 * fail what it had (after the reset it no longer touches that memory). */
static void vblk_recover(struct vblk *d, const char *why)
{
    struct vblk_slot lost[VBLK_INFLIGHT];
    memcpy(lost, d->slot, sizeof(lost));
    memset(d->slot, 0, sizeof(d->slot));
    d->inflight = 0;
    d->resets++;
    int rc = vblk_start(d, 0);
    printk("dom0: %s: %s: device reset, %u requests failed, %s\n", d->bd.info.name, why,
           (unsigned int)(sizeof(lost) / sizeof(lost[0])) - count_free(lost),
           rc ? "it did not come back" : "running again");
    if (rc) {
        virtio_pci_reset(&d->vp);
        d->dead = 1;
    }
    for (unsigned int i = 0; i < VBLK_INFLIGHT; i++)
        if (lost[i].r)
            lost[i].r->done(lost[i].r, -XEN_EIO);
}

static int vblk_submit(struct blkdev *bd, struct blkdev_req *r)
{
    struct vblk *d = bd->drv;
    struct virtq_buf out[1 + BLKDEV_MAX_SEGS], in[1 + BLKDEV_MAX_SEGS];
    unsigned int n_out, n_in, i;
    if (d->dead)
        return -XEN_EIO;
    if (d->inflight >= d->bd.info.max_inflight)
        return -XEN_EBUSY;
    for (i = 0; i < VBLK_INFLIGHT && d->slot[i].r; i++)
        ;
    if (i == VBLK_INFLIGHT)
        return -XEN_EBUSY;
    int rc = vblk_build(r, &d->lim, &d->hdr[i], d->page_maddr + i * sizeof(d->hdr[0]),
                        d->page_maddr + STATUS_OFF + i, out, &n_out, in, &n_in);
    if (rc)
        return rc;
    d->status[i] = VBLK_STATUS_UNSET;
    rc = virtq_add(&d->q.vq, out, n_out, in, n_in, &d->slot[i]);
    if (rc == -XEN_ENOSPC)
        return -XEN_EBUSY;
    if (rc < 0)
        return rc;
    d->slot[i] = (struct vblk_slot){ .r = r };
    for (unsigned int k = 0; k < n_in; k++)
        d->slot[i].in_len += in[k].len;
    d->inflight++;
    virtio_pci_kick(&d->q);
    return 0;
}

/* Reaps what the device returned; -XEN_EIO when it broke the queue. */
static int vblk_reap(struct vblk *d, int *n)
{
    void *tok;
    uint32_t len;
    int rc;
    while ((rc = virtq_get_used(&d->q.vq, &tok, &len)) == 1) {
        struct vblk_slot *s = tok;
        unsigned int i = (unsigned int)(s - d->slot);
        struct blkdev_req *r = s->r;
        int st = vblk_status(d->status[i], len, s->in_len, r->op);
        s->r = NULL;
        d->inflight--;
        (*n)++;
        r->done(r, st);
    }
    return rc;
}

static int vblk_poll(struct blkdev *bd)
{
    struct vblk *d = bd->drv;
    int n = 0;
    if (d->dead)
        return 0;
    virtio_pci_count_event(&d->q);
    if (d->reset_asked) {
        d->reset_asked = 0;
        vblk_recover(d, "reset asked for");
        return 0;
    }
    for (;;) {
        if (vblk_reap(d, &n) < 0) {
            vblk_recover(d, "broken used ring");
            return n;
        }
        /* With interrupts: ask for the next one, and look again if
         * something slipped in meanwhile (spec 2.6.7.1). */
        if (d->q.vector < 0 || !virtq_enable_cb(&d->q.vq))
            break;
    }
    if (!n && d->inflight && (virtio_pci_status(&d->vp) & VIRTIO_STATUS_NEEDS_RESET))
        vblk_recover(d, "DEVICE_NEEDS_RESET");
    return n;
}

static const struct blkdev_ops vblk_ops = { .submit = vblk_submit, .poll = vblk_poll };

int virtio_blk_probe(const struct pci_dev *p)
{
    if (nr_vblks == VBLK_MAX_DEVS)
        return -XEN_ENOSPC;
    struct vblk *d = &vblks[nr_vblks];
    memset(d, 0, sizeof(*d));
    int rc = virtio_pci_open(&d->vp, p);
    if (rc)
        return rc;
    d->wanted = vblk_wanted_features();
    void *page = pages_alloc(1);
    if (!page) {
        virtio_pci_reset(&d->vp);
        return -XEN_ENOMEM;
    }
    _Static_assert(VBLK_INFLIGHT * sizeof(struct virtio_blk_outhdr) <= STATUS_OFF, "headers");
    d->hdr = page;
    d->status = (volatile uint8_t *)page + STATUS_OFF;
    d->page_maddr = virt_to_mfn(page) << 12;
    if ((rc = vblk_start(d, 1))) {
        virtio_pci_reset(&d->vp);
        pages_free(page, 1);
        return rc;
    }
    xl_snprintf(d->bd.info.name, sizeof(d->bd.info.name), "vd%c", 'a' + nr_vblks);
    d->bd.ops = &vblk_ops;
    d->bd.drv = d;
    if ((rc = blkdev_register(&d->bd))) {
        virtio_pci_reset(&d->vp);
        return rc;
    }
    nr_vblks++;
    return 0;
}

int virtio_blk_request_reset(const char *name)
{
    for (unsigned int i = 0; i < nr_vblks; i++)
        if (!strcmp(vblks[i].bd.info.name, name)) {
            vblks[i].reset_asked = 1;
            return 0;
        }
    return -XEN_ENOENT;
}

unsigned int virtio_blk_polled_inflight(void)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < nr_vblks; i++)
        if (vblks[i].q.vector < 0)
            n += vblks[i].inflight;
    return n;
}

int virtio_blk_work_waiting(void)
{
    for (unsigned int i = 0; i < nr_vblks; i++)
        if (!vblks[i].dead && virtio_pci_queue_has_used(&vblks[i].q))
            return 1;
    return 0;
}

int virtio_blk_describe(unsigned int index, char *buf, unsigned int len)
{
    if (index >= nr_vblks)
        return -XEN_ENOENT;
    const struct vblk *d = &vblks[index];
    const struct blkdev_info *in = &d->bd.info;
    const struct pci_dev *p = d->vp.pci;
    char ev[48] = "";
    if (d->q.vector >= 0)
        xl_snprintf(ev, sizeof(ev), " (port %u, %lu events)", d->q.port,
                    (unsigned long)d->q.events);
    return xl_snprintf(buf, len,
                       "%s: virtio-blk 0000:%02x:%02x.%u, %lu sectors of 512, block %u, queue %u, "
                       "%u in flight max, %u segs%s%s, %s%s%s",
                       in->name, p->bus, p->dev, p->fn, (unsigned long)in->nr_sectors,
                       in->lblock_size, d->q.num, in->max_inflight, d->lim.seg_max,
                       in->has_flush ? ", flush" : "", in->read_only ? ", read-only" : "",
                       d->q.vector >= 0 ? "msi-x" : "polled", ev, d->dead ? " (dead)" : "");
}
