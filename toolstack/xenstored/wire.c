/*
 * wire.c - the xenstore wire protocol (xen/io/xs_wire.h) over each
 * domain's xenstore_domain_interface: reading requests from the req ring
 * (partial messages wait, oversized ones get E2BIG and their payload is
 * skipped, malformed ones get XS_ERROR), dispatching them to store.c,
 * queueing replies and XS_WATCH_EVENTs and writing them into the rsp
 * ring; watches, @introduceDomain/@releaseDomain, connections; the
 * service loop, which serves the connections in turn, one request each.
 * Owns: connections, watches and output queues (a reply always has its
 * connection's slot; events are charged to the receiving domain).
 * Must never: read or write outside a ring's 1024 bytes whatever its
 * indexes say, block, or let one connection's bad input affect another.
 */
#include "xs_internal.h"

#include <xen/xen.h>

#define HDR_LEN ((uint32_t)sizeof(struct xsd_sockmsg))

static const struct {
    int err;
    const char *name;
} err_names[] = {
    { XL_EINVAL, "EINVAL" }, { XL_EACCES, "EACCES" }, { XL_EEXIST, "EEXIST" },
    { XEN_EISDIR, "EISDIR" }, { XL_ENOENT, "ENOENT" }, { XL_ENOMEM, "ENOMEM" },
    { XL_ENOSPC, "ENOSPC" }, { XL_EIO, "EIO" }, { XEN_ENOTEMPTY, "ENOTEMPTY" },
    { XL_ENOSYS, "ENOSYS" }, { XEN_EROFS, "EROFS" }, { XL_EBUSY, "EBUSY" },
    { XEN_EAGAIN, "EAGAIN" }, { XEN_EISCONN, "EISCONN" }, { XL_E2BIG, "E2BIG" },
    { XL_EPERM, "EPERM" },
};

static const char *err_name(int err)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(err_names); i++)
        if (err_names[i].err == -err)
            return err_names[i].name;
    return "EINVAL";
}

/* ---- rings ---- */

static void notify(struct xs_store *s, struct xs_conn *c)
{
    if (s->ops.notify)
        s->ops.notify(s->ops.opaque, c->domid);
}

static void ring_broken(struct xs_conn *c)
{
    c->broken = 1;
    c->intf->error = XENSTORE_ERROR_RINGIDX;
}

/* Up to want bytes from the req ring into buf (NULL: discard). */
static uint32_t ring_read(struct xs_conn *c, void *buf, uint32_t want)
{
    struct xenstore_domain_interface *i = c->intf;
    XENSTORE_RING_IDX cons = __atomic_load_n(&i->req_cons, __ATOMIC_RELAXED);
    XENSTORE_RING_IDX prod = __atomic_load_n(&i->req_prod, __ATOMIC_ACQUIRE);
    uint32_t n, done = 0;

    if (prod - cons > XENSTORE_RING_SIZE) {
        ring_broken(c);
        return 0;
    }
    n = MIN(want, prod - cons);
    while (done < n) {
        uint32_t off = MASK_XENSTORE_IDX(cons + done);
        uint32_t chunk = MIN(n - done, XENSTORE_RING_SIZE - off);
        if (buf)
            memcpy((uint8_t *)buf + done, (const void *)&i->req[off], chunk);
        done += chunk;
    }
    __atomic_store_n(&i->req_cons, cons + n, __ATOMIC_RELEASE);
    return n;
}

