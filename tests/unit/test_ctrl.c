/*
 * test_ctrl.c - host unit test of the dom0 libxenctrl-style library's
 * argument marshalling (toolstack/libxc/ctrl.c).
 * Tests: every xc_* call issues the right hypercall number, sub-command,
 * interface version, domain and fields, reads back what the hv returns,
 * and passes the hv's errors through; the foreign-mapping window's
 * bookkeeping (no room, a refused frame leaves nothing mapped);
 * xc_hypercall_stats (Xenolith's sysctl, a size mismatch refused).
 * Mocks: xc_hypercall records the last call and answers from `answer`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../toolstack/libxc/ctrl.h"
#include <xenolith/errno.h>

static unsigned int last_nr, calls;
static uint64_t last_a[5];
static struct xen_domctl last_domctl;
static struct xen_sysctl last_sysctl;
static struct xen_memory_reservation last_resv;
static long answer;
static int refuse_map_after = -1; /* otherdomain maps that succeed first */
static uint32_t hv_counts_size = sizeof(struct hcstat_counts);

long xc_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                  uint64_t a5)
{
    last_nr = nr;
    last_a[0] = a1, last_a[1] = a2, last_a[2] = a3, last_a[3] = a4, last_a[4] = a5;
    calls++;
    if (nr == __HYPERVISOR_domctl) {
        struct xen_domctl *d = (void *)(uintptr_t)a1;
        last_domctl = *d;
        if (d->cmd == XEN_DOMCTL_createdomain && !answer)
            d->domain = 7;
        if (d->cmd == XEN_DOMCTL_getdomaininfo && !answer) {
            d->u.getdomaininfo.domain = d->domain < 2 ? d->domain : (d->domain <= 5 ? 5 : 0);
            d->u.getdomaininfo.tot_pages = 100;
            d->u.getdomaininfo.max_pages = 256;
            d->u.getdomaininfo.flags = XEN_DOMINF_shutdown | (SHUTDOWN_crash << XEN_DOMINF_shutdownshift);
            if (d->domain > 5)
                return -XEN_ESRCH;
        }
    } else if (nr == __HYPERVISOR_sysctl) {
        struct xen_sysctl *s = (void *)(uintptr_t)a1;
        last_sysctl = *s;
        if (s->cmd == XEN_SYSCTL_getdomaininfolist)
            s->u.getdomaininfolist.num_domains = (uint32_t)answer;
        if (s->cmd == XEN_SYSCTL_physinfo)
            s->u.physinfo.total_pages = 1234;
        if (s->cmd == XEN_SYSCTL_readconsole) {
            s->u.readconsole.count = 3;
            s->u.readconsole.index = 99;
        }
        if (s->cmd == XEN_SYSCTL_getdomaininfolist)
            return 0;
        if (s->cmd == XENOLITH_SYSCTL_hypercall_stats && !answer) {
            struct xenolith_sysctl_hypercall_stats h;
            memcpy(&h, s->u.pad, sizeof(h));
            uint32_t room = h.size;
            h.size = hv_counts_size;
            memcpy(s->u.pad, &h, sizeof(h));
            if (room < hv_counts_size)
                return -XEN_ENOBUFS;
            ((struct hcstat_counts *)(uintptr_t)h.buffer)->calls[1] = 42;
        }
    } else if (nr == __HYPERVISOR_memory_op) {
        last_resv = *(struct xen_memory_reservation *)(uintptr_t)a2;
    } else if (nr == __HYPERVISOR_event_channel_op) {
        ((struct evtchn_alloc_unbound *)(uintptr_t)a2)->port = 9;
    } else if (nr == __HYPERVISOR_update_va_mapping_otherdomain) {
        if (refuse_map_after == 0)
            return -XEN_EPERM;
        if (refuse_map_after > 0)
            refuse_map_after--;
    } else if ((nr == __HYPERVISOR_mmu_update || nr == __HYPERVISOR_mmuext_op) && a3 && !answer) {
        *(unsigned int *)(uintptr_t)a3 = (unsigned int)a2;
    }
    return answer;
}

