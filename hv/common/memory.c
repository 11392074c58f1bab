/*
 * memory.c - the memory_op hypercall for PV domains: reservations
 * (current/maximum, populate_physmap, decrease_reservation), the guest's
 * memory map, and where the M2P is (machphys_mapping, machphys_mfn_list).
 * Owns: d->tot_pages changes after build. Must never: give a domain more
 * than max_pages, or hand a frame back to the allocator while anything
 * still references it (it becomes DOMID_ORPHAN until the last put_page).
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xen/memory.h>

#define MEMOP_EXTENT_SHIFT 6 /* Xen: cmd's bits above are the start extent */
#define MEMOP_CMD_MASK ((1u << MEMOP_EXTENT_SHIFT) - 1)

/* The domain a memory_op names: DOMID_SELF (or its own id) always; others
 * only for a privileged caller. */
static int target_domain(struct vcpu *v, domid_t id, struct domain **out)
{
    if (id == DOMID_SELF || id == v->domain->domid) {
        *out = v->domain;
        return 0;
    }
    struct domain *d = domain_by_id(id);
    if (!d)
        return -XL_ESRCH;
    if (!v->domain->privileged)
        return -XL_EPERM;
    *out = d;
    return 0;
}

/* PV guests name machine frames in decrease_reservation (see mm.h). */
int mm_remove_page(struct domain *d, uint64_t mfn)
{
    if (mfn >= max_mfn || frame_table[mfn].owner != d->domid || mfn == d->shared_info_mfn)
        return -XL_EINVAL;
    struct page_info *pg = &frame_table[mfn];
    if (pg->flags & PGF_removed)
        return 0; /* given up already; Xen's guest_remove_page does nothing */
    if (pg->flags & PGF_pinned) {
        pg->flags &= (uint8_t)~PGF_pinned;
        put_page_and_type(mfn);
    }
    if (pg->count) {
        /* Still mapped (or in use as a page table): it leaves the M2P
         * now, but stays d's and counts against d->max_pages until the
         * last reference frees it (mm_free_frame), as in Xen - else a
         * populate/map/decrease loop would take every free frame. */
        pg->flags |= PGF_removed;
        m2p_set(mfn, ~0ULL);
    } else {
        d->tot_pages--;
        mm_free_frame(mfn);
    }
    return 0;
}

/* Largest extent order the caller may use (Xen's max_order): the control
 * domain CONFIG_CTLDOM_MAX_ORDER (= the allocator's maximum, 20), any
 * other domain CONFIG_DOMU_MAX_ORDER (9, one 2 MiB extent). */
unsigned int mm_max_extent_order(const struct domain *caller)
{
    return caller->privileged ? MM_MAX_ORDER : MM_DOMU_MAX_ORDER;
}

/* Look at the clock every this many extents (never before the first). */
#define MEM_PREEMPT_EVERY 16

/* increase_reservation / populate_physmap / decrease_reservation, as
 * Xen's PV: an order above mm_max_extent_order does nothing (returns
 * start); otherwise extents are done until one fails (out of memory,
 * max_pages, not the domain's frame, an unreadable list) and the number
 * done is returned. A new extent is 2^order contiguous frames aligned to
 * their size; its first mfn is written back (increase_reservation: only
 * if the list is not NULL); populate_physmap gives them pfns x .. x +
 * 2^order - 1 in the M2P. A decreased extent names mfns x .. x + 2^order
 * - 1, removed in order (one that fails stops the call after the earlier
 * frames of its extent). A long list is continued (Xen: the extent to go
 * on from in cmd >> MEMOP_EXTENT_SHIFT); *preempted says so. */
