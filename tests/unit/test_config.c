/*
 * test_config.c - host unit tests for boot/config.c (cmocka, ASan/UBSan).
 * Owns: the loader config format as users see it: valid files and the
 * exact text of every error message.
 * Must never: touch the filesystem; configs are string literals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/config.h"
#include <xenolith/errno.h>

#define FN "\\EFI\\xenolith\\xenolith.cfg"

static struct xl_boot_config cfg;
static char err[256];

/* Parse a NUL-terminated config; exact length, no trailing NUL visible. */
static int parse(const char *text)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1); /* ASan catches reads past text[n) */
    int rc;
    memcpy(copy, text, n);
    memset(err, 'X', sizeof(err));
    rc = xl_config_parse(copy, n, FN, &cfg, err, sizeof(err));
    free(copy);
    return rc;
}

/* Assert that text fails with exactly message msg. */
static void expect_error(const char *text, const char *msg)
{
    assert_int_equal(parse(text), -XL_EINVAL);
    assert_string_equal(err, msg);
}

static void test_minimal(void **state)
{
    assert_int_equal(parse("hypervisor = \\EFI\\xenolith\\hv.elf\ndom0 = \\EFI\\xenolith\\dom0.elf\n"), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.hypervisor, "\\EFI\\xenolith\\hv.elf");
    assert_string_equal(cfg.hv_cmdline, "");
    assert_int_equal(cfg.nr_modules, 1);
    assert_int_equal(cfg.modules[0].kind, XL_MOD_DOM0);
    assert_string_equal(cfg.modules[0].path, "\\EFI\\xenolith\\dom0.elf");
    assert_string_equal(cfg.modules[0].cmdline, "");
}

static void test_full(void **state)
{
    const char *text =
        "\xef\xbb\xbf# Xenolith boot configuration\r\n"
        "\r\n"
        "  domu = /EFI/xenolith/u1.elf   console=hvc0  root=/dev/xvda \r\n"
        "hypervisor=/EFI/xenolith/hv.elf\r\n"
        "\thypervisor_cmdline =  loglvl=all  dom0_mem=256M\t\r\n"
        "   # indented comment\n"
        "dom0_cmdline = console=hvc0 earlyprintk=xen\n"
        "dom0 = \\EFI\\xenolith\\dom0.elf\n"
        "domu = \\EFI\\xenolith\\u2.elf\n"
        "ramdisk = initrd.img"; /* no final newline */
    assert_int_equal(parse(text), 0);
    assert_string_equal(cfg.hypervisor, "\\EFI\\xenolith\\hv.elf");
    assert_string_equal(cfg.hv_cmdline, "loglvl=all  dom0_mem=256M");
    assert_int_equal(cfg.nr_modules, 4);
    assert_int_equal(cfg.modules[0].kind, XL_MOD_DOM0);
    assert_string_equal(cfg.modules[0].path, "\\EFI\\xenolith\\dom0.elf");
    assert_string_equal(cfg.modules[0].cmdline, "console=hvc0 earlyprintk=xen");
    assert_int_equal(cfg.modules[1].kind, XL_MOD_RAMDISK);
    assert_string_equal(cfg.modules[1].path, "initrd.img");
    assert_string_equal(cfg.modules[1].cmdline, "");
    assert_int_equal(cfg.modules[2].kind, XL_MOD_DOMU);
    assert_string_equal(cfg.modules[2].path, "\\EFI\\xenolith\\u1.elf");
    assert_string_equal(cfg.modules[2].cmdline, "console=hvc0  root=/dev/xvda");
    assert_int_equal(cfg.modules[3].kind, XL_MOD_DOMU);
    assert_string_equal(cfg.modules[3].path, "\\EFI\\xenolith\\u2.elf");
    assert_string_equal(cfg.modules[3].cmdline, "");
}

static void test_value_with_equals(void **state)
{
    assert_int_equal(parse("hypervisor=a\ndom0=b\ndom0_cmdline=root=/dev/xvda1 a=b\n"), 0);
    assert_string_equal(cfg.modules[0].cmdline, "root=/dev/xvda1 a=b");
}

static void test_max_modules(void **state)
{
    char text[1024] = "hypervisor = h\ndom0 = d\nramdisk = r\n";
    for (int i = 0; i < XL_MAX_MODULES - 2; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "domu = u%d x%d\n", i, i);
    assert_int_equal(parse(text), 0);
    assert_int_equal(cfg.nr_modules, XL_MAX_MODULES);
    assert_int_equal(cfg.modules[1].kind, XL_MOD_RAMDISK);
    assert_string_equal(cfg.modules[XL_MAX_MODULES - 1].path, "u5");
    assert_string_equal(cfg.modules[XL_MAX_MODULES - 1].cmdline, "x5");
}

static void test_too_many_modules(void **state)
{
    char text[1024] = "hypervisor = h\ndom0 = d\n";
    for (int i = 0; i < XL_MAX_MODULES - 1; i++)
        strcat(text, "domu = u\n");
    strcat(text, "ramdisk = r\n"); /* line 10: the 9th module */
    expect_error(text, FN ":10: too many modules (max 8 including dom0)");
    text[strlen(text) - strlen("ramdisk = r\n")] = '\0';
    strcat(text, "domu = u\n");
    expect_error(text, FN ":10: too many modules (max 8 including dom0)");
}

