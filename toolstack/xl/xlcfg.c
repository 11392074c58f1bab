/*
 * xlcfg.c - the xl.cfg(5) parser of the dom0 toolstack (see xlcfg.h).
 * Owns: lexing and parsing the text, the keys' meaning, defaults and
 * cross-checks, and the "FILE:LINE: message" diagnostics.
 * Must never: allocate, read outside [data, data+len), write past a field,
 * stop at the first bad line (it reports up to XLCFG_MAX_ERRORS and goes
 * on), or put raw control bytes from the input into a diagnostic.
 */
#include <stdarg.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include "xlcfg.h"

/* ---- diagnostics ---- */

static void diag_append(struct xlcfg_diag *d, const char *line)
{
    size_t n, room;

    if (!d || !d->buf || !d->size || d->truncated)
        return;
    n = strlen(line);
    room = d->size - 1 - d->len;
    if (n > room) {
        /* Keep a visible marker that lines were lost. */
        static const char more[] = "...\n";
        size_t at = d->size - 1 >= sizeof(more) - 1 ? d->size - sizeof(more) : 0;
        if (at > d->len)
            at = d->len;
        /* cut back to a line start so the marker stands alone */
        while (at > 0 && d->buf[at - 1] != '\n')
            at--;
        if (d->size - 1 - at >= sizeof(more) - 1) {
            memcpy(d->buf + at, more, sizeof(more) - 1);
            at += sizeof(more) - 1;
        }
        d->len = at;
        d->buf[d->len] = '\0';
        d->truncated = 1;
        return;
    }
    memcpy(d->buf + d->len, line, n);
    d->len += n;
    d->buf[d->len] = '\0';
}

void xlcfg_diag_init(struct xlcfg_diag *d, char *buf, size_t size)
{
    memset(d, 0, sizeof(*d));
    d->buf = buf;
    d->size = size;
    if (buf && size)
        buf[0] = '\0';
}

struct lex;
static void report(struct lex *lx, int is_err, unsigned int line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Copies at most 48 bytes of s[0..n) into dst, control and non-ASCII bytes
 * as '?', so a diagnostic never carries terminal escapes. */
static const char *printable(char *dst, size_t size, const char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 4 < size && i < 48; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (i < n && o + 3 < size) {
        dst[o++] = '.'; dst[o++] = '.'; dst[o++] = '.';
    }
    dst[o] = '\0';
    return dst;
}

/* ---- lexer ---- */

enum tok { T_EOF, T_NL, T_SEMI, T_EQ, T_COMMA, T_LBR, T_RBR, T_ID, T_NUM,
           T_STR, T_BAD };

struct token {
    enum tok t;
    const char *s;      /* ID/NUM text, STR contents without quotes */
    size_t n;
    unsigned int line;
};

struct lex {
    const char *p, *end;
    unsigned int line;
    const char *src;
    struct xlcfg *cfg;
    struct xlcfg_diag *diag;
    struct token last;
    int stopped;
};

static void report(struct lex *lx, int is_err, unsigned int line,
                   const char *fmt, ...)
{
    char msg[256], out[320];
    va_list ap;

    if (lx->stopped)
        return;
    va_start(ap, fmt);
    xl_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line)
        xl_snprintf(out, sizeof(out), "%s:%u: %s%s\n", lx->src, line,
                    is_err ? "" : "warning: ", msg);
    else
        xl_snprintf(out, sizeof(out), "%s: %s%s\n", lx->src,
                    is_err ? "" : "warning: ", msg);
    diag_append(lx->diag, out);
    if (!is_err) {
        if (lx->diag)
            lx->diag->warnings++;
        return;
    }
    if (lx->diag)
        lx->diag->errors++;
    if (++lx->cfg->errors_ >= XLCFG_MAX_ERRORS) {
        xl_snprintf(out, sizeof(out), "%s: too many errors, giving up\n",
                    lx->src);
        diag_append(lx->diag, out);
        lx->stopped = 1;
    }
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) { return is_alpha(c) || is_digit(c) || c == '.'; }

static struct token next(struct lex *lx)
{
    struct token t = { T_EOF, NULL, 0, 0 };

    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r'))
        lx->p++;
    if (lx->p < lx->end && *lx->p == '#') {     /* comment: up to the newline */
        while (lx->p < lx->end && *lx->p != '\n')
            lx->p++;
    }
    t.line = lx->line;
    t.s = lx->p;
    if (lx->p >= lx->end) {
        t.t = T_EOF;
        goto out;
    }
    switch (*lx->p) {
    case '\n': lx->p++; lx->line++; t.t = T_NL; t.n = 1; goto out;
    case ';': lx->p++; t.t = T_SEMI; t.n = 1; goto out;
    case '=': lx->p++; t.t = T_EQ; t.n = 1; goto out;
    case ',': lx->p++; t.t = T_COMMA; t.n = 1; goto out;
    case '[': lx->p++; t.t = T_LBR; t.n = 1; goto out;
    case ']': lx->p++; t.t = T_RBR; t.n = 1; goto out;
    case '"': case '\'': {
        char q = *lx->p++;
        t.s = lx->p;
        while (lx->p < lx->end && *lx->p != q && *lx->p != '\n') {
            if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] != '\n')
                lx->p++;
            lx->p++;
        }
        if (lx->p >= lx->end || *lx->p != q) {
            report(lx, 1, t.line, "unterminated string (a %c... string must end on its line)", q);
            t.t = T_BAD;
            goto out;
        }
        t.n = (size_t)(lx->p - t.s);
        lx->p++;
        t.t = T_STR;
        goto out;
    }
    default:
        break;
    }
    if (is_alpha(*lx->p) || is_digit(*lx->p)) {
        t.t = is_digit(*lx->p) ? T_NUM : T_ID;
        while (lx->p < lx->end && is_word(*lx->p))
            lx->p++;
        t.n = (size_t)(lx->p - t.s);
        goto out;
    }
    {
        unsigned char c = (unsigned char)*lx->p++;
        if (c > 0x20 && c < 0x7f)
            report(lx, 1, t.line, "unexpected character `%c'", c);
        else
            report(lx, 1, t.line, "unexpected byte 0x%02x", c);
        t.t = T_BAD;
        t.n = 1;
    }
