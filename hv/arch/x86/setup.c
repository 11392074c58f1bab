/*
 * setup.c - hv_start: the boot sequence of the hypervisor, from the
 * loader's hand-over to the first guest instruction.
 * Owns: the boot order and the memory summary. Must never: trust the
 * boot info beyond its magic, version and bounds.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/pvh_build.h>
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pirq.h>
#include <xenolith/percpu.h>
#include <xenolith/power.h>
#include <xenolith/kimage.h>
#include <xenolith/pv_build_hv.h>
#include <xenolith/sched.h>
#include <xenolith/serial.h>
#include <xenolith/tlbflush.h>
#include <xenolith/version_info.h>
#include <xenolith/bootinfo.h>
#include <xenolith/mb2.h>

extern uint64_t idle_pml4[512];
extern uint8_t hv_image_start[], hv_image_end[];
extern uint8_t hv_boot_start[]; /* hv.lds: the image's first byte, physical */
extern const uint8_t hv_build_id_note[], hv_build_id_note_end[];

static char cmdline_copy[XL_CMDLINE_MAX];
static uint64_t boot_tsc;

void *mfn_to_virt(uint64_t mfn) { return (void *)(DIRECTMAP_BASE + (mfn << PAGE_SHIFT)); }
uint64_t virt_to_mfn(const void *va) { return ((uint64_t)va - DIRECTMAP_BASE) >> PAGE_SHIFT; }
const uint64_t *arch_hv_l4_slots(void) { return idle_pml4; }
void arch_flush_tlb(void) { write_cr3(read_cr3()); }
void arch_invlpg(uint64_t va)
{
    invlpg(va);
    tlbflush_invlpg_count++; /* pv_cpu.c's translation cache follows the TLB */
}
void arch_switch_cr3(uint64_t cr3)
{
    uint64_t t = tlbflush_begin();
    write_cr3(cr3);
    tlbflush_done(t);
}
void cpu_leave_guest_pt(void); /* traps.c: CR3 and the shootdown masks */
void arch_leave_guest_page_tables(void) { cpu_leave_guest_pt(); }
void arch_set_hv_l4_slot(unsigned int slot, uint64_t e) { idle_pml4[slot & 511] = e; }
void arch_write_ptbase(uint64_t cr3)
{
    if (read_cr3() != cr3)
        arch_switch_cr3(cr3);
}
void arch_flush_cache(void) { __asm__ volatile("wbinvd" ::: "memory"); }
int console_getc(void) { return serial_getc(); }

/* "key=value" in the hv command line, as a number (with K/M/G suffix). */
static uint64_t cmdline_size(const char *key, uint64_t dflt)
{
    size_t kl = strlen(key);
    for (const char *p = cmdline_copy; *p; p++) {
        if ((p == cmdline_copy || p[-1] == ' ') && !strncmp(p, key, kl) && p[kl] == '=') {
            uint64_t v = 0;
            for (p += kl + 1; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint64_t)(*p - '0');
            if (*p == 'K' || *p == 'k') v <<= 10;
            if (*p == 'M' || *p == 'm') v <<= 20;
            if (*p == 'G' || *p == 'g') v <<= 30;
            return v;
        }
    }
    return dflt;
}

/* "key=word" in the hv command line: is its value exactly word? */
static int cmdline_is(const char *key, const char *word)
{
    size_t kl = strlen(key), wl = strlen(word);
    for (const char *p = cmdline_copy; *p; p++)
        if ((p == cmdline_copy || p[-1] == ' ') && !strncmp(p, key, kl) && p[kl] == '=')
            return !strncmp(p + kl + 1, word, wl) && (p[kl + 1 + wl] == 0 || p[kl + 1 + wl] == ' ');
    return 0;
}

