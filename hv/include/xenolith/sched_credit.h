/*
 * sched_credit.h - the credit scheduler's pure logic (Xen's "credit"
 * scheduler semantics, written for N physical CPUs and M vCPUs).
 *
 * Owns: per-domain weight and cap, per-vCPU credit, priority, hard
 * affinity and runtime, the per-CPU run queues, accounting, load
 * balancing and the choice of a CPU for a waking vCPU.
 * Does not own: contexts, timers, IPIs, locks, the hv's struct vcpu. The
 * caller embeds a struct csched_dom in each domain and a struct
 * csched_vcpu in each vcpu (priv points back), drives the entry points
 * below from its timer and schedule paths, and acts on what they return
 * (the vCPU to run and for how long, the CPUs to kick). No inline
 * assembly, no hardware access, no allocation: the host unit test
 * (tests/unit/test_sched_credit.c) runs it on simulated time.
 *
 * Time is in nanoseconds of the caller's monotonic clock; credit is kept
 * in nanoseconds of CPU time (Xen counts 10 credits per ms: divide by
 * 100000 to show Xen's numbers).
 *
 * The algorithm (docs/scheduler.md):
 *  - tslice (default 30 ms): the longest a vCPU runs before the queue is
 *    looked at again; tick = tslice / 3 (10 ms), accounting period =
 *    tslice (30 ms), ratelimit (default 1 ms): a vCPU that runs is not
 *    preempted by a reschedule before it has run that long.
 *  - Accounting (csched_acct, every period): nr_online_cpus * the time
 *    since the last accounting (normally a period) of credit is shared among active domains in proportion to weight *
 *    active vCPUs (as Xen does), no domain getting more than its active
 *    vCPUs can use or its cap allows; what such a domain cannot take goes
 *    to the others by weight. A domain's share is split evenly among its
 *    active vCPUs. A vCPU is active if it is awake or ran in the period.
 *    Hard affinity limits it too: the vCPUs allowed only on a set of CPUs
 *    get at most that many CPUs' period together, shared among them by
 *    weight (weights hold among vCPUs pinned to one CPU of many).
 *    Credit is kept within [-3 periods, +period]; what goes over the ceiling
 *    (a mostly idle vCPU's unused share) is added to the next period's
 *    credit, so the busy vCPUs still share the CPU by weight.
 *  - Priority: BOOST > UNDER (credit >= 0) > OVER (credit < 0) > IDLE. A
 *    waking UNDER vCPU is boosted; it loses the boost at the first tick
 *    that finds it running. Run queues are ordered by priority, FIFO
 *    within one, but OVER vCPUs by credit (the least in debt first).
 *  - Cap (percent of one CPU, 0 = none): the domain's vCPUs together may
 *    run cap% of a period per period. When the domain's budget is spent
 *    its vCPUs are parked (taken off the queues, not run) until the
 *    accounting that refills it; an overrun is carried into the next
 *    period. A capped vCPU's slice ends when the budget would run out.
 *  - Load balancing: a CPU whose best candidate is OVER or that would go
 *    idle steals the best waiting vCPU of a higher priority from another
 *    CPU's queue whose affinity allows it (the peer's lock is only tried).
 *  - Waking: the vCPU goes to an idle CPU of its affinity (its last CPU
 *    first), else its last CPU if allowed, else the allowed CPU running
 *    the lowest priority; that CPU is kicked if it idles or runs a lower
 *    priority; an idle CPU that could run a queued vCPU is kicked too.
 *
 * Locking rules for an SMP caller. Two kinds of lock, taken by the
 * caller around the entry points, plus callbacks (struct csched_ops)
 * through which the logic takes run queue locks of other CPUs:
 *  - the global scheduler lock ("G"): parameters, accounting, vCPU
 *    life cycle and wake/sleep. Held by the caller for csched_set_tslice,
 *    csched_dom_init/destroy, csched_set_params, csched_add_vcpu,
 *    csched_remove_vcpu, csched_set_affinity, csched_wake, csched_sleep,
 *    csched_yield, csched_migrate, csched_acct. These take the run
 *    queue lock of a CPU through ops->lock/unlock while they touch its
 *    queue, one at a time (so the order is always G -> run queue).
 *  - the run queue lock of CPU c ("RQ(c)"): held by the caller (and not
 *    G) for csched_tick(c) and csched_do_schedule(c). do_schedule may
 *    steal from a peer queue only through ops->trylock(peer), never
 *    waits for a second run queue lock, and never takes G.
 *  - the domain's cap budget and runtime are changed from several CPUs'
 *    run queue paths at once: the logic uses atomic builtins for them.
 *    Reads of another CPU's state for hints (is it idle, how many wait)
 *    are relaxed atomic loads; a stale hint costs a kick, not a bug.
 *  - A vCPU a CPU was running is only handed to another CPU
 *    (csched_migrate) after its context has been saved.
 * ops may be NULL (single CPU, or the unit test): no locking at all.
 */
