/*
 * pingpong.c - a PV test kernel for the guest kit's split-driver pieces:
 * a front and a back end share one granted page carrying a xen/io/ring.h
 * ring and exchange count= request/response pairs with event-channel
 * notifications, checking every payload.
 *   role=front peer=B count=N  grants a page to B, allocates a channel,
 *       publishes /local/domain/F/device/pingpong/{ring-ref,event-channel,
 *       state} (readable by B), watches B's backend state, sends N.
 *   role=back peer=F count=N   publishes /local/domain/B/backend/pingpong/
 *       F/state (readable by F), watches the front's state, maps the
 *       grant, binds the channel, answers N, then waits for Closing.
 *   role=loop count=N          both ends in this one domain (dom0 or a
 *       domU): grant to itself, a loopback channel; no xenstore.
 * States follow xenbus (2 InitWait, 3 Initialised, 4 Connected,
 * 5 Closing, 6 Closed). Verdict lines also go to console_io so the
 * hypervisor log shows them when the console is a ring.
 * Owns: nothing outside itself. Must never: end access to the page while
 * the back still maps it, or spin without blocking.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/console_ring.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>
#include <xlguest/xenbus.h>
#include "testlog.h"

#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#include <xen/io/ring.h>

#define PAYLOAD 40
struct pp_req {
    uint32_t seq;
    uint8_t data[PAYLOAD];
};
struct pp_rsp {
    uint32_t seq;
    uint32_t sum;
    uint8_t data[PAYLOAD];
};
DEFINE_RING_TYPES(pp, struct pp_req, struct pp_rsp);

static uint8_t front_page[4096] __attribute__((aligned(4096)));
static uint8_t back_win[4096] __attribute__((aligned(4096)));

static pp_front_ring_t fring;
static pp_back_ring_t bring;
static evtchn_port_t fport, bport;
static volatile unsigned long kicks_front, kicks_back, timer_ticks;
static unsigned long notify_front, notify_back; /* sends we made */
static uint32_t count = 2000, sent, answered, received, bad;

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void on_front(evtchn_port_t p, void *d) { (void)p; (void)d; kicks_front++; }
static void on_back(evtchn_port_t p, void *d) { (void)p; (void)d; kicks_back++; }
static void on_timer(evtchn_port_t p, void *d) { (void)p; (void)d; timer_ticks++; }

static uint8_t pattern(uint32_t seq, unsigned int i)
{
    return (uint8_t)(seq * 131u + i * 7u + (seq >> 8));
}

/* Front: take responses (checking each), then queue requests. Returns
 * nonzero if it did anything. */
static int front_pump(void)
{
    int did = 0, more;
    do {
        RING_IDX rp = fring.sring->rsp_prod;
        xen_rmb();
        for (RING_IDX i = fring.rsp_cons; i != rp; i++) {
            const struct pp_rsp *r = RING_GET_RESPONSE(&fring, i);
            uint32_t sum = 0;
            int ok = r->seq == received;
            for (unsigned int k = 0; k < PAYLOAD; k++) {
                uint8_t want = (uint8_t)(255u - pattern(r->seq, k));
                ok &= r->data[k] == want;
                sum += pattern(r->seq, k);
            }
            ok &= r->sum == sum;
            if (!ok && bad++ < 5)
                say("bad response %u (seq %u)\n", received, r->seq);
            received++;
            did = 1;
        }
        fring.rsp_cons = rp;
        RING_FINAL_CHECK_FOR_RESPONSES(&fring, more);
    } while (more);
    int queued = 0;
    while (sent < count && !RING_FULL(&fring)) {
        struct pp_req *q = RING_GET_REQUEST(&fring, fring.req_prod_pvt);
        q->seq = sent;
        for (unsigned int k = 0; k < PAYLOAD; k++)
            q->data[k] = pattern(sent, k);
        fring.req_prod_pvt++;
        sent++;
        queued = 1;
    }
    if (queued) {
        int notify;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fring, notify);
        if (notify) {
            evtchn_send(fport);
            notify_front++;
        }
        did = 1;
    }
    return did;
}

