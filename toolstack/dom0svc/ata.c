/*
 * ata.c - the ATA disk of ata.h on a legacy IDE channel: the task file
 * and its LBA48 HOB pairs, software reset and the ATA signature, the
 * PIO data-in/data-out protocols (one INTRQ per DRQ block, READ/WRITE
 * MULTIPLE's larger blocks), IDENTIFY DEVICE, the non-data commands
 * libata and the ATA-7 command set ask of a PIO-only disk, and INTRQ as
 * nIEN gates it. The slave position is empty: with device 1 selected the
 * channel reads as QEMU's does (0) and ignores commands.
 * Sectors move through buf only: a read fetches up to ATA_BUF_SECTORS
 * per backend io and serves the DRQ blocks from it; a write gathers whole
 * DRQ blocks until buf is full or the command's data ends, then hands
 * them to io before the next DRQ (the data-out interrupt of a block that
 * did not fill buf comes at once: the disk has a write cache, and its
 * errors are reported at the flush point).
 * Owns: the struct ata_channel it is given and its buffer. Must never:
 * block, call io from inside ata_io_done, have two io calls out at once
 * (a reset with one out stays BSY until its answer, which is dropped),
 * reach a sector at or beyond nsectors, write a read-only disk, or let
 * a guest access move bytes outside the current DRQ block.
 */
#include <stddef.h>
#include <xenolith/lib.h>
#include "ata.h"

/* Commands (ATA/ATAPI-7 numbers). */
#define CMD_RECALIBRATE      0x10 /* 0x10-0x1f */
#define CMD_READ             0x20
#define CMD_READ_NORETRY     0x21
#define CMD_READ_EXT         0x24
#define CMD_READ_NATIVE_EXT  0x27
#define CMD_READ_MULT_EXT    0x29
#define CMD_WRITE            0x30
#define CMD_WRITE_NORETRY    0x31
#define CMD_WRITE_EXT        0x34
#define CMD_WRITE_MULT_EXT   0x39
#define CMD_VERIFY           0x40
#define CMD_VERIFY_NORETRY   0x41
#define CMD_VERIFY_EXT       0x42
#define CMD_DIAGNOSE         0x90
#define CMD_INIT_PARAMS      0x91
#define CMD_ID_PACKET        0xa1
#define CMD_READ_MULT        0xc4
#define CMD_WRITE_MULT       0xc5
#define CMD_SET_MULT         0xc6
#define CMD_CHECK_POWER      0xe5
#define CMD_FLUSH            0xe7
#define CMD_FLUSH_EXT        0xea
#define CMD_IDENTIFY         0xec
#define CMD_SET_FEATURES     0xef
#define CMD_READ_NATIVE      0xf8

#define DEV_LBA   0x40
#define DEV_DEV1  0x10

#define GEOM_HEADS 16u
#define GEOM_SPT   63u
#define GEOM_CYLS  16383u
#define LBA28_MAX  0x0fffffffull

/* How the command in progress addressed its sectors (for the task file). */
enum { ADDR_NONE, ADDR_CHS, ADDR_LBA28, ADDR_LBA48 };

static void update_irq(struct ata_channel *c)
{
    int level = ata_irq_level(c);
    if (level != c->irq_level) {
        c->irq_level = level;
        if (c->be->irq)
            c->be->irq(c->be->ctx, level);
    }
}

int ata_irq_level(const struct ata_channel *c)
{
    return c->irq && !(c->ctl & ATA_CTL_NIEN);
}

static void raise_irq(struct ata_channel *c)
{
    c->irq = 1;
    update_irq(c);
}

static void set_signature(struct ata_channel *c)
{
    c->nsect = 1;
    c->lbal = 1;
    c->lbam = 0;
    c->lbah = 0;
    c->hob_nsect = c->hob_lbal = c->hob_lbam = c->hob_lbah = 0;
    c->device = 0;
}

/* Forget the command in progress (not an io that is out: busy_io stays). */
static void drop_command(struct ata_channel *c)
{
    c->cmd = 0;
    c->remaining = 0;
    c->drq_sectors = 0;
    c->pos = c->end = 0;
    c->buf_sectors = 0;
    c->addr_mode = ADDR_NONE;
}

static void finish_ok(struct ata_channel *c)
{
    drop_command(c);
    c->status = ATA_ST_DRDY | ATA_ST_DSC;
    raise_irq(c);
}

static void finish_err(struct ata_channel *c, uint8_t error)
{
    drop_command(c);
    c->error = error;
    c->status = ATA_ST_DRDY | ATA_ST_ERR;
    raise_irq(c);
}

