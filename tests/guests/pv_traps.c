/*
 * pv_traps.c - a PV test kernel that checks the virtual CPU from inside:
 * exceptions reach the kit's handlers with the right vector, error code,
 * RIP and CR2, iret resumes with registers intact, `int $n` follows the
 * trap table's DPL, privileged instructions are emulated (mov from %cr,
 * clts, forced cpuid) or give #GP, fpu_taskswitch gives #NM, an event
 * upcall is delivered on return from a hypercall, and guest user mode
 * (iret to RPL 3, int3 and syscall from user mode) works when the
 * hypervisor accepts a user page table. Same lines on Xenolith and Xen.
 * Hardening: an iret to a non-canonical rip gives the guest #GP (never
 * the hypervisor), privileged instructions from guest user mode give #GP
 * (forced-emulation cpuid still works there), int3 from user mode is
 * delivered whatever DPL the trap table gives it (as Xen), and a trap
 * table longer than 256 entries is taken whole.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/traps.h>
#include <xlguest/platform.h>

/* What the last trap looked like, and how far the handler skips. */
static volatile struct {
    int count;
    uint64_t vector, error_code, rip, cs, rsp, frame;
    uint64_t cr2, cr2_mov;
    unsigned int skip;
    uint64_t redirect; /* if set: resume there instead of rip + skip */
} last;

/* The user-mode probe (user_code2): each instruction i runs from
 * ux_table[2i] to ux_table[2i + 1]; a trap there records its vector in
 * ux_vec[i] (+1, so 0 means "no trap") and resumes after it. */
#define UX_N 10
extern const uint64_t ux_table[2 * UX_N];
static volatile uint64_t ux_vec[UX_N];
static volatile int ux_phase;
extern char user_code2[], nc_recover[], guest_trap_3[];

void guest_trap(struct guest_frame *f)
{
    last.count++;
    last.vector = f->vector;
    last.error_code = f->error_code;
    last.rip = f->rip;
    last.cs = f->cs;
    last.rsp = f->rsp;
    last.frame = (uint64_t)f;
    if (f->vector == 14) {
        last.cr2 = guest_fault_cr2();
        __asm__ volatile("mov %%cr2, %0" : "=r"(last.cr2_mov));
    }
    if (ux_phase) {
        /* A faulting instruction's start first: it is also the end of
         * the one before. A trap (int3) reports the end. */
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < UX_N; i++) {
                if (f->rip == ux_table[2 * i + pass]) {
                    ux_vec[i] = f->vector + 1;
                    f->rip = ux_table[2 * i + 1];
                    return;
                }
            }
        }
    }
    if (last.redirect) {
        f->rip = last.redirect;
        last.redirect = 0;
        return;
    }
    f->rip += last.skip;
}

static volatile int upcalls;
static volatile int upcall_mask_inside;

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    upcalls++;
    upcall_mask_inside = guest_shared_info->vcpu_info[0].evtchn_upcall_mask;
    guest_shared_info->vcpu_info[0].evtchn_upcall_pending = 0;
}

static void reset(unsigned int skip)
{
    last.count = 0;
    last.vector = last.error_code = last.rip = last.cs = ~0ULL;
    last.skip = skip;
    last.redirect = 0;
}

/* Labels of faulting instructions, from the asm below. */
extern char de_insn[], ud_insn[], int3_after[], gp_hlt[], pf_insn[], int20_insn[];
extern char user_code[], user_int3_after[], user_syscall_after[], user_syscall_cb[];
extern char int80_stub[];
extern char hypercall_page[];
long enter_user(uint64_t rip, uint64_t rsp);
void nc_iret(uint64_t rip, uint64_t cs);
volatile uint64_t ux_cpuid_ebx, nc_rsp;
volatile uint64_t int80_count, int80_rax;
volatile uint64_t us_rax, us_cs, us_rip, us_rsp, us_rflags;

