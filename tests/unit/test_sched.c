/*
 * test_sched.c - host unit tests for the scheduler and the timers it
 * drives (cmocka, ASan/UBSan).
 * Tests: hv/common/sched.c with the real timer.c and event_channel.c:
 * slices and fairness between spinning vcpus, the one-shot timer armed
 * for the nearest deadline (slice end, guest timer, poll timeout), block
 * and wake on events, poll with ports and with a timeout, yield,
 * shutdown / shutdown_code (first code sticks and replaces the reason) /
 * remote_shutdown, reaping of boot-time domUs, SCHEDOP_watchdog.
 * Links: hv/common/{sched,timer,event_channel}.c.
 * Mocks: domains[] (three: d0 privileged, d1, d2), a fake clock
 * (arch_time_ns), arch_timer_arm (records the deadline), guest copies
 * and pv_running_frame (guest va = host pointer), domain_shutdown / domain_destroy as
 * domain.c does them (state only), panic and arch_halt_machine fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/mm.h>
#include <xenolith/power.h>
#include <xenolith/ticketlock.h>
#include <xenolith/sched.h>
#include <xen/event_channel.h>

#define MS 1000000ULL
#define SLICE (30 * MS)

/* ---- mocks ---- */
static shared_info_t shinfo[3] __attribute__((aligned(4096)));
static uint64_t fake_now = 1000 * MS; /* monotonic across tests (timer.c keeps state) */
static uint64_t armed;
static int arms, destroyed[MAX_DOMAINS];

uint64_t arch_time_ns(void) { return fake_now; }
void arch_timer_arm(uint64_t deadline) { armed = deadline; arms++; }
void arch_pvclock_fill(struct vcpu_time_info *t) { t->system_time = fake_now; }
void arch_wallclock_base(uint64_t *sec, uint32_t *nsec) { *sec = 0; *nsec = 0; }
void arch_idle_wait(void) {}
void arch_halt_machine(int status) { fail_msg("halt %d", status); abort(); }
uint64_t mm_free_count(void) { return 0; }
void *mfn_to_virt(uint64_t mfn) { (void)mfn; return NULL; }
int get_page_and_type(uint64_t mfn, uint16_t owner, unsigned int type)
{
    (void)mfn; (void)owner; (void)type;
    return -XL_EINVAL;
}
void put_page_and_type(uint64_t mfn) { (void)mfn; }
int guest_va_ok(uint64_t va) { return va != 0; }
int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t src, size_t len)
{
    (void)cr3;
    if (!src)
        return -XL_EFAULT;
    memcpy(dst, (const void *)src, len);
    return 0;
}
/* event_channel.c's in-place read (pv_cpu.c): the host pointer. */
void *pv_running_frame(struct vcpu *v, uint64_t va, size_t len, int write)
{
    (void)v, (void)len, (void)write;
    return (void *)va;
}
int copy_to_guest_va(uint64_t cr3, uint64_t dst, const void *src, size_t len)
{
    (void)cr3;
    if (!dst)
        return -XL_EFAULT;
    memcpy((void *)dst, src, len);
    return 0;
}
void domain_shutdown(struct domain *d, unsigned int reason)
{
    if (d->state != DOM_RUNNING)
        return;
    d->state = DOM_SHUTDOWN;
    d->shutdown_reason = reason & 0xff;
}
void domain_destroy(struct domain *d)
{
    sched_domain_destroy(d);
    destroyed[d->domid]++;
    if (current == &d->vcpus[0])
        current = NULL;
    uint16_t id = d->domid;
    memset(d, 0, sizeof(*d));
    d->domid = id;
}
/* domain.c's stepwise destroy: here in one step, with no budget. */
int domain_destroy_step(struct domain *d)
{
    domain_destroy(d);
    return 0;
}
void mm_preempt_begin(void) {}
void mm_preempt_end(void) {}

/* VCPUOP_initialise's context checks live in domctl.c (test_domctl):
 * here a context is "valid" and gives the vcpu page tables. */
long vcpu_initialise(struct vcpu *caller, struct vcpu *v, uint64_t arg)
{
    (void)caller;
    if (!arg)
        return -XL_EFAULT;
    if (v->initialised)
        return -XL_EEXIST;
    v->initialised = 1;
    v->cr3 = 0x1000;
    return 0;
}

/* ---- helpers ---- */
static struct domain *d0, *d1, *d2;

static int setup(void **state)
{
    (void)state;
    memset(domains, 0, sizeof(domains));
    memset(shinfo, 0, sizeof(shinfo));
    memset(destroyed, 0, sizeof(destroyed));
    fake_now += 10000 * MS; /* well past anything a previous test armed */
    sched_init(1);
    for (unsigned int i = 0; i < 3; i++) {
        struct domain *d = &domains[i];
        d->domid = (uint16_t)i;
        d->state = DOM_RUNNING;
        d->privileged = i == 0;
        d->shutdown_code = ~0u;
        d->shared_info = &shinfo[i];
        d->max_vcpus = 1;
        d->vcpus[0].domain = d;
        d->vcpus[0].initialised = d->vcpus[0].online = 1;
        d->vcpus[0].affinity = ~0ULL; /* domain.c's vcpu_setup default */
        d->vcpus[0].info = &shinfo[i].vcpu_info[0];
        d->vcpus[0].info->evtchn_upcall_mask = 1;
        evtchn_domain_init(d);
        timer_vcpu_init(&d->vcpus[0]);
        d->vcpus[0].ev.periodic_period = 0; /* no 100 Hz ticker unless a test wants one */
    }
    d0 = &domains[0], d1 = &domains[1], d2 = &domains[2];
    current = NULL;
    return 0;
}

