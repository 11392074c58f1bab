/*
 * pci_hw.c - the hardware under the pirq logic (struct pci_hw_ops):
 * PCI configuration mechanism #1 (ports 0xCF8/0xCFC) for the hv's own
 * accesses, and uncached hv mappings of device MMIO frames (MSI-X
 * tables): the direct map below 4 GiB, a small fixmap above; the I/O
 * APIC's redirection entries of the GSIs dom0 maps.
 * Owns: the I/O APIC entries of mapped GSIs (serial.c owns pin 4), the fixmap (the last GiB of the direct-map slot's PDPT, one L2
 * and one L1 page, 512 frames, entries never reused). Must never: leave
 * 0xCF8 changed (dom0's own emulated config accesses may be between its
 * address and data cycle), run without the big lock, or map a frame
 * that is RAM.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pirq.h>

extern uint64_t idle_pml4[512];

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc

/* Select the register (bit 31 enable, bus 23:16, devfn 15:8, dword 7:2)
 * and return the old address, to put back. */
static uint32_t cfg_select(const struct pci_sbdf *f, unsigned int off)
{
    uint32_t old = inl(PCI_CONF_ADDR);
    outl(PCI_CONF_ADDR, 0x80000000u | ((uint32_t)f->bus << 16) | ((uint32_t)f->devfn << 8) |
                            (off & 0xfc));
    return old;
}

static uint32_t hw_cfg_read(const struct pci_sbdf *f, unsigned int off, unsigned int size)
{
    if (off > 0xff || f->seg)
        return ~0u;
    uint32_t old = cfg_select(f, off);
    uint16_t port = (uint16_t)(PCI_CONF_DATA + (off & 3));
    uint32_t v = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
    outl(PCI_CONF_ADDR, old);
    return v;
}

static void hw_cfg_write(const struct pci_sbdf *f, unsigned int off, unsigned int size,
                         uint32_t val)
{
    if (off > 0xff || f->seg)
        return;
    uint32_t old = cfg_select(f, off);
    uint16_t port = (uint16_t)(PCI_CONF_DATA + (off & 3));
    if (size == 1)
        outb(port, (uint8_t)val);
    else if (size == 2)
        outw(port, (uint16_t)val);
    else
        outl(port, val);
    outl(PCI_CONF_ADDR, old);
}

#define PTE_P   0x1ULL
#define PTE_RW  0x2ULL
#define PTE_PWT 0x8ULL
#define PTE_PCD 0x10ULL
#define PTE_NX  (1ULL << 63)
#define FIXMAP_L3_SLOT 511
#define FIXMAP_BASE    (DIRECTMAP_BASE + ((uint64_t)FIXMAP_L3_SLOT << 30))
#define FIXMAP_SLOTS   512

static uint64_t *fix_l1;
static uint64_t fix_mfn[FIXMAP_SLOTS];
static unsigned int fix_used;

/* One L2 and one L1 under the direct map's PDPT entry 511: every address
 * space shares that PDPT (PML4 slot 262 is copied into guest L4s), so
 * the mapping is everywhere at once. Entries are only ever added, so no
 * CPU can hold a stale translation of a reused slot. */
static int fixmap_init(void)
{
    uint64_t *pdpt = mfn_to_virt(idle_pml4[DIRECTMAP_SLOT] >> 12 & 0xffffffffffULL);
    if (pdpt[FIXMAP_L3_SLOT] & PTE_P)
        return -1; /* somebody else's: not ours to use */
    int64_t l2 = mm_alloc_frame(DOMID_HV_OWNED), l1 = mm_alloc_frame(DOMID_HV_OWNED);
    if (l2 < 0 || l1 < 0)
        return -1; /* (a frame left over on this boot-time failure is not worth freeing) */
    uint64_t *l2v = mfn_to_virt((uint64_t)l2);
    l2v[0] = ((uint64_t)l1 << 12) | PTE_P | PTE_RW;
    fix_l1 = mfn_to_virt((uint64_t)l1);
    pdpt[FIXMAP_L3_SLOT] = ((uint64_t)l2 << 12) | PTE_P | PTE_RW;
    return 0;
}

