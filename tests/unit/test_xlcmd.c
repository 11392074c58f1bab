/*
 * test_xlcmd.c - host unit tests for the `xl` front end of the dom0
 * toolstack (toolstack/xl/xlcmd.c), cmocka + ASan/UBSan.
 * Tests: word splitting with quotes and its refusals; dispatch of every
 * command to a mock toolstack (which records calls) with options and
 * domain qualifiers; `xl list` text checked literally and against xl's
 * own format string run through the host printf (float time included);
 * `xl info` text literally, and its one-key filter; xl's error messages
 * and exit statuses; create with a config file, overrides, -n/-p/-c and
 * diagnostics (vcpus, maxvcpus, cpus); `xl vcpu-list` literally and
 * against xl's format strings and print_bitmap through the host printf,
 * the CPU map format, `xl vcpu-pin` and `xl vcpu-set` with xl's checks
 * and messages; `xl block-list/-attach/-detach`; `xl hypercalls`
 * (Xenolith's) table and errors; random
 * typed lines never crash it.
 * Links: xlcmd.c, xlcfg.c, hv/shared/format.c, hv/shared/hcstat.c.
 * Mocks: struct xlcmd_ops over three domains (Domain-0, web, db) and
 * a small file table; output captured per fd.
 */
/* sysctl.h is a tools interface: it wants __XEN_TOOLS__ and the latest
 * interface version. */
#define __XEN_TOOLS__ 1
#undef __XEN_INTERFACE_VERSION__
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/errno.h>
#include <xen/sysctl.h>
#include "../../toolstack/xl/xlcmd.h"

_Static_assert(XLCMD_CAP_HVM == XEN_SYSCTL_PHYSCAP_hvm, "hvm");
_Static_assert(XLCMD_CAP_PV == XEN_SYSCTL_PHYSCAP_pv, "pv");
_Static_assert(XLCMD_CAP_DIRECTIO == XEN_SYSCTL_PHYSCAP_directio, "directio");
_Static_assert(XLCMD_CAP_HAP == XEN_SYSCTL_PHYSCAP_hap, "hap");
_Static_assert(XLCMD_CAP_SHADOW == XEN_SYSCTL_PHYSCAP_shadow, "shadow");
_Static_assert(XLCMD_CAP_IOMMU_HAP_PT_SHARE == XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share, "iommu");
_Static_assert(XLCMD_CAP_VMTRACE == XEN_SYSCTL_PHYSCAP_vmtrace, "vmtrace");
_Static_assert(XLCMD_CAP_VPMU == XEN_SYSCTL_PHYSCAP_vpmu, "vpmu");
_Static_assert(XLCMD_CAP_GNTTAB_V1 == XEN_SYSCTL_PHYSCAP_gnttab_v1, "gnttab1");
_Static_assert(XLCMD_CAP_GNTTAB_V2 == XEN_SYSCTL_PHYSCAP_gnttab_v2, "gnttab2");

/* ---- mock toolstack ---- */
static char out1[16384], out2[16384];
static size_t len1, len2;
static char calls[1024];
static struct xlcmd_dominfo doms[3];
static int ndoms;
static int fail_rc;
static unsigned int host_max_cpu_id;
static struct xlcfg created;
static int created_paused;

static void io_write(void *opaque, int fd, const char *s, size_t n)
{
    char *b = fd == 1 ? out1 : out2;
    size_t *l = fd == 1 ? &len1 : &len2;
    (void)opaque;
    assert_true(fd == 1 || fd == 2);
    assert_true(*l + n < sizeof(out1));
    memcpy(b + *l, s, n);
    *l += n;
    b[*l] = '\0';
}

static void note(const char *fmt, ...)
{
    va_list ap;
    size_t l = strlen(calls);
    va_start(ap, fmt);
    vsnprintf(calls + l, sizeof(calls) - l, fmt, ap);
    va_end(ap);
}

static const char cfgfile[] =
    "name = 'web2'\nkernel = '/boot/domu.elf'\nmemory = 64\ncmdline = 'console=hvc0'\n";
static const char badfile[] = "name = 'x'\nmemory = lots\n";

static int m_read_file(void *ctx, const char *path, const char **data, size_t *len)
{
    (void)ctx;
    note("read(%s) ", path);
    if (!strcmp(path, "web2.cfg")) {
        *data = cfgfile;
        *len = sizeof(cfgfile) - 1;
        return 0;
    }
    if (!strcmp(path, "bad.cfg")) {
        *data = badfile;
        *len = sizeof(badfile) - 1;
        return 0;
    }
    return -XL_ENOENT;
}
static int m_create(void *ctx, const struct xlcfg *cfg, int paused, uint32_t *domid)
{
    (void)ctx;
    note("create(%s,%d) ", cfg->name, paused);
    created = *cfg;
    created_paused = paused;
    *domid = 7;
    return fail_rc;
}
static int m_list(void *ctx, struct xlcmd_dominfo *out, unsigned int max)
{
    int i;
    (void)ctx;
    for (i = 0; i < ndoms && (unsigned int)i < max; i++)
        out[i] = doms[i];
    return i;
}
static int m_destroy(void *ctx, uint32_t d) { (void)ctx; note("destroy(%u) ", d); return fail_rc; }
static int m_pause(void *ctx, uint32_t d) { (void)ctx; note("pause(%u) ", d); return fail_rc; }
static int m_unpause(void *ctx, uint32_t d) { (void)ctx; note("unpause(%u) ", d); return fail_rc; }
static int m_shutdown(void *ctx, uint32_t d, int wait)
{
    (void)ctx;
    note("shutdown(%u,%d) ", d, wait);
    return fail_rc;
}
static int m_console(void *ctx, uint32_t d, int t) { (void)ctx; note("console(%u,%d) ", d, t); return 0; }
static int m_hostinfo(void *ctx, struct xlcmd_hostinfo *h)
{
    (void)ctx;
    strcpy(h->host, "xenolith");
    strcpy(h->release, "6.1.0-xen");
    strcpy(h->version, "#1 SMP");
    strcpy(h->machine, "x86_64");
    h->nr_cpus = host_max_cpu_id + 1; h->max_cpu_id = host_max_cpu_id; h->nr_nodes = 1;
    h->cores_per_socket = 1; h->threads_per_core = 1;
    h->cpu_khz = 2400123;
    h->hw_cap[0] = 0x178bfbff; h->hw_cap[1] = 0xf6f83203; h->hw_cap[7] = 0x1;
    h->caps = XLCMD_CAP_PV | XLCMD_CAP_GNTTAB_V1;
    h->total_pages = 262144;          /* 1 GiB */
    h->free_pages = 100000;
    h->outstanding_pages = 256;
    h->free_cpus = 0;
    h->xen_major = 4; h->xen_minor = 17;
    strcpy(h->xen_extra, ".0-xenolith");
    strcpy(h->xen_caps, "xen-3.0-x86_64");
    strcpy(h->scheduler, "credit");
    h->pagesize = 4096;
    h->virt_start = 0xffff800000000000ULL;
    strcpy(h->changeset, "unavailable");
    strcpy(h->commandline, "console=com1");
    strcpy(h->compiler, "gcc (Debian 12.2.0-14) 12.2.0");
    strcpy(h->compile_by, "root");
    strcpy(h->compile_domain, "local");
    strcpy(h->compile_date, "Mon Jan  1 00:00:00 UTC 2024");
    strcpy(h->build_id, "0123abcd");
    return fail_rc;
}
static int m_dmesg(void *ctx, int clear, const struct xlcmd_io *io)
{
    (void)ctx;
    note("dmesg(%d) ", clear);
    io->write(io->opaque, 1, "(XEN) hello\n", 12);
    return 0;
}

