/*
 * test_elf.c - host unit tests for hv/shared/elf.c (cmocka, ASan/UBSan).
 * Owns: building ELF images in memory and checking every validation path
 * and Xen note decoder of elf.c.
 * Must never: read ELF files from disk; every image is built here so each
 * test states exactly which byte is wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xen/elfnote.h>
#include <xen/features.h>

#define IMG_SIZE   0x2000
#define PH_OFF     64
#define NOTE_OFF   0x800
#define SH_OFF     0x1800
#define STR_OFF    0x1400
#define GUEST_OFF  0x1500
#define SEG0_OFF   0x1000
#define SEG1_OFF   0x1100

/* An image under construction; u64 storage keeps it 8-byte aligned. */
struct img {
    uint64_t store[IMG_SIZE / 8];
    size_t note_len;
};

static uint8_t *bytes(struct img *m) { return (uint8_t *)m->store; }
static elf64_ehdr *ehdr(struct img *m) { return (elf64_ehdr *)m->store; }
static elf64_phdr *phdr(struct img *m, int i)
{
    return (elf64_phdr *)(bytes(m) + PH_OFF) + i;
}

/* Build a valid image: two PT_LOADs and an (initially empty) PT_NOTE. */
static void build(struct img *m)
{
    elf64_ehdr *e = ehdr(m);
    memset(m, 0, sizeof(*m));
    memcpy(e->e_ident, "\x7f" "ELF", 4);
    e->e_ident[4] = 2; /* ELFCLASS64 */
    e->e_ident[5] = 1; /* LSB */
    e->e_ident[6] = 1;
    e->e_type = 2;
    e->e_machine = 62;
    e->e_version = 1;
    e->e_entry = 0x1000040;
    e->e_phoff = PH_OFF;
    e->e_ehsize = sizeof(*e);
    e->e_phentsize = sizeof(elf64_phdr);
    e->e_phnum = 3;
    *phdr(m, 0) = (elf64_phdr){ ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, SEG0_OFF,
                                0xffffffff81000000ULL, 0x1000000, 0x100, 0x2000, 0x1000 };
    *phdr(m, 1) = (elf64_phdr){ ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, SEG1_OFF,
                                0xffffffff81002000ULL, 0x1002000, 0x10, 0x3000, 0x1000 };
    *phdr(m, 2) = (elf64_phdr){ ELF_PT_NOTE, ELF_PF_R, NOTE_OFF, 0, 0, 0, 0, 4 };
    m->note_len = 0;
}

/* Append a note (name, type, desc) to the PT_NOTE segment, 4-byte padded. */
static void add_note(struct img *m, const char *name, uint32_t type,
                     const void *desc, uint32_t descsz)
{
    uint8_t *p = bytes(m) + NOTE_OFF + m->note_len;
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    uint32_t hdr[3] = { namesz, descsz, type };
    memcpy(p, hdr, 12);
    memcpy(p + 12, name, namesz);
    memcpy(p + 12 + ((namesz + 3) & ~3u), desc, descsz);
    m->note_len += 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
    phdr(m, 2)->p_filesz = m->note_len;
}

static void add_note64(struct img *m, uint32_t type, uint64_t v)
{
    add_note(m, "Xen", type, &v, 8);
}

/* Add a section table: null, .shstrtab, and __xen_guest holding `guest`. */
static void add_legacy(struct img *m, const char *guest)
{
    static const char names[] = "\0.shstrtab\0__xen_guest";
    elf64_shdr *sh = (elf64_shdr *)(bytes(m) + SH_OFF);
    memcpy(bytes(m) + STR_OFF, names, sizeof(names));
    strcpy((char *)bytes(m) + GUEST_OFF, guest);
    sh[1] = (elf64_shdr){ 1, 3, 0, 0, STR_OFF, sizeof(names), 0, 0, 1, 0 };
    sh[2] = (elf64_shdr){ 11, 1, 0, 0, GUEST_OFF, strlen(guest) + 1, 0, 0, 1, 0 };
    ehdr(m)->e_shoff = SH_OFF;
    ehdr(m)->e_shentsize = sizeof(elf64_shdr);
    ehdr(m)->e_shnum = 3;
    ehdr(m)->e_shstrndx = 1;
}

static int parse(struct img *m, struct elf_image *ei, const char **why)
{
    return elf_parse(ei, m->store, IMG_SIZE, why);
}

static struct img M;

