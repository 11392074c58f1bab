/*
 * evtchn.c - 2-level event channels for the kit's guest kernels: EVTCHNOP
 * wrappers, per-port handlers, and the upcall dispatcher over shared_info
 * (evtchn_pending/evtchn_mask) and vcpu 0's evtchn_pending_sel.
 * Owns: the handler table. Must never: touch a port bit it does not
 * handle outside the pending word being dispatched, or call a handler for
 * a masked port.
 * Under PVH Xen injects the callback vector whenever evtchn_upcall_pending
 * is set and RFLAGS.IF allows, whatever evtchn_upcall_mask says; an upcall
 * that finds the mask set returns with IF clear (traps.c), so enabling
 * upcalls is also sti, disabling also cli, and block is sti;hlt.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/evtchn.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/platform.h>

#define BITS_PER_WORD (sizeof(xen_ulong_t) * 8)
#define NR_PORTS_2L   (BITS_PER_WORD * BITS_PER_WORD)

static struct {
    evtchn_handler_t fn;
    void *data;
} handlers[EVTCHN_MAX_HANDLED];
unsigned long evtchn_unhandled;

long evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    if (rc == 0)
        *port = op.port;
    return rc;
}

long evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port)
{
    struct evtchn_bind_interdomain op = { .remote_dom = remote, .remote_port = remote_port };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
    if (rc == 0)
        *port = op.local_port;
    return rc;
}

long evtchn_bind_virq(uint32_t virq, evtchn_port_t *port)
{
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    if (rc == 0)
        *port = op.port;
    return rc;
}

long evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

long evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = { .port = port };
    if (port < EVTCHN_MAX_HANDLED)
        evtchn_unbind(port);
    return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}

void evtchn_mask(evtchn_port_t port)
{
    if (guest_shared_info && port < NR_PORTS_2L)
        __atomic_fetch_or(&guest_shared_info->evtchn_mask[port / BITS_PER_WORD],
                          (xen_ulong_t)1 << (port % BITS_PER_WORD), __ATOMIC_SEQ_CST);
}

long evtchn_unmask(evtchn_port_t port)
{
    struct evtchn_unmask op = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
}

int evtchn_test_and_clear(evtchn_port_t port)
{
    if (!guest_shared_info || port >= NR_PORTS_2L)
        return 0;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
    return (__atomic_fetch_and(&guest_shared_info->evtchn_pending[port / BITS_PER_WORD], ~bit,
                               __ATOMIC_SEQ_CST) & bit) != 0;
}

long evtchn_bind(evtchn_port_t port, evtchn_handler_t h, void *data)
{
    if (port >= EVTCHN_MAX_HANDLED || !h || !guest_shared_info)
        return -XEN_EINVAL;
    if (handlers[port].fn)
        return -XEN_EEXIST;
    handlers[port].data = data;
    __atomic_store_n(&handlers[port].fn, h, __ATOMIC_SEQ_CST);
    return evtchn_unmask(port);
}

void evtchn_unbind(evtchn_port_t port)
{
    if (port >= EVTCHN_MAX_HANDLED)
        return;
    evtchn_mask(port);
    __atomic_store_n(&handlers[port].fn, NULL, __ATOMIC_SEQ_CST);
    handlers[port].data = NULL;
}

void evtchn_do_upcall(void)
{
    shared_info_t *sh = guest_shared_info;
    if (!sh)
        return;
    struct vcpu_info *vi = &sh->vcpu_info[0];
    while (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
        vi->evtchn_upcall_pending = 0;
        xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        while (sel) {
            unsigned int w = (unsigned int)__builtin_ctzl(sel);
            sel &= sel - 1;
            xen_ulong_t pend = __atomic_load_n(&sh->evtchn_pending[w], __ATOMIC_SEQ_CST) &
                               ~__atomic_load_n(&sh->evtchn_mask[w], __ATOMIC_SEQ_CST);
            while (pend) {
                unsigned int b = (unsigned int)__builtin_ctzl(pend);
                pend &= pend - 1;
                evtchn_port_t port = w * BITS_PER_WORD + b;
                /* clear first: an event sent while the handler runs
                 * pends again and raises a new upcall */
                __atomic_fetch_and(&sh->evtchn_pending[w], ~((xen_ulong_t)1 << b),
                                   __ATOMIC_SEQ_CST);
                evtchn_handler_t fn = port < EVTCHN_MAX_HANDLED
                                          ? __atomic_load_n(&handlers[port].fn, __ATOMIC_SEQ_CST)
                                          : NULL;
                if (fn)
                    fn(port, handlers[port].data);
                else
                    evtchn_unhandled++;
            }
        }
    }
}

void evtchn_disable_upcalls(void)
{
    if (xl_is_pvh)
        __asm__ volatile("cli" ::: "memory");
    if (guest_shared_info)
        __atomic_store_n(&guest_shared_info->vcpu_info[0].evtchn_upcall_mask, 1,
                         __ATOMIC_SEQ_CST);
}

void evtchn_enable_upcalls(void)
{
    if (!guest_shared_info)
        return;
    struct vcpu_info *vi = &guest_shared_info->vcpu_info[0];
    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (xl_is_pvh) {
        __asm__ volatile("sti" ::: "memory"); /* delivers what is pending */
        return;
    }
    /* an event that came while masked: have Xen deliver it now (any
     * hypercall checks for a pending upcall on its way out) */
    if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
        HYPERVISOR_xen_version(XENVER_version, NULL);
}

void evtchn_block(void)
{
    if (xl_is_pvh) {
        /* sti's shadow covers hlt: an upcall cannot slip in between */
        __atomic_store_n(&guest_shared_info->vcpu_info[0].evtchn_upcall_mask, 0,
                         __ATOMIC_SEQ_CST);
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        evtchn_disable_upcalls();
        return;
    }
    evtchn_disable_upcalls();
    /* SCHEDOP_block clears the mask and returns at once if an event is
     * pending; the upcall runs on the way back */
    HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    evtchn_disable_upcalls();
}