out:
    lx->last = t;
    return t;
}

/* After an error: drop the rest of the line (unless the error token was
 * already its end), so the next line is parsed afresh, as xl does. */
static void recover(struct lex *lx)
{
    if (lx->last.t == T_NL || lx->last.t == T_EOF)
        return;
    while (lx->p < lx->end && *lx->p != '\n')
        lx->p++;
}

static const char *tok_desc(const struct token *t, char *buf, size_t size)
{
    char tmp[64];
    switch (t->t) {
    case T_EOF: return "end of file";
    case T_NL: return "end of line";
    case T_SEMI: return "`;'";
    case T_EQ: return "`='";
    case T_COMMA: return "`,'";
    case T_LBR: return "`['";
    case T_RBR: return "`]'";
    case T_STR: xl_snprintf(buf, size, "string \"%s\"", printable(tmp, sizeof(tmp), t->s, t->n)); return buf;
    case T_ID: case T_NUM:
        xl_snprintf(buf, size, "`%s'", printable(tmp, sizeof(tmp), t->s, t->n)); return buf;
    default: return "bad input";
    }
}

/* ---- strings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a STR token (xl's escapes: \" \' \\ \a \b \f \n \r \t \v, \xHH,
 * \ooo octal) or copies a NUM token into dst[size] (dst NULL: check only).
 * Returns the length, or -1 after reporting the error. */
static long decode(struct lex *lx, const struct token *t, char *dst,
                   size_t size, const char *key)
{
    size_t i = 0, o = 0;

    while (i < t->n) {
        char c = t->s[i++];
        if (t->t == T_STR && c == '\\') {
            char e;
            int v;
            if (i >= t->n) {   /* cannot happen: the lexer pairs them */
                report(lx, 1, t->line, "%s: backslash at the end of a string", key);
                return -1;
            }
            e = t->s[i++];
            switch (e) {
            case '"': case '\'': case '\\': c = e; break;
            case 'a': c = '\a'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'v': c = '\v'; break;
            case 'x':
                if (i + 2 > t->n || hexval(t->s[i]) < 0 || hexval(t->s[i + 1]) < 0) {
                    report(lx, 1, t->line, "%s: \\x needs two hex digits", key);
                    return -1;
                }
                c = (char)(hexval(t->s[i]) * 16 + hexval(t->s[i + 1]));
                i += 2;
                break;
            default:
                if (e >= '0' && e <= '7') {
                    int k;
                    v = e - '0';
                    for (k = 1; k < 3 && i < t->n && t->s[i] >= '0' && t->s[i] <= '7'; k++)
                        v = v * 8 + (t->s[i++] - '0');
                    if (v > 255) {
                        report(lx, 1, t->line, "%s: octal escape above \\377", key);
                        return -1;
                    }
                    c = (char)v;
                    break;
                }
                if ((unsigned char)e > 0x20 && (unsigned char)e < 0x7f)
                    report(lx, 1, t->line, "%s: unknown escape `\\%c' in string", key, e);
                else
                    report(lx, 1, t->line, "%s: unknown escape in string", key);
                return -1;
            }
            if (c == '\0') {
                report(lx, 1, t->line, "%s: string contains a NUL byte", key);
                return -1;
            }
        } else if (c == '\0') {
            report(lx, 1, t->line, "%s: string contains a NUL byte", key);
            return -1;
        }
        if (dst) {
            if (o + 1 >= size) {
                report(lx, 1, t->line, "%s: too long (at most %zu bytes)", key, size - 1);
                return -1;
            }
            dst[o] = c;
        }
        o++;
    }
    if (dst)
        dst[o] = '\0';
    return (long)o;
}

/* ---- values ---- */

enum vkind { V_SCALAR, V_LIST };
struct value {
    enum vkind kind;
    struct token tok;       /* the scalar, or the `[' of a list */
};

#define MAX_DEPTH 8

