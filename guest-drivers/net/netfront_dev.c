/*
 * netfront_dev.c - the kit's netif front end driver (see xlguest/netfront_dev.h): the
 * xenbus handshake with a netback (libxl's node names, Linux's order),
 * the tx and rx rings on frontring.c, tx pages granted read-only and rx
 * pages granted writable once at connect (the back end copies; it never
 * needs to map them), rx reassembly of NETRXF_more_data chains.
 * Runs in a kit guest kernel with VIRQ_TIMER bound (its waits sleep on
 * the timer). Owns: its rings, pages, grants and channel. Must never:
 * trust a response's id, offset or size (each is checked against what we
 * posted), free a tx buffer twice, or end access to a page the back end
 * may still use (grants end only once the back end closed, or is gone).
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/netfront_dev.h>
#include <xlguest/pages.h>
#include <xlguest/time.h>

#define PAGE 4096u

static void fence_mb(void *o) { (void)o; __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static void fence_c(void *o) { (void)o; __asm__ volatile("" ::: "memory"); }
static const struct xl_barriers fences = { .mb = fence_mb, .rmb = fence_c, .wmb = fence_c };

static uint64_t now_ms(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time) / 1000000;
}

/* Sleep up to ms (an event wakes us earlier). */
static void nap(uint64_t ms)
{
    evtchn_disable_upcalls();
    HYPERVISOR_set_timer_op((now_ms() + ms) * 1000000ULL);
    evtchn_block();
    evtchn_enable_upcalls();
}

static void on_event(evtchn_port_t p, void *d)
{
    (void)p;
    struct netfront *nf = d;
    nf->kicks++;
}

/* The other end's state (0 when unreadable: gone or not yet written). */
static unsigned be_state(struct netfront *nf)
{
    char p[96];
    uint64_t s = 0;
    xl_snprintf(p, sizeof(p), "%s/state", nf->be);
    return xenbus_read_u64(nf->xb, XBT_NIL, p, &s) ? 0 : (unsigned)s;
}

/* Wait until the back end's state is one of mask's bits; its state or
 * -XEN_ETIMEDOUT. */
static int wait_be(struct netfront *nf, unsigned mask, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        unsigned s = be_state(nf);
        if (mask & (1u << s))
            return (int)s;
        if (now_ms() >= end)
            return -XEN_ETIMEDOUT;
        nap(5);
    }
}

static int fe_write(struct netfront *nf, xenbus_transaction_t t, const char *n, const char *v)
{
    char p[96];
    xl_snprintf(p, sizeof(p), "%s/%s", nf->fe, n);
    return xenbus_write(nf->xb, t, p, v);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[3 * i + k];
            unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                       : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
            if (d > 15)
                return -XEN_EINVAL;
            v = v * 16 + d;
        }
        if (s[3 * i + 2] != (i < 5 ? ':' : '\0'))
            return -XEN_EINVAL;
        mac[i] = (uint8_t)v;
    }
    return 0;
}

static void post_rx(struct netfront *nf, uint16_t id)
{
    struct netif_rx_request r = { .id = id, .gref = nf->rx_gref[id] };
    if (!frontring_put(&nf->rx, &r, sizeof(r)))
        nf->rx_posted[id] = true;
}

static void push_rx(struct netfront *nf)
{
    if (frontring_push(&nf->rx))
        evtchn_send(nf->port);
}

