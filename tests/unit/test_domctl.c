/*
 * test_domctl.c - host unit tests for domctl.c / sysctl.c through the
 * real hypercall layer: every refusal (version -EACCES, unprivileged
 * -EPERM, unknown domain -ESRCH, bad create configs, self pause/destroy,
 * pause count limits, vcpu context checks), createdomain's paused
 * domain, getdomaininfo (4.17's ">= domid" walk), destroy giving every
 * frame back, set/getvcpuaffinity (Xen 4.17's checks and maps on a
 * 4-CPU machine) and getvcpuinfo of down vcpus, readconsole's
 * clear/incremental on console.c's ring, and
 * Xenolith's hypercall_stats sysctl with the dispatcher's counting.
 * Links: domctl.c sysctl.c console.c hypercall.c multicall.c domain.c
 * mm.c page_type.c m2p.c mmu.c memory.c page_alloc.c guest_access.c
 * format.c. Mocks: fake machine memory, the clock, the other
 * subsystems' hypercalls, the event/time/grant hooks domain.c calls.
 */
#include <xenolith/domctl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/grant_table.h>
#include <xenolith/hcstat.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xenolith/sched.h>
#include <xen/memory.h>
#include "fake_mem.h"

#define NFRAMES    1024
#define FIRST_FREE 16
#define RWF (PTE_P | PTE_RW | PTE_US | PTE_A)
#define BUF_VA 0x1000ULL
#define NBUF   6

/* ---- mocks ---- */
static uint64_t now_ns;
static char serial[1 << 17];
static size_t serial_len;

uint64_t arch_time_ns(void) { return now_ns += 1000; }
uint64_t xl_now(void) { return now_ns; }
uint64_t tsc_hz(void) { return 2500000000ULL; }
void arch_console_write(const char *s, size_t len)
{
    if (serial_len + len < sizeof(serial))
        memcpy(serial + serial_len, s, len), serial_len += len;
}
void arch_dump_stack(void) {}
void arch_halt_machine(int status) { fail_msg("halt %d", status); abort(); }
int console_getc(void) { return -1; }
uint32_t arch_mxcsr_mask(void) { return 0xffbf; }
void evtchn_domain_init(struct domain *d) { (void)d; }
void evtchn_domain_destroy(struct domain *d) { (void)d; }
unsigned int evtchn_total_in_use(void) { return 0; }
unsigned int gnttab_total_mappings(void) { return 0; }
void send_global_virq(unsigned int virq) { (void)virq; }
void vcpu_update_time(struct vcpu *v) { (void)v; }
void domain_update_wallclock(struct domain *d) { (void)d; }
/* platform.c (linked with the hypercall table): one CPU, wallclock kept nowhere. */
void arch_wallclock_set(uint64_t sec, uint32_t nsec) { (void)sec; (void)nsec; }
static unsigned int fake_nr_cpus = 1; /* test_vcpu_affinity sets it */
unsigned int arch_nr_cpus(void) { return fake_nr_cpus; }
uint32_t arch_cpu_apic_id(unsigned int cpu) { (void)cpu; return 0; }
void timer_vcpu_init(struct vcpu *v) { (void)v; }
void vcpu_info_unmap(struct vcpu *v) { (void)v; }
void pv_destroy_gdt(struct vcpu *v) { (void)v; }
/* grant tables: one frame of the domain's own, as the real init takes */
static uint64_t gnt_frame[MAX_DOMAINS];
int gnttab_domain_init(struct domain *d)
{
    int64_t m = mm_alloc_frame(d->domid);
    if (m < 0)
        return -XL_ENOMEM;
    gnt_frame[d->domid] = (uint64_t)m;
    return 0;
}
static unsigned int gnt_max_frames[MAX_DOMAINS], gnt_max_version[MAX_DOMAINS];
int gnttab_set_limits(struct domain *d, unsigned int max_frames, unsigned int max_version)
{
    gnt_max_frames[d->domid] = max_frames;
    gnt_max_version[d->domid] = max_version;
    return 0;
}
void gnttab_domain_destroy(struct domain *d)
{
    if (gnt_frame[d->domid])
        mm_free_frame(gnt_frame[d->domid]);
    gnt_frame[d->domid] = 0;
}
#define STUB(name) \
    HYPERCALL_DECL(name) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
STUB(set_trap_table) STUB(set_gdt) STUB(stack_switch) STUB(set_callbacks) STUB(fpu_taskswitch)
STUB(set_debugreg) STUB(get_debugreg) STUB(update_descriptor) STUB(set_timer_op)
STUB(console_io) STUB(vm_assist) STUB(iret) STUB(vcpu_op) STUB(set_segment_base)
STUB(callback_op) STUB(event_channel_op) STUB(physdev_op) STUB(grant_table_op)
STUB(xen_version)

/* pv_desc.c's GDT (the contexts here have none) and timer.c's runstate
 * side of VGCF_online. */
long pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int ents)
{
    (void)v; (void)frames;
    return ents ? -XL_EINVAL : 0;
}
void vcpu_set_online(struct vcpu *v, int online)
{
    v->online = online;
}
/* sched.c's timer, runstate and event hooks (the scheduler's pass is
 * test_sched's; here only its domctl/sysctl side and domain_destroy). */
uint64_t timers_run_domain(struct domain *d, uint64_t now, const struct vcpu *except)
{
    (void)d; (void)now; (void)except;
    return 0;
}
uint64_t timers_refresh(uint64_t now) { (void)now; return 0; }
void vcpu_runstate_change(struct vcpu *v, int state, uint64_t now) { (void)v; (void)state; (void)now; }
void timer_vcpu_scheduled_in(struct vcpu *v, uint64_t now) { (void)v; (void)now; }
int evtchn_port_is_pending(struct domain *d, evtchn_port_t port) { (void)d; (void)port; return 0; }
void arch_timer_arm(uint64_t deadline) { (void)deadline; }
void arch_idle_wait(void) {}

/* ---- two guests: dom0 (privileged) and d1, each with BUF_VA mapped ---- */
struct guest {
    struct domain *d;
    uint64_t bufs[NBUF];
};
static struct guest g0, g1;
static uint64_t *tab(uint64_t mfn) { return mfn_to_virt(mfn); }

static uint64_t frame_of(struct domain *d)
{
    int64_t m = mm_alloc_frame(d->domid);
    assert_true(m >= FIRST_FREE);
    d->tot_pages++;
    return (uint64_t)m;
}

static void make_guest(struct guest *g, uint16_t id, int priv)
{
    g->d = domain_create(id, priv, priv ? "d0" : "d1");
    assert_non_null(g->d);
    g->d->max_pages = 100;
    uint64_t l4 = frame_of(g->d), l3 = frame_of(g->d), l2 = frame_of(g->d), l1 = frame_of(g->d);
    tab(l4)[0] = (l3 << PAGE_SHIFT) | RWF;
    tab(l3)[0] = (l2 << PAGE_SHIFT) | RWF;
    tab(l2)[0] = (l1 << PAGE_SHIFT) | RWF;
    for (int i = 0; i < NBUF; i++) {
        g->bufs[i] = frame_of(g->d);
        tab(l1)[1 + i] = (g->bufs[i] << PAGE_SHIFT) | RWF;
    }
    assert_int_equal(mm_new_baseptr(&g->d->vcpus[0], l4, 0), 0);
}

