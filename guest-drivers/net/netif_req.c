/*
 * netif_req.c - netback's request judge: walks one tx packet in requests
 * already copied out of the ring (first slot, extra-info slots, follow-on
 * slots) and accepts it as a normalised struct netif_tx_pkt, drops it
 * (NETIF_RSP_ERROR for every slot) or declares the front end broken
 * (-XEN_EIO); builds the tx responses; plans how a received frame is
 * copied into the front end's rx requests and what they answer.
 * Pure: no inline assembly, no libc, no allocation, no shared memory;
 * host unit tests link it (tests/unit/netif.mk).
 * Owns: nothing but the verdict and the plan. Must never: read the shared
 * ring (the caller hands a private copy), accept a slot that leaves its
 * page, lose count of the slots a dropped packet used (each one gets a
 * response), or plan a copy that crosses a page on either side.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/eth.h>
#include <xlguest/netif_req.h>

static const char *const why_names[] = {
    [NETIF_OK] = "ok",
    [NETIF_WHY_TRUNCATED] = "packet runs past the requests",
    [NETIF_WHY_EXTRA_TYPE] = "bad extra info type",
    [NETIF_WHY_TOO_MANY_EXTRAS] = "too many extra info slots",
    [NETIF_WHY_CROSS_PAGE] = "slot crosses its page",
    [NETIF_WHY_SLOTS_FATAL] = "far too many slots",
    [NETIF_WHY_GSO_SIZE] = "GSO size zero",
    [NETIF_WHY_GSO_TYPE] = "bad GSO type",
    [NETIF_WHY_TOO_MANY_SLOTS] = "too many slots",
    [NETIF_WHY_SIZE_SUM] = "slots larger than the packet",
    [NETIF_WHY_RUNT] = "shorter than an Ethernet header",
    [NETIF_WHY_OVERSIZE] = "longer than the MTU",
    [NETIF_WHY_BAD_GREF] = "reserved or out-of-range grant ref",
    [NETIF_WHY_GSO_NOT_ADVERTISED] = "GSO type not advertised",
    [NETIF_WHY_MCAST_NOT_ADVERTISED] = "multicast control not advertised",
    [NETIF_WHY_MCAST_DATA] = "multicast control with data",
    [NETIF_WHY_BAD_CONFIG] = "netif configuration invalid",
    [NETIF_WHY_NO_SPACE] = "not enough rx requests",
    [NETIF_WHY_FRAME_LEN] = "frame length not acceptable",
};

const char *netif_why_str(enum netif_why why)
{
    if ((unsigned)why < ARRAY_SIZE(why_names) && why_names[why])
        return why_names[why];
    return "?";
}

static bool cfg_ok(const struct netif_cfg *cfg)
{
    return cfg->mtu >= 68 && cfg->mtu <= XEN_NETIF_MAX_TX_SIZE - ETH_HLEN - VLAN_HLEN;
}

static uint32_t frame_max(const struct netif_cfg *cfg)
{
    return cfg->mtu + ETH_HLEN + VLAN_HLEN;
}

static bool gref_ok(const struct netif_cfg *cfg, grant_ref_t g)
{
    return g >= GNTTAB_NR_RESERVED_ENTRIES && (cfg->gref_limit == 0 || g < cfg->gref_limit);
}

/* The front end is broken: no slot of it is answered. */
static int fatal(struct netif_tx_pkt *p, enum netif_why why)
{
    p->why = why;
    p->nr_slots = 0;
    return -XEN_EIO;
}

static int drop(struct netif_tx_pkt *p, enum netif_why why)
{
    p->why = why;
    return NETIF_RSP_ERROR;
}

