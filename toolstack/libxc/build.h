/*
 * build.h - the dom0 back end of the PV domain builder (build.c): steps
 * 2-6 of "Creating a PV domU" in docs/toolstack.md, with ctrl.c.
 */
#ifndef TOOLSTACK_BUILD_H
#define TOOLSTACK_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* Largest domU the builder takes: 64 GiB. Its P2M scratch (8 bytes a
 * page) is the caller's, so what really limits a domain is the memory
 * the hv has and what dom0 can stage. */
#define XL_BUILD_MAX_MB (64u << 10)

/* What to build. */
struct xl_build_args {
    const void *kernel; /* an ELF (8-byte aligned: headers are read in place) */
    size_t kernel_len;
    const void *ramdisk; /* NULL: none */
    size_t ramdisk_len;
    const char *cmdline;
    unsigned int memory_mb; /* populated at build (start_info nr_pages) */
    uint64_t max_memkb;     /* XEN_DOMCTL_max_mem; 0: memory_mb's */
    unsigned int max_vcpus; /* XEN_DOMCTL_max_vcpus: createdomain's (0: 1) */
    uint64_t *p2m;          /* scratch of p2m_entries, >= memory_mb << 8 */
    size_t p2m_entries;
};

struct xl_build_out {
    uint64_t store_mfn, console_mfn;
    uint32_t store_evtchn, console_evtchn; /* dom0 binds to these (remote 0) */
    uint64_t entry, start_info_va, l4_mfn;
    uint64_t nr_pages;
};

/* Build PV domain domid (created with XEN_DOMCTL_createdomain, paused):
 * max_vcpus (a->max_vcpus), max_mem (a->max_memkb), populate_physmap, load the kernel (and ramdisk)
 * through foreign mappings with pv_build.c, M2P through
 * MMU_MACHPHYS_UPDATE, pin the L4 on its behalf, the xenstore and
 * console pages and their unbound event channels (remote dom0), and the
 * vcpu context. Does not unpause. Returns 0, or a negative Xen errno
 * with *why set; on failure the caller destroys the domain (which takes
 * back every frame and channel given to it so far). */
int xl_build_pv(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                const char **why);

/* The same for a PVH domain (build_pvh.c; created with XEN_DOMCTL_CDF_hvm
 * | XEN_DOMCTL_CDF_hap): RAM at guest frames 0 .. memory_mb, the kernel
 * loaded at its physical addresses, a start page (hvm_start_info), the
 * xenstore and console pages above RAM (out->store_mfn/console_mfn are
 * their guest frames), the HVM params, vcpu 0 at XEN_ELFNOTE_PHYS32_ENTRY.
 * The p2m scratch only batches populate_physmap. */
int xl_build_pvh(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                 const char **why);
/* The same layout for an HVM domain booting an unmodified kernel
 * (a->kernel, the file as it is, at any alignment). A Linux bzImage
 * through the x86 boot protocol's 64-bit entry: the protected-mode
 * kernel at its preferred address, the zero page, command line, page
 * tables and GDT below 1 MiB (linux_boot.h), vcpu 0 in long mode at the
 * entry with %rsi = the zero page. An ELF as a Multiboot (v1) kernel
 * (build_hvm_mb.c): its PT_LOAD segments at their physical addresses,
 * a multiboot_info on the start page, vcpu 0 in 32-bit flat protected
 * mode at the Multiboot entry with %eax = 0x2BADB002, %ebx = the info. */
int xl_build_hvm(uint32_t domid, const struct xl_build_args *a, struct xl_build_out *out,
                 const char **why);

#endif
