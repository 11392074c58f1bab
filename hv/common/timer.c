/*
 * timer.c - time as guests see it: the PV clock in every vcpu_info, the
 * shared_info wallclock, per-vcpu timers (set_timer_op, VCPUOP singleshot
 * and periodic timers, SCHEDOP_poll timeouts), runstate accounting, and
 * the vcpu_op hypercall.
 * Owns: the timer and runstate fields of struct vcpu_events, the
 * vcpu_time_info and wc_* words of shared_info.
 * Must never: fire a timer before its deadline (system time, ns since
 * boot); let a guest's area registration fault the hv (guest copies only
 * through guest_access). Pure C: the clock comes from arch hooks.
 */
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>

#define MILLISECS(ms) ((uint64_t)(ms) * 1000000ULL)
#define STIME_DELTA_MAX (1ULL << 62)
/* The running vcpu's PV clock is rewritten at least this often (Xen's
 * time calibration epoch); it is also rewritten whenever it is
 * scheduled in. */
#define TIME_REFRESH_NS MILLISECS(1000)

static uint64_t refresh_next;

uint64_t xl_now(void)
{
    return arch_time_ns();
}

static void barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

/* ---- PV clock and wallclock ---- */

static int time_area_write(struct vcpu *v, const struct vcpu_time_info *final);

void vcpu_update_time(struct vcpu *v)
{
    struct vcpu_time_info *t = &v->info->time, tmp;
    t->version = (t->version + 1) | 1; /* odd: in progress (Xen's version_update_begin) */
    barrier();
    tmp = *t;
    arch_pvclock_fill(&tmp);
    t->tsc_timestamp = tmp.tsc_timestamp;
    t->system_time = tmp.system_time;
    t->tsc_to_system_mul = tmp.tsc_to_system_mul;
    t->tsc_shift = tmp.tsc_shift;
    t->flags = tmp.flags;
    barrier();
    t->version++;
    if (v->ev.time_guest_va) {
        tmp = *t;
        /* A copy the guest's current page tables cannot take while it is
         * in user mode is kept and written on its next switch to kernel
         * mode (Xen's pending_system_time). */
        v->ev.time_pending = !time_area_write(v, &tmp) && !v->pv.kernel_mode;
    }
}

/* Xen's update_secondary_system_time: the version odd first, then the
 * whole record (still odd), then the even version, so a reader of the
 * guest's copy sees the same protocol as in vcpu_info. A guest address
 * that does not take the write just skips it. 1 if written. */
static int time_area_write(struct vcpu *v, const struct vcpu_time_info *final)
{
    struct vcpu_time_info u = *final;
    uint64_t va = v->ev.time_guest_va;
    u.version = final->version - 1; /* odd: in progress */
    if (copy_to_guest_va(v->cr3, va, &u.version, sizeof(u.version)))
        return 0;
    barrier();
    if (copy_to_guest_va(v->cr3, va, &u, sizeof(u)))
        return 0;
    barrier();
    u.version = final->version;
    copy_to_guest_va(v->cr3, va, &u.version, sizeof(u.version));
    return 1;
}

void domain_update_wallclock(struct domain *d)
{
    uint64_t sec;
    uint32_t nsec;
    shared_info_t *s = d->shared_info;
    arch_wallclock_base(&sec, &nsec);
    s->wc_version = (s->wc_version + 1) | 1; /* odd even if the guest left it odd */
    barrier();
    s->wc_sec = (uint32_t)sec;
    s->wc_sec_hi = (uint32_t)(sec >> 32);
    s->wc_nsec = nsec;
    barrier();
    s->wc_version++;
}

/* ---- runstate ---- */

static void runstate_snapshot(const struct vcpu *v, uint64_t now, struct vcpu_runstate_info *r)
{
    memset(r, 0, sizeof(*r)); /* the padding after state reaches the guest too */
    r->state = v->ev.rs_state;
    r->state_entry_time = v->ev.rs_entry;
    for (unsigned int i = 0; i < 4; i++)
        r->time[i] = v->ev.rs_time[i];
    if (now > v->ev.rs_entry)
        r->time[r->state] += now - v->ev.rs_entry;
}

