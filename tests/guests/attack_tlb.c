/*
 * attack_tlb.c - attacks for the second security review: stale TLB
 * entries across a frame's change of type or owner, grant unmap with the
 * wrong handle, and hypervisor stack bytes in structures copied out.
 *   stale_l1     write a frame, drop its writable PTE without a flush
 *                (UVMF_NONE), pin it as an L1 and an L2, write through
 *                the old entry: must #PF (Xen: #PF)
 *   stale_gdt    the same into a frame that became a GDT frame (set_gdt)
 *   stale_free   the same after decrease_reservation and a populate that
 *                hands the frame out again
 *   gnt_unmap    map one grant of our own read-only at A and read-write at
 *                B; unmap the read-write handle at A: GNTST_general_error,
 *                and the write pin stays while B maps it (Xen 4.17)
 *   gnt_alias    the same grant reachable through an alias of its L1: after
 *                the unmap and end of the grant the alias no longer
 *                reaches it (the unmap flushes the whole TLB, as Xen)
 *   runstate_pad VCPUOP_get_runstate_info and the registered runstate
 *                area: the padding after `state` is zero
 * Several run in one boot when joined with '+' (attack=stale_l1+stale_gdt).
 * gnt_unmap and gnt_alias need the domain's own id: self=N on the command line (0 for
 * dom0). Must never: touch another domain's memory, or leave a write
 * that landed unreported.
 */
#include <stdint.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/vcpu.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/gnttab.h>
#include <xlguest/kernel.h>
#include "attack.h"

/* A value that is not a present PTE nor a usable descriptor: harmless
 * wherever it lands, and recognisable. */
#define MARK 0x00000000dead0000ULL

/* Write F through its mapping (the TLB now holds a writable entry), then
 * make the PTE read-only without any flush. */
static int stale_writable(uint64_t *f, const char *what)
{
    char buf[96];
    f[0] = 0;
    xl_snprintf(buf, sizeof(buf), "%s: read-only PTE with UVMF_NONE", what);
    return check_eq(buf, HYPERVISOR_update_va_mapping((unsigned long)f,
                                                     (mfn_of(f) << 12) | PTE_RO_FLAGS, UVMF_NONE),
                    0);
}

/* The write of val through the old entry must fault (#PF), and nothing
 * land. For a page table val is an entry the hv must refuse (a writable
 * mapping of the table itself), so that Xen's writable-page-table
 * emulation of a write through a read-only mapping cannot accept it. */
static void write_must_fault(uint64_t *f, uint64_t val, const char *what)
{
    char buf[96];
    int vec = probe_write((uint64_t)&f[0], val);
    xl_snprintf(buf, sizeof(buf), "%s: write through the stale entry faults with #PF", what);
    if (!check_eq(buf, vec, 14))
        printk("FAIL %s: isolation break: the write landed in a validated frame\n", what);
    xl_snprintf(buf, sizeof(buf), "%s: the frame is unchanged", what);
    check_true(buf, f[0] != val);
}

static void stale_table(unsigned int pin_cmd, const char *what)
{
    uint64_t *f = pool_page();
    if (!stale_writable(f, what))
        return;
    char buf[96];
    xl_snprintf(buf, sizeof(buf), "%s: pin the frame -> 0", what);
    if (!check_eq(buf, mmuext1(pin_cmd, mfn_of(f)), 0))
        return;
    write_must_fault(f, (mfn_of(f) << 12) | PTE_RW_FLAGS, what);
    xl_snprintf(buf, sizeof(buf), "%s: unpin -> 0", what);
    check_eq(buf, mmuext1(MMUEXT_UNPIN_TABLE, mfn_of(f)), 0);
    xl_snprintf(buf, sizeof(buf), "%s: writable again -> 0", what);
    check_eq(buf, remap(f, PTE_RW_FLAGS), 0);
}

static void attack_stale_l1(void)
{
    stale_table(MMUEXT_PIN_L1_TABLE, "stale_l1 (L1)");
    stale_table(MMUEXT_PIN_L2_TABLE, "stale_l1 (L2)");
}

