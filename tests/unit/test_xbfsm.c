/*
 * test_xbfsm.c - host unit tests for the xenbus connection state machine
 * (guest-drivers/xenbus/xbfsm.c): each transition of the back and front
 * ends with its ordered action list, the other end vanishing mid-I/O
 * (every grant unmapped, after the in-flight I/O drained), hostile or
 * stale states, state-node parsing; and both ends run against each other
 * through a fake store until they settle: connect, toolstack detach,
 * error and reconnect, front end gone.
 * Links: xbfsm.c. Mocks: the store and the device (struct end).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/xbfsm.h>

/* "a,b,c" of the action list. */
static const char *acts(const struct xbfsm_out *o)
{
    static char buf[256];
    buf[0] = 0;
    for (unsigned i = 0; i < o->n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, xbfsm_action_name(o->act[i]));
    }
    return buf;
}

static struct xbfsm_in be(uint32_t self, uint32_t fe)
{
    return (struct xbfsm_in){ .role = XBFSM_BACKEND, .self = self, .other = fe, .online = true,
                              .device_ready = true };
}

static struct xbfsm_in fe(uint32_t self, uint32_t be_state)
{
    return (struct xbfsm_in){ .role = XBFSM_FRONTEND, .self = self, .other = be_state };
}

#define STEP(in, want_next, want_acts)                                            \
    do {                                                                          \
        struct xbfsm_out o_;                                                      \
        assert_int_equal(xbfsm_step(&(in), &o_), 0);                              \
        if (o_.next != (uint32_t)(want_next) || strcmp(acts(&o_), want_acts) != 0) \
            fail_msg("%s:%d: -> %s [%s], want %s [%s]", __FILE__, __LINE__,       \
                     xbfsm_state_name(o_.next), acts(&o_),                        \
                     xbfsm_state_name(want_next), want_acts);                     \
    } while (0)

static void test_backend_connect(void **state)
{
    struct xbfsm_in in = be(XenbusStateInitialising, XenbusStateInitialising);
    STEP(in, XenbusStateInitWait, "write-features");
    in = be(XenbusStateInitWait, XenbusStateInitialising);
    STEP(in, XenbusStateInitWait, "");
    in = be(XenbusStateInitWait, XenbusStateInitialised);
    STEP(in, XenbusStateInitWait, "read-ring-info");
    in.have_info = true;
    STEP(in, XenbusStateInitWait, "map-ring");
    in.mapped = true;
    in.device_ready = false;          /* hotplug not done: wait */
    STEP(in, XenbusStateInitWait, "");
    in.device_ready = true;
    STEP(in, XenbusStateConnected, "write-device-info,start-io");
    /* A front end already Connected (we missed Initialised) is the same. */
    in.other = XenbusStateConnected;
    STEP(in, XenbusStateConnected, "write-device-info,start-io");
    in.self = XenbusStateConnected;
    STEP(in, XenbusStateConnected, "");
    in.other = XenbusStateInitialised;
    STEP(in, XenbusStateConnected, "");
}

static void test_backend_bad_ring_info(void **state)
{
    struct xbfsm_in in = be(XenbusStateInitWait, XenbusStateInitialised);
    in.info_bad = true;
    STEP(in, XenbusStateClosing, "report-error");
    in.have_info = true;
    in.mapped = true;               /* mapped, then found wanting */
    STEP(in, XenbusStateClosing, "report-error,stop-io,unmap-all,unbind-evtchn");
}

static void test_backend_close_handshake(void **state)
{
    struct xbfsm_in in = be(XenbusStateConnected, XenbusStateConnected);
    in.mapped = true;
    in.have_info = true;
    in.online = false;               /* xl block-detach */
    STEP(in, XenbusStateClosing, "");
    in.self = XenbusStateClosing;
    STEP(in, XenbusStateClosing, "");   /* the front has not answered yet */
    in.other = XenbusStateClosing;
    STEP(in, XenbusStateClosing, "");
    in.other = XenbusStateClosed;
    in.inflight = 2;
    STEP(in, XenbusStateClosed, "stop-io,drain-io,unmap-all,unbind-evtchn,remove-device");
    in.inflight = 0;
    STEP(in, XenbusStateClosed, "stop-io,unmap-all,unbind-evtchn,remove-device");
    in.online = true;                /* kept for a reconnect */
    STEP(in, XenbusStateClosed, "stop-io,unmap-all,unbind-evtchn");
    in.mapped = false;
    in.self = XenbusStateClosed;
    STEP(in, XenbusStateClosed, "");
    /* The front closes on its own. */
    in = be(XenbusStateConnected, XenbusStateClosing);
    STEP(in, XenbusStateClosing, "");
}

