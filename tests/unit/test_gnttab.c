/*
 * test_gnttab.c - host unit tests for grant tables v1 and v2 (cmocka,
 * ASan/UBSan) through do_grant_table_op and the domain hooks: setup_table,
 * query_size, the domain's limits, versions (v2 status frames, mapping
 * and copying v2 full-page / sub-page / transitive grants, switches
 * keeping the reserved entries, -EBUSY/-ERANGE), host mappings by va
 * and by PTE address (rw, ro), device mappings, copy, GTF_reading/GTF_writing as Xen sets them, every
 * refusal (not granted, wrong domid, ro->rw, bad ref, bad domain, bad
 * page, bad handle, double unmap, wrong PTE, copy across domains and out
 * of bounds), and teardown either side (granter dies while mapped: the
 * frame outlives it until unmapped; mapper dies: its mappings go).
 * Every test ends by destroying all domains and checking the free-frame
 * count is back where it started, with no reference left anywhere.
 * Links: grant_table.c mm.c page_type.c m2p.c mmu.c page_alloc.c format.c.
 * Mocks: fake machine memory (NFRAMES frames), guest copies (guest va =
 * host pointer; BAD_VA faults), guest_va_ok, domains[]/domain_by_id,
 * hypercall preemption (switchable) and continuation (recorded), TLB hooks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/grant_table.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xen/grant_table.h>
#include "fake_mem.h"

#define NFRAMES    2048
#define FIRST_FREE 16
#define BAD_VA     0xdead000ULL
#define RWF (PTE_P | PTE_RW | PTE_US | PTE_A)

/* ---- mocks ---- */
static int preempt, continued;
static uint64_t cont_args[3];

int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t src, size_t len)
{
    (void)cr3;
    if (src >= BAD_VA && src < BAD_VA + PAGE_SIZE)
        return -XL_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)src, len);
    return 0;
}
int copy_to_guest_va(uint64_t cr3, uint64_t dst, const void *src, size_t len)
{
    (void)cr3;
    if (dst >= BAD_VA && dst < BAD_VA + PAGE_SIZE)
        return -XL_EFAULT;
    memcpy((void *)(uintptr_t)dst, src, len);
    return 0;
}
int guest_va_ok(uint64_t va) { return va < (1ULL << 47); }
/* The ops live in host memory here: no direct pointer (mm_guest_ptr gives
 * NULL), so the copies above carry them. */
int guest_translate(uint64_t cr3, uint64_t va, int write, uint64_t *maddr)
{
    (void)cr3; (void)va; (void)write; (void)maddr;
    return -XL_EFAULT;
}
int hypercall_preempt_check(void) { return preempt; }
long hypercall_continuation(struct vcpu *v, unsigned int nr, uint64_t a1, uint64_t a2,
                            uint64_t a3, uint64_t a4, uint64_t a5)
{
    (void)v; (void)a4; (void)a5;
    continued++;
    cont_args[0] = a1, cont_args[1] = a2, cont_args[2] = a3;
    return (long)nr;
}

/* ---- helpers ---- */
enum { D0 = 0, A = 1, B = 2, C = 3 };
static uint64_t free_at_start;
#define pi(m) (&frame_table[m])

struct tree { uint64_t l4, l3, l2, l1; };
static struct tree trees[MAX_DOMAINS];

static uint64_t frame(uint16_t owner)
{
    int64_t m = mm_alloc_frame(owner);
    assert_true(m >= FIRST_FREE);
    domains[owner].tot_pages++;
    return (uint64_t)m;
}
static uint64_t *tab(uint64_t mfn) { return mfn_to_virt(mfn); }

/* Domain id with a validated 4-level tree as its base pointer: va
 * 0x1000 * i is L1 slot i. */
static void mkdom(uint16_t id, int priv)
{
    struct domain *d = &domains[id];
    memset(d, 0, sizeof(*d));
    d->domid = id;
    d->privileged = priv;
    d->state = DOM_RUNNING;
    d->max_vcpus = 1;
    d->vcpus[0].domain = d;
    d->max_pages = 256;
    struct tree t = { frame(id), frame(id), frame(id), frame(id) };
    tab(t.l4)[0] = (t.l3 << PAGE_SHIFT) | RWF;
    tab(t.l3)[0] = (t.l2 << PAGE_SHIFT) | RWF;
    tab(t.l2)[0] = (t.l1 << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_new_baseptr(&d->vcpus[0], t.l4, 0), 0);
    trees[id] = t;
    assert_int_equal(gnttab_domain_init(d), 0);
}

static void killdom(uint16_t id)
{
    struct domain *d = &domains[id];
    if (d->state == DOM_FREE)
        return;
    gnttab_domain_destroy(d);
    mm_free_domain_frames(id);
    memset(d, 0, sizeof(*d));
}

static int setup(void **state)
{
    (void)state;
    fake_mem_setup(NFRAMES, FIRST_FREE);
    memset(domains, 0, sizeof(domains));
    preempt = continued = 0;
    free_at_start = mm_free_count();
    mkdom(D0, 1);
    mkdom(A, 0);
    mkdom(B, 0);
    mkdom(C, 0);
    return 0;
}

/* Every domain destroyed: every frame is back, nothing referenced. */
static int teardown(void **state)
{
    (void)state;
    for (uint16_t id = 0; id < MAX_DOMAINS; id++)
        killdom(id);
    int bad = 0;
    for (uint64_t m = FIRST_FREE; m < NFRAMES; m++)
        if (pi(m)->owner != DOMID_FREE || pi(m)->count || pi(m)->type_count)
            bad = 1;
    uint64_t freec = mm_free_count();
    assert_int_equal(gnttab_total_mappings(), 0);
    fake_mem_teardown();
    if (bad || freec != free_at_start)
        fail_msg("leak: %lu free, %lu at start", (unsigned long)freec,
                 (unsigned long)free_at_start);
    return 0;
}

static long gop(uint16_t dom, unsigned int cmd, void *arg, unsigned int count)
{
    return do_grant_table_op(&domains[dom].vcpus[0], cmd, (uint64_t)(uintptr_t)arg, count, 0, 0);
}

/* Mfn of frame i of dom's grant table (through setup_table). */
static uint64_t table_frame(uint16_t dom, unsigned int i)
{
    xen_pfn_t list[GNTTAB_MAX_FRAMES];
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = i + 1 };
    set_xen_guest_handle(st.frame_list, list);
    assert_int_equal(gop(dom, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_okay);
    return list[i];
}

static grant_entry_v1_t *entry(uint16_t dom, uint32_t ref)
{
    return (grant_entry_v1_t *)mfn_to_virt(table_frame(dom, ref / 512)) + ref % 512;
}

static void grant(uint16_t granter, uint32_t ref, uint16_t to, uint64_t mfn, uint16_t flags)
{
    grant_entry_v1_t *e = entry(granter, ref);
    e->domid = to;
    e->frame = (uint32_t)mfn;
    e->flags = flags;
}

static int16_t map(uint16_t mapper, uint16_t dom, uint32_t ref, uint32_t flags,
                   uint64_t host_addr, grant_handle_t *h)
{
    struct gnttab_map_grant_ref m = { .host_addr = host_addr, .flags = flags, .ref = ref,
                                      .dom = dom, .handle = 0xffff };
    assert_int_equal(gop(mapper, GNTTABOP_map_grant_ref, &m, 1), 0);
    if (h)
        *h = m.handle;
    if (m.status == GNTST_okay)
        assert_int_equal(m.dev_bus_addr >> PAGE_SHIFT, entry(dom, ref)->frame);
    return m.status;
}

