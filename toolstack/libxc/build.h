/*
 * build.h - the dom0 back end of the PV domain builder (build.c): steps
 * 2-6 of "Creating a PV domU" in docs/toolstack.md, with ctrl.c.
 */
#ifndef TOOLSTACK_BUILD_H
#define TOOLSTACK_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* Largest domU the builder takes (its P2M scratch is static). */
#define XL_BUILD_MAX_MB 128

struct xl_build_out {
    uint64_t store_mfn, console_mfn;
    uint32_t store_evtchn, console_evtchn; /* dom0 binds to these (remote 0) */
    uint64_t entry, start_info_va, l4_mfn;
    uint64_t nr_pages;
};

/* Build PV domain domid (created with XEN_DOMCTL_createdomain, paused):
 * max_vcpus 1, max_mem, populate_physmap, load the kernel (and ramdisk)
 * through foreign mappings with pv_build.c, M2P through
 * MMU_MACHPHYS_UPDATE, pin the L4 on its behalf, the xenstore and
 * console pages and their unbound event channels (remote dom0), and the
 * vcpu context. Does not unpause. Returns 0, or a negative Xen errno
 * with *why set; on failure the caller destroys the domain (which takes
 * back every frame and channel given to it so far). */
int xl_build_pv(uint32_t domid, const void *kernel, size_t kernel_len, const void *ramdisk,
                size_t ramdisk_len, const char *cmdline, unsigned int memory_mb,
                struct xl_build_out *out, const char **why);

#endif
