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
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/elfnote.h>
#include <xen/hvm/save.h>

struct pvh_notes {
    uint64_t entry;
    int has_phys32, has_pv_entry;
};

static int note_fn(void *ctx, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
    struct pvh_notes *n = ctx;
    if (strcmp(name, "Xen"))
        return 0;
    if (type == XEN_ELFNOTE_PHYS32_ENTRY && descsz >= 4) {
        uint32_t e;
        memcpy(&e, desc, 4);
        n->entry = e;
        n->has_phys32 = 1;
    } else if (type == XEN_ELFNOTE_ENTRY) {
        n->has_pv_entry = 1;
    }
    return 0;
}

int pvh_kernel_kind(const void *kernel, size_t len)
{
    struct elf_image img;
    const char *why;
    struct pvh_notes n = { 0 };
    if (elf_parse(&img, kernel, len, &why))
        return 0;
    elf_foreach_note(&img, note_fn, &n);
    return (n.has_phys32 ? PVH_KERNEL_PVH : 0) | (n.has_pv_entry ? PVH_KERNEL_PV : 0);
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
    struct pvh_notes n = { 0 };
    elf_foreach_note(&img, note_fn, &n);
    if (!n.has_phys32) {
        *why = "no XEN_ELFNOTE_PHYS32_ENTRY: not a PVH kernel";
        return -XL_EINVAL;
    }
    uint64_t nr_pages = pi->nr_pages, ram_end = nr_pages << PAGE_SHIFT;
    if (nr_pages < 256 || nr_pages > (3ULL << 30) >> PAGE_SHIFT) {
        *why = "memory out of the PVH builder's range (1 MiB .. 3 GiB)";
        return -XL_EINVAL;
    }
    for (unsigned int i = 0; i < img.ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(&img, i);
        if (!ph || ph->p_type != ELF_PT_LOAD || !ph->p_memsz)
            continue;
        if (ph->p_paddr < PAGE_SIZE || ph->p_memsz > ram_end || ph->p_paddr > ram_end - ph->p_memsz ||
            ph->p_filesz > ph->p_memsz) {
            *why = "a PT_LOAD segment lies outside the domain's RAM";
            return -XL_EINVAL;
        }
    }
    uint64_t rd_gpa = 0;
    if (pi->initrd && pi->initrd_len) {
        uint64_t rd_pages = (pi->initrd_len + PAGE_SIZE - 1) >> PAGE_SHIFT;
        if (rd_pages >= nr_pages / 2) {
            *why = "the ramdisk takes more than half the domain's RAM";
            return -XL_ENOMEM;
        }
        rd_gpa = (nr_pages - rd_pages) << PAGE_SHIFT;
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
    /* The start page (above RAM, reserved in the map). */
    static uint8_t page[PAGE_SIZE];
    memset(page, 0, sizeof(page));
    struct hvm_start_info *si = (struct hvm_start_info *)page;
    struct hvm_modlist_entry *mod = (struct hvm_modlist_entry *)(page + 64);
    struct hvm_memmap_table_entry *mm = (struct hvm_memmap_table_entry *)(page + 128);
    uint64_t base = ram_end;
    si->magic = XEN_HVM_START_MAGIC_VALUE;
    si->version = 1;
    if (rd_gpa) {
        mod->paddr = rd_gpa;
        mod->size = pi->initrd_len;
        si->nr_modules = 1;
        si->modlist_paddr = base + 64;
    }
    mm[0] = (struct hvm_memmap_table_entry){ .addr = 0, .size = ram_end,
                                             .type = XEN_HVM_MEMMAP_TYPE_RAM };
    mm[1] = (struct hvm_memmap_table_entry){ .addr = ram_end, .size = PAGE_SIZE,
                                             .type = XEN_HVM_MEMMAP_TYPE_RESERVED };
    mm[2] = (struct hvm_memmap_table_entry){ .addr = ram_end + PAGE_SIZE, .size = PAGE_SIZE,
                                             .type = XEN_HVM_MEMMAP_TYPE_ACPI };
    si->memmap_paddr = base + 128;
    si->memmap_entries = 3;
    static uint8_t acpi[PAGE_SIZE];
    if (acpi_build_pvh(acpi, sizeof(acpi), ram_end + PAGE_SIZE, d->max_vcpus) == 0) {
        copy_gpa(d, ram_end + PAGE_SIZE, acpi, PAGE_SIZE);
        si->rsdp_paddr = ram_end + PAGE_SIZE;
    }
    if (pi->cmdline && pi->cmdline[0]) {
        xl_snprintf((char *)page + 512, PAGE_SIZE - 512, "%s", pi->cmdline);
        si->cmdline_paddr = base + 512;
    }
    copy_gpa(d, base, page, PAGE_SIZE);
    /* vcpu 0 at the entry (docs/misc/pvh.pandoc's state). */
    struct hvm_hw_cpu c;
    memset(&c, 0, sizeof(c));
    c.rip = n.entry;
    c.rbx = base;
    c.rflags = 2;
    c.cr0 = 0x11;
    c.cs_sel = 0x08, c.cs_limit = 0xffffffff, c.cs_arbytes = 0xc9b;
    c.ds_sel = c.es_sel = c.ss_sel = c.fs_sel = c.gs_sel = 0x10;
    c.ds_limit = c.es_limit = c.ss_limit = c.fs_limit = c.gs_limit = 0xffffffff;
    c.ds_arbytes = c.es_arbytes = c.ss_arbytes = c.fs_arbytes = c.gs_arbytes = 0xc93;
    c.tr_sel = 0x18, c.tr_limit = 0x67, c.tr_arbytes = 0x8b;
    c.ldtr_arbytes = 0x82;
    c.dr6 = 0xffff0ff0, c.dr7 = 0x400;
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
