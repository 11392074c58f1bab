/*
 * xlguest/vcpu.h - bring up a secondary vcpu of a PV test kernel:
 * VCPUOP_initialise with a kernel-mode context on the caller's page
 * tables, its own stack and entry point, then VCPUOP_up.
 * Must never: be used for vcpu 0, or with a context on the stack (it is
 * a few KiB: the caller keeps it static).
 */
#ifndef XLGUEST_VCPU_H
#define XLGUEST_VCPU_H

#include <stdint.h>
#include <xenolith/lib.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>

/* Start vcpu id at entry(rdi) on the stack ending at stack_top, with the
 * page tables si's kernel runs on; 0 or the failing call's errno. */
static inline long guest_vcpu_start(struct vcpu_guest_context *ctx, const start_info_t *si,
                                    unsigned int id, void (*entry)(void), uint64_t rdi,
                                    void *stack_top)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->flags = VGCF_in_kernel;
    ctx->user_regs.rip = (uint64_t)entry;
    ctx->user_regs.rdi = rdi;
    ctx->user_regs.rsp = (uint64_t)stack_top - 8;
    ctx->user_regs.cs = FLAT_KERNEL_CS;
    ctx->user_regs.ss = FLAT_KERNEL_SS;
    ctx->user_regs.rflags = 0x200;
    ctx->kernel_ss = FLAT_KERNEL_SS;
    ctx->kernel_sp = ctx->user_regs.rsp;
    ctx->ctrlreg[3] = virt_to_mfn((void *)si->pt_base) << 12;
    long rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, id, ctx);
    return rc ? rc : HYPERVISOR_vcpu_op(VCPUOP_up, id, NULL);
}

#endif
