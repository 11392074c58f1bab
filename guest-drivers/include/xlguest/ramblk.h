/*
 * ramblk.h - a memory-backed block device in dom0 ("ram0"), for tests of
 * blkback before (or besides) a real disk driver. Implemented by
 * guest-drivers/blk/ramdisk.c on xlguest/blkdev.h.
 */
#ifndef XLGUEST_RAMBLK_H
#define XLGUEST_RAMBLK_H

#include <stdint.h>

/* Creates and registers "ram0" of bytes (a multiple of 4 KiB, zeroed)
 * from dom0's free pages. 0, -EEXIST if it exists, -EINVAL for a bad
 * size, -ENOMEM, or blkdev_register's error. */
int ramblk_create(uint64_t bytes);

/* "16M", "512K", "1G", "4096": bytes; 0 or -EINVAL (overflow included). */
int ramblk_parse_size(const char *s, uint64_t *bytes);

#endif
