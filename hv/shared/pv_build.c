/*
 * pv_build.c - the PV domain builder's one implementation of Xen's x86_64
 * PV layout and loading (see pv_build.h), shared by the hypervisor
 * (hv/arch/x86/pv/pv_build_hv.c) and the dom0 toolstack
 * (toolstack/libxc/build.c). Pure C: the domain's memory is reached only through
 * pv_build_ops.map, so host tests run it on fake memory.
 * Owns: the initial memory image of a PV guest. Must never: write outside
 * the frames it is given, trust a size from the ELF image before elf.c
 * has checked it, or use anything of the hypervisor but its headers'
 * constants (it is linked into dom0 too).
 */
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/hypercall_page.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/pte.h>
#include <xenolith/pv_build.h>
#include <xen/xen.h>

#define MB(x) ((uint64_t)(x) << 20)

static uint64_t span_count(uint64_t s, uint64_t e, unsigned int shift)
{
    return ((e - 1) >> shift) - (s >> shift) + 1;
}

uint64_t pv_count_pt_pages(uint64_t v_start, uint64_t v_end)
{
    if (v_end <= v_start)
        return 1;
    return 1 + span_count(v_start, v_end, 39) + span_count(v_start, v_end, 30) +
           span_count(v_start, v_end, 21);
}

int pv_layout_compute(struct pv_layout *l, uint64_t v_start, uint64_t vkern_start,
                      uint64_t vkern_end, uint64_t initrd_len, uint64_t nr_pages)
{
    memset(l, 0, sizeof(*l));
    if (vkern_start < v_start || vkern_end <= vkern_start || (v_start & (PAGE_SIZE - 1)))
        return -XL_EINVAL;
    if (nr_pages == 0 || nr_pages > (1ULL << 36) || initrd_len > (1ULL << 40))
        return -XL_ENOMEM;
    l->nr_pages = nr_pages;
    l->v_start = v_start;
    l->vkern_start = vkern_start;
    l->vkern_end = ROUNDUP(vkern_end, PAGE_SIZE);
    if (l->vkern_end < vkern_end)
        return -XL_EINVAL; /* rounding wrapped past the top */
    l->vinitrd_start = l->vkern_end;
    l->vinitrd_end = l->vinitrd_start + initrd_len;
    l->vphysmap_start = ROUNDUP(l->vinitrd_end, PAGE_SIZE);
    l->vphysmap_end = l->vphysmap_start + nr_pages * sizeof(uint64_t);
    l->vstartinfo_start = ROUNDUP(l->vphysmap_end, PAGE_SIZE);
    l->vstartinfo_end = l->vstartinfo_start + sizeof(start_info_t);
    l->vpt_start = ROUNDUP(l->vstartinfo_end, PAGE_SIZE);
    /* Grow the page-table area until it can map everything up to v_end,
     * which itself moves with it (Xen's loop). */
    for (l->nr_pt_pages = 1;; l->nr_pt_pages++) {
        l->vpt_end = l->vpt_start + l->nr_pt_pages * PAGE_SIZE;
        l->vstack_start = l->vpt_end;
        l->vstack_end = l->vstack_start + PAGE_SIZE;
        /* At least 512 KiB of padding, then round up to 4 MiB. */
        l->v_end = ROUNDUP(l->vstack_end, MB(4));
        if (l->v_end - l->vstack_end < (512ULL << 10))
            l->v_end += MB(4);
        if (l->v_end < l->v_start)
            return -XL_EINVAL; /* wrapped past the top of the address space */
        if (pv_count_pt_pages(l->v_start, l->v_end) <= l->nr_pt_pages)
            break;
    }
    if ((l->v_end - l->v_start) >> PAGE_SHIFT > nr_pages)
        return -XL_ENOMEM;
    return 0;
}

/* Builder context: the domain's frames by pfn while it is being built. */
struct builder {
    const struct pv_layout *l;
    const uint64_t *p2m;
    const struct pv_build_ops *ops;
    uint64_t next_pt, pt_end; /* page-table area: next unused pfn, end */
    uint64_t cur[5];          /* pfn of the newest table of each level 1..4 */
    int bad;                  /* the page tables came out inconsistent */
};

static void *map_pfn(const struct builder *b, uint64_t pfn)
{
    return b->ops->map(b->ops->ctx, pfn, b->p2m[pfn]);
}

static uint8_t *va_ptr(const struct builder *b, uint64_t va)
{
    return (uint8_t *)map_pfn(b, (va - b->l->v_start) >> PAGE_SHIFT) + (va & (PAGE_SIZE - 1));
}

/* Copy (src != NULL) or zero len bytes at guest va inside the mapping. */
static void va_write(const struct builder *b, uint64_t va, const void *src, uint64_t len)
{
    const uint8_t *s = src;
    while (len) {
        uint64_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        if (n > len)
            n = len;
        if (s) {
            memcpy(va_ptr(b, va), s, n);
            s += n;
        } else {
            memset(va_ptr(b, va), 0, n);
        }
        va += n;
        len -= n;
    }
}

/* The next page of the page-table area, zeroed; its pfn. Page-table
 * frames get their types when the caller validates the finished L4. */
