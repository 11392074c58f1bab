/*
 * page_type.c - Xen's x86_64 PV page types and reference counts (see
 * mm.h): a frame is a page table only while it holds a validated
 * L1..L4 type; every present entry of a validated table holds a reference
 * on what it points to, so a guest can never get a writable mapping of a
 * live page table nor map a frame it does not own.
 * Owns: page_info.type/type_count/count/flags, and Xen's adjustment of
 * the entries guests write (pv_adjust_guest_entry). Must never: write a
 * page table entry other than to adjust it or fill the hv's L4 slots, accept an entry pointing at another owner's frame (except
 * an L1 entry naming the explicit foreign pg_owner), or leave a frame
 * typed or counted after its last reference is gone.
 *
 * Linear (recursive) page tables follow Xen's get_linear_pagetable rules:
 * an L2..L4 entry whose target cannot take the next lower level's type may
 * instead name a table of its own level if the entry is read-only and
 * either names its own table (no reference taken at all) or names an
 * already validated table of the same owner at that level. Such an entry
 * holds a reference and a type reference on its target, and counts in
 * page_info.linear: a table holding linear entries (linear > 0) cannot be
 * the target of one (linear < 0) and the other way round, so linear
 * references can never form a cycle that keeps frames alive.
 *
 * TLB flushes (Xen's tlbflush_timestamp): when a frame's type count drops
 * to 0, mappings of it under that type may still sit in some TLB (a guest
 * removes a PTE with UVMF_NONE; a page table leaves the paging-structure
 * caches only at a flush). The frame is stamped then, and before it takes
 * a different type every TLB that has not flushed since the stamp is
 * flushed - before the new type is validated, so nothing can be written
 * through an old writable entry into a validated table or GDT frame.
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xenolith/tlbflush.h>

#include <xenolith/domain.h>

#define PTE_PWT 0x8ULL
#define PTE_PCD 0x10ULL
#define PTE_PAT 0x80ULL   /* in a 4 KiB L1 entry */
#define PTE_G   0x100ULL
/* Xen's _PAGE_GUEST_KERNEL: a software bit (PTE bit 52) marking an L1
 * entry the guest wrote without _PAGE_USER, i.e. a guest kernel page. */
#define PTE_GUEST_KERNEL (1ULL << 52)
/* Xen's L1_DISALLOW_MASK on x86_64 (a release build, where _PAGE_GNTTAB
 * is 0): PWT/PCD/PAT for a domain without I/O resources (Xen's
 * l1_disallow_mask; here: every unprivileged domain). _PAGE_GLOBAL and
 * the software bits 52-62 are allowed. */
static uint64_t l1_disallow(uint16_t owner)
{
    const struct domain *d = domain_by_id(owner);
    return d && d->privileged ? 0 : (PTE_PWT | PTE_PCD | PTE_PAT);
}

uint64_t pv_adjust_guest_entry(unsigned int level, uint64_t e)
{
    if (!(e & PTE_P))
        return e;
    switch (level) {
    case 1:
        /* Xen 4.17's adjust_guest_l1e for a 64-bit PV guest: a kernel
         * page (written without USER) gets USER and GUEST_KERNEL, a user
         * page (written with USER) gets GLOBAL; a GLOBAL the guest set on
         * a kernel page stays (Xen only warns). */
        if (!(e & PTE_US))
            e |= PTE_GUEST_KERNEL | PTE_US;
        if (!(e & PTE_GUEST_KERNEL))
            e |= PTE_G | PTE_US;
        return e;
    case 2:
    case 3:
        return e | PTE_US;
    default:
        return e | PTE_US | PTE_A;
    }
}

int l4_slot_is_hv(unsigned int i)
{
    return i >= HV_SLOT_FIRST && i <= HV_SLOT_LAST;
}

int get_page(uint64_t mfn, uint16_t owner)
{
    if (mfn >= max_mfn)
        return -XL_EINVAL;
    struct page_info *pg = &frame_table[mfn];
    if (owner == DOMID_FREE || owner == DOMID_ORPHAN || pg->owner != owner ||
        pg->count == UINT32_MAX)
        return -XL_EINVAL;
    pg->count++;
    return 0;
}

void put_page(uint64_t mfn)
{
    BUG_ON(mfn >= max_mfn);
    struct page_info *pg = &frame_table[mfn];
    BUG_ON(pg->count == 0);
    if (--pg->count == 0 && (pg->owner == DOMID_ORPHAN || (pg->flags & PGF_removed))) {
        BUG_ON(pg->type_count != 0);
        mm_free_frame(mfn);
    }
}

static int is_pt_type(unsigned int type)
{
    return type >= PGT_l1 && type <= PGT_l4;
}