/* What trap_entry does after a trap: pick and make it current. */
static struct vcpu *schedule(void)
{
    struct vcpu *v = sched_pick_next();
    if (v)
        current = v;
    return v;
}

static long schedop(struct domain *d, int cmd, void *arg)
{
    return do_sched_op(&d->vcpus[0], (uint64_t)cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

static long watchdog(struct domain *d, uint32_t id, uint32_t timeout)
{
    struct sched_watchdog w = { .id = id, .timeout = timeout };
    return schedop(d, SCHEDOP_watchdog, &w);
}

static void only_running(struct domain *keep)
{
    for (unsigned int i = 0; i < 3; i++)
        if (&domains[i] != keep)
            domains[i].vcpus[0].blocked = 1;
}

/* ---- tests ---- */

/* A paused domain (pause_count > 0), and one whose vcpu has no context
 * yet or is down, is never picked, even when nothing else can run; it
 * runs again once unpaused. */
static void test_paused_never_runs(void **state)
{
    (void)state;
    d0->vcpus[0].blocked = 1;
    d2->vcpus[0].blocked = 1;
    d1->pause_count = 1;
    for (int t = 0; t < 5; t++) {
        fake_now += 40 * MS;
        assert_null(schedule());
    }
    d1->pause_count = 0;
    d1->vcpus[0].initialised = 0;
    assert_null(schedule());
    d1->vcpus[0].initialised = 1;
    d1->vcpus[0].online = 0;
    assert_null(schedule());
    d1->vcpus[0].online = 1;
    assert_ptr_equal(schedule(), &d1->vcpus[0]);
    /* paused while running: it loses the CPU at the next decision */
    d0->vcpus[0].blocked = 0;
    d1->pause_count = 2;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    fake_now += 40 * MS;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
}

/* Three spinning vcpus, a timer interrupt every ms: each gets a third
 * of the CPU, none runs longer than a slice at a stretch nor is switched
 * out before a credit tick, and while one runs the timer is armed no
 * later than its slice end. */
static void test_fairness(void **state)
{
    (void)state;
    uint64_t ran[3] = { 0 }, stretch = 0, longest = 0;
    struct vcpu *prev = schedule();
    assert_ptr_equal(prev, &d0->vcpus[0]);
    for (int t = 0; t < 900; t++) {
        assert_true(armed <= prev->ev.slice_end);
        assert_true(armed > fake_now);
        fake_now += MS;
        struct vcpu *v = schedule();
        assert_non_null(v);
        ran[prev->domain->domid] += MS;
        stretch = v == prev ? stretch + MS : MS;
        if (stretch > longest)
            longest = stretch;
        prev = v;
    }
    for (unsigned int i = 0; i < 3; i++)
        assert_in_range(ran[i], 270 * MS, 330 * MS);
    /* The credit scheduler decides at ticks (10 ms) and slice ends, never
     * at a mere timer interrupt (every 1 ms here): a vcpu keeps the CPU
     * at least a tick, at most a slice. */
    assert_true(longest >= 10 * MS);
    assert_true(longest <= SLICE);
    /* Runstate: the others waited runnable while one ran. */
    assert_int_equal(d1->vcpus[0].ev.rs_state, current == &d1->vcpus[0] ? RUNSTATE_running
                                                                 : RUNSTATE_runnable);
}

/* Run with a timer interrupt every ms for `ms` ms; CPU time per domain
 * (and idle) into ran[]. */
static void run_ms(unsigned int ms, uint64_t ran[4])
{
    struct vcpu *prev = schedule();
    for (unsigned int t = 0; t < ms; t++) {
        fake_now += MS;
        ran[prev ? prev->domain->domid : 3] += MS;
        prev = schedule();
    }
}

/* Through sched.c (the domctl's entry points): weights 256:512 split the
 * CPU 1:2 within 10%; a cap of 25 holds a domain to 25% +-5 next to an
 * uncapped one, and alone (the CPU idles the rest); lifting it gives it
 * the CPU. */
static void test_credit_weight_and_cap(void **state)
{
    (void)state;
    uint64_t ran[4] = { 0 };
    uint16_t w, c;
    d0->vcpus[0].blocked = 1;
    assert_int_equal(sched_credit_dom_put(d2, 512, 0xffff), 0);
    assert_int_equal(sched_credit_dom_get(d2, &w, &c), 0);
    assert_int_equal(w, 512);
    run_ms(3000, ran);
    assert_in_range(ran[2] * 1000 / ran[1], 1800, 2200);
    assert_int_equal(ran[0], 0);

    memset(ran, 0, sizeof(ran));
    assert_int_equal(sched_credit_dom_put(d1, 0, 25), 0);
    run_ms(3000, ran);
    assert_in_range(ran[1] * 100 / (3000 * MS), 20, 30);
    assert_int_equal(ran[3], 0); /* d2 takes the rest */

    memset(ran, 0, sizeof(ran));
    d2->vcpus[0].blocked = 1;
    run_ms(3000, ran);
    assert_in_range(ran[1] * 100 / (3000 * MS), 20, 30);
    assert_in_range(ran[3] * 100 / (3000 * MS), 70, 80); /* idle while d1 waits parked */

    memset(ran, 0, sizeof(ran));
    assert_int_equal(sched_credit_dom_put(d1, 0, 0), 0);
    run_ms(300, ran);
    assert_in_range(ran[1], 299 * MS, 300 * MS);
}

/* A vcpu woken by an event is boosted and preempts a spinner at once
 * (the spinner has run past the ratelimit and lost its own boost). */
static void test_wake_boost_preempts(void **state)
{
    (void)state;
    d2->vcpus[0].blocked = 1;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    d0->vcpus[0].info->evtchn_upcall_mask = 1;
    assert_int_equal(schedop(d0, SCHEDOP_block, NULL), 0);
    /* d1 woke boosted too (its first wake-up): past a tick it is not */
    for (unsigned int t = 0; t < 15; t++) {
        fake_now += MS;
        assert_ptr_equal(schedule(), &d1->vcpus[0]);
    }
    d0->vcpus[0].blocked = 0; /* what vcpu_wake does for an event */
    sched_raise_work();
    assert_ptr_equal(schedule(), &d0->vcpus[0]); /* before d1's slice ends */
    assert_int_equal(d1->vcpus[0].ev.rs_state, RUNSTATE_runnable);
}

/* Alone, a vcpu keeps the CPU past its slice (a new slice each time). */
static void test_alone_keeps_cpu(void **state)
{
    (void)state;
    only_running(d1);
    assert_ptr_equal(schedule(), &d1->vcpus[0]);
    for (int t = 0; t < 100; t++) {
        fake_now += MS;
        assert_ptr_equal(schedule(), &d1->vcpus[0]);
    }
}

static void test_yield(void **state)
{
    (void)state;
    d2->vcpus[0].blocked = 1;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    fake_now += MS;
    assert_int_equal(schedop(d0, SCHEDOP_yield, NULL), 0);
    assert_ptr_equal(schedule(), &d1->vcpus[0]); /* before d0's slice ended */
    d0->vcpus[0].blocked = 1;
    assert_int_equal(schedop(d1, SCHEDOP_yield, NULL), 0);
    assert_ptr_equal(schedule(), &d1->vcpus[0]); /* nobody else: yield is a no-op */
}

static void test_block_and_wake(void **state)
{
    (void)state;
    d2->vcpus[0].blocked = 1;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    /* Block with an event already pending: returns at once, unmasked. */
    d0->vcpus[0].info->evtchn_upcall_pending = 1;
    assert_int_equal(schedop(d0, SCHEDOP_block, NULL), 0);
    assert_false(d0->vcpus[0].blocked);
    assert_int_equal(d0->vcpus[0].info->evtchn_upcall_mask, 0);
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    /* Nothing pending: d0 sleeps, d1 runs. */
    d0->vcpus[0].info->evtchn_upcall_pending = 0;
    d0->vcpus[0].info->evtchn_upcall_mask = 1;
    assert_int_equal(schedop(d0, SCHEDOP_block, NULL), 0);
    assert_true(d0->vcpus[0].blocked);
    assert_ptr_equal(schedule(), &d1->vcpus[0]);
    assert_int_equal(d0->vcpus[0].ev.rs_state, RUNSTATE_blocked);
    fake_now += 5 * MS;
    assert_ptr_equal(schedule(), &d1->vcpus[0]);
    /* d1 signals d0 over an interdomain channel: d0 wakes, runnable. */
    evtchn_alloc_unbound_t au = { .dom = DOMID_SELF, .remote_dom = 1 };
    assert_int_equal(do_event_channel_op(&d0->vcpus[0], EVTCHNOP_alloc_unbound,
                                         (uint64_t)(uintptr_t)&au, 0, 0, 0), 0);
    evtchn_bind_interdomain_t bi = { .remote_dom = 0, .remote_port = au.port };
    assert_int_equal(do_event_channel_op(&d1->vcpus[0], EVTCHNOP_bind_interdomain,
                                         (uint64_t)(uintptr_t)&bi, 0, 0, 0), 0);
    d0->vcpus[0].info->evtchn_upcall_mask = 0;
    d0->vcpus[0].info->evtchn_upcall_pending = 0;
    evtchn_send_t s = { .port = bi.local_port };
    assert_true(d0->vcpus[0].blocked);
    assert_int_equal(do_event_channel_op(&d1->vcpus[0], EVTCHNOP_send, (uint64_t)(uintptr_t)&s, 0,
                                         0, 0), 0);
    assert_false(d0->vcpus[0].blocked);
    assert_int_equal(d0->vcpus[0].ev.rs_state, RUNSTATE_runnable);
    /* d1 keeps its slice; d0 runs when it ends. */
    assert_ptr_equal(schedule(), &d1->vcpus[0]);
    fake_now += SLICE;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
}

/* Everybody asleep: no vcpu, and the timer is armed for the earliest
 * guest deadline; the timer fires only after it, then the vcpu runs. */
static void test_idle_arms_nearest_timer(void **state)
{
    (void)state;
    only_running(NULL);
    d2->vcpus[0].ev.singleshot = fake_now + 7 * MS;
    d1->vcpus[0].ev.singleshot = fake_now + 3 * MS;
    evtchn_bind_virq_t bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    assert_int_equal(do_event_channel_op(&d1->vcpus[0], EVTCHNOP_bind_virq,
                                         (uint64_t)(uintptr_t)&bv, 0, 0, 0), 0);
    d1->vcpus[0].info->evtchn_upcall_mask = 0;
    assert_null(schedule());
    assert_int_equal(armed, fake_now + 3 * MS);
    fake_now += 3 * MS; /* exactly at the deadline: not yet (never early) */
    assert_null(schedule());
    assert_true(armed > fake_now - 1 && armed <= fake_now + 1);
    fake_now += 1;
    assert_ptr_equal(schedule(), &d1->vcpus[0]);
    assert_true(evtchn_port_is_pending(d1, bv.port));
    assert_int_equal(d1->vcpus[0].ev.singleshot, 0);
    /* d1 runs: armed for d2's timer, before d1's slice end. */
    assert_int_equal(armed, d2->vcpus[0].ev.singleshot);
}

static long poll(struct domain *d, evtchn_port_t *ports, unsigned int n, uint64_t timeout)
{
    struct sched_poll p = { .nr_ports = n, .timeout = timeout };
    set_xen_guest_handle(p.ports, ports);
    return schedop(d, SCHEDOP_poll, &p);
}

static void test_poll_timeout(void **state)
{
    (void)state;
    only_running(d0);
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    uint64_t timeout = fake_now + 20 * MS;
    assert_int_equal(poll(d0, NULL, 0, timeout), 0);
    assert_true(d0->vcpus[0].blocked);
    assert_null(schedule());
    assert_int_equal(armed, timeout);
    fake_now = timeout;
    assert_null(schedule());
    fake_now = timeout + 1;
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    assert_false(d0->vcpus[0].blocked);
    /* No timeout and no ports: sleeps until an event. */
    assert_int_equal(poll(d0, NULL, 0, 0), 0);
    fake_now += 5000 * MS;
    assert_null(schedule());
    vcpu_mark_events_pending(&d0->vcpus[0]);
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
}

static void test_poll_ports(void **state)
{
    (void)state;
    only_running(d0);
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    evtchn_bind_ipi_t ipi = { .vcpu = 0 };
    assert_int_equal(do_event_channel_op(&d0->vcpus[0], EVTCHNOP_bind_ipi,
                                         (uint64_t)(uintptr_t)&ipi, 0, 0, 0), 0);
    evtchn_port_t ports[2] = { 5, ipi.port };
    /* Already pending: returns at once. */
    evtchn_send_t s = { .port = ipi.port };
    do_event_channel_op(&d0->vcpus[0], EVTCHNOP_send, (uint64_t)(uintptr_t)&s, 0, 0, 0);
    assert_int_equal(poll(d0, ports, 2, 0), 0);
    assert_false(d0->vcpus[0].blocked);
    /* Not pending (events masked, so no upcall wakes it): sleeps until
     * the port is signalled, even with the upcall masked. */
    shinfo[0].evtchn_pending[0] = 0;
    d0->vcpus[0].info->evtchn_upcall_mask = 1;
    assert_int_equal(poll(d0, &ports[1], 1, 0), 0);
    assert_true(d0->vcpus[0].blocked);
    assert_null(schedule());
    do_event_channel_op(&d0->vcpus[0], EVTCHNOP_send, (uint64_t)(uintptr_t)&s, 0, 0, 0);
    assert_false(d0->vcpus[0].blocked);
    assert_ptr_equal(schedule(), &d0->vcpus[0]);
    /* Bad arguments. */
    evtchn_port_t bad = 5000;
    assert_int_equal(poll(d0, &bad, 1, 0), -XL_EINVAL);
    assert_int_equal(poll(d0, ports, 129, 0), -XL_EINVAL);
    assert_int_equal(schedop(d0, SCHEDOP_poll, NULL), -XL_EFAULT);
    assert_false(d0->vcpus[0].blocked);
}

static void test_shutdown_code_and_reap(void **state)
{
    (void)state;
    d1->auto_destroy = 1;
    struct sched_shutdown c = { .reason = SHUTDOWN_suspend };
    assert_int_equal(schedop(d1, SCHEDOP_shutdown_code, &c), 0);
    c.reason = SHUTDOWN_crash;
    assert_int_equal(schedop(d1, SCHEDOP_shutdown_code, &c), 0);
    assert_int_equal(d1->shutdown_code, SHUTDOWN_suspend); /* the first one sticks */
    struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
    assert_int_equal(schedop(d1, SCHEDOP_shutdown, &s), 0);
    assert_int_equal(d1->state, DOM_SHUTDOWN);
    assert_int_equal(d1->shutdown_reason, SHUTDOWN_suspend); /* the code replaces it */
    /* The next scheduling pass reaps the boot-time domU. */
    schedule();
    assert_int_equal(destroyed[1], 1);
    assert_int_equal(d1->state, DOM_FREE);
    /* Shut-down domains never run again. */
    for (int t = 0; t < 100; t++) {
        fake_now += MS;
        struct vcpu *v = schedule();
        assert_true(v == &d0->vcpus[0] || v == &d2->vcpus[0]);
    }
    /* Remote shutdown: dom0 may, d2 may not; unknown domain -ESRCH. */
    struct sched_remote_shutdown r = { .domain_id = 0, .reason = SHUTDOWN_reboot };
    assert_int_equal(schedop(d2, SCHEDOP_remote_shutdown, &r), -XL_EPERM);
    r.domain_id = 9;
    assert_int_equal(schedop(d0, SCHEDOP_remote_shutdown, &r), -XL_ESRCH);
    r.domain_id = 2;
    assert_int_equal(schedop(d0, SCHEDOP_remote_shutdown, &r), 0);
    assert_int_equal(d2->shutdown_reason, SHUTDOWN_reboot);
    assert_int_equal(destroyed[2], 0); /* not auto_destroy: left for its owner */
    assert_int_equal(schedop(d0, SCHEDOP_shutdown, NULL), -XL_EFAULT);
    assert_int_equal(schedop(d0, 99, NULL), -XL_ENOSYS);
}

/* d1 with n vcpus, all up; timers set up from vcpu `from` on (setup()
 * did vcpu 0's) */
static void d1_vcpus(unsigned int n, unsigned int from)
{
    d1->max_vcpus = n;
    for (unsigned int j = 0; j < n; j++) {
        struct vcpu *v = &d1->vcpus[j];
        v->domain = d1;
        v->id = j;
        v->initialised = v->online = 1;
        v->affinity = ~0ULL;
        v->info = &shinfo[1].vcpu_info[j];
        v->info->evtchn_upcall_mask = 1;
        if (j >= from)
            timer_vcpu_init(v);
        v->ev.periodic_period = 0;
    }
}

/* A slot's dying domain (destroyed with 4 vcpus, memory still going
 * back over later passes) is not taken back into the logic, and the
 * next domain of that slot, with 2 vcpus, is scheduled as a 2-vcpu
 * domain: walking 4 vcpus of it reached vcpus with no domain (a hv
 * #PF in domain_vcpu_may_run when xl created a 2-vcpu guest right after
 * destroying a 4-vcpu one). */
static void test_slot_reused_with_fewer_vcpus(void **state)
{
    (void)state;
    d1_vcpus(4, 1);
    for (int t = 0; t < 20; t++) {
        fake_now += MS;
        schedule();
    }
    /* domain.c's destroy: stage 0 takes it out of the scheduler, later
     * stages run over further passes with the domain still there */
    sched_domain_destroy(d1);
    d1->destroy_stage = 1;
    d1->state = DOM_SHUTDOWN;
    if (current && current->domain == d1)
        current = NULL;
    for (int t = 0; t < 5; t++) {
        fake_now += MS;
        struct vcpu *v = schedule();
        assert_true(!v || v->domain != d1);
    }
    /* wiped, and the slot taken at once by a 2-vcpu domain */
    memset(d1, 0, sizeof(*d1));
    d1->domid = 1;
    d1->state = DOM_RUNNING;
    d1->shutdown_code = ~0u;
    d1->shared_info = &shinfo[1];
    d1_vcpus(2, 0);
    evtchn_domain_init(d1);
    only_running(d1);
    int seen[2] = { 0, 0 };
    for (int t = 0; t < 40; t++) {
        fake_now += 10 * MS;
        struct vcpu *v = schedule();
        if (v && v->domain == d1) {
            assert_true(v == &d1->vcpus[0] || v == &d1->vcpus[1]);
            seen[v->id]++;
        }
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
}

static void test_watchdog(void **state)
{
    (void)state;
    only_running(d0);
    d1->vcpus[0].blocked = 0;
    assert_int_equal(watchdog(d1, 0, 5), 1);
    assert_int_equal(watchdog(d1, 0, 10), 2);
    assert_int_equal(watchdog(d1, 0, 10), (long)(uint32_t)-XL_ENOSPC);
    assert_int_equal(watchdog(d1, 3, 10), -XL_EINVAL);
    assert_int_equal(watchdog(d1, 2, 0), 0);  /* destroy */
    assert_int_equal(watchdog(d1, 2, 10), -XL_EINVAL);
    assert_int_equal(watchdog(d1, 0, 0xffffffffu), 2); /* free id reused */
    assert_int_equal(watchdog(d1, 0, 5) , (long)(uint32_t)-XL_ENOSPC);
    assert_int_equal(schedop(d1, SCHEDOP_watchdog, NULL), -XL_EFAULT);
    uint64_t start = fake_now;
    assert_int_equal(watchdog(d1, 1, 2), 0); /* ping: now 2 s */
    schedule();
    assert_true(armed <= start + 2000 * MS);
    fake_now = start + 2000 * MS;
    schedule();
    assert_int_equal(d1->state, DOM_RUNNING); /* not before its deadline */
    fake_now += 1;
    schedule();
    assert_int_equal(d1->state, DOM_SHUTDOWN);
    assert_int_equal(d1->shutdown_reason, SHUTDOWN_watchdog);
    assert_int_equal(d0->state, DOM_RUNNING);
}


/* ---- several vcpus (issue 10) ---- */

/* d1 gets a second vcpu, down and without a context (domain_set_max_vcpus). */
static struct vcpu *add_vcpu1(struct domain *d)
{
    struct vcpu *v = &d->vcpus[1];
    memset(v, 0, sizeof(*v));
    v->domain = d;
    v->id = 1;
    v->affinity = ~0ULL;
    v->info = &d->shared_info->vcpu_info[1];
    v->info->evtchn_upcall_mask = 1;
    timer_vcpu_init(v);
    v->ev.periodic_period = 0;
    v->ev.rs_state = RUNSTATE_offline;
    d->max_vcpus = 2;
    return v;
}

static long vcpuop(struct vcpu *v, int cmd, unsigned int id, void *arg)
{
    return do_vcpu_op(v, (uint64_t)cmd, id, (uint64_t)(uintptr_t)arg, 0, 0);
}

static void test_vcpu_op_lifecycle(void **state)
{
    (void)state;
    struct vcpu *v0 = &d1->vcpus[0], *v1 = add_vcpu1(d1);
    int ctx;
    assert_int_equal(vcpuop(v0, VCPUOP_is_up, 2, NULL), -XL_ENOENT);   /* >= max_vcpus */
    assert_int_equal(vcpuop(v0, VCPUOP_initialise, 8, &ctx), -XL_ENOENT);
    assert_int_equal(vcpuop(v0, VCPUOP_is_up, 1, NULL), 0);
    assert_int_equal(vcpuop(v0, VCPUOP_up, 1, NULL), -XL_EINVAL);      /* no context yet */
    assert_int_equal(vcpuop(v0, VCPUOP_initialise, 0, &ctx), -XL_EEXIST);
    assert_int_equal(vcpuop(v0, VCPUOP_initialise, 1, &ctx), 0);
    assert_int_equal(vcpuop(v0, VCPUOP_initialise, 1, &ctx), -XL_EEXIST);
    assert_false(domain_vcpu_may_run(v1));                              /* initialised, still down */
    assert_int_equal(vcpuop(v0, VCPUOP_up, 1, NULL), 0);
    assert_int_equal(vcpuop(v0, VCPUOP_is_up, 1, NULL), 1);
    assert_int_equal(v1->ev.rs_state, RUNSTATE_runnable);
    /* Another vcpu's singleshot timer is not the caller's to set. */
    struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = fake_now + MS };
    assert_int_equal(vcpuop(v0, VCPUOP_set_singleshot_timer, 1, &st), -XL_EINVAL);
    assert_int_equal(vcpuop(v0, VCPUOP_stop_singleshot_timer, 1, NULL), -XL_EINVAL);
    /* Down vcpu 1 (vcpu 0 still up): the domain lives on. */
    assert_int_equal(vcpuop(v0, VCPUOP_down, 1, NULL), 0);
    assert_int_equal(vcpuop(v0, VCPUOP_is_up, 1, NULL), 0);
    assert_int_equal(v1->ev.rs_state, RUNSTATE_offline);
    assert_int_equal(d1->state, DOM_RUNNING);
    /* Up again: no new context needed. Then the last one up goes down. */
    assert_int_equal(vcpuop(v0, VCPUOP_up, 1, NULL), 0);
    assert_int_equal(vcpuop(v0, VCPUOP_down, 0, NULL), 0);
    assert_int_equal(d1->state, DOM_RUNNING);
    assert_int_equal(vcpuop(v1, VCPUOP_down, 1, NULL), 0);
    assert_int_equal(d1->state, DOM_SHUTDOWN);
    assert_int_equal(d1->shutdown_reason, SHUTDOWN_poweroff);
}

static void test_round_robin_over_vcpus(void **state)
{
    (void)state;
    struct vcpu *v1 = add_vcpu1(d1);
    int ctx;
    assert_int_equal(vcpuop(&d1->vcpus[0], VCPUOP_initialise, 1, &ctx), 0);
    assert_int_equal(vcpuop(&d1->vcpus[0], VCPUOP_up, 1, NULL), 0);
    /* Every vcpu of every domain gets its turn: d0v0, d1v0, d1v1, d2v0. */
    struct vcpu *seen[8];
    for (unsigned int i = 0; i < 8; i++) {
        seen[i] = schedule();
        seen[i]->ev.yielded = 1;
    }
    assert_ptr_equal(seen[0], &d0->vcpus[0]);
    assert_ptr_equal(seen[1], &d1->vcpus[0]);
    assert_ptr_equal(seen[2], v1);
    assert_ptr_equal(seen[3], &d2->vcpus[0]);
    assert_ptr_equal(seen[4], &d0->vcpus[0]);
    /* Paused: neither vcpu runs. Down: that vcpu never runs. */
    d1->pause_count = 1;
    for (unsigned int i = 0; i < 4; i++) {
        struct vcpu *v = schedule();
        assert_ptr_not_equal(v->domain, d1);
        v->ev.yielded = 1;
    }
    d1->pause_count = 0;
    assert_int_equal(vcpuop(&d1->vcpus[0], VCPUOP_down, 1, NULL), 0);
    for (unsigned int i = 0; i < 6; i++) {
        struct vcpu *v = schedule();
        assert_ptr_not_equal(v, v1);
        v->ev.yielded = 1;
    }
}

static void test_events_to_notify_vcpu(void **state)
{
    (void)state;
    struct vcpu *v0 = &d1->vcpus[0], *v1 = add_vcpu1(d1);
    int ctx;
    assert_int_equal(vcpuop(v0, VCPUOP_initialise, 1, &ctx), 0);
    assert_int_equal(vcpuop(v0, VCPUOP_up, 1, NULL), 0);
    v0->info->evtchn_upcall_mask = v1->info->evtchn_upcall_mask = 0;
    /* An IPI port on vcpu 1: its event goes to vcpu 1's vcpu_info and
     * wakes it from SCHEDOP_block. */
    evtchn_bind_ipi_t ipi = { .vcpu = 1 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_ipi, (uint64_t)(uintptr_t)&ipi, 0, 0, 0), 0);
    evtchn_bind_ipi_t bad = { .vcpu = 2 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_ipi, (uint64_t)(uintptr_t)&bad, 0, 0, 0),
                     -XL_ENOENT);
    assert_int_equal(do_sched_op(v1, SCHEDOP_block, 0, 0, 0, 0), 0);
    assert_true(v1->blocked);
    evtchn_send_t snd = { .port = ipi.port };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_send, (uint64_t)(uintptr_t)&snd, 0, 0, 0), 0);
    assert_false(v1->blocked);
    assert_true(v1->info->evtchn_upcall_pending);
    assert_int_equal(v1->info->evtchn_pending_sel, 1);
    assert_false(v0->info->evtchn_upcall_pending);
    assert_int_equal(v0->info->evtchn_pending_sel, 0);
    /* VIRQ_TIMER per vcpu: vcpu 1's own port; bind_vcpu may not move it,
     * nor an IPI; an unbound port moves, to an existing vcpu only. */
    evtchn_bind_virq_t t1 = { .virq = VIRQ_TIMER, .vcpu = 1 }, t0 = { .virq = VIRQ_TIMER, .vcpu = 0 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_virq, (uint64_t)(uintptr_t)&t1, 0, 0, 0), 0);
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_virq, (uint64_t)(uintptr_t)&t0, 0, 0, 0), 0);
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_virq, (uint64_t)(uintptr_t)&t1, 0, 0, 0),
                     -XL_EEXIST);
    evtchn_bind_virq_t g = { .virq = VIRQ_DOM_EXC, .vcpu = 1 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_virq, (uint64_t)(uintptr_t)&g, 0, 0, 0),
                     -XL_EINVAL);
    evtchn_bind_vcpu_t bv = { .port = t1.port, .vcpu = 0 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_vcpu, (uint64_t)(uintptr_t)&bv, 0, 0, 0),
                     -XL_EINVAL);
    bv.port = ipi.port;
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_vcpu, (uint64_t)(uintptr_t)&bv, 0, 0, 0),
                     -XL_EINVAL);
    evtchn_alloc_unbound_t u = { .dom = DOMID_SELF, .remote_dom = 0 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_alloc_unbound, (uint64_t)(uintptr_t)&u, 0, 0, 0), 0);
    bv = (evtchn_bind_vcpu_t){ .port = u.port, .vcpu = 2 };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_vcpu, (uint64_t)(uintptr_t)&bv, 0, 0, 0),
                     -XL_ENOENT);
    bv.vcpu = 1;
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_vcpu, (uint64_t)(uintptr_t)&bv, 0, 0, 0), 0);
    evtchn_status_t st = { .dom = DOMID_SELF, .port = u.port };
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_status, (uint64_t)(uintptr_t)&st, 0, 0, 0), 0);
    assert_int_equal(st.vcpu, 1);
    /* Each vcpu's singleshot timer raises its own VIRQ_TIMER port. */
    v1->info->evtchn_pending_sel = 0;
    v1->info->evtchn_upcall_pending = 0;
    d1->shared_info->evtchn_pending[0] = 0;
    assert_int_equal(do_set_timer_op(v1, fake_now + MS, 0, 0, 0, 0), 0);
    fake_now += 2 * MS;
    timers_run(fake_now);
    assert_true(d1->shared_info->evtchn_pending[0] >> t1.port & 1);
    assert_false(d1->shared_info->evtchn_pending[0] >> t0.port & 1);
    assert_true(v1->info->evtchn_upcall_pending);
    assert_false(v0->info->evtchn_upcall_pending);
}

