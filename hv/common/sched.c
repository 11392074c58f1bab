/*
 * sched.c - the scheduler: Xen's credit scheduler (the policy, pure logic
 * in sched_credit.c) driven on every CPU, and sched_op: yield, block,
 * poll, shutdown, shutdown_code, remote_shutdown, watchdog. After every
 * decision it arms the one-shot timer for the nearest of: a guest timer,
 * a poll timeout, a watchdog, the PV clock refresh, the end of the
 * running slice, the credit tick (10 ms) and accounting (30 ms).
 * Owns: which vcpu each CPU runs, the credit scheduler's state (struct
 * csched, one csched_dom / csched_vcpu per domain slot and vcpu, kept
 * here, not in struct domain), the blocked/polling state of vcpus,
 * runstate transitions, the watchdogs, and what the machine does when
 * dom0 is gone.
 * Must never: run a vcpu of a domain that is not DOM_RUNNING, is paused
 * (XEN_DOMCTL_pausedomain, or created and not yet unpaused) or whose vcpu
 * has no context / is down; let a spinning domain keep the CPU past its
 * slice while another of its priority can run; do accounting work on
 * a pass that no tick, slice end or scheduling change asked for; return
 * without the timer armed. Pure C (arch hooks only), so the host unit
 * test links it.
 *
 * How the credit logic is driven (docs/scheduler.md, "Integration"):
 * every pass (sched_pick_next, i.e. pick(cpu)) first brings the logic up
 * to date with the hv's state - domains and vcpus it has not seen are
 * added, a vcpu whose vcpu_runnable() changed is woken (BOOST) or put to
 * sleep - then runs the tick / accounting that are due, and calls
 * csched_do_schedule only when this CPU was asked to reschedule (a kick
 * from wake/accounting/parameters, the tick, the slice end, the running
 * vcpu sleeping or yielding). The pass walks only the domain slots in
 * use, for all its per-domain work: reaping, guest timers (timer.c's
 * per-domain pieces, with the timer CPU's next deadline), then that
 * sync. sched_domain_destroy takes a domain out before domain.c wipes it.
 * SMP: every online CPU runs its own pass, pick(arch_cpu_id()), under the
 * big lock (smp.c), so the logic needs no locks of its own. A vcpu runs on
 * at most one CPU (v->running, v->processor, kept in step with the logic's
 * curr of each CPU) and only on CPUs of its hard affinity (v->affinity,
 * passed to the logic on every pass that sees it changed). A CPU asked to
 * reschedule is sent an IPI (kick_mask). Guest timers are timed by CPU 0
 * (SCHED_TIMER_CPU), accounting too.
 */
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/power.h>
#include <xenolith/sched.h>
#include <xenolith/sched_credit.h>

#define NR_PORTS_2L 4096       /* 2-level ABI: d->max_evtchns on x86_64 */
#define SECONDS(s)  ((uint64_t)(s) * 1000000000ULL)

static int vcpu_runnable(const struct vcpu *v)
{
    return domain_vcpu_may_run(v) && !v->blocked; /* paused domains never run */
}

/* ---- the credit scheduler's state ---- */
static struct csched credit;
static int credit_ready;
static unsigned int sched_cpus;            /* CPUs with a run queue */
static struct csched_dom sdom[MAX_DOMAINS];
static struct csched_vcpu svcpu[MAX_DOMAINS][MAX_VCPUS];
static uint32_t sdom_live;                 /* bit i: sdom[i] is in the logic */
_Static_assert(MAX_DOMAINS <= 32, "sdom_live is a 32-bit mask");
static uint8_t sdom_nr_vcpus[MAX_DOMAINS]; /* svcpu[i][0..n) are */
static uint16_t sdom_xen_cap[MAX_DOMAINS]; /* the cap as last put (getinfo) */
static uint64_t next_acct;                 /* CPU 0's accounting deadline */
static unsigned int nr_awake;              /* vcpus awake at the last sync */

/* Per CPU: what the hv side of the scheduler knows. */
struct sched_pcpu {
    struct vcpu *last;          /* the vcpu this CPU last ran (runstate running) */
    struct csched_vcpu *displaced; /* to csched_migrate on the next pass */
    uint64_t slice_end;         /* of the running vcpu; 0 while idle */
    uint64_t next_tick;
    int resched;                /* call csched_do_schedule on the next pass */
    int deciding;               /* in pick(), before its resched test: a kick
                                 * of this CPU is taken by this very pass */
};
static struct sched_pcpu spc[CSCHED_MAX_CPUS];

