/*
 * test_pv_cpu.c - host unit tests for the PV virtual CPU (cmocka,
 * ASan/UBSan).
 * Tests: hv/arch/x86/pv/pv_cpu.c (bounce frames, trap table, iret, callbacks,
 * exception routing) and hv/arch/x86/pv/pv_emul.c (instruction decoder).
 * Mocks: copy_from_guest_va / copy_to_guest_va and guest_translate (+
 * mfn_to_virt) over one fake 64 KiB guest window at GVA_BASE (anything
 * else is -EFAULT), domain_crash (records),
 * and the arch hooks of pv_cpu.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/mm.h>
#include <xenolith/pv_cpu.h>
#include <xenolith/tlbflush.h>
#include <xen/callback.h>

#define GVA_BASE 0xffffffff80000000ULL
#define GVA_SIZE 0x10000
static uint8_t gmem[GVA_SIZE] __attribute__((aligned(4096)));
static int crashes;

static int in_window(uint64_t va, size_t len)
{
    return va >= GVA_BASE && len <= GVA_SIZE && va - GVA_BASE <= GVA_SIZE - len;
}
int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t va, size_t len)
{
    if (!in_window(va, len))
        return -XL_EFAULT;
    memcpy(dst, gmem + (va - GVA_BASE), len);
    return 0;
}
int copy_to_guest_va(uint64_t cr3, uint64_t va, const void *src, size_t len)
{
    if (!in_window(va, len))
        return -XL_EFAULT;
    memcpy(gmem + (va - GVA_BASE), src, len);
    return 0;
}
/* The window's pages are machine frames FAKE_MFN.. (page by page, as
 * the real walk gives them), reached through mfn_to_virt. */
#define FAKE_MFN 0x1000ULL
static unsigned int walks;
int guest_translate(uint64_t cr3, uint64_t va, int write, uint64_t *maddr)
{
    (void)cr3, (void)write;
    walks++;
    if (!in_window(va, 1))
        return -XL_EFAULT;
    *maddr = (FAKE_MFN << 12) + (va - GVA_BASE);
    return 0;
}
/* The leaf entries of the window's pages (what the cache compares), and
 * the TLB flush clock. */
static uint64_t fake_pte[GVA_SIZE >> 12];
uint64_t tlbflush_clock = 1;
uint64_t tlbflush_invlpg_count;
int guest_translate_leaf(uint64_t cr3, uint64_t va, int write, uint64_t *maddr, uint64_t **leaf)
{
    int rc = guest_translate(cr3, va, write, maddr);
    if (!rc)
        *leaf = &fake_pte[(va - GVA_BASE) >> 12];
    return rc;
}
void *mfn_to_virt(uint64_t mfn)
{
    return gmem + ((mfn - FAKE_MFN) << 12);
}
/* guest_access.c is not linked: its address rule (canonical, outside
 * the hv's PML4 slots 256-271). */
int guest_va_ok(uint64_t va)
{
    uint64_t top = va >> 47;
    if (top != 0 && top != 0x1FFFF)
        return 0;
    return !(top && ((va >> 39) & 511) >= 256 && ((va >> 39) & 511) <= 271);
}
void domain_crash(struct domain *d, const char *fmt, ...)
{
    crashes++;
    d->state = DOM_SHUTDOWN;
}
void arch_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) { r[0] = r[1] = r[2] = r[3] = 0; }
uint64_t arch_read_cr(unsigned int n) { return n == 0 ? 0x80050033 : 0x6f0; }
uint32_t arch_io_in(uint16_t port, unsigned int size) { return 0xab; }
void arch_io_out(uint16_t port, unsigned int size, uint32_t val) {}
void arch_wbinvd(void) {}
void pv_sync_segments(struct vcpu *vc) { (void)vc; }
int arch_port_reserved(uint16_t port, unsigned int size) { return port == 0x3f8; }

/* timer.c is not linked: the mode-toggle retry of the runstate/time
 * areas is counted only. */
static int mode_toggled_calls;
void timer_vcpu_mode_toggled(struct vcpu *vc) { (void)vc; mode_toggled_calls++; }

/* pv_desc.c is not linked: no LDT here. */
int pv_ldt_fault(struct vcpu *vc, struct cpu_regs *regs, uint32_t error_code)
{
    (void)vc; (void)regs; (void)error_code;
    return 0;
}

/* pv_ptwr.c is not linked (it needs mm): a fake that says whether the
 * #PF path asked it, and what to answer. */
static int ptwr_calls, ptwr_answer;
int pv_ptwr_fault(struct vcpu *vc, struct cpu_regs *regs, uint64_t cr2)
{
    ptwr_calls++;
    if (ptwr_answer)
        regs->rip += 3;
    return ptwr_answer;
}

/* Continuations (hypercall.c is not linked): preempt_now says whether
 * the handler should stop; a continuation records where it would resume. */
static int preempt_now, preempt_checks;
static unsigned int cont_nr = ~0u;
static uint64_t cont_a1;
int hypercall_preempt_check(void)
{
    preempt_checks++;
    return preempt_now;
}
long hypercall_continuation(struct vcpu *vc, unsigned int nr, uint64_t a1, uint64_t a2,
                            uint64_t a3, uint64_t a4, uint64_t a5)
{
    cont_nr = nr;
    cont_a1 = a1;
    return (long)nr;
}

static struct domain dom;
static shared_info_t shinfo;
static struct vcpu *v;

static int setup(void **state)
{
    memset(&dom, 0, sizeof(dom));
    memset(&shinfo, 0, sizeof(shinfo));
    memset(gmem, 0, sizeof(gmem));
    crashes = 0;
    ptwr_calls = ptwr_answer = 0;
    preempt_now = preempt_checks = 0;
    cont_nr = ~0u;
    cont_a1 = 0;
    dom.state = DOM_RUNNING;
    v = &dom.vcpus[0];
    v->domain = &dom;
    dom.max_vcpus = 1;
    v->info = &shinfo.vcpu_info[0];
    v->guest_table = 0x100;
    v->pv.kernel_mode = 1;
    pv_update_cr3(v);
    return 0;
}

static uint64_t gq(uint64_t va) { uint64_t x; memcpy(&x, gmem + (va - GVA_BASE), 8); return x; }

static void kernel_regs(struct cpu_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->rip = GVA_BASE + 0x100;
    r->cs = FLAT_KERNEL_CS;
    r->ss = FLAT_KERNEL_SS;
    r->rsp = GVA_BASE + 0x8008; /* not 16-byte aligned on purpose */
    r->rflags = 0x246 | (1 << 8) | (1 << 18); /* IF ZF PF + TF, AC */
    r->rcx = 0xc1, r->r11 = 0x11;
}

/* pv_reflect_exception: int3 and #NP go to their handler at once (error
 * code only for #NP, events masked for an interrupt gate); #GP, #PF and
 * a vector without a handler are left to pv_guest_exception. A frame
 * that crosses a page is written as well (the general copy). */
