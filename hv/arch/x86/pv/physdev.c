/*
 * physdev.c - the physdev_op hypercall of a PV guest (Xen's
 * arch/x86/physdev.c): set_iopl, and physical interrupts - map_pirq /
 * unmap_pirq for MSI, MSI-X and GSIs, irq_status_query, eoi, get_free_pirq -
 * plus the interrupt path that turns a device vector into an event.
 * Owns: nothing but the copying in and out; the state is pirq.c's.
 * Must never: act before the argument is copied in and checked, let a
 * domain other than the privileged one map or unmap a pirq, or panic on
 * anything a guest passed. No inline assembly (hardware is pci_hw.c's).
 */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/pirq.h>
#include <xen/physdev.h>

/* DOMID_SELF or an existing domain; NULL means -ESRCH. */
static struct domain *target(struct vcpu *v, domid_t id)
{
    return id == DOMID_SELF ? v->domain : domain_by_id(id);
}

/* Xen's do_physdev_op map_pirq: MSI_SEG carries the segment in bus's
 * top half; table_base != 0 asks for an MSI-X entry (its value is not
 * used: the hv reads the table's place from the device). GSI: index is
 * the GSI, the pirq is the same number. Other types -EINVAL. */
static long op_map_pirq(struct vcpu *v, struct physdev_map_pirq *m)
{
    struct pirq_map_req r = { .index = m->index, .pirq = m->pirq };
    switch (m->type) {
    case MAP_PIRQ_TYPE_MSI_SEG:
        r.dev.seg = (uint16_t)((uint32_t)m->bus >> 16);
        break;
    case MAP_PIRQ_TYPE_MSI:
        break;
    case MAP_PIRQ_TYPE_GSI: {
        struct domain *t = target(v, m->domid);
        if (!t)
            return -XL_ESRCH;
        int pirq;
        long rc = pirq_map_gsi(v->domain, t, m->index, m->pirq, &pirq);
        if (rc)
            return rc;
        m->pirq = pirq;
        const struct pirq *q = pirq_get((unsigned int)pirq);
        printk("d%u: pirq %d: GSI %d, %s, vector %#x\n", t->domid, pirq, pirq,
               q->level ? "level" : "edge", q->vector);
        return 0;
    }
    default:
        return -XL_EINVAL;
    }
    r.dev.bus = (uint8_t)m->bus;
    r.dev.devfn = (uint8_t)m->devfn;
    r.msix = m->table_base != 0;
    r.entry_nr = (unsigned int)m->entry_nr;
    struct domain *t = target(v, m->domid);
    if (!t)
        return -XL_ESRCH;
    int pirq;
    long rc = pirq_map(v->domain, t, &r, &pirq);
    if (rc)
        return rc;
    m->pirq = pirq;
    m->index = pirq; /* Xen returns its irq number; ours is the pirq */
    const struct pirq *q = pirq_get((unsigned int)pirq);
    if (q->kind == PIRQ_MSIX)
        printk("d%u: pirq %d: MSI-X %02x:%02x.%u entry %u, vector %#x\n", t->domid, pirq,
               q->dev.bus, q->dev.devfn >> 3, q->dev.devfn & 7, q->entry_nr, q->vector);
    else
        printk("d%u: pirq %d: MSI %02x:%02x.%u, vector %#x\n", t->domid, pirq, q->dev.bus,
               q->dev.devfn >> 3, q->dev.devfn & 7, q->vector);
    return 0;
}

static long op_unmap_pirq(struct vcpu *v, const struct physdev_unmap_pirq *u)
{
    struct domain *t = target(v, u->domid);
    if (!t)
        return -XL_ESRCH;
    return pirq_unmap(v->domain, t, u->pirq);
}

HYPERCALL_DECL(physdev_op)
{
    HCSTAT_SUB(&v->domain->hcstat, physdev_op, a1);
    switch (a1) {
    case PHYSDEVOP_set_iopl: {
        struct physdev_set_iopl s;
        if (copy_from_guest_va(v->cr3, &s, a2, sizeof(s)))
            return -XL_EFAULT;
        if (s.iopl > 3)
            return -XL_EINVAL;
        v->pv.iopl = s.iopl;
        return 0;
    }
    case PHYSDEVOP_map_pirq: {
        struct physdev_map_pirq m;
        if (copy_from_guest_va(v->cr3, &m, a2, sizeof(m)))
            return -XL_EFAULT;
        long rc = op_map_pirq(v, &m);
        if (!rc && copy_to_guest_va(v->cr3, a2, &m, sizeof(m)))
            return -XL_EFAULT;
        return rc;
    }
    case PHYSDEVOP_unmap_pirq: {
        struct physdev_unmap_pirq u;
        if (copy_from_guest_va(v->cr3, &u, a2, sizeof(u)))
            return -XL_EFAULT;
        return op_unmap_pirq(v, &u);
    }
    case PHYSDEVOP_irq_status_query: {
        /* Xen: any pirq number in range answers; only a level GSI needs
         * the EOI hypercall (MSI and edge GSIs are acknowledged at the
         * LAPIC by the hv). */
        struct physdev_irq_status_query q;
        if (copy_from_guest_va(v->cr3, &q, a2, sizeof(q)))
            return -XL_EFAULT;
        if (q.irq >= PIRQ_NR)
            return -XL_EINVAL;
        q.flags = pirq_needs_eoi(v->domain, (int)q.irq) ? XENIRQSTAT_needs_eoi : 0;
        if (copy_to_guest_va(v->cr3, a2, &q, sizeof(q)))
            return -XL_EFAULT;
        return 0;
    }
    case PHYSDEVOP_eoi: {
        struct physdev_eoi e;
        if (copy_from_guest_va(v->cr3, &e, a2, sizeof(e)))
            return -XL_EFAULT;
        if (e.irq >= PIRQ_NR)
            return -XL_EINVAL;
        pirq_eoi(v->domain, (int)e.irq); /* a level GSI is unmasked */
        return 0;
    }
    case PHYSDEVOP_get_free_pirq: {
        struct physdev_get_free_pirq g;
        if (copy_from_guest_va(v->cr3, &g, a2, sizeof(g)))
            return -XL_EFAULT;
        if (!v->domain->privileged)
            return -XL_EPERM; /* pirqs are the hardware domain's here */
        int p = pirq_find_free();
        if (p < 0)
            return p;
        g.pirq = (uint32_t)p;
        if (copy_to_guest_va(v->cr3, a2, &g, sizeof(g)))
            return -XL_EFAULT;
        return 0;
    }
    default:
        /* GSI routing, the I/O bitmap, PCI device reporting: later work. */
        return hc_unimplemented(v->domain, __HYPERVISOR_physdev_op, (unsigned int)a1);
    }
}

void physdev_interrupt(unsigned int vector)
{
    uint16_t owner;
    uint32_t port;
    if (!pirq_take_interrupt(vector, &owner, &port))
        return;
    struct domain *d = domain_by_id(owner);
    if (d)
        evtchn_raise_pirq(d, port);
}
