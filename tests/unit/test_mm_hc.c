/*
 * test_mm_hc.c - host unit tests for the memory hypercalls through the
 * real hypercall layer: continuations of mmu_update, mmuext_op, memory_op
 * and multicall (hypercall.c's preempt check over a fake clock; its list read
 * through a cached mapping that an entry unmapping it invalidates), and the
 * shared_info frame's permanent writable type (domain.c).
 * Links: hypercall.c multicall.c domain.c mm.c page_type.c m2p.c mmu.c
 * memory.c page_alloc.c guest_access.c format.c. Mocks: fake machine
 * memory, arch_time_ns (advances step_ns per call), the hypercalls of
 * other subsystems (xen_version counts its calls), the event/time hooks
 * domain.c calls, pv_update_cr3 and the arch MMU hooks.
 */
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
#include <xenolith/domain.h>
#include <xenolith/sched.h>
#include <xenolith/errno.h>
#include <xenolith/grant_table.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xen/memory.h>
#include "fake_mem.h"

#define NFRAMES    1024
#define FIRST_FREE 16
#define RWF (PTE_P | PTE_RW | PTE_US | PTE_A)
#define ROF (PTE_P | PTE_US | PTE_A)
#define PREEMPTED 0x80000000u /* MMU_UPDATE_PREEMPTED */
#define RIP 0x400000ULL       /* where the guest's syscall "returns" to */

/* ---- mocks ---- */
static uint64_t now_ns, step_ns;
static int version_calls;

uint64_t arch_time_ns(void) { return now_ns += step_ns; }
/* domain.c's event and time hooks */
void evtchn_domain_init(struct domain *d) { (void)d; }
void evtchn_domain_destroy(struct domain *d) { (void)d; }
void send_global_virq(unsigned int virq) { (void)virq; }
void vcpu_update_time(struct vcpu *v) { (void)v; }
void domain_update_wallclock(struct domain *d) { (void)d; }
/* platform.c (linked with the hypercall table): one CPU, wallclock kept nowhere. */
void arch_wallclock_set(uint64_t sec, uint32_t nsec) { (void)sec; (void)nsec; }
unsigned int arch_nr_cpus(void) { return 1; }
uint32_t arch_cpu_apic_id(unsigned int cpu) { (void)cpu; return 0; }
void timer_vcpu_init(struct vcpu *v) { (void)v; }
void vcpu_info_unmap(struct vcpu *v) { (void)v; }
void pv_destroy_gdt(struct vcpu *v) { (void)v; } /* pv_desc.c: no GDT in these tests */
int gnttab_domain_init(struct domain *d) { (void)d; return 0; } /* grant_table.c: none here */
void gnttab_domain_destroy(struct domain *d) { (void)d; }
unsigned int gnttab_total_mappings(void) { return 0; }
unsigned int evtchn_total_in_use(void) { return 0; } /* event_channel.c: not linked */
void sched_domain_destroy(struct domain *d) { (void)d; } /* sched.c: not linked (no vcpu runs here) */
/* the other subsystems' hypercalls */
#define STUB(name) \
    HYPERCALL_DECL(name) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
