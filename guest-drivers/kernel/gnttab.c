/*
 * gnttab.c - grant tables v1 for the kit's guest kernels: our table's
 * frames mapped over a window in the image, a ref allocator, grant/end
 * access, and map/unmap of other domains' grants by virtual address.
 * Owns: the table window and the allocator. Must never: reuse a ref the
 * other side may still have mapped, or write an entry's flags before its
 * domid and frame are in place.
 * Under PVH (xlguest/platform.h) the table's frames are put at the
 * window's gpfns with XENMAPSPACE_grant_table, and a grant is mapped at
 * the guest-physical address of va: our RAM page there is given back
 * first (XENMEM_decrease_reservation, else Xen would orphan it) and
 * populated again after the unmap; frames granted are gpfns.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/platform.h>

#define PTE_FLAGS 0x67ULL /* P RW US A D */
#define NR_REFS   (GNTTAB_KIT_FRAMES * 4096 / sizeof(grant_entry_v1_t))

static uint8_t table_win[GNTTAB_KIT_FRAMES][4096] __attribute__((aligned(4096)));
static volatile grant_entry_v1_t *table;
static uint8_t ref_used[NR_REFS];

static long gnttab_op(unsigned int cmd, void *arg, unsigned int count)
{
    return HYPERCALL(__HYPERVISOR_grant_table_op, cmd, arg, count);
}

long gnttab_init(void)
{
    xen_pfn_t frames[GNTTAB_KIT_FRAMES];
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = GNTTAB_KIT_FRAMES };
    long rc;

    if (table)
        return 0;
    if (xl_is_pvh) {
        for (unsigned int i = 0; i < GNTTAB_KIT_FRAMES; i++) {
            struct xen_add_to_physmap xatp = {
                .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = i,
                .gpfn = xl_pvh_virt_to_phys(table_win[i]) >> 12,
            };
            if ((rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp)))
                return rc;
        }
        table = (volatile grant_entry_v1_t *)table_win;
        return 0;
    }
    set_xen_guest_handle(st.frame_list, frames);
    if ((rc = gnttab_op(GNTTABOP_setup_table, &st, 1)))
        return rc;
    if (st.status != GNTST_okay)
        return -XEN_EIO;
    for (unsigned int i = 0; i < GNTTAB_KIT_FRAMES; i++)
        if ((rc = HYPERVISOR_update_va_mapping((unsigned long)table_win[i],
                                               ((uint64_t)frames[i] << 12) | PTE_FLAGS,
                                               UVMF_INVLPG)))
            return rc;
    table = (volatile grant_entry_v1_t *)table_win;
    return 0;
}

long gnttab_grant_access(domid_t domid, uint64_t mfn, int readonly)
{
    if (!table)
        return -XEN_EINVAL;
    if (mfn >> 32)
        return -XEN_EINVAL; /* v1 frames are 32 bits */
    for (grant_ref_t r = GNTTAB_FIRST_REF; r < NR_REFS; r++) {
        if (ref_used[r])
            continue;
        ref_used[r] = 1;
        table[r].domid = domid;
        table[r].frame = (uint32_t)mfn;
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* entry complete before it is live */
        table[r].flags = (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0));
        return (long)r;
    }
    return -XEN_ENOSPC;
}

long gnttab_end_access(grant_ref_t ref)
{
    if (!table || ref < GNTTAB_FIRST_REF || ref >= NR_REFS || !ref_used[ref])
        return -XEN_EINVAL;
    uint16_t *flags = (uint16_t *)&table[ref].flags;
    uint16_t old = __atomic_load_n(flags, __ATOMIC_SEQ_CST);
    do {
        if (old & (GTF_reading | GTF_writing))
            return -XEN_EBUSY;
    } while (!__atomic_compare_exchange_n(flags, &old, 0, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    ref_used[ref] = 0;
    return 0;
}

uint16_t gnttab_flags(grant_ref_t ref)
{
    return table && ref < NR_REFS ? table[ref].flags : 0;
}

/* PVH: give back (out = 1) or take again (out = 0) our RAM page at va's
 * gpfn. 0 or a negative Xen errno. */
static long pvh_hole(void *va, int out)
{
    xen_pfn_t gpfn = xl_pvh_virt_to_phys(va) >> 12;
    struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, &gpfn);
    long rc = HYPERVISOR_memory_op(out ? XENMEM_decrease_reservation : XENMEM_populate_physmap, &r);
    return rc == 1 ? 0 : rc < 0 ? rc : -XEN_ENOMEM;
}

long gnttab_map(domid_t domid, grant_ref_t ref, void *va, int readonly,
                grant_handle_t *handle, int16_t *status)
{
    if (xl_is_pvh) {
        long hrc = pvh_hole(va, 1);
        if (hrc) {
            if (status)
                *status = GNTST_general_error;
            return hrc;
        }
    }
    struct gnttab_map_grant_ref m = {
        .host_addr = xl_is_pvh ? xl_pvh_virt_to_phys(va) : (uint64_t)va,
        .flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
        .ref = ref,
        .dom = domid,
    };
    long rc = gnttab_op(GNTTABOP_map_grant_ref, &m, 1);
    if (status)
        *status = rc ? GNTST_general_error : m.status;
    if (xl_is_pvh && (rc || m.status != GNTST_okay))
        pvh_hole(va, 0);
    if (rc)
        return rc;
    if (m.status != GNTST_okay)
        return -XEN_EIO;
    *handle = m.handle;
    if (!xl_is_pvh) {
        /* Xen 4.17 does not flush a PV host mapping it creates (only
         * unmaps): an entry for va's old frame may still be cached */
        struct mmuext_op op = { .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = (unsigned long)va };
        HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    }
    return 0;
}

long gnttab_unmap(void *va, grant_handle_t handle, int16_t *status)
{
    struct gnttab_unmap_grant_ref u = {
        .host_addr = xl_is_pvh ? xl_pvh_virt_to_phys(va) : (uint64_t)va, .handle = handle,
    };
    long rc = gnttab_op(GNTTABOP_unmap_grant_ref, &u, 1);
    if (status)
        *status = rc ? GNTST_general_error : u.status;
    if (rc)
        return rc;
    if (u.status != GNTST_okay)
        return -XEN_EIO;
    if (xl_is_pvh)
        return pvh_hole(va, 0);
    uint64_t mfn = virt_to_mfn(va);
    if (mfn != ~0ULL)
        rc = HYPERVISOR_update_va_mapping((unsigned long)va, (mfn << 12) | PTE_FLAGS,
                                          UVMF_INVLPG);
    return rc;
}

long gnttab_copy(struct gnttab_copy *ops, unsigned int count)
{
    return count ? gnttab_op(GNTTABOP_copy, ops, count) : 0;
}