static int16_t unmap(uint16_t mapper, grant_handle_t h, uint64_t host_addr, uint64_t dev)
{
    struct gnttab_unmap_grant_ref u = { .host_addr = host_addr, .dev_bus_addr = dev,
                                        .handle = h };
    assert_int_equal(gop(mapper, GNTTABOP_unmap_grant_ref, &u, 1), 0);
    return u.status;
}

static uint64_t l1e(uint16_t dom, unsigned int slot) { return tab(trees[dom].l1)[slot]; }
static uint64_t pte_maddr(uint16_t dom, unsigned int slot)
{
    return (trees[dom].l1 << PAGE_SHIFT) | (slot << 3);
}

#define VA(slot) (0x1000ULL * (slot))
#define HOST GNTMAP_host_map
#define RO   GNTMAP_readonly

/* ---- setup_table, query_size, versions ---- */
static void test_setup_and_query(void **state)
{
    (void)state;
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    assert_int_equal(gop(A, GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_okay);
    assert_int_equal(q.nr_frames, 1);
    assert_int_equal(q.max_nr_frames, GNTTAB_MAX_FRAMES);

    xen_pfn_t list[4] = { 0 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 3 };
    set_xen_guest_handle(st.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_okay);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pi(list[i])->owner, A); /* the guest maps them itself */
        assert_true(gnttab_is_table_frame(A, list[i]));
    }
    assert_int_equal(list[3], 0); /* only nr_frames written */
    assert_false(gnttab_is_table_frame(B, list[0]));
    q.nr_frames = 0;
    assert_int_equal(gop(A, GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.nr_frames, 3);
    /* Smaller request: no shrink, the first frames are listed again. */
    xen_pfn_t one[1];
    st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(st.frame_list, one);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(one[0], list[0]);
    /* A shared frame can be mapped writable by its owner like any page. */
    tab(trees[A].l1)[9] = 0;
    assert_int_equal(mm_update_va(A, A, trees[A].l4, VA(9), (list[1] << PAGE_SHIFT) | RWF), 0);
    assert_int_equal(mm_update_va(A, A, trees[A].l4, VA(9), 0), 0);
}

/* The hv writes GTF_* flags into the table frames: they must never become
 * page tables or descriptor tables (like shared_info). */