STUB(set_trap_table) STUB(set_gdt) STUB(stack_switch) STUB(set_callbacks) STUB(fpu_taskswitch)
STUB(set_debugreg) STUB(get_debugreg) STUB(update_descriptor) STUB(set_timer_op)
STUB(console_io) STUB(vm_assist) STUB(iret) STUB(vcpu_op) STUB(set_segment_base)
STUB(sched_op) STUB(callback_op) STUB(event_channel_op) STUB(physdev_op) STUB(grant_table_op)
STUB(domctl) STUB(sysctl)
#define VERSION 0x40011
HYPERCALL_DECL(xen_version)
{
    (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
    version_calls++;
    return VERSION;
}

/* ---- a guest: domain A with va 0x1000..0x8fff mapped to 8 frames ---- */
enum { A = 1 };
#define BUF_VA 0x1000ULL
#define NBUF   8
static struct domain *da;
static uint64_t l4, l3, l2, l1, bufs[NBUF];
#define pi(m) (&frame_table[m])
static uint64_t *tab(uint64_t mfn) { return mfn_to_virt(mfn); }
static void *gva(uint64_t va) /* the hv-side address of a guest buffer byte */
{
    return (uint8_t *)mfn_to_virt(bufs[(va - BUF_VA) >> PAGE_SHIFT]) + (va & (PAGE_SIZE - 1));
}
static uint64_t frame(void)
{
    int64_t m = mm_alloc_frame(A);
    assert_true(m >= FIRST_FREE);
    da->tot_pages++;
    return (uint64_t)m;
}

static int setup(void **state)
{
    (void)state;
    fake_mem_setup(NFRAMES, FIRST_FREE);
    memset(domains, 0, sizeof(domains));
    current = NULL;
    now_ns = step_ns = 0;
    version_calls = 0;
    da = domain_create(A, 0, "a");
    assert_non_null(da);
    da->tot_pages = 1; /* its shared_info */
    da->max_pages = 600;
    l4 = frame(), l3 = frame(), l2 = frame(), l1 = frame();
    tab(l4)[0] = (l3 << PAGE_SHIFT) | RWF;
    tab(l3)[0] = (l2 << PAGE_SHIFT) | RWF;
    tab(l2)[0] = (l1 << PAGE_SHIFT) | RWF;
    for (int i = 0; i < NBUF; i++) {
        bufs[i] = frame();
        tab(l1)[1 + i] = (bufs[i] << PAGE_SHIFT) | RWF;
    }
    assert_int_equal(mm_new_baseptr(&da->vcpus[0], l4, 0), 0);
    current = &da->vcpus[0];
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_mem_teardown();
    return 0;
}

/* The guest issues hypercall nr once (one `syscall` at RIP - 2). */
static long issue(struct vcpu *v, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4, uint64_t a5)
{
    v->regs.rip = RIP;
    return hypercall_dispatch(v, nr, a1, a2, a3, a4, a5);
}
/* Did the last issue() ask the guest to re-issue (rip back on syscall)? */
static int continued(const struct vcpu *v) { return v->regs.rip == RIP - 2; }
/* What the guest does after a continuation: re-run the syscall with the
 * registers the hv left, until it really returns. */
static long finish(struct vcpu *v, long rc, int *conts)
{
    while (continued(v)) {
        (*conts)++;
        assert_true(*conts < 100000);
        rc = issue(v, (uint64_t)rc, v->regs.rdi, v->regs.rsi, v->regs.rdx, v->regs.r10,
                   v->regs.r8);
    }
    return rc;
}

/* N mmu_update requests at BUF_VA mapping pg read-only into slots 0..N-1
 * of a pinned L1; pdone at the last buffer page. */
#define N_UPD 400
#define PDONE_VA (BUF_VA + (NBUF - 1) * PAGE_SIZE)
static uint64_t mmu_list(uint64_t *pg)
{
    uint64_t lx = frame();
    *pg = frame();
    assert_int_equal(mm_pin(A, lx, PGT_l1), 0);
    for (unsigned int j = 0; j < N_UPD; j++) {
        mmu_update_t *r = gva(BUF_VA + j * sizeof(*r));
        r->ptr = (lx << PAGE_SHIFT) + 8 * j;
        r->val = (*pg << PAGE_SHIFT) | ROF;
    }
    *(unsigned int *)gva(PDONE_VA) = 12345;
    return lx;
}

static void test_mmu_update_continued(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    uint64_t pg, lx = mmu_list(&pg);
    step_ns = 200000; /* each clock read is 0.2 ms later */
    long rc = issue(v, __HYPERVISOR_mmu_update, BUF_VA, N_UPD, PDONE_VA, DOMID_SELF, 0);
    assert_true(continued(v));
    assert_int_equal(rc, __HYPERVISOR_mmu_update);
    unsigned int k = *(unsigned int *)gva(PDONE_VA);
    assert_true(k > 0 && k < N_UPD);
    assert_int_equal(pi(pg)->count, k); /* exactly the first k were done */
    assert_int_equal(tab(lx)[k - 1], (pg << PAGE_SHIFT) | ROF | 0x100); /* user page: G added */
    assert_int_equal(tab(lx)[k], 0); /* not yet */
    assert_int_equal(v->regs.rdi, BUF_VA + k * sizeof(mmu_update_t));
    assert_int_equal(v->regs.rsi, (N_UPD - k) | PREEMPTED);
    assert_int_equal(v->regs.rdx, PDONE_VA);
    assert_int_equal(v->regs.r10, DOMID_SELF);
    int conts = 0;
    rc = finish(v, rc, &conts);
    assert_int_equal(rc, 0);
    assert_true(conts >= 1);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), N_UPD);
    assert_int_equal(pi(pg)->count, N_UPD);
    for (unsigned int j = 0; j < N_UPD; j++)
        assert_int_equal(tab(lx)[j], (pg << PAGE_SHIFT) | ROF | 0x100);
    /* with no time passing the same list is done in one call */
    step_ns = 0;
    assert_int_equal(mm_unpin(A, lx), 0);
    assert_int_equal(pi(pg)->count, 0);
    memset(tab(lx), 0, PAGE_SIZE);
    assert_int_equal(mm_pin(A, lx, PGT_l1), 0);
    assert_int_equal(issue(v, __HYPERVISOR_mmu_update, BUF_VA, N_UPD, PDONE_VA, DOMID_SELF, 0), 0);
    assert_false(continued(v));
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), N_UPD);
    assert_int_equal(pi(pg)->count, N_UPD);
}

