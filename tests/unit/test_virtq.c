/*
 * test_virtq.c - host unit tests for the driver side of a virtio split
 * virtqueue (guest-drivers/virtio/virtq.c) against a fake device that
 * walks the shared descriptor table as a device would: ring sizes, chain
 * layout (readable then writable, NEXT links), publish ordering, free
 * list exhaustion and reuse, out-of-order completions with many chains in
 * flight, notification suppression (flags and VIRTIO_F_EVENT_IDX), and a
 * hostile device (ids out of range or not in flight, double completion,
 * lengths past the chain, used index jumps, a scribbled descriptor table).
 * Links: virtq.c. Mocks: barrier hooks that log and check ordering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xen/errno.h>
#include <xlguest/virtq.h>

#define QN 8
#define QBIG 256

static _Alignas(16) uint8_t desc_mem[16 * QBIG];
static _Alignas(4) uint8_t avail_mem[6 + 2 * QBIG];
static _Alignas(4) uint8_t used_mem[6 + 8 * QBIG];
static struct virtq_slot slots[QBIG];

static char blog[256];
static unsigned blen;
static struct virtq *logged_vq;
static uint16_t idx_at_wmb;
static void log_mb(void *o) { if (blen < sizeof(blog) - 1) blog[blen++] = 'm'; }
static void log_rmb(void *o) { if (blen < sizeof(blog) - 1) blog[blen++] = 'r'; }
static void log_wmb(void *o)
{
    if (blen < sizeof(blog) - 1)
        blog[blen++] = 'w';
    if (logged_vq)
        idx_at_wmb = logged_vq->avail->idx;
}
static const struct xl_barriers logbar = { log_mb, log_rmb, log_wmb, NULL };

static void blog_reset(void)
{
    memset(blog, 0, sizeof(blog));
    blen = 0;
}

static void setup(struct virtq *vq, uint16_t num, bool event_idx)
{
    assert_int_equal(virtq_init(vq, num, desc_mem, avail_mem, used_mem, slots, event_idx, &logbar), 0);
    logged_vq = vq;
    blog_reset();
}

/* The fake device: its own view of the shared rings. */
struct dev {
    struct virtq *vq;
    uint16_t last_avail;
    uint16_t used_idx;
};

/* Takes the next available head and checks the chain's shape. */
static uint16_t dev_pop(struct dev *d, unsigned *n_out, unsigned *n_in, uint32_t *in_len)
{
    struct virtq *vq = d->vq;
    assert_true(vq->avail->idx != d->last_avail);
    uint16_t head = vq->avail->ring[d->last_avail++ & (vq->num - 1)];
    assert_true(head < vq->num);
    uint16_t i = head;
    *n_out = *n_in = 0;
    *in_len = 0;
    for (unsigned guard = 0;; guard++) {
        assert_true(guard < vq->num);
        volatile struct virtq_desc *ds = &vq->desc[i];
        if (ds->flags & VIRTQ_DESC_F_WRITE) {
            (*n_in)++;
            *in_len += ds->len;
        } else {
            assert_int_equal(*n_in, 0);   /* readable ones come first */
            (*n_out)++;
        }
        if (!(ds->flags & VIRTQ_DESC_F_NEXT))
            break;
        i = ds->next;
        assert_true(i < vq->num);
    }
    return head;
}

static void dev_complete(struct dev *d, uint32_t id, uint32_t len)
{
    struct virtq *vq = d->vq;
    vq->used->ring[d->used_idx & (vq->num - 1)].id = id;
    vq->used->ring[d->used_idx & (vq->num - 1)].len = len;
    d->used_idx++;
    vq->used->idx = d->used_idx;
}

static void test_sizes_and_init(void **state)
{
    assert_int_equal(virtq_desc_bytes(256), 4096);
    assert_int_equal(virtq_avail_bytes(256), 518);
    assert_int_equal(virtq_used_bytes(256), 2054);
    struct virtq vq;
    assert_int_equal(virtq_init(&vq, 0, desc_mem, avail_mem, used_mem, slots, false, NULL), -XEN_EINVAL);
    assert_int_equal(virtq_init(&vq, 6, desc_mem, avail_mem, used_mem, slots, false, NULL), -XEN_EINVAL);
    assert_int_equal(virtq_init(&vq, 8, NULL, avail_mem, used_mem, slots, false, NULL), -XEN_EINVAL);
    assert_int_equal(virtq_init(&vq, 1, desc_mem, avail_mem, used_mem, slots, false, NULL), 0);
    setup(&vq, QN, false);
    assert_int_equal(vq.num_free, QN);
}

