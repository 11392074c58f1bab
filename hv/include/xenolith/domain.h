/*
 * domain.h - domains and their virtual CPUs as the hypervisor sees them.
 */
#ifndef XENOLITH_DOMAIN_H
#define XENOLITH_DOMAIN_H

#include <stdint.h>
#include <xenolith/event.h>
#include <xenolith/hcstat.h>
#include <xenolith/hvm.h>
#include <xenolith/pv_cpu.h>
#include <xenolith/regs.h>
#include <xenolith/xen.h>

#define MAX_DOMAINS 16
/* vCPUs per domain (Xen's d->max_vcpus is at most this). 8 keeps the
 * static domains[] table sane (a vcpu is ~6 KiB: trap table, FPU image)
 * and stays below XEN_LEGACY_MAX_VCPUS (32), so every vcpu has a
 * vcpu_info slot in shared_info until it registers its own. */
#define MAX_VCPUS 8

enum domain_state {
    DOM_FREE = 0,
    DOM_RUNNING,   /* created, vcpu may run */
    DOM_SHUTDOWN,  /* shut itself down (or crashed); resources still held */
};

struct domain;

struct vcpu {
    struct domain *domain;
    unsigned int id;
    /* Guest registers while not running; while it runs, the frame its
     * entries into the hv are built in (entry.S, 16-byte aligned end). */
    struct cpu_regs regs __attribute__((aligned(16)));
    /* Right after regs, where entry.S finds it at the top of the in-place
     * frame: the kernel stack of the CPU the vcpu runs on (set when it
     * is switched in there). */
    uint64_t hv_rsp;
    /* SMP (sched.c): the CPU it runs on or ran on last, and whether it
     * runs now (on at most one CPU at a time). */
    unsigned int processor;
    int running;
    /* domctl.c: this (toolstack) vcpu's XEN_DOMCTL_pausedomain of domain
     * id pause_wait - 1 has counted its pause and waits, as a
     * continuation, for that domain's vcpus to stop on other CPUs; 0 if
     * none. Any other domctl clears it. */
    uint32_t pause_wait;
    /* Page tables (mmu.c sets the two tables; pv_update_cr3 picks one). */
    uint64_t cr3;            /* machine address to load when this vcpu runs */
    uint64_t guest_table;      /* mfn of the guest kernel's L4 */
    uint64_t guest_table_user; /* mfn of the guest user L4, 0 if none */
    struct pv_vcpu pv;       /* PV CPU state (pv_cpu.h) */
    struct hvm_vcpu hvm;     /* HVM/PVH CPU state (hvm.h), its domain's hvm only */
    struct vcpu_events ev;   /* timers, virqs, poll (event.h) */
    int blocked;             /* SCHEDOP_block until an event is pending */
    /* Xen's is_initialised / !VPF_down: a vcpu of a domain created by
     * XEN_DOMCTL_createdomain has neither until XEN_DOMCTL_setvcpucontext
     * (online only with VGCF_online); boot-built domains have both. */
    int initialised;
    int online;
    vcpu_info_t *info;       /* this vcpu's slot in shared_info */
    /* Hard and soft affinity (XEN_DOMCTL_setvcpuaffinity): bit c =
     * physical CPU c (NR_CPUS = 64), every CPU until the toolstack sets
     * one. domctl.c keeps them as Xen's vcpu_affinity_domctl does; the
     * scheduler runs a vcpu only on a CPU of its hard affinity; the soft
     * one is kept and reported, not yet used for placement. */
    uint64_t affinity;
    uint64_t soft_affinity;
};

