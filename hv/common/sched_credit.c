/*
 * sched_credit.c - the credit scheduler's pure logic: weights, caps,
 * credit accounting, priorities, per-CPU run queues, wake-up boost, load
 * balancing and CPU choice for N CPUs and M vCPUs. Semantics follow Xen's
 * credit scheduler (docs/scheduler.md); the code is Xenolith's own.
 * Owns: everything in struct csched and the csched_* parts embedded in
 * domains and vcpus (sched_credit.h, which also states the locking rules).
 * Must never: queue a vCPU on a CPU outside its hard affinity, leave a
 * vCPU on two queues (or on a queue while running, parked or asleep),
 * run a capped domain past its budget by more than one slice's rounding,
 * let an idle CPU stay idle while it could steal, wait for a second run
 * queue lock while holding one. Pure C: no inline assembly, no hardware,
 * no allocation; the host unit test links it alone.
 */
#include <stddef.h>
#include <xenolith/errno.h>
#include <xenolith/sched_credit.h>

#define BIT(c) ((csched_cpumask_t)1 << (c))
#define ENTRY(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define RQ_VCPU(l) ENTRY(l, struct csched_vcpu, runq_elem)
#define DOM_VCPU(l) ENTRY(l, struct csched_vcpu, dom_elem)
#define DOM(l) ENTRY(l, struct csched_dom, elem)
#define FOR_LIST(pos, head) for (struct csched_list *pos = (head)->next; pos != (head); pos = pos->next)

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* ---- lists ---- */
static void list_init(struct csched_list *l)
{
    l->next = l->prev = l;
}

static void list_insert_before(struct csched_list *e, struct csched_list *pos)
{
    e->next = pos;
    e->prev = pos->prev;
    pos->prev->next = e;
    pos->prev = e;
}

static void list_del(struct csched_list *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->next = e->prev = NULL;
}

static unsigned int mask_weight(csched_cpumask_t m)
{
    unsigned int n = 0;
    for (; m; m &= m - 1) /* no __builtin_popcount: it may call libgcc */
        n++;
    return n;
}

/* ---- locks (struct csched_ops; none without ops) ---- */
static void rq_lock(struct csched *s, unsigned int cpu)
{
    if (s->have_ops)
        s->ops.lock(s->ops.arg, cpu);
}

static int rq_trylock(struct csched *s, unsigned int cpu)
{
    return s->have_ops ? s->ops.trylock(s->ops.arg, cpu) : 1;
}

static void rq_unlock(struct csched *s, unsigned int cpu)
{
    if (s->have_ops)
        s->ops.unlock(s->ops.arg, cpu);
}

/* Lock the run queue of the CPU sv belongs to (it may move until then:
 * only ever under that CPU's lock). */
static unsigned int lock_vcpu(struct csched *s, struct csched_vcpu *sv)
{
    for (;;) {
        unsigned int c = LOAD(&sv->cpu);
        rq_lock(s, c);
        if (LOAD(&sv->cpu) == c)
            return c;
        rq_unlock(s, c);
    }
}

/* ---- run queues (caller holds RQ(cpu)) ---- */
static struct csched_vcpu *runq_head(struct csched_pcpu *pc)
{
    return pc->runq.next == &pc->runq ? NULL : RQ_VCPU(pc->runq.next);
}

static void runq_hints(struct csched_pcpu *pc)
{
    struct csched_vcpu *h = runq_head(pc);
    STORE(&pc->head_pri, h ? h->pri : CSCHED_PRI_IDLE);
}

/* By priority, FIFO within one, except that OVER vCPUs are kept by
 * credit, the least in debt first; a yielding vCPU goes behind the first
 * vCPU of a lower priority (Xen's yield).
 * OVER by credit (Xen keeps FIFO): when the vCPUs sharing a CPU are all
 * OVER at times - under TCG, with late ticks and accounting, the busy
 * ones were OVER most of the time - FIFO shares the CPU round robin,
 * 1:1 whatever their weights, and the most indebted vCPU gets the most
 * beyond its credit. Least debt first makes the debts even out, so what
 * each runs follows what it earns: its weight. */
static void runq_insert(struct csched *s, unsigned int cpu, struct csched_vcpu *sv, int yield)
{
    struct csched_pcpu *pc = &s->pcpu[cpu];
    struct csched_list *pos = pc->runq.next;
    for (; pos != &pc->runq; pos = pos->next) {
        const struct csched_vcpu *q = RQ_VCPU(pos);
        if (q->pri < sv->pri) {
            if (yield)
                pos = pos->next;
            break;
        }
        if (!yield && sv->pri == CSCHED_PRI_OVER && q->pri == CSCHED_PRI_OVER &&
            q->credit_ns < sv->credit_ns)
            break;
    }
    list_insert_before(&sv->runq_elem, pos);
    sv->on_runq = 1;
    STORE(&sv->cpu, cpu);
    STORE(&pc->nr_waiting, pc->nr_waiting + 1);
    runq_hints(pc);
}