static uint64_t chs_cylinders(const struct ata_channel *c)
{
    uint64_t cyls = c->nsectors / (GEOM_HEADS * GEOM_SPT);
    return cyls > GEOM_CYLS ? GEOM_CYLS : cyls;
}

/* The task file's address of sector lba, in the command's addressing. */
static void set_tf_lba(struct ata_channel *c, uint64_t lba)
{
    switch (c->addr_mode) {
    case ADDR_LBA48:
        c->lbal = (uint8_t)lba;
        c->lbam = (uint8_t)(lba >> 8);
        c->lbah = (uint8_t)(lba >> 16);
        c->hob_lbal = (uint8_t)(lba >> 24);
        c->hob_lbam = (uint8_t)(lba >> 32);
        c->hob_lbah = (uint8_t)(lba >> 40);
        break;
    case ADDR_LBA28:
        c->lbal = (uint8_t)lba;
        c->lbam = (uint8_t)(lba >> 8);
        c->lbah = (uint8_t)(lba >> 16);
        c->device = (uint8_t)((c->device & 0xf0) | ((lba >> 24) & 0x0f));
        break;
    case ADDR_CHS: {
        uint64_t track = lba / GEOM_SPT, cyl = track / GEOM_HEADS;
        c->lbal = (uint8_t)(lba % GEOM_SPT + 1);
        c->lbam = (uint8_t)cyl;
        c->lbah = (uint8_t)(cyl >> 8);
        c->device = (uint8_t)((c->device & 0xf0) | (track % GEOM_HEADS));
        break;
    }
    default:
        break;
    }
}

/* An io failed (at its first sector) or could not be started. */
static void io_failed(struct ata_channel *c)
{
    int write = c->io_op != ATA_IO_READ;
    set_tf_lba(c, c->io_lba);
    finish_err(c, write ? ATA_ER_ABRT : (ATA_ER_UNC | ATA_ER_ABRT));
}

static void start_io(struct ata_channel *c, enum ata_io_op op, unsigned int nsect)
{
    c->io_op = op;
    c->io_lba = c->lba;
    c->io_nsect = nsect;
    c->status = ATA_ST_BSY | ATA_ST_DRDY | ATA_ST_DSC;
    c->busy_io = 1;
    if (c->be->io(c->be->ctx, op, op == ATA_IO_FLUSH ? 0 : c->lba, nsect, c->buf) < 0) {
        c->busy_io = 0;
        io_failed(c);
    }
}

/* The next DRQ block starts at buf byte 'at'; it holds up to
 * c->block sectors of what remains. */
static void open_block(struct ata_channel *c, uint32_t at)
{
    unsigned int n = c->block;
    if (n > c->remaining)
        n = c->remaining;
    c->drq_sectors = n;
    c->pos = at;
    c->end = at + n * ATA_SECTOR;
    c->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
}

static void start_fetch(struct ata_channel *c)
{
    unsigned int n = c->remaining < ATA_BUF_SECTORS ? c->remaining : ATA_BUF_SECTORS;
    start_io(c, ATA_IO_READ, n);
}

/* The guest has moved the whole DRQ block [.., end). */
static void block_done(struct ata_channel *c)
{
    c->remaining -= c->drq_sectors;
    if (c->writing) {
        c->buf_sectors += c->drq_sectors;
        c->drq_sectors = 0;
        c->status = ATA_ST_DRDY | ATA_ST_DSC;
        if (c->remaining == 0 || c->buf_sectors >= ATA_BUF_SECTORS) {
            start_io(c, ATA_IO_WRITE, c->buf_sectors);
        } else {
            open_block(c, c->end);
            raise_irq(c);
        }
        return;
    }
    c->drq_sectors = 0;
    if (c->remaining == 0) {
        /* data-in ends without an interrupt; the task file names the
         * last sector moved (IDENTIFY has no address: ADDR_NONE) */
        set_tf_lba(c, c->lba - 1);
        drop_command(c);
        c->status = ATA_ST_DRDY | ATA_ST_DSC;
        return;
    }
    if (c->end < c->buf_sectors * ATA_SECTOR) {
        open_block(c, c->end);
        raise_irq(c);
    } else {
        c->buf_sectors = 0;
        start_fetch(c);
    }
}