static void test_chain_layout_and_publish(void **state)
{
    struct virtq vq;
    setup(&vq, QN, false);
    struct virtq_buf out[2] = { { 0x1000, 16 }, { 0x2000, 512 } };
    struct virtq_buf in[1] = { { 0x3000, 1 } };
    int tok = 7;
    int head = virtq_add(&vq, out, 2, in, 1, &tok);
    assert_int_equal(head, 0);
    assert_int_equal(vq.num_free, QN - 3);
    assert_int_equal(vq.desc[0].addr, 0x1000);
    assert_int_equal(vq.desc[0].flags, VIRTQ_DESC_F_NEXT);
    uint16_t d1 = vq.desc[0].next;
    assert_int_equal(vq.desc[d1].len, 512);
    assert_int_equal(vq.desc[d1].flags, VIRTQ_DESC_F_NEXT);
    uint16_t d2 = vq.desc[d1].next;
    assert_int_equal(vq.desc[d2].addr, 0x3000);
    assert_int_equal(vq.desc[d2].flags, VIRTQ_DESC_F_WRITE);
    assert_int_equal(vq.avail->ring[0], 0);
    assert_int_equal(vq.avail->idx, 0);            /* not visible yet */
    assert_int_equal(blen, 0);
    virtq_publish(&vq);
    assert_string_equal(blog, "w");
    assert_int_equal(idx_at_wmb, 0);                /* barrier before the index store */
    assert_int_equal(vq.avail->idx, 1);
    blog_reset();
    virtq_publish(&vq);                             /* nothing new: no barrier */
    assert_int_equal(blen, 0);

    struct dev dv = { .vq = &vq };
    unsigned no, ni;
    uint32_t il;
    assert_int_equal(dev_pop(&dv, &no, &ni, &il), 0);
    assert_int_equal(no, 2);
    assert_int_equal(ni, 1);
    assert_int_equal(il, 1);
    void *t;
    uint32_t len;
    assert_int_equal(virtq_get_used(&vq, &t, &len), 0);
    dev_complete(&dv, 0, 1);
    blog_reset();
    assert_int_equal(virtq_get_used(&vq, &t, &len), 1);
    assert_string_equal(blog, "r");
    assert_ptr_equal(t, &tok);
    assert_int_equal(len, 1);
    assert_int_equal(vq.num_free, QN);
    assert_int_equal(virtq_get_used(&vq, &t, &len), 0);
}

static void test_add_rejects(void **state)
{
    struct virtq vq;
    setup(&vq, QN, false);
    struct virtq_buf b[QN + 1];
    for (int i = 0; i < QN + 1; i++)
        b[i] = (struct virtq_buf){ 0x1000u * (i + 1), 64 };
    int tok;
    assert_int_equal(virtq_add(&vq, b, 0, b, 0, &tok), -XEN_EINVAL);
    assert_int_equal(virtq_add(&vq, b, 1, NULL, 0, NULL), -XEN_EINVAL);
    assert_int_equal(virtq_add(&vq, b, QN + 1, NULL, 0, &tok), -XEN_EINVAL);
    struct virtq_buf z = { 0x1000, 0 };
    assert_int_equal(virtq_add(&vq, b, 1, &z, 1, &tok), -XEN_EINVAL);
    assert_int_equal(vq.num_free, QN);      /* nothing taken by a refusal */
    assert_int_equal(virtq_add(&vq, b, 5, NULL, 0, &tok), 0);
    assert_int_equal(virtq_add(&vq, b, 2, b, 2, &tok), -XEN_ENOSPC);
    assert_true(virtq_add(&vq, b, 2, b, 1, &tok) >= 0);
    assert_int_equal(vq.num_free, 0);
    assert_int_equal(virtq_add(&vq, b, 1, NULL, 0, &tok), -XEN_ENOSPC);
}

