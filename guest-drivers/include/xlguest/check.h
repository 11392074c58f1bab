/*
 * check.h - one result line per check, for test guests: "PASS what" or
 * "FAIL what: got X, want Y", then "NAME: N passed, M failed". The same
 * lines on Xenolith and on a real Xen, so logs can be compared.
 */
#ifndef XLGUEST_CHECK_H
#define XLGUEST_CHECK_H

#include <xlguest/kernel.h>

static int check_passed, check_failed;

static inline int check_eq(const char *what, long got, long want)
{
    if (got == want) {
        check_passed++;
        printk("PASS %s\n", what);
        return 1;
    }
    check_failed++;
    printk("FAIL %s: got %ld, want %ld\n", what, got, want);
    return 0;
}

static inline int check_true(const char *what, int ok)
{
    if (ok) {
        check_passed++;
        printk("PASS %s\n", what);
        return 1;
    }
    check_failed++;
    printk("FAIL %s\n", what);
    return 0;
}

/* Print the verdict line; returns the shutdown reason a test guest
 * should end with: poweroff if every check passed, crash otherwise. */
static inline int check_summary(const char *name)
{
    printk("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? SHUTDOWN_crash : SHUTDOWN_poweroff;
}

#endif
