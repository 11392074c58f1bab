/*
 * test_ip.c - host unit tests for the kit guests' IPv4 stack
 * (guest-drivers/net/ip.c, xlguest/ip.h): the Internet checksum on known
 * packets; configuration checks; ARP answers, learning (and not learning),
 * ageing and table replacement; ICMP echo answered byte for byte as a
 * packet built independently (python3's struct, values in the arrays
 * below); ping round trips between two stacks wired together, with ARP
 * first, retries, timeouts and the pending queue's limits; every rule that
 * drops a malformed frame; UDP in (checksum optional but verified) and out.
 * Links: ip.c, eth.c. Mocks: the tx callback (a wire that keeps frames).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/ip.h>

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define A_IP IP4(10, 0, 0, 1)
#define B_IP IP4(10, 0, 0, 2)
#define C_IP IP4(10, 0, 0, 3)

static const uint8_t A_MAC[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t B_MAC[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t C_MAC[6] = {2, 0, 0, 0, 0, 3};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Built with python3 (struct.pack, RFC 1071 sum): an echo request
 * 10.0.0.2 -> 10.0.0.1, id 0x1234 seq 1, payload "abcdefgh", IP id 0x0bad,
 * TTL 63 (IP checksum 0x5c2a, ICMP 0x5435), padded to 60 bytes. */
static const uint8_t echo_req_b_to_a[60] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x24, 0x0b, 0xad, 0x00, 0x00, 0x3f, 0x01,
    0x5c, 0x2a, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x54, 0x35, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* The reply A must send: IP id 1, DF, TTL 64 (IP checksum 0x26d6, ICMP
 * 0x5c35). */
static const uint8_t echo_rep_a_to_b[60] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x40, 0x00, 0x40, 0x01,
    0x26, 0xd6, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x5c, 0x35, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* UDP 10.0.0.2:5000 -> 10.0.0.1:7 "hello", IP id 0x4242, UDP checksum
 * 0x9470. */
static const uint8_t udp_b_to_a[60] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x21, 0x42, 0x42, 0x40, 0x00, 0x40, 0x11,
    0xe4, 0x87, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x13, 0x88,
    0x00, 0x07, 0x00, 0x0d, 0x94, 0x70, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* UDP 10.0.0.1:7 -> 10.0.0.2:5000 "world!", IP id 1, UDP checksum 0x8a43. */
static const uint8_t udp_a_to_b[60] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x22, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11,
    0x26, 0xc8, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x07,
    0x13, 0x88, 0x00, 0x0e, 0x8a, 0x43, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x21,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* ---- the wire: what a stack sent, in order ---- */

#define WIRE_MAX 16
struct wire {
    unsigned n;
    size_t len[WIRE_MAX];
    uint8_t f[WIRE_MAX][IP_FRAME_MAX];
};

static int wire_tx(void *ctx, const uint8_t *frame, size_t len)
{
    struct wire *w = ctx;
    assert_true(w->n < WIRE_MAX);
    assert_true(len >= ETH_ZLEN && len <= IP_FRAME_MAX);
    memcpy(w->f[w->n], frame, len);
    w->len[w->n++] = len;
    return 0;
}

struct node {
    struct ip_stack s;
    struct ip_arp_entry arp[4];
    struct ip_udp_sock udp[2];
    struct wire out;
};

static void node_init(struct node *n, const uint8_t *mac, uint32_t ip, uint32_t gw)
{
    memset(n, 0, sizeof(*n));
    struct ip_config c = {.addr = ip, .netmask = 0xffffff00, .gateway = gw, .arp = n->arp,
                          .arp_n = 4, .udp = n->udp, .udp_n = 2, .tx = wire_tx, .tx_ctx = &n->out};
    memcpy(c.mac, mac, 6);
    assert_int_equal(ip_init(&n->s, &c), 0);
}

