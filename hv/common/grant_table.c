/*
 * grant_table.c - grant tables v1 and v2 for PV domains (see
 * grant_table.h): setup_table, query_size, map_grant_ref /
 * unmap_grant_ref (host mappings by virtual address or by PTE machine
 * address, and device mappings), copy (v2: full-page, sub-page and
 * transitive grants), set_version / get_version / get_status_frames,
 * with Xen 4.17's GNTST_* statuses and GTF_reading / GTF_writing updates
 * in the shared entries (v1) or the status frames (v2).
 * Owns: each domain's grant frames, active entries and maptrack. Must
 * never: pin an entry whose type/domid do not name the caller, pin a
 * GTF_readonly entry for writing, write a PTE except through mmu.c's
 * mm_l1_update (mm_pt_update's rules, so page-type rules hold), or drop
 * a page reference it did not take.
 *
 * State lives here, indexed by domid (struct domain is not ours). A
 * maptrack entry records the granter's generation; when the granter has
 * been destroyed (or its domid reused) unmapping still releases the PTE
 * and the page references but touches no active entry.
 */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/grant_table.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xenolith/tlbflush.h>
#include <xen/grant_table.h>

#define SHGNT_V1 (PAGE_SIZE / sizeof(grant_entry_v1_t)) /* 512 entries a frame */
#define SHGNT_V2 (PAGE_SIZE / sizeof(grant_entry_v2_t)) /* 256 */
#define STGNT    (PAGE_SIZE / sizeof(grant_status_t))   /* 2048 status words a frame */
#define ENTRIES_PER_FRAME SHGNT_V1 /* the most a frame holds: sizes the active table */
#define MAX_STATUS_FRAMES ((GNTTAB_MAX_FRAMES * SHGNT_V2 + STGNT - 1) / STGNT)
#define CMD_MASK          0xfffu /* Xen's GNTTABOP_CMD_MASK */
#define PIN_MAX           0x7fffu

_Static_assert(sizeof(grant_entry_v2_t) == 16, "v2 entries are 16 bytes");

/* Pins of one entry (Xen's active_grant_entry, host and device pins
 * together: GTF_* only care about reading vs writing). */
struct active {
    uint16_t pins_ro, pins_rw;
    uint16_t domid;      /* the domain holding the pins */
    uint16_t start;      /* the part of the frame granted (v2 sub-page) */
    uint16_t length;
    uint8_t is_sub_page; /* a sub-page or transitive grant: copy only */
    uint8_t pad;
    uint16_t trans_dom;  /* transitive: the domain and ref the frame */
    uint32_t trans_gref; /* comes from (else the granter and this ref) */
    uint64_t mfn;        /* the frame pinned at the first pin */
};
#define ACTIVE_PER_FRAME (PAGE_SIZE / sizeof(struct active))
#define ACTIVE_FRAMES_PER_GRANT_FRAME (ENTRIES_PER_FRAME / ACTIVE_PER_FRAME)

/* One mapping this domain holds of someone's grant. flags == 0: free. */
struct maptrack {
    uint32_t flags; /* GNTMAP_host_map/device_map/readonly/contains_pte */
    uint16_t domid; /* granter */
    uint16_t pad;
    uint32_t ref;
    uint32_t gen;   /* granter's generation at map time */
    uint64_t mfn;
};
#define MAPTRACK_PER_FRAME (PAGE_SIZE / sizeof(struct maptrack))
#define MT_KEEP (GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly | GNTMAP_contains_pte)

struct gnttab {
    int live;
    unsigned int max_frames;  /* createdomain's max_grant_frames (default 64) */
    unsigned int max_version; /* createdomain's grant_opts version (default 2) */
    unsigned int version;     /* 1 or 2 (GNTTABOP_set_version) */
    unsigned int nr_status;   /* v2: status frames, shared like the table frames */
    uint64_t status[MAX_STATUS_FRAMES];
    unsigned int nr_frames;
    uint64_t frames[GNTTAB_MAX_FRAMES];
    uint64_t active[GNTTAB_MAX_FRAMES * ACTIVE_FRAMES_PER_GRANT_FRAME];
    unsigned int nr_maptrack;
    uint64_t maptrack[GNTTAB_MAX_MAPTRACK_FRAMES];
    unsigned int mappings;
};

static struct gnttab gts[MAX_DOMAINS];
static uint32_t gens[MAX_DOMAINS]; /* bumped on every destroy */
static unsigned int total_mappings;

/* ---- tables ---- */

static unsigned int nr_entries(const struct gnttab *gt)
{
    return gt->nr_frames * (unsigned int)(gt->version == 2 ? SHGNT_V2 : SHGNT_V1);
}

/* Entry ref laid out as v1 / v2, whatever the version in force. */
static grant_entry_v1_t *entry_v1(const struct gnttab *gt, uint32_t ref)
{
    return (grant_entry_v1_t *)mfn_to_virt(gt->frames[ref / SHGNT_V1]) + ref % SHGNT_V1;
}

static grant_entry_v2_t *entry_v2(const struct gnttab *gt, uint32_t ref)
{
    return (grant_entry_v2_t *)mfn_to_virt(gt->frames[ref / SHGNT_V2]) + ref % SHGNT_V2;
}

/* flags and domid: the same first 4 bytes in both layouts. */
static grant_entry_header_t *entry_hdr(const struct gnttab *gt, uint32_t ref)
{
    return gt->version == 2 ? &entry_v2(gt, ref)->hdr : (grant_entry_header_t *)entry_v1(gt, ref);
}

/* Where GTF_reading / GTF_writing live: the entry's flags (v1), or its
 * word in the status frames (v2). */
static uint16_t *status_of(const struct gnttab *gt, uint32_t ref)
{
    if (gt->version == 2)
        return (uint16_t *)mfn_to_virt(gt->status[ref / STGNT]) + ref % STGNT;
    return &entry_hdr(gt, ref)->flags;
}

static struct active *active_entry(const struct gnttab *gt, uint32_t ref)
{
    return (struct active *)mfn_to_virt(gt->active[ref / ACTIVE_PER_FRAME]) +
           ref % ACTIVE_PER_FRAME;
}

static struct maptrack *maptrack_entry(const struct gnttab *gt, uint32_t handle)
{
    return (struct maptrack *)mfn_to_virt(gt->maptrack[handle / MAPTRACK_PER_FRAME]) +
           handle % MAPTRACK_PER_FRAME;
}

static struct gnttab *gt_of(uint16_t domid)
{
    return domid < MAX_DOMAINS ? &gts[domid] : NULL;
}

/* Drop the table's own reference on a frame shared with its domain. The
 * frame was never counted in tot_pages, so a decrease_reservation of it
 * (PGF_removed) must not take it off tot_pages when it is freed: the
 * flag goes first. Still mapped by the domain, it stays the domain's
 * (freed with its other frames); else it is freed now. */
