/*
 * fdb.c - dom0's software bridge: ports and their VLAN modes, the
 * forwarding database (learning, ageing, bounded table with LRU
 * replacement, static entries), the per-frame decision (classify,
 * learn, look up or flood, tag or untag per egress port), and the FDB
 * listing for the dom0 CLI.
 * Pure: no clock (time is an argument), no inline assembly, no libc, no
 * allocation (the table is the caller's); host unit tests link it
 * (tests/unit/bridge.mk).
 * Owns: its ports and the FDB table it was given. Must never: send a
 * frame back out of its ingress port, into a VLAN the egress port is not
 * a member of, take a second tag (or an S-tag) from an access port, or
 * learn from an invalid source address.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/bridge.h>

static const char *const why_names[] = {
    [BR_FORWARD] = "forward", [BR_DROP_RUNT] = "runt", [BR_DROP_PORT] = "port down",
    [BR_DROP_BAD_SRC] = "bad source", [BR_DROP_LINK_LOCAL] = "link-local",
    [BR_DROP_VLAN] = "vlan", [BR_DROP_SAME_PORT] = "same port",
    [BR_DROP_NO_MEMBERS] = "no members",
};

const char *br_why_str(enum br_why why)
{
    if ((unsigned)why < ARRAY_SIZE(why_names) && why_names[why])
        return why_names[why];
    return "?";
}

static bool vid_ok(uint16_t vid)
{
    return vid >= 1 && vid <= VLAN_VID_MAX;
}

void br_init(struct bridge *br, struct br_fdb_entry *table, uint32_t cap)
{
    memset(br, 0, sizeof(*br));
    br->fdb = table;
    br->fdb_cap = table ? cap : 0;
    br->ageing_ms = BR_AGEING_DEFAULT_MS;
    if (table)
        memset(table, 0, (size_t)cap * sizeof(*table));
}

static struct br_port *port_get(struct bridge *br, unsigned port)
{
    return port < BR_MAX_PORTS && br->port[port].used ? &br->port[port] : NULL;
}

int br_port_add(struct bridge *br, unsigned port, const char *name, enum br_port_mode mode,
                uint16_t pvid)
{
    if (port >= BR_MAX_PORTS || !name || !name[0] || strlen(name) >= BR_PORT_NAME)
        return -XEN_EINVAL;
    if (mode == BR_PORT_ACCESS ? !vid_ok(pvid) : (mode != BR_PORT_TRUNK || (pvid && !vid_ok(pvid))))
        return -XEN_EINVAL;
    struct br_port *p = &br->port[port];
    if (p->used)
        return -XEN_EEXIST;
    memset(p, 0, sizeof(*p));
    p->used = true;
    p->up = true;
    p->mode = mode;
    p->pvid = pvid;
    memcpy(p->name, name, strlen(name) + 1);
    return 0;
}

int br_port_del(struct bridge *br, unsigned port)
{
    struct br_port *p = port_get(br, port);
    if (!p)
        return -XEN_ENOENT;
    br_fdb_flush_port(br, port);
    memset(p, 0, sizeof(*p));
    return 0;
}

int br_port_set_up(struct bridge *br, unsigned port, bool up)
{
    struct br_port *p = port_get(br, port);
    if (!p)
        return -XEN_ENOENT;
    p->up = up;
    if (!up)
        br_fdb_flush_port(br, port);
    return 0;
}

int br_trunk_allow(struct bridge *br, unsigned port, uint16_t vid, bool allow)
{
    struct br_port *p = port_get(br, port);
    if (!p)
        return -XEN_ENOENT;
    if (p->mode != BR_PORT_TRUNK || !vid_ok(vid))
        return -XEN_EINVAL;
    if (allow)
        p->allowed[vid / 8] |= (uint8_t)(1u << (vid % 8));
    else
        p->allowed[vid / 8] &= (uint8_t)~(1u << (vid % 8));
    return 0;
}

bool br_port_member(const struct bridge *br, unsigned port, uint16_t vid)
{
    if (port >= BR_MAX_PORTS || !br->port[port].used || !vid_ok(vid))
        return false;
    const struct br_port *p = &br->port[port];
    if (p->pvid == vid)
        return true;
    return p->mode == BR_PORT_TRUNK && (p->allowed[vid / 8] & (1u << (vid % 8)));
}

/* ---- FDB ---- */

static bool aged(const struct bridge *br, const struct br_fdb_entry *e, uint64_t now)
{
    if (e->flags & BR_FDB_STATIC)
        return false;
    return now > e->seen_ms && now - e->seen_ms >= br->ageing_ms;
}

static struct br_fdb_entry *find(const struct bridge *br, uint16_t vid, const uint8_t *mac)
{
    for (uint32_t i = 0; i < br->fdb_cap; i++) {
        struct br_fdb_entry *e = &br->fdb[i];
        if ((e->flags & BR_FDB_USED) && e->vid == vid && memcmp(e->mac, mac, ETH_ALEN) == 0)
            return e;
    }
    return NULL;
}

