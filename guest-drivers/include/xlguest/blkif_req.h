/*
 * blkif_req.h - blkback's judgement of one blkif request (xen/io/blkif.h)
 * against the device it serves. Implemented by guest-drivers/blk/blkif_req.c.
 *
 * The caller copies the request out of the shared ring first (backring_take)
 * and passes the copy; for BLKIF_OP_INDIRECT it then maps the indirect
 * pages, copies their segments out and passes that copy to
 * blkif_req_check_indirect_segs. The verdict is a blkif response status:
 * BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, or BLKIF_RSP_EOPNOTSUPP (an operation
 * the device did not advertise or blkif does not know); `why` says which
 * rule decided, for logs and tests.
 */
#ifndef XLGUEST_BLKIF_REQ_H
#define XLGUEST_BLKIF_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/io/blkif.h>

#define BLKIF_SECTOR_SHIFT 9   /* blkif sectors are 512 bytes, whatever the disk */
#define BLKIF_PAGE_SIZE    4096u
#define BLKIF_SECTS_PER_PAGE (BLKIF_PAGE_SIZE >> BLKIF_SECTOR_SHIFT)
#define BLKIF_SEGS_PER_INDIRECT_PAGE (BLKIF_PAGE_SIZE / sizeof(struct blkif_request_segment))

/* Feature flags of the device: what blkback advertises in xenstore. */
#define BLKDEV_F_BARRIER  (1u << 0)   /* feature-barrier */
#define BLKDEV_F_FLUSH    (1u << 1)   /* feature-flush-cache */
#define BLKDEV_F_DISCARD  (1u << 2)   /* feature-discard */
#define BLKDEV_F_SECURE_DISCARD (1u << 3) /* discard-secure */

struct blkif_dev {
    uint64_t nr_sectors;          /* device size in 512-byte sectors */
    uint32_t lblock_sectors;      /* logical block in 512-byte sectors: 1, 2, 4 or 8 */
    bool read_only;
    uint32_t features;            /* BLKDEV_F_* */
    uint32_t max_indirect_segs;   /* feature-max-indirect-segments; 0: no indirect */
    /* Grant references the front end may use for data: [GNTTAB_NR_RESERVED_ENTRIES,
     * gref_limit). gref_limit 0 means no upper bound is known (the grant
     * map then decides). */
    uint32_t gref_limit;
};

enum blkif_why {
    BLKIF_OK = 0,
    BLKIF_WHY_UNKNOWN_OP,      /* EOPNOTSUPP */
    BLKIF_WHY_NOT_ADVERTISED,  /* EOPNOTSUPP: barrier/flush/discard/indirect not offered */
    BLKIF_WHY_READ_ONLY,
    BLKIF_WHY_NO_SEGMENTS,
    BLKIF_WHY_TOO_MANY_SEGMENTS,
    BLKIF_WHY_BAD_SECT,        /* first_sect > last_sect or last_sect > 7 */
    BLKIF_WHY_BAD_GREF,
    BLKIF_WHY_RANGE,           /* outside the device (overflow included) */
    BLKIF_WHY_ALIGN,           /* not a whole number of logical blocks */
    BLKIF_WHY_INDIRECT_OP,     /* indirect_op not READ/WRITE */
    BLKIF_WHY_INDIRECT_SEGS,   /* copied indirect segments do not match the request */
    BLKIF_WHY_BAD_DEVICE,      /* the blkif_dev itself is inconsistent */
};

/* The request as blkback will carry it out. */
struct blkif_parsed {
    uint64_t id;               /* echoed in the response */
    uint8_t operation;         /* as received: the response's operation */
    uint8_t op;                /* what to do: READ, WRITE, WRITE_BARRIER,
                                  FLUSH_DISKCACHE, DISCARD (never INDIRECT) */
    bool secure;               /* secure discard, only when advertised */
    uint16_t nr_segments;
    uint16_t nr_indirect_pages;
    uint64_t sector;           /* first 512-byte sector */
    uint64_t nr_sectors;       /* total; for indirect known after the segments */
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST]; /* direct only */
    enum blkif_why why;
};

/* Judges a request already copied out of the ring. Fills *out (always:
 * id and operation are needed for the error response too). */
int blkif_req_check(const struct blkif_dev *dev, const struct blkif_request *req,
                    struct blkif_parsed *out);

/* Second step of an accepted BLKIF_OP_INDIRECT: nr segments copied out of
 * the indirect pages (nr must equal p->nr_segments). Sets p->nr_sectors. */
int blkif_req_check_indirect_segs(const struct blkif_dev *dev, struct blkif_parsed *p,
                                  const struct blkif_request_segment *segs, uint32_t nr);

/* The response for a verdict. */
void blkif_make_response(const struct blkif_parsed *p, int status, struct blkif_response *rsp);

const char *blkif_why_str(enum blkif_why why);

#endif
