/*
 * main.c - Xenolith's built-in dom0: greets, reports what the hypervisor
 * says about itself, and shuts the machine down. Command line:
 *   shutdown=poweroff|reboot|crash|hang   how to end (default poweroff;
 *   hang blocks forever with no event source, to exercise the idle loop
 *   and the harness's hang detection)
 *   heartbeat=N [beat=Y]   before ending, stay alive next to the domUs and
 *   print "dom0: heartbeat i/N" N times, Y sched_op yields apart (default
 *   1000): dom0 runs alongside boot-time domUs, and a scenario can see it
 *   kept running during and after them. Yields, not time: no timer needed.
 * Runs as a PV guest kernel; works unchanged on a real Xen.
 */
#include <xenolith/lib.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>

static int shutdown_reason(const start_info_t *si)
{
    char how[16];
    if (!cmdline_get(si, "shutdown", how, sizeof(how)) || !strcmp(how, "poweroff"))
        return SHUTDOWN_poweroff;
    if (!strcmp(how, "reboot"))
        return SHUTDOWN_reboot;
    if (!strcmp(how, "hang"))
        return -1;
    return SHUTDOWN_crash;
}

static unsigned long parse_ulong(const char *s)
{
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    return v;
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
    char num[24];
    unsigned long beats = 0, beat_yields = 1000;
    if (cmdline_get(si, "heartbeat", num, sizeof(num)))
        beats = parse_ulong(num);
    if (cmdline_get(si, "beat", num, sizeof(num)))
        beat_yields = parse_ulong(num);
    for (unsigned long i = 1; i <= beats; i++) {
        for (unsigned long y = 0; y < beat_yields; y++)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        printk("dom0: heartbeat %lu/%lu\n", i, beats);
    }
    int reason = shutdown_reason(si);
    if (reason < 0) {
        printk("dom0: blocking forever\n");
        for (;;)
            HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    }
    printk("dom0: shutting down (reason %d)\n", reason);
    return reason;
}