static void test_out_of_order_reuse(void **state)
{
    struct virtq vq;
    setup(&vq, QN, false);
    struct dev dv = { .vq = &vq };
    struct virtq_buf o = { 0x1000, 100 }, in2[2] = { { 0x2000, 50 }, { 0x3000, 60 } };
    int toks[4];
    int heads[4];
    for (int i = 0; i < 4; i++)
        heads[i] = virtq_add(&vq, &o, 1, in2, i == 3 ? 0 : 1, &toks[i]);
    assert_int_equal(vq.num_free, 1);
    virtq_publish(&vq);
    unsigned no, ni;
    uint32_t il;
    for (int i = 0; i < 4; i++)
        assert_int_equal(dev_pop(&dv, &no, &ni, &il), heads[i]);
    /* Complete 2, 0, 3, 1. */
    int order[4] = { 2, 0, 3, 1 };
    for (int k = 0; k < 4; k++)
        dev_complete(&dv, (uint32_t)heads[order[k]], order[k] == 3 ? 0 : 40);
    for (int k = 0; k < 4; k++) {
        void *t;
        uint32_t len;
        assert_int_equal(virtq_get_used(&vq, &t, &len), 1);
        assert_ptr_equal(t, &toks[order[k]]);
    }
    assert_int_equal(vq.num_free, QN);
    assert_int_equal(vq.inflight, 0);
    /* Every descriptor can be had again, each once. */
    uint8_t seen[QN] = { 0 };
    for (int i = 0; i < QN; i++) {
        int h = virtq_add(&vq, &o, 1, NULL, 0, &toks[0]);
        assert_true(h >= 0 && h < QN);
        assert_int_equal(seen[h], 0);
        seen[h] = 1;
    }
}

static void test_scribbled_desc_table(void **state)
{
    struct virtq vq;
    setup(&vq, QN, false);
    struct dev dv = { .vq = &vq };
    struct virtq_buf b[3] = { { 0x1000, 10 }, { 0x2000, 10 }, { 0x3000, 10 } };
    int tok;
    int h = virtq_add(&vq, b, 1, b + 1, 2, &tok);
    virtq_publish(&vq);
    /* The device rewrites the links (and flags) of the chain. */
    for (int i = 0; i < QN; i++) {
        vq.desc[i].next = (uint16_t)h;
        vq.desc[i].flags = VIRTQ_DESC_F_NEXT;
    }
    dev_complete(&dv, (uint32_t)h, 20);
    void *t;
    uint32_t len;
    assert_int_equal(virtq_get_used(&vq, &t, &len), 1);
    assert_int_equal(vq.num_free, QN);
    uint8_t seen[QN] = { 0 };
    for (int i = 0; i < QN; i++) {
        int d = virtq_add(&vq, b, 1, NULL, 0, &tok);
        assert_true(d >= 0 && d < QN);
        assert_int_equal(seen[d], 0);
        seen[d] = 1;
    }
}

static void expect_broken(struct virtq *vq)
{
    void *t;
    uint32_t len;
    assert_int_equal(virtq_get_used(vq, &t, &len), -XEN_EIO);
    assert_true(vq->broken);
    assert_int_equal(virtq_get_used(vq, &t, &len), -XEN_EIO);
    struct virtq_buf b = { 0x1000, 1 };
    int tok;
    assert_int_equal(virtq_add(vq, &b, 1, NULL, 0, &tok), -XEN_EIO);
}

/* Two chains in flight: heads h0 (3 descriptors, 30 writable bytes), h1. */
static void hostile_setup(struct virtq *vq, struct dev *dv, int *h0, int *h1)
{
    static int tok[2];
    setup(vq, QN, false);
    *dv = (struct dev){ .vq = vq };
    struct virtq_buf b[3] = { { 0x1000, 10 }, { 0x2000, 10 }, { 0x3000, 20 } };
    *h0 = virtq_add(vq, b, 1, b + 1, 2, &tok[0]);
    *h1 = virtq_add(vq, b, 1, NULL, 0, &tok[1]);
    virtq_publish(vq);
}