static void drop_entry(struct bridge *br, struct br_fdb_entry *e)
{
    memset(e, 0, sizeof(*e));
    br->fdb_count--;
}

/* A slot for a new address: a free one, an aged one, or the dynamic one
 * seen longest ago. NULL when only static entries remain. */
static struct br_fdb_entry *slot_for_new(struct bridge *br, uint64_t now)
{
    struct br_fdb_entry *lru = NULL;
    for (uint32_t i = 0; i < br->fdb_cap; i++) {
        struct br_fdb_entry *e = &br->fdb[i];
        if (!(e->flags & BR_FDB_USED))
            return e;
    }
    for (uint32_t i = 0; i < br->fdb_cap; i++) {
        struct br_fdb_entry *e = &br->fdb[i];
        if (aged(br, e, now)) {
            br->stats.aged++;
            drop_entry(br, e);
            return e;
        }
        if (!(e->flags & BR_FDB_STATIC) && (!lru || e->seen_ms < lru->seen_ms))
            lru = e;
    }
    if (lru) {
        br->stats.replaced++;
        drop_entry(br, lru);
    }
    return lru;
}

static int fdb_insert(struct bridge *br, uint16_t vid, const uint8_t *mac, unsigned port,
                      uint64_t now, uint8_t flags)
{
    struct br_fdb_entry *e = slot_for_new(br, now);
    if (!e) {
        br->stats.learn_dropped++;
        return -XEN_ENOSPC;
    }
    memcpy(e->mac, mac, ETH_ALEN);
    e->vid = vid;
    e->port = (uint8_t)port;
    e->flags = BR_FDB_USED | flags;
    e->seen_ms = now;
    br->fdb_count++;
    return 0;
}

int br_fdb_learn(struct bridge *br, uint16_t vid, const uint8_t *mac, unsigned port, uint64_t now)
{
    if (!vid_ok(vid) || port >= BR_MAX_PORTS || eth_is_multicast(mac) || eth_is_zero(mac))
        return -XEN_EINVAL;
    struct br_fdb_entry *e = find(br, vid, mac);
    if (e) {
        if (e->flags & BR_FDB_STATIC)
            return 0;                    /* pinned: a spoofer cannot move it */
        if (e->port != port) {
            e->port = (uint8_t)port;
            br->stats.moved++;
        }
        e->seen_ms = now;
        return 0;
    }
    int rc = fdb_insert(br, vid, mac, port, now, 0);
    if (rc == 0)
        br->stats.learned++;
    return rc;
}

int br_fdb_add_static(struct bridge *br, uint16_t vid, const uint8_t *mac, unsigned port)
{
    if (!vid_ok(vid) || !port_get(br, port) || eth_is_multicast(mac) || eth_is_zero(mac))
        return -XEN_EINVAL;
    struct br_fdb_entry *e = find(br, vid, mac);
    if (e)
        drop_entry(br, e);
    return fdb_insert(br, vid, mac, port, 0, BR_FDB_STATIC);
}

int br_fdb_lookup(const struct bridge *br, uint16_t vid, const uint8_t *mac, uint64_t now)
{
    const struct br_fdb_entry *e = find(br, vid, mac);
    if (!e || aged(br, e, now))
        return -XEN_ENOENT;
    return e->port;
}

unsigned br_fdb_age(struct bridge *br, uint64_t now)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < br->fdb_cap; i++) {
        if ((br->fdb[i].flags & BR_FDB_USED) && aged(br, &br->fdb[i], now)) {
            drop_entry(br, &br->fdb[i]);
            n++;
        }
    }
    br->stats.aged += n;
    return n;
}

unsigned br_fdb_flush_port(struct bridge *br, unsigned port)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < br->fdb_cap; i++) {
        if ((br->fdb[i].flags & BR_FDB_USED) && br->fdb[i].port == port) {
            drop_entry(br, &br->fdb[i]);
            n++;
        }
    }
    return n;
}

/* ---- forwarding ---- */

static enum br_why decide(struct br_fwd *f, enum br_why why)
{
    f->why = why;
    if (why != BR_FORWARD)
        f->out_ports = f->tagged_ports = 0;
    return why;
}

/* The VLAN of a frame arriving on p, or 0 when p may not carry it. */
static uint16_t classify(const struct br_port *p, const struct eth_info *e)
{
    bool untagged = !e->tagged || e->vid == 0;   /* priority tags count as untagged */
    if (untagged)
        return p->pvid;                          /* 0 on a trunk without native VLAN */
    if (p->mode != BR_PORT_TRUNK || e->vid > VLAN_VID_MAX || e->vid == p->pvid)
        return 0;                                /* the native VLAN travels untagged */
    return (p->allowed[e->vid / 8] & (1u << (e->vid % 8))) ? e->vid : 0;
}

