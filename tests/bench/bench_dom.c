/*
 * bench_dom.c - bench_dom.h over the toolstack's libxenctrl-style library
 * (toolstack/libxc/ctrl.c) and PV domain builder (build.c), built with the
 * toolstack's flags (__XEN_TOOLS__). The peer's image is bench_peer.elf,
 * which bench_peer_image.S puts into bench.elf.
 * Must never: leave a domain it created alive after a failure it reports
 * (the caller destroys it with bench_dom_destroy).
 */
#include "bench_dom.h"
#include "../../toolstack/libxc/build.h"
#include "../../toolstack/libxc/ctrl.h"

#include <xenolith/lib.h>

extern const char bench_peer_image[], bench_peer_image_end[];

#define PEER_MAX_MB 16
static uint64_t p2m[PEER_MAX_MB << 8];

int bench_dom_create(uint32_t *domid, unsigned int mem_mb)
{
    struct xen_domctl_createdomain c;
    memset(&c, 0, sizeof(c));
    c.max_vcpus = 1;
    c.max_evtchn_port = 1023;
    c.max_grant_frames = 4;
    c.max_maptrack_frames = 4;
    c.grant_opts = XEN_DOMCTL_GRANT_version(1);
    (void)mem_mb;
    *domid = 0; /* the hypervisor picks */
    return xc_domain_create(domid, &c);
}

int bench_dom_build(uint32_t domid, unsigned int mem_mb, const char *cmdline, const char **why)
{
    if (mem_mb > PEER_MAX_MB) {
        *why = "peer memory over PEER_MAX_MB";
        return -1;
    }
    const struct xl_build_args a = {
        .kernel = bench_peer_image,
        .kernel_len = (size_t)(bench_peer_image_end - bench_peer_image),
        .cmdline = cmdline,
        .memory_mb = mem_mb,
        .max_vcpus = 1,
        .p2m = p2m,
        .p2m_entries = sizeof(p2m) / sizeof(p2m[0]),
    };
    struct xl_build_out o;
    return xl_build_pv(domid, &a, &o, why);
}

int bench_dom_pin(uint32_t domid, unsigned int vcpu, unsigned int cpu)
{
    uint8_t hard[64], soft[64];
    int sz = xc_get_cpumap_size();
    if (sz < 0)
        return sz;
    if (sz > (int)sizeof(hard) || cpu >= (unsigned int)sz * 8)
        return -1;
    memset(hard, 0, sizeof(hard));
    memset(soft, 0, sizeof(soft));
    hard[cpu / 8] = (uint8_t)(1u << (cpu % 8));
    return xc_vcpu_setaffinity(domid, (int)vcpu, hard, soft, XEN_VCPUAFFINITY_HARD);
}

int bench_dom_nr_cpus(void)
{
    xc_physinfo_t pi;
    memset(&pi, 0, sizeof(pi));
    int rc = xc_physinfo(&pi);
    return rc ? rc : (int)pi.nr_cpus;
}

int bench_dom_unpause(uint32_t domid)
{
    return xc_domain_unpause(domid);
}

int bench_dom_destroy(uint32_t domid)
{
    int rc = xc_domain_destroy(domid);
    if (rc)
        return rc;
    /* Gone, or at worst dying until its last reference goes. */
    xc_domaininfo_t di;
    for (unsigned int i = 0; i < 1000; i++) {
        if (xc_domain_getinfo_single(domid, &di))
            return 0;
        if (!(di.flags & XEN_DOMINF_dying))
            return -1;
        xc_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
    }
    return 0; /* still dying: Xen frees its last pages lazily */
}
