/*
 * test_ring.c - host tests of the guest kit's xenstore client framing
 * (guest-drivers/kernel/xenbus.c) driven against the real xenstored
 * library (toolstack/xenstored) on in-memory rings: every operation,
 * errors from the server (ENOENT, EACCES, EAGAIN), watches and their
 * queue, transactions, ring wrap-around over thousands of requests, the
 * same through a relay that moves 1..7 bytes at a time (partial headers
 * and payloads both ways), and a fake server that breaks the protocol.
 * Owns: nothing outside itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xen/errno.h>
#include <xlguest/xenbus.h>
#include "../../toolstack/xenstored/store.h"

#define MEM_SIZE (1 << 20)

static uint8_t *mem;
static struct xs_store *st;
/* server-side rings (what xenstored sees) and client-side rings */
static struct xenstore_domain_interface srv[2], cli[2];
static struct xenbus *bus[2];
static unsigned int chunk; /* 0: direct; else the relay moves this many bytes per step */
static unsigned long waits, kicks;

/* move up to max bytes from one ring direction to another */
static unsigned int move(char *from, XENSTORE_RING_IDX *fcons, XENSTORE_RING_IDX fprod,
                         char *to, XENSTORE_RING_IDX tcons, XENSTORE_RING_IDX *tprod,
                         unsigned int max)
{
    unsigned int n = 0;
    while (n < max && *fcons != fprod && *tprod - tcons < XENSTORE_RING_SIZE) {
        to[MASK_XENSTORE_IDX(*tprod)] = from[MASK_XENSTORE_IDX(*fcons)];
        (*fcons)++, (*tprod)++, n++;
    }
    return n;
}

static void relay(int d)
{
    move(cli[d].req, &cli[d].req_cons, cli[d].req_prod, srv[d].req, srv[d].req_cons,
         &srv[d].req_prod, chunk);
    move(srv[d].rsp, &srv[d].rsp_cons, srv[d].rsp_prod, cli[d].rsp, cli[d].rsp_cons,
         &cli[d].rsp_prod, chunk);
}

/* the client waits: the server (and the relay) get to run */
static void t_wait(void *o)
{
    (void)o;
    waits++;
    for (int d = 0; d < 2; d++)
        if (chunk)
            relay(d);
    xs_process_all(st);
    for (int d = 0; d < 2; d++)
        if (chunk)
            relay(d);
}
static void t_notify(void *o) { (void)o; kicks++; }

static int setup_chunk(unsigned int c)
{
    memset(srv, 0, sizeof(srv));
    memset(cli, 0, sizeof(cli));
    chunk = c;
    if (!mem)
        mem = malloc(MEM_SIZE);
    st = xs_store_init(mem, MEM_SIZE, NULL, NULL);
    assert_non_null(st);
    for (int d = 0; d < 2; d++) {
        assert_non_null(xs_conn_attach(st, (uint16_t)d, &srv[d]));
        if (!bus[d])
            bus[d] = malloc(sizeof(struct xenbus));
        xenbus_attach(bus[d], c ? &cli[d] : &srv[d], t_notify, t_wait, NULL);
    }
    /* dom0 makes domain 1's home, owned by it (as the toolstack does) */
    assert_int_equal(xenbus_mkdir(bus[0], XBT_NIL, "/local/domain/1"), 0);
    return 0;
}
static int setup_direct(void **s) { (void)s; return setup_chunk(0); }
static int setup_trickle1(void **s) { (void)s; return setup_chunk(1); }
static int setup_trickle7(void **s) { (void)s; return setup_chunk(7); }

/* set_perms is dom0's job; the client has no call for it, so send it raw */
static void give_home_to_dom1(void)
{
    struct xenstore_domain_interface *r = &srv[0];
    static const char p[] = "/local/domain/1\0n1";
    struct xsd_sockmsg h = { .type = XS_SET_PERMS, .req_id = 9999, .len = sizeof(p) };
    uint8_t buf[sizeof(h) + sizeof(p)];
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), p, sizeof(p));
    for (unsigned int i = 0; i < sizeof(buf); i++)
        r->req[MASK_XENSTORE_IDX(r->req_prod + i)] = (char)buf[i];
    r->req_prod += sizeof(buf);
    xs_process_all(st);
    /* the reply is consumed by the next pump and ignored (nobody waits for
     * id 9999): the client must skip it */
}

