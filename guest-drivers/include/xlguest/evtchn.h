/*
 * evtchn.h - 2-level event channels in a guest kernel built with the kit:
 * the EVTCHNOP calls, per-port handlers, and the upcall dispatcher that
 * walks vcpu_info's selector word and shared_info's pending/mask bitmaps
 * as Xen lays them out. vCPU 0 only (the kit's kernels have one vCPU).
 */
#ifndef XLGUEST_EVTCHN_H
#define XLGUEST_EVTCHN_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>

/* Ports the dispatcher can give a handler (2-level allows 4096). */
#define EVTCHN_MAX_HANDLED 1024

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

/* EVTCHNOP wrappers: 0 (or the port) or a negative Xen errno. */
long evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port);
long evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port);
long evtchn_bind_virq(uint32_t virq, evtchn_port_t *port);
long evtchn_send(evtchn_port_t port);
long evtchn_close(evtchn_port_t port);

/* Run h(port, data) from the upcall whenever port fires, and unmask the
 * port (a pending event is then delivered). -EINVAL for a port beyond
 * EVTCHN_MAX_HANDLED, -EEXIST if it already has a handler. */
long evtchn_bind(evtchn_port_t port, evtchn_handler_t h, void *data);
/* Mask the port and forget its handler (the channel stays open). */
void evtchn_unbind(evtchn_port_t port);

void evtchn_mask(evtchn_port_t port);
/* Clear the mask bit through EVTCHNOP_unmask, so that an event that came
 * while masked raises the upcall as Xen does. */
long evtchn_unmask(evtchn_port_t port);
/* 1 if the port was pending (and is not any more), else 0. */
int evtchn_test_and_clear(evtchn_port_t port);

/* The dispatcher: call from guest_event_upcall (xlguest/traps.h). Clears
 * evtchn_upcall_pending and each selector word it handles, then each
 * pending unmasked port's bit before calling its handler; ports without a
 * handler are cleared and counted in evtchn_unhandled. Loops until no
 * upcall is pending. Must never be re-entered (the kit's upcall runs with
 * events masked). */
void evtchn_do_upcall(void);
extern unsigned long evtchn_unhandled;

/* Enable upcalls (vcpu_info's evtchn_upcall_mask = 0) and deliver what is
 * pending; and disable them. */
void evtchn_enable_upcalls(void);
void evtchn_disable_upcalls(void);

/* Block until an event is delivered (SCHEDOP_block re-enables upcalls
 * atomically, so an event that comes between a caller's check and the
 * block is not lost); returns with upcalls masked again. */
void evtchn_block(void);

#endif
