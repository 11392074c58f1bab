/*
 * netfront.h - the pure part of a netif front end (xen/io/netif.h):
 * which tx requests carry a frame and which request ids are in flight,
 * what a tx response releases, and how rx responses are gathered into a
 * received frame. Implemented by guest-drivers/net/netfront.c.
 *
 * Ring access is the caller's (the front-ring helper): it copies
 * responses out before calling here, and puts the requests built here on
 * the ring. Grants are the caller's too: it grants each page a frame
 * spans and passes the refs; a completion hands back the ref to end.
 * As in Linux's netfront, an rx buffer belongs to a ring index (the
 * request posted at index i is answered at index i), so rx responses
 * are identified by their ring index.
 */
#ifndef XLGUEST_NETFRONT_H
#define XLGUEST_NETFRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/grant_table.h>
#include <xen/io/netif.h>

#define NETFRONT_PAGE_SIZE 4096u
#define NETFRONT_TX_IDS    __CONST_RING_SIZE(netif_tx, 4096)   /* 256 */
#define NETFRONT_RX_RING   __CONST_RING_SIZE(netif_rx, 4096)   /* 256 */
/* Data slots of one frame, either way: 65535 bytes at any page offset
 * need 17; netback accepts XEN_NETIF_NR_SLOTS_MIN + 1. */
#define NETFRONT_SLOTS_MAX XEN_NETIF_NR_SLOTS_MIN

/* ---- tx ---- */

struct netfront_tx {
    uint16_t free_head;                 /* first free id, NETFRONT_TX_IDS: none */
    uint16_t nr_free;
    uint16_t next[NETFRONT_TX_IDS];     /* free list links */
    bool busy[NETFRONT_TX_IDS];         /* a request with this id is in flight */
    grant_ref_t gref[NETFRONT_TX_IDS];
};

struct netfront_frame {
    uint32_t len;            /* bytes of the frame */
    uint32_t page_off;       /* offset of its first byte in its first page */
    bool csum_blank;         /* checksum left to the back end (implies validated) */
    bool data_validated;
    uint16_t gso_size;       /* 0: no GSO */
    uint8_t gso_type;        /* XEN_NETIF_GSO_TYPE_TCPV4/6 */
};

void netfront_tx_init(struct netfront_tx *t);

/* Pages the frame spans: how many grant refs netfront_tx_build wants. */
unsigned netfront_tx_pages(const struct netfront_frame *f);

/* Writes the requests for one frame: a data slot per page it spans (the
 * first with the whole length and the checksum flags), a GSO extra right
 * after the first when gso_size is set. grefs[i] grants the frame's i-th
 * page. Returns the number of ring slots written, or -XEN_EINVAL (length
 * below an Ethernet header or above 65535, page_off not inside a page,
 * the first page holding less than an Ethernet header: bounce it, a GSO
 * type netif does not know), -XEN_ENOSPC (cap or free ids short; nothing
 * taken). */
int netfront_tx_build(struct netfront_tx *t, const struct netfront_frame *f,
                      const grant_ref_t *grefs, struct netif_tx_request *out, unsigned cap);

/* One tx response. 0: its id is free again, *gref is the grant to end,
 * *status the back end's verdict; 1: a NETIF_RSP_NULL (extra slot),
 * nothing to do; -XEN_EIO: an id out of range or not in flight (the back
 * end is broken). */
int netfront_tx_complete(struct netfront_tx *t, const struct netif_tx_response *r,
                         int16_t *status, grant_ref_t *gref);

/* ---- rx ---- */

struct netfront_rx {
    bool posted[NETFRONT_RX_RING];
    grant_ref_t gref[NETFRONT_RX_RING];
};

enum netfront_why {
    NETFRONT_OK = 0,
    NETFRONT_WHY_TRUNCATED,     /* fatal: the packet runs past the responses */
    NETFRONT_WHY_NOT_POSTED,    /* fatal: a response where no buffer was posted */
    NETFRONT_WHY_STATUS,        /* drop: negative status or offset+status beyond the page */
    NETFRONT_WHY_ID,            /* drop: id is not the ring index's */
    NETFRONT_WHY_EXTRA_TYPE,    /* drop: extra info NONE or unknown */
    NETFRONT_WHY_TOO_MANY_SLOTS,
    NETFRONT_WHY_LENGTH,        /* drop: shorter than an Ethernet header, or over 65535 */
};

struct netfront_rx_frag {
    uint16_t slot;           /* ring index & (NETFRONT_RX_RING - 1) */
    grant_ref_t gref;
    uint16_t offset, len;
};

struct netfront_rx_pkt {
    uint16_t nr_slots;       /* responses used (data and extras) */
    uint16_t nr_frags;
    uint16_t flags;          /* the first response's NETRXF_csum_blank/data_validated */
    uint32_t len;
    struct netfront_rx_frag frag[NETFRONT_SLOTS_MAX];
    bool gso;
    uint16_t gso_size;
    uint8_t gso_type;
    enum netfront_why why;
};

void netfront_rx_init(struct netfront_rx *r);

/* The request that posts the page behind gref at ring index idx. 0, or
 * -XEN_EBUSY when a buffer is still posted there. */
int netfront_rx_post(struct netfront_rx *r, RING_IDX idx, grant_ref_t gref,
                     struct netif_rx_request *out);

/* Gathers the frame whose first response is at ring index cons;
 * rsp[0..avail) are the responses copied out from there. 0: *p describes
 * it; -XEN_EINVAL: drop it; either way p->nr_slots responses are used and
 * their buffers are no longer posted (re-post them). -XEN_EIO: the back
 * end is broken (nothing consumed). */
int netfront_rx_collect(struct netfront_rx *r, RING_IDX cons, const struct netif_rx_response *rsp,
                        unsigned avail, struct netfront_rx_pkt *p);

#endif
