/*
 * ctl.c - dom0's small control adapter over the Xen 4.17 domctl/sysctl
 * ABI (xen/domctl.h, xen/sysctl.h with __XEN_TOOLS__), used by xlops.c
 * (the domain builder uses toolstack/libxc/ctrl.h instead). Where the
 * hypervisor answers -ENOSYS it falls back to what dom0 can learn
 * otherwise (XENMEM_current_reservation, xen_version) and says so.
 * Owns: building the hypercall arguments. Must never: pretend a
 * fallback value is the real one (unknown flags stay 0).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include "../xl/xlcmd.h"
#include "svc.h"

static long domctl(struct xen_domctl *d)
{
    d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    return HYPERCALL(__HYPERVISOR_domctl, d, 0, 0);
}

static long sysctl(struct xen_sysctl *s)
{
    s->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return HYPERCALL(__HYPERVISOR_sysctl, s, 0, 0);
}

static long reservation(uint16_t domid)
{
    domid_t d = domid;
    return HYPERVISOR_memory_op(XENMEM_current_reservation, &d);
}

int ctl_exists(uint16_t domid)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_getdomaininfo, .domain = domid };
    long rc = domctl(&d);
    if (rc == -XEN_ENOSYS)
        return reservation(domid) >= 0;
    return rc == 0 && d.domain == domid && !(d.u.getdomaininfo.flags & XEN_DOMINF_dying);
}

int ctl_list(uint16_t first, struct ctl_dominfo *out, unsigned int max)
{
    static struct xen_domctl_getdomaininfo buf[SVC_MAX_DOMS];
    if (max > SVC_MAX_DOMS)
        max = SVC_MAX_DOMS;
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_getdomaininfolist };
    s.u.getdomaininfolist.first_domain = first;
    s.u.getdomaininfolist.max_domains = max;
    set_xen_guest_handle(s.u.getdomaininfolist.buffer, buf);
    long rc = sysctl(&s);
    unsigned int n = 0;
    if (rc == 0) {
        for (unsigned int i = 0; i < s.u.getdomaininfolist.num_domains && i < max; i++, n++) {
            out[n] = (struct ctl_dominfo){
                .domid = buf[i].domain, .tot_pages = buf[i].tot_pages,
                .max_pages = buf[i].max_pages, .flags = buf[i].flags,
                .cpu_time = buf[i].cpu_time, .nr_online_vcpus = buf[i].nr_online_vcpus,
            };
        }
        return (int)n;
    }
    if (rc != -XEN_ENOSYS)
        return (int)rc;
    /* Fallback: probe each domid's reservation. */
    for (unsigned int d = first; d < SVC_MAX_DOMS && n < max; d++) {
        long pages = reservation((uint16_t)d);
        if (pages < 0)
            continue;
        out[n++] = (struct ctl_dominfo){ .domid = (uint16_t)d, .tot_pages = (uint64_t)pages,
                                         .nr_online_vcpus = 1 };
    }
    return (int)n;
}

int ctl_pause(uint16_t domid, int pause)
{
    struct xen_domctl d = { .cmd = pause ? XEN_DOMCTL_pausedomain : XEN_DOMCTL_unpausedomain,
                            .domain = domid };
    return (int)domctl(&d);
}

int ctl_destroy(uint16_t domid)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_destroydomain, .domain = domid };
    return (int)domctl(&d);
}

long ctl_evtchn_alloc_unbound(uint16_t dom, uint16_t remote)
{
    evtchn_alloc_unbound_t a = { .dom = dom, .remote_dom = remote };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a);
    return rc ? rc : (long)a.port;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

