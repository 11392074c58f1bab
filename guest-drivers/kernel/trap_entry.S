/*
 * trap_entry.S - the guest kit's exception and event-callback entry points.
 * On entry (Xen x86_64 PV bounce frame) the stack holds
 *   RCX, R11, [error code,] RIP, CS, RFLAGS, RSP, SS
 * Each stub restores RCX/R11 from it, pushes an error code (0 if none)
 * and its vector, then guest_entry_common saves the other registers as a
 * struct guest_frame (xlguest/traps.h), calls guest_trap_dispatch, and
 * returns with the iret hypercall (flags 0: a full return).
 * As a PVH kernel (ring 0, own IDT: pvh.c) the pvh_trap_N stubs take the
 * hardware frame [error code,] RIP, CS, RFLAGS, RSP, SS, build the same
 * struct guest_frame and return with iretq; pvh_event_entry is the IDT
 * entry of the event-channel callback vector (pseudo vector 0x100 too).
 */
#include <xen/xen.h>

.macro TRAP vec, has_err
    .p2align 4
    .globl guest_trap_\vec
guest_trap_\vec:
    pop     %rcx
    pop     %r11
    .if \has_err == 0
    pushq   $0
    .endif
    pushq   $\vec
    jmp     guest_entry_common
.endm

    .text
    TRAP 0, 0
    TRAP 1, 0
    TRAP 2, 0
    TRAP 3, 0
    TRAP 4, 0
    TRAP 5, 0
    TRAP 6, 0
    TRAP 7, 0
    TRAP 8, 1
    TRAP 9, 0
    TRAP 10, 1
    TRAP 11, 1
    TRAP 12, 1
    TRAP 13, 1
    TRAP 14, 1
    TRAP 15, 0
    TRAP 16, 0
    TRAP 17, 1
    TRAP 18, 0
    TRAP 19, 0

    .p2align 4
    .globl guest_event_callback
guest_event_callback:
    pop     %rcx
    pop     %r11
    pushq   $0
    pushq   $0x100
    jmp     guest_entry_common

/* Failsafe: the hypervisor could not return to us (bad segment or
 * frame); the stack holds RCX, R11, DS, ES, FS, GS, RIP, CS, ... */
    .p2align 4
    .globl guest_failsafe_callback
guest_failsafe_callback:
    mov     %rsp, %rdi
    and     $~15, %rsp
    call    guest_failsafe
    ud2

guest_entry_common:
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
    mov     %rsp, %rdi
    call    guest_trap_dispatch
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
    pushq   $0                          /* iret flags: not VGCF_in_syscall */
    jmp     hypercall_page + __HYPERVISOR_iret * 32

/* ---- PVH: native ring-0 entries (interrupt gates: IF is clear) ---- */
.macro NTRAP vec, has_err
    .p2align 4
    .globl pvh_trap_\vec
pvh_trap_\vec:
    .if \has_err == 0
    pushq   $0
    .endif
    pushq   $\vec
    jmp     pvh_entry_common
.endm

    NTRAP 0, 0
    NTRAP 1, 0
    NTRAP 2, 0
    NTRAP 3, 0
    NTRAP 4, 0
    NTRAP 5, 0
    NTRAP 6, 0
    NTRAP 7, 0
    NTRAP 8, 1
    NTRAP 9, 0
    NTRAP 10, 1
    NTRAP 11, 1
    NTRAP 12, 1
    NTRAP 13, 1
    NTRAP 14, 1
    NTRAP 15, 0
    NTRAP 16, 0
    NTRAP 17, 1
    NTRAP 18, 0
    NTRAP 19, 0

    .p2align 4
    .globl pvh_event_entry
pvh_event_entry:
    pushq   $0
    pushq   $0x100
    jmp     pvh_entry_common

pvh_entry_common:
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
    mov     %rsp, %rdi
    call    guest_trap_dispatch
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

    .section .note.GNU-stack, "", @progbits
