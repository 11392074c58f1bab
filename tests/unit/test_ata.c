/*
 * test_ata.c - the dom0 device model's IDE disk (cmocka, ASan/UBSan):
 * what libata's SFF code does to it - the device check, reset and
 * signature, IDENTIFY, PIO reads and writes one interrupt per DRQ block,
 * READ/WRITE MULTIPLE, LBA28/LBA48/CHS addressing - and the errors: out
 * of range, read-only, unsupported commands, a failing backend, a reset
 * with an io out. The backend is an in-memory image whose io only
 * records the request; the test answers it with complete().
 * Links: toolstack/dom0svc/ata.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include "../../toolstack/dom0svc/ata.h"

#define IMG_SECTORS 4096u
#define ST_IDLE     (ATA_ST_DRDY | ATA_ST_DSC)

static uint8_t img[IMG_SECTORS * ATA_SECTOR];

static struct {
    uint64_t nsectors;      /* the disk's size; beyond IMG_SECTORS reads are patterned */
    int calls;              /* io calls */
    int out;                /* an io waits for complete() */
    enum ata_io_op op;
    uint64_t lba;
    unsigned int nsect;
    uint8_t *buf;
    int ret;                /* what io returns */
    int level;              /* the pin as be->irq reported it */
    int rises;              /* be->irq(1) calls */
    int irq_calls;
} fk;

static struct ata_channel ch;

/* Sector contents of the big (patterned) disks. */
static uint8_t pat(uint64_t lba, unsigned int i)
{
    return (uint8_t)(lba * 131u + (lba >> 24) * 29u + (lba >> 32) * 17u + i * 7u + (i >> 8) + 1u);
}

static int fake_io(void *ctx, enum ata_io_op op, uint64_t lba, unsigned int nsect, uint8_t *buf)
{
    assert_ptr_equal(ctx, &fk);
    assert_false(fk.out); /* never two ios out */
    fk.calls++;
    fk.op = op;
    fk.lba = lba;
    fk.nsect = nsect;
    fk.buf = buf;
    if (op == ATA_IO_FLUSH) {
        assert_int_equal(nsect, 0);
    } else {
        assert_true(nsect >= 1 && nsect <= ATA_BUF_SECTORS);
        assert_true(lba + nsect <= fk.nsectors); /* never beyond the disk */
        assert_true(buf >= ch.buf && buf + nsect * ATA_SECTOR <= ch.buf + sizeof(ch.buf));
    }
    if (fk.ret < 0)
        return fk.ret;
    fk.out = 1;
    return 0;
}

static void fake_irq(void *ctx, int level)
{
    assert_ptr_equal(ctx, &fk);
    assert_int_not_equal(level, fk.level); /* only changes are reported */
    fk.level = level;
    fk.irq_calls++;
    if (level)
        fk.rises++;
}

static const struct ata_backend be = { .ctx = &fk, .io = fake_io, .irq = fake_irq };

/* Do the io that is out and answer it with status. */
static void complete(int status)
{
    assert_true(fk.out);
    fk.out = 0;
    if (status == 0 && fk.op != ATA_IO_FLUSH) {
        for (unsigned int s = 0; s < fk.nsect; s++) {
            uint64_t lba = fk.lba + s;
            uint8_t *b = fk.buf + s * ATA_SECTOR;
            if (lba < IMG_SECTORS) {
                if (fk.op == ATA_IO_READ)
                    memcpy(b, img + lba * ATA_SECTOR, ATA_SECTOR);
                else
                    memcpy(img + lba * ATA_SECTOR, b, ATA_SECTOR);
            } else {
                assert_int_equal(fk.op, ATA_IO_READ);
                for (unsigned int i = 0; i < ATA_SECTOR; i++)
                    b[i] = pat(lba, i);
            }
        }
    }
    ata_io_done(&ch, status);
}

static void disk(uint64_t nsectors, int readonly)
{
    memset(&fk, 0, sizeof(fk));
    fk.nsectors = nsectors;
    for (unsigned int s = 0; s < IMG_SECTORS; s++)
        for (unsigned int i = 0; i < ATA_SECTOR; i++)
            img[s * ATA_SECTOR + i] = pat(s, i);
    ata_init(&ch, &be, nsectors, readonly, "XENOLITH HARDDISK", "XL-0001");
}

static int setup(void **state)
{
    (void)state;
    disk(IMG_SECTORS, 0);
    return 0;
}

static uint8_t inb(unsigned int reg)
{
    return (uint8_t)ata_read(&ch, reg, 1);
}

static void outb(unsigned int reg, uint8_t v)
{
    ata_write(&ch, reg, 1, v);
}

/* ata_sff_tf_load + exec_command, LBA28 (device 0xe0) or CHS (0xa0). */
static void issue28(uint8_t cmd, uint32_t lba, uint8_t count)
{
    outb(ATA_REG_NSECT, count);
    outb(ATA_REG_LBAL, (uint8_t)lba);
    outb(ATA_REG_LBAM, (uint8_t)(lba >> 8));
    outb(ATA_REG_LBAH, (uint8_t)(lba >> 16));
    outb(ATA_REG_DEVICE, (uint8_t)(0xe0 | ((lba >> 24) & 0x0f)));
    outb(ATA_REG_STATUS, cmd);
}

static void issue48(uint8_t cmd, uint64_t lba, uint16_t count)
{
    outb(ATA_REG_NSECT, (uint8_t)(count >> 8));
    outb(ATA_REG_LBAL, (uint8_t)(lba >> 24));
    outb(ATA_REG_LBAM, (uint8_t)(lba >> 32));
    outb(ATA_REG_LBAH, (uint8_t)(lba >> 40));
    outb(ATA_REG_NSECT, (uint8_t)count);
    outb(ATA_REG_LBAL, (uint8_t)lba);
    outb(ATA_REG_LBAM, (uint8_t)(lba >> 8));
    outb(ATA_REG_LBAH, (uint8_t)(lba >> 16));
    outb(ATA_REG_DEVICE, 0xe0);
    outb(ATA_REG_STATUS, cmd);
}

static void set_features(uint8_t feature, uint8_t nsect)
{
    outb(ATA_REG_ERROR, feature);
    outb(ATA_REG_NSECT, nsect);
    outb(ATA_REG_DEVICE, 0xa0);
    outb(ATA_REG_STATUS, 0xef);
}