int ctl_hostinfo(struct xlcmd_hostinfo *hi)
{
    memset(hi, 0, sizeof(*hi));
    copy_str(hi->host, sizeof(hi->host), "xenolith-dom0");
    copy_str(hi->release, sizeof(hi->release), "xenolith");
    copy_str(hi->version, sizeof(hi->version), "built-in dom0");
    copy_str(hi->machine, sizeof(hi->machine), "x86_64");
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_physinfo };
    long rc = sysctl(&s);
    if (rc == 0) {
        struct xen_sysctl_physinfo *p = &s.u.physinfo;
        hi->nr_cpus = p->nr_cpus;
        hi->max_cpu_id = p->max_cpu_id;
        hi->nr_nodes = p->nr_nodes;
        hi->cores_per_socket = p->cores_per_socket;
        hi->threads_per_core = p->threads_per_core;
        hi->cpu_khz = p->cpu_khz;
        for (int i = 0; i < 8; i++)
            hi->hw_cap[i] = p->hw_cap[i];
        hi->caps = p->capabilities;
        hi->total_pages = p->total_pages;
        hi->free_pages = p->free_pages;
        hi->outstanding_pages = p->outstanding_pages;
    } else if (rc != -XEN_ENOSYS) {
        return (int)rc;
    } else {
        printk("dom0: sysctl physinfo unavailable (%ld): xl info shows no host memory\n", rc);
    }
    long ver = HYPERVISOR_xen_version(XENVER_version, NULL);
    hi->xen_major = (int)(ver >> 16);
    hi->xen_minor = (int)(ver & 0xffff);
    xen_extraversion_t extra = "";
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    copy_str(hi->xen_extra, sizeof(hi->xen_extra), extra);
    static xen_capabilities_info_t caps;
    HYPERVISOR_xen_version(XENVER_capabilities, caps);
    copy_str(hi->xen_caps, sizeof(hi->xen_caps), caps);
    /* libxl_get_scheduler: XEN_SYSCTL_sched_id, by libxl's names */
    struct xen_sysctl sid = { .cmd = XEN_SYSCTL_sched_id };
    static const char *const sched_names[] = { [XEN_SCHEDULER_CREDIT] = "credit",
                                               [XEN_SCHEDULER_CREDIT2] = "credit2",
                                               [XEN_SCHEDULER_ARINC653] = "arinc653",
                                               [XEN_SCHEDULER_RTDS] = "rtds",
                                               [XEN_SCHEDULER_NULL] = "null" };
    uint32_t id = sysctl(&sid) == 0 ? sid.u.sched_id.sched_id : ~0u;
    copy_str(hi->scheduler, sizeof(hi->scheduler),
             id < ARRAY_SIZE(sched_names) && sched_names[id] ? sched_names[id] : "unknown");
    hi->pagesize = (unsigned int)HYPERVISOR_xen_version(XENVER_pagesize, NULL);
    xen_platform_parameters_t pp = { 0 };
    if (!HYPERVISOR_xen_version(XENVER_platform_parameters, &pp))
        hi->virt_start = pp.virt_start;
    xen_changeset_info_t cs = "";
    HYPERVISOR_xen_version(XENVER_changeset, cs);
    copy_str(hi->changeset, sizeof(hi->changeset), cs);
    static xen_commandline_t cl;
    HYPERVISOR_xen_version(XENVER_commandline, cl);
    copy_str(hi->commandline, sizeof(hi->commandline), cl);
    xen_compile_info_t ci;
    memset(&ci, 0, sizeof(ci));
    if (!HYPERVISOR_xen_version(XENVER_compile_info, &ci)) {
        copy_str(hi->compiler, sizeof(hi->compiler), ci.compiler);
        copy_str(hi->compile_by, sizeof(hi->compile_by), ci.compile_by);
        copy_str(hi->compile_domain, sizeof(hi->compile_domain), ci.compile_domain);
        copy_str(hi->compile_date, sizeof(hi->compile_date), ci.compile_date);
    }
    return 0;
}

int ctl_readconsole(char *buf, uint32_t len, uint32_t *idx, int clear)
{
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_readconsole };
    s.u.readconsole.clear = (uint8_t)clear;
    s.u.readconsole.incremental = 1;
    s.u.readconsole.index = *idx;
    s.u.readconsole.count = len;
    set_xen_guest_handle(s.u.readconsole.buffer, buf);
    long rc = sysctl(&s);
    if (rc)
        return (int)rc;
    *idx = s.u.readconsole.index;
    return (int)s.u.readconsole.count;
}
