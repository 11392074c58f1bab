/*
 * test_mb1_layout.c - Multiboot (v1) for an HVM guest
 * (hv/shared/mb1_layout.c): the header found where the spec puts it and
 * nowhere else, the plan of a small ELF64 with and without the a.out
 * address fields, every refusal, the information page as a Multiboot
 * kernel walks it, vcpu 0 at the entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/mb1_layout.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>

#define RAM (32ULL << 20)

/* An ELF64 image: header, two program headers, a Multiboot header at
 * hdr_off, then the text bytes at 0x1000 (one unaligned byte in front,
 * so the image itself is never 8-byte aligned). */
static uint8_t buf[0x3001];
static uint8_t *img = buf + 1;
static const size_t len = sizeof(buf) - 1;

static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }

static void make(uint64_t e_entry, uint32_t mbflags, size_t hdr_off, int good_sum)
{
    memset(buf, 0, sizeof(buf));
    elf64_ehdr eh = { 0 };
    memcpy(eh.e_ident, "\177ELF", 4);
    eh.e_ident[4] = 2, eh.e_ident[5] = 1, eh.e_ident[6] = 1;
    eh.e_type = 2, eh.e_machine = 62, eh.e_version = 1;
    eh.e_entry = e_entry;
    eh.e_phoff = sizeof(eh), eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(elf64_phdr), eh.e_phnum = 2;
    memcpy(img, &eh, sizeof(eh));
    elf64_phdr ph[2] = {
        { .p_type = ELF_PT_LOAD, .p_flags = ELF_PF_R | ELF_PF_X, .p_offset = 0x1000,
          .p_vaddr = 0xffffffff80100000ULL, .p_paddr = 0x100000, .p_filesz = 0x2000,
          .p_memsz = 0x2000 },
        { .p_type = ELF_PT_LOAD, .p_flags = ELF_PF_R | ELF_PF_W, .p_offset = 0,
          .p_vaddr = 0xffffffff80102000ULL, .p_paddr = 0x102000, .p_filesz = 0,
          .p_memsz = 0x5000 },
    };
    memcpy(img + sizeof(eh), ph, sizeof(ph));
    put32(hdr_off, MB1_HEADER_MAGIC);
    put32(hdr_off + 4, mbflags);
    put32(hdr_off + 8, -(MB1_HEADER_MAGIC + mbflags) + (good_sum ? 0 : 1));
    put32(hdr_off + 12, 0x100000 + (uint32_t)hdr_off - 0x1000); /* header_addr */
    put32(hdr_off + 16, 0x100000);                               /* load_addr */
    put32(hdr_off + 20, 0x102000);                               /* load_end_addr */
    put32(hdr_off + 24, 0x107000);                               /* bss_end_addr */
    put32(hdr_off + 28, 0x100800);                               /* entry_addr */
}

static void test_find_header(void **state)
{
    (void)state;
    struct mb1_header h;
    size_t off = 0;
    make(0, MB1_HF_MEMORY_INFO, 0x1010, 1);
    assert_int_equal(mb1_find_header(img, len, &h, &off), 0);
    assert_int_equal(off, 0x1010);
    assert_int_equal(h.flags, MB1_HF_MEMORY_INFO);
    assert_int_equal(h.entry_addr, 0); /* no address fields without the flag */
    make(0, MB1_HF_MEMORY_INFO, 0x1010, 0); /* bad checksum */
    assert_int_equal(mb1_find_header(img, len, &h, &off), -XL_ENOEXEC);
    make(0, MB1_HF_MEMORY_INFO, 0x1012, 1); /* not 4-byte aligned */
    assert_int_equal(mb1_find_header(img, len, &h, &off), -XL_ENOEXEC);
    make(0, MB1_HF_MEMORY_INFO, 0x2000, 1); /* past the first 8 KiB */
    assert_int_equal(mb1_find_header(img, len, &h, &off), -XL_ENOEXEC);
    make(0, MB1_HF_MEMORY_INFO, 0x1ff4, 1); /* the last slot that fits */
    assert_int_equal(mb1_find_header(img, len, &h, &off), 0);
    assert_int_equal(off, 0x1ff4);
    /* the address fields would run past a short image: not a header */
    make(0, MB1_HF_MEMORY_INFO | MB1_HF_AOUT_KLUDGE, 0x1010, 1);
    assert_int_equal(mb1_find_header(img, 0x1010 + 20, &h, &off), -XL_ENOEXEC);
    assert_int_equal(mb1_find_header(img, len, &h, &off), 0);
    assert_int_equal(h.entry_addr, 0x100800);
}

