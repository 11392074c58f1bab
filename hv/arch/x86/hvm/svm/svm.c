/*
 * svm.c - the AMD SVM back end of the HVM layer (hvm.h): per-CPU enable
 * (EFER.SVME, the host save area), one VMCB per vcpu with nested paging
 * (the domain's p2m in NPT format), the intercepts, and the translation of
 * #VMEXIT codes into the vendor-neutral struct hvm_exit.
 * Owns: the VMCBs, the shared I/O and MSR permission maps (every port and
 * MSR intercepted), each CPU's host save area.
 * Must never: let a guest run without the VMRUN intercept, with a VMCB
 * field it controls that the hv did not check, or on a CPU whose TLB may
 * hold another guest's translations under the same ASID (flushed on every
 * change of vcpu or p2m).
 */
#include <arch/x86.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/hvm.h>
#include <xenolith/hvm_guest_cpus.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/percpu.h>
#include <xen/hvm/save.h>

/* ---- the VMCB (AMD APM vol. 2, appendix B) ---- */
struct vmcb_seg {
    uint16_t sel, attr;
    uint32_t limit;
    uint64_t base;
};

struct vmcb {
    uint32_t cr_icpt, dr_icpt, exc_icpt, icpt1, icpt2, icpt3; /* 0x00 */
    uint32_t res0[9];
    uint16_t pause_thresh, pause_count;                     /* 0x3c */
    uint64_t iopm_pa, msrpm_pa, tsc_offset;                 /* 0x40 */
    uint32_t asid;                                          /* 0x58 */
    uint8_t tlb_control, res1[3];
    uint64_t vintr;                                         /* 0x60 */
    uint64_t int_state;                                     /* 0x68 */
    uint64_t exitcode, exitinfo1, exitinfo2, exitintinfo;   /* 0x70 */
    uint64_t np_ctrl;                                       /* 0x90 */
    uint64_t res2[2];
    uint64_t eventinj;                                      /* 0xa8 */
    uint64_t ncr3;                                          /* 0xb0 */
    uint64_t virt_ext;                                      /* 0xb8 */
    uint32_t clean, res3;                                   /* 0xc0 */
    uint64_t nrip;                                          /* 0xc8 */
    uint8_t insn_len, insn[15];                             /* 0xd0 */
    uint8_t res4[0x400 - 0xe0];
    struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
    uint8_t res5[0x4cb - 0x4a0];
    uint8_t cpl;                                            /* 0x4cb */
    uint32_t res6;
    uint64_t efer;                                          /* 0x4d0 */
    uint8_t res7[0x548 - 0x4d8];
    uint64_t cr4, cr3, cr0, dr7, dr6, rflags, rip;          /* 0x548 */
    uint8_t res8[0x5d8 - 0x580];
    uint64_t rsp;                                           /* 0x5d8 */
    uint8_t res9[0x5f8 - 0x5e0];
    uint64_t rax, star, lstar, cstar, sfmask, kernel_gs_base; /* 0x5f8 */
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip, cr2;  /* 0x628 */
    uint8_t res10[0x668 - 0x648];
    uint64_t g_pat;                                         /* 0x668 */
    uint8_t res11[0x1000 - 0x670];
};
_Static_assert(__builtin_offsetof(struct vmcb, exitcode) == 0x70, "vmcb exitcode");
_Static_assert(__builtin_offsetof(struct vmcb, ncr3) == 0xb0, "vmcb ncr3");
_Static_assert(__builtin_offsetof(struct vmcb, insn_len) == 0xd0, "vmcb insn");
_Static_assert(__builtin_offsetof(struct vmcb, es) == 0x400, "vmcb save area");
_Static_assert(__builtin_offsetof(struct vmcb, cpl) == 0x4cb, "vmcb cpl");
_Static_assert(__builtin_offsetof(struct vmcb, efer) == 0x4d0, "vmcb efer");
_Static_assert(__builtin_offsetof(struct vmcb, cr4) == 0x548, "vmcb cr4");
_Static_assert(__builtin_offsetof(struct vmcb, rsp) == 0x5d8, "vmcb rsp");
_Static_assert(__builtin_offsetof(struct vmcb, rax) == 0x5f8, "vmcb rax");
_Static_assert(__builtin_offsetof(struct vmcb, cr2) == 0x640, "vmcb cr2");
_Static_assert(__builtin_offsetof(struct vmcb, g_pat) == 0x668, "vmcb g_pat");
_Static_assert(sizeof(struct vmcb) == 4096, "vmcb is a page");

