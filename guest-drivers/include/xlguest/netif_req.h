/*
 * netif_req.h - netback's judgement of netif requests (xen/io/netif.h).
 * Implemented by guest-drivers/net/netif_req.c.
 *
 * TX: the caller copies every request it may take out of the tx ring
 * (backring_pending/backring_take) and hands the copy to netif_tx_parse,
 * which walks one packet (first slot, extra-info slots, follow-on slots).
 * The verdict is NETIF_RSP_OKAY (a normalised struct netif_tx_pkt),
 * NETIF_RSP_ERROR (drop it: every slot still gets a response) or
 * -XEN_EIO (the front end broke the protocol: disconnect, no responses).
 * `why` says which rule decided.
 *
 * RX: netif_rx_plan splits a frame over the rx requests the front end
 * posted: grant-copy chunks that never cross a page on either side, and
 * the responses to write once the copies are done.
 */
#ifndef XLGUEST_NETIF_REQ_H
#define XLGUEST_NETIF_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/grant_table.h>
#include <xen/io/netif.h>

#define NETIF_PAGE_SIZE 4096u

/* Follow-on slots after the first: up to XEN_NETIF_NR_SLOTS_MIN are
 * accepted (as Linux's XEN_NETBK_LEGACY_SLOTS_MAX), a few more are dropped,
 * beyond NETIF_TX_FOLLOW_FATAL the front end is broken (Linux's
 * fatal_skb_slots default). */
#define NETIF_TX_FOLLOW_MAX   XEN_NETIF_NR_SLOTS_MIN
#define NETIF_TX_FOLLOW_FATAL 20
#define NETIF_TX_FRAGS_MAX    (1 + NETIF_TX_FOLLOW_MAX)
/* At most one extra slot per type (GSO, MCAST_ADD, MCAST_DEL, HASH). */
#define NETIF_TX_EXTRAS_MAX   (XEN_NETIF_EXTRA_TYPE_MAX - 1)
/* Most slots one packet may use: what a caller should copy at a time. */
#define NETIF_TX_SLOTS_MAX    (1 + NETIF_TX_EXTRAS_MAX + NETIF_TX_FOLLOW_FATAL)

struct netif_cfg {
    uint32_t mtu;            /* L3 MTU; frames without GSO carry at most
                                mtu + ETH_HLEN + VLAN_HLEN bytes */
    uint32_t gso_types;      /* (1 << XEN_NETIF_GSO_TYPE_*) we advertised on tx
                                (tx) / the front end accepts (rx) */
    bool mcast_ctrl;         /* feature-multicast-control */
    /* Grant refs usable for data: [GNTTAB_NR_RESERVED_ENTRIES, gref_limit);
     * 0: no upper bound known. */
    uint32_t gref_limit;
};

enum netif_why {
    NETIF_OK = 0,
    /* fatal (-XEN_EIO) */
    NETIF_WHY_TRUNCATED,      /* packet runs past the requests available */
    NETIF_WHY_EXTRA_TYPE,     /* extra info type NONE or unknown */
    NETIF_WHY_TOO_MANY_EXTRAS,
    NETIF_WHY_CROSS_PAGE,     /* offset + size of a slot leaves its page */
    NETIF_WHY_SLOTS_FATAL,    /* more than NETIF_TX_FOLLOW_FATAL follow-on slots */
    NETIF_WHY_GSO_SIZE,       /* GSO extra with size 0 */
    NETIF_WHY_GSO_TYPE,       /* GSO type neither TCPv4 nor TCPv6 */
    /* drop (NETIF_RSP_ERROR) */
    NETIF_WHY_TOO_MANY_SLOTS, /* more than NETIF_TX_FOLLOW_MAX follow-on slots */
    NETIF_WHY_SIZE_SUM,       /* the follow-on slots carry more than first.size */
    NETIF_WHY_RUNT,           /* packet shorter than an Ethernet header */
    NETIF_WHY_OVERSIZE,       /* longer than mtu + header without GSO */
    NETIF_WHY_BAD_GREF,
    NETIF_WHY_GSO_NOT_ADVERTISED,
    NETIF_WHY_MCAST_NOT_ADVERTISED,
    NETIF_WHY_MCAST_DATA,     /* multicast control request with data slots */
    NETIF_WHY_BAD_CONFIG,     /* the netif_cfg itself is inconsistent */
    /* rx plan */
    NETIF_WHY_NO_SPACE,       /* not enough rx requests posted (-XEN_EAGAIN) */
    NETIF_WHY_FRAME_LEN,      /* 0 or longer than 65535 / mtu (-XEN_EINVAL) */
    NETIF_WHY_NR,
};