/* Rings, pages, grants, channel. */
static int setup(struct netfront *nf)
{
    domid_t be = nf->backend_id;
    nf->tx_ring = pages_alloc(1);
    nf->rx_ring = pages_alloc(1);
    nf->tx_pages = pages_alloc(NETFRONT_TX_BUFS);
    nf->rx_pages = pages_alloc(NETFRONT_RX_BUFS);
    nf->frame = pages_alloc(pages_for(NETFRONT_FRAME_MAX));
    if (!nf->tx_ring || !nf->rx_ring || !nf->tx_pages || !nf->rx_pages || !nf->frame)
        return -XEN_ENOMEM;
    if (frontring_init(&nf->tx, nf->tx_ring, PAGE, sizeof(union netif_tx_sring_entry), &fences) ||
        frontring_init(&nf->rx, nf->rx_ring, PAGE, sizeof(union netif_rx_sring_entry), &fences))
        return -XEN_EINVAL;
    long r1 = gnttab_grant_access(be, virt_to_mfn(nf->tx_ring), 0);
    long r2 = gnttab_grant_access(be, virt_to_mfn(nf->rx_ring), 0);
    if (r1 < 0 || r2 < 0)
        return -XEN_ENOSPC;
    nf->tx_ring_ref = (grant_ref_t)r1;
    nf->rx_ring_ref = (grant_ref_t)r2;
    for (unsigned i = 0; i < NETFRONT_TX_BUFS; i++) {
        long r = gnttab_grant_access(be, virt_to_mfn(nf->tx_pages + i * PAGE), 1);
        if (r < 0)
            return -XEN_ENOSPC;
        nf->tx_gref[i] = (grant_ref_t)r;
        nf->tx_free[i] = (uint16_t)i;
    }
    nf->ntx_free = NETFRONT_TX_BUFS;
    for (unsigned i = 0; i < NETFRONT_RX_BUFS; i++) {
        long r = gnttab_grant_access(be, virt_to_mfn(nf->rx_pages + i * PAGE), 0);
        if (r < 0)
            return -XEN_ENOSPC;
        nf->rx_gref[i] = (grant_ref_t)r;
        post_rx(nf, (uint16_t)i);
    }
    long rc = evtchn_alloc_unbound(be, &nf->port);
    if (!rc)
        rc = evtchn_bind(nf->port, on_event, nf);
    return (int)rc;
}

/* Our nodes and Initialised, in one transaction (retried on a race). */
static int publish(struct netfront *nf, const struct netfront_opts *o)
{
    char v[16];
    int rc;
    do {
        xenbus_transaction_t t;
        if ((rc = xenbus_transaction_start(nf->xb, &t)))
            return rc;
        xl_snprintf(v, sizeof(v), "%u", nf->tx_ring_ref);
        rc = fe_write(nf, t, "tx-ring-ref", v);
        xl_snprintf(v, sizeof(v), "%u", nf->rx_ring_ref);
        if (!rc)
            rc = fe_write(nf, t, "rx-ring-ref", v);
        xl_snprintf(v, sizeof(v), "%u", nf->port);
        if (!rc)
            rc = fe_write(nf, t, "event-channel", v);
        if (!rc)
            rc = fe_write(nf, t, "request-rx-copy", "1");
        if (!rc)
            rc = fe_write(nf, t, "feature-rx-notify", "1");
        if (!rc)
            rc = fe_write(nf, t, "feature-sg", o && o->no_sg ? "0" : "1");
        if (!rc)
            rc = fe_write(nf, t, "feature-no-csum-offload", "1");
        if (!rc)
            rc = fe_write(nf, t, "state", "3");
        int end = xenbus_transaction_end(nf->xb, t, rc != 0);
        if (!rc)
            rc = end;
    } while (rc == -XEN_EAGAIN);
    return rc;
}

