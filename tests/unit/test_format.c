/*
 * test_format.c - host unit tests for the hv formatter (cmocka, ASan/UBSan).
 * Tests: xl_snprintf / xl_vsnprintf of hv/shared/format.c
 * (hv/shared/include/xenolith/lib.h), checked against the host libc's snprintf
 * for every conversion, flag, width, precision and length modifier the
 * header promises, plus truncation (return value, NUL, canary bytes) and
 * NULL %s. Links: hv/shared/format.c only. Mocks: nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/lib.h>

#define CANARY 0xA5

/* xl_vsnprintf without the printf format attribute, for inputs gcc's
 * format checker rejects at compile time (NULL %s, "" and "-0"). */
static int xlf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* Format with both xl_vsnprintf and vsnprintf into generous buffers and
 * require identical output and return values. */
static void check_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void check_fmt(const char *fmt, ...)
{
    char want[256], got[256];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int wn = vsnprintf(want, sizeof(want), fmt, ap);
    memset(got, CANARY, sizeof(got));
    int gn = xl_vsnprintf(got, sizeof(got), fmt, ap2);
    va_end(ap2);
    va_end(ap);
    if (wn != gn || strcmp(want, got) != 0)
        fail_msg("format \"%s\": libc \"%s\" (%d), xl \"%s\" (%d)", fmt, want, wn, got, gn);
}

static void test_integers(void **state)
{
    check_fmt("%d", 0);
    check_fmt("%d", 42);
    check_fmt("%d", -42);
    check_fmt("%i", 123456);
    check_fmt("%i", -7);
    check_fmt("%d", INT32_MAX);
    check_fmt("%d", INT32_MIN);
    check_fmt("%u", 0u);
    check_fmt("%u", 4000000000u);
    check_fmt("%u", UINT32_MAX);
    check_fmt("%x", 0u);
    check_fmt("%x", 0xdeadbeefu);
    check_fmt("%X", 0xdeadbeefu);
    check_fmt("%x", UINT32_MAX);
    check_fmt("a%db%uc%xd", -1, 2u, 255u);
    check_fmt("no conversions at all");
    check_fmt("%%");
    check_fmt("100%% done %d%%", 5);
}

static void test_length_modifiers(void **state)
{
    check_fmt("%ld", (long)INT64_MIN);
    check_fmt("%ld", (long)INT64_MAX);
    check_fmt("%lld", (long long)INT64_MIN);
    check_fmt("%lld", (long long)-1);
    check_fmt("%li", -1234567890123L);
    check_fmt("%lu", (unsigned long)UINT64_MAX);
    check_fmt("%llu", (unsigned long long)UINT64_MAX);
    check_fmt("%lx", (unsigned long)UINT64_MAX);
    check_fmt("%llX", 0x0123456789abcdefULL);
    check_fmt("%lx", 0UL);
    check_fmt("%zu", (size_t)SIZE_MAX);
    check_fmt("%zx", (size_t)0x1234);
    check_fmt("%zd", (ssize_t)-5);
    /* A 64-bit argument after a 32-bit one: va_arg widths must match. */
    check_fmt("%d %lld %u %lx", -3, (long long)INT64_MIN, 7u, 0xffffffff00000000UL);
    /* h/hh with values in range. */
    check_fmt("%hd", (short)-1234);
    check_fmt("%hu", (unsigned short)65535);
    check_fmt("%hx", (unsigned short)0xbeef);
    check_fmt("%hhu", (unsigned char)200);
}

/* C11 7.21.6.1p7: for h/hh the promoted argument is converted to
 * (unsigned) short / char before printing. */
static void test_h_modifier_converts(void **state)
{
    check_fmt("%hx", (short)-1);          /* libc "ffff" */
    check_fmt("%hhx", (signed char)-1);   /* libc "ff" */
    check_fmt("%hd", 70000);              /* libc "4464" */
    check_fmt("%hu", -1);                 /* libc "65535" */
}

static void test_flags_width(void **state)
{
    check_fmt("[%5d]", 42);
    check_fmt("[%-5d]", 42);
    check_fmt("[%05d]", 42);
    check_fmt("[%05d]", -42);
    check_fmt("[%1d]", 12345); /* width smaller than the number */
    check_fmt("[%20lld]", (long long)INT64_MIN);
    check_fmt("[%-22lu]", (unsigned long)UINT64_MAX);
    check_fmt("[%08x]", 0xbeefu);
    check_fmt("[%-8X]", 0xbeefu);
    check_fmt("[%#x]", 0xbeefu);
    check_fmt("[%#X]", 0xbeefu);
    check_fmt("[%#10x]", 0xbeefu);
    check_fmt("[%#-10x]", 0xbeefu);
    check_fmt("[%#010x]", 0xbeefu);
    check_fmt("[%#018lx]", 0xffff830000000000UL);
    check_fmt("[%016lx]", 0x1UL);
    check_fmt("[%*d]", 6, 42);
    check_fmt("[%0*x]", 6, 0xabu);
    check_fmt("[%3u]", 0u);
    check_fmt("[%03d]", 0);

    /* '-' overrides '0' (C11 7.21.6.1p6). */
    char buf[16];
    assert_int_equal(xlf(buf, sizeof(buf), "[%-05d]", -42), 7);
    assert_string_equal(buf, "[-42  ]");
}

static void test_width_negative_star(void **state)
{
    /* C: a negative '*' width is a '-' flag with a positive width. */
    check_fmt("[%*d]", -6, 42);
}

