/*
 * vdisk.c - dom0's `vdisk` command on the control line: a test of the
 * block devices through the blkdev interface (xlguest/blkdev.h), with
 * several requests in flight.
 *   vdisk list                          devices, sizes, features
 *   vdisk fill DEV SECTOR COUNT BYTE    write COUNT sectors from SECTOR
 *   vdisk check DEV SECTOR COUNT BYTE   read them back and compare
 *   ... [bg]                            fill/check in the background: the
 *                                       service loop's blkdev_poll drives
 *                                       it (as it drives blkback)
 *   vdisk status                        the last fill/check: running
 *                                       (exit 3) or its result
 *   vdisk flush DEV                     a cache flush
 *   vdisk reset DEV                     reads in flight, then a device
 *                                       reset (virtio-blk's error path):
 *                                       each must come back exactly once
 * The pattern of sector s: its number s as 8 little-endian bytes, then
 * 504 bytes of BYTE (so a sector written at the wrong place is caught).
 * Runs in dom0's service loop (synchronously, except the bg jobs).
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
        svc_out("%s: %lu sectors (%lu MiB), block %u, %s%s, %u in flight max\n", in->name,
            (unsigned long)in->nr_sectors, (unsigned long)(in->nr_sectors >> 11),
            in->lblock_size, in->read_only ? "read-only" : "read-write",
            in->has_flush ? ", flush" : "", in->max_inflight);
        /* The driver's own line, if it is a virtio-blk disk (blkdev
         * indices are not the driver's: other disks may register). */
        char line[200];
        size_t nl = strlen(in->name);
        for (unsigned int j = 0; virtio_blk_describe(j, line, sizeof(line)) > 0; j++)
            if (!strncmp(line, in->name, nl) && line[nl] == ':')
                svc_out("  %s\n", line);
    }
    if (!i)
        svc_out("vdisk: no block devices\n");
    return 0;
}

/* A fill or check: requests of up to VD_SEGS pages, the next one queued
 * from the completion of the last (as a back end does), so it runs the
 * same from the command's own loop or, in the background, from the
 * service loop's blkdev_poll. */
struct vd_job {
    struct blkdev *d;
    enum blkdev_op op;
    uint8_t byte, bg;
    int running;
    uint64_t sector, count, next, end, bad, first_bad, t0, t_end;
    unsigned int out_now, peak, nreq, errors;
    int first_err;
};

static struct vd_job job;

static const char *job_what(const struct vd_job *j)
{
    return j->op == BLKDEV_WRITE ? "fill" : "check";
}

static void job_fail(struct vd_job *j, int err)
{
    if (!j->errors++)
        j->first_err = err;
}

/* Compares a completed read with the pattern. */
static void job_verify(struct vd_job *j, const struct vd_req *q)
{
    for (uint32_t sg = 0; sg < q->r.nr_segs; sg++) {
        const uint8_t *pg = (const uint8_t *)q->buf + sg * 4096;
        for (uint32_t k = 0; k < q->r.seg[sg].len; k += BLKDEV_SECTOR) {
            uint8_t want[BLKDEV_SECTOR];
            uint64_t s = q->r.sector + sg * 8 + k / BLKDEV_SECTOR;
            pattern(want, s, j->byte);
            if (memcmp(want, pg + k, BLKDEV_SECTOR) && !j->bad++)
                j->first_bad = s;
        }
    }
}

static void job_done(struct blkdev_req *r, int status);

/* Queues requests while the device takes them; ends the job when
 * nothing is left in flight. */