void sched_init(unsigned int nr_cpus)
{
    if (nr_cpus < 1)
        nr_cpus = 1;
    if (nr_cpus > CSCHED_MAX_CPUS)
        nr_cpus = CSCHED_MAX_CPUS;
    /* No run queue locks: every pass runs under the big lock. */
    BUG_ON(csched_init(&credit, nr_cpus, NULL) != 0);
    BUG_ON(csched_set_online(&credit, ((csched_cpumask_t)2 << (nr_cpus - 1)) - 1) != 0);
    sched_cpus = nr_cpus;
    sdom_live = 0;
    memset(sdom_nr_vcpus, 0, sizeof(sdom_nr_vcpus));
    memset(sdom_xen_cap, 0, sizeof(sdom_xen_cap));
    memset(spc, 0, sizeof(spc));
    next_acct = 0;
    nr_awake = 0;
    credit_ready = 1;
}

static void ensure_ready(void)
{
    if (!credit_ready)
        sched_init(1);
}

/* Ask CPUs to reschedule (their next pass calls csched_do_schedule):
 * the others get an IPI that brings them into the hv. This CPU, when its
 * pass has yet to test resched, needs no further pass: that one decides. */
static void kick_mask(csched_cpumask_t m)
{
    unsigned int self = arch_cpu_id();
    for (unsigned int c = 0; m && c < sched_cpus; c++, m >>= 1) {
        if (!(m & 1))
            continue;
        spc[c].resched = 1;
        if (c == self && spc[c].deciding)
            continue;
        sched_work_pending |= 1ULL << c;
        if (c != self)
            arch_kick_cpu(c);
    }
}

static void kick_cpu(int cpu)
{
    if (cpu >= 0)
        kick_mask((csched_cpumask_t)1 << cpu);
}

static struct vcpu *sv_vcpu(const struct csched_vcpu *sv)
{
    return sv ? (struct vcpu *)sv->priv : NULL;
}

/* The domain's slot and vcpus, in the logic (added the first time). */
static void sync_domain(struct domain *d)
{
    unsigned int id = d->domid;
    if (!(sdom_live >> id & 1)) {
        csched_dom_init(&credit, &sdom[id], (uint16_t)id, d);
        sdom_live |= 1u << id;
        sdom_nr_vcpus[id] = 0;
        sdom_xen_cap[id] = 0;
    }
    while (sdom_nr_vcpus[id] < d->max_vcpus) {
        unsigned int j = sdom_nr_vcpus[id];
        BUG_ON(csched_add_vcpu(&credit, &sdom[id], &svcpu[id][j], j, &d->vcpus[j]) != 0);
        sdom_nr_vcpus[id]++;
    }
}

/* Deschedule what cpu runs and take the decision for it (also from
 * sched_domain_destroy, to get a dying vcpu off its CPU). */
static void do_schedule(unsigned int cpu, uint64_t now)
{
    struct sched_pcpu *pc = &spc[cpu];
    struct csched_decision dec = csched_do_schedule(&credit, cpu, now);
    pc->resched = 0;
    pc->slice_end = dec.next ? now + dec.slice_ns : 0;
    if (dec.next && pc->next_tick <= now)
        pc->next_tick = now + credit.tick_ns; /* ticking again after idling */
    if (dec.kick)
        kick_mask(dec.kick & ~((csched_cpumask_t)1 << cpu));
    if (dec.displaced) /* its context is saved once this pass switched away */
        pc->displaced = dec.displaced;
}

static void forget_domain(unsigned int id);

/* The hard affinity the toolstack set (domctl.c writes v->affinity),
 * limited to the CPUs that run guests; one with none of them keeps the
 * last it had (Xen refuses such a mask; domctl.c does too). */
static void sync_affinity(struct csched_vcpu *sv, const struct vcpu *v)
{
    csched_cpumask_t m = (csched_cpumask_t)v->affinity & credit.online;
    csched_cpumask_t kick = 0;
    if (!m || m == sv->affinity)
        return;
    if (csched_set_affinity(&credit, sv, m, &kick) == 0)
        kick_mask(kick);
}

/* Bring the logic up to date for d (not DOM_FREE): its vcpus known, every
 * change of vcpu_runnable() turned into csched_wake / csched_sleep.
 * Returns how many of its vcpus are awake. */
