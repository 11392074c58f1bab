/*
 * test_p2m.c - host unit tests for the p2m table builder (cmocka,
 * ASan/UBSan), in both formats (NPT and EPT). The env hands out table
 * frames from an array of aligned 4 KiB buffers (mfn = index + FRAME_BASE),
 * counts allocations and frees, refuses a double or foreign free or map,
 * and can fail the Nth allocation. The tables are walked here by hand
 * with the architectural index math (guest-physical bits 47:39, 38:30,
 * 29:21, 20:12) and the raw 64-bit entries are checked bit for bit: RAM,
 * UC, read-only and no-exec leaves, intermediate entries; then lookup,
 * replace, clear, refusals (-EINVAL, -ENOENT), -ENOMEM at each depth with
 * nothing changed and nothing leaked, for_each order and early stop, gfns
 * in different PML4 slots, a 64 MiB range (exact table count), hardware
 * accessed/dirty bits, destroy, an unknown format, the EPT pointer.
 * Links: hv/arch/x86/hvm/p2m_pt.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/p2m.h>
#include <xenolith/errno.h>

/* ---- the env: NFRAMES table frames at mfn FRAME_BASE.. ---- */
#define NFRAMES    80
#define FRAME_BASE 0xabc00ull   /* not 0, several address bits set */

static uint64_t frames[NFRAMES][512] __attribute__((aligned(4096)));
static uint64_t snapshot[NFRAMES][512];
static int in_use[NFRAMES];
static unsigned int allocs, frees, fail_at, alloc_calls;
static uint64_t fake_ctx_tag;

static void env_reset(void)
{
    /* garbage, so a table that is not zeroed shows */
    memset(frames, 0xa5, sizeof(frames));
    memset(in_use, 0, sizeof(in_use));
    allocs = frees = fail_at = alloc_calls = 0;
}

static uint64_t env_alloc(void *ctx)
{
    assert_ptr_equal(ctx, &fake_ctx_tag);
    alloc_calls++;
    if (fail_at && alloc_calls == fail_at)
        return 0;
    for (unsigned int i = 0; i < NFRAMES; i++) {
        if (!in_use[i]) {
            in_use[i] = 1;
            memset(frames[i], 0, sizeof(frames[i]));
            allocs++;
            return FRAME_BASE + i;
        }
    }
    return 0;
}

static unsigned int frame_index(uint64_t mfn)
{
    assert_true(mfn >= FRAME_BASE && mfn < FRAME_BASE + NFRAMES);
    unsigned int i = (unsigned int)(mfn - FRAME_BASE);
    assert_true(in_use[i]);
    return i;
}

static void env_free(void *ctx, uint64_t mfn)
{
    assert_ptr_equal(ctx, &fake_ctx_tag);
    unsigned int i = frame_index(mfn); /* fails on a double or foreign free */
    in_use[i] = 0;
    memset(frames[i], 0x5a, sizeof(frames[i]));
    frees++;
}

static uint64_t *env_map(void *ctx, uint64_t mfn)
{
    assert_ptr_equal(ctx, &fake_ctx_tag);
    return frames[frame_index(mfn)];
}

static const struct p2m_env env = {
    .alloc_table = env_alloc, .free_table = env_free, .map = env_map, .ctx = &fake_ctx_tag,
};

static unsigned int frames_in_use(void)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < NFRAMES; i++)
        n += (unsigned int)in_use[i];
    return n;
}

static void new_table(struct p2m_table *p, enum p2m_format fmt)
{
    env_reset();
    assert_int_equal(p2m_init(p, fmt, &env), 0);
    assert_int_equal(p->nr_tables, 1);
    assert_int_equal(allocs, 1);
    assert_int_equal(p->root_mfn, FRAME_BASE);
}

/* destroy, and every frame allocated was freed exactly once */
static void end_table(struct p2m_table *p)
{
    p2m_destroy(p);
    assert_int_equal(p->root_mfn, 0);
    assert_int_equal(p->nr_tables, 0);
    assert_int_equal(frees, allocs);
    assert_int_equal(frames_in_use(), 0);
}

/* ---- the architectural walk, written independently of the builder ---- */
#define ADDR_MASK 0x000ffffffffff000ull
#define NPT_P   (1ull << 0)
#define NPT_RW  (1ull << 1)
#define NPT_US  (1ull << 2)
#define NPT_PWT (1ull << 3)
#define NPT_PCD (1ull << 4)
#define NPT_A   (1ull << 5)
#define NPT_D   (1ull << 6)
#define NPT_NX  (1ull << 63)
#define EPT_R   (1ull << 0)
#define EPT_W   (1ull << 1)
#define EPT_X   (1ull << 2)
#define EPT_WB  (6ull << 3)
#define EPT_UC  (0ull << 3)
#define EPT_IPAT (1ull << 6)