int netfront_init(struct netfront *nf, struct xenbus *xb, unsigned int devid,
                  const struct netfront_opts *o)
{
    char p[96], v[64];
    uint64_t id = 0;
    memset(nf, 0, sizeof(*nf));
    nf->xb = xb;
    nf->devid = devid;
    nf->sg = !(o && o->no_sg);
    xl_snprintf(nf->fe, sizeof(nf->fe), "device/vif/%u", devid);
    xl_snprintf(p, sizeof(p), "%s/backend", nf->fe);
    if (xenbus_read(xb, XBT_NIL, p, nf->be, sizeof(nf->be)) < 0)
        return -XEN_ENOENT;
    xl_snprintf(p, sizeof(p), "%s/backend-id", nf->fe);
    if (xenbus_read_u64(xb, XBT_NIL, p, &id) || id >= DOMID_FIRST_RESERVED)
        return -XEN_EINVAL;
    nf->backend_id = (domid_t)id;
    xl_snprintf(p, sizeof(p), "%s/mac", nf->fe);
    if (xenbus_read(xb, XBT_NIL, p, v, sizeof(v)) < 0 || parse_mac(v, nf->mac))
        return -XEN_EINVAL;
    /* The back end offers its features in InitWait. */
    int s = wait_be(nf, 1u << XenbusStateInitWait, NETFRONT_CONNECT_MS);
    if (s < 0)
        return s;
    xl_snprintf(p, sizeof(p), "%s/feature-rx-copy", nf->be);
    if (xenbus_read_u64(xb, XBT_NIL, p, &id) || id != 1)
        return -XEN_EOPNOTSUPP;   /* page flipping is gone from Linux and Xen */
    int rc = setup(nf);
    if (!rc)
        rc = publish(nf, o);
    if (rc)
        return rc;
    s = wait_be(nf, 1u << XenbusStateConnected | 1u << XenbusStateClosing |
                    1u << XenbusStateClosed, NETFRONT_CONNECT_MS);
    if (s != XenbusStateConnected)
        return s < 0 ? s : -XEN_ECONNREFUSED;
    if ((rc = fe_write(nf, XBT_NIL, "state", "4")))
        return rc;
    nf->connected = true;
    push_rx(nf);
    return 0;
}

int netfront_send(struct netfront *nf, const void *frame, size_t len)
{
    if (nf->broken)
        return -XEN_EIO;
    if (len < 14 || len > NETFRONT_FRAME_MAX)
        return -XEN_EINVAL;
    unsigned slots = (unsigned)((len + PAGE - 1) / PAGE);
    if (slots > nf->ntx_free || slots > frontring_free(&nf->tx)) {
        nf->st.tx_busy++;
        return -XEN_EAGAIN;
    }
    const uint8_t *f = frame;
    for (unsigned i = 0; i < slots; i++) {
        uint16_t id = nf->tx_free[--nf->ntx_free];
        size_t off = (size_t)i * PAGE, c = len - off < PAGE ? len - off : PAGE;
        memcpy(nf->tx_pages + (size_t)id * PAGE, f + off, c);
        struct netif_tx_request r = {
            .gref = nf->tx_gref[id], .offset = 0, .id = id,
            .flags = (uint16_t)(i + 1 < slots ? NETTXF_more_data : 0),
            .size = (uint16_t)(i ? c : len),
        };
        frontring_put(&nf->tx, &r, sizeof(r));
    }
    if (frontring_push(&nf->tx))
        evtchn_send(nf->port);
    nf->st.tx_pkts++;
    return 0;
}

int netfront_tx_raw(struct netfront *nf, const struct netif_tx_request *reqs, unsigned int n)
{
    if (n > frontring_free(&nf->tx))
        return -XEN_EAGAIN;
    for (unsigned i = 0; i < n; i++)
        frontring_put(&nf->tx, &reqs[i], sizeof(reqs[i]));
    if (frontring_push(&nf->tx))
        evtchn_send(nf->port);
    return 0;
}

static void tx_done(struct netfront *nf, const struct netif_tx_response *r)
{
    if (r->id >= NETFRONT_TX_BUFS) {
        if (r->status == NETIF_RSP_OKAY)
            nf->st.raw_okay++;
        else if (r->status == NETIF_RSP_ERROR)
            nf->st.raw_error++;
        else if (r->status == NETIF_RSP_DROPPED)
            nf->st.raw_dropped++;
        else if (r->status == NETIF_RSP_NULL)
            nf->st.raw_null++;
        return;
    }
    if (r->status == NETIF_RSP_NULL)
        return;                         /* an extra slot's answer: no buffer */
    for (unsigned i = 0; i < nf->ntx_free; i++)
        if (nf->tx_free[i] == r->id) {
            nf->st.rx_bad++;            /* answered twice: the back end lies */
            return;
        }
    if (r->status != NETIF_RSP_OKAY)
        nf->st.tx_err++;
    nf->tx_free[nf->ntx_free++] = r->id;
}

