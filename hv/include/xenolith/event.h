/*
 * event.h - event channels (2-level and FIFO ABIs), virtual IRQs, per-vcpu timers,
 * runstate and the PV clock, as the rest of the hypervisor sees them.
 * Owns: struct domain_events, struct vcpu_events and the functions other
 * subsystems call to raise events (event_channel.c) or time them (timer.c).
 * Must never: be given a port or domain a guest chose without the
 * hypercall handler having checked it first.
 */
#ifndef XENOLITH_EVENT_H
#define XENOLITH_EVENT_H

#include <stdint.h>

struct vcpu;
struct domain;

/* 2-level ABI on x86_64: 64 x 64 = 4096 ports; Xenolith gives each
 * domain EVTCHN_MAX of them in either ABI (the FIFO ABI's 2^17 are capped
 * here: 4 event-array pages; the rest are -ENOSPC / -EINVAL). Ports are
 * made valid in buckets of EVTCHN_BUCKET as Xen does (port 0..63 from the
 * start), which decides -EINVAL vs "closed" for a never-used port. */
#define EVTCHN_MAX     4096
#define EVTCHN_BUCKET  64
#define EVTCHN_FIFO_WORDS_PER_PAGE 1024 /* 4-byte event words */
#define EVTCHN_FIFO_PAGES (EVTCHN_MAX / EVTCHN_FIFO_WORDS_PER_PAGE)
#define EVTCHN_FIFO_QUEUES 16           /* priorities 0 (highest) .. 15 */
#define XL_NR_VIRQS    24
#define XL_NR_WATCHDOGS 2 /* Xen's NR_DOMAIN_WATCHDOG_TIMERS */

enum evtchn_state {
    ECS_FREE = 0,
    ECS_RESERVED,    /* port 0 */
    ECS_UNBOUND,     /* waiting for remote_dom to bind */
    ECS_INTERDOMAIN, /* connected to (remote_dom, remote_port) */
    ECS_VIRQ,
    ECS_IPI,
    ECS_PIRQ,        /* a physical IRQ of the domain (pirq.h) */
};

struct evtchn {
    uint8_t state;        /* enum evtchn_state */
    uint8_t virq;         /* ECS_VIRQ */
    uint16_t remote_dom;  /* ECS_UNBOUND, ECS_INTERDOMAIN */
    uint16_t remote_port; /* ECS_INTERDOMAIN */
    uint16_t notify_vcpu;
    uint8_t priority;      /* FIFO queue for new events (default 7) */
    uint8_t last_priority; /* FIFO queue it was last linked on (Xen's fifo_lastq) */
    uint8_t pending;       /* FIFO: raised while its event-array page was missing */
    uint8_t last_vcpu;     /* FIFO: whose queue it was last linked on (Xen's last_vcpu_id) */
    uint16_t pirq;         /* ECS_PIRQ */
    uint8_t hv_consumer;   /* the hv's end (Xen's consumer_is_xen): the guest cannot use it */
};

struct domain_events {
    struct evtchn ports[EVTCHN_MAX];
    unsigned int valid;   /* ports [0, valid) exist (whole buckets) */
    /* FIFO ABI (EVTCHNOP_init_control): on while fifo is set. Each
     * vcpu's control block (struct vcpu_events) and each event-array
     * page are guest frames the hv holds a page + writable type
     * reference on until EVTCHNOP_reset or destroy. */
    int fifo;
    unsigned int fifo_nr_pages;
    uint64_t fifo_array[EVTCHN_FIFO_PAGES];
    /* Bit n: vcpus[n] may be blocked in SCHEDOP_poll. Set with its
     * polling flag (evtchn_poll_begin), dropped only by check_pollers
     * once that vcpu is seen not polling: every polling vcpu's bit is
     * set, so a send skips the vcpu scan when this is 0. */
    uint32_t pollers;
    /* SCHEDOP_watchdog timers: bit w of inuse = id w+1 exists; its
     * deadline is system time (fires once, shutting the domain down). */
    uint8_t watchdog_inuse;
    uint64_t watchdog_deadline[XL_NR_WATCHDOGS];
};

/* A timer: deadline in system time (ns since boot), 0 = inactive. */
struct vcpu_events {
    uint16_t virq_to_port[XL_NR_VIRQS];
    uint64_t singleshot;       /* set_timer_op / VCPUOP_set_singleshot_timer */
    uint64_t periodic_period;  /* ns; 0 = stopped */
    uint64_t periodic_next;
    uint64_t poll_deadline;    /* SCHEDOP_poll timeout, 0 = none */
    int polling;               /* blocked in SCHEDOP_poll */
    int poll_port;             /* the one port polled, or -1 for several */
    /* runstate (vcpu.h), kept by the scheduler */
    int rs_state;
    uint64_t rs_entry, rs_time[4];
    uint64_t runstate_guest_va; /* VCPUOP_register_runstate_memory_area, 0 = none */
    uint64_t time_guest_va;     /* VCPUOP_register_vcpu_time_memory_area, 0 = none */
    int rs_pending;             /* runstate area write failed in user mode: retry in kernel mode */
    int time_pending;           /* the same for the time area (Xen's pending_system_time) */
    uint64_t vcpu_info_mfn;     /* VCPUOP_register_vcpu_info frame (page+writable ref held) */
    int vcpu_info_registered;   /* v->info points into vcpu_info_mfn, not shared_info */
    uint64_t slice_end;         /* scheduler: end of the current time slice */
    /* FIFO ABI: this vcpu's control block (EVTCHNOP_init_control, page +
     * writable ref held; 0 = none) and the hv's tail of each of its
     * queues (0 = none; the heads live in the control block). */
    uint64_t fifo_ctrl_mfn;
    unsigned int fifo_ctrl_off;
    uint32_t fifo_tail[EVTCHN_FIFO_QUEUES];
    int yielded;
};

