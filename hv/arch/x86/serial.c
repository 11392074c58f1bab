/*
 * serial.c - the COM1 16550 UART: the hypervisor's user interface.
 * Owns: port 0x3f8. Must never: block forever (a missing UART just drops
 * output after a bounded wait).
 */
#include <arch/x86.h>
#include <xenolith/console.h>
#include <xenolith/serial.h>

#define COM1 0x3f8

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8n1 */
    outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void serial_putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        pause();
    outb(COM1, (uint8_t)c);
}

void arch_console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}

int serial_getc(void)
{
    if (!(inb(COM1 + 5) & 0x01))
        return -1;
    return inb(COM1);
}

/* Wait for the transmitter to empty, then 5 ms more: QEMU's 16550 drains
 * its FIFO on a baud-rate timer and was seen to lose the last bytes when
 * the machine ended right after TEMT (16 bytes at 115200 baud = 1.4 ms). */
void serial_drain(void)
{
    for (int i = 0; i < 1000000 && !(inb(COM1 + 5) & 0x40); i++)
        pause();
    uint64_t until = arch_time_ns() + 5000000;
    while (arch_time_ns() < until)
        pause();
}
