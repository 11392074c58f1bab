/*
 * loader.c - BOOTX64.EFI: reads \EFI\xenolith\xenolith.cfg from its own
 * volume, loads the hypervisor ELF at its physical addresses and the
 * boot modules below 4 GiB, fills struct xl_bootinfo, exits boot
 * services and enters the hypervisor (SysV ABI, %rdi = &bootinfo).
 * Owns: every firmware call of the boot path and the loader's log lines.
 * Must never: call firmware or print after ExitBootServices succeeded,
 * return to the firmware without one "xenolith-loader: error: " line, or
 * hang silently.
 */
#include <efi.h>
#include <efilib.h>

#include <xenolith/bootinfo.h>
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include "config.h"
#include "memmap.h"

#define CFG_PATH  "\\EFI\\xenolith\\xenolith.cfg"
#define CFG_DIR   "\\EFI\\xenolith\\"
#define BELOW_4G  0xFFFFFFFFULL

typedef void (*hv_entry_fn)(uint64_t bootinfo) __attribute__((noreturn));

static EFI_HANDLE image_handle;
static EFI_FILE_HANDLE root_dir;
static struct xl_boot_config cfg;
static char cfg_err[256];

/* A file read into whole pages. */
struct loaded_file {
    EFI_PHYSICAL_ADDRESS addr;
    UINTN size;
};

/* Print the single error line, wait ~1 s so it can be read, return st. */
static EFI_STATUS fail(EFI_STATUS st, const CHAR16 *fmt, ...)
{
    va_list ap;
    Print(L"xenolith-loader: error: ");
    va_start(ap, fmt);
    VPrint(fmt, ap);
    va_end(ap);
    Print(L"\n");
    uefi_call_wrapper(BS->Stall, 1, 1000000);
    return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
}

/* Copy the NUL-terminated ASCII string src into dst[n]; returns dst. */
static char *copy_str(char *dst, const char *src, UINTN n)
{
    UINTN i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    if (n)
        dst[i] = '\0';
    return dst;
}

/* Open the root directory of the volume this image was loaded from. */
static EFI_STATUS open_root(void)
{
    EFI_LOADED_IMAGE *li;
    EFI_FILE_IO_INTERFACE *fs;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->HandleProtocol, 3, image_handle, &LoadedImageProtocol,
                           (void **)&li);
    if (EFI_ERROR(st))
        return fail(st, L"no LoadedImage protocol: %r", st);
    st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle, &FileSystemProtocol,
                           (void **)&fs);
    if (EFI_ERROR(st))
        return fail(st, L"boot volume has no file system: %r", st);
    st = uefi_call_wrapper(fs->OpenVolume, 2, fs, &root_dir);
    if (EFI_ERROR(st))
        return fail(st, L"cannot open boot volume: %r", st);
    return EFI_SUCCESS;
}

/* UCS-2 path for an ESP path; relative paths are under \EFI\xenolith\. */
static void wide_path(const char *path, CHAR16 *out, UINTN n)
{
    const char *prefix = path[0] == '\\' ? "" : CFG_DIR;
    UINTN o = 0;
    for (const char *s = prefix; *s && o + 1 < n; s++)
        out[o++] = (CHAR16)*s;
    for (const char *s = path; *s && o + 1 < n; s++)
        out[o++] = (CHAR16)(*s == '/' ? '\\' : *s);
    out[o] = 0;
}

/* Size of an open file, failing for directories. */
static EFI_STATUS file_size(EFI_FILE_HANDLE fh, const char *path, UINTN *size)
{
    EFI_FILE_INFO *info = LibFileInfo(fh);
    BOOLEAN is_dir;
    if (!info)
        return fail(EFI_DEVICE_ERROR, L"cannot stat %a", path);
    *size = info->FileSize;
    is_dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    FreePool(info);
    if (is_dir)
        return fail(EFI_INVALID_PARAMETER, L"%a is a directory", path);
    if (*size == 0)
        return fail(EFI_LOAD_ERROR, L"%a is empty", path);
    return EFI_SUCCESS;
}

/* Read all of fh into buf[size]. */
static EFI_STATUS read_all(EFI_FILE_HANDLE fh, const char *path, UINT8 *buf, UINTN size)
{
    UINTN off = 0;
    while (off < size) {
        UINTN chunk = size - off;
        EFI_STATUS st = uefi_call_wrapper(fh->Read, 3, fh, &chunk, buf + off);
        if (EFI_ERROR(st))
            return fail(st, L"read error on %a: %r", path, st);
        if (chunk == 0)
            return fail(EFI_END_OF_FILE, L"%a: short read (%ld of %ld bytes)", path,
                        off, size);
        off += chunk;
    }
    return EFI_SUCCESS;
}

