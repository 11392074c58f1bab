/*
 * netback.c - dom0's netif back end (xen/io/netif.h), the protocol of
 * Linux's xen-netback with libxl's xenstore layout: backend
 * /local/domain/0/backend/vif/D/N, frontend /local/domain/D/device/vif/N.
 * States by xbfsm_step (polled: dom0 sets no xenstore watches). TX: the
 * requests of one packet are gathered (extra-info slots answered with
 * NETIF_RSP_NULL), checked (nb_tx_check: the one place netif_req.c's
 * judge goes), copied out with GNTTABOP_copy into a dom0 buffer, answered
 * and handed to the vif's bridge port. RX: a frame the bridge delivers is
 * grant-copied into the pages of posted rx requests (request-rx-copy), or
 * dropped and counted when none is posted.
 * Owns: the vif table, the two shared rings of each vif (mapped while
 * connected, nothing else of a guest's is ever mapped), its event
 * channel, its bridge port. Must never: read a request from shared
 * memory twice, trust an index, size, offset or grant of the front end,
 * let one vif's misbehaviour (a producer jump: disconnect) touch another,
 * or keep a ring mapped once its front end or domain is gone.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/grant_table.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>
#include <xlguest/backring.h>
#include <xlguest/eth.h>
#include <xlguest/gnttab.h>
#include <xlguest/netif_req.h>
#include <xlguest/kernel.h>
#include <xlguest/xbfsm.h>
#include "svc.h"
#include "brsvc.h"
#include "netback.h"
#include "../xl/xlvif.h"

#define NB_MAX_VIFS   16
#define NB_RXQ        256                      /* an rx ring of one page */
#define NB_TX_TAKE    (NETIF_TX_SLOTS_MAX * 4) /* tx requests taken at a time */
#define NB_FRAME_MAX  XEN_NETIF_MAX_TX_SIZE    /* 65535 */
#define NB_PAGE       4096u
#define NB_TX_BUDGET  64                       /* packets per vif per pass */
#define NB_STATE_POLL_MS 20

struct vif {
    int used;
    uint16_t domid, devid;
    char be[64], fe[64], name[16];
    int port;                       /* bridge handle, -1: none */
    uint32_t state;                 /* ours, as last written */
    bool online, have_info, info_bad, mapped, io;
    uint64_t next_poll_ms;
    uint32_t tx_ref, rx_ref, remote_port, evtchn;
    grant_handle_t tx_h, rx_h;
    struct backring tx, rx;
    struct netif_cfg cfg;           /* what netif_req judges against */
    /* tx requests taken and not yet judged (a packet not fully pushed) */
    struct netif_tx_request slot[NB_TX_TAKE];
    unsigned nslots;
    /* rx requests taken and not yet used */
    struct netif_rx_request rxq[NB_RXQ];
    unsigned nrxq;
    bool notify;
    struct {
        uint64_t tx_pkts, tx_bytes, tx_err, tx_csum, rx_pkts, rx_bytes, rx_nobuf, rx_err;
    } st;
};

static struct vif vifs[NB_MAX_VIFS];
static uint8_t ring_win[NB_MAX_VIFS][2][NB_PAGE] __attribute__((aligned(4096)));
static uint8_t tx_buf[NB_FRAME_MAX + 1] __attribute__((aligned(4096)));
static struct gnttab_copy copy_ops[NETIF_RX_CHUNKS_MAX + 2 * NETIF_TX_FRAGS_MAX];