static int hw_present(enum p2m_format fmt, uint64_t e)
{
    return fmt == P2M_EPT ? (e & 7) != 0 : (e & 1) != 0;
}

static uint64_t *hw_table(uint64_t e)
{
    return env_map(&fake_ctx_tag, (e & ADDR_MASK) >> 12);
}

/* Slot pointers of gfn's entries at levels 4..1 (ent[4] .. ent[1]); the
 * levels below a missing entry are NULL. Returns the lowest level found. */
static int hw_walk(const struct p2m_table *p, uint64_t gfn, uint64_t *ent[5])
{
    uint64_t gpa = gfn << 12;
    unsigned int ix[5] = {0, (unsigned int)(gpa >> 12) & 511, (unsigned int)(gpa >> 21) & 511,
                          (unsigned int)(gpa >> 30) & 511, (unsigned int)(gpa >> 39) & 511};
    for (int l = 0; l < 5; l++)
        ent[l] = NULL;
    uint64_t *t = env_map(&fake_ctx_tag, p->root_mfn);
    for (int l = 4; l >= 1; l--) {
        ent[l] = &t[ix[l]];
        if (l == 1 || !hw_present(p->fmt, *ent[l]))
            return l;
        t = hw_table(*ent[l]);
    }
    return 1;
}

/* gfn's raw leaf (all intermediate entries must be present) */
static uint64_t hw_leaf(const struct p2m_table *p, uint64_t gfn)
{
    uint64_t *ent[5];
    assert_int_equal(hw_walk(p, gfn, ent), 1);
    return *ent[1];
}

/* an entry's bits other than the address */
static uint64_t intermediate(uint64_t e)
{
    return e & ~ADDR_MASK;
}

static unsigned int nonzero_entries(const uint64_t *t)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < 512; i++)
        n += t[i] != 0;
    return n;
}

static int count_fn(void *arg, uint64_t gfn, uint64_t mfn, unsigned int flags)
{
    (void)gfn;
    (void)mfn;
    (void)flags;
    (*(unsigned int *)arg)++;
    return 0;
}

static unsigned int count_leaves(const struct p2m_table *p)
{
    unsigned int n = 0;
    assert_int_equal(p2m_for_each(p, count_fn, &n), 0);
    return n;
}

/* gfn with distinct indices at every level: 1, 2, 3, 4 */
#define G1234 ((1ull << 27) | (2ull << 18) | (3ull << 9) | 4ull)
#define MAX_GFN ((1ull << P2M_GFN_BITS) - 1)
#define MAX_MFN ((1ull << 40) - 1)

/* ---- init and the EPT pointer ---- */

static void test_init_and_destroy(void **state)
{
    (void)state;
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        assert_int_equal(p.fmt, f);
        assert_int_equal(nonzero_entries(frames[0]), 0); /* zeroed root */
        assert_int_equal(p2m_lookup(&p, 0, NULL, NULL), -XL_ENOENT);
        end_table(&p);
        assert_int_equal(frees, 1);
        p2m_destroy(&p); /* again: nothing to free */
        assert_int_equal(frees, 1);
    }
}

static void test_init_nomem(void **state)
{
    (void)state;
    struct p2m_table p;
    env_reset();
    fail_at = 1;
    assert_int_equal(p2m_init(&p, P2M_EPT, &env), -XL_ENOMEM);
    assert_int_equal(p.root_mfn, 0);
    assert_int_equal(p.nr_tables, 0);
    p2m_destroy(&p);
    assert_int_equal(allocs, 0);
    assert_int_equal(frees, 0);
}

/* not a format: refused before anything is allocated */
static void test_init_bad_format(void **state)
{
    (void)state;
    struct p2m_table p;
    env_reset();
    assert_int_equal(p2m_init(&p, (enum p2m_format)7, &env), -XL_EINVAL);
    assert_int_equal(p.root_mfn, 0);
    assert_int_equal(p.nr_tables, 0);
    assert_int_equal(p2m_set(&p, 1, 1, P2M_R), -XL_EINVAL);
    p2m_destroy(&p);
    assert_int_equal(alloc_calls, 0);
    assert_int_equal(frees, 0);
}

