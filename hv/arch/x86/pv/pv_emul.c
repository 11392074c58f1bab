/*
 * pv_emul.c - privileged instructions a 64-bit PV kernel (ring 3) may
 * execute and that Xen emulates for it (emul-priv-op): mov from/to
 * control registers, clts, wbinvd, cpuid, rdmsr/wrmsr of the segment
 * base MSRs, port I/O with (virtual) I/O privilege, cli/sti as no-ops
 * with I/O privilege. Anything else gets #GP. Only guest kernel mode is
 * treated as CPL 0: guest user mode gets just I/O, cli/sti (virtual IOPL
 * 3) and cpuid, as in Xen.
 * Owns: the instruction decoder (pure) and the guest-visible effects.
 * Must never: execute a guest instruction on the guest's behalf beyond
 * what is listed, or touch ports the hypervisor owns.
 */
#include <xenolith/domain.h>
#include <xenolith/guest_access.h>
#include <xenolith/lib.h>

#define CR0_TS (1ULL << 3)
/* Xen's PV CR4 view: the guest controls TSD, DE, FSGSBASE and OSXSAVE in
 * what it reads back (Xenolith does not apply them to the real CR4 yet);
 * PAE, MCE, OSFXSR and OSXMMEXCPT show the real CR4; the rest reads 0. */
#define PV_CR4_GUEST_MASK   ((1ULL << 2) | (1ULL << 3) | (1ULL << 16) | (1ULL << 18))
#define PV_CR4_VISIBLE_MASK ((1ULL << 5) | (1ULL << 6) | (1ULL << 9) | (1ULL << 10))

#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_SHADOW_GS_BASE 0xc0000102

int pv_is_forced_cpuid(const uint8_t *b, size_t n)
{
    static const uint8_t sig[7] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2 };
    return n >= sizeof(sig) && !memcmp(b, sig, sizeof(sig));
}

int pv_decode(const uint8_t *b, size_t n, struct pv_insn *in)
{
    size_t i = 0;
    int opsize16 = 0, rex = 0;

    memset(in, 0, sizeof(*in));
    /* Prefixes: operand size, then at most one REX right before the opcode. */
    while (i < n && i < 4 && b[i] == 0x66) {
        opsize16 = 1;
        i++;
    }
    if (i < n && (b[i] & 0xf0) == 0x40)
        rex = b[i++];
    if (i >= n)
        return -1;

    uint8_t op = b[i++];
    switch (op) {
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: /* in/out imm8 */
        if (i >= n)
            return -1;
        in->imm = b[i++];
        in->op = (op & 2) ? PV_OP_OUT : PV_OP_IN;
        in->size = (op & 1) ? (opsize16 ? 2 : 4) : 1;
        break;
    case 0xec: case 0xed: case 0xee: case 0xef: /* in/out %dx */
        in->port_dx = 1;
        in->op = (op & 2) ? PV_OP_OUT : PV_OP_IN;
        in->size = (op & 1) ? (opsize16 ? 2 : 4) : 1;
        break;
    case 0xfa:
        in->op = PV_OP_CLI;
        break;
    case 0xfb:
        in->op = PV_OP_STI;
        break;
    case 0xf4:
        in->op = PV_OP_HLT;
        break;
    case 0xcd:
        if (i >= n)
            return -1;
        in->imm = b[i++];
        in->op = PV_OP_INT;
        break;
    case 0x0f: {
        if (i >= n)
            return -1;
        uint8_t op2 = b[i++];
        switch (op2) {
        case 0x06: in->op = PV_OP_CLTS; break;
        case 0x09: in->op = PV_OP_WBINVD; break;
        case 0x30: in->op = PV_OP_WRMSR; break;
        case 0x32: in->op = PV_OP_RDMSR; break;
        case 0xa2: in->op = PV_OP_CPUID; break;
        case 0x20: case 0x22: {
            if (i >= n)
                return -1;
            uint8_t modrm = b[i++];
            /* mov to/from %crN is always register-direct; mod is ignored
             * by the CPU, so accept any mod as the hardware does. */
            in->cr = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
            in->reg = (modrm & 7) | ((rex & 1) ? 8 : 0);
            in->op = op2 == 0x20 ? PV_OP_MOV_FROM_CR : PV_OP_MOV_TO_CR;
            break;
        }
        default:
            return -1;
        }
        break;
    }
    default:
        return -1;
    }
    if (opsize16 && in->op != PV_OP_IN && in->op != PV_OP_OUT)
        return -1;
    in->len = (unsigned int)i;
    return 0;
}