static volatile uint32_t *hw_map_mmio(uint64_t mfn)
{
    if (!mm_is_io_frame(mfn))
        return NULL; /* RAM or the hv's: never a device table */
    /* Below 4 GiB the direct map has it. Its 2 MiB pages below the last
     * GiB are write-back in the PAT, but the firmware's MTRRs make the
     * PCI hole UC, and UC wins (Intel SDM vol. 3 11.5.2.2); the last GiB
     * is mapped UC outright. */
    if (mfn < ((uint64_t)BOOT_MAP_GIB << 18))
        return (volatile uint32_t *)(DIRECTMAP_BASE + (mfn << 12));
    for (unsigned int i = 0; i < fix_used; i++)
        if (fix_mfn[i] == mfn)
            return (volatile uint32_t *)(FIXMAP_BASE + ((uint64_t)i << 12));
    if (mfn >> 40 || fix_used == FIXMAP_SLOTS || (!fix_l1 && fixmap_init()))
        return NULL;
    unsigned int i = fix_used++;
    fix_mfn[i] = mfn;
    fix_l1[i] = (mfn << 12) | PTE_P | PTE_RW | PTE_PCD | PTE_PWT | PTE_NX;
    return (volatile uint32_t *)(FIXMAP_BASE + ((uint64_t)i << 12));
}

/* The I/O APIC at its PC address (the MADT's first on QEMU's machines;
 * GSI base 0). Registers by index (IOREGSEL) and data (IOWIN): Intel
 * 82093AA datasheet 3.0. */
#define IOAPIC_BASE 0xfec00000ULL
static uint32_t ioapic_read(unsigned int reg)
{
    volatile uint32_t *io = (volatile uint32_t *)(DIRECTMAP_BASE + IOAPIC_BASE);
    io[0] = reg;
    return io[4];
}
static void ioapic_write(unsigned int reg, uint32_t val)
{
    volatile uint32_t *io = (volatile uint32_t *)(DIRECTMAP_BASE + IOAPIC_BASE);
    io[0] = reg;
    io[4] = val;
}

static unsigned int hw_gsi_count(void)
{
    return ((ioapic_read(1) >> 16) & 0xff) + 1; /* max redirection entry + 1 */
}

#define RTE_MASKED   (1u << 16)
#define RTE_LEVEL    (1u << 15)
#define RTE_LOW      (1u << 13)
static void hw_gsi_program(unsigned int gsi, uint8_t vector, int level, uint32_t apic_id)
{
    ioapic_write(0x10 + 2 * gsi, RTE_MASKED);
    ioapic_write(0x11 + 2 * gsi, apic_id << 24);
    /* fixed delivery, physical destination; PCI: level, active low */
    ioapic_write(0x10 + 2 * gsi, RTE_MASKED | (level ? RTE_LEVEL | RTE_LOW : 0) | vector);
}

static void hw_gsi_mask(unsigned int gsi, int masked)
{
    uint32_t lo = ioapic_read(0x10 + 2 * gsi);
    ioapic_write(0x10 + 2 * gsi, masked ? lo | RTE_MASKED : lo & ~RTE_MASKED);
}

static uint32_t hw_cpu0_apic_id(void)
{
    return arch_cpu_apic_id(0);
}

static const struct pci_hw_ops x86_pci_hw = {
    .cfg_read = hw_cfg_read,
    .cfg_write = hw_cfg_write,
    .map_mmio = hw_map_mmio,
    .cpu0_apic_id = hw_cpu0_apic_id,
    .gsi_count = hw_gsi_count,
    .gsi_program = hw_gsi_program,
    .gsi_mask = hw_gsi_mask,
};

void pci_hw_init(void)
{
    pirq_hw = &x86_pci_hw;
}
