/*
 * pci.c - dom0's PCI (xlguest/pci.h): configuration mechanism #1 through
 * ports 0xCF8/0xCFC (the hypervisor emulates port I/O for the privileged
 * domain once it has virtual IOPL), a scan of bus 0 and the buses behind
 * PCI-PCI bridges, BARs and capabilities, and a window of dom0's own
 * address space where device MMIO is mapped uncached.
 * Must never: write MSI/MSI-X address/data or touch the interrupt
 * controllers (pci_irq.c asks the hypervisor), or size a BAR of a device
 * whose decoding is on (sizing writes all-ones to the BAR).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pci.h>

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint32_t conf_addr(uint8_t bus, uint8_t dev, uint8_t fn, unsigned int off)
{
    return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)(dev & 31) << 11 |
           (uint32_t)(fn & 7) << 8 | (off & 0xfc);
}

static uint32_t conf_read(uint8_t bus, uint8_t dev, uint8_t fn, unsigned int off)
{
    outl(PCI_CONF_ADDR, conf_addr(bus, dev, fn, off));
    return inl(PCI_CONF_DATA);
}

static void conf_write(uint8_t bus, uint8_t dev, uint8_t fn, unsigned int off, uint32_t v)
{
    outl(PCI_CONF_ADDR, conf_addr(bus, dev, fn, off));
    outl(PCI_CONF_DATA, v);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned int off)
{
    return conf_read(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned int off)
{
    return (uint16_t)(pci_read32(d, off) >> ((off & 2) * 8));
}

uint8_t pci_read8(const struct pci_dev *d, unsigned int off)
{
    return (uint8_t)(pci_read32(d, off) >> ((off & 3) * 8));
}

void pci_write32(const struct pci_dev *d, unsigned int off, uint32_t v)
{
    conf_write(d->bus, d->dev, d->fn, off, v);
}

/* Narrow writes as read-modify-write of the dword: mechanism #1 through
 * 32-bit ports only. Fields next to the one written are written back as
 * read (none of the registers this kit writes narrowly has write-1-to-
 * clear neighbours except Status, which pci_write16 never touches: off 6
 * is refused). */
void pci_write16(const struct pci_dev *d, unsigned int off, uint16_t v)
{
    if ((off & ~3u) == 4 && (off & 2))
        return;
    unsigned int sh = (off & 2) * 8;
    uint32_t w = pci_read32(d, off);
    w = (w & ~(0xffffu << sh)) | (uint32_t)v << sh;
    if ((off & ~3u) == 4)
        w &= 0xffff;    /* Status (RW1C) written as 0: nothing cleared */
    pci_write32(d, off, w);
}

void pci_write8(const struct pci_dev *d, unsigned int off, uint8_t v)
{
    if ((off & ~3u) == 4 && (off & 2))
        return;
    unsigned int sh = (off & 3) * 8;
    uint32_t w = pci_read32(d, off);
    w = (w & ~(0xffu << sh)) | (uint32_t)v << sh;
    if ((off & ~3u) == 4)
        w &= 0xffff;
    pci_write32(d, off, w);
}

unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned int after)
{
    if (!(pci_read16(d, 0x06) & 0x10))          /* Status: capability list */
        return 0;
    unsigned int off = after ? pci_read8(d, after + 1) : pci_read8(d, 0x34);
    /* 48 steps at most: a looping list ends too. */
    for (unsigned int n = 0; n < 48 && off >= 0x40; n++) {
        off &= 0xfc;
        if (pci_read8(d, off) == id)
            return off;
        off = pci_read8(d, off + 1);
    }
    return 0;
}

uint64_t pci_bar(const struct pci_dev *d, unsigned int n, uint64_t *size)
{
    if (size)
        *size = 0;
    if (n > 5)
        return 0;
    unsigned int off = 0x10 + 4 * n;
    uint32_t lo = pci_read32(d, off);
    if (lo & 1)
        return 0;                                 /* I/O space */
    int is64 = ((lo >> 1) & 3) == 2;
    if (is64 && n == 5)
        return 0;
    uint32_t hi = is64 ? pci_read32(d, off + 4) : 0;
    uint64_t addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
    if (size) {
        /* Size it with decoding off (the caller has not enabled it yet,
         * or we restore it), as every OS does. */
        uint16_t cmd = pci_read16(d, 0x04);
        pci_write16(d, 0x04, cmd & (uint16_t)~3u);
        pci_write32(d, off, 0xffffffffu);
        uint64_t mask = pci_read32(d, off) & ~0xfu;
        pci_write32(d, off, lo);
        int absent = !mask;
        if (is64) {
            pci_write32(d, off + 4, 0xffffffffu);
            mask |= (uint64_t)pci_read32(d, off + 4) << 32;
            pci_write32(d, off + 4, hi);
            absent = !mask;
        } else {
            mask |= 0xffffffff00000000ULL;
        }
        pci_write16(d, 0x04, cmd);
        *size = absent ? 0 : ~mask + 1;
    }
    return addr;
}