static void test_backend_front_vanishes_mid_io(void **state)
{
    struct xbfsm_in in = be(XenbusStateConnected, XenbusStateConnected);
    in.mapped = true;
    in.have_info = true;
    in.inflight = 5;
    in.other_gone = true;           /* node removed, domain destroyed */
    STEP(in, XenbusStateClosed, "stop-io,drain-io,unmap-all,unbind-evtchn,remove-device");
    /* State read back as nothing: the same. */
    in.other_gone = false;
    in.other = XenbusStateUnknown;
    STEP(in, XenbusStateClosed, "stop-io,drain-io,unmap-all,unbind-evtchn,remove-device");
    /* Straight to Closed without Closing, device kept online. */
    in.other = XenbusStateClosed;
    STEP(in, XenbusStateClosed, "stop-io,drain-io,unmap-all,unbind-evtchn");
    /* Gone while only mapped (between map and connect). */
    in = be(XenbusStateInitWait, XenbusStateInitialised);
    in.mapped = true;
    in.other_gone = true;
    STEP(in, XenbusStateClosed, "stop-io,unmap-all,unbind-evtchn,remove-device");
    /* Unknown before the front end wrote anything: wait, it is not gone. */
    in = be(XenbusStateInitWait, XenbusStateUnknown);
    STEP(in, XenbusStateInitWait, "");
}

static void test_backend_stale_and_hostile(void **state)
{
    /* A front still saying Connected after we closed: no reconnect. */
    struct xbfsm_in in = be(XenbusStateClosed, XenbusStateConnected);
    STEP(in, XenbusStateClosed, "");
    in.other = XenbusStateInitialised;
    STEP(in, XenbusStateClosed, "");
    in = be(XenbusStateClosing, XenbusStateConnected);
    STEP(in, XenbusStateClosing, "");
    /* It reconnects only through Initialising. */
    in = be(XenbusStateClosed, XenbusStateInitialising);
    STEP(in, XenbusStateInitWait, "");
    /* States blk/net never use, or garbage. */
    in = be(XenbusStateConnected, XenbusStateReconfiguring);
    in.mapped = true;
    STEP(in, XenbusStateClosing, "report-error,stop-io");
    in.other = 9;
    STEP(in, XenbusStateClosing, "report-error,stop-io");
    in.other = 0xffffffffu;
    STEP(in, XenbusStateClosing, "report-error,stop-io");
    /* Our own state must be one we can be in. */
    struct xbfsm_out o;
    in.self = XenbusStateUnknown;
    assert_int_equal(xbfsm_step(&in, &o), -XEN_EINVAL);
    in.self = 42;
    assert_int_equal(xbfsm_step(&in, &o), -XEN_EINVAL);
    in.self = XenbusStateConnected;
    in.role = (enum xbfsm_role)7;
    assert_int_equal(xbfsm_step(&in, &o), -XEN_EINVAL);
}

static void test_frontend_transitions(void **state)
{
    struct xbfsm_in in = fe(XenbusStateInitialising, XenbusStateUnknown);
    STEP(in, XenbusStateInitialising, "");      /* back end not there yet */
    in.other = XenbusStateInitialising;
    STEP(in, XenbusStateInitialising, "");
    in.other = XenbusStateInitWait;
    STEP(in, XenbusStateInitialised, "alloc-ring,write-ring-info");
    in.mapped = true;                           /* retry after a failed write */
    STEP(in, XenbusStateInitialised, "write-ring-info");
    in.info_bad = true;
    STEP(in, XenbusStateClosing, "report-error,stop-io,free-ring");
    in = fe(XenbusStateInitialised, XenbusStateInitWait);
    in.mapped = true;
    STEP(in, XenbusStateInitialised, "");
    in.other = XenbusStateConnected;
    STEP(in, XenbusStateInitialised, "read-backend-info");
    in.have_info = true;
    STEP(in, XenbusStateConnected, "start-io");
    in.self = XenbusStateConnected;
    STEP(in, XenbusStateConnected, "");
    /* The back end closes with requests pending. */
    in.inflight = 4;
    in.other = XenbusStateClosing;
    STEP(in, XenbusStateClosed, "stop-io,fail-io,free-ring");
    in.other = XenbusStateClosed;
    STEP(in, XenbusStateClosed, "stop-io,fail-io,free-ring");
    /* The back end vanishes. */
    in.other = XenbusStateConnected;
    in.other_gone = true;
    STEP(in, XenbusStateClosed, "stop-io,fail-io,free-ring");
    in.other_gone = false;
    in.other = XenbusStateUnknown;
    STEP(in, XenbusStateClosed, "stop-io,fail-io,free-ring");
    /* Garbage from the back end. */
    in.other = 8;
    STEP(in, XenbusStateClosing, "report-error,stop-io,fail-io,free-ring");
    /* Bad back-end info while connecting. */
    in = fe(XenbusStateInitialised, XenbusStateConnected);
    in.mapped = true;
    in.info_bad = true;
    STEP(in, XenbusStateClosing, "report-error,stop-io,free-ring");
    /* After our error: close once the back end follows. */
    in = fe(XenbusStateClosing, XenbusStateConnected);
    STEP(in, XenbusStateClosing, "");
    in.other = XenbusStateClosing;
    STEP(in, XenbusStateClosed, "");
    /* Reconnect after Closed, only when asked. */
    in = fe(XenbusStateClosed, XenbusStateClosed);
    STEP(in, XenbusStateClosed, "");
    in.want_connect = true;
    STEP(in, XenbusStateInitialising, "");
    in.other = XenbusStateInitWait;
    STEP(in, XenbusStateInitialising, "");
}