static void test_read_write(void **state)
{
    (void)state;
    char buf[64];
    struct xenbus *b = bus[1];
    give_home_to_dom1();
    assert_int_equal(xenbus_read(b, XBT_NIL, "/local/domain/1/x", buf, sizeof(buf)),
                     -XEN_ENOENT);
    assert_int_equal(xenbus_write(b, XBT_NIL, "/local/domain/1/x", "hello"), 0);
    assert_int_equal(xenbus_read(b, XBT_NIL, "/local/domain/1/x", buf, sizeof(buf)), 5);
    assert_string_equal(buf, "hello");
    /* relative paths are under our home, as in Xen */
    assert_int_equal(xenbus_read(b, XBT_NIL, "x", buf, sizeof(buf)), 5);
    assert_int_equal(xenbus_write(b, XBT_NIL, "x", ""), 0);
    assert_int_equal(xenbus_read(b, XBT_NIL, "x", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(xenbus_read(b, XBT_NIL, "x", buf, 0), -XEN_ENOSPC);
    assert_int_equal(xenbus_write_u64(b, XBT_NIL, "n", 1234567890123ULL), 0);
    uint64_t v = 0;
    assert_int_equal(xenbus_read_u64(b, XBT_NIL, "n", &v), 0);
    assert_true(v == 1234567890123ULL);
    assert_int_equal(xenbus_read_u64(b, XBT_NIL, "x", &v), -XEN_EINVAL);
    assert_int_equal(xenbus_mkdir(b, XBT_NIL, "d/e"), 0);
    assert_int_equal(xenbus_write(b, XBT_NIL, "d/f", "1"), 0);
    int n = xenbus_directory(b, XBT_NIL, "d", buf, sizeof(buf));
    assert_int_equal(n, 2);
    assert_string_equal(buf, "e");
    assert_string_equal(buf + 2, "f");
    assert_int_equal(xenbus_directory(b, XBT_NIL, "d", buf, 3), -XEN_ENOSPC);
    assert_int_equal(xenbus_rm(b, XBT_NIL, "d"), 0);
    assert_int_equal(xenbus_directory(b, XBT_NIL, "d", buf, sizeof(buf)), -XEN_ENOENT);
    /* permissions: dom0's tree and another domain's home are off limits */
    assert_int_equal(xenbus_write(b, XBT_NIL, "/local/domain/0/evil", "1"), -XEN_EACCES);
    assert_int_equal(xenbus_write(b, XBT_NIL, "/evil", "1"), -XEN_EACCES);
    assert_int_equal(xenbus_get_domain_path(b, 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/local/domain/1");
    /* dom1 lets dom0 read a node it owns, and not write it */
    assert_int_equal(xenbus_write(b, XBT_NIL, "shared", "s"), 0);
    static const char *const pr[] = { "n1", "r0" };
    assert_int_equal(xenbus_set_perms(b, XBT_NIL, "shared", pr, 2), 0);
    assert_int_equal(xenbus_set_perms(b, XBT_NIL, "/local/domain/0", pr, 2), -XEN_EACCES);
    /* dom0 reads what dom1 wrote */
    assert_int_equal(xenbus_read(bus[0], XBT_NIL, "/local/domain/1/n", buf, sizeof(buf)), 13);
    assert_int_equal(b->events_dropped, 0);
}

static void test_too_big(void **state)
{
    (void)state;
    static char big[XENSTORE_PAYLOAD_MAX + 10];
    memset(big, 'v', sizeof(big) - 1);
    assert_int_equal(xenbus_write(bus[0], XBT_NIL, "/big", big), -XEN_E2BIG);
    /* the largest value that fits still goes through, and the connection
     * stays usable */
    big[XENSTORE_PAYLOAD_MAX - sizeof("/big")] = 0;
    assert_int_equal(xenbus_write(bus[0], XBT_NIL, "/big", big), 0);
    static char back[XENSTORE_PAYLOAD_MAX + 1];
    assert_int_equal(xenbus_read(bus[0], XBT_NIL, "/big", back, sizeof(back)),
                     (int)strlen(big));
    assert_memory_equal(back, big, strlen(big));
}

static void test_many(void **state)
{
    (void)state;
    char path[64], val[64], buf[64];
    /* thousands of requests: the 1 KiB rings wrap many times */
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof(path), "/many/%d", i % 37);
        snprintf(val, sizeof(val), "value-%d-%0*d", i, i % 40, 7);
        assert_int_equal(xenbus_write(bus[0], XBT_NIL, path, val), 0);
        assert_int_equal(xenbus_read(bus[0], XBT_NIL, path, buf, sizeof(buf)), (int)strlen(val));
        assert_string_equal(buf, val);
    }
    assert_int_equal(xenbus_directory(bus[0], XBT_NIL, "/many", buf, sizeof(buf)), -XEN_ENOSPC);
    static char big[4096];
    assert_int_equal(xenbus_directory(bus[0], XBT_NIL, "/many", big, sizeof(big)), 37);
}

static void test_watches(void **state)
{
    (void)state;
    char path[64], tok[16];
    struct xenbus *b = bus[1];
    give_home_to_dom1();
    assert_int_equal(xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 0), -XEN_EAGAIN);
    assert_int_equal(xenbus_watch(b, "/local/domain/1/peer", "tk"), 0);
    /* Xen fires a watch once when it is set */
    assert_int_equal(xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 1), 0);
    assert_string_equal(path, "/local/domain/1/peer");
    assert_string_equal(tok, "tk");
    assert_int_equal(xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 0), -XEN_EAGAIN);
    assert_int_equal(xenbus_write(bus[0], XBT_NIL, "/local/domain/1/peer/ring-ref", "8"), 0);
    assert_int_equal(xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 1), 0);
    assert_string_equal(path, "/local/domain/1/peer/ring-ref");
    /* events queue while requests are answered */
    assert_int_equal(xenbus_write(bus[0], XBT_NIL, "/local/domain/1/peer/a", "1"), 0);
    assert_int_equal(xenbus_write(bus[0], XBT_NIL, "/local/domain/1/peer/b", "2"), 0);
    char v[8];
    assert_int_equal(xenbus_read(b, XBT_NIL, "peer/b", v, sizeof(v)), 1);
    assert_int_equal(xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 0), 0);
    assert_string_equal(path, "/local/domain/1/peer/a");
    assert_int_equal(xenbus_read_watch(b, path, 8, tok, 2, 0), 0);
    assert_string_equal(path, "/local/");    /* truncated to the buffer */
    assert_string_equal(tok, "t");
    assert_int_equal(xenbus_unwatch(b, "/local/domain/1/peer", "tk"), 0);
    assert_int_equal(xenbus_unwatch(b, "/local/domain/1/peer", "tk"), -XEN_ENOENT);
    assert_int_equal(xenbus_write(bus[0], XBT_NIL, "/local/domain/1/peer/c", "3"), 0);
    assert_int_equal(xenbus_read(b, XBT_NIL, "peer/c", v, sizeof(v)), 1);
    assert_int_equal(xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 0), -XEN_EAGAIN);
    /* a flood of events overflows the client's queue: counted, not fatal */
    assert_int_equal(xenbus_watch(b, "/local/domain/1", "all"), 0);
    for (int i = 0; i < 400; i++) {
        snprintf(path, sizeof(path), "/local/domain/1/flood/%d", i);
        assert_int_equal(xenbus_write(bus[0], XBT_NIL, path, "x"), 0);
        assert_int_equal(xenbus_read(b, XBT_NIL, "peer/c", v, sizeof(v)), 1);
    }
    assert_true(b->events_dropped > 0);
    int got = 0;
    while (xenbus_read_watch(b, path, sizeof(path), tok, sizeof(tok), 0) == 0)
        got++;
    assert_true(got > 50);
    assert_int_equal(xenbus_read(b, XBT_NIL, "peer/c", v, sizeof(v)), 1);
}

