/*
 * pvh_build.h - the hypervisor's PVH builder for boot-time domains
 * (hv/arch/x86/hvm/pvh_build.c): dom0=pvh and PVH boot-time domUs.
 */
#ifndef XENOLITH_PVH_BUILD_H
#define XENOLITH_PVH_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct domain;

struct pvh_image {
    const void *kernel;   /* an uncompressed ELF */
    size_t kernel_len;
    const void *initrd;   /* NULL: none */
    size_t initrd_len;
    const char *cmdline;
    uint64_t nr_pages;    /* RAM */
};

/* Which entry points the ELF offers: a PV entry (XEN_ELFNOTE_ENTRY), a
 * PVH one (XEN_ELFNOTE_PHYS32_ENTRY), both, or neither (0). */
#define PVH_KERNEL_PV  1
#define PVH_KERNEL_PVH 2
int pvh_kernel_kind(const void *kernel, size_t len);

/* Build d (just created by domain_create, not yet run) as a PVH domain:
 * makes it HVM, gives it nr_pages of RAM and the start page, loads the
 * kernel and ramdisk, sets vcpu 0 at the PVH entry. 0, or a negative
 * errno with *why set (the caller crashes the domain, whose destruction
 * takes back everything given so far). */
int pvh_build(struct domain *d, const struct pvh_image *pi, const char **why);

#endif