/* One DRQ block in with accesses of size bytes (rep insw / insl). */
static void read_block(uint8_t *dst, unsigned int bytes, unsigned int size)
{
    for (unsigned int i = 0; i < bytes; i += size) {
        uint32_t v = ata_read(&ch, ATA_REG_DATA, size);
        for (unsigned int b = 0; b < size; b++)
            dst[i + b] = (uint8_t)(v >> (8 * b));
    }
}

static void write_block(const uint8_t *src, unsigned int bytes, unsigned int size)
{
    for (unsigned int i = 0; i < bytes; i += size) {
        uint32_t v = 0;
        for (unsigned int b = 0; b < size; b++)
            v |= (uint32_t)src[i + b] << (8 * b);
        ata_write(&ch, ATA_REG_DATA, size, v);
    }
}

/* The interrupt handler's view of a data-in block: INTRQ up, DRQ, then
 * the status read drops INTRQ. */
static void expect_drq_irq(void)
{
    assert_int_equal(fk.level, 1);
    assert_int_equal(ata_irq_level(&ch), 1);
    assert_int_equal(inb(ATA_REG_CTL), ST_IDLE | ATA_ST_DRQ); /* alt status keeps INTRQ */
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE | ATA_ST_DRQ);
    assert_int_equal(fk.level, 0);
}

static void expect_abort(uint8_t error)
{
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_CTL), ATA_ST_DRDY | ATA_ST_ERR);
    assert_int_equal(inb(ATA_REG_ERROR), error);
    assert_int_equal(inb(ATA_REG_STATUS), ATA_ST_DRDY | ATA_ST_ERR);
    assert_int_equal(fk.level, 0);
}

static void identify(uint16_t id[256], unsigned int size)
{
    uint8_t raw[512];
    int calls = fk.calls;
    outb(ATA_REG_DEVICE, 0xa0);
    outb(ATA_REG_STATUS, 0xec);
    assert_int_equal(fk.calls, calls); /* IDENTIFY needs no io */
    expect_drq_irq();
    read_block(raw, sizeof(raw), size);
    for (unsigned int i = 0; i < 256; i++)
        id[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE); /* data-in ends without INTRQ */
    assert_int_equal(fk.level, 0);
}

/* ------------------------------------------------------------------ */

/* Power-on: the ATA signature and DRDY|DSC; ata_devchk's patterns stick. */
static void test_power_on(void **state)
{
    (void)state;
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_CTL), ST_IDLE);
    assert_int_equal(inb(ATA_REG_ERROR), 0x01);
    assert_int_equal(inb(ATA_REG_NSECT), 1);
    assert_int_equal(inb(ATA_REG_LBAL), 1);
    assert_int_equal(inb(ATA_REG_LBAM), 0);
    assert_int_equal(inb(ATA_REG_LBAH), 0);
    assert_int_equal(inb(ATA_REG_DEVICE), 0);
    assert_int_equal(ata_irq_level(&ch), 0);
    assert_int_equal(fk.irq_calls, 0);
    /* ata_devchk on device 0 */
    outb(ATA_REG_DEVICE, 0xa0);
    outb(ATA_REG_NSECT, 0x55);
    outb(ATA_REG_LBAL, 0xaa);
    outb(ATA_REG_NSECT, 0xaa);
    outb(ATA_REG_LBAL, 0x55);
    outb(ATA_REG_NSECT, 0x55);
    outb(ATA_REG_LBAL, 0xaa);
    assert_int_equal(inb(ATA_REG_NSECT), 0x55);
    assert_int_equal(inb(ATA_REG_LBAL), 0xaa);
    assert_int_equal(fk.calls, 0);
}

/* Device 1 is absent: its reads are 0 (ata_devchk fails, classify says
 * none) and its commands do nothing. */
static void test_slave_absent(void **state)
{
    (void)state;
    outb(ATA_REG_DEVICE, 0xb0);
    outb(ATA_REG_NSECT, 0x55);
    outb(ATA_REG_LBAL, 0xaa);
    assert_int_equal(inb(ATA_REG_NSECT), 0);
    assert_int_equal(inb(ATA_REG_LBAL), 0);
    assert_int_equal(inb(ATA_REG_LBAM), 0);
    assert_int_equal(inb(ATA_REG_LBAH), 0);
    assert_int_equal(inb(ATA_REG_ERROR), 0);
    assert_int_equal(inb(ATA_REG_STATUS), 0);
    assert_int_equal(inb(ATA_REG_CTL), 0);
    outb(ATA_REG_STATUS, 0xec); /* IDENTIFY to the absent slave */
    outb(ATA_REG_STATUS, 0x20);
    assert_int_equal(fk.irq_calls, 0);
    assert_int_equal(fk.calls, 0);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);
    /* back on the master: idle, nothing started; the task file is shared */
    outb(ATA_REG_DEVICE, 0xa0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_NSECT), 0x55);
    assert_int_equal(inb(ATA_REG_LBAL), 0xaa);
}

static unsigned int id_sum(const uint16_t id[256])
{
    unsigned int sum = 0;
    for (unsigned int i = 0; i < 256; i++)
        sum += (id[i] & 0xff) + (id[i] >> 8);
    return sum & 0xff;
}

