/*
 * guest_access.h - reading and writing a PV guest's virtual memory from
 * the hypervisor by walking the guest's own page tables in software, so a
 * bad guest pointer is an -EFAULT return, never a hypervisor fault.
 */
#ifndef XENOLITH_GUEST_ACCESS_H
#define XENOLITH_GUEST_ACCESS_H

#include <stddef.h>
#include <stdint.h>

/* Translate guest virtual va under page-table root cr3 (machine address)
 * to a machine address. Every level must be present and user-accessible
 * (and writable when write is set). Returns 0 and sets *maddr, or
 * -XL_EFAULT. */
int guest_translate(uint64_t cr3, uint64_t va, int write, uint64_t *maddr);
/* The same, also giving the leaf entry used (its slot in the L1, or the
 * L2/L3 entry of a superpage), so a caller that keeps the translation
 * can see that entry change. */
int guest_translate_leaf(uint64_t cr3, uint64_t va, int write, uint64_t *maddr, uint64_t **leaf);

/* Copy len bytes between hv memory and guest virtual memory. Return 0 or
 * -XL_EFAULT (some bytes may have been copied before the fault). */
int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t src_va, size_t len);
int copy_to_guest_va(uint64_t cr3, uint64_t dst_va, const void *src, size_t len);

/* Is va a canonical address outside the hv's reserved PML4 slots? */
int guest_va_ok(uint64_t va);

#endif
