/*
 * pvh.c - the C start of a kit kernel booted as a PVH guest or as an HVM
 * guest by a Multiboot loader (after pvh_head.S put it in long mode at
 * its link addresses): find Xen by CPUID, install the hypercall page
 * through the MSR Xen names, load the kit's own IDT (ring 0: exceptions
 * are native, the event callback is a vector), turn hvm_start_info (PVH)
 * or the multiboot_info (HVM) and the HVM params into the start_info_t
 * the common runtime and guest_main expect, then join kernel_start.
 * Owns: xl_is_pvh, xl_is_hvm, the IDT, the synthetic start_info, the
 * free-RAM range it reports to pages.c. Must never: run in a PV kernel
 * (only pvh_start32 and mb1_start32 lead here), write a page the loader
 * placed after the image before it has been read, or map anything beyond
 * the boot page tables.
 */
#include <stdint.h>
#include <xenolith/lib.h>
#include <xenolith/mb1_layout.h>
#include <xen/errno.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/features.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/platform.h>

#define MAPPED_LIMIT (1ULL << 30) /* pvh_head.S maps guest-physical 0-1 GiB */
#define E820_RAM     1

int xl_is_pvh, xl_is_hvm;
uint64_t xl_pvh_free_start_pfn, xl_pvh_free_end_pfn;

void pvh_start(uint32_t info_pa, uint32_t mb_magic);

extern char _end[];
extern char pvh_trap_0[], pvh_event_entry[];
static start_info_t pvh_si;

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
};
static struct idt_gate idt[256] __attribute__((aligned(16)));

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Xen's leaves: "XenVMMXenVMM" at some 0x40000x00 (behind Viridian ones
 * when those are on), with at least base + 2. 0 if not found. */
static uint32_t xen_cpuid_base(void)
{
    for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
        uint32_t a, b, c, d;
        cpuid(base, &a, &b, &c, &d);
        if (b == 0x566e6558 && c == 0x65584d4d && d == 0x4d4d566e && a >= base + 2)
            return base;
    }
    return 0;
}

static void *phys(uint64_t pa)
{
    return pa < MAPPED_LIMIT ? (void *)(GUEST_VIRT_BASE + pa) : NULL;
}

static void set_gate(unsigned int vec, const void *fn)
{
    uint64_t a = (uint64_t)fn;
    idt[vec] = (struct idt_gate){
        .off_lo = (uint16_t)a, .sel = 0x08, .type = 0x8e, /* present, DPL 0, interrupt gate */
        .off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
    };
}

static void idt_init(void)
{
    for (unsigned int v = 0; v < 20; v++)
        set_gate(v, pvh_trap_0 + 16 * v); /* 16-byte stubs (trap_entry.S) */
    set_gate(XL_PVH_EVENT_VECTOR, pvh_event_entry);
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } d = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" ::"m"(d));
}

long xl_hvm_get_param(uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
    *value = rc ? 0 : p.value;
    return rc;
}

long xl_hvm_set_param(uint32_t index, uint64_t value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index, .value = value };
    return HYPERVISOR_hvm_op(HVMOP_set_param, &p);
}

uint32_t xl_xen_features(void)
{
    struct xen_feature_info fi = { .submap_idx = 0 };
    return HYPERVISOR_xen_version(XENVER_get_features, &fi) ? 0 : fi.submap;
}

long xl_pvh_sched_block(void)
{
    if (guest_shared_info)
        __atomic_store_n(&guest_shared_info->vcpu_info[0].evtchn_upcall_mask, 0,
                         __ATOMIC_SEQ_CST);
    __asm__ volatile("sti; hlt" ::: "memory"); /* hlt in sti's shadow */
    return 0;
}

long xl_pvh_traps_init(void)
{
    if (!(xl_xen_features() & (1u << XENFEAT_hvm_callback_vector)))
        return -XEN_ENOSYS;
    long rc = xl_hvm_set_param(HVM_PARAM_CALLBACK_IRQ,
                               ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) |
                                   XL_PVH_EVENT_VECTOR);
    if (rc)
        return rc;
    __asm__ volatile("sti" ::: "memory");
    return 0;
}

/* The memory map: hvm_start_info's (version 1) or XENMEM_memory_map's
 * (Xen 4.17 gives a PVH dom0 version 0 without one). */
static struct {
    uint64_t addr, size;
    uint32_t type;
} ram[32];
static unsigned int nram;

