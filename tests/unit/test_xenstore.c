/*
 * test_xenstore.c - host unit tests of the xenstored core
 * (toolstack/xenstored), driven end to end through the xs_wire rings:
 * every request type, Xen's path rules, the permission model (EACCES,
 * EPERM cases), watches (initial fire, descendants, relative paths,
 * permission filtering, rm below a watch, special watches), transactions
 * (commit, conflict -> EAGAIN, abort), introduce/release, quotas, arena
 * exhaustion, the per-domain limits (memory with dom0's reserve, node
 * size, node count at commit, transaction floods, owner-only SET_PERMS),
 * the cleanup of a domain that is gone, fair service between domains,
 * and malformed wire messages (unknown type, oversized,
 * partial, unterminated, bad ring indexes, random garbage) while another
 * domain keeps being served.
 * Links: arena.c store.c wire.c and hv/shared/format.c. No mocks: the
 * tests play dom0 and the domUs on in-memory rings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "../../toolstack/xenstored/store.h"
#include "../../toolstack/xenstored/arena.h"
#include <xenolith/errno.h>

#define NDOM 5
#define MEM_SIZE (4u << 20)

struct msg {
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
};

static struct xenstore_domain_interface rings[NDOM];
static uint8_t *mem;
static struct xs_store *st;
static uint32_t next_req = 100;

/* per domain: replies and events read back from the rsp ring */
static struct msg *inbox[NDOM];
static unsigned int ninbox[NDOM];
static uint8_t partial[NDOM][sizeof(struct msg)];
static uint32_t npartial[NDOM];
static int notified[NDOM], unmapped[NDOM];
static int notify_log[256];     /* domids in the order they were kicked */
static unsigned int nlog;

static struct xenstore_domain_interface *t_map(void *o, uint16_t domid, uint64_t mfn, uint32_t port)
{
    (void)o;
    if (domid >= NDOM || mfn != 1234 || port != 5)
        return NULL;
    memset(&rings[domid], 0, sizeof(rings[domid]));
    return &rings[domid];
}
static void t_unmap(void *o, uint16_t domid, struct xenstore_domain_interface *i)
{
    (void)o;
    assert_ptr_equal(i, &rings[domid]);
    unmapped[domid]++;
}
static void t_notify(void *o, uint16_t domid)
{
    (void)o;
    if (domid < NDOM)
        notified[domid]++;
    if (nlog < 256)
        notify_log[nlog++] = domid;
}
static const struct xs_ops ops = { t_map, t_unmap, t_notify, NULL };

static void drain(int d)
{
    struct xenstore_domain_interface *r = &rings[d];
    while (r->rsp_cons != r->rsp_prod) {
        partial[d][npartial[d]++] = (uint8_t)r->rsp[MASK_XENSTORE_IDX(r->rsp_cons)];
        r->rsp_cons++;
        if (npartial[d] >= sizeof(struct xsd_sockmsg)) {
            struct xsd_sockmsg *h = (struct xsd_sockmsg *)partial[d];
            assert_true(h->len <= XENSTORE_PAYLOAD_MAX);
            if (npartial[d] == sizeof(*h) + h->len) {
                struct msg *m = &inbox[d][ninbox[d]++];
                assert_true(ninbox[d] < 4096);
                memcpy(m, partial[d], npartial[d]);
                m->body[h->len] = 0;
                npartial[d] = 0;
            }
        }
    }
}

/* Push raw bytes into d's req ring, letting the store run as room is needed. */
static void push(int d, const void *p, uint32_t len)
{
    struct xenstore_domain_interface *r = &rings[d];
    const uint8_t *b = p;
    while (len) {
        while (len && r->req_prod - r->req_cons < XENSTORE_RING_SIZE) {
            r->req[MASK_XENSTORE_IDX(r->req_prod)] = (char)*b++;
            r->req_prod++;
            len--;
        }
        xs_process_all(st);
        drain(d);
    }
    xs_process_all(st);
    drain(d);
}

static struct msg *find_reply(int d, uint32_t req_id)
{
    for (unsigned int i = 0; i < ninbox[d]; i++)
        if (inbox[d][i].h.type != XS_WATCH_EVENT && inbox[d][i].h.req_id == req_id)
            return &inbox[d][i];
    return NULL;
}

static struct msg *call(int d, uint32_t type, uint32_t tx, const void *p, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = next_req++, .tx_id = tx, .len = len };
    struct msg *m;
    push(d, &h, sizeof(h));
    push(d, p, len);
    for (int i = 0; i < 8 && !(m = find_reply(d, h.req_id)); i++) {
        xs_process_all(st);
        drain(d);
    }
    assert_non_null(m);
    return m;
}

/* Result as a string: the payload, or the error name prefixed by '!'. */
static char resbuf[XENSTORE_PAYLOAD_MAX + 8];
static const char *res(const struct msg *m)
{
    if (m->h.type == XS_ERROR)
        snprintf(resbuf, sizeof(resbuf), "!%s", m->body);
    else
        memcpy(resbuf, m->body, m->h.len + 1);
    return resbuf;
}

static const char *s1(int d, uint32_t type, uint32_t tx, const char *a)
{
    return res(call(d, type, tx, a, (uint32_t)strlen(a) + 1));
}
static const char *wr(int d, uint32_t tx, const char *path, const char *val)
{
    char buf[XENSTORE_PAYLOAD_MAX + 8];
    size_t pl = strlen(path) + 1, vl = strlen(val);
    memcpy(buf, path, pl);
    memcpy(buf + pl, val, vl);
    return res(call(d, XS_WRITE, tx, buf, (uint32_t)(pl + vl)));
}
static const char *rd(int d, const char *path) { return s1(d, XS_READ, 0, path); }
static const char *rm_(int d, const char *path) { return s1(d, XS_RM, 0, path); }
static const char *mkd(int d, const char *path) { return s1(d, XS_MKDIR, 0, path); }
/* strings a\0b\0... joined into one payload */
static const char *multi(int d, uint32_t type, uint32_t tx, int n, ...)
{
    char buf[XENSTORE_PAYLOAD_MAX];
    uint32_t len = 0;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *a = va_arg(ap, const char *);
        memcpy(buf + len, a, strlen(a) + 1);
        len += (uint32_t)strlen(a) + 1;
    }
    va_end(ap);
    return res(call(d, type, tx, buf, len));
}
/* multi-string reply joined with ',' for comparisons */
static const char *joined(const struct msg *m)
{
    static char out[XENSTORE_PAYLOAD_MAX + 8];
    if (m->h.type == XS_ERROR)
        return res(m);
    memcpy(out, m->body, m->h.len + 1);
    for (uint32_t i = 0; i + 1 < m->h.len; i++)
        if (!out[i])
            out[i] = ',';
    if (m->h.len)
        out[m->h.len - 1] = 0;
    return out;
}
static const char *dir(int d, const char *path)
{
    return joined(call(d, XS_DIRECTORY, 0, path, (uint32_t)strlen(path) + 1));
}
static const char *perms(int d, const char *path)
{
    return joined(call(d, XS_GET_PERMS, 0, path, (uint32_t)strlen(path) + 1));
}
static const char *setp(int d, const char *path, const char *p1, const char *p2)
{
    return p2 ? multi(d, XS_SET_PERMS, 0, 3, path, p1, p2) : multi(d, XS_SET_PERMS, 0, 2, path, p1);
}
static const char *watch(int d, const char *path, const char *tok)
{
    return multi(d, XS_WATCH, 0, 2, path, tok);
}
/* Count (and remove) watch events "path"/"tok" in d's inbox. */
static int events(int d, const char *path, const char *tok)
{
    int n = 0;
    unsigned int j = 0;
    xs_process_all(st);
    drain(d);
    for (unsigned int i = 0; i < ninbox[d]; i++) {
        struct msg *m = &inbox[d][i];
        if (m->h.type == XS_WATCH_EVENT && strcmp(m->body, path) == 0 &&
            strcmp(m->body + strlen(m->body) + 1, tok) == 0) {
            n++;
            continue;
        }
        if (j != i)
            inbox[d][j] = *m;
        j++;
    }
    ninbox[d] = j;
    return n;
}
static int all_events(int d)
{
    int n = 0;
    xs_process_all(st);
    drain(d);
    for (unsigned int i = 0; i < ninbox[d]; i++)
        n += inbox[d][i].h.type == XS_WATCH_EVENT;
    return n;
}
static void clear(void)
{
    if (st)
        xs_process_all(st);
    for (int d = 0; d < NDOM; d++) {
        drain(d);
        ninbox[d] = 0;
    }
}

