/*
 * lib.h - the small C library of the hypervisor and guest kernels:
 * memory/string helpers (lib.c, freestanding only) and the formatter
 * (format.c, pure, also linked into host tests as xl_vsnprintf).
 */
#ifndef XENOLITH_LIB_H
#define XENOLITH_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifndef XL_HOST_TEST
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#else
#include <string.h>
#endif

/* Bounded formatter: %d %i %u %x %X %p %s %c %%, flags '-' '0' '#', width,
 * precision for %s, length modifiers l, ll, z, h, hh. Always NUL-terminates
 * when size > 0; returns the length the full output would have. */
int xl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int xl_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUNDUP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
