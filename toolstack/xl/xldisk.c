/*
 * xldisk.c - xl's disk specification parser, vdev names <-> Xen device
 * ids, and disk targets naming a region of a dom0 block device
 * (xldisk.h). Pure and freestanding: dom0's xl and blkback use it, host
 * unit tests link it (tests/unit/xlcfg.mk).
 * Must never: read past the given strings, accept a target region that
 * overflows 64 bits, or allocate.
 */
#include <stdarg.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include "xldisk.h"

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && size)
        xl_vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -XL_EINVAL;
}

/* Decimal with an optional K/M/G suffix; *end after it. 0 or -1. */
static int parse_size(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    unsigned int sh = *s == 'K' || *s == 'k' ? 10 : *s == 'M' || *s == 'm' ? 20 :
                      *s == 'G' || *s == 'g' ? 30 : 0;
    if (sh) {
        s++;
        if (v > (UINT64_MAX >> sh))
            return -1;
        v <<= sh;
    }
    *out = v;
    *end = s;
    return 0;
}

int xldisk_parse_target(const char *s, struct xldisk_target *t)
{
    size_t n = 0;
    memset(t, 0, sizeof(*t));
    while (s[n] && s[n] != ':') {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) || n + 1 >= sizeof(t->dev))
            return -XL_EINVAL;
        t->dev[n] = c;
        n++;
    }
    if (!n)
        return -XL_EINVAL;
    if (!s[n])
        return 0;
    const char *p = s + n + 1, *e;
    if (parse_size(p, &t->offset, &e) || *e != '+' || parse_size(e + 1, &t->size, &p) || *p)
        return -XL_EINVAL;
    if (!t->size || t->offset % 512 || t->size % 512 || t->offset > UINT64_MAX - t->size)
        return -XL_EINVAL;
    return 0;
}

/* "a".."z", "aa".. as xen-vbd-interface's base-26 letters: index or -1. */
static long letters(const char *s, const char **end)
{
    long v = 0;
    if (*s < 'a' || *s > 'z')
        return -1;
    for (; *s >= 'a' && *s <= 'z'; s++) {
        if (v > (1L << 20))
            return -1;
        v = v * 26 + (*s - 'a' + 1);
    }
    *end = s;
    return v - 1;
}

/* The IDE majors of hda/hdb, hdc/hdd, ... hds/hdt (xen-vbd-interface.7). */
static const unsigned char ide_major[10] = { 3, 22, 33, 34, 56, 57, 88, 89, 90, 91 };

long xldisk_devid(const char *vdev)
{
    const char *p;
    long disk, part = 0;
    int xvd = !strncmp(vdev, "xvd", 3), sd = !strncmp(vdev, "sd", 2), hd = !strncmp(vdev, "hd", 2);
    if (!xvd && !sd && !hd)
        return -XL_EINVAL;
    if ((disk = letters(vdev + (xvd ? 3 : 2), &p)) < 0)
        return -XL_EINVAL;
    if (*p) {
        if (*p == '0')
            return -XL_EINVAL;
        for (; *p >= '0' && *p <= '9'; p++)
            if ((part = part * 10 + (*p - '0')) > 255)
                return -XL_EINVAL;
        if (*p)
            return -XL_EINVAL;
    }
    if (sd) {
        if (disk > 15 || part > 15)
            return -XL_EINVAL;
        return (8L << 8) | (disk << 4) | part;
    }
    if (hd) {
        if (disk > 19 || part > 63)
            return -XL_EINVAL;
        return ((long)ide_major[disk / 2] << 8) | ((disk & 1) << 6) | part;
    }
    if (disk < 16 && part < 16)
        return (202L << 8) | (disk << 4) | part;
    if (disk >= (1L << 20))
        return -XL_EINVAL;
    return (1L << 28) | (disk << 8) | part;   /* the extended scheme */
}

