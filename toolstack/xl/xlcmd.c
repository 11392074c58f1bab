/*
 * xlcmd.c - the `xl` command front end of the dom0 toolstack (xlcmd.h).
 * Owns: words from a typed line, subcommand dispatch and options, domain
 * qualifiers, and the exact text of xl's answers (list, info, errors).
 * Must never: act on a domain other than through x->ops, allocate, read
 * or write outside its buffers, or let a typed line crash it.
 */
#include <stdarg.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include "xlcmd.h"

/* libxl's ERROR_INVAL: what xl prints for a bad domain qualifier. */
#define LIBXL_ERROR_INVAL (-6)
#define DOMID_FIRST_RESERVED 0x7ff0u

/* ---- output ---- */

static void xputs(struct xlcmd *x, int fd, const char *s)
{
    if (x->io.write)
        x->io.write(x->io.opaque, fd, s, strlen(s));
}

static void xprintf(struct xlcmd *x, int fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xprintf(struct xlcmd *x, int fd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    xl_vsnprintf(x->line, sizeof(x->line), fmt, ap);
    va_end(ap);
    xputs(x, fd, x->line);
}

/* ---- words ---- */

int xlcmd_split(char *line, char **argv, int max)
{
    char *r = line, *w = line;
    int argc = 0;

    if (max < 1)
        return -XL_E2BIG;
    for (;;) {
        while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
            r++;
        if (!*r)
            break;
        if (argc >= max - 1)
            return -XL_E2BIG;
        argv[argc++] = w;
        while (*r && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n') {
            if (*r == '\'') {
                r++;
                while (*r && *r != '\'')
                    *w++ = *r++;
                if (!*r)
                    return -XL_EINVAL;
                r++;
            } else if (*r == '"') {
                r++;
                while (*r && *r != '"') {
                    if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
                        r++;
                    *w++ = *r++;
                }
                if (!*r)
                    return -XL_EINVAL;
                r++;
            } else if (*r == '\\') {
                if (!r[1])
                    return -XL_EINVAL;
                r++;
                *w++ = *r++;
            } else {
                *w++ = *r++;
            }
        }
        /* w <= r always: the terminator never clobbers unread input
         * unless it sits where r is, which is a separator or the end. */
        if (*r)
            r++;
        *w++ = '\0';
    }
    argv[argc] = NULL;
    return argc;
}

/* ---- commands ---- */

struct cmd {
    const char *name;
    int (*fn)(struct xlcmd *x, int argc, char **argv);
    const char *optstring;   /* getopt style; "h" is always accepted */
    int reqargs;
    const char *desc;
    const char *usage;
    const char *options;
};

/* Long options of a command: "name=c name2=d", --name is -c (no argument). */
static const char *longopts_of(const char *command)
{
    if (!strcmp(command, "vcpu-pin"))
        return "force=f ignore-global-affinity-masks=i";
    if (!strcmp(command, "vcpu-set"))
        return "ignore-host=i";
    return NULL;
}

static const struct cmd *lookup(const char *name);
static void help(struct xlcmd *x, const char *command);

/* Minimal getopt with xl's behaviour: options anywhere (permuted), "--"
 * ends them, -h prints the command's help (exit 0), an unknown option is
 * "option `c' not supported." (exit 2). Positionals are gathered in pos. */
struct opts {
    int npos;
    char *pos[XLCMD_MAX_ARGS];
    char seen[128];
    char *arg[128];
};

static int getopts(struct xlcmd *x, const struct cmd *c, int argc, char **argv,
                   struct opts *o)
{
    int i, ended = 0;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        if (ended || a[0] != '-' || !a[1]) {
            o->pos[o->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            ended = 1;
            continue;
        }
        if (!strcmp(a, "--help")) {
            help(x, c->name);
            return XLCMD_EXIT_OK + 100;
        }
        if (a[1] == '-') {
            const char *l = longopts_of(c->name);
            size_t n = strlen(a + 2);
            while (l && *l) {
                const char *eq = l;
                while (*eq && *eq != '=')
                    eq++;
                if (!*eq)
                    break;
                if ((size_t)(eq - l) == n && !memcmp(l, a + 2, n)) {
                    o->seen[(unsigned char)eq[1]] = 1;
                    break;
                }
                l = eq + 2;
                while (*l == ' ')
                    l++;
            }
            if (l && *l)
                continue;
            xprintf(x, 2, "option `%s' not supported.\n", a);
            return XLCMD_EXIT_USAGE;
        }
        for (a++; *a; a++) {
            const char *p = NULL, *s;
            unsigned char ch = (unsigned char)*a;
            if (ch == 'h') {
                help(x, c->name);
                return XLCMD_EXIT_OK + 100;
            }
            for (s = c->optstring; *s; s++)
                if (*s == *a && *s != ':') {
                    p = s;
                    break;
                }
            if (!p || ch >= 128) {
                if (ch > 0x20 && ch < 0x7f)
                    xprintf(x, 2, "option `%c' not supported.\n", ch);
                else
                    xputs(x, 2, "option not supported.\n");
                return XLCMD_EXIT_USAGE;
            }
            o->seen[ch] = 1;
            if (p[1] == ':') {
                if (a[1]) {
                    o->arg[ch] = a + 1;
                } else if (i + 1 < argc) {
                    o->arg[ch] = argv[++i];
                } else {
                    xprintf(x, 2, "option `%c' needs an argument.\n", ch);
                    return XLCMD_EXIT_USAGE;
                }
                break;
            }
        }
    }
    if (o->npos < c->reqargs) {
        xprintf(x, 2, "'xl %s' requires at least %d argument%s.\n\n",
                c->name, c->reqargs, c->reqargs > 1 ? "s" : "");
        help(x, c->name);
        return XLCMD_EXIT_USAGE;
    }
    return -1;
}

static int not_available(struct xlcmd *x, const char *what)
{
    xprintf(x, 2, "xl %s: not available in this toolstack\n", what);
    return XLCMD_EXIT_FAILURE;
}

static int list_domains(struct xlcmd *x)
{
    int n;

    if (!x->ops->list)
        return -XL_ENOSYS;
    n = x->ops->list(x->ctx, x->doms, XLCMD_MAX_DOMAINS);
    if (n > XLCMD_MAX_DOMAINS)
        n = XLCMD_MAX_DOMAINS;
    return n;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* libxl_domain_qualifier_to_domid: digits are a domid (not checked here),
 * anything else a name. Prints xl's message on failure. */
static int find_domain(struct xlcmd *x, const char *p, uint32_t *domid)
{
    const char *q = p;
    int i, n;

    if (all_digits(p)) {
        uint64_t v = 0;
        for (; *p && v < DOMID_FIRST_RESERVED; p++)
            v = v * 10 + (uint64_t)(*p - '0');
        if (!*p && v < DOMID_FIRST_RESERVED) {
            *domid = (uint32_t)v;
            return 0;
        }
    } else {
        n = list_domains(x);
        for (i = 0; i < n; i++) {
            x->doms[i].name[XLCMD_NAME_MAX - 1] = '\0';
            if (!strcmp(x->doms[i].name, p)) {
                *domid = x->doms[i].domid;
                return 0;
            }
        }
    }
    xprintf(x, 2, "%.64s is an invalid domain identifier (rc=%d)\n", q,
            LIBXL_ERROR_INVAL);
    return -1;
}

/* Does the double nearest to n/20 (n odd, not a multiple of 5) lie above
 * it? Same as: does n/5 round up to 53 significant bits. */
static int tie_double_above(uint64_t n)
{
    unsigned int k = 0;

    while (((n << k) / 5) < (1ULL << 52))
        k++;
    return (n << k) % 5 >= 3;
}

/* Seconds with one decimal exactly as printf("%8.1f", (float)ns / 1e9)
 * prints them, without floating point (dom0 is built without SSE): the
 * nanoseconds are rounded to a float's 24-bit mantissa, the quotient by
 * 1e9 to a double, and %.1f rounds that (half to even when exact). */
static void format_time(char *buf, size_t size, uint64_t ns)
{
    uint64_t v = ns, tenths, rem;
    unsigned int bits = 0;

    while (bits < 64 && (ns >> bits))
        bits++;
    if (bits > 24) {
        unsigned int sh = bits - 24;
        uint64_t half = 1ULL << (sh - 1), low = ns & ((1ULL << sh) - 1);
        v = ns >> sh;
        if (low > half || (low == half && (v & 1)))
            v++;
        if ((v >> 24) && bits == 64) {   /* 2^64 = 184467440737.09551616 tenths */
            xl_snprintf(buf, size, "18446744073.7");
            return;
        }
        v <<= sh;
    }
    tenths = v / 100000000ULL;
    rem = v % 100000000ULL;
    if (rem > 50000000ULL) {
        tenths++;
    } else if (rem == 50000000ULL) {
        uint64_t n = v / 50000000ULL;        /* odd: v/1e9 == n/20 */
        if (n % 5 == 0 ? (int)(tenths & 1) : tie_double_above(n))
            tenths++;
    }
    xl_snprintf(buf, size, "%llu.%llu", (unsigned long long)(tenths / 10),
                (unsigned long long)(tenths % 10));
}

void xlcmd_format_seconds(char *buf, size_t size, uint64_t ns)
{
    format_time(buf, size, ns);
}

/* Appends "N" or "N-M" (with a ',' before all but the first run). */
static void cpumap_run(char *buf, size_t size, size_t *len, int first, unsigned int lo,
                       unsigned int hi)
{
    int n;
    if (lo == hi)
        n = xl_snprintf(buf + *len, size - *len, "%s%u", first ? "" : ",", lo);
    else
        n = xl_snprintf(buf + *len, size - *len, "%s%u-%u", first ? "" : ",", lo, hi);
    if (n > 0)
        *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

void xlcmd_format_cpumap(char *buf, size_t size, uint64_t map, unsigned int nbits)
{
    size_t len = 0;
    unsigned int c = 0, runs = 0;

    if (!size)
        return;
    buf[0] = '\0';
    if (nbits > 64)
        nbits = 64;
    while (c < nbits) {
        if (!((map >> c) & 1)) {
            c++;
            continue;
        }
        unsigned int lo = c;
        while (c < nbits && ((map >> c) & 1))
            c++;
        if (lo == 0 && c == nbits) {   /* one run over every CPU */
            xl_snprintf(buf, size, "all");
            return;
        }
        cpumap_run(buf, size, &len, !runs++, lo, c - 1);
    }
    if (!runs)
        xl_snprintf(buf, size, "none");
}

static void print_domain(struct xlcmd *x, const struct xlcmd_dominfo *d)
{
    static const char reason_letters[] = "-rscwS";
    char t[32], num[32];
    unsigned int reason = d->shutdown ? d->shutdown_reason : 0;
    char name[XLCMD_NAME_MAX];

    memcpy(name, d->name, sizeof(name));
    name[sizeof(name) - 1] = '\0';
    format_time(num, sizeof(num), d->cpu_time_ns);
    xl_snprintf(t, sizeof(t), "%8s", num);
    xprintf(x, 1, "%-40s %5u %5lu %5u     %c%c%c%c%c%c  %s\n",
            name, d->domid,
            (unsigned long)((d->current_memkb + d->outstanding_memkb) / 1024),
            d->vcpu_online,
            d->running ? 'r' : '-', d->blocked ? 'b' : '-',
            d->paused ? 'p' : '-', d->shutdown ? 's' : '-',
            reason < sizeof(reason_letters) - 1 ? reason_letters[reason] : '?',
            d->dying ? 'd' : '-', t);
}

static int cmd_list(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    int rc, n, i;

    if ((rc = getopts(x, lookup("list"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (o.npos > 1) {
        help(x, "list");
        return XLCMD_EXIT_FAILURE;
    }
    if (!x->ops->list)
        return not_available(x, "list");
    n = list_domains(x);
    if (n < 0) {
        xputs(x, 2, "libxl_list_domain failed.\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (o.npos == 1) {
        uint32_t domid;
        if (find_domain(x, o.pos[0], &domid))
            return XLCMD_EXIT_FAILURE;
        n = list_domains(x);
        for (i = 0; i < n; i++)
            if (x->doms[i].domid == domid)
                break;
        if (i >= n || n < 0) {
            xprintf(x, 2, "Error: Domain '%s' does not exist.\n", o.pos[0]);
            return XLCMD_EXIT_FAILURE;
        }
        xputs(x, 1, "Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
        print_domain(x, &x->doms[i]);
        return XLCMD_EXIT_OK;
    }
    xputs(x, 1, "Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
    for (i = 0; i < n; i++)
        print_domain(x, &x->doms[i]);
    return XLCMD_EXIT_OK;
}

/* xl's maybe_printf: with a filter, only lines starting with it, and only
 * their value. */
static void info_line(struct xlcmd *x, const char *filter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void info_line(struct xlcmd *x, const char *filter, const char *fmt, ...)
{
    va_list ap;
    const char *s;

    va_start(ap, fmt);
    xl_vsnprintf(x->line, sizeof(x->line), fmt, ap);
    va_end(ap);
    if (!filter) {
        xputs(x, 1, x->line);
        return;
    }
    if (!strncmp(x->line, filter, strlen(filter))) {
        for (s = x->line; *s && *s != ':'; s++)
            ;
        if (*s == ':' && s[1] == ' ')
            xputs(x, 1, s + 2);
    }
}

static int cmd_info(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    struct xlcmd_hostinfo *h = &x->host;
    const char *f;
    int rc;
    uint32_t c;

    if ((rc = getopts(x, lookup("info"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->hostinfo)
        return not_available(x, "info");
    memset(h, 0, sizeof(*h));
    rc = x->ops->hostinfo(x->ctx, h);
    if (rc) {
        xputs(x, 2, "libxl_physinfo failed.\n");
        return XLCMD_EXIT_FAILURE;
    }
    /* the ops fill fixed arrays; make sure they are strings */
    h->host[64] = h->release[64] = h->version[64] = h->machine[64] = '\0';
    h->xen_extra[15] = '\0';
    h->xen_caps[1023] = h->commandline[1023] = '\0';
    h->scheduler[31] = h->changeset[63] = h->compiler[63] = '\0';
    h->compile_by[15] = h->compile_domain[31] = h->compile_date[31] = '\0';
    h->build_id[79] = '\0';
    f = o.npos > 0 ? o.pos[0] : NULL;
    c = h->caps;

    info_line(x, f, "host                   : %s\n", h->host);
    info_line(x, f, "release                : %s\n", h->release);
    info_line(x, f, "version                : %s\n", h->version);
    info_line(x, f, "machine                : %s\n", h->machine);
    info_line(x, f, "nr_cpus                : %d\n", (int)h->nr_cpus);
    info_line(x, f, "max_cpu_id             : %d\n", (int)h->max_cpu_id);
    info_line(x, f, "nr_nodes               : %d\n", (int)h->nr_nodes);
    info_line(x, f, "cores_per_socket       : %d\n", (int)h->cores_per_socket);
    info_line(x, f, "threads_per_core       : %d\n", (int)h->threads_per_core);
    info_line(x, f, "cpu_mhz                : %d.%03d\n", (int)(h->cpu_khz / 1000),
              (int)(h->cpu_khz % 1000));
    info_line(x, f, "hw_caps                : %08x:%08x:%08x:%08x:%08x:%08x:%08x:%08x\n",
              h->hw_cap[0], h->hw_cap[1], h->hw_cap[2], h->hw_cap[3],
              h->hw_cap[4], h->hw_cap[5], h->hw_cap[6], h->hw_cap[7]);
    info_line(x, f, "virt_caps              :%s%s%s%s%s%s%s%s%s%s%s\n",
              c & XLCMD_CAP_PV ? " pv" : "",
              c & XLCMD_CAP_HVM ? " hvm" : "",
              (c & XLCMD_CAP_HVM) && (c & XLCMD_CAP_DIRECTIO) ? " hvm_directio" : "",
              (c & XLCMD_CAP_PV) && (c & XLCMD_CAP_DIRECTIO) ? " pv_directio" : "",
              c & XLCMD_CAP_HAP ? " hap" : "",
              c & XLCMD_CAP_SHADOW ? " shadow" : "",
              c & XLCMD_CAP_IOMMU_HAP_PT_SHARE ? " iommu_hap_pt_share" : "",
              c & XLCMD_CAP_VMTRACE ? " vmtrace" : "",
              c & XLCMD_CAP_VPMU ? " vpmu" : "",
              c & XLCMD_CAP_GNTTAB_V1 ? " gnttab-v1" : "",
              c & XLCMD_CAP_GNTTAB_V2 ? " gnttab-v2" : "");
    if (h->pagesize && h->pagesize <= (1u << 20)) {
        uint64_t per_mib = (1u << 20) / h->pagesize;
        uint64_t free = h->free_pages > h->outstanding_pages
                        ? h->free_pages - h->outstanding_pages : 0;
        info_line(x, f, "total_memory           : %llu\n", (unsigned long long)(h->total_pages / per_mib));
        info_line(x, f, "free_memory            : %llu\n", (unsigned long long)(free / per_mib));
        info_line(x, f, "sharing_freed_memory   : %llu\n", (unsigned long long)(h->sharing_freed_pages / per_mib));
        info_line(x, f, "sharing_used_memory    : %llu\n", (unsigned long long)(h->sharing_used_frames / per_mib));
        info_line(x, f, "outstanding_claims     : %llu\n", (unsigned long long)(h->outstanding_pages / per_mib));
    }
    info_line(x, f, "free_cpus              : %d\n", (int)h->free_cpus);
    info_line(x, f, "xen_major              : %d\n", h->xen_major);
    info_line(x, f, "xen_minor              : %d\n", h->xen_minor);
    info_line(x, f, "xen_extra              : %s\n", h->xen_extra);
    info_line(x, f, "xen_version            : %d.%d%s\n", h->xen_major, h->xen_minor, h->xen_extra);
    info_line(x, f, "xen_caps               : %s\n", h->xen_caps);
    info_line(x, f, "xen_scheduler          : %s\n", h->scheduler);
    info_line(x, f, "xen_pagesize           : %u\n", h->pagesize);
    info_line(x, f, "platform_params        : virt_start=0x%llx\n", (unsigned long long)h->virt_start);
    info_line(x, f, "xen_changeset          : %s\n", h->changeset);
    info_line(x, f, "xen_commandline        : %s\n", h->commandline);
    info_line(x, f, "cc_compiler            : %s\n", h->compiler);
    info_line(x, f, "cc_compile_by          : %s\n", h->compile_by);
    info_line(x, f, "cc_compile_domain      : %s\n", h->compile_domain);
    info_line(x, f, "cc_compile_date        : %s\n", h->compile_date);
    info_line(x, f, "build_id               : %s\n", h->build_id);
    info_line(x, f, "xend_config_format     : 4\n");
    return XLCMD_EXIT_OK;
}

static int one_domain_op(struct xlcmd *x, int argc, char **argv, const char *name,
                         int (*op)(void *ctx, uint32_t domid))
{
    struct opts o;
    uint32_t domid;
    int rc;

    if ((rc = getopts(x, lookup(name), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!op)
        return not_available(x, name);
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    if (!strcmp(name, "destroy") && domid == 0 && !o.seen['f']) {
        xputs(x, 2, "Not destroying domain 0; use -f to force.\n"
                    "This can only be done when using a disaggregated "
                    "hardware domain and toolstack.\n\n");
        return XLCMD_EXIT_FAILURE;
    }
    rc = op(x->ctx, domid);
    if (rc) {
        xprintf(x, 2, "%s failed (rc=%d)\n", name, rc);
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

static int cmd_destroy(struct xlcmd *x, int argc, char **argv)
{
    return one_domain_op(x, argc, argv, "destroy", x->ops->destroy);
}
static int cmd_pause(struct xlcmd *x, int argc, char **argv)
{
    return one_domain_op(x, argc, argv, "pause", x->ops->pause);
}
static int cmd_unpause(struct xlcmd *x, int argc, char **argv)
{
    return one_domain_op(x, argc, argv, "unpause", x->ops->unpause);
}

static int cmd_shutdown(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc, i, n, wait, failed = 0;

    if ((rc = getopts(x, lookup("shutdown"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!o.npos && !o.seen['a']) {
        xputs(x, 2, "You must specify -a or a domain id.\n\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (!x->ops->shutdown)
        return not_available(x, "shutdown");
    wait = o.seen['w'];
    if (o.seen['a']) {
        n = list_domains(x);
        if (n < 0) {
            xputs(x, 2, "libxl_list_domain failed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        for (i = 0; i < n; i++) {
            if (x->doms[i].domid == 0)
                continue;
            xprintf(x, 2, "Shutting down domain %u\n", x->doms[i].domid);
            rc = x->ops->shutdown(x->ctx, x->doms[i].domid, wait);
            if (rc) {
                xprintf(x, 2, "shutdown failed (rc=%d)\n", rc);
                failed = 1;
            }
        }
        return failed ? XLCMD_EXIT_FAILURE : XLCMD_EXIT_OK;
    }
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    xprintf(x, 2, "Shutting down domain %u\n", domid);
    rc = x->ops->shutdown(x->ctx, domid, wait);
    if (rc) {
        xprintf(x, 2, "shutdown failed (rc=%d)\n", rc);
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

static int cmd_console(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc;

    if ((rc = getopts(x, lookup("console"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (o.npos < 1) {
        help(x, "console");
        return XLCMD_EXIT_USAGE;
    }
    int type = XLCMD_CONSOLE_DEFAULT;
    if (o.seen['t']) {
        if (!strcmp(o.arg['t'], "pv")) {
            type = XLCMD_CONSOLE_PV;
        } else if (!strcmp(o.arg['t'], "serial")) {
            type = XLCMD_CONSOLE_SERIAL;
        } else if (!strcmp(o.arg['t'], "vuart")) {
            xprintf(x, 2, "console type %s is not supported (pv, serial)\n", o.arg['t']);
            return XLCMD_EXIT_USAGE;
        } else {
            xputs(x, 2, "console type supported are: pv, serial, vuart\n");
            return XLCMD_EXIT_USAGE;
        }
    }
    if (o.seen['n'] && strcmp(o.arg['n'], "0")) {
        xputs(x, 2, "only console number 0 is supported\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (!x->ops->console)
        return not_available(x, "console");
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    rc = x->ops->console(x->ctx, domid, type);
    if (rc) {
        xprintf(x, 2, "Unable to attach console (rc=%d)\n", rc);
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

static int cmd_dmesg(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    int rc;

    if ((rc = getopts(x, lookup("dmesg"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->dmesg)
        return not_available(x, "dmesg");
    rc = x->ops->dmesg(x->ctx, o.seen['c'], &x->io);
    return rc ? XLCMD_EXIT_FAILURE : XLCMD_EXIT_OK;
}

/* Xenolith's own: every non-zero hypercall count of a domain, largest
 * first, one per line: the hypercall's Xen name, the sub-op's (from the
 * public header constant; "-" for none, a number where it has no name,
 * "N+" for the row's "and above" slot, "?" for calls that failed before
 * their sub-op was read), the count. mmuext_op's lines count ops. */
static int cmd_hypercalls(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc;
    char sub[40];

    if ((rc = getopts(x, lookup("hypercalls"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->hypercalls)
        return not_available(x, "hypercalls");
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    rc = x->ops->hypercalls(x->ctx, domid, &x->hc);
    if (rc == -XL_ESRCH) {
        xprintf(x, 2, "Error: Domain '%.64s' does not exist.\n", o.pos[0]);
        return XLCMD_EXIT_FAILURE;
    }
    if (rc) {
        xprintf(x, 2, "Unable to read the hypercall counts of domain %u (rc=%d)\n", domid, rc);
        return XLCMD_EXIT_FAILURE;
    }
    unsigned int n = hcstat_top(&x->hc, x->hc_leaves, ARRAY_SIZE(x->hc_leaves));
    if (n > ARRAY_SIZE(x->hc_leaves))
        n = ARRAY_SIZE(x->hc_leaves);
    xprintf(x, 1, "Domain %u: %llu hypercalls\n", domid,
            (unsigned long long)hcstat_total(&x->hc));
    xprintf(x, 1, "%-28s %-32s %14s\n", "Hypercall", "Sub-op", "Count");
    for (unsigned int i = 0; i < n; i++) {
        const struct hcstat_leaf *l = &x->hc_leaves[i];
        const char *name = hcstat_call_name(l->hc);
        char hc[24];
        if (l->hc == HCSTAT_OTHER_CALL)
            xl_snprintf(hc, sizeof(hc), "hypercall_64+");
        else if (name)
            xl_snprintf(hc, sizeof(hc), "%s", name);
        else
            xl_snprintf(hc, sizeof(hc), "hypercall_%u", l->hc);
        hcstat_leaf_subop(l, sub, sizeof(sub));
        xprintf(x, 1, "%-28s %-32s %14llu\n", hc, sub[0] ? sub : "-",
                (unsigned long long)l->count);
    }
    return XLCMD_EXIT_OK;
}

/* ---- vcpus ---- */

static int host_max_cpus(struct xlcmd *x, unsigned int *nr)
{
    if (!x->ops->hostinfo)
        return -XL_ENOSYS;
    memset(&x->host, 0, sizeof(x->host));
    int rc = x->ops->hostinfo(x->ctx, &x->host);
    if (rc)
        return rc;
    *nr = x->host.max_cpu_id + 1 > 64 ? 64 : x->host.max_cpu_id + 1;
    return 0;
}

/* xl's print_vcpuinfo: name, domain id, vcpu, CPU and state ("-  --p"
 * when offline), seconds, hard / soft affinity over the host's CPUs. */
static void print_vcpu(struct xlcmd *x, const char *name, uint32_t domid,
                       const struct xlcmd_vcpuinfo *v, unsigned int nr_cpus)
{
    char t[32], hard[200], soft[200], head[120];

    if (!v->online)
        xl_snprintf(head, sizeof(head), "%-32s %5u %5u%5c %3c%cp ", name, domid, v->vcpuid,
                    '-', '-', '-');
    else
        xl_snprintf(head, sizeof(head), "%-32s %5u %5u%5u %3c%c- ", name, domid, v->vcpuid,
                    v->cpu, v->running ? 'r' : '-', v->blocked ? 'b' : '-');
    format_time(t, sizeof(t), v->time_ns);
    xlcmd_format_cpumap(hard, sizeof(hard), v->hard, nr_cpus);
    xlcmd_format_cpumap(soft, sizeof(soft), v->soft, nr_cpus);
    xprintf(x, 1, "%s%9s  %s / %s\n", head, t, hard, soft);
}

static void print_domain_vcpus(struct xlcmd *x, uint32_t domid, const char *name,
                               unsigned int nr_cpus)
{
    int n = x->ops->vcpu_list(x->ctx, domid, x->vcpus, XLCMD_MAX_VCPUS);
    if (n < 0) {
        xprintf(x, 2, "libxl_list_vcpu failed for domain %u (rc=%d).\n", domid, n);
        return;
    }
    if (n > XLCMD_MAX_VCPUS)
        n = XLCMD_MAX_VCPUS;
    for (int i = 0; i < n; i++)
        print_vcpu(x, name, domid, &x->vcpus[i], nr_cpus);
}

static const char *domain_name(struct xlcmd *x, uint32_t domid, int n)
{
    for (int i = 0; i < n; i++)
        if (x->doms[i].domid == domid) {
            x->doms[i].name[XLCMD_NAME_MAX - 1] = '\0';
            return x->doms[i].name;
        }
    return "(null)";
}

static int cmd_vcpu_list(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    unsigned int nr_cpus;
    int rc, n, i;

    if ((rc = getopts(x, lookup("vcpu-list"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->vcpu_list || !x->ops->list)
        return not_available(x, "vcpu-list");
    if (host_max_cpus(x, &nr_cpus)) {
        xputs(x, 2, "libxl_physinfo failed.\n");
        return XLCMD_EXIT_OK;      /* xl: goes to its end, success */
    }
    xprintf(x, 1, "%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State",
            "Time(s)", "Affinity (Hard / Soft)");
    if (!o.npos) {
        n = list_domains(x);
        if (n < 0) {
            xputs(x, 2, "libxl_list_domain failed.\n");
            return XLCMD_EXIT_OK;
        }
        /* the ops fill x->vcpus only: x->doms stays as listed */
        for (i = 0; i < n; i++)
            print_domain_vcpus(x, x->doms[i].domid, domain_name(x, x->doms[i].domid, n), nr_cpus);
        return XLCMD_EXIT_OK;
    }
    for (i = 0; i < o.npos; i++) {
        uint32_t domid;
        char name[XLCMD_NAME_MAX];
        if (find_domain(x, o.pos[i], &domid))
            return XLCMD_EXIT_FAILURE;   /* xl's find_domain exits */
        n = list_domains(x);
        xl_snprintf(name, sizeof(name), "%s", domain_name(x, domid, n < 0 ? 0 : n));
        print_domain_vcpus(x, domid, name, nr_cpus);
    }
    return XLCMD_EXIT_OK;
}

/* strtol(s, &end, 10) >= 0 with at least one digit, as xl reads a VCPU. */
static int leading_number(const char *s, long *out)
{
    long v = 0;
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v > 100000000L ? v : v * 10 + (*p - '0');
    *out = v;
    return 0;
}

static int cmd_vcpu_pin(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    long vcpu = -1;
    uint64_t hard = 0, soft = 0;
    char err[96];
    int rc;

    if ((rc = getopts(x, lookup("vcpu-pin"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->vcpu_pin)
        return not_available(x, "vcpu-pin");
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    const char *v = o.pos[1], *hs = o.pos[2], *ss = o.npos > 3 ? o.pos[3] : NULL;
    if (leading_number(v, &vcpu)) {
        if (strcmp(v, "all")) {
            xprintf(x, 2, "Error: Invalid argument %.40s as VCPU.\n", v);
            return XLCMD_EXIT_FAILURE;
        }
        if (o.seen['f']) {
            xputs(x, 2, "Error: --force and 'all' as VCPU not allowed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        vcpu = -1;
    }
    int use_hard = strcmp(hs, "-") != 0, use_soft = ss && strcmp(ss, "-");
    if (use_hard && xlcfg_parse_cpumap(hs, &hard, err, sizeof(err))) {
        xprintf(x, 2, "%s\n", err);
        return XLCMD_EXIT_FAILURE;
    }
    if (use_soft && xlcfg_parse_cpumap(ss, &soft, err, sizeof(err))) {
        xprintf(x, 2, "%s\n", err);
        return XLCMD_EXIT_FAILURE;
    }
    if (use_hard && !o.seen['i'] && !hard) {
        /* xl's apply_global_affinity_masks (the global masks are all CPUs) */
        xputs(x, 2, "vcpu hard affinity map is empty\n");
        return XLCMD_EXIT_FAILURE;
    }
    rc = x->ops->vcpu_pin(x->ctx, domid, (int)vcpu, use_hard ? &hard : NULL,
                          use_soft ? &soft : NULL, o.seen['f']);
    if (rc && vcpu >= 0) {
        xprintf(x, 2, "Could not set affinity for vcpu `%ld'.\n", vcpu);
        return XLCMD_EXIT_FAILURE;
    }
    if (rc)
        xputs(x, 2, "Could not set affinity.\n");   /* xl still exits 0 */
    return XLCMD_EXIT_OK;
}

static int cmd_vcpu_set(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc, i, n;
    const char *p;
    uint64_t want = 0;

    if ((rc = getopts(x, lookup("vcpu-set"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->vcpu_set || !x->ops->list || !x->ops->vcpu_list)
        return not_available(x, "vcpu-set");
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    /* strtoul: leading digits; none, or above INT_MAX, is an error */
    for (p = o.pos[1]; *p == ' ' || *p == '\t'; p++)
        ;
    if (*p == '+')
        p++;
    if (*p < '0' || *p > '9') {
        xputs(x, 2, "Error: Invalid argument.\n");
        return XLCMD_EXIT_FAILURE;
    }
    for (; *p >= '0' && *p <= '9' && want <= 0x7fffffffULL; p++)
        want = want * 10 + (uint64_t)(*p - '0');
    if (want > 0x7fffffffULL) {
        xputs(x, 2, "Error: Invalid argument.\n");
        return XLCMD_EXIT_FAILURE;
    }
    n = list_domains(x);
    for (i = 0; i < n; i++)
        if (x->doms[i].domid == domid)
            break;
    if (n < 0 || i >= n) {
        xprintf(x, 2, "Domain %u does not exist.\n", domid);
        return XLCMD_EXIT_FAILURE;
    }
    unsigned int online = x->doms[i].vcpu_online, host;
    if (!o.seen['i']) {
        if (host_max_cpus(x, &host))
            return XLCMD_EXIT_FAILURE;
        if (want > online && want > host) {
            xprintf(x, 2, "You are overcommmitting! You have %u physical CPUs and want %lu "
                    "vCPUs! Aborting, use --ignore-host to continue\n", host,
                    (unsigned long)want);
            return XLCMD_EXIT_FAILURE;
        }
    }
    /* libxl_set_vcpuonline's checks (its log lines), then ERROR_FAIL */
    int nv = x->ops->vcpu_list ? x->ops->vcpu_list(x->ctx, domid, x->vcpus, XLCMD_MAX_VCPUS)
                               : -XL_ENOSYS;
    if (nv == -XL_ESRCH) {
        xprintf(x, 2, "Domain %u does not exist.\n", domid);
        return XLCMD_EXIT_FAILURE;
    }
    if (nv < 0) {
        rc = nv;
    } else if (want == 0) {
        xprintf(x, 2, "libxl: error: libxl_set_vcpuonline: Domain %u:Requested 0 VCPUs!\n",
                domid);
        rc = -3;
    } else if (want > (uint64_t)nv) {
        xprintf(x, 2, "libxl: error: libxl_set_vcpuonline: Domain %u:Requested %lu VCPUs, "
                "however maxcpus is %d!\n", domid, (unsigned long)want, nv);
        rc = -3;
    } else {
        rc = x->ops->vcpu_set(x->ctx, domid, (unsigned int)want);
        if (rc == -XL_ESRCH) {
            xprintf(x, 2, "Domain %u does not exist.\n", domid);
            return XLCMD_EXIT_FAILURE;
        }
    }
    if (rc) {
        xprintf(x, 2, "libxl_set_vcpuonline failed domid=%u max_vcpus=%lu, rc: %d\n", domid,
                (unsigned long)want, rc);
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

static void print_cpus(struct xlcmd *x, const char *key, const uint64_t *maps, unsigned int nr,
                       unsigned int nvcpus)
{
    char m[200];
    unsigned int i, same = 1;

    if (!nr)
        return;
    if (nr > nvcpus)
        nr = nvcpus;
    for (i = 1; i < nr; i++)
        same &= maps[i] == maps[0];
    if (same && nr == nvcpus) {
        xlcmd_format_cpumap(m, sizeof(m), maps[0], 64);
        xprintf(x, 1, "%s = \"%s\"\n", key, m);
        return;
    }
    xprintf(x, 1, "%s = [", key);
    for (i = 0; i < nr; i++) {
        xlcmd_format_cpumap(m, sizeof(m), maps[i], 64);
        xprintf(x, 1, "%s\"%s\"", i ? ", " : "", m);
    }
    xputs(x, 1, "]\n");
}

static void print_config(struct xlcmd *x, const struct xlcfg *c)
{
    char u[40];

    xprintf(x, 1, "name = \"%s\"\ntype = \"pv\"\nmemory = %llu\nmaxmem = %llu\n"
            "vcpus = %u\nmaxvcpus = %u\nkernel = \"%s\"\n",
            c->name, (unsigned long long)c->memory_mib,
            (unsigned long long)c->maxmem_mib, c->vcpus, c->maxvcpus, c->kernel);
    print_cpus(x, "cpus", c->cpus_hard, c->nr_cpus_hard, c->maxvcpus);
    print_cpus(x, "cpus_soft", c->cpus_soft, c->nr_cpus_soft, c->maxvcpus);
    if (c->ramdisk[0])
        xprintf(x, 1, "ramdisk = \"%s\"\n", c->ramdisk);
    if (c->cmdline[0])
        xprintf(x, 1, "cmdline = \"%s\"\n", c->cmdline);
    xprintf(x, 1, "on_poweroff = \"%s\"\non_reboot = \"%s\"\non_watchdog = \"%s\"\n"
            "on_crash = \"%s\"\non_soft_reset = \"%s\"\n",
            xlcfg_action_name(c->on[XLCFG_ON_POWEROFF]),
            xlcfg_action_name(c->on[XLCFG_ON_REBOOT]),
            xlcfg_action_name(c->on[XLCFG_ON_WATCHDOG]),
            xlcfg_action_name(c->on[XLCFG_ON_CRASH]),
            xlcfg_action_name(c->on[XLCFG_ON_SOFT_RESET]));
    if (c->has_uuid) {
        xlcfg_format_uuid(c->uuid, u, sizeof(u));
        xprintf(x, 1, "uuid = \"%s\"\n", u);
    }
    for (unsigned int i = 0; i < c->nr_disks; i++)
        xprintf(x, 1, "%s'vdev=%s, access=%s, target=%s'%s", i ? "         " : "disk = [ ",
                c->disks[i].vdev, c->disks[i].readonly ? "ro" : "rw", c->disks[i].target,
                i + 1 < c->nr_disks ? ",\n" : " ]\n");
}

static int cmd_create(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    struct xlcfg_diag d;
    const char *file = NULL, *data = NULL;
    size_t len = 0;
    uint32_t domid = 0;
    int rc, i, bad = 0;

    if ((rc = getopts(x, lookup("create"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (o.seen['f'])
        file = o.arg['f'];
    for (i = 0; i < o.npos; i++) {
        const char *p;
        for (p = o.pos[i]; *p && *p != '='; p++)
            ;
        if (*p)
            continue;             /* key=value: applied after the file */
        if (file) {
            help(x, "create");
            return XLCMD_EXIT_USAGE;
        }
        file = o.pos[i];
    }
    if (!file) {
        help(x, "create");
        return XLCMD_EXIT_USAGE;
    }
    if (!x->ops->read_file || !x->ops->create)
        return not_available(x, "create");
    if (!o.seen['q'])
        xprintf(x, 2, "Parsing config from %s\n", file);
    rc = x->ops->read_file(x->ctx, file, &data, &len);
    if (rc || !data) {
        xprintf(x, 2, "Failed to read config file: %s (rc=%d)\n", file, rc ? rc : -XL_EIO);
        return XLCMD_EXIT_FAILURE;
    }
    xlcfg_diag_init(&d, x->diag, sizeof(x->diag));
    xlcfg_init(&x->cfg);
    if (xlcfg_parse(&x->cfg, file, data, len, &d))
        bad = 1;
    for (i = 0; i < o.npos; i++) {
        const char *p;
        for (p = o.pos[i]; *p && *p != '='; p++)
            ;
        if (*p && xlcfg_parse(&x->cfg, "<command line>", o.pos[i], strlen(o.pos[i]), &d))
            bad = 1;
    }
    if (xlcfg_finish(&x->cfg, &d))
        bad = 1;
    xputs(x, 2, x->diag);
    if (bad)
        return XLCMD_EXIT_FAILURE;
    if (o.seen['n']) {
        print_config(x, &x->cfg);
        return XLCMD_EXIT_OK;
    }
    rc = x->ops->create(x->ctx, &x->cfg, o.seen['p'], &domid);
    if (rc) {
        xprintf(x, 2, "Failed to create domain %s (rc=%d)\n", x->cfg.name, rc);
        return XLCMD_EXIT_FAILURE;
    }
    if (o.seen['c'] && x->ops->console) {
        rc = x->ops->console(x->ctx, domid, XLCMD_CONSOLE_DEFAULT);
        if (rc)
            xprintf(x, 2, "Unable to attach console (rc=%d)\n", rc);
    }
    return XLCMD_EXIT_OK;
}

/* strtol(s, NULL, 10) as xl uses it, stored into an int. */
static int xl_strtoint(const char *s)
{
    int neg = 0;
    uint64_t v = 0;

    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    for (; *s >= '0' && *s <= '9'; s++)
        if ((v = v * 10 + (uint64_t)(*s - '0')) > (1ULL << 63))
            v = 1ULL << 63;          /* LONG_MAX / LONG_MIN: saturated */
    if (!neg && v > (1ULL << 63) - 1)
        v = (1ULL << 63) - 1;
    return (int)(uint32_t)(neg ? (uint64_t)0 - v : v);
}

#define LIBXL_PARAM_DEFAULT (-1)  /* LIBXL_DOMAIN_SCHED_PARAM_{WEIGHT,CAP}_DEFAULT */

static void credit_pool_line(struct xlcmd *x)
{
    unsigned int t, r, m;

    if (!x->ops->sched_credit_params_get || x->ops->sched_credit_params_get(x->ctx, &t, &r, &m))
        xputs(x, 1, "Cpupool Pool-0: [sched params unavailable]\n");
    else
        xprintf(x, 1, "Cpupool Pool-0: tslice=%ums ratelimit=%uus migration-delay=%uus\n", t, r,
                m);
}

/* One row of xl's sched_credit_domain_output; 1 if it failed. */
static int credit_domain_row(struct xlcmd *x, uint32_t domid, const char *name)
{
    uint16_t w, c;
    unsigned int nv;

    if (x->ops->sched_credit_get(x->ctx, domid, &w, &c, &nv)) {
        xputs(x, 2, "libxl_domain_sched_params_get failed.\n");
        return 1;
    }
    xprintf(x, 1, "%-33s %4d %6d %4d\n", name, (int)domid, (int)w, (int)c);
    return 0;
}

/* xl sched-credit (Xen 4.17's main_sched_credit, credit's libxl checks). */
static int cmd_sched_credit(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    int rc, i, n, weight = LIBXL_PARAM_DEFAULT, cap = LIBXL_PARAM_DEFAULT;
    const char *dom, *pool;

    if ((rc = getopts(x, lookup("sched-credit"), argc, argv, &o)) >= 0)
        return rc % 100;
    dom = o.seen['d'] ? o.arg['d'] : NULL;
    pool = o.seen['p'] ? o.arg['p'] : NULL;
    if ((pool || o.seen['s']) && (dom || o.seen['w'] || o.seen['c'])) {
        xputs(x, 2, "Specifying a cpupool or schedparam is not allowed with domain options.\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (!dom && (o.seen['w'] || o.seen['c'])) {
        xputs(x, 2, "Must specify a domain.\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (!o.seen['s'] && (o.seen['t'] || o.seen['r'] || o.seen['m'])) {
        xputs(x, 2, "Must specify schedparam to set schedule parameter values.\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (!x->ops->sched_credit_get || !x->ops->sched_credit_set || !x->ops->list)
        return not_available(x, "sched-credit");
    if (pool && strcmp(pool, "Pool-0") && strcmp(pool, "0")) {
        xprintf(x, 2, "unknown cpupool '%.64s'\n", pool);
        return XLCMD_EXIT_FAILURE;
    }
    if (o.seen['s']) {
        unsigned int t, r, m;
        if (!o.seen['t'] && !o.seen['r'] && !o.seen['m']) {
            credit_pool_line(x);
            return XLCMD_EXIT_OK;
        }
        if (!x->ops->sched_credit_params_get || !x->ops->sched_credit_params_set ||
            x->ops->sched_credit_params_get(x->ctx, &t, &r, &m)) {
            xputs(x, 2, "libxl_sched_credit_params_get failed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        int ts = o.seen['t'] ? xl_strtoint(o.arg['t']) : (int)t;
        int rl = o.seen['r'] ? xl_strtoint(o.arg['r']) : (int)r;
        int md = o.seen['m'] ? xl_strtoint(o.arg['m']) : (int)m;
        const char *why = NULL;
        if (ts < 1 || ts > 1000)
            why = "311:libxl_sched_credit_params_set: Time slice out of range, valid range is "
                  "from 1 to 1000";
        else if (rl != 0 && (rl < 100 || rl > 500000))
            why = "270:sched_ratelimit_check: Ratelimit out of range, valid range is from 100 to "
                  "500000";
        else if (rl > ts * 1000)
            why = "321:libxl_sched_credit_params_set: Ratelimit cannot be greater than timeslice";
        else if ((unsigned int)md > 100000)
            why = "326:libxl_sched_credit_params_set: vcpu migration delay should be >= 0 and "
                  "<= 100000us";
        if (why)
            xprintf(x, 2, "libxl: error: libxl_sched.c:%s\n", why);
        else if ((rc = x->ops->sched_credit_params_set(x->ctx, (unsigned int)ts,
                                                        (unsigned int)rl, (unsigned int)md)))
            xprintf(x, 2, "libxl: error: libxl_sched.c:338:libxl_sched_credit_params_set: "
                          "Setting Credit scheduler parameters (rc=%d)\n", rc);
        if (why || rc) {
            xputs(x, 2, "libxl_sched_credit_params_set failed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        return XLCMD_EXIT_OK;
    }
    if (!dom) { /* every domain of Pool-0 */
        n = list_domains(x);
        if (n < 0) {
            xputs(x, 2, "libxl_list_domain failed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        credit_pool_line(x);
        xprintf(x, 1, "%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
        for (i = 0; i < n; i++) {
            char name[XLCMD_NAME_MAX];
            memcpy(name, x->doms[i].name, sizeof(name));
            name[sizeof(name) - 1] = '\0';
            if (credit_domain_row(x, x->doms[i].domid, name))
                break; /* xl stops at the first failure, exit 0 */
        }
        return XLCMD_EXIT_OK;
    }
    uint32_t domid;
    if (find_domain(x, dom, &domid))
        return XLCMD_EXIT_FAILURE;
    if (!o.seen['w'] && !o.seen['c']) {
        char name[XLCMD_NAME_MAX] = "";
        n = list_domains(x);
        for (i = 0; i < n; i++)
            if (x->doms[i].domid == domid) {
                memcpy(name, x->doms[i].name, sizeof(name));
                name[sizeof(name) - 1] = '\0';
            }
        xprintf(x, 1, "%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
        return credit_domain_row(x, domid, name) ? XLCMD_EXIT_FAILURE : XLCMD_EXIT_OK;
    }
    if (o.seen['w'])
        weight = xl_strtoint(o.arg['w']);
    if (o.seen['c'])
        cap = xl_strtoint(o.arg['c']);
    /* libxl's sched_credit_domain_set */
    uint16_t w, c;
    unsigned int nv;
    if ((rc = x->ops->sched_credit_get(x->ctx, domid, &w, &c, &nv))) {
        xprintf(x, 2, "libxl: error: libxl_sched.c:231:sched_credit_domain_set: Domain %u:"
                      "Getting domain sched credit (rc=%d)\n", domid, rc);
        xputs(x, 2, "libxl_domain_sched_params_set failed.\n");
        return XLCMD_EXIT_FAILURE;
    }
    if (weight != LIBXL_PARAM_DEFAULT) {
        if (weight < 1 || weight > 65535) {
            xprintf(x, 2, "libxl: error: libxl_sched.c:238:sched_credit_domain_set: Domain %u:"
                          "Cpu weight out of range, valid values are within range from 1 to "
                          "65535\n", domid);
            xputs(x, 2, "libxl_domain_sched_params_set failed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        w = (uint16_t)weight;
    }
    if (cap != LIBXL_PARAM_DEFAULT) {
        if (cap < 0 || cap > (int)nv * 100) {
            xprintf(x, 2, "libxl: error: libxl_sched.c:248:sched_credit_domain_set: Domain %u:"
                          "Cpu cap out of range, valid range is from 0 to %u for specified "
                          "number of vcpus\n", domid, nv * 100);
            xputs(x, 2, "libxl_domain_sched_params_set failed.\n");
            return XLCMD_EXIT_FAILURE;
        }
        c = (uint16_t)cap;
    }
    if ((rc = x->ops->sched_credit_set(x->ctx, domid, w, c))) {
        xprintf(x, 2, "libxl: error: libxl_sched.c:258:sched_credit_domain_set: Domain %u:"
                      "Setting domain sched credit (rc=%d)\n", domid, rc);
        xputs(x, 2, "libxl_domain_sched_params_set failed.\n");
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

/* xl block-list: xl_block.c's columns, one line per vbd of each domain. */
static int cmd_block_list(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc, status = XLCMD_EXIT_OK;

    if ((rc = getopts(x, lookup("block-list"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->block_list)
        return not_available(x, "block-list");
    xprintf(x, 1, "%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state",
            "evt-ch", "ring-ref", "BE-path");
    for (int a = 0; a < o.npos; a++) {
        if (find_domain(x, o.pos[a], &domid)) {
            status = XLCMD_EXIT_FAILURE;
            continue;
        }
        int n = x->ops->block_list(x->ctx, domid, x->blks, XLCMD_MAX_DISKS);
        for (int i = 0; i < n; i++) {
            const struct xlcmd_blkinfo *b = &x->blks[i];
            xprintf(x, 1, "%-5u %-3u %-6u %-5d %-6d %-8d %-30s\n", b->devid, b->backend_id,
                    b->frontend_id, b->state, b->evtchn, b->ring_ref, b->backend);
        }
    }
    return status;
}

/* xl block-attach <Domain> <disk-spec-component(s)>: the words joined
 * with commas, as xl's parse_disk_config_multistring. */
static int cmd_block_attach(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc;
    char err[128];
    size_t len = 0;

    if ((rc = getopts(x, lookup("block-attach"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->block_attach)
        return not_available(x, "block-attach");
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    x->line[0] = '\0';
    for (int a = 1; a < o.npos; a++) {
        size_t n = strlen(o.pos[a]);
        if (len + n + 2 > sizeof(x->line)) {
            xputs(x, 2, "Error: disk specification too long\n");
            return XLCMD_EXIT_FAILURE;
        }
        if (len)
            x->line[len++] = ',';
        memcpy(x->line + len, o.pos[a], n + 1);
        len += n;
    }
    struct xldisk d;
    if (xldisk_parse(x->line, &d, err, sizeof(err))) {
        xprintf(x, 2, "%s\n", err);
        return XLCMD_EXIT_FAILURE;
    }
    if ((rc = x->ops->block_attach(x->ctx, domid, &d))) {
        xprintf(x, 2, "libxl_device_disk_add failed (rc=%d).\n", rc);
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

/* xl block-detach <Domain> <DevId>: a vdev name or its number. */
static int cmd_block_detach(struct xlcmd *x, int argc, char **argv)
{
    struct opts o;
    uint32_t domid;
    int rc;
    long devid;

    if ((rc = getopts(x, lookup("block-detach"), argc, argv, &o)) >= 0)
        return rc % 100;
    if (!x->ops->block_detach)
        return not_available(x, "block-detach");
    if (find_domain(x, o.pos[0], &domid))
        return XLCMD_EXIT_FAILURE;
    if (all_digits(o.pos[1])) {
        devid = 0;
        for (const char *p = o.pos[1]; *p && devid < (1L << 30); p++)
            devid = devid * 10 + (*p - '0');
    } else {
        devid = xldisk_devid(o.pos[1]);
    }
    if (devid < 0 || devid >= (1L << 30)) {
        xprintf(x, 2, "Error: Device %s not connected.\n", o.pos[1]);
        return XLCMD_EXIT_FAILURE;
    }
    rc = x->ops->block_detach(x->ctx, domid, (uint32_t)devid);
    if (rc == -XL_ENOENT) {
        xprintf(x, 2, "Error: Device %s not connected.\n", o.pos[1]);
        return XLCMD_EXIT_FAILURE;
    }
    if (rc) {
        xprintf(x, 2, "libxl_device_disk_remove failed (rc=%d).\n", rc);
        return XLCMD_EXIT_FAILURE;
    }
    return XLCMD_EXIT_OK;
}

static int cmd_help(struct xlcmd *x, int argc, char **argv)
{
    help(x, argc > 1 ? argv[1] : NULL);
    return XLCMD_EXIT_OK;
}

static const struct cmd cmds[] = {
    { "create", cmd_create, "cpnqf:", 0,
      "Create a domain from an xl.cfg file",
      "<ConfigFile> [options] [key=value ...]",
      "-h        this help\n"
      "-p        leave the new domain paused\n"
      "-c        attach to its console once it is created\n"
      "-f FILE   the configuration file (instead of the first argument)\n"
      "-q        quiet\n"
      "-n        dry run: parse and print the configuration, create nothing\n" },
    { "list", cmd_list, "", 0,
      "List all domains, or one",
      "[Domain]", NULL },
    { "destroy", cmd_destroy, "f", 1,
      "Kill a domain at once",
      "[options] <Domain>",
      "-f        also allow domain 0 (only with a disaggregated toolstack)\n" },
    { "shutdown", cmd_shutdown, "awF", 0,
      "Ask a domain to shut down",
      "[options] <-a|Domain>",
      "-a        every domain but domain 0\n"
      "-w        wait until it has shut down\n"
      "-F        accepted for xl compatibility (PV guests need no fallback)\n" },
    { "pause", cmd_pause, "", 1,
      "Stop scheduling a domain",
      "<Domain>", NULL },
    { "unpause", cmd_unpause, "", 1,
      "Resume a paused domain",
      "<Domain>", NULL },
    { "console", cmd_console, "t:n:", 0,
      "Attach to a domain's console (Ctrl-] detaches)",
      "[options] <Domain>",
      "-t TYPE   console type: pv, or serial (an HVM domain's emulated port, its default)\n"
      "-n NUM    console number: 0\n" },
    { "info", cmd_info, "", 0,
      "Show information about the host and the hypervisor",
      "[name]", NULL },
    { "dmesg", cmd_dmesg, "c", 0,
      "Print the hypervisor's console messages",
      "[-c]",
      "-c        clear the buffer after printing it\n" },
    { "vcpu-list", cmd_vcpu_list, "", 0,
      "List the VCPUs for all/some domains",
      "[Domain, ...]", NULL },
    { "vcpu-pin", cmd_vcpu_pin, "fi", 3,
      "Set which CPUs a VCPU can use",
      "[option] <Domain> <VCPU|all> <Hard affinity|-> [Soft affinity|-]",
      "-f, --force        undo an override pinning done by the kernel\n"
      "-i, --ignore-global-affinity-masks\n"
      "                   do not check the hard map against the global masks\n" },
    { "vcpu-set", cmd_vcpu_set, "i", 2,
      "Set the number of active VCPUs allowed for the domain",
      "[option] <Domain> <vCPUs>",
      "-i, --ignore-host  don't limit the vCPU count to the host's CPU count\n" },
    { "hypercalls", cmd_hypercalls, "", 1,
      "Show a domain's hypercall counts (Xenolith)",
      "<Domain>", NULL },
    { "sched-credit", cmd_sched_credit, "d:w:c:p:t:r:m:s", 0,
      "Get/set credit scheduler parameters",
      "[options]",
      "-d DOMAIN, --domain=DOMAIN        Domain to modify\n"
      "-w WEIGHT, --weight=WEIGHT        Weight (int)\n"
      "-c CAP,    --cap=CAP              Cap (int)\n"
      "-s         --schedparam           Query / modify scheduler parameters\n"
      "-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds\n"
      "-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n"
      "-m DLY, --migration_delay_us=DLY  Set the migration delay, in microseconds\n"
      "-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL\n" },
    { "block-list", cmd_block_list, "", 1,
      "List virtual block devices for a domain",
      "<Domain(s)>", NULL },
    { "block-attach", cmd_block_attach, "", 2,
      "Create a new virtual block device",
      "<Domain> <disk-spec-component(s)>...", NULL },
    { "block-detach", cmd_block_detach, "", 2,
      "Destroy a domain's virtual block device",
      "<Domain> <DevId>", NULL },
    { "help", cmd_help, "", 0,
      "Show this list, or help for one command",
      "[command]", NULL },
};

static const struct cmd *lookup(const char *name)
{
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(cmds); i++)
        if (!strcmp(cmds[i].name, name))
            return &cmds[i];
    return NULL;
}

static void help(struct xlcmd *x, const char *command)
{
    const struct cmd *c;
    unsigned int i;

    if (!command || !strcmp(command, "help")) {
        xputs(x, 1, "Usage xl <subcommand> [args]\n\nxl full list of subcommands:\n\n");
        for (i = 0; i < ARRAY_SIZE(cmds); i++)
            xprintf(x, 1, " %-19s %s\n", cmds[i].name, cmds[i].desc);
        return;
    }
    c = lookup(command);
    if (!c) {
        xprintf(x, 1, "command \"%.40s\" not implemented\n", command);
        return;
    }
    xprintf(x, 1, "Usage: xl %s %s\n\n%s.\n\n", c->name, c->usage, c->desc);
    if (c->options)
        xprintf(x, 1, "Options:\n\n%s\n", c->options);
}

void xlcmd_init(struct xlcmd *x, const struct xlcmd_ops *ops, void *ctx,
                const struct xlcmd_io *io)
{
    memset(x, 0, sizeof(*x));
    x->ops = ops;
    x->ctx = ctx;
    if (io)
        x->io = *io;
}

int xlcmd_run(struct xlcmd *x, int argc, char **argv)
{
    const struct cmd *c;

    if (argc > 0 && !strcmp(argv[0], "xl")) {
        argc--;
        argv++;
    }
    if (argc <= 0 || !argv[0]) {
        help(x, NULL);
        return XLCMD_EXIT_USAGE;
    }
    if (argc >= XLCMD_MAX_ARGS) {
        xputs(x, 2, "xl: too many arguments\n");
        return XLCMD_EXIT_USAGE;
    }
    if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        help(x, NULL);
        return XLCMD_EXIT_OK;
    }
    c = lookup(argv[0]);
    if (!c) {
        xprintf(x, 2, "command not implemented\n");
        return XLCMD_EXIT_FAILURE;
    }
    return c->fn(x, argc, argv);
}

int xlcmd_run_line(struct xlcmd *x, char *line)
{
    char *argv[XLCMD_MAX_ARGS + 1];
    int argc = xlcmd_split(line, argv, XLCMD_MAX_ARGS + 1);

    if (argc == -XL_EINVAL) {
        xputs(x, 2, "xl: unterminated quote or trailing backslash\n");
        return XLCMD_EXIT_USAGE;
    }
    if (argc < 0) {
        xputs(x, 2, "xl: too many arguments\n");
        return XLCMD_EXIT_USAGE;
    }
    if (argc == 0)
        return XLCMD_EXIT_OK;
    return xlcmd_run(x, argc, argv);
}