static int setup(void **state)
{
    calls = 0, answer = 0, refuse_map_after = -1;
    hv_counts_size = sizeof(struct hcstat_counts);
    memset(&last_domctl, 0, sizeof(last_domctl));
    memset(&last_sysctl, 0, sizeof(last_sysctl));
    return 0;
}

static void test_domctls(void **state)
{
    struct xen_domctl_createdomain cfg = { .max_vcpus = 1, .max_evtchn_port = 1023 };
    uint32_t domid = 0;
    assert_int_equal(xc_domain_create(&domid, &cfg), 0);
    assert_int_equal(last_nr, __HYPERVISOR_domctl);
    assert_int_equal(last_domctl.interface_version, XEN_DOMCTL_INTERFACE_VERSION);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_createdomain);
    assert_int_equal(last_domctl.domain, 0);
    assert_int_equal(last_domctl.u.createdomain.max_evtchn_port, 1023);
    assert_int_equal(domid, 7);
    domid = DOMID_FIRST_RESERVED + 1;
    assert_int_equal(xc_domain_create(&domid, &cfg), -XEN_EINVAL);

    assert_int_equal(xc_domain_max_vcpus(4, 2), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_max_vcpus);
    assert_int_equal(last_domctl.domain, 4);
    assert_int_equal(last_domctl.u.max_vcpus.max, 2);
    assert_int_equal(xc_domain_setmaxmem(4, 65536), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_max_mem);
    assert_int_equal(last_domctl.u.max_mem.max_memkb, 65536);
    assert_int_equal(xc_domain_pause(4), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_pausedomain);
    assert_int_equal(xc_domain_unpause(4), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_unpausedomain);
    assert_int_equal(xc_domain_destroy(4), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_destroydomain);

    vcpu_guest_context_any_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(xc_vcpu_setcontext(4, 0, &c), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_setvcpucontext);
    assert_ptr_equal(last_domctl.u.vcpucontext.ctxt.p, &c.c);
    assert_int_equal(xc_vcpu_getcontext(4, 0, &c), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_getvcpucontext);

    /* Errors pass through. */
    answer = -XEN_EPERM;
    assert_int_equal(xc_domain_pause(4), -XEN_EPERM);
    assert_int_equal(xc_domain_create(&domid, &cfg), -XEN_EINVAL);
    domid = 0;
    assert_int_equal(xc_domain_create(&domid, &cfg), -XEN_EPERM);
    assert_int_equal(domid, 0);
}

static void test_getinfo(void **state)
{
    xc_domaininfo_t di;
    assert_int_equal(xc_domain_getinfo_single(1, &di), 0);
    assert_int_equal(last_domctl.cmd, XEN_DOMCTL_getdomaininfo);
    assert_int_equal(di.domain, 1);
    /* 4.17 answers with the next domain: 3 -> 5 is not 3. */
    assert_int_equal(xc_domain_getinfo_single(3, &di), -XEN_ESRCH);
    xc_dominfo_t info[8];
    calls = 0;
    assert_int_equal(xc_domain_getinfo(0, 8, info), 3); /* 0, 1, 5 */
    assert_int_equal(info[2].domid, 5);
    assert_int_equal(info[2].nr_pages, 100);
    assert_int_equal(info[2].max_memkb, 1024);
    assert_true(info[2].shutdown && info[2].crashed);
    assert_int_equal(info[2].shutdown_reason, SHUTDOWN_crash);
    assert_int_equal(xc_domain_getinfo(0, 2, info), 2);

    xc_domaininfo_t list[4];
    answer = 2;
    assert_int_equal(xc_domain_getinfolist(1, 4, list), 2);
    assert_int_equal(last_nr, __HYPERVISOR_sysctl);
    assert_int_equal(last_sysctl.interface_version, XEN_SYSCTL_INTERFACE_VERSION);
    assert_int_equal(last_sysctl.cmd, XEN_SYSCTL_getdomaininfolist);
    assert_int_equal(last_sysctl.u.getdomaininfolist.first_domain, 1);
    assert_int_equal(last_sysctl.u.getdomaininfolist.max_domains, 4);
    assert_ptr_equal(last_sysctl.u.getdomaininfolist.buffer.p, list);
    answer = 5; /* more than room: not trusted */
    assert_int_equal(xc_domain_getinfolist(1, 4, list), -XEN_EOVERFLOW);
}

