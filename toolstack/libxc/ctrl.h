/*
 * ctrl.h - the dom0 toolstack's libxenctrl-style library: xc_* names,
 * argument order and structures from Xen 4.17's xenctrl.h for what it
 * implements (domains, vcpu contexts, physinfo, the console ring, the
 * credit scheduler's parameters, ...), over the raw hypercalls (domctl, sysctl, memory_op,
 * event_channel_op, mmu_update, mmuext_op, update_va_mapping*).
 *
 * Differences from libxenctrl, on purpose:
 *   - no xc_interface handle (one dom0 kernel, one caller);
 *   - errors are returned as negative Xen errno values (-XEN_EPERM ...)
 *     instead of -1 with errno set; a non-negative value is success;
 *   - foreign mappings go into a fixed window of dom0 virtual pages that
 *     ctrl.c owns (XC_WINDOW_PAGES), not into fresh mmap()ed memory.
 * Freestanding: builds for dom0 with the guest kit's flags and on the
 * host for unit tests (which provide xc_hypercall).
 */
#ifndef TOOLSTACK_CTRL_H
#define TOOLSTACK_CTRL_H

/* domctl.h and sysctl.h are for tools only; with __XEN_TOOLS__ the
 * headers pick their latest interface version themselves (4.17's, the
 * same as the build's -D__XEN_INTERFACE_VERSION__). */
#ifndef __XEN_TOOLS__
#undef __XEN_INTERFACE_VERSION__
#define __XEN_TOOLS__ 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/memory.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xenolith/hcstat.h>

/* The one way ctrl.c reaches the hypervisor: hypercall nr with Xen's five
 * x86_64 argument registers. dom0: through the hypercall page (ctrl.c);
 * host unit tests: a fake. */
long xc_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                  uint64_t a5);

typedef xen_domctl_getdomaininfo_t xc_domaininfo_t;
typedef struct xen_sysctl_physinfo xc_physinfo_t;

/* libxenctrl's xc_dominfo_t, the fields Xenolith can fill. */
typedef struct xc_dominfo {
    uint32_t domid;
    uint32_t ssidref;
    unsigned int dying:1, crashed:1, shutdown:1, paused:1, blocked:1, running:1, hvm:1,
                 debugged:1, xenstore:1, hap:1;
    unsigned int shutdown_reason; /* only meaningful if shutdown == 1 */
    unsigned long nr_pages;       /* current number, not maximum */
    unsigned long shared_info_frame;
    uint64_t cpu_time;
    unsigned long max_memkb;
    unsigned int nr_online_vcpus;
    unsigned int max_vcpu_id;
    xen_domain_handle_t handle;
} xc_dominfo_t;

typedef union {
    vcpu_guest_context_t x64; /* x86_64 dom0: the native layout */
    vcpu_guest_context_t c;
} vcpu_guest_context_any_t;

/* Domains (XEN_DOMCTL_*). *pdomid 0 asks the hv to pick an id; the id
 * and the config as the hv adjusted it are written back. */
int xc_domain_create(uint32_t *pdomid, struct xen_domctl_createdomain *config);
int xc_domain_max_vcpus(uint32_t domid, unsigned int max);
int xc_domain_setmaxmem(uint32_t domid, uint64_t max_memkb);
/* XEN_DOMCTL_sethvmcontext: HVM save records (HEADER, CPU..., END). */
int xc_domain_hvm_setcontext(uint32_t domid, const uint8_t *buf, uint32_t size);
/* HVMOP_set_param on a domain (the control domain's call). */
int xc_hvm_param_set(uint32_t domid, uint32_t index, uint64_t value);
int xc_domain_pause(uint32_t domid);
int xc_domain_unpause(uint32_t domid);
/* Retries while the hv says -EAGAIN (a long destroy in steps). */
int xc_domain_destroy(uint32_t domid);
/* Up to max_domains domains with id >= first_domain (sysctl
 * getdomaininfolist); returns how many were written. */
int xc_domain_getinfolist(uint32_t first_domain, unsigned int max_domains, xc_domaininfo_t *info);
/* Up to max_doms domains with id >= first_domid, one domctl getdomaininfo
 * each (Xen 4.17's "next domain at or after" rule); returns how many. */
int xc_domain_getinfo(uint32_t first_domid, unsigned int max_doms, xc_dominfo_t *info);

/* The credit scheduler (XEN_DOMCTL_scheduler_op / XEN_SYSCTL_sched_id,
 * XEN_SYSCTL_scheduler_op for cpupool 0), as libxenctrl's xc_sched_*:
 * the hv takes weight 0 / cap 0xffff as "leave it", no range checks
 * (libxl's, in xl). */