/* Xen's get_linear_pagetable: may read-only entry e of table table_mfn
 * (level `level`, owned by owner) name frame mfn as a same-level table?
 * 1 with the references taken, else 0. */
static int get_linear(unsigned int level, uint64_t e, uint64_t mfn, uint64_t table_mfn,
                      uint16_t owner)
{
    if (e & PTE_RW)
        return 0;
    if (mfn == table_mfn)
        return 1; /* the table maps itself: nothing to count */
    if (table_mfn >= max_mfn || frame_table[table_mfn].owner != owner)
        return 0;
    if (get_page(mfn, owner))
        return 0;
    struct page_info *pt = &frame_table[table_mfn], *pg = &frame_table[mfn];
    if (pt->linear < 0 || pt->linear == INT32_MAX || pg->linear > 0 || pg->linear == INT32_MIN ||
        !pg->type_count || pg->type != level || pg->type_count == UINT32_MAX) {
        put_page(mfn);
        return 0;
    }
    pt->linear++;
    pg->linear--;
    pg->type_count++;
    return 1;
}

int get_entry_refs(unsigned int level, uint64_t e, uint16_t pt_owner, uint16_t pg_owner)
{
    return get_entry_refs_at(level, e, ~0ULL, pt_owner, pg_owner);
}

void put_entry_refs(unsigned int level, uint64_t e)
{
    put_entry_refs_at(level, e, ~0ULL);
}

int get_entry_refs_at(unsigned int level, uint64_t e, uint64_t table_mfn, uint16_t pt_owner,
                      uint16_t pg_owner)
{
    if (!(e & PTE_P))
        return 0;
    uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
    if (level == 1 && mm_is_io_frame(mfn))
        return mm_io_map_ok(pg_owner, mfn, e & PTE_RW);
    if (mfn >= max_mfn)
        return level == 1 ? -XL_EBUSY : -XL_EINVAL;
    if (level == 1) {
        if ((e & (PTE_PWT | PTE_PCD | PTE_PAT)) && (e & l1_disallow(pt_owner)))
            return -XL_EINVAL; /* Xen: "Bad L1 flags" */
        /* Xen 4.17 answers -EBUSY when an L1 entry's frame cannot be
         * referenced (not the owner's, or a page table mapped writable). */
        uint16_t owner = frame_table[mfn].owner;
        if (owner != pt_owner && owner != pg_owner)
            return -XL_EBUSY;
        int rc = (e & PTE_RW) ? get_page_and_type(mfn, owner, PGT_writable) : get_page(mfn, owner);
        return rc ? -XL_EBUSY : 0;
    }
    if (e & PTE_PS)
        return -XL_EINVAL; /* no superpages, and PS is reserved in an L4 */
    int rc = get_page_and_type(mfn, pt_owner, level - 1);
    if (rc == -XL_EINVAL && get_linear(level, e, mfn, table_mfn, pt_owner))
        rc = 0;
    return rc;
}

void put_entry_refs_at(unsigned int level, uint64_t e, uint64_t table_mfn)
{
    if (!(e & PTE_P))
        return;
    uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
    if (level == 1) {
        if (mm_is_io_frame(mfn))
            return; /* I/O frames are never counted */
        if (e & PTE_RW)
            put_page_and_type(mfn);
        else
            put_page(mfn);
        return;
    }
    if (mfn == table_mfn)
        return; /* a self-mapping holds nothing */
    if (frame_table[mfn].type == level) {
        /* A linear entry (a normal one names a level - 1 table). */
        BUG_ON(table_mfn >= max_mfn);
        BUG_ON(frame_table[table_mfn].linear <= 0 || frame_table[mfn].linear >= 0);
        frame_table[table_mfn].linear--;
        frame_table[mfn].linear++;
    }
    put_page_and_type(mfn);
}

/* The L1 fast path (Xen's mod_l1_entry shortcut): replacing L1 entry old
 * by new needs no reference taken or dropped when both are not present,
 * or both map the same RAM frame with the same RW bit (so the same kind
 * of reference: a page reference, plus the writable type if RW) and new
 * would pass get_entry_refs_at: the frame's owner is pt_owner or pg_owner
 * and new carries no cache bits the domain may not use. Anything else
 * (another frame, RW changed - e.g. a page table made writable - an I/O
 * frame, a refused flag) answers 0 and takes the full path, which gives
 * Xen's errno. The caller still adjusts new (pv_adjust_guest_entry). */