static void test_ept_pointer(void **state)
{
    (void)state;
    struct p2m_table p;
    new_table(&p, P2M_EPT);
    assert_int_equal(p2m_ept_pointer(&p), (FRAME_BASE << 12) | 0x1e);
    assert_int_equal(p2m_ept_pointer(&p), 0xabc0001eull);
    end_table(&p);
}

/* ---- exact bits ---- */

static void test_npt_bits(void **state)
{
    (void)state;
    struct p2m_table p;
    new_table(&p, P2M_NPT);
    const uint64_t m = 0x123456789ull;

    assert_int_equal(p2m_set(&p, G1234, m, P2M_RWX), 0);
    assert_int_equal(p.nr_tables, 4);
    assert_int_equal(allocs, 4);

    uint64_t *ent[5];
    assert_int_equal(hw_walk(&p, G1234, ent), 1);
    /* intermediate entries: P|RW|US, pointing at freshly allocated frames */
    for (int l = 4; l >= 2; l--) {
        assert_int_equal(intermediate(*ent[l]), 0x7);
        uint64_t child = (*ent[l] & ADDR_MASK) >> 12;
        assert_true(child > FRAME_BASE && child < FRAME_BASE + 4);
    }
    /* exactly one entry per table, at the architectural index */
    assert_ptr_equal(ent[4], &frames[0][1]);
    assert_int_equal(nonzero_entries(frames[0]), 1);
    for (int l = 3; l >= 1; l--)
        assert_int_equal(nonzero_entries(hw_table(*ent[l + 1])), 1);
    assert_int_equal(ent[3] - hw_table(*ent[4]), 2);
    assert_int_equal(ent[2] - hw_table(*ent[3]), 3);
    assert_int_equal(ent[1] - hw_table(*ent[2]), 4);

    /* RAM, RWX: P|RW|US, no NX, no PCD/PWT */
    assert_int_equal(*ent[1], (m << 12) | NPT_P | NPT_RW | NPT_US);
    assert_int_equal(*ent[1], 0x123456789007ull);

    /* device memory, RW, no exec: P|RW|US|PWT|PCD|NX */
    assert_int_equal(p2m_set(&p, G1234 + 1, m, P2M_R | P2M_W | P2M_UC), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 1), (m << 12) | 0x1f | NPT_NX);
    assert_int_equal(hw_leaf(&p, G1234 + 1), 0x800012345678901full);
    /* UC and executable */
    assert_int_equal(p2m_set(&p, G1234 + 2, m, P2M_RWX | P2M_UC), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 2), (m << 12) | 0x1f);
    /* read-only, executable: P|US */
    assert_int_equal(p2m_set(&p, G1234 + 3, m, P2M_R | P2M_X), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 3), (m << 12) | NPT_P | NPT_US);
    /* read-only, no exec: P|US|NX */
    assert_int_equal(p2m_set(&p, G1234 + 4, m, P2M_R), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 4), (m << 12) | NPT_P | NPT_US | NPT_NX);
    /* RW, no exec */
    assert_int_equal(p2m_set(&p, G1234 + 5, m, P2M_R | P2M_W), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 5), (m << 12) | NPT_P | NPT_RW | NPT_US | NPT_NX);
    /* the largest mfn: bits 51:12 all set, nothing else touched */
    assert_int_equal(p2m_set(&p, G1234 + 6, MAX_MFN, P2M_RWX), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 6), ADDR_MASK | 0x7);

    assert_int_equal(p.nr_tables, 4);
    assert_int_equal(allocs, 4);
    end_table(&p);
}

