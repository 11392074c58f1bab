/*
 * netfront.c - the pure part of a netif front end: building the tx
 * requests of a frame (a slot per page, GSO extra, ids from a free list),
 * releasing ids and grants on tx responses, posting rx buffers by ring
 * index and gathering rx responses into one received frame, with the
 * checks Linux's netfront makes (xennet_get_responses/xennet_get_extras).
 * Pure: no inline assembly, no libc, no allocation, no shared memory;
 * host unit tests link it (tests/unit/netfront.mk).
 * Owns: the tx id free list and the rx posted-buffer table. Must never:
 * read the shared ring (the caller hands copies), hand out an id that is
 * in flight, accept a response for an id or ring slot that has nothing
 * in flight, or describe rx data beyond its page.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/eth.h>
#include <xlguest/netfront.h>

#define NO_ID NETFRONT_TX_IDS
#define RX_MASK (NETFRONT_RX_RING - 1)

_Static_assert((NETFRONT_RX_RING & RX_MASK) == 0, "rx ring size is a power of two");
_Static_assert((NETFRONT_PAGE_SIZE - 1 + XEN_NETIF_MAX_TX_SIZE + NETFRONT_PAGE_SIZE - 1) /
                       NETFRONT_PAGE_SIZE <= NETFRONT_SLOTS_MAX,
               "any frame fits the slots netback accepts");
_Static_assert(sizeof(struct netif_extra_info) <= sizeof(struct netif_tx_request),
               "an extra fits a tx slot");

void netfront_tx_init(struct netfront_tx *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned i = 0; i < NETFRONT_TX_IDS; i++)
        t->next[i] = (uint16_t)(i + 1);
    t->free_head = 0;
    t->nr_free = NETFRONT_TX_IDS;
}

static uint16_t take_id(struct netfront_tx *t, grant_ref_t gref)
{
    uint16_t id = t->free_head;
    t->free_head = t->next[id];
    t->nr_free--;
    t->busy[id] = true;
    t->gref[id] = gref;
    return id;
}

unsigned netfront_tx_pages(const struct netfront_frame *f)
{
    return (unsigned)((f->page_off % NETFRONT_PAGE_SIZE + (uint64_t)f->len + NETFRONT_PAGE_SIZE - 1) /
                      NETFRONT_PAGE_SIZE);
}

int netfront_tx_build(struct netfront_tx *t, const struct netfront_frame *f,
                      const grant_ref_t *grefs, struct netif_tx_request *out, unsigned cap)
{
    if (f->len > XEN_NETIF_MAX_TX_SIZE || f->page_off >= NETFRONT_PAGE_SIZE)
        return -XEN_EINVAL;
    uint32_t first = NETFRONT_PAGE_SIZE - f->page_off;
    if (first > f->len)
        first = f->len;
    /* A whole Ethernet header, and in the first slot: netback wants it there. */
    if (first < ETH_HLEN)
        return -XEN_EINVAL;
    bool gso = f->gso_size != 0;
    if (gso && f->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 && f->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
        return -XEN_EINVAL;
    unsigned pages = netfront_tx_pages(f);   /* <= 17: see the assertion above */
    unsigned slots = pages + (gso ? 1 : 0);
    if (slots > cap || pages > t->nr_free)
        return -XEN_ENOSPC;

    uint16_t flags = 0;
    if (f->csum_blank)
        flags |= NETTXF_csum_blank | NETTXF_data_validated;
    else if (f->data_validated)
        flags |= NETTXF_data_validated;
    unsigned n = 0;
    out[n++] = (struct netif_tx_request){
        .gref = grefs[0], .offset = (uint16_t)f->page_off,
        .flags = (uint16_t)(flags | (pages > 1 ? NETTXF_more_data : 0) | (gso ? NETTXF_extra_info : 0)),
        .id = take_id(t, grefs[0]), .size = (uint16_t)f->len};
    if (gso) {
        struct netif_extra_info x = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
        x.u.gso.size = f->gso_size;
        x.u.gso.type = f->gso_type;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n++], &x, sizeof(x));
    }
    uint32_t done = first;
    for (unsigned i = 1; i < pages; i++) {
        uint32_t len = f->len - done < NETFRONT_PAGE_SIZE ? f->len - done : NETFRONT_PAGE_SIZE;
        out[n++] = (struct netif_tx_request){
            .gref = grefs[i], .offset = 0,
            .flags = (uint16_t)(i + 1 < pages ? NETTXF_more_data : 0),
            .id = take_id(t, grefs[i]), .size = (uint16_t)len};
        done += len;
    }
    return (int)n;
}

