/*
 * pirq_msi.c - a PV test kernel run as dom0 next to QEMU's `edu` device
 * (run-qemu.sh --device edu): finds it with the kit's PCI scan, routes
 * its MSI to an event channel with pci_irq_bind_msi (PHYSDEVOP_map_pirq
 * + EVTCHNOP_bind_pirq), raises 200 interrupts one at a time (edu: a
 * write to BAR0 + 0x60 raises, + 0x64 acknowledges) and counts exactly
 * 200 events; checks the hypervisor programmed the MSI capability (and
 * turned it off again on unmap), that an interrupt raised after
 * PHYSDEVOP_unmap_pirq reaches no port, and the refusals: MSI-X on a
 * function without it, a second map of the same function, a foreign
 * domain, bad and unmapped pirqs, a double bind, an unmap twice.
 * Then its INTx (MSI off) as a GSI: GSIs 16-23 mapped and bound, the one
 * edu's INTA reaches fires, stays masked until PHYSDEVOP_eoi while the
 * level line is asserted, 20 raise/ack/EOI rounds = 20 events.
 * With a modern virtio-rng-pci (1af4:1044) present too, the same for an
 * MSI-X entry: pci_irq_bind_msix on entry 0, the hypervisor enabled
 * MSI-X, the table page refused to a writable mapping while mapped, a
 * virtqueue with queue vector 0 whose buffers filled by the device
 * arrive as events, MSI-X off and the table mappable after unbind, and
 * no event for a buffer filled then. With a device whose MSI-X table is
 * above 4 GiB (QEMU's nvme), the entry the hypervisor wrote through its
 * fixmap, read back through a read-only mapping.
 * One PASS/FAIL line per check, then "pirq_msi: N passed, M failed".
 * Must never: write the MSI address/data itself (the check is that the
 * hypervisor did).
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/evtchn.h>
#include <xlguest/kernel.h>
#include <xlguest/pci.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>

#define MS 1000000ULL
#define EDU_ID     0x00
#define EDU_RAISE  0x60
#define EDU_ACK    0x64
#define NR_IRQS    200

static volatile unsigned int irqs, ticks;
/* Command line xen=1: running on a real Xen 4.17 (run-xen.sh), where
 * the checks of Xenolith's own choices are left out: the hv enabling
 * MSI/MSI-X by itself and without a PHYSDEVOP_pci_device_add, its
 * vector range, -EEXIST for a second MSI map, no EOI for MSI, -EPERM for
 * a writable MSI-X table mapping (Xen makes it read-only instead), GSIs
 * (Xen wants PHYSDEVOP_setup_gsi and ACPI's routing). What is left is
 * the kit working as a real PV dom0 on Xen. */
static int xen;
#define XL_ONLY if (!xen)
static volatile uint32_t *edu;

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void on_irq(evtchn_port_t p, void *d) { (void)p; (void)d; irqs++; }
static void on_timer(evtchn_port_t p, void *d) { (void)p; (void)d; ticks++; }

static uint64_t now(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

/* Until irqs reaches want, or ns pass (then 0). Blocks between events
 * with a 5 ms timer so the wait stays bounded. */
static int wait_irqs(unsigned int want, uint64_t ns)
{
    uint64_t end = now() + ns;
    while (irqs < want) {
        if (now() >= end)
            return 0;
        evtchn_disable_upcalls();
        if (irqs < want) {
            HYPERVISOR_set_timer_op(now() + 5 * MS);
            evtchn_block();
        }
        evtchn_enable_upcalls();
    }
    return 1;
}

/* Events pending or not, for the port, in 2-level shared_info. */
static int port_pending(uint32_t port)
{
    return (int)(guest_shared_info->evtchn_pending[port / 64] >> (port % 64) & 1);
}

static long map_raw(domid_t dom, const struct pci_dev *d, uint64_t table_base)
{
    struct physdev_map_pirq m = { .domid = dom, .type = MAP_PIRQ_TYPE_MSI_SEG, .index = -1,
                                  .pirq = -1, .bus = d->bus, .devfn = d->dev << 3 | d->fn,
                                  .entry_nr = 0, .table_base = table_base };
    long rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
    return rc ? rc : m.pirq;
}

static long unmap_raw(int pirq)
{
    struct physdev_unmap_pirq u = { .domid = DOMID_SELF, .pirq = pirq };
    return HYPERVISOR_physdev_op(PHYSDEVOP_unmap_pirq, &u);
}

static long bind_raw(uint32_t pirq)
{
    evtchn_bind_pirq_t b = { .pirq = pirq };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_pirq, &b);
    return rc ? rc : (long)b.port;
}

