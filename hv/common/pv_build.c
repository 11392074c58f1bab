/*
 * pv_build.c - PV domain builder (see pv_build.h). Pure C: frames come
 * from mm_alloc_frame and are reached through mfn_to_virt, so host tests
 * run the whole builder on fake memory.
 * Owns: the initial state of a PV guest. Must never: write outside the
 * frames it allocated for the domain, or trust a size from the ELF image
 * before elf.c has checked it.
 */
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xenolith/pv_build.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
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
    struct domain *d;
    const struct pv_layout *l;
    uint64_t *p2m;       /* hv copy, nr_pages entries */
    uint64_t next_pt;    /* next unused pfn of the page-table area */
};

static void *va_ptr(const struct builder *b, uint64_t va)
{
    uint64_t pfn = (va - b->l->v_start) >> PAGE_SHIFT;
    return (uint8_t *)mfn_to_virt(b->p2m[pfn]) + (va & (PAGE_SIZE - 1));
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

/* Page-table frames get their types when the finished L4 is validated. */
static uint64_t *new_table(struct builder *b)
{
    return mfn_to_virt(b->p2m[b->next_pt++]);
}

/* Map one guest page at va; page-table frames are mapped read-only. */
static void map_page(struct builder *b, uint64_t *l4, uint64_t va, uint64_t mfn, int ro)
{
    uint64_t *t = l4;
    for (int level = 4; level > 1; level--) {
        uint64_t *e = &t[(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511];
        if (!(*e & PTE_P)) {
            uint64_t *nt = new_table(b);
            *e = (virt_to_mfn(nt) << PAGE_SHIFT) | PTE_P | PTE_RW | PTE_US | PTE_A;
        }
        t = mfn_to_virt((*e & PTE_ADDR) >> PAGE_SHIFT);
    }
    t[(va >> PAGE_SHIFT) & 511] =
        (mfn << PAGE_SHIFT) | PTE_P | PTE_US | PTE_A | PTE_D | (ro ? 0 : PTE_RW);
}

static int load_segments(struct builder *b, const struct elf_image *elf, uint64_t virt_offset)
{
    for (unsigned int i = 0; i < elf->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(elf, i);
        if (ph->p_type != ELF_PT_LOAD || !ph->p_memsz)
            continue;
        uint64_t va = ph->p_paddr + virt_offset;
        va_write(b, va, elf->data + ph->p_offset, ph->p_filesz);
        va_write(b, va + ph->p_filesz, NULL, ph->p_memsz - ph->p_filesz);
    }
    return 0;
}

static void fill_start_info(struct builder *b, const struct pv_image *img)
{
    const struct pv_layout *l = b->l;
    start_info_t si;
    memset(&si, 0, sizeof(si));
    xl_snprintf(si.magic, sizeof(si.magic), "xen-3.0-x86_64");
    si.nr_pages = l->nr_pages;
    si.shared_info = b->d->shared_info_mfn << PAGE_SHIFT;
    si.flags = b->d->privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0;
    si.pt_base = l->vpt_start;
    si.nr_pt_frames = l->nr_pt_pages;
    si.mfn_list = l->vphysmap_start;
    if (img->initrd_len) {
        si.mod_start = l->vinitrd_start;
        si.mod_len = img->initrd_len;
    }
    xl_snprintf((char *)si.cmd_line, sizeof(si.cmd_line), "%s", img->cmdline ? img->cmdline : "");
    va_write(b, l->vstartinfo_start, &si, sizeof(si));
}

/* Is [s, e) canonical and clear of the hv's reserved PML4 slots? */
static int guest_range_ok(uint64_t s, uint64_t e)
{
    if (!guest_va_ok(s) || !guest_va_ok(e - 1) || (s >> 47) != ((e - 1) >> 47))
        return 0;
    /* Both ends fine; only an upper-half range can still span the slots. */
    unsigned int s4 = (s >> 39) & 511, e4 = ((e - 1) >> 39) & 511;
    return !((s >> 47) && s4 < HV_SLOT_FIRST && e4 > HV_SLOT_LAST);
}

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
    uint64_t l4 = d->vcpu.guest_table;
    int rc = get_page_and_type(l4, d->domid, PGT_l4);
    if (rc)
        return rc;
    if ((rc = get_page_and_type(l4, d->domid, PGT_l4))) {
        put_page_and_type(l4);
        d->vcpu.guest_table = 0;
        return rc;
    }
    frame_table[l4].flags |= PGF_pinned;
    return 0;
}

static void build_page_tables(struct builder *b)
{
    const struct pv_layout *l = b->l;
    b->next_pt = (l->vpt_start - l->v_start) >> PAGE_SHIFT;
    uint64_t *l4 = new_table(b);
    const uint64_t *hv = arch_hv_l4_slots();
    for (unsigned int s = HV_SLOT_FIRST; s <= HV_SLOT_LAST; s++)
        l4[s] = hv[s];
    for (uint64_t va = l->v_start; va < l->v_end; va += PAGE_SIZE) {
        uint64_t pfn = (va - l->v_start) >> PAGE_SHIFT;
        map_page(b, l4, va, b->p2m[pfn], va >= l->vpt_start && va < l->vpt_end);
    }
    b->d->vcpu.guest_table = virt_to_mfn(l4);
    b->d->vcpu.cr3 = virt_to_mfn(l4) << PAGE_SHIFT;
    b->d->vcpu.pv.kernel_mode = 1;
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

static int pv_build_load(struct domain *d, const struct pv_image *img, const struct pv_layout *l,
                         const struct elf_image *elf, const struct xen_elfnotes *notes,
                         uint64_t virt_offset, uint64_t entry, const char **why)
{
    uint64_t bytes = l->nr_pages * sizeof(uint64_t);
    unsigned int order = 0;
    while (((uint64_t)PAGE_SIZE << order) < bytes)
        order++;
    int64_t tmp = page_alloc_pages(&hv_pages, order);
    if (tmp < 0) {
        *why = "out of hypervisor memory for the P2M";
        return -XL_ENOMEM;
    }
    struct builder b = { .d = d, .l = l, .p2m = mfn_to_virt((uint64_t)tmp) };
    int rc = alloc_memory(d, b.p2m, l->nr_pages);
    if (rc) {
        *why = "out of memory for the domain";
    } else {
        load_segments(&b, elf, virt_offset);
        if (img->initrd_len)
            va_write(&b, l->vinitrd_start, img->initrd, img->initrd_len);
        va_write(&b, l->vphysmap_start, b.p2m, bytes);
        fill_start_info(&b, img);
        build_page_tables(&b);
        if ((rc = type_page_tables(d))) {
            d->vcpu.guest_table = 0; /* unreferenced: nothing to drop */
            *why = "initial page tables failed validation";
        }
    }
    if (!rc) {
        if (notes->has_hypercall_page)
            hypercall_page_fill(va_ptr(&b, notes->hypercall_page));
        set_initial_regs(&d->vcpu, l, entry);
        d->max_pages = l->nr_pages;
    }
    page_alloc_free_pages(&hv_pages, (uint64_t)tmp, order);
    return rc;
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

int pv_build(struct domain *d, const struct pv_image *img, struct pv_layout *l,
             const char **why)
{
    struct elf_image elf;
    struct xen_elfnotes notes;
    uint64_t virt_offset, kstart, kend, entry, v_start;
    int rc = elf_parse(&elf, img->kernel, img->kernel_len, why);
    if (rc)
        return rc;
    if ((rc = elf_xen_notes(&elf, &notes))) {
        *why = rc == -XL_ENOEXEC ? "no Xen ELF notes: not a Xen PV kernel" : "malformed Xen ELF notes";
        return rc;
    }
    if ((rc = elf_xen_check(&notes, d->privileged, why)))
        return rc;
    if ((rc = kernel_placement(&elf, &notes, &virt_offset, &kstart, &kend, &entry, &v_start))) {
        *why = "kernel addresses (VIRT_BASE/PADDR_OFFSET/ENTRY) are inconsistent";
        return rc;
    }
    if ((rc = pv_layout_compute(l, v_start, kstart, kend, img->initrd_len, img->nr_pages))) {
        *why = rc == -XL_ENOMEM ? "not enough memory for the initial mapping" : "bad kernel range";
        return rc;
    }
    if (!guest_range_ok(l->v_start, l->v_end)) {
        *why = "initial mapping overlaps the hypervisor's reserved range";
        return -XL_EINVAL;
    }
    if (notes.has_hypercall_page &&
        (notes.hypercall_page < kstart || notes.hypercall_page > l->vkern_end - PAGE_SIZE ||
         (notes.hypercall_page & (PAGE_SIZE - 1)))) {
        *why = "HYPERCALL_PAGE note outside the kernel image";
        return -XL_EINVAL;
    }
    return pv_build_load(d, img, l, &elf, &notes, virt_offset, entry, why);
}