static void test_plan(void **state)
{
    (void)state;
    struct mb1_plan p;
    const char *why = "";
    make(0xffffffff80100000ULL, MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO | MB1_HF_AOUT_KLUDGE,
         0x1010, 1);
    assert_int_equal(mb1_prepare(img, len, RAM, &p, &why), 0);
    assert_int_equal(p.entry, 0x100800); /* the header's, not the 64-bit e_entry */
    assert_int_equal(p.nseg, 2);
    assert_int_equal(p.seg[0].paddr, 0x100000);
    assert_int_equal(p.seg[0].offset, 0x1000);
    assert_int_equal(p.seg[0].filesz, 0x2000);
    assert_int_equal(p.seg[1].paddr, 0x102000);
    assert_int_equal(p.seg[1].filesz, 0);
    assert_int_equal(p.seg[1].memsz, 0x5000);
    /* without the address fields: a 32-bit e_entry */
    make(0x100400, MB1_HF_MEMORY_INFO, 0x1010, 1);
    assert_int_equal(mb1_prepare(img, len, RAM, &p, &why), 0);
    assert_int_equal(p.entry, 0x100400);
}

static int refused(const char **why)
{
    struct mb1_plan p;
    *why = "";
    return mb1_prepare(img, len, RAM, &p, why);
}

