/*
 * pv_cpu.h - the PV virtual CPU of an x86_64 guest: its trap table,
 * callbacks, kernel stack, segment bases, virtual CR0.TS / IOPL, and the
 * guest-kernel/guest-user mode bit (Xen's TF_kernel_mode).
 * Owns: struct pv_vcpu. Filled by the CPU hypercalls (pv_cpu.c), used by
 * the bounce-frame code (pv_cpu.c), the privileged-instruction emulator
 * (pv_emul.c) and the trap path (hv/arch/x86/traps.c).
 * Must never: give a guest more than ring 3, or let a bad guest value
 * reach the hardware unchecked.
 */
#ifndef XENOLITH_PV_CPU_H
#define XENOLITH_PV_CPU_H

#include <stddef.h>
#include <stdint.h>

struct vcpu;
struct cpu_regs;

/* One virtual IDT entry (Xen's struct trap_info without the vector). */
struct pv_trap {
    uint64_t address;  /* 0: no handler */
    uint16_t cs;
    uint8_t flags;     /* bits 0-1 DPL, bit 2 (PV_TI_IF): mask events on entry */
};
#define PV_TI_DPL(f) ((f) & 3)
#define PV_TI_IF     4

/* Trap-bounce flags (Xen's TBF_*). */
#define PV_TBF_ERRCODE   1 /* push an error code */
#define PV_TBF_INTERRUPT 2 /* mask events (upcall mask) on entry */

/* Guest GDT limits (Xen's FIRST_RESERVED_GDT_PAGE / _ENTRY): the guest
 * owns GDT entries [0, 7168), the hv the ones from selector 0xe000 on. */
#define PV_GDT_MAX_FRAMES 14
#define PV_GDT_MAX_ENTRIES (PV_GDT_MAX_FRAMES * 512)
/* Guest LDT: at most 8192 entries (Xen), 16 frames. */
#define PV_LDT_MAX_ENTRIES 8192
#define PV_LDT_MAX_FRAMES 16

struct pv_vcpu {
    int kernel_mode;             /* 1: guest kernel, 0: guest user */
    struct pv_trap traps[256];   /* set_trap_table */
    uint64_t event_callback;     /* CALLBACKTYPE_event */
    uint64_t failsafe_callback;  /* CALLBACKTYPE_failsafe */
    uint64_t syscall_callback;   /* CALLBACKTYPE_syscall (64-bit user syscall) */
    int syscall_masks_events;    /* CALLBACKF_mask_events on the syscall callback */
    int failsafe_masks_events;
    uint64_t kernel_ss, kernel_sp; /* stack_switch: stack for user->kernel bounces */
    uint64_t fs_base, gs_base_kernel, gs_base_user; /* set_segment_base */
    uint16_t gs_sel_user;        /* SEGBASE_GS_USER_SEL (stored, RPL 3) */
    int cr0_ts;                  /* virtual CR0.TS (fpu_taskswitch) */
    uint64_t cr2;                /* last #PF address delivered (mov from %cr2) */
    uint64_t cr4;                /* guest-controllable CR4 bits it last wrote */
    uint64_t mci_ctl_cleared[2]; /* vMCE banks' CTL, stored inverted (0 = all ones) */
    unsigned int iopl;           /* virtual IOPL 0-3 (PHYSDEVOP_set_iopl) */
    uint64_t vm_assist;          /* VMASST_TYPE_* bits (Xen's per-domain d->vm_assist: the same in every vcpu) */
    /* x87/SSE state (FXSAVE image) while another vcpu owns the FPU. */
    uint8_t fpu[512] __attribute__((aligned(16)));
    int fpu_initialised;         /* fpu[] holds a real image */
    /* Guest GDT (set_gdt, pv_desc.c): frames typed PGT_seg_desc. */
    uint64_t gdt_frames[PV_GDT_MAX_FRAMES];
    unsigned int gdt_ents;       /* 0: no guest GDT */
    uint64_t gdt_gen;            /* changes whenever the GDT's contents may
                                    have (set_gdt, update_descriptor) */
    /* Guest LDT (MMUEXT_SET_LDT, pv_desc.c): what the CPU's LDT copy is
     * made of. A page of the guest's LDT range is taken (typed
     * PGT_seg_desc, like a GDT frame) when a guest selector first needs
     * it (Xen's on-demand LDT mapping); 0 = not taken yet. */
    uint64_t ldt_base;
    unsigned int ldt_ents;       /* 0: no LDT */
    uint64_t ldt_frames[PV_LDT_MAX_FRAMES];
    uint16_t sel[4];             /* %ds %es %fs %gs while not running */
    /* Debug registers (set_debugreg): DR0-3 guest addresses; DR6 kept
     * with positive polarity (value ^ PV_DR6_DEFAULT, so 0 = reset
     * value); DR7 as loaded (bit 10 added on reads). Loaded into the
     * CPU while the vcpu runs if DR7 enables a breakpoint. */
    uint64_t dr[4];
    uint64_t dr6_pos;
    uint64_t dr7;
    /* Translations of guest pages the vcpu's own entries touch (its
     * kernel stack: bounce and iret frames, hypercall arguments), kept
     * as a TLB would (pv_cpu.c, running_frame_at): valid while the TLB
     * flush clock and the invlpg count stand still, on the CPU that made
     * them, for the same page table, and while the leaf entry keeps its
     * value. */
    struct pv_tcache {
        uint64_t clock;          /* tlbflush_clock at the walk; 0: empty */
        uint64_t invlpgs;        /* tlbflush_invlpg_count at the walk */
        uint64_t cr3;
        uint64_t page;           /* guest virtual page */
        uint64_t *leaf;          /* the leaf entry the walk used ... */
        uint64_t pte;            /* ... and its value after the walk */
        uint8_t *hv;             /* the page through the direct map */
        unsigned int cpu;
        int write;               /* walked for a write (writable, Dirty set) */
    } tc[2];
    /* A pending exception bounce, written to the guest stack on return. */
    struct {
        int pending;
        uint8_t vector;
        uint8_t flags;           /* PV_TBF_* */
        uint32_t error_code;
    } tb;
};

