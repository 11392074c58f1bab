/*
 * build_pvh.c - the dom0 toolstack's PVH domain builder (build.h):
 * guest-physical RAM from populate_physmap (translated: the domain's p2m),
 * the kernel's PT_LOAD segments copied to their physical addresses through
 * foreign mappings of guest frames, the xenstore and console pages and a
 * start page (struct hvm_start_info, the memory map, the command line, a
 * module for the ramdisk) just above RAM, the HVM params that name them,
 * and vcpu 0's state as XEN_DOMCTL_sethvmcontext records: 32-bit flat
 * protected mode at the kernel's XEN_ELFNOTE_PHYS32_ENTRY with %ebx =
 * the start page (Xen's docs/misc/pvh.pandoc). The same for HVM
 * (xl_build_hvm): a bzImage through linux_boot.h, an ELF as a Multiboot
 * kernel (build_hvm_mb.c), on the same RAM, special pages and params.
 * Owns: the PVH guest-physical layout. Must never: write outside the
 * frames it populated, or leave a window page mapped.
 */
#include "build.h"
#include "build_hvm_mb.h"
#include "ctrl.h"

#include <xenolith/acpi_build.h>
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/linux_boot.h>
#include <xenolith/pvh_layout.h>
#include <xen/hvm/params.h>
#include <xen/hvm/save.h>

/* The special pages above RAM: start page, xenstore, console, ACPI. */
#define PVH_SPECIAL_PAGES 4

/* Copy len bytes to guest-physical gpa (zero-fill where src is NULL),
 * one guest frame at a time through the window page. */
static int copy_to_gpa(uint32_t domid, uint8_t *win, uint64_t gpa, const uint8_t *src,
                       uint64_t len)
{
    while (len) {
        uint64_t off = gpa & (PAGE_SIZE - 1), n = PAGE_SIZE - off;
        if (n > len)
            n = len;
        int rc = xc_map_foreign_at(domid, win, gpa >> PAGE_SHIFT, XC_PROT_READ | XC_PROT_WRITE);
        if (rc)
            return rc;
        if (src)
            memcpy(win + off, src, n);
        else
            memset(win + off, 0, n);
        if ((rc = xc_unmap_foreign_at(win)))
            return rc;
        gpa += n;
        len -= n;
        if (src)
            src += n;
    }
    return 0;
}

int xl_build_copy_to_gpa(uint32_t domid, uint8_t *win, uint64_t gpa, const uint8_t *src,
                         uint64_t len)
{
    return copy_to_gpa(domid, win, gpa, src, len);
}

/* vcpu 0's state c: HVM save records HEADER, CPU, END. */
static int set_entry_state(uint32_t domid, const struct hvm_hw_cpu *cpu)
{
    static uint8_t buf[sizeof(struct hvm_save_descriptor) * 3 + sizeof(struct hvm_save_header) +
                       sizeof(struct hvm_hw_cpu)] __attribute__((aligned(8)));
    memset(buf, 0, sizeof(buf));
    uint8_t *p = buf;
    struct hvm_save_descriptor d = { .typecode = 1, .instance = 0,
                                     .length = sizeof(struct hvm_save_header) };
    struct hvm_save_header h = { .magic = HVM_FILE_MAGIC, .version = HVM_FILE_VERSION };
    memcpy(p, &d, sizeof(d));
    p += sizeof(d);
    memcpy(p, &h, sizeof(h));
    p += sizeof(h);
    struct hvm_hw_cpu c = *cpu;
    d = (struct hvm_save_descriptor){ .typecode = 2, .instance = 0, .length = sizeof(c) };
    memcpy(p, &d, sizeof(d));
    p += sizeof(d);
    memcpy(p, &c, sizeof(c));
    p += sizeof(c);
    d = (struct hvm_save_descriptor){ .typecode = 0, .instance = 0, .length = 0 };
    memcpy(p, &d, sizeof(d));
    p += sizeof(d);
    return xc_domain_hvm_setcontext(domid, buf, (uint32_t)(p - buf));
}

/* The 64-bit entry state of the x86 boot protocol: long mode on the
 * direct boot's page tables and GDT, %rsi = the zero page. */
static void hvm_entry_cpu(struct hvm_hw_cpu *c, uint64_t entry)
{
    memset(c, 0, sizeof(*c));
    c->rip = entry;
    c->rsi = LB_ZERO_PAGE;
    c->rflags = 2;
    c->cr0 = 0x80000011ULL; /* PG | ET | PE */
    c->cr3 = LB_PML4;
    c->cr4 = 0x20;          /* PAE */
    c->msr_efer = 0x500;    /* LME | LMA */
    c->cs_sel = 0x10, c->cs_limit = 0xffffffff, c->cs_arbytes = 0xa9b; /* 64-bit code */
    c->ds_sel = c->es_sel = c->ss_sel = c->fs_sel = c->gs_sel = 0x18;
    c->ds_limit = c->es_limit = c->ss_limit = c->fs_limit = c->gs_limit = 0xffffffff;
    c->ds_arbytes = c->es_arbytes = c->ss_arbytes = c->fs_arbytes = c->gs_arbytes = 0xc93;
    c->tr_sel = 0x20, c->tr_limit = 0x67, c->tr_arbytes = 0x8b;
    c->ldtr_arbytes = 0x82;
    c->gdtr_base = LB_GDT, c->gdtr_limit = 0x1f;
    c->dr6 = 0xffff0ff0, c->dr7 = 0x400;
}