static uint32_t ring_write(struct xs_conn *c, const uint8_t *buf, uint32_t len)
{
    struct xenstore_domain_interface *i = c->intf;
    XENSTORE_RING_IDX cons = __atomic_load_n(&i->rsp_cons, __ATOMIC_ACQUIRE);
    XENSTORE_RING_IDX prod = __atomic_load_n(&i->rsp_prod, __ATOMIC_RELAXED);
    uint32_t n, done = 0;

    if (prod - cons > XENSTORE_RING_SIZE) {
        ring_broken(c);
        return 0;
    }
    n = MIN(len, XENSTORE_RING_SIZE - (prod - cons));
    while (done < n) {
        uint32_t off = MASK_XENSTORE_IDX(prod + done);
        uint32_t chunk = MIN(n - done, XENSTORE_RING_SIZE - off);
        memcpy(&i->rsp[off], buf + done, chunk);
        done += chunk;
    }
    __atomic_store_n(&i->rsp_prod, prod + n, __ATOMIC_RELEASE);
    return n;
}

/* Write queued messages into the rsp ring while there is room. */
static void flush(struct xs_store *s, struct xs_conn *c)
{
    int wrote = 0;

    while (c->outq && !c->broken) {
        struct xs_msg *m = c->outq;
        uint32_t n = ring_write(c, m->bytes + m->off, m->len - m->off);
        wrote |= n != 0;
        m->off += n;
        if (m->off < m->len)
            break;
        c->outq = m->next;
        if (!c->outq)
            c->outq_tail = &c->outq;
        c->outq_bytes -= m->len;
        if (m == &c->reply)
            c->reply_busy = 0;
        else
            xs_mem_free(s, m);
    }
    if (wrote)
        notify(s, c);
}

/* Queue one message. A reply takes the connection's reply slot (one
 * request is served at a time, so it is free). An event is charged to the
 * receiving domain; over its outq or memory quota it is dropped and
 * counted (Xen too drops the events of a domain that does not read its
 * ring). */
/* Is a watch event with this header and body queued and not yet begun?
 * The queue is bounded (outq_bytes), so the scan is too. */
static int event_pending(const struct xs_conn *c, const struct xsd_sockmsg *h, const void *p1,
                         uint32_t l1, const void *p2, uint32_t l2)
{
    for (const struct xs_msg *m = c->outq; m; m = m->next) {
        if (m->off || m->len != HDR_LEN + l1 + l2 || memcmp(m->bytes, h, HDR_LEN))
            continue;
        if ((!l1 || !memcmp(m->bytes + HDR_LEN, p1, l1)) &&
            (!l2 || !memcmp(m->bytes + HDR_LEN + l1, p2, l2)))
            return 1;
    }
    return 0;
}

static void send_msg(struct xs_store *s, struct xs_conn *c, uint32_t type,
                     uint32_t req_id, uint32_t tx_id, const void *p1, uint32_t l1,
                     const void *p2, uint32_t l2)
{
    struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx_id,
                             .len = l1 + l2 };
    uint32_t total = HDR_LEN + l1 + l2;
    struct xs_msg *m;

    if (c->broken || total > sizeof(c->reply_buf))
        return;
    if (type == XS_WATCH_EVENT && event_pending(c, &h, p1, l1, p2, l2))
        return; /* the same event still waits to be read: once is enough (Xen) */
    if (type != XS_WATCH_EVENT && !c->reply_busy) {
        m = &c->reply;
        m->bytes = c->reply_buf;
        c->reply_busy = 1;
    } else if ((type == XS_WATCH_EVENT && c->outq_bytes + total > s->q.outq_bytes) ||
               !(m = xs_mem_alloc(s, sizeof(*m) + total, c->domid, XS_CHECK_ALWAYS))) {
        s->events_dropped++;
        return;
    } else {
        m->bytes = (uint8_t *)(m + 1);
    }
    memcpy(m->bytes, &h, HDR_LEN);
    if (l1)
        memcpy(m->bytes + HDR_LEN, p1, l1);
    if (l2)
        memcpy(m->bytes + HDR_LEN + l1, p2, l2);
    m->len = total;
    m->off = 0;
    m->next = NULL;
    *c->outq_tail = m;
    c->outq_tail = &m->next;
    c->outq_bytes += total;
    flush(s, c);
}

/* ---- watches ---- */