/* intercept word 1 (0x0c) and 2 (0x10) bits */
#define I1_INTR     (1u << 0)
#define I1_NMI      (1u << 1)
#define I1_SMI      (1u << 2)
#define I1_INIT     (1u << 3)
#define I1_VINTR    (1u << 4)
#define I1_CPUID    (1u << 18)
#define I1_INVD     (1u << 22)
#define I1_HLT      (1u << 24)
#define I1_IOIO     (1u << 27)
#define I1_MSR      (1u << 28)
#define I1_TASKSW   (1u << 29)
#define I1_SHUTDOWN (1u << 31)
#define I2_VMRUN    (1u << 0)
#define I2_VMMCALL  (1u << 1)
#define I2_VMLOAD   (1u << 2)
#define I2_VMSAVE   (1u << 3)
#define I2_STGI     (1u << 4)
#define I2_CLGI     (1u << 5)
#define I2_SKINIT   (1u << 6)
#define I2_RDTSCP   (1u << 7)
#define I2_MONITOR  (1u << 10)
#define I2_MWAIT    (1u << 11)
#define I2_MWAITC   (1u << 12)
#define I2_XSETBV   (1u << 13)

#define VINTR_TPR_MASK   0xffULL
#define VINTR_IRQ        (1ULL << 8)
#define VINTR_PRIO_SHIFT 16
#define VINTR_IGN_TPR    (1ULL << 20)
#define VINTR_MASKING    (1ULL << 24)
#define VINTR_VEC_SHIFT  32

/* #VMEXIT codes */
#define VMEXIT_EXC_UD    0x46
#define VMEXIT_INTR      0x60
#define VMEXIT_NMI       0x61
#define VMEXIT_SMI       0x62
#define VMEXIT_INIT      0x63
#define VMEXIT_VINTR     0x64
#define VMEXIT_CPUID     0x72
#define VMEXIT_INVD      0x76
#define VMEXIT_HLT       0x78
#define VMEXIT_IOIO      0x7b
#define VMEXIT_MSR       0x7c
#define VMEXIT_TASKSW    0x7d
#define VMEXIT_SHUTDOWN  0x7f
#define VMEXIT_VMRUN     0x80
#define VMEXIT_VMMCALL   0x81
#define VMEXIT_XSETBV    0x8d
#define VMEXIT_NPF       0x400
#define VMEXIT_INVALID   ((uint64_t)-1)

#define MSR_VM_CR        0xc0010114
#define MSR_VM_HSAVE_PA  0xc0010117
#define EFER_SVME        (1ULL << 12)

void svm_vmrun(struct cpu_regs *gprs, uint64_t vmcb_pa, uint64_t host_pa, const void *vmcb);

static uint64_t iopm_pa, msrpm_pa;
static int has_nrips;
/* Per CPU: the host save area (VM_HSAVE_PA), the VMSAVE area for the
 * host's hidden state, and the vcpu that ran here last (its ASID's TLB
 * entries are the only ones this CPU may hold). */
static uint64_t host_save_pa[NR_CPUS], host_vmcb_pa[NR_CPUS];
static const struct vcpu *last_vcpu[NR_CPUS];

static struct vmcb *vmcb_of(struct vcpu *v)
{
    return (struct vmcb *)v->hvm.vmcb;
}