static void banner(const struct xl_bootinfo *bi)
{
    printk("Xenolith %s (Xen %d.%d ABI) changeset %s, built %s\n", XL_VERSION, XL_XEN_MAJOR,
           XL_XEN_MINOR, XL_CHANGESET, XL_BUILD_DATE);
    if (hv_build_id_note_end - hv_build_id_note > 16) {
        hv_build_id = hv_build_id_note + 16; /* namesz, descsz, type, "GNU\0" */
        hv_build_id_len = *(const uint32_t *)(hv_build_id_note + 4);
        char hex[41] = "";
        for (unsigned int i = 0; i < hv_build_id_len && i < 20; i++)
            xl_snprintf(hex + 2 * i, 3, "%02x", hv_build_id[i]);
        printk("build id %s\n", hex);
    }
    printk("boot path: %s, command line: \"%s\"\n", bi->boot_path, cmdline_copy);
}

static const char *range_name(uint32_t t)
{
    static const char *const n[] = { "?", "usable", "reserved", "ACPI", "ACPI NVS",
                                     "boot modules", "hypervisor" };
    return t < ARRAY_SIZE(n) ? n[t] : "?";
}

/* Find page-aligned room for n bytes in usable RAM above 1 MiB and below
 * the boot direct map; returns the physical address or 0. */
static uint64_t find_room(const struct xl_bootinfo *bi, uint64_t n)
{
    for (uint32_t i = 0; i < bi->nr_ranges; i++) {
        const struct xl_mem_range *r = &bi->ranges[i];
        uint64_t base = MAX(r->base, 0x100000ULL), end = r->base + r->len;
        if (r->type == XL_MEM_USABLE && end > base && end - base >= n &&
            base + n <= (uint64_t)BOOT_MAP_GIB << 30)
            return base;
    }
    return 0;
}

static void memory_init(const struct xl_bootinfo *bi)
{
    uint64_t usable = 0, top = 0;
    for (uint32_t i = 0; i < bi->nr_ranges; i++) {
        const struct xl_mem_range *r = &bi->ranges[i];
        if (r->type != XL_MEM_RESERVED && r->type != XL_MEM_ACPI_NVS)
            top = MAX(top, r->base + r->len);
        if (r->type == XL_MEM_USABLE)
            usable += r->len;
    }
    if (top > (uint64_t)BOOT_MAP_GIB << 30) {
        printk("memory: RAM above %d GiB is not mapped yet; ignoring it\n", BOOT_MAP_GIB);
        top = (uint64_t)BOOT_MAP_GIB << 30;
    }
    max_mfn = top >> PAGE_SHIFT;
    uint64_t bm = ROUNDUP(page_alloc_bitmap_bytes(max_mfn), 8);
    uint64_t ft = ROUNDUP(max_mfn * sizeof(struct page_info), PAGE_SIZE);
    uint64_t meta = find_room(bi, ROUNDUP(bm + ft, PAGE_SIZE));
    if (!meta)
        panic("no room for the frame table (%lu bytes)", (unsigned long)(bm + ft));
    frame_table = (struct page_info *)(DIRECTMAP_BASE + meta);
    page_alloc_init(&hv_pages, (uint64_t *)(DIRECTMAP_BASE + meta + ft), 0, max_mfn);
    /* Xen's rule: what the map does not call RAM, and the first MiB, is
     * I/O memory (DOMID_IO) that dom0 may map; RAM is the hv's until the
     * allocator takes it. */
    for (uint64_t m = 0; m < max_mfn; m++)
        frame_table[m] = (struct page_info){ .owner = DOMID_IO_OWNED };
    for (uint32_t i = 0; i < bi->nr_ranges; i++) {
        const struct xl_mem_range *r = &bi->ranges[i];
        if (r->type != XL_MEM_USABLE && r->type != XL_MEM_BOOT && r->type != XL_MEM_HV)
            continue;
        for (uint64_t m = MAX(r->base, 0x100000ULL) >> PAGE_SHIFT;
             m < (r->base + r->len) >> PAGE_SHIFT && m < max_mfn; m++)
            frame_table[m].owner = DOMID_HV_OWNED;
    }

    for (uint32_t i = 0; i < bi->nr_ranges; i++) {
        const struct xl_mem_range *r = &bi->ranges[i];
        static const uint32_t e820_type[] = { [XL_MEM_USABLE] = E820_RAM,
                                              [XL_MEM_RESERVED] = E820_RESERVED,
                                              [XL_MEM_ACPI] = E820_ACPI,
                                              [XL_MEM_ACPI_NVS] = E820_NVS,
                                              [XL_MEM_BOOT] = E820_RAM, [XL_MEM_HV] = E820_RAM };
        memory_add_machine_range(r->base, r->len,
                                 r->type < ARRAY_SIZE(e820_type) && e820_type[r->type]
                                     ? e820_type[r->type] : E820_RESERVED);
        printk("  %016lx-%016lx %s\n", (unsigned long)r->base,
               (unsigned long)(r->base + r->len), range_name(r->type));
        if (r->type != XL_MEM_USABLE || r->base + r->len <= 0x100000)
            continue;
        uint64_t s = MAX(r->base, 0x100000ULL) >> PAGE_SHIFT, e = (r->base + r->len) >> PAGE_SHIFT;
        page_alloc_add_free(&hv_pages, s, e - s);
    }
    page_alloc_reserve(&hv_pages, meta >> PAGE_SHIFT, ROUNDUP(bm + ft, PAGE_SIZE) >> PAGE_SHIFT);
    for (uint64_t m = 0; m < max_mfn; m++)
        if (page_alloc_is_free(&hv_pages, m))
            frame_table[m].owner = DOMID_FREE;
    printk("memory: %lu MiB usable, %lu pages free, frame table %lu KiB, hv image %lu KiB\n",
           (unsigned long)(usable >> 20), (unsigned long)mm_free_count(),
           (unsigned long)(ft >> 10), (unsigned long)((hv_image_end - hv_image_start) >> 10));
}