static void test_mmuext_op_continued(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    const unsigned int n = 300;
    for (unsigned int j = 0; j < n; j++) {
        struct mmuext_op *op = gva(BUF_VA + j * sizeof(*op));
        *op = (struct mmuext_op){ .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = 0x1000 };
    }
    step_ns = 200000;
    long rc = issue(v, __HYPERVISOR_mmuext_op, BUF_VA, n, PDONE_VA, DOMID_SELF, 0);
    assert_true(continued(v));
    unsigned int k = *(unsigned int *)gva(PDONE_VA);
    assert_true(k > 0 && k < n);
    assert_int_equal(fake_invlpgs, k);
    assert_int_equal(v->regs.rdi, BUF_VA + k * sizeof(struct mmuext_op));
    assert_int_equal(v->regs.rsi, (n - k) | PREEMPTED);
    int conts = 0;
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_int_equal(fake_invlpgs, n);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), n);
    /* an error after a continuation: done counts the whole call */
    struct mmuext_op *bad = gva(BUF_VA + (n - 1) * sizeof(*bad));
    bad->cmd = 99;
    fake_invlpgs = 0;
    rc = issue(v, __HYPERVISOR_mmuext_op, BUF_VA, n, PDONE_VA, DOMID_SELF, 0);
    assert_int_equal(finish(v, rc, &conts), -XL_ENOSYS);
    assert_int_equal(fake_invlpgs, n - 1);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), n - 1);
}

static void test_memory_op_continued(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    uint64_t m2p[NFRAMES];
    memset(m2p, 0xff, sizeof(m2p));
    m2p_table = m2p;
    const unsigned int n = 200;
    uint64_t tot0 = da->tot_pages, free0 = mm_free_count();
    struct xen_memory_reservation *r = gva(BUF_VA);
    *r = (struct xen_memory_reservation){ .nr_extents = n, .domid = DOMID_SELF };
    r->extent_start.p = (xen_pfn_t *)(BUF_VA + PAGE_SIZE);
    uint64_t *list = gva(BUF_VA + PAGE_SIZE);
    for (unsigned int i = 0; i < n; i++)
        list[i] = 1000 + i;
    step_ns = 200000;
    long rc = issue(v, __HYPERVISOR_memory_op, XENMEM_populate_physmap, BUF_VA, 0, 0, 0);
    assert_true(continued(v));
    uint64_t k = v->regs.rdi >> 6;
    assert_int_equal(v->regs.rdi & 63, XENMEM_populate_physmap);
    assert_int_equal(v->regs.rsi, BUF_VA);
    assert_true(k > 0 && k < n);
    assert_int_equal(da->tot_pages, tot0 + k);
    assert_int_equal(m2p[list[k - 1]], 1000 + k - 1); /* done: an mfn now */
    assert_int_equal(list[k], 1000 + k);              /* not yet: still the pfn */
    int conts = 0;
    assert_int_equal(finish(v, rc, &conts), n);
    assert_int_equal(da->tot_pages, tot0 + n);
    assert_int_equal(mm_free_count(), free0 - n);
    for (unsigned int i = 0; i < n; i++) {
        assert_int_equal(pi(list[i])->owner, A);
        assert_int_equal(m2p[list[i]], 1000 + i);
    }
    /* decrease the same frames, continued too */
    rc = issue(v, __HYPERVISOR_memory_op, XENMEM_decrease_reservation, BUF_VA, 0, 0, 0);
    assert_true(continued(v));
    assert_int_equal(v->regs.rdi & 63, XENMEM_decrease_reservation);
    assert_int_equal(finish(v, rc, &conts), n);
    assert_int_equal(da->tot_pages, tot0);
    assert_int_equal(mm_free_count(), free0);
    /* increase_reservation without a list */
    r->extent_start.p = NULL;
    rc = issue(v, __HYPERVISOR_memory_op, XENMEM_increase_reservation, BUF_VA, 0, 0, 0);
    assert_true(continued(v));
    assert_int_equal(finish(v, rc, &conts), n);
    assert_int_equal(da->tot_pages, tot0 + n);
    /* a start extent at the end does nothing */
    step_ns = 0;
    assert_int_equal(issue(v, __HYPERVISOR_memory_op, XENMEM_populate_physmap | (n << 6), BUF_VA, 0, 0, 0), n);
    assert_int_equal(da->tot_pages, tot0 + n);
    m2p_table = NULL;
}

/* XENMEM_exchange: a long list is continued through nr_exchanged (cmd
 * stays XENMEM_exchange), inputs are freed, outputs are the domain's
 * with their M2P set and their mfn written over the pfn, address_bits
 * bound the outputs; a bad frame stops it with the earlier chunks done
 * and its chunk's frames handed back unmarked. */