struct domain {
    uint16_t domid;
    enum domain_state state;
    int privileged;
    int hvm;                      /* HVM or PVH (XEN_DOMCTL_CDF_hvm): hvmd is live */
    struct hvm_domain hvmd;
    int auto_destroy;             /* boot-time domU: destroyed once shut down */
    unsigned int shutdown_reason; /* SHUTDOWN_* once state == DOM_SHUTDOWN */
    unsigned int shutdown_code;   /* SCHEDOP_shutdown_code, or ~0 */
    char name[32];
    uint64_t tot_pages, max_pages;
    uint64_t shared_info_mfn;
    shared_info_t *shared_info;
    uint64_t first_output_ns;     /* 0 until the first console_io write */
    uint8_t handle[16];
    /* Xen's controller_pause_count: XEN_DOMCTL_pausedomain/unpausedomain
     * (0..255). A domain created by domctl starts at 1; nothing of it
     * runs while it is > 0. */
    unsigned int pause_count;
    int creation_finished;        /* pause_count first dropped to 0 */
    uint32_t cdf_flags;           /* XEN_DOMCTL_CDF_* it was created with */
    uint32_t max_evtchn_port;     /* createdomain's (stored; 2-level caps at 4095) */
    struct domain_events ev; /* event channels (event.h) */
    /* vcpus[0, max_vcpus) exist (Xen's d->vcpu[]); boot-built domains
     * have vcpu 0 initialised and online, the others wait for the
     * guest's VCPUOP_initialise + VCPUOP_up (or the toolstack's
     * setvcpucontext). */
    unsigned int max_vcpus;
    struct vcpu vcpus[MAX_VCPUS];
    /* Hypercalls by number and sub-op (hcstat.h): hypercall.c counts
     * every call, the multiplexed handlers their sub-ops (HCSTAT_SUB). */
    struct hcstat_counts hcstat;
    /* CPUs whose CR3 holds this domain's page tables now (Xen's
     * dirty_cpumask): only those can cache its translations (traps.c). */
    uint64_t dirty_cpumask;
    /* hc_unimplemented's log-once bits: per hypercall (>= 64 share the
     * last), bit min(sub-op, 63). */
    uint64_t hc_unimpl_logged[HCSTAT_CALLS];
    /* Preemptible page-type work (page_type.c): the top of its partially
     * validated chain (mfn + 1, 0: none), and its queue of tables still
     * to devalidate (mfn + 1 of head and tail, 0: empty). */
    uint64_t pt_partial;
    uint32_t deval_head, deval_tail;
    /* Destruction in steps (domain_destroy_step, mm_relinquish_step):
     * how far it got, and the frame table cursor of the current stage. */
    unsigned int destroy_stage;
    uint64_t destroy_cursor, destroy_freed, destroy_orphans;
};

extern struct domain domains[MAX_DOMAINS];
/* The vcpu this CPU runs: per CPU in the hv (percpu.h); one CPU in the
 * host unit tests, which have no per-CPU stacks. */
#if __STDC_HOSTED__
extern struct vcpu *current;
#else
#include <xenolith/percpu.h>
#define current (this_cpu()->curr)
#endif

/* Allocate a domain slot with its shared_info page. Returns NULL if domid
 * is taken or out of range, or memory is short. The domain is unpaused
 * with its vcpu initialised and online (what the boot-time builder
 * wants); domctl.c's createdomain pauses it and takes the vcpu down. */
struct domain *domain_create(uint16_t domid, int privileged, const char *name);
struct domain *domain_by_id(uint16_t domid);
/* Give d vcpus [1, n) (n <= MAX_VCPUS): each exists, down and without a
 * context, with its shared_info vcpu_info slot (events masked) and
 * default timers. Only while d has one vcpu (creation). */
void domain_set_max_vcpus(struct domain *d, unsigned int n);
/* Vcpu id of d, or NULL if id >= d->max_vcpus (Xen's domain_vcpu). */
static inline struct vcpu *domain_vcpu(struct domain *d, unsigned int id)
{
    return id < d->max_vcpus ? &d->vcpus[id] : (struct vcpu *)0;
}
#define for_each_vcpu(d, v) for ((v) = (d)->vcpus; (v) < (d)->vcpus + (d)->max_vcpus; (v)++)
/* SCHEDOP_poll's block: v polls (port: the one port, -1: several);
 * sends to v's domain look at v from now on (domain_events.pollers).
 * Big lock held, as for every send (event.h). */
static inline void evtchn_poll_begin(struct vcpu *v, int port)
{
    _Static_assert(MAX_VCPUS <= 32, "pollers is one bit a vcpu");
    v->ev.polling = 1;
    v->ev.poll_port = port;
    v->domain->ev.pollers |= 1u << v->id;
}

/* The domain asked to stop (SHUTDOWN_* reason); it will not run again. */
void domain_shutdown(struct domain *d, unsigned int reason);
/* The domain broke the rules or faulted: log why and shut it down with
 * SHUTDOWN_crash. Never touches the hypervisor's own state beyond d. */
