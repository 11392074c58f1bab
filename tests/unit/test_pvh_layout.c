/*
 * test_pvh_layout.c - the PVH layout (hv/shared/pvh_layout.c) and the
 * ACPI tables (hv/shared/acpi_build.c) both PVH builders use: checksums
 * and pointers as Linux walks them, the MADT's processors, the start
 * page's fields, the entry state, the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/acpi_build.h>
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/linux_boot.h>
#include <xenolith/pvh_layout.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/hvm/save.h>

static uint8_t page[4096] __attribute__((aligned(4096)));

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Walk the tables as a guest would: RSDP -> XSDT -> MADT, checksums. */
static void test_acpi_walk(void **state)
{
    (void)state;
    const uint64_t gpa = 0x10003000;
    assert_int_equal(acpi_build_pvh(page, sizeof(page), gpa, 3), 0);
    assert_memory_equal(page, "RSD PTR ", 8);
    assert_int_equal(sum(page, 20), 0);     /* ACPI 1.0 checksum */
    assert_int_equal(page[15], 2);          /* revision 2 */
    assert_int_equal(le32(page + 20), 36);  /* length */
    assert_int_equal(sum(page, 36), 0);     /* extended checksum */
    uint64_t xsdt = le64(page + 24);
    assert_true(xsdt >= gpa && xsdt < gpa + 4096);
    const uint8_t *x = page + (xsdt - gpa);
    assert_memory_equal(x, "XSDT", 4);
    uint32_t xlen = le32(x + 4);
    assert_int_equal(xlen, 36 + 8);
    assert_int_equal(sum(x, xlen), 0);
    uint64_t madt = le64(x + 36);
    assert_true(madt >= gpa && madt < gpa + 4096);
    const uint8_t *m = page + (madt - gpa);
    assert_memory_equal(m, "APIC", 4);
    uint32_t mlen = le32(m + 4);
    assert_int_equal(mlen, 44 + 3 * 8);
    assert_int_equal(sum(m, mlen), 0);
    assert_int_equal(le32(m + 36), 0xfee00000u); /* local APIC address */
    for (unsigned int i = 0; i < 3; i++) {
        const uint8_t *e = m + 44 + 8 * i;
        assert_int_equal(e[0], 0);     /* processor local APIC */
        assert_int_equal(e[1], 8);
        assert_int_equal(e[2], i);     /* ACPI UID */
        assert_int_equal(e[3], i);     /* APIC ID = vcpu id */
        assert_int_equal(le32(e + 4), 1); /* enabled */
    }
}

static void test_acpi_refusals(void **state)
{
    (void)state;
    assert_int_equal(acpi_build_pvh(page, sizeof(page), 0x1000, 0), -1);
    assert_int_equal(acpi_build_pvh(page, sizeof(page), 0x1000, 256), -1);
    assert_int_equal(acpi_build_pvh(page, 128 + 44 + 8 * 4 - 1, 0x1000, 4), -1); /* does not fit */
    assert_int_equal(acpi_build_pvh(page, sizeof(page), 0x1000, 255), 0);
    /* the HVM platform's MADT: PCAT_COMPAT, 2 local APICs, the I/O APIC,
     * the IRQ 0 -> GSI 2 override; checksums right */
    assert_int_equal(acpi_build_hvm(page, 128 + 44 + 16 + 22 - 1, 0x2000, 2), -1);
    assert_int_equal(acpi_build_hvm(page, sizeof(page), 0x2000, 2), 0);
    assert_int_equal(sum(page, 36), 0);
    const uint8_t *hx = page + (le64(page + 24) - 0x2000);
    assert_int_equal(le32(hx + 4), 44);
    const uint8_t *hm = page + (le64(hx + 36) - 0x2000);
    assert_memory_equal(hm, "APIC", 4);
    assert_int_equal(le32(hm + 4), 44 + 16 + 12 + 10);
    assert_int_equal(sum(hm, le32(hm + 4)), 0);
    assert_int_equal(le32(hm + 40), 1);              /* PCAT_COMPAT */
    const uint8_t *io = hm + 44 + 16;
    assert_int_equal(io[0], 1);                      /* I/O APIC */
    assert_int_equal(io[1], 12);
    assert_int_equal(le32(io + 4), 0xfec00000u);
    assert_int_equal(le32(io + 8), 0);
    const uint8_t *iso = io + 12;
    assert_int_equal(iso[0], 2);                     /* override */
    assert_int_equal(iso[1], 10);
    assert_int_equal(iso[3], 0);                     /* ISA IRQ 0 */
    assert_int_equal(le32(iso + 4), 2);              /* GSI 2 */
}