/* Read the file at ESP path into fresh pages of memory type `type`
 * (below 4 GiB if below4g); the tail of the last page is zeroed. */
static EFI_STATUS read_file(const char *path, UINT32 type, BOOLEAN below4g,
                            struct loaded_file *f)
{
    CHAR16 wpath[XL_NAME_MAX + sizeof(CFG_DIR)];
    EFI_FILE_HANDLE fh;
    EFI_STATUS st;
    UINTN pages;

    wide_path(path, wpath, sizeof(wpath) / sizeof(wpath[0]));
    st = uefi_call_wrapper(root_dir->Open, 5, root_dir, &fh, wpath, EFI_FILE_MODE_READ, 0ULL);
    if (EFI_ERROR(st))
        return fail(st, L"cannot open %s: %r", wpath, st);
    st = file_size(fh, path, &f->size);
    if (EFI_ERROR(st))
        goto out;
    pages = EFI_SIZE_TO_PAGES(f->size);
    f->addr = below4g ? BELOW_4G : 0;
    st = uefi_call_wrapper(BS->AllocatePages, 4, below4g ? AllocateMaxAddress : AllocateAnyPages,
                           (EFI_MEMORY_TYPE)type, pages, &f->addr);
    if (EFI_ERROR(st)) {
        st = fail(st, L"out of memory for %a (%ld bytes): %r", path, f->size, st);
        goto out;
    }
    ZeroMem((UINT8 *)f->addr + f->size, pages * EFI_PAGE_SIZE - f->size);
    st = read_all(fh, path, (UINT8 *)f->addr, f->size);
    if (EFI_ERROR(st))
        uefi_call_wrapper(BS->FreePages, 2, f->addr, pages);
out:
    uefi_call_wrapper(fh->Close, 1, fh);
    return st;
}

/* Read and parse the config file into cfg. */
static EFI_STATUS load_config(void)
{
    struct loaded_file f;
    EFI_STATUS st = read_file(CFG_PATH, EfiLoaderData, FALSE, &f);
    int rc;
    if (EFI_ERROR(st))
        return st;
    rc = xl_config_parse((const char *)f.addr, f.size, CFG_PATH, &cfg, cfg_err, sizeof(cfg_err));
    uefi_call_wrapper(BS->FreePages, 2, f.addr, EFI_SIZE_TO_PAGES(f.size));
    if (rc)
        return fail(EFI_INVALID_PARAMETER, L"%a", cfg_err);
    return EFI_SUCCESS;
}

/* Copy each PT_LOAD of img to its p_paddr inside the zeroed region at base. */
static void copy_segments(const struct elf_image *img)
{
    for (unsigned int i = 0; i < img->ehdr->e_phnum; i++) {
        const elf64_phdr *ph = elf_phdr(img, i);
        if (ph->p_type == ELF_PT_LOAD && ph->p_filesz)
            CopyMem((void *)ph->p_paddr, (void *)(img->data + ph->p_offset), ph->p_filesz);
    }
}

/* Find the first UEFI map entry overlapping [base, end) that is not free
 * memory; *type = its type (0 if none found). For error messages only. */
static void find_conflict(uint64_t base, uint64_t end, UINT32 *type, uint64_t *cs, uint64_t *ce)
{
    UINTN entries, key, dsize;
    UINT32 dver;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &dsize, &dver);

    *type = 0;
    for (UINTN i = 0; map && i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((UINT8 *)map + i * dsize);
        uint64_t s = d->PhysicalStart, e = s + d->NumberOfPages * EFI_PAGE_SIZE;
        if (s < end && e > base && d->Type != EfiConventionalMemory) {
            *type = d->Type;
            *cs = s;
            *ce = e;
            break;
        }
    }
    if (map)
        FreePool(map);
}

/* Allocate [pstart, pend) page-rounded as hypervisor memory at that
 * exact physical address, zeroed. */
static EFI_STATUS alloc_hv_region(uint64_t pstart, uint64_t pend)
{
    EFI_PHYSICAL_ADDRESS base = pstart & ~(uint64_t)(EFI_PAGE_SIZE - 1);
    UINTN pages = EFI_SIZE_TO_PAGES(pend - base);
    uint64_t end = base + pages * EFI_PAGE_SIZE, cs = 0, ce = 0;
    UINT32 type;
    EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAddress,
                                      (EFI_MEMORY_TYPE)XL_EFI_MEM_HV, pages, &base);
    if (EFI_ERROR(st)) {
        find_conflict(pstart & ~(uint64_t)(EFI_PAGE_SIZE - 1), end, &type, &cs, &ce);
        return fail(st, L"cannot allocate 0x%lx-0x%lx for the hypervisor: %r "
                    "(0x%lx-0x%lx is UEFI memory type %d)",
                    pstart & ~(uint64_t)(EFI_PAGE_SIZE - 1), end, st, cs, ce, type);
    }
    ZeroMem((void *)base, pages * EFI_PAGE_SIZE);
    return EFI_SUCCESS;
}