/* Xen's update_runstate_area: with VMASST_TYPE_runstate_update_flag,
 * XEN_RUNSTATE_UPDATE is set in state_entry_time (its top byte written
 * alone) before the record is written and cleared after it, so the
 * guest can tell a torn read. Returns 1 if the record was written. */
static int runstate_area_write(struct vcpu *v, const struct vcpu_runstate_info *rs)
{
    struct vcpu_runstate_info r = *rs;
    uint64_t va = v->ev.runstate_guest_va;
    uint64_t top = va + offsetof(struct vcpu_runstate_info, state_entry_time) + 7;
    int flag = !!(v->pv.vm_assist & (1ULL << VMASST_TYPE_runstate_update_flag));
    if (flag) {
        r.state_entry_time |= XEN_RUNSTATE_UPDATE;
        copy_to_guest_va(v->cr3, top, (uint8_t *)&r.state_entry_time + 7, 1);
        barrier();
    }
    int ok = !copy_to_guest_va(v->cr3, va, &r, sizeof(r));
    if (flag) {
        r.state_entry_time &= ~XEN_RUNSTATE_UPDATE;
        barrier();
        copy_to_guest_va(v->cr3, top, (uint8_t *)&r.state_entry_time + 7, 1);
    }
    return ok;
}

/* The record as the registered area shows it (Xen's v->runstate: the
 * time of the current state is not yet added). */
static void runstate_raw(const struct vcpu *v, struct vcpu_runstate_info *r)
{
    memset(r, 0, sizeof(*r));
    r->state = v->ev.rs_state;
    r->state_entry_time = v->ev.rs_entry;
    for (unsigned int i = 0; i < 4; i++)
        r->time[i] = v->ev.rs_time[i];
}

static void runstate_area_update(struct vcpu *v)
{
    if (!v->ev.runstate_guest_va || v->domain->state != DOM_RUNNING)
        return;
    struct vcpu_runstate_info r;
    runstate_raw(v, &r);
    /* In guest user mode the kernel's area is usually not mapped: Xen
     * retries on the next switch to kernel mode (need_update_runstate_area). */
    v->ev.rs_pending = !runstate_area_write(v, &r) && !v->pv.kernel_mode;
}

void vcpu_runstate_change(struct vcpu *v, int state, uint64_t now)
{
    if (now < v->ev.rs_entry)
        now = v->ev.rs_entry;
    v->ev.rs_time[v->ev.rs_state] += now - v->ev.rs_entry;
    v->ev.rs_state = state;
    v->ev.rs_entry = now;
    runstate_area_update(v);
}

/* Xen's toggle_guest_mode tail: write what failed while in user mode. */
void timer_vcpu_mode_toggled(struct vcpu *v)
{
    if (v->ev.rs_pending) {
        struct vcpu_runstate_info r;
        runstate_raw(v, &r);
        if (v->domain->state == DOM_RUNNING && v->ev.runstate_guest_va &&
            runstate_area_write(v, &r))
            v->ev.rs_pending = 0;
    }
    if (v->ev.time_pending && v->ev.time_guest_va) {
        struct vcpu_time_info t = v->info->time;
        if (!(t.version & 1) && time_area_write(v, &t))
            v->ev.time_pending = 0;
    }
}

void timer_vcpu_init(struct vcpu *v)
{
    uint64_t now = xl_now();
    memset(&v->ev.rs_time, 0, sizeof(v->ev.rs_time));
    v->ev.rs_state = RUNSTATE_runnable;
    v->ev.rs_entry = now;
    v->ev.singleshot = 0;
    v->ev.poll_deadline = 0;
    v->ev.periodic_period = MILLISECS(10); /* Xen: PV guests get a 100 Hz ticker */
    v->ev.periodic_next = now + v->ev.periodic_period;
    v->ev.runstate_guest_va = 0;
    v->ev.time_guest_va = 0;
    v->ev.rs_pending = 0;
    v->ev.time_pending = 0;
}

/* ---- timers ---- */

/* A deadline is due once now has passed it (strictly: never early even
 * by the ns a guest's own PV clock reading may lag the hv's). */
static int due(uint64_t deadline, uint64_t now)
{
    return deadline && now > deadline;
}

static uint64_t domain_deadline(const struct domain *d, const struct vcpu *except);