/* The MSI capability as the device holds it (64-bit: data at +12). */
static void msi_regs(const struct pci_dev *d, unsigned int cap, uint16_t *ctrl, uint32_t *addr,
                     uint16_t *data)
{
    *ctrl = pci_read16(d, cap + 2);
    *addr = pci_read32(d, cap + 4);
    *data = pci_read16(d, cap + (*ctrl & 0x80 ? 12 : 8));
}

/* Does the hypervisor want PHYSDEVOP_eoi after each event of pirq
 * (XENIRQSTAT_needs_eoi)? Xenolith: never for MSI; a real Xen: for an MSI
 * without per-vector masking, as edu's. */
static int needs_eoi;
static long pirq_eoi_call(int pirq)
{
    struct physdev_eoi e = { .irq = (uint32_t)pirq };
    return HYPERVISOR_physdev_op(PHYSDEVOP_eoi, &e);
}

/* Raise n interrupts one at a time, each waited for and acknowledged. */
static int cur_pirq;
static unsigned int raise_each(unsigned int n)
{
    unsigned int got = 0;
    for (unsigned int i = 0; i < n; i++) {
        unsigned int before = irqs;
        edu[EDU_RAISE / 4] = 1;
        if (!wait_irqs(before + 1, 1000 * MS))
            break;
        edu[EDU_ACK / 4] = 1;
        if (needs_eoi)
            pirq_eoi_call(cur_pirq);
        got++;
    }
    return got;
}


/* ---- INTx through the I/O APIC (MAP_PIRQ_TYPE_GSI) ----
 * edu's INTA, with MSI off, is a level line from raise to ack. Which GSI
 * it reaches depends on the chipset's routing (ACPI _PRT, which this
 * kernel does not read): map and bind GSIs 16-23 (q35's PIRQ A-H in APIC
 * mode) and see which one fires. */
#define GSI_FIRST 16
#define GSI_N 8
static volatile unsigned int gsi_hits[GSI_N];
static void on_gsi(evtchn_port_t p, void *d) { (void)p; gsi_hits[(uintptr_t)d]++; }

static long map_gsi(int gsi)
{
    struct physdev_map_pirq m = { .domid = DOMID_SELF, .type = MAP_PIRQ_TYPE_GSI,
                                  .index = gsi, .pirq = -1 };
    long rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
    return rc ? rc : m.pirq;
}
static unsigned int gsi_total(void)
{
    unsigned int n = 0;
    for (int i = 0; i < GSI_N; i++)
        n += gsi_hits[i];
    return n;
}
/* Until the hits on GSI g (or on all, g < 0) reach want, or ns pass. */
static int wait_gsi(int g, unsigned int want, uint64_t ns)
{
    uint64_t end = now() + ns;
    for (;;) {
        unsigned int have = g < 0 ? gsi_total() : gsi_hits[g - GSI_FIRST];
        if (have >= want)
            return 1;
        if (now() >= end)
            return 0;
        evtchn_disable_upcalls();
        HYPERVISOR_set_timer_op(now() + 5 * MS);
        evtchn_block();
        evtchn_enable_upcalls();
    }
}

