/*
 * bootinfo.h - the hand-over contract between a boot path (UEFI loader,
 * later multiboot2) and the hypervisor.
 *
 * Owns: the layout of struct xl_bootinfo and its memory map entries.
 * Must never: depend on UEFI or multiboot types; every field is fixed width
 * so the loader (gnu-efi, -fpic, MS ABI calls) and hv agree bit for bit.
 * Documented in docs/boot-info.md.
 */
#ifndef XENOLITH_BOOTINFO_H
#define XENOLITH_BOOTINFO_H

#include <stdint.h>

#define XL_BOOTINFO_MAGIC   0x4f464e494c4e4558ULL /* "XENLINFO" little endian */
#define XL_BOOTINFO_VERSION 1

/* Memory map entry types (a boot-path-neutral subset of UEFI/e820). */
#define XL_MEM_USABLE      1 /* free RAM, hv may use it */
#define XL_MEM_RESERVED    2 /* firmware, MMIO, unusable */
#define XL_MEM_ACPI        3 /* ACPI tables, reclaimable after parsing */
#define XL_MEM_ACPI_NVS    4 /* must be preserved */
#define XL_MEM_BOOT        5 /* loader data: this struct, modules, cmdlines */
#define XL_MEM_HV          6 /* the hypervisor image itself */

struct xl_mem_range {
    uint64_t base;  /* physical byte address, 4 KiB aligned */
    uint64_t len;   /* bytes, multiple of 4 KiB */
    uint32_t type;  /* XL_MEM_* */
    uint32_t pad;
};

#define XL_CMDLINE_MAX   512
#define XL_NAME_MAX      64
#define XL_MAX_MODULES   8
#define XL_MAX_MEMRANGES 256

/* A boot module: an image the loader read into memory, unparsed. */
struct xl_module {
    uint64_t start;                /* physical address, page aligned */
    uint64_t len;                  /* bytes */
    uint32_t kind;                 /* XL_MOD_* */
    uint32_t pad;
    char name[XL_NAME_MAX];        /* file path as in the config, NUL-terminated */
    char cmdline[XL_CMDLINE_MAX];  /* NUL-terminated */
};

#define XL_MOD_DOM0    1 /* dom0 PV kernel (exactly one) */
#define XL_MOD_RAMDISK 2 /* dom0 initrd / module (start_info.mod_start) */
#define XL_MOD_DOMU    3 /* boot-time unprivileged PV kernel */

struct xl_framebuffer {
    uint64_t base;      /* physical address, 0 if none */
    uint64_t size;      /* bytes */
    uint32_t width, height, pitch; /* pitch in pixels per scan line */
    uint32_t format;    /* 0 = RGBx 8:8:8, 1 = BGRx 8:8:8 */
};

struct xl_bootinfo {
    uint64_t magic;      /* XL_BOOTINFO_MAGIC */
    uint32_t version;    /* XL_BOOTINFO_VERSION */
    uint32_t size;       /* sizeof(struct xl_bootinfo) as the loader saw it */
    uint64_t rsdp;       /* physical address of the ACPI RSDP, 0 if none */
    uint64_t loader_tsc; /* TSC read just before jumping to the hv */
    char boot_path[16];  /* "uefi" or "multiboot2" */
    char hv_cmdline[XL_CMDLINE_MAX];
    struct xl_framebuffer fb;
    uint32_t nr_modules;
    uint32_t nr_ranges;
    struct xl_module modules[XL_MAX_MODULES];
    struct xl_mem_range ranges[XL_MAX_MEMRANGES]; /* sorted by base, non-overlapping */
};

/*
 * Hypervisor entry contract (UEFI path): 64-bit long mode, paging on with
 * an identity map covering the hv image and this struct, interrupts off,
 * boot services exited. %rdi = physical address of struct xl_bootinfo.
 * The hv ELF is loaded at its p_paddr addresses and entered at the
 * *physical* address of symbol `hv_entry64` given by the ELF header's
 * e_entry (which the linker script sets to a physical address).
 */

#endif