static int build(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                 const char **why, int hvm);

int xl_build_pvh(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                 const char **why)
{
    return build(domid, a, out, why, 0);
}

int xl_build_hvm(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                 const char **why)
{
    return build(domid, a, out, why, 1);
}

static int build(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                 const char **why, int hvm)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if (!a->memory_mb || a->memory_mb > 3072) {
        *why = "memory size out of the PVH builder's range (1 MiB .. 3 GiB, below the MMIO hole)";
        return -XL_EINVAL;
    }
    struct elf_image img;
    struct linux_boot_plan lb;
    uint64_t entry = 0;
    uint64_t nr_pages = (uint64_t)a->memory_mb << (20 - PAGE_SHIFT);
    uint64_t ram_end = nr_pages << PAGE_SHIFT;
    /* HVM: an ELF is a Multiboot kernel (build_hvm_mb.c), else a bzImage */
    int mb = hvm && xl_hvm_mb_is_elf(a->kernel, a->kernel_len);
    static struct mb1_plan mbp;
    if (mb) {
        if ((rc = xl_hvm_mb_prepare(a, ram_end, &mbp, why)))
            return rc;
        entry = mbp.entry;
    } else if (hvm) {
        /* an unmodified kernel through the x86 boot protocol */
        if ((rc = linux_boot_prepare(a->kernel, a->kernel_len, &lb, why)))
            return rc;
        if (lb.load_addr + lb.init_size > ram_end / 2) {
            *why = "the kernel needs more than half the domain's RAM";
            return -XL_EINVAL;
        }
        entry = lb.entry;
    } else {
        if ((rc = elf_parse(&img, a->kernel, a->kernel_len, why)))
            return rc;
        if (!(pvh_elf_entry(&img, &entry) & PVH_HAS_PVH_ENTRY)) {
            *why = "the kernel has no XEN_ELFNOTE_PHYS32_ENTRY: not a PVH kernel";
            return -XL_EINVAL;
        }
        if ((rc = pvh_check_segments(&img, ram_end, why)))
            return rc;
    }
    uint64_t rd_gpa = 0;
    if (a->ramdisk && a->ramdisk_len && pvh_ramdisk_place(ram_end, a->ramdisk_len, &rd_gpa)) {
        *why = "the ramdisk takes half the domain's RAM or more";
        return -XL_EINVAL;
    }
    if ((rc = xc_domain_max_vcpus(domid, a->max_vcpus ? a->max_vcpus : 1))) {
        *why = "XEN_DOMCTL_max_vcpus failed";
        return rc;
    }
    uint64_t max_memkb = a->max_memkb ? a->max_memkb : (uint64_t)a->memory_mb << 10;
    if ((rc = xc_domain_setmaxmem(domid, max_memkb + PVH_SPECIAL_PAGES * 4))) {
        *why = "XEN_DOMCTL_max_mem failed";
        return rc;
    }
    /* RAM and the special pages: gfns 0 .. nr_pages + 3, in batches. */
    uint64_t total = nr_pages + PVH_SPECIAL_PAGES;
    for (uint64_t done = 0; done < total;) {
        uint64_t n = total - done < a->p2m_entries ? total - done : a->p2m_entries;
        for (uint64_t i = 0; i < n; i++)
            a->p2m[i] = done + i;
        if ((rc = xc_domain_populate_physmap_exact(domid, n, 0, 0, a->p2m))) {
            *why = "XENMEM_populate_physmap failed";
            return rc;
        }
        done += n;
    }
    uint64_t start_gfn = nr_pages, store_gfn = nr_pages + 1, console_gfn = nr_pages + 2,
             acpi_gfn = nr_pages + 3;
    uint64_t base = start_gfn << PAGE_SHIFT;
    uint8_t *win = xc_foreign_window_alloc(1);
    if (!win) {
        *why = "foreign mapping window full";
        return -XL_EBUSY;
    }
    /* The kernel (the rest of RAM is zero: fresh frames). */
    if (mb)
        rc = xl_hvm_mb_write(domid, win, a, &mbp, base, ram_end, PVH_SPECIAL_PAGES - 1,
                             acpi_gfn << PAGE_SHIFT, rd_gpa);
    else if (hvm)
        rc = copy_to_gpa(domid, win, lb.load_addr, lb.kernel, lb.kernel_len);
    for (unsigned int i = 0; !hvm && !rc && i < img.ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(&img, i);
        if (!ph || ph->p_type != ELF_PT_LOAD || !ph->p_filesz)
            continue;
        rc = copy_to_gpa(domid, win, ph->p_paddr, img.data + ph->p_offset, ph->p_filesz);
    }
    if (!rc && rd_gpa)
        rc = copy_to_gpa(domid, win, rd_gpa, a->ramdisk, a->ramdisk_len);
    /* The ACPI page and the start page (hvm_start_info, module list,
     * memory map, command line). */
    static uint8_t acpi[PAGE_SIZE], page[PAGE_SIZE];
    /* HVM: the MADT names the I/O APIC and the PIC pair too */
    unsigned int nv = a->max_vcpus ? a->max_vcpus : 1;
    if (!rc && (hvm ? acpi_build_hvm(acpi, sizeof(acpi), acpi_gfn << PAGE_SHIFT, nv)
                    : acpi_build_pvh(acpi, sizeof(acpi), acpi_gfn << PAGE_SHIFT, nv)))
        rc = -XL_EINVAL;
    if (mb) {
        /* the information page went with the kernel */
    } else if (hvm) {
        /* the zero page (E820: low RAM, the legacy hole, RAM, the special
         * pages, ACPI), the command line, page tables and GDT */
        const struct lb_e820 map[] = {
            { 0, 0x9f000, 1 }, { 0x9f000, 0x100000 - 0x9f000, 2 },
            { 0x100000, ram_end - 0x100000, 1 },
            { ram_end, (PVH_SPECIAL_PAGES - 1) * PAGE_SIZE, 2 },
            { acpi_gfn << PAGE_SHIFT, PAGE_SIZE, 3 },
        };
        linux_boot_zero_page(page, a->kernel, a->kernel_len, rd_gpa, rd_gpa ? a->ramdisk_len : 0,
                             map, 5, acpi_gfn << PAGE_SHIFT);
        if (!rc)
            rc = copy_to_gpa(domid, win, LB_ZERO_PAGE, page, PAGE_SIZE);
        memset(page, 0, sizeof(page));
        xl_snprintf((char *)page, LB_CMDLINE_MAX, "%s", a->cmdline ? a->cmdline : "");
        if (!rc)
            rc = copy_to_gpa(domid, win, LB_CMDLINE, page, LB_CMDLINE_MAX);
        static uint64_t pt[LB_PT_PAGES][512];
        linux_boot_page_tables(pt);
        if (!rc)
            rc = copy_to_gpa(domid, win, LB_PML4, (const uint8_t *)pt, sizeof(pt));
        linux_boot_gdt(page);
        if (!rc)
            rc = copy_to_gpa(domid, win, LB_GDT, page, PAGE_SIZE);
    } else {
        pvh_start_page(page, base, ram_end, PVH_SPECIAL_PAGES - 1, acpi_gfn << PAGE_SHIFT, rd_gpa,
                       rd_gpa ? a->ramdisk_len : 0, a->cmdline);
        if (!rc)
            rc = copy_to_gpa(domid, win, base, page, PAGE_SIZE);
    }
    if (!rc)
        rc = copy_to_gpa(domid, win, store_gfn << PAGE_SHIFT, NULL, PAGE_SIZE);
    if (!rc)
        rc = copy_to_gpa(domid, win, console_gfn << PAGE_SHIFT, NULL, PAGE_SIZE);
    if (!rc)
        rc = copy_to_gpa(domid, win, acpi_gfn << PAGE_SHIFT, acpi, PAGE_SIZE);
    xc_foreign_window_free(win, 1);
    if (rc) {
        *why = "writing the domain's memory through foreign mappings failed";
        return rc;
    }
    int store = xc_evtchn_alloc_unbound(domid, 0);
    int console = store < 0 ? store : xc_evtchn_alloc_unbound(domid, 0);
    if (store < 0 || console < 0) {
        *why = "EVTCHNOP_alloc_unbound failed";
        return store < 0 ? store : console;
    }
    if ((rc = xc_hvm_param_set(domid, HVM_PARAM_STORE_PFN, store_gfn)) ||
        (rc = xc_hvm_param_set(domid, HVM_PARAM_STORE_EVTCHN, (uint64_t)store)) ||
        (rc = xc_hvm_param_set(domid, HVM_PARAM_CONSOLE_PFN, console_gfn)) ||
        (rc = xc_hvm_param_set(domid, HVM_PARAM_CONSOLE_EVTCHN, (uint64_t)console))) {
        *why = "HVMOP_set_param failed";
        return rc;
    }
    struct hvm_hw_cpu cpu;
    if (mb)
        xl_hvm_mb_entry(&cpu, &mbp, base);
    else if (hvm)
        hvm_entry_cpu(&cpu, entry);
    else
        pvh_entry_cpu(&cpu, entry, base);
    if ((rc = set_entry_state(domid, &cpu))) {
        *why = "XEN_DOMCTL_sethvmcontext failed";
        return rc;
    }
    /* The back ends map these by guest frame (the hv translates). */
    out->store_mfn = store_gfn;
    out->console_mfn = console_gfn;
    out->store_evtchn = (uint32_t)store;
    out->console_evtchn = (uint32_t)console;
    out->entry = entry;
    out->start_info_va = base;
    out->nr_pages = nr_pages;
    return 0;
}
