/*
 * console.h - the hypervisor log: printk with "(XEN) [seconds]" prefixes,
 * per-domain guest lines "(dN) ...", a ring of recent output, and panic.
 */
#ifndef XENOLITH_CONSOLE_H
#define XENOLITH_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Guest console output: bytes from domain domid, split into lines that
 * carry the "(dN) " prefix. */
void console_guest_write(uint16_t domid, const char *buf, size_t len);
/* The log ring: the last CONSOLE_RING_SIZE bytes of console output. */
#define CONSOLE_RING_SIZE 65536
/* Copy up to len bytes of the log ring into buf, oldest first. */
size_t console_ring_read(char *buf, size_t len);
/* Copy len bytes of the ring (src) to offset off of the reader's buffer;
 * 0 or a negative Xen errno (which stops the read). */
typedef int (*console_copy_fn)(void *ctx, uint32_t off, const char *src, uint32_t len);
/* XEN_SYSCTL_readconsole's semantics: *count in = buffer size, out =
 * bytes copied; *index in = start (if incremental), out = end index.
 * 0 or the copy function's error. */
int console_ring_read_xen(int clear, int incremental, uint32_t *index, uint32_t *count,
                          console_copy_fn copy, void *ctx);

/* Report a broken hv invariant with a stack trace and stop the machine. */
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define BUG_ON(c) do { if (c) panic("BUG_ON(%s) at %s:%d", #c, __FILE__, __LINE__); } while (0)

/* Arch hooks the console uses. */
void arch_console_write(const char *s, size_t len);
int console_getc(void); /* a pending input byte, or -1 */
uint64_t arch_time_ns(void);
void arch_dump_stack(void);
void arch_halt_machine(int status) __attribute__((noreturn));

#endif
