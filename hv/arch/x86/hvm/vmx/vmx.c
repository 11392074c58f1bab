/*
 * vmx.c - the Intel VT-x back end of the HVM layer (hvm.h): per-CPU
 * enable (IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits, CR4.VMXE, a
 * VMXON region), one VMCS per vcpu with EPT (the domain's p2m in EPT
 * format) and unrestricted guest (the PVH entry state is 32-bit
 * protected mode with paging off), the controls, host and guest state,
 * the syscall MSRs VT-x does not switch, and the translation of VM exits
 * into the vendor-neutral struct hvm_exit - the same semantics as svm.c.
 * Owns: each CPU's VMXON region and which VMCS is current on it, the
 * VMCSs, the control settings chosen at boot.
 * Must never: let a guest run with a control the capability MSRs do not
 * allow, without the exits that keep the machine the hv's (external
 * interrupts, NMIs, all port I/O, all MSRs, CR8, the VMX instructions),
 * with the real TPR or the host's syscall MSRs in its reach, or on a
 * CPU whose TLB may hold another vcpu's translations under the same
 * VPID/EPTP (flushed on every change of vcpu, CPU or p2m); nor return to
 * the hv with a guest's GDTR/IDTR limit, LDTR, CR2 or syscall MSRs
 * still loaded.
 */
#include <arch/x86.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/hvm.h>
#include <xenolith/hvm_guest_cpus.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/percpu.h>
#include <xen/hvm/save.h>

/* ---- MSRs (SDM vol. 3, appendix A) ---- */
#define MSR_FEATURE_CONTROL   0x3a
#define FC_LOCK               (1ULL << 0)
#define FC_VMXON_OUTSIDE_SMX  (1ULL << 2)
#define MSR_SYSENTER_CS       0x174
#define MSR_SYSENTER_ESP      0x175
#define MSR_SYSENTER_EIP      0x176
#define MSR_PAT_NR            0x277
#define MSR_VMX_BASIC         0x480
#define MSR_VMX_PINBASED      0x481
#define MSR_VMX_PROCBASED     0x482
#define MSR_VMX_EXIT          0x483
#define MSR_VMX_ENTRY         0x484
#define MSR_VMX_CR0_FIXED0    0x486
#define MSR_VMX_CR0_FIXED1    0x487
#define MSR_VMX_CR4_FIXED0    0x488
#define MSR_VMX_CR4_FIXED1    0x489
#define MSR_VMX_PROCBASED2    0x48b
#define MSR_VMX_EPT_VPID_CAP  0x48c
#define MSR_VMX_TRUE_PINBASED 0x48d
#define MSR_VMX_TRUE_PROCBASED 0x48e
#define MSR_VMX_TRUE_EXIT     0x48f
#define MSR_VMX_TRUE_ENTRY    0x490

/* ---- VMCS field encodings (SDM vol. 3, appendix B) ---- */
enum {
    VPID_FIELD = 0x0000,
    GUEST_ES_SEL = 0x0800, GUEST_CS_SEL = 0x0802, GUEST_SS_SEL = 0x0804, GUEST_DS_SEL = 0x0806,
    GUEST_FS_SEL = 0x0808, GUEST_GS_SEL = 0x080a, GUEST_LDTR_SEL = 0x080c, GUEST_TR_SEL = 0x080e,
    HOST_ES_SEL = 0x0c00, HOST_CS_SEL = 0x0c02, HOST_SS_SEL = 0x0c04, HOST_DS_SEL = 0x0c06,
    HOST_FS_SEL = 0x0c08, HOST_GS_SEL = 0x0c0a, HOST_TR_SEL = 0x0c0c,
    EPT_POINTER = 0x201a,
    GUEST_PHYS_ADDR = 0x2400,
    VMCS_LINK_PTR = 0x2800, GUEST_DEBUGCTL = 0x2802, GUEST_PAT = 0x2804, GUEST_EFER = 0x2806,
    GUEST_PDPTE0 = 0x280a,
    HOST_PAT = 0x2c00, HOST_EFER = 0x2c02,
    PIN_CTLS = 0x4000, PROC_CTLS = 0x4002, EXC_BITMAP = 0x4004, PF_MASK = 0x4006,
    PF_MATCH = 0x4008, CR3_TARGET_COUNT = 0x400a, EXIT_CTLS = 0x400c, EXIT_MSR_STORE_COUNT = 0x400e,
    EXIT_MSR_LOAD_COUNT = 0x4010, ENTRY_CTLS = 0x4012, ENTRY_MSR_LOAD_COUNT = 0x4014,
    ENTRY_INTR_INFO = 0x4016, ENTRY_EXC_CODE = 0x4018, ENTRY_INSN_LEN = 0x401a,
    PROC_CTLS2 = 0x401e,
    VM_INSN_ERROR = 0x4400, EXIT_REASON = 0x4402, EXIT_INTR_INFO = 0x4404,
    EXIT_INTR_CODE = 0x4406, IDT_VEC_INFO = 0x4408, IDT_VEC_CODE = 0x440a,
    EXIT_INSN_LEN = 0x440c,
    GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
    GUEST_DS_LIMIT = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
    GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e, GUEST_GDTR_LIMIT = 0x4810,
    GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR = 0x4814, GUEST_CS_AR = 0x4816, GUEST_SS_AR = 0x4818, GUEST_DS_AR = 0x481a,
    GUEST_FS_AR = 0x481c, GUEST_GS_AR = 0x481e, GUEST_LDTR_AR = 0x4820, GUEST_TR_AR = 0x4822,
    GUEST_INTERRUPTIBILITY = 0x4824, GUEST_ACTIVITY = 0x4826, GUEST_SYSENTER_CS = 0x482a,
    HOST_SYSENTER_CS = 0x4c00,
    CR0_MASK = 0x6000, CR4_MASK = 0x6002, CR0_SHADOW = 0x6004, CR4_SHADOW = 0x6006,
    EXIT_QUAL = 0x6400,
    GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
    GUEST_DS_BASE = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
    GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e,
    GUEST_RFLAGS = 0x6820, GUEST_PENDING_DBG = 0x6822, GUEST_SYSENTER_ESP = 0x6824,
    GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
    HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
    HOST_IDTR_BASE = 0x6c0e, HOST_SYSENTER_ESP = 0x6c10, HOST_SYSENTER_EIP = 0x6c12,
    HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};

/* pin-based controls */
#define PIN_EXT_INTR      (1u << 0)
#define PIN_NMI           (1u << 3)
/* primary processor-based controls */
#define PROC_INTR_WINDOW  (1u << 2)
#define PROC_HLT          (1u << 7)
#define PROC_MWAIT        (1u << 10)
#define PROC_CR3_LOAD     (1u << 15)
#define PROC_CR3_STORE    (1u << 16)
#define PROC_CR8_LOAD     (1u << 19)
#define PROC_CR8_STORE    (1u << 20)
#define PROC_TPR_SHADOW   (1u << 21)
#define PROC_UNCOND_IO    (1u << 24)
#define PROC_IO_BITMAPS   (1u << 25)
#define PROC_MSR_BITMAPS  (1u << 28)
#define PROC_MONITOR      (1u << 29)
#define PROC_SECONDARY    (1u << 31)
/* secondary processor-based controls */
#define PROC2_EPT         (1u << 1)
#define PROC2_VPID        (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)
/* VM-exit controls */
#define EXIT_SAVE_DEBUG   (1u << 2)
#define EXIT_HOST_64      (1u << 9)
#define EXIT_ACK_INTR     (1u << 15)
#define EXIT_SAVE_PAT     (1u << 18)
#define EXIT_LOAD_PAT     (1u << 19)
#define EXIT_SAVE_EFER    (1u << 20)
#define EXIT_LOAD_EFER    (1u << 21)
/* VM-entry controls */
#define ENTRY_LOAD_DEBUG  (1u << 2)
#define ENTRY_IA32E       (1u << 9)
#define ENTRY_LOAD_PAT    (1u << 14)
#define ENTRY_LOAD_EFER   (1u << 15)

