/*
 * cpio.h - reader for the "newc" cpio archive (magic 070701, the format
 * of Linux initramfs images) that dom0 gets as its boot ramdisk: xl.cfg
 * files and domU kernels live in it (docs in README "Using xl").
 * Owns: parsing only; the archive stays where the loader put it.
 * Must never: read past the archive, or trust a header's sizes.
 */
#ifndef DOM0_CPIO_H
#define DOM0_CPIO_H

#include <stddef.h>

struct cpio_entry {
    const char *name;      /* NUL-terminated inside the archive */
    const void *data;
    size_t len;
    unsigned long mode;    /* st_mode from the header */
};

/* Entry number idx (0-based, "TRAILER!!!" ends the list): 1 found,
 * 0 past the end, negative Xen errno (-XEN_EINVAL) for a malformed
 * archive (bad magic, a name or file running past len). */
int cpio_entry_at(const void *arc, size_t len, unsigned int idx, struct cpio_entry *e);

/* The regular file called path ("./" and "/" prefixes ignored on both
 * sides): 0 with data and dlen set, -XEN_ENOENT, or -XEN_EINVAL (malformed). */
int cpio_find(const void *arc, size_t len, const char *path, const void **data, size_t *dlen);

#endif
