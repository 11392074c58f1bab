/*
 * test_netfront.c - host unit tests for the pure part of the netif front
 * end (guest-drivers/net/netfront.c, xlguest/netfront.h): tx requests per
 * page with the right sizes, flags, GSO extra and ids; refusals; id
 * exhaustion and release, NULL responses, bogus and double completions;
 * rx posting by ring index across the index wrap, gathering of chains
 * with extras, every drop and fatal rule; and both directions against
 * netback's judge (netif_req.c): what netfront builds, netback accepts as
 * the same frame, and what netback plans, netfront gathers as the same
 * frame. Links: netfront.c, netif_req.c. Mocks: nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/netfront.h>
#include <xlguest/netif_req.h>

static const grant_ref_t G[18] = {100, 101, 102, 103, 104, 105, 106, 107, 108,
                                  109, 110, 111, 112, 113, 114, 115, 116, 117};

/* ---- tx ---- */

static void test_tx_one_page(void **state)
{
    struct netfront_tx t;
    netfront_tx_init(&t);
    struct netfront_frame f = {.len = 60, .page_off = 100, .data_validated = true};
    struct netif_tx_request rq[4];
    assert_int_equal(netfront_tx_pages(&f), 1);
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 4), 1);
    assert_int_equal(rq[0].gref, 100);
    assert_int_equal(rq[0].offset, 100);
    assert_int_equal(rq[0].size, 60);
    assert_int_equal(rq[0].flags, NETTXF_data_validated);
    assert_int_equal(t.nr_free, NETFRONT_TX_IDS - 1);
    assert_true(t.busy[rq[0].id]);
    f.csum_blank = true;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 4), 1);
    assert_int_equal(rq[0].flags, NETTXF_csum_blank | NETTXF_data_validated);
    assert_int_not_equal(rq[0].id, 0);   /* id 0 is still in flight */
    /* Exactly to the end of the page. */
    f.page_off = 4096 - 60;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 4), 1);
}

static void test_tx_pages_and_gso(void **state)
{
    struct netfront_tx t;
    netfront_tx_init(&t);
    struct netfront_frame f = {.len = 9000, .page_off = 3000};
    struct netif_tx_request rq[8];
    assert_int_equal(netfront_tx_pages(&f), 3);
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 8), 3);
    assert_int_equal(rq[0].size, 9000);
    assert_int_equal(rq[0].offset, 3000);
    assert_int_equal(rq[0].flags, NETTXF_more_data);
    assert_int_equal(rq[1].gref, 101);
    assert_int_equal(rq[1].offset, 0);
    assert_int_equal(rq[1].size, 4096);
    assert_int_equal(rq[1].flags, NETTXF_more_data);
    assert_int_equal(rq[2].size, 9000 - 1096 - 4096);
    assert_int_equal(rq[2].flags, 0);
    assert_true(rq[0].id != rq[1].id && rq[1].id != rq[2].id && rq[0].id != rq[2].id);
    /* GSO: the extra right after the first slot, no id of its own. */
    f.gso_size = 1448;
    f.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
    uint16_t before = t.nr_free;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 8), 4);
    assert_int_equal(t.nr_free, before - 3);
    assert_int_equal(rq[0].flags, NETTXF_more_data | NETTXF_extra_info);
    struct netif_extra_info x;
    memcpy(&x, &rq[1], sizeof(x));
    assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_GSO);
    assert_int_equal(x.flags, 0);
    assert_int_equal(x.u.gso.size, 1448);
    assert_int_equal(x.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV6);
    assert_int_equal(rq[2].gref, 101);
    assert_int_equal(rq[3].gref, 102);
    assert_int_equal(rq[3].flags, 0);
    /* The largest frame at the worst offset: 17 pages. */
    f = (struct netfront_frame){.len = 65535, .page_off = 4000, .gso_size = 1448,
                                .gso_type = XEN_NETIF_GSO_TYPE_TCPV4};
    assert_int_equal(netfront_tx_pages(&f), 17);
    struct netif_tx_request big[18];
    assert_int_equal(netfront_tx_build(&t, &f, G, big, 18), 18);
}

