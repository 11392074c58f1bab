/*
 * blktest.c - a PV test kernel for blkif (guest-drivers/blk/blkfront.c
 * against dom0's blkback): connects to its first vbd and, by mode=,
 *   write (default)  writes a pattern (pattern=SEED, sectors=N) to [0, N),
 *                    reads it back and checks every byte;
 *   read             only reads [0, N) and checks the pattern (persistence);
 *                    on a read-only disk (access=ro) a write must fail;
 *   zero             reads [0, N) and checks that it is all zeros;
 *   pastend          reads at the disk's end and across it: both must get
 *                    an error response, and the buffer no data;
 *   hostile          puts garbage on the ring (bad grant refs, sectors out
 *                    of range, bad segments, too many segments, unknown
 *                    ops), each must get an error response; then a storm
 *                    of requests; then a producer index jump past the
 *                    ring size, after which the back end must disconnect;
 *   hotplug          waits for a vbd to appear (xl block-attach), runs
 *                    the write mode on it, then waits for the back end
 *                    to close it (xl block-detach) and closes too;
 *   badring          lies in the xenstore handshake (a ring-ref never
 *                    granted, a 32-bit protocol): the back end must close;
 *   loop             rounds of 64 sectors written and read back, rounds=R
 *                    times or forever (for xl destroy mid-I/O);
 *   bench            numbers, no verdict on them: for 4 KiB and 44 KiB
 *                    (11-segment) requests, reads then writes, with
 *                    depth=D (default 8) and with 1 in flight, count=N
 *                    (default 400) requests, sequential, wrapping in
 *                    the disk's first 8 MiB (or sectors=S if less): a line
 *                    "bench: blk NAME: T ticks/op (N ops)" plus rates.
 * The pattern: 64-bit little-endian word w of sector s is
 * (s << 24) | (w << 16) | (SEED & 0xffff), XORed with 0x5a5a5a5a00000000,
 * so a sector in the wrong place, a torn sector and another seed all show.
 * Verdict lines: "blktest: ..." then "blktest: N passed, M failed".
 * Owns: nothing outside itself. Must never: spin without blocking.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/blkfront.h>
#include <xlguest/console_ring.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/traps.h>
#include <xlguest/xenbus.h>
#include "testlog.h"

#define CHUNK_SECTORS 256u          /* 128 KiB per blkfront_rw */

static struct blkfront bf;

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void on_timer(evtchn_port_t p, void *d) { (void)p; (void)d; }

static uint64_t word(uint64_t s, unsigned int w, uint64_t seed)
{
    return ((s << 24) | ((uint64_t)w << 16) | (seed & 0xffff)) ^ 0x5a5a5a5a00000000ULL;
}

static void fill(uint64_t *buf, uint64_t first, uint32_t n, uint64_t seed)
{
    for (uint32_t i = 0; i < n; i++)
        for (unsigned int w = 0; w < 64; w++)
            buf[i * 64 + w] = word(first + i, w, seed);
}

/* Bad sectors in buf: those not matching the pattern (or not zero). */
static uint32_t verify(const uint64_t *buf, uint64_t first, uint32_t n, uint64_t seed, int zero)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++)
        for (unsigned int w = 0; w < 64; w++)
            if (buf[i * 64 + w] != (zero ? 0 : word(first + i, w, seed))) {
                if (bad < 3)
                    say("blktest: sector %lu word %u: %#lx\n", (unsigned long)(first + i), w,
                        (unsigned long)buf[i * 64 + w]);
                bad++;
                break;
            }
    return bad;
}

static uint64_t parse_num(const char *s)
{
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (uint64_t)(*s - '0');
    return v;
}

static void run_pattern(uint64_t *buf, uint64_t nsect, uint64_t seed, int write, int zero)
{
    uint32_t bad = 0;
    int errs = 0;
    if (write) {
        for (uint64_t s = 0; s < nsect; s += CHUNK_SECTORS) {
            uint32_t n = (uint32_t)(nsect - s < CHUNK_SECTORS ? nsect - s : CHUNK_SECTORS);
            fill(buf, s, n, seed);
            if (blkfront_rw(&bf, s, buf, n, 1))
                errs++;
        }
        check("writes answered OKAY", errs, 0);
        if (bf.flush)
            check("flush", blkfront_flush(&bf), 0);
    }
    errs = 0;
    for (uint64_t s = 0; s < nsect; s += CHUNK_SECTORS) {
        uint32_t n = (uint32_t)(nsect - s < CHUNK_SECTORS ? nsect - s : CHUNK_SECTORS);
        memset(buf, 0xee, (size_t)n * 512);
        if (blkfront_rw(&bf, s, buf, n, 0))
            errs++;
        bad += verify(buf, s, n, seed, zero);
    }
    check("reads answered OKAY", errs, 0);
    check(zero ? "every sector reads as zeros" : "every sector has the pattern", bad, 0);
    if (write)
        say("blktest: %lu sectors written, read back, %u bad\n", (unsigned long)nsect, bad);
    else
        say("blktest: %lu sectors read, %u %s\n", (unsigned long)nsect, bad,
            zero ? "not zero" : "bad");
}

