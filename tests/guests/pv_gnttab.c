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
 * more frames than max_nr_frames) and a grant copy. Then grant tables
 * v2: set_version / get_version / get_status_frames, the status frame
 * mapped read-only as Linux maps it, v2 full-page grants mapped with
 * their GTF_reading/GTF_writing in the status frame, sub-page grants
 * copied within their bounds and refused for mapping, a self-referential
 * transitive grant refused, the reserved entries kept across switches,
 * -EBUSY while a grant is in use or the status frame is mapped, -ERANGE
 * for a reserved entry v1 cannot hold, and back to v1.
 * Pages the hv writes behind the compiler's back are read as volatile.
 * Owns: nothing outside itself. Must never: leave its scratch pages
 * unmapped as dom0 (it restores their PTEs before the verdict); as a
 * domU it ends in v2 with its table frames, its status frame and one
 * grant still mapped, so the hv's teardown is what gives them back.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xen/grant_table.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/platform.h>

#define PTE_FLAGS 0x67ULL /* P RW US A D */

#define NFRAMES 4
static uint8_t tblwin[NFRAMES * 4096] __attribute__((aligned(4096)));
static uint8_t mapwin[4096] __attribute__((aligned(4096)));
static uint8_t statwin[4096] __attribute__((aligned(4096)));
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

/* As a domU: stay alive (polling) for ms of system time, so the dom0
 * heartbeat is seen while this domain exists (as attack.c's linger). */
