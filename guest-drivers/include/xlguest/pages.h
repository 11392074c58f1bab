/*
 * pages.h - a kit kernel's own free memory: the pseudo-physical pages of
 * start_info's nr_pages that lie beyond the bootstrap mapping (kernel,
 * initrd, P2M, start_info, page tables, boot stack), handed out in
 * virtually contiguous runs. A page is mapped where the kit expects pfn N
 * anyway, GUEST_VIRT_BASE + N pages, so virt_to_mfn() works on it; the
 * mapping is made on first use with mmu_update, from page-table pages
 * taken off the top of the domain's memory. dom0's toolstack stages
 * kernels, ramdisks and the P2M of the domains it builds here.
 * Works on Xenolith and on a real Xen alike (only mmu_update and
 * MMUEXT_CLEAR_PAGE on the kernel's own frames).
 */
#ifndef XLGUEST_PAGES_H
#define XLGUEST_PAGES_H

#include <stddef.h>
#include <stdint.h>

/* n pages (n >= 1), virtually contiguous, writable, contents undefined;
 * NULL if no free run is that long or the hypervisor refused a mapping
 * (said once on the console). */
void *pages_alloc(uint64_t n);
/* Gives back what pages_alloc(n) returned (NULL is ignored). */
void pages_free(void *p, uint64_t n);
/* Pages free now, and all the allocator manages (0 if it has none). */
uint64_t pages_free_count(void);
uint64_t pages_total(void);
/* Bytes to whole pages. */
static inline uint64_t pages_for(uint64_t bytes)
{
    return (bytes + 4095) >> 12;
}

#endif
