/*
 * netfront_dev.h - a netif front end (xen/io/netif.h) for the kit's guest
 * kernels, the peer of dom0's netback and of Linux's xen-netback: finds
 * device/vif/<id>, grants a tx and an rx ring, allocates an event
 * channel, posts rx buffers (request-rx-copy: the back end copies into
 * our pages), writes its nodes, goes Initialised and waits for
 * Connected. Frames go out through netfront_send (one slot per page,
 * NETTXF_more_data between them); frames come in through netfront_poll's
 * callback (slots with NETRXF_more_data joined). Implemented by
 * guest-drivers/net/netfront_dev.c, on frontring.c. The caller's kernel
 * must have VIRQ_TIMER bound (the waits sleep on the timer) and must
 * never hand a struct netfront's pages or grants to anything else.
 */
#ifndef XLGUEST_NETFRONT_DEV_H
#define XLGUEST_NETFRONT_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>
#include <xlguest/frontring.h>
#include <xlguest/xenbus.h>

#define NETFRONT_TX_BUFS 32      /* tx pages, granted read-only to the back end */
#define NETFRONT_RX_BUFS 64      /* rx pages posted */
#define NETFRONT_FRAME_MAX 65535
#define NETFRONT_CONNECT_MS 5000 /* bound on each wait for the back end */

struct netfront_stats {
    uint64_t tx_pkts, tx_err, tx_busy, rx_pkts, rx_err, rx_bad, events;
    uint64_t raw_okay, raw_error, raw_dropped, raw_null;   /* netfront_tx_raw's answers */
};

struct netfront {
    struct xenbus *xb;
    domid_t backend_id;
    unsigned int devid;
    char fe[64], be[64];
    uint8_t mac[6];
    bool sg;                        /* feature-sg: we take multi-slot rx */
    bool connected, broken;
    struct frontring tx, rx;
    void *tx_ring, *rx_ring;
    grant_ref_t tx_ring_ref, rx_ring_ref;
    evtchn_port_t port;
    volatile unsigned long kicks;
    uint8_t *tx_pages, *rx_pages;
    grant_ref_t tx_gref[NETFRONT_TX_BUFS], rx_gref[NETFRONT_RX_BUFS];
    uint16_t tx_free[NETFRONT_TX_BUFS];
    unsigned int ntx_free;
    bool rx_posted[NETFRONT_RX_BUFS];
    uint8_t *frame;                 /* rx reassembly, NETFRONT_FRAME_MAX */
    size_t frame_len;
    bool frame_bad;
    struct netfront_stats st;
};

/* Options the caller may change before netfront_init. */
struct netfront_opts {
    bool no_sg;                     /* do not write feature-sg=1 */
};

/* Sets up and connects device/vif/<devid>. 0 or a negative Xen errno
 * (-XEN_ENOENT: no such vif, -XEN_ETIMEDOUT: the back end did not go
 * InitWait / Connected in NETFRONT_CONNECT_MS, -XEN_ENOMEM). */
int netfront_init(struct netfront *nf, struct xenbus *xb, unsigned int devid,
                  const struct netfront_opts *o);

/* Queues one frame (14..65535 bytes) and notifies. -XEN_EAGAIN when no
 * tx buffer or slot is free (poll and retry), -XEN_EINVAL for a bad
 * length, -XEN_EIO once the ring is broken. */
int netfront_send(struct netfront *nf, const void *frame, size_t len);

/* Takes tx and rx responses (reposting rx buffers) and hands each frame
 * to rx(opaque, frame, len); rx NULL: tx answers only (frees tx buffers
 * from inside a sender). Returns the frames received, or -XEN_EIO when
 * the back end broke a ring. */
int netfront_poll(struct netfront *nf, void (*rx)(void *opaque, const uint8_t *frame, size_t len),
                  void *opaque);

/* The hostile hook: n raw tx requests as given (ids >= NETFRONT_TX_BUFS,
 * so their answers are only counted in st.raw_*), pushed and notified. */
int netfront_tx_raw(struct netfront *nf, const struct netif_tx_request *reqs, unsigned int n);

/* Closing, wait (bounded) for the back end to close, end every grant,
 * close the channel, Closed. */
void netfront_close(struct netfront *nf);

#endif
