/*
 * p2m.h - an HVM domain's guest-physical -> machine table (Xen's p2m) in
 * the two hardware formats: AMD's nested page tables (NPT, long-mode PTEs)
 * and Intel's extended page tables (EPT). The builder (hv/arch/x86/hvm/
 * p2m_pt.c) is pure C: it gets table frames, and pointers to them, from the
 * caller's env, so the host unit tests run it over ordinary memory.
 * Owns: the table frames it allocated through env (and nothing else: the
 * frames it maps belong to the domain, in the frame table).
 * Must never: map a frame it was not given, or free a frame it did not
 * allocate.
 */
#ifndef XENOLITH_P2M_H
#define XENOLITH_P2M_H

#include <stdint.h>

enum p2m_format { P2M_NPT, P2M_EPT };

/* Leaf flags of one guest frame. RAM is write-back; P2M_UC marks device
 * memory (uncached). An entry with none of R/W/X is not present. */
#define P2M_R  1u
#define P2M_W  2u
#define P2M_X  4u
#define P2M_UC 8u
#define P2M_RWX (P2M_R | P2M_W | P2M_X)

/* Guest frames below 2^P2M_GFN_BITS (a 48-bit guest-physical space). */
#define P2M_GFN_BITS 36

struct p2m_env {
    /* a zeroed 4 KiB frame for a table: its mfn, or 0 when memory is short */
    uint64_t (*alloc_table)(void *ctx);
    void (*free_table)(void *ctx, uint64_t mfn);
    /* the frame's 512 entries, readable and writable */
    uint64_t *(*map)(void *ctx, uint64_t mfn);
    void *ctx;
};

struct p2m_table {
    enum p2m_format fmt;
    uint64_t root_mfn;      /* the PML4 (NPT: nCR3 = root_mfn << 12) */
    unsigned long nr_tables; /* table frames held, the root included */
    struct p2m_env env;
};

/* An empty table (root allocated). 0, -ENOMEM. */
int p2m_init(struct p2m_table *p, enum p2m_format fmt, const struct p2m_env *env);
/* Map gfn -> mfn with flags (P2M_R/W/X/UC; at least one of R/W/X), 4 KiB
 * pages only, replacing what was there. 0, -EINVAL (gfn or mfn out of
 * range, bad flags, W or X without R on EPT), -ENOMEM (intermediate
 * tables: nothing changed). */
int p2m_set(struct p2m_table *p, uint64_t gfn, uint64_t mfn, unsigned int flags);
/* Remove gfn's entry. 0 and *old_mfn (if not NULL), or -ENOENT. Empty
 * intermediate tables stay until p2m_destroy. */
int p2m_clear(struct p2m_table *p, uint64_t gfn, uint64_t *old_mfn);
/* 0 with *mfn and *flags (either may be NULL), or -ENOENT. */
int p2m_lookup(const struct p2m_table *p, uint64_t gfn, uint64_t *mfn, unsigned int *flags);
/* Call fn for each present leaf, in gfn order; stops early and returns
 * fn's value when it is not 0. */
int p2m_for_each(const struct p2m_table *p, int (*fn)(void *arg, uint64_t gfn, uint64_t mfn,
                                                      unsigned int flags),
                 void *arg);
/* Free every table frame (the root too); the mapped frames are the
 * caller's. p is empty afterwards (root_mfn 0). */
void p2m_destroy(struct p2m_table *p);
/* EPT: the EPTP value for the VMCS (WB, 4-level walk, no A/D bits). */
uint64_t p2m_ept_pointer(const struct p2m_table *p);

#endif
