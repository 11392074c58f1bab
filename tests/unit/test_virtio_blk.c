/*
 * test_virtio_blk.c - host unit tests for the pure half of dom0's
 * virtio-blk driver (guest-drivers/virtio/vblk_req.c): device
 * configuration to blkdev_info and limits (SEG_MAX, SIZE_MAX, BLK_SIZE,
 * RO, FLUSH, queue size), request chains (header readable, data in the
 * right direction, status writable last, adjacent segments merged within
 * size_max, seg_max enforced), status/used-length mapping, and one
 * request end to end through a real virtq (virtq.c) and a fake device
 * that reads the header from the chain and writes the status.
 * Links: vblk_req.c, virtq.c. Mocks: none (barriers are NULL hooks);
 * "machine addresses" are host pointers so the fake device can follow them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/virtio_blk.h>
#include <xlguest/virtio_pci.h>

#define F(b) VIRTIO_BIT(b)

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* QEMU's defaults: capacity, size_max 0, seg_max 126 (queue 256 - 2), blk_size 512. */
static void qemu_cfg(uint8_t *cfg, uint64_t cap)
{
    memset(cfg, 0, VBLK_CFG_LEN);
    put32(cfg + VBLK_CFG_CAPACITY, (uint32_t)cap);
    put32(cfg + VBLK_CFG_CAPACITY + 4, (uint32_t)(cap >> 32));
    put32(cfg + VBLK_CFG_SEG_MAX, 126);
    put32(cfg + VBLK_CFG_BLK_SIZE, 512);
}

static const uint64_t qemu_feats = F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) |
                                   F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_F_VERSION_1);

static void test_setup_qemu(void **st)
{
    (void)st;
    uint8_t cfg[VBLK_CFG_LEN];
    struct blkdev_info in;
    struct vblk_limits lim;
    qemu_cfg(cfg, 0x100000000ULL + 32768);
    assert_int_equal(vblk_setup(qemu_feats, cfg, 256, 32, &in, &lim), 0);
    assert_true(in.nr_sectors == 0x100000000ULL + 32768);
    assert_int_equal(in.lblock_size, 512);
    assert_int_equal(in.read_only, 0);
    assert_int_equal(in.has_flush, 1);
    assert_int_equal(lim.seg_max, BLKDEV_MAX_SEGS);   /* 126 clipped to ours */
    assert_int_equal(lim.size_max, 0);
    assert_int_equal(in.max_inflight, 256 / (BLKDEV_MAX_SEGS + 2));
    /* The caller's slot count caps it. */
    assert_int_equal(vblk_setup(qemu_feats, cfg, 256, 4, &in, &lim), 0);
    assert_int_equal(in.max_inflight, 4);
}

static void test_setup_features(void **st)
{
    (void)st;
    uint8_t cfg[VBLK_CFG_LEN];
    struct blkdev_info in;
    struct vblk_limits lim;
    qemu_cfg(cfg, 2048);
    put32(cfg + VBLK_CFG_SEG_MAX, 1);
    put32(cfg + VBLK_CFG_SIZE_MAX, 4096);
    put32(cfg + VBLK_CFG_BLK_SIZE, 4096);
    uint64_t f = F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) |
                 F(VIRTIO_BLK_F_RO);
    assert_int_equal(vblk_setup(f, cfg, 64, 32, &in, &lim), 0);
    assert_int_equal(lim.seg_max, 1);
    assert_int_equal(lim.size_max, 4096);
    assert_int_equal(in.lblock_size, 4096);
    assert_int_equal(in.read_only, 1);
    assert_int_equal(in.has_flush, 0);
    assert_int_equal(in.max_inflight, 21);  /* 64 / 3 */
    /* Fields whose feature was not negotiated are not believed. */
    assert_int_equal(vblk_setup(0, cfg, 64, 32, &in, &lim), 0);
    assert_int_equal(lim.seg_max, BLKDEV_MAX_SEGS);
    assert_int_equal(lim.size_max, 0);
    assert_int_equal(in.lblock_size, 512);
    assert_int_equal(in.read_only, 0);
    /* A block size that is no power of two in 512..4096 is ignored. */
    put32(cfg + VBLK_CFG_BLK_SIZE, 1000);
    assert_int_equal(vblk_setup(f, cfg, 64, 32, &in, &lim), 0);
    assert_int_equal(in.lblock_size, 512);
    put32(cfg + VBLK_CFG_BLK_SIZE, 8192);
    assert_int_equal(vblk_setup(f, cfg, 64, 32, &in, &lim), 0);
    assert_int_equal(in.lblock_size, 512);
}

