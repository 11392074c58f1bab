/*
 * arch.h - what hv/common and setup code may ask of the architecture
 * layer (hv/arch/x86). Each function is small and documented where it is
 * defined.
 */
#ifndef XENOLITH_ARCH_H
#define XENOLITH_ARCH_H

#include <stdint.h>
#include <xenolith/regs.h>

struct vcpu_time_info;

void cpu_init(void);
/* Load a vcpu's FXSAVE image into the FPU (CR0.TS clear), leaving nothing
 * of the previous vcpu's x87 state behind. */
void cpu_fpu_load(const uint8_t img[512]);
void time_init(void);          /* calibrate the TSC against the PIT, read the RTC */
void apic_init(void);           /* LAPIC timer: one-shot, disarmed */
/* Arm the LAPIC timer to interrupt at system time deadline (ns since
 * boot; at once if it has passed). It may fire somewhat early (on
 * purpose, for long waits) and is late only by the LAPIC calibration
 * error over the short final wait; whoever handles it re-checks what is
 * due and re-arms (the one-shot replaces any earlier arm). */
void arch_timer_arm(uint64_t deadline);
void apic_eoi(void);
uint64_t time_ticks(void);     /* LAPIC timer interrupts so far */
uint64_t tsc_hz(void);
uint64_t arch_read_tsc(void);  /* the TSC now (HVM guests' RDMSR of it) */
/* Handle an entry (r: its frame); returns the frame to leave through. */
struct cpu_regs *trap_entry(struct cpu_regs *r);
void enter_frame(const struct cpu_regs *r) __attribute__((noreturn));
void arch_idle_wait(void);

/* Time (time.c). System time is ns since boot, from the TSC through the
 * same mul/shift the guest's PV clock uses, so the two agree. */
uint64_t arch_time_ns(void);
/* Fill tsc_timestamp, system_time, tsc_to_system_mul, tsc_shift and
 * flags of a PV clock record for now (version is the caller's). */
void arch_pvclock_fill(struct vcpu_time_info *t);
/* Wall-clock time (Unix epoch) at system time 0, from the CMOS RTC. */
void arch_wallclock_base(uint64_t *sec, uint32_t *nsec);
/* A new wallclock base (dom0's XENPF_settime): seconds.nanoseconds at system time 0. */
void arch_wallclock_set(uint64_t sec, uint32_t nsec);
/* Physical CPUs the hv runs on, and the local APIC id of one of them. */
unsigned int arch_nr_cpus(void);
uint32_t arch_cpu_apic_id(unsigned int cpu);

#define VEC_TIMER    0xf0
#define VEC_SERIAL   0xf1 /* COM1 receive (I/O APIC pin 4) */
#define VEC_IPI      0xf2 /* inter-processor ping (smp.c); counted by the receiver */
#define VEC_SPURIOUS 0xff

#endif