/* Boot modules are loader memory: give it to the allocator once every
 * boot-time domain is built from it. */
static void reclaim_boot_modules(const struct xl_bootinfo *bi)
{
    uint64_t n = 0;
    struct xl_mem_range r[XL_MAX_MEMRANGES];
    uint32_t nr = bi->nr_ranges;
    memcpy(r, bi->ranges, nr * sizeof(r[0])); /* bi itself is in one of them */
    for (uint32_t i = 0; i < nr; i++) {
        if (r[i].type != XL_MEM_BOOT || r[i].base + r[i].len > max_mfn << PAGE_SHIFT)
            continue;
        n += page_alloc_add_free(&hv_pages, r[i].base >> PAGE_SHIFT, r[i].len >> PAGE_SHIFT);
        for (uint64_t m = r[i].base >> PAGE_SHIFT; m < (r[i].base + r[i].len) >> PAGE_SHIFT; m++)
            frame_table[m].owner = DOMID_FREE;
    }
    printk("memory: %lu boot-module pages reclaimed, %lu pages free\n", (unsigned long)n,
           (unsigned long)mm_free_count());
}

static uint8_t kimage_scratch[KIMAGE_SCRATCH_SIZE] __attribute__((aligned(8)));

static void free_frames(uint64_t first, unsigned int order)
{
    for (uint64_t i = 0; i < (1ULL << order); i++)
        mm_free_frame(first + i);
}