/* exit reasons (SDM vol. 3, appendix C) */
#define EXIT_EXC_NMI      0
#define EXIT_EXT_INTR     1
#define EXIT_TRIPLE_FAULT 2
#define EXIT_INIT         3
#define EXIT_SIPI         4
#define EXIT_IO_SMI       5
#define EXIT_OTHER_SMI    6
#define EXIT_INTR_WINDOW  7
#define EXIT_NMI_WINDOW   8
#define EXIT_TASK_SWITCH  9
#define EXIT_CPUID        10
#define EXIT_GETSEC       11
#define EXIT_HLT          12
#define EXIT_INVD         13
#define EXIT_VMCALL       18
#define EXIT_VMCLEAR      19 /* .. 27: VMLAUNCH VMPTRLD VMPTRST VMREAD VMRESUME VMWRITE VMXOFF VMXON */
#define EXIT_VMXON        27
#define EXIT_CR_ACCESS    28
#define EXIT_IO           30
#define EXIT_RDMSR        31
#define EXIT_WRMSR        32
#define EXIT_BAD_GUEST    33
#define EXIT_BAD_MSR_LOAD 34
#define EXIT_MWAIT        36
#define EXIT_MONITOR      39
#define EXIT_MCE_ENTRY    41
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_INVEPT       50
#define EXIT_INVVPID      53
#define EXIT_XSETBV       55
#define EXIT_ENTRY_FAILED (1u << 31)

#define INTR_VALID        (1u << 31)
#define INTR_HAS_CODE     (1u << 11)
#define INTR_TYPE_SHIFT   8
#define INTR_TYPE_EXT     0u
#define INTR_TYPE_NMI     2u
#define INTR_TYPE_HW_EXC  3u
#define INTR_TYPE_SW_INT  4u
#define INTR_TYPE_PRIV_SW 5u
#define INTR_TYPE_SW_EXC  6u

#define AR_UNUSABLE       (1u << 16)

#define CR0_PE            (1ULL << 0)
#define CR0_NE            (1ULL << 5)
#define CR0_NW            (1ULL << 29)
#define CR0_CD            (1ULL << 30)
#define CR0_PG            (1ULL << 31)
#define CR4_PAE           (1ULL << 5)
#define CR4_VMXE          (1ULL << 13)
#define EFER_LME          (1ULL << 8)
#define EFER_LMA          (1ULL << 10)
#define RFLAGS_IF         (1ULL << 9)

#define VPID_GUESTS       1 /* one VPID for every guest vcpu (0 is the hv's) */

int vmx_enter(struct cpu_regs *gprs, int resume);
extern char vmx_exit_entry[];

/* Chosen at boot (vmx_probe), the same for every CPU. */
static uint32_t vmcs_revision;
static uint32_t pin_ctls, proc_ctls, proc2_ctls, exit_ctls, entry_ctls;
static uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
static uint64_t cr0_forced, cr4_forced; /* bits the guest cannot clear: masked, shadowed */
/* CR0 bits the hv owns (the guest/host mask): the forced ones, and CD and
 * NW - VM entry and exit never load those two (SDM 27.3.2.1, 28.5.1), so
 * a guest's unmasked write would change the physical CPU's caching for
 * the hv and every other guest, and a guest would read back whatever the
 * CPU it runs on has (an AP's INIT state, CD|NW, lost). Masked, a change
 * of either exits (cr_access) and the guest reads its own from the
 * shadow; the CPU keeps the host's. */
static uint64_t cr0_owned;
static int has_vpid, has_pat;
static int invept_single, invept_all, invvpid_single, invvpid_all;

/* Per CPU: the VMXON region, whether VMXON is done, and the vcpu whose
 * VMCS is current (VMPTRLD) here; the vcpu whose translations the CPU's
 * TLB may hold under VPID_GUESTS. */
static uint64_t vmxon_pa[NR_CPUS];
static int vmx_on[NR_CPUS];
static struct vcpu *cur_vmcs[NR_CPUS];
static const struct vcpu *last_vcpu[NR_CPUS];

/* ---- the instructions ---- */
static inline int vmxon(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail ? -1 : 0;
}

static inline int vmclear(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail ? -1 : 0;
}

static inline int vmptrld(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail ? -1 : 0;
}

static inline uint64_t vmr(uint32_t field)
{
    uint64_t v = 0;
    __asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"((uint64_t)field) : "cc");
    return v;
}

static int vmwrite_errors;

static inline void vmw(uint32_t field, uint64_t val)
{
    uint8_t fail;
    __asm__ volatile("vmwrite %1, %2; setna %0"
                     : "=qm"(fail)
                     : "rm"(val), "r"((uint64_t)field)
                     : "cc", "memory");
    if (fail && vmwrite_errors++ < 8)
        printk("vmx: vmwrite %#x <- %#lx failed (error %lu)\n", field, (unsigned long)val,
               (unsigned long)vmr(VM_INSN_ERROR));
}

static inline void invept(uint64_t type, uint64_t eptp)
{
    struct { uint64_t eptp, rsvd; } desc = { eptp, 0 };
    __asm__ volatile("invept %0, %1" :: "m"(desc), "r"(type) : "cc", "memory");
}

static inline void invvpid(uint64_t type, uint16_t vpid)
{
    struct { uint64_t vpid, addr; } desc = { vpid, 0 };
    __asm__ volatile("invvpid %0, %1" :: "m"(desc), "r"(type) : "cc", "memory");
}

static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" :: "r"(v) : "memory"); }
static inline void write_cr2(uint64_t v) { __asm__ volatile("mov %0, %%cr2" :: "r"(v) : "memory"); }
static inline void sgdt(struct desc_ptr *p) { __asm__ volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct desc_ptr *p) { __asm__ volatile("sidt %0" : "=m"(*p)); }
static inline uint16_t sldt(void) { uint16_t s; __asm__ volatile("sldt %0" : "=r"(s)); return s; }
static inline uint16_t str(void) { uint16_t s; __asm__ volatile("str %0" : "=r"(s)); return s; }

/* ---- capabilities ---- */

/* want | what must be 1, within what may be 1 (low half: allowed 0
 * settings, high half: allowed 1 settings). */
static uint32_t adjust(uint64_t cap, uint32_t want)
{
    return (want | (uint32_t)cap) & (uint32_t)(cap >> 32);
}

