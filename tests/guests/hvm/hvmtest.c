/*
 * hvmtest.c - the HVM test guest: a long-mode kernel, PVH-booted (type =
 * "pvh") or Multiboot-booted (type = "hvm", with the emulated platform:
 * PIC, PIT, the device model's 16550A), that checks the hypervisor's HVM
 * interface from inside (CPUID leaves, MSRs, the hypercall page,
 * hypercalls by vmcall/vmmcall, port I/O, accesses to holes, events by
 * the callback vector, HLT) and, with mode=..., acts as
 * a hostile guest (random ports, MSRs, CPUID leaves, hypercalls, MMIO,
 * a triple fault). Output goes to Xen's debug port 0xe9 ("(dN) ..."
 * lines in the hv log), which needs nothing of the guest kit.
 * Owns: nothing beyond itself. Must never: be linked into anything else.
 */
#include <stdarg.h>
#include <stdint.h>
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include <xenolith/mb1_layout.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/event_channel.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/grant_table.h>


void hvmtest_main(uint64_t info, uint64_t magic);
void hvmtest_upcall(void);
extern char hvm_exc_ud[], hvm_exc_gp[], hvm_exc_other[], hvm_cb_entry[], hvm_irq_entry[];
extern char hvm_ap_ipi_entry[], hvm_bsp_ipi_entry[], ap_tramp[], ap_tramp_end[];
volatile uint64_t hvm_bsp_ipis;
void ap_main(void);
volatile uint64_t hvm_exc_count[256];
volatile uint64_t hvm_irqs;
volatile uint8_t hvm_irq_eoi;
volatile uint64_t hvm_skip_len;

static int passed, failed;
static uint8_t hcall_page[4096] __attribute__((aligned(4096)));
static uint8_t shinfo_page[4096] __attribute__((aligned(4096)));
static volatile uint64_t upcalls;

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* rdmsr/wrmsr that survive a #GP (the handler skips the 2-byte insn):
 * 0, or -1 when it faulted. */
static int rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint64_t before = hvm_exc_count[13];
    uint32_t lo = 0, hi = 0;
    hvm_skip_len = 2;
    __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
    *val = ((uint64_t)hi << 32) | lo;
    return hvm_exc_count[13] != before ? -1 : 0;
}

static int wrmsr_safe(uint32_t msr, uint64_t val)
{
    uint64_t before = hvm_exc_count[13];
    hvm_skip_len = 2;
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
    return hvm_exc_count[13] != before ? -1 : 0;
}

static void put(const char *s)
{
    while (*s)
        outb(0xe9, (uint8_t)*s++);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    xl_vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    put(buf);
    put("\n");
}

static void check(const char *what, long got, long want)
{
    if (got == want) {
        passed++;
        say("PASS %s", what);
    } else {
        failed++;
        say("FAIL %s: got %ld (%#lx), want %ld (%#lx)", what, got, (unsigned long)got, want,
            (unsigned long)want);
    }
}

static long hcall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                  uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    long ret;
    void *entry = hcall_page + nr * 32;
    __asm__ volatile("call *%[e]"
                     : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : [e] "r"(entry)
                     : "memory", "rcx", "r9", "r11");
    return ret;
}

/* A raw vmmcall/vmcall (no page): which one the CPU has. */
static int is_amd(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    return r[1] == 0x68747541; /* "Auth" */
}

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, zero;
} __attribute__((packed));
static struct idt_entry idt[256] __attribute__((aligned(16)));

static void set_gate(unsigned int vec, void *fn)
{
    uint64_t a = (uint64_t)fn;
    idt[vec] = (struct idt_entry){ .off0 = (uint16_t)a, .sel = 0x08, .type = 0x8e,
                                   .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32) };
}

static void load_idt(uint16_t limit)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) p = { limit, (uint64_t)idt };
    __asm__ volatile("lidt %0" :: "m"(p));
}

static uint64_t xrand_state = 0x9e3779b97f4a7c15ULL;
static uint64_t xrand(void)
{
    uint64_t x = xrand_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return xrand_state = x;
}

void hvmtest_upcall(void)
{
    shared_info_t *s = (shared_info_t *)shinfo_page;
    s->vcpu_info[0].evtchn_upcall_pending = 0;
    uint64_t sel = __atomic_exchange_n(&s->vcpu_info[0].evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    for (unsigned int w = 0; sel && w < 64; w++) {
        if (!(sel >> w & 1))
            continue;
        __atomic_exchange_n(&s->evtchn_pending[w], 0, __ATOMIC_SEQ_CST);
    }
    upcalls++;
}

static const char *opt(const char *cmdline, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = cmdline; p && *p; p++)
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, n) && p[n] == '=')
            return p + n + 1;
    return NULL;
}

static int opt_is(const char *cmdline, const char *key, const char *val)
{
    const char *v = opt(cmdline, key);
    size_t n = strlen(val);
    return v && !strncmp(v, val, n) && (v[n] == 0 || v[n] == ' ');
}

/* What the loader told: hvm_start_info (PVH) or multiboot_info (type =
 * "hvm"), reduced to what the checks need. */
struct boot {
    const struct hvm_start_info *si; /* PVH, else NULL */
    const struct mb1_info *mi;       /* Multiboot, else NULL */
    const char *cmdline;
    unsigned int map_entries;
    uint64_t ram_end; /* the end of the highest RAM entry */
    uint64_t map_end; /* the end of the highest entry of any type */
};

static void map_entry(struct boot *b, uint64_t addr, uint64_t size, uint32_t type)
{
    b->map_entries++;
    if (addr + size > b->map_end)
        b->map_end = addr + size;
    if (type == 1 && addr + size > b->ram_end)
        b->ram_end = addr + size;
}

static void boot_info(struct boot *b, uint64_t info, uint64_t magic)
{
    memset(b, 0, sizeof(*b));
    b->cmdline = "";
    if (magic == MB1_BOOTLOADER_MAGIC) {
        b->mi = (const struct mb1_info *)(uintptr_t)info;
        if ((b->mi->flags & MB1_INFO_CMDLINE) && b->mi->cmdline)
            b->cmdline = (const char *)(uintptr_t)b->mi->cmdline;
        if (!(b->mi->flags & MB1_INFO_MEM_MAP))
            return;
        /* each entry: its size field, then size bytes */
        for (uint32_t off = 0; off + sizeof(struct mb1_mmap_entry) <= b->mi->mmap_length;) {
            const struct mb1_mmap_entry *e =
                (const void *)(uintptr_t)(b->mi->mmap_addr + off);
            map_entry(b, e->addr, e->len, e->type);
            off += e->size + 4;
        }
        return;
    }
    b->si = (const struct hvm_start_info *)(uintptr_t)info;
    if (b->si->cmdline_paddr)
        b->cmdline = (const char *)(uintptr_t)b->si->cmdline_paddr;
    const struct hvm_memmap_table_entry *m = (const void *)(uintptr_t)b->si->memmap_paddr;
    for (unsigned int i = 0; i < b->si->memmap_entries; i++)
        map_entry(b, m[i].addr, m[i].size, m[i].type);
}

/* A hole above everything the memory map names, inside the 1 GiB the
 * guest maps. */
static uint64_t hole_gpa(const struct boot *b)
{
    return (b->map_end + (64ULL << 20)) & ~((1ULL << 21) - 1);
}

static void basic(const struct boot *b)
{
    uint32_t r[4];
    cpuid(0x40000000, 0, r);
    check("cpuid 0x40000000: XenVMMXenVMM",
          r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e, 1);
    check("cpuid 0x40000000: leaves up to base+2 at least", r[0] >= 0x40000002, 1);
    cpuid(0x40000001, 0, r);
    check("cpuid 0x40000001: version 4.17", r[0], 0x40011);
    cpuid(0x40000002, 0, r);
    check("cpuid 0x40000002: one hypercall page", r[0], 1);
    check("cpuid 0x40000002: hypercall MSR 0x40000000", r[1], 0x40000000);
    uint32_t msr = r[1];
    cpuid(1, 0, r);
    check("cpuid 1: hypervisor bit", r[2] >> 31, 1);
    check("cpuid 1: no VMX", (r[2] >> 5) & 1, 0);
    cpuid(0x80000001, 0, r);
    check("cpuid 0x80000001: no SVM", (r[2] >> 2) & 1, 0);
    uint64_t efer;
    check("rdmsr EFER", rdmsr_safe(0xc0000080, &efer), 0);
    check("EFER: LME and LMA, no SVME", efer & ((1 << 8) | (1 << 10) | (1 << 12)),
          (1 << 8) | (1 << 10));
    uint64_t v;
    check("rdmsr of an MSR not offered: #GP", rdmsr_safe(0xc0011234, &v), -1);
    check("wrmsr EFER with a reserved bit: #GP", wrmsr_safe(0xc0000080, efer | (1ULL << 20)), -1);
    check("wrmsr PAT with a reserved type: #GP", wrmsr_safe(0x277, 0x0202020202020202ULL), -1);
    check("wrmsr of the hypercall page", wrmsr_safe(msr, (uint64_t)(uintptr_t)hcall_page), 0);
    check("hypercall page: mov $0, %eax first", hcall_page[0], 0xb8);
    check("hypercall page: vmmcall / vmcall",
          hcall_page[7], is_amd() ? 0xd9 : 0xc1);
    check("xen_version(XENVER_version)", hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0),
          0x40011);
    static const char line[] = "hvmtest: hello through console_io\n";
    check("console_io write", hcall(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(line) - 1,
                                     (uint64_t)(uintptr_t)line, 0, 0),
          0);
    check("a PV-only hypercall (mmu_update): -XL_ENOSYS",
          hcall(__HYPERVISOR_mmu_update, 0, 0, 0, DOMID_SELF, 0), -XL_ENOSYS);
    check("xen_version with a bad pointer: -XL_EFAULT",
          hcall(__HYPERVISOR_xen_version, XENVER_extraversion, 0xdead00000000ULL, 0, 0, 0),
          -XL_EFAULT);
    domid_t self = DOMID_SELF;
    long pages = hcall(__HYPERVISOR_memory_op, XENMEM_current_reservation,
                       (uint64_t)(uintptr_t)&self, 0, 0, 0);
    check("memory_op current_reservation > 0", pages > 0, 1);
    if (b->si) {
        check("start info: magic", b->si->magic, XEN_HVM_START_MAGIC_VALUE);
        say("SKIP multiboot_info checks: booted through PVH (hvm_start_info)");
    } else {
        say("SKIP start info: magic: booted through Multiboot, no hvm_start_info");
        check("multiboot_info: memory, memory map and command line given",
              (b->mi->flags & (MB1_INFO_MEMORY | MB1_INFO_MEM_MAP | MB1_INFO_CMDLINE)) ==
                  (MB1_INFO_MEMORY | MB1_INFO_MEM_MAP | MB1_INFO_CMDLINE), 1);
        check("multiboot_info: mem_upper is the RAM above 1 MiB",
              (uint64_t)b->mi->mem_upper << 10, (long)(b->ram_end - 0x100000));
        check("multiboot_info: 640 KiB less the EBDA below 1 MiB", b->mi->mem_lower, 0x9f000 >> 10);
        check("memory map: the RAM reservation (less the special pages) in it",
              (long)(b->ram_end >> 12) <= pages && (long)(b->ram_end >> 12) >= pages - 8, 1);
    }
    check("start info: a memory map", b->map_entries >= 1, 1);
    /* A hole: reads give all ones, writes go nowhere (no device). */
    volatile uint32_t *hole = (volatile uint32_t *)(uintptr_t)hole_gpa(b);
    check("read of a hole: all ones", *hole, 0xffffffff);
    *hole = 0x12345678;
    check("write to a hole is dropped", *hole, 0xffffffff);
    volatile uint8_t *hb = (volatile uint8_t *)hole;
    uint64_t rax = 0x1111111111111111ULL;
    __asm__ volatile("movb (%1), %b0" : "+a"(rax) : "r"(hb) : "memory");
    check("movb from a hole merges into %al", (long)rax, 0x11111111111111ffLL);
    check("inb from a port with nothing: 0xff", inb(0x80), 0xff);
    check("inl from a port with nothing: all ones", inl(0xcfc), 0xffffffffL);
    /* Control registers the back end may shadow (VT-x forces CR0.NE and
     * CR4.VMXE on; the guest sees them as it set them) and CR8, never
     * the real TPR. */
    uint64_t cr0, cr0b, cr4, cr8;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0; mov %%cr0, %1" : "+r"(cr0), "=r"(cr0b) :: "memory");
    cr0 |= 1u << 5;
    __asm__ volatile("mov %1, %%cr0; mov %%cr0, %0" : "=r"(cr0b) : "r"(cr0) : "memory");
    check("CR0.NE set reads back set", (cr0b >> 5) & 1, 1);
    cr0 &= ~(1ULL << 5);
    __asm__ volatile("mov %1, %%cr0; mov %%cr0, %0" : "=r"(cr0b) : "r"(cr0) : "memory");
    check("CR0.NE cleared reads back clear", (cr0b >> 5) & 1, 0);
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    check("CR4.VMXE reads clear", (cr4 >> 13) & 1, 0);
    if (!is_amd()) {
        /* (VT-x: the shadowed bit's write exits and is refused. AMD has
         * no VMXE - reserved, #GP natively - but QEMU TCG's SVM takes it
         * into CR4 and then fails the next VMRUN: not checked there.) */
        uint64_t gp_before = hvm_exc_count[13];
        hvm_skip_len = 3;
        __asm__ volatile("mov %0, %%cr4" :: "a"(cr4 | (1ULL << 13)) : "memory");
        check("mov to CR4 with VMXE: #GP", (long)(hvm_exc_count[13] - gp_before), 1);
    }
    __asm__ volatile("mov %0, %%cr8; mov %%cr8, %0" : "=r"(cr8) : "0"(5ULL) : "memory");
    check("CR8 (TPR) 5 reads back 5", (long)cr8, 5);
    __asm__ volatile("mov %0, %%cr8" :: "r"(0ULL) : "memory");
    /* syscall MSRs and the swapgs pair (VT-x switches them by hand) */
    uint64_t lstar = 0, gsb = 0, kgs = 0;
    wrmsr_safe(0xc0000082, 0xffff800012345000ULL);
    check("LSTAR reads back", rdmsr_safe(0xc0000082, &lstar) == 0 && lstar == 0xffff800012345000ULL, 1);
    wrmsr_safe(0xc0000101, 0x1000);
    wrmsr_safe(0xc0000102, 0x2000);
    __asm__ volatile("swapgs" ::: "memory");
    rdmsr_safe(0xc0000101, &gsb);
    rdmsr_safe(0xc0000102, &kgs);
    __asm__ volatile("swapgs" ::: "memory");
    check("swapgs swaps GS base and KERNEL_GS_BASE", gsb == 0x2000 && kgs == 0x1000, 1);
    /* Events: shared_info, the callback vector, VIRQ_TIMER, HLT. */
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info,
                                       .idx = 0, .gpfn = (uint64_t)(uintptr_t)shinfo_page >> 12 };
    check("add_to_physmap shared_info",
          hcall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (uint64_t)(uintptr_t)&xatp, 0, 0, 0), 0);
    shared_info_t *s = (shared_info_t *)shinfo_page;
    check("shared_info: vcpu 0's time is ticking", s->vcpu_info[0].time.system_time != 0, 1);
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
                               .value = (2ULL << 56) | 0xf3 };
    check("HVM_PARAM_CALLBACK_IRQ vector 0xf3",
          hcall(__HYPERVISOR_hvm_op, HVMOP_set_param, (uint64_t)(uintptr_t)&p, 0, 0, 0), 0);
    struct xen_hvm_param q = { .domid = DOMID_SELF, .index = HVM_PARAM_STORE_PFN };
    check("HVMOP_get_param STORE_PFN",
          hcall(__HYPERVISOR_hvm_op, HVMOP_get_param, (uint64_t)(uintptr_t)&q, 0, 0, 0), 0);
    /* xl gives one above RAM; a boot-time domain has none (0) */
    check("STORE_PFN: none, or a page above RAM", q.value == 0 || q.value >= b->ram_end >> 12, 1);
    struct xen_hvm_param bad = { .domid = DOMID_SELF, .index = HVM_PARAM_STORE_PFN, .value = 1 };
    check("a guest may not set STORE_PFN: -XL_EPERM",
          hcall(__HYPERVISOR_hvm_op, HVMOP_set_param, (uint64_t)(uintptr_t)&bad, 0, 0, 0), -XL_EPERM);
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    check("bind VIRQ_TIMER",
          hcall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, (uint64_t)(uintptr_t)&bv, 0, 0, 0), 0);
    for (int round = 0; round < 5; round++) {
        uint64_t before = upcalls;
        struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = s->vcpu_info[0].time.system_time +
                                                                  2000000, .flags = 0 };
        hcall(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, (uint64_t)(uintptr_t)&t, 0, 0);
        for (int spin = 0; spin < 100 && upcalls == before; spin++)
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        if (upcalls == before)
            break;
    }
    check("5 timer events through the callback vector, waited for in hlt", upcalls >= 5, 1);
    /* An event that comes while interrupts are off: not delivered then
     * (the hv takes the timer interrupt by an exit and marks the upcall
     * pending), delivered right after sti (an interrupt window). */
    {
        uint64_t before = upcalls;
        __asm__ volatile("cli" ::: "memory");
        struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = s->vcpu_info[0].time.system_time +
                                                                  2000000, .flags = 0 };
        hcall(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, (uint64_t)(uintptr_t)&t, 0, 0);
        for (long spin = 0; spin < 20000000 && !*(volatile uint8_t *)&s->vcpu_info[0].evtchn_upcall_pending;
             spin++)
            __asm__ volatile("pause" ::: "memory");
        check("timer event pending while interrupts are off, not delivered",
              *(volatile uint8_t *)&s->vcpu_info[0].evtchn_upcall_pending && upcalls == before, 1);
        __asm__ volatile("sti; nop; nop; cli" ::: "memory");
        check("delivered at sti (interrupt window)", (long)(upcalls - before), 1);
    }
    say("hvmtest: %d passed, %d failed", passed, failed);
}

