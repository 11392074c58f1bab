/*
 * ramdisk.c - "ram0", a block device in dom0's own memory (xlguest/
 * ramblk.h): requests are queued by submit and carried out (memcpy to or
 * from the machine frames they name) and completed by poll, like a DMA
 * device, so users see the same asynchrony as with virtio-blk.
 * Owns: its pages and its queue. Must never: complete from submit, touch
 * a frame that is not dom0's own (an maddr outside dom0 fails the request
 * with -EIO), or complete a request twice.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/blkdev.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/ramblk.h>

#define RAM_QUEUE 32

static struct ram {
    struct blkdev dev;
    uint8_t *mem;
    struct blkdev_req *q[RAM_QUEUE];
    unsigned int head, n;
} ram;

/* dom0's own frame maddr as a virtual address (pfn N is at
 * GUEST_VIRT_BASE + N pages, xlguest/pages.h); NULL if not ours. */
static uint8_t *maddr_to_virt(uint64_t maddr)
{
    const uint64_t *m2p = (const uint64_t *)MACH2PHYS_VIRT_START;
    uint64_t mfn = maddr >> 12;
    if (mfn >= (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) / 8)
        return NULL;
    uint64_t pfn = m2p[mfn];
    if (pfn >= start_info->nr_pages || ((const uint64_t *)start_info->mfn_list)[pfn] != mfn)
        return NULL;
    return (uint8_t *)(GUEST_VIRT_BASE + (pfn << 12) + (maddr & 4095));
}

static int ram_submit(struct blkdev *d, struct blkdev_req *r)
{
    struct ram *rd = d->drv;
    if (rd->n == RAM_QUEUE)
        return -XEN_EBUSY;
    rd->q[(rd->head + rd->n++) % RAM_QUEUE] = r;
    return 0;
}

static int ram_do(struct ram *rd, struct blkdev_req *r)
{
    uint64_t off = r->sector * BLKDEV_SECTOR;
    for (uint32_t i = 0; i < r->nr_segs; i++) {
        uint8_t *p = maddr_to_virt(r->seg[i].maddr);
        if (!p)
            return -XEN_EIO;
        if (r->op == BLKDEV_WRITE)
            memcpy(rd->mem + off, p, r->seg[i].len);
        else
            memcpy(p, rd->mem + off, r->seg[i].len);
        off += r->seg[i].len;
    }
    return 0;
}

static int ram_poll(struct blkdev *d)
{
    struct ram *rd = d->drv;
    int n = 0;
    /* Only what was queued before this call: a done() may submit more. */
    for (unsigned int todo = rd->n; todo; todo--, n++) {
        struct blkdev_req *r = rd->q[rd->head];
        rd->head = (rd->head + 1) % RAM_QUEUE;
        rd->n--;
        int st = r->op == BLKDEV_FLUSH ? 0 : ram_do(rd, r);
        r->done(r, st);
    }
    return n;
}

static const struct blkdev_ops ram_ops = { .submit = ram_submit, .poll = ram_poll };

int ramblk_parse_size(const char *s, uint64_t *bytes)
{
    uint64_t v = 0;
    if (!s || *s < '0' || *s > '9')
        return -XEN_EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -XEN_EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    unsigned int shift = 0;
    if (*s == 'K' || *s == 'k')
        shift = 10;
    else if (*s == 'M' || *s == 'm')
        shift = 20;
    else if (*s == 'G' || *s == 'g')
        shift = 30;
    if (shift)
        s++;
    if (*s || (shift && v > (UINT64_MAX >> shift)))
        return -XEN_EINVAL;
    *bytes = v << shift;
    return 0;
}

int ramblk_create(uint64_t bytes)
{
    if (ram.mem)
        return -XEN_EEXIST;
    if (!bytes || bytes % 4096 || bytes > (1ULL << 32))
        return -XEN_EINVAL;
    uint8_t *m = pages_alloc(bytes >> 12);
    if (!m)
        return -XEN_ENOMEM;
    memset(m, 0, bytes);
    ram.mem = m;
    ram.dev = (struct blkdev){
        .info = { .name = "ram0", .nr_sectors = bytes / BLKDEV_SECTOR, .lblock_size = 512,
                  .read_only = 0, .has_flush = 1, .max_inflight = RAM_QUEUE },
        .ops = &ram_ops, .drv = &ram,
    };
    int rc = blkdev_register(&ram.dev);
    if (rc) {
        pages_free(m, bytes >> 12);
        ram.mem = NULL;
    }
    return rc;
}
