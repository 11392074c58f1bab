/*
 * sysctl.c - XEN_SYSCTL_* for the toolstack in dom0, Xen 4.17's ABI:
 * readconsole (the hv console ring, console.c), physinfo,
 * getdomaininfolist, sched_id and scheduler_op (the credit scheduler's
 * tslice / ratelimit, sched.c); and Xenolith's own XENOLITH_SYSCTL_hypercall_stats
 * (a domain's hypercall counters, hcstat.h).
 * Owns: the sysctl argument checks. Must never: answer an unprivileged
 * domain (-EPERM after the version check, Xen's XSM dummy policy), or
 * write outside the buffers the caller named.
 */
#include <xenolith/domctl.h> /* first: see there */
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hcstat.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/sched.h>

static struct xen_sysctl op; /* one CPU, no nesting */

struct guest_buf {
    uint64_t cr3, va;
};

static int copy_out(void *ctx, uint32_t off, const char *src, uint32_t len)
{
    const struct guest_buf *b = ctx;
    return copy_to_guest_va(b->cr3, b->va + off, src, len) ? -XL_EFAULT : 0;
}

/* Pages the allocator hands out: free ones plus those domains hold (the
 * hv's own frames and holes are not counted). */
static uint64_t usable_pages(void)
{
    uint64_t n = 0;
    for (uint64_t m = 0; m < max_mfn; m++)
        if (frame_table[m].owner != DOMID_HV_OWNED && frame_table[m].owner != DOMID_IO_OWNED)
            n++;
    return n;
}

static void physinfo(struct xen_sysctl_physinfo *p)
{
    memset(p, 0, sizeof(*p));
    p->threads_per_core = 1;
    p->cores_per_socket = 1;
    p->nr_cpus = arch_nr_cpus();       /* Xen: num_online_cpus() */
    p->max_cpu_id = arch_nr_cpus() - 1; /* Xen: nr_cpu_ids - 1; CPU numbers are dense here */
    p->nr_nodes = 1;
    p->max_node_id = 0;
    p->cpu_khz = (uint32_t)(tsc_hz() / 1000);
    p->capabilities = XEN_SYSCTL_PHYSCAP_pv;
    p->total_pages = usable_pages();
    p->free_pages = mm_free_count();
    p->scrub_pages = 0;
    p->outstanding_pages = 0;
    p->max_mfn = max_mfn ? max_mfn - 1 : 0;
}

static long domaininfo_list(struct vcpu *v, struct xen_sysctl_getdomaininfolist *l)
{
    uint32_t n = 0;
    for (unsigned int id = l->first_domain; id < MAX_DOMAINS; id++) {
        if (domains[id].state == DOM_FREE)
            continue;
        if (n == l->max_domains)
            break;
        struct xen_domctl_getdomaininfo info;
        domctl_getdomaininfo(&domains[id], &info);
        if (copy_to_guest_va(v->cr3, (uint64_t)l->buffer.p + n * sizeof(info), &info,
                             sizeof(info)))
            return -XL_EFAULT;
        n++;
    }
    l->num_domains = n;
    return 0;
}

/* XENOLITH_SYSCTL_hypercall_stats: the argument lives in u.pad. */
static long hypercall_stats(struct vcpu *v, struct xenolith_sysctl_hypercall_stats *h)
{
    const struct domain *d = domain_by_id(h->domid);
    if (!d)
        return -XL_ESRCH;
    uint32_t room = h->size;
    h->size = sizeof(d->hcstat);
    if (!h->buffer)
        return 0;
    if (room < sizeof(d->hcstat))
        return -XL_ENOBUFS;
    return copy_to_guest_va(v->cr3, h->buffer, &d->hcstat, sizeof(d->hcstat)) ? -XL_EFAULT : 0;
}
_Static_assert(sizeof(struct xenolith_sysctl_hypercall_stats) <= sizeof(op.u.pad),
               "the hypercall_stats argument fits struct xen_sysctl's union");

/* Xen 4.17's sched_adjust_global + csched_sys_cntl for the one pool
 * (Pool-0, id 0; another id is -ESRCH). The migration delay is checked
 * and kept for getinfo but not used (docs/scheduler.md). */
static long scheduler_op(struct xen_sysctl_scheduler_op *so)
{
    static uint32_t migr_delay_us;
    struct xen_sysctl_credit_schedule *p = &so->u.sched_credit;
    if (so->cpupool_id != 0)
        return -XL_ESRCH;
    if (so->sched_id != XEN_SCHEDULER_CREDIT)
        return -XL_EINVAL;
    switch (so->cmd) {
    case XEN_SYSCTL_SCHEDOP_putinfo:
        if (p->vcpu_migr_delay_us > XEN_SYSCTL_CSCHED_MGR_DLY_MAX_US)
            return -XL_EINVAL;
        if (sched_credit_pool_put(p->tslice_ms, p->ratelimit_us))
            return -XL_EINVAL;
        migr_delay_us = p->vcpu_migr_delay_us;
        __attribute__((fallthrough)); /* Xen answers with what is now set */
    case XEN_SYSCTL_SCHEDOP_getinfo:
        sched_credit_pool_get(&p->tslice_ms, &p->ratelimit_us);
        p->vcpu_migr_delay_us = migr_delay_us;
        return 0;
    default:
        return -XL_EINVAL;
    }
}

HYPERCALL_DECL(sysctl)
{
    (void)a2; (void)a3; (void)a4; (void)a5;
    if (copy_from_guest_va(v->cr3, &op, a1, sizeof(op)))
        return -XL_EFAULT;
    HCSTAT_SUB(&v->domain->hcstat, sysctl, op.cmd);
    if (op.interface_version != XEN_SYSCTL_INTERFACE_VERSION)
        return -XL_EACCES;
    if (!v->domain->privileged)
        return -XL_EPERM;
    long rc;
    switch (op.cmd) {
    case XEN_SYSCTL_readconsole: {
        struct xen_sysctl_readconsole *r = &op.u.readconsole;
        struct guest_buf b = { .cr3 = v->cr3, .va = (uint64_t)r->buffer.p };
        rc = console_ring_read_xen(r->clear, r->incremental, &r->index, &r->count, copy_out, &b);
        break;
    }
    case XEN_SYSCTL_physinfo:
        physinfo(&op.u.physinfo);
        rc = 0;
        break;
    case XEN_SYSCTL_getdomaininfolist:
        rc = domaininfo_list(v, &op.u.getdomaininfolist);
        break;
    case XEN_SYSCTL_sched_id:
        op.u.sched_id.sched_id = XEN_SCHEDULER_CREDIT; /* sched=credit */
        rc = 0;
        break;
    case XEN_SYSCTL_scheduler_op:
        rc = scheduler_op(&op.u.scheduler_op);
        break;
    case XENOLITH_SYSCTL_hypercall_stats: {
        struct xenolith_sysctl_hypercall_stats h;
        memcpy(&h, op.u.pad, sizeof(h));
        rc = hypercall_stats(v, &h);
        memcpy(op.u.pad, &h, sizeof(h));
        if (rc == -XL_ENOBUFS) /* tell the caller the size it needs */
            return copy_to_guest_va(v->cr3, a1, &op, sizeof(op)) ? -XL_EFAULT : rc;
        break;
    }
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_sysctl, op.cmd);
    }
    if (!rc && copy_to_guest_va(v->cr3, a1, &op, sizeof(op)))
        rc = -XL_EFAULT;
    return rc;
}
