/*
 * xsd.c - xenstored inside dom0: the store library (guest-drivers/
 * xenstore) over a static arena, dom0's own connection on a local
 * in-memory ring with a tiny synchronous client (xsd_read/write/rm,
 * XS_INTRODUCE), and the xs_ops: a domain's store frame foreign-mapped,
 * its event channel bound interdomain, notify = EVTCHNOP_send; the
 * quotas dom0's xenstored runs with (docs/toolstack.md).
 * Owns: the arena, dom0's ring, the per-domain store ports and mappings.
 * Must never: wait forever for a reply (the store answers dom0 in the
 * same call), or keep a mapping of a domain that is gone.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/io/xs_wire.h>
#include <xlguest/kernel.h>
#include "store.h"
#include <xlguest/xenbus.h>
#include "../dom0svc/svc.h"

/* One arena for the whole store. A domU may hold DOMU_MEMORY of it; the
 * last eighth (the library's default reserve) is dom0's alone, so dom0's
 * requests (xl create among them) are answered whatever domUs do. */
#define ARENA_SIZE (4u << 20)
#define DOMU_MEMORY (512u << 10)
static char arena[ARENA_SIZE] __attribute__((aligned(4096)));
static struct xenstore_domain_interface local_ring __attribute__((aligned(4096)));
static struct xs_store *store;
static struct xs_conn *self;
static uint32_t req_id;

static struct {
    struct xenstore_domain_interface *intf;
    uint32_t port;       /* dom0's end; 0 = none */
} doms[SVC_MAX_DOMS];

static struct xenstore_domain_interface *map_ring(void *opaque, uint16_t domid, uint64_t mfn,
                                                  uint32_t port)
{
    (void)opaque;
    if (domid == 0 || domid >= SVC_MAX_DOMS || doms[domid].intf)
        return NULL;
    struct xenstore_domain_interface *intf = svc_map_foreign(domid, mfn);
    if (!intf)
        return NULL;
    long lp = svc_bind_interdomain(domid, port);
    if (lp < 0) {
        printk("dom0: xenstored: bind d%u port %u: %ld\n", domid, port, lp);
        svc_unmap(intf);
        return NULL;
    }
    doms[domid].intf = intf;
    doms[domid].port = (uint32_t)lp;
    return intf;
}

static void unmap_ring(void *opaque, uint16_t domid, struct xenstore_domain_interface *intf)
{
    (void)opaque;
    if (domid >= SVC_MAX_DOMS || doms[domid].intf != intf)
        return;
    svc_close_port(doms[domid].port);
    svc_unmap(intf);
    doms[domid].intf = NULL;
    doms[domid].port = 0;
}

static void notify(void *opaque, uint16_t domid)
{
    (void)opaque;
    if (domid && domid < SVC_MAX_DOMS && doms[domid].port)
        svc_send(doms[domid].port);
}

static const struct xs_ops ops = {
    .map_ring = map_ring, .unmap_ring = unmap_ring, .notify = notify,
};

int xsd_init(void)
{
    static const struct xs_quota quota = { .memory = DOMU_MEMORY };
    store = xs_store_init(arena, sizeof(arena), &quota, &ops);
    if (!store)
        return -XEN_ENOMEM;
    self = xs_conn_attach(store, 0, &local_ring);
    if (!self)
        return -XEN_ENOMEM;
    int rc = xsd_write("/local/domain/0/name", "Domain-0");
    if (!rc)
        rc = xsd_write("/local/domain/0/domid", "0");
    printk("dom0: xenstored running (%u KiB arena, %u KiB per domU)%s\n", ARENA_SIZE >> 10,
           DOMU_MEMORY >> 10, rc ? ", but writing dom0's nodes failed" : "");
    return rc;
}

int xsd_process(void)
{
    for (uint16_t d = 1; d < SVC_MAX_DOMS; d++)
        if (doms[d].port)
            svc_port_pending(doms[d].port);
    /* Cheap when idle: every ring is looked at, busy or not. */
    return xs_process_all(store);
}

int xsd_has_conn(uint16_t domid)
{
    return domid < SVC_MAX_DOMS && doms[domid].intf;
}

