/*
 * sched.c - the scheduler (round robin with time slices over runnable
 * vcpus on the boot CPU) and sched_op: yield, block, poll, shutdown,
 * shutdown_code, remote_shutdown, watchdog. After every decision it arms
 * the one-shot timer for the nearest of: a guest timer, a poll timeout,
 * a watchdog, the PV clock refresh, the end of the running slice.
 * Owns: which vcpu is `current`, the blocked/polling state of vcpus,
 * runstate transitions, the watchdogs, and what the machine does when
 * dom0 is gone.
 * SMP: every CPU runs this pick for itself under the big lock (smp.c);
 * a vcpu runs on at most one CPU (v->running, v->processor) and only on
 * CPUs of its hard affinity (v->affinity).
 * Must never: run a vcpu of a domain that is not DOM_RUNNING, is paused
 * (XEN_DOMCTL_pausedomain, or created and not yet unpaused) or whose vcpu
 * has no context / is down; let a
 * spinning domain keep the CPU past its slice while another can run;
 * return without the timer armed. Pure C (arch hooks only), so the host
 * unit test links it.
 */
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/mm.h>
#include <xenolith/power.h>

#define SLICE_NS   30000000ULL /* 30 ms, Xen credit's default */
#define NR_PORTS_2L 4096       /* 2-level ABI: d->max_evtchns on x86_64 */
#define SECONDS(s)  ((uint64_t)(s) * 1000000000ULL)

static int vcpu_runnable(const struct vcpu *v)
{
    return domain_vcpu_may_run(v) && !v->blocked; /* paused domains never run */
}

/* Boot-time domUs have no toolstack to reap them: destroy them as soon
 * as they are shut down (dom0's end is handled by sched_idle_or_halt),
 * once none of their vcpus runs on another CPU (those are kicked; the
 * pass they make when they stop comes back here). */
static void reap_auto_destroy(void)
{
    for (unsigned int i = 1; i < MAX_DOMAINS; i++)
        if (domains[i].state == DOM_SHUTDOWN && domains[i].auto_destroy &&
            !domain_running_elsewhere(&domains[i]))
            domain_destroy(&domains[i]);
}

static void switch_to(struct vcpu *prev, struct vcpu *next, uint64_t now)
{
    if (prev && prev != next && prev->ev.rs_state == RUNSTATE_running)
        vcpu_runstate_change(prev, prev->domain->state != DOM_RUNNING || !prev->online
                                   ? RUNSTATE_offline
                                   : prev->blocked ? RUNSTATE_blocked : RUNSTATE_runnable, now);
    next->ev.slice_end = now + SLICE_NS;
    next->ev.yielded = 0;
    if (next->ev.rs_state != RUNSTATE_running) {
        vcpu_runstate_change(next, RUNSTATE_running, now);
        vcpu_update_time(next);
        timer_vcpu_scheduled_in(next, now);
    }
}

/* Arm the timer for the nearest deadline; the slice end counts only
 * while a vcpu runs (next). */
static void arm_next_deadline(const struct vcpu *next)
{
    /* Guest timers are global: cpu 0 times them (and kicks whoever runs
     * the vcpu they wake); the others time their slice, or tick once a
     * second while idle so the watchdog (smp.c) looks. */
    int timer_cpu = arch_cpu_id() == SCHED_TIMER_CPU;
    uint64_t when = timer_cpu ? timers_next_deadline() : 0;
    if (next && (!when || next->ev.slice_end < when))
        when = next->ev.slice_end;
    if (!when && !timer_cpu)
        when = xl_now() + SECONDS(1);
    arch_timer_arm(when);
}

/* prev stops running here (picked elsewhere from now on). */
static void put_prev(struct vcpu *prev, struct vcpu *next)
{
    if (prev && prev != next && prev->domain->state != DOM_FREE)
        prev->running = 0;
    if (next) {
        next->running = 1;
        next->processor = arch_cpu_id();
    }
}

