/*
 * serial.c - the COM1 16550 UART: the hypervisor's user interface.
 * Owns: port 0x3f8, its receive ring and the I/O APIC entry of its IRQ 4.
 * Must never: block forever (a missing UART just drops output after a
 * bounded wait).
 */
#include <arch/x86.h>
#include <xenolith/console.h>
#include <xenolith/arch.h>
#include <xenolith/event.h>
#include <xenolith/layout.h>
#include <xenolith/serial.h>
#include <xen/xen.h>

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

/* Bytes taken from the UART by its interrupt, until dom0 reads them with
 * CONSOLEIO_read (as Xen's serial rx ring). */
#define RX_RING 1024
static char rx_ring[RX_RING];
static uint32_t rx_prod, rx_cons;

static void rx_drain_uart(void)
{
    for (int i = 0; i < 64 && (inb(COM1 + 5) & 0x01); i++) {
        char c = (char)inb(COM1);
        if (rx_prod - rx_cons < RX_RING)
            rx_ring[rx_prod++ % RX_RING] = c;
    }
}

int serial_getc(void)
{
    rx_drain_uart();
    if (rx_prod == rx_cons)
        return -1;
    return (unsigned char)rx_ring[rx_cons++ % RX_RING];
}

/* Input wakes dom0's console (VIRQ_CONSOLE), as on Xen: COM1's IRQ 4
 * through the I/O APIC (ISA IRQ 4 is GSI 4 on the PC and q35 machines),
 * edge-triggered to the boot CPU; the bytes wait in the ring. */
#define IOAPIC_BASE 0xfec00000ULL
static void ioapic_write(unsigned int reg, uint32_t val)
{
    volatile uint32_t *io = (volatile uint32_t *)(DIRECTMAP_BASE + IOAPIC_BASE);
    io[0] = reg;
    io[4] = val;
}

void serial_enable_rx_irq(void)
{
    ioapic_write(0x10 + 2 * 4 + 1, 0);          /* destination: APIC id 0 */
    ioapic_write(0x10 + 2 * 4, VEC_SERIAL);     /* fixed, edge, active high, unmasked */
    outb(COM1 + 4, 0x0b);                       /* DTR, RTS, OUT2 (the IRQ line) */
    outb(COM1 + 1, 0x01);                       /* receive-data interrupt */
    rx_drain_uart();
}

void serial_interrupt(void)
{
    inb(COM1 + 2); /* IIR: acknowledge */
    rx_drain_uart();
    if (rx_prod != rx_cons)
        send_global_virq(VIRQ_CONSOLE);
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