static int svm_cpu_up(void)
{
    unsigned int cpu = this_cpu()->cpu_id;
    if (rdmsr(MSR_VM_CR) & (1ULL << 4))
        return -XEN_EOPNOTSUPP; /* SVMDIS: the firmware locked SVM off */
    if (!host_save_pa[cpu]) {
        int64_t a = mm_alloc_frame(DOMID_HV_OWNED), b = mm_alloc_frame(DOMID_HV_OWNED);
        if (a < 0 || b < 0)
            return -XL_ENOMEM;
        host_save_pa[cpu] = (uint64_t)a << PAGE_SHIFT;
        host_vmcb_pa[cpu] = (uint64_t)b << PAGE_SHIFT;
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, host_save_pa[cpu]);
    return 0;
}

static void seg_flat(struct vmcb_seg *s, uint16_t sel, uint16_t attr)
{
    s->sel = sel;
    s->attr = attr;
    s->limit = 0xffffffff;
    s->base = 0;
}

static int svm_vcpu_init(struct vcpu *v)
{
    int64_t mfn = mm_alloc_frame(DOMID_HV_OWNED);
    if (mfn < 0)
        return -XL_ENOMEM;
    struct vmcb *c = mfn_to_virt((uint64_t)mfn);
    memset(c, 0, sizeof(*c));
    v->hvm.vmcb = c;
    v->hvm.vmcb_pa = (uint64_t)mfn << PAGE_SHIFT;
    c->icpt1 = I1_INTR | I1_NMI | I1_SMI | I1_INIT | I1_CPUID | I1_INVD | I1_HLT | I1_IOIO |
               I1_MSR | I1_TASKSW | I1_SHUTDOWN;
    c->icpt2 = I2_VMRUN | I2_VMMCALL | I2_VMLOAD | I2_VMSAVE | I2_STGI | I2_CLGI | I2_SKINIT |
               I2_RDTSCP | I2_MONITOR | I2_MWAIT | I2_MWAITC | I2_XSETBV;
    c->iopm_pa = iopm_pa;
    c->msrpm_pa = msrpm_pa;
    c->asid = 1;
    c->tlb_control = 1;
    c->vintr = VINTR_MASKING; /* physical interrupts stay the hv's */
    c->np_ctrl = 1;
    c->ncr3 = v->domain->hvmd.p2m.root_mfn << PAGE_SHIFT;
    c->g_pat = 0x0007040600070406ULL;
    /* PVH's start state (Xen docs/misc/pvh.pandoc): 32-bit flat protected
     * mode, paging off; load_cpu replaces it with the toolstack's. */
    seg_flat(&c->cs, 0x8, 0xc9b);
    seg_flat(&c->ds, 0x10, 0xc93);
    seg_flat(&c->es, 0x10, 0xc93);
    seg_flat(&c->ss, 0x10, 0xc93);
    seg_flat(&c->fs, 0x10, 0xc93);
    seg_flat(&c->gs, 0x10, 0xc93);
    c->tr.attr = 0x8b;
    c->tr.limit = 0x67;
    c->ldtr.attr = 0x82;
    c->gdtr.limit = 0xffff;
    c->idtr.limit = 0xffff;
    c->cr0 = 0x11; /* PE | ET */
    c->efer = EFER_SVME;
    c->rflags = 0x2;
    c->dr6 = 0xffff0ff0;
    c->dr7 = 0x400;
    v->hvm.st.cr0 = 0x11;
    v->hvm.st.cs_attr = 0xc9b;
    v->hvm.msr_pat = c->g_pat;
    v->hvm.last_cpu = -1;
    return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
    if (v->hvm.vmcb) {
        for (unsigned int i = 0; i < NR_CPUS; i++)
            if (last_vcpu[i] == v)
                last_vcpu[i] = NULL;
        mm_free_frame(v->hvm.vmcb_pa >> PAGE_SHIFT);
        v->hvm.vmcb = NULL;
        v->hvm.vmcb_pa = 0;
    }
}

/* Xen's segment_register attributes are SVM's compressed form already. */
static void seg_load(struct vmcb_seg *s, uint16_t sel, uint32_t limit, uint64_t base,
                     uint32_t arbytes)
{
    s->sel = sel;
    s->limit = limit;
    s->base = base;
    s->attr = (uint16_t)(arbytes & 0xfff);
}

