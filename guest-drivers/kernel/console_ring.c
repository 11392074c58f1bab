/*
 * console_ring.c - PV console output for a domU: the xencons_interface out
 * ring (the page at start_info.console.domU.mfn) plus EVTCHNOP_send on
 * console.domU.evtchn; the kit's printk writes here when it is active.
 * The page is found where the builder mapped it (xlguest/m2p.h).
 * Owns: the ring's producer index. Must never: write the
 * in ring or the consumer index, block forever on a backend that does not
 * drain, or be used by dom0 (whose console is console_io).
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xen/io/console.h>
#include <xlguest/console_ring.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/m2p.h>

#define FULL_RETRIES 2000 /* yields waited for room before dropping */

static struct xencons_interface *ring;
static evtchn_port_t ring_port;
unsigned long console_ring_dropped;

int console_ring_init(const start_info_t *si)
{
    if ((si->flags & SIF_INITDOMAIN) || !si->console.domU.mfn)
        return 0;
    /* no page of our own for it: kit images stay the size they were */
    void *va = guest_mfn_to_virt(si, si->console.domU.mfn);
    if (!va)
        return -XEN_EINVAL;
    ring_port = si->console.domU.evtchn;
    ring = va;
    return 1;
}

int console_ring_active(void)
{
    return ring != NULL;
}

static void notify(void)
{
    struct evtchn_send op = { .port = ring_port };
    HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

size_t console_ring_write(const char *s, size_t len)
{
    size_t done = 0;
    unsigned int waits = 0;

    if (!ring)
        return 0;
    while (done < len) {
        XENCONS_RING_IDX cons = __atomic_load_n(&ring->out_cons, __ATOMIC_ACQUIRE);
        XENCONS_RING_IDX prod = ring->out_prod;
        XENCONS_RING_IDX used = prod - cons;
        if (used > sizeof(ring->out)) {
            /* the backend wrote a nonsense index: stop using the ring */
            console_ring_dropped += len - done;
            return done;
        }
        if (used == sizeof(ring->out)) {
            if (waits++ >= FULL_RETRIES) {
                console_ring_dropped += len - done;
                break;
            }
            notify();
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            continue;
        }
        while (done < len && prod - cons < sizeof(ring->out))
            ring->out[MASK_XENCONS_IDX(prod++, ring->out)] = s[done++];
        __atomic_store_n(&ring->out_prod, prod, __ATOMIC_RELEASE);
    }
    notify();
    return done;
}
