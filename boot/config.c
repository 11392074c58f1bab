/*
 * config.c - parser for the UEFI loader's xenolith.cfg (format in config.h).
 * Owns: turning config text into struct xl_boot_config, and the exact
 * wording of its "<file>:<line>: <what>" error messages.
 * Must never: use libc, allocate, or read past text[len); it is built
 * freestanding for the loader and with sanitizers for host tests.
 */
#include "config.h"
#include <xenolith/errno.h>

enum cfg_key { K_HV, K_HV_CMDLINE, K_DOM0, K_DOM0_CMDLINE, K_RAMDISK, K_DOMU, K_COUNT };

static const char *const key_names[K_COUNT] = {
    "hypervisor", "hypervisor_cmdline", "dom0", "dom0_cmdline", "ramdisk", "domu",
};

/* A bounded writer into the caller's error buffer. */
struct errbuf {
    char *buf;
    size_t len, pos;
};

/* Append n bytes of s (stopping at NUL), keeping the buffer terminated. */
static void put_n(struct errbuf *e, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        if (e->pos + 1 < e->len)
            e->buf[e->pos++] = s[i];
    if (e->len)
        e->buf[e->pos] = '\0';
}

/* Append a NUL-terminated string. */
static void put(struct errbuf *e, const char *s)
{
    put_n(e, s, (size_t)-1);
}

/* Append an unsigned decimal number. */
static void put_uint(struct errbuf *e, unsigned long v)
{
    char tmp[24];
    size_t i = sizeof(tmp) - 1;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i);
    put(e, tmp + i);
}

/* Parser state for one file. */
struct parser {
    const char *filename;
    struct {
        unsigned long first[K_COUNT]; /* line a key was first set on, 0 = unset */
    } seen;
    struct xl_cfg_module ramdisk;
    unsigned int nr_domu;
    struct errbuf err;
};

/* Start an error message "<file>:<line>: " and return the writer. */
static struct errbuf *line_err(struct parser *p, unsigned long line)
{
    p->err.pos = 0;
    put(&p->err, p->filename);
    put(&p->err, ":");
    put_uint(&p->err, line);
    put(&p->err, ": ");
    return &p->err;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trim whitespace from both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Key index for [k, k + n), or K_COUNT if unknown. */
static enum cfg_key lookup_key(const char *k, size_t n)
{
    for (int i = 0; i < K_COUNT; i++) {
        const char *name = key_names[i];
        size_t j = 0;
        while (j < n && name[j] && name[j] == k[j])
            j++;
        if (j == n && name[j] == '\0')
            return (enum cfg_key)i;
    }
    return K_COUNT;
}

/* Copy [s, s + n) into dst (n < dstlen checked by caller), NUL-terminated;
 * if is_path, '/' becomes '\'. */
static void copy_val(char *dst, const char *s, size_t n, int is_path)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (is_path && s[i] == '/') ? '\\' : s[i];
    dst[n] = '\0';
}

/* Store a path value; reports too long / non-ASCII. 0 or -XL_EINVAL. */
static int set_path(struct parser *p, unsigned long line, enum cfg_key k,
                    char *dst, const char *s, size_t n)
{
    if (n >= XL_NAME_MAX) {
        struct errbuf *e = line_err(p, line);
        put(e, "path too long for '");
        put(e, key_names[k]);
        put(e, "' (max ");
        put_uint(e, XL_NAME_MAX - 1);
        put(e, " bytes)");
        return -XL_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i] < 0x20) {
            struct errbuf *e = line_err(p, line);
            put(e, "non-ASCII or control character in path for '");
            put(e, key_names[k]);
            put(e, "'");
            return -XL_EINVAL;
        }
    }
    copy_val(dst, s, n, 1);
    return 0;
}

/* Store a command line value; reports too long. 0 or -XL_EINVAL. */
static int set_cmdline(struct parser *p, unsigned long line, enum cfg_key k,
                       char *dst, const char *s, size_t n)
{
    if (n >= XL_CMDLINE_MAX) {
        struct errbuf *e = line_err(p, line);
        put(e, "command line too long for '");
        put(e, key_names[k]);
        put(e, "' (max ");
        put_uint(e, XL_CMDLINE_MAX - 1);
        put(e, " bytes)");
        return -XL_EINVAL;
    }
    copy_val(dst, s, n, 0);
    return 0;
}

/* Reserve a module slot for a ramdisk or domU; reports too many. */
static int take_module(struct parser *p, unsigned long line, int is_ramdisk)
{
    unsigned int used = 1 + (p->seen.first[K_RAMDISK] != 0) + p->nr_domu;
    if (used >= XL_MAX_MODULES) {
        struct errbuf *e = line_err(p, line);
        put(e, "too many modules (max ");
        put_uint(e, XL_MAX_MODULES);
        put(e, " including dom0)");
        return -XL_EINVAL;
    }
    if (!is_ramdisk)
        p->nr_domu++;
    return 0;
}

/* Handle "domu = PATH [CMDLINE]": domUs go to modules[1..] for now. */
static int set_domu(struct parser *p, struct xl_boot_config *cfg, unsigned long line,
                    const char *v, size_t n)
{
    size_t plen = 0;
    const char *rest;
    size_t rlen;
    struct xl_cfg_module *m;

    if (take_module(p, line, 0))
        return -XL_EINVAL;
    m = &cfg->modules[p->nr_domu];
    m->kind = XL_MOD_DOMU;
    while (plen < n && !is_space(v[plen]))
        plen++;
    rest = v + plen;
    rlen = n - plen;
    trim(&rest, &rlen);
    if (set_path(p, line, K_DOMU, m->path, v, plen))
        return -XL_EINVAL;
    return set_cmdline(p, line, K_DOMU, m->cmdline, rest, rlen);
}

