/*
 * test_virtio_net.c - host unit tests for the pure half of dom0's
 * virtio-net driver (guest-drivers/virtio/vnet_req.c: MAC and link from
 * features and configuration, the transmit chain, received-buffer
 * checks) and the netdev registry's frame checks
 * (guest-drivers/dom0/netdev.c) in front of a fake driver.
 * Links: vnet_req.c, netdev.c. Mocks: a netdev driver that counts calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/virtio_net.h>
#include <xlguest/virtio_pci.h>

static void test_setup_mac_and_link(void **st)
{
    (void)st;
    uint8_t cfg[VNET_CFG_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00 };
    struct netdev_info in;
    memset(&in, 0xee, sizeof(in));
    vnet_setup(VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS), cfg, 7, &in);
    assert_memory_equal(in.mac, cfg, 6);
    assert_int_equal(in.link_up, 0);
    cfg[VNET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP;
    vnet_setup(VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS), cfg, 7, &in);
    assert_int_equal(in.link_up, 1);
    /* No STATUS feature: the link counts as up whatever the field says. */
    cfg[VNET_CFG_STATUS] = 0;
    vnet_setup(VIRTIO_BIT(VIRTIO_NET_F_MAC), cfg, 7, &in);
    assert_int_equal(in.link_up, 1);
    /* No MAC feature: a locally administered unicast address from seed. */
    vnet_setup(0, cfg, 0x01020304, &in);
    static const uint8_t made[6] = { 0x02, 0x58, 0x01, 0x02, 0x03, 0x04 };
    assert_memory_equal(in.mac, made, 6);
    assert_int_equal(in.mac[0] & 1, 0);
    assert_int_equal(in.mac[0] & 2, 2);
}

static void test_build_tx(void **st)
{
    (void)st;
    struct netdev_tx t = { .nr_segs = 3,
                           .seg = { { 0x1000, 14 }, { 0x5000, 100 }, { 0x9ff0, 16 } } };
    struct virtio_net_hdr h;
    memset(&h, 0x5a, sizeof(h));
    struct virtq_buf out[1 + NETDEV_MAX_SEGS];
    assert_int_equal(vnet_build_tx(&t, &h, 0x7000, out), 4);
    struct virtio_net_hdr zero = { 0 };
    assert_memory_equal(&h, &zero, sizeof(h));
    assert_true(out[0].addr == 0x7000 && out[0].len == 12);
    assert_true(out[1].addr == 0x1000 && out[1].len == 14);
    assert_true(out[2].addr == 0x5000 && out[2].len == 100);
    assert_true(out[3].addr == 0x9ff0 && out[3].len == 16);
}

static void test_rx_len(void **st)
{
    (void)st;
    assert_int_equal(vnet_rx_frame_len(12 + 60, 4096), 60);
    assert_int_equal(vnet_rx_frame_len(12 + 14, 4096), 14);
    assert_int_equal(vnet_rx_frame_len(12 + 13, 4096), -XEN_EIO);
    assert_int_equal(vnet_rx_frame_len(0, 4096), -XEN_EIO);
    assert_int_equal(vnet_rx_frame_len(4096, 4096), 4096 - 12);
    assert_int_equal(vnet_rx_frame_len(4097, 4096), -XEN_EIO);
}

/* The registry in front of a fake driver. */
static unsigned int fake_tx_calls, fake_polls;
static int fake_tx(struct netdev *d, struct netdev_tx *t)
{
    (void)d, (void)t;
    fake_tx_calls++;
    return 0;
}
static int fake_poll(struct netdev *d)
{
    (void)d;
    fake_polls++;
    return 2;
}
static const struct netdev_ops fake_ops = { fake_tx, fake_poll };
static void noop_done(struct netdev_tx *t, int s)
{
    (void)t, (void)s;
}

static void test_registry_checks(void **st)
{
    (void)st;
    static struct netdev a = { .info = { .name = "eth0" }, .ops = &fake_ops };
    static struct netdev b = { .info = { .name = "eth1" }, .ops = &fake_ops };
    assert_int_equal(netdev_register(&a), 0);
    assert_int_equal(netdev_register(&b), 0);
    assert_ptr_equal(netdev_find("eth1"), &b);
    assert_ptr_equal(netdev_get(0), &a);
    assert_null(netdev_find("eth2"));
    assert_null(netdev_find("eth"));
    assert_null(netdev_find("eth1xxxxxxxxx"));
    assert_null(netdev_get(2));
    assert_int_equal(netdev_poll(), 4);
    assert_int_equal(fake_polls, 2);

    struct netdev_tx t = { .nr_segs = 1, .seg = { { 0x1000, 60 } }, .done = noop_done };
    assert_int_equal(netdev_tx(&a, &t), 0);
    assert_int_equal(fake_tx_calls, 1);
    /* Refused before the driver sees them. */
    t.seg[0].len = 13;
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);      /* runt */
    t.seg[0].len = 1515;
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);      /* too long */
    t.seg[0] = (struct netdev_seg){ 0x1fc0, 100 };
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);      /* crosses a page */
    t.seg[0] = (struct netdev_seg){ 0x1000, 60 };
    t.nr_segs = 0;
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);
    t.nr_segs = NETDEV_MAX_SEGS + 1;
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);
    t.nr_segs = 2;
    t.seg[1] = (struct netdev_seg){ 0x3000, 0 };
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);      /* empty segment */
    t.seg[1].len = 1454;
    assert_int_equal(netdev_tx(&a, &t), 0);                /* exactly 1514 */
    t.nr_segs = 1;
    t.done = NULL;
    assert_int_equal(netdev_tx(&a, &t), -XEN_EINVAL);
    assert_int_equal(fake_tx_calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_mac_and_link),
        cmocka_unit_test(test_build_tx),
        cmocka_unit_test(test_rx_len),
        cmocka_unit_test(test_registry_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
