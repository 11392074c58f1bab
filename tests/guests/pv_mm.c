/*
 * pv_mm.c - a PV test kernel (run as dom0) that checks PV memory
 * management from inside: page-table frames cannot be mapped writable,
 * frames the domain does not own cannot be mapped, an L1 built from a
 * fresh page can be pinned and unpinned, update_va_mapping and mmu_update
 * change mappings, the M2P agrees with the P2M, and memory_op answers are
 * sane. One PASS/FAIL line per check, the same on Xenolith and real Xen.
 * The "not owned" frame is the one behind L4 slot 256 (the hypervisor's
 * M2P L3 table): RAM that belongs to the hypervisor, which both refuse.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_A  0x20ULL
#define PTE_D  0x40ULL
#define PTE_ADDR 0x000FFFFFFFFFF000ULL
#define RW_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
#define RO_FLAGS (PTE_P | PTE_US | PTE_A)
#define M2P ((const uint64_t *)0xFFFF800000000000ULL)

static uint8_t spare[4096] __attribute__((aligned(4096)));
static uint8_t target[4096] __attribute__((aligned(4096)));
static uint64_t fresh[512] __attribute__((aligned(4096)));
static uint8_t data[4096] __attribute__((aligned(4096)));

static const uint64_t *p2m;
static uint64_t nr_pages;

/* Kernel virtual address of one of our own frames (through the P2M). */
static const uint64_t *frame_va(uint64_t mfn)
{
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
        if (p2m[pfn] == mfn)
            return (const uint64_t *)(GUEST_VIRT_BASE + pfn * 4096);
    return 0;
}

/* Machine address of the L1 entry mapping va (0 if not found). */
static uint64_t l1e_maddr(uint64_t l4_mfn, uint64_t va)
{
    uint64_t mfn = l4_mfn;
    for (int level = 4; level > 1; level--) {
        const uint64_t *t = frame_va(mfn);
        if (!t)
            return 0;
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & PTE_P))
            return 0;
        mfn = (e & PTE_ADDR) >> 12;
    }
    return (mfn << 12) | (((va >> 12) & 511) * 8);
}

static long uva(const void *va, uint64_t pte)
{
    return HYPERVISOR_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG | UVMF_LOCAL);
}

static long mmuext1(unsigned int cmd, uint64_t mfn)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

/* Refusals whose errno real Xen 4.17 was seen to return are checked
 * exactly: -EBUSY for an L1 entry that cannot be referenced, -EINVAL for
 * the rest. */
#define check_refused(what, rc, want) check_eq(what, (rc), (want))

