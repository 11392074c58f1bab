/*
 * test_page_alloc.c - host unit tests for the bitmap page allocator
 * (cmocka, ASan/UBSan).
 * Tests: hv/common/page_alloc.c (hv/include/xenolith/page_alloc.h) - init,
 * add_free/reserve counting and clipping, nr_free invariants, single and
 * order-N allocation (alignment to absolute pfns, contiguity, exhaustion),
 * free validation, and a seeded random alloc/free run against a shadow.
 * Links: hv/common/page_alloc.c only. Mocks: nothing (pure logic).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/errno.h>
#include <xenolith/page_alloc.h>

#define MAX_PFNS 1024

static uint64_t bitmap[MAX_PFNS / 64 + 1];
static struct page_alloc pa;

/* Count the free frames by asking is_free for every pfn of the span. */
static uint64_t count_free(const struct page_alloc *p)
{
    uint64_t n = 0;
    for (uint64_t pfn = p->base_pfn; pfn < p->base_pfn + p->nr_pfns; pfn++)
        n += page_alloc_is_free(p, pfn) ? 1 : 0;
    return n;
}

static void test_bitmap_bytes(void **state)
{
    assert_int_equal(page_alloc_bitmap_bytes(0), 0);
    assert_int_equal(page_alloc_bitmap_bytes(1), 8);
    assert_int_equal(page_alloc_bitmap_bytes(64), 8);
    assert_int_equal(page_alloc_bitmap_bytes(65), 16);
    assert_int_equal(page_alloc_bitmap_bytes(1000), 128);
}

static void test_init_reserves_all(void **state)
{
    memset(bitmap, 0xff, sizeof(bitmap));
    page_alloc_init(&pa, bitmap, 100, 200);
    assert_int_equal(pa.base_pfn, 100);
    assert_int_equal(pa.nr_pfns, 200);
    assert_int_equal(pa.nr_free, 0);
    assert_int_equal(count_free(&pa), 0);
    assert_int_equal(page_alloc_pages(&pa, 0), -XL_ENOMEM);
    assert_int_equal(page_alloc_pages(&pa, 3), -XL_ENOMEM);
    /* Outside the span is never free. */
    assert_false(page_alloc_is_free(&pa, 99));
    assert_false(page_alloc_is_free(&pa, 300));
}

static void test_add_free_reserve_counts_and_clip(void **state)
{
    page_alloc_init(&pa, bitmap, 100, 200); /* span [100, 300) */

    assert_int_equal(page_alloc_add_free(&pa, 110, 10), 10);
    assert_int_equal(pa.nr_free, 10);
    /* Overlap: only the 5 new frames change. */
    assert_int_equal(page_alloc_add_free(&pa, 115, 10), 5);
    assert_int_equal(pa.nr_free, 15);
    assert_true(page_alloc_is_free(&pa, 110));
    assert_true(page_alloc_is_free(&pa, 124));
    assert_false(page_alloc_is_free(&pa, 109));
    assert_false(page_alloc_is_free(&pa, 125));

    /* Clip at the low end: [90, 105) -> [100, 105). */
    assert_int_equal(page_alloc_add_free(&pa, 90, 15), 5);
    assert_false(page_alloc_is_free(&pa, 99));
    assert_true(page_alloc_is_free(&pa, 100));
    /* Clip at the high end: [290, 400) -> [290, 300). */
    assert_int_equal(page_alloc_add_free(&pa, 290, 110), 10);
    assert_true(page_alloc_is_free(&pa, 299));
    /* Entirely outside. */
    assert_int_equal(page_alloc_add_free(&pa, 0, 100), 0);
    assert_int_equal(page_alloc_add_free(&pa, 300, 50), 0);
    assert_int_equal(page_alloc_add_free(&pa, 150, 0), 0);
    /* A range that wraps the pfn space clips to the span's end. */
    assert_int_equal(page_alloc_add_free(&pa, 296, UINT64_MAX), 0);
    assert_int_equal(page_alloc_add_free(&pa, 280, UINT64_MAX), 10);
    assert_int_equal(pa.nr_free, 40);
    assert_int_equal(count_free(&pa), 40);

    /* Reserve: counts only frames that were free. */
    assert_int_equal(page_alloc_reserve(&pa, 105, 20), 15); /* 105..109 not free */
    assert_int_equal(pa.nr_free, 25);
    assert_int_equal(page_alloc_reserve(&pa, 105, 20), 0);
    assert_int_equal(page_alloc_reserve(&pa, 50, 52), 2); /* clipped to [100,102) */
    assert_int_equal(page_alloc_reserve(&pa, 0, UINT64_MAX), 23);
    assert_int_equal(pa.nr_free, 0);
    assert_int_equal(count_free(&pa), 0);

    /* Whole span free, then whole span reserved. */
    assert_int_equal(page_alloc_add_free(&pa, 0, 1000), 200);
    assert_int_equal(pa.nr_free, 200);
    assert_int_equal(page_alloc_reserve(&pa, 100, 200), 200);
    assert_int_equal(pa.nr_free, 0);
}