static int parse_value(struct lex *lx, struct token t, struct value *v,
                       int depth, const char *key)
{
    char d[96];

    v->tok = t;
    if (t.t == T_STR || t.t == T_NUM) {
        v->kind = V_SCALAR;
        return decode(lx, &t, NULL, 0, key) < 0 ? -1 : 0;
    }
    if (t.t == T_ID) {
        char tmp[64];
        report(lx, 1, t.line, "%s: bare word `%s' (strings need quotes)", key,
               printable(tmp, sizeof(tmp), t.s, t.n));
        return -1;
    }
    if (t.t == T_BAD)
        return -1;
    if (t.t != T_LBR) {
        report(lx, 1, t.line, "%s: expected a value, found %s", key,
               tok_desc(&t, d, sizeof(d)));
        return -1;
    }
    if (depth >= MAX_DEPTH) {
        report(lx, 1, t.line, "%s: lists nested too deeply", key);
        return -1;
    }
    v->kind = V_LIST;
    for (;;) {
        struct value elem;
        struct token e = next(lx);
        while (e.t == T_NL)
            e = next(lx);
        if (e.t == T_RBR)
            return 0;
        if (e.t == T_EOF) {
            report(lx, 1, e.line, "%s: list opened on line %u is not closed", key, t.line);
            return -1;
        }
        if (parse_value(lx, e, &elem, depth + 1, key))
            return -1;
        e = next(lx);
        while (e.t == T_NL)
            e = next(lx);
        if (e.t == T_RBR)
            return 0;
        if (e.t == T_EOF) {
            report(lx, 1, e.line, "%s: list opened on line %u is not closed", key, t.line);
            return -1;
        }
        if (e.t != T_COMMA) {
            if (e.t != T_BAD)
                report(lx, 1, e.line, "%s: expected `,' or `]' in list, found %s",
                       key, tok_desc(&e, d, sizeof(d)));
            return -1;
        }
    }
}

/* ---- keys ---- */

static const struct { const char *name; enum xlcfg_key k; } known[] = {
    { "name", XLCFG_K_NAME }, { "memory", XLCFG_K_MEMORY },
    { "maxmem", XLCFG_K_MAXMEM }, { "vcpus", XLCFG_K_VCPUS },
    { "maxvcpus", XLCFG_K_MAXVCPUS }, { "kernel", XLCFG_K_KERNEL },
    { "ramdisk", XLCFG_K_RAMDISK }, { "cmdline", XLCFG_K_CMDLINE },
    { "root", XLCFG_K_ROOT }, { "extra", XLCFG_K_EXTRA },
    { "on_poweroff", XLCFG_K_ON_POWEROFF }, { "on_reboot", XLCFG_K_ON_REBOOT },
    { "on_watchdog", XLCFG_K_ON_WATCHDOG }, { "on_crash", XLCFG_K_ON_CRASH },
    { "on_soft_reset", XLCFG_K_ON_SOFT_RESET }, { "type", XLCFG_K_TYPE },
    { "builder", XLCFG_K_BUILDER }, { "uuid", XLCFG_K_UUID },
    { "cpus", XLCFG_K_CPUS }, { "cpus_soft", XLCFG_K_CPUS_SOFT },
    { "vif", XLCFG_K_VIF },
    { "disk", XLCFG_K_DISK },
};

/* Keys real xl acts on that this toolstack does not implement yet. */
static const char *const unsupported[] = {
    "vfb", "vkb", "vtpm", "p9", "pvcalls", "channel", "pci",
    "dtdev", "usb", "usbctrl", "usbdev", "vdispl", "vsnd", "cpu_weight", "cap", "pool", "bootloader", "bootloader_args", "seclabel",
    "init_seclabel", "max_grant_frames", "max_maptrack_frames",
    "max_event_channels", "device_tree", "driver_domain", "e820_host",
    "localtime", "nomigrate", "vnuma", "serial", "vnc", "sdl", "iomem",
    "ioports", "irqs", "device_model_version", "tsc_mode", "vcpu_hard_affinity",
};

static const char *const action_names[] = {
    [XLCFG_ACTION_DESTROY] = "destroy",
    [XLCFG_ACTION_RESTART] = "restart",
    [XLCFG_ACTION_RENAME_RESTART] = "rename-restart",
    [XLCFG_ACTION_PRESERVE] = "preserve",
    [XLCFG_ACTION_COREDUMP_DESTROY] = "coredump-destroy",
    [XLCFG_ACTION_COREDUMP_RESTART] = "coredump-restart",
    [XLCFG_ACTION_SOFT_RESET] = "soft-reset",
};

const char *xlcfg_action_name(unsigned int action)
{
    if (action < ARRAY_SIZE(action_names) && action_names[action])
        return action_names[action];
    return "?";
}

static int tok_is(const struct token *t, const char *s)
{
    size_t n = strlen(s);
    return t->n == n && !memcmp(t->s, s, n);
}

