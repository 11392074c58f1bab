/*
 * build.c - the dom0 toolstack's back end of the PV domain builder
 * (build.h): the new domain's frames come from populate_physmap, its
 * bytes are written through foreign mappings in ctrl.c's window, its M2P
 * is set with MMU_MACHPHYS_UPDATE and its page tables are validated by
 * the hypervisor when the L4 is pinned on its behalf. The layout and
 * loading are hv/shared/pv_build.c's, the same as for boot-time domains.
 * Owns: the order of the build steps. Must never: pin the L4 while dom0
 * still maps one of the domain's frames, or leave a window page mapped.
 */
#include "build.h"
#include "ctrl.h"

#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/pv_build.h>

#define NSLOTS 16 /* window pages the builder maps frames into */

/* The map cache: pfn % NSLOTS picks the window page. */
struct fmap {
    uint32_t domid;
    uint8_t *win;
    uint64_t slot_pfn[NSLOTS]; /* ~0: nothing known mapped there */
    uint8_t touched[NSLOTS];   /* ever remapped: empty it at the end */
    int err;
};

static uint8_t discard[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct pv_plan plan;

static void *fmap_map(void *ctx, uint64_t pfn, uint64_t mfn)
{
    struct fmap *f = ctx;
    unsigned int s = pfn % NSLOTS;
    uint8_t *va = f->win + (size_t)s * PAGE_SIZE;
    if (f->slot_pfn[s] == pfn)
        return va;
    f->touched[s] = 1;
    int rc = xc_map_foreign_at(f->domid, va, mfn, XC_PROT_READ | XC_PROT_WRITE);
    if (rc) {
        if (!f->err)
            f->err = rc;
        f->slot_pfn[s] = ~0ULL;
        return discard;
    }
    f->slot_pfn[s] = pfn;
    return va;
}

/* Empty every window page the builder used and give the window back. */
static int fmap_release(struct fmap *f)
{
    int rc = 0;
    for (unsigned int s = 0; s < NSLOTS; s++) {
        if (!f->touched[s])
            continue;
        int r = xc_unmap_foreign_at(f->win + (size_t)s * PAGE_SIZE);
        if (r && !rc)
            rc = r;
        f->slot_pfn[s] = ~0ULL;
    }
    xc_foreign_window_free(f->win, NSLOTS);
    return rc;
}

static int set_m2p(uint32_t domid, const uint64_t *p2m, uint64_t nr_pages)
{
    struct xc_mmu mmu;
    xc_mmu_init(&mmu, domid);
    for (uint64_t pfn = 0; pfn < nr_pages; pfn++) {
        int rc = xc_add_mmu_update(&mmu, (p2m[pfn] << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, pfn);
        if (rc)
            return rc;
    }
    return xc_flush_mmu_updates(&mmu);
}

static int set_context(uint32_t domid, const struct pv_layout *l, uint64_t entry, uint64_t l4_mfn)
{
    static vcpu_guest_context_any_t ctxt;
    memset(&ctxt, 0, sizeof(ctxt));
    struct cpu_user_regs *r = &ctxt.x64.user_regs;
    r->rip = entry;
    r->rsp = l->vstack_end;
    r->rsi = l->vstartinfo_start;
    r->rflags = 0x202; /* IF, as the hv's own builder */
    r->cs = FLAT_KERNEL_CS;
    r->ss = r->ds = r->es = r->fs = r->gs = FLAT_KERNEL_SS;
    ctxt.x64.kernel_ss = FLAT_KERNEL_SS;
    ctxt.x64.kernel_sp = l->vstack_end;
    ctxt.x64.flags = VGCF_in_kernel | VGCF_online;
    ctxt.x64.ctrlreg[3] = xen_pfn_to_cr3(l4_mfn);
    return xc_vcpu_setcontext(domid, 0, &ctxt);
}

int xl_build_pv(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                const char **why)
{
    int rc;
    unsigned int memory_mb = a->memory_mb;
    uint64_t *p2m = a->p2m;
    memset(out, 0, sizeof(*out));
    if (!memory_mb || memory_mb > XL_BUILD_MAX_MB) {
        *why = "memory size out of the builder's range";
        return -XL_EINVAL;
    }
    const struct pv_image img = {
        .kernel = a->kernel, .kernel_len = a->kernel_len, .initrd = a->ramdisk,
        .initrd_len = a->ramdisk ? a->ramdisk_len : 0, .cmdline = a->cmdline,
        .nr_pages = (uint64_t)memory_mb << (20 - PAGE_SHIFT),
    };
    if (!p2m || a->p2m_entries < img.nr_pages) {
        *why = "P2M scratch smaller than the domain";
        return -XL_EINVAL;
    }
    uint64_t max_memkb = a->max_memkb ? a->max_memkb : (uint64_t)memory_mb << 10;
    /* Check the kernel before the domain is given anything. */
    if ((rc = pv_build_prepare(&plan, &img, 0, why)))
        return rc;
    const struct pv_layout *l = &plan.l;
    xc_domaininfo_t info;
    if ((rc = xc_domain_getinfo_single(domid, &info))) {
        *why = "no such domain";
        return rc;
    }
    if ((rc = xc_domain_max_vcpus(domid, a->max_vcpus ? a->max_vcpus : 1))) {
        *why = "XEN_DOMCTL_max_vcpus failed";
        return rc;
    }
    if ((rc = xc_domain_setmaxmem(domid, max_memkb))) {
        *why = "XEN_DOMCTL_max_mem failed";
        return rc;
    }
    for (uint64_t pfn = 0; pfn < l->nr_pages; pfn++)
        p2m[pfn] = pfn;
    if ((rc = xc_domain_populate_physmap_exact(domid, l->nr_pages, 0, 0, p2m))) {
        *why = "XENMEM_populate_physmap failed";
        return rc;
    }
    int store = xc_evtchn_alloc_unbound(domid, 0);
    int console = store < 0 ? store : xc_evtchn_alloc_unbound(domid, 0);
    if (store < 0 || console < 0) {
        *why = "EVTCHNOP_alloc_unbound failed";
        return store < 0 ? store : console;
    }
    const struct pv_start_args args = {
        .shared_info_mfn = info.shared_info_frame,
        .flags = 0,
        .hv_l4_slots = NULL, /* the hv puts its slots in when it validates */
        .toolstack_pages = 1,
        .store_evtchn = (uint32_t)store,
        .console_evtchn = (uint32_t)console,
    };
    struct fmap f = { .domid = domid };
    f.win = xc_foreign_window_alloc(NSLOTS);
    if (!f.win) {
        *why = "foreign mapping window full";
        return -XL_EBUSY;
    }
    for (unsigned int s = 0; s < NSLOTS; s++)
        f.slot_pfn[s] = ~0ULL;
    const struct pv_build_ops ops = { .ctx = &f, .map = fmap_map };
    struct pv_build_result res;
    rc = pv_build_load(&plan, &img, &args, p2m, &ops, &res, why);
    int urc = fmap_release(&f);
    if (!rc && f.err) {
        rc = f.err;
        *why = "foreign mapping of the new domain's frames failed";
    }
    if (!rc && urc) {
        rc = urc;
        *why = "unmapping the new domain's frames failed";
    }
    if (rc)
        return rc;
    if ((rc = set_m2p(domid, p2m, l->nr_pages))) {
        *why = "MMU_MACHPHYS_UPDATE failed";
        return rc;
    }
    struct mmuext_op pin = { .cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = res.l4_mfn };
    if ((rc = xc_mmuext_op(&pin, 1, domid))) {
        *why = "the hv refused the initial page tables (MMUEXT_PIN_L4_TABLE)";
        return rc;
    }
    if ((rc = set_context(domid, l, plan.entry, res.l4_mfn))) {
        *why = "XEN_DOMCTL_setvcpucontext failed";
        return rc;
    }
    out->store_mfn = res.store_mfn;
    out->console_mfn = res.console_mfn;
    out->store_evtchn = (uint32_t)store;
    out->console_evtchn = (uint32_t)console;
    out->entry = plan.entry;
    out->start_info_va = l->vstartinfo_start;
    out->l4_mfn = res.l4_mfn;
    out->nr_pages = l->nr_pages;
    return 0;
}