static void test_ept_bits(void **state)
{
    (void)state;
    struct p2m_table p;
    new_table(&p, P2M_EPT);
    const uint64_t m = 0x123456789ull;

    assert_int_equal(p2m_set(&p, G1234, m, P2M_RWX), 0);
    assert_int_equal(p.nr_tables, 4);
    uint64_t *ent[5];
    assert_int_equal(hw_walk(&p, G1234, ent), 1);
    for (int l = 4; l >= 2; l--)
        assert_int_equal(intermediate(*ent[l]), 0x7); /* RWX, nothing else */
    assert_ptr_equal(ent[4], &frames[0][1]);
    assert_int_equal(ent[3] - hw_table(*ent[4]), 2);
    assert_int_equal(ent[2] - hw_table(*ent[3]), 3);
    assert_int_equal(ent[1] - hw_table(*ent[2]), 4);

    /* RAM: RWX | WB<<3 | IPAT */
    assert_int_equal(*ent[1], (m << 12) | EPT_R | EPT_W | EPT_X | EPT_WB | EPT_IPAT);
    assert_int_equal(*ent[1], 0x123456789077ull);
    /* device memory RW: UC (type 0) | IPAT, no X */
    assert_int_equal(p2m_set(&p, G1234 + 1, m, P2M_R | P2M_W | P2M_UC), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 1), (m << 12) | EPT_R | EPT_W | EPT_UC | EPT_IPAT);
    assert_int_equal(hw_leaf(&p, G1234 + 1), 0x123456789043ull);
    /* read-only executable RAM */
    assert_int_equal(p2m_set(&p, G1234 + 2, m, P2M_R | P2M_X), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 2), (m << 12) | 0x75);
    /* read-only, no exec */
    assert_int_equal(p2m_set(&p, G1234 + 3, m, P2M_R), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 3), (m << 12) | 0x71);
    /* RW no exec */
    assert_int_equal(p2m_set(&p, G1234 + 4, m, P2M_R | P2M_W), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 4), (m << 12) | 0x73);
    /* UC executable */
    assert_int_equal(p2m_set(&p, G1234 + 5, m, P2M_RWX | P2M_UC), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 5), (m << 12) | 0x47);
    /* the largest mfn */
    assert_int_equal(p2m_set(&p, G1234 + 6, MAX_MFN, P2M_R), 0);
    assert_int_equal(hw_leaf(&p, G1234 + 6), ADDR_MASK | 0x71);

    assert_int_equal(p.nr_tables, 4);
    end_table(&p);
}

/* ---- lookup, replace, clear ---- */

static const unsigned int valid_flags[] = {
    P2M_R, P2M_R | P2M_W, P2M_R | P2M_X, P2M_RWX,
    P2M_R | P2M_UC, P2M_R | P2M_W | P2M_UC, P2M_R | P2M_X | P2M_UC, P2M_RWX | P2M_UC,
};
#define NVALID (sizeof(valid_flags) / sizeof(valid_flags[0]))

static void test_lookup_after_set(void **state)
{
    (void)state;
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        for (unsigned int i = 0; i < NVALID; i++)
            assert_int_equal(p2m_set(&p, 0x1000 + i, 0x5000 + i * 7, valid_flags[i]), 0);
        for (unsigned int i = 0; i < NVALID; i++) {
            uint64_t mfn = 0;
            unsigned int fl = 0;
            assert_int_equal(p2m_lookup(&p, 0x1000 + i, &mfn, &fl), 0);
            assert_int_equal(mfn, 0x5000 + i * 7);
            assert_int_equal(fl, valid_flags[i]);
            /* either output may be NULL */
            assert_int_equal(p2m_lookup(&p, 0x1000 + i, NULL, &fl), 0);
            assert_int_equal(fl, valid_flags[i]);
            assert_int_equal(p2m_lookup(&p, 0x1000 + i, &mfn, NULL), 0);
            assert_int_equal(mfn, 0x5000 + i * 7);
        }
        /* neighbours and far-away gfns are not mapped */
        assert_int_equal(p2m_lookup(&p, 0x1000 + NVALID, NULL, NULL), -XL_ENOENT);
        assert_int_equal(p2m_lookup(&p, 0xfff, NULL, NULL), -XL_ENOENT);
        assert_int_equal(p2m_lookup(&p, 0x1000 + (1ull << 27), NULL, NULL), -XL_ENOENT);
        assert_int_equal(p2m_lookup(&p, MAX_GFN, NULL, NULL), -XL_ENOENT);
        assert_int_equal(p2m_lookup(&p, MAX_GFN + 1, NULL, NULL), -XL_ENOENT);
        assert_int_equal(p2m_lookup(&p, ~0ull, NULL, NULL), -XL_ENOENT);
        /* the extremes of the range */
        assert_int_equal(p2m_set(&p, 0, 0, P2M_R), 0);
        assert_int_equal(p2m_set(&p, MAX_GFN, MAX_MFN, P2M_RWX), 0);
        uint64_t mfn = 1;
        unsigned int fl;
        assert_int_equal(p2m_lookup(&p, 0, &mfn, &fl), 0);
        assert_int_equal(mfn, 0);
        assert_int_equal(fl, P2M_R);
        assert_int_equal(p2m_lookup(&p, MAX_GFN, &mfn, &fl), 0);
        assert_int_equal(mfn, MAX_MFN);
        assert_int_equal(fl, P2M_RWX);
        uint64_t *ent[5];
        assert_int_equal(hw_walk(&p, MAX_GFN, ent), 1);
        assert_ptr_equal(ent[4], &frames[0][511]);
        assert_int_equal(ent[1] - hw_table(*ent[2]), 511);
        end_table(&p);
    }
}