/* One domain's expired timers (d DOM_RUNNING; a watchdog may shut it
 * down), then its earliest deadline. Only d's own vcpus are woken or
 * sent VIRQs. */
uint64_t timers_run_domain(struct domain *d, uint64_t now, const struct vcpu *except)
{
    struct vcpu *v;
    for_each_vcpu(d, v) {
        if (due(v->ev.singleshot, now)) {
            v->ev.singleshot = 0;
            send_guest_vcpu_virq(v, VIRQ_TIMER);
        }
        /* Xen runs the periodic timer only while the vcpu runs. */
        if (v->ev.rs_state == RUNSTATE_running && v->ev.periodic_period &&
            due(v->ev.periodic_next, now)) {
            send_guest_vcpu_virq(v, VIRQ_TIMER);
            v->ev.periodic_next = now + v->ev.periodic_period;
        }
        if (v->blocked && v->ev.polling && due(v->ev.poll_deadline, now))
            vcpu_wake(v);
        /* an HVM vcpu's local APIC timer: it runs the APIC on its way in */
        if (due(v->hvm.lapic_deadline, now)) {
            v->hvm.lapic_deadline = 0;
            if (v->blocked)
                vcpu_wake(v);
            else
                vcpu_kick(v);
        }
    }
    for (unsigned int w = 0; d->ev.watchdog_inuse && w < XL_NR_WATCHDOGS && d->state == DOM_RUNNING;
         w++)
        if ((d->ev.watchdog_inuse >> w & 1) && due(d->ev.watchdog_deadline[w], now)) {
            printk("d%u watchdog %u fired\n", d->domid, w + 1);
            sched_domain_shutdown(d, SHUTDOWN_watchdog);
        }
    return d->state == DOM_RUNNING ? domain_deadline(d, except) : 0;
}

uint64_t timers_refresh(uint64_t now)
{
    if (now >= refresh_next) {
        refresh_next = now + TIME_REFRESH_NS;
        for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
            struct vcpu *v;
            if (domains[i].state == DOM_RUNNING)
                for_each_vcpu(&domains[i], v)
                    if (v->ev.rs_state == RUNSTATE_running)
                        vcpu_update_time(v);
        }
    }
    return refresh_next;
}

void timers_run(uint64_t now)
{
    for (unsigned int i = 0; i < MAX_DOMAINS; i++)
        if (domains[i].state == DOM_RUNNING)
            timers_run_domain(&domains[i], now, NULL);
    timers_refresh(now);
}

static void earliest(uint64_t *best, uint64_t t)
{
    if (t && (!*best || t < *best))
        *best = t;
}

static uint64_t domain_deadline(const struct domain *d, const struct vcpu *except)
{
    uint64_t best = 0;
    const struct vcpu *v;
    for_each_vcpu(d, v) {
        earliest(&best, v->ev.singleshot);
        earliest(&best, v->ev.poll_deadline);
        earliest(&best, v->hvm.lapic_deadline);
        if (v != except && v->ev.rs_state == RUNSTATE_running && v->ev.periodic_period)
            earliest(&best, v->ev.periodic_next);
    }
    for (unsigned int w = 0; d->ev.watchdog_inuse && w < XL_NR_WATCHDOGS; w++)
        if (d->ev.watchdog_inuse >> w & 1)
            earliest(&best, d->ev.watchdog_deadline[w]);
    return best;
}

uint64_t timers_next_deadline(void)
{
    uint64_t best = refresh_next;
    for (unsigned int i = 0; i < MAX_DOMAINS; i++)
        if (domains[i].state == DOM_RUNNING)
            earliest(&best, domain_deadline(&domains[i], NULL));
    return best;
}

/* The periodic timer restarts when its vcpu is scheduled in (Xen's
 * vcpu_periodic_timer_work): an overdue tick fires now. */
void timer_vcpu_scheduled_in(struct vcpu *v, uint64_t now)
{
    if (v->ev.periodic_period && due(v->ev.periodic_next, now)) {
        send_guest_vcpu_virq(v, VIRQ_TIMER);
        v->ev.periodic_next = now + v->ev.periodic_period;
    }
}

