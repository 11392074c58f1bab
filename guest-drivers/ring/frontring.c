/*
 * frontring.c - the front end's producer/consumer logic for a Xen shared
 * ring (xen/io/ring.h), independent of the entry type: request slots,
 * publish with the event check, response snapshots with the impossible-
 * producer check, copy-out, and the final check before sleeping.
 * Pure: no inline assembly (barriers are the caller's hooks), no libc, no
 * allocation; host unit tests link it (tests/unit/frontring.mk).
 * Owns: req_prod_pvt, req_prod, rsp_cons and rsp_event of its ring.
 * Must never: read a response from shared memory twice, touch an entry
 * outside the nr_ents slots whatever the indexes say, overwrite a
 * request slot whose response was not taken, or trust rsp_prod beyond
 * one snapshot.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/frontring.h>

int frontring_init(struct frontring *r, void *sring, size_t ring_bytes, size_t entry_size,
                   const struct xl_barriers *bar)
{
    RING_IDX n = backring_size(ring_bytes, entry_size);
    memset(r, 0, sizeof(*r));
    if (!sring || n == 0)
        return -XEN_EINVAL;
    r->hdr = sring;
    r->entries = (uint8_t *)sring + sizeof(struct backring_hdr);
    r->entry_size = entry_size;
    r->nr_ents = n;
    memset(sring, 0, sizeof(struct backring_hdr));
    r->hdr->req_event = 1;
    r->hdr->rsp_event = 1;
    if (bar)
        r->bar = *bar;
    return 0;
}

RING_IDX frontring_free(const struct frontring *r)
{
    return r->broken ? 0 : r->nr_ents - (r->req_prod_pvt - r->rsp_cons);
}

int frontring_put(struct frontring *r, const void *req, size_t len)
{
    if (r->broken)
        return -XEN_EIO;
    if (len > r->entry_size || !frontring_free(r))
        return len > r->entry_size ? -XEN_EINVAL : -XEN_ENOSPC;
    uint8_t *dst = r->entries + (size_t)(r->req_prod_pvt & (r->nr_ents - 1)) * r->entry_size;
    memcpy(dst, req, len);
    memset(dst + len, 0, r->entry_size - len);
    r->req_prod_pvt++;
    return 0;
}

bool frontring_push(struct frontring *r)
{
    RING_IDX old = r->req_pushed, new = r->req_prod_pvt;
    xl_wmb(&r->bar); /* the back end sees the requests before the index */
    r->hdr->req_prod = new;
    r->req_pushed = new;
    xl_mb(&r->bar);  /* req_prod visible before we read req_event */
    return (RING_IDX)(new - r->hdr->req_event) < (RING_IDX)(new - old);
}

int frontring_pending(struct frontring *r)
{
    if (r->broken)
        return -XEN_EIO;
    RING_IDX prod = r->hdr->rsp_prod;
    xl_rmb(&r->bar); /* the responses up to prod are read after prod */
    /* Never more responses than published requests, never backwards. */
    if ((RING_IDX)(prod - r->rsp_cons) > (RING_IDX)(r->req_pushed - r->rsp_cons) ||
        (RING_IDX)(r->rsp_seen - r->rsp_cons) > (RING_IDX)(prod - r->rsp_cons)) {
        r->broken = true;
        return -XEN_EIO;
    }
    r->rsp_seen = prod;
    return (int)(prod - r->rsp_cons);
}

int frontring_take(struct frontring *r, void *dst, size_t len)
{
    if (r->broken)
        return -XEN_EIO;
    if (len > r->entry_size)
        return -XEN_EINVAL;
    if (r->rsp_cons == r->rsp_seen)
        return -XEN_ENOENT;
    const uint8_t *src = r->entries + (size_t)(r->rsp_cons & (r->nr_ents - 1)) * r->entry_size;
    memcpy(dst, src, len);
    r->rsp_cons++;
    return 0;
}

bool frontring_final_check(struct frontring *r)
{
    if (r->broken)
        return false;
    int n = frontring_pending(r);
    if (n != 0)
        return n > 0;
    r->hdr->rsp_event = r->rsp_cons + 1;
    xl_mb(&r->bar); /* rsp_event visible before we read rsp_prod again */
    n = frontring_pending(r);
    return n > 0;
}
