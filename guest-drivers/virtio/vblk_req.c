/*
 * vblk_req.c - the pure logic of dom0's virtio-blk driver: what the
 * device's features and configuration mean for blkdev_info and the
 * request limits, how a blkdev_req becomes a virtio-blk chain (header
 * readable, data, status byte writable), and what the status byte and
 * the used length mean.
 * Pure: no inline assembly, no libc, no allocation; host unit tests link
 * it (tests/unit/virtio_blk.mk).
 * Must never: put the header or write data in a device-writable buffer,
 * or accept a completion whose status the device did not write.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/virtio_blk.h>
#include <xlguest/virtio_pci.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t vblk_wanted_features(void)
{
    return VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
           VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
           VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
}

int vblk_setup(uint64_t features, const uint8_t *cfg, uint16_t qsize, unsigned int inflight_cap,
               struct blkdev_info *info, struct vblk_limits *lim)
{
    uint64_t cap = le32(cfg + VBLK_CFG_CAPACITY) | (uint64_t)le32(cfg + VBLK_CFG_CAPACITY + 4) << 32;
    lim->seg_max = BLKDEV_MAX_SEGS;
    lim->size_max = 0;
    if (features & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX)) {
        uint32_t s = le32(cfg + VBLK_CFG_SEG_MAX);
        if (s < lim->seg_max)
            lim->seg_max = s;
    }
    if (features & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX))
        lim->size_max = le32(cfg + VBLK_CFG_SIZE_MAX);
    /* A request takes the header, its data segments and the status. */
    unsigned int per_req = lim->seg_max + 2;
    if (!cap || !lim->seg_max || (lim->size_max && lim->size_max < BLKDEV_SECTOR) ||
        qsize < per_req)
        return -XEN_ENODEV;
    info->nr_sectors = cap;
    info->lblock_size = BLKDEV_SECTOR;
    if (features & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE)) {
        uint32_t b = le32(cfg + VBLK_CFG_BLK_SIZE);
        if (b >= 512 && b <= 4096 && !(b & (b - 1)))
            info->lblock_size = b;
    }
    info->read_only = !!(features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    info->has_flush = !!(features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    info->max_inflight = qsize / per_req;
    if (info->max_inflight > inflight_cap)
        info->max_inflight = inflight_cap;
    return info->max_inflight ? 0 : -XEN_ENODEV;
}

/* The data segments of r, merged where physically adjacent: count, or
 * -XEN_EINVAL beyond seg_max. */
static int data_bufs(const struct blkdev_req *r, const struct vblk_limits *lim,
                     struct virtq_buf *b)
{
    unsigned int n = 0;
    for (uint32_t i = 0; i < r->nr_segs; i++) {
        const struct blkdev_seg *s = &r->seg[i];
        if (n && b[n - 1].addr + b[n - 1].len == s->maddr &&
            (!lim->size_max || (uint64_t)b[n - 1].len + s->len <= lim->size_max)) {
            b[n - 1].len += s->len;
            continue;
        }
        if (n == lim->seg_max || (lim->size_max && s->len > lim->size_max))
            return -XEN_EINVAL;
        b[n++] = (struct virtq_buf){ .addr = s->maddr, .len = s->len };
    }
    return (int)n;
}

int vblk_build(const struct blkdev_req *r, const struct vblk_limits *lim,
               struct virtio_blk_outhdr *hdr, uint64_t hdr_maddr, uint64_t status_maddr,
               struct virtq_buf *out, unsigned int *n_out, struct virtq_buf *in,
               unsigned int *n_in)
{
    int nd = 0;
    *n_out = 1;
    *n_in = 0;
    out[0] = (struct virtq_buf){ .addr = hdr_maddr, .len = sizeof(*hdr) };
    hdr->ioprio = 0;
    switch (r->op) {
    case BLKDEV_READ:
        hdr->type = VIRTIO_BLK_T_IN;
        hdr->sector = r->sector;
        nd = data_bufs(r, lim, in);
        if (nd < 0)
            return nd;
        *n_in = (unsigned int)nd;
        break;
    case BLKDEV_WRITE:
        hdr->type = VIRTIO_BLK_T_OUT;
        hdr->sector = r->sector;
        nd = data_bufs(r, lim, out + 1);
        if (nd < 0)
            return nd;
        *n_out += (unsigned int)nd;
        break;
    case BLKDEV_FLUSH:
        hdr->type = VIRTIO_BLK_T_FLUSH;
        hdr->sector = 0;
        break;
    default:
        return -XEN_EINVAL;
    }
    in[(*n_in)++] = (struct virtq_buf){ .addr = status_maddr, .len = 1 };
    return 0;
}

int vblk_status(uint8_t status, uint32_t used_len, uint32_t in_len, enum blkdev_op op)
{
    if (used_len < 1)
        return -XEN_EIO;        /* the status byte was not written */
    switch (status) {
    case VIRTIO_BLK_S_OK:
        /* A read is done when all of its data came; the device says how
         * much it wrote (data + status). */
        return op == BLKDEV_READ && used_len < in_len ? -XEN_EIO : 0;
    case VIRTIO_BLK_S_UNSUPP:
        return -XEN_EOPNOTSUPP;
    default:
        return -XEN_EIO;
    }
}