/* General registers by x86 encoding number. */
uint64_t *pv_gpr(struct cpu_regs *r, unsigned int n)
{
    switch (n & 15) {
    case 0: return &r->rax;
    case 1: return &r->rcx;
    case 2: return &r->rdx;
    case 3: return &r->rbx;
    case 4: return &r->rsp;
    case 5: return &r->rbp;
    case 6: return &r->rsi;
    case 7: return &r->rdi;
    case 8: return &r->r8;
    case 9: return &r->r9;
    case 10: return &r->r10;
    case 11: return &r->r11;
    case 12: return &r->r12;
    case 13: return &r->r13;
    case 14: return &r->r14;
    default: return &r->r15;
    }
}

void pv_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    if (leaf >= 0x40000000 && leaf < 0x40010000) {
        r[0] = r[1] = r[2] = r[3] = 0;
        switch (leaf) {
        case 0x40000000:
            r[0] = 0x40000005; /* Xen 4.17: max leaf base + 5 */
            memcpy(&r[1], "XenV", 4);
            memcpy(&r[2], "MMXe", 4);
            memcpy(&r[3], "nVMM", 4);
            break;
        case 0x40000001:
            r[0] = (4u << 16) | 17u;
            break;
        case 0x40000002:
            r[0] = 1;          /* hypercall pages */
            r[1] = 0x40000000; /* MSR base for them (HVM only) */
            break;
        default:
            break;
        }
        return;
    }
    arch_cpuid(leaf, sub, r);
    /* Xen's PV feature policy: only the features cpufeatureset.h marks
     * 'A' (all guests) stay visible; the masks below are those markings
     * (Xen 4.17's public header) for the words a PV kernel reads. So a PV
     * guest sees no PSE, PGE, MTRR, VMX/SVM, MONITOR, 1 GiB pages... and
     * never builds superpage mappings the hv would refuse. */
    switch (leaf) {
    case 1:
        r[3] &= 0x1fc9cbf5u; /* word 0 */
        r[2] &= 0xf6d83203u; /* word 1 */
        r[2] &= ~(1u << 22 | 1u << 21); /* X2APIC is not 'A'; ACPI stays off below */
        r[3] &= ~(1u << 22);  /* no ACPI thermal MSRs */
        r[2] |= 1u << 31;     /* hypervisor present */
        r[2] &= ~(1u << 27);  /* OSXSAVE mirrors the guest's CR4.OSXSAVE */
        if (v && (v->pv.cr4 & (1ULL << 18)))
            r[2] |= 1u << 27;
        break;
    case 7:
        if (sub == 0) {
            r[1] &= 0xfdaf0b29u; /* word 5 */
            r[2] &= 0x02405f43u; /* word 6 */
            r[3] &= 0xac00441cu; /* word 9 */
        } else {
            r[0] = r[1] = r[2] = r[3] = 0;
        }
        break;
    case 0x80000001:
        r[3] &= 0xea500800u; /* word 2 */
        r[2] &= 0x042109e3u; /* word 3 */
        break;
    default:
        break;
    }
}

/* Xen's virtual machine-check MSRs (vmce), which Linux reads as soon as
 * CPUID shows MCE/MCA: MCG_CAP with 2 banks and no MCG_CTL, MCG_STATUS 0,
 * each bank's CTL as last written (all ones at start), STATUS/ADDR/MISC 0.
 * No machine check is ever injected. 0 = handled, else the guest's #GP. */
#define MSR_MCG_CAP    0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MC0_CTL    0x400
#define VMCE_BANKS     2
#define MCG_TES_P      (1ULL << 11)

static int pv_vmce_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    if (msr == MSR_MCG_CAP) {
        *val = MCG_TES_P | VMCE_BANKS;
        return 0;
    }
    if (msr == MSR_MCG_STATUS) {
        *val = 0;
        return 0;
    }
    if (msr >= MSR_MC0_CTL && msr < MSR_MC0_CTL + 4 * VMCE_BANKS) {
        unsigned int bank = (msr - MSR_MC0_CTL) / 4;
        *val = (msr & 3) == 0 ? ~v->pv.mci_ctl_cleared[bank] : 0;
        return 0;
    }
    return -1;
}