static unsigned int sync_vcpus(struct domain *d)
{
    unsigned int id = d->domid, awake = 0;
    if ((sdom_live >> id & 1) && sdom_nr_vcpus[id] > d->max_vcpus)
        forget_domain(id); /* an earlier domain of this slot, with more vcpus */
    if (!(sdom_live >> id & 1) || sdom_nr_vcpus[id] < d->max_vcpus)
        sync_domain(d);
    for (unsigned int j = 0; j < sdom_nr_vcpus[id]; j++) {
        struct csched_vcpu *sv = &svcpu[id][j];
        struct vcpu *v = &d->vcpus[j];
        if (((csched_cpumask_t)v->affinity & credit.online) != sv->affinity)
            sync_affinity(sv, v);
        int run = vcpu_runnable(v);
        if (run && !sv->awake)
            kick_cpu(csched_wake(&credit, sv));
        else if (!run && sv->awake)
            kick_cpu(csched_sleep(&credit, sv));
        awake += run;
    }
    return awake;
}

/* Take domain slot id out of the logic (its vcpus off every CPU). */
static void forget_domain(unsigned int id)
{
    struct domain *d = &domains[id];
    uint64_t now = xl_now();
    for (unsigned int j = 0; j < sdom_nr_vcpus[id]; j++) {
        struct csched_vcpu *sv = &svcpu[id][j];
        csched_sleep(&credit, sv);
        if (sv->running) /* on one CPU: this one, outside the guest */
            do_schedule(sv->cpu, now);
        for (unsigned int c = 0; c < sched_cpus; c++)
            if (spc[c].displaced == sv)
                spc[c].displaced = NULL;
        BUG_ON(csched_remove_vcpu(&credit, sv) != 0);
    }
    BUG_ON(csched_dom_destroy(&credit, &sdom[id]) != 0);
    sdom_live &= ~(1u << id);
    sdom_nr_vcpus[id] = 0;
    for (unsigned int c = 0; c < sched_cpus; c++)
        if (spc[c].last && spc[c].last->domain == d)
            spc[c].last = NULL;
    sched_raise_work();
}

void sched_domain_destroy(struct domain *d)
{
    unsigned int id = (unsigned int)(d - domains);
    if (id < MAX_DOMAINS && credit_ready && (sdom_live >> id & 1))
        forget_domain(id);
}

/* ---- XEN_DOMCTL_scheduler_op / XEN_SYSCTL_scheduler_op (credit) ---- */

int sched_credit_dom_get(struct domain *d, uint16_t *weight, uint16_t *cap)
{
    ensure_ready();
    sync_domain(d);
    *weight = sdom[d->domid].weight;
    *cap = sdom_xen_cap[d->domid];
    return 0;
}

/* Xen 4.17's csched_dom_cntl: weight 0 and cap 0xffff leave the value
 * as it is; anything else is taken (the ranges are libxl's business). A
 * cap above what the vcpus can use (100 per vcpu) limits nothing: the
 * logic gets 100 x vcpus, getinfo shows what was put. */
int sched_credit_dom_put(struct domain *d, uint16_t weight, uint16_t cap)
{
    ensure_ready();
    sync_domain(d);
    struct csched_dom *sd = &sdom[d->domid];
    unsigned int w = weight ? weight : sd->weight;
    unsigned int c = cap == 0xffff ? sdom_xen_cap[d->domid] : cap;
    unsigned int lim = 100u * sd->nr_vcpus;
    csched_cpumask_t kick = 0;
    int rc = csched_set_params(&credit, sd, w, c > lim ? lim : c, &kick);
    if (rc)
        return rc;
    sdom_xen_cap[d->domid] = (uint16_t)c;
    kick_mask(kick);
    return 0;
}

void sched_credit_pool_get(unsigned int *tslice_ms, unsigned int *ratelimit_us)
{
    ensure_ready();
    *tslice_ms = (unsigned int)(credit.tslice_ns / 1000000);
    *ratelimit_us = (unsigned int)(credit.ratelimit_ns / 1000);
}

int sched_credit_pool_put(unsigned int tslice_ms, unsigned int ratelimit_us)
{
    ensure_ready();
    int rc = csched_set_tslice(&credit, tslice_ms, ratelimit_us);
    if (!rc)
        kick_mask(credit.online);
    return rc;
}

uint64_t sched_vcpu_runtime_ns(const struct vcpu *v)
{
    unsigned int id = v->domain->domid;
    if (!credit_ready || !(sdom_live >> id & 1) || v->id >= sdom_nr_vcpus[id])
        return 0;
    return csched_vcpu_runtime_ns(&credit, &svcpu[id][v->id], xl_now());
}

/* ---- the pass ---- */

static void consider(uint64_t *when, uint64_t t)
{
    if (t && (!*when || t < *when))
        *when = t;
}

/* Boot-time domUs have no toolstack to reap them: destroy them as soon
 * as they are shut down (dom0's end is handled by sched_idle_or_halt),
 * once none of their vcpus runs on another CPU (those are kicked; the
 * pass they make when they stop comes back here). */