static void test_valid_image(void **state)
{
    struct elf_image ei;
    const char *why = NULL;
    build(&M);
    assert_int_equal(parse(&M, &ei, &why), 0);
    assert_null(why);
    assert_ptr_equal(ei.ehdr, M.store);
    assert_int_equal(elf_phdr(&ei, 0)->p_paddr, 0x1000000);
    assert_int_equal(elf_phdr(&ei, 1)->p_filesz, 0x10);
    assert_int_equal(elf_phdr(&ei, 2)->p_type, ELF_PT_NOTE);
    assert_null(elf_phdr(&ei, 3));
}

static void test_truncated_header(void **state)
{
    struct elf_image ei;
    const char *why = NULL;
    build(&M);
    assert_int_equal(elf_parse(&ei, M.store, sizeof(elf64_ehdr) - 1, &why), -XL_ENOEXEC);
    assert_non_null(why);
    assert_int_equal(elf_parse(&ei, NULL, 100, NULL), -XL_ENOEXEC);
    assert_int_equal(elf_parse(&ei, M.store, 0, NULL), -XL_ENOEXEC);
}

static void test_misaligned_buffer(void **state)
{
    struct elf_image ei;
    build(&M);
    assert_int_equal(elf_parse(&ei, bytes(&M) + 1, IMG_SIZE - 1, NULL), -XL_EINVAL);
}

static void test_phdr_table_out_of_bounds(void **state)
{
    struct elf_image ei;
    const char *why = NULL;

    build(&M);
    ehdr(&M)->e_phoff = IMG_SIZE - sizeof(elf64_phdr) * 2; /* 3rd entry past end */
    assert_int_equal(parse(&M, &ei, &why), -XL_EINVAL);
    assert_non_null(why);
    assert_null(ei.ehdr);

    build(&M);
    ehdr(&M)->e_phoff = UINT64_MAX - 8; /* offset + size wraps */
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);

    build(&M);
    ehdr(&M)->e_phnum = 0xffff;
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);

    build(&M);
    ehdr(&M)->e_phentsize = 32;
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);

    build(&M);
    ehdr(&M)->e_phoff = PH_OFF + 4; /* misaligned table */
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
}

static void test_shdr_table_out_of_bounds(void **state)
{
    struct elf_image ei;
    build(&M);
    add_legacy(&M, "GUEST_OS=linux");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    ehdr(&M)->e_shnum = 200;
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
    ehdr(&M)->e_shnum = 3;
    ehdr(&M)->e_shstrndx = 3;
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
}

static void test_bad_ident(void **state)
{
    struct elf_image ei;
    const char *why;
    static const struct { size_t off; uint8_t val; } cases[] = {
        { 0, 0x7e }, { 3, 'X' },   /* magic */
        { 4, 1 },                   /* ELFCLASS32 */
        { 5, 2 },                   /* big endian */
        { 18, 3 },                  /* EM_386 (low byte of e_machine) */
        { 16, 1 },                  /* ET_REL */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        build(&M);
        bytes(&M)[cases[i].off] = cases[i].val;
        why = NULL;
        assert_int_equal(parse(&M, &ei, &why), -XL_ENOEXEC);
        assert_non_null(why);
    }
    build(&M);
    bytes(&M)[4] = 1;
    parse(&M, &ei, &why);
    assert_string_equal(why, "not a 64-bit ELF (bad class)");
    build(&M);
    ehdr(&M)->e_machine = 183; /* aarch64 */
    parse(&M, &ei, &why);
    assert_string_equal(why, "not an x86_64 ELF (bad machine)");
}

static void test_bad_load_segment(void **state)
{
    struct elf_image ei;
    build(&M);
    phdr(&M, 1)->p_filesz = IMG_SIZE; /* runs past the end */
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
    build(&M);
    phdr(&M, 1)->p_offset = UINT64_MAX - 4;
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
    build(&M);
    phdr(&M, 0)->p_memsz = 0x10; /* filesz 0x100 > memsz */
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
    build(&M);
    phdr(&M, 0)->p_memsz = UINT64_MAX; /* vaddr + memsz wraps */
    assert_int_equal(parse(&M, &ei, NULL), -XL_EINVAL);
}

static void test_load_bounds(void **state)
{
    struct elf_image ei;
    uint64_t vs, ve, ps, pe;
    build(&M);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_load_bounds(&ei, &vs, &ve, &ps, &pe), 0);
    assert_int_equal(vs, 0xffffffff81000000ULL);
    assert_int_equal(ve, 0xffffffff81005000ULL);
    assert_int_equal(ps, 0x1000000);
    assert_int_equal(pe, 0x1005000);
    assert_int_equal(elf_load_bounds(&ei, NULL, NULL, &ps, NULL), 0);

    phdr(&M, 0)->p_type = ELF_PT_NOTE + 100;
    phdr(&M, 1)->p_type = 0;
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_load_bounds(&ei, &vs, &ve, &ps, &pe), -XL_ENOEXEC);
}