static void run_pastend(uint64_t *buf)
{
    uint64_t end = bf.sectors;
    memset(buf, 0, 8192);
    check("read at the disk's end fails", blkfront_rw(&bf, end, buf, 8, 0), -XEN_EIO);
    check("read across the disk's end fails", blkfront_rw(&bf, end - 4, buf, 8, 0), -XEN_EIO);
    check("read far past the end fails", blkfront_rw(&bf, end + (1ULL << 30), buf, 8, 0),
          -XEN_EIO);
    check("  and brought no data", verify(buf, 0, 16, 0, 1), 0);
    check("the last sector still reads", blkfront_rw(&bf, end - 1, buf, 1, 0), 0);
    say("blktest: past the end of %lu sectors: refused\n", (unsigned long)end);
}

static void run_hostile(uint64_t *buf)
{
    long ref = gnttab_grant_access(bf.backend_id, virt_to_mfn(buf), 0);
    struct blkif_request q;
    int errors = 0;
#define BAD(name, ...) do { \
        q = (struct blkif_request){ __VA_ARGS__ }; \
        int st_ = blkfront_raw(&bf, &q); \
        check(name, st_ == BLKIF_RSP_ERROR || st_ == BLKIF_RSP_EOPNOTSUPP, 1); \
        errors += st_ == -XEN_ETIMEDOUT || st_ == -XEN_EIO; \
    } while (0)
    BAD("bad grant ref -> error", .operation = BLKIF_OP_READ, .nr_segments = 1,
        .seg[0] = { .gref = 4000, .first_sect = 0, .last_sect = 7 });
    BAD("reserved grant ref -> error", .operation = BLKIF_OP_WRITE, .nr_segments = 1,
        .seg[0] = { .gref = 1, .first_sect = 0, .last_sect = 7 });
    BAD("sector out of range -> error", .operation = BLKIF_OP_READ, .nr_segments = 1,
        .sector_number = bf.sectors, .seg[0] = { .gref = (grant_ref_t)ref, .last_sect = 7 });
    BAD("sector near 2^64 -> error", .operation = BLKIF_OP_READ, .nr_segments = 1,
        .sector_number = ~0ULL - 3, .seg[0] = { .gref = (grant_ref_t)ref, .last_sect = 7 });
    BAD("first_sect > last_sect -> error", .operation = BLKIF_OP_READ, .nr_segments = 1,
        .seg[0] = { .gref = (grant_ref_t)ref, .first_sect = 5, .last_sect = 2 });
    BAD("last_sect 8 -> error", .operation = BLKIF_OP_READ, .nr_segments = 1,
        .seg[0] = { .gref = (grant_ref_t)ref, .first_sect = 0, .last_sect = 8 });
    BAD("12 segments -> error", .operation = BLKIF_OP_READ, .nr_segments = 12,
        .seg[0] = { .gref = (grant_ref_t)ref, .last_sect = 7 });
    BAD("0 segments read -> error", .operation = BLKIF_OP_READ, .nr_segments = 0);
    BAD("unknown op -> error", .operation = 99, .nr_segments = 1,
        .seg[0] = { .gref = (grant_ref_t)ref, .last_sect = 7 });
    BAD("discard not offered -> error", .operation = BLKIF_OP_DISCARD);
    check("no request went unanswered", errors, 0);
    /* A storm: the ring filled again and again with bad requests. */
    unsigned int answered = 0;
    for (int round = 0; round < 50; round++) {
        unsigned int n = 0;
        while (frontring_free(&bf.ring)) {
            q = (struct blkif_request){ .operation = BLKIF_OP_READ, .nr_segments = 1,
                                        .id = n, .sector_number = bf.sectors + n,
                                        .seg[0] = { .gref = (grant_ref_t)ref, .last_sect = 7 } };
            frontring_put(&bf.ring, &q, sizeof(q));
            n++;
        }
        if (frontring_push(&bf.ring))
            evtchn_send(bf.port);
        for (unsigned int got = 0, tries = 0; got < n && tries < 1000000; tries++) {
            struct blkif_response r;
            if (frontring_pending(&bf.ring) > 0) {
                while (frontring_take(&bf.ring, &r, sizeof(r)) == 0) {
                    got++;
                    answered += r.status == BLKIF_RSP_ERROR;
                }
            } else {
                HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            }
        }
    }
    check("storm: every request answered with an error", answered, 50 * 32);
    /* A good read still works after all that. */
    check("a good read after the storm", blkfront_rw(&bf, 0, buf, 8, 0), 0);
    /* Producer jump: req_prod far beyond the ring. The back end must stop
     * serving us (state Closing), not answer garbage. */
    bf.ring.hdr->req_prod += 1000;
    evtchn_send(bf.port);
    char p[128], tok[16];
    uint64_t st = 0;
    xl_snprintf(p, sizeof(p), "%s/state", bf.be);
    xenbus_watch(bf.xb, p, "jump");
    for (int i = 0; i < 50; i++) {
        if (xenbus_read_u64(bf.xb, XBT_NIL, p, &st) || st >= 5)
            break;
        char ep[128];
        xenbus_read_watch(bf.xb, ep, sizeof(ep), tok, sizeof(tok), 1);
    }
    check("producer jump: the back end disconnects (Closing)", (long)st, 5);
    say("blktest: hostile done\n");
}

