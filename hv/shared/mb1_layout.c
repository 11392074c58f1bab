/*
 * mb1_layout.c - a Multiboot (v1) ELF kernel in an HVM guest
 * (mb1_layout.h): its header, its segments and entry, the information
 * page, vcpu 0's state. Pure: the caller copies the results into the
 * guest.
 * Owns: the Multiboot layout. Must never: read past the image (every
 * field is copied out byte-wise after a bounds check, so the image may
 * sit at any alignment) or write past the page it is given.
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/mb1_layout.h>
#include <xenolith/pvh_layout.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>

#define PAGE 4096ULL
#define PT_LOAD 1
#define EHDR_SIZE 64
#define PHDR_SIZE 56

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

int mb1_find_header(const uint8_t *img, size_t len, struct mb1_header *h, size_t *offset)
{
    size_t lim = len < MB1_SEARCH ? len : MB1_SEARCH;
    for (size_t off = 0; off + 12 <= lim; off += 4) {
        uint32_t magic = rd32(img + off), flags = rd32(img + off + 4);
        if (magic != MB1_HEADER_MAGIC || (uint32_t)(magic + flags + rd32(img + off + 8)))
            continue;
        memset(h, 0, sizeof(*h));
        size_t n = (flags & MB1_HF_AOUT_KLUDGE) ? sizeof(*h) : 12;
        if (off + n > len)
            continue; /* the address fields run past the image */
        memcpy(h, img + off, n);
        *offset = off;
        return 0;
    }
    return -XL_ENOEXEC;
}

static int fail(const char **why, const char *msg)
{
    *why = msg;
    return -XL_EINVAL;
}

int mb1_prepare(const uint8_t *img, size_t len, uint64_t ram_end, struct mb1_plan *p,
                const char **why)
{
    memset(p, 0, sizeof(*p));
    if (len < EHDR_SIZE || memcmp(img, "\177ELF", 4) || img[4] != 2 || img[5] != 1 ||
        rd16(img + 18) != 62) {
        *why = "not an x86_64 ELF64 image";
        return -XL_ENOEXEC;
    }
    if (mb1_find_header(img, len, &p->hdr, &p->hdr_offset)) {
        *why = "no Multiboot header in the first 8 KiB: not a Multiboot kernel";
        return -XL_ENOEXEC;
    }
    if (p->hdr.flags & 0xffffu & ~(MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO))
        return fail(why, "the Multiboot header demands what the builder does not give "
                         "(a video mode, or a flag in bits 2-15 it does not know)");
    uint64_t phoff = rd64(img + 32), entry64 = rd64(img + 24);
    unsigned int phnum = rd16(img + 56);
    if (rd16(img + 54) != PHDR_SIZE || phoff > len || (uint64_t)phnum * PHDR_SIZE > len - phoff)
        return fail(why, "the ELF program headers lie outside the image");
    uint64_t lo = ~0ULL, hi = 0;
    for (unsigned int i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * PHDR_SIZE;
        struct mb1_segment s = { .offset = rd64(ph + 8), .paddr = rd64(ph + 24),
                                 .filesz = rd64(ph + 32), .memsz = rd64(ph + 40) };
        if (rd32(ph) != PT_LOAD || !s.memsz)
            continue;
        if (s.paddr < PAGE || s.memsz > ram_end || s.paddr > ram_end - s.memsz ||
            s.filesz > s.memsz || s.offset > len || s.filesz > len - s.offset)
            return fail(why, "a PT_LOAD segment lies outside the domain's RAM or the image");
        if (p->nseg == MB1_MAX_SEGMENTS)
            return fail(why, "more PT_LOAD segments than the builder takes");
        p->seg[p->nseg++] = s;
        lo = s.paddr < lo ? s.paddr : lo;
        hi = s.paddr + s.memsz > hi ? s.paddr + s.memsz : hi;
    }
    if (!p->nseg)
        return fail(why, "the ELF has no PT_LOAD segment");
    if (p->hdr.flags & MB1_HF_AOUT_KLUDGE) {
        if (p->hdr.load_addr != lo || (p->hdr.bss_end_addr && p->hdr.bss_end_addr < hi))
            return fail(why, "the Multiboot header's load addresses disagree with the ELF's");
        p->entry = p->hdr.entry_addr;
    } else {
        if (entry64 >> 32)
            return fail(why, "the ELF entry is not a 32-bit physical address and the Multiboot "
                             "header gives none");
        p->entry = (uint32_t)entry64;
    }
    for (unsigned int i = 0; i < p->nseg; i++)
        if (p->entry >= p->seg[i].paddr && p->entry - p->seg[i].paddr < p->seg[i].filesz)
            return 0;
    return fail(why, "the Multiboot entry is not inside a loaded segment");
}

void mb1_info_page(uint8_t page[4096], uint64_t base, uint64_t ram_end, uint64_t reserved_pages,
                   uint64_t acpi_gpa, uint64_t rd_gpa, uint64_t rd_len, const char *cmdline)
{
    memset(page, 0, PAGE);
    struct mb1_info mi;
    memset(&mi, 0, sizeof(mi));
    mi.flags = MB1_INFO_MEMORY | MB1_INFO_MEM_MAP | MB1_INFO_CMDLINE;
    mi.mem_lower = 0x9f000 >> 10;
    mi.mem_upper = (uint32_t)((ram_end - 0x100000) >> 10);
    const struct mb1_mmap_entry map[] = {
        { 20, 0, 0x9f000, 1 },
        { 20, 0x9f000, 0x100000 - 0x9f000, 2 },
        { 20, 0x100000, ram_end - 0x100000, 1 },
        { 20, ram_end, reserved_pages * PAGE, 2 },
        { 20, acpi_gpa, PAGE, 3 },
    };
    memcpy(page + MB1_PAGE_MMAP, map, sizeof(map));
    mi.mmap_addr = (uint32_t)(base + MB1_PAGE_MMAP);
    mi.mmap_length = sizeof(map);
    xl_snprintf((char *)page + MB1_PAGE_CMDLINE, PAGE - MB1_PAGE_CMDLINE, "%s",
                cmdline ? cmdline : "");
    mi.cmdline = (uint32_t)(base + MB1_PAGE_CMDLINE);
    if (rd_len) {
        /* its string: the empty one right after the entry */
        struct mb1_module m = { (uint32_t)rd_gpa, (uint32_t)(rd_gpa + rd_len),
                                (uint32_t)(base + MB1_PAGE_MODS + sizeof(struct mb1_module)), 0 };
        memcpy(page + MB1_PAGE_MODS, &m, sizeof(m));
        mi.flags |= MB1_INFO_MODS;
        mi.mods_count = 1;
        mi.mods_addr = (uint32_t)(base + MB1_PAGE_MODS);
    }
    memcpy(page, &mi, sizeof(mi));
}

void mb1_entry_cpu(struct hvm_hw_cpu *c, uint32_t entry, uint64_t info)
{
    pvh_entry_cpu(c, entry, info);
    c->rax = MB1_BOOTLOADER_MAGIC;
}
