/*
 * pvh_head.S - the PVH entry of a kit kernel (XEN_ELFNOTE_PHYS32_ENTRY in
 * head.S): 32-bit protected mode, paging off, flat CS/DS, %ebx = the
 * physical address of struct hvm_start_info (Xen's docs/misc/pvh.pandoc);
 * and its HVM entry (the Multiboot header's entry_addr): the same state
 * with %eax = 0x2BADB002 and %ebx = the multiboot_info. Both go on the
 * same way; pvh_start gets (%ebx, 0 or the Multiboot magic).
 * Owns: the boot page tables (one L2 of 2 MiB pages mapping guest-physical
 * 0-1 GiB both at 0 (only while paging is turned on) and at the link
 * addresses, GUEST_VIRT_BASE + physical, the same va -> frame rule as the
 * PV kernel's bootstrap mapping), the ring-0 GDT, the switch to long mode.
 * Must never: run from anything but its physical address before the jump
 * high, leave the identity map in place after it (low addresses stay
 * unmapped, as in a PV kernel), or touch memory beyond the image before
 * pvh_start has read the start info.
 */
#define VIRT_BASE 0xffffffff80000000
#define PA(x) ((x) - VIRT_BASE)

#define CR0_PE 0x00000001
#define CR0_MP 0x00000002
#define CR0_NE 0x00000020
#define CR0_WP 0x00010000
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define EFER_MSR 0xc0000080
#define EFER_LME 0x00000100
#define PTE_P_RW 0x003
#define PDE_2M 0x083 /* present, writable, 2 MiB */

    .section .text.pvh32, "ax"
    .code32
    .globl mb1_start32
mb1_start32:
    cli
    cld
    mov     %eax, %edi                      /* the loader's magic */
    jmp     1f
    .globl pvh_start32
pvh_start32:
    cli
    cld
    xor     %edi, %edi                      /* no magic: PVH */
1:  mov     %ebx, %esi                      /* kept for pvh_start */
    /* L4[0] -> L3 low, L4[511] -> L3 high; both L3s -> the one L2 */
    movl    $PA(pvh_l3_low) + PTE_P_RW, PA(pvh_l4)
    movl    $PA(pvh_l3_high) + PTE_P_RW, PA(pvh_l4) + 511 * 8
    movl    $PA(pvh_l2) + PTE_P_RW, PA(pvh_l3_low)
    movl    $PA(pvh_l2) + PTE_P_RW, PA(pvh_l3_high) + 510 * 8
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $PDE_2M, %eax
    mov     %eax, PA(pvh_l2)(, %ecx, 8)
    inc     %ecx
    cmp     $512, %ecx
    jb      2b

    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $PA(pvh_l4), %eax
    mov     %eax, %cr3
    mov     $EFER_MSR, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    lgdt    PA(pvh_gdt_desc32)
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_WP | CR0_NE | CR0_MP | CR0_PE), %eax
    mov     %eax, %cr0
    ljmp    $0x08, $PA(pvh_start64)

    .code64
pvh_start64:
    movabs  $pvh_high, %rax
    jmp     *%rax
pvh_high:
    lgdt    pvh_gdt_desc64(%rip)
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    lea     boot_stack_top(%rip), %rsp
    movq    $0, pvh_l4(%rip)                /* drop the identity map */
    mov     %cr3, %rax
    mov     %rax, %cr3
    xor     %ebp, %ebp
    mov     %edi, %eax                      /* (info, magic): zero-extended */
    mov     %esi, %edi
    mov     %eax, %esi
    call    pvh_start
3:  hlt
    jmp     3b

    .section .rodata.pvh, "a"
    .p2align 3
pvh_gdt:
    .quad   0
    .quad   0x00af9a000000ffff              /* 0x08: 64-bit code, DPL 0 */
    .quad   0x00cf92000000ffff              /* 0x10: data, DPL 0 */
pvh_gdt_end:
    .p2align 3
pvh_gdt_desc32:
    .word   pvh_gdt_end - pvh_gdt - 1
    .long   PA(pvh_gdt)
    .p2align 3
pvh_gdt_desc64:
    .word   pvh_gdt_end - pvh_gdt - 1
    .quad   pvh_gdt

    .section .bss.pvh_pt, "aw", @nobits
    .p2align 12
    .globl pvh_l4
pvh_l4:
    .skip 4096
pvh_l3_low:
    .skip 4096
pvh_l3_high:
    .skip 4096
pvh_l2:
    .skip 4096

    .section .note.GNU-stack, "", @progbits
