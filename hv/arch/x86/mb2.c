/*
 * mb2.c - the multiboot2 information structure (MBI) -> struct
 * xl_bootinfo (see mb2.h; the convention in docs/boot-info.md,
 * "Multiboot2 path"). Pure: no inline asm, no globals, no logging; built
 * into the hv and, with sanitizers, into tests/unit/test_mb2.c.
 * Owns: which MBI tags count and how (memory map types, module kinds
 * from module command lines, the RSDP copy), and the refusal messages.
 * Must never: read the MBI past min(total_size, avail) or past a tag's
 * own size; loop on a tag or entry of size 0; hand out as usable the hv
 * image or a module (they become XL_MEM_HV / XL_MEM_BOOT).
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/mb2.h>

/* Multiboot2 tag types (multiboot2 specification, section 3.6). */
enum {
    MB2_TAG_END = 0, MB2_TAG_CMDLINE = 1, MB2_TAG_MODULE = 3, MB2_TAG_MMAP = 6,
    MB2_TAG_FRAMEBUFFER = 8, MB2_TAG_ACPI_OLD = 14, MB2_TAG_ACPI_NEW = 15,
};
/* Memory map entry types. */
enum { MB2_MEM_AVAILABLE = 1, MB2_MEM_ACPI_RECLAIM = 3, MB2_MEM_NVS = 4 };

#define MB2_MAX_TOTAL (1u << 20) /* a larger MBI is taken as garbage */
#define PAGE          4096ULL
#define PAGE_END_MAX  (~0ULL & ~(PAGE - 1))

struct conv {
    const uint8_t *mbi;
    uint32_t total;
    const struct mb2_env *env;
    struct xl_bootinfo *bi;
    const uint8_t *mmap;        /* the memory map tag's entries, NULL if none */
    uint32_t mmap_entry_size, mmap_n;
    char *err;
    size_t errlen;
};

static int fail(struct conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct conv *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->errlen)
        xl_vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -XL_EINVAL;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The NUL-terminated string at s, at most n bytes including the NUL;
 * its length, or -1 if there is no NUL in them. */
static long str_len(const uint8_t *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!s[i])
            return i;
    return -1;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Copy n bytes of s into dst[max] with a NUL; refuses what does not fit. */