static void test_table_frames_never_page_tables(void **state)
{
    (void)state;
    xen_pfn_t list[1] = { 0 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(st.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    for (unsigned int type = PGT_l1; type <= PGT_l4; type++)
        assert_int_not_equal(mm_pin(A, list[0], type), 0);
    assert_int_not_equal(get_page_and_type(list[0], A, PGT_seg_desc), 0);
}

static void test_setup_refusals(void **state)
{
    (void)state;
    xen_pfn_t list[2];
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = GNTTAB_MAX_FRAMES + 1 };
    set_xen_guest_handle(st.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_general_error);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 2), -XL_EINVAL);
    assert_int_equal(gop(A, GNTTABOP_setup_table, (void *)BAD_VA, 1), -XL_EFAULT);
    st = (struct gnttab_setup_table){ .dom = B, .nr_frames = 1 };
    set_xen_guest_handle(st.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_permission_denied);
    st.dom = 9;
    assert_int_equal(gop(D0, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_bad_domain);
    st.dom = A;
    assert_int_equal(gop(D0, GNTTABOP_setup_table, &st, 1), 0); /* privileged: any domain */
    assert_int_equal(st.status, GNTST_okay);
    assert_int_equal(list[0], table_frame(A, 0));
    st.dom = DOMID_SELF;
    set_xen_guest_handle(st.frame_list, (xen_pfn_t *)BAD_VA);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_bad_virt_addr);

    struct gnttab_query_size q = { .dom = B };
    assert_int_equal(gop(A, GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_permission_denied);
    q.dom = 12;
    assert_int_equal(gop(D0, GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_bad_domain);
    assert_int_equal(gop(A, GNTTABOP_query_size, &q, 0), -XL_EINVAL);
    assert_int_equal(gop(A, 0x1000 | GNTTABOP_query_size, &q, 1), -XL_EINVAL);
    assert_int_equal(gop(A, GNTTABOP_transfer, &q, 1), -XL_ENOSYS);
    assert_int_equal(gop(A, GNTTABOP_map_grant_ref, &q, 0x80000000u), -XL_EINVAL);
}

/* createdomain's max_grant_frames: query_size reports it, setup_table
 * grows up to it and no further (Linux grows its table over time). */
static void test_domain_limits(void **state)
{
    (void)state;
    assert_int_equal(gnttab_set_limits(&domains[A], 0, 1), -XL_EINVAL);
    assert_int_equal(gnttab_set_limits(&domains[A], GNTTAB_MAX_FRAMES + 1, 1), -XL_EINVAL);
    assert_int_equal(gnttab_set_limits(&domains[A], 4, 0), -XL_EINVAL);
    assert_int_equal(gnttab_set_limits(&domains[A], 4, 3), -XL_EINVAL);
    assert_int_equal(gnttab_set_limits(&domains[A], 4, 2), 0);
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    assert_int_equal(gop(A, GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.nr_frames, 1);
    assert_int_equal(q.max_nr_frames, 4);
    xen_pfn_t list[5] = { 0 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 5 };
    set_xen_guest_handle(st.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_general_error);
    assert_int_equal(list[0], 0);
    for (unsigned int n = 2; n <= 4; n++) { /* one frame more each time */
        st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = n };
        set_xen_guest_handle(st.frame_list, list);
        assert_int_equal(gop(A, GNTTABOP_setup_table, &st, 1), 0);
        assert_int_equal(st.status, GNTST_okay);
        assert_int_equal(gop(A, GNTTABOP_query_size, &q, 1), 0);
        assert_int_equal(q.nr_frames, n);
    }
    /* Every frame mapped writable by its owner at once (as Linux maps the
     * whole table), an entry written through the mapping, granted. */
    for (unsigned int i = 0; i < 4; i++) {
        tab(trees[A].l1)[20 + i] = 0;
        assert_int_equal(mm_update_va(A, A, trees[A].l4, VA(20 + i),
                                      (list[i] << PAGE_SHIFT) | RWF), 0);
        assert_int_equal(pi(list[i])->type, PGT_writable);
        assert_int_equal(pi(list[i])->type_count, 2); /* the table's and the PTE's */
    }
    uint64_t pg = frame(A);
    grant_entry_v1_t *e = (grant_entry_v1_t *)mfn_to_virt(list[3]) + 7;
    e->domid = B, e->frame = (uint32_t)pg, e->flags = GTF_permit_access;
    grant_handle_t h;
    assert_int_equal(map(B, A, 3 * 512 + 7, HOST, VA(5), &h), GNTST_okay);
    assert_int_equal(e->flags, GTF_permit_access | GTF_reading | GTF_writing);
    /* A smaller limit than the table has now is refused. */
    assert_int_equal(gnttab_set_limits(&domains[A], 3, 1), -XL_EINVAL);
    /* A dies with its table mapped in its own page tables and granted
     * out: teardown (setup's teardown checks every frame comes back). */
    killdom(A);
    assert_int_equal(unmap(B, h, VA(5), 0), GNTST_okay);
}

/* A table frame given back by decrease_reservation (PGF_removed) was
 * never in tot_pages: freeing it at teardown must not take it off. */
static void test_removed_table_frame_not_uncharged(void **state)
{
    (void)state;
    uint64_t f = table_frame(A, 0);
    pi(f)->flags |= PGF_removed; /* what mm_remove_page does to a referenced frame */
    uint64_t tot = domains[A].tot_pages;
    gnttab_domain_destroy(&domains[A]);
    assert_int_equal(domains[A].tot_pages, tot);
    assert_int_equal(pi(f)->owner, DOMID_FREE);
}

static long set_ver(uint16_t dom, uint32_t ver, uint32_t *now)
{
    struct gnttab_set_version sv = { .version = ver };
    long rc = gop(dom, GNTTABOP_set_version, &sv, 1);
    if (now)
        *now = sv.version;
    return rc;
}

static void test_versions(void **state)
{
    (void)state;
    uint32_t now;
    assert_int_equal(set_ver(A, 1, &now), 0);
    assert_int_equal(now, 1);
    assert_int_equal(set_ver(A, 7, &now), -XL_EINVAL);
    assert_int_equal(now, 1);
    assert_int_equal(gop(A, GNTTABOP_set_version, (void *)BAD_VA, 1), -XL_EFAULT);
    struct gnttab_get_version gv = { .dom = DOMID_SELF };
    assert_int_equal(gop(A, GNTTABOP_get_version, &gv, 1), 0);
    assert_int_equal(gv.version, 1);
    gv = (struct gnttab_get_version){ .dom = B };
    assert_int_equal(gop(A, GNTTABOP_get_version, &gv, 1), -XL_EPERM);
    assert_int_equal(gop(D0, GNTTABOP_get_version, &gv, 1), 0);
    assert_int_equal(gv.version, 1);
    gv.dom = 11;
    assert_int_equal(gop(D0, GNTTABOP_get_version, &gv, 1), -XL_ESRCH);
    /* Created with max version 1: 2 is -ENOSYS, as a Xen without v2. */
    assert_int_equal(gnttab_set_limits(&domains[B], 64, 1), 0);
    assert_int_equal(set_ver(B, 2, &now), -XL_ENOSYS);
    assert_int_equal(now, 1);
    /* Default (Xen 4.17's max version 2): 2 and back. */
    assert_int_equal(set_ver(A, 2, &now), 0);
    assert_int_equal(now, 2);
    assert_int_equal(set_ver(A, 2, &now), 0);
    assert_int_equal(set_ver(A, 9, &now), -XL_EINVAL);
    assert_int_equal(now, 2);
    gv = (struct gnttab_get_version){ .dom = DOMID_SELF };
    assert_int_equal(gop(A, GNTTABOP_get_version, &gv, 1), 0);
    assert_int_equal(gv.version, 2);
    assert_int_equal(set_ver(A, 1, &now), 0);
    assert_int_equal(now, 1);
}

/* ---- v2 ---- */
static grant_entry_v2_t *entry2(uint16_t dom, uint32_t ref)
{
    return (grant_entry_v2_t *)mfn_to_virt(table_frame(dom, ref / 256)) + ref % 256;
}
static uint64_t status_frame(uint16_t dom, unsigned int i)
{
    uint64_t list[MAX_DOMAINS];
    struct gnttab_get_status_frames gs = { .dom = DOMID_SELF, .nr_frames = i + 1 };
    set_xen_guest_handle(gs.frame_list, list);
    assert_int_equal(gop(dom, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_okay);
    return list[i];
}
static uint16_t *status2(uint16_t dom, uint32_t ref)
{
    return (uint16_t *)mfn_to_virt(status_frame(dom, ref / 2048)) + ref % 2048;
}
static void grant2(uint16_t granter, uint32_t ref, uint16_t to, uint64_t mfn, uint16_t flags)
{
    grant_entry_v2_t *e = entry2(granter, ref);
    memset(e, 0, sizeof(*e));
    e->hdr.domid = to;
    e->full_page.frame = mfn;
    e->hdr.flags = flags;
}
static int16_t copy1(uint16_t who, struct gnttab_copy *c)
{
    assert_int_equal(gop(who, GNTTABOP_copy, c, 1), 0);
    return c->status;
}

static void test_v2_status_frames(void **state)
{
    (void)state;
    uint64_t list[4];
    struct gnttab_get_status_frames gs = { .dom = DOMID_SELF, .nr_frames = 0 };
    set_xen_guest_handle(gs.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_okay); /* v1: none, 0 asked */
    gs.nr_frames = 1;
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_general_error);
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 2), -XL_EINVAL);
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, (void *)BAD_VA, 1), -XL_EFAULT);
    assert_int_equal(set_ver(A, 2, NULL), 0);
    uint64_t s0 = status_frame(A, 0);
    assert_int_equal(pi(s0)->owner, A); /* shared like the table frames */
    assert_int_equal(pi(s0)->type, PGT_writable);
    assert_true(gnttab_is_table_frame(A, s0));
    for (unsigned int type = PGT_l1; type <= PGT_l4; type++)
        assert_int_not_equal(mm_pin(A, s0, type), 0);
    gs.nr_frames = 2;
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_general_error);
    gs = (struct gnttab_get_status_frames){ .dom = B, .nr_frames = 1 };
    set_xen_guest_handle(gs.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_permission_denied);
    gs = (struct gnttab_get_status_frames){ .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(gs.frame_list, (uint64_t *)BAD_VA);
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_bad_virt_addr);
    /* 9 table frames of 256 entries need 2 status frames of 2048. */
    (void)table_frame(A, 8);
    assert_int_not_equal(status_frame(A, 1), s0);
    gs = (struct gnttab_get_status_frames){ .dom = DOMID_SELF, .nr_frames = 3 };
    set_xen_guest_handle(gs.frame_list, list);
    assert_int_equal(gop(A, GNTTABOP_get_status_frames, &gs, 1), 0);
    assert_int_equal(gs.status, GNTST_general_error);
    /* The status frame mapped writable by A: v1 refused until unmapped. */
    tab(trees[A].l1)[9] = 0;
    assert_int_equal(mm_update_va(A, A, trees[A].l4, VA(9), (s0 << PAGE_SHIFT) | RWF), 0);
    assert_int_equal(set_ver(A, 1, NULL), -XL_EBUSY);
    assert_int_equal(mm_update_va(A, A, trees[A].l4, VA(9), 0), 0);
    uint32_t now;
    assert_int_equal(set_ver(A, 1, &now), 0);
    assert_int_equal(now, 1);
    assert_int_equal(pi(s0)->owner, DOMID_FREE); /* status frames given back */
    /* v2 again, and A dies with v2 status frames mapped: teardown. */
    assert_int_equal(set_ver(A, 2, NULL), 0);
    uint64_t s1 = status_frame(A, 1);
    assert_int_equal(mm_update_va(A, A, trees[A].l4, VA(9), (s1 << PAGE_SHIFT) | RWF), 0);
}