static void test_single_page_exhaustion(void **state)
{
    /* 150 frames, not a multiple of 64, some reserved holes. */
    static uint8_t seen[150];
    memset(seen, 0, sizeof(seen));
    page_alloc_init(&pa, bitmap, 1000, 150);
    assert_int_equal(page_alloc_add_free(&pa, 1000, 150), 150);
    assert_int_equal(page_alloc_reserve(&pa, 1010, 5), 5);
    assert_int_equal(page_alloc_reserve(&pa, 1063, 3), 3);
    assert_int_equal(page_alloc_reserve(&pa, 1149, 1), 1);
    uint64_t expect = 150 - 9;
    assert_int_equal(pa.nr_free, expect);

    for (uint64_t i = 0; i < expect; i++) {
        int64_t pfn = page_alloc_pages(&pa, 0);
        assert_true(pfn >= 1000 && pfn < 1150);
        assert_false(pfn >= 1010 && pfn < 1015);
        assert_false(pfn >= 1063 && pfn < 1066);
        assert_int_not_equal(pfn, 1149);
        assert_int_equal(seen[pfn - 1000], 0);
        seen[pfn - 1000] = 1;
        assert_false(page_alloc_is_free(&pa, (uint64_t)pfn));
        assert_int_equal(pa.nr_free, expect - i - 1);
    }
    assert_int_equal(page_alloc_pages(&pa, 0), -XL_ENOMEM);
    assert_int_equal(page_alloc_pages(&pa, 0), -XL_ENOMEM);
    assert_int_equal(pa.nr_free, 0);
    uint64_t got = 0;
    for (int i = 0; i < 150; i++)
        got += seen[i];
    assert_int_equal(got, expect);
}

static void check_order_alloc(uint64_t base, uint64_t nr, unsigned int order)
{
    uint64_t n = 1ULL << order;
    page_alloc_init(&pa, bitmap, base, nr);
    page_alloc_add_free(&pa, base, nr);
    /* Expected number of aligned blocks fully inside the span. */
    uint64_t first = (base + n - 1) & ~(n - 1);
    uint64_t blocks = first + n <= base + nr ? (base + nr - first) / n : 0;
    for (uint64_t k = 0; k < blocks; k++) {
        uint64_t before = pa.nr_free;
        int64_t pfn = page_alloc_pages(&pa, order);
        assert_true(pfn >= 0);
        assert_int_equal((uint64_t)pfn & (n - 1), 0);
        assert_true((uint64_t)pfn >= base && (uint64_t)pfn + n <= base + nr);
        for (uint64_t j = 0; j < n; j++)
            assert_false(page_alloc_is_free(&pa, (uint64_t)pfn + j));
        assert_int_equal(pa.nr_free, before - n);
    }
    assert_int_equal(page_alloc_pages(&pa, order), -XL_ENOMEM);
    assert_int_equal(pa.nr_free, nr - blocks * n);
}

