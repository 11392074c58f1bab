/*
 * test_bridge.c - host unit tests for dom0's software bridge: Ethernet
 * and 802.1Q parsing and tag rewriting (guest-drivers/net/eth.c), and the
 * ports, FDB and forwarding decision (guest-drivers/net/fdb.c): learning,
 * moves, flooding within a VLAN, access/trunk/native VLAN rules with
 * the bytes that leave each port, ageing by the time argument, the
 * bounded table's replacement order and static entries, the FDB listing,
 * and random frames that must never break the forwarding invariants.
 * Links: fdb.c, eth.c, hv/shared/format.c. Mocks: nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/bridge.h>

static const uint8_t MAC_A[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x0b };
static const uint8_t MAC_C[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x0c };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t STP[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 };
static const uint8_t ZERO[6] = { 0 };

/* A frame: dst, src, optional tag (tci), ethertype 0x0800, payload bytes
 * 0, 1, 2... Returns its length. */
static size_t mkframe(uint8_t *f, const uint8_t *dst, const uint8_t *src, int tci, size_t payload)
{
    size_t n = 0;
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    n = 12;
    if (tci >= 0) {
        f[n++] = 0x81;
        f[n++] = 0x00;
        f[n++] = (uint8_t)(tci >> 8);
        f[n++] = (uint8_t)tci;
    }
    f[n++] = 0x08;
    f[n++] = 0x00;
    for (size_t i = 0; i < payload; i++)
        f[n++] = (uint8_t)i;
    return n;
}

static struct br_fdb_entry table[64];

static void test_eth_parse(void **state)
{
    uint8_t f[128];
    struct eth_info e;
    size_t n = mkframe(f, MAC_B, MAC_A, -1, 46);
    assert_int_equal(eth_parse(f, n, &e), 0);
    assert_false(e.tagged);
    assert_memory_equal(e.dst, MAC_B, 6);
    assert_memory_equal(e.src, MAC_A, 6);
    assert_int_equal(e.ethertype, 0x0800);
    assert_int_equal(e.hdr_len, 14);
    assert_int_equal(eth_parse(f, 14, &e), 0);       /* header only */
    assert_int_equal(eth_parse(f, 13, &e), -XEN_EINVAL);
    assert_int_equal(eth_parse(NULL, 64, &e), -XEN_EINVAL);

    n = mkframe(f, MAC_B, MAC_A, (5 << 13) | (1 << 12) | 100, 10);
    assert_int_equal(eth_parse(f, n, &e), 0);
    assert_true(e.tagged);
    assert_int_equal(e.vid, 100);
    assert_int_equal(e.pcp, 5);
    assert_int_equal(e.tci, (5 << 13) | (1 << 12) | 100);
    assert_int_equal(e.ethertype, 0x0800);
    assert_int_equal(e.hdr_len, 18);
    assert_int_equal(eth_parse(f, 18, &e), 0);
    assert_int_equal(eth_parse(f, 17, &e), -XEN_EINVAL);   /* tag cut short */
    assert_int_equal(eth_parse(f, 15, &e), -XEN_EINVAL);

    assert_true(eth_is_broadcast(BCAST));
    assert_false(eth_is_broadcast(MCAST));
    assert_true(eth_is_multicast(MCAST) && eth_is_multicast(BCAST) && !eth_is_multicast(MAC_A));
    assert_true(eth_is_link_local(STP));
    uint8_t ll[6] = { 0x01, 0x80, 0xc2, 0, 0, 0x0f };
    assert_true(eth_is_link_local(ll));
    ll[5] = 0x10;
    assert_false(eth_is_link_local(ll));
    assert_true(eth_is_zero(ZERO) && !eth_is_zero(MAC_A));
    char s[18];
    eth_format_mac(s, MAC_A);
    assert_string_equal(s, "00:16:3e:00:00:0a");
}

