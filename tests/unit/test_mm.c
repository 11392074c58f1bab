/*
 * test_mm.c - host unit tests for PV memory management (cmocka,
 * ASan/UBSan): Xen's page-type and reference-count rules (page_type.c),
 * the PV MMU operations and hypercalls (mmu.c, memory.c), frame release
 * on destroy (mm.c) and the M2P table (m2p.c). Every refused case is its
 * own test, and every test ends by checking no reference leaked.
 * Links: mm.c page_type.c m2p.c mmu.c memory.c page_alloc.c guest_access.c
 * format.c. Mocks: a fake machine memory of NFRAMES frames (frames below
 * FIRST_FREE owned by the hv), mfn_to_virt/virt_to_mfn over it, printk,
 * panic (fails the test), domains[]/domain_by_id, pv_update_cr3 and the
 * arch hooks (TLB, cache, hv L4 slot: recorded).
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
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xen/memory.h>
#include "fake_mem.h"

#define NFRAMES    1024
#define FIRST_FREE 16
#define RWF (PTE_P | PTE_RW | PTE_US | PTE_A)
#define ROF (PTE_P | PTE_US | PTE_A)

/* ---- mocks ---- */

/* The hv's L4: slots 256..271 hold recognisable hv entries. */
static uint64_t hv_l4_entry(unsigned int s) { return 0x0000777700000063ULL | ((uint64_t)s << 12); }
/* When the CPU's cr3 is loaded (arch_write_ptbase), the type count of the
 * frame watched_mfn (the table being replaced). */
static uint32_t pi_type_count(uint64_t m) { return frame_table[m].type_count; }
static uint64_t watched_mfn;
static uint32_t watched_type_count_at_write;
static void watch_ptbase(uint64_t cr3)
{
    (void)cr3;
    if (watched_mfn)
        watched_type_count_at_write = pi_type_count(watched_mfn);
}
/* hypercall.c is not linked here (see test_mm_hc.c): never preempt. */
int hypercall_preempt_check(void) { return 0; }
long hypercall_continuation(struct vcpu *v, unsigned int nr, uint64_t a1, uint64_t a2,
                            uint64_t a3, uint64_t a4, uint64_t a5)
{
    (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
    fail_msg("unexpected continuation of hypercall %u", nr);
    return -1;
}

/* ---- helpers ---- */
enum { A = 1, B = 2 };
static struct domain *da, *db;

static struct domain *mkdom(uint16_t id, int priv)
{
    struct domain *d = &domains[id];
    memset(d, 0, sizeof(*d));
    d->domid = id;
    d->privileged = priv;
    d->state = DOM_RUNNING;
    d->max_vcpus = 1;
    d->vcpus[0].domain = d;
    d->max_pages = 64;
    return d;
}

static uint64_t frame(uint16_t owner)
{
    int64_t m = mm_alloc_frame(owner);
    assert_true(m >= FIRST_FREE);
    if (owner < MAX_DOMAINS)
        domains[owner].tot_pages++;
    return (uint64_t)m;
}
static uint64_t *tab(uint64_t mfn) { return mfn_to_virt(mfn); }
#define pi(m) (&frame_table[m])


static int setup(void **state)
{
    (void)state;
    fake_mem_setup(NFRAMES, FIRST_FREE);
    m2p_bytes = 0;
    memset(domains, 0, sizeof(domains));
    for (unsigned int sl = 0; sl < 512; sl++)
        fake_hv_l4[sl] = l4_slot_is_hv(sl) ? hv_l4_entry(sl) : 0xBADBADULL;
    fake_on_write_ptbase = watch_ptbase;
    watched_mfn = 0;
    watched_type_count_at_write = 0;
    current = NULL;
    da = mkdom(A, 0);
    db = mkdom(B, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_mem_teardown();
    return 0;
}

/* No frame of a domain holds a type or a reference. */
static void assert_all_unreferenced(void)
{
    for (uint64_t m = 0; m < NFRAMES; m++) {
        if (pi(m)->count || pi(m)->type_count || pi(m)->flags || pi(m)->linear)
            fail_msg("mfn %lu: count %u type_count %u flags %u linear %d", (unsigned long)m,
                     pi(m)->count, pi(m)->type_count, pi(m)->flags, pi(m)->linear);
    }
}


/* A four-level tree for domain d: l4[0] -> l3[0] -> l2[0] -> l1, and l1
 * maps va 0x1000*i for the given frames (RW flag per entry). */
struct tree { uint64_t l4, l3, l2, l1; };
static struct tree mktree(uint16_t d)
{
    struct tree t = { frame(d), frame(d), frame(d), frame(d) };
    tab(t.l4)[0] = (t.l3 << PAGE_SHIFT) | RWF;
    tab(t.l3)[0] = (t.l2 << PAGE_SHIFT) | RWF;
    tab(t.l2)[0] = (t.l1 << PAGE_SHIFT) | RWF;
    return t;
}

/* ---- page types ---- */
static void test_validate_tree_and_release(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t pg = frame(A);
    tab(t.l1)[1] = (pg << PAGE_SHIFT) | RWF;
    tab(t.l1)[2] = (t.l2 << PAGE_SHIFT) | ROF; /* page tables may be mapped read-only */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), 0);
    assert_int_equal(pi(t.l4)->type, PGT_l4);
    assert_int_equal(pi(t.l3)->type, PGT_l3);
    assert_int_equal(pi(t.l2)->type, PGT_l2);
    assert_int_equal(pi(t.l1)->type, PGT_l1);
    assert_int_equal(pi(pg)->type, PGT_writable);
    assert_int_equal(pi(pg)->type_count, 1);
    assert_int_equal(pi(t.l2)->count, 2); /* type ref from l3 + read-only mapping */
    put_page_and_type(t.l4);
    assert_all_unreferenced();
    /* Untyped now; the last type stays for the flush decision. */
    assert_int_equal(pi(t.l1)->type_count, 0);
    assert_int_equal(pi(t.l1)->type, PGT_l1);
    assert_int_not_equal(pi(t.l1)->tlbflush_stamp, 0);
}

static void test_writable_map_of_own_pt_refused_validate(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l1)[1] = (t.l2 << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EBUSY);
    assert_all_unreferenced(); /* partial validation undone */
}

static void test_writable_self_map_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l1)[5] = (t.l1 << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EBUSY);
    assert_all_unreferenced();
}

/* ---- linear (recursive) page tables: Xen's get_linear_pagetable ---- */
static void test_linear_self_l4_read_only(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l4)[1] = (t.l4 << PAGE_SHIFT) | ROF; /* recursive L4 slot */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), 0);
    assert_int_equal(pi(t.l4)->count, 1);      /* the self entry holds nothing */
    assert_int_equal(pi(t.l4)->type_count, 1);
    assert_int_equal(pi(t.l4)->linear, 0);
    put_page_and_type(t.l4);
    assert_all_unreferenced();
}

static void test_linear_self_writable_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l4)[1] = (t.l4 << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    tab(t.l4)[1] = 0;
    tab(t.l3)[1] = (t.l3 << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    assert_all_unreferenced();
}

static void test_linear_l3_and_l2_self(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l3)[2] = (t.l3 << PAGE_SHIFT) | ROF;
    tab(t.l2)[3] = (t.l2 << PAGE_SHIFT) | ROF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), 0);
    assert_int_equal(pi(t.l3)->type_count, 1);
    assert_int_equal(pi(t.l2)->type_count, 1);
    put_page_and_type(t.l4);
    assert_all_unreferenced();
}

static void test_linear_same_level_other_table(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t x = frame(A);
    assert_int_equal(mm_pin(A, x, PGT_l2), 0);
    tab(t.l3)[0] = (t.l2 << PAGE_SHIFT) | RWF;
    tab(t.l2)[1] = (x << PAGE_SHIFT) | ROF; /* L2 entry naming another validated L2 */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), 0);
    assert_int_equal(pi(x)->type_count, 2);
    assert_int_equal(pi(x)->count, 2);
    assert_int_equal(pi(x)->linear, -1);
    assert_int_equal(pi(t.l2)->linear, 1);
    /* unpinned, x stays an L2 through the linear entry */
    assert_int_equal(mm_unpin(A, x), 0);
    assert_int_equal(pi(x)->type, PGT_l2);
    assert_int_equal(pi(x)->type_count, 1);
    /* and it cannot be mapped writable meanwhile */
    assert_int_equal(mm_pt_update(A, A, (t.l1 << PAGE_SHIFT) + 32, (x << PAGE_SHIFT) | RWF, 0), -XL_EBUSY);
    /* removing the entry drops the linear counts and x's type */
    assert_int_equal(mm_pt_update(A, A, (t.l2 << PAGE_SHIFT) + 8, 0, 0), 0);
    assert_int_equal(pi(x)->type_count, 0);
    assert_int_equal(pi(x)->linear, 0);
    assert_int_equal(pi(t.l2)->linear, 0);
    put_page_and_type(t.l4);
    assert_all_unreferenced();
}

static void test_linear_writable_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t x = frame(A);
    assert_int_equal(mm_pin(A, x, PGT_l2), 0);
    tab(t.l2)[1] = (x << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    assert_int_equal(pi(x)->type_count, 1);
    assert_int_equal(pi(x)->linear, 0);
    assert_int_equal(mm_unpin(A, x), 0);
    assert_all_unreferenced();
}

static void test_linear_unvalidated_or_other_level_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t l3b = frame(A);
    assert_int_equal(mm_pin(A, l3b, PGT_l3), 0);
    tab(t.l2)[1] = (l3b << PAGE_SHIFT) | ROF; /* an L3 is neither L1 nor L2 */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    /* a frame that cannot become an L1 and is not a validated L2 */
    uint64_t w = frame(A);
    assert_int_equal(get_page_and_type(w, A, PGT_writable), 0);
    tab(t.l2)[1] = (w << PAGE_SHIFT) | ROF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    put_page_and_type(w);
    assert_int_equal(mm_unpin(A, l3b), 0);
    assert_all_unreferenced();
}

static void test_linear_other_owner_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t x = frame(B);
    assert_int_equal(mm_pin(B, x, PGT_l2), 0);
    tab(t.l2)[1] = (x << PAGE_SHIFT) | ROF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    assert_int_equal(pi(x)->count, 1);
    assert_int_equal(mm_unpin(B, x), 0);
    assert_all_unreferenced();
}

