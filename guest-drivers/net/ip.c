/*
 * ip.c - a tiny IPv4 stack for kit guests: ARP (answer, learn, age, ask),
 * IPv4 header checks, ICMP echo (answer requests, send pings and match
 * their replies), UDP to and from bound ports.
 * Pure: no inline assembly, no libc, no allocation, no clock (time is the
 * caller's); host unit tests link it (tests/unit/ip.mk).
 * Owns: the ping slots and its frame buffer inside struct ip_stack; the
 * ARP and UDP tables are the caller's. Must never: read past a length it
 * was given or take a length from a packet without checking it against
 * the frame, answer a broadcast with an echo, accept a fragment, or send
 * anything but through the caller's tx callback.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/eth.h>
#include <xlguest/ip.h>

#define ARP_LEN        28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2
#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8
#define IP_TTL         64
#define IP_DF          0x4000
#define IP_MF          0x2000
#define IP_OFFMASK     0x1fff
#define IP_BROADCAST   0xffffffffu

static const char *const drop_names[] = {
    [IP_DROP_NONE] = "none",
    [IP_DROP_ETH] = "short Ethernet frame",
    [IP_DROP_TAGGED] = "VLAN-tagged frame",
    [IP_DROP_NOT_FOR_US] = "destination MAC not ours",
    [IP_DROP_ETHERTYPE] = "unknown ethertype",
    [IP_DROP_ARP_MALFORMED] = "malformed ARP",
    [IP_DROP_ARP_SENDER] = "bad ARP sender",
    [IP_DROP_SHORT] = "short IPv4 packet",
    [IP_DROP_VERSION] = "not IPv4",
    [IP_DROP_IHL] = "bad IHL",
    [IP_DROP_TOTAL_LEN] = "bad total length",
    [IP_DROP_CSUM] = "bad header checksum",
    [IP_DROP_FRAGMENT] = "fragment",
    [IP_DROP_DST] = "not for our address",
    [IP_DROP_SRC] = "bad source address",
    [IP_DROP_PROTO] = "unknown protocol",
    [IP_DROP_ICMP_SHORT] = "short ICMP",
    [IP_DROP_ICMP_CSUM] = "bad ICMP checksum",
    [IP_DROP_ICMP_TYPE] = "ICMP type not handled",
    [IP_DROP_ICMP_BCAST] = "echo request to a broadcast",
    [IP_DROP_PING_UNMATCHED] = "echo reply matches no ping",
    [IP_DROP_UDP_SHORT] = "short UDP",
    [IP_DROP_UDP_LEN] = "bad UDP length",
    [IP_DROP_UDP_CSUM] = "bad UDP checksum",
    [IP_DROP_UDP_PORT] = "UDP port not bound",
    [IP_DROP_TOO_BIG] = "answer too big",
};

const char *ip_drop_str(enum ip_drop why)
{
    if ((unsigned)why < ARRAY_SIZE(drop_names) && drop_names[why])
        return drop_names[why];
    return "?";
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

/* One's-complement sum of big-endian 16-bit words, not yet folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len >= 2; p += 2, len -= 2) {
        sum += rd16(p);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t ip_checksum(const uint8_t *data, size_t len)
{
    return csum_fold(csum_add(0, data, len));
}

/* UDP's sum over the pseudo header and the datagram. */
static uint16_t udp_csum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len)
{
    uint8_t ph[12];
    wr32(ph, src);
    wr32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = IP_PROTO_UDP;
    wr16(ph + 10, (uint16_t)len);
    return csum_fold(csum_add(csum_add(0, ph, sizeof(ph)), udp, len));
}

static int drop(struct ip_stack *s, enum ip_drop why)
{
    s->last_drop = why;
    s->drops[why]++;
    return -XEN_EINVAL;
}

/* 255.255.255.255, or the subnet's broadcast (a /32 has none). */
static bool is_bcast(const struct ip_stack *s, uint32_t ip)
{
    return ip == IP_BROADCAST || (s->c.netmask != IP_BROADCAST && ip == (s->c.addr | ~s->c.netmask));
}

static bool on_link(const struct ip_stack *s, uint32_t ip)
{
    return (ip & s->c.netmask) == (s->c.addr & s->c.netmask);
}

