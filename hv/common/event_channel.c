/*
 * event_channel.c - Xen event channels: the per-domain port state machine
 * (unbound, interdomain, virq, ipi, pirq), the 2-level ABI (pending/mask
 * bitmaps in shared_info and vcpu_info) and the FIFO ABI (Xen's
 * event_fifo: event words in guest event-array pages, per-priority
 * queues linked through the words, heads and the READY bitmap in a
 * guest control block), VIRQ delivery, and the event_channel_op
 * hypercall.
 * Owns: struct domain_events and the evtchn_* words of shared_info /
 * vcpu_info (the guest owns evtchn_mask and clears pending bits itself);
 * in FIFO mode the hv's side of the event words (PENDING, LINKED, LINK,
 * BUSY), the queue tails and the references on the guest frames used.
 * Must never: act on a guest-chosen port or domain before checking it
 * (bad port -EINVAL, unknown domain -ESRCH, another domain without
 * privilege -EPERM); touch another domain except the remote end of a
 * channel the two share. Pure C: no arch code, unit-tested on the host.
 */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/ioreq.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pirq.h>
#include <xen/event_channel.h>

#define BITS_PER_WORD 64
#ifndef EVTCHNOP_reset_cont
#define EVTCHNOP_reset_cont 14 /* hypervisor-internal in the public header */
#endif

/* ---- bit helpers on the guest-visible words ----
 * Atomic read-modify-writes, as Xen's: the guest changes other bits of
 * the same words on its own vcpus, possibly on other CPUs at this moment
 * (a plain |= could undo its clear of a bit, or it ours). */

static int test_and_set(volatile xen_ulong_t *w, unsigned int bit)
{
    xen_ulong_t m = (xen_ulong_t)1 << (bit % BITS_PER_WORD);
    return (__atomic_fetch_or(&w[bit / BITS_PER_WORD], m, __ATOMIC_SEQ_CST) & m) != 0;
}

static int test_and_clear(volatile xen_ulong_t *w, unsigned int bit)
{
    xen_ulong_t m = (xen_ulong_t)1 << (bit % BITS_PER_WORD);
    return (__atomic_fetch_and(&w[bit / BITS_PER_WORD], ~m, __ATOMIC_SEQ_CST) & m) != 0;
}

static int test_bit(const volatile xen_ulong_t *w, unsigned int bit)
{
    return (w[bit / BITS_PER_WORD] >> (bit % BITS_PER_WORD)) & 1;
}

/* ---- wake-ups ---- */

void vcpu_wake(struct vcpu *v)
{
    if (!v->blocked)
        return;
    v->blocked = 0;
    v->ev.polling = 0;
    v->ev.poll_deadline = 0;
    sched_raise_work();
    vcpu_runstate_change(v, RUNSTATE_runnable, xl_now());
    vcpu_kick(v); /* an idle CPU may take it */
}

/* Xen's vcpu_mark_events_pending: only a 0 -> 1 change kicks the vcpu. */
void vcpu_mark_events_pending(struct vcpu *v)
{
    if (v->info->evtchn_upcall_pending)
        return;
    v->info->evtchn_upcall_pending = 1;
    if (v->blocked)
        vcpu_wake(v);
    else
        vcpu_kick(v); /* running on another CPU: it delivers on its way back */
}

/* Xen's evtchn_check_pollers: every vcpu polling this port (or several).
 * Only vcpus with their pollers bit are looked at (every polling vcpu
 * has it: evtchn_poll_begin); a bit whose vcpu is no longer polling
 * (woken, timed out, brought down) is dropped here. */
static void check_pollers(struct domain *d, unsigned int port)
{
    uint32_t m = d->ev.pollers;
    while (m) {
        unsigned int id = (unsigned int)__builtin_ctz(m);
        m &= m - 1;
        struct vcpu *v = domain_vcpu(d, id);
        if (!v || !v->blocked || !v->ev.polling) {
            d->ev.pollers &= ~(1u << id);
            continue;
        }
        if (v->ev.poll_port < 0 || (unsigned int)v->ev.poll_port == port)
            vcpu_wake(v);
    }
}

/* The vcpu a port's events go to (Xen's notify_vcpu_id). */
static struct vcpu *notify_vcpu(struct domain *d, const struct evtchn *c)
{
    return &d->vcpus[c->notify_vcpu < d->max_vcpus ? c->notify_vcpu : 0];
}

static int port_is_valid(const struct domain *d, unsigned int port)
{
    return port < d->ev.valid;
}

