/*
 * bench.c - a PV kernel that measures the cost of the basic PV operations
 * from inside the guest, in TSC ticks per operation: a null hypercall,
 * an event-channel send to itself, an event round trip over a loopback
 * interdomain pair (both ends in this dom0, delivered by upcalls), a PTE
 * update through mmu_update and update_va_mapping, a trap bounce (int3 ->
 * handler -> iret), a grant map + unmap of a page it grants itself,
 * SCHEDOP_yield with nothing else to run, and a multicall of 32 null
 * calls. Then, with a second domain it builds through the toolstack
 * library (bench_dom.c; the peer is bench_peer.c) and destroys after:
 * an event round trip dom0 <-> peer with both vCPUs on CPU 0, a domain
 * switch (SCHEDOP_yield ping-pong between the two), and, with dom0
 * command line "bench=two-cpus" (that row only), the round trip with
 * the peer on CPU 1. Only the public ABI, the same calls on both hypervisors: the
 * same binary runs as dom0 of Xenolith
 * and of a real Xen 4.17, so the ratios can be compared. Under QEMU with
 * -icount the TSC follows retired instructions: numbers repeat run to run.
 * Prints one "bench: NAME: T ticks/op (N ops)" line per measurement.
 * Must never: fail a run because a number is high - it only reports.
 */
#include <stdint.h>
#include <xen/grant_table.h>
#include <xenolith/lib.h>
#include <xlguest/evtchn.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/traps.h>
#include <xlguest/platform.h>

#include "bench_dom.h"
#include "bench_peer.h"

#define OPS 2000

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void report(const char *name, uint64_t ticks, unsigned int ops, long err)
{
    if (err)
        printk("bench: %s: not measured (error %ld)\n", name, err);
    else
        printk("bench: %s: %lu ticks/op (%u ops)\n", name, (unsigned long)(ticks / ops), ops);
}

static volatile unsigned int traps_seen;

void guest_trap(struct guest_frame *f)
{
    if (f->vector == 3) { /* int3: the CPU reports the address after it */
        traps_seen++;
        return;
    }
    printk("bench: unexpected trap %lu at %lx\n", (unsigned long)f->vector,
           (unsigned long)f->rip);
    xen_shutdown(SHUTDOWN_crash);
}

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void bench_null_hypercall(void)
{
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS; i++)
        HYPERVISOR_xen_version(XENVER_version, NULL);
    report("null hypercall (xen_version)", rdtsc() - t0, OPS, 0);
}

static void bench_multicall(void)
{
    static multicall_entry_t mc[32];
    for (unsigned int i = 0; i < 32; i++)
        mc[i] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .args = { XENVER_version } };
    long rc = 0;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS / 32 && !rc; i++)
        rc = HYPERVISOR_multicall(mc, 32);
    report("multicall entry (32 x xen_version)", rdtsc() - t0, (OPS / 32) * 32, rc);
}

static void bench_evtchn_send(void)
{
    evtchn_alloc_unbound_t au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
    evtchn_bind_interdomain_t bi = { .remote_dom = DOMID_SELF, .remote_port = au.port };
    if (!rc)
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
    evtchn_send_t s = { .port = bi.local_port };
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++) {
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
        if (guest_shared_info) /* consume it, as a driver would */
            __atomic_and_fetch(&guest_shared_info->evtchn_pending[au.port / 64],
                               ~(1UL << (au.port % 64)), __ATOMIC_SEQ_CST);
    }
    report("event channel send (loopback)", rdtsc() - t0, OPS, rc);
}

/* A page of ours whose PTE we rewrite: same frame, toggling Accessed. */
static char victim[4096] __attribute__((aligned(4096)));

static void bench_update_va_mapping(void)
{
    uint64_t pte = (virt_to_mfn(victim) << 12) | 0x67;
    long rc = 0;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = HYPERVISOR_update_va_mapping((unsigned long)victim, pte, UVMF_INVLPG);
    report("update_va_mapping + invlpg", rdtsc() - t0, OPS, rc);
}

/* Machine address of the PTE that maps va, by walking from pt_base (the
 * kit's kernels keep the builder's page tables). */