static void rx_one(struct netfront *nf, const struct netif_rx_response *r,
                   void (*rx)(void *, const uint8_t *, size_t), void *opaque, int *got)
{
    if (r->id >= NETFRONT_RX_BUFS || !nf->rx_posted[r->id]) {
        nf->st.rx_bad++;
        return;
    }
    nf->rx_posted[r->id] = false;
    if (r->status < 0 || (uint32_t)r->offset + (uint32_t)r->status > PAGE ||
        nf->frame_len + (size_t)r->status > NETFRONT_FRAME_MAX ||
        (r->flags & NETRXF_extra_info)) {
        nf->frame_bad = true;           /* no GSO was asked for: no extras */
    } else {
        memcpy(nf->frame + nf->frame_len, nf->rx_pages + (size_t)r->id * PAGE + r->offset,
               (size_t)r->status);
        nf->frame_len += (size_t)r->status;
    }
    post_rx(nf, r->id);
    if (r->flags & NETRXF_more_data)
        return;
    if (nf->frame_bad || !nf->frame_len) {
        nf->st.rx_err++;
    } else {
        nf->st.rx_pkts++;
        (*got)++;
        if (rx)
            rx(opaque, nf->frame, nf->frame_len);
    }
    nf->frame_len = 0;
    nf->frame_bad = false;
}

int netfront_poll(struct netfront *nf, void (*rx)(void *opaque, const uint8_t *frame, size_t len),
                  void *opaque)
{
    int got = 0;
    if (nf->broken || !nf->connected)
        return nf->broken ? -XEN_EIO : 0;
    for (;;) {
        int n = frontring_pending(&nf->tx);
        for (int i = 0; i < n; i++) {
            struct netif_tx_response r;
            if (frontring_take(&nf->tx, &r, sizeof(r)))
                break;
            tx_done(nf, &r);
        }
        int m = rx ? frontring_pending(&nf->rx) : 0;
        for (int i = 0; i < m; i++) {
            struct netif_rx_response r;
            if (frontring_take(&nf->rx, &r, sizeof(r)))
                break;
            rx_one(nf, &r, rx, opaque, &got);
        }
        if (n < 0 || m < 0) {
            nf->broken = true;
            return -XEN_EIO;
        }
        if (m > 0)
            push_rx(nf);
        if (!n && !m && !frontring_final_check(&nf->tx) &&
            (!rx || !frontring_final_check(&nf->rx)))
            break;
    }
    return got;
}

void netfront_close(struct netfront *nf)
{
    if (!nf->xb)
        return;
    fe_write(nf, XBT_NIL, "state", "5");
    wait_be(nf, 1u << XenbusStateClosing | 1u << XenbusStateClosed | 1u << XenbusStateUnknown,
            NETFRONT_CONNECT_MS);
    nf->connected = false;
    /* Data pages: the back end only copies, nothing of them is mapped. */
    for (unsigned i = 0; i < NETFRONT_TX_BUFS; i++)
        gnttab_end_access(nf->tx_gref[i]);
    for (unsigned i = 0; i < NETFRONT_RX_BUFS; i++)
        gnttab_end_access(nf->rx_gref[i]);
    fe_write(nf, XBT_NIL, "state", "6");
    /* The rings: the back end unmaps them before it says Closed (or is
     * gone); a grant it still maps stays ours to retry (-EBUSY). */
    wait_be(nf, 1u << XenbusStateClosed | 1u << XenbusStateUnknown, NETFRONT_CONNECT_MS);
    uint64_t end = now_ms() + 1000;
    while ((gnttab_end_access(nf->tx_ring_ref) == -XEN_EBUSY ||
            gnttab_end_access(nf->rx_ring_ref) == -XEN_EBUSY) && now_ms() < end)
        nap(5);
    if (nf->port) {
        evtchn_unbind(nf->port);
        evtchn_close(nf->port);
    }
}
