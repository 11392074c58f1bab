/*
 * backring.h - the back end's side of a Xen shared ring (xen/io/ring.h
 * layout: req_prod, req_event, rsp_prod, rsp_event, 48 bytes of padding,
 * then a power-of-two array of request/response unions), for any entry
 * size, so blkback and both netback rings share it. Implemented by
 * guest-drivers/ring/backring.c.
 *
 * Protocol (what the front end may do and what we make of it):
 *  - req_prod is read once per backring_pending() call; everything after
 *    works on that snapshot. A snapshot that claims more than the ring
 *    size of outstanding requests (req_prod - rsp_prod_pvt > nr_ents), or
 *    that lies behind what we already consumed, marks the ring broken:
 *    the caller disconnects (-XEN_EIO from then on).
 *  - Requests are copied out (backring_take) and never read again from
 *    shared memory.
 *  - Responses go to rsp_prod_pvt, never past req_cons (a response for a
 *    request not yet taken), and are published by backring_push.
 */
#ifndef XLGUEST_BACKRING_H
#define XLGUEST_BACKRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/ring.h>
#include <xlguest/barrier_hooks.h>

/* The four indexes at the head of every sring (DEFINE_RING_TYPES). */
struct backring_hdr {
    RING_IDX req_prod, req_event;
    RING_IDX rsp_prod, rsp_event;
    uint8_t pad[48];
};

struct backring {
    volatile struct backring_hdr *hdr;
    uint8_t *entries;        /* shared: entry i at entries + i * entry_size */
    size_t entry_size;
    RING_IDX nr_ents;        /* power of two */
    RING_IDX req_cons;       /* next request to take */
    RING_IDX rsp_prod_pvt;   /* next response slot (unpublished) */
    RING_IDX prod_seen;      /* req_prod snapshot of the last check */
    RING_IDX rsp_pushed;     /* rsp_prod as we last wrote it (never read back) */
    bool broken;
    struct xl_barriers bar;
};

/* Back end attach to a ring of ring_bytes bytes that the front end has
 * initialised; start is where both our indexes begin (0 for a fresh
 * ring). -XEN_EINVAL if the page cannot hold one entry. */
int backring_attach(struct backring *r, void *sring, size_t ring_bytes, size_t entry_size,
                    RING_IDX start, const struct xl_barriers *bar);

/* Entries a ring of ring_bytes bytes holds: __RING_SIZE's rounding. */
RING_IDX backring_size(size_t ring_bytes, size_t entry_size);

/* Reads req_prod once (then rmb) and returns how many requests may be
 * taken now, at most the free response space (RING_HAS_UNCONSUMED_REQUESTS
 * semantics with wrap-around); -XEN_EIO when the producer is impossible
 * (the ring is then broken for good). */
int backring_pending(struct backring *r);

/* Copies the request at req_cons into dst (entry_size bytes) and advances
 * req_cons. Only within what the last backring_pending() allowed:
 * -XEN_ENOENT past it, -XEN_EIO on a broken ring. */
int backring_take(struct backring *r, void *dst);

/* Writes a response (at most entry_size bytes) at rsp_prod_pvt. -XEN_ENOSPC
 * when every taken request already has its response. */
int backring_respond(struct backring *r, const void *rsp, size_t len);

/* Publishes rsp_prod_pvt: wmb, rsp_prod store, mb, then says whether the
 * front end asked for an event (rsp_event within the pushed range). */
bool backring_push(struct backring *r);

/* Before going idle: if nothing is pending, sets req_event = req_cons + 1,
 * mb, and looks again. True means requests arrived (keep working), false
 * means the next request will raise an event. A broken ring returns false. */
bool backring_final_check(struct backring *r);

/* Taken requests still without a response. */
static inline RING_IDX backring_inflight(const struct backring *r)
{
    return r->req_cons - r->rsp_prod_pvt;
}

#endif
