/*
 * fake_smp.c - the arch's SMP hooks for hv unit tests: one CPU (cpu 0),
 * no CPU idles unless a test says so, kicks recorded, and a record of what a remote TLB flush
 * would have been asked for (tests that care look at fake_smp_flushed).
 * Must never: be linked into the hv.
 */
#include <stdint.h>
#include <xenolith/domain.h>
#include <xenolith/tlbflush.h>

unsigned int fake_smp_cpu;          /* what arch_cpu_id says */
uint64_t fake_smp_kicked;           /* CPUs arch_kick_cpu was asked for */
uint64_t fake_smp_idle;             /* what arch_idle_cpus says */
cpumask_t fake_smp_flushed;         /* CPUs arch_flush_tlb_others was asked for */

unsigned int arch_cpu_id(void)
{
    return fake_smp_cpu;
}

uint64_t arch_idle_cpus(void)
{
    return fake_smp_idle;
}

void arch_kick_cpu(unsigned int cpu)
{
    fake_smp_kicked |= 1ULL << cpu;
}

void arch_flush_tlb_others(cpumask_t mask)
{
    fake_smp_flushed |= mask;
}