static void test_replace(void **state)
{
    (void)state;
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        assert_int_equal(p2m_set(&p, G1234, 0x111, P2M_RWX), 0);
        uint64_t before = hw_leaf(&p, G1234);
        unsigned int a = allocs;
        assert_int_equal(p2m_set(&p, G1234, 0x222, P2M_R | P2M_UC), 0);
        uint64_t after = hw_leaf(&p, G1234);
        assert_true(before != after);
        if (f == P2M_NPT)
            assert_int_equal(after, (0x222ull << 12) | NPT_P | NPT_US | NPT_PWT | NPT_PCD | NPT_NX);
        else
            assert_int_equal(after, (0x222ull << 12) | EPT_R | EPT_UC | EPT_IPAT);
        uint64_t mfn;
        unsigned int fl;
        assert_int_equal(p2m_lookup(&p, G1234, &mfn, &fl), 0);
        assert_int_equal(mfn, 0x222);
        assert_int_equal(fl, P2M_R | P2M_UC);
        /* back to RWX RAM: the old bits (NX, PCD...) are gone */
        assert_int_equal(p2m_set(&p, G1234, 0x111, P2M_RWX), 0);
        assert_int_equal(hw_leaf(&p, G1234), before);
        assert_int_equal(allocs, a);
        assert_int_equal(p.nr_tables, 4);
        end_table(&p);
    }
}

static void test_clear(void **state)
{
    (void)state;
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        assert_int_equal(p2m_set(&p, G1234, 0x333, P2M_RWX), 0);
        assert_int_equal(p2m_set(&p, G1234 + 1, 0x334, P2M_R), 0);
        uint64_t old = 0;
        assert_int_equal(p2m_clear(&p, G1234, &old), 0);
        assert_int_equal(old, 0x333);
        assert_int_equal(hw_leaf(&p, G1234), 0);
        assert_int_equal(p2m_lookup(&p, G1234, NULL, NULL), -XL_ENOENT);
        assert_int_equal(p2m_clear(&p, G1234, &old), -XL_ENOENT);
        assert_int_equal(old, 0x333); /* untouched on failure */
        /* the neighbour stays */
        assert_int_equal(p2m_lookup(&p, G1234 + 1, &old, NULL), 0);
        assert_int_equal(old, 0x334);
        /* old_mfn may be NULL */
        assert_int_equal(p2m_clear(&p, G1234 + 1, NULL), 0);
        assert_int_equal(p2m_lookup(&p, G1234 + 1, NULL, NULL), -XL_ENOENT);
        /* missing at every level */
        assert_int_equal(p2m_clear(&p, G1234 + 2, NULL), -XL_ENOENT);          /* leaf */
        assert_int_equal(p2m_clear(&p, G1234 + 512, NULL), -XL_ENOENT);        /* L2 entry */
        assert_int_equal(p2m_clear(&p, G1234 + (1ull << 18), NULL), -XL_ENOENT); /* L3 entry */
        assert_int_equal(p2m_clear(&p, G1234 + (1ull << 27), NULL), -XL_ENOENT); /* L4 entry */
        assert_int_equal(p2m_clear(&p, MAX_GFN + 1, NULL), -XL_ENOENT);
        /* empty intermediate tables stay until destroy */
        assert_int_equal(p.nr_tables, 4);
        assert_int_equal(frames_in_use(), 4);
        assert_int_equal(count_leaves(&p), 0);
        /* and are reused */
        assert_int_equal(p2m_set(&p, G1234, 0x335, P2M_R), 0);
        assert_int_equal(allocs, 4);
        end_table(&p);
    }
}

/* ---- refusals ---- */

