/*
 * xlnet.c - xl's network devices in dom0, as libxl_nic.c does them:
 * the frontend and backend xenstore directories of each vif at create
 * and network-attach (then netback takes the backend over), and the
 * commands network-list, network-attach, network-detach.
 * Owns: the vif nodes xl writes (frontend dir: the domain's own, readable
 * by dom0; backend dir: dom0's, readable by the domain). Must never:
 * touch a ring or a grant (netback's), or block without a bound (detach
 * waits at most NET_DETACH_WAIT_MS for the close handshake).
 */
#include <stdarg.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/io/xenbus.h>
#include <xlguest/time.h>
#include <xlguest/kernel.h>
#include "xlcmd.h"
#include "xlnet.h"
#include "../dom0svc/svc.h"
#include "../dom0svc/netback.h"

#define NET_MAX_DEVID 8
#define NET_DETACH_WAIT_MS 3000

static void out(const char *s)
{
    ctl_write(s, strlen(s));
}

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    xl_vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    out(b);
}

static int node(const char *dir, const char *name, const char *val, const char *perms,
                uint32_t plen)
{
    char p[128];
    xl_snprintf(p, sizeof(p), "%s/%s", dir, name);
    int rc = xsd_write(p, val);
    return rc ? rc : xsd_set_perms(p, perms, plen);
}

int xlnet_add_vif(uint16_t domid, unsigned int devid, const struct xlvif *vif)
{
    char fe[64], be[64], v[64], mac[18], fperm[16], bperm[16];
    uint8_t m[6];
    if (devid >= NET_MAX_DEVID)
        return -XEN_EINVAL;
    if (vif->has_mac)
        memcpy(m, vif->mac, 6);
    else
        xlvif_default_mac(domid, devid, m);
    xl_snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
    xl_snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", domid, devid);
    xl_snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", domid, devid);
    uint32_t fl = (uint32_t)xl_snprintf(fperm, sizeof(fperm), "n%u%cr0", domid, 0) + 1;
    uint32_t bl = (uint32_t)xl_snprintf(bperm, sizeof(bperm), "n0%cr%u", 0, domid) + 1;
    int rc = xsd_mkdir(fe);
    if (!rc)
        rc = xsd_set_perms(fe, fperm, fl);
    if (!rc)
        rc = xsd_mkdir(be);
    if (!rc)
        rc = xsd_set_perms(be, bperm, bl);
    /* libxl__device_nic_add's nodes, frontend then backend. */
    if (!rc)
        rc = node(fe, "backend", be, fperm, fl);
    if (!rc)
        rc = node(fe, "backend-id", "0", fperm, fl);
    if (!rc)
        rc = node(fe, "state", "1", fperm, fl);
    xl_snprintf(v, sizeof(v), "%u", devid);
    if (!rc)
        rc = node(fe, "handle", v, fperm, fl);
    if (!rc)
        rc = node(fe, "mac", mac, fperm, fl);
    if (!rc)
        rc = node(be, "frontend", fe, bperm, bl);
    xl_snprintf(v, sizeof(v), "%u", domid);
    if (!rc)
        rc = node(be, "frontend-id", v, bperm, bl);
    if (!rc)
        rc = node(be, "online", "1", bperm, bl);
    if (!rc)
        rc = node(be, "state", "1", bperm, bl);
    if (!rc)
        rc = node(be, "mac", mac, bperm, bl);
    xlvif_format_bridge(vif, v, sizeof(v));
    if (!rc)
        rc = node(be, "bridge", v, bperm, bl);
    xl_snprintf(v, sizeof(v), "%u", devid);
    if (!rc)
        rc = node(be, "handle", v, bperm, bl);
    if (!rc)
        rc = node(be, "type", "vif", bperm, bl);
    if (!rc)
        rc = netback_probe(domid, devid);
    if (rc) {
        printk("dom0: vif%u.%u: cannot set up: %d\n", domid, devid, rc);
        xsd_rm(fe);
        xsd_rm(be);
    }
    return rc;
}