/* ---- FIFO ABI (Xen's event_fifo.c semantics on one CPU: the guest
 * never runs while the hv updates its words, so no cmpxchg). Each vcpu
 * has its own control block (heads, READY) and queue tails; a port is
 * linked on its notify vcpu's queues. ---- */

#define FIFO_BIT(b) ((uint32_t)1 << (b))

static volatile uint32_t *fifo_word(const struct domain *d, unsigned int port)
{
    if (port >= d->ev.fifo_nr_pages * EVTCHN_FIFO_WORDS_PER_PAGE)
        return NULL;
    return (volatile uint32_t *)mfn_to_virt(d->ev.fifo_array[port / EVTCHN_FIFO_WORDS_PER_PAGE]) +
           port % EVTCHN_FIFO_WORDS_PER_PAGE;
}

static volatile evtchn_fifo_control_block_t *fifo_ctrl(const struct vcpu *v)
{
    if (!v->ev.fifo_ctrl_mfn)
        return NULL;
    return (volatile evtchn_fifo_control_block_t *)((uint8_t *)mfn_to_virt(v->ev.fifo_ctrl_mfn) +
                                                     v->ev.fifo_ctrl_off);
}

/* Xen's evtchn_fifo_set_pending: set PENDING; if unmasked and not yet
 * LINKED, link it at the tail of its priority's queue (through the old
 * tail's LINK field while that tail is still LINKED, else as the new
 * head); a queue that was empty sets its READY bit and, on a 0 -> 1
 * change, the upcall. Without the event word (array page not added yet)
 * the event is remembered for expand_array. */
static void fifo_set_pending(struct domain *d, unsigned int port)
{
    struct evtchn *c = &d->ev.ports[port];
    volatile uint32_t *w = fifo_word(d, port);
    if (!w) {
        c->pending = 1;
        return;
    }
    /* The event words are the guest's too (it clears LINKED and PENDING,
     * sets MASKED, on any of its vcpus): every change here is atomic. */
    int was_pending = (__atomic_fetch_or(w, FIFO_BIT(EVTCHN_FIFO_PENDING), __ATOMIC_SEQ_CST) &
                       FIFO_BIT(EVTCHN_FIFO_PENDING)) != 0;
    struct vcpu *v = notify_vcpu(d, c);
    volatile evtchn_fifo_control_block_t *cb = fifo_ctrl(v);
    unsigned int q = c->priority;
    int linked = 1;
    if (cb && !(__atomic_load_n(w, __ATOMIC_SEQ_CST) & FIFO_BIT(EVTCHN_FIFO_MASKED)) &&
        !(__atomic_fetch_or(w, FIFO_BIT(EVTCHN_FIFO_LINKED), __ATOMIC_SEQ_CST) &
          FIFO_BIT(EVTCHN_FIFO_LINKED))) {
        /* Was it the tail of the queue it was last on (its last vcpu's,
         * Xen's lastq)? That queue is empty now (the guest unlinked it):
         * forget the tail. */
        struct vcpu *lv = &d->vcpus[c->last_vcpu < d->max_vcpus ? c->last_vcpu : 0];
        if (lv->ev.fifo_tail[c->last_priority] == port)
            lv->ev.fifo_tail[c->last_priority] = 0;
        c->last_priority = (uint8_t)q;
        c->last_vcpu = (uint8_t)v->id;
        linked = 0;
        uint32_t tail = v->ev.fifo_tail[q];
        if (tail) {
            volatile uint32_t *tw = fifo_word(d, tail);
            /* Xen's evtchn_fifo_set_link: link through the old tail only
             * while the guest has not unlinked it meanwhile (a few tries:
             * a word the guest keeps changing makes this port the head). */
            uint32_t o = tw ? __atomic_load_n(tw, __ATOMIC_SEQ_CST) : 0;
            for (int tries = 0; tries < 4 && (o & FIFO_BIT(EVTCHN_FIFO_LINKED)); tries++) {
                uint32_t n = (o & ~(FIFO_BIT(EVTCHN_FIFO_BUSY) | EVTCHN_FIFO_LINK_MASK)) | port;
                if (__atomic_compare_exchange_n(tw, &o, n, 0, __ATOMIC_SEQ_CST,
                                                __ATOMIC_SEQ_CST)) {
                    linked = 1;
                    break;
                }
            }
        }
        if (!linked)
            cb->head[q] = port;
        v->ev.fifo_tail[q] = port;
    }
    if (!linked && !(__atomic_fetch_or(&cb->ready, FIFO_BIT(q), __ATOMIC_SEQ_CST) & FIFO_BIT(q)))
        vcpu_mark_events_pending(v);
    if (!was_pending)
        check_pollers(d, port);
}