static long reservation(struct vcpu *v, unsigned int cmd, uint64_t arg, uint64_t start,
                        int *preempted)
{
    struct xen_memory_reservation r;
    struct domain *d;
    *preempted = 0;
    if (copy_from_guest_va(v->cr3, &r, arg, sizeof(r)))
        return -XL_EFAULT;
    int rc = target_domain(v, r.domid, &d);
    if (rc)
        return rc;
    /* Mid-destroy its memory is being given back: frames added now would
     * stay behind under a dead id. Xen's assign_pages refuses is_dying,
     * so no extent is done; queries (current_reservation) still answer. */
    if (d->destroy_stage)
        return (long)start;
    /* Tables an earlier decrease unpinned are devalidated first (budget:
     * mm_preempt_begin in do_memory_op), then the extents go on. */
    if (cmd == XENMEM_decrease_reservation && mm_deval_pending(d) && mm_deval_drain(d)) {
        *preempted = 1;
        return (long)start;
    }
    if (start >= r.nr_extents || r.extent_order > mm_max_extent_order(v->domain))
        return (long)start;
    /* A translated domain's vcpus may hold a freed frame in their TLB
     * (one ASID, flushed at their next entry) until they leave the guest:
     * another domain takes its frames only while none of them runs. */
    if (cmd == XENMEM_decrease_reservation && d->hvm && d != v->domain &&
        domain_running_elsewhere(d))
        return -XL_EBUSY;
    uint64_t list = (uint64_t)r.extent_start.p, i, n = 1ULL << r.extent_order;
    for (i = start; i < r.nr_extents; i++) {
        uint64_t x = 0;
        if (i != start && (i - start) % MEM_PREEMPT_EVERY == 0 && hypercall_preempt_check()) {
            *preempted = 1;
            return (long)i;
        }
        if ((cmd != XENMEM_increase_reservation || list) &&
            copy_from_guest_va(v->cr3, &x, list + i * sizeof(x), sizeof(x)))
            return i ? (long)i : -XL_EFAULT;
        if (cmd == XENMEM_decrease_reservation) {
            uint64_t j;
            for (j = 0; j < n; j++) {
                uint64_t mfn = x + j;
                /* HVM: x names guest frames; the p2m entry goes first */
                if (d->hvm && (x + j < x || hvm_unmap_gfn(d, x + j, &mfn)))
                    break;
                if (mm_remove_page(d, mfn))
                    break;
            }
            if (j < n)
                break;
            if (mm_deval_pending(d) && mm_deval_drain(d)) {
                *preempted = 1; /* an unpinned tree: the next call goes on */
                return (long)i + 1;
            }
            continue;
        }
        /* populate_physmap: x is the pfn of the extent's first frame. */
        if (d->tot_pages + n > d->max_pages)
            break;
        if (d->hvm) {
            /* a translated domain: the frames go into its p2m at gfns
             * x.., which must be free; nothing is written back (Xen) */
            if (cmd != XENMEM_populate_physmap || (x & (n - 1)) || x + n < x ||
                x + n > (1ULL << P2M_GFN_BITS))
                break;
            uint64_t j;
            for (j = 0; j < n && hvm_gfn_to_mfn(d, x + j) == -XL_ENOENT; j++)
                ;
            if (j < n)
                break;
            int64_t hm = mm_alloc_frames(d->domid, r.extent_order);
            if (hm < 0)
                break;
            for (j = 0; j < n; j++) {
                if (hvm_map_gfn(d, x + j, (uint64_t)hm + j, P2M_RWX))
                    break;
                m2p_set((uint64_t)hm + j, x + j);
            }
            if (j < n) { /* no memory for the p2m's tables: undo */
                while (j-- > 0)
                    hvm_unmap_gfn(d, x + j, NULL);
                for (j = 0; j < n; j++)
                    mm_free_frame((uint64_t)hm + j);
                break;
            }
            d->tot_pages += n;
            continue;
        }
        int64_t mfn = mm_alloc_frames(d->domid, r.extent_order);
        if (mfn < 0)
            break;
        uint64_t m = (uint64_t)mfn;
        if ((cmd != XENMEM_increase_reservation || list) &&
            copy_to_guest_va(v->cr3, list + i * sizeof(m), &m, sizeof(m))) {
            for (uint64_t j = 0; j < n; j++)
                mm_free_frame(m + j);
            return i ? (long)i : -XL_EFAULT;
        }
        if (cmd == XENMEM_populate_physmap)
            for (uint64_t j = 0; j < n; j++)
                m2p_set(m + j, x + j);
        d->tot_pages += n;
    }
    return (long)i;
}