static void test_linear_no_chains(void **state)
{
    (void)state;
    uint64_t x = frame(A), y = frame(A), z = frame(A);
    assert_int_equal(mm_pin(A, x, PGT_l2), 0);
    assert_int_equal(mm_pin(A, y, PGT_l2), 0);
    assert_int_equal(mm_pin(A, z, PGT_l2), 0);
    /* y holds a linear entry naming x */
    assert_int_equal(mm_pt_update(A, A, y << PAGE_SHIFT, (x << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(pi(y)->linear, 1);
    assert_int_equal(pi(x)->linear, -1);
    /* a table holding linear entries cannot be named by one ... */
    assert_int_equal(mm_pt_update(A, A, z << PAGE_SHIFT, (y << PAGE_SHIFT) | ROF, 0), -XL_EINVAL);
    /* ... and a table named by one cannot hold one */
    assert_int_equal(mm_pt_update(A, A, x << PAGE_SHIFT, (z << PAGE_SHIFT) | ROF, 0), -XL_EINVAL);
    /* a cycle is therefore impossible */
    assert_int_equal(mm_pt_update(A, A, x << PAGE_SHIFT, (y << PAGE_SHIFT) | ROF, 0), -XL_EINVAL);
    /* a second linear entry from y, to z, is fine */
    assert_int_equal(mm_pt_update(A, A, (y << PAGE_SHIFT) + 8, (z << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(pi(y)->linear, 2);
    /* unpinning y devalidates it and releases x and z */
    assert_int_equal(mm_unpin(A, y), 0);
    assert_int_equal(pi(x)->linear, 0);
    assert_int_equal(pi(z)->linear, 0);
    assert_int_equal(pi(x)->type_count, 1);
    assert_int_equal(mm_unpin(A, x), 0);
    assert_int_equal(mm_unpin(A, z), 0);
    assert_all_unreferenced();
}

static void test_linear_entry_via_pt_update(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    uint64_t ptr = (t.l4 << PAGE_SHIFT) + 5 * 8;
    assert_int_equal(mm_pt_update(A, A, ptr, (t.l4 << PAGE_SHIFT) | RWF, 0), -XL_EINVAL);
    assert_int_equal(mm_pt_update(A, A, ptr, (t.l4 << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(pi(t.l4)->type_count, 1);
    assert_int_equal(pi(t.l4)->count, 1);
    /* the linear slot may be rewritten to another same-level table */
    uint64_t l4b = frame(A);
    assert_int_equal(mm_pin(A, l4b, PGT_l4), 0);
    assert_int_equal(mm_pt_update(A, A, ptr, (l4b << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(pi(l4b)->linear, -1);
    assert_int_equal(mm_unpin(A, l4b), 0);
    assert_int_equal(pi(l4b)->type_count, 1);
    assert_int_equal(mm_unpin(A, t.l4), 0); /* devalidation drops l4b */
    assert_all_unreferenced();
}

static void test_superpages_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l2)[1] = (frame(A) << PAGE_SHIFT) | RWF | PTE_PS;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    tab(t.l2)[1] = 0;
    tab(t.l3)[1] = (frame(A) << PAGE_SHIFT) | RWF | PTE_PS;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    assert_all_unreferenced();
}

static void test_hv_slots_not_validated(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l4)[256] = (3ULL << PAGE_SHIFT) | PTE_P; /* hv frame, as the hv copies it */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), 0);
    assert_int_equal(pi(3)->count, 0);
    put_page_and_type(t.l4);
    assert_all_unreferenced();
}

static void test_l1_other_owner_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t theirs = frame(B);
    tab(t.l1)[1] = (theirs << PAGE_SHIFT) | ROF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EBUSY);
    tab(t.l1)[1] = (5ULL << PAGE_SHIFT) | ROF; /* hv-owned */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EBUSY);
    tab(t.l1)[1] = ((uint64_t)(NFRAMES - 1) << PAGE_SHIFT) | ROF; /* free */
    assert_int_equal(pi(NFRAMES - 1)->owner, DOMID_FREE);
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EBUSY);
    tab(t.l1)[1] = ((uint64_t)NFRAMES << PAGE_SHIFT) | ROF; /* beyond max_mfn: MMIO */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EPERM);
    assert_all_unreferenced();
}

/* I/O memory (DOMID_IO frames and frames past the frame table) is
 * mappable, read-write too, by a privileged domain only, never counted;
 * the local APIC page stays the hv's. */
static void test_io_frames_privileged_only(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t io = 6;
    pi(io)->owner = DOMID_IO_OWNED;
    tab(t.l1)[1] = (io << PAGE_SHIFT) | RWF;
    tab(t.l1)[2] = ((uint64_t)NFRAMES << PAGE_SHIFT) | RWF;
    domains[A].privileged = 0;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EPERM);
    domains[A].privileged = 1;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), 0);
    assert_int_equal(pi(io)->count, 0);
    assert_int_equal(pi(io)->type_count, 0);
    put_page_and_type(t.l4);
    tab(t.l1)[2] = (0xFEE00ULL << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EPERM);
    domains[A].privileged = 0;
    pi(io)->owner = DOMID_HV_OWNED;
    assert_all_unreferenced();
}

static void test_l2_entry_to_other_owner_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l2)[1] = (frame(B) << PAGE_SHIFT) | RWF;
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
    assert_all_unreferenced();
}

/* ---- pins and base pointers ---- */
static void test_pin_of_writable_mapped_frame_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t pg = frame(A);
    tab(t.l1)[1] = (pg << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_pin(A, pg, PGT_l1), -XL_EINVAL);
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), -XL_EINVAL); /* twice */
    assert_int_equal(mm_pin(A, t.l1, PGT_l2), -XL_EINVAL); /* wrong type */
    assert_int_equal(mm_pin(B, t.l4, PGT_l4), -XL_EINVAL); /* not B's */
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

static void test_unpin_unpinned_refused(void **state)
{
    (void)state;
    uint64_t pg = frame(A);
    assert_int_equal(mm_unpin(A, pg), -XL_EINVAL);
    assert_int_equal(mm_pin(A, pg, PGT_l1), 0); /* an empty L1 */
    assert_int_equal(mm_unpin(B, pg), -XL_EINVAL);
    assert_int_equal(mm_unpin(A, pg), 0);
    assert_int_equal(mm_unpin(A, pg), -XL_EINVAL);
    assert_all_unreferenced();
}

static void test_new_baseptr(void **state)
{
    (void)state;
    struct tree t = mktree(A), t2 = mktree(A);
    struct vcpu *v = &da->vcpus[0];
    assert_int_equal(mm_pin(A, t.l1, PGT_l1), 0);
    assert_int_equal(mm_new_baseptr(v, t.l1, 0), -XL_EINVAL); /* typed L1, not an L4 */
    assert_int_equal(mm_unpin(A, t.l1), 0);
    assert_int_equal(mm_new_baseptr(v, frame(B), 0), -XL_EINVAL);
    assert_int_equal(mm_new_baseptr(v, 0, 0), -XL_EINVAL);
    assert_int_equal(mm_new_baseptr(v, t.l4, 0), 0);
    assert_int_equal(v->guest_table, t.l4);
    assert_int_equal(v->cr3, t.l4 << PAGE_SHIFT);
    assert_int_equal(pi(t.l4)->type_count, 1);
    assert_int_equal(mm_new_baseptr(v, t2.l4, 1), 0);
    assert_int_equal(v->guest_table_user, t2.l4);
    assert_int_equal(mm_new_baseptr(v, 0, 1), 0); /* user table may be dropped */
    assert_int_equal(mm_new_baseptr(v, t2.l4, 0), 0);
    assert_int_equal(pi(t.l4)->type_count, 0); /* old base released */
    mm_release_domain(da);
    assert_all_unreferenced();
}

/* ---- updates ---- */
/* Xen 4.17's adjust_guest_l1e..l4e and L1 flag rules: a kernel page
 * (no USER) gets USER and bit 52, a user page GLOBAL, a GLOBAL written
 * by the guest is accepted; upper levels get USER (L4 also ACCESSED),
 * also when a table is validated; PWT/PCD/PAT refused for a domU, allowed
 * for a privileged domain; software bits 52-62 accepted (Xen release). */
static void test_entry_adjust(void **state)
{
    (void)state;
    const uint64_t G = 0x100, GK = 1ULL << 52, P = PTE_P, RW = PTE_RW, US = PTE_US;
    assert_int_equal(pv_adjust_guest_entry(1, 0x5000 | P | RW), 0x5000 | P | RW | US | GK);
    assert_int_equal(pv_adjust_guest_entry(1, 0x5000 | P | RW | G), 0x5000 | P | RW | US | GK | G);
    assert_int_equal(pv_adjust_guest_entry(1, 0x5000 | P | US), 0x5000 | P | US | G);
    assert_int_equal(pv_adjust_guest_entry(1, 0x5000 | P | US | GK), 0x5000 | P | US | GK);
    assert_int_equal(pv_adjust_guest_entry(1, 0x5000 | RW), 0x5000 | RW); /* not present */
    assert_int_equal(pv_adjust_guest_entry(2, 0x5000 | P), 0x5000 | P | US);
    assert_int_equal(pv_adjust_guest_entry(3, 0x5000 | P), 0x5000 | P | US);
    assert_int_equal(pv_adjust_guest_entry(4, 0x5000 | P), 0x5000 | P | US | PTE_A);

    struct tree t = mktree(A);
    uint64_t pg = frame(A), l1ptr = (t.l1 << PAGE_SHIFT) + 8;
    tab(t.l1)[2] = (pg << PAGE_SHIFT) | P;              /* a kernel page, before validation */
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(tab(t.l1)[2], (pg << PAGE_SHIFT) | P | US | GK);
    assert_true(tab(t.l4)[0] & PTE_A);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | P | RW | G, 0), 0);
    assert_int_equal(tab(t.l1)[1], (pg << PAGE_SHIFT) | P | RW | G | US | GK);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | P | 0x10, 0), -XL_EINVAL);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | P | 0x80, 0), -XL_EINVAL);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | P | (1ULL << 62), 0), 0);
    da->privileged = 1;
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | P | 0x18, 0), 0);
    da->privileged = 0;
}