struct count_ctx { int n, stop_at; uint32_t last_type; };

static int count_cb(void *vctx, const char *name, uint32_t type,
                    const void *desc, uint32_t descsz)
{
    struct count_ctx *c = vctx;
    c->n++;
    c->last_type = type;
    return c->n == c->stop_at ? 42 : 0;
}

static void test_foreach_note(void **state)
{
    struct elf_image ei;
    struct count_ctx c = { 0, 0, 0 };
    build(&M);
    add_note(&M, "GNU", 3, "abcdefgh", 8);
    add_note64(&M, XEN_ELFNOTE_ENTRY, 1);
    add_note(&M, "Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.last_type, XEN_ELFNOTE_GUEST_OS);
    c = (struct count_ctx){ 0, 2, 0 };
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), 42);
    assert_int_equal(c.n, 2);
}

static void test_note_desc_past_end(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    struct count_ctx c = { 0, 0, 0 };
    uint32_t *hdr;

    build(&M);
    add_note64(&M, XEN_ELFNOTE_ENTRY, 1);
    hdr = (uint32_t *)(bytes(&M) + NOTE_OFF);
    hdr[1] = 0x100; /* descsz runs past the PT_NOTE segment */
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), -XL_EINVAL);
    assert_int_equal(c.n, 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);

    hdr[1] = 0xffffffff; /* and past the file */
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), -XL_EINVAL);

    hdr[1] = 8;
    hdr[0] = 0x7fffffff; /* namesz past the end */
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), -XL_EINVAL);

    hdr[0] = 4;
    bytes(&M)[NOTE_OFF + 15] = 'X'; /* name not NUL-terminated */
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), -XL_EINVAL);

    build(&M);
    phdr(&M, 2)->p_filesz = 8; /* segment shorter than a note header */
    bytes(&M)[NOTE_OFF] = 1;
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), -XL_EINVAL);

    build(&M);
    phdr(&M, 2)->p_offset = IMG_SIZE - 4; /* segment itself past the file */
    phdr(&M, 2)->p_filesz = 16;
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_foreach_note(&ei, count_cb, &c), -XL_EINVAL);
}

static void test_xen_numeric_notes(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    uint32_t hc = 0x81001000u; /* 4-byte desc */
    build(&M);
    add_note64(&M, XEN_ELFNOTE_ENTRY, 0xffffffff81000040ULL);
    add_note(&M, "Xen", XEN_ELFNOTE_HYPERCALL_PAGE, &hc, 4);
    add_note64(&M, XEN_ELFNOTE_VIRT_BASE, 0xffffffff80000000ULL);
    add_note64(&M, XEN_ELFNOTE_PADDR_OFFSET, 0x1234);
    add_note64(&M, XEN_ELFNOTE_INIT_P2M, 0xffffea0000000000ULL);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_true(xn.has_entry && xn.has_hypercall_page && xn.has_virt_base &&
                xn.has_paddr_offset && xn.has_init_p2m);
    assert_false(xn.has_xen_version);
    assert_int_equal(xn.entry, 0xffffffff81000040ULL);
    assert_int_equal(xn.hypercall_page, 0x81001000u);
    assert_int_equal(xn.virt_base, 0xffffffff80000000ULL);
    assert_int_equal(xn.paddr_offset, 0x1234);
    assert_int_equal(xn.init_p2m, 0xffffea0000000000ULL);
}

static void test_xen_numeric_bad_size(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    build(&M);
    add_note(&M, "Xen", XEN_ELFNOTE_ENTRY, "\1\2\3", 3);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);
}

static void test_xen_string_notes(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    char longos[40];
    memset(longos, 'a', sizeof(longos) - 1);
    longos[39] = '\0';
    build(&M);
    add_note(&M, "Xen", XEN_ELFNOTE_GUEST_OS, longos, sizeof(longos));
    add_note(&M, "Xen", XEN_ELFNOTE_XEN_VERSION, "xen-3.0", 8);
    add_note(&M, "Xen", XEN_ELFNOTE_LOADER, "generic", 7); /* no NUL in desc */
    add_note(&M, "Xen", XEN_ELFNOTE_FEATURES, "writable_page_tables|pae_pgdir_above_4gb", 41);
    add_note(&M, "Xen", XEN_ELFNOTE_PAE_MODE, "yes", 4); /* ignored */
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_int_equal(strlen(xn.guest_os), sizeof(xn.guest_os) - 1);
    assert_memory_equal(xn.guest_os, longos, sizeof(xn.guest_os) - 1);
    assert_string_equal(xn.xen_version, "xen-3.0");
    assert_true(xn.has_xen_version);
    assert_string_equal(xn.loader, "generic");
    assert_string_equal(xn.features, "writable_page_tables|pae_pgdir_above_4gb");
    assert_false(xn.has_entry);
}