long do_set_timer_op(struct vcpu *v, uint64_t timeout, uint64_t a2, uint64_t a3, uint64_t a4,
                     uint64_t a5)
{
    (void)a2; (void)a3; (void)a4; (void)a5;
    uint64_t now = xl_now();
    int64_t offset = (int64_t)(timeout - now);
    sched_raise_work(); /* the LAPIC may need this deadline */
    if (timeout == 0)
        v->ev.singleshot = 0;
    else if ((int64_t)timeout < 0 || (offset > 0 && (uint32_t)(offset >> 50) != 0))
        v->ev.singleshot = now + MILLISECS(100); /* Xen's guard for wrapped deadlines */
    else
        v->ev.singleshot = timeout;
    return 0;
}

/* Xen's map_vcpu_info for a PV guest (gfn == mfn): the frame must be the
 * domain's own and take a writable type (not a page table); the offset
 * must leave room for a vcpu_info and be 8-byte aligned (else -ENXIO);
 * only once per vcpu; every other failure is -EINVAL. The old contents are copied over, then
 * every selector bit is set and the upcall marked pending ("nothing gets
 * lost": the guest sees one spurious scan). */
static long vcpu_info_map(struct vcpu *v, uint64_t mfn, uint64_t offset)
{
    if (offset > PAGE_SIZE - sizeof(vcpu_info_t) || (offset & 7))
        return -XEN_ENXIO; /* Xen 4.17 (checked on Xen); no XL_ name yet */
    if (v->ev.vcpu_info_registered)
        return -XL_EINVAL;
    if (get_page_and_type(mfn, v->domain->domid, PGT_writable))
        return -XL_EINVAL;
    vcpu_info_t *ni = (vcpu_info_t *)((uint8_t *)mfn_to_virt(mfn) + offset);
    memcpy(ni, v->info, sizeof(*ni));
    v->info = ni;
    v->ev.vcpu_info_mfn = mfn;
    v->ev.vcpu_info_registered = 1;
    __atomic_store_n(&ni->evtchn_pending_sel, ~0UL, __ATOMIC_SEQ_CST);
    vcpu_mark_events_pending(v);
    return 0;
}

void vcpu_info_unmap(struct vcpu *v)
{
    if (!v->ev.vcpu_info_registered)
        return;
    v->info = &v->domain->shared_info->vcpu_info[v->id];
    v->ev.vcpu_info_registered = 0;
    put_page_and_type(v->ev.vcpu_info_mfn);
}

void vcpu_set_online(struct vcpu *v, int online)
{
    if (v->online == online)
        return;
    v->online = online;
    sched_raise_work(); /* a vcpu to start, or the running one to stop */
    if (v == current)
        return; /* the scheduler's next pass takes it off (runstate offline) */
    if (online) {
        v->blocked = 0;
        vcpu_runstate_change(v, RUNSTATE_runnable, xl_now());
    } else {
        vcpu_runstate_change(v, RUNSTATE_offline, xl_now());
    }
}

/* VCPUOP_*: the caller v acts on vcpu t of its own domain (Xen 4.17's
 * do_vcpu_op + common_vcpu_op). */