/* One random access of a random size at port. */
static void port_poke(uint16_t port)
{
    switch (xrand() % 6) {
    case 0: (void)inb(port); break;
    case 1: (void)inw(port); break;
    case 2: (void)inl(port); break;
    case 3: outb(port, (uint8_t)xrand()); break;
    case 4: outw(port, (uint16_t)xrand()); break;
    default: outl(port, (uint32_t)xrand()); break;
    }
}

static const uint16_t dev_ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61,
                                      0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
                                      0x4d0, 0x4d1, 0x70, 0x71 };
#define N_DEV_PORTS (sizeof(dev_ports) / sizeof(dev_ports[0]))

/* mode=ports: 20000 random accesses over all of 0-0xffff (but 0xe9, the
 * output), then 4000 aimed at the emulated platform's ports - the PIC
 * pair and its ELCR, the PIT and port 0x61, the device model's 16550A
 * (each of those a round trip to dom0) - always with interrupts off.
 * Under type = "hvm" the devices must still answer afterwards: the
 * UART's scratch register and a PIC re-initialised by ICW1-4. */
static void hostile_ports(const struct boot *b)
{
    for (int i = 0; i < 20000; i++) {
        uint16_t port = (uint16_t)xrand();
        if (port >= 0xe6 && port <= 0xe9)
            continue; /* the output port, and a word or dword reaching it */
        port_poke(port);
    }
    say("hvmtest: hostile ports done: 20000 accesses");
    for (int i = 0; i < 4000; i++)
        port_poke(dev_ports[xrand() % N_DEV_PORTS]);
    say("hvmtest: hostile device ports done: 4000 accesses (PIC, ELCR, PIT, 0x61, 16550A, RTC)");
    if (!b->mi) {
        say("SKIP devices answer after the storm: type = \"pvh\" has no PIC, PIT or UART");
        return;
    }
    int uart_ok = 1;
    for (unsigned int v = 0; v < 256; v += 0x55) {
        outb(0x3ff, (uint8_t)v);
        uart_ok &= inb(0x3ff) == v;
    }
    check("ports: the 16550A's scratch register still holds what is written", uart_ok, 1);
    outb(0x3fb, 0x03); /* LCR: 8N1, DLAB off */
    outb(0x3f9, 0x00); /* IER: none */
    check("ports: the 16550A's LCR reads back", inb(0x3fb), 0x03);
    /* the master PIC: ICW1 (edge, cascade, ICW4), ICW2 vector 0x20,
     * ICW3, ICW4 (8086); then an IMR that reads back */
    outb(0x20, 0x11);
    outb(0x21, 0x20);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0x21, 0xa5);
    check("ports: the master PIC re-initialised, its IMR reads back", inb(0x21), 0xa5);
    outb(0x21, 0xff);
    /* the PIT: channel 2 latched while gated off reads back its count */
    outb(0x61, 0x00);
    outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
    outb(0x42, 0x34);
    outb(0x42, 0x12);
    outb(0x43, 0x80); /* latch channel 2 */
    uint16_t c = inb(0x42);
    c |= (uint16_t)(inb(0x42) << 8);
    check("ports: the PIT's channel 2, gated off, holds its count", c, 0x1234);
}

/* mode=devstorm and mode=irqstorm: random accesses to the emulated
 * platform's ports only, n= (hex) of them, or for ever with hold=1 (the
 * toolstack destroys the domain in the middle: a vcpu waiting on dom0's
 * device model then). devstorm with interrupts off; irqstorm with them
 * on after the PIC is set up (vectors 0x20-0x2f, all unmasked), the PIT's
 * channel 0 at ~4.7 kHz and the UART's interrupts enabled: the random
 * writes reprogram all three while they interrupt, and an interrupt at
 * any vector the PIC is told to send is only counted - and, with eoi=1,
 * acknowledged at once (a PIT programmed fast then keeps the vcpu in its
 * handler: an interrupt livelock only the toolstack can end). */
static uint64_t hexopt(const char *cmdline, const char *key);
static void hostile_devstorm(const char *cmdline, int irqs)
{
    uint64_t n = hexopt(cmdline, "n");
    int forever = opt_is(cmdline, "hold", "1");
    if (!n)
        n = 0x4e20;
    if (irqs) {
        for (unsigned int v = 32; v < 256; v++)
            if (v != 0xf3)
                set_gate(v, hvm_irq_entry);
        /* an interrupt at an exception's gate: counted, back to the same
         * insn; 13 too (no #GP comes from port I/O at CPL 0, and an
         * interrupt pushes no error code) */
        set_gate(13, hvm_exc_other);
        hvm_skip_len = 0;
        hvm_irq_eoi = opt_is(cmdline, "eoi", "1");
        outb(0x20, 0x11), outb(0x21, 0x20), outb(0x21, 0x04), outb(0x21, 0x01);
        outb(0xa0, 0x11), outb(0xa1, 0x28), outb(0xa1, 0x02), outb(0xa1, 0x01);
        outb(0x21, 0x00), outb(0xa1, 0x00);
        outb(0x43, 0x34), outb(0x40, 0x00), outb(0x40, 0x01); /* ch 0, mode 2, 256 */
        outb(0x3fb, 0x03), outb(0x3f9, 0x0f), outb(0x3fc, 0x0b); /* IER all, OUT2 */
        /* the PIC's INTR through vcpu 0's LINT0 (ExtINT, unmasked), the
         * virtual wire (after reset every LVT is masked) */
        volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)0xfee00000UL;
        apic[0xf0 / 4] = 0x1ff;
        apic[0x350 / 4] = 0x700;
        __asm__ volatile("sti" ::: "memory");
    }
    say("hvmtest: %s: %s random accesses to the device ports, interrupts %s",
        irqs ? "irqstorm" : "devstorm", forever ? "endless" : "a fixed number of",
        irqs ? "on" : "off");
    for (uint64_t i = 1; forever || i <= n; i++) {
        port_poke(dev_ports[xrand() % N_DEV_PORTS]);
        if (i % 10000 == 0)
            say("hvmtest: %s: %lu accesses, %lu interrupts", irqs ? "irqstorm" : "devstorm",
                (unsigned long)i, (unsigned long)hvm_irqs);
    }
    __asm__ volatile("cli" ::: "memory");
    say("hvmtest: %s done: %lu accesses, %lu interrupts", irqs ? "irqstorm" : "devstorm",
        (unsigned long)n, (unsigned long)hvm_irqs);
}

static void hostile_msrs(void)
{
    static const uint32_t known[] = { 0x10, 0x1b, 0xfe, 0x174, 0x175, 0x176, 0x1a0, 0x1d9, 0x277,
                                      0x2ff, 0x40000000, 0x40000001, 0xc0000080, 0xc0000081,
                                      0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101,
                                      0xc0000102, 0xc0000103, 0xc0010114, 0xc0010117 };
    unsigned int faults = 0;
    for (int i = 0; i < 20000; i++) {
        uint32_t msr = (xrand() & 1) ? known[xrand() % (sizeof(known) / sizeof(known[0]))]
                                     : (uint32_t)xrand();
        uint64_t v;
        if (msr == 0x40000000 || msr == 0xc0000080)
            continue; /* those are checked in basic; random values would only hurt ourselves */
        if (xrand() & 1)
            faults += rdmsr_safe(msr, &v) ? 1 : 0;
        else
            faults += wrmsr_safe(msr, xrand()) ? 1 : 0;
    }
    say("hvmtest: hostile msrs done: 20000 accesses, %u #GP", faults);
}

static void hostile_cpuid(void)
{
    uint32_t r[4];
    for (uint32_t l = 0; l < 0x40; l++)
        cpuid(l, (uint32_t)xrand(), r);
    for (uint32_t l = 0x40000000; l < 0x40000200; l++)
        cpuid(l, 0, r);
    for (uint32_t l = 0x80000000; l < 0x80000040; l++)
        cpuid(l, 0, r);
    for (int i = 0; i < 5000; i++)
        cpuid((uint32_t)xrand(), (uint32_t)xrand(), r);
    say("hvmtest: hostile cpuid done");
}

static void hostile_hcalls(void)
{
    static const uint64_t vals[] = { 0, 1, ~0ULL, 0xdeadbeef000ULL, 0x7ffffffff000ULL,
                                     0xffff800000000000ULL, 0x80000000ULL, 0xfff };
    unsigned int errors = 0;
    for (int i = 0; i < 20000; i++) {
        unsigned int nr = (unsigned int)(xrand() % 64);
        if (nr == __HYPERVISOR_sched_op || nr == __HYPERVISOR_vcpu_op)
            continue; /* they may stop this vcpu: no test then */
        if (nr == __HYPERVISOR_console_io)
            continue; /* it would print this guest's own memory (its strings) to the log */
        if (nr == __HYPERVISOR_multicall)
            continue; /* results written back over its own code: it only hurts itself */
        uint64_t a[5];
        for (int k = 0; k < 5; k++)
            a[k] = (xrand() & 3) ? vals[xrand() % 8] : xrand();
        if (nr == __HYPERVISOR_memory_op && (a[0] & 0xffff) == XENMEM_decrease_reservation)
            continue; /* would give back its own RAM */
        if (hcall(nr, a[0], a[1], a[2], a[3], a[4]) < 0)
            errors++;
    }
    /* and raw vmmcall/vmcall with numbers past the table */
    for (uint64_t nr = 64; nr < 70000; nr += 997) {
        long ret;
        if (is_amd())
            __asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr) : "memory");
        else
            __asm__ volatile("vmcall" : "=a"(ret) : "a"(nr) : "memory");
        if (ret != -XL_ENOSYS)
            say("FAIL hypercall %lu: %ld, want -XL_ENOSYS", (unsigned long)nr, ret), failed++;
    }
    say("hvmtest: hostile hypercalls done: %u errors", errors);
}

/* mode=lapic: the emulated local APIC page (0xfee00000) from a hostile
 * guest: every register at every size, random values to all of them -
 * LVTs, the timer (periodic, tiny counts), ICR (self-IPIs, NMI/INIT/
 * SIPI modes, broadcasts), EOI, SVR - with interrupts off throughout,
 * then a read of the ID and version to show the APIC still answers. */
static void hostile_lapic(void)
{
    volatile uint8_t *apic = (volatile uint8_t *)(uintptr_t)0xfee00000UL;
    uint32_t id = *(volatile uint32_t *)(apic + 0x20), ver = *(volatile uint32_t *)(apic + 0x30);
    check("lapic: ID of vcpu 0", id >> 24, 0);
    check("lapic: version 0x14, 6 LVTs", (ver & 0xff) == 0x14 && ((ver >> 16) & 0xff) >= 5, 1);
    for (int i = 0; i < 20000; i++) {
        uint32_t off = (uint32_t)(xrand() & 0xffc);
        if (xrand() & 3)
            off = (uint32_t)(xrand() % 0x40) << 4; /* a register's slot */
        switch (xrand() % 6) {
        case 0: (void)*(volatile uint8_t *)(apic + (off | (xrand() & 3))); break;
        case 1: (void)*(volatile uint16_t *)(apic + (off | (xrand() & 2))); break;
        case 2: (void)*(volatile uint32_t *)(apic + off); break;
        case 3: *(volatile uint8_t *)(apic + off) = (uint8_t)xrand(); break;
        default: *(volatile uint32_t *)(apic + off) = (uint32_t)xrand(); break;
        }
    }
    /* a fast periodic timer and self-IPIs, still with interrupts off */
    *(volatile uint32_t *)(apic + 0xf0) = 0x1ff;          /* SVR: enabled, vector 0xff */
    *(volatile uint32_t *)(apic + 0x320) = 0x200f0;        /* LVT timer: periodic, vector 0xf0 */
    *(volatile uint32_t *)(apic + 0x3e0) = 0xb;            /* divide by 1 */
    *(volatile uint32_t *)(apic + 0x380) = 1;              /* initial count 1 */
    for (int i = 0; i < 2000; i++)
        *(volatile uint32_t *)(apic + 0x300) = 0x40000 | (0x20 + (uint32_t)(i & 0xdf)); /* self IPI */
    check("lapic: still answers after the storm (version, read-only)",
          *(volatile uint32_t *)(apic + 0x30), (long)ver);
    say("hvmtest: hostile lapic done: 22000 accesses");
}