/* ---- the ABI in force ---- */

/* 2-level set_pending: pending bit, then (if unmasked) the selector bit
 * and the upcall flag, then pollers of that port. */
static void evtchn_set_pending(struct domain *d, unsigned int port)
{
    if (d->ev.ports[port].hv_consumer) {
        hvm_ioreq_port_notify(d, port); /* the hv's end: never the guest's */
        return;
    }
    if (d->ev.fifo) {
        fifo_set_pending(d, port);
        return;
    }
    shared_info_t *s = d->shared_info;
    struct vcpu *v = notify_vcpu(d, &d->ev.ports[port]);
    if (test_and_set(s->evtchn_pending, port))
        return;
    if (!test_bit(s->evtchn_mask, port) &&
        !test_and_set(&v->info->evtchn_pending_sel, port / BITS_PER_WORD))
        vcpu_mark_events_pending(v);
    check_pollers(d, port);
}

int evtchn_port_is_pending(struct domain *d, unsigned int port)
{
    if (!port_is_valid(d, port))
        return 0;
    if (d->ev.fifo) {
        volatile uint32_t *w = fifo_word(d, port);
        return w && (*w & FIFO_BIT(EVTCHN_FIFO_PENDING));
    }
    return test_bit(d->shared_info->evtchn_pending, port);
}

/* FIFO: a port still LINKED in a queue cannot be reused before the guest
 * has unlinked it (Xen's evtchn_is_busy). */
static int port_is_busy(const struct domain *d, unsigned int port)
{
    if (!d->ev.fifo)
        return 0;
    volatile uint32_t *w = fifo_word(d, port);
    return w && (*w & FIFO_BIT(EVTCHN_FIFO_LINKED));
}

static int virq_is_global(unsigned int virq)
{
    return !(virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF ||
             virq == VIRQ_XENPMU);
}

void send_guest_vcpu_virq(struct vcpu *v, unsigned int virq)
{
    if (virq >= XL_NR_VIRQS || v->domain->state == DOM_FREE)
        return;
    unsigned int port = v->ev.virq_to_port[virq];
    if (port)
        evtchn_set_pending(v->domain, port);
}

/* Global VIRQs are bound through vcpu 0 (Xen): their port's notify vcpu
 * (EVTCHNOP_bind_vcpu may move it) gets the event. */
void send_guest_global_virq(struct domain *d, unsigned int virq)
{
    send_guest_vcpu_virq(&d->vcpus[0], virq);
}

/* Global VIRQs go to their handler: dom0 (Xen's hardware domain). */
void send_global_virq(unsigned int virq)
{
    struct domain *d0 = domain_by_id(0);
    if (d0 && d0->state == DOM_RUNNING)
        send_guest_global_virq(d0, virq);
}

/* ---- the port table ---- */

void evtchn_domain_init(struct domain *d)
{
    memset(&d->ev, 0, sizeof(d->ev));
    struct vcpu *v;
    for_each_vcpu(d, v)
        memset(v->ev.virq_to_port, 0, sizeof(v->ev.virq_to_port));
    d->ev.valid = EVTCHN_BUCKET;
    d->ev.ports[0].state = ECS_RESERVED;
}

/* First free port (not busy), growing the valid range one bucket at a
 * time. Its FIFO priority starts at the default (Xen's evtchn_fifo_init,
 * harmless under 2-level), last_priority is kept: a port reused while it
 * is still the hv's tail of that queue must not link to itself. None
 * for a dying domain. */
static int get_free_port(struct domain *d)
{
    /* A domain being destroyed (its ports closed by the first step) gets
     * no new ones: a binding made now would outlive it (Xen: is_dying). */
    if (d->destroy_stage)
        return -XL_EINVAL;
    for (unsigned int p = 0; p < EVTCHN_MAX; p++) {
        if (p >= d->ev.valid)
            d->ev.valid += EVTCHN_BUCKET;
        if (d->ev.ports[p].state == ECS_FREE && !port_is_busy(d, p)) {
            d->ev.ports[p].priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
            return (int)p;
        }
    }
    return -XL_ENOSPC;
}

/* Claim a free port for a binding (state and fields given). */
static void port_bind(struct domain *d, unsigned int port, struct evtchn c)
{
    struct evtchn *p = &d->ev.ports[port];
    c.priority = p->priority;
    c.last_priority = p->last_priority;
    c.last_vcpu = p->last_vcpu;
    *p = c;
}