/* hv-side address of guest g's va (inside BUF_VA .. + NBUF pages) */
static void *gva(struct guest *g, uint64_t va)
{
    return (uint8_t *)mfn_to_virt(g->bufs[(va - BUF_VA) >> PAGE_SHIFT]) + (va & (PAGE_SIZE - 1));
}

#define OP_VA   BUF_VA                    /* the domctl / sysctl struct */
#define CTX_VA  (BUF_VA + 1 * PAGE_SIZE)  /* vcpu context: 2 pages */
#define DATA_VA (BUF_VA + 3 * PAGE_SIZE)  /* lists, console bytes, mfns */

static int setup(void **state)
{
    (void)state;
    fake_mem_setup(NFRAMES, FIRST_FREE);
    memset(domains, 0, sizeof(domains));
    memset(gnt_frame, 0, sizeof(gnt_frame));
    sched_init(1);
    make_guest(&g0, 0, 1);
    make_guest(&g1, 1, 0);
    current = &g0.d->vcpus[0];
    fake_nr_cpus = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_mem_teardown();
    return 0;
}

static struct xen_domctl *dop(struct guest *g) { return gva(g, OP_VA); }
static struct xen_sysctl *sop(struct guest *g) { return gva(g, OP_VA); }

static long domctl_as(struct guest *g, uint32_t cmd, domid_t dom)
{
    struct xen_domctl *o = dop(g);
    o->cmd = cmd;
    o->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    o->domain = dom;
    return hypercall_dispatch(&g->d->vcpus[0], __HYPERVISOR_domctl, OP_VA, 0, 0, 0, 0);
}
static long sysctl_as(struct guest *g, uint32_t cmd)
{
    struct xen_sysctl *o = sop(g);
    o->cmd = cmd;
    o->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return hypercall_dispatch(&g->d->vcpus[0], __HYPERVISOR_sysctl, OP_VA, 0, 0, 0, 0);
}
static void good_create(struct xen_domctl *o)
{
    memset(o, 0, sizeof(*o));
    o->u.createdomain.max_vcpus = 1;
    o->u.createdomain.max_grant_frames = -1;
    o->u.createdomain.max_maptrack_frames = -1;
    o->u.createdomain.grant_opts = 1;
}
static long create(domid_t want)
{
    good_create(dop(&g0));
    long rc = domctl_as(&g0, XEN_DOMCTL_createdomain, want);
    return rc ? rc : dop(&g0)->domain;
}

/* ---- tests ---- */

static void test_version_and_privilege(void **state)
{
    (void)state;
    struct xen_domctl *o = dop(&g0);
    memset(o, 0, sizeof(*o));
    o->cmd = XEN_DOMCTL_getdomaininfo;
    o->interface_version = XEN_DOMCTL_INTERFACE_VERSION - 1;
    assert_int_equal(hypercall_dispatch(&g0.d->vcpus[0], __HYPERVISOR_domctl, OP_VA, 0, 0, 0, 0),
                     -XL_EACCES);
    struct xen_sysctl *s = sop(&g0);
    s->interface_version = XEN_SYSCTL_INTERFACE_VERSION + 1;
    s->cmd = XEN_SYSCTL_physinfo;
    assert_int_equal(hypercall_dispatch(&g0.d->vcpus[0], __HYPERVISOR_sysctl, OP_VA, 0, 0, 0, 0),
                     -XL_EACCES);
    /* a domU: -EPERM for all, even on itself */
    good_create(dop(&g1));
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_createdomain, 0), -XL_EPERM);
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_getdomaininfo, 1), -XL_EPERM);
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_pausedomain, 0), -XL_EPERM);
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_destroydomain, 0), -XL_EPERM);
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_max_mem, 1), -XL_EPERM);
    assert_int_equal(sysctl_as(&g1, XEN_SYSCTL_physinfo), -XL_EPERM);
    assert_int_equal(sysctl_as(&g1, XEN_SYSCTL_readconsole), -XL_EPERM);
    assert_int_equal(sysctl_as(&g1, XEN_SYSCTL_getdomaininfolist), -XL_EPERM);
    assert_int_equal(g1.d->state, DOM_RUNNING);
    /* unknown domain: -ESRCH (before the privilege check, as Xen) */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 9), -XL_ESRCH);
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_pausedomain, 9), -XL_ESRCH);
    /* bad pointer */
    assert_int_equal(hypercall_dispatch(&g0.d->vcpus[0], __HYPERVISOR_domctl, 0x7000000, 0, 0, 0, 0),
                     -XL_EFAULT);
    assert_int_equal(domctl_as(&g0, 999, 0), -XL_ENOSYS);
}

static void test_create_configs(void **state)
{
    (void)state;
    struct xen_domctl *o = dop(&g0);
    static const struct { const char *what; long want; } bad[] = {
        { "unknown flag", -XL_EINVAL }, { "hvm", -XL_EINVAL }, { "hap without hvm", -XL_EINVAL },
        { "iommu", -XL_EINVAL }, { "0 vcpus", -XL_EINVAL }, { "MAX_VCPUS+1 vcpus", -XL_EINVAL },
        { "grant version 0", -XL_EINVAL }, { "grant version 3", -XL_EINVAL },
        { "grant opts bits", -XL_EINVAL }, { "0 grant frames", -XL_EINVAL },
        { "65 grant frames", -XL_EINVAL }, { "too many maptrack", -XL_EINVAL },
        { "vmtrace", -XL_EINVAL }, { "emulation", -XEN_EOPNOTSUPP }, { "cpupool 3", -XL_ENOENT },
    };
    uint64_t free0 = mm_free_count();
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        good_create(o);
        struct xen_domctl_createdomain *x = &o->u.createdomain;
        switch (i) {
        case 0: x->flags = 1u << 12; break;
        case 1: x->flags = XEN_DOMCTL_CDF_hvm; break;
        case 2: x->flags = XEN_DOMCTL_CDF_hap; break;
        case 3: x->flags = XEN_DOMCTL_CDF_iommu; break;
        case 4: x->max_vcpus = 0; break;
        case 5: x->max_vcpus = MAX_VCPUS + 1; break;
        case 6: x->grant_opts = 0; break;
        case 7: x->grant_opts = 3; break;
        case 8: x->grant_opts = 0x11; break;
        case 9: x->max_grant_frames = 0; break;
        case 10: x->max_grant_frames = 65; break;
        case 11: x->max_maptrack_frames = 1025; break; /* Xen's limit is 1024 */
        case 12: x->vmtrace_size = 4096; break;
        case 13: x->arch.emulation_flags = 1; break;
        default: x->cpupool_id = 3; break;
        }
        long rc = domctl_as(&g0, XEN_DOMCTL_createdomain, 0);
        if (rc != bad[i].want)
            fail_msg("%s: got %ld, want %ld", bad[i].what, rc, bad[i].want);
    }
    assert_int_equal(mm_free_count(), free0);
    good_create(o);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_createdomain, 1), -XL_EEXIST);
    good_create(o);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_createdomain, 200), -XL_EINVAL);
    /* domid 0 and reserved ids pick the lowest free; a free one is used */
    assert_int_equal(create(0), 2);
    assert_int_equal(gnt_max_frames[2], 64); /* -1: Xen's default */
    assert_int_equal(gnt_max_version[2], 1);
    good_create(o);
    o->u.createdomain.max_grant_frames = 32;
    o->u.createdomain.grant_opts = 2;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_createdomain, 0), 0);
    assert_int_equal(o->domain, 3);
    assert_int_equal(gnt_max_frames[3], 32); /* the grant table gets the domain's limits */
    assert_int_equal(gnt_max_version[3], 2);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, 3), 0);
    assert_int_equal(create(DOMID_SELF), 3);
    assert_int_equal(create(7), 7);
    for (long id = 4; id < MAX_DOMAINS; id++)
        if (id != 7)
            assert_int_equal(create(0), id);
    assert_int_equal(create(0), -XL_ENOMEM);
}