/* Under type = "hvm": the I/O APIC's page at every size, random
 * redirection entries (any vector, delivery mode and destination, level
 * or edge), then its pins driven by a PIT at its fastest rate and the
 * RTC's periodic interrupt with interrupts off; the ID and version
 * still read as the platform's. */
static void hostile_ioapic(void)
{
    volatile uint8_t *io = (volatile uint8_t *)(uintptr_t)0xfec00000UL;
    for (int i = 0; i < 12000; i++) {
        uint32_t off = (xrand() & 1) ? (uint32_t)(xrand() & 0x10) : (uint32_t)(xrand() & 0xffc);
        switch (xrand() % 6) {
        case 0: (void)*(volatile uint8_t *)(io + (off | (xrand() & 3))); break;
        case 1: (void)*(volatile uint32_t *)(io + off); break;
        case 2: (void)*(volatile uint64_t *)(io + (off & ~7u)); break;
        case 3: *(volatile uint8_t *)(io + off) = (uint8_t)xrand(); break;
        case 4: *(volatile uint32_t *)(io + off) = (uint32_t)xrand(); break;
        default: /* IOREGSEL then IOWIN: a register of the table */
            *(volatile uint32_t *)io = 0x10 + (uint32_t)(xrand() % 48);
            *(volatile uint32_t *)(io + 0x10) = (uint32_t)xrand();
            break;
        }
    }
    outb(0x43, 0x34); /* PIT channel 0: rate generator, count 2 */
    outb(0x40, 2);
    outb(0x40, 0);
    outb(0x70, 0x0a); /* RTC: 8192 Hz periodic interrupt */
    outb(0x71, 0x23);
    outb(0x70, 0x0b);
    outb(0x71, 0x42);
    for (int i = 0; i < 4000; i++) {
        *(volatile uint32_t *)io = 0x10 + (uint32_t)(xrand() % 48);
        *(volatile uint32_t *)(io + 0x10) = (uint32_t)xrand() & ~0x10000u; /* unmasked */
        outb(0x70, 0x0c);
        (void)inb(0x71); /* RTC register C: the line drops, the next period raises it */
    }
    outb(0x70, 0x0b);
    outb(0x71, 0x02);
    outb(0x43, 0x30); /* channel 0 back to one-shot, no count: quiet */
    *(volatile uint32_t *)io = 0;
    uint32_t id = *(volatile uint32_t *)(io + 0x10);
    *(volatile uint32_t *)io = 1;
    uint32_t ver = *(volatile uint32_t *)(io + 0x10);
    check("ioapic: version 0x11, 24 pins after the storm", ver & 0xff00ff, 0x170011);
    (void)id;
    say("hvmtest: hostile ioapic done: 16000 accesses with the PIT and RTC firing");
}

static void hostile_mmio(const struct boot *b)
{
    uint64_t base = hole_gpa(b);
    for (int i = 0; i < 20000; i++) {
        uintptr_t a = (uintptr_t)(base + (xrand() % (256ULL << 20)));
        switch (xrand() % 8) {
        case 0: (void)*(volatile uint8_t *)a; break;
        case 1: (void)*(volatile uint16_t *)(a & ~1UL); break;
        case 2: (void)*(volatile uint32_t *)(a & ~3UL); break;
        case 3: (void)*(volatile uint64_t *)(a & ~7UL); break;
        case 4: *(volatile uint8_t *)a = (uint8_t)xrand(); break;
        case 5: *(volatile uint32_t *)(a & ~3UL) = (uint32_t)xrand(); break;
        case 6: *(volatile uint64_t *)(a & ~7UL) = xrand(); break;
        default: {
            uint32_t v;
            __asm__ volatile("movzwl (%1), %0" : "=r"(v) : "r"(a & ~1UL) : "memory");
            break;
        }
        }
    }
    say("hvmtest: hostile mmio done: 20000 accesses");
}


/* ---- attack probes (branch atkhvm) ---- */

/* mode=vcpuinit: VCPUOP_initialise on vcpu 1 of this HVM domain takes
 * the PV path (set_vcpu_context): ctrlreg[3] names a machine frame,
 * which becomes a PGT_l4 page table and vcpu 1's cr3 - replacing its
 * HVM tag - while the frame stays writable through the guest's p2m. With
 * online=1 the vcpu is then scheduled as an HVM vcpu without a VMCB. The
 * frame is found by trying every mfn: only one owned by this domain that
 * validates as an L4 (e.g. a zeroed one) is accepted. */

static uint64_t hexopt(const char *cmdline, const char *key)
{
    const char *v = opt(cmdline, key);
    uint64_t x = 0;
    if (!v)
        return 0;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
        v += 2;
    for (; *v && *v != ' '; v++) {
        int d = (*v >= '0' && *v <= '9') ? *v - '0' : (*v >= 'a' && *v <= 'f') ? *v - 'a' + 10 : -1;
        if (d < 0)
            break;
        x = x * 16 + (uint64_t)d;
    }
    return x;
}

/* The L4 frame m (typed PGT_l4 by the hv, cr3 of vcpu 1) is still RAM in
 * this guest's p2m: find it (the hv copied its own L4 slots 256..271 into
 * it), write entries of our own, and have the hv write vcpu 1's time
 * area through them: to a machine address of our choosing. */
static void probe_l4_write(const char *cmdline, uint64_t m)
{
    uint64_t *t = 0;
    uint64_t nram = (uint64_t)hcall(__HYPERVISOR_memory_op, XENMEM_current_reservation,
                                    (uint64_t)(uintptr_t)&(domid_t){ DOMID_SELF }, 0, 0, 0);
    say("hvmtest: l4write: scanning gfns 0..%#lx", (unsigned long)nram + 0x100);
    for (uint64_t g = 0; g < nram + 0x100 && g < (1ULL << 18); g++) {
        uint64_t *p = (uint64_t *)(uintptr_t)(g << 12);
        if (p[256] | p[257] | p[262] | p[263]) {
            t = p;
            say("hvmtest: l4write: the L4 frame (mfn %#lx) is our gfn %#lx, writable: hv slots 256 %#lx 262 %#lx 263 %#lx",
                (unsigned long)m, (unsigned long)g, (unsigned long)p[256], (unsigned long)p[262],
                (unsigned long)p[263]);
            break;
        }
    }
    if (!t) {
        say("hvmtest: l4write: L4 frame not found in our memory");
        return;
    }
    uint64_t target = m << 12; /* first: the frame itself, offset 0x100 */
    for (int stage = 0; stage < 2; stage++) {
        if (stage == 1) {
            target = hexopt(cmdline, "wtarget");
            if (!target)
                break;
            say("hvmtest: l4write: stage 2: writing to machine address %#lx", (unsigned long)target);
        } else {
            target += 0x100;
        }
        /* slot 1 maps the frame itself as L3 and as L2; slot 3 of it (as L2)
         * a 2 MiB page at target's 2 MiB frame */
        t[1] = (m << 12) | 7;
        t[3] = (target & ~0x1fffffULL) | 0x87;
        uint64_t va = (1ULL << 39) | (1ULL << 30) | (3ULL << 21) | (target & 0x1fffff);
        struct vcpu_register_time_memory_area a = { .addr.v = (void *)(uintptr_t)va };
        long rc = hcall(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_time_memory_area, 1,
                        (uint64_t)(uintptr_t)&a, 0, 0);
        say("hvmtest: l4write: register_vcpu_time_memory_area(vcpu 1, va %#lx) = %ld", (unsigned long)va, rc);
        if (stage == 0)
            say("hvmtest: l4write: our L4 frame at +0x100 now: %#lx %#lx %#lx %#lx (hv-written vcpu_time_info: %s)",
                (unsigned long)t[32], (unsigned long)t[33], (unsigned long)t[34], (unsigned long)t[35],
                (t[32] || t[33]) ? "WRITE THROUGH GUEST-BUILT TABLES CONFIRMED" : "nothing");
    }
}

static struct vcpu_guest_context vctx;
static void probe_vcpuinit(const char *cmdline)
{
    long maxm = hcall(__HYPERVISOR_memory_op, XENMEM_maximum_ram_page, 0, 0, 0, 0);
    int online = opt_is(cmdline, "online", "1");
    say("hvmtest: vcpuinit probe: max mfn %ld, online=%d", maxm, online);
    long first = hcall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0, 0, 0);
    uint64_t found = 0;
    say("hvmtest: VCPUOP_is_up(1) = %ld", first);
    for (long m = 1; m < maxm; m++) {
        memset(&vctx, 0, sizeof(vctx));
        vctx.flags = VGCF_in_kernel | (online ? VGCF_online : 0);
        vctx.user_regs.rip = 0x100000;
        vctx.user_regs.rsp = 0x200000;
        vctx.user_regs.cs = 0xe033;
        vctx.user_regs.ss = 0xe02b;
        vctx.ctrlreg[3] = (uint64_t)m << 12;
        long rc = hcall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, 1, (uint64_t)(uintptr_t)&vctx, 0, 0);
        if (rc == 0) {
            say("hvmtest: VCPUOP_initialise(vcpu 1) ACCEPTED machine frame %#lx as an L4 of an HVM vcpu", (unsigned long)m);
            found = (uint64_t)m;
            break;
        }
        if (m % 8192 == 0)
            say("hvmtest: ... mfn %#lx (rc %ld)", (unsigned long)m, rc);
    }
    say("hvmtest: VCPUOP_is_up(1) = %ld now", hcall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0, 0, 0));
    if (!online && found)
        probe_l4_write(cmdline, found);
    for (int i = 0; i < 50; i++)
        hcall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
    say("hvmtest: vcpuinit: still alive after 50 yields");
}

/* mode=drleak: DR0-3 are not intercepted nor switched for HVM vcpus:
 * write a pattern with the domid, yield, and look whether DR0-3 now hold
 * another domain's pattern. */
static uint64_t rd_dr(int n)
{
    uint64_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
    default: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
    }
    return v;
}
static void probe_drleak(void)
{
    uint32_t r[4];
    cpuid(0x40000004, 0, r);
    uint32_t me = r[2];
    say("hvmtest: drleak d%u: at start DR0-3 = %#lx %#lx %#lx %#lx", me, (unsigned long)rd_dr(0),
        (unsigned long)rd_dr(1), (unsigned long)rd_dr(2), (unsigned long)rd_dr(3));
    uint64_t mine = 0xd0d0000000ULL | ((uint64_t)me << 8);
    __asm__ volatile("mov %0, %%dr0; mov %1, %%dr1" :: "r"(mine), "r"(mine | 1));
    int leaks = 0;
    for (int i = 0; i < 400 && leaks < 3; i++) {
        hcall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
        for (volatile int k = 0; k < 20000; k++)
            ;
        uint64_t d0 = rd_dr(0), d1 = rd_dr(1);
        if (d0 != mine || d1 != (mine | 1)) {
            say("hvmtest: drleak d%u LEAK: DR0 %#lx DR1 %#lx (mine %#lx) after %d yields", me,
                (unsigned long)d0, (unsigned long)d1, (unsigned long)mine, i);
            leaks++;
            __asm__ volatile("mov %0, %%dr0; mov %1, %%dr1" :: "r"(mine), "r"(mine | 1));
        }
    }
    say("hvmtest: drleak d%u done: %d leaks seen", me, leaks);
}

/* mode=dr7hv: DR7 is not intercepted; with a global execute breakpoint
 * at a hypervisor address (hvaddr=), does the hv run with it armed after
 * #VMEXIT (hardware resets DR7 there; "#DB in hv context" lines say it
 * did not)? */
static void probe_dr7hv(const char *cmdline)
{
    uint64_t a = hexopt(cmdline, "hvaddr");
    say("hvmtest: dr7hv: DR0 = %#lx, DR7 = 0x402", (unsigned long)a);
    __asm__ volatile("mov %0, %%dr0; mov %1, %%dr7" :: "r"(a), "r"(0x402UL));
    uint32_t r[4];
    for (int i = 0; i < 200; i++)
        cpuid(0, 0, r);
    uint64_t d7;
    __asm__ volatile("mov %%dr7, %0" : "=r"(d7));
    say("hvmtest: dr7hv: 200 cpuid exits done, guest DR7 %#lx", (unsigned long)d7);
}

/* mode=p2meat: every populate_physmap at a gfn in a new 2 MiB region
 * makes the hv allocate p2m table frames (DOMID_HV_OWNED, charged to no
 * one); decrease_reservation gives the RAM frame back but never the
 * tables. One frame of quota, repeated, takes all of the hv's memory. */
static void probe_p2meat(const char *cmdline)
{
    uint64_t limit = hexopt(cmdline, "iters");
    if (!limit)
        limit = 1ULL << 20;
    uint64_t base = 1ULL << 24; /* gfn 16M: far above RAM */
    uint64_t i;
    {   /* one page of quota: give back an unused RAM page near the top */
        xen_pfn_t g = 0xf00;
        struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF };
        set_xen_guest_handle(r.extent_start, &g);
        say("hvmtest: p2meat: decrease gfn 0xf00 = %ld",
            hcall(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, (uint64_t)(uintptr_t)&r, 0, 0, 0));
    }
    for (i = 0; i < limit; i++) {
        xen_pfn_t g = base + (i << 9);
        struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF };
        set_xen_guest_handle(r.extent_start, &g);
        long rc = hcall(__HYPERVISOR_memory_op, XENMEM_populate_physmap, (uint64_t)(uintptr_t)&r, 0, 0, 0);
        if (rc != 1) {
            say("hvmtest: p2meat: populate #%lu at gfn %#lx = %ld: refused", (unsigned long)i,
                (unsigned long)g, rc);
            break;
        }
        rc = hcall(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, (uint64_t)(uintptr_t)&r, 0, 0, 0);
        if (rc != 1) {
            say("hvmtest: p2meat: decrease #%lu = %ld", (unsigned long)i, rc);
            break;
        }
        if (i % 16384 == 0)
            say("hvmtest: p2meat: %lu populate/decrease pairs (>= %lu p2m table frames)", (unsigned long)i,
                (unsigned long)i);
    }
    say("hvmtest: p2meat: done after %lu pairs, reservation now %ld pages", (unsigned long)i,
        hcall(__HYPERVISOR_memory_op, XENMEM_current_reservation, (uint64_t)(uintptr_t)&(domid_t){ DOMID_SELF }, 0, 0, 0));
}

/* ---- attack probes (branch atkhvm2) ---- */

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
#define TSC_CHUNK (1ULL << 31)

/* mode=ticker: count loop iterations per TSC chunk (~1 s), secs= chunks:
 * the share of the CPU this domain gets while another one storms. */
static void probe_ticker(const char *cmdline)
{
    uint64_t n = hexopt(cmdline, "secs");
    if (!n)
        n = 0x20;
    for (uint64_t c = 0; c < n; c++) {
        uint64_t t0 = rdtsc(), it = 0;
        while (rdtsc() - t0 < TSC_CHUNK)
            it++;
        say("hvmtest: ticker chunk %lu: %lu iterations", (unsigned long)c, (unsigned long)it);
    }
}

