/*
 * ctrl.c - the dom0 toolstack's libxenctrl-style library (ctrl.h):
 * marshals xc_* calls into Xen 4.17's domctl / sysctl / memory_op /
 * event_channel_op / MMU hypercalls, and owns dom0's foreign-mapping
 * window.
 * Owns: the interface versions, the hypercall argument layouts, and the
 * window's PTEs. Must never: hand the hypervisor a buffer smaller than
 * the structure the call names, or leave a window page mapped after a
 * failed multi-page map.
 */
#include "ctrl.h"

#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xen/hvm/hvm_op.h>

#ifndef XL_HOST_TEST
#include <xlguest/hypercall.h>

long xc_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                  uint64_t a5)
{
    return xen_hypercall5(nr, a1, a2, a3, a4, a5);
}
#endif

#define PTR(p) ((uint64_t)(uintptr_t)(p))

static int do_domctl(struct xen_domctl *d)
{
    d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    return (int)xc_hypercall(__HYPERVISOR_domctl, PTR(d), 0, 0, 0, 0);
}

static int do_sysctl(struct xen_sysctl *s)
{
    s->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return (int)xc_hypercall(__HYPERVISOR_sysctl, PTR(s), 0, 0, 0, 0);
}

static void domctl_init(struct xen_domctl *d, uint32_t cmd, uint32_t domid)
{
    memset(d, 0, sizeof(*d));
    d->cmd = cmd;
    d->domain = (domid_t)domid;
}

int xc_domain_create(uint32_t *pdomid, struct xen_domctl_createdomain *config)
{
    struct xen_domctl d;
    if (*pdomid > DOMID_FIRST_RESERVED)
        return -XL_EINVAL;
    domctl_init(&d, XEN_DOMCTL_createdomain, *pdomid);
    d.u.createdomain = *config;
    int rc = do_domctl(&d);
    if (rc)
        return rc;
    *pdomid = d.domain;
    *config = d.u.createdomain;
    return 0;
}

int xc_domain_max_vcpus(uint32_t domid, unsigned int max)
{
    struct xen_domctl d;
    domctl_init(&d, XEN_DOMCTL_max_vcpus, domid);
    d.u.max_vcpus.max = max;
    return do_domctl(&d);
}

int xc_domain_setmaxmem(uint32_t domid, uint64_t max_memkb)
{
    struct xen_domctl d;
    domctl_init(&d, XEN_DOMCTL_max_mem, domid);
    d.u.max_mem.max_memkb = max_memkb;
    return do_domctl(&d);
}

int xc_domain_hvm_setcontext(uint32_t domid, const uint8_t *buf, uint32_t size)
{
    struct xen_domctl d;
    domctl_init(&d, XEN_DOMCTL_sethvmcontext, domid);
    d.u.hvmcontext.size = size;
    d.u.hvmcontext.buffer.p = (uint8_t *)(uintptr_t)buf;
    return do_domctl(&d);
}

int xc_hvm_param_set(uint32_t domid, uint32_t index, uint64_t value)
{
    struct xen_hvm_param p = { .domid = (domid_t)domid, .index = index, .value = value };
    return (int)xc_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, PTR(&p), 0, 0, 0);
}

static int simple_domctl(uint32_t cmd, uint32_t domid)
{
    struct xen_domctl d;
    domctl_init(&d, cmd, domid);
    return do_domctl(&d);
}

int xc_domain_pause(uint32_t domid) { return simple_domctl(XEN_DOMCTL_pausedomain, domid); }
int xc_domain_unpause(uint32_t domid) { return simple_domctl(XEN_DOMCTL_unpausedomain, domid); }

int xc_domain_destroy(uint32_t domid)
{
    int rc;
    unsigned int tries = 0;
    do
        rc = simple_domctl(XEN_DOMCTL_destroydomain, domid);
    while (rc == -XEN_EAGAIN && ++tries < 1000000);
    return rc;
}