static void test_new_domain_is_paused_and_empty(void **state)
{
    (void)state;
    uint64_t free0 = mm_free_count();
    long id = create(0);
    assert_int_equal(id, 2);
    struct domain *d = domain_by_id(2);
    assert_non_null(d);
    assert_int_equal(d->pause_count, 1);
    assert_false(domain_vcpu_may_run(&d->vcpus[0]));
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, 2), 0);
    struct xen_domctl_getdomaininfo *i = &dop(&g0)->u.getdomaininfo;
    assert_int_equal(i->domain, 2);
    assert_int_equal(i->flags, XEN_DOMINF_paused);
    assert_int_equal(i->tot_pages, 0);
    assert_int_equal(i->max_pages, 0);
    assert_int_equal(i->nr_online_vcpus, 0);
    assert_int_equal(i->shared_info_frame, d->shared_info_mfn);
    /* max_vcpus must match; max_mem KiB -> pages; populate respects it */
    dop(&g0)->u.max_vcpus.max = 2;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_max_vcpus, 2), -XL_EINVAL);
    dop(&g0)->u.max_vcpus.max = 1;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_max_vcpus, 2), 0);
    dop(&g0)->u.max_mem.max_memkb = 40;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_max_mem, 2), 0);
    assert_int_equal(d->max_pages, 10);
    struct xen_memory_reservation *r = gva(&g0, DATA_VA);
    *r = (struct xen_memory_reservation){ .nr_extents = 12, .domid = 2 };
    set_xen_guest_handle(r->extent_start, (xen_pfn_t *)(uintptr_t)(DATA_VA + 64));
    assert_int_equal(hypercall_dispatch(&g0.d->vcpus[0], __HYPERVISOR_memory_op,
                                        XENMEM_populate_physmap, DATA_VA, 0, 0, 0), 10);
    assert_int_equal(d->tot_pages, 10);
    /* destroy: every frame back, its slot free */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, 0), -XL_EINVAL);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, 2), 0);
    assert_int_equal(mm_free_count(), free0);
    assert_null(domain_by_id(2));
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 2), -XL_ESRCH);
    /* 4.17's getdomaininfo: the next domain up, -ESRCH past the last */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, 2), -XL_ESRCH);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, 0), 0);
    assert_int_equal(dop(&g0)->u.getdomaininfo.domain, 0);
    assert_int_equal(dop(&g0)->u.getdomaininfo.flags & XEN_DOMINF_running, XEN_DOMINF_running);
    create(5);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, 2), 0);
    assert_int_equal(dop(&g0)->domain, 5);
    /* the boot domU running on another CPU (v->running; the caller's
     * current is dom0's vcpu): "r" as on Xen (v->is_running) */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, 1), 0);
    assert_int_equal(dop(&g0)->u.getdomaininfo.flags & XEN_DOMINF_running, 0);
    domain_by_id(1)->vcpus[0].running = 1;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, 1), 0);
    assert_int_equal(dop(&g0)->u.getdomaininfo.flags & XEN_DOMINF_running, XEN_DOMINF_running);
    domain_by_id(1)->vcpus[0].running = 0;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, DOMID_SELF), -XL_EINVAL);
    /* destroying a running boot domain works too */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, 1), 0);
    assert_null(domain_by_id(1));
}

/* Xen's domain_pause is synchronous: while a vcpu of the domain runs on
 * another CPU, pausedomain kicks that CPU and comes back as a
 * continuation, counting its pause once; it returns when none runs. */
extern uint64_t fake_smp_kicked;
static void test_pause_waits_for_remote_vcpus(void **state)
{
    (void)state;
    struct vcpu *t = &g1.d->vcpus[0];
    t->running = 1;
    t->processor = 2;
    fake_smp_kicked = 0;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), __HYPERVISOR_domctl);
    assert_int_equal(g1.d->pause_count, 1);
    assert_int_equal(fake_smp_kicked, 1ULL << 2);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), __HYPERVISOR_domctl);
    assert_int_equal(g1.d->pause_count, 1); /* counted once */
    t->running = 0; /* CPU 2 switched it out */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), 0);
    assert_int_equal(g1.d->pause_count, 1);
    /* a new pause counts again */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), 0);
    assert_int_equal(g1.d->pause_count, 2);
    /* a wait left behind (the domain died meanwhile) does not make a
     * later pause of a domain with that id skip its count */
    t->running = 1;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), __HYPERVISOR_domctl);
    assert_int_equal(g1.d->pause_count, 3);
    t->running = 0;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_unpausedomain, 1), 0);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), 0);
    assert_int_equal(g1.d->pause_count, 3);
}

static void test_pause_counting(void **state)
{
    (void)state;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 0), -XL_EINVAL);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_unpausedomain, 1), -XL_EINVAL); /* not paused */
    for (int i = 0; i < 255; i++)
        assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), 0);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_pausedomain, 1), -XL_EOVERFLOW);
    assert_false(domain_vcpu_may_run(&g1.d->vcpus[0]));
    for (int i = 0; i < 255; i++)
        assert_int_equal(domctl_as(&g0, XEN_DOMCTL_unpausedomain, 1), 0);
    assert_true(domain_vcpu_may_run(&g1.d->vcpus[0]));
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_unpausedomain, 1), -XL_EINVAL);
}

static long vcpuctx(uint32_t cmd, domid_t id)
{
    struct xen_domctl *o = dop(&g0);
    o->u.vcpucontext.vcpu = 0;
    set_xen_guest_handle(o->u.vcpucontext.ctxt, (vcpu_guest_context_t *)CTX_VA);
    return domctl_as(&g0, cmd, id);
}

