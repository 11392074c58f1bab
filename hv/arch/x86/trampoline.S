/*
 * trampoline.S - where an application processor starts: real mode at the
 * page the BSP's STARTUP IPI names (a copy of ap_tramp_start..end below
 * 1 MiB, smp.c), to protected mode, to long mode on a page table that
 * maps the trampoline 1:1 and the hv's slots, to ap_entry_high in the hv
 * image, which moves to the hv's own page tables and calls ap_start.
 * Owns: the layout of the trampoline page (the tr_* fields smp.c fills
 * before each start). Must never: use a stack before tr_stack is loaded
 * (none exists in real mode), or an absolute address of its own: the
 * copy runs wherever smp.c put it, so every reference is an offset from
 * its base (%bx << 4 in real mode, %ebx/%rbx after).
 */
#include <xenolith/layout.h>

#define OFF(sym) (sym - ap_tramp_start)

    .section .rodata.ap_tramp, "a"
    .globl ap_tramp_start, ap_tramp_end
    .globl tr_gdtr, tr_jmp32, tr_jmp64, tr_pm32, tr_lm64, tr_gdt
    .globl tr_efer, tr_stack, tr_percpu, tr_entry, tr_idle_cr3, tr_cr0, tr_cr3, tr_cr4
    .globl tr_alive
    .p2align 4
    .code16
ap_tramp_start:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    movzwl  %ax, %ebx
    shll    $4, %ebx                    /* %ebx: the trampoline's physical base */
    lgdtl   OFF(tr_gdtr)
    movl    %cr0, %eax
    orl     $1, %eax                    /* PE */
    movl    %eax, %cr0
    ljmpl   *OFF(tr_jmp32)              /* to tr_pm32 on selector 0x08 */

    .code32
tr_pm32:
    movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movw    %ax, %fs
    movw    %ax, %gs
    movl    OFF(tr_cr4)(%ebx), %eax     /* the BSP's CR4 (PAE among it) */
    movl    %eax, %cr4
    movl    OFF(tr_cr3)(%ebx), %eax     /* ap_pml4: 1:1 + the hv's slots */
    movl    %eax, %cr3
    movl    $0xc0000080, %ecx           /* EFER: the BSP's (LME, NXE, SCE) */
    movl    OFF(tr_efer)(%ebx), %eax
    movl    OFF(tr_efer) + 4(%ebx), %edx
    wrmsr
    movl    OFF(tr_cr0)(%ebx), %eax     /* PG|PE|WP...: long mode, compatibility */
    movl    %eax, %cr0
    ljmpl   *OFF(tr_jmp64)(%ebx)        /* to tr_lm64 on selector 0x18 */

    .code64
tr_lm64:
    movl    %ebx, %ebx                  /* upper halves are undefined after the switch */
    movl    $1, OFF(tr_alive)(%rbx)     /* tells the BSP it got this far */
    movq    OFF(tr_stack)(%rbx), %rsp
    movq    OFF(tr_percpu)(%rbx), %rdi
    movq    OFF(tr_idle_cr3)(%rbx), %rdx
    movq    OFF(tr_entry)(%rbx), %rax
    jmp     *%rax                       /* ap_entry_high, in the hv's slots */

    .p2align 3
tr_gdt:
    .quad   0
    .quad   0x00cf9a000000ffff          /* 0x08: 32-bit code */
    .quad   0x00cf92000000ffff          /* 0x10: data */
    .quad   0x00af9a000000ffff          /* 0x18: 64-bit code */
tr_gdtr:
    .word   4 * 8 - 1
    .long   0                           /* base + OFF(tr_gdt), by smp.c */
tr_jmp32:
    .long   0                           /* base + OFF(tr_pm32) */
    .word   0x08
tr_jmp64:
    .long   0                           /* base + OFF(tr_lm64) */
    .word   0x18
    .p2align 3
tr_efer:    .quad 0
tr_stack:   .quad 0                     /* the AP's kernel stack top */
tr_percpu:  .quad 0                     /* its struct percpu */
tr_entry:   .quad 0                     /* ap_entry_high */
tr_idle_cr3: .quad 0                    /* the hv's page tables (idle_pml4) */
tr_cr0:     .long 0
tr_cr3:     .long 0
tr_cr4:     .long 0
tr_alive:   .long 0
ap_tramp_end:

/* On the hv's image now, still on ap_pml4: switch to the hv's own page
 * tables and run C on the AP's stack. %rdi = its struct percpu. */
    .text
    .globl ap_entry_high
ap_entry_high:
    mov     %rdx, %cr3
    xor     %ebp, %ebp
    call    ap_start
    ud2

    .section .note.GNU-stack, "", @progbits