static void test_v2_map_and_unmap(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    assert_int_equal(set_ver(A, 2, NULL), 0);
    grant2(A, 20, B, pg, GTF_permit_access);
    grant_handle_t h;
    struct gnttab_map_grant_ref m = { .host_addr = VA(3), .flags = HOST, .ref = 20, .dom = A };
    assert_int_equal(gop(B, GNTTABOP_map_grant_ref, &m, 1), 0);
    assert_int_equal(m.status, GNTST_okay);
    assert_int_equal(m.dev_bus_addr >> PAGE_SHIFT, pg);
    h = m.handle;
    assert_int_equal(l1e(B, 3) & PTE_ADDR, pg << PAGE_SHIFT);
    assert_int_equal(*status2(A, 20), GTF_reading | GTF_writing);
    assert_int_equal(entry2(A, 20)->hdr.flags, GTF_permit_access); /* flags untouched in v2 */
    /* While an entry past the reserved ones is in use: no version change. */
    assert_int_equal(set_ver(A, 1, NULL), -XL_EBUSY);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
    assert_int_equal(*status2(A, 20), 0);
    /* Read-only grant: rw map refused, ro map sets GTF_reading only. */
    grant2(A, 21, B, pg, GTF_permit_access | GTF_readonly);
    m = (struct gnttab_map_grant_ref){ .host_addr = VA(3), .flags = HOST, .ref = 21, .dom = A };
    gop(B, GNTTABOP_map_grant_ref, &m, 1);
    assert_int_equal(m.status, GNTST_general_error);
    assert_int_equal(*status2(A, 21), 0);
    m.flags = HOST | RO;
    gop(B, GNTTABOP_map_grant_ref, &m, 1);
    assert_int_equal(m.status, GNTST_okay);
    assert_int_equal(*status2(A, 21), GTF_reading);
    assert_int_equal(unmap(B, m.handle, VA(3), 0), GNTST_okay);
    /* Sub-page and transitive grants are for copies only. */
    grant_entry_v2_t *e = entry2(A, 22);
    e->hdr.domid = B;
    e->sub_page.frame = pg;
    e->sub_page.page_off = 0;
    e->sub_page.length = 4096;
    e->hdr.flags = GTF_permit_access | GTF_sub_page;
    m = (struct gnttab_map_grant_ref){ .host_addr = VA(3), .flags = HOST, .ref = 22, .dom = A };
    gop(B, GNTTABOP_map_grant_ref, &m, 1);
    assert_int_equal(m.status, GNTST_general_error);
    e = entry2(A, 23);
    e->hdr.domid = B;
    e->transitive.trans_domid = C;
    e->transitive.gref = 1;
    e->hdr.flags = GTF_transitive;
    m.ref = 23;
    gop(B, GNTTABOP_map_grant_ref, &m, 1);
    assert_int_equal(m.status, GNTST_general_error);
    /* 256 entries a frame under v2. */
    m.ref = 256;
    gop(B, GNTTABOP_map_grant_ref, &m, 1);
    assert_int_equal(m.status, GNTST_bad_gntref);
    assert_int_equal(*status2(A, 22) | *status2(A, 23), 0);
}

static void test_v2_copy_sub_page_and_transitive(void **state)
{
    (void)state;
    uint64_t pa = frame(A), pc = frame(C);
    memset(mfn_to_virt(pa), 0, PAGE_SIZE);
    memcpy((uint8_t *)mfn_to_virt(pa) + 100, "sub-page bytes", 15);
    assert_int_equal(set_ver(A, 2, NULL), 0);
    assert_int_equal(set_ver(B, 2, NULL), 0);
    /* A: a sub-page grant of bytes 100..149 to C. */
    grant_entry_v2_t *e = entry2(A, 30);
    e->hdr.domid = C;
    e->sub_page.frame = pa;
    e->sub_page.page_off = 100;
    e->sub_page.length = 50;
    e->hdr.flags = GTF_permit_access | GTF_sub_page | GTF_readonly;
    struct gnttab_copy c = { .flags = GNTCOPY_source_gref, .len = 15 };
    c.source.u.ref = 30, c.source.domid = A, c.source.offset = 100;
    c.dest.u.gmfn = pc, c.dest.domid = DOMID_SELF, c.dest.offset = 0;
    assert_int_equal(copy1(C, &c), GNTST_okay);
    assert_memory_equal(mfn_to_virt(pc), "sub-page bytes", 15);
    assert_int_equal(*status2(A, 30), 0);
    c.source.offset = 140; /* 140 + 15 > 150 */
    assert_int_equal(copy1(C, &c), GNTST_general_error);
    c.source.offset = 99;
    assert_int_equal(copy1(C, &c), GNTST_general_error);
    assert_int_equal(*status2(A, 30), 0);
    /* Writing into a read-only sub-page grant: refused. */
    c = (struct gnttab_copy){ .flags = GNTCOPY_dest_gref, .len = 4 };
    c.source.u.gmfn = pc, c.source.domid = DOMID_SELF;
    c.dest.u.ref = 30, c.dest.domid = A, c.dest.offset = 100;
    assert_int_equal(copy1(C, &c), GNTST_general_error);

    /* Transitive: A grants pa to B (ref 31); B grants it on to C as a
     * transitive grant (ref 40); C copies from B's ref 40. */
    grant2(A, 31, B, pa, GTF_permit_access);
    e = entry2(B, 40);
    e->hdr.domid = C;
    e->transitive.trans_domid = A;
    e->transitive.gref = 31;
    e->hdr.flags = GTF_transitive;
    c = (struct gnttab_copy){ .flags = GNTCOPY_source_gref | GNTCOPY_dest_gref, .len = 15 };
    c.source.u.ref = 40, c.source.domid = B, c.source.offset = 100;
    grant(C, 5, C, pc, GTF_permit_access); /* C (v1) grants its own page to itself */
    c.dest.u.ref = 5, c.dest.domid = C, c.dest.offset = 200;
    assert_int_equal(copy1(C, &c), GNTST_okay);
    assert_memory_equal((uint8_t *)mfn_to_virt(pc) + 200, "sub-page bytes", 15);
    assert_int_equal(*status2(A, 31) | *status2(B, 40), 0);
    assert_int_equal(pi(pa)->count, 0); /* every reference dropped */
    /* Writing through the transitive grant reaches A's page. */
    c = (struct gnttab_copy){ .flags = GNTCOPY_dest_gref, .len = 3 };
    c.source.u.gmfn = pc, c.source.domid = DOMID_SELF, c.source.offset = 200;
    c.dest.u.ref = 40, c.dest.domid = B, c.dest.offset = 0;
    assert_int_equal(copy1(C, &c), GNTST_okay);
    assert_memory_equal(mfn_to_virt(pa), "sub", 3);
    /* Self-referential, unknown domain, transitive of a transitive,
     * entry in A not granted to B: all general_error, nothing left set. */
    c = (struct gnttab_copy){ .flags = GNTCOPY_source_gref, .len = 1 };
    c.source.u.ref = 40, c.source.domid = B;
    c.dest.u.gmfn = pc, c.dest.domid = DOMID_SELF;
    e->transitive.trans_domid = B;
    assert_int_equal(copy1(C, &c), GNTST_general_error);
    e->transitive.trans_domid = 9;
    assert_int_equal(copy1(C, &c), GNTST_general_error);
    grant_entry_v2_t *ea = entry2(A, 32);
    ea->hdr.domid = B, ea->transitive.trans_domid = C, ea->transitive.gref = 5;
    ea->hdr.flags = GTF_transitive;
    e->transitive.trans_domid = A;
    e->transitive.gref = 32;
    assert_int_equal(copy1(C, &c), GNTST_general_error);
    grant2(A, 33, D0, pa, GTF_permit_access);
    e->transitive.gref = 33;
    assert_int_equal(copy1(C, &c), GNTST_general_error);
    assert_int_equal(*status2(B, 40) | *status2(A, 32) | *status2(A, 33), 0);
    /* A v1 granter behind a transitive grant works too. */
    assert_int_equal(set_ver(A, 1, NULL), 0);
    grant(A, 34, B, pa, GTF_permit_access);
    e->transitive.gref = 34;
    assert_int_equal(copy1(C, &c), GNTST_okay);
    assert_int_equal(entry(A, 34)->flags, GTF_permit_access);
}

