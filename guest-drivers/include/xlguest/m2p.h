/*
 * m2p.h - where a kit kernel sees one of its own machine frames: the
 * read-only M2P at MACH2PHYS_VIRT_START gives the pfn, and pfn N is at
 * GUEST_VIRT_BASE + N pages if it lies in the builder's bootstrap
 * mapping (which ends with the initial page tables). Xen's builder puts
 * start_info's xenstore and console pages there, and Linux and Mini-OS
 * rely on it (mfn_to_virt); so does the kit.
 */
#ifndef XLGUEST_M2P_H
#define XLGUEST_M2P_H

#include <stdint.h>
#include <xen/xen.h>
#include <xlguest/kernel.h>

/* NULL if mfn is not ours or not in the bootstrap mapping. */
static inline void *guest_mfn_to_virt(const start_info_t *si, uint64_t mfn)
{
    const uint64_t *m2p = (const uint64_t *)MACH2PHYS_VIRT_START;
    if (mfn >= (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) / 8)
        return NULL;
    uint64_t pfn = m2p[mfn];
    if (pfn >= si->nr_pages || ((const uint64_t *)si->mfn_list)[pfn] != mfn)
        return NULL;
    uint64_t va = GUEST_VIRT_BASE + (pfn << 12);
    if (va >= si->pt_base + si->nr_pt_frames * 4096ULL)
        return NULL;
    return (void *)va;
}

#endif