static void runq_remove(struct csched *s, struct csched_vcpu *sv)
{
    struct csched_pcpu *pc = &s->pcpu[sv->cpu];
    list_del(&sv->runq_elem);
    sv->on_runq = 0;
    STORE(&pc->nr_waiting, pc->nr_waiting - 1);
    runq_hints(pc);
}

/* Change a vCPU's priority under RQ(sv->cpu), keeping its queue sorted
 * and the CPU's hint right. */
static void set_pri(struct csched *s, struct csched_vcpu *sv, int pri)
{
    if (sv->pri == pri)
        return;
    sv->pri = pri;
    if (sv->on_runq) {
        unsigned int cpu = sv->cpu;
        runq_remove(s, sv);
        runq_insert(s, cpu, sv, 0);
    } else if (sv->running) {
        STORE(&s->pcpu[sv->cpu].curr_pri, pri);
    }
}

/* ---- credit and cap ---- */
static uint64_t cap_amount(const struct csched *s, unsigned int cap)
{
    return s->tslice_ns * cap / 100;
}

static int capped_out(const struct csched_dom *sd)
{
    return sd->cap && LOAD(&sd->cap_budget_ns) <= 0;
}

/* Charge sv (running, RQ(sv->cpu) held) for the time since start_ns. */
static void burn(struct csched *s, struct csched_vcpu *sv, uint64_t now)
{
    if (now <= sv->start_ns)
        return;
    uint64_t d = now - sv->start_ns;
    sv->start_ns = now;
    sv->credit_ns -= (int64_t)d;
    sv->runtime_ns += d;
    sv->ran_in_period = 1;
    __atomic_fetch_add(&sv->dom->runtime_ns, d, __ATOMIC_RELAXED);
    if (sv->dom->cap)
        __atomic_fetch_sub(&sv->dom->cap_budget_ns, (int64_t)d, __ATOMIC_RELAXED);
    if (sv->pri == CSCHED_PRI_UNDER && sv->credit_ns < 0)
        set_pri(s, sv, CSCHED_PRI_OVER);
}

/* ---- choosing CPUs (hints only: relaxed reads of other CPUs) ---- */
static csched_cpumask_t allowed(const struct csched *s, const struct csched_vcpu *sv)
{
    csched_cpumask_t m = sv->affinity & s->online;
    return m ? m : s->online;
}

static int idle_hint(struct csched *s, unsigned int c)
{
    return LOAD(&s->pcpu[c].curr_pri) == CSCHED_PRI_IDLE && !LOAD(&s->pcpu[c].nr_waiting);
}

/* An idle CPU of sv's affinity other than `not`, starting after sv->cpu;
 * -1 if none. */
static int find_idle(struct csched *s, const struct csched_vcpu *sv, int not)
{
    csched_cpumask_t m = allowed(s, sv);
    for (unsigned int i = 1; i <= s->nr_cpus; i++) {
        unsigned int c = (sv->cpu + i) % s->nr_cpus;
        if ((m & BIT(c)) && (int)c != not && idle_hint(s, c))
            return (int)c;
    }
    return -1;
}

/* Where a waking (or unparked, or moved) vCPU is queued: its last CPU if
 * that idles, another idle CPU, else the CPU running the lowest priority
 * below sv's, else the one with the fewest waiting (last CPU on ties). */
static unsigned int pick_cpu(struct csched *s, const struct csched_vcpu *sv)
{
    csched_cpumask_t m = allowed(s, sv);
    if ((m & BIT(sv->cpu)) && idle_hint(s, sv->cpu))
        return sv->cpu;
    int c = find_idle(s, sv, -1);
    if (c >= 0)
        return (unsigned int)c;
    int best = -1, best_pri = sv->pri;
    unsigned int best_wait = ~0u;
    for (unsigned int i = 0; i < s->nr_cpus; i++) {
        unsigned int p = (sv->cpu + i) % s->nr_cpus;
        if (!(m & BIT(p)))
            continue;
        int pri = LOAD(&s->pcpu[p].curr_pri);
        if (pri < best_pri) {
            best = (int)p;
            best_pri = pri;
        }
    }
    if (best >= 0)
        return (unsigned int)best;
    for (unsigned int i = 0; i < s->nr_cpus; i++) {
        unsigned int p = (sv->cpu + i) % s->nr_cpus;
        unsigned int w = LOAD(&s->pcpu[p].nr_waiting);
        if ((m & BIT(p)) && w < best_wait) {
            best = (int)p;
            best_wait = w;
        }
    }
    return (unsigned int)best;
}