static void test_memory_exchange(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    uint64_t m2p[NFRAMES];
    memset(m2p, 0xff, sizeof(m2p));
    m2p_table = m2p;
    const unsigned int n = 200;
    uint64_t in[200];
    for (unsigned int i = 0; i < n; i++)
        in[i] = frame(); /* the domain's, unreferenced */
    uint64_t tot0 = da->tot_pages, free0 = mm_free_count();
    struct xen_memory_exchange *x = gva(BUF_VA);
    *x = (struct xen_memory_exchange){
        .in = { .nr_extents = n, .domid = DOMID_SELF },
        .out = { .nr_extents = n, .domid = DOMID_SELF, .mem_flags = XENMEMF_address_bits(20) },
    };
    x->in.extent_start.p = (xen_pfn_t *)(BUF_VA + PAGE_SIZE);
    x->out.extent_start.p = (xen_pfn_t *)(BUF_VA + 3 * PAGE_SIZE);
    uint64_t *il = gva(BUF_VA + PAGE_SIZE), *ol = gva(BUF_VA + 3 * PAGE_SIZE);
    for (unsigned int i = 0; i < n; i++)
        il[i] = in[i], ol[i] = 5000 + i;
    step_ns = 200000;
    long rc = issue(v, __HYPERVISOR_memory_op, XENMEM_exchange, BUF_VA, 0, 0, 0);
    assert_true(continued(v));
    assert_int_equal(v->regs.rdi, XENMEM_exchange);
    assert_int_equal(v->regs.rsi, BUF_VA);
    uint64_t k = x->nr_exchanged;
    assert_true(k > 0 && k < n);
    assert_int_equal(m2p[ol[k - 1]], 5000 + k - 1); /* done: an mfn now */
    assert_int_equal(ol[k], 5000 + k);              /* not yet: the pfn */
    assert_int_equal(pi(in[k])->owner, A);
    int conts = 0;
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_int_equal(x->nr_exchanged, n);
    assert_int_equal(da->tot_pages, tot0);
    assert_int_equal(mm_free_count(), free0);
    for (unsigned int i = 0; i < n; i++) {
        /* freed (or handed out again as a later output) */
        assert_true(pi(in[i])->owner == DOMID_FREE || m2p[in[i]] >= 5000);
        assert_true(ol[i] < 256); /* below 2^20 bytes */
        assert_int_equal(pi(ol[i])->owner, A);
        assert_int_equal(pi(ol[i])->flags, 0);
        assert_int_equal(m2p[ol[i]], 5000 + i);
    }
    /* one bad frame (a page table of ours) in the middle */
    step_ns = 0;
    for (unsigned int i = 0; i < 10; i++)
        il[i] = ol[i], ol[i] = 6000 + i;
    uint64_t keep = il[3];
    il[4] = l1;
    x->nr_exchanged = 0;
    x->in.nr_extents = x->out.nr_extents = 10;
    assert_int_equal(issue(v, __HYPERVISOR_memory_op, XENMEM_exchange, BUF_VA, 0, 0, 0), -XL_EINVAL);
    assert_int_equal(x->nr_exchanged, 4);
    assert_int_equal(pi(keep)->owner, DOMID_FREE);
    assert_int_equal(pi(l1)->flags & PGF_exchange, 0);
    /* a frame named twice inside one chunk (order-1 out): handed back */
    uint64_t a = il[5], b = il[6];
    il[0] = a, il[1] = a;
    ol[0] = 7000;
    x->nr_exchanged = 0;
    x->in.nr_extents = 2;
    x->out.nr_extents = 1;
    x->out.extent_order = 1;
    assert_int_equal(issue(v, __HYPERVISOR_memory_op, XENMEM_exchange, BUF_VA, 0, 0, 0), -XL_EINVAL);
    assert_int_equal(x->nr_exchanged, 0);
    assert_int_equal(pi(a)->owner, A);
    assert_int_equal(pi(a)->flags, 0);
    assert_int_equal(ol[0], 7000);
    il[1] = b;
    assert_int_equal(issue(v, __HYPERVISOR_memory_op, XENMEM_exchange, BUF_VA, 0, 0, 0), 0);
    assert_int_equal(x->nr_exchanged, 2);
    assert_int_equal(ol[0] & 1, 0);
    assert_int_equal(m2p[ol[0] + 1], 7001);
    assert_int_equal(pi(a)->owner, DOMID_FREE);
    assert_int_equal(pi(b)->owner, DOMID_FREE);
    assert_int_equal(mm_free_count(), free0);
    /* another domain's frames: a domU may not name it */
    x->in.domid = x->out.domid = 7;
    x->nr_exchanged = 0;
    assert_int_equal(issue(v, __HYPERVISOR_memory_op, XENMEM_exchange, BUF_VA, 0, 0, 0), -XL_ESRCH);
    m2p_table = NULL;
}

