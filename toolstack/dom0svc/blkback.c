/*
 * blkback.c - dom0's block back end (Xen's blkif protocol, xen/io/blkif.h)
 * for the domUs xl creates, in two halves:
 *  - the toolstack's (what libxl__device_disk_add writes): the backend
 *    directory /local/domain/0/backend/vbd/<domid>/<devid> (dom0's,
 *    readable by the guest) and the frontend directory
 *    /local/domain/<domid>/device/vbd/<devid> (the guest's, readable by
 *    dom0), online=1 / online=0 for attach and detach;
 *  - the back end's (what Linux's xen-blkback does): each pass of dom0's
 *    loop reads both state nodes and runs xbfsm_step; maps the one-page
 *    ring (ring-ref), binds event-channel, takes requests with backring_*,
 *    judges them with blkif_req_check against the disk's region, moves
 *    data with GNTTABOP_copy between the guest's granted frames and dom0
 *    bounce pages, submits to a dom0 blkdev (xlguest/blkdev.h) with the
 *    region's offset added, and answers on completion.
 * Owns: the vbd table, the ring mappings, the bounce pages, the devices'
 * xenstore nodes. Must never: keep a guest grant mapped besides the ring
 * (data moves by copy), let a request reach outside its region, answer a
 * request twice, free a bounce page under in-flight I/O, or let one
 * guest's broken ring stop another's (it disconnects that device only).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xlguest/backring.h>
#include <xlguest/blkdev.h>
#include <xlguest/blkif_req.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/ramblk.h>
#include <xlguest/xbfsm.h>
#include "../xl/xldisk.h"
#include "svc.h"

#define MAX_VBD 16
#define SLOTS 8                          /* requests in flight per device */
#define SEGS BLKIF_MAX_SEGMENTS_PER_REQUEST
#define BOUNCE_PAGES (SLOTS * SEGS)

enum slot_state { SLOT_FREE, SLOT_WAIT, SLOT_BUSY };

struct slot {
    enum slot_state st;
    int flush_after;                     /* FLUSH_DISKCACHE with data: write, then flush */
    struct blkif_parsed p;
    struct blkdev_req r;
    struct vbd *v;
    uint8_t *pages;                      /* SEGS bounce pages */
};

static struct vbd {
    int used;
    int dead;                            /* the domain is gone: no responses */
    uint16_t domid;
    uint32_t devid;
    char be[64], fe[64];
    uint32_t state;                      /* ours, as last written */
    int online, have_info, info_bad, mapped, io_on, said;
    struct blkdev *bdev;
    uint64_t first;                      /* region start on the blkdev, sectors */
    struct blkif_dev judge;
    uint32_t ring_ref, remote_port, port;
    grant_handle_t ring_handle;
    struct backring ring;
    uint8_t *bounce;                     /* BOUNCE_PAGES pages while mapped */
    struct slot slots[SLOTS];
    unsigned int inflight;
    int need_push;
    unsigned long reqs, errors;
} vbds[MAX_VBD];

static uint8_t ring_win[MAX_VBD][4096] __attribute__((aligned(4096)));
static unsigned int rings_mapped;
static uint64_t bounce_held;             /* pages */