static void linger(uint64_t ms)
{
    if (!guest_shared_info)
        return;
    volatile struct vcpu_time_info *t = &guest_shared_info->vcpu_info[0].time;
    uint64_t until = pvclock_read(t) + ms * 1000000ULL;
    while (pvclock_read(t) < until) {
        struct sched_poll p = { .nr_ports = 0, .timeout = until };
        if (HYPERVISOR_sched_op(SCHEDOP_poll, &p) < 0)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
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
    if (xl_pvh_refuse("pv_gnttab"))
        return SHUTDOWN_poweroff;
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

    /* ---- v2 ---- */
    uint64_t statwin_mfn = mfn_of(statwin), sframes[2] = { 0, 0 };
    struct gnttab_get_status_frames gs = { .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(gs.frame_list, sframes);
    gnttab_op(GNTTABOP_get_status_frames, &gs, 1);
    check_eq("v1: get_status_frames 1 -> general_error", gs.status, GNTST_general_error);
    gs.nr_frames = 0;
    gnttab_op(GNTTABOP_get_status_frames, &gs, 1);
    check_eq("v1: get_status_frames 0 -> okay", gs.status, GNTST_okay);
    sv.version = 2;
    check_eq("set_version 2 while ref 2047 is mapped -> -EBUSY",
             gnttab_op(GNTTABOP_set_version, &sv, 1), -XEN_EBUSY);
    check_eq("  version stays 1", sv.version, 1);
    check_eq("  unmap ref 2047 -> okay", unmap(h), GNTST_okay);
    gt[2].domid = me; /* a reserved entry: kept across the switch */
    gt[2].frame = (uint32_t)mfn_of(data);
    gt[2].flags = GTF_permit_access;
    sv.version = 2;
    check_eq("set_version 2 -> 0", gnttab_op(GNTTABOP_set_version, &sv, 1), 0);
    check_eq("  version 2 written back", sv.version, 2);
    gnttab_op(GNTTABOP_get_version, &gv, 1);
    check_eq("  get_version: 2", gv.version, 2);
    volatile grant_entry_v2_t *g2 = (volatile grant_entry_v2_t *)tblwin;
    check_true("  reserved entry 2 kept in the v2 layout",
               g2[2].hdr.flags == GTF_permit_access && g2[2].hdr.domid == me &&
               g2[2].full_page.frame == mfn_of(data));
    check_true("  other entries cleared", gt[refs[0]].flags == 0 && g2[100].hdr.flags == 0);
    gs.nr_frames = 2;
    gnttab_op(GNTTABOP_get_status_frames, &gs, 1);
    check_eq("get_status_frames 2 (4 table frames need 1) -> general_error", gs.status,
             GNTST_general_error);
    gs.nr_frames = 1;
    check_eq("get_status_frames 1 -> 0", gnttab_op(GNTTABOP_get_status_frames, &gs, 1), 0);
    check_eq("  status okay", gs.status, GNTST_okay);
    check_eq("status frame mapped read-only (as Linux maps it)",
             HYPERVISOR_update_va_mapping((unsigned long)statwin, (sframes[0] << 12) | 0x25ULL,
                                          UVMF_INVLPG), 0);
    volatile grant_status_t *gst = (volatile grant_status_t *)statwin;

    g2[10].hdr.domid = me;
    g2[10].full_page.frame = mfn_of(data);
    __asm__ volatile("" ::: "memory");
    g2[10].hdr.flags = GTF_permit_access;
    check_eq("v2: map ref 10 rw -> okay", map(10, GNTMAP_host_map, &h), GNTST_okay);
    check_eq("  GTF_reading|GTF_writing in the status frame", gst[10],
             GTF_reading | GTF_writing);
    check_eq("  the entry's flags untouched", g2[10].hdr.flags, GTF_permit_access);
    check_eq("  the mapping shows the page", ((volatile uint8_t *)mapwin)[100], 0x5a);
    sv.version = 1;
    check_eq("set_version 1 while ref 10 is mapped -> -EBUSY",
             gnttab_op(GNTTABOP_set_version, &sv, 1), -XEN_EBUSY);
    check_eq("  unmap -> okay", unmap(h), GNTST_okay);
    check_eq("  status cleared", gst[10], 0);
    check_eq("v2: ref 256 (past 1 frame's 256 entries, table has 4) -> okay",
             (g2[256].hdr.domid = me, g2[256].full_page.frame = mfn_of(data),
              g2[256].hdr.flags = GTF_permit_access | GTF_readonly,
              map(256, GNTMAP_host_map | GNTMAP_readonly, &h2)), GNTST_okay);
    check_eq("  GTF_reading only", gst[256], GTF_reading);
    check_eq("  unmap -> okay", unmap(h2), GNTST_okay);
    check_eq("v2: ref 1024 (past 4 frames) -> bad_gntref", map(1024, GNTMAP_host_map, &h2),
             GNTST_bad_gntref);

    g2[11].hdr.domid = me;
    g2[11].sub_page.frame = mfn_of(data);
    g2[11].sub_page.page_off = 4;
    g2[11].sub_page.length = 10;
    g2[11].hdr.flags = GTF_permit_access | GTF_sub_page;
    check_eq("v2: sub-page grant mapped -> general_error", map(11, GNTMAP_host_map, &h2),
             GNTST_general_error);
    c = (struct gnttab_copy){ .len = 10, .flags = GNTCOPY_source_gref };
    c.source.u.ref = 11, c.source.domid = me, c.source.offset = 4;
    c.dest.u.gmfn = mfn_of(dest), c.dest.domid = DOMID_SELF, c.dest.offset = 300;
    gnttab_op(GNTTABOP_copy, &c, 1);
    check_eq("v2: copy within the sub-page -> okay", c.status, GNTST_okay);
    same = 1;
    for (unsigned int i = 0; i < 10; i++)
        same &= ((volatile uint8_t *)dest)[300 + i] == (uint8_t)msg[4 + i];
    check_true("  bytes 4..13 copied", same);
    c.source.offset = 5;
    gnttab_op(GNTTABOP_copy, &c, 1);
    check_eq("v2: copy past the sub-page end -> general_error", c.status, GNTST_general_error);
    c.source.offset = 3;
    gnttab_op(GNTTABOP_copy, &c, 1);
    check_eq("v2: copy before the sub-page -> general_error", c.status, GNTST_general_error);
    check_eq("  status of the sub-page entry clear", gst[11], 0);
    g2[12].hdr.domid = me;
    g2[12].transitive.trans_domid = me;
    g2[12].transitive.gref = 10;
    g2[12].hdr.flags = GTF_transitive;
    c.source.u.ref = 12, c.source.offset = 0;
    gnttab_op(GNTTABOP_copy, &c, 1);
    check_eq("v2: self-referential transitive copy -> general_error", c.status,
             GNTST_general_error);
    check_eq("v2: transitive grant mapped -> general_error", map(12, GNTMAP_host_map, &h2),
             GNTST_general_error);
    check_eq("  status of the transitive entry clear", gst[12], 0);

    sv.version = 1;
    check_eq("set_version 1 while the status frame is mapped -> -EBUSY",
             gnttab_op(GNTTABOP_set_version, &sv, 1), -XEN_EBUSY);
    check_eq("  status frame unmapped",
             HYPERVISOR_update_va_mapping((unsigned long)statwin, (statwin_mfn << 12) | PTE_FLAGS,
                                          UVMF_INVLPG), 0);
    g2[5].hdr.domid = me;
    g2[5].full_page.frame = 1ULL << 32;
    g2[5].hdr.flags = GTF_permit_access;
    sv.version = 1;
    check_eq("set_version 1 with a reserved frame >= 2^32 -> -ERANGE",
             gnttab_op(GNTTABOP_set_version, &sv, 1), -XEN_ERANGE);
    check_eq("  version stays 2", sv.version, 2);
    g2[5].hdr.flags = 0;
    sv.version = 1;
    check_eq("set_version 1 -> 0", gnttab_op(GNTTABOP_set_version, &sv, 1), 0);
    gnttab_op(GNTTABOP_get_version, &gv, 1);
    check_eq("  get_version: 1", gv.version, 1);
    check_true("  reserved entry 2 back in the v1 layout",
               gt[2].flags == GTF_permit_access && gt[2].domid == me &&
               gt[2].frame == (uint32_t)mfn_of(data));
    check_eq("  v2 entries cleared", g2[10].hdr.flags, 0);
    gt[refs[2]].domid = me;
    gt[refs[2]].frame = (uint32_t)mfn_of(data);
    gt[refs[2]].flags = GTF_permit_access;
    check_eq("v1 again: map ref 2047 -> okay", map(refs[2], GNTMAP_host_map, &h), GNTST_okay);
    check_eq("  GTF_reading|GTF_writing in the entry", gt[refs[2]].flags,
             GTF_permit_access | GTF_reading | GTF_writing);

    if (me == 0) {
        check_eq("  unmap ref 2047 -> okay", unmap(h), GNTST_okay);
        long rc = HYPERVISOR_update_va_mapping((unsigned long)mapwin,
                                               (mapwin_mfn << 12) | PTE_FLAGS, UVMF_INVLPG);
        for (unsigned int i = 0; i < NFRAMES; i++)
            rc |= HYPERVISOR_update_va_mapping((unsigned long)(tblwin + i * 4096),
                                               (tblwin_mfn[i] << 12) | PTE_FLAGS, UVMF_INVLPG);
        check_eq("scratch pages restored", rc, 0);
    } else {
        /* Die in v2 with the status frame and a v2 grant mapped. */
        check_eq("  unmap ref 2047 -> okay", unmap(h), GNTST_okay);
        sv.version = 2;
        gnttab_op(GNTTABOP_set_version, &sv, 1);
        gnttab_op(GNTTABOP_get_status_frames, &gs, 1);
        g2[10].hdr.domid = me;
        g2[10].full_page.frame = mfn_of(data);
        g2[10].hdr.flags = GTF_permit_access;
        check_true("v2 again: status frame and ref 10 mapped",
                   sv.version == 2 && gs.status == GNTST_okay &&
                   !HYPERVISOR_update_va_mapping((unsigned long)statwin,
                                                 (sframes[0] << 12) | 0x25ULL, UVMF_INVLPG) &&
                   map(10, GNTMAP_host_map, &h) == GNTST_okay &&
                   ((volatile grant_status_t *)statwin)[10] == (GTF_reading | GTF_writing));
        printk("pv_gnttab: leaving 4 table frames, the status frame and one grant mapped for the teardown\n");
        linger(100);
    }
    return check_summary("pv_gnttab");
}
