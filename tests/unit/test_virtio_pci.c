/*
 * test_virtio_pci.c - host unit tests for the pure half of dom0's virtio
 * 1.x PCI transport (guest-drivers/virtio/virtio_pcicap.c): the vendor
 * capability parser over a fake configuration space (QEMU's layout, the
 * first-one-wins rule, malformed and missing capabilities, looping
 * capability lists), BAR bounds, notify offsets, feature choice and
 * queue sizes.
 * Links: virtio_pcicap.c. Mocks: configuration space (an array and a
 * capability walk like pci.c's pci_find_cap).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/virtio_pci.h>

static uint8_t cfg[256];
static unsigned int last_cap;   /* where the next capability is linked */
static unsigned int reads_outside;

static void cfg_reset(void)
{
    memset(cfg, 0, sizeof(cfg));
    cfg[0x06] = 0x10;           /* status: capability list */
    last_cap = 0;
    reads_outside = 0;
}

static uint8_t f_read8(void *ctx, unsigned int off)
{
    (void)ctx;
    if (off >= sizeof(cfg)) {
        reads_outside++;
        return 0xff;
    }
    return cfg[off];
}

static uint32_t f_read32(void *ctx, unsigned int off)
{
    return (uint32_t)f_read8(ctx, off) | (uint32_t)f_read8(ctx, off + 1) << 8 |
           (uint32_t)f_read8(ctx, off + 2) << 16 | (uint32_t)f_read8(ctx, off + 3) << 24;
}

/* pci_find_cap's contract: the next capability with this id after
 * `after` (0: from the list head), 0 if none. Bounded like pci.c. */
static unsigned int f_find_cap(void *ctx, uint8_t id, unsigned int after)
{
    (void)ctx;
    unsigned int pos = after ? cfg[after + 1] : cfg[0x34];
    for (int guard = 0; pos && guard < 48; guard++, pos = cfg[pos + 1])
        if (cfg[pos] == id)
            return pos;
    return 0;
}

static const struct virtio_cfg_access acc = { f_read8, f_read32, f_find_cap, NULL };

static void put32(unsigned int off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        cfg[off + i] = (uint8_t)(v >> (8 * i));
}

/* Links a capability at pos into the list. */
static void add_cap(unsigned int pos, uint8_t id, uint8_t len)
{
    cfg[pos] = id;
    cfg[pos + 1] = 0;
    cfg[pos + 2] = len;
    if (last_cap)
        cfg[last_cap + 1] = (uint8_t)pos;
    else
        cfg[0x34] = (uint8_t)pos;
    last_cap = pos;
}

static void add_vcap(unsigned int pos, uint8_t type, uint8_t bar, uint32_t off, uint32_t len)
{
    add_cap(pos, PCI_CAP_ID_VNDR, type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16);
    cfg[pos + 3] = type;
    cfg[pos + 4] = bar;
    put32(pos + 8, off);
    put32(pos + 12, len);
}

/* What QEMU's virtio-blk-pci (disable-legacy=on) shows: MSI-X first,
 * then common, ISR, device, notify (multiplier 4), PCI cfg access. */
static void qemu_layout(void)
{
    cfg_reset();
    add_cap(0xa4, 0x11, 12);
    add_vcap(0x90, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0000, 0x1000);
    add_vcap(0x7c, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000);
    add_vcap(0x68, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000);
    add_vcap(0x54, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000);
    put32(0x54 + 16, 4);
    add_vcap(0x40, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
}

static void test_qemu_layout(void **st)
{
    (void)st;
    struct virtio_pci_caps c;
    qemu_layout();
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), 0);
    assert_int_equal(c.common.bar, 4);
    assert_int_equal(c.common.off, 0);
    assert_int_equal(c.common.len, 0x1000);
    assert_int_equal(c.isr.off, 0x1000);
    assert_int_equal(c.device.off, 0x2000);
    assert_int_equal(c.notify.off, 0x3000);
    assert_int_equal(c.notify.len, 0x1000);
    assert_int_equal(c.notify_mult, 4);
    assert_int_equal(reads_outside, 0);
}

static void test_first_wellformed_wins(void **st)
{
    (void)st;
    struct virtio_pci_caps c;
    cfg_reset();
    /* A common cfg too short for the structure, then a good one, then a
     * second good one that must not replace it. */
    add_vcap(0x40, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x100, 0x20);
    add_vcap(0x50, VIRTIO_PCI_CAP_COMMON_CFG, 2, 0x200, 0x38);
    add_vcap(0x60, VIRTIO_PCI_CAP_COMMON_CFG, 3, 0x300, 0x1000);
    /* Notify: bar 6 is reserved, a wrapping one, then a good one. */
    add_vcap(0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, 6, 0, 0x100);
    add_vcap(0x84, VIRTIO_PCI_CAP_NOTIFY_CFG, 1, 0xfffff000u, 0x2000);
    add_vcap(0x98, VIRTIO_PCI_CAP_NOTIFY_CFG, 1, 0x400, 0x100);
    put32(0x98 + 16, 2);
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), 0);
    assert_int_equal(c.common.bar, 2);
    assert_int_equal(c.common.off, 0x200);
    assert_int_equal(c.notify.bar, 1);
    assert_int_equal(c.notify.off, 0x400);
    assert_int_equal(c.notify_mult, 2);
    assert_int_equal(c.isr.len, 0);     /* absent: fine for us */
    assert_int_equal(c.device.len, 0);
}

