/*
 * ticketlock.h - a fair ticket spinlock's logic (no inline asm, so the
 * host unit test uses it as the hv does): take a ticket, wait until the
 * owner counter reaches it, release by advancing the owner. Waiters are
 * served in arrival order. The spinning itself (pause, what a waiter does
 * while it waits) is the caller's: smp.c's big lock.
 * Owns: the two counters. Must never: let two holders in at once, or
 * skip a waiter.
 */
#ifndef XENOLITH_TICKETLOCK_H
#define XENOLITH_TICKETLOCK_H

#include <stdint.h>

struct ticketlock {
    uint32_t next;  /* the ticket the next arrival takes */
    uint32_t owner; /* the ticket that holds the lock */
};

/* Take a ticket: the caller holds the lock once ticket_lock_mine says so. */
static inline uint32_t ticket_lock_take(struct ticketlock *l)
{
    return __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQ_REL);
}

/* Is it this ticket's turn (acquire: what the previous holder wrote is seen)? */
static inline int ticket_lock_mine(const struct ticketlock *l, uint32_t ticket)
{
    return __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) == ticket;
}

/* Try once: 1 and the lock is held if nobody held or waited for it. */
static inline int ticket_lock_try(struct ticketlock *l)
{
    uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
    uint32_t expect = owner;
    return __atomic_compare_exchange_n(&l->next, &expect, owner + 1, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_RELAXED);
}

/* Release (release: the next holder sees everything written under it). */
static inline void ticket_lock_release(struct ticketlock *l)
{
    __atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

/* Held, or waited for, by anyone? */
static inline int ticket_lock_is_locked(const struct ticketlock *l)
{
    return __atomic_load_n(&l->next, __ATOMIC_ACQUIRE) !=
           __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
}

/* Tickets ahead of this one (0: it holds the lock). */
static inline uint32_t ticket_lock_ahead(const struct ticketlock *l, uint32_t ticket)
{
    return ticket - __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
}

#endif