void ata_io_done(struct ata_channel *c, int status)
{
    if (!c->busy_io)
        return; /* no io is out: nothing to answer */
    c->busy_io = 0;
    if (c->stale_io) {
        /* the answer to a command a reset cancelled: drop it, and let
         * the reset finish if SRST has been released meanwhile */
        c->stale_io = 0;
        if (!(c->ctl & ATA_CTL_SRST))
            c->status = ATA_ST_DRDY | ATA_ST_DSC;
        return;
    }
    if (status < 0) {
        io_failed(c);
        return;
    }
    switch (c->io_op) {
    case ATA_IO_READ:
        c->lba += c->io_nsect;
        c->buf_sectors = c->io_nsect;
        open_block(c, 0);
        raise_irq(c);
        break;
    case ATA_IO_WRITE:
        c->lba += c->io_nsect;
        c->buf_sectors = 0;
        if (c->remaining == 0) {
            set_tf_lba(c, c->lba - 1);
            finish_ok(c);
        } else {
            open_block(c, 0);
            raise_irq(c);
        }
        break;
    case ATA_IO_FLUSH:
        finish_ok(c);
        break;
    }
}

/* IDENTIFY DEVICE's strings: two characters a word, the first in the
 * high byte, space padded. */
static void id_string(uint16_t *id, unsigned int word, unsigned int len, const char *s)
{
    for (unsigned int i = 0; i < len; i++) {
        char ch = ' ';
        if (s && *s)
            ch = *s++;
        if (i & 1)
            id[word + i / 2] |= (uint8_t)ch;
        else
            id[word + i / 2] = (uint16_t)((uint8_t)ch << 8);
    }
}

static void build_identify(struct ata_channel *c)
{
    uint16_t id[256];
    uint64_t n = c->nsectors;
    uint64_t n28 = n > LBA28_MAX ? LBA28_MAX : n;
    uint64_t cyls = chs_cylinders(c);
    uint64_t chs_cap = cyls * GEOM_HEADS * GEOM_SPT;
    uint16_t wcache = c->wcache ? (1u << 5) : 0;

    memset(id, 0, sizeof(id));
    id[0] = 0x0040;                             /* fixed ATA device */
    id[1] = (uint16_t)cyls;
    id[3] = GEOM_HEADS;
    id[6] = GEOM_SPT;
    id_string(id, 10, 20, c->serial);
    id_string(id, 23, 8, "1.0");
    id_string(id, 27, 40, c->model);
    id[47] = 0x8000 | ATA_BUF_SECTORS;          /* READ/WRITE MULTIPLE up to 16 */
    id[48] = 0x0001;                            /* 32-bit data transfers */
    id[49] = (1u << 11) | (1u << 9);            /* IORDY, LBA; no DMA */
    id[50] = 0x4000;
    id[51] = 0x0200;                            /* PIO mode 2 (obsolete field) */
    id[53] = 0x0003;                            /* words 54-58 and 64-70 valid */
    id[54] = (uint16_t)cyls;
    id[55] = GEOM_HEADS;
    id[56] = GEOM_SPT;
    id[57] = (uint16_t)chs_cap;
    id[58] = (uint16_t)(chs_cap >> 16);
    id[59] = c->multiple ? (uint16_t)(0x0100 | c->multiple) : 0;
    id[60] = (uint16_t)n28;
    id[61] = (uint16_t)(n28 >> 16);
    id[64] = 0x0003;                            /* PIO modes 3 and 4 */
    id[65] = 120;
    id[66] = 120;
    id[67] = 120;                               /* PIO cycle times (ns) */
    id[68] = 120;
    id[80] = 0x00f0;                            /* ATA-4 to ATA-7 */
    id[82] = (1u << 5) | (1u << 3);             /* write cache, power management */
    id[83] = 0x4000 | (1u << 13) | (1u << 12) | (1u << 10); /* FLUSH EXT, FLUSH, LBA48 */
    id[84] = 0x4000;
    id[85] = wcache | (1u << 3);
    id[86] = (1u << 13) | (1u << 12) | (1u << 10);
    id[87] = 0x4000;
    id[93] = 0x400b;                            /* device 0, jumpered, diagnostics passed */
    id[100] = (uint16_t)n;
    id[101] = (uint16_t)(n >> 16);
    id[102] = (uint16_t)(n >> 32);
    id[103] = (uint16_t)(n >> 48);

    uint8_t sum = 0xa5;
    for (unsigned int i = 0; i < 255; i++)
        sum = (uint8_t)(sum + (id[i] & 0xff) + (id[i] >> 8));
    id[255] = (uint16_t)(0x00a5 | ((uint8_t)(0 - sum) << 8));

    for (unsigned int i = 0; i < 256; i++) {
        c->buf[2 * i] = (uint8_t)id[i];
        c->buf[2 * i + 1] = (uint8_t)(id[i] >> 8);
    }
}

