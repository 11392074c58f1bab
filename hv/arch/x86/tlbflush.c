/*
 * tlbflush.c - the TLB-flush clock (see tlbflush.h): a global counter
 * that advances at every full TLB flush, each CPU's time of its last one,
 * and the decision which CPUs must flush before a frame may be reused.
 * A frame is stamped with the clock when its last mapping of a kind goes
 * away (page_type.c: type count 0; mm.c: freed). A CPU whose last full
 * flush began after that stamp cannot cache a translation to the frame
 * made under its old type or owner; any other CPU must flush first.
 * flush_tlb_mask flushes other CPUs through smp.c's flush IPI and waits
 * for each to acknowledge, so a mapping removed before the call is gone
 * from every TLB when it returns.
 * Owns: tlbflush_clock, tlbflush_time[]. Must never: report a CPU as
 * flushed for a flush that began before the stamp it is compared with;
 * return from flush_tlb_mask before every CPU asked has flushed.
 */
#include <xenolith/console.h>
#include <xenolith/mm.h>
#include <xenolith/tlbflush.h>

cpumask_t cpu_online_mask = 1;
cpumask_t cpu_guest_pt_mask;

unsigned int smp_processor_id(void)
{
    return arch_cpu_id();
}

/* Starts at 1 so that a stamp of 0 (never mapped) needs no flush from a
 * CPU that has flushed once; every CPU flushes when it first loads a
 * guest's page tables. */
uint64_t tlbflush_clock = 1; /* tlbflush.h: read-only outside this file */
uint64_t tlbflush_invlpg_count; /* tlbflush.h */
static uint64_t tlbflush_time[TLBFLUSH_MAX_CPUS];

uint64_t tlbflush_current_time(void)
{
    return __atomic_load_n(&tlbflush_clock, __ATOMIC_ACQUIRE);
}

/* A CPU whose last flush began at time t (it took t = ++clock before
 * flushing) has dropped everything cached before any stamp < t. A stamp
 * equal to t may have been taken between the increment and the flush. */
void tlbflush_filter(cpumask_t *mask, uint64_t stamp)
{
    for (unsigned int cpu = 0; cpu < TLBFLUSH_MAX_CPUS; cpu++)
        if ((*mask >> cpu) & 1 && __atomic_load_n(&tlbflush_time[cpu], __ATOMIC_ACQUIRE) > stamp)
            *mask &= ~(1ULL << cpu);
}

/* A CPU waiting for the big lock flushes for others too (smp.c): the
 * clock and a CPU's own time are updated without the lock. */
uint64_t tlbflush_begin(void)
{
    return __atomic_add_fetch(&tlbflush_clock, 1, __ATOMIC_ACQ_REL);
}

void tlbflush_done(uint64_t t)
{
    unsigned int cpu = smp_processor_id();
    BUG_ON(cpu >= TLBFLUSH_MAX_CPUS);
    if (tlbflush_time[cpu] < t)
        __atomic_store_n(&tlbflush_time[cpu], t, __ATOMIC_RELEASE);
}

void flush_tlb_local(void)
{
    uint64_t t = tlbflush_begin();
    arch_flush_tlb();
    tlbflush_done(t);
}

void flush_tlb_mask(cpumask_t mask)
{
    unsigned int cpu = smp_processor_id();
    if (mask & (1ULL << cpu))
        flush_tlb_local();
    /* The others: only those with a guest's page tables loaded can hold
     * a guest translation (every CR3 write is a full flush). The set does
     * not grow meanwhile: CR3 is changed under the big lock only. */
    cpumask_t others = mask & ~(1ULL << cpu) & cpu_online_mask & cpu_guest_pt_mask;
    if (others)
        arch_flush_tlb_others(others);
}

int tlbflush_since(uint64_t stamp)
{
    if (!stamp)
        return 0; /* never stamped: never mapped by a guest */
    cpumask_t mask = cpu_online_mask;
    tlbflush_filter(&mask, stamp);
    if (!mask)
        return 0;
    flush_tlb_mask(mask);
    return 1;
}

int tlbflush_type_change_needs_flush(unsigned int old_type, unsigned int new_type)
{
    /* From PGT_none too: a frame that never held a type has stamp 0 and
     * costs nothing, and one that lost its type record must not skip. */
    return old_type != new_type;
}