/* Records one extra info slot (the caller has checked its type). */
static void take_extra(struct netif_tx_pkt *p, const struct netif_extra_info *x)
{
    switch (x->type) {
    case XEN_NETIF_EXTRA_TYPE_GSO:
        p->gso = true;
        p->gso_size = x->u.gso.size;
        p->gso_type = x->u.gso.type;
        p->gso_features = x->u.gso.features;
        break;
    case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
    case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
        p->mcast_op = x->type;
        memcpy(p->mcast_addr, x->u.mcast.addr, sizeof(p->mcast_addr));
        break;
    case XEN_NETIF_EXTRA_TYPE_HASH:
        p->hash = true;
        p->hash_type = x->u.hash.type;
        p->hash_alg = x->u.hash.algorithm;
        p->hash_value = (uint32_t)x->u.hash.value[0] | (uint32_t)x->u.hash.value[1] << 8 |
                        (uint32_t)x->u.hash.value[2] << 16 | (uint32_t)x->u.hash.value[3] << 24;
        break;
    }
}

/* The extra info chain after the first slot. Returns 0 or a fatal why;
 * advances *n past it. A later extra of a type seen before replaces it, as
 * in Linux. */
static enum netif_why walk_extras(struct netif_tx_pkt *p, const struct netif_tx_request *slots,
                                  unsigned avail, unsigned *n)
{
    uint8_t more;
    do {
        if (*n >= avail)
            return NETIF_WHY_TRUNCATED;
        if (p->nr_extras >= NETIF_TX_EXTRAS_MAX)
            return NETIF_WHY_TOO_MANY_EXTRAS;
        struct netif_extra_info x;
        memcpy(&x, &slots[*n], sizeof(x));
        if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)
            return NETIF_WHY_EXTRA_TYPE;
        take_extra(p, &x);
        p->nr_extras++;
        (*n)++;
        more = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
    } while (more);
    return NETIF_OK;
}

/* The follow-on slots. Fatal problems return at once; the first drop
 * reason is kept in *drop_why while the walk goes on, so that every slot
 * of a dropped packet is counted. */
static enum netif_why walk_follow(const struct netif_cfg *cfg, struct netif_tx_pkt *p,
                                  const struct netif_tx_request *slots, unsigned avail,
                                  unsigned *n, uint32_t *rest, enum netif_why *drop_why)
{
    const struct netif_tx_request *prev = &slots[0];
    unsigned follow = 0;
    while (prev->flags & NETTXF_more_data) {
        if (*n >= avail)
            return NETIF_WHY_TRUNCATED;
        if (follow >= NETIF_TX_FOLLOW_FATAL)
            return NETIF_WHY_SLOTS_FATAL;
        const struct netif_tx_request *t = &slots[*n];
        if ((uint32_t)t->offset + t->size > NETIF_PAGE_SIZE)
            return NETIF_WHY_CROSS_PAGE;
        if (!*drop_why && follow >= NETIF_TX_FOLLOW_MAX)
            *drop_why = NETIF_WHY_TOO_MANY_SLOTS;
        if (!*drop_why && *rest + t->size > slots[0].size)
            *drop_why = NETIF_WHY_SIZE_SUM;
        if (!*drop_why && !gref_ok(cfg, t->gref))
            *drop_why = NETIF_WHY_BAD_GREF;
        *rest += t->size;
        p->ids[1 + follow] = t->id;
        if (follow < NETIF_TX_FOLLOW_MAX)
            p->frag[1 + follow] = (struct netif_tx_frag){t->gref, t->offset, t->size};
        follow++;
        (*n)++;
        prev = t;
    }
    p->nr_frags = (uint16_t)(1 + follow);
    return NETIF_OK;
}