static void evtchn_free(struct domain *d, unsigned int port)
{
    if (d->ev.fifo) {
        volatile uint32_t *w = fifo_word(d, port);
        if (w)
            *w &= ~FIFO_BIT(EVTCHN_FIFO_PENDING); /* the guest unlinks it itself */
    } else {
        test_and_clear(d->shared_info->evtchn_pending, port);
    }
    uint8_t last = d->ev.ports[port].last_priority, lastv = d->ev.ports[port].last_vcpu;
    d->ev.ports[port] = (struct evtchn){ .state = ECS_FREE, .last_priority = last,
                                         .last_vcpu = lastv };
}

/* DOMID_SELF or an existing domain; NULL means -ESRCH. */
static struct domain *lookup(struct vcpu *v, domid_t id)
{
    return id == DOMID_SELF ? v->domain : domain_by_id(id);
}

/* Xen's XSM_TARGET default: a domain may act on itself; only a
 * privileged domain on others. */
static int may_target(const struct vcpu *v, const struct domain *t)
{
    return t == v->domain || v->domain->privileged;
}

static long evtchn_close(struct domain *d, unsigned int port)
{
    if (!port_is_valid(d, port))
        return -XL_EINVAL;
    struct evtchn *c = &d->ev.ports[port];
    switch (c->state) {
    case ECS_UNBOUND:
    case ECS_IPI:
        break;
    case ECS_VIRQ: {
        struct vcpu *v;
        for_each_vcpu(d, v)
            if (v->ev.virq_to_port[c->virq] == port)
                v->ev.virq_to_port[c->virq] = 0;
        break;
    }
    case ECS_PIRQ:
        pirq_unbind_port(d, c->pirq, port);
        break;
    case ECS_INTERDOMAIN: {
        struct domain *r = domain_by_id(c->remote_dom);
        BUG_ON(!r);
        struct evtchn *rc = &r->ev.ports[c->remote_port];
        BUG_ON(rc->state != ECS_INTERDOMAIN || rc->remote_dom != d->domid ||
               rc->remote_port != port);
        /* The remote end waits for a new partner: unbound to us. */
        rc->state = ECS_UNBOUND;
        rc->remote_dom = d->domid;
        rc->remote_port = 0;
        break;
    }
    default: /* free, reserved */
        return -XL_EINVAL;
    }
    evtchn_free(d, port);
    return 0;
}

/* Drop the FIFO ABI's guest frames and go back to 2-level (Xen's
 * evtchn_fifo_destroy + evtchn_2l_init). */
static void fifo_destroy(struct domain *d)
{
    struct vcpu *v;
    for_each_vcpu(d, v) {
        if (v->ev.fifo_ctrl_mfn)
            put_page_and_type(v->ev.fifo_ctrl_mfn);
        v->ev.fifo_ctrl_mfn = 0;
        v->ev.fifo_ctrl_off = 0;
        memset(v->ev.fifo_tail, 0, sizeof(v->ev.fifo_tail));
    }
    for (unsigned int i = 0; i < d->ev.fifo_nr_pages; i++)
        put_page_and_type(d->ev.fifo_array[i]);
    d->ev.fifo = 0;
    d->ev.fifo_nr_pages = 0;
    memset(d->ev.fifo_array, 0, sizeof(d->ev.fifo_array));
    for (unsigned int p = 0; p < d->ev.valid && p < EVTCHN_MAX; p++) {
        d->ev.ports[p].pending = 0;
        d->ev.ports[p].last_priority = 0;
        d->ev.ports[p].last_vcpu = 0;
    }
}

/* Every port; keep_hv: not those the hv consumes (a guest's reset may
 * not close them, as in Xen, where a guest cannot close a Xen-attached
 * port). */
static void close_all(struct domain *d, int keep_hv)
{
    for (unsigned int p = 1; p < d->ev.valid && p < EVTCHN_MAX; p++)
        if (d->ev.ports[p].state != ECS_FREE && !(keep_hv && d->ev.ports[p].hv_consumer))
            evtchn_close(d, p);
}

void evtchn_domain_destroy(struct domain *d)
{
    close_all(d, 0);
    fifo_destroy(d);
}

int evtchn_alloc_hv_port(struct domain *d, unsigned int vcpu_id, uint16_t remote_dom)
{
    int port = get_free_port(d);
    if (port < 0)
        return port;
    port_bind(d, (unsigned int)port,
              (struct evtchn){ .state = ECS_UNBOUND, .remote_dom = remote_dom,
                               .notify_vcpu = (uint16_t)vcpu_id, .hv_consumer = 1 });
    return port;
}