static void put_shared_frame(uint64_t mfn)
{
    frame_table[mfn].flags &= (uint8_t)~PGF_removed;
    put_page_and_type(mfn);
    if (frame_table[mfn].owner != DOMID_FREE && !frame_table[mfn].count)
        mm_free_frame(mfn); /* (an orphan was freed by put_page already) */
}

/* A frame shared with domid (Xen's share_xen_page_with_guest SHARE_rw):
 * its own, not in tot_pages, the writable type held for its life here. */
static int64_t alloc_shared_frame(uint16_t domid)
{
    int64_t f = mm_alloc_frame(domid);
    if (f < 0)
        return -XL_ENOMEM;
    if (get_page_and_type((uint64_t)f, domid, PGT_writable)) {
        mm_free_frame((uint64_t)f);
        return -XL_ENOMEM;
    }
    return f;
}

static unsigned int status_frames_for(unsigned int nr_frames)
{
    return (unsigned int)((nr_frames * SHGNT_V2 + STGNT - 1) / STGNT);
}

/* Status frames down to n (the ones above must be unmapped). */
/* A translated domain may hold a shared frame in its p2m (it put it
 * there with XENMEM_add_to_physmap; the M2P names the one place): the
 * frame leaves it before it is freed, as Xen's
 * gnttab_unpopulate_status_frames takes it out of the physmap. The p2m
 * holds no page reference, so nothing else would notice it. */
static void leave_physmap(uint16_t domid, uint64_t mfn)
{
    struct domain *d = domain_by_id(domid);
    if (!d || !d->hvm)
        return;
    uint64_t gfn = m2p_get(mfn);
    if (gfn != ~0ULL && hvm_gfn_to_mfn(d, gfn) == (int64_t)mfn)
        hvm_unmap_gfn(d, gfn, NULL);
    m2p_set(mfn, ~0ULL);
}

static void shrink_status(uint16_t domid, unsigned int n)
{
    struct gnttab *gt = &gts[domid];
    while (gt->nr_status > n) {
        gt->nr_status--;
        leave_physmap(domid, gt->status[gt->nr_status]);
        put_shared_frame(gt->status[gt->nr_status]);
        gt->status[gt->nr_status] = 0;
    }
}

/* Enough status frames for nr_frames table frames (Xen's
 * gnttab_populate_status_frames); all or nothing. */
static int grow_status(uint16_t domid, unsigned int nr_frames)
{
    struct gnttab *gt = &gts[domid];
    unsigned int want = status_frames_for(nr_frames), had = gt->nr_status;
    while (gt->nr_status < want) {
        int64_t f = alloc_shared_frame(domid);
        if (f < 0) {
            shrink_status(domid, had);
            return -XL_ENOMEM;
        }
        gt->status[gt->nr_status++] = (uint64_t)f;
    }
    return 0;
}

/* Grow domid's table to n frames (n <= GNTTAB_MAX_FRAMES), and in v2 its
 * status frames with it. */
static int grow_table(uint16_t domid, unsigned int n)
{
    struct gnttab *gt = &gts[domid];
    unsigned int had_status = gt->nr_status;
    if (gt->version == 2 && grow_status(domid, n))
        return -XL_ENOMEM;
    while (gt->nr_frames < n) {
        unsigned int i = gt->nr_frames;
        int64_t f = mm_alloc_frame(domid);
        if (f < 0)
            return -XL_ENOMEM;
        int64_t a[ACTIVE_FRAMES_PER_GRANT_FRAME];
        unsigned int k;
        for (k = 0; k < ACTIVE_FRAMES_PER_GRANT_FRAME; k++) {
            a[k] = mm_alloc_frame(DOMID_HV_OWNED);
            if (a[k] < 0)
                break;
        }
        /* The hv writes GTF_* flags into these frames: like shared_info they
         * hold a writable type for their whole life, so the guest can never
         * make one of them a page table or descriptor table. */
        if (k < ACTIVE_FRAMES_PER_GRANT_FRAME ||
            get_page_and_type((uint64_t)f, domid, PGT_writable)) {
            while (k-- > 0)
                mm_free_frame((uint64_t)a[k]);
            mm_free_frame((uint64_t)f);
            if (gt->version == 2) {
                unsigned int keep = status_frames_for(gt->nr_frames);
                shrink_status(domid, keep > had_status ? keep : had_status);
            }
            return -XL_ENOMEM;
        }
        gt->frames[i] = (uint64_t)f;
        for (k = 0; k < ACTIVE_FRAMES_PER_GRANT_FRAME; k++)
            gt->active[i * ACTIVE_FRAMES_PER_GRANT_FRAME + k] = (uint64_t)a[k];
        gt->nr_frames = i + 1;
    }
    return 0;
}

int gnttab_domain_init(struct domain *d)
{
    struct gnttab *gt = gt_of(d->domid);
    if (!gt)
        return -XL_EINVAL;
    if (gt->live)
        gnttab_domain_destroy(d);
    memset(gt, 0, sizeof(*gt));
    gt->live = 1;
    gt->max_frames = GNTTAB_MAX_FRAMES;
    gt->max_version = GNTTAB_MAX_VERSION;
    gt->version = 1;
    return grow_table(d->domid, GNTTAB_INITIAL_FRAMES);
}

int gnttab_set_limits(struct domain *d, unsigned int max_frames, unsigned int max_version)
{
    struct gnttab *gt = gt_of(d->domid);
    if (!gt || !gt->live || max_frames < gt->nr_frames || max_frames > GNTTAB_MAX_FRAMES ||
        !max_version || max_version > GNTTAB_MAX_VERSION)
        return -XL_EINVAL;
    gt->max_frames = max_frames;
    gt->max_version = max_version;
    return 0;
}

int gnttab_physmap_frame(struct domain *d, uint64_t idx, int status, uint64_t *mfn)
{
    struct gnttab *gt = gt_of(d->domid);
    if (!gt || !gt->live)
        return -XL_EINVAL;
    if (status) {
        if (gt->version != 2 || idx >= gt->nr_status)
            return -XL_EINVAL;
        *mfn = gt->status[idx];
        return 0;
    }
    if (idx >= gt->max_frames)
        return -XL_EINVAL;
    if (idx >= gt->nr_frames && grow_table(d->domid, (unsigned int)idx + 1))
        return -XL_ENOMEM;
    *mfn = gt->frames[idx];
    return 0;
}

int gnttab_is_table_frame(uint16_t domid, uint64_t mfn)
{
    const struct gnttab *gt = gt_of(domid);
    if (!gt)
        return 0;
    for (unsigned int i = 0; i < gt->nr_frames; i++)
        if (gt->frames[i] == mfn)
            return 1;
    for (unsigned int i = 0; i < gt->nr_status; i++)
        if (gt->status[i] == mfn)
            return 1;
    return 0;
}

