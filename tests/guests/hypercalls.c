/*
 * hypercalls.c - a PV test kernel that checks the hypercall dispatcher and
 * guest-pointer validation from inside the guest: unknown hypercalls and
 * sub-ops return -ENOSYS, bad pointers return -EFAULT, bad values -EINVAL,
 * and the good calls still work afterwards; every xen_version sub-op
 * answers as Xen 4.17 does for dom0; vcpu_op register_vcpu_info (errors,
 * then moving vcpu_info to a page of ours and seeing events land there),
 * get_physid, up, is_up; as a domU, pirq map/unmap/bind refused. One line per check, then a verdict; ends with
 * poweroff if all passed, crash otherwise.
 * Command line "end=reason:N" ends instead with SCHEDOP_shutdown reason N
 * (any value: Xen truncates it to 8 bits and halts as for a crash when it
 * does not know it), "end=vcpu_down" with VCPUOP_down on vcpu 0 (Xen:
 * downing the last vcpu powers the domain off). Either way a FAIL line is
 * printed if the call returns and the guest runs on.
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xen/vcpu.h>
#include <xen/platform.h>
#include <xen/pmu.h>

static int passed, failed;

static int check(const char *what, long got, long want)
{
    if (got == want) {
        passed++;
        printk("PASS %s\n", what);
        return 1;
    }
    failed++;
    printk("FAIL %s: got %ld, want %ld\n", what, got, want);
    return 0;
}

#define HV_ADDR    0xffff830000000000UL /* inside the hypervisor's slots */
#define NONCANON   0x0000800000000000UL
#define UNMAPPED   0x1000UL

static int str_starts(const char *s, const char *p)
{
    while (*p)
        if (*s++ != *p++)
            return 0;
    return 1;
}

static unsigned long parse_ul(const char *s)
{
    unsigned long n = 0;
    while (*s >= '0' && *s <= '9')
        n = n * 10 + (unsigned long)(*s++ - '0');
    return n;
}

static int priv; /* SIF_PRIVILEGED: dom0 answers, else a domU's (Xen's XSM default) */

static void version_checks(void)
{
    static union {
        xen_compile_info_t ci;
        xen_capabilities_info_t caps;
        xen_changeset_info_t cs;
        xen_commandline_t cmd;
        xen_platform_parameters_t pp;
        xen_feature_info_t fi;
        xen_domain_handle_t h;
        struct { xen_build_id_t hdr; unsigned char buf[256]; } bid;
    } u;
    check("xen_version compile_info -> 0", HYPERVISOR_xen_version(XENVER_compile_info, &u.ci), 0);
    check("xen_version capabilities -> 0", HYPERVISOR_xen_version(XENVER_capabilities, &u.caps), 0);
    check("capabilities start with xen-3.0-x86_64", str_starts(u.caps, "xen-3.0-x86_64"), 1);
    check("xen_version changeset -> 0", HYPERVISOR_xen_version(XENVER_changeset, &u.cs), 0);
    check("xen_version platform_parameters -> 0",
          HYPERVISOR_xen_version(XENVER_platform_parameters, &u.pp), 0);
    check("platform_parameters virt_start = HYPERVISOR_VIRT_START",
          u.pp.virt_start == 0xffff800000000000UL, 1);
    u.fi.submap_idx = 0;
    check("xen_version get_features 0 -> 0", HYPERVISOR_xen_version(XENVER_get_features, &u.fi),
          0);
    printk("INFO get_features submap 0 = %#x\n", u.fi.submap);
    check(priv ? "features: dom0" : "features: not dom0", (u.fi.submap >> XENFEAT_dom0) & 1, priv);
    check("features: mmu_pt_update_preserve_ad",
          (u.fi.submap >> XENFEAT_mmu_pt_update_preserve_ad) & 1, 1);
    check("features: highmem_assist", (u.fi.submap >> XENFEAT_highmem_assist) & 1, 1);
    check("features: direct_mapped", (u.fi.submap >> XENFEAT_direct_mapped) & 1, 1);
    check("features: not auto_translated_physmap",
          (u.fi.submap >> XENFEAT_auto_translated_physmap) & 1, 0);
    check("features: not writable_page_tables",
          (u.fi.submap >> XENFEAT_writable_page_tables) & 1, 0);
    u.fi.submap_idx = 1;
    check("xen_version get_features 1 -> -EINVAL",
          HYPERVISOR_xen_version(XENVER_get_features, &u.fi), -XEN_EINVAL);
    check("xen_version pagesize with a buffer -> -EINVAL",
          HYPERVISOR_xen_version(XENVER_pagesize, &u.fi), -XEN_EINVAL);
    check("xen_version guest_handle -> 0", HYPERVISOR_xen_version(XENVER_guest_handle, &u.h), 0);
    check("xen_version commandline -> 0", HYPERVISOR_xen_version(XENVER_commandline, &u.cmd), 0);
    if (!priv) { /* Xen hands an unprivileged domain its deny string, and no build id */
        check("commandline for a domU is <denied>", str_starts(u.cmd, "<denied>") && !u.cmd[8], 1);
        check("xen_version build_id for a domU -> -EPERM",
              HYPERVISOR_xen_version(XENVER_build_id, NULL), -XEN_EPERM);
        return;
    }
    long sz = HYPERVISOR_xen_version(XENVER_build_id, NULL);
    check("xen_version build_id size (NULL) > 0", sz > 0 && sz <= 256, 1);
    u.bid.hdr.len = 0;
    check("xen_version build_id len 0 -> -EINVAL",
          HYPERVISOR_xen_version(XENVER_build_id, &u.bid), -XEN_EINVAL);
    u.bid.hdr.len = 1;
    check("xen_version build_id len 1 -> -ENOBUFS",
          HYPERVISOR_xen_version(XENVER_build_id, &u.bid), -XEN_ENOBUFS);
    u.bid.hdr.len = 256;
    check("xen_version build_id -> its size", HYPERVISOR_xen_version(XENVER_build_id, &u.bid), sz);
}