void xldisk_vdev_name(uint32_t devid, char *buf, size_t size)
{
    unsigned long disk, part;
    const char *pre = "xvd";
    if (devid & (1u << 28)) {
        disk = (devid >> 8) & 0xfffff;
        part = devid & 0xff;
    } else if ((devid >> 8) == 202 || (devid >> 8) == 8) {
        pre = (devid >> 8) == 8 ? "sd" : "xvd";
        disk = (devid >> 4) & 15;
        part = devid & 15;
    } else {
        unsigned int i;
        for (i = 0; i < 10 && ide_major[i] != devid >> 8; i++)
            ;
        if (i == 10 || devid >> 16) {
            xl_snprintf(buf, size, "%u", devid);
            return;
        }
        pre = "hd";
        disk = i * 2 + ((devid >> 6) & 1);
        part = devid & 63;
    }
    char l[8];
    int n = 0;
    for (unsigned long d = disk + 1; d && n < 7; d = (d - 1) / 26)
        l[n++] = (char)('a' + (d - 1) % 26);
    char r[8];
    for (int i = 0; i < n; i++)
        r[i] = l[n - 1 - i];
    r[n] = '\0';
    if (part)
        xl_snprintf(buf, size, "%s%s%lu", pre, r, part);
    else
        xl_snprintf(buf, size, "%s%s", pre, r);
}

static int key_is(const char *s, size_t n, const char *k)
{
    return strlen(k) == n && !memcmp(s, k, n);
}

int xldisk_parse(const char *spec, struct xldisk *d, char *err, size_t errsize)
{
    char val[XLDISK_TARGET_MAX];
    int have_vdev = 0, have_target = 0;
    memset(d, 0, sizeof(*d));
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (!*p)
            break;
        const char *k = p;
        while (*p && *p != '=' && *p != ',')
            p++;
        if (*p != '=')
            return fail(err, errsize, "`%.*s': positional disk parameters are not "
                        "supported, write key=value", (int)(p - k), k);
        size_t kn = (size_t)(p - k);
        while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
            kn--;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        /* target= is the last parameter and takes the rest (xl's rule). */
        int is_target = key_is(k, kn, "target");
        const char *v = p;
        while (*p && (is_target || *p != ','))
            p++;
        size_t vn = (size_t)(p - v);
        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
            vn--;
        if (vn >= sizeof(val))
            return fail(err, errsize, "%.*s: value too long", (int)kn, k);
        memcpy(val, v, vn);
        val[vn] = '\0';
        if (key_is(k, kn, "format")) {
            if (strcmp(val, "raw"))
                return fail(err, errsize, "format=%s: only raw is supported", val);
        } else if (key_is(k, kn, "vdev")) {
            long id = xldisk_devid(val);
            if (id < 0 || vn >= sizeof(d->vdev))
                return fail(err, errsize, "vdev=%s: not a virtual device name (xvda, xvdb1, sda, hda...)",
                            val);
            memcpy(d->vdev, val, vn + 1);
            d->devid = (uint32_t)id;
            have_vdev = 1;
        } else if (key_is(k, kn, "access")) {
            if (!strcmp(val, "ro") || !strcmp(val, "r"))
                d->readonly = 1;
            else if (!strcmp(val, "rw") || !strcmp(val, "w"))
                d->readonly = 0;
            else
                return fail(err, errsize, "access=%s: not ro or rw", val);
        } else if (key_is(k, kn, "devtype")) {
            if (strcmp(val, "disk"))
                return fail(err, errsize, "devtype=%s: only disk is supported", val);
        } else if (key_is(k, kn, "backendtype")) {
            if (strcmp(val, "phy"))
                return fail(err, errsize, "backendtype=%s: only phy is supported", val);
        } else if (is_target) {
            if (xldisk_parse_target(val, &d->t))
                return fail(err, errsize, "target=%s: not DEV or DEV:OFFSET+SIZE (bytes, K/M/G, "
                            "multiples of 512)", val);
            memcpy(d->target, val, vn + 1);
            have_target = 1;
        } else {
            return fail(err, errsize, "unknown disk parameter `%.*s'", (int)kn, k);
        }
    }
    if (!have_vdev)
        return fail(err, errsize, "no vdev= (the guest's name for the disk, e.g. xvda)");
    if (!have_target)
        return fail(err, errsize, "no target= (a dom0 block device, e.g. vda:16M+32M)");
    return 0;
}
