/*
 * svm_entry.S - the one way into an SVM guest and back: load the guest's
 * GPRs, VMLOAD its hidden state, VMRUN, VMSAVE it, VMLOAD the host's,
 * store the guest's GPRs, then let the interrupts that waited be taken.
 * Owns: nothing. Must never: run with the big lock held (an interrupt
 * taken at the final stgi takes it), or leave GIF clear.
 *
 * void svm_vmrun(struct cpu_regs *gprs, uint64_t vmcb_pa, uint64_t host_pa,
 *                const void *vmcb)
 * Entered with IF clear; returns with IF clear. RAX and RSP of the guest
 * live in the VMCB (svm.c copies them); the other 14 GPRs in gprs.
 * GIF is set again before it returns, IF clear: svm.c marks the exit
 * (guest_cpus.c) before it lets waiting interrupts in.
 */
#define R15 0
#define R14 8
#define R13 16
#define R12 24
#define R11 32
#define R10 40
#define R9  48
#define R8  56
#define RBP 64
#define RDI 72
#define RSI 80
#define RDX 88
#define RCX 96
#define RBX 104

    .text
    .globl svm_vmrun
    .p2align 4
svm_vmrun:
    push    %rbx
    push    %rbp
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rcx                        /* guest vmcb (virtual) */
    push    %rdx                        /* host save pa */
    push    %rsi                        /* guest vmcb pa */
    push    %rdi                        /* gprs */
    clgi
    mov     %rdx, %rax
    vmsave                              /* host FS/GS/TR/LDTR/syscall MSRs */
    mov     %rsi, %rax
    vmload
    mov     RBX(%rdi), %rbx
    mov     RCX(%rdi), %rcx
    mov     RDX(%rdi), %rdx
    mov     RSI(%rdi), %rsi
    mov     RBP(%rdi), %rbp
    mov     R8(%rdi), %r8
    mov     R9(%rdi), %r9
    mov     R10(%rdi), %r10
    mov     R11(%rdi), %r11
    mov     R12(%rdi), %r12
    mov     R13(%rdi), %r13
    mov     R14(%rdi), %r14
    mov     R15(%rdi), %r15
    mov     RDI(%rdi), %rdi
    sti                                 /* GIF still clear: held until the guest runs */
    vmrun
    /* #VMEXIT: host RSP/RIP/RFLAGS (IF set) back, GIF clear, RAX = vmcb pa */
    push    %rdi
    mov     8(%rsp), %rdi               /* gprs */
    mov     %rbx, RBX(%rdi)
    mov     %rcx, RCX(%rdi)
    mov     %rdx, RDX(%rdi)
    mov     %rsi, RSI(%rdi)
    mov     %rbp, RBP(%rdi)
    mov     %r8, R8(%rdi)
    mov     %r9, R9(%rdi)
    mov     %r10, R10(%rdi)
    mov     %r11, R11(%rdi)
    mov     %r12, R12(%rdi)
    mov     %r13, R13(%rdi)
    mov     %r14, R14(%rdi)
    mov     %r15, R15(%rdi)
    pop     %rax
    mov     %rax, RDI(%rdi)
    pop     %rdi                        /* gprs */
    pop     %rax                        /* guest vmcb pa */
    vmsave
    pop     %rax                        /* host save pa */
    vmload
    /* No guest breakpoint armed in the hv (#VMEXIT restores the host's
     * DR7 on hardware; disabled here whatever it was). */
    pop     %rax                        /* guest vmcb (unused) */
    mov     $0x400, %eax
    mov     %rax, %dr7
    cli
    stgi                                /* what waited is taken in svm.c, once the exit is marked */
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbp
    pop     %rbx
    ret

    .section .note.GNU-stack, "", @progbits
