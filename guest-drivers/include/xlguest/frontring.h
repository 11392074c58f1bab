/*
 * frontring.h - the front end's side of a Xen shared ring (xen/io/ring.h
 * layout, any entry size), the mirror of backring.h: requests go out at
 * req_prod_pvt and are published by frontring_push; responses are read
 * once per frontring_pending() snapshot of rsp_prod and copied out.
 * Implemented by guest-drivers/ring/frontring.c.
 *
 * Protocol (what the back end may do and what we make of it):
 *  - rsp_prod is read once per frontring_pending(); a snapshot that
 *    claims more responses than requests were published, or lies behind
 *    what we consumed, breaks the ring (-XEN_EIO from then on): the
 *    caller fails its requests and disconnects.
 *  - A request slot is reused only after its response was taken.
 */
#ifndef XLGUEST_FRONTRING_H
#define XLGUEST_FRONTRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xlguest/backring.h>

struct frontring {
    volatile struct backring_hdr *hdr;
    uint8_t *entries;
    size_t entry_size;
    RING_IDX nr_ents;        /* power of two */
    RING_IDX req_prod_pvt;   /* next request slot (unpublished) */
    RING_IDX req_pushed;     /* req_prod as we last wrote it */
    RING_IDX rsp_cons;       /* next response to take */
    RING_IDX rsp_seen;       /* rsp_prod snapshot of the last check */
    bool broken;
    struct xl_barriers bar;
};

/* Initialise a fresh shared ring of ring_bytes (SHARED_RING_INIT: all
 * indexes 0, events at 1) and our view of it. -XEN_EINVAL if the page
 * cannot hold one entry. */
int frontring_init(struct frontring *r, void *sring, size_t ring_bytes, size_t entry_size,
                   const struct xl_barriers *bar);

/* Request slots free now (not yet answered requests use the others). */
RING_IDX frontring_free(const struct frontring *r);

/* Copies a request (at most entry_size bytes, the rest zeroed) into the
 * next slot. -XEN_ENOSPC when the ring is full, -XEN_EIO when broken. */
int frontring_put(struct frontring *r, const void *req, size_t len);

/* Publishes req_prod_pvt: wmb, req_prod store, mb, then says whether the
 * back end asked for an event (req_event within the pushed range). */
bool frontring_push(struct frontring *r);

/* Reads rsp_prod once (then rmb): how many responses may be taken now;
 * -XEN_EIO when the producer is impossible. */
int frontring_pending(struct frontring *r);

/* Copies the response at rsp_cons into dst (its first len bytes, len <=
 * entry_size) and advances. -XEN_ENOENT past the last snapshot, -XEN_EIO
 * when broken, -XEN_EINVAL for len > entry_size. */
int frontring_take(struct frontring *r, void *dst, size_t len);

/* Before sleeping: rsp_event = rsp_cons + 1, mb, look again. True means
 * responses arrived. A broken ring returns false. */
bool frontring_final_check(struct frontring *r);

/* Published or queued requests without a response yet. */
static inline RING_IDX frontring_outstanding(const struct frontring *r)
{
    return r->req_prod_pvt - r->rsp_cons;
}

#endif