/* Architectural reset values of DR6 / DR7 (Xen's X86_DR6_DEFAULT,
 * X86_DR7_DEFAULT) and DR7's enable bits L0-G3. */
#define PV_DR6_DEFAULT 0xffff0ff0ULL
#define PV_DR7_DEFAULT 0x400ULL
#define PV_DR7_ACTIVE  0xffULL

/* A #DB reached the guest with the CPU's DR6 = hw_dr6: merge its status
 * into the guest's virtual DR6 (Xen's x86_merge_dr6: B0-B3 replaced,
 * BD/BS/BT sticky) so get_debugreg(6) reads it. */
void pv_debug_trap(struct vcpu *v, uint64_t hw_dr6);

/* "#PF page fault" etc. for exception vectors 0-31, "reserved" else. */
const char *x86_vector_name(uint64_t v);

/* Point v->cr3 at the page table of the mode v is in (kernel table, or
 * the user table if set and v is in user mode). */
void pv_update_cr3(struct vcpu *v);

/* Switch v between guest kernel and guest user mode: page table and the
 * kernel/user GS bases (Xen's toggle_guest_mode). */
void pv_toggle_mode(struct vcpu *v);

/* Called on every return to a guest: write a pending exception bounce,
 * then deliver a pending, unmasked event upcall, by rewriting regs. May
 * crash the domain (bounce frame unwritable, no handler). */
void pv_return_to_guest(struct vcpu *v, struct cpu_regs *regs);
/* The same for v going back after its own entry, running on this CPU
 * with its domain's page tables loaded (frames through
 * pv_running_frame). */
void pv_return_to_running(struct vcpu *v);

/* Write a bounce frame for handler `target` onto the guest kernel stack
 * and point regs at it (Xen's create_bounce_frame). Returns 0, or
 * crashes the domain and returns -1. */
int pv_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t target, unsigned int flags,
              uint32_t error_code);

/* The guest's data selectors sel[] (ds, es, fs, gs) could not all be
 * loaded as the hv switched to v: bounce to its failsafe callback with
 * Xen's frame (RCX, R11, DS, ES, FS, GS, RIP, CS, RFLAGS, RSP, SS) on its
 * kernel stack. Returns 0, or crashes the domain (no callback, stack not
 * writable) and returns -1. */
int pv_failsafe(struct vcpu *v, struct cpu_regs *regs, const uint16_t sel[4]);

/* Queue hardware exception `vector` (error code used if the vector has
 * one) for delivery through the trap table; cr2 for #PF. Returns 0, or
 * -1 when the guest has no handler (the domain is crashed with a line
 * saying why). */