void pci_enable(const struct pci_dev *d)
{
    pci_write16(d, 0x04, pci_read16(d, 0x04) | 0x6);  /* memory space, bus master */
}

static int iopl_ok;

static int take_iopl(void)
{
    if (iopl_ok)
        return 0;
    struct physdev_set_iopl io = { .iopl = 1 };
    long rc = HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &io);
    if (rc)
        return (int)rc;
    iopl_ok = 1;
    return 0;
}

static unsigned int scan_bus(uint8_t bus, struct pci_dev *devs, unsigned int n, unsigned int max,
                             unsigned int depth)
{
    for (uint8_t dev = 0; dev < 32; dev++) {
        for (uint8_t fn = 0; fn < 8; fn++) {
            uint32_t id = conf_read(bus, dev, fn, 0);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            uint32_t cls = conf_read(bus, dev, fn, 0x08);
            uint32_t hdr = conf_read(bus, dev, fn, 0x0c) >> 16 & 0xff;
            uint32_t irq = conf_read(bus, dev, fn, 0x3c);
            if (n < max) {
                struct pci_dev *d = &devs[n];
                d->bus = bus, d->dev = dev, d->fn = fn;
                d->vendor = (uint16_t)id, d->device = (uint16_t)(id >> 16);
                d->class_code = (uint8_t)(cls >> 24), d->subclass = (uint8_t)(cls >> 16);
                d->prog_if = (uint8_t)(cls >> 8);
                d->irq_line = (uint8_t)irq, d->irq_pin = (uint8_t)(irq >> 8);
                n++;
            }
            /* A PCI-PCI bridge: its secondary bus (depth-bounded, so a
             * bridge naming its own bus does not loop). */
            if ((hdr & 0x7f) == 1 && depth < 8) {
                uint8_t sec = (uint8_t)(conf_read(bus, dev, fn, 0x18) >> 8);
                if (sec > bus)
                    n = scan_bus(sec, devs, n, max, depth + 1);
            }
            if (fn == 0 && !(hdr & 0x80))
                break;                            /* single-function */
        }
    }
    return n;
}

int pci_scan(struct pci_dev *devs, unsigned int max)
{
    int rc = take_iopl();
    if (rc)
        return rc;
    return (int)scan_bus(0, devs, 0, max, 0);
}

/* ---- the MMIO window ---- */

#define MMIO_WINDOW_PAGES 128
#define PTE_MMIO 0x7fULL  /* present, rw, user, PWT, PCD, accessed, dirty */
static char mmio_window[MMIO_WINDOW_PAGES][4096] __attribute__((aligned(4096)));
static unsigned int mmio_used;

void *pci_mmio_map(uint64_t maddr, size_t len)
{
    if (!len)
        return NULL;
    uint64_t first = maddr >> 12, last = (maddr + len - 1) >> 12;
    uint64_t n = last - first + 1;
    if (last < first || n > MMIO_WINDOW_PAGES - mmio_used) {
        printk("dom0: pci: MMIO window full (%lu pages asked for %#lx)\n", (unsigned long)n,
               (unsigned long)maddr);
        return NULL;
    }
    char *va = mmio_window[mmio_used];
    for (uint64_t i = 0; i < n; i++) {
        long rc = HYPERVISOR_update_va_mapping((unsigned long)(va + i * 4096),
                                               ((first + i) << 12) | PTE_MMIO, UVMF_INVLPG);
        if (rc) {
            printk("dom0: pci: cannot map MMIO frame %#lx: %ld\n", (unsigned long)(first + i), rc);
            /* The pages mapped so far stay mapped; the window moves past
             * them so nothing reuses a half-made mapping. */
            mmio_used += (unsigned int)i;
            return NULL;
        }
    }
    mmio_used += (unsigned int)n;
    return va + (maddr & 4095);
}
