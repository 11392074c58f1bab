/*
 * eth.h - Ethernet II and IEEE 802.1Q header parsing and tag rewriting
 * for dom0's software bridge and netback. Implemented by
 * guest-drivers/net/eth.c. Frames are without FCS, as virtio-net and
 * netif carry them; every length is checked before a byte is read.
 */
#ifndef XLGUEST_ETH_H
#define XLGUEST_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN      6
#define ETH_HLEN      14
#define VLAN_HLEN     4
#define ETH_P_8021Q   0x8100
#define ETH_P_8021AD  0x88a8    /* an S-tag (QinQ) */
#define VLAN_VID_MASK 0x0fff
#define VLAN_VID_MAX  4094      /* 4095 is reserved, 0 means priority-tagged */

struct eth_info {
    uint8_t dst[ETH_ALEN], src[ETH_ALEN];
    bool tagged;             /* an 802.1Q tag follows the source address */
    uint16_t tci;            /* the tag's TCI (0 when untagged) */
    uint16_t vid;            /* tci & 0xfff */
    uint8_t pcp;             /* tci >> 13 */
    uint16_t ethertype;      /* the one after the tag, if any */
    size_t hdr_len;          /* 14 or 18: where the payload starts */
};

/* 0, or -XEN_EINVAL when the frame is shorter than its header (14 bytes,
 * 18 with a tag). */
int eth_parse(const uint8_t *frame, size_t len, struct eth_info *out);

static inline bool eth_is_multicast(const uint8_t *mac)
{
    return mac[0] & 1;       /* broadcast included */
}

bool eth_is_broadcast(const uint8_t *mac);
bool eth_is_zero(const uint8_t *mac);
/* 01:80:c2:00:00:00..0f: 802.1D link-local, never forwarded by a bridge. */
bool eth_is_link_local(const uint8_t *mac);

/* Writes the frame (parsed as *e) to out with an 802.1Q tag carrying tci
 * (tag true) or with none (tag false). Returns the new length, or
 * -XEN_ENOSPC when out is too small, -XEN_EINVAL when e does not match len. */
int eth_retag(const uint8_t *frame, size_t len, const struct eth_info *e, bool tag, uint16_t tci,
              uint8_t *out, size_t cap);

/* "aa:bb:cc:dd:ee:ff" into buf (18 bytes with the NUL). */
void eth_format_mac(char buf[18], const uint8_t *mac);

#endif