unsigned int gnttab_nr_mappings(uint16_t domid)
{
    const struct gnttab *gt = gt_of(domid);
    return gt ? gt->mappings : 0;
}

unsigned int gnttab_total_mappings(void)
{
    return total_mappings;
}

/* The granter's table if the domain that granted still exists (same
 * generation), else NULL. */
static struct gnttab *granter_of(const struct maptrack *mt)
{
    struct gnttab *gt = gt_of(mt->domid);
    if (!gt || !gt->live || gens[mt->domid] != mt->gen || !domain_by_id(mt->domid))
        return NULL;
    return gt;
}

/* ---- pins and status flags (Xen's _set_status_v1/_v2, reduce_status_for_pin) ---- */

/* Is an entry with this header usable for a new pin by ldomid (for
 * reading, and writing unless ro)? pinned: the entry already has pins, so
 * only the readonly rule applies. */
static int entry_allows(const struct gnttab *gt, uint16_t flags, uint16_t domid, int ro,
                        int mapflag, uint16_t ldomid, int pinned)
{
    uint16_t mask = GTF_type_mask | (mapflag ? GTF_sub_page : 0);
    int ok_type = (flags & mask) == GTF_permit_access ||
                  (gt->version == 2 && !mapflag && (flags & mask) == GTF_transitive);
    if (!pinned && (!ok_type || domid != ldomid))
        return 0;
    return ro || !(flags & GTF_readonly);
}

/* Mark entry ref of gt pinned by ldomid for reading (and writing unless
 * ro). Before the first pin the entry must be a permit_access grant to
 * ldomid (for a mapping not sub_page; v2 copies also take transitive); a
 * writer needs !GTF_readonly.
 * The granter may change the entry on another CPU at the same moment
 * (gnttab_end_foreign_access: cmpxchg of flags to 0 unless GTF_reading
 * or GTF_writing is set), so, as Xen's _set_status_v1/_v2: v1 sets the
 * bits with a compare-exchange of flags+domid that fails if the entry
 * changed since it was checked (a few tries, then an error: an entry
 * that keeps changing is the granter's problem); v2 sets the bits in the
 * status word first, then looks at the entry again and takes them back
 * if it no longer allows the pin. Either way the granter never ends
 * access to an entry this pin goes on to use. */
