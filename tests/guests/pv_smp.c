/*
 * pv_smp.c - a PV test kernel for a hypervisor that runs vcpus on several
 * CPUs at once. Every domain brings up vcpus 1.. with VCPUOP_initialise +
 * VCPUOP_up (vcpus=N on the command line, default 2: its own stack, the
 * same page tables, in kernel mode), then, by mode=:
 *   progress (default): every vcpu counts in a tight loop for ms= ms of
 *     system time; vcpu 0 checks that each other vcpu's count moved.
 *     dom0 (role=dom0) samples XEN_DOMCTL_getvcpuinfo of every vcpu of
 *     d0..d2 meanwhile and reports the CPUs each was seen on and the
 *     most vcpus seen running at once on distinct CPUs; and
 *     XEN_SYSCTL_physinfo's nr_cpus.
 *   stress: every vcpu hammers, for ms= ms, a grant of the domain's own
 *     frame mapped and unmapped at its own window (each write through the
 *     mapping must show in the frame: the frame is shared by all vcpus),
 *     an event send on a loopback channel, and a remap of its own window
 *     between two frames, by turns with update_va_mapping
 *     (UVMF_INVLPG|UVMF_ALL: a TLB shootdown each time, the other vcpus
 *     run on other CPUs) and with mmu_update of the window's L1 entry
 *     followed by MMUEXT_TLB_FLUSH_ALL. With peer=D (boot domUs d1 and
 *     d2 name each other) each domU also grants a frame to its peer and
 *     every vcpu maps the peer's grant, writes and reads through it and
 *     unmaps it, so frames are shared across domains while both hammer
 *     (the peer's grant ref is known: both make the same grants in the
 *     same order; maps before the peer has granted are retried); dom0's
 *     vcpu 0 creates, populates and destroys a domain in a loop
 *     (loops=N) meanwhile, checking the free page count comes back
 *     every time. Windows are restored at the end.
 * dom0 then waits (bounded) until d1..d(domus=) are gone and powers off.
 * Only vcpu 0 prints (the console kit is not reentrant).
 */
#define __XEN_TOOLS__ 1 /* domctl/sysctl: dom0 plays toolstack */
#undef __XEN_INTERFACE_VERSION__
#include <stdint.h>
#include <xen/memory.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/grant_table.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/vcpu.h>
#include <xlguest/platform.h>

#define MS 1000000ULL
#define MAXV 8
#define PTE_FLAGS 0x67ULL /* P RW US A D */

static start_info_t *si_;
static unsigned int nvcpus = 2, self;
static int stress;
static uint64_t run_ns = 1500 * MS;

static volatile uint64_t count[MAXV];
static volatile int up[MAXV], done[MAXV], go, stop;
static uint8_t stacks[MAXV][8192] __attribute__((aligned(16)));
static struct vcpu_guest_context ctx;

/* stress state */
static uint8_t shared_pg[4096] __attribute__((aligned(4096)));
static uint8_t mapwin[MAXV][4096] __attribute__((aligned(4096)));
static uint8_t uwin[MAXV][4096] __attribute__((aligned(4096)));
static uint8_t frames[2][4096] __attribute__((aligned(4096)));
static grant_ref_t ref;
/* peer=: the domU this one shares a frame with (0: none); its grant of
 * peer_pg to the peer, the peer's ref for its own frame (the same
 * number), and per vcpu: peer maps that worked, failures after the first. */
static unsigned int peer;
static uint8_t peer_pg[4096] __attribute__((aligned(4096)));
static uint8_t xwin[MAXV][4096] __attribute__((aligned(4096)));
static grant_ref_t xref;
static volatile uint64_t xok[MAXV], xlate[MAXV];
/* machine address of each vcpu's uwin L1 entry (mmu_update's target) */
static uint64_t uwin_pte[MAXV];
static evtchn_port_t loop_port;
static volatile uint64_t errs[MAXV], ops[MAXV];
static volatile long first_err[MAXV];

