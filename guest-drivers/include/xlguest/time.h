/*
 * time.h - reading Xen's PV clock from a guest kernel: the TSC and the
 * version-checked vcpu_time_info formula of the public headers
 * (system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32).
 * Works the same on Xenolith and on Xen.
 */
#ifndef XLGUEST_TIME_H
#define XLGUEST_TIME_H

#include <stdint.h>
#include <xen/xen.h>

static inline uint64_t guest_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* System time in ns; retries while the hypervisor is updating t. */
static inline uint64_t pvclock_read(const volatile struct vcpu_time_info *t)
{
    uint32_t ver, mul;
    uint64_t tsc, ts, st;
    int8_t shift;
    do {
        ver = t->version;
        __asm__ volatile("" ::: "memory");
        tsc = guest_rdtsc();
        ts = t->tsc_timestamp;
        st = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        __asm__ volatile("" ::: "memory");
    } while ((ver & 1) || ver != t->version);
    uint64_t d = tsc - ts;
    d = shift < 0 ? d >> -shift : d << shift;
    return st + (uint64_t)(((unsigned __int128)d * mul) >> 32);
}

#endif