static void fence_mb(void *o) { (void)o; __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static void fence_c(void *o) { (void)o; __asm__ volatile("" ::: "memory"); }
static const struct xl_barriers fences = { .mb = fence_mb, .rmb = fence_c, .wmb = fence_c };

/* ---- xenstore ---- */

static int rd(const char *dir, const char *node, char *buf, size_t len)
{
    char p[128];
    xl_snprintf(p, sizeof(p), "%s/%s", dir, node);
    return xsd_read(p, buf, len);
}

static int wr(const char *dir, const char *node, const char *val)
{
    char p[128];
    xl_snprintf(p, sizeof(p), "%s/%s", dir, node);
    return xsd_write(p, val);
}

/* A decimal below limit. */
static int rd_u32(const char *dir, const char *node, uint32_t limit, uint32_t *out)
{
    char b[24];
    if (rd(dir, node, b, sizeof(b)))
        return -XEN_ENOENT;
    uint64_t v = 0;
    if (!b[0])
        return -XEN_EINVAL;
    for (const char *p = b; *p; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (uint64_t)(*p - '0')) >= limit)
            return -XEN_EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

static void set_state(struct vif *v, uint32_t s)
{
    char b[4];
    xl_snprintf(b, sizeof(b), "%u", s);
    if (s != v->state)
        printk("dom0: %s: backend %s -> %s\n", v->name, xbfsm_state_name(v->state),
               xbfsm_state_name(s));
    v->state = s;
    wr(v->be, "state", b);
}

/* ---- tx: front end -> bridge ---- */

/* Internet checksum of a region, folded (not inverted). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* NETTXF_csum_blank: the front end left the TCP/UDP checksum of an IPv4
 * packet for us (Linux's CHECKSUM_PARTIAL); fill it in, as xen-netback
 * does before the frame goes anywhere. Anything else is left as it is. */
static void fill_csum(uint8_t *f, size_t len)
{
    struct eth_info e;
    if (eth_parse(f, len, &e) || e.ethertype != 0x0800 || len < e.hdr_len + 20)
        return;
    uint8_t *ip = f + e.hdr_len;
    size_t ihl = (size_t)(ip[0] & 15) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);
    if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || e.hdr_len + tot > len ||
        (ip[6] & 0x3f) || ip[7])
        return;                                 /* not IPv4, or a fragment */
    uint8_t proto = ip[9];
    size_t l4 = tot - ihl, off = proto == 6 ? 16 : proto == 17 ? 6 : 0;
    if (!off || l4 < off + 2)
        return;
    uint8_t *t = ip + ihl;
    t[off] = t[off + 1] = 0;
    uint8_t ph[12];
    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = proto;
    ph[10] = (uint8_t)(l4 >> 8);
    ph[11] = (uint8_t)l4;
    uint32_t s = csum_add(csum_add(0, ph, sizeof(ph)), t, l4);
    uint16_t c = (uint16_t)~s;
    if (proto == 17 && !c)
        c = 0xffff;
    t[off] = (uint8_t)(c >> 8);
    t[off + 1] = (uint8_t)c;
}

/* Add the copy of [off, off+len) of grant ref into tx_buf at pos, split
 * at dom0's page boundaries. Returns the number of ops added. */
static unsigned add_copy_in(struct vif *v, unsigned k, grant_ref_t ref, uint16_t off, size_t len,
                            size_t pos)
{
    unsigned n = 0;
    while (len) {
        size_t room = NB_PAGE - ((uintptr_t)(tx_buf + pos) & (NB_PAGE - 1));
        size_t c = len < room ? len : room;
        struct gnttab_copy *op = &copy_ops[k + n++];
        *op = (struct gnttab_copy){
            .source = { .u.ref = ref, .domid = v->domid, .offset = off },
            .dest = { .u.gmfn = virt_to_mfn(tx_buf + pos), .domid = DOMID_SELF,
                      .offset = (uint16_t)((uintptr_t)(tx_buf + pos) & (NB_PAGE - 1)) },
            .len = (uint16_t)c, .flags = GNTCOPY_source_gref,
        };
        len -= c;
        pos += c;
        off = (uint16_t)(off + c);
    }
    return n;
}

static void vif_disconnect(struct vif *v, const char *why);