static void run_gsi(void)
{
    check_eq("map_pirq GSI 4 (the hv's COM1) -> -EPERM", map_gsi(4), -XEN_EPERM);
    check_eq("map_pirq GSI 200 -> -EINVAL", map_gsi(200), -XEN_EINVAL);
    uint32_t ports[GSI_N];
    int ok = 1;
    for (int i = 0; i < GSI_N; i++) {
        ok &= map_gsi(GSI_FIRST + i) == GSI_FIRST + i;
        long p = bind_raw((uint32_t)(GSI_FIRST + i));
        ok &= p > 0;
        ports[i] = p > 0 ? (uint32_t)p : 0;
        if (p > 0)
            evtchn_bind(ports[i], on_gsi, (void *)(uintptr_t)i);
    }
    if (!check_true("GSIs 16-23 mapped as pirqs 16-23 and bound", ok))
        return;
    check_eq("map_pirq of a mapped GSI again -> 0 (same pirq)", map_gsi(GSI_FIRST), GSI_FIRST);
    struct physdev_irq_status_query q = { .irq = GSI_FIRST };
    HYPERVISOR_physdev_op(PHYSDEVOP_irq_status_query, &q);
    check_eq("irq_status_query GSI 16: needs EOI (level)", q.flags & XENIRQSTAT_needs_eoi,
             XENIRQSTAT_needs_eoi);
    edu[EDU_RAISE / 4] = 1;
    int g = -1;
    if (wait_gsi(-1, 1, 1000 * MS))
        for (int i = 0; i < GSI_N; i++)
            if (gsi_hits[i])
                g = GSI_FIRST + i;
    if (!check_true("edu's INTx raised an event on one of GSIs 16-23", g > 0))
        return;
    printk("edu: INTA is GSI %d\n", g);
    /* The line is still asserted: masked until the EOI, so no more events. */
    check_true("no second event while the level line stays asserted before the EOI",
               !wait_gsi(g, 2, 50 * MS));
    check_eq("PHYSDEVOP_eoi -> 0", pirq_eoi_call(g), 0);
    check_true("the EOI unmasks: the still-asserted line fires again",
               wait_gsi(g, 2, 1000 * MS));
    edu[EDU_ACK / 4] = 1; /* deassert */
    pirq_eoi_call(g);
    unsigned int base = gsi_hits[g - GSI_FIRST], got = 0;
    for (unsigned int i = 0; i < 20; i++) {
        edu[EDU_RAISE / 4] = 1;
        if (!wait_gsi(g, base + i + 1, 1000 * MS))
            break;
        edu[EDU_ACK / 4] = 1;
        pirq_eoi_call(g);
        got++;
    }
    check_eq("20 INTx raises, each one event after its EOI", got, 20);
    check_eq("no events on the other GSIs", gsi_total() - gsi_hits[g - GSI_FIRST], 0);
    int unmapped = 1;
    for (int i = 0; i < GSI_N; i++) {
        evtchn_unbind(ports[i]);
        unmapped &= evtchn_close(ports[i]) == 0 && unmap_raw(GSI_FIRST + i) == 0;
    }
    check_true("GSIs closed and unmapped", unmapped);
    unsigned int before = gsi_total();
    edu[EDU_RAISE / 4] = 1;
    check_true("no event after the GSIs are unmapped", !wait_gsi(-1, before + 1, 100 * MS));
    edu[EDU_ACK / 4] = 1;
}

static const struct pci_dev *find_dev(struct pci_dev *devs, int n, uint16_t ven, uint16_t dev)
{
    for (int i = 0; i < n; i++)
        if (devs[i].vendor == ven && devs[i].device == dev)
            return &devs[i];
    return NULL;
}

/* ---- MSI-X with a modern virtio-rng-pci (virtio 1.x, section 4.1) ---- */
#define VIRTIO_CAP_COMMON 1
#define VIRTIO_CAP_NOTIFY 2
#define VQ_SIZE 8
struct vq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq_avail { uint16_t flags, idx, ring[VQ_SIZE]; };
struct vq_used_elem { uint32_t id, len; };
struct vq_used { uint16_t flags, idx; struct vq_used_elem ring[VQ_SIZE]; };
static struct vq_desc vq_desc[VQ_SIZE] __attribute__((aligned(4096)));
static struct vq_avail vq_avail __attribute__((aligned(4096)));
static struct vq_used vq_used __attribute__((aligned(4096)));
static uint8_t rng_buf[4096] __attribute__((aligned(4096)));
static volatile uint8_t *vcommon;
static volatile uint16_t *vnotify;

static uint64_t maddr(const void *va)
{
    return virt_to_mfn(va) << 12 | ((uint64_t)va & 4095);
}

