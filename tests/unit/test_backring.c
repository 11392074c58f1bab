/*
 * test_backring.c - host unit tests for the back end of a Xen shared ring
 * (guest-drivers/ring/backring.c) driven by a front end built from Xen's
 * own ring.h macros over a blkif ring in a page: sizes, take/respond/push,
 * wrap-around of the 32-bit indexes, RING_HAS_UNCONSUMED_REQUESTS's limit
 * by response space, the event checks on both sides, the final check's
 * ordering, and hostile front ends (index jumps, producer moving back,
 * garbage entries judged by blkif_req.c, scribbled rsp_prod, copies that
 * later writes to the shared page cannot change).
 * Links: backring.c, blkif_req.c. Mocks: barrier hooks that log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/backring.h>
#include <xlguest/blkif_req.h>

#define xen_mb()  __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()

static _Alignas(4096) uint8_t page[4096];

/* Barrier log: 'm', 'r', 'w' in order; and the shared index values seen
 * at each point so ordering claims can be checked. */
static char blog[64];
static unsigned blen;
static void log_mb(void *o) { if (blen < sizeof(blog) - 1) blog[blen++] = 'm'; }
static void log_rmb(void *o) { if (blen < sizeof(blog) - 1) blog[blen++] = 'r'; }
static void log_wmb(void *o) { if (blen < sizeof(blog) - 1) blog[blen++] = 'w'; }
static const struct xl_barriers logbar = { log_mb, log_rmb, log_wmb, NULL };

static void blog_reset(void)
{
    memset(blog, 0, sizeof(blog));
    blen = 0;
}

struct pair {
    blkif_front_ring_t front;
    struct backring back;
};

static void setup_pair(struct pair *p, RING_IDX start)
{
    memset(page, 0, sizeof(page));
    blkif_sring_t *s = (blkif_sring_t *)page;
    SHARED_RING_INIT(s);
    FRONT_RING_ATTACH(&p->front, s, start, sizeof(page));
    s->req_prod = s->rsp_prod = start;
    s->req_event = s->rsp_event = start + 1;
    assert_int_equal(backring_attach(&p->back, page, sizeof(page), sizeof(union blkif_sring_entry),
                                     start, &logbar), 0);
    blog_reset();
}

static void front_queue(struct pair *p, uint64_t id, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        blkif_request_t *r = RING_GET_REQUEST(&p->front, p->front.req_prod_pvt);
        memset(r, 0, sizeof(*r));
        r->operation = BLKIF_OP_READ;
        r->nr_segments = 1;
        r->id = id + i;
        r->seg[0].gref = 100;
        r->seg[0].last_sect = 7;
        p->front.req_prod_pvt++;
    }
}

static int front_push(struct pair *p)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&p->front, notify);
    return notify;
}

static void test_sizes(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    /* The same count as Xen's __RING_SIZE for a blkif page: 32. */
    assert_int_equal(p.back.nr_ents, RING_SIZE(&p.front));
    assert_int_equal(p.back.nr_ents, 32);
    assert_int_equal(backring_size(4096, 112), 32);
    assert_int_equal(backring_size(4096, 1), 2048);
    assert_int_equal(backring_size(64 + 3 * 8, 8), 2);
    assert_int_equal(backring_size(64 + 7, 8), 0);
    assert_int_equal(backring_size(4096, 0), 0);
    struct backring r;
    assert_int_equal(backring_attach(&r, page, 70, 8, 0, NULL), -XEN_EINVAL);
    assert_int_equal(backring_attach(&r, NULL, 4096, 8, 0, NULL), -XEN_EINVAL);
}

