/*
 * hypercall_page.c - Xen's x86_64 hypercall page, written into a guest
 * page by the PV domain builder (hv and dom0 toolstack both link it).
 * Owns: the stub format. Must never: depend on anything of the
 * hypervisor (it runs in dom0 too).
 */
#include <xenolith/hypercall_page.h>
#include <xenolith/lib.h>
#include <xen/xen.h>

/*
 * Each 32-byte slot: push %rcx; push %r11; mov $nr,%eax; syscall;
 * pop %r11; pop %rcx; ret — the guest's %rcx/%r11 survive the syscall.
 * The iret slot has no return: push %rcx; push %r11; push %rax;
 * mov $__HYPERVISOR_iret,%eax; syscall (Xen's layout).
 */
void hypercall_page_fill(uint8_t *page)
{
    memset(page, 0xcc, 4096); /* int3 between and after stubs */
    for (unsigned int nr = 0; nr < 4096 / 32; nr++) {
        uint8_t *p = page + nr * 32;
        *p++ = 0x51;                         /* push %rcx */
        *p++ = 0x41, *p++ = 0x53;            /* push %r11 */
        if (nr == __HYPERVISOR_iret)
            *p++ = 0x50;                     /* push %rax */
        *p++ = 0xb8;                         /* mov $nr, %eax */
        *p++ = (uint8_t)nr, *p++ = 0, *p++ = 0, *p++ = 0;
        *p++ = 0x0f, *p++ = 0x05;            /* syscall */
        if (nr == __HYPERVISOR_iret)
            continue;
        *p++ = 0x41, *p++ = 0x5b;            /* pop %r11 */
        *p++ = 0x59;                         /* pop %rcx */
        *p++ = 0xc3;                         /* ret */
    }
}