static int back_pump(void)
{
    int did = 0, more;
    do {
        RING_IDX rp = bring.sring->req_prod;
        xen_rmb();
        while (bring.req_cons != rp && !RING_REQUEST_CONS_OVERFLOW(&bring, bring.req_cons)) {
            struct pp_req q = *RING_GET_REQUEST(&bring, bring.req_cons);
            bring.req_cons++;
            struct pp_rsp *r = RING_GET_RESPONSE(&bring, bring.rsp_prod_pvt);
            r->seq = q.seq;
            r->sum = 0;
            for (unsigned int k = 0; k < PAYLOAD; k++) {
                r->data[k] = (uint8_t)(255u - q.data[k]);
                r->sum += q.data[k];
            }
            bring.rsp_prod_pvt++;
            answered++;
            did = 1;
        }
        RING_FINAL_CHECK_FOR_REQUESTS(&bring, more);
    } while (more);
    if (did) {
        int notify;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&bring, notify);
        if (notify) {
            evtchn_send(bport);
            notify_back++;
        }
    }
    return did;
}

static uint64_t now_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

/* Run the ends this domain plays until done() says so; block between
 * rounds (a 200 ms timer bounds each block). Fails after 10 s without
 * progress: a lost notification. */
static int run(int front, int back, int (*done)(void))
{
    uint64_t last = now_ns();
    while (!done()) {
        int did = (front && front_pump()) | (back && back_pump());
        if (did) {
            last = now_ns();
            continue;
        }
        if (now_ns() - last > 10000000000ULL) {
            say("stalled: sent %u answered %u received %u\n", sent, answered, received);
            return 0;
        }
        unsigned long kf = kicks_front, kb = kicks_back;
        evtchn_disable_upcalls();
        if (kf == kicks_front && kb == kicks_back) {
            HYPERVISOR_set_timer_op(now_ns() + 200000000ULL);
            evtchn_block();
        }
        evtchn_enable_upcalls();
    }
    return 1;
}

static int front_done(void) { return received == count; }
static int back_done(void) { return answered == count; }
static int loop_done(void) { return received == count && answered == count; }

static void summary(const char *who)
{
    say("pingpong %s: %u sent, %u answered, %u received, %u bad; notifications sent %lu+%lu, "
        "received %lu+%lu\n", who, sent, answered, received, bad, notify_front, notify_back,
        kicks_front, kicks_back);
}

/* ---- role=loop ---- */
static void run_loop(void)
{
    grant_handle_t h = 0;
    long ref = gnttab_grant_access(0 /* ourselves: dom0 */, virt_to_mfn(front_page), 0);
    check("grant our page", ref >= GNTTAB_FIRST_REF, 1);
    check("map the grant", gnttab_map(0, (grant_ref_t)ref, back_win, 0, &h, NULL), 0);
    check("  GTF_reading|GTF_writing while mapped",
          gnttab_flags((grant_ref_t)ref) & (GTF_reading | GTF_writing),
          GTF_reading | GTF_writing);
    check("end access while mapped -> -EBUSY", gnttab_end_access((grant_ref_t)ref), -XEN_EBUSY);
    check("alloc_unbound", evtchn_alloc_unbound(0, &fport), 0);
    check("bind_interdomain to it", evtchn_bind_interdomain(0, fport, &bport), 0);
    check("bind front handler", evtchn_bind(fport, on_front, NULL), 0);
    check("bind back handler", evtchn_bind(bport, on_back, NULL), 0);
    check("bind the same port twice -> -EEXIST", evtchn_bind(bport, on_back, NULL), -XEN_EEXIST);

    struct pp_sring *s = (struct pp_sring *)front_page;
    SHARED_RING_INIT(s);
    FRONT_RING_INIT(&fring, s, 4096);
    BACK_RING_INIT(&bring, (struct pp_sring *)back_win, 4096);
    check("exchange completes", run(1, 1, loop_done), 1);
    check("every response checked and right", (long)received - bad, count);
    check("back was notified", kicks_back > 0, 1);
    check("front was notified", kicks_front > 0, 1);
    check("unmap", gnttab_unmap(back_win, h, NULL), 0);
    check("end access once unmapped", gnttab_end_access((grant_ref_t)ref), 0);
    check("close back port", evtchn_close(bport), 0);
    check("close front port", evtchn_close(fport), 0);
    check("send on a closed port fails", evtchn_send(fport) < 0, 1);
    summary("loop");
}

