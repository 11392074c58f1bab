/*
 * test_frontring.c - host unit tests for the front end of a Xen shared
 * ring (guest-drivers/ring/frontring.c) against a back end built from
 * Xen's own ring.h macros over a blkif ring in a page: init as
 * SHARED_RING_INIT, put/push and the event check, responses taken once,
 * full ring, 32-bit wrap-around, the final check, and hostile back ends
 * (rsp_prod past what was published, rsp_prod moving back).
 * Links: frontring.c, backring.c (backring_size). Mocks: barrier hooks
 * that log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/frontring.h>
#include <xen/io/blkif.h>

#define xen_mb()  __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()

static _Alignas(4096) uint8_t page[4096];
static char blog[64];
static unsigned blen;
static void log_mb(void *o) { (void)o; if (blen < sizeof(blog) - 1) blog[blen++] = 'm'; }
static void log_rmb(void *o) { (void)o; if (blen < sizeof(blog) - 1) blog[blen++] = 'r'; }
static void log_wmb(void *o) { (void)o; if (blen < sizeof(blog) - 1) blog[blen++] = 'w'; }
static const struct xl_barriers logbar = { log_mb, log_rmb, log_wmb, NULL };

struct pair {
    struct frontring front;
    blkif_back_ring_t back;
};

static void setup(struct pair *p, RING_IDX start)
{
    memset(page, 0xaa, sizeof(page));
    assert_int_equal(frontring_init(&p->front, page, sizeof(page),
                                    sizeof(union blkif_sring_entry), &logbar), 0);
    blkif_sring_t *s = (blkif_sring_t *)page;
    assert_int_equal(s->req_prod, 0);
    assert_int_equal(s->rsp_prod, 0);
    assert_int_equal(s->req_event, 1);
    assert_int_equal(s->rsp_event, 1);
    if (start) {
        p->front.req_prod_pvt = p->front.req_pushed = start;
        p->front.rsp_cons = p->front.rsp_seen = start;
        s->req_prod = s->rsp_prod = start;
        s->req_event = s->rsp_event = start + 1;
    }
    BACK_RING_ATTACH(&p->back, s, start, sizeof(page));
    memset(blog, 0, sizeof(blog));
    blen = 0;
}

static void put_reads(struct pair *p, uint64_t id, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        blkif_request_t r = { .operation = BLKIF_OP_READ, .nr_segments = 1, .id = id + i };
        assert_int_equal(frontring_put(&p->front, &r, sizeof(r)), 0);
    }
}

/* The back end answers everything published, status = id & 0xff. */
static int back_answer(struct pair *p)
{
    int n = 0, notify;
    while (RING_HAS_UNCONSUMED_REQUESTS(&p->back)) {
        blkif_request_t q = *RING_GET_REQUEST(&p->back, p->back.req_cons);
        p->back.req_cons++;
        blkif_response_t *r = RING_GET_RESPONSE(&p->back, p->back.rsp_prod_pvt);
        r->id = q.id;
        r->operation = q.operation;
        r->status = (int16_t)(q.id & 0xff);
        p->back.rsp_prod_pvt++;
        n++;
    }
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&p->back, notify);
    (void)notify;
    return n;
}

static void test_sizes_and_init(void **st)
{
    struct pair p;
    setup(&p, 0);
    assert_int_equal(p.front.nr_ents, 32); /* blkif: 32 entries in a page */
    assert_int_equal(frontring_free(&p.front), 32);
    struct frontring f;
    assert_int_equal(frontring_init(&f, page, 64, 112, NULL), -XEN_EINVAL);
    assert_int_equal(frontring_init(&f, NULL, 4096, 112, NULL), -XEN_EINVAL);
}

static void test_roundtrip(void **st)
{
    struct pair p;
    setup(&p, 0);
    put_reads(&p, 7, 3);
    assert_int_equal(((blkif_sring_t *)page)->req_prod, 0); /* not published yet */
    assert_true(frontring_push(&p.front));  /* req_event 1: the back waits */
    assert_string_equal(blog, "wm");
    assert_int_equal(back_answer(&p), 3);
    assert_int_equal(frontring_pending(&p.front), 3);
    for (unsigned i = 0; i < 3; i++) {
        blkif_response_t r;
        assert_int_equal(frontring_take(&p.front, &r, sizeof(r)), 0);
        assert_int_equal(r.id, 7 + i);
        assert_int_equal(r.status, 7 + i);
    }
    blkif_response_t r;
    assert_int_equal(frontring_take(&p.front, &r, sizeof(r)), -XEN_ENOENT);
    assert_int_equal(frontring_outstanding(&p.front), 0);
}

