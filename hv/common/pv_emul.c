/*
 * pv_emul.c - privileged instructions a 64-bit PV kernel (ring 3) may
 * execute and that Xen emulates for it (emul-priv-op): mov from/to
 * control registers, clts, wbinvd, cpuid, rdmsr/wrmsr of the segment
 * base MSRs, port I/O with (virtual) I/O privilege, cli/sti as no-ops
 * with I/O privilege. Anything else gets #GP.
 * Owns: the instruction decoder (pure) and the guest-visible effects.
 * Must never: execute a guest instruction on the guest's behalf beyond
 * what is listed, or touch ports the hypervisor owns.
 */
#include <xenolith/domain.h>
#include <xenolith/guest_access.h>
#include <xenolith/lib.h>

#define CR0_TS (1ULL << 3)

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
static uint64_t *gpr(struct cpu_regs *r, unsigned int n)
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
    (void)v;
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
    if (leaf == 1) {
        r[2] |= 1u << 31;  /* hypervisor present */
        r[2] &= ~(1u << 5); /* no VMX */
        r[2] &= ~(1u << 3); /* no MONITOR/MWAIT */
        r[3] &= ~(1u << 22); /* no ACPI thermal MSRs */
    }
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

    switch (in.op) {
    case PV_OP_MOV_FROM_CR: {
        uint64_t val;
        switch (in.cr) {
        case 0: val = (arch_read_cr(0) & ~CR0_TS) | (v->pv.cr0_ts ? CR0_TS : 0); break;
        case 2: val = v->pv.cr2; break;
        case 3: val = v->guest_table << 12; break;
        case 4: val = arch_read_cr(4); break;
        default: return 0;
        }
        *gpr(regs, in.reg) = val;
        break;
    }
    case PV_OP_MOV_TO_CR:
        /* Only CR0.TS may change (Xen); CR3 loads go through mmuext_op. */
        if (in.cr != 0)
            return 0;
        if ((*gpr(regs, in.reg) ^ arch_read_cr(0)) & ~CR0_TS)
            return 0;
        v->pv.cr0_ts = !!(*gpr(regs, in.reg) & CR0_TS);
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
        switch ((uint32_t)regs->rcx) {
        case MSR_FS_BASE: val = v->pv.fs_base; break;
        case MSR_GS_BASE: val = v->pv.kernel_mode ? v->pv.gs_base_kernel : v->pv.gs_base_user; break;
        case MSR_SHADOW_GS_BASE: val = v->pv.kernel_mode ? v->pv.gs_base_user : v->pv.gs_base_kernel; break;
        default: return 0;
        }
        regs->rax = (uint32_t)val;
        regs->rdx = val >> 32;
        break;
    }
    case PV_OP_WRMSR: {
        uint64_t val = ((regs->rdx & 0xffffffff) << 32) | (regs->rax & 0xffffffff);
        uint64_t top = val >> 47;
        if (top != 0 && top != 0x1FFFF)
            return 0;
        switch ((uint32_t)regs->rcx) {
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
