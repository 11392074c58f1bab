/*
 * build_hvm_mb.c - the toolstack's HVM builder for a Multiboot (v1) ELF
 * kernel (build_hvm_mb.h), what xl type = "hvm" with kernel = an ELF
 * does (a bzImage goes through the x86 boot protocol instead): the ELF's
 * PT_LOAD segments at their physical addresses, a multiboot_info (memory
 * sizes, memory map, command line, the ramdisk as a module) on the start
 * page above RAM, vcpu 0 in 32-bit flat protected mode at the header's
 * entry with %eax = 0x2BADB002 and %ebx = the info, as QEMU's -kernel
 * starts a Multiboot kernel. The RAM, the special pages, the ACPI page
 * and the HVM params are build_pvh.c's, shared with PVH.
 * Owns: the Multiboot kernel's placement in the domain. Must never: write
 * outside the RAM and start page build_pvh.c populated, or read the
 * image other than through mb1_layout.c's checked plan.
 */
#include "build.h"
#include "build_hvm_mb.h"

#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/pvh_layout.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>

int xl_hvm_mb_is_elf(const void *kernel, size_t len)
{
    return len >= 4 && !memcmp(kernel, "\177ELF", 4);
}

int xl_hvm_mb_prepare(const struct xl_build_args *a, uint64_t ram_end, struct mb1_plan *p,
                      const char **why)
{
    int rc = mb1_prepare(a->kernel, a->kernel_len, ram_end, p, why);
    if (rc)
        return rc;
    uint64_t rd_gpa;
    if (!a->ramdisk || !a->ramdisk_len || pvh_ramdisk_place(ram_end, a->ramdisk_len, &rd_gpa))
        return 0; /* no ramdisk, or one the caller refuses */
    for (unsigned int i = 0; i < p->nseg; i++)
        if (p->seg[i].paddr + p->seg[i].memsz > rd_gpa) {
            *why = "the kernel and the ramdisk overlap";
            return -XL_EINVAL;
        }
    return 0;
}

int xl_hvm_mb_write(uint32_t domid, uint8_t *win, const struct xl_build_args *a,
                    const struct mb1_plan *p, uint64_t info, uint64_t ram_end,
                    uint64_t reserved_pages, uint64_t acpi_gpa, uint64_t rd_gpa)
{
    int rc = 0;
    const uint8_t *img = a->kernel;
    for (unsigned int i = 0; !rc && i < p->nseg; i++)
        if (p->seg[i].filesz)
            rc = xl_build_copy_to_gpa(domid, win, p->seg[i].paddr, img + p->seg[i].offset,
                                      p->seg[i].filesz);
    static uint8_t page[4096];
    mb1_info_page(page, info, ram_end, reserved_pages, acpi_gpa, rd_gpa,
                  rd_gpa ? a->ramdisk_len : 0, a->cmdline);
    if (!rc)
        rc = xl_build_copy_to_gpa(domid, win, info, page, sizeof(page));
    return rc;
}

void xl_hvm_mb_entry(struct hvm_hw_cpu *c, const struct mb1_plan *p, uint64_t info)
{
    mb1_entry_cpu(c, p->entry, info);
}