static void test_reflect_exception(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->info->evtchn_upcall_mask = 0;
    v->pv.traps[3] = (struct pv_trap){ .address = GVA_BASE + 0x300, .cs = FLAT_KERNEL_CS };
    v->pv.traps[11] = (struct pv_trap){ .address = GVA_BASE + 0xb00, .cs = FLAT_KERNEL_CS,
                                        .flags = PV_TI_IF };
    v->pv.traps[13] = (struct pv_trap){ .address = GVA_BASE + 0xd00, .cs = FLAT_KERNEL_CS };
    r.vector = 3;
    r.error_code = 0x55; /* int3 has none: never written */
    assert_int_equal(pv_reflect_exception(v, &r), 1);
    uint64_t sp = GVA_BASE + 0x8000 - 7 * 8;
    assert_int_equal(r.rip, GVA_BASE + 0x300);
    assert_int_equal(r.rsp, sp);
    assert_int_equal(gq(sp + 0), 0xc1);               /* RCX */
    assert_int_equal(gq(sp + 8), 0x11);               /* R11 */
    assert_int_equal(gq(sp + 16), GVA_BASE + 0x100);  /* RIP */
    assert_int_equal(gq(sp + 48), FLAT_KERNEL_SS);    /* SS */
    assert_int_equal(v->info->evtchn_upcall_mask, 0); /* trap gate */
    assert_int_equal(crashes, 0);

    kernel_regs(&r);
    r.rsp = GVA_BASE + 0x1020; /* the 8-qword frame crosses into page 0 */
    r.vector = 11;
    r.error_code = 0x18;
    assert_int_equal(pv_reflect_exception(v, &r), 1);
    sp = GVA_BASE + 0x1020 - 8 * 8;
    assert_int_equal(r.rip, GVA_BASE + 0xb00);
    assert_int_equal(r.rsp, sp);
    assert_int_equal(gq(sp + 16), 0x18);              /* error code */
    assert_int_equal(gq(sp + 24), GVA_BASE + 0x100);  /* RIP */
    assert_int_equal(v->info->evtchn_upcall_mask, 1); /* interrupt gate */

    kernel_regs(&r);
    r.vector = 13;
    assert_int_equal(pv_reflect_exception(v, &r), 0);
    r.vector = 14;
    assert_int_equal(pv_reflect_exception(v, &r), 0);
    r.vector = 0; /* no handler for #DE */
    assert_int_equal(pv_reflect_exception(v, &r), 0);
    assert_int_equal(r.rip, GVA_BASE + 0x100);
    assert_int_equal(crashes, 0);

    r.vector = 3; /* a stack it cannot write: the domain, never the hv */
    r.rsp = GVA_BASE + 0x20;
    assert_int_equal(pv_reflect_exception(v, &r), 1);
    assert_int_equal(crashes, 1);
}

/* The running vcpu's translation cache: a second access to the page is
 * no walk; a moved flush clock or invlpg count, another leaf value,
 * another CR3 or CPU,
 * or a write after a read walk walks again; a bad page is NULL. */
static void test_running_frame_cache(void **s)
{
    uint64_t va = GVA_BASE + 0x2010;
    walks = 0;
    uint8_t *p = pv_running_frame(v, va, 16, 0);
    assert_ptr_equal(p, gmem + 0x2010);
    assert_int_equal(walks, 1);
    assert_ptr_equal(pv_running_frame(v, va + 8, 8, 0), gmem + 0x2018);
    assert_int_equal(walks, 1);
    assert_null(pv_running_frame(v, GVA_BASE + 0x2ff8, 16, 0)); /* crosses a page */
    assert_ptr_equal(pv_running_frame(v, va, 16, 1), p);       /* a write: walked again */
    assert_int_equal(walks, 2);
    assert_ptr_equal(pv_running_frame(v, va, 16, 0), p);       /* a read after it: kept */
    assert_int_equal(walks, 2);
    tlbflush_clock++;
    pv_running_frame(v, va, 16, 0);
    assert_int_equal(walks, 3);
    tlbflush_invlpg_count++;
    pv_running_frame(v, va, 16, 0);
    assert_int_equal(walks, 4);
    walks--;
    fake_pte[2] ^= 0x20;
    pv_running_frame(v, va, 16, 0);
    assert_int_equal(walks, 4);
    v->processor = 1;
    pv_running_frame(v, va, 16, 0);
    assert_int_equal(walks, 5);
    v->cr3 += 0x1000;
    pv_running_frame(v, va, 16, 0);
    assert_int_equal(walks, 6);
    assert_null(pv_running_frame(v, 0x1000, 8, 0));
    v->processor = 0;
}

static void test_bounce_kernel_mode_with_error_code(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->info->evtchn_upcall_mask = 0;
    assert_int_equal(pv_bounce(v, &r, GVA_BASE + 0x500, PV_TBF_ERRCODE | PV_TBF_INTERRUPT, 0x1234), 0);
    uint64_t sp = GVA_BASE + 0x8000 - 8 * 8;
    assert_int_equal(r.rsp, sp);
    assert_int_equal(r.rip, GVA_BASE + 0x500);
    assert_int_equal(gq(sp + 0), 0xc1);                 /* RCX */
    assert_int_equal(gq(sp + 8), 0x11);                 /* R11 */
    assert_int_equal(gq(sp + 16), 0x1234);              /* error code */
    assert_int_equal(gq(sp + 24), GVA_BASE + 0x100);    /* RIP */
    assert_int_equal(gq(sp + 32), FLAT_KERNEL_CS & ~3); /* CS, RPL 0, saved mask 0 */
    assert_true(gq(sp + 40) & (1 << 9));                /* IF = !saved mask */
    assert_int_equal(gq(sp + 48), GVA_BASE + 0x8008);   /* RSP */
    assert_int_equal(gq(sp + 56), FLAT_KERNEL_SS);
    assert_int_equal(v->info->evtchn_upcall_mask, 1);   /* interrupt gate */
    assert_false(r.rflags & ((1 << 8) | (1 << 18)));    /* TF, AC cleared */
}

static void test_bounce_saves_mask_in_cs(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->info->evtchn_upcall_mask = 1;
    assert_int_equal(pv_bounce(v, &r, GVA_BASE + 0x500, 0, 0), 0);
    uint64_t sp = GVA_BASE + 0x8000 - 7 * 8;
    assert_int_equal(r.rsp, sp);
    assert_int_equal(gq(sp + 24) >> 32, 1);
    assert_false(gq(sp + 32) & (1 << 9));
}