/* One judged packet: copy it out (if OKAY), answer every slot, forward. */
static void tx_packet(struct vif *v, struct netif_tx_pkt *pkt, int st, uint64_t now_ms)
{
    if (st == NETIF_RSP_OKAY && !pkt->mcast_op) {
        unsigned k = 0;
        size_t pos = 0;
        for (unsigned i = 0; i < pkt->nr_frags; i++) {
            k += add_copy_in(v, k, pkt->frag[i].gref, pkt->frag[i].offset, pkt->frag[i].len, pos);
            pos += pkt->frag[i].len;
        }
        long rc = gnttab_copy(copy_ops, k);
        for (unsigned i = 0; i < k && !rc; i++)
            if (copy_ops[i].status != GNTST_okay)
                rc = -XEN_EFAULT;      /* a bad grant ref, or outside its grant */
        if (rc)
            st = NETIF_RSP_ERROR;
    }
    struct netif_tx_response rsp[NETIF_TX_SLOTS_MAX];
    int n = netif_tx_responses(pkt, (int16_t)st, rsp, NETIF_TX_SLOTS_MAX);
    for (int i = 0; i < n; i++)
        backring_respond(&v->tx, &rsp[i], sizeof(rsp[i]));
    v->notify |= backring_push(&v->tx);
    if (st != NETIF_RSP_OKAY) {
        v->st.tx_err++;
        if (v->st.tx_err <= 5 || !(v->st.tx_err & (v->st.tx_err - 1)))
            printk("dom0: %s: tx packet refused: %s (%lu so far)\n", v->name,
                   pkt->why ? netif_why_str(pkt->why) : "grant copy failed",
                   (unsigned long)v->st.tx_err);
        return;
    }
    if (pkt->mcast_op)
        return;
    v->st.tx_pkts++;
    v->st.tx_bytes += pkt->len;
    if (pkt->flags & NETTXF_csum_blank) {
        fill_csum(tx_buf, pkt->len);
        v->st.tx_csum++;
    }
    if (v->port >= 0)
        brsvc_input(v->port, tx_buf, pkt->len, now_ms);
}

/* Requests of this vif: every pending one taken (a front end pushes whole
 * packets), each packet judged by netif_tx_parse. At most NB_TX_BUDGET
 * packets per call; 1 if more may wait. */
static int vif_tx(struct vif *v, uint64_t now_ms)
{
    unsigned pkts = 0;
    while (pkts < NB_TX_BUDGET) {
        int n = backring_pending(&v->tx);
        if (n < 0) {
            vif_disconnect(v, "tx producer index out of range");
            return 0;
        }
        if (!n) {
            if (backring_final_check(&v->tx))
                continue;
            return 0;
        }
        /* Room after what an unfinished packet left: never more than the
         * array holds (a front end that pushes half a packet, then a
         * flood, must not get past it). A packet of more than
         * NETIF_TX_SLOTS_MAX slots is judged fatal long before it fills. */
        unsigned room = NB_TX_TAKE - v->nslots;
        if (!room) {
            vif_disconnect(v, "tx packet longer than any allowed");
            return 0;
        }
        if ((unsigned)n > room)
            n = (int)room;
        for (int i = 0; i < n; i++) {
            union netif_tx_sring_entry e;
            if (backring_take(&v->tx, &e))
                return 0;
            v->slot[v->nslots + (unsigned)i] = e.req;
        }
        v->nslots += (unsigned)n;
        unsigned at = 0;
        while (at < v->nslots) {
            struct netif_tx_pkt pkt;
            int st = netif_tx_parse(&v->cfg, v->slot + at, v->nslots - at, &pkt);
            if (st == -XEN_EIO && pkt.why == NETIF_WHY_TRUNCATED &&
                v->nslots - at < NETIF_TX_SLOTS_MAX) {
                /* The rest of it is not taken yet (our array was full) or
                 * not pushed yet: keep its slots for the next round. */
                break;
            }
            if (st == -XEN_EIO) {
                char why[80];
                xl_snprintf(why, sizeof(why), "tx protocol violation: %s", netif_why_str(pkt.why));
                vif_disconnect(v, why);
                return 0;
            }
            tx_packet(v, &pkt, st, now_ms);
            at += pkt.nr_slots;
            pkts++;
        }
        memmove(v->slot, v->slot + at, (v->nslots - at) * sizeof(v->slot[0]));
        v->nslots -= at;
    }
    return 1;
}