static uint64_t now(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

static long gnttab_op(unsigned int cmd, void *op, unsigned int n)
{
    return HYPERCALL(__HYPERVISOR_grant_table_op, cmd, op, n);
}

static void note_err(unsigned int k, long what)
{
    if (!errs[k])
        first_err[k] = what;
    errs[k]++;
}

/* Map the peer's grant at xwin[k], write and read through it, unmap. A
 * failure before the first success is the peer not having granted yet;
 * after it, an error (unless the peer is gone: counted apart, xlate). */
static void map_peer(unsigned int k, uint32_t seq)
{
    struct gnttab_map_grant_ref m = { .host_addr = (uint64_t)xwin[k], .flags = GNTMAP_host_map,
                                      .ref = xref, .dom = (domid_t)peer };
    if (gnttab_op(GNTTABOP_map_grant_ref, &m, 1) || m.status != GNTST_okay) {
        if (xok[k])
            xlate[k]++;
        return;
    }
    volatile uint32_t *w = (volatile uint32_t *)xwin[k] + 16 + k;
    *w = seq;
    if (*w != seq)
        note_err(k, 7000);
    struct gnttab_unmap_grant_ref u = { .host_addr = (uint64_t)xwin[k], .handle = m.handle };
    if (gnttab_op(GNTTABOP_unmap_grant_ref, &u, 1) || u.status != GNTST_okay)
        note_err(k, 8000 + u.status);
    else
        xok[k]++;
}

static void hammer_once(unsigned int k, uint32_t seq)
{
    grant_handle_t h;
    struct gnttab_map_grant_ref m = { .host_addr = (uint64_t)mapwin[k], .flags = GNTMAP_host_map,
                                      .ref = ref, .dom = (domid_t)self };
    if (gnttab_op(GNTTABOP_map_grant_ref, &m, 1) || m.status != GNTST_okay) {
        note_err(k, 1000 + m.status);
    } else {
        h = m.handle;
        ((volatile uint32_t *)mapwin[k])[k] = seq;
        if (((volatile uint32_t *)shared_pg)[k] != seq)
            note_err(k, 2000);
        struct gnttab_unmap_grant_ref u = { .host_addr = (uint64_t)mapwin[k], .handle = h };
        if (gnttab_op(GNTTABOP_unmap_grant_ref, &u, 1) || u.status != GNTST_okay)
            note_err(k, 3000 + u.status);
    }
    if (evtchn_send(loop_port))
        note_err(k, 4000);
    if (peer)
        map_peer(k, seq);
    unsigned int f = seq & 1;
    uint64_t pte = (virt_to_mfn(frames[f]) << 12) | PTE_FLAGS;
    long rc;
    if (seq & 2) {
        rc = HYPERVISOR_update_va_mapping((unsigned long)uwin[k], pte, UVMF_INVLPG | UVMF_ALL);
    } else {
        mmu_update_t u = { .ptr = uwin_pte[k] | MMU_NORMAL_PT_UPDATE, .val = pte };
        struct mmuext_op fl = { .cmd = MMUEXT_TLB_FLUSH_ALL };
        rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
        if (!rc)
            rc = HYPERVISOR_mmuext_op(&fl, 1, NULL, DOMID_SELF);
    }
    if (rc)
        note_err(k, 5000 + rc);
    else if (((volatile uint8_t *)uwin[k])[0] != (uint8_t)(0xa0 + f))
        note_err(k, 6000 + ((volatile uint8_t *)uwin[k])[0]); /* 6160/6161: the other frame */
    ops[k]++;
}

static void vcpu_work(unsigned int k)
{
    uint32_t seq = 1;
    while (!go)
        __asm__ volatile("pause");
    while (!stop) {
        if (stress)
            hammer_once(k, seq++);
        else
            count[k]++;
    }
}

/* A secondary vcpu's first C: work until vcpu 0 says stop, then go down. */
static void __attribute__((noreturn, used)) vcpu_entry(unsigned int k)
{
    up[k] = 1;
    vcpu_work(k);
    done[k] = 1;
    HYPERVISOR_vcpu_op(VCPUOP_down, (int)k, NULL);
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

static long start_vcpu(unsigned int k)
{
    return guest_vcpu_start(&ctx, si_, k, (void (*)(void))vcpu_entry, k, stacks[k] + sizeof(stacks[k]));
}

/* ---- toolstack calls (dom0) ---- */

static struct xen_domctl dc;
static struct xen_sysctl sc;

static long domctl(uint32_t cmd, domid_t dom)
{
    dc.cmd = cmd;
    dc.interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    dc.domain = dom;
    return HYPERCALL(__HYPERVISOR_domctl, &dc, 0, 0);
}

static long physinfo(void)
{
    memset(&sc, 0, sizeof(sc));
    sc.cmd = XEN_SYSCTL_physinfo;
    sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return HYPERCALL(__HYPERVISOR_sysctl, &sc, 0, 0);
}

static int domain_exists(domid_t d)
{
    memset(&dc, 0, sizeof(dc));
    return domctl(XEN_DOMCTL_getdomaininfo, d) == 0 && dc.domain == d;
}

/* getvcpuinfo: 1 and *cpu if vcpu v of d runs now, 0 if not, -1 if none. */
/* CPU time vcpu v of d has run (ns), -1 if there is no such vcpu or it
 * is down (a vcpu that comes up later is not waited for). */
static int64_t vcpu_time(domid_t d, unsigned int v)
{
    memset(&dc, 0, sizeof(dc));
    dc.u.getvcpuinfo.vcpu = v;
    if (domctl(XEN_DOMCTL_getvcpuinfo, d) || !dc.u.getvcpuinfo.online)
        return -1;
    return (int64_t)dc.u.getvcpuinfo.cpu_time;
}

static int vcpu_running(domid_t d, unsigned int v, unsigned int *cpu)
{
    memset(&dc, 0, sizeof(dc));
    dc.u.getvcpuinfo.vcpu = v;
    if (domctl(XEN_DOMCTL_getvcpuinfo, d))
        return -1;
    *cpu = dc.u.getvcpuinfo.cpu;
    return dc.u.getvcpuinfo.running;
}

/* Sample every vcpu of d0..d2 until the deadline. */
static void sample(uint64_t until, unsigned int nr_cpus)
{
    uint64_t seen[3][MAXV] = { { 0 } };
    unsigned int best = 0, samples = 0;
    uint64_t best_cpus = 0;
    while (now() < until) {
        uint64_t cpus = 0;
        unsigned int running = 0;
        for (unsigned int d = 0; d < 3; d++) {
            for (unsigned int v = 0; v < MAXV; v++) {
                unsigned int cpu = 0;
                int r = vcpu_running((domid_t)d, v, &cpu);
                if (r < 0)
                    break;
                if (r == 1 && cpu < 64) {
                    seen[d][v] |= 1ULL << cpu;
                    if (!(cpus >> cpu & 1))
                        running++;
                    cpus |= 1ULL << cpu;
                }
            }
        }
        samples++;
        if (running > best) {
            best = running;
            best_cpus = cpus;
        }
    }
    for (unsigned int d = 0; d < 3; d++)
        for (unsigned int v = 0; v < MAXV; v++)
            if (seen[d][v])
                printk("pv_smp: d%u vcpu%u seen running on cpus mask %#lx\n", d, v,
                       (unsigned long)seen[d][v]);
    printk("pv_smp: %u samples; at most %u vcpus running at once, on cpus mask %#lx\n", samples,
           best, (unsigned long)best_cpus);
    check_true("two or more vcpus seen running at the same time on distinct CPUs",
               nr_cpus < 2 || best >= 2);
    check_true("dom0's two vcpus seen running on CPUs", seen[0][0] && seen[0][1]);
}

static unsigned int domus_ = 2;

/* Which of the boot domUs d1..d(domus) exist (bit d). */
static unsigned int domus_alive(void)
{
    unsigned int m = 0;
    for (unsigned int d = 1; d <= domus_; d++)
        m |= (unsigned int)domain_exists((domid_t)d) << d;
    return m;
}

/* dom0's churn: create a domain, give it pages, destroy it; the free page
 * count must be what it was before the create. An iteration during which
 * a boot domU went away (its pages come back too) proves nothing and is
 * done again (at most 3 * loops tries). */
static void churn(unsigned int loops)
{
    unsigned int ok = 0, tries = 0, conclusive = 0;
    while (conclusive < loops && tries < 3 * loops) {
        tries++;
        unsigned int alive = domus_alive();
        if (physinfo())
            break;
        uint64_t base = sc.u.physinfo.free_pages;
        memset(&dc, 0, sizeof(dc));
        dc.u.createdomain.max_vcpus = 2;
        dc.u.createdomain.max_evtchn_port = 1023;
        dc.u.createdomain.max_grant_frames = -1;
        dc.u.createdomain.max_maptrack_frames = -1;
        dc.u.createdomain.grant_opts = XEN_DOMCTL_GRANT_version(1);
        if (domctl(XEN_DOMCTL_createdomain, 0)) {
            printk("pv_smp: churn %u: createdomain failed\n", tries);
            break;
        }
        domid_t d = dc.domain;
        memset(&dc, 0, sizeof(dc));
        dc.u.max_mem.max_memkb = 256;
        domctl(XEN_DOMCTL_max_mem, d);
        xen_pfn_t pfns[32];
        for (unsigned int j = 0; j < 32; j++)
            pfns[j] = j;
        struct xen_memory_reservation r = { .nr_extents = 32, .extent_order = 0, .domid = d };
        set_xen_guest_handle(r.extent_start, pfns);
        long got = HYPERCALL(__HYPERVISOR_memory_op, XENMEM_populate_physmap, &r, 0);
        long rc = domctl(XEN_DOMCTL_destroydomain, d);
        if (physinfo())
            break;
        uint64_t after = sc.u.physinfo.free_pages;
        int gone = !domain_exists(d);
        if (domus_alive() != alive)
            continue; /* a boot domU went away meanwhile: inconclusive */
        conclusive++;
        if (got == 32 && rc == 0 && after == base && gone)
            ok++;
        else
            printk("pv_smp: churn %u (d%u): populated %ld, destroy %ld, free %lu want %lu\n", tries,
                   d, got, rc, (unsigned long)after, (unsigned long)base);
    }
    printk("pv_smp: created, populated and destroyed a domain %u times, %u conclusive, %u with "
           "every page back\n", tries, conclusive, ok);
    check_eq("every churned domain gave every page back", ok, loops);
}

/* The machine address of the L1 entry that maps va (walking the page
 * tables, which this kernel can read: they sit in its own memory). */
static uint64_t l1e_maddr(uint64_t va)
{
    const uint64_t *p2m = (const uint64_t *)si_->mfn_list;
    uint64_t mfn = virt_to_mfn((void *)si_->pt_base);
    for (int level = 4; level > 1; level--) {
        const uint64_t *t = NULL;
        for (unsigned long pfn = 0; pfn < si_->nr_pages && !t; pfn++)
            if (p2m[pfn] == mfn)
                t = (const uint64_t *)(GUEST_VIRT_BASE + pfn * 4096);
        if (!t)
            return 0;
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & 1) || (e & 0x80))
            return 0;
        mfn = (e & 0x000ffffffffff000ULL) >> 12;
    }
    return (mfn << 12) + ((va >> 12) & 511) * 8;
}