static void test_bounce_from_user_uses_kernel_stack(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->guest_table_user = 0x200;
    v->pv.kernel_mode = 0;
    pv_update_cr3(v);
    v->pv.gs_base_kernel = 1;
    v->pv.kernel_sp = GVA_BASE + 0x4000;
    r.cs = FLAT_USER_CS;
    assert_int_equal(pv_bounce(v, &r, GVA_BASE + 0x600, 0, 0), 0);
    assert_int_equal(v->pv.kernel_mode, 1);
    assert_int_equal(v->cr3, 0x100ULL << 12);
    assert_int_equal(r.rsp, GVA_BASE + 0x4000 - 56);
    assert_int_equal(gq(r.rsp + 24) & 0xffff, FLAT_USER_CS); /* RPL 3 kept */
}

static void test_bounce_failures_crash(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    r.rsp = 0x1000; /* outside the guest window: unwritable */
    assert_int_equal(pv_bounce(v, &r, GVA_BASE, 0, 0), -1);
    assert_int_equal(crashes, 1);
    setup(NULL);
    kernel_regs(&r);
    assert_int_equal(pv_bounce(v, &r, 0, 0, 0), -1); /* null handler */
    assert_int_equal(crashes, 1);
}

/* Xen's failsafe frame: RCX, R11, DS, ES, FS, GS, RIP, CS (RPL 0 in
 * kernel mode, mask in 32-39), RFLAGS (IF = !mask), RSP, SS on the
 * 16-byte aligned stack; from user mode on the kernel stack in kernel
 * mode; no callback or an unwritable stack crashes the domain. */
static void test_failsafe(void **s)
{
    struct cpu_regs r;
    const uint16_t sel[4] = { 0x2b, 0, 0x0f, 0x13 };
    kernel_regs(&r);
    v->pv.failsafe_callback = GVA_BASE + 0x700;
    v->pv.failsafe_masks_events = 1;
    assert_int_equal(pv_failsafe(v, &r, sel), 0);
    uint64_t f = GVA_BASE + 0x8000 - 88;
    assert_int_equal(r.rsp, f);
    assert_int_equal(r.rip, GVA_BASE + 0x700);
    assert_int_equal(r.cs, FLAT_KERNEL_CS);
    assert_int_equal(r.rflags & (1 << 8), 0); /* TF cleared */
    assert_int_equal(gq(f), 0xc1);
    assert_int_equal(gq(f + 8), 0x11);
    assert_int_equal(gq(f + 16), 0x2b);
    assert_int_equal(gq(f + 32), 0x0f);
    assert_int_equal(gq(f + 40), 0x13);
    assert_int_equal(gq(f + 48), GVA_BASE + 0x100);
    assert_int_equal(gq(f + 56), FLAT_KERNEL_CS & ~3);
    assert_true(gq(f + 64) & (1 << 9)); /* IF: events were unmasked */
    assert_int_equal(gq(f + 72), GVA_BASE + 0x8008);
    assert_int_equal(v->info->evtchn_upcall_mask, 1); /* CALLBACKF_mask_events */
    assert_int_equal(crashes, 0);
    /* from user mode: onto the kernel stack, now in kernel mode */
    setup(NULL);
    v->guest_table_user = 0x200;
    v->pv.kernel_mode = 0;
    pv_update_cr3(v);
    v->pv.kernel_sp = GVA_BASE + 0x4000;
    v->pv.failsafe_callback = GVA_BASE + 0x700;
    kernel_regs(&r);
    r.cs = FLAT_USER_CS;
    assert_int_equal(pv_failsafe(v, &r, sel), 0);
    assert_int_equal(v->pv.kernel_mode, 1);
    assert_int_equal(r.rsp, GVA_BASE + 0x4000 - 88);
    assert_int_equal(gq(GVA_BASE + 0x4000 - 88 + 56), FLAT_USER_CS);
    /* unwritable stack, no callback */
    setup(NULL);
    v->pv.failsafe_callback = GVA_BASE + 0x700;
    kernel_regs(&r);
    r.rsp = 0x1000;
    assert_int_equal(pv_failsafe(v, &r, sel), -1);
    assert_int_equal(crashes, 1);
    setup(NULL);
    kernel_regs(&r);
    assert_int_equal(pv_failsafe(v, &r, sel), -1);
    assert_int_equal(crashes, 1);
}

static void put_trap(uint64_t va, uint8_t vec, uint8_t flags, uint16_t cs, uint64_t addr)
{
    struct trap_info t = { .vector = vec, .flags = flags, .cs = cs, .address = addr };
    memcpy(gmem + (va - GVA_BASE), &t, sizeof(t));
}

static void test_set_trap_table(void **s)
{
    uint64_t tbl = GVA_BASE + 0x2000;
    put_trap(tbl, 14, 4, 0xe030, GVA_BASE + 0x140);
    put_trap(tbl + 16, 3, 3, 0xe033, GVA_BASE + 0x130);
    put_trap(tbl + 32, 0, 0, 0, 0); /* terminator */
    assert_int_equal(do_set_trap_table(v, tbl, 0, 0, 0, 0), 0);
    assert_int_equal(v->pv.traps[14].address, GVA_BASE + 0x140);
    assert_int_equal(v->pv.traps[14].cs, 0xe033); /* RPL 0 -> 3 */
    assert_int_equal(v->pv.traps[14].flags, 4);
    assert_int_equal(v->pv.traps[3].flags, 3);
    put_trap(tbl, 6, 0, 0xe033, 0x0000800000000000ULL);
    assert_int_equal(do_set_trap_table(v, tbl, 0, 0, 0, 0), -XL_EINVAL);
    assert_int_equal(do_set_trap_table(v, 0x1000, 0, 0, 0, 0), -XL_EFAULT);
    assert_int_equal(do_set_trap_table(v, 0, 0, 0, 0, 0), 0);
    assert_int_equal(v->pv.traps[14].address, 0);
}

/* A long table is taken whole, continued in batches: an unterminated
 * one never holds the CPU (the loop stops at the first preempt check). */
static void test_set_trap_table_continues(void **s)
{
    uint64_t tbl = GVA_BASE + 0x2000;
    for (unsigned int i = 0; i < 300; i++)
        put_trap(tbl + 16 * i, (uint8_t)(0x40 + (i % 100)), 0, 0xe033, GVA_BASE + 0x100 + i);
    put_trap(tbl + 16 * 299, 0x81, 3, 0xe033, GVA_BASE + 0x777);
    put_trap(tbl + 16 * 300, 0, 0, 0, 0);
    assert_int_equal(do_set_trap_table(v, tbl, 0, 0, 0, 0), 0);
    assert_int_equal(v->pv.traps[0x81].address, GVA_BASE + 0x777);
    assert_true(preempt_checks > 0); /* it asked while it went */
    assert_int_equal(cont_nr, ~0u);
    /* The same table with the scheduler wanting the CPU: continued at
     * entry 64, nothing past it written yet. */
    memset(v->pv.traps, 0, sizeof(v->pv.traps));
    preempt_now = 1;
    assert_int_equal(do_set_trap_table(v, tbl, 0, 0, 0, 0), __HYPERVISOR_set_trap_table);
    assert_int_equal(cont_nr, __HYPERVISOR_set_trap_table);
    assert_int_equal(cont_a1, tbl + 16 * 64);
    assert_int_equal(v->pv.traps[0x40 + 63].address, GVA_BASE + 0x100 + 63);
    assert_int_equal(v->pv.traps[0x40].address, GVA_BASE + 0x100); /* entry 0 */
    assert_int_equal(v->pv.traps[0x40 + 64].address, 0);             /* entry 64: not yet */
    assert_int_equal(v->pv.traps[0x81].address, 0);
    /* Resuming at the continuation address finishes the job. */
    preempt_now = 0;
    assert_int_equal(do_set_trap_table(v, cont_a1, 0, 0, 0, 0), 0);
    assert_int_equal(v->pv.traps[0x81].address, GVA_BASE + 0x777);
}

