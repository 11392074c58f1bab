/*
 * p2m_pt.c - an HVM domain's guest-physical -> machine table (see p2m.h)
 * in AMD's nested-paging format (NPT: long-mode PTEs) or Intel's EPT
 * format: 4 levels, 4 KiB leaves only. Pure C: every table frame comes
 * from, goes back to and is reached through the caller's p2m_env.
 * Owns: the table frames it allocated (counted in nr_tables) and the bit
 * layout of the entries it writes. Must never: free a frame it did not
 * allocate, or one twice; write an entry that points outside 52 bits of
 * physical address; leave a visible half-done change when it refuses
 * (-EINVAL, -ENOMEM). Flushing the TLBs (INVEPT, the ASID) after a
 * replace or clear is the caller's job.
 */
#include <stddef.h>
#include <xenolith/p2m.h>
#include <xenolith/errno.h>

#define ENTRIES     512u
#define ADDR_MASK   0x000ffffffffff000ull   /* bits 51:12 */
#define MFN_BITS    40                      /* 52-bit physical addresses */

/* NPT (long-mode PTE) bits */
#define NPT_P       (1ull << 0)
#define NPT_RW      (1ull << 1)
#define NPT_US      (1ull << 2)
#define NPT_PWT     (1ull << 3)
#define NPT_PCD     (1ull << 4)
#define NPT_NX      (1ull << 63)
#define NPT_TABLE   (NPT_P | NPT_RW | NPT_US)

/* EPT bits */
#define EPT_R       (1ull << 0)
#define EPT_W       (1ull << 1)
#define EPT_X       (1ull << 2)
#define EPT_RWX     (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3
#define EPT_MT_MASK (7ull << EPT_MT_SHIFT)
#define EPT_MT_UC   0ull
#define EPT_MT_WB   6ull
#define EPT_IPAT    (1ull << 6)
#define EPT_TABLE   EPT_RWX

/* The index of gfn's entry in the table at level (4 = PML4 .. 1 = PT):
 * guest-physical address bits 47:39, 38:30, 29:21, 20:12. */
static unsigned int idx(uint64_t gfn, int level)
{
    return (unsigned int)(gfn >> (9 * (level - 1))) & (ENTRIES - 1);
}

static int present(const struct p2m_table *p, uint64_t e)
{
    return p->fmt == P2M_EPT ? (e & EPT_RWX) != 0 : (e & NPT_P) != 0;
}

static uint64_t table_entry(const struct p2m_table *p, uint64_t mfn)
{
    return (mfn << 12) | (p->fmt == P2M_EPT ? EPT_TABLE : NPT_TABLE);
}

static uint64_t leaf_entry(const struct p2m_table *p, uint64_t mfn, unsigned int flags)
{
    uint64_t e = mfn << 12;
    if (p->fmt == P2M_EPT) {
        if (flags & P2M_R)
            e |= EPT_R;
        if (flags & P2M_W)
            e |= EPT_W;
        if (flags & P2M_X)
            e |= EPT_X;
        e |= ((flags & P2M_UC) ? EPT_MT_UC : EPT_MT_WB) << EPT_MT_SHIFT;
        e |= EPT_IPAT;
    } else {
        /* U/S always: the CPU's nested walk is a user access. */
        e |= NPT_P | NPT_US;
        if (flags & P2M_W)
            e |= NPT_RW;
        if (!(flags & P2M_X))
            e |= NPT_NX;
        if (flags & P2M_UC)
            e |= NPT_PCD | NPT_PWT;
    }
    return e;
}

/* A present leaf's flags (accessed/dirty bits the CPU set are ignored). */
static unsigned int leaf_flags(const struct p2m_table *p, uint64_t e)
{
    unsigned int f = 0;
    if (p->fmt == P2M_EPT) {
        if (e & EPT_R)
            f |= P2M_R;
        if (e & EPT_W)
            f |= P2M_W;
        if (e & EPT_X)
            f |= P2M_X;
        if (((e & EPT_MT_MASK) >> EPT_MT_SHIFT) == EPT_MT_UC)
            f |= P2M_UC;
    } else {
        f |= P2M_R;
        if (e & NPT_RW)
            f |= P2M_W;
        if (!(e & NPT_NX))
            f |= P2M_X;
        if (e & NPT_PCD)
            f |= P2M_UC;
    }
    return f;
}