/* child is parent or below it */
static int is_under(const char *parent, const char *child)
{
    size_t l = strlen(parent);
    if (strcmp(parent, "/") == 0)
        return child[0] == '/';
    return strncmp(parent, child, l) == 0 && (child[l] == 0 || child[l] == '/');
}

static void send_event(struct xs_store *s, struct xs_conn *c, struct xs_watch *w,
                       const char *path)
{
    char prefix[32];
    size_t pl;

    if (w->relative) {
        pl = (size_t)xl_snprintf(prefix, sizeof(prefix), XS_LOCAL_PREFIX "%u/", c->domid);
        if (strncmp(path, prefix, pl) == 0 && path[pl])
            path += pl;
    }
    send_msg(s, c, XS_WATCH_EVENT, 0, 0, path, (uint32_t)strlen(path) + 1,
             w->token, (uint32_t)strlen(w->token) + 1);
}

void xs_watch_fire(struct xs_store *s, const char *path, const struct xs_perm *perms,
                   unsigned int nperms, int recursive)
{
    for (struct xs_conn *c = s->conns; c; c = c->next) {
        if (c->broken)
            continue;
        for (struct xs_watch *w = c->watches; w; w = w->next) {
            if (path[0] == '@') {
                if (c->privileged && strcmp(w->abs, path) == 0)
                    send_event(s, c, w, path);
                continue;
            }
            if (w->abs[0] == '@')
                continue;
            if (!(xs_perm_for(c, perms, nperms) & XSL_PERM_READ))
                break;      /* same answer for all this conn's watches */
            if (is_under(w->abs, path))
                send_event(s, c, w, path);
            else if (recursive && is_under(path, w->abs))
                send_event(s, c, w, w->abs);
        }
    }
}

static int watch_add(struct xs_store *s, struct xs_conn *c, const char *path,
                     const char *token)
{
    size_t al, tl;
    struct xs_watch *w;
    int rc;

    if ((rc = xs_canonical(c, path, s->pbuf, 1)))
        return rc;
    for (w = c->watches; w; w = w->next)
        if (strcmp(w->abs, s->pbuf) == 0 && strcmp(w->token, token) == 0)
            return -XL_EEXIST;
    if (!c->privileged && c->nwatches >= s->q.watches)
        return -XL_E2BIG;
    al = strlen(s->pbuf);
    tl = strlen(token);
    if (!(w = xs_mem_alloc(s, sizeof(*w) + al + tl + 2, c->domid, XS_CHECK)))
        return -XL_ENOMEM;
    w->abs = w->data;
    memcpy(w->abs, s->pbuf, al + 1);
    w->token = w->data + al + 1;
    memcpy(w->token, token, tl + 1);
    w->relative = path[0] != '/' && path[0] != '@';
    w->next = c->watches;
    c->watches = w;
    c->nwatches++;
    return 0;
}

static int watch_del(struct xs_store *s, struct xs_conn *c, const char *path,
                     const char *token)
{
    struct xs_watch **pp, *w;
    int rc;

    if ((rc = xs_canonical(c, path, s->pbuf, 1)))
        return rc;
    for (pp = &c->watches; (w = *pp); pp = &w->next)
        if (strcmp(w->abs, s->pbuf) == 0 && strcmp(w->token, token) == 0) {
            *pp = w->next;
            c->nwatches--;
            xs_mem_free(s, w);
            return xs_reply_str(s, "OK");
        }
    return -XL_ENOENT;
}

static void drop_watches_and_txs(struct xs_store *s, struct xs_conn *c)
{
    while (c->watches) {
        struct xs_watch *w = c->watches;
        c->watches = w->next;
        xs_mem_free(s, w);
    }
    c->nwatches = 0;
    while (c->txs)
        xs_tx_free(s, c, c->txs);
}

/* ---- connections ---- */