/* Nothing non-canonical ever reaches iretq: the guest gets #GP(0) with
 * the bad rip in the frame (what Xen's faulting iretq gives it). */
static void test_noncanonical_rip_becomes_gp(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->pv.traps[13] = (struct pv_trap){ .address = GVA_BASE + 0x1d0, .cs = 0xe033 };
    r.rip = 0x8000000000000000ULL;
    pv_return_to_guest(v, &r);
    assert_int_equal(crashes, 0);
    assert_int_equal(r.rip, GVA_BASE + 0x1d0);
    /* Frame: rcx, r11, error code, rip, cs, ... */
    assert_int_equal(gq(r.rsp + 16), 0);
    assert_int_equal(gq(r.rsp + 24), 0x8000000000000000ULL);
    assert_int_equal(v->pv.tb.pending, 0);

    /* Forced-emulation cpuid whose end is the first non-canonical byte. */
    setup(NULL);
    kernel_regs(&r);
    v->pv.traps[13] = (struct pv_trap){ .address = GVA_BASE + 0x1d0, .cs = 0xe033 };
    r.rip = 0x800000000000ULL; /* as after rip += 7 */
    v->regs = r;
    pv_return_to_guest(v, &r);
    assert_int_equal(r.rip, GVA_BASE + 0x1d0);
    assert_int_equal(gq(r.rsp + 24), 0x800000000000ULL);

    /* No #GP handler: the guest is crashed, the rip never used. */
    setup(NULL);
    kernel_regs(&r);
    r.rip = 0x0000900000000000ULL;
    pv_return_to_guest(v, &r);
    assert_int_equal(crashes, 1);

    /* A pending bounce keeps the bad rip in its frame, leaves canonical. */
    setup(NULL);
    kernel_regs(&r);
    v->pv.traps[3] = (struct pv_trap){ .address = GVA_BASE + 0x130, .cs = 0xe033, .flags = 3 };
    r.rip = 0x0000800000000000ULL;
    r.vector = 3;
    pv_guest_exception(v, &r, 0);
    pv_return_to_guest(v, &r);
    assert_int_equal(r.rip, GVA_BASE + 0x130);
    assert_int_equal(gq(r.rsp + 16), 0x0000800000000000ULL); /* no error code */
}

/* From guest user mode only I/O, cli/sti (IOPL 3) and cpuid are
 * emulated; clts, mov cr, rdmsr/wrmsr, wbinvd are a #GP as in Xen. */
static void test_emulate_user_mode(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    dom.privileged = 1;
    v->guest_table_user = 0x200;
    v->pv.kernel_mode = 0;
    pv_update_cr3(v);
    static const struct { uint8_t b[3]; unsigned int n; } denied[] = {
        { { 0x0f, 0x06 }, 2 },       /* clts */
        { { 0x0f, 0x20, 0xc0 }, 3 }, /* mov %cr0, %rax */
        { { 0x0f, 0x20, 0xd8 }, 3 }, /* mov %cr3, %rax */
        { { 0x0f, 0x22, 0xc0 }, 3 }, /* mov %rax, %cr0 */
        { { 0x0f, 0x30 }, 2 },       /* wrmsr */
        { { 0x0f, 0x32 }, 2 },       /* rdmsr */
        { { 0x0f, 0x09 }, 2 },       /* wbinvd */
    };
    v->pv.cr0_ts = 1;
    v->pv.fs_base = 0x1234;
    for (unsigned int i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        memset(gmem + 0x100, 0x90, 8);
        memcpy(gmem + 0x100, denied[i].b, denied[i].n);
        r.rip = GVA_BASE + 0x100;
        r.rcx = 0xc0000100; /* FS_BASE */
        r.rax = r.rdx = 0;
        assert_int_equal(pv_emulate_priv_op(v, &r), 0);
        assert_int_equal(r.rip, GVA_BASE + 0x100);
    }
    assert_int_equal(v->pv.cr0_ts, 1);
    assert_int_equal(v->pv.fs_base, 0x1234);
    /* The same in kernel mode is emulated. */
    v->pv.kernel_mode = 1;
    memcpy(gmem + 0x100, denied[0].b, 2);
    r.rip = GVA_BASE + 0x100;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    assert_int_equal(v->pv.cr0_ts, 0);
    /* User mode: I/O and cli need IOPL 3; cpuid is always emulated. */
    v->pv.kernel_mode = 0;
    gmem[0x100] = 0xe4, gmem[0x101] = 0x80; /* inb $0x80 */
    r.rip = GVA_BASE + 0x100;
    v->pv.iopl = 1;
    assert_int_equal(pv_emulate_priv_op(v, &r), 0);
    v->pv.iopl = 3;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    gmem[0x100] = 0xfa; /* cli */
    r.rip = GVA_BASE + 0x100;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    gmem[0x100] = 0x0f, gmem[0x101] = 0xa2; /* cpuid */
    r.rip = GVA_BASE + 0x100;
    v->pv.iopl = 0;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    assert_int_equal(r.rip, GVA_BASE + 0x102);
}

/* Xen 4.17 (guest_io_read/write): with I/O privilege, a port the domain
 * has no access to reads as all ones and writes are dropped - no #GP. */
static void test_domu_io_reads_ones(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    dom.privileged = 0;
    v->pv.iopl = 1;
    gmem[0x100] = 0x66, gmem[0x101] = 0xed; /* inw %dx, %ax */
    r.rdx = 0x80;
    r.rax = 0x55550000;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    assert_int_equal(r.rax, 0x5555ffff); /* not the port's 0xab */
    dom.privileged = 1;
    r.rip = GVA_BASE + 0x100;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    assert_int_equal(r.rax, 0x555500ab);
}

/* int3 from guest user mode goes to vector 3 whatever DPL the trap
 * table gives it: Xen does not check the DPL of vectors 3 and 4 (the
 * CPU's own DPL check already allowed the instruction). */