static uint64_t pte_maddr(unsigned long va)
{
    uint64_t *t = (uint64_t *)start_info->pt_base;
    for (int level = 4; level > 1; level--) {
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        uint64_t mfn = (e >> 12) & 0xffffffffffULL;
        /* Page tables sit inside our initial mapping: find the pfn. */
        const uint64_t *p2m = (const uint64_t *)start_info->mfn_list;
        uint64_t pfn = 0;
        while (pfn < start_info->nr_pages && p2m[pfn] != mfn)
            pfn++;
        if (pfn == start_info->nr_pages)
            return 0;
        t = (uint64_t *)(GUEST_VIRT_BASE + (pfn << 12));
    }
    return (virt_to_mfn(t) << 12) + ((va >> 12) & 511) * 8;
}

static void bench_mmu_update(void)
{
    uint64_t ma = pte_maddr((unsigned long)victim);
    mmu_update_t u = { .ptr = ma | MMU_NORMAL_PT_UPDATE,
                       .val = (virt_to_mfn(victim) << 12) | 0x67 };
    long rc = ma ? 0 : -1;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
    report("mmu_update (one PTE)", rdtsc() - t0, OPS, rc);
}

static void bench_trap_bounce(void)
{
    long rc = traps_init();
    unsigned int before = traps_seen;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        __asm__ volatile("int3" ::: "memory");
    uint64_t t = rdtsc() - t0;
    if (!rc && traps_seen - before != OPS)
        rc = -1;
    report("trap bounce (int3 -> handler -> iret)", t, OPS, rc);
}

/* Round trip: sending on b makes a pending; a's handler (the "server"
 * end) sends on a, which makes b pending; b's handler counts the reply.
 * Both handlers run from the upcall Xen delivers on the way out of the
 * first send (the second send is made with events masked, inside the
 * upcall, and is picked up by the same upcall's loop). */
static evtchn_port_t rt_a, rt_b;
static volatile unsigned int rt_replies;

static void rt_server(evtchn_port_t port, void *data)
{
    (void)port; (void)data;
    evtchn_send(rt_a);
}

static void rt_client(evtchn_port_t port, void *data)
{
    (void)port; (void)data;
    rt_replies++;
}

static void bench_event_round_trip(void)
{
    long rc = evtchn_alloc_unbound(DOMID_SELF, &rt_a);
    if (!rc)
        rc = evtchn_bind_interdomain(DOMID_SELF, rt_a, &rt_b);
    if (!rc)
        rc = evtchn_bind(rt_a, rt_server, NULL);
    if (!rc)
        rc = evtchn_bind(rt_b, rt_client, NULL);
    if (!rc)
        evtchn_enable_upcalls(); /* b is pending since its bind (as in Xen): one reply */
    rt_replies = 0;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = evtchn_send(rt_b);
    uint64_t t = rdtsc() - t0;
    evtchn_disable_upcalls();
    if (!rc && rt_replies != OPS) {
        printk("bench: round trip: %u replies to %u sends (a %u, b %u)\n", rt_replies, OPS,
               rt_a, rt_b);
        rc = -1;
    }
    report("event round trip (loopback pair in dom0, upcalls)", t, OPS, rc);
}

/* Grant one of our pages to ourselves (dom0 is domid 0 on both) and map
 * + unmap it at a window of ours, as a back end maps a front end's ring. */
#define PTE_FLAGS 0x67ULL /* P RW US A D */
static char gnt_table_win[4096] __attribute__((aligned(4096)));
static char gnt_map_win[4096] __attribute__((aligned(4096)));
static char gnt_page[4096] __attribute__((aligned(4096)));

/* Our grant table's first frame, mapped at gnt_table_win. */
static long gnt_table_map(void)
{
    xen_pfn_t frame = 0;
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(st.frame_list, &frame);
    long rc = HYPERCALL(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, &st, 1);
    if (!rc && st.status != GNTST_okay)
        rc = st.status;
    if (!rc)
        rc = HYPERVISOR_update_va_mapping((unsigned long)gnt_table_win,
                                          (frame << 12) | PTE_FLAGS, UVMF_INVLPG);
    return rc;
}

