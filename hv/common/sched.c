/*
 * sched.c - the scheduler (round robin over runnable vcpus on the boot
 * CPU) and sched_op. Owns: which vcpu is `current`, and what the machine
 * does when dom0 is gone. Must never: run a vcpu of a domain that is not
 * DOM_RUNNING.
 */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/mm.h>
#include <xenolith/power.h>

void arch_idle_wait(void); /* halt until the next interrupt */

static int vcpu_runnable(const struct vcpu *v)
{
    if (v->domain->state != DOM_RUNNING)
        return 0;
    if (v->blocked && v->info->evtchn_upcall_pending)
        ((struct vcpu *)v)->blocked = 0;
    return !v->blocked;
}

/* Boot-time domUs have no toolstack to reap them: destroy them as soon
 * as they are shut down (dom0's end is handled by sched_idle_or_halt). */
static void reap_auto_destroy(void)
{
    for (unsigned int i = 1; i < MAX_DOMAINS; i++)
        if (domains[i].state == DOM_SHUTDOWN && domains[i].auto_destroy)
            domain_destroy(&domains[i]);
}

struct vcpu *sched_pick_next(void)
{
    reap_auto_destroy();
    unsigned int start = current ? current->domain->domid + 1u : 0;
    for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = &domains[(start + i) % MAX_DOMAINS];
        if (d->state != DOM_FREE && vcpu_runnable(&d->vcpu))
            return &d->vcpu;
    }
    return NULL;
}

static int dom0_exit_status(const struct domain *d0)
{
    switch (d0->shutdown_reason) {
    case SHUTDOWN_poweroff:
        return XL_EXIT_POWEROFF;
    case SHUTDOWN_reboot:
        return XL_EXIT_REBOOT;
    default:
        return XL_EXIT_CRASH;
    }
}

void sched_idle_or_halt(void)
{
    struct domain *d0 = &domains[0];
    if (d0->state == DOM_SHUTDOWN) {
        static const char *const what[] = { "power off", "reboot", "stop: dom0 crashed" };
        int status = dom0_exit_status(d0);
        uint64_t free_before = mm_free_count();
        for (unsigned int i = 1; i < MAX_DOMAINS; i++)
            if (domains[i].state != DOM_FREE)
                domain_destroy(&domains[i]);
        domain_destroy(d0);
        printk("memory: %lu pages free (%lu returned at shutdown)\n",
               (unsigned long)mm_free_count(), (unsigned long)(mm_free_count() - free_before));
        printk("dom0 is gone: machine will %s\n", what[status]);
        arch_halt_machine(status);
    }
    arch_idle_wait();
}

/* SCHEDOP_shutdown and friends; see xen/sched.h. */
long do_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
                 uint64_t a5)
{
    struct domain *d = v->domain;
    switch (cmd) {
    case SCHEDOP_yield:
        return 0;
    case SCHEDOP_block:
        v->info->evtchn_upcall_mask = 0; /* Xen unmasks events on block */
        v->blocked = 1;
        return 0;
    case SCHEDOP_shutdown: {
        struct sched_shutdown s;
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        if (s.reason > SHUTDOWN_MAX)
            return -XL_EINVAL;
        domain_shutdown(d, s.reason);
        return 0;
    }
    case SCHEDOP_shutdown_code: {
        struct sched_shutdown s;
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        if (s.reason > SHUTDOWN_MAX)
            return -XL_EINVAL;
        d->shutdown_code = s.reason;
        return 0;
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown s;
        if (!d->privileged)
            return -XL_EPERM;
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        if (s.reason > SHUTDOWN_MAX)
            return -XL_EINVAL;
        struct domain *t = domain_by_id(s.domain_id);
        if (!t)
            return -XL_ESRCH;
        domain_shutdown(t, s.reason);
        return 0;
    }
    default:
        /* poll, watchdog, pin_override need event channels / watchdogs. */
        return -XL_ENOSYS;
    }
}
