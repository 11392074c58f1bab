/*
 * arena.c - first-fit allocator over the caller's block for the xenstore
 * library: 16-byte headers, address-ordered free list, coalescing on free.
 * Owns: the layout of the block handed to xs_arena_init.
 * Must never: touch memory outside that block, or trust a pointer it did
 * not hand out (a bad free is ignored rather than corrupting the list).
 */
#include "arena.h"

#include <xenolith/errno.h>
#include <xenolith/lib.h>

#define ALIGN 16u
#define MAGIC_USED 0x58534155u  /* "XSAU" */
#define MAGIC_FREE 0x58534146u  /* "XSAF" */

struct xs_hdr {
    uint64_t size;      /* whole block, header included, multiple of ALIGN */
    uint32_t magic;
    uint32_t tag;       /* the user's (xs_alloc_tagged) */
};

struct xs_free {
    struct xs_hdr h;
    struct xs_free *next;
};

int xs_arena_init(struct xs_arena *a, void *mem, size_t size)
{
    uintptr_t start = ROUNDUP((uintptr_t)mem, ALIGN);
    uintptr_t end = ((uintptr_t)mem + size) & ~(uintptr_t)(ALIGN - 1);

    if (!mem || end <= start || end - start < 4 * sizeof(struct xs_free))
        return -XL_EINVAL;
    a->base = (uint8_t *)start;
    a->size = end - start;
    a->free = (struct xs_free *)start;
    a->free->h.size = a->size;
    a->free->h.magic = MAGIC_FREE;
    a->free->next = NULL;
    a->used = 0;
    a->peak = 0;
    return 0;
}

size_t xs_alloc_cost(size_t n)
{
    size_t need = ROUNDUP(n + sizeof(struct xs_hdr), ALIGN);
    return need < sizeof(struct xs_free) ? ROUNDUP(sizeof(struct xs_free), ALIGN) : need;
}

void *xs_alloc(struct xs_arena *a, size_t n)
{
    return xs_alloc_tagged(a, n, 0);
}

void *xs_alloc_tagged(struct xs_arena *a, size_t n, uint32_t tag)
{
    struct xs_free **pp, *f;
    uint64_t need;

    if (n > a->size)
        return NULL;
    need = xs_alloc_cost(n);
    for (pp = &a->free; (f = *pp) != NULL; pp = &f->next) {
        if (f->h.size < need)
            continue;
        if (f->h.size - need >= ROUNDUP(sizeof(struct xs_free), ALIGN) + ALIGN) {
            struct xs_free *rest = (struct xs_free *)((uint8_t *)f + need);
            rest->h.size = f->h.size - need;
            rest->h.magic = MAGIC_FREE;
            rest->next = f->next;
            *pp = rest;
            f->h.size = need;
        } else {
            *pp = f->next;
        }
        f->h.magic = MAGIC_USED;
        f->h.tag = tag;
        a->used += f->h.size;
        if (a->used > a->peak)
            a->peak = a->used;
        return (uint8_t *)f + sizeof(struct xs_hdr);
    }
    return NULL;
}

/* The header of a block this arena handed out, or NULL. */
static struct xs_hdr *used_hdr(const struct xs_arena *a, const void *p)
{
    struct xs_hdr *h;

    if (!p)
        return NULL;
    h = (struct xs_hdr *)((uint8_t *)p - sizeof(struct xs_hdr));
    if ((const uint8_t *)h < a->base || (const uint8_t *)h >= a->base + a->size ||
        ((uintptr_t)h & (ALIGN - 1)) || h->magic != MAGIC_USED)
        return NULL;
    return h;
}

size_t xs_block_size(const struct xs_arena *a, const void *p)
{
    const struct xs_hdr *h = used_hdr(a, p);
    return h ? h->size : 0;
}

uint32_t xs_block_tag(const struct xs_arena *a, const void *p)
{
    const struct xs_hdr *h = used_hdr(a, p);
    return h ? h->tag : 0;
}

void xs_block_set_tag(struct xs_arena *a, void *p, uint32_t tag)
{
    struct xs_hdr *h = used_hdr(a, p);
    if (h)
        h->tag = tag;
}

void xs_free(struct xs_arena *a, void *p)
{
    struct xs_free *b, *prev = NULL, *cur;

    if (!used_hdr(a, p))
        return;
    b = (struct xs_free *)((uint8_t *)p - sizeof(struct xs_hdr));
    b->h.magic = MAGIC_FREE;
    a->used -= b->h.size;
    for (cur = a->free; cur && cur < b; cur = cur->next)
        prev = cur;
    b->next = cur;
    if (prev)
        prev->next = b;
    else
        a->free = b;
    if (cur && (uint8_t *)b + b->h.size == (uint8_t *)cur) {
        b->h.size += cur->h.size;
        b->next = cur->next;
    }
    if (prev && (uint8_t *)prev + prev->h.size == (uint8_t *)b) {
        prev->h.size += b->h.size;
        prev->next = b->next;
    }
}

size_t xs_arena_largest(const struct xs_arena *a)
{
    size_t best = 0;
    for (const struct xs_free *f = a->free; f; f = f->next)
        if (f->h.size - sizeof(struct xs_hdr) > best)
            best = f->h.size - sizeof(struct xs_hdr);
    return best;
}