__asm__(
    ".text\n"
    /* int $0x80 handler: frame RCX, R11, RIP, CS, RFLAGS, RSP, SS. */
    ".globl int80_stub\n"
    "int80_stub:\n"
    "    pop %rcx\n"
    "    pop %r11\n"
    "    incq int80_count(%rip)\n"
    "    mov %rax, int80_rax(%rip)\n"
    "    pushq $0\n"
    "    jmp hypercall_page + 23 * 32\n"
    /* Guest user mode: int3, then a syscall that must not be a hypercall. */
    ".globl user_code, user_int3_after, user_syscall_after, user_syscall_cb\n"
    "user_code:\n"
    "    int3\n"
    "user_int3_after:\n"
    "    mov $17, %eax\n" /* __HYPERVISOR_xen_version */
    "    xor %edi, %edi\n"
    "    syscall\n"
    "user_syscall_after:\n"
    "    ud2\n"
    /* Syscall callback: frame RCX, R11, RIP, CS, RFLAGS, RSP, SS. */
    "user_syscall_cb:\n"
    "    mov %rax, us_rax(%rip)\n"
    "    mov 16(%rsp), %rax\n"
    "    mov %rax, us_rip(%rip)\n"
    "    mov 24(%rsp), %rax\n"
    "    mov %rax, us_cs(%rip)\n"
    "    mov 32(%rsp), %rax\n"
    "    mov %rax, us_rflags(%rip)\n"
    "    mov %rsp, us_rsp(%rip)\n"
    "    mov kctx_rsp(%rip), %rsp\n"
    "    pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "    xor %eax, %eax\n"
    "    ret\n"
    /* enter_user(rip, rsp): iret to guest user mode; comes back through
     * user_syscall_cb. */
    ".globl enter_user\n"
    "enter_user:\n"
    "    push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "    mov %rsp, kctx_rsp(%rip)\n"
    "    pushq $0xe02b\n" /* FLAT_USER_SS */
    "    push %rsi\n"
    "    pushq $0x202\n"
    "    pushq $0xe033\n" /* FLAT_USER_CS */
    "    push %rdi\n"
    "    pushq $0\n"
    "    jmp hypercall_page + 23 * 32\n"
    /* Privileged instructions from guest user mode: each must trap
     * (#GP), except the forced-emulation cpuid; then int3, then leave
     * through the syscall callback like user_code. */
    ".globl user_code2\n"
    "user_code2:\n"
    "ux0: clts\n ux0e:\n"
    "ux1: mov %cr0, %rax\n ux1e:\n"
    "    mov $0xc0000100, %ecx\n xor %eax, %eax\n xor %edx, %edx\n"
    "ux2: wrmsr\n ux2e:\n"
    "ux3: rdmsr\n ux3e:\n"
    "ux4: wbinvd\n ux4e:\n"
    "ux5: mov %cr3, %rax\n ux5e:\n"
    "ux6: inb $0x80, %al\n ux6e:\n"
    "ux7: cli\n ux7e:\n"
    "    mov $0x40000000, %eax\n xor %ecx, %ecx\n xor %ebx, %ebx\n"
    "ux8: ud2a; .ascii \"xen\"; cpuid\n ux8e:\n"
    "    mov %ebx, ux_cpuid_ebx(%rip)\n"
    "ux9: int3\n ux9e:\n"
    "    mov $17, %eax\n"
    "    xor %edi, %edi\n"
    "    syscall\n"
    "    ud2\n"
    /* nc_iret(rip, cs): HYPERVISOR_iret to rip with IF clear; the #GP
     * handler resumes at nc_recover. */
    ".globl nc_iret, nc_recover\n"
    "nc_iret:\n"
    "    push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "    mov %rsp, kctx_rsp(%rip)\n"
    "    mov %rsp, %rax\n"
    "    sub $64, %rax\n"
    "    mov %rax, nc_rsp(%rip)\n"
    "    pushq $0xe02b\n"
    "    push %rax\n"
    "    pushq $0x2\n" /* IF clear: no upcall may rewrite the rip */
    "    push %rsi\n"
    "    push %rdi\n"
    "    pushq $0\n"
    "    jmp hypercall_page + 23 * 32\n"
    "nc_recover:\n"
    "    mov kctx_rsp(%rip), %rsp\n"
    "    pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "    ret\n"
    ".section .rodata\n"
    ".globl ux_table\n"
    ".p2align 3\n"
    "ux_table: .quad ux0, ux0e, ux1, ux1e, ux2, ux2e, ux3, ux3e, ux4, ux4e\n"
    "          .quad ux5, ux5e, ux6, ux6e, ux7, ux7e, ux8, ux8e, ux9, ux9e\n"
    ".data\n"
    "kctx_rsp: .quad 0\n"
    ".text\n");