struct xs_conn *xs_conn_find(struct xs_store *s, uint16_t domid)
{
    for (struct xs_conn *c = s->conns; c; c = c->next)
        if (c->domid == domid)
            return c;
    return NULL;
}

struct xs_conn *xs_conn_attach(struct xs_store *s, uint16_t domid,
                               struct xenstore_domain_interface *intf)
{
    struct xs_conn *c;

    if (!intf || xs_conn_find(s, domid) ||
        !(c = xs_mem_alloc(s, sizeof(*c), XS_TAG_SYS, XS_NOCHECK)))
        return NULL;
    memset(c, 0, offsetof(struct xs_conn, in_buf));
    c->reply_busy = 0;
    c->reply.bytes = c->reply_buf;
    c->domid = domid;
    c->privileged = domid == 0;
    c->intf = intf;
    c->outq_tail = &c->outq;
    intf->server_features = XENSTORE_SERVER_FEATURE_ERROR;
    intf->error = XENSTORE_ERROR_NONE;
    c->next = s->conns;
    s->conns = c;
    return c;
}

int xs_domain_gone(struct xs_store *s, uint16_t domid)
{
    struct xs_conn **pp, *c;
    static const struct xs_perm dom0_only = { .id = 0, .perm = XSL_PERM_NONE };

    if (domid == 0)
        return -XL_EINVAL;
    for (pp = &s->conns; (c = *pp) && c->domid != domid; pp = &c->next)
        ;
    if (c) {
        *pp = c->next;
        drop_watches_and_txs(s, c);
        while (c->outq) {
            struct xs_msg *m = c->outq;
            c->outq = m->next;
            if (m != &c->reply)
                xs_mem_free(s, m);
        }
        if (c->introduced && s->ops.unmap_ring)
            s->ops.unmap_ring(s->ops.opaque, domid, c->intf);
        xs_mem_free(s, c);
    }
    xs_purge_domain(s, domid);
    if (!c)
        return -XL_ENOENT;
    xs_watch_fire(s, "@releaseDomain", &dom0_only, 1, 0);
    return 0;
}

/* ---- requests ---- */

/* Decimal number in str, up to max; -1 if not one. */
static int64_t parse_num(const char *str, uint64_t max)
{
    uint64_t v = 0;
    if (!*str)
        return -1;
    for (; *str; str++) {
        if (*str < '0' || *str > '9')
            return -1;
        v = v * 10 + (uint64_t)(*str - '0');
        if (v > max)
            return -1;
    }
    return (int64_t)v;
}

/* Split a payload into NUL-terminated strings; the payload must end with
 * a NUL. Returns the count (up to max stored), or -1 if unterminated. */
static int split(const char *p, uint32_t len, const char **v, int max)
{
    int n = 0;
    uint32_t off = 0;
    if (!len || p[len - 1] != 0)
        return -1;
    while (off < len) {
        if (n < max)
            v[n] = p + off;
        n++;
        off += (uint32_t)strlen(p + off) + 1;
    }
    return n;
}

static int do_introduce(struct xs_store *s, struct xs_conn *c, const char **v)
{
    static const struct xs_perm dom0_only = { .id = 0, .perm = XSL_PERM_NONE };
    int64_t domid = parse_num(v[0], DOMID_FIRST_RESERVED - 1);
    int64_t mfn = parse_num(v[1], (1ULL << 52) - 1), port = parse_num(v[2], 0xffffffffu);
    struct xenstore_domain_interface *intf;
    struct xs_conn *nc;

    if (!c->privileged)
        return -XL_EACCES;
    if (domid <= 0 || mfn < 0 || port < 0)
        return -XL_EINVAL;
    if (xs_conn_find(s, (uint16_t)domid))
        return -XL_EEXIST;
    if (!s->ops.map_ring)
        return -XL_ENOSYS;
    intf = s->ops.map_ring(s->ops.opaque, (uint16_t)domid, (uint64_t)mfn, (uint32_t)port);
    if (!intf)
        return -XL_EINVAL;
    if (!(nc = xs_conn_attach(s, (uint16_t)domid, intf))) {
        if (s->ops.unmap_ring)
            s->ops.unmap_ring(s->ops.opaque, (uint16_t)domid, intf);
        return -XL_ENOMEM;
    }
    nc->introduced = 1;
    xs_watch_fire(s, "@introduceDomain", &dom0_only, 1, 0);
    return xs_reply_str(s, "OK");
}