int netfront_tx_complete(struct netfront_tx *t, const struct netif_tx_response *r,
                         int16_t *status, grant_ref_t *gref)
{
    if (r->status == NETIF_RSP_NULL)
        return 1;
    if (r->id >= NETFRONT_TX_IDS || !t->busy[r->id])
        return -XEN_EIO;
    t->busy[r->id] = false;
    t->next[r->id] = t->free_head;
    t->free_head = r->id;
    t->nr_free++;
    *status = r->status;
    *gref = t->gref[r->id];
    return 0;
}

void netfront_rx_init(struct netfront_rx *r)
{
    memset(r, 0, sizeof(*r));
}

int netfront_rx_post(struct netfront_rx *r, RING_IDX idx, grant_ref_t gref,
                     struct netif_rx_request *out)
{
    unsigned slot = idx & RX_MASK;
    if (r->posted[slot])
        return -XEN_EBUSY;
    r->posted[slot] = true;
    r->gref[slot] = gref;
    *out = (struct netif_rx_request){.id = (uint16_t)slot, .gref = gref};
    return 0;
}

/* One data response at ring slot `slot`. Returns a drop reason or OK. */
static enum netfront_why rx_data(const struct netfront_rx *r, unsigned slot,
                                 const struct netif_rx_response *x, struct netfront_rx_pkt *p)
{
    if (x->id != slot)
        return NETFRONT_WHY_ID;
    if (x->status < 0 || (uint32_t)x->offset + (uint32_t)x->status > NETFRONT_PAGE_SIZE)
        return NETFRONT_WHY_STATUS;
    if (p->nr_frags >= NETFRONT_SLOTS_MAX)
        return NETFRONT_WHY_TOO_MANY_SLOTS;
    p->frag[p->nr_frags++] = (struct netfront_rx_frag){
        .slot = (uint16_t)slot, .gref = r->gref[slot], .offset = x->offset,
        .len = (uint16_t)x->status};
    p->len += (uint32_t)x->status;
    return NETFRONT_OK;
}

int netfront_rx_collect(struct netfront_rx *r, RING_IDX cons, const struct netif_rx_response *rsp,
                        unsigned avail, struct netfront_rx_pkt *p)
{
    memset(p, 0, sizeof(*p));
    enum netfront_why drop = NETFRONT_OK;
    unsigned n = 0;
    if (avail == 0) {
        p->why = NETFRONT_WHY_TRUNCATED;
        return -XEN_EIO;
    }
    const struct netif_rx_response *prev = &rsp[0];
    p->flags = rsp[0].flags & (NETRXF_csum_blank | NETRXF_data_validated);
    bool extras = rsp[0].flags & NETRXF_extra_info;
    for (;;) {
        unsigned slot = (cons + n) & RX_MASK;
        if (!r->posted[slot]) {
            p->why = NETFRONT_WHY_NOT_POSTED;
            return -XEN_EIO;
        }
        bool is_extra = n > 0 && extras;
        if (is_extra) {
            struct netif_extra_info x;
            memcpy(&x, &rsp[n], sizeof(x));
            if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
                if (!drop)
                    drop = NETFRONT_WHY_EXTRA_TYPE;
            } else if (x.type == XEN_NETIF_EXTRA_TYPE_GSO) {
                p->gso = true;
                p->gso_size = x.u.gso.size;
                p->gso_type = x.u.gso.type;
            }
            extras = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
        } else {
            enum netfront_why w = rx_data(r, slot, &rsp[n], p);
            if (w && !drop)
                drop = w;
            prev = &rsp[n];
        }
        n++;
        /* After an extra the chain goes on; after data, if it says so. */
        if (!extras && !(prev->flags & NETRXF_more_data))
            break;
        if (n >= avail) {
            p->why = NETFRONT_WHY_TRUNCATED;
            return -XEN_EIO;
        }
    }
    p->nr_slots = (uint16_t)n;
    for (unsigned i = 0; i < n; i++)
        r->posted[(cons + i) & RX_MASK] = false;
    if (!drop && (p->len < ETH_HLEN || p->len > XEN_NETIF_MAX_TX_SIZE))
        drop = NETFRONT_WHY_LENGTH;
    p->why = drop;
    return drop ? -XEN_EINVAL : 0;
}