/* rounds 0: forever (until xl destroy). Each round writes 64 sectors
 * of the pattern and reads them back. */
static void run_loop(uint64_t *buf, uint64_t nsect, uint64_t seed, uint64_t rounds)
{
    uint32_t bad = 0, errs = 0;
    unsigned long round;
    for (round = 0; !rounds || round < rounds; round++) {
        uint64_t s = (round * 64) % (nsect > 64 ? nsect - 64 : 1);
        fill(buf, s, 64, seed);
        errs += blkfront_rw(&bf, s, buf, 64, 1) != 0;
        memset(buf, 0, 64 * 512);
        errs += blkfront_rw(&bf, s, buf, 64, 0) != 0;
        bad += verify(buf, s, 64, seed, 0);
        if (round % 100 == 0)
            say("blktest: loop round %lu, %u bad, %u errors\n", round, bad, errs);
    }
    check("loop: every request OKAY", errs, 0);
    check("loop: every sector read back right", bad, 0);
    say("blktest: loop: %lu rounds, %u bad\n", round, bad);
}

static inline uint64_t bench_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* One bench case: TSC ticks around n streamed requests. Under QEMU
 * -icount shift=0 a tick is one retired instruction and 1 ns of virtual
 * time, so the rates are per second of virtual time. */
static void bench_case(uint64_t *buf, uint64_t span, unsigned int seg, unsigned int depth,
                       unsigned int n, int write)
{
    char name[48];
    xl_snprintf(name, sizeof(name), "%s %u KiB seq, %u in flight", write ? "write" : "read",
                seg * 4, depth);
    /* A few requests first so the back end's first-touch work is not timed. */
    int rc = blkfront_stream(&bf, 0, span, buf, seg, depth, depth, write);
    uint64_t t0 = bench_tsc();
    if (!rc)
        rc = blkfront_stream(&bf, 0, span, buf, seg, depth, n, write);
    uint64_t t = bench_tsc() - t0;
    check(name, rc, 0);
    if (rc || !t)
        return;
    uint64_t per = t / n, rps = (uint64_t)n * 1000000000ULL / t;
    uint64_t kbps = rps * seg * 4 * 1024 / 1000;     /* bytes/s / 1000 */
    say("bench: blk %s: %lu ticks/op (%u ops), %lu req/s, %lu.%02lu MB/s (virtual time)\n", name,
        (unsigned long)per, n, (unsigned long)rps, (unsigned long)(kbps / 1000),
        (unsigned long)(kbps % 1000 / 10));
}

static void run_bench(uint64_t *buf, uint64_t span, unsigned int depth, unsigned int n)
{
    static const unsigned int segs[] = { 1, 11 };
    say("bench: blk: TSC ticks per request around %u requests each; under QEMU -icount "
        "shift=0 ticks = instructions retired (all CPUs, hv + dom0 + domU) = ns of virtual "
        "time, so req/s and MB/s are in virtual time\n", n);
    for (unsigned int w = 0; w < 2; w++)
        for (unsigned int i = 0; i < 2; i++) {
            bench_case(buf, span, segs[i], depth, n, (int)w);
            if (depth != 1)
                bench_case(buf, span, segs[i], 1, n, (int)w);
        }
    say("bench: blk done\n");
}

