/*
 * test_netif.c - host unit tests for netback's netif request judge
 * (guest-drivers/net/netif_req.c, xlguest/netif_req.h): tx packets of one
 * and many slots accepted and normalised; each rule refusing with the
 * right verdict (drop or fatal) and reason: slots crossing their page,
 * follow-on sizes beyond the first, runts, oversize frames with and
 * without GSO, slot counts at each limit, truncated packets and extra
 * chains, bad extra and GSO types, grant refs; tx responses (NULL for
 * extras); rx plans: slot split, source page cuts, GSO extra placement,
 * flags, refusals, and random frames whose plans must cover the frame
 * exactly. Links: netif_req.c only. Mocks: nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/netif_req.h>

static struct netif_cfg cfg_std(void)
{
    struct netif_cfg c = {
        .mtu = 1500,
        .gso_types = 1u << XEN_NETIF_GSO_TYPE_TCPV4,
        .mcast_ctrl = true,
        .gref_limit = 1024,
    };
    return c;
}

static struct netif_tx_request tx(grant_ref_t gref, uint16_t off, uint16_t flags, uint16_t id,
                                  uint16_t size)
{
    struct netif_tx_request t = {.gref = gref, .offset = off, .flags = flags, .id = id, .size = size};
    return t;
}

static struct netif_tx_request extra_slot(uint8_t type, uint8_t flags)
{
    struct netif_extra_info x;
    memset(&x, 0, sizeof(x));
    x.type = type;
    x.flags = flags;
    if (type == XEN_NETIF_EXTRA_TYPE_GSO) {
        x.u.gso.size = 1448;
        x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    }
    struct netif_tx_request t;   /* the extra overlays the slot's first 8 bytes */
    memset(&t, 0, sizeof(t));
    memcpy(&t, &x, sizeof(x));
    return t;
}

#define EXPECT(cfg, slots, n, status, why_)                                     \
    do {                                                                        \
        struct netif_tx_pkt p_;                                                 \
        int st_ = netif_tx_parse(cfg, slots, n, &p_);                           \
        if (st_ != (status) || p_.why != (why_))                                \
            fail_msg("%s:%d: status %d why '%s', want %d '%s'", __FILE__, __LINE__, \
                     st_, netif_why_str(p_.why), status, netif_why_str(why_));   \
    } while (0)

