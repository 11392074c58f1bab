/*
 * head.S - the HVM test guest's entries: a PVH kernel (XEN_ELFNOTE_PHYS32_
 * ENTRY) entered in 32-bit flat protected mode with %ebx = hvm_start_info,
 * and a Multiboot v1 kernel (type = "hvm": the header below, entry
 * hvm_mb1_start32 with %eax = 0x2BADB002, %ebx = multiboot_info, flat
 * protected mode, paging off) that joins the same path. Built with
 * HVMTEST_NO_MB1 it has no Multiboot header (hvmtest-nomb.elf, for
 * hvm_mb_refuse). Both build a 1:1 map of the first 1 GiB and of 3-4 GiB
 * (the local APIC, I/O APIC) with 2 MiB pages, enter long mode on its own
 * GDT and call hvmtest_main(info, magic), magic 0 for PVH. No
 * Xen-specific code: what a firmware-less unmodified kernel does.
 * Owns: the boot page tables, GDT and stack. Must never: rely on anything
 * of the hypervisor beyond the PVH or Multiboot entry state.
 */
#include <xenolith/mb1_layout.h>
#define XEN_ELFNOTE_PHYS32_ENTRY 18

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .p2align 2
    .long hvm_start32

    .section .text.head, "ax"
    .code32
    .globl hvm_start32
hvm_start32:                            /* first: the PVH entry stays at 1 MiB */
    cli
    cld
    xor     %esi, %esi                  /* no magic: PVH */
    jmp     4f
#ifndef HVMTEST_NO_MB1
    /* Multiboot v1: memory info wanted, no a.out fields (the builder
     * takes the ELF's segments and its entry, hvm_mb1_start32: hvm.lds). */
#define MB1_FLAGS (MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO)
    .p2align 2
    .globl hvm_mb1_header
hvm_mb1_header:
    .long   MB1_HEADER_MAGIC
    .long   MB1_FLAGS
    .long   -(MB1_HEADER_MAGIC + MB1_FLAGS)
#endif
    .globl hvm_mb1_start32
hvm_mb1_start32:
    cli
    cld
    mov     %eax, %esi                  /* the loader's magic, for main */
4:  mov     %ebx, %edi                  /* start_info / multiboot_info */
    mov     $boot_stack_top, %esp
    /* pml4[0] -> pdpt, pdpt[0] -> pd, pd[i] = i * 2 MiB (1 GiB 1:1) */
    mov     $boot_pdpt, %eax
    or      $3, %eax
    mov     %eax, boot_pml4
    mov     $boot_pd, %eax
    or      $3, %eax
    mov     %eax, boot_pdpt
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $21, %eax
    or      $0x83, %eax
    mov     %eax, boot_pd(,%ecx,8)
    movl    $0, boot_pd+4(,%ecx,8)
    inc     %ecx
    cmp     $512, %ecx
    jb      1b
    mov     $boot_pd3, %eax             /* pdpt[3] -> 3..4 GiB, uncached */
    or      $3, %eax
    mov     %eax, boot_pdpt + 24
    xor     %ecx, %ecx
3:  mov     %ecx, %eax
    shl     $21, %eax
    add     $0xc0000000, %eax
    or      $0x9b, %eax                 /* P, RW, PWT, PCD, 2 MiB */
    mov     %eax, boot_pd3(,%ecx,8)
    movl    $0, boot_pd3+4(,%ecx,8)
    inc     %ecx
    cmp     $512, %ecx
    jb      3b
    mov     %cr4, %eax
    or      $(1 << 5), %eax             /* PAE */
    mov     %eax, %cr4
    mov     $boot_pml4, %eax
    mov     %eax, %cr3
    mov     $0xc0000080, %ecx
    rdmsr
    or      $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
    wrmsr
    mov     %cr0, %eax
    or      $((1 << 31) | (1 << 16)), %eax /* PG, WP */
    mov     %eax, %cr0
    lgdt    gdt_ptr
    ljmp    $0x08, $start64

    .code64
start64:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     $boot_stack_top, %rsp
    /* %rdi: the info, %rsi: the magic (zero-extended by the 32-bit movs) */
    call    hvmtest_main
2:  cli
    hlt
    jmp     2b

    .section .data
    .p2align 4
gdt:
    .quad 0
    .quad 0x00209a0000000000            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
gdt_end:
    .globl gdt_ptr
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    .section .bss
    .p2align 12
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096
boot_pd3:  .skip 4096
    .globl boot_stack_top
boot_stack: .skip 16384
boot_stack_top:


/* Exceptions the hostile modes provoke (#UD, #GP, and #PF for
 * mode=strio, which records CR2 and the error code in hvm_pf_cr2 and
 * hvm_pf_err): counted, and the faulting instruction skipped by
 * hvm_skip_len bytes. Vector 0xf3: the
 * event callback (hvmtest_upcall). hvm_irq_entry: any other vector an
 * interrupt controller may send (mode=irqstorm): counted, and with
 * hvm_irq_eoi a non-specific EOI to both PICs so that the next one comes
 * at once (eoi=1: with a fast PIT the guest then does nothing else). */
    .text
    .code64
    .globl hvm_exc_ud, hvm_exc_gp, hvm_exc_pf, hvm_exc_other, hvm_cb_entry, hvm_irq_entry
hvm_exc_ud:
    pushq   $0
    pushq   $6
    jmp     exc_common
hvm_exc_gp:
    pushq   $13
    jmp     exc_common
