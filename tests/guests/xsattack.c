/*
 * xsattack.c - a hostile xl-created domU against dom0's xenstored and
 * console back end (issue 14), one finding per mode= on its command line:
 *   mode=flood    node quota against parallel transactions (10 open at
 *                 once, each under its own directory), then holds what it
 *                 can: one transaction writing one node 30000 times, nodes
 *                 with the largest values, watches with 2 KiB tokens, every
 *                 transaction it may open; prints each count and the error
 *                 that stopped it; writes an escape sequence to its console
 *                 ring and through console_io; then powers off (the
 *                 scenario's config preserves it, so all it holds stays).
 *   mode=owner peer=P   makes data/shared writable (not readable) by P,
 *                 waits for P's "done" in it.
 *   mode=perms owner=O  writes O's data/shared (allowed), then tries to
 *                 rewrite its permissions (to read it itself and let a
 *                 third domain read it, or to own it): Xen 4.17 answers
 *                 EACCES to a non-owner.
 *   mode=plant end=poweroff|crash|watchdog   fills its home (data/...,
 *                 device/... with permissions naming other domains), then
 *                 dies that way.
 *   mode=check    a new domain with the id of a dead one: its home must
 *                 hold nothing the old one wrote, and its node quota must
 *                 be whole.
 * Verdicts: "xsattack MODE: PASS|FAIL what" lines, then
 * "xsattack MODE: N passed, M failed".
 * Owns: nothing outside itself. Must never: spin without blocking, or
 * wait without a bound where the fixed system answers.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/xenbus.h>

static const char *mode = "?";
static int passed, failed;
static struct xenbus *xb;
static unsigned int self;

static void check(const char *what, int ok)
{
    printk("xsattack %s: %s %s\n", mode, ok ? "PASS" : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

static uint64_t now_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

static void sleep_ms(unsigned int ms)
{
    struct sched_poll p = { .nr_ports = 0, .timeout = now_ns() + ms * 1000000ULL };
    HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

static unsigned int num(const char *s)
{
    unsigned int v = 0;
    for (; s && *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (unsigned int)(*s - '0');
    return v;
}

static const char *err(int rc)
{
    switch (rc) {
    case 0: return "none";
    case -XEN_ENOMEM: return "ENOMEM";
    case -XEN_ENOSPC: return "ENOSPC";
    case -XEN_E2BIG: return "E2BIG";
    case -XEN_EACCES: return "EACCES";
    case -XEN_EPERM: return "EPERM";
    case -XEN_EAGAIN: return "EAGAIN";
    case -XEN_EINVAL: return "EINVAL";
    default: return "other";
    }
}

static char big[2048];

/* ---- mode=flood ---- */

#define QUOTA_NODES 1000
#define OWN_DIRS 7          /* device data backend drivers feature attr error */

static void parallel_transactions(void)
{
    xenbus_transaction_t t[10];
    char p[48];
    int committed = 0, opened = 0, rc;
    unsigned int per = 150;
    for (int i = 0; i < 10; i++) {
        xl_snprintf(p, sizeof(p), "data/p%d", i);
        xenbus_mkdir(xb, XBT_NIL, p);
    }
    for (int i = 0; i < 10; i++) {
        if (xenbus_transaction_start(xb, &t[i]))
            break;
        opened++;
        for (unsigned int k = 0; k < per; k++) {
            xl_snprintf(p, sizeof(p), "data/p%d/k%u", i, k);
            if ((rc = xenbus_write(xb, t[i], p, "x"))) {
                printk("xsattack flood: transaction %d node %u: %s\n", i, k, err(rc));
                break;
            }
        }
    }
    for (int i = 0; i < opened; i++) {
        rc = xenbus_transaction_end(xb, t[i], 0);
        if (!rc)
            committed++;
        else
            printk("xsattack flood: commit %d: %s\n", i, err(rc));
    }
    unsigned int owned = OWN_DIRS + 10 + (unsigned int)committed * per;
    printk("xsattack flood: parallel transactions: %d of %d committed, %u nodes owned "
           "(quota %u)\n", committed, opened, owned, QUOTA_NODES);
    check("parallel transactions stay within the node quota", owned <= QUOTA_NODES);
    for (int i = 0; i < 10; i++) {
        xl_snprintf(p, sizeof(p), "data/p%d", i);
        xenbus_rm(xb, XBT_NIL, p);
    }
}

