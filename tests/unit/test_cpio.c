/*
 * test_cpio.c - host unit tests for dom0's newc cpio reader
 * (toolstack/dom0svc/cpio.c): archives built here byte by byte, lookups
 * with ./ and / prefixes, directories skipped, the trailer ends the list,
 * and every malformed header (bad magic, bad hex, sizes running past the
 * end, a name without its NUL) plus every truncation of a good archive
 * rejected without reading outside it (each input in an exactly sized
 * heap buffer, so ASan sees an overread).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include "../../toolstack/dom0svc/cpio.h"

static char arc[8192];
static size_t arc_len;

static void pad(void)
{
    while (arc_len & 3)
        arc[arc_len++] = 0;
}

static void add(const char *name, unsigned long mode, const char *data, size_t len)
{
    arc_len += (size_t)sprintf(arc + arc_len, "070701%08lx%08lx%08lx%08lx%08lx%08lx%08lx%08lx%08lx%08lx%08lx%08lx%08lx",
                               1ul, mode, 0ul, 0ul, 1ul, 0ul, (unsigned long)len, 0ul, 0ul, 0ul,
                               0ul, (unsigned long)strlen(name) + 1, 0ul);
    memcpy(arc + arc_len, name, strlen(name) + 1);
    arc_len += strlen(name) + 1;
    pad();
    memcpy(arc + arc_len, data, len);
    arc_len += len;
    pad();
}

static void build(void)
{
    arc_len = 0;
    add(".", 040755, "", 0);
    add("guest.cfg", 0100644, "name = \"g\"\n", 11);
    add("boot", 040755, "", 0);
    add("boot/k.elf", 0100644, "\x7f" "ELFxyz", 7);
    add("empty", 0100644, "", 0);
    add("TRAILER!!!", 0, "", 0);
}

/* A copy in an exactly sized heap buffer. */
static char *dup_n(const char *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

static void test_find(void **state)
{
    (void)state;
    build();
    char *a = dup_n(arc, arc_len);
    const void *d;
    size_t n;
    assert_int_equal(cpio_find(a, arc_len, "guest.cfg", &d, &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(d, "name = \"g\"\n", 11);
    assert_int_equal(cpio_find(a, arc_len, "/boot/k.elf", &d, &n), 0);
    assert_int_equal(n, 7);
    assert_int_equal(cpio_find(a, arc_len, "./boot/k.elf", &d, &n), 0);
    assert_int_equal(cpio_find(a, arc_len, "empty", &d, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cpio_find(a, arc_len, "boot", &d, &n), -XEN_ENOENT); /* a directory */
    assert_int_equal(cpio_find(a, arc_len, "nope", &d, &n), -XEN_ENOENT);
    assert_int_equal(cpio_find(a, arc_len, "guest.cf", &d, &n), -XEN_ENOENT);
    free(a);
}

static void test_iterate(void **state)
{
    (void)state;
    build();
    struct cpio_entry e;
    const char *want[] = { ".", "guest.cfg", "boot", "boot/k.elf", "empty" };
    for (unsigned int i = 0; i < 5; i++) {
        assert_int_equal(cpio_entry_at(arc, arc_len, i, &e), 1);
        assert_string_equal(e.name, want[i]);
    }
    assert_int_equal(cpio_entry_at(arc, arc_len, 5, &e), 0);
    assert_int_equal(cpio_entry_at(arc, arc_len, 99, &e), 0);
}

static void test_malformed(void **state)
{
    (void)state;
    const void *d;
    size_t n;
    struct cpio_entry e;
    assert_int_equal(cpio_find(arc, 0, "x", &d, &n), -XEN_EINVAL);
    build();
    arc[0] = '1';
    assert_int_equal(cpio_find(arc, arc_len, "guest.cfg", &d, &n), -XEN_EINVAL);
    build();
    arc[20] = 'g'; /* a header field that is not hex */
    assert_int_equal(cpio_entry_at(arc, arc_len, 0, &e), -XEN_EINVAL);
    /* file size of the second entry past the end */
    build();
    size_t second = 112 + 0; /* "." entry: 110 + 2 name bytes, padded to 112 */
    memcpy(arc + second + 6 + 6 * 8, "7fffffff", 8);
    assert_int_equal(cpio_find(arc, arc_len, "guest.cfg", &d, &n), -XEN_EINVAL);
    /* name size past the end / zero / name without NUL */
    build();
    memcpy(arc + 6 + 11 * 8, "ffffffff", 8);
    assert_int_equal(cpio_entry_at(arc, arc_len, 0, &e), -XEN_EINVAL);
    memcpy(arc + 6 + 11 * 8, "00000000", 8);
    assert_int_equal(cpio_entry_at(arc, arc_len, 0, &e), -XEN_EINVAL);
    memcpy(arc + 6 + 11 * 8, "00000001", 8); /* name "." without its NUL */
    assert_int_equal(cpio_entry_at(arc, arc_len, 0, &e), -XEN_EINVAL);
    /* no trailer: running off the end is an error, not a hit */
    build();
    size_t full = arc_len;
    for (size_t cut = 0; cut < full; cut++) {
        char *a = dup_n(arc, cut);
        int rc = cpio_find(a, cut, "nope", &d, &n);
        assert_int_equal(rc, -XEN_EINVAL);
        free(a);
    }
}

static void test_fuzz(void **state)
{
    (void)state;
    srand(4);
    for (int round = 0; round < 20000; round++) {
        build();
        int flips = 1 + rand() % 8;
        for (int f = 0; f < flips; f++)
            arc[(size_t)rand() % arc_len] = (char)(rand() % 3 == 0 ? '0' + rand() % 10 : rand());
        char *a = dup_n(arc, arc_len);
        const void *d;
        size_t n;
        int rc = cpio_find(a, arc_len, "boot/k.elf", &d, &n);
        if (rc == 0)
            assert_true((const char *)d >= a && (const char *)d + n <= a + arc_len);
        else
            assert_true(rc == -XEN_EINVAL || rc == -XEN_ENOENT);
        free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_iterate),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