static void test_hostile_device(void **state)
{
    struct virtq vq;
    struct dev dv;
    int h0, h1;
    void *t;
    uint32_t len;

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, QN, 0);                     /* id out of range */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, 0xffffffffu, 0);
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, vq.desc[h0].next, 0);       /* inside a chain, not its head */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, QN - 1, 0);                 /* a free descriptor */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, (uint32_t)h0, 30);          /* exactly the writable bytes: fine */
    assert_int_equal(virtq_get_used(&vq, &t, &len), 1);
    dev_complete(&dv, (uint32_t)h0, 0);           /* the same head twice */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, (uint32_t)h0, 31);          /* more than the chain can hold */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    dev_complete(&dv, (uint32_t)h1, 1);           /* a read-only chain "wrote" 1 byte */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    vq.used->idx = 3;                             /* three used, two in flight */
    expect_broken(&vq);

    hostile_setup(&vq, &dv, &h0, &h1);
    vq.used->idx = 0xffff;                        /* "minus one" */
    expect_broken(&vq);
}

static void test_need_event(void **state)
{
    /* The device asked to hear when entry 5 is published. */
    assert_true(vring_need_event(5, 6, 5));
    assert_true(vring_need_event(5, 8, 4));
    assert_false(vring_need_event(5, 5, 4));      /* 5 not yet published */
    assert_false(vring_need_event(5, 9, 6));      /* already passed before */
    assert_false(vring_need_event(5, 7, 7));      /* nothing new */
    /* Across the 16-bit wrap. */
    assert_true(vring_need_event(0xffff, 2, 0xfffe));
    assert_true(vring_need_event(0, 1, 0xfff0));
    assert_false(vring_need_event(3, 2, 0xfff0));
}

static void test_kick_event_idx(void **state)
{
    struct virtq vq;
    setup(&vq, QN, true);
    volatile uint16_t *avail_event = (volatile uint16_t *)&vq.used->ring[QN];
    struct virtq_buf b = { 0x1000, 8 };
    int tok;
    *avail_event = 0;                 /* device: tell me about entry 0 */
    virtq_add(&vq, &b, 1, NULL, 0, &tok);
    virtq_publish(&vq);
    blog_reset();
    assert_true(virtq_kick_needed(&vq));
    assert_string_equal(blog, "m");
    assert_false(virtq_kick_needed(&vq));          /* nothing new published */
    *avail_event = 3;                 /* device will poll until entry 3 */
    virtq_add(&vq, &b, 1, NULL, 0, &tok);           /* entry 1 */
    virtq_publish(&vq);
    assert_false(virtq_kick_needed(&vq));
    virtq_add(&vq, &b, 1, NULL, 0, &tok);           /* entries 2, 3 in one publish */
    virtq_add(&vq, &b, 1, NULL, 0, &tok);
    virtq_publish(&vq);
    assert_true(virtq_kick_needed(&vq));
}

static void test_kick_flags(void **state)
{
    struct virtq vq;
    setup(&vq, QN, false);
    struct virtq_buf b = { 0x1000, 8 };
    int tok;
    virtq_add(&vq, &b, 1, NULL, 0, &tok);
    virtq_publish(&vq);
    assert_true(virtq_kick_needed(&vq));
    vq.used->flags = VIRTQ_USED_F_NO_NOTIFY;
    virtq_add(&vq, &b, 1, NULL, 0, &tok);
    virtq_publish(&vq);
    assert_false(virtq_kick_needed(&vq));
    /* Added but not published: nothing to kick for. */
    vq.used->flags = 0;
    virtq_add(&vq, &b, 1, NULL, 0, &tok);
    assert_false(virtq_kick_needed(&vq));
}

