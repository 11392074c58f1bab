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
#include "xlcmd.h"
#include "../dom0svc/cpio.h"
#include "../dom0svc/svc.h"
#include "../libxc/build.h"

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
    if (domid < SVC_MAX_DOMS)
        memset(on_shutdown[domid], 0, sizeof(on_shutdown[domid]));
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

static int op_console(void *ctx, uint32_t domid)
{
    (void)ctx;
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

/* xl's xenstore entries for a new domain (libxl writes many more; these
 * are the ones guests and our tools read). */
static int write_domain_nodes(uint16_t domid, const struct xlcfg *cfg,
                              const struct dom0_build_out *b)
{
    char path[96], val[64], ro[32], rw[32];
    int rc = 0;
    /* As libxl: the domain's home is dom0's, readable by the domain; the
     * directories it writes in (device, data, backend, ...) are its own. */
    int ro_len = xl_snprintf(ro, sizeof(ro), "n0%cr%u", 0, domid) + 1;
    int rw_len = xl_snprintf(rw, sizeof(rw), "n%u", domid) + 1;
    xl_snprintf(path, sizeof(path), "/local/domain/%u", domid);
    rc = xsd_mkdir(path);
    if (!rc)
        rc = xsd_set_perms(path, ro, (uint32_t)ro_len);
    static const char *const own_dirs[] = { "device", "data", "backend", "drivers",
                                            "feature", "attr", "error" };
    for (unsigned int i = 0; i < sizeof(own_dirs) / sizeof(own_dirs[0]) && !rc; i++) {
        xl_snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, own_dirs[i]);
        rc = xsd_mkdir(path);
        if (!rc)
            rc = xsd_set_perms(path, rw, (uint32_t)rw_len);
    }
    if (!rc) {
        xl_snprintf(path, sizeof(path), "/local/domain/%u/control", domid);
        rc = xsd_mkdir(path);
    }
#define W(fmt_path, fmt_val, ...)                                               \
    do {                                                                        \
        xl_snprintf(path, sizeof(path), "/local/domain/%u/" fmt_path, domid);   \
        xl_snprintf(val, sizeof(val), fmt_val, __VA_ARGS__);                    \
        if (!rc)                                                                \
            rc = xsd_write(path, val);                                          \
    } while (0)
    W("name", "%s", cfg->name);
    W("domid", "%u", domid);
    W("memory/target", "%lu", (unsigned long)(cfg->memory_mib << 10));
    W("store/port", "%u", b->store_evtchn);
    W("store/ring-ref", "%lu", (unsigned long)b->store_mfn);
    W("console/port", "%u", b->console_evtchn);
    W("console/ring-ref", "%lu", (unsigned long)b->console_mfn);
    W("console/type", "%s", "xenconsoled");
#undef W
    return rc;
}

/* cpio keeps file data 4-byte aligned; the ELF reader wants 8 (it reads
 * headers in place), so the kernel is copied here first. */
#define KERNEL_MAX (4u << 20)
static uint8_t kernel_copy[KERNEL_MAX] __attribute__((aligned(4096)));