static void svm_load_cpu(struct vcpu *v, const void *p)
{
    const struct hvm_hw_cpu *h = p;
    struct vmcb *c = vmcb_of(v);
    c->cr0 = h->cr0;
    c->cr2 = h->cr2;
    c->cr3 = h->cr3;
    c->cr4 = h->cr4;
    c->efer = h->msr_efer | EFER_SVME;
    c->rip = h->rip;
    c->rsp = h->rsp;
    c->rflags = h->rflags | 2;
    c->rax = h->rax;
    c->dr6 = h->dr6 ? h->dr6 : 0xffff0ff0;
    c->dr7 = h->dr7 ? h->dr7 : 0x400;
    seg_load(&c->cs, (uint16_t)h->cs_sel, h->cs_limit, h->cs_base, h->cs_arbytes);
    seg_load(&c->ds, (uint16_t)h->ds_sel, h->ds_limit, h->ds_base, h->ds_arbytes);
    seg_load(&c->es, (uint16_t)h->es_sel, h->es_limit, h->es_base, h->es_arbytes);
    seg_load(&c->ss, (uint16_t)h->ss_sel, h->ss_limit, h->ss_base, h->ss_arbytes);
    seg_load(&c->fs, (uint16_t)h->fs_sel, h->fs_limit, h->fs_base, h->fs_arbytes);
    seg_load(&c->gs, (uint16_t)h->gs_sel, h->gs_limit, h->gs_base, h->gs_arbytes);
    seg_load(&c->tr, (uint16_t)h->tr_sel, h->tr_limit, h->tr_base, h->tr_arbytes);
    seg_load(&c->ldtr, (uint16_t)h->ldtr_sel, h->ldtr_limit, h->ldtr_base, h->ldtr_arbytes);
    c->gdtr.base = h->gdtr_base;
    c->gdtr.limit = h->gdtr_limit;
    c->idtr.base = h->idtr_base;
    c->idtr.limit = h->idtr_limit;
    c->cpl = (uint8_t)((h->ss_arbytes >> 5) & 3);
    c->sysenter_cs = h->sysenter_cs;
    c->sysenter_esp = h->sysenter_esp;
    c->sysenter_eip = h->sysenter_eip;
    c->star = h->msr_star;
    c->lstar = h->msr_lstar;
    c->cstar = h->msr_cstar;
    c->sfmask = h->msr_syscall_mask;
    c->kernel_gs_base = h->shadow_gs;
    v->regs.rax = h->rax, v->regs.rbx = h->rbx, v->regs.rcx = h->rcx, v->regs.rdx = h->rdx;
    v->regs.rsi = h->rsi, v->regs.rdi = h->rdi, v->regs.rbp = h->rbp, v->regs.rsp = h->rsp;
    v->regs.r8 = h->r8, v->regs.r9 = h->r9, v->regs.r10 = h->r10, v->regs.r11 = h->r11;
    v->regs.r12 = h->r12, v->regs.r13 = h->r13, v->regs.r14 = h->r14, v->regs.r15 = h->r15;
    v->regs.rip = h->rip;
    v->regs.rflags = c->rflags;
    v->hvm.st.cr0 = c->cr0, v->hvm.st.cr3 = c->cr3, v->hvm.st.cr4 = c->cr4;
    v->hvm.st.efer = h->msr_efer;
    v->hvm.st.cs_attr = c->cs.attr;
    v->hvm.st.cs_base = c->cs.base;
    v->hvm.st.cpl = c->cpl;
}

static void svm_put_state(struct vcpu *v)
{
    struct vmcb *c = vmcb_of(v);
    c->cr0 = v->hvm.st.cr0;
    c->cr2 = v->hvm.st.cr2;
    c->cr3 = v->hvm.st.cr3;
    c->cr4 = v->hvm.st.cr4;
    c->efer = v->hvm.st.efer | EFER_SVME;
}

