/*
 * vdisk.c - dom0's `vdisk` command on the control line: a test of the
 * block devices through the blkdev interface (xlguest/blkdev.h), with
 * several requests in flight.
 *   vdisk list                          devices, sizes, features
 *   vdisk fill DEV SECTOR COUNT BYTE    write COUNT sectors from SECTOR
 *   vdisk check DEV SECTOR COUNT BYTE   read them back and compare
 *   vdisk flush DEV                     a cache flush
 *   vdisk reset DEV                     reads in flight, then a device
 *                                       reset (virtio-blk's error path):
 *                                       each must come back exactly once
 * The pattern of sector s: its number s as 8 little-endian bytes, then
 * 504 bytes of BYTE (so a sector written at the wrong place is caught).
 * Runs in dom0's service loop (synchronously: the loop waits for it).
 * Must never: free or reuse a buffer the device may still write (a
 * request that never completes keeps its buffers for good).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/blkdev.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/time.h>
#include <xlguest/virtio_blk.h>
#include "svc.h"

#define VD_REQS 8               /* at most this many of ours in flight */
#define VD_SEGS 8               /* pages per request: 64 sectors */
#define VD_TIMEOUT_NS 30000000000ULL

struct vd_req {
    struct blkdev_req r;
    void *buf;                  /* VD_SEGS pages */
    int busy, done, status;
};

static struct vd_req vd[VD_REQS];
static int vd_stuck;            /* buffers lost to a request that never came back */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    char b[200];
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(b) - 1)
        n = sizeof(b) - 1;
    ctl_write(b, (size_t)n);
    printk("dom0: %s", b);
}

static int parse_u64(const char *s, uint64_t *v)
{
    unsigned int base = 10;
    *v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    if (!*s)
        return -XEN_EINVAL;
    for (; *s; s++) {
        unsigned int d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned int)(*s - '0');
        else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
            d = (unsigned int)((*s | 0x20) - 'a' + 10);
        else
            return -XEN_EINVAL;
        if (*v > (~0ULL - d) / base)
            return -XEN_EINVAL;
        *v = *v * base + d;
    }
    return 0;
}

static uint64_t now_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

static void vd_done(struct blkdev_req *r, int status)
{
    struct vd_req *q = r->priv;
    q->status = status;
    q->done++;
}

static void pattern(uint8_t *p, uint64_t sector, uint8_t byte)
{
    memcpy(p, &sector, 8);
    memset(p + 8, byte, BLKDEV_SECTOR - 8);
}

static int vd_list(void)
{
    unsigned int i;
    for (i = 0; blkdev_get(i); i++) {
        const struct blkdev_info *in = blkdev_info(blkdev_get(i));
        out("%s: %lu sectors (%lu MiB), block %u, %s%s, %u in flight max\n", in->name,
            (unsigned long)in->nr_sectors, (unsigned long)(in->nr_sectors >> 11),
            in->lblock_size, in->read_only ? "read-only" : "read-write",
            in->has_flush ? ", flush" : "", in->max_inflight);
        char line[200];
        if (virtio_blk_describe(i, line, sizeof(line)) > 0)
            out("  %s\n", line);
    }
    if (!i)
        out("vdisk: no block devices\n");
    return 0;
}

/* Runs op over [sector, sector + count) with up to VD_REQS requests in
 * flight; for a read compares with the pattern. Status for the line. */