static int setup_q(const struct xs_quota *q)
{
    memset(rings, 0, sizeof(rings));
    memset(npartial, 0, sizeof(npartial));
    memset(notified, 0, sizeof(notified));
    memset(unmapped, 0, sizeof(unmapped));
    st = NULL;
    clear();
    for (int d = 0; d < NDOM; d++)
        if (!inbox[d])
            inbox[d] = calloc(4096, sizeof(struct msg));
    if (!mem)
        mem = malloc(MEM_SIZE);
    st = xs_store_init(mem, MEM_SIZE, q, &ops);
    assert_non_null(st);
    for (int d = 0; d < 3; d++)
        assert_non_null(xs_conn_attach(st, (uint16_t)d, &rings[d]));
    return 0;
}
static int setup(void **state) { (void)state; return setup_q(NULL); }

/* dom0 makes /local/domain/1 and 2 owned by their domains, as a toolstack. */
static void make_domain_dirs(void)
{
    assert_string_equal(mkd(0, "/local/domain/1"), "OK");
    assert_string_equal(setp(0, "/local/domain/1", "n1", NULL), "OK");
    assert_string_equal(mkd(0, "/local/domain/2"), "OK");
    assert_string_equal(setp(0, "/local/domain/2", "n2", NULL), "OK");
}

/* ---------------- tests ---------------- */

static void test_arena(void **state)
{
    (void)state;
    static uint8_t block[65536];
    struct xs_arena a;
    void *p[64];
    size_t full;
    assert_int_equal(xs_arena_init(&a, block, 16), -XL_EINVAL);
    assert_int_equal(xs_arena_init(&a, block + 3, sizeof(block) - 3), 0);
    full = xs_arena_largest(&a);
    for (int i = 0; i < 64; i++) {
        p[i] = xs_alloc(&a, 100 + (size_t)i * 7);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] & 15, 0);
        memset(p[i], 0xa5, 100 + (size_t)i * 7);
    }
    assert_null(xs_alloc(&a, sizeof(block)));
    for (int i = 0; i < 64; i += 2)
        xs_free(&a, p[i]);
    for (int i = 1; i < 64; i += 2)
        xs_free(&a, p[i]);
    xs_free(&a, block + 100);          /* not ours: ignored */
    assert_int_equal(xs_arena_largest(&a), full);
    assert_int_equal(a.used, 0);
    /* exhaustion then recovery */
    int n = 0;
    while ((p[0] = xs_alloc(&a, 1000)) != NULL)
        n++;
    assert_true(n > 50);
}

static void test_read_write_dir(void **state)
{
    (void)state;
    assert_string_equal(rd(0, "/a"), "!ENOENT");
    assert_string_equal(wr(0, 0, "/a/b/c", "hello"), "OK");
    assert_string_equal(rd(0, "/a/b/c"), "hello");
    assert_string_equal(rd(0, "/a/b"), "");
    assert_string_equal(dir(0, "/"), "a");
    assert_string_equal(dir(0, "/a/b"), "c");
    assert_string_equal(wr(0, 0, "/a/b/d", ""), "OK");
    assert_string_equal(wr(0, 0, "/a/b/c", "bye"), "OK");
    assert_string_equal(rd(0, "/a/b/c"), "bye");
    assert_string_equal(dir(0, "/a/b"), "c,d");
    assert_string_equal(dir(0, "/a/b/c"), "");
    /* values are bytes: embedded NULs survive, read has no terminator */
    char v[3] = { 'x', 0, 'y' }, buf[16] = "/bin";
    memcpy(buf + 5, v, 3);
    struct msg *m = call(0, XS_WRITE, 0, buf, 8);
    assert_string_equal(res(m), "OK");
    m = call(0, XS_READ, 0, "/bin", 5);
    assert_int_equal(m->h.len, 3);
    assert_memory_equal(m->body, v, 3);
    /* mkdir: creates, existing is fine */
    assert_string_equal(mkd(0, "/m/n"), "OK");
    assert_string_equal(mkd(0, "/m/n"), "OK");
    assert_string_equal(dir(0, "/m"), "n");
    /* rm: recursive; absent child of an existing parent is fine */
    assert_string_equal(rm_(0, "/a"), "OK");
    assert_string_equal(rd(0, "/a/b/c"), "!ENOENT");
    assert_string_equal(dir(0, "/"), "bin,m");
    assert_string_equal(rm_(0, "/m/zz"), "OK");
    assert_string_equal(rm_(0, "/q/zz"), "!ENOENT");
    assert_string_equal(rm_(0, "/"), "!EINVAL");
    struct xs_stats s;
    xs_get_stats(st, &s);
    assert_int_equal(s.nodes, 4);      /* / /bin /m /m/n */
    /* 4096-byte value: the largest payload the path leaves room for */
    static char big[XENSTORE_PAYLOAD_MAX];
    memset(big, 'v', sizeof(big) - 1);
    big[XENSTORE_PAYLOAD_MAX - 4] = 0;  /* "/bv\0" + 4092 bytes */
    char req[XENSTORE_PAYLOAD_MAX];
    memcpy(req, "/bv", 4);
    memset(req + 4, 'v', XENSTORE_PAYLOAD_MAX - 4);
    assert_string_equal(res(call(0, XS_WRITE, 0, req, XENSTORE_PAYLOAD_MAX)), "OK");
    m = call(0, XS_READ, 0, "/bv", 4);
    assert_int_equal(m->h.len, XENSTORE_PAYLOAD_MAX - 4);
}

static void test_relative_and_domain_path(void **state)
{
    (void)state;
    make_domain_dirs();
    assert_string_equal(wr(1, 0, "name", "vm1"), "OK");
    assert_string_equal(rd(0, "/local/domain/1/name"), "vm1");
    assert_string_equal(rd(1, "name"), "vm1");
    assert_string_equal(dir(1, "/local/domain/1"), "name");
    assert_string_equal(s1(1, XS_GET_DOMAIN_PATH, 0, "7"), "/local/domain/7");
    assert_string_equal(s1(1, XS_GET_DOMAIN_PATH, 0, "x7"), "!EINVAL");
}

static void test_path_rules(void **state)
{
    (void)state;
    static char p[XENSTORE_PAYLOAD_MAX];
    assert_string_equal(wr(0, 0, "/a//b", "x"), "!EINVAL");
    assert_string_equal(wr(0, 0, "/a/", "x"), "!EINVAL");
    assert_string_equal(wr(0, 0, "/a b", "x"), "!EINVAL");
    assert_string_equal(wr(0, 0, "/a.b", "x"), "!EINVAL");
    assert_string_equal(wr(0, 0, "/A-z_0@9", "x"), "OK");
    assert_string_equal(rd(0, "@introduceDomain"), "!EINVAL");
    assert_string_equal(wr(0, 0, "", "x"), "!EINVAL");      /* "/local/domain/0/" */
    /* absolute: 3072 bytes fine, 3073 not */
    memset(p, 'a', sizeof(p));
    p[0] = '/';
    p[XENSTORE_ABS_PATH_MAX] = 0;
    assert_string_equal(mkd(0, p), "OK");
    p[XENSTORE_ABS_PATH_MAX] = 'a';
    p[XENSTORE_ABS_PATH_MAX + 1] = 0;
    assert_string_equal(mkd(0, p), "!EINVAL");
    /* below /local/domain/N/ at most 2048 bytes (in short components: a
     * name of 2048 bytes would not fit in its parent's 2048-byte entry) */
    make_domain_dirs();
    for (int i = 0; i < XENSTORE_REL_PATH_MAX; i++)
        p[i] = i % 8 == 7 ? '/' : 'b';
    p[XENSTORE_REL_PATH_MAX - 1] = 'b';
    p[XENSTORE_REL_PATH_MAX] = 0;
    assert_string_equal(mkd(1, p), "OK");
    p[XENSTORE_REL_PATH_MAX] = 'b';
    p[XENSTORE_REL_PATH_MAX + 1] = 0;
    assert_string_equal(mkd(1, p), "!EINVAL");
}