enum br_why br_input(struct bridge *br, unsigned in_port, const uint8_t *frame, size_t len,
                     uint64_t now, struct br_fwd *f)
{
    memset(f, 0, sizeof(*f));
    struct br_port *in = port_get(br, in_port);
    if (!in || !in->up)
        return decide(f, BR_DROP_PORT);
    if (eth_parse(frame, len, &f->eth) != 0)
        return decide(f, BR_DROP_RUNT);
    const struct eth_info *e = &f->eth;
    if (eth_is_multicast(e->src) || eth_is_zero(e->src))
        return decide(f, BR_DROP_BAD_SRC);
    if (eth_is_link_local(e->dst))
        return decide(f, BR_DROP_LINK_LOCAL);
    uint16_t vid = classify(in, e);
    if (!vid)
        return decide(f, BR_DROP_VLAN);
    /* A second tag behind the one classified (or an S-tag) from an
     * access port: untagged on the way out it would be the only tag left
     * on a trunk's native VLAN, a hop into any VLAN past the uplink. */
    if (in->mode == BR_PORT_ACCESS &&
        (e->ethertype == ETH_P_8021Q || e->ethertype == ETH_P_8021AD))
        return decide(f, BR_DROP_VLAN);
    f->vid = vid;
    f->tci = (uint16_t)((e->tci & 0xf000) | vid);   /* keep PCP and DEI */

    br_fdb_learn(br, vid, e->src, in_port, now);    /* a full static table just floods */

    uint32_t members = 0;
    for (unsigned i = 0; i < BR_MAX_PORTS; i++)
        if (i != in_port && br->port[i].up && br_port_member(br, i, vid))
            members |= 1u << i;

    int dst = eth_is_multicast(e->dst) ? -XEN_ENOENT : br_fdb_lookup(br, vid, e->dst, now);
    if (dst == (int)in_port)
        return decide(f, BR_DROP_SAME_PORT);
    if (dst >= 0) {
        f->out_ports = members & (1u << dst);
    } else {
        f->flooded = true;
        f->out_ports = members;
    }
    if (!f->out_ports)
        return decide(f, BR_DROP_NO_MEMBERS);
    for (unsigned i = 0; i < BR_MAX_PORTS; i++)
        if ((f->out_ports & (1u << i)) && br->port[i].mode == BR_PORT_TRUNK && br->port[i].pvid != vid)
            f->tagged_ports |= 1u << i;
    return decide(f, BR_FORWARD);
}

int br_egress(const struct br_fwd *f, unsigned port, const uint8_t *frame, size_t len,
              uint8_t *out, size_t cap)
{
    if (f->why != BR_FORWARD || port >= BR_MAX_PORTS || !(f->out_ports & (1u << port)))
        return -XEN_EINVAL;
    return eth_retag(frame, len, &f->eth, (f->tagged_ports >> port) & 1, f->tci, out, cap);
}

/* ---- listing ---- */

struct out {
    char *buf;
    size_t size, len;
};

static void emit(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->size)
            o->buf[o->len] = s[i];
}

/* Order: port, VLAN, MAC. */
static int cmp(const struct br_fdb_entry *a, const struct br_fdb_entry *b)
{
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    if (a->vid != b->vid)
        return a->vid < b->vid ? -1 : 1;
    return memcmp(a->mac, b->mac, ETH_ALEN);
}

size_t br_fdb_format(const struct bridge *br, uint64_t now, char *buf, size_t size)
{
    struct out o = { buf, size, 0 };
    char line[96];
    int n = xl_snprintf(line, sizeof(line), "%-15s %5s  %-17s  %s\n", "port", "vlan", "mac", "age");
    emit(&o, line, (size_t)n);
    /* Selection by "next larger key": O(n^2), no memory, n is the table. */
    const struct br_fdb_entry *prev = NULL;
    for (;;) {
        const struct br_fdb_entry *best = NULL;
        for (uint32_t i = 0; i < br->fdb_cap; i++) {
            const struct br_fdb_entry *e = &br->fdb[i];
            if (!(e->flags & BR_FDB_USED) || aged(br, e, now))
                continue;
            if (prev && cmp(e, prev) <= 0)
                continue;
            if (!best || cmp(e, best) < 0)
                best = e;
        }
        if (!best)
            break;
        char mac[18], age[24];
        eth_format_mac(mac, best->mac);
        if (best->flags & BR_FDB_STATIC)
            xl_snprintf(age, sizeof(age), "static");
        else
            xl_snprintf(age, sizeof(age), "%llu",
                        (unsigned long long)(now > best->seen_ms ? (now - best->seen_ms) / 1000 : 0));
        const char *name = best->port < BR_MAX_PORTS && br->port[best->port].used
                               ? br->port[best->port].name : "?";
        n = xl_snprintf(line, sizeof(line), "%-15s %5u  %s  %s\n", name, (unsigned)best->vid, mac, age);
        emit(&o, line, (size_t)n);
        prev = best;
    }
    if (o.size)
        o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
    return o.len;
}