static void test_multicall_continued(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    uint64_t pg, lx = mmu_list(&pg); /* 400 requests: 6400 bytes, pages 0-1 */
    (void)lx;
    const uint64_t mc_va = BUF_VA + 4 * PAGE_SIZE;
    multicall_entry_t *mc = gva(mc_va);
    mc[0] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .result = 7 };
    mc[1] = (multicall_entry_t){ .op = __HYPERVISOR_mmu_update, .result = 7,
                                 .args = { BUF_VA, N_UPD, PDONE_VA, DOMID_SELF } };
    mc[2] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .result = 7 };
    step_ns = 200000;
    long rc = issue(v, __HYPERVISOR_multicall, mc_va, 3, 0, 0, 0);
    /* entry 0 done; entry 1 cut inside: its progress is in the entry and
     * the multicall goes on from it */
    assert_true(continued(v));
    assert_int_equal(rc, __HYPERVISOR_multicall);
    assert_int_equal(v->regs.rdi, mc_va + sizeof(multicall_entry_t));
    assert_int_equal(v->regs.rsi, 2);
    assert_int_equal(version_calls, 1);
    assert_int_equal(mc[0].result, VERSION);
    unsigned int k = *(unsigned int *)gva(PDONE_VA);
    assert_true(k > 0 && k < N_UPD);
    assert_int_equal(pi(pg)->count, k);
    assert_int_equal(mc[1].op, __HYPERVISOR_mmu_update);
    assert_int_equal(mc[1].args[0], BUF_VA + k * sizeof(mmu_update_t));
    assert_int_equal(mc[1].args[1], (N_UPD - k) | PREEMPTED);
    assert_int_equal(mc[1].args[2], PDONE_VA);
    assert_int_equal(mc[1].args[3], DOMID_SELF);
    assert_int_equal(mc[2].result, 7); /* not run yet */
    int conts = 0;
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_int_equal(version_calls, 2); /* entry 0 was not run again */
    assert_int_equal(mc[1].result, 0);
    assert_int_equal(mc[2].result, VERSION);
    assert_int_equal(pi(pg)->count, N_UPD);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), N_UPD);
    /* a nested multicall is refused, also after a continuation */
    mc[0] = (multicall_entry_t){ .op = __HYPERVISOR_multicall, .args = { mc_va, 1 } };
    step_ns = 0;
    assert_int_equal(issue(v, __HYPERVISOR_multicall, mc_va, 1, 0, 0, 0), 0);
    assert_false(continued(v));
    assert_int_equal((long)mc[0].result, -XL_EINVAL);
}

/* Without a clock moving, a long multicall of cheap calls still is one
 * call; with it, entries are never run twice. */
static void test_multicall_long_list(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    const uint64_t mc_va = BUF_VA;
    const unsigned int n = 200; /* 200 * 64 bytes: pages 0-3 */
    for (unsigned int i = 0; i < n; i++)
        *(multicall_entry_t *)gva(mc_va + i * sizeof(multicall_entry_t)) =
            (multicall_entry_t){ .op = __HYPERVISOR_xen_version };
    step_ns = 300000;
    long rc = issue(v, __HYPERVISOR_multicall, mc_va, n, 0, 0, 0);
    assert_true(continued(v));
    unsigned int k = (unsigned int)((v->regs.rdi - mc_va) / sizeof(multicall_entry_t));
    assert_true(k > 0 && k < n);
    assert_int_equal(v->regs.rsi, n - k);
    assert_int_equal(version_calls, k);
    int conts = 0;
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_int_equal(version_calls, n);
    for (unsigned int i = 0; i < n; i++)
        assert_int_equal(((multicall_entry_t *)gva(mc_va + i * sizeof(multicall_entry_t)))->result,
                         VERSION);
}

/* The list read through a cached translation of its page: an entry
 * across two pages, a read-only list (the first entry runs, its result
 * cannot be stored: -EFAULT), and an entry that unmaps the list's own
 * page (the next entry on it is not read or written through the old
 * mapping: -EFAULT, never run). */
static void test_multicall_list_mapping(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    /* entry 0 straddles pages 0 and 1; entries 1 and 2 are in page 1 */
    uint64_t mc_va = BUF_VA + PAGE_SIZE - 32;
    for (unsigned int i = 0; i < 3; i++) {
        multicall_entry_t e = { .op = __HYPERVISOR_xen_version, .result = 7 };
        for (unsigned int b = 0; b < sizeof(e); b++)
            *(uint8_t *)gva(mc_va + i * sizeof(e) + b) = ((uint8_t *)&e)[b];
    }
    assert_int_equal(issue(v, __HYPERVISOR_multicall, mc_va, 3, 0, 0, 0), 0);
    assert_int_equal(version_calls, 3);
    for (unsigned int i = 0; i < 3; i++) {
        uint64_t r = 0;
        for (unsigned int b = 0; b < 8; b++)
            ((uint8_t *)&r)[b] =
                *(uint8_t *)gva(mc_va + i * sizeof(multicall_entry_t) + offsetof(multicall_entry_t, result) + b);
        assert_int_equal(r, VERSION);
    }

    /* a read-only list: entry 0 runs, its result is refused */
    version_calls = 0;
    mc_va = BUF_VA + 3 * PAGE_SIZE;
    multicall_entry_t *mc = gva(mc_va);
    mc[0] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .result = 7 };
    mc[1] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .result = 7 };
    tab(l1)[1 + 3] = (bufs[3] << PAGE_SHIFT) | ROF;
    assert_int_equal(issue(v, __HYPERVISOR_multicall, mc_va, 2, 0, 0, 0), -XL_EFAULT);
    assert_int_equal(version_calls, 1);
    assert_int_equal(mc[0].result, 7);
    assert_int_equal(mc[1].result, 7);
    tab(l1)[1 + 3] = (bufs[3] << PAGE_SHIFT) | RWF;

    /* entry 1 unmaps the page the list is on (an mmu_update clearing its
     * PTE) after entry 0 was read and stored there; entry 2, on the same
     * page, must not be read or written through the old mapping */
    version_calls = 0;
    mc_va = BUF_VA + 1 * PAGE_SIZE;
    mmu_update_t *req = gva(BUF_VA + 2 * PAGE_SIZE);
    req->ptr = (l1 << PAGE_SHIFT) + 8 * 2; /* the PTE of page 1 */
    req->val = 0;
    mc = gva(mc_va);
    mc[0] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .result = 7 };
    mc[1] = (multicall_entry_t){ .op = __HYPERVISOR_mmu_update, .result = 7,
                                 .args = { BUF_VA + 2 * PAGE_SIZE, 1, 0, DOMID_SELF } };
    mc[2] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .result = 7 };
    assert_int_equal(issue(v, __HYPERVISOR_multicall, mc_va, 3, 0, 0, 0), -XL_EFAULT);
    assert_int_equal(tab(l1)[2], 0); /* entry 1 ran */
    assert_int_equal(version_calls, 1);
    assert_int_equal(mc[0].result, VERSION);
    assert_int_equal(mc[1].result, 7);
    assert_int_equal(mc[2].result, 7);
}

