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

#define NFRAMES    1024
#define FIRST_FREE 16
#define RWF (PTE_P | PTE_RW | PTE_US | PTE_A)
#define ROF (PTE_P | PTE_US | PTE_A)

/* ---- mocks ---- */
static uint8_t *mem;
static uint64_t *bitmap;
static int tlb_flushes, invlpgs, cache_flushes;
static uint64_t hv_slot_set[512];

void *mfn_to_virt(uint64_t mfn)
{
    if (mfn >= NFRAMES)
        fail_msg("mfn_to_virt(%#lx) outside the fake memory", (unsigned long)mfn);
    return mem + mfn * PAGE_SIZE;
}
uint64_t virt_to_mfn(const void *va) { return (uint64_t)((const uint8_t *)va - mem) >> PAGE_SHIFT; }
void printk(const char *fmt, ...) { (void)fmt; }
void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fail_msg("panic: %s", buf);
    abort();
}
struct domain domains[MAX_DOMAINS];
struct vcpu *current;
struct domain *domain_by_id(uint16_t id)
{
    return id < MAX_DOMAINS && domains[id].state != DOM_FREE ? &domains[id] : NULL;
}
void pv_update_cr3(struct vcpu *v) { v->cr3 = v->guest_table << PAGE_SHIFT; }
void arch_flush_tlb(void) { tlb_flushes++; }
void arch_invlpg(uint64_t va) { (void)va; invlpgs++; }
void arch_flush_cache(void) { cache_flushes++; }
void arch_leave_guest_page_tables(void) {}
void arch_set_hv_l4_slot(unsigned int slot, uint64_t e) { hv_slot_set[slot & 511] = e; }

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
    d->vcpu.domain = d;
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
    mem = aligned_alloc(PAGE_SIZE, (size_t)NFRAMES * PAGE_SIZE);
    frame_table = calloc(NFRAMES, sizeof(*frame_table));
    bitmap = calloc(1, page_alloc_bitmap_bytes(NFRAMES));
    assert_non_null(mem);
    memset(mem, 0xEE, (size_t)NFRAMES * PAGE_SIZE);
    max_mfn = NFRAMES;
    page_alloc_init(&hv_pages, bitmap, 0, NFRAMES);
    page_alloc_add_free(&hv_pages, FIRST_FREE, NFRAMES - FIRST_FREE);
    for (uint64_t m = 0; m < NFRAMES; m++)
        frame_table[m] = (struct page_info){ .owner = m < FIRST_FREE ? DOMID_HV_OWNED : DOMID_FREE };
    m2p_table = NULL;
    m2p_bytes = 0;
    memset(domains, 0, sizeof(domains));
    memset(hv_slot_set, 0, sizeof(hv_slot_set));
    tlb_flushes = invlpgs = cache_flushes = 0;
    da = mkdom(A, 0);
    db = mkdom(B, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(mem);
    free(frame_table);
    free(bitmap);
    return 0;
}

/* No frame of a domain holds a type or a reference. */
static void assert_all_unreferenced(void)
{
    for (uint64_t m = 0; m < NFRAMES; m++) {
        if (pi(m)->count || pi(m)->type_count || pi(m)->flags)
            fail_msg("mfn %lu: count %u type_count %u flags %u", (unsigned long)m, pi(m)->count,
                     pi(m)->type_count, pi(m)->flags);
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
    assert_int_equal(pi(t.l1)->type, PGT_none);
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

static void test_linear_pt_refused(void **state)
{
    (void)state;
    struct tree t = mktree(A);
    tab(t.l4)[1] = (t.l4 << PAGE_SHIFT) | ROF; /* recursive L4 slot */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EINVAL);
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
    tab(t.l1)[1] = ((uint64_t)NFRAMES << PAGE_SHIFT) | ROF; /* beyond max_mfn */
    assert_int_equal(get_page_and_type(t.l4, A, PGT_l4), -XL_EBUSY);
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
    struct vcpu *v = &da->vcpu;
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
    assert_int_equal(tab(t.l1)[1], (pg << PAGE_SHIFT) | RWF);
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

/* ---- hypercalls through fake guest memory ---- */
#define BUF_VA 0x1000ULL /* l1 slot 1: a writable page for arguments */
static struct tree ht;
static uint64_t hbuf;

static struct vcpu *guest(struct domain *d)
{
    ht = mktree(d->domid);
    hbuf = frame(d->domid);
    tab(ht.l1)[1] = (hbuf << PAGE_SHIFT) | RWF;
    assert_int_equal(mm_new_baseptr(&d->vcpu, ht.l4, 0), 0);
    return &d->vcpu;
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
    assert_int_equal(tlb_flushes, 1);
    assert_int_equal(invlpgs, 1);
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
    assert_int_equal(mm_vcpu_ldt(A)->linear_addr, 0x10000);
    assert_int_equal(mm_vcpu_ldt(A)->nr_ents, 16);
    op[0].arg1.linear_addr = 0x10008;
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_EINVAL);
    op[0] = (struct mmuext_op){ .cmd = 99 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, DOMID_SELF, 0), -XL_ENOSYS);
    op[0] = (struct mmuext_op){ .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = l1 };
    assert_int_equal(do_mmuext_op(v, BUF_VA, 1, 0, B, 0), -XL_EPERM);
    uint64_t before = mm_free_count();
    assert_int_equal(mm_free_domain_frames(A), 8); /* 4 tables, buf, l1, src, dst */
    assert_int_equal(mm_free_count(), before + 8);
    assert_int_equal(mm_vcpu_ldt(A)->nr_ents, 0);
    assert_all_unreferenced();
}