static void test_order_aligned_contiguous(void **state)
{
    check_order_alloc(0, 1024, 1);
    check_order_alloc(0, 1024, 4);
    check_order_alloc(0, 1024, 6);
    check_order_alloc(0, 1024, 7);
    check_order_alloc(0, 1024, 10);
    /* Unaligned base: alignment is to absolute pfns, not to base. */
    check_order_alloc(3, 1000, 1);
    check_order_alloc(3, 1000, 3);
    check_order_alloc(37, 900, 6);
    check_order_alloc(37, 900, 7);
    check_order_alloc(5, 250, 8); /* [5,255): no aligned 256 block */
    check_order_alloc(100, 60, 5); /* [100,160): just 128..159 */

    /* A hole forces the allocator past the first aligned block. */
    page_alloc_init(&pa, bitmap, 0, 256);
    page_alloc_add_free(&pa, 0, 256);
    page_alloc_reserve(&pa, 70, 1);
    assert_int_equal(page_alloc_pages(&pa, 6), 0);
    assert_int_equal(page_alloc_pages(&pa, 6), 128); /* 64..127 has the hole */
    assert_int_equal(page_alloc_pages(&pa, 6), 192);
    assert_int_equal(page_alloc_pages(&pa, 6), -XL_ENOMEM);
    assert_int_equal(pa.nr_free, 63);
    assert_int_equal(page_alloc_pages(&pa, 5), 96);
    assert_int_equal(page_alloc_pages(&pa, 40), -XL_ENOMEM);
    assert_int_equal(pa.nr_free, 31);
}

static void test_free_validation(void **state)
{
    page_alloc_init(&pa, bitmap, 64, 128); /* [64, 192) */
    page_alloc_add_free(&pa, 64, 128);
    int64_t a = page_alloc_pages(&pa, 2);
    assert_true(a >= 64);
    int64_t b = page_alloc_pages(&pa, 0);
    assert_true(b >= 64);
    uint64_t nf = pa.nr_free;
    uint64_t snap[sizeof(bitmap) / 8];
    memcpy(snap, bitmap, sizeof(bitmap));

    /* Out of span, partly out of span, wrapping. */
    assert_int_equal(page_alloc_free_pages(&pa, 63, 0), -XL_EINVAL);
    assert_int_equal(page_alloc_free_pages(&pa, 192, 0), -XL_EINVAL);
    assert_int_equal(page_alloc_free_pages(&pa, 188, 3), -XL_EINVAL);
    assert_int_equal(page_alloc_free_pages(&pa, 60, 3), -XL_EINVAL);
    assert_int_equal(page_alloc_free_pages(&pa, UINT64_MAX, 1), -XL_EINVAL);
    assert_int_equal(page_alloc_free_pages(&pa, 64, 63), -XL_EINVAL);
    /* Not allocated (already free). */
    assert_int_equal(page_alloc_free_pages(&pa, 180, 0), -XL_EINVAL);
    /* Partly allocated: a block of 8 covering the order-2 block and free frames. */
    assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)a & ~7ULL, 3), -XL_EINVAL);
    assert_int_equal(pa.nr_free, nf);
    assert_memory_equal(snap, bitmap, sizeof(bitmap));

    /* Proper frees, then the double frees. */
    assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)a, 2), 0);
    assert_int_equal(pa.nr_free, nf + 4);
    assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)b, 0), 0);
    assert_int_equal(pa.nr_free, nf + 5);
    assert_int_equal(pa.nr_free, 128);
    memcpy(snap, bitmap, sizeof(bitmap));
    assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)a, 2), -XL_EINVAL);
    assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)b, 0), -XL_EINVAL);
    assert_int_equal(pa.nr_free, 128);
    assert_memory_equal(snap, bitmap, sizeof(bitmap));
}

static void test_free_then_realloc(void **state)
{
    page_alloc_init(&pa, bitmap, 10, 20);
    page_alloc_add_free(&pa, 10, 20);
    int64_t p[20];
    for (int i = 0; i < 20; i++)
        p[i] = page_alloc_pages(&pa, 0);
    assert_int_equal(page_alloc_pages(&pa, 0), -XL_ENOMEM);
    assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)p[7], 0), 0);
    assert_int_equal(pa.nr_free, 1);
    assert_true(page_alloc_is_free(&pa, (uint64_t)p[7]));
    assert_int_equal(page_alloc_pages(&pa, 0), p[7]);
    assert_int_equal(page_alloc_pages(&pa, 0), -XL_ENOMEM);

    /* Free an aligned pair and get it back as one order-1 block. */
    int64_t lo = -1;
    for (int i = 0; i < 20; i++)
        if (p[i] == 12)
            lo = 12;
    assert_int_equal(lo, 12);
    assert_int_equal(page_alloc_free_pages(&pa, 12, 0), 0);
    assert_int_equal(page_alloc_free_pages(&pa, 13, 0), 0);
    assert_int_equal(page_alloc_pages(&pa, 1), 12);
    assert_int_equal(pa.nr_free, 0);
}