/* An interrupt for the guest: injected at once (EVENTINJ) when it can
 * take one (IF set, no sti/mov-ss shadow, nothing else being injected);
 * otherwise a dummy virtual interrupt with the VINTR intercept makes the
 * CPU exit as soon as it could, and the next entry injects it (Xen's
 * svm_enable_intr_window). */
static void svm_set_virq(struct vcpu *v, int vector)
{
    struct vmcb *c = vmcb_of(v);
    c->vintr &= ~(VINTR_IRQ | (0xffULL << VINTR_VEC_SHIFT) | (0xfULL << VINTR_PRIO_SHIFT));
    c->icpt1 &= ~I1_VINTR;
    if (vector < 0)
        return;
    if ((v->regs.rflags & (1u << 9)) && !v->hvm.st.int_shadow && !v->hvm.pending_exc) {
        v->hvm.pending_exc = (uint64_t)(uint8_t)vector | (1u << 31); /* type 0: external */
        return;
    }
    c->vintr |= VINTR_IRQ | VINTR_IGN_TPR;
    c->icpt1 |= I1_VINTR;
}

static void svm_inject(struct vcpu *v, unsigned int vector, int has_code, uint32_t code)
{
    struct vmcb *c = vmcb_of(v);
    c->eventinj = (vector & 0xff) | (3u << 8) | (has_code ? (1u << 11) : 0) | (1u << 31) |
                  ((uint64_t)code << 32);
}

static void exit_decode(struct vcpu *v, struct vmcb *c, struct hvm_exit *e)
{
    uint64_t code = c->exitcode;
    memset(e, 0, sizeof(*e));
    e->raw = code;
    e->info1 = c->exitinfo1;
    e->info2 = c->exitinfo2;
    uint64_t next = has_nrips ? c->nrip : 0;
    switch (code) {
    case VMEXIT_INTR:
    case VMEXIT_NMI:
    case VMEXIT_SMI:
    case VMEXIT_VINTR:
        e->reason = HVM_EXIT_NONE;
        return;
    case VMEXIT_CPUID:
        e->reason = HVM_EXIT_CPUID;
        e->insn_len = 2;
        return;
    case VMEXIT_HLT:
        e->reason = HVM_EXIT_HLT;
        e->insn_len = 1;
        return;
    case VMEXIT_IOIO:
        e->reason = HVM_EXIT_IO;
        e->port = (uint16_t)(c->exitinfo1 >> 16);
        e->io_in = c->exitinfo1 & 1;
        e->io_string = (c->exitinfo1 >> 2) & 1;
        e->io_size = (c->exitinfo1 & (1 << 4)) ? 1 : (c->exitinfo1 & (1 << 5)) ? 2 : 4;
        e->insn_len = (unsigned int)(c->exitinfo2 - v->regs.rip); /* EXITINFO2: next rip */
        return;
    case VMEXIT_MSR:
        e->reason = c->exitinfo1 ? HVM_EXIT_MSR_WRITE : HVM_EXIT_MSR_READ;
        e->insn_len = 2;
        return;
    case VMEXIT_VMMCALL:
        e->reason = HVM_EXIT_HYPERCALL;
        e->insn_len = 3;
        return;
    case VMEXIT_NPF:
        e->reason = HVM_EXIT_NPF;
        e->gpa = c->exitinfo2;
        e->npf_present = c->exitinfo1 & 1;
        e->npf_write = (c->exitinfo1 >> 1) & 1;
        e->npf_fetch = (c->exitinfo1 >> 4) & 1;
        return;
    case VMEXIT_SHUTDOWN:
        e->reason = HVM_EXIT_TRIPLE_FAULT;
        return;
    case VMEXIT_INVALID:
        e->reason = HVM_EXIT_INVALID;
        return;
    case VMEXIT_INVD:
        e->reason = HVM_EXIT_NONE; /* nothing cached for it to drop: a no-op */
        e->insn_len = 2;
        return;
    case VMEXIT_VMRUN:
    case VMEXIT_VMMCALL + 1: /* VMLOAD */
    case VMEXIT_VMMCALL + 2: /* VMSAVE */
    case VMEXIT_VMMCALL + 3: /* STGI */
    case VMEXIT_VMMCALL + 4: /* CLGI */
    case VMEXIT_VMMCALL + 5: /* SKINIT */
    case VMEXIT_VMMCALL + 6: /* RDTSCP */
    case 0x8a:               /* MONITOR */
    case 0x8b:               /* MWAIT */
    case 0x8c:               /* MWAIT armed */
    case VMEXIT_XSETBV:
        e->reason = HVM_EXIT_UD; /* not offered in CPUID: #UD as the CPU would */
        return;
    default:
        e->reason = HVM_EXIT_UNHANDLED;
        break;
    }
    (void)next;
}

