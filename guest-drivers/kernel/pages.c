/*
 * pages.c - a kit kernel's free memory beyond its bootstrap mapping
 * (pages.h): a first-fit bitmap over the pfns between the end of the
 * bootstrap area and the page-table reserve at the top, mapped at
 * GUEST_VIRT_BASE + pfn pages as allocations first reach them.
 * Owns: the bitmap, the mappings it adds, the page-table pages of the
 * reserve. Must never: map a page-table page writable (the reserve is
 * outside the allocatable range and never mapped), touch a pfn of the
 * bootstrap area, or map past the top of the address space (only the
 * 2 GiB from GUEST_VIRT_BASE are used: larger domains give the rest up).
 * Under PVH (xlguest/platform.h) the range is the RAM after everything
 * the loader placed (pvh.c) up to 1 GiB, its non-RAM holes marked used,
 * all of it already mapped by the boot page tables: nothing is mapped, no
 * reserve is kept.
 */
#include <xenolith/lib.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/m2p.h>
#include <xlguest/pages.h>
#include <xlguest/platform.h>

#define PTE_FLAGS  0x67ULL /* present, writable, user, accessed, dirty */
#define PTE_P      0x1ULL
#define PTE_ADDR   0x000ffffffffff000ULL
#define DM_PAGES   (1ULL << 19) /* GUEST_VIRT_BASE .. 2^64 */
#define DM_CHUNKS  (DM_PAGES >> 9)
#define BATCH      64

static int inited;
static uint64_t base, end;        /* allocatable [base, end) */
static uint64_t tbl_min, tbl_next; /* reserve [tbl_min, limit), taken downwards */
static uint64_t mapped_hi;        /* [base, mapped_hi) is mapped */
static uint64_t nfree;
static uint64_t used[DM_PAGES / 64];
static uint64_t chunk_l1[DM_CHUNKS];   /* mfn of the L1 of each 2 MiB, 0 unknown */
static uint64_t l2_mfn[2];             /* L3 slots 510 and 511 */
static const uint64_t *l2_va[2];       /* readable if a bootstrap table */
static int l2_known[2];
static mmu_update_t batch[BATCH];
static unsigned int nbatch;
static int failed;

static uint64_t p2m(uint64_t pfn)
{
    return ((const uint64_t *)start_info->mfn_list)[pfn];
}

static void init(void)
{
    const start_info_t *si = start_info;
    inited = 1;
    if (xl_is_pvh) {
        base = xl_pvh_free_start_pfn;
        end = xl_pvh_free_end_pfn < DM_PAGES ? xl_pvh_free_end_pfn : DM_PAGES;
        if (end <= base)
            end = base;
        mapped_hi = end;
        nfree = end - base;
        for (uint64_t p = base; p < end; p++)
            if (!xl_pvh_is_ram(p)) { /* holes of the memory map: never handed out */
                used[p >> 6] |= 1ULL << (p & 63);
                nfree--;
            }
        return;
    }
    if (!si || si->pt_base < GUEST_VIRT_BASE)
        return;
    uint64_t limit = si->nr_pages < DM_PAGES ? si->nr_pages : DM_PAGES;
    /* After the page tables: the boot stack and, in a toolstack-built
     * domU, the xenstore and console pages. */
    uint64_t first = ((si->pt_base - GUEST_VIRT_BASE) >> 12) + si->nr_pt_frames + 3;
    if (first >= limit)
        return;
    /* One L1 per 2 MiB that may be mapped, and up to two L2s. */
    uint64_t reserve = (limit >> 9) - (first >> 9) + 1 + 2;
    if (limit - first <= reserve + 16)
        return;
    tbl_min = tbl_next = limit;
    tbl_min -= reserve;
    base = mapped_hi = first;
    end = tbl_min;
    nfree = end - base;
}

static void fail(const char *what, long rc)
{
    if (!failed)
        printk("pages: %s failed (%ld); no more memory from the allocator\n", what, rc);
    failed = 1;
}

static int flush(void)
{
    if (!nbatch)
        return 0;
    long rc = HYPERVISOR_mmu_update(batch, nbatch, NULL, DOMID_SELF);
    nbatch = 0;
    if (rc)
        fail("mmu_update of a new mapping", rc);
    return rc ? -1 : 0;
}

/* A zeroed page-table page from the reserve: its mfn, 0 if none left. */
static uint64_t table_page(void)
{
    if (tbl_next <= tbl_min) {
        fail("page-table reserve", -1);
        return 0;
    }
    uint64_t mfn = p2m(--tbl_next);
    struct mmuext_op op = { .cmd = MMUEXT_CLEAR_PAGE, .arg1.mfn = mfn };
    long rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    if (rc) {
        fail("MMUEXT_CLEAR_PAGE", rc);
        return 0;
    }
    return mfn;
}

/* Set entry idx of the table at mfn to point at child (validated by the
 * hypervisor as the next level down). */
