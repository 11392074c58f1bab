/*
 * test_guest_access.c - host unit tests for the software guest page-table
 * walk and the guest copy helpers (cmocka, ASan/UBSan).
 * Tests: hv/common/guest_access.c (hv/include/xenolith/guest_access.h):
 * 4K/2M/1G translation, P/US/RW at every level, entries beyond max_mfn,
 * non-canonical and hv-slot addresses, copies across non-adjacent frames,
 * copies running into unmapped pages, and lengths that wrap.
 * Links: hv/common/guest_access.c only.
 * Mocks: max_mfn and mfn_to_virt() from xenolith/mm.h over a fake machine
 * memory of NFRAMES page-aligned frames. Frame numbers alias modulo
 * NFRAMES so 2M/1G pages far above NFRAMES can be reached; mfn_to_virt
 * fails the test if the code under test touches any mfn >= max_mfn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>

#define NFRAMES 64
#define P  0x1ULL
#define RW 0x2ULL
#define US 0x4ULL
#define PS 0x80ULL
#define ADDR_MASK 0x000FFFFFFFFFF000ULL
#define TBL (P | RW | US)

/* ---- mocks of xenolith/mm.h ---- */
uint64_t max_mfn;
static uint8_t *mem; /* NFRAMES * 4 KiB, page aligned */

void *mfn_to_virt(uint64_t mfn)
{
    if (mfn >= max_mfn)
        fail_msg("mfn_to_virt(%#lx) with max_mfn %#lx", (unsigned long)mfn,
                 (unsigned long)max_mfn);
    return mem + (mfn % NFRAMES) * PAGE_SIZE;
}

/* ---- fake guest page tables ---- */
#define L4_MFN 1
#define DEFAULT_MAX_MFN 0x80000ULL /* 2 GiB: room for the 1G page at 1 GiB */
static uint64_t next_table;        /* bump allocator for table frames */
static const uint64_t cr3 = (uint64_t)L4_MFN << PAGE_SHIFT;

static uint64_t *frame(uint64_t mfn) { return (uint64_t *)(mem + (mfn % NFRAMES) * PAGE_SIZE); }
static uint8_t *frame_bytes(uint64_t mfn) { return mem + (mfn % NFRAMES) * PAGE_SIZE; }

static unsigned idx(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }

/* Entry for va at `level` (4..1), creating tables down to it. */
static uint64_t *entry(uint64_t va, int level)
{
    uint64_t *t = frame(L4_MFN);
    for (int l = 4; l > level; l--) {
        uint64_t *e = &t[idx(va, l)];
        if (!(*e & P)) {
            assert_true(next_table < 20); /* tables live in frames 2..19 */
            *e = (next_table++ << PAGE_SHIFT) | TBL;
        }
        t = frame((*e & ADDR_MASK) >> PAGE_SHIFT);
    }
    return &t[idx(va, level)];
}

static void map4k(uint64_t va, uint64_t mfn, uint64_t flags)
{
    *entry(va, 1) = (mfn << PAGE_SHIFT) | flags;
}

/* Guest addresses used throughout. */
#define VA_A      0x0000000000400000ULL /* -> mfn 20 */
#define VA_B      0x0000000000401000ULL /* -> mfn 25 (not adjacent to 20) */
#define VA_C      0x0000000000402000ULL /* -> mfn 22 */
#define VA_HOLE   0x0000000000403000ULL /* L1 entry not present */
#define VA_RO     0x0000000000404000ULL /* -> mfn 23, read-only */
#define VA_2M     0x0000000000600000ULL /* 2M page at machine 2 MiB (mfn 0x200) */
#define VA_1G     0x0000000080000000ULL /* 1G page at machine 1 GiB */
#define VA_HIGH   0xFFFF880000000000ULL /* slot 272: first slot after the hv's */
#define VA_TOP    0xFFFFFFFFFFFFF000ULL /* last page -> mfn 26 */
#define VA_HVSLOT 0xFFFF800000000000ULL /* slot 256, mapped in the L4 anyway */

static int setup(void **state)
{
    mem = aligned_alloc(PAGE_SIZE, NFRAMES * PAGE_SIZE);
    assert_non_null(mem);
    memset(mem, 0, NFRAMES * PAGE_SIZE);
    for (uint64_t m = 20; m < NFRAMES; m++)
        memset(frame_bytes(m), (int)m, PAGE_SIZE); /* data frames: byte = mfn */
    max_mfn = DEFAULT_MAX_MFN;
    next_table = 2;
    map4k(VA_A, 20, TBL);
    map4k(VA_B, 25, TBL);
    map4k(VA_C, 22, TBL);
    map4k(VA_RO, 23, P | US);
    (void)entry(VA_HOLE, 1); /* tables exist, the L1 entry stays 0 */
    /* 2M page; bit 12 (PAT in a large entry) must not leak into the address. */
    *entry(VA_2M, 2) = 0x200000ULL | 0x1000ULL | TBL | PS;
    *entry(VA_1G, 3) = 0x40000000ULL | TBL | PS;
    map4k(VA_HIGH, 30, TBL);
    map4k(VA_TOP, 26, TBL);
    /* The hv slots map something user-accessible: still refused. */
    map4k(VA_HVSLOT, 31, TBL);
    map4k(0xFFFF87FFFFFFF000ULL, 31, TBL);
    return 0;
}