int ip_init(struct ip_stack *s, const struct ip_config *c)
{
    memset(s, 0, sizeof(*s));
    uint32_t host = ~c->netmask;
    if (!c->tx || !c->arp || !c->arp_n || (c->udp_n && !c->udp))
        return -XEN_EINVAL;
    if (eth_is_zero(c->mac) || eth_is_multicast(c->mac))
        return -XEN_EINVAL;
    if ((host & (host + 1)) != 0 || c->netmask == 0)   /* not 1...10...0 */
        return -XEN_EINVAL;
    /* Neither the subnet's broadcast nor its network address (but /32). */
    if (c->addr == 0 || (host && ((c->addr & host) == host || (c->addr & host) == 0)))
        return -XEN_EINVAL;
    s->c = *c;
    if (c->gateway && (!on_link(s, c->gateway) || is_bcast(s, c->gateway)))
        return -XEN_EINVAL;
    if (!s->c.arp_ttl)
        s->c.arp_ttl = IP_ARP_TTL_DEFAULT;
    memset(c->arp, 0, c->arp_n * sizeof(*c->arp));
    if (c->udp_n)
        memset(c->udp, 0, c->udp_n * sizeof(*c->udp));
    s->next_id = 1;
    return 0;
}

/* ---- frames out ---- */

static void xmit(struct ip_stack *s, size_t len)
{
    if (len < ETH_ZLEN) {
        memset(s->buf + len, 0, ETH_ZLEN - len);
        len = ETH_ZLEN;
    }
    s->tx_frames++;
    if (s->c.tx(s->c.tx_ctx, s->buf, len) < 0)
        s->tx_errors++;
}

static uint8_t *eth_hdr(struct ip_stack *s, const uint8_t *dst, uint16_t type)
{
    memcpy(s->buf, dst, ETH_ALEN);
    memcpy(s->buf + ETH_ALEN, s->c.mac, ETH_ALEN);
    wr16(s->buf + 12, type);
    return s->buf + ETH_HLEN;
}

static void send_arp(struct ip_stack *s, uint16_t op, const uint8_t *dst_mac, const uint8_t *tha,
                     uint32_t tpa)
{
    static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[ETH_ALEN];
    uint8_t *a = eth_hdr(s, dst_mac ? dst_mac : bcast, ETH_P_ARP);
    wr16(a, 1);            /* Ethernet */
    wr16(a + 2, ETH_P_IP);
    a[4] = ETH_ALEN;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, s->c.mac, ETH_ALEN);
    wr32(a + 14, s->c.addr);
    memcpy(a + 18, tha ? tha : zero, ETH_ALEN);
    wr32(a + 24, tpa);
    xmit(s, ETH_HLEN + ARP_LEN);
}

/* Writes the IPv4 header for payload_len bytes; returns the payload. */
static uint8_t *ip_hdr(struct ip_stack *s, const uint8_t *dst_mac, uint32_t dst, uint8_t proto,
                       size_t payload_len)
{
    uint8_t *h = eth_hdr(s, dst_mac, ETH_P_IP);
    h[0] = 0x45;
    h[1] = 0;
    wr16(h + 2, (uint16_t)(IP_HLEN + payload_len));
    wr16(h + 4, s->next_id++);
    wr16(h + 6, IP_DF);
    h[8] = IP_TTL;
    h[9] = proto;
    wr16(h + 10, 0);
    wr32(h + 12, s->c.addr);
    wr32(h + 16, dst);
    wr16(h + 10, ip_checksum(h, IP_HLEN));
    return h + IP_HLEN;
}

/* ---- ARP table ---- */

static bool arp_fresh(const struct ip_stack *s, const struct ip_arp_entry *e, uint64_t now)
{
    return e->ip && now - e->seen < s->c.arp_ttl;
}

static struct ip_arp_entry *arp_find(struct ip_stack *s, uint32_t ip, uint64_t now)
{
    for (unsigned i = 0; i < s->c.arp_n; i++)
        if (s->c.arp[i].ip == ip && arp_fresh(s, &s->c.arp[i], now))
            return &s->c.arp[i];
    return NULL;
}