static int reap_busy; /* a destroy needs more steps: an idle CPU comes back soon */

static void reap_auto_destroy(struct domain *d, int cpu_idle)
{
    if (d != &domains[0] && d->state == DOM_SHUTDOWN && d->auto_destroy &&
        !domain_running_elsewhere(d)) {
        /* Bounded steps (domain_destroy_step): a CPU with nothing to run
         * does them for about 2 ms per pass, one that has a vcpu does one
         * step, so the destroy never starves a live domain. */
        uint64_t t0 = xl_now();
        int more;
        do {
            mm_preempt_begin();
            more = domain_destroy_step(d) != 0;
            mm_preempt_end();
        } while (more && cpu_idle && xl_now() - t0 < 2000000ULL);
        reap_busy |= more;
    }
}

/* The pass's walk over the domain slots in use (or still in the logic),
 * in two rounds as the pass's steps go: first each shut-down boot-time
 * domU is reaped a step and each domain's expired timers run (on the
 * timer CPU, deadline non-NULL, their earliest is kept, leaving out the
 * periodic timer of except: the vcpu this CPU ran, whether it still runs
 * is decided after this); then every domain is synced into the logic,
 * seeing whatever the first round woke or shut down in any domain (a
 * watchdog's VIRQ_DOM_EXC wakes dom0). */
static void walk_domains(uint64_t now, uint64_t *deadline, const struct vcpu *except,
                         int cpu_idle)
{
    unsigned int awake = 0;
    uint32_t slots = sdom_live;
#pragma GCC unroll 32
    for (unsigned int i = 0; i < MAX_DOMAINS; i++)
        slots |= (uint32_t)(domains[i].state != DOM_FREE) << i;
    reap_busy = 0;
    for (uint32_t m = slots; m; m &= m - 1) {
        struct domain *d = &domains[__builtin_ctz(m)];
        if (d->state != DOM_FREE && d->state != DOM_RUNNING)
            reap_auto_destroy(d, cpu_idle);
        if (d->state == DOM_RUNNING) {
            uint64_t t = timers_run_domain(d, now, except);
            if (deadline)
                consider(deadline, t);
        }
    }
    uint64_t refresh = timers_refresh(now);
    if (deadline)
        consider(deadline, refresh);
    for (uint32_t m = slots; m; m &= m - 1) {
        unsigned int i = (unsigned int)__builtin_ctz(m);
        /* a dying domain (sched_domain_destroy took it out) is not taken
         * back in: its slot may be a new domain's before the next walk */
        if (domains[i].state != DOM_FREE && !domains[i].destroy_stage)
            awake += sync_vcpus(&domains[i]);
        else if (sdom_live >> i & 1) /* wiped without sched_domain_destroy */
            forget_domain(i);
    }
    nr_awake = awake;
}

static int leaving_state(const struct vcpu *v)
{
    return v->domain->state != DOM_RUNNING || !v->online ? RUNSTATE_offline
           : v->blocked                                  ? RUNSTATE_blocked
                                                         : RUNSTATE_runnable;
}

/* Runstates when the CPU goes from running prev to next (either NULL). */
static void switch_to(struct vcpu *prev, struct vcpu *next, uint64_t now)
{
    if (prev && prev != next && prev->ev.rs_state == RUNSTATE_running)
        vcpu_runstate_change(prev, leaving_state(prev), now);
    if (next && next->ev.rs_state != RUNSTATE_running) {
        vcpu_runstate_change(next, RUNSTATE_running, now);
        vcpu_update_time(next);
        timer_vcpu_scheduled_in(next, now);
    }
}

/* Arm the timer for the nearest deadline: guest timers (CPU 0 times
 * them for every CPU and kicks whoever runs the vcpu they wake: when,
 * from walk_domains, lacks only next's periodic timer); the slice end
 * and the tick while a vcpu runs; accounting (CPU 0) while any vcpu is
 * awake (a capped one waits parked for it). Another CPU with nothing to
 * time ticks once a second so the watchdog (smp.c) looks. */
static void arm_next_deadline(unsigned int cpu, const struct vcpu *next, uint64_t when,
                              uint64_t now)
{
    int timer_cpu = cpu == SCHED_TIMER_CPU;
    if (next) {
        if (timer_cpu && next->ev.periodic_period)
            consider(&when, next->ev.periodic_next);
        consider(&when, spc[cpu].slice_end);
        consider(&when, spc[cpu].next_tick);
    }
    if (timer_cpu && nr_awake)
        consider(&when, next_acct);
    /* A vcpu displaced by a new hard affinity is handed over by this
     * CPU's next pass, once its context is saved (the switch or the
     * idle loop after this): make that pass come at once, not at the
     * next tick or, going idle, a second later. */
    if (spc[cpu].displaced)
        consider(&when, now);
    if (reap_busy && !next) /* idle: the next destroy step, 1 ms after the last */
        consider(&when, xl_now() + 1000000ULL);
    if (!when && !timer_cpu)
        when = now + SECONDS(1);
    arch_timer_arm(when);
}

