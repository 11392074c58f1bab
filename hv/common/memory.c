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
    if (start >= r.nr_extents || r.extent_order > mm_max_extent_order(v->domain))
        return (long)start;
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
            for (j = 0; j < n; j++)
                if (mm_remove_page(d, x + j))
                    break;
            if (j < n)
                break;
            continue;
        }
        /* populate_physmap: x is the pfn of the extent's first frame. */
        if (d->tot_pages + n > d->max_pages)
            break;
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
    if (start && cmd != XENMEM_populate_physmap && cmd != XENMEM_decrease_reservation &&
        cmd != XENMEM_increase_reservation)
        return -XL_ENOSYS; /* a continuation for a call that has none: Xen's answer */
    switch (cmd) {
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
        long rc = reservation(v, cmd, a2, start, &preempted);
        if (preempted)
            return hypercall_continuation(v, __HYPERVISOR_memory_op,
                                          cmd | ((uint64_t)rc << MEMOP_EXTENT_SHIFT), a2, a3, a4,
                                          a5);
        return rc;
    }
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