/* Start a PIO data-in of sectors already in buf (IDENTIFY). */
static void pio_in_buffered(struct ata_channel *c)
{
    c->writing = 0;
    c->block = 1;
    c->remaining = 1;
    c->buf_sectors = 1;
    c->addr_mode = ADDR_NONE;
    open_block(c, 0);
    raise_irq(c);
}

static int is_ext(uint8_t cmd)
{
    switch (cmd) {
    case CMD_READ_EXT: case CMD_READ_MULT_EXT: case CMD_WRITE_EXT:
    case CMD_WRITE_MULT_EXT: case CMD_VERIFY_EXT:
        return 1;
    default:
        return 0;
    }
}

/* Decode the command's address and count; 0 with c->lba, c->remaining
 * and c->addr_mode set, or -1 (the command has been ended with IDNF). */
static int decode_range(struct ata_channel *c, uint8_t cmd)
{
    uint64_t lba;
    uint32_t count;

    if (is_ext(cmd)) {
        lba = (uint64_t)c->hob_lbah << 40 | (uint64_t)c->hob_lbam << 32 |
              (uint64_t)c->hob_lbal << 24 | (uint64_t)c->lbah << 16 |
              (uint64_t)c->lbam << 8 | c->lbal;
        count = (uint32_t)c->hob_nsect << 8 | c->nsect;
        if (count == 0)
            count = 65536;
        c->addr_mode = ADDR_LBA48;
    } else {
        count = c->nsect ? c->nsect : 256;
        if (c->device & DEV_LBA) {
            lba = (uint64_t)(c->device & 0x0f) << 24 | (uint64_t)c->lbah << 16 |
                  (uint64_t)c->lbam << 8 | c->lbal;
            c->addr_mode = ADDR_LBA28;
        } else {
            uint64_t cyl = (uint64_t)c->lbah << 8 | c->lbam;
            unsigned int head = c->device & 0x0f, sector = c->lbal;
            if (sector == 0 || sector > GEOM_SPT) {
                finish_err(c, ATA_ER_IDNF);
                return -1;
            }
            lba = (cyl * GEOM_HEADS + head) * GEOM_SPT + sector - 1;
            c->addr_mode = ADDR_CHS;
        }
    }
    if (lba >= c->nsectors || count > c->nsectors - lba) {
        finish_err(c, ATA_ER_IDNF);
        return -1;
    }
    c->lba = lba;
    c->remaining = count;
    return 0;
}

static void cmd_rw(struct ata_channel *c, uint8_t cmd, int write, int multiple)
{
    if (multiple && !c->multiple) {
        finish_err(c, ATA_ER_ABRT); /* SET MULTIPLE MODE has not enabled it */
        return;
    }
    if (write && c->readonly) {
        finish_err(c, ATA_ER_ABRT);
        return;
    }
    if (decode_range(c, cmd) < 0)
        return;
    c->cmd = cmd;
    c->writing = write;
    c->block = multiple ? c->multiple : 1;
    c->buf_sectors = 0;
    if (write)
        open_block(c, 0); /* the first block: DRQ without an interrupt */
    else
        start_fetch(c);
}

static void cmd_set_features(struct ata_channel *c)
{
    switch (c->feature) {
    case 0x03: /* set transfer mode: PIO default, PIO modes 0-4 */
        if (c->nsect <= 0x01 || (c->nsect >= 0x08 && c->nsect <= 0x0c))
            finish_ok(c);
        else
            finish_err(c, ATA_ER_ABRT);
        break;
    case 0x02:
        c->wcache = 1;
        finish_ok(c);
        break;
    case 0x82:
        c->wcache = 0;
        finish_ok(c);
        break;
    case 0x66: /* keep settings over a reset */
    case 0xcc: /* revert to power-on defaults */
        finish_ok(c);
        break;
    default:
        finish_err(c, ATA_ER_ABRT);
        break;
    }
}

static void cmd_read_native_max(struct ata_channel *c, int ext)
{
    if (ext) {
        c->addr_mode = ADDR_LBA48;
        set_tf_lba(c, c->nsectors - 1);
    } else {
        uint64_t n28 = c->nsectors > LBA28_MAX ? LBA28_MAX : c->nsectors;
        c->addr_mode = ADDR_LBA28;
        set_tf_lba(c, n28 - 1);
    }
    finish_ok(c);
}

