/*
 * xbfsm.c - the xenbus connection state machine of a split device's back
 * and front ends as one pure transition function: (our state, the other
 * end's, what we have) -> (next state, ordered actions).
 * Pure: no xenstore access, no inline assembly, no libc, no allocation;
 * host unit tests link it (tests/unit/xbfsm.mk).
 * Owns: nothing; the caller owns the state nodes and carries the actions.
 * Must never: return a teardown that unmaps before in-flight I/O drained,
 * connect on a stale Connected from a front end we closed, keep grants
 * mapped once the other end vanished, or trust a state value it cannot
 * name.
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/xbfsm.h>

static const char *const state_names[] = {
    "Unknown", "Initialising", "InitWait", "Initialised", "Connected",
    "Closing", "Closed", "Reconfiguring", "Reconfigured",
};

const char *xbfsm_state_name(uint32_t s)
{
    return s < ARRAY_SIZE(state_names) ? state_names[s] : "invalid";
}

static const char *const action_names[] = {
    [XBA_WRITE_FEATURES] = "write-features", [XBA_READ_RING_INFO] = "read-ring-info",
    [XBA_MAP_RING] = "map-ring", [XBA_WRITE_DEVICE_INFO] = "write-device-info",
    [XBA_ALLOC_RING] = "alloc-ring", [XBA_WRITE_RING_INFO] = "write-ring-info",
    [XBA_READ_BACKEND_INFO] = "read-backend-info", [XBA_START_IO] = "start-io",
    [XBA_STOP_IO] = "stop-io", [XBA_DRAIN_IO] = "drain-io", [XBA_FAIL_IO] = "fail-io",
    [XBA_UNMAP_ALL] = "unmap-all", [XBA_UNBIND_EVTCHN] = "unbind-evtchn",
    [XBA_FREE_RING] = "free-ring", [XBA_REPORT_ERROR] = "report-error",
    [XBA_REMOVE_DEVICE] = "remove-device",
};

const char *xbfsm_action_name(enum xbfsm_action a)
{
    if ((unsigned)a < ARRAY_SIZE(action_names) && action_names[a])
        return action_names[a];
    return "?";
}

int xbfsm_parse_state(const char *s, size_t len, uint32_t *state)
{
    if (!s || len == 0)
        return -XEN_EINVAL;
    if (len >= 2 && s[1] == 0)
        len = 1;                       /* "4\0..." */
    if (len != 1 || s[0] < '0' || s[0] > '8')
        return -XEN_EINVAL;
    *state = (uint32_t)(s[0] - '0');
    return 0;
}

static void add(struct xbfsm_out *o, enum xbfsm_action a)
{
    if (o->n < XBFSM_MAX_ACTIONS)
        o->act[o->n++] = a;
}

/* The back end lets go of everything the front end gave it, in the only
 * safe order: no new requests, in-flight I/O done (its buffers are the
 * front's pages), then the grants and the channel. */
static void back_teardown(const struct xbfsm_in *in, struct xbfsm_out *o)
{
    if (!in->mapped && !in->inflight)
        return;
    add(o, XBA_STOP_IO);
    if (in->inflight)
        add(o, XBA_DRAIN_IO);
    add(o, XBA_UNMAP_ALL);
    add(o, XBA_UNBIND_EVTCHN);
}

static void front_teardown(const struct xbfsm_in *in, struct xbfsm_out *o)
{
    if (!in->mapped && !in->inflight)
        return;
    add(o, XBA_STOP_IO);
    if (in->inflight)
        add(o, XBA_FAIL_IO);
    if (in->mapped)
        add(o, XBA_FREE_RING);
}

static bool known(uint32_t s)
{
    return s <= XenbusStateClosed;   /* Reconfiguring/-ed: not for blk/net */
}