static void test_pt_update_rules(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t pg = frame(A), l1ptr = (t.l1 << PAGE_SHIFT) + 8;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    /* writable mapping of own page tables refused, read-only fine */
    assert_int_equal(mm_pt_update(A, A, l1ptr, (t.l3 << PAGE_SHIFT) | RWF, 0), -XL_EBUSY);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (t.l3 << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(pi(t.l3)->count, 2);
    /* new references before old ones are dropped */
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(pi(t.l3)->count, 1);
    assert_int_equal(pi(pg)->type, PGT_writable);
    /* another domain's, a hv and a free frame refused; old entry kept */
    assert_int_equal(mm_pt_update(A, A, l1ptr, (frame(B) << PAGE_SHIFT) | ROF, 0), -XL_EBUSY);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (2ULL << PAGE_SHIFT) | ROF, 0), -XL_EBUSY);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (600ULL << PAGE_SHIFT) | ROF, 0), -XL_EBUSY);
    assert_int_equal(tab(t.l1)[1], (pg << PAGE_SHIFT) | RWF | 0x100); /* user page: G added */
    /* L4 entries in the hv slots, superpages */
    assert_int_equal(mm_pt_update(A, A, (t.l4 << PAGE_SHIFT) + 256 * 8, 0, 0), -XL_EINVAL);
    assert_int_equal(mm_pt_update(A, A, (t.l4 << PAGE_SHIFT) + 271 * 8, 0, 0), -XL_EINVAL);
    assert_int_equal(mm_pt_update(A, A, (t.l2 << PAGE_SHIFT) + 8, (frame(A) << PAGE_SHIFT) | RWF | PTE_PS, 0), -XL_EINVAL);
    /* an L2 entry to a fresh frame types it L1 */
    uint64_t nl1 = frame(A);
    assert_int_equal(mm_pt_update(A, A, (t.l2 << PAGE_SHIFT) + 8, (nl1 << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(pi(nl1)->type, PGT_l1);
    /* not the caller's page table frame */
    assert_int_equal(mm_pt_update(B, B, l1ptr, 0, 0), -XL_EINVAL);
    /* PRESERVE_AD keeps the A/D bits in memory */
    tab(t.l1)[1] |= PTE_D;
    assert_int_equal(mm_pt_update(A, A, l1ptr, (pg << PAGE_SHIFT) | PTE_P | PTE_RW | PTE_US, 1), 0);
    assert_int_equal(tab(t.l1)[1] & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert_int_equal(mm_pt_update(A, A, l1ptr, 0, 0), 0);
    assert_int_equal(pi(pg)->type_count, 0);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

static void test_pt_update_non_pt_frame(void **state)
{
    (void)state;
    uint64_t pg = frame(A), l1 = frame(A);
    /* Xen: an untyped or writable frame takes a plain write */
    assert_int_equal(mm_pt_update(A, A, (pg << PAGE_SHIFT) + 16, 0x1234, 0), 0);
    assert_int_equal(tab(pg)[2], 0x1234);
    /* a frame of another type (a seg-desc frame) is refused */
    assert_int_equal(get_page_and_type(pg, A, PGT_seg_desc), 0);
    assert_int_equal(mm_pt_update(A, A, (pg << PAGE_SHIFT) + 16, 0, 0), -XL_EINVAL);
    put_page_and_type(pg);
    /* another domain's frame, a misaligned pointer */
    assert_int_equal(mm_pt_update(B, B, pg << PAGE_SHIFT, 0, 0), -XL_EINVAL);
    assert_int_equal(mm_pin(A, l1, PGT_l1), 0);
    assert_int_equal(mm_pt_update(A, A, (l1 << PAGE_SHIFT) + 3, 0, 0), -XL_EINVAL);
    assert_int_equal(mm_unpin(A, l1), 0);
    assert_all_unreferenced();
}

static void test_foreign_l1_mapping(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t theirs = frame(B), l1ptr = (t.l1 << PAGE_SHIFT) + 8;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (theirs << PAGE_SHIFT) | RWF, 0), -XL_EBUSY);
    assert_int_equal(mm_pt_update(A, B, l1ptr, (theirs << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(pi(theirs)->count, 1);
    /* B dies while A maps its frame: the frame is orphaned, not freed */
    uint64_t before = mm_free_count();
    uint64_t freed = mm_free_domain_frames(B);
    assert_int_equal(freed, 0);
    assert_int_equal(pi(theirs)->owner, DOMID_ORPHAN);
    assert_false(page_alloc_is_free(&hv_pages, theirs));
    assert_int_equal(mm_pt_update(A, A, l1ptr, 0, 0), 0);
    assert_int_equal(pi(theirs)->owner, DOMID_FREE);
    assert_int_equal(mm_free_count(), before + 1);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

static void test_update_va(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t pg = frame(A), va = 0x3000; /* l1 slot 3 */
    tab(t.l1)[3] = (pg << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, va, (t.l4 << PAGE_SHIFT) | RWF), -XL_EBUSY);
    assert_int_equal(mm_update_va(A, A, t.l4, va, (frame(B) << PAGE_SHIFT) | RWF), -XL_EBUSY);
    assert_int_equal(mm_update_va(A, A, t.l4, va, (t.l4 << PAGE_SHIFT) | ROF), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x200000, 0), -XL_EINVAL); /* no L1 there */
    assert_int_equal(mm_update_va(A, A, t.l4, 0xFFFF800000000000ULL, 0), -XL_EINVAL);
    assert_int_equal(mm_update_va(B, B, t.l4, va, 0), -XL_EINVAL); /* not B's L1 */
    assert_int_equal(mm_update_va(A, A, t.l4, va, 0), 0);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* ---- the L1 fast path (same frame, same RW: no reference moves) ---- */
static void test_l1_fast_same_frame_flags(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t pg = frame(A), ro = frame(A);
    tab(t.l1)[3] = (pg << PAGE_SHIFT) | RWF;
    tab(t.l1)[4] = (ro << PAGE_SHIFT) | ROF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(pi(pg)->count, 1);
    assert_int_equal(pi(pg)->type_count, 1);
    /* flags only (Dirty, NX, a software bit): counts stay, entry adjusted */
    uint64_t nv = (pg << PAGE_SHIFT) | RWF | PTE_D | PTE_NX | 0x200;
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, nv), 0);
    assert_int_equal(tab(t.l1)[3], pv_adjust_guest_entry(1, nv));
    assert_int_equal(pi(pg)->count, 1);
    assert_int_equal(pi(pg)->type_count, 1);
    assert_int_equal(pi(pg)->type, PGT_writable);
    /* kernel page (no USER): adjusted as on the full path */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | PTE_P | PTE_RW), 0);
    assert_true(tab(t.l1)[3] & PTE_GUEST_KERNEL);
    assert_int_equal(pi(pg)->count, 1);
    /* read-only mapping, flags changed: still one page reference, no type */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x4000, (ro << PAGE_SHIFT) | ROF | PTE_D), 0);
    assert_int_equal(pi(ro)->count, 1);
    assert_int_equal(pi(ro)->type_count, 0);
    /* RW dropped: the full path puts the writable type */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | ROF), 0);
    assert_int_equal(pi(pg)->count, 1);
    assert_int_equal(pi(pg)->type_count, 0);
    /* and back to RW: takes it again */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | RWF), 0);
    assert_int_equal(pi(pg)->type_count, 1);
    /* not present to not present (any bits): nothing counted */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x5000, 0xABC000), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x5000, 0xDEF000), 0);
    assert_int_equal(tab(t.l1)[5], 0xDEF000);
    /* cache bits an unprivileged domain may not use: Xen's -EINVAL even
     * for the same frame (the fast path defers to the full one) */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | RWF | 0x10), -XL_EINVAL);
    assert_int_equal(tab(t.l1)[3] & 0x10, 0);
    assert_int_equal(pi(pg)->type_count, 1);
    da->privileged = 1;
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | RWF | 0x10), 0);
    assert_int_equal(pi(pg)->count, 1);
    assert_int_equal(pi(pg)->type_count, 1);
    da->privileged = 0;
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

static void test_l1_fast_same_frame_writable_pt_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l1)[3] = (t.l2 << PAGE_SHIFT) | ROF; /* a page table, read-only */
    tab(t.l1)[4] = (t.l1 << PAGE_SHIFT) | ROF; /* the L1 itself, read-only */
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    uint32_t c2 = pi(t.l2)->count, c1 = pi(t.l1)->count;
    uint64_t e3 = tab(t.l1)[3], e4 = tab(t.l1)[4];
    /* same frame, RW added: never the fast path, Xen's -EBUSY */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (t.l2 << PAGE_SHIFT) | RWF), -XL_EBUSY);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x4000, (t.l1 << PAGE_SHIFT) | RWF), -XL_EBUSY);
    assert_int_equal(mm_pt_update(A, A, (t.l1 << PAGE_SHIFT) + 24, (t.l2 << PAGE_SHIFT) | RWF, 0),
                     -XL_EBUSY);
    assert_int_equal(tab(t.l1)[3], e3);
    assert_int_equal(tab(t.l1)[4], e4);
    assert_int_equal(pi(t.l2)->type, PGT_l2);
    assert_int_equal(pi(t.l2)->count, c2);
    assert_int_equal(pi(t.l1)->count, c1);
    /* read-only flag changes of the same table frame are fine */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (t.l2 << PAGE_SHIFT) | ROF | PTE_D), 0);
    assert_int_equal(pi(t.l2)->count, c2);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* A frame mapped for a foreign pg_owner: the fast path still checks the
 * owner, so naming it for the caller alone (or once orphaned) fails. */
