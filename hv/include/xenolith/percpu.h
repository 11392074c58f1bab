/*
 * percpu.h - per-CPU state: struct percpu, this_cpu(), the CPU table,
 * and the SMP bring-up and IPI interface (hv/arch/x86/smp.c, cpu.c).
 * Owns: the layout of a CPU's stack block (below). Must never: let
 * this_cpu() depend on anything a guest controls (%gs and its base MSRs
 * hold the PV guest's values while the hv runs, so the hv finds its
 * per-CPU area from the stack it runs on, as Xen does).
 *
 * How this_cpu() finds the area: every CPU's stacks are one naturally
 * aligned block of PERCPU_STACK_SIZE bytes,
 *
 *     block + 0       IST1 stack (NMI, #DF, #MC), PERCPU_IST_SIZE
 *     block + 8 KiB   IST2 stack (#DB), PERCPU_IST_SIZE
 *     block + 16 KiB  the CPU's kernel stack (TSS.rsp0), growing down from
 *     block + 64 KiB - 16   PERCPU_STACK_TOP: here lies a struct percpu *
 *
 * so from any address on any of the CPU's stacks, (sp | (SIZE - 1)) - 15
 * is the slot holding its struct percpu pointer: an or, a subtract and a
 * load. The one exception is the boot CPU's kernel stack, which still is
 * entry.S's hv_stack (the syscall entry and enter_frame load its top by
 * name): an address in it means cpu 0. Its IST stacks are in a block of
 * its own (cpu.c), like every other CPU's.
 */
#ifndef XENOLITH_PERCPU_H
#define XENOLITH_PERCPU_H

#include <stdint.h>
#include <xenolith/layout.h>
#include <xenolith/ticketlock.h>

/* CPUs the hv can run (one cpumask_t word, as tlbflush.h). */
#define NR_CPUS 64

#define PERCPU_STACK_ORDER 4
#define PERCPU_STACK_SIZE  (PAGE_SIZE << PERCPU_STACK_ORDER) /* 64 KiB */
#define PERCPU_IST_SIZE    0x2000
#define PERCPU_IST1_TOP    (1 * PERCPU_IST_SIZE)    /* NMI, #DF, #MC */
#define PERCPU_IST2_TOP    (2 * PERCPU_IST_SIZE)    /* #DB */
#define PERCPU_STACK_TOP   (PERCPU_STACK_SIZE - 16) /* rsp0; the pointer slot above */

struct vcpu;
struct domain;

/* A CPU's life: OFFLINE until the BSP starts it, STARTING from the
 * INIT-SIPI-SIPI until it is set up, ONLINE once its tables and LAPIC
 * are and it idles, FAILED if it never got there (the BSP holds it in
 * INIT; the next AP gets the slot). */
enum percpu_state { CPU_OFFLINE, CPU_STARTING, CPU_ONLINE, CPU_FAILED };

/* Bytes of a CPU's syscall entry stub (entry.S's template, copied into
 * its struct percpu: LSTAR points there, and the stub finds the CPU's
 * in-place frame and saved guest %rsp next to its own code, RIP-relative,
 * without %gs, which PV guests own). */
#define SYSCALL_STUB_SIZE 128

struct percpu {
    unsigned int cpu_id;      /* 0: the boot CPU; then in MADT order of those that came up */
    uint32_t apic_id;         /* its local APIC id */
    uint32_t acpi_uid;        /* ACPI processor UID from the MADT */
    volatile uint32_t state;  /* enum percpu_state */
    /* The vcpu this CPU runs (`current`, domain.h), NULL while it idles. */
    struct vcpu *curr;
    uint8_t *stacks;          /* the stack block (see above) */
    uint64_t hv_stack_top;    /* top of its kernel stack (entries from a guest switch to it) */
    uint64_t *gdt;            /* this CPU's GDT (cpu.c: the hv's entries at 0xe000) */
    void *tss;                /* this CPU's TSS (cpu.c) */
    uint64_t *ldt;            /* this CPU's copy of the running vcpu's LDT (cpu.c) */
    unsigned int ldt_ents;    /* entries the loaded LDT has */
    unsigned int guest_gdt_frames; /* frames' worth of guest GDT entries set */
    volatile uint64_t ipi_count;   /* VEC_IPI interrupts taken (smp_ipi_interrupt) */
    volatile uint64_t idle_wakeups; /* times an AP's idle loop left hlt */

    /* What of a vcpu the CPU holds (traps.c): whose segments are in the
     * CPU, whether they go back on the way out, CR0.TS, the GDT/LDT copy
     * and its generation, the debug registers, the x87/SSE owner. */
    struct vcpu *seg_in_cpu;
    int seg_reload;
    int hw_cr0_ts;
    const struct vcpu *gdt_vcpu;
    uint64_t gdt_loaded_gen;
    uint64_t hw_dr[4], hw_dr7;
    struct vcpu *fpu_owner;
    /* The domain whose page tables are in CR3 (NULL: the idle tables):
     * only those can be in this CPU's TLB, as every CR3 write is a full
     * flush (no global pages). */
    struct domain *pt_domain;

    /* The LAPIC timer's deadline as armed (time.c). */
    uint64_t timer_deadline;
    int timer_armed;