static void test_einval(void **state)
{
    (void)state;
    static const unsigned int bad_flags[] = {
        0, P2M_W, P2M_X, P2M_W | P2M_X, P2M_UC, P2M_W | P2M_UC, P2M_X | P2M_UC,
        P2M_W | P2M_X | P2M_UC, P2M_RWX | 0x10, P2M_R | 0x80000000u, ~0u,
    };
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        assert_int_equal(p2m_set(&p, MAX_GFN + 1, 1, P2M_RWX), -XL_EINVAL);
        assert_int_equal(p2m_set(&p, 1ull << 40, 1, P2M_RWX), -XL_EINVAL);
        assert_int_equal(p2m_set(&p, ~0ull, 1, P2M_RWX), -XL_EINVAL);
        assert_int_equal(p2m_set(&p, 1, MAX_MFN + 1, P2M_RWX), -XL_EINVAL);
        assert_int_equal(p2m_set(&p, 1, 1ull << 52, P2M_RWX), -XL_EINVAL);
        assert_int_equal(p2m_set(&p, 1, ~0ull, P2M_RWX), -XL_EINVAL);
        for (unsigned int i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++)
            assert_int_equal(p2m_set(&p, 1, 1, bad_flags[i]), -XL_EINVAL);
        /* nothing allocated, nothing written */
        assert_int_equal(allocs, 1);
        assert_int_equal(p.nr_tables, 1);
        assert_int_equal(nonzero_entries(frames[0]), 0);
        /* a refused replace leaves the old entry */
        assert_int_equal(p2m_set(&p, 1, 9, P2M_RWX), 0);
        uint64_t e = hw_leaf(&p, 1);
        assert_int_equal(p2m_set(&p, 1, 10, P2M_W), -XL_EINVAL);
        assert_int_equal(p2m_set(&p, 1, MAX_MFN + 1, P2M_R), -XL_EINVAL);
        assert_int_equal(hw_leaf(&p, 1), e);
        end_table(&p);
    }
}

/* ---- -ENOMEM at each depth ---- */

/* Set gfn with the nth allocation from now failing: -ENOMEM, and every
 * frame in use before is byte for byte as it was, with no frame more in
 * use; nr_tables the same; lookup and for_each see nothing new. Then the
 * same set succeeds. */
static void set_fails_at(struct p2m_table *p, uint64_t gfn, unsigned int nth, unsigned int new_tables)
{
    unsigned int leaves = count_leaves(p);
    unsigned long tables = p->nr_tables;
    unsigned int used = frames_in_use();
    int was_used[NFRAMES];
    memcpy(was_used, in_use, sizeof(in_use));
    memcpy(snapshot, frames, sizeof(frames));

    fail_at = alloc_calls + nth;
    assert_int_equal(p2m_set(p, gfn, 0x777, P2M_RWX), -XL_ENOMEM);
    fail_at = 0;

    assert_int_equal(p->nr_tables, tables);
    assert_int_equal(frames_in_use(), used);
    for (unsigned int i = 0; i < NFRAMES; i++) {
        if (was_used[i]) {
            assert_true(in_use[i]);
            assert_memory_equal(frames[i], snapshot[i], sizeof(frames[i]));
        }
    }
    assert_int_equal(p2m_lookup(p, gfn, NULL, NULL), -XL_ENOENT);
    assert_int_equal(count_leaves(p), leaves);

    assert_int_equal(p2m_set(p, gfn, 0x777, P2M_RWX), 0);
    assert_int_equal(p->nr_tables, tables + new_tables);
    assert_int_equal(count_leaves(p), leaves + 1);
}

static void test_enomem_each_depth(void **state)
{
    (void)state;
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        /* empty table: L3, L2, L1 all missing; fail the 1st, 2nd, 3rd */
        for (unsigned int nth = 1; nth <= 3; nth++) {
            struct p2m_table p;
            new_table(&p, (enum p2m_format)f);
            set_fails_at(&p, G1234, nth, 3);
            end_table(&p);
        }
        /* populated table: one missing level, then two, then three */
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        assert_int_equal(p2m_set(&p, G1234, 0x100, P2M_RWX), 0);
        set_fails_at(&p, G1234 + 512, 1, 1);                /* L1 missing */
        for (unsigned int nth = 1; nth <= 2; nth++)         /* L2, L1 missing */
            set_fails_at(&p, G1234 + (nth << 18), nth, 2);
        for (unsigned int nth = 1; nth <= 3; nth++)         /* L3, L2, L1 missing */
            set_fails_at(&p, G1234 + (nth << 27), nth, 3);
        /* nothing missing: no allocation at all, so nothing to fail */
        fail_at = alloc_calls + 1;
        assert_int_equal(p2m_set(&p, G1234 + 7, 0x101, P2M_R), 0);
        fail_at = 0;
        assert_int_equal(p.nr_tables, 1 + 3 + 1 + 2 + 2 + 3 + 3 + 3);
        assert_int_equal(frames_in_use(), p.nr_tables);
        end_table(&p);
    }
}

