/*
 * vmx_entry.S - the one way into a VT-x guest and back: point HOST_RSP
 * at this frame, load the guest's GPRs, VMLAUNCH or VMRESUME; at the
 * VM exit (HOST_RIP = vmx_exit_entry) store the guest's GPRs and return
 * to vmx.c, which then lets the interrupts that waited be taken
 * (sti; nop; cli - the exit left IF clear).
 * Owns: nothing. Must never: run with the big lock held (an interrupt
 * taken after the exit takes it), return with IF set, or touch anything
 * but the GPR block it was given and its own frame.
 *
 * int vmx_enter(struct cpu_regs *gprs, int resume)
 * Entered with IF clear, the vcpu's VMCS current on this CPU; returns 0
 * after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed (CF or ZF:
 * VM_INSTRUCTION_ERROR says why; the guest's registers were not
 * touched). RSP, RIP and RFLAGS of the guest live in the VMCS (vmx.c
 * copies them); the other 15 GPRs in gprs.
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
#define RAX 112

#define HOST_RSP 0x6c14

    .text
    .globl vmx_enter, vmx_exit_entry
    .p2align 4
vmx_enter:
    push    %rbx
    push    %rbp
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rdi                        /* gprs: 0(%rsp) at the exit */
    mov     $HOST_RSP, %eax
    vmwrite %rsp, %rax                  /* a failure shows at VMLAUNCH */
    test    %esi, %esi                  /* ZF: launch; the movs keep the flags */
    mov     RAX(%rdi), %rax
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
    jnz     1f
    vmlaunch
    jmp     2f
1:  vmresume
2:  /* VMfailValid / VMfailInvalid: still here, on the same stack */
    pop     %rdi
    mov     $1, %eax
    jmp     3f

    .p2align 4
vmx_exit_entry:
    /* VM exit: RSP = HOST_RSP (gprs on top), IF clear, the host's
     * CR0/CR3/CR4, segments, EFER and PAT loaded from the VMCS */
    push    %rdi
    mov     8(%rsp), %rdi               /* gprs */
    mov     %rax, RAX(%rdi)
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
    pop     %rdi
    xor     %eax, %eax
3:  pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbp
    pop     %rbx
    ret

    .section .note.GNU-stack, "", @progbits
