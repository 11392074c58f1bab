/*
 * xenbus.c - xenstore client of the kit's guest kernels: xs_wire.h
 * messages over the xenstore_domain_interface rings (requests into req,
 * replies and XS_WATCH_EVENTs out of rsp), one request at a time, watch
 * events queued; and the glue that maps start_info's store page.
 * The framing core (everything above the XL_HOST_TEST line) is pure and
 * linked into host tests against the xenstored library.
 * Owns: req_prod and rsp_cons of its interface, the event queue. Must
 * never: read or write outside the 1024-byte rings whatever the server's
 * indexes say, trust a length from the server, or spin without waiting.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/xenbus.h>

#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))

/* XS_ERROR payloads (xs_wire.h's names) as negative Xen errnos. */
static const struct {
    const char *name;
    int err;
} xs_errs[] = {
    { "EINVAL", XEN_EINVAL }, { "EACCES", XEN_EACCES }, { "EEXIST", XEN_EEXIST },
    { "EISDIR", XEN_EISDIR }, { "ENOENT", XEN_ENOENT }, { "ENOMEM", XEN_ENOMEM },
    { "ENOSPC", XEN_ENOSPC }, { "EIO", XEN_EIO }, { "ENOTEMPTY", XEN_ENOTEMPTY },
    { "ENOSYS", XEN_ENOSYS }, { "EROFS", XEN_EROFS }, { "EBUSY", XEN_EBUSY },
    { "EAGAIN", XEN_EAGAIN }, { "EISCONN", XEN_EISCONN }, { "E2BIG", XEN_E2BIG },
    { "EPERM", XEN_EPERM },
};

int xenbus_errno(const char *s, uint32_t len, int unknown)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(xs_errs); i++) {
        size_t n = strlen(xs_errs[i].name);
        if (len >= n && memcmp(s, xs_errs[i].name, n) == 0 && (len == n || s[n] == 0))
            return -xs_errs[i].err;
    }
    return unknown;
}

void xenbus_attach(struct xenbus *b, struct xenstore_domain_interface *intf,
                   void (*notify)(void *), void (*wait)(void *), void *opaque)
{
    b->intf = intf;
    b->notify = notify;
    b->wait = wait;
    b->opaque = opaque;
    b->next_id = 1;
    b->broken = 0;
    b->rx_have = 0;
    b->got = 0;
    b->want_id = 0;
    b->evq_len = 0;
    b->events_dropped = 0;
}

static void kick(struct xenbus *b)
{
    if (b->notify)
        b->notify(b->opaque);
}

static void queue_event(struct xenbus *b, const uint8_t *p, uint32_t len)
{
    /* a watch event is path\0token\0 (two strings, nothing else);
     * anything else is dropped */
    uint32_t pl = 0;
    while (pl < len && p[pl])
        pl++;
    uint32_t tl = pl + 1;
    while (tl < len && p[tl])
        tl++;
    if (pl + 1 >= len || tl != len - 1) {
        b->events_dropped++;
        return;
    }
    if (b->evq_len + 4 + len > sizeof(b->evq)) {
        b->events_dropped++;
        return;
    }
    memcpy(b->evq + b->evq_len, &len, 4);
    memcpy(b->evq + b->evq_len + 4, p, len);
    b->evq_len += 4 + len;
}

static void handle_msg(struct xenbus *b)
{
    const struct xsd_sockmsg *h = (const struct xsd_sockmsg *)b->rx;
    const uint8_t *p = b->rx + HDR;

    if (h->type == XS_WATCH_EVENT) {
        queue_event(b, p, h->len);
        return;
    }
    if (b->want_id == 0 || h->req_id != b->want_id || b->got)
        return; /* a reply nobody waits for (stale): ignore it */
    memcpy(b->reply, p, h->len);
    b->reply[h->len] = 0;
    b->reply_len = h->len;
    b->reply_type = h->type;
    b->got = 1;
}

