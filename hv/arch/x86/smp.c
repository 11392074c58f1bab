/*
 * smp.c - bringing up the application processors: the CPUs from the
 * ACPI MADT (acpi.c), the real-mode trampoline page below 1 MiB, the
 * INIT-SIPI-SIPI sequence, each AP's first C code (its tables, its LAPIC,
 * its way into the scheduler), the CPU table percpu[], IPIs with a
 * boot-time check that every AP answers them; and what the CPUs share
 * once they all run guests: the big hypervisor lock (a ticket lock),
 * the idle-CPU mask and kicks, the TLB-flush IPI and its acknowledgement,
 * and the watchdog that panics when a CPU stays in the hv over a second.
 * Owns: percpu[], nr_cpus_online, the trampoline page, the LAPIC's ICR,
 * the big lock, cpu_idle_mask. Must never: wait for an AP, a lock or an
 * acknowledgement without a bound or without servicing flush requests
 * (a CPU waiting for the big lock flushes for the holder); printk from a
 * CPU that does not hold the big lock (but for the panic paths); take the
 * big lock from an NMI.
 */
#include <arch/x86.h>
#include <xenolith/acpi.h>
#include <xenolith/arch.h>
#include <xenolith/bootinfo.h>
#include <xenolith/console.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/domain.h>
#include <xenolith/hvm_guest_cpus.h>
#include <xenolith/percpu.h>
#include <xenolith/power.h>
#include <xenolith/ticketlock.h>
#include <xenolith/tlbflush.h>

struct percpu percpu[NR_CPUS];
unsigned int nr_cpus_online = 1;

extern uint64_t idle_pml4[512];
extern uint8_t ap_tramp_start[], ap_tramp_end[];
extern uint8_t tr_gdtr[], tr_jmp32[], tr_jmp64[], tr_pm32[], tr_lm64[], tr_gdt[];
extern uint8_t tr_efer[], tr_stack[], tr_percpu[], tr_entry[], tr_idle_cr3[];
extern uint8_t tr_cr0[], tr_cr3[], tr_cr4[], tr_alive[];
extern void ap_entry_high(void);
void ap_start(struct percpu *pc) __attribute__((noreturn));

/* ---- the local APIC (xAPIC, MMIO; the same address on every CPU) ---- */

#define APIC_ID        0x020
#define APIC_TPR       0x080
#define APIC_SVR       0x0f0
#define APIC_ESR       0x280
#define APIC_ICR_LO    0x300
#define APIC_ICR_HI    0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_ERR   0x370

#define ICR_FIXED      0x000
#define ICR_NMI        0x400
#define ICR_INIT       0x500
#define ICR_STARTUP    0x600
#define ICR_BUSY       (1u << 12)
#define ICR_ASSERT     (1u << 14)
#define ICR_LEVEL      (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)
#define LVT_MASKED     (1u << 16)

static volatile uint32_t *lapic;

static uint32_t lapic_read(unsigned int reg) { return lapic[reg / 4]; }
static void lapic_write(unsigned int reg, uint32_t v) { lapic[reg / 4] = v; }

static uint32_t lapic_id(void)
{
    return lapic_read(APIC_ID) >> 24;
}

/* Wait (bounded: 10 ms) for the previous IPI to leave the ICR. */
static int icr_wait(void)
{
    uint64_t until = arch_time_ns() + 10000000;
    while (lapic_read(APIC_ICR_LO) & ICR_BUSY) {
        if (arch_time_ns() > until)
            return -1;
        pause();
    }
    return 0;
}

/* Write the ICR (destination first: the low word sends) with interrupts
 * off, so no handler's IPI lands between the two writes. */
static int icr_send(uint32_t dest_apic, uint32_t lo)
{
    uint64_t f = irq_save();
    int rc = icr_wait();
    lapic_write(APIC_ICR_HI, dest_apic << 24);
    lapic_write(APIC_ICR_LO, lo);
    rc |= icr_wait();
    irq_restore(f);
    return rc;
}

