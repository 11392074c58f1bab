/*
 * pirq.c - the pirq table: which domain owns which physical IRQ, its
 * vector and device, the event channel it is bound to; the dynamic
 * vector allocator; map/unmap (Xen's physdev_map_pirq/unmap_pirq for MSI,
 * MSI-X and I/O APIC GSIs, level ones masked from interrupt to EOI); the
 * MSI-X table frames dom0 may no longer map writable.
 * Runs under the big lock (hypercalls, and the interrupt path, which
 * takes it). Owns: struct pirq for every pirq number, vec_to_pirq.
 * Must never: program a device for an unprivileged domain, take a guest's
 * table address instead of the device's own capability, or leave a
 * device interrupting on a vector it freed. Pure C: no inline assembly;
 * hardware only through pirq_hw (msi.c), host-tested (test_pirq).
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/pirq.h>

const struct pci_hw_ops *pirq_hw;

static struct pirq pirqs[PIRQ_NR];
/* pirq + 1 on each dynamic vector, 0 = free */
static uint8_t vec_to_pirq[256];
static uint64_t dropped;

void pirq_reset(void)
{
    memset(pirqs, 0, sizeof(pirqs));
    memset(vec_to_pirq, 0, sizeof(vec_to_pirq));
    dropped = 0;
}

const struct pirq *pirq_get(unsigned int pirq)
{
    return pirq < PIRQ_NR && pirqs[pirq].kind != PIRQ_FREE ? &pirqs[pirq] : NULL;
}

uint64_t pirq_dropped(void) { return dropped; }

static int vector_alloc(unsigned int pirq)
{
    for (unsigned int v = IRQ_VEC_FIRST; v <= IRQ_VEC_LAST; v++) {
        if (!vec_to_pirq[v]) {
            vec_to_pirq[v] = (uint8_t)(pirq + 1);
            return (int)v;
        }
    }
    return -XL_ENOSPC;
}

int pirq_find_free(void)
{
    for (unsigned int p = PIRQ_FIRST_MSI; p < PIRQ_NR; p++)
        if (pirqs[p].kind == PIRQ_FREE)
            return (int)p;
    return -XL_ENOSPC;
}

/* Xen's XSM default for (un)map_domain_pirq on PV: only the hardware
 * domain, for itself (a foreign target: -EPERM here, as the brief to
 * dom0 says; Xen would allow a device model). */
static int may_map(const struct domain *c, const struct domain *t)
{
    return c->privileged && c == t;
}

/* Is (dev, entry) of kind mapped already? MSI has one vector per device. */
static int dev_entry_mapped(const struct pci_sbdf *f, int msix, unsigned int entry)
{
    for (unsigned int p = 0; p < PIRQ_NR; p++) {
        const struct pirq *q = &pirqs[p];
        if (q->kind == PIRQ_FREE || q->dev.seg != f->seg || q->dev.bus != f->bus ||
            q->dev.devfn != f->devfn)
            continue;
        if (!msix || q->kind != PIRQ_MSIX || q->entry_nr == entry)
            return 1; /* MSI and MSI-X of one function never at once */
    }
    return 0;
}

/* Find the device's capability and where its entry is (checks only). */
static long map_decode(const struct pirq_map_req *r, struct pirq *n)
{
    if (r->dev.seg)
        return -XEN_ENODEV; /* config ports reach segment 0 only */
    unsigned int cap = msi_find_cap(pirq_hw, &r->dev, r->msix ? PCI_CAP_ID_MSIX : PCI_CAP_ID_MSI);
    if (!cap)
        return -XEN_ENODEV;
    n->dev = r->dev;
    n->cap = (uint16_t)cap;
    n->kind = r->msix ? PIRQ_MSIX : PIRQ_MSI;
    if (r->msix) {
        if (r->entry_nr > 2047)
            return -XL_EINVAL;
        n->entry_nr = (uint16_t)r->entry_nr;
        long rc = msix_locate(pirq_hw, &r->dev, cap, r->entry_nr, &n->msix);
        if (rc)
            return rc;
    }
    if (dev_entry_mapped(&r->dev, r->msix, r->entry_nr))
        return -XL_EEXIST;
    return 0;
}

