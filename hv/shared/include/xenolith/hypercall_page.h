/*
 * hypercall_page.h - Xen's x86_64 hypercall page format (32-byte
 * `syscall` stubs), written into a guest page by the PV domain builder in
 * the hypervisor and in the dom0 toolstack alike.
 * Owns: nothing but the declaration of hypercall_page.c.
 */
#ifndef XENOLITH_HYPERCALL_PAGE_H
#define XENOLITH_HYPERCALL_PAGE_H

#include <stdint.h>

/* Fill the 4096-byte page with the stubs (int3 between them). */
void hypercall_page_fill(uint8_t *page);

#endif