int ip_arp_lookup(struct ip_stack *s, uint32_t ip, uint8_t mac[ETH_ALEN], uint64_t now)
{
    const struct ip_arp_entry *e = arp_find(s, ip, now);
    if (!e)
        return -XEN_ENOENT;
    memcpy(mac, e->mac, ETH_ALEN);
    return 0;
}

/* 0 free, 1 aged, 2 valid: a new address takes the lowest rank, among
 * valid ones the one learned longest ago (lowest index on a tie). */
static int arp_rank(const struct ip_stack *s, const struct ip_arp_entry *e, uint64_t now)
{
    return !e->ip ? 0 : !arp_fresh(s, e, now) ? 1 : 2;
}

/* Refreshes ip's valid entry; creates one (or revives an aged one) only
 * when `create`. */
static void arp_learn(struct ip_stack *s, uint32_t ip, const uint8_t *mac, bool create,
                      uint64_t now)
{
    struct ip_arp_entry *e = NULL;
    for (unsigned i = 0; i < s->c.arp_n && !e; i++)
        if (s->c.arp[i].ip == ip)
            e = &s->c.arp[i];
    if (e && !create && !arp_fresh(s, e, now))
        return;
    if (!e && !create)
        return;
    if (!e) {
        e = &s->c.arp[0];
        for (unsigned i = 1; i < s->c.arp_n; i++) {
            struct ip_arp_entry *c = &s->c.arp[i];
            int rc = arp_rank(s, c, now), re = arp_rank(s, e, now);
            if (rc < re || (rc == re && rc == 2 && c->seen < e->seen))
                e = c;
        }
    }
    e->ip = ip;
    memcpy(e->mac, mac, ETH_ALEN);
    e->seen = now;
}

/* ---- pings ---- */

static void send_echo(struct ip_stack *s, struct ip_ping *p, const uint8_t *mac, uint64_t now)
{
    uint8_t *icmp = ip_hdr(s, mac, p->dst, IP_PROTO_ICMP, 8u + p->payload_len);
    icmp[0] = ICMP_ECHO_REQUEST;
    icmp[1] = 0;
    wr16(icmp + 2, 0);
    wr16(icmp + 4, p->id);
    wr16(icmp + 6, p->seq);
    for (unsigned i = 0; i < p->payload_len; i++)
        icmp[8 + i] = (uint8_t)i;
    wr16(icmp + 2, ip_checksum(icmp, 8u + p->payload_len));
    p->state = IP_PING_SENT;
    p->sent = now;
    xmit(s, ETH_HLEN + IP_HLEN + 8u + p->payload_len);
}

/* Echoes waiting for hop's MAC go out now. */
static void flush_pings(struct ip_stack *s, uint32_t hop, const uint8_t *mac, uint64_t now)
{
    for (unsigned i = 0; i < IP_PINGS_MAX; i++)
        if (s->pings[i].state == IP_PING_WAIT_ARP && s->pings[i].hop == hop)
            send_echo(s, &s->pings[i], mac, now);
}

/* The next hop for dst and its MAC: 0, -XEN_EAGAIN (unknown, *hop set),
 * -XEN_EADDRNOTAVAIL. */
static int resolve(struct ip_stack *s, uint32_t dst, uint32_t *hop, uint8_t mac[ETH_ALEN],
                   uint64_t now)
{
    if (is_bcast(s, dst)) {
        memset(mac, 0xff, ETH_ALEN);
        return 0;
    }
    if (dst == 0 || dst == s->c.addr || (dst >> 28) == 0xe)
        return -XEN_EADDRNOTAVAIL;   /* no loopback, no multicast */
    *hop = on_link(s, dst) ? dst : s->c.gateway;
    if (!*hop)
        return -XEN_EADDRNOTAVAIL;
    return ip_arp_lookup(s, *hop, mac, now) ? -XEN_EAGAIN : 0;
}

