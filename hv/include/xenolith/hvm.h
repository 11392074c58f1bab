/*
 * hvm.h - hardware-assisted guests (HVM and PVH) as the rest of the hv
 * sees them: the per-domain and per-vcpu state, the vendor-neutral layer
 * (hv/arch/x86/hvm/hvm.c) and the one interface its two back ends (SVM in
 * hvm/svm/, VT-x in hvm/vmx/) implement. CPU feature detection picks the
 * back end once at boot; nothing outside hv/arch/x86/hvm knows which.
 * Owns: struct hvm_domain, struct hvm_vcpu, struct hvm_exit.
 * Must never: be reached by a PV domain's hypercall as if it were HVM
 * (every entry point checks d->hvm first).
 */
#ifndef XENOLITH_HVM_H
#define XENOLITH_HVM_H

#include <stdint.h>
#include <xenolith/hvm_dev.h>
#include <xenolith/ioreq.h>
#include <xenolith/p2m.h>
#include <xen/xen.h>
#include <xen/hvm/params.h> /* HVM_NR_PARAMS */

struct domain;
struct vcpu;
struct cpu_regs;


struct hvm_domain {
    struct p2m_table p2m;
    uint64_t params[HVM_NR_PARAMS];
    uint8_t callback_vector;  /* HVM_PARAM_CALLBACK_IRQ of type vector; 0: none */
    uint8_t pvh;              /* no emulated platform devices (PVH) */
    uint8_t emu_lapic;        /* XEN_X86_EMU_LAPIC: each vcpu has a local APIC */
    uint64_t p2m_gen;         /* bumped when an entry goes: every vcpu flushes */
    uint64_t max_gfn;         /* highest gfn ever mapped + 1 */
    uint64_t p2m_tables;      /* table frames the p2m holds (hvm.c's limit) */
    char pbuf[127];           /* debug port 0xe9: the line so far */
    uint8_t pbuf_len;
    uint8_t emu_pic;          /* XEN_X86_EMU_PIC: the 8259 pair at 0x20/0xa0, INTR to vcpu 0's LINT0 */
    struct vpic pic;
    uint8_t emu_pit;          /* XEN_X86_EMU_PIT: the 8254 at 0x40-0x43 (and 0x61), IRQ 0 */
    struct vpit pit;
    uint8_t emu_ioapic;       /* XEN_X86_EMU_IOAPIC: at 0xfec00000, ISA IRQs on their pins (IRQ 0: pin 2) */
    struct vioapic ioapic;
    uint8_t emu_rtc;          /* XEN_X86_EMU_RTC: the MC146818 at 0x70/0x71, IRQ 8 */
    struct vrtc rtc;
    struct hvm_ioreq_server ioreq[HVM_MAX_IOREQ_SERVERS];
    uint64_t ioreqs;          /* requests sent to device models (logged at destroy) */
};

/* Guest state the vendor-neutral code reads after an exit (the back end
 * refreshes it on every exit) and may change for the next entry
 * (hvm_vcpu.dirty says which). */
struct hvm_guest_state {
    uint64_t cr0, cr2, cr3, cr4, efer;
    uint64_t cs_base;
    uint16_t cs_attr;         /* SVM's compressed form: bit 9 L, bit 10 D/B */
    uint8_t cpl;
    uint8_t int_shadow;       /* blocked by sti / mov ss */
};

struct hvm_vcpu {
    void *vmcb;               /* SVM: the VMCB; VT-x: the VMCS (hv virtual) */
    uint64_t vmcb_pa;
    struct hvm_guest_state st;
    uint64_t p2m_gen;         /* the domain's p2m_gen at its last entry */
    uint32_t init_gen;        /* one more at each INIT it takes (lapic_ipi) */
    int last_cpu;             /* the CPU it entered on last (-1: never) */
    int launched;             /* VT-x: VMLAUNCH done on this VMCS */
    uint64_t tsc_aux;
    uint64_t msr_pat;
    uint64_t sysenter[3];     /* cs, esp, eip (VT-x keeps them in the VMCS) */
    uint64_t pending_exc;     /* an exception to inject: vector | 1 << 31 | code << 32 */
    uint64_t dr[4];           /* the guest's DR0-3 while it does not run */
    struct vlapic lapic;      /* its local APIC (hvm_domain.emu_lapic) */
    uint64_t lapic_deadline;  /* when its timer fires next (timer.c wakes or kicks it), 0: never */
    /* VT-x only: the syscall MSRs the VMCS does not switch (swapped in
     * and out around each entry), the CPU whose current VMCS this
     * vcpu's is (-1: none, VMCLEARed), the length of a software event
     * to re-inject, the guest's CR8 (TPR, never the real one). */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    int vmcs_cpu;
    uint32_t event_len;
    uint64_t cr8;
    uint64_t exits;           /* exits taken (all reasons) */
    struct hvm_io_wait io;    /* an access a device model answers (ioreq.c) */
    uint8_t wait_sipi;        /* INIT received: a STARTUP IPI starts it (hvm.c) */
    uint8_t sipi_pending;     /* STARTUP received: the vcpu loads its state at sipi_vector */
    uint8_t sipi_vector;
};