static void test_unknown_key(void **state)
{
    expect_error("hypervisor = h\n# c\nDom0 = d\n", FN ":3: unknown key 'Dom0'");
    expect_error("\n\n\n  initrd   = x\n", FN ":4: unknown key 'initrd'");
}

static void test_missing_equals(void **state)
{
    expect_error("hypervisor = h\r\ndom0 \\EFI\\d\r\n",
                 FN ":2: missing '=' (expected 'key = value')");
}

static void test_missing_key(void **state)
{
    expect_error("  = value\n", FN ":1: missing key before '='");
}

static void test_duplicate_key(void **state)
{
    expect_error("hypervisor = h\ndom0 = a\n\ndom0 = b\n",
                 FN ":4: duplicate key 'dom0' (first set on line 2)");
    expect_error("ramdisk = a\nramdisk = b\n",
                 FN ":2: duplicate key 'ramdisk' (first set on line 1)");
    expect_error("dom0_cmdline = a\nhypervisor_cmdline=x\ndom0_cmdline = b\n",
                 FN ":3: duplicate key 'dom0_cmdline' (first set on line 1)");
}

static void test_empty_value(void **state)
{
    expect_error("hypervisor =   \n", FN ":1: empty value for 'hypervisor'");
    expect_error("hypervisor = h\ndomu=\r\n", FN ":2: empty value for 'domu'");
}

static void test_value_too_long(void **state)
{
    char text[2048], path[XL_NAME_MAX + 1], cmd[XL_CMDLINE_MAX + 1];
    memset(path, 'p', XL_NAME_MAX);
    path[XL_NAME_MAX] = '\0';
    memset(cmd, 'c', XL_CMDLINE_MAX);
    cmd[XL_CMDLINE_MAX] = '\0';

    snprintf(text, sizeof(text), "hypervisor = %s\n", path);
    expect_error(text, FN ":1: path too long for 'hypervisor' (max 63 bytes)");
    snprintf(text, sizeof(text), "hypervisor = %.63s\ndom0 = %.63s\n", path, path);
    assert_int_equal(parse(text), 0); /* exactly at the limit */

    snprintf(text, sizeof(text), "dom0_cmdline = %s\n", cmd);
    expect_error(text, FN ":1: command line too long for 'dom0_cmdline' (max 511 bytes)");
    snprintf(text, sizeof(text), "hypervisor_cmdline = %s\n", cmd);
    expect_error(text, FN ":1: command line too long for 'hypervisor_cmdline' (max 511 bytes)");
    snprintf(text, sizeof(text), "hypervisor=h\ndom0=d\nhypervisor_cmdline = %.511s\n", cmd);
    assert_int_equal(parse(text), 0);
    assert_int_equal(strlen(cfg.hv_cmdline), XL_CMDLINE_MAX - 1);

    snprintf(text, sizeof(text), "domu = %s x\n", path);
    expect_error(text, FN ":1: path too long for 'domu' (max 63 bytes)");
    snprintf(text, sizeof(text), "domu = u %s\n", cmd);
    expect_error(text, FN ":1: command line too long for 'domu' (max 511 bytes)");
    snprintf(text, sizeof(text), "ramdisk = %s\n", path);
    expect_error(text, FN ":1: path too long for 'ramdisk' (max 63 bytes)");
}

static void test_bad_path_chars(void **state)
{
    expect_error("hypervisor = \\EFI\\h\xc3\xa9.elf\n",
                 FN ":1: non-ASCII or control character in path for 'hypervisor'");
}

static void test_nul_byte(void **state)
{
    static const char text[] = "hypervisor = h\ndom0 = d\0x\n";
    assert_int_equal(xl_config_parse(text, sizeof(text) - 1, FN, &cfg, err, sizeof(err)),
                     -XL_EINVAL);
    assert_string_equal(err, FN ":2: NUL byte in line");
}

static void test_missing_required(void **state)
{
    expect_error("dom0 = d\n", FN ": missing required key 'hypervisor'");
    expect_error("hypervisor = h\ndom0_cmdline = x\n", FN ": missing required key 'dom0'");
    expect_error("", FN ": missing required key 'hypervisor'");
}

static void test_small_error_buffer(void **state)
{
    char small[8];
    memset(small, 'X', sizeof(small));
    assert_int_equal(xl_config_parse("x", 1, "f.cfg", &cfg, small, sizeof(small)), -XL_EINVAL);
    assert_string_equal(small, "f.cfg:1");
    assert_int_equal(xl_config_parse("x", 1, "f.cfg", &cfg, NULL, 0), -XL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_value_with_equals),
        cmocka_unit_test(test_max_modules),
        cmocka_unit_test(test_too_many_modules),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_missing_equals),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_value_too_long),
        cmocka_unit_test(test_bad_path_chars),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_small_error_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
