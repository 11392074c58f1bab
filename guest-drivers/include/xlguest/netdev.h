/*
 * netdev.h - a network device as dom0's users (netback, the bridge, the
 * `vnet` test command) see it: frames sent from machine-addressed
 * buffers, completed by a callback from netdev_poll(); frames received
 * into the driver's own buffers and handed to the device's rx callback,
 * also from netdev_poll(). The virtio-net driver
 * (guest-drivers/virtio/virtio_net.c) implements it; the registry is
 * guest-drivers/dom0/netdev.c.
 * Must never: call a tx completion or the rx callback from inside
 * netdev_tx, or let the rx callback keep the frame pointer after it
 * returns (the buffer goes back to the device).
 */
#ifndef XLGUEST_NETDEV_H
#define XLGUEST_NETDEV_H

#include <stdint.h>

#define NETDEV_MAX_SEGS  4u     /* segments per frame (each within one page) */
#define NETDEV_MIN_FRAME 14u    /* an Ethernet header */
#define NETDEV_MAX_FRAME 1514u  /* no jumbo frames, no offloads */

struct netdev_seg {
    uint64_t maddr;             /* machine address (DMA) */
    uint32_t len;               /* within one page */
};

struct netdev_tx {
    uint32_t nr_segs;
    struct netdev_seg seg[NETDEV_MAX_SEGS];
    /* Called once from netdev_poll with 0 or a negative Xen errno; the
     * buffers are the caller's again from then on. */
    void (*done)(struct netdev_tx *t, int status);
    void *priv;
};

struct netdev_info {
    char name[8];               /* "eth0", "eth1", ... */
    uint8_t mac[6];
    int link_up;                /* 1 when unknown (no status feature) */
    unsigned int max_tx_inflight;
};

struct netdev;
/* Called from netdev_poll for each frame received (len bytes at frame,
 * valid only during the call). */
typedef void (*netdev_rx_fn)(struct netdev *d, const uint8_t *frame, uint32_t len, void *opaque);

struct netdev_ops {
    /* t checked by netdev_tx; 0 or -EBUSY (queue full). */
    int (*tx)(struct netdev *d, struct netdev_tx *t);
    /* Reap tx completions and received frames; how many. */
    int (*poll)(struct netdev *d);
};

struct netdev {
    struct netdev_info info;
    const struct netdev_ops *ops;
    void *drv;                  /* the driver's */
    netdev_rx_fn rx;            /* NULL: received frames are dropped */
    void *rx_opaque;
    uint64_t rx_frames, rx_dropped, tx_frames;
};

/* 0, or -ENOSPC when the registry (8 devices) is full. */
int netdev_register(struct netdev *d);
struct netdev *netdev_get(unsigned int index);
struct netdev *netdev_find(const char *name);
/* Where received frames go (NULL: dropped, counted). */
void netdev_set_rx(struct netdev *d, netdev_rx_fn fn, void *opaque);
/* Queues a frame: 0, -EBUSY (try after a completion), -EINVAL for a
 * malformed one (no segment, too many, a segment crossing a page, a
 * total outside NETDEV_MIN_FRAME..NETDEV_MAX_FRAME). */
int netdev_tx(struct netdev *d, struct netdev_tx *t);
/* Every device in turn; how many completions and frames. */
int netdev_poll(void);

#endif