/* sv was just queued on cpu (RQ(cpu) held): which CPU should look at it
 * now? cpu itself if it idles or runs something less urgent, else an
 * idle CPU that may steal it, else one of its CPUs running a lower
 * priority; -1 if none. */
static int tickle(struct csched *s, unsigned int cpu, const struct csched_vcpu *sv)
{
    if (sv->pri > s->pcpu[cpu].curr_pri)
        return (int)cpu;
    int c = find_idle(s, sv, (int)cpu);
    if (c >= 0)
        return c;
    csched_cpumask_t m = allowed(s, sv);
    for (unsigned int i = 1; i < s->nr_cpus; i++) {
        unsigned int p = (cpu + i) % s->nr_cpus;
        if ((m & BIT(p)) && LOAD(&s->pcpu[p].curr_pri) < sv->pri)
            return (int)p;
    }
    return -1;
}

/* Queue an awake vCPU that is on no queue and runs nowhere (under G; takes
 * the target's lock). Parks it instead if its domain's cap is spent.
 * Returns the CPU to kick or -1. */
static int enqueue(struct csched *s, struct csched_vcpu *sv)
{
    if (capped_out(sv->dom)) {
        unsigned int c = lock_vcpu(s, sv);
        sv->parked = 1;
        rq_unlock(s, c);
        return -1;
    }
    unsigned int t = pick_cpu(s, sv);
    rq_lock(s, t);
    STORE(&sv->cpu, t);
    runq_insert(s, t, sv, 0);
    int k = tickle(s, t, sv);
    rq_unlock(s, t);
    return k;
}

static csched_cpumask_t kick_bit(int cpu)
{
    return cpu >= 0 ? BIT(cpu) : 0;
}

/* ---- set-up and parameters (G held) ---- */
int csched_init(struct csched *s, unsigned int nr_cpus, const struct csched_ops *ops)
{
    if (!nr_cpus || nr_cpus > CSCHED_MAX_CPUS)
        return -XL_EINVAL;
    *s = (struct csched){ 0 };
    s->nr_cpus = nr_cpus;
    s->online = nr_cpus == CSCHED_MAX_CPUS ? ~(csched_cpumask_t)0 : BIT(nr_cpus) - 1;
    list_init(&s->doms);
    if (ops) {
        s->ops = *ops;
        s->have_ops = 1;
    }
    for (unsigned int c = 0; c < nr_cpus; c++) {
        list_init(&s->pcpu[c].runq);
        s->pcpu[c].head_pri = s->pcpu[c].curr_pri = CSCHED_PRI_IDLE;
    }
    return csched_set_tslice(s, CSCHED_DEFAULT_TSLICE_MS, CSCHED_DEFAULT_RATELIMIT_US);
}

int csched_set_online(struct csched *s, csched_cpumask_t mask)
{
    csched_cpumask_t all = s->nr_cpus == CSCHED_MAX_CPUS ? ~(csched_cpumask_t)0
                                                          : BIT(s->nr_cpus) - 1;
    if (!mask || (mask & ~all))
        return -XL_EINVAL;
    FOR_LIST(dp, &s->doms)
        if (DOM(dp)->nr_vcpus)
            return -XL_EBUSY;
    s->online = mask;
    return 0;
}

int csched_set_tslice(struct csched *s, unsigned int tslice_ms, unsigned int ratelimit_us)
{
    if (tslice_ms < 1 || tslice_ms > 1000)
        return -XL_EINVAL; /* XEN_SYSCTL_CSCHED_TSLICE_MIN/MAX */
    if (ratelimit_us && (ratelimit_us < 100 || ratelimit_us > 500000))
        return -XL_EINVAL; /* XEN_SYSCTL_SCHED_RATELIMIT_MIN/MAX */
    if ((uint64_t)ratelimit_us * 1000 > (uint64_t)tslice_ms * 1000000)
        return -XL_EINVAL;
    s->tslice_ns = (uint64_t)tslice_ms * 1000000;
    s->tick_ns = s->tslice_ns / CSCHED_TICKS_PER_TSLICE;
    s->ratelimit_ns = (uint64_t)ratelimit_us * 1000;
    return 0;
}