/* One complete request: build the answer and queue it. */
static void dispatch(struct xs_store *s, struct xs_conn *c, const struct xsd_sockmsg *h,
                     const char *p)
{
    const char *v[3] = { 0 };
    struct xs_tx *tx = NULL;
    int n = -1, rc;
    int64_t dom;
    char buf[32];

    s->rlen = 0;
    s->exempt = c->privileged;
    /* transaction context for tree operations */
    switch (h->type) {
    case XS_READ: case XS_DIRECTORY: case XS_DIRECTORY_PART: case XS_GET_PERMS:
    case XS_WRITE: case XS_MKDIR: case XS_RM: case XS_SET_PERMS: case XS_TRANSACTION_END:
        if (h->tx_id && !(tx = xs_tx_find(c, h->tx_id))) {
            rc = -XL_ENOENT;
            goto out;
        }
        if (h->type == XS_TRANSACTION_END && !tx) {
            rc = -XL_ENOENT;
            goto out;
        }
        break;
    default:
        break;
    }
    switch (h->type) {
    case XS_READ: case XS_DIRECTORY: case XS_GET_PERMS: case XS_MKDIR: case XS_RM:
    case XS_TRANSACTION_END: case XS_RELEASE: case XS_GET_DOMAIN_PATH:
    case XS_IS_DOMAIN_INTRODUCED:
        n = split(p, h->len, v, 1);
        if (n != 1) {
            rc = -XL_EINVAL;
            goto out;
        }
        break;
    case XS_WATCH: case XS_UNWATCH: case XS_DIRECTORY_PART:
        if (split(p, h->len, v, 2) != 2) {
            rc = -XL_EINVAL;
            goto out;
        }
        break;
    case XS_INTRODUCE:
        if (split(p, h->len, v, 3) != 3) {
            rc = -XL_EINVAL;
            goto out;
        }
        break;
    default:
        break;
    }

    switch (h->type) {
    case XS_READ:
        rc = xs_op_read(s, c, tx, v[0]);
        break;
    case XS_DIRECTORY:
        rc = xs_op_directory(s, c, tx, v[0]);
        break;
    case XS_DIRECTORY_PART:
        rc = xs_op_directory_part(s, c, tx, v[0], v[1]);
        break;
    case XS_GET_PERMS:
        rc = xs_op_get_perms(s, c, tx, v[0]);
        break;
    case XS_MKDIR:
        rc = xs_op_mkdir(s, c, tx, v[0]);
        break;
    case XS_RM:
        rc = xs_op_rm(s, c, tx, v[0]);
        break;
    case XS_WRITE: {
        uint32_t pl = 0;
        while (pl < h->len && p[pl])
            pl++;
        rc = pl >= h->len ? -XL_EINVAL
                          : xs_op_write(s, c, tx, p, p + pl + 1, h->len - pl - 1);
        break;
    }
    case XS_SET_PERMS: {
        uint32_t pl = 0;
        while (pl < h->len && p[pl])
            pl++;
        rc = pl >= h->len ? -XL_EINVAL
                          : xs_op_set_perms(s, c, tx, p, p + pl + 1, h->len - pl - 1);
        break;
    }
    case XS_WATCH:
        rc = watch_add(s, c, v[0], v[1]);
        if (!rc) {
            s->exempt = 0;
            /* the reply, then the initial event (Xen fires once up front) */
            send_msg(s, c, XS_WATCH, h->req_id, h->tx_id, "OK", 3, NULL, 0);
            send_event(s, c, c->watches, c->watches->abs);
            return;
        }
        break;
    case XS_UNWATCH:
        rc = watch_del(s, c, v[0], v[1]);
        break;
    case XS_RESET_WATCHES:
        drop_watches_and_txs(s, c);
        rc = xs_reply_str(s, "OK");
        break;
    case XS_TRANSACTION_START:
        rc = h->tx_id ? -XL_EBUSY : xs_tx_start(s, c);
        break;
    case XS_TRANSACTION_END:
        if (strcmp(v[0], "T") && strcmp(v[0], "F"))
            rc = -XL_EINVAL;
        else
            rc = xs_tx_end(s, c, tx, v[0][0] == 'T');
        break;
    case XS_INTRODUCE:
        rc = do_introduce(s, c, v);
        break;
    case XS_RELEASE:
        dom = parse_num(v[0], 0xffff);
        if (!c->privileged)
            rc = -XL_EACCES;
        else if (dom < 0 || dom == c->domid)
            rc = -XL_EINVAL;
        else if ((rc = xs_domain_gone(s, (uint16_t)dom)) == 0)
            rc = xs_reply_str(s, "OK");
        break;
    case XS_GET_DOMAIN_PATH:
        dom = parse_num(v[0], 0xffff);
        if (dom < 0) {
            rc = -XL_EINVAL;
            break;
        }
        xl_snprintf(buf, sizeof(buf), XS_LOCAL_PREFIX "%u", (unsigned int)dom);
        rc = xs_reply_str(s, buf);
        break;
    case XS_IS_DOMAIN_INTRODUCED:
        dom = parse_num(v[0], 0xffff);
        if (!c->privileged)
            rc = -XL_EACCES;
        else if (dom < 0)
            rc = -XL_EINVAL;
        else
            rc = xs_reply_str(s, xs_conn_find(s, (uint16_t)dom) ? "T" : "F");
        break;
    case XS_CONTROL: case XS_RESUME: case XS_SET_TARGET:
        rc = c->privileged ? -XL_ENOSYS : -XL_EACCES;
        break;
    default:        /* XS_WATCH_EVENT, XS_ERROR, unknown */
        rc = -XL_EINVAL;
        break;
    }
out:
    s->exempt = 0;
    if (rc) {
        const char *e = err_name(rc);
        send_msg(s, c, XS_ERROR, h->req_id, h->tx_id, e, (uint32_t)strlen(e) + 1, NULL, 0);
    } else {
        send_msg(s, c, h->type, h->req_id, h->tx_id, s->rbuf, s->rlen, NULL, 0);
    }
}

