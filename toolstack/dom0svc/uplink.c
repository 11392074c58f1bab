/*
 * uplink.c - dom0's NICs (xlguest/netdev.h, e.g. eth0 from virtio-net) as
 * uplink ports of its bridges: `bridge addif BR DEV [trunk=V,V,...]`,
 * `bridge delif BR DEV` on the control line, and the dom0 cmdline default
 * `bridge=BR:DEV`. Frames the NIC receives go to brsvc_input on the port;
 * frames the bridge sends the port are copied into one of our pages and
 * queued with netdev_tx (dropped, counted, when none is free or the NIC
 * is busy: the bridge never waits).
 * Owns: the uplink table and its transmit pages. Must never: trust a
 * received frame (the bridge judges it, as a guest's), hand the NIC a
 * page whose transmit has not completed, or keep a NIC's rx callback
 * pointing at a port that is gone.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/kernel.h>
#include <xlguest/netdev.h>
#include <xlguest/pages.h>
#include <xlguest/time.h>
#include "svc.h"
#include "brsvc.h"

#define UPLINKS_MAX  2
#define UPLINK_TXBUF 32         /* frames in flight to the NIC, one page each */
#define TRUNK_VIDS   32         /* VLANs listed in trunk= */

struct uplink_buf {
    struct netdev_tx t;
    uint8_t *page;
    int busy;
};

static struct uplink {
    struct netdev *dev;         /* NULL: free */
    int port;                   /* bridge handle */
    char bridge[BRSVC_NAME_MAX];
    struct uplink_buf buf[UPLINK_TXBUF];
    uint64_t tx_dropped;
} uplinks[UPLINKS_MAX];

static uint64_t now_ms(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time) / 1000000;
}

static void tx_done(struct netdev_tx *t, int status)
{
    (void)status;       /* a failed transmit is a lost frame, as on a wire */
    ((struct uplink_buf *)t->priv)->busy = 0;
}

/* The bridge sends a frame out of the uplink port. */
static void uplink_deliver(void *opaque, const uint8_t *frame, size_t len)
{
    struct uplink *u = opaque;
    struct uplink_buf *b = NULL;
    for (unsigned i = 0; i < UPLINK_TXBUF && !b; i++)
        if (!u->buf[i].busy && u->buf[i].page)
            b = &u->buf[i];
    if (!b || len < NETDEV_MIN_FRAME || len > NETDEV_MAX_FRAME) {
        u->tx_dropped++;    /* no page free, or a frame the NIC cannot carry */
        return;
    }
    memcpy(b->page, frame, len);
    b->t = (struct netdev_tx){ .nr_segs = 1,
                               .seg = { { virt_to_mfn(b->page) << 12, (uint32_t)len } },
                               .done = tx_done, .priv = b };
    if (netdev_tx(u->dev, &b->t))
        u->tx_dropped++;
    else
        b->busy = 1;
}

/* The NIC received a frame: into the bridge, judged there like a vif's. */
static void uplink_rx(struct netdev *d, const uint8_t *frame, uint32_t len, void *opaque)
{
    (void)d;
    struct uplink *u = opaque;
    brsvc_input(u->port, frame, len, now_ms());
}

static struct uplink *find(const char *bridge, const char *dev)
{
    for (unsigned i = 0; i < UPLINKS_MAX; i++)
        if (uplinks[i].dev && !strcmp(uplinks[i].bridge, bridge) &&
            !strcmp(uplinks[i].dev->info.name, dev))
            return &uplinks[i];
    return NULL;
}

/* "trunk=10,20": 0 and the list, or -XEN_EINVAL. */
static int parse_trunk(const char *s, uint16_t *vids, unsigned *n)
{
    if (strncmp(s, "trunk=", 6))
        return -XEN_EINVAL;
    s += 6;
    for (*n = 0; *n < TRUNK_VIDS;) {
        unsigned v = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 5; s++, digits++)
            v = v * 10 + (unsigned)(*s - '0');
        if (!digits || v < 1 || v > 4094)
            return -XEN_EINVAL;
        vids[(*n)++] = (uint16_t)v;
        if (!*s)
            return 0;
        if (*s++ != ',')
            return -XEN_EINVAL;
    }
    return -XEN_EINVAL;
}