/* ---- rx: bridge -> front end ---- */

/* The bridge hands a frame to this vif: netif_rx_plan splits it over the
 * posted rx requests (taken into the vif's stash first, so a frame that
 * does not fit consumes none), the chunks are grant-copied, the responses
 * written. No request posted: dropped and counted. */
static void vif_deliver(void *opaque, const uint8_t *frame, size_t len)
{
    struct vif *v = opaque;
    if (!v->io)
        return;
    int n = backring_pending(&v->rx);
    if (n < 0) {
        vif_disconnect(v, "rx producer index out of range");
        return;
    }
    while (n-- > 0 && v->nrxq < NB_RXQ) {
        union netif_rx_sring_entry e;
        if (backring_take(&v->rx, &e))
            break;
        v->rxq[v->nrxq++] = e.req;
    }
    struct netif_rx_meta m = { .len = (uint32_t)len,
                               .page_off = (uint32_t)((uintptr_t)frame & (NB_PAGE - 1)) };
    static struct netif_rx_plan plan;
    int rc = netif_rx_plan(&v->cfg, v->rxq, v->nrxq, &m, &plan);
    if (rc) {
        if (rc == -XEN_EAGAIN)
            v->st.rx_nobuf++;
        else
            v->st.rx_err++;
        return;
    }
    for (unsigned i = 0; i < plan.nr_chunks; i++) {
        const struct netif_rx_chunk *c = &plan.chunk[i];
        const uint8_t *src = frame + c->src_off;
        copy_ops[i] = (struct gnttab_copy){
            .source = { .u.gmfn = virt_to_mfn(src), .domid = DOMID_SELF,
                        .offset = (uint16_t)((uintptr_t)src & (NB_PAGE - 1)) },
            .dest = { .u.ref = c->gref, .domid = v->domid, .offset = c->dst_off },
            .len = c->len, .flags = GNTCOPY_dest_gref,
        };
    }
    long hc = gnttab_copy(copy_ops, plan.nr_chunks);
    bool ok = true;
    for (unsigned i = 0; i < plan.nr_chunks; i++)
        if (hc || copy_ops[i].status != GNTST_okay) {
            netif_rx_copy_failed(&plan, i);
            ok = false;
        }
    for (unsigned i = 0; i < plan.nr_slots; i++)
        backring_respond(&v->rx, &plan.rsp[i], sizeof(plan.rsp[i]));
    memmove(v->rxq, v->rxq + plan.nr_slots, (v->nrxq - plan.nr_slots) * sizeof(v->rxq[0]));
    v->nrxq -= plan.nr_slots;
    if (backring_push(&v->rx))
        v->notify = true;
    if (ok) {
        v->st.rx_pkts++;
        v->st.rx_bytes += len;
    } else {
        v->st.rx_err++;
    }
}

/* ---- connection ---- */

static void unmap_rings(struct vif *v)
{
    unsigned i = (unsigned)(v - vifs);
    if (v->evtchn) {
        svc_close_port(v->evtchn);
        v->evtchn = 0;
    }
    if (v->tx_h != (grant_handle_t)~0u) {
        if (gnttab_unmap(ring_win[i][0], v->tx_h, NULL))
            printk("dom0: %s: tx ring unmap failed\n", v->name);
        v->tx_h = (grant_handle_t)~0u;
    }
    if (v->rx_h != (grant_handle_t)~0u) {
        if (gnttab_unmap(ring_win[i][1], v->rx_h, NULL))
            printk("dom0: %s: rx ring unmap failed\n", v->name);
        v->rx_h = (grant_handle_t)~0u;
    }
    v->mapped = v->io = false;
    v->nslots = v->nrxq = 0;
}