struct netif_tx_frag {
    grant_ref_t gref;
    uint16_t offset;
    uint16_t len;            /* bytes of the packet in this slot */
};

/* One tx packet as netback will carry it out. Slots are counted from the
 * first one: extras follow it, then the follow-on slots. */
struct netif_tx_pkt {
    uint16_t nr_slots;       /* ring slots used (first + extras + follow-on) */
    uint16_t nr_extras;
    uint16_t nr_frags;       /* data slots: 1 + follow-on */
    uint16_t flags;          /* the first slot's NETTXF_csum_blank/data_validated */
    uint32_t len;            /* whole packet: the first slot's size */
    uint16_t ids[1 + NETIF_TX_FOLLOW_FATAL];  /* request id of each data slot */
    struct netif_tx_frag frag[NETIF_TX_FRAGS_MAX];  /* valid for OKAY data packets */
    bool gso;                /* a GSO extra came with it */
    uint16_t gso_size;       /* MSS */
    uint8_t gso_type;        /* XEN_NETIF_GSO_TYPE_TCPV4/6 */
    uint16_t gso_features;
    uint8_t mcast_op;        /* 0, XEN_NETIF_EXTRA_TYPE_MCAST_ADD or _DEL: a
                                control request, no data to send */
    uint8_t mcast_addr[6];
    bool hash;
    uint8_t hash_type, hash_alg;
    uint32_t hash_value;
    enum netif_why why;
};

/* Judges the packet starting at slots[0]; avail is how many requests the
 * caller took. Fills *out (nr_slots is meaningful for OKAY and ERROR).
 * Returns NETIF_RSP_OKAY, NETIF_RSP_ERROR or -XEN_EIO. */
int netif_tx_parse(const struct netif_cfg *cfg, const struct netif_tx_request *slots,
                   unsigned avail, struct netif_tx_pkt *out);

/* Writes the pkt->nr_slots responses in slot order: status for each data
 * slot (with its id), NETIF_RSP_NULL for each extra slot, as Linux's
 * netback does. status: NETIF_RSP_OKAY, _ERROR or _DROPPED. Returns the
 * number written, -XEN_ENOSPC when cap is too small, or -XEN_EINVAL for
 * a packet judged fatal (it has no responses). */
int netif_tx_responses(const struct netif_tx_pkt *pkt, int16_t status,
                       struct netif_tx_response *rsp, unsigned cap);

/* RX. One grant copy: len bytes from frame[src_off] to the front end's
 * page behind gref at dst_off. */
struct netif_rx_chunk {
    uint16_t slot;           /* index into the requests / responses */
    grant_ref_t gref;
    uint16_t dst_off;
    uint16_t len;
    uint32_t src_off;        /* offset in the frame */
};

#define NETIF_RX_SLOTS_MAX  (XEN_NETIF_MAX_TX_SIZE / NETIF_PAGE_SIZE + 2) /* 16 data + 1 extra */
#define NETIF_RX_CHUNKS_MAX (2 * NETIF_RX_SLOTS_MAX)

struct netif_rx_meta {
    uint32_t len;            /* frame length */
    uint32_t page_off;       /* offset of the frame's first byte within its page */
    bool csum_blank;         /* checksum left to the receiver (implies validated) */
    bool data_validated;
    uint16_t gso_size;       /* 0: no GSO; else an extra slot is sent */
    uint8_t gso_type;
};

struct netif_rx_plan {
    uint16_t nr_slots;       /* requests consumed */
    uint16_t nr_chunks;
    struct netif_rx_chunk chunk[NETIF_RX_CHUNKS_MAX];
    struct netif_rx_response rsp[NETIF_RX_SLOTS_MAX];
    enum netif_why why;
};

/* Plans the delivery of one frame into the front end's posted requests
 * (reqs[0..avail)). Data slot i gets the frame's bytes from i*4096 on,
 * offset 0 in the front end's page; a GSO extra takes the second slot, as
 * in Linux. Returns 0, -XEN_EAGAIN (not enough requests: nothing consumed),
 * or -XEN_EINVAL (frame length or GSO not acceptable). */
int netif_rx_plan(const struct netif_cfg *cfg, const struct netif_rx_request *reqs,
                  unsigned avail, const struct netif_rx_meta *m, struct netif_rx_plan *out);

/* A grant copy of chunk c failed: its slot reports NETIF_RSP_ERROR. */
void netif_rx_copy_failed(struct netif_rx_plan *plan, unsigned c);

const char *netif_why_str(enum netif_why why);

#endif