    /* TLB shootdown (smp.c): flush_req is bumped by a CPU that needs this
     * one flushed; this CPU flushes and copies it to flush_done. */
    volatile uint64_t flush_req;
    volatile uint64_t flush_done;

    /* Watchdog (smp.c): TSC when it entered the hv from a guest or from
     * idle, 0 while it runs a guest or idles. */
    volatile uint64_t hv_since;

    uint8_t syscall_stub[SYSCALL_STUB_SIZE] __attribute__((aligned(64)));
};

extern struct percpu percpu[NR_CPUS];
extern unsigned int nr_cpus_online; /* percpu[0 .. nr_cpus_online) are ONLINE */

extern uint8_t hv_stack_bottom[]; /* entry.S: the boot CPU's kernel stack */

static inline struct percpu *this_cpu(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (sp - (uintptr_t)hv_stack_bottom < HV_STACK_SIZE)
        return &percpu[0];
    return *(struct percpu **)((sp | (PERCPU_STACK_SIZE - 1)) - 15);
}

struct xl_bootinfo;
/* Find the CPUs in the MADT, start every AP (at most maxcpus CPUs in
 * all, as Xen's maxcpus=), check each answers an IPI. Logs what it does;
 * an AP that does not answer is skipped. After memory_init and
 * apic_init. dead_apic: an APIC id whose start is made to fail (the
 * hv's smp_test_dead_apic= option, for tests), ~0 for none. */
void smp_init(const struct xl_bootinfo *bi, unsigned int maxcpus, uint32_t dead_apic);
/* A fixed IPI of vector to one online CPU / to every CPU but this one. */
void smp_send_ipi(unsigned int cpu, uint8_t vector);
void smp_send_ipi_allbutself(uint8_t vector);
/* The VEC_IPI handler (traps.c): counts it in this_cpu()->ipi_count. */
void smp_ipi_interrupt(void);

/* ---- running guests on every CPU (smp.c, traps.c) ---- */

/* The big hypervisor lock (docs/architecture.md, "Locking"): taken on
 * every entry into hv C code from a guest or an interrupt, dropped just
 * before the return to a guest or the hlt of an idle CPU. A fair ticket
 * lock; interrupts are off while it is held; the spin services TLB-flush
 * requests and checks the watchdog. Never taken from an NMI. */
void big_lock(void);
void big_unlock(void);
int big_lock_held_here(void);
/* The same, inline for the hot entry/exit paths, given this CPU: an
 * uncontended take is one locked add and a compare (big_lock_wait, the
 * spin, only when another CPU holds or waits for it); the release checks
 * this CPU holds it (big_unlock's BUG_ON otherwise). smp.c owns both. */
extern struct ticketlock big_lock_ticket;
extern volatile int big_holder; /* the holder's cpu number, -1: none */
void big_lock_wait(struct percpu *pc, uint32_t ticket);
static inline void big_lock_here(struct percpu *pc)
{
    uint32_t t = ticket_lock_take(&big_lock_ticket);
    if (__builtin_expect(!ticket_lock_mine(&big_lock_ticket, t), 0))
        big_lock_wait(pc, t);
    big_holder = (int)pc->cpu_id;
}
static inline void big_unlock_here(struct percpu *pc)
{
    if (__builtin_expect(big_holder != (int)pc->cpu_id, 0)) {
        big_unlock(); /* panics: not held here */
        return;
    }
    big_holder = -1;
    ticket_lock_release(&big_lock_ticket);
}
/* CPUs halted in the idle loop (bit n: cpu n); they get an IPI when a
 * vcpu may have become runnable (sched.c, vcpu_kick) or cpu 0 must re-arm
 * its timer (sched_raise_work). */
extern volatile uint64_t cpu_idle_mask;
/* Flush this CPU's TLB if another asked, and acknowledge. */
void smp_flush_service(struct percpu *pc);
/* Panic if some CPU has been in the hv for over a second. */
void smp_watchdog_check(struct percpu *self);
/* The watchdog's panic: names cpu, what it did and the invariant, dumps
 * this CPU's stack and, by NMI, every other CPU's registers. */
void smp_watchdog_panic(unsigned int cpu, const char *invariant, const char *what)
    __attribute__((noreturn));
/* NMI (traps.c): 1 if it was a watchdog dump request (never returns
 * then), 0 if none is going on. */
struct cpu_regs;
int smp_nmi(const struct cpu_regs *r);
/* smp_watchdog_ms= (0: keep the default, 1000). */
void smp_set_watchdog_ms(uint64_t ms);
/* smp_test_hang_cpu= (tests only). */
void smp_set_test_hang(unsigned int cpu);
void smp_test_maybe_hang(void);
/* The boot CPU built the boot domains: the APs may schedule now. */
void smp_start_scheduling(void);
/* traps.c: an AP's (or any idle CPU's) way into the scheduler, holding
 * the big lock; enters a guest and never returns. */
void cpu_schedule_from_idle(void) __attribute__((noreturn));
/* time.c: the AP's LAPIC timer, one-shot on VEC_TIMER, disarmed. */
void apic_timer_init_ap(void);

/* cpu.c: give an AP its GDT and TSS (0 or -ENOMEM), and load its
 * descriptor tables and syscall MSRs (on the AP itself). */
int cpu_prepare_ap(struct percpu *pc);
void cpu_init_ap(struct percpu *pc);

#endif
