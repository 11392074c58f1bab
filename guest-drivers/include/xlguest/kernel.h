/*
 * kernel.h - the small PV kernel runtime of the guest driver kit: entry,
 * console output, and the hook each kernel provides.
 */
#ifndef XLGUEST_KERNEL_H
#define XLGUEST_KERNEL_H

#include <stddef.h>
#include <xen/xen.h>

/* Where the kit's kernels are linked (XEN_ELFNOTE_VIRT_BASE); pfn 0 is
 * mapped here, so va -> pfn is a subtraction. */
#define GUEST_VIRT_BASE 0xffffffff80000000ULL

extern start_info_t *start_info;
/* shared_info, mapped by the runtime before guest_main; NULL if the
 * hypervisor refused the mapping. */
extern shared_info_t *guest_shared_info;

/* Machine frame behind a kernel virtual address (through the P2M list in
 * start_info), or ~0 if outside the domain's memory. */
uint64_t virt_to_mfn(const void *va);

/* Provided by each kernel built on the runtime; its return value picks
 * the shutdown reason (SHUTDOWN_*). */
int guest_main(start_info_t *si);

/* printf-style output through console_io (CONSOLEIO_write). */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, size_t len);

/* Value of "key=" in the kernel command line (copied into buf), or NULL. */
const char *cmdline_get(const start_info_t *si, const char *key, char *buf, size_t len);

#endif
