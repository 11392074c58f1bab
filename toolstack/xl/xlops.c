/*
 * xlops.c - the xl front end wired into dom0: struct xlcmd_ops over
 * ctl.c (domctl/sysctl), xsd.c (names, /local/domain/N), consback.c and
 * the ramdisk (configs and kernels are files of its cpio archive), with
 * the output going to the control line (COM2).
 * Owns: the xlcmd state and the create sequence of docs/toolstack.md
 * (steps 1-3 and 5-8 around the builder). Must never: leave a half-made
 * domain behind when a create step fails (it is destroyed).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/domctl.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/time.h>
#include <xenolith/kimage.h>
#include <xenolith/pv_build.h>
#include "xlcmd.h"
#include "xlnet.h"
#include "../dom0svc/cpio.h"
#include "../dom0svc/svc.h"
#include "../libxc/build.h"
#include "../libxc/ctrl.h"

static struct xlcmd xl;
/* Recorded at create; all zero for a domain xl did not create or that is
 * cleaned up. [domid][XLCFG_ON_NR] is the "created" flag. */
static uint8_t on_shutdown[SVC_MAX_DOMS][XLCFG_ON_NR + 1];

int xlops_created(uint16_t domid)
{
    return domid < SVC_MAX_DOMS && on_shutdown[domid][XLCFG_ON_NR];
}

static void io_write(void *opaque, int fd, const char *s, size_t n)
{
    (void)opaque;
    (void)fd;
    ctl_write(s, n);
}

static int op_read_file(void *ctx, const char *path, const char **data, size_t *len)
{
    (void)ctx;
    size_t rl;
    const void *rd = svc_ramdisk(&rl);
    if (!rd)
        return -XEN_ENOENT;
    const void *d;
    int rc = cpio_find(rd, rl, path, &d, len);
    if (!rc)
        *data = d;
    return rc;
}

static int op_list(void *ctx, struct xlcmd_dominfo *out, unsigned int max)
{
    (void)ctx;
    static struct ctl_dominfo di[SVC_MAX_DOMS];
    int n = ctl_list(0, di, max < SVC_MAX_DOMS ? max : SVC_MAX_DOMS);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        struct xlcmd_dominfo *o = &out[i];
        memset(o, 0, sizeof(*o));
        o->domid = di[i].domid;
        o->current_memkb = di[i].tot_pages * 4;
        o->vcpu_online = di[i].nr_online_vcpus;
        o->cpu_time_ns = di[i].cpu_time;
        uint32_t f = di[i].flags;
        o->running = !!(f & XEN_DOMINF_running);
        o->blocked = !!(f & XEN_DOMINF_blocked);
        o->paused = !!(f & XEN_DOMINF_paused);
        o->shutdown = !!(f & XEN_DOMINF_shutdown);
        o->dying = !!(f & XEN_DOMINF_dying);
        o->shutdown_reason = (f >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
        char path[48];
        xl_snprintf(path, sizeof(path), "/local/domain/%u/name", di[i].domid);
        if (xsd_read(path, o->name, sizeof(o->name)))
            xl_snprintf(o->name, sizeof(o->name), di[i].domid ? "(null)" : "Domain-0");
    }
    return n;
}

static int op_destroy(void *ctx, uint32_t domid)
{
    (void)ctx;
    int rc = ctl_destroy((uint16_t)domid);
    if (rc)
        return rc;
    svc_domain_cleanup((uint16_t)domid);
    return 0;
}

static int op_pause(void *ctx, uint32_t domid)
{
    (void)ctx;
    return ctl_pause((uint16_t)domid, 1);
}

static int op_unpause(void *ctx, uint32_t domid)
{
    (void)ctx;
    return ctl_pause((uint16_t)domid, 0);
}

/* xl's console types: the PV console, or the emulated serial port of an
 * HVM domain (xl's default for HVM, as its device model's pty). */
static int op_console(void *ctx, uint32_t domid, int type)
{
    (void)ctx;
    if (type == XLCMD_CONSOLE_SERIAL || (type == XLCMD_CONSOLE_DEFAULT && dm_attached((uint16_t)domid)))
        return dm_interactive((uint16_t)domid);
    return consback_interactive((uint16_t)domid);
}

static int op_hostinfo(void *ctx, struct xlcmd_hostinfo *hi)
{
    (void)ctx;
    return ctl_hostinfo(hi);
}