static struct domain *build_boot_domain(uint16_t domid, const struct xl_module *m,
                                        const struct xl_module *initrd, uint64_t mem)
{
    struct domain *d = domain_create(domid, domid == 0, domid == 0 ? "Domain-0" : m->name);
    if (!d)
        panic("cannot create d%u", domid);
    /* Xen's dom0_max_vcpus=N (capped at MAX_VCPUS here; Xen caps it at
     * its pCPUs): vcpus 1.. exist down, for dom0 to bring up itself with
     * VCPUOP_initialise + VCPUOP_up. */
    /* domu_max_vcpus=N: the same for boot-time domUs (Xenolith's, as
     * Xen's dom0less gives each its cpus= from the device tree). */
    {
        uint64_t n = cmdline_size(domid == 0 ? "dom0_max_vcpus" : "domu_max_vcpus", 1);
        domain_set_max_vcpus(d, n < 1 ? 1 : n > MAX_VCPUS ? MAX_VCPUS : (unsigned int)n);
    }
    /* A bzImage or a compressed ELF is unpacked into frames of the hv's,
     * given back once the domain is built (Xen's boot-time builder does
     * the same with its bzimage_parse). */
    const void *kernel = (const void *)(DIRECTMAP_BASE + m->start);
    size_t kernel_len = m->len;
    int64_t unpacked = -1;
    unsigned int order = 0;
    struct kimage_info ki;
    const char *kwhy = "";
    if (kimage_probe(kernel, kernel_len, &ki, &kwhy)) {
        printk("d%u: cannot build from %s: %s\n", domid, m->name, kwhy);
        domain_crash(d, "domain builder failed");
        return d;
    }
    if (ki.comp == KCOMP_NONE) {
        kernel = ki.payload; /* an ELF, or a bzImage's uncompressed payload */
        kernel_len = ki.payload_len;
    } else {
        while (order < MM_MAX_ORDER && ((size_t)PAGE_SIZE << order) < ki.out_len)
            order++;
        uint64_t t0 = arch_time_ns();
        unpacked = ((size_t)PAGE_SIZE << order) >= ki.out_len ? mm_alloc_frames(DOMID_HV_OWNED, order) : -1;
        int rc = unpacked < 0 ? -XL_ENOMEM
                              : kimage_decompress(&ki, mfn_to_virt((uint64_t)unpacked),
                                                  PAGE_SIZE << order, kimage_scratch, &kwhy);
        if (unpacked < 0)
            kwhy = "no contiguous memory to unpack it into";
        if (rc) {
            printk("d%u: cannot build from %s: %s%s payload of %lu bytes: %s\n", domid, m->name,
                   ki.is_bzimage ? "bzImage, " : "", kimage_comp_name(ki.comp),
                   (unsigned long)ki.payload_len, kwhy);
            if (unpacked >= 0)
                free_frames((uint64_t)unpacked, order);
            domain_crash(d, "domain builder failed");
            return d;
        }
        printk("d%u: %s: %s%s, %lu KiB unpacked to %lu KiB in %lu ms\n", domid, m->name,
               ki.is_bzimage ? "bzImage with " : "", kimage_comp_name(ki.comp),
               (unsigned long)(ki.payload_len >> 10), (unsigned long)(ki.out_len >> 10),
               (unsigned long)((arch_time_ns() - t0) / 1000000));
        kernel = mfn_to_virt((uint64_t)unpacked);
        kernel_len = ki.out_len;
    }
    /* PVH: dom0 with Xen's dom0=pvh; a domU whose kernel has only the
     * PVH entry, or every domU with domu_type=pvh. */
    int kind = pvh_kernel_kind(kernel, kernel_len);
    int pvh = domid == 0 ? cmdline_is("dom0", "pvh")
                         : (cmdline_is("domu_type", "pvh") || kind == PVH_KERNEL_PVH);
    if (pvh) {
        const struct pvh_image pi = {
            .kernel = kernel, .kernel_len = kernel_len,
            .initrd = initrd ? (const void *)(DIRECTMAP_BASE + initrd->start) : NULL,
            .initrd_len = initrd ? initrd->len : 0, .cmdline = m->cmdline,
            .nr_pages = mem >> PAGE_SHIFT,
        };
        const char *pwhy = "unknown";
        int prc = pvh_build(d, &pi, &pwhy);
        if (unpacked >= 0)
            free_frames((uint64_t)unpacked, order);
        if (prc) {
            printk("d%u: cannot build from %s as PVH: %s (error %d)\n", domid, m->name, pwhy, prc);
            domain_crash(d, "domain builder failed");
            return d;
        }
        printk("d%u: %s, PVH (%s), %lu MiB, entry %08lx, start info at %08lx\n", domid, m->name,
               hvm_funcs->name, (unsigned long)(mem >> 20), (unsigned long)d->vcpus[0].regs.rip,
               (unsigned long)d->vcpus[0].regs.rbx);
        return d;
    }
    struct pv_image img = {
        .kernel = kernel, .kernel_len = kernel_len,
        .initrd = initrd ? (const void *)(DIRECTMAP_BASE + initrd->start) : NULL,
        .initrd_len = initrd ? initrd->len : 0, .cmdline = m->cmdline,
        .nr_pages = mem >> PAGE_SHIFT,
    };
    struct pv_layout l;
    const char *why = "unknown";
    int rc = pv_build(d, &img, &l, &why);
    if (unpacked >= 0)
        free_frames((uint64_t)unpacked, order);
    if (rc) {
        printk("d%u: cannot build from %s: %s (error %d)\n", domid, m->name, why, rc);
        domain_crash(d, "domain builder failed");
        return d;
    }
    printk("d%u: %s, %lu MiB, kernel %016lx-%016lx entry %016lx\n", domid, m->name,
           (unsigned long)(mem >> 20), (unsigned long)l.vkern_start, (unsigned long)l.vkern_end,
           (unsigned long)d->vcpus[0].regs.rip);
    printk("d%u: start_info %016lx, page tables %016lx (%lu frames), stack %016lx, mapped to %016lx\n",
           domid, (unsigned long)l.vstartinfo_start, (unsigned long)l.vpt_start,
           (unsigned long)l.nr_pt_pages, (unsigned long)l.vstack_end, (unsigned long)l.v_end);
    return d;
}