/* Feeds everything `from` sent to `to`; returns how many frames. */
static unsigned deliver(struct node *from, struct node *to, uint64_t now)
{
    unsigned n = from->out.n;
    for (unsigned i = 0; i < n; i++)
        ip_input(&to->s, from->out.f[i], from->out.len[i], now);
    from->out.n = 0;
    return n;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An ARP packet in a 60-byte frame. */
static size_t arp_frame(uint8_t *f, const uint8_t *eth_dst, uint16_t op, const uint8_t *sha,
                        uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    static const uint8_t zero[6];
    memset(f, 0, 60);
    memcpy(f, eth_dst, 6);
    memcpy(f + 6, sha, 6);
    f[12] = 0x08, f[13] = 0x06;
    uint8_t *a = f + 14;
    a[1] = 1;              /* htype Ethernet */
    a[2] = 0x08, a[3] = 0; /* ptype IPv4 */
    a[4] = 6, a[5] = 4;
    a[7] = (uint8_t)op;
    memcpy(a + 8, sha, 6);
    put32(a + 14, spa);
    memcpy(a + 18, tha ? tha : zero, 6);
    put32(a + 24, tpa);
    return 60;
}

#define EXPECT_DROP(node, frame, len, why)                                          \
    do {                                                                            \
        int rc_ = ip_input(&(node)->s, frame, len, 0);                              \
        if (rc_ != -XEN_EINVAL || (node)->s.last_drop != (why))                     \
            fail_msg("%s:%d: rc %d drop '%s', want '%s'", __FILE__, __LINE__, rc_,   \
                     ip_drop_str((node)->s.last_drop), ip_drop_str(why));           \
        assert_int_equal((node)->out.n, 0);                                         \
    } while (0)

/* ---- checksum ---- */

static void test_checksum_known(void **state)
{
    /* The textbook header (RFC 1071 examples, Wikipedia's "IPv4 header
     * checksum"): 192.168.0.1 -> 192.168.0.199, UDP, checksum 0xb861. */
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(ip_checksum(h, 20), 0xb861);
    h[10] = 0xb8, h[11] = 0x61;
    assert_int_equal(ip_checksum(h, 20), 0);
    /* Odd lengths pad with a zero byte. */
    static const uint8_t odd[3] = {0x01, 0x02, 0x03};
    assert_int_equal(ip_checksum(odd, 3), (uint16_t)~(0x0102 + 0x0300));
    /* The reference packets verify: IP header, then ICMP message. */
    assert_int_equal(ip_checksum(echo_req_b_to_a + 14, 20), 0);
    assert_int_equal(ip_checksum(echo_req_b_to_a + 34, 16), 0);
    assert_int_equal(ip_checksum(echo_rep_a_to_b + 14, 20), 0);
    /* A carry out of the top folds back in: 0xffff + 0x0001. */
    static const uint8_t carry[4] = {0xff, 0xff, 0x00, 0x01};
    assert_int_equal(ip_checksum(carry, 4), 0xfffe);
}

/* ---- configuration ---- */

static void test_init(void **state)
{
    struct ip_stack s;
    struct ip_arp_entry arp[2];
    struct wire w;
    struct ip_config good = {.mac = {2, 0, 0, 0, 0, 1}, .addr = A_IP, .netmask = 0xffffff00,
                             .arp = arp, .arp_n = 2, .tx = wire_tx, .tx_ctx = &w};
    struct ip_config c = good;
    assert_int_equal(ip_init(&s, &c), 0);
    assert_int_equal(s.c.arp_ttl, IP_ARP_TTL_DEFAULT);
    c.netmask = 0xffffffff;   /* a /32 is fine, and has no subnet broadcast */
    assert_int_equal(ip_init(&s, &c), 0);
    w.n = 0;
    assert_int_equal(ip_udp_send(&s, A_IP, 7, 7, (const uint8_t *)"x", 1, 0), -XEN_EADDRNOTAVAIL);
    assert_int_equal(w.n, 0);
    c = good;
    c.netmask = 0xff00ff00;
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c.netmask = 0;
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c = good;
    c.addr = IP4(10, 0, 0, 255);
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c.addr = IP4(10, 0, 0, 0);
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c = good;
    memset(c.mac, 0, 6);
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c.mac[0] = 1;
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c = good;
    c.tx = NULL;
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c = good;
    c.arp_n = 0;
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c = good;
    c.gateway = IP4(10, 0, 1, 1);
    assert_int_equal(ip_init(&s, &c), -XEN_EINVAL);
    c.gateway = IP4(10, 0, 0, 254);
    assert_int_equal(ip_init(&s, &c), 0);
}

/* ---- ARP ---- */

static void test_arp_answer_and_learn(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    uint8_t f[60], mac[6];
    /* Who has 10.0.0.1? tell 10.0.0.2 */
    size_t len = arp_frame(f, BCAST, 1, B_MAC, B_IP, NULL, A_IP);
    assert_int_equal(ip_input(&a.s, f, len, 100), 0);
    assert_int_equal(a.out.n, 1);
    const uint8_t *r = a.out.f[0];
    assert_int_equal(a.out.len[0], 60);
    assert_memory_equal(r, B_MAC, 6);        /* unicast back */
    assert_memory_equal(r + 6, A_MAC, 6);
    assert_int_equal(be16(r + 12), 0x0806);
    assert_int_equal(be16(r + 14), 1);
    assert_int_equal(be16(r + 16), 0x0800);
    assert_int_equal(r[18], 6);
    assert_int_equal(r[19], 4);
    assert_int_equal(be16(r + 20), 2);       /* reply */
    assert_memory_equal(r + 22, A_MAC, 6);
    assert_int_equal(be32(r + 28), A_IP);
    assert_memory_equal(r + 32, B_MAC, 6);
    assert_int_equal(be32(r + 38), B_IP);
    /* ... and learned who asked. */
    assert_int_equal(ip_arp_lookup(&a.s, B_IP, mac, 100), 0);
    assert_memory_equal(mac, B_MAC, 6);

    /* A request for somebody else: no answer, the unknown sender is not
     * learned ... */
    a.out.n = 0;
    len = arp_frame(f, BCAST, 1, C_MAC, C_IP, NULL, IP4(10, 0, 0, 9));
    assert_int_equal(ip_input(&a.s, f, len, 200), 0);
    assert_int_equal(a.out.n, 0);
    assert_int_equal(ip_arp_lookup(&a.s, C_IP, mac, 200), -XEN_ENOENT);
    /* ... but a known one is refreshed with its new MAC. */
    len = arp_frame(f, BCAST, 1, C_MAC, B_IP, NULL, IP4(10, 0, 0, 9));
    assert_int_equal(ip_input(&a.s, f, len, 300), 0);
    assert_int_equal(ip_arp_lookup(&a.s, B_IP, mac, 300), 0);
    assert_memory_equal(mac, C_MAC, 6);
    assert_int_equal(a.out.n, 0);

    /* A reply to us teaches its sender. */
    len = arp_frame(f, A_MAC, 2, C_MAC, C_IP, A_MAC, A_IP);
    assert_int_equal(ip_input(&a.s, f, len, 400), 0);
    assert_int_equal(ip_arp_lookup(&a.s, C_IP, mac, 400), 0);
    assert_int_equal(a.out.n, 0);
    /* An ARP probe (sender 0.0.0.0) is answered but teaches nothing. */
    len = arp_frame(f, BCAST, 1, B_MAC, 0, NULL, A_IP);
    assert_int_equal(ip_input(&a.s, f, len, 500), 0);
    assert_int_equal(a.out.n, 1);
    assert_int_equal(ip_arp_lookup(&a.s, 0, mac, 500), -XEN_ENOENT);
    for (unsigned i = 0; i < 4; i++)   /* no slot took the prober's MAC */
        assert_true(a.arp[i].ip != 0 || (a.arp[i].seen == 0 && a.arp[i].mac[0] == 0));
}

static void test_arp_malformed(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    uint8_t f[60];
    size_t len = arp_frame(f, BCAST, 1, B_MAC, B_IP, NULL, A_IP);
    uint8_t g[60];
    memcpy(g, f, 60);
    g[15] = 6;             /* htype IEEE 802 */
    EXPECT_DROP(&a, g, 60, IP_DROP_ARP_MALFORMED);
    memcpy(g, f, 60);
    g[16] = 0x86, g[17] = 0xdd;
    EXPECT_DROP(&a, g, 60, IP_DROP_ARP_MALFORMED);
    memcpy(g, f, 60);
    g[18] = 8;
    EXPECT_DROP(&a, g, 60, IP_DROP_ARP_MALFORMED);
    memcpy(g, f, 60);
    g[19] = 16;
    EXPECT_DROP(&a, g, 60, IP_DROP_ARP_MALFORMED);
    memcpy(g, f, 60);
    g[21] = 3;             /* RARP request */
    EXPECT_DROP(&a, g, 60, IP_DROP_ARP_MALFORMED);
    EXPECT_DROP(&a, f, 14 + 27, IP_DROP_ARP_MALFORMED);
    /* Senders that must not be learned. */
    static const uint8_t mcast[6] = {1, 0, 0x5e, 0, 0, 1};
    len = arp_frame(g, BCAST, 1, mcast, B_IP, NULL, A_IP);
    EXPECT_DROP(&a, g, len, IP_DROP_ARP_SENDER);
    static const uint8_t zero[6];
    len = arp_frame(g, BCAST, 1, zero, B_IP, NULL, A_IP);
    EXPECT_DROP(&a, g, len, IP_DROP_ARP_SENDER);
    len = arp_frame(g, BCAST, 1, B_MAC, A_IP, NULL, A_IP);   /* claims our address */
    EXPECT_DROP(&a, g, len, IP_DROP_ARP_SENDER);
    uint8_t mac[6];
    assert_int_equal(ip_arp_lookup(&a.s, B_IP, mac, 0), -XEN_ENOENT);
    assert_int_equal(ip_arp_lookup(&a.s, A_IP, mac, 0), -XEN_ENOENT);
    /* Whole and right, it is answered. */
    assert_int_equal(ip_input(&a.s, f, len, 0), 0);
    assert_int_equal(a.out.n, 1);
}

static void learn(struct node *n, uint32_t ip, uint8_t last, uint64_t now)
{
    uint8_t f[60], mac[6] = {2, 0, 0, 0, 1, last};
    size_t len = arp_frame(f, BCAST, 1, mac, ip, NULL, n->s.c.addr);
    assert_int_equal(ip_input(&n->s, f, len, now), 0);
    n->out.n = 0;
}

static void test_arp_ageing(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    uint8_t mac[6];
    learn(&a, B_IP, 2, 1000);
    assert_int_equal(ip_arp_lookup(&a.s, B_IP, mac, 1000 + IP_ARP_TTL_DEFAULT - 1), 0);
    assert_int_equal(ip_arp_lookup(&a.s, B_IP, mac, 1000 + IP_ARP_TTL_DEFAULT), -XEN_ENOENT);
    /* Aged but still in the table until ip_poll removes it. */
    assert_int_equal(a.arp[0].ip, B_IP);
    ip_poll(&a.s, 1000 + IP_ARP_TTL_DEFAULT - 1);
    assert_int_equal(a.arp[0].ip, B_IP);
    ip_poll(&a.s, 1000 + IP_ARP_TTL_DEFAULT);
    assert_int_equal(a.arp[0].ip, 0);
    /* An aged entry is not refreshed by ARP that is not for us. */
    learn(&a, B_IP, 2, 0);
    uint8_t f[60];
    size_t len = arp_frame(f, BCAST, 1, C_MAC, B_IP, NULL, IP4(10, 0, 0, 9));
    ip_input(&a.s, f, len, IP_ARP_TTL_DEFAULT + 5);
    assert_int_equal(ip_arp_lookup(&a.s, B_IP, mac, IP_ARP_TTL_DEFAULT + 5), -XEN_ENOENT);

    /* Replacement in a full table (4 entries): an aged one first ... */
    node_init(&a, A_MAC, A_IP, 0);
    learn(&a, IP4(10, 0, 0, 10), 10, 0);
    learn(&a, IP4(10, 0, 0, 11), 11, 50000);
    learn(&a, IP4(10, 0, 0, 12), 12, 30000);
    learn(&a, IP4(10, 0, 0, 13), 13, 40000);
    learn(&a, IP4(10, 0, 0, 14), 14, 70000);   /* .10 is aged by now */
    assert_int_equal(a.arp[0].ip, IP4(10, 0, 0, 14));
    /* ... else the one learned longest ago. */
    learn(&a, IP4(10, 0, 0, 15), 15, 71000);
    assert_int_equal(a.arp[2].ip, IP4(10, 0, 0, 15));
    assert_int_equal(ip_arp_lookup(&a.s, IP4(10, 0, 0, 11), mac, 71000), 0);
    assert_int_equal(ip_arp_lookup(&a.s, IP4(10, 0, 0, 13), mac, 71000), 0);
    assert_int_equal(ip_arp_lookup(&a.s, IP4(10, 0, 0, 12), mac, 71000), -XEN_ENOENT);
    /* Relearning an address reuses its slot. */
    learn(&a, IP4(10, 0, 0, 13), 99, 72000);
    assert_int_equal(a.arp[3].ip, IP4(10, 0, 0, 13));
    assert_int_equal(a.arp[3].mac[5], 99);
}

/* ---- ICMP echo ---- */

static void test_echo_known_bytes(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    assert_int_equal(ip_input(&a.s, echo_req_b_to_a, sizeof(echo_req_b_to_a), 0), 0);
    assert_int_equal(a.out.n, 1);
    assert_int_equal(a.out.len[0], sizeof(echo_rep_a_to_b));
    assert_memory_equal(a.out.f[0], echo_rep_a_to_b, sizeof(echo_rep_a_to_b));
    assert_int_equal(a.s.last_drop, IP_DROP_NONE);
}

static void test_ping_round_trip(void **state)
{
    struct node a, b;
    node_init(&a, A_MAC, A_IP, 0);
    node_init(&b, B_MAC, B_IP, 0);
    struct ip_ping_result r;
    /* Nobody knows anybody: ARP first, the echo waits. */
    assert_int_equal(ip_ping(&a.s, B_IP, 0x77, 1, 56, 1000), -XEN_EAGAIN);
    assert_int_equal(a.out.n, 1);
    assert_memory_equal(a.out.f[0], BCAST, 6);
    assert_int_equal(be16(a.out.f[0] + 20), 1);       /* ARP request */
    assert_int_equal(be32(a.out.f[0] + 38), B_IP);
    assert_int_equal(ip_ping_result(&a.s, B_IP, 0x77, 1, &r), -XEN_EAGAIN);
    assert_int_equal(deliver(&a, &b, 1001), 1);        /* B answers */
    assert_int_equal(deliver(&b, &a, 1002), 1);        /* A learns, sends the echo */
    assert_int_equal(a.out.n, 1);
    const uint8_t *e = a.out.f[0];
    assert_memory_equal(e, B_MAC, 6);
    assert_int_equal(a.out.len[0], 14 + 20 + 8 + 56);
    assert_int_equal(e[34], 8);
    assert_int_equal(be16(e + 38), 0x77);
    assert_int_equal(be16(e + 40), 1);
    assert_int_equal(e[42 + 55], 55);                  /* pattern payload */
    assert_int_equal(deliver(&a, &b, 1003), 1);        /* B replies */
    assert_int_equal(b.s.last_drop, IP_DROP_NONE);
    assert_int_equal(deliver(&b, &a, 1010), 1);
    assert_int_equal(a.s.last_drop, IP_DROP_NONE);
    assert_int_equal(ip_ping_result(&a.s, B_IP, 0x77, 1, &r), 0);
    assert_int_equal(r.from, B_IP);
    assert_int_equal(r.rtt, 8);
    assert_int_equal(r.payload_len, 56);
    assert_int_equal(r.ttl, 64);
    assert_int_equal(ip_ping_result(&a.s, B_IP, 0x77, 1, &r), -XEN_ENOENT);   /* collected */

    /* Now the MAC is known: straight out. */
    assert_int_equal(ip_ping(&a.s, B_IP, 0x77, 2, 0, 2000), 0);
    assert_int_equal(ip_ping(&a.s, B_IP, 0x77, 2, 0, 2000), -XEN_EBUSY);
    assert_int_equal(deliver(&a, &b, 2000), 1);
    assert_int_equal(deliver(&b, &a, 2004), 1);
    assert_int_equal(ip_ping_result(&a.s, B_IP, 0x77, 2, &r), 0);
    assert_int_equal(r.rtt, 4);
    assert_int_equal(r.payload_len, 0);
    /* A second reply to the same echo matches nothing any more. */
    assert_int_equal(ip_ping(&a.s, B_IP, 0x77, 3, 8, 3000), 0);
    assert_int_equal(deliver(&a, &b, 3000), 1);
    memcpy(&b.out.f[1], &b.out.f[0], sizeof(b.out.f[0]));
    b.out.len[1] = b.out.len[0];
    b.out.n = 2;
    ip_input(&a.s, b.out.f[0], b.out.len[0], 3001);
    assert_int_equal(a.s.last_drop, IP_DROP_NONE);
    assert_int_equal(ip_input(&a.s, b.out.f[1], b.out.len[1], 3001), -XEN_EINVAL);
    assert_int_equal(a.s.last_drop, IP_DROP_PING_UNMATCHED);
}

static void test_ping_limits(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, IP4(10, 0, 0, 254));
    struct ip_ping_result r;
    assert_int_equal(ip_ping(&a.s, C_IP, 1, 1, IP_PING_PAYLOAD_MAX + 1, 0), -XEN_EMSGSIZE);
    assert_int_equal(ip_ping(&a.s, IP4(10, 0, 0, 255), 1, 1, 8, 0), -XEN_EADDRNOTAVAIL);
    assert_int_equal(ip_ping(&a.s, A_IP, 1, 1, 8, 0), -XEN_EADDRNOTAVAIL);
    assert_int_equal(ip_ping(&a.s, IP4(224, 0, 0, 1), 1, 1, 8, 0), -XEN_EADDRNOTAVAIL);
    assert_int_equal(a.out.n, 0);
    /* Off-link goes through the gateway: ARP asks for it. */
    assert_int_equal(ip_ping(&a.s, IP4(8, 8, 8, 8), 1, 1, 8, 0), -XEN_EAGAIN);
    assert_int_equal(be32(a.out.f[0] + 38), IP4(10, 0, 0, 254));
    for (uint16_t i = 2; i <= IP_PINGS_MAX; i++)
        assert_int_equal(ip_ping(&a.s, C_IP, 1, i, 8, 0), -XEN_EAGAIN);
    assert_int_equal(ip_ping(&a.s, C_IP, 1, 99, 8, 0), -XEN_ENOSPC);
    /* ARP is asked again every IP_ARP_RETRY_MS, IP_ARP_TRIES times in all. */
    a.out.n = 0;
    ip_poll(&a.s, IP_ARP_RETRY_MS - 1);
    assert_int_equal(a.out.n, 0);
    ip_poll(&a.s, IP_ARP_RETRY_MS);
    assert_int_equal(a.out.n, IP_PINGS_MAX);
    ip_poll(&a.s, 2 * IP_ARP_RETRY_MS);
    assert_int_equal(a.out.n, 2 * IP_PINGS_MAX);
    assert_int_equal(ip_ping_result(&a.s, C_IP, 1, 2, &r), -XEN_EAGAIN);
    ip_poll(&a.s, 3 * IP_ARP_RETRY_MS);
    assert_int_equal(a.out.n, 2 * IP_PINGS_MAX);   /* no fourth request */
    assert_int_equal(ip_ping_result(&a.s, C_IP, 1, 2, &r), -XEN_ETIMEDOUT);
    assert_int_equal(ip_ping_result(&a.s, C_IP, 1, 2, &r), -XEN_ENOENT);
    /* Finished echoes make room for new ones. */
    a.out.n = 0;
    learn(&a, C_IP, 3, 4000);
    assert_int_equal(ip_ping(&a.s, C_IP, 1, 99, 8, 4000), 0);
    /* An echo without a reply times out. */
    ip_poll(&a.s, 4000 + IP_PING_TIMEOUT_MS - 1);
    assert_int_equal(ip_ping_result(&a.s, C_IP, 1, 99, &r), -XEN_EAGAIN);
    ip_poll(&a.s, 4000 + IP_PING_TIMEOUT_MS);
    assert_int_equal(ip_ping_result(&a.s, C_IP, 1, 99, &r), -XEN_ETIMEDOUT);
}