static void test_sysctls_memory_evtchn(void **state)
{
    xc_physinfo_t pi;
    assert_int_equal(xc_physinfo(&pi), 0);
    assert_int_equal(last_sysctl.cmd, XEN_SYSCTL_physinfo);
    assert_int_equal(pi.total_pages, 1234);

    char buf[16];
    unsigned int n = sizeof(buf);
    uint32_t index = 42;
    assert_int_equal(xc_readconsolering(buf, &n, 0, 1, &index), 0);
    assert_int_equal(last_sysctl.cmd, XEN_SYSCTL_readconsole);
    assert_int_equal(last_sysctl.u.readconsole.count, 16);
    assert_int_equal(last_sysctl.u.readconsole.index, 42);
    assert_int_equal(last_sysctl.u.readconsole.incremental, 1);
    assert_ptr_equal(last_sysctl.u.readconsole.buffer.p, buf);
    assert_int_equal(n, 3);
    assert_int_equal(index, 99);

    xen_pfn_t pfns[4] = { 0, 1, 2, 3 };
    answer = 4;
    assert_int_equal(xc_domain_populate_physmap_exact(6, 4, 0, 0, pfns), 0);
    assert_int_equal(last_nr, __HYPERVISOR_memory_op);
    assert_int_equal(last_a[0], XENMEM_populate_physmap);
    assert_int_equal(last_resv.domid, 6);
    assert_int_equal(last_resv.nr_extents, 4);
    assert_int_equal(last_resv.extent_order, 0);
    assert_ptr_equal(last_resv.extent_start.p, pfns);
    answer = 3;
    assert_int_equal(xc_domain_populate_physmap_exact(6, 4, 0, 0, pfns), -XEN_EBUSY);
    answer = -XEN_ENOMEM;
    assert_int_equal(xc_domain_populate_physmap_exact(6, 4, 0, 0, pfns), -XEN_ENOMEM);

    answer = 0;
    assert_int_equal(xc_evtchn_alloc_unbound(6, 0), 9);
    assert_int_equal(last_nr, __HYPERVISOR_event_channel_op);
    assert_int_equal(last_a[0], EVTCHNOP_alloc_unbound);
    answer = -XEN_ESRCH;
    assert_int_equal(xc_evtchn_alloc_unbound(6, 0), -XEN_ESRCH);
}

static void test_hypercall_stats(void **state)
{
    (void)state;
    static struct hcstat_counts c;
    assert_int_equal(xc_hypercall_stats(3, &c), 0);
    assert_int_equal(last_nr, __HYPERVISOR_sysctl);
    assert_int_equal(last_sysctl.cmd, XENOLITH_SYSCTL_hypercall_stats);
    assert_int_equal(last_sysctl.interface_version, XEN_SYSCTL_INTERFACE_VERSION);
    struct xenolith_sysctl_hypercall_stats h;
    memcpy(&h, last_sysctl.u.pad, sizeof(h));
    assert_int_equal(h.domid, 3);
    assert_int_equal(h.size, sizeof(c));
    assert_ptr_equal((void *)(uintptr_t)h.buffer, &c);
    assert_int_equal(c.calls[1], 42);
    /* a hypervisor with other counters: refused either way */
    hv_counts_size = sizeof(c) + 8;
    assert_int_equal(xc_hypercall_stats(3, &c), -XEN_EMSGSIZE);
    hv_counts_size = sizeof(c) - 8;
    assert_int_equal(xc_hypercall_stats(3, &c), -XEN_EMSGSIZE);
    hv_counts_size = sizeof(c);
    answer = -XEN_ESRCH;
    assert_int_equal(xc_hypercall_stats(3, &c), -XEN_ESRCH);
    calls = 0;
    assert_int_equal(xc_hypercall_stats(DOMID_SELF, &c), -XEN_ESRCH);
    assert_int_equal(calls, 0);
}

