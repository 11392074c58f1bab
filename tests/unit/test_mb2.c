/*
 * test_mb2.c - host unit tests for the multiboot2 MBI -> struct
 * xl_bootinfo converter (hv/arch/x86/mb2.c; cmocka, ASan/UBSan): a
 * QEMU-like MBI (memory map with the hv image and modules carved out as
 * XL_MEM_HV / XL_MEM_BOOT, the command line, the ACPI 2.0 RSDP copy);
 * unsorted, overlapping and unaligned firmware ranges; module kinds,
 * names, command lines and their order; every refusal (malformed tags,
 * sizes past total_size, size-0 tags, too many modules or ranges,
 * modules that are unaligned, overlap the hv or lie outside RAM), each
 * with its message. Every MBI is parsed from an exactly-sized heap
 * buffer, so ASan sees any read past its end; last, random corruptions.
 * Links: hv/arch/x86/mb2.c, hv/shared/format.c.
 * Must never: depend on the host's memory layout (all addresses are data).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/errno.h>
#include <xenolith/mb2.h>

/* ---- an MBI builder ---- */
struct mbi {
    uint8_t buf[64 * 1024];
    uint32_t len;
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void mbi_init(struct mbi *m)
{
    memset(m, 0, sizeof(*m));
    m->len = 8;
}

/* A tag of type with plen payload bytes (copied from payload if given);
 * returns the payload's address. */
static uint8_t *mbi_tag(struct mbi *m, uint32_t type, const void *payload, uint32_t plen)
{
    m->len = (m->len + 7) & ~7u;
    uint8_t *t = m->buf + m->len;
    put32(t, type);
    put32(t + 4, 8 + plen);
    if (payload)
        memcpy(t + 8, payload, plen);
    m->len += 8 + plen;
    return t + 8;
}

static void mbi_cmdline(struct mbi *m, const char *s)
{
    mbi_tag(m, 1, s, (uint32_t)strlen(s) + 1);
}

static void mbi_module(struct mbi *m, uint32_t start, uint32_t end, const char *s)
{
    uint8_t *p = mbi_tag(m, 3, NULL, 8 + (uint32_t)strlen(s) + 1);
    put32(p, start);
    put32(p + 4, end);
    memcpy(p + 8, s, strlen(s) + 1);
}

struct e820 { uint64_t base, len; uint32_t type; };

static void mbi_mmap(struct mbi *m, const struct e820 *e, unsigned int n)
{
    uint8_t *p = mbi_tag(m, 6, NULL, 8 + 24 * n);
    put32(p, 24);
    put32(p + 4, 0);
    for (unsigned int i = 0; i < n; i++) {
        put64(p + 8 + 24 * i, e[i].base);
        put64(p + 8 + 24 * i + 8, e[i].len);
        put32(p + 8 + 24 * i + 16, e[i].type);
        put32(p + 8 + 24 * i + 20, 0);
    }
}

/* The end tag, total_size, and an exactly-sized heap copy. */
static uint8_t *mbi_done(struct mbi *m, int end_tag)
{
    if (end_tag)
        mbi_tag(m, 0, NULL, 0);
    put32(m->buf, m->len);
    uint8_t *p = malloc(m->len);
    assert_non_null(p);
    memcpy(p, m->buf, m->len);
    return p;
}

/* ---- the converter's environment ---- */
#define HV_START 0x4000000ULL
#define HV_END   0x428d000ULL
#define RSDP_PHYS 0xffff83000426a560ULL
static uint8_t rsdp_buf[MB2_RSDP_MAX];
static struct xl_bootinfo bi;
static char err[200];

static int convert_n(const uint8_t *mbi, size_t avail)
{
    const struct mb2_env env = { .hv_start = HV_START, .hv_end = HV_END, .loader_tsc = 12345,
                                 .rsdp_buf = rsdp_buf, .rsdp_buf_phys = RSDP_PHYS };
    memset(err, 'x', sizeof(err));
    int rc = mb2_to_bootinfo(mbi, avail, &env, &bi, err, sizeof(err));
    assert_non_null(memchr(err, '\0', sizeof(err)));
    if (rc)
        assert_int_equal(rc, -XL_EINVAL);
    return rc;
}

/* Convert m (finished here) with avail = its size; frees it. */
static int convert(struct mbi *m, int end_tag)
{
    uint8_t *p = mbi_done(m, end_tag);
    int rc = convert_n(p, m->len);
    free(p);
    return rc;
}

static void expect_refused(struct mbi *m, const char *why)
{
    assert_int_equal(convert(m, 1), -XL_EINVAL);
    if (!strstr(err, why))
        fail_msg("refused with \"%s\", want \"%s\" in it", err, why);
}

/* A QEMU/SeaBIOS-like e820 map (512 MiB). */
static const struct e820 qemu_map[] = {
    { 0x0, 0x9fc00, 1 },          { 0x9fc00, 0x400, 2 },       { 0xf0000, 0x10000, 2 },
    { 0x100000, 0x1fedf000, 1 },  { 0x1ffdf000, 0x21000, 2 },  { 0xb0000000, 0x10000000, 2 },
    { 0xfed1c000, 0x4000, 2 },    { 0xfffc0000, 0x40000, 2 },  { 0xfd00000000ULL, 0x300000000ULL, 2 },
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void base_mbi(struct mbi *m)
{
    mbi_init(m);
    mbi_cmdline(m, "console=com1 dom0_mem=64M");
    mbi_mmap(m, qemu_map, N(qemu_map));
}

static void expect_range(unsigned int i, uint64_t base, uint64_t end, uint32_t type)
{
    if (i >= bi.nr_ranges)
        fail_msg("range %u missing (%u ranges)", i, bi.nr_ranges);
    const struct xl_mem_range *r = &bi.ranges[i];
    if (r->base != base || r->base + r->len != end || r->type != type)
        fail_msg("range %u: %#llx-%#llx type %u, want %#llx-%#llx type %u", i,
                 (unsigned long long)r->base, (unsigned long long)(r->base + r->len), r->type,
                 (unsigned long long)base, (unsigned long long)end, type);
}

/* ---- tests ---- */

static void test_qemu_like(void **state)
{
    (void)state;
    struct mbi m;
    base_mbi(&m);
    mbi_module(&m, 0x209000, 0x209000 + 0x12345, "dom0 loglevel=3 beat=1");
    mbi_module(&m, 0x21c000, 0x364000, "ramdisk");
    uint8_t rsdp[36] = "RSD PTR ";
    rsdp[15] = 2;
    mbi_tag(&m, 15, rsdp, sizeof(rsdp));
    mbi_tag(&m, 21, "\x01\x02\x03\x04", 4); /* a tag the hv ignores (load base addr) */
    assert_int_equal(convert(&m, 1), 0);
    assert_true(bi.magic == XL_BOOTINFO_MAGIC);
    assert_int_equal(bi.version, XL_BOOTINFO_VERSION);
    assert_int_equal(bi.size, sizeof(bi));
    assert_string_equal(bi.boot_path, "multiboot2");
    assert_string_equal(bi.hv_cmdline, "console=com1 dom0_mem=64M");
    assert_true(bi.loader_tsc == 12345);
    assert_true(bi.rsdp == RSDP_PHYS);
    assert_memory_equal(rsdp_buf, rsdp, sizeof(rsdp));
    assert_true(bi.fb.base == 0);

    assert_int_equal(bi.nr_modules, 2);
    assert_int_equal(bi.modules[0].kind, XL_MOD_DOM0);
    assert_true(bi.modules[0].start == 0x209000 && bi.modules[0].len == 0x12345);
    assert_string_equal(bi.modules[0].name, "dom0");
    assert_string_equal(bi.modules[0].cmdline, "loglevel=3 beat=1");
    assert_int_equal(bi.modules[1].kind, XL_MOD_RAMDISK);
    assert_string_equal(bi.modules[1].name, "ramdisk");
    assert_string_equal(bi.modules[1].cmdline, "");

    unsigned int i = 0;
    expect_range(i++, 0x0, 0x9f000, XL_MEM_USABLE);              /* 0x9fc00 shrunk to a page */
    expect_range(i++, 0x9f000, 0xa0000, XL_MEM_RESERVED);         /* grown to whole pages */
    expect_range(i++, 0xf0000, 0x100000, XL_MEM_RESERVED);
    expect_range(i++, 0x100000, 0x209000, XL_MEM_USABLE);
    expect_range(i++, 0x209000, 0x364000, XL_MEM_BOOT);           /* both modules, merged */
    expect_range(i++, 0x364000, HV_START, XL_MEM_USABLE);
    expect_range(i++, HV_START, HV_END, XL_MEM_HV);
    expect_range(i++, HV_END, 0x1ffdf000, XL_MEM_USABLE);
    expect_range(i++, 0x1ffdf000, 0x20000000, XL_MEM_RESERVED);
    expect_range(i++, 0xb0000000, 0xc0000000, XL_MEM_RESERVED);
    expect_range(i++, 0xfed1c000, 0xfed20000, XL_MEM_RESERVED);
    expect_range(i++, 0xfffc0000, 0x100000000ULL, XL_MEM_RESERVED);
    expect_range(i++, 0xfd00000000ULL, 0x10000000000ULL, XL_MEM_RESERVED);
    assert_int_equal(bi.nr_ranges, i);
}

/* Sorted, disjoint, merged, whole pages, whatever order and overlaps the
 * firmware gives; the stronger type wins an overlap. */
static void test_map_rules(void **state)
{
    (void)state;
    static const struct e820 map[] = {
        { 0x8000000, 0x8000000, 1 },      /* 128..256 MiB usable, after the next */
        { 0x100000, 0x7f00000, 1 },       /* 1..128 MiB usable: merges with it */
        { 0x6000000, 0x1800, 3 },         /* ACPI inside usable, unaligned end: grown */
        { 0x7000000, 0x1000, 4 },         /* NVS */
        { 0x7000800, 0x1000, 2 },         /* reserved overlapping NVS: reserved wins past it */
        { 0x9000000, 0x1000, 5 },         /* bad RAM: reserved */
        { 0x10000800, 0x1800, 1 },        /* usable, unaligned both ends: 0x10001000-0x10002000 */
        { 0x20000000, 0x800, 1 },         /* usable less than a page after alignment: dropped */
        { 0x30000000, 0, 2 },             /* empty */
        { 0xfffffffffffff000ULL, 0x2000, 2 }, /* wraps: clamped */
        { 0x40000000, 0x1000, 77 },       /* unknown type: reserved */
    };
    struct mbi m;
    mbi_init(&m);
    mbi_mmap(&m, map, N(map));
    mbi_module(&m, 0x200000, 0x201000, "");
    assert_int_equal(convert(&m, 1), 0);
    unsigned int i = 0;
    expect_range(i++, 0x100000, 0x200000, XL_MEM_USABLE);
    expect_range(i++, 0x200000, 0x201000, XL_MEM_BOOT);
    expect_range(i++, 0x201000, HV_START, XL_MEM_USABLE);
    expect_range(i++, HV_START, HV_END, XL_MEM_HV);
    expect_range(i++, HV_END, 0x6000000, XL_MEM_USABLE);
    expect_range(i++, 0x6000000, 0x6002000, XL_MEM_ACPI);
    expect_range(i++, 0x6002000, 0x7000000, XL_MEM_USABLE);
    expect_range(i++, 0x7000000, 0x7002000, XL_MEM_RESERVED);
    expect_range(i++, 0x7002000, 0x9000000, XL_MEM_USABLE);
    expect_range(i++, 0x9000000, 0x9001000, XL_MEM_RESERVED);
    expect_range(i++, 0x9001000, 0x10000000, XL_MEM_USABLE);
    expect_range(i++, 0x10001000, 0x10002000, XL_MEM_USABLE);
    expect_range(i++, 0x40000000, 0x40001000, XL_MEM_RESERVED);
    /* (the wrapping entry ends up empty: the last page of the address
     * space has no end address xl_mem_range could hold) */
    assert_int_equal(bi.nr_ranges, i);
}

/* Kinds, names, command lines, hand-over order (dom0, ramdisk, domUs). */
static void test_modules(void **state)
{
    (void)state;
    struct mbi m;
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "domu name=pinger  ping=3 count=2");
    mbi_module(&m, 0x400000, 0x401000, "domu");
    mbi_module(&m, 0x500000, 0x501000, "ramdisk");
    mbi_module(&m, 0x600000, 0x6000ff, "  dom0   heartbeat=300 ");
    mbi_module(&m, 0x700000, 0x700000, "domu name=empty");
    assert_int_equal(convert(&m, 1), 0);
    assert_int_equal(bi.nr_modules, 5);
    static const struct { uint32_t kind; uint64_t start, len; const char *name, *cmdline; } want[] = {
        { XL_MOD_DOM0, 0x600000, 0xff, "dom0", "heartbeat=300 " },
        { XL_MOD_RAMDISK, 0x500000, 0x1000, "ramdisk", "" },
        { XL_MOD_DOMU, 0x300000, 0x1000, "pinger", "ping=3 count=2" },
        { XL_MOD_DOMU, 0x400000, 0x1000, "domu2", "" },
        { XL_MOD_DOMU, 0x700000, 0, "empty", "" },
    };
    for (unsigned int i = 0; i < N(want); i++) {
        assert_int_equal(bi.modules[i].kind, want[i].kind);
        assert_true(bi.modules[i].start == want[i].start && bi.modules[i].len == want[i].len);
        assert_string_equal(bi.modules[i].name, want[i].name);
        assert_string_equal(bi.modules[i].cmdline, want[i].cmdline);
    }
    /* Without kind words: dom0, then its ramdisk (Xen's order). */
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "a=1 b=2");
    mbi_module(&m, 0x400000, 0x401000, "");
    assert_int_equal(convert(&m, 1), 0);
    assert_int_equal(bi.modules[0].kind, XL_MOD_DOM0);
    assert_string_equal(bi.modules[0].cmdline, "a=1 b=2");
    assert_int_equal(bi.modules[1].kind, XL_MOD_RAMDISK);
    /* No command line tag: empty; no end tag: total_size ends it. */
    mbi_init(&m);
    mbi_mmap(&m, qemu_map, N(qemu_map));
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    assert_int_equal(convert(&m, 0), 0);
    assert_string_equal(bi.hv_cmdline, "");
    assert_true(bi.rsdp == 0);
}