/* The machine's memory map as an E820 table (XENMEM_machine_memory_map):
 * what the loader found, with the hv's own RAM shown as RAM, as Xen shows
 * a PV dom0 the firmware's map. Set once at boot. */
#define MACHINE_MAP_MAX 128
static struct e820_entry machine_map[MACHINE_MAP_MAX];
static unsigned int machine_map_nr;

void memory_add_machine_range(uint64_t addr, uint64_t size, uint32_t type)
{
    struct e820_entry *last = machine_map_nr ? &machine_map[machine_map_nr - 1] : NULL;
    if (!size)
        return;
    if (last && last->type == type && last->addr + last->size == addr) {
        last->size += size; /* adjacent and of one kind: one entry */
        return;
    }
    if (machine_map_nr < MACHINE_MAP_MAX)
        machine_map[machine_map_nr++] = (struct e820_entry){ .addr = addr, .size = size,
                                                             .type = type };
}

static long machine_memory_map(struct vcpu *v, uint64_t arg)
{
    struct xen_memory_map map;
    if (!v->domain->privileged)
        return -XL_EPERM;
    if (copy_from_guest_va(v->cr3, &map, arg, sizeof(map)))
        return -XL_EFAULT;
    /* Xen copies min(nr_entries, map size) entries and says how many. */
    unsigned int n = MIN(map.nr_entries, machine_map_nr);
    if (n && copy_to_guest_va(v->cr3, (uint64_t)map.buffer.p, machine_map,
                              n * sizeof(machine_map[0])))
        return -XL_EFAULT;
    map.nr_entries = n;
    return copy_to_guest_va(v->cr3, arg, &map, sizeof(map)) ? -XL_EFAULT : 0;
}

/* ---- XENMEM_exchange ---- */

/* Xen's guest_handle_subrange_okay for a PV guest: elements [lo, hi] of
 * an array of 8-byte entries at base start at a guest-accessible address
 * and do not wrap (only the range is checked; a bad mapping is found when
 * the entry is copied). */
static int subrange_ok(uint64_t base, uint64_t lo, uint64_t hi)
{
    uint64_t count = hi - lo + 1;
    if (count >= ~0ULL / 8)
        return 0;
    return guest_va_ok(base + lo * 8);
}

/* Xen's steal_page for an exchange: the frame must be d's own, not a
 * frame the hv shares with it, and hold no reference at all (no mapping,
 * no type, no pin). It is marked PGF_exchange while the chunk is in
 * flight (so a second list entry naming it is refused, as Xen's second
 * steal finds no owner). */
static int exchange_steal(struct domain *d, uint64_t mfn)
{
    if (mfn >= max_mfn)
        return -XL_EINVAL;
    struct page_info *pg = &frame_table[mfn];
    if (pg->owner != d->domid || mfn == d->shared_info_mfn || pg->count || pg->type_count ||
        (pg->flags & (PGF_removed | PGF_pinned | PGF_exchange)))
        return -XL_EINVAL;
    pg->flags |= PGF_exchange;
    return 0;
}

/* End a chunk's hold on its input frames: the first `entries` entries
 * (from index first) of the input list, each naming 2^order frames, are
 * read again (nothing else runs during the hypercall, and the list is in
 * frames the guest maps, which cannot be stolen, so they read as before)
 * and every frame still marked is freed (done) or handed back. Should a
 * read fail after all, every marked frame of d is found in the frame
 * table instead. */
