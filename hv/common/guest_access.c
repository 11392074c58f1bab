/*
 * guest_access.c - software walk of 4-level x86_64 guest page tables and
 * the copy helpers built on it (see guest_access.h).
 * Owns: the rules for when a guest pointer is good. Must never: touch a
 * frame beyond max_mfn or follow an entry the guest could not use itself.
 */
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hvm.h>
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

/* A page-table frame through the direct map (host tests map their fake
 * machine memory with mfn_to_virt). */
#ifdef XL_HOST_TEST
#define TABLE_AT(mfn) ((uint64_t *)mfn_to_virt(mfn))
#else
#define TABLE_AT(mfn) ((uint64_t *)(DIRECTMAP_BASE + ((mfn) << PAGE_SHIFT)))
#endif

/* The slot for va in the table at frame mfn, or NULL (no frame of ours,
 * or a bit of need missing: never followed). As the CPU does when Xen
 * touches guest memory through the guest's own tables, an entry used gets
 * Accessed (a guest's reclaim trusts it). */
static inline uint64_t *walk_entry(uint64_t mfn, uint64_t va, unsigned int shift, uint64_t need,
                                   uint64_t *ep)
{
    if (mfn >= max_mfn)
        return NULL;
    uint64_t *slot = TABLE_AT(mfn) + ((va >> shift) & 511);
    uint64_t e = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if ((e & need) != need)
        return NULL;
    if (!(e & PTE_A))
        __atomic_fetch_or(slot, PTE_A, __ATOMIC_RELAXED);
    *ep = e;
    return slot;
}

/* A leaf mapping span bytes (2^shift): the machine address of va; Dirty
 * set on the leaf of a write. */
static inline int walk_leaf(uint64_t *slot, uint64_t e, uint64_t va, unsigned int shift, int write,
                            uint64_t *maddr)
{
    uint64_t span = 1ULL << shift;
    uint64_t base = e & PTE_ADDR & ~(span - 1);
    if (((base + span - 1) >> PAGE_SHIFT) >= max_mfn)
        return -XL_EFAULT;
    if (write && !(e & PTE_D))
        __atomic_fetch_or(slot, PTE_D, __ATOMIC_RELAXED);
    *maddr = base | (va & (span - 1));
    return 0;
}

/* The four levels unrolled (every copy to or from a guest walks them):
 * present, user and (for a write) writable at each level; PS ends the
 * walk at L3 (1 GiB) or L2 (2 MiB). */
static inline __attribute__((always_inline)) int translate(uint64_t cr3, uint64_t va, int write,
                                                            uint64_t *maddr, uint64_t **leaf)
{
#ifndef XL_HOST_TEST
    if (__builtin_expect(cr3 & 1, 0)) { /* an HVM vcpu's tag (hvm.h) */
        *leaf = NULL;
        return hvm_translate_tagged(cr3, va, write, maddr);
    }
#endif
    if (!guest_va_ok(va))
        return -XL_EFAULT;
    uint64_t need = PTE_P | PTE_US | (write ? PTE_RW : 0);
    if (!(cr3 & PTE_ADDR))
        return -XL_EFAULT; /* a vcpu without page tables yet (no context) */
    uint64_t e;
    uint64_t *s = walk_entry((cr3 & PTE_ADDR) >> PAGE_SHIFT, va, 39, need, &e);
    if (!s || !(s = walk_entry((e & PTE_ADDR) >> PAGE_SHIFT, va, 30, need, &e)))
        return -XL_EFAULT;
    if (e & PTE_PS)
        return *leaf = s, walk_leaf(s, e, va, 30, write, maddr);
    if (!(s = walk_entry((e & PTE_ADDR) >> PAGE_SHIFT, va, 21, need, &e)))
        return -XL_EFAULT;
    if (e & PTE_PS)
        return *leaf = s, walk_leaf(s, e, va, 21, write, maddr);
    if (!(s = walk_entry((e & PTE_ADDR) >> PAGE_SHIFT, va, 12, need, &e)))
        return -XL_EFAULT;
    *leaf = s;
    return walk_leaf(s, e, va, 12, write, maddr);
}

int guest_translate(uint64_t cr3, uint64_t va, int write, uint64_t *maddr)
{
    uint64_t *leaf;
    return translate(cr3, va, write, maddr, &leaf);
}

int guest_translate_leaf(uint64_t cr3, uint64_t va, int write, uint64_t *maddr, uint64_t **leaf)
{
    if (cr3 & 1)
        return -XL_EFAULT; /* an HVM vcpu has no PV leaf entry to hand out */
    return translate(cr3, va, write, maddr, leaf);
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