static void svm_run(struct vcpu *v, struct hvm_exit *e)
{
    struct vmcb *c = vmcb_of(v);
    unsigned int cpu = this_cpu()->cpu_id;
    struct domain *d = v->domain;
    c->rip = v->regs.rip;
    c->rsp = v->regs.rsp;
    c->rflags = v->regs.rflags | 2;
    c->rax = v->regs.rax;
    c->ncr3 = d->hvmd.p2m.root_mfn << PAGE_SHIFT;
    /* One ASID for every guest: the TLB goes when another vcpu (or the
     * same on a new p2m) enters this CPU. Marked as in d's guest first:
     * a p2m entry removed from now on waits for this CPU's exit
     * (guest_cpus.c). */
    hvm_guest_entering(cpu, d);
    uint64_t gen = __atomic_load_n(&d->hvmd.p2m_gen, __ATOMIC_SEQ_CST);
    if (last_vcpu[cpu] != v || v->hvm.p2m_gen != gen || v->hvm.last_cpu != (int)cpu)
        c->tlb_control = 1;
    else
        c->tlb_control = 0;
    last_vcpu[cpu] = v;
    v->hvm.last_cpu = (int)cpu;
    v->hvm.p2m_gen = gen;
    if (v->hvm.pending_exc) {
        c->eventinj = v->hvm.pending_exc;
        v->hvm.pending_exc = 0;
    }
    c->int_state = (c->int_state & ~1ULL) | (v->hvm.st.int_shadow & 1);
    c->clean = 0; /* the hv may have changed anything */
    arch_hvm_debugregs_enter(v);
    svm_vmrun(&v->regs, v->hvm.vmcb_pa, host_vmcb_pa[cpu], c);
    hvm_guest_left(cpu);
    /* interrupts that came while the guest ran are taken here */
    __asm__ volatile("sti; nop; cli" ::: "memory");
    arch_hvm_debugregs_exit(v);
    v->regs.rip = c->rip;
    v->regs.rsp = c->rsp;
    v->regs.rflags = c->rflags;
    v->regs.rax = c->rax;
    v->hvm.st.cr0 = c->cr0;
    v->hvm.st.cr2 = c->cr2;
    v->hvm.st.cr3 = c->cr3;
    v->hvm.st.cr4 = c->cr4;
    v->hvm.st.efer = c->efer & ~EFER_SVME;
    v->hvm.st.cs_attr = c->cs.attr;
    v->hvm.st.cs_base = c->cs.base;
    v->hvm.st.cpl = c->cpl;
    v->hvm.st.int_shadow = c->int_state & 1;
    v->hvm.exits++;
    /* An event that did not get delivered (an exit during its delivery)
     * goes again (EXITINTINFO, valid bit 31). */
    if (c->exitintinfo & (1u << 31))
        v->hvm.pending_exc = c->exitintinfo;
    c->eventinj = 0;
    exit_decode(v, c, e);
}