static void test_echo_broadcast_ignored(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    uint8_t f[60];
    memcpy(f, echo_req_b_to_a, 60);
    memcpy(f, BCAST, 6);
    f[33] = 255;   /* 10.0.0.255 */
    f[24] = f[25] = 0;
    uint16_t c = ip_checksum(f + 14, 20);
    f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
    EXPECT_DROP(&a, f, 60, IP_DROP_ICMP_BCAST);
}

/* ---- malformed frames ---- */

/* Rewrites the IP header checksum after an edit. */
static void reseal(uint8_t *f)
{
    size_t ihl = (size_t)(f[14] & 0xf) * 4;
    if (ihl < 20 || ihl > 40)
        ihl = 20;
    f[24] = f[25] = 0;
    uint16_t c = ip_checksum(f + 14, ihl);
    f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
}

static void test_malformed(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    uint8_t f[80];
    const size_t L = sizeof(echo_req_b_to_a);
#define FRESH() memcpy(f, echo_req_b_to_a, L)
    FRESH();
    EXPECT_DROP(&a, f, 13, IP_DROP_ETH);
    EXPECT_DROP(&a, f, 14 + 19, IP_DROP_SHORT);
    f[14] = 0x65;   /* version 6 */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_VERSION);
    FRESH();
    f[14] = 0x44;   /* IHL 4 */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_IHL);
    FRESH();
    f[14] = 0x4f;   /* IHL 15: 60 bytes, beyond the 46 there are */
    EXPECT_DROP(&a, f, L, IP_DROP_IHL);
    FRESH();
    f[17] = 19;     /* total length below the header */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_TOTAL_LEN);
    FRESH();
    f[17] = 47;     /* beyond the frame */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_TOTAL_LEN);
    FRESH();
    f[25] ^= 1;
    EXPECT_DROP(&a, f, L, IP_DROP_CSUM);
    FRESH();
    f[20] = 0x20;   /* more fragments */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_FRAGMENT);
    FRESH();
    f[21] = 0x01;   /* offset 8 */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_FRAGMENT);
    FRESH();
    f[20] = 0x40;   /* DF alone is fine */
    reseal(f);
    assert_int_equal(ip_input(&a.s, f, L, 0), 0);
    a.out.n = 0;
    FRESH();
    f[33] = 9;      /* 10.0.0.9: not us */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_DST);
    FRESH();
    f[29] = 255;    /* from 10.0.0.255 */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_SRC);
    FRESH();
    f[26] = 224;    /* from 224.0.0.2 */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_SRC);
    FRESH();
    f[23] = 6;      /* TCP */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_PROTO);
    FRESH();
    f[37] ^= 1;
    EXPECT_DROP(&a, f, L, IP_DROP_ICMP_CSUM);
    FRESH();
    f[17] = 24;     /* 4 bytes of ICMP */
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_ICMP_SHORT);
    FRESH();
    f[34] = 13;     /* timestamp request */
    f[36] = f[37] = 0;
    uint16_t c = ip_checksum(f + 34, 16);
    f[36] = (uint8_t)(c >> 8), f[37] = (uint8_t)c;
    EXPECT_DROP(&a, f, L, IP_DROP_ICMP_TYPE);
    FRESH();
    f[5] = 9;       /* another MAC */
    EXPECT_DROP(&a, f, L, IP_DROP_NOT_FOR_US);
    f[0] = 0x01, f[1] = 0x00, f[2] = 0x5e;   /* multicast, not broadcast */
    EXPECT_DROP(&a, f, L, IP_DROP_NOT_FOR_US);
    FRESH();
    f[12] = 0x86, f[13] = 0xdd;
    EXPECT_DROP(&a, f, L, IP_DROP_ETHERTYPE);
    /* Tagged: move everything 4 bytes up behind a tag. */
    FRESH();
    memmove(f + 16, f + 12, L - 12);
    f[12] = 0x81, f[13] = 0x00, f[14] = 0, f[15] = 5;
    EXPECT_DROP(&a, f, L + 4, IP_DROP_TAGGED);
    /* IP options are skipped: IHL 6 with a 4-byte NOP option. */
    FRESH();
    memmove(f + 38, f + 34, L - 34);
    f[14] = 0x46;
    f[17] = 40;
    f[34] = f[35] = f[36] = f[37] = 1;
    reseal(f);
    assert_int_equal(ip_input(&a.s, f, L + 4, 0), 0);
    assert_int_equal(a.out.n, 1);