static void test_module_refusals(void **state)
{
    (void)state;
    struct mbi m;
    base_mbi(&m);
    for (unsigned int i = 0; i < XL_MAX_MODULES + 1; i++)
        mbi_module(&m, 0x300000 + 0x1000 * i, 0x301000 + 0x1000 * i, i ? "domu" : "dom0");
    expect_refused(&m, "more than 8 modules");

    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_module(&m, 0x400000, 0x401000, "ramdisk");
    mbi_module(&m, 0x500000, 0x501000, "x=1");
    expect_refused(&m, "module 3: its command line must start with dom0, ramdisk or domu");

    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "domu");
    expect_refused(&m, "0 dom0 modules; want exactly one");
    base_mbi(&m);
    expect_refused(&m, "0 dom0 modules");
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_module(&m, 0x400000, 0x401000, "dom0");
    expect_refused(&m, "2 dom0 modules");
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_module(&m, 0x400000, 0x401000, "ramdisk");
    mbi_module(&m, 0x500000, 0x501000, "ramdisk");
    expect_refused(&m, "2 ramdisk modules; at most one");

    base_mbi(&m);
    mbi_module(&m, 0x300800, 0x301000, "dom0");
    expect_refused(&m, "module 1 at 0x300800 is not page aligned");
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x2ff000, "dom0");
    expect_refused(&m, "module 1 ends at 0x2ff000 before its start");
    base_mbi(&m);
    mbi_module(&m, 0x3fff000, 0x4001000, "dom0");
    expect_refused(&m, "module 1 at 0x3fff000-0x4001000 overlaps the hv image");
    base_mbi(&m);
    mbi_module(&m, 0x1ffdf000, 0x1ffe0000, "dom0");
    expect_refused(&m, "module 1 at page 0x1ffdf000 is not in usable RAM (firmware-reserved there)");
    base_mbi(&m);
    mbi_module(&m, 0x30000000, 0x30001000, "dom0");
    expect_refused(&m, "module 1 at page 0x30000000 is not in usable RAM (no RAM there)");

    char name[XL_NAME_MAX + 16] = "dom0 name=";
    memset(name + 10, 'n', XL_NAME_MAX);
    name[10 + XL_NAME_MAX] = '\0';
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, name);
    expect_refused(&m, "module 1's name is 64 bytes long, at most 63 fit");
    static char cl[XL_CMDLINE_MAX + 8];
    memset(cl, 'c', sizeof(cl) - 1);
    memcpy(cl, "dom0 ", 5);
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, cl);
    expect_refused(&m, "module 1's command line is 514 bytes long, at most 511 fit");

    /* A module tag whose string has no NUL inside the tag. */
    base_mbi(&m);
    uint8_t *p = mbi_tag(&m, 3, NULL, 8 + 8);
    put32(p, 0x300000);
    put32(p + 4, 0x301000);
    memcpy(p + 8, "dom0xxxx", 8);
    expect_refused(&m, "module 1: its command line is not NUL-terminated");
    base_mbi(&m);
    mbi_tag(&m, 3, "\0\0\0\0\0\0\0", 7);
    expect_refused(&m, "module tag of 15 bytes, want at least 17");
}

