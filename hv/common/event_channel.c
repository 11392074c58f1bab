/* event_channel.c - PLACEHOLDER until event channels land (not done). */
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>

HYPERCALL_DECL(event_channel_op) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
#include <xenolith/domain.h>
void vcpu_mark_events_pending(struct vcpu *v) { v->info->evtchn_upcall_pending = 1; }
