/*
 * m2p.h - where a kit kernel sees one of its own machine frames: the
 * read-only M2P at MACH2PHYS_VIRT_START gives the pfn, and pfn N is at
 * GUEST_VIRT_BASE + N pages if it lies in the builder's bootstrap
 * mapping. xen.h promises that mapping covers the kernel, initrd, P2M,
 * start_info, the bootstrap page tables, a boot stack and at least
 * 512 KiB of padding; the xenstore and console pages of start_info are
 * inside it (Xen's libxc puts them before the page tables, Xenolith's
 * toolstack just after the boot stack).
 * In a PVH kernel (xlguest/platform.h) an "mfn" is a guest frame and
 * guest-physical 0-1 GiB is mapped at GUEST_VIRT_BASE: pfn = mfn.
 */
#ifndef XLGUEST_M2P_H
#define XLGUEST_M2P_H

#include <stdint.h>
#include <xen/xen.h>
#include <xlguest/kernel.h>
#include <xlguest/platform.h>

/* NULL if mfn is not ours or not in the bootstrap mapping. */
static inline void *guest_mfn_to_virt(const start_info_t *si, uint64_t mfn)
{
    if (xl_is_pvh)
        return mfn < (1ULL << 18) ? (void *)(GUEST_VIRT_BASE + (mfn << 12)) : NULL;
    const uint64_t *m2p = (const uint64_t *)MACH2PHYS_VIRT_START;
    if (mfn >= (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) / 8)
        return NULL;
    uint64_t pfn = m2p[mfn];
    if (pfn >= si->nr_pages || ((const uint64_t *)si->mfn_list)[pfn] != mfn)
        return NULL;
    uint64_t va = GUEST_VIRT_BASE + (pfn << 12);
    if (va >= si->pt_base + si->nr_pt_frames * 4096ULL + 4096 + (512ULL << 10))
        return NULL; /* beyond what xen.h guarantees to be mapped */
    return (void *)va;
}

#endif
