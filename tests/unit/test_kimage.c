/*
 * test_kimage.c - host unit tests for kernel-image probing and the
 * single-call decompressors (hv/shared/kimage.c, hv/shared/decompress/):
 * round trips of samples compressed by Debian's gzip/xz/lz4/zstd
 * (made at test time by kimage_samples.sh), bare and wrapped in a
 * synthetic bzImage; every truncation and many bit flips of small streams
 * (each input and output in an exactly sized heap buffer, so ASan sees
 * any overrun); stated sizes too small or too large; malformed bzImage
 * headers; and a real Debian kernel when one is at hand (skipped with a
 * message otherwise), timed for information.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xenolith/kimage.h>

#ifndef KIMAGE_SAMPLES
#define KIMAGE_SAMPLES "build/unit/kimage-samples"
#endif
#ifndef KIMAGE_FIXTURES
#define KIMAGE_FIXTURES "build/fixtures"
#endif

static uint64_t scratch_store[KIMAGE_SCRATCH_SIZE / 8];
static void *const scratch = scratch_store;
static unsigned long checks; /* decompressions run, for the summary */

/* A whole file in an exactly sized heap buffer; NULL if absent. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n ? (size_t)n : 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static uint8_t *sample(const char *name, const char *ext, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s%s", KIMAGE_SAMPLES, name, ext);
    return slurp(path, len);
}

/* The sample names (manifest), or skip when the samples are missing. */
static char names[32][64];
static int nnames;

static int load_manifest(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/manifest", KIMAGE_SAMPLES);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    nnames = 0;
    while (nnames < 32 && fgets(names[nnames], sizeof(names[0]), f)) {
        names[nnames][strcspn(names[nnames], "\n")] = 0;
        nnames++;
    }
    fclose(f);
    return 0;
}

#define NEED_SAMPLES()                                                                        \
    do {                                                                                      \
        if (load_manifest()) {                                                                \
            print_message("no samples at %s (kimage_samples.sh not run): skipped\n",          \
                          KIMAGE_SAMPLES);                                                    \
            skip();                                                                           \
        }                                                                                     \
    } while (0)

/* Decompresses info into an exactly out_len-sized heap buffer. */
static int run(const struct kimage_info *info, size_t out_len, uint8_t **outp, const char **why)
{
    uint8_t *out = malloc(out_len ? out_len : 1);
    assert_non_null(out);
    checks++;
    int rc = kimage_decompress(info, out, out_len, scratch, why);
    if (outp)
        *outp = out;
    else
        free(out);
    return rc;
}

/* A synthetic bzImage: setup_sects (0 means 4) of setup after the boot
 * sector, the payload payload_off bytes into the protected-mode part,
 * and, unless gzip, Linux's appended le32 size. */
static uint8_t *make_bzimage(const uint8_t *pl, size_t pl_len, int append, uint32_t size,
                             unsigned sects, uint32_t payload_off, size_t *len)
{
    size_t setup = ((sects ? sects : 4) + 1) * 512;
    size_t plen = pl_len + (append ? 4 : 0);
    *len = setup + payload_off + plen + 100; /* some trailing bytes, as real ones have */
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    b[0x1f1] = (uint8_t)sects;
    b[0x1fe] = 0x55;
    b[0x1ff] = 0xaa;
    memcpy(b + 0x202, "HdrS", 4);
    b[0x206] = 0x0f;
    b[0x207] = 0x02;
    memcpy(b + 0x248, &payload_off, 4);
    uint32_t pl32 = (uint32_t)plen;
    memcpy(b + 0x24c, &pl32, 4);
    memcpy(b + setup + payload_off, pl, pl_len);
    if (append)
        memcpy(b + setup + payload_off + pl_len, &size, 4);
    return b;
}

struct fmt {
    const char *ext;
    enum kimage_comp comp;
    int checked;   /* a corrupt stream cannot decode to the wrong bytes */
    int bare_size; /* the bare form states its size */
};

static const struct fmt fmts[] = {
    {".gz", KCOMP_GZIP, 1, 1},      {".xz", KCOMP_XZ, 1, 1},       {".crc64.xz", KCOMP_XZ, 1, 1},
    {".none.xz", KCOMP_XZ, 0, 1},   {".mb.xz", KCOMP_XZ, 1, 1},    {".lz4", KCOMP_LZ4, 0, 0},
    {".zst", KCOMP_ZSTD, 1, 1},     {".nock.zst", KCOMP_ZSTD, 0, 1}, {".pipe.zst", KCOMP_ZSTD, 1, 0},
    {".fast.zst", KCOMP_ZSTD, 1, 1},
};