void csched_dom_init(struct csched *s, struct csched_dom *sd, uint16_t domid, void *priv)
{
    *sd = (struct csched_dom){ .domid = domid, .weight = CSCHED_DEFAULT_WEIGHT, .priv = priv };
    list_init(&sd->vcpus);
    list_insert_before(&sd->elem, &s->doms);
}

int csched_dom_destroy(struct csched *s, struct csched_dom *sd)
{
    (void)s;
    if (sd->nr_vcpus)
        return -XL_EBUSY;
    list_del(&sd->elem);
    return 0;
}

/* Put the parked vCPUs of a domain that may run again back on queues. */
static csched_cpumask_t unpark(struct csched *s, struct csched_dom *sd)
{
    csched_cpumask_t kick = 0;
    if (capped_out(sd))
        return 0;
    FOR_LIST(pos, &sd->vcpus) {
        struct csched_vcpu *sv = DOM_VCPU(pos);
        unsigned int c = lock_vcpu(s, sv);
        int was = sv->parked;
        sv->parked = 0;
        rq_unlock(s, c);
        if (was)
            kick |= kick_bit(enqueue(s, sv));
    }
    return kick;
}

int csched_set_params(struct csched *s, struct csched_dom *sd, unsigned int weight,
                      unsigned int cap, csched_cpumask_t *kick)
{
    if (kick)
        *kick = 0;
    if (weight < 1 || weight > 65535)
        return -XL_EINVAL;
    if (cap > 100u * sd->nr_vcpus)
        return -XL_EINVAL;
    sd->weight = (uint16_t)weight;
    if (cap != sd->cap) {
        sd->cap = (uint16_t)cap;
        STORE(&sd->cap_budget_ns, cap ? (int64_t)cap_amount(s, cap) : 0);
        csched_cpumask_t k = unpark(s, sd);
        if (kick)
            *kick = k;
    }
    return 0;
}

int csched_add_vcpu(struct csched *s, struct csched_dom *sd, struct csched_vcpu *sv,
                    unsigned int vcpu_id, void *priv)
{
    FOR_LIST(pos, &sd->vcpus)
        if (DOM_VCPU(pos)->vcpu_id == vcpu_id)
            return -XL_EEXIST;
    *sv = (struct csched_vcpu){
        .dom = sd, .vcpu_id = vcpu_id, .cpu = vcpu_id % s->nr_cpus,
        .affinity = s->online, .pri = CSCHED_PRI_UNDER, .priv = priv,
    };
    if (!(s->online & BIT(sv->cpu))) /* only some CPUs run vCPUs: the first of them */
        sv->cpu = (unsigned int)__builtin_ctzll(s->online);
    list_insert_before(&sv->dom_elem, &sd->vcpus);
    sd->nr_vcpus++;
    return 0;
}

int csched_remove_vcpu(struct csched *s, struct csched_vcpu *sv)
{
    unsigned int c = lock_vcpu(s, sv);
    if (sv->running) {
        rq_unlock(s, c);
        return -XL_EBUSY;
    }
    if (sv->on_runq)
        runq_remove(s, sv);
    sv->parked = 0;
    sv->awake = 0;
    rq_unlock(s, c);
    list_del(&sv->dom_elem);
    sv->dom->nr_vcpus--;
    sv->dom = NULL;
    return 0;
}

int csched_set_affinity(struct csched *s, struct csched_vcpu *sv, csched_cpumask_t mask,
                        csched_cpumask_t *kick)
{
    *kick = 0;
    if (!(mask & s->online))
        return -XL_EINVAL;
    unsigned int c = lock_vcpu(s, sv);
    sv->affinity = mask;
    if (mask & BIT(c)) {
        rq_unlock(s, c);
        return 0;
    }
    if (sv->running) {
        *kick = BIT(c); /* its do_schedule hands it back as displaced */
        rq_unlock(s, c);
        return 0;
    }
    int move = sv->on_runq;
    if (move)
        runq_remove(s, sv);
    rq_unlock(s, c);
    if (move)
        *kick = kick_bit(enqueue(s, sv));
    return 0; /* asleep, parked or displaced: placed when queued */
}

/* ---- wake, sleep, yield, migrate (G held) ---- */
int csched_wake(struct csched *s, struct csched_vcpu *sv)
{
    unsigned int c = lock_vcpu(s, sv);
    if (sv->awake) {
        rq_unlock(s, c);
        return -1;
    }
    sv->awake = 1;
    if (sv->running) { /* slept and woke before its CPU rescheduled */
        rq_unlock(s, c);
        return -1;
    }
    if (sv->pri == CSCHED_PRI_UNDER && !capped_out(sv->dom))
        sv->pri = CSCHED_PRI_BOOST;
    rq_unlock(s, c);
    return enqueue(s, sv);
}