void smp_send_ipi(unsigned int cpu, uint8_t vector)
{
    if (cpu >= nr_cpus_online || percpu[cpu].state != CPU_ONLINE)
        return;
    icr_send(percpu[cpu].apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void smp_send_ipi_allbutself(uint8_t vector)
{
    icr_send(0, ICR_FIXED | ICR_ASSERT | ICR_ALL_BUT_SELF | vector);
}

void smp_ipi_interrupt(void)
{
    this_cpu()->ipi_count++;
    apic_eoi();
}

static void smp_send_nmi(unsigned int cpu)
{
    if (cpu < nr_cpus_online && percpu[cpu].state == CPU_ONLINE)
        icr_send(percpu[cpu].apic_id, ICR_NMI | ICR_ASSERT);
}

unsigned int arch_cpu_id(void)
{
    return this_cpu()->cpu_id;
}

/* ---- the big hypervisor lock (docs/architecture.md, "Locking") ---- */

struct ticketlock big_lock_ticket;            /* percpu.h: big_lock_here's fast path */
volatile int big_holder = -1;                /* cpu number, for the watchdog */
volatile uint64_t cpu_idle_mask;               /* CPUs in hlt in arch_idle_wait */

/* Flush this CPU's TLB if another CPU asked (flush_req ahead of
 * flush_done), then acknowledge. Safe with or without the big lock. */
void smp_flush_service(struct percpu *pc)
{
    uint64_t req = __atomic_load_n(&pc->flush_req, __ATOMIC_ACQUIRE);
    if (req == pc->flush_done)
        return;
    flush_tlb_local();
    __atomic_store_n(&pc->flush_done, req, __ATOMIC_RELEASE);
}

void smp_watchdog_check(struct percpu *self);

/* Wait for ticket t (taken): the spin of a contended big lock. */
void big_lock_wait(struct percpu *pc, uint32_t t)
{
    for (unsigned int n = 0; !ticket_lock_mine(&big_lock_ticket, t); n++) {
        smp_flush_service(pc); /* the holder may be waiting for this CPU's flush */
        if ((n & 1023) == 1023)
            smp_watchdog_check(pc);
        pause();
    }
}

void big_lock(void)
{
    big_lock_here(this_cpu());
}

void big_unlock(void)
{
    BUG_ON(big_holder != (int)this_cpu()->cpu_id);
    big_holder = -1;
    ticket_lock_release(&big_lock_ticket);
}

int big_lock_held_here(void)
{
    return big_holder == (int)this_cpu()->cpu_id;
}

uint64_t arch_idle_cpus(void)
{
    return __atomic_load_n(&cpu_idle_mask, __ATOMIC_ACQUIRE);
}

/* Make cpu enter the hv soon (its vcpu has something new). */
void arch_kick_cpu(unsigned int cpu)
{
    if (cpu != this_cpu()->cpu_id)
        smp_send_ipi(cpu, VEC_IPI);
}

void arch_spin_relax(void)
{
    pause();
}

/* ---- TLB shootdown ---- */

#define FLUSH_WAIT_NS 1000000000ULL

void arch_flush_tlb_others(cpumask_t mask)
{
    struct percpu *me = this_cpu();
    uint64_t want[NR_CPUS];
    mask &= ~(1ULL << me->cpu_id);
    for (unsigned int c = 0; c < nr_cpus_online; c++) {
        if (!(mask >> c & 1))
            continue;
        want[c] = __atomic_add_fetch(&percpu[c].flush_req, 1, __ATOMIC_ACQ_REL);
        smp_send_ipi(c, VEC_IPI);
    }
    uint64_t until = arch_time_ns() + FLUSH_WAIT_NS;
    for (unsigned int c = 0; c < nr_cpus_online; c++) {
        if (!(mask >> c & 1))
            continue;
        while (__atomic_load_n(&percpu[c].flush_done, __ATOMIC_ACQUIRE) < want[c]) {
            smp_flush_service(me); /* another CPU may wait for this one */
            if (arch_time_ns() > until)
                smp_watchdog_panic(c, "every CPU asked to flush its TLB acknowledges within 1 s",
                                   "did not acknowledge a TLB flush");
            pause();
        }
    }
}

/* ---- watchdog ---- */

/* smp_watchdog_ms= (default 1000): TCG guests on an oversubscribed host
 * can wait for a preempted ticket holder's QEMU thread for longer. */
static uint64_t watchdog_ns = 1000000000ULL;

void smp_set_watchdog_ms(uint64_t ms)
{
    if (ms)
        watchdog_ns = ms * 1000000ULL;
}

static volatile int wd_panicking = -1; /* the CPU that panics */
static volatile int wd_turn = -1, wd_done = -1;

static uint64_t tsc_to_ns(uint64_t d)
{
    uint64_t per_us = tsc_hz() / 1000000;
    return per_us ? d / per_us * 1000 : 0;
}

/* A CPU (self, or any other) in the hv longer than WATCHDOG_NS: panic. */
void smp_watchdog_check(struct percpu *self)
{
    (void)self;
    uint64_t now = rdtsc();
    int holder = big_holder;
    for (unsigned int c = 0; c < nr_cpus_online; c++) {
        uint64_t since = percpu[c].hv_since;
        if (!since || now <= since || tsc_to_ns(now - since) <= watchdog_ns)
            continue;
        /* A CPU over the bound while another holds the big lock is (with
         * a fair lock) waiting behind it: name the holder, the one that
         * keeps everyone in the hv. */
        unsigned int culprit = holder >= 0 && holder < (int)nr_cpus_online ? (unsigned int)holder : c;
        smp_watchdog_panic(culprit, "every CPU leaves the hypervisor (to a guest or to idle) "
                                    "within smp_watchdog_ms (default 1 s)",
                           holder == (int)culprit ? "is stuck in the hypervisor holding the big lock"
                                                  : "is stuck in the hypervisor");
    }
}

void dump_cpu_state(const struct cpu_regs *r); /* traps.c */

void smp_watchdog_panic(unsigned int cpu, const char *invariant, const char *what)
{
    struct percpu *me = this_cpu();
    int expect = -1;
    if (!__atomic_compare_exchange_n(&wd_panicking, &expect, (int)me->cpu_id, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        for (;;) /* another CPU panics; it sends this one an NMI */
            pause();
    }
    uint64_t since = percpu[cpu].hv_since;
    printk("\n****************************************\n");
    printk("PANIC (watchdog) on cpu%u: cpu%u %s", me->cpu_id, cpu, what);
    if (since)
        printk(" (%lu ms in the hv)", (unsigned long)(tsc_to_ns(rdtsc() - since) / 1000000));
    printk("\ninvariant broken: %s\n", invariant);
    printk("big lock: held by cpu%d\n", big_holder);
    printk("****************************************\n");
    printk("cpu%u (apic %u), the one that noticed:\n", me->cpu_id, me->apic_id);
    arch_dump_stack();
    for (unsigned int c = 0; c < nr_cpus_online; c++) {
        if (c == me->cpu_id)
            continue;
        __atomic_store_n(&wd_turn, (int)c, __ATOMIC_RELEASE);
        smp_send_nmi(c);
        uint64_t until = arch_time_ns() + 200000000ULL;
        while (__atomic_load_n(&wd_done, __ATOMIC_ACQUIRE) != (int)c && arch_time_ns() < until)
            pause();
        if (wd_done != (int)c)
            printk("cpu%u: no answer to the NMI within 200 ms\n", c);
    }
    printk("hypervisor halted (exit status: panic)\n");
    arch_halt_machine(XL_EXIT_PANIC);
}

/* The NMI handler (traps.c, on IST1, never the big lock): during a
 * watchdog panic, dump this CPU's registers when it is its turn, then
 * stop. Returns 0 if no panic is going on (the NMI is ignored). */
int smp_nmi(const struct cpu_regs *r)
{
    if (wd_panicking < 0)
        return 0;
    struct percpu *me = this_cpu();
    uint64_t until = arch_time_ns() + 1000000000ULL;
    while (__atomic_load_n(&wd_turn, __ATOMIC_ACQUIRE) != (int)me->cpu_id && arch_time_ns() < until)
        pause();
    printk("cpu%u (apic %u) at the NMI, %s:\n", me->cpu_id, me->apic_id,
           big_holder == (int)me->cpu_id ? "holding the big lock"
           : me->hv_since ? "in the hv" : "in a guest or idle");
    dump_cpu_state(r);
    __atomic_store_n(&wd_done, (int)me->cpu_id, __ATOMIC_RELEASE);
    for (;;)
        halt();
}

/* smp_test_hang_cpu=N (tests only): cpu N, once it runs guests, stops in
 * the hv holding the big lock, for the watchdog scenario. */
static unsigned int test_hang_cpu = ~0u;

void smp_test_maybe_hang(void)
{
    if (this_cpu()->cpu_id != test_hang_cpu)
        return;
    for (;;)
        pause();
}

void smp_set_test_hang(unsigned int cpu)
{
    test_hang_cpu = cpu;
}

static void delay_us(uint64_t us)
{
    uint64_t until = arch_time_ns() + us * 1000;
    while (arch_time_ns() < until)
        pause();
}

/* ---- the trampoline page ---- */

static uint64_t tramp_phys;
static uint8_t *tramp;
/* The AP's first page table: the hv's slots plus a 1:1 map of the first
 * BOOT_MAP_GIB GiB (the direct map's PDPT in slot 0), so the trampoline
 * keeps running when paging comes on. Below 4 GiB (the hv image is), as
 * the 32-bit CR3 load needs. */
static uint64_t ap_pml4[512] __attribute__((aligned(4096)));

#define TR(sym) (tramp + ((uint8_t *)(sym) - ap_tramp_start))

static void tr_put32(void *sym, uint32_t v) { memcpy(TR(sym), &v, 4); }
static void tr_put64(void *sym, uint64_t v) { memcpy(TR(sym), &v, 8); }

/* A usable page below 1 MiB (and above the real-mode IVT and BIOS data
 * at page 0) for the STARTUP IPI's vector: the highest one the loader's
 * map calls free RAM. The hv never gives RAM below 1 MiB to its
 * allocator; this page becomes the hv's (not I/O memory dom0 may map). */
static uint64_t find_tramp_page(const struct xl_bootinfo *bi)
{
    uint64_t best = 0;
    for (uint32_t i = 0; i < bi->nr_ranges && i < XL_MAX_MEMRANGES; i++) {
        const struct xl_mem_range *r = &bi->ranges[i];
        if (r->type != XL_MEM_USABLE)
            continue;
        uint64_t s = MAX(ROUNDUP(r->base, PAGE_SIZE), 0x1000ULL);
        uint64_t e = MIN(r->base + r->len, 0xa0000ULL) & ~(uint64_t)(PAGE_SIZE - 1);
        if (e > s && e - s >= PAGE_SIZE && e - PAGE_SIZE > best)
            best = e - PAGE_SIZE;
    }
    return best;
}

static int tramp_init(const struct xl_bootinfo *bi)
{
    uint64_t size = (uint64_t)(ap_tramp_end - ap_tramp_start);
    BUG_ON(size > PAGE_SIZE);
    tramp_phys = find_tramp_page(bi);
    if (!tramp_phys)
        return -1;
    frame_table[tramp_phys >> PAGE_SHIFT].owner = DOMID_HV_OWNED;
    tramp = (uint8_t *)(DIRECTMAP_BASE + tramp_phys);
    memcpy(tramp, ap_tramp_start, size);
    tr_put32(tr_gdtr + 2, (uint32_t)(tramp_phys + (uint64_t)(tr_gdt - ap_tramp_start)));
    tr_put32(tr_jmp32, (uint32_t)(tramp_phys + (uint64_t)(tr_pm32 - ap_tramp_start)));
    tr_put32(tr_jmp64, (uint32_t)(tramp_phys + (uint64_t)(tr_lm64 - ap_tramp_start)));

    memcpy(ap_pml4, idle_pml4, sizeof(ap_pml4));
    ap_pml4[0] = idle_pml4[DIRECTMAP_SLOT];
    uint64_t pml4_phys = virt_to_mfn(ap_pml4) << PAGE_SHIFT;
    BUG_ON(pml4_phys >> 32);
    tr_put32(tr_cr3, (uint32_t)pml4_phys);
    tr_put32(tr_cr4, (uint32_t)read_cr4());
    tr_put32(tr_cr0, (uint32_t)(read_cr0() & ~8ULL)); /* not TS */
    tr_put64(tr_efer, rdmsr(MSR_EFER) & ~(1ULL << 10)); /* LMA is the CPU's to set */
    tr_put64(tr_entry, (uint64_t)ap_entry_high);
    tr_put64(tr_idle_cr3, virt_to_mfn(idle_pml4) << PAGE_SHIFT);
    return 0;
}

/* ---- the AP side ---- */

static uint64_t bsp_pat;
static volatile int smp_scheduling; /* the APs may run guests */

static void lapic_init_ap(void)
{
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1 << 11)); /* xAPIC enable */
    lapic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);             /* software enable */
    lapic_write(APIC_TPR, 0);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);  /* no timer until the scheduler wants one */
    lapic_write(APIC_LVT_LINT0, LVT_MASKED);  /* the 8259s are the BSP's (and masked) */
    lapic_write(APIC_LVT_ERR, LVT_MASKED);
    lapic_write(APIC_ESR, 0);
}