#ifndef XENOLITH_SCHED_CREDIT_H
#define XENOLITH_SCHED_CREDIT_H

#include <stdint.h>

#define CSCHED_MAX_CPUS         64
#define CSCHED_DEFAULT_WEIGHT   256
#define CSCHED_DEFAULT_TSLICE_MS 30
#define CSCHED_DEFAULT_RATELIMIT_US 1000
#define CSCHED_TICKS_PER_TSLICE 3

/* Priorities, higher runs first (Xen's CSCHED_PRI_*). */
#define CSCHED_PRI_BOOST  0
#define CSCHED_PRI_UNDER  (-1)
#define CSCHED_PRI_OVER   (-2)
#define CSCHED_PRI_IDLE   (-64)

typedef uint64_t csched_cpumask_t;  /* bit c = physical CPU c */

struct csched_list {
    struct csched_list *next, *prev;
};

struct csched_ops {
    void (*lock)(void *arg, unsigned int cpu);
    int (*trylock)(void *arg, unsigned int cpu); /* 1 = got it */
    void (*unlock)(void *arg, unsigned int cpu);
    void *arg;
};

struct csched_dom {
    struct csched_list elem;     /* on csched.doms */
    struct csched_list vcpus;    /* its csched_vcpus (dom_elem) */
    uint16_t domid;
    uint16_t weight;             /* 1..65535 */
    uint16_t cap;                /* percent of one CPU, 0 = none */
    unsigned int nr_vcpus;
    int64_t cap_budget_ns;       /* atomic: what it may still run this period */
    uint64_t runtime_ns;         /* atomic: CPU time of all its vCPUs */
    void *priv;
    /* csched_acct's scratch (under G) */
    unsigned int acct_active;
};

struct csched_vcpu {
    struct csched_list runq_elem; /* on pcpu[cpu].runq while queued */
    struct csched_list dom_elem;
    struct csched_dom *dom;
    unsigned int vcpu_id;
    unsigned int cpu;            /* queue it is on / CPU it runs or last ran on */
    csched_cpumask_t affinity;   /* hard affinity */
    int pri;                     /* CSCHED_PRI_* */
    int64_t credit_ns;
    uint64_t start_ns;           /* running: when it was last charged */
    uint64_t sched_in_ns;        /* running: when it was switched in */
    uint64_t runtime_ns;         /* total CPU time */
    uint8_t awake;               /* the hv wants it to run (not blocked/paused) */
    uint8_t on_runq;
    uint8_t running;             /* it is pcpu[cpu].curr */
    uint8_t parked;              /* awake, held back by its domain's cap */
    uint8_t yielded;
    uint8_t ran_in_period;       /* was charged since the last accounting */
    uint8_t acct_active;         /* csched_acct's scratch (under G): */
    uint8_t acct_done;           /*   its share is settled */
    uint64_t acct_share;         /*   its credit for the period */
    void *priv;
};

struct csched_pcpu {
    struct csched_list runq;     /* waiting vCPUs, by priority */
    struct csched_vcpu *curr;    /* NULL: idle */
    /* Hints for other CPUs (relaxed atomic reads), kept under RQ(cpu). */
    unsigned int nr_waiting;     /* runq length */
    int head_pri;                /* priority of the first waiting, else IDLE */
    int curr_pri;                /* priority of curr, IDLE when idle */
    uint8_t idling;              /* do_schedule chose the idle loop at idle_since */
    uint64_t idle_ns, idle_since;
};

/* csched_acct's scratch: a set of vCPUs that together may get at most
 * cap_ns of credit (a capped domain's; those whose hard affinity lies
 * within mask; all). */
#define CSCHED_ACCT_GROUPS 32
/* How far below zero a vCPU's credit may go, in periods. */
#define CSCHED_DEBT_PERIODS 3
/* The longest time since the last accounting that csched_acct shares
 * out as credit (a longer gap counts as one period). */
#define CSCHED_ACCT_MAX_SPAN_NS 1000000000ULL
struct csched_acct_group {
    struct csched_dom *dom;      /* its vCPUs, or NULL: */
    csched_cpumask_t mask;       /* vCPUs allowed only on these CPUs (0: all) */
    uint64_t cap_ns;
};

struct csched {
    unsigned int nr_cpus;
    csched_cpumask_t online;
    uint64_t tslice_ns, tick_ns, ratelimit_ns;
    uint64_t acct_carry;         /* credit over vCPUs' ceiling, shared next period */
    uint64_t last_acct_ns;       /* when csched_acct last ran (0: never) */
    struct csched_acct_group acct_group[CSCHED_ACCT_GROUPS];
    struct csched_list doms;
    struct csched_ops ops;
    int have_ops;
    struct csched_pcpu pcpu[CSCHED_MAX_CPUS];
};