static int m_hypercalls(void *ctx, uint32_t d, struct hcstat_counts *c)
{
    (void)ctx;
    note("hypercalls(%u) ", d);
    if (d != 0 && d != 3 && d != 12)
        return -XL_ESRCH;
    memset(c, 0, sizeof(*c));
    c->calls[1] = 5000;                               /* mmu_update */
    c->calls[12] = 4;                                 /* memory_op, ... */
    c->sub[HCS_BASE_memory_op + 6] = 3;               /* populate_physmap */
    c->calls[26] = 1;                                 /* mmuext_op: ops */
    c->sub[HCS_BASE_mmuext_op + 3] = 1;               /* PIN_L4_TABLE */
    c->sub[HCS_BASE_mmuext_op + 6] = 20;              /* TLB_FLUSH_LOCAL */
    c->calls[32] = 2;                                 /* event_channel_op */
    c->sub[HCS_LAST_event_channel_op] = 2;            /* 15+ */
    c->calls[60] = 1;
    c->calls[HCSTAT_OTHER_CALL] = 7;
    return fail_rc;
}

/* vcpus of the mock domains: Domain-0 1, web (3) 2, db (12) 3 */
static struct xlcmd_vcpuinfo vinfo[3][3];
static int m_vcpu_list(void *ctx, uint32_t d, struct xlcmd_vcpuinfo *out, unsigned int max)
{
    (void)ctx;
    note("vcpu_list(%u) ", d);
    int k = d == 0 ? 0 : d == 3 ? 1 : d == 12 ? 2 : -1;
    if (k < 0)
        return -XL_ESRCH;
    if (fail_rc)
        return fail_rc;
    unsigned int n = (unsigned int)k + 1;
    for (unsigned int i = 0; i < n && i < max; i++)
        out[i] = vinfo[k][i];
    return (int)n;
}
static int m_vcpu_pin(void *ctx, uint32_t d, int v, const uint64_t *hard, const uint64_t *soft,
                      int force)
{
    (void)ctx;
    note("vcpu_pin(%u,%d,", d, v);
    if (hard)
        note("%#llx,", (unsigned long long)*hard);
    else
        note("-,");
    if (soft)
        note("%#llx,%d) ", (unsigned long long)*soft, force);
    else
        note("-,%d) ", force);
    return fail_rc;
}
static int m_vcpu_set(void *ctx, uint32_t d, unsigned int n)
{
    (void)ctx;
    note("vcpu_set(%u,%u) ", d, n);
    return fail_rc;
}
/* The credit scheduler: weight/cap per mock domain (by index), Pool-0. */
static uint16_t m_weight[3], m_cap[3];
static unsigned int m_tslice, m_ratelimit, m_migr;
static int dom_index(uint32_t d)
{
    for (int i = 0; i < ndoms; i++)
        if (doms[i].domid == d)
            return i;
    return -1;
}
static int m_sc_get(void *ctx, uint32_t d, uint16_t *w, uint16_t *c, unsigned int *nv)
{
    (void)ctx;
    int i = dom_index(d);
    if (i < 0)
        return -XL_ESRCH;
    *w = m_weight[i];
    *c = m_cap[i];
    *nv = i == 2 ? 4 : i == 0 ? 2 : 1;
    return 0;
}
static int m_sc_set(void *ctx, uint32_t d, uint16_t w, uint16_t c)
{
    (void)ctx;
    note("sc_set(%u,%u,%u) ", d, w, c);
    int i = dom_index(d);
    if (i < 0)
        return -XL_ESRCH;
    if (fail_rc)
        return fail_rc;
    m_weight[i] = w;
    m_cap[i] = c;
    return 0;
}
static int m_sp_get(void *ctx, unsigned int *t, unsigned int *r, unsigned int *m)
{
    (void)ctx;
    *t = m_tslice, *r = m_ratelimit, *m = m_migr;
    return 0;
}
static int m_sp_set(void *ctx, unsigned int t, unsigned int r, unsigned int m)
{
    (void)ctx;
    note("sp_set(%u,%u,%u) ", t, r, m);
    m_tslice = t, m_ratelimit = r, m_migr = m;
    return fail_rc;
}

static int m_block_list(void *ctx, uint32_t d, struct xlcmd_blkinfo *out, unsigned int max)
{
    (void)ctx;
    note("block_list(%u) ", d);
    if (d != 3 || max < 2)
        return 0;
    out[0] = (struct xlcmd_blkinfo){ .devid = 51712, .backend_id = 0, .frontend_id = 3,
                                     .state = 4, .evtchn = 13, .ring_ref = 8 };
    strcpy(out[0].backend, "/local/domain/0/backend/vbd/3/51712");
    out[1] = (struct xlcmd_blkinfo){ .devid = 51728, .backend_id = 0, .frontend_id = 3,
                                     .state = 1, .evtchn = -1, .ring_ref = -1 };
    strcpy(out[1].backend, "/local/domain/0/backend/vbd/3/51728");
    return 2;
}
static int m_block_attach(void *ctx, uint32_t d, const struct xldisk *disk)
{
    (void)ctx;
    note("attach(%u,%u,%s,%s) ", d, disk->devid, disk->target, disk->readonly ? "ro" : "rw");
    return fail_rc;
}
static int m_block_detach(void *ctx, uint32_t d, uint32_t devid)
{
    (void)ctx;
    note("detach(%u,%u) ", d, devid);
    return devid == 51712 || devid == 51728 ? fail_rc : -XL_ENOENT;
}

static const struct xlcmd_ops ops = {
    .read_file = m_read_file, .create = m_create, .list = m_list, .destroy = m_destroy,
    .pause = m_pause, .unpause = m_unpause, .shutdown = m_shutdown, .console = m_console,
    .hostinfo = m_hostinfo, .dmesg = m_dmesg, .hypercalls = m_hypercalls,
    .vcpu_list = m_vcpu_list, .vcpu_pin = m_vcpu_pin, .vcpu_set = m_vcpu_set,
    .sched_credit_get = m_sc_get, .sched_credit_set = m_sc_set,
    .sched_credit_params_get = m_sp_get, .sched_credit_params_set = m_sp_set,
    .block_list = m_block_list, .block_attach = m_block_attach, .block_detach = m_block_detach,
};
static struct xlcmd xl;