static struct vcpu *pick(void)
{
    unsigned int cpu = arch_cpu_id();
    sched_work_pending &= ~(1ULL << cpu); /* what is raised from here on gets another pass */
    reap_auto_destroy();
    uint64_t now = xl_now();
    timers_run(now);
    struct vcpu *prev = current;
    /* Keep the running vcpu until its slice ends, it yields or blocks. A
     * vcpu that blocked and was woken while nothing else ran is switched
     * in again below (runstate running, PV clock refreshed). */
    if (prev && prev->domain->state != DOM_FREE && sched_vcpu_can_run_on(prev, cpu) &&
        !prev->ev.yielded && prev->ev.rs_state == RUNSTATE_running && now < prev->ev.slice_end)
        return prev;
    /* Round robin over every vcpu of every domain, from the one after
     * prev (its domain's vcpus before prev come last), skipping those
     * another CPU runs and those whose affinity leaves this CPU out. */
    unsigned int sd = prev ? prev->domain->domid : 0, sv = prev ? prev->id + 1u : 0;
    for (unsigned int i = 0; i <= MAX_DOMAINS; i++) {
        struct domain *d = &domains[(sd + i) % MAX_DOMAINS];
        if (d->state == DOM_FREE)
            continue;
        for (unsigned int j = i ? 0 : sv; j < d->max_vcpus; j++) {
            if (sched_vcpu_can_run_on(&d->vcpus[j], cpu)) {
                struct vcpu *p = prev && prev->domain->state != DOM_FREE ? prev : NULL;
                switch_to(p, &d->vcpus[j], now);
                put_prev(p, &d->vcpus[j]);
                return &d->vcpus[j];
            }
        }
    }
    if (prev && prev->domain->state != DOM_FREE && prev->ev.rs_state == RUNSTATE_running)
        vcpu_runstate_change(prev, prev->domain->state != DOM_RUNNING || !prev->online
                                   ? RUNSTATE_offline : vcpu_runnable(prev) ? RUNSTATE_runnable
                                   : RUNSTATE_blocked, now);
    put_prev(prev, NULL);
    return NULL;
}

/* Runnable vcpus that no CPU runs: wake an idle CPU for each (one CPU
 * each, lowest first, in its affinity), so they do not wait for a busy
 * CPU's slice to end. */
static void wake_idle_for_waiting(void)
{
    uint64_t idle = arch_idle_cpus();
    unsigned int cpu = arch_cpu_id();
    for (unsigned int i = 0; i < MAX_DOMAINS && idle; i++) {
        struct domain *d = &domains[i];
        if (d->state != DOM_RUNNING)
            continue;
        for (unsigned int j = 0; j < d->max_vcpus && idle; j++) {
            const struct vcpu *v = &d->vcpus[j];
            if (v->running || !vcpu_runnable(v))
                continue;
            int c = sched_choose_idle_cpu(idle, v->affinity, cpu);
            if (c >= 0) {
                arch_kick_cpu((unsigned int)c);
                idle &= ~(1ULL << c);
            }
        }
    }
}

struct vcpu *sched_pick_next(void)
{
    struct vcpu *next = pick();
    wake_idle_for_waiting();
    arm_next_deadline(next);
    return next;
}

void sched_domain_shutdown(struct domain *d, unsigned int reason)
{
    domain_shutdown(d, d->shutdown_code != ~0u ? d->shutdown_code : reason);
}

/* Xen's domain_watchdog: id 0 takes a free timer and returns its id
 * (1..XL_NR_WATCHDOGS, (u32)-ENOSPC if none); id N re-arms it, or frees it
 * when timeout is 0; an id not in use (or > XL_NR_WATCHDOGS) is -EINVAL.
 * A timeout of 0 on creation fires at once, as on Xen. */
static long sched_watchdog(struct domain *d, uint32_t id, uint32_t timeout)
{
    uint64_t deadline = xl_now() + SECONDS(timeout);
    if (id > XL_NR_WATCHDOGS)
        return -XL_EINVAL;
    sched_raise_work(); /* a deadline to arm */
    if (id == 0) {
        for (unsigned int w = 0; w < XL_NR_WATCHDOGS; w++) {
            if (d->ev.watchdog_inuse >> w & 1)
                continue;
            d->ev.watchdog_inuse |= (uint8_t)(1u << w);
            d->ev.watchdog_deadline[w] = deadline;
            return (long)w + 1;
        }
        /* Xen 4.17 yields this through an unsigned int: the guest gets
         * -ENOSPC zero-extended (4294967268; checked on Xen). */
        return (long)(uint32_t)-XL_ENOSPC;
    }
    unsigned int w = id - 1;
    if (!(d->ev.watchdog_inuse >> w & 1))
        return -XL_EINVAL;
    if (timeout == 0) {
        d->ev.watchdog_inuse &= (uint8_t)~(1u << w);
        d->ev.watchdog_deadline[w] = 0;
    } else {
        d->ev.watchdog_deadline[w] = deadline;
    }
    return 0;
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
        static const char *const what[] = { "power off", "reboot", "stop: dom0 crashed",
                                            "stop: dom0 shut down with an unknown reason" };
        int status = dom0_exit_status(d0);
        unsigned int how = d0->shutdown_reason > SHUTDOWN_MAX ? 3u : (unsigned int)status;
        uint64_t free_before = mm_free_count();
        for (unsigned int i = 1; i < MAX_DOMAINS; i++)
            if (domains[i].state != DOM_FREE)
                domain_destroy(&domains[i]);
        domain_destroy(d0);
        printk("memory: %lu pages free (%lu returned at shutdown)\n",
               (unsigned long)mm_free_count(), (unsigned long)(mm_free_count() - free_before));
        printk("dom0 is gone: machine will %s\n", what[how]);
        arch_halt_machine(status);
    }
    arch_idle_wait();
}