int ip_ping(struct ip_stack *s, uint32_t dst, uint16_t id, uint16_t seq, uint16_t payload_len,
            uint64_t now)
{
    if (payload_len > IP_PING_PAYLOAD_MAX)
        return -XEN_EMSGSIZE;
    struct ip_ping *slot = NULL;
    for (unsigned i = 0; i < IP_PINGS_MAX; i++) {
        struct ip_ping *p = &s->pings[i];
        bool pending = p->state == IP_PING_WAIT_ARP || p->state == IP_PING_SENT;
        if (p->state != IP_PING_FREE && p->dst == dst && p->id == id && p->seq == seq) {
            if (pending)
                return -XEN_EBUSY;
            slot = p;   /* an old result for the same echo is replaced */
            break;
        }
        if (!pending && (!slot || (slot->state != IP_PING_FREE && p->state == IP_PING_FREE)))
            slot = p;
    }
    if (!slot)
        return -XEN_ENOSPC;
    uint8_t mac[ETH_ALEN];
    uint32_t hop = 0;
    int rc = resolve(s, dst, &hop, mac, now);
    if (rc && rc != -XEN_EAGAIN)
        return rc;
    if (!rc && eth_is_broadcast(mac))
        return -XEN_EADDRNOTAVAIL;   /* we do not ping broadcasts */
    memset(slot, 0, sizeof(*slot));
    slot->dst = dst;
    slot->hop = hop;
    slot->id = id;
    slot->seq = seq;
    slot->payload_len = payload_len;
    if (rc == 0) {
        send_echo(s, slot, mac, now);
        return 0;
    }
    slot->state = IP_PING_WAIT_ARP;
    slot->arp_tries = 1;
    slot->arp_sent = now;
    send_arp(s, ARP_OP_REQUEST, NULL, NULL, hop);
    return -XEN_EAGAIN;
}

int ip_ping_result(struct ip_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
                   struct ip_ping_result *r)
{
    for (unsigned i = 0; i < IP_PINGS_MAX; i++) {
        struct ip_ping *p = &s->pings[i];
        if (p->state == IP_PING_FREE || p->dst != dst || p->id != id || p->seq != seq)
            continue;
        if (p->state == IP_PING_WAIT_ARP || p->state == IP_PING_SENT)
            return -XEN_EAGAIN;
        int rc = p->state == IP_PING_REPLIED ? 0 : -XEN_ETIMEDOUT;
        if (rc == 0 && r)
            *r = (struct ip_ping_result){.from = p->dst, .id = p->id, .seq = p->seq,
                                         .payload_len = p->reply_len, .ttl = p->reply_ttl,
                                         .rtt = p->replied - p->sent};
        p->state = IP_PING_FREE;
        return rc;
    }
    return -XEN_ENOENT;
}

void ip_poll(struct ip_stack *s, uint64_t now)
{
    for (unsigned i = 0; i < IP_PINGS_MAX; i++) {
        struct ip_ping *p = &s->pings[i];
        if (p->state == IP_PING_WAIT_ARP && now - p->arp_sent >= IP_ARP_RETRY_MS) {
            if (p->arp_tries >= IP_ARP_TRIES) {
                p->state = IP_PING_FAILED;
                continue;
            }
            p->arp_tries++;
            p->arp_sent = now;
            send_arp(s, ARP_OP_REQUEST, NULL, NULL, p->hop);
        } else if (p->state == IP_PING_SENT && now - p->sent >= IP_PING_TIMEOUT_MS) {
            p->state = IP_PING_FAILED;
        }
    }
    for (unsigned i = 0; i < s->c.arp_n; i++)
        if (s->c.arp[i].ip && !arp_fresh(s, &s->c.arp[i], now))
            memset(&s->c.arp[i], 0, sizeof(s->c.arp[i]));
}

/* ---- input ---- */

static int arp_input(struct ip_stack *s, const uint8_t *a, size_t len, uint64_t now)
{
    if (len < ARP_LEN || rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN || a[5] != 4)
        return drop(s, IP_DROP_ARP_MALFORMED);
    uint16_t op = rd16(a + 6);
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
        return drop(s, IP_DROP_ARP_MALFORMED);
    const uint8_t *sha = a + 8;
    uint32_t spa = rd32(a + 14), tpa = rd32(a + 24);
    if (eth_is_multicast(sha) || eth_is_zero(sha) || spa == s->c.addr)
        return drop(s, IP_DROP_ARP_SENDER);
    bool for_us = tpa == s->c.addr;
    /* RFC 826: refresh a known sender from any ARP; add it when the
     * packet is for us. An ARP probe (sender 0.0.0.0) teaches nothing. */
    if (spa != 0 && !is_bcast(s, spa))
        arp_learn(s, spa, sha, for_us, now);
    if (for_us && op == ARP_OP_REQUEST)
        send_arp(s, ARP_OP_REPLY, sha, sha, spa);
    if (spa != 0 && arp_find(s, spa, now))
        flush_pings(s, spa, sha, now);
    return 0;
}

