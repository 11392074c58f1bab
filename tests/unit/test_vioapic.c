/*
 * test_vioapic.c - host unit tests for the I/O APIC model (cmocka,
 * ASan/UBSan): reset state, ID/version/arbitration registers, the
 * redirection table through IOREGSEL/IOWIN (read-only bits, byte
 * accesses), edge detection, masking (edges lost, level pins held), the
 * level remote-IRR/EOI handshake, re-delivery of still-asserted lines,
 * and random guest accesses.
 * Links: hv/arch/x86/hvm/vioapic.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/hvm_dev.h>

static unsigned int delivered;
static struct vioapic_irq last;

static void cb_deliver(void *ctx, const struct vioapic_irq *irq)
{
    (void)ctx;
    delivered++;
    last = *irq;
}

static const struct vioapic_cb cbs = { NULL, cb_deliver };

static uint32_t rd(struct vioapic *io, uint8_t reg)
{
    vioapic_write(io, VIOAPIC_REGSEL, 4, reg);
    return vioapic_read(io, VIOAPIC_WIN, 4);
}

static void wr(struct vioapic *io, uint8_t reg, uint32_t v)
{
    vioapic_write(io, VIOAPIC_REGSEL, 4, reg);
    vioapic_write(io, VIOAPIC_WIN, 4, v);
}

static void set_rte(struct vioapic *io, unsigned int pin, uint64_t e)
{
    wr(io, (uint8_t)(0x11 + 2 * pin), (uint32_t)(e >> 32));
    wr(io, (uint8_t)(0x10 + 2 * pin), (uint32_t)e);
}

static void setup(struct vioapic *io)
{
    delivered = 0;
    memset(&last, 0, sizeof(last));
    vioapic_init(io, 2, &cbs);
}

static void test_reset_and_ids(void **state)
{
    (void)state;
    struct vioapic io;
    setup(&io);
    assert_int_equal(rd(&io, 0), 2u << 24);
    assert_int_equal(rd(&io, 1), 0x00170011);        /* 24 pins: max entry 23 */
    assert_int_equal(rd(&io, 2), 2u << 24);
    for (unsigned int pin = 0; pin < 24; pin++) {
        assert_int_equal(rd(&io, (uint8_t)(0x10 + 2 * pin)), 0x10000); /* masked */
        assert_int_equal(rd(&io, (uint8_t)(0x11 + 2 * pin)), 0);
    }
    wr(&io, 0, 0xFFFFFFFF);
    assert_int_equal(rd(&io, 0), 0x0F000000);
    wr(&io, 1, 0);
    wr(&io, 2, 0);
    assert_int_equal(rd(&io, 1), 0x00170011);
    /* past the table: reads 0, writes go nowhere */
    wr(&io, 0x40, 0x12345678);
    assert_int_equal(rd(&io, 0x40), 0);
    assert_int_equal(rd(&io, 0xFF), 0);
    assert_int_equal(rd(&io, 3), 0);
    /* IOREGSEL reads back */
    vioapic_write(&io, 0, 1, 0x21);
    assert_int_equal(vioapic_read(&io, 0, 4), 0x21);
    /* other offsets read 0 */
    assert_int_equal(vioapic_read(&io, 0x20, 4), 0);
    assert_int_equal(vioapic_read(&io, 0x40, 4), 0);
}

static void test_rte_bits(void **state)
{
    (void)state;
    struct vioapic io;
    setup(&io);
    wr(&io, 0x10 + 2 * 5, 0xFFFFFFFF);
    assert_int_equal(rd(&io, 0x10 + 2 * 5), 0x1AFFF); /* status, remote IRR RO */
    wr(&io, 0x11 + 2 * 5, 0xFFFFFFFF);
    assert_int_equal(rd(&io, 0x11 + 2 * 5), 0xFF000000);
    /* a byte write of IOWIN merges: unmask (bit 16 is in byte 2) */
    vioapic_write(&io, VIOAPIC_REGSEL, 1, 0x10 + 2 * 5);
    vioapic_write(&io, VIOAPIC_WIN + 2, 1, 0x00);
    assert_int_equal(rd(&io, 0x10 + 2 * 5), 0x0AFFF);
    assert_int_equal(vioapic_read(&io, VIOAPIC_WIN + 1, 1), 0xAF);
    assert_int_equal(vioapic_read(&io, VIOAPIC_WIN + 1, 2), 0xAF);
    assert_int_equal(vioapic_read(&io, VIOAPIC_WIN + 3, 2), 0);   /* straddles */
    assert_int_equal(vioapic_read(&io, VIOAPIC_WIN, 8), 0xFFFFFFFFu);
    vioapic_write(&io, VIOAPIC_WIN, 8, 0);                        /* ignored */
    assert_int_equal(rd(&io, 0x10 + 2 * 5), 0x0AFFF);
}

