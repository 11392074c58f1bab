/* mmu.c - PLACEHOLDER until the page-type work lands (not done). */
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>

HYPERCALL_DECL(mmu_update) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(mmuext_op) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(update_va_mapping) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(update_va_mapping_otherdomain) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
