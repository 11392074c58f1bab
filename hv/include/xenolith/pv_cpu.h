/*
 * pv_cpu.h - the PV virtual CPU of an x86_64 guest: its trap table,
 * callbacks, kernel stack, segment bases, descriptor tables and the
 * guest-kernel/guest-user mode bit (Xen's TF_kernel_mode).
 * Owns: struct pv_vcpu. Filled by the CPU hypercalls (pv_cpu.c) and read
 * by the trap path (hv/arch/x86/traps.c).
 */
#ifndef XENOLITH_PV_CPU_H
#define XENOLITH_PV_CPU_H

#include <stdint.h>

struct vcpu;
struct cpu_regs;

struct pv_vcpu {
    int kernel_mode;          /* 1: guest kernel, 0: guest user */
};

/* Point v->cr3 at the page table of the mode v is in (kernel table, or
 * the user table if set and v is in user mode). */
void pv_update_cr3(struct vcpu *v);

/* Called on every return to a guest: deliver a pending, unmasked event
 * upcall (or a pending bounce) by rewriting regs. */
void pv_return_to_guest(struct vcpu *v, struct cpu_regs *regs);

#endif