static void test_user_int3_ignores_dpl(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->guest_table_user = 0x200;
    v->pv.kernel_mode = 0;
    v->pv.kernel_sp = GVA_BASE + 0x5000;
    v->pv.traps[3] = (struct pv_trap){ .address = GVA_BASE + 0x130, .cs = 0xe033, .flags = 0 };
    r.cs = 0xe033;
    r.vector = 3;
    pv_guest_exception(v, &r, 0);
    assert_int_equal(v->pv.tb.vector, 3);
    pv_return_to_guest(v, &r);
    assert_int_equal(r.rip, GVA_BASE + 0x130);
}

static void test_exception_routing(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->pv.traps[14] = (struct pv_trap){ .address = GVA_BASE + 0x140, .cs = 0xe033, .flags = 0 };
    r.vector = 14;
    r.error_code = 6; /* hardware: write, user (ring 3) */
    pv_guest_exception(v, &r, 0x10);
    assert_int_equal(v->pv.tb.pending, 1);
    assert_int_equal(v->pv.tb.error_code, 2); /* U cleared: guest kernel mode */
    assert_int_equal(v->info->arch.cr2, 0x10);
    pv_return_to_guest(v, &r);
    assert_int_equal(r.rip, GVA_BASE + 0x140);
    assert_int_equal(gq(r.rsp + 16), 2);
    assert_int_equal(v->pv.tb.pending, 0);
    /* No handler for #UD: crash. */
    kernel_regs(&r);
    r.vector = 6;
    pv_guest_exception(v, &r, 0);
    assert_int_equal(crashes, 1);
}

static void test_int_n_follows_dpl(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    gmem[0x100] = 0xcd, gmem[0x101] = 0x80; /* int $0x80 at rip */
    v->pv.traps[13] = (struct pv_trap){ .address = GVA_BASE + 0x1d0, .cs = 0xe033 };
    v->pv.traps[0x80] = (struct pv_trap){ .address = GVA_BASE + 0x180, .cs = 0xe033, .flags = 0 };
    r.vector = 13;
    r.error_code = (0x80 << 3) | 2;
    pv_guest_exception(v, &r, 0);
    assert_int_equal(v->pv.tb.vector, 13); /* DPL 0: #GP */
    assert_int_equal(v->pv.tb.error_code, (0x80 << 3) | 2);
    v->pv.tb.pending = 0;
    v->pv.traps[0x80].flags = 3;
    r.rip = GVA_BASE + 0x100;
    pv_guest_exception(v, &r, 0);
    assert_int_equal(v->pv.tb.vector, 0x80);
    assert_false(v->pv.tb.flags & PV_TBF_ERRCODE);
    assert_int_equal(r.rip, GVA_BASE + 0x102);
}

static void test_iret(void **s)
{
    struct iret_context c = { .rax = 7, .r11 = 0x11, .rcx = 0xcc, .flags = 0,
                              .rip = GVA_BASE + 0x300, .cs = 0xe030, .rflags = 0x3046,
                              .rsp = GVA_BASE + 0x7000, .ss = 0xe02b };
    memcpy(gmem + 0x6000, &c, sizeof(c));
    v->regs.rsp = GVA_BASE + 0x6000;
    v->info->evtchn_upcall_mask = 0;
    assert_int_equal(do_iret(v, 0, 0, 0, 0, 0), 7);
    assert_int_equal(v->regs.rip, GVA_BASE + 0x300);
    assert_int_equal(v->regs.cs, 0xe033);
    assert_int_equal(v->regs.rflags, 0x246); /* IOPL stripped, IF forced */
    assert_int_equal(v->regs.rcx, 0xcc);
    assert_int_equal(v->info->evtchn_upcall_mask, 1); /* IF was clear */
    assert_int_equal(v->pv.kernel_mode, 1);
    /* To user mode without a user page table: crash. */
    c.cs = 0xe033;
    memcpy(gmem + 0x6000, &c, sizeof(c));
    v->regs.rsp = GVA_BASE + 0x6000;
    do_iret(v, 0, 0, 0, 0, 0);
    assert_int_equal(crashes, 1);
    /* With one: user mode, user table, in_syscall leaves rcx = rip. */
    setup(NULL);
    v->guest_table_user = 0x200;
    c.flags = VGCF_in_syscall;
    c.rflags = 0x202;
    memcpy(gmem + 0x6000, &c, sizeof(c));
    v->regs.rsp = GVA_BASE + 0x6000;
    do_iret(v, 0, 0, 0, 0, 0);
    assert_int_equal(v->pv.kernel_mode, 0);
    assert_int_equal(v->cr3, 0x200ULL << 12);
    assert_int_equal(v->regs.rcx, GVA_BASE + 0x300);
    assert_int_equal(v->info->evtchn_upcall_mask, 0);
}

static void test_event_upcall(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->info->evtchn_upcall_pending = 1;
    v->info->evtchn_upcall_mask = 1;
    pv_return_to_guest(v, &r); /* masked */
    assert_int_equal(r.rip, GVA_BASE + 0x100);
    v->info->evtchn_upcall_mask = 0;
    pv_return_to_guest(v, &r); /* no callback registered */
    assert_int_equal(r.rip, GVA_BASE + 0x100);
    v->pv.event_callback = GVA_BASE + 0x900;
    pv_return_to_guest(v, &r);
    assert_int_equal(r.rip, GVA_BASE + 0x900);
    assert_int_equal(v->info->evtchn_upcall_mask, 1);
    assert_true(gq(r.rsp + 32) & (1 << 9)); /* frame IF: was unmasked */
}

static void test_callbacks_and_misc(void **s)
{
    struct callback_register cb = { .type = CALLBACKTYPE_syscall, .flags = CALLBACKF_mask_events,
                                    .address = GVA_BASE + 0xa00 };
    memcpy(gmem + 0x3000, &cb, sizeof(cb));
    assert_int_equal(do_callback_op(v, CALLBACKOP_register, GVA_BASE + 0x3000, 0, 0, 0), 0);
    assert_int_equal(v->pv.syscall_callback, GVA_BASE + 0xa00);
    assert_int_equal(v->pv.syscall_masks_events, 1);
    assert_int_equal(do_callback_op(v, CALLBACKOP_register, 0x10, 0, 0, 0), -XL_EFAULT);
    assert_int_equal(do_vm_assist(v, VMASST_CMD_enable, 32, 0, 0, 0), 0); /* m2p_strict */
    assert_int_equal(do_vm_assist(v, VMASST_CMD_enable, 6, 0, 0, 0), -XL_EINVAL);
    assert_int_equal(do_vm_assist(v, 5, 2, 0, 0, 0), -XL_ENOSYS);
    assert_int_equal(do_set_segment_base(v, SEGBASE_GS_USER, 0x1234, 0, 0, 0), 0);
    assert_int_equal(v->pv.gs_base_user, 0x1234);
    /* User syscall bounces with events masked, in kernel mode. */
    struct cpu_regs r;
    kernel_regs(&r);
    v->guest_table_user = 0x200;
    v->pv.kernel_mode = 0;
    v->pv.kernel_sp = GVA_BASE + 0x5000;
    pv_syscall_from_user(v, &r);
    assert_int_equal(r.rip, GVA_BASE + 0xa00);
    assert_int_equal(v->pv.kernel_mode, 1);
    assert_int_equal(v->info->evtchn_upcall_mask, 1);
}

