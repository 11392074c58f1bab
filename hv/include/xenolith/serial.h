/* serial.h - COM1 access for the console (hv/arch/x86/serial.c). */
#ifndef XENOLITH_SERIAL_H
#define XENOLITH_SERIAL_H
void serial_init(void);
int serial_getc(void);     /* a received byte, or -1 if none is waiting */
void serial_drain(void);   /* wait until the transmitter is empty */
void serial_enable_rx_irq(void); /* input raises VIRQ_CONSOLE for dom0 */
void serial_interrupt(void);  /* VEC_SERIAL: take the bytes, wake dom0 */
#endif
