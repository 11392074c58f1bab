/*
 * pv_ptwr.c - a PV test kernel that writes its own page-table entries
 * directly, as Linux's PV MMU does (VMASST_TYPE_writable_pagetables):
 * without the assist such a write faults; with it, mov (64/32-bit),
 * xchg, lock cmpxchg and lock and/or on an L1 entry take effect; an
 * entry mapping a page table writable, one naming a hypervisor frame, or
 * a write into a non-L1 table (our L4) faults to the #PF handler and
 * leaves the entry as it was. The same lines on Xenolith and real Xen.
 * Entries are compared exactly: both add _PAGE_GLOBAL to the user-page
 * entries written here (Xen 4.17's adjust_guest_l1e).
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/traps.h>
#include <xlguest/platform.h>

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_A  0x20ULL
#define PTE_D  0x40ULL
#define PTE_G  0x100ULL
#define PTE_ADDR 0x000FFFFFFFFFF000ULL
#define RW_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
#define RO_FLAGS (PTE_P | PTE_US | PTE_A)

static uint8_t target[4096] __attribute__((aligned(4096)));

static const uint64_t *p2m;
static uint64_t nr_pages;
static volatile unsigned long pfs, pf_cr2, pf_ec, skip;

void guest_trap(struct guest_frame *f)
{
    if (f->vector == 14 && skip) {
        pfs++;
        pf_cr2 = guest_fault_cr2();
        pf_ec = f->error_code;
        f->rip += skip;
        return;
    }
    printk("unexpected trap %lu at %lx (error %lx, cr2 %lx)\n", (unsigned long)f->vector,
           (unsigned long)f->rip, (unsigned long)f->error_code,
           (unsigned long)guest_fault_cr2());
    xen_shutdown(SHUTDOWN_crash);
}

static uint64_t *frame_va(uint64_t mfn)
{
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
        if (p2m[pfn] == mfn)
            return (uint64_t *)(GUEST_VIRT_BASE + pfn * 4096);
    return 0;
}

/* Our (read-only) kernel mapping of the L1 entry that maps va. */
static uint64_t *l1e_ptr(uint64_t l4_mfn, uint64_t va)
{
    uint64_t mfn = l4_mfn;
    for (int level = 4; level > 1; level--) {
        const uint64_t *t = frame_va(mfn);
        if (!t)
            return 0;
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & PTE_P))
            return 0;
        mfn = (e & PTE_ADDR) >> 12;
    }
    uint64_t *l1 = frame_va(mfn);
    return l1 ? &l1[(va >> 12) & 511] : 0;
}

