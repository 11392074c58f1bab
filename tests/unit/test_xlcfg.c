/*
 * test_xlcfg.c - host unit tests for the xl.cfg parser of the dom0
 * toolstack (toolstack/xl/xlcfg.c), cmocka + ASan/UBSan.
 * Tests: the syntax (strings with xl's escapes, numbers, lists across
 * lines, comments, ';'), every key, defaults, cross-checks, the exact
 * "FILE:LINE: message" diagnostics, overrides parsed after the file,
 * the error cap and diagnostic truncation, and fuzzing (random bytes,
 * every truncation and random mutations of a good file) with each input
 * in an exactly sized heap buffer so ASan sees any overread.
 * Links: xlcfg.c, xlvif.c and hv/shared/format.c.
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
#include "../../toolstack/xl/xlcfg.h"

static struct xlcfg cfg;
static char dbuf[4096];
static struct xlcfg_diag diag;

/* Parses text as FILE "guest.cfg" and finishes; returns finish's result
 * (or parse's if parse failed). */
static int run(const char *text)
{
    int rc, rc2;
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);

    memcpy(copy, text, n);
    xlcfg_diag_init(&diag, dbuf, sizeof(dbuf));
    xlcfg_init(&cfg);
    rc = xlcfg_parse(&cfg, "guest.cfg", copy, n, &diag);
    rc2 = xlcfg_finish(&cfg, &diag);
    free(copy);
    assert_true(rc == 0 || rc == -XL_EINVAL);
    return rc ? rc : rc2;
}

static void test_full_config(void **state)
{
    static const uint8_t want_uuid[16] = {
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
        0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21 };
    const char *text =
        "# a PV guest\n"
        "\n"
        "name = \"web-1\"\n"
        "type='pv'\n"
        "memory = 256 ; maxmem = 0x200\n"
        "vcpus = 2\n"
        "maxvcpus = \"4\"   # numbers may be quoted, as in xl\n"
        "kernel = \"/boot/vmlinuz\"\n"
        "ramdisk = '/boot/initrd.img'\n"
        "cmdline = \"console=hvc0 quiet\\tx=\\\"y\\\" \\x41\\101\"\n"
        "on_poweroff = 'preserve'\n"
        "on_reboot = \"rename-restart\"\n"
        "on_crash = \"coredump-restart\"\n"
        "on_watchdog = \"coredump-destroy\"\n"
        "on_soft_reset = \"destroy\"\n"
        "uuid = \"12345678-9ABC-def0-0fed-cba987654321\"\n";

    (void)state;
    assert_int_equal(run(text), 0);
    assert_string_equal(dbuf, "");
    assert_string_equal(cfg.name, "web-1");
    assert_int_equal(cfg.type, XLCFG_TYPE_PV);
    assert_int_equal(cfg.memory_mib, 256);
    assert_int_equal(cfg.maxmem_mib, 512);
    assert_int_equal(cfg.vcpus, 2);
    assert_int_equal(cfg.maxvcpus, 4);
    assert_string_equal(cfg.kernel, "/boot/vmlinuz");
    assert_string_equal(cfg.ramdisk, "/boot/initrd.img");
    assert_string_equal(cfg.cmdline, "console=hvc0 quiet\tx=\"y\" AA");
    assert_int_equal(cfg.on[XLCFG_ON_POWEROFF], XLCFG_ACTION_PRESERVE);
    assert_int_equal(cfg.on[XLCFG_ON_REBOOT], XLCFG_ACTION_RENAME_RESTART);
    assert_int_equal(cfg.on[XLCFG_ON_CRASH], XLCFG_ACTION_COREDUMP_RESTART);
    assert_int_equal(cfg.on[XLCFG_ON_WATCHDOG], XLCFG_ACTION_COREDUMP_DESTROY);
    assert_int_equal(cfg.on[XLCFG_ON_SOFT_RESET], XLCFG_ACTION_DESTROY);
    assert_true(cfg.has_uuid);
    assert_memory_equal(cfg.uuid, want_uuid, 16);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'"), 0);   /* no final newline */
    assert_int_equal(cfg.memory_mib, XLCFG_DEFAULT_MEMORY);
    assert_int_equal(cfg.maxmem_mib, XLCFG_DEFAULT_MEMORY);
    assert_int_equal(cfg.vcpus, 1);
    assert_int_equal(cfg.maxvcpus, 1);
    assert_string_equal(cfg.ramdisk, "");
    assert_string_equal(cfg.cmdline, "");
    assert_false(cfg.has_uuid);
    /* xl's defaults for the actions */
    assert_int_equal(cfg.on[XLCFG_ON_POWEROFF], XLCFG_ACTION_DESTROY);
    assert_int_equal(cfg.on[XLCFG_ON_REBOOT], XLCFG_ACTION_RESTART);
    assert_int_equal(cfg.on[XLCFG_ON_CRASH], XLCFG_ACTION_DESTROY);
    assert_int_equal(cfg.on[XLCFG_ON_WATCHDOG], XLCFG_ACTION_DESTROY);
    assert_int_equal(cfg.on[XLCFG_ON_SOFT_RESET], XLCFG_ACTION_SOFT_RESET);
    /* memory alone sets maxmem too; a later setting wins */
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=64\nmemory=128\nvcpus=3\n"), 0);
    assert_int_equal(cfg.memory_mib, 128);
    assert_int_equal(cfg.maxmem_mib, 128);
    assert_int_equal(cfg.maxvcpus, 3);
}

static void test_lists_and_unknown_keys(void **state)
{
    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'\n"
                         "vfb = [ 'vnc=1,vnclisten=0.0.0.0',\n"
                         "         \"sdl=0\", # comment in a list\n"
                         "       ]\n"
                         "vnuma = [ [ 'pnode=0', 'size=512' ], [] ]\n"
                         "colour = \"blue\"\n"
                         "memory = 96\n"), 0);
    assert_string_equal(dbuf,
        "guest.cfg:3: warning: `vfb' is not supported by this toolstack, ignored\n"
        "guest.cfg:6: warning: `vnuma' is not supported by this toolstack, ignored\n"
        "guest.cfg:7: warning: unknown key `colour' ignored\n");
    assert_int_equal(diag.warnings, 3);
    assert_int_equal(diag.errors, 0);
    assert_int_equal(cfg.memory_mib, 96);   /* line numbers kept across the list */
}

