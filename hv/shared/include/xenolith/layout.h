/*
 * layout.h - where the hypervisor lives in physical and virtual memory.
 * Owns: the constants of the hv address space (docs/memory-layout.md).
 * Usable from C and assembly.
 */
#ifndef XENOLITH_LAYOUT_H
#define XENOLITH_LAYOUT_H

#define PAGE_SHIFT 12
#define PAGE_SIZE  0x1000

/* The hv image is linked for physical 16 MiB and runs through the direct
 * map, so for hv memory virt = phys + DIRECTMAP_BASE. */
#define HV_PHYS_BASE    0x4000000 /* 64 MiB: OVMF keeps boot data below ~21 MiB */
#define DIRECTMAP_BASE  0xFFFF830000000000 /* PML4 slot 262, as Xen's */
#define DIRECTMAP_SLOT  262
/* Read-only machine-to-phys table, as the Xen ABI fixes it. */
#define M2P_BASE        0xFFFF800000000000 /* PML4 slot 256 */
/* PML4 slots the hv owns in every address space (HYPERVISOR_VIRT_START..END). */
#define HV_SLOT_FIRST   256
#define HV_SLOT_LAST    271
/* The boot page tables map the first BOOT_MAP_GIB GiB with 2 MiB pages. */
#define BOOT_MAP_GIB    4

#define HV_STACK_SIZE   0x8000

/* Selectors: the hypervisor's are Xen's (__HYPERVISOR_CS/DS); the guest's
 * FLAT_RING3_* come from the public headers. */
#define HV_CS   0xe008
#define HV_DS   0xe010
#define HV_TSS  0xe040
#define GDT_FIRST_RESERVED 0xe000

#endif
