/*
 * tlbflush.h - the TLB-flush clock (Xen's tlbflush_clock): when a frame
 * may no longer be reached through a stale TLB entry, and who must flush
 * before a frame changes type or owner. The discipline is written down in
 * docs/memory-layout.md ("TLB flushes").
 * Owns: the clock, each CPU's last-flush time, the flush decision. Must
 * never: let a frame take a new type or a new owner while some CPU's TLB
 * may still hold a translation made under its old one.
 */
#ifndef XENOLITH_TLBFLUSH_H
#define XENOLITH_TLBFLUSH_H

#include <stdint.h>

/* CPUs the clock tracks (a cpumask is one 64-bit word). */
#define TLBFLUSH_MAX_CPUS 64
typedef uint64_t cpumask_t;

/* Online CPUs (bit n: CPU n), set by the SMP bring-up. */
extern cpumask_t cpu_online_mask;
/* CPUs whose CR3 holds some guest's page tables now (traps.c keeps it,
 * under the big lock): the only ones that can hold guest translations. */
extern cpumask_t cpu_guest_pt_mask;

/* The clock now: stamp a frame with it when its last mapping of some kind
 * goes away (its type count or its reference count reaches 0). */
uint64_t tlbflush_current_time(void);
/* The clock itself, for a hot path that reads it inline (an acquire
 * load, as tlbflush_current_time): written only by tlbflush.c. */
extern uint64_t tlbflush_clock;
/* Single-address flushes (arch_invlpg) so far, on any CPU: a cache of
 * translations kept as a TLB would (pv_cpu.c) drops everything when it
 * moves, as it does when the clock moves. Under the big lock. */
extern uint64_t tlbflush_invlpg_count;

/* Drop from *mask every CPU that has fully flushed its TLB since stamp
 * (a flush that began after the stamp was taken): those cannot hold an
 * entry made before it. What is left must flush. */
void tlbflush_filter(cpumask_t *mask, uint64_t stamp);

/* Bracket a full flush of this CPU's TLB (a CR3 write, INVPCID all):
 * begin before it, done with the returned time after it. */
uint64_t tlbflush_begin(void);
void tlbflush_done(uint64_t t);

/* Flush this CPU's TLB and record it on the clock. */
void flush_tlb_local(void);
/* Flush the TLBs of the CPUs in mask (this one locally, the others that
 * hold guest page tables by IPI) and return once all have. */
void flush_tlb_mask(cpumask_t mask);
/* Arch (smp.c): have each CPU in mask (never this one) flush its TLB and
 * wait, bounded, for every acknowledgement. */
void arch_flush_tlb_others(cpumask_t mask);

/* Make sure no CPU's TLB still holds an entry made before stamp: flush
 * those that might. Returns 1 if something was flushed. */
int tlbflush_since(uint64_t stamp);

/* Does a frame whose last type was old_type (PGT_*, PGT_none if it never
 * held one) need the flush check (tlbflush_since its stamp) before it
 * takes new_type? Every change of type does, as in Xen; the same type
 * again does not: a stale entry gives no more than a fresh one would. */
int tlbflush_type_change_needs_flush(unsigned int old_type, unsigned int new_type);

/* This CPU's number (0: the boot CPU). */
unsigned int smp_processor_id(void);
unsigned int arch_cpu_id(void);
/* The raw hardware flush of this CPU's non-global TLB entries (arch). */
void arch_flush_tlb(void);
/* Load page tables into CR3 (arch): a full flush, recorded on the clock
 * (no global pages are used, so a CR3 write drops every entry). */
void arch_switch_cr3(uint64_t cr3);

#endif
