/*
 * entry.S - every way into and out of the hypervisor on x86_64:
 * the boot stub (physical, from the UEFI loader or mb2_entry.S), exception/interrupt stubs,
 * the `syscall` hypercall entry, and the return to a guest frame.
 * Owns: the struct cpu_regs frame layout (hv/include/xenolith/regs.h).
 * Must never: touch guest memory, or return to a guest without a full
 * cpu_regs frame on the stack.
 */
#include <xenolith/layout.h>

#define VEC_SYSCALL 0x100

/* ---------------------------------------------------------------- boot */
    .section .text.boot, "ax"
    .code64
    .globl hv_entry64, hv_entry64_mb2
hv_entry64:                             /* UEFI loader: %rdi = struct xl_bootinfo */
    xor     %r14d, %r14d                /* boot path: 0 UEFI */
    xor     %r15d, %r15d
    jmp     hv_entry64_common
hv_entry64_mb2:                         /* mb2_entry.S: %rdi = MBI, %rsi = TSC at entry */
    mov     $1, %r14d                   /* boot path: 1 multiboot2 */
    mov     %rsi, %r15
hv_entry64_common:
    cli
    cld
    mov     %rdi, %r12                  /* bootinfo or MBI (physical) */
    movabs  $DIRECTMAP_BASE, %r13       /* virt - phys of hv symbols */

    /* 2 MiB pages for the first BOOT_MAP_GIB GiB; the last GiB holds
     * the local APIC and other MMIO on PCs, so map it uncached. */
    movabs  $boot_pd, %rdi
    sub     %r13, %rdi
    xor     %ecx, %ecx
1:  mov     %rcx, %rax
    shl     $21, %rax
    or      $0x83, %rax                 /* present, writable, 2 MiB */
    cmp     $(512 * (BOOT_MAP_GIB - 1)), %rcx
    jb      2f
    or      $0x18, %rax                 /* PWT|PCD: uncached */
2:  mov     %rax, (%rdi,%rcx,8)
    inc     %rcx
    cmp     $(512 * BOOT_MAP_GIB), %rcx
    jb      1b

    movabs  $boot_pdpt, %rsi
    sub     %r13, %rsi
    xor     %ecx, %ecx
3:  mov     %rcx, %rax
    shl     $12, %rax
    add     %rdi, %rax
    or      $0x3, %rax
    mov     %rax, (%rsi,%rcx,8)
    inc     %rcx
    cmp     $BOOT_MAP_GIB, %rcx
    jb      3b

    movabs  $idle_pml4, %rdi
    sub     %r13, %rdi
    mov     %rsi, %rax
    or      $0x3, %rax
    mov     %rax, (%rdi)                        /* identity, until hv_start drops it */
    mov     %rax, (DIRECTMAP_SLOT * 8)(%rdi)    /* direct map */

    /* EFER: SCE for the syscall hypercall path, NXE for guests' NX bits. */
    mov     $0xc0000080, %ecx
    rdmsr
    or      $((1 << 0) | (1 << 11)), %eax
    wrmsr
    /* CR4: PAE stays, OSFXSR|OSXMMEXCPT so guests may use SSE. Off,
     * whatever the firmware left: PGE (guest entries must never be
     * global: every CR3 load is a full flush), FSGSBASE, PCIDE, OSXSAVE
     * (state FXSAVE does not switch between vcpus would leak), PKE, CET. */
    mov     %cr4, %rax
    or      $((1 << 9) | (1 << 10)), %rax
    and     $~((1 << 7) | (1 << 16) | (1 << 17) | (1 << 18) | (1 << 22) | (1 << 23)), %rax
    mov     %rax, %cr4
    /* CR0: WP so the hv honours read-only mappings too; caches on (CD,
     * NW off) whatever the firmware left - a BIOS may leave the reset
     * state's CD|NW (Bochs's does). The APs take this CR0 (smp.c tr_cr0),
     * and on VT-x every guest runs with the CPU's CD/NW (VM entry never
     * loads them). */
    mov     %cr0, %rax
    or      $(1 << 16), %rax
    and     $~((1 << 29) | (1 << 30)), %rax
    mov     %rax, %cr0

    mov     %rdi, %cr3
    movabs  $hv_entry_high, %rax
    jmp     *%rax

/* ---------------------------------------------------------------- high */
    .text
hv_entry_high:
    movabs  $hv_stack_top, %rsp
    xor     %ebp, %ebp
    mov     %r12, %rdi
    mov     %r14, %rsi
    mov     %r15, %rdx
    call    hv_start
    ud2

