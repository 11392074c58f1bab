/*
 * test_blkif.c - host unit tests for blkback's request judge
 * (guest-drivers/blk/blkif_req.c, xlguest/blkif_req.h): every operation
 * accepted and refused with the right status and rule, segment sector
 * bounds, grant refs, device range at the edge and under overflow,
 * logical-block alignment, indirect requests in both steps, read-only
 * devices, and random garbage whose accepted verdicts must still respect
 * every invariant. Links: blkif_req.c only. Mocks: nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xlguest/blkif_req.h>

static struct blkif_dev dev_all(void)
{
    struct blkif_dev d = {
        .nr_sectors = 1024, .lblock_sectors = 1, .read_only = false,
        .features = BLKDEV_F_BARRIER | BLKDEV_F_FLUSH | BLKDEV_F_DISCARD,
        .max_indirect_segs = 64, .gref_limit = 4096,
    };
    return d;
}

static struct blkif_request rw(uint8_t op, uint64_t sector, unsigned nseg)
{
    struct blkif_request r;
    memset(&r, 0, sizeof(r));
    r.operation = op;
    r.nr_segments = (uint8_t)nseg;
    r.id = 0x1234567890abcdefull;
    r.sector_number = sector;
    for (unsigned i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        r.seg[i].gref = 100 + i;
        r.seg[i].first_sect = 0;
        r.seg[i].last_sect = 7;
    }
    return r;
}

#define EXPECT(dev, req, status, why_)                                          \
    do {                                                                        \
        struct blkif_parsed p_;                                                 \
        int st_ = blkif_req_check(dev, req, &p_);                               \
        if (st_ != (status) || p_.why != (why_))                                \
            fail_msg("%s:%d: status %d why '%s', want %d '%s'", __FILE__, __LINE__, \
                     st_, blkif_why_str(p_.why), status, blkif_why_str(why_));   \
    } while (0)

static void test_read_write_ok(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_READ, 16, 3);
    r.seg[1].first_sect = 2;
    r.seg[1].last_sect = 5;
    struct blkif_parsed p;
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(p.op, BLKIF_OP_READ);
    assert_int_equal(p.operation, BLKIF_OP_READ);
    assert_int_equal(p.nr_segments, 3);
    assert_int_equal(p.sector, 16);
    assert_int_equal(p.nr_sectors, 8 + 4 + 8);
    assert_int_equal(p.seg[1].gref, 101);
    assert_int_equal(p.seg[1].first_sect, 2);
    assert_true(p.id == 0x1234567890abcdefull);

    r = rw(BLKIF_OP_WRITE, 0, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(p.nr_sectors, 88);
    r.seg[10].first_sect = 7;   /* one sector at the end of the page */
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(p.nr_sectors, 81);
}

static void test_segment_counts(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_READ, 0, 0);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_NO_SEGMENTS);
    r = rw(BLKIF_OP_WRITE, 0, 0);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_NO_SEGMENTS);
    r = rw(BLKIF_OP_READ, 0, 11);
    r.nr_segments = 12;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_TOO_MANY_SEGMENTS);
    r.nr_segments = 255;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_TOO_MANY_SEGMENTS);
    /* Ordering operations may carry no data. */
    r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0xffffffffffffffffull, 0);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    r = rw(BLKIF_OP_WRITE_BARRIER, 5000, 0);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    /* ... but data they carry is checked like a write's. */
    r = rw(BLKIF_OP_WRITE_BARRIER, 1020, 1);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    r = rw(BLKIF_OP_FLUSH_DISKCACHE, 8, 2);
    r.seg[1].last_sect = 8;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_SECT);
}

static void test_segment_sectors(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_READ, 0, 2);
    r.seg[1].first_sect = 4;
    r.seg[1].last_sect = 3;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_SECT);
    r.seg[1].first_sect = 0;
    r.seg[1].last_sect = 8;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_SECT);
    r.seg[1].first_sect = 255;
    r.seg[1].last_sect = 255;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_SECT);
    r.seg[1].first_sect = 7;
    r.seg[1].last_sect = 7;
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
}