static void test_l1_fast_same_frame_owner_checked(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t theirs = frame(B), l1ptr = (t.l1 << PAGE_SHIFT) + 8;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_pt_update(A, B, l1ptr, (theirs << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(mm_pt_update(A, B, l1ptr, (theirs << PAGE_SHIFT) | ROF | PTE_D, 0), 0);
    assert_int_equal(mm_pt_update(A, A, l1ptr, (theirs << PAGE_SHIFT) | ROF, 0), -XL_EBUSY);
    assert_int_equal(pi(theirs)->count, 1);
    mm_free_domain_frames(B);
    assert_int_equal(pi(theirs)->owner, DOMID_ORPHAN);
    assert_int_equal(mm_pt_update(A, B, l1ptr, (theirs << PAGE_SHIFT) | ROF, 0), -XL_EBUSY);
    assert_int_equal(pi(theirs)->count, 1);
    assert_int_equal(mm_pt_update(A, A, l1ptr, 0, 0), 0);
    assert_int_equal(pi(theirs)->owner, DOMID_FREE);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* mm_l1_update (grant host mappings): only a validated L1 of pt_owner,
 * the old entry handed back, the same reference rules. */
static void test_l1_update(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t pg = frame(A), old = 77, l1ptr = (t.l1 << PAGE_SHIFT) + 16;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_l1_update(A, A, l1ptr, (pg << PAGE_SHIFT) | RWF, &old), 0);
    assert_int_equal(old, 0);
    assert_int_equal(pi(pg)->type_count, 1);
    assert_int_equal(mm_l1_update(A, A, l1ptr, (t.l2 << PAGE_SHIFT) | RWF, &old), -XL_EBUSY);
    assert_int_equal(old, pv_adjust_guest_entry(1, (pg << PAGE_SHIFT) | RWF));
    assert_int_equal(mm_l1_update(A, A, l1ptr, 0, &old), 0);
    assert_int_equal(pi(pg)->count, 0);
    /* not an L1, not A's, misaligned */
    assert_int_equal(mm_l1_update(A, A, t.l2 << PAGE_SHIFT, 0, &old), -XL_EINVAL);
    assert_int_equal(mm_l1_update(A, A, pg << PAGE_SHIFT, 0, &old), -XL_EINVAL);
    assert_int_equal(mm_l1_update(B, B, l1ptr, 0, &old), -XL_EINVAL);
    assert_int_equal(mm_l1_update(A, A, l1ptr + 3, 0, &old), -XL_EINVAL);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* mm_l1_of_va walks the guest's tables at every call: a change of the
 * L2, L3 or L4 entry on the way is seen by the next update_va_mapping. */
static void test_l1_walk_follows_table_changes(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t l1b = frame(A), pg = frame(A), ptr;
    tab(t.l1)[3] = (pg << PAGE_SHIFT) | RWF;
    tab(l1b)[3] = (pg << PAGE_SHIFT) | ROF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_pin(A, l1b, PGT_l1), 0);
    assert_int_equal(mm_l1_of_va(A, t.l4, 0x3000, &ptr), 0);
    assert_int_equal(ptr, (t.l1 << PAGE_SHIFT) + 24);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | RWF | PTE_D), 0);
    /* L2: the slot now names another L1 */
    assert_int_equal(mm_pt_update(A, A, t.l2 << PAGE_SHIFT, (l1b << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(mm_l1_of_va(A, t.l4, 0x3000, &ptr), 0);
    assert_int_equal(ptr, (l1b << PAGE_SHIFT) + 24);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, 0), 0);
    assert_int_equal(tab(l1b)[3], 0);
    assert_int_equal(pi(pg)->count, 0);
    /* L3 cleared: nothing there any more */
    assert_int_equal(mm_pt_update(A, A, t.l3 << PAGE_SHIFT, 0, 0), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | ROF), -XL_EINVAL);
    assert_int_equal(pi(pg)->count, 0);
    /* L4 cleared too, then another L3 chain hooked at the same slot */
    assert_int_equal(mm_pt_update(A, A, t.l4 << PAGE_SHIFT, 0, 0), 0);
    assert_int_equal(mm_l1_of_va(A, t.l4, 0x3000, &ptr), -XL_EINVAL);
    struct tree u = mktree(A);
    tab(u.l1)[3] = 0;
    assert_int_equal(mm_pt_update(A, A, t.l4 << PAGE_SHIFT, (u.l3 << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x3000, (pg << PAGE_SHIFT) | RWF), 0);
    assert_int_equal((tab(u.l1)[3] & PTE_ADDR) >> PAGE_SHIFT, pg);
    assert_int_equal(pi(pg)->type_count, 1);
    assert_int_equal(mm_unpin(A, l1b), 0);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* ---- hypercalls through fake guest memory ---- */
#define BUF_VA 0x1000ULL /* l1 slot 1: a writable page for arguments */
static struct tree ht;
static uint64_t hbuf;

static struct vcpu *guest(struct domain *d)
{
    ht = mktree(d->domid);
    hbuf = frame(d->domid);
    tab(ht.l1)[1] = (hbuf << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_new_baseptr(&d->vcpus[0], ht.l4, 0), 0);
    return &d->vcpus[0];
}
static void *buf(void) { return tab(hbuf); }

static void test_hc_mmu_update(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t pg = frame(A), theirs = frame(B);
    mmu_update_t *req = buf();
    unsigned int *done = (unsigned int *)((uint8_t *)buf() + 2048);
    req[0] = (mmu_update_t){ (ht.l1 << PAGE_SHIFT) + 16, (pg << PAGE_SHIFT) | RWF };
    req[1] = (mmu_update_t){ ((ht.l1 << PAGE_SHIFT) + 24) | MMU_PT_UPDATE_PRESERVE_AD, (ht.l2 << PAGE_SHIFT) | RWF };
    *done = 77;
    assert_int_equal(do_mmu_update(v, BUF_VA, 2, BUF_VA + 2048, DOMID_SELF, 0), -XL_EBUSY);
    assert_int_equal(*done, 1);
    assert_int_equal(pi(pg)->type, PGT_writable);
    /* M2P: own frame fine, foreign refused */
    uint64_t m2p[NFRAMES];
    m2p_table = m2p;
    req[0] = (mmu_update_t){ (pg << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 42 };
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, DOMID_SELF, 0), 0);
    assert_int_equal(m2p[pg], 42);
    req[0] = (mmu_update_t){ (theirs << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 43 };
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EINVAL);
    m2p_table = NULL;
    /* unknown command, bad pointers, foreign domains */
    req[0] = (mmu_update_t){ (pg << PAGE_SHIFT) | 5, 0 };
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_ENOSYS);
    assert_int_equal(do_mmu_update(v, 0x5000, 1, 0, DOMID_SELF, 0), -XL_EFAULT);
    assert_int_equal(do_mmu_update(v, BUF_VA, 0, 0x5000, DOMID_SELF, 0), -XL_EFAULT);
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, B, 0), -XL_EPERM);
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, 9, 0), -XL_ESRCH);
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, A, 0), -XL_ESRCH);
    /* a privileged caller may name B, and map B's frame */
    da->privileged = 1;
    req[0] = (mmu_update_t){ (ht.l1 << PAGE_SHIFT) + 16, (theirs << PAGE_SHIFT) | ROF };
    assert_int_equal(do_mmu_update(v, BUF_VA, 1, 0, B, 0), 0);
    assert_int_equal(pi(theirs)->count, 1);
    assert_int_equal(pi(pg)->type_count, 0);
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

/* mm_guest_ptr: only within one page the guest may access that way;
 * mmu_update falls back to the copy (and its -EFAULT) otherwise. */
static void test_guest_ptr(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    assert_ptr_equal(mm_guest_ptr(v->cr3, BUF_VA + 16, 16, 1), (uint8_t *)buf() + 16);
    assert_null(mm_guest_ptr(v->cr3, BUF_VA + PAGE_SIZE - 8, 16, 0)); /* crosses a page */
    assert_null(mm_guest_ptr(v->cr3, 0x5000, 8, 0));                 /* not mapped */
    assert_null(mm_guest_ptr(v->cr3, BUF_VA, 0, 0));
    tab(ht.l1)[1] &= ~PTE_RW; /* read-only now (a fake write: no counts matter here) */
    assert_non_null(mm_guest_ptr(v->cr3, BUF_VA, 8, 0));
    assert_null(mm_guest_ptr(v->cr3, BUF_VA, 8, 1));
    tab(ht.l1)[1] |= PTE_RW;
    /* a request straddling into an unmapped page: -EFAULT, nothing done */
    mmu_update_t req = { (ht.l1 << PAGE_SHIFT) + 16, 0 };
    memcpy((uint8_t *)buf() + PAGE_SIZE - 8, &req, 8);
    assert_int_equal(do_mmu_update(v, BUF_VA + PAGE_SIZE - 8, 1, 0, DOMID_SELF, 0), -XL_EFAULT);
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

static void test_hc_mmuext(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t l1 = frame(A), src = frame(A), dst = frame(A);
    struct mmuext_op *op = buf();
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = l1 };
    op[1] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = l1 };
    unsigned int *done = (unsigned int *)((uint8_t *)buf() + 2048);
    assert_int_equal(do_mmuext_op(v, BUF_VA, 2, BUF_VA + 2048, DOMID_SELF, 0), -XL_EINVAL);
    assert_int_equal(*done, 1);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_NEW_BASEPTR, .arg1.mfn = l1 }; /* pinned L1 */
    op[1] = (struct mmuext_op){ .cmd = MMUEXT_UNPIN_TABLE, .arg1.mfn = l1 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 2, BUF_VA + 2048, DOMID_SELF, 0), -XL_EINVAL);
    assert_int_equal(*done, 0);
    assert_int_equal(v->guest_table, ht.l4);
    assert_int_equal(do_mmuext_op(v, BUF_VA + sizeof(*op), 1, 0, DOMID_SELF, 0), 0);
    assert_int_equal(pi(l1)->type_count, 0);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    op[1] = (struct mmuext_op){ .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = 0x1000 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 2, 0, DOMID_SELF, 0), 0);
    assert_int_equal(fake_tlb_flushes, 1);
    assert_int_equal(fake_invlpgs, 1);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_TLB_FLUSH_MULTI, .arg2.vcpumask.p = (void *)0x5000 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EFAULT);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_FLUSH_CACHE };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EACCES);
    memset(tab(src), 0xAB, PAGE_SIZE);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_COPY_PAGE, .arg1.mfn = dst, .arg2.src_mfn = src };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), 0);
    assert_int_equal(tab(dst)[7], 0xABABABABABABABABULL);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_CLEAR_PAGE, .arg1.mfn = dst };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), 0);
    assert_int_equal(tab(dst)[7], 0);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_CLEAR_PAGE, .arg1.mfn = ht.l1 }; /* a page table */
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EINVAL);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_SET_LDT, .arg1.linear_addr = 0x10000, .arg2.nr_ents = 16 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), 0);
    assert_int_equal(mm_vcpu_ldt(A, 0)->linear_addr, 0x10000);
    assert_int_equal(mm_vcpu_ldt(A, 0)->nr_ents, 16);
    op[0].arg1.linear_addr = 0x10008;
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EINVAL);
    op[0] = (struct mmuext_op){ .cmd = 99 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_ENOSYS);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = l1 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, B, 0), -XL_EPERM);
    uint64_t before = mm_free_count();
    assert_int_equal(mm_free_domain_frames(A), 8); /* 4 tables, buf, l1, src, dst */
    assert_int_equal(mm_free_count(), before + 8);
    assert_int_equal(mm_vcpu_ldt(A, 0)->nr_ents, 0);
    assert_all_unreferenced();
}

static void test_hc_update_va_mapping(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t pg = frame(A);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (ht.l2 << PAGE_SHIFT) | RWF, UVMF_INVLPG, 0, 0), -XL_EBUSY);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (pg << PAGE_SHIFT) | RWF, UVMF_INVLPG, 0, 0), 0);
    assert_int_equal(fake_invlpgs, 1);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (pg << PAGE_SHIFT) | ROF, UVMF_TLB_FLUSH | UVMF_ALL, 0, 0), 0);
    assert_int_equal(fake_tlb_flushes, 1);
    assert_int_equal(pi(pg)->type_count, 0);
    assert_int_equal(pi(pg)->count, 1);
    assert_int_equal(do_update_va_mapping(v, 0x2000, 0, UVMF_TLB_FLUSH | 0x5000, 0, 0), -XL_EFAULT);
    assert_int_equal(pi(pg)->count, 0);
    assert_int_equal(do_update_va_mapping_otherdomain(v, 0x2000, 0, 0, B, 0), -XL_EPERM);
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