static void test_hc_update_va_mapping(void **state)
{
    (void)state;
    struct vcpu *v = guest(da);
    uint64_t pg = frame(A);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (ht.l2 << PAGE_SHIFT) | RWF, UVMF_INVLPG, 0, 0), -XL_EBUSY);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (pg << PAGE_SHIFT) | RWF, UVMF_INVLPG, 0, 0), 0);
    assert_int_equal(invlpgs, 1);
    assert_int_equal(do_update_va_mapping(v, 0x2000, (pg << PAGE_SHIFT) | ROF, UVMF_TLB_FLUSH | UVMF_ALL, 0, 0), 0);
    assert_int_equal(tlb_flushes, 1);
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
    assert_int_equal(mm->v_end, M2P_BASE + 2 * PAGE_SIZE);
    assert_int_equal(mm->max_mfn, 1023);
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
    assert_int_equal(do_memory_op(v, XENMEM_populate_physmap, BUF_VA, 0, 0, 0), -XL_EINVAL);
    /* decrease: m1 unreferenced -> freed; m0 mapped -> orphaned until unmapped */
    assert_int_equal(do_update_va_mapping(v, 0x2000, (m0 << PAGE_SHIFT) | RWF, 0, 0, 0), 0);
    r->extent_order = 0;
    r->nr_extents = 3;
    list[0] = m1, list[1] = m0, list[2] = hbuf + 500; /* the last is not ours */
    uint64_t before = mm_free_count();
    assert_int_equal(do_memory_op(v, XENMEM_decrease_reservation, BUF_VA, 0, 0, 0), 2);
    assert_int_equal(da->tot_pages, tot);
    assert_int_equal(pi(m1)->owner, DOMID_FREE);
    assert_int_equal(m2p[m1], ~0ULL);
    assert_int_equal(pi(m0)->owner, DOMID_ORPHAN);
    assert_int_equal(m2p[m0], ~0ULL);
    assert_int_equal(mm_free_count(), before + 1);
    assert_false(page_alloc_is_free(&hv_pages, m0));
    assert_int_equal(do_update_va_mapping(v, 0x2000, 0, 0, 0, 0), 0);
    assert_int_equal(pi(m0)->owner, DOMID_FREE);
    assert_int_equal(mm_free_count(), before + 2);
    /* memory_map: one RAM entry of max_pages */
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
    uint64_t l4e = hv_slot_set[256];
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

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_validate_tree_and_release),
        T(test_writable_map_of_own_pt_refused_validate),
        T(test_writable_self_map_refused),
        T(test_linear_pt_refused),
        T(test_superpages_refused),
        T(test_hv_slots_not_validated),
        T(test_l1_other_owner_refused),
        T(test_l2_entry_to_other_owner_refused),
        T(test_pin_of_writable_mapped_frame_refused),
        T(test_unpin_unpinned_refused),
        T(test_new_baseptr),
        T(test_pt_update_rules),
        T(test_pt_update_non_pt_frame),
        T(test_foreign_l1_mapping),
        T(test_update_va),
        T(test_hc_mmu_update),
        T(test_hc_mmuext),
        T(test_hc_update_va_mapping),
        T(test_hc_memory_op),
        T(test_destroy_returns_every_frame),
        T(test_m2p_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