/* The multiboot2 path's boot info: mb2.c fills it from GRUB's MBI, which
 * is not needed after that (the RSDP is copied too), so nothing but the
 * modules (XL_MEM_BOOT) has to outlive the conversion. */
static struct xl_bootinfo mb2_bootinfo;
static uint8_t mb2_rsdp[MB2_RSDP_MAX] __attribute__((aligned(16)));

static uint64_t mb2_convert(uint64_t mbi_phys, uint64_t entry_tsc)
{
    static char why[160];
    const uint64_t limit = (uint64_t)BOOT_MAP_GIB << 30; /* what the direct map covers now */
    if (mbi_phys >= limit || (mbi_phys & 7))
        panic("multiboot2: MBI at %lx is not 8-byte aligned below %d GiB", (unsigned long)mbi_phys,
              BOOT_MAP_GIB);
    struct mb2_env env = {
        .hv_start = (uint64_t)hv_boot_start,
        .hv_end = (uint64_t)hv_image_end - DIRECTMAP_BASE,
        .loader_tsc = entry_tsc,
        .rsdp_buf = mb2_rsdp,
        .rsdp_buf_phys = (uint64_t)mb2_rsdp - DIRECTMAP_BASE,
    };
    if (mb2_to_bootinfo((const void *)(DIRECTMAP_BASE + mbi_phys), limit - mbi_phys, &env,
                        &mb2_bootinfo, why, sizeof(why)))
        panic("multiboot2: %s", why);
    return (uint64_t)&mb2_bootinfo - DIRECTMAP_BASE;
}

/* boot_path 0: the UEFI loader's hand-over, info_phys = its struct
 * xl_bootinfo; 1: multiboot2 (mb2_entry.S), info_phys = GRUB's MBI and
 * entry_tsc the TSC at the 32-bit entry. */
