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
#include <xlguest/platform.h>

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
static uint64_t l2b[512] __attribute__((aligned(4096)));
static uint8_t pair[2 * 4096] __attribute__((aligned(8192)));
static uint64_t l4x[512] __attribute__((aligned(4096)));
static uint8_t xpair[2 * 4096] __attribute__((aligned(8192)));
static uint8_t adpage[4096] __attribute__((aligned(4096)));

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

static long mmu1(uint64_t ptr, uint64_t val)
{
    mmu_update_t req = { .ptr = ptr, .val = val };
    return HYPERVISOR_mmu_update(&req, 1, NULL, DOMID_SELF);
}

static long reserve(unsigned int cmd, uint64_t *list, unsigned int n, unsigned int order)
{
    struct xen_memory_reservation r = { .nr_extents = n, .extent_order = order,
                                        .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, list);
    return HYPERVISOR_memory_op(cmd, &r);
}

/* Machine address of the table entry `level` levels above va's page
 * (level 1: its L1 entry ... level 4: its L4 entry). */
static uint64_t entry_maddr(uint64_t l4_mfn, uint64_t va, int want)
{
    uint64_t mfn = l4_mfn;
    for (int level = 4; level >= want; level--) {
        unsigned int idx = (va >> (12 + 9 * (level - 1))) & 511;
        if (level == want)
            return (mfn << 12) | idx * 8;
        const uint64_t *t = frame_va(mfn);
        if (!t || !(t[idx] & PTE_P))
            return 0;
        mfn = (t[idx] & PTE_ADDR) >> 12;
    }
    return 0;
}

/* Refusals whose errno real Xen 4.17 was seen to return are checked
 * exactly: -EBUSY for an L1 entry that cannot be referenced, -EINVAL for
 * the rest. */
#define check_refused(what, rc, want) check_eq(what, (rc), (want))

static long exchange(struct xen_memory_exchange *x, uint64_t *in, unsigned long nin,
                     unsigned int in_order, uint64_t *out, unsigned long nout,
                     unsigned int out_order, unsigned int bits)
{
    *x = (struct xen_memory_exchange){
        .in = { .nr_extents = nin, .extent_order = in_order, .domid = DOMID_SELF },
        .out = { .nr_extents = nout, .extent_order = out_order, .domid = DOMID_SELF,
                 .mem_flags = XENMEMF_address_bits(bits) },
    };
    set_xen_guest_handle(x->in.extent_start, in);
    set_xen_guest_handle(x->out.extent_start, out);
    return HYPERVISOR_memory_op(XENMEM_exchange, x);
}

/* XENMEM_exchange as swiotlb-xen uses it (Linux's
 * xen_create_contiguous_region): unmapped frames of ours in, one
 * contiguous extent below 4 GiB out, and back again. */