#undef FRESH
}

/* ---- UDP ---- */

struct got {
    int n;
    uint32_t src;
    uint16_t sport, dport;
    size_t len;
    uint8_t data[64];
};

static void udp_rx(void *ctx, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *data,
                   size_t len)
{
    struct got *g = ctx;
    g->n++;
    g->src = src;
    g->sport = sport;
    g->dport = dport;
    g->len = len;
    memcpy(g->data, data, len < sizeof(g->data) ? len : sizeof(g->data));
}

static void test_udp_in(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    struct got g = {0};
    const size_t L = sizeof(udp_b_to_a);
    uint8_t f[60];
    EXPECT_DROP(&a, udp_b_to_a, L, IP_DROP_UDP_PORT);
    assert_int_equal(ip_udp_bind(&a.s, 7, udp_rx, &g), 0);
    assert_int_equal(ip_udp_bind(&a.s, 7, udp_rx, &g), -XEN_EEXIST);
    assert_int_equal(ip_udp_bind(&a.s, 0, udp_rx, &g), -XEN_EINVAL);
    assert_int_equal(ip_udp_bind(&a.s, 8, udp_rx, &g), 0);
    assert_int_equal(ip_udp_bind(&a.s, 9, udp_rx, &g), -XEN_ENOSPC);
    assert_int_equal(ip_udp_unbind(&a.s, 8), 0);
    assert_int_equal(ip_udp_unbind(&a.s, 8), -XEN_ENOENT);
    assert_int_equal(ip_input(&a.s, udp_b_to_a, L, 0), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.src, B_IP);
    assert_int_equal(g.sport, 5000);
    assert_int_equal(g.dport, 7);
    assert_int_equal(g.len, 5);
    assert_memory_equal(g.data, "hello", 5);
    assert_int_equal(a.out.n, 0);
    /* A damaged payload fails the checksum ... */
    memcpy(f, udp_b_to_a, L);
    f[42] ^= 0x20;
    EXPECT_DROP(&a, f, L, IP_DROP_UDP_CSUM);
    /* ... unless the sender sent none (0 means none in IPv4). */
    f[40] = f[41] = 0;
    assert_int_equal(ip_input(&a.s, f, L, 0), 0);
    assert_int_equal(g.n, 2);
    assert_memory_equal(g.data, "Hello", 5);
    /* Lengths. */
    memcpy(f, udp_b_to_a, L);
    f[39] = 7;
    EXPECT_DROP(&a, f, L, IP_DROP_UDP_LEN);
    f[39] = 14;    /* beyond the IP payload (13) */
    EXPECT_DROP(&a, f, L, IP_DROP_UDP_LEN);
    memcpy(f, udp_b_to_a, L);
    f[17] = 20 + 7;
    reseal(f);
    EXPECT_DROP(&a, f, L, IP_DROP_UDP_SHORT);
    /* A shorter UDP length than the IP payload: the rest is not data. */
    memcpy(f, udp_b_to_a, L);
    f[39] = 12;
    f[40] = f[41] = 0;
    assert_int_equal(ip_input(&a.s, f, L, 0), 0);
    assert_int_equal(g.len, 4);
    /* To the subnet broadcast is delivered too. */
    memcpy(f, udp_b_to_a, L);
    memcpy(f, BCAST, 6);
    f[33] = 255;
    f[40] = f[41] = 0;
    reseal(f);
    assert_int_equal(ip_input(&a.s, f, L, 0), 0);
    assert_int_equal(g.n, 4);
}