/* Switching keeps the 8 reserved entries (console, xenstore) and their
 * pins; v2 -> v1 refuses entries v1 cannot hold. */
static void test_version_switch_reserved(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 1, B, pg, GTF_permit_access); /* the xenstore page */
    grant(A, 9, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 1, HOST, VA(4), &h), GNTST_okay); /* pinned across */
    assert_int_equal(set_ver(A, 2, NULL), 0);
    grant_entry_v2_t *e = entry2(A, 1);
    assert_int_equal(e->hdr.flags, GTF_permit_access);
    assert_int_equal(e->hdr.domid, B);
    assert_int_equal(e->full_page.frame, pg);
    assert_int_equal(*status2(A, 1), GTF_reading | GTF_writing);
    assert_int_equal(entry2(A, 9)->hdr.flags, 0); /* the rest cleared */
    /* Unmapping under v2 clears the status word. */
    assert_int_equal(unmap(B, h, VA(4), 0), GNTST_okay);
    assert_int_equal(*status2(A, 1), 0);
    /* A frame above 2^32 in a reserved entry: -ERANGE, still v2. */
    e->full_page.frame = 1ULL << 32;
    uint32_t now;
    assert_int_equal(set_ver(A, 1, &now), -XL_ERANGE);
    assert_int_equal(now, 2);
    e->full_page.frame = pg;
    e = entry2(A, 2);
    e->hdr.flags = GTF_transitive;
    assert_int_equal(set_ver(A, 1, NULL), -XL_ERANGE);
    e->hdr.flags = 0;
    struct gnttab_map_grant_ref m = { .host_addr = VA(4), .flags = HOST, .ref = 1, .dom = A };
    assert_int_equal(gop(B, GNTTABOP_map_grant_ref, &m, 1), 0);
    assert_int_equal(m.status, GNTST_okay);
    h = m.handle;
    assert_int_equal(set_ver(A, 1, &now), 0);
    assert_int_equal(now, 1);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    assert_int_equal(entry(A, 1)->frame, pg);
    assert_int_equal(unmap(B, h, VA(4), 0), GNTST_okay);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access);
}

/* ---- host mappings ---- */
static void test_map_rw_by_va_and_unmap(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    strcpy(mfn_to_virt(pg), "hello from A");
    grant(A, 5, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 5, HOST, VA(7), &h), GNTST_okay);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    uint64_t e = l1e(B, 7);
    assert_int_equal((e & PTE_ADDR) >> PAGE_SHIFT, pg);
    assert_true((e & (PTE_P | PTE_RW | PTE_US)) == (PTE_P | PTE_RW | PTE_US));
    assert_int_equal(pi(pg)->type, PGT_writable);
    assert_int_equal(pi(pg)->count, 2);      /* the mapping's + the PTE's */
    assert_int_equal(pi(pg)->type_count, 2);
    assert_int_equal(gnttab_nr_mappings(B), 1);
    assert_true(fake_invlpgs > 0);
    assert_string_equal((char *)mfn_to_virt((e & PTE_ADDR) >> PAGE_SHIFT), "hello from A");

    assert_int_equal(unmap(B, h, VA(7), 0), GNTST_okay);
    assert_int_equal(l1e(B, 7), 0);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access);
    assert_int_equal(pi(pg)->count, 0);
    assert_int_equal(pi(pg)->type_count, 0);
    assert_int_equal(gnttab_nr_mappings(B), 0);
    /* double unmap */
    assert_int_equal(unmap(B, h, VA(7), 0), GNTST_bad_handle);
}

static void test_map_readonly(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 1, B, pg, GTF_permit_access | GTF_readonly);
    /* a read-only grant can never be mapped writable */
    assert_int_equal(map(B, A, 1, HOST, VA(3), NULL), GNTST_general_error);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_readonly);
    assert_int_equal(l1e(B, 3), 0);
    grant_handle_t h;
    assert_int_equal(map(B, A, 1, HOST | RO, VA(3), &h), GNTST_okay);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_readonly | GTF_reading);
    assert_int_equal(l1e(B, 3) & PTE_RW, 0);
    assert_int_equal(pi(pg)->type_count, 0); /* no writable type for a ro map */
    /* still refused while mapped read-only */
    assert_int_equal(map(B, A, 1, HOST, VA(4), NULL), GNTST_general_error);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_readonly | GTF_reading);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_readonly);
    assert_int_equal(pi(pg)->count, 0);
}

static void test_map_refusals(void **state)
{
    (void)state;
    uint64_t pg = frame(A), pgc = frame(C);
    grant(A, 2, C, pg, GTF_permit_access); /* granted to C, not B */
    grant(A, 3, B, pg, GTF_invalid);       /* not granted */
    grant(A, 4, B, pgc, GTF_permit_access); /* names a frame A does not own */
    grant(A, 6, B, pg, GTF_accept_transfer);
    grant(A, 8, B, pg, GTF_permit_access | GTF_sub_page);
    grant(A, 9, B, pg, GTF_permit_access);
    assert_int_equal(map(B, A, 2, HOST, VA(3), NULL), GNTST_general_error);
    assert_int_equal(map(B, A, 3, HOST, VA(3), NULL), GNTST_general_error);
    assert_int_equal(map(B, A, 4, HOST, VA(3), NULL), GNTST_bad_page);
    assert_int_equal(map(B, A, 6, HOST, VA(3), NULL), GNTST_general_error);
    assert_int_equal(map(B, A, 8, HOST, VA(3), NULL), GNTST_general_error);
    assert_int_equal(map(B, A, 512, HOST, VA(3), NULL), GNTST_bad_gntref); /* one frame */
    assert_int_equal(map(B, A, 0xffffffffu, HOST, VA(3), NULL), GNTST_bad_gntref);
    assert_int_equal(map(B, 9, 2, HOST, VA(3), NULL), GNTST_bad_domain);
    assert_int_equal(map(B, DOMID_SELF, 2, HOST, VA(3), NULL), GNTST_bad_domain);
    assert_int_equal(map(B, A, 9, 0, VA(3), NULL), GNTST_bad_gntref);      /* no map kind */
    /* no L1 for that va: refused, and the entry is left as it was */
    assert_int_equal(map(B, A, 9, HOST, 0x40000000ULL, NULL), GNTST_general_error);
    assert_int_equal(map(B, A, 9, HOST, 1ULL << 50, NULL), GNTST_general_error);
    assert_int_equal(entry(A, 9)->flags, GTF_permit_access);
    assert_int_equal(entry(A, 4)->flags, GTF_permit_access);
    assert_int_equal(entry(A, 2)->flags, GTF_permit_access);
    assert_int_equal(pi(pg)->count, 0);
    assert_int_equal(l1e(B, 3), 0);
    /* C may map what was granted to C; B may not pin it meanwhile */
    grant_handle_t h;
    assert_int_equal(map(C, A, 2, HOST, VA(3), &h), GNTST_okay);
    assert_int_equal(map(B, A, 2, HOST | RO, VA(4), NULL), GNTST_general_error);
    /* a granter revoking a pinned entry does not change the pin */
    entry(A, 2)->domid = B;
    assert_int_equal(map(B, A, 2, HOST | RO, VA(4), NULL), GNTST_general_error);
    assert_int_equal(unmap(C, h, VA(3), 0), GNTST_okay);
    assert_int_equal(gnttab_total_mappings(), 0);
}