static int setup(void **state)
{
    static const struct xlcmd_io io = { io_write, NULL };
    (void)state;
    len1 = len2 = 0;
    out1[0] = out2[0] = calls[0] = '\0';
    fail_rc = 0;
    memset(doms, 0, sizeof(doms));
    strcpy(doms[0].name, "Domain-0");
    doms[0].domid = 0; doms[0].current_memkb = 4096 * 1024; doms[0].vcpu_online = 2;
    doms[0].running = 1; doms[0].cpu_time_ns = 12345678901ULL;
    strcpy(doms[1].name, "web");
    doms[1].domid = 3; doms[1].current_memkb = 131072; doms[1].outstanding_memkb = 1024;
    doms[1].vcpu_online = 1; doms[1].blocked = 1; doms[1].paused = 1;
    doms[1].cpu_time_ns = 50000000;
    strcpy(doms[2].name, "db");
    doms[2].domid = 12; doms[2].current_memkb = 65536; doms[2].vcpu_online = 4;
    doms[2].shutdown = 1; doms[2].shutdown_reason = 3; doms[2].dying = 1;
    doms[2].cpu_time_ns = 987654321987ULL;
    ndoms = 3;
    host_max_cpu_id = 0;
    memset(vinfo, 0, sizeof(vinfo));
    vinfo[0][0] = (struct xlcmd_vcpuinfo){ .vcpuid = 0, .cpu = 0, .online = 1, .running = 1,
                                           .time_ns = 12345678901ULL, .hard = ~0ULL, .soft = ~0ULL };
    vinfo[1][0] = (struct xlcmd_vcpuinfo){ .vcpuid = 0, .cpu = 1, .online = 1, .blocked = 1,
                                           .time_ns = 50000000, .hard = 0xf, .soft = 0xf };
    vinfo[1][1] = (struct xlcmd_vcpuinfo){ .vcpuid = 1, .cpu = 0, .online = 0,
                                           .time_ns = 0, .hard = 0x2, .soft = ~0ULL };
    vinfo[2][0] = (struct xlcmd_vcpuinfo){ .vcpuid = 0, .cpu = 3, .online = 1,
                                           .time_ns = 987654321987ULL, .hard = 0xd, .soft = 0x2 };
    vinfo[2][1] = (struct xlcmd_vcpuinfo){ .vcpuid = 1, .cpu = 2, .online = 1, .blocked = 1,
                                           .time_ns = 16777217, .hard = 0x6, .soft = 0 };
    vinfo[2][2] = (struct xlcmd_vcpuinfo){ .vcpuid = 2, .cpu = 0, .online = 0,
                                           .time_ns = 1, .hard = 0x8, .soft = 0x9 };
    m_weight[0] = m_weight[1] = m_weight[2] = 256;
    m_cap[0] = m_cap[1] = m_cap[2] = 0;
    m_tslice = 30, m_ratelimit = 1000, m_migr = 0;
    xlcmd_init(&xl, &ops, NULL, &io);
    return 0;
}

static int run(const char *line)
{
    char buf[512];
    len1 = len2 = 0;
    out1[0] = out2[0] = calls[0] = '\0';
    snprintf(buf, sizeof(buf), "%s", line);
    return xlcmd_run_line(&xl, buf);
}

/* ---- splitting ---- */

static void test_split(void **state)
{
    char line[256], *argv[8];
    (void)state;

    strcpy(line, "  xl  create 'my guest.cfg'\t\"a \\\"b\\\" \\\\ c\" x'y z'w e\\ f  ");
    assert_int_equal(xlcmd_split(line, argv, 8), 6);
    assert_string_equal(argv[0], "xl");
    assert_string_equal(argv[1], "create");
    assert_string_equal(argv[2], "my guest.cfg");
    assert_string_equal(argv[3], "a \"b\" \\ c");
    assert_string_equal(argv[4], "xy zw");
    assert_string_equal(argv[5], "e f");
    assert_null(argv[6]);
    strcpy(line, "''  \"\"");
    assert_int_equal(xlcmd_split(line, argv, 8), 2);
    assert_string_equal(argv[0], "");
    assert_string_equal(argv[1], "");
    strcpy(line, "   \t ");
    assert_int_equal(xlcmd_split(line, argv, 8), 0);
    assert_null(argv[0]);
    strcpy(line, "a 'b");
    assert_int_equal(xlcmd_split(line, argv, 8), -XL_EINVAL);
    strcpy(line, "a \"b\\\"");
    assert_int_equal(xlcmd_split(line, argv, 8), -XL_EINVAL);
    strcpy(line, "a b\\");
    assert_int_equal(xlcmd_split(line, argv, 8), -XL_EINVAL);
    strcpy(line, "1 2 3 4 5 6 7");
    assert_int_equal(xlcmd_split(line, argv, 8), 7);
    strcpy(line, "1 2 3 4 5 6 7 8");
    assert_int_equal(xlcmd_split(line, argv, 8), -XL_E2BIG);
}

/* ---- list ---- */

static const char header[] = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n";

static void xl_line(char *buf, size_t size, const struct xlcmd_dominfo *d)
{
    /* xl 4.17's list_domains() format, run by the host printf */
    static const char letters[] = "-rscwS";
    unsigned int reason = d->shutdown ? d->shutdown_reason : 0;
    snprintf(buf, size, "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f\n",
             d->name, (int)d->domid,
             (unsigned long)((d->current_memkb + d->outstanding_memkb) / 1024),
             (int)d->vcpu_online,
             d->running ? 'r' : '-', d->blocked ? 'b' : '-', d->paused ? 'p' : '-',
             d->shutdown ? 's' : '-',
             reason < sizeof(letters) - 1 ? letters[reason] : '?',
             d->dying ? 'd' : '-', ((float)d->cpu_time_ns / 1e9));
}

static void test_list(void **state)
{
    char want[2048], l[256];
    int i;
    (void)state;

    assert_int_equal(run("xl list"), 0);
    assert_string_equal(out1,
        "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
        "Domain-0                                     0  4096     2     r-----      12.3\n"
        "web                                          3   129     1     -bp---       0.1\n"
        "db                                          12    64     4     ---scd     987.7\n");
    assert_string_equal(out2, "");
    strcpy(want, header);
    for (i = 0; i < 3; i++) {
        xl_line(l, sizeof(l), &doms[i]);
        strcat(want, l);
    }
    assert_string_equal(out1, want);

    assert_int_equal(run("list web"), 0);
    xl_line(l, sizeof(l), &doms[1]);
    snprintf(want, sizeof(want), "%s%s", header, l);
    assert_string_equal(out1, want);
    assert_int_equal(run("list 12"), 0);
    assert_non_null(strstr(out1, "db "));

    assert_int_equal(run("list nosuch"), 1);
    assert_string_equal(out1, "");
    assert_string_equal(out2, "nosuch is an invalid domain identifier (rc=-6)\n");
    assert_int_equal(run("list 5"), 1);
    assert_string_equal(out2, "Error: Domain '5' does not exist.\n");
    assert_int_equal(run("list 99999"), 1);
    assert_string_equal(out2, "99999 is an invalid domain identifier (rc=-6)\n");
    assert_int_equal(run("list -v"), 2);
    assert_string_equal(out2, "option `v' not supported.\n");
    assert_int_equal(run("list a b"), 1);
    assert_non_null(strstr(out1, "Usage: xl list"));
}

static void test_list_states_and_times(void **state)
{
    static const uint64_t fixed[] = { 0, 49999999, 50000000, 149999999, 16777216,
        16777217, 33554431, 1099511627775ULL, 999999999999ULL, 1234567890123ULL,
        18446744073709551615ULL, 18446744073709551615ULL >> 1 };
    struct xlcmd_dominfo *d = &doms[0];
    char want[256];
    uint64_t seed = 88172645463325252ULL;
    unsigned int r;
    int i;
    (void)state;

    ndoms = 1;
    /* every shutdown reason letter, and an unknown one */
    for (r = 0; r < 8; r++) {
        memset(d, 0, sizeof(*d));
        strcpy(d->name, "x");
        d->shutdown = 1;
        d->shutdown_reason = r;
        assert_int_equal(run("list"), 0);
        xl_line(want, sizeof(want), d);
        assert_string_equal(out1 + strlen(header), want);
    }
    assert_non_null(strstr(out1, "---s?-"));
    /* cpu times against (float)ns / 1e9 printed with %8.1f */
    for (i = 0; i < 6000; i++) {
        memset(d, 0, sizeof(*d));
        strcpy(d->name, "t");
        if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
            d->cpu_time_ns = fixed[i];
        } else if (i < 3000) {     /* exact .x5 ties and their neighbours */
            uint64_t k = (uint64_t)i * (i % 3 ? 1 : 7919);
            d->cpu_time_ns = k * 100000000ULL + 50000000ULL + (uint64_t)(i % 5) - 2;
        } else {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            d->cpu_time_ns = seed >> (seed % 60);
        }
        assert_int_equal(run("list"), 0);
        xl_line(want, sizeof(want), d);
        if (strcmp(out1 + strlen(header), want))
            fail_msg("ns=%llu: got %s want %s", (unsigned long long)d->cpu_time_ns,
                     out1 + strlen(header), want);
    }
    /* a name longer than the column pushes the rest, as in xl */
    memset(d, 0, sizeof(*d));
    memset(d->name, 'n', 50);
    assert_int_equal(run("list"), 0);
    xl_line(want, sizeof(want), d);
    assert_string_equal(out1 + strlen(header), want);
}