static void test_udp_out(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    static const uint8_t msg[] = "world!";
    /* Unknown MAC: an ARP request, nothing queued. */
    assert_int_equal(ip_udp_send(&a.s, B_IP, 7, 5000, msg, 6, 0), -XEN_EAGAIN);
    assert_int_equal(a.out.n, 1);
    assert_int_equal(be16(a.out.f[0] + 12), 0x0806);
    a.out.n = 0;
    learn(&a, B_IP, 2, 0);
    memcpy(a.arp[0].mac, B_MAC, 6);
    assert_int_equal(ip_udp_send(&a.s, B_IP, 7, 5000, msg, 6, 0), 0);
    assert_int_equal(a.out.n, 1);
    assert_int_equal(a.out.len[0], sizeof(udp_a_to_b));
    assert_memory_equal(a.out.f[0], udp_a_to_b, sizeof(udp_a_to_b));
    /* Broadcast, refusals. */
    a.out.n = 0;
    assert_int_equal(ip_udp_send(&a.s, 0xffffffff, 68, 67, msg, 6, 0), 0);
    assert_memory_equal(a.out.f[0], BCAST, 6);
    assert_int_equal(ip_udp_send(&a.s, IP4(8, 8, 8, 8), 7, 7, msg, 6, 0), -XEN_EADDRNOTAVAIL);
    assert_int_equal(ip_udp_send(&a.s, B_IP, 7, 7, msg, IP_UDP_PAYLOAD_MAX + 1, 0), -XEN_EMSGSIZE);
    assert_int_equal(ip_udp_send(&a.s, B_IP, 0, 7, msg, 6, 0), -XEN_EINVAL);
    assert_int_equal(a.out.n, 1);
}

