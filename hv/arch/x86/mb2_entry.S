/*
 * mb2_entry.S - the multiboot2 way in (GRUB's multiboot2 command): the
 * multiboot2 header, and a 32-bit stub that goes to long mode on a
 * temporary 1:1 map of the first 4 GiB and joins entry.S's boot path at
 * hv_entry64_mb2 with %rdi = the MBI's physical address and %rsi = the
 * TSC at entry. hv_start converts the MBI (mb2.c) once its own page
 * tables run; see docs/boot-info.md, "Multiboot2 path".
 * Owns: the multiboot2 header, the .text.boot.mb2 / .bss.boot sections
 * (linked at their physical addresses, hv.lds).
 * Must never: read the MBI (it only passes its address on), call C, or
 * touch memory outside the hv image before hv_entry64_mb2 (the MBI and
 * the modules may be anywhere GRUB put them).
 */
#define MB2_HEADER_MAGIC     0xe85250d6
#define MB2_ARCH_I386        0
#define MB2_BOOTLOADER_MAGIC 0x36d76289

/* ---------------------------------------------------------------- header */
    /* First in the image (hv.lds): GRUB looks in the file's first 32 KiB. */
    .section .text.boot.mb2hdr, "a"
    .p2align 3
mb2_header:
    .long   MB2_HEADER_MAGIC
    .long   MB2_ARCH_I386
    .long   mb2_header_end - mb2_header
    .long   -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* Entry address tag: GRUB enters at mb2_entry32 (physical), not at
     * the ELF's e_entry (hv_entry64, the UEFI loader's 64-bit entry). */
    .p2align 3
    .short  3, 0
    .long   12
    .long   mb2_entry32
    /* Module alignment tag: modules page-aligned (xl_bootinfo wants it). */
    .p2align 3
    .short  6, 0
    .long   8
    /* End tag. */
    .p2align 3
    .short  0, 0
    .long   8
mb2_header_end:

/* ---------------------------------------------------------------- 32-bit */
    .section .text.boot.mb2, "ax"
    .code32
    .globl mb2_entry32
mb2_entry32:
    /* GRUB: protected mode, paging off, %eax magic, %ebx MBI, no stack. */
    cli
    cld
    cmp     $MB2_BOOTLOADER_MAGIC, %eax
    jne     mb2_bad_magic
    mov     %ebx, %esi                  /* MBI (physical) */
    rdtsc
    mov     %eax, mb2_tsc
    mov     %edx, mb2_tsc + 4
    mov     $mb2_stack_top, %esp

    /* PML4 + PDPT + 4 PDs: 2 MiB pages for [0, 4 GiB). */
    mov     $mb2_pml4, %edi
    xor     %eax, %eax
    mov     $(6 * 4096 / 4), %ecx
    rep stosl
    movl    $(mb2_pdpt + 0x3), mb2_pml4
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    add     $(mb2_pd + 0x3), %eax       /* PDPT[i] = PD i, present, writable */
    mov     %eax, mb2_pdpt(, %ecx, 8)
    inc     %ecx
    cmp     $4, %ecx
    jb      1b
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $0x83, %eax                 /* present, writable, 2 MiB */
    mov     %eax, mb2_pd(, %ecx, 8)
    inc     %ecx
    cmp     $2048, %ecx
    jb      2b

    mov     %cr4, %eax
    or      $(1 << 5), %eax             /* PAE */
    mov     %eax, %cr4
    mov     $mb2_pml4, %eax
    mov     %eax, %cr3
    mov     $0xc0000080, %ecx           /* EFER.LME */
    rdmsr
    or      $(1 << 8), %eax
    wrmsr
    mov     %cr0, %eax
    or      $((1 << 31) | 1), %eax      /* PG | PE */
    mov     %eax, %cr0
    lgdt    mb2_gdt_desc
    ljmp    $0x08, $mb2_entry64

mb2_bad_magic:
    /* Not entered by a multiboot2 loader: nothing to report to. */
    hlt
    jmp     mb2_bad_magic

/* ---------------------------------------------------------------- 64-bit */
    .code64
mb2_entry64:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    mov     %esi, %edi                  /* MBI (physical, < 4 GiB) */
    mov     mb2_tsc, %rsi
    jmp     hv_entry64_mb2

    .p2align 3
mb2_gdt:
    .quad   0
    .quad   0x00af9a000000ffff          /* 0x08: 64-bit code */
    .quad   0x00cf92000000ffff          /* 0x10: data */
mb2_gdt_end:
mb2_gdt_desc:
    .short  mb2_gdt_end - mb2_gdt - 1
    .long   mb2_gdt

/* ---------------------------------------------------------------- data */
    /* Zeroed by the stub itself, not trusted to the loader. */
    .section .bss.boot, "aw", @nobits
    .p2align 12
mb2_pml4:   .skip 4096
mb2_pdpt:   .skip 4096
mb2_pd:     .skip 4096 * 4
mb2_stack:  .skip 1024
mb2_stack_top:
    .p2align 3
mb2_tsc:    .skip 8
    .section .note.GNU-stack, "", @progbits