static void bench_grant_map_unmap(void)
{
    long rc = gnt_table_map();
    if (!rc) {
        volatile grant_entry_v1_t *gt = (volatile grant_entry_v1_t *)gnt_table_win;
        gt[8].domid = 0;
        gt[8].frame = (uint32_t)virt_to_mfn(gnt_page);
        __asm__ volatile("" ::: "memory");
        gt[8].flags = GTF_permit_access;
    }
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++) {
        struct gnttab_map_grant_ref m = { .host_addr = (uint64_t)gnt_map_win,
                                          .flags = GNTMAP_host_map, .ref = 8, .dom = 0 };
        rc = HYPERCALL(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, &m, 1);
        if (!rc && m.status != GNTST_okay)
            rc = m.status;
        if (rc)
            break;
        struct gnttab_unmap_grant_ref u = { .host_addr = (uint64_t)gnt_map_win,
                                            .handle = m.handle };
        rc = HYPERCALL(__HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, &u, 1);
        if (!rc && u.status != GNTST_okay)
            rc = u.status;
    }
    report("grant map + unmap (own grant)", rdtsc() - t0, OPS, rc);
}

static void bench_yield(void)
{
    long rc = 0;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    report("yield (nothing else runnable)", rdtsc() - t0, OPS, rc);
}

/* ---- Two domains: dom0 and the peer (bench_peer.c) it builds. ---- */

#define PEER_MB 8
#define WAIT_TICKS 4000000000ULL /* bound on any wait for the peer */
static uint32_t peer = ~0u;
/* Granted to the peer (ref PEER_GREF), which counts into it what it did:
 * the check that each measured loop really went through the peer. */
#define PEER_GREF 9
static volatile struct bench_peer_stats peer_stats __attribute__((aligned(4096)));
static evtchn_port_t peer_echo, peer_yield; /* dom0's ends */
static volatile unsigned int peer_replies;

static void on_peer_echo(evtchn_port_t port, void *data)
{
    (void)port; (void)data;
    peer_replies++;
}

static void on_nothing(evtchn_port_t port, void *data)
{
    (void)port; (void)data;
}

/* Wait (blocking, upcalls on) until peer_replies reaches n; -1 after
 * WAIT_TICKS. */
static long wait_replies(unsigned int n, uint64_t since)
{
    while (peer_replies < n) {
        if (rdtsc() - since > WAIT_TICKS)
            return -1;
        evtchn_block();
    }
    return 0;
}

/* Create, build and start the peer with its vCPU pinned to peer_cpu and
 * dom0's to CPU 0; wait for its "ready". */
static long peer_start(unsigned int peer_cpu)
{
    const char *why = "";
    long rc = bench_dom_create(&peer, PEER_MB);
    if (rc) {
        printk("bench: peer: createdomain failed (%ld)\n", rc);
        peer = ~0u;
        return rc;
    }
    if (!rc)
        rc = evtchn_alloc_unbound((domid_t)peer, &peer_echo);
    if (!rc)
        rc = evtchn_alloc_unbound((domid_t)peer, &peer_yield);
    if (!rc)
        rc = evtchn_bind(peer_echo, on_peer_echo, NULL);
    if (!rc)
        rc = evtchn_bind(peer_yield, on_nothing, NULL);
    if (!rc)
        rc = gnt_table_map();
    if (!rc) {
        volatile grant_entry_v1_t *gt = (volatile grant_entry_v1_t *)gnt_table_win;
        peer_stats.echoes = peer_stats.yields = 0;
        gt[PEER_GREF].domid = (domid_t)peer;
        gt[PEER_GREF].frame = (uint32_t)virt_to_mfn((const void *)&peer_stats);
        __asm__ volatile("" ::: "memory");
        gt[PEER_GREF].flags = GTF_permit_access;
    }
    char cmdline[64];
    xl_snprintf(cmdline, sizeof(cmdline), "echo=%u yield=%u gref=%u", peer_echo, peer_yield,
                PEER_GREF);
    if (!rc && (rc = bench_dom_build(peer, PEER_MB, cmdline, &why)))
        printk("bench: peer: build failed: %s (%ld)\n", why, rc);
    if (!rc && (rc = bench_dom_pin(0, 0, 0)))
        printk("bench: peer: pinning dom0's vcpu to CPU 0 failed (%ld)\n", rc);
    if (!rc && (rc = bench_dom_pin(peer, 0, peer_cpu)))
        printk("bench: peer: pinning its vcpu to CPU %u failed (%ld)\n", peer_cpu, rc);
    peer_replies = 0;
    if (!rc)
        rc = bench_dom_unpause(peer);
    if (!rc && (rc = wait_replies(1, rdtsc())))
        printk("bench: peer: no ready event from d%u\n", peer);
    if (!rc)
        printk("bench: peer d%u running, vcpu on CPU %u, dom0 on CPU 0\n", peer, peer_cpu);
    return rc;
}

