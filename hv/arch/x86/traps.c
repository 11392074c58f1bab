/*
 * traps.c - the C side of every entry into the hv (entry.S): hypercalls,
 * guest exceptions, interrupts, and faults of the hv itself.
 * Owns: the decision of what an entry means. Must never: let a guest
 * event panic the hv — a guest fault crashes only that guest.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/percpu.h>
#include <xenolith/pirq.h>
#include <xenolith/power.h>
#include <xenolith/serial.h>
#include <xenolith/tlbflush.h>
#include <xenolith/guest_access.h>

extern uint8_t hv_stack_bottom[], hv_stack_top[];
extern uint64_t idle_pml4[512];
void timer_interrupt(void);
void cpu_leave_guest_pt(void);

static void dump_regs(const struct cpu_regs *r)
{
    printk("  rip %016lx  cs %04lx  rflags %016lx\n", r->rip, r->cs, r->rflags);
    printk("  rsp %016lx  ss %04lx  error %lx  cr2 %016lx\n", r->rsp, r->ss, r->error_code,
           read_cr2());
    printk("  rax %016lx  rbx %016lx  rcx %016lx\n", r->rax, r->rbx, r->rcx);
    printk("  rdx %016lx  rsi %016lx  rdi %016lx\n", r->rdx, r->rsi, r->rdi);
    printk("  rbp %016lx  r8  %016lx  r9  %016lx\n", r->rbp, r->r8, r->r9);
    printk("  r10 %016lx  r11 %016lx  r12 %016lx\n", r->r10, r->r11, r->r12);
    printk("  r13 %016lx  r14 %016lx  r15 %016lx\n", r->r13, r->r14, r->r15);
    printk("  cr0 %016lx  cr3 %016lx  cr4 %016lx\n", read_cr0(), read_cr3(), read_cr4());
}

/* Walk saved frame pointers while they stay inside this CPU's kernel
 * stack (cpu 0: entry.S's hv_stack; the others: their stack block). */
static void stack_trace(uint64_t rbp, uint64_t rip)
{
    const struct percpu *pc = this_cpu();
    uint64_t lo = (uint64_t)hv_stack_bottom, hi = (uint64_t)hv_stack_top;
    if (pc->cpu_id && pc->stacks) {
        lo = (uint64_t)pc->stacks + PERCPU_IST2_TOP;
        hi = (uint64_t)pc->stacks + PERCPU_STACK_TOP;
    }
    printk("stack trace (addr2line -e build/hv/xenolith.elf):\n");
    printk("  [<%016lx>]\n", rip);
    for (int depth = 0; depth < 32; depth++) {
        if (rbp < lo || rbp + 16 > hi || (rbp & 7))
            break;
        uint64_t *f = (uint64_t *)rbp;
        printk("  [<%016lx>]\n", f[1]);
        rbp = f[0];
    }
}

/* The watchdog's NMI dump of this CPU (smp.c): the interrupted frame,
 * and the hv stack it was on. */
void dump_cpu_state(const struct cpu_regs *r);
void dump_cpu_state(const struct cpu_regs *r)
{
    dump_regs(r);
    if (!regs_from_guest(r))
        stack_trace(r->rbp, r->rip);
}

void arch_dump_stack(void)
{
    stack_trace(read_rbp(), (uint64_t)__builtin_return_address(0));
}

static void hv_fault(struct cpu_regs *r)
{
    printk("\n");
    printk("****************************************\n");
    printk("PANIC: hypervisor fault %s (vector %lu) at %016lx on cpu%u\n",
           x86_vector_name(r->vector), r->vector, r->rip, this_cpu()->cpu_id);
    printk("invariant broken: the hypervisor never faults in its own code\n");
    printk("****************************************\n");
    dump_regs(r);
    stack_trace(r->rbp, r->rip);
    printk("hypervisor halted (exit status: panic)\n");
    arch_halt_machine(XL_EXIT_PANIC);
}

static void interrupt(uint64_t vec)
{
    if (vec == VEC_TIMER) {
        timer_interrupt();
    } else if (vec == VEC_SERIAL) {
        serial_interrupt();
        apic_eoi();
    } else if (vec == VEC_IPI) {
        smp_ipi_interrupt();
    } else if (vec >= IRQ_VEC_FIRST && vec <= IRQ_VEC_LAST) {
        physdev_interrupt((unsigned int)vec); /* MSI: edge, so EOI at once */
        apic_eoi();
    } else if (vec != VEC_SPURIOUS) {
        apic_eoi();
    }
}

static int guest_rip_canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFF;
}

/* Guests must stay in ring 3 with interrupts on and IOPL 0, whatever
 * flags they handed the syscall. */