static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

static void test_exceptions(void)
{
    /* #DE: handler skips the 2-byte div; registers survive the round trip. */
    uint64_t b = 0, r12 = 0, rcx = 0, r11 = 0;
    reset(2);
    __asm__ volatile("mov $0x1111, %%rbx\n mov $0x2222, %%r12\n mov $0x3333, %%rcx\n"
                     "mov $0x4444, %%r11\n xor %%edx, %%edx\n mov $1, %%eax\n"
                     "xor %%esi, %%esi\n"
                     ".globl de_insn\n de_insn: div %%esi\n"
                     "mov %%rbx, %0\n mov %%r12, %1\n mov %%rcx, %2\n mov %%r11, %3\n"
                     : "=m"(b), "=m"(r12), "=m"(rcx), "=m"(r11)
                     :
                     : "rax", "rbx", "rcx", "rdx", "rsi", "r11", "r12", "memory");
    check_eq("#DE delivered once", last.count, 1);
    check_eq("#DE vector 0", (long)last.vector, 0);
    check_true("#DE rip is the div", last.rip == (uint64_t)de_insn);
    check_eq("#DE frame cs says kernel context (RPL 0)", (long)(last.cs & 3), 0);
    check_true("iret restores rbx/r12/rcx/r11",
               b == 0x1111 && r12 == 0x2222 && rcx == 0x3333 && r11 == 0x4444);

    reset(2);
    __asm__ volatile(".globl ud_insn\n ud_insn: ud2" ::: "memory");
    check_eq("#UD vector 6", (long)last.vector, 6);
    check_true("#UD rip is the ud2", last.rip == (uint64_t)ud_insn);

    reset(0);
    __asm__ volatile("int3\n .globl int3_after\n int3_after:" ::: "memory");
    check_eq("int3 vector 3", (long)last.vector, 3);
    check_true("int3 rip is after the int3", last.rip == (uint64_t)int3_after);
    check_eq("int3 has no error code (0 from the stub)", (long)last.error_code, 0);

    reset(1);
    __asm__ volatile(".globl gp_hlt\n gp_hlt: hlt" ::: "memory");
    check_eq("hlt -> #GP vector 13", (long)last.vector, 13);
    check_eq("hlt -> #GP error 0", (long)last.error_code, 0);
    check_true("#GP rip is the hlt", last.rip == (uint64_t)gp_hlt);

    reset(2);
    __asm__ volatile(".globl int20_insn\n int20_insn: int $0x20" ::: "memory");
    check_eq("int $0x20 (no DPL) -> #GP", (long)last.vector, 13);
    /* The error code is the CPU's, passed through as Xen does: the SDM
     * says (0x20 << 3) | 2; QEMU's TCG gives (0x20 << 4) | 2 in long mode. */
    check_true("int $0x20 -> #GP error names vector 0x20 with the IDT bit",
               (last.error_code & 7) == 2 &&
               (last.error_code >> 3 == 0x20 || last.error_code >> 4 == 0x20));
    check_true("int $0x20 #GP rip is the int", last.rip == (uint64_t)int20_insn);

    /* #PF: write to 0x10; error W (the guest's kernel mode: no U bit). */
    reset(7);
    last.cr2 = 0;
    __asm__ volatile("mov $0x10, %%rax\n .globl pf_insn\n pf_insn: movq $1, (%%rax)\n"
                     ::: "rax", "memory"); /* 48 c7 00 01 00 00 00: 7 bytes */
    check_eq("#PF vector 14", (long)last.vector, 14);
    check_eq("#PF error code 2 (write, not present, kernel)", (long)last.error_code, 2);
    check_eq("#PF cr2 via mov from %cr2", (long)last.cr2_mov, 0x10);
    if (guest_shared_info)
        check_eq("#PF cr2 in vcpu_info", (long)last.cr2, 0x10);
    else
        printk("SKIP #PF cr2 in vcpu_info: shared_info not mapped\n");
    check_true("#PF rip is the store", last.rip == (uint64_t)pf_insn);

    reset(3); /* 8b 04 25 <disp32> would be 7; use mov (%rax),%eax: 8b 00 + nop */
    __asm__ volatile("mov $0x20, %%rax\n mov (%%rax), %%eax\n nop\n" ::: "rax", "memory");
    check_eq("#PF on read: error 0", (long)last.error_code, 0);
    check_eq("#PF on read: cr2 0x20", (long)last.cr2_mov, 0x20);
}