static void test_vcpu_context(void **state)
{
    (void)state;
    long id = create(0);
    struct domain *d = domain_by_id((uint16_t)id);
    d->max_pages = 4;
    uint64_t l4 = frame_of(d);
    struct vcpu_guest_context *c = gva(&g0, CTX_VA);
    struct xen_domctl *o = dop(&g0);
#define SET() vcpuctx(XEN_DOMCTL_setvcpucontext, (domid_t)id)
#define GET() vcpuctx(XEN_DOMCTL_getvcpucontext, (domid_t)id)
    assert_int_equal(GET(), -XL_ENODATA);
    memset(c, 0, sizeof(*c));
    c->flags = VGCF_in_kernel | VGCF_online;
    c->user_regs.rip = 0xffffffff80001000ULL;
    c->user_regs.cs = 0xe030; /* RPL 0: becomes 3 */
    c->user_regs.rflags = 0x3000; /* IOPL 3 -> virtual IOPL */
    c->trap_ctxt[14].address = 0xffffffff80002000ULL;
    c->trap_ctxt[14].cs = 0xe030;
    c->ctrlreg[3] = g0.bufs[0] << PAGE_SHIFT; /* dom0's frame */
    assert_int_equal(SET(), -XL_EINVAL);
    c->ctrlreg[3] = 0;
    assert_int_equal(SET(), -XL_EINVAL);
    c->ctrlreg[3] = l4 << PAGE_SHIFT;
    c->user_regs.rsp = 1ULL << 47;
    assert_int_equal(SET(), -XL_EINVAL);
    c->user_regs.rsp = 0;
    c->trap_ctxt[3].address = 0x8000000000000000ULL;
    assert_int_equal(SET(), -XL_EINVAL);
    c->trap_ctxt[3].address = 0;
    c->gdt_ents = 1;
    assert_int_equal(SET(), -XL_EINVAL);
    c->gdt_ents = 0;
    c->ldt_base = 0x1234;
    c->ldt_ents = 1;
    assert_int_equal(SET(), -XL_EINVAL);
    c->ldt_base = 0, c->ldt_ents = 0;
    c->flags = 0; /* user mode without a user table */
    assert_int_equal(SET(), -XL_EINVAL);
    c->flags = VGCF_in_kernel | VGCF_online;
    /* a frame that cannot be an L4 (typed writable by a mapping) */
    uint64_t busy = frame_of(d);
    assert_int_equal(get_page_and_type(busy, d->domid, PGT_writable), 0);
    c->ctrlreg[3] = busy << PAGE_SHIFT;
    assert_int_equal(SET(), -XL_EINVAL);
    put_page_and_type(busy);
    assert_int_equal(frame_table[l4].type_count, 0);
    /* (no change happened on any refusal) */
    assert_false(d->vcpus[0].initialised);
    assert_int_equal(d->vcpus[0].guest_table, 0);
    /* setvcpucontext on itself */
    o->u.vcpucontext.vcpu = 0;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_setvcpucontext, 0), -XL_EINVAL);
    c->ctrlreg[3] = l4 << PAGE_SHIFT;
    assert_int_equal(SET(), 0);
    assert_int_equal(frame_table[l4].type, PGT_l4);
    assert_int_equal(frame_table[l4].type_count, 1);
    assert_int_equal(d->vcpus[0].regs.cs, 0xe033);
    assert_int_equal(d->vcpus[0].pv.iopl, 3);
    assert_int_equal(d->vcpus[0].regs.rflags & 0x3200, 0x200);
    assert_int_equal(d->vcpus[0].pv.traps[14].cs, 0xe033);
    assert_true(d->vcpus[0].initialised && d->vcpus[0].online && d->vcpus[0].pv.kernel_mode);
    assert_false(domain_vcpu_may_run(&d->vcpus[0])); /* still paused */
    memset(c, 0, sizeof(*c));
    assert_int_equal(GET(), 0);
    assert_int_equal(c->user_regs.rip, 0xffffffff80001000ULL);
    assert_int_equal(c->ctrlreg[3], l4 << PAGE_SHIFT);
    assert_int_equal(c->flags & (VGCF_in_kernel | VGCF_online), VGCF_in_kernel | VGCF_online);
    assert_int_equal(c->trap_ctxt[14].address, 0xffffffff80002000ULL);
    /* initialised: cr3 cannot change (Xen's -EOPNOTSUPP) */
    uint64_t other = frame_of(d);
    c->ctrlreg[3] = other << PAGE_SHIFT;
    assert_int_equal(SET(), -XEN_EOPNOTSUPP);
    c->ctrlreg[3] = l4 << PAGE_SHIFT;
    c->user_regs.rip = 0xffffffff80003000ULL;
    assert_int_equal(SET(), 0);
    assert_int_equal(frame_table[l4].type_count, 1);
    /* An FXSAVE image with MXCSR bits outside the CPU's mask would fault
     * in the hv's FXRSTOR: it is cleared, as Xen's restore fixup does. */
    uint8_t *img = (uint8_t *)&c->fpu_ctxt;
    uint32_t mxcsr = 0x1f80 | 0x10000;
    c->flags |= VGCF_i387_valid;
    img[0] = 0x7f, img[1] = 0x03;
    memcpy(img + 24, &mxcsr, 4);
    assert_int_equal(SET(), 0);
    for (unsigned int i = 0; i < sizeof(d->vcpus[0].pv.fpu); i++)
        assert_int_equal(d->vcpus[0].pv.fpu[i], 0);
    assert_true(d->vcpus[0].pv.fpu_initialised);
    mxcsr = 0x1f80; /* the reset value: inside any mask */
    memcpy(img + 24, &mxcsr, 4);
    assert_int_equal(SET(), 0);
    assert_memory_equal(d->vcpus[0].pv.fpu, img, sizeof(d->vcpus[0].pv.fpu));
    /* unpaused and started: refused */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_unpausedomain, (domid_t)id), 0);
    assert_true(domain_vcpu_may_run(&d->vcpus[0]));
    assert_int_equal(SET(), -XL_EBUSY);
    /* getdomaininfo: online, not blocked, not running */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getdomaininfo, (domid_t)id), 0);
    assert_int_equal(dop(&g0)->u.getdomaininfo.flags, 0);
    assert_int_equal(dop(&g0)->u.getdomaininfo.nr_online_vcpus, 1);
    /* destroy: the L4's reference goes with it, every frame back */
    uint64_t before = mm_free_count();
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, (domid_t)id), 0);
    assert_int_equal(mm_free_count(), before + 3 + 1 + 1); /* l4, busy, other, shinfo, gnt */
#undef SET
#undef GET
}