/* IDENTIFY through 16-bit accesses on a 4096-sector disk. */
static void test_identify(void **state)
{
    (void)state;
    uint16_t id[256];
    identify(id, 2);
    assert_int_equal(id[0], 0x0040);
    assert_int_equal(id[1], 4);         /* 4096 / (16 * 63) cylinders */
    assert_int_equal(id[3], 16);
    assert_int_equal(id[6], 63);
    assert_int_equal(id[47], 0x8010);
    assert_true(id[49] & (1u << 9));    /* LBA */
    assert_false(id[49] & (1u << 8));   /* no DMA */
    assert_int_equal(id[53] & 3, 3);
    assert_int_equal(id[54], 4);
    assert_int_equal(id[55], 16);
    assert_int_equal(id[56], 63);
    assert_int_equal(id[57] | (uint32_t)id[58] << 16, 4 * 16 * 63);
    assert_int_equal(id[59], 0x0110);   /* multiple on at power-on, 16 sectors */
    assert_int_equal(id[60] | (uint32_t)id[61] << 16, IMG_SECTORS);
    assert_int_equal(id[63], 0);        /* no multiword DMA */
    assert_int_equal(id[64], 0x0003);   /* PIO 3, 4 */
    assert_int_equal(id[80], 0x00f0);
    assert_int_equal(id[83] & 0xc000, 0x4000);
    assert_true(id[83] & (1u << 10));   /* LBA48 */
    assert_true(id[86] & (1u << 10));
    assert_true(id[83] & (1u << 12) && id[83] & (1u << 13)); /* FLUSH CACHE (EXT) */
    assert_true(id[82] & (1u << 5) && id[85] & (1u << 5));   /* write cache on */
    assert_int_equal(id[87] & 0xc000, 0x4000);
    assert_int_equal(id[88], 0);        /* no UDMA */
    assert_int_equal(id[100], IMG_SECTORS);
    assert_int_equal(id[101] | id[102] | id[103], 0);
    /* strings: the first character in the high byte, space padded */
    assert_int_equal(id[27], ('X' << 8) | 'E');
    assert_int_equal(id[28], ('N' << 8) | 'O');
    assert_int_equal(id[34], ('I' << 8) | 'S');
    assert_int_equal(id[35], ('K' << 8) | ' ');
    assert_int_equal(id[36], 0x2020);
    assert_int_equal(id[46], 0x2020);
    assert_int_equal(id[10], ('X' << 8) | 'L');
    assert_int_equal(id[13], ('1' << 8) | ' ');
    assert_int_equal(id[19], 0x2020);
    assert_int_equal(id[23], ('1' << 8) | '.');
    /* checksum word: 0xa5 signature, all bytes sum to 0 */
    assert_int_equal(id[255] & 0xff, 0xa5);
    assert_int_equal(id_sum(id), 0);
    assert_int_equal(fk.rises, 1);
}

/* IDENTIFY through 32-bit accesses on a disk past LBA28: capacity words
 * capped at 0x0fffffff, the full size in 100-103, cylinders at 16383. */
static void test_identify32_big(void **state)
{
    (void)state;
    uint16_t id[256], id16[256];
    uint64_t n = 0x312345678ull;
    disk(n, 0);
    identify(id, 4);
    identify(id16, 2);
    assert_memory_equal(id, id16, sizeof(id));
    assert_int_equal(id[60] | (uint32_t)id[61] << 16, 0x0fffffff);
    assert_int_equal(id[100], 0x5678);
    assert_int_equal(id[101], 0x1234);
    assert_int_equal(id[102], 0x0003);
    assert_int_equal(id[103], 0);
    assert_int_equal(id[1], 16383);
    assert_int_equal(id[54], 16383);
    assert_int_equal(id[57] | (uint32_t)id[58] << 16, 16383u * 16 * 63);
    assert_int_equal(id[255] & 0xff, 0xa5);
    assert_int_equal(id_sum(id), 0);
    assert_int_equal(fk.rises, 2);
}

/* READ SECTORS, LBA28, 20 sectors: two fetches (16 + 4), one INTRQ per
 * sector, BSY and no INTRQ while a fetch is out. */
static void test_read_lba28(void **state)
{
    (void)state;
    uint8_t got[ATA_SECTOR];
    issue28(0x20, 100, 20);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.op, ATA_IO_READ);
    assert_int_equal(fk.lba, 100);
    assert_int_equal(fk.nsect, 16);
    assert_int_equal(inb(ATA_REG_CTL) & ATA_ST_BSY, ATA_ST_BSY);
    assert_int_equal(fk.level, 0);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff); /* nothing while BSY */
    complete(0);
    for (unsigned int s = 0; s < 20; s++) {
        if (s == 16) {
            assert_int_equal(fk.calls, 2);
            assert_int_equal(fk.lba, 116);
            assert_int_equal(fk.nsect, 4);
            assert_int_equal(inb(ATA_REG_CTL), ATA_ST_BSY | ST_IDLE);
            assert_int_equal(fk.level, 0);
            complete(0);
        }
        assert_int_equal(fk.rises, (int)s + 1);
        expect_drq_irq();
        read_block(got, ATA_SECTOR, 2);
        assert_memory_equal(got, img + (100 + s) * ATA_SECTOR, ATA_SECTOR);
    }
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(fk.rises, 20);
    assert_int_equal(fk.calls, 2);
    /* the task file names the last sector read */
    assert_int_equal(inb(ATA_REG_LBAL), 119);
    assert_int_equal(inb(ATA_REG_LBAM), 0);
    assert_int_equal(inb(ATA_REG_DEVICE) & 0x4f, 0x40);
}

/* READ SECTORS EXT past 28 bits: the io at the 48-bit address; the task
 * file's HOB half holds the high bytes of the last sector afterwards. */
static void test_read_ext_big(void **state)
{
    (void)state;
    uint64_t n = 0x312345678ull, lba = 0x212345670ull;
    uint8_t got[ATA_SECTOR], want[ATA_SECTOR];
    disk(n, 0);
    issue48(0x24, lba, 3);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.lba, lba);
    assert_int_equal(fk.nsect, 3);
    complete(0);
    for (unsigned int s = 0; s < 3; s++) {
        expect_drq_irq();
        read_block(got, ATA_SECTOR, 2);
        for (unsigned int i = 0; i < ATA_SECTOR; i++)
            want[i] = pat(lba + s, i);
        assert_memory_equal(got, want, ATA_SECTOR);
    }
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_LBAL), 0x72);
    assert_int_equal(inb(ATA_REG_LBAM), 0x56);
    assert_int_equal(inb(ATA_REG_LBAH), 0x34);
    outb(ATA_REG_CTL, ATA_CTL_HOB);
    assert_int_equal(inb(ATA_REG_LBAL), 0x12);
    assert_int_equal(inb(ATA_REG_LBAM), 0x02);
    assert_int_equal(inb(ATA_REG_LBAH), 0x00);
    /* the same sectors through LBA28 would be another address: 28 bits
     * of it only, so READ SECTORS can't reach them */
    outb(ATA_REG_CTL, 0);
    issue28(0x20, (uint32_t)lba, 1);
    assert_int_equal(fk.lba, lba & 0x0fffffff);
    complete(0);
}