static void test_soft_int(void)
{
    struct trap_info t[2] = {
        { .vector = 0x80, .flags = 3, .cs = FLAT_KERNEL_CS, .address = (unsigned long)int80_stub },
        { 0 },
    };
    check_eq("set_trap_table adds vector 0x80", HYPERVISOR_set_trap_table(t), 0);
    int80_count = 0;
    uint64_t rax = 0;
    __asm__ volatile("mov $0x5a5a, %%eax\n int $0x80\n mov %%rax, %0" : "=m"(rax) :: "rax",
                     "rcx", "r11", "memory");
    check_eq("int $0x80 (DPL 3) reaches its handler", (long)int80_count, 1);
    check_eq("int $0x80 handler saw rax", (long)int80_rax, 0x5a5a);
    check_eq("int $0x80 returns with rax intact", (long)rax, 0x5a5a);
}

static uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static void test_priv_ops(start_info_t *si)
{
    reset(0);
    uint64_t cr3, cr4, r9;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    check_eq("mov from %cr3 is emulated (no trap)", last.count, 0);
    check_true("mov from %cr3 = machine address of the L4",
               cr3 == virt_to_mfn((void *)si->pt_base) << 12);
    __asm__ volatile("mov %%cr4, %%r9\n mov %%r9, %0" : "=r"(r9) :: "r9");
    cr4 = r9;
    check_true("mov from %cr4 (into r9) shows PAE", (cr4 >> 5) & 1);
    uint64_t cr0 = read_cr0();
    check_true("mov from %cr0 shows PG and PE", (cr0 & 0x80000001) == 0x80000001);
    check_eq("mov from %cr0: TS clear at start", (long)((cr0 >> 3) & 1), 0);

    check_eq("fpu_taskswitch(1) -> 0", HYPERVISOR_fpu_taskswitch(1), 0);
    check_eq("mov from %cr0: TS set after fpu_taskswitch(1)", (long)((read_cr0() >> 3) & 1), 1);
    reset(0);
    __asm__ volatile("fninit" ::: "memory");
    check_eq("fninit with TS -> one #NM", last.count, 1);
    check_eq("#NM vector 7", (long)last.vector, 7);
    check_eq("TS clear after #NM delivery", (long)((read_cr0() >> 3) & 1), 0);
    HYPERVISOR_fpu_taskswitch(1);
    reset(0);
    __asm__ volatile("clts" ::: "memory");
    check_eq("clts is emulated (no trap)", last.count, 0);
    check_eq("clts clears TS", (long)((read_cr0() >> 3) & 1), 0);

    uint32_t a = 0x40000000, bx = 0, c = 0, d = 0;
    __asm__ volatile("ud2a; .ascii \"xen\"; cpuid"
                     : "+a"(a), "=b"(bx), "+c"(c), "=d"(d) :: "memory");
    check_true("forced cpuid 0x40000000 says XenVMMXenVMM",
               bx == 0x566e6558 && c == 0x65584d4d && d == 0x4d4d566e);
    check_true("forced cpuid 0x40000000 max leaf >= 0x40000002", a >= 0x40000002);
    a = 0x40000001, c = 0;
    __asm__ volatile("ud2a; .ascii \"xen\"; cpuid"
                     : "+a"(a), "=b"(bx), "+c"(c), "=d"(d) :: "memory");
    check_eq("forced cpuid 0x40000001 major version 4", (long)(a >> 16), 4);

    reset(2);
    __asm__ volatile("mov $0x4b564d00, %%ecx\n rdmsr" ::: "rax", "rcx", "rdx", "memory");
    check_eq("rdmsr of an unknown MSR -> #GP", (long)last.vector, 13);
    reset(1);
    __asm__ volatile("mov $0x80, %%dx\n inb %%dx, %%al" ::: "rax", "rdx", "memory");
    check_eq("inb without I/O privilege -> #GP", (long)last.vector, 13);
}

