/* multicall.c - PLACEHOLDER until multicall lands (not done). */
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>

HYPERCALL_DECL(multicall) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