/* --- event_channel.c --- */
/* Reset d's ports (port 0 reserved) and v's VIRQ bindings: domain_create. */
void evtchn_domain_init(struct domain *d);
/* Close every port of d, turning remote ends of its interdomain
 * channels back to unbound, and drop the FIFO ABI's guest frames
 * (domain_destroy, before the domain's frames are freed). */
void evtchn_domain_destroy(struct domain *d);
/* Raise a per-vcpu VIRQ on v / a global VIRQ on d (no-op if unbound). */
void send_guest_vcpu_virq(struct vcpu *v, unsigned int virq);
void send_guest_global_virq(struct domain *d, unsigned int virq);
/* A device interrupt for d's port (bound by EVTCHNOP_bind_pirq): set it
 * pending if it is still an ECS_PIRQ port (the interrupt path). */
void evtchn_raise_pirq(struct domain *d, unsigned int port);
/* A global VIRQ for its handler domain (dom0): VIRQ_DOM_EXC, VIRQ_CONSOLE. */
void send_global_virq(unsigned int virq);
/* Is port pending (2-level: d's shared_info bit; FIFO: its event word's
 * PENDING bit; 0 for an invalid port or a missing array page)? */
int evtchn_port_is_pending(struct domain *d, unsigned int port);
/* A port of d the hv consumes (an ioreq server's, per vcpu): unbound,
 * for remote_dom to bind; its events go to hvm_ioreq_port_notify. The
 * port, or -errno. */
int evtchn_alloc_hv_port(struct domain *d, unsigned int vcpu_id, uint16_t remote_dom);
/* The hv's send on such a port (to the bound remote end, if any). */
void evtchn_send_hv(struct domain *d, unsigned int port);
/* Close it (the remote end, if bound, becomes unbound). */
void evtchn_close_hv_port(struct domain *d, unsigned int port);
/* Event channels in use (bound or unbound) in every live domain, port 0
 * excepted: the destroy log prints it so a leak across domains shows. */
unsigned int evtchn_total_in_use(void);

/* Set v's evtchn_upcall_pending and wake it if it is blocked or polling. */
void vcpu_mark_events_pending(struct vcpu *v);
/* Wake v if it is blocked (SCHEDOP_block / SCHEDOP_poll). */
void vcpu_wake(struct vcpu *v);

/* --- timer.c --- */
/* System time: ns since boot (arch; the PV clock of every vcpu agrees). */
uint64_t xl_now(void);
/* Fire every expired timer of every vcpu (timer tick, scheduler). */
void timers_run(uint64_t now);
/* Earliest active deadline over all vcpus and domains (timers, poll
 * timeouts, watchdogs, the PV clock refresh); never 0 after the first
 * timers_run. */
uint64_t timers_next_deadline(void);
/* The same in pieces, for the scheduler's pass, which walks the domains
 * itself: one DOM_RUNNING domain's expired timers (what they wake is a
 * vcpu of d; a watchdog shuts d down), returning its earliest deadline
 * after them (0: none, or d no longer DOM_RUNNING) without the periodic
 * timer of except (a vcpu whose runstate is about to change; may be
 * NULL); the PV clock refresh, returning its next deadline. */
uint64_t timers_run_domain(struct domain *d, uint64_t now, const struct vcpu *except);
uint64_t timers_refresh(uint64_t now);
/* Refresh v's vcpu_time_info (version odd while writing). */
void vcpu_update_time(struct vcpu *v);
/* Write d's wallclock into its shared_info (wc_version protocol). */
void domain_update_wallclock(struct domain *d);
/* Per-vcpu time/timer defaults (Xen: 100 Hz periodic timer for PV). */
void timer_vcpu_init(struct vcpu *v);
/* v was just scheduled in at now: catch up its periodic timer. */
void timer_vcpu_scheduled_in(struct vcpu *v, uint64_t now);
/* Drop v's VCPUOP_register_vcpu_info mapping (domain_destroy): v->info
 * goes back to its shared_info slot and the frame's references are put. */
void vcpu_info_unmap(struct vcpu *v);
/* v switched between guest kernel and user mode (pv_toggle_mode): write
 * the runstate / time areas whose update failed in user mode. */
void timer_vcpu_mode_toggled(struct vcpu *v);
/* Runstate change of v at now (RUNSTATE_*), copied to the guest's
 * registered area if any. */
void vcpu_runstate_change(struct vcpu *v, int state, uint64_t now);
/* v goes up (VCPUOP_up, a context with VGCF_online) or down
 * (VCPUOP_down, a context without): Xen's _VPF_down, with the runstate
 * going offline <-> runnable. A vcpu that is not current changes at once;
 * the scheduler takes current off the CPU on its next pass. */
void vcpu_set_online(struct vcpu *v, int online);

/* --- sched.c --- */
/* Xen's domain_shutdown: a code recorded with SCHEDOP_shutdown_code
 * replaces reason (every shutdown path of a guest goes through here). */
void sched_domain_shutdown(struct domain *d, unsigned int reason);

#endif