static int pv_vmce_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
    if (msr == MSR_MCG_STATUS)
        return val ? -1 : 0;
    if (msr >= MSR_MC0_CTL && msr < MSR_MC0_CTL + 4 * VMCE_BANKS) {
        unsigned int bank = (msr - MSR_MC0_CTL) / 4;
        if ((msr & 3) == 0) {
            v->pv.mci_ctl_cleared[bank] = ~val;
            return 0;
        }
        return (msr & 3) == 1 && val ? -1 : 0; /* STATUS only to 0; ADDR/MISC ignored */
    }
    return -1;
}

/* Xen's iopl_ok: the virtual IOPL covers the current guest mode. */
static int io_privileged(const struct vcpu *v)
{
    return v->pv.iopl >= (v->pv.kernel_mode ? 1u : 3u);
}

static int io_permitted(const struct vcpu *v, uint16_t port, unsigned int size)
{
    return v->domain->privileged && !arch_port_reserved(port, size);
}

int pv_emulate_priv_op(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t buf[16];
    struct pv_insn in;
    size_t n = 0;

    /* Fetch byte by byte up to a page boundary so a short instruction at
     * the end of a mapping still decodes. */
    while (n < sizeof(buf) && !copy_from_guest_va(v->cr3, buf + n, regs->rip + n, 1))
        n++;
    if (pv_decode(buf, n, &in))
        return 0;
    /* Xen emulates as CPL 0 only in guest kernel mode. Guest user mode
     * is CPL 3: only what the (virtual) IOPL allows - port I/O and
     * cli/sti - and cpuid; everything else is a #GP for the guest. */
    if (!v->pv.kernel_mode && in.op != PV_OP_IN && in.op != PV_OP_OUT && in.op != PV_OP_CLI &&
        in.op != PV_OP_STI && in.op != PV_OP_CPUID)
        return 0;

    switch (in.op) {
    case PV_OP_MOV_FROM_CR: {
        uint64_t val;
        switch (in.cr) {
        case 0: val = (arch_read_cr(0) & ~CR0_TS) | (v->pv.cr0_ts ? CR0_TS : 0); break;
        case 2: val = v->pv.cr2; break;
        case 3: val = v->guest_table << 12; break;
        case 4: val = v->pv.cr4 | (arch_read_cr(4) & PV_CR4_VISIBLE_MASK); break;
        default: return 0;
        }
        *pv_gpr(regs, in.reg) = val;
        break;
    }
    case PV_OP_MOV_TO_CR:
        /* As Xen: CR2 and CR4 writes are taken (CR4 keeps only the
         * guest-controllable bits, which Linux's xen_write_cr4 writes back
         * with a native mov); only CR0.TS may change; CR3 loads go through
         * mmuext_op. */
        if (in.cr == 2) {
            v->pv.cr2 = *pv_gpr(regs, in.reg);
            break;
        }
        if (in.cr == 4) {
            uint64_t want = *pv_gpr(regs, in.reg) & PV_CR4_GUEST_MASK;
            uint32_t r[4];
            pv_cpuid(v, 1, 0, r); /* the policy: only bits whose feature the guest sees */
            if (!(r[3] & (1u << 4)))
                want &= ~(1ULL << 2); /* TSD needs TSC */
            if (!(r[3] & (1u << 2)))
                want &= ~(1ULL << 3); /* DE */
            if (!(r[2] & (1u << 26)))
                want &= ~(1ULL << 18); /* OSXSAVE needs XSAVE */
            pv_cpuid(v, 7, 0, r);
            if (!(r[1] & 1u))
                want &= ~(1ULL << 16); /* FSGSBASE */
            v->pv.cr4 = want;
            break;
        }
        if (in.cr != 0)
            return 0;
        if ((*pv_gpr(regs, in.reg) ^ arch_read_cr(0)) & ~CR0_TS)
            return 0;
        v->pv.cr0_ts = !!(*pv_gpr(regs, in.reg) & CR0_TS);
        break;
    case PV_OP_CLTS:
        v->pv.cr0_ts = 0;
        break;
    case PV_OP_WBINVD:
        if (v->domain->privileged)
            arch_wbinvd();
        break;
    case PV_OP_CPUID: {
        uint32_t r[4];
        pv_cpuid(v, (uint32_t)regs->rax, (uint32_t)regs->rcx, r);
        regs->rax = r[0], regs->rbx = r[1], regs->rcx = r[2], regs->rdx = r[3];
        break;
    }
    case PV_OP_RDMSR: {
        uint64_t val;
        pv_sync_segments(v);
        switch ((uint32_t)regs->rcx) {
        case MSR_FS_BASE: val = v->pv.fs_base; break;
        case MSR_GS_BASE: val = v->pv.kernel_mode ? v->pv.gs_base_kernel : v->pv.gs_base_user; break;
        case MSR_SHADOW_GS_BASE: val = v->pv.kernel_mode ? v->pv.gs_base_user : v->pv.gs_base_kernel; break;
        default:
            if (pv_vmce_rdmsr(v, (uint32_t)regs->rcx, &val))
                return 0;
            break;
        }
        regs->rax = (uint32_t)val;
        regs->rdx = val >> 32;
        break;
    }
    case PV_OP_WRMSR: {
        uint64_t val = ((regs->rdx & 0xffffffff) << 32) | (regs->rax & 0xffffffff);
        uint64_t top = val >> 47;
        uint32_t msr = (uint32_t)regs->rcx;
        if (msr != MSR_FS_BASE && msr != MSR_GS_BASE && msr != MSR_SHADOW_GS_BASE) {
            if (pv_vmce_wrmsr(v, msr, val))
                return 0;
            break;
        }
        if (top != 0 && top != 0x1FFFF)
            return 0;
        pv_sync_segments(v);
        switch (msr) {
        case MSR_FS_BASE: v->pv.fs_base = val; break;
        case MSR_GS_BASE:
            *(v->pv.kernel_mode ? &v->pv.gs_base_kernel : &v->pv.gs_base_user) = val;
            break;
        case MSR_SHADOW_GS_BASE:
            *(v->pv.kernel_mode ? &v->pv.gs_base_user : &v->pv.gs_base_kernel) = val;
            break;
        default: return 0;
        }
        break;
    }
    case PV_OP_IN:
    case PV_OP_OUT: {
        uint16_t port = in.port_dx ? (uint16_t)regs->rdx : (uint16_t)in.imm;
        if (!io_privileged(v))
            return 0;
        uint32_t mask = in.size == 4 ? 0xffffffffu : (1u << (8 * in.size)) - 1;
        if (in.op == PV_OP_IN) {
            uint32_t val = io_permitted(v, port, in.size) ? arch_io_in(port, in.size) : ~0u;
            if (in.size == 4)
                regs->rax = val; /* 32-bit writes zero-extend */
            else
                regs->rax = (regs->rax & ~(uint64_t)mask) | (val & mask);
        } else if (io_permitted(v, port, in.size)) {
            arch_io_out(port, in.size, (uint32_t)regs->rax & mask);
        }
        break;
    }
    case PV_OP_CLI:
    case PV_OP_STI:
        if (!io_privileged(v))
            return 0;
        break; /* Xen: accepted and ignored */
    default:
        return 0; /* hlt, int, ... : #GP */
    }
    regs->rip += in.len;
    return 1;
}