/* Up to max requests of c (0: as many as its ring holds). */
static int conn_serve(struct xs_store *s, struct xs_conn *c, unsigned int max)
{
    int handled = 0;
    uint32_t consumed = 0;

    if (c->broken)
        return -XL_EIO;
    if (__atomic_load_n(&c->intf->req_prod, __ATOMIC_ACQUIRE) - c->intf->req_cons >
            XENSTORE_RING_SIZE ||
        c->intf->rsp_prod - __atomic_load_n(&c->intf->rsp_cons, __ATOMIC_ACQUIRE) >
            XENSTORE_RING_SIZE) {
        ring_broken(c);
        return -XL_EIO;
    }
    flush(s, c);
    /* a client that does not read its answers is not served further
     * until it does (its rsp ring is full) */
    while (!c->outq && !c->broken && (!max || (unsigned int)handled < max)) {
        const struct xsd_sockmsg *h = (const struct xsd_sockmsg *)c->in_buf;
        uint32_t n;

        if (c->skip) {
            n = ring_read(c, NULL, c->skip);
            consumed += n;
            c->skip -= n;
            if (c->skip)
                break;
            continue;
        }
        if (c->in_have < HDR_LEN) {
            n = ring_read(c, c->in_buf + c->in_have, HDR_LEN - c->in_have);
            consumed += n;
            c->in_have += n;
            if (c->in_have < HDR_LEN)
                break;
        }
        if (h->len > XENSTORE_PAYLOAD_MAX) {
            static const char e2big[] = "E2BIG";
            send_msg(s, c, XS_ERROR, h->req_id, h->tx_id, e2big, sizeof(e2big), NULL, 0);
            c->skip = h->len;
            c->in_have = 0;
            handled++;
            continue;
        }
        n = ring_read(c, c->in_buf + c->in_have, HDR_LEN + h->len - c->in_have);
        consumed += n;
        c->in_have += n;
        if (c->in_have < HDR_LEN + h->len)
            break;
        dispatch(s, c, h, (const char *)c->in_buf + HDR_LEN);
        c->in_have = 0;
        handled++;
    }
    if (consumed)
        notify(s, c);
    return c->broken ? -XL_EIO : handled;
}