static void test_permissions(void **state)
{
    (void)state;
    make_domain_dirs();
    assert_string_equal(perms(0, "/local/domain/1"), "n1");
    /* a domain cannot write outside its area, or read another's */
    assert_string_equal(wr(1, 0, "/tool", "x"), "!EACCES");
    assert_string_equal(mkd(1, "/local/domain/2/x"), "!EACCES");
    assert_string_equal(wr(2, 0, "data", "secret"), "OK");
    assert_string_equal(rd(1, "/local/domain/2/data"), "!EACCES");
    assert_string_equal(dir(1, "/local/domain/2"), "!EACCES");
    assert_string_equal(perms(1, "/local/domain/2/data"), "!EACCES");
    /* an absent node below an unreadable one: EACCES, not ENOENT */
    assert_string_equal(rd(1, "/local/domain/2/nothere"), "!EACCES");
    assert_string_equal(rd(2, "nothere"), "!ENOENT");
    assert_string_equal(rm_(1, "/local/domain/2/data"), "!EACCES");
    assert_string_equal(rd(2, "data"), "secret");
    /* created children inherit perms; an unprivileged creator owns them */
    assert_string_equal(perms(2, "data"), "n2");
    assert_string_equal(setp(2, "data", "n2", "r1"), "OK");
    assert_string_equal(rd(1, "/local/domain/2/data"), "secret");
    assert_string_equal(wr(1, 0, "/local/domain/2/data", "x"), "!EACCES");
    assert_string_equal(setp(1, "/local/domain/2/data", "n1", NULL), "!EACCES");
    assert_string_equal(setp(2, "data", "b2", "w1"), "OK");
    assert_string_equal(rd(1, "/local/domain/2/data"), "!EACCES");  /* w only */
    assert_string_equal(wr(1, 0, "/local/domain/2/data/sub", "y"), "OK");
    assert_string_equal(perms(0, "/local/domain/2/data/sub"), "b1,w1");
    /* the owner (1) may read although "b" is for others and 1 is listed w */
    assert_string_equal(rd(1, "/local/domain/2/data/sub"), "y");
    /* a domain may not give a node away; dom0 may, and always may anything */
    assert_string_equal(setp(2, "data", "b1", NULL), "!EPERM");
    assert_string_equal(setp(0, "/local/domain/2/data", "n3", NULL), "OK");
    assert_string_equal(rd(2, "data"), "!EACCES");
    assert_string_equal(rd(0, "/local/domain/2/data"), "secret");
    /* bad permission strings, too many entries */
    assert_string_equal(setp(0, "/local/domain/2", "x1", NULL), "!EINVAL");
    assert_string_equal(setp(0, "/local/domain/2", "r", NULL), "!EINVAL");
    assert_string_equal(setp(0, "/local/domain/2", "r70000", NULL), "!EINVAL");
    assert_string_equal(setp(0, "/local/domain/2", "r1a", NULL), "!EINVAL");
    assert_string_equal(res(call(0, XS_SET_PERMS, 0, "/local/domain/2", 16)), "!EINVAL");
    assert_string_equal(multi(2, XS_SET_PERMS, 0, 7, "x", "n2", "r1", "r3", "r4", "r5", "r6"),
                        "!ENOSPC");
    assert_string_equal(setp(2, "/local/domain/2/nothere", "n2", NULL), "!ENOENT");
    /* root: only dom0 reads it */
    assert_string_equal(dir(1, "/"), "!EACCES");
    assert_string_equal(s1(1, XS_IS_DOMAIN_INTRODUCED, 0, "2"), "!EACCES");
}

static void test_watches(void **state)
{
    (void)state;
    make_domain_dirs();
    /* reply, then the initial event with the path as registered */
    assert_string_equal(watch(1, "device", "tok"), "OK");
    assert_int_equal(events(1, "device", "tok"), 1);
    assert_string_equal(watch(1, "device", "tok"), "!EEXIST");
    assert_string_equal(watch(1, "device", "tok2"), "OK");
    assert_int_equal(events(1, "device", "tok2"), 1);
    assert_string_equal(multi(1, XS_UNWATCH, 0, 2, "device", "tok2"), "OK");
    assert_string_equal(multi(1, XS_UNWATCH, 0, 2, "device", "tok2"), "!ENOENT");
    /* descendants fire, relative watches get relative paths */
    assert_string_equal(wr(0, 0, "/local/domain/1/device/vif/0", "x"), "OK");
    assert_int_equal(events(1, "device/vif/0", "tok"), 1);
    assert_string_equal(wr(1, 0, "devices", "x"), "OK");   /* not below "device" */
    assert_int_equal(all_events(1), 0);
    /* absolute watch by dom0 on a subtree */
    assert_string_equal(watch(0, "/local/domain/1", "w0"), "OK");
    assert_int_equal(events(0, "/local/domain/1", "w0"), 1);
    assert_string_equal(wr(1, 0, "device/vif/0/state", "4"), "OK");
    assert_int_equal(events(0, "/local/domain/1/device/vif/0/state", "w0"), 1);
    assert_int_equal(events(1, "device/vif/0/state", "tok"), 1);
    /* set_perms fires; mkdir of an existing node does not */
    assert_string_equal(setp(1, "device", "n1", "r2"), "OK");
    assert_int_equal(events(1, "device", "tok"), 1);
    assert_int_equal(events(0, "/local/domain/1/device", "w0"), 1);
    assert_string_equal(mkd(1, "device"), "OK");
    assert_int_equal(all_events(1), 0);
    /* rm: fires for the node, and for watches below it with their own path */
    assert_string_equal(watch(1, "device/vif/0/state", "deep"), "OK");
    assert_int_equal(events(1, "device/vif/0/state", "deep"), 1);
    assert_string_equal(rm_(0, "/local/domain/1/device/vif"), "OK");
    assert_int_equal(events(1, "device/vif", "tok"), 1);
    assert_int_equal(events(1, "device/vif/0/state", "deep"), 1);
    assert_int_equal(events(0, "/local/domain/1/device/vif", "w0"), 1);
    /* no event to a watcher that cannot read the node */
    assert_string_equal(watch(2, "/local/domain/1", "spy"), "OK");
    assert_int_equal(events(2, "/local/domain/1", "spy"), 1);
    assert_string_equal(wr(1, 0, "private", "x"), "OK");
    assert_int_equal(all_events(2), 0);
    assert_int_equal(events(1, "private", "tok"), 0);
    clear();
    assert_string_equal(wr(1, 0, "device/shared", "x"), "OK");  /* inherits r2 */
    assert_int_equal(events(2, "/local/domain/1/device/shared", "spy"), 1);
    /* watch "/" sees everything it may read; bad watch args */
    assert_string_equal(watch(0, "/", "all"), "OK");
    assert_int_equal(events(0, "/", "all"), 1);
    assert_string_equal(wr(2, 0, "z", "1"), "OK");
    assert_int_equal(events(0, "/local/domain/2/z", "all"), 1);
    assert_string_equal(watch(1, "/a//b", "t"), "!EINVAL");
    assert_string_equal(multi(1, XS_WATCH, 0, 1, "device"), "!EINVAL");
    assert_string_equal(multi(1, XS_WATCH, 0, 3, "device", "a", "b"), "!EINVAL");
    /* reset drops them all */
    assert_string_equal(res(call(1, XS_RESET_WATCHES, 0, "", 1)), "OK");
    clear();
    assert_string_equal(wr(0, 0, "/local/domain/1/device/q", "x"), "OK");
    assert_int_equal(all_events(1), 0);
}