/* Why the guest stopped, in vendor-neutral terms. */
enum hvm_exit_reason {
    HVM_EXIT_NONE,            /* an interrupt for the hv, or nothing: just go on */
    HVM_EXIT_CPUID,
    HVM_EXIT_HLT,
    HVM_EXIT_IO,
    HVM_EXIT_MSR_READ,
    HVM_EXIT_MSR_WRITE,
    HVM_EXIT_HYPERCALL,       /* vmcall / vmmcall */
    HVM_EXIT_NPF,             /* a nested/EPT fault on gpa */
    HVM_EXIT_TRIPLE_FAULT,
    HVM_EXIT_UD,              /* an instruction the guest may not run: #UD */
    HVM_EXIT_INVALID,         /* the entry itself failed: bad guest state */
    HVM_EXIT_UNHANDLED,       /* anything else: the guest is crashed */
};

struct hvm_exit {
    enum hvm_exit_reason reason;
    uint64_t raw;             /* the vendor's exit code */
    uint64_t info1, info2;    /* the vendor's qualifications, for the log */
    unsigned int insn_len;    /* bytes to skip when the exit is done, 0: unknown */
    /* HVM_EXIT_IO */
    uint16_t port;
    uint8_t io_size, io_in, io_string;
    /* HVM_EXIT_NPF */
    uint64_t gpa;
    uint8_t npf_write, npf_fetch, npf_present;
};

/* The back end (svm.c, vmx.c). Every call but cpu_up runs with the big
 * lock held; run does not (it is the guest's time). */
struct hvm_ops {
    const char *name;
    enum p2m_format p2m_format; /* P2M_NPT or P2M_EPT */
    /* This CPU can run guests after this (EFER.SVME / VMXON). 0 or -errno. */
    int (*cpu_up)(void);
    int (*vcpu_init)(struct vcpu *v);
    void (*vcpu_destroy)(struct vcpu *v);
    /* The state of the guest's CPU, as HVM_SAVE_CODE(CPU) describes it. */
    void (*load_cpu)(struct vcpu *v, const void *hvm_hw_cpu);
    /* Enter the guest with v->regs (rip/rsp/rflags and the GPRs) and the
     * cached state; come back at the next exit with them updated. Called
     * with interrupts off and the big lock dropped; interrupts that came
     * while the guest ran have been taken when it returns. */
    void (*run)(struct vcpu *v, struct hvm_exit *e);
    /* Write back the parts of st the common code changed (cr0..efer). */
    void (*put_state)(struct vcpu *v);
    /* Offer a virtual interrupt (vector) the guest takes when it can; -1:
     * none. */
    void (*set_virq)(struct vcpu *v, int vector);
    /* MSRs the back end keeps in its own structure (segment bases,
     * syscall MSRs, PAT, ...): 0, or -1 for #GP. */
    int (*msr_read)(struct vcpu *v, uint32_t msr, uint64_t *val);
    int (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t val);
    /* Inject an exception on the next entry. */
    void (*inject)(struct vcpu *v, unsigned int vector, int has_code, uint32_t code);
    /* Optional (NULL: nothing to do): v stops running on this CPU and
     * may run on another next (VT-x: its VMCS is VMCLEARed here). */
    void (*vcpu_leave)(struct vcpu *v);
    /* The base of segment seg (0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS) as of
     * the last exit. */
    uint64_t (*seg_base)(struct vcpu *v, unsigned int seg);
};

/* Set at boot: the back end in use, NULL without SVM+NPT or VT-x+EPT. */
extern const struct hvm_ops *hvm_funcs;

/* Boot CPU: detect and pick a back end (logs which, or why none). */
void hvm_init(void);
/* Each CPU (the boot CPU too) before it runs guests. */
void hvm_cpu_up(void);
static inline int hvm_available(void) { return hvm_funcs != 0; }