static void test_no_xen_notes(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    build(&M);
    add_note(&M, "GNU", XEN_ELFNOTE_ENTRY, "abcdefgh", 8); /* not named Xen */
    add_note(&M, "Xenx", XEN_ELFNOTE_ENTRY, "abcdefgh", 8);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_ENOEXEC);
    assert_false(xn.has_entry);
}

static void test_section_notes_fallback(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    elf64_shdr *sh;
    build(&M);
    add_note64(&M, XEN_ELFNOTE_VIRT_BASE, 0xffffffff80000000ULL);
    add_legacy(&M, "GUEST_OS=ignored");
    ehdr(&M)->e_phnum = 2; /* drop the PT_NOTE; a SHT_NOTE section remains */
    sh = (elf64_shdr *)(bytes(&M) + SH_OFF);
    sh[0] = (elf64_shdr){ 0, ELF_SHT_NOTE, 0, 0, NOTE_OFF, M.note_len, 0, 0, 4, 0 };
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_true(xn.has_virt_base);
    assert_int_equal(xn.virt_base, 0xffffffff80000000ULL);
    assert_string_equal(xn.guest_os, ""); /* notes win over __xen_guest */
}

static void test_legacy_xen_guest(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    build(&M);
    add_legacy(&M, "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000,"
                   "ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,LOADER=generic");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_string_equal(xn.guest_os, "linux");
    assert_string_equal(xn.xen_version, "xen-3.0");
    assert_true(xn.has_xen_version);
    assert_string_equal(xn.loader, "generic");
    assert_true(xn.has_virt_base && xn.has_paddr_offset && xn.has_hypercall_page);
    assert_int_equal(xn.virt_base, 0xffffffff80000000ULL);
    assert_int_equal(xn.paddr_offset, 0);
    assert_int_equal(xn.hypercall_page, 0xffffffff80002000ULL);
    assert_false(xn.has_entry);
}

static void test_legacy_order_and_errors(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    build(&M);
    add_legacy(&M, "HYPERCALL_PAGE=3,VIRT_ENTRY=4096,VIRT_BASE=0x100000,PAE=yes");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_int_equal(xn.hypercall_page, 0x103000);
    assert_true(xn.has_entry);
    assert_int_equal(xn.entry, 4096);

    build(&M);
    add_legacy(&M, "VIRT_BASE=0xzz");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);

    build(&M);
    add_legacy(&M, "VIRT_BASE=0xffffffffffffffff,HYPERCALL_PAGE=1");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);

    build(&M);
    add_legacy(&M, "VIRT_BASE=0x1ffffffffffffffff"); /* 65 bits */
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);

    build(&M);
    add_legacy(&M, "GUEST_OS=linux");
    ((elf64_shdr *)(bytes(&M) + SH_OFF))[2].sh_size = IMG_SIZE; /* past the end */
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);
}

static void test_features_parse(void **state)
{
    uint32_t sup = 0, req = 0;
    assert_int_equal(elf_xen_parse_features("!writable_page_tables|pae_pgdir_above_4gb|"
                                            "some_future_feature|dom0", &sup, &req), 0);
    assert_int_equal(sup, (1u << XENFEAT_writable_page_tables) |
                          (1u << XENFEAT_pae_pgdir_above_4gb) | (1u << XENFEAT_dom0));
    assert_int_equal(req, 1u << XENFEAT_writable_page_tables);
    sup = req = 0;
    assert_int_equal(elf_xen_parse_features("", &sup, &req), 0);
    assert_int_equal(sup | req, 0);
    /* A required feature nobody knows cannot be honoured. */
    assert_int_equal(elf_xen_parse_features("dom0|!no_such_feature", &sup, &req), -XL_EINVAL);
    sup = req = 0;
    assert_int_equal(elf_xen_parse_features("|!|dom0|", &sup, &req), -XL_EINVAL);
}