/* ---- info ---- */

static void test_info(void **state)
{
    (void)state;
    assert_int_equal(run("xl info"), 0);
    assert_string_equal(out1,
        "host                   : xenolith\n"
        "release                : 6.1.0-xen\n"
        "version                : #1 SMP\n"
        "machine                : x86_64\n"
        "nr_cpus                : 1\n"
        "max_cpu_id             : 0\n"
        "nr_nodes               : 1\n"
        "cores_per_socket       : 1\n"
        "threads_per_core       : 1\n"
        "cpu_mhz                : 2400.123\n"
        "hw_caps                : 178bfbff:f6f83203:00000000:00000000:00000000:00000000:00000000:00000001\n"
        "virt_caps              : pv gnttab-v1\n"
        "total_memory           : 1024\n"
        "free_memory            : 389\n"
        "sharing_freed_memory   : 0\n"
        "sharing_used_memory    : 0\n"
        "outstanding_claims     : 1\n"
        "free_cpus              : 0\n"
        "xen_major              : 4\n"
        "xen_minor              : 17\n"
        "xen_extra              : .0-xenolith\n"
        "xen_version            : 4.17.0-xenolith\n"
        "xen_caps               : xen-3.0-x86_64\n"
        "xen_scheduler          : credit\n"
        "xen_pagesize           : 4096\n"
        "platform_params        : virt_start=0xffff800000000000\n"
        "xen_changeset          : unavailable\n"
        "xen_commandline        : console=com1\n"
        "cc_compiler            : gcc (Debian 12.2.0-14) 12.2.0\n"
        "cc_compile_by          : root\n"
        "cc_compile_domain      : local\n"
        "cc_compile_date        : Mon Jan  1 00:00:00 UTC 2024\n"
        "build_id               : 0123abcd\n"
        "xend_config_format     : 4\n");
    /* xl info NAME prints the values of the lines that start with NAME */
    assert_int_equal(run("xl info free_memory"), 0);
    assert_string_equal(out1, "389\n");
    assert_int_equal(run("xl info xen_m"), 0);
    assert_string_equal(out1, "4\n17\n");
    assert_int_equal(run("xl info nothing"), 0);
    assert_string_equal(out1, "");
    fail_rc = -XL_EPERM;
    assert_int_equal(run("xl info"), 1);
    assert_string_equal(out2, "libxl_physinfo failed.\n");
}

/* ---- domain commands ---- */

static void test_domain_ops(void **state)
{
    (void)state;
    assert_int_equal(run("xl pause web"), 0);
    assert_string_equal(calls, "pause(3) ");
    assert_int_equal(run("xl unpause 3"), 0);
    assert_string_equal(calls, "unpause(3) ");
    assert_int_equal(run("xl destroy db"), 0);
    assert_string_equal(calls, "destroy(12) ");
    assert_int_equal(run("xl destroy Domain-0"), 1);
    assert_string_equal(calls, "");
    assert_string_equal(out2, "Not destroying domain 0; use -f to force.\n"
                              "This can only be done when using a disaggregated "
                              "hardware domain and toolstack.\n\n");
    assert_int_equal(run("xl destroy -f 0"), 0);
    assert_string_equal(calls, "destroy(0) ");
    assert_int_equal(run("xl destroy"), 2);
    assert_non_null(strstr(out2, "'xl destroy' requires at least 1 argument.\n\n"));
    assert_non_null(strstr(out1, "Usage: xl destroy"));
    assert_int_equal(run("xl pause ghost"), 1);
    assert_string_equal(out2, "ghost is an invalid domain identifier (rc=-6)\n");
    fail_rc = -XL_ESRCH;
    assert_int_equal(run("xl pause 9"), 1);
    assert_string_equal(out2, "pause failed (rc=-3)\n");
    fail_rc = 0;

    assert_int_equal(run("xl shutdown -w web"), 0);
    assert_string_equal(calls, "shutdown(3,1) ");
    assert_string_equal(out2, "Shutting down domain 3\n");
    assert_int_equal(run("xl shutdown -a"), 0);
    assert_string_equal(calls, "shutdown(3,0) shutdown(12,0) ");
    assert_int_equal(run("xl shutdown"), 1);
    assert_string_equal(out2, "You must specify -a or a domain id.\n\n");

    assert_int_equal(run("xl console web"), 0);
    assert_string_equal(calls, "console(3,0) ");
    assert_int_equal(run("xl console -t pv -n 0 db"), 0);
    assert_string_equal(calls, "console(12,1) ");
    assert_int_equal(run("xl console -t serial db"), 0);
    assert_string_equal(calls, "console(12,2) ");
    assert_int_equal(run("xl console -t vuart db"), 2);
    assert_string_equal(calls, "");
    assert_int_equal(run("xl console -t com9 db"), 2);
    assert_string_equal(calls, "");
    assert_int_equal(run("xl console -t"), 2);
    assert_string_equal(out2, "option `t' needs an argument.\n");

    assert_int_equal(run("xl dmesg -c"), 0);
    assert_string_equal(calls, "dmesg(1) ");
    assert_string_equal(out1, "(XEN) hello\n");
}

/* xl sched-credit: Xen 4.17's output, libxl's range checks and xl's
 * option errors. */