static int vmx_cpu_up(void)
{
    unsigned int cpu = this_cpu()->cpu_id;
    uint32_t r[4];
    if (vmx_on[cpu])
        return 0;
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 5)))
        return -XL_EOPNOTSUPP;
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    if (!(fc & FC_LOCK))
        wrmsr(MSR_FEATURE_CONTROL, fc | FC_LOCK | FC_VMXON_OUTSIDE_SMX);
    else if (!(fc & FC_VMXON_OUTSIDE_SMX))
        return -XL_EOPNOTSUPP; /* the firmware locked VMX off */
    uint64_t cr0 = read_cr0(), cr4 = read_cr4();
    if ((cr0 | cr0_fixed0) & ~cr0_fixed1 || (cr4 | cr4_fixed0 | CR4_VMXE) & ~cr4_fixed1)
        return -XL_EOPNOTSUPP;
    if ((cr0 | cr0_fixed0) != cr0)
        write_cr0(cr0 | cr0_fixed0);
    write_cr4(cr4 | cr4_fixed0 | CR4_VMXE);
    if (!vmxon_pa[cpu]) {
        int64_t m = mm_alloc_frame(DOMID_HV_OWNED);
        if (m < 0)
            return -XL_ENOMEM;
        vmxon_pa[cpu] = (uint64_t)m << PAGE_SHIFT;
    }
    *(uint32_t *)mfn_to_virt(vmxon_pa[cpu] >> PAGE_SHIFT) = vmcs_revision;
    if (vmxon(vmxon_pa[cpu]))
        return -XL_EIO;
    vmx_on[cpu] = 1;
    cur_vmcs[cpu] = NULL;
    last_vcpu[cpu] = NULL;
    /* nothing of an earlier VMX user may stay in the TLB */
    if (invvpid_all)
        invvpid(2, 0);
    if (invept_all)
        invept(2, 0);
    return 0;
}

/* ---- which VMCS is current where ----
 * A VMCS is active (and maybe cached) on at most one CPU, and only while
 * its vcpu is there: a CPU VMCLEARs it (state to memory, launch state
 * clear) when the vcpu leaves (vmx_vcpu_leave, from the vcpu loop) and
 * after touching a vcpu that does not run (vcpu_init, load_cpu from a
 * domctl or the builder: vmcs_release). Switching this CPU to v's VMCS
 * VMCLEARs whatever is still current here first. So a vcpu that moves
 * to another CPU finds its VMCS clear, in memory, and is VMPTRLDed
 * there with VMLAUNCH next. */
static void vmcs_release(struct vcpu *v)
{
    unsigned int cpu = this_cpu()->cpu_id;
    if (cur_vmcs[cpu] != v)
        return;
    vmclear(v->hvm.vmcb_pa);
    v->hvm.launched = 0;
    v->hvm.vmcs_cpu = -1;
    cur_vmcs[cpu] = NULL;
}

static void vmcs_load(struct vcpu *v)
{
    unsigned int cpu = this_cpu()->cpu_id;
    if (cur_vmcs[cpu] == v)
        return;
    if (cur_vmcs[cpu])
        vmcs_release(cur_vmcs[cpu]);
    if (v->hvm.vmcs_cpu >= 0 && v->hvm.vmcs_cpu != (int)cpu) {
        /* never happens (see above); if it did, the other CPU's cached
         * copy could be written back over this one's later */
        printk("vmx: d%u v%u's VMCS is still active on cpu%d, taken over on cpu%u\n",
               v->domain->domid, v->id, v->hvm.vmcs_cpu, cpu);
        if (cur_vmcs[v->hvm.vmcs_cpu] == v)
            cur_vmcs[v->hvm.vmcs_cpu] = NULL;
    }
    vmclear(v->hvm.vmcb_pa);
    v->hvm.launched = 0;
    if (vmptrld(v->hvm.vmcb_pa))
        printk("vmx: vmptrld of d%u v%u's VMCS failed\n", v->domain->domid, v->id);
    v->hvm.vmcs_cpu = (int)cpu;
    cur_vmcs[cpu] = v;
}

/* ---- segments: SVM's 12-bit attributes <-> VMX access rights ---- */
static uint32_t ar_from_attr(uint32_t a)
{
    return (a & 0xff) | ((a & 0xf00) << 4);
}

static uint16_t attr_from_ar(uint64_t ar)
{
    return (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00));
}

enum seg_kind { SEG_CODE, SEG_DATA, SEG_SS, SEG_LDTR, SEG_TR };

/* One segment register from a save record. Unusable where not present
 * (a null selector); the types the CPU would have set the accessed bit
 * of get it; TR always a busy TSS (VMX has no unusable TR). */
static void seg_write(uint32_t sel_f, uint32_t limit_f, uint32_t base_f, uint32_t ar_f,
                      enum seg_kind k, uint16_t sel, uint32_t limit, uint64_t base, uint32_t attr)
{
    uint32_t ar = ar_from_attr(attr & 0xfff);
    switch (k) {
    case SEG_TR:
        if (!(ar & 0x80) || (ar & 0x10)) { /* not present, or not a system segment */
            ar = 0x8b;
            if (!limit)
                limit = 0x67;
        }
        ar = (ar & ~0xfu) | 11; /* busy TSS, as VM entry requires */
        break;
    case SEG_LDTR:
        if (!(ar & 0x80) || !(sel & ~3u))
            ar = AR_UNUSABLE | 0x82;
        break;
    case SEG_CODE:
        ar |= 0x80 | 0x10 | 1; /* CS is never unusable */
        break;
    case SEG_SS:
    case SEG_DATA:
        if (!(ar & 0x80))
            ar |= AR_UNUSABLE; /* SS keeps its DPL: it is the CPL */
        else
            ar |= 1;
        break;
    }
    vmw(sel_f, sel);
    vmw(limit_f, limit);
    vmw(base_f, base);
    vmw(ar_f, ar);
}

/* The guest's CR0/CR4 as the VMCS holds them: what it set, plus the bits
 * VMX operation forces (read shadows show it its own). */
static void write_crs(struct vcpu *v)
{
    vmw(GUEST_CR0, (v->hvm.st.cr0 & ~(CR0_CD | CR0_NW)) | cr0_forced);
    vmw(CR0_SHADOW, v->hvm.st.cr0);
    vmw(GUEST_CR4, v->hvm.st.cr4 | cr4_forced);
    vmw(CR4_SHADOW, v->hvm.st.cr4);
    vmw(GUEST_CR3, v->hvm.st.cr3);
    vmw(GUEST_EFER, v->hvm.st.efer);
    uint32_t entry = entry_ctls & ~ENTRY_IA32E;
    if (v->hvm.st.efer & EFER_LMA)
        entry |= ENTRY_IA32E;
    vmw(ENTRY_CTLS, entry);
}

/* PAE paging outside long mode with EPT: VM entry loads the four PDPTEs
 * from the VMCS, not from memory. After the hv itself changed the paging
 * mode (an emulated CR0 write, a loaded record) they come from the
 * guest's CR3 as a MOV to CR0/CR3 would load them (a hole reads as 0). */
static void load_pdptes(struct vcpu *v)
{
    const struct hvm_guest_state *s = &v->hvm.st;
    if (!(s->cr0 & CR0_PG) || !(s->cr4 & CR4_PAE) || (s->efer & EFER_LMA))
        return;
    uint64_t gpa = s->cr3 & 0xffffffe0ULL;
    int64_t mfn = hvm_gfn_to_mfn(v->domain, gpa >> PAGE_SHIFT);
    for (unsigned int i = 0; i < 4; i++) {
        uint64_t e = 0;
        if (mfn >= 0)
            e = ((const uint64_t *)((const uint8_t *)mfn_to_virt((uint64_t)mfn) +
                                    (gpa & (PAGE_SIZE - 1))))[i];
        vmw(GUEST_PDPTE0 + 2 * i, e);
    }
}