static void job_pump(struct vd_job *j)
{
    for (unsigned int i = 0; i < VD_REQS && j->next < j->end && !j->errors; i++) {
        struct vd_req *q = &vd[i];
        if (q->busy)
            continue;
        uint64_t n = j->end - j->next < VD_SEGS * 8 ? j->end - j->next : VD_SEGS * 8;
        q->r = (struct blkdev_req){ .op = j->op, .sector = j->next, .done = job_done, .priv = q };
        for (uint64_t s = 0; s < n; s += 8) {
            uint8_t *pg = (uint8_t *)q->buf + s * BLKDEV_SECTOR;
            uint32_t len = (uint32_t)((n - s < 8 ? n - s : 8) * BLKDEV_SECTOR);
            q->r.seg[q->r.nr_segs++] = (struct blkdev_seg){ virt_to_mfn(pg) << 12, len };
            for (uint32_t k = 0; k < len; k += BLKDEV_SECTOR)
                if (j->op == BLKDEV_WRITE)
                    pattern(pg + k, j->next + s + k / BLKDEV_SECTOR, j->byte);
                else
                    memset(pg + k, ~j->byte, BLKDEV_SECTOR);
        }
        q->busy = 1, q->done = 0;
        int rc = blkdev_submit(j->d, &q->r);
        if (rc) {
            q->busy = 0;
            /* -EBUSY with nothing of ours out: someone else fills the
             * device and no completion of ours will call us again. */
            if (rc != -XEN_EBUSY || (!j->out_now && j->bg))
                job_fail(j, rc);
            break;
        }
        j->next += n, j->nreq++, j->out_now++;
        if (j->out_now > j->peak)
            j->peak = j->out_now;
    }
    if (!j->out_now && (j->next >= j->end || j->errors) && j->running) {
        j->running = 0;
        j->t_end = now_ns();
    }
}

static void job_done(struct blkdev_req *r, int status)
{
    struct vd_req *q = r->priv;
    struct vd_job *j = &job;
    if (q->done++) {
        job_fail(j, -XEN_EEXIST);   /* completed twice */
        return;
    }
    q->busy = 0;
    j->out_now--;
    if (status)
        job_fail(j, status);
    else if (j->op == BLKDEV_READ)
        job_verify(j, q);
    job_pump(j);
}

/* The job's result line(s); the command's status. */
static int job_report(const struct vd_job *j)
{
    const char *what = job_what(j), *name = j->d->info.name;
    if (j->running) {
        svc_out("vdisk: %s %s: running, %lu of %lu sectors queued, %u in flight\n", what, name,
            (unsigned long)(j->next - j->sector), (unsigned long)j->count, j->out_now);
        return 3;
    }
    if (j->errors) {
        svc_out("vdisk: %s %s: %u requests failed (first error %d)\n", what, name, j->errors,
            j->first_err);
        return 1;
    }
    uint64_t us = (j->t_end - j->t0) / 1000;
    svc_out("vdisk: %s %s: %lu sectors from %lu in %u requests (%u in flight at most), %lu us, "
        "%lu KiB/s%s\n",
        what, name, (unsigned long)j->count, (unsigned long)j->sector, j->nreq, j->peak,
        (unsigned long)us, (unsigned long)(us ? j->count / 2 * 1000000 / us : 0),
        j->bg ? " (background)" : "");
    if (j->bad) {
        svc_out("vdisk: check %s: %lu bad sectors, the first at %lu\n", name, (unsigned long)j->bad,
            (unsigned long)j->first_bad);
        return 1;
    }
    if (j->op == BLKDEV_READ)
        svc_out("vdisk: check %s: all %lu sectors match\n", name, (unsigned long)j->count);
    return 0;
}

/* Starts a job; in the foreground waits for it (polling the devices
 * itself), in the background returns at once: the service loop's
 * blkdev_poll completes it, `vdisk status` reports. */