int xc_sched_id(int *sched_id);
int xc_sched_credit_domain_set(uint32_t domid, struct xen_domctl_sched_credit *sdom);
int xc_sched_credit_domain_get(uint32_t domid, struct xen_domctl_sched_credit *sdom);
int xc_sched_credit_params_set(uint32_t cpupool_id, struct xen_sysctl_credit_schedule *schedule);
int xc_sched_credit_params_get(uint32_t cpupool_id, struct xen_sysctl_credit_schedule *schedule);
/* Exactly domain domid (Xen 4.18's name): -ESRCH if it does not exist. */
int xc_domain_getinfo_single(uint32_t domid, xc_domaininfo_t *info);
int xc_vcpu_setcontext(uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *ctxt);
int xc_vcpu_getcontext(uint32_t domid, uint32_t vcpu, vcpu_guest_context_any_t *ctxt);

/* vCPUs (XEN_DOMCTL_getvcpuinfo, set/getvcpuaffinity). A cpumap is
 * xc_get_cpumap_size() bytes, bit c of byte c/8 = physical CPU c (the
 * hv's nr_bits is physinfo's max_cpu_id + 1, as libxenctrl's); set
 * writes back the maps in effect. */
typedef struct xen_domctl_getvcpuinfo xc_vcpuinfo_t;
typedef uint8_t *xc_cpumap_t;
int xc_vcpu_getinfo(uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *info);
int xc_get_max_cpus(void);     /* physinfo max_cpu_id + 1 */
int xc_get_cpumap_size(void);  /* bytes of a cpumap */
int xc_vcpu_setaffinity(uint32_t domid, int vcpu, xc_cpumap_t cpumap_hard_inout,
                        xc_cpumap_t cpumap_soft_inout, uint32_t flags);
int xc_vcpu_getaffinity(uint32_t domid, int vcpu, xc_cpumap_t cpumap_hard,
                        xc_cpumap_t cpumap_soft, uint32_t flags);

/* System (XEN_SYSCTL_*). */
int xc_physinfo(xc_physinfo_t *info);
/* Read the hv console ring into buffer (*pnr_chars: in its size, out the
 * bytes read); incremental reads go on from *pindex and update it. */
int xc_readconsolering(char *buffer, unsigned int *pnr_chars, int clear, int incremental,
                       uint32_t *pindex);
/* Xenolith's own (not in libxenctrl): domain domid's hypercall counters
 * (XENOLITH_SYSCTL_hypercall_stats, hcstat.h). -ESRCH for no such
 * domain, -EPERM unless dom0; -EMSGSIZE if the hypervisor's
 * counters are not the size this toolstack was built for. */
int xc_hypercall_stats(uint32_t domid, struct hcstat_counts *out);

/* Memory: extent_start[i] holds the pfn on entry and the mfn on return.
 * Fewer extents than asked is -EBUSY (as libxenctrl); those populated
 * stay with the domain. */
int xc_domain_populate_physmap_exact(uint32_t domid, unsigned long nr_extents,
                                     unsigned int extent_order, unsigned int mem_flags,
                                     xen_pfn_t *extent_start);

/* Event channels: a port of dom that remote_dom may bind; the port. */
int xc_evtchn_alloc_unbound(uint32_t dom, uint32_t remote_dom);

/* Batched mmu_update on behalf of a domain (libxenctrl's xc_mmu_t). */
#define XC_MMU_BATCH 64
struct xc_mmu {
    mmu_update_t updates[XC_MMU_BATCH];
    unsigned int idx;
    domid_t subject; /* the foreigndom argument */
};
void xc_mmu_init(struct xc_mmu *mmu, uint32_t subject);
/* Queue one update (flushing a full batch first). */
int xc_add_mmu_update(struct xc_mmu *mmu, uint64_t ptr, uint64_t val);
int xc_flush_mmu_updates(struct xc_mmu *mmu);
int xc_mmuext_op(struct mmuext_op *op, unsigned int nr_ops, uint32_t dom);

/* Foreign mappings. ctrl.c owns a window of XC_WINDOW_PAGES page-aligned
 * dom0 virtual pages (a .bss array, so dom0's initial tables already
 * cover it); a mapped page's PTE names the foreign frame
 * (update_va_mapping_otherdomain with the domain as foreigndom, allowed
 * for dom0 only), an unmapped one is empty. */
#define XC_WINDOW_PAGES 64
#define XC_PROT_READ  0x1 /* PROT_READ, PROT_WRITE */
#define XC_PROT_WRITE 0x2
/* num frames of dom at consecutive window pages; NULL if the window has
 * no room or the hv refuses a frame (nothing stays mapped then). */
void *xc_map_foreign_pages(uint32_t dom, int prot, const xen_pfn_t *arr, int num);
int xc_unmap_foreign_pages(void *addr, int num);
/* Window pages for a caller that maps frames one by one (the builder). */
void *xc_foreign_window_alloc(unsigned int num);
void xc_foreign_window_free(void *addr, unsigned int num);
/* Map (replace) / empty one window page. */
int xc_map_foreign_at(uint32_t dom, void *va, xen_pfn_t mfn, int prot);
int xc_unmap_foreign_at(void *va);
/* Is va inside the window? (host tests and sanity checks) */
int xc_foreign_window_contains(const void *va);

#endif