/* mode=lapicstorm: the APIC timer at its fastest (periodic, divide by 1,
 * initial count 1: a 1 ns period), LVT masked so nothing is ever
 * injected; then phases of ~secs= chunks each: idle wait (baseline),
 * a spin with IF=1, sti;hlt in a loop. */
static void probe_lapicstorm(const char *cmdline)
{
    volatile uint8_t *apic = (volatile uint8_t *)(uintptr_t)0xfee00000UL;
    uint64_t n = hexopt(cmdline, "secs");
    if (!n)
        n = 5;
    uint64_t t0 = rdtsc(), it = 0;
    while (rdtsc() - t0 < n * TSC_CHUNK)
        it++;
    say("hvmtest: lapicstorm: baseline %lu iterations", (unsigned long)it);
    t0 = rdtsc(), it = 0;
    while (rdtsc() - t0 < n * TSC_CHUNK) {
        uint32_t r[4];
        cpuid(0, 0, r);
        it++;
    }
    say("hvmtest: lapicstorm: cpuid baseline %lu exits, timer on next", (unsigned long)it);
    *(volatile uint32_t *)(apic + 0xf0) = 0x1ff;   /* SVR: enabled */
    *(volatile uint32_t *)(apic + 0x320) = 0x300f0; /* LVT timer: periodic, masked */
    *(volatile uint32_t *)(apic + 0x3e0) = 0xb;     /* divide by 1 */
    *(volatile uint32_t *)(apic + 0x380) = 1;       /* initial count 1 */
    __asm__ volatile("sti");
    t0 = rdtsc(), it = 0;
    while (rdtsc() - t0 < n * TSC_CHUNK)
        it++;
    say("hvmtest: lapicstorm: spin phase %lu iterations", (unsigned long)it);
    t0 = rdtsc(), it = 0;
    while (rdtsc() - t0 < n * TSC_CHUNK) {
        uint32_t r[4];
        cpuid(0, 0, r); /* an exit each: a new deadline, sched_raise_work, each time */
        it++;
    }
    say("hvmtest: lapicstorm: cpuid phase %lu exits", (unsigned long)it);
    t0 = rdtsc(), it = 0;
    while (rdtsc() - t0 < n * TSC_CHUNK) {
        __asm__ volatile("sti; hlt" ::: "memory");
        it++;
    }
    say("hvmtest: lapicstorm: hlt phase %lu wakeups", (unsigned long)it);
    __asm__ volatile("cli");
    *(volatile uint32_t *)(apic + 0x380) = 0;
    say("hvmtest: lapicstorm: timer off");
}

/* mode=gntst: a v2 status frame put in this domain's p2m
 * (XENMAPIDX_grant_table_status), then set_version 1. Xen refuses (or
 * takes the frame out of the p2m); if the hv frees the frame while it is
 * still mapped, the guest's page at gfn= shows whoever gets it next: a
 * populate in a new 2 MiB region makes the hv allocate p2m tables. */
static void probe_gntst(const char *cmdline)
{
    uint64_t g = hexopt(cmdline, "gfn");
    if (!g)
        g = 0xe00;
    struct gnttab_set_version sv = { .version = 2 };
    long rc = hcall(__HYPERVISOR_grant_table_op, GNTTABOP_set_version, (uint64_t)(uintptr_t)&sv, 1, 0, 0);
    say("hvmtest: gntst: set_version 2 = %ld (version %u)", rc, sv.version);
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table,
                                       .idx = 0 | XENMAPIDX_grant_table_status, .gpfn = g };
    rc = hcall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (uint64_t)(uintptr_t)&xatp, 0, 0, 0);
    say("hvmtest: gntst: status frame 0 at gfn %#lx = %ld", (unsigned long)g, rc);
    volatile uint64_t *pg = (volatile uint64_t *)(uintptr_t)(g << 12);
    for (int i = 0; i < 512; i++)
        pg[i] = 0xa5a5a5a5a5a5a5a5ULL;
    sv.version = 1;
    rc = hcall(__HYPERVISOR_grant_table_op, GNTTABOP_set_version, (uint64_t)(uintptr_t)&sv, 1, 0, 0);
    say("hvmtest: gntst: set_version 1 with the status frame mapped = %ld (version %u)", rc, sv.version);
    if (pg[0] == ~0ULL && pg[511] == ~0ULL) {
        say("hvmtest: gntst: held: the status frame left the physmap (gfn %#lx reads as a hole)",
            (unsigned long)g);
        return;
    }
    uint64_t base = 1ULL << 24;
    for (uint64_t i = 0; i < 64; i++) {
        xen_pfn_t x = base + (i << 9);
        struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF };
        set_xen_guest_handle(r.extent_start, &x);
        long a = hcall(__HYPERVISOR_memory_op, XENMEM_populate_physmap, (uint64_t)(uintptr_t)&r, 0, 0, 0);
        int changed = 0;
        for (int k = 0; k < 512; k++)
            if (pg[k] != 0xa5a5a5a5a5a5a5a5ULL)
                changed = 1;
        if (changed) {
            say("LEAK hvmtest: gntst: after populate #%lu (rc %ld) the freed status frame at gfn %#lx changed:",
                (unsigned long)i, a, (unsigned long)g);
            for (int k = 0; k < 512; k++)
                if (pg[k])
                    say("hvmtest: gntst:   [%d] = %#lx", k, (unsigned long)pg[k]);
            return;
        }
        if (a == 1) {
            long d = hcall(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, (uint64_t)(uintptr_t)&r, 0, 0, 0);
            (void)d;
        }
    }
    say("hvmtest: gntst: the page at gfn %#lx never changed", (unsigned long)g);
}

/* mode=gntst2: as gntst, but the freed status frame is made a nested page
 * table: two pages of quota (RAM at gfn= and 0xf00 given up), then one
 * order-1 populate at gfn 0x20000 (512 MiB, a new 2 MiB region inside
 * the GiB this guest maps 1:1): the data takes an order-1 block, the new
 * L1 table the freed frame. The guest then writes entry 2 of its own NPT
 * (gfn 0x20002 -> host frame 0) and reads host memory there. */
static void probe_gntst2(const char *cmdline)
{
    uint64_t g = hexopt(cmdline, "gfn");
    if (!g)
        g = 0xe00;
    uint64_t target = hexopt(cmdline, "target");
    {
        xen_pfn_t x = 0xf00;
        struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF };
        set_xen_guest_handle(r.extent_start, &x);
        say("hvmtest: gntst2: decrease gfn 0xf00 = %ld",
            hcall(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, (uint64_t)(uintptr_t)&r, 0, 0, 0));
    }
    struct gnttab_set_version sv = { .version = 2 };
    long rc = hcall(__HYPERVISOR_grant_table_op, GNTTABOP_set_version, (uint64_t)(uintptr_t)&sv, 1, 0, 0);
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table,
                                       .idx = 0 | XENMAPIDX_grant_table_status, .gpfn = g };
    rc = hcall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (uint64_t)(uintptr_t)&xatp, 0, 0, 0);
    say("hvmtest: gntst2: status frame 0 at gfn %#lx = %ld", (unsigned long)g, rc);
    volatile uint64_t *pg = (volatile uint64_t *)(uintptr_t)(g << 12);
    sv.version = 1;
    rc = hcall(__HYPERVISOR_grant_table_op, GNTTABOP_set_version, (uint64_t)(uintptr_t)&sv, 1, 0, 0);
    say("hvmtest: gntst2: set_version 1 = %ld", rc);
    xen_pfn_t x = 0x20000;
    struct xen_memory_reservation r = { .nr_extents = 1, .extent_order = 1, .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, &x);
    rc = hcall(__HYPERVISOR_memory_op, XENMEM_populate_physmap, (uint64_t)(uintptr_t)&r, 0, 0, 0);
    say("hvmtest: gntst2: populate order 1 at gfn 0x20000 = %ld", rc);
    for (int k = 0; k < 512; k++)
        if (pg[k])
            say("hvmtest: gntst2:   gfn %#lx [%d] = %#lx", (unsigned long)g, k, (unsigned long)pg[k]);
    uint64_t e0 = pg[0];
    if (e0 == ~0ULL && pg[511] == ~0ULL) {
        say("hvmtest: gntst2: held: the status frame left the physmap (gfn %#lx reads as a hole)",
            (unsigned long)g);
        return;
    }
    if (!(e0 & 1)) {
        say("hvmtest: gntst2: no NPT entry seen at gfn %#lx", (unsigned long)g);
        return;
    }
    pg[2] = (e0 & ~0x000ffffffffff000ULL) | (target << 12);
    volatile uint64_t *h = (volatile uint64_t *)(uintptr_t)0x20002000UL;
    say("LEAK hvmtest: gntst2: wrote own NPT entry gfn 0x20002 -> host mfn %#lx; reading it:",
        (unsigned long)target);
    for (int k = 0; k < 8; k++)
        say("hvmtest: gntst2:   host mfn %#lx +%#x = %#lx", (unsigned long)target, k * 8,
            (unsigned long)h[k]);
}

/* mode=strio: string port I/O (ins/outs, with and without rep) as the
 * CPU defines it, with the index and count registers checked after each
 * instruction: to Xen's debug port 0xe9 (bytes of the console line), to
 * the hv's own PIC (element by element in the hv), to a port nobody
 * claims (all ones in, writes dropped), across page boundaries (an
 * element straddling one goes by value), with rcx 0, with DF=1, with an
 * address-size prefix in long mode, into pages the guest's own tables do
 * not map or map read-only (#PF with CR2 and the CPU's error code), and
 * to dom0's 16550A (type = "hvm": Xen's data_is_ptr ioreqs, the device
 * model moving the elements itself). */
#define STRIO_FREE_PORT 0x2e0 /* no device: neither the hv (hvm.c) nor dm.c claims it */
struct strio_regs {
    uint64_t rdi, rsi, rcx;
};
/* One string instruction (insn: its text, any std/cld around it) with
 * rdi, rsi, rcx from r, and the port in dx; r gets them back. */
#define STRIO(insn, r, port)                                                                   \
    __asm__ volatile(insn                                                                      \
                     : "+D"((r)->rdi), "+S"((r)->rsi), "+c"((r)->rcx)                          \
                     : "d"((uint16_t)(port))                                                   \
                     : "memory", "cc")
extern char hvm_exc_pf[];
volatile uint64_t hvm_pf_cr2, hvm_pf_err;
static uint8_t strio_big[3 * 4096] __attribute__((aligned(4096)));
static uint8_t strio_pf[2 * 4096] __attribute__((aligned(4096)));
static uint64_t strio_pt[512] __attribute__((aligned(4096)));

/* n bytes at p all equal to v */
static int all_are(const volatile uint8_t *p, unsigned long n, uint8_t v)
{
    for (unsigned long i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* The PDE of va in the guest's own tables (head.S: 2 MiB pages). */
static volatile uint64_t *strio_pde(uint64_t va)
{
    const uint64_t m = 0x000ffffffffff000ULL;
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & m);
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[(va >> 39) & 511] & m);
    uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[(va >> 30) & 511] & m);
    return &pd[(va >> 21) & 511];
}

static void reload_cr3(void)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) :: "memory");
}

