/*
 * blkdev.h - a block device as dom0's back ends see it: asynchronous
 * requests of whole 512-byte sectors whose data lives in machine frames
 * (DMA addresses), completed by a callback from blkdev_poll(). The
 * virtio-blk driver (guest-drivers/virtio/virtio_blk.c) implements it;
 * blkback (toolstack/dom0svc/blkback.c) uses it; guest-drivers/blk/blkdev.c
 * keeps the registry and checks each request before the driver sees it. A region of a device
 * (what `xl` disk targets like "vda:16M+64M" name) is carved by the user
 * of this interface, not here.
 * Must never: call the completion from inside blkdev_submit (only from
 * blkdev_poll), or complete a request twice.
 */
#ifndef XLGUEST_BLKDEV_H
#define XLGUEST_BLKDEV_H

#include <stdint.h>

#define BLKDEV_SECTOR 512u
#define BLKDEV_MAX_SEGS 16u   /* segments per request (each within one page) */

enum blkdev_op { BLKDEV_READ, BLKDEV_WRITE, BLKDEV_FLUSH };

struct blkdev_seg {
    uint64_t maddr;           /* machine address of the data (DMA) */
    uint32_t len;             /* bytes, a multiple of 512, within one page */
};

struct blkdev_req {
    enum blkdev_op op;
    uint64_t sector;          /* first 512-byte sector on the device */
    uint32_t nr_segs;         /* 0 for FLUSH */
    struct blkdev_seg seg[BLKDEV_MAX_SEGS];
    /* Called once from blkdev_poll with 0 or a negative Xen errno
     * (-EIO for a device error, -EOPNOTSUPP). The request is the
     * caller's again from then on. */
    void (*done)(struct blkdev_req *r, int status);
    void *priv;               /* the caller's */
};

struct blkdev_info {
    char name[8];             /* "vda", "vdb", ... */
    uint64_t nr_sectors;      /* capacity in 512-byte sectors */
    uint32_t lblock_size;     /* logical block size in bytes (512 or 4096) */
    int read_only;
    int has_flush;            /* the device offers a cache flush */
    unsigned int max_inflight;/* requests the device takes at once */
};

/* A driver's device: it fills info and ops and registers it once. */
struct blkdev;
struct blkdev_ops {
    /* r already checked by blkdev_submit; 0 or -EBUSY (queue full). */
    int (*submit)(struct blkdev *d, struct blkdev_req *r);
    /* Reap completions, call their done; how many. */
    int (*poll)(struct blkdev *d);
};
struct blkdev {
    struct blkdev_info info;
    const struct blkdev_ops *ops;
    void *drv;                /* the driver's */
};
/* 0, or -ENOSPC when the registry (8 devices) is full. */
int blkdev_register(struct blkdev *d);

/* The devices found at boot, by index (0 = vda) or name; NULL if none. */
struct blkdev *blkdev_get(unsigned int index);
struct blkdev *blkdev_find(const char *name);
const struct blkdev_info *blkdev_info(const struct blkdev *d);
/* Queues r (its fields checked: range, alignment, segment sizes). 0, or
 * -EBUSY when the device has max_inflight requests out (try again after
 * a completion), -EINVAL for a malformed request, -EROFS for a write to a
 * read-only device. Nothing is called back for a refused request. */
int blkdev_submit(struct blkdev *d, struct blkdev_req *r);
/* Reaps completions of every device (interrupt or not) and calls their
 * `done`. Returns how many completed. Called from dom0's service loop. */
int blkdev_poll(void);

#endif