void evtchn_send_hv(struct domain *d, unsigned int port)
{
    if (!port_is_valid(d, port))
        return;
    const struct evtchn *c = &d->ev.ports[port];
    if (!c->hv_consumer || c->state != ECS_INTERDOMAIN)
        return; /* nobody bound yet: dropped, as a guest's send would be */
    struct domain *r = domain_by_id(c->remote_dom);
    BUG_ON(!r);
    evtchn_set_pending(r, c->remote_port);
}

void evtchn_close_hv_port(struct domain *d, unsigned int port)
{
    if (port_is_valid(d, port) && d->ev.ports[port].hv_consumer)
        evtchn_close(d, port);
}

/* A guest frame the hv will write into for d (Xen's map_guest_page): d's
 * own (PV: the gfn is the mfn; HVM/PVH: the gfn through its p2m), with a
 * writable type so it can never be a page table or descriptor table
 * while in use. Its mfn in *mfn. */
static int fifo_get_frame(struct domain *d, uint64_t gfn, uint64_t *mfn)
{
    uint64_t m = gfn;
    if (d->hvm) {
        /* a translated guest names its RAM by gfn, through its p2m
         * (never a frame outside it: the ioreq pages, the p2m's tables) */
        int64_t t = hvm_gfn_to_mfn(d, gfn);
        if (t < 0)
            return -XL_EINVAL;
        m = (uint64_t)t;
    }
    if (get_page_and_type(m, d->domid, PGT_writable)) /* checks m < max_mfn */
        return -XL_EINVAL;
    *mfn = m;
    return 0;
}

static long op_init_control(struct vcpu *v, evtchn_init_control_t *ic)
{
    struct domain *d = v->domain;
    ic->link_bits = EVTCHN_FIFO_LINK_BITS;
    struct vcpu *t = domain_vcpu(d, ic->vcpu); /* any vcpu of the caller's domain */
    if (!t)
        return -XL_ENOENT;
    if (ic->offset > PAGE_SIZE - sizeof(evtchn_fifo_control_block_t) || (ic->offset & 7))
        return -XL_EINVAL;
    if (t->ev.fifo_ctrl_mfn)
        return -XL_EINVAL; /* this vcpu's control block is set already */
    uint64_t ctrl_mfn;
    if (fifo_get_frame(d, ic->control_gfn, &ctrl_mfn))
        return -XL_EINVAL;
    t->ev.fifo_ctrl_mfn = ctrl_mfn;
    t->ev.fifo_ctrl_off = ic->offset;
    if (!d->ev.fifo) {
        /* Switch from 2-level: bound ports are kept with the default
         * priority; those pending in the 2-level bitmap are raised again
         * once their event-array page exists (Xen's setup_ports). */
        d->ev.fifo = 1;
        struct vcpu *u;
        for_each_vcpu(d, u)
            memset(u->ev.fifo_tail, 0, sizeof(u->ev.fifo_tail));
        for (unsigned int p = 1; p < d->ev.valid && p < EVTCHN_MAX; p++) {
            struct evtchn *c = &d->ev.ports[p];
            c->pending = (uint8_t)test_bit(d->shared_info->evtchn_pending, p);
            c->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
        }
    }
    return 0;
}

static long op_expand_array(struct vcpu *v, evtchn_expand_array_t *ea)
{
    struct domain *d = v->domain;
    if (!d->ev.fifo)
        return -XEN_EOPNOTSUPP;
    unsigned int slot = d->ev.fifo_nr_pages;
    if (slot >= EVTCHN_FIFO_PAGES)
        return -XL_ENOSPC;
    uint64_t array_mfn;
    if (fifo_get_frame(d, ea->array_gfn, &array_mfn))
        return -XL_EINVAL;
    d->ev.fifo_array[slot] = array_mfn;
    d->ev.fifo_nr_pages = slot + 1;
    /* Events raised while this page was missing. */
    for (unsigned int p = slot * EVTCHN_FIFO_WORDS_PER_PAGE;
         p < (slot + 1) * EVTCHN_FIFO_WORDS_PER_PAGE && p < d->ev.valid; p++) {
        if (d->ev.ports[p].pending) {
            d->ev.ports[p].pending = 0;
            fifo_set_pending(d, p);
        }
    }
    return 0;
}

