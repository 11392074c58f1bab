/*
 * head.S - entry of a PV guest kernel built with the guest driver kit,
 * its Xen ELF notes, its Multiboot header and its hypercall page.
 * Xen starts us in ring 3 with %rsi = start_info, %rsp = a boot stack
 * inside the initial mapping, events masked.
 * The same image boots as a PVH guest at XEN_ELFNOTE_PHYS32_ENTRY and as
 * an HVM guest at the Multiboot header's entry (pvh_head.S), which use
 * the same boot stack and hypercall page.
 */
#include <xen/elfnote.h>
#include <xenolith/mb1_layout.h>

#define ELFNOTE(type, desctype, descdata) \
    .pushsection .note.Xen, "a", @note; \
    .align 4; .long 2f - 1f; .long 4f - 3f; .long type; \
1:  .asciz "Xen"; 2: .align 4; 3: desctype descdata; 4: .align 4; \
    .popsection

    ELFNOTE(XEN_ELFNOTE_GUEST_OS, .asciz, "xenolith-kit")
    ELFNOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz, "0.1")
    ELFNOTE(XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0")
    ELFNOTE(XEN_ELFNOTE_VIRT_BASE, .quad, 0xffffffff80000000)
    ELFNOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad, 0)
    ELFNOTE(XEN_ELFNOTE_ENTRY, .quad, _start)
    ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad, hypercall_page)
    ELFNOTE(XEN_ELFNOTE_LOADER, .asciz, "generic")
    ELFNOTE(XEN_ELFNOTE_FEATURES, .asciz, "!writable_page_tables")
    /* PVH: 32-bit physical entry (p_paddr = link address - VIRT_BASE) */
    ELFNOTE(XEN_ELFNOTE_PHYS32_ENTRY, .long, pvh_start32 - 0xffffffff80000000)

    /* Multiboot v1 (for type = "hvm", QEMU's -kernel): memory info
     * wanted, and the a.out address fields, since a loader of 32-bit
     * ELFs (QEMU's) cannot take this ELF64. The image is flat from .text
     * to _edata (kernel.lds), so they name the same bytes as the PT_LOAD
     * segments: a builder that loads the ELF checks that they agree. */
#define MB1_FLAGS (MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO | MB1_HF_AOUT_KLUDGE)
    .section .text.mb1, "ax"
    .p2align 2
    .globl mb1_header
mb1_header:
    .long   MB1_HEADER_MAGIC
    .long   MB1_FLAGS
    .long   -(MB1_HEADER_MAGIC + MB1_FLAGS)
    .long   mb1_header - 0xffffffff80000000     /* header_addr */
    .long   _stext - 0xffffffff80000000         /* load_addr */
    .long   _edata - 0xffffffff80000000         /* load_end_addr */
    .long   _end - 0xffffffff80000000           /* bss_end_addr */
    .long   mb1_start32 - 0xffffffff80000000    /* entry_addr */

    .section .text.head, "ax"
    .globl _start
_start:
    cld
    lea     boot_stack_top(%rip), %rsp
    xor     %ebp, %ebp
    mov     %rsi, %rdi
    call    kernel_start
1:  hlt                     /* privileged: faults if we ever get here */
    jmp     1b

    .section .text.hypercall_page, "ax"
    .p2align 12
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xcc     /* the hypervisor overwrites it at build time */

    .bss
    .p2align 12
boot_stack:
    .skip 16384
    .globl boot_stack_top
boot_stack_top:
    .section .note.GNU-stack, "", @progbits
