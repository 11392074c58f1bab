/*
 * platform.h - the one switch between the ways a kit kernel runs: as an
 * x86_64 PV guest (ring 3, start_info, mmu_update, set_trap_table) or in
 * an HVM container (ring 0, its own page tables and IDT, guest-physical
 * frames), started either as a PVH guest (hvm_start_info) or as an HVM
 * guest by a Multiboot loader (xl type = "hvm": multiboot_info). The
 * same ELF carries all three entries (head.S, pvh_head.S); the runtime
 * tests xl_is_pvh at the seams (runtime.c, traps.c, evtchn.c, pages.c,
 * gnttab.c, m2p.h) - it is 1 for PVH and HVM alike, which differ only in
 * how they boot (pvh.c) - and the rest of the kit does not care
 * (docs/hvm.md).
 * Under PVH the runtime hands guest_main a start_info_t of its own making
 * (xl_pvh_start_info): cmd_line, flags (SIF_INITDOMAIN|SIF_PRIVILEGED for
 * dom0), nr_pages (end of usable RAM, at most 1 GiB), mod_start/mod_len
 * (the first module, by virtual address), and for a domU the console and
 * xenstore pages from HVM_PARAM_* as "mfn"s that are guest frames: in a
 * PVH kernel every "mfn" the kit hands out or takes is a gpfn, and
 * mfn_list is 0 (no P2M). Must never: grow PV or PVH logic of its own.
 */
#ifndef XLGUEST_PLATFORM_H
#define XLGUEST_PLATFORM_H

#include <stdint.h>
#include <xen/xen.h>
#include <xlguest/kernel.h>

/* 1 once pvh_start ran (the PVH or the Multiboot entry), 0 in a PV
 * kernel. */
extern int xl_is_pvh;
/* 1 when that was the Multiboot entry (an HVM guest: xl_is_pvh is 1 too,
 * the same container), 0 for PVH and PV. */
extern int xl_is_hvm;

/* The IDT vector of the event-channel callback under PVH
 * (HVM_PARAM_CALLBACK_IRQ, type vector), as Linux's. */
#define XL_PVH_EVENT_VECTOR 0xf3

/* Guest-physical address of a kernel virtual address under PVH (the
 * image and RAM up to 1 GiB are mapped at GUEST_VIRT_BASE + physical). */
static inline uint64_t xl_pvh_virt_to_phys(const void *va)
{
    return (uint64_t)va - 0xffffffff80000000ULL;
}

/* PVH: first pfn after the image and everything the loader put after it
 * (hvm_start_info, command line, modules, memory map), and the end of the
 * highest RAM region below 1 GiB: pages.c hands out the RAM pfns between
 * (xl_pvh_is_ram: in a RAM entry of the memory map). */
extern uint64_t xl_pvh_free_start_pfn, xl_pvh_free_end_pfn;
int xl_pvh_is_ram(uint64_t pfn);

/* PVH part of traps_init: HVM_PARAM_CALLBACK_IRQ = vector
 * XL_PVH_EVENT_VECTOR (needs XENFEAT_hvm_callback_vector), then sti.
 * Xen injects the callback vector whenever evtchn_upcall_pending is set
 * and RFLAGS.IF allows, and ignores evtchn_upcall_mask; the kit keeps the
 * PV meaning of the mask: an upcall that finds it set returns with IF
 * clear (traps.c), and what unmasks in PV turns IF on again
 * (evtchn_enable_upcalls, evtchn_block, SCHEDOP_block: sti). The mask
 * starts set, as a PV vCPU's. */
long xl_pvh_traps_init(void);

/* HVMOP_get_param / HVMOP_set_param on DOMID_SELF. */
long xl_hvm_get_param(uint32_t index, uint64_t *value);
long xl_hvm_set_param(uint32_t index, uint64_t value);

/* XENVER_get_features submap 0 (0 if refused). */
uint32_t xl_xen_features(void);

/* "PV", "PVH" or "HVM": how this kernel was booted. */
static inline const char *xl_boot_mode(void)
{
    return !xl_is_pvh ? "PV" : xl_is_hvm ? "HVM" : "PVH";
}

/* For a test guest made of PV-only checks (page-table types, the GDT,
 * mmu_update, set_trap_table, bounce frames): under PVH or HVM print
 * "SKIP NAME: PV-only checks, booted as PVH" (or HVM) and return 1 (the
 * guest then powers off); 0 in a PV kernel. */
static inline int xl_pvh_refuse(const char *name)
{
    if (!xl_is_pvh)
        return 0;
    printk("SKIP %s: PV-only checks, booted as %s\n", name, xl_boot_mode());
    return 1;
}

/* The common C start both entries join (runtime.c). */
void kernel_start(start_info_t *si);

#endif
