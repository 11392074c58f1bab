/*
 * gnttab.h - grant tables v1 from a guest kernel built with the kit:
 * granting our own frames to another domain (the shared table mapped
 * from GNTTABOP_setup_table) and mapping other domains' grants at a
 * virtual address with GNTTABOP_map_grant_ref / unmap_grant_ref.
 */
#ifndef XLGUEST_GNTTAB_H
#define XLGUEST_GNTTAB_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

/* Frames of our table the kit maps (512 v1 entries each). */
#define GNTTAB_KIT_FRAMES 1
/* Refs 0-7 are reserved as in Xen (GNTTAB_NR_RESERVED_ENTRIES; ref 1 is
 * the toolstack's xenstore grant); the kit hands out 8 and up. */
#define GNTTAB_FIRST_REF 8

/* setup_table for GNTTAB_KIT_FRAMES frames and map them. 0 or a negative
 * Xen errno (-EIO with the GNTST code lost if the status is not okay). */
long gnttab_init(void);

/* Let domid map (or copy) the frame mfn, read-only if readonly. Returns
 * the grant reference, or -ENOSPC when the table is full, -EINVAL before
 * gnttab_init. */
long gnttab_grant_access(domid_t domid, uint64_t mfn, int readonly);
/* Revoke a grant: -EBUSY while the other side still has it mapped
 * (GTF_reading/GTF_writing, checked and cleared in one compare-exchange
 * as Xen's guests do), -EINVAL for a ref we did not hand out. */
long gnttab_end_access(grant_ref_t ref);
/* GTF_* flags of one of our entries (0 for an invalid ref). */
uint16_t gnttab_flags(grant_ref_t ref);

/* Map domid's grant ref at va (page aligned, ours) with
 * GNTMAP_host_map [| GNTMAP_readonly]. 0 and *handle, or a negative Xen
 * errno: the hypercall's, or -EIO when the GNTST status is not okay;
 * *status (may be NULL) gets the GNTST code either way. */
long gnttab_map(domid_t domid, grant_ref_t ref, void *va, int readonly,
                grant_handle_t *handle, int16_t *status);
/* Unmap it; if va lies in the kernel image, its own frame (from the P2M)
 * is mapped back so the page is usable again. Same returns as map. */
long gnttab_unmap(void *va, grant_handle_t handle, int16_t *status);

/* GNTTABOP_copy of count ops (each one's status in ops[i].status):
 * 0, or the hypercall's negative Xen errno (then no status is valid). */
long gnttab_copy(struct gnttab_copy *ops, unsigned int count);

#endif