void hv_start(uint64_t info_phys, uint64_t boot_path, uint64_t entry_tsc);
void hv_start(uint64_t info_phys, uint64_t boot_path, uint64_t entry_tsc)
{
    boot_tsc = rdtsc();
    serial_init();
    idle_pml4[0] = 0; /* drop the loader-era identity map */
    write_cr3(read_cr3());
    cpu_init();
    time_init();
    uint64_t bootinfo_phys = boot_path == 1 ? mb2_convert(info_phys, entry_tsc) : info_phys;
    const struct xl_bootinfo *bi = (const struct xl_bootinfo *)(DIRECTMAP_BASE + bootinfo_phys);
    if (bootinfo_phys >= (uint64_t)BOOT_MAP_GIB << 30 || bi->magic != XL_BOOTINFO_MAGIC ||
        bi->version != XL_BOOTINFO_VERSION)
        panic("bad boot info at %lx: wrong magic or version", (unsigned long)bootinfo_phys);
    memcpy(cmdline_copy, bi->hv_cmdline, sizeof(cmdline_copy) - 1);
    hv_cmdline = cmdline_copy;
    banner(bi);
    printk("boot: loader handed over %lu us before hv start\n",
           (unsigned long)((boot_tsc - bi->loader_tsc) * 1000000 / tsc_hz()));
    memory_init(bi);
    if (m2p_init())
        panic("no memory for the M2P table");
    apic_init();
    serial_enable_rx_irq();
    pci_hw_init(); /* device interrupts for dom0 (PHYSDEVOP_map_pirq) */
    hvm_init();    /* SVM or VT-x for HVM/PVH guests, if the CPU has one */
    smp_init(bi, (unsigned int)MIN(cmdline_size("maxcpus", NR_CPUS), NR_CPUS),
             (uint32_t)cmdline_size("smp_test_dead_apic", ~0u));
    sched_init(nr_cpus_online); /* a run queue per online CPU */

    const struct xl_module *dom0 = NULL, *initrd = NULL;
    for (uint32_t i = 0; i < bi->nr_modules && i < XL_MAX_MODULES; i++) {
        if (bi->modules[i].kind == XL_MOD_DOM0 && !dom0)
            dom0 = &bi->modules[i];
        if (bi->modules[i].kind == XL_MOD_RAMDISK && !initrd)
            initrd = &bi->modules[i];
    }
    if (!dom0)
        panic("no dom0 kernel among the %u boot modules", bi->nr_modules);
    build_boot_domain(0, dom0, initrd, cmdline_size("dom0_mem", 32ULL << 20));
    /* Boot-time domUs (like Xen's dom0less): d1, d2, ... in config order,
     * unprivileged, each with domu_mem of memory. Nothing reaps them but
     * the scheduler, which destroys them once they shut down. */
    printk("memory: %lu pages free before boot-time domUs\n", (unsigned long)mm_free_count());
    uint16_t next_domid = 1;
    for (uint32_t i = 0; i < bi->nr_modules && i < XL_MAX_MODULES; i++) {
        if (bi->modules[i].kind != XL_MOD_DOMU)
            continue;
        if (next_domid >= MAX_DOMAINS) {
            printk("boot: no domain slot left for %s; skipped\n", bi->modules[i].name);
            continue;
        }
        struct domain *d = build_boot_domain(next_domid++, &bi->modules[i], NULL,
                                             cmdline_size("domu_mem", 16ULL << 20));
        d->auto_destroy = 1;
    }
    reclaim_boot_modules(bi);

    /* From here on every CPU runs guests; hv code runs under the big
     * lock (docs/architecture.md, "Locking"). */
    smp_set_test_hang((unsigned int)cmdline_size("smp_test_hang_cpu", ~0u));
    smp_set_watchdog_ms(cmdline_size("smp_watchdog_ms", 0));
    big_lock();
    smp_start_scheduling();
    struct vcpu *v;
    while (!(v = sched_pick_next()))
        sched_idle_or_halt();
    printk("boot: entering d%u at %016lx, %lu us after hv start\n", v->domain->domid,
           (unsigned long)v->regs.rip, (unsigned long)(arch_time_ns() / 1000));
    arch_enter_first_guest(v);
}
