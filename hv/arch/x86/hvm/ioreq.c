/*
 * ioreq.c - I/O request servers and the device-model hypercall (Xen's
 * ioreq.c and dm.c, xen/hvm/ioreq.h, xen/hvm/dm_op.h): a device model in
 * a privileged domain creates a server for an HVM domain, maps its ioreq
 * page through XENMEM_acquire_resource, binds one event channel per vcpu
 * and claims port or MMIO ranges; a guest access there becomes an
 * ioreq_t in that page, the vcpu waits, and the answer the device model
 * writes back completes the guest's instruction. XEN_DMOP_set_isa_irq_level
 * drives the domain's emulated 8259 PIC (the device model's interrupts).
 * Owns: the servers of each domain (hvm_domain.ioreq), each vcpu's wait.
 * Must never: map the ioreq page in the guest's p2m (the guest would
 * forge answers), complete an access from a state the device model did
 * not set to IORESP_READY, or let a device model that stops answering
 * hurt more than the vcpus waiting on it (they wait; destroying the
 * server or the domain ends it). No inline assembly.
 *
 * Not done (as Xen has them): buffered ioreqs (handle_bufioreq must be
 * 0), gfn-mapped ioreq pages (get_ioreq_server_info answers only with
 * XEN_DMOP_no_gfns: map the page through XENMEM_acquire_resource), PCI
 * config ranges.
 */
#include <xenolith/domctl.h> /* first: the tools-only ABI (emulation flags, dm_op) */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/event.h>
#include <xenolith/guest_access.h>
#include <xenolith/hvm.h>
#include <xenolith/hypercall.h>
#include <xenolith/ioreq.h>
#include <xenolith/ioreq_state.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/sched.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

_Static_assert(sizeof(((struct hvm_ioreq_server *)0)->vcpu_port) / sizeof(uint16_t) >= MAX_VCPUS,
               "a port for every vcpu");
_Static_assert(MAX_VCPUS * sizeof(ioreq_t) <= 4096, "every vcpu's slot in the page");

static ioreq_t *slot_of(const struct hvm_ioreq_server *s, unsigned int vcpu_id)
{
    return &((shared_iopage_t *)mfn_to_virt(s->mfn))->vcpu_ioreq[vcpu_id];
}

static int in_ranges(const struct hvm_io_range *r, unsigned int n, uint64_t a, uint64_t len)
{
    for (unsigned int i = 0; i < n; i++)
        if (a >= r[i].s && a + len - 1 <= r[i].e)
            return 1;
    return 0;
}

/* The enabled server claiming [a, a+len), -1 if none (the first, as
 * Xen's ioreq_server_select walks its list). */
static int select_server(const struct domain *d, int mmio, uint64_t a, uint64_t len)
{
    for (int i = 0; i < HVM_MAX_IOREQ_SERVERS; i++) {
        const struct hvm_ioreq_server *s = &d->hvmd.ioreq[i];
        if (!s->used || !s->enabled)
            continue;
        if (mmio ? in_ranges(s->mmio, s->nr_mmio, a, len) : in_ranges(s->port, s->nr_port, a, len))
            return i;
    }
    return -1;
}

/* Fill the vcpu's slot, tell the device model, and park the vcpu. */
static void send(struct vcpu *v, int srv, uint8_t type, uint64_t addr, unsigned int size,
                 int read, uint64_t data, uint32_t count, int df, int ptr)
{
    struct domain *d = v->domain;
    struct hvm_ioreq_server *s = &d->hvmd.ioreq[srv];
    ioreq_t *p = slot_of(s, v->id);
    if (ioreq_state_get(p) != STATE_IOREQ_NONE) {
        /* only the device model writes it meanwhile: Xen's "bad state" */
        domain_crash(d, "d%u v%u: device model d%u left ioreq state %u", d->domid, v->id,
                     s->emulator, ioreq_state_get(p));
        return;
    }
    p->addr = addr;
    p->data = read && !ptr ? 0 : data;
    p->count = count;
    p->size = size;
    p->dir = read ? IOREQ_READ : IOREQ_WRITE;
    p->df = df ? 1 : 0;
    p->data_is_ptr = ptr ? 1 : 0;
    p->type = type;
    ioreq_state_set(p, STATE_IOREQ_READY);
    d->hvmd.ioreqs++;
    v->hvm.io.wait = 1;
    v->hvm.io.srv = (uint8_t)srv;
    v->hvm.io.read = (uint8_t)read;
    v->hvm.io.size = (uint8_t)size;
    v->blocked = 1;
    evtchn_send_hv(d, s->vcpu_port[v->id]);
    sched_raise_work();
}