int xenbus_pump(struct xenbus *b)
{
    struct xenstore_domain_interface *i = b->intf;
    int consumed = 0;

    if (b->broken)
        return -XEN_EIO;
    for (;;) {
        XENSTORE_RING_IDX cons = i->rsp_cons;
        XENSTORE_RING_IDX prod = __atomic_load_n(&i->rsp_prod, __ATOMIC_ACQUIRE);
        uint32_t avail = prod - cons, want, n;

        if (avail > XENSTORE_RING_SIZE) {
            b->broken = 1;
            break;
        }
        if (b->rx_have < HDR) {
            want = HDR - b->rx_have;
        } else {
            uint32_t len = ((const struct xsd_sockmsg *)b->rx)->len;
            if (len > XENSTORE_PAYLOAD_MAX) {
                b->broken = 1;
                break;
            }
            want = HDR + len - b->rx_have;
        }
        n = MIN(want, avail);
        for (uint32_t k = 0; k < n; k++)
            b->rx[b->rx_have + k] = (uint8_t)i->rsp[MASK_XENSTORE_IDX(cons + k)];
        __atomic_store_n(&i->rsp_cons, cons + n, __ATOMIC_RELEASE);
        b->rx_have += n;
        consumed |= n != 0;
        if (b->rx_have >= HDR) {
            uint32_t len = ((const struct xsd_sockmsg *)b->rx)->len;
            if (len > XENSTORE_PAYLOAD_MAX) {
                b->broken = 1;
                break;
            }
            if (b->rx_have == HDR + len) {
                handle_msg(b);
                b->rx_have = 0;
                continue;
            }
        }
        if (n == 0 || n < want)
            break;
    }
    if (consumed)
        kick(b); /* the server may be waiting for room */
    return b->broken ? -XEN_EIO : 0;
}

static int wait_once(struct xenbus *b)
{
    int rc = xenbus_pump(b);
    if (rc)
        return rc;
    if (b->wait)
        b->wait(b->opaque);
    return xenbus_pump(b);
}

/* Write len bytes into the req ring, waiting for room. */
static int put(struct xenbus *b, const void *data, uint32_t len)
{
    struct xenstore_domain_interface *i = b->intf;
    const uint8_t *d = data;

    while (len) {
        XENSTORE_RING_IDX prod = i->req_prod;
        XENSTORE_RING_IDX cons = __atomic_load_n(&i->req_cons, __ATOMIC_ACQUIRE);
        uint32_t used = prod - cons;
        if (used > XENSTORE_RING_SIZE) {
            b->broken = 1;
            return -XEN_EIO;
        }
        uint32_t n = MIN(len, XENSTORE_RING_SIZE - used);
        if (n == 0) {
            kick(b);
            int rc = wait_once(b);
            if (rc)
                return rc;
            continue;
        }
        for (uint32_t k = 0; k < n; k++)
            i->req[MASK_XENSTORE_IDX(prod + k)] = (char)d[k];
        __atomic_store_n(&i->req_prod, prod + n, __ATOMIC_RELEASE);
        d += n;
        len -= n;
    }
    return 0;
}

/* One request of up to three payload parts; waits for its reply, which
 * is left in b->reply. 0 or a negative Xen errno. */
static int call(struct xenbus *b, uint32_t type, xenbus_transaction_t t, const void *p1,
                uint32_t l1, const void *p2, uint32_t l2, const void *p3, uint32_t l3)
{
    uint64_t total = (uint64_t)l1 + l2 + l3;
    int rc;

    if (b->broken)
        return -XEN_EIO;
    if (total > XENSTORE_PAYLOAD_MAX)
        return -XEN_E2BIG;
    struct xsd_sockmsg h = { .type = type, .req_id = b->next_id++, .tx_id = t,
                             .len = (uint32_t)total };
    if (b->next_id == 0)
        b->next_id = 1;
    b->want_id = h.req_id;
    b->got = 0;
    if ((rc = put(b, &h, HDR)) || (rc = put(b, p1, l1)) || (rc = put(b, p2, l2)) ||
        (rc = put(b, p3, l3)))
        goto out;
    kick(b);
    while (!b->got)
        if ((rc = wait_once(b)))
            goto out;
    if (b->reply_type == XS_ERROR)
        rc = xenbus_errno(b->reply, b->reply_len, -XEN_EINVAL); /* unknown: still an error */
    else if (b->reply_type != type)
        rc = -XEN_EIO;
out:
    b->want_id = 0;
    return rc;
}

