/*
 * blkif_req.c - blkback's request judge: given a blkif request already
 * copied out of the shared ring and the back end's view of the device,
 * accept it (normalised into struct blkif_parsed) or say which response
 * status refuses it (BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP).
 * Pure: no inline assembly, no libc, no allocation, no shared memory;
 * host unit tests link it (tests/unit/blkif.mk).
 * Owns: nothing but the verdict. Must never: read the shared ring (the
 * caller hands a private copy), accept a segment that leaves its page or
 * a sector range that leaves the device (whatever the overflow), or accept
 * an operation the device did not advertise.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/blkif_req.h>

/* Grant refs below GNTTAB_NR_RESERVED_ENTRIES (console, xenstore...) are
 * never data. */
#define FIRST_DATA_GREF GNTTAB_NR_RESERVED_ENTRIES

static const char *const why_names[] = {
    [BLKIF_OK] = "ok",
    [BLKIF_WHY_UNKNOWN_OP] = "unknown operation",
    [BLKIF_WHY_NOT_ADVERTISED] = "operation not advertised",
    [BLKIF_WHY_READ_ONLY] = "write to a read-only device",
    [BLKIF_WHY_NO_SEGMENTS] = "no segments",
    [BLKIF_WHY_TOO_MANY_SEGMENTS] = "too many segments",
    [BLKIF_WHY_BAD_SECT] = "segment sectors outside the page",
    [BLKIF_WHY_BAD_GREF] = "reserved or out-of-range grant ref",
    [BLKIF_WHY_RANGE] = "sectors outside the device",
    [BLKIF_WHY_ALIGN] = "not whole logical blocks",
    [BLKIF_WHY_INDIRECT_OP] = "indirect operation not read/write",
    [BLKIF_WHY_INDIRECT_SEGS] = "indirect segments do not match",
    [BLKIF_WHY_BAD_DEVICE] = "device description invalid",
};

const char *blkif_why_str(enum blkif_why why)
{
    if ((unsigned)why < ARRAY_SIZE(why_names) && why_names[why])
        return why_names[why];
    return "?";
}

static int refuse(struct blkif_parsed *p, enum blkif_why why)
{
    p->why = why;
    if (why == BLKIF_WHY_UNKNOWN_OP || why == BLKIF_WHY_NOT_ADVERTISED)
        return BLKIF_RSP_EOPNOTSUPP;
    return BLKIF_RSP_ERROR;
}

static bool dev_ok(const struct blkif_dev *dev)
{
    uint32_t l = dev->lblock_sectors;
    return l == 1 || l == 2 || l == 4 || l == 8;
}

static bool gref_ok(const struct blkif_dev *dev, grant_ref_t g)
{
    return g >= FIRST_DATA_GREF && (dev->gref_limit == 0 || g < dev->gref_limit);
}

/* [sector, sector + n) inside the device, n > 0 or n == 0 allowed by caller. */
static bool range_ok(const struct blkif_dev *dev, uint64_t sector, uint64_t n)
{
    return n <= dev->nr_sectors && sector <= dev->nr_sectors - n;
}

static bool aligned(const struct blkif_dev *dev, uint64_t v)
{
    return (v & (dev->lblock_sectors - 1)) == 0;
}

/* One data segment: its grant and its sectors within the page. Adds its
 * sector count to *total. */
static enum blkif_why check_seg(const struct blkif_dev *dev, const struct blkif_request_segment *s,
                                uint64_t *total)
{
    if (s->first_sect > s->last_sect || s->last_sect >= BLKIF_SECTS_PER_PAGE)
        return BLKIF_WHY_BAD_SECT;
    if (!gref_ok(dev, s->gref))
        return BLKIF_WHY_BAD_GREF;
    uint32_t n = (uint32_t)s->last_sect - s->first_sect + 1;
    if (!aligned(dev, s->first_sect) || !aligned(dev, n))
        return BLKIF_WHY_ALIGN;
    *total += n;
    return BLKIF_OK;
}

static bool writes(uint8_t op)
{
    return op != BLKIF_OP_READ;
}

int blkif_req_check(const struct blkif_dev *dev, const struct blkif_request *req,
                    struct blkif_parsed *p)
{
    memset(p, 0, sizeof(*p));
    p->id = req->id;
    p->operation = req->operation;
    p->op = req->operation;
    if (!dev_ok(dev))
        return refuse(p, BLKIF_WHY_BAD_DEVICE);