int hvm_ioreq_port(struct vcpu *v, uint16_t port, unsigned int size, int read, uint64_t data,
                   unsigned int insn_len)
{
    int srv = select_server(v->domain, 0, port, size);
    if (srv < 0)
        return 0;
    v->hvm.io.mmio = 0;
    v->hvm.io.string = 0;
    v->hvm.io.skip = insn_len;
    send(v, srv, IOREQ_TYPE_PIO, port, size, read, data, 1, 0, 0);
    return 1;
}

int hvm_ioreq_port_string(struct vcpu *v, uint16_t port, unsigned int size, int read,
                          const struct hvm_string_io *s, unsigned int insn_len)
{
    int srv = select_server(v->domain, 0, port, size);
    if (srv < 0)
        return 0;
    struct hvm_io_wait *w = &v->hvm.io;
    w->mmio = 0;
    w->string = 1;
    w->ptr = (uint8_t)(s->ptr ? 1 : 0);
    w->rep = s->rep, w->asize = s->asize, w->df = s->df;
    w->count = s->count;
    w->va = s->va;
    w->skip = insn_len;
    send(v, srv, IOREQ_TYPE_PIO, port, size, read, s->data, s->count, s->df, s->ptr);
    return 1;
}

int hvm_ioreq_mmio(struct vcpu *v, uint64_t gpa, const struct hvm_mmio_insn *in, uint64_t data)
{
    int srv = select_server(v->domain, 1, gpa, in->size);
    if (srv < 0)
        return 0;
    v->hvm.io.mmio = 1;
    v->hvm.io.string = 0;
    v->hvm.io.insn = *in;
    v->hvm.io.skip = in->len;
    send(v, srv, IOREQ_TYPE_COPY, gpa, in->size, in->kind == HVM_MMIO_LOAD, data, 1, 0, 0);
    return 1;
}

/* The access is over with value val (loads): into the registers, and
 * the instruction stepped over. */
static void finish(struct vcpu *v, uint64_t val)
{
    struct hvm_io_wait *w = &v->hvm.io;
    uint64_t mask = w->size >= 8 ? ~0ULL : (1ULL << (w->size * 8)) - 1;
    if (w->discard) { /* the vcpu was reset (INIT) while it waited */
        w->wait = w->discard = 0;
        return;
    }
    if (w->string) {
        w->wait = 0;
        hvm_string_io_done(v, val);
        return;
    }
    if (w->read && !w->mmio) {
        hvm_io_in_result(v, w->size, (uint32_t)val);
    } else if (w->read) {
        hvm_mmio_complete_load(v, &w->insn, val & mask);
    }
    hvm_skip_insn(v, w->skip);
    w->wait = 0;
}

int hvm_ioreq_complete(struct vcpu *v)
{
    struct hvm_io_wait *w = &v->hvm.io;
    if (!w->wait)
        return 1;
    struct domain *d = v->domain;
    struct hvm_ioreq_server *s = &d->hvmd.ioreq[w->srv];
    ioreq_t *p = slot_of(s, v->id);
    uint8_t st = ioreq_state_get(p);
    switch (st) {
    case STATE_IORESP_READY: {
        uint64_t val = p->data;
        ioreq_state_set(p, STATE_IOREQ_NONE);
        finish(v, val);
        /* answered before the vcpu got to block (the device model polls
         * its slots): it runs on, and the notification that may follow
         * finds nothing waiting */
        v->blocked = 0;
        return 1;
    }
    case STATE_IOREQ_READY:
    case STATE_IOREQ_INPROCESS:
        v->blocked = 1;
        return 0;
    default:
        domain_crash(d, "d%u v%u: device model d%u set ioreq state %u", d->domid, v->id,
                     s->emulator, st);
        w->wait = 0;
        return 0;
    }
}