static void test_hc_memory_op(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t m2p[NFRAMES];
    memset(m2p, 0xff, sizeof(m2p));
    m2p_table = m2p;
    m2p_bytes = PAGE_SIZE * 2;
    m2p_first_mfn = 7;
    da->max_pages = da->tot_pages + 2;
    domid_t *id = buf();
    *id = DOMID_SELF;
    assert_int_equal(do_memory_op(v, XENMEM_current_reservation, BUF_VA, 0, 0, 0), (long)da->tot_pages);
    assert_int_equal(do_memory_op(v, XENMEM_maximum_reservation, BUF_VA, 0, 0, 0), (long)da->max_pages);
    *id = B;
    assert_int_equal(do_memory_op(v, XENMEM_current_reservation, BUF_VA, 0, 0, 0), -XL_EPERM);
    *id = 12;
    assert_int_equal(do_memory_op(v, XENMEM_current_reservation, BUF_VA, 0, 0, 0), -XL_ESRCH);
    assert_int_equal(do_memory_op(v, XENMEM_maximum_ram_page, 0, 0, 0, 0), NFRAMES);
    assert_int_equal(do_memory_op(v, 40, 0, 0, 0, 0), -XL_ENOSYS);
    struct xen_machphys_mapping *mm = buf();
    assert_int_equal(do_memory_op(v, XENMEM_machphys_mapping, BUF_VA, 0, 0, 0), 0);
    assert_int_equal(mm->v_start, M2P_BASE);
    assert_int_equal(mm->v_end, MACH2PHYS_VIRT_END); /* as Xen 4.17 */
    assert_int_equal(mm->max_mfn, MACH2PHYS_NR_ENTRIES - 1); /* a domU */
    da->privileged = 1;
    assert_int_equal(do_memory_op(v, XENMEM_machphys_mapping, BUF_VA, 0, 0, 0), 0);
    assert_int_equal(mm->max_mfn, NFRAMES - 1); /* dom0: maximum_ram_page - 1 */
    da->privileged = 0;
    /* populate 3 pfns with max_pages allowing 2 */
    struct xen_memory_reservation *r = buf();
    uint64_t *list = (uint64_t *)((uint8_t *)buf() + 1024);
    *r = (struct xen_memory_reservation){ .nr_extents = 3, .domid = DOMID_SELF };
    r->extent_start.p = (xen_pfn_t *)(BUF_VA + 1024);
    list[0] = 100, list[1] = 101, list[2] = 102;
    uint64_t tot = da->tot_pages;
    assert_int_equal(do_memory_op(v, XENMEM_populate_physmap, BUF_VA, 0, 0, 0), 2);
    assert_int_equal(da->tot_pages, tot + 2);
    uint64_t m0 = list[0], m1 = list[1];
    assert_int_equal(pi(m0)->owner, A);
    assert_int_equal(m2p[m0], 100);
    assert_int_equal(m2p[m1], 101);
    r->extent_order = 1;
    assert_int_equal(do_memory_op(v, XENMEM_populate_physmap, BUF_VA, 0, 0, 0), 0); /* max_pages */
    assert_int_equal(da->tot_pages, tot + 2);
    /* decrease: m1 unreferenced -> freed; m0 mapped -> out of the M2P but
     * still A's and charged to A (Xen) until unmapped */
    assert_int_equal(do_update_va_mapping(v, 0x2000, (m0 << PAGE_SHIFT) | RWF, 0, 0, 0), 0);
    r->extent_order = 0;
    r->nr_extents = 3;
    list[0] = m1, list[1] = m0, list[2] = hbuf + 500; /* the last is not ours */
    uint64_t before = mm_free_count();
    assert_int_equal(do_memory_op(v, XENMEM_decrease_reservation, BUF_VA, 0, 0, 0), 2);
    assert_int_equal(da->tot_pages, tot + 1);
    assert_int_equal(pi(m1)->owner, DOMID_FREE);
    assert_int_equal(m2p[m1], ~0ULL);
    assert_int_equal(pi(m0)->owner, A);
    assert_int_equal(pi(m0)->flags, PGF_removed);
    assert_int_equal(m2p[m0], ~0ULL);
    assert_int_equal(mm_free_count(), before + 1);
    assert_false(page_alloc_is_free(&hv_pages, m0));
    assert_int_equal(do_update_va_mapping(v, 0x2000, 0, 0, 0, 0), 0);
    assert_int_equal(pi(m0)->owner, DOMID_FREE);
    assert_int_equal(da->tot_pages, tot);
    assert_int_equal(mm_free_count(), before + 2);
    /* memory_map: for dom0 -ENOSYS (real Xen 4.17), a domU one RAM entry of max_pages */
    da->privileged = 1;
    assert_int_equal(do_memory_op(v, XENMEM_memory_map, BUF_VA, 0, 0, 0), -XL_ENOSYS);
    da->privileged = 0;
    struct xen_memory_map *map = buf();
    map->nr_entries = 4;
    map->buffer.p = (void *)(BUF_VA + 1024);
    assert_int_equal(do_memory_op(v, XENMEM_memory_map, BUF_VA, 0, 0, 0), 0);
    assert_int_equal(map->nr_entries, 1);
    assert_int_equal(list[0], 0);
    assert_int_equal(list[1], da->max_pages << PAGE_SHIFT);
    assert_int_equal(*(uint32_t *)&list[2], 1);
    m2p_table = NULL;
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

/* populate_physmap / decrease_reservation with extent orders */
static long reserve(struct vcpu *v, unsigned int cmd, unsigned int n, unsigned int order,
                    uint16_t domid)
{
    struct xen_memory_reservation *r = buf();
    *r = (struct xen_memory_reservation){ .nr_extents = n, .extent_order = order, .domid = domid };
    r->extent_start.p = (xen_pfn_t *)(BUF_VA + 1024);
    return do_memory_op(v, cmd, BUF_VA, 0, 0, 0);
}
static uint64_t *rlist(void) { return (uint64_t *)((uint8_t *)buf() + 1024); }

static void test_populate_orders(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t m2p[NFRAMES];
    memset(m2p, 0xff, sizeof(m2p));
    m2p_table = m2p;
    da->max_pages = 1000;
    uint64_t tot = da->tot_pages, free0 = mm_free_count();
    rlist()[0] = 200;
    rlist()[1] = 300;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 2, 2, DOMID_SELF), 2);
    assert_int_equal(da->tot_pages, tot + 8);
    assert_int_equal(mm_free_count(), free0 - 8);
    for (int e = 0; e < 2; e++) {
        uint64_t m = rlist()[e];
        assert_int_equal(m & 3, 0); /* aligned to the extent */
        for (uint64_t j = 0; j < 4; j++) {
            assert_int_equal(pi(m + j)->owner, A);
            assert_int_equal(m2p[m + j], (e ? 300 : 200) + j);
        }
    }
    /* decrease one order-2 extent: all four frames go */
    uint64_t m = rlist()[0];
    rlist()[0] = m;
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 2, DOMID_SELF), 1);
    assert_int_equal(da->tot_pages, tot + 4);
    for (uint64_t j = 0; j < 4; j++) {
        assert_int_equal(pi(m + j)->owner, DOMID_FREE);
        assert_int_equal(m2p[m + j], ~0ULL);
    }
    m2p_table = NULL;
    mm_free_domain_frames(A);
    assert_int_equal(mm_free_count(), free0 + tot);
    assert_all_unreferenced();
}

static void test_populate_order_above_limit_does_nothing(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    da->max_pages = 100000;
    uint64_t tot = da->tot_pages, free0 = mm_free_count();
    rlist()[0] = 7;
    /* a domU may use order 9 at most (Xen's CONFIG_DOMU_MAX_ORDER) */
    assert_int_equal(mm_max_extent_order(da), 9);
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 10, DOMID_SELF), 0);
    assert_int_equal(rlist()[0], 7);
    assert_int_equal(da->tot_pages, tot);
    assert_int_equal(mm_free_count(), free0);
    /* the control domain up to the allocator's maximum order, 20 */
    da->privileged = 1;
    assert_int_equal(mm_max_extent_order(da), 20);
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 21, DOMID_SELF), 0);
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 20, DOMID_SELF), 0); /* no memory */
    assert_int_equal(da->tot_pages, tot);
    assert_int_equal(mm_free_count(), free0);
    da->privileged = 0;
    /* decrease with a too large order removes nothing */
    rlist()[0] = ht.l1;
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 10, DOMID_SELF), 0);
    assert_int_equal(pi(ht.l1)->owner, A);
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

static void test_populate_max_pages_and_enomem(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t tot = da->tot_pages, free0 = mm_free_count();
    /* max_pages: an order-2 extent needs 4 pages of room */
    da->max_pages = tot + 3;
    rlist()[0] = 1;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 2, DOMID_SELF), 0);
    assert_int_equal(mm_free_count(), free0);
    da->max_pages = tot + 4;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 2, 2, DOMID_SELF), 1);
    assert_int_equal(da->tot_pages, tot + 4);
    /* -ENOMEM: one aligned 512-frame block exists (512..1023), not two */
    da->max_pages = 100000;
    rlist()[0] = 1000;
    rlist()[1] = 2000;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 2, 9, DOMID_SELF), 1);
    assert_int_equal(rlist()[0], 512);
    assert_int_equal(rlist()[1], 2000); /* untouched */
    assert_int_equal(da->tot_pages, tot + 4 + 512);
    /* another domain's reservation: only for a privileged caller */
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 0, B), -XL_EPERM);
    mm_free_domain_frames(A);
    assert_int_equal(mm_free_count(), free0 + tot);
    assert_all_unreferenced();
}

static void test_decrease_partial_extent(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t tot = da->tot_pages;
    /* frames f, f+1 ours, f+2 B's: an order-1 extent at f is fine, at
     * f+1 it stops at f+2 after removing f+1 (as Xen) and is not counted */
    uint64_t f = frame(A), f1 = frame(A), fb = frame(B);
    assert_int_equal(f1, f + 1);
    assert_int_equal(fb, f + 2);
    rlist()[0] = f + 1;
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 1, DOMID_SELF), 0);
    assert_int_equal(pi(f1)->owner, DOMID_FREE);
    assert_int_equal(pi(fb)->owner, B);
    assert_int_equal(da->tot_pages, tot + 1);
    /* the domain's shared_info frame cannot be given back */
    da->shared_info_mfn = f;
    rlist()[0] = f;
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 0, DOMID_SELF), 0);
    assert_int_equal(pi(f)->owner, A);
    da->shared_info_mfn = 0;
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 0, DOMID_SELF), 1);
    assert_int_equal(da->tot_pages, tot);
    mm_free_domain_frames(A);
    mm_free_domain_frames(B);
    assert_all_unreferenced();
}

static void test_flush_cache_permission(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    struct mmuext_op *op = buf();
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_FLUSH_CACHE };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EACCES);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_FLUSH_CACHE_GLOBAL };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EINVAL);
    assert_int_equal(fake_cache_flushes, 0);
    da->privileged = 1;
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, B, 0), -XL_EPERM);
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), 0);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_FLUSH_CACHE };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), 0);
    assert_int_equal(fake_cache_flushes, 2);
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

/* The destroy audit: A (privileged) holds pinned tables, a kernel and a
 * user base pointer, a linear entry, a segment-descriptor frame and
 * read-only and writable mappings of B's frames. */
