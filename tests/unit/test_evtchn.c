/*
 * test_evtchn.c - host unit tests for the event channel state machine,
 * 2-level and FIFO ABIs (cmocka, ASan/UBSan).
 * Tests: hv/common/event_channel.c through do_event_channel_op and the
 * calls other subsystems make (send_guest_vcpu_virq, evtchn_domain_destroy,
 * vcpu_mark_events_pending): every sub-op, every refusal (-EINVAL bad
 * port, -ESRCH unknown domain, -EPERM other domain unprivileged,
 * -ENOSPC, -EEXIST, -ENOENT, -EFAULT, -ENOSYS), the pending / mask /
 * selector / upcall bits as Xen's 2-level code sets them, wake-ups of
 * blocked and polling vcpus, and teardown with remote ends; the FIFO
 * ABI as Xen's event_fifo: init_control / expand_array / set_priority
 * and their refusals, the switch from 2-level keeping bound ports and
 * their pending state, LINKED/PENDING/MASKED/BUSY and LINK in the event
 * words, per-priority queues, READY bits, unmask relinking, busy ports
 * not reused, many ports across array pages, the guest frames' references
 * held until reset/destroy.
 * Links: hv/common/event_channel.c only.
 * Mocks: domains[] and domain_by_id (three domains: d0 privileged, d1,
 * d2), guest copies and pv_running_frame (guest va = host pointer;
 * BAD_VA faults), xl_now,
 * vcpu_runstate_change (records the last state), panic (fails the test),
 * guest frames (GF_BASE.. : owner, references; mfn_to_virt,
 * get_page_and_type / put_page_and_type).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/domain.h>
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/mm.h>
#include <xen/event_channel.h>

#define BAD_VA 0xdead000ULL

/* ---- mocks ---- */
static shared_info_t shinfo[3] __attribute__((aligned(4096)));
static int last_runstate = -1;

int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t src, size_t len)
{
    (void)cr3;
    if (src == BAD_VA)
        return -XL_EFAULT;
    memcpy(dst, (const void *)src, len);
    return 0;
}
int copy_to_guest_va(uint64_t cr3, uint64_t dst, const void *src, size_t len)
{
    (void)cr3;
    if (dst == BAD_VA)
        return -XL_EFAULT;
    memcpy((void *)dst, src, len);
    return 0;
}
/* pv_cpu.c's in-place access for the running vcpu: the host pointer
 * (NULL for BAD_VA: the op falls back to the copy, which faults). */
void *pv_running_frame(struct vcpu *v, uint64_t va, size_t len, int write)
{
    (void)v, (void)len, (void)write;
    return va == BAD_VA ? NULL : (void *)va;
}
uint64_t xl_now(void) { return 12345; }
void vcpu_runstate_change(struct vcpu *v, int state, uint64_t now)
{
    (void)v; (void)now;
    last_runstate = state;
}

/* Guest frames for the FIFO ABI: mfn GF_BASE + i, owned by gf_owner[i];
 * gf_pt[i] marks a page table (a writable type is refused). */
#define GF_BASE 100
#define NGF 12
static uint8_t gf[NGF][4096] __attribute__((aligned(4096)));
static uint16_t gf_owner[NGF];
static int gf_refs[NGF], gf_pt[NGF];
void *mfn_to_virt(uint64_t mfn)
{
    assert_true(mfn >= GF_BASE && mfn < GF_BASE + NGF);
    return gf[mfn - GF_BASE];
}
int get_page_and_type(uint64_t mfn, uint16_t owner, unsigned int type)
{
    assert_int_equal(type, PGT_writable);
    if (mfn < GF_BASE || mfn >= GF_BASE + NGF || gf_owner[mfn - GF_BASE] != owner ||
        gf_pt[mfn - GF_BASE])
        return -XL_EINVAL;
    gf_refs[mfn - GF_BASE]++;
    return 0;
}
void put_page_and_type(uint64_t mfn)
{
    assert_true(mfn >= GF_BASE && mfn < GF_BASE + NGF);
    assert_true(gf_refs[mfn - GF_BASE] > 0);
    gf_refs[mfn - GF_BASE]--;
}

/* ---- helpers ---- */
static struct domain *d0, *d1, *d2;

static int setup(void **state)
{
    (void)state;
    memset(domains, 0, sizeof(domains));
    memset(shinfo, 0, sizeof(shinfo));
    for (unsigned int i = 0; i < 3; i++) {
        struct domain *d = &domains[i];
        d->domid = (uint16_t)i;
        d->state = DOM_RUNNING;
        d->privileged = i == 0;
        d->shared_info = &shinfo[i];
        d->max_vcpus = 1;
        d->vcpus[0].domain = d;
        d->vcpus[0].info = &shinfo[i].vcpu_info[0];
        d->vcpus[0].info->evtchn_upcall_mask = 1;
        evtchn_domain_init(d);
    }
    d0 = &domains[0], d1 = &domains[1], d2 = &domains[2];
    last_runstate = -1;
    memset(gf, 0, sizeof(gf));
    memset(gf_refs, 0, sizeof(gf_refs));
    memset(gf_pt, 0, sizeof(gf_pt));
    for (unsigned int i = 0; i < NGF; i++)
        gf_owner[i] = 1; /* d1's */
    return 0;
}