/* ---- SMP: the CPU choice (fake_smp.c plays the arch) ---- */
extern unsigned int fake_smp_cpu;
extern uint64_t fake_smp_kicked, fake_smp_idle;

static void test_choose_idle_cpu(void **state)
{
    (void)state;
    assert_int_equal(sched_choose_idle_cpu(0, ~0ULL, 0), -1);          /* nobody idles */
    assert_int_equal(sched_choose_idle_cpu(0x1, ~0ULL, 0), -1);        /* only self */
    assert_int_equal(sched_choose_idle_cpu(0xc, ~0ULL, 1), 2);         /* lowest idle */
    assert_int_equal(sched_choose_idle_cpu(0xc, 0x8, 1), 3);           /* affinity */
    assert_int_equal(sched_choose_idle_cpu(0xc, 0x3, 1), -1);          /* affinity excludes all */
    assert_int_equal(sched_choose_idle_cpu(1ULL << 63, ~0ULL, 64), 63); /* self out of range */
}

/* A vcpu running on cpu 1 is never picked on cpu 0; one whose affinity
 * leaves cpu 0 out neither; the pick marks what it chose running here. */
static void test_pick_skips_running_elsewhere_and_affinity(void **state)
{
    (void)state;
    sched_init(2);
    d1->vcpus[0].affinity = 0x2; /* cpu 1 only */
    d2->vcpus[0].blocked = 1;
    /* cpu 0 may not take d1: d0 is the only choice */
    fake_smp_cpu = 0;
    struct vcpu *v = sched_pick_next();
    assert_ptr_equal(v, &d0->vcpus[0]);
    assert_true(v->running);
    assert_int_equal(v->processor, 0);
    /* cpu 1 takes what cpu 0 does not run */
    fake_smp_cpu = 1;
    v = sched_pick_next();
    assert_ptr_equal(v, &d1->vcpus[0]);
    assert_true(v->running);
    assert_int_equal(v->processor, 1);
    assert_true(sched_vcpu_can_run_on(&d1->vcpus[0], 1));
    assert_false(sched_vcpu_can_run_on(&d1->vcpus[0], 0));
    assert_false(sched_vcpu_can_run_on(&d0->vcpus[0], 1));
    /* d0 blocks: nothing else may run on cpu 0 (d1 runs on cpu 1 and is
     * pinned there); d0 is not running any more */
    d0->vcpus[0].blocked = 1;
    fake_smp_cpu = 0;
    sched_work_pending = ~0ULL;
    assert_null(sched_pick_next());
    assert_false(d0->vcpus[0].running);
    /* unpinned, d1 still runs on cpu 1 only until cpu 1 lets it go */
    d1->vcpus[0].affinity = ~0ULL;
    sched_work_pending = ~0ULL;
    assert_null(sched_pick_next());
    assert_true(d1->vcpus[0].running);
    assert_int_equal(d1->vcpus[0].processor, 1);
    fake_smp_cpu = 0;
}