/* Apply one key = value pair (both trimmed, value non-empty). */
static int apply(struct parser *p, struct xl_boot_config *cfg, unsigned long line,
                 enum cfg_key k, const char *v, size_t n)
{
    int rc;

    if (k != K_DOMU && p->seen.first[k]) {
        struct errbuf *e = line_err(p, line);
        put(e, "duplicate key '");
        put(e, key_names[k]);
        put(e, "' (first set on line ");
        put_uint(e, p->seen.first[k]);
        put(e, ")");
        return -XL_EINVAL;
    }
    switch (k) {
    case K_HV:
        rc = set_path(p, line, k, cfg->hypervisor, v, n);
        break;
    case K_HV_CMDLINE:
        rc = set_cmdline(p, line, k, cfg->hv_cmdline, v, n);
        break;
    case K_DOM0:
        rc = set_path(p, line, k, cfg->modules[0].path, v, n);
        break;
    case K_DOM0_CMDLINE:
        rc = set_cmdline(p, line, k, cfg->modules[0].cmdline, v, n);
        break;
    case K_RAMDISK:
        rc = take_module(p, line, 1) ? -XL_EINVAL
                                     : set_path(p, line, k, p->ramdisk.path, v, n);
        break;
    case K_DOMU:
        rc = set_domu(p, cfg, line, v, n);
        break;
    default:
        rc = -XL_EINVAL;
        break;
    }
    if (rc == 0 && !p->seen.first[k])
        p->seen.first[k] = line;
    return rc;
}

/* Parse one line [s, s + n) (without its '\n'). */
static int parse_line(struct parser *p, struct xl_boot_config *cfg, unsigned long line,
                      const char *s, size_t n)
{
    const char *key = s, *val;
    size_t klen = 0, vlen;
    enum cfg_key k;
    struct errbuf *e;

    trim(&s, &n);
    if (n == 0 || s[0] == '#')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') {
            put(line_err(p, line), "NUL byte in line");
            return -XL_EINVAL;
        }
    }
    key = s;
    while (klen < n && key[klen] != '=')
        klen++;
    if (klen == n) {
        put(line_err(p, line), "missing '=' (expected 'key = value')");
        return -XL_EINVAL;
    }
    val = key + klen + 1;
    vlen = n - klen - 1;
    trim(&key, &klen);
    trim(&val, &vlen);
    if (klen == 0) {
        put(line_err(p, line), "missing key before '='");
        return -XL_EINVAL;
    }
    k = lookup_key(key, klen);
    if (k == K_COUNT) {
        e = line_err(p, line);
        put(e, "unknown key '");
        put_n(e, key, klen);
        put(e, "'");
        return -XL_EINVAL;
    }
    if (vlen == 0) {
        e = line_err(p, line);
        put(e, "empty value for '");
        put(e, key_names[k]);
        put(e, "'");
        return -XL_EINVAL;
    }
    return apply(p, cfg, line, k, val, vlen);
}

/* Report a missing required key; returns -XL_EINVAL. */
static int missing(struct parser *p, enum cfg_key k)
{
    p->err.pos = 0;
    put(&p->err, p->filename);
    put(&p->err, ": missing required key '");
    put(&p->err, key_names[k]);
    put(&p->err, "'");
    return -XL_EINVAL;
}

/* Move the ramdisk (if any) to modules[1], after dom0 and before domUs. */
static void finish_modules(struct parser *p, struct xl_boot_config *cfg)
{
    cfg->modules[0].kind = XL_MOD_DOM0;
    cfg->nr_modules = 1 + p->nr_domu;
    if (!p->seen.first[K_RAMDISK])
        return;
    for (unsigned int i = cfg->nr_modules; i > 1; i--)
        cfg->modules[i] = cfg->modules[i - 1];
    cfg->modules[1] = p->ramdisk;
    cfg->modules[1].kind = XL_MOD_RAMDISK;
    cfg->nr_modules++;
}

/* Zero n bytes at d. */
static void zero(void *d, size_t n)
{
    unsigned char *b = d;
    for (size_t i = 0; i < n; i++)
        b[i] = 0;
}

int xl_config_parse(const char *text, size_t len, const char *filename,
                    struct xl_boot_config *cfg, char *err, size_t errlen)
{
    struct parser p;
    unsigned long line = 1;
    size_t pos = 0;

    zero(&p, sizeof(p));
    zero(cfg, sizeof(*cfg));
    p.filename = filename ? filename : "(config)";
    p.err = (struct errbuf){ err, err ? errlen : 0, 0 };
    if (p.err.len)
        err[0] = '\0';
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf)
        pos = 3;
    while (pos < len) {
        size_t start = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        if (parse_line(&p, cfg, line, text + start, pos - start))
            return -XL_EINVAL;
        pos++;
        line++;
    }
    if (!p.seen.first[K_HV])
        return missing(&p, K_HV);
    if (!p.seen.first[K_DOM0])
        return missing(&p, K_DOM0);
    finish_modules(&p, cfg);
    return 0;
}