/* One sample in one format: bare (when it states a size) and in a
 * bzImage, each decoded and compared with the original. */
static void roundtrip(const char *name, const struct fmt *f)
{
    size_t raw_len, c_len, img_len;
    uint8_t *raw = sample(name, ".raw", &raw_len);
    uint8_t *c = sample(name, f->ext, &c_len);
    assert_non_null(raw);
    assert_non_null(c);
    struct kimage_info info;
    const char *why = NULL;
    uint8_t *out;

    int rc = kimage_probe(c, c_len, &info, &why);
    if (f->bare_size) {
        if (rc)
            fail_msg("%s%s: probe: %s", name, f->ext, why);
        assert_int_equal(info.comp, f->comp);
        assert_false(info.is_bzimage);
        assert_int_equal(info.out_len, raw_len);
        rc = run(&info, raw_len, &out, &why);
        if (rc)
            fail_msg("%s%s: %s", name, f->ext, why);
        assert_memory_equal(out, raw, raw_len);
        free(out);
    } else {
        assert_int_equal(rc, -XEN_EINVAL);
        if (!strstr(why, "no size"))
            fail_msg("%s%s: probe: %s", name, f->ext, why);
    }

    int append = f->comp != KCOMP_GZIP;
    uint8_t *img = make_bzimage(c, c_len, append, (uint32_t)raw_len, 0, 0x1234, &img_len);
    rc = kimage_probe(img, img_len, &info, &why);
    if (rc)
        fail_msg("%s%s in bzImage: probe: %s", name, f->ext, why);
    assert_true(info.is_bzimage);
    assert_int_equal(info.comp, f->comp);
    assert_int_equal(info.out_len, raw_len);
    assert_int_equal(info.payload_len, c_len);
    rc = run(&info, raw_len, &out, &why);
    if (rc)
        fail_msg("%s%s in bzImage: %s", name, f->ext, why);
    assert_memory_equal(out, raw, raw_len);
    free(out);
    free(img);
    free(raw);
    free(c);
}

static void roundtrips_of(const char *ext)
{
    NEED_SAMPLES();
    const struct fmt *f = NULL;
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
        if (!strcmp(fmts[i].ext, ext))
            f = &fmts[i];
    assert_non_null(f);
    size_t n;
    uint8_t *probe = sample(names[0], ext, &n);
    if (!probe) {
        print_message("no %s samples (tool missing when they were made): skipped\n", ext);
        skip();
    }
    free(probe);
    for (int i = 0; i < nnames; i++)
        roundtrip(names[i], f);
    print_message("%s: %d samples round-tripped bare and in a bzImage\n", ext, nnames);
}

static void test_gzip_roundtrips(void **state) { roundtrips_of(".gz"); }
static void test_xz_bcj_crc32_roundtrips(void **state) { roundtrips_of(".xz"); }
static void test_xz_crc64_roundtrips(void **state) { roundtrips_of(".crc64.xz"); }
static void test_xz_nocheck_roundtrips(void **state) { roundtrips_of(".none.xz"); }
static void test_xz_multiblock_roundtrips(void **state) { roundtrips_of(".mb.xz"); }
static void test_lz4_roundtrips(void **state) { roundtrips_of(".lz4"); }
static void test_zstd_roundtrips(void **state)
{
    roundtrips_of(".zst");
    roundtrips_of(".nock.zst");
    roundtrips_of(".pipe.zst");
    roundtrips_of(".fast.zst");
}

/* The info a good stream of this format gets (through a bzImage, which
 * states a size for every format), pointing into the caller's copy. */
static struct kimage_info info_for(const struct fmt *f, const uint8_t *c, size_t c_len,
                                   size_t out_len)
{
    struct kimage_info info = {
        .payload = c, .payload_len = c_len, .comp = f->comp, .is_bzimage = 1, .out_len = out_len};
    return info;
}

/* Every truncation, many bit flips and wrong stated sizes of a small
 * sample's streams: never an overrun; a failure, or (where the format
 * has no check) exactly out_len bytes. */
