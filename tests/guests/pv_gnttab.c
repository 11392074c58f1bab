/*
 * pv_gnttab.c - a PV test kernel (dom0 on Xenolith or real Xen 4.17, or
 * a boot-time domU with self=ID on its command line) that uses grant
 * tables v1 on itself: query_size / setup_table, grows its table to 4
 * frames as Linux does and maps the frames writable in its own page
 * tables through each path Linux uses (update_va_mapping, mmu_update, a
 * direct write of the PTE emulated by ptwr), writes grant entries
 * through those mappings, grants one of its pages to itself and maps the
 * grant over a scratch page (GTF_reading/GTF_writing set while mapped,
 * cleared on unmap), and checks the refusals (read-only grant mapped
 * writable, not granted, wrong domid, bad ref, bad handle, double unmap,
 * more frames than max_nr_frames) and a grant copy.
 * Pages the hv writes behind the compiler's back are read as volatile.
 * Owns: nothing outside itself. Must never: leave its scratch pages
 * unmapped as dom0 (it restores their PTEs before the verdict); as a
 * domU it ends with its table frames and one grant still mapped, so the
 * hv's teardown is what gives them back.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xen/grant_table.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>

#define PTE_FLAGS 0x67ULL /* P RW US A D */

#define NFRAMES 4
static uint8_t tblwin[NFRAMES * 4096] __attribute__((aligned(4096)));
static uint8_t mapwin[4096] __attribute__((aligned(4096)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static uint8_t dest[4096] __attribute__((aligned(4096)));
static const uint64_t *p2m;
static uint64_t nr_pages;
static domid_t me;

static long gnttab_op(unsigned int cmd, void *arg, unsigned int count)
{
    return HYPERCALL(__HYPERVISOR_grant_table_op, cmd, arg, count);
}

static uint64_t mfn_of(const void *va)
{
    return p2m[((uint64_t)va - GUEST_VIRT_BASE) >> 12];
}

static uint64_t *frame_va(uint64_t mfn)
{
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
        if (p2m[pfn] == mfn)
            return (uint64_t *)(GUEST_VIRT_BASE + pfn * 4096);
    return 0;
}

/* Our (read-only) mapping of the L1 entry that maps va, and its machine
 * address. */
static uint64_t *l1e_ptr(uint64_t l4_mfn, uint64_t va, uint64_t *maddr)
{
    uint64_t mfn = l4_mfn;
    for (int level = 4; level > 1; level--) {
        const uint64_t *t = frame_va(mfn);
        if (!t)
            return 0;
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & 1))
            return 0;
        mfn = (e & 0x000FFFFFFFFFF000ULL) >> 12;
    }
    uint64_t *l1 = frame_va(mfn);
    *maddr = (mfn << 12) | (((va >> 12) & 511) << 3);
    return l1 ? &l1[(va >> 12) & 511] : 0;
}

