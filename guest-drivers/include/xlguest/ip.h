/*
 * ip.h - a tiny IPv4 stack for the kit's guests: one interface (MAC, IPv4
 * address/netmask, optional gateway), ARP (cache in the caller's table,
 * aged by the caller's clock), ICMP echo both ways, UDP on bound ports.
 * Implemented by guest-drivers/net/ip.c.
 *
 * Frames are Ethernet II without FCS and without VLAN tags (tags are the
 * bridge's business: a tagged frame is dropped). Received frames go to
 * ip_input; whatever the stack sends (ARP replies and requests, echo
 * replies, queued echoes) goes out through the caller's tx callback,
 * during the call that caused it. Time is the caller's, in ms. IPv4
 * addresses are uint32_t in host order (10.0.0.1 is 0x0a000001).
 */
#ifndef XLGUEST_IP_H
#define XLGUEST_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xlguest/eth.h>

#define ETH_P_IP         0x0800
#define ETH_P_ARP        0x0806
#define ETH_ZLEN         60      /* shortest frame we send (without FCS) */
#define IP_FRAME_MAX     1514    /* longest frame we build: MTU 1500 */
#define IP_HLEN          20
#define IP_PROTO_ICMP    1
#define IP_PROTO_UDP     17
#define IP_PING_PAYLOAD_MAX (IP_FRAME_MAX - ETH_HLEN - IP_HLEN - 8)
#define IP_UDP_PAYLOAD_MAX  (IP_FRAME_MAX - ETH_HLEN - IP_HLEN - 8)

#define IP_ARP_TTL_DEFAULT 60000 /* ms an ARP entry stays valid */
#define IP_ARP_RETRY_MS    1000  /* a queued echo asks again after this */
#define IP_ARP_TRIES       3     /* ... this many times in all, then fails */
#define IP_PING_TIMEOUT_MS 3000  /* an echo sent gets this long for a reply */
#define IP_PINGS_MAX       4     /* echoes in flight or waiting for ARP */

/* Why ip_input dropped a frame (ip_stack.last_drop, counted in drops[]). */
enum ip_drop {
    IP_DROP_NONE = 0,
    IP_DROP_ETH,          /* shorter than an Ethernet header */
    IP_DROP_TAGGED,       /* 802.1Q tag: the bridge's business */
    IP_DROP_NOT_FOR_US,   /* destination MAC neither ours nor broadcast */
    IP_DROP_ETHERTYPE,
    IP_DROP_ARP_MALFORMED,
    IP_DROP_ARP_SENDER,   /* sender MAC multicast/zero, or our own IP */
    IP_DROP_SHORT,        /* shorter than an IPv4 header */
    IP_DROP_VERSION,
    IP_DROP_IHL,          /* IHL < 5 or beyond the packet */
    IP_DROP_TOTAL_LEN,    /* total length < IHL or beyond the frame */
    IP_DROP_CSUM,         /* header checksum */
    IP_DROP_FRAGMENT,     /* MF set or offset nonzero: we do not reassemble */
    IP_DROP_DST,          /* not our address nor a broadcast */
    IP_DROP_SRC,          /* source broadcast, multicast or zero */
    IP_DROP_PROTO,
    IP_DROP_ICMP_SHORT,
    IP_DROP_ICMP_CSUM,
    IP_DROP_ICMP_TYPE,    /* neither echo request nor echo reply */
    IP_DROP_ICMP_BCAST,   /* echo request to a broadcast address: ignored */
    IP_DROP_PING_UNMATCHED,
    IP_DROP_UDP_SHORT,
    IP_DROP_UDP_LEN,
    IP_DROP_UDP_CSUM,
    IP_DROP_UDP_PORT,     /* nobody bound to it */
    IP_DROP_TOO_BIG,      /* the answer would not fit our frame buffer */
    IP_DROP_NR,
};

struct ip_arp_entry {
    uint32_t ip;             /* 0: free */
    uint8_t mac[ETH_ALEN];
    uint64_t seen;           /* when it was last learned */
};

enum ip_ping_state { IP_PING_FREE, IP_PING_WAIT_ARP, IP_PING_SENT, IP_PING_REPLIED, IP_PING_FAILED };

struct ip_ping {
    enum ip_ping_state state;
    uint32_t dst, hop;       /* destination, next hop (ARP target) */
    uint16_t id, seq, payload_len;
    uint8_t arp_tries;
    uint64_t arp_sent, sent, replied;
    uint16_t reply_len;      /* payload bytes of the reply */
    uint8_t reply_ttl;
};

