/*
 * stub_hv.c - a stand-in hypervisor for testing the UEFI loader's
 * hand-over: validates struct xl_bootinfo, prints a report on COM1 and
 * ends QEMU through isa-debug-exit (port 0xf4: 0x10 pass, 0x11 fail).
 * Must never: be linked into the real hypervisor or into `all`.
 */
#include <stdint.h>
#include <xenolith/bootinfo.h>

#define COM1 0x3f8

void hv_entry64(uint64_t bootinfo) __attribute__((noreturn, section(".text.hv_entry64")));

/* Placed at a high VMA but loaded right after .bss (see stub_hv.ld). */
static const volatile uint64_t hdata_magic __attribute__((section(".hdata"), used)) =
    0x5a5a1234abcd5a5aULL;
extern const char stub_hdata_phys[];
static volatile uint8_t big_bss[65536];
static int failures;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc_serial(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
    while (*s) {
        if (*s == '\n')
            putc_serial('\r');
        putc_serial(*s++);
    }
}

static void puthex(uint64_t v)
{
    puts_serial("0x");
    for (int i = 60; i >= 0; i -= 4)
        putc_serial("0123456789abcdef"[(v >> i) & 15]);
}

static void putdec(uint64_t v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_serial(b + i);
}

/* Report a failed check. */
static void check(int ok, const char *what)
{
    if (!ok) {
        puts_serial("stub-hv: FAIL ");
        puts_serial(what);
        puts_serial("\n");
        failures++;
    }
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Type of the range containing addr, or 0. */
static uint32_t type_at(const struct xl_bootinfo *bi, uint64_t addr)
{
    for (uint32_t i = 0; i < bi->nr_ranges; i++)
        if (addr >= bi->ranges[i].base && addr - bi->ranges[i].base < bi->ranges[i].len)
            return bi->ranges[i].type;
    return 0;
}

static void check_ranges(const struct xl_bootinfo *bi)
{
    uint64_t usable = 0;
    check(bi->nr_ranges > 0 && bi->nr_ranges <= XL_MAX_MEMRANGES, "nr_ranges");
    for (uint32_t i = 0; i < bi->nr_ranges && i < XL_MAX_MEMRANGES; i++) {
        const struct xl_mem_range *r = &bi->ranges[i];
        check(!(r->base & 0xfff) && !(r->len & 0xfff) && r->len, "range alignment");
        check(r->type >= XL_MEM_USABLE && r->type <= XL_MEM_HV, "range type");
        if (i) {
            const struct xl_mem_range *p = &bi->ranges[i - 1];
            check(p->base + p->len <= r->base, "ranges sorted/non-overlapping");
            check(!(p->base + p->len == r->base && p->type == r->type), "ranges merged");
        }
        if (r->type == XL_MEM_USABLE)
            usable += r->len;
        if (r->type != XL_MEM_USABLE && r->type != XL_MEM_RESERVED) {
            puts_serial("stub-hv: range ");
            puthex(r->base);
            puts_serial("-");
            puthex(r->base + r->len);
            puts_serial(" type ");
            putdec(r->type);
            puts_serial("\n");
        }
    }
    puts_serial("stub-hv: ");
    putdec(bi->nr_ranges);
    puts_serial(" ranges, ");
    putdec(usable >> 20);
    puts_serial(" MiB usable\n");
    check(type_at(bi, 0x2000000) == XL_MEM_HV, "hv image not XL_MEM_HV");
    check(type_at(bi, (uint64_t)bi) == XL_MEM_BOOT, "bootinfo not XL_MEM_BOOT");
}

static void check_modules(const struct xl_bootinfo *bi)
{
    check(bi->nr_modules >= 1 && bi->nr_modules <= XL_MAX_MODULES, "nr_modules");
    check(bi->modules[0].kind == XL_MOD_DOM0, "module 0 is not dom0");
    for (uint32_t i = 0; i < bi->nr_modules && i < XL_MAX_MODULES; i++) {
        const struct xl_module *m = &bi->modules[i];
        const char *data = (const char *)m->start;
        puts_serial("stub-hv: module ");
        putdec(i);
        puts_serial(" kind ");
        putdec(m->kind);
        puts_serial(" ");
        puts_serial(m->name);
        puts_serial(" len ");
        putdec(m->len);
        puts_serial(" data '");
        for (uint64_t j = 0; j < m->len && j < 16 && data[j] >= ' '; j++)
            putc_serial(data[j]);
        puts_serial("' cmdline '");
        puts_serial(m->cmdline);
        puts_serial("'\n");
        check(!(m->start & 0xfff) && m->start + m->len <= 0x100000000ULL, "module placement");
        check(type_at(bi, m->start) == XL_MEM_BOOT, "module not XL_MEM_BOOT");
    }
}

void hv_entry64(uint64_t bootinfo)
{
    const struct xl_bootinfo *bi = (const struct xl_bootinfo *)bootinfo;
    uint64_t rflags, tsc_lo, tsc_hi, tsc;
    int bss_zero = 1;

    __asm__ volatile("pushfq; popq %0" : "=r"(rflags));
    __asm__ volatile("rdtsc" : "=a"(tsc_lo), "=d"(tsc_hi));
    tsc = (tsc_hi << 32) | tsc_lo;
    puts_serial("stub-hv: entered, bootinfo at ");
    puthex(bootinfo);
    puts_serial("\n");
    check(!(rflags & 0x200), "interrupts enabled");
    check(bootinfo && !(bootinfo & 0xfff) && bootinfo < 0x100000000ULL, "bootinfo address");
    check(bi->magic == XL_BOOTINFO_MAGIC, "magic");
    check(bi->version == XL_BOOTINFO_VERSION, "version");
    check(bi->size == sizeof(*bi), "size");
    check(str_eq(bi->boot_path, "uefi"), "boot_path");
    check(bi->loader_tsc && bi->loader_tsc <= tsc, "loader_tsc");
    check(*(const volatile uint64_t *)stub_hdata_phys == 0x5a5a1234abcd5a5aULL,
          "high-VMA section not at its p_paddr");
    for (unsigned i = 0; i < sizeof(big_bss); i++)
        bss_zero &= big_bss[i] == 0;
    check(bss_zero, "bss not zeroed");
    check(bi->rsdp && *(const volatile uint64_t *)bi->rsdp == 0x2052545020445352ULL,
          "RSDP signature");
    puts_serial("stub-hv: hv_cmdline '");
    puts_serial(bi->hv_cmdline);
    puts_serial("'\nstub-hv: fb ");
    putdec(bi->fb.width);
    puts_serial("x");
    putdec(bi->fb.height);
    puts_serial(" at ");
    puthex(bi->fb.base);
    puts_serial("\n");
    check_modules(bi);
    check_ranges(bi);
    puts_serial(failures ? "stub-hv: RESULT FAIL\n" : "stub-hv: RESULT PASS\n");
    __asm__ volatile("outl %0, %1" : : "a"((uint32_t)(failures ? 0x11 : 0x10)), "Nd"(0xf4));
    for (;;)
        __asm__ volatile("cli; hlt");
}