long pirq_map(const struct domain *c, const struct domain *t, const struct pirq_map_req *r,
              int *pirq)
{
    if (!may_map(c, t))
        return -XL_EPERM;
    if (r->index != -1)
        return -XL_EINVAL; /* Xen: an existing irq; none is dom0's to name here */
    if (!pirq_hw)
        return -XEN_ENODEV;
    int p = r->pirq;
    if (p < 0) {
        p = pirq_find_free();
        if (p < 0)
            return p;
    } else if (p < PIRQ_FIRST_MSI || p >= PIRQ_NR) {
        return -XL_EINVAL;
    } else if (pirqs[p].kind != PIRQ_FREE) {
        return -XL_EEXIST;
    }
    struct pirq n = { .owner = t->domid };
    long rc = map_decode(r, &n);
    if (rc)
        return rc;
    int vec = vector_alloc((unsigned int)p);
    if (vec < 0)
        return vec;
    n.vector = (uint8_t)vec;
    uint64_t addr;
    uint32_t data;
    msi_compose(pirq_hw->cpu0_apic_id(), n.vector, &addr, &data);
    /* The entry goes live only after the table entry exists, so an
     * interrupt that comes at once finds its pirq. */
    /* The function's first MSI-X pirq: every entry masked before MSI-X
     * goes on, so only entries the hv programmed can ever fire. */
    if (n.kind == PIRQ_MSIX && !dev_entry_mapped(&n.dev, 0, 0))
        rc = msix_mask_all(pirq_hw, n.msix.entry_maddr - (uint64_t)n.entry_nr * 16,
                           n.msix.nr_entries);
    if (rc) {
        vec_to_pirq[vec] = 0;
        return rc;
    }
    pirqs[p] = n;
    if (n.kind == PIRQ_MSIX) {
        rc = msix_program(pirq_hw, &n.dev, n.cap, n.msix.entry_maddr, addr, data);
        if (rc) {
            pirqs[p] = (struct pirq){ 0 };
            vec_to_pirq[vec] = 0;
            return rc;
        }
    } else {
        msi_program(pirq_hw, &n.dev, n.cap, addr, data);
    }
    *pirq = p;
    return 0;
}

/* GSIs the hv drives itself: PIT (0), the PIC cascade (2), COM1 (4). */
static int gsi_reserved(int gsi)
{
    return gsi == 0 || gsi == 2 || gsi == 4;
}

long pirq_map_gsi(const struct domain *c, const struct domain *t, int gsi, int pirq_in,
                  int *pirq)
{
    if (!may_map(c, t))
        return -XL_EPERM;
    if (!pirq_hw || !pirq_hw->gsi_count)
        return -XEN_ENODEV;
    if (gsi < 0 || gsi >= PIRQ_FIRST_MSI || (unsigned int)gsi >= pirq_hw->gsi_count() ||
        (pirq_in >= 0 && pirq_in != gsi))
        return -XL_EINVAL;
    if (gsi_reserved(gsi))
        return -XL_EPERM; /* Xen: the hv's own IRQs are denied to dom0 */
    struct pirq *q = &pirqs[gsi];
    if (q->kind != PIRQ_FREE) {
        if (q->kind == PIRQ_GSI && q->owner == t->domid) {
            *pirq = gsi;
            return 0;
        }
        return -XL_EEXIST;
    }
    int vec = vector_alloc((unsigned int)gsi);
    if (vec < 0)
        return vec;
    *q = (struct pirq){ .kind = PIRQ_GSI, .vector = (uint8_t)vec, .owner = t->domid,
                        .level = gsi >= 16 };
    pirq_hw->gsi_program((unsigned int)gsi, (uint8_t)vec, q->level, pirq_hw->cpu0_apic_id());
    *pirq = gsi;
    return 0;
}

void pirq_eoi(const struct domain *d, int pirq)
{
    if (!pirq_owned_by(d, pirq))
        return;
    struct pirq *q = &pirqs[pirq];
    if (q->kind == PIRQ_GSI && q->in_service) {
        q->in_service = 0;
        if (q->port)
            pirq_hw->gsi_mask((unsigned int)pirq, 0);
    }
}

int pirq_needs_eoi(const struct domain *d, int pirq)
{
    return pirq_owned_by(d, pirq) && pirqs[pirq].kind == PIRQ_GSI && pirqs[pirq].level;
}

