/*
 * pv_domctl.c - a PV test kernel for domctl/sysctl. role=dom0 (default):
 * creates a domain (paused, no memory), sets max_vcpus / max_mem, gives
 * it frames with populate_physmap, reads its info, pauses/unpauses
 * (counted), loads a vcpu context (L4 reference taken, refusals),
 * lists domains, reads the console ring, destroys it, and checks the free
 * page count comes back exactly - also over 20 create/destroy rounds.
 * role=domu: every domctl/sysctl it tries is -EPERM.
 * Owns: nothing outside itself. Must never: unpause a domain whose vcpu
 * could run (it never sets VGCF_online).
 */
#define __XEN_TOOLS__ 1
#undef __XEN_INTERFACE_VERSION__
#include <stdint.h>
#include <xen/errno.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/memory.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xenolith/lib.h>

static struct xen_domctl dc;
static struct xen_sysctl sc;
static struct vcpu_guest_context ctx;
static struct xen_domctl_getdomaininfo list[16];
static char conbuf[4096];

static long domctl(uint32_t cmd, domid_t dom)
{
    dc.cmd = cmd;
    dc.interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    dc.domain = dom;
    return HYPERCALL(__HYPERVISOR_domctl, &dc, 0, 0);
}

static long sysctl(uint32_t cmd)
{
    sc.cmd = cmd;
    sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return HYPERCALL(__HYPERVISOR_sysctl, &sc, 0, 0);
}

static uint64_t free_pages(void)
{
    memset(&sc, 0, sizeof(sc));
    if (sysctl(XEN_SYSCTL_physinfo))
        return 0;
    return sc.u.physinfo.free_pages;
}

static long create(domid_t want)
{
    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 1;
    dc.u.createdomain.max_evtchn_port = 1023;
    dc.u.createdomain.max_grant_frames = -1;
    dc.u.createdomain.max_maptrack_frames = -1;
    dc.u.createdomain.grant_opts = XEN_DOMCTL_GRANT_version(1);
    long rc = domctl(XEN_DOMCTL_createdomain, want);
    return rc ? rc : dc.domain;
}

static long info(domid_t d)
{
    memset(&dc, 0, sizeof(dc));
    return domctl(XEN_DOMCTL_getdomaininfo, d);
}

static long populate(domid_t d, unsigned int n, uint64_t *mfns)
{
    for (unsigned int i = 0; i < n; i++)
        mfns[i] = i;
    struct xen_memory_reservation r = { .nr_extents = n, .extent_order = 0, .domid = d };
    set_xen_guest_handle(r.extent_start, mfns);
    return HYPERVISOR_memory_op(XENMEM_populate_physmap, &r);
}

static void domu_role(void)
{
    memset(&dc, 0, sizeof(dc));
    check_eq("domU: getdomaininfo(0) -> -EPERM", domctl(XEN_DOMCTL_getdomaininfo, 0), -XEN_EPERM);
    check_eq("domU: createdomain -> -EPERM", create(0), -XEN_EPERM);
    check_eq("domU: pausedomain(0) -> -EPERM", domctl(XEN_DOMCTL_pausedomain, 0), -XEN_EPERM);
    check_eq("domU: destroydomain(0) -> -EPERM", domctl(XEN_DOMCTL_destroydomain, 0), -XEN_EPERM);
    memset(&sc, 0, sizeof(sc));
    check_eq("domU: sysctl physinfo -> -EPERM", sysctl(XEN_SYSCTL_physinfo), -XEN_EPERM);
    sc.u.readconsole.count = sizeof(conbuf);
    set_xen_guest_handle(sc.u.readconsole.buffer, conbuf);
    check_eq("domU: sysctl readconsole -> -EPERM", sysctl(XEN_SYSCTL_readconsole), -XEN_EPERM);
    dc.interface_version = 1;
    dc.cmd = XEN_DOMCTL_getdomaininfo;
    check_eq("domU: wrong domctl version -> -EACCES",
             HYPERCALL(__HYPERVISOR_domctl, &dc, 0, 0), -XEN_EACCES);
}