void hvm_ioreq_port_notify(struct domain *d, unsigned int port)
{
    struct vcpu *v;
    for_each_vcpu(d, v) {
        if (!v->hvm.io.wait)
            continue;
        const struct hvm_ioreq_server *s = &d->hvmd.ioreq[v->hvm.io.srv];
        if (s->vcpu_port[v->id] == port && v->blocked)
            vcpu_wake(v); /* it completes on its way in */
    }
}

/* ---- servers ---- */

static void server_free(struct domain *d, unsigned int id)
{
    struct hvm_ioreq_server *s = &d->hvmd.ioreq[id];
    struct vcpu *v;
    for_each_vcpu(d, v) {
        if (v->hvm.io.wait && v->hvm.io.srv == id) {
            finish(v, ~0ULL); /* no device any more: all ones, as Xen's null handler */
            if (v->blocked)
                vcpu_wake(v);
        }
        if (s->vcpu_port[v->id])
            evtchn_close_hv_port(d, s->vcpu_port[v->id]);
    }
    /* The hv's reference goes; a device model still mapping the page
     * keeps it (the domain's, not in its p2m) until it unmaps or the
     * domain's frames go. */
    put_page_and_type(s->mfn);
    if (frame_table[s->mfn].owner == d->domid && !frame_table[s->mfn].count)
        mm_free_frame(s->mfn);
    memset(s, 0, sizeof(*s));
}

void hvm_ioreq_destroy_all(struct domain *d)
{
    if (d->hvmd.ioreqs)
        printk("d%u ioreqs: %lu answered by device models\n", d->domid,
               (unsigned long)d->hvmd.ioreqs);
    for (unsigned int i = 0; i < HVM_MAX_IOREQ_SERVERS; i++)
        if (d->hvmd.ioreq[i].used)
            server_free(d, i);
}

static int server_create(struct domain *d, uint16_t emulator, uint16_t *id)
{
    unsigned int i;
    for (i = 0; i < HVM_MAX_IOREQ_SERVERS && d->hvmd.ioreq[i].used; i++)
        ;
    if (i == HVM_MAX_IOREQ_SERVERS)
        return -XL_ENOSPC;
    struct hvm_ioreq_server *s = &d->hvmd.ioreq[i];
    /* The page is the target's (as Xen's ioreq_server_alloc_mfn), not in
     * its tot_pages nor its p2m, with a writable type held for its life. */
    int64_t f = mm_alloc_frame(d->domid);
    if (f < 0)
        return -XL_ENOMEM;
    if (get_page_and_type((uint64_t)f, d->domid, PGT_writable)) {
        mm_free_frame((uint64_t)f);
        return -XL_ENOMEM;
    }
    *s = (struct hvm_ioreq_server){ .used = 1, .emulator = emulator, .mfn = (uint64_t)f };
    struct vcpu *v;
    for_each_vcpu(d, v) {
        int port = evtchn_alloc_hv_port(d, v->id, emulator);
        if (port < 0) {
            server_free(d, i);
            return port;
        }
        s->vcpu_port[v->id] = (uint16_t)port;
        slot_of(s, v->id)->vp_eport = (uint32_t)port;
    }
    *id = (uint16_t)i;
    return 0;
}

static struct hvm_ioreq_server *server_of(struct vcpu *caller, struct domain *d, uint32_t id,
                                          int *rc)
{
    if (id >= HVM_MAX_IOREQ_SERVERS || !d->hvmd.ioreq[id].used) {
        *rc = -XL_ENOENT;
        return NULL;
    }
    if (d->hvmd.ioreq[id].emulator != caller->domain->domid) {
        *rc = -XL_EPERM; /* Xen: only the server's own emulator */
        return NULL;
    }
    return &d->hvmd.ioreq[id];
}