static void test_setup_refuses(void **st)
{
    (void)st;
    uint8_t cfg[VBLK_CFG_LEN];
    struct blkdev_info in;
    struct vblk_limits lim;
    qemu_cfg(cfg, 0);
    assert_int_equal(vblk_setup(qemu_feats, cfg, 256, 32, &in, &lim), -XEN_ENODEV);
    qemu_cfg(cfg, 100);
    /* 16 segments + header + status do not fit 16 descriptors. */
    assert_int_equal(vblk_setup(qemu_feats, cfg, 16, 32, &in, &lim), -XEN_ENODEV);
    assert_int_equal(vblk_setup(qemu_feats, cfg, 32, 32, &in, &lim), 0);
    assert_int_equal(in.max_inflight, 1);
    put32(cfg + VBLK_CFG_SEG_MAX, 0);
    assert_int_equal(vblk_setup(qemu_feats, cfg, 256, 32, &in, &lim), -XEN_ENODEV);
    qemu_cfg(cfg, 100);
    put32(cfg + VBLK_CFG_SIZE_MAX, 256);
    assert_int_equal(vblk_setup(qemu_feats | F(VIRTIO_BLK_F_SIZE_MAX), cfg, 256, 32, &in, &lim),
                     -XEN_ENODEV);
    assert_int_equal(vblk_setup(qemu_feats, cfg, 256, 0, &in, &lim), -XEN_ENODEV);
}

static struct blkdev_req mkreq(enum blkdev_op op, uint64_t sector, unsigned int n,
                               const uint64_t *maddr, const uint32_t *len)
{
    struct blkdev_req r = { .op = op, .sector = sector, .nr_segs = n };
    for (unsigned int i = 0; i < n; i++)
        r.seg[i] = (struct blkdev_seg){ .maddr = maddr[i], .len = len[i] };
    return r;
}

static const struct vblk_limits wide = { .seg_max = BLKDEV_MAX_SEGS, .size_max = 0 };