/* shared_info keeps a writable type all its life: it can be mapped but
 * never become a page table; destroy gives it back. */
static void test_shared_info_never_a_page_table(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    uint64_t si = da->shared_info_mfn;
    assert_int_equal(pi(si)->owner, A);
    assert_int_equal(pi(si)->type, PGT_writable);
    assert_int_equal(pi(si)->type_count, 1);
    for (unsigned int t = PGT_l1; t <= PGT_l4; t++)
        assert_int_equal(mm_pin(A, si, t), -XL_EINVAL);
    struct mmuext_op *op = gva(BUF_VA);
    *op = (struct mmuext_op){ .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = si };
    assert_int_equal(issue(v, __HYPERVISOR_mmuext_op, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EINVAL);
    assert_int_equal(pi(si)->type, PGT_writable);
    /* it may be mapped writable, as in Xen */
    assert_int_equal(issue(v, __HYPERVISOR_update_va_mapping, 0x20000, (si << PAGE_SHIFT) | RWF,
                           0, 0, 0), 0);
    assert_int_equal(pi(si)->type_count, 2);
    /* nor can it be given back */
    struct xen_memory_reservation *r = gva(BUF_VA);
    *r = (struct xen_memory_reservation){ .nr_extents = 1, .domid = DOMID_SELF };
    r->extent_start.p = (xen_pfn_t *)(BUF_VA + 64);
    *(uint64_t *)gva(BUF_VA + 64) = si;
    assert_int_equal(issue(v, __HYPERVISOR_memory_op, XENMEM_decrease_reservation, BUF_VA, 0, 0, 0), 0);
    /* destroy: every frame back, nothing orphaned */
    da->state = DOM_SHUTDOWN;
    domain_destroy(da);
    assert_null(domain_by_id(A));
    assert_null(current);
    assert_int_equal(mm_free_count(), NFRAMES - FIRST_FREE);
    for (uint64_t m = FIRST_FREE; m < NFRAMES; m++) {
        assert_int_equal(pi(m)->owner, DOMID_FREE);
        assert_int_equal(pi(m)->count, 0);
        assert_int_equal(pi(m)->type_count, 0);
    }
}


/* A pin of a tree bigger than one work budget (MM_WORK_BUDGET present
 * entries): mmuext_op re-issues the op it stopped in, pdone counts
 * exactly the ops finished (Xen's semantics), an unpin's devalidation and
 * a failed pin's unwinding are finished by continuations too. */
#define BIG_L1 24
static void test_mmuext_big_pin_continued(void **state)
{
    (void)state;
    struct vcpu *v = &da->vcpus[0];
    uint64_t bl4 = frame(), bl3 = frame(), bl2 = frame(), data = frame(), bl1[BIG_L1];
    tab(bl4)[0] = (bl3 << PAGE_SHIFT) | RWF;
    tab(bl3)[0] = (bl2 << PAGE_SHIFT) | RWF;
    for (unsigned int j = 0; j < BIG_L1; j++) {
        bl1[j] = frame();
        tab(bl2)[j] = (bl1[j] << PAGE_SHIFT) | RWF;
        for (unsigned int k = 0; k < 512; k++)
            tab(bl1[j])[k] = (data << PAGE_SHIFT) | ROF;
    }
    struct mmuext_op *ops = gva(BUF_VA);
    ops[0] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = bl4 };
    ops[1] = (struct mmuext_op){ .cmd = MMUEXT_UNPIN_TABLE, .arg1.mfn = bl4 };
    ops[2] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = bl4 };
    ops[3] = (struct mmuext_op){ .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = 0x1000 };
    *(unsigned int *)gva(PDONE_VA) = 777;
    step_ns = 0; /* no clock preemption: only the work budget */
    long rc = issue(v, __HYPERVISOR_mmuext_op, BUF_VA, 4, PDONE_VA, DOMID_SELF, 0);
    assert_true(continued(v));
    assert_int_equal(rc, __HYPERVISOR_mmuext_op);
    assert_int_equal(v->regs.rdi, BUF_VA); /* op 0 again, where it stopped */
    assert_int_equal(v->regs.rsi, 4 | PREEMPTED);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), 0);
    assert_true(pi(bl4)->flags & PGF_partial);
    int conts = 0;
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_true(conts >= 4); /* two pins and an unpin, each > 1 budget */
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), 4);
    assert_int_equal(fake_invlpgs, 1);
    assert_true(pi(bl4)->flags & PGF_pinned);
    assert_int_equal(pi(bl4)->type_count, 1);
    assert_int_equal(pi(data)->count, 512 * BIG_L1);
    /* Unpin: done, and every table devalidated, when the call returns. */
    ops[0] = (struct mmuext_op){ .cmd = MMUEXT_UNPIN_TABLE, .arg1.mfn = bl4 };
    conts = 0;
    rc = issue(v, __HYPERVISOR_mmuext_op, BUF_VA, 1, PDONE_VA, DOMID_SELF, 0);
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_true(conts >= 1);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), 1);
    assert_int_equal(pi(data)->count, 0);
    for (unsigned int j = 0; j < BIG_L1; j++)
        assert_int_equal(pi(bl1[j])->type_count, 0);
    /* A pin failing at the very last entry: the error for op 0, pdone 0,
     * op 1 not done; its references come back before the next batch. */
    tab(bl1[BIG_L1 - 1])[511] = (bl4 << PAGE_SHIFT) | RWF;
    ops[0] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = bl4 };
    ops[1] = (struct mmuext_op){ .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = 0x1000 };
    fake_invlpgs = 0;
    conts = 0;
    rc = issue(v, __HYPERVISOR_mmuext_op, BUF_VA, 2, PDONE_VA, DOMID_SELF, 0);
    assert_int_equal(finish(v, rc, &conts), -XL_EBUSY);
    assert_true(conts >= 1);
    assert_int_equal(*(unsigned int *)gva(PDONE_VA), 0);
    assert_int_equal(fake_invlpgs, 0);
    assert_false(pi(bl4)->flags & (PGF_pinned | PGF_partial));
    conts = 0;
    rc = issue(v, __HYPERVISOR_mmuext_op, BUF_VA + sizeof(*ops), 1, PDONE_VA, DOMID_SELF, 0);
    assert_int_equal(finish(v, rc, &conts), 0);
    assert_int_equal(fake_invlpgs, 1);
    assert_int_equal(pi(data)->count, 0);
    uint64_t all[] = { bl4, bl3, bl2 };
    for (unsigned int j = 0; j < 3; j++)
        assert_int_equal(pi(all[j])->count | pi(all[j])->type_count | pi(all[j])->flags, 0);
    for (unsigned int j = 0; j < BIG_L1; j++)
        assert_int_equal(pi(bl1[j])->count | pi(bl1[j])->type_count | pi(bl1[j])->flags, 0);
}

