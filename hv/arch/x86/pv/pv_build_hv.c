/*
 * pv_build_hv.c - the hypervisor's back end of the PV domain builder
 * (pv_build() in pv_build.h) for boot-time dom0 and domUs: frames from
 * mm_alloc_frame with their M2P entries, bytes through mfn_to_virt, the
 * initial page tables typed and pinned through the page-type API, the
 * vcpu's registers set. The layout and loading are pv_build.c's.
 * Owns: giving a boot-time domain its memory and first vcpu state. Must
 * never: give the domain a frame it does not account for (tot_pages), or
 * leave the P2M scratch allocated.
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/page_alloc.h>
#include <xenolith/pv_build_hv.h>
#include <xen/xen.h>

/* Allocate nr_pages frames for d; p2m[pfn] receives each mfn. */
static int alloc_memory(struct domain *d, uint64_t *p2m, uint64_t nr_pages)
{
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++) {
        int64_t mfn = mm_alloc_frame(d->domid);
        if (mfn < 0)
            return -XL_ENOMEM;
        p2m[pfn] = (uint64_t)mfn;
        m2p_set((uint64_t)mfn, pfn);
        d->tot_pages++;
    }
    return 0;
}

/* Validate the initial tables as Xen does for dom0: the L4 takes its type
 * (which types every L3..L1 and takes a reference on every mapped frame),
 * once for the vcpu's guest_table and once for the pin. */
static int type_page_tables(struct domain *d)
{
    uint64_t l4 = d->vcpus[0].guest_table;
    int rc = get_page_and_type(l4, d->domid, PGT_l4);
    if (rc)
        return rc;
    if ((rc = get_page_and_type(l4, d->domid, PGT_l4))) {
        put_page_and_type(l4);
        d->vcpus[0].guest_table = 0;
        return rc;
    }
    frame_table[l4].flags |= PGF_pinned;
    return 0;
}

static void set_initial_regs(struct vcpu *v, const struct pv_layout *l, uint64_t entry)
{
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rip = entry;
    v->regs.rsp = l->vstack_end;
    v->regs.rsi = l->vstartinfo_start;
    v->regs.cs = FLAT_KERNEL_CS64;
    v->regs.ss = FLAT_KERNEL_SS64;
    v->regs.rflags = 0x202; /* IF: real interrupts stay on; the guest masks events */
}

/* Everything is reachable through the direct map. */
static void *hv_map(void *ctx, uint64_t pfn, uint64_t mfn)
{
    (void)ctx;
    (void)pfn;
    return mfn_to_virt(mfn);
}

int pv_build(struct domain *d, const struct pv_image *img, struct pv_layout *l,
             const char **why)
{
    static struct pv_plan plan; /* large (ELF notes); boot is single-threaded */
    int rc = pv_build_prepare(&plan, img, d->privileged, why);
    *l = plan.l;
    if (rc)
        return rc;
    uint64_t bytes = l->nr_pages * sizeof(uint64_t);
    unsigned int order = 0;
    while (((uint64_t)PAGE_SIZE << order) < bytes)
        order++;
    int64_t tmp = page_alloc_pages(&hv_pages, order);
    if (tmp < 0) {
        *why = "out of hypervisor memory for the P2M";
        return -XL_ENOMEM;
    }
    uint64_t *p2m = mfn_to_virt((uint64_t)tmp);
    rc = alloc_memory(d, p2m, l->nr_pages);
    if (rc) {
        *why = "out of memory for the domain";
    } else {
        const struct pv_start_args args = {
            .shared_info_mfn = d->shared_info_mfn,
            .flags = d->privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0,
            .hv_l4_slots = arch_hv_l4_slots(),
        };
        const struct pv_build_ops ops = { .map = hv_map };
        struct pv_build_result r;
        rc = pv_build_load(&plan, img, &args, p2m, &ops, &r, why);
        if (!rc) {
            d->vcpus[0].guest_table = r.l4_mfn;
            d->vcpus[0].cr3 = r.l4_mfn << PAGE_SHIFT;
            d->vcpus[0].pv.kernel_mode = 1;
            if ((rc = type_page_tables(d))) {
                d->vcpus[0].guest_table = 0; /* unreferenced: nothing to drop */
                *why = "initial page tables failed validation";
            }
        }
    }
    if (!rc) {
        set_initial_regs(&d->vcpus[0], l, plan.entry);
        d->max_pages = l->nr_pages;
    }
    page_alloc_free_pages(&hv_pages, (uint64_t)tmp, order);
    return rc;
}