static int echo_reply(struct ip_stack *s, const uint8_t *src_mac, uint32_t src,
                      const uint8_t *icmp, size_t len)
{
    if (ETH_HLEN + IP_HLEN + len > IP_FRAME_MAX)
        return drop(s, IP_DROP_TOO_BIG);
    uint8_t mac[ETH_ALEN];
    memcpy(mac, src_mac, ETH_ALEN);   /* answer where it came from */
    uint8_t *out = ip_hdr(s, mac, src, IP_PROTO_ICMP, len);
    memmove(out, icmp, len);
    out[0] = ICMP_ECHO_REPLY;
    wr16(out + 2, 0);
    wr16(out + 2, ip_checksum(out, len));
    xmit(s, ETH_HLEN + IP_HLEN + len);
    return 0;
}

static int icmp_input(struct ip_stack *s, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                      uint8_t ttl, const uint8_t *icmp, size_t len, uint64_t now)
{
    if (len < 8)
        return drop(s, IP_DROP_ICMP_SHORT);
    if (ip_checksum(icmp, len) != 0)
        return drop(s, IP_DROP_ICMP_CSUM);
    if (icmp[0] == ICMP_ECHO_REQUEST && icmp[1] == 0) {
        if (dst != s->c.addr)
            return drop(s, IP_DROP_ICMP_BCAST);
        return echo_reply(s, src_mac, src, icmp, len);
    }
    if (icmp[0] != ICMP_ECHO_REPLY || icmp[1] != 0)
        return drop(s, IP_DROP_ICMP_TYPE);
    uint16_t id = rd16(icmp + 4), seq = rd16(icmp + 6);
    for (unsigned i = 0; i < IP_PINGS_MAX; i++) {
        struct ip_ping *p = &s->pings[i];
        if (p->state == IP_PING_SENT && p->dst == src && p->id == id && p->seq == seq) {
            p->state = IP_PING_REPLIED;
            p->replied = now;
            p->reply_len = (uint16_t)(len - 8);
            p->reply_ttl = ttl;
            return 0;
        }
    }
    return drop(s, IP_DROP_PING_UNMATCHED);
}

static int udp_input(struct ip_stack *s, uint32_t src, uint32_t dst, const uint8_t *u, size_t len)
{
    if (len < 8)
        return drop(s, IP_DROP_UDP_SHORT);
    uint16_t ulen = rd16(u + 4);
    if (ulen < 8 || ulen > len)
        return drop(s, IP_DROP_UDP_LEN);
    if (rd16(u + 6) != 0 && udp_csum(src, dst, u, ulen) != 0)
        return drop(s, IP_DROP_UDP_CSUM);
    uint16_t sport = rd16(u), dport = rd16(u + 2);
    for (unsigned i = 0; i < s->c.udp_n; i++) {
        const struct ip_udp_sock *k = &s->c.udp[i];
        if (k->port && k->port == dport) {
            k->rx(k->ctx, src, sport, dport, u + 8, ulen - 8u);
            return 0;
        }
    }
    return drop(s, IP_DROP_UDP_PORT);
}