/* An AP's first C, on its own stack, still with interrupts off: its
 * tables, its LAPIC, then tell the BSP and idle until there is work (an
 * IPI wakes it; today there is none but the ping). */
void ap_start(struct percpu *pc)
{
    wrmsr(0x277, bsp_pat); /* IA32_PAT: the same memory types as the BSP */
    cpu_init_ap(pc);
    lapic_init_ap();
    if (this_cpu() != pc || lapic_id() != pc->apic_id) {
        pc->state = CPU_FAILED; /* the BSP says so */
        for (;;)
            halt();
    }
    apic_timer_init_ap();
    hvm_cpu_up();
    __atomic_store_n(&pc->state, CPU_ONLINE, __ATOMIC_RELEASE);
    /* Idle until the boot CPU has built the boot domains and lets the
     * APs schedule (smp_start_scheduling's IPI). */
    while (!__atomic_load_n(&smp_scheduling, __ATOMIC_ACQUIRE)) {
        sti_hlt();
        this_cpu()->idle_wakeups++;
    }
    big_lock();
    cpu_schedule_from_idle(); /* never returns */
}

void smp_start_scheduling(void)
{
    __atomic_store_n(&smp_scheduling, 1, __ATOMIC_RELEASE);
    if (nr_cpus_online > 1)
        smp_send_ipi_allbutself(VEC_IPI);
}

