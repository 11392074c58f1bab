/*
 * test_pirq.c - host unit tests for physical interrupts (cmocka,
 * ASan/UBSan): the capability walk (found, absent, no list, a looping
 * list, a missing function), the MSI message, MSI and MSI-X programming
 * as the registers end up (address, data, enables, masks, 64-bit BAR
 * above 4 GiB), PHYSDEVOP_map_pirq / unmap_pirq / irq_status_query / eoi
 * / get_free_pirq through do_physdev_op with every refusal (-EPERM domU
 * and foreign target, -EINVAL index/pirq/entry/type, -ENODEV no
 * capability, -EEXIST double map, -ENOSPC pirqs used up, -ESRCH), and
 * EVTCHNOP_bind_pirq / close / status with delivery of interrupts to the
 * bound port, drops when unbound or unmapped; GSIs (the hv's pins
 * refused, level ones masked from interrupt to EOI, edge ones not, close
 * and unmap masking), the MSI-X table frames
 * read-only while mapped, and a dying domain's pirqs released.
 * Links: hv/common/pirq.c, hv/common/msi.c, hv/arch/x86/pv/physdev.c,
 * hv/common/event_channel.c (+ hcstat for hc_unimplemented).
 * Mocks: struct pci_hw_ops over fake config spaces and fake MMIO pages;
 * domains[] (fake_domains.c: d0 privileged, d1); guest copies (guest va =
 * host pointer); the few event-channel environment hooks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/mm.h>
#include <xenolith/pirq.h>
#include <xen/event_channel.h>
#include <xen/physdev.h>

/* ---- environment of event_channel.c ---- */
int copy_from_guest_va(uint64_t cr3, void *dst, uint64_t src, size_t len)
{
    (void)cr3;
    memcpy(dst, (const void *)src, len);
    return 0;
}
int copy_to_guest_va(uint64_t cr3, uint64_t dst, const void *src, size_t len)
{
    (void)cr3;
    memcpy((void *)dst, src, len);
    return 0;
}
void *pv_running_frame(struct vcpu *v, uint64_t va, size_t len, int write)
{
    (void)v, (void)len, (void)write;
    return (void *)va;
}
uint64_t xl_now(void) { return 1; }
void vcpu_runstate_change(struct vcpu *v, int state, uint64_t now) { (void)v, (void)state, (void)now; }
void *mfn_to_virt(uint64_t mfn) { (void)mfn; fail(); return NULL; }
int get_page_and_type(uint64_t mfn, uint16_t owner, unsigned int type)
{
    (void)mfn, (void)owner, (void)type;
    return -XL_EINVAL;
}
void put_page_and_type(uint64_t mfn) { (void)mfn; fail(); }

/* ---- fake PCI: bus 0, four functions ----
 * 04.0  MSI capability at 0x50 (64-bit address, per-vector mask)
 * 05.0  PM at 0x40 -> MSI-X at 0x60: 128 entries, table in BAR2 (64-bit,
 *       at 0x1_2340_0000) + 0x2000, PBA in BAR2 + 0x3000
 * 06.0  no capability list
 * 07.0  a capability list that points at itself */
#define DEV_MSI  (4 << 3)
#define DEV_MSIX (5 << 3)
#define DEV_NONE (6 << 3)
#define DEV_LOOP (7 << 3)
#define BAR2     0x123400000ULL
#define TABLE    (BAR2 + 0x2000)
#define PBA      (BAR2 + 0x3000)
static uint8_t cfg[32][256];
static uint32_t mmio[2][1024]; /* table page, PBA page */
static unsigned int cfg_writes;