static int range_map(struct hvm_ioreq_server *s, uint32_t type, uint64_t a, uint64_t e, int add)
{
    struct hvm_io_range *r;
    uint8_t *n;
    if (type == XEN_DMOP_IO_RANGE_PORT) {
        if (e > 0xffff)
            return -XL_EINVAL;
        r = s->port, n = &s->nr_port;
    } else if (type == XEN_DMOP_IO_RANGE_MEMORY) {
        r = s->mmio, n = &s->nr_mmio;
    } else if (type == XEN_DMOP_IO_RANGE_PCI) {
        return -XL_EOPNOTSUPP; /* no emulated PCI config space here */
    } else {
        return -XL_EINVAL;
    }
    if (a > e)
        return -XL_EINVAL;
    for (unsigned int i = 0; i < *n; i++) {
        if (!add && r[i].s == a && r[i].e == e) {
            r[i] = r[--*n];
            return 0;
        }
        if (add && a <= r[i].e && e >= r[i].s)
            return -XL_EEXIST; /* Xen's rangeset: an overlap */
    }
    if (!add)
        return -XL_ENOENT;
    if (*n == HVM_IOREQ_MAX_RANGES)
        return -XL_ENOSPC;
    r[(*n)++] = (struct hvm_io_range){ a, e };
    return 0;
}

int hvm_ioreq_resource(struct vcpu *caller, struct domain *d, uint32_t id, uint64_t frame,
                       uint64_t *mfn)
{
    int rc = 0;
    if (!d->hvm)
        return -XL_EINVAL;
    struct hvm_ioreq_server *s = server_of(caller, d, id, &rc);
    if (!s)
        return rc;
    if (frame != XENMEM_resource_ioreq_server_frame_ioreq(0))
        return -XL_EINVAL; /* frame 0, the buffered page, is not there (no bufioreq) */
    *mfn = s->mfn;
    return 0;
}

/* ---- XEN_DMOP_set_isa_irq_level: the emulated PIC's input lines ---- */
static int set_isa_irq(struct domain *d, uint8_t irq, uint8_t level)
{
    if (irq > 15 || level > 1)
        return -XL_EINVAL;
    hvm_isa_irq_set(d, irq, level);
    return 0;
}

/* ---- the hypercall ---- */

/* Each op's payload size (what buf 0 must hold past the header). */
static size_t op_size(uint32_t op)
{
    switch (op) {
    case XEN_DMOP_create_ioreq_server: return sizeof(struct xen_dm_op_create_ioreq_server);
    case XEN_DMOP_get_ioreq_server_info: return sizeof(struct xen_dm_op_get_ioreq_server_info);
    case XEN_DMOP_map_io_range_to_ioreq_server:
    case XEN_DMOP_unmap_io_range_from_ioreq_server: return sizeof(struct xen_dm_op_ioreq_server_range);
    case XEN_DMOP_set_ioreq_server_state: return sizeof(struct xen_dm_op_set_ioreq_server_state);
    case XEN_DMOP_destroy_ioreq_server: return sizeof(struct xen_dm_op_destroy_ioreq_server);
    case XEN_DMOP_set_isa_irq_level: return sizeof(struct xen_dm_op_set_isa_irq_level);
    default: return 0;
    }
}