/* XEN_DOMCTL_set/getvcpuaffinity as Xen 4.17's vcpu_affinity_domctl,
 * on a machine of 4 CPUs: all CPUs by default, hard and soft kept per
 * vcpu, the effective maps written back, maps cut to the CPUs there are,
 * the guest's nr_bits honoured both ways, Xen's -EINVAL cases. */
static void test_vcpu_affinity(void **state)
{
    (void)state;
    fake_nr_cpus = 4;
    struct xen_domctl *o = dop(&g0);
    good_create(o);
    o->u.createdomain.max_vcpus = 3;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_createdomain, 0), 0);
    domid_t id = o->domain;
    struct domain *d = domain_by_id(id);
    uint8_t *hard = gva(&g0, DATA_VA), *soft = gva(&g0, DATA_VA + 64);
#define AFF(cmd, v, fl, hbits, sbits) ({ \
        memset(&o->u, 0, sizeof(o->u)); \
        o->u.vcpuaffinity.vcpu = (v); \
        o->u.vcpuaffinity.flags = (fl); \
        o->u.vcpuaffinity.cpumap_hard.nr_bits = (hbits); \
        o->u.vcpuaffinity.cpumap_soft.nr_bits = (sbits); \
        set_xen_guest_handle(o->u.vcpuaffinity.cpumap_hard.bitmap, (uint8_t *)(uintptr_t)DATA_VA); \
        set_xen_guest_handle(o->u.vcpuaffinity.cpumap_soft.bitmap, (uint8_t *)(uintptr_t)(DATA_VA + 64)); \
        domctl_as(&g0, (cmd), id); })
    const uint32_t HS = XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT;
    /* default: every CPU, hard and soft; bytes past ours are zeroed */
    memset(hard, 0xee, 64);
    memset(soft, 0xee, 64);
    assert_int_equal(AFF(XEN_DOMCTL_getvcpuaffinity, 2, HS, 24, 8), 0);
    assert_int_equal(hard[0], 0x0f);
    assert_int_equal(hard[1], 0);
    assert_int_equal(hard[2], 0);
    assert_int_equal(hard[3], 0xee);   /* beyond its 24 bits: untouched */
    assert_int_equal(soft[0], 0x0f);
    assert_int_equal(soft[1], 0xee);
    /* set hard {1,3} (bits past the CPUs dropped), soft {0,1} */
    hard[0] = 0xfa;                    /* 1,3,4..7: 4..7 are not CPUs here */
    soft[0] = 0x03;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 1, HS, 8, 8), 0);
    assert_int_equal(d->vcpus[1].affinity, 0x0a);
    assert_int_equal(d->vcpus[1].soft_affinity, 0x03);
    assert_int_equal(hard[0], 0x0a);   /* effective hard: hard & online */
    assert_int_equal(soft[0], 0x02);   /* effective soft: soft & hard & online */
    assert_int_equal(d->vcpus[0].affinity, ~0ULL); /* the others keep theirs */
    assert_int_equal(d->vcpus[2].affinity, ~0ULL);
    /* not running: its cpu moves into the map at once (Xen's
     * vcpu_migrate_finish), as getvcpuinfo shows */
    assert_int_equal(d->vcpus[1].processor, 1);
    memset(&o->u, 0, sizeof(o->u));
    o->u.getvcpuinfo.vcpu = 1;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getvcpuinfo, id), 0);
    assert_int_equal(o->u.getvcpuinfo.cpu, 1);
    /* a cpu inside the map stays; a running vcpu is left to its CPU */
    hard[0] = 0x0e;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 1, XEN_VCPUAFFINITY_HARD, 8, 0), 0);
    assert_int_equal(d->vcpus[1].processor, 1);
    d->vcpus[2].running = 1;
    hard[0] = 0x08;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 2, XEN_VCPUAFFINITY_HARD, 8, 0), 0);
    assert_int_equal(d->vcpus[2].processor, 0);
    d->vcpus[2].running = 0;
    hard[0] = 0x0f;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 2, XEN_VCPUAFFINITY_HARD, 8, 0), 0);
    hard[0] = 0xfa;
    soft[0] = 0x03;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 1, HS, 8, 8), 0);
    memset(hard, 0, 64);
    memset(soft, 0, 64);
    assert_int_equal(AFF(XEN_DOMCTL_getvcpuaffinity, 1, HS, 8, 8), 0);
    assert_int_equal(hard[0], 0x0a);
    assert_int_equal(soft[0], 0x03);   /* get: the soft map as set */
    /* the guest's nr_bits cuts what is read: 2 bits of 0xff = {0,1} */
    hard[0] = 0xff;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 0, XEN_VCPUAFFINITY_HARD, 2, 0), 0);
    assert_int_equal(d->vcpus[0].affinity, 0x03);
    /* no online CPU in the hard map: -EINVAL, nothing changes */
    hard[0] = 0xf0;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 1, HS, 8, 8), -XL_EINVAL);
    hard[0] = 0;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 1, XEN_VCPUAFFINITY_HARD, 64, 0), -XL_EINVAL);
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 1, XEN_VCPUAFFINITY_HARD, 0, 0), -XL_EINVAL);
    assert_int_equal(d->vcpus[1].affinity, 0x0a);
    assert_int_equal(d->vcpus[1].soft_affinity, 0x03);
    /* Xen's parameter checks: vcpu past max_vcpus, no flags, NULL handles */
    hard[0] = 1;
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 3, XEN_VCPUAFFINITY_HARD, 8, 0), -XL_EINVAL);
    assert_int_equal(AFF(XEN_DOMCTL_getvcpuaffinity, 3, XEN_VCPUAFFINITY_HARD, 8, 0), -XL_EINVAL);
    assert_int_equal(AFF(XEN_DOMCTL_setvcpuaffinity, 0, 0, 8, 8), -XL_EINVAL);
    memset(&o->u, 0, sizeof(o->u));
    o->u.vcpuaffinity.flags = XEN_VCPUAFFINITY_SOFT;
    o->u.vcpuaffinity.cpumap_soft.nr_bits = 8;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getvcpuaffinity, id), -XL_EINVAL);
    /* a bitmap the caller cannot write: -EFAULT */
    memset(&o->u, 0, sizeof(o->u));
    o->u.vcpuaffinity.flags = XEN_VCPUAFFINITY_HARD;
    o->u.vcpuaffinity.cpumap_hard.nr_bits = 8;
    set_xen_guest_handle(o->u.vcpuaffinity.cpumap_hard.bitmap, (uint8_t *)(uintptr_t)0x7f0000000000ULL);
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getvcpuaffinity, id), -XL_EFAULT);
    /* a domU may not */
    struct xen_domctl *o1 = dop(&g1);
    memset(&o1->u, 0, sizeof(o1->u));
    o1->u.vcpuaffinity.flags = XEN_VCPUAFFINITY_HARD;
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_getvcpuaffinity, id), -XL_EPERM);
    /* getvcpuinfo: a new domain's vcpus are down, not running, none past max_vcpus */
    memset(&o->u, 0, sizeof(o->u));
    o->u.getvcpuinfo.vcpu = 2;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getvcpuinfo, id), 0);
    assert_int_equal(o->u.getvcpuinfo.online, 0);
    assert_int_equal(o->u.getvcpuinfo.running, 0);
    assert_int_equal(o->u.getvcpuinfo.blocked, 0);
    o->u.getvcpuinfo.vcpu = 3;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_getvcpuinfo, id), -XL_EINVAL);