static void test_transactions(void **state)
{
    (void)state;
    xenbus_transaction_t t = 0, t2 = 0;
    char buf[16];
    struct xenbus *b = bus[1];
    give_home_to_dom1();
    assert_int_equal(xenbus_transaction_start(b, &t), 0);
    assert_true(t != 0);
    assert_int_equal(xenbus_write(b, t, "tx/a", "1"), 0);
    assert_int_equal(xenbus_read(b, XBT_NIL, "tx/a", buf, sizeof(buf)), -XEN_ENOENT);
    assert_int_equal(xenbus_read(b, t, "tx/a", buf, sizeof(buf)), 1);
    assert_int_equal(xenbus_transaction_end(b, t, 0), 0);
    assert_int_equal(xenbus_read(b, XBT_NIL, "tx/a", buf, sizeof(buf)), 1);
    /* abort drops the writes */
    assert_int_equal(xenbus_transaction_start(b, &t), 0);
    assert_int_equal(xenbus_write(b, t, "tx/b", "1"), 0);
    assert_int_equal(xenbus_transaction_end(b, t, 1), 0);
    assert_int_equal(xenbus_read(b, XBT_NIL, "tx/b", buf, sizeof(buf)), -XEN_ENOENT);
    /* a conflicting commit gets EAGAIN */
    assert_int_equal(xenbus_transaction_start(b, &t), 0);
    assert_int_equal(xenbus_transaction_start(b, &t2), 0);
    assert_int_equal(xenbus_read(b, t, "tx/a", buf, sizeof(buf)), 1);
    assert_int_equal(xenbus_write(b, t, "tx/a", "2"), 0);
    assert_int_equal(xenbus_write(b, t2, "tx/a", "3"), 0);
    assert_int_equal(xenbus_transaction_end(b, t2, 0), 0);
    assert_int_equal(xenbus_transaction_end(b, t, 0), -XEN_EAGAIN);
    assert_int_equal(xenbus_read(b, XBT_NIL, "tx/a", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "3");
    /* an unknown transaction id */
    assert_int_equal(xenbus_write(b, 4242, "tx/c", "1"), -XEN_ENOENT);
}

/* ---- a fake server that misbehaves ---- */

static struct xenstore_domain_interface fake;
static struct xenbus fbus;
static const uint8_t *script;
static uint32_t script_len;

static uint8_t sbuf[8192];
static uint32_t slen_;
static uint32_t ends[32], nends; /* where each scripted answer ends */
#define STALE_ID 77 /* a reply to nothing: goes out with the next answer */

/* Answer a request with the scripted messages up to the next reply
 * (events before it come along), as a real server answers in order. */
static void fake_wait(void *o)
{
    (void)o;
    waits++;
    if (waits > 100)
        fail_msg("client waits forever on a broken server");
    if (fake.req_cons == fake.req_prod)
        return;
    fake.req_cons = fake.req_prod; /* swallow requests */
    uint32_t upto = slen_;
    for (uint32_t i = 0; i < nends; i++)
        if (ends[i] > slen_ - script_len) {
            upto = ends[i];
            break;
        }
    uint32_t n = upto - (slen_ - script_len);
    uint32_t room = XENSTORE_RING_SIZE - (fake.rsp_prod - fake.rsp_cons);
    if (n > room)
        n = room;
    for (uint32_t i = 0; i < n; i++)
        fake.rsp[MASK_XENSTORE_IDX(fake.rsp_prod + i)] = (char)script[i];
    fake.rsp_prod += n;
    script += n;
    script_len -= n;
}

static void say(uint32_t type, uint32_t id, const void *p, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = id, .len = len };
    memcpy(sbuf + slen_, &h, sizeof(h));
    memcpy(sbuf + slen_ + sizeof(h), p, len);
    slen_ += (uint32_t)sizeof(h) + len;
    if (type != XS_WATCH_EVENT && id != STALE_ID)
        ends[nends++] = slen_;
}