/* Interrupt/exception stubs: each pushes an error code (0 if the CPU did
 * not) and its vector, then joins the common path. */
.macro STUB vec, has_err
    .p2align 4
stub_\vec:
    .if \has_err == 0
    pushq   $0
    .endif
    pushq   $\vec
    jmp     trap_common
.endm

.altmacro
.macro STUB_FOR vec
    .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    STUB \vec, 1
    .else
    STUB \vec, 0
    .endif
.endm
.macro STUB_ADDR vec
    .quad stub_\vec
.endm

    .set i, 0
    .rept 256
    STUB_FOR %i
    .set i, i + 1
    .endr

    .section .rodata
    .globl trap_stub_table
    .p2align 3
trap_stub_table:
    .set i, 0
    .rept 256
    STUB_ADDR %i
    .set i, i + 1
    .endr
    .text

.macro SAVE_GPRS
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
.endm

/* An entry from a guest arrives with its frame already in place: at the
 * end of the running vcpu's struct cpu_regs (the CPU's syscall stub's
 * frame slot, also TSS.rsp0), where `syscall` below and the CPU (for
 * interrupts and exceptions from ring 3) push it. The qword right above
 * such a frame holds the kernel stack of the CPU it runs on (vcpu.hv_rsp;
 * for IST entries, the IST stack's first slot, cpu.c), so the C side runs
 * on this CPU's hv stack, found without %gs. trap_entry returns the
 * frame to leave through: the same vcpu's, another's, or for an entry
 * from the hv itself (idle loop, IST stacks) the frame it came with. */
#define FRAME_SIZE (22 * 8)
trap_common:
    cld
    SAVE_GPRS
    mov     %rsp, %rdi
    testb   $3, (18 * 8)(%rsp)          /* cs: from a guest? */
    jz      1f
    mov     FRAME_SIZE(%rdi), %rsp      /* this CPU's kernel stack */
1:  call    trap_entry
    mov     %rax, %rsp
    .globl resume_frame
resume_frame:
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    add     $16, %rsp                   /* vector, error code */
    iretq

/* `syscall` from a PV guest (ring 3): no stack switch by the CPU. Each
 * CPU's LSTAR points at its own copy of this stub (in its struct percpu,
 * cpu.c), which builds the same frame an interrupt from ring 3 would, in
 * the running vcpu's frame (the stub's frame slot, written when a vcpu
 * is switched in on the CPU), so one return path serves both. Position
 * independent: its data follow its code and are read RIP-relative. IF is
 * masked by SFMASK on entry. */
    .globl syscall_stub_start, syscall_stub_end, syscall_stub_frame
    .p2align 4
syscall_stub_start:
    mov     %rsp, syscall_stub_rsp(%rip)
    mov     syscall_stub_frame(%rip), %rsp
    pushq   $0xe02b                     /* FLAT_RING3_SS64 */
    pushq   syscall_stub_rsp(%rip)
    push    %r11                        /* guest rflags */
    pushq   $0xe033                     /* FLAT_RING3_CS64 */
    push    %rcx                        /* guest rip */
    pushq   $0
    pushq   $VEC_SYSCALL
    jmp     *syscall_stub_common(%rip)
    .p2align 3
syscall_stub_common: .quad hypercall_common
syscall_stub_rsp:    .quad 0           /* the guest's %rsp */
syscall_stub_frame:  .quad 0           /* the running vcpu's frame top */
syscall_stub_end:

/* The syscall stub's common part: as trap_common, but always from a
 * guest (ring 3, the frame in place in the running vcpu's regs), into
 * traps.c's hypercall_entry, which returns the frame to leave through. */
    .p2align 4
hypercall_common:
    cld
    SAVE_GPRS
    mov     %rsp, %rdi
    mov     FRAME_SIZE(%rdi), %rsp      /* this CPU's kernel stack */
    call    hypercall_entry
    mov     %rax, %rsp
    jmp     resume_frame

/* enter_frame(const struct cpu_regs *r): return to a guest through r (the
 * running vcpu's frame, guest_frame_top set). Never returns. */
    .globl enter_frame
enter_frame:
    mov     %rdi, %rsp
    jmp     resume_frame

    .bss
    .p2align 12
    .globl idle_pml4
idle_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * BOOT_MAP_GIB
    .globl hv_stack_bottom, hv_stack_top
hv_stack_bottom:
    .skip HV_STACK_SIZE
hv_stack_top:
    .section .note.GNU-stack, "", @progbits