static void attack_stale_gdt(void)
{
    uint64_t *f = pool_page();
    if (!stale_writable(f, "stale_gdt"))
        return;
    unsigned long frames[1] = { mfn_of(f) };
    if (!check_eq("stale_gdt: set_gdt with the frame -> 0", HYPERVISOR_set_gdt(frames, 512), 0))
        return;
    write_must_fault(f, MARK, "stale_gdt");
    check_eq("stale_gdt: set_gdt with no frames -> 0", HYPERVISOR_set_gdt(frames, 0), 0);
    check_eq("stale_gdt: writable again -> 0", remap(f, PTE_RW_FLAGS), 0);
}

/* Put frame m at pfn: P2M, M2P, and a writable mapping at va. */
static int adopt(start_info_t *si, uint64_t *va, uint64_t pfn, uint64_t m)
{
    ((uint64_t *)si->mfn_list)[pfn] = m;
    mmu_update_t u = { .ptr = (m << 12) | MMU_MACHPHYS_UPDATE, .val = pfn };
    return check_eq("stale_free: M2P of the new frame -> 0",
                    HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF), 0) &&
           check_eq("stale_free: map the new frame -> 0", remap(va, PTE_RW_FLAGS), 0);
}

/* Give frame m back and populate pfn again: the new frame, or 0. */
static uint64_t swap_frame(uint64_t m, uint64_t pfn)
{
    xen_pfn_t x = m;
    if (!check_eq("stale_free: decrease_reservation -> 1",
                  reservation(XENMEM_decrease_reservation, &x), 1))
        return 0;
    x = pfn;
    if (!check_eq("stale_free: populate_physmap -> 1", reservation(XENMEM_populate_physmap, &x), 1))
        return 0;
    return x;
}

/* A frame freed while a stale writable TLB entry maps it, then handed out
 * again. The victim is a frame just allocated, so that an allocator that
 * reuses the most recently freed frame (Xenolith's does) gives it back
 * at once; where it gives another, there is nothing to check. */
static void attack_stale_free(start_info_t *si)
{
    uint64_t *f = pool_page();
    uint64_t pfn = ((uint64_t)f - GUEST_VIRT_BASE) >> 12;
    check_eq("stale_free: unmap our page -> 0", remap(f, 0), 0);
    uint64_t m1 = swap_frame(mfn_of(f), pfn);
    if (!m1 || !adopt(si, f, pfn, m1))
        return;
    f[0] = 1; /* the TLB now holds a writable entry for m1 */
    check_eq("stale_free: unmap with UVMF_NONE -> 0",
             HYPERVISOR_update_va_mapping((unsigned long)f, 0, UVMF_NONE), 0);
    uint64_t m2 = swap_frame(m1, pfn);
    if (!m2)
        return;
    printk("attack stale_free: freed mfn %lx, populate gave mfn %lx (%s)\n", (unsigned long)m1,
           (unsigned long)m2, m2 == m1 ? "the same frame: reused" : "another frame");
    if (m2 == m1) {
        int vec = probe_write((uint64_t)f, MARK);
        if (!check_eq("stale_free: write through the stale entry after reuse faults with #PF",
                      vec, 14))
            printk("FAIL stale_free: isolation break: wrote into a frame handed out again\n");
    }
    adopt(si, f, pfn, m2);
}

static long grant_op(unsigned int cmd, void *arg)
{
    return HYPERCALL(__HYPERVISOR_grant_table_op, cmd, arg, 1);
}

/* Our own domid, from self=N on the command line (grants to ourselves
 * need it), with the grant table set up: 1, or 0 after a FAIL line. */