long do_vcpu_op(struct vcpu *v, uint64_t cmd64, uint64_t vcpuid64, uint64_t arg, uint64_t a4,
                uint64_t a5)
{
    (void)a4; (void)a5;
    HCSTAT_SUB(&v->domain->hcstat, vcpu_op, cmd64);
    int cmd = (int)cmd64;
    struct domain *d = v->domain;
    struct vcpu *t = domain_vcpu(d, (unsigned int)vcpuid64);
    if (!t)
        return -XL_ENOENT; /* Xen: vcpuid >= d->max_vcpus */
    uint64_t now = xl_now();
    switch (cmd) {
    case VCPUOP_initialise:
        return vcpu_initialise(v, t, arg);
    case VCPUOP_up:
        if (!t->initialised)
            return -XL_EINVAL;
        vcpu_set_online(t, 1);
        return 0;
    case VCPUOP_is_up:
        return t->online;
    case VCPUOP_down: {
        /* Xen: downing the last vcpu that is up powers the domain off. */
        struct vcpu *u;
        int others = 0;
        for_each_vcpu(d, u)
            others |= u != t && u->online;
        if (!others) {
            sched_domain_shutdown(d, SHUTDOWN_poweroff);
            return 0;
        }
        vcpu_set_online(t, 0);
        return 0;
    }
    case VCPUOP_register_vcpu_info: {
        struct vcpu_register_vcpu_info ri;
        if (copy_from_guest_va(v->cr3, &ri, arg, sizeof(ri)))
            return -XL_EFAULT;
        if (d->hvm) { /* a translated domain names its guest frame (Xen: gfn) */
            int64_t m = hvm_gfn_to_mfn(d, ri.mfn);
            if (m < 0)
                return -XL_EINVAL;
            ri.mfn = (uint64_t)m;
        }
        long rc = vcpu_info_map(t, ri.mfn, ri.offset);
        vcpu_update_time(t); /* Xen: force_update_vcpu_system_time */
        return rc;
    }
    case VCPUOP_get_physid: {
        /* Xen: only for the hardware domain's vcpus pinned to one pCPU -
         * here dom0's vcpu 0 on the one CPU: APIC ID 0, ACPI ID 0 (the
         * boot CPU; real Xen in QEMU reports 0 as well). Its other vcpus
         * have no pCPU of their own. */
        struct vcpu_get_physid pid = { .phys_id = 0 };
        if (!d->privileged || t->id != 0)
            return -XL_EINVAL;
        return copy_to_guest_va(v->cr3, arg, &pid, sizeof(pid)) ? -XL_EFAULT : 0;
    }
    case VCPUOP_get_runstate_info: {
        struct vcpu_runstate_info r;
        runstate_snapshot(t, now, &r);
        return copy_to_guest_va(v->cr3, arg, &r, sizeof(r)) ? -XL_EFAULT : 0;
    }
    case VCPUOP_register_runstate_memory_area: {
        struct vcpu_register_runstate_memory_area a;
        if (copy_from_guest_va(v->cr3, &a, arg, sizeof(a)))
            return -XL_EFAULT;
        if (a.addr.p && !guest_va_ok(a.addr.p))
            return -XL_EFAULT;
        /* Xen: the handle is only range-checked (guest_handle_okay); the
         * first copy is plain (no update flag) and may fail unseen. */
        t->ev.runstate_guest_va = a.addr.p;
        t->ev.rs_pending = 0;
        if (a.addr.p) {
            struct vcpu_runstate_info r;
            runstate_raw(t, &r);
            copy_to_guest_va(v->cr3, a.addr.p, &r, sizeof(r)); /* the caller's tables */
        }
        return 0;
    }
    case VCPUOP_register_vcpu_time_memory_area: {
        struct vcpu_register_time_memory_area a;
        if (copy_from_guest_va(v->cr3, &a, arg, sizeof(a)))
            return -XL_EFAULT;
        if (a.addr.p && !guest_va_ok(a.addr.p))
            return -XL_EFAULT;
        t->ev.time_guest_va = a.addr.p;
        t->ev.time_pending = 0;
        vcpu_update_time(t); /* Xen: force_update_vcpu_system_time */
        return 0;
    }
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer p;
        if (copy_from_guest_va(v->cr3, &p, arg, sizeof(p)))
            return -XL_EFAULT;
        if (p.period_ns < MILLISECS(1) || p.period_ns > STIME_DELTA_MAX)
            return -XL_EINVAL;
        t->ev.periodic_period = p.period_ns;
        t->ev.periodic_next = now + p.period_ns;
        sched_raise_work();
        return 0;
    }
    case VCPUOP_stop_periodic_timer:
        t->ev.periodic_period = 0;
        sched_raise_work();
        return 0;
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer s;
        if (t != v)
            return -XL_EINVAL; /* Xen: only the calling vcpu's own */
        if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        /* Real Xen 4.17 ignores VCPU_SSHOTTMR_future (no -ETIME; checked
         * with pv_events on Xen): a past deadline fires at once. */
        v->ev.singleshot = s.timeout_abs_ns ? s.timeout_abs_ns : 1;
        sched_raise_work();
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        if (t != v)
            return -XL_EINVAL;
        v->ev.singleshot = 0;
        sched_raise_work();
        return 0;
    default:
        /* send_nmi, ...: not offered. */
        return hc_unimplemented(v->domain, __HYPERVISOR_vcpu_op, (unsigned int)cmd);
    }
}