static void flush(const void *va)
{
    struct mmuext_op op = { .cmd = MMUEXT_INVLPG_LOCAL };
    op.arg1.linear_addr = (unsigned long)va;
    HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

/* Each store has a fixed encoding so the #PF handler can skip it. */
static void st64(uint64_t *p, uint64_t v) /* mov %rsi,(%rdi): 48 89 37 */
{
    skip = 3;
    __asm__ volatile("movq %1, (%0)" :: "D"(p), "S"(v) : "memory");
    skip = 0;
}
static void st32(uint32_t *p, uint32_t v) /* mov %esi,(%rdi): 89 37 */
{
    skip = 2;
    __asm__ volatile("movl %1, (%0)" :: "D"(p), "S"(v) : "memory");
    skip = 0;
}
static uint64_t xchg64(uint64_t *p, uint64_t v) /* xchg %rsi,(%rdi): 48 87 37 */
{
    skip = 3;
    __asm__ volatile("xchgq %0, (%1)" : "+S"(v) : "D"(p) : "memory");
    skip = 0;
    return v;
}
/* lock cmpxchg %rsi,(%rdi): f0 48 0f b1 37; returns ZF, *expect = rax */
static int cas64(uint64_t *p, uint64_t *expect, uint64_t v)
{
    uint8_t zf;
    uint64_t a = *expect;
    skip = 5;
    __asm__ volatile("lock cmpxchgq %3, (%2)\n\tsetz %1"
                     : "+a"(a), "=q"(zf) : "D"(p), "S"(v) : "memory", "cc");
    skip = 0;
    *expect = a;
    return zf;
}
static void and64(uint64_t *p, uint64_t v) /* lock and %rsi,(%rdi): f0 48 21 37 */
{
    skip = 4;
    __asm__ volatile("lock andq %1, (%0)" :: "D"(p), "S"(v) : "memory", "cc");
    skip = 0;
}
static void or64(uint64_t *p, uint64_t v) /* lock or %rsi,(%rdi): f0 48 09 37 */
{
    skip = 4;
    __asm__ volatile("lock orq %1, (%0)" :: "D"(p), "S"(v) : "memory", "cc");
    skip = 0;
}
/* Does a byte store to va fault? (movb $1,(%rdi): c6 07 01) */
static int write_faults(volatile uint8_t *va)
{
    unsigned long before = pfs;
    skip = 3;
    __asm__ volatile("movb $1, (%0)" :: "D"(va) : "memory");
    skip = 0;
    return pfs != before;
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("pv_ptwr"))
        return SHUTDOWN_poweroff;
    p2m = (const uint64_t *)si->mfn_list;
    nr_pages = si->nr_pages;
    uint64_t l4_mfn = virt_to_mfn((const void *)si->pt_base);
    uint64_t *l4 = (uint64_t *)si->pt_base;
    uint64_t tmfn = virt_to_mfn(target);

    check_eq("traps_init -> 0", traps_init(), 0);
    uint64_t *pte = l1e_ptr(l4_mfn, (uint64_t)target);
    check_true("found our L1 entry of the target page", pte != 0);
    if (!pte)
        return check_summary("pv_ptwr");
    uint64_t orig = *pte;
    check_eq("target mapped writable at start", (long)(orig & (PTE_P | PTE_RW)), 3);
    uint32_t *lo = (uint32_t *)pte;

    /* ---- without the assist: the write faults, except in dom0: Xen
     * 4.17 runs its ptwr emulation for the hardware domain whatever its
     * vm_assist says (real Xen does not fault here). ---- */
    int dom0 = !!(si->flags & SIF_INITDOMAIN);
    pfs = 0;
    st64(pte, (tmfn << 12) | RO_FLAGS);
    if (dom0) {
        check_eq("dom0: PTE write without writable_pagetables emulated anyway", (long)pfs, 0);
        check_eq("  entry written", (long)*pte, (long)((tmfn << 12) | RO_FLAGS | PTE_G));
        st64(pte, orig);
        flush(target);
    } else {
        check_eq("PTE write without writable_pagetables -> #PF", (long)pfs, 1);
        check_eq("  at the PTE", (long)(pf_cr2 == (unsigned long)pte), 1);
        check_eq("  present|write (kernel)", (long)(pf_ec & 7), 3);
        check_eq("  entry unchanged", (long)(*pte == orig), 1);
    }

    check_eq("vm_assist enable writable_pagetables -> 0",
             HYPERVISOR_vm_assist(VMASST_CMD_enable, VMASST_TYPE_writable_pagetables), 0);

    /* ---- writes that take effect ---- */
    pfs = 0;
    st64(pte, (tmfn << 12) | RO_FLAGS);
    flush(target);
    check_eq("mov: no fault", (long)pfs, 0);
    check_eq("mov: entry is the read-only one", (long)*pte, (long)((tmfn << 12) | RO_FLAGS | PTE_G));
    check_eq("  a write to the target faults", write_faults(target), 1);
    uint64_t old = xchg64(pte, (tmfn << 12) | RW_FLAGS);
    flush(target);
    check_eq("xchg returns the old entry", (long)old, (long)((tmfn << 12) | RO_FLAGS | PTE_G));
    check_eq("  target writable again", write_faults(target), 0);
    uint64_t expect = (tmfn << 12) | RO_FLAGS; /* wrong: entry is RW */
    int ok = cas64(pte, &expect, (tmfn << 12) | RO_FLAGS);
    check_eq("cmpxchg with a stale value fails", ok, 0);
    check_eq("  and returns the current entry", (long)expect, (long)((tmfn << 12) | RW_FLAGS | PTE_G));
    ok = cas64(pte, &expect, (tmfn << 12) | RO_FLAGS);
    flush(target);
    check_eq("cmpxchg with the current value succeeds", ok, 1);
    check_eq("  target read-only", write_faults(target), 1);
    or64(pte, PTE_RW);
    flush(target);
    check_eq("lock or sets RW", write_faults(target), 0);
    and64(pte, ~PTE_RW);
    flush(target);
    check_eq("lock and clears RW", write_faults(target), 1);
    st32(lo, (uint32_t)(((tmfn << 12) | RW_FLAGS) & 0xffffffff));
    flush(target);
    check_eq("32-bit store of the low half", (long)*pte, (long)((tmfn << 12) | RW_FLAGS | PTE_G));
    check_eq("  target writable", write_faults(target), 0);

    /* ---- writes that are refused: #PF, entry unchanged ---- */
    uint64_t l1_mfn = virt_to_mfn(pte);
    uint64_t before = *pte;
    pfs = 0;
    st64(pte, (l1_mfn << 12) | RW_FLAGS);
    check_eq("mapping our L1 writable -> #PF", (long)pfs, 1);
    check_eq("  at the PTE, entry unchanged", (long)(pf_cr2 == (unsigned long)pte && *pte == before), 1);
    uint64_t hv_l3 = (l4[256] & PTE_ADDR) >> 12;
    pfs = 0;
    st64(pte, (hv_l3 << 12) | RO_FLAGS);
    check_eq("mapping a hypervisor frame -> #PF", (long)pfs, 1);
    check_eq("  entry unchanged", (long)(*pte == before), 1);
    pfs = 0;
    st64(&l4[300], 0);
    check_eq("write into our L4 (not an L1) -> #PF", (long)pfs, 1);
    pfs = 0;
    st32((uint32_t *)pte + 1, 0); /* misaligned for 64 bits is fine: 4-aligned 32-bit */
    flush(target);
    check_eq("32-bit store of the high half (clears NX/addr bits) -> done", (long)pfs, 0);
    st64(pte, orig);
    flush(target);
    check_eq("entry restored", (long)(*pte == orig), 1);
    check_eq("  target writable", write_faults(target), 0);

    check_eq("vm_assist disable writable_pagetables -> 0",
             HYPERVISOR_vm_assist(VMASST_CMD_disable, VMASST_TYPE_writable_pagetables), 0);
    pfs = 0;
    st64(pte, orig);
    check_eq(dom0 ? "dom0: after disable still emulated" : "after disable the write faults again",
             (long)pfs, dom0 ? 0 : 1);
    return check_summary("pv_ptwr");
}