static void test_tx_refusals(void **state)
{
    struct netfront_tx t;
    netfront_tx_init(&t);
    struct netif_tx_request rq[20];
    struct netfront_frame f = {.len = 13};
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.len = 65536;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.len = 100;
    f.page_off = 4096;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.page_off = 5000;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.page_off = 4096 - 13;   /* 13 bytes of header in the first page: bounce */
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.page_off = 4096 - 14;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), 2);
    f.gso_size = 1000;
    f.gso_type = 3;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.gso_type = XEN_NETIF_GSO_TYPE_NONE;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 20), -XEN_EINVAL);
    f.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 2), -XEN_ENOSPC);   /* needs 3 */
    assert_int_equal(t.nr_free, NETFRONT_TX_IDS - 2);
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 3), 3);
}

static void test_tx_ids(void **state)
{
    struct netfront_tx t;
    netfront_tx_init(&t);
    struct netif_tx_request rq[2];
    struct netfront_frame f = {.len = 100};
    bool seen[NETFRONT_TX_IDS] = {0};
    for (unsigned i = 0; i < NETFRONT_TX_IDS; i++) {
        assert_int_equal(netfront_tx_build(&t, &f, &G[i % 18], rq, 2), 1);
        assert_true(rq[0].id < NETFRONT_TX_IDS);
        assert_false(seen[rq[0].id]);
        seen[rq[0].id] = true;
    }
    assert_int_equal(t.nr_free, 0);
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 2), -XEN_ENOSPC);
    /* Two pages with one id left: nothing taken. */
    int16_t st;
    grant_ref_t g;
    struct netif_tx_response r = {.id = 7, .status = NETIF_RSP_OKAY};
    assert_int_equal(netfront_tx_complete(&t, &r, &st, &g), 0);
    assert_int_equal(g, G[7]);
    assert_int_equal(st, NETIF_RSP_OKAY);
    assert_int_equal(t.nr_free, 1);
    f.page_off = 4000;
    assert_int_equal(netfront_tx_build(&t, &f, G, rq, 2), -XEN_ENOSPC);
    assert_int_equal(t.nr_free, 1);
    f.page_off = 0;
    assert_int_equal(netfront_tx_build(&t, &f, &G[3], rq, 2), 1);
    assert_int_equal(rq[0].id, 7);   /* the freed id comes back */
    /* Completions: errors are passed on, NULL skipped, nonsense caught. */
    r = (struct netif_tx_response){.id = 7, .status = NETIF_RSP_DROPPED};
    assert_int_equal(netfront_tx_complete(&t, &r, &st, &g), 0);
    assert_int_equal(st, NETIF_RSP_DROPPED);
    assert_int_equal(g, G[3]);
    assert_int_equal(netfront_tx_complete(&t, &r, &st, &g), -XEN_EIO);   /* twice */
    r = (struct netif_tx_response){.id = NETFRONT_TX_IDS, .status = NETIF_RSP_OKAY};
    assert_int_equal(netfront_tx_complete(&t, &r, &st, &g), -XEN_EIO);
    r = (struct netif_tx_response){.id = 0xffff, .status = NETIF_RSP_NULL};
    assert_int_equal(netfront_tx_complete(&t, &r, &st, &g), 1);
    assert_int_equal(t.nr_free, 1);
}

/* ---- rx ---- */

static void post(struct netfront_rx *r, RING_IDX from, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct netif_rx_request q;
        assert_int_equal(netfront_rx_post(r, from + i, 500 + ((from + i) & 255), &q), 0);
        assert_int_equal(q.id, (from + i) & 255);
        assert_int_equal(q.gref, 500 + ((from + i) & 255));
    }
}

static struct netif_rx_response rsp(RING_IDX idx, uint16_t off, uint16_t flags, int16_t status)
{
    struct netif_rx_response x = {.id = (uint16_t)(idx & 255), .offset = off, .flags = flags,
                                  .status = status};
    return x;
}

static struct netif_rx_response gso_extra(uint8_t type, uint8_t flags)
{
    struct netif_extra_info x = {.type = type, .flags = flags};
    x.u.gso.size = 1448;
    x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    struct netif_rx_response r;
    memcpy(&r, &x, sizeof(r));
    return r;
}

