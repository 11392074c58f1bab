/*
 * linux_boot.h - direct boot of a Linux bzImage into an HVM guest through
 * the x86 boot protocol's 64-bit entry (Documentation/arch/x86/boot.rst),
 * as QEMU's and Firecracker's direct kernel boot do (hv/shared/linux_boot.c,
 * pure): the setup header read and checked, the zero page (struct
 * boot_params) filled, the protected-mode kernel placed, and the
 * identity-mapped page tables and GDT the 64-bit entry needs.
 */
#ifndef XENOLITH_LINUX_BOOT_H
#define XENOLITH_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

/* The guest-physical layout of a direct boot (below 1 MiB, RAM). */
#define LB_GDT        0x6000ULL  /* null, -, 64-bit code 0x10, data 0x18 */
#define LB_ZERO_PAGE  0x7000ULL  /* struct boot_params */
#define LB_CMDLINE    0x8000ULL  /* up to LB_CMDLINE_MAX bytes */
#define LB_CMDLINE_MAX 2048
#define LB_PML4       0x10000ULL /* PML4, PDPT, 4 PDs: 0-4 GiB 1:1 in 2 MiB pages */
#define LB_PT_PAGES   6

struct linux_boot_plan {
    const uint8_t *kernel;   /* the protected-mode part of the bzImage */
    size_t kernel_len;
    uint64_t load_addr;      /* where it goes (its pref_address, aligned) */
    uint64_t entry;          /* load_addr + 0x200: the 64-bit entry */
    uint64_t init_size;      /* memory it needs from load_addr on */
    uint16_t version;        /* boot protocol version */
};

/* Check a bzImage for the 64-bit entry (protocol >= 2.12, XLF_KERNEL_64)
 * and find what to load where. 0, or -EINVAL with *why. */
int linux_boot_prepare(const uint8_t *bz, size_t len, struct linux_boot_plan *p,
                       const char **why);

/* One E820 entry (the zero page's table; types: 1 RAM, 2 reserved,
 * 3 ACPI). */
struct lb_e820 {
    uint64_t addr, size;
    uint32_t type;
};

/* The zero page: the bzImage's setup header copied, loader type,
 * command line, ramdisk, E820 map (up to 128 entries), ACPI RSDP. */
void linux_boot_zero_page(uint8_t zp[4096], const uint8_t *bz, size_t len, uint64_t initrd_gpa,
                          uint64_t initrd_len, const struct lb_e820 *map, unsigned int nr_map,
                          uint64_t rsdp_gpa);

/* The page tables (LB_PT_PAGES pages, to go at LB_PML4) mapping 0-4 GiB
 * 1:1 with 2 MiB pages, and the GDT page (to go at LB_GDT). */
void linux_boot_page_tables(uint64_t pt[LB_PT_PAGES][512]);
void linux_boot_gdt(uint8_t page[4096]);

#endif