static int grant_self(start_info_t *si, domid_t *self)
{
    static int ready;
    char num[8];
    if (!cmdline_get(si, "self", num, sizeof(num))) {
        check_true("grant attacks: self=DOMID on the command line", 0);
        return 0;
    }
    *self = 0;
    for (const char *p = num; *p >= '0' && *p <= '9'; p++)
        *self = (domid_t)(*self * 10 + (*p - '0'));
    if (!ready)
        ready = check_eq("gnttab_init", gnttab_init(), 0);
    return ready;
}

static void attack_gnt_unmap(domid_t self)
{
    uint64_t *page = pool_page(), *a = pool_page(), *b = pool_page();
    page[0] = 0x1234;
    long ref = gnttab_grant_access(self, mfn_of(page), 0);
    if (!check_true("gnt_unmap: grant our page to ourselves", ref >= 0))
        return;
    grant_handle_t hr, hw;
    int16_t st;
    if (!check_eq("gnt_unmap: map read-only at A", gnttab_map(self, (grant_ref_t)ref, a, 1, &hr, &st), 0) ||
        !check_eq("gnt_unmap: map read-write at B", gnttab_map(self, (grant_ref_t)ref, b, 0, &hw, &st), 0))
        return;
    struct gnttab_unmap_grant_ref u = { .host_addr = (uint64_t)a, .handle = hw };
    check_eq("gnt_unmap: unmap_grant_ref -> 0", grant_op(GNTTABOP_unmap_grant_ref, &u), 0);
    check_eq("gnt_unmap: read-write handle at the read-only address -> general_error", u.status,
             GNTST_general_error);
    check_eq("gnt_unmap: GTF_writing still set", gnttab_flags((grant_ref_t)ref) & GTF_writing,
             GTF_writing);
    check_eq("gnt_unmap: B still writes the page", probe_write((uint64_t)b, 0x5678), 0);
    check_eq("gnt_unmap: the page has B's write", (long)page[0], 0x5678);
    struct gnttab_unmap_grant_ref u2 = { .host_addr = (uint64_t)b, .handle = hr };
    check_eq("gnt_unmap: unmap_grant_ref -> 0", grant_op(GNTTABOP_unmap_grant_ref, &u2), 0);
    check_eq("gnt_unmap: read-only handle at the read-write address -> general_error", u2.status,
             GNTST_general_error);
    check_eq("gnt_unmap: unmap B with its own handle", gnttab_unmap(b, hw, &st), 0);
    check_eq("gnt_unmap: GTF_writing cleared", gnttab_flags((grant_ref_t)ref) & GTF_writing, 0);
    check_eq("gnt_unmap: unmap A with its own handle", gnttab_unmap(a, hr, &st), 0);
    check_eq("gnt_unmap: end access", gnttab_end_access((grant_ref_t)ref), 0);
}

/* The L1 that maps A is hooked a second time into a free slot of the
 * same L2, so A has an alias A'. A grant of our own page G mapped
 * read-write at A and read through A' (the TLB caches A' -> G); after the
 * unmap at A and the end of the grant, a write through A' must not reach
 * G: the unmap flushes the whole TLB, not only A (Xen: the same). */
#define M2P_RO ((const uint64_t *)0xffff800000000000ULL)

static uint64_t *table_va(uint64_t entry)
{
    return (uint64_t *)(GUEST_VIRT_BASE + (M2P_RO[(entry & 0x000ffffffffff000ULL) >> 12] << 12));
}

