/*
 * pv_ptwr.c - Xen's writable-pagetables assist for 64-bit PV guests
 * (VMASST_TYPE_writable_pagetables): a guest kernel write to an entry of
 * one of its own L1 tables, which it may only map read-only, faults; the
 * write is decoded (pv_decode_write), checked and applied exactly like
 * an mmu_update of that entry (mm_pt_update), and the guest continues
 * after the instruction.
 * Owns: the decision whether such a #PF is a page-table write. Must
 * never: apply an entry mmu_update would refuse, write a frame that is
 * not an L1 of the faulting domain, or bypass the reference counts.
 */
#include <xenolith/domain.h>
#include <xenolith/guest_access.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>

#define PFEC_PRESENT 1u
#define PFEC_WRITE   2u
#define PFEC_RSVD    8u
#define PFEC_IFETCH  16u

/* The L1 entry mapping va under the L4 frame l4_mfn, or 0 with *ok = 0
 * (not present at some level, or a superpage). */
static uint64_t l1e_of(uint64_t l4_mfn, uint64_t va, int *ok)
{
    uint64_t mfn = l4_mfn, e = 0;
    *ok = 0;
    for (int level = 4; level >= 1; level--) {
        if (mfn >= max_mfn)
            return 0;
        e = ((const uint64_t *)mfn_to_virt(mfn))[(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511];
        if (!(e & PTE_P) || (level > 1 && (e & PTE_PS)))
            return 0;
        mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
    }
    *ok = 1;
    return e;
}

int pv_ptwr_fault(struct vcpu *v, struct cpu_regs *regs, uint64_t cr2)
{
    struct domain *d = v->domain;
    uint32_t ec = (uint32_t)regs->error_code;
    int ok;

    /* Xen 4.17 emulates for the hardware domain (dom0) even without the
     * assist (its read-only-MMIO path shares the emulator); real Xen was
     * seen to do so. Other domains need VMASST_TYPE_writable_pagetables. */
    if ((!(v->pv.vm_assist & (1ULL << VMASST_TYPE_writable_pagetables)) && !d->privileged) ||
        !v->pv.kernel_mode ||
        (ec & (PFEC_PRESENT | PFEC_WRITE | PFEC_RSVD | PFEC_IFETCH)) != (PFEC_PRESENT | PFEC_WRITE) ||
        !guest_va_ok(cr2))
        return 0;

    /* Only read-only mappings of the domain's own L1 tables. */
    uint64_t pte = l1e_of(v->cr3 >> PAGE_SHIFT, cr2, &ok);
    if (!ok || (pte & (PTE_P | PTE_RW)) != PTE_P)
        return 0;
    uint64_t mfn = (pte & PTE_ADDR) >> PAGE_SHIFT;
    if (mfn >= max_mfn || frame_table[mfn].owner != d->domid ||
        frame_table[mfn].type != PGT_l1 || !frame_table[mfn].type_count)
        return 0;

    uint8_t buf[15];
    size_t n = 0;
    while (n < sizeof(buf) && !copy_from_guest_va(v->cr3, &buf[n], regs->rip + n, 1))
        n++;
    struct pv_winsn in;
    if (pv_decode_write(buf, n, &in))
        return 0;
    if (cr2 & (in.size - 1))
        return 0; /* only naturally aligned stores, as Xen */

    uint64_t maddr = (mfn << PAGE_SHIFT) | (cr2 & (PAGE_SIZE - 8));
    uint64_t old = ((const uint64_t *)mfn_to_virt(mfn))[(cr2 & (PAGE_SIZE - 1)) >> 3];
    unsigned int off = (unsigned int)(cr2 & 7);
    uint64_t val;
    int write;
    pv_write_compute(&in, regs, old, off, &val, &write);
    /* pg_owner is the domain itself: no foreign frames through ptwr. */
    if (write && mm_pt_update(d->domid, d->domid, maddr, val, 0))
        return 0;
    pv_write_commit(&in, regs, old, off);
    return 1;
}