int pv_inject_exception(struct vcpu *v, struct cpu_regs *regs, unsigned int vector,
                        uint32_t error_code, uint64_t cr2);

/* `syscall` executed in guest user mode: bounce to the syscall callback
 * (#UD if there is none, as Xen 4.17). */
void pv_syscall_from_user(struct vcpu *v, struct cpu_regs *regs);

/* A guest exception (vector < 32) arrived from the CPU: emulate it if it
 * is a privileged instruction or an allowed `int $n`, else bounce it.
 * hw_cr2 is %cr2 at the fault. */
void pv_guest_exception(struct vcpu *v, struct cpu_regs *regs, uint64_t hw_cr2);

/* The exception in regs->vector needs no emulation (int3, #DE, ...: the
 * guest sees it as the CPU raised it) and v has a handler for it: bounce
 * it now (Xen's do_trap + create_bounce_frame) and return 1 - the domain
 * may have been crashed (bounce frame unwritable). 0: nothing done, the
 * caller takes pv_guest_exception. */
int pv_reflect_exception(struct vcpu *v, struct cpu_regs *regs);

/* The hv's pointer to len bytes of guest memory at va (within one page,
 * readable, writable if write) for v running on this CPU with its
 * domain's page tables loaded - its own hypercall or exception entry,
 * never another vcpu's - or NULL (then copy_*_guest_va). Kept by v's
 * translation cache while a TLB entry could be (pv_cpu.c). The pointer
 * is good until the big lock is dropped. */
void *pv_running_frame(struct vcpu *v, uint64_t va, size_t len, int write);

/* ---- instruction decoder (pv_emul.c, pure) ---- */
enum pv_op {
    PV_OP_NONE = 0,
    PV_OP_MOV_FROM_CR, /* reg = cr[n] */
    PV_OP_MOV_TO_CR,   /* cr[n] = reg */
    PV_OP_CLTS,
    PV_OP_WBINVD,
    PV_OP_CPUID,
    PV_OP_RDMSR,
    PV_OP_WRMSR,
    PV_OP_IN,          /* port imm8 or %dx, size 1/2/4 */
    PV_OP_OUT,
    PV_OP_CLI,
    PV_OP_STI,
    PV_OP_HLT,
    PV_OP_INT,         /* int $imm8 (cd ib) */
};

struct pv_insn {
    enum pv_op op;
    unsigned int len;   /* bytes, including prefixes */
    unsigned int cr;    /* MOV_*_CR: control register number */
    unsigned int reg;   /* MOV_*_CR: general register index (rax=0 .. r15=15) */
    unsigned int size;  /* IN/OUT: 1, 2 or 4 */
    int port_dx;        /* IN/OUT: port in %dx (else imm) */
    unsigned int imm;   /* IN/OUT imm8 port; INT vector */
};

/* Decode one instruction from buf[0..n). Returns 0 and fills *in for the
 * instructions above, -1 for anything else (or truncated input). */
int pv_decode(const uint8_t *buf, size_t n, struct pv_insn *in);

/* Is buf Xen's forced-emulation prefix (ud2a; .ascii "xen") + cpuid? */
int pv_is_forced_cpuid(const uint8_t *buf, size_t n);

/* Emulate a privileged instruction at regs->rip (a #GP with error code 0
 * from the guest). Returns 1 if done (regs advanced), 0 if the guest
 * must get #GP. */
int pv_emulate_priv_op(struct vcpu *v, struct cpu_regs *regs);

/* The guest's view of cpuid (Xen's PV policy, simplified): hypervisor
 * leaves 0x40000000.. say Xen 4.17, leaf 1 has the hypervisor bit. */
void pv_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* ---- descriptor tables (pv_emul.c: pure check; pv_desc.c: hypercalls) ---- */
/* Xen's check_descriptor for a 64-bit PV guest: 1 if *desc may sit in a
 * guest GDT/LDT (fixing it up in place: DPL 0-2 of a present code/data
 * segment becomes 3; a call gate gets DPL 0 with its DPL kept in the
 * target selector's RPL), 0 if it must be refused. */
int pv_check_descriptor(uint64_t *desc);
/* Drop v's GDT and LDT: the frames lose their PGT_seg_desc type and
 * reference. Called when the domain is destroyed. */
