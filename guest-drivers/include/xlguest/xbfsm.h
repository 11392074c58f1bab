/*
 * xbfsm.h - the xenbus connection state machine of a split device
 * (xen/io/xenbus.h states), for either end, as a pure function: given our
 * state, the other end's, and what we already have, the state to switch
 * to and the ordered list of actions to carry out first. The caller runs
 * the actions, updates its `have` flags, writes the state node if it
 * changed, and calls again on the next watch event (or at once, until the
 * list comes back empty). Implemented by guest-drivers/xenbus/xbfsm.c.
 *
 * The flow it encodes (the one Linux's xenbus drivers follow):
 *   back:  Initialising -> InitWait (features written)
 *   front: Initialising -> Initialised (ring granted, ring-ref and
 *          event-channel written) once the back is InitWait
 *   back:  reads the ring info, maps, and once its device is ready writes
 *          the device info and goes Connected
 *   front: reads the back's info and goes Connected
 *   close: the toolstack clears "online" -> back Closing -> front tears
 *          down, Closed -> back tears down, Closed, and removes the device
 *          when not online; a front that goes Initialising after Closed
 *          reconnects.
 * The other end is not trusted: an unknown state is an error (Closing
 * with an error node), and an end that vanishes (node gone, state Closed
 * or Unknown once connected) makes us tear down everything: stop taking
 * requests, wait for in-flight I/O, unmap every grant, unbind the event
 * channel.
 */
#ifndef XLGUEST_XBFSM_H
#define XLGUEST_XBFSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xenbus.h>

enum xbfsm_role { XBFSM_BACKEND, XBFSM_FRONTEND };

enum xbfsm_action {
    XBA_WRITE_FEATURES = 1, /* back: feature-*, max-ring-page-order... */
    XBA_READ_RING_INFO,     /* back: ring-ref(s), event-channel, protocol */
    XBA_MAP_RING,           /* back: map the ring grant(s), bind the event channel */
    XBA_WRITE_DEVICE_INFO,  /* back: sectors, info, sector-size (blk); mac... (net) */
    XBA_ALLOC_RING,         /* front: ring pages granted, unbound event channel */
    XBA_WRITE_RING_INFO,    /* front: ring-ref(s), event-channel, protocol */
    XBA_READ_BACKEND_INFO,  /* front: the back's device info and features */
    XBA_START_IO,           /* both: serve/issue requests */
    XBA_STOP_IO,            /* both: take or issue no new requests */
    XBA_DRAIN_IO,           /* back: wait for in-flight I/O to finish (no responses
                               if the ring is going away) */
    XBA_FAIL_IO,            /* front: complete every pending request with an error */
    XBA_UNMAP_ALL,          /* back: unmap every data grant (persistent ones too),
                               then the ring */
    XBA_UNBIND_EVTCHN,      /* back: close the event channel */
    XBA_FREE_RING,          /* front: end access to the ring and every data grant,
                               close the event channel */
    XBA_REPORT_ERROR,       /* write the error node (xenbus_dev_fatal) */
    XBA_REMOVE_DEVICE,      /* back: unregister the device */
};

#define XBFSM_MAX_ACTIONS 8

struct xbfsm_in {
    enum xbfsm_role role;
    uint32_t self;          /* our state, as we last wrote it */
    uint32_t other;         /* the other end's, as read (Unknown: unreadable) */
    bool other_gone;        /* the other end's node (or domain) has gone */
    bool online;            /* back: the toolstack's "online" node */
    bool device_ready;      /* back: the backing device is open */
    bool have_info;         /* back: ring info read and valid; front: back's info read */
    bool info_bad;          /* that info was missing or invalid (or setting up failed) */
    bool mapped;            /* back: ring mapped, channel bound; front: ring granted */
    uint32_t inflight;      /* requests not yet completed */
    bool want_connect;      /* front: reconnect after Closed */
};

struct xbfsm_out {
    uint32_t next;          /* the state to write (== self: no change) */
    unsigned n;
    enum xbfsm_action act[XBFSM_MAX_ACTIONS];
};

/* 0, or -XEN_EINVAL when our own state is not one we can be in. */
int xbfsm_step(const struct xbfsm_in *in, struct xbfsm_out *out);

/* A state node's text: decimal 0..8, nothing else (no sign, no spaces, no
 * leading zeros, at most len bytes, optional NUL). -XEN_EINVAL otherwise. */
int xbfsm_parse_state(const char *s, size_t len, uint32_t *state);

const char *xbfsm_state_name(uint32_t state);
const char *xbfsm_action_name(enum xbfsm_action a);

#endif