/* CHS: (cyl * 16 + head) * 63 + sector - 1; sector 0 is IDNF. */
static void test_chs_read(void **state)
{
    (void)state;
    uint8_t got[ATA_SECTOR];
    unsigned int lba = (2 * 16 + 3) * 63 + 5 - 1;
    outb(ATA_REG_NSECT, 2);
    outb(ATA_REG_LBAL, 5);      /* sector */
    outb(ATA_REG_LBAM, 2);      /* cylinder low */
    outb(ATA_REG_LBAH, 0);
    outb(ATA_REG_DEVICE, 0xa3); /* CHS, head 3 */
    outb(ATA_REG_STATUS, 0x20);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.lba, lba);
    assert_int_equal(fk.nsect, 2);
    complete(0);
    for (unsigned int s = 0; s < 2; s++) {
        expect_drq_irq();
        read_block(got, ATA_SECTOR, 2);
        assert_memory_equal(got, img + (lba + s) * ATA_SECTOR, ATA_SECTOR);
    }
    /* the task file: the last sector read, in CHS */
    assert_int_equal(inb(ATA_REG_LBAL), 6);
    assert_int_equal(inb(ATA_REG_LBAM), 2);
    assert_int_equal(inb(ATA_REG_DEVICE), 0xa3);
    /* sector 0 */
    outb(ATA_REG_LBAL, 0);
    outb(ATA_REG_STATUS, 0x20);
    assert_int_equal(fk.calls, 1);
    expect_abort(ATA_ER_IDNF);
}

/* WRITE SECTORS: DRQ at once for the first sector without INTRQ, INTRQ
 * after each following one, the data on the disk before the final INTRQ. */
static void test_write_sectors(void **state)
{
    (void)state;
    uint8_t data[3 * ATA_SECTOR];
    for (unsigned int i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + 5);
    issue28(0x30, 10, 3);
    assert_int_equal(fk.calls, 0);
    assert_int_equal(fk.level, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE | ATA_ST_DRQ);
    write_block(data, ATA_SECTOR, 2);
    assert_int_equal(fk.rises, 1);
    expect_drq_irq();
    write_block(data + ATA_SECTOR, ATA_SECTOR, 4); /* outsl */
    assert_int_equal(fk.rises, 2);
    expect_drq_irq();
    write_block(data + 2 * ATA_SECTOR, ATA_SECTOR, 2);
    /* the last sector: the io, BSY, no INTRQ until it is done */
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.op, ATA_IO_WRITE);
    assert_int_equal(fk.lba, 10);
    assert_int_equal(fk.nsect, 3);
    assert_int_equal(inb(ATA_REG_STATUS) & (ATA_ST_BSY | ATA_ST_DRQ), ATA_ST_BSY);
    assert_int_equal(fk.level, 0);
    assert_memory_not_equal(img + 10 * ATA_SECTOR, data, ATA_SECTOR);
    complete(0);
    assert_memory_equal(img + 10 * ATA_SECTOR, data, sizeof(data));
    assert_int_equal(fk.rises, 3);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_LBAL), 12);
    /* the neighbours are untouched */
    uint8_t want[ATA_SECTOR];
    for (unsigned int i = 0; i < ATA_SECTOR; i++)
        want[i] = pat(13, i);
    assert_memory_equal(img + 13 * ATA_SECTOR, want, ATA_SECTOR);
}

/* WRITE SECTORS EXT of 20: buf fills at 16 (an io before the 17th DRQ),
 * then the last 4. */
static void test_write_ext_two_ios(void **state)
{
    (void)state;
    static uint8_t data[20 * ATA_SECTOR];
    for (unsigned int i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 3 + (i >> 9));
    issue48(0x34, 1000, 20);
    for (unsigned int s = 0; s < 20; s++) {
        if (s > 0)
            expect_drq_irq();
        write_block(data + s * ATA_SECTOR, ATA_SECTOR, 2);
        if (s == 15) {
            assert_int_equal(fk.calls, 1);
            assert_int_equal(fk.lba, 1000);
            assert_int_equal(fk.nsect, 16);
            assert_int_equal(fk.level, 0);
            complete(0);
        }
    }
    assert_int_equal(fk.calls, 2);
    assert_int_equal(fk.lba, 1016);
    assert_int_equal(fk.nsect, 4);
    complete(0);
    assert_int_equal(fk.rises, 20);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_memory_equal(img + 1000 * ATA_SECTOR, data, sizeof(data));
}

/* SET MULTIPLE MODE 8, then READ/WRITE MULTIPLE of 20: blocks of 8, 8, 4,
 * one INTRQ per block. */
static void test_multiple(void **state)
{
    (void)state;
    static uint8_t got[20 * ATA_SECTOR], data[20 * ATA_SECTOR];
    uint16_t id[256];

    outb(ATA_REG_NSECT, 0); /* SET MULTIPLE 0: multiple mode off */
    outb(ATA_REG_STATUS, 0xc6);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    identify(id, 2);
    assert_int_equal(id[59], 0);
    issue28(0xc4, 0, 4); /* now refused */
    assert_int_equal(fk.calls, 0);
    expect_abort(ATA_ER_ABRT);
    outb(ATA_REG_NSECT, 3);
    outb(ATA_REG_STATUS, 0xc6);
    expect_abort(ATA_ER_ABRT);
    outb(ATA_REG_NSECT, 32);
    outb(ATA_REG_STATUS, 0xc6);
    expect_abort(ATA_ER_ABRT);
    outb(ATA_REG_NSECT, 8);
    outb(ATA_REG_STATUS, 0xc6);
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    identify(id, 2);
    assert_int_equal(id[59], 0x0108);
    fk.rises = 0;

    issue28(0xc4, 200, 20);
    assert_int_equal(fk.nsect, 16);
    complete(0);
    expect_drq_irq();
    read_block(got, 8 * ATA_SECTOR, 2);
    assert_int_equal(fk.rises, 2); /* the second block is ready at once */
    expect_drq_irq();
    read_block(got + 8 * ATA_SECTOR, 8 * ATA_SECTOR, 4);
    assert_int_equal(fk.calls, 2);
    assert_int_equal(fk.lba, 216);
    assert_int_equal(fk.nsect, 4);
    complete(0);
    expect_drq_irq();
    read_block(got + 16 * ATA_SECTOR, 4 * ATA_SECTOR, 2);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(fk.rises, 3);
    assert_memory_equal(got, img + 200 * ATA_SECTOR, sizeof(got));

    for (unsigned int i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)~(i * 7);
    fk.rises = 0;
    issue48(0x39, 300, 20);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE | ATA_ST_DRQ);
    write_block(data, 8 * ATA_SECTOR, 2);
    assert_int_equal(fk.calls, 2); /* gathered, not yet written */
    expect_drq_irq();
    write_block(data + 8 * ATA_SECTOR, 8 * ATA_SECTOR, 2);
    assert_int_equal(fk.calls, 3);
    assert_int_equal(fk.lba, 300);
    assert_int_equal(fk.nsect, 16);
    complete(0);
    expect_drq_irq();
    write_block(data + 16 * ATA_SECTOR, 4 * ATA_SECTOR, 2);
    assert_int_equal(fk.calls, 4);
    assert_int_equal(fk.lba, 316);
    assert_int_equal(fk.nsect, 4);
    assert_int_equal(fk.rises, 2);
    complete(0);
    assert_int_equal(fk.rises, 3);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_memory_equal(img + 300 * ATA_SECTOR, data, sizeof(data));

    /* SET MULTIPLE 0 turns it off again */
    outb(ATA_REG_NSECT, 0);
    outb(ATA_REG_STATUS, 0xc6);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    issue28(0xc5, 0, 1);
    expect_abort(ATA_ER_ABRT);
}

