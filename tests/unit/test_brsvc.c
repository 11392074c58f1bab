/*
 * test_brsvc.c - host unit tests for dom0's named bridges
 * (toolstack/dom0svc/bridge.c) over fdb.c/eth.c, cmocka + ASan/UBSan.
 * Tests: ports on named bridges, delivery to the right ports only
 * (flooding, learning, never back to the sender), VLAN isolation between
 * access ports, the uplink trunk tagging frames, detach flushing the
 * port's FDB entries, ageing, and the `bridge show` text.
 * Links: bridge.c, fdb.c, eth.c, hv/shared/format.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include "../../toolstack/dom0svc/brsvc.h"

struct sink {
    unsigned frames;
    size_t len;
    uint8_t last[128];
};
static struct sink sinks[8];

static void deliver(void *opaque, const uint8_t *f, size_t len)
{
    struct sink *s = opaque;
    s->frames++;
    s->len = len;
    memcpy(s->last, f, len < sizeof(s->last) ? len : sizeof(s->last));
}

static size_t frame(uint8_t *f, uint8_t dst_last, uint8_t src_last)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t dst[6] = { 0x00, 0x16, 0x3e, 0, 0, dst_last }, src[6] = { 0x00, 0x16, 0x3e, 0, 0, src_last };
    memcpy(f, dst_last == 0xff ? bcast : dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    memset(f + 14, 0xab, 46);
    return 60;
}

static int setup(void **state)
{
    (void)state;
    brsvc_reset();
    memset(sinks, 0, sizeof(sinks));
    return 0;
}

static void test_forwarding(void **state)
{
    uint8_t f[64];
    (void)state;
    int a = brsvc_port_attach("xenbr0", "vif1.0", 1, deliver, &sinks[0]);
    int b = brsvc_port_attach("xenbr0", "vif2.0", 1, deliver, &sinks[1]);
    int c = brsvc_port_attach("xenbr0", "vif3.0", 10, deliver, &sinks[2]);
    int d = brsvc_port_attach("xenbr1", "vif4.0", 1, deliver, &sinks[3]);
    assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0);
    /* Broadcast from a: b only (c is on VLAN 10, d on another bridge). */
    assert_int_equal(brsvc_input(a, f, frame(f, 0xff, 1), 1000), 1);
    assert_int_equal(sinks[1].frames, 1);
    assert_int_equal(sinks[0].frames + sinks[2].frames + sinks[3].frames, 0);
    assert_int_equal(sinks[1].len, 60);      /* access port: untagged */
    /* b answers a by unicast: a learned, delivered to a only. */
    assert_int_equal(brsvc_input(b, f, frame(f, 1, 2), 1001), 1);
    assert_int_equal(sinks[0].frames, 1);
    assert_int_equal(sinks[2].frames, 0);
    /* c (VLAN 10) sends to a's MAC: nobody else in VLAN 10, dropped. */
    assert_int_equal(brsvc_input(c, f, frame(f, 1, 3), 1002), 0);
    assert_int_equal(sinks[0].frames, 1);
    /* An unknown handle, a runt. */
    assert_int_equal(brsvc_input(999, f, frame(f, 1, 2), 1003), 0);
    assert_int_equal(brsvc_input(b, f, 10, 1003), 0);
    assert_true(brsvc_stats()->dropped >= 3);
    /* Bad attaches. */
    assert_int_equal(brsvc_port_attach("xenbr0", "x", 0, deliver, NULL), -XEN_EINVAL);
    assert_int_equal(brsvc_port_attach("xenbr0", "x", 4095, deliver, NULL), -XEN_EINVAL);
    assert_int_equal(brsvc_port_attach("", "x", 1, deliver, NULL), -XEN_EINVAL);
    assert_int_equal(brsvc_port_attach("xenbr0", "x", 1, NULL, NULL), -XEN_EINVAL);
    assert_true(brsvc_port_attach("b2", "x", 1, deliver, NULL) >= 0);
    assert_true(brsvc_port_attach("b3", "x", 1, deliver, NULL) >= 0);
    assert_int_equal(brsvc_port_attach("b4", "x", 1, deliver, NULL), -XEN_ENOSPC);
}

static void test_uplink_tags(void **state)
{
    uint8_t f[64];
    (void)state;
    int a = brsvc_port_attach("xenbr0", "vif1.0", 10, deliver, &sinks[0]);
    int u = brsvc_uplink_attach("xenbr0", "eth0", deliver, &sinks[1]);
    assert_true(a >= 0 && u >= 0);
    assert_int_equal(brsvc_input(a, f, frame(f, 0xff, 1), 5), 1);
    assert_int_equal(sinks[1].len, 64);      /* VLAN 10 leaves the trunk tagged */
    assert_int_equal(sinks[1].last[12], 0x81);
    assert_int_equal(sinks[1].last[13], 0x00);
    assert_int_equal(sinks[1].last[15], 10);
}