static void test_refusals(void **state)
{
    (void)state;
    const char *why;
    const uint32_t kl = MB1_HF_MEMORY_INFO | MB1_HF_AOUT_KLUDGE;
    make(0x100400, MB1_HF_MEMORY_INFO, 0x2000, 1); /* no header in reach */
    assert_int_equal(refused(&why), -XL_ENOEXEC);
    make(0x100400, MB1_HF_MEMORY_INFO | MB1_HF_VIDEO_MODE, 0x1010, 1);
    assert_int_equal(refused(&why), -XL_EINVAL);
    assert_non_null(strstr(why, "video"));
    make(0x100400, MB1_HF_MEMORY_INFO | 0x8000, 0x1010, 1); /* a demand nobody defined */
    assert_int_equal(refused(&why), -XL_EINVAL);
    make(0x100400, MB1_HF_MEMORY_INFO | 0x20000, 0x1010, 1); /* bits 16-31: optional */
    assert_int_equal(refused(&why), 0);
    make(0xffffffff80100000ULL, MB1_HF_MEMORY_INFO, 0x1010, 1); /* 64-bit entry only */
    assert_int_equal(refused(&why), -XL_EINVAL);
    make(0x103000, MB1_HF_MEMORY_INFO, 0x1010, 1); /* entry in the bss */
    assert_int_equal(refused(&why), -XL_EINVAL);
    make(0, kl, 0x1010, 1);
    put32(0x1010 + 16, 0x101000); /* load_addr not the ELF's */
    assert_int_equal(refused(&why), -XL_EINVAL);
    make(0, kl, 0x1010, 1);
    put32(0x1010 + 24, 0x106000); /* bss_end_addr short of the ELF's end */
    assert_int_equal(refused(&why), -XL_EINVAL);
    make(0, kl, 0x1010, 1);
    put32(0x1010 + 24, 0); /* 0: no bss of its own, fine */
    assert_int_equal(refused(&why), 0);
    /* a segment outside RAM or the image */
    make(0, kl, 0x1010, 1);
    struct mb1_plan p;
    assert_int_equal(mb1_prepare(img, len, 0x104000, &p, &why), -XL_EINVAL);
    elf64_phdr ph;
    memcpy(&ph, img + sizeof(elf64_ehdr), sizeof(ph));
    ph.p_filesz = 0x2001 + 0x1000; /* past the image's end */
    ph.p_memsz = 0x4000;
    memcpy(img + sizeof(elf64_ehdr), &ph, sizeof(ph));
    assert_int_equal(refused(&why), -XL_EINVAL);
    ph.p_filesz = 0x2000, ph.p_paddr = 0; /* the first page */
    memcpy(img + sizeof(elf64_ehdr), &ph, sizeof(ph));
    assert_int_equal(refused(&why), -XL_EINVAL);
    /* not ELF64 x86_64 */
    make(0, kl, 0x1010, 1);
    img[4] = 1;
    assert_int_equal(refused(&why), -XL_ENOEXEC);
    /* program headers past the image */
    make(0, kl, 0x1010, 1);
    uint16_t n = 0xffff;
    memcpy(img + 56, &n, 2);
    assert_int_equal(refused(&why), -XL_EINVAL);
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void test_info_page(void **state)
{
    (void)state;
    static uint8_t page[4096];
    const uint64_t base = RAM, acpi = RAM + 3 * 4096, rd = RAM - 2 * 4096;
    memset(page, 0xee, sizeof(page));
    mb1_info_page(page, base, RAM, 3, acpi, rd, 5000, "self=1 x=y");
    struct mb1_info mi;
    memcpy(&mi, page, sizeof(mi));
    assert_int_equal(mi.flags, MB1_INFO_MEMORY | MB1_INFO_MEM_MAP | MB1_INFO_CMDLINE |
                                   MB1_INFO_MODS);
    assert_int_equal(mi.mem_lower, 636);
    assert_int_equal(mi.mem_upper, (RAM >> 10) - 1024);
    /* the command line by its address */
    assert_true(mi.cmdline >= base && mi.cmdline < base + 4096);
    assert_string_equal((const char *)page + (mi.cmdline - base), "self=1 x=y");
    /* the module: the ramdisk, with an (empty) string inside the page */
    assert_int_equal(mi.mods_count, 1);
    const uint8_t *m = page + (mi.mods_addr - base);
    assert_int_equal(rd32(m), rd);
    assert_int_equal(rd32(m + 4), rd + 5000);
    assert_true(rd32(m + 8) >= base && rd32(m + 8) < base + 4096);
    assert_int_equal(page[rd32(m + 8) - base], 0);
    /* the memory map, walked by each entry's size field */
    static const uint64_t want[][3] = {
        { 0, 0x9f000, 1 }, { 0x9f000, 0x61000, 2 }, { 0x100000, RAM - 0x100000, 1 },
        { RAM, 3 * 4096, 2 }, { RAM + 3 * 4096, 4096, 3 },
    };
    unsigned int i = 0;
    for (uint32_t pa = mi.mmap_addr; pa < mi.mmap_addr + mi.mmap_length; i++) {
        const uint8_t *e = page + (pa - base);
        assert_true(i < 5);
        assert_int_equal(rd64(e + 4), want[i][0]);
        assert_int_equal(rd64(e + 12), want[i][1]);
        assert_int_equal(rd32(e + 20), want[i][2]);
        pa += rd32(e) + 4;
    }
    assert_int_equal(i, 5);
    /* no ramdisk: no MODS; a command line longer than the page: cut */
    static char longline[8192];
    memset(longline, 'x', sizeof(longline) - 1);
    mb1_info_page(page, base, RAM, 3, acpi, 0, 0, longline);
    memcpy(&mi, page, sizeof(mi));
    assert_int_equal(mi.flags & MB1_INFO_MODS, 0);
    assert_int_equal(mi.mods_count, 0);
    assert_int_equal(strlen((const char *)page + (mi.cmdline - base)),
                     4096 - (mi.cmdline - base) - 1);
    mb1_info_page(page, base, RAM, 3, acpi, 0, 0, NULL);
    memcpy(&mi, page, sizeof(mi));
    assert_string_equal((const char *)page + (mi.cmdline - base), "");
}

static void test_entry_cpu(void **state)
{
    (void)state;
    struct hvm_hw_cpu c;
    memset(&c, 0xee, sizeof(c));
    mb1_entry_cpu(&c, 0x10a000, 0x2000000);
    assert_int_equal(c.rip, 0x10a000);
    assert_int_equal(c.rax, 0x2BADB002);
    assert_int_equal(c.rbx, 0x2000000);
    assert_int_equal(c.cr0, 0x11); /* PE | ET: protected mode, paging off */
    assert_int_equal(c.msr_efer, 0);
    assert_int_equal(c.cs_arbytes, 0xc9b); /* 32-bit flat code */
    assert_int_equal(c.cs_limit, 0xffffffff);
    assert_int_equal(c.ds_arbytes, 0xc93);
    assert_int_equal(c.rflags & 0x200, 0); /* IF clear */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_header), cmocka_unit_test(test_plan),
        cmocka_unit_test(test_refusals),    cmocka_unit_test(test_info_page),
        cmocka_unit_test(test_entry_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
