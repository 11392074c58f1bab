/*
 * console_ring.h - a domU's PV console: output into the xencons_interface
 * page of start_info.console.domU (xen/io/console.h) and a notification on
 * its event channel, for the console backend in dom0 (`xl console`).
 */
#ifndef XLGUEST_CONSOLE_RING_H
#define XLGUEST_CONSOLE_RING_H

#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

/* Use the ring if si describes one (not dom0, console.domU.mfn != 0),
 * found in the bootstrap mapping (xlguest/m2p.h). Returns 1 if printk
 * now goes to the ring, 0 if it stays on console_io, or -EINVAL if the
 * page is not where Xen's builder puts it (console_io stays in use). */
int console_ring_init(const start_info_t *si);
int console_ring_active(void);

/* Copy len bytes into the out ring and notify. When the ring is full it
 * notifies and yields, up to a bounded number of times, for the backend
 * to drain it; what still does not fit is dropped (counted in
 * console_ring_dropped) rather than hanging the kernel. Returns the
 * bytes written. */
size_t console_ring_write(const char *s, size_t len);
extern unsigned long console_ring_dropped;

#endif