static void test_eth_retag(void **state)
{
    uint8_t f[128], out[128], want[128];
    struct eth_info e;
    size_t n = mkframe(f, MAC_B, MAC_A, -1, 20);
    eth_parse(f, n, &e);
    /* Insert. */
    assert_int_equal(eth_retag(f, n, &e, true, (3 << 13) | 42, out, sizeof(out)), (int)n + 4);
    size_t wn = mkframe(want, MAC_B, MAC_A, (3 << 13) | 42, 20);
    assert_memory_equal(out, want, wn);
    /* Strip, in place. */
    struct eth_info e2;
    eth_parse(out, wn, &e2);
    assert_int_equal(eth_retag(out, wn, &e2, false, 0, out, sizeof(out)), (int)n);
    assert_memory_equal(out, f, n);
    /* Insert in place too. */
    memcpy(out, f, n);
    assert_int_equal(eth_retag(out, n, &e, true, (3 << 13) | 42, out, sizeof(out)), (int)wn);
    assert_memory_equal(out, want, wn);
    /* Too small a buffer. */
    assert_int_equal(eth_retag(f, n, &e, true, 42, out, n + 3), -XEN_ENOSPC);
    assert_int_equal(eth_retag(f, n, &e, true, 42, out, n + 4), (int)n + 4);
    /* A parse that does not match the length. */
    assert_int_equal(eth_retag(f, 10, &e, false, 0, out, sizeof(out)), -XEN_EINVAL);
}

static void test_ports(void **state)
{
    struct bridge br;
    br_init(&br, table, 64);
    assert_int_equal(br.ageing_ms, 300000);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 0), -XEN_EINVAL);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 4095), -XEN_EINVAL);
    assert_int_equal(br_port_add(&br, 0, "a-name-too-long!", BR_PORT_ACCESS, 1), -XEN_EINVAL);
    assert_int_equal(br_port_add(&br, 0, "", BR_PORT_ACCESS, 1), -XEN_EINVAL);
    assert_int_equal(br_port_add(&br, BR_MAX_PORTS, "x", BR_PORT_ACCESS, 1), -XEN_EINVAL);
    assert_int_equal(br_port_add(&br, 0, "x", (enum br_port_mode)9, 1), -XEN_EINVAL);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 1), 0);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 1), -XEN_EEXIST);
    assert_int_equal(br_port_add(&br, 1, "eth0", BR_PORT_TRUNK, 0), 0);
    assert_int_equal(br_trunk_allow(&br, 0, 5, true), -XEN_EINVAL);   /* access port */
    assert_int_equal(br_trunk_allow(&br, 1, 0, true), -XEN_EINVAL);
    assert_int_equal(br_trunk_allow(&br, 1, 4095, true), -XEN_EINVAL);
    assert_int_equal(br_trunk_allow(&br, 2, 5, true), -XEN_ENOENT);
    assert_int_equal(br_trunk_allow(&br, 1, 4094, true), 0);
    assert_true(br_port_member(&br, 1, 4094));
    assert_false(br_port_member(&br, 1, 4093));
    assert_true(br_port_member(&br, 0, 1));
    assert_false(br_port_member(&br, 0, 2));
    assert_int_equal(br_trunk_allow(&br, 1, 4094, false), 0);
    assert_false(br_port_member(&br, 1, 4094));
    assert_int_equal(br_port_del(&br, 3), -XEN_ENOENT);
}

/* Ports 0, 1, 2: access VLAN 10; port 3: access VLAN 20; port 4: trunk
 * with VLANs 10 and 30 tagged and no native VLAN. */
static void setup(struct bridge *br)
{
    br_init(br, table, 64);
    assert_int_equal(br_port_add(br, 0, "vif1.0", BR_PORT_ACCESS, 10), 0);
    assert_int_equal(br_port_add(br, 1, "vif2.0", BR_PORT_ACCESS, 10), 0);
    assert_int_equal(br_port_add(br, 2, "vif3.0", BR_PORT_ACCESS, 10), 0);
    assert_int_equal(br_port_add(br, 3, "vif4.0", BR_PORT_ACCESS, 20), 0);
    assert_int_equal(br_port_add(br, 4, "eth0", BR_PORT_TRUNK, 0), 0);
    assert_int_equal(br_trunk_allow(br, 4, 10, true), 0);
    assert_int_equal(br_trunk_allow(br, 4, 30, true), 0);
}