static void test_start_page(void **state)
{
    (void)state;
    const uint64_t base = 32ULL << 20, ram_end = 32ULL << 20, acpi = ram_end + 3 * 4096;
    pvh_start_page(page, base, ram_end, 3, acpi, 0x1f00000, 12345, "console=hvc0 root=/dev/ram");
    const struct hvm_start_info *si = (const void *)page;
    assert_int_equal(si->magic, XEN_HVM_START_MAGIC_VALUE);
    assert_int_equal(si->version, 1);
    assert_int_equal(si->nr_modules, 1);
    const struct hvm_modlist_entry *mod = (const void *)(page + (si->modlist_paddr - base));
    assert_int_equal(mod->paddr, 0x1f00000);
    assert_int_equal(mod->size, 12345);
    assert_int_equal(si->memmap_entries, 3);
    const struct hvm_memmap_table_entry *mm = (const void *)(page + (si->memmap_paddr - base));
    assert_int_equal(mm[0].addr, 0);
    assert_int_equal(mm[0].size, ram_end);
    assert_int_equal(mm[0].type, XEN_HVM_MEMMAP_TYPE_RAM);
    assert_int_equal(mm[1].addr, ram_end);
    assert_int_equal(mm[1].size, 3 * 4096);
    assert_int_equal(mm[1].type, XEN_HVM_MEMMAP_TYPE_RESERVED);
    assert_int_equal(mm[2].addr, acpi);
    assert_int_equal(mm[2].type, XEN_HVM_MEMMAP_TYPE_ACPI);
    assert_int_equal(si->rsdp_paddr, acpi);
    assert_string_equal((const char *)page + (si->cmdline_paddr - base), "console=hvc0 root=/dev/ram");
    /* no ramdisk, no command line: none named */
    pvh_start_page(page, base, ram_end, 1, acpi, 0, 0, "");
    assert_int_equal(si->nr_modules, 0);
    assert_int_equal(si->modlist_paddr, 0);
    assert_int_equal(si->cmdline_paddr, 0);
    /* a command line longer than the page: cut, never past it */
    static char longline[8192];
    memset(longline, 'x', sizeof(longline) - 1);
    pvh_start_page(page, base, ram_end, 1, acpi, 0, 0, longline);
    assert_int_equal(strlen((const char *)page + 512), 4096 - 512 - 1);
}

static void test_entry_cpu(void **state)
{
    (void)state;
    struct hvm_hw_cpu c;
    memset(&c, 0xee, sizeof(c));
    pvh_entry_cpu(&c, 0x1000850, 0x10000000);
    assert_int_equal(c.rip, 0x1000850);
    assert_int_equal(c.rbx, 0x10000000);
    assert_int_equal(c.cr0, 0x11);           /* PE | ET, paging off */
    assert_int_equal(c.cr4, 0);
    assert_int_equal(c.msr_efer, 0);
    assert_int_equal(c.cs_arbytes, 0xc9b);   /* 32-bit code, present, G, D */
    assert_int_equal(c.ss_arbytes, 0xc93);
    assert_int_equal(c.cs_limit, 0xffffffff);
    assert_int_equal(c.tr_arbytes, 0x8b);    /* busy 32-bit TSS */
    assert_int_equal(c.rflags, 2);
    assert_int_equal(c.rax, 0);              /* nothing else left over */
}