static void test_callbacks(void)
{
    struct callback_register bad = { .type = CALLBACKTYPE_event, .address = 0x0000800000000000UL };
    check_eq("callback_op register non-canonical -> -EINVAL",
             HYPERVISOR_callback_op(CALLBACKOP_register, &bad), -XEN_EINVAL);
    struct callback_register unknown = { .type = 77, .address = 0x1000 };
    check_eq("callback_op register type 77 -> -ENOSYS",
             HYPERVISOR_callback_op(CALLBACKOP_register, &unknown), -XEN_ENOSYS);
    struct callback_unregister un = { .type = CALLBACKTYPE_event };
    check_eq("callback_op unregister event -> -EINVAL",
             HYPERVISOR_callback_op(CALLBACKOP_unregister, &un), -XEN_EINVAL);
    check_eq("callback_op cmd 99 -> -ENOSYS", HYPERVISOR_callback_op(99, &un), -XEN_ENOSYS);
    check_eq("vm_assist enable writable_pagetables -> 0",
             HYPERVISOR_vm_assist(VMASST_CMD_enable, VMASST_TYPE_writable_pagetables), 0);
    check_eq("vm_assist disable writable_pagetables -> 0",
             HYPERVISOR_vm_assist(VMASST_CMD_disable, VMASST_TYPE_writable_pagetables), 0);
    check_eq("vm_assist type 20 -> -EINVAL", HYPERVISOR_vm_assist(VMASST_CMD_enable, 20),
             -XEN_EINVAL);
    check_eq("set_segment_base FS non-canonical -> -EINVAL",
             HYPERVISOR_set_segment_base(SEGBASE_FS, 0x0000800000000000UL), -XEN_EINVAL);
    check_eq("set_segment_base reg 9 -> -EINVAL", HYPERVISOR_set_segment_base(9, 0), -XEN_EINVAL);

    /* %fs base really moves: read through %fs. */
    static volatile uint64_t fs_target = 0x1234abcd;
    check_eq("set_segment_base FS -> 0",
             HYPERVISOR_set_segment_base(SEGBASE_FS, (unsigned long)&fs_target), 0);
    uint64_t val;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(val));
    check_eq("load through %fs sees the new base", (long)val, 0x1234abcd);
    HYPERVISOR_set_segment_base(SEGBASE_FS, 0);
    static volatile uint64_t gs_target = 0x5678;
    check_eq("set_segment_base GS_KERNEL -> 0",
             HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL, (unsigned long)&gs_target), 0);
    __asm__ volatile("mov %%gs:0, %0" : "=r"(val));
    check_eq("load through %gs sees the kernel GS base", (long)val, 0x5678);
}

static void test_upcall(void)
{
    if (!guest_shared_info) {
        printk("SKIP event upcall: shared_info not mapped (update_va_mapping refused)\n");
        return;
    }
    vcpu_info_t *vi = &guest_shared_info->vcpu_info[0];
    upcalls = 0;
    vi->evtchn_upcall_mask = 1;
    vi->evtchn_upcall_pending = 1;
    long v = HYPERVISOR_xen_version(XENVER_version, NULL);
    check_eq("no upcall while masked", upcalls, 0);
    vi->evtchn_upcall_mask = 0;
    v = HYPERVISOR_xen_version(XENVER_version, NULL);
    check_eq("upcall delivered on return from a hypercall", upcalls, 1);
    check_eq("events masked inside the upcall", upcall_mask_inside, 1);
    check_eq("events unmasked again after iret", vi->evtchn_upcall_mask, 0);
    check_eq("hypercall result survives the upcall", v, (4 << 16) | 17);
    vi->evtchn_upcall_mask = 1;
}

