/*
 * crash.c - a PV test kernel that faults on purpose: it prints one line,
 * then writes to an unmapped address. The hypervisor must report
 * "d0 crashed: #PF ..." and survive; the machine ends with the crash status.
 */
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>

int guest_main(start_info_t *si)
{
    printk("crash-test: about to write to unmapped address 0x10\n");
    volatile int *volatile p = (volatile int *)0x10; /* opaque to the compiler */
    *p = 1;
    printk("crash-test: FAIL: the write did not fault\n");
    return SHUTDOWN_poweroff;
}