static void test_grefs(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_READ, 0, 2);
    r.seg[1].gref = 0;  /* the console's reserved entry */
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_GREF);
    r.seg[1].gref = GNTTAB_NR_RESERVED_ENTRIES - 1;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_GREF);
    r.seg[1].gref = GNTTAB_NR_RESERVED_ENTRIES;
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    r.seg[1].gref = 4095;
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    r.seg[1].gref = 4096;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_GREF);
    d.gref_limit = 0;   /* unknown table size: the map will decide */
    r.seg[1].gref = 0xfffffff0u;
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
}

static void test_device_range(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_READ, 1024 - 16, 2);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);          /* ends on the last sector */
    r.sector_number = 1024 - 15;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);  /* one past */
    r.sector_number = 1024;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    /* sector + length wraps to a small number: still outside. */
    r.sector_number = 0xfffffffffffffff8ull;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    r.sector_number = 0xffffffffffffffffull;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    /* An empty device accepts nothing with data. */
    d.nr_sectors = 0;
    r.sector_number = 0;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
}

static void test_discard(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r;
    memset(&r, 0, sizeof(r));
    struct blkif_request_discard *dr = (struct blkif_request_discard *)&r;
    dr->operation = BLKIF_OP_DISCARD;
    dr->id = 9;
    dr->sector_number = 24;
    dr->nr_sectors = 1000;
    dr->flag = BLKIF_DISCARD_SECURE;
    struct blkif_parsed p;
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(p.op, BLKIF_OP_DISCARD);
    assert_int_equal(p.sector, 24);
    assert_int_equal(p.nr_sectors, 1000);
    assert_false(p.secure);            /* discard-secure not advertised */
    d.features |= BLKDEV_F_SECURE_DISCARD;
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_true(p.secure);
    dr->nr_sectors = 1001;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    dr->sector_number = 1;
    dr->nr_sectors = 0xffffffffffffffffull;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    dr->sector_number = 0xffffffffffffff00ull;
    dr->nr_sectors = 0x200;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    dr->sector_number = 0;
    dr->nr_sectors = 8;
    d.read_only = true;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_READ_ONLY);
    d.read_only = false;
    d.features &= ~BLKDEV_F_DISCARD;
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_NOT_ADVERTISED);
}

static void test_unknown_and_unadvertised(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_RESERVED_1, 0, 1);
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_UNKNOWN_OP);
    r.operation = 7;
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_UNKNOWN_OP);
    r.operation = 255;
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_UNKNOWN_OP);
    d.features = 0;
    d.max_indirect_segs = 0;
    r = rw(BLKIF_OP_WRITE_BARRIER, 0, 1);
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_NOT_ADVERTISED);
    r.operation = BLKIF_OP_FLUSH_DISKCACHE;
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_NOT_ADVERTISED);
    r.operation = BLKIF_OP_INDIRECT;
    EXPECT(&d, &r, BLKIF_RSP_EOPNOTSUPP, BLKIF_WHY_NOT_ADVERTISED);
    /* The plain operations need no feature. */
    r = rw(BLKIF_OP_WRITE, 0, 1);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
}

static void test_read_only(void **state)
{
    struct blkif_dev d = dev_all();
    d.read_only = true;
    struct blkif_request r = rw(BLKIF_OP_READ, 0, 1);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    r.operation = BLKIF_OP_WRITE;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_READ_ONLY);
    r.operation = BLKIF_OP_WRITE_BARRIER;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_READ_ONLY);
    r.operation = BLKIF_OP_FLUSH_DISKCACHE;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_READ_ONLY);
}

static void test_logical_block_alignment(void **state)
{
    struct blkif_dev d = dev_all();
    d.lblock_sectors = 8;          /* a 4K-sector disk */
    struct blkif_request r = rw(BLKIF_OP_READ, 8, 2);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    r.sector_number = 4;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_ALIGN);
    r.sector_number = 8;
    r.seg[1].last_sect = 6;        /* 7 sectors: not a whole block */
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_ALIGN);
    d.lblock_sectors = 3;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_DEVICE);
    d.lblock_sectors = 0;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_DEVICE);
}