/* Xen's do_block: unmask, then sleep unless an event is already due. */
static long sched_block(struct vcpu *v)
{
    v->info->evtchn_upcall_mask = 0;
    if (v->info->evtchn_upcall_pending)
        return 0;
    v->blocked = 1;
    v->ev.polling = 0;
    sched_raise_work();
    return 0;
}

/* Xen's do_poll: block until one of the ports is pending, an event kicks
 * the vcpu, or the timeout (system time) passes. */
static long sched_poll(struct vcpu *v, uint64_t arg)
{
    struct sched_poll p;
    if (copy_from_guest_va(v->cr3, &p, arg, sizeof(p)))
        return -XL_EFAULT;
    if (p.nr_ports > 128)
        return -XL_EINVAL;
    uint64_t ports = (uint64_t)p.ports.p;
    if (p.nr_ports && (!guest_va_ok(ports) || !guest_va_ok(ports + p.nr_ports * 4ULL - 1)))
        return -XL_EFAULT;
    if (v->info->evtchn_upcall_pending && !v->info->evtchn_upcall_mask)
        return 0;
    evtchn_port_t port = 0;
    for (unsigned int i = 0; i < p.nr_ports; i++) {
        if (copy_from_guest_va(v->cr3, &port, ports + i * 4ULL, sizeof(port)))
            return -XL_EFAULT;
        if (port >= NR_PORTS_2L)
            return -XL_EINVAL;
        if (evtchn_port_is_pending(v->domain, port))
            return 0;
    }
    v->blocked = 1;
    v->ev.polling = 1;
    v->ev.poll_port = p.nr_ports == 1 ? (int)port : -1;
    v->ev.poll_deadline = p.timeout;
    sched_raise_work();
    return 0;
}

/* SCHEDOP_* ; see xen/sched.h. */
long do_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
                 uint64_t a5)
{
    (void)a3; (void)a4; (void)a5;
    struct domain *d = v->domain;
    HCSTAT_SUB(&d->hcstat, sched_op, cmd);
    switch (cmd) {
    case SCHEDOP_yield:
        v->ev.yielded = 1;
        sched_raise_work();
        return 0;
    case SCHEDOP_block:
        return sched_block(v);
    case SCHEDOP_poll:
        return sched_poll(v, arg);
    case SCHEDOP_shutdown: {
        struct sched_shutdown s;
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        sched_domain_shutdown(d, (uint8_t)s.reason); /* Xen: any reason, truncated to u8 */
        return 0;
    }
    case SCHEDOP_shutdown_code: {
        struct sched_shutdown s;
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        /* Xen 4.17: the first code sticks (later calls change nothing),
         * and domain_shutdown then uses it in place of its reason. */
        if (d->shutdown_code == ~0u)
            d->shutdown_code = (uint8_t)s.reason;
        return 0;
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown s;
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        struct domain *t = domain_by_id(s.domain_id);
        if (!t)
            return -XL_ESRCH;
        if (!d->privileged)
            return -XL_EPERM;
        sched_domain_shutdown(t, (uint8_t)s.reason);
        return 0;
    }
    case SCHEDOP_watchdog: {
        struct sched_watchdog w;
        if (copy_from_guest_va(v->cr3, &w, arg, sizeof(w)))
            return -XL_EFAULT;
        return sched_watchdog(d, w.id, w.timeout);
    }
    default:
        /* pin_override (one CPU): not offered. */
        return hc_unimplemented(d, __HYPERVISOR_sched_op, (unsigned int)cmd);
    }
}