static void test_rx_single(void **state)
{
    struct netfront_rx r;
    netfront_rx_init(&r);
    RING_IDX c = 0xfffffffeu;   /* the free-running index wraps in the middle */
    post(&r, c, 4);
    struct netif_rx_request q;
    assert_int_equal(netfront_rx_post(&r, c + 256, 9, &q), -XEN_EBUSY);
    struct netif_rx_response x[4] = {rsp(c, 0, NETRXF_data_validated, 1514), rsp(c + 1, 0, 0, 60)};
    struct netfront_rx_pkt p;
    assert_int_equal(netfront_rx_collect(&r, c, x, 2, &p), 0);
    assert_int_equal(p.nr_slots, 1);
    assert_int_equal(p.nr_frags, 1);
    assert_int_equal(p.len, 1514);
    assert_int_equal(p.flags, NETRXF_data_validated);
    assert_int_equal(p.frag[0].slot, 254);
    assert_int_equal(p.frag[0].gref, 500 + 254);
    assert_false(r.posted[254]);
    assert_true(r.posted[255]);
    /* Its buffer may be posted again; the next one is untouched. */
    assert_int_equal(netfront_rx_post(&r, c + 256, 9, &q), 0);
    /* A chain over the wrap: 255, 0, 1. */
    c++;
    x[0] = rsp(c, 0, NETRXF_more_data, 4096);
    x[1] = rsp(c + 1, 10, NETRXF_more_data, 4086);
    x[2] = rsp(c + 2, 0, 0, 100);
    assert_int_equal(netfront_rx_collect(&r, c, x, 3, &p), 0);
    assert_int_equal(p.nr_slots, 3);
    assert_int_equal(p.len, 4096 + 4086 + 100);
    assert_int_equal(p.frag[1].slot, 0);
    assert_int_equal(p.frag[1].offset, 10);
    assert_int_equal(p.frag[2].slot, 1);
    assert_int_equal(p.frag[2].gref, 501);
}