static void test_udp_between_stacks(void **state)
{
    struct node a, b;
    node_init(&a, A_MAC, A_IP, 0);
    node_init(&b, B_MAC, B_IP, 0);
    struct got g = {0};
    assert_int_equal(ip_udp_bind(&b.s, 4000, udp_rx, &g), 0);
    static uint8_t big[IP_UDP_PAYLOAD_MAX];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(ip_udp_send(&a.s, B_IP, 1234, 4000, big, sizeof(big), 0), -XEN_EAGAIN);
    deliver(&a, &b, 1);
    deliver(&b, &a, 2);
    assert_int_equal(ip_udp_send(&a.s, B_IP, 1234, 4000, big, sizeof(big), 3), 0);
    assert_int_equal(a.out.len[0], IP_FRAME_MAX);
    deliver(&a, &b, 4);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.len, sizeof(big));
    assert_int_equal(g.src, A_IP);
    assert_int_equal(g.sport, 1234);
    assert_memory_equal(g.data, big, sizeof(g.data));
    /* An empty datagram. */
    assert_int_equal(ip_udp_send(&a.s, B_IP, 1234, 4000, NULL, 0, 5), 0);
    deliver(&a, &b, 6);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.len, 0);
    /* A datagram whose checksum computes to 0 carries 0xffff (0 would say
     * "no checksum"); python3 found the payload 0xd765 for these
     * addresses and ports. */
    static const uint8_t zero_sum[2] = {0xd7, 0x65};
    assert_int_equal(ip_udp_send(&a.s, B_IP, 1234, 4000, zero_sum, 2, 7), 0);
    assert_int_equal(be16(a.out.f[0] + 40), 0xffff);
    deliver(&a, &b, 8);
    assert_int_equal(g.n, 3);
    assert_int_equal(b.s.last_drop, IP_DROP_NONE);
}