static int vd_io(struct blkdev *d, enum blkdev_op op, uint64_t sector, uint64_t count,
                 uint8_t byte, int bg)
{
    if (job.running) {
        svc_out("vdisk: a %s of %s is still running\n", job_what(&job), job.d->info.name);
        return 1;
    }
    for (unsigned int i = 0; i < VD_REQS; i++)
        if (!vd[i].buf && !(vd[i].buf = pages_alloc(VD_SEGS))) {
            svc_out("vdisk: no memory for buffers\n");
            return 1;
        }
    job = (struct vd_job){ .d = d, .op = op, .byte = byte, .bg = (uint8_t)bg, .running = 1,
                           .sector = sector, .count = count, .next = sector,
                           .end = sector + count, .t0 = now_ns() };
    job_pump(&job);
    if (bg) {
        svc_out("vdisk: %s %s: started in the background\n", job_what(&job), d->info.name);
        return 0;
    }
    uint64_t last = now_ns(), done_before = 0;
    while (job.running) {
        /* The device may be busy with another user's requests. */
        if (!job.out_now)
            job_pump(&job);
        if (blkdev_poll()) {
            last = now_ns();
            continue;
        }
        if (job.next != done_before)
            done_before = job.next, last = now_ns();
        if (now_ns() - last > VD_TIMEOUT_NS) {
            svc_out("vdisk: %s %s: %u requests never completed; their buffers are lost\n",
                job_what(&job), d->info.name, job.out_now);
            for (unsigned int i = 0; i < VD_REQS; i++)
                if (vd[i].busy)
                    vd[i].buf = NULL;   /* the device may still write them */
            vd_stuck = 1;
            job.running = 0;
            return 1;
        }
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    return job_report(&job);
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
        svc_out("vdisk: %s is no virtio-blk device\n", d->info.name);
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
    svc_out("vdisk: reset %s: %u reads submitted, %u done, %u failed with -EIO, %u other, "
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
        svc_out("vdisk: flush %s never completed\n", d->info.name);
        return 1;
    }
    if (!rc)
        rc = q->status;
    svc_out("vdisk: flush %s: %d, %lu us\n", d->info.name, rc,
        (unsigned long)((now_ns() - t0) / 1000));
    return rc ? 1 : 0;
}

int vdisk_run_line(char *line)
{
    char *arg[7];
    unsigned int n = svc_split_args(line, arg, 7);
    printk("dom0: ctl> vdisk%s%s\n", n > 1 ? " " : "", n > 1 ? arg[1] : "");
    if (n == 2 && !strcmp(arg[1], "list"))
        return vd_list();
    if (n == 2 && !strcmp(arg[1], "status")) {
        if (!job.d) {
            svc_out("vdisk: no fill or check was started\n");
            return 1;
        }
        return job_report(&job);
    }
    struct blkdev *d = n >= 3 ? blkdev_find(arg[2]) : NULL;
    if (n >= 3 && !d) {
        svc_out("vdisk: no device %s\n", arg[2]);
        return 1;
    }
    if (n == 3 && job.running) {
        svc_out("vdisk: a %s of %s is still running\n", job_what(&job), job.d->info.name);
        return 1;
    }
    if (n == 3 && !strcmp(arg[1], "flush"))
        return vd_flush(d);
    if (n == 3 && !strcmp(arg[1], "reset"))
        return vd_reset(d);
    uint64_t sector, count, byte;
    int bg = n == 7 && !strcmp(arg[6], "bg");
    if ((n == 6 || bg) && (!strcmp(arg[1], "fill") || !strcmp(arg[1], "check")) &&
        !parse_u64(arg[3], &sector) && !parse_u64(arg[4], &count) && count &&
        !parse_u64(arg[5], &byte) && byte < 256) {
        if (vd_stuck) {
            svc_out("vdisk: an earlier request never completed; not starting another\n");
            return 1;
        }
        return vd_io(d, arg[1][0] == 'f' ? BLKDEV_WRITE : BLKDEV_READ, sector, count,
                     (uint8_t)byte, bg);
    }
    svc_out("usage: vdisk list|status | vdisk fill|check DEV SECTOR COUNT BYTE [bg] | "
        "vdisk flush|reset DEV\n");
    return 2;
}
