/*
 * mb1_layout.h - Multiboot (version 1) between an HVM domain builder and
 * the kernel it starts, as QEMU's direct kernel boot (-kernel) of a
 * Multiboot kernel does it (hv/shared/mb1_layout.c): the header in the
 * image's first 8 KiB, the ELF's PT_LOAD segments, the information
 * structure with its memory map and module list, vcpu 0 at the entry.
 * The guest kit reads the same structures (guest-drivers/kernel/pvh.c)
 * and its head.S takes the constants (__ASSEMBLY__).
 */
#ifndef XENOLITH_MB1_LAYOUT_H
#define XENOLITH_MB1_LAYOUT_H

#define MB1_HEADER_MAGIC     0x1BADB002 /* in the image */
#define MB1_BOOTLOADER_MAGIC 0x2BADB002 /* %eax at the entry */
#define MB1_SEARCH           8192        /* the header lies in the first 8 KiB */

/* Header flags: bits 0-15 are demands a loader must meet or refuse. */
#define MB1_HF_PAGE_ALIGN  0x00000001 /* modules page aligned */
#define MB1_HF_MEMORY_INFO 0x00000002 /* mem_* (and the memory map) */
#define MB1_HF_VIDEO_MODE  0x00000004 /* a graphics mode: not given here */
#define MB1_HF_AOUT_KLUDGE 0x00010000 /* the address fields are valid */

/* multiboot_info.flags */
#define MB1_INFO_MEMORY  0x00000001 /* mem_lower, mem_upper */
#define MB1_INFO_CMDLINE 0x00000004
#define MB1_INFO_MODS    0x00000008
#define MB1_INFO_MEM_MAP 0x00000040

#ifndef __ASSEMBLY__
#include <stddef.h>
#include <stdint.h>

struct mb1_header {
    uint32_t magic, flags, checksum;
    /* MB1_HF_AOUT_KLUDGE */
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper; /* KiB below 1 MiB, KiB from 1 MiB to the first hole */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name, apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
};

struct mb1_module {
    uint32_t mod_start, mod_end, string, reserved;
};

/* A memory map entry: size (of the rest, 20) comes first. */
struct __attribute__((packed)) mb1_mmap_entry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type; /* 1 RAM, 2 reserved, 3 ACPI */
};

/* Where the information page keeps its parts (offsets from its base). */
#define MB1_PAGE_MODS    128
#define MB1_PAGE_MMAP    256
#define MB1_PAGE_CMDLINE 512

#define MB1_MAX_SEGMENTS 8

struct mb1_segment {
    uint64_t paddr, offset, filesz, memsz;
};

/* What a builder loads and where it starts. */
struct mb1_plan {
    struct mb1_header hdr;
    size_t hdr_offset;
    struct mb1_segment seg[MB1_MAX_SEGMENTS];
    unsigned int nseg;
    uint32_t entry;
};

/* The image's Multiboot header (4-byte aligned in the first 8 KiB,
 * magic, checksum): 0 with *h and *offset, or -ENOEXEC if it has none. */
int mb1_find_header(const uint8_t *img, size_t len, struct mb1_header *h, size_t *offset);

/* The plan for a Multiboot ELF64 kernel in RAM [0, ram_end): its header
 * (demands a builder cannot meet, a video mode, refused), the ELF's
 * PT_LOAD segments (read byte-wise: the image need not be aligned; each
 * inside the image and inside RAM above the first page), the entry: the
 * header's entry_addr when it has the address fields (which must then
 * agree with the segments: load_addr the lowest p_paddr, bss_end_addr
 * past the highest end), else a 32-bit e_entry; either inside a loaded
 * segment. 0, -ENOEXEC (not an ELF with a Multiboot header) or -EINVAL,
 * with *why. */
int mb1_prepare(const uint8_t *img, size_t len, uint64_t ram_end, struct mb1_plan *p,
                const char **why);

/* The information page for guest-physical base (right above RAM):
 * struct mb1_info with MEMORY (mem_lower 636 KiB, mem_upper to ram_end),
 * MEM_MAP (low RAM, the legacy hole, RAM, the reserved_pages above it,
 * the ACPI page at acpi_gpa), CMDLINE (always: empty if none) and, with a
 * ramdisk (rd_len > 0), MODS: one module [rd_gpa, rd_gpa + rd_len). */
void mb1_info_page(uint8_t page[4096], uint64_t base, uint64_t ram_end, uint64_t reserved_pages,
                   uint64_t acpi_gpa, uint64_t rd_gpa, uint64_t rd_len, const char *cmdline);

/* vcpu 0 at the entry: the PVH entry state (32-bit flat protected mode,
 * paging off) with %eax = MB1_BOOTLOADER_MAGIC, %ebx = the info page. */
struct hvm_hw_cpu;
void mb1_entry_cpu(struct hvm_hw_cpu *c, uint32_t entry, uint64_t info);

#endif /* __ASSEMBLY__ */
#endif