static int vd_io(struct blkdev *d, enum blkdev_op op, uint64_t sector, uint64_t count,
                 uint8_t byte)
{
    const char *what = op == BLKDEV_WRITE ? "fill" : "check";
    uint64_t next = sector, end = sector + count, bad = 0, first_bad = 0;
    unsigned int out_now = 0, peak = 0, nreq = 0, errors = 0;
    int first_err = 0;
    uint64_t t0 = now_ns();
    for (unsigned int i = 0; i < VD_REQS; i++)
        if (!vd[i].buf && !(vd[i].buf = pages_alloc(VD_SEGS))) {
            out("vdisk: no memory for buffers\n");
            return 1;
        }
    while ((next < end && !errors) || out_now) {
        /* Queue as many as the device takes. */
        for (unsigned int i = 0; i < VD_REQS && next < end && !errors; i++) {
            struct vd_req *q = &vd[i];
            if (q->busy)
                continue;
            uint64_t n = end - next < VD_SEGS * 8 ? end - next : VD_SEGS * 8;
            q->r = (struct blkdev_req){ .op = op, .sector = next, .done = vd_done, .priv = q };
            for (uint64_t s = 0; s < n; s += 8) {
                uint8_t *pg = (uint8_t *)q->buf + s * BLKDEV_SECTOR;
                uint32_t len = (uint32_t)((n - s < 8 ? n - s : 8) * BLKDEV_SECTOR);
                q->r.seg[q->r.nr_segs++] = (struct blkdev_seg){ virt_to_mfn(pg) << 12, len };
                for (uint32_t k = 0; k < len; k += BLKDEV_SECTOR)
                    if (op == BLKDEV_WRITE)
                        pattern(pg + k, next + s + k / BLKDEV_SECTOR, byte);
                    else
                        memset(pg + k, ~byte, BLKDEV_SECTOR);
            }
            int rc = blkdev_submit(d, &q->r);
            if (rc == -XEN_EBUSY)
                break;
            if (rc) {
                errors++, first_err = rc;
                break;
            }
            q->busy = 1, q->done = 0;
            next += n, nreq++, out_now++;
            if (out_now > peak)
                peak = out_now;
        }
        blkdev_poll();
        int progress = 0;
        for (unsigned int i = 0; i < VD_REQS; i++) {
            struct vd_req *q = &vd[i];
            if (!q->busy || !q->done)
                continue;
            q->busy = 0, out_now--, progress = 1;
            if (q->done > 1 && !errors++)
                first_err = -XEN_EEXIST;    /* completed twice */
            if (q->status) {
                if (!errors++)
                    first_err = q->status;
                continue;
            }
            for (uint32_t sg = 0; op == BLKDEV_READ && sg < q->r.nr_segs; sg++) {
                uint8_t *pg = (uint8_t *)q->buf + sg * 4096;
                for (uint32_t k = 0; k < q->r.seg[sg].len; k += BLKDEV_SECTOR) {
                    uint8_t want[BLKDEV_SECTOR];
                    uint64_t s = q->r.sector + sg * 8 + k / BLKDEV_SECTOR;
                    pattern(want, s, byte);
                    if (memcmp(want, pg + k, BLKDEV_SECTOR) && !bad++)
                        first_bad = s;
                }
            }
        }
        if (!progress && now_ns() - t0 > VD_TIMEOUT_NS) {
            out("vdisk: %s %s: %u requests never completed; their buffers are lost\n", what,
                d->info.name, out_now);
            for (unsigned int i = 0; i < VD_REQS; i++)
                if (vd[i].busy)
                    vd[i].buf = NULL;   /* the device may still write them */
            vd_stuck = 1;
            return 1;
        }
        if (!progress)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    uint64_t us = (now_ns() - t0) / 1000;
    if (errors) {
        out("vdisk: %s %s: %u requests failed (first error %d)\n", what, d->info.name, errors,
            first_err);
        return 1;
    }
    uint64_t kib = count / 2;
    out("vdisk: %s %s: %lu sectors from %lu in %u requests (%u in flight at most), %lu us, "
        "%lu KiB/s\n",
        what, d->info.name, (unsigned long)count, (unsigned long)sector, nreq, peak,
        (unsigned long)us, (unsigned long)(us ? kib * 1000000 / us : 0));
    if (bad) {
        out("vdisk: check %s: %lu bad sectors, the first at %lu\n", d->info.name,
            (unsigned long)bad, (unsigned long)first_bad);
        return 1;
    }
    if (op == BLKDEV_READ)
        out("vdisk: check %s: all %lu sectors match\n", d->info.name, (unsigned long)count);
    return 0;
}

static int vd_reset(struct blkdev *d)
{
    unsigned int sub = 0, ok = 0, eio = 0, other = 0, twice = 0;
    uint64_t per = VD_SEGS * 8;
    for (unsigned int i = 0; i < VD_REQS; i++) {
        struct vd_req *q = &vd[i];
        if (q->busy || (!q->buf && !(q->buf = pages_alloc(VD_SEGS))))
            return 1;
        if ((i + 1) * per > d->info.nr_sectors)
            break;
        q->r = (struct blkdev_req){ .op = BLKDEV_READ, .sector = i * per, .done = vd_done,
                                    .priv = q };
        for (uint32_t sg = 0; sg < VD_SEGS; sg++)
            q->r.seg[q->r.nr_segs++] =
                (struct blkdev_seg){ virt_to_mfn((uint8_t *)q->buf + sg * 4096) << 12, 4096 };
        q->done = 0;
        if (blkdev_submit(d, &q->r))
            break;
        q->busy = 1;
        sub++;
    }
    if (virtio_blk_request_reset(d->info.name)) {
        out("vdisk: %s is no virtio-blk device\n", d->info.name);
    }
    uint64_t t0 = now_ns();
    unsigned int left = sub;
    while (left && now_ns() - t0 < VD_TIMEOUT_NS) {
        blkdev_poll();
        left = 0;
        for (unsigned int i = 0; i < VD_REQS; i++)
            left += vd[i].busy && !vd[i].done;
    }
    blkdev_poll();      /* the reset itself, if nothing was in flight */
    for (unsigned int i = 0; i < VD_REQS; i++) {
        struct vd_req *q = &vd[i];
        if (!q->busy)
            continue;
        if (!q->done) {
            q->buf = NULL;      /* the device may still write it */
            vd_stuck = 1;
            continue;
        }
        q->busy = 0;
        twice += q->done > 1;
        if (!q->status)
            ok++;
        else if (q->status == -XEN_EIO)
            eio++;
        else
            other++;
    }
    out("vdisk: reset %s: %u reads submitted, %u done, %u failed with -EIO, %u other, "
        "%u never, %u twice\n",
        d->info.name, sub, ok, eio, other, left, twice);
    return ok + eio == sub && !other && !left && !twice ? 0 : 1;
}

static int vd_flush(struct blkdev *d)
{
    struct vd_req *q = &vd[0];
    if (q->busy)
        return 1;
    q->r = (struct blkdev_req){ .op = BLKDEV_FLUSH, .done = vd_done, .priv = q };
    q->done = 0;
    int rc = blkdev_submit(d, &q->r);
    uint64_t t0 = now_ns();
    while (!rc && !q->done && now_ns() - t0 < VD_TIMEOUT_NS)
        if (!blkdev_poll())
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    if (!rc && !q->done) {
        q->busy = 1;
        out("vdisk: flush %s never completed\n", d->info.name);
        return 1;
    }
    if (!rc)
        rc = q->status;
    out("vdisk: flush %s: %d, %lu us\n", d->info.name, rc,
        (unsigned long)((now_ns() - t0) / 1000));
    return rc ? 1 : 0;
}

int vdisk_run_line(char *line)
{
    char *arg[6];
    unsigned int n = 0;
    for (char *p = line; *p && n < 6;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        arg[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    printk("dom0: ctl> vdisk%s%s\n", n > 1 ? " " : "", n > 1 ? arg[1] : "");
    if (n == 2 && !strcmp(arg[1], "list"))
        return vd_list();
    struct blkdev *d = n >= 3 ? blkdev_find(arg[2]) : NULL;
    if (n >= 3 && !d) {
        out("vdisk: no device %s\n", arg[2]);
        return 1;
    }
    if (n == 3 && !strcmp(arg[1], "flush"))
        return vd_flush(d);
    if (n == 3 && !strcmp(arg[1], "reset"))
        return vd_reset(d);
    uint64_t sector, count, byte;
    if (n == 6 && (!strcmp(arg[1], "fill") || !strcmp(arg[1], "check")) &&
        !parse_u64(arg[3], &sector) && !parse_u64(arg[4], &count) && count &&
        !parse_u64(arg[5], &byte) && byte < 256) {
        if (vd_stuck) {
            out("vdisk: an earlier request never completed; not starting another\n");
            return 1;
        }
        return vd_io(d, arg[1][0] == 'f' ? BLKDEV_WRITE : BLKDEV_READ, sector, count,
                     (uint8_t)byte);
    }
    out("usage: vdisk list | vdisk fill|check DEV SECTOR COUNT BYTE | vdisk flush|reset DEV\n");
    return 2;
}