/* What the extras ask for, once the data slots are known. */
static enum netif_why check_extras(const struct netif_cfg *cfg, const struct netif_tx_pkt *p,
                                   bool *is_fatal)
{
    *is_fatal = true;
    if (p->gso && p->gso_size == 0)
        return NETIF_WHY_GSO_SIZE;
    if (p->gso && p->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 && p->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
        return NETIF_WHY_GSO_TYPE;
    *is_fatal = false;
    if (p->gso && !(cfg->gso_types & (1u << p->gso_type)))
        return NETIF_WHY_GSO_NOT_ADVERTISED;
    if (p->mcast_op && !cfg->mcast_ctrl)
        return NETIF_WHY_MCAST_NOT_ADVERTISED;
    if (p->mcast_op && p->nr_frags > 1)
        return NETIF_WHY_MCAST_DATA;
    return NETIF_OK;
}

int netif_tx_parse(const struct netif_cfg *cfg, const struct netif_tx_request *slots,
                   unsigned avail, struct netif_tx_pkt *p)
{
    memset(p, 0, sizeof(*p));
    if (avail == 0)
        return fatal(p, NETIF_WHY_TRUNCATED);
    const struct netif_tx_request *first = &slots[0];
    p->ids[0] = first->id;
    p->flags = first->flags & (NETTXF_csum_blank | NETTXF_data_validated);
    p->len = first->size;
    unsigned n = 1;

    if (first->flags & NETTXF_extra_info) {
        enum netif_why w = walk_extras(p, slots, avail, &n);
        if (w != NETIF_OK)
            return fatal(p, w);
    }
    uint32_t rest = 0;
    enum netif_why drop_why = NETIF_OK;
    enum netif_why w = walk_follow(cfg, p, slots, avail, &n, &rest, &drop_why);
    if (w != NETIF_OK)
        return fatal(p, w);
    p->nr_slots = (uint16_t)n;

    /* The first slot holds what the others do not. */
    uint32_t own = rest <= first->size ? first->size - rest : 0;
    if (!drop_why && (uint32_t)first->offset + own > NETIF_PAGE_SIZE)
        return fatal(p, NETIF_WHY_CROSS_PAGE);
    bool is_fatal;
    w = check_extras(cfg, p, &is_fatal);
    if (w != NETIF_OK && is_fatal)
        return fatal(p, w);
    if (!cfg_ok(cfg))
        return drop(p, NETIF_WHY_BAD_CONFIG);
    if (drop_why)
        return drop(p, drop_why);
    if (w != NETIF_OK)
        return drop(p, w);
    if (p->mcast_op)
        return NETIF_RSP_OKAY;   /* a control request: its data slot means nothing */
    if (!gref_ok(cfg, first->gref))
        return drop(p, NETIF_WHY_BAD_GREF);
    p->frag[0] = (struct netif_tx_frag){first->gref, first->offset, (uint16_t)own};
    if (p->len < ETH_HLEN)
        return drop(p, NETIF_WHY_RUNT);
    if (!p->gso && p->len > frame_max(cfg))
        return drop(p, NETIF_WHY_OVERSIZE);
    return NETIF_RSP_OKAY;
}

int netif_tx_responses(const struct netif_tx_pkt *p, int16_t status,
                       struct netif_tx_response *rsp, unsigned cap)
{
    /* A fatal verdict has no slots to answer. */
    if (p->nr_slots == 0 || p->nr_frags == 0 || p->nr_slots != p->nr_extras + p->nr_frags)
        return -XEN_EINVAL;
    if (p->nr_slots > cap)
        return -XEN_ENOSPC;
    unsigned n = 0;
    rsp[n++] = (struct netif_tx_response){p->ids[0], status};
    for (unsigned i = 0; i < p->nr_extras; i++)
        rsp[n++] = (struct netif_tx_response){0, NETIF_RSP_NULL};
    for (unsigned i = 1; i < p->nr_frags; i++)
        rsp[n++] = (struct netif_tx_response){p->ids[i], status};
    return (int)n;
}

static int rx_refuse(struct netif_rx_plan *plan, enum netif_why why)
{
    plan->why = why;
    plan->nr_slots = plan->nr_chunks = 0;
    return why == NETIF_WHY_NO_SPACE ? -XEN_EAGAIN : -XEN_EINVAL;
}

/* Chunks for data slot `slot` covering frame bytes [from, to), cut where
 * the frame's own pages end. */
static void rx_chunks(struct netif_rx_plan *plan, const struct netif_rx_meta *m, uint16_t slot,
                      grant_ref_t gref, uint32_t from, uint32_t to)
{
    uint32_t pos = from;
    while (pos < to) {
        uint32_t src_page_left = NETIF_PAGE_SIZE - (m->page_off + pos) % NETIF_PAGE_SIZE;
        uint32_t len = to - pos < src_page_left ? to - pos : src_page_left;
        plan->chunk[plan->nr_chunks++] = (struct netif_rx_chunk){
            .slot = slot, .gref = gref, .dst_off = (uint16_t)(pos - from),
            .len = (uint16_t)len, .src_off = pos};
        pos += len;
    }
}

/* The GSO extra, written over the response of its slot (both are 8 bytes). */
static void rx_gso_extra(struct netif_rx_plan *plan, unsigned slot, const struct netif_rx_meta *m)
{
    struct netif_extra_info x = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
    x.u.gso.size = m->gso_size;
    x.u.gso.type = m->gso_type;
    _Static_assert(sizeof(x) == sizeof(plan->rsp[0]), "extra info overlays a response");
    memcpy(&plan->rsp[slot], &x, sizeof(x));
}

int netif_rx_plan(const struct netif_cfg *cfg, const struct netif_rx_request *reqs,
                  unsigned avail, const struct netif_rx_meta *m, struct netif_rx_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (!cfg_ok(cfg))
        return rx_refuse(plan, NETIF_WHY_BAD_CONFIG);
    if (m->len == 0 || m->len > XEN_NETIF_MAX_TX_SIZE || (!m->gso_size && m->len > frame_max(cfg)))
        return rx_refuse(plan, NETIF_WHY_FRAME_LEN);
    if (m->gso_size && (m->gso_type > 31 || !(cfg->gso_types & (1u << m->gso_type))))
        return rx_refuse(plan, NETIF_WHY_GSO_NOT_ADVERTISED);
    unsigned data = (m->len + NETIF_PAGE_SIZE - 1) / NETIF_PAGE_SIZE;
    unsigned extra = m->gso_size ? 1 : 0;
    if (avail < data + extra)
        return rx_refuse(plan, NETIF_WHY_NO_SPACE);

    uint16_t first_flags = 0;
    if (m->csum_blank)
        first_flags |= NETRXF_csum_blank | NETRXF_data_validated;
    else if (m->data_validated)
        first_flags |= NETRXF_data_validated;
    if (extra)
        first_flags |= NETRXF_extra_info;

    unsigned slot = 0;
    for (unsigned d = 0; d < data; d++, slot++) {
        if (d == 1 && extra)
            rx_gso_extra(plan, slot++, m);   /* right after the first data slot */
        uint32_t from = d * NETIF_PAGE_SIZE;
        uint32_t to = from + NETIF_PAGE_SIZE < m->len ? from + NETIF_PAGE_SIZE : m->len;
        rx_chunks(plan, m, (uint16_t)slot, reqs[slot].gref, from, to);
        struct netif_rx_response *r = &plan->rsp[slot];
        r->id = reqs[slot].id;
        r->offset = 0;
        r->flags = (uint16_t)((d == 0 ? first_flags : 0) | (to < m->len ? NETRXF_more_data : 0));
        r->status = (int16_t)(to - from);
    }
    if (data == 1 && extra)
        rx_gso_extra(plan, slot++, m);
    plan->nr_slots = (uint16_t)slot;
    return 0;
}

void netif_rx_copy_failed(struct netif_rx_plan *plan, unsigned c)
{
    if (c < plan->nr_chunks)
        plan->rsp[plan->chunk[c].slot].status = NETIF_RSP_ERROR;
}