#define P(n) (1u << (n))

static void test_learn_and_forward(void **state)
{
    struct bridge br;
    setup(&br);
    uint8_t f[128];
    struct br_fwd fw;
    size_t n = mkframe(f, MAC_B, MAC_A, -1, 46);
    /* Unknown unicast: flood VLAN 10, not the source, not VLAN 20. */
    assert_int_equal(br_input(&br, 0, f, n, 1000, &fw), BR_FORWARD);
    assert_true(fw.flooded);
    assert_int_equal(fw.vid, 10);
    assert_int_equal(fw.out_ports, P(1) | P(2) | P(4));
    assert_int_equal(fw.tagged_ports, P(4));
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 1000), 0);
    assert_int_equal(br_fdb_lookup(&br, 20, MAC_A, 1000), -XEN_ENOENT);
    /* The answer goes to port 0 only. */
    n = mkframe(f, MAC_A, MAC_B, -1, 46);
    assert_int_equal(br_input(&br, 1, f, n, 2000, &fw), BR_FORWARD);
    assert_false(fw.flooded);
    assert_int_equal(fw.out_ports, P(0));
    assert_int_equal(fw.tagged_ports, 0);
    assert_int_equal(br.stats.learned, 2);
    /* A moves to port 2. */
    n = mkframe(f, MAC_B, MAC_A, -1, 46);
    assert_int_equal(br_input(&br, 2, f, n, 3000, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(1));
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 3000), 2);
    assert_int_equal(br.stats.moved, 1);
    assert_int_equal(br.fdb_count, 2);
    /* Destination on the ingress port: filtered. */
    n = mkframe(f, MAC_A, MAC_C, -1, 46);
    assert_int_equal(br_input(&br, 2, f, n, 3000, &fw), BR_DROP_SAME_PORT);
    assert_int_equal(fw.out_ports, 0);
    /* Known in VLAN 10 but sent from VLAN 20: unknown there, floods VLAN 20 (nobody). */
    n = mkframe(f, MAC_B, MAC_C, -1, 46);
    assert_int_equal(br_input(&br, 3, f, n, 3000, &fw), BR_DROP_NO_MEMBERS);
    assert_int_equal(br_fdb_lookup(&br, 20, MAC_C, 3000), 3);   /* still learned */
}

static void test_flood_broadcast_multicast(void **state)
{
    struct bridge br;
    setup(&br);
    uint8_t f[128];
    struct br_fwd fw;
    size_t n = mkframe(f, BCAST, MAC_A, -1, 46);
    assert_int_equal(br_input(&br, 1, f, n, 0, &fw), BR_FORWARD);
    assert_true(fw.flooded);
    assert_int_equal(fw.out_ports, P(0) | P(2) | P(4));
    /* A multicast group is flooded too, even if someone "learned" it. */
    n = mkframe(f, MCAST, MAC_A, -1, 46);
    assert_int_equal(br_input(&br, 1, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(0) | P(2) | P(4));
    /* A port that is down takes nothing and sends nothing. */
    assert_int_equal(br_port_set_up(&br, 2, false), 0);
    assert_int_equal(br_input(&br, 1, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(0) | P(4));
    assert_int_equal(br_input(&br, 2, f, n, 0, &fw), BR_DROP_PORT);
    assert_int_equal(br_input(&br, 9, f, n, 0, &fw), BR_DROP_PORT);
    assert_int_equal(br_input(&br, 99, f, n, 0, &fw), BR_DROP_PORT);
}

static void test_bad_frames(void **state)
{
    struct bridge br;
    setup(&br);
    uint8_t f[128];
    struct br_fwd fw;
    size_t n = mkframe(f, MAC_B, MCAST, -1, 46);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_DROP_BAD_SRC);
    n = mkframe(f, MAC_B, BCAST, -1, 46);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_DROP_BAD_SRC);
    n = mkframe(f, MAC_B, ZERO, -1, 46);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_DROP_BAD_SRC);
    assert_int_equal(br.fdb_count, 0);                /* nothing learned */
    n = mkframe(f, STP, MAC_A, -1, 46);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_DROP_LINK_LOCAL);
    n = mkframe(f, MAC_B, MAC_A, -1, 0);
    assert_int_equal(br_input(&br, 0, f, 13, 0, &fw), BR_DROP_RUNT);
    n = mkframe(f, MAC_B, MAC_A, 10, 0);
    assert_int_equal(br_input(&br, 4, f, 17, 0, &fw), BR_DROP_RUNT);
    assert_int_equal(br_input(&br, 4, f, 18, 0, &fw), BR_FORWARD);  /* empty payload is fine */
    assert_string_equal(br_why_str(BR_DROP_LINK_LOCAL), "link-local");
}