static void peer_stop(void)
{
    evtchn_disable_upcalls();
    if (peer == ~0u)
        return;
    long rc = bench_dom_destroy(peer);
    printk("bench: peer d%u %s (%ld)\n", peer, rc ? "NOT destroyed" : "destroyed", rc);
    if (!rc) /* its mapping of the stats page went with it */
        ((volatile grant_entry_v1_t *)gnt_table_win)[PEER_GREF].flags = 0;
    evtchn_unbind(peer_echo);
    evtchn_unbind(peer_yield);
    evtchn_close(peer_echo);
    evtchn_close(peer_yield);
    peer = ~0u;
}

/* dom0 sends, blocks; the peer's upcall sends back; dom0's upcall counts
 * the reply and its block returns. */
static long round_trips(uint64_t *ticks)
{
    long rc = 0;
    peer_replies = 0;
    uint64_t e0 = peer_stats.echoes;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++) {
        rc = evtchn_send(peer_echo);
        if (!rc)
            rc = wait_replies(i + 1, t0);
    }
    *ticks = rdtsc() - t0;
    uint64_t echoes = peer_stats.echoes - e0;
    if (!rc && (peer_replies != OPS || echoes != OPS)) {
        printk("bench: round trip: %u replies, the peer echoed %lu, to %u sends\n", peer_replies,
               (unsigned long)echoes, OPS);
        rc = -1;
    }
    return rc;
}

static void bench_two_domains_same_cpu(void)
{
    const char *rt = "event round trip (dom0 <-> domU, same CPU)";
    const char *sw = "domain switch (yield ping-pong, per switch)";
    long rc = peer_start(0);
    uint64_t t = 0;
    if (!rc)
        rc = round_trips(&t);
    report(rt, t, OPS, rc);
    /* Switch the peer to its yield loop; dom0 yields too: every dom0
     * yield runs the peer until its next yield, so one dom0 yield is two
     * domain switches (and two SCHEDOP_yield calls). */
    if (!rc)
        rc = evtchn_send(peer_yield);
    for (unsigned int i = 0; i < 4 && !rc; i++)
        rc = HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    uint64_t y0 = peer_stats.yields;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    t = rdtsc() - t0;
    /* Strict alternation: the peer yields once per dom0 yield (one more
     * or less at the ends). */
    uint64_t yields = peer_stats.yields - y0;
    if (!rc && (yields + 1 < OPS || yields > OPS + 1))
        printk("bench: %s: not measured (the peer yielded %lu times in %u dom0 yields: "
               "not one switch per yield)\n", sw, (unsigned long)yields, OPS);
    else
        report(sw, t, 2 * OPS, rc);
    peer_stop();
}

static void bench_two_domains_two_cpus(void)
{
    const char *rt = "event round trip (dom0 <-> domU, two CPUs)";
    int n = bench_dom_nr_cpus();
    if (n < 2) {
        printk("bench: %s: not measured (%d CPU: run with 2)\n", rt, n);
        return;
    }
    long rc = peer_start(1);
    uint64_t t = 0;
    if (!rc)
        rc = round_trips(&t);
    report(rt, t, OPS, rc);
    peer_stop();
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("bench"))
        return SHUTDOWN_poweroff;
    char mode[16];
    if (cmdline_get(si, "bench", mode, sizeof(mode)) && !strcmp(mode, "two-cpus")) {
        /* The -smp 2 run: only the row that needs a second CPU. */
        printk("bench: TSC ticks per operation, %u operations each\n", OPS);
        long rc = traps_init();
        if (rc)
            printk("bench: traps_init failed (%ld)\n", rc);
        else
            bench_two_domains_two_cpus();
        printk("bench: done\n");
        return SHUTDOWN_poweroff;
    }
    printk("bench: TSC ticks per operation, %u operations each\n", OPS);
    bench_null_hypercall();
    bench_multicall();
    bench_evtchn_send();
    bench_update_va_mapping();
    bench_mmu_update();
    bench_trap_bounce();
    bench_event_round_trip();
    bench_grant_map_unmap();
    bench_yield();
    bench_two_domains_same_cpu();
    printk("bench: done\n");
    return SHUTDOWN_poweroff;
}