static void read_memmap(const struct hvm_start_info *hsi)
{
    if (hsi->version >= 1 && hsi->memmap_entries) {
        const struct hvm_memmap_table_entry *m = phys(hsi->memmap_paddr);
        for (unsigned int i = 0; m && i < hsi->memmap_entries && nram < 32; i++, nram++) {
            ram[nram].addr = m[i].addr;
            ram[nram].size = m[i].size;
            ram[nram].type = m[i].type;
        }
        return;
    }
    static struct __attribute__((packed)) {
        uint64_t addr, size;
        uint32_t type;
    } e820[32];
    struct xen_memory_map mm = { .nr_entries = 32 };
    set_xen_guest_handle(mm.buffer, (void *)e820);
    if (HYPERVISOR_memory_op(XENMEM_memory_map, &mm))
        return;
    for (unsigned int i = 0; i < mm.nr_entries && nram < 32; i++, nram++) {
        ram[nram].addr = e820[i].addr;
        ram[nram].size = e820[i].size;
        ram[nram].type = e820[i].type;
    }
}

int xl_pvh_is_ram(uint64_t pfn)
{
    for (unsigned int i = 0; i < nram; i++)
        if (ram[i].type == E820_RAM && pfn >= (ram[i].addr + 4095) >> 12 &&
            pfn < (ram[i].addr + ram[i].size) >> 12)
            return 1;
    return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

__attribute__((noreturn)) static void crash(const char *m)
{
    HYPERVISOR_console_io(CONSOLEIO_write, (int)strlen(m), m);
    xen_shutdown(SHUTDOWN_crash);
    for (;;)
        ;
}

/* top, moved past [pa, end) when that starts in RAM (the memory map is
 * read by then): what a loader put outside RAM - Xenolith's builders put
 * the start page right above it - takes no free page. */
static uint64_t past(uint64_t top, uint64_t pa, uint64_t end)
{
    return xl_pvh_is_ram(pa >> 12) ? max_u64(top, end) : top;
}

static uint64_t copy_cmdline(start_info_t *si, uint64_t pa, uint64_t top)
{
    const char *cl = pa ? phys(pa) : NULL;
    if (!cl)
        return top;
    size_t n = 0;
    while (cl[n] && n + 1 < sizeof(si->cmd_line))
        n++;
    memcpy(si->cmd_line, cl, n);
    return past(top, pa, pa + n + 1);
}

/* PVH: hvm_start_info at hsi_pa. Returns the end of what the loader put
 * in memory, at least top. */
static uint64_t from_hvm_start_info(start_info_t *si, uint32_t hsi_pa, uint64_t top)
{
    const struct hvm_start_info *hsi = phys(hsi_pa);
    if (!hsi || hsi->magic != XEN_HVM_START_MAGIC_VALUE)
        crash("pvh: no hvm_start_info (bad %ebx or magic)\n");
    read_memmap(hsi);
    top = past(top, hsi_pa, hsi_pa + sizeof(*hsi));
    si->flags = hsi->flags;
    top = copy_cmdline(si, hsi->cmdline_paddr, top);
    const struct hvm_modlist_entry *mod = hsi->nr_modules ? phys(hsi->modlist_paddr) : NULL;
    for (unsigned int i = 0; mod && i < hsi->nr_modules; i++) {
        top = past(top, hsi->modlist_paddr, hsi->modlist_paddr + (i + 1) * sizeof(*mod));
        top = past(top, mod[i].paddr, mod[i].paddr + mod[i].size);
        if (mod[i].cmdline_paddr)
            top = past(top, mod[i].cmdline_paddr, mod[i].cmdline_paddr + 1024);
    }
    if (mod && phys(mod[0].paddr)) {
        si->mod_start = (unsigned long)phys(mod[0].paddr);
        si->mod_len = mod[0].size;
    }
    if (hsi->version >= 1 && hsi->memmap_entries)
        top = past(top, hsi->memmap_paddr,
                   hsi->memmap_paddr +
                       hsi->memmap_entries * sizeof(struct hvm_memmap_table_entry));
    return top;
}

/* HVM: a Multiboot loader's multiboot_info at mbi_pa (flags say which
 * parts are there: the memory map, else mem_lower/mem_upper). Returns
 * the end of what the loader put in memory, at least top. */
static uint64_t from_multiboot(start_info_t *si, uint32_t mbi_pa, uint64_t top)
{
    const struct mb1_info *mi = phys(mbi_pa);
    if (!mi)
        crash("hvm: no multiboot_info (bad %ebx)\n");
    if (mi->flags & MB1_INFO_MEM_MAP) {
        for (uint64_t pa = mi->mmap_addr; pa + sizeof(struct mb1_mmap_entry) <=
                                          (uint64_t)mi->mmap_addr + mi->mmap_length && nram < 32;) {
            const struct mb1_mmap_entry *e = phys(pa);
            if (!e || e->size < 20)
                break;
            ram[nram].addr = e->addr;
            ram[nram].size = e->len;
            ram[nram++].type = e->type;
            pa += e->size + 4; /* size counts what follows it */
        }
    } else if (mi->flags & MB1_INFO_MEMORY) {
        ram[0].addr = 0, ram[0].size = (uint64_t)mi->mem_lower << 10, ram[0].type = E820_RAM;
        ram[1].addr = 1ULL << 20, ram[1].size = (uint64_t)mi->mem_upper << 10;
        ram[1].type = E820_RAM;
        nram = 2;
    }
    top = past(top, mbi_pa, mbi_pa + sizeof(*mi));
    if (mi->flags & MB1_INFO_MEM_MAP)
        top = past(top, mi->mmap_addr, (uint64_t)mi->mmap_addr + mi->mmap_length);
    if (mi->flags & MB1_INFO_CMDLINE)
        top = copy_cmdline(si, mi->cmdline, top);
    const struct mb1_module *mod =
        (mi->flags & MB1_INFO_MODS) && mi->mods_count ? phys(mi->mods_addr) : NULL;
    for (unsigned int i = 0; mod && i < mi->mods_count; i++) {
        top = past(top, mi->mods_addr, mi->mods_addr + (i + 1) * sizeof(*mod));
        top = past(top, mod[i].mod_start, mod[i].mod_end);
    }
    if (mod && phys(mod[0].mod_start) && mod[0].mod_end > mod[0].mod_start) {
        si->mod_start = (unsigned long)phys(mod[0].mod_start);
        si->mod_len = mod[0].mod_end - mod[0].mod_start;
    }
    return top;
}

void pvh_start(uint32_t info_pa, uint32_t mb_magic)
{
    uint32_t base = xen_cpuid_base(), a, b, c, d;
    if (!base)
        for (;;)
            __asm__ volatile("hlt"); /* not on Xen: nobody to tell */
    cpuid(base + 2, &a, &b, &c, &d);
    wrmsr(b, xl_pvh_virt_to_phys(hypercall_page));
    xl_is_pvh = 1;
    xl_is_hvm = mb_magic == MB1_BOOTLOADER_MAGIC;
    idt_init();

    start_info_t *si = &pvh_si;
    memcpy(si->magic, "xen-3.0-x86_64", sizeof("xen-3.0-x86_64"));
    /* Everything the loader put in guest memory: free RAM starts after. */
    uint64_t top = xl_pvh_virt_to_phys(_end);
    top = xl_is_hvm ? from_multiboot(si, info_pa, top) : from_hvm_start_info(si, info_pa, top);
    if (xl_xen_features() & (1u << XENFEAT_dom0))
        si->flags |= SIF_INITDOMAIN | SIF_PRIVILEGED;
    uint64_t first = (top + 4095) >> 12, last = first;
    for (unsigned int i = 0; i < nram; i++) {
        uint64_t e = (ram[i].addr + ram[i].size) >> 12;
        if (e > MAPPED_LIMIT >> 12)
            e = MAPPED_LIMIT >> 12;
        if (ram[i].type == E820_RAM && e > last)
            last = e;
    }
    xl_pvh_free_start_pfn = first;
    xl_pvh_free_end_pfn = last;
    si->nr_pages = xl_pvh_free_end_pfn;
    extern char pvh_l4[];
    si->pt_base = (unsigned long)pvh_l4;
    si->nr_pt_frames = 4;
    if (!(si->flags & SIF_INITDOMAIN)) {
        uint64_t v;
        if (!xl_hvm_get_param(HVM_PARAM_STORE_PFN, &v) && phys(v << 12)) {
            si->store_mfn = v;
            xl_hvm_get_param(HVM_PARAM_STORE_EVTCHN, &v);
            si->store_evtchn = (uint32_t)v;
        }
        if (!xl_hvm_get_param(HVM_PARAM_CONSOLE_PFN, &v) && phys(v << 12)) {
            si->console.domU.mfn = v;
            xl_hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN, &v);
            si->console.domU.evtchn = (uint32_t)v;
        }
    }
    kernel_start(si);
}