static int vmx_vcpu_init(struct vcpu *v)
{
    int64_t mfn = mm_alloc_frame(DOMID_HV_OWNED);
    if (mfn < 0)
        return -XL_ENOMEM;
    void *vmcs = mfn_to_virt((uint64_t)mfn);
    memset(vmcs, 0, PAGE_SIZE);
    *(uint32_t *)vmcs = vmcs_revision;
    v->hvm.vmcb = vmcs;
    v->hvm.vmcb_pa = (uint64_t)mfn << PAGE_SHIFT;
    v->hvm.vmcs_cpu = -1;
    v->hvm.last_cpu = -1;
    vmcs_load(v);
    /* controls */
    vmw(PIN_CTLS, pin_ctls);
    vmw(PROC_CTLS, proc_ctls);
    vmw(PROC_CTLS2, proc2_ctls);
    vmw(EXIT_CTLS, exit_ctls);
    vmw(ENTRY_CTLS, entry_ctls);
    vmw(EXC_BITMAP, 0);
    vmw(PF_MASK, 0);
    vmw(PF_MATCH, 0);
    vmw(CR3_TARGET_COUNT, 0);
    vmw(EXIT_MSR_STORE_COUNT, 0);
    vmw(EXIT_MSR_LOAD_COUNT, 0);
    vmw(ENTRY_MSR_LOAD_COUNT, 0);
    vmw(ENTRY_INTR_INFO, 0);
    vmw(CR0_MASK, cr0_owned);
    vmw(CR4_MASK, cr4_forced);
    if (has_vpid)
        vmw(VPID_FIELD, VPID_GUESTS);
    vmw(EPT_POINTER, p2m_ept_pointer(&v->domain->hvmd.p2m));
    vmw(VMCS_LINK_PTR, ~0ULL);
    /* PVH's start state (Xen docs/misc/pvh.pandoc): 32-bit flat protected
     * mode, paging off; load_cpu replaces it with the toolstack's. */
    seg_write(GUEST_CS_SEL, GUEST_CS_LIMIT, GUEST_CS_BASE, GUEST_CS_AR, SEG_CODE, 0x8,
              0xffffffff, 0, 0xc9b);
    seg_write(GUEST_SS_SEL, GUEST_SS_LIMIT, GUEST_SS_BASE, GUEST_SS_AR, SEG_SS, 0x10,
              0xffffffff, 0, 0xc93);
    seg_write(GUEST_DS_SEL, GUEST_DS_LIMIT, GUEST_DS_BASE, GUEST_DS_AR, SEG_DATA, 0x10,
              0xffffffff, 0, 0xc93);
    seg_write(GUEST_ES_SEL, GUEST_ES_LIMIT, GUEST_ES_BASE, GUEST_ES_AR, SEG_DATA, 0x10,
              0xffffffff, 0, 0xc93);
    seg_write(GUEST_FS_SEL, GUEST_FS_LIMIT, GUEST_FS_BASE, GUEST_FS_AR, SEG_DATA, 0x10,
              0xffffffff, 0, 0xc93);
    seg_write(GUEST_GS_SEL, GUEST_GS_LIMIT, GUEST_GS_BASE, GUEST_GS_AR, SEG_DATA, 0x10,
              0xffffffff, 0, 0xc93);
    seg_write(GUEST_TR_SEL, GUEST_TR_LIMIT, GUEST_TR_BASE, GUEST_TR_AR, SEG_TR, 0, 0x67, 0,
              0x8b);
    seg_write(GUEST_LDTR_SEL, GUEST_LDTR_LIMIT, GUEST_LDTR_BASE, GUEST_LDTR_AR, SEG_LDTR, 0, 0,
              0, 0);
    vmw(GUEST_GDTR_BASE, 0);
    vmw(GUEST_GDTR_LIMIT, 0xffff);
    vmw(GUEST_IDTR_BASE, 0);
    vmw(GUEST_IDTR_LIMIT, 0xffff);
    vmw(GUEST_DR7, 0x400);
    vmw(GUEST_DEBUGCTL, 0);
    vmw(GUEST_RFLAGS, 0x2);
    vmw(GUEST_RIP, 0);
    vmw(GUEST_RSP, 0);
    vmw(GUEST_INTERRUPTIBILITY, 0);
    vmw(GUEST_ACTIVITY, 0);
    vmw(GUEST_PENDING_DBG, 0);
    vmw(GUEST_SYSENTER_CS, 0);
    vmw(GUEST_SYSENTER_ESP, 0);
    vmw(GUEST_SYSENTER_EIP, 0);
    if (has_pat)
        vmw(GUEST_PAT, 0x0007040600070406ULL);
    v->hvm.st.cr0 = 0x11; /* PE | ET */
    v->hvm.st.cr4 = 0;
    v->hvm.st.cr3 = 0;
    v->hvm.st.efer = 0;
    v->hvm.st.cs_attr = 0xc9b;
    v->hvm.msr_pat = 0x0007040600070406ULL;
    v->regs.rflags = 0x2;
    write_crs(v);
    vmcs_release(v);
    return 0;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
    if (!v->hvm.vmcb)
        return;
    unsigned int cpu = this_cpu()->cpu_id;
    for (unsigned int i = 0; i < NR_CPUS; i++) {
        if (last_vcpu[i] == v)
            last_vcpu[i] = NULL;
        if (cur_vmcs[i] == v)
            cur_vmcs[i] = NULL;
    }
    /* Active here or nowhere (a vcpu being destroyed does not run); the
     * VMCLEAR writes back whatever this CPU cached of it before the
     * frame is reused. */
    if (vmx_on[cpu])
        vmclear(v->hvm.vmcb_pa);
    mm_free_frame(v->hvm.vmcb_pa >> PAGE_SHIFT);
    v->hvm.vmcb = NULL;
    v->hvm.vmcb_pa = 0;
    v->hvm.vmcs_cpu = -1;
}