static void test_decode(void **s)
{
    struct pv_insn in;
    const uint8_t movcr3[] = { 0x0f, 0x20, 0xd8 };       /* mov %cr3, %rax */
    assert_int_equal(pv_decode(movcr3, 3, &in), 0);
    assert_int_equal(in.op, PV_OP_MOV_FROM_CR);
    assert_int_equal(in.cr, 3);
    assert_int_equal(in.reg, 0);
    assert_int_equal(in.len, 3);
    const uint8_t movcr4r9[] = { 0x41, 0x0f, 0x20, 0xe1 }; /* mov %cr4, %r9 */
    assert_int_equal(pv_decode(movcr4r9, 4, &in), 0);
    assert_int_equal(in.cr, 4);
    assert_int_equal(in.reg, 9);
    assert_int_equal(in.len, 4);
    const uint8_t outw[] = { 0x66, 0xef };
    assert_int_equal(pv_decode(outw, 2, &in), 0);
    assert_int_equal(in.op, PV_OP_OUT);
    assert_int_equal(in.size, 2);
    assert_true(in.port_dx);
    const uint8_t inb_imm[] = { 0xe4, 0x80 };
    assert_int_equal(pv_decode(inb_imm, 2, &in), 0);
    assert_int_equal(in.op, PV_OP_IN);
    assert_int_equal(in.imm, 0x80);
    assert_int_equal(pv_decode(inb_imm, 1, &in), -1); /* truncated */
    const uint8_t int80[] = { 0xcd, 0x80 };
    assert_int_equal(pv_decode(int80, 2, &in), 0);
    assert_int_equal(in.op, PV_OP_INT);
    const uint8_t nop[] = { 0x90 };
    assert_int_equal(pv_decode(nop, 1, &in), -1);
    const uint8_t cpuid16[] = { 0x66, 0x0f, 0xa2 };
    assert_int_equal(pv_decode(cpuid16, 3, &in), -1);
    const uint8_t forced[] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2 };
    assert_true(pv_is_forced_cpuid(forced, 7));
    assert_false(pv_is_forced_cpuid(forced, 6));
}

static void test_emulate_io_needs_iopl(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    gmem[0x100] = 0xe4, gmem[0x101] = 0x80; /* inb $0x80, %al */
    dom.privileged = 1;
    r.rax = 0x1100;
    assert_int_equal(pv_emulate_priv_op(v, &r), 0);
    v->pv.iopl = 1;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    assert_int_equal(r.rax, 0x11ab);
    assert_int_equal(r.rip, GVA_BASE + 0x102);
    gmem[0x102] = 0x0f, gmem[0x103] = 0x20, gmem[0x104] = 0xd3; /* mov %cr2, %rbx */
    v->pv.cr2 = 0x77;
    assert_int_equal(pv_emulate_priv_op(v, &r), 1);
    assert_int_equal(r.rbx, 0x77);
}

/* A #PF goes to the ptwr path first; only if it declines is it bounced. */
static void test_pf_tries_ptwr(void **s)
{
    struct cpu_regs r;
    kernel_regs(&r);
    v->pv.traps[14] = (struct pv_trap){ .address = GVA_BASE + 0x500, .cs = FLAT_KERNEL_CS };
    r.vector = 14, r.error_code = 7;
    ptwr_answer = 1;
    pv_guest_exception(v, &r, GVA_BASE + 0x2000);
    assert_int_equal(ptwr_calls, 1);
    assert_false(v->pv.tb.pending);
    assert_int_equal(r.rip, GVA_BASE + 0x103);
    ptwr_answer = 0;
    pv_guest_exception(v, &r, GVA_BASE + 0x2000);
    assert_int_equal(ptwr_calls, 2);
    assert_true(v->pv.tb.pending);
    assert_int_equal(v->pv.tb.vector, 14);
}

static uint64_t desc(uint32_t hi, uint32_t lo) { return ((uint64_t)hi << 32) | lo; }

/* Xen's check_descriptor rules for 64-bit PV guests. */
static void test_check_descriptor(void **s)
{
    uint64_t d;
    d = desc(0x00209a00, 0); /* ring-0 64-bit code: DPL becomes 3 */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x0020fa00, 0));
    d = desc(0x00cf9200, 0x0000ffff); /* ring-0 data */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x00cff200, 0x0000ffff));
    d = desc(0x00cfb200, 0x1234ffff); /* DPL 1 data */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x00cff200, 0x1234ffff));
    d = desc(0x00cff200, 0x0000ffff); /* already DPL 3: unchanged */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x00cff200, 0x0000ffff));
    d = desc(0x00cf1200, 0x0000ffff); /* not present: anything goes, unchanged */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x00cf1200, 0x0000ffff));
    d = desc(0x0000e000 | 0x8000, 0); /* present system type 0 (gate upper half) */
    assert_true(pv_check_descriptor(&d));
    d = desc(0x00008900, 0x0000ffff); /* TSS */
    assert_false(pv_check_descriptor(&d));
    d = desc(0x00008200, 0x0000ffff); /* LDT */
    assert_false(pv_check_descriptor(&d));
    d = desc(0x00008e00, 0xe0330000); /* interrupt gate */
    assert_false(pv_check_descriptor(&d));
    /* Call gates: DPL forced to 0, the (fixed-up) DPL kept in the RPL. */
    d = desc(0x1234ec00, 0x00105678); /* DPL 3 gate to guest selector 0x10 */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x12348c00, 0x00135678));
    d = desc(0x1234ac00, 0xe0335678); /* DPL 1 gate to FLAT_KERNEL_CS */
    assert_true(pv_check_descriptor(&d));
    assert_int_equal(d, desc(0x12348c00, 0xe0335678));
    d = desc(0x1234ec00, 0xe0085678); /* to the hv's own code selector */
    assert_false(pv_check_descriptor(&d));
    d = desc(0x1234ec00, 0xe00c5678); /* an LDT selector is fine */
    assert_true(pv_check_descriptor(&d));
    d = desc(0x1234ec01, 0x00105678); /* parameter count / reserved bits */
    assert_false(pv_check_descriptor(&d));
}