static void test_single_slot(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[2] = {tx(100, 64, NETTXF_csum_blank | NETTXF_data_validated, 7, 60),
                                    tx(101, 0, 0, 8, 60)};
    struct netif_tx_pkt p;
    assert_int_equal(netif_tx_parse(&c, s, 2, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.nr_slots, 1);     /* the next packet is not ours */
    assert_int_equal(p.nr_frags, 1);
    assert_int_equal(p.len, 60);
    assert_int_equal(p.flags, NETTXF_csum_blank | NETTXF_data_validated);
    assert_int_equal(p.frag[0].gref, 100);
    assert_int_equal(p.frag[0].offset, 64);
    assert_int_equal(p.frag[0].len, 60);
    assert_int_equal(p.ids[0], 7);
    assert_false(p.gso);
    /* A whole page is fine, one byte more is not. */
    s[0] = tx(100, 0, 0, 7, 4096);
    c.mtu = 9000;
    EXPECT(&c, s, 1, NETIF_RSP_OKAY, NETIF_OK);
    s[0] = tx(100, 1, 0, 7, 4096);
    EXPECT(&c, s, 1, -XEN_EIO, NETIF_WHY_CROSS_PAGE);
}

static void test_multi_slot(void **state)
{
    struct netif_cfg c = cfg_std();
    c.mtu = 9000;
    /* 5000 bytes: 1000 in the first slot, 2000 + 2000 after. */
    struct netif_tx_request s[3] = {tx(10, 3096, NETTXF_more_data, 1, 5000),
                                    tx(11, 0, NETTXF_more_data, 2, 2000),
                                    tx(12, 2096, 0, 3, 2000)};
    struct netif_tx_pkt p;
    assert_int_equal(netif_tx_parse(&c, s, 3, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.nr_slots, 3);
    assert_int_equal(p.nr_frags, 3);
    assert_int_equal(p.len, 5000);
    assert_int_equal(p.frag[0].len, 1000);
    assert_int_equal(p.frag[0].offset, 3096);
    assert_int_equal(p.frag[1].len, 2000);
    assert_int_equal(p.frag[2].gref, 12);
    assert_int_equal(p.frag[2].offset, 2096);
    assert_int_equal(p.ids[2], 3);
    /* The first slot's own share is what must fit its page, not the total. */
    s[0].offset = 3097;
    EXPECT(&c, s, 3, -XEN_EIO, NETIF_WHY_CROSS_PAGE);
    s[0].offset = 3096;
    s[2].offset = 2097;
    EXPECT(&c, s, 3, -XEN_EIO, NETIF_WHY_CROSS_PAGE);
    s[2].offset = 2096;
    /* Follow-on slots may carry exactly the packet, not more. */
    s[0].size = 4000;
    EXPECT(&c, s, 3, NETIF_RSP_OKAY, NETIF_OK);
    s[0].size = 3999;
    assert_int_equal(netif_tx_parse(&c, s, 3, &p), NETIF_RSP_ERROR);
    assert_int_equal(p.why, NETIF_WHY_SIZE_SUM);
    assert_int_equal(p.nr_slots, 3);   /* every slot is answered */
    /* A packet that ends where the caller's copy ends is fine ... */
    s[2].flags = 0;
    s[0].size = 4000;
    EXPECT(&c, s, 3, NETIF_RSP_OKAY, NETIF_OK);
    /* ... one that runs past it is a broken front end. */
    s[2].flags = NETTXF_more_data;
    EXPECT(&c, s, 3, -XEN_EIO, NETIF_WHY_TRUNCATED);
    EXPECT(&c, s, 2, -XEN_EIO, NETIF_WHY_TRUNCATED);
    EXPECT(&c, s, 0, -XEN_EIO, NETIF_WHY_TRUNCATED);
}

static void test_lengths(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[2] = {tx(10, 0, 0, 1, 14)};
    EXPECT(&c, s, 1, NETIF_RSP_OKAY, NETIF_OK);
    s[0].size = 13;
    EXPECT(&c, s, 1, NETIF_RSP_ERROR, NETIF_WHY_RUNT);
    s[0].size = 0;
    EXPECT(&c, s, 1, NETIF_RSP_ERROR, NETIF_WHY_RUNT);
    /* mtu + Ethernet header + a VLAN tag */
    s[0].size = 1518;
    EXPECT(&c, s, 1, NETIF_RSP_OKAY, NETIF_OK);
    s[0].size = 1519;
    EXPECT(&c, s, 1, NETIF_RSP_ERROR, NETIF_WHY_OVERSIZE);
    /* A runt split over slots is still a runt. */
    s[0] = tx(10, 0, NETTXF_more_data, 1, 10);
    s[1] = tx(11, 0, 0, 2, 4);
    EXPECT(&c, s, 2, NETIF_RSP_ERROR, NETIF_WHY_RUNT);
    /* A broken configuration drops everything. */
    s[0] = tx(10, 0, 0, 1, 60);
    c.mtu = 0;
    EXPECT(&c, s, 1, NETIF_RSP_ERROR, NETIF_WHY_BAD_CONFIG);
    c.mtu = 65535;
    EXPECT(&c, s, 1, NETIF_RSP_ERROR, NETIF_WHY_BAD_CONFIG);
}

/* A packet of 1 + follow data slots of 100 bytes each. */
static unsigned many(struct netif_tx_request *s, unsigned follow)
{
    s[0] = tx(10, 0, follow ? NETTXF_more_data : 0, 0, (uint16_t)(100 * (follow + 1)));
    for (unsigned i = 1; i <= follow; i++)
        s[i] = tx(10 + i, 0, i < follow ? NETTXF_more_data : 0, (uint16_t)i, 100);
    return follow + 1;
}

static void test_slot_counts(void **state)
{
    struct netif_cfg c = cfg_std();
    c.mtu = 9000;
    struct netif_tx_request s[NETIF_TX_SLOTS_MAX + 4];
    struct netif_tx_pkt p;
    unsigned n = many(s, NETIF_TX_FOLLOW_MAX);
    assert_int_equal(netif_tx_parse(&c, s, n, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.nr_frags, NETIF_TX_FRAGS_MAX);
    assert_int_equal(p.frag[NETIF_TX_FRAGS_MAX - 1].gref, 10 + NETIF_TX_FOLLOW_MAX);
    n = many(s, NETIF_TX_FOLLOW_MAX + 1);
    assert_int_equal(netif_tx_parse(&c, s, n, &p), NETIF_RSP_ERROR);
    assert_int_equal(p.why, NETIF_WHY_TOO_MANY_SLOTS);
    assert_int_equal(p.nr_slots, n);
    n = many(s, NETIF_TX_FOLLOW_FATAL);
    assert_int_equal(netif_tx_parse(&c, s, n, &p), NETIF_RSP_ERROR);
    assert_int_equal(p.why, NETIF_WHY_TOO_MANY_SLOTS);
    assert_int_equal(p.nr_slots, n);
    assert_int_equal(p.ids[NETIF_TX_FOLLOW_FATAL], NETIF_TX_FOLLOW_FATAL);
    n = many(s, NETIF_TX_FOLLOW_FATAL + 1);
    EXPECT(&c, s, n, -XEN_EIO, NETIF_WHY_SLOTS_FATAL);
    /* A fatal problem wins over a drop seen earlier in the walk. */
    n = many(s, 3);
    s[1].gref = 1;
    s[3].offset = 4000;
    EXPECT(&c, s, n, -XEN_EIO, NETIF_WHY_CROSS_PAGE);
}

static void test_extras(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[8];
    struct netif_tx_pkt p;
    /* GSO: a 9000-byte frame is fine with it, not without. */
    s[0] = tx(10, 0, NETTXF_extra_info | NETTXF_more_data, 1, 9000);
    s[1] = extra_slot(XEN_NETIF_EXTRA_TYPE_GSO, 0);
    s[2] = tx(11, 0, NETTXF_more_data, 2, 4096);
    s[3] = tx(12, 0, 0, 3, 4096);
    assert_int_equal(netif_tx_parse(&c, s, 4, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.nr_slots, 4);
    assert_int_equal(p.nr_extras, 1);
    assert_int_equal(p.nr_frags, 3);
    assert_int_equal(p.frag[0].len, 808);
    assert_true(p.gso);
    assert_int_equal(p.gso_size, 1448);
    assert_int_equal(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
    assert_int_equal(p.ids[1], 2);
    s[0].flags = NETTXF_more_data;   /* same data without the extra */
    memmove(&s[1], &s[2], 2 * sizeof(s[0]));
    EXPECT(&c, s, 3, NETIF_RSP_ERROR, NETIF_WHY_OVERSIZE);

    /* A chain: GSO then HASH. */
    s[0] = tx(10, 0, NETTXF_extra_info, 1, 60);
    s[1] = extra_slot(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE);
    s[2] = extra_slot(XEN_NETIF_EXTRA_TYPE_HASH, 0);
    ((struct netif_extra_info *)&s[2])->u.hash.value[0] = 0x78;
    ((struct netif_extra_info *)&s[2])->u.hash.value[3] = 0x12;
    s[3] = tx(99, 0, 0, 9, 60);   /* the next packet */
    assert_int_equal(netif_tx_parse(&c, s, 4, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.nr_slots, 3);
    assert_int_equal(p.nr_extras, 2);
    assert_true(p.hash);
    assert_int_equal(p.hash_value, 0x12000078);
    /* The chain runs past the copy. */
    EXPECT(&c, s, 2, -XEN_EIO, NETIF_WHY_TRUNCATED);
    EXPECT(&c, s, 1, -XEN_EIO, NETIF_WHY_TRUNCATED);
    /* Unknown types. */
    s[2] = extra_slot(XEN_NETIF_EXTRA_TYPE_NONE, 0);
    EXPECT(&c, s, 4, -XEN_EIO, NETIF_WHY_EXTRA_TYPE);
    s[2] = extra_slot(XEN_NETIF_EXTRA_TYPE_MAX, 0);
    EXPECT(&c, s, 4, -XEN_EIO, NETIF_WHY_EXTRA_TYPE);
    s[2] = extra_slot(0xff, 0);
    EXPECT(&c, s, 4, -XEN_EIO, NETIF_WHY_EXTRA_TYPE);
    /* An endless chain. */
    for (int i = 1; i < 7; i++)
        s[i] = extra_slot(XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_FLAG_MORE);
    s[7] = tx(11, 0, 0, 2, 60);
    EXPECT(&c, s, 8, -XEN_EIO, NETIF_WHY_TOO_MANY_EXTRAS);
    ((struct netif_extra_info *)&s[NETIF_TX_EXTRAS_MAX])->flags = 0;   /* exactly the maximum */
    EXPECT(&c, s, 8, NETIF_RSP_OKAY, NETIF_OK);
}

static void test_gso(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[2] = {tx(10, 0, NETTXF_extra_info, 1, 1000),
                                    extra_slot(XEN_NETIF_EXTRA_TYPE_GSO, 0)};
    struct netif_extra_info *x = (struct netif_extra_info *)&s[1];
    EXPECT(&c, s, 2, NETIF_RSP_OKAY, NETIF_OK);
    x->u.gso.size = 0;
    EXPECT(&c, s, 2, -XEN_EIO, NETIF_WHY_GSO_SIZE);
    x->u.gso.size = 1448;
    x->u.gso.type = XEN_NETIF_GSO_TYPE_NONE;
    EXPECT(&c, s, 2, -XEN_EIO, NETIF_WHY_GSO_TYPE);
    x->u.gso.type = 3;
    EXPECT(&c, s, 2, -XEN_EIO, NETIF_WHY_GSO_TYPE);
    x->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
    EXPECT(&c, s, 2, NETIF_RSP_ERROR, NETIF_WHY_GSO_NOT_ADVERTISED);
    c.gso_types |= 1u << XEN_NETIF_GSO_TYPE_TCPV6;
    EXPECT(&c, s, 2, NETIF_RSP_OKAY, NETIF_OK);
}

static void test_mcast(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[3] = {tx(10, 0, NETTXF_extra_info, 1, 0),
                                    extra_slot(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0)};
    struct netif_extra_info *x = (struct netif_extra_info *)&s[1];
    static const uint8_t mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    memcpy(x->u.mcast.addr, mac, 6);
    struct netif_tx_pkt p;
    assert_int_equal(netif_tx_parse(&c, s, 2, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.mcast_op, XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
    assert_memory_equal(p.mcast_addr, mac, 6);
    assert_int_equal(p.nr_slots, 2);
    x->type = XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
    assert_int_equal(netif_tx_parse(&c, s, 2, &p), NETIF_RSP_OKAY);
    assert_int_equal(p.mcast_op, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
    /* The dummy data slot's grant is never used, so never judged. */
    s[0].gref = 0;
    EXPECT(&c, s, 2, NETIF_RSP_OKAY, NETIF_OK);
    c.mcast_ctrl = false;
    EXPECT(&c, s, 2, NETIF_RSP_ERROR, NETIF_WHY_MCAST_NOT_ADVERTISED);
    c.mcast_ctrl = true;
    s[0] = tx(10, 0, NETTXF_extra_info | NETTXF_more_data, 1, 100);
    s[2] = tx(11, 0, 0, 2, 50);
    assert_int_equal(netif_tx_parse(&c, s, 3, &p), NETIF_RSP_ERROR);
    assert_int_equal(p.why, NETIF_WHY_MCAST_DATA);
    assert_int_equal(p.nr_slots, 3);
}

static void test_grefs(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[2] = {tx(GNTTAB_NR_RESERVED_ENTRIES, 0, NETTXF_more_data, 1, 200),
                                    tx(1023, 0, 0, 2, 100)};
    EXPECT(&c, s, 2, NETIF_RSP_OKAY, NETIF_OK);
    s[0].gref = GNTTAB_NR_RESERVED_ENTRIES - 1;
    EXPECT(&c, s, 2, NETIF_RSP_ERROR, NETIF_WHY_BAD_GREF);
    s[0].gref = 100;
    s[1].gref = 1024;
    EXPECT(&c, s, 2, NETIF_RSP_ERROR, NETIF_WHY_BAD_GREF);
    s[1].gref = 0;
    EXPECT(&c, s, 2, NETIF_RSP_ERROR, NETIF_WHY_BAD_GREF);
    c.gref_limit = 0;   /* no upper bound known */
    s[1].gref = 0xffffffffu;
    EXPECT(&c, s, 2, NETIF_RSP_OKAY, NETIF_OK);
}

static void test_tx_responses(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_tx_request s[4] = {tx(10, 0, NETTXF_extra_info | NETTXF_more_data, 0x11, 200),
                                    extra_slot(XEN_NETIF_EXTRA_TYPE_GSO, 0),
                                    tx(11, 0, NETTXF_more_data, 0x22, 50),
                                    tx(12, 0, 0, 0x33, 50)};
    struct netif_tx_pkt p;
    assert_int_equal(netif_tx_parse(&c, s, 4, &p), NETIF_RSP_OKAY);
    struct netif_tx_response r[4];
    memset(r, 0x5a, sizeof(r));
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_OKAY, r, 4), 4);
    assert_int_equal(r[0].id, 0x11);
    assert_int_equal(r[0].status, NETIF_RSP_OKAY);
    assert_int_equal(r[1].status, NETIF_RSP_NULL);
    assert_int_equal(r[2].id, 0x22);
    assert_int_equal(r[2].status, NETIF_RSP_OKAY);
    assert_int_equal(r[3].id, 0x33);
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_DROPPED, r, 4), 4);
    assert_int_equal(r[3].status, NETIF_RSP_DROPPED);
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_OKAY, r, 3), -XEN_ENOSPC);
    /* A fatal verdict has nothing to answer. */
    assert_int_equal(netif_tx_parse(&c, s, 3, &p), -XEN_EIO);
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_ERROR, r, 4), -XEN_EINVAL);
    s[3].offset = 4095;
    assert_int_equal(netif_tx_parse(&c, s, 4, &p), -XEN_EIO);
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_ERROR, r, 4), -XEN_EINVAL);
    s[3].offset = 0;
    ((struct netif_extra_info *)&s[1])->u.gso.size = 0;   /* fatal after the walk */
    assert_int_equal(netif_tx_parse(&c, s, 4, &p), -XEN_EIO);
    assert_int_equal(p.why, NETIF_WHY_GSO_SIZE);
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_ERROR, r, 4), -XEN_EINVAL);
    ((struct netif_extra_info *)&s[1])->u.gso.size = 1448;
    /* A dropped packet answers every slot with ERROR. */
    s[2].gref = 3;
    assert_int_equal(netif_tx_parse(&c, s, 4, &p), NETIF_RSP_ERROR);
    assert_int_equal(netif_tx_responses(&p, NETIF_RSP_ERROR, r, 4), 4);
    assert_int_equal(r[0].status, NETIF_RSP_ERROR);
    assert_int_equal(r[1].status, NETIF_RSP_NULL);
    assert_int_equal(r[2].status, NETIF_RSP_ERROR);
    assert_int_equal(r[3].id, 0x33);
    assert_int_equal(r[3].status, NETIF_RSP_ERROR);
}

