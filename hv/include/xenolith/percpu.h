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

/* CPUs the hv can run (one cpumask_t word, as tlbflush.h). */
#define NR_CPUS 64

#define PERCPU_STACK_ORDER 4
#define PERCPU_STACK_SIZE  (PAGE_SIZE << PERCPU_STACK_ORDER) /* 64 KiB */
#define PERCPU_IST_SIZE    0x2000
#define PERCPU_IST1_TOP    (1 * PERCPU_IST_SIZE)    /* NMI, #DF, #MC */
#define PERCPU_IST2_TOP    (2 * PERCPU_IST_SIZE)    /* #DB */
#define PERCPU_STACK_TOP   (PERCPU_STACK_SIZE - 16) /* rsp0; the pointer slot above */

struct vcpu;

/* A CPU's life: OFFLINE until the BSP starts it, STARTING from the
 * INIT-SIPI-SIPI until it is set up, ONLINE once its tables and LAPIC
 * are and it idles, FAILED if it never got there (the BSP holds it in
 * INIT; the next AP gets the slot). */
enum percpu_state { CPU_OFFLINE, CPU_STARTING, CPU_ONLINE, CPU_FAILED };

struct percpu {
    unsigned int cpu_id;      /* 0: the boot CPU; then in MADT order of those that came up */
    uint32_t apic_id;         /* its local APIC id */
    uint32_t acpi_uid;        /* ACPI processor UID from the MADT */
    volatile uint32_t state;  /* enum percpu_state */
    /* The vcpu this CPU runs. Not used yet: the scheduler and the entry
     * path still use the global `current` (domain.c), which is the boot
     * CPU's. */
    struct vcpu *current;
    uint8_t *stacks;          /* the stack block (see above) */
    uint64_t *gdt;            /* this CPU's GDT (cpu.c: the hv's entries at 0xe000) */
    void *tss;                /* this CPU's TSS (cpu.c) */
    volatile uint64_t ipi_count;   /* VEC_IPI interrupts taken (smp_ipi_interrupt) */
    volatile uint64_t idle_wakeups; /* times an AP's idle loop left hlt */
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

/* cpu.c: give an AP its GDT and TSS (0 or -ENOMEM), and load its
 * descriptor tables and syscall MSRs (on the AP itself). */
int cpu_prepare_ap(struct percpu *pc);
void cpu_init_ap(struct percpu *pc);

#endif
