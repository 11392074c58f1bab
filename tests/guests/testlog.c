/*
 * testlog.c - say() and check() for the test guests (testlog.h).
 * Owns: the passed/failed counters. Must never: block or allocate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <xenolith/lib.h>
#include <xlguest/console_ring.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include "testlog.h"

int passed, failed;

void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    console_write(buf, len);
    if (console_ring_active())
        HYPERVISOR_console_io(CONSOLEIO_write, (int)len, buf);
}

void check(const char *what, long got, long want)
{
    if (got == want) {
        passed++;
        say("PASS %s\n", what);
    } else {
        failed++;
        say("FAIL %s: got %ld, want %ld\n", what, got, want);
    }
}