/* Load the hypervisor ELF at its physical addresses; *entry = e_entry. */
static EFI_STATUS load_hv(uint64_t *entry)
{
    struct loaded_file f;
    struct elf_image img;
    const char *why = "unknown error";
    uint64_t pstart, pend;
    EFI_STATUS st = read_file(cfg.hypervisor, EfiLoaderData, FALSE, &f);

    if (EFI_ERROR(st))
        return st;
    if (elf_parse(&img, (const void *)f.addr, f.size, &why) != 0)
        st = fail(EFI_LOAD_ERROR, L"hypervisor %a: %a", cfg.hypervisor, why);
    else if (elf_load_bounds(&img, NULL, NULL, &pstart, &pend) != 0)
        st = fail(EFI_LOAD_ERROR, L"hypervisor %a: no PT_LOAD segment", cfg.hypervisor);
    else if (img.ehdr->e_entry < pstart || img.ehdr->e_entry >= pend)
        st = fail(EFI_LOAD_ERROR, L"hypervisor %a: entry 0x%lx outside 0x%lx-0x%lx "
                  "(e_entry must be physical)", cfg.hypervisor, img.ehdr->e_entry, pstart, pend);
    else
        st = alloc_hv_region(pstart, pend);
    if (!EFI_ERROR(st)) {
        copy_segments(&img);
        *entry = img.ehdr->e_entry;
        Print(L"xenolith-loader: hypervisor %a %ld bytes at 0x%lx-0x%lx, entry 0x%lx\n",
              cfg.hypervisor, f.size, pstart, pend, *entry);
    }
    uefi_call_wrapper(BS->FreePages, 2, f.addr, EFI_SIZE_TO_PAGES(f.size));
    return st;
}

/* Short name of a module kind for the log. */
static const CHAR16 *kind_name(uint32_t kind)
{
    switch (kind) {
    case XL_MOD_DOM0: return L"dom0";
    case XL_MOD_RAMDISK: return L"ramdisk";
    default: return L"domu";
    }
}

/* Read every configured module into boot memory and describe it in bi. */
static EFI_STATUS load_modules(struct xl_bootinfo *bi)
{
    for (unsigned int i = 0; i < cfg.nr_modules; i++) {
        const struct xl_cfg_module *c = &cfg.modules[i];
        struct xl_module *m = &bi->modules[i];
        struct loaded_file f;
        EFI_STATUS st = read_file(c->path, XL_EFI_MEM_BOOT, TRUE, &f);
        if (EFI_ERROR(st))
            return st;
        m->start = f.addr;
        m->len = f.size;
        m->kind = c->kind;
        copy_str(m->name, c->path, sizeof(m->name));
        copy_str(m->cmdline, c->cmdline, sizeof(m->cmdline));
        Print(L"xenolith-loader: %s %a %ld bytes at 0x%lx cmdline '%a'\n", kind_name(c->kind),
              m->name, m->len, m->start, m->cmdline);
        bi->nr_modules = i + 1;
    }
    return EFI_SUCCESS;
}

/* Physical address of the ACPI RSDP (2.0 table preferred), 0 if none. */
static uint64_t find_rsdp(void)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    uint64_t v1 = 0;
    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
        EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
        if (CompareGuid(&t->VendorGuid, &acpi20) == 0)
            return (uint64_t)t->VendorTable;
        if (CompareGuid(&t->VendorGuid, &acpi10) == 0)
            v1 = (uint64_t)t->VendorTable;
    }
    return v1;
}

/* Describe the GOP framebuffer in fb if it is a linear 32-bit one. */
static void find_framebuffer(struct xl_framebuffer *fb)
{
    EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
    EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info;

    if (EFI_ERROR(LibLocateProtocol(&GraphicsOutputProtocol, (void **)&gop)) ||
        !gop || !gop->Mode || !gop->Mode->Info)
        return;
    info = gop->Mode->Info;
    if (info->PixelFormat != PixelRedGreenBlueReserved8BitPerColor &&
        info->PixelFormat != PixelBlueGreenRedReserved8BitPerColor)
        return;
    fb->base = gop->Mode->FrameBufferBase;
    fb->size = gop->Mode->FrameBufferSize;
    fb->width = info->HorizontalResolution;
    fb->height = info->VerticalResolution;
    fb->pitch = info->PixelsPerScanLine;
    fb->format = info->PixelFormat == PixelBlueGreenRedReserved8BitPerColor ? 1 : 0;
}

