/*
 * msi.c - PCI capability walk and MSI / MSI-X programming (PCI Local Bus
 * 3.0 section 6.8, PCIe base spec 7.7.1-7.7.2), over struct pci_hw_ops.
 * Owns: nothing but the logic; the device registers it writes belong to
 * the pirq that asked (pirq.c). Must never: touch hardware other than
 * through the ops, read a guest value, or loop on a device's say-so
 * without a bound. Pure C: no inline assembly, host-tested (test_pirq).
 */
#include <stddef.h>
#include <xenolith/errno.h>
#include <xenolith/pirq.h>

#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_PTR         0x34
#define PCI_BAR0            0x10

#define MSI_CTRL_ENABLE  0x0001
#define MSI_CTRL_MME     0x0070 /* multiple message enable */
#define MSI_CTRL_64      0x0080
#define MSI_CTRL_MASKBIT 0x0100

#define MSIX_CTRL_SIZE   0x07ff
#define MSIX_CTRL_FMASK  0x4000 /* function mask */
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_ENTRY_SIZE  16
#define MSIX_VCTRL_MASK  1u

unsigned int msi_find_cap(const struct pci_hw_ops *hw, const struct pci_sbdf *f, uint8_t id)
{
    if ((hw->cfg_read(f, 0, 4) & 0xffff) == 0xffff)
        return 0; /* no function there */
    if (!(hw->cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    unsigned int off = hw->cfg_read(f, PCI_CAP_PTR, 1) & 0xfc;
    /* 48 = (256 - 64) / 4 capabilities at most: a longer list loops */
    for (int n = 0; n < 48 && off >= 0x40; n++) {
        uint32_t hdr = hw->cfg_read(f, off, 2);
        if ((hdr & 0xff) == 0xff)
            return 0;
        if ((hdr & 0xff) == id)
            return off;
        off = (hdr >> 8) & 0xfc;
    }
    return 0;
}

void msi_compose(uint32_t apic_id, uint8_t vector, uint64_t *addr, uint32_t *data)
{
    /* 0xFEE in 31:20, destination id in 19:12, RH = 0, DM = 0 (physical) */
    *addr = 0xfee00000ULL | ((uint64_t)(apic_id & 0xff) << 12);
    /* trigger 15 = 0 (edge), level 14 = 1 (assert, as Linux writes it),
     * delivery mode 10:8 = 000 (fixed), vector 7:0 */
    *data = (1u << 14) | vector;
}

/* BAR bir's memory address (64-bit BARs take bir + 1): 0 for an I/O,
 * unassigned or impossible BAR. */
static uint64_t bar_address(const struct pci_hw_ops *hw, const struct pci_sbdf *f,
                            unsigned int bir)
{
    if (bir > 5)
        return 0;
    uint32_t lo = hw->cfg_read(f, PCI_BAR0 + 4 * bir, 4);
    if (lo & 1)
        return 0; /* I/O space */
    uint64_t a = lo & ~0xfULL;
    if (((lo >> 1) & 3) == 2) {
        if (bir == 5)
            return 0;
        a |= (uint64_t)hw->cfg_read(f, PCI_BAR0 + 4 * (bir + 1), 4) << 32;
    }
    return a;
}

int msix_locate(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                unsigned int entry_nr, struct msix_loc *loc)
{
    unsigned int n = (hw->cfg_read(f, cap + 2, 2) & MSIX_CTRL_SIZE) + 1;
    if (entry_nr >= n)
        return -XL_EINVAL;
    uint32_t t = hw->cfg_read(f, cap + 4, 4), p = hw->cfg_read(f, cap + 8, 4);
    uint64_t tbar = bar_address(hw, f, t & 7), pbar = bar_address(hw, f, p & 7);
    if (!tbar || !pbar)
        return -XL_EINVAL;
    uint64_t table = tbar + (t & ~7u), pba = pbar + (p & ~7u);
    loc->nr_entries = n;
    loc->entry_maddr = table + (uint64_t)entry_nr * MSIX_ENTRY_SIZE;
    loc->table_first_mfn = table >> 12;
    loc->table_last_mfn = (table + (uint64_t)n * MSIX_ENTRY_SIZE - 1) >> 12;
    loc->pba_first_mfn = pba >> 12;
    loc->pba_last_mfn = (pba + ((n + 63) / 64) * 8 - 1) >> 12;
    return 0;
}

static volatile uint32_t *entry_ptr(const struct pci_hw_ops *hw, uint64_t maddr)
{
    volatile uint32_t *page = hw->map_mmio(maddr >> 12);
    return page ? page + (maddr & 0xfff) / 4 : NULL;
}

int msix_program(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                 uint64_t entry_maddr, uint64_t addr, uint32_t data)
{
    volatile uint32_t *e = entry_ptr(hw, entry_maddr);
    if (!e)
        return -XEN_ENXIO;
    /* The table is reachable only with MSI-X enabled on some devices
     * (memory decoding is dom0's): enable with the function masked,
     * program the entry masked, then unmask entry and function. */
    uint32_t ctrl = hw->cfg_read(f, cap + 2, 2);
    hw->cfg_write(f, cap + 2, 2, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
    e[3] |= MSIX_VCTRL_MASK;
    e[0] = (uint32_t)addr;
    e[1] = (uint32_t)(addr >> 32);
    e[2] = data;
    e[3] &= ~MSIX_VCTRL_MASK;
    hw->cfg_write(f, cap + 2, 2, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_FMASK);
    return 0;
}

int msix_mask_all(const struct pci_hw_ops *hw, uint64_t table_maddr, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        volatile uint32_t *e = entry_ptr(hw, table_maddr + (uint64_t)i * MSIX_ENTRY_SIZE);
        if (!e)
            return -XEN_ENXIO;
        e[3] |= MSIX_VCTRL_MASK;
    }
    return 0;
}

void msix_release(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                  uint64_t entry_maddr, int last)
{
    volatile uint32_t *e = entry_ptr(hw, entry_maddr);
    if (e)
        e[3] |= MSIX_VCTRL_MASK;
    if (last)
        hw->cfg_write(f, cap + 2, 2, hw->cfg_read(f, cap + 2, 2) & ~MSIX_CTRL_ENABLE);
}

/* Where the data and mask registers are: after a 32- or 64-bit address. */
static unsigned int msi_data_off(uint32_t ctrl) { return ctrl & MSI_CTRL_64 ? 12 : 8; }

void msi_program(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap,
                 uint64_t addr, uint32_t data)
{
    uint32_t ctrl = hw->cfg_read(f, cap + 2, 2);
    ctrl &= ~(MSI_CTRL_ENABLE | MSI_CTRL_MME); /* off while it changes; 1 vector */
    hw->cfg_write(f, cap + 2, 2, ctrl);
    hw->cfg_write(f, cap + 4, 4, (uint32_t)addr);
    if (ctrl & MSI_CTRL_64)
        hw->cfg_write(f, cap + 8, 4, (uint32_t)(addr >> 32));
    unsigned int d = msi_data_off(ctrl);
    hw->cfg_write(f, cap + d, 2, data & 0xffff);
    if (ctrl & MSI_CTRL_MASKBIT)
        hw->cfg_write(f, cap + d + 4, 4, hw->cfg_read(f, cap + d + 4, 4) & ~1u);
    hw->cfg_write(f, cap + 2, 2, ctrl | MSI_CTRL_ENABLE);
}

void msi_release(const struct pci_hw_ops *hw, const struct pci_sbdf *f, unsigned int cap)
{
    uint32_t ctrl = hw->cfg_read(f, cap + 2, 2);
    if (ctrl & MSI_CTRL_MASKBIT) {
        unsigned int m = cap + msi_data_off(ctrl) + 4;
        hw->cfg_write(f, m, 4, hw->cfg_read(f, m, 4) | 1u);
    }
    hw->cfg_write(f, cap + 2, 2, ctrl & ~MSI_CTRL_ENABLE);
}