/* Any range reaching past the disk: IDNF, INTRQ, no io. */
static void test_out_of_range(void **state)
{
    (void)state;
    issue28(0x20, IMG_SECTORS - 1, 2);
    expect_abort(ATA_ER_IDNF);
    issue28(0x30, IMG_SECTORS, 1);
    expect_abort(ATA_ER_IDNF);
    assert_int_equal(inb(ATA_REG_STATUS) & ATA_ST_DRQ, 0);
    issue48(0x24, 0x100000000ull, 1);
    expect_abort(ATA_ER_IDNF);
    issue28(0x20, 0, 0); /* 0 is 256 sectors: fits */
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.nsect, 16);
    complete(0);
    outb(ATA_REG_CTL, ATA_CTL_SRST);
    outb(ATA_REG_CTL, 0);
    issue48(0x24, IMG_SECTORS - 100, 0); /* 0 is 65536 */
    expect_abort(ATA_ER_IDNF);
    issue28(0x40, IMG_SECTORS - 2, 3); /* READ VERIFY */
    expect_abort(ATA_ER_IDNF);
    issue28(0x40, IMG_SECTORS - 3, 3);
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(fk.calls, 1);
    /* the last sector itself is in range */
    issue28(0x20, IMG_SECTORS - 1, 1);
    assert_int_equal(fk.calls, 2);
    assert_int_equal(fk.lba, IMG_SECTORS - 1);
    complete(0);
}

/* A read-only disk aborts writes before any DRQ; reads still work. */
static void test_readonly(void **state)
{
    (void)state;
    disk(IMG_SECTORS, 1);
    issue28(0x30, 5, 1);
    expect_abort(ATA_ER_ABRT);
    assert_int_equal(inb(ATA_REG_STATUS) & ATA_ST_DRQ, 0);
    issue48(0x34, 5, 1);
    expect_abort(ATA_ER_ABRT);
    outb(ATA_REG_NSECT, 8);
    outb(ATA_REG_STATUS, 0xc6);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    issue28(0xc5, 5, 1);
    expect_abort(ATA_ER_ABRT);
    ata_write(&ch, ATA_REG_DATA, 2, 0x1234);
    assert_int_equal(fk.calls, 0);
    issue28(0x20, 5, 1);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.op, ATA_IO_READ);
    complete(0);
    expect_drq_irq();
}

/* DMA, NOP, packet, unknown commands: DRDY|ERR, ABRT, INTRQ. IDENTIFY
 * PACKET DEVICE leaves the ATA signature. SET FEATURES' transfer modes. */
static void test_abort_commands(void **state)
{
    (void)state;
    static const uint8_t cmds[] = { 0xc8, 0xca, 0x25, 0x35, 0x00, 0xa0, 0xff, 0xb0, 0x08, 0xe6 };
    for (unsigned int i = 0; i < sizeof(cmds); i++) {
        issue28(cmds[i], 0, 1);
        expect_abort(ATA_ER_ABRT);
    }
    assert_int_equal(fk.calls, 0);
    outb(ATA_REG_LBAM, 0x14);
    outb(ATA_REG_LBAH, 0xeb);
    outb(ATA_REG_STATUS, 0xa1);
    expect_abort(ATA_ER_ABRT);
    assert_int_equal(inb(ATA_REG_NSECT), 1);
    assert_int_equal(inb(ATA_REG_LBAL), 1);
    assert_int_equal(inb(ATA_REG_LBAM), 0);
    assert_int_equal(inb(ATA_REG_LBAH), 0);

    set_features(0x03, 0x45); /* UDMA 5 */
    expect_abort(ATA_ER_ABRT);
    set_features(0x03, 0x22); /* MWDMA 2 */
    expect_abort(ATA_ER_ABRT);
    set_features(0x03, 0x0d); /* no PIO 5 */
    expect_abort(ATA_ER_ABRT);
    set_features(0x03, 0x0c); /* PIO 4 */
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_ERROR), 0);
    set_features(0x55, 0);
    expect_abort(ATA_ER_ABRT);
    set_features(0x66, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
}