static int user_mode_ok; /* MMUEXT_NEW_USER_BASEPTR accepted */

static void test_user_mode(start_info_t *si)
{
    struct callback_register sc = { .type = CALLBACKTYPE_syscall,
                                    .address = (unsigned long)user_syscall_cb };
    check_eq("register syscall callback -> 0", HYPERVISOR_callback_op(CALLBACKOP_register, &sc), 0);
    check_eq("stack_switch -> 0",
             HYPERVISOR_stack_switch(FLAT_KERNEL_SS, (unsigned long)(kstack + sizeof(kstack))), 0);
    struct mmuext_op op = { .cmd = MMUEXT_NEW_USER_BASEPTR };
    op.arg1.mfn = virt_to_mfn((void *)si->pt_base);
    long rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    if (rc) {
        printk("SKIP guest user mode: MMUEXT_NEW_USER_BASEPTR -> %ld\n", rc);
        return;
    }
    user_mode_ok = 1;
    reset(0);
    us_rax = us_cs = us_rip = 0;
    enter_user((uint64_t)user_code, (uint64_t)(ustack + sizeof(ustack)));
    check_eq("user int3 reaches the handler", last.count, 1);
    check_eq("user int3: frame cs is the user cs (RPL 3)", (long)(last.cs & 3), 3);
    check_true("user int3: rip after the int3", last.rip == (uint64_t)user_int3_after);
    check_true("user int3: frame on the stack_switch stack",
               last.frame >= (uint64_t)kstack && last.frame < (uint64_t)kstack + sizeof(kstack));
    check_true("user int3: saved rsp is the user stack",
               last.rsp > (uint64_t)ustack && last.rsp <= (uint64_t)ustack + sizeof(ustack));
    check_eq("user syscall reaches the syscall callback (not a hypercall)", (long)us_rax, 17);
    check_eq("user syscall: frame cs RPL 3", (long)(us_cs & 3), 3);
    check_true("user syscall: rip after the syscall", us_rip == (uint64_t)user_syscall_after);
    check_true("user syscall: frame at the top of the stack_switch stack",
               us_rsp == (uint64_t)kstack + sizeof(kstack) - 56);
}

/* HYPERVISOR_iret to a non-canonical rip: the guest gets #GP(0) with
 * that rip in the frame (Xen: the iretq faults and the fault is bounced
 * to the guest); the hypervisor never faults. */
static void test_iret_noncanonical(void)
{
    static const uint64_t bad[2] = { 0x8000000000000000ULL, 0x0000800000000000ULL };
    uint8_t mask = guest_shared_info ? guest_shared_info->vcpu_info[0].evtchn_upcall_mask : 1;
    for (int i = 0; i < 2; i++) {
        reset(0);
        last.redirect = (uint64_t)nc_recover;
        nc_iret(bad[i], 0xe030 /* RPL 0: stay in guest kernel mode */);
        if (i == 0) {
            check_eq("iret to rip 0x8000000000000000 -> one trap", last.count, 1);
            check_eq("iret to rip 0x8000000000000000 -> #GP", (long)last.vector, 13);
            check_eq("iret to rip 0x8000000000000000 -> #GP error 0", (long)last.error_code, 0);
            check_true("iret non-canonical: #GP frame rip is the bad rip", last.rip == bad[i]);
            check_true("iret non-canonical: #GP frame rsp is the iret rsp", last.rsp == nc_rsp);
        } else {
            check_eq("iret to rip 0x0000800000000000 -> #GP", (long)last.vector, 13);
            check_true("iret to rip 0x0000800000000000: frame rip", last.rip == bad[i]);
        }
    }
    if (guest_shared_info)
        guest_shared_info->vcpu_info[0].evtchn_upcall_mask = mask;
}