/* Small deterministic PRNG (xorshift64) so the sequence is fixed. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_random_against_shadow(void **state)
{
    enum { BASE = 13, NR = 777 };
    static uint8_t shadow[NR];      /* 1 = free */
    static int64_t blk_pfn[NR];
    static unsigned blk_order[NR];
    unsigned nblk = 0;

    rng_state = 0x9e3779b97f4a7c15ULL;
    page_alloc_init(&pa, bitmap, BASE, NR);
    memset(shadow, 0, sizeof(shadow));
    page_alloc_add_free(&pa, BASE, NR);
    memset(shadow, 1, sizeof(shadow));
    page_alloc_reserve(&pa, BASE + 100, 30);
    memset(shadow + 100, 0, 30);

    for (int step = 0; step < 20000; step++) {
        uint64_t r = rng();
        if ((r & 3) != 0 || nblk == 0) {
            unsigned order = (unsigned)((r >> 8) % 100 < 70 ? 0 : (r >> 16) % 5);
            uint64_t n = 1ULL << order;
            int64_t pfn = page_alloc_pages(&pa, order);
            if (pfn < 0) {
                assert_int_equal(pfn, -XL_ENOMEM);
                /* Check no aligned free run of size n exists in the shadow. */
                for (uint64_t s = (BASE + n - 1) & ~(n - 1); s + n <= BASE + NR; s += n) {
                    uint64_t k = 0;
                    while (k < n && shadow[s - BASE + k])
                        k++;
                    assert_true(k < n);
                }
                continue;
            }
            assert_int_equal((uint64_t)pfn & (n - 1), 0);
            assert_true(pfn >= BASE && (uint64_t)pfn + n <= BASE + NR);
            for (uint64_t k = 0; k < n; k++) {
                assert_int_equal(shadow[pfn - BASE + k], 1);
                shadow[pfn - BASE + k] = 0;
            }
            blk_pfn[nblk] = pfn;
            blk_order[nblk] = order;
            nblk++;
        } else {
            unsigned i = (unsigned)((r >> 8) % nblk);
            if ((r >> 40) % 8 == 0) {
                /* A double free of a just-freed block must be refused. */
                assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)blk_pfn[i], blk_order[i]), 0);
                assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)blk_pfn[i], blk_order[i]),
                                 -XL_EINVAL);
            } else {
                assert_int_equal(page_alloc_free_pages(&pa, (uint64_t)blk_pfn[i], blk_order[i]), 0);
            }
            for (uint64_t k = 0; k < (1ULL << blk_order[i]); k++)
                shadow[blk_pfn[i] - BASE + k] = 1;
            blk_pfn[i] = blk_pfn[nblk - 1];
            blk_order[i] = blk_order[nblk - 1];
            nblk--;
        }
        if (step % 97 == 0) {
            uint64_t nf = 0;
            for (uint64_t k = 0; k < NR; k++) {
                assert_int_equal(page_alloc_is_free(&pa, BASE + k), shadow[k]);
                nf += shadow[k];
            }
            assert_int_equal(pa.nr_free, nf);
        }
    }
    uint64_t nf = 0;
    for (uint64_t k = 0; k < NR; k++) {
        assert_int_equal(page_alloc_is_free(&pa, BASE + k), shadow[k]);
        nf += shadow[k];
    }
    assert_int_equal(pa.nr_free, nf);
    assert_true(nblk > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmap_bytes),
        cmocka_unit_test(test_init_reserves_all),
        cmocka_unit_test(test_add_free_reserve_counts_and_clip),
        cmocka_unit_test(test_single_page_exhaustion),
        cmocka_unit_test(test_order_aligned_contiguous),
        cmocka_unit_test(test_free_validation),
        cmocka_unit_test(test_free_then_realloc),
        cmocka_unit_test(test_random_against_shadow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