static void exec_command(struct ata_channel *c, uint8_t cmd)
{
    if (c->device & DEV_DEV1)
        return; /* the absent slave */
    if (c->status & (ATA_ST_BSY | ATA_ST_DRQ))
        return; /* only a reset interrupts a command */
    drop_command(c);
    c->error = 0;
    c->irq = 0;
    update_irq(c);

    switch (cmd) {
    case CMD_IDENTIFY:
        c->cmd = cmd;
        build_identify(c);
        pio_in_buffered(c);
        break;
    case CMD_ID_PACKET:
        set_signature(c); /* not a packet device: the ATA signature stays */
        finish_err(c, ATA_ER_ABRT);
        break;
    case CMD_READ: case CMD_READ_NORETRY: case CMD_READ_EXT:
        cmd_rw(c, cmd, 0, 0);
        break;
    case CMD_READ_MULT: case CMD_READ_MULT_EXT:
        cmd_rw(c, cmd, 0, 1);
        break;
    case CMD_WRITE: case CMD_WRITE_NORETRY: case CMD_WRITE_EXT:
        cmd_rw(c, cmd, 1, 0);
        break;
    case CMD_WRITE_MULT: case CMD_WRITE_MULT_EXT:
        cmd_rw(c, cmd, 1, 1);
        break;
    case CMD_VERIFY: case CMD_VERIFY_NORETRY: case CMD_VERIFY_EXT:
        if (decode_range(c, cmd) == 0) {
            set_tf_lba(c, c->lba + c->remaining - 1);
            finish_ok(c);
        }
        break;
    case CMD_SET_MULT:
        if (c->nsect <= ATA_BUF_SECTORS && (c->nsect & (c->nsect - 1)) == 0) {
            c->multiple = c->nsect;
            finish_ok(c);
        } else {
            finish_err(c, ATA_ER_ABRT);
        }
        break;
    case CMD_SET_FEATURES:
        cmd_set_features(c);
        break;
    case CMD_INIT_PARAMS:
        finish_ok(c); /* the translation stays 16 heads, 63 sectors */
        break;
    case CMD_DIAGNOSE:
        set_signature(c);
        c->error = 0x01; /* device 0 passed, device 1 absent */
        finish_ok(c);
        break;
    case CMD_FLUSH: case CMD_FLUSH_EXT:
        c->cmd = cmd;
        c->lba = 0;
        start_io(c, ATA_IO_FLUSH, 0);
        break;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: /* STANDBY/IDLE (IMMEDIATE) */
    case 0x94: case 0x95: case 0x96: case 0x97: /* their old numbers */
        finish_ok(c);
        break;
    case CMD_CHECK_POWER:
        c->nsect = 0xff; /* active or idle */
        finish_ok(c);
        break;
    case CMD_READ_NATIVE:
        cmd_read_native_max(c, 0);
        break;
    case CMD_READ_NATIVE_EXT:
        cmd_read_native_max(c, 1);
        break;
    default:
        if (cmd >= CMD_RECALIBRATE && cmd <= CMD_RECALIBRATE + 0x0f) {
            finish_ok(c);
            break;
        }
        finish_err(c, ATA_ER_ABRT); /* DMA, NOP, queued, packet, unknown */
        break;
    }
}

static void soft_reset_begin(struct ata_channel *c)
{
    drop_command(c);
    if (c->busy_io)
        c->stale_io = 1; /* its answer will be dropped */
    c->status = ATA_ST_BSY;
    c->irq = 0;
}

static void soft_reset_end(struct ata_channel *c)
{
    set_signature(c);
    c->error = 0x01;
    c->status = c->busy_io ? ATA_ST_BSY : (ATA_ST_DRDY | ATA_ST_DSC);
}

void ata_init(struct ata_channel *c, const struct ata_backend *be, uint64_t nsectors,
              int readonly, const char *model, const char *serial)
{
    memset(c, 0, sizeof(*c));
    c->be = be;
    c->nsectors = nsectors;
    c->readonly = readonly;
    for (unsigned int i = 0; model && model[i] && i < sizeof(c->model) - 1; i++)
        c->model[i] = model[i];
    for (unsigned int i = 0; serial && serial[i] && i < sizeof(c->serial) - 1; i++)
        c->serial[i] = serial[i];
    c->wcache = 1;
    /* multiple mode on at power-on with its largest block, as QEMU's IDE
     * disk: IDENTIFY word 59 says so, and Linux (which never sends SET
     * MULTIPLE itself) then reads and writes 16 sectors per interrupt */
    c->multiple = ATA_BUF_SECTORS;
    set_signature(c);
    c->error = 0x01;
    c->status = ATA_ST_DRDY | ATA_ST_DSC;
}

