/*
 * console_io.c - the console_io hypercall: guests write to the hv log
 * ("(dN) ..." lines) and the privileged domain reads serial input.
 * Owns: nothing but the hypercall. Must never: read guest memory except
 * through guest_access (bad pointers are -EFAULT); spend more than
 * DOMU_WRITE_MAX bytes of (synchronous) serial output on one call of an
 * unprivileged domain, or more than the preemption budget on anyone's:
 * the rest goes on in a continuation, as Xen's guest_console_write.
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>

#define CHUNK 128
#define DOMU_WRITE_MAX 4096 /* bytes per call before a domU's write continues */

/* Xen's count is an unsigned int; the buffer advances in the guest's
 * registers with each continuation, so a fault part-way leaves the bytes
 * before it written (as on Xen). */
static long console_write(struct vcpu *v, uint64_t count64, uint64_t buf)
{
    char tmp[CHUNK];
    struct domain *d = v->domain;
    uint32_t count = (uint32_t)count64;
    uint32_t done = 0;
    while (count) {
        if (done && ((!d->privileged && done >= DOMU_WRITE_MAX) || hypercall_preempt_check()))
            return hypercall_continuation(v, __HYPERVISOR_console_io, CONSOLEIO_write, count,
                                          buf, 0, 0);
        size_t n = count > CHUNK ? CHUNK : count;
        if (copy_from_guest_va(v->cr3, tmp, buf, n))
            return -XL_EFAULT;
        if (!d->first_output_ns) {
            d->first_output_ns = arch_time_ns();
            if (!d->first_output_ns)
                d->first_output_ns = 1;
            printk("boot: d%u first console output %lu us after hv start\n", d->domid,
                   (unsigned long)(d->first_output_ns / 1000));
        }
        console_guest_write(d->domid, tmp, n);
        buf += n;
        count -= (uint32_t)n;
        done += (uint32_t)n;
    }
    return 0;
}

static long console_read(struct vcpu *v, uint64_t count, uint64_t buf)
{
    char tmp[CHUNK];
    size_t n = 0;
    int c;
    if (!v->domain->privileged)
        return -XL_EPERM;
    while (n < count && n < CHUNK && (c = console_getc()) >= 0)
        tmp[n++] = (char)c;
    if (n && copy_to_guest_va(v->cr3, buf, tmp, n))
        return -XL_EFAULT;
    return (long)n;
}

long do_console_io(struct vcpu *v, uint64_t cmd, uint64_t count, uint64_t buf, uint64_t a4,
                   uint64_t a5)
{
    switch (cmd) {
    case CONSOLEIO_write:
        return console_write(v, count, buf);
    case CONSOLEIO_read:
        return console_read(v, count, buf);
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_console_io, (unsigned int)cmd);
    }
}