static void test_sched_credit(void **state)
{
    (void)state;
    static const char hdr[] = "Name                                ID Weight  Cap\n";
    assert_int_equal(run("xl sched-credit"), 0);
    assert_string_equal(out1, "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n"
                              "Name                                ID Weight  Cap\n"
                              "Domain-0                             0    256    0\n"
                              "web                                  3    256    0\n"
                              "db                                  12    256    0\n");
    assert_int_equal(run("xl sched-credit -d web -w 512"), 0);
    assert_string_equal(calls, "sc_set(3,512,0) ");
    assert_int_equal(run("xl sched-credit -d 3 -c 25"), 0);
    assert_string_equal(calls, "sc_set(3,512,25) ");
    assert_int_equal(run("xl sched-credit -d web"), 0);
    assert_string_equal(out1, "Name                                ID Weight  Cap\n"
                              "web                                  3    512   25\n");
    assert_int_equal(run("xl sched-credit -d db -w 65535 -c 400"), 0); /* 4 vcpus */
    assert_string_equal(calls, "sc_set(12,65535,400) ");
    assert_int_equal(run("xl sched-credit -d db -c -1"), 0); /* libxl's "default": unchanged */
    assert_string_equal(calls, "sc_set(12,65535,400) ");
    assert_string_equal(out2, "");

    /* libxl's ranges: weight 1..65535, cap 0..100 x vcpus; nothing set */
    assert_int_equal(run("xl sched-credit -d web -w 0"), 1);
    assert_string_equal(calls, "");
    assert_string_equal(out2, "libxl: error: libxl_sched.c:238:sched_credit_domain_set: Domain 3:"
                              "Cpu weight out of range, valid values are within range from 1 to "
                              "65535\nlibxl_domain_sched_params_set failed.\n");
    assert_int_equal(run("xl sched-credit -d web -w 65536"), 1);
    assert_string_equal(calls, "");
    assert_int_equal(run("xl sched-credit -d web -w abc"), 1); /* strtol: 0 */
    assert_string_equal(calls, "");
    assert_int_equal(run("xl sched-credit -d web -c 101"), 1);
    assert_string_equal(calls, "");
    assert_string_equal(out2, "libxl: error: libxl_sched.c:248:sched_credit_domain_set: Domain 3:"
                              "Cpu cap out of range, valid range is from 0 to 100 for specified "
                              "number of vcpus\nlibxl_domain_sched_params_set failed.\n");
    assert_int_equal(run("xl sched-credit -d db -c 401"), 1);
    assert_non_null(strstr(out2, "valid range is from 0 to 400 for specified"));
    assert_int_equal(run("xl sched-credit -d web -c -2"), 1);
    assert_string_equal(calls, "");
    fail_rc = -XL_EINVAL;
    assert_int_equal(run("xl sched-credit -d web -w 7"), 1);
    assert_string_equal(out2, "libxl: error: libxl_sched.c:258:sched_credit_domain_set: Domain 3:"
                              "Setting domain sched credit (rc=-22)\n"
                              "libxl_domain_sched_params_set failed.\n");
    fail_rc = 0;
    assert_int_equal(run("xl sched-credit -d web"), 0);
    assert_string_equal(out1, "Name                                ID Weight  Cap\n"
                              "web                                  3    512   25\n");

    /* xl's own errors */
    assert_int_equal(run("xl sched-credit -w 3"), 1);
    assert_string_equal(out2, "Must specify a domain.\n");
    assert_int_equal(run("xl sched-credit -s -d web"), 1);
    assert_string_equal(out2, "Specifying a cpupool or schedparam is not allowed with domain "
                              "options.\n");
    assert_int_equal(run("xl sched-credit -t 5"), 1);
    assert_string_equal(out2, "Must specify schedparam to set schedule parameter values.\n");
    assert_int_equal(run("xl sched-credit -d ghost"), 1);
    assert_string_equal(out2, "ghost is an invalid domain identifier (rc=-6)\n");
    assert_int_equal(run("xl sched-credit -d 9"), 1);
    assert_string_equal(out1, hdr);
    assert_string_equal(out2, "libxl_domain_sched_params_get failed.\n");
    assert_int_equal(run("xl sched-credit -x"), 2);
    assert_string_equal(out2, "option `x' not supported.\n");
    assert_int_equal(run("xl sched-credit -p Pool-1"), 1);
    assert_string_equal(out2, "unknown cpupool 'Pool-1'\n");

    /* Pool-0's parameters */
    assert_int_equal(run("xl sched-credit -s"), 0);
    assert_string_equal(out1, "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n");
    assert_int_equal(run("xl sched-credit -s -t 10 -r 500"), 0);
    assert_string_equal(calls, "sp_set(10,500,0) ");
    assert_int_equal(run("xl sched-credit -s -t 1001"), 1);
    assert_string_equal(calls, "");
    assert_string_equal(out2, "libxl: error: libxl_sched.c:311:libxl_sched_credit_params_set: "
                              "Time slice out of range, valid range is from 1 to 1000\n"
                              "libxl_sched_credit_params_set failed.\n");
    assert_int_equal(run("xl sched-credit -s -r 99"), 1);
    assert_string_equal(calls, "");
    assert_int_equal(run("xl sched-credit -s -t 1 -r 1001"), 1);
    assert_non_null(strstr(out2, "Ratelimit cannot be greater than timeslice"));
    assert_int_equal(run("xl sched-credit -s -m 100001"), 1);
    assert_string_equal(calls, "");
    assert_int_equal(run("xl sched-credit -s -p Pool-0"), 0);
    assert_string_equal(out1, "Cpupool Pool-0: tslice=10ms ratelimit=500us migration-delay=0us\n");
}

static void test_create(void **state)
{
    (void)state;
    assert_int_equal(run("xl create web2.cfg"), 0);
    assert_string_equal(out2, "Parsing config from web2.cfg\n");
    assert_string_equal(calls, "read(web2.cfg) create(web2,0) ");
    assert_int_equal(created.memory_mib, 64);
    assert_string_equal(created.cmdline, "console=hvc0");

    assert_int_equal(run("xl create -p -c web2.cfg 'memory = 96' vcpus=2"), 0);
    assert_string_equal(calls, "read(web2.cfg) create(web2,1) console(7,0) ");
    assert_int_equal(created.memory_mib, 96);
    assert_int_equal(created.vcpus, 2);

    assert_int_equal(run("xl create web2.cfg -q maxmem=32"), 1);
    assert_string_equal(out2, "<command line>:1: maxmem: 32 MiB is less than memory (64 MiB)\n");
    assert_string_equal(calls, "read(web2.cfg) ");

    assert_int_equal(run("xl create -n web2.cfg"), 0);
    assert_string_equal(calls, "read(web2.cfg) ");
    assert_string_equal(out1, "name = \"web2\"\ntype = \"pv\"\nmemory = 64\nmaxmem = 64\n"
                              "vcpus = 1\nmaxvcpus = 1\nkernel = \"/boot/domu.elf\"\n"
                              "cmdline = \"console=hvc0\"\non_poweroff = \"destroy\"\n"
                              "on_reboot = \"restart\"\non_watchdog = \"destroy\"\n"
                              "on_crash = \"destroy\"\non_soft_reset = \"soft-reset\"\n");

    /* vcpus, maxvcpus and cpus from the command line: cpus as given */
    assert_int_equal(run("xl create -n web2.cfg vcpus=2 maxvcpus=3 'cpus=\"0-3,^1\"'"), 0);
    assert_non_null(strstr(out1, "vcpus = 2\nmaxvcpus = 3\nkernel = \"/boot/domu.elf\"\n"
                                 "cpus = \"0,2-3\"\ncmdline"));
    assert_int_equal(run("xl create -n web2.cfg maxvcpus=3 'cpus=[\"1\", \"all\"]' "
                         "'cpus_soft=\"2\"'"), 0);
    assert_non_null(strstr(out1, "cpus = [\"1\", \"all\"]\ncpus_soft = \"2\"\ncmdline"));
    assert_int_equal(created.nr_cpus_hard, 0);      /* -n creates nothing */
    assert_int_equal(run("xl create web2.cfg vcpus=2 'cpus=\"3\"'"), 0);
    assert_int_equal(created.vcpus, 2);
    assert_int_equal(created.maxvcpus, 2);
    assert_int_equal(created.nr_cpus_hard, XLCFG_MAX_VCPUS);
    assert_int_equal(created.cpus_hard[1], 0x8);
    assert_int_equal(run("xl create web2.cfg 'cpus=\"^3\"'"), 1);
    assert_string_equal(out2, "Parsing config from web2.cfg\n<command line>:1: cpus: `^3' is no "
                              "CPU (vcpu hard affinity map is empty)\n");

    assert_int_equal(run("xl create bad.cfg"), 1);
    assert_string_equal(out2, "Parsing config from bad.cfg\n"
                              "bad.cfg:2: memory: bare word `lots' (strings need quotes)\n"
                              "bad.cfg: kernel: not set (a PV guest needs a kernel)\n");
    assert_string_equal(calls, "read(bad.cfg) ");

    assert_int_equal(run("xl create missing.cfg"), 1);
    assert_string_equal(out2, "Parsing config from missing.cfg\nFailed to read config file: missing.cfg (rc=-2)\n");

    fail_rc = -XL_ENOMEM;
    assert_int_equal(run("xl create -f web2.cfg"), 1);
    assert_string_equal(out2, "Parsing config from web2.cfg\nFailed to create domain web2 (rc=-12)\n");
    fail_rc = 0;

    assert_int_equal(run("xl create"), 2);
    assert_non_null(strstr(out1, "Usage: xl create"));
    assert_int_equal(run("xl create a.cfg b.cfg"), 2);
}