static int slave_selected(const struct ata_channel *c)
{
    return (c->device & DEV_DEV1) != 0;
}

static int data_ready(const struct ata_channel *c)
{
    return !slave_selected(c) && (c->status & ATA_ST_DRQ) && !(c->status & ATA_ST_BSY) &&
           c->pos < c->end;
}

static uint32_t data_read(struct ata_channel *c, unsigned int size)
{
    uint32_t val = 0;
    if (!data_ready(c) || c->writing)
        return size >= 4 ? 0xffffffffu : (size == 2 ? 0xffffu : 0xffu);
    for (unsigned int i = 0; i < size; i++) {
        uint8_t b = 0xff;
        if (c->pos < c->end)
            b = c->buf[c->pos++];
        val |= (uint32_t)b << (8 * i);
    }
    if (c->pos >= c->end)
        block_done(c);
    return val;
}

static void data_write(struct ata_channel *c, unsigned int size, uint32_t val)
{
    if (!data_ready(c) || !c->writing)
        return;
    for (unsigned int i = 0; i < size && c->pos < c->end; i++)
        c->buf[c->pos++] = (uint8_t)(val >> (8 * i));
    if (c->pos >= c->end)
        block_done(c);
}

uint32_t ata_read(struct ata_channel *c, unsigned int reg, unsigned int size)
{
    int hob = (c->ctl & ATA_CTL_HOB) != 0;

    if (reg == ATA_REG_DATA) {
        if (size != 2 && size != 4)
            size = 1;
        return data_read(c, size);
    }
    if (reg == ATA_REG_CTL)
        return slave_selected(c) ? 0 : c->status;
    if (reg == ATA_REG_DEVICE)
        return c->device; /* the channel's, whichever device it selects */
    if (reg == ATA_REG_STATUS) {
        c->irq = 0;
        update_irq(c);
        return slave_selected(c) ? 0 : c->status;
    }
    if (reg > ATA_REG_CTL || slave_selected(c))
        return 0;
    switch (reg) {
    case ATA_REG_ERROR:
        return hob ? c->hob_feature : c->error;
    case ATA_REG_NSECT:
        return hob ? c->hob_nsect : c->nsect;
    case ATA_REG_LBAL:
        return hob ? c->hob_lbal : c->lbal;
    case ATA_REG_LBAM:
        return hob ? c->hob_lbam : c->lbam;
    case ATA_REG_LBAH:
        return hob ? c->hob_lbah : c->lbah;
    default:
        return 0;
    }
}

void ata_write(struct ata_channel *c, unsigned int reg, unsigned int size, uint32_t val)
{
    uint8_t v = (uint8_t)val;

    if (reg == ATA_REG_DATA) {
        if (size != 2 && size != 4)
            size = 1;
        data_write(c, size, val);
        return;
    }
    if (reg == ATA_REG_CTL) {
        uint8_t old = c->ctl;
        c->ctl = v;
        if ((v & ATA_CTL_SRST) && !(old & ATA_CTL_SRST))
            soft_reset_begin(c);
        else if (!(v & ATA_CTL_SRST) && (old & ATA_CTL_SRST))
            soft_reset_end(c);
        update_irq(c);
        return;
    }
    if (reg > ATA_REG_CTL || (c->status & ATA_ST_BSY))
        return; /* the command block is the device's while it is busy */
    c->ctl &= (uint8_t)~ATA_CTL_HOB;
    switch (reg) {
    case ATA_REG_ERROR:
        c->hob_feature = c->feature;
        c->feature = v;
        break;
    case ATA_REG_NSECT:
        c->hob_nsect = c->nsect;
        c->nsect = v;
        break;
    case ATA_REG_LBAL:
        c->hob_lbal = c->lbal;
        c->lbal = v;
        break;
    case ATA_REG_LBAM:
        c->hob_lbam = c->lbam;
        c->lbam = v;
        break;
    case ATA_REG_LBAH:
        c->hob_lbah = c->lbah;
        c->lbah = v;
        break;
    case ATA_REG_DEVICE:
        c->device = v;
        break;
    case ATA_REG_STATUS:
        exec_command(c, v);
        break;
    }
}