static void backend(const struct xbfsm_in *in, struct xbfsm_out *o)
{
    uint32_t self = in->self, fe = in->other;
    bool connected_once = in->mapped || in->inflight || self == XenbusStateConnected ||
                          self == XenbusStateClosing || self == XenbusStateClosed;

    /* The front end vanished: everything goes, and so does the device. */
    if (in->other_gone || (fe == XenbusStateUnknown && connected_once)) {
        back_teardown(in, o);
        add(o, XBA_REMOVE_DEVICE);
        o->next = XenbusStateClosed;
        return;
    }
    if (self == XenbusStateInitialising) {
        add(o, XBA_WRITE_FEATURES);
        o->next = XenbusStateInitWait;
        return;
    }
    if (!known(fe)) {
        add(o, XBA_REPORT_ERROR);
        add(o, XBA_STOP_IO);
        o->next = XenbusStateClosing;
        return;
    }
    /* The toolstack wants the device gone: start the close handshake. */
    if (!in->online && self != XenbusStateClosing && self != XenbusStateClosed) {
        o->next = XenbusStateClosing;
        return;
    }
    switch (fe) {
    case XenbusStateUnknown:        /* not written yet */
    case XenbusStateInitWait:
        return;
    case XenbusStateInitialising:
        if (self == XenbusStateClosed) {   /* the front comes back */
            back_teardown(in, o);
            o->next = XenbusStateInitWait;
        }
        return;
    case XenbusStateInitialised:
    case XenbusStateConnected:
        if (self != XenbusStateInitWait && self != XenbusStateInitialised)
            return;   /* Connected already, or a stale value after we closed */
        if (in->info_bad) {
            add(o, XBA_REPORT_ERROR);
            back_teardown(in, o);
            o->next = XenbusStateClosing;
        } else if (!in->have_info) {
            add(o, XBA_READ_RING_INFO);
        } else if (!in->mapped) {
            add(o, XBA_MAP_RING);
        } else if (in->device_ready) {
            add(o, XBA_WRITE_DEVICE_INFO);
            add(o, XBA_START_IO);
            o->next = XenbusStateConnected;
        }
        return;
    case XenbusStateClosing:
        if (self != XenbusStateClosed)
            o->next = XenbusStateClosing;
        return;
    case XenbusStateClosed:
        back_teardown(in, o);
        o->next = XenbusStateClosed;
        if (!in->online)
            add(o, XBA_REMOVE_DEVICE);
        return;
    }
}

static void frontend(const struct xbfsm_in *in, struct xbfsm_out *o)
{
    uint32_t self = in->self, be = in->other;
    bool started = self != XenbusStateInitialising && self != XenbusStateClosed;

    if (in->other_gone || (be == XenbusStateUnknown && (started || in->mapped))) {
        front_teardown(in, o);
        o->next = XenbusStateClosed;
        return;
    }
    if (!known(be)) {
        add(o, XBA_REPORT_ERROR);
        front_teardown(in, o);
        o->next = XenbusStateClosing;
        return;
    }
    if (self == XenbusStateClosing) {   /* we reported an error: finish closing */
        if (be == XenbusStateClosing || be == XenbusStateClosed) {
            front_teardown(in, o);
            o->next = XenbusStateClosed;
        }
        return;
    }
    switch (be) {
    case XenbusStateUnknown:
    case XenbusStateInitialising:
    case XenbusStateInitialised:
        return;
    case XenbusStateInitWait:
    case XenbusStateConnected:
        if (self == XenbusStateClosed) {
            if (in->want_connect && be == XenbusStateInitWait)
                o->next = XenbusStateInitialising;
            return;
        }
        if (self == XenbusStateInitialising) {
            if (in->info_bad) {          /* could not set the ring up */
                add(o, XBA_REPORT_ERROR);
                front_teardown(in, o);
                o->next = XenbusStateClosing;
                return;
            }
            if (!in->mapped)
                add(o, XBA_ALLOC_RING);
            add(o, XBA_WRITE_RING_INFO);
            o->next = XenbusStateInitialised;
            return;
        }
        if (self == XenbusStateInitialised && be == XenbusStateConnected) {
            if (in->info_bad) {
                add(o, XBA_REPORT_ERROR);
                front_teardown(in, o);
                o->next = XenbusStateClosing;
            } else if (!in->have_info) {
                add(o, XBA_READ_BACKEND_INFO);
            } else {
                add(o, XBA_START_IO);
                o->next = XenbusStateConnected;
            }
        }
        return;
    case XenbusStateClosing:
    case XenbusStateClosed:
        if (self != XenbusStateClosed || in->mapped || in->inflight) {
            front_teardown(in, o);
            o->next = XenbusStateClosed;
        } else if (in->want_connect && be == XenbusStateClosed) {
            o->next = XenbusStateInitialising;   /* the back waits for this */
        }
        return;
    }
}

int xbfsm_step(const struct xbfsm_in *in, struct xbfsm_out *out)
{
    memset(out, 0, sizeof(*out));
    out->next = in->self;
    if (in->self == XenbusStateUnknown || !known(in->self))
        return -XEN_EINVAL;
    if (in->role == XBFSM_BACKEND)
        backend(in, out);
    else if (in->role == XBFSM_FRONTEND)
        frontend(in, out);
    else
        return -XEN_EINVAL;
    return 0;
}
