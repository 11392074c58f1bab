/*
 * blkfront.c - the kit's blkif front end (xlguest/blkfront.h): the xenbus
 * handshake Linux's xen-blkfront does (ring-ref, event-channel, protocol,
 * state Initialised; read sectors, sector-size, info, feature-flush-cache
 * once the back end is Connected), requests of up to 11 granted pages,
 * and the close handshake.
 * Owns: its ring page, its grants and its event channel. Must never: end
 * a grant's access while the back end may still use it (the ring only
 * after the back end is Closed; a data page only after its response),
 * trust a response id it did not hand out, or wait without a bound.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>
#include <xlguest/blkfront.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/time.h>
#include <xlguest/xbfsm.h>

#define WAIT_NS 10000000000ULL      /* no progress for 10 s: give up */
#define MAX_INFLIGHT 32

static volatile unsigned long kicks;

static void fence(void *o)
{
    (void)o;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static const struct xl_barriers fences = { fence, fence, fence, NULL };

static void on_event(evtchn_port_t p, void *d)
{
    (void)p;
    (void)d;
    kicks++;
}

static uint64_t now_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

/* Block until an event or 100 ms. */
static void nap(unsigned long seen)
{
    evtchn_disable_upcalls();
    if (seen == kicks) {
        HYPERVISOR_set_timer_op(now_ns() + 100000000ULL);
        evtchn_block();
    }
    evtchn_enable_upcalls();
}

static int read_u(struct blkfront *f, const char *dir, const char *key, uint64_t *v)
{
    char p[128];
    xl_snprintf(p, sizeof(p), "%s/%s", dir, key);
    return xenbus_read_u64(f->xb, XBT_NIL, p, v);
}

static int write_state(struct blkfront *f, uint32_t st)
{
    char p[96];
    xl_snprintf(p, sizeof(p), "%s/state", f->fe);
    f->state = st;
    return xenbus_write_u64(f->xb, XBT_NIL, p, st);
}

static int alloc_ring(struct blkfront *f)
{
    if (!f->ring_page && !(f->ring_page = pages_alloc(1)))
        return -XEN_ENOMEM;
    if (frontring_init(&f->ring, f->ring_page, 4096, sizeof(union blkif_sring_entry), &fences))
        return -XEN_EINVAL;
    long ref = gnttab_grant_access(f->backend_id, virt_to_mfn(f->ring_page), 0);
    if (ref < 0)
        return (int)ref;
    f->ring_ref = (grant_ref_t)ref;
    long rc = evtchn_alloc_unbound(f->backend_id, &f->port);
    if (!rc)
        rc = evtchn_bind(f->port, on_event, NULL);
    return (int)rc;
}

static int write_ring_info(struct blkfront *f)
{
    char p[128];
    xenbus_transaction_t t;
    int rc;
    do {
        if ((rc = xenbus_transaction_start(f->xb, &t)))
            return rc;
        xl_snprintf(p, sizeof(p), "%s/ring-ref", f->fe);
        rc = xenbus_write_u64(f->xb, t, p, f->ring_ref);
        xl_snprintf(p, sizeof(p), "%s/event-channel", f->fe);
        if (!rc)
            rc = xenbus_write_u64(f->xb, t, p, f->port);
        xl_snprintf(p, sizeof(p), "%s/protocol", f->fe);
        if (!rc)
            rc = xenbus_write(f->xb, t, p, XEN_IO_PROTO_ABI_X86_64);
        if (rc) {
            xenbus_transaction_end(f->xb, t, 1);
            return rc;
        }
        rc = xenbus_transaction_end(f->xb, t, 0);
    } while (rc == -XEN_EAGAIN);
    return rc;
}

static int read_backend_info(struct blkfront *f)
{
    uint64_t v;
    if (read_u(f, f->be, "sectors", &f->sectors))
        return -XEN_EINVAL;
    f->sector_size = read_u(f, f->be, "sector-size", &v) ? 512 : (uint32_t)v;
    f->readonly = !read_u(f, f->be, "info", &v) && (v & VDISK_READONLY);
    f->flush = !read_u(f, f->be, "feature-flush-cache", &v) && v;
    return f->sector_size == 512 ? 0 : -XEN_EINVAL; /* blktest's I/O is 512-byte based */
}

/* The first child of device/vbd, or -ENODEV. */
static int first_vbd(struct blkfront *f, uint32_t *devid)
{
    char names[256];
    int n = xenbus_directory(f->xb, XBT_NIL, "device/vbd", names, sizeof(names));
    if (n <= 0)
        return -XEN_ENODEV;
    uint32_t v = 0;
    for (const char *c = names; *c; c++)
        v = v * 10 + (uint32_t)(*c - '0');
    *devid = v;
    return 0;
}

int blkfront_open(struct blkfront *f, struct xenbus *xb, uint32_t devid)
{
    char p[128], tok[16];
    uint64_t bid;
    memset(f, 0, sizeof(*f));
    f->xb = xb;
    if (!devid && first_vbd(f, &devid))
        return -XEN_ENODEV;
    f->devid = devid;
    /* Relative paths are under our home, /local/domain/<us>. */
    xl_snprintf(f->fe, sizeof(f->fe), "device/vbd/%u", devid);
    xl_snprintf(p, sizeof(p), "%s/backend", f->fe);
    if (xenbus_read(xb, XBT_NIL, p, f->be, sizeof(f->be)) < 0 ||
        read_u(f, f->fe, "backend-id", &bid))
        return -XEN_ENODEV;
    f->backend_id = (domid_t)bid;
    f->state = XenbusStateInitialising;
    xl_snprintf(p, sizeof(p), "%s/state", f->be);
    if (xenbus_watch(xb, p, "blkfront"))
        return -XEN_EIO;
    int have_info = 0, info_bad = 0, mapped = 0, rc = -XEN_ETIMEDOUT;
    for (int round = 0; round < 200; round++) {
        uint64_t be = XenbusStateUnknown;
        int gone = read_u(f, f->be, "state", &be) == -XEN_ENOENT;
        struct xbfsm_in in = { .role = XBFSM_FRONTEND, .self = f->state, .other = (uint32_t)be,
                               .other_gone = gone, .have_info = have_info,
                               .info_bad = info_bad, .mapped = mapped };
        struct xbfsm_out o;
        if (xbfsm_step(&in, &o)) {
            rc = -XEN_EIO;
            break;
        }
        for (unsigned int i = 0; i < o.n; i++) {
            switch (o.act[i]) {
            case XBA_ALLOC_RING:
                if (alloc_ring(f))
                    info_bad = 1;
                else
                    mapped = 1;
                break;
            case XBA_WRITE_RING_INFO:
                if (write_ring_info(f))
                    info_bad = 1;
                break;
            case XBA_READ_BACKEND_INFO:
                if (read_backend_info(f))
                    info_bad = 1;
                else
                    have_info = 1;
                break;
            default:
                break;
            }
        }
        if (o.next != f->state)
            write_state(f, o.next);
        if (f->state == XenbusStateConnected) {
            rc = 0;
            break;
        }
        if (f->state == XenbusStateClosed || f->state == XenbusStateClosing) {
            rc = -XEN_EIO;
            break;
        }
        if (!o.n && o.next == in.self &&
            xenbus_read_watch(xb, p, sizeof(p), tok, sizeof(tok), 1))
            break;
        xl_snprintf(p, sizeof(p), "%s/state", f->be);
    }
    return rc;
}

/* Waits for responses: 1 when some are there to take, 0 after a nap
 * (look again), -EIO for a broken ring, -ETIMEDOUT when none came for
 * WAIT_NS since `last` (the caller's time of its last progress). */
static int await_responses(struct blkfront *f, uint64_t last)
{
    unsigned long seen = kicks;
    int n = frontring_pending(&f->ring);
    if (n < 0)
        return -XEN_EIO;
    if (n == 0 && !frontring_final_check(&f->ring)) {
        if (f->ring.broken)
            return -XEN_EIO;
        if (now_ns() - last > WAIT_NS)
            return -XEN_ETIMEDOUT;
        nap(seen);
        return 0;
    }
    return 1;
}

/* Waits for the responses of `want` requests; their statuses are folded
 * into the result (-EIO if any failed). */
static int collect(struct blkfront *f, unsigned int want)
{
    int result = 0;
    uint64_t last = now_ns();
    while (want) {
        int w = await_responses(f, last);
        if (w < 0)
            return w;
        if (!w)
            continue;
        struct blkif_response r;
        while (want && frontring_take(&f->ring, &r, sizeof(r)) == 0) {
            if (r.status != BLKIF_RSP_OKAY) {
                f->errors++;
                result = r.status == BLKIF_RSP_EOPNOTSUPP ? -XEN_EOPNOTSUPP : -XEN_EIO;
            }
            want--;
            last = now_ns();
        }
    }
    return result;
}

static void push(struct blkfront *f)
{
    if (frontring_push(&f->ring))
        evtchn_send(f->port);
}

int blkfront_rw(struct blkfront *f, uint64_t sector, void *buf, uint32_t nsect, int write)
{
    uint8_t *b = buf;
    static grant_ref_t refs[MAX_INFLIGHT * BLKIF_MAX_SEGMENTS_PER_REQUEST];
    if (((uintptr_t)buf & 4095) || f->state != XenbusStateConnected)
        return -XEN_EINVAL;
    int result = 0;
    while (nsect && !result) {
        /* One batch: up to MAX_INFLIGHT requests of up to 11 pages each. */
        unsigned int nreq = 0, nref = 0;
        while (nsect && nreq < MAX_INFLIGHT && frontring_free(&f->ring)) {
            struct blkif_request q = { .operation = write ? BLKIF_OP_WRITE : BLKIF_OP_READ,
                                       .id = nreq, .sector_number = sector };
            while (nsect && q.nr_segments < BLKIF_MAX_SEGMENTS_PER_REQUEST) {
                uint32_t n = nsect < 8 ? nsect : 8;
                long ref = gnttab_grant_access(f->backend_id, virt_to_mfn(b), write);
                if (ref < 0) {
                    result = (int)ref;
                    break;
                }
                refs[nref++] = (grant_ref_t)ref;
                q.seg[q.nr_segments++] = (struct blkif_request_segment){
                    .gref = (grant_ref_t)ref, .first_sect = 0, .last_sect = (uint8_t)(n - 1) };
                b += 4096;
                sector += n;
                nsect -= n;
            }
            if (!q.nr_segments)
                break;
            frontring_put(&f->ring, &q, sizeof(q));
            nreq++;
        }
        push(f);
        int rc = collect(f, nreq);
        if (rc && !result)
            result = rc;
        for (unsigned int i = 0; i < nref; i++)
            while (gnttab_end_access(refs[i]) == -XEN_EBUSY)
                HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    return result;
}

/* One stream request: slot's pages granted, the request on the ring. */
static int stream_put(struct blkfront *f, uint64_t sector, uint8_t *b, unsigned int seg,
                      unsigned int slot, grant_ref_t *refs, int write)
{
    struct blkif_request q = { .operation = write ? BLKIF_OP_WRITE : BLKIF_OP_READ,
                               .id = slot, .sector_number = sector, .nr_segments = (uint8_t)seg };
    for (unsigned int i = 0; i < seg; i++) {
        long ref = gnttab_grant_access(f->backend_id, virt_to_mfn(b + (size_t)i * 4096), write);
        if (ref < 0) {
            while (i--)
                gnttab_end_access(refs[i]);
            return (int)ref;
        }
        refs[i] = (grant_ref_t)ref;
        q.seg[i] = (struct blkif_request_segment){ .gref = (grant_ref_t)ref, .last_sect = 7 };
    }
    return frontring_put(&f->ring, &q, sizeof(q)) ? -XEN_EIO : 0;
}

int blkfront_stream(struct blkfront *f, uint64_t sector, uint64_t span, void *buf,
                    unsigned int seg, unsigned int depth, unsigned int nreq, int write)
{
    static grant_ref_t refs[MAX_INFLIGHT][BLKIF_MAX_SEGMENTS_PER_REQUEST];
    static unsigned char busy[MAX_INFLIGHT];
    uint8_t *b = buf;
    uint64_t off = 0, step = (uint64_t)seg * 8;
    unsigned int issued = 0, done = 0, inflight = 0;
    int result = 0;
    if (((uintptr_t)buf & 4095) || f->state != XenbusStateConnected || !seg ||
        seg > BLKIF_MAX_SEGMENTS_PER_REQUEST || !depth || depth > MAX_INFLIGHT ||
        depth > frontring_free(&f->ring) || span < step)
        return -XEN_EINVAL;
    memset(busy, 0, sizeof(busy));
    uint64_t last = now_ns();
    while (done < nreq) {
        /* Fill the free slots, then one notification for the lot. */
        for (unsigned int s = 0; s < depth && issued < nreq && !result; s++) {
            if (busy[s])
                continue;
            if (off + step > span)
                off = 0;
            result = stream_put(f, sector + off, b + (size_t)s * seg * 4096, seg, s, refs[s],
                                write);
            if (result)
                break;
            busy[s] = 1;
            off += step;
            issued++;
            inflight++;
        }
        push(f);
        if (result && !inflight)
            break;
        /* Take what has come back; block if nothing has. */
        int w = await_responses(f, last);
        if (w < 0)
            return w;
        if (!w)
            continue;
        struct blkif_response r;
        while (frontring_take(&f->ring, &r, sizeof(r)) == 0) {
            if (r.id >= depth || !busy[r.id]) {
                f->ring.broken = true;
                return -XEN_EIO;
            }
            if (r.status != BLKIF_RSP_OKAY) {
                f->errors++;
                result = -XEN_EIO;
            }
            for (unsigned int i = 0; i < seg; i++)
                while (gnttab_end_access(refs[r.id][i]) == -XEN_EBUSY)
                    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            busy[r.id] = 0;
            inflight--;
            done++;
            last = now_ns();
        }
        if (result && !inflight)
            break;
    }
    return result;
}

int blkfront_flush(struct blkfront *f)
{
    struct blkif_request q = { .operation = BLKIF_OP_FLUSH_DISKCACHE };
    int st = blkfront_raw(f, &q);
    return st == BLKIF_RSP_OKAY ? 0 : st < 0 ? st : -XEN_EIO;
}

int blkfront_raw(struct blkfront *f, const struct blkif_request *req)
{
    struct blkif_request q = *req;
    q.id = 0x5eed;
    if (frontring_put(&f->ring, &q, sizeof(q)))
        return -XEN_EIO;
    push(f);
    uint64_t last = now_ns();
    for (;;) {
        unsigned long seen = kicks;
        int n = frontring_pending(&f->ring);
        if (n < 0)
            return -XEN_EIO;
        if (n > 0) {
            struct blkif_response r;
            frontring_take(&f->ring, &r, sizeof(r));
            return r.status;
        }
        if (frontring_final_check(&f->ring))
            continue;
        if (now_ns() - last > WAIT_NS)
            return -XEN_ETIMEDOUT;
        nap(seen);
    }
}

int blkfront_close(struct blkfront *f)
{
    char p[128], tok[16];
    uint64_t be = 0;
    write_state(f, XenbusStateClosing);
    xl_snprintf(p, sizeof(p), "%s/state", f->be);
    /* The back end follows to Closing; then we are Closed, and it unmaps
     * the ring and goes Closed (or its node goes with the device). */
    for (int round = 0; round < 100; round++) {
        int rc = read_u(f, f->be, "state", &be);
        if (rc == -XEN_ENOENT || rc == -XEN_EACCES)
            be = XenbusStateClosed;
        if (f->state == XenbusStateClosing && be >= XenbusStateClosing)
            write_state(f, XenbusStateClosed);
        if (f->state == XenbusStateClosed && be == XenbusStateClosed)
            break;
        xenbus_read_watch(f->xb, p, sizeof(p), tok, sizeof(tok), 1);
        xl_snprintf(p, sizeof(p), "%s/state", f->be);
    }
    xenbus_unwatch(f->xb, p, "blkfront");
    if (be != XenbusStateClosed)
        return -XEN_ETIMEDOUT;
    evtchn_unbind(f->port);
    evtchn_close(f->port);
    long rc = gnttab_end_access(f->ring_ref);
    return (int)rc;
}