static int hook(uint64_t table_mfn, unsigned int idx, uint64_t child_mfn)
{
    mmu_update_t u = { .ptr = (table_mfn << 12) | (idx * 8u) | MMU_NORMAL_PT_UPDATE,
                       .val = (child_mfn << 12) | PTE_FLAGS };
    long rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
    if (rc)
        fail("mmu_update of a page-table entry", rc);
    return rc ? -1 : 0;
}

/* The L2 behind L3 slot 510 + s (s = 0, 1) of the kernel's L4 slot 511. */
static int find_l2(unsigned int s)
{
    if (l2_known[s])
        return 0;
    const uint64_t *l4 = (const uint64_t *)start_info->pt_base;
    uint64_t l3_mfn = (l4[511] & PTE_ADDR) >> 12;
    const uint64_t *l3 = guest_mfn_to_virt(start_info, l3_mfn);
    if (!(l4[511] & PTE_P) || !l3) {
        fail("finding the bootstrap L3", -1);
        return -1;
    }
    uint64_t e = l3[510 + s];
    if (e & PTE_P) {
        l2_mfn[s] = (e & PTE_ADDR) >> 12;
        l2_va[s] = guest_mfn_to_virt(start_info, l2_mfn[s]);
        if (!l2_va[s]) {
            fail("finding a bootstrap L2", -1);
            return -1;
        }
    } else {
        uint64_t mfn = table_page();
        if (!mfn || hook(l3_mfn, 510 + s, mfn))
            return -1;
        l2_mfn[s] = mfn;
        l2_va[s] = NULL; /* ours: every entry starts empty */
    }
    l2_known[s] = 1;
    return 0;
}

/* The L1 that maps 2 MiB chunk c of the direct map, made if missing. */
static uint64_t l1_of(uint64_t c)
{
    if (chunk_l1[c])
        return chunk_l1[c];
    unsigned int s = (unsigned int)(c >> 9), i = (unsigned int)(c & 511);
    if (find_l2(s))
        return 0;
    if (l2_va[s] && (l2_va[s][i] & PTE_P)) {
        chunk_l1[c] = (l2_va[s][i] & PTE_ADDR) >> 12;
        return chunk_l1[c];
    }
    if (flush())
        return 0;
    uint64_t mfn = table_page();
    if (!mfn || hook(l2_mfn[s], i, mfn))
        return 0;
    chunk_l1[c] = mfn;
    return mfn;
}

static int map_upto(uint64_t hi)
{
    for (uint64_t pfn = mapped_hi; pfn < hi; pfn++) {
        uint64_t l1 = l1_of(pfn >> 9);
        if (!l1)
            return -1;
        batch[nbatch].ptr = (l1 << 12) | ((pfn & 511) * 8) | MMU_NORMAL_PT_UPDATE;
        batch[nbatch].val = (p2m(pfn) << 12) | PTE_FLAGS;
        if (++nbatch == BATCH && flush())
            return -1;
    }
    if (flush())
        return -1;
    mapped_hi = hi;
    return 0;
}

static int is_used(uint64_t pfn)
{
    return (used[pfn >> 6] >> (pfn & 63)) & 1;
}

static void mark(uint64_t from, uint64_t n, int on)
{
    for (uint64_t p = from; p < from + n; p++) {
        if (on)
            used[p >> 6] |= 1ULL << (p & 63);
        else
            used[p >> 6] &= ~(1ULL << (p & 63));
    }
}

void *pages_alloc(uint64_t n)
{
    if (!inited)
        init();
    if (!n || failed || n > nfree)
        return NULL;
    uint64_t run = 0, start = 0;
    for (uint64_t p = base; p < end; p++) {
        if (!(p & 63) && used[p >> 6] == ~0ULL) {
            run = 0;
            p += 63;
            continue;
        }
        if (is_used(p)) {
            run = 0;
            continue;
        }
        if (!run)
            start = p;
        if (++run == n)
            break;
    }
    if (run < n)
        return NULL;
    if (start + n > mapped_hi && map_upto(start + n))
        return NULL;
    mark(start, n, 1);
    nfree -= n;
    return (void *)(GUEST_VIRT_BASE + (start << 12));
}

void pages_free(void *p, uint64_t n)
{
    if (!p || !n)
        return;
    uint64_t pfn = ((uint64_t)p - GUEST_VIRT_BASE) >> 12;
    if (pfn < base || pfn + n > end || pfn + n < pfn) {
        printk("pages: free of %p (+%lu pages) outside the allocator ignored\n", p,
               (unsigned long)n);
        return;
    }
    mark(pfn, n, 0);
    nfree += n;
}

uint64_t pages_free_count(void)
{
    if (!inited)
        init();
    return failed ? 0 : nfree;
}

uint64_t pages_total(void)
{
    if (!inited)
        init();
    return end - base;
}