static void test_hypercalls(void **state)
{
    (void)state;
    assert_int_equal(run("xl hypercalls web"), 0);
    assert_string_equal(calls, "hypercalls(3) ");
    assert_string_equal(out1,
        "Domain 3: 5015 hypercalls\n"
        "Hypercall                    Sub-op                                    Count\n"
        "mmu_update                   -                                          5000\n"
        "mmuext_op                    TLB_FLUSH_LOCAL                              20\n"
        "hypercall_64+                -                                             7\n"
        "memory_op                    populate_physmap                              3\n"
        "event_channel_op             15+                                           2\n"
        "memory_op                    ?                                             1\n"
        "mmuext_op                    PIN_L4_TABLE                                  1\n"
        "hypercall_60                 -                                             1\n");
    assert_string_equal(out2, "");
    assert_int_equal(run("xl hypercalls 0"), 0);
    assert_int_equal(run("xl hypercalls 9"), 1);
    assert_string_equal(out2, "Error: Domain '9' does not exist.\n");
    assert_int_equal(run("xl hypercalls nosuch"), 1);
    assert_string_equal(out2, "nosuch is an invalid domain identifier (rc=-6)\n");
    assert_int_equal(run("xl hypercalls"), 2);
    fail_rc = -XL_EPERM;
    assert_int_equal(run("xl hypercalls db"), 1);
    assert_string_equal(out2, "Unable to read the hypercall counts of domain 12 (rc=-1)\n");
    fail_rc = 0;
    assert_int_equal(run("xl help"), 0);
    assert_non_null(strstr(out1, "\n hypercalls          Show a domain's hypercall counts"));
}

/* ---- vcpus ---- */

/* xl's print_bitmap over a byte map, as an oracle: runs of set bits,
 * "all" for one run from 0 to the end, "none" for nothing. */
static void oracle_bitmap(char *out, size_t size, uint64_t m, int nbits)
{
    uint8_t map[8];
    int i, first = 1, start = -1;
    size_t l = 0;
    for (i = 0; i < 8; i++)
        map[i] = (uint8_t)(m >> (8 * i));
    out[0] = '\0';
    for (i = 0; i <= nbits; i++) {
        int set = i < nbits && (map[i / 8] >> (i % 8)) & 1;
        if (set && start < 0)
            start = i;
        if (!set && start >= 0) {
            if (start == 0 && i == nbits) {
                snprintf(out, size, "all");
                return;
            }
            l += (size_t)snprintf(out + l, size - l, start == i - 1 ? "%s%d" : "%s%d-%d",
                                  first ? "" : ",", start, i - 1);
            first = 0;
            start = -1;
        }
    }
    if (first)
        snprintf(out, size, "none");
}

/* xl's print_vcpuinfo through the host printf (float time included). */
static void oracle_vcpu(char *out, size_t size, const char *name, uint32_t domid,
                        const struct xlcmd_vcpuinfo *v, int nbits)
{
    char h[200], so[200];
    int n = snprintf(out, size, "%-32s %5u %5u", name, domid, v->vcpuid);
    if (!v->online)
        n += snprintf(out + n, size - (size_t)n, "%5c %3c%cp ", '-', '-', '-');
    else
        n += snprintf(out + n, size - (size_t)n, "%5u %3c%c- ", v->cpu, v->running ? 'r' : '-',
                      v->blocked ? 'b' : '-');
    oracle_bitmap(h, sizeof(h), v->hard, nbits);
    oracle_bitmap(so, sizeof(so), v->soft, nbits);
    snprintf(out + n, size - (size_t)n, "%9.1f  %s / %s\n", (float)v->time_ns / 1e9, h, so);
}

static void test_cpumap_format(void **state)
{
    static const uint64_t maps[] = { 0, 1, 2, 3, 0xf, 0xe, 0xd, 0x5, 0x8000000000000001ULL,
        ~0ULL, 0x7fffffffffffffffULL, 0xff00ff00ff00ff00ULL, 0x2a };
    static const int widths[] = { 1, 2, 3, 4, 7, 8, 9, 16, 63, 64 };
    char got[256], want[256];
    (void)state;
    xlcmd_format_cpumap(got, sizeof(got), 0, 4);
    assert_string_equal(got, "none");
    xlcmd_format_cpumap(got, sizeof(got), 0xf, 4);
    assert_string_equal(got, "all");
    xlcmd_format_cpumap(got, sizeof(got), ~0ULL, 4);   /* bits past the CPUs ignored */
    assert_string_equal(got, "all");
    xlcmd_format_cpumap(got, sizeof(got), 0xe, 4);
    assert_string_equal(got, "1-3");
    xlcmd_format_cpumap(got, sizeof(got), 0xd, 4);
    assert_string_equal(got, "0,2-3");
    xlcmd_format_cpumap(got, sizeof(got), 0x3, 4);
    assert_string_equal(got, "0-1");
    xlcmd_format_cpumap(got, sizeof(got), 0x2a, 8);
    assert_string_equal(got, "1,3,5");
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
        for (size_t j = 0; j < sizeof(widths) / sizeof(widths[0]); j++) {
            xlcmd_format_cpumap(got, sizeof(got), maps[i], (unsigned int)widths[j]);
            oracle_bitmap(want, sizeof(want), maps[i], widths[j]);
            assert_string_equal(got, want);
        }
    xlcmd_format_cpumap(got, 4, 0x2a, 8);   /* truncated, terminated */
    assert_int_equal(strlen(got), 3);
}

static void test_vcpu_list(void **state)
{
    static const char hdr[] =
        "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n";
    char want[4096], l[256];
    (void)state;
    host_max_cpu_id = 3;
    assert_int_equal(run("xl vcpu-list"), 0);
    assert_string_equal(out1, "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
        "Domain-0                             0     0    0   r--      12.3  all / all\n"
        "web                                  3     0    1   -b-       0.1  all / all\n"
        "web                                  3     1    -   --p       0.0  1 / all\n"
        "db                                  12     0    3   ---     987.7  0,2-3 / 1\n"
        "db                                  12     1    2   -b-       0.0  1-2 / none\n"
        "db                                  12     2    -   --p       0.0  3 / 0,3\n");
    assert_string_equal(out2, "");
    /* the same through xl's format strings and the host printf */
    strcpy(want, hdr);
    const char *names[] = { "Domain-0", "web", "db" };
    const uint32_t ids[] = { 0, 3, 12 };
    for (int k = 0; k < 3; k++)
        for (int i = 0; i <= k; i++) {
            oracle_vcpu(l, sizeof(l), names[k], ids[k], &vinfo[k][i], 4);
            strcat(want, l);
        }
    assert_string_equal(out1, want);
    char h[128];
    snprintf(h, sizeof(h), "%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU",
             "State", "Time(s)", "Affinity (Hard / Soft)");
    assert_string_equal(h, hdr);
    /* one domain by name, two by id; the host's CPU count sets the width */
    host_max_cpu_id = 1;
    assert_int_equal(run("vcpu-list web"), 0);
    assert_string_equal(out1, "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
        "web                                  3     0    1   -b-       0.1  all / all\n"
        "web                                  3     1    -   --p       0.0  1 / all\n");
    assert_int_equal(run("vcpu-list 12 0"), 0);
    assert_non_null(strstr(out1, "db                                  12     0    3   ---     987.7  0 / 1\n"));
    assert_non_null(strstr(out1, "Domain-0                             0     0    0   r--"));
    assert_string_equal(calls, "vcpu_list(12) vcpu_list(0) ");
    /* errors */
    assert_int_equal(run("vcpu-list nosuch"), 1);
    assert_string_equal(out2, "nosuch is an invalid domain identifier (rc=-6)\n");
    assert_int_equal(run("vcpu-list 5"), 0);        /* xl goes on; libxl says why */
    assert_string_equal(out2, "libxl_list_vcpu failed for domain 5 (rc=-3).\n");
    fail_rc = -XL_EIO;
    assert_int_equal(run("vcpu-list"), 0);
    assert_string_equal(out2, "libxl_physinfo failed.\n");
    assert_int_equal(run("vcpu-list -x"), 2);
}