/* xl vcpu-pin of a vcpu running on cpu 1 to cpu 0 while nothing else
 * can run on cpu 1: cpu 1 lets it go and, going idle, arms its timer for
 * at once (not a second later), so its next pass hands the vcpu over
 * (its context saved by then) and kicks cpu 0, which runs it. */
static void test_repin_running_moves_at_once(void **state)
{
    (void)state;
    sched_init(2);
    d0->vcpus[0].blocked = 1;
    d2->vcpus[0].blocked = 1;
    fake_smp_cpu = 1;
    assert_ptr_equal(sched_pick_next(), &d1->vcpus[0]);
    assert_int_equal(d1->vcpus[0].processor, 1);
    d1->vcpus[0].affinity = 0x1;  /* what setvcpuaffinity writes, then a kick */
    fake_now += MS;
    sched_work_pending = ~0ULL;
    assert_null(sched_pick_next());
    assert_false(d1->vcpus[0].running);
    assert_true(armed <= fake_now);
    fake_smp_kicked = 0;
    fake_now += MS / 10;          /* the timer fires; the context was saved */
    assert_null(sched_pick_next());
    assert_int_equal(fake_smp_kicked & 1, 1);
    fake_smp_cpu = 0;
    assert_ptr_equal(sched_pick_next(), &d1->vcpus[0]);
    assert_int_equal(d1->vcpus[0].processor, 0);
    d1->vcpus[0].affinity = ~0ULL;
    fake_smp_kicked = 0;
}