/* Random garbage: whatever the verdict, an accepted packet keeps every
 * invariant, and a drop counts its slots. */
static void test_tx_random(void **state)
{
    struct netif_cfg c = cfg_std();
    c.mtu = 9000;
    c.gso_types |= 1u << XEN_NETIF_GSO_TYPE_TCPV6;
    srand(1234);
    unsigned ok = 0, dropped = 0, fatal = 0;
    for (int iter = 0; iter < 200000; iter++) {
        struct netif_tx_request s[NETIF_TX_SLOTS_MAX];
        unsigned n = 1 + (unsigned)rand() % NETIF_TX_SLOTS_MAX;
        for (unsigned i = 0; i < n; i++) {
            s[i].gref = (unsigned)rand() % 1100;
            s[i].offset = (uint16_t)(rand() % 2 ? rand() % 4200 : 0);
            s[i].size = (uint16_t)(rand() % 3 ? rand() % 4200 : rand());
            s[i].flags = (uint16_t)(rand() % 4 ? NETTXF_more_data : rand() & 0xf);
            s[i].id = (uint16_t)rand();
            if (rand() % 8 == 0)
                s[i] = extra_slot((uint8_t)(rand() % 6), (uint8_t)(rand() % 2));
        }
        struct netif_tx_pkt p;
        int st = netif_tx_parse(&c, s, n, &p);
        if (st == -XEN_EIO) {
            fatal++;
            assert_int_not_equal(p.why, NETIF_OK);
            continue;
        }
        assert_true(p.nr_slots >= 1 && p.nr_slots <= n);
        assert_int_equal(p.nr_slots, 1 + p.nr_extras + p.nr_frags - 1);
        if (st == NETIF_RSP_ERROR) {
            dropped++;
            assert_int_not_equal(p.why, NETIF_OK);
            continue;
        }
        assert_int_equal(st, NETIF_RSP_OKAY);
        ok++;
        assert_true(p.nr_frags <= NETIF_TX_FRAGS_MAX);
        if (p.mcast_op) {   /* a control request: one dummy slot, no data */
            assert_int_equal(p.nr_frags, 1);
            continue;
        }
        uint32_t sum = 0;
        for (unsigned i = 0; i < p.nr_frags; i++) {
            assert_true(p.frag[i].offset + p.frag[i].len <= 4096);
            assert_true(p.frag[i].gref >= GNTTAB_NR_RESERVED_ENTRIES && p.frag[i].gref < 1024);
            sum += p.frag[i].len;
        }
        assert_int_equal(sum, p.len);
        assert_true(p.len >= 14 && (p.gso || p.len <= 9018));
    }
    assert_true(ok > 100 && dropped > 100 && fatal > 100);
}

