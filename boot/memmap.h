/*
 * memmap.h - conversion of a UEFI memory map into bootinfo ranges.
 * Owns: the UEFI memory type -> XL_MEM_* policy and the sort/merge rules.
 * Must never: include UEFI headers or call firmware; it runs between the
 * final GetMemoryMap and ExitBootServices and in host unit tests.
 */
#ifndef XENOLITH_BOOT_MEMMAP_H
#define XENOLITH_BOOT_MEMMAP_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/bootinfo.h>

/* Private UEFI memory types (OS-loader range 0x80000000+) the loader uses
 * so the final map can tell its allocations apart. */
#define XL_EFI_MEM_HV   0x80584c48u /* hypervisor image   -> XL_MEM_HV   */
#define XL_EFI_MEM_BOOT 0x80584c42u /* modules, bootinfo  -> XL_MEM_BOOT */

/* XL_MEM_* type for a UEFI memory type. */
uint32_t xl_memmap_type(uint32_t efi_type);

/* Convert map_size bytes of EFI_MEMORY_DESCRIPTORs (stride desc_size) into
 * out[0..max), sorted by base, overlaps clipped, adjacent same-type ranges
 * merged. Does not modify the map. Returns 0 and *nr, -XL_EINVAL for a
 * bad desc_size, or -XL_E2BIG if more than max ranges remain. */
int xl_memmap_from_efi(const void *map, size_t map_size, size_t desc_size,
                       struct xl_mem_range *out, uint32_t max, uint32_t *nr);

#endif
