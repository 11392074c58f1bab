/*
 * virtio_pci.h - the virtio 1.x modern PCI transport (virtio spec 1.1
 * section 4.1) for dom0's virtio drivers: the vendor capabilities that
 * locate the common configuration, notification, ISR and device
 * configuration regions, device status and feature negotiation, queue
 * setup with machine addresses, notification, reset.
 * Two halves: the capability parser and the feature/notify arithmetic
 * (guest-drivers/virtio/virtio_pcicap.c) are pure and unit tested over a
 * fake configuration space; the register access (virtio_pci.c) runs in
 * dom0 on pci.c's config space and MMIO mappings.
 * Must never: use the legacy (0.9.5) interface, or let a device enter
 * DRIVER_OK without VIRTIO_F_VERSION_1 and FEATURES_OK accepted.
 */
#ifndef XLGUEST_VIRTIO_PCI_H
#define XLGUEST_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <xlguest/virtq.h>

#define VIRTIO_PCI_VENDOR        0x1af4
#define VIRTIO_PCI_DEVICE_BASE   0x1040   /* modern: 0x1040 + virtio device id */
#define VIRTIO_ID_NET            1
#define VIRTIO_ID_BLOCK          2

/* Vendor-specific PCI capability (id 0x09) and its cfg_type values. */
#define PCI_CAP_ID_VNDR          0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
/* struct virtio_pci_cap: vndr, next, len, cfg_type, bar, id, pad[2],
 * offset (le32 at 8), length (le32 at 12); notify adds the multiplier. */
#define VIRTIO_PCI_CAP_LEN        16
#define VIRTIO_PCI_NOTIFY_CAP_LEN 20