static int16_t map(uint32_t ref, uint32_t flags, grant_handle_t *h)
{
    struct gnttab_map_grant_ref m = { .host_addr = (uint64_t)mapwin, .flags = flags,
                                      .ref = ref, .dom = me };
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
    nr_pages = si->nr_pages;
    char arg[16];
    if (cmdline_get(si, "self", arg, sizeof(arg)))
        for (const char *c = arg; *c >= '0' && *c <= '9'; c++)
            me = (domid_t)(me * 10 + (*c - '0'));
    printk("pv_gnttab: I am d%u\n", me);
    uint64_t tblwin_mfn[NFRAMES], mapwin_mfn = mfn_of(mapwin);
    for (unsigned int i = 0; i < NFRAMES; i++)
        tblwin_mfn[i] = mfn_of(tblwin + i * 4096);

    struct gnttab_query_size q = { .dom = DOMID_SELF };
    check_eq("query_size -> 0", gnttab_op(GNTTABOP_query_size, &q, 1), 0);
    check_eq("  status okay", q.status, GNTST_okay);
    check_eq("  one frame", q.nr_frames, 1);
    check_eq("  max_nr_frames 64 (Xen's default)", q.max_nr_frames, 64);

    xen_pfn_t frames[NFRAMES] = { 0 };
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
    gt[3].domid = me;
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

    gt[4].domid = me;
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
    gt[6].domid = (domid_t)(me + 7);
    gt[6].frame = (uint32_t)mfn_of(data);
    gt[6].flags = GTF_permit_access;
    check_eq("granted to another domain -> general_error", map(6, GNTMAP_host_map, &h2),
             GNTST_general_error);
    check_eq("ref beyond the table -> bad_gntref", map(100000, GNTMAP_host_map, &h2),
             GNTST_bad_gntref);

    struct gnttab_copy c = { .len = sizeof(msg), .flags = GNTCOPY_source_gref };
    c.source.u.ref = 3, c.source.domid = me, c.source.offset = 0;
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

    /* ---- the table grows, as Linux grows it (gnttab_expand): setup_table
     * with more frames, every frame mapped writable again ---- */
    st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = 65 };
    set_xen_guest_handle(st.frame_list, frames);
    check_eq("setup_table 65 frames -> 0", gnttab_op(GNTTABOP_setup_table, &st, 1), 0);
    check_eq("  status general_error (above max_nr_frames)", st.status, GNTST_general_error);
    st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = NFRAMES };
    set_xen_guest_handle(st.frame_list, frames);
    uint64_t first = frames[0];
    check_eq("setup_table 4 frames -> 0", gnttab_op(GNTTABOP_setup_table, &st, 1), 0);
    check_eq("  status okay", st.status, GNTST_okay);
    check_true("  frame 0 unchanged, 4 distinct frames",
               frames[0] == first && frames[1] != frames[0] && frames[2] != frames[1] &&
               frames[3] != frames[2] && frames[3] != frames[0] && frames[2] != frames[0]);
    q = (struct gnttab_query_size){ .dom = DOMID_SELF };
    gnttab_op(GNTTABOP_query_size, &q, 1);
    check_eq("query_size: 4 frames now", q.nr_frames, NFRAMES);
    st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = 2 };
    xen_pfn_t two[2] = { 0 };
    set_xen_guest_handle(st.frame_list, two);
    gnttab_op(GNTTABOP_setup_table, &st, 1);
    check_true("setup_table 2 frames: the first two again, no shrink",
               st.status == GNTST_okay && two[0] == frames[0] && two[1] == frames[1]);
    gnttab_op(GNTTABOP_query_size, &q, 1);
    check_eq("  query_size still 4", q.nr_frames, NFRAMES);

    uint64_t l4_mfn = mfn_of((const void *)si->pt_base), maddr = 0;
    /* frame 1 by mmu_update of the PTE's machine address */
    uint64_t *pte1 = l1e_ptr(l4_mfn, (uint64_t)(tblwin + 4096), &maddr);
    mmu_update_t mu = { .ptr = maddr | MMU_NORMAL_PT_UPDATE, .val = (frames[1] << 12) | PTE_FLAGS };
    check_eq("frame 1 mapped writable by mmu_update",
             pte1 ? HYPERVISOR_mmu_update(&mu, 1, NULL, DOMID_SELF) : -1, 0);
    /* frame 2 by a direct write of the PTE (ptwr emulation) */
    check_eq("vm_assist writable_pagetables -> 0",
             HYPERVISOR_vm_assist(VMASST_CMD_enable, VMASST_TYPE_writable_pagetables), 0);
    uint64_t *pte2 = l1e_ptr(l4_mfn, (uint64_t)(tblwin + 2 * 4096), &maddr);
    if (pte2)
        *(volatile uint64_t *)pte2 = (frames[2] << 12) | PTE_FLAGS;
    check_true("frame 2 mapped writable by a direct PTE write",
               pte2 && (*(volatile uint64_t *)pte2 & ~0x100ULL) == ((frames[2] << 12) | PTE_FLAGS));
    /* frame 3 by update_va_mapping */
    check_eq("frame 3 mapped writable by update_va_mapping",
             HYPERVISOR_update_va_mapping((unsigned long)(tblwin + 3 * 4096),
                                          (frames[3] << 12) | PTE_FLAGS, UVMF_INVLPG), 0);
    struct mmuext_op fl = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    HYPERVISOR_mmuext_op(&fl, 1, NULL, DOMID_SELF);
    check_eq("  frame 0 still shows entry 3 through the first mapping",
             ((volatile grant_entry_v1_t *)tblwin)[3].frame, (uint32_t)mfn_of(data));
    /* one entry in each new frame, written through its own mapping */
    static const unsigned int refs[3] = { 512 + 9, 2 * 512 + 100, 3 * 512 + 511 };
    for (unsigned int i = 0; i < 3; i++) {
        volatile grant_entry_v1_t *e = &gt[refs[i]];
        e->domid = me;
        e->frame = (uint32_t)mfn_of(data);
        __asm__ volatile("" ::: "memory");
        e->flags = GTF_permit_access | (i == 1 ? GTF_readonly : 0);
    }
    check_eq("map ref 521 (frame 1) rw -> okay", map(refs[0], GNTMAP_host_map, &h), GNTST_okay);
    check_eq("  its GTF_writing shows in frame 1", gt[refs[0]].flags,
             GTF_permit_access | GTF_reading | GTF_writing);
    check_eq("  the mapping shows the page", ((volatile uint8_t *)mapwin)[100], 0x5a);
    check_eq("  unmap -> okay", unmap(h), GNTST_okay);
    check_eq("map ref 1124 (frame 2, read-only grant) rw -> general_error",
             map(refs[1], GNTMAP_host_map, &h), GNTST_general_error);
    check_eq("map ref 1124 ro -> okay", map(refs[1], GNTMAP_host_map | GNTMAP_readonly, &h),
             GNTST_okay);
    check_eq("  unmap -> okay", unmap(h), GNTST_okay);
    check_eq("map ref 2047 (last of frame 3) rw -> okay", map(refs[2], GNTMAP_host_map, &h),
             GNTST_okay);
    check_eq("  its GTF_writing shows in frame 3", gt[refs[2]].flags,
             GTF_permit_access | GTF_reading | GTF_writing);
    check_eq("ref 2048 (past 4 frames) -> bad_gntref", map(2048, GNTMAP_host_map, &h2),
             GNTST_bad_gntref);

    struct gnttab_set_version sv = { .version = 1 };
    check_eq("set_version 1 -> 0", gnttab_op(GNTTABOP_set_version, &sv, 1), 0);
    struct gnttab_get_version gv = { .dom = DOMID_SELF };
    check_eq("get_version -> 0", gnttab_op(GNTTABOP_get_version, &gv, 1), 0);
    check_eq("  version 1", gv.version, 1);

    if (me == 0) {
        check_eq("  unmap ref 2047 -> okay", unmap(h), GNTST_okay);
        long rc = HYPERVISOR_update_va_mapping((unsigned long)mapwin,
                                               (mapwin_mfn << 12) | PTE_FLAGS, UVMF_INVLPG);
        for (unsigned int i = 0; i < NFRAMES; i++)
            rc |= HYPERVISOR_update_va_mapping((unsigned long)(tblwin + i * 4096),
                                               (tblwin_mfn[i] << 12) | PTE_FLAGS, UVMF_INVLPG);
        check_eq("scratch pages restored", rc, 0);
    } else {
        printk("pv_gnttab: leaving 4 table frames and one grant mapped for the teardown\n");
    }
    return check_summary("pv_gnttab");
}