static uint64_t entry_mfn(uint64_t e)
{
    return (e & ADDR_MASK) >> 12;
}

static uint64_t *map(const struct p2m_table *p, uint64_t mfn)
{
    return p->env.map(p->env.ctx, mfn);
}

/* One 64-bit store the CPU's walker sees whole; not reordered by the
 * compiler before the stores that filled what it points to. */
static void write_entry(uint64_t *slot, uint64_t e)
{
    __atomic_store_n(slot, e, __ATOMIC_RELEASE);
}

static uint64_t read_entry(const uint64_t *slot)
{
    return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

/* A fresh table frame, zeroed (again: cheap, and a stale entry would be
 * a mapping nobody made). 0 when memory is short; a frame the entries
 * cannot address is given back and counts as short too. */
static uint64_t new_table(struct p2m_table *p)
{
    uint64_t mfn = p->env.alloc_table(p->env.ctx);
    if (mfn == 0)
        return 0;
    if (mfn >> MFN_BITS) {
        p->env.free_table(p->env.ctx, mfn);
        return 0;
    }
    uint64_t *t = map(p, mfn);
    for (unsigned int i = 0; i < ENTRIES; i++)
        t[i] = 0;
    return mfn;
}

int p2m_init(struct p2m_table *p, enum p2m_format fmt, const struct p2m_env *env)
{
    p->fmt = fmt;
    p->env = *env;
    p->root_mfn = 0;
    p->nr_tables = 0;
    if (fmt != P2M_NPT && fmt != P2M_EPT)
        return -XL_EINVAL;
    uint64_t root = new_table(p);
    if (root == 0)
        return -XL_ENOMEM;
    p->root_mfn = root;
    p->nr_tables = 1;
    return 0;
}

static int flags_ok(unsigned int flags)
{
    if (flags & ~(P2M_RWX | P2M_UC))
        return 0;
    /* at least one of R/W/X, and W or X only with R: R is required (NPT
     * cannot say "present but not readable"; EPT W without R is a
     * misconfiguration, X-only is left out so both formats agree) */
    return (flags & P2M_R) != 0;
}

/* The leaf slot of gfn, or NULL when an intermediate entry is missing. */
static uint64_t *find_leaf(const struct p2m_table *p, uint64_t gfn)
{
    if (p->root_mfn == 0 || (gfn >> P2M_GFN_BITS))
        return NULL;
    uint64_t *t = map(p, p->root_mfn);
    for (int level = 4; level > 1; level--) {
        uint64_t e = read_entry(&t[idx(gfn, level)]);
        if (!present(p, e))
            return NULL;
        t = map(p, entry_mfn(e));
    }
    return &t[idx(gfn, 1)];
}

int p2m_set(struct p2m_table *p, uint64_t gfn, uint64_t mfn, unsigned int flags)
{
    if ((gfn >> P2M_GFN_BITS) || (mfn >> MFN_BITS) || !flags_ok(flags) || p->root_mfn == 0)
        return -XL_EINVAL;

    /* Count the missing intermediate tables and get them all before
     * linking any, so that -ENOMEM leaves the tables exactly as they
     * were. Levels 3..1 may be missing; once one is, all below are. */
    uint64_t *t = map(p, p->root_mfn);
    int level = 4;
    while (level > 1) {
        uint64_t e = read_entry(&t[idx(gfn, level)]);
        if (!present(p, e))
            break;
        t = map(p, entry_mfn(e));
        level--;
    }
    uint64_t fresh[3];
    int need = level - 1;
    for (int i = 0; i < need; i++) {
        fresh[i] = new_table(p);
        if (fresh[i] == 0) {
            while (i-- > 0)
                p->env.free_table(p->env.ctx, fresh[i]);
            return -XL_ENOMEM;
        }
    }

    /* Link them top-down (each is empty: a walk that reaches it finds
     * nothing), then write the leaf. */
    for (int i = 0; i < need; i++, level--) {
        write_entry(&t[idx(gfn, level)], table_entry(p, fresh[i]));
        p->nr_tables++;
        t = map(p, fresh[i]);
    }
    write_entry(&t[idx(gfn, 1)], leaf_entry(p, mfn, flags));
    return 0;
}

int p2m_clear(struct p2m_table *p, uint64_t gfn, uint64_t *old_mfn)
{
    uint64_t *slot = find_leaf(p, gfn);
    if (!slot)
        return -XL_ENOENT;
    uint64_t e = read_entry(slot);
    if (!present(p, e))
        return -XL_ENOENT;
    write_entry(slot, 0);
    if (old_mfn)
        *old_mfn = entry_mfn(e);
    return 0;
}

int p2m_lookup(const struct p2m_table *p, uint64_t gfn, uint64_t *mfn, unsigned int *flags)
{
    const uint64_t *slot = find_leaf(p, gfn);
    if (!slot)
        return -XL_ENOENT;
    uint64_t e = read_entry(slot);
    if (!present(p, e))
        return -XL_ENOENT;
    if (mfn)
        *mfn = entry_mfn(e);
    if (flags)
        *flags = leaf_flags(p, e);
    return 0;
}

int p2m_for_each(const struct p2m_table *p, int (*fn)(void *arg, uint64_t gfn, uint64_t mfn,
                                                      unsigned int flags),
                 void *arg)
{
    if (p->root_mfn == 0)
        return 0;
    const uint64_t *l4 = map(p, p->root_mfn);
    for (uint64_t i4 = 0; i4 < ENTRIES; i4++) {
        uint64_t e4 = read_entry(&l4[i4]);
        if (!present(p, e4))
            continue;
        const uint64_t *l3 = map(p, entry_mfn(e4));
        for (uint64_t i3 = 0; i3 < ENTRIES; i3++) {
            uint64_t e3 = read_entry(&l3[i3]);
            if (!present(p, e3))
                continue;
            const uint64_t *l2 = map(p, entry_mfn(e3));
            for (uint64_t i2 = 0; i2 < ENTRIES; i2++) {
                uint64_t e2 = read_entry(&l2[i2]);
                if (!present(p, e2))
                    continue;
                const uint64_t *l1 = map(p, entry_mfn(e2));
                for (uint64_t i1 = 0; i1 < ENTRIES; i1++) {
                    uint64_t e1 = read_entry(&l1[i1]);
                    if (!present(p, e1))
                        continue;
                    uint64_t gfn = (i4 << 27) | (i3 << 18) | (i2 << 9) | i1;
                    int rc = fn(arg, gfn, entry_mfn(e1), leaf_flags(p, e1));
                    if (rc != 0)
                        return rc;
                }
            }
        }
    }
    return 0;
}

void p2m_destroy(struct p2m_table *p)
{
    if (p->root_mfn == 0)
        return;
    const uint64_t *l4 = map(p, p->root_mfn);
    for (unsigned int i4 = 0; i4 < ENTRIES; i4++) {
        uint64_t e4 = read_entry(&l4[i4]);
        if (!present(p, e4))
            continue;
        const uint64_t *l3 = map(p, entry_mfn(e4));
        for (unsigned int i3 = 0; i3 < ENTRIES; i3++) {
            uint64_t e3 = read_entry(&l3[i3]);
            if (!present(p, e3))
                continue;
            const uint64_t *l2 = map(p, entry_mfn(e3));
            for (unsigned int i2 = 0; i2 < ENTRIES; i2++) {
                uint64_t e2 = read_entry(&l2[i2]);
                if (present(p, e2))
                    p->env.free_table(p->env.ctx, entry_mfn(e2));
            }
            p->env.free_table(p->env.ctx, entry_mfn(e3));
        }
        p->env.free_table(p->env.ctx, entry_mfn(e4));
    }
    p->env.free_table(p->env.ctx, p->root_mfn);
    p->root_mfn = 0;
    p->nr_tables = 0;
}

uint64_t p2m_ept_pointer(const struct p2m_table *p)
{
    /* bits 2:0 memory type (6 = WB), 5:3 walk length - 1, no A/D (bit 6) */
    return (p->root_mfn << 12) | ((4ull - 1) << 3) | EPT_MT_WB;
}