/* The hv image itself must be in usable RAM. */
static void test_hv_outside_ram(void **state)
{
    (void)state;
    static const struct e820 map[] = { { 0x100000, 0x3f00000, 1 }, { 0x4100000, 0x1000000, 2 } };
    struct mbi m;
    mbi_init(&m);
    mbi_mmap(&m, map, N(map));
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    expect_refused(&m, "the hv image at page 0x4000000 is not in usable RAM (no RAM there)");
}

static void test_rsdp(void **state)
{
    (void)state;
    uint8_t v1[20] = "RSD PTR v1";
    uint8_t v2[36] = "RSD PTR v2";
    struct mbi m;
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_tag(&m, 14, v1, sizeof(v1));
    assert_int_equal(convert(&m, 1), 0);
    assert_true(bi.rsdp == RSDP_PHYS);
    assert_memory_equal(rsdp_buf, v1, sizeof(v1));
    for (size_t i = sizeof(v1); i < sizeof(rsdp_buf); i++)
        assert_int_equal(rsdp_buf[i], 0);
    /* The ACPI 2.0 one wins, before or after the old one. */
    for (int order = 0; order < 2; order++) {
        base_mbi(&m);
        mbi_module(&m, 0x300000, 0x301000, "dom0");
        if (order)
            mbi_tag(&m, 14, v1, sizeof(v1));
        mbi_tag(&m, 15, v2, sizeof(v2));
        if (!order)
            mbi_tag(&m, 14, v1, sizeof(v1));
        assert_int_equal(convert(&m, 1), 0);
        assert_memory_equal(rsdp_buf, v2, sizeof(v2));
    }
    /* A longer tag: no more than the buffer is copied. */
    static uint8_t big[200];
    memset(big, 0xab, sizeof(big));
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_tag(&m, 15, big, sizeof(big));
    assert_int_equal(convert(&m, 1), 0);
    assert_memory_equal(rsdp_buf, big, MB2_RSDP_MAX);
    base_mbi(&m);
    mbi_tag(&m, 14, v1, 19);
    expect_refused(&m, "old ACPI tag of 27 bytes holds no RSDP");
    base_mbi(&m);
    mbi_tag(&m, 15, v2, 35);
    expect_refused(&m, "new ACPI tag of 43 bytes holds no RSDP 2.0");
}