static void vmx_load_cpu(struct vcpu *v, const void *p)
{
    const struct hvm_hw_cpu *h = p;
    vmcs_load(v);
    v->hvm.st.cr0 = h->cr0;
    v->hvm.st.cr2 = h->cr2;
    v->hvm.st.cr3 = h->cr3;
    v->hvm.st.cr4 = h->cr4;
    v->hvm.st.efer = h->msr_efer;
    write_crs(v);
    load_pdptes(v);
    vmw(GUEST_RIP, h->rip);
    vmw(GUEST_RSP, h->rsp);
    vmw(GUEST_RFLAGS, h->rflags | 2);
    vmw(GUEST_DR7, h->dr7 ? (h->dr7 & 0xffffffffULL) : 0x400);
    seg_write(GUEST_CS_SEL, GUEST_CS_LIMIT, GUEST_CS_BASE, GUEST_CS_AR, SEG_CODE,
              (uint16_t)h->cs_sel, h->cs_limit, h->cs_base, h->cs_arbytes);
    seg_write(GUEST_SS_SEL, GUEST_SS_LIMIT, GUEST_SS_BASE, GUEST_SS_AR, SEG_SS,
              (uint16_t)h->ss_sel, h->ss_limit, h->ss_base, h->ss_arbytes);
    seg_write(GUEST_DS_SEL, GUEST_DS_LIMIT, GUEST_DS_BASE, GUEST_DS_AR, SEG_DATA,
              (uint16_t)h->ds_sel, h->ds_limit, h->ds_base, h->ds_arbytes);
    seg_write(GUEST_ES_SEL, GUEST_ES_LIMIT, GUEST_ES_BASE, GUEST_ES_AR, SEG_DATA,
              (uint16_t)h->es_sel, h->es_limit, h->es_base, h->es_arbytes);
    seg_write(GUEST_FS_SEL, GUEST_FS_LIMIT, GUEST_FS_BASE, GUEST_FS_AR, SEG_DATA,
              (uint16_t)h->fs_sel, h->fs_limit, h->fs_base, h->fs_arbytes);
    seg_write(GUEST_GS_SEL, GUEST_GS_LIMIT, GUEST_GS_BASE, GUEST_GS_AR, SEG_DATA,
              (uint16_t)h->gs_sel, h->gs_limit, h->gs_base, h->gs_arbytes);
    seg_write(GUEST_TR_SEL, GUEST_TR_LIMIT, GUEST_TR_BASE, GUEST_TR_AR, SEG_TR,
              (uint16_t)h->tr_sel, h->tr_limit, h->tr_base, h->tr_arbytes);
    seg_write(GUEST_LDTR_SEL, GUEST_LDTR_LIMIT, GUEST_LDTR_BASE, GUEST_LDTR_AR, SEG_LDTR,
              (uint16_t)h->ldtr_sel, h->ldtr_limit, h->ldtr_base, h->ldtr_arbytes);
    vmw(GUEST_GDTR_BASE, h->gdtr_base);
    vmw(GUEST_GDTR_LIMIT, h->gdtr_limit & 0xffff);
    vmw(GUEST_IDTR_BASE, h->idtr_base);
    vmw(GUEST_IDTR_LIMIT, h->idtr_limit & 0xffff);
    vmw(GUEST_SYSENTER_CS, h->sysenter_cs & 0xffff);
    vmw(GUEST_SYSENTER_ESP, h->sysenter_esp);
    vmw(GUEST_SYSENTER_EIP, h->sysenter_eip);
    vmw(GUEST_INTERRUPTIBILITY, 0);
    v->hvm.star = h->msr_star;
    v->hvm.lstar = h->msr_lstar;
    v->hvm.cstar = h->msr_cstar;
    v->hvm.sfmask = h->msr_syscall_mask;
    v->hvm.kernel_gs_base = h->shadow_gs;
    v->regs.rax = h->rax, v->regs.rbx = h->rbx, v->regs.rcx = h->rcx, v->regs.rdx = h->rdx;
    v->regs.rsi = h->rsi, v->regs.rdi = h->rdi, v->regs.rbp = h->rbp, v->regs.rsp = h->rsp;
    v->regs.r8 = h->r8, v->regs.r9 = h->r9, v->regs.r10 = h->r10, v->regs.r11 = h->r11;
    v->regs.r12 = h->r12, v->regs.r13 = h->r13, v->regs.r14 = h->r14, v->regs.r15 = h->r15;
    v->regs.rip = h->rip;
    v->regs.rflags = h->rflags | 2;
    v->hvm.st.cs_attr = (uint16_t)(h->cs_arbytes & 0xfff);
    v->hvm.st.cs_base = h->cs_base;
    v->hvm.st.cpl = (uint8_t)((h->ss_arbytes >> 5) & 3);
    v->hvm.st.int_shadow = 0;
    v->hvm.pending_exc = 0;
    vmcs_release(v);
}

static void vmx_vcpu_leave(struct vcpu *v)
{
    vmcs_release(v);
}

static void vmx_put_state(struct vcpu *v)
{
    vmcs_load(v);
    write_crs(v);
}

/* As svm_set_virq: injected at once (VM-entry interruption information)
 * when the guest can take it (IF set, no sti/mov-ss blocking, nothing
 * else being injected); otherwise interrupt-window exiting makes the CPU
 * exit as soon as it could, and the next entry injects it. */
static void vmx_set_virq(struct vcpu *v, int vector)
{
    vmcs_load(v);
    uint32_t proc = (uint32_t)vmr(PROC_CTLS) & ~PROC_INTR_WINDOW;
    if (vector >= 0) {
        if ((v->regs.rflags & RFLAGS_IF) && !v->hvm.st.int_shadow && !v->hvm.pending_exc)
            v->hvm.pending_exc = (uint64_t)(uint8_t)vector | (1u << 31); /* type 0: external */
        else
            proc |= PROC_INTR_WINDOW;
    }
    vmw(PROC_CTLS, proc);
}

static void vmx_inject(struct vcpu *v, unsigned int vector, int has_code, uint32_t code)
{
    v->hvm.pending_exc = (vector & 0xff) | (INTR_TYPE_HW_EXC << 8) | (has_code ? INTR_HAS_CODE : 0) |
                         INTR_VALID | ((uint64_t)code << 32);
    v->hvm.event_len = 0;
}

/* pending_exc (SVM's EVENTINJ layout: vector 7:0, type 10:8, error code
 * valid 11, valid 31, error code 63:32) into the VM-entry fields. The
 * bit positions are VMX's too; the types agree for what the common code
 * stores (0 external interrupt, 3 exception); software events (4-6) come
 * only from IDT-vectoring information and carry their length. */
static void write_event(struct vcpu *v)
{
    uint64_t e = v->hvm.pending_exc;
    if (!(e & INTR_VALID)) {
        vmw(ENTRY_INTR_INFO, 0);
        return;
    }
    uint32_t type = (uint32_t)(e >> 8) & 7;
    uint32_t info = (uint32_t)(e & 0xff) | (type << INTR_TYPE_SHIFT) | INTR_VALID;
    /* an error code only for a hardware exception in protected mode */
    if ((e & INTR_HAS_CODE) && type == INTR_TYPE_HW_EXC && (v->hvm.st.cr0 & CR0_PE)) {
        info |= INTR_HAS_CODE;
        vmw(ENTRY_EXC_CODE, e >> 32);
    }
    if (type == INTR_TYPE_SW_INT || type == INTR_TYPE_PRIV_SW || type == INTR_TYPE_SW_EXC)
        vmw(ENTRY_INSN_LEN, v->hvm.event_len);
    vmw(ENTRY_INTR_INFO, info);
}

static void inject_gp0(struct vcpu *v)
{
    vmx_inject(v, 13, 1, 0);
}

/* A control-register access that exits: a MOV to CR0/CR4 changing a bit
 * the read shadows own (CR0.NE, CD, NW, CR4.VMXE), or any MOV to/from CR8.
 * Emulated here; 0: done (skip the instruction), -1: #GP queued. */