static int op_dmesg(void *ctx, int clear, const struct xlcmd_io *io)
{
    (void)ctx;
    static char buf[4096];
    uint32_t idx = 0;
    for (int rounds = 0; rounds < 1024; rounds++) {
        int n = ctl_readconsole(buf, sizeof(buf), &idx, clear);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        io->write(io->opaque, 1, buf, (size_t)n);
    }
    return 0;
}

/* What xl wrote outside /local/domain/N for each domain it created, to
 * take away with it (libxl's vm_path and libxl_path). */
static char vm_paths[SVC_MAX_DOMS][48];

/* A UUID for a config without one (libxl_uuid_generate): version-4 form
 * from the PV clock, the domid and a counter (dom0 has no entropy
 * source; unique, not secret). */
static void make_uuid(uint8_t u[16], uint16_t domid)
{
    static uint64_t count;
    uint64_t t = guest_shared_info ? pvclock_read(&guest_shared_info->vcpu_info[0].time) : 0;
    uint64_t a = t ^ (0x9e3779b97f4a7c15ULL * ++count), b = (a * 0xbf58476d1ce4e5b9ULL) ^ domid;
    for (int i = 0; i < 8; i++) {
        u[i] = (uint8_t)(a >> (8 * i));
        u[8 + i] = (uint8_t)(b >> (8 * i));
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

struct xsw {
    uint16_t domid;
    int rc;
    char ro[32], rw[32], no[8];
    int ro_len, rw_len, no_len;
};

static void xs_node(struct xsw *w, const char *path, const char *val, int perm)
{
    if (w->rc)
        return;
    w->rc = val ? xsd_write(path, val) : xsd_mkdir(path);
    if (!w->rc && perm == 'r')
        w->rc = xsd_set_perms(path, w->ro, (uint32_t)w->ro_len);
    else if (!w->rc && perm == 'w')
        w->rc = xsd_set_perms(path, w->rw, (uint32_t)w->rw_len);
    else if (!w->rc && perm == 'n')
        w->rc = xsd_set_perms(path, w->no, (uint32_t)w->no_len);
}

/* /local/domain/N/<rel> (val NULL: a directory), with perm 'r' (dom0's,
 * readable by N: libxl's roperm), 'w' (N's own: rwperm) or 0 (inherited). */
static void xs_dom(struct xsw *w, const char *rel, const char *val, int perm)
{
    char path[128];
    xl_snprintf(path, sizeof(path), "/local/domain/%u%s%s", w->domid, rel[0] ? "/" : "", rel);
    xs_node(w, path, val, perm);
}

/* The xenstore entries of a new PV domain as libxl writes them
 * (libxl__domain_make, libxl__build_post, libxl__device_console_add):
 * /local/domain/N owned by dom0 and readable by N, the nodes N writes
 * in (control/shutdown, control/feature-*, data, ...) N's own; /vm/<uuid>
 * and /libxl/N. Differences: device (and backend, which libxl does not
 * make for a domU) are N's own, as libxl does only with
 * xend_suspend_evtchn_compat: there is no device-add yet, so frontends
 * and backends make their own directories; and device/ starts empty
 * (no device/suspend/event-channel, which only HVM-style suspend uses),
 * as xs_domid_reuse checks a new domain's home. */
static int write_domain_nodes(uint16_t domid, const struct xlcfg *cfg, const uint8_t uuid[16],
                              const struct dom0_build_out *b)
{
    struct xsw w = { .domid = domid };
    char v[64], rel[48], us[40];
    w.ro_len = xl_snprintf(w.ro, sizeof(w.ro), "n0%cr%u", 0, domid) + 1;
    w.rw_len = xl_snprintf(w.rw, sizeof(w.rw), "n%u", domid) + 1;
    w.no_len = xl_snprintf(w.no, sizeof(w.no), "n0") + 1;
    xlcfg_format_uuid(uuid, us, sizeof(us));
    char *vm = vm_paths[domid < SVC_MAX_DOMS ? domid : 0];
    xl_snprintf(vm, sizeof(vm_paths[0]), "/vm/%s", us);

    /* libxl__domain_make */
    xs_dom(&w, "", NULL, 'r');
    xs_node(&w, vm, NULL, 'r');
    xl_snprintf(v, sizeof(v), "/libxl/%u", domid);
    xs_node(&w, v, NULL, 'n');
    xl_snprintf(v, sizeof(v), "/libxl/%u/device", domid);
    xs_node(&w, v, NULL, 'n');
    xs_dom(&w, "vm", vm, 0);
    xs_dom(&w, "name", cfg->name, 0);
    xs_dom(&w, "cpu", NULL, 'r');
    xs_dom(&w, "memory", NULL, 'r');
    xs_dom(&w, "device", NULL, 'w');
    xs_dom(&w, "control", NULL, 'r');
    static const char *const own[] = { "control/shutdown", "control/feature-poweroff",
                                       "control/feature-reboot", "control/feature-suspend",
                                       "control/sysrq", "data", "drivers", "feature", "attr",
                                       "error", "backend" };
    for (unsigned int i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        xs_dom(&w, own[i], i < 5 ? "" : NULL, 'w');
    xl_snprintf(v, sizeof(v), "%s/uuid", vm);
    xs_node(&w, v, us, 0);
    xl_snprintf(v, sizeof(v), "%s/name", vm);
    xs_node(&w, v, cfg->name, 0);
    xs_dom(&w, "control/platform-feature-multiprocessor-suspend", "1", 0);
    xs_dom(&w, "control/platform-feature-xs_reset_watches", "1", 0);
    xl_snprintf(v, sizeof(v), "/libxl/%u/type", domid);
    xs_node(&w, v, "pv", 0);

    /* libxl__build_post (a PV domain has no video memory) */
    xl_snprintf(v, sizeof(v), "%lu", (unsigned long)(cfg->maxmem_mib << 10));
    xs_dom(&w, "memory/static-max", v, 0);
    xl_snprintf(v, sizeof(v), "%lu", (unsigned long)(cfg->memory_mib << 10));
    xs_dom(&w, "memory/target", v, 0);
    xs_dom(&w, "memory/videoram", "0", 0);
    xl_snprintf(v, sizeof(v), "%u", domid);
    xs_dom(&w, "domid", v, 0);
    xl_snprintf(v, sizeof(v), "%u", b->store_evtchn);
    xs_dom(&w, "store/port", v, 0);
    xl_snprintf(v, sizeof(v), "%lu", (unsigned long)b->store_mfn);
    xs_dom(&w, "store/ring-ref", v, 0);
    unsigned int maxv = cfg->maxvcpus ? cfg->maxvcpus : 1, online = cfg->vcpus ? cfg->vcpus : 1;
    for (unsigned int i = 0; i < maxv; i++) {
        xl_snprintf(rel, sizeof(rel), "cpu/%u/availability", i);
        xs_dom(&w, rel, i < online ? "online" : "offline", 0);
    }

    /* libxl__device_console_add, console 0 (xenconsoled's pty) */
    xl_snprintf(v, sizeof(v), "%u", b->console_evtchn);
    xs_dom(&w, "console/port", v, 0);
    xl_snprintf(v, sizeof(v), "%lu", (unsigned long)b->console_mfn);
    xs_dom(&w, "console/ring-ref", v, 0);
    xs_dom(&w, "console/limit", "1048576", 0);
    xs_dom(&w, "console/type", "xenconsoled", 0);
    xs_dom(&w, "console/output", "pty", 0);
    return w.rc;
}

/* libxl's destroy removes /vm/<uuid> and /libxl/N besides the home
 * (xenstored's @releaseDomain cleanup takes that one). */
void xlops_domain_gone(uint16_t domid)
{
    char p[32];
    if (domid == 0 || domid >= SVC_MAX_DOMS)
        return;
    if (vm_paths[domid][0])
        xsd_rm(vm_paths[domid]);
    vm_paths[domid][0] = '\0';
    xl_snprintf(p, sizeof(p), "/libxl/%u", domid);
    xsd_rm(p);
    memset(on_shutdown[domid], 0, sizeof(on_shutdown[domid]));
}

/* A kernel image, read in place from the ramdisk: a plain ELF at an
 * 8-byte aligned address is used as it is (the ELF reader reads
 * headers in place); an unaligned one is copied, a compressed one
 * (bzImage, gzip, xz, ...) decompressed into pages from dom0's free
 * memory. staged/staged_pages: what to give back after the build. */
struct kstage {
    const void *elf;
    size_t len;
    void *staged;
    uint64_t staged_pages;
};

static void say_no_memory(const char *what, const char *name, uint64_t bytes)
{
    printk("dom0: not enough memory to stage %s %s: needs %lu MiB, %lu free\n", what, name,
           (unsigned long)((bytes + (1u << 20) - 1) >> 20),
           (unsigned long)(pages_free_count() >> 8));
}

static int stage_kernel(const char *name, const void *img, size_t len, struct kstage *k)
{
    struct kimage_info info;
    const char *why = "unknown";
    memset(k, 0, sizeof(*k));
    int rc = kimage_probe(img, len, &info, &why);
    if (rc) {
        printk("dom0: kernel %s: %s\n", name, why);
        return rc;
    }
    if (info.comp == KCOMP_NONE && !((uintptr_t)info.payload & 7)) {
        k->elf = info.payload;
        k->len = info.payload_len;
        return 0;
    }
    size_t out_len = info.comp == KCOMP_NONE ? info.payload_len : info.out_len;
    uint64_t n = pages_for(out_len);
    void *out = n ? pages_alloc(n) : NULL;
    if (!out) {
        say_no_memory("kernel", name, out_len);
        return -XEN_ENOMEM;
    }
    k->staged = out;
    k->staged_pages = n;
    if (info.comp == KCOMP_NONE) {
        memcpy(out, info.payload, out_len);
    } else {
        uint64_t sn = pages_for(KIMAGE_SCRATCH_SIZE);
        void *scratch = pages_alloc(sn);
        if (!scratch) {
            say_no_memory("kernel", name, out_len + KIMAGE_SCRATCH_SIZE);
            return -XEN_ENOMEM;
        }
        rc = kimage_decompress(&info, out, n << 12, scratch, &why);
        pages_free(scratch, sn);
        if (rc) {
            printk("dom0: kernel %s (%s%s): %s\n", name, info.is_bzimage ? "bzImage, " : "",
                   kimage_comp_name(info.comp), why);
            return rc;
        }
        printk("dom0: kernel %s: %s%s, %lu bytes decompressed to %lu\n", name,
               info.is_bzimage ? "bzImage, " : "", kimage_comp_name(info.comp),
               (unsigned long)info.payload_len, (unsigned long)out_len);
    }
    k->elf = out;
    k->len = out_len;
    return 0;
}

static void unstage_kernel(struct kstage *k)
{
    pages_free(k->staged, k->staged_pages);
    memset(k, 0, sizeof(*k));
}

/* The builder's checks of the kernel (Xen notes, libelf's rules) and of
 * the layout with the ramdisk, made before the domain exists so that a
 * refusal is one line naming the file and creates nothing (the builder
 * makes them again). A layout that fits without the ramdisk but not
 * with it is the ramdisk's fault. */
static int check_kernel(const struct xlcfg *cfg, const struct kstage *k, const void *rd,
                        size_t rdlen)
{
    static struct pv_plan plan;
    const char *why = "unknown";
    struct pv_image img = { .kernel = k->elf, .kernel_len = k->len, .initrd = rd,
                            .initrd_len = rd ? rdlen : 0, .cmdline = cfg->cmdline,
                            .nr_pages = cfg->memory_mib << 8 };
    int rc = pv_build_prepare(&plan, &img, 0, &why);
    if (!rc)
        return 0;
    if (rc == -XEN_ENOMEM && img.initrd_len) {
        uint64_t need = plan.l.v_end - plan.l.v_start;
        img.initrd = NULL;
        img.initrd_len = 0;
        const char *w2;
        if (!pv_build_prepare(&plan, &img, 0, &w2)) {
            printk("dom0: ramdisk %s: %lu KiB does not fit in %s's %lu MiB with its kernel "
                   "(needs %lu MiB)\n", cfg->ramdisk, (unsigned long)(rdlen >> 10), cfg->name,
                   (unsigned long)cfg->memory_mib, (unsigned long)((need + (1u << 20) - 1) >> 20));
            return rc;
        }
    }
    printk("dom0: kernel %s: %s\n", cfg->kernel, why);
    return rc;
}

static int apply_affinity(uint16_t domid, const struct xlcfg *cfg, unsigned int max_vcpus);
static int build_domain(int pvh, uint16_t domid, const void *kernel, size_t kernel_len,
                        const void *ramdisk, size_t ramdisk_len, const char *cmdline,
                        uint64_t nr_pages, uint64_t max_memkb, unsigned int max_vcpus,
                        struct dom0_build_out *out);


static int op_create(void *ctx, const struct xlcfg *cfg, int paused, uint32_t *domid_out)
{
    (void)ctx;
    /* 0 PV, 1 PVH, 2 HVM (a bzImage or a Multiboot ELF, booted directly) */
    int pvh = cfg->type == XLCFG_TYPE_PVH ? 1 : cfg->type == XLCFG_TYPE_HVM ? 2 : 0;
    const char *kernel;
    size_t klen;
    int rc = op_read_file(ctx, cfg->kernel, &kernel, &klen);
    if (rc) {
        printk("dom0: kernel %s: not in dom0's ramdisk\n", cfg->kernel);
        return rc;
    }
    const char *rd = NULL;
    size_t rdlen = 0;
    if (cfg->ramdisk[0] && (rc = op_read_file(ctx, cfg->ramdisk, &rd, &rdlen))) {
        printk("dom0: ramdisk %s: not in dom0's ramdisk\n", cfg->ramdisk);
        return rc;
    }
    struct kstage k;
    if (pvh == 2) { /* the kernel as it is: the builder reads its setup or Multiboot header */
        memset(&k, 0, sizeof(k));
        k.elf = kernel;
        k.len = klen;
    } else if ((rc = stage_kernel(cfg->kernel, kernel, klen, &k)) ||
               (!pvh && (rc = check_kernel(cfg, &k, rd, rdlen)))) /* PVH: the builder checks */
        goto out;
    /* 1-2: createdomain (paused), max_vcpus, max_mem. */
    struct xen_domctl d = { .cmd = XEN_DOMCTL_createdomain, .domain = 0,
                            .interface_version = XEN_DOMCTL_INTERFACE_VERSION };
    d.u.createdomain.max_vcpus = cfg->maxvcpus ? cfg->maxvcpus : 1;
    d.u.createdomain.max_evtchn_port = 1023;
    d.u.createdomain.max_grant_frames = 32;
    d.u.createdomain.max_maptrack_frames = 1024;
    d.u.createdomain.grant_opts = XEN_DOMCTL_GRANT_version(1);
    if (pvh) { /* libxl's PVH: hardware paging, only the local APIC emulated; HVM: with
                * the I/O APIC, 8259 PIC, 8254 PIT and RTC too (the platform devices the hv has so far) */
        d.u.createdomain.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
        d.u.createdomain.arch.emulation_flags =
            XEN_X86_EMU_LAPIC |
            (pvh == 2 ? XEN_X86_EMU_IOAPIC | XEN_X86_EMU_PIC | XEN_X86_EMU_PIT | XEN_X86_EMU_RTC
                      : 0);
    }
    uint8_t uuid[16];
    if (cfg->has_uuid)
        memcpy(uuid, cfg->uuid, sizeof(uuid));
    else
        make_uuid(uuid, 0);
    memcpy(d.u.createdomain.handle, uuid, sizeof(d.u.createdomain.handle));
    long hc = HYPERCALL(__HYPERVISOR_domctl, &d, 0, 0);
    if (hc) {
        rc = (int)hc;
        goto out;
    }
    uint16_t domid = d.domain;
    /* 2-6: max_vcpus, max_mem, memory, layout, start_info, rings, vcpu 0's
     * context (the builder). max_mem as libxl__build_pre: the initial
     * allocation + LIBXL_MAXMEM_CONSTANT (1 MiB); maxmem goes to
     * memory/static-max, the balloon's limit. */
    struct dom0_build_out b = { 0 };
    hc = apply_affinity(domid, cfg, d.u.createdomain.max_vcpus);
    if (!hc)
        hc = build_domain(pvh, domid, k.elf, k.len, rd, rdlen, cfg->cmdline, cfg->memory_mib << 8,
                          (cfg->memory_mib << 10) + 1024, d.u.createdomain.max_vcpus, &b);
    /* 7: xenstore + the console back end. */
    if (!hc)
        hc = write_domain_nodes(domid, cfg, uuid, &b);
    if (!hc)
        hc = xsd_introduce(domid, b.store_mfn, b.store_evtchn);
    if (!hc)
        hc = consback_attach(domid, b.console_mfn, b.console_evtchn);
    /* HVM: the device model (libxl starts QEMU here): its serial port */
    if (!hc && pvh == 2)
        hc = dm_attach(domid, d.u.createdomain.max_vcpus);
    if (!hc)
        hc = xlnet_create_vifs(domid, cfg);
    /* libxl__add_disks: the vbds, before the domain runs. An HVM domain's
     * hdX is also the device model's emulated IDE disk, as with Xen. (Xen's
     * guests unplug the emulated one through the platform ports before
     * their PV drivers take the vbd; the device model does not offer those
     * ports: without the Xen platform PCI device, which Linux's HVM grant
     * table setup needs, its blkfront would unplug the IDE disk and fail.) */
    for (unsigned int i = 0; !hc && i < cfg->nr_disks; i++) {
        if (pvh == 2 && !strncmp(cfg->disks[i].vdev, "hd", 2))
            hc = dm_disk_attach(domid, &cfg->disks[i]);
        if (!hc)
            hc = blkback_device_add(domid, &cfg->disks[i]);
    }
    /* 8. */
    if (!hc && !paused)
        hc = ctl_pause(domid, 0);
    if (hc) {
        printk("dom0: create of d%u failed (%ld), destroying it\n", domid, hc);
        op_destroy(ctx, domid);
        rc = (int)hc;
        goto out;
    }
    if (domid < SVC_MAX_DOMS) {
        memcpy(on_shutdown[domid], cfg->on, sizeof(cfg->on));
        on_shutdown[domid][XLCFG_ON_NR] = 1;
    }
    *domid_out = domid;
    rc = 0;
out:
    unstage_kernel(&k);
    return rc;
}

/* What xl does when a domain it created shuts down (on_poweroff,
 * on_reboot, on_crash, on_watchdog...): preserve keeps it; every other
 * action destroys it (restarting is not done yet: said in the log). */
void xlops_domain_shutdown(uint16_t domid, unsigned int reason)
{
    if (domid == 0 || domid >= SVC_MAX_DOMS)
        return;
    unsigned int act = reason < XLCFG_ON_NR ? on_shutdown[domid][reason] : XLCFG_ACTION_DESTROY;
    if (act == XLCFG_ACTION_PRESERVE)
        return;
    if (act != XLCFG_ACTION_DESTROY && act != XLCFG_ACTION_COREDUMP_DESTROY && act != 0)
        printk("dom0: d%u: action %s is not supported yet; destroying it\n", domid,
               xlcfg_action_name(act));
    printk("dom0: d%u shut down (reason %u): destroying it\n", domid, reason);
    if (ctl_destroy(domid) == 0)
        svc_domain_cleanup(domid);
}

/* Steps 3-6 of docs/toolstack.md through the toolstack's PV builder
 * (toolstack/libxc/build.c, the same layout code as the hv's). */

int dom0_build_pv(uint16_t domid, const void *kernel, size_t kernel_len, const void *ramdisk,
                  size_t ramdisk_len, const char *cmdline, uint64_t nr_pages, uint64_t max_memkb,
                  unsigned int max_vcpus, struct dom0_build_out *out)
{
    return build_domain(0, domid, kernel, kernel_len, ramdisk, ramdisk_len, cmdline, nr_pages,
                        max_memkb, max_vcpus, out);
}

/* The same for a PVH domain (toolstack/libxc/build_pvh.c). */
static int build_domain(int pvh, uint16_t domid, const void *kernel, size_t kernel_len,
                        const void *ramdisk, size_t ramdisk_len, const char *cmdline,
                        uint64_t nr_pages, uint64_t max_memkb, unsigned int max_vcpus,
                        struct dom0_build_out *out)
{
    struct xl_build_out o;
    const char *why = "unknown";
    /* The builder's P2M scratch: 8 bytes a page, from dom0's free memory. */
    uint64_t pn = pages_for(nr_pages * sizeof(uint64_t));
    uint64_t *p2m = pages_alloc(pn);
    if (!p2m) {
        printk("dom0: not enough memory to build d%u: its P2M needs %lu KiB, %lu MiB free\n",
               domid, (unsigned long)(pn << 2), (unsigned long)(pages_free_count() >> 8));
        return -XEN_ENOMEM;
    }
    const struct xl_build_args a = {
        .kernel = kernel, .kernel_len = kernel_len, .ramdisk = ramdisk,
        .ramdisk_len = ramdisk_len, .cmdline = cmdline,
        .memory_mb = (unsigned int)(nr_pages >> 8), .max_memkb = max_memkb,
        .max_vcpus = max_vcpus,
        .p2m = p2m, .p2m_entries = pn << 9,
    };
    int rc = pvh == 2 ? xl_build_hvm(domid, &a, &o, &why)
             : pvh    ? xl_build_pvh(domid, &a, &o, &why)
                      : xl_build_pv(domid, &a, &o, &why);
    pages_free(p2m, pn);
    if (rc) {
        printk("dom0: building d%u failed: %s (%d)\n", domid, why, rc);
        return rc;
    }
    out->store_mfn = o.store_mfn;
    out->console_mfn = o.console_mfn;
    out->store_evtchn = o.store_evtchn;
    out->console_evtchn = o.console_evtchn;
    return 0;
}

/* ---- vcpus (libxl_list_vcpu, libxl_set_vcpuaffinity, libxl_set_vcpuonline) ---- */

static uint64_t map_from_bytes(const uint8_t *b, int n)
{
    uint64_t m = 0;
    for (int i = 0; i < n && i < 8; i++)
        m |= (uint64_t)b[i] << (8 * i);
    return m;
}

static void map_to_bytes(uint8_t *b, int n, uint64_t m)
{
    for (int i = 0; i < n; i++)
        b[i] = i < 8 ? (uint8_t)(m >> (8 * i)) : 0;
}

static int op_vcpu_list(void *ctx, uint32_t domid, struct xlcmd_vcpuinfo *out, unsigned int max)
{
    (void)ctx;
    xc_domaininfo_t di;
    uint8_t hard[8], soft[8];
    int rc = xc_domain_getinfo_single(domid, &di);
    if (rc)
        return rc;
    int sz = xc_get_cpumap_size();
    if (sz < 0)
        return sz;
    if (sz > 8)
        sz = 8; /* the hv's maps are 64 CPUs */
    unsigned int n = di.max_vcpu_id + 1;
    if (n > max)
        n = max;
    for (unsigned int i = 0; i < n; i++) {
        xc_vcpuinfo_t vi;
        if ((rc = xc_vcpu_getinfo(domid, i, &vi)))
            return rc;
        memset(hard, 0, sizeof(hard));
        memset(soft, 0, sizeof(soft));
        if ((rc = xc_vcpu_getaffinity(domid, (int)i, hard, soft,
                                      XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT)))
            return rc;
        out[i] = (struct xlcmd_vcpuinfo){
            .vcpuid = i, .cpu = vi.cpu, .online = vi.online, .blocked = vi.blocked,
            .running = vi.running, .time_ns = vi.cpu_time,
            .hard = map_from_bytes(hard, sz), .soft = map_from_bytes(soft, sz),
        };
    }
    return (int)n;
}

static int set_affinity(uint32_t domid, int vcpu, const uint64_t *hard, const uint64_t *soft,
                        int force)
{
    uint8_t h[8], so[8];
    int sz = xc_get_cpumap_size();
    if (sz < 0)
        return sz;
    if (sz > 8)
        sz = 8;
    uint32_t flags = (hard ? XEN_VCPUAFFINITY_HARD : 0) | (soft ? XEN_VCPUAFFINITY_SOFT : 0) |
                     (force ? XEN_VCPUAFFINITY_FORCE : 0);
    if (!hard && !soft)
        return -XEN_EINVAL; /* libxl: nothing to set */
    map_to_bytes(h, sz, hard ? *hard : 0);
    map_to_bytes(so, sz, soft ? *soft : 0);
    return xc_vcpu_setaffinity(domid, vcpu, hard ? h : NULL, soft ? so : NULL, flags);
}

static int op_vcpu_pin(void *ctx, uint32_t domid, int vcpu, const uint64_t *hard,
                       const uint64_t *soft, int force)
{
    (void)ctx;
    if (vcpu >= 0)
        return set_affinity(domid, vcpu, hard, soft, force);
    xc_domaininfo_t di;
    int rc = xc_domain_getinfo_single(domid, &di), first = 0;
    if (rc)
        return rc;
    for (unsigned int i = 0; i <= di.max_vcpu_id; i++)
        if ((rc = set_affinity(domid, (int)i, hard, soft, force)) && !first)
            first = rc;
    return first;
}

static int op_vcpu_set(void *ctx, uint32_t domid, unsigned int n)
{
    (void)ctx;
    xc_domaininfo_t di;
    char path[64];
    int rc = xc_domain_getinfo_single(domid, &di);
    if (rc)
        return rc;
    for (unsigned int i = 0; i <= di.max_vcpu_id; i++) {
        xl_snprintf(path, sizeof(path), "/local/domain/%u/cpu/%u/availability", domid, i);
        if ((rc = xsd_write(path, i < n ? "online" : "offline")))
            return rc;
    }
    return 0;
}

/* libxl__build_pre: cpus= / cpus_soft= for each vcpu that has one. */
static int apply_affinity(uint16_t domid, const struct xlcfg *cfg, unsigned int max_vcpus)
{
    char m[200];
    for (unsigned int i = 0; i < max_vcpus; i++) {
        const uint64_t *h = i < cfg->nr_cpus_hard ? &cfg->cpus_hard[i] : NULL;
        const uint64_t *so = i < cfg->nr_cpus_soft ? &cfg->cpus_soft[i] : NULL;
        if (!h && !so)
            continue;
        int rc = set_affinity(domid, (int)i, h, so, 0);
        if (rc) {
            xlcmd_format_cpumap(m, sizeof(m), h ? *h : *so, 64);
            printk("dom0: d%u: vcpu %u: %s affinity %s refused (%d)%s\n", domid, i,
                   h ? "hard" : "soft", m, rc,
                   rc == -XEN_EINVAL ? ": no CPU of this machine in it" : "");
            return rc;
        }
    }
    return 0;
}

static int op_hypercalls(void *ctx, uint32_t domid, struct hcstat_counts *out)
{
    (void)ctx;
    return xc_hypercall_stats(domid, out);
}

static int op_sched_credit_get(void *ctx, uint32_t domid, uint16_t *weight, uint16_t *cap,
                               unsigned int *nr_vcpus)
{
    (void)ctx;
    xc_domaininfo_t info;
    struct xen_domctl_sched_credit sc;
    int rc = xc_domain_getinfo_single(domid, &info);
    if (rc)
        return rc;
    if ((rc = xc_sched_credit_domain_get(domid, &sc)))
        return rc;
    *weight = sc.weight;
    *cap = sc.cap;
    *nr_vcpus = info.max_vcpu_id + 1;
    return 0;
}

static int op_sched_credit_set(void *ctx, uint32_t domid, uint16_t weight, uint16_t cap)
{
    (void)ctx;
    struct xen_domctl_sched_credit sc = { .weight = weight, .cap = cap };
    return xc_sched_credit_domain_set(domid, &sc);
}

static int op_sched_credit_params_get(void *ctx, unsigned int *tslice_ms,
                                      unsigned int *ratelimit_us, unsigned int *migr_delay_us)
{
    (void)ctx;
    struct xen_sysctl_credit_schedule p;
    memset(&p, 0, sizeof(p));
    int rc = xc_sched_credit_params_get(0, &p);
    if (!rc) {
        *tslice_ms = p.tslice_ms;
        *ratelimit_us = p.ratelimit_us;
        *migr_delay_us = p.vcpu_migr_delay_us;
    }
    return rc;
}

static int op_sched_credit_params_set(void *ctx, unsigned int tslice_ms,
                                      unsigned int ratelimit_us, unsigned int migr_delay_us)
{
    (void)ctx;
    struct xen_sysctl_credit_schedule p = {
        .tslice_ms = tslice_ms, .ratelimit_us = ratelimit_us, .vcpu_migr_delay_us = migr_delay_us,
    };
    return xc_sched_credit_params_set(0, &p);
}

static int op_block_list(void *ctx, uint32_t domid, struct xlcmd_blkinfo *out, unsigned int max)
{
    (void)ctx;
    struct blkback_info bi[XLCMD_MAX_DISKS];
    if (domid >= SVC_MAX_DOMS)
        return 0;
    int n = blkback_list((uint16_t)domid, bi, max < XLCMD_MAX_DISKS ? max : XLCMD_MAX_DISKS);
    for (int i = 0; i < n; i++)
        out[i] = (struct xlcmd_blkinfo){ .devid = bi[i].devid, .backend_id = bi[i].be_domid,
                                         .frontend_id = domid, .state = (int)bi[i].fe_state,
                                         .evtchn = bi[i].evtchn, .ring_ref = bi[i].ring_ref };
    for (int i = 0; i < n; i++)
        memcpy(out[i].backend, bi[i].be_path, sizeof(out[i].backend));
    return n;
}

static int op_block_attach(void *ctx, uint32_t domid, const struct xldisk *d)
{
    (void)ctx;
    if (!ctl_exists((uint16_t)domid) || domid >= SVC_MAX_DOMS)
        return -XEN_ESRCH;
    return blkback_device_add((uint16_t)domid, d);
}

static int op_block_detach(void *ctx, uint32_t domid, uint32_t devid)
{
    (void)ctx;
    return domid < SVC_MAX_DOMS ? blkback_device_remove((uint16_t)domid, devid) : -XEN_ENOENT;
}

static const struct xlcmd_ops ops = {
    .read_file = op_read_file, .create = op_create, .list = op_list,
    .destroy = op_destroy, .pause = op_pause, .unpause = op_unpause,
    .console = op_console, .hostinfo = op_hostinfo, .dmesg = op_dmesg,
    .hypercalls = op_hypercalls, .vcpu_list = op_vcpu_list, .vcpu_pin = op_vcpu_pin,
    .vcpu_set = op_vcpu_set,
    .sched_credit_get = op_sched_credit_get, .sched_credit_set = op_sched_credit_set,
    .sched_credit_params_get = op_sched_credit_params_get,
    .sched_credit_params_set = op_sched_credit_params_set,
    .block_list = op_block_list, .block_attach = op_block_attach,
    .block_detach = op_block_detach,
};

void xlops_init(void)
{
    struct xlcmd_io io = { .write = io_write };
    xlcmd_init(&xl, &ops, NULL, &io);
}

int xlops_run_line(char *line)
{
    int status;
    if (xlnet_run_line(line, &status))
        return status;
    return xlcmd_run_line(&xl, line);
}