/* ---- for_each ---- */

struct seen {
    unsigned int n, stop_after;
    uint64_t gfn[64], mfn[64];
    unsigned int flags[64];
};

static int record_fn(void *arg, uint64_t gfn, uint64_t mfn, unsigned int flags)
{
    struct seen *s = arg;
    assert_true(s->n < 64);
    s->gfn[s->n] = gfn;
    s->mfn[s->n] = mfn;
    s->flags[s->n] = flags;
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_for_each_order(void **state)
{
    (void)state;
    /* scrambled, across PML4 slots and every level's boundaries */
    static const uint64_t gfns[] = {
        (3ull << 27) | 5, 0, 1ull << 27, 511, 512, MAX_GFN, (2ull << 27) | (7ull << 18),
        (1ull << 18) - 1, 1ull << 18, G1234, (511ull << 27), 1,
    };
    const unsigned int n = sizeof(gfns) / sizeof(gfns[0]);
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        struct seen s = {0};
        assert_int_equal(p2m_for_each(&p, record_fn, &s), 0);
        assert_int_equal(s.n, 0);
        for (unsigned int i = 0; i < n; i++)
            assert_int_equal(p2m_set(&p, gfns[i], gfns[i] ^ 0xfff, valid_flags[i % NVALID]), 0);

        uint64_t sorted[sizeof(gfns) / sizeof(gfns[0])];
        memcpy(sorted, gfns, sizeof(gfns));
        qsort(sorted, n, sizeof(sorted[0]), cmp_u64);

        assert_int_equal(p2m_for_each(&p, record_fn, &s), 0);
        assert_int_equal(s.n, n);
        for (unsigned int i = 0; i < n; i++) {
            assert_int_equal(s.gfn[i], sorted[i]);
            assert_int_equal(s.mfn[i], sorted[i] ^ 0xfff);
            unsigned int k = 0;
            while (gfns[k] != sorted[i])
                k++;
            assert_int_equal(s.flags[i], valid_flags[k % NVALID]);
        }

        /* early stop: fn's value comes back, no further calls */
        struct seen t = {.stop_after = 3};
        assert_int_equal(p2m_for_each(&p, record_fn, &t), 42);
        assert_int_equal(t.n, 3);
        for (unsigned int i = 0; i < 3; i++)
            assert_int_equal(t.gfn[i], sorted[i]);
        struct seen u = {.stop_after = n};
        assert_int_equal(p2m_for_each(&p, record_fn, &u), 42);
        assert_int_equal(u.n, n);

        /* cleared entries are skipped */
        assert_int_equal(p2m_clear(&p, sorted[1], NULL), 0);
        struct seen v = {0};
        assert_int_equal(p2m_for_each(&p, record_fn, &v), 0);
        assert_int_equal(v.n, n - 1);
        assert_int_equal(v.gfn[0], sorted[0]);
        assert_int_equal(v.gfn[1], sorted[2]);
        end_table(&p);
    }
}

/* ---- PML4 slots ---- */

static void test_pml4_slots(void **state)
{
    (void)state;
    static const unsigned int slots[] = {0, 1, 255, 256, 300, 511};
    const unsigned int n = sizeof(slots) / sizeof(slots[0]);
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        struct p2m_table p;
        new_table(&p, (enum p2m_format)f);
        for (unsigned int i = 0; i < n; i++) {
            uint64_t gfn = ((uint64_t)slots[i] << 27) | ((uint64_t)i << 18) | ((uint64_t)i << 9) | i;
            assert_int_equal(p2m_set(&p, gfn, 0x40000 + i, P2M_RWX), 0);
            assert_int_equal(p.nr_tables, 1 + 3 * (i + 1));
        }
        /* the root holds exactly those slots, each its own L3 table */
        assert_int_equal(nonzero_entries(frames[0]), n);
        for (unsigned int i = 0; i < n; i++) {
            uint64_t e = frames[0][slots[i]];
            assert_true(hw_present(p.fmt, e));
            assert_int_equal(e & ~ADDR_MASK, 0x7);
            for (unsigned int j = 0; j < i; j++)
                assert_true((frames[0][slots[j]] & ADDR_MASK) != (e & ADDR_MASK));
            uint64_t gfn = ((uint64_t)slots[i] << 27) | ((uint64_t)i << 18) | ((uint64_t)i << 9) | i;
            uint64_t *ent[5];
            assert_int_equal(hw_walk(&p, gfn, ent), 1);
            assert_ptr_equal(ent[4], &frames[0][slots[i]]);
            assert_int_equal((*ent[1] & ADDR_MASK) >> 12, 0x40000 + i);
            uint64_t mfn;
            assert_int_equal(p2m_lookup(&p, gfn, &mfn, NULL), 0);
            assert_int_equal(mfn, 0x40000 + i);
        }
        end_table(&p);
        assert_int_equal(frees, 1 + 3 * n);
    }
}