static void test_features_notes(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    uint32_t bits = 1u << XENFEAT_dom0;
    build(&M);
    add_note(&M, "Xen", XEN_ELFNOTE_FEATURES, "!auto_translated_physmap", 25);
    add_note(&M, "Xen", XEN_ELFNOTE_SUPPORTED_FEATURES, &bits, 4);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_true(xn.has_supported_features);
    assert_int_equal(xn.f_required[0], 1u << XENFEAT_auto_translated_physmap);
    assert_int_equal(xn.f_supported[0],
                     (1u << XENFEAT_auto_translated_physmap) | (1u << XENFEAT_dom0));

    build(&M);
    add_note(&M, "Xen", XEN_ELFNOTE_FEATURES, "!bogus", 7);
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);

    build(&M);
    add_note(&M, "Xen", XEN_ELFNOTE_SUPPORTED_FEATURES, &bits, 2); /* too short */
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);

    build(&M);
    add_legacy(&M, "GUEST_OS=linux,FEATURES=!nonsense");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), -XL_EINVAL);
}

static void test_legacy_paddr_default(void **state)
{
    struct elf_image ei;
    struct xen_elfnotes xn;
    build(&M);
    add_legacy(&M, "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000");
    assert_int_equal(parse(&M, &ei, NULL), 0);
    assert_int_equal(elf_xen_notes(&ei, &xn), 0);
    assert_true(xn.legacy && xn.has_paddr_offset);
    assert_int_equal(xn.paddr_offset, 0xffffffff80000000ULL);
}

static void test_xen_check(void **state)
{
    struct xen_elfnotes n;
    const char *why = NULL;
    memset(&n, 0, sizeof(n));
    strcpy(n.loader, "generic");
    strcpy(n.xen_version, "xen-3.0");
    assert_int_equal(elf_xen_check(&n, 1, &why), 0);
    n.f_required[0] = 1u << XENFEAT_writable_page_tables; /* Linux's note */
    assert_int_equal(elf_xen_check(&n, 1, &why), 0);

    n.f_required[0] = 1u << XENFEAT_auto_translated_physmap;
    assert_int_equal(elf_xen_check(&n, 0, &why), -XL_EINVAL);
    assert_non_null(strstr(why, "feature"));
    n.f_required[0] = 1u << XENFEAT_supervisor_mode_kernel;
    assert_int_equal(elf_xen_check(&n, 0, &why), -XL_EINVAL);
    n.f_required[0] = 0;

    n.has_supported_features = 1; /* says what it supports, but not dom0 */
    assert_int_equal(elf_xen_check(&n, 1, &why), -XL_EINVAL);
    assert_int_equal(elf_xen_check(&n, 0, &why), 0);
    n.f_supported[0] = 1u << XENFEAT_dom0;
    assert_int_equal(elf_xen_check(&n, 1, &why), 0);

    strcpy(n.loader, "netbsd");
    assert_int_equal(elf_xen_check(&n, 0, &why), -XL_EINVAL);
    strcpy(n.guest_os, "linux");
    assert_int_equal(elf_xen_check(&n, 0, &why), 0);

    strcpy(n.xen_version, "xen-2.0");
    assert_int_equal(elf_xen_check(&n, 0, &why), -XL_EINVAL);
    strcpy(n.xen_version, "xen-3.0");

    n.has_paddr_offset = 1;
    assert_int_equal(elf_xen_check(&n, 0, &why), -XL_EINVAL);
    n.has_virt_base = 1;
    assert_int_equal(elf_xen_check(&n, 0, &why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_image),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_misaligned_buffer),
        cmocka_unit_test(test_phdr_table_out_of_bounds),
        cmocka_unit_test(test_shdr_table_out_of_bounds),
        cmocka_unit_test(test_bad_ident),
        cmocka_unit_test(test_bad_load_segment),
        cmocka_unit_test(test_load_bounds),
        cmocka_unit_test(test_foreach_note),
        cmocka_unit_test(test_note_desc_past_end),
        cmocka_unit_test(test_xen_numeric_notes),
        cmocka_unit_test(test_xen_numeric_bad_size),
        cmocka_unit_test(test_xen_string_notes),
        cmocka_unit_test(test_no_xen_notes),
        cmocka_unit_test(test_section_notes_fallback),
        cmocka_unit_test(test_legacy_xen_guest),
        cmocka_unit_test(test_legacy_order_and_errors),
        cmocka_unit_test(test_features_parse),
        cmocka_unit_test(test_features_notes),
        cmocka_unit_test(test_legacy_paddr_default),
        cmocka_unit_test(test_xen_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
