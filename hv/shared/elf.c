/*
 * elf.c - bounds-checked ELF64 x86_64 reader and Xen ELF note collector
 * (API in xenolith/elf.h). Shared verbatim by the hypervisor, the UEFI
 * loader and host unit tests.
 * Owns: validating image headers, walking notes, decoding Xen notes and
 * the legacy __xen_guest string.
 * Must never: read a byte outside [data, data + size), allocate, do I/O,
 * or use libc (it is built with -nostdinc); every offset + size sum is
 * checked for overflow before it is compared against the buffer.
 */
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xen/elfnote.h>
#include <xen/features.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define EV_CURRENT    1
#define ET_EXEC       2
#define ET_DYN        3
#define EM_X86_64     62
#define SHN_UNDEF     0

/* Set *why (if any) and return err. */
static int fail(const char **why, const char *msg, int err)
{
    if (why)
        *why = msg;
    return err;
}

/* True if [off, off + len) lies inside a buffer of `size` bytes. */
static int in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* True if a * b fits in 64 bits; stores the product in *res. */
static int mul_ok(uint64_t a, uint64_t b, uint64_t *res)
{
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *res = a * b;
    return 1;
}

/* Byte-wise compare of n bytes; 0 if equal. */
static int xl_memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

/* Compare NUL-terminated strings; 0 if equal. */
static int xl_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

/* Copy at most srclen bytes of src (stopping at NUL) into dst[dstlen],
 * always NUL-terminating (truncating if needed). */
