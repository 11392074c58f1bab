/*
 * main.c - Xenolith's built-in dom0: greets, reports what the hypervisor
 * says about itself, and shuts the machine down. Command line:
 *   shutdown=poweroff|reboot|crash|hang|spin   how to end (default
 *   poweroff; hang blocks forever with no event source, to exercise the
 *   idle loop and the harness's hang detection; spin burns the CPU
 *   forever without a hypercall: the CPU-bound domU of sched_credit.scn)
 *   heartbeat=N [beat=MS] [until=D [after=K]]   before ending, stay alive
 *   next to the domUs and print "dom0: heartbeat i/N (T ms)" every MS
 *   milliseconds of PV-clock time (default 20), at most N times. With
 *   until=D it stops early, K beats (default 3) after domain D is gone
 *   (XENMEM_current_reservation of D says -ESRCH), and says so. Between
 *   beats it sleeps in SCHEDOP_poll with no ports and an absolute
 *   timeout, so the domUs get the CPU; a scenario can see dom0 kept
 *   running during and after them. Without a PV clock (shared_info not
 *   mapped) it falls back to 1000 yields per beat.
 *   A ramdisk (start_info mod_start/mod_len) is hashed and reported
 *   ("dom0: ramdisk N bytes, fnv1a64 H"), so a scenario can check what
 *   xl create loaded into a domU.
 *   services=1 (or the word "xl" in the command line)   instead of all
 *   the above, run dom0's services (services.c): xenstored, the console
 *   back end and the xl front end on the COM2 control line, until "halt"
 *   arrives on that line.
 * Runs as a PV guest kernel; works unchanged on a real Xen.
 * Must never: unmask events outside the service mode (only services.c
 * registers an event callback).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/services.h>

static int shutdown_reason(const start_info_t *si)
{
    char how[16];
    if (!cmdline_get(si, "shutdown", how, sizeof(how)) || !strcmp(how, "poweroff"))
        return SHUTDOWN_poweroff;
    if (!strcmp(how, "reboot"))
        return SHUTDOWN_reboot;
    if (!strcmp(how, "hang"))
        return -1;
    if (!strcmp(how, "spin"))
        return -2;
    return SHUTDOWN_crash;
}

static unsigned long parse_ulong(const char *s);

/* System time in ns from vcpu 0's PV clock (version-checked read). */
static uint64_t pvclock_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

/* Sleep until system time `until` ns (no event ports: only the timeout
 * wakes it); without a PV clock, yield a while instead. */
static void sleep_until(uint64_t until)
{
    if (!guest_shared_info) {
        for (int y = 0; y < 1000; y++)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        return;
    }
    while (pvclock_ns() < until) {
        struct sched_poll p = { .nr_ports = 0, .timeout = until };
        if (HYPERVISOR_sched_op(SCHEDOP_poll, &p) < 0)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
}

/* Does domain `id` still exist? Asks for its reservation (privileged). */
static int domain_exists(domid_t id)
{
    domid_t dom = id;
    return HYPERVISOR_memory_op(XENMEM_current_reservation, &dom) != -XEN_ESRCH;
}

static void heartbeat(const start_info_t *si)
{
    char num[24];
    unsigned long beats = 0, period_ms = 20, after = 3;
    long until = -1;
    if (cmdline_get(si, "heartbeat", num, sizeof(num)))
        beats = parse_ulong(num);
    if (cmdline_get(si, "beat", num, sizeof(num)))
        period_ms = parse_ulong(num);
    if (cmdline_get(si, "until", num, sizeof(num)))
        until = (long)parse_ulong(num);
    if (cmdline_get(si, "after", num, sizeof(num)))
        after = parse_ulong(num);
    if (!beats)
        return;
    uint64_t t0 = guest_shared_info ? pvclock_ns() : 0, next = t0;
    unsigned long gone_at = 0;
    for (unsigned long i = 1; i <= beats; i++) {
        next += period_ms * 1000000ULL;
        sleep_until(next);
        uint64_t now = guest_shared_info ? pvclock_ns() : 0;
        printk("dom0: heartbeat %lu/%lu (%lu ms)\n", i, beats,
               (unsigned long)((now - t0) / 1000000));
        if (until >= 0 && !gone_at && !domain_exists((domid_t)until)) {
            gone_at = i;
            printk("dom0: d%ld is gone, %lu more beats\n", until, after);
        }
        if (gone_at && i - gone_at >= after)
            break;
    }
}

static unsigned long parse_ulong(const char *s)
{
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    return v;
}

/* "services=1", or "xl" as a word of the command line. */
static int services_wanted(const start_info_t *si)
{
    char v[8];
    if (cmdline_get(si, "services", v, sizeof(v)) && strcmp(v, "0"))
        return 1;
    const char *c = (const char *)si->cmd_line;
    for (size_t i = 0; c[i]; i++)
        if ((i == 0 || c[i - 1] == ' ') && c[i] == 'x' && c[i + 1] == 'l' &&
            (c[i + 2] == ' ' || c[i + 2] == '\0'))
            return 1;
    return 0;
}

int guest_main(start_info_t *si)
{
    xen_extraversion_t extra = "";
    xen_capabilities_info_t caps = "";
    long ver = HYPERVISOR_xen_version(XENVER_version, NULL);
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    HYPERVISOR_xen_version(XENVER_capabilities, caps);
    printk("Hello from dom0: %s, %lu pages, flags %#x, cmdline \"%s\"\n", si->magic,
           (unsigned long)si->nr_pages, (unsigned int)si->flags, (const char *)si->cmd_line);
    printk("hypervisor: Xen %ld.%ld%s, capabilities \"%s\"\n", ver >> 16, ver & 0xffff, extra,
           caps);
    if (services_wanted(si))
        return services_main(si);
    if (si->mod_start && si->mod_len) {
        /* A ramdisk given to this kernel as a domU: its length and FNV-1a
         * hash, for scenarios to compare with the file's. */
        const uint8_t *m = (const uint8_t *)si->mod_start;
        uint64_t h = 0xcbf29ce484222325ULL;
        for (uint64_t i = 0; i < si->mod_len; i++)
            h = (h ^ m[i]) * 0x100000001b3ULL;
        printk("dom0: ramdisk %lu bytes, fnv1a64 %016lx\n", (unsigned long)si->mod_len,
               (unsigned long)h);
    }
    heartbeat(si);
    int reason = shutdown_reason(si);
    if (reason == -2) {
        printk("dom0: spinning forever\n");
        for (volatile unsigned long n = 0;; n++)
            ;
    }
    if (reason < 0) {
        printk("dom0: blocking forever\n");
        for (;;)
            HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    }
    printk("dom0: shutting down (reason %d)\n", reason);
    return reason;
}