/* Quiet the device's entry, then free vector and pirq. */
static void pirq_release(unsigned int p)
{
    struct pirq *q = &pirqs[p];
    if (q->kind == PIRQ_GSI) {
        pirq_hw->gsi_mask(p, 1);
    } else if (q->kind == PIRQ_MSIX) {
        int last = 1;
        for (unsigned int i = 0; i < PIRQ_NR; i++)
            if (i != p && pirqs[i].kind == PIRQ_MSIX && pirqs[i].dev.bus == q->dev.bus &&
                pirqs[i].dev.devfn == q->dev.devfn && pirqs[i].dev.seg == q->dev.seg)
                last = 0;
        msix_release(pirq_hw, &q->dev, q->cap, q->msix.entry_maddr, last);
    } else {
        msi_release(pirq_hw, &q->dev, q->cap);
    }
    /* An interrupt already in flight finds the vector free: dropped. */
    vec_to_pirq[q->vector] = 0;
    *q = (struct pirq){ 0 };
}

long pirq_unmap(const struct domain *c, const struct domain *t, int pirq)
{
    if (!may_map(c, t))
        return -XL_EPERM;
    if (pirq < 0 || pirq >= PIRQ_NR || pirqs[pirq].kind == PIRQ_FREE)
        return -XL_EINVAL;
    if (pirqs[pirq].owner != t->domid)
        return -XL_EPERM;
    pirq_release((unsigned int)pirq);
    return 0;
}

int pirq_owned_by(const struct domain *d, int pirq)
{
    return pirq >= 0 && pirq < PIRQ_NR && pirqs[pirq].kind != PIRQ_FREE &&
           pirqs[pirq].owner == d->domid;
}

int pirq_bind_check(const struct domain *d, unsigned int pirq)
{
    if (pirq >= PIRQ_NR)
        return -XL_EINVAL;
    /* Xen's pirq_access_permitted: a pirq the domain has mapped (a domU
     * has none), else -EPERM - an unmapped one too */
    const struct pirq *q = &pirqs[pirq];
    if (!d->privileged || q->kind == PIRQ_FREE || q->owner != d->domid)
        return -XL_EPERM;
    if (q->port)
        return -XL_EEXIST;
    return 0;
}

void pirq_set_port(unsigned int pirq, uint32_t port)
{
    if (pirq >= PIRQ_NR)
        return;
    struct pirq *q = &pirqs[pirq];
    q->port = port;
    /* Xen's pirq_guest_bind starts the IRQ: a GSI is unmasked now */
    if (q->kind == PIRQ_GSI) {
        q->in_service = 0;
        pirq_hw->gsi_mask(pirq, 0);
    }
}

void pirq_unbind_port(const struct domain *d, unsigned int pirq, uint32_t port)
{
    if (pirq < PIRQ_NR && pirqs[pirq].kind != PIRQ_FREE && pirqs[pirq].owner == d->domid &&
        pirqs[pirq].port == port) {
        pirqs[pirq].port = 0;
        if (pirqs[pirq].kind == PIRQ_GSI)
            pirq_hw->gsi_mask(pirq, 1); /* Xen's pirq_guest_unbind shuts it down */
    }
}

int pirq_take_interrupt(unsigned int vector, uint16_t *owner, uint32_t *port)
{
    unsigned int p = vector < 256 ? vec_to_pirq[vector] : 0;
    struct pirq *q = p ? &pirqs[p - 1] : NULL;
    if (q && q->kind == PIRQ_GSI && q->level) {
        /* level: masked until the owner's PHYSDEVOP_eoi (the line stays
         * asserted until its driver has served the device) */
        pirq_hw->gsi_mask(p - 1, 1);
        q->in_service = 1;
    }
    if (!q || !q->port) {
        dropped++;
        return 0;
    }
    q->delivered++;
    *owner = q->owner;
    *port = q->port;
    return 1;
}

int pirq_mmio_writable(uint64_t mfn)
{
    for (unsigned int p = 0; p < PIRQ_NR; p++) {
        const struct pirq *q = &pirqs[p];
        if (q->kind != PIRQ_MSIX)
            continue;
        if ((mfn >= q->msix.table_first_mfn && mfn <= q->msix.table_last_mfn) ||
            (mfn >= q->msix.pba_first_mfn && mfn <= q->msix.pba_last_mfn))
            return 0;
    }
    return 1;
}

void pirq_domain_destroy(const struct domain *d)
{
    for (unsigned int p = 0; p < PIRQ_NR; p++)
        if (pirqs[p].kind != PIRQ_FREE && pirqs[p].owner == d->domid)
            pirq_release(p);
}