static uint32_t tx_start(int d)
{
    const char *r = res(call(d, XS_TRANSACTION_START, 0, "", 1));
    assert_true(r[0] >= '1' && r[0] <= '9');
    return (uint32_t)strtoul(r, NULL, 10);
}
static const char *tx_end(int d, uint32_t tx, const char *tf)
{
    return res(call(d, XS_TRANSACTION_END, tx, tf, (uint32_t)strlen(tf) + 1));
}

static void test_transactions(void **state)
{
    (void)state;
    make_domain_dirs();
    assert_string_equal(wr(1, 0, "a", "1"), "OK");
    assert_string_equal(watch(0, "/local/domain/1", "w"), "OK");
    clear();
    /* commit: invisible outside until the end, events at commit */
    uint32_t t = tx_start(1);
    assert_string_equal(wr(1, t, "a", "2"), "OK");
    assert_string_equal(wr(1, t, "new/deep", "n"), "OK");
    assert_string_equal(s1(1, XS_READ, t, "a"), "2");
    assert_string_equal(joined(call(1, XS_DIRECTORY, t, "/local/domain/1", 16)), "a,new");
    assert_string_equal(rd(1, "a"), "1");
    assert_string_equal(rd(1, "new/deep"), "!ENOENT");
    assert_string_equal(dir(1, "/local/domain/1"), "a");
    assert_int_equal(all_events(0), 0);
    assert_string_equal(tx_end(1, t, "T"), "OK");
    assert_string_equal(rd(1, "a"), "2");
    assert_string_equal(rd(1, "new/deep"), "n");
    assert_string_equal(dir(1, "/local/domain/1"), "a,new");
    assert_int_equal(events(0, "/local/domain/1/a", "w"), 1);
    assert_int_equal(events(0, "/local/domain/1/new/deep", "w"), 1);
    assert_string_equal(tx_end(1, t, "T"), "!ENOENT");   /* gone */
    /* conflict: a node read in the transaction changed -> EAGAIN, nothing applied */
    t = tx_start(1);
    assert_string_equal(s1(1, XS_READ, t, "a"), "2");
    assert_string_equal(wr(1, t, "b", "tx"), "OK");
    assert_string_equal(wr(0, 0, "/local/domain/1/a", "3"), "OK");
    assert_string_equal(tx_end(1, t, "T"), "!EAGAIN");
    assert_string_equal(rd(1, "b"), "!ENOENT");
    assert_string_equal(rd(1, "a"), "3");
    /* conflict on a node the transaction saw absent */
    t = tx_start(1);
    assert_string_equal(s1(1, XS_READ, t, "c"), "!ENOENT");
    assert_string_equal(wr(1, 0, "c", "outside"), "OK");
    assert_string_equal(wr(1, t, "d", "x"), "OK");
    assert_string_equal(tx_end(1, t, "T"), "!EAGAIN");
    assert_string_equal(rd(1, "d"), "!ENOENT");
    /* unrelated changes do not conflict */
    t = tx_start(1);
    assert_string_equal(wr(1, t, "new/deep", "m"), "OK");
    assert_string_equal(wr(2, 0, "other", "x"), "OK");
    assert_string_equal(tx_end(1, t, "T"), "OK");
    assert_string_equal(rd(1, "new/deep"), "m");
    /* two transactions writing the same node: the second loses */
    uint32_t t1 = tx_start(1), t2 = tx_start(2);
    assert_int_not_equal(t1, t2);
    assert_string_equal(setp(1, "a", "n1", "w2"), "OK");
    assert_string_equal(wr(1, t1, "a", "t1"), "OK");
    assert_string_equal(wr(2, t2, "/local/domain/1/a", "t2"), "OK");
    assert_string_equal(tx_end(1, t1, "T"), "OK");
    assert_string_equal(tx_end(2, t2, "T"), "!EAGAIN");
    assert_string_equal(rd(1, "a"), "t1");
    /* abort, rm and perms inside a transaction */
    t = tx_start(1);
    assert_string_equal(s1(1, XS_RM, t, "new"), "OK");
    assert_string_equal(s1(1, XS_READ, t, "new/deep"), "!ENOENT");
    assert_string_equal(rd(1, "new/deep"), "m");
    assert_string_equal(tx_end(1, t, "F"), "OK");
    assert_string_equal(rd(1, "new/deep"), "m");
    t = tx_start(1);
    assert_string_equal(s1(1, XS_RM, t, "new"), "OK");
    assert_string_equal(tx_end(1, t, "T"), "OK");
    assert_string_equal(rd(1, "new/deep"), "!ENOENT");
    assert_string_equal(dir(1, "/local/domain/1"), "a,c");
    /* tx ids belong to their connection; bad end arguments */
    t = tx_start(1);
    assert_string_equal(s1(2, XS_READ, t, "/local/domain/2"), "!ENOENT");
    assert_string_equal(tx_end(1, t, "X"), "!EINVAL");
    assert_string_equal(tx_end(1, 9999, "T"), "!ENOENT");
    assert_string_equal(res(call(1, XS_TRANSACTION_START, t, "", 1)), "!EBUSY");
    /* permission checks apply inside transactions too */
    assert_string_equal(wr(1, t, "/local/domain/2/x", "y"), "!EACCES");
    assert_string_equal(tx_end(1, t, "F"), "OK");
    /* quota: 10 open transactions */
    for (int i = 0; i < 10; i++)
        tx_start(2);
    assert_string_equal(res(call(2, XS_TRANSACTION_START, 0, "", 1)), "!ENOSPC");
    /* a domain's open transactions die with it */
    assert_int_equal(xs_domain_gone(st, 2), 0);
    struct xs_stats s;
    xs_get_stats(st, &s);
    assert_int_equal(s.conns, 2);
}

static void test_introduce_release(void **state)
{
    (void)state;
    assert_string_equal(watch(0, "@introduceDomain", "intro"), "OK");
    assert_string_equal(watch(0, "@releaseDomain", "rel"), "OK");
    assert_string_equal(watch(1, "@introduceDomain", "spy"), "OK");
    clear();
    assert_string_equal(s1(0, XS_IS_DOMAIN_INTRODUCED, 0, "3"), "F");
    assert_string_equal(multi(1, XS_INTRODUCE, 0, 3, "3", "1234", "5"), "!EACCES");
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 3, "3", "99", "5"), "!EINVAL");  /* map fails */
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 3, "3", "x", "5"), "!EINVAL");
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 2, "3", "1234"), "!EINVAL");
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 3, "3", "1234", "5"), "OK");
    assert_int_equal(events(0, "@introduceDomain", "intro"), 1);
    assert_int_equal(all_events(1), 0);    /* special events: privileged only */
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 3, "3", "1234", "5"), "!EEXIST");
    assert_string_equal(s1(0, XS_IS_DOMAIN_INTRODUCED, 0, "3"), "T");
    /* the new domain is served on its ring */
    assert_string_equal(mkd(0, "/local/domain/3"), "OK");
    assert_string_equal(setp(0, "/local/domain/3", "n3", NULL), "OK");
    assert_string_equal(wr(3, 0, "hello", "world"), "OK");
    assert_true(notified[3] > 0);
    /* release */
    assert_string_equal(s1(1, XS_RELEASE, 0, "3"), "!EACCES");
    assert_string_equal(s1(0, XS_RELEASE, 0, "0"), "!EINVAL");
    assert_string_equal(s1(0, XS_RELEASE, 0, "3"), "OK");
    assert_int_equal(unmapped[3], 1);
    assert_int_equal(events(0, "@releaseDomain", "rel"), 1);
    assert_string_equal(s1(0, XS_IS_DOMAIN_INTRODUCED, 0, "3"), "F");
    assert_string_equal(s1(0, XS_RELEASE, 0, "3"), "!ENOENT");
    /* what the domain owned went with it (Xen 4.17), its home included */
    assert_string_equal(rd(0, "/local/domain/3/hello"), "!ENOENT");
    assert_string_equal(rd(0, "/local/domain/3"), "!ENOENT");
    assert_int_equal(xs_owned_nodes(st, 3), 0);
    /* attached (not introduced) conns are not unmapped */
    assert_int_equal(xs_domain_gone(st, 2), 0);
    assert_int_equal(unmapped[2], 0);
    assert_int_equal(events(0, "@releaseDomain", "rel"), 1);
    assert_int_equal(xs_domain_gone(st, 2), -XL_ENOENT);
    assert_string_equal(res(call(0, XS_CONTROL, 0, "x", 2)), "!ENOSYS");
    assert_string_equal(res(call(1, XS_CONTROL, 0, "x", 2)), "!EACCES");
}

