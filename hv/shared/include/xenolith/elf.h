/*
 * elf.h - a bounds-checked reader for ELF64 x86_64 images and their Xen
 * ELF notes. Used by the UEFI loader (to load the hv) and by the PV domain
 * builder (to load guest kernels). Pure logic: no allocation, no I/O, no
 * assembly, so host unit tests link it as is.
 * Must never: trust a size or offset from the image without checking it
 * against the buffer it came in.
 */
#ifndef XENOLITH_ELF_H
#define XENOLITH_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4
#define ELF_SHT_NOTE 7

typedef struct {
    unsigned char e_ident[16];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
} elf64_ehdr;

typedef struct {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
} elf64_phdr;

typedef struct {
    uint32_t sh_name, sh_type;
    uint64_t sh_flags, sh_addr, sh_offset, sh_size;
    uint32_t sh_link, sh_info;
    uint64_t sh_addralign, sh_entsize;
} elf64_shdr;

struct elf_image {
    const uint8_t *data;
    size_t size;
    const elf64_ehdr *ehdr;
};

/* Validate header and program/section header tables of an x86_64 ELF64
 * image. Returns 0, -XL_ENOEXEC for a non-ELF or wrong class/machine, or
 * -XL_EINVAL for tables that point outside the buffer. Sets *why to a
 * static explanation on failure (if why is non-NULL). */
int elf_parse(struct elf_image *img, const void *data, size_t size, const char **why);

/* Program header i (i < ehdr->e_phnum); valid after elf_parse. */
const elf64_phdr *elf_phdr(const struct elf_image *img, unsigned int i);

/* Lowest and highest (exclusive) p_vaddr / p_paddr over PT_LOAD segments.
 * Returns 0, or -XL_ENOEXEC if there is no PT_LOAD segment. */
int elf_load_bounds(const struct elf_image *img, uint64_t *vstart, uint64_t *vend,
                    uint64_t *pstart, uint64_t *pend);

/* Call fn(ctx, name, type, desc, descsz) for every note in PT_NOTE
 * segments (or SHT_NOTE sections when there are no PT_NOTE segments).
 * Stops and returns fn's value when fn returns non-zero. Returns 0, or
 * -XL_EINVAL for a malformed note. */
typedef int (*elf_note_fn)(void *ctx, const char *name, uint32_t type,
                           const void *desc, uint32_t descsz);
int elf_foreach_note(const struct elf_image *img, elf_note_fn fn, void *ctx);

/* What a Xen PV kernel says about itself in its "Xen" ELF notes. */
struct xen_elfnotes {
    uint64_t entry, virt_base, paddr_offset, hypercall_page;
    uint64_t init_p2m;
    unsigned has_entry:1, has_virt_base:1, has_paddr_offset:1,
             has_hypercall_page:1, has_init_p2m:1, has_xen_version:1,
             has_supported_features:1, legacy:1;
    /* XENFEAT_* bitmaps from FEATURES ("name|!required") and the
     * SUPPORTED_FEATURES note, as Xen's libelf builds them. */
    uint32_t f_supported[1], f_required[1];
    char guest_os[32];
    char xen_version[32];
    char loader[32];
    char features[256];
};

/* Collect the Xen notes (ELF notes named "Xen" and the legacy
 * __xen_guest section). Returns 0, -XL_EINVAL for malformed notes, or
 * -XL_ENOEXEC if the image carries no Xen notes at all. */
int elf_xen_notes(const struct elf_image *img, struct xen_elfnotes *out);

/* Parse a FEATURES string into XENFEAT_* bitmaps: "a|!b" marks a and b
 * supported and b required. Unknown names are ignored unless required
 * ("!unknown" is an error, -XL_EINVAL), as in Xen's libelf. */
int elf_xen_parse_features(const char *s, uint32_t *supported, uint32_t *required);

/* Xen's checks of a PV kernel's notes before it is built: built for the
 * generic loader (or GUEST_OS linux) and for xen-3.0; PADDR_OFFSET only
 * with VIRT_BASE; as dom0, XENFEAT_dom0 if SUPPORTED_FEATURES is given;
 * every required feature one that Xenolith provides. Returns 0 or
 * -XL_EINVAL with *why set. */
int elf_xen_check(const struct xen_elfnotes *n, int dom0, const char **why);

#endif