/* ------------------------------------------------ descriptor checking */

#define SEG_P     (1u << 15)
#define SEG_DPL   (3u << 13)
#define SEG_S     (1u << 12)
#define SEG_TYPE  (15u << 8)
#define SEG_TYPE_CALL_GATE (12u << 8)
#define GUEST_FIRST_RESERVED_ENTRY 7168 /* selector 0xe000 */
#define FLAT_KERNEL_CS_SEL 0xe033

/* Which code selectors a guest call gate may name: its own GDT part, its
 * LDT, or the flat kernel code selector the hv provides. */
static int gate_selector_ok(uint16_t sel)
{
    return (sel >> 3) < GUEST_FIRST_RESERVED_ENTRY || sel == FLAT_KERNEL_CS_SEL || (sel & 4);
}

int pv_check_descriptor(uint64_t *desc)
{
    uint32_t lo = (uint32_t)*desc, hi = (uint32_t)(*desc >> 32);

    if (!(hi & SEG_P))
        return 1; /* loading it faults in the guest: harmless */
    /* The guest kernel runs in ring 3: nothing may claim a lower DPL. */
    uint32_t dpl = (hi >> 13) & 3;
    if (dpl < 3)
        dpl = 3;
    hi = (hi & ~SEG_DPL) | (dpl << 13);

    if (!(hi & SEG_S)) {
        if ((hi & SEG_TYPE) == 0)
            return 1; /* type 0: also the upper half of a 64-bit gate */
        if ((hi & SEG_TYPE) != SEG_TYPE_CALL_GATE)
            return 0; /* LDT, TSS, interrupt/trap gates: never */
        uint16_t cs = (uint16_t)(lo >> 16);
        if (!gate_selector_ok(cs))
            return 0;
        /* DPL 0: every use traps (#GP naming the gate); the guest's DPL
         * travels in the target selector's RPL. */
        hi &= ~SEG_DPL;
        cs = (uint16_t)((cs & ~3u) | dpl);
        lo = (lo & 0xffffu) | ((uint32_t)cs << 16);
        if (hi & 0xff)
            return 0; /* reserved bits of a 64-bit gate */
    }
    *desc = ((uint64_t)hi << 32) | lo;
    return 1;
}

