/*
 * time.c - the clocks: TSC calibrated against PIT channel 2,
 * system time (ns since boot) and the PV clock scale derived from it, the
 * CMOS RTC read once at boot for the wallclock, and the local APIC timer
 * in one-shot mode on every CPU, armed by the scheduler for the CPU's next
 * deadline (guest timer, end of slice, PV clock refresh, watchdog tick).
 * Owns: the PIT, the RTC, the LAPIC timer. Must never: wait on a device
 * without a bound; let system time go backwards; leave the LAPIC timer
 * disarmed while the CPU may halt.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/event.h>
#include <xenolith/layout.h>
#include <xenolith/percpu.h>

#define PIT_HZ      1193182
#define CAL_MS      10
#define APIC_ID     0x20
#define APIC_EOI    0x0b0
#define APIC_SVR    0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

static uint64_t tsc_start, tsc_freq;
/* PV clock scale: ns = ((tsc_delta << shift or >> -shift) * mul) >> 32. */
static uint32_t pv_mul;
static int8_t pv_shift;
static uint64_t wc_base_sec;
static uint32_t wc_base_nsec;
static uint32_t apic_per_ms;
static volatile uint32_t *apic;
static volatile uint64_t ticks;

static uint32_t apic_read(unsigned int reg) { return apic[reg / 4]; }
static void apic_write(unsigned int reg, uint32_t v) { apic[reg / 4] = v; }
static void pvclock_scale_init(void);
static void rtc_read_wallclock(void);

/* Remap the 8259 PICs clear of exception vectors, then mask them all:
 * the hv uses the LAPIC only. */
static void pic_disable(void)
{
    outb(0x20, 0x11); outb(0xa0, 0x11);
    outb(0x21, 0x20); outb(0xa1, 0x28);
    outb(0x21, 0x04); outb(0xa1, 0x02);
    outb(0x21, 0x01); outb(0xa1, 0x01);
    outb(0x21, 0xff); outb(0xa1, 0xff);
}

void time_init(void)
{
    tsc_start = rdtsc();
    apic = (volatile uint32_t *)(DIRECTMAP_BASE + (rdmsr(MSR_APIC_BASE) & ~0xfffULL));
    pic_disable();
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1 << 11)); /* xAPIC enable */
    apic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);
    apic_write(APIC_TIMER_DIV, 0x3);                       /* divide by 16 */
    apic_write(APIC_LVT_TIMER, 1 << 16);                   /* masked, one-shot */
    apic_write(APIC_TIMER_INIT, 0xffffffff);

    /* PIT channel 2, mode 0, gate on, speaker off: OUT2 (port 0x61 bit 5)
     * rises after CAL_MS. */
    uint16_t latch = PIT_HZ / (1000 / CAL_MS);
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, latch & 0xff);
    outb(0x42, latch >> 8);
    uint64_t t0 = rdtsc();
    uint32_t a0 = apic_read(APIC_TIMER_CUR);
    for (uint64_t i = 0; i < 100000000 && !(inb(0x61) & 0x20); i++)
        ;
    uint64_t t1 = rdtsc();
    uint32_t a1 = apic_read(APIC_TIMER_CUR);
    tsc_freq = (t1 - t0) * (1000 / CAL_MS);
    apic_per_ms = (a0 - a1) / CAL_MS;
    if (!tsc_freq)
        tsc_freq = 1000000000; /* no PIT: assume 1 GHz rather than divide by 0 */
    pvclock_scale_init();
    rtc_read_wallclock();
}

uint64_t tsc_hz(void) { return tsc_freq; }
uint64_t time_ticks(void) { return ticks; }

static uint64_t scale_delta(uint64_t delta)
{
    if (pv_shift < 0)
        delta >>= -pv_shift;
    else
        delta <<= pv_shift;
    return (uint64_t)(((unsigned __int128)delta * pv_mul) >> 32);
}

/* Pick shift so that the scaled frequency f is in (1 GHz, 2 GHz]: then
 * mul = 2^32 * 1e9 / f fits 32 bits with at least 31 significant ones. */
static void pvclock_scale_init(void)
{
    uint64_t f = tsc_freq;
    int shift = 0;
    while (f <= 1000000000ULL) {
        f <<= 1;
        shift++;
    }
    while (f > 2000000000ULL) {
        f >>= 1;
        shift--;
    }
    pv_shift = (int8_t)shift;
    pv_mul = (uint32_t)((1000000000ULL << 32) / f);
}

/* System time: the same formula the guests' PV clocks use, from one TSC
 * origin, so it is monotonic and agrees with every vcpu_time_info. */
uint64_t arch_time_ns(void)
{
    if (!pv_mul)
        return 0;
    return scale_delta(rdtsc() - tsc_start);
}

void arch_pvclock_fill(struct vcpu_time_info *t)
{
    uint64_t tsc = rdtsc();
    t->tsc_timestamp = tsc;
    t->system_time = scale_delta(tsc - tsc_start);
    t->tsc_to_system_mul = pv_mul;
    t->tsc_shift = pv_shift;
    t->flags = XEN_PVCLOCK_TSC_STABLE_BIT; /* one origin; the CPUs' TSCs are taken as in step (QEMU, invariant TSCs) */
}