static int op_create(void *ctx, const struct xlcfg *cfg, int paused, uint32_t *domid_out)
{
    (void)ctx;
    const char *kernel;
    size_t klen;
    int rc = op_read_file(ctx, cfg->kernel, &kernel, &klen);
    if (rc)
        return rc;
    if (klen > KERNEL_MAX) {
        printk("dom0: kernel %s is %lu bytes, more than dom0 can stage (%u)\n", cfg->kernel,
               (unsigned long)klen, KERNEL_MAX);
        return -XEN_E2BIG;
    }
    memcpy(kernel_copy, kernel, klen);
    kernel = (const char *)kernel_copy;
    const char *rd = NULL;
    size_t rdlen = 0;
    if (cfg->ramdisk[0] && (rc = op_read_file(ctx, cfg->ramdisk, &rd, &rdlen)))
        return rc;
    /* 1-2: createdomain (paused), max_vcpus, max_mem. */
    struct xen_domctl d = { .cmd = XEN_DOMCTL_createdomain, .domain = 0,
                            .interface_version = XEN_DOMCTL_INTERFACE_VERSION };
    d.u.createdomain.max_vcpus = cfg->vcpus ? cfg->vcpus : 1;
    d.u.createdomain.max_evtchn_port = 1023;
    d.u.createdomain.max_grant_frames = 32;
    d.u.createdomain.max_maptrack_frames = 1024;
    d.u.createdomain.grant_opts = XEN_DOMCTL_GRANT_version(1);
    memcpy(d.u.createdomain.handle, cfg->uuid, sizeof(d.u.createdomain.handle));
    long hc = HYPERCALL(__HYPERVISOR_domctl, &d, 0, 0);
    if (hc)
        return (int)hc;
    uint16_t domid = d.domain;
    struct xen_domctl m = { .cmd = XEN_DOMCTL_max_vcpus, .domain = domid,
                            .interface_version = XEN_DOMCTL_INTERFACE_VERSION };
    m.u.max_vcpus.max = d.u.createdomain.max_vcpus;
    hc = HYPERCALL(__HYPERVISOR_domctl, &m, 0, 0);
    if (!hc) {
        m = (struct xen_domctl){ .cmd = XEN_DOMCTL_max_mem, .domain = domid,
                                 .interface_version = XEN_DOMCTL_INTERFACE_VERSION };
        m.u.max_mem.max_memkb = cfg->maxmem_mib << 10;
        hc = HYPERCALL(__HYPERVISOR_domctl, &m, 0, 0);
    }
    /* 3-6: memory, layout, start_info, rings, vcpu context. */
    struct dom0_build_out b = { 0 };
    if (!hc)
        hc = dom0_build_pv(domid, kernel, klen, rd, rdlen, cfg->cmdline,
                           cfg->memory_mib << 8, &b);
    /* 7: xenstore + the console back end. */
    if (!hc)
        hc = write_domain_nodes(domid, cfg, &b);
    if (!hc)
        hc = xsd_introduce(domid, b.store_mfn, b.store_evtchn);
    if (!hc)
        hc = consback_attach(domid, b.console_mfn, b.console_evtchn);
    /* 8. */
    if (!hc && !paused)
        hc = ctl_pause(domid, 0);
    if (hc) {
        printk("dom0: create of d%u failed (%ld), destroying it\n", domid, hc);
        op_destroy(ctx, domid);
        return (int)hc;
    }
    if (domid < SVC_MAX_DOMS) {
        memcpy(on_shutdown[domid], cfg->on, sizeof(cfg->on));
        on_shutdown[domid][XLCFG_ON_NR] = 1;
    }
    *domid_out = domid;
    return 0;
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
    if (ctl_destroy(domid) == 0) {
        svc_domain_cleanup(domid);
        memset(on_shutdown[domid], 0, sizeof(on_shutdown[domid]));
    }
}

/* Steps 3-6 of docs/toolstack.md through the toolstack's PV builder
 * (toolstack/libxc/build.c, the same layout code as the hv's). */
int dom0_build_pv(uint16_t domid, const void *kernel, size_t kernel_len, const void *ramdisk,
                  size_t ramdisk_len, const char *cmdline, uint64_t nr_pages,
                  struct dom0_build_out *out)
{
    struct xl_build_out o;
    const char *why = "unknown";
    int rc = xl_build_pv(domid, kernel, kernel_len, ramdisk, ramdisk_len, cmdline,
                         (unsigned int)(nr_pages >> 8), &o, &why);
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

static const struct xlcmd_ops ops = {
    .read_file = op_read_file, .create = op_create, .list = op_list,
    .destroy = op_destroy, .pause = op_pause, .unpause = op_unpause,
    .console = op_console, .hostinfo = op_hostinfo, .dmesg = op_dmesg,
};

void xlops_init(void)
{
    struct xlcmd_io io = { .write = io_write };
    xlcmd_init(&xl, &ops, NULL, &io);
}

int xlops_run_line(char *line)
{
    return xlcmd_run_line(&xl, line);
}
