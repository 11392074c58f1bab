/*
 * arch.h - what hv/common and setup code may ask of the architecture
 * layer (hv/arch/x86). Each function is small and documented where it is
 * defined.
 */
#ifndef XENOLITH_ARCH_H
#define XENOLITH_ARCH_H

#include <stdint.h>
#include <xenolith/regs.h>

void cpu_init(void);
void time_init(void);          /* calibrate the TSC against the PIT */
void apic_init(unsigned int hz);/* LAPIC periodic tick */
void apic_eoi(void);
uint64_t time_ticks(void);
uint64_t tsc_hz(void);
void trap_entry(struct cpu_regs *r);
void enter_frame(const struct cpu_regs *r) __attribute__((noreturn));
void arch_idle_wait(void);

#define VEC_TIMER    0xf0
#define VEC_SPURIOUS 0xff

#endif
