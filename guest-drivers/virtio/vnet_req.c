/*
 * vnet_req.c - the pure logic of dom0's virtio-net driver: features we
 * ask for, the MAC and link state from the device configuration, the
 * transmit chain (header + frame, readable), and the checks on a
 * received buffer.
 * Pure: no inline assembly, no libc, no allocation; host unit tests link
 * it (tests/unit/virtio_net.mk).
 * Must never: pass a frame length the device did not vouch for.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/virtio_net.h>
#include <xlguest/virtio_pci.h>

uint64_t vnet_wanted_features(void)
{
    return VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
}

void vnet_setup(uint64_t features, const uint8_t *cfg, uint32_t seed, struct netdev_info *info)
{
    if (features & VIRTIO_BIT(VIRTIO_NET_F_MAC)) {
        memcpy(info->mac, cfg + VNET_CFG_MAC, 6);
    } else {
        /* 02:xx: locally administered, unicast. */
        info->mac[0] = 0x02;
        info->mac[1] = 0x58;    /* 'X' */
        for (int i = 0; i < 4; i++)
            info->mac[2 + i] = (uint8_t)(seed >> (24 - 8 * i));
    }
    info->link_up = 1;
    if (features & VIRTIO_BIT(VIRTIO_NET_F_STATUS))
        info->link_up = !!(cfg[VNET_CFG_STATUS] & VIRTIO_NET_S_LINK_UP);
}

unsigned int vnet_build_tx(const struct netdev_tx *t, struct virtio_net_hdr *hdr,
                           uint64_t hdr_maddr, struct virtq_buf *out)
{
    memset(hdr, 0, sizeof(*hdr));   /* no checksum or segmentation offload */
    out[0] = (struct virtq_buf){ .addr = hdr_maddr, .len = sizeof(*hdr) };
    for (uint32_t i = 0; i < t->nr_segs; i++)
        out[1 + i] = (struct virtq_buf){ .addr = t->seg[i].maddr, .len = t->seg[i].len };
    return 1 + t->nr_segs;
}

int vnet_rx_frame_len(uint32_t used_len, uint32_t buf_len)
{
    if (used_len < sizeof(struct virtio_net_hdr) + NETDEV_MIN_FRAME || used_len > buf_len)
        return -XEN_EIO;
    return (int)(used_len - sizeof(struct virtio_net_hdr));
}