/* The non-data commands that complete: DRDY|DSC and INTRQ each. */
static void test_nondata_commands(void **state)
{
    (void)state;
    static const uint8_t ok[] = { 0x10, 0x1f, 0x91, 0xe0, 0xe1, 0xe2, 0xe3, 0x94, 0x97 };
    for (unsigned int i = 0; i < sizeof(ok); i++) {
        issue28(ok[i], 0, 1);
        assert_int_equal(fk.rises, (int)i + 1);
        assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    }
    /* a command write drops the INTRQ still pending from the last one */
    issue28(0xe0, 0, 0);
    assert_int_equal(fk.level, 1);
    int calls = fk.irq_calls;
    outb(ATA_REG_STATUS, 0xe5);
    assert_int_equal(fk.irq_calls, calls + 2); /* down, then up again */
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_NSECT), 0xff);
    /* READ NATIVE MAX ADDRESS: capacity - 1 */
    issue28(0xf8, 0, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_LBAL), 0xff);
    assert_int_equal(inb(ATA_REG_LBAM), 0x0f);
    assert_int_equal(inb(ATA_REG_LBAH), 0);
    assert_int_equal(inb(ATA_REG_DEVICE) & 0x0f, 0);
    disk(0x312345678ull, 0);
    issue48(0x27, 0, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_LBAL), 0x77);
    assert_int_equal(inb(ATA_REG_LBAM), 0x56);
    assert_int_equal(inb(ATA_REG_LBAH), 0x34);
    outb(ATA_REG_CTL, ATA_CTL_HOB);
    assert_int_equal(inb(ATA_REG_LBAL), 0x12);
    assert_int_equal(inb(ATA_REG_LBAM), 0x03);
    assert_int_equal(inb(ATA_REG_LBAH), 0);
    outb(ATA_REG_CTL, 0);
    issue28(0xf8, 0, 0); /* LBA28: capped */
    assert_int_equal(inb(ATA_REG_LBAL), 0xfe);
    assert_int_equal(inb(ATA_REG_LBAM), 0xff);
    assert_int_equal(inb(ATA_REG_LBAH), 0xff);
    assert_int_equal(inb(ATA_REG_DEVICE) & 0x0f, 0x0f);
    /* EXECUTE DEVICE DIAGNOSTIC: the signature, error 1 */
    issue28(0x90, 0x123456, 7);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_ERROR), 0x01);
    assert_int_equal(inb(ATA_REG_NSECT), 1);
    assert_int_equal(inb(ATA_REG_LBAL), 1);
    assert_int_equal(inb(ATA_REG_LBAM), 0);
    assert_int_equal(inb(ATA_REG_LBAH), 0);
    assert_int_equal(fk.calls, 0);
}

/* A backend error: a read ends with UNC|ABRT, a write with ABRT, the
 * task file at the failing io's first sector; io refusing at once too. */
static void test_backend_error(void **state)
{
    (void)state;
    issue28(0x20, 40, 20);
    complete(0);
    for (unsigned int s = 0; s < 16; s++) {
        uint8_t got[ATA_SECTOR];
        expect_drq_irq();
        read_block(got, ATA_SECTOR, 2);
    }
    assert_int_equal(fk.calls, 2);
    complete(-XEN_EIO);
    expect_abort(ATA_ER_UNC | ATA_ER_ABRT);
    assert_int_equal(inb(ATA_REG_LBAL), 56);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);

    issue28(0x30, 60, 1);
    write_block(img, ATA_SECTOR, 2);
    complete(-XEN_EIO);
    expect_abort(ATA_ER_ABRT);

    fk.ret = -XEN_EIO; /* io refuses */
    issue28(0x20, 70, 2);
    assert_int_equal(fk.calls, 4);
    expect_abort(ATA_ER_UNC | ATA_ER_ABRT);
    assert_int_equal(inb(ATA_REG_LBAL), 70);
    outb(ATA_REG_STATUS, 0xe7);
    assert_int_equal(fk.calls, 5);
    expect_abort(ATA_ER_ABRT);
    fk.ret = 0;
    issue28(0x20, 70, 1); /* the channel works again */
    assert_int_equal(fk.calls, 6);
    complete(0);
    expect_drq_irq();
}

/* SRST: BSY while set, the signature after; a command in DRQ is gone. */
static void test_srst(void **state)
{
    (void)state;
    issue28(0x20, 7, 2);
    complete(0);
    assert_int_equal(fk.level, 1);
    outb(ATA_REG_CTL, ATA_CTL_SRST);
    assert_int_equal(fk.level, 0);
    assert_int_equal(inb(ATA_REG_CTL), ATA_ST_BSY);
    assert_int_equal(inb(ATA_REG_STATUS), ATA_ST_BSY);
    outb(ATA_REG_CTL, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_ERROR), 0x01);
    assert_int_equal(inb(ATA_REG_NSECT), 1);
    assert_int_equal(inb(ATA_REG_LBAL), 1);
    assert_int_equal(inb(ATA_REG_LBAM), 0);
    assert_int_equal(inb(ATA_REG_LBAH), 0);
    assert_int_equal(inb(ATA_REG_DEVICE), 0);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);
    assert_int_equal(fk.level, 0);
    assert_int_equal(fk.rises, 1);
}

/* SRST with a fetch out: the channel stays BSY (buf is the backend's)
 * until the late answer, which moves no data and raises nothing. */
static void test_srst_io_out(void **state)
{
    (void)state;
    uint8_t got[ATA_SECTOR];
    issue28(0x20, 0, 20);
    complete(0);
    for (unsigned int s = 0; s < 16; s++) {
        expect_drq_irq();
        read_block(got, ATA_SECTOR, 2);
    }
    assert_int_equal(fk.calls, 2); /* the second fetch is out */
    outb(ATA_REG_CTL, ATA_CTL_SRST | ATA_CTL_NIEN | 0x08);
    outb(ATA_REG_CTL, ATA_CTL_NIEN | 0x08);
    assert_int_equal(inb(ATA_REG_CTL) & ATA_ST_BSY, ATA_ST_BSY);
    issue28(0x20, 500, 1); /* ignored while BSY */
    assert_int_equal(fk.calls, 2);
    int rises = fk.rises;
    complete(0); /* the late answer */
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_ERROR), 0x01);
    assert_int_equal(inb(ATA_REG_NSECT), 1);
    assert_int_equal(inb(ATA_REG_LBAL), 1);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);
    outb(ATA_REG_CTL, 0x08);
    assert_int_equal(fk.rises, rises);
    assert_int_equal(ata_irq_level(&ch), 0);
    ata_io_done(&ch, 0); /* a second, bogus answer does nothing */
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    /* a new command gets its own io */
    issue28(0x20, 500, 1);
    assert_int_equal(fk.calls, 3);
    assert_int_equal(fk.lba, 500);
    complete(0);
    expect_drq_irq();
    read_block(got, ATA_SECTOR, 2);
    assert_memory_equal(got, img + 500 * ATA_SECTOR, ATA_SECTOR);

    /* the answer arriving while SRST is still set: BSY until release */
    issue28(0x20, 9, 1);
    outb(ATA_REG_CTL, ATA_CTL_SRST);
    complete(0);
    assert_int_equal(inb(ATA_REG_STATUS), ATA_ST_BSY);
    outb(ATA_REG_CTL, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_ERROR), 0x01);
}