int xlnet_create_vifs(uint16_t domid, const struct xlcfg *cfg)
{
    for (unsigned int i = 0; i < cfg->nr_vifs; i++) {
        int rc = xlnet_add_vif(domid, i, &cfg->vif[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- commands ---- */

/* A domain id, or a name from /local/domain/N/name. */
static int find_dom(const char *s, uint16_t *domid)
{
    char b[XLCFG_NAME_MAX], p[48];
    if (*s >= '0' && *s <= '9') {
        unsigned long v = 0;
        for (; *s >= '0' && *s <= '9' && v < 65536; s++)
            v = v * 10 + (unsigned long)(*s - '0');
        if (*s || v >= SVC_MAX_DOMS)
            return -XEN_EINVAL;
        *domid = (uint16_t)v;
        return 0;
    }
    for (uint16_t d = 0; d < SVC_MAX_DOMS; d++) {
        xl_snprintf(p, sizeof(p), "/local/domain/%u/name", d);
        if (!xsd_read(p, b, sizeof(b)) && !strcmp(b, s)) {
            *domid = d;
            return 0;
        }
    }
    return -XEN_ENOENT;
}

static int rd_int(const char *dir, const char *n, int dflt)
{
    char p[128], b[24];
    xl_snprintf(p, sizeof(p), "%s/%s", dir, n);
    if (xsd_read(p, b, sizeof(b)) || !b[0])
        return dflt;
    int v = 0;
    for (const char *q = b; *q; q++) {
        if (*q < '0' || *q > '9' || v > 100000000)
            return dflt;
        v = v * 10 + (*q - '0');
    }
    return v;
}

/* A value the domain wrote, for the control line: printable ASCII only. */
static void clean(char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            *s = '?';
}

/* The vifs of a domain are the backend directories dom0 wrote; only the
 * connection details (state, channel, ring refs) are read from the
 * domain's own frontend directory, as numbers. */
static int cmd_list(int argc, char **argv)
{
    if (argc < 2) {
        out("'xl network-list' requires at least 1 argument.\n\n");
        return 2;
    }
    out("Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n");
    for (int a = 1; a < argc; a++) {
        uint16_t d;
        if (find_dom(argv[a], &d)) {
            outf("%s is an invalid domain identifier\n", argv[a]);
            continue;
        }
        for (unsigned int i = 0; i < NET_MAX_DEVID; i++) {
            char fe[64], be[64], mac[24], p[96];
            xl_snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", d, i);
            xl_snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", d, i);
            xl_snprintf(p, sizeof(p), "%s/mac", be);
            if (xsd_read(p, mac, sizeof(mac)))
                continue;
            clean(mac);
            outf("%-3u %-2d %-17s %6d %5d %6d %5d/%-11d %-30s\n", i, 0, mac,
                 rd_int(be, "handle", -1), rd_int(fe, "state", -1),
                 rd_int(fe, "event-channel", -1), rd_int(fe, "tx-ring-ref", -1),
                 rd_int(fe, "rx-ring-ref", -1), be);
        }
    }
    return 0;
}

static int cmd_attach(int argc, char **argv)
{
    uint16_t d;
    char spec[XLVIF_SPEC_MAX], err[96], p[96], b[8];
    struct xlvif vif;
    if (argc < 2) {
        out("'xl network-attach' requires at least 1 argument.\n\n");
        return 2;
    }
    if (find_dom(argv[1], &d) || !d) {
        outf("%s is an invalid domain identifier\n", argv[1]);
        return 1;
    }
    /* xl takes the spec as several words too: join them with ','. */
    size_t n = 0;
    spec[0] = '\0';
    for (int a = 2; a < argc; a++) {
        int w = xl_snprintf(spec + n, sizeof(spec) - n, "%s%s", n ? "," : "", argv[a]);
        if (w < 0 || (size_t)w >= sizeof(spec) - n) {
            out("network-attach: spec too long\n");
            return 1;
        }
        n += (size_t)w;
    }
    if (xlvif_parse(spec, &vif, err, sizeof(err))) {
        outf("network-attach: %s\n", err);
        return 1;
    }
    for (unsigned int i = 0; i < NET_MAX_DEVID; i++) {
        char be[64];
        xl_snprintf(p, sizeof(p), "/local/domain/0/backend/vif/%u/%u/frontend", d, i);
        if (!xsd_read(p, be, sizeof(be)))
            continue;
        xl_snprintf(p, sizeof(p), "/local/domain/%u/device/vif/%u", d, i);
        if (!xsd_read(p, be, sizeof(be)))
            continue;                   /* a frontend dir left over: not free */
        xl_snprintf(p, sizeof(p), "/local/domain/%u/name", d);
        if (xsd_read(p, b, sizeof(b)) == -XEN_ENOENT) {
            outf("%s is an invalid domain identifier\n", argv[1]);
            return 1;
        }
        int rc = xlnet_add_vif(d, i, &vif);
        if (rc) {
            outf("libxl: error: vif%u.%u: cannot add (%d)\n", d, i, rc);
            return 1;
        }
        return 0;
    }
    out("network-attach: no free device id\n");
    return 1;
}

static uint64_t ms_now(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time) / 1000000;
}

static int cmd_detach(int argc, char **argv)
{
    uint16_t d;
    char p[128], mac[24], be[64];
    if (argc != 3) {
        out("'xl network-detach' requires 2 arguments.\n\n");
        return 2;
    }
    if (find_dom(argv[1], &d) || !d) {
        outf("%s is an invalid domain identifier\n", argv[1]);
        return 1;
    }
    int devid = -1;
    for (unsigned int i = 0; i < NET_MAX_DEVID && devid < 0; i++) {
        xl_snprintf(p, sizeof(p), "/local/domain/0/backend/vif/%u/%u/mac", d, i);
        char num[8];
        xl_snprintf(num, sizeof(num), "%u", i);
        if (!xsd_read(p, mac, sizeof(mac)) && (!strcmp(argv[2], num) || !strcmp(argv[2], mac)))
            devid = (int)i;
    }
    if (devid < 0) {
        outf("Unknown device %s.\n", argv[2]);
        return 1;
    }
    /* libxl's generic remove: online=0, wait for the backend to close. */
    xl_snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%d", d, devid);
    xl_snprintf(p, sizeof(p), "%s/online", be);
    xsd_write(p, "0");
    xl_snprintf(p, sizeof(p), "%s/state", be);
    uint64_t end = ms_now() + NET_DETACH_WAIT_MS;
    char st[8];
    while (!xsd_read(p, st, sizeof(st)) && strcmp(st, "6") && ms_now() < end)
        svc_step(0);
    int clean = xsd_read(p, st, sizeof(st)) == -XEN_ENOENT || !strcmp(st, "6");
    if (!clean)
        printk("dom0: vif%u.%d: backend did not close in %d ms, removed anyway\n", d, devid,
               NET_DETACH_WAIT_MS);
    netback_detach(d, (unsigned int)devid);
    xl_snprintf(p, sizeof(p), "/local/domain/%u/device/vif/%d", d, devid);
    xsd_rm(p);
    xsd_rm(be);
    return 0;
}

int xlnet_run_line(const char *line, int *status)
{
    char copy[512], *argv[XLCMD_MAX_ARGS + 1];
    while (*line == ' ' || *line == '\t')
        line++;
    if (!strncmp(line, "xl ", 3))
        line += 3;
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, "network-", 8) || strlen(line) >= sizeof(copy))
        return 0;
    memcpy(copy, line, strlen(line) + 1);
    int argc = xlcmd_split(copy, argv, XLCMD_MAX_ARGS + 1);
    if (argc <= 0)
        return 0;
    if (!strcmp(argv[0], "network-list"))
        *status = cmd_list(argc, argv);
    else if (!strcmp(argv[0], "network-attach"))
        *status = cmd_attach(argc, argv);
    else if (!strcmp(argv[0], "network-detach"))
        *status = cmd_detach(argc, argv);
    else
        return 0;
    return 1;
}
