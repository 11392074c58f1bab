/*
 * cpio.c - newc cpio reader for dom0's ramdisk (see cpio.h). A header is
 * "070701" and 13 fields of 8 hex digits (ino mode uid gid nlink mtime
 * filesize devmajor devminor rdevmajor rdevminor namesize check), then
 * the name (namesize bytes with its NUL) padded to 4, then the data
 * padded to 4. Owns: bounds-checked parsing. Must never: read outside
 * [arc, arc + len) whatever the headers say.
 */
#include <xen/errno.h>
#include "cpio.h"

#define HDR_LEN 110

static int hex8(const char *p, unsigned long *out)
{
    unsigned long v = 0;
    for (int i = 0; i < 8; i++) {
        char c = p[i];
        unsigned int d;
        if (c >= '0' && c <= '9')
            d = (unsigned int)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned int)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned int)(c - 'A' + 10);
        else
            return -XEN_EINVAL;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t pad4(size_t x)
{
    return (x + 3) & ~(size_t)3;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Parse the header at off; on success fills e and *next. */
static int parse_at(const char *a, size_t len, size_t off, struct cpio_entry *e, size_t *next)
{
    static const char magic[6] = { '0', '7', '0', '7', '0', '1' };
    unsigned long f[13];
    if (off > len || len - off < HDR_LEN)
        return -XEN_EINVAL;
    for (int i = 0; i < 6; i++)
        if (a[off + i] != magic[i])
            return -XEN_EINVAL;
    for (int i = 0; i < 13; i++)
        if (hex8(a + off + 6 + 8 * i, &f[i]))
            return -XEN_EINVAL;
    unsigned long namesize = f[11], filesize = f[6];
    size_t name_off = off + HDR_LEN;
    if (namesize == 0 || namesize > len - name_off)
        return -XEN_EINVAL;
    if (a[name_off + namesize - 1] != '\0')
        return -XEN_EINVAL;
    size_t data_off = pad4(name_off + namesize);
    if (data_off > len || filesize > len - data_off)
        return -XEN_EINVAL;
    e->name = a + name_off;
    e->data = a + data_off;
    e->len = filesize;
    e->mode = f[1];
    *next = pad4(data_off + filesize);
    return 0;
}

int cpio_entry_at(const void *arc, size_t len, unsigned int idx, struct cpio_entry *e)
{
    size_t off = 0, next;
    for (unsigned int i = 0;; i++) {
        int rc = parse_at(arc, len, off, e, &next);
        if (rc)
            return rc;
        if (streq(e->name, "TRAILER!!!"))
            return 0;
        if (i == idx)
            return 1;
        if (next <= off)
            return -XEN_EINVAL;
        off = next;
    }
}

static const char *strip(const char *p)
{
    for (;;) {
        if (p[0] == '.' && p[1] == '/')
            p += 2;
        else if (p[0] == '/')
            p++;
        else
            return p;
    }
}

int cpio_find(const void *arc, size_t len, const char *path, const void **data, size_t *dlen)
{
    struct cpio_entry e;
    const char *want = strip(path);
    for (unsigned int i = 0;; i++) {
        int rc = cpio_entry_at(arc, len, i, &e);
        if (rc <= 0)
            return rc ? rc : -XEN_ENOENT;
        if ((e.mode & 0170000) == 0100000 && streq(strip(e.name), want)) {
            *data = e.data;
            *dlen = e.len;
            return 0;
        }
    }
}