static uint8_t info_page[4096] __attribute__((aligned(4096)));

static void vcpu_checks(start_info_t *si)
{
    struct vcpu_register_vcpu_info ri = { .mfn = virt_to_mfn(info_page), .offset = 64 };
    struct vcpu_register_vcpu_info bad;
    struct vcpu_get_physid pid;
    check("vcpu_op is_up vcpu 0 -> 1", HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
    check("vcpu_op up vcpu 0 (already up) -> 0", HYPERVISOR_vcpu_op(VCPUOP_up, 0, NULL), 0);
    if (priv) {
        check("vcpu_op get_physid (dom0, its one vcpu on one cpu) -> 0",
              HYPERVISOR_vcpu_op(VCPUOP_get_physid, 0, &pid), 0);
        printk("INFO get_physid = %#lx\n", (unsigned long)pid.phys_id);
        check("vcpu_op get_physid to unmapped -> -EFAULT",
              HYPERVISOR_vcpu_op(VCPUOP_get_physid, 0, (void *)UNMAPPED), -XEN_EFAULT);
    } else {
        check("vcpu_op get_physid (domU) -> -EINVAL",
              HYPERVISOR_vcpu_op(VCPUOP_get_physid, 0, &pid), -XEN_EINVAL);
    }
    check("register_vcpu_info from unmapped -> -EFAULT",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, (void *)UNMAPPED), -XEN_EFAULT);
    check("register_vcpu_info vcpu 1 -> -ENOENT",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri), -XEN_ENOENT);
    bad = ri, bad.offset = 4096 - 63;
    check("register_vcpu_info offset past the page -> -ENXIO",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &bad), -XEN_ENXIO);
    bad = ri, bad.offset = 4;
    check("register_vcpu_info misaligned offset -> -ENXIO",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &bad), -XEN_ENXIO);
    bad = ri, bad.mfn = virt_to_mfn((void *)si->pt_base), bad.offset = 0;
    check("register_vcpu_info on a page table -> -EINVAL",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &bad), -XEN_EINVAL);
    bad = ri, bad.mfn = 0xfffffffffUL;
    check("register_vcpu_info on a frame not ours -> -EINVAL",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &bad), -XEN_EINVAL);

    vcpu_info_t *ni = (vcpu_info_t *)(info_page + 64);
    if (!check("register_vcpu_info at our page + 64 -> 0",
               HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &ri), 0))
        return;
    check("new vcpu_info: every selector bit set", ni->evtchn_pending_sel == ~0UL, 1);
    check("new vcpu_info: upcall pending", ni->evtchn_upcall_pending, 1);
    check("new vcpu_info: still masked (copied)", ni->evtchn_upcall_mask, 1);
    check("new vcpu_info: PV clock running", ni->time.system_time > 0 && !(ni->time.version & 1),
          1);
    check("register_vcpu_info twice -> -EINVAL",
          HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &ri), -XEN_EINVAL);
    /* An event must now land in the new vcpu_info, not in shared_info. */
    evtchn_alloc_unbound_t au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
    if (HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au))
        return;
    evtchn_bind_interdomain_t bi = { .remote_dom = DOMID_SELF, .remote_port = au.port };
    if (HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi))
        return;
    ni->evtchn_upcall_pending = 0;
    ni->evtchn_pending_sel = 0;
    if (guest_shared_info) {
        guest_shared_info->vcpu_info[0].evtchn_upcall_pending = 0;
        guest_shared_info->vcpu_info[0].evtchn_pending_sel = 0;
        guest_shared_info->evtchn_pending[au.port / 64] &= ~(1UL << (au.port % 64));
    }
    evtchn_send_t send = { .port = bi.local_port };
    check("send on a loopback channel -> 0", HYPERVISOR_event_channel_op(EVTCHNOP_send, &send), 0);
    check("event sets upcall pending in the new vcpu_info", ni->evtchn_upcall_pending, 1);
    check("event sets its selector bit in the new vcpu_info",
          (ni->evtchn_pending_sel >> (au.port / 64)) & 1, 1);
    if (guest_shared_info)
        check("old shared_info slot untouched",
              guest_shared_info->vcpu_info[0].evtchn_upcall_pending, 0);
    evtchn_close_t cl = { .port = au.port };
    HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
    cl.port = bi.local_port;
    HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
}

