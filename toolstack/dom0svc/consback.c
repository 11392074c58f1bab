/*
 * consback.c - dom0's PV console back end: each domU's console page
 * (xen/io/console.h, struct xencons_interface) foreign-mapped, its out
 * ring drained into "(dN) ..." lines on dom0's console (console_io), and
 * `xl console N` over the control line (output to COM2, COM2 input into
 * the in ring, Ctrl-] detaches: a terminal session, bytes as they come).
 * Owns: the per-domain console state. Must never: trust the domain's ring
 * indexes (a producer more than a ring ahead is clamped), wait on a
 * domain that is gone, or put a control byte of the domain's into the
 * log (it is written as \xNN, so escape sequences cannot reach a
 * terminal that shows the log).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/io/console.h>
#include <xlguest/kernel.h>
#include "svc.h"

#define LINE_MAX_ 160
/* Output kept for the next `xl console` (what xenconsoled and the pty
 * hold for a client that has not attached yet): the newest bytes. */
#define PENDING_MAX 4096

static struct cons {
    struct xencons_interface *intf;
    uint32_t port;
    char line[LINE_MAX_];
    unsigned int len;
    int interactive;       /* output goes to COM2 too */
    char pending[PENDING_MAX]; /* written while no console was attached */
    unsigned int npending;
} cons[SVC_MAX_DOMS];

/* Keep ch for the next console session, dropping the oldest byte when full. */
static void keep_pending(struct cons *c, char ch)
{
    if (c->npending == PENDING_MAX) {
        memmove(c->pending, c->pending + PENDING_MAX / 2, PENDING_MAX / 2);
        c->npending = PENDING_MAX / 2;
    }
    c->pending[c->npending++] = ch;
}

int consback_attach(uint16_t domid, uint64_t mfn, uint32_t remote_port)
{
    if (domid == 0 || domid >= SVC_MAX_DOMS || cons[domid].intf)
        return -XEN_EINVAL;
    struct xencons_interface *intf = svc_map_foreign(domid, mfn);
    if (!intf)
        return -XEN_EFAULT;
    long lp = svc_bind_interdomain(domid, remote_port);
    if (lp < 0) {
        svc_unmap(intf);
        return (int)lp;
    }
    cons[domid] = (struct cons){ .intf = intf, .port = (uint32_t)lp };
    return 0;
}

int consback_attached(uint16_t domid)
{
    return domid < SVC_MAX_DOMS && cons[domid].intf;
}

static void flush_line(uint16_t domid, struct cons *c)
{
    if (!c->len)
        return;
    printk("(d%u) %.*s\n", domid, (int)c->len, c->line);
    c->len = 0;
}

/* One byte of the domain's into its log line: printable ASCII and tab as
 * they are, anything else as \xNN; a full line is flushed first. */
static void put_logged(uint16_t domid, struct cons *c, uint8_t ch)
{
    static const char hex[] = "0123456789abcdef";
    int plain = (ch >= 0x20 && ch < 0x7f) || ch == '\t';
    unsigned int need = plain ? 1 : 4;
    if (c->len + need > LINE_MAX_ - 1)
        flush_line(domid, c);
    if (plain) {
        c->line[c->len++] = (char)ch;
        return;
    }
    c->line[c->len++] = '\\';
    c->line[c->len++] = 'x';
    c->line[c->len++] = hex[ch >> 4];
    c->line[c->len++] = hex[ch & 15];
}

/* Move what the domain wrote out of its ring. */
static void drain(uint16_t domid, struct cons *c)
{
    struct xencons_interface *i = c->intf;
    XENCONS_RING_IDX cons_ = i->out_cons, prod = __atomic_load_n(&i->out_prod, __ATOMIC_ACQUIRE);
    if (prod - cons_ > sizeof(i->out))
        cons_ = prod - (XENCONS_RING_IDX)sizeof(i->out); /* a lying producer */
    if (prod == cons_)
        return;
    while (cons_ != prod) {
        char ch = i->out[MASK_XENCONS_IDX(cons_, i->out)];
        cons_++;
        if (c->interactive)
            ctl_write(&ch, 1);
        else
            keep_pending(c, ch);
        if (ch == '\n') {
            flush_line(domid, c);
        } else if (ch != '\r') {
            put_logged(domid, c, (uint8_t)ch);
        }
    }
    __atomic_store_n(&i->out_cons, cons_, __ATOMIC_RELEASE);
    svc_send(c->port);
}

void consback_poll(void)
{
    for (uint16_t d = 1; d < SVC_MAX_DOMS; d++)
        if (cons[d].intf) {
            svc_port_pending(cons[d].port);
            drain(d, &cons[d]);
        }
}

void consback_detach(uint16_t domid)
{
    if (!consback_attached(domid))
        return;
    struct cons *c = &cons[domid];
    /* What it wrote last (the page stays while mapped, even once the
     * domain is destroyed) */
    drain(domid, c);
    flush_line(domid, c);
    svc_close_port(c->port);
    svc_unmap(c->intf);
    memset(c, 0, sizeof(*c));
}

/* Put one byte in the domain's in ring; 0 if full. */
static int put_in(struct cons *c, char ch)
{
    struct xencons_interface *i = c->intf;
    XENCONS_RING_IDX prod = i->in_prod, cons_ = __atomic_load_n(&i->in_cons, __ATOMIC_ACQUIRE);
    if (prod - cons_ >= sizeof(i->in))
        return 0;
    i->in[MASK_XENCONS_IDX(prod, i->in)] = ch;
    __atomic_store_n(&i->in_prod, prod + 1, __ATOMIC_RELEASE);
    return 1;
}

int consback_interactive(uint16_t domid)
{
    if (!consback_attached(domid))
        return -XEN_ENOENT;
    struct cons *c = &cons[domid];
    /* First what it wrote before anyone was attached, as a pty would. */
    drain(domid, c);
    ctl_write(c->pending, c->npending);
    c->npending = 0;
    c->interactive = 1;
    for (;;) {
        int ch, sent = 0, done = 0;
        while ((ch = ctl_getc()) >= 0) {
            if (ch == 0x1d) {   /* Ctrl-] */
                done = 1;
                break;
            }
            sent |= put_in(c, (char)ch);
        }
        if (sent)
            svc_send(c->port);
        if (done)
            break;
        svc_step(0);            /* drains our ring too */
        if (!consback_attached(domid))
            return 0;           /* the domain went away meanwhile */
    }
    c->interactive = 0;
    static const char nl[] = "\n";
    ctl_write(nl, 1);
    return 0;
}