static void stress_setup(void)
{
    check_eq("gnttab_init", gnttab_init(), 0);
    long r = gnttab_grant_access((domid_t)self, virt_to_mfn(shared_pg), 0);
    check_true("grant my own frame to myself", r >= 0);
    ref = (grant_ref_t)r;
    if (peer) {
        r = gnttab_grant_access((domid_t)peer, virt_to_mfn(peer_pg), 0);
        check_true("grant a frame to the peer", r >= 0);
        xref = (grant_ref_t)r;
    }
    for (unsigned int k = 0; k < nvcpus; k++)
        uwin_pte[k] = l1e_maddr((uint64_t)uwin[k]);
    check_true("found the L1 entries of the remap windows", uwin_pte[0] && uwin_pte[nvcpus - 1]);
    evtchn_port_t a;
    check_eq("alloc_unbound for myself", evtchn_alloc_unbound((domid_t)self, &a), 0);
    check_eq("bind_interdomain loopback", evtchn_bind_interdomain((domid_t)self, a, &loop_port), 0);
    frames[0][0] = 0xa0;
    frames[1][0] = 0xa1;
}

/* churner: vcpu 0 churned domains (dom0) and need not have hammered. */
static void stress_finish(int churner)
{
    long rc = 0;
    for (unsigned int k = 0; k < nvcpus; k++) {
        rc |= HYPERVISOR_update_va_mapping((unsigned long)mapwin[k],
                                           (virt_to_mfn(mapwin[k]) << 12) | PTE_FLAGS, UVMF_INVLPG);
        rc |= HYPERVISOR_update_va_mapping((unsigned long)uwin[k],
                                           (virt_to_mfn(uwin[k]) << 12) | PTE_FLAGS,
                                           UVMF_INVLPG | UVMF_ALL);
        if (peer) /* an unmapped grant leaves the entry empty */
            rc |= HYPERVISOR_update_va_mapping((unsigned long)xwin[k],
                                               (virt_to_mfn(xwin[k]) << 12) | PTE_FLAGS,
                                               UVMF_INVLPG);
    }
    check_eq("windows restored", rc, 0);
    uint64_t total = 0, bad = 0;
    for (unsigned int k = 0; k < nvcpus; k++) {
        printk("pv_smp: d%u vcpu%u: %lu rounds of map/write/unmap + send + update_va_mapping(ALL), "
               "%lu errors (first %ld)\n", self, k, (unsigned long)ops[k], (unsigned long)errs[k],
               first_err[k]);
        total += ops[k];
        bad += errs[k];
        if (k || !churner)
            check_true("vcpu hammered (>= 3 rounds)", ops[k] >= 3u);
        if (peer) {
            printk("pv_smp: d%u vcpu%u: %lu maps of d%u's grant, %lu failed after the first\n",
                   self, k, (unsigned long)xok[k], peer, (unsigned long)xlate[k]);
            check_true("mapped the peer's grant (>= 3 times)", xok[k] >= 3u);
        }
    }
    check_eq("no errors while hammering", (long)bad, 0);
    (void)total;
    check_eq("end access to my grant (no mapping left)", gnttab_end_access(ref), 0);
    if (peer) {
        /* the peer may still hammer for a while: bounded retry */
        uint64_t t = now();
        long e;
        while ((e = gnttab_end_access(xref)) && now() < t + 20000 * MS)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        check_eq("end access to the peer's grant once it unmapped", e, 0);
    }
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("pv_smp"))
        return SHUTDOWN_poweroff;
    char buf[32];
    si_ = si;
    int dom0 = (si->flags & SIF_INITDOMAIN) != 0;
    unsigned int domus = 2, loops = 20;
    if (cmdline_get(si, "vcpus", buf, sizeof(buf)))
        nvcpus = (unsigned int)(buf[0] - '0');
    if (nvcpus < 1 || nvcpus > MAXV)
        nvcpus = 2;
    if (cmdline_get(si, "self", buf, sizeof(buf)))
        self = (unsigned int)(buf[0] - '0');
    if (cmdline_get(si, "peer", buf, sizeof(buf)))
        peer = (unsigned int)(buf[0] - '0');
    if (cmdline_get(si, "domus", buf, sizeof(buf)))
        domus = (unsigned int)(buf[0] - '0');
    domus_ = domus;
    if (cmdline_get(si, "mode", buf, sizeof(buf)))
        stress = !strcmp(buf, "stress");
    if (cmdline_get(si, "ms", buf, sizeof(buf))) {
        uint64_t v = 0;
        for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (uint64_t)(*p - '0');
        run_ns = v * MS;
    }
    if (cmdline_get(si, "loops", buf, sizeof(buf))) {
        unsigned int v = 0;
        for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (unsigned int)(*p - '0');
        loops = v;
    }
    if (!guest_shared_info) {
        printk("pv_smp: no shared_info\n");
        return SHUTDOWN_crash;
    }
    printk("pv_smp: I am d%u, %u vcpus, mode %s\n", self, nvcpus, stress ? "stress" : "progress");
    unsigned int nr_cpus = 1;
    if (dom0 && !physinfo()) {
        nr_cpus = sc.u.physinfo.nr_cpus;
        printk("pv_smp: physinfo nr_cpus %u max_cpu_id %u\n", sc.u.physinfo.nr_cpus,
               sc.u.physinfo.max_cpu_id);
        check_eq("physinfo max_cpu_id is nr_cpus - 1", sc.u.physinfo.max_cpu_id,
                 (long)sc.u.physinfo.nr_cpus - 1);
    }
    if (stress)
        stress_setup();
    for (unsigned int k = 1; k < nvcpus; k++) {
        long rc = start_vcpu(k);
        check_eq("VCPUOP_initialise + VCPUOP_up", rc, 0);
        if (rc)
            nvcpus = k;
    }
    uint64_t t0 = now();
    for (unsigned int k = 1; k < nvcpus; k++)
        while (!up[k] && now() < t0 + 5000 * MS)
            __asm__ volatile("pause");
    for (unsigned int k = 1; k < nvcpus; k++)
        check_true("secondary vcpu reached its entry", up[k]);
    go = 1;
    uint64_t until = now() + run_ns;
    if (dom0 && !stress) {
        sample(until, nr_cpus);
    } else if (dom0 && stress) {
        /* vcpu 1's first grant map grows dom0's maptrack by a frame:
         * let that happen before the churn's free-page baseline. */
        uint64_t t = now();
        while (nvcpus > 1 && !ops[1] && now() < t + 5000 * MS)
            __asm__ volatile("pause");
        /* The boot domUs allocate hv memory as they start hammering (grant
         * and maptrack frames, event buckets): start the churn, which
         * counts free pages, once each domU vcpu has run 100 ms. */
        t = now();
        for (unsigned int d = 1; d <= domus_; d++)
            for (unsigned int k = 0; k < MAXV; k++) {
                int64_t vt;
                while ((vt = vcpu_time((domid_t)d, k)) >= 0 && vt < (int64_t)(100 * MS) &&
                       now() < t + 10000 * MS)
                    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            }
        churn(loops);
        while (now() < until)
            hammer_once(0, (uint32_t)ops[0] + 1);
    } else {
        while (now() < until) {
            if (stress)
                hammer_once(0, (uint32_t)ops[0] + 1);
            else
                count[0]++;
        }
    }
    /* The secondaries finish their round before vcpu 0 restores the
     * windows they remap: bounded from now, not from until (a long
     * churn ends past until + 5 s, and the windows were then restored
     * under a hammering vcpu: a false 6000 error). */
    stop = 1;
    uint64_t stopped = now();
    for (unsigned int k = 1; k < nvcpus; k++)
        while (!done[k] && now() < stopped + 5000 * MS)
            __asm__ volatile("pause");
    if (!stress) {
        for (unsigned int k = 0; k < nvcpus; k++)
            printk("pv_smp: d%u vcpu%u counted %lu\n", self, k, (unsigned long)count[k]);
        for (unsigned int k = 1; k < nvcpus; k++)
            check_true("secondary vcpu made progress", count[k] > 0);
    } else {
        stress_finish(dom0);
    }
    for (unsigned int k = 1; k < nvcpus; k++)
        check_true("secondary vcpu stopped and went down", done[k]);
    if (dom0) {
        uint64_t t = now();
        for (unsigned int d = 1; d <= domus; d++)
            while (domain_exists((domid_t)d) && now() < t + 60000 * MS)
                HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        int gone = 1;
        for (unsigned int d = 1; d <= domus; d++)
            gone &= !domain_exists((domid_t)d);
        check_true("every domU is gone", gone);
    }
    return check_summary("pv_smp");
}