static void test_vlans_and_egress_bytes(void **state)
{
    struct bridge br;
    setup(&br);
    uint8_t f[128], out[128], want[128];
    struct br_fwd fw;
    /* Tagged VLAN 10 from the trunk: to the access ports of VLAN 10, untagged. */
    size_t n = mkframe(f, BCAST, MAC_C, (6 << 13) | 10, 30);
    assert_int_equal(br_input(&br, 4, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.vid, 10);
    assert_int_equal(fw.out_ports, P(0) | P(1) | P(2));
    assert_int_equal(fw.tagged_ports, 0);
    int len = br_egress(&fw, 1, f, n, out, sizeof(out));
    size_t wn = mkframe(want, BCAST, MAC_C, -1, 30);
    assert_int_equal(len, (int)wn);
    assert_memory_equal(out, want, wn);
    assert_int_equal(br_egress(&fw, 3, f, n, out, sizeof(out)), -XEN_EINVAL);  /* not a member */
    assert_int_equal(br_egress(&fw, 4, f, n, out, sizeof(out)), -XEN_EINVAL);  /* the source */
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_C, 0), 4);

    /* From an access port to the trunk: a tag with the port's VLAN, priority 0. */
    n = mkframe(f, MAC_C, MAC_A, -1, 30);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(4));
    assert_int_equal(fw.tagged_ports, P(4));
    len = br_egress(&fw, 4, f, n, out, sizeof(out));
    wn = mkframe(want, MAC_C, MAC_A, 10, 30);
    assert_int_equal(len, (int)wn);
    assert_memory_equal(out, want, wn);

    /* Priority-tagged (VID 0) on an access port: its VLAN; priority kept on the trunk. */
    n = mkframe(f, BCAST, MAC_A, (4 << 13) | 0, 30);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.vid, 10);
    len = br_egress(&fw, 4, f, n, out, sizeof(out));
    wn = mkframe(want, BCAST, MAC_A, (4 << 13) | 10, 30);
    assert_memory_equal(out, want, wn);
    len = br_egress(&fw, 1, f, n, out, sizeof(out));
    wn = mkframe(want, BCAST, MAC_A, -1, 30);
    assert_int_equal(len, (int)wn);
    assert_memory_equal(out, want, wn);

    /* Refused tags. */
    n = mkframe(f, BCAST, MAC_A, 10, 30);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_DROP_VLAN);   /* tagged on access */
    n = mkframe(f, BCAST, MAC_C, 20, 30);
    assert_int_equal(br_input(&br, 4, f, n, 0, &fw), BR_DROP_VLAN);   /* not allowed */
    n = mkframe(f, BCAST, MAC_C, 4095, 30);
    assert_int_equal(br_input(&br, 4, f, n, 0, &fw), BR_DROP_VLAN);
    n = mkframe(f, BCAST, MAC_C, -1, 30);
    assert_int_equal(br_input(&br, 4, f, n, 0, &fw), BR_DROP_VLAN);   /* untagged, no native */

    /* Trunk-to-trunk keeps the tag; VLAN 30 exists only on the trunks. */
    assert_int_equal(br_port_add(&br, 5, "eth1", BR_PORT_TRUNK, 30), 0);  /* native 30 */
    assert_int_equal(br_trunk_allow(&br, 5, 10, true), 0);
    n = mkframe(f, BCAST, MAC_C, (2 << 13) | 10, 30);
    assert_int_equal(br_input(&br, 4, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(0) | P(1) | P(2) | P(5));
    assert_int_equal(fw.tagged_ports, P(5));
    len = br_egress(&fw, 5, f, n, out, sizeof(out));
    assert_int_equal(len, (int)n);
    assert_memory_equal(out, f, n);
    /* VLAN 30: tagged on eth0, native (untagged) on eth1, both ways. */
    n = mkframe(f, BCAST, MAC_B, 30, 30);
    assert_int_equal(br_input(&br, 4, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(5));
    assert_int_equal(fw.tagged_ports, 0);
    len = br_egress(&fw, 5, f, n, out, sizeof(out));
    wn = mkframe(want, BCAST, MAC_B, -1, 30);
    assert_memory_equal(out, want, wn);
    n = mkframe(f, BCAST, MAC_A, -1, 30);
    assert_int_equal(br_input(&br, 5, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.vid, 30);
    assert_int_equal(fw.out_ports, P(4));
    assert_int_equal(fw.tagged_ports, P(4));
    /* A tagged frame in the native VLAN is refused. */
    n = mkframe(f, BCAST, MAC_A, 30, 30);
    assert_int_equal(br_input(&br, 5, f, n, 0, &fw), BR_DROP_VLAN);
    /* The same MAC in two VLANs: two entries, two ports. */
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 0), 0);
    assert_int_equal(br_fdb_lookup(&br, 30, MAC_A, 0), 5);
    /* egress buffer too small */
    n = mkframe(f, MAC_C, MAC_A, -1, 30);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(br_egress(&fw, 4, f, n, out, n + 3), -XEN_ENOSPC);
}