int csched_sleep(struct csched *s, struct csched_vcpu *sv)
{
    unsigned int c = lock_vcpu(s, sv);
    int ret = -1;
    if (sv->awake) {
        sv->awake = 0;
        sv->parked = 0;
        if (sv->on_runq)
            runq_remove(s, sv);
        if (sv->running)
            ret = (int)c;
    }
    rq_unlock(s, c);
    return ret;
}

int csched_yield(struct csched *s, struct csched_vcpu *sv)
{
    unsigned int c = lock_vcpu(s, sv);
    int ret = -1;
    if (sv->running) {
        sv->yielded = 1;
        ret = (int)c;
    }
    rq_unlock(s, c);
    return ret;
}

int csched_migrate(struct csched *s, struct csched_vcpu *sv)
{
    unsigned int c = lock_vcpu(s, sv);
    int idle = sv->awake && !sv->on_runq && !sv->running && !sv->parked;
    rq_unlock(s, c);
    return idle ? enqueue(s, sv) : -1;
}

/* ---- tick and accounting ---- */
int csched_tick(struct csched *s, unsigned int cpu, uint64_t now)
{
    struct csched_pcpu *pc = &s->pcpu[cpu];
    struct csched_vcpu *sv = pc->curr;
    if (!sv) { /* idle: is there anything queued elsewhere to steal? */
        for (unsigned int p = 0; p < s->nr_cpus; p++)
            if (p != cpu && LOAD(&s->pcpu[p].nr_waiting))
                return 1;
        return 0;
    }
    burn(s, sv, now);
    if (sv->pri == CSCHED_PRI_BOOST) /* it runs for real now: no more boost */
        set_pri(s, sv, sv->credit_ns >= 0 ? CSCHED_PRI_UNDER : CSCHED_PRI_OVER);
    if (!sv->awake || capped_out(sv->dom) || !(sv->affinity & BIT(cpu)) || sv->yielded)
        return 1;
    struct csched_vcpu *h = runq_head(pc);
    return h && h->pri > sv->pri;
}

/* csched_acct's share of the credit (G held): weighted max-min
 * ("water filling") over the active vCPUs. Every active vCPU has its
 * domain's weight (so a domain's share is weight x active vCPUs, split
 * evenly, as Xen's), and the shares are raised together in proportion to
 * the weights until a group of vCPUs reaches what it may get:
 *   - one vCPU: a period (one CPU);
 *   - a capped domain's vCPUs: its cap's budget;
 *   - the vCPUs whose hard affinity lies within a set of CPUs M (each
 *     distinct mask of an active vCPU that is not every online CPU):
 *     |M| periods, all these CPUs can give;
 *   - all: the machine's credit (plus the carry).
 * The vCPUs of a group that is full keep their share; the others go on.
 * Without the affinity groups, vCPUs pinned to one CPU of several would
 * each get about a CPU's worth, more than they can burn: all UNDER, they
 * share round robin whatever their weights. */
static int acct_member(const struct csched *s, const struct csched_acct_group *g,
                       const struct csched_vcpu *sv)
{
    if (g->dom)
        return sv->dom == g->dom;
    return !g->mask || !(allowed(s, sv) & ~g->mask);
}

