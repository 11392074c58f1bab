/*
 * linux_boot.c - the x86 boot protocol's 64-bit entry for a bzImage in an
 * HVM guest (linux_boot.h): the setup header checks, the zero page, the
 * page tables and GDT the entry state needs. Pure.
 * Owns: the direct-boot layout. Must never: read past the image or write
 * past the pages it is given.
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/linux_boot.h>

/* Setup header offsets (boot.rst) */
#define HDR_SETUP_SECTS   0x1f1
#define HDR_BOOT_FLAG     0x1fe
#define HDR_HEADER        0x202
#define HDR_VERSION       0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS     0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE  0x21c
#define HDR_HEAP_END_PTR  0x224
#define HDR_CMD_LINE_PTR  0x228
#define HDR_KERNEL_ALIGN  0x230
#define HDR_RELOCATABLE   0x234
#define HDR_XLOADFLAGS    0x236
#define HDR_CMDLINE_SIZE  0x238
#define HDR_PREF_ADDRESS  0x258
#define HDR_INIT_SIZE     0x260
#define HDR_END           0x268 /* the header as of protocol 2.15 ends here */
/* boot_params offsets */
#define BP_ACPI_RSDP      0x070
#define BP_E820_ENTRIES   0x1e8
#define BP_E820_TABLE     0x2d0
#define BP_E820_MAX       128

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int linux_boot_prepare(const uint8_t *bz, size_t len, struct linux_boot_plan *p,
                       const char **why)
{
    memset(p, 0, sizeof(*p));
    if (len < HDR_END || rd16(bz + HDR_BOOT_FLAG) != 0xaa55 || memcmp(bz + HDR_HEADER, "HdrS", 4)) {
        *why = "not a bzImage (no boot sector flag or HdrS setup header)";
        return -XL_EINVAL;
    }
    p->version = rd16(bz + HDR_VERSION);
    if (p->version < 0x20c) {
        *why = "boot protocol older than 2.12: no 64-bit entry";
        return -XL_EINVAL;
    }
    if (!(rd16(bz + HDR_XLOADFLAGS) & 1)) {
        *why = "the kernel has no 64-bit entry (XLF_KERNEL_64)";
        return -XL_EINVAL;
    }
    if (!(bz[HDR_LOADFLAGS] & 1)) {
        *why = "not a bzImage loaded high (LOADED_HIGH clear)";
        return -XL_EINVAL;
    }
    unsigned int setup = bz[HDR_SETUP_SECTS] ? bz[HDR_SETUP_SECTS] : 4;
    size_t off = ((size_t)setup + 1) * 512;
    if (off >= len) {
        *why = "the setup sectors run past the image";
        return -XL_EINVAL;
    }
    p->kernel = bz + off;
    p->kernel_len = len - off;
    uint64_t align = rd32(bz + HDR_KERNEL_ALIGN), pref = rd64(bz + HDR_PREF_ADDRESS);
    if (!align || (align & (align - 1)))
        align = 2ULL << 20;
    p->load_addr = pref >= (1ULL << 20) && !(pref & (align - 1)) ? pref : 16ULL << 20;
    p->entry = p->load_addr + 0x200;
    p->init_size = rd32(bz + HDR_INIT_SIZE);
    if (p->init_size < p->kernel_len)
        p->init_size = p->kernel_len;
    return 0;
}

void linux_boot_zero_page(uint8_t zp[4096], const uint8_t *bz, size_t len, uint64_t initrd_gpa,
                          uint64_t initrd_len, const struct lb_e820 *map, unsigned int nr_map,
                          uint64_t rsdp_gpa)
{
    memset(zp, 0, 4096);
    /* the setup header as the image has it: 0x1f1 up to its own end
     * (0x202 + the byte at 0x201), at most the 2.15 header */
    size_t end = 0x202 + bz[0x201];
    if (end > HDR_END)
        end = HDR_END;
    if (end > len)
        end = len;
    memcpy(zp + HDR_SETUP_SECTS, bz + HDR_SETUP_SECTS, end - HDR_SETUP_SECTS);
    zp[HDR_TYPE_OF_LOADER] = 0xff;             /* undefined loader */
    zp[HDR_LOADFLAGS] |= 0x80;                 /* CAN_USE_HEAP */
    zp[HDR_LOADFLAGS] &= (uint8_t)~0x20;       /* KEEP_SEGMENTS off: reload them */
    wr32(zp + HDR_HEAP_END_PTR, 0xfe00);
    wr32(zp + HDR_CMD_LINE_PTR, (uint32_t)LB_CMDLINE);
    wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
    wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
    wr64(zp + BP_ACPI_RSDP, rsdp_gpa);
    if (nr_map > BP_E820_MAX)
        nr_map = BP_E820_MAX;
    zp[BP_E820_ENTRIES] = (uint8_t)nr_map;
    for (unsigned int i = 0; i < nr_map; i++) {
        uint8_t *e = zp + BP_E820_TABLE + 20 * i;
        wr64(e, map[i].addr);
        wr64(e + 8, map[i].size);
        wr32(e + 16, map[i].type);
    }
}

void linux_boot_page_tables(uint64_t pt[LB_PT_PAGES][512])
{
    memset(pt, 0, sizeof(uint64_t) * 512 * LB_PT_PAGES);
    pt[0][0] = (LB_PML4 + 0x1000) | 3;                  /* PML4[0] -> PDPT */
    for (unsigned int g = 0; g < 4; g++) {
        pt[1][g] = (LB_PML4 + 0x2000 + 0x1000 * g) | 3; /* PDPT[g] -> PD g */
        for (unsigned int i = 0; i < 512; i++)
            pt[2 + g][i] = (((uint64_t)g << 30) + ((uint64_t)i << 21)) | 0x83; /* 2 MiB, RW */
    }
}

void linux_boot_gdt(uint8_t page[4096])
{
    memset(page, 0, 4096);
    uint64_t code64 = 0x00af9b000000ffffULL, data = 0x00cf93000000ffffULL;
    memcpy(page + 0x10, &code64, 8); /* __BOOT_CS */
    memcpy(page + 0x18, &data, 8);   /* __BOOT_DS */
}