static int cr_access(struct vcpu *v, uint64_t qual)
{
    unsigned int cr = qual & 15, type = (qual >> 4) & 3;
    uint64_t *reg = pv_gpr(&v->regs, (unsigned int)(qual >> 8) & 15);
    int lma = (v->hvm.st.efer & EFER_LMA) != 0;
    if (cr == 8) {
        if (type == 0) {
            if (*reg >> 4)
                return inject_gp0(v), -1;
            v->hvm.cr8 = *reg;
        } else if (type == 1) {
            *reg = v->hvm.cr8;
        }
        return 0;
    }
    if (type != 0 || (cr != 0 && cr != 4))
        return inject_gp0(v), -1; /* not one that exits with these controls */
    uint64_t val = *reg;
    if (!lma)
        val &= 0xffffffffULL;
    if (cr == 0) {
        uint64_t old = v->hvm.st.cr0;
        val |= 0x10; /* ET is fixed */
        if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
            return inject_gp0(v), -1;
        if ((val & CR0_PG) && !(old & CR0_PG) && (v->hvm.st.efer & EFER_LME)) {
            if (!(v->hvm.st.cr4 & CR4_PAE))
                return inject_gp0(v), -1;
            v->hvm.st.efer |= EFER_LMA;
        } else if (!(val & CR0_PG) && (old & CR0_PG) && lma) {
            if (v->hvm.st.cs_attr & (1u << 9))
                return inject_gp0(v), -1; /* paging off in 64-bit code */
            v->hvm.st.efer &= ~EFER_LMA;
        }
        v->hvm.st.cr0 = val;
    } else {
        if ((val & CR4_VMXE) || (val & ~cr4_fixed1) || (lma && !(val & CR4_PAE)))
            return inject_gp0(v), -1; /* no VMX for guests (CPUID says so) */
        v->hvm.st.cr4 = val;
    }
    write_crs(v);
    load_pdptes(v);
    return 0;
}

static void exit_decode(struct vcpu *v, struct hvm_exit *e, uint32_t reason)
{
    memset(e, 0, sizeof(*e));
    e->raw = reason;
    uint64_t qual = vmr(EXIT_QUAL);
    e->info1 = qual;
    e->info2 = vmr(GUEST_PHYS_ADDR);
    unsigned int len = (unsigned int)vmr(EXIT_INSN_LEN);
    if (reason & EXIT_ENTRY_FAILED) {
        printk("vmx: d%u v%u: VM entry failed, reason %u, qualification %#lx\n",
               v->domain->domid, v->id, reason & 0xffff, (unsigned long)qual);
        e->reason = HVM_EXIT_INVALID;
        return;
    }
    switch (reason & 0xffff) {
    case EXIT_EXC_NMI: {
        uint32_t info = (uint32_t)vmr(EXIT_INTR_INFO);
        e->info2 = info;
        /* an NMI for the hv (vmx_run passed it on); nothing else is
         * in the exception bitmap */
        e->reason = ((info >> 8) & 7) == INTR_TYPE_NMI ? HVM_EXIT_NONE : HVM_EXIT_UNHANDLED;
        return;
    }
    case EXIT_EXT_INTR:
    case EXIT_INTR_WINDOW:
    case EXIT_NMI_WINDOW:
    case EXIT_IO_SMI:
    case EXIT_OTHER_SMI:
        e->reason = HVM_EXIT_NONE;
        return;
    case EXIT_CPUID:
        e->reason = HVM_EXIT_CPUID;
        e->insn_len = len;
        return;
    case EXIT_HLT:
        e->reason = HVM_EXIT_HLT;
        e->insn_len = len;
        return;
    case EXIT_IO:
        e->reason = HVM_EXIT_IO;
        e->port = (uint16_t)(qual >> 16);
        e->io_in = (qual >> 3) & 1;
        e->io_string = (qual >> 4) & 1;
        e->io_size = (uint8_t)((qual & 7) + 1);
        e->insn_len = len;
        return;
    case EXIT_RDMSR:
        e->reason = HVM_EXIT_MSR_READ;
        e->insn_len = len;
        return;
    case EXIT_WRMSR:
        e->reason = HVM_EXIT_MSR_WRITE;
        e->insn_len = len;
        return;
    case EXIT_VMCALL:
        e->reason = HVM_EXIT_HYPERCALL;
        e->insn_len = len;
        return;
    case EXIT_EPT_VIOLATION:
        e->reason = HVM_EXIT_NPF;
        e->gpa = vmr(GUEST_PHYS_ADDR);
        e->npf_write = (qual >> 1) & 1;
        e->npf_fetch = (qual >> 2) & 1;
        e->npf_present = ((qual >> 3) & 7) != 0;
        return;
    case EXIT_TRIPLE_FAULT:
        e->reason = HVM_EXIT_TRIPLE_FAULT;
        return;
    case EXIT_INVD:
        e->reason = HVM_EXIT_NONE; /* nothing cached for it to drop: a no-op */
        e->insn_len = len;
        return;
    case EXIT_CR_ACCESS:
        e->reason = HVM_EXIT_NONE;
        e->insn_len = cr_access(v, qual) ? 0 : len;
        return;
    case EXIT_GETSEC:
    case EXIT_VMCLEAR ... EXIT_VMXON:
    case EXIT_INVEPT:
    case EXIT_INVVPID:
    case EXIT_MWAIT:
    case EXIT_MONITOR:
    case EXIT_XSETBV:
        e->reason = HVM_EXIT_UD; /* not offered in CPUID: #UD as the CPU would */
        return;
    default:
        e->reason = HVM_EXIT_UNHANDLED;
        return;
    }
}