/* Allocate the zeroed bootinfo below 4 GiB and fill its fixed fields. */
static EFI_STATUS make_bootinfo(struct xl_bootinfo **out)
{
    EFI_PHYSICAL_ADDRESS addr = BELOW_4G;
    UINTN pages = EFI_SIZE_TO_PAGES(sizeof(struct xl_bootinfo));
    struct xl_bootinfo *bi = NULL;
    EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
                                      (EFI_MEMORY_TYPE)XL_EFI_MEM_BOOT, pages, &addr);
    if (EFI_ERROR(st))
        return fail(st, L"out of memory for the boot info: %r", st);
    bi = (struct xl_bootinfo *)addr;
    ZeroMem(bi, pages * EFI_PAGE_SIZE);
    bi->magic = XL_BOOTINFO_MAGIC;
    bi->version = XL_BOOTINFO_VERSION;
    bi->size = sizeof(*bi);
    copy_str(bi->boot_path, "uefi", sizeof(bi->boot_path));
    copy_str(bi->hv_cmdline, cfg.hv_cmdline, sizeof(bi->hv_cmdline));
    *out = bi;
    return EFI_SUCCESS;
}

/* Log the platform facts found for bi. */
static void log_platform(const struct xl_bootinfo *bi)
{
    if (bi->rsdp)
        Print(L"xenolith-loader: ACPI RSDP at 0x%lx\n", bi->rsdp);
    else
        Print(L"xenolith-loader: no ACPI RSDP found\n");
    if (bi->fb.base)
        Print(L"xenolith-loader: framebuffer %dx%d pitch %d at 0x%lx\n", bi->fb.width,
              bi->fb.height, bi->fb.pitch, bi->fb.base);
}

/* Get the final memory map into bi->ranges and exit boot services,
 * retrying when the map key went stale. On success no firmware call may
 * follow; on failure the error line has been printed. */
static EFI_STATUS exit_boot_services(struct xl_bootinfo *bi)
{
    UINTN size = 0, cap, key, dsize;
    UINT32 dver;
    EFI_MEMORY_DESCRIPTOR *map = NULL;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &dsize, &dver);
    if (st != EFI_BUFFER_TOO_SMALL)
        return fail(st, L"GetMemoryMap: %r", st);
    cap = size + 16 * dsize; /* room for the pool allocation and later churn */
    st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, cap, (void **)&map);
    if (EFI_ERROR(st))
        return fail(st, L"out of memory for the memory map: %r", st);
    for (int tries = 0; tries < 8; tries++) {
        int rc;
        size = cap;
        st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &dsize, &dver);
        if (EFI_ERROR(st))
            break;
        rc = xl_memmap_from_efi(map, size, dsize, bi->ranges, XL_MAX_MEMRANGES, &bi->nr_ranges);
        if (rc)
            return fail(EFI_BUFFER_TOO_SMALL, L"memory map has more than %d ranges",
                        XL_MAX_MEMRANGES);
        st = uefi_call_wrapper(BS->ExitBootServices, 2, image_handle, key);
        if (st != EFI_INVALID_PARAMETER)
            break;
    }
    if (EFI_ERROR(st))
        return fail(st, L"ExitBootServices: %r", st);
    return EFI_SUCCESS;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/* Firmware entry (called by gnu-efi's crt0). Returns only on error. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    struct xl_bootinfo *bi = NULL;
    uint64_t entry = 0;
    EFI_STATUS st;

    InitializeLib(image, systab);
    image_handle = image;
    uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
    Print(L"xenolith-loader: config %a\n", CFG_PATH);
    st = open_root();
    if (!EFI_ERROR(st))
        st = load_config();
    if (!EFI_ERROR(st))
        st = make_bootinfo(&bi);
    if (!EFI_ERROR(st))
        st = load_hv(&entry);
    if (!EFI_ERROR(st))
        st = load_modules(bi);
    if (EFI_ERROR(st))
        return st;
    bi->rsdp = find_rsdp();
    find_framebuffer(&bi->fb);
    log_platform(bi);
    Print(L"xenolith-loader: boot info at 0x%lx, exiting boot services, entering hv at 0x%lx\n",
          (uint64_t)bi, entry);
    st = exit_boot_services(bi);
    if (EFI_ERROR(st))
        return st;
    /* Boot services are gone: no firmware calls, no printing from here. */
    __asm__ volatile("cli" ::: "memory");
    bi->loader_tsc = rdtsc();
    ((hv_entry_fn)entry)((uint64_t)bi);
}