/* ------------------------------------ writes to page tables (ptwr) */

int pv_decode_write(const uint8_t *buf, size_t n, struct pv_winsn *in)
{
    size_t i = 0;
    unsigned int rex = 0;

    memset(in, 0, sizeof(*in));
    /* lock and segment overrides (the address comes from %cr2 anyway). */
    while (i < n && (buf[i] == 0xf0 || buf[i] == 0x2e || buf[i] == 0x3e || buf[i] == 0x26 ||
                     buf[i] == 0x36 || buf[i] == 0x64 || buf[i] == 0x65))
        i++;
    if (i < n && (buf[i] & 0xf0) == 0x40)
        rex = buf[i++];
    if (i >= n)
        return -1;
    uint8_t op = buf[i++];
    int imm_bytes = 0;
    int need_reg_field = -1; /* /digit the opcode requires, -1: a register */
    int byte_op = 0;         /* an 8-bit store (Linux's clear_bit on a PTE is `lock andb`) */
    switch (op) {
    case 0x88: in->op = PV_WOP_MOV; byte_op = 1; break;
    case 0x08: in->op = PV_WOP_OR; byte_op = 1; break;
    case 0x20: in->op = PV_WOP_AND; byte_op = 1; break;
    case 0x30: in->op = PV_WOP_XOR; byte_op = 1; break;
    case 0xc6: in->op = PV_WOP_MOV; imm_bytes = 1; need_reg_field = 0; byte_op = 1; break;
    case 0x80: imm_bytes = 1; byte_op = 1; break;
    case 0x89: in->op = PV_WOP_MOV; break;
    case 0x87: in->op = PV_WOP_XCHG; break;
    case 0x09: in->op = PV_WOP_OR; break;
    case 0x21: in->op = PV_WOP_AND; break;
    case 0x31: in->op = PV_WOP_XOR; break;
    case 0xc7: in->op = PV_WOP_MOV; imm_bytes = 4; need_reg_field = 0; break;
    case 0x81: imm_bytes = 4; break;
    case 0x83: imm_bytes = 1; break;
    case 0x0f:
        if (i >= n || buf[i] != 0xb1)
            return -1;
        i++;
        in->op = PV_WOP_CMPXCHG;
        break;
    default:
        return -1;
    }
    if (i >= n)
        return -1;
    uint8_t modrm = buf[i++];
    unsigned int mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    if (mod == 3)
        return -1; /* register destination: not a memory write */
    if (op == 0x81 || op == 0x83 || op == 0x80) {
        in->op = reg == 1 ? PV_WOP_OR : reg == 4 ? PV_WOP_AND : reg == 6 ? PV_WOP_XOR : PV_WOP_NONE;
        if (in->op == PV_WOP_NONE)
            return -1;
    } else if (need_reg_field >= 0 && reg != (unsigned int)need_reg_field) {
        return -1;
    }
    size_t disp = 0;
    if (rm == 4) {
        if (i >= n)
            return -1;
        uint8_t sib = buf[i++];
        if (mod == 0 && (sib & 7) == 5)
            disp = 4;
    } else if (mod == 0 && rm == 5) {
        disp = 4; /* rip-relative */
    }
    if (mod == 1)
        disp = 1;
    else if (mod == 2)
        disp = 4;
    i += disp;
    if (imm_bytes) {
        if (i + (size_t)imm_bytes > n)
            return -1;
        int64_t imm = imm_bytes == 1 ? (int8_t)buf[i]
                                     : (int32_t)((uint32_t)buf[i] | (uint32_t)buf[i + 1] << 8 |
                                                 (uint32_t)buf[i + 2] << 16 |
                                                 (uint32_t)buf[i + 3] << 24);
        in->imm = (uint64_t)imm;
        in->has_imm = 1;
        i += (size_t)imm_bytes;
    } else {
        /* Without a REX prefix, byte registers 4-7 are %ah..%bh: not taken. */
        if (byte_op && !rex && reg >= 4)
            return -1;
        in->reg = reg | ((rex & 4) ? 8 : 0);
    }
    if (i > n)
        return -1;
    in->size = byte_op ? 1 : (rex & 8) ? 8 : 4;
    in->len = (unsigned int)i;
    return 0;
}