static void test_rx_extras(void **state)
{
    struct netfront_rx r;
    netfront_rx_init(&r);
    post(&r, 10, 8);
    /* data, GSO extra, data */
    struct netif_rx_response x[8] = {
        rsp(10, 0, NETRXF_extra_info | NETRXF_more_data | NETRXF_csum_blank | NETRXF_data_validated, 4096),
        gso_extra(XEN_NETIF_EXTRA_TYPE_GSO, 0), rsp(12, 0, 0, 2000)};
    struct netfront_rx_pkt p;
    assert_int_equal(netfront_rx_collect(&r, 10, x, 8, &p), 0);
    assert_int_equal(p.nr_slots, 3);
    assert_int_equal(p.nr_frags, 2);
    assert_int_equal(p.len, 6096);
    assert_true(p.gso);
    assert_int_equal(p.gso_size, 1448);
    assert_int_equal(p.flags, NETRXF_csum_blank | NETRXF_data_validated);
    assert_int_equal(p.frag[1].slot, 12);
    /* One data slot and an extra (the chain ends with the extra). */
    x[0] = rsp(13, 0, NETRXF_extra_info, 1000);
    x[1] = gso_extra(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE);
    x[2] = gso_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0);
    x[3] = rsp(16, 0, 0, 60);
    assert_int_equal(netfront_rx_collect(&r, 13, x, 4, &p), 0);
    assert_int_equal(p.nr_slots, 3);
    assert_int_equal(p.nr_frags, 1);
    assert_true(p.gso);
    assert_false(r.posted[15]);
    assert_true(r.posted[16]);
    /* A bad extra type drops the frame, every slot still used. */
    post(&r, 13, 3);
    x[2] = gso_extra(XEN_NETIF_EXTRA_TYPE_MAX, 0);
    assert_int_equal(netfront_rx_collect(&r, 13, x, 4, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_EXTRA_TYPE);
    assert_int_equal(p.nr_slots, 3);
    assert_false(r.posted[13] || r.posted[14] || r.posted[15]);
    post(&r, 13, 3);
    x[2] = gso_extra(XEN_NETIF_EXTRA_TYPE_NONE, 0);
    assert_int_equal(netfront_rx_collect(&r, 13, x, 4, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_EXTRA_TYPE);
    /* An extra chain that runs past the responses: broken, nothing used. */
    post(&r, 13, 3);
    x[2] = gso_extra(XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_FLAG_MORE);
    assert_int_equal(netfront_rx_collect(&r, 13, x, 3, &p), -XEN_EIO);
    assert_int_equal(p.why, NETFRONT_WHY_TRUNCATED);
    assert_true(r.posted[13] && r.posted[14] && r.posted[15]);
}

static void test_rx_errors(void **state)
{
    struct netfront_rx r;
    netfront_rx_init(&r);
    struct netfront_rx_pkt p;
    struct netif_rx_response x[20];
    post(&r, 0, 3);
    x[0] = rsp(0, 0, NETRXF_more_data, 1000);
    x[1] = rsp(1, 0, NETRXF_more_data, NETIF_RSP_ERROR);   /* the copy failed */
    x[2] = rsp(2, 0, 0, 100);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 3, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_STATUS);
    assert_int_equal(p.nr_slots, 3);
    assert_false(r.posted[2]);
    post(&r, 0, 3);
    x[1] = rsp(1, 1, NETRXF_more_data, -1);   /* negative, whatever the offset */
    assert_int_equal(netfront_rx_collect(&r, 0, x, 3, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_STATUS);
    post(&r, 0, 3);
    x[1] = rsp(1, 100, NETRXF_more_data, 3997);   /* one byte past the page */
    assert_int_equal(netfront_rx_collect(&r, 0, x, 3, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_STATUS);
    post(&r, 0, 3);
    x[1] = rsp(1, 100, NETRXF_more_data, 3996);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 3, &p), 0);
    post(&r, 0, 3);
    x[1].id = 7;
    assert_int_equal(netfront_rx_collect(&r, 0, x, 3, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_ID);
    /* Short frames are dropped. */
    post(&r, 0, 1);
    x[0] = rsp(0, 0, 0, 13);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 1, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_LENGTH);
    post(&r, 0, 1);
    x[0] = rsp(0, 0, 0, 14);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 1, &p), 0);
    /* Truncated chain or an unposted slot: broken, nothing consumed. */
    post(&r, 0, 2);
    x[0] = rsp(0, 0, NETRXF_more_data, 100);
    x[1] = rsp(1, 0, NETRXF_more_data, 100);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 2, &p), -XEN_EIO);
    assert_int_equal(p.why, NETFRONT_WHY_TRUNCATED);
    assert_true(r.posted[0] && r.posted[1]);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 0, &p), -XEN_EIO);
    x[1].flags = 0;
    assert_int_equal(netfront_rx_collect(&r, 1, x + 1, 1, &p), 0);   /* slot 1 only */
    assert_int_equal(netfront_rx_collect(&r, 0, x, 2, &p), -XEN_EIO);
    assert_int_equal(p.why, NETFRONT_WHY_NOT_POSTED);
    assert_true(r.posted[0]);
    /* Too many data slots: 19 of 100 bytes. */
    netfront_rx_init(&r);
    post(&r, 0, 19);
    for (unsigned i = 0; i < 19; i++)
        x[i] = rsp(i, 0, i < 18 ? NETRXF_more_data : 0, 100);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 19, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_TOO_MANY_SLOTS);
    assert_int_equal(p.nr_slots, 19);
    post(&r, 0, 18);
    x[17].flags = 0;
    assert_int_equal(netfront_rx_collect(&r, 0, x, 18, &p), 0);
    assert_int_equal(p.nr_frags, 18);
    /* More than 65535 bytes in all. */
    post(&r, 0, 17);
    for (unsigned i = 0; i < 17; i++)
        x[i] = rsp(i, 0, i < 16 ? NETRXF_more_data : 0, 4096);
    assert_int_equal(netfront_rx_collect(&r, 0, x, 17, &p), -XEN_EINVAL);
    assert_int_equal(p.why, NETFRONT_WHY_LENGTH);
}

/* ---- both ends ---- */

