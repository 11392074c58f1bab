/*
 * m2p.c - the machine-to-phys table: one 8-byte entry per machine frame,
 * the pfn a guest uses for it or INVALID_M2P_ENTRY. The hv writes it
 * through the direct map (m2p_table); guests read it at M2P_BASE
 * (MACH2PHYS_VIRT_START, PML4 slot 256) through a read-only, user
 * mapping that every guest L4 copies from the hv's slots.
 * Owns: the table's frames and its mapping. Must never: map it writable
 * or map anything but the table in slot 256.
 */
#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xen/xen.h>

#define PTE_NX (1ULL << 63)

uint64_t *m2p_table;
uint64_t m2p_first_mfn;
uint64_t m2p_bytes;

int m2p_init(void)
{
    uint64_t pages = (max_mfn * sizeof(uint64_t) + PAGE_SIZE - 1) >> PAGE_SHIFT;
    uint64_t nr_l1 = (pages + 511) / 512;
    if (!pages || nr_l1 > 512)
        return -XL_ENOMEM; /* more than one L2's worth (512 GiB of RAM) */
    unsigned int order = 0;
    while ((1ULL << order) < pages)
        order++;
    int64_t first = page_alloc_pages(&hv_pages, order);
    if (first < 0)
        return -XL_ENOMEM;
    /* Keep exactly `pages` frames; give back the rest of the block. */
    for (uint64_t m = (uint64_t)first + pages; m < (uint64_t)first + (1ULL << order); m++)
        page_alloc_free_pages(&hv_pages, m, 0);
    for (uint64_t m = (uint64_t)first; m < (uint64_t)first + pages; m++) {
        frame_table[m] = (struct page_info){ .owner = DOMID_HV_OWNED };
        memset(mfn_to_virt(m), 0xff, PAGE_SIZE); /* INVALID_M2P_ENTRY */
    }
    int64_t l3 = mm_alloc_frame(DOMID_HV_OWNED), l2 = mm_alloc_frame(DOMID_HV_OWNED);
    if (l3 < 0 || l2 < 0)
        return -XL_ENOMEM;
    const uint64_t flags = PTE_P | PTE_US | PTE_A; /* read-only at every level */
    uint64_t *l2t = mfn_to_virt((uint64_t)l2);
    for (uint64_t i = 0; i < nr_l1; i++) {
        int64_t l1 = mm_alloc_frame(DOMID_HV_OWNED);
        if (l1 < 0)
            return -XL_ENOMEM;
        uint64_t *l1t = mfn_to_virt((uint64_t)l1);
        for (uint64_t j = 0; j < 512 && i * 512 + j < pages; j++)
            l1t[j] = (((uint64_t)first + i * 512 + j) << PAGE_SHIFT) | flags | PTE_NX;
        l2t[i] = ((uint64_t)l1 << PAGE_SHIFT) | flags;
    }
    ((uint64_t *)mfn_to_virt((uint64_t)l3))[0] = ((uint64_t)l2 << PAGE_SHIFT) | flags;
    m2p_first_mfn = (uint64_t)first;
    m2p_bytes = pages << PAGE_SHIFT;
    m2p_table = mfn_to_virt((uint64_t)first);
    arch_set_hv_l4_slot((M2P_BASE >> 39) & 511, ((uint64_t)l3 << PAGE_SHIFT) | flags);
    return 0;
}