/* A protocol violation: this vif only is closed (error node, rings
 * unmapped, Closing); the front end may reconnect from Initialising. */
static void vif_disconnect(struct vif *v, const char *why)
{
    printk("dom0: %s: %s: disconnecting\n", v->name, why);
    wr(v->be, "error", why);
    unmap_rings(v);
    v->have_info = v->info_bad = false;
    set_state(v, XenbusStateClosing);
}

static void read_ring_info(struct vif *v)
{
    uint32_t copy = 0, q = 1;
    v->have_info = true;
    v->info_bad = rd_u32(v->fe, "tx-ring-ref", 1u << 31, &v->tx_ref) ||
                  rd_u32(v->fe, "rx-ring-ref", 1u << 31, &v->rx_ref) ||
                  rd_u32(v->fe, "event-channel", 1u << 20, &v->remote_port) ||
                  rd_u32(v->fe, "request-rx-copy", 2, &copy) || !copy;
    /* multi-queue and split channels were not offered */
    if (!rd_u32(v->fe, "multi-queue-num-queues", 1u << 16, &q) && q != 1)
        v->info_bad = true;
    /* feature-rx-notify is not needed: rx requests are looked for on every
     * pass of dom0's loop, not only after an event. */
    uint32_t sg = 0;
    rd_u32(v->fe, "feature-sg", 2, &sg);
    /* Linux's vif: MTU 1500, or up to 64 KiB frames when the front end
     * takes scatter-gather (rx frames over several pages). */
    v->cfg.mtu = sg ? XEN_NETIF_MAX_TX_SIZE - ETH_HLEN - VLAN_HLEN : 1500;
    if (v->info_bad)
        printk("dom0: %s: frontend ring info missing or bad (tx-ring-ref, rx-ring-ref, "
               "event-channel, request-rx-copy=1)\n", v->name);
}

static void map_rings(struct vif *v)
{
    unsigned i = (unsigned)(v - vifs);
    long rc = gnttab_map(v->domid, v->tx_ref, ring_win[i][0], 0, &v->tx_h, NULL);
    if (rc)
        v->tx_h = (grant_handle_t)~0u;
    if (!rc && (rc = gnttab_map(v->domid, v->rx_ref, ring_win[i][1], 0, &v->rx_h, NULL)))
        v->rx_h = (grant_handle_t)~0u;
    if (!rc)
        rc = backring_attach(&v->tx, ring_win[i][0], NB_PAGE, sizeof(union netif_tx_sring_entry),
                             0, &fences);
    if (!rc)
        rc = backring_attach(&v->rx, ring_win[i][1], NB_PAGE, sizeof(union netif_rx_sring_entry),
                             0, &fences);
    long port = rc ? rc : svc_bind_interdomain(v->domid, v->remote_port);
    if (port < 0) {
        printk("dom0: %s: cannot map rings or bind the channel: %ld\n", v->name, port);
        unmap_rings(v);
        v->info_bad = true;
        return;
    }
    v->evtchn = (uint32_t)port;
    v->mapped = true;
}

static void remove_device(struct vif *v)
{
    unmap_rings(v);
    if (v->port >= 0)
        brsvc_port_detach(v->port);
    v->port = -1;
    char st[192];
    netback_stats(v->domid, v->devid, st, sizeof(st));
    printk("dom0: %s: removed (%s)\n", v->name, st + strlen(v->name) + 2);
    xsd_rm(v->be);
    v->used = 0;
}

