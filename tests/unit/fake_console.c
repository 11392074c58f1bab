/*
 * fake_console.c - printk and panic for hv unit tests that do not link
 * console.c: printk prints nothing, panic fails the test with its message.
 * Must never: be linked into the hv.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <xenolith/console.h>

void printk(const char *fmt, ...) { (void)fmt; }
void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fail_msg("panic: %s", buf);
    abort();
}
