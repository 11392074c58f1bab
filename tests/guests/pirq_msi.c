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

/* Raise n interrupts one at a time, each waited for and acknowledged. */
static unsigned int raise_each(unsigned int n)
{
    unsigned int got = 0;
    for (unsigned int i = 0; i < n; i++) {
        unsigned int before = irqs;
        edu[EDU_RAISE / 4] = 1;
        if (!wait_irqs(before + 1, 1000 * MS))
            break;
        edu[EDU_ACK / 4] = 1;
        got++;
    }
    return got;
}

static const struct pci_dev *find_edu(struct pci_dev *devs, int n)
{
    for (int i = 0; i < n; i++)
        if (devs[i].vendor == 0x1234 && devs[i].device == 0x11e8)
            return &devs[i];
    return NULL;
}

static void run(void)
{
    static struct pci_dev devs[PCI_MAX_DEVS];
    if (!check_eq("traps_init (event callback)", traps_init(), 0) ||
        !check_true("shared_info mapped", guest_shared_info != NULL))
        return;
    int n = pci_scan(devs, PCI_MAX_DEVS);
    const struct pci_dev *d = find_edu(devs, n);
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
    check_eq("bind_pirq 100 (not mapped) -> -EINVAL", bind_raw(100), -XEN_EINVAL);
    check_eq("unmap_pirq 100 (not mapped) -> -EINVAL", unmap_raw(100), -XEN_EINVAL);

    if (!check_eq("pci_irq_bind_msi -> 0", pci_irq_bind_msi(d, &port, &pirq), 0))
        return;
    printk("edu: pirq %d on port %u\n", pirq, port);
    uint16_t ctrl, data;
    uint32_t addr;
    msi_regs(d, cap, &ctrl, &addr, &data);
    check_true("MSI enabled by the hypervisor, one vector", (ctrl & 0x71) == 0x01);
    check_eq("MSI address: the LAPIC window", addr & 0xfff00000, 0xfee00000);
    check_true("MSI data: fixed, edge, a vector in 0x40-0xdf",
               (data & 0x8700) == 0 && (data & 0xff) >= 0x40 && (data & 0xff) <= 0xdf);
    check_eq("map_pirq of the same function again -> -EEXIST", map_raw(DOMID_SELF, d, 0),
             -XEN_EEXIST);
    check_eq("bind_pirq of a bound pirq -> -EEXIST", bind_raw((uint32_t)pirq), -XEN_EEXIST);
    struct physdev_irq_status_query q = { .irq = (uint32_t)pirq };
    check_eq("irq_status_query -> 0", HYPERVISOR_physdev_op(PHYSDEVOP_irq_status_query, &q), 0);
    check_eq("irq_status_query: no EOI needed (MSI)", q.flags & XENIRQSTAT_needs_eoi, 0);
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
    check_eq("MSI disabled by the hypervisor on unmap", ctrl & 1, 0);
    unsigned int before = irqs;
    edu[EDU_RAISE / 4] = 1;
    check_true("no event within 100 ms of a raise after unmap", !wait_irqs(before + 1, 100 * MS));
    check_eq("port not pending", port_pending(port), 0);
    edu[EDU_ACK / 4] = 1;
    check_eq("unmap_pirq twice -> -EINVAL", unmap_raw(pirq), -XEN_EINVAL);
    check_eq("bind_pirq after unmap -> -EINVAL", bind_raw((uint32_t)pirq), -XEN_EINVAL);
    evtchn_unbind(port);
    check_eq("close the old port -> 0", evtchn_close(port), 0);

    /* And once more through the kit, to see it comes back. */
    if (!check_eq("pci_irq_bind_msi again -> 0", pci_irq_bind_msi(d, &port, &pirq), 0))
        return;
    evtchn_bind(port, on_irq, NULL);
    irqs = 0;
    check_eq("10 more interrupts after a re-map", raise_each(10), 10);
    check_eq("pci_irq_unbind -> 0", pci_irq_unbind(d, pirq, port), 0);
    check_eq("pci_irq_unbind again -> -EINVAL", pci_irq_unbind(d, pirq, port), -XEN_EINVAL);
}

int guest_main(start_info_t *si)
{
    (void)si;
    run();
    return check_summary("pirq_msi");
}
