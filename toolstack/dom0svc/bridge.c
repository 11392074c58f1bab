/*
 * bridge.c - dom0's named bridges and their ports (see brsvc.h), on the
 * pure forwarding logic of guest-drivers/net/fdb.c.
 * Owns: the bridge table, each bridge's FDB array, the egress buffer.
 * Must never: read a clock or call the hypervisor (callers pass the time
 * and do the I/O in their deliver callbacks), send a frame back to its
 * ingress port, or keep a pointer to a frame after a call returns.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include "brsvc.h"

struct brsvc_port {
    brsvc_deliver_t deliver;
    void *opaque;
};

static struct brsvc {
    int used;
    char name[BRSVC_NAME_MAX];
    struct bridge br;
    struct br_fdb_entry fdb[BRSVC_FDB_SIZE];
    struct brsvc_port port[BR_MAX_PORTS];
} bridges[BRSVC_MAX_BRIDGES];

static struct brsvc_stats stats;
static uint8_t egress_buf[BRSVC_FRAME_MAX];

void brsvc_reset(void)
{
    memset(bridges, 0, sizeof(bridges));
    memset(&stats, 0, sizeof(stats));
}

const struct brsvc_stats *brsvc_stats(void)
{
    return &stats;
}

static struct brsvc *bridge_get(const char *name)
{
    size_t n = strlen(name);
    if (!n || n >= BRSVC_NAME_MAX)
        return NULL;
    struct brsvc *free_ = NULL;
    for (unsigned i = 0; i < BRSVC_MAX_BRIDGES; i++) {
        if (bridges[i].used && !strcmp(bridges[i].name, name))
            return &bridges[i];
        if (!bridges[i].used && !free_)
            free_ = &bridges[i];
    }
    if (!free_)
        return NULL;
    memset(free_, 0, sizeof(*free_));
    free_->used = 1;
    memcpy(free_->name, name, n + 1);
    br_init(&free_->br, free_->fdb, BRSVC_FDB_SIZE);
    return free_;
}

/* handle = bridge index * BR_MAX_PORTS + port */
static struct brsvc *from_handle(int h, unsigned *port)
{
    if (h < 0 || h >= BRSVC_MAX_BRIDGES * BR_MAX_PORTS)
        return NULL;
    struct brsvc *b = &bridges[h / BR_MAX_PORTS];
    *port = (unsigned)h % BR_MAX_PORTS;
    if (!b->used || !b->br.port[*port].used)
        return NULL;
    return b;
}

/* vids NULL (a trunk): every VLAN tagged. */
static int attach(const char *bridge, const char *port_name, enum br_port_mode mode,
                  uint16_t pvid, const uint16_t *vids, unsigned nvids,
                  brsvc_deliver_t deliver, void *opaque)
{
    if (!deliver || (mode == BR_PORT_ACCESS && (pvid < 1 || pvid > VLAN_VID_MAX)) ||
        pvid > VLAN_VID_MAX)
        return -XEN_EINVAL;
    for (unsigned i = 0; vids && i < nvids; i++)
        if (vids[i] < 1 || vids[i] > VLAN_VID_MAX)
            return -XEN_EINVAL;
    struct brsvc *b = bridge_get(bridge);
    if (!b)
        return strlen(bridge) && strlen(bridge) < BRSVC_NAME_MAX ? -XEN_ENOSPC : -XEN_EINVAL;
    for (unsigned p = 0; p < BR_MAX_PORTS; p++) {
        if (b->br.port[p].used)
            continue;
        int rc = br_port_add(&b->br, p, port_name, mode, pvid);
        if (!rc && mode == BR_PORT_TRUNK && !vids)
            for (uint16_t vid = 1; !rc && vid <= VLAN_VID_MAX; vid++)
                rc = br_trunk_allow(&b->br, p, vid, true);
        for (unsigned i = 0; !rc && mode == BR_PORT_TRUNK && vids && i < nvids; i++)
            rc = br_trunk_allow(&b->br, p, vids[i], true);
        if (!rc)
            rc = br_port_set_up(&b->br, p, true);
        if (rc) {
            br_port_del(&b->br, p);
            return rc;
        }
        b->port[p] = (struct brsvc_port){ deliver, opaque };
        return (int)((unsigned)(b - bridges) * BR_MAX_PORTS + p);
    }
    return -XEN_ENOSPC;
}