/* XS_RM of an absent node says nothing a reader could not see: OK only
 * for a caller that may write the existing parent, else EACCES (Xen's
 * errno_from_parents with WRITE), whether the parent exists or not. */
static void test_rm_absent_is_no_oracle(void **state)
{
    (void)state;
    assert_string_equal(mkd(0, "/local/domain/2/secret"), "OK");
    assert_string_equal(setp(0, "/local/domain/2/secret", "n2", NULL), "OK");
    assert_string_equal(wr(0, 0, "/local/domain/2/secret/key", "k"), "OK");
    assert_string_equal(rm_(1, "/local/domain/2/secret/zz"), "!EACCES");
    assert_string_equal(rm_(1, "/local/domain/2/nosuch/zz"), "!EACCES");
    assert_string_equal(rm_(1, "/local/domain/2/secret/key"), "!EACCES");
    assert_string_equal(rd(0, "/local/domain/2/secret/key"), "k");
    /* the owner and dom0: an absent child of an existing parent is OK */
    assert_string_equal(rm_(2, "/local/domain/2/secret/zz"), "OK");
    assert_string_equal(rm_(0, "/local/domain/2/secret/zz"), "OK");
    assert_string_equal(rm_(2, "/local/domain/2/secret/nosuch/zz"), "!ENOENT");
}

static void test_quotas(void **state)
{
    (void)state;
    struct xs_quota q = { .nodes = 10, .watches = 3, .outq_bytes = 2048 };
    setup_q(&q);
    make_domain_dirs();
    /* /local/domain/1 itself counts: owned by 1 */
    assert_int_equal(xs_owned_nodes(st, 1), 1);
    char p[32];
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(p, sizeof(p), "n%d", i);
        if (strcmp(wr(1, 0, p, "x"), "OK") == 0)
            ok++;
    }
    assert_int_equal(ok, 9);
    assert_string_equal(wr(1, 0, "more", "x"), "!ENOSPC");
    assert_string_equal(wr(1, 0, "n0", "rewrite is fine"), "OK");
    assert_string_equal(rm_(1, "n0"), "OK");
    assert_string_equal(wr(1, 0, "again", "x"), "OK");
    assert_string_equal(wr(1, 0, "a/b", "x"), "!ENOSPC");  /* needs two */
    /* dom0 is not limited by the node quota */
    for (int i = 0; i < 20; i++) {
        snprintf(p, sizeof(p), "/d0/n%d", i);
        assert_string_equal(wr(0, 0, p, "x"), "OK");
    }
    /* watches */
    assert_string_equal(watch(1, "w1", "t"), "OK");
    assert_string_equal(watch(1, "w2", "t"), "OK");
    assert_string_equal(watch(1, "w3", "t"), "OK");
    assert_string_equal(watch(1, "w4", "t"), "!E2BIG");
    /* a domain that never reads its events: they are capped, others served */
    assert_string_equal(watch(2, "/local/domain/2", "flood"), "OK");
    assert_string_equal(setp(0, "/local/domain/2", "n2", "r0"), "OK");
    struct xs_stats before, after;
    /* the same event again and again while one is still unread: queued
     * once (Xen), so nothing is dropped and nothing grows */
    xs_get_stats(st, &before);
    for (int i = 0; i < 300; i++)
        assert_string_equal(wr(0, 0, "/local/domain/2/x", "0123456789"), "OK");
    xs_get_stats(st, &after);
    assert_int_equal(after.events_dropped, before.events_dropped);
    assert_true(after.arena_used < before.arena_used + 4096);
    /* distinct events: capped */
    xs_get_stats(st, &before);
    for (int i = 0; i < 3000; i++) {
        /* the call() helper drains only dom0's rsp ring: d2's fills up */
        snprintf(p, sizeof(p), "/local/domain/2/x%d", i % 2000);
        assert_string_equal(wr(0, 0, p, "0123456789"), "OK");
    }
    xs_get_stats(st, &after);
    assert_true(after.events_dropped > before.events_dropped);
    assert_true(after.arena_used < before.arena_used + 2000 * 160 + 65536);
    assert_string_equal(wr(1, 0, "n1", "still served"), "OK");
}

static void test_arena_exhaustion(void **state)
{
    (void)state;
    static uint8_t small[256 * 1024];
    struct xs_quota q = { 0 };
    st = xs_store_init(small, sizeof(small), &q, &ops);
    assert_non_null(st);
    memset(rings, 0, sizeof(rings));
    clear();
    assert_non_null(xs_conn_attach(st, 0, &rings[0]));
    static char req[XENSTORE_PAYLOAD_MAX];
    int i, enomem = 0;
    for (i = 0; i < 200 && !enomem; i++) {
        int n = snprintf(req, sizeof(req), "/big/%d", i) + 1;
        memset(req + n, 'x', 3000);
        const char *r = res(call(0, XS_WRITE, 0, req, (uint32_t)n + 3000));
        if (strcmp(r, "!ENOMEM") == 0)
            enomem = 1;
        else
            assert_string_equal(r, "OK");
    }
    assert_true(enomem);
    assert_string_equal(rm_(0, "/big"), "OK");
    assert_string_equal(wr(0, 0, "/after", "ok"), "OK");
    assert_string_equal(rd(0, "/after"), "ok");
    st = NULL;
}

/* ---- malformed wire messages ---- */