static uint64_t busy_domain_a(uint64_t *bro, uint64_t *brw)
{
    struct vcpu *v = guest(da);
    da->privileged = 1;
    assert_int_equal(mm_pin(A, ht.l4, PGT_l4), 0);
    uint64_t l1b = frame(A), user = frame(A), x = frame(A), gdt = frame(A);
    assert_int_equal(mm_pin(A, l1b, PGT_l1), 0);
    assert_int_equal(mm_pin(A, x, PGT_l2), 0);
    assert_int_equal(mm_new_baseptr(v, user, 1), 0);
    assert_int_equal(mm_pt_update(A, A, (ht.l4 << PAGE_SHIFT) + 8 * 3, (ht.l4 << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(mm_pt_update(A, A, (ht.l2 << PAGE_SHIFT) + 8 * 2, (x << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(get_page_and_type(gdt, A, PGT_seg_desc), 0); /* what set_gdt holds */
    *bro = frame(B);
    *brw = frame(B);
    mmu_update_t *req = buf();
    req[0] = (mmu_update_t){ (ht.l1 << PAGE_SHIFT) + 8 * 5, (*bro << PAGE_SHIFT) | ROF };
    req[1] = (mmu_update_t){ (ht.l1 << PAGE_SHIFT) + 8 * 6, (*brw << PAGE_SHIFT) | RWF };
    assert_int_equal(do_mmu_update(v, BUF_VA, 2, 0, B, 0), 0);
    assert_int_equal(pi(*brw)->type, PGT_writable);
    assert_int_equal(pi(x)->linear, -1);
    return gdt;
}

static void assert_everything_free(uint64_t free0)
{
    assert_int_equal(mm_free_count(), free0);
    assert_all_unreferenced();
    for (uint64_t m = FIRST_FREE; m < NFRAMES; m++)
        assert_int_equal(pi(m)->owner, DOMID_FREE);
}

static void test_destroy_audit_mapper_first(void **state)
{
    (void)state;
    uint64_t free0 = mm_free_count(), bro, brw;
    uint64_t gdt = busy_domain_a(&bro, &brw);
    uint64_t a_frames = da->tot_pages;
    put_page_and_type(gdt); /* domain_destroy: pv_destroy_gdt runs first */
    assert_int_equal(mm_free_domain_frames(A), a_frames);
    assert_int_equal(da->vcpus[0].guest_table, 0);
    assert_int_equal(da->vcpus[0].guest_table_user, 0);
    /* B's frames: every reference A held is gone */
    assert_int_equal(pi(bro)->count, 0);
    assert_int_equal(pi(brw)->count, 0);
    assert_int_equal(pi(brw)->type_count, 0);
    assert_int_equal(pi(bro)->owner, B);
    assert_int_equal(mm_free_domain_frames(B), 2);
    assert_everything_free(free0);
}

static void test_destroy_audit_mapped_first(void **state)
{
    (void)state;
    uint64_t free0 = mm_free_count(), bro, brw;
    uint64_t gdt = busy_domain_a(&bro, &brw);
    /* B goes first: its two frames A maps become orphans, freed with A */
    assert_int_equal(mm_free_domain_frames(B), 0);
    assert_int_equal(pi(bro)->owner, DOMID_ORPHAN);
    assert_int_equal(pi(brw)->owner, DOMID_ORPHAN);
    assert_false(page_alloc_is_free(&hv_pages, bro));
    put_page_and_type(gdt);
    mm_free_domain_frames(A);
    assert_everything_free(free0);
}

static void test_destroy_with_seg_desc_still_held(void **state)
{
    (void)state;
    uint64_t free0 = mm_free_count(), bro, brw;
    uint64_t gdt = busy_domain_a(&bro, &brw);
    /* if the GDT were not dropped first the frame is kept (orphaned), not
     * freed under its holder, and goes back with the last put */
    mm_free_domain_frames(A);
    assert_int_equal(pi(gdt)->owner, DOMID_ORPHAN);
    assert_int_equal(pi(gdt)->type, PGT_seg_desc);
    put_page_and_type(gdt);
    assert_int_equal(pi(gdt)->owner, DOMID_FREE);
    mm_free_domain_frames(B);
    assert_everything_free(free0);
}

/* ---- destroy and the M2P ---- */
static void test_destroy_returns_every_frame(void **state)
{
    (void)state;
    uint64_t before = mm_free_count();
    struct vcpu *v = guest(da);
    uint64_t l1 = frame(A);
    assert_int_equal(mm_pin(A, l1, PGT_l1), 0);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (frame(A) << PAGE_SHIFT) | RWF, 0, 0, 0), 0);
    assert_int_equal(mm_free_domain_frames(A), 7);
    assert_int_equal(mm_free_count(), before);
    assert_all_unreferenced();
    for (uint64_t m = FIRST_FREE; m < NFRAMES; m++)
        assert_int_equal(pi(m)->owner, DOMID_FREE);
}

static void test_m2p_init(void **state)
{
    (void)state;
    uint64_t before = mm_free_count();
    assert_int_equal(m2p_init(), 0);
    /* 1024 frames * 8 bytes = 2 pages of table + L3, L2, one L1 */
    assert_int_equal(m2p_bytes, 2 * PAGE_SIZE);
    assert_int_equal(mm_free_count(), before - 5);
    for (uint64_t m = 0; m < NFRAMES; m++)
        assert_int_equal(m2p_table[m], ~0ULL);
    assert_int_equal(pi(m2p_first_mfn)->owner, DOMID_HV_OWNED);
    uint64_t l4e = fake_hv_slot_set[256];
    assert_int_equal(l4e & (PTE_P | PTE_US | PTE_RW), PTE_P | PTE_US);
    uint64_t l3e = tab((l4e & PTE_ADDR) >> PAGE_SHIFT)[0];
    assert_int_equal(l3e & (PTE_P | PTE_US | PTE_RW), PTE_P | PTE_US);
    uint64_t l2e = tab((l3e & PTE_ADDR) >> PAGE_SHIFT)[0];
    assert_int_equal(l2e & (PTE_P | PTE_US | PTE_RW | PTE_PS), PTE_P | PTE_US);
    const uint64_t *l1 = tab((l2e & PTE_ADDR) >> PAGE_SHIFT);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(l1[i] & PTE_ADDR, (m2p_first_mfn + i) << PAGE_SHIFT);
        assert_int_equal(l1[i] & (PTE_P | PTE_US | PTE_RW), PTE_P | PTE_US);
    }
    assert_int_equal(l1[2], 0);
    /* freed frames go back to INVALID */
    uint64_t f = frame(A);
    m2p_set(f, 5);
    assert_int_equal(m2p_get(f), 5);
    mm_free_frame(f);
    assert_int_equal(m2p_get(f), ~0ULL);
    m2p_table = NULL;
}

/* ---- security review round 3 ---- */

/* 1: a guest-built L4 gets the hv's slots when it becomes an L4, whatever
 * the guest wrote there (here: a mapping of its own frame in the direct
 * map slot 262), and the guest still cannot write them afterwards. */
static void test_l4_type_overwrites_hv_slots(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t mine = frame(A);
    for (unsigned int s = 0; s < 512; s++)
        if (l4_slot_is_hv(s))
            tab(t.l4)[s] = 0x5A5A5A5A5A5A5A5AULL;
    tab(t.l4)[262] = (mine << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    for (unsigned int s = 0; s < 512; s++)
        if (l4_slot_is_hv(s))
            assert_int_equal(tab(t.l4)[s], hv_l4_entry(s));
    assert_int_equal(tab(t.l4)[0], (t.l3 << PAGE_SHIFT) | RWF); /* guest slots kept */
    assert_int_equal(pi(mine)->count, 0); /* no reference from slot 262 */
    assert_int_equal(mm_pt_update(A, A, (t.l4 << PAGE_SHIFT) + 262 * 8, (mine << PAGE_SHIFT) | RWF, 0),
                     -XL_EINVAL);
    assert_int_equal(tab(t.l4)[262], hv_l4_entry(262));
    /* as the base pointer too (no pin first) */
    struct tree t2 = mktree(A);
    tab(t2.l4)[256] = (mine << PAGE_SHIFT) | ROF;
    assert_int_equal(mm_new_baseptr(&da->vcpus[0], t2.l4, 0), 0);
    assert_int_equal(tab(t2.l4)[256], hv_l4_entry(256));
    assert_int_equal(mm_unpin(A, t.l4), 0);
    mm_release_domain(da);
    assert_all_unreferenced();
}

/* 3: {UNPIN X, NEW_BASEPTR Y, CLEAR_PAGE X} with X the live cr3: the CPU
 * must be on Y before X loses its last type reference (and becomes a
 * clearable frame). */
static void test_new_baseptr_leaves_live_table_first(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t x = ht.l4;
    struct tree y = mktree(A);
    tab(y.l1)[1] = (hbuf << PAGE_SHIFT) | RWF; /* the argument page stays mapped */
    assert_int_equal(mm_pin(A, x, PGT_l4), 0);
    current = v;
    fake_hw_cr3 = v->cr3;
    watched_mfn = x;
    struct mmuext_op *op = buf();
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_UNPIN_TABLE, .arg1.mfn = x };
    op[1] = (struct mmuext_op){ .cmd = MMUEXT_NEW_BASEPTR, .arg1.mfn = y.l4 };
    op[2] = (struct mmuext_op){ .cmd = MMUEXT_CLEAR_PAGE, .arg1.mfn = x };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 3, 0, DOMID_SELF, 0), 0);
    assert_int_equal(fake_ptbase_writes, 1);
    assert_int_equal(fake_hw_cr3, y.l4 << PAGE_SHIFT);
    assert_int_equal(v->cr3, y.l4 << PAGE_SHIFT);
    assert_int_equal(watched_type_count_at_write, 1); /* X still typed when the CPU left it */
    assert_int_equal(pi(x)->type_count, 0);
    assert_int_equal(tab(x)[0], 0); /* cleared: it is not live any more */
    /* a vcpu that is not running: nothing loaded */
    current = NULL;
    assert_int_equal(mm_new_baseptr(v, x, 0), 0);
    assert_int_equal(fake_ptbase_writes, 1);
    mm_release_domain(da);
    assert_all_unreferenced();
}

/* 4: a frame given back while still mapped stays charged to the domain
 * until it is really freed: populate/map/decrease cannot grow past
 * max_pages. */
static void test_decrease_mapped_frame_keeps_quota(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t free0 = mm_free_count();
    da->max_pages = da->tot_pages + 1;
    uint64_t tot = da->tot_pages;
    rlist()[0] = 100;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 0, DOMID_SELF), 1);
    uint64_t m = rlist()[0];
    assert_int_equal(do_update_va_mapping(v, 0x2000, (m << PAGE_SHIFT) | ROF, 0, 0, 0), 0);
    rlist()[0] = m;
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 0, DOMID_SELF), 1);
    assert_int_equal(da->tot_pages, tot + 1);
    assert_int_equal(pi(m)->owner, A);
    /* giving it back twice changes nothing */
    assert_int_equal(reserve(v, XENMEM_decrease_reservation, 1, 0, DOMID_SELF), 1);
    assert_int_equal(da->tot_pages, tot + 1);
    /* the loop: populate again is refused, nothing more is taken */
    rlist()[0] = 101;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 0, DOMID_SELF), 0);
    assert_int_equal(mm_free_count(), free0 - 1);
    /* unmapped: freed and off the quota; populate works again */
    assert_int_equal(do_update_va_mapping(v, 0x2000, 0, 0, 0, 0), 0);
    assert_int_equal(pi(m)->owner, DOMID_FREE);
    assert_int_equal(da->tot_pages, tot);
    assert_int_equal(mm_free_count(), free0);
    rlist()[0] = 101;
    assert_int_equal(reserve(v, XENMEM_populate_physmap, 1, 0, DOMID_SELF), 1);
    mm_free_domain_frames(A);
    assert_all_unreferenced();
}

/* 4: destroy still returns a removed frame, whoever maps it. */
static void test_destroy_returns_removed_frames(void **state)
{
    (void)state;
    uint64_t free0 = mm_free_count();
    struct vcpu *v = guest(da);
    uint64_t m = frame(A), n = frame(A);
    /* m mapped by A itself, n mapped by privileged B */
    assert_int_equal(do_update_va_mapping(v, 0x2000, (m << PAGE_SHIFT) | RWF, 0, 0, 0), 0);
    struct tree tb = mktree(B);
    assert_int_equal(mm_pin(B, tb.l1, PGT_l1), 0);
    db->privileged = 1;
    assert_int_equal(mm_pt_update(B, A, (tb.l1 << PAGE_SHIFT) + 8, (n << PAGE_SHIFT) | ROF, 0), 0);
    assert_int_equal(mm_remove_page(da, m), 0);
    assert_int_equal(mm_remove_page(da, n), 0);
    assert_int_equal(pi(m)->flags, PGF_removed);
    mm_free_domain_frames(A);
    assert_int_equal(pi(m)->owner, DOMID_FREE);
    assert_int_equal(pi(n)->owner, DOMID_ORPHAN); /* B still maps it */
    assert_int_equal(pi(n)->flags, 0);
    mm_free_domain_frames(B);
    assert_int_equal(mm_free_count(), free0);
    assert_all_unreferenced();
}