/* Domains (domctl.c, domain.c). pvh: no emulated devices. */
int hvm_domain_init(struct domain *d, int pvh);
/* XEN_DOMCTL_createdomain's emulation_flags: which platform devices
 * (the local APIC, the 8259 PIC) the domain has. 0 or -errno. */
int hvm_domain_set_emulation(struct domain *d, uint32_t flags);
/* The p2m's tables go (the guest frames are the frame table's). */
void hvm_domain_destroy(struct domain *d);
int hvm_vcpu_init(struct vcpu *v);
void hvm_vcpu_destroy(struct vcpu *v);

/* Guest-physical memory (memory.c, the toolstack's foreign mappings). */
int hvm_map_gfn(struct domain *d, uint64_t gfn, uint64_t mfn, unsigned int flags);
int hvm_unmap_gfn(struct domain *d, uint64_t gfn, uint64_t *old_mfn);
/* The mfn behind gfn of an HVM domain, -ENOENT / -EINVAL. */
int64_t hvm_gfn_to_mfn(const struct domain *d, uint64_t gfn);

/* XENMEM_add_to_physmap: shared_info or a grant frame at gpfn. */
int hvm_add_to_physmap(struct domain *d, unsigned int space, uint64_t idx, uint64_t gpfn);
/* XEN_DOMCTL_sethvmcontext: HVM save records (HEADER, CPU, END). */
int hvm_load_context(struct domain *d, const uint8_t *buf, uint32_t size);

/* Translate a guest-virtual address of the running HVM vcpu v through
 * its own paging mode and the p2m (guest_access.c for HVM callers). */
int hvm_translate(struct vcpu *v, uint64_t va, int write, uint64_t *maddr);
/* An HVM vcpu's cr3 field (vcpu.cr3, what hypercall handlers pass to the
 * copy helpers) is a tag naming the vcpu, never a table: bit 0 set, the
 * vcpu's index (domain slot * MAX_VCPUS + id) above it. */
static inline uint64_t hvm_cr3_tag(unsigned int slot, unsigned int vcpu_id, unsigned int max_vcpus)
{
    return 1 | ((uint64_t)slot * max_vcpus + vcpu_id) << 1;
}
int hvm_translate_tagged(uint64_t cr3, uint64_t va, int write, uint64_t *maddr);

/* The HVM vcpu loop (traps.c enters it for an HVM vcpu, on this CPU's
 * stack, big lock held). Never returns: it leaves through the
 * scheduler's frame when another vcpu runs here. */
void hvm_vcpu_loop(void) __attribute__((noreturn));
/* The arch side's full path from an HVM vcpu: the scheduler's pick and
 * switch, as traps.c does for PV (big lock held). */
void hvm_leave_to_scheduler(struct vcpu *v) __attribute__((noreturn));

/* arch glue (traps.c): the big lock and the watchdog's clock around the
 * time the hv spends on an exit. */
void arch_hvm_exit_begin(void);
/* The guest's DR0-3 in (right before entry) and out (right after the
 * exit, interrupts still off), host DR7 disabled again. */
void arch_hvm_debugregs_enter(struct vcpu *v);
void arch_hvm_debugregs_exit(struct vcpu *v);
void arch_hvm_exit_end(void);

/* For ioreq.c: an MMIO load's value into the destination register; the
 * instruction stepped over; an ISA IRQ line of the domain's platform
 * (the PIC's, and so vcpu 0's LINT0). */
void hvm_mmio_complete_load(struct vcpu *v, const struct hvm_mmio_insn *in, uint64_t val);
void hvm_skip_insn(struct vcpu *v, unsigned int len);
/* An IN's value into rax (1, 2 bytes merged; 4 bytes clear the top). */
void hvm_io_in_result(struct vcpu *v, unsigned int size, uint32_t val);
/* A device model answered an ins/outs (v->hvm.io): val is the element
 * for a by-value ins; the index and count registers advance, and the
 * instruction is stepped over when no repetition is left. */
void hvm_string_io_done(struct vcpu *v, uint64_t val);
void hvm_isa_irq_set(struct domain *d, unsigned int irq, int level);

/* Is hypercall nr one an HVM guest has (Xen's hvm64 column)? */
int hvm_hypercall_allowed(uint64_t nr);

/* hypercall: HVMOP_* */
long do_hvm_op(struct vcpu *v, uint64_t op, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5);

#endif
