/*
 * ioreq_state.h - the state field of an ioreq_t (xen/hvm/ioreq.h) as both
 * ends of an ioreq server touch it: the hypervisor (hv/arch/x86/hvm/
 * ioreq.c) and a device model (toolstack/dom0svc/dm.c). The field is 4
 * bits of the byte it shares with dir, df and data_is_ptr, so it is read
 * and written as that byte: acquire on reading, release on writing, so
 * the rest of the slot is seen before (or published with) the state.
 * Must never: be used on a slot the caller does not own at that state.
 */
#ifndef XENOLITH_IOREQ_STATE_H
#define XENOLITH_IOREQ_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <xen/hvm/ioreq.h>

#define IOREQ_STATE_BYTE(p) ((volatile uint8_t *)(p) + offsetof(ioreq_t, _pad0) + 2)

static inline uint8_t ioreq_state_get(ioreq_t *p)
{
    return __atomic_load_n(IOREQ_STATE_BYTE(p), __ATOMIC_ACQUIRE) & 0xf;
}

static inline void ioreq_state_set(ioreq_t *p, uint8_t st)
{
    uint8_t b = *IOREQ_STATE_BYTE(p);
    __atomic_store_n(IOREQ_STATE_BYTE(p), (uint8_t)((b & 0xf0) | st), __ATOMIC_RELEASE);
}

#endif
