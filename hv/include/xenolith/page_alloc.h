/*
 * page_alloc.h - the hypervisor's physical page allocator.
 * A bitmap (1 = free) over one span of machine frames; the caller gives
 * it the bitmap storage and tells it which frames are free. Pure logic,
 * no locking (the hv runs on one CPU and never allocates in interrupts).
 */
#ifndef XENOLITH_PAGE_ALLOC_H
#define XENOLITH_PAGE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

struct page_alloc {
    uint64_t *bitmap;   /* one bit per frame in [base_pfn, base_pfn + nr_pfns) */
    uint64_t base_pfn;
    uint64_t nr_pfns;
    uint64_t nr_free;
    uint64_t hint;      /* word index where the next single-page search starts */
};

/* Bytes of bitmap storage needed to track nr_pfns frames. */
size_t page_alloc_bitmap_bytes(uint64_t nr_pfns);

/* Start with every frame of the span reserved (not free). */
void page_alloc_init(struct page_alloc *pa, uint64_t *bitmap, uint64_t base_pfn,
                     uint64_t nr_pfns);

/* Mark [pfn, pfn+count) free / reserved; the part outside the span is
 * ignored. Returns how many frames actually changed state. */
uint64_t page_alloc_add_free(struct page_alloc *pa, uint64_t pfn, uint64_t count);
uint64_t page_alloc_reserve(struct page_alloc *pa, uint64_t pfn, uint64_t count);

/* Allocate 2^order contiguous frames aligned to 2^order frames. Returns
 * the first pfn (>= 0), or -XL_ENOMEM. */
int64_t page_alloc_pages(struct page_alloc *pa, unsigned int order);
/* The same, all of them below frame limit_pfn (XENMEM address_bits). */
int64_t page_alloc_pages_below(struct page_alloc *pa, unsigned int order, uint64_t limit_pfn);

/* Free 2^order frames at pfn. Returns 0, or -XL_EINVAL if any of them is
 * outside the span or already free (a double free); then nothing changes. */
int page_alloc_free_pages(struct page_alloc *pa, uint64_t pfn, unsigned int order);

int page_alloc_is_free(const struct page_alloc *pa, uint64_t pfn);

#endif