static void test_full_ring(void **st)
{
    struct pair p;
    setup(&p, 0);
    put_reads(&p, 0, 32);
    blkif_request_t q = { 0 };
    assert_int_equal(frontring_put(&p.front, &q, sizeof(q)), -XEN_ENOSPC);
    frontring_push(&p.front);
    back_answer(&p);
    assert_int_equal(frontring_free(&p.front), 0); /* responses not taken yet */
    assert_int_equal(frontring_pending(&p.front), 32);
    blkif_response_t r;
    assert_int_equal(frontring_take(&p.front, &r, sizeof(r)), 0);
    assert_int_equal(frontring_free(&p.front), 1);
    assert_int_equal(frontring_put(&p.front, &q, sizeof(q)), 0);
    assert_int_equal(frontring_put(&p.front, &q, sizeof(q) + 1000), -XEN_EINVAL);
}

static void test_wrap(void **st)
{
    struct pair p;
    setup(&p, 0xfffffff0u);
    uint64_t seen = 0;
    for (unsigned round = 0; round < 10; round++) {
        put_reads(&p, round * 100, 7);
        frontring_push(&p.front);
        assert_int_equal(back_answer(&p), 7);
        assert_int_equal(frontring_pending(&p.front), 7);
        blkif_response_t r;
        while (frontring_take(&p.front, &r, sizeof(r)) == 0) {
            assert_int_equal(r.id, round * 100 + (seen % 7));
            seen++;
        }
    }
    assert_int_equal(seen, 70);
    assert_true(p.front.rsp_cons < 0x100); /* it wrapped */
}

static void test_event_checks(void **st)
{
    struct pair p;
    setup(&p, 0);
    put_reads(&p, 0, 1);
    assert_true(frontring_push(&p.front));
    /* The back has not asked again (req_event still 1): no event. */
    put_reads(&p, 1, 1);
    assert_false(frontring_push(&p.front));
    int more;
    back_answer(&p);
    RING_FINAL_CHECK_FOR_REQUESTS(&p.back, more); /* req_event = 3 */
    assert_false(more);
    put_reads(&p, 2, 1);
    assert_true(frontring_push(&p.front));
    /* Final check: nothing new after taking all -> rsp_event advanced. */
    assert_int_equal(frontring_pending(&p.front), 2);
    blkif_response_t r;
    while (frontring_take(&p.front, &r, sizeof(r)) == 0)
        ;
    memset(blog, 0, sizeof(blog));
    blen = 0;
    assert_false(frontring_final_check(&p.front));
    assert_int_equal(((blkif_sring_t *)page)->rsp_event, 3);
    assert_string_equal(blog, "rmr");
    back_answer(&p);
    assert_true(frontring_final_check(&p.front));
}

static void test_hostile_back(void **st)
{
    struct pair p;
    setup(&p, 0);
    put_reads(&p, 0, 2);
    frontring_push(&p.front);
    put_reads(&p, 2, 1); /* queued, not published: no response may exist */
    ((blkif_sring_t *)page)->rsp_prod = 3;
    assert_int_equal(frontring_pending(&p.front), -XEN_EIO);
    blkif_response_t r;
    assert_int_equal(frontring_take(&p.front, &r, sizeof(r)), -XEN_EIO);
    assert_int_equal(frontring_free(&p.front), 0);
    assert_false(frontring_final_check(&p.front));

    setup(&p, 0);
    put_reads(&p, 0, 4);
    frontring_push(&p.front);
    ((blkif_sring_t *)page)->rsp_prod = 3;
    assert_int_equal(frontring_pending(&p.front), 3);
    ((blkif_sring_t *)page)->rsp_prod = 1; /* backwards */
    assert_int_equal(frontring_pending(&p.front), -XEN_EIO);

    setup(&p, 0);
    put_reads(&p, 0, 1);
    frontring_push(&p.front);
    ((blkif_sring_t *)page)->rsp_prod = 0x80000000u; /* a jump */
    assert_int_equal(frontring_pending(&p.front), -XEN_EIO);
}

/* A response copied out cannot be changed by the back end afterwards. */
static void test_copy_is_stable(void **st)
{
    struct pair p;
    setup(&p, 0);
    put_reads(&p, 5, 1);
    frontring_push(&p.front);
    back_answer(&p);
    assert_int_equal(frontring_pending(&p.front), 1);
    blkif_response_t r;
    assert_int_equal(frontring_take(&p.front, &r, sizeof(r)), 0);
    RING_GET_RESPONSE(&p.back, 0)->status = -1;
    assert_int_equal(r.status, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_init), cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_full_ring),      cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_event_checks),   cmocka_unit_test(test_hostile_back),
        cmocka_unit_test(test_copy_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