static void test_pointers(void **state)
{
    int x;
    check_fmt("%p", (void *)&x);
    check_fmt("%p", (void *)0x1000);
    check_fmt("%p", (void *)UINTPTR_MAX);
    check_fmt("[%20p]", (void *)0xffff830000001000UL);
    check_fmt("[%-20p]", (void *)0xdeadUL);
}

static void test_strings_chars(void **state)
{
    check_fmt("%s", "hello");
    check_fmt("%s", "");
    check_fmt("[%10s]", "abc");
    check_fmt("[%-10s]", "abc");
    check_fmt("[%2s]", "abcdef");
    check_fmt("[%.3s]", "abcdef");
    check_fmt("[%.0s]", "abcdef");
    check_fmt("[%.10s]", "abc");
    check_fmt("[%8.3s]", "abcdef");
    check_fmt("[%-8.3s]", "abcdef");
    check_fmt("[%.*s]", 2, "abcdef");
    check_fmt("[%.*s]", -1, "abcdef"); /* negative precision: as if omitted */
    check_fmt("%c", 'A');
    check_fmt("%c%c%c", 'x', 'y', 'z');
    check_fmt("%s=%d %c", "v", -1, '!');
}

static void test_char_width(void **state)
{
    check_fmt("[%3c]", 'a');
    check_fmt("[%-3c]", 'a');
}

/* Precision bounds the read: a non-terminated array must be safe (ASan
 * catches an over-read). */
static void test_string_precision_no_overread(void **state)
{
    char buf[8];
    const char raw[4] = { 'w', 'x', 'y', 'z' }; /* no NUL */
    assert_int_equal(xl_snprintf(buf, sizeof(buf), "%.4s", raw), 4);
    assert_string_equal(buf, "wxyz");
    assert_int_equal(xl_snprintf(buf, sizeof(buf), "%.2s|", raw), 3);
    assert_string_equal(buf, "wx|");
}

static void test_null_string(void **state)
{
    char buf[32];
    const char *nul = NULL;
    assert_int_equal(xlf(buf, sizeof(buf), "%s", nul), 6);
    assert_string_equal(buf, "(null)");
    assert_int_equal(xlf(buf, sizeof(buf), "[%8s]", nul), 10);
    assert_string_equal(buf, "[  (null)]");
    assert_int_equal(xlf(buf, sizeof(buf), "[%.3s]", nul), 5);
    assert_string_equal(buf, "[(nu]");
}

static void test_truncation(void **state)
{
    static const char *const fmts[] = { "hello %d world", "%s", "[%-12s]", "%#018lx|%u" };
    for (size_t f = 0; f < ARRAY_SIZE(fmts); f++) {
        char want[128];
        int wn = 0;
        switch (f) {
        case 0: wn = snprintf(want, sizeof(want), fmts[0], -12345); break;
        case 1: wn = snprintf(want, sizeof(want), fmts[1], "abcdefghij"); break;
        case 2: wn = snprintf(want, sizeof(want), fmts[2], "xyz"); break;
        case 3: wn = snprintf(want, sizeof(want), fmts[3], 0xabcdefUL, 99u); break;
        }
        for (size_t size = 0; size <= (size_t)wn + 2; size++) {
            uint8_t buf[160];
            memset(buf, CANARY, sizeof(buf));
            char *out = (char *)buf + 16; /* canaries on both sides */
            int gn = 0;
            switch (f) {
            case 0: gn = xl_snprintf(out, size, fmts[0], -12345); break;
            case 1: gn = xl_snprintf(out, size, fmts[1], "abcdefghij"); break;
            case 2: gn = xl_snprintf(out, size, fmts[2], "xyz"); break;
            case 3: gn = xl_snprintf(out, size, fmts[3], 0xabcdefUL, 99u); break;
            }
            assert_int_equal(gn, wn);
            for (size_t i = 0; i < 16; i++)
                assert_int_equal(buf[i], CANARY);
            for (size_t i = 16 + size; i < sizeof(buf); i++)
                assert_int_equal(buf[i], CANARY);
            if (size > 0) {
                size_t n = size - 1 < (size_t)wn ? size - 1 : (size_t)wn;
                assert_memory_equal(out, want, n);
                assert_int_equal(out[n], '\0');
            }
        }
    }
}

static void test_size_zero_null_buffer(void **state)
{
    assert_int_equal(xl_snprintf(NULL, 0, "%s-%d", "abc", 12345), 9);
    assert_int_equal(xlf(NULL, 0, ""), 0);
    char e = (char)CANARY;
    assert_int_equal(xlf(&e, 1, ""), 0);
    assert_int_equal(e, '\0');
    char c = (char)CANARY;
    assert_int_equal(xl_snprintf(&c, 1, "xyz"), 3);
    assert_int_equal(c, '\0');
}

static void test_trailing_percent(void **state)
{
    /* A lone '%' at the end must not read past the format's NUL. */
    char buf[16];
    memset(buf, CANARY, sizeof(buf));
    const char *fmt = "ab%";
    int n = xl_snprintf(buf, sizeof(buf), fmt, 0);
    assert_int_equal(n, 2);
    assert_string_equal(buf, "ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_length_modifiers),
        cmocka_unit_test(test_h_modifier_converts),
        cmocka_unit_test(test_flags_width),
        cmocka_unit_test(test_width_negative_star),
        cmocka_unit_test(test_pointers),
        cmocka_unit_test(test_strings_chars),
        cmocka_unit_test(test_char_width),
        cmocka_unit_test(test_null_string),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_size_zero_null_buffer),
        cmocka_unit_test(test_trailing_percent),
        /* Last: on failure ASan aborts the whole program. */
        cmocka_unit_test(test_string_precision_no_overread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