static void test_edge(void **state)
{
    (void)state;
    struct vioapic io;
    setup(&io);
    vioapic_set_irq(&io, 2, 1);                      /* masked: lost */
    vioapic_set_irq(&io, 2, 0);
    assert_int_equal(delivered, 0);
    set_rte(&io, 2, (3ULL << 56) | 0x30);            /* edge, physical dest 3 */
    assert_int_equal(delivered, 0);                  /* the lost edge stays lost */
    vioapic_set_irq(&io, 2, 1);
    assert_int_equal(delivered, 1);
    assert_int_equal(last.pin, 2);
    assert_int_equal(last.vector, 0x30);
    assert_int_equal(last.dest, 3);
    assert_int_equal(last.dest_logical, 0);
    assert_int_equal(last.level_trigger, 0);
    assert_int_equal(last.delivery_mode, 0);
    vioapic_set_irq(&io, 2, 1);                      /* no new edge */
    assert_int_equal(delivered, 1);
    vioapic_set_irq(&io, 2, 0);
    vioapic_set_irq(&io, 2, 1);
    assert_int_equal(delivered, 2);
    assert_int_equal(rd(&io, 0x14) & VIOAPIC_RTE_REMOTE_IRR, 0);
    /* an EOI for an edge vector does nothing */
    vioapic_eoi(&io, 0x30);
    assert_int_equal(delivered, 2);
    /* logical, lowest priority */
    set_rte(&io, 4, (0x0FULL << 56) | VIOAPIC_RTE_DESTLOG | (1 << 8) | 0x41);
    vioapic_set_irq(&io, 4, 1);
    assert_int_equal(last.pin, 4);
    assert_int_equal(last.dest, 0x0F);
    assert_int_equal(last.dest_logical, 1);
    assert_int_equal(last.delivery_mode, 1);
    /* pins past 23 are ignored */
    vioapic_set_irq(&io, 24, 1);
    vioapic_set_irq(&io, 1000, 1);
    assert_int_equal(delivered, 3);
}

static void test_level_remote_irr(void **state)
{
    (void)state;
    struct vioapic io;
    setup(&io);
    set_rte(&io, 9, VIOAPIC_RTE_LEVEL | 0x51);
    vioapic_set_irq(&io, 9, 1);
    assert_int_equal(delivered, 1);
    assert_int_equal(last.level_trigger, 1);
    assert_true(rd(&io, 0x10 + 18) & VIOAPIC_RTE_REMOTE_IRR);
    /* still asserted, remote IRR set: no second delivery */
    vioapic_set_irq(&io, 9, 1);
    vioapic_set_irq(&io, 9, 0);
    vioapic_set_irq(&io, 9, 1);
    assert_int_equal(delivered, 1);
    /* EOI of another vector does nothing */
    vioapic_eoi(&io, 0x52);
    assert_true(rd(&io, 0x10 + 18) & VIOAPIC_RTE_REMOTE_IRR);
    /* EOI while still asserted: delivered again */
    vioapic_eoi(&io, 0x51);
    assert_int_equal(delivered, 2);
    assert_true(rd(&io, 0x10 + 18) & VIOAPIC_RTE_REMOTE_IRR);
    /* deassert, EOI: remote IRR clear, nothing delivered */
    vioapic_set_irq(&io, 9, 0);
    vioapic_eoi(&io, 0x51);
    assert_int_equal(delivered, 2);
    assert_int_equal(rd(&io, 0x10 + 18) & VIOAPIC_RTE_REMOTE_IRR, 0);
    /* the guest cannot write remote IRR */
    wr(&io, 0x10 + 18, VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_REMOTE_IRR | 0x51);
    assert_int_equal(rd(&io, 0x10 + 18) & VIOAPIC_RTE_REMOTE_IRR, 0);
    /* masked level pin: held, delivered when unmasked */
    wr(&io, 0x10 + 18, VIOAPIC_RTE_MASKED | VIOAPIC_RTE_LEVEL | 0x51);
    vioapic_set_irq(&io, 9, 1);
    assert_int_equal(delivered, 2);
    wr(&io, 0x10 + 18, VIOAPIC_RTE_LEVEL | 0x51);
    assert_int_equal(delivered, 3);
    /* switching the pin to edge clears remote IRR */
    wr(&io, 0x10 + 18, 0x51);
    assert_int_equal(rd(&io, 0x10 + 18) & VIOAPIC_RTE_REMOTE_IRR, 0);
    assert_int_equal(delivered, 3);
    /* two level pins sharing a vector: one EOI serves both */
    set_rte(&io, 10, VIOAPIC_RTE_LEVEL | 0x60);
    set_rte(&io, 11, VIOAPIC_RTE_LEVEL | 0x60);
    vioapic_set_irq(&io, 10, 1);
    vioapic_set_irq(&io, 11, 1);
    assert_int_equal(delivered, 5);
    vioapic_set_irq(&io, 10, 0);
    vioapic_eoi(&io, 0x60);
    assert_int_equal(delivered, 6);
    assert_int_equal(last.pin, 11);
}

static void test_random_access(void **state)
{
    (void)state;
    struct vioapic io;
    setup(&io);
    srand(99);
    for (int i = 0; i < 200000; i++) {
        uint32_t off = (uint32_t)rand() % 0x1100;
        unsigned int size = 1u << (rand() % 4);
        if ((rand() & 3) == 0)
            off &= 0x1F;
        switch (rand() % 4) {
        case 0: vioapic_write(&io, off, size, (uint32_t)rand() * 13u); break;
        case 1: (void)vioapic_read(&io, off, size); break;
        case 2: vioapic_set_irq(&io, (unsigned int)rand() % 30, rand() & 1); break;
        default: vioapic_eoi(&io, (uint8_t)rand()); break;
        }
        for (unsigned int p = 0; p < 24; p++)
            assert_int_equal(io.rte[p] & ~0xFF0000000001FFFFULL, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_and_ids),
        cmocka_unit_test(test_rte_bits),
        cmocka_unit_test(test_edge),
        cmocka_unit_test(test_level_remote_irr),
        cmocka_unit_test(test_random_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