/* An echo request whose reply would not fit our 1514-byte buffer (a
 * jumbo frame from the wire) is dropped, not truncated. */
static void test_echo_too_big(void **state)
{
    struct node a;
    node_init(&a, A_MAC, A_IP, 0);
    static uint8_t f[1600];
    for (size_t payload = IP_PING_PAYLOAD_MAX; payload <= IP_PING_PAYLOAD_MAX + 1; payload++) {
        memset(f, 0, sizeof(f));
        memcpy(f, echo_req_b_to_a, 34);
        size_t total = 20 + 8 + payload;
        f[16] = (uint8_t)(total >> 8), f[17] = (uint8_t)total;
        reseal(f);
        f[34] = 8;
        f[38] = 0x12, f[39] = 0x34;
        uint16_t c = ip_checksum(f + 34, 8 + payload);
        f[36] = (uint8_t)(c >> 8), f[37] = (uint8_t)c;
        a.out.n = 0;
        int rc = ip_input(&a.s, f, 14 + total, 0);
        if (payload == IP_PING_PAYLOAD_MAX) {
            assert_int_equal(rc, 0);
            assert_int_equal(a.out.len[0], IP_FRAME_MAX);
        } else {
            EXPECT_DROP(&a, f, 14 + total, IP_DROP_TOO_BIG);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_known),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_arp_answer_and_learn),
        cmocka_unit_test(test_arp_malformed),
        cmocka_unit_test(test_arp_ageing),
        cmocka_unit_test(test_echo_known_bytes),
        cmocka_unit_test(test_ping_round_trip),
        cmocka_unit_test(test_ping_limits),
        cmocka_unit_test(test_echo_broadcast_ignored),
        cmocka_unit_test(test_echo_too_big),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_udp_in),
        cmocka_unit_test(test_udp_out),
        cmocka_unit_test(test_udp_between_stacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