static struct netif_rx_request rxq(uint16_t id, grant_ref_t gref)
{
    struct netif_rx_request r = {.id = id, .gref = gref};
    return r;
}

static void test_rx_small(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_rx_request q[4] = {rxq(5, 50), rxq(6, 60)};
    struct netif_rx_meta m = {.len = 1514};
    struct netif_rx_plan pl;
    assert_int_equal(netif_rx_plan(&c, q, 2, &m, &pl), 0);
    assert_int_equal(pl.nr_slots, 1);
    assert_int_equal(pl.nr_chunks, 1);
    assert_int_equal(pl.chunk[0].gref, 50);
    assert_int_equal(pl.chunk[0].len, 1514);
    assert_int_equal(pl.chunk[0].dst_off, 0);
    assert_int_equal(pl.chunk[0].src_off, 0);
    assert_int_equal(pl.rsp[0].id, 5);
    assert_int_equal(pl.rsp[0].offset, 0);
    assert_int_equal(pl.rsp[0].flags, 0);
    assert_int_equal(pl.rsp[0].status, 1514);
    /* The frame straddles one of our pages: two copies into one slot. */
    m.page_off = 3000;
    m.csum_blank = true;
    assert_int_equal(netif_rx_plan(&c, q, 2, &m, &pl), 0);
    assert_int_equal(pl.nr_slots, 1);
    assert_int_equal(pl.nr_chunks, 2);
    assert_int_equal(pl.chunk[0].len, 1096);
    assert_int_equal(pl.chunk[1].len, 418);
    assert_int_equal(pl.chunk[1].dst_off, 1096);
    assert_int_equal(pl.chunk[1].src_off, 1096);
    assert_int_equal(pl.rsp[0].flags, NETRXF_csum_blank | NETRXF_data_validated);
    m.csum_blank = false;
    m.data_validated = true;
    assert_int_equal(netif_rx_plan(&c, q, 2, &m, &pl), 0);
    assert_int_equal(pl.rsp[0].flags, NETRXF_data_validated);
    /* A copy that failed makes its slot an error. */
    netif_rx_copy_failed(&pl, 1);
    assert_int_equal(pl.rsp[0].status, NETIF_RSP_ERROR);
}