static struct blkif_request indirect(uint8_t op, uint64_t sector, uint16_t nseg)
{
    struct blkif_request r;
    memset(&r, 0, sizeof(r));
    struct blkif_request_indirect *ir = (struct blkif_request_indirect *)&r;
    ir->operation = BLKIF_OP_INDIRECT;
    ir->indirect_op = op;
    ir->nr_segments = nseg;
    ir->id = 77;
    ir->sector_number = sector;
    for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
        ir->indirect_grefs[i] = 500 + i;
    return r;
}

static void test_indirect(void **state)
{
    struct blkif_dev d = dev_all();
    d.nr_sectors = 1u << 20;
    d.max_indirect_segs = 1024;
    struct blkif_request r = indirect(BLKIF_OP_WRITE, 64, 513);
    struct blkif_parsed p;
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(p.operation, BLKIF_OP_INDIRECT);
    assert_int_equal(p.op, BLKIF_OP_WRITE);
    assert_int_equal(p.nr_segments, 513);
    assert_int_equal(p.nr_indirect_pages, 2);   /* 512 segments a page */
    assert_int_equal(p.indirect_grefs[1], 501);

    static struct blkif_request_segment segs[1024];
    for (unsigned i = 0; i < 513; i++)
        segs[i] = (struct blkif_request_segment){ .gref = 1000 + i, .first_sect = 0, .last_sect = 7 };
    assert_int_equal(blkif_req_check_indirect_segs(&d, &p, segs, 513), BLKIF_RSP_OKAY);
    assert_int_equal(p.nr_sectors, 513 * 8);

    /* The count copied out must be the one the request claimed. */
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(blkif_req_check_indirect_segs(&d, &p, segs, 512), BLKIF_RSP_ERROR);
    assert_int_equal(p.why, BLKIF_WHY_INDIRECT_SEGS);
    /* One bad segment deep in the second page. */
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    segs[600 - 88].last_sect = 9;
    assert_int_equal(blkif_req_check_indirect_segs(&d, &p, segs, 513), BLKIF_RSP_ERROR);
    assert_int_equal(p.why, BLKIF_WHY_BAD_SECT);
    segs[600 - 88].last_sect = 7;
    /* The total only known from the pages runs off the device. */
    r = indirect(BLKIF_OP_READ, (1u << 20) - 4096, 513);
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_OKAY);
    assert_int_equal(blkif_req_check_indirect_segs(&d, &p, segs, 513), BLKIF_RSP_ERROR);
    assert_int_equal(p.why, BLKIF_WHY_RANGE);
    /* A refused request cannot be completed by its segments. */
    r = indirect(BLKIF_OP_READ, 0, 0);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_NO_SEGMENTS);
    assert_int_equal(blkif_req_check(&d, &r, &p), BLKIF_RSP_ERROR);
    assert_int_equal(blkif_req_check_indirect_segs(&d, &p, segs, 0), BLKIF_RSP_ERROR);

    r = indirect(BLKIF_OP_READ, 0, 1025);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_TOO_MANY_SEGMENTS);
    /* Past what 8 indirect pages can hold, even if the device claims more. */
    d.max_indirect_segs = 100000;
    r = indirect(BLKIF_OP_READ, 0, 8 * 512 + 1);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_TOO_MANY_SEGMENTS);
    r = indirect(BLKIF_OP_READ, 0, 8 * 512);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);

    r = indirect(BLKIF_OP_FLUSH_DISKCACHE, 0, 4);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_INDIRECT_OP);
    r = indirect(BLKIF_OP_INDIRECT, 0, 4);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_INDIRECT_OP);

    /* Only the indirect pages in use need good grants. */
    r = indirect(BLKIF_OP_READ, 0, 512);
    struct blkif_request_indirect *ir = (struct blkif_request_indirect *)&r;
    ir->indirect_grefs[1] = 0;
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
    ir->indirect_grefs[0] = 3;
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_BAD_GREF);

    r = indirect(BLKIF_OP_READ, (1u << 20) - 2, 4); /* cannot fit even 1 sector a segment */
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_RANGE);
    d.read_only = true;
    r = indirect(BLKIF_OP_WRITE, 0, 4);
    EXPECT(&d, &r, BLKIF_RSP_ERROR, BLKIF_WHY_READ_ONLY);
    r = indirect(BLKIF_OP_READ, 0, 4);
    EXPECT(&d, &r, BLKIF_RSP_OKAY, BLKIF_OK);
}