/* Double tagging: a priority tag (VID 0) over a second 802.1Q tag, from
 * an access port in the trunk's native VLAN, left on the trunk untagged:
 * the wire saw the inner tag, so a vif hopped into any VLAN beyond the
 * uplink. An untagged S-tag (0x88a8) frame the same. Both are refused on
 * an access port; a plain priority tag still passes. */
static void test_double_tag_refused(void **state)
{
    struct bridge br;
    br_init(&br, table, 64);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 1), 0);
    assert_int_equal(br_port_add(&br, 1, "eth0", BR_PORT_TRUNK, 1), 0);   /* native 1 */
    assert_int_equal(br_trunk_allow(&br, 1, 20, true), 0);
    assert_int_equal(br_port_add(&br, 2, "vif2.0", BR_PORT_ACCESS, 20), 0);
    uint8_t f[64] = { 0 }, out[80];
    struct br_fwd fw;
    memcpy(f, BCAST, 6);
    memcpy(f + 6, MAC_A, 6);
    f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 0x00;    /* priority tag, VID 0 */
    f[16] = 0x81, f[17] = 0x00, f[18] = 0x00, f[19] = 20;      /* inner tag, VID 20 */
    f[20] = 0x08, f[21] = 0x00;
    enum br_why why = br_input(&br, 0, f, sizeof(f), 0, &fw);
    if (why == BR_FORWARD) {
        int n = br_egress(&fw, 1, f, sizeof(f), out, sizeof(out));
        /* What the wire would carry: dst, src, 81 00 00 14: VLAN 20. */
        assert_false(n >= 16 && out[12] == 0x81 && out[13] == 0 && (out[15] | out[14] << 8) == 20);
    }
    assert_int_equal(why, BR_DROP_VLAN);
    /* Untagged, ethertype 0x88a8 (an S-tag) from an access port. */
    f[12] = 0x88, f[13] = 0xa8, f[14] = 0x00, f[15] = 20;
    f[16] = 0x08, f[17] = 0x00;
    assert_int_equal(br_input(&br, 0, f, sizeof(f), 0, &fw), BR_DROP_VLAN);
    /* A plain priority tag is still its port's VLAN. */
    f[12] = 0x81, f[13] = 0x00, f[14] = 0xa0, f[15] = 0x00;
    f[16] = 0x08, f[17] = 0x00;
    assert_int_equal(br_input(&br, 0, f, sizeof(f), 0, &fw), BR_FORWARD);
    assert_int_equal(fw.vid, 1);
}

