/*
 * uart16550.c - the 16550A model of uart16550.h: registers, receive
 * FIFO, interrupt identification by priority (line status, received
 * data, transmitter empty, modem status), loopback as Linux's 8250
 * probe tests it. The transmitter never holds a byte: THR is empty again
 * at once, so its interrupt comes back after every write.
 * Owns: nothing beyond the struct it is given. Must never: block or
 * call anything but the tx callback.
 */
#include <stddef.h>
#include "uart16550.h"

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xc0 /* FIFOs enabled (FCR bit 0) */
#define LCR_DLAB   0x80

void uart_init(struct uart16550 *u, void (*tx)(void *ctx, uint8_t byte), void *ctx)
{
    *u = (struct uart16550){ .lsr = UART_LSR_THRE | UART_LSR_TEMT, .msr = 0xb0, .dll = 1,
                             .tx = tx, .ctx = ctx }; /* DCD, DSR, CTS: a cable is there */
}

static uint8_t iir(const struct uart16550 *u)
{
    uint8_t id = IIR_NO_INT;
    if ((u->ier & UART_IER_RLSI) && (u->lsr & UART_LSR_OE))
        id = IIR_RLSI;
    else if ((u->ier & UART_IER_RDI) && u->rx_len)
        id = IIR_RDI;
    else if ((u->ier & UART_IER_THRI) && u->thr_ipending)
        id = IIR_THRI;
    else if ((u->ier & UART_IER_MSI) && (u->msr & 0x0f))
        id = IIR_MSI;
    return (uint8_t)(id | ((u->fcr & 1) ? IIR_FIFO : 0));
}

int uart_irq_level(const struct uart16550 *u)
{
    return !(iir(u) & IIR_NO_INT);
}

unsigned int uart_rx_room(const struct uart16550 *u)
{
    return UART_FIFO - u->rx_len;
}

int uart_receive(struct uart16550 *u, uint8_t byte)
{
    unsigned int depth = (u->fcr & 1) ? UART_FIFO : 1; /* no FIFO: one holding register */
    if (u->rx_len >= depth) {
        u->lsr |= UART_LSR_OE;
        return 0;
    }
    u->rx[(u->rx_head + u->rx_len) % UART_FIFO] = byte;
    u->rx_len++;
    return 1;
}

/* MSR in loopback: the modem inputs follow MCR's outputs. */
static uint8_t msr(const struct uart16550 *u)
{
    if (!(u->mcr & UART_MCR_LOOP))
        return u->msr;
    uint8_t m = 0;
    if (u->mcr & 0x02) m |= 0x10; /* RTS -> CTS */
    if (u->mcr & 0x01) m |= 0x20; /* DTR -> DSR */
    if (u->mcr & 0x04) m |= 0x40; /* OUT1 -> RI */
    if (u->mcr & 0x08) m |= 0x80; /* OUT2 -> DCD */
    return m;
}

uint8_t uart_read(struct uart16550 *u, unsigned int off)
{
    switch (off & 7) {
    case UART_RBR: {
        if (u->lcr & LCR_DLAB)
            return u->dll;
        if (!u->rx_len)
            return 0;
        uint8_t b = u->rx[u->rx_head];
        u->rx_head = (uint8_t)((u->rx_head + 1) % UART_FIFO);
        u->rx_len--;
        return b;
    }
    case UART_IER:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case UART_IIR: {
        uint8_t id = iir(u);
        if ((id & 0x0f) == IIR_THRI)
            u->thr_ipending = 0; /* reading IIR with THRE the source clears it */
        return id;
    }
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR: {
        uint8_t l = (uint8_t)(u->lsr | (u->rx_len ? UART_LSR_DR : 0));
        u->lsr &= (uint8_t)~UART_LSR_OE; /* errors clear on read */
        return l;
    }
    case UART_MSR:
        return msr(u);
    default:
        return u->scr;
    }
}

void uart_write(struct uart16550 *u, unsigned int off, uint8_t val)
{
    switch (off & 7) {
    case UART_RBR: /* THR */
        if (u->lcr & LCR_DLAB) {
            u->dll = val;
            return;
        }
        if (u->mcr & UART_MCR_LOOP)
            uart_receive(u, val);
        else if (u->tx)
            u->tx(u->ctx, val);
        u->thr_ipending = 1; /* sent at once: THR empty again */
        return;
    case UART_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = val;
            return;
        }
        /* Enabling THRI while THR is empty raises it (as the 8250's
         * probe for the THRE bug expects). */
        if ((val & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
            u->thr_ipending = 1;
        u->ier = val & 0x0f;
        return;
    case UART_IIR: /* FCR */
        if (val & 0x02) { /* clear the receive FIFO */
            u->rx_len = 0;
            u->rx_head = 0;
        }
        u->fcr = val & 0xc9;
        return;
    case UART_LCR:
        u->lcr = val;
        return;
    case UART_MCR:
        u->mcr = val & 0x1f;
        return;
    case UART_LSR:
    case UART_MSR:
        return; /* read-only (factory test registers) */
    default:
        u->scr = val;
        return;
    }
}