static void test_take_respond_push(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    assert_int_equal(backring_pending(&p.back), 0);
    front_queue(&p, 10, 3);
    assert_int_equal(backring_pending(&p.back), 0);    /* not pushed yet */
    assert_true(front_push(&p));                        /* req_event was 1 */
    blog_reset();
    assert_int_equal(backring_pending(&p.back), 3);
    assert_string_equal(blog, "r");                     /* rmb after the index */
    blkif_request_t req;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(backring_take(&p.back, &req), 0);
        assert_int_equal(req.id, 10 + i);
    }
    assert_int_equal(backring_take(&p.back, &req), -XEN_ENOENT);
    assert_int_equal(backring_inflight(&p.back), 3);

    struct blkif_response rsp = { .id = 10, .operation = BLKIF_OP_READ, .status = 0 };
    assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), 0);
    rsp.id = 11;
    assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), 0);
    assert_int_equal(backring_inflight(&p.back), 1);
    /* Nothing visible until pushed. */
    assert_int_equal(((blkif_sring_t *)page)->rsp_prod, 0);
    blog_reset();
    assert_true(backring_push(&p.back));    /* rsp_event was 1: front waits */
    assert_string_equal(blog, "wm");
    assert_int_equal(((blkif_sring_t *)page)->rsp_prod, 2);
    assert_false(backring_push(&p.back));   /* nothing new */

    /* The front consumes with ring.h's macros and sees our responses. */
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&p.front, more);
    assert_true(more);
    assert_int_equal(RING_GET_RESPONSE(&p.front, 0)->id, 10);
    assert_int_equal(RING_GET_RESPONSE(&p.front, 1)->id, 11);
    p.front.rsp_cons = 2;
    RING_FINAL_CHECK_FOR_RESPONSES(&p.front, more);
    assert_false(more);                       /* rsp_event is now 3 */

    /* The third response: the front asked (rsp_event = 3). */
    rsp.id = 12;
    assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), 0);
    assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), -XEN_ENOSPC);
    assert_int_equal(backring_respond(&p.back, &rsp, 200), -XEN_EINVAL);
    assert_true(backring_push(&p.back));
}

static void test_event_suppression(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    front_queue(&p, 0, 4);
    front_push(&p);
    assert_int_equal(backring_pending(&p.back), 4);
    blkif_request_t req;
    struct blkif_response rsp = { 0 };
    for (int i = 0; i < 4; i++) {
        backring_take(&p.back, &req);
        backring_respond(&p.back, &rsp, sizeof(rsp));
    }
    /* Front asks for an event only after response 3 (rsp_event = 3). */
    ((blkif_sring_t *)page)->rsp_event = 3;
    /* Pushing 1..2 does not reach it: push only two first. */
    p.back.rsp_prod_pvt = 2;
    assert_false(backring_push(&p.back));
    p.back.rsp_prod_pvt = 4;
    assert_true(backring_push(&p.back));      /* 3 lies in (2, 4] */
    /* An event index already behind: no event. */
    ((blkif_sring_t *)page)->rsp_event = 1;
    front_queue(&p, 0, 1);
    front_push(&p);
    assert_int_equal(backring_pending(&p.back), 1);
    backring_take(&p.back, &req);
    backring_respond(&p.back, &rsp, sizeof(rsp));
    assert_false(backring_push(&p.back));
}

static void test_final_check(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    front_queue(&p, 0, 2);
    assert_true(front_push(&p));
    blkif_request_t req;
    assert_true(backring_final_check(&p.back));          /* work: no sleep */
    assert_int_equal(((blkif_sring_t *)page)->req_event, 1); /* untouched */
    backring_take(&p.back, &req);
    backring_take(&p.back, &req);
    blog_reset();
    assert_false(backring_final_check(&p.back));
    assert_string_equal(blog, "rmr");             /* look, arm, mb, look again */
    assert_int_equal(((blkif_sring_t *)page)->req_event, 3);
    /* So the next request notifies, and the one after does not. */
    front_queue(&p, 0, 1);
    assert_true(front_push(&p));
    front_queue(&p, 0, 1);
    assert_false(front_push(&p));
    assert_true(backring_final_check(&p.back));
}

/* The race the final check closes: a request lands between our "nothing
 * pending" and the req_event store. The mb hook plays the front end. */