static long op(struct domain *d, int cmd, void *arg)
{
    return do_event_channel_op(&d->vcpus[0], (uint64_t)cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

static int alloc_unbound(struct domain *d, domid_t dom, domid_t remote)
{
    evtchn_alloc_unbound_t a = { .dom = dom, .remote_dom = remote };
    long rc = op(d, EVTCHNOP_alloc_unbound, &a);
    return rc ? (int)rc : (int)a.port;
}

static int bind_inter(struct domain *d, domid_t rdom, unsigned int rport)
{
    evtchn_bind_interdomain_t b = { .remote_dom = rdom, .remote_port = rport };
    long rc = op(d, EVTCHNOP_bind_interdomain, &b);
    return rc ? (int)rc : (int)b.local_port;
}

static int bind_virq(struct domain *d, unsigned int virq, unsigned int vcpu)
{
    evtchn_bind_virq_t b = { .virq = virq, .vcpu = vcpu };
    long rc = op(d, EVTCHNOP_bind_virq, &b);
    return rc ? (int)rc : (int)b.port;
}

static long send(struct domain *d, unsigned int port)
{
    evtchn_send_t s = { .port = port };
    return op(d, EVTCHNOP_send, &s);
}

static long closep(struct domain *d, unsigned int port)
{
    evtchn_close_t c = { .port = port };
    return op(d, EVTCHNOP_close, &c);
}

static long status(struct domain *d, domid_t dom, unsigned int port, evtchn_status_t *st)
{
    *st = (evtchn_status_t){ .dom = dom, .port = port };
    return op(d, EVTCHNOP_status, st);
}

static int pend(struct domain *d, unsigned int port)
{
    return (d->shared_info->evtchn_pending[port / 64] >> (port % 64)) & 1;
}

static void mask(struct domain *d, unsigned int port)
{
    d->shared_info->evtchn_mask[port / 64] |= 1UL << (port % 64);
}

/* ---- tests ---- */

static void test_alloc_unbound_and_status(void **state)
{
    (void)state;
    evtchn_status_t st;
    int p = alloc_unbound(d1, DOMID_SELF, 0);
    assert_int_equal(p, 1); /* port 0 is reserved */
    assert_int_equal(status(d1, DOMID_SELF, (unsigned int)p, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 0);
    assert_int_equal(alloc_unbound(d1, DOMID_SELF, DOMID_SELF), 2);
    assert_int_equal(status(d1, DOMID_SELF, 2, &st), 0);
    assert_int_equal(st.u.unbound.dom, 1);
    /* d0 (privileged) may allocate in d2 and look at d1's ports. */
    assert_int_equal(alloc_unbound(d0, 2, 0), 1);
    assert_int_equal(status(d0, 1, 1, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    /* port 0 reads as closed; a free port inside the first bucket too. */
    assert_int_equal(status(d1, DOMID_SELF, 0, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_closed);
    assert_int_equal(status(d1, DOMID_SELF, 63, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_closed);
}

static void test_refusals(void **state)
{
    (void)state;
    evtchn_status_t st;
    assert_int_equal(alloc_unbound(d1, 7, 0), -XL_ESRCH);
    assert_int_equal(alloc_unbound(d1, 0, 1), -XL_EPERM);   /* unprivileged into d0 */
    assert_int_equal(status(d1, 9, 1, &st), -XL_ESRCH);
    assert_int_equal(status(d1, DOMID_SELF, 64, &st), -XL_EINVAL);  /* beyond the bucket */
    assert_int_equal(status(d1, DOMID_SELF, 5000, &st), -XL_EINVAL);
    alloc_unbound(d0, DOMID_SELF, 1);
    assert_int_equal(status(d1, 0, 1, &st), -XL_EPERM);
    assert_int_equal(status(d1, 0, 500, &st), -XL_EINVAL); /* port checked first, as Xen */
    assert_int_equal(send(d1, 5000), -XL_EINVAL);
    assert_int_equal(send(d1, 0), -XL_EINVAL);
    assert_int_equal(send(d1, 10), -XL_EINVAL);   /* free port */
    assert_int_equal(closep(d1, 0), -XL_EINVAL);  /* reserved */
    assert_int_equal(closep(d1, 10), -XL_EINVAL); /* free */
    assert_int_equal(closep(d1, 9999), -XL_EINVAL);
    evtchn_unmask_t um = { .port = 4096 };
    assert_int_equal(op(d1, EVTCHNOP_unmask, &um), -XL_EINVAL);
    assert_int_equal(op(d1, EVTCHNOP_status, (void *)BAD_VA), -XL_EFAULT);
    assert_int_equal(op(d1, EVTCHNOP_send, (void *)BAD_VA), -XL_EFAULT);
    /* pirqs: a domU owns none (-EPERM); beyond the table -EINVAL (the
     * whole bind flow is test_pirq's) */
    evtchn_bind_pirq_t bp = { .pirq = 40 };
    assert_int_equal(op(d1, EVTCHNOP_bind_pirq, &bp), -XL_EPERM);
    bp.pirq = 5000;
    assert_int_equal(op(d1, EVTCHNOP_bind_pirq, &bp), -XL_EINVAL);
    assert_int_equal(op(d1, 99, &st), -XL_ENOSYS);
    /* A failed copy-out leaves nothing half-done visible to the caller. */
    assert_int_equal(op(d1, EVTCHNOP_alloc_unbound, (void *)BAD_VA), -XL_EFAULT);
}

static void test_interdomain(void **state)
{
    (void)state;
    evtchn_status_t st;
    int up = alloc_unbound(d1, DOMID_SELF, 0);
    assert_int_equal(bind_inter(d0, 1, 40), -XL_EINVAL);           /* free remote port */
    assert_int_equal(bind_inter(d0, 1, 4000), -XL_EINVAL);         /* invalid remote port */
    assert_int_equal(bind_inter(d0, 5, (unsigned int)up), -XL_ESRCH);
    assert_int_equal(bind_inter(d2, 1, (unsigned int)up), -XL_EINVAL); /* not offered to d2 */
    int lp = bind_inter(d0, 1, (unsigned int)up);
    assert_true(lp > 0);
    /* Xen marks the new local port pending (and, unmasked, raises it). */
    assert_true(pend(d0, (unsigned int)lp));
    assert_true(d0->vcpus[0].info->evtchn_pending_sel & 1);
    assert_int_equal(d0->vcpus[0].info->evtchn_upcall_pending, 1);
    assert_int_equal(bind_inter(d0, 1, (unsigned int)up), -XL_EINVAL); /* already bound */
    assert_int_equal(status(d1, DOMID_SELF, (unsigned int)up, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_interdomain);
    assert_int_equal(st.u.interdomain.dom, 0);
    assert_int_equal(st.u.interdomain.port, lp);
    /* d0 -> d1 */
    assert_int_equal(send(d0, (unsigned int)lp), 0);
    assert_true(pend(d1, (unsigned int)up));
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 1);
    /* d1 -> d0 after d0 cleared its bits */
    d0->shared_info->evtchn_pending[0] = 0;
    d0->vcpus[0].info->evtchn_pending_sel = 0;
    d0->vcpus[0].info->evtchn_upcall_pending = 0;
    assert_int_equal(send(d1, (unsigned int)up), 0);
    assert_true(pend(d0, (unsigned int)lp));
    assert_int_equal(d0->vcpus[0].info->evtchn_upcall_pending, 1);
    /* d1 closes: d0's end goes back to unbound, waiting for d1. */
    assert_int_equal(closep(d1, (unsigned int)up), 0);
    assert_int_equal(status(d0, DOMID_SELF, (unsigned int)lp, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 1);
    assert_int_equal(send(d0, (unsigned int)lp), 0); /* dropped */
    /* ... and d1 can bind to it again. */
    int up2 = bind_inter(d1, 0, (unsigned int)lp);
    assert_true(up2 > 0);
    assert_int_equal(status(d0, DOMID_SELF, (unsigned int)lp, &st), 0);
    assert_int_equal(st.u.interdomain.port, up2);
}

static void test_loopback(void **state)
{
    (void)state;
    int a = alloc_unbound(d2, DOMID_SELF, DOMID_SELF);
    int b = bind_inter(d2, DOMID_SELF, (unsigned int)a);
    assert_true(a > 0 && b > 0 && a != b);
    d2->shared_info->evtchn_pending[0] = 0;
    assert_int_equal(send(d2, (unsigned int)b), 0);
    assert_true(pend(d2, (unsigned int)a) && !pend(d2, (unsigned int)b));
    assert_int_equal(closep(d2, (unsigned int)a), 0);
    assert_false(pend(d2, (unsigned int)a)); /* closing clears pending */
    evtchn_status_t st;
    status(d2, DOMID_SELF, (unsigned int)b, &st);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 2);
}

static void test_mask_unmask(void **state)
{
    (void)state;
    int p = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int q = bind_inter(d1, DOMID_SELF, (unsigned int)p);
    d1->shared_info->evtchn_pending[0] = 0;
    d1->vcpus[0].info->evtchn_pending_sel = 0;
    d1->vcpus[0].info->evtchn_upcall_pending = 0;
    mask(d1, (unsigned int)p);
    assert_int_equal(send(d1, (unsigned int)q), 0);
    assert_true(pend(d1, (unsigned int)p));
    assert_int_equal(d1->vcpus[0].info->evtchn_pending_sel, 0);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 0);
    evtchn_unmask_t um = { .port = (unsigned int)p };
    assert_int_equal(op(d1, EVTCHNOP_unmask, &um), 0);
    assert_int_equal(d1->shared_info->evtchn_mask[0], 0);
    assert_int_equal(d1->vcpus[0].info->evtchn_pending_sel, 1);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 1);
    /* Unmasking a port that is not pending raises nothing. */
    d1->vcpus[0].info->evtchn_pending_sel = 0;
    d1->vcpus[0].info->evtchn_upcall_pending = 0;
    d1->shared_info->evtchn_pending[0] = 0;
    mask(d1, (unsigned int)p);
    assert_int_equal(op(d1, EVTCHNOP_unmask, &um), 0);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 0);
    /* A port in the second selector word sets selector bit 1. */
    for (int i = 0; i < 70; i++)
        alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    evtchn_bind_ipi_t ipi = { .vcpu = 0 };
    assert_int_equal(op(d1, EVTCHNOP_bind_ipi, &ipi), 0);
    assert_true(ipi.port >= 64);
    assert_int_equal(send(d1, ipi.port), 0);
    assert_true(d1->vcpus[0].info->evtchn_pending_sel & (1UL << (ipi.port / 64)));
}

static void test_virq(void **state)
{
    (void)state;
    evtchn_status_t st;
    assert_int_equal(bind_virq(d0, NR_VIRQS, 0), -XL_EINVAL);
    assert_int_equal(bind_virq(d0, VIRQ_DOM_EXC, 1), -XL_EINVAL);  /* global: vcpu 0 only */
    assert_int_equal(bind_virq(d0, VIRQ_TIMER, 1), -XL_ENOENT);    /* no vcpu 1 */
    int t = bind_virq(d0, VIRQ_TIMER, 0);
    assert_true(t > 0);
    assert_int_equal(bind_virq(d0, VIRQ_TIMER, 0), -XL_EEXIST);
    assert_int_equal(status(d0, DOMID_SELF, (unsigned int)t, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_virq);
    assert_int_equal(st.u.virq, VIRQ_TIMER);
    assert_int_equal(send(d0, (unsigned int)t), -XL_EINVAL); /* cannot send on a VIRQ */
    send_guest_vcpu_virq(&d0->vcpus[0], VIRQ_TIMER);
    assert_true(pend(d0, (unsigned int)t));
    /* Global VIRQs reach dom0 only when it bound them. */
    int e = bind_virq(d0, VIRQ_DOM_EXC, 0);
    send_global_virq(VIRQ_DOM_EXC);
    assert_true(pend(d0, (unsigned int)e));
    send_guest_vcpu_virq(&d1->vcpus[0], VIRQ_TIMER); /* unbound in d1: nothing */
    assert_int_equal(d1->shared_info->evtchn_pending[0], 0);
    /* bind_vcpu: global VIRQ yes, per-vcpu VIRQ no, vcpu 1 never. */
    evtchn_bind_vcpu_t bv = { .port = (unsigned int)e, .vcpu = 0 };
    assert_int_equal(op(d0, EVTCHNOP_bind_vcpu, &bv), 0);
    bv.port = (unsigned int)t;
    assert_int_equal(op(d0, EVTCHNOP_bind_vcpu, &bv), -XL_EINVAL);
    bv.vcpu = 1;
    assert_int_equal(op(d0, EVTCHNOP_bind_vcpu, &bv), -XL_ENOENT);
    bv = (evtchn_bind_vcpu_t){ .port = 3000, .vcpu = 0 };
    assert_int_equal(op(d0, EVTCHNOP_bind_vcpu, &bv), -XL_EINVAL);
    /* Closing unbinds: the VIRQ can be bound again, old port stays quiet. */
    assert_int_equal(closep(d0, (unsigned int)t), 0);
    send_guest_vcpu_virq(&d0->vcpus[0], VIRQ_TIMER);
    assert_false(pend(d0, (unsigned int)t));
    assert_true(bind_virq(d0, VIRQ_TIMER, 0) > 0);
}

static void test_ipi_and_enospc(void **state)
{
    (void)state;
    evtchn_bind_ipi_t ipi = { .vcpu = 1 };
    assert_int_equal(op(d2, EVTCHNOP_bind_ipi, &ipi), -XL_ENOENT);
    ipi.vcpu = 0;
    assert_int_equal(op(d2, EVTCHNOP_bind_ipi, &ipi), 0);
    assert_int_equal(send(d2, ipi.port), 0);
    assert_true(pend(d2, ipi.port));
    int n = 1; /* the ipi */
    int p;
    while ((p = alloc_unbound(d2, DOMID_SELF, 0)) > 0)
        n++;
    assert_int_equal(p, -XL_ENOSPC);
    assert_int_equal(n, EVTCHN_MAX - 1);
    assert_int_equal(bind_virq(d2, VIRQ_TIMER, 0), -XL_ENOSPC);
    assert_int_equal(closep(d2, 500), 0);
    assert_int_equal(alloc_unbound(d2, DOMID_SELF, 0), 500); /* lowest free port again */
}

static void test_wakeups(void **state)
{
    (void)state;
    int p = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int q = bind_inter(d1, DOMID_SELF, (unsigned int)p);
    d1->shared_info->evtchn_pending[0] = 0;
    d1->vcpus[0].info->evtchn_pending_sel = 0;
    d1->vcpus[0].info->evtchn_upcall_pending = 0;
    /* Polling one port: another masked port does not wake it ... */
    int r = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int s = bind_inter(d1, DOMID_SELF, (unsigned int)r);
    d1->shared_info->evtchn_pending[0] = 0;
    d1->vcpus[0].info->evtchn_pending_sel = 0;
    d1->vcpus[0].info->evtchn_upcall_pending = 0;
    mask(d1, (unsigned int)r);
    d1->vcpus[0].blocked = 1;
    evtchn_poll_begin(&d1->vcpus[0], p); /* as sched_poll */
    send(d1, (unsigned int)s);
    assert_int_equal(d1->vcpus[0].blocked, 1);
    /* ... the polled one does, even masked. */
    mask(d1, (unsigned int)p);
    send(d1, (unsigned int)q);
    assert_int_equal(d1->vcpus[0].blocked, 0);
    assert_int_equal(d1->vcpus[0].ev.polling, 0);
    assert_int_equal(last_runstate, RUNSTATE_runnable);
    /* A blocked vcpu wakes when its upcall flag goes 0 -> 1. */
    d1->shared_info->evtchn_mask[0] = 0;
    d1->shared_info->evtchn_pending[0] = 0;
    d1->vcpus[0].blocked = 1;
    send(d1, (unsigned int)q);
    assert_int_equal(d1->vcpus[0].blocked, 0);
    assert_true(evtchn_port_is_pending(d1, (unsigned int)p));
    assert_false(evtchn_port_is_pending(d1, 4000));
}

/* d1 gets vcpus 1 .. n-1 besides its vcpu 0, upcalls masked. */
static void d1_vcpus(unsigned int n)
{
    d1->max_vcpus = n;
    for (unsigned int i = 1; i < n; i++) {
        d1->vcpus[i].domain = d1;
        d1->vcpus[i].id = i;
        d1->vcpus[i].info = &shinfo[1].vcpu_info[i];
        d1->vcpus[i].info->evtchn_upcall_mask = 1;
    }
}

/* A vcpu polling on another vcpu (another CPU) of the sender's domain
 * is woken by a send to its port; a send with no poller leaves a blocked
 * vcpu alone, and a poller's bit goes once it no longer polls. */
static void test_poller_on_other_vcpu(void **state)
{
    (void)state;
    d1_vcpus(3);
    int p = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int q = bind_inter(d1, DOMID_SELF, (unsigned int)p);
    int r = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int s = bind_inter(d1, DOMID_SELF, (unsigned int)r);
    mask(d1, (unsigned int)p);
    mask(d1, (unsigned int)r);
    d1->shared_info->evtchn_pending[0] = 0;
    /* vcpu 2 polls p (masked: only the poll can wake it); vcpu 1 just blocks */
    d1->vcpus[1].blocked = 1;
    d1->vcpus[2].blocked = 1;
    evtchn_poll_begin(&d1->vcpus[2], p);
    assert_int_equal(d1->ev.pollers, 1u << 2);
    send(d1, (unsigned int)s); /* another port: nobody wakes */
    assert_int_equal(d1->vcpus[2].blocked, 1);
    assert_int_equal(d1->vcpus[1].blocked, 1);
    send(d1, (unsigned int)q); /* vcpu 0 sends: vcpu 2 wakes */
    assert_int_equal(d1->vcpus[2].blocked, 0);
    assert_int_equal(d1->vcpus[2].ev.polling, 0);
    assert_int_equal(d1->vcpus[1].blocked, 1);
    /* woken: its bit is dropped by the next send */
    d1->shared_info->evtchn_pending[0] = 0;
    send(d1, (unsigned int)q);
    assert_int_equal(d1->ev.pollers, 0);
    /* polling several ports: any send wakes it, a timed-out poll
     * (polling cleared, as timer.c does) leaves no bit behind */
    d1->vcpus[2].blocked = 1;
    evtchn_poll_begin(&d1->vcpus[2], -1);
    d1->shared_info->evtchn_pending[0] = 0;
    send(d1, (unsigned int)s);
    assert_int_equal(d1->vcpus[2].blocked, 0);
    d1->vcpus[1].blocked = 1;
    evtchn_poll_begin(&d1->vcpus[1], p);
    vcpu_wake(&d1->vcpus[1]); /* the timeout's wake */
    d1->shared_info->evtchn_pending[0] = 0;
    send(d1, (unsigned int)q);
    assert_int_equal(d1->ev.pollers, 0);
}

/* Several vcpus polling one port all wake on one send; a poller
 * taken out of its block without vcpu_wake (vcpu_set_online(1) clears
 * blocked, not polling) loses its bit on the next send and gets it back
 * when it polls again, so the send after that still wakes it. */
static void test_pollers_several_and_reup(void **state)
{
    (void)state;
    d1_vcpus(4);
    int p = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int q = bind_inter(d1, DOMID_SELF, (unsigned int)p);
    mask(d1, (unsigned int)p);
    d1->shared_info->evtchn_pending[0] = 0;
    for (unsigned int i = 1; i < 4; i++) {
        d1->vcpus[i].blocked = 1;
        evtchn_poll_begin(&d1->vcpus[i], i == 2 ? -1 : p);
    }
    assert_int_equal(d1->ev.pollers, 0xeu);
    send(d1, (unsigned int)q);
    for (unsigned int i = 1; i < 4; i++)
        assert_int_equal(d1->vcpus[i].blocked, 0);
    /* vcpu 3 polls, then is brought down and up (blocked cleared only) */
    d1->vcpus[3].blocked = 1;
    evtchn_poll_begin(&d1->vcpus[3], p);
    d1->vcpus[3].blocked = 0; /* vcpu_set_online(v, 1) */
    d1->shared_info->evtchn_pending[0] = 0;
    send(d1, (unsigned int)q);
    assert_int_equal(d1->ev.pollers & (1u << 3), 0);
    /* it polls again: the bit is back and the next send wakes it */
    d1->vcpus[3].blocked = 1;
    evtchn_poll_begin(&d1->vcpus[3], p);
    d1->shared_info->evtchn_pending[0] = 0;
    send(d1, (unsigned int)q);
    assert_int_equal(d1->vcpus[3].blocked, 0);
}

static void test_destroy_and_reset(void **state)
{
    (void)state;
    evtchn_status_t st;
    int up = alloc_unbound(d1, DOMID_SELF, 0);
    int lp = bind_inter(d0, 1, (unsigned int)up);
    int t = bind_virq(d1, VIRQ_TIMER, 0);
    assert_true(t > 0);
    evtchn_domain_destroy(d1);
    assert_int_equal(status(d0, DOMID_SELF, (unsigned int)lp, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 1);
    assert_int_equal(status(d1, DOMID_SELF, (unsigned int)up, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_closed);
    assert_int_equal(d1->vcpus[0].ev.virq_to_port[VIRQ_TIMER], 0);
    /* reset: -ESRCH, -EPERM for others unprivileged, -EINVAL for a running
     * other domain even when privileged; self works. */
    evtchn_reset_t rs = { .dom = 9 };
    assert_int_equal(op(d1, EVTCHNOP_reset, &rs), -XL_ESRCH);
    rs.dom = 0;
    assert_int_equal(op(d1, EVTCHNOP_reset, &rs), -XL_EPERM);
    rs.dom = 1;
    assert_int_equal(op(d0, EVTCHNOP_reset, &rs), -XL_EINVAL);
    rs.dom = DOMID_SELF;
    assert_int_equal(op(d0, EVTCHNOP_reset, &rs), 0);
    assert_int_equal(status(d0, DOMID_SELF, (unsigned int)lp, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_closed);
}


/* A dying domain (destroy_stage set by domain_destroy_step's first step,
 * which closed its ports) gets no new port, as Xen's get_free_port
 * refuses is_dying: a domU bound to one would name the domain once it is
 * gone (its close then hit BUG_ON(!r), found by an attacker review). */
static void test_dying_domain_gets_no_port(void **state)
{
    (void)state;
    evtchn_domain_destroy(d2);
    d2->state = DOM_SHUTDOWN;
    d2->destroy_stage = 1;
    assert_int_equal(alloc_unbound(d0, 2, 1), -XL_EINVAL);
}

/* ---- FIFO ABI ---- */
#define PEND_B (1u << EVTCHN_FIFO_PENDING)
#define MASK_B (1u << EVTCHN_FIFO_MASKED)
#define LINK_B (1u << EVTCHN_FIFO_LINKED)
#define BUSY_B (1u << EVTCHN_FIFO_BUSY)
#define CTRL 0 /* gf index of the control block frame */

static long init_control(struct domain *d, uint64_t gfn, uint32_t off, uint32_t vcpu)
{
    evtchn_init_control_t ic = { .control_gfn = gfn, .offset = off, .vcpu = vcpu };
    long rc = op(d, EVTCHNOP_init_control, &ic);
    if (!rc)
        assert_int_equal(ic.link_bits, EVTCHN_FIFO_LINK_BITS);
    return rc;
}
static long expand(struct domain *d, uint64_t gfn)
{
    evtchn_expand_array_t ea = { .array_gfn = gfn };
    return op(d, EVTCHNOP_expand_array, &ea);
}
static long set_prio(struct domain *d, unsigned int port, unsigned int prio)
{
    evtchn_set_priority_t sp = { .port = port, .priority = prio };
    return op(d, EVTCHNOP_set_priority, &sp);
}
static uint32_t *word(unsigned int page, unsigned int port)
{
    return (uint32_t *)gf[page] + port % 1024;
}
static evtchn_fifo_control_block_t *cb(unsigned int off)
{
    return (evtchn_fifo_control_block_t *)(gf[CTRL] + off);
}
/* d1 in FIFO mode with its control block at gf[CTRL] + off and npages
 * array pages gf[1..npages], every word MASKED as Linux initialises them. */
static void fifo_on(unsigned int off, unsigned int npages)
{
    assert_int_equal(init_control(d1, GF_BASE + CTRL, off, 0), 0);
    for (unsigned int i = 1; i <= npages; i++) {
        for (unsigned int w = 0; w < 1024; w++)
            ((uint32_t *)gf[i])[w] = MASK_B;
        assert_int_equal(expand(d1, GF_BASE + i), 0);
    }
}
/* The guest's consumer, as Linux's consume_one_event: take the head of
 * queue q, unlink it (clear LINKED, read LINK), clear its READY bit when
 * the queue empties; returns the port (0: queue empty). */
static unsigned int consume(unsigned int off, unsigned int q, uint32_t *head)
{
    unsigned int port = *head ? *head : cb(off)->head[q];
    if (!port)
        return 0;
    uint32_t *w = word(1 + port / 1024, port);
    uint32_t link = *w & EVTCHN_FIFO_LINK_MASK;
    *w &= ~(LINK_B | EVTCHN_FIFO_LINK_MASK);
    *head = link;
    if (!link)
        cb(off)->ready &= ~(1u << q);
    *w &= ~PEND_B; /* handled */
    return port;
}
static void unmask_guest(unsigned int port)
{
    *word(1 + port / 1024, port) &= ~MASK_B;
}

static void test_fifo_init_refusals(void **state)
{
    (void)state;
    /* Before init_control: expand -EOPNOTSUPP, set_priority -ENOSYS. */
    assert_int_equal(expand(d1, GF_BASE + 1), -XEN_EOPNOTSUPP);
    int p = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    assert_int_equal(set_prio(d1, (unsigned int)p, 3), -XL_ENOSYS);
    assert_int_equal(set_prio(d1, 5000, 3), -XL_EINVAL);
    assert_int_equal(init_control(d1, GF_BASE, 0, 1), -XL_ENOENT);
    assert_int_equal(init_control(d1, GF_BASE, 4, 0), -XL_EINVAL);
    assert_int_equal(init_control(d1, GF_BASE, 4096 - 64, 0), -XL_EINVAL); /* 72 bytes: crosses the page */
    assert_int_equal(init_control(d1, GF_BASE + NGF, 0, 0), -XL_EINVAL);       /* no such frame */
    gf_owner[3] = 2;
    assert_int_equal(init_control(d1, GF_BASE + 3, 0, 0), -XL_EINVAL); /* not d1's */
    gf_pt[4] = 1;
    assert_int_equal(init_control(d1, GF_BASE + 4, 0, 0), -XL_EINVAL); /* a page table */
    assert_false(d1->ev.fifo);
    evtchn_init_control_t ic = { .control_gfn = GF_BASE, .offset = 0 };
    assert_int_equal(op(d1, EVTCHNOP_init_control, (void *)BAD_VA), -XL_EFAULT);
    (void)ic;
    /* The last offset that fits, then a second control block: -EINVAL. */
    assert_int_equal(init_control(d1, GF_BASE, 4096 - 72, 0), 0);
    assert_true(d1->ev.fifo);
    assert_int_equal(gf_refs[0], 1);
    assert_int_equal(init_control(d1, GF_BASE + 1, 0, 0), -XL_EINVAL);
    assert_int_equal(gf_refs[1], 0);
    assert_int_equal(set_prio(d1, (unsigned int)p, 16), -XL_EINVAL);
    assert_int_equal(set_prio(d1, (unsigned int)p, 15), 0);
    assert_int_equal(expand(d1, GF_BASE + 3), -XL_EINVAL);
    for (unsigned int i = 1; i <= EVTCHN_FIFO_PAGES; i++)
        assert_int_equal(expand(d1, GF_BASE + 4 + i), 0);
    assert_int_equal(expand(d1, GF_BASE + 10), -XL_ENOSPC);
    assert_int_equal(gf_refs[10], 0);
    /* Reset: back to 2-level, every frame released. */
    evtchn_reset_t rs = { .dom = DOMID_SELF };
    assert_int_equal(op(d1, EVTCHNOP_reset, &rs), 0);
    assert_false(d1->ev.fifo);
    for (unsigned int i = 0; i < NGF; i++)
        assert_int_equal(gf_refs[i], 0);
    assert_int_equal(expand(d1, GF_BASE + 1), -XEN_EOPNOTSUPP);
    /* ... and FIFO again after the reset, released by destroy. */
    fifo_on(8, 2);
    assert_int_equal(gf_refs[0] + gf_refs[1] + gf_refs[2], 3);
    evtchn_domain_destroy(d1);
    for (unsigned int i = 0; i < NGF; i++)
        assert_int_equal(gf_refs[i], 0);
}

static void test_fifo_send_queue_ready(void **state)
{
    (void)state;
    fifo_on(64, 1);
    int u = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int l = bind_inter(d1, DOMID_SELF, (unsigned int)u);
    /* The new local port starts pending (as 2-level): masked, not linked. */
    assert_int_equal(*word(1, (unsigned int)l), MASK_B | PEND_B);
    assert_int_equal(cb(64)->ready, 0);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 0);
    /* Unmask by hypercall while pending: linked at the head of queue 7. */
    evtchn_unmask_t um = { .port = (unsigned int)l };
    assert_int_equal(op(d1, EVTCHNOP_unmask, &um), 0);
    assert_int_equal(*word(1, (unsigned int)l), PEND_B | LINK_B);
    assert_int_equal(cb(64)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], l);
    assert_int_equal(cb(64)->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 1);
    assert_true(evtchn_port_is_pending(d1, (unsigned int)l));
    /* Nothing in the 2-level bitmaps. */
    assert_int_equal(d1->shared_info->evtchn_pending[0], 0);
    /* A second event on the same queue is linked behind the tail. */
    unmask_guest((unsigned int)u);
    assert_int_equal(send(d1, (unsigned int)l), 0); /* -> u */
    assert_int_equal(*word(1, (unsigned int)l), PEND_B | LINK_B | (uint32_t)u);
    assert_int_equal(*word(1, (unsigned int)u), PEND_B | LINK_B);
    /* Sending again while pending changes nothing. */
    assert_int_equal(send(d1, (unsigned int)l), 0);
    assert_int_equal(*word(1, (unsigned int)u), PEND_B | LINK_B);
    uint32_t h = 0;
    assert_int_equal(consume(64, 7, &h), l);
    assert_int_equal(consume(64, 7, &h), u);
    assert_int_equal(h, 0);
    assert_int_equal(cb(64)->ready, 0);
    assert_false(evtchn_port_is_pending(d1, (unsigned int)u));
    /* Queue empty, the hv's tail (u) unlinked: the next event is a new
     * head and sets READY again. */
    d1->vcpus[0].info->evtchn_upcall_pending = 0;
    assert_int_equal(send(d1, (unsigned int)l), 0);
    assert_int_equal(cb(64)->head[7], u);
    assert_int_equal(*word(1, (unsigned int)u), PEND_B | LINK_B);
    assert_int_equal(cb(64)->ready, 1u << 7);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 1);
    h = 0;
    assert_int_equal(consume(64, 7, &h), u);
    /* Masked by the guest: PENDING only; the unmask hypercall links it. */
    *word(1, (unsigned int)u) |= MASK_B;
    assert_int_equal(send(d1, (unsigned int)l), 0);
    assert_int_equal(*word(1, (unsigned int)u), PEND_B | MASK_B);
    assert_int_equal(cb(64)->ready, 0);
    um.port = (unsigned int)u;
    assert_int_equal(op(d1, EVTCHNOP_unmask, &um), 0);
    assert_int_equal(*word(1, (unsigned int)u), PEND_B | LINK_B);
    assert_int_equal(cb(64)->head[7], u);
    /* Unmask of a port not pending: MASKED cleared, nothing linked. */
    h = 0;
    consume(64, 7, &h);
    *word(1, (unsigned int)l) |= MASK_B;
    assert_int_equal(op(d1, EVTCHNOP_unmask, &(evtchn_unmask_t){ .port = (unsigned int)l }), 0);
    assert_int_equal(*word(1, (unsigned int)l), 0);
    assert_int_equal(op(d1, EVTCHNOP_unmask, &(evtchn_unmask_t){ .port = 5000 }), -XL_EINVAL);
}

static void test_fifo_priorities(void **state)
{
    (void)state;
    fifo_on(0, 1);
    int ipi[4];
    for (int i = 0; i < 4; i++) {
        evtchn_bind_ipi_t b = { .vcpu = 0 };
        assert_int_equal(op(d1, EVTCHNOP_bind_ipi, &b), 0);
        ipi[i] = (int)b.port;
        unmask_guest(b.port);
    }
    assert_int_equal(set_prio(d1, (unsigned int)ipi[1], 2), 0);
    assert_int_equal(set_prio(d1, (unsigned int)ipi[2], 2), 0);
    assert_int_equal(set_prio(d1, (unsigned int)ipi[3], 0), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(send(d1, (unsigned int)ipi[i]), 0);
    assert_int_equal(cb(0)->ready, (1u << 0) | (1u << 2) | (1u << 7));
    assert_int_equal(cb(0)->head[0], ipi[3]);
    assert_int_equal(cb(0)->head[2], ipi[1]);
    assert_int_equal(cb(0)->head[7], ipi[0]);
    /* Consumed in priority order, FIFO within a priority. */
    unsigned int order[4], n = 0;
    while (cb(0)->ready) {
        unsigned int q = (unsigned int)__builtin_ctz(cb(0)->ready);
        uint32_t h = 0;
        unsigned int port;
        while ((port = consume(0, q, &h)) != 0) {
            order[n++] = port;
            if (!h)
                break;
        }
    }
    assert_int_equal(n, 4);
    assert_int_equal(order[0], ipi[3]);
    assert_int_equal(order[1], ipi[1]);
    assert_int_equal(order[2], ipi[2]);
    assert_int_equal(order[3], ipi[0]);
    /* A priority change while linked leaves the event where it is; the
     * next one goes to the new queue, and the old queue's tail is
     * forgotten once that port moves. */
    assert_int_equal(send(d1, (unsigned int)ipi[0]), 0);
    assert_int_equal(set_prio(d1, (unsigned int)ipi[0], 1), 0);
    assert_int_equal(cb(0)->head[7], ipi[0]);
    uint32_t h = 0;
    assert_int_equal(consume(0, 7, &h), ipi[0]);
    assert_int_equal(send(d1, (unsigned int)ipi[0]), 0);
    assert_int_equal(cb(0)->head[1], ipi[0]);
    assert_int_equal(d1->vcpus[0].ev.fifo_tail[7], 0);
    assert_int_equal(cb(0)->ready, 1u << 1);
}

static void test_fifo_switch_keeps_ports(void **state)
{
    (void)state;
    int u = alloc_unbound(d1, DOMID_SELF, DOMID_SELF);
    int l = bind_inter(d1, DOMID_SELF, (unsigned int)u); /* l pending (2-level) */
    int t = bind_virq(d1, VIRQ_TIMER, 0);
    assert_true(pend(d1, (unsigned int)l));
    assert_int_equal(init_control(d1, GF_BASE + CTRL, 0, 0), 0);
    /* No array page yet: events are remembered, not lost. */
    send_guest_vcpu_virq(&d1->vcpus[0], VIRQ_TIMER);
    assert_false(evtchn_port_is_pending(d1, (unsigned int)t));
    evtchn_status_t st;
    assert_int_equal(status(d1, DOMID_SELF, (unsigned int)l, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_interdomain); /* bindings kept */
    /* The guest's page: l and the timer port unmasked, u masked. */
    for (unsigned int w = 0; w < 1024; w++)
        ((uint32_t *)gf[1])[w] = MASK_B;
    unmask_guest((unsigned int)l);
    unmask_guest((unsigned int)t);
    assert_int_equal(expand(d1, GF_BASE + 1), 0);
    assert_int_equal(*word(1, (unsigned int)l), PEND_B | LINK_B | (uint32_t)t);
    assert_int_equal(*word(1, (unsigned int)t), PEND_B | LINK_B);
    assert_int_equal(*word(1, (unsigned int)u), MASK_B);
    assert_int_equal(cb(0)->head[7], l);
    assert_int_equal(d1->vcpus[0].info->evtchn_upcall_pending, 1);
    /* Sending works across the switch; poll sees FIFO pending bits. */
    assert_int_equal(send(d1, (unsigned int)l), 0);
    assert_true(evtchn_port_is_pending(d1, (unsigned int)u));
}

static void test_fifo_busy_port_not_reused_and_close(void **state)
{
    (void)state;
    fifo_on(0, 1);
    evtchn_bind_ipi_t b = { .vcpu = 0 };
    assert_int_equal(op(d1, EVTCHNOP_bind_ipi, &b), 0);
    unsigned int p = b.port;
    unmask_guest(p);
    assert_int_equal(send(d1, p), 0);
    assert_int_equal(closep(d1, p), 0);
    /* Closed: PENDING cleared, still LINKED until the guest unlinks it,
     * so the port is not handed out again. */
    assert_int_equal(*word(1, p), LINK_B);
    assert_int_equal(op(d1, EVTCHNOP_bind_ipi, &b), 0);
    assert_int_not_equal(b.port, p);
    unsigned int p2 = b.port;
    uint32_t h = 0;
    assert_int_equal(consume(0, 7, &h), p);
    assert_int_equal(op(d1, EVTCHNOP_bind_ipi, &b), 0);
    assert_int_equal(b.port, p); /* unlinked: free again */
    /* Reused while still the hv's tail of queue 7: no self-link. */
    unmask_guest(p);
    assert_int_equal(send(d1, p), 0);
    assert_int_equal(*word(1, p), PEND_B | LINK_B);
    assert_int_equal(cb(0)->head[7], p);
    unmask_guest(p2);
    assert_int_equal(send(d1, p2), 0);
    assert_int_equal(*word(1, p), PEND_B | LINK_B | p2);
}

static void test_fifo_many_ports_across_pages(void **state)
{
    (void)state;
    fifo_on(0, 1);
    unsigned int ports[2100], n = 0;
    for (; n < 2100; n++) {
        evtchn_bind_ipi_t b = { .vcpu = 0 };
        assert_int_equal(op(d1, EVTCHNOP_bind_ipi, &b), 0);
        ports[n] = b.port;
    }
    assert_true(ports[n - 1] >= 2048);
    /* Ports beyond page 1 raised before their pages exist... */
    for (unsigned int i = 0; i < n; i++)
        assert_int_equal(send(d1, ports[i]), 0);
    assert_false(evtchn_port_is_pending(d1, ports[n - 1]));
    /* ... show up when the guest adds pages 2 and 3 (words masked by the
     * guest first, as Linux does: pending but not linked). */
    for (unsigned int pg = 2; pg <= 3; pg++) {
        for (unsigned int w = 0; w < 1024; w++)
            ((uint32_t *)gf[pg])[w] = 0; /* unmasked: linked at once */
        assert_int_equal(expand(d1, GF_BASE + pg), 0);
    }
    assert_true(evtchn_port_is_pending(d1, ports[n - 1]));
    /* Everything on queue 7: page 1's ports were masked, so only the
     * ports of pages 2-3 are linked, in port order. */
    uint32_t h = 0;
    unsigned int got = 0, prev = 0, port;
    while ((port = consume(0, 7, &h)) != 0) {
        assert_true(port >= 1024 && port > prev);
        prev = port;
        got++;
        if (!h)
            break;
    }
    assert_int_equal(got, ports[n - 1] - 1024 + 1);
    evtchn_domain_destroy(d1);
    for (unsigned int i = 0; i < NGF; i++)
        assert_int_equal(gf_refs[i], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_alloc_unbound_and_status, setup),
        cmocka_unit_test_setup(test_refusals, setup),
        cmocka_unit_test_setup(test_interdomain, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_mask_unmask, setup),
        cmocka_unit_test_setup(test_virq, setup),
        cmocka_unit_test_setup(test_ipi_and_enospc, setup),
        cmocka_unit_test_setup(test_wakeups, setup),
        cmocka_unit_test_setup(test_poller_on_other_vcpu, setup),
        cmocka_unit_test_setup(test_pollers_several_and_reup, setup),
        cmocka_unit_test_setup(test_destroy_and_reset, setup),
        cmocka_unit_test_setup(test_fifo_init_refusals, setup),
        cmocka_unit_test_setup(test_fifo_send_queue_ready, setup),
        cmocka_unit_test_setup(test_fifo_priorities, setup),
        cmocka_unit_test_setup(test_fifo_switch_keeps_ports, setup),
        cmocka_unit_test_setup(test_fifo_busy_port_not_reused_and_close, setup),
        cmocka_unit_test_setup(test_fifo_many_ports_across_pages, setup),
        cmocka_unit_test_setup(test_dying_domain_gets_no_port, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