static void corrupt(const char *name, const struct fmt *f, size_t flip_stride)
{
    size_t raw_len, c_len;
    uint8_t *raw = sample(name, ".raw", &raw_len);
    uint8_t *c = sample(name, f->ext, &c_len);
    assert_non_null(raw);
    assert_non_null(c);
    const char *why;
    uint8_t *out;
    unsigned long fails = 0, oks = 0;

    /* Truncations: the decoder with the true size, and the bare probe. */
    for (size_t n = 0; n < c_len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, c, n);
        struct kimage_info info = info_for(f, t, n, raw_len);
        int rc = run(&info, raw_len, NULL, &why);
        if (rc == 0)
            fail_msg("%s%s cut to %zu bytes decoded", name, f->ext, n);
        assert_int_equal(rc, -XEN_EINVAL);
        assert_non_null(why);
        assert_true(why[0]);
        if (kimage_probe(t, n, &info, &why) == 0 && info.out_len <= 4 * raw_len + 64) {
            rc = run(&info, info.out_len, NULL, &why);
            assert_int_not_equal(rc, 0);
        }
        free(t);
        if (n > 256 && n + 256 < c_len)
            n += n / 64; /* every cut near the ends, fewer in the middle */
    }

    /* Bit flips. */
    for (size_t pos = 0; pos < c_len; pos += (pos < 64 || pos + 64 > c_len) ? 1 : flip_stride) {
        for (unsigned bit = 0; bit < 8; bit += (pos < 64 || pos + 64 > c_len) ? 1 : 3) {
            uint8_t *t = malloc(c_len);
            memcpy(t, c, c_len);
            t[pos] ^= (uint8_t)(1u << bit);
            struct kimage_info info = info_for(f, t, c_len, raw_len);
            int rc = run(&info, raw_len, &out, &why);
            if (rc == 0) {
                oks++;
                if (f->checked && memcmp(out, raw, raw_len))
                    fail_msg("%s%s: flip at %zu bit %u decoded to wrong bytes", name, f->ext, pos,
                             bit);
            } else {
                fails++;
                assert_int_equal(rc, -XEN_EINVAL);
            }
            free(out);
            free(t);
        }
    }

    /* Stated sizes too small (must fail, not overrun) and too large. */
    size_t wrong[] = {0, 1, raw_len / 2, raw_len - 1, raw_len + 1, raw_len + 4096};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        if (wrong[i] > raw_len + 4096 || wrong[i] == raw_len)
            continue;
        struct kimage_info info = info_for(f, c, c_len, wrong[i]);
        int rc = run(&info, wrong[i], NULL, &why);
        if (rc == 0)
            fail_msg("%s%s: decoded with stated size %zu (real %zu)", name, f->ext, wrong[i],
                     raw_len);
        if (wrong[i] && wrong[i] < raw_len && f->comp != KCOMP_GZIP)
            assert_non_null(strstr(why, "longer"));
    }
    /* The gzip ISIZE trailer wrong (its CRC still right): refused. */
    if (f->comp == KCOMP_GZIP) {
        uint8_t *t = malloc(c_len);
        memcpy(t, c, c_len);
        t[c_len - 4] ^= 1;
        struct kimage_info info = info_for(f, t, c_len, raw_len);
        assert_int_equal(run(&info, raw_len, NULL, &why), -XEN_EINVAL);
        free(t);
    }
    print_message("%s%s: %lu flips refused, %lu decoded%s\n", name, f->ext, fails, oks,
                  f->checked ? " (to the right bytes)" : " (no integrity check)");
    free(raw);
    free(c);
}

static void corrupt_all(const char *ext)
{
    NEED_SAMPLES();
    const struct fmt *f = NULL;
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
        if (!strcmp(fmts[i].ext, ext))
            f = &fmts[i];
    assert_non_null(f);
    size_t n;
    uint8_t *probe = sample("small", ext, &n);
    if (!probe) {
        print_message("no %s samples (tool missing when they were made): skipped\n", ext);
        skip();
    }
    free(probe);
    corrupt("small", f, 1);
    corrupt("one", f, 1);
    corrupt("text64k", f, 37);
    corrupt("mixed100k", f, 401);
    corrupt("elf128k", f, 211);
}

static void test_gzip_corrupt(void **state) { corrupt_all(".gz"); }
static void test_xz_corrupt(void **state) { corrupt_all(".xz"); }
static void test_xz_crc64_corrupt(void **state) { corrupt_all(".crc64.xz"); }
static void test_xz_nocheck_corrupt(void **state) { corrupt_all(".none.xz"); }
static void test_xz_multiblock_corrupt(void **state) { corrupt_all(".mb.xz"); }
static void test_lz4_corrupt(void **state) { corrupt_all(".lz4"); }
static void test_zstd_corrupt(void **state)
{
    corrupt_all(".zst");
    corrupt_all(".nock.zst");
}

/* ---- bzImage headers and plain images --------------------------------- */

