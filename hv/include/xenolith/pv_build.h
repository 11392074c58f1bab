/*
 * pv_build.h - the PV domain builder: lays out and loads a Xen x86_64 PV
 * kernel the way Xen's dom0 builder does (docs/memory-layout.md).
 */
#ifndef XENOLITH_PV_BUILD_H
#define XENOLITH_PV_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/domain.h>

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

/* Build domain d from a PV kernel ELF: allocate its memory, load it, build
 * its page tables, start_info, P2M and hypercall page, and set its vcpu
 * ready to run. On failure returns a negative errno with *why set, and
 * the frames already given to d stay owned by d (domain_destroy frees). */
int pv_build(struct domain *d, const struct pv_image *img, struct pv_layout *out,
             const char **why);

/* The hv PML4 slots copied into every guest L4 (arch provides them). */
const uint64_t *arch_hv_l4_slots(void);

#endif