/* nIEN holds the pin down; the pending INTRQ shows once it clears; the
 * status read drops it, the alternate status does not. */
static void test_nien(void **state)
{
    (void)state;
    outb(ATA_REG_CTL, ATA_CTL_NIEN);
    outb(ATA_REG_DEVICE, 0xa0);
    outb(ATA_REG_STATUS, 0xec);
    assert_int_equal(ata_irq_level(&ch), 0);
    assert_int_equal(fk.irq_calls, 0);
    assert_int_equal(inb(ATA_REG_CTL), ST_IDLE | ATA_ST_DRQ);
    outb(ATA_REG_CTL, 0);
    assert_int_equal(fk.level, 1);
    assert_int_equal(ata_irq_level(&ch), 1);
    outb(ATA_REG_CTL, ATA_CTL_NIEN);
    assert_int_equal(fk.level, 0);
    outb(ATA_REG_CTL, 0);
    assert_int_equal(fk.level, 1);
    inb(ATA_REG_CTL);
    assert_int_equal(fk.level, 1);
    inb(ATA_REG_STATUS);
    assert_int_equal(fk.level, 0);
    outb(ATA_REG_CTL, ATA_CTL_NIEN);
    outb(ATA_REG_CTL, 0);
    assert_int_equal(fk.level, 0);
    assert_int_equal(fk.irq_calls, 4);
}

/* HOB: each write pushes the register's old value into its HOB half;
 * reads with HOB set show it; any command-block write clears HOB. */
static void test_hob(void **state)
{
    (void)state;
    outb(ATA_REG_ERROR, 0x11);
    outb(ATA_REG_ERROR, 0x22);
    outb(ATA_REG_NSECT, 0x12);
    outb(ATA_REG_NSECT, 0x34);
    outb(ATA_REG_LBAL, 0x56);
    outb(ATA_REG_LBAL, 0x78);
    outb(ATA_REG_LBAM, 0x9a);
    outb(ATA_REG_LBAM, 0xbc);
    outb(ATA_REG_LBAH, 0xde);
    outb(ATA_REG_LBAH, 0xf0);
    assert_int_equal(inb(ATA_REG_NSECT), 0x34);
    assert_int_equal(inb(ATA_REG_LBAL), 0x78);
    assert_int_equal(inb(ATA_REG_LBAM), 0xbc);
    assert_int_equal(inb(ATA_REG_LBAH), 0xf0);
    assert_int_equal(inb(ATA_REG_ERROR), 0x01); /* error, not features */
    outb(ATA_REG_CTL, ATA_CTL_HOB | 0x08);
    assert_int_equal(inb(ATA_REG_NSECT), 0x12);
    assert_int_equal(inb(ATA_REG_LBAL), 0x56);
    assert_int_equal(inb(ATA_REG_LBAM), 0x9a);
    assert_int_equal(inb(ATA_REG_LBAH), 0xde);
    assert_int_equal(inb(ATA_REG_ERROR), 0x11); /* the previous features */
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    outb(ATA_REG_DEVICE, 0xe0); /* clears HOB */
    assert_int_equal(inb(ATA_REG_NSECT), 0x34);
    assert_int_equal(inb(ATA_REG_LBAL), 0x78);
    assert_int_equal(ch.ctl, 0x08);
}

/* FLUSH CACHE (EXT): an ATA_IO_FLUSH, BSY while out, INTRQ after. SET
 * FEATURES 0x82/0x02 toggle IDENTIFY's write cache bit. */
static void test_flush(void **state)
{
    (void)state;
    uint16_t id[256];
    outb(ATA_REG_DEVICE, 0xa0);
    outb(ATA_REG_STATUS, 0xe7);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.op, ATA_IO_FLUSH);
    assert_int_equal(inb(ATA_REG_STATUS) & ATA_ST_BSY, ATA_ST_BSY);
    assert_int_equal(fk.level, 0);
    complete(0);
    assert_int_equal(fk.level, 1);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    outb(ATA_REG_STATUS, 0xea);
    assert_int_equal(fk.calls, 2);
    assert_int_equal(fk.op, ATA_IO_FLUSH);
    complete(0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(fk.rises, 2);
    set_features(0x82, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    identify(id, 2);
    assert_false(id[85] & (1u << 5));
    assert_true(id[82] & (1u << 5));
    set_features(0x02, 0);
    identify(id, 2);
    assert_true(id[85] & (1u << 5));
    assert_int_equal(id_sum(id), 0);
}

/* Data accesses with no DRQ read all ones and write nothing; a write
 * access during data-in and a read during data-out do not move data. */
static void test_data_without_drq(void **state)
{
    (void)state;
    uint8_t before[ATA_SECTOR];
    memcpy(before, img, ATA_SECTOR);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 4), 0xffffffffu);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 1), 0xff);
    for (unsigned int i = 0; i < 600; i++)
        ata_write(&ch, ATA_REG_DATA, 2, 0);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(fk.calls, 0);
    assert_int_equal(fk.irq_calls, 0);
    /* data-in: writes do not consume the block */
    issue28(0x20, 0, 1);
    complete(0);
    expect_drq_irq();
    for (unsigned int i = 0; i < 300; i++)
        ata_write(&ch, ATA_REG_DATA, 2, 0xdead);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE | ATA_ST_DRQ);
    uint8_t got[ATA_SECTOR];
    read_block(got, ATA_SECTOR, 2);
    assert_memory_equal(got, before, ATA_SECTOR);
    /* 8-bit accesses move one byte */
    issue28(0x20, 1, 1);
    complete(0);
    expect_drq_irq();
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 1), img[ATA_SECTOR]);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2),
                     img[ATA_SECTOR + 1] | img[ATA_SECTOR + 2] << 8);
    read_block(got, ATA_SECTOR - 4, 2);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 1), img[2 * ATA_SECTOR - 1]);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);
    /* data-out: reads return all ones and leave the block alone */
    issue28(0x30, 2, 1);
    assert_int_equal(ata_read(&ch, ATA_REG_DATA, 2), 0xffff);
    write_block(before, ATA_SECTOR, 2);
    assert_int_equal(fk.calls, 3);
    complete(0);
    assert_memory_equal(img + 2 * ATA_SECTOR, before, ATA_SECTOR);
}