static void exchange_release(struct vcpu *v, struct domain *d, uint64_t list, uint64_t first,
                             uint64_t entries, unsigned int order, int done)
{
    for (uint64_t j = 0; j < entries; j++) {
        uint64_t gmfn;
        if (copy_from_guest_va(v->cr3, &gmfn, list + (first + j) * 8, 8)) {
            for (uint64_t m = 0; m < max_mfn; m++)
                if (frame_table[m].owner == d->domid && (frame_table[m].flags & PGF_exchange)) {
                    frame_table[m].flags &= (uint8_t)~PGF_exchange;
                    if (done)
                        mm_free_frame(m);
                }
            return;
        }
        for (uint64_t k = 0; k < (1ULL << order); k++) {
            uint64_t m = gmfn + k;
            if (m < gmfn || m >= max_mfn || frame_table[m].owner != d->domid ||
                !(frame_table[m].flags & PGF_exchange))
                continue;
            frame_table[m].flags &= (uint8_t)~PGF_exchange;
            if (done)
                mm_free_frame(m); /* its M2P entry becomes INVALID */
        }
    }
}

static long exchange_nr_back(struct vcpu *v, uint64_t arg, const struct xen_memory_exchange *e)
{
    return copy_to_guest_va(v->cr3, arg + offsetof(struct xen_memory_exchange, nr_exchanged),
                            &e->nr_exchanged, sizeof(e->nr_exchanged));
}

/* The output extents of a chunk in flight are chained through the first
 * word of each (zeroed frames the hv allocated; cleared again before the
 * guest can see them). */
static void exchange_free_out(uint64_t head, unsigned int order)
{
    while (head != ~0ULL) {
        uint64_t *w = mfn_to_virt(head), next = *w;
        *w = 0;
        for (uint64_t k = 0; k < (1ULL << order); k++)
            mm_free_frame(head + k);
        head = next;
    }
}

/* Xen 4.17's memory_exchange for a PV domain: the input extents
 * (machine frames) are taken from the domain and freed, output extents
 * of out.extent_order are allocated (below 2^address_bits when
 * out.mem_flags gives them), each gets the pfns read from the output
 * list in the M2P, and its first mfn is written over that list entry.
 * The work goes in chunks of max(in, out) order; nr_exchanged (in input
 * extents) is written back, so a failed or continued call says how far
 * it got. Errors: -EPERM for an order above the caller's maximum,
 * -EINVAL for inconsistent sizes or domains or a frame that is not the
 * domain's own free-able frame, -EFAULT, -ESRCH / -EPERM for the domain,
 * -ENOMEM. */
