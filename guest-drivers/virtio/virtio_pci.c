/*
 * virtio_pci.c - the register half of dom0's virtio 1.x modern PCI
 * transport (virtio spec 1.1 section 4.1): maps the regions the vendor
 * capabilities name (parsed by virtio_pcicap.c), runs the status and
 * feature handshake (3.1.1), sets queues up with machine addresses of
 * dom0 pages, routes them to MSI-X event channels when pci_irq can, and
 * notifies. Runs in dom0 (PV, ring 3 with MMIO mapped uncached by pci.c).
 * Owns: the device's status register and queue registers.
 * Must never: touch a queue's registers after DRIVER_OK except to notify,
 * write the MSI-X table (the hypervisor's), or hand the device a ring
 * that crosses a page (dom0's pages are not machine-contiguous).
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/evtchn.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/pci.h>
#include <xlguest/virtio_pci.h>

static void fence_mb(void *o)
{
    (void)o;
    __asm__ volatile("mfence" ::: "memory");
}

static void fence_rmb(void *o)
{
    (void)o;
    __asm__ volatile("lfence" ::: "memory");
}

static void fence_wmb(void *o)
{
    (void)o;
    __asm__ volatile("sfence" ::: "memory");
}

const struct xl_barriers virtio_barriers = { fence_mb, fence_rmb, fence_wmb, NULL };

/* ---- MMIO (uncached; volatile accesses of the field's width) ---- */

static uint8_t rd8(volatile uint8_t *b, unsigned int off)
{
    return *(volatile uint8_t *)(b + off);
}
static uint16_t rd16(volatile uint8_t *b, unsigned int off)
{
    return *(volatile uint16_t *)(b + off);
}
static uint32_t rd32(volatile uint8_t *b, unsigned int off)
{
    return *(volatile uint32_t *)(b + off);
}
static void wr8(volatile uint8_t *b, unsigned int off, uint8_t v)
{
    *(volatile uint8_t *)(b + off) = v;
}
static void wr16(volatile uint8_t *b, unsigned int off, uint16_t v)
{
    *(volatile uint16_t *)(b + off) = v;
}
static void wr32(volatile uint8_t *b, unsigned int off, uint32_t v)
{
    *(volatile uint32_t *)(b + off) = v;
}
/* 64-bit fields as two 32-bit writes, low half first (4.1.3.1). */
static void wr64(volatile uint8_t *b, unsigned int off, uint64_t v)
{
    wr32(b, off, (uint32_t)v);
    wr32(b, off + 4, (uint32_t)(v >> 32));
}

/* ---- configuration space for the parser ---- */

static uint8_t cfg_read8(void *ctx, unsigned int off)
{
    return pci_read8(ctx, off);
}
static uint32_t cfg_read32(void *ctx, unsigned int off)
{
    return pci_read32(ctx, off);
}
static unsigned int cfg_find_cap(void *ctx, uint8_t id, unsigned int after)
{
    return pci_find_cap(ctx, id, after);
}

static volatile uint8_t *map_region(const struct pci_dev *p, const struct virtio_pci_region *r)
{
    uint64_t size = 0, base;
    if (!r->len)
        return NULL;
    base = pci_bar(p, r->bar, &size);
    if (!base || virtio_pci_region_fits(r, size))
        return NULL;
    return pci_mmio_map(base + r->off, r->len);
}

/* ---- status ---- */

uint8_t virtio_pci_status(struct virtio_pci_dev *v)
{
    return rd8(v->common, VPC_STATUS);
}

static void set_status(struct virtio_pci_dev *v, uint8_t bits)
{
    wr8(v->common, VPC_STATUS, (uint8_t)(rd8(v->common, VPC_STATUS) | bits));
}

void virtio_pci_reset(struct virtio_pci_dev *v)
{
    wr8(v->common, VPC_STATUS, 0);
    /* 4.1.4.3.2: the reset is done once the status reads 0 again. */
    for (unsigned int spin = 0; rd8(v->common, VPC_STATUS) && spin < 1000000; spin++)
        __asm__ volatile("pause");
}