/* Event delivery to a vcpu running on another CPU kicks that CPU; a
 * runnable vcpu that runs nowhere gets an idle CPU of its affinity. */
static void test_kick_targets(void **state)
{
    (void)state;
    fake_smp_cpu = 0;
    fake_smp_kicked = 0;
    fake_smp_idle = 0;
    d1->vcpus[0].running = 1;
    d1->vcpus[0].processor = 3;
    vcpu_kick(&d1->vcpus[0]);
    assert_int_equal(fake_smp_kicked, 1ULL << 3);
    fake_smp_kicked = 0;
    d1->vcpus[0].running = 0;
    fake_smp_idle = 0x6;
    d1->vcpus[0].affinity = 0x4;
    vcpu_kick(&d1->vcpus[0]);
    assert_int_equal(fake_smp_kicked, 1ULL << 2);
    fake_smp_kicked = 0;
    assert_int_equal(domain_running_elsewhere(d1), 0);
    d1->vcpus[0].running = 1;
    d1->vcpus[0].processor = 2;
    assert_int_equal(domain_running_elsewhere(d1), 1);
    assert_int_equal(fake_smp_kicked, 1ULL << 2);
    d1->vcpus[0].running = 0;
    d1->vcpus[0].affinity = ~0ULL;
    fake_smp_idle = 0;
    fake_smp_kicked = 0;
}