static struct vcpu *pick(unsigned int cpu, uint64_t now, uint64_t *deadline)
{
    struct sched_pcpu *pc = &spc[cpu];
    sched_work_pending &= ~(1ULL << cpu); /* what is raised from here on gets another pass */
    ensure_ready();
    pc->deciding = 1;
    walk_domains(now, deadline, pc->last, !credit.pcpu[cpu].curr);
    if (pc->displaced) { /* switched away on the last pass: its context is saved */
        kick_cpu(csched_migrate(&credit, pc->displaced));
        pc->displaced = NULL;
    }
    struct csched_vcpu *cur = credit.pcpu[cpu].curr;
    struct vcpu *curv = sv_vcpu(cur);
    if (curv && curv->ev.yielded) {
        kick_cpu(csched_yield(&credit, cur));
        curv->ev.yielded = 0;
    }
    if (cur && now >= pc->next_tick) {
        if (csched_tick(&credit, cpu, now))
            pc->resched = 1;
        pc->next_tick = now + credit.tick_ns;
    } else if (!cur && credit.online != ((csched_cpumask_t)1 << cpu) && now >= pc->next_tick) {
        if (csched_tick(&credit, cpu, now)) /* idle: something to steal? */
            pc->resched = 1;
        pc->next_tick = now + credit.tick_ns;
    }
    if (cpu == SCHED_TIMER_CPU && now >= next_acct) {
        /* Periodic while anything is awake; after an all-asleep stretch
         * the first pass settles the period that ended. */
        if (next_acct)
            kick_mask(csched_acct(&credit, now));
        next_acct = now + credit.tslice_ns;
    }
    if (!cur || now >= pc->slice_end)
        pc->resched = 1;
    pc->deciding = 0;
    if (pc->resched)
        do_schedule(cpu, now);
    struct vcpu *next = sv_vcpu(credit.pcpu[cpu].curr);
    struct vcpu *prev = pc->last;
    if (prev && prev->domain->state == DOM_FREE)
        prev = NULL;
    switch_to(prev, next, now);
    if (prev && prev != next)
        prev->running = 0; /* another CPU may pick it from now on */
    if (next) {
        next->ev.slice_end = pc->slice_end;
        next->ev.yielded = 0;
        next->running = 1;
        next->processor = cpu;
    }
    pc->last = next;
    return next;
}

struct vcpu *sched_pick_next(void)
{
    unsigned int cpu = arch_cpu_id();
    uint64_t now = xl_now(), when = 0;
    struct vcpu *next = pick(cpu, now, cpu == SCHED_TIMER_CPU ? &when : NULL);
    arm_next_deadline(cpu, next, when, now);
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
        /* Every domain stops first: none runs again, and those with a
         * vcpu on another CPU are kicked off it; this CPU looks again in
         * a millisecond (nothing else would wake it) until none runs. */
        int busy = 0;
        for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
            if (domains[i].state == DOM_FREE)
                continue;
            if (domains[i].state == DOM_RUNNING)
                domains[i].state = DOM_SHUTDOWN;
            busy += domain_running_elsewhere(&domains[i]);
        }
        if (busy) {
            arch_timer_arm(xl_now() + 1000000ULL);
            arch_idle_wait();
            return;
        }
        /* Every domain goes, dom0 last, in bounded steps: after each this
         * CPU leaves the hv for a millisecond (the watchdog bounds a stay). */
        static uint64_t free_before;
        static int started;
        if (!started) {
            free_before = mm_free_count();
            started = 1;
        }
        for (unsigned int i = 1; i <= MAX_DOMAINS; i++) {
            struct domain *d = &domains[i % MAX_DOMAINS];
            if (d->state == DOM_FREE)
                continue;
            mm_preempt_begin();
            int more = domain_destroy_step(d);
            mm_preempt_end();
            if (more) {
                arch_timer_arm(xl_now() + 1000000ULL);
                arch_idle_wait();
                return;
            }
        }
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
    evtchn_poll_begin(v, p.nr_ports == 1 ? (int)port : -1);
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
    case SCHEDOP_yield: /* csched_yield on the pass this forces */
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