static void test_framebuffer(void **state)
{
    (void)state;
    uint8_t fb[30] = { 0 };
    put64(fb, 0xfd000000);
    put32(fb + 8, 1024 * 4);
    put32(fb + 12, 1024);
    put32(fb + 16, 768);
    fb[20] = 32;    /* bpp */
    fb[21] = 1;     /* direct RGB */
    fb[24] = 16;    /* red at bit 16: BGRx */
    fb[25] = 8;
    struct mbi m;
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_tag(&m, 8, fb, sizeof(fb));
    assert_int_equal(convert(&m, 1), 0);
    assert_true(bi.fb.base == 0xfd000000 && bi.fb.size == 1024 * 4 * 768);
    assert_int_equal(bi.fb.width, 1024);
    assert_int_equal(bi.fb.height, 768);
    assert_int_equal(bi.fb.pitch, 1024);
    assert_int_equal(bi.fb.format, 1);
    fb[21] = 2; /* EGA text: no framebuffer */
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    mbi_tag(&m, 8, fb, sizeof(fb));
    assert_int_equal(convert(&m, 1), 0);
    assert_true(bi.fb.base == 0);
}

static void test_malformed(void **state)
{
    (void)state;
    struct mbi m;
    uint8_t *p;

    /* total_size larger than what may be read. */
    base_mbi(&m);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    p = mbi_done(&m, 1);
    assert_int_equal(convert_n(p, m.len - 1), -XL_EINVAL);
    assert_non_null(strstr(err, "total_size"));
    assert_int_equal(convert_n(p, 4), -XL_EINVAL);
    assert_non_null(strstr(err, "no room for the MBI's header"));
    free(p);

    mbi_init(&m);
    expect_refused(&m, "no memory map tag");
    mbi_init(&m);
    m.len = 8;
    p = mbi_done(&m, 0);
    assert_int_equal(convert_n(p, 8), -XL_EINVAL);
    assert_non_null(strstr(err, "MBI total_size 8 is not in 16.."));
    free(p);

    /* A tag of size 0 (would loop forever), and one of 7. */
    base_mbi(&m);
    p = mbi_tag(&m, 3, NULL, 8);
    put32(p - 4, 0);
    expect_refused(&m, "has size 0 (less than its header)");
    base_mbi(&m);
    p = mbi_tag(&m, 1, NULL, 8);
    put32(p - 4, 7);
    expect_refused(&m, "tag 1 at offset");

    /* A tag running past total_size. */
    base_mbi(&m);
    p = mbi_tag(&m, 1, "abc", 4);
    put32(p - 4, 4096);
    expect_refused(&m, "of size 4096 runs past total_size");

    /* total_size cutting a tag header in two (no end tag). */
    base_mbi(&m);
    m.len = ((m.len + 7) & ~7u) + 4;
    assert_int_equal(convert(&m, 0), -XL_EINVAL);
    assert_non_null(strstr(err, "its header runs past total_size"));

    /* Memory map tags that do not hold what they say. */
    base_mbi(&m);
    p = mbi_tag(&m, 6, NULL, 8);
    put32(p, 16);
    expect_refused(&m, "memory map entries of 16 bytes");
    base_mbi(&m);
    mbi_tag(&m, 6, NULL, 4);
    expect_refused(&m, "memory map tag of 12 bytes, want at least 16");
    mbi_init(&m);
    static struct e820 many[MB2_MAX_MMAP_ENTRIES + 1];
    for (unsigned int i = 0; i < N(many); i++)
        many[i] = (struct e820){ 0x100000ULL * (i + 1), 0x1000, 1 };
    mbi_mmap(&m, many, N(many));
    expect_refused(&m, "memory map of 513 entries; at most 512 are taken");
    /* 300 separate RAM ranges: more than the 256 xl_bootinfo holds. */
    mbi_init(&m);
    for (unsigned int i = 0; i < 300; i++)
        many[i] = (struct e820){ 0x100000000ULL + 0x2000ULL * i, 0x1000, 1 };
    many[300] = (struct e820){ 0x100000, 0x7000000, 1 };
    mbi_mmap(&m, many, 301);
    mbi_module(&m, 0x300000, 0x301000, "dom0");
    expect_refused(&m, "the memory map needs more than 256 ranges");

    /* Command lines. */
    static char cl[XL_CMDLINE_MAX + 1];
    memset(cl, 'c', XL_CMDLINE_MAX);
    base_mbi(&m);
    mbi_cmdline(&m, cl);
    expect_refused(&m, "the hv command line is 512 bytes long, at most 511 fit");
    base_mbi(&m);
    mbi_tag(&m, 1, "abcd", 4);
    expect_refused(&m, "the command line tag is not NUL-terminated");
}