static void probe_strio(const struct boot *b)
{
    struct strio_regs r;
    int hvm = b->mi != NULL; /* type = "hvm": the PIC and dom0's 16550A are there */
    set_gate(14, hvm_exc_pf);
    /* the source of known bytes: the master PIC's IMR (the hv's device,
     * element by element there); PVH has no PIC: the free port's ones */
    uint16_t src = hvm ? 0x21 : STRIO_FREE_PORT;
    uint8_t pat = 0xff, pat2 = 0xff;
    if (hvm) {
        outb(0x20, 0x11); /* ICW1-4 (as mode=ports), then the IMR */
        outb(0x21, 0x20);
        outb(0x21, 0x04);
        outb(0x21, 0x01);
        outb(0x21, pat = 0xa5);
    } else {
        say("SKIP strio: the PIC as the source: type = \"pvh\" has no PIC (port %#x's all ones "
            "instead)", STRIO_FREE_PORT);
    }

    /* 1. rep outsb of a line (longer than the hv's 64 elements per exit)
     * to 0xe9: one "(dN) ..." line; rsi past it, rcx 0. */
    static const char line[] =
        "hvmtest: strio: this whole line went out by one rep outsb to port 0xe9 (82 bytes)\n";
    r = (struct strio_regs){ 0, (uint64_t)(uintptr_t)line, sizeof(line) - 1 };
    STRIO("rep outsb", &r, 0xe9);
    check("strio: rep outsb to 0xe9: rsi advanced by the length",
          (long)(r.rsi - (uint64_t)(uintptr_t)line), sizeof(line) - 1);
    check("strio: rep outsb to 0xe9: rcx 0", (long)r.rcx, 0);

    /* 2. rep insb from the PIC's IMR: 16 copies, rdi +16, rcx 0; with DF=1
     * 8 bytes going down from the end of a buffer, the bytes around
     * untouched, rdi -8. */
    static uint8_t buf[64];
    memset(buf, 0, sizeof(buf));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)buf, 0, 16 };
    STRIO("rep insb", &r, src);
    check("strio: rep insb 16 from the PIC's IMR: all its value",
          all_are(buf, 16, pat) && buf[16] == 0, 1);
    check("strio: rep insb 16: rdi +16", (long)(r.rdi - (uint64_t)(uintptr_t)buf), 16);
    check("strio: rep insb 16: rcx 0", (long)r.rcx, 0);
    if (hvm)
        outb(0x21, pat2 = 0x3c);
    memset(buf, 0, sizeof(buf));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)&buf[23], 0, 8 };
    STRIO("std; rep insb; cld", &r, src);
    check("strio: DF=1 rep insb 8: buf[16..23] filled, buf[15] and buf[24] untouched",
          all_are(&buf[16], 8, pat2) && buf[15] == 0 && buf[24] == 0, 1);
    check("strio: DF=1 rep insb 8: rdi -8", (long)(r.rdi - (uint64_t)(uintptr_t)&buf[23]), -8);
    check("strio: DF=1 rep insb 8: rcx 0", (long)r.rcx, 0);

    /* 3. A port nobody claims: rep insw gives all ones; rep outsw goes
     * nowhere (the registers move on, nothing breaks). */
    static uint16_t wbuf[128];
    memset(wbuf, 0, sizeof(wbuf));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)wbuf, 0, 100 };
    STRIO("rep insw", &r, STRIO_FREE_PORT);
    check("strio: rep insw 100 from a free port: all 0xffff",
          all_are((const uint8_t *)wbuf, 200, 0xff) && wbuf[100] == 0, 1);
    check("strio: rep insw 100: rdi +200, rcx 0",
          r.rdi - (uint64_t)(uintptr_t)wbuf == 200 && r.rcx == 0, 1);
    r = (struct strio_regs){ 0, (uint64_t)(uintptr_t)wbuf, 100 };
    STRIO("rep outsw", &r, STRIO_FREE_PORT);
    check("strio: rep outsw 100 to a free port: rsi +200, rcx 0",
          r.rsi - (uint64_t)(uintptr_t)wbuf == 200 && r.rcx == 0, 1);
    check("strio: the free port still reads all ones", inw(STRIO_FREE_PORT), 0xffff);

    /* 4. Page boundaries: 6000 bytes from the PIC into a buffer across
     * one (several exits, the hv's batches end at the page); one insw
     * whose 2 bytes straddle one (by value: both bytes written). */
    memset(strio_big, 0, sizeof(strio_big));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)&strio_big[100], 0, 6000 };
    STRIO("rep insb", &r, src);
    check("strio: rep insb 6000 across a page boundary: all filled, the bytes around untouched",
          all_are(&strio_big[100], 6000, pat2) && strio_big[99] == 0 && strio_big[6100] == 0, 1);
    check("strio: rep insb 6000: rdi +6000, rcx 0",
          r.rdi - (uint64_t)(uintptr_t)&strio_big[100] == 6000 && r.rcx == 0, 1);
    r = (struct strio_regs){ (uint64_t)(uintptr_t)&strio_big[8191], 0, 0x77 };
    STRIO("insw", &r, STRIO_FREE_PORT);
    check("strio: insw straddling a page boundary writes both bytes",
          strio_big[8191] == 0xff && strio_big[8192] == 0xff && strio_big[8190] == 0 &&
              strio_big[8193] == 0, 1);
    check("strio: insw (no rep): rdi +2, rcx untouched",
          r.rdi - (uint64_t)(uintptr_t)&strio_big[8191] == 2 && r.rcx == 0x77, 1);

    /* 5. rcx 0 with rep: nothing at all (nothing written, no register
     * moves) - also under addr32 when only the upper half of rcx is set
     * (ecx 0: the CPU writes no register then). */
    memset(buf, 0, sizeof(buf));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)buf, 0, 0 };
    STRIO("rep insb", &r, src);
    check("strio: rep insb with rcx 0: nothing written, rdi and rcx unchanged",
          all_are(buf, sizeof(buf), 0) && r.rdi == (uint64_t)(uintptr_t)buf && r.rcx == 0, 1);
    r = (struct strio_regs){ (uint64_t)(uintptr_t)buf, 0, 0xdead000000000000ULL };
    STRIO(".byte 0x67; rep insb", &r, src);
    check("strio: addr32 rep insb with ecx 0: nothing written, rdi and rcx unchanged",
          all_are(buf, sizeof(buf), 0) && r.rdi == (uint64_t)(uintptr_t)buf &&
              r.rcx == 0xdead000000000000ULL, 1);

    /* 6. addr32 (0x67) rep insb in long mode: edi and ecx, not rdi and
     * rcx - upper halves of garbage in both: exactly ecx = 16 elements at
     * edi. What the CPU leaves: edi +16 and ecx 0 written as 32-bit
     * registers, so the upper halves of rdi and rcx are cleared (as any
     * 32-bit register write in long mode; Xen's emulator does the same). */
    memset(buf, 0, sizeof(buf));
    uint32_t edi0 = (uint32_t)(uintptr_t)buf;
    r = (struct strio_regs){ 0xbeef000000000000ULL | edi0, 0, 0xdead000000000010ULL };
    STRIO(".byte 0x67; rep insb", &r, src);
    check("strio: addr32 rep insb with rcx 0xdead000000000010: exactly 16 elements at edi",
          all_are(buf, 16, pat2) && buf[16] == 0, 1);
    check("strio: addr32 rep insb: ecx 0", (long)(uint32_t)r.rcx, 0);
    check("strio: addr32 rep insb: edi +16", (long)((uint32_t)r.rdi - edi0), 16);
    check("strio: addr32 rep insb: rcx 0 (upper half cleared)", (long)r.rcx, 0);
    check("strio: addr32 rep insb: rdi is edi+16 zero-extended (upper half cleared)",
          (long)r.rdi, (long)edi0 + 16);

    /* 7. #PF: the guest's tables map strio_pf's second page not at all,
     * then read-only (its 2 MiB page split into 4 KiB ones here). A rep
     * insb from 16 bytes below it: those 16 written, then #PF with CR2
     * at the page, rdi there and rcx 16 left (the CPU stops at the
     * faulting element); error code W, P clear (not present) or set
     * (read-only under CR0.WP). A rep outsb from it: W clear. Then a
     * non-canonical rdi: #GP(0), not #PF. */
    uint64_t pfva = (uint64_t)(uintptr_t)&strio_pf[4096];
    volatile uint64_t *pde = strio_pde(pfva);
    uint64_t pde0 = *pde;
    for (unsigned int i = 0; i < 512; i++)
        strio_pt[i] = ((pfva & ~0x1fffffULL) + i * 4096ULL) | 3;
    strio_pt[(pfva >> 12) & 511] = 0;
    *pde = (uint64_t)(uintptr_t)strio_pt | 3;
    reload_cr3();
    memset(strio_pf, 0, 4096);
    uint64_t pf0 = hvm_exc_count[14];
    hvm_pf_cr2 = 0, hvm_pf_err = ~0ULL;
    hvm_skip_len = 2; /* f3 6c / f3 6e */
    r = (struct strio_regs){ pfva - 16, 0, 32 };
    STRIO("rep insb", &r, src);
    check("strio: rep insb into an unmapped page: #PF once", (long)(hvm_exc_count[14] - pf0), 1);
    check("strio: #PF: CR2 the unmapped page", (long)hvm_pf_cr2, (long)pfva);
    check("strio: #PF: error code W, not P (not present)", (long)hvm_pf_err, 2);
    check("strio: #PF: the 16 bytes below the page written first",
          all_are(&strio_pf[4080], 16, pat2) && strio_pf[4079] == 0, 1);
    check("strio: #PF: rdi at the page, rcx 16 left",
          r.rdi == pfva && r.rcx == 16, 1);
    pf0 = hvm_exc_count[14];
    hvm_pf_cr2 = 0, hvm_pf_err = ~0ULL;
    r = (struct strio_regs){ 0, pfva, 8 };
    STRIO("rep outsb", &r, STRIO_FREE_PORT);
    check("strio: rep outsb from an unmapped page: #PF, CR2 there, error code 0 (read)",
          hvm_exc_count[14] - pf0 == 1 && hvm_pf_cr2 == pfva && hvm_pf_err == 0 &&
              r.rsi == pfva && r.rcx == 8, 1);
    strio_pt[(pfva >> 12) & 511] = pfva | 1; /* present, read-only */
    reload_cr3();
    pf0 = hvm_exc_count[14];
    hvm_pf_cr2 = 0, hvm_pf_err = ~0ULL;
    r = (struct strio_regs){ pfva, 0, 4 };
    STRIO("rep insb", &r, src);
    check("strio: rep insb into a read-only page: #PF, CR2 there",
          hvm_exc_count[14] - pf0 == 1 && hvm_pf_cr2 == pfva && r.rdi == pfva && r.rcx == 4, 1);
    check("strio: #PF on a read-only page: error code P|W", (long)hvm_pf_err, 3);
    *pde = pde0;
    reload_cr3();
    uint64_t gp0 = hvm_exc_count[13];
    pf0 = hvm_exc_count[14];
    r = (struct strio_regs){ 0x0000800000000000ULL, 0, 4 };
    STRIO("rep insb", &r, src);
    check("strio: rep insb at a non-canonical rdi: #GP, not #PF",
          hvm_exc_count[13] - gp0 == 1 && hvm_exc_count[14] == pf0, 1);
    set_gate(14, hvm_exc_other);
    if (hvm)
        outb(0x21, 0xff);

    /* 8. dom0's 16550A (the device model's ports): Xen's data_is_ptr
     * ioreqs, the device model reading or writing the elements in guest
     * memory itself - a page of them per request. NOTE: needs a device
     * model that handles data_is_ptr (dm.c). */
    if (!hvm) {
        say("SKIP strio: the 16550A: type = \"pvh\" has no device model");
        return;
    }
    outb(0x3ff, 0x5a); /* the scratch register */
    memset(buf, 0, sizeof(buf));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)buf, 0, 32 };
    STRIO("rep insb", &r, 0x3ff);
    check("strio: 16550A: rep insb 32 from the scratch register: all 0x5a",
          all_are(buf, 32, 0x5a) && buf[32] == 0, 1);
    check("strio: 16550A: rep insb 32: rdi +32, rcx 0",
          r.rdi - (uint64_t)(uintptr_t)buf == 32 && r.rcx == 0, 1);
    memset(strio_big, 0, sizeof(strio_big));
    r = (struct strio_regs){ (uint64_t)(uintptr_t)&strio_big[4096 - 10], 0, 32 };
    STRIO("rep insb", &r, 0x3ff);
    check("strio: 16550A: rep insb 32 across a page boundary (two requests): all 0x5a",
          all_are(&strio_big[4096 - 10], 32, 0x5a) && strio_big[4096 - 11] == 0 &&
              strio_big[4096 + 22] == 0 && r.rcx == 0 &&
              r.rdi == (uint64_t)(uintptr_t)&strio_big[4096 + 22], 1);
    outb(0x3fb, 0x03); /* LCR: 8N1, DLAB off */
    outb(0x3f9, 0x00); /* IER: none */
    static const char uline[] = "hvmtest: strio: a line by rep outsb to the 16550A\n";
    r = (struct strio_regs){ 0, (uint64_t)(uintptr_t)uline, sizeof(uline) - 1 };
    STRIO("rep outsb", &r, 0x3f8);
    check("strio: 16550A: rep outsb of a line: rsi past it, rcx 0",
          r.rsi - (uint64_t)(uintptr_t)uline == sizeof(uline) - 1 && r.rcx == 0, 1);
    /* DF=1: the 3 bytes go out from the highest address down: "ok\n"
     * ends the line begun forwards */
    static const char head[] = "hvmtest: strio: 16550A rep outsb with DF=1: ";
    static const char rev[3] = { '\n', 'k', 'o' };
    r = (struct strio_regs){ 0, (uint64_t)(uintptr_t)head, sizeof(head) - 1 };
    STRIO("rep outsb", &r, 0x3f8);
    r = (struct strio_regs){ 0, (uint64_t)(uintptr_t)&rev[2], 3 };
    STRIO("std; rep outsb; cld", &r, 0x3f8);
    check("strio: 16550A: DF=1 rep outsb 3: rsi -3, rcx 0",
          (long)(r.rsi - (uint64_t)(uintptr_t)&rev[2]) == -3 && r.rcx == 0, 1);
}

/* mode=atkio (attack review atk4): what string port I/O leaves in the
 * guest's own page tables and which protections it honours.
 * 1. A rep insb writes guest memory: the CPU (and Xen's emulator, via
 *    paging_gva_to_gfn with PFEC_write_access) sets the PTE's A and D
 *    bits. Checked for the hv's element-by-element path (PIC) and for the
 *    device model's data_is_ptr path (16550A scratch register).
 * 2. CR4.SMAP at CPL0 with EFLAGS.AC clear: a rep insb into a user page
 *    must #PF (P|W). */
static uint8_t atk_pg[2 * 4096] __attribute__((aligned(4096)));

/* atkio part 3: ring 3. A user process with I/O permission (IOPL 3 here;
 * ioperm in Linux) does rep insb into a supervisor page, and with
 * CR0.WP clear into a user read-only page: the CPU #PFs (P|W|U) for both
 * - U/S is checked at CPL3 and WP does not matter there. */
static uint64_t atk_gdt[8] __attribute__((aligned(16)));
static struct {
    uint32_t r0;
    uint64_t rsp0, rsp1, rsp2, r1, ist[7], r2;
    uint16_t r3, iopb;
} __attribute__((packed)) atk_tss;
static uint8_t atk_kstack[8192] __attribute__((aligned(16)));
static uint8_t atk_ustack[4096] __attribute__((aligned(16)));
uint64_t atk_saved_ksp;
extern char atk_user_back[], atk_user_code[], atk_user_mov[];
void atk_enter_user(uint64_t rip, uint64_t rsp, uint64_t port, uint64_t count, uint64_t target);
__asm__(".text\n"
        ".globl atk_enter_user, atk_user_back, atk_user_code\n"
        "atk_enter_user:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
        "  mov %rsp, atk_saved_ksp(%rip)\n"
        "  pushq $0x1b\n"
        "  push %rsi\n"
        "  pushq $0x3002\n"
        "  pushq $0x23\n"
        "  push %rdi\n"
        "  mov %r8, %rdi\n"
        "  iretq\n"
        "atk_user_back:\n"
        "  mov atk_saved_ksp(%rip), %rsp\n"
        "  mov $0x10, %eax; mov %eax, %ds; mov %eax, %es\n"
        "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  ret\n"
        ".p2align 4\n"
        "atk_user_code:\n"
        "  rep insb\n"
        "  int $0x80\n"
        ".globl atk_user_mov\n"
        "atk_user_mov:\n"
        "  movb %al, (%rdi)\n"
        "  int $0x80\n");