static void exchanges(void)
{
    struct xen_memory_exchange x;
    uint64_t *wp2m = (uint64_t *)p2m;
    uint64_t p0 = ((uint64_t)xpair - GUEST_VIRT_BASE) >> 12;
    uint64_t in[2] = { virt_to_mfn(xpair), virt_to_mfn(xpair + 4096) }, out[2];
    uint64_t old0 = in[0], old1 = in[1];
    domid_t self = DOMID_SELF;
    long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);

    xpair[0] = 0x11;
    out[0] = p0;
    check_eq("exchange of a mapped frame -> -EINVAL", exchange(&x, in, 2, 0, out, 1, 1, 32),
             -XEN_EINVAL);
    check_eq("... nr_exchanged 0", (long)x.nr_exchanged, 0);
    check_eq("exchange order 21 (above MAX_ORDER) -> -EPERM",
             exchange(&x, in, 1, 21, out, 1, 21, 0), -XEN_EPERM);
    check_eq("exchange of 2 frames for 2 order-1 extents -> -EINVAL",
             exchange(&x, in, 2, 0, out, 2, 1, 0), -XEN_EINVAL);
    exchange(&x, in, 2, 0, out, 1, 1, 0);
    x.out.domid = 0x7ff0;
    check_eq("exchange with in.domid != out.domid -> -EINVAL",
             HYPERVISOR_memory_op(XENMEM_exchange, &x), -XEN_EINVAL);
    exchange(&x, in, 2, 0, out, 1, 1, 0);
    x.nr_exchanged = 3;
    check_eq("exchange with nr_exchanged > nr_extents -> -EINVAL",
             HYPERVISOR_memory_op(XENMEM_exchange, &x), -XEN_EINVAL);
    x.nr_exchanged = 2;
    check_eq("exchange with everything exchanged already -> 0",
             HYPERVISOR_memory_op(XENMEM_exchange, &x), 0);
    x.nr_exchanged = 1;
    check_eq("exchange resuming inside a chunk -> -EINVAL",
             HYPERVISOR_memory_op(XENMEM_exchange, &x), -XEN_EINVAL);
    x.nr_exchanged = 0;
    check_eq("exchange with a start extent in cmd -> -EINVAL",
             HYPERVISOR_memory_op(XENMEM_exchange | (1 << 6), &x), -XEN_EINVAL);
    set_xen_guest_handle(x.in.extent_start, (uint64_t *)0xffff800000000000UL);
    check_eq("exchange with the input list in the hv's range -> -EFAULT",
             HYPERVISOR_memory_op(XENMEM_exchange, &x), -XEN_EFAULT);
    check_eq("exchange args unmapped -> -EFAULT",
             HYPERVISOR_memory_op(XENMEM_exchange, (void *)0x1000), -XEN_EFAULT);

    check_eq("unmap two frames", uva(xpair, 0) | uva(xpair + 4096, 0), 0);
    in[1] = in[0];
    check_eq("exchange naming one frame twice -> -EINVAL", exchange(&x, in, 2, 0, out, 1, 1, 32),
             -XEN_EINVAL);
    in[1] = old1;
    check_eq("exchange for an extent below 2^12 bytes -> -ENOMEM",
             exchange(&x, in, 2, 0, out, 1, 1, 12), -XEN_ENOMEM);
    check_eq("... nr_exchanged 0", (long)x.nr_exchanged, 0);
    check_eq("the frames are still ours after the failures",
             uva(xpair, (old0 << 12) | RW_FLAGS), 0);
    check_eq("... with their contents", xpair[0], 0x11);
    check_eq("unmap it again", uva(xpair, 0), 0);

    out[0] = p0;
    check_eq("exchange 2 frames for one order-1 extent below 4 GiB",
             exchange(&x, in, 2, 0, out, 1, 1, 32), 0);
    check_eq("... nr_exchanged 2", (long)x.nr_exchanged, 2);
    uint64_t m = out[0];
    check_true("... the new mfn is written over the pfn: aligned, below 4 GiB",
               m != p0 && !(m & 1) && m + 1 < (1ULL << 20));
    check_true("... M2P of the new frames set to the pfns", M2P[m] == p0 && M2P[m + 1] == p0 + 1);
    check_eq("... current_reservation unchanged",
             HYPERVISOR_memory_op(XENMEM_current_reservation, &self), cur);
    check_true("an exchanged-away frame cannot be mapped", uva(xpair, (old0 << 12) | RW_FLAGS) < 0);
    wp2m[p0] = m;
    wp2m[p0 + 1] = m + 1;
    check_eq("map the new extent", uva(xpair, (m << 12) | RW_FLAGS) |
                                   uva(xpair + 4096, ((m + 1) << 12) | RW_FLAGS), 0);
    check_true("... zeroed and usable", xpair[0] == 0 && xpair[4096] == 0 &&
                                        (xpair[1] = 5, xpair[4097] = 6, xpair[1] + xpair[4097] == 11));

    check_eq("unmap the extent", uva(xpair, 0) | uva(xpair + 4096, 0), 0);
    in[0] = m;
    out[0] = p0;
    out[1] = p0 + 1;
    check_eq("exchange the order-1 extent back for 2 frames", exchange(&x, in, 1, 1, out, 2, 0, 0),
             0);
    check_eq("... nr_exchanged 1", (long)x.nr_exchanged, 1);
    check_true("... M2P of both set", M2P[out[0]] == p0 && M2P[out[1]] == p0 + 1);
    wp2m[p0] = out[0];
    wp2m[p0 + 1] = out[1];
    check_eq("map them", uva(xpair, (out[0] << 12) | RW_FLAGS) |
                         uva(xpair + 4096, (out[1] << 12) | RW_FLAGS), 0);
    check_eq("... current_reservation still unchanged",
             HYPERVISOR_memory_op(XENMEM_current_reservation, &self), cur);
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("pv_mm"))
        return SHUTDOWN_poweroff;
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

    /* ---- errors real Xen 4.17 returns (seen with tests/harness/run-xen.sh) ---- */
    const uint64_t va_l2 = GUEST_VIRT_BASE + 500ULL * (2ULL << 20);  /* empty L2 slot */
    const uint64_t va_l3 = 0xFFFFFF8000000000ULL + 100ULL * (1ULL << 30); /* empty L3 slot */
    const uint64_t va_l4 = 0xFFFFC80000000000ULL;                    /* L4 slot 400 */
    uint64_t l2e = entry_maddr(l4_mfn, va_l2, 2), l3e = entry_maddr(l4_mfn, va_l3, 3);
    uint64_t l4e = entry_maddr(l4_mfn, va_l4, 4), live_l2 = l2e >> 12;
    check_true("found empty L2, L3 and L4 slots",
               l2e && l3e && l4e && !frame_va(l2e >> 12)[(l2e & 4095) / 8] &&
               !frame_va(l3e >> 12)[(l3e & 4095) / 8] && !l4[400]);
    check_eq("L2 entry naming a writable data page -> -EINVAL",
             mmu1(l2e, (target_mfn << 12) | RO_FLAGS), -XEN_EINVAL);
    check_eq("L2 entry naming a hypervisor frame -> -EINVAL",
             mmu1(l2e, (hv_l3 << 12) | RO_FLAGS), -XEN_EINVAL);
    check_eq("L2 superpage entry -> -EINVAL",
             mmu1(l2e, (target_mfn << 12) | RO_FLAGS | 0x80), -XEN_EINVAL);
    check_eq("L3 entry naming a writable data page -> -EINVAL",
             mmu1(l3e, (target_mfn << 12) | RO_FLAGS), -XEN_EINVAL);
    check_eq("L4 entry naming a writable data page -> -EINVAL",
             mmu1(l4e, (target_mfn << 12) | RO_FLAGS), -XEN_EINVAL);
    check_eq("L4 entry naming a hypervisor frame -> -EINVAL",
             mmu1(l4e, (hv_l3 << 12) | RO_FLAGS), -XEN_EINVAL);
    ((volatile uint64_t *)target)[3] = 0;
    check_eq("mmu_update on an untyped frame (a plain write)",
             mmu1((target_mfn << 12) + 24, 0x1234), 0);
    check_eq("the untyped frame was written", (long)((volatile uint64_t *)target)[3], 0x1234);
    check_eq("mmuext FLUSH_CACHE (dom0)", mmuext1(MMUEXT_FLUSH_CACHE, 0), 0);
    check_eq("mmuext FLUSH_CACHE_GLOBAL (dom0)", mmuext1(MMUEXT_FLUSH_CACHE_GLOBAL, 0), 0);
    struct xen_memory_map mmap = { .nr_entries = 4 };
    uint8_t e820buf[4 * 20];
    set_xen_guest_handle(mmap.buffer, e820buf);
    check_eq("memory_map for dom0 -> -ENOSYS (dom0 reads the machine map)",
             HYPERVISOR_memory_op(XENMEM_memory_map, &mmap), -XEN_ENOSYS);
    printk("  (machphys_mapping v_start %#lx v_end %#lx max_mfn %#lx)\n",
           (unsigned long)mm.v_start, (unsigned long)mm.v_end, (unsigned long)mm.max_mfn);
    check_eq("machphys_mapping v_end is MACH2PHYS_VIRT_END", (long)mm.v_end,
             (long)0xFFFF804000000000UL);
    check_eq("machphys_mapping max_mfn for dom0 is maximum_ram_page - 1", (long)mm.max_mfn,
             maxram - 1);

    /* ---- linear (recursive) page tables, read-only, same level ---- */
    const uint64_t *lin = (const uint64_t *)(0xFFFF000000000000ULL | (400ULL << 39) |
                                             (400ULL << 30) | (400ULL << 21) | (400ULL << 12));
    check_eq("writable linear L4 entry refused",
             mmu1(l4e, (l4_mfn << 12) | RW_FLAGS), -XEN_EINVAL);
    check_eq("read-only linear L4 entry (self) accepted", mmu1(l4e, (l4_mfn << 12) | RO_FLAGS), 0);
    check_eq("the L4 read through its linear mapping", (long)lin[511], (long)l4[511]);
    check_eq("linear L4 entry removed", mmu1(l4e, 0), 0);
    uint64_t l2b_mfn = virt_to_mfn(l2b);
    check_eq("remap a zeroed page read-only", uva(l2b, (l2b_mfn << 12) | RO_FLAGS), 0);
    check_eq("pin it as an L2", mmuext1(MMUEXT_PIN_L2_TABLE, l2b_mfn), 0);
    check_eq("writable linear L2 entry refused", mmu1(l2e, (l2b_mfn << 12) | RW_FLAGS), -XEN_EINVAL);
    check_eq("read-only L2 entry naming another L2 accepted", mmu1(l2e, (l2b_mfn << 12) | RO_FLAGS), 0);
    check_eq("unpin that L2", mmuext1(MMUEXT_UNPIN_TABLE, l2b_mfn), 0);
    check_eq("it stays an L2 while linearly referenced: writable mapping refused",
             uva(l2b, (l2b_mfn << 12) | RW_FLAGS), -XEN_EBUSY);
    check_eq("a table used linearly cannot hold a linear entry itself",
             mmu1(l2b_mfn << 12, (live_l2 << 12) | RO_FLAGS), -XEN_EINVAL);
    check_eq("linear L2 entry removed", mmu1(l2e, 0), 0);
    check_eq("the former L2 maps writable again", uva(l2b, (l2b_mfn << 12) | RW_FLAGS), 0);

    /* ---- populate_physmap / decrease_reservation ---- */
    uint64_t p0 = ((uint64_t)pair - GUEST_VIRT_BASE) >> 12;
    uint64_t *wp2m = (uint64_t *)p2m;
    uint64_t list[2] = { virt_to_mfn(pair), virt_to_mfn(pair + 4096) };
    check_eq("unmap two pages", uva(pair, 0) | uva(pair + 4096, 0), 0);
    check_eq("decrease_reservation of 2 frames", reserve(XENMEM_decrease_reservation, list, 2, 0), 2);
    check_eq("current_reservation dropped by 2",
             HYPERVISOR_memory_op(XENMEM_current_reservation, &self), (long)nr_pages - 2);
    list[0] = p0;
    check_eq("populate_physmap order 21 (above MAX_ORDER 20) does nothing",
             reserve(XENMEM_populate_physmap, list, 1, 21), 0);
    check_eq("populate_physmap of one order-1 extent", reserve(XENMEM_populate_physmap, list, 1, 1), 1);
    uint64_t m = list[0];
    check_true("the extent is 2 contiguous, aligned frames with M2P set",
               !(m & 1) && M2P[m] == p0 && M2P[m + 1] == p0 + 1);
    list[0] = p0;
    check_eq("populate_physmap at max_pages does nothing", reserve(XENMEM_populate_physmap, list, 1, 0), 0);
    wp2m[p0] = m;
    wp2m[p0 + 1] = m + 1;
    check_eq("map the new frames", uva(pair, (m << 12) | RW_FLAGS) | uva(pair + 4096, ((m + 1) << 12) | RW_FLAGS), 0);
    pair[0] = 1;
    pair[4096] = 2;
    check_true("the new frames are usable", pair[0] == 1 && pair[4096] == 2);
    list[0] = hv_l3;
    check_eq("decrease_reservation of a frame not ours does nothing",
             reserve(XENMEM_decrease_reservation, list, 1, 0), 0);
    list[0] = m;
    check_eq("decrease_reservation order 21 (above MAX_ORDER 20) does nothing",
             reserve(XENMEM_decrease_reservation, list, 1, 21), 0);
    check_eq("unmap them again", uva(pair, 0) | uva(pair + 4096, 0), 0);
    check_eq("decrease_reservation of one order-1 extent", reserve(XENMEM_decrease_reservation, list, 1, 1), 1);
    list[0] = p0;
    list[1] = p0 + 1;
    check_eq("populate_physmap of 2 order-0 extents", reserve(XENMEM_populate_physmap, list, 2, 0), 2);
    check_true("M2P of both set", M2P[list[0]] == p0 && M2P[list[1]] == p0 + 1);
    wp2m[p0] = list[0];
    wp2m[p0 + 1] = list[1];
    check_eq("map them", uva(pair, (list[0] << 12) | RW_FLAGS) | uva(pair + 4096, (list[1] << 12) | RW_FLAGS), 0);
    check_eq("current_reservation back to nr_pages",
             HYPERVISOR_memory_op(XENMEM_current_reservation, &self), (long)nr_pages);

    exchanges();

    /* ---- Xen's adjust_guest_l1e: what a written L1 entry becomes ---- */
    {
        const uint64_t G = 0x100, GK = 1ULL << 52;
        const volatile uint64_t *e = frame_va(spare_l1e >> 12) + (spare_l1e & 4095) / 8;
        check_eq("kernel entry (no USER) with _PAGE_GLOBAL accepted",
                 uva(spare, (spare_mfn << 12) | PTE_P | PTE_RW | PTE_A | PTE_D | G), 0);
        check_eq("... reads back with USER and bit 52 added, GLOBAL kept", (long)*e,
                 (long)((spare_mfn << 12) | RW_FLAGS | G | GK));
        check_eq("... the page is usable", ((volatile uint8_t *)spare)[0], 1);
        check_eq("user entry (USER) accepted", uva(spare, (spare_mfn << 12) | RW_FLAGS), 0);
        check_eq("... reads back with GLOBAL added", (long)*e,
                 (long)((spare_mfn << 12) | RW_FLAGS | G));
        check_eq("entry with software bit 62 accepted (a release Xen has no _PAGE_GNTTAB)",
                 uva(spare, (spare_mfn << 12) | RW_FLAGS | (1ULL << 62)), 0);
        check_eq("dom0 entry with PCD|PWT accepted (I/O resources)",
                 uva(spare, (spare_mfn << 12) | RW_FLAGS | 0x18), 0);
        check_eq("spare mapping restored", uva(spare, (spare_mfn << 12) | RW_FLAGS), 0);
    }

    /* ---- hardening (round 3) ---- */
    /* The hv writes into shared_info: it can never become a page table. */
    check_eq("pin shared_info as an L1 -> -EINVAL",
             mmuext1(MMUEXT_PIN_L1_TABLE, si->shared_info >> 12), -XEN_EINVAL);
    check_eq("pin shared_info as an L4 -> -EINVAL",
             mmuext1(MMUEXT_PIN_L4_TABLE, si->shared_info >> 12), -XEN_EINVAL);
    /* A guest-built L4 gets the hv's slots whatever the guest wrote. */
    for (unsigned int i = 256; i < 272; i++)
        l4x[i] = 0x5A5A5A5A5A5A5A5AULL;
    uint64_t l4x_mfn = virt_to_mfn(l4x);
    check_eq("map a fresh L4 read-only", uva(l4x, (l4x_mfn << 12) | RO_FLAGS), 0);
    check_eq("pin it as an L4 with garbage in the hv slots", mmuext1(MMUEXT_PIN_L4_TABLE, l4x_mfn), 0);
    /* Slot 262 only: real Xen 4.17 (without VMASST m2p_strict) leaves
     * the M2P slot 256 of a pinned L4 empty until it becomes a base
     * pointer; Xenolith fills it at validation. */
    check_true("its direct-map slot is the hypervisor's", l4x[262] == l4[262]);
    check_eq("hv slot of the pinned L4 not writable",
             mmu1((l4x_mfn << 12) + 262 * 8, 0), -XEN_EINVAL);
    check_eq("unpin it and map it writable again",
             mmuext1(MMUEXT_UNPIN_TABLE, l4x_mfn) | uva(l4x, (l4x_mfn << 12) | RW_FLAGS), 0);
    /* A frame given back while mapped stays charged until unmapped. */
    list[0] = wp2m[p0 + 1];
    check_eq("decrease_reservation of a frame still mapped", reserve(XENMEM_decrease_reservation, list, 1, 0), 1);
    check_eq("current_reservation unchanged while it is mapped",
             HYPERVISOR_memory_op(XENMEM_current_reservation, &self), (long)nr_pages);
    list[0] = p0 + 1;
    check_eq("populate_physmap still at max_pages", reserve(XENMEM_populate_physmap, list, 1, 0), 0);
    check_eq("unmap it", uva(pair + 4096, 0), 0);
    check_eq("current_reservation drops when it is freed",
             HYPERVISOR_memory_op(XENMEM_current_reservation, &self), (long)nr_pages - 1);
    list[0] = p0 + 1;
    check_eq("populate_physmap works again", reserve(XENMEM_populate_physmap, list, 1, 0), 1);
    wp2m[p0 + 1] = list[0];
    check_eq("map it", uva(pair + 4096, (list[0] << 12) | RW_FLAGS), 0);

    /* The hypervisor's own reads and writes of guest memory go through
     * the guest's tables, so they set Accessed and Dirty as the CPU does
     * (the guest itself never touches adpage after the remap). */
    uint64_t ad_mfn = virt_to_mfn(adpage), ad_ma = l1e_maddr(l4_mfn, (uint64_t)adpage);
    const volatile uint64_t *ad_e = ad_ma ? frame_va(ad_ma >> 12) : 0;
    if (ad_e)
        ad_e += (ad_ma & 4095) / 8;
    check_eq("remap a page with neither Accessed nor Dirty",
             uva(adpage, (ad_mfn << 12) | PTE_P | PTE_RW), 0);
    check_true("its L1 entry has neither", ad_e && !(*ad_e & (PTE_A | PTE_D)));
    HYPERVISOR_memory_op(XENMEM_current_reservation, adpage); /* the hv reads a domid there */
    check_true("a hypercall reading it sets Accessed, not Dirty",
               ad_e && (*ad_e & (PTE_A | PTE_D)) == PTE_A);
    check_eq("a hypercall writing it", HYPERVISOR_xen_version(XENVER_extraversion, adpage), 0);
    check_true("sets Dirty", ad_e && (*ad_e & (PTE_A | PTE_D)) == (PTE_A | PTE_D));

    return check_summary("pv_mm");
}