/* Commands while BSY (an io out) or DRQ are ignored; so are writes to
 * the command block while BSY. */
static void test_busy_ignored(void **state)
{
    (void)state;
    uint8_t got[ATA_SECTOR];
    issue28(0x20, 30, 1);
    assert_int_equal(fk.calls, 1);
    outb(ATA_REG_STATUS, 0xec);
    outb(ATA_REG_STATUS, 0xe7);
    outb(ATA_REG_LBAL, 99);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.level, 0);
    complete(0);
    expect_drq_irq();
    outb(ATA_REG_STATUS, 0xec); /* in DRQ: ignored too */
    outb(ATA_REG_STATUS, 0x20);
    assert_int_equal(fk.calls, 1);
    assert_int_equal(fk.level, 0);
    read_block(got, ATA_SECTOR, 2);
    assert_memory_equal(got, img + 30 * ATA_SECTOR, ATA_SECTOR);
    assert_int_equal(inb(ATA_REG_STATUS), ST_IDLE);
    assert_int_equal(inb(ATA_REG_LBAL), 30);
    assert_int_equal(fk.rises, 1);
}

/* atk4: random port traffic (commands, task file, SRST/HOB/nIEN,
 * data reads and writes of every size, io answers ok or failed, in any
 * order) against small disks, read-only or not: fake_io's checks (never
 * beyond the disk, within buf, one io out) plus no write io on a
 * read-only disk and the DRQ cursor inside buf. */
static uint32_t fz_seed = 12345;
static uint32_t fz_rand(void)
{
    fz_seed = fz_seed * 1103515245u + 12345u;
    return fz_seed >> 8;
}
static unsigned long fz_reads, fz_writes;
static void test_atk4_fuzz(void **state)
{
    (void)state;
    static const uint8_t cmds[] = { 0x20, 0x21, 0x24, 0x29, 0x30, 0x31, 0x34, 0x39, 0x40, 0x42,
                                    0xc4, 0xc5, 0xc6, 0xe7, 0xea, 0xec, 0xef, 0x91, 0x90,
                                    0xf8, 0x27, 0xa1, 0x10, 0xe5, 0x00, 0xff };
    for (unsigned int round = 0; round < 300; round++) {
        uint64_t ns = 1 + fz_rand() % 300;
        int ro = fz_rand() & 1;
        disk(ns, ro);
        for (unsigned int step = 0; step < 1500; step++) {
            unsigned int a = fz_rand() % 100;
            unsigned int sz = (unsigned int[]){ 1, 2, 4 }[fz_rand() % 3];
            int calls = fk.calls;
            if (a < 8 && fk.out) {
                complete((fz_rand() % 8) ? 0 : -XEN_EIO);
            } else if (a < 18) {
                ata_write(&ch, ATA_REG_STATUS, 1, cmds[fz_rand() % sizeof(cmds)]);
            } else if (a < 40) {
                unsigned int reg = 1 + fz_rand() % 6;
                uint32_t v = fz_rand() & 0xff;
                if (reg == ATA_REG_DEVICE)
                    v = (fz_rand() % 4 == 0) ? v : (0x40 | (v & 0x0f)) | ((fz_rand() % 8 == 0) ? 0x10 : 0);
                else if (fz_rand() & 1)
                    v &= 3;
                ata_write(&ch, reg, sz, v);
            } else if (a < 44) {
                ata_write(&ch, ATA_REG_CTL, 1, (fz_rand() & 0x86));
            } else if (a < 70) {
                unsigned int burst = (fz_rand() & 1) ? 1 : fz_rand() % 4200;
                for (unsigned int k = 0; k < burst; k++)
                    ata_write(&ch, ATA_REG_DATA, sz, fz_rand());
            } else if (a < 95) {
                unsigned int burst = (fz_rand() & 1) ? 1 : fz_rand() % 4200;
                for (unsigned int k = 0; k < burst; k++)
                    (void)ata_read(&ch, ATA_REG_DATA, sz);
            } else {
                (void)ata_read(&ch, fz_rand() % 9, sz);
            }
            if (fk.calls != calls && fk.op == ATA_IO_WRITE) {
                assert_false(ro);
                fz_writes++;
            }
            if (fk.calls != calls && fk.op == ATA_IO_READ)
                fz_reads++;
            assert_true(ch.pos <= ch.end && ch.end <= sizeof(ch.buf));
            assert_true(ch.buf_sectors <= ATA_BUF_SECTORS);
        }
        if (fk.out)
            complete(0);
    }
    print_message("atk4 fuzz: %lu read ios, %lu write ios\n", fz_reads, fz_writes);
    assert_true(fz_reads > 100 && fz_writes > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_power_on, setup),
        cmocka_unit_test_setup(test_slave_absent, setup),
        cmocka_unit_test_setup(test_identify, setup),
        cmocka_unit_test_setup(test_identify32_big, setup),
        cmocka_unit_test_setup(test_read_lba28, setup),
        cmocka_unit_test_setup(test_read_ext_big, setup),
        cmocka_unit_test_setup(test_chs_read, setup),
        cmocka_unit_test_setup(test_write_sectors, setup),
        cmocka_unit_test_setup(test_write_ext_two_ios, setup),
        cmocka_unit_test_setup(test_multiple, setup),
        cmocka_unit_test_setup(test_out_of_range, setup),
        cmocka_unit_test_setup(test_readonly, setup),
        cmocka_unit_test_setup(test_abort_commands, setup),
        cmocka_unit_test_setup(test_nondata_commands, setup),
        cmocka_unit_test_setup(test_backend_error, setup),
        cmocka_unit_test_setup(test_srst, setup),
        cmocka_unit_test_setup(test_srst_io_out, setup),
        cmocka_unit_test_setup(test_nien, setup),
        cmocka_unit_test_setup(test_hob, setup),
        cmocka_unit_test_setup(test_flush, setup),
        cmocka_unit_test_setup(test_data_without_drq, setup),
        cmocka_unit_test_setup(test_busy_ignored, setup),
        cmocka_unit_test_setup(test_atk4_fuzz, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