/* disk = [ ... ]: xl's key=value spec (xldisk.c), vdev -> device id,
 * targets naming a region, errors with their line. */
static void test_disks(void **state)
{
    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'\n"
                         "disk = [ 'format=raw, vdev=xvda, access=rw, target=vda:16M+32M',\n"
                         "         'vdev=xvdb,access=ro,target=ram0' ]\n"), 0);
    assert_string_equal(dbuf, "");
    assert_int_equal(cfg.nr_disks, 2);
    assert_string_equal(cfg.disks[0].vdev, "xvda");
    assert_int_equal(cfg.disks[0].devid, 51712);
    assert_int_equal(cfg.disks[0].readonly, 0);
    assert_string_equal(cfg.disks[0].target, "vda:16M+32M");
    assert_string_equal(cfg.disks[0].t.dev, "vda");
    assert_int_equal(cfg.disks[0].t.offset, 16u << 20);
    assert_int_equal(cfg.disks[0].t.size, 32u << 20);
    assert_int_equal(cfg.disks[1].devid, 51728);
    assert_int_equal(cfg.disks[1].readonly, 1);
    assert_string_equal(cfg.disks[1].t.dev, "ram0");
    assert_int_equal(cfg.disks[1].t.size, 0);

    assert_int_equal(run("name='a'\nkernel='k'\ndisk = [ 'vdev=xvda, target=vda',\n"
                         " 'format=qcow2, vdev=xvdb, target=vda',\n"
                         " 'vdev=xvdc, target=vda:1M+0',\n"
                         " 'vdev=hdz, target=vda',\n"
                         " 'vdev=xvda, target=vdb',\n"
                         " 'phy:/dev/sda,xvda,w' ]\n"), -XL_EINVAL);
    assert_string_equal(dbuf,
        "guest.cfg:4: disk: format=qcow2: only raw is supported\n"
        "guest.cfg:5: disk: target=vda:1M+0: not DEV or DEV:OFFSET+SIZE (bytes, K/M/G, multiples of 512)\n"
        "guest.cfg:6: disk: vdev=hdz: not a virtual device name (xvda, xvdb1, sda, hda...)\n"
        "guest.cfg:7: disk: vdev xvda given twice\n");
    assert_int_equal(run("name='a'\nkernel='k'\ndisk = [ 'phy:/dev/sda,xvda,w' ]\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: disk: `phy:/dev/sda': positional disk parameters are "
                        "not supported, write key=value\n");
    assert_int_equal(run("name='a'\nkernel='k'\ndisk = [ 'access=rw' ]\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: disk: no vdev= (the guest's name for the disk, e.g. xvda)\n");
    assert_int_equal(run("name='a'\nkernel='k'\ndisk = [ 'vdev=xvda, colour=red, target=x' ]\n"),
                     -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: disk: unknown disk parameter `colour'\n");
}

static void test_disk_names(void **state)
{
    (void)state;
    char b[16];
    struct xldisk_target t;
    assert_int_equal(xldisk_devid("xvda"), 51712);
    assert_int_equal(xldisk_devid("xvdb"), 51728);
    assert_int_equal(xldisk_devid("xvda1"), 51713);
    assert_int_equal(xldisk_devid("xvdp"), 51952);
    assert_int_equal(xldisk_devid("xvdq"), (1 << 28) | (16 << 8));
    assert_int_equal(xldisk_devid("xvdaa"), (1 << 28) | (26 << 8));
    assert_int_equal(xldisk_devid("sda"), 2048);
    assert_int_equal(xldisk_devid("hda"), 768);            /* 3 << 8 */
    assert_int_equal(xldisk_devid("hdb"), 832);            /* 3 << 8 | 64 */
    assert_int_equal(xldisk_devid("hdc1"), (22 << 8) | 1);
    assert_int_equal(xldisk_devid("hdt63"), (91 << 8) | 64 | 63);
    assert_int_equal(xldisk_devid("hdu"), -XL_EINVAL);
    assert_int_equal(xldisk_devid("hda64"), -XL_EINVAL);
    assert_int_equal(xldisk_devid("xvda0"), -XL_EINVAL);
    assert_int_equal(xldisk_devid("xvd"), -XL_EINVAL);
    assert_int_equal(xldisk_devid("xvdA"), -XL_EINVAL);
    assert_int_equal(xldisk_devid("xvda1x"), -XL_EINVAL);
    xldisk_vdev_name(51712, b, sizeof(b));
    assert_string_equal(b, "xvda");
    xldisk_vdev_name(51729, b, sizeof(b));
    assert_string_equal(b, "xvdb1");
    xldisk_vdev_name((1 << 28) | (26 << 8), b, sizeof(b));
    assert_string_equal(b, "xvdaa");
    xldisk_vdev_name(768, b, sizeof(b));
    assert_string_equal(b, "hda");
    xldisk_vdev_name((22 << 8) | 64 | 2, b, sizeof(b));
    assert_string_equal(b, "hdd2");
    xldisk_vdev_name(70000, b, sizeof(b));
    assert_string_equal(b, "70000");
    assert_int_equal(xldisk_parse_target("vda:0+512", &t), 0);
    assert_int_equal(t.size, 512);
    assert_int_equal(xldisk_parse_target("vda:1G+1G", &t), 0);
    assert_int_equal(t.offset, 1ull << 30);
    assert_int_equal(xldisk_parse_target("vda:100+512", &t), -XL_EINVAL);      /* unaligned */
    assert_int_equal(xldisk_parse_target("vda:16M", &t), -XL_EINVAL);
    assert_int_equal(xldisk_parse_target("vda:16M+", &t), -XL_EINVAL);
    assert_int_equal(xldisk_parse_target(":16M+1M", &t), -XL_EINVAL);
    assert_int_equal(xldisk_parse_target("../x", &t), -XL_EINVAL);
    assert_int_equal(xldisk_parse_target("vda:18446744073709551104+1024", &t), -XL_EINVAL);
    assert_int_equal(xldisk_parse_target("vda:99999999999999999999G+1M", &t), -XL_EINVAL);
    assert_int_equal(xldisk_parse_target("vda:17179869184G+1M", &t), -XL_EINVAL);
}

/* Random specs from the syntax's own bytes: parse or refuse, never more
 * than that; an accepted one is consistent. */
static uint64_t fz_next(uint64_t *x)
{
    *x ^= *x << 13; *x ^= *x >> 7; *x ^= *x << 17;
    return *x;
}

static void test_disk_fuzz(void **state)
{
    static const char *const vdevs[] = { "xvda", "xvdb3", "xvdzz", "sdq", "xvd", "xvda0", "hda",
                                         "xvdaaaaaaa" };
    static const char *const nums[] = { "0", "512", "1M", "16M", "4G", "100", "",
                                        "99999999999999999999", "17179869184G" };
    static const char *const others[] = { "access=ro", "access=rw", "access=x", "format=raw",
                                          "format=qcow2", "devtype=disk", ",,", " ", "junk",
                                          "=", "target" };
    uint64_t seed = 0x1234567;
    unsigned int accepted = 0, refused = 0;
    (void)state;
    for (int i = 0; i < 20000; i++) {
        char spec[256], err[96];
        int o = 0;
        int n = (int)(fz_next(&seed) % 4);
        for (int k = 0; k < n; k++)
            o += snprintf(spec + o, sizeof(spec) - (size_t)o, "%s, ",
                          others[fz_next(&seed) % (sizeof(others) / sizeof(others[0]))]);
        if (fz_next(&seed) % 8)
            o += snprintf(spec + o, sizeof(spec) - (size_t)o, "vdev=%s, ",
                          vdevs[fz_next(&seed) % (sizeof(vdevs) / sizeof(vdevs[0]))]);
        if (fz_next(&seed) % 8) {
            o += snprintf(spec + o, sizeof(spec) - (size_t)o, "target=vda");
            if (fz_next(&seed) % 2)
                snprintf(spec + o, sizeof(spec) - (size_t)o, ":%s+%s",
                         nums[fz_next(&seed) % (sizeof(nums) / sizeof(nums[0]))],
                         nums[fz_next(&seed) % (sizeof(nums) / sizeof(nums[0]))]);
        }
        struct xldisk d;
        err[0] = '\0';
        if (xldisk_parse(spec, &d, err, sizeof(err)) == 0) {
            assert_true(d.devid == (uint32_t)xldisk_devid(d.vdev));
            assert_true(d.t.dev[0] != '\0');
            assert_true(d.t.offset % 512 == 0 && d.t.size % 512 == 0);
            assert_true(d.t.offset <= UINT64_MAX - d.t.size);
            accepted++;
        } else {
            assert_true(err[0] != '\0');
            refused++;
        }
    }
    assert_true(accepted > 100 && refused > 100);   /* both paths were reached */
}

static void test_error_lines(void **state)
{
    (void)state;
    assert_int_equal(run("name = 'g'\n"
                         "kernel = '/k'\n"
                         "memory = \"lots\"\n"          /* 3 */
                         "vcpus = 0\n"                  /* 4 */
                         "memory 64\n"                  /* 5 */
                         "= 5\n"                        /* 6 */
                         "maxmem = 12abc\n"             /* 7 */
                         "kernel = ['a']\n"             /* 8 */
                         "ramdisk = initrd\n"           /* 9 */
                         "cmdline = \"unterminated\n"   /* 10 */
                         "on_crash = 'explode'\n"       /* 11 */
                         "type = 'HVM'\n"               /* 12 */
                         "builder = 'weird'\n"          /* 13 */
                         "uuid = '1234'\n"              /* 14 */
                         "extra = 'a\\qb'\n"            /* 15 */
                         "root = 'x' 'y'\n"             /* 16 */
                         "vcpus = 99999999999999999999999\n" /* 17 */
                         "name = '42'\n"                /* 18 */
                         "memory = 5 $\n"),              /* 19 */
                     -XL_EINVAL);
    assert_string_equal(dbuf,
        "guest.cfg:3: memory: not a number: `lots'\n"
        "guest.cfg:4: vcpus: 0 is out of range (1 to 128)\n"
        "guest.cfg:5: memory: expected `=', found `64'\n"
        "guest.cfg:6: expected `key = value', found `='\n"
        "guest.cfg:7: maxmem: not a number: `12abc'\n"
        "guest.cfg:8: kernel: is a list but should be a single value\n"
        "guest.cfg:9: ramdisk: bare word `initrd' (strings need quotes)\n"
        "guest.cfg:10: unterminated string (a \"... string must end on its line)\n"
        "guest.cfg:11: on_crash: unknown action `explode' (destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset)\n"
        "guest.cfg:12: type: invalid domain type `HVM' (pv, pvh or hvm)\n"
        "guest.cfg:13: builder: invalid domain type `weird' (generic or hvm)\n"
        "guest.cfg:14: uuid: `1234' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"
        "guest.cfg:15: extra: unknown escape `\\q' in string\n"
        "guest.cfg:16: root: unexpected string \"y\" after the value\n"
        "guest.cfg:17: vcpus: 99999999999999999999999 is out of range (1 to 128)\n"
        "guest.cfg:18: name: `42' is all digits (it would read as a domain id)\n"
        "guest.cfg:19: unexpected character `$'\n");
    assert_int_equal(diag.errors, 17);
}

static void test_missing_and_cross_checks(void **state)
{
    (void)state;
    assert_int_equal(run("# nothing\n"), -XL_EINVAL);
    assert_string_equal(dbuf,
        "guest.cfg: name: not set (every domain needs a name)\n"
        "guest.cfg: kernel: not set (a PV guest needs a kernel)\n");
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=256\nmaxmem=128\n"
                         "vcpus=4\nmaxvcpus=2\n"), -XL_EINVAL);
    assert_string_equal(dbuf,
        "guest.cfg:4: maxmem: 128 MiB is less than memory (256 MiB)\n"
        "guest.cfg:6: maxvcpus: 2 is less than vcpus (4)\n");
    assert_int_equal(run("name='a'\nkernel=''\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:2: kernel: empty path\n");
    assert_int_equal(run("name='a/b'\nkernel='k'\n"), -XL_EINVAL);
    assert_int_equal(run("name='a\\nb'\nkernel='k'\n"), -XL_EINVAL);
    assert_int_equal(run("name=''\nkernel='k'\n"), -XL_EINVAL);
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=16777217\n"), -XL_EINVAL);
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=16777216\nmaxmem=0x1000000\n"), 0);
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=010\n"), 0);   /* octal, as strtol(0) */
    assert_int_equal(cfg.memory_mib, 8);
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=09\n"), -XL_EINVAL);
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=0x\n"), -XL_EINVAL);
}

