/*
 * test_memmap.c - host unit tests for boot/memmap.c (cmocka, ASan/UBSan).
 * Owns: the UEFI -> XL_MEM_* type policy and the sort/clip/merge rules as
 * the hypervisor will see them in bootinfo.ranges.
 * Must never: depend on UEFI headers; descriptors are built here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/memmap.h"
#include <xenolith/errno.h>

/* EFI_MEMORY_DESCRIPTOR as OVMF lays it out (desc_size 48 > sizeof 40). */
struct desc48 {
    uint32_t type, pad;
    uint64_t phys, virt, pages, attr;
    uint64_t vendor_extra;
};

static struct desc48 map[300];
static struct xl_mem_range out[XL_MAX_MEMRANGES];
static uint32_t nr;

static void set(int i, uint32_t type, uint64_t phys, uint64_t pages)
{
    map[i] = (struct desc48){ type, 0, phys, 0, pages, 0xf, 0xdeadbeef };
}

static int convert(int n, uint32_t max)
{
    return xl_memmap_from_efi(map, n * sizeof(map[0]), sizeof(map[0]), out, max, &nr);
}

static void assert_range(uint32_t i, uint64_t base, uint64_t len, uint32_t type)
{
    assert_true(i < nr);
    assert_int_equal(out[i].base, base);
    assert_int_equal(out[i].len, len);
    assert_int_equal(out[i].type, type);
}

static void test_types(void **state)
{
    assert_int_equal(xl_memmap_type(1), XL_MEM_USABLE);  /* LoaderCode */
    assert_int_equal(xl_memmap_type(2), XL_MEM_USABLE);  /* LoaderData */
    assert_int_equal(xl_memmap_type(3), XL_MEM_USABLE);  /* BootServicesCode */
    assert_int_equal(xl_memmap_type(4), XL_MEM_USABLE);  /* BootServicesData */
    assert_int_equal(xl_memmap_type(7), XL_MEM_USABLE);  /* Conventional */
    assert_int_equal(xl_memmap_type(9), XL_MEM_ACPI);
    assert_int_equal(xl_memmap_type(10), XL_MEM_ACPI_NVS);
    assert_int_equal(xl_memmap_type(0), XL_MEM_RESERVED);
    assert_int_equal(xl_memmap_type(5), XL_MEM_RESERVED);  /* RuntimeServicesCode */
    assert_int_equal(xl_memmap_type(6), XL_MEM_RESERVED);  /* RuntimeServicesData */
    assert_int_equal(xl_memmap_type(8), XL_MEM_RESERVED);  /* Unusable */
    assert_int_equal(xl_memmap_type(11), XL_MEM_RESERVED); /* MMIO */
    assert_int_equal(xl_memmap_type(XL_EFI_MEM_HV), XL_MEM_HV);
    assert_int_equal(xl_memmap_type(XL_EFI_MEM_BOOT), XL_MEM_BOOT);
    assert_int_equal(xl_memmap_type(0x80000000u), XL_MEM_RESERVED);
}

static void test_sort_and_merge(void **state)
{
    set(0, XL_EFI_MEM_HV, 0x2000000, 0x20);
    set(1, 7, 0x100000, 0x100);      /* 1 MiB..2 MiB conventional */
    set(2, 4, 0x200000, 0x100);      /* BS data right after: merges */
    set(3, 9, 0x300000, 1);          /* ACPI reclaim */
    set(4, 1, 0x0, 0xa0);            /* below 640K */
    set(5, XL_EFI_MEM_BOOT, 0x301000, 2);
    set(6, XL_EFI_MEM_BOOT, 0x303000, 1); /* adjacent BOOT: merges */
    set(7, 11, 0xfec00000, 1);       /* MMIO */
    assert_int_equal(convert(8, XL_MAX_MEMRANGES), 0);
    assert_int_equal(nr, 6);
    assert_range(0, 0x0, 0xa0000, XL_MEM_USABLE);
    assert_range(1, 0x100000, 0x200000, XL_MEM_USABLE);
    assert_range(2, 0x300000, 0x1000, XL_MEM_ACPI);
    assert_range(3, 0x301000, 0x3000, XL_MEM_BOOT);
    assert_range(4, 0x2000000, 0x20000, XL_MEM_HV);
    assert_range(5, 0xfec00000, 0x1000, XL_MEM_RESERVED);
}

static void test_overlap_clipped(void **state)
{
    set(0, 7, 0x100000, 0x10);
    set(1, 0, 0x108000, 0x10);       /* overlaps the tail of [0] */
    set(2, 7, 0x10a000, 2);          /* fully inside [1]: dropped */
    set(3, 7, 0x100000, 1);          /* duplicate base: dropped */
    set(4, 7, 0x200000, 0);          /* empty: dropped */
    assert_int_equal(convert(5, XL_MAX_MEMRANGES), 0);
    assert_int_equal(nr, 2);
    assert_range(0, 0x100000, 0x10000, XL_MEM_USABLE);
    assert_range(1, 0x110000, 0x8000, XL_MEM_RESERVED);
}

static void test_too_many(void **state)
{
    for (int i = 0; i < 300; i++)
        set(i, (i & 1) ? 7 : 0, (uint64_t)i * 0x1000, 1); /* alternating types */
    assert_int_equal(convert(300, XL_MAX_MEMRANGES), -XL_E2BIG);
    assert_int_equal(nr, XL_MAX_MEMRANGES);
    assert_int_equal(convert(XL_MAX_MEMRANGES, XL_MAX_MEMRANGES), 0);
    assert_int_equal(nr, XL_MAX_MEMRANGES);
    for (int i = 0; i < 300; i++)
        set(i, 7, (uint64_t)(299 - i) * 0x1000, 1); /* reversed, one type */
    assert_int_equal(convert(300, 1), 0);
    assert_range(0, 0, 300 * 0x1000, XL_MEM_USABLE);
}

static void test_bad_desc_size(void **state)
{
    assert_int_equal(xl_memmap_from_efi(map, 100, 20, out, 8, &nr), -XL_EINVAL);
    assert_int_equal(xl_memmap_from_efi(map, 100, 44, out, 8, &nr), -XL_EINVAL);
    assert_int_equal(xl_memmap_from_efi(map, 0, 48, out, 8, &nr), 0);
    assert_int_equal(nr, 0);
}

static void test_huge_range_no_overflow(void **state)
{
    set(0, 7, 0xfffffffffff00000ULL, UINT64_MAX / 2);
    assert_int_equal(convert(1, 8), 0);
    assert_int_equal(nr, 1);
    assert_int_equal(out[0].base + out[0].len - 1 >= out[0].base, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_sort_and_merge),
        cmocka_unit_test(test_overlap_clipped),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_bad_desc_size),
        cmocka_unit_test(test_huge_range_no_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