static void attack_gnt_alias(domid_t self)
{
    uint64_t *g = pool_page(), *a = pool_page();
    uint64_t va = (uint64_t)a;
    uint64_t *l3 = table_va(((const uint64_t *)start_info->pt_base)[(va >> 39) & 511]);
    uint64_t *l2 = table_va(l3[(va >> 30) & 511]);
    unsigned int i2 = (va >> 21) & 511, k;
    for (k = i2 + 1; k < 512 && l2[k]; k++)
        ;
    if (!check_true("gnt_alias: a free L2 slot after ours", k < 512))
        return;
    mmu_update_t u = { .ptr = (mfn_of(l2) << 12) | (k * 8),
                       .val = (l2[i2] & 0x000ffffffffff000ULL) | PTE_RW_FLAGS };
    if (!check_eq("gnt_alias: hook our L1 a second time -> 0",
                  HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF), 0))
        return;
    uint64_t *alias = (uint64_t *)(va - ((uint64_t)i2 << 21) + ((uint64_t)k << 21));
    g[0] = 0x1111;
    long ref = gnttab_grant_access(self, mfn_of(g), 0);
    grant_handle_t h;
    int16_t st;
    if (check_true("gnt_alias: grant G to ourselves", ref >= 0) &&
        check_eq("gnt_alias: map G read-write at A", gnttab_map(self, (grant_ref_t)ref, a, 0, &h, &st), 0)) {
        uint64_t v = 0;
        check_eq("gnt_alias: the alias reads G", !probe_read((uint64_t)alias, &v) && v == 0x1111, 1);
        check_eq("gnt_alias: unmap at A -> 0", gnttab_unmap(a, h, &st), 0);
        check_eq("gnt_alias: end access -> 0", gnttab_end_access((grant_ref_t)ref), 0);
        int vec = probe_write((uint64_t)alias, 0x3333);
        printk("attack gnt_alias: write through the alias after the unmap: vector %d, G[0] %lx\n",
               vec, (unsigned long)g[0]);
        check_true("gnt_alias: after the unmap the alias no longer reaches G", g[0] == 0x1111);
    }
    u.val = 0;
    check_eq("gnt_alias: unhook the alias -> 0", HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF), 0);
    struct mmuext_op fl = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    HYPERVISOR_mmuext_op(&fl, 1, NULL, DOMID_SELF);
}

/* Bytes 4..7 of vcpu_runstate_info (after int state) are padding. */
static uint32_t runstate_pad(const struct vcpu_runstate_info *r)
{
    uint32_t pad;
    memcpy(&pad, (const uint8_t *)r + sizeof(r->state), sizeof(pad));
    return pad;
}

static void attack_runstate_pad(void)
{
    static struct vcpu_runstate_info area;
    struct vcpu_runstate_info r;
    memset(&r, 0xaa, sizeof(r));
    check_eq("runstate_pad: get_runstate_info -> 0",
             HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &r), 0);
    check_eq("runstate_pad: get_runstate_info padding is zero", runstate_pad(&r), 0);
    memset(&area, 0xaa, sizeof(area));
    struct vcpu_register_runstate_memory_area reg;
    reg.addr.v = &area;
    check_eq("runstate_pad: register_runstate_memory_area -> 0",
             HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg), 0);
    check_eq("runstate_pad: registered area padding is zero", runstate_pad(&area), 0);
    reg.addr.v = NULL;
    HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &reg);
}

static int run_one(start_info_t *si, const char *name)
{
    if (!strcmp(name, "stale_l1"))
        attack_stale_l1();
    else if (!strcmp(name, "stale_gdt"))
        attack_stale_gdt();
    else if (!strcmp(name, "stale_free"))
        attack_stale_free(si);
    else if (!strcmp(name, "gnt_unmap") || !strcmp(name, "gnt_alias")) {
        domid_t self;
        if (grant_self(si, &self) && !strcmp(name, "gnt_unmap"))
            attack_gnt_unmap(self);
        else if (grant_self(si, &self))
            attack_gnt_alias(self);
    }
    else if (!strcmp(name, "runstate_pad"))
        attack_runstate_pad();
    else
        return 0;
    return 1;
}

int attack_tlb(start_info_t *si, const char *names, int *passed, int *failed)
{
    char one[32];
    const char *p = names;
    while (*p) {
        size_t n = 0;
        while (p[n] && p[n] != '+')
            n++;
        if (n == 0 || n >= sizeof(one))
            return 0;
        memcpy(one, p, n);
        one[n] = 0;
        printk("attack: %s\n", one);
        if (!run_one(si, one))
            return 0;
        p += n + (p[n] == '+');
    }
    *passed += check_passed;
    *failed += check_failed;
    return 1;
}