/* strtoul(base 0)-like, whole string, no sign: 0x.. hex, 0.. octal. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned int base = 10;
    int any = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0') {
        base = 8;
    }
    for (; *s; s++) {
        int d = hexval(*s);
        if (d < 0 || (unsigned int)d >= base)
            return -XL_EINVAL;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return -XL_ERANGE;
        v = v * base + (uint64_t)d;
        any = 1;
    }
    if (!any)
        return -XL_EINVAL;
    *out = v;
    return 0;
}

static int get_string(struct lex *lx, const char *key, const struct value *v,
                      char *dst, size_t size)
{
    if (v->kind == V_LIST) {
        report(lx, 1, v->tok.line, "%s: is a list but should be a single value", key);
        return -1;
    }
    return decode(lx, &v->tok, dst, size, key) < 0 ? -1 : 0;
}

static int get_number(struct lex *lx, const char *key, const struct value *v,
                      uint64_t min, uint64_t max, const char *unit, uint64_t *out)
{
    char buf[32], tmp[64];
    int rc = 0;

    if (v->kind == V_LIST) {
        report(lx, 1, v->tok.line, "%s: is a list but should be a single value", key);
        return -1;
    }
    if (v->tok.n < sizeof(buf) && decode(lx, &v->tok, buf, sizeof(buf), key) < 0)
        return -1;      /* a bad escape, already reported */
    if (v->tok.n >= sizeof(buf) || (rc = parse_u64(buf, out)) == -XL_EINVAL) {
        report(lx, 1, v->tok.line, "%s: not a number: `%s'", key,
               printable(tmp, sizeof(tmp), v->tok.s, v->tok.n));
        return -1;
    }
    if (rc || *out < min || *out > max) {
        report(lx, 1, v->tok.line, "%s: %s is out of range (%llu to %llu%s)", key,
               printable(tmp, sizeof(tmp), v->tok.s, v->tok.n),
               (unsigned long long)min, (unsigned long long)max, unit);
        return -1;
    }
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is_digit(*s))
            return 0;
    return 1;
}

int xlcfg_parse_uuid(const char *s, uint8_t uuid[16])
{
    static const unsigned char dash_at[] = { 8, 13, 18, 23 };
    unsigned int i, b = 0, d = 0;

    for (i = 0; i < 36; i++) {
        if (d < ARRAY_SIZE(dash_at) && i == dash_at[d]) {
            if (s[i] != '-')
                return -XL_EINVAL;
            d++;
            continue;
        }
        if (hexval(s[i]) < 0)
            return -XL_EINVAL;
    }
    if (s[36] != '\0')
        return -XL_EINVAL;
    for (i = 0; i < 36; i += 2) {
        if (s[i] == '-')
            i++;
        uuid[b++] = (uint8_t)(hexval(s[i]) * 16 + hexval(s[i + 1]));
    }
    return 0;
}

