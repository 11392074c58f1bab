/*
 * guest_access.c - software walk of 4-level x86_64 guest page tables and
 * the copy helpers built on it (see guest_access.h).
 * Owns: the rules for when a guest pointer is good. Must never: touch a
 * frame beyond max_mfn or follow an entry the guest could not use itself.
 */
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>


int guest_va_ok(uint64_t va)
{
    uint64_t top = va >> 47;
    if (top != 0 && top != 0x1FFFF)
        return 0; /* non-canonical */
    unsigned slot = (va >> 39) & 511;
    return !(top && slot >= HV_SLOT_FIRST && slot <= HV_SLOT_LAST);
}

int guest_translate(uint64_t cr3, uint64_t va, int write, uint64_t *maddr)
{
    if (!guest_va_ok(va))
        return -XL_EFAULT;
    uint64_t table = cr3 & PTE_ADDR;
    if (!table)
        return -XL_EFAULT; /* a vcpu without page tables yet (no context) */
    for (int level = 4; level >= 1; level--) {
        uint64_t mfn = table >> PAGE_SHIFT;
        if (mfn >= max_mfn)
            return -XL_EFAULT;
        const uint64_t *pt = mfn_to_virt(mfn);
        uint64_t e = pt[(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511];
        if (!(e & PTE_P) || !(e & PTE_US) || (write && !(e & PTE_RW)))
            return -XL_EFAULT;
        if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
            uint64_t span = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
            uint64_t base = e & PTE_ADDR & ~(span - 1);
            if (((base + span - 1) >> PAGE_SHIFT) >= max_mfn)
                return -XL_EFAULT;
            *maddr = base | (va & (span - 1));
            return 0;
        }
        table = e & PTE_ADDR;
    }
    return -XL_EFAULT; /* not reached */
}

/* Copy in page-sized pieces; dir 0 = from guest, 1 = to guest. */
static int copy_guest(uint64_t cr3, uint64_t va, void *hv, size_t len, int to_guest)
{
    uint8_t *p = hv;
    if (len && va + (len - 1) < va)
        return -XL_EFAULT; /* wraps; ending exactly at 2^64 is fine */
    while (len) {
        uint64_t ma;
        int rc = guest_translate(cr3, va, to_guest, &ma);
        if (rc)
            return rc;
        size_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        if (n > len)
            n = len;
        uint8_t *g = (uint8_t *)mfn_to_virt(ma >> PAGE_SHIFT) + (ma & (PAGE_SIZE - 1));
        if (to_guest)
            memcpy(g, p, n);
        else
            memcpy(p, g, n);
        p += n;
        va += n;
        len -= n;
    }
    return 0;
}

int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t src_va, size_t len)
{
    return copy_guest(cr3, src_va, dst, len, 0);
}

int copy_to_guest_va(uint64_t cr3, uint64_t dst_va, const void *src, size_t len)
{
    return copy_guest(cr3, dst_va, (void *)src, len, 1);
}
