/*
 * hypercall.h - calling the hypervisor from an x86_64 PV guest kernel
 * through the hypercall page (XEN_ELFNOTE_HYPERCALL_PAGE), Xen's ABI:
 * %rax = number, arguments in %rdi %rsi %rdx %r10 %r8, result in %rax.
 * Works on Xenolith and on a real Xen alike, and in a PVH kit kernel
 * (the page then holds vmcall/vmmcall; xen_raw_hypercall5 is PV only).
 */
#ifndef XLGUEST_HYPERCALL_H
#define XLGUEST_HYPERCALL_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/memory.h>
#include <xen/event_channel.h>
#include <xen/vcpu.h>
#include <xen/callback.h>
#include <xen/physdev.h>

extern char hypercall_page[4096];

static inline long xen_hypercall5(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                  uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    long res;
    __asm__ volatile("call *%[fn]"
                     : "=a"(res), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : [fn] "r"(hypercall_page + nr * 32)
                     : "memory");
    return res;
}

/* A hypercall by raw `syscall`, for numbers beyond the hypercall page
 * (tests of the dispatcher). Only meaningful on a 64-bit PV hypervisor. */
static inline long xen_raw_hypercall5(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                      uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    long res;
    __asm__ volatile("syscall"
                     : "=a"(res), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : "a"(nr)
                     : "rcx", "r11", "memory");
    return res;
}

#define HYPERCALL(nr, a1, a2, a3) \
    xen_hypercall5((nr), (uint64_t)(a1), (uint64_t)(a2), (uint64_t)(a3), 0, 0)

static inline long HYPERVISOR_console_io(int cmd, int count, const char *buf)
{
    return HYPERCALL(__HYPERVISOR_console_io, cmd, count, buf);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_xen_version, cmd, arg, 0);
}

/* In a PVH kit kernel (xlguest/platform.h) SCHEDOP_block keeps its PV
 * meaning, "unmask events and block until one is delivered": Xen would
 * not deliver the callback vector with RFLAGS.IF clear, so it is done as
 * evtchn_upcall_mask = 0, sti; hlt (pvh.c). */
extern int xl_is_pvh;
long xl_pvh_sched_block(void);

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    if (cmd == SCHEDOP_block && xl_is_pvh)
        return xl_pvh_sched_block();
    return HYPERCALL(__HYPERVISOR_sched_op, cmd, arg, 0);
}

#define HYPERCALL4(nr, a1, a2, a3, a4) \
    xen_hypercall5((nr), (uint64_t)(a1), (uint64_t)(a2), (uint64_t)(a3), (uint64_t)(a4), 0)

static inline long HYPERVISOR_mmu_update(mmu_update_t *req, unsigned int count,
                                         unsigned int *done, domid_t dom)
{
    return HYPERCALL4(__HYPERVISOR_mmu_update, req, count, done, dom);
}

static inline long HYPERVISOR_mmuext_op(struct mmuext_op *op, unsigned int count,
                                        unsigned int *done, domid_t dom)
{
    return HYPERCALL4(__HYPERVISOR_mmuext_op, op, count, done, dom);
}

static inline long HYPERVISOR_update_va_mapping(unsigned long va, uint64_t pte,
                                                unsigned long flags)
{
    return HYPERCALL(__HYPERVISOR_update_va_mapping, va, pte, flags);
}

static inline long HYPERVISOR_memory_op(unsigned int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_memory_op, cmd, arg, 0);
}

static inline long HYPERVISOR_set_trap_table(const struct trap_info *table)
{
    return HYPERCALL(__HYPERVISOR_set_trap_table, table, 0, 0);
}

static inline long HYPERVISOR_set_callbacks(unsigned long event, unsigned long failsafe,
                                            unsigned long syscall)
{
    return HYPERCALL(__HYPERVISOR_set_callbacks, event, failsafe, syscall);
}

static inline long HYPERVISOR_callback_op(int cmd, const void *arg)
{
    return HYPERCALL(__HYPERVISOR_callback_op, cmd, arg, 0);
}

static inline long HYPERVISOR_stack_switch(unsigned long ss, unsigned long esp)
{
    return HYPERCALL(__HYPERVISOR_stack_switch, ss, esp, 0);
}

static inline long HYPERVISOR_set_segment_base(int reg, unsigned long value)
{
    return HYPERCALL(__HYPERVISOR_set_segment_base, reg, value, 0);
}

static inline long HYPERVISOR_set_gdt(unsigned long *frames, unsigned int entries)
{
    return HYPERCALL(__HYPERVISOR_set_gdt, frames, entries, 0);
}

static inline long HYPERVISOR_update_descriptor(uint64_t maddr, uint64_t desc)
{
    return HYPERCALL(__HYPERVISOR_update_descriptor, maddr, desc, 0);
}

static inline long HYPERVISOR_fpu_taskswitch(int set)
{
    return HYPERCALL(__HYPERVISOR_fpu_taskswitch, set, 0, 0);
}

static inline long HYPERVISOR_vm_assist(unsigned int cmd, unsigned int type)
{
    return HYPERCALL(__HYPERVISOR_vm_assist, cmd, type, 0);
}

static inline long HYPERVISOR_set_timer_op(uint64_t timeout_ns)
{
    return HYPERCALL(__HYPERVISOR_set_timer_op, timeout_ns, 0, 0);
}

static inline long HYPERVISOR_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
    return HYPERCALL(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_event_channel_op, cmd, arg, 0);
}

static inline long HYPERVISOR_physdev_op(int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_physdev_op, cmd, arg, 0);
}

static inline long HYPERVISOR_platform_op(void *op)
{
    return xen_hypercall5(__HYPERVISOR_platform_op, (uint64_t)op, 0, 0, 0, 0);
}

static inline long HYPERVISOR_xenpmu_op(unsigned int op, void *arg)
{
    return xen_hypercall5(__HYPERVISOR_xenpmu_op, op, (uint64_t)arg, 0, 0, 0);
}

/* HVMOP_* (PVH kernels: HVMOP_get_param / HVMOP_set_param). */
static inline long HYPERVISOR_hvm_op(int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_hvm_op, cmd, arg, 0);
}

static inline long HYPERVISOR_multicall(multicall_entry_t *calls, unsigned int nr)
{
    return HYPERCALL(__HYPERVISOR_multicall, calls, nr, 0);
}

/* Ask the hypervisor to shut this domain down; returns only on error. */
static inline long xen_shutdown(unsigned int reason)
{
    struct sched_shutdown s = { .reason = reason };
    return HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}

#endif
