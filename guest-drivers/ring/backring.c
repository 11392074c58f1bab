/*
 * backring.c - the back end's consumer/producer logic for a Xen shared
 * ring (xen/io/ring.h), independent of the entry type: index snapshots,
 * the impossible-producer check, copy-out of requests, response publish
 * with the event check, and the final check before sleeping.
 * Pure: no inline assembly (barriers are the caller's hooks), no libc,
 * no allocation; host unit tests link it (tests/unit/backring.mk).
 * Owns: req_cons, rsp_prod_pvt, rsp_prod and req_event of its ring.
 * Must never: read a request from shared memory twice, touch an entry
 * outside the nr_ents slots whatever the indexes say, trust req_prod
 * beyond one snapshot, or publish a response for a request not taken.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/backring.h>

RING_IDX backring_size(size_t ring_bytes, size_t entry_size)
{
    if (entry_size == 0 || ring_bytes < sizeof(struct backring_hdr) + entry_size)
        return 0;
    size_t n = (ring_bytes - sizeof(struct backring_hdr)) / entry_size;
    RING_IDX p = 1;
    while ((size_t)p * 2 <= n && p < (1u << 30))
        p *= 2;
    return p;
}

int backring_attach(struct backring *r, void *sring, size_t ring_bytes, size_t entry_size,
                    RING_IDX start, const struct xl_barriers *bar)
{
    RING_IDX n = backring_size(ring_bytes, entry_size);
    memset(r, 0, sizeof(*r));
    if (!sring || n == 0)
        return -XEN_EINVAL;
    r->hdr = sring;
    r->entries = (uint8_t *)sring + sizeof(struct backring_hdr);
    r->entry_size = entry_size;
    r->nr_ents = n;
    r->req_cons = r->rsp_prod_pvt = r->prod_seen = r->rsp_pushed = start;
    if (bar)
        r->bar = *bar;
    return 0;
}

int backring_pending(struct backring *r)
{
    if (r->broken)
        return -XEN_EIO;
    RING_IDX prod = r->hdr->req_prod;
    xl_rmb(&r->bar); /* the requests up to prod are read after prod */
    /* Outstanding requests (taken or not) can never exceed the ring, and
     * the producer never moves back behind what we already took. */
    RING_IDX outstanding = prod - r->rsp_prod_pvt;
    if (outstanding > r->nr_ents || r->req_cons - r->rsp_prod_pvt > outstanding) {
        r->broken = true;
        return -XEN_EIO;
    }
    r->prod_seen = prod;
    RING_IDX req = prod - r->req_cons;
    RING_IDX space = r->nr_ents - (r->req_cons - r->rsp_prod_pvt);
    return (int)(req < space ? req : space);
}

int backring_take(struct backring *r, void *dst)
{
    if (r->broken)
        return -XEN_EIO;
    if (r->req_cons == r->prod_seen || r->req_cons - r->rsp_prod_pvt >= r->nr_ents)
        return -XEN_ENOENT;
    const uint8_t *src = r->entries + (size_t)(r->req_cons & (r->nr_ents - 1)) * r->entry_size;
    memcpy(dst, src, r->entry_size);
    r->req_cons++;
    return 0;
}

int backring_respond(struct backring *r, const void *rsp, size_t len)
{
    if (r->broken)
        return -XEN_EIO;
    if (len > r->entry_size)
        return -XEN_EINVAL;
    if (r->rsp_prod_pvt == r->req_cons)
        return -XEN_ENOSPC;
    uint8_t *dst = r->entries + (size_t)(r->rsp_prod_pvt & (r->nr_ents - 1)) * r->entry_size;
    memcpy(dst, rsp, len);
    r->rsp_prod_pvt++;
    return 0;
}

bool backring_push(struct backring *r)
{
    RING_IDX old = r->rsp_pushed; /* the front end can scribble on rsp_prod */
    RING_IDX new = r->rsp_prod_pvt;
    if (old == new)
        return false;
    xl_wmb(&r->bar);  /* responses visible before the index */
    r->hdr->rsp_prod = new;
    r->rsp_pushed = new;
    xl_mb(&r->bar);   /* index visible before we read rsp_event */
    RING_IDX ev = r->hdr->rsp_event;
    return (RING_IDX)(new - ev) < (RING_IDX)(new - old);
}

bool backring_final_check(struct backring *r)
{
    int n = backring_pending(r);
    if (n != 0)
        return n > 0;
    r->hdr->req_event = r->req_cons + 1;
    xl_mb(&r->bar);   /* req_event visible before we look at req_prod again */
    return backring_pending(r) > 0;
}