void xsd_domain_gone(uint16_t domid)
{
    char home[32];
    if (!store || domid == 0)
        return;
    xs_domain_gone(store, domid);
    xl_snprintf(home, sizeof(home), "/local/domain/%u", domid);
    xsd_rm(home);
}

static void ring_put(const void *p, uint32_t n)
{
    const char *b = p;
    for (uint32_t i = 0; i < n; i++)
        local_ring.req[MASK_XENSTORE_IDX(local_ring.req_prod + i)] = b[i];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    local_ring.req_prod += n;
}

static uint32_t ring_get(void *p, uint32_t n)
{
    char *b = p;
    uint32_t have = local_ring.rsp_prod - local_ring.rsp_cons, i;
    if (n > have)
        n = have;
    for (i = 0; i < n; i++)
        b[i] = local_ring.rsp[MASK_XENSTORE_IDX(local_ring.rsp_cons + i)];
    local_ring.rsp_cons += n;
    return n;
}

/* One request, one reply (watch events for dom0 are skipped: it sets no
 * watches). Returns the payload length or a negative Xen errno. */
static int request(uint32_t type, const char *a, uint32_t alen, const char *b, uint32_t blen,
                   char *out, size_t outlen)
{
    struct xsd_sockmsg h = { .type = type, .req_id = ++req_id, .tx_id = 0, .len = alen + blen };
    if (!store || h.len > XENSTORE_PAYLOAD_MAX ||
        sizeof(h) + h.len > XENSTORE_RING_SIZE - (local_ring.req_prod - local_ring.req_cons))
        return -XEN_E2BIG;
    ring_put(&h, sizeof(h));
    ring_put(a, alen);
    if (blen)
        ring_put(b, blen);
    for (int tries = 0; tries < 4; tries++) {
        xs_process_all(store);
        struct xsd_sockmsg r;
        while (local_ring.rsp_prod - local_ring.rsp_cons >= sizeof(r)) {
            ring_get(&r, sizeof(r));
            char body[XENSTORE_PAYLOAD_MAX + 1];
            uint32_t n = ring_get(body, r.len <= XENSTORE_PAYLOAD_MAX ? r.len : 0);
            body[n] = '\0';
            if (r.req_id != h.req_id || r.type == XS_WATCH_EVENT)
                continue;
            if (r.type == XS_ERROR) {
                return xenbus_errno(body, n, -XEN_EIO);
            }
            if (out && outlen) {
                size_t c = n < outlen - 1 ? n : outlen - 1;
                memcpy(out, body, c);
                out[c] = '\0';
            }
            return (int)n;
        }
    }
    return -XEN_ETIMEDOUT;
}

int xsd_write(const char *path, const char *val)
{
    int rc = request(XS_WRITE, path, (uint32_t)strlen(path) + 1, val, (uint32_t)strlen(val),
                     NULL, 0);
    return rc < 0 ? rc : 0;
}

int xsd_read(const char *path, char *buf, size_t len)
{
    int rc = request(XS_READ, path, (uint32_t)strlen(path) + 1, NULL, 0, buf, len);
    return rc < 0 ? rc : 0;
}

int xsd_rm(const char *path)
{
    int rc = request(XS_RM, path, (uint32_t)strlen(path) + 1, NULL, 0, NULL, 0);
    return rc < 0 ? rc : 0;
}

int xsd_mkdir(const char *path)
{
    int rc = request(XS_MKDIR, path, (uint32_t)strlen(path) + 1, NULL, 0, NULL, 0);
    return rc < 0 ? rc : 0;
}

/* perms: Xen's wire form, NUL-separated entries ("n0\0r5\0"), first the
 * owner with the default access, then one per other domain. */
int xsd_set_perms(const char *path, const char *perms, uint32_t perms_len)
{
    int rc = request(XS_SET_PERMS, path, (uint32_t)strlen(path) + 1, perms, perms_len, NULL, 0);
    return rc < 0 ? rc : 0;
}

int xsd_introduce(uint16_t domid, uint64_t mfn, uint32_t port)
{
    char a[96];
    int n = xl_snprintf(a, sizeof(a), "%u%c%lu%c%u", domid, 0, (unsigned long)mfn, 0, port);
    int rc = request(XS_INTRODUCE, a, (uint32_t)n + 1, NULL, 0, NULL, 0);
    return rc < 0 ? rc : 0;
}