/* ---- role=front / role=back over xenstore ---- */
static char path[128], val[64];

/* Wait until the other end's state node reaches want. Waiting for
 * Closed (6), which comes after Connected was seen, a node that is gone
 * counts as Closed, as Linux's xenbus treats a vanished other end: the
 * back writes Closed and powers off, and dom0 may remove its xenstore
 * home before we read the node. A missing node reads as ENOENT, or as
 * EACCES when its nearest ancestor is not ours to read (Xen's rule). */
static int wait_state(struct xenbus *b, const char *node, int want)
{
    char p[128], t[16];
    uint64_t st = 0;
    if (xenbus_watch(b, node, "pp"))
        return -1;
    for (;;) {
        int rc = xenbus_read_u64(b, XBT_NIL, node, &st);
        if (rc == 0 && (int)st >= want)
            break;
        if ((rc == -XEN_ENOENT || rc == -XEN_EACCES) && want == 6) {
            say("the other end is gone: taken as Closed\n");
            st = 6;
            break;
        }
        if (xenbus_read_watch(b, p, sizeof(p), t, sizeof(t), 1))
            return -1;
    }
    xenbus_unwatch(b, node, "pp");
    return (int)st;
}

static void run_front(struct xenbus *b, domid_t self, domid_t peer)
{
    char pr0[8], pr1[8];
    const char *const perms[] = { pr0, pr1 };
    xl_snprintf(pr0, sizeof(pr0), "n%u", self);
    xl_snprintf(pr1, sizeof(pr1), "r%u", peer);

    long ref = gnttab_grant_access(peer, virt_to_mfn(front_page), 0);
    check("grant the ring page to the back", ref >= GNTTAB_FIRST_REF, 1);
    check("alloc_unbound for the back", evtchn_alloc_unbound(peer, &fport), 0);
    check("bind front handler", evtchn_bind(fport, on_front, NULL), 0);
    struct pp_sring *s = (struct pp_sring *)front_page;
    SHARED_RING_INIT(s);
    FRONT_RING_INIT(&fring, s, 4096);

    check("mkdir device/pingpong", xenbus_mkdir(b, XBT_NIL, "device/pingpong"), 0);
    check("let the back read it", xenbus_set_perms(b, XBT_NIL, "device/pingpong", perms, 2), 0);
    xenbus_transaction_t t;
    int rc;
    do {
        if ((rc = xenbus_transaction_start(b, &t)))
            break;
        xenbus_write_u64(b, t, "device/pingpong/ring-ref", (uint64_t)ref);
        xenbus_write_u64(b, t, "device/pingpong/event-channel", fport);
        xenbus_write_u64(b, t, "device/pingpong/backend-id", peer);
        xenbus_write(b, t, "device/pingpong/state", "3");
        rc = xenbus_transaction_end(b, t, 0);
    } while (rc == -XEN_EAGAIN);
    check("publish ring-ref/event-channel (transaction)", rc, 0);
    xl_snprintf(path, sizeof(path), "/local/domain/%u/backend/pingpong/%u/state", peer, self);
    check("back connected (state 4)", wait_state(b, path, 4), 4);
    check("exchange completes", run(1, 0, front_done), 1);
    check("every response checked and right", (long)received - bad, count);
    check("front was notified", kicks_front > 0, 1);
    check("state Closing", xenbus_write(b, XBT_NIL, "device/pingpong/state", "5"), 0);
    check("back closed (state 6)", wait_state(b, path, 6), 6);
    check("end access after the back unmapped", gnttab_end_access((grant_ref_t)ref), 0);
    check("close our port", evtchn_close(fport), 0);
    summary("front");
}