/* Waits (bounded) until the node's value reaches want; returns it. */
static uint64_t wait_node(struct xenbus *xb, const char *node, uint64_t want)
{
    char ep[128], tok[16];
    uint64_t st = 0;
    xenbus_watch(xb, node, "w");
    for (int i = 0; i < 200; i++) {
        if (!xenbus_read_u64(xb, XBT_NIL, node, &st) && st >= want)
            break;
        xenbus_read_watch(xb, ep, sizeof(ep), tok, sizeof(tok), 1);
    }
    xenbus_unwatch(xb, node, "w");
    return st;
}

/* mode=badring: a front end whose xenstore handshake lies - a ring-ref
 * it never granted, then (after the back end closed and we went
 * Initialising again) a protocol it cannot serve. Each time the back end
 * must report an error and go Closing, not map anything of ours. */
static void run_badring(struct xenbus *xb)
{
    char names[64], fe[64], be[96], p[128], err[128];
    check("a vbd is there", xenbus_directory(xb, XBT_NIL, "device/vbd", names, sizeof(names)) > 0, 1);
    xl_snprintf(fe, sizeof(fe), "device/vbd/%s", names);
    xl_snprintf(p, sizeof(p), "%s/backend", fe);
    check("read backend", xenbus_read(xb, XBT_NIL, p, be, sizeof(be)) > 0, 1);
    xl_snprintf(p, sizeof(p), "%s/state", be);
    check("back end InitWait", (long)wait_node(xb, p, 2), 2);
    xl_snprintf(p, sizeof(p), "%s/ring-ref", fe);
    xenbus_write(xb, XBT_NIL, p, "4000");
    xl_snprintf(p, sizeof(p), "%s/event-channel", fe);
    xenbus_write(xb, XBT_NIL, p, "77");
    xl_snprintf(p, sizeof(p), "%s/state", fe);
    xenbus_write(xb, XBT_NIL, p, "3");
    xl_snprintf(p, sizeof(p), "%s/state", be);
    check("ring-ref never granted: the back end closes", (long)wait_node(xb, p, 5), 5);
    xl_snprintf(p, sizeof(p), "%s/error", be);
    check("  with an error node", xenbus_read(xb, XBT_NIL, p, err, sizeof(err)) > 0, 1);
    say("blktest: badring: back end says \"%s\"\n", err);
    /* Closed, then Initialising again with a 32-bit protocol. */
    xl_snprintf(p, sizeof(p), "%s/state", fe);
    xenbus_write(xb, XBT_NIL, p, "6");
    xl_snprintf(p, sizeof(p), "%s/state", be);
    check("back end Closed", (long)wait_node(xb, p, 6), 6);
    xl_snprintf(p, sizeof(p), "%s/protocol", fe);
    xenbus_write(xb, XBT_NIL, p, "x86_32-abi");
    xl_snprintf(p, sizeof(p), "%s/state", fe);
    xenbus_write(xb, XBT_NIL, p, "1");
    xl_snprintf(p, sizeof(p), "%s/state", be);
    uint64_t st = 0;
    for (int i = 0; i < 200 && st != 2; i++) {
        char ep[128], tok[16];
        xenbus_read_u64(xb, XBT_NIL, p, &st);
        if (st == 2)
            break;
        xenbus_watch(xb, p, "r");
        xenbus_read_watch(xb, ep, sizeof(ep), tok, sizeof(tok), 1);
        xenbus_unwatch(xb, p, "r");
    }
    check("the back end takes a new start (InitWait)", (long)st, 2);
    xl_snprintf(p, sizeof(p), "%s/state", fe);
    xenbus_write(xb, XBT_NIL, p, "3");
    xl_snprintf(p, sizeof(p), "%s/state", be);
    check("x86_32-abi: the back end closes", (long)wait_node(xb, p, 5), 5);
    say("blktest: badring done\n");
}