void virtio_pci_begin(struct virtio_pci_dev *v)
{
    set_status(v, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(v, VIRTIO_STATUS_DRIVER);
}

int virtio_pci_open(struct virtio_pci_dev *v, const struct pci_dev *p)
{
    struct virtio_cfg_access a = { cfg_read8, cfg_read32, cfg_find_cap, (void *)p };
    memset(v, 0, sizeof(*v));
    v->pci = p;
    int rc = virtio_pci_parse_caps(&a, &v->caps);
    if (rc)
        return rc;
    /* BARs are sized (pci_bar) before decoding is turned on. */
    v->common = map_region(p, &v->caps.common);
    v->notify = map_region(p, &v->caps.notify);
    v->isr = map_region(p, &v->caps.isr);
    v->device = map_region(p, &v->caps.device);
    if (!v->common || !v->notify)
        return -XEN_ENODEV;
    pci_enable(p);
    virtio_pci_reset(v);
    if (virtio_pci_status(v))
        return -XEN_EIO;        /* the reset never finished */
    v->num_queues = rd16(v->common, VPC_NUMQ);
    virtio_pci_begin(v);
    return 0;
}

int virtio_pci_negotiate(struct virtio_pci_dev *v, uint64_t wanted)
{
    uint64_t dev;
    wr32(v->common, VPC_DFSELECT, 0);
    dev = rd32(v->common, VPC_DF);
    wr32(v->common, VPC_DFSELECT, 1);
    dev |= (uint64_t)rd32(v->common, VPC_DF) << 32;
    wanted |= VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    int rc = virtio_pci_pick_features(dev, wanted, &v->features);
    if (!rc) {
        wr32(v->common, VPC_GFSELECT, 0);
        wr32(v->common, VPC_GF, (uint32_t)v->features);
        wr32(v->common, VPC_GFSELECT, 1);
        wr32(v->common, VPC_GF, (uint32_t)(v->features >> 32));
        set_status(v, VIRTIO_STATUS_FEATURES_OK);
        /* 3.1.1 step 6: the device may refuse the subset we took. */
        if (!(virtio_pci_status(v) & VIRTIO_STATUS_FEATURES_OK))
            rc = -XEN_ENODEV;
    }
    if (rc)
        set_status(v, VIRTIO_STATUS_FAILED);
    return rc;
}

/* Routes q to MSI-X entry `vector` once (the binding survives resets);
 * -1 when interrupts cannot be had. */
static int bind_vector(struct virtio_pci_dev *v, struct virtio_pci_queue *q, int vector)
{
    if (vector < 0)
        return -1;
    if (q->vector == vector)
        return vector;
    if (pci_irq_bind_msix(v->pci, (unsigned int)vector, &q->port, &q->pirq))
        return -1;
    evtchn_unmask(q->port);
    return vector;
}

int virtio_pci_queue_setup(struct virtio_pci_dev *v, struct virtio_pci_queue *q,
                           uint16_t index, uint16_t max_num, int vector)
{
    if (index >= v->num_queues)
        return -XEN_ENODEV;
    if (!q->mem) {
        q->vector = -1;
        /* desc, avail, used, slots: a page each, so no ring crosses a
         * page (max_num <= 256 keeps each part inside one). */
        if (max_num > 256)
            return -XEN_EINVAL;
        if (!(q->mem = pages_alloc(4)))
            return -XEN_ENOMEM;
    }
    wr16(v->common, VPC_Q_SELECT, index);
    uint16_t num = virtio_pci_queue_size(rd16(v->common, VPC_Q_SIZE), max_num);
    uint32_t noff;
    if (!num || virtio_pci_notify_off(&v->caps, rd16(v->common, VPC_Q_NOFF), &noff))
        return -XEN_ENODEV;
    char *m = q->mem;
    int rc = virtq_init(&q->vq, num, m, m + 4096, m + 8192, (struct virtq_slot *)(m + 12288),
                        !!(v->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX)), &virtio_barriers);
    if (rc)
        return rc;
    q->index = index;
    q->num = num;
    q->notify = (volatile uint16_t *)(v->notify + noff);
    wr16(v->common, VPC_Q_SIZE, num);
    wr64(v->common, VPC_Q_DESCLO, virt_to_mfn(m) << 12);
    wr64(v->common, VPC_Q_AVAILLO, virt_to_mfn(m + 4096) << 12);
    wr64(v->common, VPC_Q_USEDLO, virt_to_mfn(m + 8192) << 12);
    q->vector = bind_vector(v, q, vector);
    if (q->vector >= 0) {
        wr16(v->common, VPC_Q_MSIX, (uint16_t)q->vector);
        /* 4.1.5.1.2.1: reading NO_VECTOR back means the device refused. */
        if (rd16(v->common, VPC_Q_MSIX) != q->vector) {
            pci_irq_unbind(v->pci, q->pirq, q->port);
            q->vector = -1;
        }
    }
    if (q->vector < 0) {
        wr16(v->common, VPC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
        virtq_disable_cb(&q->vq);   /* polled: nobody listens */
    }
    v->msix = q->vector >= 0;
    wr16(v->common, VPC_Q_ENABLE, 1);
    return 0;
}

int (*virtio_pci_port_pending)(uint32_t port);

void virtio_pci_count_event(struct virtio_pci_queue *q)
{
    if (q->vector >= 0 && virtio_pci_port_pending && virtio_pci_port_pending(q->port))
        q->events++;
}

bool virtio_pci_queue_has_used(const struct virtio_pci_queue *q)
{
    return q->mem && q->vq.used->idx != q->vq.last_used;
}

void virtio_pci_driver_ok(struct virtio_pci_dev *v)
{
    if (v->msix)
        wr16(v->common, VPC_MSIX, VIRTIO_MSI_NO_VECTOR);  /* no config interrupts */
    set_status(v, VIRTIO_STATUS_DRIVER_OK);
}

void virtio_pci_kick(struct virtio_pci_queue *q)
{
    virtq_publish(&q->vq);
    if (virtq_kick_needed(&q->vq))
        *q->notify = q->index;
}

int virtio_pci_read_config(struct virtio_pci_dev *v, unsigned int off, void *buf,
                           unsigned int len)
{
    if (!v->device || (uint64_t)off + len > v->caps.device.len)
        return -XEN_EIO;
    uint8_t gen, *b = buf;
    /* 4.1.4.3: read again while config_generation changes under us. */
    for (unsigned int tries = 0; tries < 100; tries++) {
        gen = rd8(v->common, VPC_CFGGEN);
        for (unsigned int i = 0; i < len; i++)
            b[i] = rd8(v->device, off + i);
        if (rd8(v->common, VPC_CFGGEN) == gen)
            return 0;
    }
    return -XEN_EIO;
}