static void test_vcpu_pin(void **state)
{
    (void)state;
    assert_int_equal(run("xl vcpu-pin web 1 0-2,^1"), 0);
    assert_string_equal(calls, "vcpu_pin(3,1,0x5,-,0) ");
    assert_int_equal(run("vcpu-pin web all all 3"), 0);
    assert_string_equal(calls, "vcpu_pin(3,-1,0xffffffffffffffff,0x8,0) ");
    assert_int_equal(run("vcpu-pin web 0 - 1,2"), 0);
    assert_string_equal(calls, "vcpu_pin(3,0,-,0x6,0) ");
    assert_int_equal(run("vcpu-pin web 0 3 -"), 0);
    assert_string_equal(calls, "vcpu_pin(3,0,0x8,-,0) ");
    assert_int_equal(run("vcpu-pin -f 3 2 node:0"), 0);
    assert_string_equal(calls, "vcpu_pin(3,2,0xffffffffffffffff,-,1) ");
    assert_int_equal(run("vcpu-pin --force 3 2 1"), 0);
    assert_string_equal(calls, "vcpu_pin(3,2,0x2,-,1) ");
    assert_int_equal(run("vcpu-pin web 1abc 1"), 0);          /* strtol: leading digits */
    assert_string_equal(calls, "vcpu_pin(3,1,0x2,-,0) ");
    /* refusals, each with xl's line, nothing set */
    assert_int_equal(run("vcpu-pin web x 1"), 1);
    assert_string_equal(out2, "Error: Invalid argument x as VCPU.\n");
    assert_int_equal(run("vcpu-pin web -1 1"), 2);            /* -1 reads as an option */
    assert_int_equal(run("vcpu-pin -f web all 1"), 1);
    assert_string_equal(out2, "Error: --force and 'all' as VCPU not allowed.\n");
    assert_int_equal(run("vcpu-pin web 0 3-1"), 1);
    assert_string_equal(out2, "Invalid pcpu range: 3-1.\n");
    assert_int_equal(run("vcpu-pin web 0 ^all"), 1);
    assert_string_equal(out2, "Can't combine \"^\" and \"all\".\n");
    assert_int_equal(run("vcpu-pin web 0 1 x"), 1);
    assert_string_equal(out2, "Invalid pcpu range: x.\n");
    assert_int_equal(run("vcpu-pin web 0 ^1"), 1);
    assert_string_equal(out2, "vcpu hard affinity map is empty\n");
    assert_int_equal(run("vcpu-pin web 0 64"), 1);
    assert_string_equal(out2, "Invalid pcpu range: 64 (CPUs 0 to 63).\n");
    assert_string_equal(calls, "");
    assert_int_equal(run("vcpu-pin -i web 0 ^1"), 0);         /* -i: the hv decides */
    assert_string_equal(calls, "vcpu_pin(3,0,0,-,0) ");
    assert_int_equal(run("vcpu-pin web 0"), 2);
    assert_non_null(strstr(out2, "'xl vcpu-pin' requires at least 3 arguments."));
    assert_int_equal(run("vcpu-pin nosuch 0 1"), 1);
    /* the toolstack refuses */
    fail_rc = -XL_EINVAL;
    assert_int_equal(run("vcpu-pin web 1 3"), 1);
    assert_string_equal(out2, "Could not set affinity for vcpu `1'.\n");
    assert_int_equal(run("vcpu-pin web all 3"), 0);           /* xl: message, success */
    assert_string_equal(out2, "Could not set affinity.\n");
}

static void test_vcpu_set(void **state)
{
    (void)state;
    host_max_cpu_id = 1;                 /* two CPUs */
    assert_int_equal(run("xl vcpu-set db 2"), 0);
    assert_string_equal(calls, "vcpu_list(12) vcpu_set(12,2) ");
    assert_int_equal(run("vcpu-set web 2"), 0);
    assert_string_equal(calls, "vcpu_list(3) vcpu_set(3,2) ");
    assert_int_equal(run("vcpu-set 12 3"), 0);   /* above the host, not above online (4) */
    assert_string_equal(calls, "vcpu_list(12) vcpu_set(12,3) ");
    /* more than the host's CPUs and than are online: refused without -i */
    assert_int_equal(run("vcpu-set web 3"), 1);
    assert_string_equal(out2, "You are overcommmitting! You have 2 physical CPUs and want 3 "
                              "vCPUs! Aborting, use --ignore-host to continue\n");
    assert_string_equal(calls, "");
    /* -i: libxl's own checks: more than max_vcpus, zero */
    assert_int_equal(run("vcpu-set -i web 3"), 1);
    assert_string_equal(out2,
        "libxl: error: libxl_set_vcpuonline: Domain 3:Requested 3 VCPUs, however maxcpus is 2!\n"
        "libxl_set_vcpuonline failed domid=3 max_vcpus=3, rc: -3\n");
    assert_int_equal(run("vcpu-set --ignore-host web 0"), 1);
    assert_string_equal(out2,
        "libxl: error: libxl_set_vcpuonline: Domain 3:Requested 0 VCPUs!\n"
        "libxl_set_vcpuonline failed domid=3 max_vcpus=0, rc: -3\n");
    assert_string_equal(calls, "vcpu_list(3) ");
    assert_int_equal(run("vcpu-set -i db 3"), 0);
    assert_string_equal(calls, "vcpu_list(12) vcpu_set(12,3) ");
    /* bad counts, bad domains */
    assert_int_equal(run("vcpu-set web x"), 1);
    assert_string_equal(out2, "Error: Invalid argument.\n");
    assert_int_equal(run("vcpu-set web 2147483648"), 1);
    assert_string_equal(out2, "Error: Invalid argument.\n");
    assert_int_equal(run("vcpu-set web 1x"), 0);   /* strtoul: leading digits */
    assert_string_equal(calls, "vcpu_list(3) vcpu_set(3,1) ");
    assert_int_equal(run("vcpu-set 5 1"), 1);
    assert_string_equal(out2, "Domain 5 does not exist.\n");
    assert_int_equal(run("vcpu-set nosuch 1"), 1);
    assert_int_equal(run("vcpu-set web"), 2);
    fail_rc = -XL_EIO;
    assert_int_equal(run("vcpu-set -i web 1"), 1);
    assert_string_equal(out2, "libxl_set_vcpuonline failed domid=3 max_vcpus=1, rc: -5\n");
}