int xc_domain_getinfolist(uint32_t first_domain, unsigned int max_domains, xc_domaininfo_t *info)
{
    struct xen_sysctl s;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_getdomaininfolist;
    s.u.getdomaininfolist.first_domain = (domid_t)first_domain;
    s.u.getdomaininfolist.max_domains = max_domains;
    set_xen_guest_handle(s.u.getdomaininfolist.buffer, info);
    int rc = do_sysctl(&s);
    if (rc < 0)
        return rc;
    if (s.u.getdomaininfolist.num_domains > max_domains)
        return -XL_EOVERFLOW; /* the hv wrote past what we gave it? refuse to trust it */
    return (int)s.u.getdomaininfolist.num_domains;
}

/* Xen 4.17's getdomaininfo answers for the first domain >= domid. */
static int getdomaininfo(uint32_t domid, xc_domaininfo_t *info)
{
    struct xen_domctl d;
    domctl_init(&d, XEN_DOMCTL_getdomaininfo, domid);
    int rc = do_domctl(&d);
    if (rc)
        return rc;
    *info = d.u.getdomaininfo;
    return 0;
}

int xc_domain_getinfo_single(uint32_t domid, xc_domaininfo_t *info)
{
    int rc = getdomaininfo(domid, info);
    if (rc)
        return rc;
    return info->domain == domid ? 0 : -XL_ESRCH;
}

