/*
 * page_type.c - Xen's x86_64 PV page types and reference counts (see
 * mm.h): a frame is a page table only while it holds a validated
 * L1..L4 type; every present entry of a validated table holds a reference
 * on what it points to, so a guest can never get a writable mapping of a
 * live page table nor map a frame it does not own.
 * Owns: page_info.type/type_count/count/flags. Must never: write a page
 * table entry, accept an entry pointing at another owner's frame (except
 * an L1 entry naming the explicit foreign pg_owner), or leave a frame
 * typed or counted after its last reference is gone.
 *
 * Linear (recursive) page tables are refused: an L2..L4 entry must point
 * at a frame that can take the next lower level's type, and a frame has
 * one type at a time, so an entry naming a table of its own level fails.
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>

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
    if (--pg->count == 0 && pg->owner == DOMID_ORPHAN) {
        BUG_ON(pg->type_count != 0);
        mm_free_frame(mfn);
    }
}

static int is_pt_type(unsigned int type)
{
    return type >= PGT_l1 && type <= PGT_l4;
}

int get_entry_refs(unsigned int level, uint64_t e, uint16_t pt_owner, uint16_t pg_owner)
{
    if (!(e & PTE_P))
        return 0;
    uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
    if (mfn >= max_mfn)
        return level == 1 ? -XL_EBUSY : -XL_EINVAL;
    if (level == 1) {
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
    return get_page_and_type(mfn, pt_owner, level - 1);
}

void put_entry_refs(unsigned int level, uint64_t e)
{
    if (!(e & PTE_P))
        return;
    uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
    if (level == 1 && !(e & PTE_RW))
        put_page(mfn);
    else
        put_page_and_type(mfn);
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
        int rc = get_entry_refs(level, t[i], owner, owner);
        if (rc) {
            while (i-- > 0)
                if (!(level == 4 && l4_slot_is_hv(i)))
                    put_entry_refs(level, t[i]);
            return rc;
        }
    }
    return 0;
}

static void devalidate(uint64_t mfn, unsigned int level)
{
    const uint64_t *t = mfn_to_virt(mfn);
    for (unsigned int i = 0; i < 512; i++)
        if (!(level == 4 && l4_slot_is_hv(i)))
            put_entry_refs(level, t[i]);
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
    /* Typed before validation, so an entry naming this very frame (a
     * writable self-mapping, a recursive entry) sees the new type. */
    pg->type = (uint8_t)type;
    pg->type_count = 1;
    if (is_pt_type(type)) {
        int rc = validate(mfn, type);
        if (rc) {
            pg->type_count = 0;
            pg->type = PGT_none;
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
    if (!pg->type_count) /* devalidation cannot retype it, but be sure */
        pg->type = PGT_none;
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