static void run_back(struct xenbus *b, domid_t self, domid_t peer)
{
    char pr0[8], pr1[8], bpath[96], fpath[96];
    const char *const perms[] = { pr0, pr1 };
    uint64_t ref = 0, port = 0;
    grant_handle_t h = 0;
    xl_snprintf(pr0, sizeof(pr0), "n%u", self);
    xl_snprintf(pr1, sizeof(pr1), "r%u", peer);
    xl_snprintf(bpath, sizeof(bpath), "backend/pingpong/%u", peer);
    xl_snprintf(fpath, sizeof(fpath), "/local/domain/%u/device/pingpong", peer);

    check("mkdir backend dir", xenbus_mkdir(b, XBT_NIL, bpath), 0);
    check("let the front read it", xenbus_set_perms(b, XBT_NIL, bpath, perms, 2), 0);
    xl_snprintf(path, sizeof(path), "%s/state", bpath);
    check("state InitWait", xenbus_write(b, XBT_NIL, path, "2"), 0);
    xl_snprintf(val, sizeof(val), "%s/state", fpath);
    check("front initialised (state 3)", wait_state(b, val, 3), 3);
    xl_snprintf(val, sizeof(val), "%s/ring-ref", fpath);
    check("read ring-ref", xenbus_read_u64(b, XBT_NIL, val, &ref), 0);
    xl_snprintf(val, sizeof(val), "%s/event-channel", fpath);
    check("read event-channel", xenbus_read_u64(b, XBT_NIL, val, &port), 0);
    check("map the front's grant", gnttab_map(peer, (grant_ref_t)ref, back_win, 0, &h, NULL), 0);
    check("map a ref we were not given fails",
          gnttab_map(peer, (grant_ref_t)ref + 1, front_page, 0, &h, NULL) < 0, 1);
    check("bind_interdomain to the front's port",
          evtchn_bind_interdomain(peer, (evtchn_port_t)port, &bport), 0);
    check("bind back handler", evtchn_bind(bport, on_back, NULL), 0);
    BACK_RING_INIT(&bring, (struct pp_sring *)back_win, 4096);
    check("state Connected", xenbus_write(b, XBT_NIL, path, "4"), 0);
    check("all requests answered", run(0, 1, back_done), 1);
    check("back was notified", kicks_back > 0, 1);
    xl_snprintf(val, sizeof(val), "%s/state", fpath);
    check("front closing (state 5)", wait_state(b, val, 5), 5);
    check("unmap", gnttab_unmap(back_win, h, NULL), 0);
    check("close our port", evtchn_close(bport), 0);
    check("state Closed", xenbus_write(b, XBT_NIL, path, "6"), 0);
    summary("back");
}

int guest_main(start_info_t *si)
{
    char role[16] = "loop", buf[16];
    domid_t peer = 0;
    cmdline_get(si, "role", role, sizeof(role));
    if (cmdline_get(si, "count", buf, sizeof(buf))) {
        count = 0;
        for (const char *c = buf; *c >= '0' && *c <= '9'; c++)
            count = count * 10 + (uint32_t)(*c - '0');
    }
    if (cmdline_get(si, "peer", buf, sizeof(buf)))
        for (const char *c = buf; *c >= '0' && *c <= '9'; c++)
            peer = (domid_t)(peer * 10 + (*c - '0'));

    check("traps_init", traps_init(), 0);
    check("shared_info mapped", guest_shared_info != NULL, 1);
    if (!guest_shared_info)
        goto out;
    evtchn_port_t tport;
    check("bind VIRQ_TIMER", evtchn_bind_virq(VIRQ_TIMER, &tport), 0);
    evtchn_bind(tport, on_timer, NULL);
    check("gnttab_init", gnttab_init(), 0);
    evtchn_enable_upcalls();

    if (!strcmp(role, "loop")) {
        run_loop();
    } else {
        struct xenbus *b = xenbus_init();
        uint64_t self = 0;
        check("xenstore ring in start_info", b != NULL, 1);
        if (!b)
            goto out;
        check("read our domid", xenbus_read_u64(b, XBT_NIL, "domid", &self), 0);
        if (!strcmp(role, "front"))
            run_front(b, (domid_t)self, peer);
        else
            run_back(b, (domid_t)self, peer);
    }
out:
    evtchn_disable_upcalls();
    say("pingpong %s: %d passed, %d failed\n", role, passed, failed);
    return failed ? SHUTDOWN_crash : SHUTDOWN_poweroff;
}