int xc_domain_getinfo(uint32_t first_domid, unsigned int max_doms, xc_dominfo_t *info)
{
    unsigned int n = 0;
    uint32_t next = first_domid;
    while (n < max_doms && next < DOMID_FIRST_RESERVED) {
        xc_domaininfo_t di;
        if (getdomaininfo(next, &di))
            break;
        if (di.domain < next)
            break; /* not the "next domain" rule: stop rather than loop */
        xc_dominfo_t *o = &info[n++];
        memset(o, 0, sizeof(*o));
        o->domid = di.domain;
        o->ssidref = di.ssidref;
        o->dying = !!(di.flags & XEN_DOMINF_dying);
        o->shutdown = !!(di.flags & XEN_DOMINF_shutdown);
        o->paused = !!(di.flags & XEN_DOMINF_paused);
        o->blocked = !!(di.flags & XEN_DOMINF_blocked);
        o->running = !!(di.flags & XEN_DOMINF_running);
        o->hvm = !!(di.flags & XEN_DOMINF_hvm_guest);
        o->debugged = !!(di.flags & XEN_DOMINF_debugged);
        o->xenstore = !!(di.flags & XEN_DOMINF_xs_domain);
        o->hap = !!(di.flags & XEN_DOMINF_hap);
        o->shutdown_reason = (di.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
        o->crashed = o->shutdown && o->shutdown_reason == SHUTDOWN_crash;
        o->nr_pages = di.tot_pages;
        o->shared_info_frame = di.shared_info_frame;
        o->cpu_time = di.cpu_time;
        o->max_memkb = di.max_pages << (PAGE_SHIFT - 10);
        o->nr_online_vcpus = di.nr_online_vcpus;
        o->max_vcpu_id = di.max_vcpu_id;
        memcpy(o->handle, di.handle, sizeof(o->handle));
        next = (uint32_t)di.domain + 1;
    }
    return (int)n;
}

static int vcpucontext(uint32_t cmd, uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *c)
{
    struct xen_domctl d;
    domctl_init(&d, cmd, domid);
    d.u.vcpucontext.vcpu = vcpu;
    set_xen_guest_handle(d.u.vcpucontext.ctxt, &c->c);
    return do_domctl(&d);
}

int xc_vcpu_setcontext(uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *ctxt)
{
    return vcpucontext(XEN_DOMCTL_setvcpucontext, domid, vcpu, ctxt);
}

int xc_vcpu_getcontext(uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *ctxt)
{
    return vcpucontext(XEN_DOMCTL_getvcpucontext, domid, vcpu, ctxt);
}

int xc_vcpu_getinfo(uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info)
{
    struct xen_domctl d;
    domctl_init(&d, XEN_DOMCTL_getvcpuinfo, domid);
    d.u.getvcpuinfo.vcpu = vcpu;
    int rc = do_domctl(&d);
    if (rc)
        return rc;
    *info = d.u.getvcpuinfo;
    return 0;
}

int xc_get_max_cpus(void)
{
    xc_physinfo_t p;
    int rc = xc_physinfo(&p);
    if (rc)
        return rc;
    return (int)p.max_cpu_id + 1;
}

int xc_get_cpumap_size(void)
{
    int n = xc_get_max_cpus();
    return n < 0 ? n : (n + 7) / 8;
}

static int vcpuaffinity(uint32_t cmd, uint32_t domid, int vcpu, xc_cpumap_t hard,
                        xc_cpumap_t soft, uint32_t flags)
{
    struct xen_domctl d;
    int n = xc_get_max_cpus();
    if (n < 0)
        return n;
    if ((flags & XEN_VCPUAFFINITY_HARD) && !hard)
        return -XL_EINVAL;
    if ((flags & XEN_VCPUAFFINITY_SOFT) && !soft)
        return -XL_EINVAL;
    domctl_init(&d, cmd, domid);
    d.u.vcpuaffinity.vcpu = (uint32_t)vcpu;
    d.u.vcpuaffinity.flags = flags;
    if (flags & XEN_VCPUAFFINITY_HARD) {
        set_xen_guest_handle(d.u.vcpuaffinity.cpumap_hard.bitmap, hard);
        d.u.vcpuaffinity.cpumap_hard.nr_bits = (uint32_t)n;
    }
    if (flags & XEN_VCPUAFFINITY_SOFT) {
        set_xen_guest_handle(d.u.vcpuaffinity.cpumap_soft.bitmap, soft);
        d.u.vcpuaffinity.cpumap_soft.nr_bits = (uint32_t)n;
    }
    return do_domctl(&d);
}

int xc_vcpu_setaffinity(uint32_t domid, int vcpu, xc_cpumap_t cpumap_hard_inout,
                        xc_cpumap_t cpumap_soft_inout, uint32_t flags)
{
    return vcpuaffinity(XEN_DOMCTL_setvcpuaffinity, domid, vcpu, cpumap_hard_inout,
                        cpumap_soft_inout, flags);
}

int xc_vcpu_getaffinity(uint32_t domid, int vcpu, xc_cpumap_t cpumap_hard,
                        xc_cpumap_t cpumap_soft, uint32_t flags)
{
    return vcpuaffinity(XEN_DOMCTL_getvcpuaffinity, domid, vcpu, cpumap_hard, cpumap_soft,
                        flags);
}

int xc_sched_id(int *sched_id)
{
    struct xen_sysctl s;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_sched_id;
    int rc = do_sysctl(&s);
    if (!rc)
        *sched_id = (int)s.u.sched_id.sched_id;
    return rc;
}

static int credit_domctl(uint32_t domid, uint32_t cmd, struct xen_domctl_sched_credit *sdom)
{
    struct xen_domctl d;
    domctl_init(&d, XEN_DOMCTL_scheduler_op, domid);
    d.u.scheduler_op.sched_id = XEN_SCHEDULER_CREDIT;
    d.u.scheduler_op.cmd = cmd;
    d.u.scheduler_op.u.credit = *sdom;
    int rc = do_domctl(&d);
    if (!rc && cmd == XEN_DOMCTL_SCHEDOP_getinfo)
        *sdom = d.u.scheduler_op.u.credit;
    return rc;
}

int xc_sched_credit_domain_set(uint32_t domid, struct xen_domctl_sched_credit *sdom)
{
    return credit_domctl(domid, XEN_DOMCTL_SCHEDOP_putinfo, sdom);
}

int xc_sched_credit_domain_get(uint32_t domid, struct xen_domctl_sched_credit *sdom)
{
    return credit_domctl(domid, XEN_DOMCTL_SCHEDOP_getinfo, sdom);
}

static int credit_sysctl(uint32_t pool, uint32_t cmd, struct xen_sysctl_credit_schedule *p)
{
    struct xen_sysctl s;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_scheduler_op;
    s.u.scheduler_op.cpupool_id = pool;
    s.u.scheduler_op.sched_id = XEN_SCHEDULER_CREDIT;
    s.u.scheduler_op.cmd = cmd;
    s.u.scheduler_op.u.sched_credit = *p;
    int rc = do_sysctl(&s);
    if (!rc)
        *p = s.u.scheduler_op.u.sched_credit; /* putinfo answers what is set */
    return rc;
}

int xc_sched_credit_params_set(uint32_t cpupool_id, struct xen_sysctl_credit_schedule *schedule)
{
    return credit_sysctl(cpupool_id, XEN_SYSCTL_SCHEDOP_putinfo, schedule);
}

int xc_sched_credit_params_get(uint32_t cpupool_id, struct xen_sysctl_credit_schedule *schedule)
{
    return credit_sysctl(cpupool_id, XEN_SYSCTL_SCHEDOP_getinfo, schedule);
}

int xc_physinfo(xc_physinfo_t *info)
{
    struct xen_sysctl s;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_physinfo;
    int rc = do_sysctl(&s);
    if (rc)
        return rc;
    *info = s.u.physinfo;
    return 0;
}

int xc_readconsolering(char *buffer, unsigned int *pnr_chars, int clear, int incremental,
                       uint32_t *pindex)
{
    struct xen_sysctl s;
    unsigned int size = *pnr_chars;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_readconsole;
    set_xen_guest_handle(s.u.readconsole.buffer, buffer);
    s.u.readconsole.count = size;
    s.u.readconsole.clear = !!clear;
    if (pindex) {
        s.u.readconsole.index = *pindex;
        s.u.readconsole.incremental = !!incremental;
    }
    int rc = do_sysctl(&s);
    if (rc)
        return rc;
    if (s.u.readconsole.count > size)
        return -XL_EOVERFLOW;
    *pnr_chars = s.u.readconsole.count;
    if (pindex)
        *pindex = s.u.readconsole.index;
    return 0;
}

int xc_hypercall_stats(uint32_t domid, struct hcstat_counts *out)
{
    struct xen_sysctl s;
    struct xenolith_sysctl_hypercall_stats h = { .domid = (uint16_t)domid,
                                                 .size = sizeof(*out), .buffer = PTR(out) };
    if (domid >= DOMID_FIRST_RESERVED)
        return -XL_ESRCH;
    memset(&s, 0, sizeof(s));
    s.cmd = XENOLITH_SYSCTL_hypercall_stats;
    memcpy(s.u.pad, &h, sizeof(h));
    int rc = do_sysctl(&s);
    memcpy(&h, s.u.pad, sizeof(h));
    if (rc == -XL_ENOBUFS || (!rc && h.size != sizeof(*out)))
        return -XEN_EMSGSIZE; /* built against other counters than the hv's */
    return rc;
}

int xc_domain_populate_physmap_exact(uint32_t domid, unsigned long nr_extents,
                                     unsigned int extent_order, unsigned int mem_flags,
                                     xen_pfn_t *extent_start)
{
    struct xen_memory_reservation r;
    memset(&r, 0, sizeof(r));
    set_xen_guest_handle(r.extent_start, extent_start);
    r.nr_extents = nr_extents;
    r.extent_order = extent_order;
    r.mem_flags = mem_flags;
    r.domid = (domid_t)domid;
    long rc = xc_hypercall(__HYPERVISOR_memory_op, XENMEM_populate_physmap, PTR(&r), 0, 0, 0);
    if (rc < 0)
        return (int)rc;
    return (unsigned long)rc == nr_extents ? 0 : -XL_EBUSY;
}

int xc_evtchn_alloc_unbound(uint32_t dom, uint32_t remote_dom)
{
    struct evtchn_alloc_unbound a = { .dom = (domid_t)dom, .remote_dom = (domid_t)remote_dom };
    long rc = xc_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, PTR(&a), 0,
                           0, 0);
    return rc < 0 ? (int)rc : (int)a.port;
}