/* Map the region a virtio vendor capability of this type names. */
static volatile uint8_t *virtio_region(const struct pci_dev *d, uint8_t type, uint32_t *mult)
{
    for (unsigned int c = pci_find_cap(d, 0x09, 0); c; c = pci_find_cap(d, 0x09, c)) {
        if (pci_read8(d, c + 3) != type)
            continue;
        uint64_t bar = pci_bar(d, pci_read8(d, c + 4), NULL);
        uint32_t off = pci_read32(d, c + 8), len = pci_read32(d, c + 12);
        if (mult)
            *mult = pci_read32(d, c + 16);
        return bar ? pci_mmio_map(bar + off, len) : NULL;
    }
    return NULL;
}

#define VC8(o)  (*(volatile uint8_t *)(vcommon + (o)))
#define VC16(o) (*(volatile uint16_t *)(vcommon + (o)))
#define VC32(o) (*(volatile uint32_t *)(vcommon + (o)))
#define VC64(o) (*(volatile uint64_t *)(vcommon + (o)))

/* Reset, VERSION_1 only, queue 0 of VQ_SIZE on MSI-X vector 0. */
static int virtio_rng_setup(uint16_t *qnotify_off)
{
    VC8(0x14) = 0;
    for (int i = 0; i < 1000 && VC8(0x14); i++)
        ;
    VC8(0x14) = 1 | 2;                     /* ACKNOWLEDGE | DRIVER */
    VC32(0x08) = 1, VC32(0x0c) = 1;        /* feature bit 32: VERSION_1 */
    VC32(0x08) = 0, VC32(0x0c) = 0;
    VC8(0x14) = 1 | 2 | 8;                 /* FEATURES_OK */
    if (!(VC8(0x14) & 8))
        return 0;
    VC16(0x10) = 0xffff;                   /* no config-change vector */
    VC16(0x16) = 0;                        /* queue_select */
    if (VC16(0x18) < VQ_SIZE)
        return 0;
    VC16(0x18) = VQ_SIZE;
    VC16(0x1a) = 0;                        /* queue_msix_vector: entry 0 */
    if (VC16(0x1a) != 0)
        return 0;
    VC64(0x20) = maddr(vq_desc);
    VC64(0x28) = maddr(&vq_avail);
    VC64(0x30) = maddr(&vq_used);
    *qnotify_off = VC16(0x1e);
    VC16(0x1c) = 1;                        /* queue_enable */
    VC8(0x14) = 1 | 2 | 8 | 4;             /* DRIVER_OK */
    return 1;
}

/* Give the device one 16-byte buffer to fill; the used index to wait for. */
static uint16_t rng_post(uint16_t qnotify_off, uint32_t mult)
{
    vq_desc[0] = (struct vq_desc){ .addr = maddr(rng_buf), .len = 16, .flags = 2 /* WRITE */ };
    vq_avail.ring[vq_avail.idx % VQ_SIZE] = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vq_avail.idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vnotify[(uint32_t)qnotify_off * mult / 2] = 0;
    return vq_avail.idx;
}

static int used_reaches(uint16_t idx, uint64_t ns)
{
    uint64_t end = now() + ns;
    while (__atomic_load_n(&vq_used.idx, __ATOMIC_SEQ_CST) != idx)
        if (now() >= end)
            return 0;
    return 1;
}