static void test_wire_errors(void **state)
{
    (void)state;
    make_domain_dirs();
    struct msg *m;
    /* unknown type, and types a client may not send: EINVAL, ids echoed */
    m = call(2, 999, 0, "x", 2);
    assert_int_equal(m->h.type, XS_ERROR);
    assert_string_equal(m->body, "EINVAL");
    assert_int_equal(m->h.len, 7);
    m = call(2, XS_WATCH_EVENT, 0, "a\0b", 4);
    assert_string_equal(res(m), "!EINVAL");
    m = call(2, XS_ERROR, 0, "", 0);
    assert_string_equal(res(m), "!EINVAL");
    /* missing terminator, extra strings, empty payload */
    assert_string_equal(res(call(2, XS_READ, 0, "/local", 6)), "!EINVAL");
    assert_string_equal(res(call(2, XS_READ, 0, "a\0b", 4)), "!EINVAL");
    assert_string_equal(res(call(2, XS_READ, 0, "", 0)), "!EINVAL");
    assert_string_equal(res(call(2, XS_WRITE, 0, "nonul", 5)), "!EINVAL");
    assert_string_equal(res(call(2, XS_TRANSACTION_END, 0, "T", 2)), "!ENOENT");
    /* oversized: E2BIG, its payload skipped, the stream stays in sync */
    static uint8_t junk[8192];
    memset(junk, 0x41, sizeof(junk));
    struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = 77, .len = 6000 };
    push(2, &h, sizeof(h));
    push(2, junk, 6000);
    m = find_reply(2, 77);
    assert_non_null(m);
    assert_string_equal(res(m), "!E2BIG");
    assert_string_equal(wr(2, 0, "after", "big"), "OK");
    assert_string_equal(rd(2, "after"), "big");
    /* partial: header in one go, payload bytes one at a time */
    struct xsd_sockmsg hp = { .type = XS_READ, .req_id = 555, .len = 6 };
    push(2, &hp, 10);
    assert_null(find_reply(2, 555));
    push(2, (uint8_t *)&hp + 10, sizeof(hp) - 10);
    for (int i = 0; i < 6; i++) {
        assert_null(find_reply(2, 555));
        push(2, "after" + i, 1);
    }
    m = find_reply(2, 555);
    assert_non_null(m);
    assert_string_equal(res(m), "big");
    /* tx_id is echoed */
    uint32_t t = tx_start(2);
    m = call(2, XS_READ, t, "after", 6);
    assert_int_equal(m->h.tx_id, t);
    /* bad ring indexes break only that connection */
    rings[2].req_prod = rings[2].req_cons + 5000;
    xs_process_all(st);
    assert_int_equal(rings[2].error, XENSTORE_ERROR_RINGIDX);
    assert_int_equal(xs_conn_process(st, xs_conn_find(st, 2)), -XL_EIO);
    assert_string_equal(wr(1, 0, "fine", "yes"), "OK");
    assert_string_equal(rd(0, "/local/domain/1/fine"), "yes");
    /* rsp indexes corrupted by the guest */
    rings[1].rsp_cons = rings[1].rsp_prod + 3000;
    for (unsigned int i = 0; i < sizeof(hp); i++)      /* not push(): no drain */
        rings[1].req[MASK_XENSTORE_IDX(rings[1].req_prod++)] = ((char *)&hp)[i];
    assert_int_equal(xs_conn_process(st, xs_conn_find(st, 1)), -XL_EIO);
    assert_int_equal(rings[1].error, XENSTORE_ERROR_RINGIDX);
    assert_string_equal(rd(0, "/local/domain/2/after"), "big");
    /* a broken domain's watches get nothing; releasing it is clean */
    assert_int_equal(xs_domain_gone(st, 1), 0);
    assert_int_equal(xs_domain_gone(st, 2), 0);
    assert_string_equal(wr(0, 0, "/x", "y"), "OK");
    assert_int_equal(rings[2].server_features & XENSTORE_SERVER_FEATURE_ERROR,
                     XENSTORE_SERVER_FEATURE_ERROR);
}

/* Random garbage from d2 (headers with random types, ids and lengths,
 * random payloads) never stops dom0 and d1 being served, and never
 * touches memory it should not (ASan). */
static void test_wire_fuzz(void **state)
{
    (void)state;
    make_domain_dirs();
    static uint8_t buf[XENSTORE_PAYLOAD_MAX];
    uint32_t seed = 12345;
    for (int i = 0; i < 3000; i++) {
        seed = seed * 1103515245u + 12345u;
        struct xsd_sockmsg h = {
            .type = (seed >> 8) % (XS_TYPE_COUNT + 3),
            .req_id = seed,
            .tx_id = (seed >> 4) & 1 ? 0 : (seed >> 12) % 4,
            .len = (seed >> 16) % 64,
        };
        for (uint32_t j = 0; j < h.len; j++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly path-ish bytes so some requests get deep */
            static const char chars[] = "/ab0@\0\0/local/domain/12rwnb";
            buf[j] = (uint8_t)chars[(seed >> 16) % (sizeof(chars) - 1)];
        }
        if (h.type == XS_INTRODUCE || h.type == XS_RELEASE)
            h.type = XS_READ;
        push(2, &h, sizeof(h));
        push(2, buf, h.len);
        ninbox[2] = 0;
        if (i % 100 == 0) {
            char v[16];
            snprintf(v, sizeof(v), "%d", i);
            assert_string_equal(wr(1, 0, "alive", v), "OK");
            assert_string_equal(rd(0, "/local/domain/1/alive"), v);
        }
    }
    assert_string_equal(rd(1, "alive"), "2900");
    assert_string_equal(perms(0, "/local/domain/1"), "n1");
}

static void test_directory_part(void **state)
{
    (void)state;
    char p[64];
    for (int i = 0; i < 400; i++) {
        snprintf(p, sizeof(p), "/many/child-with-a-long-name-%03d", i);
        assert_string_equal(mkd(0, p), "OK");
    }
    /* the full list is over 4096 bytes: E2BIG, as in Xen */
    assert_string_equal(dir(0, "/many"), "!E2BIG");
    unsigned int off = 0, got = 0, done = 0;
    while (!done) {
        char req[64];
        int n = snprintf(req, sizeof(req), "/many") + 1;
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%u", off) + 1;
        struct msg *m = call(0, XS_DIRECTORY_PART, 0, req, (uint32_t)n);
        assert_int_equal(m->h.type, XS_DIRECTORY_PART);
        uint32_t pos = (uint32_t)strlen(m->body) + 1;   /* generation */
        while (pos < m->h.len) {
            size_t l = strlen(m->body + pos);
            if (!l) {
                done = 1;
                break;
            }
            got++;
            off += (unsigned int)l + 1;
            pos += (uint32_t)l + 1;
        }
    }
    assert_int_equal(got, 400);
    assert_string_equal(multi(0, XS_DIRECTORY_PART, 0, 2, "/many", "7"), "!EINVAL");
    assert_string_equal(multi(0, XS_DIRECTORY_PART, 0, 2, "/many", "99999"), "!EINVAL");
}


/* ---- per-domain limits (issue 14) ---- */


static const char *wr_len(int d, const char *path, size_t vlen)
{
    static char req[XENSTORE_PAYLOAD_MAX];
    size_t pl = strlen(path) + 1;
    memcpy(req, path, pl);
    memset(req + pl, 'v', vlen);
    return res(call(d, XS_WRITE, 0, req, (uint32_t)(pl + vlen)));
}

/* A domU runs into its memory quota (ENOMEM, answered), others are
 * served, and what it frees is given back to its count. */
static void test_memory_quota(void **state)
{
    (void)state;
    struct xs_quota q = { .memory = 64 * 1024, .nodes = 5000 };
    char p[32];
    const char *r = "";
    int ok = 0;
    setup_q(&q);
    make_domain_dirs();
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof(p), "f%d", i);
        if (strcmp(r = wr_len(1, p, 1024), "OK"))
            break;
        ok++;
    }
    assert_string_equal(r, "!ENOMEM");
    assert_in_range(ok, 40, 63);
    assert_true(xs_domain_memory(st, 1) <= 64 * 1024);
    assert_string_equal(wr_len(0, "/dom0/big", 4000), "OK");
    assert_string_equal(wr(2, 0, "y", "z"), "OK");
    /* dom0's requests are not refused for the domU's quota, though the
     * node dom0 makes below the domU's home is charged to the domU */
    size_t before = xs_domain_memory(st, 1);
    assert_string_equal(wr_len(0, "/local/domain/1/from-dom0", 1024), "OK");
    assert_true(xs_domain_memory(st, 1) > before);
    assert_string_equal(rm_(0, "/local/domain/1/from-dom0"), "OK");
    assert_int_equal(xs_domain_memory(st, 1), before);
    /* watches and transactions are charged too (a 1 KiB node did not fit) */
    static char tok[2048];
    memset(tok, 't', sizeof(tok) - 1);
    assert_string_equal(watch(1, "w", tok), "!ENOMEM");
    assert_string_equal(res(call(1, XS_TRANSACTION_START, 0, "", 1)), "!ENOMEM");
    for (int i = 0; i < ok; i++) {
        snprintf(p, sizeof(p), "f%d", i);
        assert_string_equal(rm_(1, p), "OK");
    }
    assert_true(xs_domain_memory(st, 1) < 1024);   /* its home node only */
    assert_string_equal(watch(1, "w", tok), "OK");
}