static long op_set_priority(struct vcpu *v, evtchn_set_priority_t *sp)
{
    struct domain *d = v->domain;
    if (!port_is_valid(d, sp->port))
        return -XL_EINVAL;
    if (!d->ev.fifo)
        return -XL_ENOSYS;
    if (sp->priority > EVTCHN_FIFO_PRIORITY_MIN)
        return -XL_EINVAL;
    /* Only new events go to the new queue; one already linked stays. */
    d->ev.ports[sp->port].priority = (uint8_t)sp->priority;
    return 0;
}

/* ---- sub-ops ---- */

static long op_alloc_unbound(struct vcpu *v, evtchn_alloc_unbound_t *a)
{
    struct domain *d = lookup(v, a->dom);
    if (!d)
        return -XL_ESRCH;
    if (!may_target(v, d))
        return -XL_EPERM;
    int port = get_free_port(d);
    if (port < 0)
        return port;
    port_bind(d, (unsigned int)port,
              (struct evtchn){ .state = ECS_UNBOUND,
                               .remote_dom = a->remote_dom == DOMID_SELF ? v->domain->domid
                                                                         : a->remote_dom });
    a->port = (evtchn_port_t)port;
    return 0;
}

static long op_bind_interdomain(struct vcpu *v, evtchn_bind_interdomain_t *b)
{
    struct domain *ld = v->domain;
    struct domain *rd = lookup(v, b->remote_dom);
    if (!rd)
        return -XL_ESRCH;
    int lport = get_free_port(ld);
    if (lport < 0)
        return lport;
    unsigned int rport = b->remote_port;
    if (!port_is_valid(rd, rport) || rd->ev.ports[rport].state != ECS_UNBOUND ||
        rd->ev.ports[rport].remote_dom != ld->domid)
        return -XL_EINVAL; /* lport was never marked used */
    struct evtchn *r = &rd->ev.ports[rport];
    port_bind(ld, (unsigned int)lport, (struct evtchn){ .state = ECS_INTERDOMAIN,
                                                        .remote_dom = rd->domid,
                                                        .remote_port = (uint16_t)rport });
    r->state = ECS_INTERDOMAIN;
    r->remote_dom = ld->domid;
    r->remote_port = (uint16_t)lport;
    /* As Xen: a notification sent to the unbound port may be lost, so
     * the new local port starts pending. */
    evtchn_set_pending(ld, (unsigned int)lport);
    b->local_port = (evtchn_port_t)lport;
    return 0;
}

static long op_bind_virq(struct vcpu *v, evtchn_bind_virq_t *b)
{
    struct domain *d = v->domain;
    if (b->virq >= XL_NR_VIRQS)
        return -XL_EINVAL;
    if (virq_is_global(b->virq) && b->vcpu != 0)
        return -XL_EINVAL;
    struct vcpu *t = domain_vcpu(d, b->vcpu); /* per-vcpu VIRQs on any vcpu */
    if (!t)
        return -XL_ENOENT;
    if (t->ev.virq_to_port[b->virq])
        return -XL_EEXIST;
    int port = get_free_port(d);
    if (port < 0)
        return port;
    port_bind(d, (unsigned int)port, (struct evtchn){ .state = ECS_VIRQ, .virq = (uint8_t)b->virq,
                                                      .notify_vcpu = (uint16_t)t->id });
    t->ev.virq_to_port[b->virq] = (uint16_t)port;
    b->port = (evtchn_port_t)port;
    return 0;
}

static long op_bind_ipi(struct vcpu *v, evtchn_bind_ipi_t *b)
{
    if (!domain_vcpu(v->domain, b->vcpu))
        return -XL_ENOENT;
    int port = get_free_port(v->domain);
    if (port < 0)
        return port;
    port_bind(v->domain, (unsigned int)port,
              (struct evtchn){ .state = ECS_IPI, .notify_vcpu = (uint16_t)b->vcpu });
    b->port = (evtchn_port_t)port;
    return 0;
}

/* Xen's evtchn_bind_pirq: only a pirq the caller's domain has mapped
 * (pirq_bind_check: -EINVAL out of range, -EPERM not mapped for it,
 * -EEXIST bound); events go to vcpu 0
 * until EVTCHNOP_bind_vcpu moves them. BIND_PIRQ__WILL_SHARE is
 * accepted and means nothing: MSI pirqs are never shared. */