static uint64_t new_table(struct builder *b)
{
    if (b->next_pt >= b->pt_end) {
        b->bad = 1; /* cannot happen with a layout from pv_layout_compute */
        return b->pt_end - 1;
    }
    uint64_t pfn = b->next_pt++;
    memset(map_pfn(b, pfn), 0, PAGE_SIZE);
    return pfn;
}

/* Map one guest page at va; page-table frames are mapped read-only. Pages
 * are mapped in ascending va order, so a table already present at a level
 * is always the newest one of that level (b->cur). */
static void map_page(struct builder *b, uint64_t va, uint64_t mfn, int ro)
{
    uint64_t t = b->cur[4];
    for (int level = 4; level > 1; level--) {
        unsigned int idx = (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
        uint64_t *tp = map_pfn(b, t);
        if (!(tp[idx] & PTE_P)) {
            uint64_t n = new_table(b);
            tp = map_pfn(b, t); /* new_table mapped another frame */
            tp[idx] = (b->p2m[n] << PAGE_SHIFT) | PTE_P | PTE_RW | PTE_US | PTE_A;
            b->cur[level - 1] = n;
        } else if (((tp[idx] & PTE_ADDR) >> PAGE_SHIFT) != b->p2m[b->cur[level - 1]]) {
            b->bad = 1;
            return;
        }
        t = b->cur[level - 1];
    }
    uint64_t *l1 = map_pfn(b, t);
    l1[(va >> PAGE_SHIFT) & 511] =
        (mfn << PAGE_SHIFT) | PTE_P | PTE_US | PTE_A | PTE_D | (ro ? 0 : PTE_RW);
}

static void build_page_tables(struct builder *b, const struct pv_start_args *args)
{
    const struct pv_layout *l = b->l;
    b->next_pt = (l->vpt_start - l->v_start) >> PAGE_SHIFT;
    b->pt_end = (l->vpt_end - l->v_start) >> PAGE_SHIFT;
    b->cur[4] = new_table(b);
    if (args->hv_l4_slots) {
        uint64_t *l4 = map_pfn(b, b->cur[4]);
        for (unsigned int s = HV_SLOT_FIRST; s <= HV_SLOT_LAST; s++)
            l4[s] = args->hv_l4_slots[s];
    }
    for (uint64_t va = l->v_start; va < l->v_end && !b->bad; va += PAGE_SIZE) {
        uint64_t pfn = (va - l->v_start) >> PAGE_SHIFT;
        map_page(b, va, b->p2m[pfn], va >= l->vpt_start && va < l->vpt_end);
    }
}

static void load_segments(struct builder *b, const struct elf_image *elf, uint64_t virt_offset)
{
    for (unsigned int i = 0; i < elf->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(elf, i);
        if (ph->p_type != ELF_PT_LOAD || !ph->p_memsz)
            continue;
        uint64_t va = ph->p_paddr + virt_offset;
        va_write(b, va, elf->data + ph->p_offset, ph->p_filesz);
        va_write(b, va + ph->p_filesz, NULL, ph->p_memsz - ph->p_filesz);
    }
}

static void fill_start_info(struct builder *b, const struct pv_image *img,
                            const struct pv_start_args *args, const struct pv_build_result *r)
{
    const struct pv_layout *l = b->l;
    start_info_t si;
    memset(&si, 0, sizeof(si));
    xl_snprintf(si.magic, sizeof(si.magic), "xen-3.0-x86_64");
    si.nr_pages = l->nr_pages;
    si.shared_info = args->shared_info_mfn << PAGE_SHIFT;
    si.flags = args->flags;
    si.pt_base = l->vpt_start;
    si.nr_pt_frames = l->nr_pt_pages;
    si.mfn_list = l->vphysmap_start;
    if (img->initrd_len) {
        si.mod_start = l->vinitrd_start;
        si.mod_len = img->initrd_len;
    }
    if (args->toolstack_pages) {
        si.store_mfn = r->store_mfn;
        si.store_evtchn = args->store_evtchn;
        si.console.domU.mfn = r->console_mfn;
        si.console.domU.evtchn = args->console_evtchn;
    }
    xl_snprintf((char *)si.cmd_line, sizeof(si.cmd_line), "%s", img->cmdline ? img->cmdline : "");
    va_write(b, l->vstartinfo_start, &si, sizeof(si));
}

int pv_build_load(const struct pv_plan *plan, const struct pv_image *img,
                  const struct pv_start_args *args, const uint64_t *p2m,
                  const struct pv_build_ops *ops, struct pv_build_result *out,
                  const char **why)
{
    const struct pv_layout *l = &plan->l;
    struct builder b = { .l = l, .p2m = p2m, .ops = ops };
    memset(out, 0, sizeof(*out));
    if (args->toolstack_pages) {
        /* Always inside the mapping: the padding is at least 512 KiB. */
        out->store_pfn = PV_STORE_PFN(l);
        out->console_pfn = PV_CONSOLE_PFN(l);
        if (l->v_start + ((out->console_pfn + 1) << PAGE_SHIFT) > l->v_end) {
            *why = "no room for the xenstore and console pages";
            return -XL_ENOMEM;
        }
        out->store_mfn = p2m[out->store_pfn];
        out->console_mfn = p2m[out->console_pfn];
        memset(map_pfn(&b, out->store_pfn), 0, PAGE_SIZE);
        memset(map_pfn(&b, out->console_pfn), 0, PAGE_SIZE);
    }
    load_segments(&b, &plan->elf, plan->virt_offset);
    if (img->initrd_len)
        va_write(&b, l->vinitrd_start, img->initrd, img->initrd_len);
    va_write(&b, l->vphysmap_start, p2m, l->nr_pages * sizeof(uint64_t));
    fill_start_info(&b, img, args, out);
    build_page_tables(&b, args);
    if (b.bad) {
        *why = "initial page tables do not fit their area";
        return -XL_EINVAL;
    }
    out->l4_pfn = (l->vpt_start - l->v_start) >> PAGE_SHIFT;
    out->l4_mfn = p2m[out->l4_pfn];
    if (plan->notes.has_hypercall_page)
        hypercall_page_fill(va_ptr(&b, plan->notes.hypercall_page));
    return 0;
}

/* Is [s, e) canonical and clear of the hv's reserved PML4 slots? (The
 * same rule as guest_access.c's guest_va_ok, which dom0 does not link.) */
static int va_ok(uint64_t va)
{
    uint64_t top = va >> 47;
    if (top != 0 && top != 0x1FFFF)
        return 0;
    unsigned int slot = (va >> 39) & 511;
    return !(top && slot >= HV_SLOT_FIRST && slot <= HV_SLOT_LAST);
}

static int guest_range_ok(uint64_t s, uint64_t e)
{
    if (!va_ok(s) || !va_ok(e - 1) || (s >> 47) != ((e - 1) >> 47))
        return 0;
    /* Both ends fine; only an upper-half range can still span the slots. */
    unsigned int s4 = (s >> 39) & 511, e4 = ((e - 1) >> 39) & 511;
    return !((s >> 47) && s4 < HV_SLOT_FIRST && e4 > HV_SLOT_LAST);
}

/* Work out where the kernel goes from its Xen notes (libelf's rules). */
static int kernel_placement(const struct elf_image *elf, const struct xen_elfnotes *n,
                            uint64_t *virt_offset, uint64_t *kstart, uint64_t *kend,
                            uint64_t *entry, uint64_t *v_start)
{
    uint64_t vs, ve, ps, pe;
    if (elf_load_bounds(elf, &vs, &ve, &ps, &pe))
        return -XL_ENOEXEC;
    uint64_t virt_base = n->has_virt_base ? n->virt_base : 0;
    uint64_t paddr_offset = n->has_paddr_offset ? n->paddr_offset : 0;
    *virt_offset = virt_base - paddr_offset;
    *kstart = ps + *virt_offset;
    *kend = pe + *virt_offset;
    *entry = n->has_entry ? n->entry : elf->ehdr->e_entry;
    *v_start = virt_base & ~(uint64_t)(PAGE_SIZE - 1);
    if (*kend < *kstart || *kstart < *v_start || *entry < *kstart || *entry >= *kend)
        return -XL_EINVAL;
    if (!guest_range_ok(*v_start, *kend))
        return -XL_EINVAL;
    return 0;
}

int pv_build_prepare(struct pv_plan *p, const struct pv_image *img, int dom0, const char **why)
{
    uint64_t kstart, kend, v_start;
    memset(p, 0, sizeof(*p));
    int rc = elf_parse(&p->elf, img->kernel, img->kernel_len, why);
    if (rc)
        return rc;
    if ((rc = elf_xen_notes(&p->elf, &p->notes))) {
        *why = rc == -XL_ENOEXEC ? "no Xen ELF notes: not a Xen PV kernel" : "malformed Xen ELF notes";
        return rc;
    }
    if ((rc = elf_xen_check(&p->notes, dom0, why)))
        return rc;
    if ((rc = kernel_placement(&p->elf, &p->notes, &p->virt_offset, &kstart, &kend, &p->entry,
                               &v_start))) {
        *why = "kernel addresses (VIRT_BASE/PADDR_OFFSET/ENTRY) are inconsistent";
        return rc;
    }
    struct pv_layout *l = &p->l;
    if ((rc = pv_layout_compute(l, v_start, kstart, kend, img->initrd_len, img->nr_pages))) {
        *why = rc == -XL_ENOMEM ? "not enough memory for the initial mapping" : "bad kernel range";
        return rc;
    }
    if (!guest_range_ok(l->v_start, l->v_end)) {
        *why = "initial mapping overlaps the hypervisor's reserved range";
        return -XL_EINVAL;
    }
    if (p->notes.has_hypercall_page &&
        (p->notes.hypercall_page < kstart || p->notes.hypercall_page > l->vkern_end - PAGE_SIZE ||
         (p->notes.hypercall_page & (PAGE_SIZE - 1)))) {
        *why = "HYPERCALL_PAGE note outside the kernel image";
        return -XL_EINVAL;
    }
    return 0;
}
