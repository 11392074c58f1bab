/*
 * mb2.h - the multiboot2 boot path's converter: a multiboot2 information
 * structure (MBI, as GRUB hands it over) -> struct xl_bootinfo.
 * Owns: the multiboot2 tag numbers the hv reads and the module command
 * line convention (docs/boot-info.md, "Multiboot2 path").
 * Must never: depend on where the MBI is mapped; the caller maps it and
 * says how many bytes may be read.
 */
#ifndef XENOLITH_MB2_H
#define XENOLITH_MB2_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/bootinfo.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u /* %eax at the 32-bit entry */
#define MB2_RSDP_MAX         64          /* bytes of the RSDP copy (ACPI 2.0 is 36) */
#define MB2_MAX_MMAP_ENTRIES 512         /* more firmware ranges than this: refused */

/* What the converter needs to know besides the MBI. */
struct mb2_env {
    uint64_t hv_start, hv_end;  /* physical [start, end) of the hv image: XL_MEM_HV */
    uint64_t loader_tsc;        /* TSC read at the 32-bit entry */
    uint8_t *rsdp_buf;          /* MB2_RSDP_MAX bytes that outlive the boot: the RSDP copy */
    uint64_t rsdp_buf_phys;     /* its physical address (bi->rsdp) */
};

/*
 * Convert the MBI at mbi (avail bytes of it may be read; its total_size
 * must fit in them) into *bi. Returns 0, or -XL_EINVAL and a one-line
 * reason in err[errlen] (always NUL-terminated when errlen > 0); *bi is
 * then not to be used. Never reads past min(total_size, avail).
 */
int mb2_to_bootinfo(const void *mbi, size_t avail, const struct mb2_env *env,
                    struct xl_bootinfo *bi, char *err, size_t errlen);

#endif