static void share_credit(struct csched *s, uint64_t remaining, uint64_t span)
{
    const uint64_t period = span; /* what one CPU gave since the last accounting */
    struct csched_acct_group *grp = s->acct_group;
    unsigned int ng = 0;

    grp[ng++] = (struct csched_acct_group){ .cap_ns = remaining };
    FOR_LIST(dp, &s->doms) {
        struct csched_dom *sd = DOM(dp);
        if (sd->acct_active && sd->cap && ng < CSCHED_ACCT_GROUPS)
            grp[ng++] = (struct csched_acct_group){ .dom = sd,
                                                    .cap_ns = span * sd->cap / 100 };
    }
    FOR_LIST(dp, &s->doms) {
        FOR_LIST(vp, &DOM(dp)->vcpus) {
            const struct csched_vcpu *sv = DOM_VCPU(vp);
            csched_cpumask_t m = allowed(s, sv);
            unsigned int g = 0;
            if (!sv->acct_active || m == s->online)
                continue;
            while (g < ng && (grp[g].dom || grp[g].mask != m))
                g++;
            if (g == ng && ng < CSCHED_ACCT_GROUPS) /* more: those are not limited */
                grp[ng++] = (struct csched_acct_group){ .mask = m,
                                                        .cap_ns = mask_weight(m) * period };
        }
    }
    /* Each round settles at least one vCPU: the group with the least
     * credit left per unit of weight still to serve (slack / w, compared
     * crosswise: slack < 2^38, w < 2^24). */
    for (;;) {
        const struct csched_acct_group *best = NULL;
        const struct csched_vcpu *best_v = NULL;
        uint64_t best_slack = 0, best_w = 0;
        for (unsigned int g = 0; g < ng; g++) {
            uint64_t given = 0, w = 0;
            FOR_LIST(dp, &s->doms) {
                FOR_LIST(vp, &DOM(dp)->vcpus) {
                    const struct csched_vcpu *sv = DOM_VCPU(vp);
                    if (!sv->acct_active || !acct_member(s, &grp[g], sv))
                        continue;
                    if (sv->acct_done)
                        given += sv->acct_share;
                    else
                        w += sv->dom->weight;
                }
            }
            uint64_t slack = grp[g].cap_ns > given ? grp[g].cap_ns - given : 0;
            if (w && (!best_w || slack * best_w < best_slack * w)) {
                best = &grp[g];
                best_slack = slack;
                best_w = w;
            }
        }
        FOR_LIST(dp, &s->doms) {
            FOR_LIST(vp, &DOM(dp)->vcpus) {
                const struct csched_vcpu *sv = DOM_VCPU(vp);
                uint64_t w = sv->dom->weight;
                if (!sv->acct_done && (!best_w || period * best_w < best_slack * w)) {
                    best = NULL;
                    best_v = sv;
                    best_slack = period;
                    best_w = w;
                }
            }
        }
        if (!best_w)
            return; /* every active vCPU has its share */
        FOR_LIST(dp, &s->doms) {
            FOR_LIST(vp, &DOM(dp)->vcpus) {
                struct csched_vcpu *sv = DOM_VCPU(vp);
                if (sv->acct_done || (best ? !acct_member(s, best, sv) : sv != best_v))
                    continue;
                sv->acct_share = best_slack * sv->dom->weight / best_w;
                sv->acct_done = 1;
            }
        }
    }
}

csched_cpumask_t csched_acct(struct csched *s, uint64_t now)
{
    const uint64_t period = s->tslice_ns;
    /* The time this accounting settles: since the last one, normally a
     * period. The caller's timer may be late: under TCG with more guest
     * CPUs than host cores, CPU 0's accountings came ~38 ms apart on
     * average, 9% of them over two periods (up to 130 ms). Credit and
     * cap budgets for a fixed period then fall short of the CPU time
     * charged meanwhile: every vCPU sinks to the floor (OVER, round
     * robin, weights lost) and a cap-25 domain gets 25 x 30/38 %. A gap
     * over CSCHED_ACCT_MAX_SPAN_NS is an all-asleep stretch (accounting
     * stops while nothing is awake) or a stall: it settles one period. */
    uint64_t span = period;
    if (s->last_acct_ns && now > s->last_acct_ns &&
        now - s->last_acct_ns <= CSCHED_ACCT_MAX_SPAN_NS)
        span = now - s->last_acct_ns;
    s->last_acct_ns = now;
    /* The machine's credit, plus what the last accounting could not
     * give (see below). */
    uint64_t remaining = mask_weight(s->online) * span + s->acct_carry;
    uint64_t excess = 0;
    csched_cpumask_t kick = 0;

    /* Who wants CPU: awake, or ran in the period that ends. */
    FOR_LIST(dp, &s->doms) {
        struct csched_dom *sd = DOM(dp);
        sd->acct_active = 0;
        FOR_LIST(vp, &sd->vcpus) {
            struct csched_vcpu *sv = DOM_VCPU(vp);
            unsigned int c = lock_vcpu(s, sv);
            sv->acct_active = sv->awake || sv->ran_in_period;
            sd->acct_active += sv->acct_active;
            rq_unlock(s, c);
            sv->acct_share = 0;
            sv->acct_done = !sv->acct_active;
        }
    }
    share_credit(s, remaining, span);
    FOR_LIST(dp, &s->doms) {
        struct csched_dom *sd = DOM(dp);
        FOR_LIST(vp, &sd->vcpus) {
            struct csched_vcpu *sv = DOM_VCPU(vp);
            unsigned int c = lock_vcpu(s, sv);
            if (sv->acct_active) /* as counted above, whatever happened since */
                sv->credit_ns += (int64_t)sv->acct_share;
            if (sv->credit_ns > (int64_t)period) {
                excess += (uint64_t)(sv->credit_ns - (int64_t)period);
                sv->credit_ns = (int64_t)period;
            }
            /* Debt is kept down to CSCHED_DEBT_PERIODS periods (Xen: one):
             * with late ticks a vCPU overruns its slice, and debt cut at
             * one period was forgiven most to the vCPU of the least
             * weight, which lives nearest the floor (test_acct_jitter). */
            if (sv->credit_ns < -CSCHED_DEBT_PERIODS * (int64_t)period)
                sv->credit_ns = -CSCHED_DEBT_PERIODS * (int64_t)period;
            sv->ran_in_period = 0;
            set_pri(s, sv, sv->credit_ns >= 0 ? CSCHED_PRI_UNDER : CSCHED_PRI_OVER);
            if (sv->running) {
                struct csched_vcpu *h = runq_head(&s->pcpu[c]);
                if (h && h->pri > sv->pri)
                    kick |= BIT(c);
            }
            rq_unlock(s, c);
        }
        if (sd->cap) { /* refill: a debt of at most one period carries over */
            int64_t amt = (int64_t)(span * sd->cap / 100), b, nb;
            b = LOAD(&sd->cap_budget_ns);
            do {
                nb = (b < -amt ? -amt : b) + amt;
                if (nb > amt)
                    nb = amt;
            } while (!__atomic_compare_exchange_n(&sd->cap_budget_ns, &b, nb, 0,
                                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED));
        }
        kick |= unpark(s, sd);
    }
    /* Credit a mostly idle vCPU got but cannot keep (over the ceiling)
     * is shared again at the next accounting, by weight among the active
     * ones, instead of being lost: lost, it would leave the busy vCPUs
     * short of the CPU they use, drive them all to the floor (OVER) and
     * make them share round robin, whatever their weights. At most one
     * period of the machine's credit is carried. */
    const uint64_t machine = mask_weight(s->online) * span;
    s->acct_carry = excess < machine ? excess : machine;
    return kick;
}

