/*
 * format.c - xl_vsnprintf, the one formatter of the hv and guest kernels.
 * Flags '-', '0', '#'. Pure: no I/O, no allocation; host unit tests link it.
 * Must never: write past `size` bytes or read past a %s precision.
 */
#include <xenolith/lib.h>

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    int left, zero, alt, width, prec;
};

static void put_str(struct out *o, const char *s, const struct spec *sp)
{
    int n = 0;
    if (!s)
        s = "(null)";
    while ((sp->prec < 0 || n < sp->prec) && s[n])
        n++;
    if (!sp->left)
        put_pad(o, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        put(o, s[i]);
    if (sp->left)
        put_pad(o, ' ', sp->width - n);
}

static void put_num(struct out *o, uint64_t v, int neg, unsigned base, int upper,
                    const struct spec *sp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int prefix = sp->alt && base == 16 ? 2 : 0;
    int len = n + neg + prefix;
    if (!sp->left && !sp->zero)
        put_pad(o, ' ', sp->width - len);
    if (neg)
        put(o, '-');
    if (prefix) {
        put(o, '0');
        put(o, upper ? 'X' : 'x');
    }
    if (!sp->left && sp->zero)
        put_pad(o, '0', sp->width - len);
    while (n)
        put(o, tmp[--n]);
    if (sp->left)
        put_pad(o, ' ', sp->width - len);
}

/* Parse flags, width, precision; returns the pointer past them. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){ .prec = -1 };
    for (;; f++) {
        if (*f == '-')
            sp->left = 1;
        else if (*f == '0')
            sp->zero = 1;
        else if (*f == '#')
            sp->alt = 1;
        else
            break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = 1;
            sp->width = -sp->width;
        }
        f++;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    if (*f == '.') {
        f++;
        sp->prec = 0;
        if (*f == '*') {
            sp->prec = va_arg(*ap, int);
            f++;
        }
        while (*f >= '0' && *f <= '9')
            sp->prec = sp->prec * 10 + (*f++ - '0');
    }
    return f;
}

int xl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct out o = { buf, size, 0 };
    va_list ap;
    va_copy(ap, ap_in);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        struct spec sp;
        f = parse_spec(f + 1, &sp, &ap);
        int lng = 0, shrt = 0;
        while (*f == 'l' || *f == 'z' || *f == 'h') {
            if (*f == 'h')
                shrt++;
            else
                lng = 1;
            f++;
        }
        switch (*f) {
        case 'd': case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (!lng && shrt)
                v = shrt == 1 ? (int64_t)(short)v : (int64_t)(signed char)v;
            put_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, 0, &sp);
            break;
        }
        case 'u': case 'x': case 'X': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
            if (!lng && shrt)
                v = shrt == 1 ? (uint64_t)(unsigned short)v : (uint64_t)(unsigned char)v;
            put_num(&o, v, 0, *f == 'u' ? 10 : 16, *f == 'X', &sp);
            break;
        }
        case 'p':
            sp.alt = 1;
            put_num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, &sp);
            break;
        case 's':
            put_str(&o, va_arg(ap, const char *), &sp);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!sp.left)
                put_pad(&o, ' ', sp.width - 1);
            put(&o, c);
            if (sp.left)
                put_pad(&o, ' ', sp.width - 1);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case '\0':
            f--; /* trailing '%': stop at the NUL */
            break;
        default:
            put(&o, '%');
            put(&o, *f);
        }
    }
    va_end(ap);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int xl_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