static void test_response(void **state)
{
    struct blkif_dev d = dev_all();
    struct blkif_request r = rw(BLKIF_OP_RESERVED_1, 0, 1);
    r.id = 42;
    struct blkif_parsed p;
    int st = blkif_req_check(&d, &r, &p);
    struct blkif_response rsp;
    blkif_make_response(&p, st, &rsp);
    assert_int_equal(rsp.id, 42);
    assert_int_equal(rsp.operation, BLKIF_OP_RESERVED_1);
    assert_int_equal(rsp.status, BLKIF_RSP_EOPNOTSUPP);
    assert_string_equal(blkif_why_str(p.why), "unknown operation");
    assert_string_equal(blkif_why_str((enum blkif_why)1000), "?");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Garbage in: whatever is accepted must be inside the device, inside its
 * pages, with usable grants; and some garbage must be accepted (so the
 * invariant check runs on something). */
static void test_garbage(void **state)
{
    struct blkif_dev d = dev_all();
    d.nr_sectors = 4096;
    unsigned accepted = 0;
    for (int n = 0; n < 200000; n++) {
        struct blkif_request r;
        uint8_t *b = (uint8_t *)&r;
        for (size_t i = 0; i < sizeof(r); i++)
            b[i] = (uint8_t)rnd();
        /* Bias toward plausible values so the deep checks are reached. */
        r.operation = (uint8_t)(rnd() % 8);
        if (rnd() & 1)
            r.nr_segments = (uint8_t)(rnd() % 13);
        if (rnd() & 1)
            r.sector_number = rnd() % 5000;
        for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
            if (rnd() % 4) {
                r.seg[i].gref = (grant_ref_t)(rnd() % 5000);
                r.seg[i].first_sect = (uint8_t)(rnd() % 9);
                r.seg[i].last_sect = (uint8_t)(rnd() % 9);
            }
        }
        struct blkif_parsed p;
        int st = blkif_req_check(&d, &r, &p);
        assert_true(st == BLKIF_RSP_OKAY || st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP);
        assert_true((st == BLKIF_RSP_OKAY) == (p.why == BLKIF_OK));
        if (st != BLKIF_RSP_OKAY)
            continue;
        accepted++;
        assert_true(p.op <= BLKIF_OP_DISCARD && p.op != BLKIF_OP_RESERVED_1);
        if (p.op == BLKIF_OP_DISCARD || p.nr_segments) {
            assert_true(p.sector < d.nr_sectors || p.nr_sectors == 0);
            assert_true(p.sector + p.nr_sectors <= d.nr_sectors);
            assert_true(p.sector + p.nr_sectors >= p.sector);
        }
        if (p.operation == BLKIF_OP_INDIRECT) {
            assert_true(p.nr_segments >= 1 && p.nr_segments <= d.max_indirect_segs);
            continue;
        }
        uint64_t sum = 0;
        for (unsigned i = 0; i < p.nr_segments; i++) {
            assert_true(p.seg[i].first_sect <= p.seg[i].last_sect && p.seg[i].last_sect < 8);
            assert_true(p.seg[i].gref >= GNTTAB_NR_RESERVED_ENTRIES && p.seg[i].gref < d.gref_limit);
            sum += p.seg[i].last_sect - p.seg[i].first_sect + 1u;
        }
        if (p.op != BLKIF_OP_DISCARD)
            assert_int_equal(sum, p.nr_sectors);
    }
    assert_true(accepted > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_write_ok),
        cmocka_unit_test(test_segment_counts),
        cmocka_unit_test(test_segment_sectors),
        cmocka_unit_test(test_grefs),
        cmocka_unit_test(test_device_range),
        cmocka_unit_test(test_discard),
        cmocka_unit_test(test_unknown_and_unadvertised),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_logical_block_alignment),
        cmocka_unit_test(test_indirect),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