static long op_bind_pirq(struct vcpu *v, evtchn_bind_pirq_t *b)
{
    struct domain *d = v->domain;
    int rc = pirq_bind_check(d, b->pirq);
    if (rc)
        return rc;
    int port = get_free_port(d);
    if (port < 0)
        return port;
    port_bind(d, (unsigned int)port,
              (struct evtchn){ .state = ECS_PIRQ, .pirq = (uint16_t)b->pirq });
    pirq_set_port(b->pirq, (uint32_t)port);
    b->port = (evtchn_port_t)port;
    return 0;
}

void evtchn_raise_pirq(struct domain *d, unsigned int port)
{
    if (d->state == DOM_RUNNING && port_is_valid(d, port) && d->ev.ports[port].state == ECS_PIRQ)
        evtchn_set_pending(d, port);
}

static long op_send(struct vcpu *v, unsigned int port)
{
    struct domain *d = v->domain;
    if (!port_is_valid(d, port))
        return -XL_EINVAL;
    struct evtchn *c = &d->ev.ports[port];
    if (c->hv_consumer)
        return -XL_EINVAL; /* Xen: a guest cannot send through a Xen-attached port */
    switch (c->state) {
    case ECS_INTERDOMAIN: {
        struct domain *r = domain_by_id(c->remote_dom);
        BUG_ON(!r);
        evtchn_set_pending(r, c->remote_port);
        return 0;
    }
    case ECS_IPI:
        evtchn_set_pending(d, port);
        return 0;
    case ECS_UNBOUND:
        return 0; /* nobody listens yet: dropped, as Xen does */
    default:
        return -XL_EINVAL;
    }
}

static long op_status(struct vcpu *v, evtchn_status_t *s)
{
    struct domain *d = lookup(v, s->dom);
    if (!d)
        return -XL_ESRCH;
    if (!port_is_valid(d, s->port))
        return -XL_EINVAL;
    if (!may_target(v, d))
        return -XL_EPERM;
    const struct evtchn *c = &d->ev.ports[s->port];
    memset(&s->u, 0, sizeof(s->u));
    s->vcpu = c->notify_vcpu;
    switch (c->state) {
    case ECS_UNBOUND:
        s->status = EVTCHNSTAT_unbound;
        s->u.unbound.dom = c->remote_dom;
        break;
    case ECS_INTERDOMAIN:
        s->status = EVTCHNSTAT_interdomain;
        s->u.interdomain.dom = c->remote_dom;
        s->u.interdomain.port = c->remote_port;
        break;
    case ECS_VIRQ:
        s->status = EVTCHNSTAT_virq;
        s->u.virq = c->virq;
        break;
    case ECS_IPI:
        s->status = EVTCHNSTAT_ipi;
        break;
    case ECS_PIRQ:
        s->status = EVTCHNSTAT_pirq;
        s->u.pirq = c->pirq;
        break;
    default:
        s->status = EVTCHNSTAT_closed;
        break;
    }
    return 0;
}

static long op_unmask(struct vcpu *v, unsigned int port)
{
    struct domain *d = v->domain;
    if (!port_is_valid(d, port))
        return -XL_EINVAL;
    if (d->ev.fifo) {
        /* Xen's evtchn_fifo_unmask: clear MASKED, relink if pending. */
        volatile uint32_t *w = fifo_word(d, port);
        if (w) {
            *w &= ~FIFO_BIT(EVTCHN_FIFO_MASKED);
            if (*w & FIFO_BIT(EVTCHN_FIFO_PENDING))
                fifo_set_pending(d, port);
        }
        return 0;
    }
    shared_info_t *s = d->shared_info;
    struct vcpu *t = notify_vcpu(d, &d->ev.ports[port]);
    if (test_and_clear(s->evtchn_mask, port) && test_bit(s->evtchn_pending, port) &&
        !test_and_set(&t->info->evtchn_pending_sel, port / BITS_PER_WORD))
        vcpu_mark_events_pending(t);
    return 0;
}

static long op_bind_vcpu(struct vcpu *v, evtchn_bind_vcpu_t *b)
{
    struct domain *d = v->domain;
    if (!domain_vcpu(d, b->vcpu))
        return -XL_ENOENT;
    if (!port_is_valid(d, b->port))
        return -XL_EINVAL;
    struct evtchn *c = &d->ev.ports[b->port];
    if (c->hv_consumer)
        return -XL_EINVAL; /* the hv's end goes to the vcpu it serves */
    /* Xen: global VIRQs, unbound, interdomain and pirq ports may move; per-vcpu VIRQs and IPIs may not. Only new events
     * go to the new vcpu. */
    switch (c->state) {
    case ECS_VIRQ:
        if (!virq_is_global(c->virq))
            return -XL_EINVAL;
        /* fall through */
    case ECS_UNBOUND:
    case ECS_INTERDOMAIN:
    case ECS_PIRQ:
        c->notify_vcpu = (uint16_t)b->vcpu;
        return 0;
    default:
        return -XL_EINVAL;
    }
}

