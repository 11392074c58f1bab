/*
 * power.h - how the machine ends. The status is what QEMU's isa-debug-exit
 * reports as (status << 1) | 1; tests/harness/run-qemu.sh maps it back.
 */
#ifndef XENOLITH_POWER_H
#define XENOLITH_POWER_H

#define XL_EXIT_POWEROFF 0
#define XL_EXIT_REBOOT   1
#define XL_EXIT_CRASH    2 /* dom0 crashed */
#define XL_EXIT_PANIC    3 /* the hypervisor itself failed */

#endif