hvm_exc_pf:
    push    %rax
    mov     %cr2, %rax
    mov     %rax, hvm_pf_cr2(%rip)
    mov     8(%rsp), %rax               /* the error code */
    mov     %rax, hvm_pf_err(%rip)
    pop     %rax
    pushq   $14
    jmp     exc_common
hvm_exc_other:
    pushq   $0
    pushq   $255
exc_common:
    push    %rax
    push    %rcx
    mov     16(%rsp), %rcx              /* vector */
    lea     hvm_exc_count(%rip), %rax
    incq    (%rax,%rcx,8)
    mov     hvm_skip_len(%rip), %rax
    add     %rax, 32(%rsp)              /* the frame's rip */
    pop     %rcx
    pop     %rax
    add     $16, %rsp                   /* vector, error code */
    iretq
hvm_irq_entry:
    push    %rax
    lea     hvm_irqs(%rip), %rax
    lock incq (%rax)
    cmpb    $0, hvm_irq_eoi(%rip)
    je      1f
    mov     $0x20, %al                  /* non-specific EOI to both PICs */
    out     %al, $0xa0
    out     %al, $0x20
1:  pop     %rax
    iretq
hvm_cb_entry:
    push    %rax
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    call    hvmtest_upcall
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rax
    iretq

/* mode=apboot: the AP's entries. Vector 0xe0 (the BSP's fixed IPIs to
 * the AP): the mailbox's counter up, an EOI to the local APIC. Vector
 * 0xe1 (the AP's IPI back): hvm_bsp_ipis up, an EOI. */
#define AP_TRAMP 0x8000
#define AP_MBOX  0x8f00
    .globl hvm_ap_ipi_entry, hvm_bsp_ipi_entry
hvm_ap_ipi_entry:
    push    %rax
    lock incl AP_MBOX + 0x30
    mov     $0xfee000b0, %eax
    movl    $0, (%rax)
    pop     %rax
    iretq
hvm_bsp_ipi_entry:
    push    %rax
    lea     hvm_bsp_ipis(%rip), %rax
    lock incq (%rax)
    mov     $0xfee000b0, %eax
    movl    $0, (%rax)
    pop     %rax
    iretq

/* mode=apboot: the AP's trampoline, copied by the BSP to AP_TRAMP (its
 * code runs there: every address below is AP_TRAMP + its offset) and
 * started by STARTUP with vector AP_TRAMP >> 12: real mode at CS =
 * 0x800, IP 0. Each stage counts itself in the mailbox at AP_MBOX
 * (16-bit: CS and +1 at 0x00/0x04; 32-bit: +1 at 0x08; 64-bit: +1 at
 * 0x0c; what each sees of EDX, CR0, CR4, EFER at 0x44-0x5b), then protected mode on its own GDT, long mode on the BSP's
 * tables (CR3 from the mailbox at 0x10), and a call of the mailbox's
 * entry (0x20) on its stack (0x18). The GDT keeps 0x08 the 64-bit code
 * selector, as the BSP's (the IDT's gates name it). */
    .section .rodata.aptramp, "a"
    .globl ap_tramp, ap_tramp_end
    .code16
ap_tramp:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    mov     %edx, AP_MBOX - AP_TRAMP + 0x44 /* the INIT state's EDX */
    movzwl  %ax, %eax
    mov     %eax, AP_MBOX - AP_TRAMP
    mov     %cr0, %eax
    mov     %eax, AP_MBOX - AP_TRAMP + 0x48
    mov     %cr4, %eax
    mov     %eax, AP_MBOX - AP_TRAMP + 0x4c
    incl    AP_MBOX - AP_TRAMP + 4
    lgdtl   ap_gdtr - ap_tramp
    mov     %cr0, %eax
    or      $1, %eax
    mov     %eax, %cr0
    ljmpl   $0x18, $(AP_TRAMP + ap_pm32 - ap_tramp)
    .code32
ap_pm32:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    incl    AP_MBOX + 8
    mov     %cr0, %eax
    mov     %eax, AP_MBOX + 0x50
    mov     %cr4, %eax
    or      $(1 << 5), %eax             /* PAE */
    mov     %eax, %cr4
    mov     AP_MBOX + 0x10, %eax
    mov     %eax, %cr3
    mov     $0xc0000080, %ecx
    rdmsr
    or      $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
    wrmsr
    mov     %cr0, %eax
    and     $0x9fffffff, %eax           /* caches on: CD, NW off */
    or      $((1 << 31) | (1 << 16)), %eax /* PG, WP */
    mov     %eax, %cr0
    ljmp    $0x08, $(AP_TRAMP + ap_lm64 - ap_tramp)
    .code64
ap_lm64:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    incl    AP_MBOX + 0x0c
    mov     $0xc0000080, %ecx
    rdmsr
    mov     %eax, AP_MBOX + 0x54
    mov     %cr0, %rax
    mov     %eax, AP_MBOX + 0x58
    mov     AP_MBOX + 0x18, %rsp
    mov     AP_MBOX + 0x20, %rax
    call    *%rax
1:  cli
    hlt
    jmp     1b
    .p2align 3
ap_gdt:
    .quad 0
    .quad 0x00209a0000000000            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
    .quad 0x00cf9a000000ffff            /* 0x18: 32-bit code */
ap_gdtr:
    .word ap_gdtr - ap_gdt - 1
    .long AP_TRAMP + ap_gdt - ap_tramp
ap_tramp_end:

    .section .note.GNU-stack, "", @progbits
