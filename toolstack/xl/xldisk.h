/*
 * xldisk.h - xl's disk specification (xl-disk-configuration(5)) and the
 * names around it: "format=raw, vdev=xvda, access=rw, target=vda:16M+8M"
 * into a struct xldisk; a vdev name into Xen's xenstore device id
 * (xvda = 51712); a target "DEV[:OFFSET+SIZE]" into a region of a dom0
 * block device. Implemented by toolstack/xl/xldisk.c (pure: runs in dom0
 * - xl and blkback - and in the host unit tests).
 */
#ifndef XENOLITH_TOOLSTACK_XLDISK_H
#define XENOLITH_TOOLSTACK_XLDISK_H

#include <stdint.h>
#include <stddef.h>

#define XLDISK_TARGET_MAX 64
#define XLDISK_VDEV_MAX   16

struct xldisk_target {
    char dev[8];          /* a dom0 blkdev name: "vda", "ram0" */
    uint64_t offset;      /* bytes */
    uint64_t size;        /* bytes; 0: to the device's end */
};

struct xldisk {
    char vdev[XLDISK_VDEV_MAX];     /* as written: "xvda" */
    uint32_t devid;                 /* Xen's virtual-device number */
    int readonly;                   /* access=ro */
    char target[XLDISK_TARGET_MAX]; /* as written, the backend's params */
    struct xldisk_target t;
};

/* Parses one disk spec: comma-separated key=value (format, vdev, access,
 * devtype, backendtype, target; target= takes the rest of the string, as
 * xl's), spaces around items ignored. Only raw images of phy back ends on
 * disks are supported. 0, or -XL_EINVAL with xl-like text in err. */
int xldisk_parse(const char *spec, struct xldisk *d, char *err, size_t errsize);

/* "xvda".."xvdz", "xvdaa".., optional partition number; "sda".."sdp"
 * and "hda".."hdt" (IDE: majors 3, 22, 33, ...) likewise: Xen's device id (xen-vbd-interface.7). -XL_EINVAL if not a
 * name it knows. */
long xldisk_devid(const char *vdev);

/* "DEV" or "DEV:OFFSET+SIZE" with K/M/G suffixes (bytes); both multiples
 * of 512 and SIZE > 0. 0 or -XL_EINVAL. */
int xldisk_parse_target(const char *s, struct xldisk_target *t);

/* The name of devid, for xl block-list ("xvda"); into buf. */
void xldisk_vdev_name(uint32_t devid, char *buf, size_t size);

#endif