static void test_rx_gso(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_rx_request q[5] = {rxq(1, 10), rxq(2, 20), rxq(3, 30), rxq(4, 40), rxq(5, 50)};
    struct netif_rx_meta m = {.len = 9000, .gso_size = 1448, .gso_type = XEN_NETIF_GSO_TYPE_TCPV4};
    struct netif_rx_plan pl;
    assert_int_equal(netif_rx_plan(&c, q, 3, &m, &pl), -XEN_EAGAIN);
    assert_int_equal(pl.why, NETIF_WHY_NO_SPACE);
    assert_int_equal(pl.nr_slots, 0);
    assert_int_equal(netif_rx_plan(&c, q, 5, &m, &pl), 0);
    assert_int_equal(pl.nr_slots, 4);   /* data, extra, data, data */
    assert_int_equal(pl.rsp[0].id, 1);
    assert_int_equal(pl.rsp[0].status, 4096);
    assert_int_equal(pl.rsp[0].flags, NETRXF_extra_info | NETRXF_more_data);
    struct netif_extra_info x;
    memcpy(&x, &pl.rsp[1], sizeof(x));
    assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_GSO);
    assert_int_equal(x.flags, 0);
    assert_int_equal(x.u.gso.size, 1448);
    assert_int_equal(x.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
    assert_int_equal(pl.rsp[2].id, 3);
    assert_int_equal(pl.rsp[2].status, 4096);
    assert_int_equal(pl.rsp[2].flags, NETRXF_more_data);
    assert_int_equal(pl.rsp[3].id, 4);
    assert_int_equal(pl.rsp[3].status, 808);
    assert_int_equal(pl.rsp[3].flags, 0);
    assert_int_equal(pl.nr_chunks, 3);
    assert_int_equal(pl.chunk[1].slot, 2);
    assert_int_equal(pl.chunk[1].gref, 30);
    assert_int_equal(pl.chunk[1].src_off, 4096);
    /* One data slot: the extra still follows it. */
    m.len = 1000;
    assert_int_equal(netif_rx_plan(&c, q, 2, &m, &pl), 0);
    assert_int_equal(pl.nr_slots, 2);
    assert_int_equal(pl.rsp[0].flags, NETRXF_extra_info);
    memcpy(&x, &pl.rsp[1], sizeof(x));
    assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_GSO);
    assert_int_equal(netif_rx_plan(&c, q, 1, &m, &pl), -XEN_EAGAIN);
    /* The front end must take that GSO type. */
    m.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
    assert_int_equal(netif_rx_plan(&c, q, 5, &m, &pl), -XEN_EINVAL);
    assert_int_equal(pl.why, NETIF_WHY_GSO_NOT_ADVERTISED);
}