static void hold_everything(void)
{
    xenbus_transaction_t t;
    char p[48];
    int rc = 0;
    unsigned int n;

    /* one node, 30000 writes, in one transaction left open (each write
     * queued an event: the review's flood of the whole arena) */
    if (!(rc = xenbus_transaction_start(xb, &t)))
        for (n = 0; n < 30000 && !(rc = xenbus_write(xb, t, "data/flood", "0123456789")); n++)
            ;
    else
        n = 0;
    printk("xsattack flood: transaction writes: %u, then %s\n", n, err(rc));
    /* nodes with 2000-byte values */
    memset(big, 'f', 2000);
    big[2000] = 0;
    for (n = 0; n < 2 * QUOTA_NODES; n++) {
        xl_snprintf(p, sizeof(p), "data/d%u/f%u", n / 50, n);
        if ((rc = xenbus_write(xb, XBT_NIL, p, big)))
            break;
    }
    printk("xsattack flood: nodes: %u, then %s\n", n, err(rc));
    /* watches with 2 KiB tokens */
    memset(big, 't', 2040);
    big[2040] = 0;
    for (n = 0; n < 200; n++) {
        xl_snprintf(p, sizeof(p), "data/w%u", n);
        if ((rc = xenbus_watch(xb, p, big)))
            break;
    }
    printk("xsattack flood: watches: %u, then %s\n", n, err(rc));
    for (n = 0; n < 20 && !(rc = xenbus_transaction_start(xb, &t)); n++)
        ;
    printk("xsattack flood: more transactions: %u, then %s\n", n, err(rc));
}

static void escapes(void)
{
    static const char seq[] = "xsattack flood: escapes \x1b[2J\x1b[31mRED\x07 end\n";
    printk("%s", seq);                                        /* console ring */
    HYPERVISOR_console_io(CONSOLEIO_write, (int)(sizeof(seq) - 1), seq); /* the hv's */
}

/* ---- mode=owner / mode=perms ---- */

static void owner(unsigned int peer)
{
    char w[16], me[16], val[32];
    xl_snprintf(me, sizeof(me), "n%u", self);
    xl_snprintf(w, sizeof(w), "w%u", peer);
    const char *pl[2] = { me, w };
    check("create data/shared", xenbus_write(xb, XBT_NIL, "data/shared", "owner's") == 0);
    check("make it writable by the peer", xenbus_set_perms(xb, XBT_NIL, "data/shared", pl, 2) == 0);
    int done = 0;
    for (int i = 0; i < 3000 && !done; i++) {     /* at most 30 s */
        if (xenbus_read(xb, XBT_NIL, "data/shared", val, sizeof(val)) >= 0 && !strcmp(val, "done"))
            done = 1;
        else
            sleep_ms(10);
    }
    check("the peer wrote done", done);
}

static void perms_attack(unsigned int own)
{
    char path[64], me[16], r1[16], on[16];
    xl_snprintf(path, sizeof(path), "/local/domain/%u/data/shared", own);
    int rc = -1;
    for (int i = 0; i < 3000 && rc; i++) {        /* the owner sets it up */
        if ((rc = xenbus_write(xb, XBT_NIL, path, "peer's")))
            sleep_ms(10);
    }
    if (rc)
        printk("xsattack perms: writing %s: %s\n", path, err(rc));
    check("write the shared node (w)", rc == 0);
    xl_snprintf(on, sizeof(on), "n%u", own);
    xl_snprintf(me, sizeof(me), "b%u", self);
    xl_snprintf(r1, sizeof(r1), "r%u", 1u);     /* a third domain */
    const char *grant[3] = { on, me, r1 };
    rc = xenbus_set_perms(xb, XBT_NIL, path, grant, 3);
    printk("xsattack perms: SET_PERMS {%s %s %s} by a non-owner: %s\n", on, me, r1, err(rc));
    check("non-owner SET_PERMS granting reads is EACCES", rc == -XEN_EACCES);
    xl_snprintf(on, sizeof(on), "n%u", self);
    const char *take[1] = { on };
    rc = xenbus_set_perms(xb, XBT_NIL, path, take, 1);
    printk("xsattack perms: SET_PERMS {%s} by a non-owner: %s\n", on, err(rc));
    check("non-owner SET_PERMS taking the node is refused", rc == -XEN_EACCES || rc == -XEN_EPERM);
    char v[8];
    check("still cannot read it", xenbus_read(xb, XBT_NIL, path, v, sizeof(v)) == -XEN_EACCES);
    check("write done", xenbus_write(xb, XBT_NIL, path, "done") == 0);
}