static void copy_str(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t i = 0;
    if (dstlen == 0)
        return;
    for (; i + 1 < dstlen && i < srclen && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

/* Little-endian read of n (<= 8) bytes. */
static uint64_t read_le(const void *p, unsigned int n)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (unsigned int i = n; i > 0; i--)
        v = (v << 8) | b[i - 1];
    return v;
}

/* Section header i, or NULL if out of range. */
static const elf64_shdr *elf_shdr(const struct elf_image *img, unsigned int i)
{
    if (i >= img->ehdr->e_shnum)
        return NULL;
    return (const elf64_shdr *)(img->data + img->ehdr->e_shoff +
                                (uint64_t)i * sizeof(elf64_shdr));
}

/* Check the identification bytes, type and machine of the header. */
static int check_ident(const elf64_ehdr *eh, const char **why)
{
    static const unsigned char magic[4] = { 0x7f, 'E', 'L', 'F' };
    if (xl_memcmp(eh->e_ident, magic, 4) != 0)
        return fail(why, "not an ELF file (bad magic)", -XL_ENOEXEC);
    if (eh->e_ident[4] != ELFCLASS64)
        return fail(why, "not a 64-bit ELF (bad class)", -XL_ENOEXEC);
    if (eh->e_ident[5] != ELFDATA2LSB)
        return fail(why, "not a little-endian ELF", -XL_ENOEXEC);
    if (eh->e_ident[6] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return fail(why, "unsupported ELF version", -XL_ENOEXEC);
    if (eh->e_machine != EM_X86_64)
        return fail(why, "not an x86_64 ELF (bad machine)", -XL_ENOEXEC);
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return fail(why, "not an executable ELF (bad type)", -XL_ENOEXEC);
    return 0;
}

/* Check that a header table (off, num entries of entsize) fits and is aligned. */
static int check_table(const struct elf_image *img, uint64_t off, uint64_t num,
                       uint64_t entsize, uint64_t want_entsize)
{
    uint64_t bytes;
    if (num == 0)
        return 1;
    if (entsize != want_entsize || !mul_ok(num, entsize, &bytes))
        return 0;
    if (!in_bounds(off, bytes, img->size))
        return 0;
    return ((uintptr_t)(img->data + off) & 7) == 0;
}

/* Check that every PT_LOAD's file bytes are inside the image and its
 * address ranges do not wrap. */
static int check_loads(const struct elf_image *img, const char **why)
{
    for (unsigned int i = 0; i < img->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(img, i);
        if (ph->p_type != ELF_PT_LOAD)
            continue;
        if (!in_bounds(ph->p_offset, ph->p_filesz, img->size))
            return fail(why, "PT_LOAD segment data outside the file", -XL_EINVAL);
        if (ph->p_filesz > ph->p_memsz)
            return fail(why, "PT_LOAD segment has p_filesz > p_memsz", -XL_EINVAL);
        if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr ||
            ph->p_paddr + ph->p_memsz < ph->p_paddr)
            return fail(why, "PT_LOAD segment address range wraps", -XL_EINVAL);
    }
    return 0;
}

int elf_parse(struct elf_image *img, const void *data, size_t size, const char **why)
{
    const elf64_ehdr *eh = data;
    int rc;

    img->data = data;
    img->size = size;
    img->ehdr = NULL;
    if (!data || size < sizeof(elf64_ehdr))
        return fail(why, "file too small for an ELF header", -XL_ENOEXEC);
    if ((uintptr_t)data & 7)
        return fail(why, "image buffer not 8-byte aligned", -XL_EINVAL);
    rc = check_ident(eh, why);
    if (rc)
        return rc;
    img->ehdr = eh;
    if (!check_table(img, eh->e_phoff, eh->e_phnum, eh->e_phentsize, sizeof(elf64_phdr)))
        rc = fail(why, "program header table outside the file or malformed", -XL_EINVAL);
    else if (!check_table(img, eh->e_shoff, eh->e_shnum, eh->e_shentsize, sizeof(elf64_shdr)))
        rc = fail(why, "section header table outside the file or malformed", -XL_EINVAL);
    else if (eh->e_shnum && eh->e_shstrndx != SHN_UNDEF && eh->e_shstrndx >= eh->e_shnum)
        rc = fail(why, "section name table index out of range", -XL_EINVAL);
    else
        rc = check_loads(img, why);
    if (rc)
        img->ehdr = NULL;
    return rc;
}

const elf64_phdr *elf_phdr(const struct elf_image *img, unsigned int i)
{
    if (!img->ehdr || i >= img->ehdr->e_phnum)
        return NULL;
    return (const elf64_phdr *)(img->data + img->ehdr->e_phoff +
                                (uint64_t)i * sizeof(elf64_phdr));
}

int elf_load_bounds(const struct elf_image *img, uint64_t *vstart, uint64_t *vend,
                    uint64_t *pstart, uint64_t *pend)
{
    uint64_t vs = UINT64_MAX, ve = 0, ps = UINT64_MAX, pe = 0;
    int found = 0;

    for (unsigned int i = 0; img->ehdr && i < img->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(img, i);
        if (ph->p_type != ELF_PT_LOAD)
            continue;
        found = 1;
        if (ph->p_vaddr < vs)
            vs = ph->p_vaddr;
        if (ph->p_vaddr + ph->p_memsz > ve)
            ve = ph->p_vaddr + ph->p_memsz;
        if (ph->p_paddr < ps)
            ps = ph->p_paddr;
        if (ph->p_paddr + ph->p_memsz > pe)
            pe = ph->p_paddr + ph->p_memsz;
    }
    if (!found)
        return -XL_ENOEXEC;
    if (vstart) *vstart = vs;
    if (vend) *vend = ve;
    if (pstart) *pstart = ps;
    if (pend) *pend = pe;
    return 0;
}

/* Round v up to a multiple of align (a power of two); 0 on overflow. */
static int round_up(uint64_t v, uint64_t align, uint64_t *res)
{
    if (v > UINT64_MAX - (align - 1))
        return 0;
    *res = (v + align - 1) & ~(align - 1);
    return 1;
}

/* True if all len bytes at p are zero. */
static int all_zero(const uint8_t *p, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Walk the notes in [off, off + len) of the image with the given padding
 * alignment (4 or 8). Returns fn's non-zero value, 0, or -XL_EINVAL. */
static int walk_notes(const struct elf_image *img, uint64_t off, uint64_t len,
                      uint64_t align, elf_note_fn fn, void *ctx)
{
    const uint8_t *p, *end;
    if (!in_bounds(off, len, img->size))
        return -XL_EINVAL;
    p = img->data + off;
    end = p + len;
    while (p < end) {
        uint64_t left = (uint64_t)(end - p), namesz, descsz, name_pad, desc_pad;
        const char *name = "";
        int rc;
        if (left < 12)
            return all_zero(p, left) ? 0 : -XL_EINVAL;
        namesz = read_le(p, 4);
        descsz = read_le(p + 4, 4);
        if (!round_up(namesz, align, &name_pad) || !round_up(descsz, align, &desc_pad))
            return -XL_EINVAL;
        if (!in_bounds(12, name_pad, left) || !in_bounds(12 + name_pad, descsz, left))
            return -XL_EINVAL;
        if (namesz) {
            name = (const char *)p + 12;
            if (name[namesz - 1] != '\0')
                return -XL_EINVAL;
        }
        rc = fn(ctx, name, (uint32_t)read_le(p + 8, 4), p + 12 + name_pad, (uint32_t)descsz);
        if (rc)
            return rc;
        /* The final note's descriptor padding may be missing. */
        if (!in_bounds(12 + name_pad, desc_pad, left))
            return 0;
        p += 12 + name_pad + desc_pad;
    }
    return 0;
}

/* Note padding for a segment/section alignment value. */
static uint64_t note_align(uint64_t a)
{
    return a == 8 ? 8 : 4;
}

int elf_foreach_note(const struct elf_image *img, elf_note_fn fn, void *ctx)
{
    int seen = 0, rc;

    if (!img->ehdr)
        return -XL_EINVAL;
    for (unsigned int i = 0; i < img->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(img, i);
        if (ph->p_type != ELF_PT_NOTE)
            continue;
        seen = 1;
        rc = walk_notes(img, ph->p_offset, ph->p_filesz, note_align(ph->p_align), fn, ctx);
        if (rc)
            return rc;
    }
    for (unsigned int i = 0; !seen && i < img->ehdr->e_shnum; i++) {
        const elf64_shdr *sh = elf_shdr(img, i);
        if (sh->sh_type != ELF_SHT_NOTE)
            continue;
        rc = walk_notes(img, sh->sh_offset, sh->sh_size, note_align(sh->sh_addralign), fn, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- Xen notes ---- */

struct xen_note_ctx {
    struct xen_elfnotes *out;
    int found;
};

/* Decode a 4- or 8-byte numeric note; -XL_EINVAL for other sizes. */
static int note_num(const void *desc, uint32_t descsz, uint64_t *val)
{
    if (descsz != 4 && descsz != 8)
        return -XL_EINVAL;
    *val = read_le(desc, descsz);
    return 0;
}

/* elf_note_fn: record one note named "Xen" into ctx->out. */
static int xen_note_cb(void *vctx, const char *name, uint32_t type,
                       const void *desc, uint32_t descsz)
{
    struct xen_note_ctx *c = vctx;
    struct xen_elfnotes *o = c->out;
    int rc = 0;

    if (xl_strcmp(name, "Xen") != 0)
        return 0;
    c->found = 1;
    switch (type) {
    case XEN_ELFNOTE_ENTRY:
        rc = note_num(desc, descsz, &o->entry);
        o->has_entry = !rc;
        break;
    case XEN_ELFNOTE_HYPERCALL_PAGE:
        rc = note_num(desc, descsz, &o->hypercall_page);
        o->has_hypercall_page = !rc;
        break;
    case XEN_ELFNOTE_VIRT_BASE:
        rc = note_num(desc, descsz, &o->virt_base);
        o->has_virt_base = !rc;
        break;
    case XEN_ELFNOTE_PADDR_OFFSET:
        rc = note_num(desc, descsz, &o->paddr_offset);
        o->has_paddr_offset = !rc;
        break;
    case XEN_ELFNOTE_INIT_P2M:
        rc = note_num(desc, descsz, &o->init_p2m);
        o->has_init_p2m = !rc;
        break;
    case XEN_ELFNOTE_GUEST_OS:
        copy_str(o->guest_os, sizeof(o->guest_os), desc, descsz);
        break;
    case XEN_ELFNOTE_XEN_VERSION:
        copy_str(o->xen_version, sizeof(o->xen_version), desc, descsz);
        o->has_xen_version = 1;
        break;
    case XEN_ELFNOTE_LOADER:
        copy_str(o->loader, sizeof(o->loader), desc, descsz);
        break;
    case XEN_ELFNOTE_FEATURES:
        copy_str(o->features, sizeof(o->features), desc, descsz);
        rc = elf_xen_parse_features(o->features, o->f_supported, o->f_required);
        break;
    case XEN_ELFNOTE_SUPPORTED_FEATURES:
        /* An array of 32-bit XENFEAT submaps; we know submap 0. */
        if (descsz < 4)
            return -XL_EINVAL;
        o->f_supported[0] |= (uint32_t)read_le(desc, 4);
        o->has_supported_features = 1;
        break;
    default:
        break;
    }
    return rc;
}

/* Parse an unsigned number ("0x" hex or decimal) from s[0..len). */
static int parse_u64(const char *s, size_t len, uint64_t *val)
{
    uint64_t v = 0, base = 10;
    size_t i = 0;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == len)
        return -XL_EINVAL;
    for (; i < len; i++) {
        char ch = s[i];
        uint64_t d;
        if (ch >= '0' && ch <= '9')
            d = (uint64_t)(ch - '0');
        else if (base == 16 && ch >= 'a' && ch <= 'f')
            d = (uint64_t)(ch - 'a' + 10);
        else if (base == 16 && ch >= 'A' && ch <= 'F')
            d = (uint64_t)(ch - 'A' + 10);
        else
            return -XL_EINVAL;
        if (v > (UINT64_MAX - d) / base)
            return -XL_EINVAL;
        v = v * base + d;
    }
    *val = v;
    return 0;
}

/* True if key[0..klen) equals the NUL-terminated word. */
static int key_is(const char *key, size_t klen, const char *word)
{
    size_t i = 0;
    for (; i < klen && word[i]; i++)
        if (key[i] != word[i])
            return 0;
    return i == klen && word[i] == '\0';
}

/* Apply one KEY=VALUE item of the legacy string; *hpage receives the
 * HYPERCALL_PAGE page number. */
static int legacy_item(struct xen_elfnotes *o, const char *k, size_t kl,
                       const char *v, size_t vl, uint64_t *hpage, int *has_hpage)
{
    if (key_is(k, kl, "GUEST_OS"))
        copy_str(o->guest_os, sizeof(o->guest_os), v, vl);
    else if (key_is(k, kl, "XEN_VER")) {
        copy_str(o->xen_version, sizeof(o->xen_version), v, vl);
        o->has_xen_version = 1;
    } else if (key_is(k, kl, "LOADER"))
        copy_str(o->loader, sizeof(o->loader), v, vl);
    else if (key_is(k, kl, "FEATURES")) {
        copy_str(o->features, sizeof(o->features), v, vl);
        return elf_xen_parse_features(o->features, o->f_supported, o->f_required);
    }
    else if (key_is(k, kl, "VIRT_BASE")) {
        o->has_virt_base = 1;
        return parse_u64(v, vl, &o->virt_base);
    } else if (key_is(k, kl, "ELF_PADDR_OFFSET")) {
        o->has_paddr_offset = 1;
        return parse_u64(v, vl, &o->paddr_offset);
    } else if (key_is(k, kl, "VIRT_ENTRY")) {
        o->has_entry = 1;
        return parse_u64(v, vl, &o->entry);
    } else if (key_is(k, kl, "HYPERCALL_PAGE")) {
        *has_hpage = 1;
        return parse_u64(v, vl, hpage);
    }
    return 0; /* GUEST_VER, PAE, BSD_SYMTAB, unknown: ignored */
}

/* Parse the legacy "KEY=VALUE,KEY=VALUE" string s[0..len) (NUL ends it early). */
static int parse_legacy(struct xen_elfnotes *o, const char *s, size_t len)
{
    uint64_t hpage = 0;
    int has_hpage = 0;
    size_t i = 0;

    while (i < len && s[i]) {
        size_t start = i, eq = 0;
        int haveq = 0;
        while (i < len && s[i] && s[i] != ',') {
            if (s[i] == '=' && !haveq) {
                eq = i;
                haveq = 1;
            }
            i++;
        }
        if (haveq && legacy_item(o, s + start, eq - start, s + eq + 1, i - eq - 1,
                                 &hpage, &has_hpage))
            return -XL_EINVAL;
        if (i < len && s[i] == ',')
            i++;
    }
    if (has_hpage) {
        if (hpage > (UINT64_MAX - o->virt_base) / 4096)
            return -XL_EINVAL;
        o->hypercall_page = o->virt_base + hpage * 4096;
        o->has_hypercall_page = 1;
    }
    return 0;
}

/* Find the section named `name`; NULL if absent or names are unreadable. */
static const elf64_shdr *find_section(const struct elf_image *img, const char *name)
{
    const elf64_shdr *strtab = elf_shdr(img, img->ehdr->e_shstrndx);
    if (!strtab || img->ehdr->e_shstrndx == SHN_UNDEF ||
        !in_bounds(strtab->sh_offset, strtab->sh_size, img->size))
        return NULL;
    for (unsigned int i = 0; i < img->ehdr->e_shnum; i++) {
        const elf64_shdr *sh = elf_shdr(img, i);
        const char *n;
        uint64_t j = 0;
        if (sh->sh_name >= strtab->sh_size)
            continue;
        n = (const char *)img->data + strtab->sh_offset + sh->sh_name;
        for (; sh->sh_name + j < strtab->sh_size && name[j]; j++)
            if (n[j] != name[j])
                break;
        if (name[j] == '\0' && sh->sh_name + j < strtab->sh_size && n[j] == '\0')
            return sh;
    }
    return NULL;
}

int elf_xen_notes(const struct elf_image *img, struct xen_elfnotes *out)
{
    struct xen_note_ctx c = { out, 0 };
    const elf64_shdr *sh;
    unsigned char *b = (unsigned char *)out;
    int rc;

    for (size_t i = 0; i < sizeof(*out); i++)
        b[i] = 0;
    if (!img->ehdr)
        return -XL_EINVAL;
    rc = elf_foreach_note(img, xen_note_cb, &c);
    if (rc)
        return rc < 0 ? rc : -XL_EINVAL;
    if (c.found)
        return 0;
    sh = find_section(img, "__xen_guest");
    if (!sh)
        return -XL_ENOEXEC;
    if (!in_bounds(sh->sh_offset, sh->sh_size, img->size))
        return -XL_EINVAL;
    out->legacy = 1;
    rc = parse_legacy(out, (const char *)img->data + sh->sh_offset, sh->sh_size);
    /* Legacy images put the virtual address in p_paddr: Xen defaults
     * ELF_PADDR_OFFSET to VIRT_BASE for them (libelf). */
    if (!rc && !out->has_paddr_offset && out->has_virt_base) {
        out->paddr_offset = out->virt_base;
        out->has_paddr_offset = 1;
    }
    return rc;
}

static const char *const feature_names[] = {
    [XENFEAT_writable_page_tables] = "writable_page_tables",
    [XENFEAT_writable_descriptor_tables] = "writable_descriptor_tables",
    [XENFEAT_auto_translated_physmap] = "auto_translated_physmap",
    [XENFEAT_supervisor_mode_kernel] = "supervisor_mode_kernel",
    [XENFEAT_pae_pgdir_above_4gb] = "pae_pgdir_above_4gb",
    [XENFEAT_hvm_callback_vector] = "hvm_callback_vector",
    [XENFEAT_dom0] = "dom0",
};

int elf_xen_parse_features(const char *s, uint32_t *supported, uint32_t *required)
{
    while (*s) {
        size_t len = 0;
        while (s[len] && s[len] != '|')
            len++;
        int req = len && s[0] == '!';
        const char *name = s + req;
        size_t nl = len - (size_t)req;
        unsigned int i;
        for (i = 0; i < ARRAY_SIZE(feature_names); i++) {
            if (feature_names[i] && key_is(name, nl, feature_names[i])) {
                supported[0] |= 1u << i;
                if (req)
                    required[0] |= 1u << i;
                break;
            }
        }
        if (i == ARRAY_SIZE(feature_names) && req)
            return -XL_EINVAL;
        s += len;
        if (*s == '|')
            s++;
    }
    return 0;
}

/* Features a PV guest may require of Xenolith: writable_page_tables is
 * Xen's ptwr assist (hv/arch/x86/pv/pv_ptwr.c), which every Linux requires. */
#define PV_FEATURES_PROVIDED \
    ((1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_pae_pgdir_above_4gb) | \
     (1u << XENFEAT_dom0))

static int has_prefix(const char *s, const char *p)
{
    while (*p)
        if (*s++ != *p++)
            return 0;
    return 1;
}

int elf_xen_check(const struct xen_elfnotes *n, int dom0, const char **why)
{
    if (!has_prefix(n->loader, "generic") && !has_prefix(n->guest_os, "linux")) {
        *why = "kernel is neither for the generic loader nor GUEST_OS linux";
        return -XL_EINVAL;
    }
    if (!has_prefix(n->xen_version, "xen-3.0")) {
        *why = "kernel is not built for xen-3.0 (XEN_VERSION note)";
        return -XL_EINVAL;
    }
    if (n->has_paddr_offset && !n->has_virt_base) {
        *why = "PADDR_OFFSET is set but VIRT_BASE is not";
        return -XL_EINVAL;
    }
    if (dom0 && n->has_supported_features && !(n->f_supported[0] & (1u << XENFEAT_dom0))) {
        *why = "kernel does not support dom0 operation (XENFEAT_dom0)";
        return -XL_EINVAL;
    }
    if (n->f_required[0] & ~PV_FEATURES_PROVIDED) {
        *why = "kernel requires a Xen feature Xenolith does not provide";
        return -XL_EINVAL;
    }
    return 0;
}
