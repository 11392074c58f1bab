/*
 * hvm_guest_cpus.h - which domain each CPU runs in guest mode, and the
 * p2m shootdown (hv/arch/x86/hvm/guest_cpus.c).
 */
#ifndef XENOLITH_HVM_GUEST_CPUS_H
#define XENOLITH_HVM_GUEST_CPUS_H

#include <stdint.h>

#define HVM_GUEST_CPUS_MAX 64

/* cpu is about to enter dom's guest (before its TLB decision) */
void hvm_guest_entering(unsigned int cpu, const void *dom);
/* cpu has left the guest (right after the exit, interrupts off) */
void hvm_guest_left(unsigned int cpu);
/* If cpu (not self) is in dom's guest: kick it and wait for its exit
 * (1), else 0. */
int hvm_cpu_kick_wait(const void *dom, unsigned int cpu, unsigned int self);
/* After the caller bumped dom's p2m_gen: kick every other CPU in dom's
 * guest and wait for its exit. Returns how many it waited for. */
unsigned int hvm_p2m_shootdown(const void *dom, unsigned int self, unsigned int ncpus);

/* arch: interrupt another CPU (it exits a guest); one turn of a spin */
void arch_kick_cpu(unsigned int cpu);
void arch_spin_relax(void);

#endif