static int teardown(void **state)
{
    free(mem);
    mem = NULL;
    return 0;
}

static void test_translate_4k(void **state)
{
    uint64_t ma = 0;
    assert_int_equal(guest_translate(cr3, VA_A + 0x123, 0, &ma), 0);
    assert_int_equal(ma, (20ULL << 12) | 0x123);
    assert_int_equal(guest_translate(cr3, VA_B + 0xfff, 1, &ma), 0);
    assert_int_equal(ma, (25ULL << 12) | 0xfff);
    assert_int_equal(guest_translate(cr3, VA_HIGH + 8, 1, &ma), 0);
    assert_int_equal(ma, (30ULL << 12) | 8);
    assert_int_equal(guest_translate(cr3, VA_TOP + 0xffe, 0, &ma), 0);
    assert_int_equal(ma, (26ULL << 12) | 0xffe);
    /* cr3's low flag bits (PCD/PWT) are not part of the address. */
    assert_int_equal(guest_translate(cr3 | 0x18, VA_C + 1, 0, &ma), 0);
    assert_int_equal(ma, (22ULL << 12) | 1);
}

static void test_translate_2m_1g(void **state)
{
    uint64_t ma = 0;
    assert_int_equal(guest_translate(cr3, VA_2M + 0x12345, 1, &ma), 0);
    assert_int_equal(ma, 0x200000ULL + 0x12345);
    assert_int_equal(guest_translate(cr3, VA_2M + 0x1fffff, 0, &ma), 0);
    assert_int_equal(ma, 0x3fffffULL);
    assert_int_equal(guest_translate(cr3, VA_1G + 0x12345678, 1, &ma), 0);
    assert_int_equal(ma, 0x40000000ULL + 0x12345678);
    assert_int_equal(guest_translate(cr3, VA_1G + 0x3fffffff, 0, &ma), 0);
    assert_int_equal(ma, 0x7fffffffULL);

    /* Read through the 2M page: offset 0x14000 is mfn 0x214, which the
     * fake memory aliases to data frame 20 (filled with 20). */
    uint8_t buf[4];
    assert_int_equal(copy_from_guest_va(cr3, buf, VA_2M + 0x14000, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 20);
}

/* Clear `bit` in the entry for va at `level`, check translate, restore. */
static void expect_fault_without(uint64_t va, int level, uint64_t bit, int write)
{
    uint64_t *e = entry(va, level);
    uint64_t save = *e, ma = 0xdead;
    *e &= ~bit;
    assert_int_equal(guest_translate(cr3, va, write, &ma), -XL_EFAULT);
    assert_int_equal(ma, 0xdead);
    *e = save;
    assert_int_equal(guest_translate(cr3, va, write, &ma), 0);
}

static void test_not_present_each_level(void **state)
{
    for (int level = 4; level >= 1; level--) {
        expect_fault_without(VA_A, level, P, 0);
        expect_fault_without(VA_A, level, P, 1);
    }
    expect_fault_without(VA_2M, 4, P, 0);
    expect_fault_without(VA_2M, 3, P, 0);
    expect_fault_without(VA_2M, 2, P, 0);
    expect_fault_without(VA_1G, 4, P, 0);
    expect_fault_without(VA_1G, 3, P, 0);
    uint64_t ma;
    assert_int_equal(guest_translate(cr3, VA_HOLE, 0, &ma), -XL_EFAULT);
    assert_int_equal(guest_translate(cr3, 0x7FFFFFFFF000ULL, 0, &ma), -XL_EFAULT);
}

static void test_user_bit_each_level(void **state)
{
    for (int level = 4; level >= 1; level--) {
        expect_fault_without(VA_A, level, US, 0);
        expect_fault_without(VA_HIGH, level, US, 1);
    }
    expect_fault_without(VA_2M, 3, US, 0);
    expect_fault_without(VA_2M, 2, US, 0);
    expect_fault_without(VA_1G, 4, US, 0);
    expect_fault_without(VA_1G, 3, US, 0);
}

static void test_read_only_each_level(void **state)
{
    uint64_t ma;
    for (int level = 4; level >= 1; level--) {
        uint64_t *e = entry(VA_A, level);
        uint64_t save = *e;
        *e &= ~RW;
        assert_int_equal(guest_translate(cr3, VA_A + 4, 0, &ma), 0);
        assert_int_equal(ma, (20ULL << 12) | 4);
        assert_int_equal(guest_translate(cr3, VA_A + 4, 1, &ma), -XL_EFAULT);
        *e = save;
    }
    expect_fault_without(VA_2M, 2, RW, 1);
    expect_fault_without(VA_1G, 3, RW, 1);

    /* A read-only leaf: copy from works, copy to fails and writes nothing. */
    uint8_t buf[8] = { 0 };
    assert_int_equal(copy_from_guest_va(cr3, buf, VA_RO + 100, sizeof(buf)), 0);
    assert_int_equal(buf[0], 23);
    memset(buf, 0x77, sizeof(buf));
    assert_int_equal(copy_to_guest_va(cr3, VA_RO + 100, buf, sizeof(buf)), -XL_EFAULT);
    assert_int_equal(frame_bytes(23)[100], 23);
}

static void test_beyond_max_mfn(void **state)
{
    uint64_t ma;
    /* Leaf 4K entry pointing at max_mfn. */
    uint64_t *e = entry(VA_A, 1), save = *e;
    *e = (max_mfn << PAGE_SHIFT) | TBL;
    assert_int_equal(guest_translate(cr3, VA_A, 0, &ma), -XL_EFAULT);
    *e = ((max_mfn - 1) << PAGE_SHIFT) | TBL;
    assert_int_equal(guest_translate(cr3, VA_A, 0, &ma), 0);
    assert_int_equal(ma, (max_mfn - 1) << PAGE_SHIFT);
    *e = save;

    /* A table pointer (L4 and L2 entries) beyond max_mfn: never followed
     * (mfn_to_virt fails the test if it is). */
    e = entry(VA_A, 4);
    save = *e;
    *e = (max_mfn << PAGE_SHIFT) | TBL;
    assert_int_equal(guest_translate(cr3, VA_A, 0, &ma), -XL_EFAULT);
    *e = ((max_mfn + 12345) << PAGE_SHIFT) | TBL;
    assert_int_equal(guest_translate(cr3, VA_A, 0, &ma), -XL_EFAULT);
    *e = save;
    e = entry(VA_A, 2);
    save = *e;
    *e = (0xFFFFFFFFFULL << PAGE_SHIFT) | TBL;
    assert_int_equal(guest_translate(cr3, VA_A, 0, &ma), -XL_EFAULT);
    *e = save;

    /* cr3 itself beyond max_mfn. */
    assert_int_equal(guest_translate(max_mfn << PAGE_SHIFT, VA_A, 0, &ma), -XL_EFAULT);

    /* Large pages that end beyond max_mfn. */
    max_mfn = 0x201; /* 2M page at mfn 0x200..0x3ff only partly covered */
    assert_int_equal(guest_translate(cr3, VA_2M, 0, &ma), -XL_EFAULT);
    max_mfn = 0x400;
    assert_int_equal(guest_translate(cr3, VA_2M, 0, &ma), 0);
    assert_int_equal(guest_translate(cr3, VA_1G, 0, &ma), -XL_EFAULT);
    max_mfn = 0x7FFFF;
    assert_int_equal(guest_translate(cr3, VA_1G, 0, &ma), -XL_EFAULT);
    max_mfn = 0x80000;
    assert_int_equal(guest_translate(cr3, VA_1G, 0, &ma), 0);
    max_mfn = DEFAULT_MAX_MFN;
}

static void test_bad_addresses(void **state)
{
    uint64_t ma;
    static const uint64_t bad[] = {
        0x0000800000000000ULL, 0x0000FFFFFFFFF000ULL, 0x7FFFFFFFFFFFFFFFULL,
        0x8000000000000000ULL, 0xFFFF7FFFFFFFFFFFULL, 0xFFFF000000000000ULL,
        0xFFFF800000000000ULL, 0xFFFF800000000123ULL, 0xFFFF830000000000ULL,
        0xFFFF87FFFFFFF000ULL, 0xFFFF87FFFFFFFFFFULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(guest_va_ok(bad[i]));
        assert_int_equal(guest_translate(cr3, bad[i], 0, &ma), -XL_EFAULT);
    }
    static const uint64_t good[] = {
        0, 0x00007FFFFFFFFFFFULL, 0xFFFF880000000000ULL, 0xFFFFFFFF80000000ULL,
        0xFFFFFFFFFFFFFFFFULL, 0xFFFF7FFFFFFFFFFFULL + 0x0000080000000001ULL,
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(guest_va_ok(good[i]));
    uint8_t b;
    assert_int_equal(copy_from_guest_va(cr3, &b, VA_HVSLOT, 1), -XL_EFAULT);
    assert_int_equal(copy_to_guest_va(cr3, VA_HVSLOT, &b, 1), -XL_EFAULT);
}

static void test_copy_across_pages(void **state)
{
    uint8_t src[32], dst[32];
    for (int i = 0; i < 32; i++)
        src[i] = (uint8_t)(0xa0 + i);
    /* VA_A (mfn 20) ends at 0x401000; VA_B is mfn 25. */
    assert_int_equal(copy_to_guest_va(cr3, VA_A + 0xff0, src, sizeof(src)), 0);
    assert_memory_equal(frame_bytes(20) + 0xff0, src, 16);
    assert_memory_equal(frame_bytes(25), src + 16, 16);
    assert_int_equal(frame_bytes(20)[0xfef], 20);
    assert_int_equal(frame_bytes(25)[16], 25);
    assert_int_equal(frame_bytes(21)[0], 21); /* the adjacent frame is untouched */

    memset(dst, 0, sizeof(dst));
    assert_int_equal(copy_from_guest_va(cr3, dst, VA_A + 0xff0, sizeof(dst)), 0);
    assert_memory_equal(dst, src, sizeof(src));

    /* Three pages: A | B | C, whole B in the middle. */
    static uint8_t big[0x1000 + 2 * 8];
    assert_int_equal(copy_from_guest_va(cr3, big, VA_A + 0xff8, sizeof(big)), 0);
    assert_int_equal(big[0], 0xa8);   /* src[8..15] written at the end of A */
    assert_int_equal(big[7], 0xaf);
    assert_int_equal(big[8], 0xb0);   /* src[16] written at the start of B */
    assert_int_equal(big[8 + 16], 25);
    assert_int_equal(big[8 + 0xfff], 25);
    assert_int_equal(big[8 + 0x1000], 22);

    /* Zero length: nothing to check, succeeds even on a bad address. */
    assert_int_equal(copy_from_guest_va(cr3, dst, VA_HOLE, 0), 0);
}

static void test_copy_into_unmapped(void **state)
{
    uint8_t src[32], dst[32];
    memset(src, 0x5c, sizeof(src));
    /* VA_C (mapped) runs into VA_HOLE. */
    assert_int_equal(copy_to_guest_va(cr3, VA_C + 0xff0, src, sizeof(src)), -XL_EFAULT);
    assert_int_equal(copy_from_guest_va(cr3, dst, VA_C + 0xff0, sizeof(dst)), -XL_EFAULT);
    assert_int_equal(copy_from_guest_va(cr3, dst, VA_HOLE + 8, 4), -XL_EFAULT);
    /* A copy into a read-only page after a writable one fails too. */
    map4k(VA_RO - 0x1000, 24, TBL); /* 0x403000 now mapped, 0x404000 read-only */
    assert_int_equal(copy_to_guest_va(cr3, VA_RO - 8, src, 16), -XL_EFAULT);
    assert_int_equal(frame_bytes(23)[0], 23);
    assert_int_equal(copy_from_guest_va(cr3, dst, VA_RO - 8, 16), 0);
    *entry(VA_HOLE, 1) = 0;
}

static void test_copy_wraps(void **state)
{
    uint8_t buf[0x2000];
    /* The last page is mapped (it translates); only the wrap makes these fail. */
    uint64_t ma;
    assert_int_equal(guest_translate(cr3, VA_TOP, 0, &ma), 0);
    assert_int_equal(copy_from_guest_va(cr3, buf, VA_TOP, 0x1001), -XL_EFAULT);
    assert_int_equal(copy_from_guest_va(cr3, buf, VA_TOP + 0x800, 0x1000), -XL_EFAULT);
    assert_int_equal(copy_to_guest_va(cr3, VA_TOP, buf, sizeof(buf)), -XL_EFAULT);
    /* A huge length from a good address: refused before touching dst. */
    assert_int_equal(copy_from_guest_va(cr3, buf, VA_A, SIZE_MAX), -XL_EFAULT);
    assert_int_equal(copy_to_guest_va(cr3, VA_A, buf, SIZE_MAX - 0x100), -XL_EFAULT);
    assert_int_equal(frame_bytes(20)[0], 20);
}

/* A copy that ends exactly at the top of the address space does not wrap:
 * [0xFFFFFFFFFFFFF000, 2^64) is the mapped last page. */
static void test_copy_ends_at_top(void **state)
{
    uint8_t buf[0x1000];
    assert_int_equal(copy_from_guest_va(cr3, buf, VA_TOP, 0x1000), 0);
    assert_int_equal(buf[0], 26);
    assert_int_equal(buf[0xfff], 26);
    assert_int_equal(copy_from_guest_va(cr3, buf, 0xFFFFFFFFFFFFFFFFULL, 1), 0);
    assert_int_equal(buf[0], 26);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_translate_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_translate_2m_1g, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_present_each_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_bit_each_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_each_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beyond_max_mfn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_into_unmapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_ends_at_top, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