static void test_mmu_batches(void **state)
{
    struct xc_mmu mmu;
    xc_mmu_init(&mmu, 6);
    for (unsigned i = 0; i < XC_MMU_BATCH + 3; i++)
        assert_int_equal(xc_add_mmu_update(&mmu, ((uint64_t)i << 12) | MMU_MACHPHYS_UPDATE, i), 0);
    assert_int_equal(calls, 1); /* one full batch went */
    assert_int_equal(last_a[1], XC_MMU_BATCH);
    assert_int_equal(last_a[3], 6);
    assert_int_equal(xc_flush_mmu_updates(&mmu), 0);
    assert_int_equal(last_a[1], 3);
    assert_int_equal(xc_flush_mmu_updates(&mmu), 0);
    assert_int_equal(calls, 2); /* empty: no hypercall */
    struct mmuext_op op = { .cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = 77 };
    assert_int_equal(xc_mmuext_op(&op, 1, 6), 0);
    assert_int_equal(last_nr, __HYPERVISOR_mmuext_op);
    assert_int_equal(last_a[3], 6);
    answer = -XEN_EINVAL;
    assert_int_equal(xc_mmuext_op(&op, 1, 6), -XEN_EINVAL);
}

static void test_foreign_window(void **state)
{
    xen_pfn_t mfns[3] = { 10, 11, 12 };
    uint8_t *p = xc_map_foreign_pages(6, XC_PROT_READ | XC_PROT_WRITE, mfns, 3);
    assert_non_null(p);
    assert_true(xc_foreign_window_contains(p));
    assert_int_equal(last_nr, __HYPERVISOR_update_va_mapping_otherdomain);
    assert_int_equal(last_a[0], (uintptr_t)(p + 2 * 4096));
    assert_int_equal(last_a[1], (12ULL << 12) | 0x67);
    assert_int_equal(last_a[3], 6);
    assert_null(xc_map_foreign_pages(6, XC_PROT_READ, mfns, XC_WINDOW_PAGES)); /* no room */
    assert_int_equal(xc_unmap_foreign_pages(p, 3), 0);
    assert_int_equal(last_nr, __HYPERVISOR_update_va_mapping);
    assert_int_equal(last_a[1], 0);
    /* Read-only, and a refused third frame: the first two are emptied. */
    refuse_map_after = 2;
    calls = 0;
    assert_null(xc_map_foreign_pages(6, XC_PROT_READ, mfns, 3));
    assert_int_equal(calls, 3 + 2);
    assert_int_equal(last_nr, __HYPERVISOR_update_va_mapping);
    /* The window is whole again. */
    void *all = xc_foreign_window_alloc(XC_WINDOW_PAGES);
    assert_non_null(all);
    xc_foreign_window_free(all, XC_WINDOW_PAGES);
    int dummy;
    assert_int_equal(xc_map_foreign_at(6, &dummy, 10, XC_PROT_READ), -XEN_EINVAL);
    assert_int_equal(xc_unmap_foreign_pages(&dummy, 1), -XEN_EINVAL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
    const struct CMUnitTest tests[] = {
        T(test_domctls), T(test_getinfo), T(test_sysctls_memory_evtchn), T(test_mmu_batches),
        T(test_foreign_window), T(test_hypercall_stats),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