static void test_decode_write(void **s)
{
    struct pv_winsn in;
    const uint8_t mov64[] = { 0x48, 0x89, 0x37 };                /* mov %rsi,(%rdi) */
    assert_int_equal(pv_decode_write(mov64, 3, &in), 0);
    assert_int_equal(in.op, PV_WOP_MOV);
    assert_int_equal(in.size, 8);
    assert_int_equal(in.reg, 6);
    assert_int_equal(in.len, 3);
    const uint8_t mov_r9_sib[] = { 0x4c, 0x89, 0x4c, 0xc7, 0x08 }; /* mov %r9,8(%rdi,%rax,8) */
    assert_int_equal(pv_decode_write(mov_r9_sib, 5, &in), 0);
    assert_int_equal(in.reg, 9);
    assert_int_equal(in.len, 5);
    const uint8_t mov32_disp32[] = { 0x89, 0x87, 0x00, 0x10, 0x00, 0x00 }; /* mov %eax,0x1000(%rdi) */
    assert_int_equal(pv_decode_write(mov32_disp32, 6, &in), 0);
    assert_int_equal(in.size, 4);
    assert_int_equal(in.len, 6);
    const uint8_t movimm[] = { 0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff }; /* movq $-2,(%rdi) */
    assert_int_equal(pv_decode_write(movimm, 7, &in), 0);
    assert_true(in.has_imm);
    assert_int_equal(in.imm, (uint64_t)-2);
    assert_int_equal(in.len, 7);
    assert_int_equal(pv_decode_write(movimm, 6, &in), -1); /* truncated */
    const uint8_t xchg[] = { 0x48, 0x87, 0x06 };                /* xchg %rax,(%rsi) */
    assert_int_equal(pv_decode_write(xchg, 3, &in), 0);
    assert_int_equal(in.op, PV_WOP_XCHG);
    const uint8_t cmpxchg[] = { 0xf0, 0x48, 0x0f, 0xb1, 0x0e }; /* lock cmpxchg %rcx,(%rsi) */
    assert_int_equal(pv_decode_write(cmpxchg, 5, &in), 0);
    assert_int_equal(in.op, PV_WOP_CMPXCHG);
    assert_int_equal(in.reg, 1);
    assert_int_equal(in.len, 5);
    const uint8_t andimm8[] = { 0xf0, 0x48, 0x83, 0x27, 0xfd };  /* lock andq $-3,(%rdi) */
    assert_int_equal(pv_decode_write(andimm8, 5, &in), 0);
    assert_int_equal(in.op, PV_WOP_AND);
    assert_int_equal(in.imm, (uint64_t)-3);
    const uint8_t riprel[] = { 0x48, 0x89, 0x05, 1, 2, 3, 4 };   /* mov %rax,x(%rip) */
    assert_int_equal(pv_decode_write(riprel, 7, &in), 0);
    assert_int_equal(in.len, 7);
    const uint8_t regdst[] = { 0x48, 0x89, 0xc7 };              /* mov %rax,%rdi */
    assert_int_equal(pv_decode_write(regdst, 3, &in), -1);
    const uint8_t c7_reg1[] = { 0xc7, 0x0f, 0, 0, 0, 0 };        /* c7 /1: undefined */
    assert_int_equal(pv_decode_write(c7_reg1, 6, &in), -1);
    const uint8_t sub[] = { 0x48, 0x29, 0x07 };                 /* sub: not handled */
    assert_int_equal(pv_decode_write(sub, 3, &in), -1);
    const uint8_t mov16[] = { 0x66, 0x89, 0x07 };               /* 16-bit: not handled */
    assert_int_equal(pv_decode_write(mov16, 3, &in), -1);
    /* Linux's ptep_set_wrprotect: notrack/ds, REX.B, lock-free andb $0xfd,(%r12). */
    const uint8_t andb[] = { 0x3e, 0x41, 0x80, 0x24, 0x24, 0xfd };
    assert_int_equal(pv_decode_write(andb, 6, &in), 0);
    assert_int_equal(in.op, PV_WOP_AND);
    assert_int_equal(in.size, 1);
    assert_int_equal(in.len, 6);
    const uint8_t orb_reg[] = { 0x08, 0x07 };                   /* or %al,(%rdi) */
    assert_int_equal(pv_decode_write(orb_reg, 2, &in), 0);
    assert_int_equal(in.size, 1);
    const uint8_t movb_ah[] = { 0x88, 0x27 };                   /* mov %ah,(%rdi): refused */
    assert_int_equal(pv_decode_write(movb_ah, 2, &in), -1);
    const uint8_t subb[] = { 0x80, 0x2f, 0x01 };                /* subb: not handled */
    assert_int_equal(pv_decode_write(subb, 3, &in), -1);
}

/* A byte store changes only its byte of the entry, and flags follow it. */
static void test_write_byte(void **s)
{
    (void)s;
    struct pv_winsn in;
    struct cpu_regs r;
    uint64_t n;
    int w;
    memset(&r, 0, sizeof(r));
    const uint8_t andb[] = { 0x80, 0x27, 0xfd }; /* andb $0xfd,(%rdi) */
    assert_int_equal(pv_decode_write(andb, 3, &in), 0);
    pv_write_compute(&in, &r, 0x8000000012345067ULL, 0, &n, &w);
    assert_true(w);
    assert_int_equal(n, 0x8000000012345065ULL);
    pv_write_compute(&in, &r, 0x8000000012345067ULL, 7, &n, &w); /* the top byte */
    assert_int_equal(n, 0x8000000012345067ULL & ~(2ULL << 56));
    r.rflags = 0x202 | 0x40;
    pv_write_commit(&in, &r, 0x8000000012345067ULL, 0);
    assert_int_equal(r.rflags & 0x40, 0); /* result 0x65 is not zero */
}

