/* memory.c - PLACEHOLDER until memory_op lands (not done). */
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>

HYPERCALL_DECL(memory_op) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