static void fence(void *o)
{
    (void)o;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static const struct xl_barriers fences = { fence, fence, fence, NULL };

static int vbd_index(const struct vbd *v)
{
    return (int)(v - vbds);
}

/* ---- xenstore helpers ---- */

static int node_write(const struct vbd *v, const char *dir, const char *key, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static int node_write(const struct vbd *v, const char *dir, const char *key, const char *fmt,
                      ...)
{
    (void)v;
    char path[128], val[128];
    va_list ap;
    va_start(ap, fmt);
    xl_vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    xl_snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xsd_write(path, val);
}

static int node_read(const char *dir, const char *key, char *buf, size_t len)
{
    char path[128];
    xl_snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xsd_read(path, buf, len);
}

/* A decimal node (no sign, no junk, fits 32 bits). */
static int node_u32(const char *dir, const char *key, uint32_t *out)
{
    char b[24];
    uint64_t v = 0;
    int rc = node_read(dir, key, b, sizeof(b));
    if (rc)
        return rc;
    if (!b[0])
        return -XEN_EINVAL;
    for (const char *c = b; *c; c++) {
        if (*c < '0' || *c > '9' || (v = v * 10 + (uint64_t)(*c - '0')) > 0xffffffffu)
            return -XEN_EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

static int set_perms2(const char *path, char owner_c, uint16_t owner, char other_c,
                      uint16_t other)
{
    char p[32];
    int n = xl_snprintf(p, sizeof(p), "%c%u%c%c%u", owner_c, owner, 0, other_c, other);
    return xsd_set_perms(path, p, (uint32_t)n + 1);
}

/* ---- the toolstack's half ---- */

static struct vbd *vbd_find(uint16_t domid, uint32_t devid)
{
    for (int i = 0; i < MAX_VBD; i++)
        if (vbds[i].used && !vbds[i].dead && vbds[i].domid == domid && vbds[i].devid == devid)
            return &vbds[i];
    return NULL;
}

int blkback_device_add(uint16_t domid, const struct xldisk *d)
{
    if (domid == 0 || domid >= SVC_MAX_DOMS)
        return -XEN_EINVAL;
    if (vbd_find(domid, d->devid))
        return -XEN_EEXIST;
    struct vbd *v = NULL;
    for (int i = 0; i < MAX_VBD && !v; i++)
        if (!vbds[i].used)
            v = &vbds[i];
    if (!v)
        return -XEN_ENOSPC;
    memset(v, 0, sizeof(*v));
    v->used = 1;
    v->domid = domid;
    v->devid = d->devid;
    xl_snprintf(v->be, sizeof(v->be), "/local/domain/0/backend/vbd/%u/%u", domid, d->devid);
    xl_snprintf(v->fe, sizeof(v->fe), "/local/domain/%u/device/vbd/%u", domid, d->devid);
    int rc = xsd_mkdir(v->be);
    if (!rc)
        rc = set_perms2(v->be, 'n', 0, 'r', domid);
    if (!rc)
        rc = node_write(v, v->be, "frontend", "%s", v->fe);
    if (!rc)
        rc = node_write(v, v->be, "frontend-id", "%u", domid);
    if (!rc)
        rc = node_write(v, v->be, "params", "%s", d->target);
    if (!rc)
        rc = node_write(v, v->be, "type", "phy");
    if (!rc)
        rc = node_write(v, v->be, "mode", "%s", d->readonly ? "r" : "w");
    if (!rc)
        rc = node_write(v, v->be, "dev", "%s", d->vdev);
    if (!rc)
        rc = node_write(v, v->be, "device-type", "disk");
    if (!rc)
        rc = node_write(v, v->be, "removable", "0");
    if (!rc)
        rc = node_write(v, v->be, "bootable", "1");
    if (!rc)
        rc = node_write(v, v->be, "online", "1");
    if (!rc)
        rc = node_write(v, v->be, "state", "%u", XenbusStateInitialising);
    /* The frontend directory is the guest's; dom0 may read it. */
    if (!rc)
        rc = xsd_mkdir(v->fe);
    if (!rc)
        rc = set_perms2(v->fe, 'n', domid, 'r', 0);
    if (!rc)
        rc = node_write(v, v->fe, "backend", "%s", v->be);
    if (!rc)
        rc = node_write(v, v->fe, "backend-id", "0");
    if (!rc)
        rc = node_write(v, v->fe, "state", "%u", XenbusStateInitialising);
    if (!rc)
        rc = node_write(v, v->fe, "virtual-device", "%u", d->devid);
    if (!rc)
        rc = node_write(v, v->fe, "device-type", "disk");
    if (rc) {
        printk("blkback: d%u %s: writing its xenstore nodes failed: %d\n", domid, d->vdev, rc);
        xsd_rm(v->be);
        xsd_rm(v->fe);
        v->used = 0;
        return rc;
    }
    v->state = XenbusStateInitialising;
    printk("blkback: d%u %s (%u) -> %s\n", domid, d->vdev, d->devid, d->target);
    return 0;
}

int blkback_device_remove(uint16_t domid, uint32_t devid)
{
    struct vbd *v = vbd_find(domid, devid);
    if (!v)
        return -XEN_ENOENT;
    return node_write(v, v->be, "online", "0");
}

int blkback_list(uint16_t domid, struct blkback_info *out, unsigned int max)
{
    unsigned int n = 0;
    for (int i = 0; i < MAX_VBD && n < max; i++) {
        struct vbd *v = &vbds[i];
        if (!v->used || v->dead || v->domid != domid)
            continue;
        uint32_t fs, ev, rr;
        out[n] = (struct blkback_info){ .devid = v->devid, .be_domid = 0, .state = v->state,
                                        .fe_state = node_u32(v->fe, "state", &fs) ? -1 : (int)fs,
                                        .evtchn = node_u32(v->fe, "event-channel", &ev) ? -1 : (int)ev,
                                        .ring_ref = node_u32(v->fe, "ring-ref", &rr) ? -1 : (int)rr };
        memcpy(out[n].be_path, v->be, sizeof(out[n].be_path));
        n++;
    }
    return (int)n;
}

/* ---- the device: region, features ---- */

/* Is the target device there, and the region inside it? Sets bdev,
 * first, judge. */
static int device_open(struct vbd *v)
{
    char params[XLDISK_TARGET_MAX], mode[4];
    struct xldisk_target t;
    if (node_read(v->be, "params", params, sizeof(params)) ||
        xldisk_parse_target(params, &t))
        return -XEN_EINVAL;
    if (node_read(v->be, "mode", mode, sizeof(mode)))
        return -XEN_EINVAL;
    struct blkdev *b = blkdev_find(t.dev);
    if (!b)
        return -XEN_ENODEV;
    const struct blkdev_info *bi = blkdev_info(b);
    uint64_t dev_bytes = bi->nr_sectors * BLKDEV_SECTOR;
    uint64_t size = t.size ? t.size : (t.offset < dev_bytes ? dev_bytes - t.offset : 0);
    if (!size || t.offset > dev_bytes || size > dev_bytes - t.offset ||
        t.offset % bi->lblock_size || size % bi->lblock_size)
        return -XEN_ERANGE;
    v->bdev = b;
    v->first = t.offset / BLKDEV_SECTOR;
    v->judge = (struct blkif_dev){
        .nr_sectors = size / BLKDEV_SECTOR,
        .lblock_sectors = bi->lblock_size / BLKDEV_SECTOR,
        .read_only = mode[0] != 'w' || bi->read_only,
        .features = bi->has_flush ? BLKDEV_F_FLUSH : 0,
    };
    return 0;
}

static void write_features(struct vbd *v)
{
    node_write(v, v->be, "feature-flush-cache", "%u", (v->judge.features & BLKDEV_F_FLUSH) ? 1 : 0);
    node_write(v, v->be, "feature-persistent", "0");
    node_write(v, v->be, "feature-barrier", "0");
}

static void write_device_info(struct vbd *v)
{
    uint32_t lbs = v->judge.lblock_sectors * BLKDEV_SECTOR;
    node_write(v, v->be, "sectors", "%lu", (unsigned long)v->judge.nr_sectors);
    node_write(v, v->be, "info", "%u", v->judge.read_only ? VDISK_READONLY : 0);
    node_write(v, v->be, "sector-size", "%u", lbs);
    node_write(v, v->be, "physical-sector-size", "%u", lbs);
    write_features(v);
}

/* ---- the ring ---- */

static int read_ring_info(struct vbd *v)
{
    char proto[32];
    uint32_t order = 0;
    if (!node_u32(v->fe, "ring-page-order", &order) && order != 0)
        return -XEN_EINVAL;    /* we offer no max-ring-page-order */
    if (node_u32(v->fe, "ring-ref", &v->ring_ref) ||
        node_u32(v->fe, "event-channel", &v->remote_port))
        return -XEN_EINVAL;
    int rc = node_read(v->fe, "protocol", proto, sizeof(proto));
    if (!rc && strcmp(proto, XEN_IO_PROTO_ABI_X86_64))
        return -XEN_EINVAL;    /* 32-bit guests' layout: not served */
    return 0;
}

static int map_ring(struct vbd *v)
{
    void *va = ring_win[vbd_index(v)];
    int16_t st;
    long rc = gnttab_map(v->domid, v->ring_ref, va, 0, &v->ring_handle, &st);
    if (rc) {
        printk("blkback: d%u/%u: cannot map ring-ref %u: %ld (GNTST %d)\n", v->domid, v->devid,
               v->ring_ref, rc, st);
        return (int)rc;
    }
    rings_mapped++;
    v->mapped = 1;
    long lp = svc_bind_interdomain(v->domid, v->remote_port);
    v->bounce = lp < 0 ? NULL : pages_alloc(BOUNCE_PAGES);
    if (lp < 0 || !v->bounce ||
        backring_attach(&v->ring, va, 4096, sizeof(union blkif_sring_entry), 0, &fences)) {
        printk("blkback: d%u/%u: event channel %u: %ld, bounce pages %s\n", v->domid, v->devid,
               v->remote_port, lp, v->bounce ? "ok" : "none");
        if (lp >= 0)
            svc_close_port((uint32_t)lp);
        v->port = 0;
        return -XEN_ENOMEM;    /* the map is undone by the teardown */
    }
    v->port = (uint32_t)lp;
    bounce_held += BOUNCE_PAGES;
    for (int i = 0; i < SLOTS; i++)
        v->slots[i] = (struct slot){ .v = v, .pages = v->bounce + (size_t)i * SEGS * 4096 };
    return 0;
}

static void unmap_all(struct vbd *v)
{
    if (v->bounce && !v->inflight) {
        pages_free(v->bounce, BOUNCE_PAGES);
        v->bounce = NULL;
        bounce_held -= BOUNCE_PAGES;
    }
    if (v->mapped) {
        long rc = gnttab_unmap(ring_win[vbd_index(v)], v->ring_handle, NULL);
        if (rc)
            printk("blkback: d%u/%u: unmap of the ring failed: %ld\n", v->domid, v->devid, rc);
        rings_mapped--;
        v->mapped = 0;
    }
}

/* ---- requests ---- */

static void respond(struct vbd *v, const struct blkif_parsed *p, int status)
{
    struct blkif_response rsp;
    if (v->dead || !v->mapped)
        return;
    if (status != BLKIF_RSP_OKAY)
        v->errors++;
    blkif_make_response(p, status, &rsp);
    if (!backring_respond(&v->ring, &rsp, sizeof(rsp)))
        v->need_push = 1;
}

/* GNTTABOP_copy of every segment between the guest's grants and the
 * slot's bounce pages: to_guest for reads. 0 or -EFAULT (a bad grant). */
static int copy_segs(struct slot *s, int to_guest)
{
    struct gnttab_copy op[SEGS];
    struct vbd *v = s->v;
    for (unsigned int i = 0; i < s->p.nr_segments; i++) {
        const struct blkif_request_segment *g = &s->p.seg[i];
        uint16_t off = (uint16_t)(g->first_sect << BLKIF_SECTOR_SHIFT);
        struct gnttab_copy_ptr guest = { .u.ref = g->gref, .domid = v->domid, .offset = off };
        struct gnttab_copy_ptr local = {
            .u.gmfn = virt_to_mfn(s->pages + (size_t)i * 4096), .domid = DOMID_SELF,
            .offset = off };
        op[i] = (struct gnttab_copy){
            .source = to_guest ? local : guest, .dest = to_guest ? guest : local,
            .len = (uint16_t)((g->last_sect - g->first_sect + 1) << BLKIF_SECTOR_SHIFT),
            .flags = to_guest ? GNTCOPY_dest_gref : GNTCOPY_source_gref,
        };
    }
    long rc = HYPERCALL(__HYPERVISOR_grant_table_op, GNTTABOP_copy, op, s->p.nr_segments);
    if (rc)
        return -XEN_EFAULT;
    for (unsigned int i = 0; i < s->p.nr_segments; i++)
        if (op[i].status != GNTST_okay)
            return -XEN_EFAULT;
    return 0;
}

static void slot_done(struct slot *s, int status)
{
    struct vbd *v = s->v;
    respond(v, &s->p, status);
    s->st = SLOT_FREE;
    v->inflight--;
}

static void on_complete(struct blkdev_req *r, int status)
{
    struct slot *s = r->priv;
    struct vbd *v = s->v;
    if (status) {
        slot_done(s, BLKIF_RSP_ERROR);
        return;
    }
    if (s->flush_after && !v->dead) {        /* the data is written: now the flush */
        s->flush_after = 0;
        s->r.op = BLKDEV_FLUSH;
        s->r.nr_segs = 0;
        s->st = SLOT_WAIT;
        return;
    }
    if (r->op == BLKDEV_READ && !v->dead && copy_segs(s, 1)) {
        slot_done(s, BLKIF_RSP_ERROR);
        return;
    }
    slot_done(s, BLKIF_RSP_OKAY);
}

static void slot_submit(struct slot *s)
{
    int rc = blkdev_submit(s->v->bdev, &s->r);
    if (rc == -XEN_EBUSY) {
        s->st = SLOT_WAIT;
        return;
    }
    s->st = SLOT_BUSY;
    if (rc) {
        printk("blkback: d%u/%u: device refused a request: %d\n", s->v->domid, s->v->devid, rc);
        slot_done(s, BLKIF_RSP_ERROR);
    }
}

/* One request copied out of the ring: refuse it, or start it in s. */
static void start_request(struct vbd *v, struct slot *s, const struct blkif_request *req)
{
    int st = blkif_req_check(&v->judge, req, &s->p);
    v->reqs++;
    if (st != BLKIF_RSP_OKAY || s->p.operation == BLKIF_OP_INDIRECT) {
        if (v->errors < 8)
            printk("blkback: d%u/%u: request refused: %s\n", v->domid, v->devid,
                   st == BLKIF_RSP_OKAY ? "indirect" : blkif_why_str(s->p.why));
        respond(v, &s->p, st == BLKIF_RSP_OKAY ? BLKIF_RSP_EOPNOTSUPP : st);
        return;
    }
    v->inflight++;
    s->flush_after = 0;
    s->r = (struct blkdev_req){ .sector = v->first + s->p.sector, .done = on_complete,
                                .priv = s };
    if (s->p.op == BLKIF_OP_READ)
        s->r.op = BLKDEV_READ;
    else if (s->p.op == BLKIF_OP_WRITE || s->p.nr_segments)
        s->r.op = BLKDEV_WRITE, s->flush_after = s->p.op == BLKIF_OP_FLUSH_DISKCACHE;
    else
        s->r.op = BLKDEV_FLUSH;
    if (s->r.op != BLKDEV_FLUSH) {
        s->r.nr_segs = s->p.nr_segments;
        for (unsigned int i = 0; i < s->p.nr_segments; i++) {
            const struct blkif_request_segment *g = &s->p.seg[i];
            s->r.seg[i].maddr = (virt_to_mfn(s->pages + (size_t)i * 4096) << 12) +
                                ((uint64_t)g->first_sect << BLKIF_SECTOR_SHIFT);
            s->r.seg[i].len = (uint32_t)(g->last_sect - g->first_sect + 1) << BLKIF_SECTOR_SHIFT;
        }
    }
    if (s->r.op == BLKDEV_WRITE && copy_segs(s, 0)) {
        if (v->errors < 8)
            printk("blkback: d%u/%u: a grant of a write could not be copied\n", v->domid,
                   v->devid);
        s->st = SLOT_BUSY;
        slot_done(s, BLKIF_RSP_ERROR);
        return;
    }
    slot_submit(s);
}

static struct slot *free_slot(struct vbd *v)
{
    for (int i = 0; i < SLOTS; i++)
        if (v->slots[i].st == SLOT_FREE)
            return &v->slots[i];
    return NULL;
}

static void disconnect(struct vbd *v, const char *why)
{
    printk("blkback: d%u/%u: %s: disconnecting the device\n", v->domid, v->devid, why);
    node_write(v, v->be, "error", "%s", why);
    v->io_on = 0;
    v->state = XenbusStateClosing;
    node_write(v, v->be, "state", "%u", v->state);
}

static void vbd_io(struct vbd *v)
{
    for (int i = 0; i < SLOTS; i++)
        if (v->slots[i].st == SLOT_WAIT)
            slot_submit(&v->slots[i]);
    while (v->io_on) {
        struct slot *s = free_slot(v);
        if (!s)
            break;
        int n = backring_pending(&v->ring);
        if (n < 0) {
            disconnect(v, "ring protocol violation");
            break;
        }
        if (n == 0) {
            if (!backring_final_check(&v->ring))
                break;
            continue;
        }
        union blkif_sring_entry e;
        if (backring_take(&v->ring, &e))
            break;
        start_request(v, s, &e.req);
    }
    if (v->need_push && v->mapped && !v->dead) {
        v->need_push = 0;
        if (backring_push(&v->ring) && v->port)
            svc_send(v->port);
    }
}

/* ---- the state machine ---- */

static void vbd_free(struct vbd *v)
{
    char p[64];
    printk("blkback: d%u/%u removed (%lu requests, %lu errors); dom0 holds %u ring mappings, "
           "%lu bounce pages\n", v->domid, v->devid, v->reqs, v->errors,
           rings_mapped, (unsigned long)bounce_held);
    xsd_rm(v->be);
    if (!v->dead)
        xsd_rm(v->fe);
    xl_snprintf(p, sizeof(p), "/libxl/%u/device/vbd/%u", v->domid, v->devid);
    xsd_rm(p);
    v->used = 0;
}

/* Carries out one action list; 0 if the state may be written now, 1 to
 * wait (in-flight I/O to drain). */
static int run_actions(struct vbd *v, const struct xbfsm_out *o)
{
    for (unsigned int i = 0; i < o->n; i++) {
        switch (o->act[i]) {
        case XBA_WRITE_FEATURES:
            write_features(v);
            break;
        case XBA_READ_RING_INFO:
            if (read_ring_info(v))
                v->info_bad = 1;
            else
                v->have_info = 1;
            break;
        case XBA_MAP_RING:
            if (map_ring(v))
                v->info_bad = 1;
            break;
        case XBA_WRITE_DEVICE_INFO:
            write_device_info(v);
            break;
        case XBA_START_IO:
            v->io_on = 1;
            break;
        case XBA_STOP_IO:
            v->io_on = 0;
            break;
        case XBA_DRAIN_IO:
            if (v->inflight)
                return 1;
            break;
        case XBA_UNMAP_ALL:
            unmap_all(v);
            break;
        case XBA_UNBIND_EVTCHN:
            if (v->port)
                svc_close_port(v->port);
            v->port = 0;
            v->have_info = 0;
            break;
        case XBA_REPORT_ERROR:
            node_write(v, v->be, "error", "%s", "could not connect the ring");
            break;
        case XBA_REMOVE_DEVICE:
            vbd_free(v);
            return 1;
        default:
            break;
        }
    }
    return 0;
}

static void vbd_step(struct vbd *v)
{
    for (int round = 0; round < 8 && v->used; round++) {
        char b[16];
        uint32_t fe = XenbusStateUnknown;
        int gone = v->dead;
        if (!gone) {
            int rc = node_read(v->fe, "state", b, sizeof(b));
            if (rc == -XEN_ENOENT)
                gone = 1;
            else if (rc || xbfsm_parse_state(b, strlen(b), &fe))
                fe = 0xff;   /* garbage: xbfsm reports it */
        }
        v->online = !node_read(v->be, "online", b, sizeof(b)) && !strcmp(b, "1");
        int ready = v->bdev != NULL;
        if (!ready && !device_open(v))
            ready = 1;
        if (!ready && !v->said++)
            printk("blkback: d%u/%u: its target is not there (yet)\n", v->domid, v->devid);
        struct xbfsm_in in = { .role = XBFSM_BACKEND, .self = v->state, .other = fe,
                               .other_gone = gone, .online = v->online && !v->dead,
                               .device_ready = ready, .have_info = v->have_info,
                               .info_bad = v->info_bad, .mapped = v->mapped || v->port,
                               .inflight = v->inflight };
        struct xbfsm_out o;
        if (xbfsm_step(&in, &o))
            return;
        if (run_actions(v, &o) || !v->used)
            return;
        if (o.next != v->state) {
            v->state = o.next;
            if (!v->dead)
                node_write(v, v->be, "state", "%u", v->state);
        } else if (!o.n) {
            return;
        }
    }
}

/* ---- dom0's loop ---- */

int blkback_poll(void)
{
    int busy = 0;
    blkdev_poll();
    for (int i = 0; i < MAX_VBD; i++) {
        struct vbd *v = &vbds[i];
        if (!v->used)
            continue;
        if (v->port)
            svc_port_pending(v->port);
        vbd_step(v);
        if (v->used && v->mapped)
            vbd_io(v);
        if (v->used && v->inflight)
            busy = 1;
    }
    return busy;
}

void blkback_domain_gone(uint16_t domid)
{
    for (int i = 0; i < MAX_VBD; i++) {
        struct vbd *v = &vbds[i];
        if (!v->used || v->domid != domid)
            continue;
        v->dead = 1;
        v->io_on = 0;
        vbd_step(v);   /* unmaps now, or once its in-flight I/O is done */
    }
}

void blkback_init(const start_info_t *si)
{
    char b[24];
    uint64_t bytes;
    if (!cmdline_get(si, "ramblk", b, sizeof(b)))
        return;
    int rc = ramblk_parse_size(b, &bytes);
    if (!rc)
        rc = ramblk_create(bytes);
    printk("blkback: ram0 of %s: %s (%d)\n", b, rc ? "failed" : "ready", rc);
}