int brsvc_port_attach(const char *bridge, const char *port_name, uint16_t vlan,
                      brsvc_deliver_t deliver, void *opaque)
{
    return attach(bridge, port_name, BR_PORT_ACCESS, vlan, NULL, 0, deliver, opaque);
}

int brsvc_trunk_attach(const char *bridge, const char *port_name, uint16_t native,
                       const uint16_t *vids, unsigned n, brsvc_deliver_t deliver, void *opaque)
{
    if (!vids || !n)
        return -XEN_EINVAL;
    return attach(bridge, port_name, BR_PORT_TRUNK, native, vids, n, deliver, opaque);
}

int brsvc_uplink_attach(const char *bridge, const char *port_name, brsvc_deliver_t deliver,
                        void *opaque)
{
    return attach(bridge, port_name, BR_PORT_TRUNK, 1, NULL, 0, deliver, opaque);
}

int brsvc_port_pin_mac(int handle, const uint8_t mac[6])
{
    unsigned p;
    struct brsvc *b = from_handle(handle, &p);
    if (!b)
        return -XEN_EINVAL;
    return br_fdb_add_static(&b->br, b->br.port[p].pvid, mac, p);
}

void brsvc_port_detach(int handle)
{
    unsigned p;
    struct brsvc *b = from_handle(handle, &p);
    if (!b)
        return;
    br_port_del(&b->br, p);
    b->port[p] = (struct brsvc_port){ 0 };
}

unsigned brsvc_input(int handle, const uint8_t *frame, size_t len, uint64_t now_ms)
{
    unsigned in_port, sent = 0;
    struct brsvc *b = from_handle(handle, &in_port);
    struct br_fwd f;
    stats.in++;
    if (!b || br_input(&b->br, in_port, frame, len, now_ms, &f) != BR_FORWARD) {
        stats.dropped++;
        return 0;
    }
    if (f.flooded)
        stats.flooded++;
    else
        stats.forwarded++;
    for (unsigned p = 0; p < BR_MAX_PORTS; p++) {
        if (!(f.out_ports & (1u << p)) || !b->port[p].deliver)
            continue;
        int n = br_egress(&f, p, frame, len, egress_buf, sizeof(egress_buf));
        if (n < 0)
            continue;
        b->port[p].deliver(b->port[p].opaque, egress_buf, (size_t)n);
        sent++;
    }
    return sent;
}

unsigned brsvc_age(uint64_t now_ms)
{
    unsigned n = 0;
    for (unsigned i = 0; i < BRSVC_MAX_BRIDGES; i++)
        if (bridges[i].used)
            n += br_fdb_age(&bridges[i].br, now_ms);
    return n;
}

struct sink {
    char *buf;
    size_t size, len;
};

static void put(struct sink *s, const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++, s->len++)
        if (s->len + 1 < s->size)
            s->buf[s->len] = text[i];
}

size_t brsvc_show(char *buf, size_t size, uint64_t now_ms)
{
    struct sink s = { buf, size, 0 };
    char line[128];
    for (unsigned i = 0; i < BRSVC_MAX_BRIDGES; i++) {
        const struct brsvc *b = &bridges[i];
        if (!b->used)
            continue;
        int n = xl_snprintf(line, sizeof(line), "bridge %s\n", b->name);
        put(&s, line, (size_t)n);
        for (unsigned p = 0; p < BR_MAX_PORTS; p++) {
            const struct br_port *bp = &b->br.port[p];
            if (!bp->used)
                continue;
            n = xl_snprintf(line, sizeof(line), "  port %-15s %-6s vlan %u%s\n", bp->name,
                            bp->mode == BR_PORT_ACCESS ? "access" : "trunk", bp->pvid,
                            bp->up ? "" : " down");
            put(&s, line, (size_t)n);
        }
        /* The FDB listing, measured first, then written where it fits. */
        size_t room = s.len < s.size ? s.size - s.len : 0;
        size_t m = br_fdb_format(&b->br, now_ms, room ? s.buf + s.len : line, room ? room : 1);
        s.len += m;
    }
    if (s.size)
        s.buf[s.len < s.size ? s.len : s.size - 1] = '\0';
    return s.len;
}