static void test_write_compute_commit(void **s)
{
    struct pv_winsn in;
    struct cpu_regs r;
    uint64_t n;
    int w;
    memset(&r, 0, sizeof(r));
    r.rip = 0x1000;
    /* 32-bit store into the upper half keeps the lower one. */
    const uint8_t mov32[] = { 0x89, 0x47, 0x04 }; /* mov %eax,4(%rdi) */
    assert_int_equal(pv_decode_write(mov32, 3, &in), 0);
    r.rax = 0xffffffff00000080ULL;
    pv_write_compute(&in, &r, 0x1111222233334444ULL, 4, &n, &w);
    assert_true(w);
    assert_int_equal(n, 0x0000008033334444ULL);
    pv_write_commit(&in, &r, 0x1111222233334444ULL, 4);
    assert_int_equal(r.rip, 0x1003);
    /* xchg returns the old entry. */
    const uint8_t xchg[] = { 0x48, 0x87, 0x1e }; /* xchg %rbx,(%rsi) */
    assert_int_equal(pv_decode_write(xchg, 3, &in), 0);
    r.rbx = 0x5067;
    pv_write_compute(&in, &r, 0x4067, 0, &n, &w);
    assert_int_equal(n, 0x5067);
    pv_write_commit(&in, &r, 0x4067, 0);
    assert_int_equal(r.rbx, 0x4067);
    /* cmpxchg: match stores and sets ZF; mismatch loads rax, clears ZF. */
    const uint8_t cx[] = { 0xf0, 0x48, 0x0f, 0xb1, 0x0e };
    assert_int_equal(pv_decode_write(cx, 5, &in), 0);
    r.rax = 0x4067, r.rcx = 0x6067, r.rflags = 0x202;
    pv_write_compute(&in, &r, 0x4067, 0, &n, &w);
    assert_true(w);
    assert_int_equal(n, 0x6067);
    pv_write_commit(&in, &r, 0x4067, 0);
    assert_int_equal(r.rflags & 0x8d5, 0x44); /* ZF PF */
    assert_int_equal(r.rax, 0x4067);
    r.rax = 0x1;
    pv_write_compute(&in, &r, 0x4067, 0, &n, &w);
    assert_false(w);
    assert_int_equal(n, 0x4067);
    pv_write_commit(&in, &r, 0x4067, 0);
    assert_int_equal(r.rax, 0x4067);
    assert_int_equal(r.rflags & 0x40, 0);
    assert_int_equal(r.rflags & 1, 1); /* 1 < 0x4067: borrow */
    /* lock and $-3 clears RW; flags from the result. */
    const uint8_t andimm8[] = { 0xf0, 0x48, 0x83, 0x27, 0xfd };
    assert_int_equal(pv_decode_write(andimm8, 5, &in), 0);
    r.rflags = 0x203 | 0x800;
    pv_write_compute(&in, &r, 0x8000000000004067ULL, 0, &n, &w);
    assert_int_equal(n, 0x8000000000004065ULL);
    pv_write_commit(&in, &r, 0x8000000000004067ULL, 0);
    assert_int_equal(r.rflags & 0x8c5, 0x84); /* SF PF (0x65: even parity), no CF/OF/ZF */
}

/* set_debugreg/get_debugreg: Xen 4.17's rules and errnos. */
static void test_debugregs(void **s)
{
    (void)s;
    assert_int_equal(do_get_debugreg(v, 7, 0, 0, 0, 0), 0x400);
    assert_int_equal(do_get_debugreg(v, 6, 0, 0, 0, 0), 0xffff0ff0);
    assert_int_equal(do_get_debugreg(v, 8, 0, 0, 0, 0), -XEN_ENODEV);
    assert_int_equal(do_get_debugreg(v, (uint64_t)-1, 0, 0, 0, 0), -XEN_ENODEV);
    assert_int_equal(do_set_debugreg(v, 0, 0xffff800000000000ULL, 0, 0, 0), -XL_EPERM);
    assert_int_equal(do_set_debugreg(v, 0, 0xffff87ffffffffffULL, 0, 0, 0), -XL_EPERM);
    assert_int_equal(do_set_debugreg(v, 0, 0x800000000000ULL, 0, 0, 0), -XL_EPERM);
    assert_int_equal(do_set_debugreg(v, 2, 0xffff880000000000ULL, 0, 0, 0), 0);
    assert_int_equal(do_get_debugreg(v, 2, 0, 0, 0, 0), (long)0xffff880000000000ULL);
    assert_int_equal(do_set_debugreg(v, 7, 1ULL << 13, 0, 0, 0), -XL_EPERM);
    assert_int_equal(do_set_debugreg(v, 7, 1ULL << 32, 0, 0, 0), -XL_EINVAL);
    assert_int_equal(do_set_debugreg(v, 6, 1ULL << 32, 0, 0, 0), -XL_EINVAL);
    /* an I/O breakpoint in any slot, once DR7 enables anything */
    assert_int_equal(do_set_debugreg(v, 7, 0x1 | (2ULL << 28), 0, 0, 0), -XL_EPERM);
    assert_int_equal(do_set_debugreg(v, 7, 2ULL << 28, 0, 0, 0), 0); /* nothing enabled */
    assert_int_equal(do_set_debugreg(v, 5, 0xd801, 0, 0, 0), 0);      /* DR7 alias */
    assert_int_equal(do_get_debugreg(v, 7, 0, 0, 0, 0), 0x401);
    assert_int_equal(do_set_debugreg(v, 4, 0x1000, 0, 0, 0), 0);      /* DR6 alias */
    assert_int_equal(do_get_debugreg(v, 6, 0, 0, 0, 0), 0xffff0ff0);
    assert_int_equal(do_set_debugreg(v, 9, 0, 0, 0, 0), -XEN_ENODEV);
    /* a #DB: B0-B3 replaced, BS sticky */
    pv_debug_trap(v, 0xffff0ff0 | 0x4000 | 0x1);
    assert_int_equal(do_get_debugreg(v, 6, 0, 0, 0, 0), 0xffff4ff1);
    pv_debug_trap(v, 0xffff0ff0 | 0x2);
    assert_int_equal(do_get_debugreg(v, 6, 0, 0, 0, 0), 0xffff4ff2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bounce_kernel_mode_with_error_code, setup),
        cmocka_unit_test_setup(test_reflect_exception, setup),
        cmocka_unit_test_setup(test_running_frame_cache, setup),
        cmocka_unit_test_setup(test_debugregs, setup),
        cmocka_unit_test_setup(test_failsafe, setup),
        cmocka_unit_test_setup(test_bounce_saves_mask_in_cs, setup),
        cmocka_unit_test_setup(test_bounce_from_user_uses_kernel_stack, setup),
        cmocka_unit_test_setup(test_bounce_failures_crash, setup),
        cmocka_unit_test_setup(test_set_trap_table, setup),
        cmocka_unit_test_setup(test_set_trap_table_continues, setup),
        cmocka_unit_test_setup(test_noncanonical_rip_becomes_gp, setup),
        cmocka_unit_test_setup(test_emulate_user_mode, setup),
        cmocka_unit_test_setup(test_domu_io_reads_ones, setup),
        cmocka_unit_test_setup(test_user_int3_ignores_dpl, setup),
        cmocka_unit_test_setup(test_exception_routing, setup),
        cmocka_unit_test_setup(test_int_n_follows_dpl, setup),
        cmocka_unit_test_setup(test_iret, setup),
        cmocka_unit_test_setup(test_event_upcall, setup),
        cmocka_unit_test_setup(test_callbacks_and_misc, setup),
        cmocka_unit_test_setup(test_decode, setup),
        cmocka_unit_test_setup(test_emulate_io_needs_iopl, setup),
        cmocka_unit_test_setup(test_pf_tries_ptwr, setup),
        cmocka_unit_test_setup(test_check_descriptor, setup),
        cmocka_unit_test_setup(test_decode_write, setup),
        cmocka_unit_test_setup(test_write_byte, setup),
        cmocka_unit_test_setup(test_write_compute_commit, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