/* ---- a 64 MiB range ---- */

static void map_range(enum p2m_format fmt, uint64_t base, unsigned long expect_tables)
{
    const uint64_t pages = (64ull << 20) >> 12; /* 16384 */
    struct p2m_table p;
    new_table(&p, fmt);
    for (uint64_t i = 0; i < pages; i++)
        assert_int_equal(p2m_set(&p, base + i, 0x900000 + i, P2M_RWX), 0);
    assert_int_equal(p.nr_tables, expect_tables);
    assert_int_equal(allocs, expect_tables);
    assert_int_equal(count_leaves(&p), pages);
    for (uint64_t i = 0; i < pages; i += 511) {
        uint64_t mfn;
        assert_int_equal(p2m_lookup(&p, base + i, &mfn, NULL), 0);
        assert_int_equal(mfn, 0x900000 + i);
    }
    assert_int_equal(p2m_lookup(&p, base - 1, NULL, NULL), -XL_ENOENT);
    assert_int_equal(p2m_lookup(&p, base + pages, NULL, NULL), -XL_ENOENT);
    end_table(&p);
    assert_int_equal(frees, expect_tables);
}

static void test_64mib(void **state)
{
    (void)state;
    for (int f = P2M_NPT; f <= P2M_EPT; f++) {
        /* at 1 GiB: root + 1 L3 + 1 L2 + 16384/512 = 32 L1 = 35 */
        map_range((enum p2m_format)f, 0x40000, 1 + 1 + 1 + 32);
        /* across a 1 GiB boundary (at 1 GiB - 32 MiB): two L2 tables = 36 */
        map_range((enum p2m_format)f, 0x40000 - 0x2000, 1 + 1 + 2 + 32);
        /* across a 512 GiB boundary: two L3 tables, two L2 tables = 37 */
        map_range((enum p2m_format)f, (1ull << 27) - 0x2000, 1 + 2 + 2 + 32);
        /* not 2 MiB aligned: 33 L1 tables = 36 */
        map_range((enum p2m_format)f, 0x40000 + 0x100, 1 + 1 + 1 + 33);
    }
}

/* ---- what the CPU writes into NPT entries ---- */

static void test_npt_accessed_dirty(void **state)
{
    (void)state;
    struct p2m_table p;
    new_table(&p, P2M_NPT);
    assert_int_equal(p2m_set(&p, G1234, 0x42, P2M_R | P2M_W), 0);
    uint64_t *ent[5];
    assert_int_equal(hw_walk(&p, G1234, ent), 1);
    for (int l = 4; l >= 2; l--)
        *ent[l] |= NPT_A;
    *ent[1] |= NPT_A | NPT_D;
    uint64_t mfn;
    unsigned int fl;
    assert_int_equal(p2m_lookup(&p, G1234, &mfn, &fl), 0);
    assert_int_equal(mfn, 0x42);
    assert_int_equal(fl, P2M_R | P2M_W);
    struct seen s = {0};
    assert_int_equal(p2m_for_each(&p, record_fn, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.mfn[0], 0x42);
    assert_int_equal(s.flags[0], P2M_R | P2M_W);
    /* a set below the accessed intermediate entries finds them */
    assert_int_equal(p2m_set(&p, G1234 + 1, 0x43, P2M_RWX), 0);
    assert_int_equal(allocs, 4);
    assert_int_equal(p2m_clear(&p, G1234, &mfn), 0);
    assert_int_equal(mfn, 0x42);
    end_table(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_destroy),
        cmocka_unit_test(test_init_nomem),
        cmocka_unit_test(test_init_bad_format),
        cmocka_unit_test(test_ept_pointer),
        cmocka_unit_test(test_npt_bits),
        cmocka_unit_test(test_ept_bits),
        cmocka_unit_test(test_lookup_after_set),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_einval),
        cmocka_unit_test(test_enomem_each_depth),
        cmocka_unit_test(test_for_each_order),
        cmocka_unit_test(test_pml4_slots),
        cmocka_unit_test(test_64mib),
        cmocka_unit_test(test_npt_accessed_dirty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
