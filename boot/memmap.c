/*
 * memmap.c - UEFI memory map -> struct xl_mem_range[] (see memmap.h).
 * Owns: which UEFI types the hv may reuse, and producing a sorted,
 * non-overlapping, merged range list.
 * Must never: call firmware, allocate, or write to the UEFI map; it runs
 * after the final GetMemoryMap, when the map must not change.
 */
#include "memmap.h"
#include <xenolith/errno.h>

/* EFI_MEMORY_DESCRIPTOR (UEFI 2.x), laid out as the firmware writes it. */
struct efi_mdesc {
    uint32_t type;
    uint32_t pad;
    uint64_t phys_start;
    uint64_t virt_start;
    uint64_t nr_pages;
    uint64_t attribute;
};

enum {
    EFI_LOADER_CODE = 1, EFI_LOADER_DATA = 2, EFI_BS_CODE = 3, EFI_BS_DATA = 4,
    EFI_CONVENTIONAL = 7, EFI_ACPI_RECLAIM = 9, EFI_ACPI_NVS = 10,
};

uint32_t xl_memmap_type(uint32_t efi_type)
{
    switch (efi_type) {
    case EFI_LOADER_CODE:
    case EFI_LOADER_DATA:
    case EFI_BS_CODE:
    case EFI_BS_DATA:
    case EFI_CONVENTIONAL:
        return XL_MEM_USABLE;
    case EFI_ACPI_RECLAIM:
        return XL_MEM_ACPI;
    case EFI_ACPI_NVS:
        return XL_MEM_ACPI_NVS;
    case XL_EFI_MEM_HV:
        return XL_MEM_HV;
    case XL_EFI_MEM_BOOT:
        return XL_MEM_BOOT;
    default:
        return XL_MEM_RESERVED;
    }
}

/* Descriptor i of the map. */
static const struct efi_mdesc *desc_at(const void *map, size_t desc_size, size_t i)
{
    return (const struct efi_mdesc *)((const uint8_t *)map + i * desc_size);
}

/* Index of the descriptor with the smallest base >= from (> from if
 * strictly_after), or n if none. A second descriptor with an already seen
 * base is an overlap and is thereby skipped. */
static size_t next_desc(const void *map, size_t desc_size, size_t n, uint64_t from,
                        int strictly_after)
{
    size_t best = n;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = desc_at(map, desc_size, i)->phys_start;
        if (strictly_after ? b <= from : b < from)
            continue;
        if (best == n || b < desc_at(map, desc_size, best)->phys_start)
            best = i;
    }
    return best;
}

/* Append [base, base + len) of type to out, merging or clipping. */
static int emit(struct xl_mem_range *out, uint32_t max, uint32_t *nr,
                uint64_t base, uint64_t len, uint32_t type)
{
    struct xl_mem_range *last = *nr ? &out[*nr - 1] : 0;
    if (last && base < last->base + last->len) {
        uint64_t end = base + len, lend = last->base + last->len;
        if (end <= lend)
            return 0;
        base = lend;
        len = end - lend;
    }
    if (len == 0)
        return 0;
    if (last && last->type == type && last->base + last->len == base) {
        last->len += len;
        return 0;
    }
    if (*nr == max)
        return -XL_E2BIG;
    out[*nr] = (struct xl_mem_range){ base, len, type, 0 };
    (*nr)++;
    return 0;
}

int xl_memmap_from_efi(const void *map, size_t map_size, size_t desc_size,
                       struct xl_mem_range *out, uint32_t max, uint32_t *nr)
{
    size_t n, i;
    uint64_t at = 0;
    int first = 1;

    *nr = 0;
    if (desc_size < sizeof(struct efi_mdesc) || (desc_size & 7))
        return -XL_EINVAL;
    n = map_size / desc_size;
    while ((i = next_desc(map, desc_size, n, at, !first)) < n) {
        const struct efi_mdesc *d = desc_at(map, desc_size, i);
        uint64_t len = d->nr_pages > (UINT64_MAX - d->phys_start) / 4096
                           ? (UINT64_MAX - d->phys_start) & ~0xfffULL
                           : d->nr_pages * 4096;
        int rc = emit(out, max, nr, d->phys_start, len, xl_memmap_type(d->type));
        if (rc)
            return rc;
        at = d->phys_start;
        first = 0;
    }
    return 0;
}