static void test_ramdisk_place(void **state)
{
    (void)state;
    uint64_t g = 0;
    assert_int_equal(pvh_ramdisk_place(32ULL << 20, 5000, &g), 0);
    assert_int_equal(g, (32ULL << 20) - 2 * 4096); /* page aligned at the top */
    assert_int_equal(pvh_ramdisk_place(32ULL << 20, 16ULL << 20, &g), -XL_ENOMEM);
    assert_int_equal(pvh_ramdisk_place(32ULL << 20, (16ULL << 20) - 4096, &g), 0);
}

/* A tiny ELF64 with one PT_LOAD at a chosen place. */
static struct {
    elf64_ehdr eh;
    elf64_phdr ph;
    uint8_t body[64];
} img;

static void make_elf(uint64_t paddr, uint64_t filesz, uint64_t memsz, uint64_t offset)
{
    memset(&img, 0, sizeof(img));
    memcpy(img.eh.e_ident, "\177ELF", 4);
    img.eh.e_ident[4] = 2, img.eh.e_ident[5] = 1, img.eh.e_ident[6] = 1;
    img.eh.e_type = 2, img.eh.e_machine = 62, img.eh.e_version = 1;
    img.eh.e_entry = paddr;
    img.eh.e_phoff = sizeof(elf64_ehdr);
    img.eh.e_ehsize = sizeof(elf64_ehdr);
    img.eh.e_phentsize = sizeof(elf64_phdr);
    img.eh.e_phnum = 1;
    img.ph.p_type = ELF_PT_LOAD, img.ph.p_flags = ELF_PF_R | ELF_PF_X;
    img.ph.p_offset = offset, img.ph.p_vaddr = paddr, img.ph.p_paddr = paddr;
    img.ph.p_filesz = filesz, img.ph.p_memsz = memsz, img.ph.p_align = 4096;
}

static int check(uint64_t ram_end)
{
    struct elf_image e;
    const char *why = "";
    if (elf_parse(&e, &img, sizeof(img), &why))
        return 1; /* refused by the ELF reader already */
    return pvh_check_segments(&e, ram_end, &why) ? 2 : 0;
}

static void test_segments(void **state)
{
    (void)state;
    uint64_t off = offsetof(__typeof__(img), body);
    make_elf(0x100000, 64, 4096, off);
    assert_int_equal(check(32ULL << 20), 0);
    make_elf(0x0, 64, 4096, off);             /* the first page: refused */
    assert_int_not_equal(check(32ULL << 20), 0);
    make_elf((32ULL << 20) - 2048, 64, 4096, off); /* runs past RAM */
    assert_int_not_equal(check(32ULL << 20), 0);
    make_elf(0x100000, 64, 4096, off);
    assert_int_not_equal(check(0x100000), 0);  /* RAM ends before it */
    make_elf(~0ULL - 100, 64, 4096, off);     /* wraps */
    assert_int_not_equal(check(32ULL << 20), 0);
}

/* A minimal bzImage: boot flag, HdrS, protocol 2.15, 64-bit entry. */
static uint8_t bz[8192];

static void make_bz(uint16_t version, uint16_t xloadflags, uint8_t setup_sects)
{
    memset(bz, 0, sizeof(bz));
    bz[0x1f1] = setup_sects;
    bz[0x1fe] = 0x55, bz[0x1ff] = 0xaa;
    bz[0x201] = 0x66;                          /* header ends at 0x268 */
    memcpy(bz + 0x202, "HdrS", 4);
    memcpy(bz + 0x206, &version, 2);
    bz[0x211] = 1;                             /* LOADED_HIGH */
    uint32_t align = 0x200000, init = 0x3000000;
    memcpy(bz + 0x230, &align, 4);
    memcpy(bz + 0x236, &xloadflags, 2);
    uint64_t pref = 0x1000000;
    memcpy(bz + 0x258, &pref, 8);
    memcpy(bz + 0x260, &init, 4);
}