static void atk_cpl3(uint64_t va0, uint64_t va1)
{
    const uint64_t m = 0x000ffffffffff000ULL;
    atk_gdt[0] = 0;
    atk_gdt[1] = 0x00209a0000000000ULL;
    atk_gdt[2] = 0x00cf92000000ffffULL;
    atk_gdt[3] = 0x00cff2000000ffffULL; /* 0x18: user data */
    atk_gdt[4] = 0x0020fa0000000000ULL; /* 0x20: user code 64 */
    uint64_t tb = (uint64_t)(uintptr_t)&atk_tss;
    atk_tss.rsp0 = (uint64_t)(uintptr_t)&atk_kstack[sizeof(atk_kstack)];
    atk_tss.iopb = sizeof(atk_tss);
    atk_gdt[5] = (sizeof(atk_tss) - 1) | ((tb & 0xffffff) << 16) | (0x89ULL << 40) |
                 (((tb >> 24) & 0xff) << 56);
    atk_gdt[6] = tb >> 32;
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gp = { sizeof(atk_gdt) - 1, (uint64_t)(uintptr_t)atk_gdt };
    __asm__ volatile("lgdt %0; mov $0x28, %%ax; ltr %%ax" :: "m"(gp) : "rax", "memory");
    uint64_t a = (uint64_t)(uintptr_t)atk_user_back;
    idt[0x80] = (struct idt_entry){ .off0 = (uint16_t)a, .sel = 0x08, .type = 0xee,
                                    .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32) };
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & m);
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & m);
    pml4[0] |= 4;
    pdpt[0] |= 4;
    volatile uint64_t *pc = strio_pde((uint64_t)(uintptr_t)atk_user_code);
    volatile uint64_t *ps = strio_pde((uint64_t)(uintptr_t)atk_ustack);
    volatile uint64_t *pd = strio_pde(va0);
    uint64_t pc0 = *pc, ps0 = *ps, pd0 = *pd;
    *pc |= 4;
    *ps |= 4;
    for (unsigned int i = 0; i < 512; i++)
        strio_pt[i] = ((va0 & ~0x1fffffULL) + i * 4096ULL) | 0x67;
    strio_pt[(va0 >> 12) & 511] = va0 | 0x63; /* supervisor, RW */
    strio_pt[(va1 >> 12) & 511] = va1 | 0x65; /* user, read-only */
    *pd = (uint64_t)(uintptr_t)strio_pt | 0x27;
    reload_cr3();
    hvm_skip_len = 2;
    uint64_t ustk = (uint64_t)(uintptr_t)&atk_ustack[sizeof(atk_ustack) - 64];
    static const struct { const char *what; uint16_t port; int page1; int nowp; } t[] = {
        { "CPL3 rep insb (hv path, PIC) into a supervisor page", 0x21, 0, 0 },
        { "CPL3 rep insb (data_is_ptr, 16550A) into a supervisor page", 0x3ff, 0, 0 },
        { "CPL3 rep insb (hv path, PIC) into a user read-only page, CR0.WP=0", 0x21, 1, 1 },
        { "CPL3 rep insb (data_is_ptr, 16550A) into a user read-only page, CR0.WP=0", 0x3ff, 1, 1 },
    };
    {   /* control: a plain store from ring 3 to the supervisor page #PFs (the CPU's own walk) */
        uint64_t pf0 = hvm_exc_count[14];
        hvm_pf_err = ~0ULL;
        atk_enter_user((uint64_t)(uintptr_t)atk_user_mov, ustk, 0, 0, va0 + 64);
        say("atkio: control: CPL3 movb to the supervisor page: #PF %lu err %#lx",
            (unsigned long)(hvm_exc_count[14] - pf0), (unsigned long)hvm_pf_err);
    }
    for (unsigned int k = 0; k < 4; k++) {
        uint64_t tgt = (t[k].page1 ? va1 : va0) + 128 + k * 16;
        memset((void *)(uintptr_t)tgt, 0, 8);
        uint64_t cr0;
        __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
        if (t[k].nowp)
            __asm__ volatile("mov %0, %%cr0" :: "r"(cr0 & ~(1ULL << 16)) : "memory");
        uint64_t pf0 = hvm_exc_count[14];
        hvm_pf_err = ~0ULL;
        atk_enter_user((uint64_t)(uintptr_t)atk_user_code, ustk, t[k].port, 4, tgt);
        __asm__ volatile("mov %0, %%cr0" :: "r"(cr0) : "memory");
        uint64_t pfs = hvm_exc_count[14] - pf0;
        const volatile uint8_t *b = (const volatile uint8_t *)(uintptr_t)tgt;
        say("atkio: %s: #PF %lu err %#lx, bytes %02x %02x %02x %02x", t[k].what,
            (unsigned long)pfs, (unsigned long)hvm_pf_err, b[0], b[1], b[2], b[3]);
        check(t[k].what, (long)(pfs == 1 && hvm_pf_err == 7 && b[0] == 0), 1);
    }
    *pd = pd0;
    *pc = pc0;
    *ps = ps0;
    pml4[0] &= ~4ULL;
    pdpt[0] &= ~4ULL;
    reload_cr3();
}
static void probe_atkio(const struct boot *b)
{
    struct strio_regs r;
    uint32_t c[4];
    if (!b->mi) {
        say("SKIP atkio: needs type = \"hvm\"");
        return;
    }
    set_gate(14, hvm_exc_pf);
    outb(0x20, 0x11);
    outb(0x21, 0x20);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0x21, 0xa5);
    outb(0x3ff, 0x5a);
    uint64_t va0 = (uint64_t)(uintptr_t)&atk_pg[0], va1 = va0 + 4096;
    volatile uint64_t *pde = strio_pde(va0);
    uint64_t pde0 = *pde;
    for (unsigned int i = 0; i < 512; i++)
        strio_pt[i] = ((va0 & ~0x1fffffULL) + i * 4096ULL) | 0x63;
    strio_pt[(va0 >> 12) & 511] = va0 | 3; /* P|RW, A and D clear */
    strio_pt[(va1 >> 12) & 511] = va1 | 3;
    *pde = (uint64_t)(uintptr_t)strio_pt | 0x23;
    reload_cr3();
    r = (struct strio_regs){ va0 + 64, 0, 16 };
    STRIO("rep insb", &r, 0x21);
    uint64_t e0 = strio_pt[(va0 >> 12) & 511];
    say("atkio: PTE after rep insb from the PIC (hv path): %#lx (A %u D %u), data %#x",
        (unsigned long)e0, (unsigned)((e0 >> 5) & 1), (unsigned)((e0 >> 6) & 1), atk_pg[64]);
    check("atkio: rep insb (hv path) sets the PTE's D bit", (long)((e0 >> 6) & 1), 1);
    r = (struct strio_regs){ va1 + 64, 0, 16 };
    STRIO("rep insb", &r, 0x3ff);
    uint64_t e1 = strio_pt[(va1 >> 12) & 511];
    say("atkio: PTE after rep insb from the 16550A (data_is_ptr): %#lx (A %u D %u), data %#x",
        (unsigned long)e1, (unsigned)((e1 >> 5) & 1), (unsigned)((e1 >> 6) & 1), atk_pg[4096 + 64]);
    check("atkio: rep insb (data_is_ptr) sets the PTE's D bit", (long)((e1 >> 6) & 1), 1);

    /* 2. SMAP */
    cpuid(7, 0, c);
    if (!(c[1] & (1u << 20))) {
        say("SKIP atkio: no SMAP in CPUID 7.EBX");
    } else {
        strio_pt[(va0 >> 12) & 511] = va0 | 0x67; /* user page */
        reload_cr3();
        uint64_t cr4;
        __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
        __asm__ volatile("clac; mov %0, %%cr4" :: "r"(cr4 | (1ULL << 21)) : "memory");
        uint64_t pf0 = hvm_exc_count[14];
        hvm_pf_cr2 = 0, hvm_pf_err = ~0ULL;
        hvm_skip_len = 2;
        memset(atk_pg, 0, 4096);
        r = (struct strio_regs){ va0, 0, 4 };
        STRIO("rep insb", &r, 0x21);
        uint64_t pfs = hvm_exc_count[14] - pf0;
        say("atkio: SMAP rep insb into a user page (hv path): #PF %lu err %#lx, byte %#x",
            (unsigned long)pfs, (unsigned long)hvm_pf_err, atk_pg[0]);
        check("atkio: SMAP: rep insb into a user page at CPL0 #PFs (hv path)", (long)pfs, 1);
        pf0 = hvm_exc_count[14];
        r = (struct strio_regs){ va0 + 8, 0, 4 };
        STRIO("rep insb", &r, 0x3ff);
        pfs = hvm_exc_count[14] - pf0;
        say("atkio: SMAP rep insb into a user page (data_is_ptr): #PF %lu, byte %#x",
            (unsigned long)pfs, atk_pg[8]);
        check("atkio: SMAP: rep insb into a user page at CPL0 #PFs (data_is_ptr)", (long)pfs, 1);
        __asm__ volatile("mov %0, %%cr4" :: "r"(cr4) : "memory");
    }
    *pde = pde0;
    reload_cr3();
    atk_cpl3(va0, va1);
    set_gate(14, hvm_exc_other);
    outb(0x21, 0xff);
}

/* mode=apboot (vcpus >= 2): the BSP starts vcpu 1 as an OS starts its
 * APs - a real-mode trampoline (head.S ap_tramp) copied to AP_TRAMP in
 * low RAM, INIT (assert), INIT (level de-assert), STARTUP twice to APIC
 * ID 1 through the ICR - and follows it through its stages in the
 * mailbox at AP_MBOX: 16-bit (CS recorded), 32-bit protected mode,
 * long mode on the BSP's page tables, ap_main in C on its own stack
 * (its APIC ID, its APIC enabled, the shared IDT). Then fixed IPIs both
 * ways (100 to the AP, one to the BSP), a STARTUP with no INIT before it
 * (ignored: the AP goes on), INIT + STARTUP again (the AP restarts at
 * the trampoline) and INIT to the BSP (ignored). Every wait is bounded
 * (a loop count, SCHEDOP_yield each turn so a vcpu on the same CPU
 * runs). */
#define AP_TRAMP 0x8000UL
#define AP_MBOX 0x8f00UL
#define AP_MAGIC 0xa9b007u
#define AP_VEC 0xe0
#define BSP_VEC 0xe1
struct ap_mbox {
    uint32_t cs, n16, n32, n64;
    uint64_t cr3, stack, entry;
    uint32_t magic, apic_id, ipis, cmd;
    uint32_t cmd_done, runs, svr;
    uint32_t edx16, cr0_16, cr4_16, cr0_32, efer64, cr0_64;
};
_Static_assert(__builtin_offsetof(struct ap_mbox, ipis) == 0x30, "head.S: ipis at 0x30");
_Static_assert(__builtin_offsetof(struct ap_mbox, edx16) == 0x44, "head.S: edx16 at 0x44");
#define APM ((volatile struct ap_mbox *)AP_MBOX)
#define LAPIC ((volatile uint32_t *)0xfee00000UL)
static uint8_t ap_stack[16384] __attribute__((aligned(16)));

static void icr_send(uint32_t hi, uint32_t lo)
{
    LAPIC[0x310 / 4] = hi;
    LAPIC[0x300 / 4] = lo;
}

void ap_main(void)
{
    load_idt(sizeof(idt) - 1);
    APM->apic_id = LAPIC[0x20 / 4] >> 24;
    LAPIC[0xf0 / 4] = 0x1ff; /* SVR: enabled, spurious 0xff */
    APM->svr = LAPIC[0xf0 / 4];
    APM->runs++;
    say("hvmtest: apboot: AP up in long mode: APIC ID %u, run %u, trampoline CS %#x",
        APM->apic_id, APM->runs, APM->cs);
    __atomic_store_n(&APM->magic, AP_MAGIC, __ATOMIC_SEQ_CST);
    for (;;) {
        __asm__ volatile("cli" ::: "memory");
        if (APM->cmd == 1) {
            icr_send(0, 0x4000 | BSP_VEC); /* fixed, physical dest 0 */
            APM->cmd = 0;
            __atomic_add_fetch(&APM->cmd_done, 1, __ATOMIC_SEQ_CST);
        }
        __asm__ volatile("sti; hlt" ::: "memory");
    }
}

/* until *p >= want, or about `turns` turns: 1 when it got there */
static int ap_wait(const volatile uint32_t *p, uint32_t want, uint64_t turns)
{
    for (uint64_t i = 0; i < turns; i++) {
        if (*p >= want)
            return 1;
        hcall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
        __asm__ volatile("pause");
    }
    return *p >= want;
}

static int ap_wait64(const volatile uint64_t *p, uint64_t want, uint64_t turns)
{
    for (uint64_t i = 0; i < turns; i++) {
        if (*p >= want)
            return 1;
        hcall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
        __asm__ volatile("pause");
    }
    return *p >= want;
}

#define AP_TURNS 2000000ULL

static void ap_init_startup(void)
{
    icr_send(1u << 24, 0x0000c500); /* INIT, level, assert */
    icr_send(1u << 24, 0x00008500); /* INIT, level, de-assert */
    icr_send(1u << 24, 0x00004600 | (AP_TRAMP >> 12)); /* STARTUP */
    icr_send(1u << 24, 0x00004600 | (AP_TRAMP >> 12)); /* and again */
}

/* what the AP's stages saw: the INIT state (EDX the reset signature,
 * CR0 CD|NW|ET as the guest reads it - VMX's forced bits hidden by the
 * read shadow - CR4 0), then what the trampoline itself set */
static void ap_regs_check(const char *when)
{
    char w[96];
    xl_snprintf(w, sizeof(w), "apboot: %s: real mode EDX 0x600 (reset signature)", when);
    check(w, APM->edx16, 0x600);
    xl_snprintf(w, sizeof(w), "apboot: %s: real mode CR0 0x60000010 (CD, NW, ET)", when);
    check(w, APM->cr0_16, 0x60000010);
    xl_snprintf(w, sizeof(w), "apboot: %s: real mode CR4 0", when);
    check(w, APM->cr4_16, 0);
    xl_snprintf(w, sizeof(w), "apboot: %s: protected mode CR0 0x60000011", when);
    check(w, APM->cr0_32, 0x60000011);
    xl_snprintf(w, sizeof(w), "apboot: %s: long mode EFER LMA|NXE|LME", when);
    check(w, APM->efer64, 0xd00);
    xl_snprintf(w, sizeof(w), "apboot: %s: long mode CR0 PG|WP|ET|PE", when);
    check(w, APM->cr0_64, 0x80010011);
}