/* platform_op as Xen 4.17 answers dom0 and a domU (the same number of
 * checks either way), and xenpmu_op with the virtual PMU off (Xen's
 * default). */
static void platform_checks(void)
{
    struct xen_platform_op op;
    memset(&op, 0, sizeof(op));
    op.cmd = XENPF_get_cpuinfo;
    op.interface_version = XENPF_INTERFACE_VERSION + 1;
    check("platform_op wrong interface version -> -EACCES", HYPERVISOR_platform_op(&op),
          -XEN_EACCES);
    op.interface_version = XENPF_INTERFACE_VERSION;
    if (!priv) {
        check("platform_op get_cpuinfo (domU) -> -EPERM", HYPERVISOR_platform_op(&op), -XEN_EPERM);
        op.cmd = XENPF_settime64;
        check("platform_op settime64 (domU) -> -EPERM", HYPERVISOR_platform_op(&op), -XEN_EPERM);
        check("platform_op settime64 (domU) left the wallclock", guest_shared_info->wc_sec != 0, 1); /* secs 0: would be 0 */
        op.cmd = XENPF_firmware_info;
        check("platform_op firmware_info (domU) -> -EPERM", HYPERVISOR_platform_op(&op), -XEN_EPERM);
        check("platform_op from unmapped -> -EFAULT",
              HYPERVISOR_platform_op((void *)UNMAPPED), -XEN_EFAULT);
    } else {
        op.u.pcpu_info.xen_cpuid = 0;
        check("platform_op get_cpuinfo cpu 0 -> 0", HYPERVISOR_platform_op(&op), 0);
        check("get_cpuinfo cpu 0: online", op.u.pcpu_info.flags, XEN_PCPU_FLAGS_ONLINE);
        op.u.pcpu_info.xen_cpuid = 4096;
        HYPERVISOR_platform_op(&op);
        check("get_cpuinfo cpu 4096: invalid", op.u.pcpu_info.flags, XEN_PCPU_FLAGS_INVALID);
        /* settime64: secs.nsecs at system_time -> wc = secs - system_time. */
        op.cmd = XENPF_settime64;
        op.u.settime64.secs = 2000000000ULL;
        op.u.settime64.nsecs = 0;
        op.u.settime64.mbz = 1;
        op.u.settime64.system_time = 3000000000ULL;
        check("platform_op settime64 with mbz set -> -EINVAL", HYPERVISOR_platform_op(&op),
              -XEN_EINVAL);
        op.u.settime64.mbz = 0;
        /* A version the guest left odd still ends even: Xen's
         * version_update_begin makes it (v + 1) | 1, then + 1. */
        guest_shared_info->wc_version = 5;
        check("platform_op settime64 -> 0", HYPERVISOR_platform_op(&op), 0);
        check("settime64: shared_info wallclock is secs - system_time, version 5 -> 8",
              guest_shared_info->wc_sec == 1999999997U && guest_shared_info->wc_nsec == 0 &&
              guest_shared_info->wc_version == 8, 1);
    }
    memset(&op, 0, sizeof(op));
    op.cmd = XENPF_firmware_info;
    op.interface_version = XENPF_INTERFACE_VERSION;
    op.u.firmware_info.type = 99;
    check(priv ? "platform_op firmware_info type 99 -> -EINVAL"
               : "platform_op firmware_info type 99 (domU) -> -EPERM",
          HYPERVISOR_platform_op(&op), priv ? -XEN_EINVAL : -XEN_EPERM);
    struct xen_pmu_params pp;
    memset(&pp, 0, sizeof(pp));
    check("xenpmu_op mode_get (vPMU off) -> -EOPNOTSUPP", HYPERVISOR_xenpmu_op(XENPMU_mode_get, &pp),
          -XEN_EOPNOTSUPP);
}

/* Physical IRQs belong to the privileged domain (Xen's XSM default):
 * a domU may not map or unmap a pirq, for itself or for dom0, nor bind
 * one (domU only; dom0's side is pirq_msi.c's). */
