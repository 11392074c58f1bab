/*
 * virtio_pcicap.c - the pure half of the virtio 1.x PCI transport:
 * parsing the vendor capabilities (virtio spec 1.1 section 4.1.4) from a
 * configuration space reached through callbacks, and the arithmetic the
 * transport must get right (notify offsets, feature choice, queue size).
 * Pure: no inline assembly, no libc, no allocation; host unit tests link
 * it (tests/unit/virtio_pci.mk) over a fake configuration space.
 * Must never: read configuration space outside the capability it walks,
 * loop forever on a capability list that points back at itself, or
 * accept a region whose offset + length wraps.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/virtio_pci.h>

/* PCI allows at most 48 capabilities in the 192 bytes after the header. */
#define MAX_CAPS 48

static int region_ok(const struct virtio_pci_region *r)
{
    return r->bar <= 5 && r->len && (uint64_t)r->off + r->len <= 0xffffffffULL;
}

/* One capability at `pos`: fills the region of its type unless one of
 * that type was already taken. Malformed ones are skipped. */
static void take_cap(const struct virtio_cfg_access *a, unsigned int pos,
                     struct virtio_pci_caps *c)
{
    uint8_t cap_len = a->read8(a->ctx, pos + 2);
    uint8_t type = a->read8(a->ctx, pos + 3);
    struct virtio_pci_region r = {
        .bar = a->read8(a->ctx, pos + 4),
        .off = a->read32(a->ctx, pos + 8),
        .len = a->read32(a->ctx, pos + 12),
    };
    struct virtio_pci_region *slot;
    uint32_t min_len;
    switch (type) {
    case VIRTIO_PCI_CAP_COMMON_CFG: slot = &c->common; min_len = VPC_COMMON_LEN; break;
    case VIRTIO_PCI_CAP_NOTIFY_CFG: slot = &c->notify; min_len = 2; break;
    case VIRTIO_PCI_CAP_ISR_CFG:    slot = &c->isr;    min_len = 1; break;
    case VIRTIO_PCI_CAP_DEVICE_CFG: slot = &c->device; min_len = 1; break;
    default: return;    /* PCI cfg access, shared memory, vendor: not ours */
    }
    if (slot->len || cap_len < VIRTIO_PCI_CAP_LEN || r.len < min_len || !region_ok(&r))
        return;
    if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
        if (cap_len < VIRTIO_PCI_NOTIFY_CAP_LEN)
            return;
        c->notify_mult = a->read32(a->ctx, pos + 16);
    }
    *slot = r;
}

int virtio_pci_parse_caps(const struct virtio_cfg_access *a, struct virtio_pci_caps *c)
{
    memset(c, 0, sizeof(*c));
    unsigned int pos = 0;
    for (unsigned int n = 0; n < MAX_CAPS; n++) {
        unsigned int next = a->find_cap(a->ctx, PCI_CAP_ID_VNDR, pos);
        if (!next || next == pos)
            break;
        pos = next;
        take_cap(a, pos, c);
    }
    return c->common.len && c->notify.len ? 0 : -XEN_ENODEV;
}

int virtio_pci_region_fits(const struct virtio_pci_region *r, uint64_t bar_size)
{
    return r->len && (uint64_t)r->off + r->len <= bar_size ? 0 : -XEN_ENODEV;
}

int virtio_pci_notify_off(const struct virtio_pci_caps *c, uint16_t queue_notify_off,
                          uint32_t *off)
{
    uint64_t o = (uint64_t)queue_notify_off * c->notify_mult;
    if (!c->notify.len || o + 2 > c->notify.len)
        return -XEN_ENODEV;
    *off = (uint32_t)o;
    return 0;
}

int virtio_pci_pick_features(uint64_t device, uint64_t wanted, uint64_t *out)
{
    uint64_t f = device & wanted & ~VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
        return -XEN_ENODEV;
    *out = f;
    return 0;
}

uint16_t virtio_pci_queue_size(uint16_t dev_max, uint16_t cap)
{
    uint16_t lim = dev_max < cap ? dev_max : cap, n = 1;
    if (!lim)
        return 0;
    while ((uint32_t)n * 2 <= lim)
        n = (uint16_t)(n * 2);
    return n;
}
