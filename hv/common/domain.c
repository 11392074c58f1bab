/*
 * domain.c - domain lifecycle: create, shutdown, crash, destroy, and the
 * hooks that set up / tear down a domain's events and time.
 * Owns: domains[], the permanent writable type on each shared_info frame,
 * whether a domain's vcpu may run (pause count, initialised, online).
 * Must never: let a domain's failure touch another domain or the
 * hypervisor; every frame it held goes back on destroy.
 */
#include <stdarg.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/grant_table.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pirq.h>
#include <xenolith/sched.h>

struct domain domains[MAX_DOMAINS];
#if __STDC_HOSTED__
struct vcpu *current; /* host unit tests: one CPU (domain.h) */
#endif
uint64_t sched_work_pending = ~0ULL; /* the first entry of each CPU runs a full pass */

struct domain *domain_by_id(uint16_t domid)
{
    if (domid >= MAX_DOMAINS || domains[domid].state == DOM_FREE)
        return NULL;
    return &domains[domid];
}

/* A vcpu that exists but has no context and is down (Xen's
 * vcpu_create): its vcpu_info is its shared_info slot (every id here is
 * below XEN_LEGACY_MAX_VCPUS), events masked until the guest is ready. */
static void vcpu_setup(struct vcpu *v, struct domain *d, unsigned int id)
{
    memset(v, 0, sizeof(*v));
    v->domain = d;
    v->id = id;
    v->info = &d->shared_info->vcpu_info[id];
    v->info->evtchn_upcall_mask = 1;
    v->affinity = ~0ULL;      /* Xen: cpumask_all, hard and soft */
    v->soft_affinity = ~0ULL;
}

struct domain *domain_create(uint16_t domid, int privileged, const char *name)
{
    if (domid >= MAX_DOMAINS || domains[domid].state != DOM_FREE)
        return NULL;
    int64_t mfn = mm_alloc_frame(domid);
    if (mfn < 0)
        return NULL;
    /* Xen's share_xen_page_with_guest: the hv writes event bits and time
     * into shared_info, so it keeps a writable type on it for the
     * domain's whole life; the guest can map it but never make it a page
     * table (or a descriptor table). */
    BUG_ON(get_page_and_type((uint64_t)mfn, domid, PGT_writable) != 0);
    struct domain *d = &domains[domid];
    memset(d, 0, sizeof(*d));
    d->domid = domid;
    d->privileged = privileged;
    d->shutdown_code = ~0u;
    xl_snprintf(d->name, sizeof(d->name), "%s", name);
    d->shared_info_mfn = (uint64_t)mfn;
    d->shared_info = mfn_to_virt((uint64_t)mfn);
    d->max_vcpus = 1;
    vcpu_setup(&d->vcpus[0], d, 0);
    d->vcpus[0].initialised = 1;
    d->vcpus[0].online = 1;
    evtchn_domain_init(d);
    if (gnttab_domain_init(d)) {
        gnttab_domain_destroy(d);
        mm_free_frame((uint64_t)mfn);
        memset(d, 0, sizeof(*d));
        return NULL;
    }
    timer_vcpu_init(&d->vcpus[0]);
    domain_update_wallclock(d);
    vcpu_update_time(&d->vcpus[0]);
    d->state = DOM_RUNNING;
    sched_raise_work();
    return d;
}

void domain_set_max_vcpus(struct domain *d, unsigned int n)
{
    BUG_ON(n < 1 || n > MAX_VCPUS || d->max_vcpus != 1);
    for (unsigned int i = 1; i < n; i++) {
        struct vcpu *v = &d->vcpus[i];
        vcpu_setup(v, d, i);
        timer_vcpu_init(v);
        vcpu_update_time(v);
    }
    d->max_vcpus = n;
}

static const char *const reason_names[] = { "poweroff", "reboot", "suspend", "crash",
                                            "watchdog", "soft_reset" };

/* Xen takes any 8-bit reason (SCHEDOP_shutdown truncates it); one it does
 * not know is logged as "unknown reason N" and, for dom0, ends the machine
 * as a crash would (sched_idle_or_halt). */
void domain_shutdown(struct domain *d, unsigned int reason)
{
    char what[32];
    if (d->state != DOM_RUNNING)
        return;
    reason &= 0xff;
    d->state = DOM_SHUTDOWN;
    sched_raise_work();
    domain_running_elsewhere(d); /* kicked: they stop running it */
    d->shutdown_reason = reason;
    if (reason < ARRAY_SIZE(reason_names))
        xl_snprintf(what, sizeof(what), "%s", reason_names[reason]);
    else
        xl_snprintf(what, sizeof(what), "unknown reason %u", reason);
    if (d->shutdown_code != ~0u)
        printk("d%u shut down: %s (code %u)\n", d->domid, what, d->shutdown_code);
    else
        printk("d%u shut down: %s\n", d->domid, what);
    send_global_virq(VIRQ_DOM_EXC); /* tell dom0, as Xen does */
}

void domain_crash(struct domain *d, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    xl_vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    printk("d%u crashed: %s\n", d->domid, why);
    if (d->state == DOM_RUNNING) {
        d->state = DOM_SHUTDOWN;
        sched_raise_work();
        domain_running_elsewhere(d); /* kicked: they stop running it */
        d->shutdown_reason = SHUTDOWN_crash;
        send_global_virq(VIRQ_DOM_EXC);
    }
}

int domain_destroy_step(struct domain *d)
{
    if (!d->destroy_stage) {
        /* Callers make sure first: no CPU runs d's vcpus on d's page
         * tables while they go (domctl retries, the reaper waits). */
        BUG_ON(domain_running_elsewhere(d));
        sched_raise_work();
        sched_domain_destroy(d);          /* its vcpus off the run queues first */
        arch_leave_guest_page_tables(); /* never run on tables being freed */
        arch_forget_domain_cpu_state(d); /* no CPU's FPU owner stays one of its slots */
        pirq_domain_destroy(d);           /* its devices' interrupts quiet, vectors free */
        evtchn_domain_destroy(d);         /* peers' ends go back to unbound */
        gnttab_domain_destroy(d);         /* its mappings go; its granted frames outlive it while mapped */
        struct vcpu *v;
        for_each_vcpu(d, v) {
            vcpu_info_unmap(v);           /* its frame's references go before the frames */
            pv_destroy_gdt(v);            /* GDT frames lose their seg_desc type */
        }
        hvm_domain_destroy(d);            /* VMCBs and p2m tables (its RAM is d's: below) */
        put_page_and_type(d->shared_info_mfn); /* domain_create's permanent type */
        d->destroy_stage = 1;             /* dying: mm_relinquish_step from here */
    }
    /* Xen's relinquish_resources: the memory, in bounded steps. */
    if (mm_relinquish_step(d))
        return MM_ERESTART;
    hcstat_print_summary(d);
    printk("d%u destroyed: %lu frames returned, %lu free; in use: %u event channels, %u grant mappings\n",
           d->domid, (unsigned long)d->destroy_freed, (unsigned long)mm_free_count(),
           evtchn_total_in_use(), gnttab_total_mappings());
    if (current && current->domain == d)
        current = NULL;
    memset(d, 0, sizeof(*d));
    send_global_virq(VIRQ_DOM_EXC);
    return 0;
}

void domain_destroy(struct domain *d)
{
    mm_preempt_end(); /* all at once: no budget to run out of */
    while (domain_destroy_step(d))
        ;
}