static void pirq_checks(void)
{
    if (priv)
        return;
    struct physdev_map_pirq m = { .domid = DOMID_SELF, .type = MAP_PIRQ_TYPE_MSI_SEG,
                                  .index = -1, .pirq = -1, .bus = 0, .devfn = 0 };
    check("physdev map_pirq MSI (domU) -> -EPERM", HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m),
          -XEN_EPERM);
    m.domid = 0, m.index = -1, m.pirq = -1;
    check("physdev map_pirq for dom0 (domU) -> -EPERM",
          HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m), -XEN_EPERM);
    struct physdev_unmap_pirq u = { .domid = DOMID_SELF, .pirq = 40 };
    check("physdev unmap_pirq 40 (domU) -> -EPERM",
          HYPERVISOR_physdev_op(PHYSDEVOP_unmap_pirq, &u), -XEN_EPERM);
    evtchn_bind_pirq_t b = { .pirq = 40 };
    check("evtchn bind_pirq 40 (domU) -> -EPERM",
          HYPERVISOR_event_channel_op(EVTCHNOP_bind_pirq, &b), -XEN_EPERM);
}

int guest_main(start_info_t *si)
{
    xen_extraversion_t extra;
    char end[32];
    priv = !!(si->flags & SIF_PRIVILEGED);

    check("unknown hypercall 60 -> -ENOSYS", xen_hypercall5(60, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    check("unknown hypercall 63 -> -ENOSYS", xen_hypercall5(63, 1, 2, 3, 4, 5), -XEN_ENOSYS);
    check("hypercall 200 (beyond table) -> -ENOSYS", xen_raw_hypercall5(200, 0, 0, 0, 0, 0),
          -XEN_ENOSYS);
    check("hypercall ~0 -> -ENOSYS", xen_raw_hypercall5(~0UL, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    check("console_io unknown cmd -> -ENOSYS", HYPERVISOR_console_io(77, 0, NULL), -XEN_ENOSYS);
    check("sched_op unknown cmd -> -ENOSYS", HYPERVISOR_sched_op(99, NULL), -XEN_ENOSYS);
    check("xen_version unknown cmd -> -ENOSYS", HYPERVISOR_xen_version(999, NULL), -XEN_ENOSYS);
    check("console_io write from unmapped -> -EFAULT",
          HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)UNMAPPED), -XEN_EFAULT);
    check("console_io write from hv memory -> -EFAULT",
          HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)HV_ADDR), -XEN_EFAULT);
    check("console_io write from non-canonical -> -EFAULT",
          HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)NONCANON), -XEN_EFAULT);
    check("xen_version to unmapped -> -EFAULT",
          HYPERVISOR_xen_version(XENVER_extraversion, (void *)UNMAPPED), -XEN_EFAULT);
    check("xen_version into a read-only page table -> -EFAULT",
          HYPERVISOR_xen_version(XENVER_extraversion, (void *)si->pt_base), -XEN_EFAULT);
    check("sched_op shutdown from unmapped -> -EFAULT",
          HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)UNMAPPED), -XEN_EFAULT);
    /* After all that, the good calls must still work. */
    check("xen_version version -> 4.17", HYPERVISOR_xen_version(XENVER_version, NULL),
          (4 << 16) | 17);
    check("xen_version extraversion -> 0", HYPERVISOR_xen_version(XENVER_extraversion, extra), 0);
    check("xen_version pagesize -> 4096", HYPERVISOR_xen_version(XENVER_pagesize, NULL), 4096);
    check("console_io write -> 0", HYPERVISOR_console_io(CONSOLEIO_write, 3, "ok\n"), 0);
    check("sched_op yield -> 0", HYPERVISOR_sched_op(SCHEDOP_yield, NULL), 0);
    version_checks();
    vcpu_checks(si);
    platform_checks();
    pirq_checks();
    printk("hypercalls: %d passed, %d failed\n", passed, failed);
    if (cmdline_get(si, "end", end, sizeof(end))) {
        if (str_starts(end, "reason:")) {
            struct sched_shutdown sd = { .reason = (unsigned int)parse_ul(end + 7) };
            printk("ending with SCHEDOP_shutdown reason %u\n", sd.reason);
            long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
            printk("FAIL still running after shutdown reason %u: returned %ld\n", sd.reason, rc);
        } else if (str_starts(end, "vcpu_down")) {
            printk("ending with VCPUOP_down on vcpu 0\n");
            long rc = HYPERVISOR_vcpu_op(VCPUOP_down, 0, NULL);
            printk("FAIL still running after VCPUOP_down: returned %ld\n", rc);
        }
        return SHUTDOWN_crash;
    }
    return failed ? SHUTDOWN_crash : SHUTDOWN_poweroff;
}