static uint64_t mfns[64];
static const start_info_t *start;

static void dom0_role(void)
{
    uint64_t free0 = free_pages();
    check_true("physinfo: free pages reported", free0 > 0);
    check_eq("physinfo: nr_cpus", sc.u.physinfo.nr_cpus, 1);
    check_true("physinfo: capabilities has pv",
               (sc.u.physinfo.capabilities & XEN_SYSCTL_PHYSCAP_pv) != 0);
    check_true("physinfo: total >= free", sc.u.physinfo.total_pages >= free0);
    check_true("physinfo: cpu_khz set", sc.u.physinfo.cpu_khz > 0);

    memset(&dc, 0, sizeof(dc));
    dc.cmd = XEN_DOMCTL_getdomaininfo;
    dc.interface_version = XEN_DOMCTL_INTERFACE_VERSION - 1;
    check_eq("domctl with an old interface version -> -EACCES",
             HYPERCALL(__HYPERVISOR_domctl, &dc, 0, 0), -XEN_EACCES);

    /* create: bad configs first */
    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 0;
    dc.u.createdomain.grant_opts = 1;
    check_eq("createdomain max_vcpus 0 -> -EINVAL", domctl(XEN_DOMCTL_createdomain, 0), -XEN_EINVAL);
    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 1;
    dc.u.createdomain.grant_opts = 1;
    dc.u.createdomain.flags = XEN_DOMCTL_CDF_hap;
    check_eq("createdomain hap without hvm -> -EINVAL", domctl(XEN_DOMCTL_createdomain, 0), -XEN_EINVAL);
    long d = create(0);
    check_true("createdomain (domid 0: the hv picks one)", d > 0 && d < DOMID_FIRST_RESERVED);
    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 1;
    dc.u.createdomain.grant_opts = 1;
    check_eq("createdomain with that domid again -> -EEXIST",
             domctl(XEN_DOMCTL_createdomain, (domid_t)d), -XEN_EEXIST);
    check_eq("free pages: only its shared_info, grant table and evtchn state used",
             free0 - free_pages() < 16, 1);

    check_eq("getdomaininfo(new)", info((domid_t)d), 0);
    check_eq("  echoes its domid", dc.u.getdomaininfo.domain, d);
    check_true("  paused", (dc.u.getdomaininfo.flags & XEN_DOMINF_paused) != 0);
    check_true("  not running, not shut down",
               !(dc.u.getdomaininfo.flags & (XEN_DOMINF_running | XEN_DOMINF_shutdown)));
    check_eq("  tot_pages 0", (long)dc.u.getdomaininfo.tot_pages, 0);
    check_eq("  max_pages 0", (long)dc.u.getdomaininfo.max_pages, 0);
    check_eq("  no vcpu online yet", dc.u.getdomaininfo.nr_online_vcpus, 0);
    check_eq("  max_vcpu_id 0", dc.u.getdomaininfo.max_vcpu_id, 0);

    check_eq("getdomaininfo(0) is dom0", info(0) == 0 && dc.u.getdomaininfo.domain == 0, 1);
    check_true("  dom0 running", (dc.u.getdomaininfo.flags & XEN_DOMINF_running) != 0);
    check_true("  dom0 has used CPU time", dc.u.getdomaininfo.cpu_time > 0);

    memset(&dc, 0, sizeof(dc));
    dc.u.max_vcpus.max = 2;
    check_eq("max_vcpus 2 -> -EINVAL", domctl(XEN_DOMCTL_max_vcpus, (domid_t)d), -XEN_EINVAL);
    dc.u.max_vcpus.max = 1;
    check_eq("max_vcpus 1", domctl(XEN_DOMCTL_max_vcpus, (domid_t)d), 0);
    check_eq("populate before max_mem: nothing", populate((domid_t)d, 4, mfns), 0);
    memset(&dc, 0, sizeof(dc));
    dc.u.max_mem.max_memkb = 128; /* 32 pages */
    check_eq("max_mem 128 KiB", domctl(XEN_DOMCTL_max_mem, (domid_t)d), 0);
    check_eq("populate 40 pages for it: stops at 32", populate((domid_t)d, 40, mfns), 32);
    info((domid_t)d);
    check_eq("  its tot_pages 32", (long)dc.u.getdomaininfo.tot_pages, 32);
    check_eq("  its max_pages 32", (long)dc.u.getdomaininfo.max_pages, 32);

    /* pause / unpause: counted; a domain never pauses itself */
    check_eq("pausedomain(self) -> -EINVAL", domctl(XEN_DOMCTL_pausedomain, 0), -XEN_EINVAL);
    check_eq("pausedomain", domctl(XEN_DOMCTL_pausedomain, (domid_t)d), 0);
    check_eq("unpausedomain (count 2 -> 1)", domctl(XEN_DOMCTL_unpausedomain, (domid_t)d), 0);
    info((domid_t)d);
    check_true("  still paused", (dc.u.getdomaininfo.flags & XEN_DOMINF_paused) != 0);

    /* vcpu context */
    memset(&dc, 0, sizeof(dc));
    dc.u.vcpucontext.vcpu = 0;
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &ctx);
    check_eq("getvcpucontext before any -> -ENODATA",
             domctl(XEN_DOMCTL_getvcpucontext, (domid_t)d), -XEN_ENODATA);
    memset(&ctx, 0, sizeof(ctx));
    ctx.flags = VGCF_in_kernel;
    ctx.user_regs.rip = 0xffffffff80001000ULL;
    ctx.user_regs.rsp = 0xffffffff80010000ULL;
    ctx.user_regs.cs = FLAT_KERNEL_CS;
    ctx.user_regs.ss = FLAT_KERNEL_SS;
    ctx.kernel_ss = FLAT_KERNEL_SS;
    ctx.kernel_sp = 0xffffffff80010000ULL;
    ctx.event_callback_eip = 0xffffffff80002000ULL;
    ctx.ctrlreg[3] = (uint64_t)xen_pfn_to_cr3(mfns[1]);
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &ctx);
    ctx.user_regs.rip = 0x0000800000000000ULL;
    check_eq("setvcpucontext non-canonical rip -> -EINVAL",
             domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), -XEN_EINVAL);
    ctx.user_regs.rip = 0xffffffff80001000ULL;
    ctx.gdt_ents = 16;
    check_eq("setvcpucontext with gdt_ents -> -EINVAL",
             domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), -XEN_EINVAL);
    ctx.gdt_ents = 0;
    ctx.ctrlreg[3] = (uint64_t)xen_pfn_to_cr3(((const uint64_t *)start->mfn_list)[0]);
    check_eq("setvcpucontext with dom0's frame as L4 -> -EINVAL",
             domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), -XEN_EINVAL);
    ctx.ctrlreg[3] = (uint64_t)xen_pfn_to_cr3(mfns[1]);
    check_eq("setvcpucontext(self) -> -EINVAL", domctl(XEN_DOMCTL_setvcpucontext, 0), -XEN_EINVAL);
    check_eq("setvcpucontext with its (empty) L4", domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), 0);
    memset(&ctx, 0, sizeof(ctx));
    check_eq("getvcpucontext", domctl(XEN_DOMCTL_getvcpucontext, (domid_t)d), 0);
    check_eq("  rip back", ctx.user_regs.rip == 0xffffffff80001000ULL, 1);
    check_eq("  cr3 back", ctx.ctrlreg[3] == (uint64_t)xen_pfn_to_cr3(mfns[1]), 1);
    check_eq("  in kernel, not online", ctx.flags & (VGCF_in_kernel | VGCF_online), VGCF_in_kernel);
    check_eq("  event callback back", ctx.event_callback_eip == 0xffffffff80002000ULL, 1);
    /* An FXSAVE image whose MXCSR sets bits the CPU reserves would fault
     * in FXRSTOR: accepted, and cleared as Xen's restore fixup clears it;
     * a valid image is kept as given. */
    uint8_t *fpu = (uint8_t *)&ctx.fpu_ctxt;
    uint32_t bad_mxcsr = 0xffffffffu, good_mxcsr = 0x1f80, got_mxcsr;
    ctx.flags |= VGCF_i387_valid;
    fpu[0] = 0x7f, fpu[1] = 0x03; /* FCW 0x37f */
    memcpy(fpu + 24, &bad_mxcsr, 4);
    check_eq("setvcpucontext with reserved MXCSR bits -> 0",
             domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), 0);
    memset(&ctx, 0, sizeof(ctx));
    check_eq("getvcpucontext", domctl(XEN_DOMCTL_getvcpucontext, (domid_t)d), 0);
    memcpy(&got_mxcsr, fpu + 24, 4);
    check_eq("  reserved MXCSR: the FPU image is cleared (MXCSR 0, FCW 0)",
             got_mxcsr == 0 && fpu[0] == 0 && fpu[1] == 0, 1);
    fpu[0] = 0x7f, fpu[1] = 0x03;
    memcpy(fpu + 24, &good_mxcsr, 4);
    check_eq("setvcpucontext with MXCSR 0x1f80 -> 0", domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), 0);
    memset(&ctx, 0, sizeof(ctx));
    check_eq("getvcpucontext", domctl(XEN_DOMCTL_getvcpucontext, (domid_t)d), 0);
    memcpy(&got_mxcsr, fpu + 24, 4);
    check_eq("  valid MXCSR kept", got_mxcsr == 0x1f80 && fpu[0] == 0x7f && fpu[1] == 0x03, 1);
    /* its L4 now holds a type: dom0 may not map it writable */
    mmu_update_t u = { .ptr = ((uint64_t)mfns[1] << 12) | MMU_NORMAL_PT_UPDATE, .val = 0 };
    check_true("its L4 (typed) refuses a plain write of slot 256",
               HYPERVISOR_mmu_update(&u, 1, NULL, (domid_t)d) < 0);

    check_eq("unpausedomain (count 1 -> 0)", domctl(XEN_DOMCTL_unpausedomain, (domid_t)d), 0);
    check_eq("unpausedomain again -> -EINVAL", domctl(XEN_DOMCTL_unpausedomain, (domid_t)d), -XEN_EINVAL);
    info((domid_t)d);
    check_true("  not paused now", !(dc.u.getdomaininfo.flags & XEN_DOMINF_paused));
    check_eq("  vcpu down: not counted online", dc.u.getdomaininfo.nr_online_vcpus, 0);
    memset(&dc, 0, sizeof(dc));
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &ctx);
    check_eq("setvcpucontext on an unpaused started domain -> -EBUSY",
             domctl(XEN_DOMCTL_setvcpucontext, (domid_t)d), -XEN_EBUSY);

    /* sysctl lists */
    memset(&sc, 0, sizeof(sc));
    sc.u.getdomaininfolist.first_domain = 0;
    sc.u.getdomaininfolist.max_domains = 16;
    set_xen_guest_handle(sc.u.getdomaininfolist.buffer, list);
    check_eq("getdomaininfolist", sysctl(XEN_SYSCTL_getdomaininfolist), 0);
    int seen0 = 0, seend = 0;
    for (unsigned int i = 0; i < sc.u.getdomaininfolist.num_domains; i++)
        seen0 |= list[i].domain == 0, seend |= list[i].domain == d;
    check_true("  lists dom0 and the new domain", seen0 && seend);
    sc.u.getdomaininfolist.first_domain = 1;
    sc.u.getdomaininfolist.max_domains = 1;
    sysctl(XEN_SYSCTL_getdomaininfolist);
    check_eq("  first_domain 1, max 1 -> one domain", sc.u.getdomaininfolist.num_domains, 1);

    memset(&sc, 0, sizeof(sc));
    sc.u.readconsole.count = sizeof(conbuf) - 1;
    set_xen_guest_handle(sc.u.readconsole.buffer, conbuf);
    check_eq("readconsole", sysctl(XEN_SYSCTL_readconsole), 0);
    uint32_t n = sc.u.readconsole.count, end = sc.u.readconsole.index;
    conbuf[n] = 0;
    int found = 0;
    for (uint32_t i = 0; i + 7 <= n; i++)
        found |= !memcmp(conbuf + i, "created", 7);
    check_true("  the ring has the hv's lines", n > 0 && found);
    /* read on (incrementally) to the end of the ring */
    for (int i = 0; i < 64 && sc.u.readconsole.count; i++) {
        end = sc.u.readconsole.index;
        memset(&sc, 0, sizeof(sc));
        sc.u.readconsole.count = sizeof(conbuf) - 1;
        sc.u.readconsole.incremental = 1;
        sc.u.readconsole.index = end;
        set_xen_guest_handle(sc.u.readconsole.buffer, conbuf);
        sysctl(XEN_SYSCTL_readconsole);
    }
    end = sc.u.readconsole.index;
    printk("readconsole mark\n");
    memset(&sc, 0, sizeof(sc));
    sc.u.readconsole.count = sizeof(conbuf) - 1;
    sc.u.readconsole.incremental = 1;
    sc.u.readconsole.index = end;
    set_xen_guest_handle(sc.u.readconsole.buffer, conbuf);
    sysctl(XEN_SYSCTL_readconsole);
    n = sc.u.readconsole.count;
    found = 0;
    for (uint32_t i = 0; i + 16 <= n; i++)
        found |= !memcmp(conbuf + i, "readconsole mark", 16);
    if (!(n > 0 && n < 200 && found))
        printk("incremental read: %u bytes from %u, found %d\n", n, end, found);
    check_true("  incremental read has only the new line", n > 0 && n < 200 && found);

    check_eq("destroydomain(self) -> -EINVAL", domctl(XEN_DOMCTL_destroydomain, 0), -XEN_EINVAL);
    check_eq("destroydomain", domctl(XEN_DOMCTL_destroydomain, (domid_t)d), 0);
    check_eq("  free pages exactly back", (long)(free_pages() - free0), 0);
    long r = info((domid_t)d);
    check_true("  getdomaininfo no longer finds it",
               r == -XEN_ESRCH || (r == 0 && dc.u.getdomaininfo.domain != d));
    check_eq("pausedomain(gone) -> -ESRCH", domctl(XEN_DOMCTL_pausedomain, (domid_t)d), -XEN_ESRCH);
    check_eq("getdomaininfo(DOMID_SELF) -> -EINVAL", info(DOMID_SELF), -XEN_EINVAL);

    int bad = 0;
    for (int i = 0; i < 20; i++) {
        long x = create(0);
        memset(&dc, 0, sizeof(dc));
        dc.u.max_mem.max_memkb = 64;
        if (x <= 0 || domctl(XEN_DOMCTL_max_mem, (domid_t)x) || populate((domid_t)x, 16, mfns) != 16 ||
            domctl(XEN_DOMCTL_destroydomain, (domid_t)x))
            bad++;
    }
    check_eq("20 create/populate/destroy rounds", bad, 0);
    check_eq("  free pages exactly back", (long)(free_pages() - free0), 0);
}

int guest_main(start_info_t *si)
{
    char role[16];
    start = si;
    if (!cmdline_get(si, "role", role, sizeof(role)))
        memcpy(role, "dom0", 5);
    if (!strcmp(role, "domu"))
        domu_role();
    else
        dom0_role();
    return check_summary(!strcmp(role, "domu") ? "pv_domctl domU" : "pv_domctl dom0");
}
