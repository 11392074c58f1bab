/*
 * pv_build.h - the PV domain builder: lays out and loads a Xen x86_64 PV
 * kernel the way Xen's dom0 builder does (docs/memory-layout.md).
 *
 * One implementation (hv/shared/pv_build.c, pure C: it only touches the
 * domain's memory through pv_build_ops) serves two back ends:
 *   - the hypervisor's (hv/arch/x86/pv/pv_build_hv.c, pv_build() in
 *     xenolith/pv_build_hv.h): boot-time
 *     dom0 and domUs, frames from the allocator, bytes through the direct
 *     map, page types and M2P set directly;
 *   - the toolstack's in dom0 (toolstack/libxc/build.c): frames
 *     from XENMEM_populate_physmap, bytes through foreign mappings, M2P
 *     with MMU_MACHPHYS_UPDATE, the L4 pinned with MMUEXT_PIN_L4_TABLE.
 * Shared code (hv/shared): this header must stay free of hypervisor-only
 * types and declarations so the toolstack can use it.
 */
#ifndef XENOLITH_PV_BUILD_H
#define XENOLITH_PV_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/elf.h>

/* The guest's initial virtual layout, every field a guest virtual address
 * (start inclusive, end exclusive), as Xen lays it out:
 *   kernel | initrd | P2M list | start_info | page tables | stack | pad */
struct pv_layout {
    uint64_t v_start, v_end;
    uint64_t vkern_start, vkern_end;
    uint64_t vinitrd_start, vinitrd_end;
    uint64_t vphysmap_start, vphysmap_end;
    uint64_t vstartinfo_start, vstartinfo_end;
    uint64_t vpt_start, vpt_end;
    uint64_t vstack_start, vstack_end;
    uint64_t nr_pt_pages;
    uint64_t nr_pages;
};

/* Compute the layout for a kernel occupying [vkern_start, vkern_end) in a
 * mapping that starts at v_start, with an initrd of initrd_len bytes and
 * nr_pages of memory. Returns 0, -XL_EINVAL for an impossible kernel
 * range, or -XL_ENOMEM if nr_pages cannot hold the initial mapping. */
int pv_layout_compute(struct pv_layout *l, uint64_t v_start, uint64_t vkern_start,
                      uint64_t vkern_end, uint64_t initrd_len, uint64_t nr_pages);

/* Number of page-table pages (L4..L1) needed to map [v_start, v_end). */
uint64_t pv_count_pt_pages(uint64_t v_start, uint64_t v_end);

struct pv_image {
    const void *kernel;
    size_t kernel_len;
    const void *initrd;
    size_t initrd_len;
    const char *cmdline;
    uint64_t nr_pages;
};

/* What pv_build_prepare found out about a kernel before any memory is
 * given: the layout and where the ELF goes. */
struct pv_plan {
    struct pv_layout l;
    struct elf_image elf;
    struct xen_elfnotes notes;
    uint64_t virt_offset; /* guest va = p_paddr + virt_offset */
    uint64_t entry;
};

/* Parse and check the kernel (Xen's note checks, dom0 or not), place it
 * and compute the layout. Touches no memory but *plan. Returns 0 or a
 * negative errno with *why set. */
int pv_build_prepare(struct pv_plan *plan, const struct pv_image *img, int dom0,
                     const char **why);

/* How the builder reaches the new domain's memory. */
struct pv_build_ops {
    void *ctx;
    /* A writable pointer to frame mfn (the domain's pfn), valid until the
     * next call of map. Never NULL: a back end that cannot map returns a
     * pointer to a discard page and reports the failure afterwards. */
    void *(*map)(void *ctx, uint64_t pfn, uint64_t mfn);
};

/* start_info fields that come from the caller. */
struct pv_start_args {
    uint64_t shared_info_mfn;
    uint32_t flags;          /* SIF_*: SIF_PRIVILEGED|SIF_INITDOMAIN for dom0, 0 else */
    /* The hv's PML4 slots (HV_SLOT_FIRST..LAST) to copy into the L4, or
     * NULL to leave them empty (the hv fills them when it validates). */
    const uint64_t *hv_l4_slots;
    /* Toolstack domUs: xenstore and console rings in two extra pages
     * right after the stack (inside the initial mapping, zeroed). */
    int toolstack_pages;
    uint32_t store_evtchn, console_evtchn;
};

/* Where things ended up (guest pfns and mfns). */
struct pv_build_result {
    uint64_t l4_pfn, l4_mfn;
    uint64_t store_pfn, store_mfn;     /* toolstack_pages only, else 0 */
    uint64_t console_pfn, console_mfn; /* toolstack_pages only, else 0 */
};

/* pfns of the toolstack's extra pages in layout l. */
#define PV_STORE_PFN(l)   (((l)->vstack_end - (l)->v_start) >> 12)
#define PV_CONSOLE_PFN(l) (PV_STORE_PFN(l) + 1)

/* Load the planned kernel into the frames p2m[0 .. plan->l.nr_pages)
 * (zeroed frames the domain owns): ELF segments (.bss zeroed), initrd,
 * the P2M list, start_info, the initial page tables (untyped: the caller
 * validates them), the hypercall page. Writes nothing outside those
 * frames. Returns 0 or a negative errno with *why set. */
int pv_build_load(const struct pv_plan *plan, const struct pv_image *img,
                  const struct pv_start_args *args, const uint64_t *p2m,
                  const struct pv_build_ops *ops, struct pv_build_result *out,
                  const char **why);

#endif