/* set_debugreg / get_debugreg (Xen 4.17's rules; the guest's CR4.DE is
 * clear on both): DR0-3 must be guest addresses, DR6/DR7 reserved bits
 * are forced, DR7.GD and I/O breakpoints are refused, a data breakpoint
 * enabled in DR7 gives #DB after the write, with B0 in DR6. */
static long set_dr(int reg, unsigned long val)
{
    return xen_hypercall5(__HYPERVISOR_set_debugreg, (uint64_t)(long)reg, val, 0, 0, 0);
}
static long get_dr(int reg)
{
    return xen_hypercall5(__HYPERVISOR_get_debugreg, (uint64_t)(long)reg, 0, 0, 0, 0);
}
static volatile uint64_t watched;
extern char db_write_after[];

static void test_debugregs(void)
{
    check_eq("get_debugreg(7) at start -> 0x400", get_dr(7), 0x400);
    check_eq("get_debugreg(6) at start -> 0xffff0ff0", get_dr(6), 0xffff0ff0L);
    check_eq("get_debugreg(8) -> -ENODEV", get_dr(8), -XEN_ENODEV);
    check_eq("get_debugreg(-1) -> -ENODEV", get_dr(-1), -XEN_ENODEV);
    check_eq("set_debugreg(8) -> -ENODEV", set_dr(8, 0), -XEN_ENODEV);
    check_eq("set_debugreg(0, hv address) -> -EPERM", set_dr(0, 0xffff800000000000UL), -XEN_EPERM);
    check_eq("set_debugreg(1, non-canonical) -> -EPERM", set_dr(1, 0x0000800000000000UL),
             -XEN_EPERM);
    check_eq("set_debugreg(3, guest address) -> 0", set_dr(3, 0xffff880000001000UL), 0);
    check_eq("get_debugreg(3) reads it back", get_dr(3), (long)0xffff880000001000UL);
    check_eq("set_debugreg(7, GD) -> -EPERM", set_dr(7, 1UL << 13), -XEN_EPERM);
    check_eq("set_debugreg(7, L0 I/O breakpoint without CR4.DE) -> -EPERM",
             set_dr(7, 1 | (2UL << 16)), -XEN_EPERM);
    check_eq("set_debugreg(7, upper half set) -> -EINVAL", set_dr(7, 1UL << 32), -XEN_EINVAL);
    check_eq("set_debugreg(6, upper half set) -> -EINVAL", set_dr(6, 1UL << 40), -XEN_EINVAL);
    check_eq("set_debugreg(7, reserved bits only) -> 0", set_dr(7, 0xd800UL), 0);
    check_eq("... reads 0x400 (reserved bits forced)", get_dr(7), 0x400);
    check_eq("set_debugreg(6, 0) -> 0", set_dr(6, 0), 0);
    check_eq("... reads 0xffff0ff0", get_dr(6), 0xffff0ff0L);
    check_eq("set_debugreg(4, 1) (DR6 alias without CR4.DE) -> 0", set_dr(4, 1), 0);
    check_eq("get_debugreg(5) (DR7 alias) -> 0x400", get_dr(5), 0x400);
    check_eq("set_debugreg(6, default) -> 0", set_dr(6, 0xffff0ff0UL), 0);

    /* L0, RW0 = write, LEN0 = 8 bytes on `watched`. */
    const unsigned long dr7 = 1 | (1UL << 16) | (3UL << 18);
    check_eq("set_debugreg(0, &watched) -> 0", set_dr(0, (unsigned long)&watched), 0);
    check_eq("set_debugreg(7, write watch on DR0) -> 0", set_dr(7, dr7), 0);
    check_eq("get_debugreg(7) -> the watch", get_dr(7), (long)(dr7 | 0x400));
    reset(0);
    __asm__ volatile("movq $1, %0\n"
                     ".globl db_write_after\n"
                     "db_write_after:\n" : "=m"(watched) :: "memory");
    check_eq("write to the watched word -> one trap", last.count, 1);
    check_eq("... #DB", (long)last.vector, 1);
    check_true("... after the write (trap)", last.rip == (uint64_t)db_write_after);
    check_eq("... DR6 says B0", get_dr(6) & 0xf, 1);
    check_eq("set_debugreg(7, 0) -> 0", set_dr(7, 0), 0);
    reset(0);
    watched = 2;
    check_eq("no #DB once DR7 is clear", last.count, 0);
    check_eq("watched word written", (long)watched, 2);
    set_dr(6, 0);
}