static void test_linux_boot(void **state)
{
    (void)state;
    struct linux_boot_plan p;
    const char *why = "";
    make_bz(0x20f, 1, 4);
    assert_int_equal(linux_boot_prepare(bz, sizeof(bz), &p, &why), 0);
    assert_ptr_equal(p.kernel, bz + 5 * 512);  /* after the boot sector and 4 setup sectors */
    assert_int_equal(p.kernel_len, sizeof(bz) - 5 * 512);
    assert_int_equal(p.load_addr, 0x1000000);
    assert_int_equal(p.entry, 0x1000200);      /* the 64-bit entry */
    assert_int_equal(p.init_size, 0x3000000);
    make_bz(0x20b, 1, 4);                       /* protocol 2.11: no 64-bit entry */
    assert_int_equal(linux_boot_prepare(bz, sizeof(bz), &p, &why), -XL_EINVAL);
    make_bz(0x20f, 0, 4);                       /* no XLF_KERNEL_64 */
    assert_int_equal(linux_boot_prepare(bz, sizeof(bz), &p, &why), -XL_EINVAL);
    make_bz(0x20f, 1, 200);                     /* setup runs past the image */
    assert_int_equal(linux_boot_prepare(bz, sizeof(bz), &p, &why), -XL_EINVAL);
    make_bz(0x20f, 1, 4);
    memcpy(bz + 0x202, "HdrX", 4);              /* not a bzImage */
    assert_int_equal(linux_boot_prepare(bz, sizeof(bz), &p, &why), -XL_EINVAL);
    assert_int_equal(linux_boot_prepare(bz, 0x100, &p, &why), -XL_EINVAL); /* too short */
}

static void test_zero_page(void **state)
{
    (void)state;
    make_bz(0x20f, 1, 4);
    const struct lb_e820 map[] = { { 0, 0x9f000, 1 }, { 0x100000, 0xff00000, 1 }, { 0x10003000, 4096, 3 } };
    pvh_start_page(page, 0, 0, 0, 0, 0, 0, ""); /* dirty the page first */
    linux_boot_zero_page(page, bz, sizeof(bz), 0xfe65000, 0x19b000, map, 3, 0x10003000);
    assert_memory_equal(page + 0x202, "HdrS", 4);       /* the header copied */
    assert_int_equal(page[0x210], 0xff);                /* type_of_loader */
    assert_int_equal(page[0x211] & 0x81, 0x81);         /* LOADED_HIGH | CAN_USE_HEAP */
    assert_int_equal(le32(page + 0x228), LB_CMDLINE);
    assert_int_equal(le32(page + 0x218), 0xfe65000);
    assert_int_equal(le32(page + 0x21c), 0x19b000);
    assert_int_equal(le64(page + 0x070), 0x10003000);   /* acpi_rsdp_addr */
    assert_int_equal(page[0x1e8], 3);                   /* e820_entries */
    assert_int_equal(le64(page + 0x2d0 + 20), 0x100000);
    assert_int_equal(le64(page + 0x2d0 + 28), 0xff00000);
    assert_int_equal(le32(page + 0x2d0 + 56), 3);
    assert_int_equal(page[0x0], 0);                     /* nothing outside the header */
    static uint64_t pt[LB_PT_PAGES][512];
    linux_boot_page_tables(pt);
    assert_int_equal(pt[0][0], (LB_PML4 + 0x1000) | 3);
    assert_int_equal(pt[1][3], (LB_PML4 + 0x5000) | 3);
    assert_int_equal(pt[5][511], (3ULL << 30) + (511ULL << 21) + 0x83); /* 4 GiB - 2 MiB */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acpi_walk),      cmocka_unit_test(test_acpi_refusals),
        cmocka_unit_test(test_start_page),     cmocka_unit_test(test_entry_cpu),
        cmocka_unit_test(test_ramdisk_place),  cmocka_unit_test(test_segments),
        cmocka_unit_test(test_linux_boot),     cmocka_unit_test(test_zero_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