static void test_missing_or_short_notify(void **st)
{
    (void)st;
    struct virtio_pci_caps c;
    cfg_reset();
    add_vcap(0x40, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38);
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), -XEN_ENODEV);
    /* A notify capability without room for the multiplier. */
    add_vcap(0x50, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0x1000, 0x100);
    cfg[0x52] = 16;
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), -XEN_ENODEV);
    cfg[0x52] = 20;
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), 0);
    /* No common cfg at all. */
    cfg[0x43] = VIRTIO_PCI_CAP_DEVICE_CFG;
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), -XEN_ENODEV);
}

static void test_no_caps(void **st)
{
    (void)st;
    struct virtio_pci_caps c;
    cfg_reset();
    add_cap(0x40, 0x05, 8);     /* MSI only */
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), -XEN_ENODEV);
}

static void test_looping_list_ends(void **st)
{
    (void)st;
    struct virtio_pci_caps c;
    qemu_layout();
    /* The last capability points back at the first vendor one. */
    cfg[0x40 + 1] = 0x90;
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), 0);
    assert_int_equal(c.notify_mult, 4);
    /* One pointing at itself. */
    cfg_reset();
    add_vcap(0x40, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, 0x38);
    cfg[0x41] = 0x40;
    assert_int_equal(virtio_pci_parse_caps(&acc, &c), -XEN_ENODEV);
    assert_int_equal(c.common.len, 0x38);
}

static void test_region_fits(void **st)
{
    (void)st;
    struct virtio_pci_region r = { .bar = 4, .off = 0x3000, .len = 0x1000 };
    assert_int_equal(virtio_pci_region_fits(&r, 0x4000), 0);
    assert_int_equal(virtio_pci_region_fits(&r, 0x3fff), -XEN_ENODEV);
    assert_int_equal(virtio_pci_region_fits(&r, 0), -XEN_ENODEV);
    r.len = 0;
    assert_int_equal(virtio_pci_region_fits(&r, 0x4000), -XEN_ENODEV);
}

static void test_notify_off(void **st)
{
    (void)st;
    struct virtio_pci_caps c = { .notify = { .bar = 4, .off = 0x3000, .len = 0x1000 },
                                 .notify_mult = 4 };
    uint32_t off = 99;
    assert_int_equal(virtio_pci_notify_off(&c, 3, &off), 0);
    assert_int_equal(off, 12);
    assert_int_equal(virtio_pci_notify_off(&c, 1023, &off), 0);
    assert_int_equal(off, 4092);
    assert_int_equal(virtio_pci_notify_off(&c, 1024, &off), -XEN_ENODEV);
    /* Multiplier 0: every queue notifies at the same place. */
    c.notify_mult = 0;
    assert_int_equal(virtio_pci_notify_off(&c, 0xffff, &off), 0);
    assert_int_equal(off, 0);
    /* Huge products must not wrap into the region. */
    c.notify_mult = 0xffffffffu;
    assert_int_equal(virtio_pci_notify_off(&c, 0xffff, &off), -XEN_ENODEV);
    c.notify.len = 1;
    c.notify_mult = 0;
    assert_int_equal(virtio_pci_notify_off(&c, 0, &off), -XEN_ENODEV);
}

static void test_features(void **st)
{
    (void)st;
    uint64_t f = 0;
    uint64_t v1 = VIRTIO_BIT(VIRTIO_F_VERSION_1);
    assert_int_equal(virtio_pci_pick_features(0x3ff, 0x3ff | v1, &f), -XEN_ENODEV);
    assert_int_equal(virtio_pci_pick_features(v1 | 0x3ff, 0x3ff, &f), -XEN_ENODEV);
    assert_int_equal(virtio_pci_pick_features(v1 | 0x2f0 | VIRTIO_BIT(VIRTIO_F_RING_PACKED),
                                              v1 | 0x20f | VIRTIO_BIT(VIRTIO_F_RING_PACKED), &f),
                     0);
    assert_true(f == (v1 | 0x200));
}

static void test_queue_size(void **st)
{
    (void)st;
    assert_int_equal(virtio_pci_queue_size(256, 256), 256);
    assert_int_equal(virtio_pci_queue_size(1024, 256), 256);
    assert_int_equal(virtio_pci_queue_size(128, 256), 128);
    assert_int_equal(virtio_pci_queue_size(100, 256), 64);
    assert_int_equal(virtio_pci_queue_size(3, 256), 2);
    assert_int_equal(virtio_pci_queue_size(1, 256), 1);
    assert_int_equal(virtio_pci_queue_size(0, 256), 0);
    assert_int_equal(virtio_pci_queue_size(32768, 32768), 32768);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_layout),
        cmocka_unit_test(test_first_wellformed_wins),
        cmocka_unit_test(test_missing_or_short_notify),
        cmocka_unit_test(test_no_caps),
        cmocka_unit_test(test_looping_list_ends),
        cmocka_unit_test(test_region_fits),
        cmocka_unit_test(test_notify_off),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_queue_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