/* Random corruptions of a valid MBI: refused or accepted, never a read
 * past the buffer (ASan), never a hang. */
static void test_fuzz(void **state)
{
    (void)state;
    struct mbi m;
    base_mbi(&m);
    mbi_module(&m, 0x209000, 0x21c000, "dom0 x=1");
    mbi_module(&m, 0x21c000, 0x364000, "ramdisk");
    mbi_module(&m, 0x400000, 0x401000, "domu name=d");
    uint8_t rsdp[36] = "RSD PTR ";
    mbi_tag(&m, 15, rsdp, sizeof(rsdp));
    uint8_t *good = mbi_done(&m, 1);
    uint32_t len = m.len;
    srand(1234);
    unsigned int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint32_t n = len - (uint32_t)(rand() % 2 ? 0 : rand() % len);
        uint8_t *p = malloc(n);
        memcpy(p, good, n);
        for (int k = rand() % 4 + 1; k > 0; k--) {
            uint32_t at = (uint32_t)rand() % n;
            if (rand() % 2 && at + 4 <= n)
                put32(p + at, rand() % 3 ? (uint32_t)rand() % 64 : (uint32_t)rand());
            else
                p[at] = (uint8_t)rand();
        }
        int rc = convert_n(p, n);
        if (!rc) {
            ok++;
            assert_true(bi.nr_ranges <= XL_MAX_MEMRANGES && bi.nr_modules <= XL_MAX_MODULES);
            for (uint32_t i = 1; i < bi.nr_ranges; i++)
                assert_true(bi.ranges[i].base >= bi.ranges[i - 1].base + bi.ranges[i - 1].len);
        } else
            assert_true(err[0] != '\0');
        free(p);
    }
    free(good);
    print_message("fuzz: %u of 20000 corrupted MBIs accepted\n", ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_like),  cmocka_unit_test(test_map_rules),
        cmocka_unit_test(test_modules),    cmocka_unit_test(test_module_refusals),
        cmocka_unit_test(test_hv_outside_ram), cmocka_unit_test(test_rsdp),
        cmocka_unit_test(test_framebuffer), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests_name("mb2", tests, NULL, NULL);
}