static void test_rx_refusals(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_rx_request q[20];
    for (int i = 0; i < 20; i++)
        q[i] = rxq((uint16_t)i, (grant_ref_t)(100 + i));
    struct netif_rx_meta m = {.len = 0};
    struct netif_rx_plan pl;
    assert_int_equal(netif_rx_plan(&c, q, 20, &m, &pl), -XEN_EINVAL);
    assert_int_equal(pl.why, NETIF_WHY_FRAME_LEN);
    m.len = 1518;
    assert_int_equal(netif_rx_plan(&c, q, 20, &m, &pl), 0);
    m.len = 1519;
    assert_int_equal(netif_rx_plan(&c, q, 20, &m, &pl), -XEN_EINVAL);
    m.gso_size = 1448;
    m.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
    m.len = 65535;
    assert_int_equal(netif_rx_plan(&c, q, 20, &m, &pl), 0);
    assert_int_equal(pl.nr_slots, 17);
    m.len = 65536;
    assert_int_equal(netif_rx_plan(&c, q, 20, &m, &pl), -XEN_EINVAL);
    m.len = 100;
    m.gso_size = 0;
    c.mtu = 10;
    assert_int_equal(netif_rx_plan(&c, q, 20, &m, &pl), -XEN_EINVAL);
    assert_int_equal(pl.why, NETIF_WHY_BAD_CONFIG);
}