/* struct virtio_pci_common_cfg offsets (section 4.1.4.3). */
#define VPC_DFSELECT    0x00
#define VPC_DF          0x04
#define VPC_GFSELECT    0x08
#define VPC_GF          0x0c
#define VPC_MSIX        0x10
#define VPC_NUMQ        0x12
#define VPC_STATUS      0x14
#define VPC_CFGGEN      0x15
#define VPC_Q_SELECT    0x16
#define VPC_Q_SIZE      0x18
#define VPC_Q_MSIX      0x1a
#define VPC_Q_ENABLE    0x1c
#define VPC_Q_NOFF      0x1e
#define VPC_Q_DESCLO    0x20
#define VPC_Q_DESCHI    0x24
#define VPC_Q_AVAILLO   0x28
#define VPC_Q_AVAILHI   0x2c
#define VPC_Q_USEDLO    0x30
#define VPC_Q_USEDHI    0x34
#define VPC_COMMON_LEN  0x38
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Device status bits (section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE  1
#define VIRTIO_STATUS_DRIVER       2
#define VIRTIO_STATUS_DRIVER_OK    4
#define VIRTIO_STATUS_FEATURES_OK  8
#define VIRTIO_STATUS_NEEDS_RESET  0x40
#define VIRTIO_STATUS_FAILED       0x80

/* Transport feature bits (section 6). */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED     34
#define VIRTIO_BIT(b) (1ULL << (b))

/* One region named by a capability: BAR, offset, length (0: absent). */
struct virtio_pci_region {
    uint8_t bar;
    uint32_t off, len;
};

struct virtio_pci_caps {
    struct virtio_pci_region common, notify, isr, device;
    uint32_t notify_mult;   /* notify_off_multiplier */
};

/* How the parser reaches configuration space (pci.c in dom0, a fake in
 * the tests). find_cap as pci_find_cap: offset of the next capability
 * with this id after `after` (0: from the start), 0 when none. */
struct virtio_cfg_access {
    uint8_t (*read8)(void *ctx, unsigned int off);
    uint32_t (*read32)(void *ctx, unsigned int off);
    unsigned int (*find_cap)(void *ctx, uint8_t id, unsigned int after);
    void *ctx;
};

/* virtio_pcicap.c (pure) */
/* Walks the vendor capabilities; the first well-formed one of each type
 * wins (spec 4.1.4: the driver uses the first it can). 0, or -XEN_ENODEV
 * when common or notify configuration is missing or malformed (length
 * below the structure, bar above 5, offset + length wrapping). */
int virtio_pci_parse_caps(const struct virtio_cfg_access *a, struct virtio_pci_caps *c);
/* 0 if r (present) lies inside a BAR of bar_size bytes, else -XEN_ENODEV. */
int virtio_pci_region_fits(const struct virtio_pci_region *r, uint64_t bar_size);
/* Offset inside the notify region where queue q's notification is
 * written: queue_notify_off * multiplier, checked to leave 2 bytes in
 * the region. 0 with *off, or -XEN_ENODEV. */
int virtio_pci_notify_off(const struct virtio_pci_caps *c, uint16_t queue_notify_off,
                          uint32_t *off);
/* Driver features from the device's and ours: their intersection, which
 * must hold VIRTIO_F_VERSION_1 (-XEN_ENODEV otherwise); never packed
 * rings. */
int virtio_pci_pick_features(uint64_t device, uint64_t wanted, uint64_t *out);
/* The size to give a queue: a power of two, at most the device's maximum
 * and `cap`; 0 if the device offers none (max 0). */
uint16_t virtio_pci_queue_size(uint16_t dev_max, uint16_t cap);

/* virtio_pci.c (dom0): one device and its queues. */
struct pci_dev;
struct virtio_pci_dev {
    const struct pci_dev *pci;
    struct virtio_pci_caps caps;
    volatile uint8_t *common, *notify, *isr, *device;
    uint64_t features;      /* negotiated */
    uint16_t num_queues;
    bool msix;              /* queues bound to MSI-X event channels */
};

struct virtio_pci_queue {
    struct virtq vq;
    uint16_t index, num;
    volatile uint16_t *notify;
    void *mem;              /* 4 pages: desc, avail, used, private slots */
    int vector;             /* MSI-X entry, or -1 when polled */
    uint32_t port;          /* its event channel when vector >= 0 */
    int pirq;
    uint64_t events;        /* interrupts seen on port (virtio_pci_count_event) */
};

/* Set by dom0's glue (guest-drivers/dom0/drivers.c) to the service
 * loop's svc_port_pending: whether an event came on a port since the
 * last look (consuming it). NULL: interrupts are not counted. */
extern int (*virtio_pci_port_pending)(uint32_t port);
/* From a driver's poll: counts an interrupt of q if one came. */
void virtio_pci_count_event(struct virtio_pci_queue *q);
/* Has the device returned buffers of q that were not reaped yet? */
bool virtio_pci_queue_has_used(const struct virtio_pci_queue *q);

/* Real x86 fences for virtq (mfence, lfence, sfence). */
extern const struct xl_barriers virtio_barriers;

/* Finds and maps the capabilities, enables the function, resets the
 * device and sets ACKNOWLEDGE | DRIVER. 0 or a negative Xen errno. */
int virtio_pci_open(struct virtio_pci_dev *v, const struct pci_dev *p);
/* Device reset: writes 0 and waits until the status reads 0. */
void virtio_pci_reset(struct virtio_pci_dev *v);
uint8_t virtio_pci_status(struct virtio_pci_dev *v);
/* ACKNOWLEDGE | DRIVER (after a reset). */
void virtio_pci_begin(struct virtio_pci_dev *v);
/* Offers wanted & device features, sets FEATURES_OK and checks the
 * device kept it. 0 with v->features, or -XEN_ENODEV (status FAILED). */
int virtio_pci_negotiate(struct virtio_pci_dev *v, uint64_t wanted);
/* Sets queue `index` up with at most max_num entries (memory allocated
 * on first use, kept across resets), EVENT_IDX as negotiated. With
 * vector >= 0 the queue is routed to MSI-X entry `vector` (its event
 * channel in q->port); when the binding or the device refuses, the queue
 * is polled (q->vector = -1) and told not to interrupt. 0 or errno. */
int virtio_pci_queue_setup(struct virtio_pci_dev *v, struct virtio_pci_queue *q,
                           uint16_t index, uint16_t max_num, int vector);
void virtio_pci_driver_ok(struct virtio_pci_dev *v);
/* Publishes what was added to q and notifies the device if it asks. */
void virtio_pci_kick(struct virtio_pci_queue *q);
/* Copies device configuration [off, off + len) stable under
 * config_generation. 0 or -XEN_EIO (no device region / out of range). */
int virtio_pci_read_config(struct virtio_pci_dev *v, unsigned int off, void *buf,
                           unsigned int len);

#endif