static void test_map_page_table_writable_refused(void **state)
{
    (void)state;
    grant(A, 1, B, trees[A].l1, GTF_permit_access);
    assert_int_equal(map(B, A, 1, HOST, VA(3), NULL), GNTST_general_error);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access);
    grant_handle_t h; /* read-only is fine, as for any L1 entry */
    assert_int_equal(map(B, A, 1, HOST | RO, VA(3), &h), GNTST_okay);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
}

static void test_map_contains_pte(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 7, B, pg, GTF_permit_access);
    grant_handle_t h;
    int before = fake_tlb_flushes;
    assert_int_equal(map(B, A, 7, HOST | GNTMAP_contains_pte, pte_maddr(B, 11), &h), GNTST_okay);
    assert_int_equal((l1e(B, 11) & PTE_ADDR) >> PAGE_SHIFT, pg);
    assert_true(fake_tlb_flushes > before);
    /* the PTE must be in one of the caller's validated L1 tables */
    uint64_t plain = frame(B);
    assert_int_equal(map(B, A, 7, HOST | GNTMAP_contains_pte, plain << PAGE_SHIFT, NULL),
                     GNTST_general_error);
    assert_int_equal(map(B, A, 7, HOST | GNTMAP_contains_pte, pte_maddr(A, 11), NULL),
                     GNTST_general_error);
    assert_int_equal(map(B, A, 7, HOST | GNTMAP_contains_pte, pte_maddr(B, 11) + 4, NULL),
                     GNTST_general_error);
    assert_int_equal(map(B, A, 7, HOST | GNTMAP_contains_pte, (uint64_t)NFRAMES << 20, NULL),
                     GNTST_general_error);
    assert_int_equal(entry(A, 7)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    /* unmap names the PTE the same way */
    assert_int_equal(unmap(B, h, pte_maddr(B, 12), 0), GNTST_general_error); /* wrong PTE */
    assert_int_equal(unmap(B, h, pte_maddr(B, 11), 0), GNTST_okay);
    assert_int_equal(l1e(B, 11), 0);
    assert_int_equal(entry(A, 7)->flags, GTF_permit_access);
}

static void test_unmap_refusals(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(unmap(B, 0, VA(3), 0), GNTST_bad_handle);     /* never mapped */
    assert_int_equal(map(B, A, 5, HOST, VA(3), &h), GNTST_okay);
    assert_int_equal(unmap(B, h + 1, VA(3), 0), GNTST_bad_handle); /* free slot */
    assert_int_equal(unmap(B, 60000, VA(3), 0), GNTST_bad_handle); /* beyond maptrack */
    assert_int_equal(unmap(C, h, VA(3), 0), GNTST_bad_handle);     /* someone else's handle */
    assert_int_equal(unmap(B, h, VA(4), 0), GNTST_general_error);  /* PTE not present */
    uint64_t own = frame(B);
    assert_int_equal(mm_update_va(B, B, trees[B].l4, VA(4), (own << PAGE_SHIFT) | RWF), 0);
    assert_int_equal(unmap(B, h, VA(4), 0), GNTST_general_error);  /* maps another frame */
    assert_int_equal((l1e(B, 4) & PTE_ADDR) >> PAGE_SHIFT, own);   /* left alone */
    assert_int_equal(mm_update_va(B, B, trees[B].l4, VA(4), 0), 0);
    assert_int_equal(unmap(B, h, VA(3), 0x1000), GNTST_general_error); /* wrong bus address */
    assert_int_equal(unmap(B, h, 0, 0), GNTST_okay);               /* nothing named: no-op */
    assert_int_equal(gnttab_nr_mappings(B), 1);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    /* the guest overwrote its PTE: unmap by va fails as in Xen */
    assert_int_equal(mm_update_va(B, B, trees[B].l4, VA(3), 0), 0);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_general_error);
    assert_int_equal(pi(pg)->count, 1); /* only the mapping's own reference left */
    /* it stays until B dies: then everything goes (teardown checks) */
}

static void test_two_mappings_flags(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access);
    grant_handle_t hw, hr;
    assert_int_equal(map(B, A, 5, HOST | RO, VA(3), &hr), GNTST_okay);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_reading);
    assert_int_equal(map(B, A, 5, HOST, VA(4), &hw), GNTST_okay);
    assert_int_not_equal(hr, hw);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    assert_int_equal(unmap(B, hw, VA(4), 0), GNTST_okay);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_reading);
    assert_int_equal(unmap(B, hr, VA(3), 0), GNTST_okay);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access);
    /* handles are reused */
    grant_handle_t h2;
    assert_int_equal(map(B, A, 5, HOST, VA(3), &h2), GNTST_okay);
    assert_true(h2 == hr || h2 == hw);
    assert_int_equal(unmap(B, h2, VA(3), 0), GNTST_okay);
}

/* Finding of a review: unmapping the read-write handle at the read-only
 * mapping's address must not release the write pin while the writable
 * PTE survives. Xen 4.17 requires the PTE's present and RW bits to match
 * the handle's mapping. */
static void test_unmap_checks_pte_permissions(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 6, B, pg, GTF_permit_access);
    grant_handle_t hw, hr;
    assert_int_equal(map(B, A, 6, HOST | RO, VA(3), &hr), GNTST_okay);
    assert_int_equal(map(B, A, 6, HOST, VA(4), &hw), GNTST_okay);
    uint16_t both = GTF_permit_access | GTF_reading | GTF_writing;
    assert_int_equal(unmap(B, hw, VA(3), 0), GNTST_general_error);
    assert_int_equal(unmap(B, hr, VA(4), 0), GNTST_general_error);
    assert_int_equal(entry(A, 6)->flags, both);
    assert_true(l1e(B, 3) & PTE_P);
    assert_true(l1e(B, 4) & PTE_RW);
    assert_int_equal(frame_table[pg].type, PGT_writable);
    assert_true(frame_table[pg].type_count > 0);
    /* The right pairs still work, and leave nothing behind. */
    assert_int_equal(unmap(B, hw, VA(4), 0), GNTST_okay);
    assert_int_equal(entry(A, 6)->flags, GTF_permit_access | GTF_reading);
    assert_int_equal(unmap(B, hr, VA(3), 0), GNTST_okay);
    assert_int_equal(entry(A, 6)->flags, GTF_permit_access);
    assert_int_equal(l1e(B, 3), 0);
    assert_int_equal(l1e(B, 4), 0);
}

