/*
 * ata.h - an ATA (IDE) hard disk on a legacy controller channel as a
 * device model emulates it for an HVM guest (what QEMU's PIIX IDE is to
 * Xen's HVM guests, without PCI): the command block (8 registers, 0x1f0
 * on the primary channel), the control block (alternate status / device
 * control, 0x3f6), a master disk (the slave position is empty), PIO data
 * transfers only, LBA28, LBA48 and CHS addressing, and the channel's one
 * IRQ line (INTRQ, gated by nIEN).
 * Pure logic, host-tested (tests/unit/test_ata.c); the device model
 * (dm.c) feeds it port accesses and moves sectors between its buffer and
 * a dom0 block device through the backend's io call.
 * Owns: struct ata_channel and its sector buffer. Must never: block,
 * reach a sector at or beyond the disk's size, write a read-only disk,
 * or hand the backend a buffer range outside its own buffer.
 */
#ifndef DOM0_ATA_H
#define DOM0_ATA_H

#include <stdint.h>

#define ATA_SECTOR      512u
#define ATA_BUF_SECTORS 16u     /* sectors the channel moves per backend call */

/* Register numbers for ata_read / ata_write: 0-7 the command block at
 * base+0..7, ATA_REG_CTL the control block (base 0x3f6: alternate status
 * on read, device control on write). */
#define ATA_REG_DATA     0
#define ATA_REG_ERROR    1      /* in: error; out: features */
#define ATA_REG_NSECT    2
#define ATA_REG_LBAL     3
#define ATA_REG_LBAM     4
#define ATA_REG_LBAH     5
#define ATA_REG_DEVICE   6
#define ATA_REG_STATUS   7      /* in: status (reading it drops INTRQ); out: command */
#define ATA_REG_CTL      8

#define ATA_ST_ERR  0x01
#define ATA_ST_DRQ  0x08
#define ATA_ST_DSC  0x10
#define ATA_ST_DF   0x20
#define ATA_ST_DRDY 0x40
#define ATA_ST_BSY  0x80

#define ATA_ER_ABRT 0x04
#define ATA_ER_IDNF 0x10
#define ATA_ER_UNC  0x40

#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
#define ATA_CTL_HOB  0x80

enum ata_io_op { ATA_IO_READ, ATA_IO_WRITE, ATA_IO_FLUSH };

/* What the channel asks of its owner. io starts a transfer of nsect
 * sectors (1..ATA_BUF_SECTORS; 0 for a flush) at lba between the disk
 * and buf (the channel's own buffer) and returns 0 - the owner then
 * calls ata_io_done once, later, never from inside io - or a negative
 * errno (the command then ends with ERR/ABRT). irq reports INTRQ's new
 * level when it changes. */
struct ata_backend {
    void *ctx;
    int (*io)(void *ctx, enum ata_io_op op, uint64_t lba, unsigned int nsect, uint8_t *buf);
    void (*irq)(void *ctx, int level);
};

struct ata_channel {
    const struct ata_backend *be;
    uint64_t nsectors;          /* the master disk's capacity */
    int readonly;
    char model[41], serial[21]; /* IDENTIFY's strings, space padded there */
    /* the task file; hob_* the previous writes (LBA48's high order bytes) */
    uint8_t feature, nsect, lbal, lbam, lbah, hob_feature, hob_nsect, hob_lbal, hob_lbam,
        hob_lbah, device, status, error, ctl;
    int irq;                    /* INTRQ pending (before nIEN gating) */
    int irq_level;              /* the level last reported to be->irq */
    /* the command in progress */
    uint8_t cmd;
    int busy_io;                /* a backend call is out */
    uint64_t lba;               /* next sector of the transfer */
    uint32_t remaining;         /* sectors of the command still to move */
    unsigned int multiple;      /* SET MULTIPLE MODE's block size (0: off) */
    unsigned int drq_sectors;   /* sectors in this DRQ block */
    uint32_t pos, end;          /* byte cursor and end in buf for the DRQ block */
    unsigned int buf_sectors;   /* sectors held in buf (reads) or gathered (writes) */
    unsigned int block;         /* sectors per DRQ block of this command (1 or multiple) */
    int writing;                /* the command moves data out (guest to disk) */
    int addr_mode;              /* how it addressed its sectors (ata.c's ADDR_*) */
    int wcache;                 /* write cache enabled (SET FEATURES 0x02/0x82) */
    int stale_io;               /* the io out belongs to a command a reset cancelled */
    enum ata_io_op io_op;       /* the io out (or last): op, first sector, count */
    uint64_t io_lba;
    unsigned int io_nsect;
    uint8_t buf[ATA_BUF_SECTORS * ATA_SECTOR];
};

/* A channel with a master disk of nsectors (nsectors > 0); model and
 * serial are cut to 40 and 20 characters. Starts as after power-on: the
 * ATA signature in the task file, DRDY|DSC, multiple mode at
 * ATA_BUF_SECTORS (as QEMU's disk; Linux uses READ/WRITE MULTIPLE then). */
void ata_init(struct ata_channel *c, const struct ata_backend *be, uint64_t nsectors,
              int readonly, const char *model, const char *serial);
/* A guest access: size 1 for every register, 2 or 4 also for the data
 * register (other sizes on other registers act on the low byte). */
uint32_t ata_read(struct ata_channel *c, unsigned int reg, unsigned int size);
void ata_write(struct ata_channel *c, unsigned int reg, unsigned int size, uint32_t val);
/* The answer to an io call: 0, or a negative errno (the command ends
 * with ERR: UNC|ABRT for a read, ABRT for a write or flush). */
void ata_io_done(struct ata_channel *c, int status);
/* INTRQ as the pin shows it (pending and nIEN clear). */
int ata_irq_level(const struct ata_channel *c);

#endif