/* Destroy steps of d, each on a fresh budget, until it is gone; *steps
 * counts them. The last step's answer (0 when gone). */
static int destroy_to_end(struct domain *d, int *steps)
{
    int rc;
    do {
        mm_preempt_begin();
        rc = domain_destroy_step(d);
        mm_preempt_end();
        assert_true(++*steps < 10000);
    } while (rc == MM_ERESTART);
    return rc;
}

/* Destroy in bounded steps (destroydomain's continuation, the reaper):
 * a domain dying with a big pinned tree and a half-validated one gives
 * every frame back, over several steps. */
static void test_destroy_in_steps(void **state)
{
    (void)state;
    uint64_t bl2 = frame(), data = frame(), bl1[BIG_L1], half = frame();
    for (unsigned int j = 0; j < BIG_L1; j++) {
        bl1[j] = frame();
        tab(bl2)[j] = (bl1[j] << PAGE_SHIFT) | RWF;
        tab(half)[j] = (bl1[j] << PAGE_SHIFT) | RWF;
        for (unsigned int k = 0; k < 512; k++)
            tab(bl1[j])[k] = (data << PAGE_SHIFT) | ROF;
    }
    assert_int_equal(mm_pin(A, bl2, PGT_l2), 0);
    /* another L2 naming the same L1s: typed already, so only its own 24
     * entries; stop it with a spent budget instead */
    mm_preempt_begin();
    assert_int_equal(mm_work_take(MM_WORK_BUDGET), 1);
    assert_int_equal(mm_pin(A, half, PGT_l2), MM_ERESTART);
    mm_preempt_end();
    assert_int_equal(da->pt_partial, half + 1);
    da->state = DOM_SHUTDOWN;
    current = NULL;
    int steps = 0;
    assert_int_equal(destroy_to_end(da, &steps), 0);
    assert_true(steps >= 2); /* 12288 entries to drop: more than one budget */
    assert_null(domain_by_id(A));
    assert_int_equal(mm_free_count(), NFRAMES - FIRST_FREE);
    for (uint64_t m = FIRST_FREE; m < NFRAMES; m++) {
        assert_int_equal(pi(m)->owner, DOMID_FREE);
        assert_int_equal(pi(m)->count, 0);
        assert_int_equal(pi(m)->type_count, 0);
    }
}