static int copy_str(struct conv *c, char *dst, size_t max, const char *s, size_t n, const char *what)
{
    if (n >= max)
        return fail(c, "%s is %zu bytes long, at most %zu fit", what, n, max - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* One word of s[0..n) from *pos on, leading blanks skipped: its start and
 * length (0 at the end). */
static size_t next_word(const char *s, size_t n, size_t *pos, const char **w)
{
    size_t p = *pos;
    while (p < n && is_space(s[p]))
        p++;
    size_t b = p;
    while (p < n && !is_space(s[p]))
        p++;
    *w = s + b;
    *pos = p;
    return p - b;
}

static int word_is(const char *w, size_t n, const char *lit)
{
    return n == strlen(lit) && !memcmp(w, lit, n);
}

/*
 * A module tag's string (GRUB passes the words after module2's file):
 * [dom0|ramdisk|domu] [name=NAME] [CMDLINE]. Without a kind word the
 * first module is dom0, the second its ramdisk (Xen's order); later ones
 * must say their kind.
 */
static int parse_module(struct conv *c, uint32_t idx, const char *s, size_t n, struct xl_module *m)
{
    size_t pos = 0, save;
    const char *w;
    size_t wl = next_word(s, n, &pos, &w);
    char what[48];
    xl_snprintf(what, sizeof(what), "module %u's name", idx + 1);
    m->name[0] = '\0';
    if (word_is(w, wl, "dom0"))
        m->kind = XL_MOD_DOM0;
    else if (word_is(w, wl, "ramdisk"))
        m->kind = XL_MOD_RAMDISK;
    else if (word_is(w, wl, "domu"))
        m->kind = XL_MOD_DOMU;
    else if (idx < 2) {
        m->kind = idx == 0 ? XL_MOD_DOM0 : XL_MOD_RAMDISK;
        pos = 0; /* no kind word: all of it is the command line */
    } else
        return fail(c, "module %u: its command line must start with dom0, ramdisk or domu "
                       "(only the first two modules may leave it out)", idx + 1);
    save = pos;
    wl = next_word(s, n, &pos, &w);
    if (wl > 5 && !memcmp(w, "name=", 5)) {
        if (copy_str(c, m->name, sizeof(m->name), w + 5, wl - 5, what))
            return -XL_EINVAL;
    } else
        pos = save;
    if (!m->name[0]) { /* dom0, ramdisk, domu1, domu2, ...: the kind, a domU's number */
        unsigned int nth = 1;
        for (uint32_t i = 0; i < idx; i++)
            nth += c->bi->modules[i].kind == XL_MOD_DOMU;
        if (m->kind == XL_MOD_DOMU)
            xl_snprintf(m->name, sizeof(m->name), "domu%u", nth);
        else
            xl_snprintf(m->name, sizeof(m->name), "%s", m->kind == XL_MOD_DOM0 ? "dom0" : "ramdisk");
    }
    while (pos < n && is_space(s[pos]))
        pos++;
    xl_snprintf(what, sizeof(what), "module %u's command line", idx + 1);
    return copy_str(c, m->cmdline, sizeof(m->cmdline), s + pos, n - pos, what);
}

static int take_module(struct conv *c, const uint8_t *t, uint32_t size)
{
    struct xl_bootinfo *bi = c->bi;
    if (size < 17)
        return fail(c, "module tag of %u bytes, want at least 17", size);
    if (bi->nr_modules >= XL_MAX_MODULES)
        return fail(c, "more than %u modules; at most %u are taken", XL_MAX_MODULES, XL_MAX_MODULES);
    uint32_t idx = bi->nr_modules;
    uint64_t start = rd32(t + 8), end = rd32(t + 12);
    long sl = str_len(t + 16, size - 16);
    if (sl < 0)
        return fail(c, "module %u: its command line is not NUL-terminated", idx + 1);
    if (start & (PAGE - 1))
        return fail(c, "module %u at %#lx is not page aligned (GRUB page-aligns module2 loads)",
                     idx + 1, (unsigned long)start);
    if (end < start)
        return fail(c, "module %u ends at %#lx before its start %#lx", idx + 1, (unsigned long)end,
                    (unsigned long)start);
    const struct mb2_env *e = c->env;
    if (ROUNDUP(end, PAGE) > e->hv_start && start < e->hv_end && end > start)
        return fail(c, "module %u at %#lx-%#lx overlaps the hv image", idx + 1, (unsigned long)start,
                    (unsigned long)end);
    struct xl_module *m = &bi->modules[idx];
    if (parse_module(c, idx, (const char *)t + 16, (size_t)sl, m))
        return -XL_EINVAL;
    m->start = start;
    m->len = end - start;
    bi->nr_modules++;
    return 0;
}

/* Hand-over order, as the UEFI loader's: dom0, the ramdisk, domUs in MBI
 * order. Exactly one dom0, at most one ramdisk. */
static int order_modules(struct conv *c)
{
    struct xl_bootinfo *bi = c->bi;
    unsigned int n[4] = { 0 };
    for (uint32_t i = 0; i < bi->nr_modules; i++)
        n[bi->modules[i].kind]++;
    if (n[XL_MOD_DOM0] != 1)
        return fail(c, "%u dom0 modules; want exactly one (GRUB: module2 /dom0.elf dom0 ...)",
                    n[XL_MOD_DOM0]);
    if (n[XL_MOD_RAMDISK] > 1)
        return fail(c, "%u ramdisk modules; at most one", n[XL_MOD_RAMDISK]);
    for (uint32_t i = 1; i < bi->nr_modules; i++) { /* stable insertion sort by kind */
        struct xl_module m = bi->modules[i];
        uint32_t j = i;
        for (; j > 0 && bi->modules[j - 1].kind > m.kind; j--)
            bi->modules[j] = bi->modules[j - 1];
        bi->modules[j] = m;
    }
    return 0;
}

/* ---- memory map ---- */

/* Region i of those that make the map: 0 the hv image, 1..nr_modules the
 * modules, then the firmware's entries. Returns 0 for an empty one. */
struct region {
    uint64_t base, end;
    uint32_t type;
    int firmware;
};

static uint32_t fw_type(uint32_t t)
{
    switch (t) {
    case MB2_MEM_AVAILABLE:    return XL_MEM_USABLE;
    case MB2_MEM_ACPI_RECLAIM: return XL_MEM_ACPI;
    case MB2_MEM_NVS:          return XL_MEM_ACPI_NVS;
    default:                   return XL_MEM_RESERVED; /* 2 reserved, 5 bad RAM, others */
    }
}

/* Which of two firmware types wins where both cover a page. */
static int fw_rank(uint32_t t)
{
    switch (t) {
    case XL_MEM_USABLE:   return 1;
    case XL_MEM_ACPI:     return 2;
    case XL_MEM_ACPI_NVS: return 3;
    default:              return 4;
    }
}

static int region_at(const struct conv *c, uint32_t i, struct region *r)
{
    const struct xl_bootinfo *bi = c->bi;
    if (i == 0) {
        *r = (struct region){ c->env->hv_start & ~(PAGE - 1), ROUNDUP(c->env->hv_end, PAGE), XL_MEM_HV, 0 };
    } else if (i <= bi->nr_modules) {
        const struct xl_module *m = &bi->modules[i - 1];
        *r = (struct region){ m->start, ROUNDUP(m->start + m->len, PAGE), XL_MEM_BOOT, 0 };
    } else {
        const uint8_t *e = c->mmap + (size_t)(i - 1 - bi->nr_modules) * c->mmap_entry_size;
        uint64_t base = rd64(e), len = rd64(e + 8);
        uint64_t end = len > ~0ULL - base ? ~0ULL : base + len;
        r->type = fw_type(rd32(e + 16));
        r->firmware = 1;
        if (r->type == XL_MEM_USABLE) { /* shrink to whole pages */
            r->base = base > PAGE_END_MAX ? PAGE_END_MAX : ROUNDUP(base, PAGE);
            r->end = end & ~(PAGE - 1);
        } else {                        /* grow to whole pages */
            r->base = base & ~(PAGE - 1);
            r->end = end > PAGE_END_MAX ? PAGE_END_MAX : ROUNDUP(end, PAGE);
        }
    }
    return r->end > r->base;
}

static int emit(struct conv *c, uint64_t base, uint64_t end, uint32_t type)
{
    struct xl_bootinfo *bi = c->bi;
    if (bi->nr_ranges) {
        struct xl_mem_range *last = &bi->ranges[bi->nr_ranges - 1];
        if (last->type == type && last->base + last->len == base) {
            last->len += end - base;
            return 0;
        }
    }
    if (bi->nr_ranges >= XL_MAX_MEMRANGES)
        return fail(c, "the memory map needs more than %u ranges", XL_MAX_MEMRANGES);
    bi->ranges[bi->nr_ranges++] = (struct xl_mem_range){ .base = base, .len = end - base, .type = type };
    return 0;
}

/*
 * Sweep the address space from boundary to boundary: at each point the
 * firmware's strongest type covering it (reserved > NVS > ACPI > usable)
 * and the hv image or a module over it decide the range's type. The hv
 * image and modules must lie in usable RAM. Output sorted, disjoint,
 * merged, in whole pages.
 */
static int build_map(struct conv *c)
{
    uint32_t nr = 1 + c->bi->nr_modules + c->mmap_n;
    struct region r;
    uint64_t cur = ~0ULL;
    for (uint32_t i = 0; i < nr; i++)
        if (region_at(c, i, &r) && r.base < cur)
            cur = r.base;
    while (cur != ~0ULL) {
        uint64_t next = ~0ULL;
        uint32_t fw = 0, own = 0, own_idx = 0;
        for (uint32_t i = 0; i < nr; i++) {
            if (!region_at(c, i, &r))
                continue;
            if (r.base > cur && r.base < next)
                next = r.base;
            if (r.end > cur && r.end < next)
                next = r.end;
            if (r.base > cur || r.end <= cur)
                continue;
            if (r.firmware) {
                if (!fw || fw_rank(r.type) > fw_rank(fw))
                    fw = r.type;
            } else if (!own) {
                own = r.type;
                own_idx = i;
            }
        }
        if (own && fw != XL_MEM_USABLE) {
            char what[24] = "the hv image";
            if (own_idx)
                xl_snprintf(what, sizeof(what), "module %u", own_idx);
            return fail(c, "%s at page %#lx is not in usable RAM (%s there)", what,
                        (unsigned long)cur, fw ? "firmware-reserved" : "no RAM");
        }
        if (fw && next != ~0ULL && emit(c, cur, next, own ? own : fw))
            return -XL_EINVAL;
        cur = next;
    }
    return 0;
}

/* ---- tags ---- */

static int take_mmap(struct conv *c, const uint8_t *t, uint32_t size)
{
    if (size < 16)
        return fail(c, "memory map tag of %u bytes, want at least 16", size);
    uint32_t es = rd32(t + 8);
    if (es < 24 || es % 8)
        return fail(c, "memory map entries of %u bytes; want a multiple of 8, at least 24", es);
    uint32_t n = (size - 16) / es;
    if (n > MB2_MAX_MMAP_ENTRIES)
        return fail(c, "memory map of %u entries; at most %u are taken", n, MB2_MAX_MMAP_ENTRIES);
    c->mmap = t + 16;
    c->mmap_entry_size = es;
    c->mmap_n = n;
    return 0;
}

static void take_framebuffer(struct conv *c, const uint8_t *t, uint32_t size)
{
    if (size < 38 || t[29] != 1 || t[28] != 32) /* direct RGB, 32 bits per pixel only */
        return;
    uint8_t red_pos = t[32], red_size = t[33];
    if (red_size != 8 || (red_pos != 0 && red_pos != 16))
        return;
    struct xl_framebuffer *fb = &c->bi->fb;
    fb->base = rd64(t + 8);
    fb->pitch = rd32(t + 16) / 4;
    fb->width = rd32(t + 20);
    fb->height = rd32(t + 24);
    fb->size = (uint64_t)rd32(t + 16) * fb->height;
    fb->format = red_pos == 16 ? 1 : 0;
}

int mb2_to_bootinfo(const void *mbi, size_t avail, const struct mb2_env *env,
                    struct xl_bootinfo *bi, char *err, size_t errlen)
{
    struct conv c = { .mbi = mbi, .env = env, .bi = bi, .err = err, .errlen = errlen };
    if (errlen)
        err[0] = '\0';
    memset(bi, 0, sizeof(*bi));
    if (avail < 8)
        return fail(&c, "no room for the MBI's header");
    c.total = rd32(c.mbi);
    if (c.total < 16 || c.total > avail || c.total > MB2_MAX_TOTAL)
        return fail(&c, "MBI total_size %u is not in 16..%zu", c.total,
                    MIN(avail, (size_t)MB2_MAX_TOTAL));
    const uint8_t *acpi_old = NULL, *acpi_new = NULL;
    uint32_t acpi_old_len = 0, acpi_new_len = 0;
    int ended = 0;
    for (uint32_t off = 8; off < c.total && !ended; ) {
        if (c.total - off < 8)
            return fail(&c, "tag at offset %u: its header runs past total_size %u", off, c.total);
        const uint8_t *t = c.mbi + off;
        uint32_t type = rd32(t), size = rd32(t + 4);
        if (size < 8)
            return fail(&c, "tag %u at offset %u has size %u (less than its header)", type, off, size);
        if (size > c.total - off)
            return fail(&c, "tag %u at offset %u of size %u runs past total_size %u", type, off,
                        size, c.total);
        switch (type) {
        case MB2_TAG_END:
            ended = 1;
            break;
        case MB2_TAG_CMDLINE: {
            long l = str_len(t + 8, size - 8);
            if (l < 0)
                return fail(&c, "the command line tag is not NUL-terminated");
            if (copy_str(&c, bi->hv_cmdline, sizeof(bi->hv_cmdline), (const char *)t + 8,
                         (size_t)l, "the hv command line"))
                return -XL_EINVAL;
            break;
        }
        case MB2_TAG_MODULE:
            if (take_module(&c, t, size))
                return -XL_EINVAL;
            break;
        case MB2_TAG_MMAP:
            if (take_mmap(&c, t, size))
                return -XL_EINVAL;
            break;
        case MB2_TAG_FRAMEBUFFER:
            take_framebuffer(&c, t, size);
            break;
        case MB2_TAG_ACPI_OLD:
            if (size < 8 + 20)
                return fail(&c, "old ACPI tag of %u bytes holds no RSDP (want at least 28)", size);
            acpi_old = t + 8;
            acpi_old_len = size - 8;
            break;
        case MB2_TAG_ACPI_NEW:
            if (size < 8 + 36)
                return fail(&c, "new ACPI tag of %u bytes holds no RSDP 2.0 (want at least 44)", size);
            acpi_new = t + 8;
            acpi_new_len = size - 8;
            break;
        default:
            break; /* tags the hv has no use for */
        }
        off += (size + 7) & ~7u;
    }
    if (!c.mmap)
        return fail(&c, "no memory map tag (type 6)");
    if (acpi_new || acpi_old) { /* the ACPI 2.0 RSDP preferred, as on the UEFI path */
        const uint8_t *r = acpi_new ? acpi_new : acpi_old;
        uint32_t len = MIN(acpi_new ? acpi_new_len : acpi_old_len, (uint32_t)MB2_RSDP_MAX);
        memset(env->rsdp_buf, 0, MB2_RSDP_MAX);
        memcpy(env->rsdp_buf, r, len);
        bi->rsdp = env->rsdp_buf_phys;
    }
    if (order_modules(&c) || build_map(&c))
        return -XL_EINVAL;
    bi->magic = XL_BOOTINFO_MAGIC;
    bi->version = XL_BOOTINFO_VERSION;
    bi->size = sizeof(*bi);
    bi->loader_tsc = env->loader_tsc;
    memcpy(bi->boot_path, "multiboot2", sizeof("multiboot2"));
    return 0;
}