static int canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* The MSRs the VMCB holds (loaded by VMLOAD/VMRUN, never the host's). */
static int svm_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    struct vmcb *c = vmcb_of(v);
    switch (msr) {
    case 0xc0000100: *val = c->fs.base; return 0;
    case 0xc0000101: *val = c->gs.base; return 0;
    case 0xc0000102: *val = c->kernel_gs_base; return 0;
    case 0xc0000081: *val = c->star; return 0;
    case 0xc0000082: *val = c->lstar; return 0;
    case 0xc0000083: *val = c->cstar; return 0;
    case 0xc0000084: *val = c->sfmask; return 0;
    case 0x174: *val = c->sysenter_cs; return 0;
    case 0x175: *val = c->sysenter_esp; return 0;
    case 0x176: *val = c->sysenter_eip; return 0;
    case 0x1d9: *val = 0; return 0; /* DEBUGCTL: no LBR */
    default: return -1;
    }
}

static int svm_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    struct vmcb *c = vmcb_of(v);
    switch (msr) {
    case 0x277: c->g_pat = val; return 0; /* checked by hvm.c */
    case 0xc0000100: if (!canonical(val)) return -1; c->fs.base = val; return 0;
    case 0xc0000101: if (!canonical(val)) return -1; c->gs.base = val; return 0;
    case 0xc0000102: if (!canonical(val)) return -1; c->kernel_gs_base = val; return 0;
    case 0xc0000081: c->star = val; return 0;
    case 0xc0000082: if (!canonical(val)) return -1; c->lstar = val; return 0;
    case 0xc0000083: if (!canonical(val)) return -1; c->cstar = val; return 0;
    case 0xc0000084: c->sfmask = val & 0xffffffffULL; return 0;
    case 0x174: c->sysenter_cs = val & 0xffff; return 0;
    case 0x175: if (!canonical(val)) return -1; c->sysenter_esp = val; return 0;
    case 0x176: if (!canonical(val)) return -1; c->sysenter_eip = val; return 0;
    case 0x1d9: return val ? -1 : 0;
    default: return -1;
    }
}

static uint64_t svm_seg_base(struct vcpu *v, unsigned int seg)
{
    const struct vmcb *c = vmcb_of(v);
    const struct vmcb_seg *s[6] = { &c->es, &c->cs, &c->ss, &c->ds, &c->fs, &c->gs };
    return seg < 6 ? s[seg]->base : 0;
}

static const struct hvm_ops svm_ops = {
    .name = "SVM",
    .p2m_format = P2M_NPT,
    .cpu_up = svm_cpu_up,
    .vcpu_init = svm_vcpu_init,
    .vcpu_destroy = svm_vcpu_destroy,
    .load_cpu = svm_load_cpu,
    .run = svm_run,
    .put_state = svm_put_state,
    .set_virq = svm_set_virq,
    .inject = svm_inject,
    .msr_read = svm_msr_read,
    .msr_write = svm_msr_write,
    .seg_base = svm_seg_base,
};

/* SVM with nested paging, or NULL (with the reason logged). */
const struct hvm_ops *svm_probe(void);
const struct hvm_ops *svm_probe(void)
{
    uint32_t r[4];
    cpuid(0x80000000, 0, r);
    if (r[0] < 0x8000000a)
        return NULL;
    cpuid(0x80000001, 0, r);
    if (!(r[2] & (1u << 2)))
        return NULL;
    cpuid(0x8000000a, 0, r);
    if (!(r[3] & 1)) {
        printk("hvm: SVM without nested paging: not used\n");
        return NULL;
    }
    has_nrips = (r[3] >> 3) & 1;
    int64_t io = mm_alloc_frames(DOMID_HV_OWNED, 2), msr = mm_alloc_frames(DOMID_HV_OWNED, 1);
    if (io < 0 || msr < 0)
        return NULL;
    memset(mfn_to_virt((uint64_t)io), 0xff, 4 * PAGE_SIZE);
    memset(mfn_to_virt((uint64_t)msr), 0xff, 2 * PAGE_SIZE);
    iopm_pa = (uint64_t)io << PAGE_SHIFT;
    msrpm_pa = (uint64_t)msr << PAGE_SHIFT;
    printk("hvm: SVM rev %u, %u ASIDs, nested paging%s\n", r[0] & 0xff, r[1],
           has_nrips ? ", next-RIP" : "");
    return &svm_ops;
}