/* ---- TLB flushes before a frame changes type or owner (tlbflush.c) ---- */

static void test_flush_decision_by_type(void **state)
{
    (void)state;
    static const unsigned int types[] = { PGT_l1, PGT_l2, PGT_l3, PGT_l4, PGT_writable,
                                          PGT_seg_desc };
    for (unsigned int i = 0; i < 6; i++) {
        /* never typed: checked too (its stamp 0 makes the check free) */
        assert_true(tlbflush_type_change_needs_flush(PGT_none, types[i]));
        for (unsigned int j = 0; j < 6; j++)
            assert_int_equal(tlbflush_type_change_needs_flush(types[i], types[j]), i != j);
    }
}

/* A review's sequence: X, an L1 hooked into a live L2 (so a CPU's
 * paging-structure cache may hold "this L2 slot -> X"), is unhooked
 * without a flush; the frame X maps is freed so that re-pinning X as an
 * L1 (same type: no flush) fails validation. X must not come out of that
 * looking never typed: its next use as a writable frame, where the guest
 * chooses every entry the stale cache would walk, must flush first. The
 * same one level up, with X an L2. */
static void failed_revalidation_then_write(unsigned int level)
{
    struct tree t = mktree(A);
    uint64_t x = frame(A), z = frame(A);
    uint64_t parent = level == 1 ? t.l2 : t.l3;
    tab(x)[0] = (z << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_pt_update(A, A, (parent << PAGE_SHIFT) + 8, (x << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(pi(x)->type, level);
    flush_tlb_local(); /* clean; then the guest walks through parent[1] -> X */
    int before = fake_tlb_flushes;
    assert_int_equal(mm_pt_update(A, A, (parent << PAGE_SHIFT) + 8, 0, 0), 0);
    assert_int_equal(pi(x)->type_count, 0);
    assert_int_equal(mm_remove_page(da, z), 0);
    assert_int_equal(pi(z)->owner, DOMID_FREE);
    assert_int_not_equal(mm_pin(A, x, level), 0);
    assert_int_equal(pi(x)->type, level); /* the last type is kept */
    assert_int_equal(fake_tlb_flushes, before);
    /* a plain write into X: it takes the writable type, which flushes */
    assert_int_equal(mm_pt_update(A, A, (x << PAGE_SHIFT) + 5 * 8, (3ULL << PAGE_SHIFT) | RWF, 0), 0);
    assert_int_equal(fake_tlb_flushes, before + 1);
    assert_int_equal(mm_unpin(A, t.l4), 0);
}

static void test_failed_revalidation_keeps_last_type_l1(void **state)
{
    (void)state;
    failed_revalidation_then_write(1);
}

static void test_failed_revalidation_keeps_last_type_l2(void **state)
{
    (void)state;
    failed_revalidation_then_write(2);
}

static void test_flush_clock_filter(void **state)
{
    (void)state;
    flush_tlb_local();
    uint64_t stamp = tlbflush_current_time();
    cpumask_t mask = 1;
    tlbflush_filter(&mask, stamp);
    /* the flush began at the stamp's time, so it may predate the stamp */
    assert_int_equal(mask, 1);
    int before = fake_tlb_flushes;
    assert_true(tlbflush_since(stamp));
    assert_int_equal(fake_tlb_flushes, before + 1);
    mask = 1;
    tlbflush_filter(&mask, stamp);
    assert_int_equal(mask, 0);
    assert_false(tlbflush_since(stamp));
    assert_false(tlbflush_since(0)); /* never stamped */
    assert_int_equal(fake_tlb_flushes, before + 1);
}

/* The review's sequence: a writable PTE removed without a flush
 * (update_va_mapping with UVMF_NONE), then the frame pinned as an L1.
 * The pin must flush before it validates, or the old writable TLB entry
 * writes into a validated page table. */
static void test_retype_after_unflushed_unmap_flushes(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t f = frame(A);
    tab(t.l1)[1] = (f << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    flush_tlb_local(); /* the CPU is clean up to here */
    int before = fake_tlb_flushes;
    assert_int_equal(mm_update_va(A, A, t.l4, 0x1000, (f << PAGE_SHIFT) | ROF), 0);
    assert_int_equal(pi(f)->type_count, 0);
    assert_int_equal(fake_tlb_flushes, before); /* UVMF_NONE: nothing flushed yet */
    assert_int_equal(mm_pin(A, f, PGT_l1), 0);
    assert_int_equal(fake_tlb_flushes, before + 1);
    assert_int_equal(mm_unpin(A, f), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x1000, 0), 0);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* A guest that flushed (or was switched out) since the unmap needs no
 * second flush; a frame that keeps its type needs none at all. */
static void test_no_flush_when_not_needed(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t f = frame(A), g = frame(A);
    tab(t.l1)[1] = (f << PAGE_SHIFT) | RWF;
    tab(t.l1)[2] = (g << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x1000, (f << PAGE_SHIFT) | ROF), 0);
    flush_tlb_local(); /* MMUEXT_TLB_FLUSH_LOCAL, or a context switch */
    int before = fake_tlb_flushes;
    assert_int_equal(mm_pin(A, f, PGT_l1), 0);
    assert_int_equal(fake_tlb_flushes, before);
    /* writable -> none -> writable again: same type, no flush */
    assert_int_equal(mm_update_va(A, A, t.l4, 0x2000, 0), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x2000, (g << PAGE_SHIFT) | RWF), 0);
    assert_int_equal(fake_tlb_flushes, before);
    assert_int_equal(mm_unpin(A, f), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x1000, 0), 0);
    assert_int_equal(mm_update_va(A, A, t.l4, 0x2000, 0), 0);
    assert_int_equal(mm_unpin(A, t.l4), 0);
    assert_all_unreferenced();
}

/* A page table that becomes writable may still sit in the paging-structure
 * caches: that type change flushes too, and so does a GDT frame's. */
static void test_table_or_gdt_to_writable_flushes(void **state)
{
    (void)state;
    uint64_t f = frame(A);
    flush_tlb_local();
    assert_int_equal(mm_pin(A, f, PGT_l1), 0);
    assert_int_equal(mm_unpin(A, f), 0);
    int before = fake_tlb_flushes;
    assert_int_equal(get_page_and_type(f, A, PGT_writable), 0);
    assert_int_equal(fake_tlb_flushes, before + 1);
    put_page_and_type(f);
    assert_int_equal(get_page_and_type(f, A, PGT_seg_desc), 0);
    assert_int_equal(fake_tlb_flushes, before + 2);
    put_page_and_type(f);
    assert_all_unreferenced();
}

/* A freed frame may still be in the old owner's TLB: whoever gets it next
 * (another domain, the hv) gets it only after a flush. */
static void test_freed_frame_flushed_before_reuse(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    uint64_t f = frame(A);
    tab(t.l1)[1] = (f << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_pin(A, t.l4, PGT_l4), 0);
    flush_tlb_local();
    assert_int_equal(mm_update_va(A, A, t.l4, 0x1000, 0), 0); /* UVMF_NONE */
    assert_int_equal(mm_remove_page(da, f), 0); /* decrease_reservation */
    assert_int_equal(pi(f)->owner, DOMID_FREE);
    int before = fake_tlb_flushes;
    int64_t m;
    while ((m = mm_alloc_frame(B)) >= 0 && (uint64_t)m != f)
        ; /* keep the others: the allocator must reach f */
    assert_int_equal(m, (int64_t)f);
    assert_true(fake_tlb_flushes >= before + 1);
    assert_int_equal(mm_unpin(A, t.l4), 0);
}

/* ---- preemptible validation (page_type.c: partial chains, the
 * devalidation queue, the work budget) ---- */

/* l4[0] -> l3[0] -> l2[0..BIG_L1) -> BIG_L1 L1s, each with 512 read-only
 * entries of one data frame: 512 * BIG_L1 present entries, more than one
 * budget (MM_WORK_BUDGET), so a budgeted pin stops inside an L1. */
#define BIG_L1 24
struct big { uint64_t l4, l3, l2, data, l1[BIG_L1]; };
static struct big mkbig(uint16_t d)
{
    struct big b = { frame(d), frame(d), frame(d), frame(d), { 0 } };
    tab(b.l4)[0] = (b.l3 << PAGE_SHIFT) | RWF;
    tab(b.l3)[0] = (b.l2 << PAGE_SHIFT) | RWF;
    for (unsigned int j = 0; j < BIG_L1; j++) {
        b.l1[j] = frame(d);
        tab(b.l2)[j] = (b.l1[j] << PAGE_SHIFT) | RWF;
        for (unsigned int k = 0; k < 512; k++)
            tab(b.l1[j])[k] = (b.data << PAGE_SHIFT) | ROF;
    }
    return b;
}

/* What a pin leaves: every frame's counts and flags, the tables' bytes. */
struct snap { struct page_info pi[NFRAMES]; uint64_t l4[512], l2[512], l1[512]; };
static struct snap snap_a, snap_b;
static void take_snap(struct snap *sn, const struct big *b)
{
    for (uint64_t m = 0; m < NFRAMES; m++)
        sn->pi[m] = *pi(m);
    memcpy(sn->l4, tab(b->l4), PAGE_SIZE);
    memcpy(sn->l2, tab(b->l2), PAGE_SIZE);
    memcpy(sn->l1, tab(b->l1[BIG_L1 - 1]), PAGE_SIZE);
}
static void assert_same_snap(const struct snap *x, const struct snap *y)
{
    for (uint64_t m = 0; m < NFRAMES; m++) {
        const struct page_info *p = &x->pi[m], *q = &y->pi[m];
        if (p->owner != q->owner || p->type != q->type || p->flags != q->flags ||
            p->type_count != q->type_count || p->count != q->count || p->linear != q->linear)
            fail_msg("mfn %lu differs: type %u/%u flags %u/%u type_count %u/%u count %u/%u",
                     (unsigned long)m, p->type, q->type, p->flags, q->flags, p->type_count,
                     q->type_count, p->count, q->count);
    }
    assert_memory_equal(x->l4, y->l4, PAGE_SIZE);
    assert_memory_equal(x->l2, y->l2, PAGE_SIZE);
    assert_memory_equal(x->l1, y->l1, PAGE_SIZE);
}

/* One budgeted call of op (a pin), as a continuation makes it. */
static int budgeted_pin(uint64_t mfn, unsigned int type)
{
    mm_preempt_begin();
    int rc = mm_pin(A, mfn, type);
    mm_preempt_end();
    return rc;
}
/* Drain A's devalidation queue budget by budget: the number of calls. */
static int drain_steps(void)
{
    int steps = 0, rc;
    do {
        mm_preempt_begin();
        rc = mm_deval_drain(da);
        mm_preempt_end();
        steps++;
        assert_true(steps < 10000);
    } while (rc == MM_ERESTART);
    assert_int_equal(rc, 0);
    return steps;
}

static void test_budgeted_pin_resumes_to_same_state(void **state)
{
    (void)state;
    struct big b = mkbig(A);
    /* The reference: all at once (no budget). */
    assert_int_equal(mm_pin(A, b.l4, PGT_l4), 0);
    take_snap(&snap_a, &b);
    assert_int_equal(mm_unpin(A, b.l4), 0);
    drain_steps(); /* an unbudgeted unpin drains one budget at most */
    assert_all_unreferenced();
    /* Budgeted: it stops part-way (inside an L1), is resumed, ends the same. */
    int rc, calls = 0, mid_l1 = 0;
    while ((rc = budgeted_pin(b.l4, PGT_l4)) == MM_ERESTART) {
        calls++;
        assert_true(calls < 1000);
        assert_int_equal(da->pt_partial, b.l4 + 1); /* the chain's top */
        assert_true(pi(b.l4)->flags & PGF_partial_top);
        assert_false(pi(b.l4)->flags & PGF_pinned);
        for (unsigned int j = 0; j < BIG_L1; j++)
            if ((pi(b.l1[j])->flags & PGF_partial) && pi(b.l1[j])->nr_validated > 0 &&
                pi(b.l1[j])->nr_validated < 512) {
                mid_l1 = 1;
                /* nor for the grant path's L1 writes: entry 511 holds no
                 * reference yet, rewriting it would drop one */
                uint64_t old;
                assert_int_equal(mm_l1_update(A, A, (b.l1[j] << PAGE_SHIFT) + 511 * 8, 0, &old),
                                 -XL_EINVAL);
            }
        /* A partial table is no table for updates. */
        assert_int_equal(mm_pt_update(A, A, (b.l4 << PAGE_SHIFT) + 8, 0, 0), -XL_EINVAL);
    }
    assert_int_equal(rc, 0);
    assert_true(calls >= 1);
    assert_true(mid_l1);
    assert_int_equal(da->pt_partial, 0);
    take_snap(&snap_b, &b);
    assert_same_snap(&snap_a, &snap_b);
    assert_int_equal(mm_unpin(A, b.l4), 0);
    drain_steps(); /* an unbudgeted unpin drains one budget at most */
    assert_all_unreferenced();
}

static void test_budgeted_pin_failure_unwinds(void **state)
{
    (void)state;
    struct big b = mkbig(A);
    /* The very last entry: a writable mapping of the L4 being validated. */
    tab(b.l1[BIG_L1 - 1])[511] = (b.l4 << PAGE_SHIFT) | RWF;
    int rc, calls = 0;
    while ((rc = budgeted_pin(b.l4, PGT_l4)) == MM_ERESTART)
        assert_true(++calls < 1000);
    assert_int_equal(rc, -XL_EBUSY); /* Xen 4.17's answer for that L1 entry */
    assert_true(calls >= 1);
    assert_int_equal(da->pt_partial, 0);
    assert_int_equal(pi(b.l4)->type_count, 0);
    assert_false(pi(b.l4)->flags & (PGF_pinned | PGF_partial));
    /* The references taken so far are dropped in steps, every one. */
    assert_true(drain_steps() >= 2);
    assert_all_unreferenced();
    /* Fixed, it pins (all at once) and gives everything back again. */
    tab(b.l1[BIG_L1 - 1])[511] = 0;
    assert_int_equal(mm_pin(A, b.l4, PGT_l4), 0);
    assert_int_equal(mm_unpin(A, b.l4), 0);
    drain_steps(); /* an unbudgeted unpin drains one budget at most */
    assert_all_unreferenced();
}

/* A caller without a budget (update_va_mapping, set_gdt, a grant map, a
 * host test's plain unpin) drains one budget of the queue at most: a
 * failed or dropped tree can hold millions of entries (attack_pt_deval:
 * draining it all at once held the big lock past the watchdog). */
static void test_unbudgeted_put_drains_one_budget(void **state)
{
    (void)state;
    struct big b = mkbig(A);
    assert_true(512u * BIG_L1 > MM_WORK_BUDGET);
    assert_int_equal(mm_pin(A, b.l4, PGT_l4), 0);
    assert_int_equal(mm_unpin(A, b.l4), 0);
    assert_true(mm_deval_pending(da));
    assert_true(pi(b.data)->count > 0);
    assert_true(drain_steps() >= 1);
    assert_all_unreferenced();
}

static void test_budgeted_unpin_devalidates_in_steps(void **state)
{
    (void)state;
    struct big b = mkbig(A);
    assert_int_equal(mm_pin(A, b.l4, PGT_l4), 0);
    mm_preempt_begin();
    assert_int_equal(mm_unpin(A, b.l4), 0);
    assert_true(mm_deval_pending(da));
    assert_int_equal(mm_deval_drain(da), MM_ERESTART);
    mm_preempt_end();
    /* Not all given back yet: the data frame is still mapped by L1s the
     * queue has not reached, each an untyped table with its entries. */
    assert_int_equal(pi(b.l4)->type_count, 0);
    assert_true(pi(b.data)->count > 0);
    assert_true(pi(b.l1[0])->flags & PGF_deval); /* queued last (entries go last first) */
    /* A frame on the queue that is wanted gives its own entries back
     * first (at most 512), whatever the queue's order. */
    uint32_t before = pi(b.data)->count;
    assert_int_equal(get_page_and_type(b.l1[0], A, PGT_writable), 0);
    assert_int_equal(pi(b.data)->count, before - 512);
    assert_false(pi(b.l1[0])->flags & PGF_deval);
    put_page_and_type(b.l1[0]);
    assert_true(drain_steps() >= 1);
    assert_all_unreferenced();
    assert_int_equal(get_page_and_type(b.l1[BIG_L1 - 1], A, PGT_writable), 0);
    put_page_and_type(b.l1[BIG_L1 - 1]);
    assert_all_unreferenced();
}

static void test_abandoned_chain_gives_back(void **state)
{
    (void)state;
    struct big b = mkbig(A);
    uint64_t other = frame(A);
    assert_int_equal(budgeted_pin(b.l4, PGT_l4), MM_ERESTART);
    assert_int_equal(da->pt_partial, b.l4 + 1);
    /* Another validation at the outermost level: the chain is given up. */
    assert_int_equal(budgeted_pin(other, PGT_l1), 0);
    assert_int_equal(da->pt_partial, 0);
    assert_false(pi(b.l4)->flags & (PGF_partial | PGF_partial_top));
    drain_steps();
    assert_int_equal(mm_unpin(A, other), 0);
    assert_all_unreferenced();
    /* A table inside a chain, wanted by someone else: the same. */
    while (budgeted_pin(b.l4, PGT_l4) == MM_ERESTART && !(pi(b.l2)->flags & PGF_partial))
        ;
    if (pi(b.l2)->flags & PGF_partial) {
        assert_int_equal(budgeted_pin(b.l2, PGT_l2), MM_ERESTART);
        assert_int_equal(da->pt_partial, b.l2 + 1); /* the l4's chain is gone */
        assert_false(pi(b.l4)->flags & (PGF_partial | PGF_partial_top));
        int rc;
        while ((rc = budgeted_pin(b.l2, PGT_l2)) == MM_ERESTART)
            ;
        assert_int_equal(rc, 0);
        assert_int_equal(da->pt_partial, 0);
        drain_steps();
        assert_int_equal(mm_unpin(A, b.l2), 0);
    } else {
        assert_int_equal(mm_unpin(A, b.l4), 0);
    }
    drain_steps();
    assert_all_unreferenced();
    /* And a dying domain's chain goes with its state. */
    assert_int_equal(budgeted_pin(b.l4, PGT_l4), MM_ERESTART);
    mm_release_domain(da);
    assert_int_equal(da->pt_partial, 0);
    assert_all_unreferenced();
}

static void test_relinquish_in_steps(void **state)
{
    (void)state;
    struct big b = mkbig(A);
    assert_int_equal(mm_pin(A, b.l4, PGT_l4), 0);
    uint64_t frames = 0, free_before = mm_free_count();
    for (uint64_t m = 0; m < NFRAMES; m++)
        frames += pi(m)->owner == A;
    da->destroy_stage = 1;
    int steps = 0, rc;
    do {
        mm_preempt_begin();
        rc = mm_relinquish_step(da);
        mm_preempt_end();
        assert_true(++steps < 10000);
    } while (rc == MM_ERESTART);
    assert_int_equal(rc, 0);
    assert_true(steps >= 2);
    assert_int_equal(da->destroy_freed, frames);
    assert_int_equal(mm_free_count(), free_before + frames);
    assert_all_unreferenced();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_validate_tree_and_release),
        T(test_entry_adjust),
        T(test_flush_decision_by_type),
        T(test_failed_revalidation_keeps_last_type_l1),
        T(test_failed_revalidation_keeps_last_type_l2),
        T(test_flush_clock_filter),
        T(test_retype_after_unflushed_unmap_flushes),
        T(test_no_flush_when_not_needed),
        T(test_table_or_gdt_to_writable_flushes),
        T(test_freed_frame_flushed_before_reuse),
        T(test_writable_map_of_own_pt_refused_validate),
        T(test_writable_self_map_refused),
        T(test_linear_self_l4_read_only),
        T(test_linear_self_writable_refused),
        T(test_linear_l3_and_l2_self),
        T(test_linear_same_level_other_table),
        T(test_linear_writable_refused),
        T(test_linear_unvalidated_or_other_level_refused),
        T(test_linear_other_owner_refused),
        T(test_linear_no_chains),
        T(test_linear_entry_via_pt_update),
        T(test_superpages_refused),
        T(test_hv_slots_not_validated),
        T(test_l1_other_owner_refused),
        T(test_io_frames_privileged_only),
        T(test_l2_entry_to_other_owner_refused),
        T(test_pin_of_writable_mapped_frame_refused),
        T(test_unpin_unpinned_refused),
        T(test_new_baseptr),
        T(test_pt_update_rules),
        T(test_pt_update_non_pt_frame),
        T(test_foreign_l1_mapping),
        T(test_update_va),
    T(test_l1_fast_same_frame_flags),
    T(test_l1_fast_same_frame_writable_pt_refused),
    T(test_l1_fast_same_frame_owner_checked),
    T(test_l1_walk_follows_table_changes),
    T(test_l1_update),
    T(test_guest_ptr),
        T(test_hc_mmu_update),
        T(test_hc_mmuext),
        T(test_hc_update_va_mapping),
        T(test_hc_memory_op),
        T(test_populate_orders),
        T(test_populate_order_above_limit_does_nothing),
        T(test_populate_max_pages_and_enomem),
        T(test_decrease_partial_extent),
        T(test_flush_cache_permission),
        T(test_destroy_returns_every_frame),
        T(test_destroy_audit_mapper_first),
        T(test_destroy_audit_mapped_first),
        T(test_destroy_with_seg_desc_still_held),
        T(test_m2p_init),
        T(test_l4_type_overwrites_hv_slots),
        T(test_new_baseptr_leaves_live_table_first),
        T(test_decrease_mapped_frame_keeps_quota),
        T(test_destroy_returns_removed_frames),
        T(test_budgeted_pin_resumes_to_same_state),
        T(test_budgeted_pin_failure_unwinds),
        T(test_unbudgeted_put_drains_one_budget),
        T(test_budgeted_unpin_devalidates_in_steps),
        T(test_abandoned_chain_gives_back),
        T(test_relinquish_in_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