void domain_crash(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Give every frame of a shut-down domain back and free its slot, all at
 * once (boot failures, host tests). */
void domain_destroy(struct domain *d);
/* The same in bounded steps (Xen's domain_kill with relinquish_resources
 * as its -ERESTART continuation): under the caller's budget
 * (mm_preempt_begin), 0 once d is gone, MM_ERESTART while steps remain.
 * The first step takes d apart but for its memory (d->destroy_stage set:
 * dying, no foreign mmu operation reaches it); later ones give the
 * memory back (mm_relinquish_step). */
int domain_destroy_step(struct domain *d);
/* Can v run as far as its domain goes (DOM_RUNNING, not paused, vcpu
 * initialised and online)? Blocking is the scheduler's business. */
static inline int domain_vcpu_may_run(const struct vcpu *v)
{
    const struct domain *d = v->domain;
    return d->state == DOM_RUNNING && !d->pause_count && v->initialised && v->online;
}

/* "Scheduler work pending" (Xen's SCHEDULE/TIMER softirqs in one flag),
 * one bit per CPU: the way back to a guest takes the full path - timers
 * run, scheduler pass, LAPIC re-armed - only while this CPU's bit is set;
 * otherwise the running vcpu goes straight back (trap_entry's fast path).
 * Set for every CPU by whoever changes scheduling or timer state: a
 * wake-up, block, poll, yield, shutdown/crash/destroy, pause/unpause, a
 * vcpu's context or any guest timer (set_timer_op, vcpu_op timers,
 * watchdogs); idle CPUs are sent an IPI so they look too. The LAPIC timer
 * interrupt sets its own CPU's bit. The scheduler clears this CPU's bit as
 * it starts a pass. Written under the big lock only. Defined next to
 * `current` (domain.c). */
extern uint64_t sched_work_pending;
/* This CPU's number (arch; 0 in the host tests); the CPUs halted in the
 * idle loop (bit n: cpu n); an IPI that makes cpu enter the hv and take
 * the full path (a no-op for this CPU). */
unsigned int arch_cpu_id(void);
uint64_t arch_idle_cpus(void);
void arch_kick_cpu(unsigned int cpu);
/* Guest timers are timed by cpu 0 (sched.c): it re-arms for a changed
 * deadline even when it idles. A vcpu that became runnable is found by
 * this CPU's own pass, which wakes an idle CPU for it (sched.c). */
#define SCHED_TIMER_CPU 0u
static inline void sched_raise_work(void)
{
    sched_work_pending = ~0ULL;
    if (arch_idle_cpus() >> SCHED_TIMER_CPU & 1)
        arch_kick_cpu(SCHED_TIMER_CPU);
}
static inline void sched_raise_work_local(void)
{
    sched_work_pending |= 1ULL << arch_cpu_id();
}
static inline int sched_work_pending_here(void)
{
    return (int)(sched_work_pending >> arch_cpu_id() & 1);
}

/* May v be picked on cpu: runnable (its domain lets it run, not
 * blocked), not running on another CPU, and cpu in its affinity. */
static inline int sched_vcpu_can_run_on(const struct vcpu *v, unsigned int cpu)
{
    return domain_vcpu_may_run(v) && !v->blocked && (!v->running || v->processor == cpu) &&
           (v->affinity >> cpu & 1);
}

/* The CPU to wake for a vcpu with this affinity: the lowest idle CPU in
 * it other than self, or -1. */
static inline int sched_choose_idle_cpu(uint64_t idle_mask, uint64_t affinity, unsigned int self)
{
    uint64_t m = idle_mask & affinity;
    if (self < 64)
        m &= ~(1ULL << self);
    return m ? __builtin_ctzll(m) : -1;
}

/* A vcpu got something to act on (an event, a wake-up): if it runs on
 * another CPU, IPI that CPU so it looks on its way back to the guest
 * (Xen's vcpu_kick); if it waits to run, wake an idle CPU it may run on
 * (if none idles, a busy one takes it at its next pass). */
static inline void vcpu_kick(struct vcpu *v)
{
    if (v->running) {
        if (v->processor != arch_cpu_id())
            arch_kick_cpu(v->processor);
    } else if (domain_vcpu_may_run(v) && !v->blocked) {
        int cpu = sched_choose_idle_cpu(arch_idle_cpus(), v->affinity, arch_cpu_id());
        if (cpu >= 0)
            arch_kick_cpu((unsigned int)cpu);
    }
}

/* How many vcpus of d run on a CPU other than this one; those CPUs are
 * kicked so they stop soon (a caller that must not free d's state under
 * a running vcpu tries again later). */
static inline int domain_running_elsewhere(struct domain *d)
{
    unsigned int cpu = arch_cpu_id();
    int n = 0;
    for (struct vcpu *v = d->vcpus; v < d->vcpus + d->max_vcpus; v++) {
        if (v->running && v->processor != cpu) {
            arch_kick_cpu(v->processor);
            n++;
        }
    }
    return n;
}

/* Pick the next vcpu to run (round robin over runnable vcpus); returns
 * NULL when none can run. */
struct vcpu *sched_pick_next(void);
/* Called when no vcpu can run: what the machine should do next. */
void sched_idle_or_halt(void);

#endif