/* A trunk vif (bridge=xenbr0:10:20): VLANs 10 and 20 tagged, 30 not
 * carried, no native VLAN; its tagged frames reach the access ports of
 * their VLAN untagged. */
static void test_trunk_vif(void **state)
{
    uint8_t f[64];
    static const uint16_t vids[] = { 10, 20 };
    (void)state;
    int a10 = brsvc_port_attach("xenbr0", "vif1.0", 10, deliver, &sinks[0]);
    int a30 = brsvc_port_attach("xenbr0", "vif2.0", 30, deliver, &sinks[1]);
    int t = brsvc_trunk_attach("xenbr0", "vif3.0", 0, vids, 2, deliver, &sinks[2]);
    int a20 = brsvc_port_attach("xenbr0", "vif4.0", 20, deliver, &sinks[3]);
    assert_true(a10 >= 0 && a30 >= 0 && t >= 0 && a20 >= 0);
    assert_int_equal(brsvc_input(a10, f, frame(f, 0xff, 1), 1), 1);
    assert_int_equal(sinks[2].frames, 1);
    assert_int_equal(sinks[2].len, 64);
    assert_int_equal(sinks[2].last[15], 10);
    assert_int_equal(brsvc_input(a30, f, frame(f, 0xff, 2), 2), 0);   /* VLAN 30: nobody */
    assert_int_equal(sinks[2].frames, 1);
    /* From the trunk: tagged VLAN 20 -> vif4.0 untagged; untagged dropped. */
    uint8_t tg[64];
    size_t n = frame(f, 0xff, 3);
    memcpy(tg, f, 12);
    tg[12] = 0x81; tg[13] = 0x00; tg[14] = 0x00; tg[15] = 20;
    memcpy(tg + 16, f + 12, n - 12);
    assert_int_equal(brsvc_input(t, tg, n + 4, 3), 1);
    assert_int_equal(sinks[3].frames, 1);
    assert_int_equal(sinks[3].len, 60);
    assert_int_equal(brsvc_input(t, f, n, 4), 0);
    assert_int_equal(brsvc_trunk_attach("xenbr0", "x", 0, NULL, 0, deliver, NULL), -XEN_EINVAL);
    static const uint16_t bad[] = { 4095 };
    assert_int_equal(brsvc_trunk_attach("xenbr0", "x", 0, bad, 1, deliver, NULL), -XEN_EINVAL);
}

static void test_detach_age_show(void **state)
{
    uint8_t f[64];
    char buf[1024];
    (void)state;
    int a = brsvc_port_attach("xenbr0", "vif1.0", 1, deliver, &sinks[0]);
    int b = brsvc_port_attach("xenbr0", "vif2.0", 1, deliver, &sinks[1]);
    brsvc_input(a, f, frame(f, 0xff, 1), 0);
    brsvc_input(b, f, frame(f, 0xff, 2), 2000);
    size_t n = brsvc_show(buf, sizeof(buf), 5000);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "bridge xenbr0\n"));
    assert_non_null(strstr(buf, "  port vif1.0          access vlan 1\n"));
    assert_non_null(strstr(buf, "vif1.0              1  00:16:3e:00:00:01  5\n"));
    assert_non_null(strstr(buf, "vif2.0              1  00:16:3e:00:00:02  3\n"));
    /* Truncated output: snprintf-like, NUL-terminated. */
    char small[20];
    assert_int_equal(brsvc_show(small, sizeof(small), 5000), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    /* Detach: the port and its entries go; b's MAC ages out at 300 s. */
    brsvc_port_detach(a);
    brsvc_show(buf, sizeof(buf), 5000);
    assert_null(strstr(buf, "vif1.0"));
    assert_int_equal(brsvc_age(2000 + 299999), 0);
    assert_int_equal(brsvc_age(2000 + 300000), 1);
    brsvc_show(buf, sizeof(buf), 302000);
    assert_null(strstr(buf, "00:16:3e:00:00:02"));
    /* A detached handle is inert. */
    assert_int_equal(brsvc_input(a, f, frame(f, 2, 1), 302001), 0);
    brsvc_port_detach(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_forwarding, setup),
        cmocka_unit_test_setup(test_uplink_tags, setup),
        cmocka_unit_test_setup(test_trunk_vif, setup),
        cmocka_unit_test_setup(test_detach_age_show, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
