/*
 * pv_gnttab.c - a PV test kernel (dom0) that uses grant tables v1 on
 * itself: query_size / setup_table, maps its own table frame, grants one
 * of its pages to domain 0 and maps the grant over a scratch page
 * (GTF_reading/GTF_writing set while mapped, cleared on unmap), and
 * checks the refusals (read-only grant mapped writable, not granted,
 * wrong domid, bad ref, bad handle, double unmap) and a grant copy.
 * Pages the hv writes behind the compiler's back are read as volatile.
 * Owns: nothing outside itself. Must never: leave its scratch pages
 * unmapped (it restores their PTEs before the verdict).
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xen/grant_table.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>

#define PTE_FLAGS 0x67ULL /* P RW US A D */

static uint8_t tblwin[4096] __attribute__((aligned(4096)));
static uint8_t mapwin[4096] __attribute__((aligned(4096)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static uint8_t dest[4096] __attribute__((aligned(4096)));
static const uint64_t *p2m;

static long gnttab_op(unsigned int cmd, void *arg, unsigned int count)
{
    return HYPERCALL(__HYPERVISOR_grant_table_op, cmd, arg, count);
}

static uint64_t mfn_of(const void *va)
{
    return p2m[((uint64_t)va - GUEST_VIRT_BASE) >> 12];
}

static int16_t map(uint32_t ref, uint32_t flags, grant_handle_t *h)
{
    struct gnttab_map_grant_ref m = { .host_addr = (uint64_t)mapwin, .flags = flags,
                                      .ref = ref, .dom = 0 };
    if (gnttab_op(GNTTABOP_map_grant_ref, &m, 1))
        return 99;
    *h = m.handle;
    return m.status;
}

static int16_t unmap(grant_handle_t h)
{
    struct gnttab_unmap_grant_ref u = { .host_addr = (uint64_t)mapwin, .handle = h };
    if (gnttab_op(GNTTABOP_unmap_grant_ref, &u, 1))
        return 99;
    return u.status;
}

int guest_main(start_info_t *si)
{
    p2m = (const uint64_t *)si->mfn_list;
    uint64_t tblwin_mfn = mfn_of(tblwin), mapwin_mfn = mfn_of(mapwin);

    struct gnttab_query_size q = { .dom = DOMID_SELF };
    check_eq("query_size -> 0", gnttab_op(GNTTABOP_query_size, &q, 1), 0);
    check_eq("  status okay", q.status, GNTST_okay);
    check_eq("  one frame", q.nr_frames, 1);
    check_true("  max_nr_frames >= 1", q.max_nr_frames >= 1);

    xen_pfn_t frames[1] = { 0 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(st.frame_list, frames);
    check_eq("setup_table -> 0", gnttab_op(GNTTABOP_setup_table, &st, 1), 0);
    check_eq("  status okay", st.status, GNTST_okay);
    check_eq("map our grant table frame",
             HYPERVISOR_update_va_mapping((unsigned long)tblwin, (frames[0] << 12) | PTE_FLAGS,
                                          UVMF_INVLPG), 0);
    volatile grant_entry_v1_t *gt = (volatile grant_entry_v1_t *)tblwin;

    const char msg[] = "granted page contents";
    for (unsigned int i = 0; i < sizeof(msg); i++)
        data[i] = (uint8_t)msg[i];
    gt[3].domid = 0;
    gt[3].frame = (uint32_t)mfn_of(data);
    __asm__ volatile("" ::: "memory");
    gt[3].flags = GTF_permit_access;

    grant_handle_t h = 0, h2 = 0;
    check_eq("map_grant_ref rw -> okay", map(3, GNTMAP_host_map, &h), GNTST_okay);
    check_eq("  GTF_reading|GTF_writing set", gt[3].flags,
             GTF_permit_access | GTF_reading | GTF_writing);
    int same = 1;
    for (unsigned int i = 0; i < sizeof(msg); i++)
        same &= ((volatile uint8_t *)mapwin)[i] == (uint8_t)msg[i];
    check_true("  the mapping shows the granted page", same);
    ((volatile uint8_t *)mapwin)[100] = 0x5a;
    check_eq("  a write through it lands in the page", ((volatile uint8_t *)data)[100], 0x5a);
    check_eq("unmap_grant_ref -> okay", unmap(h), GNTST_okay);
    check_eq("  flags cleared", gt[3].flags, GTF_permit_access);
    check_eq("unmap again -> bad_handle", unmap(h), GNTST_bad_handle);
    check_eq("unmap a handle never given -> bad_handle", unmap(777), GNTST_bad_handle);

    gt[4].domid = 0;
    gt[4].frame = (uint32_t)mfn_of(data);
    gt[4].flags = GTF_permit_access | GTF_readonly;
    check_eq("read-only grant mapped rw -> general_error", map(4, GNTMAP_host_map, &h2),
             GNTST_general_error);
    check_eq("read-only grant mapped ro -> okay",
             map(4, GNTMAP_host_map | GNTMAP_readonly, &h2), GNTST_okay);
    check_eq("  GTF_reading only", gt[4].flags, GTF_permit_access | GTF_readonly | GTF_reading);
    check_eq("  unmap -> okay", unmap(h2), GNTST_okay);
    gt[5].flags = 0;
    check_eq("not granted -> general_error", map(5, GNTMAP_host_map, &h2), GNTST_general_error);
    gt[6].domid = 7;
    gt[6].frame = (uint32_t)mfn_of(data);
    gt[6].flags = GTF_permit_access;
    check_eq("granted to another domain -> general_error", map(6, GNTMAP_host_map, &h2),
             GNTST_general_error);
    check_eq("ref beyond the table -> bad_gntref", map(100000, GNTMAP_host_map, &h2),
             GNTST_bad_gntref);

    struct gnttab_copy c = { .len = sizeof(msg), .flags = GNTCOPY_source_gref };
    c.source.u.ref = 3, c.source.domid = 0, c.source.offset = 0;
    c.dest.u.gmfn = mfn_of(dest), c.dest.domid = DOMID_SELF, c.dest.offset = 10;
    check_eq("copy from a grant -> 0", gnttab_op(GNTTABOP_copy, &c, 1), 0);
    check_eq("  status okay", c.status, GNTST_okay);
    same = 1;
    for (unsigned int i = 0; i < sizeof(msg); i++)
        same &= ((volatile uint8_t *)dest)[10 + i] == (uint8_t)msg[i];
    check_true("  bytes copied", same);
    c.dest.offset = 4090;
    gnttab_op(GNTTABOP_copy, &c, 1);
    check_eq("copy across the page end -> bad_copy_arg", c.status, GNTST_bad_copy_arg);

    struct gnttab_set_version sv = { .version = 1 };
    check_eq("set_version 1 -> 0", gnttab_op(GNTTABOP_set_version, &sv, 1), 0);
    struct gnttab_get_version gv = { .dom = DOMID_SELF };
    check_eq("get_version -> 0", gnttab_op(GNTTABOP_get_version, &gv, 1), 0);
    check_eq("  version 1", gv.version, 1);

    check_eq("scratch pages restored",
             HYPERVISOR_update_va_mapping((unsigned long)mapwin, (mapwin_mfn << 12) | PTE_FLAGS,
                                          UVMF_INVLPG) |
             HYPERVISOR_update_va_mapping((unsigned long)tblwin, (tblwin_mfn << 12) | PTE_FLAGS,
                                          UVMF_INVLPG), 0);
    return check_summary("pv_gnttab");
}