static void fake_start(void)
{
    memset(&fake, 0, sizeof(fake));
    xenbus_attach(&fbus, &fake, t_notify, fake_wait, NULL);
    slen_ = 0;
    nends = 0;
    waits = 0;
    script = sbuf;
    script_len = 0;
}
static void fake_go(void)
{
    script = sbuf;
    script_len = slen_;
}

static void test_fake_server(void **state)
{
    (void)state;
    char buf[32];

    /* stale reply and an event first, then ours; an unknown error name */
    fake_start();
    say(XS_READ, STALE_ID, "stale", 5);
    say(XS_WATCH_EVENT, 0, "/p\0tok", 7);
    say(XS_READ, 1, "fresh", 5);
    say(XS_ERROR, 2, "EWHATEVER", 10);
    say(XS_ERROR, 3, "EACCES", 7);
    say(XS_WRITE, 4, "OK", 3); /* the wrong type for a read */
    fake_go();
    assert_int_equal(xenbus_read(&fbus, XBT_NIL, "/p", buf, sizeof(buf)), 5);
    assert_string_equal(buf, "fresh");
    assert_int_equal(xenbus_read(&fbus, XBT_NIL, "/p", buf, sizeof(buf)), -XEN_EINVAL);
    assert_int_equal(xenbus_write(&fbus, XBT_NIL, "/p", "v"), -XEN_EACCES);
    assert_int_equal(xenbus_read(&fbus, XBT_NIL, "/p", buf, sizeof(buf)), -XEN_EIO);
    char tok[8];
    assert_int_equal(xenbus_read_watch(&fbus, buf, sizeof(buf), tok, sizeof(tok), 0), 0);
    assert_string_equal(buf, "/p");
    assert_string_equal(tok, "tok");
    /* a malformed event (no token) is dropped, not queued */
    fake_start();
    say(XS_WATCH_EVENT, 0, "/p", 3);
    say(XS_WATCH_EVENT, 0, "/p\0a\0b", 7);
    say(XS_MKDIR, 1, "OK", 3);
    fake_go();
    assert_int_equal(xenbus_mkdir(&fbus, XBT_NIL, "/p"), 0);
    assert_int_equal(fbus.events_dropped, 2);
    assert_int_equal(xenbus_read_watch(&fbus, buf, sizeof(buf), tok, sizeof(tok), 0), -XEN_EAGAIN);

    /* an oversized length breaks the connection for good */
    fake_start();
    struct xsd_sockmsg h = { .type = XS_READ, .req_id = 1, .len = XENSTORE_PAYLOAD_MAX + 1 };
    memcpy(sbuf, &h, sizeof(h));
    slen_ = sizeof(h);
    ends[nends++] = slen_;
    fake_go();
    assert_int_equal(xenbus_read(&fbus, XBT_NIL, "/p", buf, sizeof(buf)), -XEN_EIO);
    assert_int_equal(xenbus_write(&fbus, XBT_NIL, "/p", "v"), -XEN_EIO);

    /* a producer index more than a ring ahead */
    fake_start();
    fake.rsp_prod = XENSTORE_RING_SIZE + 5;
    fake_go();
    assert_int_equal(xenbus_read(&fbus, XBT_NIL, "/p", buf, sizeof(buf)), -XEN_EIO);

    /* a consumer index that makes the req ring look overfull */
    fake_start();
    fake.req_cons = 0;
    fake.req_prod = XENSTORE_RING_SIZE + 1;
    fake_go();
    assert_int_equal(xenbus_read(&fbus, XBT_NIL, "/p", buf, sizeof(buf)), -XEN_EIO);

    /* a transaction id that is not a number */
    fake_start();
    say(XS_TRANSACTION_START, 1, "12x", 4);
    fake_go();
    xenbus_transaction_t t = 0;
    assert_int_equal(xenbus_transaction_start(&fbus, &t), -XEN_EIO);
}

/* a directory reply whose last name lacks its NUL */
static void test_fake_directory(void **state)
{
    (void)state;
    char buf[32];
    fake_start();
    say(XS_DIRECTORY, 1, "a\0b", 3);
    fake_go();
    assert_int_equal(xenbus_directory(&fbus, XBT_NIL, "/", buf, sizeof(buf)), -XEN_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_read_write, setup_direct),
        cmocka_unit_test_setup(test_read_write, setup_trickle1),
        cmocka_unit_test_setup(test_read_write, setup_trickle7),
        cmocka_unit_test_setup(test_too_big, setup_direct),
        cmocka_unit_test_setup(test_too_big, setup_trickle7),
        cmocka_unit_test_setup(test_many, setup_direct),
        cmocka_unit_test_setup(test_many, setup_trickle7),
        cmocka_unit_test_setup(test_watches, setup_direct),
        cmocka_unit_test_setup(test_watches, setup_trickle1),
        cmocka_unit_test_setup(test_transactions, setup_direct),
        cmocka_unit_test_setup(test_transactions, setup_trickle7),
        cmocka_unit_test(test_fake_server),
        cmocka_unit_test(test_fake_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