int uplink_add(const char *bridge, const char *dev_name, const char *mode)
{
    uint16_t vids[TRUNK_VIDS];
    unsigned n = 0;
    struct netdev *d = netdev_find(dev_name);
    struct uplink *u = NULL;
    if (!d)
        return -XEN_ENODEV;
    if (mode && parse_trunk(mode, vids, &n))
        return -XEN_EINVAL;
    for (unsigned i = 0; i < UPLINKS_MAX; i++) {
        if (uplinks[i].dev == d)
            return -XEN_EBUSY;  /* a NIC is on one bridge at a time */
        if (!uplinks[i].dev && !u)
            u = &uplinks[i];
    }
    if (!u || d->rx)
        return u ? -XEN_EBUSY : -XEN_ENOSPC;
    for (unsigned i = 0; i < UPLINK_TXBUF; i++)
        if (!u->buf[i].page && !(u->buf[i].page = pages_alloc(1)))
            return -XEN_ENOMEM;     /* pages kept for the next try */
    int h = mode ? brsvc_trunk_attach(bridge, dev_name, 1, vids, n, uplink_deliver, u)
                 : brsvc_port_attach(bridge, dev_name, 1, uplink_deliver, u);
    if (h < 0)
        return h;
    u->dev = d;
    u->port = h;
    u->tx_dropped = 0;
    xl_snprintf(u->bridge, sizeof(u->bridge), "%s", bridge);
    netdev_set_rx(d, uplink_rx, u);
    printk("dom0: %s: uplink of bridge %s, %s\n", dev_name, bridge,
           mode ? mode : "access vlan 1");
    return 0;
}

int uplink_del(const char *bridge, const char *dev_name)
{
    struct uplink *u = find(bridge, dev_name);
    if (!u)
        return -XEN_ENOENT;
    netdev_set_rx(u->dev, NULL, NULL);
    brsvc_port_detach(u->port);
    /* Pages still in flight stay busy (and ours) until their completion. */
    printk("dom0: %s: off bridge %s (%lu frames dropped for no tx page)\n", dev_name, bridge,
           (unsigned long)u->tx_dropped);
    u->dev = NULL;
    return 0;
}

void uplink_boot(const start_info_t *si)
{
    char v[40];
    if (!cmdline_get(si, "bridge", v, sizeof(v)) || !v[0])
        return;
    char *dev = v;
    while (*dev && *dev != ':')
        dev++;
    int rc = -XEN_EINVAL;
    if (*dev) {
        *dev++ = '\0';
        rc = uplink_add(v, dev, NULL);
    }
    if (rc)
        printk("dom0: cmdline bridge=BR:DEV not applied: %d\n", rc);
}

int uplink_run_line(char *line)
{
    char *arg[6];
    unsigned int n = svc_split_args(line, arg, 6);
    int rc;
    if ((n == 4 || n == 5) && !strcmp(arg[1], "addif"))
        rc = uplink_add(arg[2], arg[3], n == 5 ? arg[4] : NULL);
    else if (n == 4 && !strcmp(arg[1], "delif"))
        rc = uplink_del(arg[2], arg[3]);
    else {
        static const char usage[] =
            "usage: bridge show | bridge addif BR DEV [trunk=V,...] | bridge delif BR DEV\n";
        ctl_write(usage, sizeof(usage) - 1);
        return 2;
    }
    char t[96];
    int m = rc ? xl_snprintf(t, sizeof(t), "bridge: %s %s %s: error %d\n", arg[1], arg[2],
                             arg[3], rc)
               : xl_snprintf(t, sizeof(t), "bridge: %s %s %s: done\n", arg[1], arg[2], arg[3]);
    ctl_write(t, (size_t)m < sizeof(t) ? (size_t)m : sizeof(t) - 1);
    return rc ? 1 : 0;
}
