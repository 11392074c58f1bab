/*
 * time.c - the boot CPU's clocks: TSC calibrated against PIT channel 2,
 * and the local APIC's periodic tick. Owns: the PIT, the LAPIC timer.
 * Must never: wait on a device without a bound.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/layout.h>

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
static uint32_t apic_per_ms;
static volatile uint32_t *apic;
static volatile uint64_t ticks;

static uint32_t apic_read(unsigned int reg) { return apic[reg / 4]; }
static void apic_write(unsigned int reg, uint32_t v) { apic[reg / 4] = v; }

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
}

uint64_t tsc_hz(void) { return tsc_freq; }
uint64_t time_ticks(void) { return ticks; }

uint64_t arch_time_ns(void)
{
    if (!tsc_freq)
        return 0;
    uint64_t d = rdtsc() - tsc_start;
    return d / tsc_freq * 1000000000u + d % tsc_freq * 1000000000u / tsc_freq;
}

void apic_init(unsigned int hz)
{
    uint32_t count = apic_per_ms * 1000 / hz;
    apic_write(APIC_TIMER_INIT, count ? count : 100000);
    apic_write(APIC_LVT_TIMER, VEC_TIMER | (1 << 17)); /* periodic */
    printk("time: TSC %lu kHz, LAPIC timer %u Hz (%u counts/ms)\n",
           (unsigned long)(tsc_freq / 1000), hz, apic_per_ms);
}

void apic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

void timer_interrupt(void);
void timer_interrupt(void)
{
    ticks++;
    apic_eoi();
}

void arch_idle_wait(void)
{
    sti_hlt();
}