static long memory_exchange(struct vcpu *v, uint64_t arg)
{
    struct xen_memory_exchange exch;
    struct domain *d;
    uint64_t in_chunk, out_chunk, i, j, k, in_taken = 0, out_head = ~0ULL;
    long rc = 0;

    if (copy_from_guest_va(v->cr3, &exch, arg, sizeof(exch)))
        return -XL_EFAULT;
    unsigned int in_o = exch.in.extent_order, out_o = exch.out.extent_order;
    if ((in_o > out_o ? in_o : out_o) > mm_max_extent_order(v->domain)) {
        rc = -XL_EPERM;
        goto fail_early;
    }
    if (exch.nr_exchanged > exch.in.nr_extents || exch.in.domid != exch.out.domid ||
        (~0ULL >> in_o) < exch.in.nr_extents || (~0ULL >> out_o) < exch.out.nr_extents ||
        (exch.in.nr_extents << in_o) != (exch.out.nr_extents << out_o)) {
        rc = -XL_EINVAL;
        goto fail_early;
    }
    if (exch.nr_exchanged == exch.in.nr_extents)
        return 0;
    uint64_t in_list = (uint64_t)exch.in.extent_start.p, out_list = (uint64_t)exch.out.extent_start.p;
    if (!subrange_ok(in_list, exch.nr_exchanged, exch.in.nr_extents - 1)) {
        rc = -XL_EFAULT;
        goto fail_early;
    }
    if (in_o <= out_o) {
        in_chunk = out_o - in_o;
        out_chunk = 0;
        if (!subrange_ok(out_list, exch.nr_exchanged >> in_chunk, exch.out.nr_extents - 1)) {
            rc = -XL_EFAULT;
            goto fail_early;
        }
    } else {
        in_chunk = 0;
        out_chunk = in_o - out_o;
        if (!subrange_ok(out_list, exch.nr_exchanged << out_chunk, exch.out.nr_extents - 1)) {
            rc = -XL_EFAULT;
            goto fail_early;
        }
    }
    if (exch.nr_exchanged & ((1ULL << in_chunk) - 1)) {
        rc = -XL_EINVAL;
        goto fail_early;
    }
    rc = target_domain(v, exch.in.domid, &d);
    if (!rc && d->destroy_stage)
        rc = -XL_ESRCH; /* dying: see reservation() */
    if (rc)
        goto fail_early;
    /* XENMEMF_address_bits: every output frame below 2^bits (Xen: 13
     * bits or fewer leave no zone at all). */
    unsigned int bits = exch.out.mem_flags & 0xff;
    uint64_t limit = ~0ULL;
    i = exch.nr_exchanged >> in_chunk;
    if (bits && bits < 64 + PAGE_SHIFT) {
        if (bits <= PAGE_SHIFT + 1) {
            rc = -XL_ENOMEM;
            goto fail;
        }
        limit = 1ULL << (bits - PAGE_SHIFT);
    }

    for (; i < (exch.in.nr_extents >> in_chunk); i++) {
        if (i != (exch.nr_exchanged >> in_chunk) && hypercall_preempt_check()) {
            exch.nr_exchanged = i << in_chunk;
            if (exchange_nr_back(v, arg, &exch))
                return -XL_EFAULT;
            return hypercall_continuation(v, __HYPERVISOR_memory_op, XENMEM_exchange, arg, 0, 0, 0);
        }
        /* Take the chunk's input frames from the domain. */
        for (in_taken = 0; in_taken < (1ULL << in_chunk);) {
            uint64_t gmfn;
            if (copy_from_guest_va(v->cr3, &gmfn, in_list + ((i << in_chunk) + in_taken) * 8, 8)) {
                rc = -XL_EFAULT;
                goto fail;
            }
            in_taken++; /* released by rereading, even if only partly taken */
            for (k = 0; k < (1ULL << in_o); k++)
                if (gmfn + k < gmfn || exchange_steal(d, gmfn + k)) {
                    rc = -XL_EINVAL;
                    goto fail;
                }
        }
        /* Allocate the chunk's output extents. */
        for (j = 0; j < (1ULL << out_chunk); j++) {
            int64_t m = mm_alloc_frames_below(d->domid, out_o, limit);
            if (m < 0) {
                rc = -XL_ENOMEM;
                goto fail;
            }
            *(uint64_t *)mfn_to_virt((uint64_t)m) = out_head;
            out_head = (uint64_t)m;
        }
        /* Nothing can fail the chunk from here: the inputs go. */
        exchange_release(v, d, in_list, i << in_chunk, in_taken, in_o, 1);
        in_taken = 0;
        /* The chain runs last-allocated first: hand out from the end. */
        for (j = 1ULL << out_chunk; j-- > 0;) {
            uint64_t m = out_head, gpfn, slot = out_list + ((i << out_chunk) + j) * 8;
            out_head = *(uint64_t *)mfn_to_virt(m);
            *(uint64_t *)mfn_to_virt(m) = 0;
            if (copy_from_guest_va(v->cr3, &gpfn, slot, 8)) {
                rc = -XL_EFAULT; /* the extent stays the domain's, unnamed */
                continue;
            }
            for (k = 0; k < (1ULL << out_o); k++)
                m2p_set(m + k, gpfn + k);
            if (copy_to_guest_va(v->cr3, slot, &m, 8))
                rc = -XL_EFAULT;
        }
        if (rc)
            goto fail;
    }
    exch.nr_exchanged = exch.in.nr_extents;
    if (exchange_nr_back(v, arg, &exch))
        rc = -XL_EFAULT;
    return rc;

fail:
    /* Hand back what this chunk took; it does not count as exchanged. */
    if (in_taken)
        exchange_release(v, d, in_list, i << in_chunk, in_taken, in_o, 0);
    exchange_free_out(out_head, out_o);
    exch.nr_exchanged = i << in_chunk;
fail_early:
    if (exchange_nr_back(v, arg, &exch))
        rc = -XL_EFAULT;
    return rc;
}