static void do_action(struct vif *v, enum xbfsm_action a)
{
    switch (a) {
    case XBA_WRITE_FEATURES:
        wr(v->be, "feature-sg", "1");
        wr(v->be, "feature-rx-copy", "1");
        wr(v->be, "feature-rx-flip", "0");
        wr(v->be, "feature-gso-tcpv4", "0");
        wr(v->be, "feature-gso-tcpv6", "0");
        wr(v->be, "feature-ipv6-csum-offload", "0");
        break;
    case XBA_READ_RING_INFO:
        read_ring_info(v);
        break;
    case XBA_MAP_RING:
        map_rings(v);
        break;
    case XBA_WRITE_DEVICE_INFO:
        wr(v->be, "hotplug-status", "connected");
        break;
    case XBA_START_IO:
        v->io = true;
        break;
    case XBA_STOP_IO:
        v->io = false;
        break;
    case XBA_DRAIN_IO:
        break;                  /* copies are synchronous: nothing in flight */
    case XBA_UNMAP_ALL:
    case XBA_UNBIND_EVTCHN:
        unmap_rings(v);
        v->have_info = v->info_bad = false;
        break;
    case XBA_REPORT_ERROR:
        wr(v->be, "error", "frontend state or ring info invalid");
        break;
    case XBA_REMOVE_DEVICE:
        remove_device(v);
        break;
    default:
        break;
    }
}

/* Steps the state machine until it has nothing to do. */
static void vif_fsm(struct vif *v)
{
    for (int round = 0; round < 8 && v->used; round++) {
        char b[16];
        uint32_t online = 0, fe = XenbusStateUnknown;
        struct xbfsm_in in = { .role = XBFSM_BACKEND, .self = v->state, .device_ready = true,
                               .have_info = v->have_info, .info_bad = v->info_bad,
                               .mapped = v->mapped };
        int r = rd(v->fe, "state", b, sizeof(b));
        if (r == -XEN_ENOENT)
            in.other_gone = true;
        else if (!r && xbfsm_parse_state(b, strlen(b), &fe))
            fe = 0xff;          /* garbage: the machine reports it */
        in.other = fe;
        in.online = !rd_u32(v->be, "online", 2, &online) && online;
        struct xbfsm_out out;
        if (xbfsm_step(&in, &out))
            return;
        for (unsigned i = 0; i < out.n && v->used; i++)
            do_action(v, out.act[i]);
        if (!v->used)
            return;
        if (out.next != v->state)
            set_state(v, out.next);
        else if (!out.n)
            return;
    }
}

/* ---- entry points ---- */

int netback_probe(uint16_t domid, unsigned int devid)
{
    char be[64], buf[64], mac[24], spec[112], err[96];
    struct xlvif cfg;
    xl_snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", domid, devid);
    struct vif *v = NULL;
    for (unsigned i = 0; i < NB_MAX_VIFS; i++) {
        if (vifs[i].used && !strcmp(vifs[i].be, be))
            return -XEN_EEXIST;
        if (!vifs[i].used && !v)
            v = &vifs[i];
    }
    if (!v)
        return -XEN_ENOSPC;
    memset(v, 0, sizeof(*v));
    memcpy(v->be, be, sizeof(be));
    v->domid = domid;
    v->devid = (uint16_t)devid;
    v->port = -1;
    v->tx_h = v->rx_h = (grant_handle_t)~0u;
    v->state = XenbusStateInitialising;
    /* A Linux vif's defaults: MTU 1500 unless the front end can do
     * scatter-gather (then up to 64 KiB frames), no GSO, no multicast
     * control; grant refs below our table's size are for the copy to judge. */
    v->cfg = (struct netif_cfg){ .mtu = 1500 };
    xl_snprintf(v->name, sizeof(v->name), "vif%u.%u", domid, devid);
    if (rd(be, "frontend", v->fe, sizeof(v->fe)) || rd(be, "bridge", buf, sizeof(buf)))
        return -XEN_EINVAL;
    /* The MAC xl gave the vif is pinned to its port: learning from
     * another vif's frames must not move it (FDB poisoning). */
    if (rd(be, "mac", mac, sizeof(mac)))
        xl_snprintf(spec, sizeof(spec), "bridge=%s", buf);
    else
        xl_snprintf(spec, sizeof(spec), "bridge=%s, mac=%s", buf, mac);
    if (xlvif_parse(spec, &cfg, err, sizeof(err))) {
        printk("dom0: %s: %s\n", v->name, err);
        return -XEN_EINVAL;
    }
    int h = cfg.nr_trunk ? brsvc_trunk_attach(cfg.bridge, v->name, cfg.has_vlan ? cfg.vlan : 0,
                                              cfg.trunk, cfg.nr_trunk, vif_deliver, v)
                         : brsvc_port_attach(cfg.bridge, v->name, cfg.vlan, vif_deliver, v);
    if (h < 0)
        return h;
    v->port = h;
    v->used = 1;
    if (cfg.has_mac && brsvc_port_pin_mac(h, cfg.mac))
        printk("dom0: %s: cannot pin its MAC on the bridge\n", v->name);
    if (cfg.nr_trunk)
        printk("dom0: %s: on bridge %s, trunk (bridge=%s)\n", v->name, cfg.bridge, buf);
    else
        printk("dom0: %s: on bridge %s, vlan %u\n", v->name, cfg.bridge, cfg.vlan);
    vif_fsm(v);
    return 0;
}

