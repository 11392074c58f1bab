/*
 * bench.c - a PV kernel that measures the cost of the basic PV operations
 * from inside the guest, in TSC ticks per operation: a null hypercall,
 * an event-channel send to itself, a PTE update through mmu_update and
 * update_va_mapping, a trap bounce (int3 -> handler -> iret) and a
 * multicall of 32 null calls. The same binary runs as dom0 of Xenolith
 * and of a real Xen 4.17, so the ratios can be compared. Under QEMU with
 * -icount the TSC follows retired instructions: numbers repeat run to run.
 * Prints one "bench: NAME: T ticks/op (N ops)" line per measurement.
 * Must never: fail a run because a number is high - it only reports.
 */
#include <stdint.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/traps.h>

#define OPS 2000

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void report(const char *name, uint64_t ticks, unsigned int ops, long err)
{
    if (err)
        printk("bench: %s: not measured (error %ld)\n", name, err);
    else
        printk("bench: %s: %lu ticks/op (%u ops)\n", name, (unsigned long)(ticks / ops), ops);
}

static volatile unsigned int traps_seen;

void guest_trap(struct guest_frame *f)
{
    if (f->vector == 3) { /* int3: the CPU reports the address after it */
        traps_seen++;
        return;
    }
    printk("bench: unexpected trap %lu at %lx\n", (unsigned long)f->vector,
           (unsigned long)f->rip);
    xen_shutdown(SHUTDOWN_crash);
}

static void bench_null_hypercall(void)
{
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS; i++)
        HYPERVISOR_xen_version(XENVER_version, NULL);
    report("null hypercall (xen_version)", rdtsc() - t0, OPS, 0);
}

static void bench_multicall(void)
{
    static multicall_entry_t mc[32];
    for (unsigned int i = 0; i < 32; i++)
        mc[i] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .args = { XENVER_version } };
    long rc = 0;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS / 32 && !rc; i++)
        rc = HYPERVISOR_multicall(mc, 32);
    report("multicall entry (32 x xen_version)", rdtsc() - t0, (OPS / 32) * 32, rc);
}

static void bench_evtchn_send(void)
{
    evtchn_alloc_unbound_t au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
    evtchn_bind_interdomain_t bi = { .remote_dom = DOMID_SELF, .remote_port = au.port };
    if (!rc)
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
    evtchn_send_t s = { .port = bi.local_port };
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++) {
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
        if (guest_shared_info) /* consume it, as a driver would */
            __atomic_and_fetch(&guest_shared_info->evtchn_pending[au.port / 64],
                               ~(1UL << (au.port % 64)), __ATOMIC_SEQ_CST);
    }
    report("event channel send (loopback)", rdtsc() - t0, OPS, rc);
}

/* A page of ours whose PTE we rewrite: same frame, toggling Accessed. */
static char victim[4096] __attribute__((aligned(4096)));

static void bench_update_va_mapping(void)
{
    uint64_t pte = (virt_to_mfn(victim) << 12) | 0x67;
    long rc = 0;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = HYPERVISOR_update_va_mapping((unsigned long)victim, pte, UVMF_INVLPG);
    report("update_va_mapping + invlpg", rdtsc() - t0, OPS, rc);
}

/* Machine address of the PTE that maps va, by walking from pt_base (the
 * kit's kernels keep the builder's page tables). */
static uint64_t pte_maddr(unsigned long va)
{
    uint64_t *t = (uint64_t *)start_info->pt_base;
    for (int level = 4; level > 1; level--) {
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        uint64_t mfn = (e >> 12) & 0xffffffffffULL;
        /* Page tables sit inside our initial mapping: find the pfn. */
        const uint64_t *p2m = (const uint64_t *)start_info->mfn_list;
        uint64_t pfn = 0;
        while (pfn < start_info->nr_pages && p2m[pfn] != mfn)
            pfn++;
        if (pfn == start_info->nr_pages)
            return 0;
        t = (uint64_t *)(GUEST_VIRT_BASE + (pfn << 12));
    }
    return (virt_to_mfn(t) << 12) + ((va >> 12) & 511) * 8;
}

static void bench_mmu_update(void)
{
    uint64_t ma = pte_maddr((unsigned long)victim);
    mmu_update_t u = { .ptr = ma | MMU_NORMAL_PT_UPDATE,
                       .val = (virt_to_mfn(victim) << 12) | 0x67 };
    long rc = ma ? 0 : -1;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
    report("mmu_update (one PTE)", rdtsc() - t0, OPS, rc);
}

static void bench_trap_bounce(void)
{
    long rc = traps_init();
    unsigned int before = traps_seen;
    uint64_t t0 = rdtsc();
    for (unsigned int i = 0; i < OPS && !rc; i++)
        __asm__ volatile("int3" ::: "memory");
    uint64_t t = rdtsc() - t0;
    if (!rc && traps_seen - before != OPS)
        rc = -1;
    report("trap bounce (int3 -> handler -> iret)", t, OPS, rc);
}

int guest_main(start_info_t *si)
{
    (void)si;
    printk("bench: TSC ticks per operation, %u operations each\n", OPS);
    bench_null_hypercall();
    bench_multicall();
    bench_evtchn_send();
    bench_update_va_mapping();
    bench_mmu_update();
    bench_trap_bounce();
    printk("bench: done\n");
    return SHUTDOWN_poweroff;
}