#undef AFF
}

static void test_sysctl(void **state)
{
    (void)state;
    struct xen_sysctl *s = sop(&g0);
    memset(s, 0, sizeof(*s));
    assert_int_equal(sysctl_as(&g0, XEN_SYSCTL_physinfo), 0);
    assert_int_equal(s->u.physinfo.nr_cpus, 1);
    assert_int_equal(s->u.physinfo.cpu_khz, 2500000);
    assert_int_equal(s->u.physinfo.capabilities, XEN_SYSCTL_PHYSCAP_pv);
    assert_int_equal(s->u.physinfo.free_pages, mm_free_count());
    assert_int_equal(s->u.physinfo.total_pages, NFRAMES - FIRST_FREE);
    assert_int_equal(s->u.physinfo.max_mfn, NFRAMES - 1);
    create(4);
    memset(s, 0, sizeof(*s));
    s->u.getdomaininfolist.first_domain = 1;
    s->u.getdomaininfolist.max_domains = 16;
    set_xen_guest_handle(s->u.getdomaininfolist.buffer, (xen_domctl_getdomaininfo_t *)DATA_VA);
    assert_int_equal(sysctl_as(&g0, XEN_SYSCTL_getdomaininfolist), 0);
    assert_int_equal(s->u.getdomaininfolist.num_domains, 2);
    xen_domctl_getdomaininfo_t *l = gva(&g0, DATA_VA);
    assert_int_equal(l[0].domain, 1);
    assert_int_equal(l[1].domain, 4);
    assert_int_equal(l[1].flags, XEN_DOMINF_paused);
    s->u.getdomaininfolist.first_domain = 0;
    s->u.getdomaininfolist.max_domains = 1;
    assert_int_equal(sysctl_as(&g0, XEN_SYSCTL_getdomaininfolist), 0);
    assert_int_equal(s->u.getdomaininfolist.num_domains, 1);
    assert_int_equal(l[0].domain, 0);
    set_xen_guest_handle(s->u.getdomaininfolist.buffer, (xen_domctl_getdomaininfo_t *)0x7000000);
    assert_int_equal(sysctl_as(&g0, XEN_SYSCTL_getdomaininfolist), -XL_EFAULT);
    assert_int_equal(sysctl_as(&g0, 9999), -XL_ENOSYS);
}

static long schedop_dom(struct guest *g, domid_t dom, uint32_t sched_id, uint32_t cmd,
                        uint16_t weight, uint16_t cap)
{
    struct xen_domctl *o = dop(g);
    memset(o, 0, sizeof(*o));
    o->u.scheduler_op.sched_id = sched_id;
    o->u.scheduler_op.cmd = cmd;
    o->u.scheduler_op.u.credit.weight = weight;
    o->u.scheduler_op.u.credit.cap = cap;
    return domctl_as(g, XEN_DOMCTL_scheduler_op, dom);
}

/* getinfo answers weight and cap; -1 if it fails. */
static long credit_of(domid_t dom, uint16_t *weight, uint16_t *cap)
{
    long rc = schedop_dom(&g0, dom, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_getinfo, 7, 7);
    *weight = dop(&g0)->u.scheduler_op.u.credit.weight;
    *cap = dop(&g0)->u.scheduler_op.u.credit.cap;
    return rc;
}

/* Domain dom's credit weight and cap are (weight, cap); a macro so a
 * failure names the caller's line. */
#define assert_credit(dom, weight, cap)                 \
    do {                                                \
        uint16_t w_, c_;                                \
        assert_int_equal(credit_of((dom), &w_, &c_), 0); \
        assert_int_equal(w_, (weight));                 \
        assert_int_equal(c_, (cap));                    \
    } while (0)

/* XEN_DOMCTL_scheduler_op as Xen 4.17's sched_adjust + csched_dom_cntl:
 * defaults 256 / 0; weight 0 and cap 0xffff leave the value as it is;
 * other values are taken (the 1..65535 / 0..100 x vcpus ranges are
 * libxl's: xl checks them, test_xlcmd); another scheduler id or a
 * per-vcpu sub-op is -EINVAL; dom0 only; no such domain -ESRCH. */
static void test_scheduler_op(void **state)
{
    (void)state;
    assert_credit(1, 256, 0);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 512,
                                 0xffff), 0);
    assert_credit(1, 512, 0);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 0, 25), 0);
    assert_credit(1, 512, 25);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 0,
                                 0xffff), 0);
    assert_credit(1, 512, 25);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 65535,
                                 0), 0);
    assert_credit(1, 65535, 0);
    /* A cap beyond 100 per vcpu: Xen's hv stores it (it limits nothing). */
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 1,
                                 500), 0);
    assert_credit(1, 1, 500);
    /* Each domain has its own; dom0 still has the defaults. */
    assert_credit(0, 256, 0);
    /* A domain made by createdomain (paused, 2 vcpus) has the defaults. */
    good_create(dop(&g0));
    dop(&g0)->u.createdomain.max_vcpus = 2;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_createdomain, 5), 0);
    assert_credit(5, 256, 0);
    assert_int_equal(schedop_dom(&g0, 5, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 300,
                                 150), 0);
    assert_credit(5, 300, 150);
    /* destroyed and created again: the defaults again */
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, 5), 0);
    good_create(dop(&g0));
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_createdomain, 5), 0);
    assert_credit(5, 256, 0);

    /* Errors, and nothing changed by them. */
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT2, XEN_DOMCTL_SCHEDOP_putinfo, 9, 9),
                     -XL_EINVAL);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT2, XEN_DOMCTL_SCHEDOP_getinfo, 0, 0),
                     -XL_EINVAL);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putvcpuinfo, 9,
                                 9), -XL_EINVAL);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_getvcpuinfo, 9,
                                 9), -XL_EINVAL);
    assert_int_equal(schedop_dom(&g0, 1, XEN_SCHEDULER_CREDIT, 4, 9, 9), -XL_EINVAL);
    assert_int_equal(schedop_dom(&g1, 1, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 9, 9),
                     -XL_EPERM);
    assert_int_equal(schedop_dom(&g0, 9, XEN_SCHEDULER_CREDIT, XEN_DOMCTL_SCHEDOP_putinfo, 9, 9),
                     -XL_ESRCH);
    assert_credit(1, 1, 500);
}