static void test_ageing(void **state)
{
    struct bridge br;
    setup(&br);
    assert_int_equal(br_fdb_learn(&br, 10, MAC_A, 0, 1000), 0);
    assert_int_equal(br_fdb_learn(&br, 10, MAC_B, 1, 1000), 0);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 1000 + 299999), 0);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 1000 + 300000), -XEN_ENOENT);
    /* Traffic refreshes: B seen again at 200 s. */
    assert_int_equal(br_fdb_learn(&br, 10, MAC_B, 1, 200000), 0);
    assert_int_equal(br_fdb_age(&br, 1000 + 300000), 1);
    assert_int_equal(br.fdb_count, 1);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_B, 400000), 1);
    /* An aged destination is flooded again. */
    uint8_t f[128];
    struct br_fwd fw;
    size_t n = mkframe(f, MAC_B, MAC_C, -1, 46);
    assert_int_equal(br_input(&br, 2, f, n, 500000, &fw), BR_FORWARD);
    assert_true(fw.flooded);
    /* A shorter ageing time; time going backwards ages nothing. */
    br.ageing_ms = 10000;
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_C, 509999), 2);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_C, 510000), -XEN_ENOENT);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_C, 100), 2);
    /* Static entries never age. */
    assert_int_equal(br_fdb_add_static(&br, 10, MAC_A, 0), 0);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 1ull << 60), 0);
    assert_int_equal(br_fdb_age(&br, 1ull << 60), 2);   /* B and C */
    assert_int_equal(br.fdb_count, 1);
}

static void test_bounded_table(void **state)
{
    struct bridge br;
    static struct br_fdb_entry small[4];
    br_init(&br, small, 4);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 1), 0);
    uint8_t m[6] = { 0x02, 0, 0, 0, 0, 0 };
    for (int i = 1; i <= 4; i++) {
        m[5] = (uint8_t)i;
        assert_int_equal(br_fdb_learn(&br, 1, m, 0, (uint64_t)i * 1000), 0);
    }
    assert_int_equal(br.fdb_count, 4);
    /* Full: the least recently seen (1) goes. */
    m[5] = 5;
    assert_int_equal(br_fdb_learn(&br, 1, m, 0, 5000), 0);
    assert_int_equal(br.stats.replaced, 1);
    m[5] = 1;
    assert_int_equal(br_fdb_lookup(&br, 1, m, 5000), -XEN_ENOENT);
    /* 2 is refreshed, so 3 is now the oldest. */
    m[5] = 2;
    br_fdb_learn(&br, 1, m, 0, 6000);
    m[5] = 6;
    br_fdb_learn(&br, 1, m, 0, 7000);
    m[5] = 3;
    assert_int_equal(br_fdb_lookup(&br, 1, m, 7000), -XEN_ENOENT);
    m[5] = 2;
    assert_int_equal(br_fdb_lookup(&br, 1, m, 7000), 0);
    assert_int_equal(br.fdb_count, 4);
    /* An aged entry is taken before any live one, counted as aged. */
    br.ageing_ms = 3500;   /* at 8500: 4 (4000) and 5 (5000) are aged */
    m[5] = 7;
    assert_int_equal(br_fdb_learn(&br, 1, m, 0, 8500), 0);
    assert_int_equal(br.stats.aged, 1);
    assert_int_equal(br.stats.replaced, 2);
    m[5] = 2;
    assert_int_equal(br_fdb_lookup(&br, 1, m, 8500), 0);   /* live, kept */
    /* Static entries are never replaced: with all slots static, no learning. */
    br_init(&br, small, 2);
    assert_int_equal(br_port_add(&br, 0, "vif1.0", BR_PORT_ACCESS, 1), 0);
    assert_int_equal(br_port_add(&br, 1, "vif2.0", BR_PORT_ACCESS, 1), 0);
    assert_int_equal(br_fdb_add_static(&br, 1, MAC_A, 0), 0);
    assert_int_equal(br_fdb_add_static(&br, 1, MAC_B, 1), 0);
    assert_int_equal(br_fdb_learn(&br, 1, MAC_C, 0, 0), -XEN_ENOSPC);
    assert_int_equal(br.stats.learn_dropped, 1);
    /* A static MAC does not move when a spoofer sends from elsewhere... */
    assert_int_equal(br_fdb_learn(&br, 1, MAC_A, 1, 0), 0);
    assert_int_equal(br_fdb_lookup(&br, 1, MAC_A, 0), 0);
    /* ... and the frames still flow (flooded) when nothing can be learned. */
    uint8_t f[128];
    struct br_fwd fw;
    size_t n = mkframe(f, MAC_B, MAC_C, -1, 46);
    assert_int_equal(br_input(&br, 0, f, n, 0, &fw), BR_FORWARD);
    assert_int_equal(fw.out_ports, P(1));
    assert_int_equal(br_fdb_add_static(&br, 1, MCAST, 0), -XEN_EINVAL);
    assert_int_equal(br_fdb_add_static(&br, 1, MAC_C, 7), -XEN_EINVAL);
    /* No table at all: a bridge that only floods. */
    br_init(&br, NULL, 10);
    assert_int_equal(br_fdb_learn(&br, 1, MAC_C, 0, 0), -XEN_ENOSPC);
}