static struct pair *race_pair;
static void race_mb(void *o)
{
    front_queue(race_pair, 99, 1);
    front_push(race_pair);
}

static void test_final_check_race(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    race_pair = &p;
    p.back.bar.mb = race_mb;
    assert_true(backring_final_check(&p.back));
    blkif_request_t req;
    assert_int_equal(backring_take(&p.back, &req), 0);
    assert_int_equal(req.id, 99);
}

static void test_wraparound(void **state)
{
    struct pair p;
    setup_pair(&p, 0xfffffff0u);   /* indexes cross 2^32 within the run */
    blkif_request_t req;
    struct blkif_response rsp = { 0 };
    uint64_t next = 0;
    for (int round = 0; round < 20; round++) {
        front_queue(&p, next, 7);
        front_push(&p);
        assert_int_equal(backring_pending(&p.back), 7);
        for (int i = 0; i < 7; i++) {
            assert_int_equal(backring_take(&p.back, &req), 0);
            assert_int_equal(req.id, next + i);
            rsp.id = req.id;
            assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), 0);
        }
        backring_push(&p.back);
        for (int i = 0; i < 7; i++)
            assert_int_equal(RING_GET_RESPONSE(&p.front, p.front.rsp_cons + i)->id, next + i);
        p.front.rsp_cons += 7;
        next += 7;
    }
    assert_true(p.back.req_cons < 0x100u);  /* it did wrap */
}

static void test_limited_by_response_space(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    front_queue(&p, 0, 32);
    front_push(&p);
    assert_int_equal(backring_pending(&p.back), 32);
    blkif_request_t req;
    struct blkif_response rsp = { 0 };
    for (int i = 0; i < 32; i++)
        backring_take(&p.back, &req);
    /* Ring full of taken requests; 4 answered, the front reuses those 4. */
    for (int i = 0; i < 4; i++)
        backring_respond(&p.back, &rsp, sizeof(rsp));
    backring_push(&p.back);
    p.front.rsp_cons = 4;
    front_queue(&p, 100, 4);
    front_push(&p);
    assert_int_equal(backring_pending(&p.back), 4);
    assert_int_equal(backring_take(&p.back, &req), 0);
    assert_int_equal(req.id, 100);
    /* Slots not yet answered are never taken again even if the producer
     * claims them. */
    assert_int_equal(backring_pending(&p.back), 3);
}

static void test_hostile_index_jump(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    blkif_sring_t *s = (blkif_sring_t *)page;
    s->req_prod = 33;                 /* more than the ring holds */
    assert_int_equal(backring_pending(&p.back), -XEN_EIO);
    assert_true(p.back.broken);
    s->req_prod = 1;                  /* too late: stays broken */
    assert_int_equal(backring_pending(&p.back), -XEN_EIO);
    blkif_request_t req;
    assert_int_equal(backring_take(&p.back, &req), -XEN_EIO);
    struct blkif_response rsp = { 0 };
    assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), -XEN_EIO);
    assert_false(backring_final_check(&p.back));

    setup_pair(&p, 0);
    s->req_prod = 32;                 /* exactly full: fine */
    assert_int_equal(backring_pending(&p.back), 32);
    setup_pair(&p, 0);
    s->req_prod = 0x80000000u;
    assert_int_equal(backring_pending(&p.back), -XEN_EIO);
    setup_pair(&p, 0);
    s->req_prod = 0xffffffffu;        /* "minus one" */
    assert_int_equal(backring_pending(&p.back), -XEN_EIO);
}

static void test_hostile_producer_back(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    blkif_sring_t *s = (blkif_sring_t *)page;
    front_queue(&p, 0, 8);
    front_push(&p);
    assert_int_equal(backring_pending(&p.back), 8);
    blkif_request_t req;
    for (int i = 0; i < 6; i++)
        backring_take(&p.back, &req);
    s->req_prod = 7;                  /* fewer, but still ahead of req_cons: harmless */
    assert_int_equal(backring_pending(&p.back), 1);
    s->req_prod = 3;                  /* behind what we took: a lie */
    assert_int_equal(backring_pending(&p.back), -XEN_EIO);
}