/* Random frames: chunks tile the frame in order, no chunk crosses a page
 * on either side, and the statuses add up to the length. */
static void test_rx_random(void **state)
{
    struct netif_cfg c = cfg_std();
    struct netif_rx_request q[NETIF_RX_SLOTS_MAX];
    for (unsigned i = 0; i < NETIF_RX_SLOTS_MAX; i++)
        q[i] = rxq((uint16_t)(1000 + i), (grant_ref_t)(200 + i));
    srand(99);
    for (int iter = 0; iter < 20000; iter++) {
        struct netif_rx_meta m = {.len = 1 + (uint32_t)rand() % 65535,
                                  .page_off = (uint32_t)rand() % 4096,
                                  .gso_size = rand() % 2 ? 1448 : 0,
                                  .gso_type = XEN_NETIF_GSO_TYPE_TCPV4};
        struct netif_rx_plan pl;
        int rc = netif_rx_plan(&c, q, NETIF_RX_SLOTS_MAX, &m, &pl);
        if (!m.gso_size && m.len > 1518) {
            assert_int_equal(rc, -XEN_EINVAL);
            continue;
        }
        assert_int_equal(rc, 0);
        uint32_t pos = 0;
        for (unsigned i = 0; i < pl.nr_chunks; i++) {
            const struct netif_rx_chunk *k = &pl.chunk[i];
            assert_int_equal(k->src_off, pos);
            assert_true(k->len > 0);
            assert_true(k->dst_off + k->len <= 4096);
            assert_true((m.page_off + k->src_off) / 4096 ==
                        (m.page_off + k->src_off + k->len - 1) / 4096);
            assert_int_equal(k->gref, q[k->slot].gref);
            pos += k->len;
        }
        assert_int_equal(pos, m.len);
        uint32_t sum = 0;
        unsigned extras = 0;
        for (unsigned s = 0; s < pl.nr_slots; s++) {
            if (m.gso_size && s == 1) {
                extras++;
                continue;
            }
            assert_int_equal(pl.rsp[s].id, q[s].id);
            assert_true(pl.rsp[s].status > 0);
            sum += (uint32_t)pl.rsp[s].status;
            bool last = s + 1 == pl.nr_slots || (m.gso_size && pl.nr_slots == 2);
            assert_int_equal(!!(pl.rsp[s].flags & NETRXF_more_data), !last);
        }
        assert_int_equal(sum, m.len);
        assert_int_equal(extras, m.gso_size ? 1 : 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_slot),
        cmocka_unit_test(test_multi_slot),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_slot_counts),
        cmocka_unit_test(test_extras),
        cmocka_unit_test(test_gso),
        cmocka_unit_test(test_mcast),
        cmocka_unit_test(test_grefs),
        cmocka_unit_test(test_tx_responses),
        cmocka_unit_test(test_tx_random),
        cmocka_unit_test(test_rx_small),
        cmocka_unit_test(test_rx_gso),
        cmocka_unit_test(test_rx_refusals),
        cmocka_unit_test(test_rx_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