/* ---- the BSP side ---- */

#define AP_WAIT_MS 1000 /* TCG with 4 vCPUs on 2 host cores is slow */

/* INIT-SIPI-SIPI (Intel SDM vol. 3, 10.4.4; the MP spec's B.4): INIT
 * assert and de-assert, 10 ms, STARTUP, 200 us, STARTUP. 0 once the AP
 * is ONLINE; -1 if it did not get to long mode, -2 if it did but not to
 * ONLINE, -3 if the ICR never went idle. */
static int wake_ap(struct percpu *pc, uint64_t *us)
{
    uint64_t t0 = arch_time_ns();
    uint32_t a = pc->apic_id;
    uint32_t vec = (uint32_t)(tramp_phys >> PAGE_SHIFT);
    int rc = icr_send(a, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    rc |= icr_send(a, ICR_INIT | ICR_LEVEL);
    delay_us(10000);
    rc |= icr_send(a, ICR_STARTUP | vec);
    delay_us(200);
    if (!__atomic_load_n((uint32_t *)TR(tr_alive), __ATOMIC_ACQUIRE))
        rc |= icr_send(a, ICR_STARTUP | vec); /* the second, as the MP spec asks */
    if (rc)
        return -3;
    uint64_t until = arch_time_ns() + AP_WAIT_MS * 1000000ULL;
    while (__atomic_load_n(&pc->state, __ATOMIC_ACQUIRE) == CPU_STARTING &&
           arch_time_ns() < until)
        pause();
    *us = (arch_time_ns() - t0) / 1000;
    if (__atomic_load_n(&pc->state, __ATOMIC_ACQUIRE) == CPU_ONLINE)
        return 0;
    return __atomic_load_n((uint32_t *)TR(tr_alive), __ATOMIC_ACQUIRE) ? -2 : -1;
}

/* INIT puts a CPU in wait-for-SIPI, where it runs nothing and takes no
 * fixed IPI: where every CPU the hv does not run is held, whatever loop
 * the firmware parked it in. */
static void hold_in_init(uint32_t apic_id)
{
    icr_send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    icr_send(apic_id, ICR_INIT | ICR_LEVEL);
}

/* smp_test_dead_apic=N (tests only): the AP with APIC id N gets a
 * trampoline that halts at its first instruction, as a CPU that never
 * answers would, to show the boot goes on without it. */
static uint32_t test_dead_apic = ~0u;

/* Start the AP with this MADT entry as cpu number nr_cpus_online. */
static int start_ap(const struct madt_cpu *c)
{
    unsigned int cpu = nr_cpus_online;
    struct percpu *pc = &percpu[cpu];
    memset(pc, 0, sizeof(*pc));
    pc->cpu_id = cpu;
    pc->apic_id = c->apic_id;
    pc->acpi_uid = c->acpi_uid;
    int64_t s = mm_alloc_frames(DOMID_HV_OWNED, PERCPU_STACK_ORDER); /* aligned to its size */
    if (s < 0 || cpu_prepare_ap(pc)) {
        printk("smp: no memory for cpu%u (apic %u): not started\n", cpu, c->apic_id);
        if (s >= 0)
            for (uint64_t m = 0; m < (1u << PERCPU_STACK_ORDER); m++)
                mm_free_frame((uint64_t)s + m);
        return -1;
    }
    pc->stacks = mfn_to_virt((uint64_t)s);
    *(struct percpu **)(pc->stacks + PERCPU_STACK_TOP) = pc;
    tr_put64(tr_stack, (uint64_t)(pc->stacks + PERCPU_STACK_TOP));
    tr_put64(tr_percpu, (uint64_t)pc);
    tr_put32(tr_alive, 0);
    static const uint8_t dead[3] = { 0xf4, 0xeb, 0xfd }; /* 1: hlt; jmp 1b */
    if (c->apic_id == test_dead_apic)
        memcpy(tramp, dead, sizeof(dead));
    __atomic_store_n(&pc->state, CPU_STARTING, __ATOMIC_SEQ_CST);
    uint64_t us = 0;
    int rc = wake_ap(pc, &us);
    memcpy(tramp, ap_tramp_start, sizeof(dead));
    if (!rc) {
        printk("smp: cpu%u (apic %u) up in %lu us\n", cpu, c->apic_id, (unsigned long)us);
        nr_cpus_online++;
        cpu_online_mask |= 1ULL << cpu;
        return 0;
    }
    /* Hold it in INIT so it cannot run on later; its stacks and GDT stay
     * allocated in case it ever does. */
    hold_in_init(c->apic_id);
    const char *what = rc == -3 ? "the ICR never went idle"
                       : rc == -1 ? "no answer to INIT-SIPI-SIPI"
                       : pc->state == CPU_FAILED ? "its per-CPU area or APIC id did not check out"
                                                 : "reached long mode but did not come online";
    printk("smp: apic %u: %s within %u ms: skipped\n", c->apic_id, what, AP_WAIT_MS);
    pc->state = CPU_FAILED;
    return -1;
}

/* Ping each AP with VEC_IPI, then all of them at once; each counts it. */
static void ipi_selfcheck(void)
{
    unsigned int n = nr_cpus_online, bad = 0;
    if (n < 2)
        return;
    for (unsigned int cpu = 1; cpu < n; cpu++) {
        uint64_t before = percpu[cpu].ipi_count;
        smp_send_ipi(cpu, VEC_IPI);
        uint64_t until = arch_time_ns() + 100000000ULL;
        while (percpu[cpu].ipi_count == before && arch_time_ns() < until)
            pause();
        if (percpu[cpu].ipi_count == before) {
            printk("smp: IPI ping to cpu%u (apic %u) not answered within 100 ms\n", cpu,
                   percpu[cpu].apic_id);
            bad++;
        }
    }
    uint64_t before[NR_CPUS];
    for (unsigned int cpu = 1; cpu < n; cpu++)
        before[cpu] = percpu[cpu].ipi_count;
    smp_send_ipi_allbutself(VEC_IPI);
    uint64_t until = arch_time_ns() + 100000000ULL;
    unsigned int got;
    for (;;) {
        got = 0;
        for (unsigned int cpu = 1; cpu < n; cpu++)
            got += percpu[cpu].ipi_count != before[cpu];
        if (got == n - 1 || arch_time_ns() > until)
            break;
        pause();
    }
    if (got < n - 1) {
        printk("smp: IPI to all but self answered by %u of %u CPUs\n", got, n - 1);
        bad++;
    }
    if (!bad) {
        if (n == 2)
            printk("smp: IPI ping to cpu1 answered (to it, and to all but self)\n");
        else
            printk("smp: IPI ping to cpu1..%u answered (to each, and to all but self)\n", n - 1);
    }
}

static const void *acpi_map(void *ctx, uint64_t phys, uint64_t len)
{
    (void)ctx;
    uint64_t top = (uint64_t)BOOT_MAP_GIB << 30;
    if (phys >= top || len > top - phys)
        return NULL; /* outside the direct map */
    return (const void *)(DIRECTMAP_BASE + phys);
}

static struct madt_info madt;

void smp_init(const struct xl_bootinfo *bi, unsigned int maxcpus, uint32_t dead_apic)
{
    test_dead_apic = dead_apic;
    /* this_cpu() on the boot CPU's kernel stack and its IST block */
    uint8_t *ist = percpu[0].stacks + PERCPU_IST1_TOP - 64;
    if (this_cpu() != &percpu[0] ||
        *(struct percpu **)(((uintptr_t)ist | (PERCPU_STACK_SIZE - 1)) - 15) != &percpu[0])
        panic("this_cpu() does not find the boot CPU's per-CPU area");
    lapic = (volatile uint32_t *)(DIRECTMAP_BASE + (rdmsr(MSR_APIC_BASE) & ~0xfffULL));
    percpu[0].apic_id = lapic_id();
    bsp_pat = rdmsr(0x277);
    if (maxcpus < 1)
        maxcpus = 1;
    const char *why = "";
    if (acpi_read_madt(acpi_map, NULL, bi->rsdp, &madt, &why)) {
        printk("acpi: MADT refused: %s\n", why);
        printk("smp: 1 CPU online (no usable MADT: the boot CPU only)\n");
        return;
    }
    unsigned int enabled = 0;
    for (unsigned int i = 0; i < madt.nr_cpus; i++)
        enabled += madt.cpus[i].enabled;
    printk("acpi: MADT: %u processors (%u enabled), %u I/O APIC%s, %u overrides, local APIC "
           "at %#lx\n", madt.nr_cpus, enabled, madt.nr_ioapics, madt.nr_ioapics == 1 ? "" : "s",
           madt.nr_overrides, (unsigned long)madt.lapic_addr);
    for (unsigned int i = 0; i < madt.nr_ioapics; i++)
        printk("acpi: I/O APIC %u at %#x, GSI %u..\n", madt.ioapics[i].id, madt.ioapics[i].addr,
               madt.ioapics[i].gsi_base);
    if (madt.cpus_dropped)
        printk("acpi: %u more processors than the %u the hv tracks: ignored\n",
               madt.cpus_dropped, MADT_MAX_CPUS);
    uint64_t msr_base = rdmsr(MSR_APIC_BASE) & ~0xfffULL & ((1ULL << 52) - 1);
    if (madt.lapic_addr != msr_base)
        printk("acpi: MADT says local APIC at %#lx, the CPU at %#lx: using the CPU's\n",
               (unsigned long)madt.lapic_addr, (unsigned long)msr_base);
    int bsp_found = 0;
    for (unsigned int i = 0; i < madt.nr_cpus; i++) {
        if (madt.cpus[i].apic_id == percpu[0].apic_id) {
            percpu[0].acpi_uid = madt.cpus[i].acpi_uid;
            bsp_found = 1;
        }
    }
    if (!bsp_found)
        printk("smp: the boot CPU (apic %u) is not in the MADT\n", percpu[0].apic_id);
    printk("smp: cpu0 (apic %u) is the boot CPU\n", percpu[0].apic_id);
    if (tramp_init(bi)) {
        printk("smp: no free page below 640 KiB for the AP trampoline: the boot CPU only\n");
        printk("smp: 1 CPU online\n");
        return;
    }
    printk("smp: AP trampoline at %#lx (%lu bytes, STARTUP vector %#lx)\n",
           (unsigned long)tramp_phys, (unsigned long)(ap_tramp_end - ap_tramp_start),
           (unsigned long)(tramp_phys >> PAGE_SHIFT));
    unsigned int not_enabled = 0, over_max = 0, failed = 0;
    for (unsigned int i = 0; i < madt.nr_cpus; i++) {
        const struct madt_cpu *c = &madt.cpus[i];
        if (c->apic_id == percpu[0].apic_id)
            continue;
        if (!c->enabled) {
            not_enabled++; /* online-capable: for hot-plug, later */
            continue;
        }
        if (nr_cpus_online >= maxcpus || nr_cpus_online >= NR_CPUS) {
            if (c->apic_id <= 254)
                hold_in_init(c->apic_id);
            over_max++;
            continue;
        }
        if (c->apic_id > 254) {
            printk("smp: apic %u needs x2APIC mode, which the hv does not use yet: skipped\n",
                   c->apic_id);
            failed++;
            continue;
        }
        failed += start_ap(c) != 0;
    }
    char extra[160] = "";
    size_t l = 0;
    if (over_max)
        l += (size_t)xl_snprintf(extra + l, sizeof(extra) - l,
                                 ", %u held in INIT (maxcpus=%u)", over_max, maxcpus);
    if (not_enabled && l < sizeof(extra))
        l += (size_t)xl_snprintf(extra + l, sizeof(extra) - l, ", %u online-capable not started",
                                 not_enabled);
    if (failed && l < sizeof(extra))
        xl_snprintf(extra + l, sizeof(extra) - l, ", %u failed", failed);
    printk("smp: %u CPU%s online%s\n", nr_cpus_online, nr_cpus_online == 1 ? "" : "s", extra);
    ipi_selfcheck();
}