static void run_msix(const struct pci_dev *d)
{
    pci_enable(d);
    unsigned int cap = pci_find_cap(d, 0x11, 0);
    if (!check_true("virtio-rng has an MSI-X capability", cap != 0))
        return;
    uint32_t tbl = pci_read32(d, cap + 4);
    uint64_t table = pci_bar(d, tbl & 7, NULL) + (tbl & ~7u);
    uint32_t mult = 0;
    vcommon = virtio_region(d, VIRTIO_CAP_COMMON, NULL);
    vnotify = (volatile uint16_t *)virtio_region(d, VIRTIO_CAP_NOTIFY, &mult);
    if (!check_true("virtio common and notify regions mapped", vcommon && vnotify))
        return;
    uint32_t port;
    int pirq;
    long raw = xen ? -1 : map_raw(DOMID_SELF, d, 1); /* the hypervisor alone, as for MSI */
    XL_ONLY check_true("raw map_pirq MSI-X entry 0 -> a pirq", raw >= 32);
    XL_ONLY check_eq("  ... the hypervisor enabled MSI-X, function unmasked",
             pci_read16(d, cap + 2) & 0xc000, 0x8000);
    XL_ONLY check_eq("raw unmap_pirq (MSI-X) -> 0", unmap_raw((int)raw), 0);
    XL_ONLY check_eq("  ... the hypervisor disabled MSI-X with its last entry",
             pci_read16(d, cap + 2) & 0x8000, 0);
    if (!check_eq("pci_irq_bind_msix entry 0 -> 0", pci_irq_bind_msix(d, 0, &port, &pirq), 0))
        return;
    printk("virtio-rng: pirq %d on port %u, MSI-X table at %#lx\n", pirq, port,
           (unsigned long)table);
    check_eq("MSI-X enabled, function unmasked", pci_read16(d, cap + 2) & 0xc000, 0x8000);
    XL_ONLY check_true("MSI-X table page refused to a writable mapping while in use",
               pci_mmio_map(table, 16) == NULL);
    uint16_t qoff;
    if (!check_true("virtqueue 0 set up on MSI-X vector 0", virtio_rng_setup(&qoff)))
        return;
    evtchn_bind(port, on_irq, NULL);
    irqs = 0;
    unsigned int got = 0;
    for (unsigned int i = 0; i < 20; i++) {
        uint16_t idx = rng_post(qoff, mult);
        if (!wait_irqs(got + 1, 1000 * MS) || !used_reaches(idx, 100 * MS))
            break;
        got++;
    }
    check_eq("20 buffers filled, each an MSI-X event", got, 20);
    check_true("the device wrote bytes", vq_used.ring[0].len > 0);
    check_eq("pci_irq_unbind (MSI-X) -> 0", pci_irq_unbind(d, pirq, port), 0);
    XL_ONLY check_eq("MSI-X disabled by the hypervisor with its last entry",
             pci_read16(d, cap + 2) & 0x8000, 0);
    check_true("MSI-X table page mappable again after unmap", pci_mmio_map(table, 16) != NULL);
    unsigned int before = irqs;
    uint16_t idx = rng_post(qoff, mult);
    check_true("buffer filled after unmap", used_reaches(idx, 1000 * MS));
    check_true("no event for it within 100 ms", !wait_irqs(before + 1, 100 * MS));
    VC8(0x14) = 0; /* reset the device */
}


/* ---- an MSI-X table above 4 GiB (QEMU's nvme: BAR0 is 64-bit) ----
 * The hypervisor reaches such a table through its fixmap. Nothing makes
 * the device interrupt here; the check is what the hypervisor wrote:
 * entry 0 read back through a read-only mapping of the table page (a
 * page of this kernel's own, remapped). */
static uint8_t ro_page[4096] __attribute__((aligned(4096)));

static void run_msix_high(const struct pci_dev *d, uint64_t table)
{
    pci_enable(d);
    unsigned int cap = pci_find_cap(d, 0x11, 0);
    uint32_t port;
    int pirq;
    if (!check_eq("MSI-X above 4 GiB: pci_irq_bind_msix entry 0 -> 0",
                  pci_irq_bind_msix(d, 0, &port, &pirq), 0))
        return;
    check_true("MSI-X above 4 GiB: table page refused to a writable mapping",
               pci_mmio_map(table, 16) == NULL);
    /* present, user, PWT, PCD, accessed: read-only, uncached */
    long rc = HYPERVISOR_update_va_mapping((unsigned long)ro_page,
                                           (table & ~4095ULL) | 0x3dULL, UVMF_INVLPG);
    if (!check_eq("MSI-X above 4 GiB: read-only mapping of the table page -> 0", rc, 0))
        return;
    volatile uint32_t *e = (volatile uint32_t *)(ro_page + (table & 4095));
    check_eq("  ... entry 0 address: the LAPIC window", e[0] & 0xfff00000, 0xfee00000);
    check_true("  ... entry 0 data: fixed, edge, a vector in 0x40-0xdf",
               (e[2] & 0x8700) == 0 && (e[2] & 0xff) >= 0x40 && (e[2] & 0xff) <= 0xdf);
    check_eq("  ... entry 0 unmasked", e[3] & 1, 0);
    check_eq("  ... MSI-X enabled", pci_read16(d, cap + 2) & 0xc000, 0x8000);
    check_eq("MSI-X above 4 GiB: pci_irq_unbind -> 0", pci_irq_unbind(d, pirq, port), 0);
    check_eq("  ... entry 0 masked again", e[3] & 1, 1);
    check_eq("  ... MSI-X disabled", pci_read16(d, cap + 2) & 0x8000, 0);
}