void pv_destroy_gdt(struct vcpu *v);
/* Xen's pv_set_gdt: give v the GDT made of frames[0, (ents+511)/512)
 * (each of v's domain, taking PGT_seg_desc: every descriptor checked),
 * dropping its old one. -EINVAL if ents > PV_GDT_MAX_ENTRIES or a frame
 * is refused (then nothing changes). set_gdt and VCPUOP_initialise. */
long pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int ents);
/* MMUEXT_SET_LDT changed v's LDT (base / entries; mmu.c checked them):
 * the frames of the old one are dropped, the new one starts with no
 * frame taken. */
void pv_set_ldt(struct vcpu *v, uint64_t base, unsigned int ents);
/* A #GP from the guest naming an LDT selector (error code with TI set)
 * whose LDT page is not taken yet: take it (Xen's
 * pv_map_ldt_shadow_page) and return 1 so the instruction is retried;
 * if it cannot be taken, queue the #PF Xen gives (cr2 = the descriptor's
 * linear address; #GP if that is not canonical) and return 1 too. 0: not
 * such a fault, deliver it as it is. */
int pv_ldt_fault(struct vcpu *v, struct cpu_regs *regs, uint32_t error_code);

/* ---- writable page tables (pv_emul.c: decoder; pv_ptwr.c: fault) ---- */
enum pv_wop {
    PV_WOP_NONE = 0,
    PV_WOP_MOV,     /* 89 /r, c7 /0 */
    PV_WOP_XCHG,    /* 87 /r */
    PV_WOP_CMPXCHG, /* 0f b1 /r */
    PV_WOP_OR,      /* 09 /r, 81 /1, 83 /1 */
    PV_WOP_AND,     /* 21 /r, 81 /4, 83 /4 */
    PV_WOP_XOR,     /* 31 /r, 81 /6, 83 /6 */
};
struct pv_winsn {
    enum pv_wop op;
    unsigned int len;   /* bytes, including prefixes */
    unsigned int size;  /* operand bytes: 1, 4 or 8 */
    int has_imm;        /* source is imm (sign-extended to size), else reg */
    unsigned int reg;   /* source register (ModRM.reg with REX.R) */
    uint64_t imm;
};
/* Decode a memory-destination write instruction of the kinds above
 * (optional lock/REX prefixes, any ModRM memory form). 0 or -1. */
int pv_decode_write(const uint8_t *buf, size_t n, struct pv_winsn *in);
/* Run the decoded instruction against the 8-byte entry `old` whose
 * written part starts at byte `off` (0 or 4 for 4-byte operands). Sets
 * *new_entry; *write is 0 when nothing is to be stored (failed
 * cmpxchg). Register and flag results go into regs only via
 * pv_write_commit, after the store succeeded. */
void pv_write_compute(const struct pv_winsn *in, const struct cpu_regs *regs, uint64_t old,
                      unsigned int off, uint64_t *new_entry, int *write);
void pv_write_commit(const struct pv_winsn *in, struct cpu_regs *regs, uint64_t old,
                     unsigned int off);
/* A #PF from guest kernel mode that may be a write to one of its own
 * read-only mapped L1 tables (VMASST_TYPE_writable_pagetables): emulate
 * it as Xen's ptwr does. 1 if done (regs advanced), 0 if the guest must
 * get the #PF. */
int pv_ptwr_fault(struct vcpu *v, struct cpu_regs *regs, uint64_t cr2);
/* The general register with index 0..15 (rax..r15) in a frame. */
uint64_t *pv_gpr(struct cpu_regs *regs, unsigned int n);

/* ---- arch hooks (hv/arch/x86/traps.c; host tests provide fakes) ---- */
/* Make v->pv's selectors and FS/GS bases current: while v runs the CPU
 * holds them and the copies are refreshed only on demand. Call before
 * reading or changing them (or kernel_mode, which picks the GS pair);
 * for the running vcpu the copies then go back to the CPU on the way out. */
void pv_sync_segments(struct vcpu *v);
void arch_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]);
/* MXCSR bits FXRSTOR accepts on this CPU (FXSAVE's MXCSR_MASK, or 0xffbf
 * where the CPU leaves that 0). */
uint32_t arch_mxcsr_mask(void);
uint64_t arch_read_cr(unsigned int n);          /* 0 or 4 */
uint32_t arch_io_in(uint16_t port, unsigned int size);
void arch_io_out(uint16_t port, unsigned int size, uint32_t val);
void arch_wbinvd(void);
/* Is the port range one the hypervisor keeps for itself? */
int arch_port_reserved(uint16_t port, unsigned int size);

#endif