static void test_cmdline_combination(void **state)
{
    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'\nroot='/dev/xvda1 ro'\nextra='quiet'\n"), 0);
    assert_string_equal(cfg.cmdline, "root=/dev/xvda1 ro quiet");
    assert_int_equal(run("name='a'\nkernel='k'\nroot='/dev/xvda1'\n"), 0);
    assert_string_equal(cfg.cmdline, "root=/dev/xvda1");
    assert_int_equal(run("name='a'\nkernel='k'\nextra='init=/bin/sh'\n"), 0);
    assert_string_equal(cfg.cmdline, "init=/bin/sh");
    assert_int_equal(run("name='a'\nkernel='k'\nextra='e'\ncmdline='c'\n"), 0);
    assert_string_equal(cfg.cmdline, "c");
    assert_string_equal(dbuf, "guest.cfg:4: warning: ignoring root= and extra= in favour of cmdline=\n");

    /* root + extra that only together exceed the limit */
    {
        static char text[4096];
        char big[700];
        memset(big, 'r', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        snprintf(text, sizeof(text), "name='a'\nkernel='k'\nroot='%s'\nextra='%s'\n", big, big);
        assert_int_equal(run(text), -XL_EINVAL);
        assert_string_equal(dbuf, "guest.cfg:3: root/extra: the command line they make is too long (at most 1023 bytes)\n");
        /* one field over its own limit */
        char huge[1100];
        memset(huge, 'c', sizeof(huge) - 1);
        huge[sizeof(huge) - 1] = '\0';
        snprintf(text, sizeof(text), "name='a'\nkernel='k'\ncmdline=\"%s\"\n", huge);
        assert_int_equal(run(text), -XL_EINVAL);
        assert_string_equal(dbuf, "guest.cfg:3: cmdline: too long (at most 1023 bytes)\n");
        /* exactly at the limit is fine */
        huge[1023] = '\0';
        snprintf(text, sizeof(text), "name='a'\nkernel='k'\ncmdline=\"%s\"\n", huge);
        assert_int_equal(run(text), 0);
        assert_int_equal(strlen(cfg.cmdline), 1023);
    }
}

static void test_types_and_actions(void **state)
{
    static const char *const names[] = { "destroy", "restart", "rename-restart",
        "preserve", "coredump-destroy", "coredump-restart", "soft-reset" };
    char text[256];
    unsigned int i;

    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'\nbuilder='generic'\n"), 0);
    assert_int_equal(cfg.type, XLCFG_TYPE_PV);
    assert_int_equal(run("name='a'\nkernel='k'\nbuilder='hvm'\n"), 0);
    assert_int_equal(cfg.type, XLCFG_TYPE_HVM);
    assert_int_equal(run("name='a'\nkernel='k'\ntype='hvm'\n"), 0);
    assert_int_equal(cfg.type, XLCFG_TYPE_HVM);
    assert_int_equal(run("name='a'\nkernel='k'\ntype='pvh'\n"), 0);
    assert_int_equal(cfg.type, XLCFG_TYPE_PVH);
    assert_int_equal(run("name='a'\nkernel='k'\nbuilder='pvh'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: builder: invalid domain type `pvh' (generic or hvm)\n");
    assert_int_equal(run("name='a'\nkernel='k'\ntype='PV'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: type: invalid domain type `PV' (pv, pvh or hvm)\n");
    for (i = 0; i < 7; i++) {
        snprintf(text, sizeof(text), "name='a'\nkernel='k'\non_reboot='%s'\n", names[i]);
        assert_int_equal(run(text), 0);
        assert_int_equal(cfg.on[XLCFG_ON_REBOOT], i + 1);
        assert_string_equal(xlcfg_action_name(i + 1), names[i]);
    }
    assert_string_equal(xlcfg_action_name(0), "?");
    assert_string_equal(xlcfg_action_name(99), "?");
}

/* cpus= / cpus_soft=: xl's CPU list syntax as a string (every vcpu) or
 * a list (vcpu i from entry i), the parser alone, and the errors with
 * file and line. */
static void test_cpus(void **state)
{
    char err[96];
    uint64_t m;
    (void)state;
    /* the list syntax */
    static const struct { const char *s; uint64_t m; } good[] = {
        { "0", 0x1 }, { "0-3", 0xf }, { "0,2", 0x5 }, { "all", ~0ULL }, { "^1", 0 },
        { "0-3,^1", 0xd }, { "all,^0", ~1ULL }, { "3,1-2", 0xe }, { ",,1,", 0x2 },
        { "", 0 }, { "63", 1ULL << 63 }, { "0-63", ~0ULL }, { "node:0", ~0ULL },
        { "nodes:0,^5", ~0x20ULL }, { "^node:0", 0 }, { " 2", 0x4 }, { "2-2", 0x4 },
        { "1-3,^2-3,5", 0x22 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        m = 0x1234;
        if (xlcfg_parse_cpumap(good[i].s, &m, err, sizeof(err)))
            fail_msg("`%s': %s", good[i].s, err);
        if (m != good[i].m)
            fail_msg("`%s': %#llx, not %#llx", good[i].s, (unsigned long long)m,
                     (unsigned long long)good[i].m);
    }
    static const struct { const char *s, *err; } bad[] = {
        { "3-1", "Invalid pcpu range: 3-1." }, { "x", "Invalid pcpu range: x." },
        { "1-", "Invalid pcpu range: 1-." }, { "-1", "Invalid pcpu range: -1." },
        { "1 ", "Invalid pcpu range: 1 ." }, { "0,a2", "Invalid pcpu range: a2." },
        { "^all", "Can't combine \"^\" and \"all\"." },
        { "64", "Invalid pcpu range: 64 (CPUs 0 to 63)." },
        { "0-99999999999999", "Invalid pcpu range: 0-99999999999999." },
        { "node:1", "Invalid NUMA node: node:1 (there is one node, 0)." },
        { "1\x1b", "Invalid pcpu range: 1?." },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = 0x1234;
        assert_int_equal(xlcfg_parse_cpumap(bad[i].s, &m, err, sizeof(err)), -XL_EINVAL);
        assert_string_equal(err, bad[i].err);
        assert_int_equal(m, 0x1234);   /* untouched on error */
    }
    /* in a config: a string sets every vcpu, a list vcpu by vcpu */
    assert_int_equal(run("name='a'\nkernel='k'\nvcpus=2\nmaxvcpus=4\ncpus=\"0-3,^1\"\n"
                         "cpus_soft = '2'\n"), 0);
    assert_string_equal(dbuf, "");
    assert_int_equal(cfg.vcpus, 2);
    assert_int_equal(cfg.maxvcpus, 4);
    assert_int_equal(cfg.nr_cpus_hard, XLCFG_MAX_VCPUS);
    assert_int_equal(cfg.cpus_hard[0], 0xd);
    assert_int_equal(cfg.cpus_hard[3], 0xd);
    assert_int_equal(cfg.nr_cpus_soft, XLCFG_MAX_VCPUS);
    assert_int_equal(cfg.cpus_soft[1], 0x4);
    assert_int_equal(run("name='a'\nkernel='k'\nvcpus=3\ncpus = [ '0', \"1-2\",\n  3 ]\n"), 0);
    assert_int_equal(cfg.nr_cpus_hard, 3);
    assert_int_equal(cfg.cpus_hard[0], 0x1);
    assert_int_equal(cfg.cpus_hard[1], 0x6);
    assert_int_equal(cfg.cpus_hard[2], 0x8);
    assert_int_equal(cfg.nr_cpus_soft, 0);
    assert_int_equal(run("name='a'\nkernel='k'\ncpus = []\n"), 0);
    assert_int_equal(cfg.nr_cpus_hard, 0);
    assert_int_equal(run("name='a'\nkernel='k'\n"), 0);   /* default: none given */
    assert_int_equal(cfg.nr_cpus_hard, 0);
    assert_int_equal(cfg.nr_cpus_soft, 0);
    /* errors, each on its line */
    assert_int_equal(run("name='a'\nkernel='k'\n"
                         "cpus = '5-2'\n"                 /* 3 */
                         "cpus = '^1'\n"                  /* 4 */
                         "cpus_soft = '^all'\n"           /* 5 */
                         "cpus = ['0',\n 'x', '^0']\n"    /* 6-7 */
                         "cpus = ['0', ['1']]\n"          /* 8 */
                         "cpus = '70'\n"                  /* 9 */
                         "cpus = cpu\n"),                 /* 10 */
                     -XL_EINVAL);
    assert_string_equal(dbuf,
        "guest.cfg:3: cpus: Invalid pcpu range: 5-2.\n"
        "guest.cfg:4: cpus: `^1' is no CPU (vcpu hard affinity map is empty)\n"
        "guest.cfg:5: cpus_soft: Can't combine \"^\" and \"all\".\n"
        "guest.cfg:7: cpus: entry 1: Invalid pcpu range: x.\n"
        "guest.cfg:7: cpus: entry 2: `^0' is no CPU (vcpu hard affinity map is empty)\n"
        "guest.cfg:8: cpus: a list inside the list (each entry is a string)\n"
        "guest.cfg:9: cpus: Invalid pcpu range: 70 (CPUs 0 to 63).\n"
        "guest.cfg:10: cpus: bare word `cpu' (strings need quotes)\n");
    /* an empty soft map is allowed (xl checks only the hard one) */
    assert_int_equal(run("name='a'\nkernel='k'\ncpus_soft='^1'\n"), 0);
    assert_int_equal(cfg.cpus_soft[0], 0);
}

static void test_uuid(void **state)
{
    uint8_t u[16];
    char s[40];

    (void)state;
    assert_int_equal(xlcfg_parse_uuid("00112233-4455-6677-8899-aabbccddeeff", u), 0);
    xlcfg_format_uuid(u, s, sizeof(s));
    assert_string_equal(s, "00112233-4455-6677-8899-aabbccddeeff");
    assert_int_equal(xlcfg_parse_uuid("00112233-4455-6677-8899-aabbccddeef", u), -XL_EINVAL);
    assert_int_equal(xlcfg_parse_uuid("00112233-4455-6677-8899-aabbccddeeff0", u), -XL_EINVAL);
    assert_int_equal(xlcfg_parse_uuid("0011223304455-6677-8899-aabbccddeeff", u), -XL_EINVAL);
    assert_int_equal(xlcfg_parse_uuid("00112233-4455-6677-8899-aabbccddeefg", u), -XL_EINVAL);
    assert_int_equal(xlcfg_parse_uuid("", u), -XL_EINVAL);
}

static void test_escapes(void **state)
{
    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'\n"
                         "cmdline='\\a\\b\\f\\n\\r\\t\\v\\'\\\"\\\\\\x7e\\7\\77\\1234'\n"), 0);
    assert_string_equal(cfg.cmdline, "\a\b\f\n\r\t\v'\"\\~\007?S4");
    assert_int_equal(run("name='a'\nkernel='k'\ncmdline='\\x4'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: cmdline: \\x needs two hex digits\n");
    assert_int_equal(run("name='a'\nkernel='k'\ncmdline='a\\0b'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: cmdline: string contains a NUL byte\n");
    assert_int_equal(run("name='a'\nkernel='k'\ncmdline='\\400'\n"), -XL_EINVAL);
    /* a backslash-quote does not end the string */
    assert_int_equal(run("name='a'\nkernel='k'\ncmdline='it\\'s'\n"), 0);
    assert_string_equal(cfg.cmdline, "it's");
    /* control bytes never reach a diagnostic */
    assert_int_equal(run("name='a'\nkernel='k'\non_crash='\\x1b[2J'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: on_crash: unknown action `?[2J' (destroy, restart, "
                        "rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset)\n");
}

static void test_structure_errors(void **state)
{
    (void)state;
    assert_int_equal(run("name='a'\nkernel='k'\ndisk=[ 'a',\n 'b'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:5: disk: list opened on line 3 is not closed\n");
    assert_int_equal(run("name='a'\nkernel='k'\ndisk=[ 'a' 'b' ]\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: disk: expected `,' or `]' in list, found string \"b\"\n");
    assert_int_equal(run("name='a'\nkernel='k'\nx=[[[[[[[[[['deep']]]]]]]]]]\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: x: lists nested too deeply\n");
    assert_int_equal(run("name='a'\nkernel='k'\nmemory=\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: memory: expected a value, found end of line\n");
    /* a NUL byte and a high byte in the text */
    {
        static const char t[] = "name='a'\nkernel='k'\n\0\n\xff=1\nvcpus='\0'\n";
        memset(&diag, 0, sizeof(diag));
        diag.buf = dbuf;
        diag.size = sizeof(dbuf);
        xlcfg_init(&cfg);
        assert_int_equal(xlcfg_parse(&cfg, "g", t, sizeof(t) - 1, &diag), -XL_EINVAL);
        assert_string_equal(dbuf, "g:3: unexpected byte 0x00\n"
                                  "g:4: unexpected byte 0xff\n"
                                  "g:5: vcpus: string contains a NUL byte\n");
    }
    /* a too long key */
    assert_int_equal(run("name='a'\nkernel='k'\n"
                         "k234567890123456789012345678901234567890123456789012345678901234=1\n"),
                     -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: key too long (at most 63 characters)\n");
}

static void test_overrides(void **state)
{
    (void)state;
    xlcfg_diag_init(&diag, dbuf, sizeof(dbuf));
    xlcfg_init(&cfg);
    assert_int_equal(xlcfg_parse(&cfg, "g.cfg", "name='a'\nkernel='k'\nmemory=64\n", 29, &diag), 0);
    assert_int_equal(xlcfg_parse(&cfg, "<command line>", "memory=128", 10, &diag), 0);
    assert_int_equal(xlcfg_parse(&cfg, "<command line>", "maxmem=100", 10, &diag), 0);
    assert_int_equal(xlcfg_finish(&cfg, &diag), -XL_EINVAL);
    assert_string_equal(dbuf, "<command line>:1: maxmem: 100 MiB is less than memory (128 MiB)\n");
}

static void test_error_cap_and_truncation(void **state)
{
    static char text[8192];
    size_t o = 0;
    int i;
    char small[100];
    const char *p;
    int lines = 0;

    (void)state;
    for (i = 0; i < 100; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "memory = 'bad%d'\n", i);
    assert_int_equal(run(text), -XL_EINVAL);
    assert_int_equal(diag.errors, XLCFG_MAX_ERRORS);
    for (p = dbuf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, XLCFG_MAX_ERRORS + 1);
    assert_non_null(strstr(dbuf, "guest.cfg:20: memory: not a number: `bad19'\n"
                                 "guest.cfg: too many errors, giving up\n"));

    /* a small diagnostic buffer: whole lines, then "...", always terminated */
    xlcfg_diag_init(&diag, small, sizeof(small));
    xlcfg_init(&cfg);
    assert_int_equal(xlcfg_parse(&cfg, "guest.cfg", text, strlen(text), &diag), -XL_EINVAL);
    assert_true(diag.truncated);
    assert_true(strlen(small) < sizeof(small));
    assert_string_equal(small, "guest.cfg:1: memory: not a number: `bad0'\n"
                               "guest.cfg:2: memory: not a number: `bad1'\n...\n");
    /* no sink at all */
    xlcfg_init(&cfg);
    assert_int_equal(xlcfg_parse(&cfg, "guest.cfg", text, strlen(text), NULL), -XL_EINVAL);
    assert_int_equal(xlcfg_finish(&cfg, NULL), -XL_EINVAL);
}

/* ---- fuzzing ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void check_invariants(int rc_parse, int rc_finish, const struct xlcfg_diag *d)
{
    assert_true(d->len < d->size);
    assert_int_equal(strlen(d->buf), d->len);
    assert_true(rc_parse == 0 || rc_parse == -XL_EINVAL);
    assert_true(rc_finish == 0 || rc_finish == -XL_EINVAL);
    assert_int_equal(rc_finish == 0, d->errors == 0);
    assert_true(d->errors <= XLCFG_MAX_ERRORS);
    assert_true(memchr(cfg.name, 0, sizeof(cfg.name)) != NULL);
    assert_true(memchr(cfg.kernel, 0, sizeof(cfg.kernel)) != NULL);
    assert_true(memchr(cfg.ramdisk, 0, sizeof(cfg.ramdisk)) != NULL);
    assert_true(memchr(cfg.cmdline, 0, sizeof(cfg.cmdline)) != NULL);
    if (rc_finish == 0) {
        assert_true(cfg.name[0] && cfg.kernel[0]);
        assert_true(cfg.memory_mib >= 1 && cfg.memory_mib <= cfg.maxmem_mib);
        assert_true(cfg.vcpus >= 1 && cfg.vcpus <= cfg.maxvcpus &&
                    cfg.maxvcpus <= XLCFG_MAX_VCPUS);
    }
}

static void fuzz_one(const char *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    int rp, rf;

    memcpy(copy, data, len);
    xlcfg_diag_init(&diag, dbuf, sizeof(dbuf));
    xlcfg_init(&cfg);
    rp = xlcfg_parse(&cfg, "f", copy, len, &diag);
    rf = xlcfg_finish(&cfg, &diag);
    free(copy);
    check_invariants(rp, rf, &diag);
}

static const char good[] =
    "name = \"fuzz\"\nkernel = '/k'\nmemory = 0x40; maxmem = 128\n"
    "vcpus = 2\nvfb = [ 'a', \"b\\x41\",\n [ '1' ] ]\ncmdline = 'a\\tb'\n"
    "on_crash = 'preserve' # c\nuuid = '00112233-4455-6677-8899-aabbccddeeff'\n";

static void test_fuzz_truncations(void **state)
{
    size_t n;

    (void)state;
    for (n = 0; n <= sizeof(good) - 1; n++)
        fuzz_one(good, n);
    fuzz_one(good, sizeof(good) - 1);
    assert_int_equal(diag.errors, 0);
}

static void test_fuzz_random(void **state)
{
    static char buf[2048];
    static const char alphabet[] = "=[],;#'\"\\\n abcxn019_.-\t\r";
    int iter;

    (void)state;
    for (iter = 0; iter < 20000; iter++) {
        size_t len = rnd() % sizeof(buf), i;
        int mode = iter % 3;
        if (mode == 0) {                  /* raw bytes */
            for (i = 0; i < len; i++)
                buf[i] = (char)rnd();
        } else if (mode == 1) {           /* syntax-heavy soup */
            for (i = 0; i < len; i++)
                buf[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
        } else {                          /* mutations of a good file */
            len = sizeof(good) - 1;
            memcpy(buf, good, len);
            for (i = 0; i < 1 + rnd() % 4; i++)
                buf[rnd() % len] = (char)rnd();
            len = rnd() % (len + 1);
        }
        fuzz_one(buf, len);
    }
}

/* A Debian Linux PV guest as its xl.cfg usually reads: bzImage and
 * initrd, root + extra (cmdline "root=<root> <extra>", as libxl's
 * parse_cmdline), maxmem above memory, a 2 GiB domain. */
static void test_linux_guest(void **state)
{
    assert_int_equal(run("# Debian bookworm, PV\n"
                         "name = \"deb\"\n"
                         "type = \"pv\"\n"
                         "kernel = \"vmlinuz-6.1.0-18-amd64\"\n"
                         "ramdisk = \"initrd.img-6.1.0-18-amd64\"\n"
                         "root = \"/dev/xvda1 ro\"\n"
                         "extra = \"console=hvc0 earlyprintk=xen\"\n"
                         "memory = 2048\n"
                         "maxmem = 4096\n"
                         "vcpus = 1\n"
                         "on_poweroff = \"destroy\"\n"
                         "on_reboot = \"destroy\"\n"
                         "on_crash = \"preserve\"\n"
                         "on_watchdog = \"destroy\"\n"), 0);
    assert_string_equal(dbuf, "");
    assert_string_equal(cfg.kernel, "vmlinuz-6.1.0-18-amd64");
    assert_string_equal(cfg.ramdisk, "initrd.img-6.1.0-18-amd64");
    assert_string_equal(cfg.cmdline, "root=/dev/xvda1 ro console=hvc0 earlyprintk=xen");
    assert_int_equal(cfg.memory_mib, 2048);
    assert_int_equal(cfg.maxmem_mib, 4096);
    assert_int_equal(cfg.type, XLCFG_TYPE_PV);
    assert_int_equal(cfg.on[XLCFG_ON_POWEROFF], XLCFG_ACTION_DESTROY);
    assert_int_equal(cfg.on[XLCFG_ON_REBOOT], XLCFG_ACTION_DESTROY);
    assert_int_equal(cfg.on[XLCFG_ON_CRASH], XLCFG_ACTION_PRESERVE);
    assert_int_equal(cfg.on[XLCFG_ON_WATCHDOG], XLCFG_ACTION_DESTROY);
    /* cmdline given: root and extra are ignored (with xl's warning). */
    assert_int_equal(run("name='deb'\nkernel='vmlinuz'\nroot='/dev/xvda1'\n"
                         "extra='quiet'\ncmdline='root=/dev/xvdb console=hvc0'\n"), 0);
    assert_string_equal(cfg.cmdline, "root=/dev/xvdb console=hvc0");
    assert_string_equal(dbuf, "guest.cfg:5: warning: ignoring root= and extra= in favour of cmdline=\n");
    /* A bad line among good ones: reported with its file and line. */
    assert_int_equal(run("name='deb'\nkernel='vmlinuz'\nmemory = 2G\nmaxmem = 1024\n"),
                     -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: memory: not a number: `2G'\n");
}

/* vif = [ ... ]: xl's key=value specs, bridge=NAME.VLAN, default MAC,
 * bad entries reported with file and line. */
static void test_vif(void **state)
{
    static const uint8_t mac1[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
    uint8_t m[6], m2[6];
    struct xlvif v;
    char err[96];

    (void)state;
    assert_int_equal(run("name='n'\nkernel='k'\n"
                         "vif = [ 'mac=00:16:3E:00:00:01, bridge=xenbr0',\n"
                         "        'bridge=xenbr0.10,type=vif', '' ]\n"), 0);
    assert_string_equal(dbuf, "");
    assert_int_equal(cfg.nr_vifs, 3);
    assert_true(cfg.vif[0].has_mac);
    assert_memory_equal(cfg.vif[0].mac, mac1, 6);
    assert_string_equal(cfg.vif[0].bridge, "xenbr0");
    assert_int_equal(cfg.vif[0].vlan, 1);
    assert_false(cfg.vif[1].has_mac);
    assert_string_equal(cfg.vif[1].bridge, "xenbr0");
    assert_int_equal(cfg.vif[1].vlan, 10);
    assert_string_equal(cfg.vif[2].bridge, "xenbr0");   /* all defaults */
    /* Bad entries: their own line, the key keeps no vif. */
    assert_int_equal(run("name='n'\nkernel='k'\nvif = [ 'bridge=xenbr0',\n"
                         "'mac=01:16:3e:00:00:01' ]\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:4: vif: entry 1: invalid mac address "
                        "`01:16:3e:00:00:01' (a unicast aa:bb:cc:dd:ee:ff)\n");
    assert_int_equal(cfg.nr_vifs, 0);
    assert_int_equal(run("name='n'\nkernel='k'\nvif = 'bridge=xenbr0'\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: vif: must be a list ([ 'mac=...,bridge=...' ])\n");
    assert_int_equal(run("name='n'\nkernel='k'\nvif = [ 'bridge=xenbr0.4095' ]\n"), -XL_EINVAL);
    assert_string_equal(dbuf, "guest.cfg:3: vif: entry 0: invalid VLAN in bridge=xenbr0.4095 (1..4094)\n");
    /* The spec parser itself. */
    assert_int_equal(xlvif_parse(" vlan = 7 , bridge = br1 ,", &v, err, sizeof(err)), 0);
    assert_string_equal(v.bridge, "br1");
    assert_int_equal(v.vlan, 7);
    assert_int_equal(xlvif_parse("mac=00:00:00:00:00:00", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("mac=00:16:3e:00:00", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("mac=00:16:3e:00:00:0g", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=a/b", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=xenbr0.0", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=abcdefghijklmnop", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("vlan=0", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("mac", &v, err, sizeof(err)), -XL_EINVAL);
    assert_string_equal(err, "vif option `mac' is not key=value");
    assert_int_equal(xlvif_parse("colour=blue", &v, err, sizeof(err)), -XL_EINVAL);
    assert_string_equal(err, "unknown vif option `colour'");
    /* Trunks, in xl's Open vSwitch syntax: NAME[.NATIVE]:T:T... */
    char fb[64];
    assert_int_equal(xlvif_parse("bridge=xenbr0.5:10:20", &v, err, sizeof(err)), 0);
    assert_string_equal(v.bridge, "xenbr0");
    assert_true(v.has_vlan);
    assert_int_equal(v.vlan, 5);
    assert_int_equal(v.nr_trunk, 2);
    assert_int_equal(v.trunk[0], 10);
    assert_int_equal(v.trunk[1], 20);
    assert_int_equal(xlvif_format_bridge(&v, fb, sizeof(fb)), (int)strlen("xenbr0.5:10:20"));
    assert_string_equal(fb, "xenbr0.5:10:20");
    assert_int_equal(xlvif_parse("bridge=br1:7", &v, err, sizeof(err)), 0);
    assert_false(v.has_vlan);
    assert_int_equal(v.nr_trunk, 1);
    xlvif_format_bridge(&v, fb, sizeof(fb));
    assert_string_equal(fb, "br1:7");
    assert_int_equal(xlvif_parse("bridge=br1.10", &v, err, sizeof(err)), 0);
    xlvif_format_bridge(&v, fb, sizeof(fb));
    assert_string_equal(fb, "br1.10");
    assert_int_equal(xlvif_parse("bridge=br1", &v, err, sizeof(err)), 0);
    xlvif_format_bridge(&v, fb, sizeof(fb));
    assert_string_equal(fb, "br1");
    assert_int_equal(xlvif_format_bridge(&v, fb, 2), 3);     /* snprintf-like */
    assert_string_equal(fb, "b");
    assert_int_equal(xlvif_parse("bridge=br1:", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=br1:0", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=br1::3", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=br1.:3", &v, err, sizeof(err)), -XL_EINVAL);
    assert_int_equal(xlvif_parse("bridge=br1:1:2:3:4:5:6:7:8:9", &v, err, sizeof(err)), -XL_EINVAL);
    assert_string_equal(err, "at most 8 trunk VLANs");
    /* Default MACs: Xen's OUI, stable, distinct per (domid, devid). */
    xlvif_default_mac(1, 0, m);
    xlvif_default_mac(1, 0, m2);
    assert_memory_equal(m, m2, 6);
    assert_int_equal(m[0], 0x00);
    assert_int_equal(m[1], 0x16);
    assert_int_equal(m[2], 0x3e);
    xlvif_default_mac(1, 1, m2);
    assert_memory_not_equal(m, m2, 6);
    xlvif_default_mac(257, 0, m2);
    assert_memory_not_equal(m, m2, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_lists_and_unknown_keys),
        cmocka_unit_test(test_disks), cmocka_unit_test(test_disk_names),
        cmocka_unit_test(test_disk_fuzz),
        cmocka_unit_test(test_error_lines),
        cmocka_unit_test(test_missing_and_cross_checks),
        cmocka_unit_test(test_cmdline_combination),
        cmocka_unit_test(test_types_and_actions),
        cmocka_unit_test(test_linux_guest),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_cpus),
        cmocka_unit_test(test_vif),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_error_cap_and_truncation),
        cmocka_unit_test(test_fuzz_truncations),
        cmocka_unit_test(test_fuzz_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