static void test_build_read_write_flush(void **st)
{
    (void)st;
    struct virtio_blk_outhdr h;
    struct virtq_buf out[17], in[17];
    unsigned int no, ni;
    uint64_t ma[3] = { 0x5000, 0x9200, 0x3000 };
    uint32_t ln[3] = { 4096, 512, 1024 };

    struct blkdev_req r = mkreq(BLKDEV_READ, 77, 3, ma, ln);
    assert_int_equal(vblk_build(&r, &wide, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    assert_int_equal(h.type, VIRTIO_BLK_T_IN);
    assert_true(h.sector == 77);
    assert_int_equal(h.ioprio, 0);
    assert_int_equal(no, 1);
    assert_true(out[0].addr == 0x1000 && out[0].len == 16);
    assert_int_equal(ni, 4);
    for (int i = 0; i < 3; i++)
        assert_true(in[i].addr == ma[i] && in[i].len == ln[i]);
    assert_true(in[3].addr == 0x1800 && in[3].len == 1);

    r = mkreq(BLKDEV_WRITE, 5, 3, ma, ln);
    assert_int_equal(vblk_build(&r, &wide, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    assert_int_equal(h.type, VIRTIO_BLK_T_OUT);
    assert_true(h.sector == 5);
    assert_int_equal(no, 4);
    assert_true(out[0].addr == 0x1000 && out[0].len == 16);
    for (int i = 0; i < 3; i++)
        assert_true(out[1 + i].addr == ma[i] && out[1 + i].len == ln[i]);
    assert_int_equal(ni, 1);
    assert_true(in[0].addr == 0x1800 && in[0].len == 1);

    r = mkreq(BLKDEV_FLUSH, 0, 0, NULL, NULL);
    h.sector = 1234;
    assert_int_equal(vblk_build(&r, &wide, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    assert_int_equal(h.type, VIRTIO_BLK_T_FLUSH);
    assert_true(h.sector == 0);
    assert_int_equal(no, 1);
    assert_int_equal(ni, 1);
    assert_true(in[0].addr == 0x1800);

    r.op = (enum blkdev_op)7;
    assert_int_equal(vblk_build(&r, &wide, &h, 0x1000, 0x1800, out, &no, in, &ni), -XEN_EINVAL);
}

static void test_build_merge_and_limits(void **st)
{
    (void)st;
    struct virtio_blk_outhdr h;
    struct virtq_buf out[17], in[17];
    unsigned int no, ni;
    /* Three pages, the first two physically adjacent. */
    uint64_t ma[3] = { 0x10000, 0x11000, 0x20000 };
    uint32_t ln[3] = { 4096, 4096, 4096 };
    struct blkdev_req r = mkreq(BLKDEV_WRITE, 0, 3, ma, ln);
    assert_int_equal(vblk_build(&r, &wide, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    assert_int_equal(no, 3);
    assert_true(out[1].addr == 0x10000 && out[1].len == 8192);
    assert_true(out[2].addr == 0x20000 && out[2].len == 4096);
    /* seg_max 2 holds it only thanks to the merge. */
    struct vblk_limits two = { .seg_max = 2 };
    assert_int_equal(vblk_build(&r, &two, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    /* size_max 4096 forbids the merge: three segments then. */
    struct vblk_limits two_small = { .seg_max = 2, .size_max = 4096 };
    assert_int_equal(vblk_build(&r, &two_small, &h, 0x1000, 0x1800, out, &no, in, &ni),
                     -XEN_EINVAL);
    struct vblk_limits three_small = { .seg_max = 3, .size_max = 4096 };
    r.op = BLKDEV_READ;
    assert_int_equal(vblk_build(&r, &three_small, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    assert_int_equal(ni, 4);
    assert_true(in[0].len == 4096 && in[1].len == 4096 && in[2].len == 4096);
    assert_true(in[3].len == 1);
    /* A segment longer than size_max cannot be sent at all. */
    struct vblk_limits tiny = { .seg_max = 16, .size_max = 1024 };
    assert_int_equal(vblk_build(&r, &tiny, &h, 0x1000, 0x1800, out, &no, in, &ni), -XEN_EINVAL);
    /* 16 scattered segments: the most a request has. */
    uint64_t m16[16];
    uint32_t l16[16];
    for (int i = 0; i < 16; i++) {
        m16[i] = 0x100000 + 0x2000 * (uint64_t)i;
        l16[i] = 512;
    }
    r = mkreq(BLKDEV_READ, 9, 16, m16, l16);
    assert_int_equal(vblk_build(&r, &wide, &h, 0x1000, 0x1800, out, &no, in, &ni), 0);
    assert_int_equal(ni, 17);
    struct vblk_limits fifteen = { .seg_max = 15 };
    assert_int_equal(vblk_build(&r, &fifteen, &h, 0x1000, 0x1800, out, &no, in, &ni),
                     -XEN_EINVAL);
}

static void test_status(void **st)
{
    (void)st;
    assert_int_equal(vblk_status(VIRTIO_BLK_S_OK, 4097, 4097, BLKDEV_READ), 0);
    assert_int_equal(vblk_status(VIRTIO_BLK_S_OK, 4096, 4097, BLKDEV_READ), -XEN_EIO);
    assert_int_equal(vblk_status(VIRTIO_BLK_S_OK, 1, 1, BLKDEV_WRITE), 0);
    assert_int_equal(vblk_status(VIRTIO_BLK_S_OK, 1, 1, BLKDEV_FLUSH), 0);
    assert_int_equal(vblk_status(VIRTIO_BLK_S_OK, 0, 1, BLKDEV_WRITE), -XEN_EIO);
    assert_int_equal(vblk_status(VIRTIO_BLK_S_IOERR, 1, 1, BLKDEV_WRITE), -XEN_EIO);
    assert_int_equal(vblk_status(VIRTIO_BLK_S_UNSUPP, 1, 1, BLKDEV_FLUSH), -XEN_EOPNOTSUPP);
    assert_int_equal(vblk_status(VBLK_STATUS_UNSET, 4097, 4097, BLKDEV_READ), -XEN_EIO);
    assert_int_equal(vblk_status(3, 1, 1, BLKDEV_WRITE), -XEN_EIO);
}

/* One read through a real virtq: the fake device walks the chain,
 * checks the header it finds at the readable buffer, fills the data and
 * writes the status, then returns the head. */
static _Alignas(16) uint8_t desc_mem[16 * 32];
static _Alignas(4) uint8_t avail_mem[6 + 2 * 32];
static _Alignas(4) uint8_t used_mem[6 + 8 * 32];
static struct virtq_slot slots[32];

static void test_end_to_end_read(void **st)
{
    (void)st;
    struct virtq vq;
    assert_int_equal(virtq_init(&vq, 32, desc_mem, avail_mem, used_mem, slots, false, NULL), 0);
    static uint8_t data[3][512];   /* 0 and 2: not adjacent, not merged */
    struct virtio_blk_outhdr h;
    uint8_t status = VBLK_STATUS_UNSET;
    uint64_t ma[2] = { (uint64_t)(uintptr_t)data[0], (uint64_t)(uintptr_t)data[2] };
    uint32_t ln[2] = { 512, 512 };
    struct blkdev_req r = mkreq(BLKDEV_READ, 42, 2, ma, ln);
    struct virtq_buf out[17], in[17];
    unsigned int no, ni;
    assert_int_equal(vblk_build(&r, &wide, &h, (uintptr_t)&h, (uintptr_t)&status, out, &no, in,
                                &ni),
                     0);
    int head = virtq_add(&vq, out, no, in, ni, &r);
    assert_true(head >= 0);
    virtq_publish(&vq);

    /* Device side. */
    uint16_t d = vq.avail->ring[0];
    volatile struct virtq_desc *ds = &vq.desc[d];
    assert_false(ds->flags & VIRTQ_DESC_F_WRITE);
    const struct virtio_blk_outhdr *dh = (const void *)(uintptr_t)ds->addr;
    assert_int_equal(ds->len, 16);
    assert_int_equal(dh->type, VIRTIO_BLK_T_IN);
    assert_true(dh->sector == 42);
    uint32_t written = 0;
    unsigned int n = 0;
    while (ds->flags & VIRTQ_DESC_F_NEXT) {
        ds = &vq.desc[ds->next];
        assert_true(ds->flags & VIRTQ_DESC_F_WRITE);
        memset((void *)(uintptr_t)ds->addr, n < 2 ? 0xa0 + n : VIRTIO_BLK_S_OK, ds->len);
        written += ds->len;
        n++;
    }
    assert_int_equal(n, 3);
    vq.used->ring[0].id = d;
    vq.used->ring[0].len = written;
    vq.used->idx = 1;

    void *tok;
    uint32_t len;
    assert_int_equal(virtq_get_used(&vq, &tok, &len), 1);
    assert_ptr_equal(tok, &r);
    assert_int_equal(vblk_status(status, len, 1025, r.op), 0);
    assert_int_equal(data[0][511], 0xa0);
    assert_int_equal(data[2][0], 0xa1);
    assert_int_equal(data[1][0], 0);
    assert_int_equal(vq.num_free, 32);
}

/* The invariant behind max_inflight: that many requests of the most
 * segments a request may have all fit the queue at once. */
static _Alignas(16) uint8_t bdesc[16 * 256];
static _Alignas(4) uint8_t bavail[6 + 2 * 256];
static _Alignas(4) uint8_t bused[6 + 8 * 256];
static struct virtq_slot bslots[256];

static void test_max_inflight_fits(void **st)
{
    (void)st;
    static const uint16_t qsizes[] = { 32, 64, 128, 256 };
    static const uint32_t segmaxes[] = { 1, 3, 16, 126 };
    for (unsigned int qi = 0; qi < 4; qi++) {
        for (unsigned int si = 0; si < 4; si++) {
            uint8_t cfg[VBLK_CFG_LEN];
            struct blkdev_info in;
            struct vblk_limits lim;
            struct virtq vq;
            qemu_cfg(cfg, 1 << 20);
            put32(cfg + VBLK_CFG_SEG_MAX, segmaxes[si]);
            assert_int_equal(vblk_setup(qemu_feats, cfg, qsizes[qi], 1000, &in, &lim), 0);
            assert_int_equal(virtq_init(&vq, qsizes[qi], bdesc, bavail, bused, bslots, true, NULL),
                             0);
            static struct blkdev_req r[256];
            for (unsigned int k = 0; k < in.max_inflight; k++) {
                uint64_t ma[16];
                uint32_t ln[16];
                for (unsigned int g = 0; g < lim.seg_max; g++) {
                    ma[g] = 0x100000 * (k + 1) + 0x2000 * (uint64_t)g;   /* never adjacent */
                    ln[g] = 512;
                }
                r[k] = mkreq(BLKDEV_READ, k, lim.seg_max, ma, ln);
                struct virtio_blk_outhdr h;
                struct virtq_buf out[17], inb[17];
                unsigned int no, ni;
                assert_int_equal(vblk_build(&r[k], &lim, &h, 0x1000, 0x1800, out, &no, inb, &ni), 0);
                assert_true(virtq_add(&vq, out, no, inb, ni, &r[k]) >= 0);
            }
            /* And not one more (else max_inflight wastes the queue). */
            assert_true(vq.num_free < lim.seg_max + 2);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_qemu),
        cmocka_unit_test(test_setup_features),
        cmocka_unit_test(test_setup_refuses),
        cmocka_unit_test(test_build_read_write_flush),
        cmocka_unit_test(test_build_merge_and_limits),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_end_to_end_read),
        cmocka_unit_test(test_max_inflight_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