static long schedop_sys(uint32_t pool, uint32_t sched_id, uint32_t cmd, uint32_t tslice,
                        uint32_t ratelimit, uint32_t delay)
{
    struct xen_sysctl *s = sop(&g0);
    memset(s, 0, sizeof(*s));
    s->u.scheduler_op.cpupool_id = pool;
    s->u.scheduler_op.sched_id = sched_id;
    s->u.scheduler_op.cmd = cmd;
    s->u.scheduler_op.u.sched_credit.tslice_ms = tslice;
    s->u.scheduler_op.u.sched_credit.ratelimit_us = ratelimit;
    s->u.scheduler_op.u.sched_credit.vcpu_migr_delay_us = delay;
    return sysctl_as(&g0, XEN_SYSCTL_scheduler_op);
}

/* XEN_SYSCTL_sched_id says credit; XEN_SYSCTL_scheduler_op reads and
 * sets Pool-0's tslice / ratelimit / migration delay with
 * csched_sys_cntl's checks. */
static void test_sysctl_scheduler(void **state)
{
    (void)state;
    struct xen_sysctl *s = sop(&g0);
    const struct xen_sysctl_credit_schedule *p = &s->u.scheduler_op.u.sched_credit;
    memset(s, 0, sizeof(*s));
    assert_int_equal(sysctl_as(&g0, XEN_SYSCTL_sched_id), 0);
    assert_int_equal(s->u.sched_id.sched_id, XEN_SCHEDULER_CREDIT);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_getinfo, 0, 0, 0), 0);
    assert_int_equal(p->tslice_ms, 30);
    assert_int_equal(p->ratelimit_us, 1000);
    assert_int_equal(p->vcpu_migr_delay_us, 0);
    static const uint32_t bad[][3] = { { 0, 0, 0 }, { 1001, 0, 0 }, { 30, 99, 0 },
                                       { 30, 500001, 0 }, { 1, 1001, 0 }, { 30, 1000, 100001 } };
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_putinfo,
                                     bad[i][0], bad[i][1], bad[i][2]), -XL_EINVAL);
    assert_int_equal(schedop_sys(1, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_getinfo, 0, 0, 0),
                     -XL_ESRCH);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT2, XEN_SYSCTL_SCHEDOP_getinfo, 0, 0, 0),
                     -XL_EINVAL);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, 2, 0, 0, 0), -XL_EINVAL);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_getinfo, 0, 0, 0), 0);
    assert_int_equal(p->tslice_ms, 30); /* the errors changed nothing */
    assert_int_equal(p->ratelimit_us, 1000);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_putinfo, 10, 0, 500),
                     0);
    assert_int_equal(p->tslice_ms, 10);
    assert_int_equal(p->ratelimit_us, 0);
    assert_int_equal(p->vcpu_migr_delay_us, 500);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_getinfo, 0, 0, 0), 0);
    assert_int_equal(p->tslice_ms, 10);
    assert_int_equal(schedop_sys(0, XEN_SCHEDULER_CREDIT, XEN_SYSCTL_SCHEDOP_putinfo, 30, 1000, 0),
                     0);
}

static long readcon(int clear, int incr, uint32_t index, uint32_t count)
{
    struct xen_sysctl *s = sop(&g0);
    memset(s, 0, sizeof(*s));
    s->u.readconsole.clear = (uint8_t)clear;
    s->u.readconsole.incremental = (uint8_t)incr;
    s->u.readconsole.index = index;
    s->u.readconsole.count = count;
    set_xen_guest_handle(s->u.readconsole.buffer, (char *)DATA_VA);
    return sysctl_as(&g0, XEN_SYSCTL_readconsole);
}

static void test_readconsole(void **state)
{
    (void)state;
    struct xen_sysctl *s = sop(&g0);
    char *buf = gva(&g0, DATA_VA);
    assert_int_equal(readcon(1, 0, 0, 8192), 0); /* start from an empty ring */
    uint32_t end = s->u.readconsole.index;
    assert_int_equal(readcon(0, 0, 0, 8192), 0);
    assert_int_equal(s->u.readconsole.count, 0);
    printk("hello ring\n");
    assert_int_equal(readcon(0, 0, 0, 8192), 0);
    uint32_t n = s->u.readconsole.count;
    assert_true(n > 11 && n < 40);
    assert_memory_equal(buf + n - 11, "hello ring\n", 11);
    assert_int_equal(s->u.readconsole.index, end + n);
    /* small buffer: partial, index says where it stopped */
    assert_int_equal(readcon(0, 0, 0, 5), 0);
    assert_int_equal(s->u.readconsole.count, 5);
    assert_int_equal(s->u.readconsole.index, end + 5);
    /* incremental from the end: nothing; from the middle: the rest */
    assert_int_equal(readcon(0, 1, end + n, 8192), 0);
    assert_int_equal(s->u.readconsole.count, 0);
    assert_int_equal(readcon(0, 1, end + 5, 8192), 0);
    assert_int_equal(s->u.readconsole.count, n - 5);
    /* an index outside (cons, prod] is ignored: read from the start */
    assert_int_equal(readcon(0, 1, end + n + 100, 8192), 0);
    assert_int_equal(s->u.readconsole.count, n);
    /* clear after a partial read keeps the rest */
    assert_int_equal(readcon(1, 0, 0, 5), 0);
    assert_int_equal(readcon(0, 0, 0, 8192), 0);
    assert_int_equal(s->u.readconsole.count, n - 5);
    /* overflow: only the last CONSOLE_RING_SIZE bytes survive */
    for (int i = 0; i < 3000; i++)
        printk("line %04d .............................................\n", i);
    assert_int_equal(readcon(0, 0, 0, 4096), 0);
    assert_int_equal(s->u.readconsole.count, 4096);
    assert_int_equal(readcon(0, 0, 0, 0), 0);
    assert_int_equal(s->u.readconsole.count, 0);
    /* a bad buffer: -EFAULT */
    struct xen_sysctl *t = sop(&g0);
    memset(t, 0, sizeof(*t));
    t->u.readconsole.count = 100;
    set_xen_guest_handle(t->u.readconsole.buffer, (char *)0x7000000);
    assert_int_equal(sysctl_as(&g0, XEN_SYSCTL_readconsole), -XL_EFAULT);
    /* whole ring: exactly CONSOLE_RING_SIZE bytes available */
    uint32_t got = 0;
    assert_int_equal(readcon(0, 0, 0, 4096), 0);
    uint32_t idx = s->u.readconsole.index - s->u.readconsole.count;
    for (;;) {
        assert_int_equal(readcon(0, 1, idx, 4096), 0);
        if (idx == s->u.readconsole.index)
            break;
        got += s->u.readconsole.count;
        idx = s->u.readconsole.index;
    }
    assert_int_equal(got, CONSOLE_RING_SIZE);
}

/* XENOLITH_SYSCTL_hypercall_stats, and what the dispatcher counts: every
 * call (multicall entries too) by number, sub-ops of the multiplexed. */
