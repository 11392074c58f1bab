/*
 * mm.c - frame ownership on top of the page allocator, and giving a dying
 * domain's frames back (all at once, or in bounded steps:
 * mm_relinquish_step).
 * Owns: frame_table entries' owner field. Must never: free a frame whose
 * owner is not the one asked, free a frame something still references,
 * or leave a freed frame with an owner, a type, a count or an M2P entry,
 * or hand a frame out while a TLB may still map it for its last owner
 * (freed frames are stamped on the TLB-flush clock, tlbflush.h).
 */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pirq.h>
#include <xenolith/tlbflush.h>

struct page_alloc hv_pages;
struct page_info *frame_table;
uint64_t max_mfn;

int64_t mm_alloc_frame(uint16_t owner)
{
    return mm_alloc_frames(owner, 0);
}

int64_t mm_alloc_frames(uint16_t owner, unsigned int order)
{
    return mm_alloc_frames_below(owner, order, UINT64_MAX);
}

int64_t mm_alloc_frames_below(uint16_t owner, unsigned int order, uint64_t limit_mfn)
{
    if (order > MM_MAX_ORDER)
        return -XL_ENOMEM;
    int64_t first = page_alloc_pages_below(&hv_pages, order, limit_mfn);
    if (first < 0)
        return first;
    uint64_t stamp = 0;
    for (uint64_t m = (uint64_t)first; m < (uint64_t)first + (1ULL << order); m++) {
        BUG_ON(m >= max_mfn || frame_table[m].owner != DOMID_FREE);
        if (frame_table[m].tlbflush_stamp > stamp)
            stamp = frame_table[m].tlbflush_stamp;
    }
    tlbflush_since(stamp);
    for (uint64_t m = (uint64_t)first; m < (uint64_t)first + (1ULL << order); m++) {
        frame_table[m] = (struct page_info){ .owner = owner };
        memset(mfn_to_virt(m), 0, 4096);
    }
    return first;
}

void mm_free_frame(uint64_t mfn)
{
    BUG_ON(mfn >= max_mfn || frame_table[mfn].owner == DOMID_FREE);
    if (frame_table[mfn].flags & PGF_removed) {
        /* decrease_reservation left it charged until now */
        struct domain *d = domain_by_id(frame_table[mfn].owner);
        if (d && d->tot_pages)
            d->tot_pages--;
    }
    /* A TLB may still map it for its last owner: whoever gets it next
     * flushes those first (mm_alloc_frame). */
    frame_table[mfn] = (struct page_info){ .owner = DOMID_FREE,
                                           .tlbflush_stamp = tlbflush_current_time() };
    m2p_set(mfn, ~0ULL); /* INVALID_M2P_ENTRY */
    BUG_ON(page_alloc_free_pages(&hv_pages, mfn, 0) != 0);
}

uint64_t mm_free_domain_frames(uint16_t domid)
{
    struct domain *d = domain_by_id(domid);
    if (d)
        mm_release_domain(d);
    uint64_t n = 0, orphans = 0;
    for (uint64_t mfn = 0; mfn < max_mfn; mfn++) {
        struct page_info *pg = &frame_table[mfn];
        if (pg->owner != domid)
            continue;
        if (pg->count) {
            /* Still mapped by another domain's page tables. */
            pg->owner = DOMID_ORPHAN;
            pg->flags = 0;
            m2p_set(mfn, ~0ULL);
            orphans++;
            continue;
        }
        mm_free_frame(mfn);
        n++;
    }
    if (orphans)
        printk("d%u: %lu frames still referenced by other domains; freed when released\n",
               domid, (unsigned long)orphans);
    return n;
}

/* d->destroy_stage values of mm_relinquish_step (domain.c uses 0 and 1). */
enum { RELQ_VCPUS = 1, RELQ_PINS, RELQ_DEVAL, RELQ_FREE, RELQ_DONE };

int mm_relinquish_step(struct domain *d)
{
    if (d->destroy_stage <= RELQ_VCPUS) {
        mm_release_vcpus(d);
        d->destroy_stage = RELQ_PINS;
        d->destroy_cursor = 0;
    }
    if (d->destroy_stage == RELQ_PINS) {
        if (mm_release_pins(d, &d->destroy_cursor))
            return MM_ERESTART;
        d->destroy_stage = RELQ_DEVAL;
    }
    if (d->destroy_stage == RELQ_DEVAL) {
        if (mm_deval_drain(d))
            return MM_ERESTART;
        d->destroy_stage = RELQ_FREE;
        d->destroy_cursor = 0;
    }
    if (d->destroy_stage == RELQ_FREE) {
        for (uint64_t mfn = d->destroy_cursor; mfn < max_mfn; mfn++) {
            struct page_info *pg = &frame_table[mfn];
            if (((mfn & 255) == 0 && !mm_work_take(1)) ||
                (pg->owner == d->domid && !mm_work_take(1))) {
                d->destroy_cursor = mfn;
                return MM_ERESTART;
            }
            if (pg->owner != d->domid)
                continue;
            if (pg->count) {
                /* Still mapped by another domain's page tables. */
                pg->owner = DOMID_ORPHAN;
                pg->flags = 0;
                m2p_set(mfn, ~0ULL);
                d->destroy_orphans++;
                continue;
            }
            mm_free_frame(mfn);
            d->destroy_freed++;
        }
        d->destroy_stage = RELQ_DONE;
        if (d->destroy_orphans)
            printk("d%u: %lu frames still referenced by other domains; freed when released\n",
                   d->domid, (unsigned long)d->destroy_orphans);
    }
    return 0;
}

uint64_t mm_free_count(void)
{
    return hv_pages.nr_free;
}

/* The interrupt controllers stay the hv's (Xen denies dom0 their pages). */
#define LAPIC_MFN  0xFEE00ULL
#define IOAPIC_MFN 0xFEC00ULL

int mm_io_map_ok(uint16_t pg_owner, uint64_t mfn, int rw)
{
    const struct domain *d = domain_by_id(pg_owner);
    if (!d || !d->privileged)
        return -XL_EPERM; /* Xen: "non-privileged attempt to map MMIO space" */
    if (mfn == LAPIC_MFN || mfn == IOAPIC_MFN || mfn > (1ULL << 40))
        return -XL_EPERM;
    /* MSI-X tables and PBAs the hv programmed: read-only (Xen's
     * mmio_ro_ranges), so dom0 cannot redirect a vector. */
    if (rw && !pirq_mmio_writable(mfn))
        return -XL_EPERM;
    return 0;
}