/* One transaction writing one node 30000 times: constant memory, one
 * event at commit (the review's flood filled the whole arena). */
static void test_transaction_flood(void **state)
{
    (void)state;
    make_domain_dirs();
    assert_string_equal(watch(0, "/local/domain/1", "w"), "OK");
    clear();
    uint32_t t = tx_start(1);
    size_t peak = 0;
    for (int i = 0; i < 30000; i++) {
        assert_string_equal(wr(1, t, "flood", "0123456789abcdef0123456789abcdef"), "OK");
        if (xs_domain_memory(st, 1) > peak)
            peak = xs_domain_memory(st, 1);
        if (i % 1000 == 0)
            clear();
    }
    assert_true(peak < 8 * 1024);
    assert_string_equal(tx_end(1, t, "T"), "OK");
    assert_int_equal(events(0, "/local/domain/1/flood", "w"), 1);
    /* write and rm of the same path: one event, recursive */
    assert_string_equal(wr(1, 0, "d/e", "x"), "OK");
    assert_string_equal(watch(0, "/local/domain/1/d/e", "we"), "OK");
    clear();
    t = tx_start(1);
    for (int i = 0; i < 100; i++)
        assert_string_equal(wr(1, t, "d", "y"), "OK");
    assert_string_equal(s1(1, XS_RM, t, "d"), "OK");
    assert_string_equal(tx_end(1, t, "T"), "OK");
    assert_int_equal(events(0, "/local/domain/1/d/e", "we"), 1);
}

/* Several domUs together cannot take dom0's reserve: dom0 is answered,
 * and so are the domUs (ENOMEM), with replies larger than the ring. */
static void test_dom0_reserve(void **state)
{
    (void)state;
    struct xs_quota q = { .nodes = 5000 };
    char p[32];
    int full = 0;
    setup_q(&q);
    make_domain_dirs();
    for (int d = 1; d <= 2; d++)
        for (int i = 0; i < 5000; i++) {
            snprintf(p, sizeof(p), "d%d/f%d", i / 50, i);
            const char *r = wr_len(d, p, 2000);
            if (strcmp(r, "OK")) {
                assert_string_equal(r, "!ENOMEM");
                full++;
                break;
            }
        }
    assert_int_equal(full, 2);
    struct xs_stats stt;
    xs_get_stats(st, &stt);
    assert_true(stt.arena_size - stt.arena_used < stt.arena_size / 8 + 8192);
    assert_string_equal(rd(2, "d0/f0") + 1995, "vvvvv");   /* 2000 bytes back */
    for (int i = 0; i < 100; i++) {
        snprintf(p, sizeof(p), "/dom0/n%d", i);
        assert_string_equal(wr_len(0, p, 3000), "OK");
    }
    assert_string_equal(wr(2, 0, "more", "x"), "!ENOMEM");
}

/* Xen's node-size quota: 8 bytes per perm + value + children list. */
static void test_entry_size(void **state)
{
    (void)state;
    char p[160];
    const char *r = "";
    int i;
    make_domain_dirs();
    assert_string_equal(wr_len(1, "v", 2040), "OK");
    assert_string_equal(wr_len(1, "v", 2041), "!ENOSPC");
    assert_string_equal(wr_len(1, "w", 2041), "!ENOSPC");
    assert_string_equal(rd(1, "w"), "!ENOENT");
    assert_string_equal(multi(1, XS_SET_PERMS, 0, 3, "v", "n1", "r2"), "!ENOSPC");
    assert_string_equal(wr_len(0, "/local/domain/1/dom0big", 4000), "OK");
    /* children: the parent's list counts */
    memset(p, 'k', 100);
    for (i = 0; i < 40; i++) {
        snprintf(p + 100, sizeof(p) - 100, "%d", i);
        char path[200];
        snprintf(path, sizeof(path), "kids/%s", p);
        if (strcmp(r = wr(1, 0, path, "x"), "OK"))
            break;
    }
    assert_in_range(i, 15, 21);
    assert_string_equal(r, "!ENOSPC");
    assert_string_equal(wr(0, 0, "/local/domain/1/kids/dom0-is-not-limited", "x"), "OK");
}

/* The review's PoC: parallel transactions each within the node quota
 * together went far past it; the commit checks again. */
static void test_parallel_transactions_quota(void **state)
{
    (void)state;
    struct xs_quota q = { .nodes = 20 };
    uint32_t t[5];
    char p[32];
    int committed = 0;
    setup_q(&q);
    make_domain_dirs();
    /* one directory each, made first: the transactions do not conflict */
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "t%d", i);
        assert_string_equal(mkd(1, p), "OK");
    }
    assert_int_equal(xs_owned_nodes(st, 1), 6);
    for (int i = 0; i < 5; i++) {
        t[i] = tx_start(1);
        for (int k = 0; k < 5; k++) {
            snprintf(p, sizeof(p), "t%d/k%d", i, k);
            assert_string_equal(wr(1, t[i], p, "x"), "OK");   /* 11 owned in each */
        }
    }
    for (int i = 0; i < 5; i++) {
        const char *r = tx_end(1, t[i], "T");
        if (!strcmp(r, "OK"))
            committed++;
        else
            assert_string_equal(r, "!ENOSPC");
    }
    assert_int_equal(committed, 2);
    assert_int_equal(xs_owned_nodes(st, 1), 16);
    assert_string_equal(dir(1, "t2"), "");
    /* in a transaction, nodes it deletes count down: 16 - 6 + 10 */
    uint32_t u = tx_start(1);
    assert_string_equal(s1(1, XS_RM, u, "t0"), "OK");
    for (int k = 0; k < 9; k++) {
        snprintf(p, sizeof(p), "u/k%d", k);
        assert_string_equal(wr(1, u, p, "x"), "OK");
    }
    assert_string_equal(wr(1, u, "u/one-too-many", "x"), "!ENOSPC");
    assert_string_equal(tx_end(1, u, "T"), "OK");
    assert_int_equal(xs_owned_nodes(st, 1), 20);
}

/* Xen 4.17: XS_SET_PERMS needs ownership (or privilege), not write. */
static void test_set_perms_owner_only(void **state)
{
    (void)state;
    make_domain_dirs();
    assert_string_equal(wr(1, 0, "shared", "s"), "OK");
    assert_string_equal(setp(1, "shared", "n1", "w2"), "OK");
    assert_string_equal(wr(2, 0, "/local/domain/1/shared", "written by 2"), "OK");
    assert_string_equal(multi(2, XS_SET_PERMS, 0, 4, "/local/domain/1/shared", "n1", "b2", "r3"),
                        "!EACCES");
    assert_string_equal(multi(2, XS_SET_PERMS, 0, 2, "/local/domain/1/shared", "b2"), "!EACCES");
    assert_string_equal(perms(0, "/local/domain/1/shared"), "n1,w2");
    assert_string_equal(rd(2, "/local/domain/1/shared"), "!EACCES");
    assert_string_equal(setp(1, "shared", "n1", "b2"), "OK");   /* the owner may */
    assert_string_equal(setp(1, "shared", "n2", NULL), "!EPERM"); /* not give it away */
    assert_string_equal(setp(0, "/local/domain/1/shared", "n2", NULL), "OK");
}

/* A domain that is gone leaves nothing: its nodes anywhere, its
 * permissions on other nodes, watches, transactions, memory; a new domain
 * with its id starts from an empty home and a zero count. */