struct ip_ping_result {
    uint32_t from;
    uint16_t id, seq;
    uint16_t payload_len;
    uint8_t ttl;
    uint64_t rtt;            /* ms */
};

/* A datagram for a bound port: the payload, valid during the call. */
#define IP_UDP_RX_ARGS void *ctx, uint32_t src, uint16_t sport, uint16_t dport, \
                       const uint8_t *data, size_t len

struct ip_udp_sock {
    uint16_t port;           /* 0: free */
    void (*rx)(IP_UDP_RX_ARGS);
    void *ctx;
};

struct ip_config {
    uint8_t mac[ETH_ALEN];
    uint32_t addr, netmask, gateway;   /* gateway 0: on-link only */
    struct ip_arp_entry *arp;          /* the caller's table */
    unsigned arp_n;
    uint32_t arp_ttl;                  /* ms; 0: IP_ARP_TTL_DEFAULT */
    struct ip_udp_sock *udp;           /* the caller's table of bindings */
    unsigned udp_n;
    /* Sends one frame; a negative return is counted (tx_errors), not retried. */
    int (*tx)(void *ctx, const uint8_t *frame, size_t len);
    void *tx_ctx;
};

struct ip_stack {
    struct ip_config c;
    struct ip_ping pings[IP_PINGS_MAX];
    uint16_t next_id;        /* IPv4 identification of what we send */
    enum ip_drop last_drop;
    uint32_t drops[IP_DROP_NR];
    uint32_t tx_frames, tx_errors;
    uint8_t buf[IP_FRAME_MAX];
};

/* 0, or -XEN_EINVAL: no tx, no ARP table, a zero/multicast MAC, address 0
 * or a broadcast, a netmask that is not contiguous, or a gateway off the
 * subnet. Clears both tables. */
int ip_init(struct ip_stack *s, const struct ip_config *c);

/* One received frame. Returns 0 when it was taken (even if it needed no
 * answer), -XEN_EINVAL when dropped (s->last_drop says why). */
int ip_input(struct ip_stack *s, const uint8_t *frame, size_t len, uint64_t now);

/* Sends an ICMP echo request with payload_len pattern bytes (byte i is
 * i & 0xff). 0: sent; -XEN_EAGAIN: the next hop's MAC is unknown, an ARP
 * request went out and the echo waits for the reply (ip_poll retries and
 * gives up); -XEN_ENOSPC: IP_PINGS_MAX echoes already pending;
 * -XEN_EMSGSIZE; -XEN_EADDRNOTAVAIL: off-link and no gateway;
 * -XEN_EBUSY: the same (dst, id, seq) is still pending. */
int ip_ping(struct ip_stack *s, uint32_t dst, uint16_t id, uint16_t seq, uint16_t payload_len,
            uint64_t now);

/* The fate of echo (dst, id, seq): 0 and *r when it was answered (the slot
 * is freed), -XEN_EAGAIN while pending, -XEN_ETIMEDOUT when ARP or the
 * echo timed out (freed), -XEN_ENOENT when unknown. */
int ip_ping_result(struct ip_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
                   struct ip_ping_result *r);

/* Timers: ARP retries for queued echoes, echo timeouts, aged ARP entries
 * cleared. Call it every few hundred ms. */
void ip_poll(struct ip_stack *s, uint64_t now);

/* 0 and the MAC, or -XEN_ENOENT (absent or aged). */
int ip_arp_lookup(struct ip_stack *s, uint32_t ip, uint8_t mac[ETH_ALEN], uint64_t now);

/* 0, -XEN_EEXIST (port taken), -XEN_ENOSPC (table full), -XEN_EINVAL (port 0). */
int ip_udp_bind(struct ip_stack *s, uint16_t port, void (*rx)(IP_UDP_RX_ARGS), void *ctx);
int ip_udp_unbind(struct ip_stack *s, uint16_t port);

/* Sends one datagram (with a checksum). 0; -XEN_EAGAIN: MAC unknown, an
 * ARP request went out, nothing is queued (send again later);
 * -XEN_EMSGSIZE; -XEN_EADDRNOTAVAIL. dst 255.255.255.255 or the subnet's
 * broadcast goes to ff:ff:ff:ff:ff:ff. */
int ip_udp_send(struct ip_stack *s, uint32_t dst, uint16_t sport, uint16_t dport,
                const uint8_t *data, size_t len, uint64_t now);

/* The Internet checksum (RFC 1071) of len bytes: over a header that
 * includes its checksum field, 0 means intact. */
uint16_t ip_checksum(const uint8_t *data, size_t len);

const char *ip_drop_str(enum ip_drop why);

#endif