int xs_conn_process(struct xs_store *s, struct xs_conn *c)
{
    return conn_serve(s, c, 0);
}

int xs_process_all(struct xs_store *s)
{
    struct xs_conn *c;
    unsigned int turn;
    int busy = 1;

    /* Every connection gets one request per turn, so a domain with a full
     * ring of costly requests delays the others by one request each. */
    for (turn = 0; turn < XS_TURNS_MAX && busy; turn++) {
        busy = 0;
        s->round++;
        for (;;) {
            /* restart from the head each time: a request may release a conn */
            for (c = s->conns; c && c->round == s->round; c = c->next)
                ;
            if (!c)
                break;
            c->round = s->round;
            if (conn_serve(s, c, 1) > 0)
                busy = 1;
        }
    }
    for (c = s->conns; c; c = c->next)
        flush(s, c);
    return busy;
}

/* ---- the store ---- */

struct xs_store *xs_store_init(void *mem, size_t size, const struct xs_quota *q,
                               const struct xs_ops *ops)
{
    struct xs_store *s;
    uintptr_t start = ROUNDUP((uintptr_t)mem, 16);
    size_t skip;

    if (!mem || size < 65536)
        return NULL;
    skip = start - (uintptr_t)mem + ROUNDUP(sizeof(*s), 16);
    if (size < skip + 16384)
        return NULL;
    s = (struct xs_store *)start;
    memset(s, 0, sizeof(*s));
    if (xs_arena_init(&s->arena, (uint8_t *)mem + skip, size - skip))
        return NULL;
    if (q)
        s->q = *q;
    if (!s->q.nodes)
        s->q.nodes = 1000;
    if (!s->q.entry_size)
        s->q.entry_size = 2048;
    if (!s->q.memory)
        s->q.memory = 2u * 1024 * 1024 + 512 * 1024;
    if (!s->q.reserve)
        s->q.reserve = s->arena.size / 8;
    if (!s->q.watches)
        s->q.watches = 128;
    if (!s->q.transactions)
        s->q.transactions = 10;
    if (!s->q.perms)
        s->q.perms = 5;
    if (s->q.perms > XS_PERMS_HARD_MAX)
        s->q.perms = XS_PERMS_HARD_MAX;
    if (!s->q.tx_nodes)
        s->q.tx_nodes = 1024;
    if (!s->q.outq_bytes)
        s->q.outq_bytes = 65536;
    if (ops)
        s->ops = *ops;
    if (xs_store_setup(s))
        return NULL;
    return s;
}

void xs_get_stats(const struct xs_store *s, struct xs_stats *st)
{
    unsigned int nc = 0;
    for (const struct xs_conn *c = s->conns; c; c = c->next)
        nc++;
    st->nodes = s->nnodes;
    st->conns = nc;
    st->arena_used = s->arena.used;
    st->arena_size = s->arena.size;
    st->events_dropped = s->events_dropped;
}