static int set_status(const struct gnttab *gt, uint32_t ref, const struct active *a, int ro,
                      int mapflag, uint16_t ldomid)
{
    grant_entry_header_t *h = entry_hdr(gt, ref);
    int pinned = a->pins_ro + a->pins_rw != 0;
    uint16_t bits = (uint16_t)(GTF_reading | (ro ? 0 : GTF_writing));
    if (gt->version == 1) {
        uint32_t *w = (uint32_t *)h; /* flags (low half), domid (high half) */
        uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        for (int tries = 0; tries < 4; tries++) {
            if (!entry_allows(gt, (uint16_t)old, (uint16_t)(old >> 16), ro, mapflag, ldomid,
                              pinned))
                return GNTST_general_error;
            if (__atomic_compare_exchange_n(w, &old, old | bits, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                return GNTST_okay;
        }
        return GNTST_general_error; /* the entry keeps changing under us */
    }
    uint16_t flags = __atomic_load_n(&h->flags, __ATOMIC_ACQUIRE);
    if (!entry_allows(gt, flags, __atomic_load_n(&h->domid, __ATOMIC_ACQUIRE), ro, mapflag,
                      ldomid, pinned))
        return GNTST_general_error;
    uint16_t *st = status_of(gt, ref);
    __atomic_fetch_or(st, bits, __ATOMIC_SEQ_CST);
    /* again, after the bits are visible to the granter */
    flags = __atomic_load_n(&h->flags, __ATOMIC_SEQ_CST);
    if (!entry_allows(gt, flags, __atomic_load_n(&h->domid, __ATOMIC_ACQUIRE), ro, mapflag,
                      ldomid, pinned)) {
        uint16_t undo = 0;
        if (!ro && !a->pins_rw)
            undo |= GTF_writing;
        if (!pinned)
            undo |= GTF_reading;
        __atomic_fetch_and(st, (uint16_t)~undo, __ATOMIC_SEQ_CST);
        return GNTST_general_error;
    }
    return GNTST_okay;
}

/* Drop the status bits the pins no longer need (atomically: the granter
 * writes the other bits of a v1 entry's flags meanwhile). */
static void clear_status(const struct gnttab *gt, uint32_t ref, const struct active *a, int ro)
{
    uint16_t clear = 0;
    if (!ro && !a->pins_rw)
        clear |= GTF_writing;
    if (!a->pins_ro && !a->pins_rw)
        clear |= GTF_reading;
    if (ref < nr_entries(gt))
        __atomic_fetch_and(status_of(gt, ref), (uint16_t)~clear, __ATOMIC_SEQ_CST);
}

/* The frame a (non-transitive) entry names, as of the version in force. */
static uint64_t entry_frame(const struct gnttab *gt, uint32_t ref)
{
    if (gt->version == 1)
        return entry_v1(gt, ref)->frame;
    const grant_entry_v2_t *e = entry_v2(gt, ref);
    return (e->hdr.flags & GTF_sub_page) ? e->sub_page.frame : e->full_page.frame;
}

/* Pin entry ref of granter rd for a mapping by ldomid, n times (ro or rw),
 * returning the frame. Takes no page references. */
static int pin_entry(uint16_t rd, uint32_t ref, uint16_t ldomid, int ro, unsigned int n,
                     uint64_t *mfn)
{
    struct gnttab *gt = &gts[rd];
    if (ref >= nr_entries(gt))
        return GNTST_bad_gntref;
    struct active *a = active_entry(gt, ref);
    unsigned int pins = a->pins_ro + a->pins_rw;
    if (pins && (a->domid != ldomid || (ro ? a->pins_ro : a->pins_rw) + n > PIN_MAX ||
                 a->is_sub_page))
        return GNTST_general_error;
    if (!pins || (!ro && !a->pins_rw)) {
        int rc = set_status(gt, ref, a, ro, 1, ldomid);
        if (rc)
            return rc;
        if (!pins) {
            uint64_t f = entry_frame(gt, ref);
            if (f >= max_mfn || frame_table[f].owner != rd) {
                clear_status(gt, ref, a, ro);
                return GNTST_bad_page;
            }
            *a = (struct active){ .domid = ldomid, .start = 0, .length = PAGE_SIZE,
                                  .trans_dom = rd, .trans_gref = ref, .mfn = f };
        }
    }
    if (ro)
        a->pins_ro = (uint16_t)(a->pins_ro + n);
    else
        a->pins_rw = (uint16_t)(a->pins_rw + n);
    *mfn = a->mfn;
    return GNTST_okay;
}

static void unpin_entry(uint16_t rd, uint32_t ref, int ro, unsigned int n)
{
    struct gnttab *gt = &gts[rd];
    struct active *a = active_entry(gt, ref);
    BUG_ON((ro ? a->pins_ro : a->pins_rw) < n);
    if (ro)
        a->pins_ro = (uint16_t)(a->pins_ro - n);
    else
        a->pins_rw = (uint16_t)(a->pins_rw - n);
    clear_status(gt, ref, a, ro);
}

/* Pin entry ref of rd for one copy by ldomid (Xen's
 * acquire_grant_for_copy): the frame, whose domain owns it, and the part
 * granted. A v2 transitive entry (when allowed: one level only) pins
 * the entry it names in its trans_domid's table for rd. */
static int acquire_for_copy(uint16_t rd, uint32_t ref, uint16_t ldomid, int ro,
                            int allow_transitive, uint64_t *mfn, uint16_t *owner,
                            uint16_t *off, uint16_t *len)
{
    struct gnttab *gt = &gts[rd];
    if (ref >= nr_entries(gt))
        return GNTST_bad_gntref;
    struct active *a = active_entry(gt, ref);
    unsigned int pins = a->pins_ro + a->pins_rw;
    int upgrade = !pins || (!ro && !a->pins_rw);
    int rc;
    if (pins && (a->domid != ldomid || (unsigned int)(ro ? a->pins_ro : a->pins_rw) + 1 > PIN_MAX))
        return GNTST_general_error;
    if (gt->version == 2 && (entry_hdr(gt, ref)->flags & GTF_type_mask) == GTF_transitive) {
        if (upgrade && (rc = set_status(gt, ref, a, ro, 0, ldomid)) != GNTST_okay)
            return rc;
        const grant_entry_v2_t *e = entry_v2(gt, ref);
        uint16_t td = e->transitive.trans_domid;
        uint32_t tref = e->transitive.gref;
        uint64_t tm;
        uint16_t towner, toff, tlen;
        if (!allow_transitive || td == rd || !gt_of(td) || !gts[td].live || !domain_by_id(td)) {
            clear_status(gt, ref, a, ro);
            return GNTST_general_error; /* not allowed, self-referential, no such domain */
        }
        rc = acquire_for_copy(td, tref, rd, ro, 0, &tm, &towner, &toff, &tlen);
        if (rc) {
            clear_status(gt, ref, a, ro);
            return rc;
        }
        if (!pins) {
            *a = (struct active){ .domid = ldomid, .start = toff, .length = tlen,
                                  .is_sub_page = 1, /* never mappable */
                                  .trans_dom = td, .trans_gref = tref, .mfn = tm };
        } else if (a->mfn != tm || a->start != toff || a->length != tlen || a->trans_dom != td ||
                   a->trans_gref != tref || !a->is_sub_page) {
            /* The entry changed under its pins (Xen retries the copy). */
            struct active *ta = active_entry(&gts[td], tref);
            ro ? ta->pins_ro-- : ta->pins_rw--;
            clear_status(&gts[td], tref, ta, ro);
            clear_status(gt, ref, a, ro);
            return GNTST_general_error;
        }
        *owner = towner;
    } else if (upgrade) {
        if ((rc = set_status(gt, ref, a, ro, 0, ldomid)) != GNTST_okay)
            return rc;
        uint64_t f = entry_frame(gt, ref);
        int sub = 0;
        uint16_t start = 0, length = PAGE_SIZE;
        if (gt->version == 2 && (entry_hdr(gt, ref)->flags & GTF_sub_page)) {
            const grant_entry_v2_t *e = entry_v2(gt, ref);
            sub = 1;
            start = e->sub_page.page_off;
            length = e->sub_page.length;
        }
        if (f >= max_mfn || frame_table[f].owner != rd) {
            clear_status(gt, ref, a, ro);
            return GNTST_bad_page;
        }
        if (!pins) {
            *a = (struct active){ .domid = ldomid, .start = start, .length = length,
                                  .is_sub_page = (uint8_t)sub, .trans_dom = rd,
                                  .trans_gref = ref, .mfn = f };
        } else if (a->mfn != f || a->trans_dom != rd || a->trans_gref != ref ||
                   (a->is_sub_page && (!sub || a->start != start || a->length != length))) {
            clear_status(gt, ref, a, ro);
            return GNTST_general_error;
        }
        *owner = rd;
    } else {
        if (a->mfn >= max_mfn || frame_table[a->mfn].owner != rd)
            return GNTST_bad_domain;
        *owner = rd;
    }
    if (ro)
        a->pins_ro++;
    else
        a->pins_rw++;
    *mfn = a->mfn;
    *off = a->start;
    *len = a->length;
    return GNTST_okay;
}

/* Undo one acquire_for_copy (Xen's release_grant_for_copy). */
static void release_for_copy(uint16_t rd, uint32_t ref, int ro)
{
    struct gnttab *gt = &gts[rd];
    struct active *a = active_entry(gt, ref);
    uint16_t td = a->trans_dom;
    uint32_t tref = a->trans_gref;
    BUG_ON(!(ro ? a->pins_ro : a->pins_rw));
    if (ro)
        a->pins_ro--;
    else
        a->pins_rw--;
    clear_status(gt, ref, a, ro);
    if (gt->version == 2 && td != rd)
        release_for_copy(td, tref, ro);
}

/* n page references (and writable types unless ro) on a frame of owner. */
static int get_refs(uint64_t mfn, uint16_t owner, int ro, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        int rc = ro ? get_page(mfn, owner) : get_page_and_type(mfn, owner, PGT_writable);
        if (rc) {
            while (i-- > 0)
                ro ? put_page(mfn) : put_page_and_type(mfn);
            return rc;
        }
    }
    return 0;
}

static void put_refs(uint64_t mfn, int ro, unsigned int n)
{
    while (n-- > 0)
        ro ? put_page(mfn) : put_page_and_type(mfn);
}

/* ---- host mappings: the L1 entry a request names ---- */

/* Machine address of the L1 entry for host_addr (a va in v's current
 * page tables, or with contains_pte the entry's machine address); it must
 * be in a validated L1 of v's domain. 0 or GNTST_general_error. */
static int host_pte(const struct vcpu *v, uint64_t host_addr, uint32_t flags, uint64_t *ptr)
{
    uint16_t self = v->domain->domid;
    uint64_t p;
    if (flags & GNTMAP_contains_pte) {
        if (host_addr & 7)
            return GNTST_general_error;
        p = host_addr;
    } else {
        /* The same walk and checks as mm_update_va's. */
        if (mm_l1_of_va(self, (v->cr3 & PTE_ADDR) >> PAGE_SHIFT, host_addr, &p))
            return GNTST_general_error;
        *ptr = p;
        return GNTST_okay;
    }
    uint64_t mfn = p >> PAGE_SHIFT;
    if (mfn >= max_mfn || frame_table[mfn].owner != self ||
        frame_table[mfn].type != PGT_l1 || !frame_table[mfn].type_count)
        return GNTST_general_error;
    *ptr = p;
    return GNTST_okay;
}

/* After a host mapping was written (it may replace what the PTE held):
 * this CPU, as before SMP; Xen does not flush other CPUs on a map. */
static void flush_after(uint64_t host_addr, uint32_t flags)
{
    if (flags & GNTMAP_contains_pte)
        flush_tlb_local();
    else
        arch_invlpg(host_addr);
}

/* XENFEAT_gnttab_map_avail_bits: the map flags from _GNTMAP_guest_avail0
 * up land in the PTE's software-available bits 9-11 (Linux marks its
 * grant mappings _PAGE_SPECIAL this way), as Xen's grant_to_pte_flags. */
uint64_t gnttab_avail_bits(uint32_t flags)
{
    return ((uint64_t)(flags >> _GNTMAP_guest_avail0) << 9) & PTE_AVAIL;
}

int gnttab_pte_matches(uint64_t pte, uint64_t mfn, uint32_t flags)
{
    uint64_t want = PTE_P | ((flags & GNTMAP_readonly) ? 0 : PTE_RW);
    return ((pte & PTE_ADDR) >> PAGE_SHIFT) == mfn && (pte & (PTE_P | PTE_RW)) == want;
}

/* Remove the host mapping of mfn at host_addr (Xen's
 * replace_grant_host_mapping with no replacement). */
static int clear_host_mapping(const struct vcpu *v, uint64_t host_addr, uint32_t flags,
                              uint64_t mfn, uint64_t *old_pte)
{
    uint64_t ptr;
    int rc = host_pte(v, host_addr, flags, &ptr);
    if (rc)
        return rc;
    uint64_t e = ((const uint64_t *)mfn_to_virt(ptr >> PAGE_SHIFT))[(ptr & (PAGE_SIZE - 1)) >> 3];
    if (!gnttab_pte_matches(e, mfn, flags))
        return GNTST_general_error; /* the PTE is not this mapping's */
    uint16_t self = v->domain->domid;
    if (mm_l1_update(self, self, ptr, 0, old_pte))
        return GNTST_general_error;
    /* The whole TLB, as Xen's gnttab_flush_tlb: the same frame may be
     * reachable through another virtual address (an L1 hooked twice),
     * and the grant is released as soon as this returns. */
    cpumask_t others = v->domain->dirty_cpumask & ~(1ULL << smp_processor_id());
    flush_tlb_local();
    if (others)
        flush_tlb_mask(others);
    return GNTST_okay; /* gone from every CPU that runs the domain */
}

/* ---- maptrack ---- */

static int get_handle(uint16_t domid, uint32_t *handle)
{
    struct gnttab *gt = &gts[domid];
    unsigned int limit = gt->nr_maptrack * (unsigned int)MAPTRACK_PER_FRAME;
    for (unsigned int h = 0; h < limit; h++) {
        if (!maptrack_entry(gt, h)->flags) {
            *handle = h;
            return 0;
        }
    }
    if (gt->nr_maptrack == GNTTAB_MAX_MAPTRACK_FRAMES)
        return -XL_ENOSPC;
    int64_t f = mm_alloc_frame(DOMID_HV_OWNED);
    if (f < 0)
        return -XL_ENOMEM;
    gt->maptrack[gt->nr_maptrack++] = (uint64_t)f;
    *handle = limit;
    return 0;
}

static unsigned int map_count(uint32_t flags)
{
    return !!(flags & GNTMAP_host_map) + !!(flags & GNTMAP_device_map);
}

/* ---- GNTTABOP_map_grant_ref ---- */

/* *old_pte: what the PTE written held before, if one was written. */
static void map_one(struct vcpu *v, struct gnttab_map_grant_ref *op, uint64_t *old_pte)
{
    uint16_t ld = v->domain->domid;
    uint32_t flags = op->flags & MT_KEEP;
    int ro = !!(flags & GNTMAP_readonly);
    unsigned int n = map_count(flags);
    uint32_t handle;
    uint64_t mfn, ptr = 0;
    int rc;

    if (!n) {
        op->status = GNTST_bad_gntref;
        return;
    }
    struct gnttab *rgt = gt_of(op->dom);
    if (!rgt || !rgt->live || !domain_by_id(op->dom)) {
        op->status = GNTST_bad_domain;
        return;
    }
    if (!gts[ld].live || get_handle(ld, &handle)) {
        op->status = GNTST_no_device_space;
        return;
    }
    rc = pin_entry(op->dom, op->ref, ld, ro, n, &mfn);
    if (rc) {
        op->status = (int16_t)rc;
        return;
    }
    if (get_refs(mfn, op->dom, ro, n)) {
        rc = GNTST_general_error; /* Xen's "could not pin the granted frame" */
        goto unpin;
    }
    if (flags & GNTMAP_host_map) {
        rc = host_pte(v, op->host_addr, flags, &ptr);
        uint64_t pte = (mfn << PAGE_SHIFT) | PTE_P | PTE_US | PTE_A | PTE_D | (ro ? 0 : PTE_RW) |
                       gnttab_avail_bits(flags);
        uint64_t old = 0;
        if (!rc && mm_l1_update(ld, op->dom, ptr, pte, &old))
            rc = GNTST_general_error;
        if (rc) {
            put_refs(mfn, ro, n);
            goto unpin;
        }
        *old_pte = old;
        flush_after(op->host_addr, flags);
    }
    struct maptrack *mt = maptrack_entry(&gts[ld], handle);
    *mt = (struct maptrack){ .flags = flags, .domid = op->dom, .ref = op->ref,
                             .gen = gens[op->dom], .mfn = mfn };
    gts[ld].mappings++;
    total_mappings++;
    op->dev_bus_addr = mfn << PAGE_SHIFT;
    op->handle = handle;
    op->status = GNTST_okay;
    return;
unpin:
    unpin_entry(op->dom, op->ref, ro, n);
    op->status = (int16_t)rc;
}

/* ---- GNTTABOP_unmap_grant_ref ---- */

static void release_mapping(uint16_t ld, uint32_t handle, struct maptrack *mt, uint32_t done)
{
    int ro = !!(mt->flags & GNTMAP_readonly);
    unsigned int n = map_count(done);
    put_refs(mt->mfn, ro, n);
    if (granter_of(mt))
        unpin_entry(mt->domid, mt->ref, ro, n);
    mt->flags &= ~done;
    if (!(mt->flags & (GNTMAP_host_map | GNTMAP_device_map))) {
        mt->flags = 0;
        gts[ld].mappings--;
        total_mappings--;
    }
    (void)handle;
}

static int16_t unmap_one(struct vcpu *v, const struct gnttab_unmap_grant_ref *op,
                         uint64_t *old_pte)
{
    uint16_t ld = v->domain->domid;
    struct gnttab *gt = &gts[ld];
    if (op->handle >= gt->nr_maptrack * MAPTRACK_PER_FRAME)
        return GNTST_bad_handle;
    struct maptrack *mt = maptrack_entry(gt, op->handle);
    if (!mt->flags)
        return GNTST_bad_handle;
    if (op->dev_bus_addr && op->dev_bus_addr != mt->mfn << PAGE_SHIFT)
        return GNTST_general_error;
    uint32_t done = 0;
    if (op->host_addr && (mt->flags & GNTMAP_host_map)) {
        int rc = clear_host_mapping(v, op->host_addr, mt->flags, mt->mfn, old_pte);
        if (rc)
            return (int16_t)rc;
        done |= GNTMAP_host_map;
    }
    if (op->dev_bus_addr && (mt->flags & GNTMAP_device_map))
        done |= GNTMAP_device_map;
    if (done)
        release_mapping(ld, op->handle, mt, done);
    return GNTST_okay;
}

/* ---- GNTTABOP_copy ---- */

struct copy_buf {
    uint16_t domid;  /* the domain whose frame (or grant) it is */
    uint16_t owner;  /* the frame's owner (transitive: the last granter) */
    int gref, ro, have_type;
    uint32_t ref;
    uint64_t mfn;
    uint16_t start, len; /* the part of the frame the grant covers */
};

static void copy_release(struct copy_buf *b)
{
    if (b->have_type)
        put_page_type(b->mfn);
    put_page(b->mfn);
    if (b->gref)
        release_for_copy(b->domid, b->ref, b->ro);
}

static int copy_claim(uint16_t ld, const struct gnttab_copy_ptr *p, int gref, int ro,
                      struct copy_buf *b)
{
    b->domid = p->domid == DOMID_SELF ? ld : p->domid;
    b->gref = gref;
    b->ro = ro;
    b->have_type = 0;
    if (gref) {
        struct gnttab *gt = gt_of(b->domid);
        if (!gt || !gt->live)
            return GNTST_bad_domain;
        int rc = acquire_for_copy(b->domid, p->u.ref, ld, ro, 1, &b->mfn, &b->owner, &b->start,
                                  &b->len);
        if (rc)
            return rc;
        b->ref = p->u.ref;
        if (get_page(b->mfn, b->owner)) {
            release_for_copy(b->domid, b->ref, ro);
            return GNTST_bad_domain; /* pinned frame no longer the granter's */
        }
    } else {
        b->mfn = p->u.gmfn;
        b->owner = ld;
        b->start = 0;
        b->len = PAGE_SIZE;
        if (get_page(b->mfn, ld))
            return GNTST_bad_page;
    }
    if (!ro) {
        if (get_page_type(b->mfn, PGT_writable)) {
            b->have_type = 0;
            copy_release(b);
            return GNTST_general_error;
        }
        b->have_type = 1;
    }
    return GNTST_okay;
}

static int16_t copy_one(struct vcpu *v, const struct gnttab_copy *op)
{
    uint16_t ld = v->domain->domid;
    int sg = !!(op->flags & GNTCOPY_source_gref), dg = !!(op->flags & GNTCOPY_dest_gref);
    /* Only DOMID_SELF may be named by frame. */
    if ((op->source.domid != DOMID_SELF && !sg) || (op->dest.domid != DOMID_SELF && !dg))
        return GNTST_permission_denied;
    if ((op->source.domid != DOMID_SELF && !domain_by_id(op->source.domid)) ||
        (op->dest.domid != DOMID_SELF && !domain_by_id(op->dest.domid)))
        return GNTST_bad_domain;
    struct copy_buf src, dst;
    int rc = copy_claim(ld, &op->source, sg, 1, &src);
    if (rc)
        return (int16_t)rc;
    rc = copy_claim(ld, &op->dest, dg, 0, &dst);
    if (rc) {
        copy_release(&src);
        return (int16_t)rc;
    }
    unsigned int so = op->source.offset, dof = op->dest.offset, len = op->len;
    if (so + len > PAGE_SIZE || dof + len > PAGE_SIZE) {
        rc = GNTST_bad_copy_arg;
    } else if (so < src.start || so + len > (unsigned int)src.start + src.len ||
               dof < dst.start || dof + len > (unsigned int)dst.start + dst.len) {
        rc = GNTST_general_error; /* outside the (sub-page) grant */
    } else {
        memmove((uint8_t *)mfn_to_virt(dst.mfn) + dof, (const uint8_t *)mfn_to_virt(src.mfn) + so,
                len);
    }
    copy_release(&dst);
    copy_release(&src);
    return (int16_t)rc;
}

/* ---- setup_table, query_size, versions ---- */

/* The domain an op names (DOMID_SELF or an id): its domid, or a GNTST
 * error (unknown: bad_domain; someone else's without privilege:
 * permission_denied). */
static int named_domain(const struct vcpu *v, domid_t dom, uint16_t *out)
{
    if (dom == DOMID_SELF)
        dom = v->domain->domid;
    if (!domain_by_id(dom) || !gt_of(dom))
        return GNTST_bad_domain;
    if (dom != v->domain->domid && !v->domain->privileged)
        return GNTST_permission_denied;
    *out = dom;
    return GNTST_okay;
}

static long setup_table(struct vcpu *v, uint64_t uop, unsigned int count)
{
    struct gnttab_setup_table op;
    uint16_t d;
    if (count != 1)
        return -XL_EINVAL;
    if (copy_from_guest_va(v->cr3, &op, uop, sizeof(op)))
        return -XL_EFAULT;
    op.status = (int16_t)named_domain(v, op.dom, &d);
    if (op.status == GNTST_okay && op.nr_frames > gts[d].max_frames)
        op.status = GNTST_general_error;
    if (op.status == GNTST_okay && (!gts[d].live || grow_table(d, op.nr_frames)))
        op.status = GNTST_general_error;
    if (op.status == GNTST_okay) {
        uint64_t list = (uint64_t)op.frame_list.p;
        for (unsigned int i = 0; i < op.nr_frames; i++) {
            xen_pfn_t f = gts[d].frames[i];
            if (copy_to_guest_va(v->cr3, list + i * sizeof(f), &f, sizeof(f))) {
                op.status = GNTST_bad_virt_addr;
                break;
            }
        }
    }
    if (copy_to_guest_va(v->cr3, uop + __builtin_offsetof(struct gnttab_setup_table, status),
                         &op.status, sizeof(op.status)))
        return -XL_EFAULT;
    return 0;
}

static long query_size(struct vcpu *v, uint64_t uop, unsigned int count)
{
    struct gnttab_query_size op;
    uint16_t d;
    if (count != 1)
        return -XL_EINVAL;
    if (copy_from_guest_va(v->cr3, &op, uop, sizeof(op)))
        return -XL_EFAULT;
    op.status = (int16_t)named_domain(v, op.dom, &d);
    if (op.status == GNTST_okay) {
        op.nr_frames = gts[d].nr_frames;
        op.max_nr_frames = gts[d].max_frames;
    }
    if (copy_to_guest_va(v->cr3, uop, &op, sizeof(op)))
        return -XL_EFAULT;
    return 0;
}

/* A status frame anyone but the table still references (a mapping). */
static int status_frames_busy(const struct gnttab *gt)
{
    for (unsigned int i = 0; i < gt->nr_status; i++)
        if (frame_table[gt->status[i]].count > 1 || frame_table[gt->status[i]].type_count > 1)
            return 1;
    return 0;
}

/* Xen's gnttab_set_version body for the caller's own table d: refused
 * while an entry past the 8 reserved ones is pinned (-EBUSY); v2 -> v1
 * refused while a reserved entry cannot be written as v1 (-ERANGE) or a
 * status frame is still mapped (-EBUSY). The reserved entries (console,
 * xenstore...) are carried over, everything else is cleared. */
static long switch_version(uint16_t d, unsigned int to)
{
    struct gnttab *gt = &gts[d];
    unsigned int n = nr_entries(gt), i;
    grant_entry_v1_t saved[GNTTAB_NR_RESERVED_ENTRIES];
    for (i = GNTTAB_NR_RESERVED_ENTRIES; i < n; i++) {
        const struct active *a = active_entry(gt, i);
        if (a->pins_ro || a->pins_rw)
            return -XL_EBUSY;
    }
    if (gt->version == 1) {
        if (grow_status(d, gt->nr_frames))
            return -XL_ENOMEM;
        memcpy(saved, entry_v1(gt, 0), sizeof(saved));
    } else {
        for (i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
            const grant_entry_v2_t *e = entry_v2(gt, i);
            unsigned int type = e->hdr.flags & GTF_type_mask;
            if ((type == GTF_permit_access && (e->full_page.frame >> 32)) ||
                type == GTF_transitive)
                return -XL_ERANGE;
        }
        for (i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
            const grant_entry_v2_t *e = entry_v2(gt, i);
            if ((e->hdr.flags & GTF_type_mask) == GTF_permit_access)
                saved[i] = (grant_entry_v1_t){ .flags = (uint16_t)(e->hdr.flags | *status_of(gt, i)),
                                               .domid = e->hdr.domid,
                                               .frame = (uint32_t)e->full_page.frame };
            else
                saved[i] = (grant_entry_v1_t){ 0 };
        }
        if (status_frames_busy(gt))
            return -XL_EBUSY;
        shrink_status(d, 0);
    }
    for (i = 0; i < gt->nr_frames; i++)
        memset(mfn_to_virt(gt->frames[i]), 0, PAGE_SIZE);
    gt->version = to;
    for (i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
        if (to == 1) {
            *entry_v1(gt, i) = saved[i];
        } else {
            grant_entry_v2_t *e = entry_v2(gt, i);
            *status_of(gt, i) = saved[i].flags & (GTF_reading | GTF_writing);
            e->hdr.flags = saved[i].flags & ~(GTF_reading | GTF_writing);
            e->hdr.domid = saved[i].domid;
            e->full_page.frame = saved[i].frame;
        }
    }
    return 0;
}

/* Versions 1 and 2 (Xen 4.17's default max version 2; a domain created
 * with max version 1 gets -ENOSYS for 2); anything else -EINVAL. The
 * version in force is written back whatever happened. */
static long set_version(struct vcpu *v, uint64_t uop)
{
    struct gnttab_set_version op;
    uint16_t d = v->domain->domid;
    struct gnttab *gt = &gts[d];
    long rc = 0;
    if (copy_from_guest_va(v->cr3, &op, uop, sizeof(op)))
        return -XL_EFAULT;
    if (!gt->live)
        return -XL_EINVAL;
    if (op.version != 1 && op.version != 2)
        rc = -XL_EINVAL;
    else if (op.version == 2 && gt->max_version == 1)
        rc = -XL_ENOSYS;
    else if (op.version != gt->version)
        rc = switch_version(d, op.version);
    op.version = gt->version;
    if (copy_to_guest_va(v->cr3, uop, &op, sizeof(op)))
        return -XL_EFAULT;
    return rc;
}

static long get_version(struct vcpu *v, uint64_t uop)
{
    struct gnttab_get_version op;
    if (copy_from_guest_va(v->cr3, &op, uop, sizeof(op)))
        return -XL_EFAULT;
    domid_t dom = op.dom == DOMID_SELF ? v->domain->domid : op.dom;
    if (!domain_by_id(dom) || !gt_of(dom))
        return -XL_ESRCH;
    if (dom != v->domain->domid && !v->domain->privileged)
        return -XL_EPERM;
    op.version = gts[dom].version;
    if (copy_to_guest_va(v->cr3, uop + __builtin_offsetof(struct gnttab_get_version, version),
                         &op.version, sizeof(op.version)))
        return -XL_EFAULT;
    return 0;
}

/* GNTTABOP_get_status_frames: the status frames' mfns (v2; under v1 there
 * are none, so only nr_frames 0 succeeds). */
static long get_status_frames(struct vcpu *v, uint64_t uop, unsigned int count)
{
    struct gnttab_get_status_frames op;
    uint16_t d;
    if (count != 1)
        return -XL_EINVAL;
    if (copy_from_guest_va(v->cr3, &op, uop, sizeof(op)))
        return -XL_EFAULT;
    op.status = (int16_t)named_domain(v, op.dom, &d);
    if (op.status == GNTST_okay && op.nr_frames > gts[d].nr_status)
        op.status = GNTST_general_error;
    if (op.status == GNTST_okay) {
        uint64_t list = (uint64_t)op.frame_list.p;
        for (unsigned int i = 0; i < op.nr_frames; i++) {
            uint64_t f = gts[d].status[i];
            if (copy_to_guest_va(v->cr3, list + i * sizeof(f), &f, sizeof(f))) {
                op.status = GNTST_bad_virt_addr;
                break;
            }
        }
    }
    if (copy_to_guest_va(v->cr3, uop + __builtin_offsetof(struct gnttab_get_status_frames, status),
                         &op.status, sizeof(op.status)))
        return -XL_EFAULT;
    return 0;
}

/* ---- teardown ---- */

void gnttab_domain_destroy(struct domain *d)
{
    struct gnttab *gt = gt_of(d->domid);
    if (!gt || !gt->live)
        return;
    /* As mapper: every mapping it holds goes; its PTEs go with its page
     * tables (mm_free_domain_frames), which hold their own references. */
    unsigned int limit = gt->nr_maptrack * (unsigned int)MAPTRACK_PER_FRAME;
    for (uint32_t h = 0; h < limit; h++) {
        struct maptrack *mt = maptrack_entry(gt, h);
        if (mt->flags)
            release_mapping(d->domid, h, mt, mt->flags & (GNTMAP_host_map | GNTMAP_device_map));
    }
    for (unsigned int i = 0; i < gt->nr_maptrack; i++)
        mm_free_frame(gt->maptrack[i]);
    /* As granter: others' mappings keep their own references on the
     * granted frames; only the table itself goes. */
    shrink_status(d->domid, 0);
    for (unsigned int i = 0; i < gt->nr_frames; i++) {
        put_shared_frame(gt->frames[i]);
        for (unsigned int k = 0; k < ACTIVE_FRAMES_PER_GRANT_FRAME; k++)
            mm_free_frame(gt->active[i * ACTIVE_FRAMES_PER_GRANT_FRAME + k]);
    }
    memset(gt, 0, sizeof(*gt));
    gens[d->domid]++;
}

/* ---- the hypercall ---- */

/* Is a guest op still at g (mm_guest_ptr's direct-map pointer, taken
 * before the op) after the op rewrote one L1 entry whose old value was
 * old_pte (0: none written)? The op's address translated through present
 * entries only, its L1 entry mapping g's frame; the entry written sits in
 * a validated L1, a frame no walk meets above the L1 level (L4..L2
 * positions hold L4..L2 typed frames only). So unless the old entry was
 * present and mapped g's very frame, it was not on the op's walk and the
 * translation is unchanged. Conservative: the same frame through another
 * L1 entry also answers 0 (then a fresh copy_to_guest_va). */
static int still_mapped(uint64_t old_pte, const void *g)
{
    return !(old_pte & PTE_P) || ((old_pte & PTE_ADDR) >> PAGE_SHIFT) != virt_to_mfn(g);
}

HYPERCALL_DECL(grant_table_op)
{
    (void)a4; (void)a5;
    unsigned int cmd = (unsigned int)a1, count = (unsigned int)a3;
    uint64_t uop = a2;
    unsigned int i;

    HCSTAT_SUB(&v->domain->hcstat, grant_table_op, a1);
    if ((int)count < 0 || (cmd & ~CMD_MASK))
        return -XL_EINVAL;
    /* A translated (HVM/PVH) caller: its frames are guest frames, which
     * map/unmap/copy/setup_table here take as machine frames - only the
     * ops with no frame in them (its table is reached by add_to_physmap). */
    if (v->domain->hvm && cmd != GNTTABOP_query_size && cmd != GNTTABOP_set_version &&
        cmd != GNTTABOP_get_version)
        return -XL_ENOSYS;
    switch (cmd) {
    case GNTTABOP_map_grant_ref:
        for (i = 0; i < count; i++) {
            struct gnttab_map_grant_ref op;
            uint64_t p = uop + (uint64_t)i * sizeof(op);
            if (i && hypercall_preempt_check())
                return hypercall_continuation(v, __HYPERVISOR_grant_table_op, cmd, p,
                                              count - i, 0, 0);
            /* Within one writable page (the usual case) without the
             * generic copies: the answer goes through the same pointer
             * unless the op's own address may now translate elsewhere
             * (then a fresh copy, as Xen's would): see still_mapped. */
            struct gnttab_map_grant_ref *g = mm_guest_ptr(v->cr3, p, sizeof(op), 1);
            uint64_t old_pte = 0;
            if (g)
                op = *g;
            else if (copy_from_guest_va(v->cr3, &op, p, sizeof(op)))
                return -XL_EFAULT;
            map_one(v, &op, &old_pte);
            if (g && still_mapped(old_pte, g))
                *g = op;
            else if (copy_to_guest_va(v->cr3, p, &op, sizeof(op)))
                return -XL_EFAULT;
        }
        return 0;
    case GNTTABOP_unmap_grant_ref:
        for (i = 0; i < count; i++) {
            struct gnttab_unmap_grant_ref op;
            uint64_t p = uop + (uint64_t)i * sizeof(op);
            if (i && hypercall_preempt_check())
                return hypercall_continuation(v, __HYPERVISOR_grant_table_op, cmd, p,
                                              count - i, 0, 0);
            /* As for map (the op may live in the very page it unmaps:
             * then the answer faults, as Xen's copy does). */
            struct gnttab_unmap_grant_ref *g = mm_guest_ptr(v->cr3, p, sizeof(op), 1);
            uint64_t old_pte = 0;
            if (g)
                op = *g;
            else if (copy_from_guest_va(v->cr3, &op, p, sizeof(op)))
                return -XL_EFAULT;
            op.status = unmap_one(v, &op, &old_pte);
            if (g && still_mapped(old_pte, g))
                *g = op;
            else if (copy_to_guest_va(v->cr3, p, &op, sizeof(op)))
                return -XL_EFAULT;
        }
        return 0;
    case GNTTABOP_copy:
        for (i = 0; i < count; i++) {
            struct gnttab_copy op;
            uint64_t p = uop + (uint64_t)i * sizeof(op);
            if (i && hypercall_preempt_check())
                return hypercall_continuation(v, __HYPERVISOR_grant_table_op, cmd, p,
                                              count - i, 0, 0);
            if (copy_from_guest_va(v->cr3, &op, p, sizeof(op)))
                return -XL_EFAULT;
            op.status = copy_one(v, &op);
            if (copy_to_guest_va(v->cr3, p + __builtin_offsetof(struct gnttab_copy, status),
                                 &op.status, sizeof(op.status)))
                return -XL_EFAULT;
        }
        return 0;
    case GNTTABOP_setup_table:
        return setup_table(v, uop, count);
    case GNTTABOP_query_size:
        return query_size(v, uop, count);
    case GNTTABOP_set_version:
        return set_version(v, uop);
    case GNTTABOP_get_version:
        return get_version(v, uop);
    case GNTTABOP_get_status_frames:
        return get_status_frames(v, uop, count);
    default: /* transfer, unmap_and_replace, swap, cache_flush */
        return hc_unimplemented(v->domain, __HYPERVISOR_grant_table_op, (unsigned int)cmd);
    }
}
