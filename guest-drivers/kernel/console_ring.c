/*
 * console_ring.c - PV console output for a domU: the xencons_interface out
 * ring (the page at start_info.console.domU.mfn) plus EVTCHNOP_send on
 * console.domU.evtchn; the kit's printk writes here when it is active.
 * Owns: the ring mapping and its producer index. Must never: write the
 * in ring or the consumer index, block forever on a backend that does not
 * drain, or be used by dom0 (whose console is console_io).
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xen/io/console.h>
#include <xlguest/console_ring.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>

#define PTE_FLAGS 0x67ULL /* P RW US A D */
#define FULL_RETRIES 2000 /* yields waited for room before dropping */

static uint8_t ring_win[4096] __attribute__((aligned(4096)));
static struct xencons_interface *ring;
static evtchn_port_t ring_port;
unsigned long console_ring_dropped;

int console_ring_init(const start_info_t *si)
{
    if ((si->flags & SIF_INITDOMAIN) || !si->console.domU.mfn)
        return 0;
    long rc = HYPERVISOR_update_va_mapping((unsigned long)ring_win,
                                           (si->console.domU.mfn << 12) | PTE_FLAGS,
                                           UVMF_INVLPG);
    if (rc)
        return (int)rc;
    ring_port = si->console.domU.evtchn;
    ring = (struct xencons_interface *)ring_win;
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