/* ---- the schedule path (RQ(cpu) held) ---- */

/* The best waiting vCPU of another CPU with a priority above pri that
 * may run on cpu, taken off its queue; peers whose lock is busy are
 * skipped. */
static struct csched_vcpu *steal(struct csched *s, unsigned int cpu, int pri)
{
    for (unsigned int i = 1; i < s->nr_cpus; i++) {
        unsigned int p = (cpu + i) % s->nr_cpus;
        if (!(s->online & BIT(p)) || !LOAD(&s->pcpu[p].nr_waiting) ||
            LOAD(&s->pcpu[p].head_pri) <= pri || !rq_trylock(s, p))
            continue;
        FOR_LIST(pos, &s->pcpu[p].runq) {
            struct csched_vcpu *sv = RQ_VCPU(pos);
            if (sv->pri <= pri)
                break;
            if ((sv->affinity & BIT(cpu)) && !capped_out(sv->dom)) {
                runq_remove(s, sv);
                STORE(&sv->cpu, cpu);
                rq_unlock(s, p);
                return sv;
            }
        }
        rq_unlock(s, p);
    }
    return NULL;
}

static uint64_t slice_for(const struct csched *s, const struct csched_vcpu *sv, uint64_t slice)
{
    if (sv->dom->cap) {
        int64_t b = LOAD(&sv->dom->cap_budget_ns);
        if (b < (int64_t)slice)
            slice = b > 0 ? (uint64_t)b : 1;
    }
    return slice;
}

struct csched_decision csched_do_schedule(struct csched *s, unsigned int cpu, uint64_t now)
{
    struct csched_pcpu *pc = &s->pcpu[cpu];
    struct csched_decision d = { 0 };
    struct csched_vcpu *prev = pc->curr, *snext = NULL;

    if (prev) {
        burn(s, prev, now);
        int stay = prev->awake && !capped_out(prev->dom) && (prev->affinity & BIT(cpu));
        /* ratelimit: a vCPU that has just started keeps the CPU a little */
        if (stay && !prev->yielded && s->ratelimit_ns && now - prev->sched_in_ns < s->ratelimit_ns) {
            d.next = prev;
            d.slice_ns = slice_for(s, prev, s->ratelimit_ns - (now - prev->sched_in_ns));
            return d;
        }
        prev->running = 0;
        pc->curr = NULL;
        STORE(&pc->curr_pri, CSCHED_PRI_IDLE);
        if (stay)
            runq_insert(s, cpu, prev, prev->yielded);
        else if (prev->awake && capped_out(prev->dom))
            prev->parked = 1;
        else if (prev->awake)
            d.displaced = prev;
        prev->yielded = 0;
    }