/* XENMEM_acquire_resource: the frames of an ioreq server, for its
 * device model (a PV caller gets their mfns to map with mmu_update's
 * MMU_PT_UPDATE_NO_TRANSLATE, as Linux's privcmd does). A translated
 * caller, grant table frames and vmtrace buffers: -EOPNOTSUPP. */
static long acquire_resource(struct vcpu *v, uint64_t arg)
{
    xen_mem_acquire_resource_t r;
    if (copy_from_guest_va(v->cr3, &r, arg, sizeof(r)))
        return -XL_EFAULT;
    if (r.pad)
        return -XL_EINVAL;
    /* Xen's rcu_lock_remote_domain_by_id: another domain only (DOMID_SELF
     * names none: -ESRCH; the caller's own id: -EPERM), queries too */
    if (r.domid == DOMID_SELF)
        return -XL_ESRCH;
    if (r.domid == v->domain->domid)
        return -XL_EPERM;
    struct domain *d;
    int rc = target_domain(v, r.domid, &d);
    if (rc)
        return rc;
    if (r.type != XENMEM_resource_ioreq_server)
        return -XL_EOPNOTSUPP;
    if (!r.frame_list.p && !r.nr_frames) {
        r.nr_frames = 1; /* a query: the ioreq page (no buffered page) */
        return copy_to_guest_va(v->cr3, arg, &r, sizeof(r)) ? -XL_EFAULT : 0;
    }
    if (v->domain->hvm)
        return -XL_EOPNOTSUPP;
    if (r.nr_frames != 1)
        return -XL_EINVAL;
    uint64_t mfn;
    if ((rc = hvm_ioreq_resource(v, d, r.id, r.frame, &mfn)))
        return rc;
    xen_pfn_t f = mfn;
    return copy_to_guest_va(v->cr3, (uint64_t)r.frame_list.p, &f, sizeof(f)) ? -XL_EFAULT : 0;
}

/* XENMEM_add_to_physmap: a translated (HVM/PVH) domain's shared_info or
 * grant frames at guest frames of its choice (hvm_add_to_physmap). A PV
 * domain has no physmap to add to (-EINVAL, as Xen's PV path). */
static long add_to_physmap(struct vcpu *v, uint64_t arg)
{
    struct xen_add_to_physmap a;
    struct domain *d;
    if (copy_from_guest_va(v->cr3, &a, arg, sizeof(a)))
        return -XL_EFAULT;
    int rc = target_domain(v, a.domid, &d);
    if (rc)
        return rc;
    if (!d->hvm)
        return -XL_EINVAL;
    return hvm_add_to_physmap(d, a.space, a.idx, a.gpfn);
}

static long memory_map(struct vcpu *v, uint64_t arg)
{
    struct xen_memory_map map;
    if (copy_from_guest_va(v->cr3, &map, arg, sizeof(map)))
        return -XL_EFAULT;
    /* Xen sets no map for a PV dom0, which reads the machine's map
     * (XENMEM_machine_memory_map): -ENOSYS, as real Xen 4.17 answers.
     * A domU gets what xl would set for it (no toolstack here): one RAM
     * range of the domain's maximum size. */
    if (v->domain->privileged)
        return -XL_ENOSYS;
    struct e820_entry e = { .addr = 0, .size = v->domain->max_pages << PAGE_SHIFT,
                            .type = E820_RAM };
    unsigned int n = map.nr_entries ? 1 : 0;
    if (n && copy_to_guest_va(v->cr3, (uint64_t)map.buffer.p, &e, sizeof(e)))
        return -XL_EFAULT;
    map.nr_entries = n;
    if (copy_to_guest_va(v->cr3, arg, &map, sizeof(map)))
        return -XL_EFAULT;
    return 0;
}

