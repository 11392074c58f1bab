/*
 * traps.h - exceptions and event upcalls in a PV guest kernel built with
 * the guest driver kit (guest-drivers/kernel/trap_entry.S).
 * Xen bounces an exception or event to the handler registered with
 * set_trap_table / set_callbacks with, on the guest stack,
 * RCX, R11, [error code,] RIP, CS, RFLAGS, RSP, SS; the kit's stubs turn
 * that into a struct guest_frame and return with HYPERVISOR_iret.
 */
#ifndef XLGUEST_TRAPS_H
#define XLGUEST_TRAPS_H

#include <stdint.h>

#define GUEST_VEC_EVENT 0x100 /* pseudo vector of the event upcall */

struct guest_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss; /* what HYPERVISOR_iret returns to */
};

/* Install the kit's stubs for vectors 0-19 in the trap table (int3 and
 * into callable from guest user mode) and register the event and
 * failsafe callbacks. Returns 0 or the first hypercall error. */
long traps_init(void);

/* Handlers each kernel may provide (weak defaults in traps.c): a trap
 * handler may change f (e.g. skip the faulting instruction by moving
 * f->rip); the default prints the frame and crashes the domain. */
void guest_trap(struct guest_frame *f);
void guest_event_upcall(struct guest_frame *f);

/* %cr2 of the last #PF, as the hypervisor saved it in vcpu_info. */
uint64_t guest_fault_cr2(void);

#endif
