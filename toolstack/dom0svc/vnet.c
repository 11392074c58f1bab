/*
 * vnet.c - dom0's `vnet` command on the control line: a test of the
 * network devices through the netdev interface (xlguest/netdev.h).
 *   vnet list                     devices, MACs, link, counters
 *   vnet arp DEV MY_IP TARGET_IP  broadcast an ARP request who-has
 *                                 TARGET_IP tell MY_IP (again each
 *                                 second, 5 s at most) and print who
 *                                 answered: QEMU's user network answers
 *                                 for its gateway, 10.0.2.2
 * Runs in dom0's service loop (synchronously). Must never: reuse the
 * frame buffer before its transmit completed, or keep the rx callback
 * pointing here after it returns.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/netdev.h>
#include <xlguest/pages.h>
#include <xlguest/time.h>
#include <xlguest/virtio_net.h>
#include "svc.h"

#define ARP_TIMEOUT_NS 5000000000ULL
#define ARP_RESEND_NS  1000000000ULL


static uint64_t now_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

static int parse_ip(const char *s, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned int v = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
            v = v * 10 + (unsigned int)(*s - '0');
        if (!digits || v > 255 || *s != (i < 3 ? '.' : '\0'))
            return -XEN_EINVAL;
        ip[i] = (uint8_t)v;
        if (i < 3)
            s++;
    }
    return 0;
}

struct arp_wait {
    uint8_t my_ip[4], target[4], mac[6];
    int answered;
    unsigned int frames;
};

/* rx callback: an ARP reply (oper 2) from target to us. */
static void arp_rx(struct netdev *d, const uint8_t *f, uint32_t len, void *opaque)
{
    (void)d;
    struct arp_wait *w = opaque;
    w->frames++;
    if (len < 42 || f[12] != 0x08 || f[13] != 0x06 || f[20] != 0 || f[21] != 2)
        return;
    if (memcmp(f + 28, w->target, 4) || memcmp(f + 38, w->my_ip, 4))
        return;
    memcpy(w->mac, f + 22, 6);
    w->answered = 1;
}

static void tx_done(struct netdev_tx *t, int status)
{
    *(int *)t->priv = status ? status : 1;
}

static int vnet_arp(struct netdev *d, const char *mine, const char *target)
{
    static uint8_t *frame;
    static int tx_status = 1;   /* 0: in flight */
    struct arp_wait w = { 0 };
    if (parse_ip(mine, w.my_ip) || parse_ip(target, w.target)) {
        svc_out("vnet: bad IPv4 address\n");
        return 2;
    }
    if (!tx_status || (!frame && !(frame = pages_alloc(1)))) {
        svc_out("vnet: no frame buffer\n");
        return 1;
    }
    /* Ethernet broadcast + ARP request (RFC 826), padded to 60 bytes. */
    memset(frame, 0, 60);
    memset(frame, 0xff, 6);
    memcpy(frame + 6, d->info.mac, 6);
    frame[12] = 0x08, frame[13] = 0x06;
    frame[15] = 1, frame[16] = 0x08, frame[18] = 6, frame[19] = 4, frame[21] = 1;
    memcpy(frame + 22, d->info.mac, 6);
    memcpy(frame + 28, w.my_ip, 4);
    memcpy(frame + 38, w.target, 4);
    struct netdev_tx t = { .nr_segs = 1, .seg = { { virt_to_mfn(frame) << 12, 60 } },
                           .done = tx_done, .priv = &tx_status };
    netdev_set_rx(d, arp_rx, &w);
    uint64_t t0 = now_ns(), last = 0;
    unsigned int sent = 0;
    int rc = 0;
    while (!w.answered && now_ns() - t0 < ARP_TIMEOUT_NS) {
        if (tx_status && (!sent || now_ns() - last > ARP_RESEND_NS)) {
            if ((rc = netdev_tx(d, &t)) && rc != -XEN_EBUSY)
                break;
            if (!rc) {
                tx_status = 0, sent++, last = now_ns();
            }
            rc = 0;
        }
        if (!netdev_poll())
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    /* The transmit must be back before the frame can be used again. */
    for (uint64_t t1 = now_ns(); !tx_status && now_ns() - t1 < ARP_TIMEOUT_NS;)
        if (!netdev_poll())
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    netdev_set_rx(d, NULL, NULL);
    uint64_t us = (now_ns() - t0) / 1000;
    if (rc) {
        svc_out("vnet: %s: transmit refused: %d\n", d->info.name, rc);
        return 1;
    }
    if (!tx_status) {
        frame = NULL;   /* the device still has it */
        svc_out("vnet: %s: transmit never completed\n", d->info.name);
        return 1;
    }
    if (!w.answered) {
        svc_out("vnet: %s: no ARP reply for %s after %u requests, %u frames received, %lu us\n",
            d->info.name, target, sent, w.frames, (unsigned long)us);
        return 1;
    }
    svc_out("vnet: %s: %s is at %02x:%02x:%02x:%02x:%02x:%02x (%u requests, %u frames received, "
        "%lu us)\n",
        d->info.name, target, w.mac[0], w.mac[1], w.mac[2], w.mac[3], w.mac[4], w.mac[5], sent,
        w.frames, (unsigned long)us);
    return 0;
}

static int vnet_list(void)
{
    unsigned int i;
    for (i = 0; netdev_get(i); i++) {
        const struct netdev *d = netdev_get(i);
        const uint8_t *m = d->info.mac;
        svc_out("%s: mac %02x:%02x:%02x:%02x:%02x:%02x, link %s, rx %lu (dropped %lu), tx %lu\n",
            d->info.name, m[0], m[1], m[2], m[3], m[4], m[5], d->info.link_up ? "up" : "down",
            (unsigned long)d->rx_frames, (unsigned long)d->rx_dropped,
            (unsigned long)d->tx_frames);
        char line[200];
        size_t nl = strlen(d->info.name);
        for (unsigned int j = 0; virtio_net_describe(j, line, sizeof(line)) > 0; j++)
            if (!strncmp(line, d->info.name, nl) && line[nl] == ':')
                svc_out("  %s\n", line);
    }
    if (!i)
        svc_out("vnet: no network devices\n");
    return 0;
}

int vnet_run_line(char *line)
{
    char *arg[5];
    unsigned int n = svc_split_args(line, arg, 5);
    printk("dom0: ctl> vnet%s%s\n", n > 1 ? " " : "", n > 1 ? arg[1] : "");
    if (n == 2 && !strcmp(arg[1], "list"))
        return vnet_list();
    if (n == 5 && !strcmp(arg[1], "arp")) {
        struct netdev *d = netdev_find(arg[2]);
        if (!d) {
            svc_out("vnet: no device %s\n", arg[2]);
            return 1;
        }
        if (d->rx) {
            svc_out("vnet: %s is in use (a bridge uplink)\n", arg[2]);
            return 1;
        }
        return vnet_arp(d, arg[3], arg[4]);
    }
    svc_out("usage: vnet list | vnet arp DEV MY_IP TARGET_IP\n");
    return 2;
}