static void probe_apboot(void)
{
    long up = hcall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0, 0, 0);
    if (up < 0) {
        say("SKIP apboot: this domain has one vcpu (VCPUOP_is_up on vcpu 1: %ld): vcpus = 2 wanted",
            up);
        return;
    }
    check("apboot: vcpu 1 exists and is down before STARTUP", up, 0);
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    memcpy((void *)AP_TRAMP, ap_tramp, (size_t)(ap_tramp_end - ap_tramp));
    memset((void *)AP_MBOX, 0, sizeof(struct ap_mbox));
    APM->cr3 = cr3;
    APM->stack = (uint64_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
    APM->entry = (uint64_t)(uintptr_t)ap_main;
    set_gate(AP_VEC, hvm_ap_ipi_entry);
    set_gate(BSP_VEC, hvm_bsp_ipi_entry);
    LAPIC[0xf0 / 4] = 0x1ff;
    say("hvmtest: apboot: trampoline of %lu bytes at %#lx, INIT, INIT de-assert, STARTUP x2 to APIC ID 1",
        (unsigned long)(ap_tramp_end - ap_tramp), AP_TRAMP);
    ap_init_startup();
    int ok = ap_wait(&APM->magic, AP_MAGIC, AP_TURNS);
    check("apboot: the AP reached the 16-bit stage", APM->n16 >= 1, 1);
    check("apboot: the AP ran the trampoline at CS 0x800", APM->cs, 0x800);
    check("apboot: the AP reached 32-bit protected mode", APM->n32 >= 1, 1);
    check("apboot: the AP reached long mode", APM->n64 >= 1, 1);
    check("apboot: the AP reached ap_main", ok, 1);
    if (!ok) {
        say("hvmtest: apboot: AP stages 16:%u 32:%u 64:%u, giving up", APM->n16, APM->n32,
            APM->n64);
        return;
    }
    check("apboot: one STARTUP started it once (the second was ignored)", APM->n16, 1);
    ap_regs_check("first start");
    check("apboot: the AP's APIC ID is 1", APM->apic_id, 1);
    check("apboot: the AP's APIC is enabled (SVR)", (APM->svr >> 8) & 1, 1);
    check("apboot: VCPUOP_is_up says vcpu 1 is up",
          hcall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0, 0, 0), 1);
    /* 100 fixed IPIs, each after the last one was counted (one pending
     * in the IRR at a time: a second would merge with it) */
    __asm__ volatile("sti" ::: "memory");
    uint32_t base = APM->ipis, got = 1;
    for (uint32_t i = 1; i <= 100 && got; i++) {
        icr_send(1u << 24, 0x4000 | AP_VEC);
        got = ap_wait(&APM->ipis, base + i, AP_TURNS);
    }
    check("apboot: 100 fixed IPIs to the AP, each counted by its handler", APM->ipis - base, 100);
    /* INIT to the BSP, by shorthand self and by its APIC ID: ignored */
    icr_send(0, 0x00044500);
    icr_send(0, 0x0000c500);
    icr_send(0, 0x00008500);
    check("apboot: INIT to the BSP (self and by ID 0) did not reset it", 1, 1);
    check("apboot: the BSP's APIC is still enabled after INIT to it", (LAPIC[0xf0 / 4] >> 8) & 1, 1);
    /* the AP sends a fixed IPI to the BSP (dest 0): woken by an IPI */
    uint64_t bb = hvm_bsp_ipis;
    uint32_t ab = APM->ipis, db = APM->cmd_done;
    APM->cmd = 1;
    icr_send(1u << 24, 0x4000 | AP_VEC);
    ap_wait(&APM->cmd_done, db + 1, AP_TURNS);
    ap_wait64(&hvm_bsp_ipis, bb + 1, AP_TURNS);
    check("apboot: the AP sent a fixed IPI to the BSP", APM->cmd_done - db, 1);
    check("apboot: the BSP counted the AP's IPI", (long)(hvm_bsp_ipis - bb), 1);
    ap_wait(&APM->ipis, ab + 1, AP_TURNS);
    /* STARTUP with no INIT before it: ignored, the AP goes on counting */
    uint32_t n16 = APM->n16;
    icr_send(1u << 24, 0x00004600 | (AP_TRAMP >> 12));
    for (int i = 0; i < 1000; i++)
        hcall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
    base = APM->ipis;
    icr_send(1u << 24, 0x4000 | AP_VEC);
    ap_wait(&APM->ipis, base + 1, AP_TURNS);
    check("apboot: STARTUP without INIT to the running AP: not restarted", APM->n16, n16);
    check("apboot: STARTUP without INIT: the AP still counts IPIs", APM->ipis - base, 1);
    /* INIT + STARTUP again: the AP restarts at the trampoline */
    __atomic_store_n(&APM->magic, 0, __ATOMIC_SEQ_CST);
    APM->edx16 = APM->cr0_16 = APM->cr4_16 = ~0u;
    APM->cr0_32 = APM->efer64 = APM->cr0_64 = ~0u;
    icr_send(1u << 24, 0x0000c500);
    for (int i = 0; i < 1000; i++)
        hcall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
    check("apboot: after INIT VCPUOP_is_up says vcpu 1 is down",
          hcall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0, 0, 0), 0);
    icr_send(1u << 24, 0x00008500);
    icr_send(1u << 24, 0x00004600 | (AP_TRAMP >> 12));
    icr_send(1u << 24, 0x00004600 | (AP_TRAMP >> 12));
    ok = ap_wait(&APM->magic, AP_MAGIC, AP_TURNS);
    check("apboot: INIT + STARTUP again restarted the AP in ap_main", ok, 1);
    check("apboot: the restart went through the 16-bit stage again", APM->n16, n16 + 1);
    check("apboot: ... and 32-bit protected mode again", APM->n32, n16 + 1);
    check("apboot: ... and long mode again", APM->n64, n16 + 1);
    check("apboot: ap_main ran twice", APM->runs, 2);
    ap_regs_check("restart");
    check("apboot: the restarted AP's APIC ID is 1", APM->apic_id, 1);
    base = APM->ipis;
    got = 1;
    for (uint32_t i = 1; i <= 10 && got; i++) {
        icr_send(1u << 24, 0x4000 | AP_VEC);
        got = ap_wait(&APM->ipis, base + i, AP_TURNS);
    }
    check("apboot: 10 fixed IPIs to the restarted AP counted", APM->ipis - base, 10);
    __asm__ volatile("cli" ::: "memory");
    say("hvmtest: apboot: %u IPIs to the AP, %lu to the BSP", APM->ipis,
        (unsigned long)hvm_bsp_ipis);
}


/* ---- attack review atk5: IPIs between a domain's vcpus ----
 * mode=atkipi (vcpus = 2): vcpu 1 brought up by INIT/STARTUP at
 * trampolines below 1 MiB (counters at 0x7000), then storms: INIT and
 * STARTUP while it runs on the other CPU (every shorthand, level
 * de-assert, self), while it waits for dom0's device model (UART port
 * reads), fixed/lowest IPIs into its enabled APIC while it sits in hlt
 * (protected-mode trampoline), vectors < 16; after each, vcpu 1 must run
 * again. end=clihlt: vcpu 1 left waiting for STARTUP, vcpu 0 cli;hlt
 * (the domain powers off); end=hold: vcpu 1 waiting, vcpu 0 holds. */
void atk5_rm_count(void), atk5_rm_count_end(void), atk5_rm_dmio(void), atk5_rm_dmio_end(void);
void atk5_pm_start(void), atk5_pm_irq(void), atk5_pm_end(void);
__asm__(".section .rodata\n"
        ".code16\n"
        ".globl atk5_rm_count, atk5_rm_count_end, atk5_rm_dmio, atk5_rm_dmio_end\n"
        "atk5_rm_count:\n"
        "1: incl 0x7000\n"
        "   jmp 1b\n"
        "atk5_rm_count_end:\n"
        "atk5_rm_dmio:\n"
        "   movw $0x3fc, %dx\n"
        "2: inb %dx, %al\n"
        "   incl 0x7004\n"
        "   jmp 2b\n"
        "atk5_rm_dmio_end:\n"
        ".globl atk5_pm_start, atk5_pm_irq, atk5_pm_end\n"
        "atk5_pm_start:\n"
        "   cli\n"
        "   xorw %ax, %ax\n"
        "   movw %ax, %ds\n"
        "   lgdtl 0xa000 + (atk5_pm_gdtr - atk5_pm_start)\n"
        "   movl %cr0, %eax\n"
        "   orl $1, %eax\n"
        "   movl %eax, %cr0\n"
        "   ljmpl $0x08, $(0xa000 + atk5_pm_32 - atk5_pm_start)\n"
        ".code32\n"
        "atk5_pm_32:\n"
        "   movw $0x10, %ax\n"
        "   movw %ax, %ds\n"
        "   movw %ax, %es\n"
        "   movw %ax, %ss\n"
        "   movl $0x7ff0, %esp\n"
        "   lidt 0xa000 + (atk5_pm_idtr - atk5_pm_start)\n"
        "   movl $0x1ff, 0xfee000f0\n"
        "   sti\n"
        "3: incl 0x700c\n"
        "   hlt\n"
        "   jmp 3b\n"
        "atk5_pm_irq:\n"
        "   incl 0x7008\n"
        "   movl $0, 0xfee000b0\n"
        "   iretl\n"
        ".p2align 3\n"
        "atk5_pm_gdt:\n"
        "   .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff\n"
        "atk5_pm_gdtr:\n"
        "   .word 23\n"
        "   .long 0xa000 + (atk5_pm_gdt - atk5_pm_start)\n"
        "atk5_pm_idtr:\n"
        "   .word 0x7ff\n"
        "   .long 0xa800\n"
        "atk5_pm_end:\n"
        ".globl atk5_pm2_start, atk5_pm2_end\n"
        "atk5_pm2_start:\n"
        ".code16\n"
        "   cli\n"
        "   xorw %ax, %ax\n"
        "   movw %ax, %ds\n"
        "   lgdtl 0xb000 + (atk5_pm2_gdtr - atk5_pm2_start)\n"
        "   movl %cr0, %eax\n"
        "   orl $1, %eax\n"
        "   movl %eax, %cr0\n"
        "   ljmpl $0x08, $(0xb000 + atk5_pm2_32 - atk5_pm2_start)\n"
        ".code32\n"
        "atk5_pm2_32:\n"
        "   movw $0x10, %ax\n"
        "   movw %ax, %ds\n"
        "   movw %ax, %es\n"
        "   movw %ax, %ss\n"
        "   movl $0x1ff, 0xfee000f0\n"
        "4: movl $0, 0xfee00310\n"
        "   movl $0x4041, 0xfee00300\n"   /* fixed 0x41 to the BSP */
        "   movl $0xc4500, 0xfee00300\n"  /* INIT all excluding self */
        "   movl $0x84608, 0xfee00300\n"  /* STARTUP all including self */
        "   movl $0x44500, 0xfee00300\n"  /* INIT self */
        "   incl 0x7010\n"
        "   jmp 4b\n"
        ".p2align 3\n"
        "atk5_pm2_gdt:\n"
        "   .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff\n"
        "atk5_pm2_gdtr:\n"
        "   .word 23\n"
        "   .long 0xb000 + (atk5_pm2_gdt - atk5_pm2_start)\n"
        "atk5_pm2_end:\n"
        ".code64\n"
        ".previous\n"
        ".text\n"
        ".globl atk5_bsp_irq\n"
        "atk5_bsp_irq:\n"
        "   lock incq atk5_bsp_irqs(%rip)\n"
        "   push %rax\n"
        "   movl $0xfee000b0, %eax\n"
        "   movl $0, (%rax)\n"
        "   pop %rax\n"
        "   iretq\n"
        ".previous\n");
void atk5_pm2_start(void), atk5_pm2_end(void), atk5_bsp_irq(void);
volatile uint64_t atk5_bsp_irqs;

static volatile uint32_t *const atk5_apic = (volatile uint32_t *)(uintptr_t)0xfee00000UL;
static volatile uint32_t *const atk5_ctr = (volatile uint32_t *)(uintptr_t)0x7000UL;

static void atk5_icr(uint32_t hi, uint32_t lo)
{
    atk5_apic[0x310 / 4] = hi;
    atk5_apic[0x300 / 4] = lo;
}

static void atk5_copy(uint64_t to, void (*from)(void), void (*end)(void))
{
    const uint8_t *s = (const uint8_t *)(uintptr_t)from;
    size_t n = (size_t)((uintptr_t)end - (uintptr_t)from);
    volatile uint8_t *d = (volatile uint8_t *)(uintptr_t)to;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

static void atk5_start(uint8_t vec)
{
    atk5_icr(1u << 24, 0xc500);          /* INIT, level assert */
    atk5_icr(1u << 24, 0x8500);          /* INIT level de-assert */
    atk5_icr(1u << 24, 0x4600 | vec);    /* STARTUP */
}

/* Does counter i move within `chunks` TSC chunks? 1 as soon as it does. */
static int atk5_moved_within(unsigned int i, unsigned int chunks)
{
    uint32_t a = atk5_ctr[i];
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < chunks * TSC_CHUNK)
        if (atk5_ctr[i] != a)
            return 1;
    return 0;
}

/* Waits for counter i to move, with a bound for a loaded host (~120
 * chunks: vcpu 1's first move may wait for dom0's device model). */
static int atk5_moves(unsigned int i)
{
    return atk5_moved_within(i, 120);
}

/* Does counter i stay still for ~2 TSC chunks? (INIT stops its target
 * before the ICR write completes: nothing can move it afterwards.) */
static int atk5_still(unsigned int i)
{
    return !atk5_moved_within(i, 2);
}

/* Waits for counter i (zeroed before) to become non-zero (bound as
 * atk5_moves). */
static int atk5_nonzero(unsigned int i)
{
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < 120 * TSC_CHUNK)
        if (atk5_ctr[i])
            return 1;
    return 0;
}

static void atk5_pause(unsigned int n)
{
    for (volatile unsigned int i = 0; i < n; i++)
        ;
}