static uint8_t *cfgp(const struct pci_sbdf *f, unsigned int off)
{
    assert_int_equal(f->bus, 0);
    assert_true(off < 256);
    return &cfg[f->devfn >> 3][off];
}
static uint32_t fake_read(const struct pci_sbdf *f, unsigned int off, unsigned int size)
{
    if (!(f->devfn >> 3) || f->devfn & 7)
        return size == 4 ? ~0u : size == 2 ? 0xffff : 0xff; /* nobody there */
    uint32_t v = 0;
    memcpy(&v, cfgp(f, off), size);
    return v;
}
static void fake_write(const struct pci_sbdf *f, unsigned int off, unsigned int size, uint32_t val)
{
    cfg_writes++;
    memcpy(cfgp(f, off), &val, size);
}
static volatile uint32_t *fake_map(uint64_t mfn)
{
    if (mfn == TABLE >> 12)
        return mmio[0];
    if (mfn == PBA >> 12)
        return mmio[1];
    return NULL;
}
static uint32_t fake_apic(void) { return 3; }
/* A 24-pin I/O APIC */
static struct { uint8_t vector, level, masked, programmed; uint32_t apic; } rte[24];
static unsigned int fake_gsi_count(void) { return 24; }
static void fake_gsi_program(unsigned int gsi, uint8_t vector, int level, uint32_t apic)
{
    assert_true(gsi < 24);
    rte[gsi].vector = vector, rte[gsi].level = (uint8_t)level, rte[gsi].apic = apic;
    rte[gsi].masked = 1, rte[gsi].programmed = 1;
}
static void fake_gsi_mask(unsigned int gsi, int masked)
{
    assert_true(gsi < 24 && rte[gsi].programmed);
    rte[gsi].masked = (uint8_t)masked;
}
static const struct pci_hw_ops fake_hw = { fake_read, fake_write, fake_map, fake_apic,
                                           fake_gsi_count, fake_gsi_program, fake_gsi_mask };

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void fake_pci_init(void)
{
    memset(cfg, 0, sizeof(cfg));
    memset(mmio, 0, sizeof(mmio));
    cfg_writes = 0;
    memset(rte, 0, sizeof(rte));
    for (unsigned int d = 4; d <= 7; d++) {
        put32(cfg[d], 0x11e81234);
        put16(cfg[d] + 6, 0x10); /* status: capability list */
    }
    uint8_t *a = cfg[4];
    a[0x34] = 0x50;
    a[0x50] = PCI_CAP_ID_MSI, a[0x51] = 0;
    put16(a + 0x52, 0x0180 | 0x0002); /* 64-bit, maskable, MMC 2 vectors */
    put32(a + 0x60, 1);               /* mask bit set by reset */
    uint8_t *b = cfg[5];
    b[0x34] = 0x40;
    b[0x40] = 0x01, b[0x41] = 0x60;
    b[0x60] = PCI_CAP_ID_MSIX, b[0x61] = 0;
    put16(b + 0x62, 127);
    put32(b + 0x64, 0x2000 | 2);
    put32(b + 0x68, 0x3000 | 2);
    put32(b + 0x18, (uint32_t)BAR2 | 0x4); /* BAR2: 64-bit memory */
    put32(b + 0x1c, (uint32_t)(BAR2 >> 32));
    for (unsigned int e = 0; e < 128; e++)
        mmio[0][e * 4 + 3] = 1; /* entries masked at reset */
    put16(cfg[6] + 6, 0);
    cfg[7][0x34] = 0x40;
    cfg[7][0x40] = 0x09, cfg[7][0x41] = 0x40;
}

static struct domain *d0, *d1;
static shared_info_t shinfo[2];

static int setup(void **state)
{
    (void)state;
    memset(domains, 0, sizeof(domains));
    memset(shinfo, 0, sizeof(shinfo));
    for (unsigned int i = 0; i < 2; i++) {
        struct domain *d = &domains[i];
        d->domid = (uint16_t)i;
        d->state = DOM_RUNNING;
        d->privileged = i == 0;
        d->shared_info = &shinfo[i];
        d->max_vcpus = 1;
        d->vcpus[0].domain = d;
        d->vcpus[0].info = &shinfo[i].vcpu_info[0];
        evtchn_domain_init(d);
    }
    d0 = &domains[0], d1 = &domains[1];
    fake_pci_init();
    pirq_reset();
    pirq_hw = &fake_hw;
    return 0;
}