    switch (req->operation) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        break;
    case BLKIF_OP_WRITE_BARRIER:
        if (!(dev->features & BLKDEV_F_BARRIER))
            return refuse(p, BLKIF_WHY_NOT_ADVERTISED);
        break;
    case BLKIF_OP_FLUSH_DISKCACHE:
        if (!(dev->features & BLKDEV_F_FLUSH))
            return refuse(p, BLKIF_WHY_NOT_ADVERTISED);
        break;
    case BLKIF_OP_DISCARD: {
        if (!(dev->features & BLKDEV_F_DISCARD))
            return refuse(p, BLKIF_WHY_NOT_ADVERTISED);
        if (dev->read_only)
            return refuse(p, BLKIF_WHY_READ_ONLY);
        const struct blkif_request_discard *d = (const struct blkif_request_discard *)req;
        p->sector = d->sector_number;
        p->nr_sectors = d->nr_sectors;
        p->secure = (d->flag & BLKIF_DISCARD_SECURE) && (dev->features & BLKDEV_F_SECURE_DISCARD);
        if (!range_ok(dev, p->sector, p->nr_sectors))
            return refuse(p, BLKIF_WHY_RANGE);
        if (!aligned(dev, p->sector) || !aligned(dev, p->nr_sectors))
            return refuse(p, BLKIF_WHY_ALIGN);
        return BLKIF_RSP_OKAY;
    }
    case BLKIF_OP_INDIRECT: {
        const struct blkif_request_indirect *ind = (const struct blkif_request_indirect *)req;
        if (dev->max_indirect_segs == 0)
            return refuse(p, BLKIF_WHY_NOT_ADVERTISED);
        if (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE)
            return refuse(p, BLKIF_WHY_INDIRECT_OP);
        p->op = ind->indirect_op;
        if (dev->read_only && writes(p->op))
            return refuse(p, BLKIF_WHY_READ_ONLY);
        uint32_t nseg = ind->nr_segments;
        uint32_t limit = dev->max_indirect_segs;
        uint32_t hard = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKIF_SEGS_PER_INDIRECT_PAGE;
        if (limit > hard)
            limit = hard;
        if (nseg == 0)
            return refuse(p, BLKIF_WHY_NO_SEGMENTS);
        if (nseg > limit)
            return refuse(p, BLKIF_WHY_TOO_MANY_SEGMENTS);
        p->nr_segments = (uint16_t)nseg;
        p->nr_indirect_pages = (uint16_t)((nseg + BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
                                          BLKIF_SEGS_PER_INDIRECT_PAGE);
        p->sector = ind->sector_number;
        if (!aligned(dev, p->sector))
            return refuse(p, BLKIF_WHY_ALIGN);
        /* Even the smallest transfer (one sector per segment) must fit. */
        if (!range_ok(dev, p->sector, nseg))
            return refuse(p, BLKIF_WHY_RANGE);
        for (unsigned i = 0; i < p->nr_indirect_pages; i++) {
            if (!gref_ok(dev, ind->indirect_grefs[i]))
                return refuse(p, BLKIF_WHY_BAD_GREF);
            p->indirect_grefs[i] = ind->indirect_grefs[i];
        }
        return BLKIF_RSP_OKAY;
    }
    default:
        return refuse(p, BLKIF_WHY_UNKNOWN_OP);
    }

    /* READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE with direct segments. */
    if (dev->read_only && writes(req->operation))
        return refuse(p, BLKIF_WHY_READ_ONLY);
    uint32_t nseg = req->nr_segments;
    bool ordering = req->operation == BLKIF_OP_WRITE_BARRIER ||
                    req->operation == BLKIF_OP_FLUSH_DISKCACHE;
    if (nseg == 0 && !ordering)
        return refuse(p, BLKIF_WHY_NO_SEGMENTS);
    if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        return refuse(p, BLKIF_WHY_TOO_MANY_SEGMENTS);
    p->nr_segments = (uint16_t)nseg;
    p->sector = req->sector_number;
    uint64_t total = 0;
    for (uint32_t i = 0; i < nseg; i++) {
        enum blkif_why w = check_seg(dev, &req->seg[i], &total);
        if (w != BLKIF_OK)
            return refuse(p, w);
        p->seg[i] = req->seg[i];
    }
    p->nr_sectors = total;
    if (nseg && !aligned(dev, p->sector))
        return refuse(p, BLKIF_WHY_ALIGN);
    if (nseg && !range_ok(dev, p->sector, total))
        return refuse(p, BLKIF_WHY_RANGE);
    return BLKIF_RSP_OKAY;
}

int blkif_req_check_indirect_segs(const struct blkif_dev *dev, struct blkif_parsed *p,
                                  const struct blkif_request_segment *segs, uint32_t nr)
{
    if (p->operation != BLKIF_OP_INDIRECT || p->why != BLKIF_OK || nr != p->nr_segments)
        return refuse(p, BLKIF_WHY_INDIRECT_SEGS);
    uint64_t total = 0;
    for (uint32_t i = 0; i < nr; i++) {
        enum blkif_why w = check_seg(dev, &segs[i], &total);
        if (w != BLKIF_OK)
            return refuse(p, w);
    }
    p->nr_sectors = total;
    if (!range_ok(dev, p->sector, total))
        return refuse(p, BLKIF_WHY_RANGE);
    return BLKIF_RSP_OKAY;
}

void blkif_make_response(const struct blkif_parsed *p, int status, struct blkif_response *rsp)
{
    memset(rsp, 0, sizeof(*rsp));
    rsp->id = p->id;
    rsp->operation = p->operation;
    rsp->status = (int16_t)status;
}
