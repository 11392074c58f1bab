/*
 * event.h - event channels (2-level ABI), virtual IRQs, per-vcpu timers
 * and the PV clock, as the rest of the hypervisor sees them.
 * Owns: struct domain_events, struct vcpu_events.
 */
#ifndef XENOLITH_EVENT_H
#define XENOLITH_EVENT_H

#include <stdint.h>

struct vcpu;
struct domain;

struct domain_events {
    int unused;
};

struct vcpu_events {
    int unused;
};

/* Set v's evtchn_upcall_pending and wake it if it is blocked. */
void vcpu_mark_events_pending(struct vcpu *v);

#endif