static void test_interrupt_suppression(void **state)
{
    struct virtq vq;
    struct dev dv;
    void *t;
    uint32_t len;
    setup(&vq, QN, false);
    dv = (struct dev){ .vq = &vq };
    virtq_disable_cb(&vq);
    assert_true(vq.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    struct virtq_buf b = { 0x1000, 8 };
    int tok;
    int h = virtq_add(&vq, &b, 1, NULL, 0, &tok);
    virtq_publish(&vq);
    assert_false(virtq_enable_cb(&vq));
    assert_false(vq.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    dev_complete(&dv, (uint32_t)h, 0);
    virtq_disable_cb(&vq);
    blog_reset();
    assert_true(virtq_enable_cb(&vq));              /* arrived meanwhile: poll */
    assert_string_equal(blog, "m");

    /* Event index: used_event follows consumption, and is pushed far
     * behind while disabled. */
    setup(&vq, QN, true);
    dv = (struct dev){ .vq = &vq };
    volatile uint16_t *used_event = &vq.avail->ring[QN];
    h = virtq_add(&vq, &b, 1, NULL, 0, &tok);
    int h2 = virtq_add(&vq, &b, 1, NULL, 0, &tok);
    virtq_publish(&vq);
    dev_complete(&dv, (uint32_t)h, 0);
    assert_int_equal(virtq_get_used(&vq, &t, &len), 1);
    assert_int_equal(*used_event, 1);
    virtq_disable_cb(&vq);
    /* The device's own test says no interrupt for the next element. */
    assert_false(vring_need_event(*used_event, 2, 1));
    dev_complete(&dv, (uint32_t)h2, 0);
    assert_int_equal(virtq_get_used(&vq, &t, &len), 1);
    assert_false(vring_need_event(*used_event, 2, 1));  /* get did not re-arm */
    assert_false(virtq_enable_cb(&vq));
    assert_int_equal(*used_event, 2);
    assert_true(vring_need_event(*used_event, 3, 2));
}

static uint32_t rs = 777;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}

/* Many chains in flight on a big queue, completed in random order. */
static void test_stress(void **state)
{
    struct virtq vq;
    setup(&vq, QBIG, true);
    vq.bar = (struct xl_barriers){ 0 };
    struct dev dv = { .vq = &vq };
    static int toks[QBIG];
    static uint16_t pending[QBIG];
    static uint32_t pend_in[QBIG];
    unsigned npend = 0, done = 0, added = 0;
    for (int step = 0; step < 20000; step++) {
        unsigned n = 1 + rnd() % 6;
        unsigned nin = rnd() % (n + 1);
        struct virtq_buf bufs[6];
        for (unsigned i = 0; i < n; i++)
            bufs[i] = (struct virtq_buf){ rnd(), 1 + rnd() % 4096 };
        int h = virtq_add(&vq, bufs, n - nin, bufs + (n - nin), nin, &toks[step % QBIG]);
        if (h >= 0) {
            added++;
            toks[h] = h;
            vq.slot[h].token = &toks[h];
        } else {
            assert_int_equal(h, -XEN_ENOSPC);
        }
        virtq_publish(&vq);
        while (dv.last_avail != vq.avail->idx) {
            unsigned no, ni;
            uint32_t il;
            pending[npend] = dev_pop(&dv, &no, &ni, &il);
            pend_in[npend++] = il;
        }
        unsigned k = rnd() % 4;
        while (k-- && npend) {
            unsigned j = rnd() % npend;
            dev_complete(&dv, pending[j], pend_in[j] ? rnd() % (pend_in[j] + 1) : 0);
            pending[j] = pending[--npend];
            pend_in[j] = pend_in[npend];
        }
        void *t;
        uint32_t len;
        int r;
        while ((r = virtq_get_used(&vq, &t, &len)) == 1) {
            int id = *(int *)t;
            assert_ptr_equal(t, &toks[id]);
            done++;
        }
        assert_int_equal(r, 0);
        /* Free descriptors plus those of chains in flight are all of them. */
        unsigned held = 0;
        for (unsigned i = 0; i < QBIG; i++)
            if (vq.slot[i].token)
                held += vq.slot[i].ndesc;
        assert_int_equal(held + vq.num_free, QBIG);
        assert_int_equal(vq.inflight, added - done);
    }
    assert_true(done > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_init),
        cmocka_unit_test(test_chain_layout_and_publish),
        cmocka_unit_test(test_add_rejects),
        cmocka_unit_test(test_out_of_order_reuse),
        cmocka_unit_test(test_scribbled_desc_table),
        cmocka_unit_test(test_hostile_device),
        cmocka_unit_test(test_need_event),
        cmocka_unit_test(test_kick_event_idx),
        cmocka_unit_test(test_kick_flags),
        cmocka_unit_test(test_interrupt_suppression),
        cmocka_unit_test(test_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