static void expect_probe_fail(const uint8_t *img, size_t len, const char *needle)
{
    struct kimage_info info;
    const char *why = NULL;
    uint8_t *t = malloc(len ? len : 1);
    memcpy(t, img, len);
    int rc = kimage_probe(t, len, &info, &why);
    free(t);
    assert_int_equal(rc, -XEN_EINVAL);
    if (!strstr(why, needle))
        fail_msg("why \"%s\" lacks \"%s\"", why, needle);
}

static void test_bzimage_headers(void **state)
{
    static const uint8_t xz_magic[] = {0xfd, '7', 'z', 'X', 'Z', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    size_t len;
    struct kimage_info info;
    const char *why;

    /* A good header, setup_sects 0 meaning 4, payload after a gap. */
    uint8_t *img = make_bzimage(xz_magic, sizeof(xz_magic), 1, 77, 0, 64, &len);
    assert_int_equal(kimage_probe(img, len, &info, &why), 0);
    assert_int_equal(info.comp, KCOMP_XZ);
    assert_ptr_equal(info.payload, img + 5 * 512 + 64);
    assert_int_equal(info.payload_len, sizeof(xz_magic));
    assert_int_equal(info.out_len, 77);
    assert_string_equal(kimage_comp_name(info.comp), "xz");

    /* Boot protocol 2.07: no payload_offset. */
    img[0x206] = 0x07;
    expect_probe_fail(img, len, "2.08");
    img[0x206] = 0x0f;

    /* payload_offset and payload_length past the end. */
    uint32_t v = (uint32_t)len;
    memcpy(img + 0x248, &v, 4);
    expect_probe_fail(img, len, "payload past end of file");
    v = 64;
    memcpy(img + 0x248, &v, 4);
    v = (uint32_t)len;
    memcpy(img + 0x24c, &v, 4);
    expect_probe_fail(img, len, "payload past end of file");
    v = 0xffffffffu;
    memcpy(img + 0x248, &v, 4);
    memcpy(img + 0x24c, &v, 4);
    expect_probe_fail(img, len, "payload past end of file");
    v = 64;
    memcpy(img + 0x248, &v, 4);
    v = sizeof(xz_magic) + 4;
    memcpy(img + 0x24c, &v, 4);

    /* setup_sects past the end; a header cut short. */
    img[0x1f1] = 200;
    expect_probe_fail(img, len, "setup past end of file");
    img[0x1f1] = 0;
    expect_probe_fail(img, 0x240, "truncated");
    /* Every truncation is refused or still finds the payload inside. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, img, n);
        if (kimage_probe(t, n, &info, &why) == 0)
            assert_true(info.payload + info.payload_len <= t + n);
        free(t);
    }

    /* Compressors Linux has that we lack, and garbage. */
    uint8_t *p = img + 5 * 512 + 64;
    memcpy(p, "BZh91AY", 7);
    expect_probe_fail(img, len, "bzip2");
    memcpy(p, "\x5d\x00\x00\x80\x00", 5);
    expect_probe_fail(img, len, "lzma");
    memcpy(p, "\x89LZO\x00", 5);
    expect_probe_fail(img, len, "lzo");
    memcpy(p, "\x12\x34\x56\x78", 4);
    expect_probe_fail(img, len, "unknown payload compression");
    /* Stated size zero. */
    memcpy(p, xz_magic, sizeof(xz_magic));
    memset(p + sizeof(xz_magic), 0, 4);
    expect_probe_fail(img, len, "zero");
    free(img);

    /* An uncompressed ELF payload in a bzImage. */
    static const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 1, 2, 3};
    img = make_bzimage(elf, sizeof(elf), 0, 0, 3, 0, &len);
    assert_int_equal(kimage_probe(img, len, &info, &why), 0);
    assert_int_equal(info.comp, KCOMP_NONE);
    assert_int_equal(info.out_len, sizeof(elf));
    uint8_t *out;
    assert_int_equal(run(&info, sizeof(elf), &out, &why), 0);
    assert_memory_equal(out, elf, sizeof(elf));
    free(out);
    free(img);
}