static void test_port_removal_flushes(void **state)
{
    struct bridge br;
    setup(&br);
    br_fdb_learn(&br, 10, MAC_A, 0, 0);
    br_fdb_learn(&br, 10, MAC_B, 1, 0);
    br_fdb_learn(&br, 20, MAC_C, 3, 0);
    assert_int_equal(br_port_del(&br, 1), 0);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_B, 0), -XEN_ENOENT);
    assert_int_equal(br.fdb_count, 2);
    assert_int_equal(br_port_set_up(&br, 0, false), 0);
    assert_int_equal(br_fdb_lookup(&br, 10, MAC_A, 0), -XEN_ENOENT);
    assert_int_equal(br.fdb_count, 1);
    assert_int_equal(br_port_set_up(&br, 1, true), -XEN_ENOENT);
}

static void test_fdb_format(void **state)
{
    struct bridge br;
    setup(&br);
    br_fdb_learn(&br, 10, MAC_B, 1, 0);
    br_fdb_learn(&br, 30, MAC_C, 4, 20000);
    br_fdb_learn(&br, 10, MAC_C, 4, 62500);
    br_fdb_learn(&br, 10, MAC_A, 1, 1000);
    br_fdb_add_static(&br, 20, MAC_A, 3);
    br_fdb_learn(&br, 10, MCAST, 2, 0);         /* refused: never listed */
    char buf[1024];
    size_t n = br_fdb_format(&br, 100000, buf, sizeof(buf));
    const char *want =
        "port             vlan  mac                age\n"
        "vif2.0             10  00:16:3e:00:00:0a  99\n"
        "vif2.0             10  00:16:3e:00:00:0b  100\n"
        "vif4.0             20  00:16:3e:00:00:0a  static\n"
        "eth0               10  00:16:3e:00:00:0c  37\n"
        "eth0               30  00:16:3e:00:00:0c  80\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    /* Aged entries are left out. */
    n = br_fdb_format(&br, 301000, buf, sizeof(buf));
    assert_string_equal(buf,
        "port             vlan  mac                age\n"
        "vif4.0             20  00:16:3e:00:00:0a  static\n"
        "eth0               10  00:16:3e:00:00:0c  238\n"
        "eth0               30  00:16:3e:00:00:0c  281\n");
    /* Truncation: full length returned, NUL within the buffer. */
    char small[20];
    memset(small, 'x', sizeof(small));
    size_t full = br_fdb_format(&br, 100000, small, 10);
    assert_int_equal(full, strlen(want));
    assert_int_equal(small[9], 0);
    assert_int_equal(small[10], 'x');
    assert_memory_equal(small, "port     ", 9);
    assert_int_equal(br_fdb_format(&br, 100000, NULL, 0), strlen(want));
}

static uint32_t rs = 4242;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}

