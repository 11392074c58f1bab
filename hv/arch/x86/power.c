/*
 * power.c - ending the machine: QEMU's isa-debug-exit first (tests and
 * `make run` read its status), then the PC's reset or a halt loop.
 * Owns: port 0xf4. Must never: return.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/power.h>
#include <xenolith/serial.h>

void arch_halt_machine(int status)
{
    cli();
    printk("uptime %lu ms, %lu LAPIC timer ticks\n", (unsigned long)(arch_time_ns() / 1000000),
           (unsigned long)time_ticks());
    serial_drain();
    outl(0xf4, (uint32_t)status); /* isa-debug-exit: QEMU exits (status << 1) | 1 */
    if (status == XL_EXIT_REBOOT)
        outb(0x64, 0xfe);         /* 8042 pulse reset line */
    for (;;)
        halt();
}