static void test_plain_and_garbage(void **state)
{
    static const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 9, 9};
    struct kimage_info info;
    const char *why;
    uint8_t *out;

    assert_int_equal(kimage_probe(elf, sizeof(elf), &info, &why), 0);
    assert_int_equal(info.comp, KCOMP_NONE);
    assert_false(info.is_bzimage);
    assert_int_equal(info.out_len, sizeof(elf));
    assert_int_equal(run(&info, sizeof(elf), &out, &why), 0);
    assert_memory_equal(out, elf, sizeof(elf));
    free(out);
    /* Too small an output buffer. */
    assert_int_equal(kimage_decompress(&info, scratch_store, sizeof(elf) - 1, scratch, &why),
                     -XEN_ENOSPC);

    expect_probe_fail((const uint8_t *)"\x7f" "EL", 3, "not an ELF");
    expect_probe_fail((const uint8_t *)"hello world, not a kernel", 25, "not an ELF");
    expect_probe_fail((const uint8_t *)"", 0, "not an ELF");
    expect_probe_fail((const uint8_t *)"\x1f\x8b\x08", 3, "gzip");
    expect_probe_fail((const uint8_t *)"\xfd" "7zXZ", 6, "xz");
    expect_probe_fail((const uint8_t *)"\x02\x21\x4c\x18\x00\x00", 6, "lz4");
    assert_string_equal(kimage_comp_name(KCOMP_GZIP), "gzip");
    assert_string_equal(kimage_comp_name(KCOMP_LZ4), "lz4");
    assert_string_equal(kimage_comp_name(KCOMP_ZSTD), "zstd");
    assert_string_equal(kimage_comp_name(KCOMP_NONE), "none");
}

/* ---- the real Debian kernel ---------------------------------------------- */

static const char *first_file(const char *env, const char *fallback)
{
    const char *p = getenv(env);
    if (p && *p)
        return p;
    FILE *f = fopen(fallback, "rb");
    if (f) {
        fclose(f);
        return fallback;
    }
    return NULL;
}

static void test_real_kernel(void **state)
{
    const char *kpath = first_file("KIMAGE_TEST_KERNEL", KIMAGE_FIXTURES "/vmlinuz");
    if (!kpath) {
        print_message("no real kernel (set KIMAGE_TEST_KERNEL, or put one at %s/vmlinuz): "
                      "skipped\n",
                      KIMAGE_FIXTURES);
        skip();
    }
    size_t len, ref_len = 0;
    uint8_t *img = slurp(kpath, &len);
    if (!img)
        fail_msg("cannot read %s", kpath);
    struct kimage_info info;
    const char *why;
    if (kimage_probe(img, len, &info, &why))
        fail_msg("%s: %s", kpath, why);
    print_message("%s: %s%s, %zu -> %zu bytes\n", kpath, info.is_bzimage ? "bzImage, " : "",
                  kimage_comp_name(info.comp), info.payload_len, info.out_len);

    uint8_t *out = malloc(info.out_len);
    assert_non_null(out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = kimage_decompress(&info, out, info.out_len, scratch, &why);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc)
        fail_msg("%s: %s", kpath, why);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("decompressed in %.3f s (%.1f MB/s out; this build has ASan/UBSan at -O1)\n", s,
                  (double)info.out_len / s / 1e6);
    assert_memory_equal(out, "\x7f" "ELF", 4);

    const char *rpath = first_file("KIMAGE_TEST_VMLINUX", KIMAGE_FIXTURES "/vmlinux");
    uint8_t *ref = rpath ? slurp(rpath, &ref_len) : NULL;
    if (ref) {
        assert_int_equal(ref_len, info.out_len);
        assert_memory_equal(out, ref, ref_len);
        print_message("identical to %s\n", rpath);
        free(ref);
    } else {
        print_message("no reference vmlinux (KIMAGE_TEST_VMLINUX): checked by the stream's own "
                      "checks only\n");
    }

    /* Too small an output buffer, and a payload stating one byte less. */
    assert_int_equal(kimage_decompress(&info, out, info.out_len - 1, scratch, &why), -XEN_ENOSPC);
    info.out_len--;
    assert_int_equal(kimage_decompress(&info, out, info.out_len, scratch, &why), -XEN_EINVAL);
    free(out);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_garbage),
        cmocka_unit_test(test_bzimage_headers),
        cmocka_unit_test(test_gzip_roundtrips),
        cmocka_unit_test(test_xz_bcj_crc32_roundtrips),
        cmocka_unit_test(test_xz_crc64_roundtrips),
        cmocka_unit_test(test_xz_nocheck_roundtrips),
        cmocka_unit_test(test_xz_multiblock_roundtrips),
        cmocka_unit_test(test_lz4_roundtrips),
        cmocka_unit_test(test_zstd_roundtrips),
        cmocka_unit_test(test_gzip_corrupt),
        cmocka_unit_test(test_xz_corrupt),
        cmocka_unit_test(test_xz_crc64_corrupt),
        cmocka_unit_test(test_xz_nocheck_corrupt),
        cmocka_unit_test(test_xz_multiblock_corrupt),
        cmocka_unit_test(test_lz4_corrupt),
        cmocka_unit_test(test_zstd_corrupt),
        cmocka_unit_test(test_real_kernel),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("kimage: %lu decompressions run\n", checks);
    return rc;
}