/* Whatever netfront builds, netback accepts as the same frame. */
static void test_tx_against_netback(void **state)
{
    struct netif_cfg cfg = {.mtu = 1500, .gso_types = 1u << XEN_NETIF_GSO_TYPE_TCPV4 |
                                                      1u << XEN_NETIF_GSO_TYPE_TCPV6};
    struct netfront_tx t;
    netfront_tx_init(&t);
    srand(7);
    for (int iter = 0; iter < 20000; iter++) {
        struct netfront_frame f = {.page_off = (uint32_t)rand() % 4096, .csum_blank = rand() % 2};
        bool gso = rand() % 2;
        f.len = gso ? 14 + (uint32_t)rand() % (65536 - 14) : 14 + (uint32_t)rand() % (1518 - 13);
        if (gso) {
            f.gso_size = 1448;
            f.gso_type = rand() % 2 ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
        }
        struct netif_tx_request rq[NETIF_TX_SLOTS_MAX];
        int n = netfront_tx_build(&t, &f, G, rq, NETIF_TX_SLOTS_MAX);
        if (4096 - f.page_off < 14) {
            assert_int_equal(n, -XEN_EINVAL);
            continue;
        }
        assert_true(n > 0);
        struct netif_tx_pkt p;
        assert_int_equal(netif_tx_parse(&cfg, rq, (unsigned)n, &p), NETIF_RSP_OKAY);
        assert_int_equal(p.nr_slots, n);
        assert_int_equal(p.len, f.len);
        assert_int_equal(p.gso, gso);
        assert_int_equal(p.nr_frags, netfront_tx_pages(&f));
        uint32_t pos = 0;
        for (unsigned i = 0; i < p.nr_frags; i++) {
            assert_int_equal(p.frag[i].gref, G[i]);
            assert_int_equal(p.frag[i].offset, i == 0 ? f.page_off : 0);
            pos += p.frag[i].len;
        }
        assert_int_equal(pos, f.len);
        struct netif_tx_response rs[NETIF_TX_SLOTS_MAX];
        assert_int_equal(netif_tx_responses(&p, NETIF_RSP_OKAY, rs, NETIF_TX_SLOTS_MAX), n);
        for (int i = 0; i < n; i++) {
            int16_t st;
            grant_ref_t g;
            int rc = netfront_tx_complete(&t, &rs[i], &st, &g);
            assert_int_equal(rc, gso && i == 1 ? 1 : 0);
        }
        assert_int_equal(t.nr_free, NETFRONT_TX_IDS);
    }
}

/* Whatever netback plans into netfront's buffers, netfront gathers as the
 * same frame. */
static void test_rx_against_netback(void **state)
{
    struct netif_cfg cfg = {.mtu = 1500, .gso_types = 1u << XEN_NETIF_GSO_TYPE_TCPV4};
    struct netfront_rx r;
    netfront_rx_init(&r);
    RING_IDX prod = 0xffffff00u, cons = prod;
    srand(8);
    for (int iter = 0; iter < 20000; iter++) {
        /* Keep 20 buffers posted. */
        struct netif_rx_request q[NETIF_RX_SLOTS_MAX + 4];
        while (prod - cons < 20) {
            struct netif_rx_request one;
            assert_int_equal(netfront_rx_post(&r, prod, 1000 + (prod & 255), &one), 0);
            prod++;
        }
        for (unsigned i = 0; i < 20; i++)
            q[i] = (struct netif_rx_request){.id = (uint16_t)((cons + i) & 255),
                                             .gref = 1000 + ((cons + i) & 255)};
        struct netif_rx_meta m = {.page_off = (uint32_t)rand() % 4096, .data_validated = true};
        bool gso = rand() % 2;
        m.len = gso ? 14 + (uint32_t)rand() % (65536 - 14) : 14 + (uint32_t)rand() % (1518 - 13);
        if (gso) {
            m.gso_size = 1448;
            m.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
        }
        struct netif_rx_plan pl;
        assert_int_equal(netif_rx_plan(&cfg, q, 20, &m, &pl), 0);
        struct netfront_rx_pkt p;
        assert_int_equal(netfront_rx_collect(&r, cons, pl.rsp, pl.nr_slots, &p), 0);
        assert_int_equal(p.nr_slots, pl.nr_slots);
        assert_int_equal(p.len, m.len);
        assert_int_equal(p.gso, gso);
        assert_int_equal(p.flags, NETRXF_data_validated);
        for (unsigned i = 0; i < p.nr_frags; i++)
            assert_int_equal(p.frag[i].gref, 1000 + p.frag[i].slot);
        cons += p.nr_slots;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_one_page),
        cmocka_unit_test(test_tx_pages_and_gso),
        cmocka_unit_test(test_tx_refusals),
        cmocka_unit_test(test_tx_ids),
        cmocka_unit_test(test_rx_single),
        cmocka_unit_test(test_rx_extras),
        cmocka_unit_test(test_rx_errors),
        cmocka_unit_test(test_tx_against_netback),
        cmocka_unit_test(test_rx_against_netback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
