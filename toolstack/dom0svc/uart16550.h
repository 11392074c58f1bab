/*
 * uart16550.h - a 16550A UART as a device model emulates it for an HVM
 * guest (the 8 registers at a port base such as 0x3f8): the register
 * file, 16-byte FIFOs, the interrupt identification and its one IRQ line.
 * Pure logic, host-tested (tests/unit/test_uart16550.c); the device
 * model (dm.c) feeds it port accesses and host input and moves its
 * output and IRQ level on.
 * Owns: struct uart16550. Must never: block, or lose a transmitted byte
 * (the transmitter is infinitely fast: a byte written is output at once).
 */
#ifndef DOM0_UART16550_H
#define DOM0_UART16550_H

#include <stdint.h>

#define UART_FIFO 16

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0 and 1). */
#define UART_RBR 0 /* in: receive buffer; out: THR */
#define UART_IER 1
#define UART_IIR 2 /* in: interrupt id; out: FCR */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01 /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MCR_OUT2 0x08 /* on a PC: gates the IRQ line */
#define UART_MCR_LOOP 0x10

struct uart16550 {
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint8_t dll, dlm;
    uint8_t thr_ipending;           /* THRE interrupt pending (cleared by reading IIR or a write) */
    uint8_t rx[UART_FIFO];
    uint8_t rx_head, rx_len;
    /* Output of the device: the bytes the guest transmitted. */
    void (*tx)(void *ctx, uint8_t byte);
    void *ctx;
};

void uart_init(struct uart16550 *u, void (*tx)(void *ctx, uint8_t byte), void *ctx);
/* A guest access to register off (0..7). */
uint8_t uart_read(struct uart16550 *u, unsigned int off);
void uart_write(struct uart16550 *u, unsigned int off, uint8_t val);
/* A byte from the host side (the console): 0 if the FIFO is full. */
int uart_receive(struct uart16550 *u, uint8_t byte);
/* Room in the receive FIFO. */
unsigned int uart_rx_room(const struct uart16550 *u);
/* The IRQ line's level now (an interrupt condition enabled, OUT2 set). */
int uart_irq_level(const struct uart16550 *u);

#endif
