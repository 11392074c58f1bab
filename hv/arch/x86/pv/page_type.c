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
 *
 * Preemption (Xen's PGT_partial, nr_validated_ptes and -ERESTART): a
 * hypercall gives the page-type work a budget (mm_preempt_begin, about
 * MM_WORK_BUDGET present entries). Validation that runs out of it stops
 * with MM_ERESTART and leaves a chain of PGF_partial tables, each with
 * entries [0, nr_validated) referenced and, if PGF_partial_child, entry
 * nr_validated holding the general reference and the one type reference
 * of the next table down, itself partial. The top of the chain holds its
 * own general reference (PGF_partial_top) and is the domain's pt_partial:
 * the next get_page_type of that frame and type at the outermost level
 * (the hypercall's continuation, or any other caller) takes it over and
 * resumes where it stopped. A domain has one chain; an outermost
 * validation of another frame abandons it first. A partial table is no
 * page table for anyone else: its type blocks other types, its entries
 * are not updated (mmu.c), and it is never a linear target.
 * Devalidation never recurses: a table whose last type reference goes
 * (or whose validation failed or was abandoned) keeps its type with
 * type_count 0, is marked PGF_deval with its referenced entries
 * [0, nr_validated), and goes on its domain's queue (PGF_devalq, the
 * queue holding one general reference); mm_deval_drain drops the entries
 * in budget-sized steps, children going on the queue in turn. Anyone who
 * wants a type on a PGF_deval frame first drops its (at most 512) entries.
 * Without a budget (boot, host tests) the queue is drained at once, so
 * every reference is back when the call returns.
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

/* ---- the work budget ---- */
#define WORK_UNLIMITED UINT64_MAX
#define WORK_PER_TABLE 16 /* a table visited, whatever its present entries */
static uint64_t work_left = WORK_UNLIMITED;
static int pt_nesting; /* validations in progress on the stack (big lock) */
static int draining;   /* mm_deval_drain on the stack: enqueues only queue */

void mm_preempt_begin(void)
{
    work_left = MM_WORK_BUDGET;
}

void mm_preempt_end(void)
{
    work_left = WORK_UNLIMITED;
}

int mm_work_take(uint64_t n)
{
    if (work_left == WORK_UNLIMITED)
        return 1;
    if (work_left == 0)
        return 0;
    work_left = work_left > n ? work_left - n : 0;
    return 1;
}

static struct domain *pt_dom(uint64_t mfn)
{
    return domain_by_id(frame_table[mfn].owner);
}

static uint64_t entry_mfn(uint64_t e)
{
    return (e & PTE_ADDR) >> PAGE_SHIFT;
}

/* ---- devalidation ---- */

/* Drop the references of entries [0, nr_validated) of PGF_deval table
 * mfn, last first. Bounded: stop when the budget is gone (0). 1: done. */
static int deval_entries(uint64_t mfn, int bounded)
{
    struct page_info *pg = &frame_table[mfn];
    const uint64_t *t = mfn_to_virt(mfn);
    unsigned int level = pg->type;
    while (pg->nr_validated) {
        unsigned int i = pg->nr_validated - 1u;
        if (!(level == 4 && l4_slot_is_hv(i)) && (t[i] & PTE_P)) {
            if (bounded && !mm_work_take(1))
                return 0;
            pg->nr_validated = (uint16_t)i;
            put_entry_refs_at(level, t[i], mfn);
        } else {
            pg->nr_validated = (uint16_t)i;
        }
    }
    pg->flags &= (uint8_t)~PGF_deval;
    return 1;
}

int mm_deval_drain(struct domain *d)
{
    int was = draining;
    draining = 1;
    while (d->deval_head) {
        uint64_t mfn = d->deval_head - 1u;
        struct page_info *pg = &frame_table[mfn];
        /* a frame whose entries were dropped already (deval_entries from
         * get_page_type) still costs its dequeue */
        int deval = (pg->flags & PGF_deval) != 0;
        if (!mm_work_take(deval ? WORK_PER_TABLE : 1) || (deval && !deval_entries(mfn, 1))) {
            draining = was;
            return MM_ERESTART;
        }
        d->deval_head = pg->deval_next;
        if (!d->deval_head)
            d->deval_tail = 0;
        pg->deval_next = 0;
        pg->flags &= (uint8_t)~PGF_devalq;
        put_page(mfn); /* the queue's reference */
    }
    draining = was;
    return 0;
}

int mm_deval_pending(const struct domain *d)
{
    return d->deval_head != 0;
}

/* Table mfn (type_count 0) still references entries [0, nr_validated):
 * mark it and queue it on its domain (drained within a budget, below). */
static void deval_enqueue(uint64_t mfn)
{
    struct page_info *pg = &frame_table[mfn];
    struct domain *d = pt_dom(mfn);
    pg->flags |= PGF_deval;
    if (!d) {
        deval_entries(mfn, 0); /* no domain to queue on (host tests) */
        return;
    }
    if (!(pg->flags & PGF_devalq)) {
        BUG_ON(mfn >= UINT32_MAX || pg->count == UINT32_MAX);
        pg->flags |= PGF_devalq;
        pg->count++; /* the queue's reference */
        pg->deval_next = 0;
        if (d->deval_tail)
            frame_table[d->deval_tail - 1u].deval_next = (uint32_t)(mfn + 1u);
        else
            d->deval_head = (uint32_t)(mfn + 1u);
        d->deval_tail = (uint32_t)(mfn + 1u);
    }
    /* A caller without a budget of its own (update_va_mapping, set_gdt, a
     * grant map, ... - any get/put of a type) drains one budget's worth
     * at most: the queue may hold a whole failed tree (millions of
     * entries), and the rest waits for the next budgeted call
     * (mmu_update, mmuext_op, decrease_reservation) or the domain's
     * destruction. Draining it all here held the big lock for seconds. */
    if (work_left == WORK_UNLIMITED && !draining) {
        work_left = MM_WORK_BUDGET;
        (void)mm_deval_drain(d);
        work_left = WORK_UNLIMITED;
    }
}

/* ---- partial chains ---- */

/* Turn the partial chain from mfn down into tables to devalidate: each
 * loses its type reference and is queued with its referenced entries; the
 * general reference each parent held on its partial child is dropped.
 * mfn's own holder keeps (and drops) its reference. */
static void unwind_chain(uint64_t mfn)
{
    uint64_t chain[4];
    unsigned int n = 0;
    for (uint64_t m = mfn; n < 4;) {
        struct page_info *pg = &frame_table[m];
        chain[n++] = m;
        uint64_t child = ~0ULL;
        if (pg->flags & PGF_partial_child)
            child = entry_mfn(((const uint64_t *)mfn_to_virt(m))[pg->nr_validated]);
        pg->flags &= (uint8_t)~(PGF_partial | PGF_partial_child | PGF_partial_top);
        pg->type_count = 0;
        if (child == ~0ULL)
            break;
        m = child;
    }
    for (unsigned int k = 0; k < n; k++)
        deval_enqueue(chain[k]);
    for (unsigned int k = 1; k < n; k++)
        put_page(chain[k]);
}

/* Abandon d's partial chain (its top holds its own reference). */
static void abandon_partial(struct domain *d)
{
    if (!d || !d->pt_partial)
        return;
    uint64_t top = d->pt_partial - 1u;
    d->pt_partial = 0;
    unwind_chain(top);
    put_page(top);
}

void mm_abandon_partial(struct domain *d)
{
    abandon_partial(d);
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
        !pg->type_count || pg->type != level || pg->type_count == UINT32_MAX ||
        (pg->flags & PGF_partial)) {
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

static int type_validate(uint64_t mfn);

/* Take the references of entries [nr_validated, 512) of partial table
 * mfn within the budget, resuming its partial child first. 0: all held;
 * MM_ERESTART: stopped (nr_validated and PGF_partial_child say where);
 * an error: entries [0, nr_validated) hold references, the rest none. */
static int validate(uint64_t mfn, unsigned int level)
{
    struct page_info *pg = &frame_table[mfn];
    uint64_t *t = mfn_to_virt(mfn);
    uint16_t owner = pg->owner;
    unsigned int i = pg->nr_validated;
    int rc = 0;
    pt_nesting++;
    if (pg->flags & PGF_partial_child) {
        uint64_t c = entry_mfn(t[i]);
        rc = type_validate(c);
        if (rc == MM_ERESTART)
            goto out;
        pg->flags &= (uint8_t)~PGF_partial_child;
        if (rc) {
            put_page(c); /* the entry's general reference; c is unwound */
            goto out;
        }
        t[i] = pv_adjust_guest_entry(level, t[i]);
        i++;
    }
    if (!mm_work_take(WORK_PER_TABLE)) {
        rc = MM_ERESTART;
        goto out;
    }
    for (; i < 512; i++) {
        if ((level == 4 && l4_slot_is_hv(i)) || !(t[i] & PTE_P))
            continue; /* the hv's own slots: never the guest's references */
        if (!mm_work_take(1)) {
            rc = MM_ERESTART;
            break;
        }
        rc = get_entry_refs_at(level, t[i], mfn, owner, owner);
        if (rc == MM_ERESTART) {
            /* The child stopped part-way: this entry holds it now. */
            uint64_t c = entry_mfn(t[i]);
            BUG_ON(!(frame_table[c].flags & PGF_partial_top));
            frame_table[c].flags &= (uint8_t)~PGF_partial_top;
            pg->flags |= PGF_partial_child;
            break;
        }
        if (rc)
            break;
        /* Xen's alloc_lN_table: the validated entries are adjusted in place. */
        t[i] = pv_adjust_guest_entry(level, t[i]);
    }
out:
    pg->nr_validated = (uint16_t)(rc ? i : 0);
    pt_nesting--;
    return rc;
}

/* Validate (or go on validating) PGF_partial table mfn. 0: validated;
 * MM_ERESTART: still partial; an error: unwound (type_count 0, its
 * references queued to be dropped). */
static int type_validate(uint64_t mfn)
{
    struct page_info *pg = &frame_table[mfn];
    int rc = validate(mfn, pg->type);
    if (rc == MM_ERESTART)
        return rc;
    if (rc == 0) {
        pg->flags &= (uint8_t)~PGF_partial;
        return 0;
    }
    unwind_chain(mfn);
    return rc;
}

/* type_validate's outcome for the caller of get_page_type: a table left
 * partial holds its own general reference, and at the outermost level it
 * is its domain's one partial chain. */
static int partial_outcome(uint64_t mfn, int rc, int owned_ref)
{
    struct page_info *pg = &frame_table[mfn];
    if (rc == MM_ERESTART) {
        if (!owned_ref)
            pg->count++; /* the chain top's own reference */
        pg->flags |= PGF_partial_top;
        struct domain *d = pt_dom(mfn);
        if (!pt_nesting && d)
            d->pt_partial = mfn + 1u;
        return rc;
    }
    if (owned_ref)
        put_page(mfn); /* the chain top's own reference, taken over */
    return rc;
}

int get_page_type(uint64_t mfn, unsigned int type)
{
    if (mfn >= max_mfn || type == PGT_none || type > PGT_seg_desc)
        return -XL_EINVAL;
    struct page_info *pg = &frame_table[mfn];
    if (type != PGT_writable) {
        /* An HVM/PVH domain's frames stay writable in its p2m: none may
         * ever be a PV page table or descriptor table (the hv would trust
         * entries the guest rewrites at will). */
        struct domain *od = pg->owner < MAX_DOMAINS ? &domains[pg->owner] : NULL;
        if (od && od->state != DOM_FREE && od->hvm)
            return -XL_EINVAL;
    }
    if (pg->flags & PGF_partial) {
        struct domain *d = pt_dom(mfn);
        if (pg->type != type || pt_nesting)
            return -XL_EINVAL; /* being validated as another type */
        if (d && d->pt_partial == mfn + 1u) {
            /* The top of the domain's partial chain: take it over. */
            d->pt_partial = 0;
            pg->flags &= (uint8_t)~PGF_partial_top;
            return partial_outcome(mfn, type_validate(mfn), 1);
        }
        /* Inside the chain: give the chain up, then start afresh. */
        abandon_partial(d);
        if (pg->flags & PGF_partial)
            return -XL_EINVAL; /* no domain's chain (never expected) */
    }
    if (pg->type_count) {
        if (pg->type != type || pg->type_count == UINT32_MAX)
            return -XL_EINVAL;
        pg->type_count++;
        return 0;
    }
    if (pg->flags & PGF_deval)
        deval_entries(mfn, 0); /* at most 512 entries; children are queued */
    /* A new type: no TLB may still hold a mapping made under the old one
     * (a writable entry of a frame about to become a table or a GDT, a
     * cached walk through a table about to become writable). */
    uint8_t last = pg->type;
    if (tlbflush_type_change_needs_flush(last, type))
        tlbflush_since(pg->tlbflush_stamp);
    if (is_pt_type(type) && !pt_nesting) {
        struct domain *d = pt_dom(mfn);
        if (d && d->pt_partial && d->pt_partial != mfn + 1u)
            abandon_partial(d); /* one partial chain per domain */
    }
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
        pg->flags |= PGF_partial;
        pg->nr_validated = 0;
        int rc = type_validate(mfn);
        if (rc && rc != MM_ERESTART && !(pg->flags & PGF_deval)) {
            /* Never in use as the new type and nothing left to drop: the
             * last type and its stamp still say what a TLB may hold (a
             * failed re-validation must not make the next type change
             * look like a first one). */
            pg->type = last;
        }
        return partial_outcome(mfn, rc, 0);
    }
    return 0;
}

void put_page_type(uint64_t mfn)
{
    BUG_ON(mfn >= max_mfn);
    struct page_info *pg = &frame_table[mfn];
    BUG_ON(pg->type_count == 0 || (pg->flags & PGF_partial));
    if (--pg->type_count)
        return;
    /* The type stays as the last one held; the stamp says since when no
     * mapping of that type exists (TLBs aside). */
    pg->tlbflush_stamp = tlbflush_current_time();
    if (is_pt_type(pg->type)) {
        pg->nr_validated = 512;
        deval_enqueue(mfn);
    }
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