static void test_hostile_rsp_prod(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    blkif_sring_t *s = (blkif_sring_t *)page;
    front_queue(&p, 0, 2);
    front_push(&p);
    backring_pending(&p.back);
    blkif_request_t req;
    struct blkif_response rsp = { 0 };
    backring_take(&p.back, &req);
    backring_respond(&p.back, &rsp, sizeof(rsp));
    /* The front scribbles rsp_prod to make us skip the event. */
    s->rsp_prod = 1;
    s->rsp_event = 1;
    assert_true(backring_push(&p.back));
    assert_int_equal(s->rsp_prod, 1);
}

/* A copied request cannot change under the judge: later writes to the
 * slot do not reach the copy, and the judge sees only the copy. */
static void test_copy_then_judge(void **state)
{
    struct pair p;
    setup_pair(&p, 0);
    front_queue(&p, 5, 1);
    front_push(&p);
    backring_pending(&p.back);
    blkif_request_t req;
    assert_int_equal(backring_take(&p.back, &req), 0);
    blkif_request_t *shared = RING_GET_REQUEST(&p.front, 0);
    shared->nr_segments = 200;           /* the front changes its mind */
    shared->seg[0].last_sect = 200;
    struct blkif_dev dev = { .nr_sectors = 64, .lblock_sectors = 1 };
    struct blkif_parsed parsed;
    assert_int_equal(blkif_req_check(&dev, &req, &parsed), BLKIF_RSP_OKAY);
    assert_int_equal(parsed.nr_segments, 1);
    assert_int_equal(parsed.nr_sectors, 8);
}

/* Garbage entries and random index behaviour: the back end never takes
 * more than the ring holds, never reads outside it (ASan), and every
 * garbage request gets a response. */
static uint32_t rs = 12345;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}

static void test_hostile_garbage(void **state)
{
    struct blkif_dev dev = { .nr_sectors = 1 << 16, .lblock_sectors = 1, .features = BLKDEV_F_FLUSH };
    unsigned broken = 0, answered = 0, ok = 0;
    for (int run = 0; run < 200; run++) {
        struct pair p;
        setup_pair(&p, rnd());
        p.back.bar = (struct xl_barriers){ 0 };
        blkif_sring_t *s = (blkif_sring_t *)page;
        for (int step = 0; step < 100; step++) {
            /* Front: garbage in every slot, producer mostly plausible. */
            for (size_t i = 64; i < sizeof(page); i++)
                page[i] = (uint8_t)rnd();
            if (rnd() % 50 == 0)
                s->req_prod = rnd();
            else
                s->req_prod = p.back.rsp_prod_pvt + rnd() % 33;
            int n = backring_pending(&p.back);
            if (n < 0) {
                broken++;
                break;
            }
            assert_true(n <= 32);
            blkif_request_t req;
            while (backring_take(&p.back, &req) == 0) {
                struct blkif_parsed parsed;
                int st = blkif_req_check(&dev, &req, &parsed);
                ok += st == BLKIF_RSP_OKAY;
                struct blkif_response rsp;
                blkif_make_response(&parsed, st, &rsp);
                assert_int_equal(backring_respond(&p.back, &rsp, sizeof(rsp)), 0);
                answered++;
            }
            assert_true(backring_inflight(&p.back) == 0);
            backring_push(&p.back);
        }
    }
    assert_true(broken > 0 && answered > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_take_respond_push),
        cmocka_unit_test(test_event_suppression),
        cmocka_unit_test(test_final_check),
        cmocka_unit_test(test_final_check_race),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_limited_by_response_space),
        cmocka_unit_test(test_hostile_index_jump),
        cmocka_unit_test(test_hostile_producer_back),
        cmocka_unit_test(test_hostile_rsp_prod),
        cmocka_unit_test(test_copy_then_judge),
        cmocka_unit_test(test_hostile_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