static uint64_t size_mask(unsigned int size)
{
    return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* The part of the 8-byte entry the instruction reads. */
static uint64_t dest_part(const struct pv_winsn *in, uint64_t old, unsigned int off)
{
    return (old >> (off * 8)) & size_mask(in->size);
}

static uint64_t source(const struct pv_winsn *in, const struct cpu_regs *regs)
{
    uint64_t s = in->has_imm ? in->imm : *pv_gpr((struct cpu_regs *)regs, in->reg);
    return s & size_mask(in->size);
}

void pv_write_compute(const struct pv_winsn *in, const struct cpu_regs *regs, uint64_t old,
                      unsigned int off, uint64_t *new_entry, int *write)
{
    uint64_t cur = dest_part(in, old, off), src = source(in, regs), val;
    uint64_t mask = size_mask(in->size);
    *write = 1;
    switch (in->op) {
    case PV_WOP_OR: val = cur | src; break;
    case PV_WOP_AND: val = cur & src; break;
    case PV_WOP_XOR: val = cur ^ src; break;
    case PV_WOP_CMPXCHG:
        val = src;
        if ((regs->rax & mask) != cur)
            *write = 0;
        break;
    default: /* MOV, XCHG */
        val = src;
        break;
    }
    *new_entry = (old & ~(mask << (off * 8))) | ((val & mask) << (off * 8));
    if (!*write)
        *new_entry = old;
}

#define FL_CF 0x1ULL
#define FL_PF 0x4ULL
#define FL_AF 0x10ULL
#define FL_ZF 0x40ULL
#define FL_SF 0x80ULL
#define FL_OF 0x800ULL

/* ZF, SF, PF of result r (operand size bits wide). */
static uint64_t result_flags(uint64_t r, unsigned int size)
{
    uint64_t f = 0;
    if (!(r & size_mask(size)))
        f |= FL_ZF;
    if ((r >> (size * 8 - 1)) & 1)
        f |= FL_SF;
    if (!(__builtin_popcount((unsigned int)(r & 0xff)) & 1))
        f |= FL_PF;
    return f;
}

void pv_write_commit(const struct pv_winsn *in, struct cpu_regs *regs, uint64_t old,
                     unsigned int off)
{
    uint64_t cur = dest_part(in, old, off), src = source(in, regs);
    uint64_t mask = size_mask(in->size);
    const uint64_t arith = FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF;

    switch (in->op) {
    case PV_WOP_XCHG:
        *pv_gpr(regs, in->reg) = cur; /* 32-bit results zero-extend */
        break;
    case PV_WOP_CMPXCHG: {
        uint64_t acc = regs->rax & mask, r = (acc - cur) & mask;
        uint64_t f = result_flags(r, in->size);
        unsigned int top = in->size * 8 - 1;
        if (acc < cur)
            f |= FL_CF;
        if ((((acc ^ cur) & (acc ^ r)) >> top) & 1)
            f |= FL_OF;
        if ((acc ^ cur ^ r) & 0x10)
            f |= FL_AF;
        regs->rflags = (regs->rflags & ~arith) | f;
        if (acc != cur)
            regs->rax = cur;
        break;
    }
    case PV_WOP_OR:
    case PV_WOP_AND:
    case PV_WOP_XOR: {
        uint64_t r = in->op == PV_WOP_OR ? cur | src : in->op == PV_WOP_AND ? cur & src : cur ^ src;
        /* CF = OF = 0; AF is undefined: left as it was. */
        regs->rflags = (regs->rflags & ~(arith & ~FL_AF)) | result_flags(r, in->size);
        break;
    }
    default:
        break;
    }
    regs->rip += in->len;
}