int l1_entry_keeps_refs(uint64_t old, uint64_t new, uint16_t pt_owner, uint16_t pg_owner)
{
    if (!((old | new) & PTE_P))
        return 1;
    if (!(old & new & PTE_P) || ((old ^ new) & (PTE_ADDR | PTE_RW)))
        return 0;
    uint64_t mfn = (new & PTE_ADDR) >> PAGE_SHIFT;
    if (mfn >= max_mfn)
        return 0;
    uint16_t owner = frame_table[mfn].owner; /* never DOMID_IO_OWNED/ORPHAN here */
    if (owner != pt_owner && owner != pg_owner)
        return 0;
    if ((new & (PTE_PWT | PTE_PCD | PTE_PAT)) && (new & l1_disallow(pt_owner)))
        return 0;
    return 1;
}

/* Take the references of entries [0, 512) of table mfn; on failure drop
 * the ones taken and return the error. */
static int validate(uint64_t mfn, unsigned int level)
{
    const uint64_t *t = mfn_to_virt(mfn);
    uint16_t owner = frame_table[mfn].owner;
    for (unsigned int i = 0; i < 512; i++) {
        if (level == 4 && l4_slot_is_hv(i))
            continue; /* the hv's own slots: never the guest's references */
        int rc = get_entry_refs_at(level, t[i], mfn, owner, owner);
        if (rc) {
            while (i-- > 0)
                if (!(level == 4 && l4_slot_is_hv(i)))
                    put_entry_refs_at(level, t[i], mfn);
            return rc;
        }
    }
    /* Xen's alloc_lN_table: the validated entries are adjusted in place. */
    uint64_t *w = mfn_to_virt(mfn);
    for (unsigned int i = 0; i < 512; i++)
        if (!(level == 4 && l4_slot_is_hv(i)))
            w[i] = pv_adjust_guest_entry(level, w[i]);
    return 0;
}

static void devalidate(uint64_t mfn, unsigned int level)
{
    const uint64_t *t = mfn_to_virt(mfn);
    for (unsigned int i = 0; i < 512; i++)
        if (!(level == 4 && l4_slot_is_hv(i)))
            put_entry_refs_at(level, t[i], mfn);
}

int get_page_type(uint64_t mfn, unsigned int type)
{
    if (mfn >= max_mfn || type == PGT_none || type > PGT_seg_desc)
        return -XL_EINVAL;
    struct page_info *pg = &frame_table[mfn];
    if (pg->type_count) {
        if (pg->type != type || pg->type_count == UINT32_MAX)
            return -XL_EINVAL;
        pg->type_count++;
        return 0;
    }
    /* A new type: no TLB may still hold a mapping made under the old one
     * (a writable entry of a frame about to become a table or a GDT, a
     * cached walk through a table about to become writable). */
    uint8_t last = pg->type;
    if (tlbflush_type_change_needs_flush(last, type))
        tlbflush_since(pg->tlbflush_stamp);
    /* Typed before validation, so an entry naming this very frame (a
     * writable self-mapping, a recursive entry) sees the new type. */
    pg->type = (uint8_t)type;
    pg->type_count = 1;
    if (type == PGT_l4) {
        /* Xen's init_xen_l4_slots: the hv's slots (the M2P, the direct
         * map) are the hv's, whatever the guest left in the frame. No
         * writable mapping of it can exist now that it holds this type. */
        uint64_t *t = mfn_to_virt(mfn);
        const uint64_t *hv = arch_hv_l4_slots();
        for (unsigned int i = HV_SLOT_FIRST; i <= HV_SLOT_LAST; i++)
            t[i] = hv[i];
    }
    if (is_pt_type(type)) {
        int rc = validate(mfn, type);
        if (rc) {
            /* Never in use as the new type: the last type and its stamp
             * still say what a TLB may hold (a failed re-validation must
             * not make the next type change look like a first one). */
            pg->type_count = 0;
            pg->type = last;
            return rc;
        }
    }
    return 0;
}

void put_page_type(uint64_t mfn)
{
    BUG_ON(mfn >= max_mfn);
    struct page_info *pg = &frame_table[mfn];
    BUG_ON(pg->type_count == 0);
    if (--pg->type_count)
        return;
    if (is_pt_type(pg->type))
        devalidate(mfn, pg->type);
    /* The type stays as the last one held; the stamp says since when no
     * mapping of that type exists (TLBs aside). */
    pg->tlbflush_stamp = tlbflush_current_time();
}

int get_page_and_type(uint64_t mfn, uint16_t owner, unsigned int type)
{
    int rc = get_page(mfn, owner);
    if (rc)
        return rc;
    rc = get_page_type(mfn, type);
    if (rc)
        put_page(mfn);
    return rc;
}

void put_page_and_type(uint64_t mfn)
{
    put_page_type(mfn);
    put_page(mfn);
}