/* Unmapping a host mapping by virtual address flushes the whole TLB
 * before the grant is released: the frame may be reachable through an
 * alias of the same L1 (Xen's gnttab_flush_tlb). */
static void test_unmap_flushes_whole_tlb(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 7, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 7, HOST, VA(3), &h), GNTST_okay);
    int before = fake_tlb_flushes;
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
    assert_int_equal(fake_tlb_flushes, before + 1);
    assert_int_equal(entry(A, 7)->flags, GTF_permit_access);
}

static void test_pte_matches(void **state)
{
    (void)state;
    uint64_t m = 0x123;
    uint64_t rw = (m << PAGE_SHIFT) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
    uint64_t ro = (m << PAGE_SHIFT) | PTE_P | PTE_US | PTE_A;
    assert_true(gnttab_pte_matches(rw, m, HOST));
    assert_false(gnttab_pte_matches(rw, m, HOST | RO));
    assert_true(gnttab_pte_matches(ro, m, HOST | RO));
    assert_false(gnttab_pte_matches(ro, m, HOST));
    assert_false(gnttab_pte_matches(rw & ~PTE_P, m, HOST));
    assert_false(gnttab_pte_matches(ro & ~PTE_P, m, HOST | RO));
    assert_false(gnttab_pte_matches(rw, m + 1, HOST));
    /* accessed/dirty/user bits do not matter, as in Xen */
    assert_true(gnttab_pte_matches(rw & ~(PTE_A | PTE_D), m, HOST));
}

static void test_device_map(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 5, HOST | GNTMAP_device_map, VA(3), &h), GNTST_okay);
    assert_int_equal(pi(pg)->count, 3); /* host + device + PTE */
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay); /* host part only */
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    assert_int_equal(pi(pg)->count, 1);
    assert_int_equal(unmap(B, h, 0, pg << PAGE_SHIFT), GNTST_okay);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access);
    assert_int_equal(unmap(B, h, 0, pg << PAGE_SHIFT), GNTST_bad_handle);
    assert_int_equal(pi(pg)->count, 0);
}

static void test_many_mappings_grow_maptrack(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access | GTF_readonly);
    static grant_handle_t hs[400];
    for (int i = 0; i < 400; i++)
        assert_int_equal(map(B, A, 5, GNTMAP_device_map | RO, 0, &hs[i]), GNTST_okay);
    assert_int_equal(gnttab_nr_mappings(B), 400);
    assert_int_equal(pi(pg)->count, 400);
    for (int i = 0; i < 400; i += 2)
        assert_int_equal(unmap(B, hs[i], 0, pg << PAGE_SHIFT), GNTST_okay);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access | GTF_readonly | GTF_reading);
    /* the rest go with B (teardown) */
}

static void test_batch_and_preemption(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access);
    struct gnttab_map_grant_ref m[2] = {
        { .host_addr = VA(3), .flags = HOST, .ref = 5, .dom = A },
        { .host_addr = VA(4), .flags = HOST, .ref = 5, .dom = A },
    };
    preempt = 1;
    assert_int_equal(gop(B, GNTTABOP_map_grant_ref, m, 2), __HYPERVISOR_grant_table_op);
    assert_int_equal(continued, 1);
    assert_int_equal(m[0].status, GNTST_okay);
    assert_int_equal(cont_args[0], GNTTABOP_map_grant_ref);
    assert_int_equal(cont_args[1], (uint64_t)(uintptr_t)&m[1]);
    assert_int_equal(cont_args[2], 1);
    preempt = 0;
    assert_int_equal(gop(B, GNTTABOP_map_grant_ref, &m[1], 1), 0);
    assert_int_equal(m[1].status, GNTST_okay);
    struct gnttab_unmap_grant_ref u[2] = {
        { .host_addr = VA(3), .handle = m[0].handle },
        { .host_addr = VA(4), .handle = m[1].handle },
    };
    assert_int_equal(gop(B, GNTTABOP_unmap_grant_ref, u, 2), 0);
    assert_int_equal(u[0].status, GNTST_okay);
    assert_int_equal(u[1].status, GNTST_okay);
    assert_int_equal(gop(B, GNTTABOP_unmap_grant_ref, (void *)BAD_VA, 1), -XL_EFAULT);
    assert_int_equal(gop(B, GNTTABOP_map_grant_ref, (void *)BAD_VA, 1), -XL_EFAULT);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access);
}

/* ---- copy ---- */
static struct gnttab_copy mkcopy(uint16_t flags, uint64_t s, domid_t sd, uint16_t so,
                                 uint64_t d, domid_t dd, uint16_t doff, uint16_t len)
{
    struct gnttab_copy c = { .flags = flags, .len = len };
    c.source.domid = sd, c.source.offset = so, c.dest.domid = dd, c.dest.offset = doff;
    if (flags & GNTCOPY_source_gref)
        c.source.u.ref = (grant_ref_t)s;
    else
        c.source.u.gmfn = s;
    if (flags & GNTCOPY_dest_gref)
        c.dest.u.ref = (grant_ref_t)d;
    else
        c.dest.u.gmfn = d;
    return c;
}

static int16_t copy(uint16_t caller, struct gnttab_copy c)
{
    c.status = 99;
    assert_int_equal(gop(caller, GNTTABOP_copy, &c, 1), 0);
    return c.status;
}