static long physdev(struct domain *d, unsigned int cmd, void *arg)
{
    return do_physdev_op(&d->vcpus[0], cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}
static long evtchn(struct domain *d, unsigned int cmd, void *arg)
{
    return do_event_channel_op(&d->vcpus[0], cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

/* map_pirq as Linux's xen_initdom_setup_msi_irqs asks (index -1, pirq
 * -1, MSI_SEG; table_base only for MSI-X): the pirq, or the errno. */
static int map(struct domain *d, domid_t dom, unsigned int devfn, int msix, int entry)
{
    struct physdev_map_pirq m = { .domid = dom, .type = MAP_PIRQ_TYPE_MSI_SEG, .index = -1,
                                  .pirq = -1, .bus = 0, .devfn = (int)devfn,
                                  .entry_nr = entry, .table_base = msix ? 0xbad0000 : 0 };
    long rc = physdev(d, PHYSDEVOP_map_pirq, &m);
    return rc ? (int)rc : m.pirq;
}
static long unmap(struct domain *d, domid_t dom, int pirq)
{
    struct physdev_unmap_pirq u = { .domid = dom, .pirq = pirq };
    return physdev(d, PHYSDEVOP_unmap_pirq, &u);
}
static int bind(struct domain *d, unsigned int pirq)
{
    evtchn_bind_pirq_t b = { .pirq = pirq };
    long rc = evtchn(d, EVTCHNOP_bind_pirq, &b);
    return rc ? (int)rc : (int)b.port;
}
static long closep(struct domain *d, unsigned int port)
{
    evtchn_close_t c = { .port = port };
    return evtchn(d, EVTCHNOP_close, &c);
}
static int pending(struct domain *d, unsigned int port)
{
    return (int)(d->shared_info->evtchn_pending[port / 64] >> (port % 64) & 1);
}
static void clear_pending(struct domain *d, unsigned int port)
{
    d->shared_info->evtchn_pending[port / 64] &= ~(1ULL << (port % 64));
}

/* ---- tests ---- */

static void test_cap_walk(void **state)
{
    (void)state;
    struct pci_sbdf a = { 0, 0, DEV_MSI }, b = { 0, 0, DEV_MSIX }, c = { 0, 0, DEV_NONE },
                    l = { 0, 0, DEV_LOOP }, x = { 0, 0, 9 << 3 };
    assert_int_equal(msi_find_cap(&fake_hw, &a, PCI_CAP_ID_MSI), 0x50);
    assert_int_equal(msi_find_cap(&fake_hw, &a, PCI_CAP_ID_MSIX), 0);
    assert_int_equal(msi_find_cap(&fake_hw, &b, PCI_CAP_ID_MSIX), 0x60);
    assert_int_equal(msi_find_cap(&fake_hw, &b, 0x01), 0x40);
    assert_int_equal(msi_find_cap(&fake_hw, &c, PCI_CAP_ID_MSI), 0);
    assert_int_equal(msi_find_cap(&fake_hw, &l, PCI_CAP_ID_MSI), 0); /* ends */
    assert_int_equal(msi_find_cap(&fake_hw, &x, PCI_CAP_ID_MSI), 0);
    cfg[4][0x34] = 0x20; /* a pointer into the header: not a capability */
    assert_int_equal(msi_find_cap(&fake_hw, &a, PCI_CAP_ID_MSI), 0);
}

static void test_compose(void **state)
{
    (void)state;
    uint64_t addr;
    uint32_t data;
    msi_compose(3, 0x41, &addr, &data);
    assert_int_equal(addr, 0xfee03000);
    assert_int_equal(data, 0x4041); /* edge, assert, fixed, vector 0x41 */
    msi_compose(0, 0xdf, &addr, &data);
    assert_int_equal(addr, 0xfee00000);
    assert_int_equal(data & 0xff, 0xdf);
}

static void test_map_msi(void **state)
{
    (void)state;
    int p = map(d0, DOMID_SELF, DEV_MSI, 0, 0);
    assert_int_equal(p, PIRQ_FIRST_MSI);
    const struct pirq *q = pirq_get((unsigned int)p);
    assert_non_null(q);
    assert_int_equal(q->kind, PIRQ_MSI);
    assert_int_equal(q->owner, 0);
    assert_true(q->vector >= IRQ_VEC_FIRST && q->vector <= IRQ_VEC_LAST);
    uint8_t *a = cfg[4];
    assert_int_equal(get32(a + 0x54), 0xfee03000); /* CPU0's APIC id 3 */
    assert_int_equal(get32(a + 0x58), 0);
    assert_int_equal(get16(a + 0x5c), 0x4000 | q->vector);
    assert_int_equal(get32(a + 0x60) & 1, 0);      /* unmasked */
    assert_int_equal(get16(a + 0x52) & 0x71, 0x01); /* enabled, one vector */
    /* once per function; unmap masks and disables */
    assert_int_equal(map(d0, 0, DEV_MSI, 0, 0), -XL_EEXIST);
    assert_int_equal(unmap(d0, DOMID_SELF, p), 0);
    assert_int_equal(get16(a + 0x52) & 1, 0);
    assert_int_equal(get32(a + 0x60) & 1, 1);
    assert_null(pirq_get((unsigned int)p));
    assert_int_equal(unmap(d0, DOMID_SELF, p), -XL_EINVAL); /* twice */
    /* the vector and pirq are free again */
    assert_int_equal(map(d0, 0, DEV_MSI, 0, 0), p);
}

static void test_map_msix(void **state)
{
    (void)state;
    mmio[0][9 * 4 + 3] = 0;  /* an entry dom0 left unmasked: masked at the first map */
    int p = map(d0, DOMID_SELF, DEV_MSIX, 1, 5);
    assert_true(p >= PIRQ_FIRST_MSI);
    assert_int_equal(mmio[0][9 * 4 + 3] & 1, 1);
    const struct pirq *q = pirq_get((unsigned int)p);
    assert_int_equal(q->kind, PIRQ_MSIX);
    assert_int_equal(q->msix.entry_maddr, TABLE + 5 * 16);
    volatile uint32_t *e = &mmio[0][5 * 4];
    assert_int_equal(e[0], 0xfee03000);
    assert_int_equal(e[1], 0);
    assert_int_equal(e[2], 0x4000 | q->vector);
    assert_int_equal(e[3] & 1, 0);                    /* entry unmasked */
    assert_int_equal(mmio[0][4 * 4 + 3] & 1, 1);      /* its neighbours untouched */
    uint16_t ctrl = get16(cfg[5] + 0x62);
    assert_int_equal(ctrl & 0xc000, 0x8000);          /* enabled, function mask clear */
    /* the table and PBA frames are read-only for dom0 now; others not */
    assert_false(pirq_mmio_writable(TABLE >> 12));
    assert_false(pirq_mmio_writable(PBA >> 12));
    assert_true(pirq_mmio_writable(BAR2 >> 12));
    /* a second entry; the same entry twice; one beyond the table */
    int p2 = map(d0, DOMID_SELF, DEV_MSIX, 1, 6);
    assert_true(p2 > p);
    assert_int_not_equal(pirq_get((unsigned int)p2)->vector, q->vector);
    assert_int_equal(map(d0, DOMID_SELF, DEV_MSIX, 1, 5), -XL_EEXIST);
    assert_int_equal(map(d0, DOMID_SELF, DEV_MSIX, 1, 128), -XL_EINVAL);
    assert_int_equal(map(d0, DOMID_SELF, DEV_MSIX, 1, -1), -XL_EINVAL);
    /* MSI on a function without MSI, MSI-X on one without MSI-X */
    assert_int_equal(map(d0, DOMID_SELF, DEV_MSIX, 0, 0), -XEN_ENODEV);
    assert_int_equal(map(d0, DOMID_SELF, DEV_MSI, 1, 0), -XEN_ENODEV);
    assert_int_equal(map(d0, DOMID_SELF, DEV_NONE, 0, 0), -XEN_ENODEV);
    /* unmapping one entry masks it; MSI-X stays on for the other */
    assert_int_equal(unmap(d0, 0, p), 0);
    assert_int_equal(e[3] & 1, 1);
    assert_int_equal(get16(cfg[5] + 0x62) & 0x8000, 0x8000);
    assert_false(pirq_mmio_writable(TABLE >> 12));
    assert_int_equal(unmap(d0, 0, p2), 0);
    assert_int_equal(get16(cfg[5] + 0x62) & 0x8000, 0);
    assert_true(pirq_mmio_writable(TABLE >> 12));
    assert_true(pirq_mmio_writable(PBA >> 12));
}

static void test_msix_bad_bars(void **state)
{
    (void)state;
    put32(cfg[5] + 0x64, 0x2000 | 6); /* BIR 6 */
    assert_int_equal(map(d0, 0, DEV_MSIX, 1, 0), -XL_EINVAL);
    put32(cfg[5] + 0x64, 0x2000 | 1); /* BIR 1: unassigned */
    assert_int_equal(map(d0, 0, DEV_MSIX, 1, 0), -XL_EINVAL);
    put32(cfg[5] + 0x14, 0xc001);     /* BIR 1: an I/O BAR */
    assert_int_equal(map(d0, 0, DEV_MSIX, 1, 0), -XL_EINVAL);
    put32(cfg[5] + 0x14, 0xfe000000); /* BIR 1: a BAR the fake cannot map */
    assert_int_equal(map(d0, 0, DEV_MSIX, 1, 0), -XEN_ENXIO);
    assert_null(pirq_get(PIRQ_FIRST_MSI));   /* nothing left behind */
    assert_int_equal(pirq_find_free(), PIRQ_FIRST_MSI);
}

static void test_refusals(void **state)
{
    (void)state;
    struct physdev_map_pirq m = { .domid = DOMID_SELF, .type = MAP_PIRQ_TYPE_MSI, .index = -1,
                                  .pirq = -1, .devfn = DEV_MSI };
    /* a domU, for itself or for dom0; dom0 for a domU */
    assert_int_equal(map(d1, DOMID_SELF, DEV_MSI, 0, 0), -XL_EPERM);
    assert_int_equal(map(d1, 0, DEV_MSI, 0, 0), -XL_EPERM);
    assert_int_equal(map(d0, 1, DEV_MSI, 0, 0), -XL_EPERM);
    assert_int_equal(map(d0, 9, DEV_MSI, 0, 0), -XL_ESRCH);
    assert_int_equal(cfg_writes, 0); /* no device touched */
    m.index = 3;
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XL_EINVAL);
    m.index = -1, m.type = 7;
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XL_EINVAL);
    m.type = MAP_PIRQ_TYPE_GSI; /* index -1: no GSI */
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XL_EINVAL);
    m.type = MAP_PIRQ_TYPE_MSI_SEG, m.bus = 1 << 16; /* segment 1 */
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XEN_ENODEV);
    m.bus = 0, m.pirq = 5; /* a GSI's pirq */
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XL_EINVAL);
    m.pirq = PIRQ_NR;
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XL_EINVAL);
    m.pirq = 77; /* a chosen one */
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), 0);
    assert_int_equal(m.pirq, 77);
    m.devfn = DEV_MSIX, m.table_base = 1, m.index = -1; /* (index came back as the pirq) */
    assert_int_equal(physdev(d0, PHYSDEVOP_map_pirq, &m), -XL_EEXIST); /* 77 is taken */
    /* unmap: a domU, another's, a bad one */
    assert_int_equal(unmap(d1, DOMID_SELF, 77), -XL_EPERM);
    assert_int_equal(unmap(d1, 0, 77), -XL_EPERM);
    assert_int_equal(unmap(d0, 0, -1), -XL_EINVAL);
    assert_int_equal(unmap(d0, 0, 9999), -XL_EINVAL);
    assert_int_equal(unmap(d0, 0, 78), -XL_EINVAL);
    /* bind: a domU (-EPERM), an unmapped pirq (-EPERM, as Xen's
     * pirq_access_permitted), one beyond the table (-EINVAL) */
    assert_int_equal(bind(d1, 77), -XL_EPERM);
    assert_int_equal(bind(d0, 78), -XL_EPERM);
    assert_int_equal(bind(d0, PIRQ_NR), -XL_EINVAL);
    /* status query and eoi: flags 0 (MSI needs no EOI), range checked */
    struct physdev_irq_status_query sq = { .irq = 77, .flags = 0xff };
    assert_int_equal(physdev(d0, PHYSDEVOP_irq_status_query, &sq), 0);
    assert_int_equal(sq.flags, 0);
    sq.irq = PIRQ_NR;
    assert_int_equal(physdev(d0, PHYSDEVOP_irq_status_query, &sq), -XL_EINVAL);
    struct physdev_eoi eoi = { .irq = 77 };
    assert_int_equal(physdev(d0, PHYSDEVOP_eoi, &eoi), 0);
    eoi.irq = 1000;
    assert_int_equal(physdev(d0, PHYSDEVOP_eoi, &eoi), -XL_EINVAL);
    struct physdev_get_free_pirq g = { .type = MAP_PIRQ_TYPE_MSI };
    assert_int_equal(physdev(d0, PHYSDEVOP_get_free_pirq, &g), 0);
    assert_int_equal(g.pirq, PIRQ_FIRST_MSI);
    assert_int_equal(physdev(d1, PHYSDEVOP_get_free_pirq, &g), -XL_EPERM);
}

