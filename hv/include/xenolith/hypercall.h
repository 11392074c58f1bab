/*
 * hypercall.h - hypercall dispatch: one handler per Xen hypercall number.
 * Every handler has the same shape: copy in, check, act, copy out; it
 * returns a value for the guest's %rax (negative Xen errno on failure).
 */
#ifndef XENOLITH_HYPERCALL_H
#define XENOLITH_HYPERCALL_H

#include <stdint.h>
#include <xenolith/domain.h>

#define NR_HYPERCALLS 64

typedef long (*hypercall_fn)(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3,
                             uint64_t a4, uint64_t a5);

/* The handlers by number (hypercall.c; NULL: none). Only hypercall.c
 * and multicall.c (whose entries run nested, so skip the outermost-call
 * bookkeeping) call through it; everyone else uses hypercall_dispatch. */
extern const hypercall_fn hypercall_table[NR_HYPERCALLS];

/* Run hypercall nr with the five x86_64 argument registers, as the
 * outermost hypercall (its preemption clock starts afresh); also the way
 * for a number without a handler (-ENOSYS, counted and logged). */
long hypercall_dispatch(struct vcpu *v, uint64_t nr, uint64_t a1, uint64_t a2,
                        uint64_t a3, uint64_t a4, uint64_t a5);
/* The same for a guest's `syscall`, reading the number and arguments
 * from its saved frame (traps.c's hypercall_entry). */
struct cpu_regs;
long hypercall_from_frame(struct vcpu *v, const struct cpu_regs *r);

#define HYPERCALL_DECL(name) \
    long do_##name(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)

/* Platform and PMU (platform.c). */
HYPERCALL_DECL(platform_op);
HYPERCALL_DECL(xenpmu_op);
/* Console, version (console_io.c, version.c). */
HYPERCALL_DECL(console_io);
HYPERCALL_DECL(xen_version);
/* Memory (mmu.c, memory.c). */
HYPERCALL_DECL(mmu_update);
HYPERCALL_DECL(mmuext_op);
HYPERCALL_DECL(update_va_mapping);
HYPERCALL_DECL(update_va_mapping_otherdomain);
HYPERCALL_DECL(memory_op);
/* PV CPU (pv_cpu.c). */
HYPERCALL_DECL(set_trap_table);
HYPERCALL_DECL(set_gdt);
HYPERCALL_DECL(stack_switch);
HYPERCALL_DECL(set_callbacks);
HYPERCALL_DECL(fpu_taskswitch);
HYPERCALL_DECL(set_debugreg);
HYPERCALL_DECL(get_debugreg);
HYPERCALL_DECL(update_descriptor);
HYPERCALL_DECL(vm_assist);
HYPERCALL_DECL(iret);
HYPERCALL_DECL(set_segment_base);
HYPERCALL_DECL(callback_op);
HYPERCALL_DECL(physdev_op);
/* Events, time, scheduling (event_channel.c, timer.c, sched.c, multicall.c). */
HYPERCALL_DECL(sched_op);
HYPERCALL_DECL(set_timer_op);
HYPERCALL_DECL(vcpu_op);
HYPERCALL_DECL(event_channel_op);
HYPERCALL_DECL(multicall);
/* Toolstack (domctl.c, sysctl.c; their argument types: xenolith/domctl.h). */
HYPERCALL_DECL(domctl);
HYPERCALL_DECL(sysctl);

/*
 * Long-running hypercalls (Xen's continuations). A handler that has
 * worked for a while (hypercall_preempt_check() says so) saves its
 * progress in its arguments and returns hypercall_continuation(v, nr,
 * new args): the guest's rip is moved back over the 2-byte `syscall`, so
 * when the guest next runs it re-issues hypercall nr with the new
 * arguments, after the scheduler had its chance. Inside a multicall the
 * new arguments are stored in the multicall entry instead, and the
 * multicall itself is continued at that entry.
 */
int hypercall_preempt_check(void);
long hypercall_continuation(struct vcpu *v, unsigned int nr, uint64_t a1, uint64_t a2,
                            uint64_t a3, uint64_t a4, uint64_t a5);
/* For multicall.c: did the entry that just ran ask to be continued, and
 * with which arguments? Clears the request. */
int hypercall_take_mc_continuation(uint64_t args[5]);
extern int hypercall_in_multicall;
/* Non-zero while a continuation request waits for
 * hypercall_take_mc_continuation (a cheap test before the call). */
extern int hypercall_mc_cont_pending;

/*
 * An unimplemented hypercall or sub-op (hcstat.c): the first time domain
 * d asks for the pair, log "dN: NAME SUBOP -ENOSYS (SUBOP_NAME)" (no
 * SUBOP with HCSTAT_NO_SUBOP); sub-ops >= 63 share one log bit per
 * hypercall. Returns -ENOSYS, so a handler can `return
 * hc_unimplemented(...)`.
 */
long hc_unimplemented(struct domain *d, unsigned int hc, unsigned int subop);

/* VCPUOP_initialise for vcpu v of the caller's domain (domctl.c, which
 * shares Xen's arch_set_info_guest checks with XEN_DOMCTL_setvcpucontext):
 * the vcpu_guest_context at guest address arg; -EFAULT, -EEXIST if v has
 * a context already, else what setvcpucontext would return. */
long vcpu_initialise(struct vcpu *caller, struct vcpu *v, uint64_t arg);
/* One line: "dN hypercalls: T total; mmu_update 5000, memory_op/
 * populate_physmap 3, ..." (the 8 largest counts; domain_destroy). */
void hcstat_print_summary(const struct domain *d);

/* Xen's 32-byte x86_64 hypercall page stubs: hypercall_page.h. */
#include <xenolith/hypercall_page.h>

/* Set by the arch layer at boot; reported by xen_version. */
extern const char *hv_cmdline;
extern const uint8_t *hv_build_id;
extern unsigned int hv_build_id_len;

#endif
