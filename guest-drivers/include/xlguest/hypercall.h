/*
 * hypercall.h - calling the hypervisor from an x86_64 PV guest kernel
 * through the hypercall page (XEN_ELFNOTE_HYPERCALL_PAGE), Xen's ABI:
 * %rax = number, arguments in %rdi %rsi %rdx %r10 %r8, result in %rax.
 * Works on Xenolith and on a real Xen alike.
 */
#ifndef XLGUEST_HYPERCALL_H
#define XLGUEST_HYPERCALL_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/sched.h>

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

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_sched_op, cmd, arg, 0);
}

/* Ask the hypervisor to shut this domain down; returns only on error. */
static inline long xen_shutdown(unsigned int reason)
{
    struct sched_shutdown s = { .reason = reason };
    return HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}

#endif
