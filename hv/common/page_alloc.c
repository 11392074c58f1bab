/*
 * page_alloc.c - bitmap physical page allocator (see page_alloc.h).
 * Owns: which machine frames are free. Must never: hand out a frame
 * twice, or accept a free of a frame it did not hand out.
 */
#include <xenolith/errno.h>
#include <xenolith/page_alloc.h>

#define BITS 64

size_t page_alloc_bitmap_bytes(uint64_t nr_pfns)
{
    return (size_t)((nr_pfns + BITS - 1) / BITS) * sizeof(uint64_t);
}

void page_alloc_init(struct page_alloc *pa, uint64_t *bitmap, uint64_t base_pfn,
                     uint64_t nr_pfns)
{
    pa->bitmap = bitmap;
    pa->base_pfn = base_pfn;
    pa->nr_pfns = nr_pfns;
    pa->nr_free = 0;
    pa->hint = 0;
    for (uint64_t i = 0; i < (nr_pfns + BITS - 1) / BITS; i++)
        bitmap[i] = 0;
}

static int bit_get(const struct page_alloc *pa, uint64_t i)
{
    return (pa->bitmap[i / BITS] >> (i % BITS)) & 1;
}

static void bit_set(struct page_alloc *pa, uint64_t i, int v)
{
    if (v)
        pa->bitmap[i / BITS] |= 1ULL << (i % BITS);
    else
        pa->bitmap[i / BITS] &= ~(1ULL << (i % BITS));
}

/* Clip [pfn, pfn+count) to the span; returns 0 if nothing is left. */
static int clip(const struct page_alloc *pa, uint64_t *pfn, uint64_t *count)
{
    uint64_t lo = *pfn, hi = *pfn + *count;
    if (hi < lo)
        hi = UINT64_MAX;
    if (lo < pa->base_pfn)
        lo = pa->base_pfn;
    if (hi > pa->base_pfn + pa->nr_pfns)
        hi = pa->base_pfn + pa->nr_pfns;
    if (lo >= hi)
        return 0;
    *pfn = lo;
    *count = hi - lo;
    return 1;
}

static uint64_t set_range(struct page_alloc *pa, uint64_t pfn, uint64_t count, int free)
{
    uint64_t changed = 0;
    if (!clip(pa, &pfn, &count))
        return 0;
    for (uint64_t i = pfn - pa->base_pfn; i < pfn - pa->base_pfn + count; i++) {
        if (bit_get(pa, i) != free) {
            bit_set(pa, i, free);
            changed++;
        }
    }
    if (free)
        pa->nr_free += changed;
    else
        pa->nr_free -= changed;
    return changed;
}

uint64_t page_alloc_add_free(struct page_alloc *pa, uint64_t pfn, uint64_t count)
{
    return set_range(pa, pfn, count, 1);
}

uint64_t page_alloc_reserve(struct page_alloc *pa, uint64_t pfn, uint64_t count)
{
    return set_range(pa, pfn, count, 0);
}

int page_alloc_is_free(const struct page_alloc *pa, uint64_t pfn)
{
    if (pfn < pa->base_pfn || pfn - pa->base_pfn >= pa->nr_pfns)
        return 0;
    return bit_get(pa, pfn - pa->base_pfn);
}

static int64_t alloc_one(struct page_alloc *pa)
{
    uint64_t words = (pa->nr_pfns + BITS - 1) / BITS;
    for (uint64_t n = 0; n < words; n++) {
        uint64_t w = (pa->hint + n) % words;
        if (!pa->bitmap[w])
            continue;
        uint64_t i = w * BITS + (uint64_t)__builtin_ctzll(pa->bitmap[w]);
        bit_set(pa, i, 0);
        pa->nr_free--;
        pa->hint = w;
        return (int64_t)(pa->base_pfn + i);
    }
    return -XL_ENOMEM;
}

static int range_free(const struct page_alloc *pa, uint64_t i, uint64_t n)
{
    for (uint64_t k = i; k < i + n; k++) {
        if ((k % BITS) == 0 && k + BITS <= i + n) {
            if (pa->bitmap[k / BITS] != UINT64_MAX)
                return 0;
            k += BITS - 1;
        } else if (!bit_get(pa, k)) {
            return 0;
        }
    }
    return 1;
}

int64_t page_alloc_pages(struct page_alloc *pa, unsigned int order)
{
    return page_alloc_pages_below(pa, order, UINT64_MAX);
}

int64_t page_alloc_pages_below(struct page_alloc *pa, unsigned int order, uint64_t limit_pfn)
{
    if (order >= 40)
        return -XL_ENOMEM;
    uint64_t end = pa->base_pfn + pa->nr_pfns;
    if (order == 0 && limit_pfn >= end)
        return alloc_one(pa);
    if (limit_pfn < end)
        end = limit_pfn;
    uint64_t n = 1ULL << order;
    if (pa->nr_free < n)
        return -XL_ENOMEM;
    /* First absolute pfn aligned to n at or above base_pfn. */
    uint64_t pfn = (pa->base_pfn + n - 1) & ~(n - 1);
    for (; pfn + n <= end; pfn += n) {
        if (range_free(pa, pfn - pa->base_pfn, n)) {
            set_range(pa, pfn, n, 0);
            return (int64_t)pfn;
        }
    }
    return -XL_ENOMEM;
}

int page_alloc_free_pages(struct page_alloc *pa, uint64_t pfn, unsigned int order)
{
    if (order >= 40)
        return -XL_EINVAL;
    uint64_t n = 1ULL << order;
    if (pfn < pa->base_pfn || pfn + n < pfn || pfn + n > pa->base_pfn + pa->nr_pfns)
        return -XL_EINVAL;
    for (uint64_t i = pfn - pa->base_pfn; i < pfn - pa->base_pfn + n; i++)
        if (bit_get(pa, i))
            return -XL_EINVAL;
    set_range(pa, pfn, n, 1);
    return 0;
}