static uint32_t slen(const char *s)
{
    return (uint32_t)strlen(s) + 1;
}

int xenbus_read(struct xenbus *b, xenbus_transaction_t t, const char *path, char *buf,
                size_t len)
{
    int rc = call(b, XS_READ, t, path, slen(path), NULL, 0, NULL, 0);
    if (rc)
        return rc;
    if (b->reply_len + 1 > len)
        return -XEN_ENOSPC;
    memcpy(buf, b->reply, b->reply_len + 1);
    return (int)b->reply_len;
}

int xenbus_write(struct xenbus *b, xenbus_transaction_t t, const char *path,
                 const char *value)
{
    return call(b, XS_WRITE, t, path, slen(path), value, (uint32_t)strlen(value), NULL, 0);
}

int xenbus_mkdir(struct xenbus *b, xenbus_transaction_t t, const char *path)
{
    return call(b, XS_MKDIR, t, path, slen(path), NULL, 0, NULL, 0);
}

int xenbus_rm(struct xenbus *b, xenbus_transaction_t t, const char *path)
{
    return call(b, XS_RM, t, path, slen(path), NULL, 0, NULL, 0);
}

int xenbus_directory(struct xenbus *b, xenbus_transaction_t t, const char *path, char *buf,
                     size_t len)
{
    int rc = call(b, XS_DIRECTORY, t, path, slen(path), NULL, 0, NULL, 0);
    if (rc)
        return rc;
    uint32_t n = b->reply_len;
    if (n && b->reply[n - 1] != 0)
        return -XEN_EIO; /* names must each end with a NUL */
    if (n + 1 > len)
        return -XEN_ENOSPC;
    memcpy(buf, b->reply, n);
    buf[n] = 0;
    int count = 0;
    for (uint32_t k = 0; k < n; k++)
        count += b->reply[k] == 0;
    return count;
}

