/*
 * test_uart16550.c - the dom0 device model's 16550A (cmocka, ASan/UBSan):
 * what Linux's 8250 driver does to it - the probe (scratch, IER, loopback
 * MSR, FIFO detection), the THRE-interrupt test, polled console output,
 * interrupt-driven receive and transmit - and the IRQ line's level at
 * every step.
 * Links: toolstack/dom0svc/uart16550.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../toolstack/dom0svc/uart16550.h"

static char out[64];
static unsigned int nout;

static void tx(void *ctx, uint8_t b)
{
    (void)ctx;
    if (nout < sizeof(out))
        out[nout++] = (char)b;
}

static struct uart16550 u;

static int setup(void **state)
{
    (void)state;
    nout = 0;
    memset(out, 0, sizeof(out));
    uart_init(&u, tx, NULL);
    return 0;
}

/* autoconfig's checks, in its order. */
static void test_probe(void **state)
{
    (void)state;
    uart_write(&u, UART_SCR, 0xa5);
    assert_int_equal(uart_read(&u, UART_SCR), 0xa5);
    uart_write(&u, UART_IER, 0);
    assert_int_equal(uart_read(&u, UART_IER) & 0x0f, 0);
    uart_write(&u, UART_IER, 0x0f);
    assert_int_equal(uart_read(&u, UART_IER) & 0x0f, 0x0f);
    uart_write(&u, UART_IER, 0x4f); /* the XScale UUE bit does not stick */
    assert_int_equal(uart_read(&u, UART_IER), 0x0f);
    uart_write(&u, UART_IER, 0);
    /* loopback: MSR's top nibble follows MCR (LOOP | OUT2 | RTS -> DCD | CTS) */
    uart_write(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
    assert_int_equal(uart_read(&u, UART_MSR) & 0xf0, 0x90);
    uart_write(&u, UART_MCR, 0);
    assert_int_equal(uart_read(&u, UART_MSR) & 0xf0, 0xb0);
    /* FIFO: IIR's top bits say 16550A once FCR enables it */
    assert_int_equal(uart_read(&u, UART_IIR) & 0xc0, 0);
    uart_write(&u, UART_IIR, 0x01);
    assert_int_equal(uart_read(&u, UART_IIR) & 0xc0, 0xc0);
    /* DLAB: divisor latch at 0/1, IIR (never 0) at 2 */
    uart_write(&u, UART_LCR, 0x80);
    uart_write(&u, UART_RBR, 0x01);
    uart_write(&u, UART_IER, 0x00);
    assert_int_equal(uart_read(&u, UART_RBR), 0x01);
    assert_int_equal(uart_read(&u, UART_IER), 0x00);
    assert_int_not_equal(uart_read(&u, UART_IIR), 0);
    uart_write(&u, UART_LCR, 0x03);
    assert_int_equal(nout, 0); /* nothing sent while probing */
    assert_int_equal(uart_irq_level(&u), 0);
}

/* The 8250's UART_BUG_THRE test and interrupt-driven transmit. */
static void test_thre(void **state)
{
    (void)state;
    uart_write(&u, UART_IER, UART_IER_THRI);
    assert_int_equal(uart_irq_level(&u), 1);
    assert_int_equal(uart_read(&u, UART_IIR) & 0x0f, 0x02);
    assert_int_equal(uart_irq_level(&u), 0); /* reading IIR cleared it */
    assert_int_equal(uart_read(&u, UART_IIR) & 0x0f, 0x01);
    uart_write(&u, UART_IER, 0);
    uart_write(&u, UART_IER, UART_IER_THRI); /* enabled again: raised again */
    assert_int_equal(uart_read(&u, UART_IIR) & 0x0f, 0x02);
    uart_write(&u, UART_RBR, 'h');
    assert_int_equal(uart_irq_level(&u), 1); /* sent at once: empty again */
    uart_write(&u, UART_RBR, 'i');
    assert_int_equal(nout, 2);
    assert_memory_equal(out, "hi", 2);
    uart_write(&u, UART_IER, 0);
    assert_int_equal(uart_irq_level(&u), 0);
}

/* Polled console output: LSR says THRE/TEMT before every byte. */
static void test_polled_output(void **state)
{
    (void)state;
    const char *s = "Linux version\r\n";
    for (const char *p = s; *p; p++) {
        assert_int_equal(uart_read(&u, UART_LSR) & 0x60, 0x60);
        uart_write(&u, UART_RBR, (uint8_t)*p);
    }
    assert_int_equal(nout, strlen(s));
    assert_memory_equal(out, s, strlen(s));
    assert_int_equal(uart_irq_level(&u), 0); /* IER 0: no interrupt */
}

/* Receive: RDI raises the line with data there, RBR drains in order,
 * the FIFO's depth holds and an overrun is reported once. */
static void test_receive(void **state)
{
    (void)state;
    uart_write(&u, UART_IIR, 0x07); /* FIFO on, both cleared */
    uart_write(&u, UART_IER, UART_IER_RDI | UART_IER_RLSI);
    assert_int_equal(uart_irq_level(&u), 0);
    assert_int_equal(uart_receive(&u, 'l'), 1);
    assert_int_equal(uart_receive(&u, 's'), 1);
    assert_int_equal(uart_irq_level(&u), 1);
    assert_int_equal(uart_read(&u, UART_IIR) & 0x0f, 0x04);
    assert_int_equal(uart_read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    assert_int_equal(uart_read(&u, UART_RBR), 'l');
    assert_int_equal(uart_read(&u, UART_RBR), 's');
    assert_int_equal(uart_read(&u, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(uart_irq_level(&u), 0);
    for (int i = 0; i < UART_FIFO; i++)
        assert_int_equal(uart_receive(&u, (uint8_t)('a' + i)), 1);
    assert_int_equal(uart_rx_room(&u), 0);
    assert_int_equal(uart_receive(&u, '!'), 0);
    assert_int_equal(uart_read(&u, UART_IIR) & 0x0f, 0x06); /* line status first */
    assert_int_equal(uart_read(&u, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
    assert_int_equal(uart_read(&u, UART_LSR) & UART_LSR_OE, 0); /* cleared by the read */
    assert_int_equal(uart_read(&u, UART_IIR) & 0x0f, 0x04);
    assert_int_equal(uart_read(&u, UART_RBR), 'a');
    uart_write(&u, UART_IIR, 0x03); /* FCR: clear the receive FIFO */
    assert_int_equal(uart_rx_room(&u), UART_FIFO);
    assert_int_equal(uart_irq_level(&u), 0);
    /* no FIFO: a single holding register */
    uart_write(&u, UART_IIR, 0x00);
    assert_int_equal(uart_receive(&u, 'x'), 1);
    assert_int_equal(uart_receive(&u, 'y'), 0);
}

/* Loopback: a byte written comes back in, nothing goes out. */
static void test_loopback(void **state)
{
    (void)state;
    uart_write(&u, UART_MCR, UART_MCR_LOOP);
    uart_write(&u, UART_RBR, 0x5a);
    assert_int_equal(nout, 0);
    assert_int_equal(uart_read(&u, UART_RBR), 0x5a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_probe, setup),
        cmocka_unit_test_setup(test_thre, setup),
        cmocka_unit_test_setup(test_polled_output, setup),
        cmocka_unit_test_setup(test_receive, setup),
        cmocka_unit_test_setup(test_loopback, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