void xc_mmu_init(struct xc_mmu *mmu, uint32_t subject)
{
    mmu->idx = 0;
    mmu->subject = (domid_t)subject;
}

int xc_flush_mmu_updates(struct xc_mmu *mmu)
{
    if (!mmu->idx)
        return 0;
    unsigned int done = 0;
    long rc = xc_hypercall(__HYPERVISOR_mmu_update, PTR(mmu->updates), mmu->idx, PTR(&done),
                           mmu->subject, 0);
    if (!rc && done != mmu->idx)
        rc = -XL_EIO; /* success but not all done: the hv broke the ABI */
    mmu->idx = 0;
    return (int)rc;
}

int xc_add_mmu_update(struct xc_mmu *mmu, uint64_t ptr, uint64_t val)
{
    if (mmu->idx == XC_MMU_BATCH) {
        int rc = xc_flush_mmu_updates(mmu);
        if (rc)
            return rc;
    }
    mmu->updates[mmu->idx++] = (mmu_update_t){ .ptr = ptr, .val = val };
    return 0;
}

int xc_mmuext_op(struct mmuext_op *op, unsigned int nr_ops, uint32_t dom)
{
    unsigned int done = 0;
    long rc = xc_hypercall(__HYPERVISOR_mmuext_op, PTR(op), nr_ops, PTR(&done), dom, 0);
    if (!rc && done != nr_ops)
        rc = -XL_EIO;
    return (int)rc;
}

