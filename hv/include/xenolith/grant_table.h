/*
 * grant_table.h - grant tables v1 and v2 (GNTTABOP_*), Xen 4.17's ABI:
 * every domain's shared grant entries (and v2 status frames), the hv's
 * active (pinned) state of each entry, and each domain's maptrack (the
 * mappings it holds of others' grants, named by handle).
 * Owns: per-domain grant state (grant_table.c). Must never: let a domain
 * map or copy a frame not granted to it, map a read-only grant writable,
 * or free a frame while a grant mapping still holds it.
 *
 * Frames: the shared entry frames and v2 status frames are owned by their
 * domain (so it can map them with its own L1 entries, writable) but not
 * counted in tot_pages, and the table holds a page + writable-type
 * reference on each (Xen's share_xen_page_with_guest SHARE_rw); active
 * entries and maptrack pages are hv-owned frames. All of it goes back on gnttab_domain_destroy.
 * A grant mapping holds its own page reference (+ PGT_writable type for a
 * writable one) on the granted frame, and the PTE it installed holds the
 * ordinary L1 references page_type.c gives it; both go on unmap.
 */
#ifndef XENOLITH_GRANT_TABLE_H
#define XENOLITH_GRANT_TABLE_H

#include <stdint.h>
#include <xenolith/hypercall.h>

#define GNTTAB_MAX_FRAMES        64 /* Xen 4.17's default max_grant_frames */
#define GNTTAB_INITIAL_FRAMES    1  /* Xen's INITIAL_NR_GRANT_FRAMES */
#define GNTTAB_MAX_MAPTRACK_FRAMES 16
#define GNTTAB_MAX_VERSION       2  /* Xen 4.17's default gnttab=max-ver:2 */

/* Hooks called by domain.c. gnttab_domain_init: after the domain slot is
 * set up in domain_create (allocates the initial frame; 0 or -XL_ENOMEM,
 * on which domain_create should fail and call gnttab_domain_destroy).
 * gnttab_domain_destroy: in domain_destroy after evtchn_domain_destroy
 * and before mm_free_domain_frames; unmaps every grant mapping d holds
 * (its PTEs are left to its own page-table teardown), then frees its
 * table. d's own grants still mapped by others stay mapped: those frames
 * live on as DOMID_ORPHAN until the last unmap. Safe to call twice. */
int gnttab_domain_init(struct domain *d);
void gnttab_domain_destroy(struct domain *d);
/* XEN_DOMCTL_createdomain's max_grant_frames and grant_opts version for
 * d (right after domain_create; boot-built domains keep the defaults,
 * GNTTAB_MAX_FRAMES and GNTTAB_MAX_VERSION, as Xen's dom0). 0, or
 * -XL_EINVAL for limits out of range. */
int gnttab_set_limits(struct domain *d, unsigned int max_frames, unsigned int max_version);

/* Is mfn one of domid's grant-table or status frames? (for memory code
 * that must refuse them as it refuses shared_info; nothing in memory.c
 * calls it yet) */
int gnttab_is_table_frame(uint16_t domid, uint64_t mfn);
/* XENMEM_add_to_physmap's XENMAPSPACE_grant_table: the machine frame of
 * d's table frame idx (grown to idx + 1 if needed, up to its limit), or
 * of its v2 status frame idx (status). 0, -EINVAL, -ENOMEM. */
struct domain;
int gnttab_physmap_frame(struct domain *d, uint64_t idx, int status, uint64_t *mfn);
/* Live grant mappings held by domid / by everyone (for xl info and the
 * create/destroy leak check). */
unsigned int gnttab_nr_mappings(uint16_t domid);
unsigned int gnttab_total_mappings(void);
/* Is pte the host mapping a grant mapping of mfn with GNTMAP_* flags
 * made: that frame, present, and writable exactly when the mapping is?
 * (Xen's check before an unmap clears the PTE.) */
uint64_t gnttab_avail_bits(uint32_t flags);
int gnttab_pte_matches(uint64_t pte, uint64_t mfn, uint32_t flags);

HYPERCALL_DECL(grant_table_op);

#endif
