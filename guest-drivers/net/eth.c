/*
 * eth.c - Ethernet II / 802.1Q header parsing and tag insertion/removal
 * for the bridge and netback.
 * Pure: no inline assembly, no libc, no allocation; host unit tests link
 * it (tests/unit/bridge.mk).
 * Owns: nothing. Must never: read or write past the given lengths, or
 * take a length from the frame itself.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/eth.h>

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int eth_parse(const uint8_t *f, size_t len, struct eth_info *e)
{
    memset(e, 0, sizeof(*e));
    if (!f || len < ETH_HLEN)
        return -XEN_EINVAL;
    memcpy(e->dst, f, ETH_ALEN);
    memcpy(e->src, f + ETH_ALEN, ETH_ALEN);
    uint16_t type = be16(f + 12);
    e->hdr_len = ETH_HLEN;
    if (type == ETH_P_8021Q) {
        if (len < ETH_HLEN + VLAN_HLEN)
            return -XEN_EINVAL;
        e->tagged = true;
        e->tci = be16(f + 14);
        e->vid = e->tci & VLAN_VID_MASK;
        e->pcp = (uint8_t)(e->tci >> 13);
        type = be16(f + 16);
        e->hdr_len = ETH_HLEN + VLAN_HLEN;
    }
    e->ethertype = type;
    return 0;
}

bool eth_is_broadcast(const uint8_t *m)
{
    return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xff;
}

bool eth_is_zero(const uint8_t *m)
{
    return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

bool eth_is_link_local(const uint8_t *m)
{
    return m[0] == 0x01 && m[1] == 0x80 && m[2] == 0xc2 && m[3] == 0 && m[4] == 0 &&
           (m[5] & 0xf0) == 0;
}

int eth_retag(const uint8_t *f, size_t len, const struct eth_info *e, bool tag, uint16_t tci,
              uint8_t *out, size_t cap)
{
    if (len < e->hdr_len || (e->hdr_len != ETH_HLEN && e->hdr_len != ETH_HLEN + VLAN_HLEN))
        return -XEN_EINVAL;
    size_t payload = len - e->hdr_len;
    size_t hdr = tag ? ETH_HLEN + VLAN_HLEN : ETH_HLEN;
    if (hdr + payload > cap || hdr + payload > 0x7fffffff)
        return -XEN_ENOSPC;
    memmove(out + hdr, f + e->hdr_len, payload);
    memcpy(out, e->dst, ETH_ALEN);
    memcpy(out + ETH_ALEN, e->src, ETH_ALEN);
    uint8_t *p = out + 12;
    if (tag) {
        *p++ = ETH_P_8021Q >> 8;
        *p++ = ETH_P_8021Q & 0xff;
        *p++ = (uint8_t)(tci >> 8);
        *p++ = (uint8_t)tci;
    }
    *p++ = (uint8_t)(e->ethertype >> 8);
    *p = (uint8_t)e->ethertype;
    return (int)(hdr + payload);
}

void eth_format_mac(char buf[18], const uint8_t *m)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < ETH_ALEN; i++) {
        buf[i * 3] = hex[m[i] >> 4];
        buf[i * 3 + 1] = hex[m[i] & 15];
        buf[i * 3 + 2] = i == ETH_ALEN - 1 ? 0 : ':';
    }
}