void xlcfg_format_uuid(const uint8_t u[16], char *buf, size_t size)
{
    xl_snprintf(buf, size,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
                u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* One item of a CPU list into *mask (xl's update_cpumap_range). */
static int cpumap_item(const char *s, size_t n, uint64_t *mask, char *err, size_t errsize)
{
    char item[40];
    const char *p = s, *end = s + n;
    int negate = 0, nodes = 0;
    uint64_t lo = 0, hi, bits;

    xl_snprintf(item, sizeof(item), "%.*s%s", n > 32 ? 32 : (int)n, s, n > 32 ? "..." : "");
    for (size_t i = 0; item[i]; i++)
        if ((unsigned char)item[i] < 0x20 || (unsigned char)item[i] >= 0x7f)
            item[i] = '?';
    if (p < end && *p == '^') {
        negate = 1;
        p++;
    }
    if ((size_t)(end - p) >= 5 && !memcmp(p, "node:", 5)) {
        nodes = 1;
        p += 5;
    } else if ((size_t)(end - p) >= 6 && !memcmp(p, "nodes:", 6)) {
        nodes = 1;
        p += 6;
    }
    if (end - p == 3 && !memcmp(p, "all", 3)) {
        if (negate) {
            xl_snprintf(err, errsize, "Can't combine \"^\" and \"all\".");
            return -XL_EINVAL;
        }
        *mask = ~0ULL;
        return 0;
    }
    while (p < end && (*p == ' ' || *p == '\t'))   /* strtoul skips them */
        p++;
    const char *d = p;
    for (; p < end && is_digit(*p); p++)
        if ((lo = lo * 10 + (uint64_t)(*p - '0')) > 0xffffffffULL)
            break;
    if (p == d || (p < end && is_digit(*p)))
        goto bad;
    hi = lo;
    if (p < end && *p == '-') {
        const char *d2 = ++p;
        hi = 0;
        for (; p < end && is_digit(*p); p++)
            if ((hi = hi * 10 + (uint64_t)(*p - '0')) > 0xffffffffULL)
                break;
        if (p == d2 || (p < end && is_digit(*p)) || hi < lo)
            goto bad;
    }
    if (p != end)
        goto bad;
    if (nodes) {
        if (hi > 0) {
            xl_snprintf(err, errsize, "Invalid NUMA node: %s (there is one node, 0).", item);
            return -XL_EINVAL;
        }
        bits = ~0ULL;
    } else {
        if (hi > XLCFG_MAX_CPU) {
            xl_snprintf(err, errsize, "Invalid pcpu range: %s (CPUs 0 to %u).", item,
                        XLCFG_MAX_CPU);
            return -XL_EINVAL;
        }
        bits = (hi == 63 ? ~0ULL : (1ULL << (hi + 1)) - 1) & ~((1ULL << lo) - 1);
    }
    if (negate)
        *mask &= ~bits;
    else
        *mask |= bits;
    return 0;
bad:
    xl_snprintf(err, errsize, "Invalid pcpu range: %s.", item);
    return -XL_EINVAL;
}

int xlcfg_parse_cpumap(const char *s, uint64_t *mask, char *err, size_t errsize)
{
    uint64_t m = 0;
    if (err && errsize)
        err[0] = '\0';
    while (*s) {
        const char *e = s;
        while (*e && *e != ',')
            e++;
        if (e > s) {
            char tmp[1];
            int rc = cpumap_item(s, (size_t)(e - s), &m, err ? err : tmp, err ? errsize : 1);
            if (rc)
                return rc;
        }
        s = *e ? e + 1 : e;
    }
    *mask = m;
    return 0;
}

/* cpus= or cpus_soft=: a string for every vcpu, or a list, entry i for
 * vcpu i (entries past XLCFG_MAX_VCPUS are ignored, as xl ignores those
 * past maxvcpus). An empty hard map is an error (xl: "vcpu hard affinity
 * map is empty"). */
static void apply_cpus(struct lex *lx, const char *key, const struct value *v, int hard)
{
    struct xlcfg *cfg = lx->cfg;
    uint64_t *maps = hard ? cfg->cpus_hard : cfg->cpus_soft;
    unsigned int *nr = hard ? &cfg->nr_cpus_hard : &cfg->nr_cpus_soft;
    char buf[256], err[96];
    uint64_t m;

    if (v->kind != V_LIST) {
        if (decode(lx, &v->tok, NULL, 0, key) < 0)
            return;
        if ((size_t)decode(lx, &v->tok, NULL, 0, key) >= sizeof(buf)) {
            report(lx, 1, v->tok.line, "%s: too long (at most %zu bytes)", key, sizeof(buf) - 1);
            return;
        }
        decode(lx, &v->tok, buf, sizeof(buf), key);
        if (xlcfg_parse_cpumap(buf, &m, err, sizeof(err))) {
            report(lx, 1, v->tok.line, "%s: %s", key, err);
            return;
        }
        if (hard && !m) {
            report(lx, 1, v->tok.line, "%s: `%s' is no CPU (vcpu hard affinity map is empty)",
                   key, buf);
            return;
        }
        for (unsigned int i = 0; i < XLCFG_MAX_VCPUS; i++)
            maps[i] = m;
        *nr = XLCFG_MAX_VCPUS;
        return;
    }
    /* The list parsed already: walk its tokens again. */
    struct lex sub = *lx;
    unsigned int n = 0, bad = 0;
    sub.p = v->tok.s + 1;
    sub.line = v->tok.line;
    for (;;) {
        struct token t = next(&sub);
        if (t.t == T_RBR || t.t == T_EOF || t.t == T_BAD)
            break;
        if (t.t == T_NL || t.t == T_COMMA)
            continue;
        if (t.t == T_LBR) {
            report(lx, 1, t.line, "%s: a list inside the list (each entry is a string)", key);
            return;
        }
        if ((size_t)decode(lx, &t, NULL, 0, key) >= sizeof(buf)) {
            report(lx, 1, t.line, "%s: too long (at most %zu bytes)", key, sizeof(buf) - 1);
            bad = 1;
            n++;
            continue;
        }
        decode(lx, &t, buf, sizeof(buf), key);
        if (xlcfg_parse_cpumap(buf, &m, err, sizeof(err))) {
            report(lx, 1, t.line, "%s: entry %u: %s", key, n, err);
            bad = 1;
        } else if (hard && !m) {
            report(lx, 1, t.line, "%s: entry %u: `%s' is no CPU (vcpu hard affinity map is "
                   "empty)", key, n, buf);
            bad = 1;
        } else if (n < XLCFG_MAX_VCPUS) {
            maps[n] = m;
        }
        n++;
    }
    if (!bad)
        *nr = n < XLCFG_MAX_VCPUS ? n : XLCFG_MAX_VCPUS;
}

/* vif = [ 'spec', ... ]: each entry an xl vif spec (xlvif.h), devid by
 * position. A bad entry is reported on its own line; the key then keeps
 * no vif at all (a domain without the network it asked for is worse than
 * none created). */
static void apply_vif(struct lex *lx, const char *key, const struct value *v)
{
    struct xlcfg *cfg = lx->cfg;
    char buf[XLVIF_SPEC_MAX], err[96];
    unsigned int n = 0, bad = 0;

    cfg->nr_vifs = 0;
    if (v->kind != V_LIST) {
        report(lx, 1, v->tok.line, "%s: must be a list ([ 'mac=...,bridge=...' ])", key);
        return;
    }
    struct lex sub = *lx;
    sub.p = v->tok.s + 1;
    sub.line = v->tok.line;
    for (;;) {
        struct token t = next(&sub);
        if (t.t == T_RBR || t.t == T_EOF || t.t == T_BAD)
            break;
        if (t.t == T_NL || t.t == T_COMMA)
            continue;
        if (t.t != T_STR) {
            report(lx, 1, t.line, "%s: entry %u: each entry is a string", key, n);
            return;
        }
        if (n >= XLCFG_MAX_VIFS) {
            report(lx, 1, t.line, "%s: at most %d vifs", key, XLCFG_MAX_VIFS);
            return;
        }
        if ((size_t)decode(lx, &t, NULL, 0, key) >= sizeof(buf)) {
            report(lx, 1, t.line, "%s: entry %u: too long (at most %zu bytes)", key, n,
                   sizeof(buf) - 1);
            bad = 1;
        } else {
            decode(lx, &t, buf, sizeof(buf), key);
            if (xlvif_parse(buf, &cfg->vif[n], err, sizeof(err))) {
                report(lx, 1, t.line, "%s: entry %u: %s", key, n, err);
                bad = 1;
            }
        }
        n++;
    }
    if (!bad)
        cfg->nr_vifs = n;
}

/* disk = [ 'spec', ... ] (or one string): each entry through xldisk_parse;
 * an entry's error names its line; two entries with one vdev are refused. */
static void apply_disks(struct lex *lx, const struct value *v)
{
    struct xlcfg *cfg = lx->cfg;
    char buf[256], err[128];
    struct lex sub = *lx;
    int list = v->kind == V_LIST;
    cfg->nr_disks = 0;
    sub.p = v->tok.s + (list ? 1 : 0);
    sub.line = v->tok.line;
    for (;;) {
        struct token t = list ? next(&sub) : v->tok;
        if (t.t == T_RBR || t.t == T_EOF || t.t == T_BAD)
            break;
        if (t.t == T_NL || t.t == T_COMMA)
            continue;
        if (t.t != T_STR) {
            report(lx, 1, t.line, "disk: each entry is a string ('vdev=xvda, target=...')");
            return;
        }
        if ((size_t)decode(lx, &t, NULL, 0, "disk") >= sizeof(buf)) {
            report(lx, 1, t.line, "disk: too long (at most %zu bytes)", sizeof(buf) - 1);
            return;
        }
        decode(lx, &t, buf, sizeof(buf), "disk");
        struct xldisk d;
        if (xldisk_parse(buf, &d, err, sizeof(err))) {
            report(lx, 1, t.line, "disk: %s", err);
        } else if (cfg->nr_disks == XLCFG_MAX_DISKS) {
            report(lx, 1, t.line, "disk: at most %u disks", XLCFG_MAX_DISKS);
            return;
        } else {
            for (unsigned int i = 0; i < cfg->nr_disks; i++)
                if (cfg->disks[i].devid == d.devid) {
                    report(lx, 1, t.line, "disk: vdev %s given twice", d.vdev);
                    return;
                }
            cfg->disks[cfg->nr_disks++] = d;
        }
        if (!list)
            break;
    }
}

static int on_slot(enum xlcfg_key k)
{
    switch (k) {
    case XLCFG_K_ON_POWEROFF: return XLCFG_ON_POWEROFF;
    case XLCFG_K_ON_REBOOT: return XLCFG_ON_REBOOT;
    case XLCFG_K_ON_WATCHDOG: return XLCFG_ON_WATCHDOG;
    case XLCFG_K_ON_CRASH: return XLCFG_ON_CRASH;
    default: return XLCFG_ON_SOFT_RESET;
    }
}

static void apply(struct lex *lx, const struct token *key, const struct value *v)
{
    struct xlcfg *cfg = lx->cfg;
    char kname[64], tmp[XLCFG_CMDLINE_MAX], shown[64];
    uint64_t n;
    unsigned int i;
    int found = -1;

    printable(kname, sizeof(kname), key->s, key->n);
    for (i = 0; i < ARRAY_SIZE(known); i++)
        if (tok_is(key, known[i].name))
            found = (int)known[i].k;
    if (found < 0) {
        for (i = 0; i < ARRAY_SIZE(unsupported); i++)
            if (tok_is(key, unsupported[i])) {
                report(lx, 0, key->line, "`%s' is not supported by this toolstack, ignored", kname);
                return;
            }
        report(lx, 0, key->line, "unknown key `%s' ignored", kname);
        return;
    }
    cfg->lines_[found] = key->line;
    cfg->srcs_[found] = lx->src;

    switch ((enum xlcfg_key)found) {
    case XLCFG_K_NAME:
        if (get_string(lx, kname, v, tmp, sizeof(cfg->name)))
            return;
        if (!tmp[0]) {
            report(lx, 1, key->line, "name: must not be empty");
            return;
        }
        if (all_digits(tmp)) {
            report(lx, 1, key->line, "name: `%s' is all digits (it would read as a domain id)", tmp);
            return;
        }
        for (i = 0; tmp[i]; i++)
            if ((unsigned char)tmp[i] < 0x20 || tmp[i] == 0x7f || tmp[i] == '/') {
                report(lx, 1, key->line, "name: control characters and `/' are not allowed");
                return;
            }
        memcpy(cfg->name, tmp, strlen(tmp) + 1);
        return;
    case XLCFG_K_MEMORY:
        if (!get_number(lx, kname, v, 1, XLCFG_MAX_MEMORY, " MiB", &n))
            cfg->memory_mib = n;
        return;
    case XLCFG_K_MAXMEM:
        if (!get_number(lx, kname, v, 1, XLCFG_MAX_MEMORY, " MiB", &n))
            cfg->maxmem_mib = n;
        return;
    case XLCFG_K_VCPUS:
        if (!get_number(lx, kname, v, 1, XLCFG_MAX_VCPUS, "", &n))
            cfg->vcpus = (unsigned int)n;
        return;
    case XLCFG_K_MAXVCPUS:
        if (!get_number(lx, kname, v, 1, XLCFG_MAX_VCPUS, "", &n))
            cfg->maxvcpus = (unsigned int)n;
        return;
    case XLCFG_K_KERNEL:
        if (get_string(lx, kname, v, tmp, sizeof(cfg->kernel)))
            return;
        if (!tmp[0]) {
            report(lx, 1, key->line, "kernel: empty path");
            return;
        }
        memcpy(cfg->kernel, tmp, strlen(tmp) + 1);
        return;
    case XLCFG_K_RAMDISK:
        if (!get_string(lx, kname, v, tmp, sizeof(cfg->ramdisk)))
            memcpy(cfg->ramdisk, tmp, strlen(tmp) + 1);
        return;
    case XLCFG_K_CMDLINE:
        if (!get_string(lx, kname, v, tmp, sizeof(cfg->cmdline)))
            memcpy(cfg->cmdline, tmp, strlen(tmp) + 1);
        return;
    case XLCFG_K_ROOT:
        if (!get_string(lx, kname, v, tmp, sizeof(cfg->root_)))
            memcpy(cfg->root_, tmp, strlen(tmp) + 1);
        return;
    case XLCFG_K_EXTRA:
        if (!get_string(lx, kname, v, tmp, sizeof(cfg->extra_)))
            memcpy(cfg->extra_, tmp, strlen(tmp) + 1);
        return;
    case XLCFG_K_ON_POWEROFF: case XLCFG_K_ON_REBOOT: case XLCFG_K_ON_WATCHDOG:
    case XLCFG_K_ON_CRASH: case XLCFG_K_ON_SOFT_RESET:
        if (get_string(lx, kname, v, tmp, 32)) {
            return;
        }
        for (i = 1; i < ARRAY_SIZE(action_names); i++)
            if (!strcmp(tmp, action_names[i])) {
                cfg->on[on_slot((enum xlcfg_key)found)] = (uint8_t)i;
                return;
            }
        report(lx, 1, key->line, "%s: unknown action `%s' (destroy, restart, "
               "rename-restart, preserve, coredump-destroy, coredump-restart, "
               "soft-reset)", kname, printable(shown, sizeof(shown), tmp, strlen(tmp)));
        return;
    case XLCFG_K_TYPE:
    case XLCFG_K_BUILDER: {
        int is_type = found == XLCFG_K_TYPE;
        if (get_string(lx, kname, v, tmp, 32))
            return;
        if (!strcmp(tmp, is_type ? "pv" : "generic")) {
            cfg->type = XLCFG_TYPE_PV;
            return;
        }
        if (!strcmp(tmp, "hvm")) {
            cfg->type = XLCFG_TYPE_HVM;
            return;
        }
        if (is_type && !strcmp(tmp, "pvh")) {
            cfg->type = XLCFG_TYPE_PVH;
            return;
        }
        report(lx, 1, key->line, "%s: invalid domain type `%s' (%s)", kname,
               printable(shown, sizeof(shown), tmp, strlen(tmp)),
               is_type ? "pv, pvh or hvm" : "generic or hvm");
        return;
    }
    case XLCFG_K_UUID:
        if (get_string(lx, kname, v, tmp, 64))
            return;
        if (xlcfg_parse_uuid(tmp, cfg->uuid)) {
            report(lx, 1, key->line, "uuid: `%s' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                   printable(shown, sizeof(shown), tmp, strlen(tmp)));
            return;
        }
        cfg->has_uuid = 1;
        return;
    case XLCFG_K_CPUS:
    case XLCFG_K_CPUS_SOFT:
        apply_cpus(lx, kname, v, found == XLCFG_K_CPUS);
        return;
    case XLCFG_K_VIF:
        apply_vif(lx, kname, v);
        return;
    case XLCFG_K_DISK:
        apply_disks(lx, v);
        return;
    case XLCFG_K_NR:
        break;
    }
}

/* ---- entry points ---- */

void xlcfg_init(struct xlcfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->on[XLCFG_ON_POWEROFF] = XLCFG_ACTION_DESTROY;
    cfg->on[XLCFG_ON_REBOOT] = XLCFG_ACTION_RESTART;
    cfg->on[2] = XLCFG_ACTION_DESTROY;    /* suspend: not an action slot */
    cfg->on[XLCFG_ON_CRASH] = XLCFG_ACTION_DESTROY;
    cfg->on[XLCFG_ON_WATCHDOG] = XLCFG_ACTION_DESTROY;
    cfg->on[XLCFG_ON_SOFT_RESET] = XLCFG_ACTION_SOFT_RESET;
    cfg->type = XLCFG_TYPE_PV;
}

int xlcfg_parse(struct xlcfg *cfg, const char *source, const char *data,
                size_t len, struct xlcfg_diag *diag)
{
    struct lex lx;
    unsigned int errors_before = cfg->errors_;
    char d[96];

    memset(&lx, 0, sizeof(lx));
    lx.p = data;
    lx.end = data ? data + len : data;
    lx.line = 1;
    lx.src = source ? source : "(config)";
    lx.cfg = cfg;
    lx.diag = diag;
    lx.stopped = cfg->errors_ >= XLCFG_MAX_ERRORS;
    if (!cfg->first_src_)
        cfg->first_src_ = lx.src;

    while (!lx.stopped) {
        struct token key, t;
        struct value v;

        key = next(&lx);
        if (key.t == T_EOF)
            break;
        if (key.t == T_NL || key.t == T_SEMI)
            continue;
        if (key.t == T_BAD) {
            recover(&lx);
            continue;
        }
        if (key.t != T_ID) {
            report(&lx, 1, key.line, "expected `key = value', found %s",
                   tok_desc(&key, d, sizeof(d)));
            recover(&lx);
            continue;
        }
        if (key.n >= 64) {
            report(&lx, 1, key.line, "key too long (at most 63 characters)");
            recover(&lx);
            continue;
        }
        t = next(&lx);
        if (t.t != T_EQ) {
            char kn[64];
            if (t.t != T_BAD)
                report(&lx, 1, t.line, "%s: expected `=', found %s",
                       printable(kn, sizeof(kn), key.s, key.n), tok_desc(&t, d, sizeof(d)));
            recover(&lx);
            continue;
        }
        {
            char kn[64];
            printable(kn, sizeof(kn), key.s, key.n);
            if (parse_value(&lx, next(&lx), &v, 0, kn)) {
                recover(&lx);
                continue;
            }
            t = next(&lx);
            if (t.t != T_NL && t.t != T_SEMI && t.t != T_EOF) {
                if (t.t != T_BAD)
                    report(&lx, 1, t.line, "%s: unexpected %s after the value",
                           kn, tok_desc(&t, d, sizeof(d)));
                recover(&lx);
                continue;
            }
        }
        apply(&lx, &key, &v);
        if (t.t == T_EOF)
            break;
    }
    return cfg->errors_ != errors_before ? -XL_EINVAL : 0;
}

int xlcfg_finish(struct xlcfg *cfg, struct xlcfg_diag *diag)
{
    struct lex lx;
    unsigned int *ln = cfg->lines_;

    memset(&lx, 0, sizeof(lx));
    lx.cfg = cfg;
    lx.diag = diag;
    lx.src = cfg->first_src_ ? cfg->first_src_ : "(config)";
    lx.stopped = cfg->errors_ >= XLCFG_MAX_ERRORS;

    if (!ln[XLCFG_K_NAME])
        report(&lx, 1, 0, "name: not set (every domain needs a name)");
    if (!ln[XLCFG_K_KERNEL])
        report(&lx, 1, 0, "kernel: not set (a PV guest needs a kernel)");
    if (cfg->errors_)
        return -XL_EINVAL;

    if (!ln[XLCFG_K_MEMORY])
        cfg->memory_mib = XLCFG_DEFAULT_MEMORY;
    if (!ln[XLCFG_K_MAXMEM])
        cfg->maxmem_mib = cfg->memory_mib;
    if (cfg->maxmem_mib < cfg->memory_mib) {
        lx.src = cfg->srcs_[XLCFG_K_MAXMEM];
        report(&lx, 1, ln[XLCFG_K_MAXMEM], "maxmem: %llu MiB is less than memory (%llu MiB)",
               (unsigned long long)cfg->maxmem_mib, (unsigned long long)cfg->memory_mib);
    }
    if (!ln[XLCFG_K_VCPUS])
        cfg->vcpus = 1;
    if (!ln[XLCFG_K_MAXVCPUS])
        cfg->maxvcpus = cfg->vcpus;
    if (cfg->maxvcpus < cfg->vcpus) {
        lx.src = cfg->srcs_[XLCFG_K_MAXVCPUS];
        report(&lx, 1, ln[XLCFG_K_MAXVCPUS], "maxvcpus: %u is less than vcpus (%u)",
               cfg->maxvcpus, cfg->vcpus);
    }

    if (ln[XLCFG_K_CMDLINE]) {
        if (ln[XLCFG_K_ROOT] || ln[XLCFG_K_EXTRA]) {
            lx.src = cfg->srcs_[XLCFG_K_CMDLINE];
            report(&lx, 0, ln[XLCFG_K_CMDLINE], "ignoring root= and extra= in favour of cmdline=");
        }
    } else if (ln[XLCFG_K_ROOT] || ln[XLCFG_K_EXTRA]) {
        int n;
        if (ln[XLCFG_K_ROOT] && ln[XLCFG_K_EXTRA])
            n = xl_snprintf(cfg->cmdline, sizeof(cfg->cmdline), "root=%s %s", cfg->root_, cfg->extra_);
        else if (ln[XLCFG_K_ROOT])
            n = xl_snprintf(cfg->cmdline, sizeof(cfg->cmdline), "root=%s", cfg->root_);
        else
            n = xl_snprintf(cfg->cmdline, sizeof(cfg->cmdline), "%s", cfg->extra_);
        if (n < 0 || (size_t)n >= sizeof(cfg->cmdline)) {
            enum xlcfg_key k = ln[XLCFG_K_ROOT] ? XLCFG_K_ROOT : XLCFG_K_EXTRA;
            lx.src = cfg->srcs_[k];
            report(&lx, 1, ln[k], "root/extra: the command line they make is too long "
                   "(at most %zu bytes)", sizeof(cfg->cmdline) - 1);
            cfg->cmdline[0] = '\0';
        }
    }
    return cfg->errors_ ? -XL_EINVAL : 0;
}