static long op_reset(struct vcpu *v, domid_t dom)
{
    struct domain *d = lookup(v, dom);
    if (!d)
        return -XL_ESRCH;
    if (!may_target(v, d))
        return -XL_EPERM;
    if (d != v->domain)
        return -XL_EINVAL; /* Xen: only a paused domain; we cannot pause */
    close_all(d, 1); /* every port of its own closed, back to 2-level */
    fifo_destroy(d);
    return 0;
}

/* Copy the op in, run it, copy it back when the op returns data. */
#define OP(type, fn, out)                                                   \
    do {                                                                    \
        type op_;                                                           \
        if (copy_from_guest_va(v->cr3, &op_, arg, sizeof(op_)))             \
            return -XL_EFAULT;                                              \
        long rc_ = fn(v, &op_);                                             \
        if (!rc_ && (out) && copy_to_guest_va(v->cr3, arg, &op_, sizeof(op_))) \
            return -XL_EFAULT;                                              \
        return rc_;                                                         \
    } while (0)

long do_event_channel_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
                         uint64_t a5)
{
    (void)a3; (void)a4; (void)a5;
    HCSTAT_SUB(&v->domain->hcstat, event_channel_op, cmd);
    switch (cmd) {
    case EVTCHNOP_alloc_unbound:
        OP(evtchn_alloc_unbound_t, op_alloc_unbound, 1);
    case EVTCHNOP_bind_interdomain:
        OP(evtchn_bind_interdomain_t, op_bind_interdomain, 1);
    case EVTCHNOP_bind_virq:
        OP(evtchn_bind_virq_t, op_bind_virq, 1);
    case EVTCHNOP_bind_ipi:
        OP(evtchn_bind_ipi_t, op_bind_ipi, 1);
    case EVTCHNOP_bind_pirq:
        OP(evtchn_bind_pirq_t, op_bind_pirq, 1);
    case EVTCHNOP_status:
        OP(evtchn_status_t, op_status, 1);
    case EVTCHNOP_bind_vcpu:
        OP(evtchn_bind_vcpu_t, op_bind_vcpu, 0);
    case EVTCHNOP_close: {
        evtchn_close_t c;
        if (copy_from_guest_va(v->cr3, &c, arg, sizeof(c)))
            return -XL_EFAULT;
        if (c.port < v->domain->ev.valid && v->domain->ev.ports[c.port].hv_consumer)
            return -XL_EINVAL; /* Xen: a guest cannot close a Xen-attached port */
        return evtchn_close(v->domain, c.port);
    }
    case EVTCHNOP_send: {
        /* The hottest op: its argument read in place (v is the caller,
         * running on this CPU: pv_running_frame's condition). */
        const volatile evtchn_send_t *g = pv_running_frame(v, arg, sizeof(evtchn_send_t), 0);
        evtchn_send_t s;
        if (g)
            s.port = g->port;
        else if (copy_from_guest_va(v->cr3, &s, arg, sizeof(s)))
            return -XL_EFAULT;
        return op_send(v, s.port);
    }
    case EVTCHNOP_unmask: {
        evtchn_unmask_t u;
        if (copy_from_guest_va(v->cr3, &u, arg, sizeof(u)))
            return -XL_EFAULT;
        return op_unmask(v, u.port);
    }
    case EVTCHNOP_reset:
    case EVTCHNOP_reset_cont: {
        evtchn_reset_t r;
        if (copy_from_guest_va(v->cr3, &r, arg, sizeof(r)))
            return -XL_EFAULT;
        return op_reset(v, r.dom);
    }
    case EVTCHNOP_init_control:
        OP(evtchn_init_control_t, op_init_control, 1);
    case EVTCHNOP_expand_array:
        OP(evtchn_expand_array_t, op_expand_array, 0);
    case EVTCHNOP_set_priority:
        OP(evtchn_set_priority_t, op_set_priority, 0);
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_event_channel_op, (unsigned int)cmd);
    }
}

unsigned int evtchn_total_in_use(void)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
        const struct domain *d = &domains[i];
        if (d->state == DOM_FREE)
            continue;
        for (unsigned int p = 1; p < d->ev.valid; p++)
            n += d->ev.ports[p].state != ECS_FREE;
    }
    return n;
}
