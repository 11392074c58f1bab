/*
 * pvh_layout.c - the PVH guest layout both builders share (pvh_layout.h):
 * the kernel's notes and segments, the ramdisk's place, the start page
 * (hvm_start_info, module list, memory map, command line), vcpu 0's
 * entry state. Pure: the callers copy the results into the guest.
 * Owns: the layout. Must never: write past the page it is given.
 */
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/pvh_layout.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/elfnote.h>
#include <xen/hvm/save.h>

#define PAGE 4096ULL

struct notes {
    uint64_t entry;
    int kinds;
};

static int note_fn(void *ctx, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
    struct notes *n = ctx;
    if (strcmp(name, "Xen"))
        return 0;
    if (type == XEN_ELFNOTE_PHYS32_ENTRY && descsz >= 4) {
        uint32_t e;
        memcpy(&e, desc, 4);
        n->entry = e;
        n->kinds |= PVH_HAS_PVH_ENTRY;
    } else if (type == XEN_ELFNOTE_ENTRY) {
        n->kinds |= PVH_HAS_PV_ENTRY;
    }
    return 0;
}

int pvh_elf_entry(const struct elf_image *img, uint64_t *entry)
{
    struct notes n = { 0, 0 };
    elf_foreach_note(img, note_fn, &n);
    if (entry)
        *entry = n.entry;
    return n.kinds;
}

int pvh_check_segments(const struct elf_image *img, uint64_t ram_end, const char **why)
{
    for (unsigned int i = 0; i < img->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(img, i);
        if (!ph || ph->p_type != ELF_PT_LOAD || !ph->p_memsz)
            continue;
        if (ph->p_paddr < PAGE || ph->p_memsz > ram_end || ph->p_paddr > ram_end - ph->p_memsz ||
            ph->p_filesz > ph->p_memsz || ph->p_offset > img->size ||
            ph->p_filesz > img->size - ph->p_offset) {
            *why = "a PT_LOAD segment lies outside the domain's RAM or the image";
            return -XL_EINVAL;
        }
    }
    return 0;
}

int pvh_ramdisk_place(uint64_t ram_end, uint64_t len, uint64_t *gpa)
{
    uint64_t pages = (len + PAGE - 1) / PAGE, ram_pages = ram_end / PAGE;
    if (pages >= ram_pages / 2)
        return -XL_ENOMEM;
    *gpa = (ram_pages - pages) * PAGE;
    return 0;
}

void pvh_start_page(uint8_t page[4096], uint64_t base, uint64_t ram_end, uint64_t reserved_pages,
                    uint64_t acpi_gpa, uint64_t rd_gpa, uint64_t rd_len, const char *cmdline)
{
    memset(page, 0, PAGE);
    struct hvm_start_info *si = (struct hvm_start_info *)page;
    struct hvm_modlist_entry *mod = (struct hvm_modlist_entry *)(page + 64);
    struct hvm_memmap_table_entry *mm = (struct hvm_memmap_table_entry *)(page + 128);
    si->magic = XEN_HVM_START_MAGIC_VALUE;
    si->version = 1;
    if (rd_len) {
        mod->paddr = rd_gpa;
        mod->size = rd_len;
        si->nr_modules = 1;
        si->modlist_paddr = base + 64;
    }
    mm[0] = (struct hvm_memmap_table_entry){ .addr = 0, .size = ram_end,
                                             .type = XEN_HVM_MEMMAP_TYPE_RAM };
    mm[1] = (struct hvm_memmap_table_entry){ .addr = ram_end, .size = reserved_pages * PAGE,
                                             .type = XEN_HVM_MEMMAP_TYPE_RESERVED };
    mm[2] = (struct hvm_memmap_table_entry){ .addr = acpi_gpa, .size = PAGE,
                                             .type = XEN_HVM_MEMMAP_TYPE_ACPI };
    si->memmap_paddr = base + 128;
    si->memmap_entries = 3;
    si->rsdp_paddr = acpi_gpa;
    if (cmdline && cmdline[0]) {
        xl_snprintf((char *)page + 512, PAGE - 512, "%s", cmdline);
        si->cmdline_paddr = base + 512;
    }
}

void pvh_entry_cpu(struct hvm_hw_cpu *c, uint64_t entry, uint64_t start_info)
{
    memset(c, 0, sizeof(*c));
    c->rip = entry;
    c->rbx = start_info;
    c->rflags = 2;
    c->cr0 = 0x11; /* PE | ET */
    c->cs_sel = 0x08, c->cs_limit = 0xffffffff, c->cs_arbytes = 0xc9b;
    c->ds_sel = c->es_sel = c->ss_sel = c->fs_sel = c->gs_sel = 0x10;
    c->ds_limit = c->es_limit = c->ss_limit = c->fs_limit = c->gs_limit = 0xffffffff;
    c->ds_arbytes = c->es_arbytes = c->ss_arbytes = c->fs_arbytes = c->gs_arbytes = 0xc93;
    c->tr_sel = 0x18, c->tr_limit = 0x67, c->tr_arbytes = 0x8b;
    c->ldtr_arbytes = 0x82;
    c->dr6 = 0xffff0ff0, c->dr7 = 0x400;
}