static void probe_atkipi(const char *cmdline)
{
    uint64_t n = hexopt(cmdline, "n");
    if (!n)
        n = 2000;
    for (unsigned int i = 0; i < 8; i++)
        atk5_ctr[i] = 0;
    atk5_copy(0x8000, atk5_rm_count, atk5_rm_count_end);
    atk5_copy(0x9000, atk5_rm_dmio, atk5_rm_dmio_end);
    atk5_copy(0xa000, atk5_pm_start, atk5_pm_end);
    uint32_t irq = 0xa000 + (uint32_t)((uintptr_t)atk5_pm_irq - (uintptr_t)atk5_pm_start);
    volatile uint32_t *idt32 = (volatile uint32_t *)(uintptr_t)0xa800UL;
    for (unsigned int v = 0; v < 256; v++) {
        idt32[v * 2] = (0x08u << 16) | (irq & 0xffff);
        idt32[v * 2 + 1] = (irq & 0xffff0000u) | 0x8e00;
    }
    atk5_apic[0xf0 / 4] = 0x1ff; /* the BSP's APIC on */
    for (unsigned int v = 0x40; v < 0x44; v++) /* its own share of broadcasts */
        set_gate(v, atk5_bsp_irq);
    /* 0: bring-up */
    atk5_start(0x08);
    check("atkipi: vcpu 1 runs after INIT/STARTUP at 0x8000", atk5_moves(0), 1);
    /* 1: INIT/STARTUP storm while it runs on the other CPU */
    for (uint64_t i = 0; i < n; i++) {
        switch (xrand() % 10) {
        case 0: atk5_icr(1u << 24, 0xc500); break;            /* INIT assert */
        case 1: atk5_icr(1u << 24, 0x8500); break;            /* de-assert */
        case 2: atk5_icr(0, 0xc4500); break;                  /* INIT all-excl-self */
        case 3: atk5_icr(0, 0x84500); break;                  /* INIT all-incl-self */
        case 4: atk5_icr(0, 0x44500); break;                  /* INIT self */
        case 5: atk5_icr(0xffu << 24, 0x4d00 | 0x500); break; /* INIT logical 0xff */
        case 6: atk5_icr(0, 0xc4608); break;                  /* STARTUP all-excl-self */
        case 7: atk5_icr(0, 0x84608); break;                  /* STARTUP all-incl-self */
        case 8: atk5_icr(1u << 24, 0x4600 | (uint32_t)(0x20 + xrand() % 0x80)); break; /* a zeroed page */
        default: atk5_icr(1u << 24, 0x4608); break;
        }
        if (xrand() % 4 == 0)
            atk5_pause((unsigned int)(xrand() % 20000));
    }
    atk5_start(0x08);
    say("hvmtest: atkipi: init/startup storm done: %lu ICR writes", (unsigned long)n);
    check("atkipi: vcpu 1 runs after the INIT/STARTUP storm", atk5_moves(0), 1);
    /* 2: INIT/STARTUP while it waits for dom0's device model */
    atk5_start(0x09);
    check("atkipi: vcpu 1 reads the UART (device model) in a loop", atk5_moves(1), 1);
    for (uint64_t i = 0; i < n; i++) {
        atk5_icr(1u << 24, 0xc500);
        if (xrand() & 1)
            atk5_pause((unsigned int)(xrand() % 5000));
        atk5_icr(1u << 24, 0x4600 | ((xrand() & 1) ? 0x09 : 0x08));
        if (xrand() & 1)
            atk5_pause((unsigned int)(xrand() % 20000));
    }
    say("hvmtest: atkipi: init during device model waits done: %lu rounds", (unsigned long)n);
    atk5_start(0x08);
    check("atkipi: vcpu 1 runs after INITs during device model waits", atk5_moves(0), 1);
    if (!opt_is(cmdline, "uart", "0")) {
        outb(0x3ff, 0x5a);
        check("atkipi: the UART's scratch register still answers", inb(0x3ff), 0x5a);
    }
    /* 3: fixed IPIs into its APIC while it sits in hlt */
    atk5_ctr[3] = 0;
    atk5_start(0x0a);
    check("atkipi: vcpu 1 in protected mode with its APIC on, in hlt", atk5_nonzero(3), 1);
    uint32_t before = atk5_ctr[2];
    for (uint64_t i = 0; i < 10 * n; i++) {
        switch (xrand() % 6) {
        case 0: atk5_icr(1u << 24, 0x4040); break;           /* fixed, physical 1 */
        case 1: atk5_icr(1u << 24, 0x4140); break;           /* lowest priority */
        case 2: atk5_icr(0, 0xc4041); break;                 /* all excluding self */
        case 3: atk5_icr(0xffu << 24, 0x4842); break;        /* logical broadcast */
        case 4: atk5_icr(1u << 24, 0x4000 | (uint32_t)(xrand() % 16)); break; /* vector < 16 */
        default: atk5_icr(1u << 24, 0x4043); break;
        }
    }
    atk5_pause(2000000);
    uint32_t got = atk5_ctr[2] - before;
    say("hvmtest: atkipi: fixed IPI storm done: %lu ICR writes, %u interrupts taken by vcpu 1",
        (unsigned long)(10 * n), got);
    check("atkipi: vcpu 1 took interrupts of the storm", got > 0, 1);
    atk5_apic[0x280 / 4] = 0;
    check("atkipi: ESR has send-illegal-vector after vectors < 16", (atk5_apic[0x280 / 4] >> 5) & 1, 1);
    /* INIT while it is blocked in hlt, then it must start again */
    atk5_start(0x08);
    check("atkipi: vcpu 1 runs after INIT in hlt", atk5_moves(0), 1);
    /* STARTUP with no INIT before: ignored (it keeps counting at 0x8000) */
    atk5_icr(1u << 24, 0x4609);
    uint32_t io0 = atk5_ctr[1];
    atk5_pause(2000000);
    check("atkipi: a STARTUP with no INIT is ignored", atk5_ctr[1] == io0 && atk5_moves(0), 1);
    /* 4: both ways at once: vcpu 1 storms vcpu 0 with fixed IPIs and
     * every vcpu but itself with INIT then STARTUP (and itself with INIT),
     * vcpu 0 takes them (EOI each) while it storms the others */
    atk5_copy(0xb000, atk5_pm2_start, atk5_pm2_end);
    atk5_start(0x0b);
    check("atkipi: vcpu 1 sends IPIs in a loop", atk5_moves(4), 1);
    __asm__ volatile("sti");
    for (uint64_t i = 0; i < 10 * n; i++) {
        switch (xrand() % 4) {
        case 0: atk5_icr(0, 0xc4040); break;          /* fixed all excluding self */
        case 1: atk5_icr(0, 0x84040); break;          /* fixed all including self */
        case 2: atk5_icr(0xffu << 24, 0x4940); break; /* lowest, logical broadcast */
        default: atk5_icr(0, 0xc460b); break;         /* STARTUP all excluding self: the IPI loop */
        }
    }
    __asm__ volatile("cli");
    say("hvmtest: atkipi: ping-pong done: %lu ICR writes, %lu interrupts taken by vcpu 0, "
        "vcpu 1 at %u loops", (unsigned long)(10 * n), (unsigned long)atk5_bsp_irqs, atk5_ctr[4]);
    say("hvmtest: atkipi: vcpu 0 APIC: ppr %#x irr[2] %#x isr[2] %#x; #GP %lu other %lu",
        atk5_apic[0xa0 / 4], atk5_apic[0x220 / 4], atk5_apic[0x120 / 4],
        (unsigned long)hvm_exc_count[13], (unsigned long)hvm_exc_count[255]);
    {
        /* a self IPI alone, interrupts on, a few exits after it */
        uint64_t b = atk5_bsp_irqs;
        __asm__ volatile("sti");
        atk5_icr(0, 0x44040);
        for (int k = 0; k < 100; k++) {
            uint32_t r[4];
            cpuid(0, 0, r);
        }
        __asm__ volatile("cli");
        say("hvmtest: atkipi: self IPI alone: %lu interrupts, irr[2] %#x isr[2] %#x",
            (unsigned long)(atk5_bsp_irqs - b), atk5_apic[0x220 / 4], atk5_apic[0x120 / 4]);
    }
    check("atkipi: vcpu 0 took vcpu 1's IPIs", atk5_bsp_irqs > 0, 1);
    atk5_icr(0, 0xc4500); /* every other vcpu waits */
    atk5_icr(0, 0xc4608); /* and counts */
    check("atkipi: the other vcpus run after the ping-pong", atk5_moves(0), 1);
    if (opt_is(cmdline, "end", "clihlt") || opt_is(cmdline, "end", "hold")) {
        atk5_icr(0, 0xc4500); /* every other vcpu waits for a STARTUP */
        atk5_pause(100000);
        check("atkipi: vcpu 1 stopped by INIT", atk5_still(0), 1);
    }
    say("hvmtest: atkipi: %d failed", failed);
    if (opt_is(cmdline, "end", "clihlt")) {
        say("hvmtest: atkipi: vcpu 0 cli;hlt with vcpu 1 waiting for STARTUP");
        __asm__ volatile("cli; hlt");
        say("FAIL hvmtest: atkipi: vcpu 0 running after cli;hlt");
    }
}

/* ---- attack review atk6: an exit in flight across INIT + STARTUP ----
 * mode=atk6hlt (vcpus = 2): vcpu 1 runs a real-mode trampoline that
 * counts once and halts (cli;hlt at 0xc000, counter 0x7020; sti;hlt at
 * 0xd000, counter 0x7024). vcpu 0 sends INIT + STARTUP the moment it sees
 * the count move, so vcpu 1's hlt exit races the two IPIs. On a CPU,
 * INIT + STARTUP always starts the AP. hvm.c handles the hlt exit after
 * the IPIs if both were handled first (handle_exit runs on the old exit
 * after lapic_ipi set sipi_pending): do_hlt then takes the AP offline
 * (cli) or blocks it (sti) after STARTUP, and wait_sipi is already 0, so
 * a further STARTUP is ignored: only INIT + STARTUP again starts it.
 * Each round that does not count within a while is tested with a bare
 * STARTUP and a long bound (a slow start moves anyway), then INIT +
 * STARTUP; the first stuck round ends the rounds. */
void atk6_rm_cli(void), atk6_rm_cli_end(void), atk6_rm_sti(void), atk6_rm_sti_end(void);
__asm__(".section .rodata\n"
        ".code16\n"
        ".globl atk6_rm_cli, atk6_rm_cli_end, atk6_rm_sti, atk6_rm_sti_end\n"
        "atk6_rm_cli:\n"
        "   lock incl 0x7020\n"
        "1: cli\n"
        "   hlt\n"
        "   jmp 1b\n"
        "atk6_rm_cli_end:\n"
        "atk6_rm_sti:\n"
        "   lock incl 0x7024\n"
        "2: sti\n"
        "   hlt\n"
        "   jmp 2b\n"
        "atk6_rm_sti_end:\n"
        ".code64\n"
        ".previous\n");

/* Does counter i leave value c within chunks/8 TSC chunks? */
static int atk6_left(unsigned int i, uint32_t c, unsigned int eighths)
{
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < eighths * (TSC_CHUNK / 8))
        if (atk5_ctr[i] != c)
            return 1;
    return 0;
}

static void atk6_rounds(const char *name, unsigned int ctr, uint8_t vec, uint64_t n)
{
    uint64_t slow = 0, hard = 0, lost = 0, i;
    atk5_icr(1u << 24, 0xc500);
    atk5_icr(1u << 24, 0x4600 | vec);
    if (!atk6_left(ctr, 0, 16)) {
        say("FAIL atk6hlt: %s: vcpu 1 never started", name);
        failed++;
        return;
    }
    for (i = 0; i < n; i++) {
        uint32_t c = atk5_ctr[ctr];
        atk5_icr(1u << 24, 0xc500);       /* INIT (assert) */
        atk5_icr(1u << 24, 0x4600 | vec); /* STARTUP */
        if (atk6_left(ctr, c, 2))
            continue;
        /* not started: a bare STARTUP (a CPU would be running already),
         * then a long bound - a vcpu left stuck stays stuck, a slow one
         * (loaded host) moves within it */
        atk5_icr(1u << 24, 0x4600 | vec);
        if (atk6_left(ctr, c, 8 * 120)) {
            slow++;
            continue;
        }
        hard++;
        say("hvmtest: atk6hlt: %s round %lu: INIT + STARTUP and a second STARTUP did not "
            "start vcpu 1 (count %u)", name, (unsigned long)i, c);
        atk5_icr(1u << 24, 0xc500);
        atk5_icr(1u << 24, 0x4600 | vec);
        if (!atk6_left(ctr, c, 8 * 120))
            lost++;
        break; /* a failure already: the rounds stop here */
    }
    say("hvmtest: atk6hlt: %s: %lu rounds, %lu slow starts, %lu stuck until INIT again, "
        "%lu lost", name, (unsigned long)i, (unsigned long)slow, (unsigned long)hard,
        (unsigned long)lost);
    if (hard) {
        say("FAIL atk6hlt: %s: vcpu 1 stuck after INIT + STARTUP %lu times (a hlt exit "
            "handled after the IPIs)", name, (unsigned long)hard);
        failed++;
    } else {
        say("PASS atk6hlt: %s: vcpu 1 started after every INIT + STARTUP", name);
    }
}

static void probe_atk6hlt(const char *cmdline)
{
    uint64_t n = hexopt(cmdline, "n");
    if (!n)
        n = 3000;
    for (unsigned int i = 0; i < 16; i++)
        atk5_ctr[i] = 0;
    atk5_copy(0xc000, atk6_rm_cli, atk6_rm_cli_end);
    atk5_copy(0xd000, atk6_rm_sti, atk6_rm_sti_end);
    atk5_apic[0xf0 / 4] = 0x1ff;
    atk6_rounds("cli;hlt", 8, 0x0c, n);
    atk6_rounds("sti;hlt", 9, 0x0d, n);
    atk5_icr(1u << 24, 0xc500); /* vcpu 1 waits for a STARTUP */
    say("hvmtest: atk6hlt: %d failed", failed);
}

void hvmtest_main(uint64_t info, uint64_t magic)
{
    static struct boot boot;
    boot_info(&boot, info, magic);
    const char *cmdline = boot.cmdline;
    for (unsigned int v = 0; v < 32; v++)
        set_gate(v, hvm_exc_other);
    set_gate(6, hvm_exc_ud);
    set_gate(13, hvm_exc_gp);
    set_gate(0xf3, hvm_cb_entry);
    load_idt(sizeof(idt) - 1);
    if (boot.mi)
        say("hvmtest: Multiboot entry reached (magic %#lx), long mode, cmdline \"%s\"",
            (unsigned long)magic, cmdline);
    else
        say("hvmtest: PVH entry reached, long mode, cmdline \"%s\"", cmdline);
    uint32_t r[4];
    cpuid(0x40000002, 0, r);
    wrmsr_safe(r[1], (uint64_t)(uintptr_t)hcall_page);
    if (opt(cmdline, "seed"))
        xrand_state ^= hexopt(cmdline, "seed") * 0x2545f4914f6cdd1dULL | 1;
    if (opt_is(cmdline, "mode", "ports"))
        hostile_ports(&boot);
    else if (opt_is(cmdline, "mode", "devstorm"))
        hostile_devstorm(cmdline, 0);
    else if (opt_is(cmdline, "mode", "irqstorm"))
        hostile_devstorm(cmdline, 1);
    else if (opt_is(cmdline, "mode", "msr"))
        hostile_msrs();
    else if (opt_is(cmdline, "mode", "cpuid"))
        hostile_cpuid();
    else if (opt_is(cmdline, "mode", "hcall"))
        hostile_hcalls();
    else if (opt_is(cmdline, "mode", "mmio"))
        hostile_mmio(&boot);
    else if (opt_is(cmdline, "mode", "lapic"))
        hostile_lapic();
    else if (opt_is(cmdline, "mode", "ioapic"))
        hostile_ioapic();
    else if (opt_is(cmdline, "mode", "vcpuinit"))
        probe_vcpuinit(cmdline);
    else if (opt_is(cmdline, "mode", "drleak"))
        probe_drleak();
    else if (opt_is(cmdline, "mode", "dr7hv"))
        probe_dr7hv(cmdline);
    else if (opt_is(cmdline, "mode", "p2meat"))
        probe_p2meat(cmdline);
    else if (opt_is(cmdline, "mode", "ticker"))
        probe_ticker(cmdline);
    else if (opt_is(cmdline, "mode", "lapicstorm"))
        probe_lapicstorm(cmdline);
    else if (opt_is(cmdline, "mode", "gntst"))
        probe_gntst(cmdline);
    else if (opt_is(cmdline, "mode", "gntst2"))
        probe_gntst2(cmdline);
    else if (opt_is(cmdline, "mode", "strio"))
        probe_strio(&boot);
    else if (opt_is(cmdline, "mode", "atkio"))
        probe_atkio(&boot);
    else if (opt_is(cmdline, "mode", "apboot"))
        probe_apboot();
    else if (opt_is(cmdline, "mode", "atkipi"))
        probe_atkipi(cmdline);
    else if (opt_is(cmdline, "mode", "atk6hlt"))
        probe_atk6hlt(cmdline);
    else if (opt_is(cmdline, "mode", "triple")) {
        say("hvmtest: triple fault next");
        load_idt(0);
        __asm__ volatile("int3");
        say("FAIL hvmtest: still running after a triple fault");
    } else if (opt_is(cmdline, "mode", "halt")) {
        say("hvmtest: hlt with interrupts off next");
        __asm__ volatile("cli; hlt");
        say("FAIL hvmtest: running after hlt with interrupts off");
    } else {
        basic(&boot);
    }
    if (opt_is(cmdline, "hold", "1")) {
        /* stay until the toolstack destroys the domain (xl list, xl destroy) */
        say("hvmtest: holding until destroyed");
        for (;;)
            __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    if (!opt_is(cmdline, "mode", "basic") && opt(cmdline, "mode")) {
        char m[32];
        const char *v = opt(cmdline, "mode");
        size_t k = 0;
        while (v[k] && v[k] != ' ' && k < sizeof(m) - 1)
            m[k] = v[k], k++;
        m[k] = 0;
        say("hvmtest: %s survived: %d failed", m, failed);
    }
    struct sched_shutdown sd = { .reason = SHUTDOWN_poweroff };
    hcall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint64_t)(uintptr_t)&sd, 0, 0, 0);
    say("FAIL hvmtest: running after SCHEDOP_shutdown");
    for (;;)
        __asm__ volatile("cli; hlt");
}