int xenbus_read_u64(struct xenbus *b, xenbus_transaction_t t, const char *path,
                    uint64_t *val)
{
    char buf[24];
    int rc = xenbus_read(b, t, path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    if (rc == 0)
        return -XEN_EINVAL;
    uint64_t v = 0;
    for (int k = 0; k < rc; k++) {
        if (buf[k] < '0' || buf[k] > '9' || v > (~0ULL - 9) / 10)
            return -XEN_EINVAL;
        v = v * 10 + (uint64_t)(buf[k] - '0');
    }
    *val = v;
    return 0;
}

int xenbus_write_u64(struct xenbus *b, xenbus_transaction_t t, const char *path,
                     uint64_t val)
{
    char buf[24];
    xl_snprintf(buf, sizeof(buf), "%llu", (unsigned long long)val);
    return xenbus_write(b, t, path, buf);
}

int xenbus_set_perms(struct xenbus *b, xenbus_transaction_t t, const char *path,
                     const char *const *perms, unsigned int n)
{
    char buf[256];
    uint32_t len = 0;
    for (unsigned int i = 0; i < n; i++) {
        uint32_t l = slen(perms[i]);
        if (len + l > sizeof(buf))
            return -XEN_E2BIG;
        memcpy(buf + len, perms[i], l);
        len += l;
    }
    return call(b, XS_SET_PERMS, t, path, slen(path), buf, len, NULL, 0);
}

int xenbus_watch(struct xenbus *b, const char *path, const char *token)
{
    return call(b, XS_WATCH, XBT_NIL, path, slen(path), token, slen(token), NULL, 0);
}

int xenbus_unwatch(struct xenbus *b, const char *path, const char *token)
{
    return call(b, XS_UNWATCH, XBT_NIL, path, slen(path), token, slen(token), NULL, 0);
}

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (!cap)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int xenbus_read_watch(struct xenbus *b, char *path, size_t plen, char *token, size_t tlen,
                      int block)
{
    int rc;
    if ((rc = xenbus_pump(b)))
        return rc;
    while (b->evq_len == 0) {
        if (!block)
            return -XEN_EAGAIN;
        if ((rc = wait_once(b)))
            return rc;
    }
    uint32_t len;
    memcpy(&len, b->evq, 4);
    const char *p = (const char *)b->evq + 4;
    copy_trunc(path, plen, p);
    copy_trunc(token, tlen, p + strlen(p) + 1);
    memmove(b->evq, b->evq + 4 + len, b->evq_len - 4 - len);
    b->evq_len -= 4 + len;
    return 0;
}

int xenbus_transaction_start(struct xenbus *b, xenbus_transaction_t *t)
{
    int rc = call(b, XS_TRANSACTION_START, XBT_NIL, "", 1, NULL, 0, NULL, 0);
    if (rc)
        return rc;
    uint64_t v = 0;
    uint32_t k = 0;
    for (; k < b->reply_len && b->reply[k]; k++) {
        if (b->reply[k] < '0' || b->reply[k] > '9' || v > 0xffffffffu)
            return -XEN_EIO;
        v = v * 10 + (uint64_t)(b->reply[k] - '0');
    }
    if (k == 0 || v == 0 || v > 0xffffffffu)
        return -XEN_EIO;
    *t = (xenbus_transaction_t)v;
    return 0;
}

int xenbus_transaction_end(struct xenbus *b, xenbus_transaction_t t, int abort)
{
    return call(b, XS_TRANSACTION_END, t, abort ? "F" : "T", 2, NULL, 0, NULL, 0);
}

int xenbus_get_domain_path(struct xenbus *b, domid_t domid, char *buf, size_t len)
{
    char num[8];
    xl_snprintf(num, sizeof(num), "%u", (unsigned int)domid);
    int rc = call(b, XS_GET_DOMAIN_PATH, XBT_NIL, num, slen(num), NULL, 0, NULL, 0);
    if (rc)
        return rc;
    if (b->reply_len + 1 > len)
        return -XEN_ENOSPC;
    memcpy(buf, b->reply, b->reply_len + 1);
    return 0;
}

#ifndef XL_HOST_TEST
/* ---- guest-kernel glue: start_info's store page and event channel ---- */
#include <xlguest/evtchn.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/m2p.h>
#include <xlguest/time.h>

static struct xenbus store;
static evtchn_port_t store_port;

static void store_notify(void *o)
{
    (void)o;
    evtchn_send(store_port);
}

/* The port stays masked: wait by polling it (SCHEDOP_poll sees a masked
 * port's pending bit), with a timeout so a lost kick costs 10 ms, not a
 * hang. */
static void store_wait(void *o)
{
    (void)o;
    if (evtchn_test_and_clear(store_port))
        return; /* something happened since we last looked */
    evtchn_port_t ports[1] = { store_port };
    struct sched_poll p = { .nr_ports = 1, .timeout = 0 };
    set_xen_guest_handle(p.ports, ports);
    if (guest_shared_info)
        p.timeout = pvclock_read(&guest_shared_info->vcpu_info[0].time) + 10000000ULL;
    HYPERVISOR_sched_op(SCHEDOP_poll, &p);
    evtchn_test_and_clear(store_port);
}

struct xenbus *xenbus_init(void)
{
    if (store.intf)
        return &store;
    if (!start_info->store_mfn || !guest_shared_info)
        return NULL;
    void *intf = guest_mfn_to_virt(start_info, start_info->store_mfn);
    if (!intf)
        return NULL;
    store_port = start_info->store_evtchn;
    evtchn_mask(store_port);
    xenbus_attach(&store, intf, store_notify,
                  store_wait, NULL);
    return &store;
}
#endif
