/*
 * regs.h - the register frame every entry into the hv builds (entry.S).
 * Owns: struct cpu_regs; its layout must match entry.S push order.
 */
#ifndef XENOLITH_REGS_H
#define XENOLITH_REGS_H

#include <stdint.h>

#define VEC_SYSCALL 0x100 /* pseudo vector: `syscall` hypercall entry */

struct cpu_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss; /* as the CPU pushes them */
};

_Static_assert(sizeof(struct cpu_regs) == 22 * 8, "entry.S pushes 22 qwords");
/* entry.S builds a guest's frame in place in its vcpu's cpu_regs, and the
 * CPU aligns TSS.rsp0 down to 16 bytes before it pushes one. */
_Static_assert(sizeof(struct cpu_regs) % 16 == 0, "the frame's end must stay 16-byte aligned");

static inline int regs_from_guest(const struct cpu_regs *r)
{
    return (r->cs & 3) != 0;
}

#endif