/* What csched_do_schedule decided for a CPU. */
struct csched_decision {
    struct csched_vcpu *next;      /* NULL: run the idle loop */
    uint64_t slice_ns;             /* reschedule after this long; 0 when idle */
    csched_cpumask_t kick;         /* other CPUs to send a reschedule IPI */
    /* The vCPU this CPU ran, runnable but no longer allowed here
     * (affinity changed): once its context is saved, call csched_migrate. */
    struct csched_vcpu *displaced;
};

/* nr_cpus 1..CSCHED_MAX_CPUS, all online; -EINVAL otherwise. */
int csched_init(struct csched *s, unsigned int nr_cpus, const struct csched_ops *ops);
/* The CPUs that run vCPUs (a non-empty subset of 0..nr_cpus-1): the
 * others keep their (empty) queues and get no credit. Only while no vCPU
 * exists (-EBUSY), -EINVAL for a bad mask. sched.c keeps guests on CPU 0
 * until the SMP entry path lands. */
int csched_set_online(struct csched *s, csched_cpumask_t mask);
/* XEN_SYSCTL_SCHEDOP_putinfo: tslice 1..1000 ms, ratelimit 0 (off) or
 * 100..500000 us and not longer than the slice; -EINVAL otherwise. */
int csched_set_tslice(struct csched *s, unsigned int tslice_ms, unsigned int ratelimit_us);
/* Per-domain state with weight 256, no cap. destroy: -EBUSY if it still
 * has vCPUs. */
void csched_dom_init(struct csched *s, struct csched_dom *sd, uint16_t domid, void *priv);
int csched_dom_destroy(struct csched *s, struct csched_dom *sd);
/* weight 1..65535, cap 0..100 * nr_vcpus (libxl's ranges); -EINVAL and
 * nothing changed otherwise. The domctl putinfo adapter passes the
 * current weight for Xen's "0 = leave as is". A new cap starts with a
 * full period's budget; lifting it unparks (kick: CPUs to kick, may be
 * NULL). */
int csched_set_params(struct csched *s, struct csched_dom *sd, unsigned int weight,
                      unsigned int cap, csched_cpumask_t *kick);
/* A new vCPU: asleep, affinity all online CPUs, credit 0, UNDER. */
int csched_add_vcpu(struct csched *s, struct csched_dom *sd, struct csched_vcpu *sv,
                    unsigned int vcpu_id, void *priv);
/* -EBUSY while it is a CPU's curr (csched_sleep it and let that CPU
 * reschedule first); afterwards nothing refers to sv. */
int csched_remove_vcpu(struct csched *s, struct csched_vcpu *sv);
/* Hard affinity; -EINVAL if no online CPU is in mask. Returns the CPUs
 * to kick (via *kick) when it must move. */
int csched_set_affinity(struct csched *s, struct csched_vcpu *sv, csched_cpumask_t mask,
                        csched_cpumask_t *kick);
/* The vCPU became runnable: queue it (or park it). Returns the CPU to
 * kick, or -1. */
int csched_wake(struct csched *s, struct csched_vcpu *sv);
/* The vCPU blocked or was paused. Returns the CPU that runs it and must
 * reschedule, or -1. */
int csched_sleep(struct csched *s, struct csched_vcpu *sv);
/* SCHEDOP_yield: on its next reschedule it goes behind the first vCPU
 * of a lower priority. Returns the CPU to reschedule, or -1. */
int csched_yield(struct csched *s, struct csched_vcpu *sv);
/* Queue a displaced vCPU on an allowed CPU; returns the CPU to kick or -1. */
int csched_migrate(struct csched *s, struct csched_vcpu *sv);
/* Every tick_ns on each CPU: charge the running vCPU, end its boost.
 * Returns 1 if the CPU should call csched_do_schedule now. */
int csched_tick(struct csched *s, unsigned int cpu, uint64_t now);
/* Every tslice_ns on one CPU: share out credit, refill cap budgets and
 * unpark. Returns the CPUs to kick. */
csched_cpumask_t csched_acct(struct csched *s, uint64_t now);
/* Charge the vCPU that ran, requeue it, pick what runs next on cpu. */
struct csched_decision csched_do_schedule(struct csched *s, unsigned int cpu, uint64_t now);

/* Queries (the caller's lock for the object). */
static inline int csched_cpu_is_idle(const struct csched *s, unsigned int cpu)
{
    return !s->pcpu[cpu].curr;
}
uint64_t csched_cpu_idle_ns(const struct csched *s, unsigned int cpu, uint64_t now);
/* Runtime including the part of a running slice not yet charged. */
uint64_t csched_vcpu_runtime_ns(const struct csched *s, const struct csched_vcpu *sv,
                                uint64_t now);
/* 0 if every queue, flag and count agrees; else a negative number
 * naming the first broken rule (see the function). Needs all locks. */
int csched_check(const struct csched *s);

#endif