/* The ticket lock: arrivals are served in order, a release passes it on. */
static void test_ticketlock_order(void **state)
{
    (void)state;
    struct ticketlock l = { 0, 0 };
    assert_false(ticket_lock_is_locked(&l));
    uint32_t a = ticket_lock_take(&l), b = ticket_lock_take(&l), c = ticket_lock_take(&l);
    assert_true(ticket_lock_mine(&l, a));
    assert_false(ticket_lock_mine(&l, b));
    assert_int_equal(ticket_lock_ahead(&l, c), 2);
    assert_false(ticket_lock_try(&l)); /* held and waited for */
    ticket_lock_release(&l);
    assert_true(ticket_lock_mine(&l, b));
    assert_false(ticket_lock_mine(&l, c));
    ticket_lock_release(&l);
    assert_true(ticket_lock_mine(&l, c));
    ticket_lock_release(&l);
    assert_false(ticket_lock_is_locked(&l));
    assert_true(ticket_lock_try(&l));
    assert_true(ticket_lock_is_locked(&l));
    ticket_lock_release(&l);
    /* wrap-around of the 32-bit counters */
    l.next = l.owner = 0xffffffffu;
    uint32_t w = ticket_lock_take(&l), x = ticket_lock_take(&l);
    assert_true(ticket_lock_mine(&l, w));
    ticket_lock_release(&l);
    assert_true(ticket_lock_mine(&l, x));
    assert_int_equal(x, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fairness, setup),
        cmocka_unit_test_setup(test_credit_weight_and_cap, setup),
        cmocka_unit_test_setup(test_wake_boost_preempts, setup),
        cmocka_unit_test_setup(test_alone_keeps_cpu, setup),
        cmocka_unit_test_setup(test_yield, setup),
        cmocka_unit_test_setup(test_block_and_wake, setup),
        cmocka_unit_test_setup(test_idle_arms_nearest_timer, setup),
        cmocka_unit_test_setup(test_poll_timeout, setup),
        cmocka_unit_test_setup(test_poll_ports, setup),
        cmocka_unit_test_setup(test_shutdown_code_and_reap, setup),
        cmocka_unit_test_setup(test_slot_reused_with_fewer_vcpus, setup),
        cmocka_unit_test_setup(test_watchdog, setup),
        cmocka_unit_test_setup(test_paused_never_runs, setup),
        cmocka_unit_test_setup(test_vcpu_op_lifecycle, setup),
        cmocka_unit_test_setup(test_round_robin_over_vcpus, setup),
        cmocka_unit_test_setup(test_events_to_notify_vcpu, setup),
        cmocka_unit_test_setup(test_choose_idle_cpu, setup),
        cmocka_unit_test_setup(test_pick_skips_running_elsewhere_and_affinity, setup),
        cmocka_unit_test_setup(test_repin_running_moves_at_once, setup),
        cmocka_unit_test_setup(test_kick_targets, setup),
        cmocka_unit_test(test_ticketlock_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