static long dm_op(struct vcpu *v, struct domain *d, struct xen_dm_op *op, int *out)
{
    int rc = 0;
    struct hvm_ioreq_server *s;
    *out = 0;
    switch (op->op) {
    case XEN_DMOP_create_ioreq_server: {
        struct xen_dm_op_create_ioreq_server *c = &op->u.create_ioreq_server;
        if (c->pad[0] || c->pad[1] || c->pad[2] || c->handle_bufioreq > HVM_IOREQSRV_BUFIOREQ_ATOMIC)
            return -XL_EINVAL;
        if (c->handle_bufioreq != HVM_IOREQSRV_BUFIOREQ_OFF)
            return -XL_EOPNOTSUPP; /* no buffered ioreqs (see the top) */
        rc = server_create(d, v->domain->domid, &c->id);
        *out = !rc;
        return rc;
    }
    case XEN_DMOP_get_ioreq_server_info: {
        struct xen_dm_op_get_ioreq_server_info *g = &op->u.get_ioreq_server_info;
        if (g->flags & ~XEN_DMOP_no_gfns)
            return -XL_EINVAL;
        if (!(s = server_of(v, d, g->id, &rc)))
            return rc;
        if (!(g->flags & XEN_DMOP_no_gfns))
            return -XL_EOPNOTSUPP; /* no gfns: XENMEM_acquire_resource maps the page */
        g->bufioreq_port = 0;
        g->ioreq_gfn = g->bufioreq_gfn = 0;
        *out = 1;
        return 0;
    }
    case XEN_DMOP_map_io_range_to_ioreq_server:
    case XEN_DMOP_unmap_io_range_from_ioreq_server: {
        struct xen_dm_op_ioreq_server_range *r = &op->u.map_io_range_to_ioreq_server;
        if (r->pad)
            return -XL_EINVAL;
        if (!(s = server_of(v, d, r->id, &rc)))
            return rc;
        return range_map(s, r->type, r->start, r->end, op->op == XEN_DMOP_map_io_range_to_ioreq_server);
    }
    case XEN_DMOP_set_ioreq_server_state: {
        struct xen_dm_op_set_ioreq_server_state *st = &op->u.set_ioreq_server_state;
        if (st->pad || st->enabled > 1)
            return -XL_EINVAL;
        if (!(s = server_of(v, d, st->id, &rc)))
            return rc;
        s->enabled = st->enabled;
        return 0;
    }
    case XEN_DMOP_destroy_ioreq_server: {
        struct xen_dm_op_destroy_ioreq_server *ds = &op->u.destroy_ioreq_server;
        if (ds->pad)
            return -XL_EINVAL;
        if (!(s = server_of(v, d, ds->id, &rc)))
            return rc;
        server_free(d, ds->id);
        return 0;
    }
    case XEN_DMOP_set_isa_irq_level:
        return set_isa_irq(d, op->u.set_isa_irq_level.isa_irq, op->u.set_isa_irq_level.level);
    default:
        return -XL_EOPNOTSUPP;
    }
}

long do_dm_op(struct vcpu *v, uint64_t domid, uint64_t nr_bufs, uint64_t bufs, uint64_t a4,
              uint64_t a5)
{
    (void)a4, (void)a5;
    struct xen_dm_op_buf buf;
    struct xen_dm_op op;
    if (!nr_bufs)
        return -XL_EINVAL;
    if (nr_bufs > 2)
        return -XL_E2BIG; /* Xen: more than its ops use (ARRAY_SIZE(args.buf)) */
    if (copy_from_guest_va(v->cr3, &buf, bufs, sizeof(buf)))
        return -XL_EFAULT;
    struct domain *d = domain_by_id((uint16_t)domid);
    if (!d || domid >= DOMID_FIRST_RESERVED)
        return -XL_ESRCH;
    if (!v->domain->privileged || d == v->domain)
        return -XL_EPERM; /* Xen's XSM default: a device model is privileged over its target */
    if (!d->hvm)
        return -XL_EINVAL;
    const size_t hdr = offsetof(struct xen_dm_op, u);
    if (buf.size < hdr)
        return -XL_EFAULT;
    memset(&op, 0, sizeof(op));
    size_t n = buf.size < sizeof(op) ? buf.size : sizeof(op);
    if (copy_from_guest_va(v->cr3, &op, (uint64_t)buf.h.p, n))
        return -XL_EFAULT;
    if (op.pad)
        return -XL_EINVAL;
    size_t need = op_size(op.op);
    if (!need)
        return -XL_EOPNOTSUPP;
    if (buf.size < hdr + need)
        return -XL_EFAULT;
    int out;
    long rc = dm_op(v, d, &op, &out);
    if (out && copy_to_guest_va(v->cr3, (uint64_t)buf.h.p, &op, hdr + need))
        return -XL_EFAULT;
    return rc;
}
