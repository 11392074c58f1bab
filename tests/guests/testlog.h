/*
 * testlog.h - what the split-driver test guests (pingpong, blktest) print
 * and count: say() is printk that also reaches the hypervisor's log while
 * printk goes to the console ring (so a scenario sees the line even when
 * dom0's console back end is gone), check() counts a PASS or FAIL line.
 * Must never: be linked into anything but test guests.
 */
#ifndef TESTS_GUESTS_TESTLOG_H
#define TESTS_GUESTS_TESTLOG_H

extern int passed, failed;

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "PASS what" and passed++ when got == want, else "FAIL what: got, want"
 * and failed++. */
void check(const char *what, long got, long want);

#endif
