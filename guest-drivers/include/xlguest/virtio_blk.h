/*
 * virtio_blk.h - dom0's virtio-blk driver (virtio spec 1.1 section 5.2)
 * behind the blkdev interface (xlguest/blkdev.h). Two halves: the pure
 * request logic (guest-drivers/virtio/vblk_req.c: device configuration to
 * blkdev_info, a blkdev_req to a header + data + status chain, the status
 * byte to a Xen errno), unit tested on the host; and the driver
 * (virtio_blk.c) on the virtio-pci transport.
 * Must never: let the device write into the request header, or report a
 * request as done before the device returned its chain.
 */
#ifndef XLGUEST_VIRTIO_BLK_H
#define XLGUEST_VIRTIO_BLK_H

#include <stdint.h>
#include <xlguest/blkdev.h>
#include <xlguest/virtq.h>

/* Feature bits (section 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX   1
#define VIRTIO_BLK_F_SEG_MAX    2
#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9

/* Request types and status values (section 5.2.6). */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
/* Written into the status byte before submission: a device that returns
 * the chain without writing the status is caught. */
#define VBLK_STATUS_UNSET   0xff

/* Device configuration layout (section 5.2.4), the part we read. */
#define VBLK_CFG_CAPACITY   0   /* le64, 512-byte sectors */
#define VBLK_CFG_SIZE_MAX   8   /* le32 */
#define VBLK_CFG_SEG_MAX    12  /* le32 */
#define VBLK_CFG_BLK_SIZE   20  /* le32 */
#define VBLK_CFG_LEN        24

struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio_blk_req header is 16 bytes");

/* What the driver keeps from negotiation and configuration. */
struct vblk_limits {
    uint32_t seg_max;       /* data segments per request (<= BLKDEV_MAX_SEGS) */
    uint32_t size_max;      /* bytes per segment (0: no limit) */
};

/* Features we ask for (VIRTIO_F_* of the transport come on top). */
uint64_t vblk_wanted_features(void);
/* From the negotiated features, the raw configuration (VBLK_CFG_LEN bytes,
 * little-endian) and the queue size: info (name left alone), limits.
 * -XEN_ENODEV when the queue is too small for one request or the
 * capacity is 0. */
int vblk_setup(uint64_t features, const uint8_t *cfg, uint16_t qsize, unsigned int inflight_cap,
               struct blkdev_info *info, struct vblk_limits *lim);
/* The chain of request r: hdr is filled; out gets the header (at
 * hdr_maddr) and, for a write, the data; in gets, for a read, the data,
 * and then the status byte (at status_maddr). Physically adjacent
 * segments are merged within size_max. out and in hold 1 +
 * BLKDEV_MAX_SEGS entries. 0, or -XEN_EINVAL when the data needs more
 * than seg_max segments. */
int vblk_build(const struct blkdev_req *r, const struct vblk_limits *lim,
               struct virtio_blk_outhdr *hdr, uint64_t hdr_maddr, uint64_t status_maddr,
               struct virtq_buf *out, unsigned int *n_out, struct virtq_buf *in,
               unsigned int *n_in);
/* The request's result from its status byte and the used length the
 * device reported against the chain's writable bytes (in_len): 0,
 * -XEN_EOPNOTSUPP, or -XEN_EIO (error, unknown or unwritten status, or a
 * read whose data was not all written). */
int vblk_status(uint8_t status, uint32_t used_len, uint32_t in_len, enum blkdev_op op);

/* virtio_blk.c (dom0): probe one PCI function found by the scan; the
 * device is registered as vdX (X from the number probed so far). 0 or
 * a negative Xen errno (the device is then left reset). */
struct pci_dev;
int virtio_blk_probe(const struct pci_dev *p);
/* A test of the error path: the device named is reset at its next poll
 * as after a device error (its requests in flight fail with -EIO) and set
 * up again. 0 or -XEN_ENOENT. */
int virtio_blk_request_reset(const char *name);
/* Requests in flight on devices without interrupts (the service loop
 * must not sleep a whole timer period while this is non-zero). */
unsigned int virtio_blk_polled_inflight(void);
/* A device returned requests not reaped yet. */
int virtio_blk_work_waiting(void);
/* One line per device for the boot log and `vdisk list`. */
int virtio_blk_describe(unsigned int index, char *buf, unsigned int len);

#endif