static void test_domain_gone_cleanup(void **state)
{
    (void)state;
    make_domain_dirs();
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 3, "3", "1234", "5"), "OK");
    assert_string_equal(mkd(0, "/local/domain/3"), "OK");
    assert_string_equal(setp(0, "/local/domain/3", "n0", "r3"), "OK");
    assert_string_equal(mkd(0, "/local/domain/3/device"), "OK");
    assert_string_equal(setp(0, "/local/domain/3/device", "n3", NULL), "OK");
    assert_string_equal(wr(3, 0, "device/vif/0/state", "1"), "OK");
    assert_string_equal(wr(3, 0, "device/planted", "p"), "OK");
    assert_string_equal(setp(3, "device/planted", "n3", "b1"), "OK");
    assert_string_equal(wr(0, 0, "/local/domain/3/device/vif/0/dom0-wrote", "d"), "OK");
    /* outside its home: where domain 1 lets it write */
    assert_string_equal(setp(1, "/local/domain/1", "n1", "w3"), "OK");
    assert_string_equal(wr(3, 0, "/local/domain/1/from3/x", "y"), "OK");
    assert_string_equal(wr(0, 0, "/local/domain/2/granted", "g"), "OK");
    assert_string_equal(setp(0, "/local/domain/2/granted", "n2", "r3"), "OK");
    assert_string_equal(watch(3, "device", "w3"), "OK");
    assert_string_equal(watch(0, "/local/domain/3/device", "w0"), "OK");
    uint32_t t = tx_start(3);
    assert_string_equal(wr(3, t, "device/in-tx", "t"), "OK");
    clear();
    assert_true(xs_owned_nodes(st, 3) >= 6);
    assert_true(xs_domain_memory(st, 3) > 0);
    struct xs_stats before;
    xs_get_stats(st, &before);

    assert_int_equal(xs_domain_gone(st, 3), 0);
    assert_int_equal(xs_owned_nodes(st, 3), 0);
    assert_int_equal(xs_domain_memory(st, 3), 0);
    assert_string_equal(rd(0, "/local/domain/3/device"), "!ENOENT");
    assert_string_equal(dir(0, "/local/domain/3"), "");       /* dom0's node stays */
    assert_string_equal(dir(0, "/local/domain/1"), "");
    assert_string_equal(perms(0, "/local/domain/1"), "n1");
    assert_string_equal(perms(0, "/local/domain/2/granted"), "n2");
    assert_string_equal(perms(0, "/local/domain/3"), "n0");
    assert_int_equal(events(0, "/local/domain/3/device", "w0"), 1);
    assert_int_equal(xs_domain_gone(st, 0), -XL_EINVAL);

    /* the id again: nothing inherited */
    assert_string_equal(multi(0, XS_INTRODUCE, 0, 3, "3", "1234", "5"), "OK");
    assert_string_equal(rd(3, "device/planted"), "!EACCES");   /* home: n0 now */
    assert_string_equal(rd(3, "/local/domain/2/granted"), "!EACCES");
    assert_string_equal(tx_end(3, t, "T"), "!ENOENT");
    assert_int_equal(xs_owned_nodes(st, 3), 0);
    /* gone without ever having a connection: its nodes go all the same */
    assert_string_equal(wr(0, 0, "/orphan/x", "o"), "OK");
    assert_string_equal(setp(0, "/orphan/x", "n4", NULL), "OK");
    assert_int_equal(xs_owned_nodes(st, 4), 1);
    assert_int_equal(xs_domain_gone(st, 4), -XL_ENOENT);
    assert_int_equal(xs_owned_nodes(st, 4), 0);
    assert_string_equal(dir(0, "/orphan"), "");
}

/* Raw request into d's ring without running the store. */
static void raw_req(int d, uint32_t type, const char *p, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = next_req++, .tx_id = 0, .len = len };
    struct xenstore_domain_interface *r = &rings[d];
    const uint8_t *b = (const uint8_t *)&h;
    for (uint32_t i = 0; i < sizeof(h); i++)
        r->req[MASK_XENSTORE_IDX(r->req_prod++)] = (char)b[i];
    for (uint32_t i = 0; i < len; i++)
        r->req[MASK_XENSTORE_IDX(r->req_prod++)] = p[i];
}

/* The service loop serves the connections in turn: a domain with a ring
 * full of requests delays another's single request by one of its own. */
static void test_fair_service(void **state)
{
    (void)state;
    make_domain_dirs();
    clear();
    /* domain 2 comes first in the loop (the newest connection) */
    for (int i = 0; i < 30; i++)
        raw_req(2, XS_READ, "a", 2);
    raw_req(1, XS_READ, "b", 2);
    nlog = 0;
    xs_process_all(st);
    unsigned int first1 = nlog, twos_before = 0;
    for (unsigned int i = 0; i < nlog; i++)
        if (notify_log[i] == 1) {
            first1 = i;
            break;
        }
    for (unsigned int i = 0; i < first1; i++)
        twos_before += notify_log[i] == 2;
    assert_true(first1 < nlog);
    assert_in_range(twos_before, 1, 2);   /* one request: consumed + answered */
    drain(1);
    drain(2);
    assert_int_equal(rings[2].req_cons, rings[2].req_prod);  /* all served */
}

/* ---- benchmark (make xs-bench; prints, asserts nothing about time) ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_dir(int n)
{
    char p[32];
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "/bench/c%04d", i);
        assert_string_equal(wr(0, 0, p, "v"), "OK");
        if (i % 1000 == 999)
            clear();        /* the inbox holds 4096 messages */
    }
    clear();
}

/* Removing a directory of n children, plainly and inside a transaction
 * (then committed); best of 5 each. */
static int bench(int n)
{
    double plain = 1e9, txn = 1e9, t0;
    setup_q(NULL);
    for (int rep = 0; rep < 5; rep++) {
        bench_dir(n);
        t0 = now_s();
        assert_string_equal(rm_(0, "/bench"), "OK");
        if (now_s() - t0 < plain)
            plain = now_s() - t0;
        bench_dir(n);
        t0 = now_s();
        uint32_t t = tx_start(0);
        assert_string_equal(s1(0, XS_RM, t, "/bench"), "OK");
        assert_string_equal(tx_end(0, t, "T"), "OK");
        if (now_s() - t0 < txn)
            txn = now_s() - t0;
    }
    printf("xenstore rm of a directory of %d children: plain %.6f s, in a transaction "
           "%.6f s (%.2fx)\n", n, plain, txn, txn / plain);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return bench(argc > 2 ? atoi(argv[2]) : 1000);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test_setup(test_read_write_dir, setup),
        cmocka_unit_test_setup(test_relative_and_domain_path, setup),
        cmocka_unit_test_setup(test_path_rules, setup),
        cmocka_unit_test_setup(test_permissions, setup),
        cmocka_unit_test_setup(test_watches, setup),
        cmocka_unit_test_setup(test_transactions, setup),
        cmocka_unit_test_setup(test_introduce_release, setup),
        cmocka_unit_test_setup(test_quotas, setup),
        cmocka_unit_test_setup(test_rm_absent_is_no_oracle, setup),
        cmocka_unit_test_setup(test_arena_exhaustion, setup),
        cmocka_unit_test_setup(test_wire_errors, setup),
        cmocka_unit_test_setup(test_wire_fuzz, setup),
        cmocka_unit_test_setup(test_directory_part, setup),
        cmocka_unit_test_setup(test_memory_quota, setup),
        cmocka_unit_test_setup(test_transaction_flood, setup),
        cmocka_unit_test_setup(test_dom0_reserve, setup),
        cmocka_unit_test_setup(test_entry_size, setup),
        cmocka_unit_test_setup(test_parallel_transactions_quota, setup),
        cmocka_unit_test_setup(test_set_perms_owner_only, setup),
        cmocka_unit_test_setup(test_domain_gone_cleanup, setup),
        cmocka_unit_test_setup(test_fair_service, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