/* The host state of this CPU: what the CPU loads at every VM exit. */
static void write_host_state(void)
{
    struct percpu *pc = this_cpu();
    struct desc_ptr g, i;
    sgdt(&g);
    sidt(&i);
    vmw(HOST_CR0, read_cr0());
    vmw(HOST_CR3, read_cr3());
    vmw(HOST_CR4, read_cr4());
    vmw(HOST_CS_SEL, HV_CS);
    vmw(HOST_SS_SEL, HV_DS);
    vmw(HOST_DS_SEL, HV_DS);
    vmw(HOST_ES_SEL, HV_DS);
    vmw(HOST_FS_SEL, 0);
    vmw(HOST_GS_SEL, 0);
    vmw(HOST_TR_SEL, HV_TSS);
    vmw(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmw(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmw(HOST_TR_BASE, (uint64_t)pc->tss);
    vmw(HOST_GDTR_BASE, g.base);
    vmw(HOST_IDTR_BASE, i.base);
    vmw(HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
    vmw(HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
    vmw(HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
    vmw(HOST_EFER, rdmsr(MSR_EFER));
    if (exit_ctls & EXIT_LOAD_PAT)
        vmw(HOST_PAT, rdmsr(MSR_PAT_NR));
    vmw(HOST_RIP, (uint64_t)vmx_exit_entry);
}

static void vmx_run(struct vcpu *v, struct hvm_exit *e)
{
    unsigned int cpu = this_cpu()->cpu_id;
    struct domain *d = v->domain;
    vmcs_load(v);
    write_host_state();
    vmw(GUEST_RIP, v->regs.rip);
    vmw(GUEST_RSP, v->regs.rsp);
    vmw(GUEST_RFLAGS, (v->regs.rflags | 2) & ~((1ULL << 3) | (1ULL << 5) | (1ULL << 15) | (~0ULL << 22)));
    uint64_t eptp = p2m_ept_pointer(&d->hvmd.p2m);
    vmw(EPT_POINTER, eptp);
    /* One VPID for every guest: its TLB entries go when another vcpu (or
     * the same on a new p2m, or on another CPU) enters this CPU; the
     * EPT's guest-physical ones too (a reused p2m root). */
    hvm_guest_entering(cpu, d); /* a p2m entry removed from now on waits for the exit */
    uint64_t gen = __atomic_load_n(&d->hvmd.p2m_gen, __ATOMIC_SEQ_CST);
    if (last_vcpu[cpu] != v || v->hvm.p2m_gen != gen || v->hvm.last_cpu != (int)cpu) {
        if (invept_single)
            invept(1, eptp);
        else
            invept(2, 0);
        if (has_vpid) {
            if (invvpid_single)
                invvpid(1, VPID_GUESTS);
            else
                invvpid(2, 0);
        }
    }
    last_vcpu[cpu] = v;
    v->hvm.last_cpu = (int)cpu;
    v->hvm.p2m_gen = gen;
    write_event(v);
    v->hvm.pending_exc = 0;
    uint64_t intr = vmr(GUEST_INTERRUPTIBILITY);
    if (!v->hvm.st.int_shadow)
        intr &= ~3ULL;
    if (!(v->regs.rflags & RFLAGS_IF))
        intr &= ~1ULL; /* sti blocking needs IF (VM-entry check) */
    vmw(GUEST_INTERRUPTIBILITY, intr);

    /* What VMX does not switch: CR2, the syscall MSRs, LDTR, the
     * GDTR/IDTR limits (an exit sets them to 0xffff). */
    struct desc_ptr gdtr, idtr;
    sgdt(&gdtr);
    sidt(&idtr);
    uint16_t ldtr = sldt();
    uint64_t host_cr2 = read_cr2();
    uint64_t h_star = rdmsr(MSR_STAR), h_lstar = rdmsr(MSR_LSTAR), h_cstar = rdmsr(MSR_CSTAR);
    uint64_t h_sfmask = rdmsr(MSR_SFMASK), h_kgs = rdmsr(MSR_KERNEL_GS_BASE);
    wrmsr(MSR_STAR, v->hvm.star);
    wrmsr(MSR_LSTAR, v->hvm.lstar);
    wrmsr(MSR_CSTAR, v->hvm.cstar);
    wrmsr(MSR_SFMASK, v->hvm.sfmask);
    wrmsr(MSR_KERNEL_GS_BASE, v->hvm.kernel_gs_base);
    write_cr2(v->hvm.st.cr2);

    arch_hvm_debugregs_enter(v);
    int failed = vmx_enter(&v->regs, v->hvm.launched);
    hvm_guest_left(cpu); /* IF still clear */
    arch_hvm_debugregs_exit(v); /* VM exit already left DR7 at 0x400 */

    v->hvm.st.cr2 = read_cr2();
    write_cr2(host_cr2);
    v->hvm.kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE); /* swapgs changes it */
    wrmsr(MSR_STAR, h_star);
    wrmsr(MSR_LSTAR, h_lstar);
    wrmsr(MSR_CSTAR, h_cstar);
    wrmsr(MSR_SFMASK, h_sfmask);
    wrmsr(MSR_KERNEL_GS_BASE, h_kgs);
    lgdt(&gdtr);
    lidt(&idtr);
    if (ldtr)
        lldt(ldtr);

    if (failed) {
        unsigned long err = (unsigned long)vmr(VM_INSN_ERROR);
        printk("vmx: d%u v%u: %s failed, VM-instruction error %lu\n", d->domid, v->id,
               v->hvm.launched ? "VMRESUME" : "VMLAUNCH", err);
        memset(e, 0, sizeof(*e));
        e->reason = HVM_EXIT_INVALID;
        e->raw = ~0ULL;
        e->info1 = err;
        return;
    }
    uint32_t reason = (uint32_t)vmr(EXIT_REASON);
    if (!(reason & EXIT_ENTRY_FAILED))
        v->hvm.launched = 1; /* a failed entry leaves the launch state as it was */
    /* An NMI that came while the guest ran exited here and is the hv's
     * (the watchdog's): handed to its handler as the CPU would have. */
    if ((reason & 0xffff) == EXIT_EXC_NMI &&
        (((uint32_t)vmr(EXIT_INTR_INFO) >> 8) & 7) == INTR_TYPE_NMI)
        __asm__ volatile("int $2" ::: "memory");
    /* Interrupts that came while the guest ran are taken here (ack on
     * exit is off: they wait in the local APIC). */
    __asm__ volatile("sti; nop; cli" ::: "memory");

    v->regs.rip = vmr(GUEST_RIP);
    v->regs.rsp = vmr(GUEST_RSP);
    v->regs.rflags = vmr(GUEST_RFLAGS);
    uint64_t cr0m = vmr(GUEST_CR0), cr4m = vmr(GUEST_CR4);
    v->hvm.st.cr0 = (cr0m & ~cr0_owned) | (vmr(CR0_SHADOW) & cr0_owned);
    v->hvm.st.cr4 = (cr4m & ~cr4_forced) | (vmr(CR4_SHADOW) & cr4_forced);
    v->hvm.st.cr3 = vmr(GUEST_CR3);
    v->hvm.st.efer = vmr(GUEST_EFER);
    uint64_t cs_ar = vmr(GUEST_CS_AR);
    v->hvm.st.cs_attr = attr_from_ar(cs_ar);
    v->hvm.st.cs_base = vmr(GUEST_CS_BASE);
    v->hvm.st.cpl = (uint8_t)((vmr(GUEST_SS_AR) >> 5) & 3);
    v->hvm.st.int_shadow = (vmr(GUEST_INTERRUPTIBILITY) & 3) != 0;
    v->hvm.exits++;
    /* An event whose delivery the exit interrupted goes again. */
    uint32_t idt = (uint32_t)vmr(IDT_VEC_INFO);
    if (idt & INTR_VALID) {
        v->hvm.pending_exc = (idt & (0xffu | (7u << 8) | INTR_HAS_CODE | INTR_VALID)) |
                             ((idt & INTR_HAS_CODE) ? vmr(IDT_VEC_CODE) << 32 : 0);
        v->hvm.event_len = (unsigned int)vmr(EXIT_INSN_LEN);
    }
    exit_decode(v, e, reason);
}

static int canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* The MSRs the VMCS holds, and the syscall MSRs vmx_run swaps. */
static int vmx_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    vmcs_load(v);
    switch (msr) {
    case MSR_FS_BASE: *val = vmr(GUEST_FS_BASE); return 0;
    case MSR_GS_BASE: *val = vmr(GUEST_GS_BASE); return 0;
    case MSR_KERNEL_GS_BASE: *val = v->hvm.kernel_gs_base; return 0;
    case MSR_STAR: *val = v->hvm.star; return 0;
    case MSR_LSTAR: *val = v->hvm.lstar; return 0;
    case MSR_CSTAR: *val = v->hvm.cstar; return 0;
    case MSR_SFMASK: *val = v->hvm.sfmask; return 0;
    case MSR_SYSENTER_CS: *val = vmr(GUEST_SYSENTER_CS); return 0;
    case MSR_SYSENTER_ESP: *val = vmr(GUEST_SYSENTER_ESP); return 0;
    case MSR_SYSENTER_EIP: *val = vmr(GUEST_SYSENTER_EIP); return 0;
    case 0x1d9: *val = 0; return 0; /* DEBUGCTL: no LBR */
    default: return -1;
    }
}

static int vmx_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    vmcs_load(v);
    switch (msr) {
    case MSR_PAT_NR:
        if (has_pat)
            vmw(GUEST_PAT, val); /* checked by hvm.c */
        return 0;
    case MSR_FS_BASE: if (!canonical(val)) return -1; vmw(GUEST_FS_BASE, val); return 0;
    case MSR_GS_BASE: if (!canonical(val)) return -1; vmw(GUEST_GS_BASE, val); return 0;
    case MSR_KERNEL_GS_BASE: if (!canonical(val)) return -1; v->hvm.kernel_gs_base = val; return 0;
    case MSR_STAR: v->hvm.star = val; return 0;
    case MSR_LSTAR: if (!canonical(val)) return -1; v->hvm.lstar = val; return 0;
    case MSR_CSTAR: if (!canonical(val)) return -1; v->hvm.cstar = val; return 0;
    case MSR_SFMASK: v->hvm.sfmask = val & 0xffffffffULL; return 0;
    case MSR_SYSENTER_CS: vmw(GUEST_SYSENTER_CS, val & 0xffff); return 0;
    case MSR_SYSENTER_ESP: if (!canonical(val)) return -1; vmw(GUEST_SYSENTER_ESP, val); return 0;
    case MSR_SYSENTER_EIP: if (!canonical(val)) return -1; vmw(GUEST_SYSENTER_EIP, val); return 0;
    case 0x1d9: return val ? -1 : 0;
    default: return -1;
    }
}

static uint64_t vmx_seg_base(struct vcpu *v, unsigned int seg)
{
    static const uint32_t field[6] = { GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
                                       GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE };
    if (seg >= 6)
        return 0;
    vmcs_load(v);
    return vmr(field[seg]);
}

static const struct hvm_ops vmx_ops = {
    .name = "VT-x",
    .p2m_format = P2M_EPT,
    .cpu_up = vmx_cpu_up,
    .vcpu_init = vmx_vcpu_init,
    .vcpu_destroy = vmx_vcpu_destroy,
    .load_cpu = vmx_load_cpu,
    .run = vmx_run,
    .put_state = vmx_put_state,
    .set_virq = vmx_set_virq,
    .inject = vmx_inject,
    .msr_read = vmx_msr_read,
    .msr_write = vmx_msr_write,
    .vcpu_leave = vmx_vcpu_leave,
    .seg_base = vmx_seg_base,
};

/* VT-x with EPT (4-level, write-back) and unrestricted guest, or NULL
 * (with the reason logged). */
const struct hvm_ops *vmx_probe(void);
const struct hvm_ops *vmx_probe(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 5)))
        return NULL;
    uint64_t basic = rdmsr(MSR_VMX_BASIC);
    if (((basic >> 32) & 0x1fff) > PAGE_SIZE || ((basic >> 50) & 0xf) != 6) {
        printk("hvm: VT-x with a VMCS larger than a page or not write-back: not used\n");
        return NULL;
    }
    if (basic & (1ULL << 48)) {
        printk("hvm: VT-x limited to 32-bit physical addresses: not used\n");
        return NULL;
    }
    vmcs_revision = (uint32_t)basic & 0x7fffffff;
    int true_ctls = (basic >> 55) & 1;
    uint64_t pin_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED);
    uint64_t proc_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED);
    uint64_t exit_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT);
    uint64_t entry_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY);
    if (!((proc_cap >> 32) & PROC_SECONDARY)) {
        printk("hvm: VT-x without secondary controls (no EPT): not used\n");
        return NULL;
    }
    uint64_t proc2_cap = rdmsr(MSR_VMX_PROCBASED2);
    uint64_t ept_cap = rdmsr(MSR_VMX_EPT_VPID_CAP);
    uint32_t proc2_may = (uint32_t)(proc2_cap >> 32);
    if (!(proc2_may & PROC2_EPT) || !(proc2_may & PROC2_UNRESTRICTED) ||
        !(ept_cap & (1ULL << 6)) || !(ept_cap & (1ULL << 14)) || !(ept_cap & (1ULL << 20))) {
        printk("hvm: VT-x without EPT (4-level, write-back, INVEPT) and unrestricted guest: not used\n");
        return NULL;
    }
    pin_ctls = adjust(pin_cap, PIN_EXT_INTR | PIN_NMI);
    proc_ctls = adjust(proc_cap, PROC_HLT | PROC_MWAIT | PROC_MONITOR | PROC_UNCOND_IO |
                                     PROC_CR8_LOAD | PROC_CR8_STORE | PROC_SECONDARY);
    proc_ctls &= ~(PROC_INTR_WINDOW);
    has_vpid = (proc2_may & PROC2_VPID) && (ept_cap & (1ULL << 32));
    proc2_ctls = adjust(proc2_cap, PROC2_EPT | PROC2_UNRESTRICTED | (has_vpid ? PROC2_VPID : 0));
    has_pat = ((exit_cap >> 32) & (EXIT_SAVE_PAT | EXIT_LOAD_PAT)) ==
                  (EXIT_SAVE_PAT | EXIT_LOAD_PAT) &&
              ((entry_cap >> 32) & ENTRY_LOAD_PAT);
    exit_ctls = adjust(exit_cap, EXIT_SAVE_DEBUG | EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
                                     (has_pat ? EXIT_SAVE_PAT | EXIT_LOAD_PAT : 0));
    entry_ctls = adjust(entry_cap, ENTRY_LOAD_DEBUG | ENTRY_LOAD_EFER |
                                       (has_pat ? ENTRY_LOAD_PAT : 0));
    entry_ctls &= ~ENTRY_IA32E; /* set per entry from the guest's EFER.LMA */
    uint32_t need_pin = PIN_EXT_INTR | PIN_NMI;
    uint32_t need_proc = PROC_HLT | PROC_UNCOND_IO | PROC_CR8_LOAD | PROC_CR8_STORE | PROC_SECONDARY;
    uint32_t need_exit = EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER;
    if ((pin_ctls & need_pin) != need_pin || (proc_ctls & need_proc) != need_proc ||
        (proc_ctls & (PROC_CR3_LOAD | PROC_CR3_STORE | PROC_MSR_BITMAPS | PROC_IO_BITMAPS |
                      PROC_TPR_SHADOW)) ||
        (exit_ctls & need_exit) != need_exit || (exit_ctls & EXIT_ACK_INTR) ||
        !(entry_ctls & ENTRY_LOAD_EFER) ||
        ((entry_cap >> 32) & ENTRY_IA32E) == 0 || (entry_cap & ENTRY_IA32E)) {
        printk("hvm: VT-x controls not as needed (pin %#x proc %#x exit %#x entry %#x): not used\n",
               pin_ctls, proc_ctls, exit_ctls, entry_ctls);
        return NULL;
    }
    invept_single = (ept_cap >> 25) & 1;
    invept_all = (ept_cap >> 26) & 1;
    if (!invept_all && !invept_single) {
        printk("hvm: VT-x without an INVEPT type: not used\n");
        return NULL;
    }
    invvpid_single = has_vpid && ((ept_cap >> 41) & 1);
    invvpid_all = has_vpid && ((ept_cap >> 42) & 1);
    if (has_vpid && !invvpid_single && !invvpid_all) {
        has_vpid = 0; /* cannot flush it: no VPID */
        proc2_ctls &= ~PROC2_VPID;
    }
    cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    /* Unrestricted guest lifts PE and PG; NE (and VMXE in CR4) stay
     * forced: the guest owns the rest, and sees these as it set them. */
    cr0_forced = cr0_fixed0 & ~(CR0_PE | CR0_PG);
    cr0_owned = cr0_forced | CR0_CD | CR0_NW;
    cr4_forced = cr4_fixed0 | CR4_VMXE;
    printk("hvm: VT-x with EPT, unrestricted guest%s (VMCS rev %#x%s)\n",
           has_vpid ? ", VPID" : "", vmcs_revision, has_pat ? ", PAT switched" : "");
    return &vmx_ops;
}