    /* The local best; vCPUs of domains that spent their cap are parked. */
    for (struct csched_vcpu *h; (h = runq_head(pc));) {
        if (!capped_out(h->dom)) {
            snext = h;
            break;
        }
        runq_remove(s, h);
        h->parked = 1;
    }
    /* Load balancing: nothing better than OVER here, look elsewhere. */
    int pri = snext ? snext->pri : CSCHED_PRI_IDLE;
    struct csched_vcpu *stolen = pri < CSCHED_PRI_UNDER ? steal(s, cpu, pri) : NULL;
    if (stolen)
        snext = stolen;
    else if (snext)
        runq_remove(s, snext);

    if (!snext) {
        if (!pc->idling) {
            pc->idling = 1;
            pc->idle_since = now;
        }
        return d; /* idle: next = NULL, slice 0 */
    }
    if (pc->idling) {
        pc->idling = 0;
        pc->idle_ns += now - pc->idle_since;
    }
    snext->running = 1;
    STORE(&snext->cpu, cpu);
    snext->start_ns = snext->sched_in_ns = now;
    pc->curr = snext;
    STORE(&pc->curr_pri, snext->pri);
    d.next = snext;
    d.slice_ns = slice_for(s, snext, s->tslice_ns);
    /* Waiting here while another CPU idles: let it steal. */
    FOR_LIST(pos, &pc->runq)
        d.kick |= kick_bit(find_idle(s, RQ_VCPU(pos), (int)cpu));
    return d;
}

/* ---- queries ---- */
uint64_t csched_cpu_idle_ns(const struct csched *s, unsigned int cpu, uint64_t now)
{
    const struct csched_pcpu *pc = &s->pcpu[cpu];
    return pc->idle_ns + (pc->idling && now > pc->idle_since ? now - pc->idle_since : 0);
}

uint64_t csched_vcpu_runtime_ns(const struct csched *s, const struct csched_vcpu *sv,
                                uint64_t now)
{
    (void)s;
    return sv->runtime_ns + (sv->running && now > sv->start_ns ? now - sv->start_ns : 0);
}

int csched_check(const struct csched *s)
{
    unsigned int queued = 0, flagged = 0;
    for (unsigned int c = 0; c < s->nr_cpus; c++) {
        const struct csched_pcpu *pc = &s->pcpu[c];
        unsigned int n = 0;
        int last = CSCHED_PRI_BOOST;
        FOR_LIST(pos, &pc->runq) {
            const struct csched_vcpu *sv = RQ_VCPU(pos);
            if (pos->next->prev != pos)
                return -1;  /* broken links */
            if (!sv->on_runq || sv->cpu != c)
                return -2;  /* queued, but its flags say otherwise */
            if (!sv->awake || sv->running || sv->parked || !sv->dom)
                return -3;  /* asleep, running, parked or removed while queued */
            if (sv->pri > last)
                return -4;  /* out of priority order */
            if (!(allowed(s, sv) & BIT(c)))
                return -5;  /* on a CPU outside its affinity */
            last = sv->pri;
            n++;
        }
        if (n != pc->nr_waiting)
            return -6;
        queued += n;
        const struct csched_vcpu *h = pc->runq.next == &pc->runq ? NULL : RQ_VCPU(pc->runq.next);
        if (pc->head_pri != (h ? h->pri : CSCHED_PRI_IDLE))
            return -7;
        if (pc->curr && (!pc->curr->running || pc->curr->cpu != c || pc->curr->on_runq ||
                         pc->curr->parked || pc->curr_pri != pc->curr->pri))
            return -8;
        if (!pc->curr && pc->curr_pri != CSCHED_PRI_IDLE)
            return -9;
    }
    FOR_LIST(dp, &s->doms) {
        const struct csched_dom *sd = DOM(dp);
        unsigned int n = 0;
        FOR_LIST(vp, &sd->vcpus) {
            const struct csched_vcpu *sv = DOM_VCPU(vp);
            n++;
            if (sv->dom != sd)
                return -10;
            flagged += sv->on_runq;
            if (sv->running && s->pcpu[sv->cpu].curr != sv)
                return -11; /* thinks it runs, its CPU does not */
            if (sv->parked && (!sv->awake || sv->on_runq || sv->running))
                return -12;
        }
        if (n != sd->nr_vcpus)
            return -13;
    }
    return queued == flagged ? 0 : -14; /* a queue holds a vCPU no domain has */
}