/* ---- the foreign-mapping window ---- */

static uint8_t window[XC_WINDOW_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t window_used[XC_WINDOW_PAGES];

#define PTE_FLAGS 0x65ULL /* present, user, accessed, dirty (Xen PV kernels run in ring 3) */
#define PTE_RW    0x2ULL

int xc_foreign_window_contains(const void *va)
{
    uintptr_t p = (uintptr_t)va, base = (uintptr_t)window;
    return p >= base && p - base < sizeof(window);
}

static long window_index(const void *va)
{
    if (!xc_foreign_window_contains(va))
        return -1;
    uintptr_t off = (uintptr_t)va - (uintptr_t)&window[0][0];
    if (off & (PAGE_SIZE - 1))
        return -1;
    return (long)(off / PAGE_SIZE);
}

void *xc_foreign_window_alloc(unsigned int num)
{
    if (!num || num > XC_WINDOW_PAGES)
        return NULL;
    for (unsigned int s = 0; s + num <= XC_WINDOW_PAGES; s++) {
        unsigned int i;
        for (i = 0; i < num && !window_used[s + i]; i++)
            ;
        if (i == num) {
            memset(&window_used[s], 1, num);
            return window[s];
        }
        s += i; /* skip past the used page */
    }
    return NULL;
}

void xc_foreign_window_free(void *addr, unsigned int num)
{
    long s = window_index(addr);
    if (s < 0 || (unsigned long)s + num > XC_WINDOW_PAGES)
        return;
    memset(&window_used[s], 0, num);
}

int xc_map_foreign_at(uint32_t dom, void *va, xen_pfn_t mfn, int prot)
{
    long s = window_index(va);
    if (s < 0 || mfn >> 40)
        return -XL_EINVAL;
    uint64_t pte = ((uint64_t)mfn << PAGE_SHIFT) | PTE_FLAGS |
                   ((prot & XC_PROT_WRITE) ? PTE_RW : 0);
    long rc = xc_hypercall(__HYPERVISOR_update_va_mapping_otherdomain, PTR(va), pte,
                           UVMF_INVLPG | UVMF_LOCAL, dom, 0);
    return (int)rc;
}

int xc_unmap_foreign_at(void *va)
{
    long s = window_index(va);
    if (s < 0)
        return -XL_EINVAL;
    long rc = xc_hypercall(__HYPERVISOR_update_va_mapping, PTR(va), 0, UVMF_INVLPG | UVMF_LOCAL,
                           0, 0);
    return (int)rc;
}

void *xc_map_foreign_pages(uint32_t dom, int prot, const xen_pfn_t *arr, int num)
{
    if (num <= 0)
        return NULL;
    uint8_t *base = xc_foreign_window_alloc((unsigned int)num);
    if (!base)
        return NULL;
    for (int i = 0; i < num; i++) {
        if (xc_map_foreign_at(dom, base + (size_t)i * PAGE_SIZE, arr[i], prot)) {
            while (i--)
                (void)xc_unmap_foreign_at(base + (size_t)i * PAGE_SIZE);
            xc_foreign_window_free(base, (unsigned int)num);
            return NULL;
        }
    }
    return base;
}

int xc_unmap_foreign_pages(void *addr, int num)
{
    long s = window_index(addr);
    if (s < 0 || num <= 0 || (unsigned long)s + (unsigned long)num > XC_WINDOW_PAGES)
        return -XL_EINVAL;
    int rc = 0;
    for (int i = 0; i < num; i++) {
        int r = xc_unmap_foreign_at((uint8_t *)addr + (size_t)i * PAGE_SIZE);
        if (r && !rc)
            rc = r;
    }
    xc_foreign_window_free(addr, (unsigned int)num);
    return rc;
}