static long hcstats_as(struct guest *g, uint16_t domid, uint32_t size, uint64_t buffer)
{
    struct xen_sysctl *s = sop(g);
    memset(s, 0, sizeof(*s));
    struct xenolith_sysctl_hypercall_stats h = { .domid = domid, .size = size, .buffer = buffer };
    memcpy(s->u.pad, &h, sizeof(h));
    return sysctl_as(g, XENOLITH_SYSCTL_hypercall_stats);
}
static uint32_t hcstats_size(struct guest *g)
{
    struct xenolith_sysctl_hypercall_stats h;
    memcpy(&h, sop(g)->u.pad, sizeof(h));
    return h.size;
}

static void test_hypercall_stats(void **state)
{
    (void)state;
    const uint32_t sz = sizeof(struct hcstat_counts);
    /* d1's calls: refused or not, each is counted */
    assert_int_equal(sysctl_as(&g1, XEN_SYSCTL_physinfo), -XL_EPERM);
    assert_int_equal(sysctl_as(&g1, XEN_SYSCTL_physinfo), -XL_EPERM);
    assert_int_equal(domctl_as(&g1, XEN_DOMCTL_getdomaininfo, 1), -XL_EPERM);
    assert_int_equal(hypercall_dispatch(&g1.d->vcpus[0], 60, 0, 0, 0, 0, 0), -XL_ENOSYS);
    assert_int_equal(hypercall_dispatch(&g1.d->vcpus[0], 1ULL << 40, 0, 0, 0, 0, 0), -XL_ENOSYS);
    assert_int_equal(hypercall_dispatch(&g1.d->vcpus[0], __HYPERVISOR_hvm_op, 1, 0, 0, 0, 0),
                     -XL_ENOSYS);
    assert_int_equal(hypercall_dispatch(&g1.d->vcpus[0], __HYPERVISOR_sysctl, 0x7000000, 0, 0, 0, 0),
                     -XL_EFAULT); /* its sub-op never read */
    /* a multicall of two memory_op entries: three calls */
    multicall_entry_t *mc = gva(&g1, DATA_VA);
    for (int i = 0; i < 2; i++)
        mc[i] = (multicall_entry_t){ .op = __HYPERVISOR_memory_op,
                                     .args = { XENMEM_maximum_ram_page } };
    assert_int_equal(hypercall_dispatch(&g1.d->vcpus[0], __HYPERVISOR_multicall, DATA_VA, 2, 0, 0, 0),
                     0);
    /* the sysctl itself: dom0 only, an existing domain, a big enough and
     * writable buffer */
    assert_int_equal(hcstats_as(&g1, 1, sz, DATA_VA), -XL_EPERM);
    assert_int_equal(hcstats_as(&g0, 7, sz, DATA_VA), -XL_ESRCH);
    assert_int_equal(hcstats_as(&g0, DOMID_SELF, sz, DATA_VA), -XL_ESRCH);
    assert_int_equal(hcstats_as(&g0, 1, 0, 0), 0); /* size query */
    assert_int_equal(hcstats_size(&g0), sz);
    assert_int_equal(hcstats_as(&g0, 1, sz - 1, DATA_VA), -XL_ENOBUFS);
    assert_int_equal(hcstats_size(&g0), sz);
    assert_int_equal(hcstats_as(&g0, 1, sz, 0x7000000), -XL_EFAULT);
    assert_int_equal(hcstats_as(&g0, 1, sz, BUF_VA + NBUF * PAGE_SIZE - 8), -XL_EFAULT);
    assert_int_equal(hcstats_as(&g0, 1, sz, BUF_VA + (NBUF - 2) * PAGE_SIZE - 16), 0);
    memset(gva(&g0, DATA_VA), 0, PAGE_SIZE);
    assert_int_equal(hcstats_as(&g0, 1, sz + 100, DATA_VA), 0);
    struct hcstat_counts c;
    for (uint32_t off = 0; off < sz; off += 8) /* the buffer spans guest pages */
        memcpy((uint8_t *)&c + off, gva(&g0, DATA_VA + off), 8);
    assert_memory_equal(&c, &g1.d->hcstat, sz);
    assert_int_equal(c.calls[__HYPERVISOR_sysctl], 4); /* 2 physinfo, 1 fault, 1 hcstats */
    assert_int_equal(c.sub[HCS_BASE_sysctl + XEN_SYSCTL_physinfo], 2);
    assert_int_equal(c.sub[HCS_BASE_sysctl + XENOLITH_SYSCTL_hypercall_stats], 1);
    assert_int_equal(c.calls[__HYPERVISOR_domctl], 1);
    assert_int_equal(c.sub[HCS_BASE_domctl + XEN_DOMCTL_getdomaininfo], 1);
    assert_int_equal(c.calls[60], 1);
    assert_int_equal(c.calls[HCSTAT_OTHER_CALL], 1);
    assert_int_equal(c.calls[__HYPERVISOR_hvm_op], 1);
    assert_int_equal(c.sub[HCS_BASE_hvm_op + 1], 1);
    assert_int_equal(c.calls[__HYPERVISOR_multicall], 1);
    assert_int_equal(c.calls[__HYPERVISOR_memory_op], 2);
    assert_int_equal(c.sub[HCS_BASE_memory_op + XENMEM_maximum_ram_page], 2);
    assert_int_equal(hcstat_total(&c), 11);
    /* the listing: largest first, the unread sysctl as "sysctl/?" */
    struct hcstat_leaf top[16];
    char name[48];
    assert_int_equal(hcstat_top(&c, top, 16), 9);
    hcstat_leaf_name(&top[0], '/', name, sizeof(name));
    assert_string_equal(name, "memory_op/maximum_ram_page");
    hcstat_leaf_name(&top[1], '/', name, sizeof(name));
    assert_string_equal(name, "sysctl/physinfo");
    int unread = 0;
    for (int i = 0; i < 9; i++) {
        hcstat_leaf_name(&top[i], '/', name, sizeof(name));
        unread += !strcmp(name, "sysctl/?");
    }
    assert_int_equal(unread, 1);
    /* counters start from zero in a new domain; destroy prints them */
    long id = create(0);
    assert_true(id > 1);
    struct domain *nd = domain_by_id((uint16_t)id);
    for (int i = 0; i < HCSTAT_CALLS; i++)
        assert_int_equal(nd->hcstat.calls[i], 0);
    serial_len = 0;
    assert_int_equal(domctl_as(&g0, XEN_DOMCTL_destroydomain, 1), 0);
    serial[serial_len] = 0;
    /* ties: lower hypercall first, a sub-op before the unread ones */
    assert_non_null(strstr(serial, "d1 hypercalls: 11 total; memory_op/maximum_ram_page 2, "
                                   "sysctl/physinfo 2, multicall 1, hvm_op/get_param 1, "
                                   "sysctl/hypercall_stats 1, sysctl/? 1, domctl/getdomaininfo 1, "
                                   "hypercall 60 1\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_and_privilege, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_domain_is_paused_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_waits_for_remote_vcpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vcpu_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vcpu_affinity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sysctl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduler_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sysctl_scheduler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readconsole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hypercall_stats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