/* Random frames from random ports: the decision always respects the
 * port and VLAN rules, and the egress frames have the expected shape. */
static void test_random_frames(void **state)
{
    struct bridge br;
    static struct br_fdb_entry t16[16];
    br_init(&br, t16, 16);
    br.ageing_ms = 5000;
    assert_int_equal(br_port_add(&br, 0, "a0", BR_PORT_ACCESS, 1), 0);
    assert_int_equal(br_port_add(&br, 1, "a1", BR_PORT_ACCESS, 2), 0);
    assert_int_equal(br_port_add(&br, 2, "a2", BR_PORT_ACCESS, 1), 0);
    assert_int_equal(br_port_add(&br, 3, "t3", BR_PORT_TRUNK, 2), 0);
    assert_int_equal(br_port_add(&br, 4, "t4", BR_PORT_TRUNK, 0), 0);
    br_trunk_allow(&br, 3, 1, true);
    br_trunk_allow(&br, 4, 1, true);
    br_trunk_allow(&br, 4, 2, true);
    unsigned fwd = 0;
    uint64_t now = 0;
    for (int i = 0; i < 100000; i++) {
        uint8_t f[80], out[96];
        size_t len = rnd() % 80;
        for (size_t k = 0; k < len; k++)
            f[k] = (uint8_t)rnd();
        if (len >= 14 && rnd() % 2) {         /* plausible addresses and tags */
            static const uint8_t pool[4][6] = { { 0, 1, 0, 0, 0, 1 }, { 0, 1, 0, 0, 0, 2 },
                                                { 0, 1, 0, 0, 0, 3 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
            memcpy(f, pool[rnd() % 4], 6);
            memcpy(f + 6, pool[rnd() % 3], 6);
            if (rnd() % 2) {
                f[12] = 0x81;
                f[13] = 0x00;
                if (len >= 16)
                    f[15] = (uint8_t)(rnd() % 4);
                if (len >= 15)
                    f[14] &= 0xf0;
            }
        }
        unsigned in = rnd() % 6;
        now += rnd() % 1000;
        struct br_fwd fw;
        enum br_why why = br_input(&br, in, f, len, now, &fw);
        assert_true(br.fdb_count <= 16);
        if (why != BR_FORWARD) {
            assert_int_equal(fw.out_ports, 0);
            continue;
        }
        fwd++;
        assert_true(fw.vid == 1 || fw.vid == 2);
        assert_false(fw.out_ports & P(in));
        assert_int_equal(fw.tagged_ports & ~fw.out_ports, 0);
        for (unsigned p = 0; p < BR_MAX_PORTS; p++) {
            if (!(fw.out_ports & P(p)))
                continue;
            assert_true(br_port_member(&br, p, fw.vid));
            int n = br_egress(&fw, p, f, len, out, sizeof(out));
            assert_true(n >= 14);
            struct eth_info e;
            assert_int_equal(eth_parse(out, (size_t)n, &e), 0);
            bool want_tag = br.port[p].mode == BR_PORT_TRUNK && br.port[p].pvid != fw.vid;
            assert_int_equal(e.tagged, want_tag);
            if (want_tag)
                assert_int_equal(e.vid, fw.vid);
            assert_int_equal((size_t)n - e.hdr_len, len - fw.eth.hdr_len);
            assert_memory_equal(out + e.hdr_len, f + fw.eth.hdr_len, len - fw.eth.hdr_len);
        }
    }
    unsigned used = 0;
    for (int i = 0; i < 16; i++)
        used += (t16[i].flags & BR_FDB_USED) != 0;
    assert_int_equal(used, br.fdb_count);
    assert_true(fwd > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eth_parse),
        cmocka_unit_test(test_eth_retag),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_learn_and_forward),
        cmocka_unit_test(test_flood_broadcast_multicast),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_vlans_and_egress_bytes),
        cmocka_unit_test(test_double_tag_refused),
        cmocka_unit_test(test_ageing),
        cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_port_removal_flushes),
        cmocka_unit_test(test_fdb_format),
        cmocka_unit_test(test_random_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