static void test_parse_state(void **state)
{
    uint32_t s = 99;
    assert_int_equal(xbfsm_parse_state("4", 1, &s), 0);
    assert_int_equal(s, 4);
    assert_int_equal(xbfsm_parse_state("6\0junk", 6, &s), 0);
    assert_int_equal(s, 6);
    assert_int_equal(xbfsm_parse_state("0", 1, &s), 0);
    assert_int_equal(s, 0);
    s = 99;
    const char *bad[] = { "9", "04", "-1", " 4", "4 ", "44", "a", "" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(xbfsm_parse_state(bad[i], strlen(bad[i]), &s), -XEN_EINVAL);
    assert_int_equal(xbfsm_parse_state(NULL, 1, &s), -XEN_EINVAL);
    assert_int_equal(xbfsm_parse_state("4", 0, &s), -XEN_EINVAL);
    assert_int_equal(s, 99);
    assert_string_equal(xbfsm_state_name(XenbusStateInitWait), "InitWait");
    assert_string_equal(xbfsm_state_name(77), "invalid");
}

/* Both ends through a fake store: each end's state node, what it wrote
 * (features, ring info, device info), its grants and channel. */
struct end {
    struct xbfsm_in in;
    uint32_t state;        /* its node */
    bool wrote_info;       /* ring info (front) or device info (back) */
    bool io, evtchn, removed, error;
    unsigned grants;       /* data grants mapped (back) or granted (front) */
};

struct world {
    struct end b, f;
    bool fe_gone;
    bool ring_info_garbage;
    char log[1024];
};

static void run_actions(struct world *w, struct end *e, struct end *peer, const struct xbfsm_out *o)
{
    for (unsigned i = 0; i < o->n; i++) {
        char tag[40];
        snprintf(tag, sizeof(tag), "%c:%s ", e->in.role == XBFSM_BACKEND ? 'b' : 'f',
                 xbfsm_action_name(o->act[i]));
        strncat(w->log, tag, sizeof(w->log) - strlen(w->log) - 1);
        switch (o->act[i]) {
        case XBA_WRITE_FEATURES:
            break;
        case XBA_READ_RING_INFO:
            if (!peer->wrote_info || w->ring_info_garbage)
                e->in.info_bad = true;
            else
                e->in.have_info = true;
            break;
        case XBA_MAP_RING:
            e->in.mapped = true;
            e->evtchn = true;
            break;
        case XBA_WRITE_DEVICE_INFO:
        case XBA_WRITE_RING_INFO:
            e->wrote_info = true;
            break;
        case XBA_ALLOC_RING:
            e->in.mapped = true;
            break;
        case XBA_READ_BACKEND_INFO:
            if (peer->wrote_info)
                e->in.have_info = true;
            else
                e->in.info_bad = true;
            break;
        case XBA_START_IO:
            e->io = true;
            break;
        case XBA_STOP_IO:
            e->io = false;
            break;
        case XBA_DRAIN_IO:
        case XBA_FAIL_IO:
            assert_false(e->io);
            e->in.inflight = 0;
            break;
        case XBA_UNMAP_ALL:
            /* Never while I/O may still touch the pages. */
            assert_false(e->io);
            assert_int_equal(e->in.inflight, 0);
            e->grants = 0;
            e->in.mapped = false;
            e->in.have_info = false;
            e->wrote_info = false;
            break;
        case XBA_UNBIND_EVTCHN:
            e->evtchn = false;
            break;
        case XBA_FREE_RING:
            assert_false(e->io);
            assert_int_equal(e->in.inflight, 0);
            e->grants = 0;
            e->in.mapped = false;
            e->in.have_info = false;
            e->wrote_info = false;
            break;
        case XBA_REPORT_ERROR:
            e->error = true;
            break;
        case XBA_REMOVE_DEVICE:
            e->removed = true;
            break;
        }
    }
}

/* Steps both ends until neither has anything to do. */
static void settle(struct world *w)
{
    for (int round = 0; round < 50; round++) {
        bool busy = false;
        struct end *ends[2] = { &w->b, &w->f };
        for (int k = 0; k < 2; k++) {
            struct end *e = ends[k], *peer = ends[1 - k];
            if (e->removed || (k == 1 && w->fe_gone))
                continue;
            e->in.self = e->state;
            e->in.other = (k == 0 && w->fe_gone) ? XenbusStateUnknown : peer->state;
            e->in.other_gone = k == 0 && w->fe_gone;
            struct xbfsm_out o;
            assert_int_equal(xbfsm_step(&e->in, &o), 0);
            run_actions(w, e, peer, &o);
            if (o.n || o.next != e->state)
                busy = true;
            if (o.next == XenbusStateInitialising || o.next == XenbusStateClosed)
                e->in.info_bad = false;
            e->state = o.next;
        }
        if (!busy)
            return;
    }
    fail_msg("did not settle: b %s f %s", xbfsm_state_name(w->b.state), xbfsm_state_name(w->f.state));
}

static void world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    w->b.in = be(XenbusStateInitialising, XenbusStateInitialising);
    w->f.in = fe(XenbusStateInitialising, XenbusStateInitialising);
    w->b.state = w->f.state = XenbusStateInitialising;
}