/* A privileged domain populating frames into a domain whose stepwise
 * destroy is under way (destroy_stage set, the free pass part way) is
 * refused (no extent done), as Xen's assign_pages refuses is_dying:
 * frames put below the free cursor stayed behind under the dead id
 * (attacker review). */
static void test_populate_into_dying_refused(void **state)
{
    (void)state;
    uint64_t m2p[NFRAMES];
    memset(m2p, 0xff, sizeof(m2p));
    m2p_table = m2p;
    struct domain *d0 = domain_create(0, 1, "d0");
    assert_non_null(d0);
    d0->privileged = 1;
    d0->max_pages = 100;
    /* d0's own tables: BUF_VA -> b0, BUF_VA + 4K -> b1 */
    uint64_t t4 = mm_alloc_frame(0), t3 = mm_alloc_frame(0), t2 = mm_alloc_frame(0),
             t1 = mm_alloc_frame(0), b0 = mm_alloc_frame(0), b1 = mm_alloc_frame(0);
    tab(t4)[0] = (t3 << PAGE_SHIFT) | RWF;
    tab(t3)[0] = (t2 << PAGE_SHIFT) | RWF;
    tab(t2)[0] = (t1 << PAGE_SHIFT) | RWF;
    tab(t1)[1] = (b0 << PAGE_SHIFT) | RWF | PTE_D;
    tab(t1)[2] = (b1 << PAGE_SHIFT) | RWF | PTE_D;
    struct vcpu *v0 = &d0->vcpus[0];
    v0->cr3 = t4 << PAGE_SHIFT;
    v0->pv.kernel_mode = 1;
    uint64_t free_before_a = mm_free_count();
    uint64_t a_frames = 0;
    for (uint64_t m = 0; m < NFRAMES; m++)
        a_frames += pi(m)->owner == A;
    da->state = DOM_SHUTDOWN;
    current = NULL;
    int steps = 0, rc;
    do {
        mm_preempt_begin();
        /* small budgets: the free pass stops part way (40 until the
         * free stage is reached, then 6) */
        assert_true(mm_work_take(MM_WORK_BUDGET - (da->destroy_stage == 4 ? 6 : da->destroy_stage == 3 ? 17 : 40)));
        rc = domain_destroy_step(da);
        mm_preempt_end();
        assert_true(++steps < 10000);
    } while (rc == MM_ERESTART && !(da->destroy_stage == 4 && da->destroy_freed > 2));
    assert_int_equal(rc, MM_ERESTART); /* mid-destroy */
    /* d0 (toolstack) populates 4 frames for the dying A */
    struct xen_memory_reservation *r = mfn_to_virt(b0);
    *r = (struct xen_memory_reservation){ .nr_extents = 4, .domid = A };
    r->extent_start.p = (xen_pfn_t *)(BUF_VA + PAGE_SIZE);
    uint64_t *list = mfn_to_virt(b1);
    for (unsigned int i = 0; i < 4; i++)
        list[i] = 2000 + i;
    current = v0;
    long prc = issue(v0, __HYPERVISOR_memory_op, XENMEM_populate_physmap, BUF_VA, 0, 0, 0);
    current = NULL;
    assert_int_equal(prc, 0); /* no extent done, as Xen */
    assert_int_equal(destroy_to_end(da, &steps), 0);
    assert_null(domain_by_id(A));
    uint64_t left = 0;
    for (uint64_t m = 0; m < NFRAMES; m++)
        left += pi(m)->owner == A;
    print_message("frames still owned by dead domid %u: %lu; free %lu, expected %lu\n", A,
                  (unsigned long)left, (unsigned long)mm_free_count(),
                  (unsigned long)(free_before_a + a_frames));
    assert_int_equal(left, 0);
    assert_int_equal(mm_free_count(), free_before_a + a_frames);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_mmuext_big_pin_continued),
        T(test_destroy_in_steps),
        T(test_populate_into_dying_refused),
        T(test_mmu_update_continued),
        T(test_mmuext_op_continued),
        T(test_memory_op_continued),
        T(test_memory_exchange),
        T(test_multicall_continued),
        T(test_multicall_long_list),
        T(test_multicall_list_mapping),
        T(test_shared_info_never_a_page_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