static void test_help_and_errors(void **state)
{
    (void)state;
    assert_int_equal(run("xl help"), 0);
    assert_non_null(strstr(out1, "Usage xl <subcommand> [args]\n\nxl full list of subcommands:\n\n"));
    assert_non_null(strstr(out1, "\n create              "));
    assert_non_null(strstr(out1, "\n dmesg               "));
    assert_int_equal(run("xl"), 2);
    assert_non_null(strstr(out1, "xl full list of subcommands"));
    assert_int_equal(run(""), 0);
    assert_string_equal(out1, "");
    assert_int_equal(run("xl frobnicate"), 1);
    assert_string_equal(out2, "command not implemented\n");
    assert_int_equal(run("xl list -h"), 0);
    assert_string_equal(out1, "Usage: xl list [Domain]\n\nList all domains, or one.\n\n");
    assert_int_equal(run("xl help nope"), 0);
    assert_string_equal(out1, "command \"nope\" not implemented\n");
    assert_int_equal(run("xl list 'unterminated"), 2);
    assert_string_equal(out2, "xl: unterminated quote or trailing backslash\n");

    /* a toolstack without some ops */
    {
        static const struct xlcmd_ops few = { .list = m_list };
        static const struct xlcmd_io io = { io_write, NULL };
        xlcmd_init(&xl, &few, NULL, &io);
        assert_int_equal(run("xl pause web"), 1);
        assert_string_equal(out2, "xl pause: not available in this toolstack\n");
        assert_int_equal(run("xl info"), 1);
        assert_int_equal(run("xl create web2.cfg"), 1);
        assert_int_equal(run("xl list"), 0);
    }
}

static void test_fuzz_lines(void **state)
{
    static const char *const words[] = { "xl", "create", "list", "destroy", "pause",
        "unpause", "console", "info", "dmesg", "shutdown", "help", "hypercalls", "-a", "-w", "-c",
        "-p", "-n", "-f", "-t", "--", "-", "web", "0", "12", "99999", "'", "\"",
        "\\", "web2.cfg", "bad.cfg", "memory=1", "x=[", "-h", "--help", "-zz" };
    uint64_t seed = 0x1234567ULL;
    char line[600];
    int iter, k;
    (void)state;

    for (iter = 0; iter < 20000; iter++) {
        size_t o = 0;
        int n;
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        n = (int)(seed % 40);
        for (k = 0; k < n && o < 500; k++) {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            if (seed & 0x100000)
                line[o++] = (char)(seed >> 24);
            else
                o += (size_t)snprintf(line + o, sizeof(line) - o, "%s ",
                                      words[(seed >> 8) % (sizeof(words) / sizeof(words[0]))]);
        }
        line[o] = '\0';
        len1 = len2 = 0;
        out1[0] = out2[0] = calls[0] = '\0';
        k = xlcmd_run_line(&xl, line);
        assert_true(k >= 0 && k <= 2);
    }
}

/* xl block-list / block-attach / block-detach: xl_block.c's columns
 * (checked against its format string through the host printf), the spec
 * words joined with commas, vdev names or numbers, xl's messages. */
static void test_block(void **state)
{
    char want[512];
    (void)state;
    assert_int_equal(run("xl block-list web"), 0);
    assert_string_equal(calls, "block_list(3) ");
    int n = snprintf(want, sizeof(want), "%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE",
                     "handle", "state", "evt-ch", "ring-ref", "BE-path");
    n += snprintf(want + n, sizeof(want) - n, "%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n", 51712, 0, 3,
                  4, 13, 8, "/local/domain/0/backend/vbd/3/51712");
    snprintf(want + n, sizeof(want) - n, "%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n", 51728, 0, 3, 1,
             -1, -1, "/local/domain/0/backend/vbd/3/51728");
    assert_string_equal(out1, want);
    assert_int_equal(run("xl block-list web db"), 0);
    assert_string_equal(calls, "block_list(3) block_list(12) ");
    assert_int_equal(run("xl block-list nosuch"), 1);
    assert_string_equal(out2, "nosuch is an invalid domain identifier (rc=-6)\n");
    assert_int_equal(run("xl block-list"), 2);

    assert_int_equal(run("xl block-attach web 'vdev=xvdb, target=vda:1M+1M'"), 0);
    assert_string_equal(calls, "attach(3,51728,vda:1M+1M,rw) ");
    assert_int_equal(run("xl block-attach 3 vdev=xvdc access=ro target=ram0"), 0);
    assert_string_equal(calls, "attach(3,51744,ram0,ro) ");
    assert_int_equal(run("xl block-attach web 'vdev=hdz, target=vda'"), 1);
    assert_string_equal(out2, "vdev=hdz: not a virtual device name (xvda, xvdb1, sda, hda...)\n");
    assert_string_equal(calls, "");
    assert_int_equal(run("xl block-attach web vdev=xvdb"), 1);
    assert_string_equal(out2, "no target= (a dom0 block device, e.g. vda:16M+32M)\n");
    fail_rc = -XL_EEXIST;
    assert_int_equal(run("xl block-attach web vdev=xvda target=vda"), 1);
    assert_string_equal(out2, "libxl_device_disk_add failed (rc=-17).\n");
    fail_rc = 0;
    assert_int_equal(run("xl block-attach web"), 2);

    assert_int_equal(run("xl block-detach web xvdb"), 0);
    assert_string_equal(calls, "detach(3,51728) ");
    assert_int_equal(run("xl block-detach web 51712"), 0);
    assert_string_equal(calls, "detach(3,51712) ");
    assert_int_equal(run("xl block-detach web xvdz"), 1);
    assert_string_equal(out2, "Error: Device xvdz not connected.\n");
    assert_int_equal(run("xl block-detach web floppy"), 1);
    assert_string_equal(out2, "Error: Device floppy not connected.\n");
    assert_string_equal(calls, "");
    assert_int_equal(run("xl block-detach web 99999999999"), 1);
    assert_string_equal(calls, "");
    assert_int_equal(run("xl block-detach web"), 2);

    /* xl create -n shows the disks as parsed */
    assert_int_equal(run("xl create -n web2.cfg \"disk=['vdev=xvdb,target=vda:1M+1M', "
                         "'access=ro,vdev=xvdc,target=ram0']\""), 0);
    assert_non_null(strstr(out1, "disk = [ 'vdev=xvdb, access=rw, target=vda:1M+1M',\n"
                                 "         'vdev=xvdc, access=ro, target=ram0' ]\n"));
    assert_int_equal(run("xl create -n web2.cfg \"disk=['vdev=xvdb']\""), 1);
    assert_non_null(strstr(out2, "<command line>:1: disk: no target= (a dom0 block device, e.g. "
                                 "vda:16M+32M)\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_split, setup),
        cmocka_unit_test_setup(test_list, setup),
        cmocka_unit_test_setup(test_list_states_and_times, setup),
        cmocka_unit_test_setup(test_info, setup),
        cmocka_unit_test_setup(test_domain_ops, setup),
        cmocka_unit_test_setup(test_sched_credit, setup),
        cmocka_unit_test_setup(test_create, setup),
        cmocka_unit_test_setup(test_hypercalls, setup),
        cmocka_unit_test_setup(test_cpumap_format, setup),
        cmocka_unit_test_setup(test_vcpu_list, setup),
        cmocka_unit_test_setup(test_vcpu_pin, setup),
        cmocka_unit_test_setup(test_vcpu_set, setup),
        cmocka_unit_test_setup(test_block, setup),
        cmocka_unit_test_setup(test_help_and_errors, setup),
        cmocka_unit_test_setup(test_fuzz_lines, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
