/*
 * arena.h - the fixed-size memory arena of the xenstore library.
 * Owns: one caller-supplied block, carved with first-fit and coalescing.
 * Must never: call any allocator of the host or dom0, or grow the block.
 */
#ifndef XS_ARENA_H
#define XS_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct xs_arena {
    uint8_t *base;
    size_t size;
    struct xs_free *free;   /* address-ordered free list */
    size_t used;            /* bytes handed out, headers included */
    size_t peak;
};

/* Sets up the arena over [mem, mem+size); returns 0 or -XL_EINVAL when
 * the block is too small or misaligned. */
int xs_arena_init(struct xs_arena *a, void *mem, size_t size);
/* 16-byte aligned memory, or NULL when no free block is large enough.
 * Every block carries a 32-bit tag (xs_alloc: 0) that its user sets and
 * reads back (the xenstore library: the domain it is charged to). */
void *xs_alloc(struct xs_arena *a, size_t n);
void *xs_alloc_tagged(struct xs_arena *a, size_t n, uint32_t tag);
void xs_free(struct xs_arena *a, void *p);
/* Bytes a request for n bytes takes from the arena (header included). */
size_t xs_alloc_cost(size_t n);
/* A block handed out by this arena: its cost and tag (0 if p is not one). */
size_t xs_block_size(const struct xs_arena *a, const void *p);
uint32_t xs_block_tag(const struct xs_arena *a, const void *p);
void xs_block_set_tag(struct xs_arena *a, void *p, uint32_t tag);
/* Bytes available in the largest free block (for tests and reports). */
size_t xs_arena_largest(const struct xs_arena *a);

#endif
