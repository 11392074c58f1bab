/*
 * barrier_hooks.h - the memory-barrier points of the pure ring and
 * virtqueue logic, as explicit calls. The pure files contain no inline
 * assembly: the kernel glue passes hooks that issue mfence/lfence/sfence
 * (or compiler barriers where x86's ordering already suffices), host
 * tests pass hooks that record the order in which they were reached.
 * A NULL hook is a no-op (only for tests that do not look at ordering).
 */
#ifndef XLGUEST_BARRIER_HOOKS_H
#define XLGUEST_BARRIER_HOOKS_H

struct xl_barriers {
    void (*mb)(void *opaque);   /* full: stores before, loads after */
    void (*rmb)(void *opaque);  /* loads before, loads after */
    void (*wmb)(void *opaque);  /* stores before, stores after */
    void *opaque;
};

static inline void xl_mb(const struct xl_barriers *b)
{
    if (b && b->mb)
        b->mb(b->opaque);
}

static inline void xl_rmb(const struct xl_barriers *b)
{
    if (b && b->rmb)
        b->rmb(b->opaque);
}

static inline void xl_wmb(const struct xl_barriers *b)
{
    if (b && b->wmb)
        b->wmb(b->opaque);
}

#endif