int netback_poll(uint64_t now_ms)
{
    int busy = 0;
    for (unsigned i = 0; i < NB_MAX_VIFS; i++) {
        struct vif *v = &vifs[i];
        if (!v->used)
            continue;
        if (v->evtchn && svc_port_pending(v->evtchn))
            v->next_poll_ms = 0;
        if (now_ms >= v->next_poll_ms || v->state != XenbusStateConnected) {
            v->next_poll_ms = now_ms + NB_STATE_POLL_MS;
            vif_fsm(v);
        }
    }
    for (unsigned i = 0; i < NB_MAX_VIFS; i++) {
        struct vif *v = &vifs[i];
        if (v->used && v->io)
            busy |= vif_tx(v, now_ms);
    }
    /* Notifications after the whole pass: one event per vif, whatever
     * number of frames it was given. */
    for (unsigned i = 0; i < NB_MAX_VIFS; i++) {
        struct vif *v = &vifs[i];
        if (v->used && v->notify && v->evtchn)
            svc_send(v->evtchn);
        v->notify = false;
    }
    return busy;
}

void netback_domain_gone(uint16_t domid)
{
    for (unsigned i = 0; i < NB_MAX_VIFS; i++)
        if (vifs[i].used && vifs[i].domid == domid) {
            remove_device(&vifs[i]);
        }
    char p[64];
    xl_snprintf(p, sizeof(p), "/local/domain/0/backend/vif/%u", domid);
    xsd_rm(p);
}

void netback_detach(uint16_t domid, unsigned int devid)
{
    for (unsigned i = 0; i < NB_MAX_VIFS; i++)
        if (vifs[i].used && vifs[i].domid == domid && vifs[i].devid == devid)
            remove_device(&vifs[i]);
}

int netback_stats(uint16_t domid, unsigned int devid, char *buf, size_t size)
{
    for (unsigned i = 0; i < NB_MAX_VIFS; i++) {
        const struct vif *v = &vifs[i];
        if (!v->used || v->domid != domid || v->devid != devid)
            continue;
        xl_snprintf(buf, size, "%s: tx %lu pkts %lu bytes %lu err %lu csum-filled, rx %lu pkts "
                    "%lu bytes %lu no-buffer %lu err", v->name, (unsigned long)v->st.tx_pkts,
                    (unsigned long)v->st.tx_bytes, (unsigned long)v->st.tx_err,
                    (unsigned long)v->st.tx_csum,
                    (unsigned long)v->st.rx_pkts, (unsigned long)v->st.rx_bytes,
                    (unsigned long)v->st.rx_nobuf, (unsigned long)v->st.rx_err);
        return 0;
    }
    return -XEN_ENOENT;
}