int guest_main(start_info_t *si)
{
    char mode[16] = "write", b[24];
    uint64_t seed = 1, nsect = 0, rounds = 0, depth = 8, count = 400;
    cmdline_get(si, "mode", mode, sizeof(mode));
    if (cmdline_get(si, "pattern", b, sizeof(b)))
        seed = parse_num(b);
    if (cmdline_get(si, "sectors", b, sizeof(b)))
        nsect = parse_num(b);
    if (cmdline_get(si, "rounds", b, sizeof(b)))
        rounds = parse_num(b);
    if (cmdline_get(si, "depth", b, sizeof(b)))
        depth = parse_num(b);
    if (cmdline_get(si, "count", b, sizeof(b)))
        count = parse_num(b);

    check("traps_init", traps_init(), 0);
    if (!guest_shared_info)
        return SHUTDOWN_crash;
    evtchn_port_t tport;
    check("bind VIRQ_TIMER", evtchn_bind_virq(VIRQ_TIMER, &tport), 0);
    evtchn_bind(tport, on_timer, NULL);
    check("gnttab_init", gnttab_init(), 0);
    evtchn_enable_upcalls();
    struct xenbus *xb = xenbus_init();
    check("xenstore ring in start_info", xb != NULL, 1);
    if (!xb)
        goto out;
    if (!strcmp(mode, "badring")) {
        run_badring(xb);
        goto out;
    }
    int hotplug = !strcmp(mode, "hotplug");
    if (hotplug) {
        /* xl block-attach writes device/vbd/<id>: wait for it. */
        char names[64], p[64], tok[16];
        xenbus_watch(xb, "device/vbd", "hp");
        for (int i = 0; i < 100; i++) {
            if (xenbus_directory(xb, XBT_NIL, "device/vbd", names, sizeof(names)) > 0)
                break;
            xenbus_read_watch(xb, p, sizeof(p), tok, sizeof(tok), 1);
        }
        xenbus_unwatch(xb, "device/vbd", "hp");
    }
    int rc = blkfront_open(&bf, xb, 0);
    check("blkfront connected", rc, 0);
    if (rc)
        goto out;
    say("blktest: vbd %u connected: %lu sectors of %u bytes, %s%s\n", bf.devid,
        (unsigned long)bf.sectors, bf.sector_size, bf.readonly ? "read-only" : "read-write",
        bf.flush ? ", flush" : "");
    if (!nsect || nsect > bf.sectors)
        nsect = bf.sectors;
    if (!strcmp(mode, "bench") && (depth < 1 || depth > 32 || !count)) {
        check("bench: depth 1..32, count > 0", 0, 1);
        goto out;
    }
    /* bench: depth slots of 11 pages; the other modes: one chunk */
    size_t npages = CHUNK_SECTORS / 8;
    if (!strcmp(mode, "bench") && depth * 11 > npages)
        npages = depth * 11;
    uint64_t *buf = pages_alloc(npages);
    check("buffer", buf != NULL, 1);
    if (!buf)
        goto out;
    if (!strcmp(mode, "write") || hotplug)
        run_pattern(buf, nsect, seed, 1, 0);
    else if (!strcmp(mode, "read")) {
        run_pattern(buf, nsect, seed, 0, 0);
        if (bf.readonly) {
            /* access=ro: a write must be refused and change nothing */
            fill(buf, 0, 8, seed + 1);
            check("a write to the read-only disk is refused", blkfront_rw(&bf, 0, buf, 8, 1),
                  -XEN_EIO);
            memset(buf, 0, 4096);
            check("  and sector 0 still has the pattern",
                  blkfront_rw(&bf, 0, buf, 8, 0) == 0 && !verify(buf, 0, 8, seed, 0), 1);
        }
    }
    else if (!strcmp(mode, "zero"))
        run_pattern(buf, nsect, seed, 0, 1);
    else if (!strcmp(mode, "pastend"))
        run_pastend(buf);
    else if (!strcmp(mode, "zero+pastend"))
        run_pattern(buf, nsect, seed, 0, 1), run_pastend(buf);
    else if (!strcmp(mode, "hostile"))
        run_hostile(buf);
    else if (!strcmp(mode, "loop"))
        run_loop(buf, nsect, seed, rounds);
    else if (!strcmp(mode, "bench"))
        run_bench(buf, nsect < 16384 ? nsect : 16384, (unsigned int)depth,
                  (unsigned int)count);
    else
        check("known mode", 0, 1);
    if (hotplug) {
        /* xl block-detach: the back end goes Closing; we follow. */
        char p[128], ep[128], tok[16];
        uint64_t st = 0;
        xl_snprintf(p, sizeof(p), "%s/state", bf.be);
        xenbus_watch(xb, p, "detach");
        say("blktest: waiting for the detach\n");
        for (int i = 0; i < 1000; i++) {
            if (xenbus_read_u64(xb, XBT_NIL, p, &st) || st >= 5)
                break;
            xenbus_read_watch(xb, ep, sizeof(ep), tok, sizeof(tok), 1);
        }
        xenbus_unwatch(xb, p, "detach");
        check("the back end closes the device", st >= 5, 1);
    }
    if (strcmp(mode, "hostile"))
        check("close handshake", blkfront_close(&bf), 0);
    if (hotplug)
        say("blktest: detached\n");
out:
    evtchn_disable_upcalls();
    say("blktest: %d passed, %d failed\n", passed, failed);
    return failed ? SHUTDOWN_crash : SHUTDOWN_poweroff;
}