/* ---- CMOS RTC ---- */

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static unsigned int bcd(uint8_t v, int binary)
{
    return binary ? v : (v & 0xf) + (v >> 4) * 10;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static uint64_t days_from_civil(unsigned int y, unsigned int m, unsigned int d)
{
    y -= m <= 2;
    uint64_t era = y / 400, yoe = y - era * 400;
    uint64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void rtc_read_wallclock(void)
{
    uint8_t sec, min, hour, day, mon, year, cen, b;
    /* Wait (bounded) for no update in progress, then read twice until stable. */
    for (int tries = 0; tries < 5; tries++) {
        for (uint64_t i = 0; i < 1000000 && (cmos_read(0x0a) & 0x80); i++)
            ;
        sec = cmos_read(0x00); min = cmos_read(0x02); hour = cmos_read(0x04);
        day = cmos_read(0x07); mon = cmos_read(0x08); year = cmos_read(0x09);
        cen = cmos_read(0x32);
        if (sec == cmos_read(0x00))
            break;
    }
    b = cmos_read(0x0b);
    int binary = b & 0x04, h24 = b & 0x02;
    unsigned int h = bcd(hour & 0x7f, binary);
    if (!h24 && (hour & 0x80))
        h = (h % 12) + 12;
    else if (!h24 && h == 12)
        h = 0;
    unsigned int c = cen ? bcd(cen, binary) : 20;
    if (c < 19 || c > 30)
        c = 20;
    unsigned int y = c * 100 + bcd(year, binary);
    unsigned int m = bcd(mon, binary), dd = bcd(day, binary);
    if (m < 1 || m > 12 || dd < 1 || dd > 31) {
        printk("time: RTC reads nonsense (month %u, day %u); wallclock starts at 1970\n", m, dd);
        return;
    }
    uint64_t now_sec = days_from_civil(y, m, dd) * 86400 + h * 3600 + bcd(min, binary) * 60 +
                       bcd(sec, binary);
    /* Wallclock at system time 0 = RTC now - system time now. */
    uint64_t st = arch_time_ns();
    uint64_t wall_ns_hi = now_sec, st_s = st / 1000000000ULL, st_ns = st % 1000000000ULL;
    wc_base_sec = wall_ns_hi - st_s - (st_ns ? 1 : 0);
    wc_base_nsec = st_ns ? (uint32_t)(1000000000ULL - st_ns) : 0;
    printk("time: RTC %04u-%02u-%02u %02u:%02u:%02u UTC, wallclock base %lu.%09u\n", y, m, dd, h,
           bcd(min, binary), bcd(sec, binary), (unsigned long)wc_base_sec, wc_base_nsec);
}

void arch_wallclock_base(uint64_t *sec, uint32_t *nsec)
{
    *sec = wc_base_sec;
    *nsec = wc_base_nsec;
}

void arch_wallclock_set(uint64_t sec, uint32_t nsec)
{
    wc_base_sec = sec;
    wc_base_nsec = nsec;
}

/* The online CPUs (smp.c numbers them densely from 0). */
unsigned int arch_nr_cpus(void)
{
    return nr_cpus_online;
}

uint32_t arch_cpu_apic_id(unsigned int cpu)
{
    if (cpu == 0 && !percpu[0].apic_id)
        return apic_read(APIC_ID) >> 24; /* before smp_init */
    return cpu < nr_cpus_online ? percpu[cpu].apic_id : 0;
}

/* An AP's LAPIC timer (on the AP): one-shot like the boot CPU's, the
 * same divider (the boot CPU's calibration holds for it), disarmed. */
void apic_timer_init_ap(void)
{
    apic_write(APIC_TIMER_DIV, 0x3);
    apic_write(APIC_LVT_TIMER, VEC_TIMER);
    apic_write(APIC_TIMER_INIT, 0);
}

void apic_init(void)
{
    apic_write(APIC_LVT_TIMER, VEC_TIMER); /* one-shot, unmasked; armed per deadline */
    apic_write(APIC_TIMER_INIT, 0);        /* disarmed until the first deadline */
    printk("time: TSC %lu kHz, LAPIC timer one-shot (%u counts/ms)\n",
           (unsigned long)(tsc_freq / 1000), apic_per_ms);
}

/* Longest single arm: 1 s (counts stay far below 2^32 at any sane bus). */
#define ARM_MAX_NS 1000000000ULL
/* Arms further out than this land a little early on purpose (1/32 of the
 * wait) so an APIC running faster than calibrated is never late by more
 * than the error on the short re-arm that follows. */
#define EARLY_FROM_NS 200000ULL

/* The deadline this CPU's LAPIC counts toward (percpu: timer_deadline,
 * timer_armed); the scheduler arms it on every pass, so an unchanged
 * deadline is not written again. Cleared by the timer interrupt (it may
 * have fired early, see EARLY_FROM_NS). */
void arch_timer_arm(uint64_t deadline)
{
    struct percpu *pc = this_cpu();
    if (pc->timer_armed && deadline == pc->timer_deadline)
        return;
    pc->timer_armed = 1;
    pc->timer_deadline = deadline;
    uint64_t now = arch_time_ns();
    uint64_t delta = deadline > now ? deadline - now : 0;
    if (delta > ARM_MAX_NS)
        delta = ARM_MAX_NS;
    if (delta > EARLY_FROM_NS)
        delta -= delta / 32;
    uint64_t counts = delta * (apic_per_ms ? apic_per_ms : 100000) / 1000000ULL + 1;
    apic_write(APIC_TIMER_INIT, (uint32_t)counts);
}

void apic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

/* The scheduler runs every expired timer and re-arms the LAPIC right
 * after this (trap_entry's full path -> sched_pick_next, or the idle
 * loop): the interrupt is what sends the way back through it. */
void timer_interrupt(void);
void timer_interrupt(void)
{
    ticks++; /* under the big lock */
    this_cpu()->timer_armed = 0;
    sched_raise_work_local(); /* its own pass; what it wakes kicks others */
    apic_eoi();
}