static int ipv4_input(struct ip_stack *s, const uint8_t *src_mac, const uint8_t *h, size_t len,
                      uint64_t now)
{
    if (len < IP_HLEN)
        return drop(s, IP_DROP_SHORT);
    if (h[0] >> 4 != 4)
        return drop(s, IP_DROP_VERSION);
    size_t ihl = (size_t)(h[0] & 0xf) * 4;
    if (ihl < IP_HLEN || ihl > len)
        return drop(s, IP_DROP_IHL);
    size_t total = rd16(h + 2);
    if (total < ihl || total > len)
        return drop(s, IP_DROP_TOTAL_LEN);
    if (ip_checksum(h, ihl) != 0)
        return drop(s, IP_DROP_CSUM);
    if (rd16(h + 6) & (IP_MF | IP_OFFMASK))
        return drop(s, IP_DROP_FRAGMENT);
    uint32_t src = rd32(h + 12), dst = rd32(h + 16);
    if (dst != s->c.addr && !is_bcast(s, dst))
        return drop(s, IP_DROP_DST);
    if (src == 0 || is_bcast(s, src) || (src >> 28) == 0xe)
        return drop(s, IP_DROP_SRC);
    /* Trailing bytes (Ethernet padding) are not the packet's. */
    const uint8_t *payload = h + ihl;
    size_t plen = total - ihl;
    switch (h[9]) {
    case IP_PROTO_ICMP:
        return icmp_input(s, src_mac, src, dst, h[8], payload, plen, now);
    case IP_PROTO_UDP:
        return udp_input(s, src, dst, payload, plen);
    default:
        return drop(s, IP_DROP_PROTO);
    }
}

int ip_input(struct ip_stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
    struct eth_info e;
    s->last_drop = IP_DROP_NONE;
    if (eth_parse(frame, len, &e))
        return drop(s, IP_DROP_ETH);
    if (e.tagged)
        return drop(s, IP_DROP_TAGGED);
    if (memcmp(e.dst, s->c.mac, ETH_ALEN) != 0 && !eth_is_broadcast(e.dst))
        return drop(s, IP_DROP_NOT_FOR_US);
    switch (e.ethertype) {
    case ETH_P_ARP:
        return arp_input(s, frame + e.hdr_len, len - e.hdr_len, now);
    case ETH_P_IP:
        return ipv4_input(s, e.src, frame + e.hdr_len, len - e.hdr_len, now);
    default:
        return drop(s, IP_DROP_ETHERTYPE);
    }
}

/* ---- UDP ---- */

int ip_udp_bind(struct ip_stack *s, uint16_t port, void (*rx)(IP_UDP_RX_ARGS), void *ctx)
{
    if (port == 0 || !rx)
        return -XEN_EINVAL;
    struct ip_udp_sock *slot = NULL;
    for (unsigned i = 0; i < s->c.udp_n; i++) {
        if (s->c.udp[i].port == port)
            return -XEN_EEXIST;
        if (!s->c.udp[i].port && !slot)
            slot = &s->c.udp[i];
    }
    if (!slot)
        return -XEN_ENOSPC;
    *slot = (struct ip_udp_sock){port, rx, ctx};
    return 0;
}

int ip_udp_unbind(struct ip_stack *s, uint16_t port)
{
    for (unsigned i = 0; i < s->c.udp_n; i++)
        if (port && s->c.udp[i].port == port) {
            memset(&s->c.udp[i], 0, sizeof(s->c.udp[i]));
            return 0;
        }
    return -XEN_ENOENT;
}

int ip_udp_send(struct ip_stack *s, uint32_t dst, uint16_t sport, uint16_t dport,
                const uint8_t *data, size_t len, uint64_t now)
{
    if (len > IP_UDP_PAYLOAD_MAX)
        return -XEN_EMSGSIZE;
    if (sport == 0 || dport == 0)
        return -XEN_EINVAL;
    uint8_t mac[ETH_ALEN];
    uint32_t hop = 0;
    int rc = resolve(s, dst, &hop, mac, now);
    if (rc == -XEN_EAGAIN)
        send_arp(s, ARP_OP_REQUEST, NULL, NULL, hop);
    if (rc)
        return rc;
    uint8_t *u = ip_hdr(s, mac, dst, IP_PROTO_UDP, 8 + len);
    wr16(u, sport);
    wr16(u + 2, dport);
    wr16(u + 4, (uint16_t)(8 + len));
    wr16(u + 6, 0);
    if (len)
        memcpy(u + 8, data, len);
    uint16_t c = udp_csum(s->c.addr, dst, u, 8 + len);
    wr16(u + 6, c ? c : 0xffff);   /* 0 would mean "no checksum" */
    xmit(s, ETH_HLEN + IP_HLEN + 8 + len);
    return 0;
}