static long machphys_mfn_list(struct vcpu *v, uint64_t arg)
{
    struct xen_machphys_mfn_list l;
    if (copy_from_guest_va(v->cr3, &l, arg, sizeof(l)))
        return -XL_EFAULT;
    /* The table is contiguous: one mfn per 2 MiB of it. */
    uint64_t chunks = (m2p_bytes + (2ULL << 20) - 1) >> 21, i;
    for (i = 0; i < chunks && i < l.max_extents; i++) {
        xen_pfn_t m = m2p_first_mfn + i * 512;
        if (copy_to_guest_va(v->cr3, (uint64_t)l.extent_start.p + i * sizeof(m), &m, sizeof(m)))
            return -XL_EFAULT;
    }
    l.nr_extents = (unsigned int)i;
    return copy_to_guest_va(v->cr3, arg, &l, sizeof(l)) ? -XL_EFAULT : 0;
}

HYPERCALL_DECL(memory_op)
{
    (void)a3; (void)a4; (void)a5;
    unsigned int cmd = (unsigned int)a1 & MEMOP_CMD_MASK;
    uint64_t start = a1 >> MEMOP_EXTENT_SHIFT;
    HCSTAT_SUB(&v->domain->hcstat, memory_op, cmd);
    if (start && cmd == XENMEM_exchange)
        return -XL_EINVAL; /* Xen: it continues through nr_exchanged instead */
    if (start && cmd != XENMEM_populate_physmap && cmd != XENMEM_decrease_reservation &&
        cmd != XENMEM_increase_reservation)
        return -XL_ENOSYS; /* a continuation for a call that has none: Xen's answer */
    if (v->domain->hvm && (cmd == XENMEM_exchange || cmd == XENMEM_machine_memory_map ||
                           cmd == XENMEM_machphys_mapping || cmd == XENMEM_machphys_mfn_list ||
                           cmd == XENMEM_increase_reservation))
        return -XL_ENOSYS; /* machine frames are not an HVM guest's business */
    switch (cmd) {
    case XENMEM_add_to_physmap:
        return add_to_physmap(v, a2);
    case XENMEM_maximum_ram_page:
        return (long)max_mfn;
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: {
        domid_t id;
        struct domain *d;
        if (copy_from_guest_va(v->cr3, &id, a2, sizeof(id)))
            return -XL_EFAULT;
        int rc = target_domain(v, id, &d);
        if (rc)
            return rc;
        return (long)(cmd == XENMEM_current_reservation ? d->tot_pages : d->max_pages);
    }
    case XENMEM_increase_reservation:
    case XENMEM_populate_physmap:
    case XENMEM_decrease_reservation: {
        int preempted;
        mm_preempt_begin();
        long rc = reservation(v, cmd, a2, start, &preempted);
        mm_preempt_end();
        if (preempted)
            return hypercall_continuation(v, __HYPERVISOR_memory_op,
                                          cmd | ((uint64_t)rc << MEMOP_EXTENT_SHIFT), a2, a3, a4,
                                          a5);
        return rc;
    }
    case XENMEM_acquire_resource:
        return acquire_resource(v, a2);
    case XENMEM_exchange:
        return memory_exchange(v, a2);
    case XENMEM_memory_map:
        return memory_map(v, a2);
    case XENMEM_machine_memory_map:
        return machine_memory_map(v, a2);
    case XENMEM_machphys_mapping: {
        /* Xen 4.17: the whole M2P area (only frames below max_mfn are
         * mapped), max_mfn MACH2PHYS_NR_ENTRIES - 1, except for the
         * hardware domain, which is told the highest frame there is. */
        struct xen_machphys_mapping m = {
            .v_start = MACH2PHYS_VIRT_START, .v_end = MACH2PHYS_VIRT_END,
            .max_mfn = v->domain->privileged ? max_mfn - 1 : MACH2PHYS_NR_ENTRIES - 1,
        };
        if (!m2p_bytes)
            return -XL_ENOSYS;
        return copy_to_guest_va(v->cr3, a2, &m, sizeof(m)) ? -XL_EFAULT : 0;
    }
    case XENMEM_machphys_mfn_list:
        return machphys_mfn_list(v, a2);
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_memory_op, cmd);
    }
}