static void connect_both(struct world *w)
{
    world_init(w);
    settle(w);
    assert_int_equal(w->b.state, XenbusStateConnected);
    assert_int_equal(w->f.state, XenbusStateConnected);
    assert_true(w->b.io && w->f.io && w->b.evtchn);
}

static void test_pair_connect_and_detach(void **state)
{
    static struct world w;
    connect_both(&w);
    assert_string_equal(w.log, "b:write-features f:alloc-ring f:write-ring-info b:read-ring-info "
                               "b:map-ring b:write-device-info b:start-io f:read-backend-info "
                               "f:start-io ");
    /* xl block-detach with I/O in flight on both sides. */
    w.b.in.inflight = 3;
    w.b.grants = 3;
    w.f.in.inflight = 3;
    w.b.in.online = false;
    w.log[0] = 0;
    settle(&w);
    assert_int_equal(w.b.state, XenbusStateClosed);
    assert_int_equal(w.f.state, XenbusStateClosed);
    assert_true(w.b.removed);
    assert_int_equal(w.b.grants, 0);
    assert_false(w.b.in.mapped || w.b.evtchn || w.f.in.mapped);
    assert_string_equal(w.log, "f:stop-io f:fail-io f:free-ring b:stop-io b:drain-io b:unmap-all "
                               "b:unbind-evtchn b:remove-device ");
}

static void test_pair_front_vanishes(void **state)
{
    static struct world w;
    connect_both(&w);
    w.b.in.inflight = 7;
    w.b.grants = 7;
    w.fe_gone = true;
    settle(&w);
    assert_int_equal(w.b.state, XenbusStateClosed);
    assert_true(w.b.removed);
    assert_int_equal(w.b.grants, 0);
    assert_false(w.b.in.mapped || w.b.evtchn || w.b.io);
}

static void test_pair_error_and_reconnect(void **state)
{
    static struct world w;
    world_init(&w);
    w.ring_info_garbage = true;       /* the back end cannot use the front's ring-ref */
    settle(&w);
    assert_true(w.b.error);
    assert_int_equal(w.b.state, XenbusStateClosed);
    assert_int_equal(w.f.state, XenbusStateClosed);
    assert_false(w.b.removed);        /* still online */
    assert_false(w.b.in.mapped || w.f.in.mapped);
    /* The front end tries again, with a good ring this time. */
    w.ring_info_garbage = false;
    w.f.in.want_connect = true;
    settle(&w);
    assert_int_equal(w.b.state, XenbusStateConnected);
    assert_int_equal(w.f.state, XenbusStateConnected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_connect),
        cmocka_unit_test(test_backend_bad_ring_info),
        cmocka_unit_test(test_backend_close_handshake),
        cmocka_unit_test(test_backend_front_vanishes_mid_io),
        cmocka_unit_test(test_backend_stale_and_hostile),
        cmocka_unit_test(test_frontend_transitions),
        cmocka_unit_test(test_parse_state),
        cmocka_unit_test(test_pair_connect_and_detach),
        cmocka_unit_test(test_pair_front_vanishes),
        cmocka_unit_test(test_pair_error_and_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