/* Xen takes a trap table up to its zero entry however long it is
 * (continuing the hypercall as needed). Entry 600 makes int $0x80
 * callable again (vector 0x80: TCG reports other int $n vectors wrongly
 * in the #GP error code, which real Xen trusts). */
static void test_long_trap_table(void)
{
    static struct trap_info t[601];
    struct trap_info off[2] = {
        { .vector = 0x80, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)int80_stub },
        { 0 },
    };
    check_eq("set_trap_table: int $0x80 DPL 0 -> 0", HYPERVISOR_set_trap_table(off), 0);
    for (int i = 0; i < 600; i++)
        t[i] = (struct trap_info){ .vector = (uint8_t)(0x40 + (i % 48)), .flags = 0,
                                   .cs = FLAT_KERNEL_CS, .address = (unsigned long)int80_stub };
    t[599].vector = 0x80;
    t[599].flags = 3;
    t[600] = (struct trap_info){ 0 };
    check_eq("set_trap_table with 600 entries -> 0", HYPERVISOR_set_trap_table(t), 0);
    int80_count = 0;
    reset(2); /* a #GP skips the int */
    __asm__ volatile("int $0x80" ::: "rcx", "r11", "memory");
    check_eq("entry 600 of a long trap table is in effect (int $0x80)", (long)int80_count, 1);
    check_eq("int $0x80 after the long table: no #GP", last.count, 0);
}

static void test_user_privops(void)
{
    if (!user_mode_ok) {
        printk("SKIP user-mode privileged instructions: no user page table\n");
        return;
    }
    struct trap_info t[2] = {
        { .vector = 3, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)guest_trap_3 },
        { 0 },
    };
    check_eq("set_trap_table: int3 with DPL 0 -> 0", HYPERVISOR_set_trap_table(t), 0);
    reset(0);
    for (int i = 0; i < UX_N; i++)
        ux_vec[i] = 0;
    ux_cpuid_ebx = 0;
    us_rax = 0;
    ux_phase = 1;
    enter_user((uint64_t)user_code2, (uint64_t)(ustack + sizeof(ustack)));
    ux_phase = 0;
    check_eq("user-mode probe left through the syscall callback", (long)us_rax, 17);
    static const char *const what[8] = {
        "clts", "mov from %cr0", "wrmsr FS_BASE", "rdmsr FS_BASE", "wbinvd",
        "mov from %cr3", "inb without IOPL", "cli without IOPL",
    };
    for (int i = 0; i < 8; i++) {
        char buf[64];
        const char *p = "user mode ";
        int n = 0;
        while (*p)
            buf[n++] = *p++;
        for (p = what[i]; *p;)
            buf[n++] = *p++;
        for (p = " -> #GP"; *p;)
            buf[n++] = *p++;
        buf[n] = 0;
        check_eq(buf, (long)ux_vec[i], 13 + 1);
    }
    check_eq("user mode forced cpuid is emulated (no trap)", (long)ux_vec[8], 0);
    check_eq("user mode forced cpuid 0x40000000 gives XenV", (long)ux_cpuid_ebx, 0x566e6558);
    check_eq("user mode int3 with trap DPL 0 -> #BP as Xen (DPL of 3/4 unchecked)",
             (long)ux_vec[9], 3 + 1);
    check_eq("traps_init again -> 0", traps_init(), 0);
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("pv_traps"))
        return SHUTDOWN_poweroff;
    check_eq("traps_init -> 0", traps_init(), 0);
    test_exceptions();
    test_soft_int();
    test_priv_ops(si);
    test_callbacks();
    test_upcall();
    test_user_mode(si);
    test_user_privops();
    test_iret_noncanonical();
    test_debugregs();
    test_long_trap_table();
    check_eq("set_trap_table(NULL) clears -> 0", HYPERVISOR_set_trap_table(NULL), 0);
    return check_summary("pv_traps");
}