static void sanitize_guest_frame(struct cpu_regs *r)
{
    r->cs = FLAT_KERNEL_CS64;
    r->ss = FLAT_KERNEL_SS64;
    r->rflags = (r->rflags & 0x40dd5) | 0x202; /* arithmetic, TF, DF, AC; IF on */
}

/* ---- arch hooks of the PV CPU (pv_cpu.h) ---- */

void arch_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    cpuid(leaf, sub, r);
}

uint64_t arch_read_cr(unsigned int n)
{
    return n == 0 ? read_cr0() : read_cr4();
}

uint32_t arch_io_in(uint16_t port, unsigned int size)
{
    return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

void arch_io_out(uint16_t port, unsigned int size, uint32_t val)
{
    if (size == 1)
        outb(port, (uint8_t)val);
    else if (size == 2)
        outw(port, (uint16_t)val);
    else
        outl(port, val);
}

void arch_wbinvd(void)
{
    wbinvd();
}

/* Ports the hv drives itself: PICs, PIT, port 0x61, 8042 reset, COM1,
 * QEMU's isa-debug-exit. Guests read ~0 and their writes are dropped. */
int arch_port_reserved(uint16_t port, unsigned int size)
{
    static const uint16_t ranges[][2] = {
        { 0x20, 0x21 }, { 0xa0, 0xa1 }, { 0x40, 0x43 }, { 0x61, 0x61 },
        { 0x64, 0x64 }, { 0x3f8, 0x3ff }, { 0xf4, 0xf7 },
    };
    unsigned int last = port + size - 1;
    for (unsigned int i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (port <= ranges[i][1] && last >= ranges[i][0])
            return 1;
    return 0;
}

/* The guest's data selectors and FS/GS bases live in the CPU while it
 * runs (a guest in user mode may reload %fs/%gs selectors, which changes
 * the bases behind the hv's back). They are not read on every entry nor
 * written on every exit: seg_in_cpu names the vcpu (always `current`)
 * whose copies in v->pv are older than the CPU's, and pv_sync_segments
 * reads them back for whoever needs them (a vcpu switch, set_segment_base,
 * a mode toggle, the MSR emulation, domctl's vcpu context); seg_reload
 * says current's copies changed and go to the CPU on the way out. */
void pv_sync_segments(struct vcpu *v)
{
    struct percpu *pc = this_cpu();
    if (v == pc->seg_in_cpu) {
        v->pv.sel[0] = read_ds();
        v->pv.sel[1] = read_es();
        v->pv.sel[2] = read_fs();
        v->pv.sel[3] = read_gs();
        uint64_t gs = rdmsr(MSR_GS_BASE), shadow = rdmsr(MSR_KERNEL_GS_BASE);
        v->pv.fs_base = rdmsr(MSR_FS_BASE);
        v->pv.gs_base_kernel = v->pv.kernel_mode ? gs : shadow;
        v->pv.gs_base_user = v->pv.kernel_mode ? shadow : gs;
        pc->seg_in_cpu = NULL;
    }
    if (v == pc->curr)
        pc->seg_reload = 1; /* the caller may change them: written on the way out */
}

static void load_guest_bases(const struct vcpu *v)
{
    wrmsr(MSR_FS_BASE, v->pv.fs_base);
    wrmsr(MSR_GS_BASE, v->pv.kernel_mode ? v->pv.gs_base_kernel : v->pv.gs_base_user);
    wrmsr(MSR_KERNEL_GS_BASE, v->pv.kernel_mode ? v->pv.gs_base_user : v->pv.gs_base_kernel);
}

/* CR0.TS as the CPU has it (percpu hw_cr0_ts, -1: not known yet), so the
 * virtual TS of fpu_taskswitch costs a CR0 write only when it changes. */
static void load_guest_ts(struct percpu *pc, const struct vcpu *v)
{
    if (v->pv.cr0_ts == pc->hw_cr0_ts)
        return;
    uint64_t cr0 = read_cr0();
    write_cr0(v->pv.cr0_ts ? (cr0 | 8) : (cr0 & ~8ULL)); /* CR0.TS */
    pc->hw_cr0_ts = v->pv.cr0_ts;
}

/* The CPU's GDT holds the guest's entries of the vcpu that runs, and the
 * CPU's LDT its LDT: copied from its PGT_seg_desc frames when another
 * vcpu's (or a changed) GDT or LDT is needed. Returns 1 if the entries
 * were rewritten. */
static __attribute__((noinline)) int load_guest_gdt_copy(struct percpu *pc,
                                                           const struct vcpu *v)
{
    const uint64_t *frames[PV_GDT_MAX_FRAMES];
    unsigned int nr = (v->pv.gdt_ents + 511) / 512;
    for (unsigned int i = 0; i < nr; i++)
        frames[i] = mfn_to_virt(v->pv.gdt_frames[i]);
    cpu_set_guest_gdt(frames, nr);
    /* The LDT goes with it (same generation): the pages taken so far. */
    const uint64_t *lframes[PV_LDT_MAX_FRAMES];
    unsigned int lnr = (v->pv.ldt_ents * 8 + PAGE_SIZE - 1) / PAGE_SIZE;
    for (unsigned int i = 0; i < lnr; i++)
        lframes[i] = v->pv.ldt_frames[i] ? mfn_to_virt(v->pv.ldt_frames[i]) : NULL;
    cpu_set_guest_ldt(lframes, lnr, v->pv.ldt_ents);
    pc->gdt_vcpu = v;
    pc->gdt_loaded_gen = v->pv.gdt_gen;
    return 1;
}

static inline int load_guest_gdt(struct percpu *pc, const struct vcpu *v)
{
    if (v == pc->gdt_vcpu && v->pv.gdt_gen == pc->gdt_loaded_gen)
        return 0; /* the common case, inline on every way out */
    return load_guest_gdt_copy(pc, v);
}

/* Reload the data segment registers of a vcpu being switched to (Xen's
 * load_segments). A selector whose descriptor is no longer usable (its
 * GDT/LDT entry changed while the vcpu was away) is loaded as null
 * rather than faulting in the hv, and the guest gets its failsafe
 * callback with the selectors it had (Xen). Before the base MSRs are
 * set. Returns 1 if the failsafe frame was written (regs changed), -1 if
 * that crashed the domain, 0 otherwise. */
static int load_guest_selectors(struct vcpu *v)
{
    uint16_t s[4];
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        s[i] = cpu_data_selector_ok(v->pv.sel[i]) ? v->pv.sel[i] : 0;
        bad |= s[i] != v->pv.sel[i];
    }
    load_ds(s[0]);
    load_es(s[1]);
    load_fs(s[2]);
    load_gs(s[3]);
    if (!bad)
        return 0;
    uint16_t had[4];
    memcpy(had, v->pv.sel, sizeof(had));
    memcpy(v->pv.sel, s, sizeof(s));
    return pv_failsafe(v, &v->regs, had) ? -1 : 1;
}

/* Debug registers: the CPU holds a vcpu's DR0-3 and DR7 only while it
 * runs with a breakpoint enabled (Xen's activate_debugregs on the switch
 * in, DR7 cleared on the switch to a vcpu without). A shadow of what the
 * CPU holds keeps the (serialising) writes to changes. DR6 in the CPU is
 * kept at its reset value: a #DB reads and resets it, and its status
 * goes into the guest's virtual DR6 (pv_debug_trap). */
#define WRITE_DR(n, v) __asm__ volatile("mov %0, %%db" #n :: "r"((uint64_t)(v)))

static uint64_t read_dr6(void)
{
    uint64_t v;
    __asm__ volatile("mov %%db6, %0" : "=r"(v));
    return v;
}

static void load_guest_debugregs(struct percpu *pc, const struct vcpu *v)
{
    uint64_t *hw_dr = pc->hw_dr;
#define hw_dr7 (pc->hw_dr7)
    if (!(v->pv.dr7 & PV_DR7_ACTIVE)) {
        if (hw_dr7 & PV_DR7_ACTIVE) {
            WRITE_DR(7, PV_DR7_DEFAULT);
            hw_dr7 = PV_DR7_DEFAULT;
        }
        return;
    }
    if (hw_dr7 != v->pv.dr7 && (hw_dr7 & PV_DR7_ACTIVE)) {
        WRITE_DR(7, PV_DR7_DEFAULT); /* no stale breakpoint while DR0-3 change */
        hw_dr7 = PV_DR7_DEFAULT;
    }
    if (hw_dr[0] != v->pv.dr[0]) WRITE_DR(0, hw_dr[0] = v->pv.dr[0]);
    if (hw_dr[1] != v->pv.dr[1]) WRITE_DR(1, hw_dr[1] = v->pv.dr[1]);
    if (hw_dr[2] != v->pv.dr[2]) WRITE_DR(2, hw_dr[2] = v->pv.dr[2]);
    if (hw_dr[3] != v->pv.dr[3]) WRITE_DR(3, hw_dr[3] = v->pv.dr[3]);
    if (hw_dr7 != v->pv.dr7) {
        WRITE_DR(7, v->pv.dr7);
        hw_dr7 = v->pv.dr7;
    }
#undef hw_dr7
}

/* A #DB: read the CPU's DR6 and put it back to its reset value. */
static uint64_t take_dr6(void)
{
    uint64_t dr6 = read_dr6();
    WRITE_DR(6, PV_DR6_DEFAULT);
    return dr6;
}

/* Eager FPU switch between vcpus: the hv itself never uses x87/SSE
 * (-mno-sse), so the state in the registers always belongs to the vcpu
 * that ran last. CR0.TS may be set for a guest's fpu_taskswitch, so it
 * is cleared around the save/restore and load_guest_ts sets it again. */
/* percpu fpu_owner: whose x87/SSE state is in this CPU's registers;
 * always this CPU's current or NULL, as it is saved when its vcpu stops
 * running here (the vcpu may run on another CPU next). */
static void fpu_switch(struct percpu *pc, struct vcpu *prev, struct vcpu *next)
{
    clts();
    pc->hw_cr0_ts = 0;
    if (prev) /* may be a destroyed domain's slot: static memory, harmless */
        fxsave(prev->pv.fpu);
    if (!next->pv.fpu_initialised) {
        /* What FNINIT + reset MXCSR give: all exceptions masked. */
        memset(next->pv.fpu, 0, sizeof(next->pv.fpu));
        *(uint16_t *)&next->pv.fpu[0] = 0x37f;   /* FCW */
        *(uint32_t *)&next->pv.fpu[24] = 0x1f80; /* MXCSR */
        next->pv.fpu_initialised = 1;
    }
    cpu_fpu_load(next->pv.fpu);
}

/* The top of a crashed guest's stack (read through its own page tables,
 * so a bad rsp prints nothing rather than faulting): return addresses
 * there name the caller, which is what one needs with the kernel's
 * symbols at hand. */
static void dump_guest_stack(struct vcpu *v, uint64_t rsp)
{
    for (unsigned int i = 0; i < 16; i += 4) {
        uint64_t w[4];
        if (copy_from_guest_va(v->cr3, w, rsp + i * 8, sizeof(w)))
            break;
        printk("  stack %016lx: %016lx %016lx %016lx %016lx\n", rsp + i * 8, w[0], w[1],
               w[2], w[3]);
    }
}

/* entry.S builds a guest's frame in place, at the end of the running
 * vcpu's struct cpu_regs: the CPU's syscall stub's frame slot for
 * `syscall`, TSS.rsp0 for the CPU's pushes; the qword above it
 * (v->hv_rsp) tells entry.S this CPU's kernel stack. Moved whenever
 * another vcpu is about to run on this CPU. */
_Static_assert(__builtin_offsetof(struct vcpu, hv_rsp) ==
                   __builtin_offsetof(struct vcpu, regs) + sizeof(struct cpu_regs),
               "entry.S finds hv_rsp right above the in-place frame");

static void set_guest_frame(struct percpu *pc, struct vcpu *v)
{
    uint64_t top = (uint64_t)(&v->regs + 1);
    v->hv_rsp = pc->hv_stack_top;
    cpu_set_syscall_frame(top);
    cpu_set_rsp0(top);
}

/* CR3 and the TLB-shootdown masks: this CPU holds v's domain's tables
 * (d->dirty_cpumask, cpu_guest_pt_mask), or the idle tables. Under the
 * big lock, so a CPU flushing others sees a mask that cannot grow. */
static void load_guest_pt(struct percpu *pc, struct vcpu *v)
{
    uint64_t bit = 1ULL << pc->cpu_id;
    if (pc->pt_domain != v->domain) {
        if (pc->pt_domain)
            pc->pt_domain->dirty_cpumask &= ~bit;
        v->domain->dirty_cpumask |= bit;
        pc->pt_domain = v->domain;
        cpu_guest_pt_mask |= bit;
    }
    if (read_cr3() != v->cr3)
        arch_switch_cr3(v->cr3);
}

void cpu_leave_guest_pt(void)
{
    struct percpu *pc = this_cpu();
    uint64_t bit = 1ULL << pc->cpu_id;
    uint64_t idle = virt_to_mfn(idle_pml4) << PAGE_SHIFT;
    if (read_cr3() != idle)
        arch_switch_cr3(idle); /* a full flush: nothing of a guest stays */
    if (pc->pt_domain)
        pc->pt_domain->dirty_cpumask &= ~bit;
    pc->pt_domain = NULL;
    cpu_guest_pt_mask &= ~bit;
}

/* A CPU whose registers hold the x87/SSE state of a vcpu of d (its
 * fpu_owner) forgets it: the slot is reused by the next domain, whose
 * vcpu must never find itself the owner of state it did not leave there
 * (it would run with d's registers; a CPU that reaped d set its current
 * to NULL without switch_out). Big lock held; the other CPUs are not
 * running d. */
void arch_forget_domain_cpu_state(const struct domain *d)
{
    for (unsigned int c = 0; c < nr_cpus_online; c++) {
        struct vcpu *o = percpu[c].fpu_owner;
        if (o && o->domain == d)
            percpu[c].fpu_owner = NULL;
    }
}

/* v stops running on this CPU (it may run on another next): what of it
 * the CPU holds goes back into v - its segments, its x87/SSE state. */
static void switch_out(struct percpu *pc, struct vcpu *v)
{
    pv_sync_segments(v);
    if (pc->fpu_owner == v) {
        clts();
        pc->hw_cr0_ts = 0;
        fxsave(v->pv.fpu);
        pc->fpu_owner = NULL;
    }
}

/* Nothing to run: give the vcpu that ran here back, leave the guest's
 * tables, drop the big lock and halt until an interrupt (a wake-up IPI,
 * the LAPIC timer), then take the lock again. */
void arch_idle_wait(void)
{
    struct percpu *pc = this_cpu();
    uint64_t bit = 1ULL << pc->cpu_id;
    if (pc->curr) {
        switch_out(pc, pc->curr);
        pc->curr = NULL;
    }
    cpu_leave_guest_pt();
    __atomic_or_fetch(&cpu_idle_mask, bit, __ATOMIC_ACQ_REL);
    pc->hv_since = 0;
    big_unlock();
    sti_hlt(); /* an IPI sent after the unlock is taken here, not lost */
    pc->idle_wakeups++;
    pc->hv_since = rdtsc();
    big_lock();
    __atomic_and_fetch(&cpu_idle_mask, ~bit, __ATOMIC_ACQ_REL);
}

/* Leave the hv for a guest frame: the watchdog's clock stops, the big
 * lock goes (interrupts stay off until the iretq). */
static struct cpu_regs *leave_to(struct percpu *pc, struct cpu_regs *r)
{
    pc->hv_since = 0;
    big_unlock_here(pc);
    return r;
}

/* The last of v's state before it runs on this CPU (its page tables and
 * GDT already loaded): segment bases if the hv changed them, CR0.TS and
 * the debug registers where they differ, its frame made safe to return
 * through. */
static inline __attribute__((always_inline)) void load_guest_rest(struct percpu *pc,
                                                                  struct vcpu *v)
{
    if (pc->seg_reload) {
        load_guest_bases(v);
        pc->seg_reload = 0;
    }
    pc->seg_in_cpu = v;
    load_guest_ts(pc, v);
    load_guest_debugregs(pc, v);
    sanitize_guest_frame(&v->regs);
}

/* Back to v, running on this CPU with its page tables loaded: the rest
 * of its state reloaded where it changed (GDT/LDT copy, segment bases,
 * CR0.TS, debug registers), its frame made safe to return through. */
static inline __attribute__((always_inline)) struct cpu_regs *leave_reloaded(struct percpu *pc,
                                                                             struct vcpu *v)
{
    if (v != pc->gdt_vcpu || v->pv.gdt_gen != pc->gdt_loaded_gen)
        load_guest_gdt(pc, v);
    load_guest_rest(pc, v);
    return leave_to(pc, &v->regs);
}

/* ---- HVM vcpus: they run in hvm.c's loop, on this CPU's stack ----
 * The scheduler's pick of an HVM vcpu leaves through a ring-0 frame that
 * starts hvm_vcpu_loop on a fresh kernel stack (the loop leaves the same
 * way, through schedule_and_switch, when another vcpu is to run). The hv
 * runs on its idle page tables meanwhile: VMRUN/VMLAUNCH load the guest's
 * paging, the exit the hv's. */
static struct cpu_regs *schedule_and_switch(struct percpu *pc, struct vcpu *entered,
                                            struct vcpu *first);
static struct cpu_regs hvm_loop_frame[NR_CPUS] __attribute__((aligned(16)));

static __attribute__((noinline)) struct cpu_regs *hvm_switch_in(struct percpu *pc,
                                                                 struct vcpu *next)
{
    if (next != pc->curr) {
        if (pc->curr)
            switch_out(pc, pc->curr);
        pc->curr = next;
        pc->seg_reload = 1; /* a PV vcpu after it reloads its segment bases */
    }
    if (next != pc->fpu_owner || !next->pv.fpu_initialised) {
        fpu_switch(pc, pc->fpu_owner, next);
        pc->fpu_owner = next;
    }
    cpu_leave_guest_pt();
    load_guest_debugregs(pc, next); /* DR0-3 of a PV vcpu never reach the guest */
    struct cpu_regs *f = &hvm_loop_frame[pc->cpu_id];
    memset(f, 0, sizeof(*f));
    f->rip = (uint64_t)hvm_vcpu_loop;
    f->cs = HV_CS;
    f->rflags = 0x2; /* interrupts off: the loop lets them in around VMRUN */
    f->rsp = pc->hv_stack_top - 8; /* as after a call */
    f->ss = HV_DS;
    return leave_to(pc, f);
}

void hvm_leave_to_scheduler(struct vcpu *v)
{
    enter_frame(schedule_and_switch(this_cpu(), v, NULL));
}

/* DR0-3 are not switched by VMRUN/VM entry: the guest's own go in right
 * before it runs and come out right after, DR7 goes back to disabled (no
 * guest breakpoint stays armed in the hv), and this CPU's cache of what
 * its registers hold says so (a PV vcpu next reloads its own). */
#define READ_DR(n) ({ uint64_t _v; __asm__ volatile("mov %%db" #n ", %0" : "=r"(_v)); _v; })
void arch_hvm_debugregs_enter(struct vcpu *v)
{
    WRITE_DR(0, v->hvm.dr[0]);
    WRITE_DR(1, v->hvm.dr[1]);
    WRITE_DR(2, v->hvm.dr[2]);
    WRITE_DR(3, v->hvm.dr[3]);
}

void arch_hvm_debugregs_exit(struct vcpu *v)
{
    struct percpu *pc = this_cpu();
    WRITE_DR(7, PV_DR7_DEFAULT);
    v->hvm.dr[0] = pc->hw_dr[0] = READ_DR(0);
    v->hvm.dr[1] = pc->hw_dr[1] = READ_DR(1);
    v->hvm.dr[2] = pc->hw_dr[2] = READ_DR(2);
    v->hvm.dr[3] = pc->hw_dr[3] = READ_DR(3);
    pc->hw_dr7 = PV_DR7_DEFAULT;
}

void arch_hvm_exit_begin(void)
{
    struct percpu *pc = this_cpu();
    pc->hv_since = rdtsc();
    big_lock_here(pc);
}

void arch_hvm_exit_end(void)
{
    struct percpu *pc = this_cpu();
    pc->hv_since = 0;
    big_unlock_here(pc);
}

uint64_t arch_read_tsc(void)
{
    return rdtsc();
}

/* The full path (big lock held): pick a vcpu (idling while none can
 * run), deliver what it has pending, switch it in. entered: the vcpu
 * whose entry this is (NULL from idle); first: a vcpu already picked. */
static struct cpu_regs *schedule_and_switch(struct percpu *pc, struct vcpu *entered,
                                            struct vcpu *first)
{
    struct vcpu *next;
again:
    for (;;) {
        if (first) {
            next = first;
            first = NULL;
        } else {
            while (!(next = sched_pick_next()))
                sched_idle_or_halt();
        }
        if (next->domain->hvm) {
            if (next->domain->state == DOM_RUNNING && !next->hvm.vmcb)
                domain_crash(next->domain, "d%u v%u: HVM vcpu up without a control block",
                             next->domain->domid, next->id);
            if (next->domain->state == DOM_RUNNING)
                return hvm_switch_in(pc, next);
            if (next != pc->curr)
                next->running = 0;
            continue;
        }
        /* Delivery may crash next (bad stack, no handler): pick again. */
        pv_return_to_guest(next, &next->regs);
        /* Backstop: iretq to a non-canonical rip faults in ring 0 on
         * Intel. pv_return_to_guest turns one into a guest #GP, so this
         * only fires if that ever fails: the guest dies, never the hv.
         * (A non-canonical rsp is loaded by iretq without a check; the
         * guest's next stack access faults in ring 3.) */
        if (next->domain->state == DOM_RUNNING && !guest_rip_canonical(next->regs.rip))
            domain_crash(next->domain, "return to non-canonical rip %016lx refused",
                         next->regs.rip);
        if (next->domain->state == DOM_RUNNING)
            break;
        if (next != pc->curr)
            next->running = 0; /* picked, but never switched in */
    }
    if (next != pc->curr) {
        if (pc->curr)
            switch_out(pc, pc->curr); /* what it left in the CPU, before another's */
        pc->curr = next;
        pc->seg_reload = 1;
        set_guest_frame(pc, next);
    }
    /* A reused domain slot starts uninitialised: never inherit state. */
    if (next != pc->fpu_owner || !next->pv.fpu_initialised) {
        fpu_switch(pc, pc->fpu_owner, next);
        pc->fpu_owner = next;
    }
    load_guest_pt(pc, next); /* inline: every return to a guest passes here */
    /* The CPU keeps the descriptors its segment registers cached when the
     * GDT/LDT copy changes under the running vcpu (as under Xen); they are
     * reloaded only when another vcpu ran in between. */
    load_guest_gdt(pc, next);
    if (next != entered) {
        int fs = load_guest_selectors(next);
        if (fs < 0)
            goto again; /* no failsafe possible: the domain is crashed */
        if (fs > 0 && read_cr3() != next->cr3)
            arch_switch_cr3(next->cr3); /* the failsafe moved it to kernel mode */
    }
    load_guest_rest(pc, next);
    smp_test_maybe_hang();
    return leave_to(pc, &next->regs);
}

/* The boot CPU's first guest (setup.c picked it), big lock held. */
void arch_enter_first_guest(struct vcpu *v)
{
    struct percpu *pc = this_cpu();
    pc->hv_since = rdtsc();
    enter_frame(schedule_and_switch(pc, NULL, v));
}

void cpu_schedule_from_idle(void)
{
    struct percpu *pc = this_cpu();
    pc->hv_since = rdtsc();
    enter_frame(schedule_and_switch(pc, NULL, NULL));
}

/* Does anything stop v from going straight back (trap_entry's fast-path
 * conditions, as one or of the words that say so): scheduler work for
 * this CPU, v not allowed to run (domain state, pause, vcpu not up,
 * blocked or yielded), a bounce or upcall to deliver, a rip iretq would
 * fault on. */
static inline int hypercall_exit_needs_work(const struct percpu *pc, const struct vcpu *v)
{
    const struct domain *d = v->domain;
    uint64_t rip = v->regs.rip;
    uint64_t work = (sched_work_pending >> pc->cpu_id & 1) |
                    (uint64_t)(d->state ^ DOM_RUNNING) | d->pause_count |
                    (uint64_t)!v->initialised | (uint64_t)!v->online | v->blocked |
                    v->ev.yielded | v->pv.tb.pending |
                    ((uint64_t)((int64_t)(rip << 16) >> 16) ^ rip); /* non-canonical */
    if (work)
        return 1;
    return v->info->evtchn_upcall_pending && !v->info->evtchn_upcall_mask;
}

/* Back to v, the vcpu that entered, when nothing else needs doing: no
 * scheduler or timer work for this CPU, v may go on running, no bounce
 * pending and no upcall to deliver. The exit half of trap_entry's fast
 * path: reloads only what changed. NULL if not possible. */
static struct cpu_regs *resume_entered(struct percpu *pc, struct vcpu *v)
{
    if (hypercall_exit_needs_work(pc, v))
        return NULL;
    if (pc->pt_domain != v->domain || read_cr3() != v->cr3)
        load_guest_pt(pc, v); /* a bounce from user mode switched to the kernel table */
    return leave_reloaded(pc, v);
}

/* A guest exception (vector < 32; r as entry.S saved it, v->regs a copy
 * of it), big lock held. One the guest gets as the CPU raised it goes
 * to its trap table handler at once and, when nothing else waits, v goes
 * straight back to it: the frame to leave through. Others are emulated
 * or queued (pv_guest_exception); NULL: trap_entry's exit goes on. */
static struct cpu_regs *guest_exception(struct percpu *pc, struct vcpu *v, struct cpu_regs *r)
{
    if (pv_reflect_exception(v, &v->regs)) {
        if (v->domain->state == DOM_RUNNING)
            return resume_entered(pc, v);
    } else {
        if (r->vector == 1)
            pv_debug_trap(v, take_dr6());
        pv_guest_exception(v, &v->regs, read_cr2());
    }
    if (v->domain->state != DOM_RUNNING) {
        printk("d%u registers:\n", v->domain->domid);
        dump_regs(r);
        dump_guest_stack(v, r->rsp);
    }
    return NULL;
}

struct cpu_regs *trap_entry(struct cpu_regs *r)
{
    struct percpu *pc = this_cpu();
    if (r->vector == 2) {
        /* NMI (IST1), from a guest or the hv: never the big lock. During
         * a watchdog panic it dumps this CPU and stops; otherwise it is
         * ignored and the interrupted code resumes from the IST frame. */
        smp_nmi(r);
        return r;
    }
    if (__atomic_load_n(&pc->flush_req, __ATOMIC_ACQUIRE) != pc->flush_done)
        smp_flush_service(pc);
    if (!regs_from_guest(r)) {
        if (r->vector == 1) {
            /* Guests point DR0-3 only at guest addresses, which the hv
             * reaches through the direct map, so this should not happen;
             * if it does (a data breakpoint, a trap) it is restartable:
             * note it and go on, as Xen does. */
            /* (QEMU's TCG can leave an HVM guest's breakpoint armed in
             * the hv after #VMEXIT: logged a few times, then counted.) */
            static uint64_t hv_db_count;
            uint64_t dr6 = take_dr6();
            if (++hv_db_count <= 4 || !(hv_db_count & (hv_db_count - 1)))
                printk("#DB in hv context at %016lx, dr6 %lx: ignored (%lu so far)\n", r->rip,
                       (unsigned long)dr6, (unsigned long)hv_db_count);
            r->rflags |= 1ULL << 16; /* RF: an instruction breakpoint must not fire again */
            return r;
        }
        if (r->vector < 32)
            hv_fault(r);
        /* An interrupt in hv context comes only in the idle loop's hlt,
         * where this CPU does not hold the big lock. */
        if (big_lock_held_here())
            panic("interrupt %lu in hv context with the big lock held", r->vector);
        uint64_t since = pc->hv_since;
        pc->hv_since = rdtsc();
        big_lock();
        interrupt(r->vector);
        big_unlock();
        pc->hv_since = since;
        return r;
    }
    pc->hv_since = rdtsc();
    if (r->vector == VEC_TIMER)
        smp_watchdog_check(pc); /* lock-free: a CPU stuck with the lock shows here */
    big_lock_here(pc);
    struct vcpu *v = pc->curr;
    BUG_ON(!v);
    if (r != &v->regs)
        v->regs = *r; /* an IST entry (#DB, #MC): not built in place */
    /* (a `syscall` never comes here: entry.S sends it to hypercall_entry) */
    if (r->vector < 32) {
        struct cpu_regs *out = guest_exception(pc, v, r);
        if (out)
            return out;
    } else {
        interrupt(r->vector);
    }

    /* Fast path: nothing changed scheduling or timer state (no
     * sched_work_pending for this CPU) and v may keep running: back to
     * it with its pending bounce or upcall, reloading only what changed.
     * No scheduler pass, no clock read, no LAPIC write. */
    if (!sched_work_pending_here() && domain_vcpu_may_run(v) && !v->blocked && !v->ev.yielded) {
        if (v->pv.tb.pending || !guest_rip_canonical(v->regs.rip) ||
            (v->info->evtchn_upcall_pending && !v->info->evtchn_upcall_mask))
            pv_return_to_running(v); /* something to deliver */
        if (v->domain->state == DOM_RUNNING && guest_rip_canonical(v->regs.rip)) {
            /* the full path's CR3 bookkeeping, never a bare CR3 write:
             * whatever this call did to CR3, the CPU must not run a
             * guest's tables outside its shootdown masks */
            load_guest_pt(pc, v);
            return leave_reloaded(pc, v);
        }
        /* a bounce crashed it (or a non-canonical rip): the full path */
    }
    return schedule_and_switch(pc, v, NULL);
}

/* ---- the hypercall path: a guest's `syscall` (entry.S's hypercall_common) ----
 * Kept apart from trap_entry: no NMI, IST or hv-context cases (a syscall
 * always comes from a guest, its frame built in place in the running
 * vcpu's regs), the big lock taken inline, and one test on the way out
 * for whether anything at all needs more than a straight return. */

/* The slow way out of a hypercall: trap_entry's fast path with its
 * delivery (bounce, upcall, bad rip), else the full path. NULL: v goes
 * straight back after all (the caller reloads what changed). */
static __attribute__((noinline)) struct cpu_regs *hypercall_exit_slow(struct percpu *pc,
                                                                      struct vcpu *v)
{
    if (!(sched_work_pending >> pc->cpu_id & 1) && domain_vcpu_may_run(v) && !v->blocked &&
        !v->ev.yielded) {
        pv_return_to_running(v); /* delivers whatever is due (as trap_entry's) */
        if (v->domain->state == DOM_RUNNING && guest_rip_canonical(v->regs.rip))
            return NULL;
        /* a bounce crashed it (or a non-canonical rip): the full path */
    }
    return schedule_and_switch(pc, v, NULL);
}

struct cpu_regs *hypercall_entry(struct cpu_regs *r);
struct cpu_regs *hypercall_entry(struct cpu_regs *r)
{
    struct percpu *pc = this_cpu();
    if (__atomic_load_n(&pc->flush_req, __ATOMIC_ACQUIRE) != pc->flush_done)
        smp_flush_service(pc);
    pc->hv_since = rdtsc();
    big_lock_here(pc);
    struct vcpu *v = pc->curr;
    BUG_ON(!v);
    if (__builtin_expect(r != &v->regs, 0))
        v->regs = *r; /* never: the syscall stub builds in place */
    if (__builtin_expect(v->pv.kernel_mode, 1))
        v->regs.rax = (uint64_t)hypercall_from_frame(v, &v->regs);
    else
        pv_syscall_from_user(v, &v->regs); /* never a hypercall from user mode */

    if (__builtin_expect(hypercall_exit_needs_work(pc, v), 0)) {
        struct cpu_regs *out = hypercall_exit_slow(pc, v);
        if (out)
            return out; /* schedule_and_switch dropped the lock */
    }
    /* Straight back: what trap_entry's fast path reloads, each only if
     * it changed (the handler may have switched CR3, the GDT, TS, the
     * debug registers or the segment bases). */
    if (pc->pt_domain != v->domain || read_cr3() != v->cr3)
        load_guest_pt(pc, v);
    return leave_reloaded(pc, v);
}