static void test_copy(void **state)
{
    (void)state;
    uint64_t pa = frame(A), pb = frame(B), pro = frame(A);
    memset(mfn_to_virt(pb), 0, PAGE_SIZE);
    strcpy((char *)mfn_to_virt(pa) + 100, "granted bytes");
    grant(A, 1, B, pa, GTF_permit_access | GTF_readonly);
    grant(A, 2, B, pro, GTF_permit_access | GTF_readonly);
    grant(A, 3, B, pro, GTF_permit_access);
    /* A's grant -> B's own frame */
    assert_int_equal(copy(B, mkcopy(GNTCOPY_source_gref, 1, A, 100, pb, DOMID_SELF, 8, 14)),
                     GNTST_okay);
    assert_string_equal((char *)mfn_to_virt(pb) + 8, "granted bytes");
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_readonly); /* transient */
    /* B's frame -> A's writable grant */
    strcpy((char *)mfn_to_virt(pb), "back");
    assert_int_equal(copy(B, mkcopy(GNTCOPY_dest_gref, pb, DOMID_SELF, 0, 3, A, 4000, 5)),
                     GNTST_okay);
    assert_string_equal((char *)mfn_to_virt(pro) + 4000, "back");
    assert_int_equal(entry(A, 3)->flags, GTF_permit_access);
    assert_int_equal(pi(pro)->count, 0);
    assert_int_equal(pi(pro)->type_count, 0);
    /* refusals */
    assert_int_equal(copy(B, mkcopy(GNTCOPY_dest_gref, pb, DOMID_SELF, 0, 2, A, 0, 5)),
                     GNTST_general_error); /* read-only grant as destination */
    assert_int_equal(copy(C, mkcopy(GNTCOPY_source_gref, 1, A, 0, frame(C), DOMID_SELF, 0, 5)),
                     GNTST_general_error); /* not granted to C */
    assert_int_equal(copy(B, mkcopy(0, pa, A, 0, pb, DOMID_SELF, 0, 5)),
                     GNTST_permission_denied); /* another domain's frame by number */
    assert_int_equal(copy(B, mkcopy(0, pb, DOMID_SELF, 0, pa, A, 0, 5)),
                     GNTST_permission_denied);
    assert_int_equal(copy(B, mkcopy(0, pa, DOMID_SELF, 0, pb, DOMID_SELF, 0, 5)),
                     GNTST_bad_page); /* pa is not B's */
    assert_int_equal(copy(B, mkcopy(0, pb, DOMID_SELF, 0, trees[B].l1, DOMID_SELF, 0, 5)),
                     GNTST_general_error); /* page table is not writable */
    assert_int_equal(copy(B, mkcopy(GNTCOPY_source_gref, 600, A, 0, pb, DOMID_SELF, 0, 5)),
                     GNTST_bad_gntref);
    assert_int_equal(copy(B, mkcopy(GNTCOPY_source_gref, 1, 9, 0, pb, DOMID_SELF, 0, 5)),
                     GNTST_bad_domain);
    assert_int_equal(copy(B, mkcopy(GNTCOPY_source_gref, 1, A, 4090, pb, DOMID_SELF, 0, 7)),
                     GNTST_bad_copy_arg);
    assert_int_equal(copy(B, mkcopy(GNTCOPY_source_gref, 1, A, 0, pb, DOMID_SELF, 4096, 1)),
                     GNTST_bad_copy_arg);
    assert_int_equal(copy(B, mkcopy(GNTCOPY_source_gref, 1, A, 0, pb, DOMID_SELF, 0, 0xffff)),
                     GNTST_bad_copy_arg);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_readonly);
    assert_int_equal(entry(A, 3)->flags, GTF_permit_access);
    for (uint64_t m = FIRST_FREE; m < NFRAMES; m++)
        if (pi(m)->owner == A && !gnttab_is_table_frame(A, m) && m != trees[A].l1 &&
            m != trees[A].l2 && m != trees[A].l3 && m != trees[A].l4)
            assert_int_equal(pi(m)->count, 0);
    /* batch: statuses per op, a fault stops it */
    struct gnttab_copy cs[2] = { mkcopy(GNTCOPY_source_gref, 1, A, 0, pb, DOMID_SELF, 0, 1),
                                 mkcopy(GNTCOPY_source_gref, 700, A, 0, pb, DOMID_SELF, 0, 1) };
    assert_int_equal(gop(B, GNTTABOP_copy, cs, 2), 0);
    assert_int_equal(cs[0].status, GNTST_okay);
    assert_int_equal(cs[1].status, GNTST_bad_gntref);
    assert_int_equal(gop(B, GNTTABOP_copy, (void *)BAD_VA, 1), -XL_EFAULT);
}

static void test_copy_while_mapped(void **state)
{
    (void)state;
    uint64_t pa = frame(A), pb = frame(B);
    grant(A, 1, B, pa, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 1, HOST | RO, VA(3), &h), GNTST_okay);
    /* write-copy into an entry pinned read-only upgrades then drops GTF_writing */
    assert_int_equal(copy(B, mkcopy(GNTCOPY_dest_gref, pb, DOMID_SELF, 0, 1, A, 0, 8)),
                     GNTST_okay);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access | GTF_reading);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
    assert_int_equal(entry(A, 1)->flags, GTF_permit_access);
}

/* ---- teardown ---- */
static void test_granter_dies_while_mapped(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    strcpy(mfn_to_virt(pg), "still here");
    grant(A, 5, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 5, HOST, VA(3), &h), GNTST_okay);
    uint64_t before = mm_free_count();
    killdom(A);
    assert_int_equal(pi(pg)->owner, DOMID_ORPHAN); /* alive while mapped */
    assert_true(pi(pg)->count > 0);
    assert_string_equal((char *)mfn_to_virt(pg), "still here");
    assert_true(mm_free_count() > before); /* A's other frames are back */
    /* A's slot is reused by a new domain with its own grants */
    mkdom(A, 0);
    uint64_t pg2 = frame(A);
    grant(A, 5, B, pg2, GTF_permit_access);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
    assert_int_equal(pi(pg)->owner, DOMID_FREE); /* freed by the last unmap */
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access); /* new A untouched */
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_bad_handle);
    assert_int_equal(map(B, A, 5, HOST, VA(3), &h), GNTST_okay);
    assert_int_equal(unmap(B, h, VA(3), 0), GNTST_okay);
}

static void test_granter_frees_frame_while_mapped(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access);
    grant_handle_t h;
    assert_int_equal(map(B, A, 5, GNTMAP_device_map, 0, &h), GNTST_okay);
    /* decrease_reservation of the frame: orphaned, not freed */
    assert_int_equal(mm_free_domain_frames(A) >= 1, 1);
    assert_int_equal(pi(pg)->owner, DOMID_ORPHAN);
    assert_int_equal(unmap(B, h, 0, pg << PAGE_SHIFT), GNTST_okay);
    assert_int_equal(pi(pg)->owner, DOMID_FREE);
    memset(&domains[A], 0, sizeof(domains[A]));
    gnttab_domain_destroy(&(struct domain){ .domid = A });
}

static void test_mapper_dies(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    grant(A, 5, B, pg, GTF_permit_access);
    grant(A, 6, A, pg, GTF_permit_access); /* a self-grant too */
    grant_handle_t h;
    assert_int_equal(map(B, A, 5, HOST, VA(3), &h), GNTST_okay);
    assert_int_equal(map(B, A, 5, HOST | RO, VA(4), &h), GNTST_okay);
    assert_int_equal(map(A, A, 6, HOST | RO, VA(20), &h), GNTST_okay);
    assert_int_equal(gnttab_total_mappings(), 3);
    killdom(B);
    assert_int_equal(gnttab_total_mappings(), 1);
    assert_int_equal(entry(A, 5)->flags, GTF_permit_access);
    assert_int_equal(pi(pg)->owner, A);
    assert_int_equal(pi(pg)->count, 2); /* A's own mapping and its PTE */
    assert_int_equal(pi(pg)->type_count, 0);
    /* and B's slot can come back with nothing left over */
    mkdom(B, 0);
    assert_int_equal(gnttab_nr_mappings(B), 0);
    assert_int_equal(unmap(B, 0, VA(3), 0), GNTST_bad_handle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_setup_and_query),
        T(test_table_frames_never_page_tables),
        T(test_setup_refusals),
    T(test_domain_limits),
    T(test_removed_table_frame_not_uncharged),
    T(test_versions),
    T(test_v2_status_frames),
    T(test_v2_map_and_unmap),
    T(test_v2_copy_sub_page_and_transitive),
    T(test_version_switch_reserved),
        T(test_map_rw_by_va_and_unmap),
        T(test_map_readonly),
        T(test_map_refusals),
        T(test_map_page_table_writable_refused),
        T(test_map_contains_pte),
        T(test_unmap_refusals),
        T(test_two_mappings_flags),
        T(test_unmap_checks_pte_permissions),
        T(test_pte_matches),
        T(test_unmap_flushes_whole_tlb),
        T(test_device_map),
        T(test_many_mappings_grow_maptrack),
        T(test_batch_and_preemption),
        T(test_copy),
        T(test_copy_while_mapped),
        T(test_granter_dies_while_mapped),
        T(test_granter_frees_frame_while_mapped),
        T(test_mapper_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
