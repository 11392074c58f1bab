/*
 * pvh_build.c - the hypervisor's PVH domain builder, for the boot-time
 * domains: dom0 with `dom0=pvh` (Xen's option) and boot-time domUs whose
 * kernel is PVH-only (XEN_ELFNOTE_PHYS32_ENTRY without a PV entry) or
 * all of them with `domu_type=pvh`. The same layout as the toolstack's
 * builder (toolstack/libxc/build_pvh.c): RAM at guest frames 0..N, the
 * kernel's PT_LOAD segments at their physical addresses, the ramdisk at
 * the top of RAM, a start page (struct hvm_start_info, module list,
 * memory map, command line) just above RAM, vcpu 0 in 32-bit flat
 * protected mode at the entry with %ebx = the start page.
 * Owns: nothing after it returns (the frames are the domain's, the p2m
 * tables the HVM layer's). Must never: write outside the frames it gave
 * the domain.
 */
#include <xenolith/acpi_build.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/hvm.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pvh_build.h>
#include <xenolith/pvh_layout.h>
#include <xen/hvm/save.h>

int pvh_kernel_kind(const void *kernel, size_t len)
{
    struct elf_image img;
    const char *why;
    if (elf_parse(&img, kernel, len, &why))
        return 0;
    int k = pvh_elf_entry(&img, NULL);
    return (k & PVH_HAS_PVH_ENTRY ? PVH_KERNEL_PVH : 0) | (k & PVH_HAS_PV_ENTRY ? PVH_KERNEL_PV : 0);
}

/* Copy len bytes (zeros where src is NULL) to guest-physical gpa of d. */
static int copy_gpa(struct domain *d, uint64_t gpa, const uint8_t *src, uint64_t len)
{
    while (len) {
        uint64_t off = gpa & (PAGE_SIZE - 1), n = PAGE_SIZE - off;
        if (n > len)
            n = len;
        int64_t mfn = hvm_gfn_to_mfn(d, gpa >> PAGE_SHIFT);
        if (mfn < 0)
            return -XL_EFAULT;
        uint8_t *p = (uint8_t *)mfn_to_virt((uint64_t)mfn) + off;
        if (src)
            memcpy(p, src, n);
        else
            memset(p, 0, n);
        gpa += n;
        len -= n;
        if (src)
            src += n;
    }
    return 0;
}

int pvh_build(struct domain *d, const struct pvh_image *pi, const char **why)
{
    struct elf_image img;
    int rc;
    if ((rc = elf_parse(&img, pi->kernel, pi->kernel_len, why)))
        return rc;
    uint64_t entry;
    if (!(pvh_elf_entry(&img, &entry) & PVH_HAS_PVH_ENTRY)) {
        *why = "no XEN_ELFNOTE_PHYS32_ENTRY: not a PVH kernel";
        return -XL_EINVAL;
    }
    uint64_t nr_pages = pi->nr_pages, ram_end = nr_pages << PAGE_SHIFT;
    if (nr_pages < 256 || nr_pages > (3ULL << 30) >> PAGE_SHIFT) {
        *why = "memory out of the PVH builder's range (1 MiB .. 3 GiB)";
        return -XL_EINVAL;
    }
    if ((rc = pvh_check_segments(&img, ram_end, why)))
        return rc;
    uint64_t rd_gpa = 0;
    if (pi->initrd && pi->initrd_len && pvh_ramdisk_place(ram_end, pi->initrd_len, &rd_gpa)) {
        *why = "the ramdisk takes half the domain's RAM or more";
        return -XL_ENOMEM;
    }
    if ((rc = hvm_domain_init(d, 1))) {
        *why = "no HVM support (SVM+NPT or VT-x+EPT) on this machine";
        return rc;
    }
    d->hvmd.emu_lapic = 1; /* as Xen's PVH domains: a local APIC each */
    struct vcpu *v;
    for_each_vcpu(d, v)
        v->cr3 = hvm_cr3_tag((unsigned int)(d - domains), v->id, MAX_VCPUS);
    /* RAM, the start page and the ACPI page, a frame at a time (any
     * frame will do). */
    d->max_pages = nr_pages + 2;
    for (uint64_t gfn = 0; gfn <= nr_pages + 1; gfn++) {
        int64_t mfn = mm_alloc_frame(d->domid);
        if (mfn < 0) {
            *why = "out of memory";
            return -XL_ENOMEM;
        }
        if ((rc = hvm_map_gfn(d, gfn, (uint64_t)mfn, P2M_RWX))) {
            mm_free_frame((uint64_t)mfn);
            *why = "out of memory for the p2m";
            return rc;
        }
        m2p_set((uint64_t)mfn, gfn);
        d->tot_pages++;
    }
    for (unsigned int i = 0; i < img.ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(&img, i);
        if (ph && ph->p_type == ELF_PT_LOAD && ph->p_filesz)
            copy_gpa(d, ph->p_paddr, img.data + ph->p_offset, ph->p_filesz);
    }
    if (rd_gpa)
        copy_gpa(d, rd_gpa, pi->initrd, pi->initrd_len);
    /* The start page and the ACPI page, above RAM. */
    static uint8_t page[PAGE_SIZE];
    uint64_t acpi_gpa = ram_end + PAGE_SIZE;
    if (acpi_build_pvh(page, sizeof(page), acpi_gpa, d->max_vcpus)) {
        *why = "too many vcpus for the MADT";
        return -XL_EINVAL;
    }
    copy_gpa(d, acpi_gpa, page, PAGE_SIZE);
    pvh_start_page(page, ram_end, ram_end, 1, acpi_gpa, rd_gpa, rd_gpa ? pi->initrd_len : 0,
                   pi->cmdline);
    copy_gpa(d, ram_end, page, PAGE_SIZE);
    /* vcpu 0 at the entry */
    struct hvm_hw_cpu c;
    pvh_entry_cpu(&c, entry, ram_end);
    v = &d->vcpus[0];
    if ((rc = hvm_vcpu_init(v))) {
        *why = "out of memory for the vcpu's control block";
        return rc;
    }
    hvm_funcs->load_cpu(v, &c);
    v->initialised = 1;
    v->online = 1;
    return 0;
}