static void run(void)
{
    static struct pci_dev devs[PCI_MAX_DEVS];
    if (!check_eq("traps_init (event callback)", traps_init(), 0) ||
        !check_true("shared_info mapped", guest_shared_info != NULL))
        return;
    int n = pci_scan(devs, PCI_MAX_DEVS);
    for (int i = 0; i < n; i++) {
        unsigned int mx = pci_find_cap(&devs[i], 0x11, 0);
        uint32_t t = mx ? pci_read32(&devs[i], mx + 4) : 0;
        if (mx)
            printk("pci %02x:%02x.%u %04x:%04x MSI-X table at %#lx\n", devs[i].bus, devs[i].dev,
                   devs[i].fn, devs[i].vendor, devs[i].device,
                   (unsigned long)(pci_bar(&devs[i], t & 7, NULL) + (t & ~7u)));
    }
    const struct pci_dev *rng = find_dev(devs, n, 0x1af4, 0x1044);
    const struct pci_dev *d = find_dev(devs, n, 0x1234, 0x11e8);
    if (!check_true("edu device found by the PCI scan", d != NULL))
        return;
    printk("edu at %02x:%02x.%u\n", d->bus, d->dev, d->fn);
    uint64_t size, bar = pci_bar(d, 0, &size);
    pci_enable(d);
    edu = pci_mmio_map(bar, 4096);
    if (!check_true("edu BAR0 mapped", edu != NULL))
        return;
    check_eq("edu identification register", edu[EDU_ID / 4] & 0xff0000ff, 0x010000ed);
    unsigned int cap = pci_find_cap(d, 0x05, 0);
    if (!check_true("edu has an MSI capability", cap != 0))
        return;

    uint32_t tport;
    evtchn_bind_virq(VIRQ_TIMER, &tport);
    evtchn_bind(tport, on_timer, NULL);

    /* refusals before anything is mapped */
    uint32_t port;
    int pirq;
    check_eq("pci_irq_bind_msix on a function without MSI-X -> -ENODEV",
             pci_irq_bind_msix(d, 0, &port, &pirq), -XEN_ENODEV);
    check_eq("map_pirq MSI-X (table_base set) without the capability -> -ENODEV",
             map_raw(DOMID_SELF, d, 0xfe000000), -XEN_ENODEV);
    check_eq("map_pirq for domain 7 (none) -> -ESRCH", map_raw(7, d, 0), -XEN_ESRCH);
    check_eq("bind_pirq 9999 -> -EINVAL", bind_raw(9999), -XEN_EINVAL);
    check_eq("bind_pirq 100 (not mapped) -> -EPERM", bind_raw(100), -XEN_EPERM);
    check_eq("unmap_pirq 100 (not mapped) -> -EINVAL", unmap_raw(100), -XEN_EINVAL);

    /* The hypervisor alone (no kit, which also sets the enable bits as
     * Linux does): map_pirq turns MSI on, unmap_pirq off. */
    long raw = xen ? -1 : map_raw(DOMID_SELF, d, 0);
    XL_ONLY check_true("raw map_pirq MSI -> a pirq", raw >= 32);
    XL_ONLY check_eq("  ... the hypervisor enabled MSI", pci_read16(d, cap + 2) & 1, 1);
    XL_ONLY check_eq("raw unmap_pirq -> 0", unmap_raw((int)raw), 0);
    XL_ONLY check_eq("  ... the hypervisor disabled MSI", pci_read16(d, cap + 2) & 1, 0);

    if (!check_eq("pci_irq_bind_msi -> 0", pci_irq_bind_msi(d, &port, &pirq), 0))
        return;
    printk("edu: pirq %d on port %u\n", pirq, port);
    uint16_t ctrl, data;
    uint32_t addr;
    msi_regs(d, cap, &ctrl, &addr, &data);
    check_true("MSI enabled, one vector", (ctrl & 0x71) == 0x01);
    check_eq("MSI address: the LAPIC window", addr & 0xfff00000, 0xfee00000);
    XL_ONLY check_true("MSI data: fixed, edge, a vector in 0x40-0xdf",
               (data & 0x8700) == 0 && (data & 0xff) >= 0x40 && (data & 0xff) <= 0xdf);
    XL_ONLY check_eq("map_pirq of the same function again -> -EEXIST", map_raw(DOMID_SELF, d, 0),
             -XEN_EEXIST);
    check_eq("bind_pirq of a bound pirq -> -EEXIST", bind_raw((uint32_t)pirq), -XEN_EEXIST);
    struct physdev_irq_status_query q = { .irq = (uint32_t)pirq };
    check_eq("irq_status_query -> 0", HYPERVISOR_physdev_op(PHYSDEVOP_irq_status_query, &q), 0);
    XL_ONLY check_eq("irq_status_query: no EOI needed (MSI)", q.flags & XENIRQSTAT_needs_eoi, 0);
    needs_eoi = (q.flags & XENIRQSTAT_needs_eoi) != 0, cur_pirq = pirq;
    evtchn_status_t st = { .dom = DOMID_SELF, .port = port };
    HYPERVISOR_event_channel_op(EVTCHNOP_status, &st);
    check_true("EVTCHNOP_status: pirq, ours", st.status == EVTCHNSTAT_pirq &&
                                                  st.u.pirq == (uint32_t)pirq);

    evtchn_bind(port, on_irq, NULL);
    evtchn_enable_upcalls();
    uint64_t t0 = now();
    unsigned int got = raise_each(NR_IRQS);
    uint64_t t1 = now();
    check_eq("200 interrupts raised, each delivered as one event", got, NR_IRQS);
    check_eq("events counted", irqs, NR_IRQS);
    printk("edu: %u interrupts in %lu us\n", got, (unsigned long)((t1 - t0) / 1000));

    /* Unmap with the port still bound and its handler in place: the
     * hypervisor turns MSI off; a raise now reaches nobody. */
    check_eq("unmap_pirq while bound -> 0", unmap_raw(pirq), 0);
    msi_regs(d, cap, &ctrl, &addr, &data);
    XL_ONLY check_eq("MSI disabled by the hypervisor on unmap", ctrl & 1, 0);
    unsigned int before = irqs;
    edu[EDU_RAISE / 4] = 1;
    check_true("no event within 100 ms of a raise after unmap", !wait_irqs(before + 1, 100 * MS));
    check_eq("port not pending", port_pending(port), 0);
    edu[EDU_ACK / 4] = 1;
    check_eq("unmap_pirq twice -> -EINVAL", unmap_raw(pirq), -XEN_EINVAL);
    check_eq("bind_pirq after unmap -> -EPERM", bind_raw((uint32_t)pirq), -XEN_EPERM);
    evtchn_unbind(port);
    check_eq("close the old port -> 0", evtchn_close(port), 0);

    /* And once more through the kit, to see it comes back. */
    if (!check_eq("pci_irq_bind_msi again -> 0", pci_irq_bind_msi(d, &port, &pirq), 0))
        return;
    evtchn_bind(port, on_irq, NULL);
    irqs = 0;
    cur_pirq = pirq;
    check_eq("10 more interrupts after a re-map", raise_each(10), 10);
    check_eq("pci_irq_unbind -> 0", pci_irq_unbind(d, pirq, port), 0);
    check_eq("pci_irq_unbind again -> -EINVAL", pci_irq_unbind(d, pirq, port), -XEN_EINVAL);
    if (!xen)
        run_gsi();
    if (rng)
        run_msix(rng);
    else
        printk("SKIP MSI-X: no modern virtio-rng-pci\n");
    for (int i = 0; i < n && !xen; i++) {
        unsigned int mx = pci_find_cap(&devs[i], 0x11, 0);
        if (!mx)
            continue;
        uint32_t t = pci_read32(&devs[i], mx + 4);
        uint64_t table = pci_bar(&devs[i], t & 7, NULL) + (t & ~7u);
        if (table >> 32) {
            printk("MSI-X above 4 GiB: %02x:%02x.%u, table at %#lx\n", devs[i].bus, devs[i].dev,
                   devs[i].fn, (unsigned long)table);
            run_msix_high(&devs[i], table);
            break;
        }
    }
}

int guest_main(start_info_t *si)
{
    char buf[8];
    xen = cmdline_get(si, "xen", buf, sizeof(buf)) != NULL;
    run();
    return check_summary("pirq_msi");
}