static void test_bind_and_deliver(void **state)
{
    (void)state;
    int p = map(d0, DOMID_SELF, DEV_MSI, 0, 0);
    assert_true(p > 0);
    unsigned int vec = pirq_get((unsigned int)p)->vector;
    /* not bound yet: dropped */
    physdev_interrupt(vec);
    assert_int_equal(pirq_dropped(), 1);
    int port = bind(d0, (unsigned int)p);
    assert_true(port > 0);
    assert_int_equal(bind(d0, (unsigned int)p), -XL_EEXIST);
    evtchn_status_t st = { .dom = DOMID_SELF, .port = (evtchn_port_t)port };
    assert_int_equal(evtchn(d0, EVTCHNOP_status, &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_pirq);
    assert_int_equal(st.u.pirq, p);
    /* 200 interrupts, each an event on the port */
    for (int i = 0; i < 200; i++) {
        assert_false(pending(d0, (unsigned int)port));
        physdev_interrupt(vec);
        assert_true(pending(d0, (unsigned int)port));
        clear_pending(d0, (unsigned int)port);
    }
    assert_int_equal(pirq_get((unsigned int)p)->delivered, 200);
    assert_int_equal(pirq_dropped(), 1);
    assert_int_equal(shinfo[0].vcpu_info[0].evtchn_upcall_pending, 1);
    /* a vector nobody has, and a fixed vector: dropped */
    physdev_interrupt(IRQ_VEC_LAST);
    assert_int_equal(pirq_dropped(), 2);
    /* closing unbinds: the next interrupt is dropped, a new bind works */
    assert_int_equal(closep(d0, (unsigned int)port), 0);
    physdev_interrupt(vec);
    assert_false(pending(d0, (unsigned int)port));
    assert_int_equal(pirq_dropped(), 3);
    port = bind(d0, (unsigned int)p);
    assert_true(port > 0);
    /* unmap while bound: the port stays, gets nothing; closing it later
     * does not touch a new mapping with the same pirq number */
    assert_int_equal(unmap(d0, DOMID_SELF, p), 0);
    physdev_interrupt(vec);
    assert_false(pending(d0, (unsigned int)port));
    assert_int_equal(map(d0, DOMID_SELF, DEV_MSI, 0, 0), p);
    int port2 = bind(d0, (unsigned int)p);
    assert_true(port2 > 0 && port2 != port);
    assert_int_equal(closep(d0, (unsigned int)port), 0);
    physdev_interrupt(pirq_get((unsigned int)p)->vector);
    assert_true(pending(d0, (unsigned int)port2));
    /* a dying domain's pirqs go: device quiet, vector free */
    pirq_domain_destroy(d0);
    assert_null(pirq_get((unsigned int)p));
    assert_int_equal(get16(cfg[4] + 0x52) & 1, 0);
}

static int map_gsi(struct domain *d, int gsi, int pirq)
{
    struct physdev_map_pirq m = { .domid = DOMID_SELF, .type = MAP_PIRQ_TYPE_GSI, .index = gsi,
                                  .pirq = pirq };
    long rc = physdev(d, PHYSDEVOP_map_pirq, &m);
    return rc ? (int)rc : m.pirq;
}
static int needs_eoi(struct domain *d, unsigned int pirq)
{
    struct physdev_irq_status_query q = { .irq = pirq };
    assert_int_equal(physdev(d, PHYSDEVOP_irq_status_query, &q), 0);
    return (q.flags & XENIRQSTAT_needs_eoi) != 0;
}
static long eoi(struct domain *d, unsigned int pirq)
{
    struct physdev_eoi e = { .irq = pirq };
    return physdev(d, PHYSDEVOP_eoi, &e);
}

static void test_gsi(void **state)
{
    (void)state;
    /* refusals: a domU, the hv's pins, beyond the pins, a pirq != gsi */
    assert_int_equal(map_gsi(d1, 16, -1), -XL_EPERM);
    assert_int_equal(map_gsi(d0, 4, -1), -XL_EPERM);
    assert_int_equal(map_gsi(d0, 0, -1), -XL_EPERM);
    assert_int_equal(map_gsi(d0, 24, -1), -XL_EINVAL);
    assert_int_equal(map_gsi(d0, -1, -1), -XL_EINVAL);
    assert_int_equal(map_gsi(d0, 16, 40), -XL_EINVAL);
    assert_false(rte[4].programmed);
    /* a PCI GSI: level, low, masked until bound; mapping it again is 0 */
    assert_int_equal(map_gsi(d0, 16, -1), 16);
    assert_int_equal(map_gsi(d0, 16, 16), 16);
    assert_true(rte[16].programmed && rte[16].level && rte[16].masked);
    assert_int_equal(rte[16].apic, 3);
    assert_int_equal(rte[16].vector, pirq_get(16)->vector);
    assert_true(needs_eoi(d0, 16));
    assert_int_equal(map_gsi(d0, 9, -1), 9); /* ISA: edge */
    assert_false(rte[9].level);
    assert_false(needs_eoi(d0, 9));
    /* bound: unmasked; an interrupt masks it until the EOI */
    int port = bind(d0, 16);
    assert_true(port > 0);
    assert_false(rte[16].masked);
    physdev_interrupt(rte[16].vector);
    assert_true(pending(d0, (unsigned int)port));
    assert_true(rte[16].masked);
    clear_pending(d0, (unsigned int)port);
    assert_int_equal(eoi(d1, 16), 0);       /* not d1's: nothing */
    assert_true(rte[16].masked);
    assert_int_equal(eoi(d0, 16), 0);
    assert_false(rte[16].masked);
    assert_int_equal(eoi(d0, 16), 0);       /* twice: nothing more */
    assert_false(rte[16].masked);
    /* edge: never masked by an interrupt */
    int port9 = bind(d0, 9);
    physdev_interrupt(rte[9].vector);
    assert_true(pending(d0, (unsigned int)port9));
    assert_false(rte[9].masked);
    /* close masks; unmap masks and frees */
    assert_int_equal(closep(d0, (unsigned int)port), 0);
    assert_true(rte[16].masked);
    assert_int_equal(eoi(d0, 16), 0);       /* an EOI does not unmask an unbound pin */
    assert_true(rte[16].masked);
    assert_int_equal(unmap(d0, DOMID_SELF, 9), 0);
    assert_true(rte[9].masked);
    assert_null(pirq_get(9));
    assert_int_equal(unmap(d1, DOMID_SELF, 16), -XL_EPERM);
    assert_int_equal(unmap(d0, DOMID_SELF, 16), 0);
    assert_int_equal(unmap(d0, DOMID_SELF, 16), -XL_EINVAL);
}

static void test_exhaustion(void **state)
{
    (void)state;
    int n = 0;
    for (int e = 0; e < 128; e++) {
        int p = map(d0, DOMID_SELF, DEV_MSIX, 1, e);
        if (p < 0) {
            assert_int_equal(p, -XL_ENOSPC);
            break;
        }
        n++;
    }
    assert_int_equal(n, PIRQ_NR - PIRQ_FIRST_MSI);
    /* every vector distinct and in range */
    uint8_t seen[256] = { 0 };
    for (unsigned int p = PIRQ_FIRST_MSI; p < PIRQ_NR; p++) {
        unsigned int v = pirq_get(p)->vector;
        assert_true(v >= IRQ_VEC_FIRST && v <= IRQ_VEC_LAST);
        assert_false(seen[v]);
        seen[v] = 1;
    }
    struct physdev_get_free_pirq g = { .type = MAP_PIRQ_TYPE_MSI };
    assert_int_equal(physdev(d0, PHYSDEVOP_get_free_pirq, &g), -XL_ENOSPC);
    pirq_domain_destroy(d0);
    assert_int_equal(get16(cfg[5] + 0x62) & 0x8000, 0);
    assert_int_equal(pirq_find_free(), PIRQ_FIRST_MSI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cap_walk, setup),
        cmocka_unit_test_setup(test_compose, setup),
        cmocka_unit_test_setup(test_map_msi, setup),
        cmocka_unit_test_setup(test_map_msix, setup),
        cmocka_unit_test_setup(test_msix_bad_bars, setup),
        cmocka_unit_test_setup(test_refusals, setup),
        cmocka_unit_test_setup(test_bind_and_deliver, setup),
        cmocka_unit_test_setup(test_gsi, setup),
        cmocka_unit_test_setup(test_exhaustion, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