int guest_main(start_info_t *si)
{
    p2m = (const uint64_t *)si->mfn_list;
    nr_pages = si->nr_pages;
    uint64_t l4_mfn = virt_to_mfn((const void *)si->pt_base);
    const uint64_t *l4 = (const uint64_t *)si->pt_base;

    /* ---- memory_op ---- */
    domid_t self = DOMID_SELF;
    long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    long max = HYPERVISOR_memory_op(XENMEM_maximum_reservation, &self);
    long maxram = HYPERVISOR_memory_op(XENMEM_maximum_ram_page, NULL);
    printk("  (nr_pages %lu, current %ld, maximum %ld, maximum_ram_page %ld)\n",
           (unsigned long)nr_pages, cur, max, maxram);
    check_eq("current_reservation is nr_pages", cur, (long)nr_pages);
    check_true("maximum_reservation >= current", max >= cur);
    uint64_t top = 0;
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
        if (p2m[pfn] > top)
            top = p2m[pfn];
    check_true("maximum_ram_page above every mfn of ours", maxram > 0 && (uint64_t)maxram > top);
    struct xen_machphys_mapping mm;
    check_eq("machphys_mapping", HYPERVISOR_memory_op(XENMEM_machphys_mapping, &mm), 0);
    check_eq("machphys_mapping v_start is MACH2PHYS_VIRT_START", (long)mm.v_start,
             (long)0xFFFF800000000000UL);
    check_true("machphys_mapping covers every mfn of ours",
               mm.v_end > mm.v_start && mm.max_mfn >= top &&
               (mm.v_end - mm.v_start) / 8 > top);
    check_eq("memory_op unknown cmd -> -ENOSYS", HYPERVISOR_memory_op(63, NULL), -XEN_ENOSYS);

    /* ---- M2P ---- */
    uint64_t bad = 0;
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
        if (M2P[p2m[pfn]] != pfn)
            bad++;
    check_eq("M2P agrees with the P2M for every page", (long)bad, 0);

    /* ---- refused mappings ---- */
    uint64_t spare_l1e = l1e_maddr(l4_mfn, (uint64_t)spare);
    check_true("found the L1 entry of a spare page", spare_l1e != 0);
    check_refused("update_va_mapping of our L4 writable refused",
                  uva(spare, (l4_mfn << 12) | RW_FLAGS), -XEN_EBUSY);
    mmu_update_t req = { .ptr = spare_l1e | MMU_NORMAL_PT_UPDATE,
                         .val = (spare_l1e & PTE_ADDR) | RW_FLAGS };
    check_refused("mmu_update mapping an L1 writable refused",
                  HYPERVISOR_mmu_update(&req, 1, NULL, DOMID_SELF), -XEN_EBUSY);
    uint64_t hv_l3 = (l4[256] & PTE_ADDR) >> 12;
    check_true("L4 slot 256 (M2P) present", (l4[256] & PTE_P) && hv_l3 != 0);
    check_refused("mapping a hypervisor frame writable refused", uva(spare, (hv_l3 << 12) | RW_FLAGS), -XEN_EBUSY);
    check_refused("mapping a hypervisor frame read-only refused", uva(spare, (hv_l3 << 12) | RO_FLAGS), -XEN_EBUSY);
    req.ptr = (hv_l3 << 12) | MMU_MACHPHYS_UPDATE;
    req.val = 0;
    check_refused("M2P update of a frame not ours refused",
                  HYPERVISOR_mmu_update(&req, 1, NULL, DOMID_SELF), -XEN_EINVAL);
    spare[0] = 1;
    check_eq("spare page still ours after the refusals", spare[0], 1);

    /* ---- update_va_mapping / mmu_update work ---- */
    uint64_t spare_mfn = virt_to_mfn(spare), target_mfn = virt_to_mfn(target);
    check_eq("update_va_mapping maps another frame of ours",
             uva(spare, (target_mfn << 12) | RW_FLAGS), 0);
    ((volatile uint8_t *)spare)[100] = 0x5a;
    check_eq("write through the new mapping is seen through the old",
             ((volatile uint8_t *)target)[100], 0x5a);
    check_eq("update_va_mapping restores the spare page", uva(spare, (spare_mfn << 12) | RW_FLAGS), 0);
    check_eq("spare page is its own frame again", ((volatile uint8_t *)spare)[100], 0);
    unsigned int done = 99;
    mmu_update_t two[2] = {
        { .ptr = spare_l1e | MMU_NORMAL_PT_UPDATE, .val = (target_mfn << 12) | RW_FLAGS },
        { .ptr = spare_l1e | MMU_PT_UPDATE_PRESERVE_AD, .val = (spare_mfn << 12) | RW_FLAGS },
    };
    check_eq("mmu_update of two entries", HYPERVISOR_mmu_update(two, 2, &done, DOMID_SELF), 0);
    check_eq("mmu_update reports 2 done", done, 2);
    check_eq("mmuext TLB_FLUSH_LOCAL", mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0), 0);
    req.ptr = (spare_mfn << 12) | MMU_MACHPHYS_UPDATE;
    req.val = M2P[spare_mfn];
    check_eq("M2P update of our own frame", HYPERVISOR_mmu_update(&req, 1, NULL, DOMID_SELF), 0);
    check_eq("spare mapping intact", ((volatile uint8_t *)spare)[0], 1);

    /* ---- pin / unpin an L1 built from a fresh page ---- */
    uint64_t fresh_mfn = virt_to_mfn(fresh), data_mfn = virt_to_mfn(data);
    fresh[0] = (data_mfn << 12) | RO_FLAGS;
    fresh[1] = (target_mfn << 12) | RW_FLAGS;
    check_refused("pin of a page mapped writable refused", mmuext1(MMUEXT_PIN_L1_TABLE, fresh_mfn), -XEN_EINVAL);
    check_eq("remap the fresh page read-only", uva(fresh, (fresh_mfn << 12) | RO_FLAGS), 0);
    check_eq("pin it as an L1", mmuext1(MMUEXT_PIN_L1_TABLE, fresh_mfn), 0);
    check_refused("pin it twice refused", mmuext1(MMUEXT_PIN_L1_TABLE, fresh_mfn), -XEN_EINVAL);
    check_refused("map the pinned L1 writable refused", uva(spare, (fresh_mfn << 12) | RW_FLAGS), -XEN_EBUSY);
    check_refused("NEW_BASEPTR with an L1 refused", mmuext1(MMUEXT_NEW_BASEPTR, fresh_mfn), -XEN_EINVAL);
    check_refused("NEW_BASEPTR with a data page refused", mmuext1(MMUEXT_NEW_BASEPTR, target_mfn), -XEN_EINVAL);
    check_eq("unpin it", mmuext1(MMUEXT_UNPIN_TABLE, fresh_mfn), 0);
    check_refused("unpin it again refused", mmuext1(MMUEXT_UNPIN_TABLE, fresh_mfn), -XEN_EINVAL);
    check_eq("remap the fresh page writable", uva(fresh, (fresh_mfn << 12) | RW_FLAGS), 0);
    fresh[2] = 7;
    check_eq("fresh page writable again", (long)fresh[2], 7);

    return check_summary("pv_mm");
}
