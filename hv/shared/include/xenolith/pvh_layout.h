/*
 * pvh_layout.h - what both PVH builders (the hv's pvh_build.c for
 * boot-time domains, the toolstack's build_pvh.c for xl) agree on
 * (hv/shared/pvh_layout.c): the kernel's entry note and segments, the
 * start page, vcpu 0's state at the entry.
 */
#ifndef XENOLITH_PVH_LAYOUT_H
#define XENOLITH_PVH_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

struct elf_image;
struct hvm_hw_cpu;

/* The kernel's XEN_ELFNOTE_PHYS32_ENTRY (*entry) and whether it also has
 * a PV entry: PVH_HAS_* bits, 0 for neither. */
#define PVH_HAS_PV_ENTRY  1
#define PVH_HAS_PVH_ENTRY 2
int pvh_elf_entry(const struct elf_image *img, uint64_t *entry);

/* Every PT_LOAD segment lies inside RAM [4 KiB, ram_end) and in the
 * image: 0, or -EINVAL with *why. */
int pvh_check_segments(const struct elf_image *img, uint64_t ram_end, const char **why);

/* Where the ramdisk goes (the top of RAM, page aligned): 0 and *gpa, or
 * -ENOMEM when it would take half the RAM or more. */
int pvh_ramdisk_place(uint64_t ram_end, uint64_t len, uint64_t *gpa);

/* The start page (for guest-physical base, right above RAM): struct
 * hvm_start_info v1, its module list (the ramdisk at rd_gpa, len rd_len;
 * none if rd_len is 0), the memory map (RAM [0, ram_end), reserved
 * [ram_end, ram_end + reserved_pages pages), the ACPI page at acpi_gpa,
 * the RSDP there) and the command line. */
void pvh_start_page(uint8_t page[4096], uint64_t base, uint64_t ram_end, uint64_t reserved_pages,
                    uint64_t acpi_gpa, uint64_t rd_gpa, uint64_t rd_len, const char *cmdline);

/* vcpu 0 at the PVH entry (Xen's docs/misc/pvh.pandoc): 32-bit flat
 * protected mode, paging off, %ebx = the start page. */
void pvh_entry_cpu(struct hvm_hw_cpu *c, uint64_t entry, uint64_t start_info);

#endif