/* ---- mode=plant / mode=check ---- */

static void plant(void)
{
    char p[64];
    const char *pl[3] = { NULL, "b1", "r2" };
    char me[16];
    xl_snprintf(me, sizeof(me), "n%u", self);
    pl[0] = me;
    int ok = !xenbus_write(xb, XBT_NIL, "data/secret", "old domain's") &&
             !xenbus_write(xb, XBT_NIL, "device/vif/0/backend-id", "0") &&
             !xenbus_write(xb, XBT_NIL, "device/planted", "p") &&
             !xenbus_set_perms(xb, XBT_NIL, "device/planted", pl, 3);
    for (int i = 0; ok && i < 300; i++) {
        xl_snprintf(p, sizeof(p), "data/q%d/n%d", i / 50, i);
        ok = !xenbus_write(xb, XBT_NIL, p, "x");
    }
    check("planted 300 nodes and a device entry naming d1 and d2", ok);
}

static void check_home(void)
{
    char buf[256], v[32];
    int n = xenbus_directory(xb, XBT_NIL, "data", buf, sizeof(buf));
    printk("xsattack check: domid %u, data/ has %d entries\n", self, n);
    check("data/ is empty", n == 0);
    n = xenbus_directory(xb, XBT_NIL, "device", buf, sizeof(buf));
    printk("xsattack check: device/ has %d entries\n", n);
    check("device/ is empty", n == 0);
    check("no planted node", xenbus_read(xb, XBT_NIL, "device/planted", v, sizeof(v)) == -XEN_ENOENT);
    /* the whole quota: 1000 less the 7 directories xl made for it */
    char p[48];
    int made = 0, rc = 0;
    for (int i = 0; i < QUOTA_NODES - OWN_DIRS - 20; i++) {
        xl_snprintf(p, sizeof(p), "data/c%d/n%d", i / 100, i);
        if ((rc = xenbus_write(xb, XBT_NIL, p, "")))
            break;
        made++;
    }
    printk("xsattack check: created %d nodes, then %s\n", made, err(rc));
    check("the node quota is whole", rc == 0);
}

int guest_main(start_info_t *si)
{
    static char m[16], buf[16];
    mode = cmdline_get(si, "mode", m, sizeof(m)) ? m : "?";
    xb = guest_shared_info ? xenbus_init() : NULL;
    if (!xb) {
        printk("xsattack %s: FAIL no xenstore\n", mode);
        return SHUTDOWN_crash;
    }
    uint64_t id = 0;
    xenbus_read_u64(xb, XBT_NIL, "domid", &id);
    self = (unsigned int)id;
    int reason = SHUTDOWN_poweroff;
    if (!strcmp(mode, "flood")) {
        parallel_transactions();
        hold_everything();
        escapes();
    } else if (!strcmp(mode, "owner")) {
        owner(num(cmdline_get(si, "peer", buf, sizeof(buf))));
    } else if (!strcmp(mode, "perms")) {
        perms_attack(num(cmdline_get(si, "owner", buf, sizeof(buf))));
    } else if (!strcmp(mode, "plant")) {
        plant();
        const char *end = cmdline_get(si, "end", buf, sizeof(buf));
        if (end && !strcmp(end, "crash")) {
            reason = SHUTDOWN_crash;
        } else if (end && !strcmp(end, "watchdog")) {
            struct sched_watchdog w = { .id = 0, .timeout = 1 };
            long wid = HYPERVISOR_sched_op(SCHEDOP_watchdog, &w);
            printk("xsattack plant: watchdog %ld armed for 1 s\n", wid);
            printk("xsattack plant: %d passed, %d failed\n", passed, failed);
            for (;;)
                sleep_ms(1000);
        }
    } else if (!strcmp(mode, "check")) {
        check_home();
    } else {
        check("known mode", 0);
    }
    printk("xsattack %s: %d passed, %d failed\n", mode, passed, failed);
    return reason;
}
