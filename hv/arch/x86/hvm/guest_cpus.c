/*
 * guest_cpus.c - which domain each CPU is running in guest mode, and the
 * p2m shootdown built on it: when a guest-physical entry goes, no CPU
 * may still be inside that domain's guest with the old translation in
 * its TLB by the time the frame behind it can be freed.
 *
 * The back ends mark a CPU (hvm_guest_entering) before they decide on
 * the TLB flush for an entry, from the domain's p2m_gen, and unmark it
 * (hvm_guest_left) right after the exit, interrupts still off. The side
 * that removes an entry bumps p2m_gen, then for every other CPU marked
 * with the domain kicks it and waits for its exit. Either that CPU read
 * the new p2m_gen (it flushes on entry), or it is marked and gets
 * waited for: the marking and the bump are each followed by a full
 * fence, so one of the two sees the other. The wait ends: a kicked CPU
 * in the guest exits on the interrupt (physical interrupts always exit),
 * and one not there yet enters with the interrupt pending and exits at
 * once. It cannot come back in meanwhile: its next entry needs the big
 * lock, which the waiting side holds.
 *
 * The same wait stops one vcpu synchronously (an INIT from another vcpu,
 * as Xen pauses the target before the sender goes on).
 *
 * Owns: the per-CPU marks. Must never: wait for its own CPU, or take
 * anything a CPU leaving a guest needs before it unmarks itself.
 * No inline assembly (host unit test: test_guest_cpus).
 */
#include <stddef.h>
#include <xenolith/hvm_guest_cpus.h>

struct guest_mark {
    const void *dom;  /* the domain whose guest this CPU is in, or NULL */
    uint64_t exits;   /* one more at each exit */
} __attribute__((aligned(64)));

static struct guest_mark marks[HVM_GUEST_CPUS_MAX];

void hvm_guest_entering(unsigned int cpu, const void *dom)
{
    if (cpu >= HVM_GUEST_CPUS_MAX)
        return;
    __atomic_store_n(&marks[cpu].dom, dom, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* before the p2m_gen read */
}

void hvm_guest_left(unsigned int cpu)
{
    if (cpu >= HVM_GUEST_CPUS_MAX)
        return;
    __atomic_add_fetch(&marks[cpu].exits, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&marks[cpu].dom, NULL, __ATOMIC_SEQ_CST);
}

int hvm_cpu_kick_wait(const void *dom, unsigned int cpu, unsigned int self)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* what the caller changed first */
    if (cpu == self || cpu >= HVM_GUEST_CPUS_MAX)
        return 0;
    struct guest_mark *m = &marks[cpu];
    if (__atomic_load_n(&m->dom, __ATOMIC_SEQ_CST) != dom)
        return 0;
    uint64_t seen = __atomic_load_n(&m->exits, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&m->dom, __ATOMIC_SEQ_CST) != dom)
        return 0;
    arch_kick_cpu(cpu);
    while (__atomic_load_n(&m->dom, __ATOMIC_SEQ_CST) == dom &&
           __atomic_load_n(&m->exits, __ATOMIC_SEQ_CST) == seen)
        arch_spin_relax();
    return 1;
}

unsigned int hvm_p2m_shootdown(const void *dom, unsigned int self, unsigned int ncpus)
{
    unsigned int waited = 0;
    if (ncpus > HVM_GUEST_CPUS_MAX)
        ncpus = HVM_GUEST_CPUS_MAX;
    for (unsigned int c = 0; c < ncpus; c++)
        waited += (unsigned int)hvm_cpu_kick_wait(dom, c, self);
    return waited;
}
