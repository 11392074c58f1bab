/*
 * pv_build_hv.h - the hypervisor's back end of the PV domain builder
 * (hv/arch/x86/pv/pv_build_hv.c) on the shared core (xenolith/pv_build.h).
 * Owns: nothing but the declaration. Must never: be included outside hv/
 * (the toolstack has its own back end).
 */
#ifndef XENOLITH_PV_BUILD_HV_H
#define XENOLITH_PV_BUILD_HV_H

#include <xenolith/pv_build.h>

struct domain;

/* Build domain d from a PV kernel ELF: allocate its memory, load it, type
 * its page tables, set its M2P and its vcpu ready to run. On failure
 * returns a negative errno with *why set, and the frames already given to
 * d stay owned by d (domain_destroy frees). */
int pv_build(struct domain *d, const struct pv_image *img, struct pv_layout *out,
             const char **why);

#endif
