/*
 * virtio_net.h - dom0's virtio-net driver (virtio spec 1.1 section 5.1)
 * behind the netdev interface (xlguest/netdev.h). Two halves: the pure
 * logic (guest-drivers/virtio/vnet_req.c: features and configuration to
 * netdev_info, a transmit chain, a received buffer's frame), unit tested
 * on the host; and the driver (virtio_net.c) on the virtio-pci transport.
 * No offloads, no mergeable receive buffers: each receive buffer is one
 * page that holds the 12-byte header and a whole frame.
 * Must never: hand the rx callback bytes the device did not write.
 */
#ifndef XLGUEST_VIRTIO_NET_H
#define XLGUEST_VIRTIO_NET_H

#include <stdint.h>
#include <xlguest/netdev.h>
#include <xlguest/virtq.h>

#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1

#define VNET_CFG_MAC    0   /* 6 bytes */
#define VNET_CFG_STATUS 6   /* le16 */
#define VNET_CFG_LEN    8
#define VNET_RXQ        0
#define VNET_TXQ        1

/* struct virtio_net_hdr with num_buffers (VIRTIO_F_VERSION_1: always). */
struct virtio_net_hdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr is 12 bytes");

uint64_t vnet_wanted_features(void);
/* info's MAC (from the configuration with VIRTIO_NET_F_MAC, else a
 * locally administered unicast one made from seed) and link state. */
void vnet_setup(uint64_t features, const uint8_t *cfg, uint32_t seed, struct netdev_info *info);
/* The transmit chain: a zeroed header (at hdr_maddr), then the frame's
 * segments, all device-readable. Returns how many entries of out (1 +
 * NETDEV_MAX_SEGS) it used. */
unsigned int vnet_build_tx(const struct netdev_tx *t, struct virtio_net_hdr *hdr,
                           uint64_t hdr_maddr, struct virtq_buf *out);
/* A receive buffer of buf_len bytes the device returned with used_len
 * written: the frame's length (it starts after the header), or -XEN_EIO
 * when the device wrote less than a header and an Ethernet header, or
 * more than the buffer. */
int vnet_rx_frame_len(uint32_t used_len, uint32_t buf_len);

/* virtio_net.c (dom0): probe one PCI function; registered as ethN. */
struct pci_dev;
int virtio_net_probe(const struct pci_dev *p);
/* A device returned buffers (received frames, sent ones) not reaped yet. */
int virtio_net_work_waiting(void);
int virtio_net_describe(unsigned int index, char *buf, unsigned int len);

#endif
