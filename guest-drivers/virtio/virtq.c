/*
 * virtq.c - driver side of a virtio 1.x split virtqueue: free list of
 * descriptors, chains of readable then writable buffers, avail ring
 * publish, used ring consumption with validation, notification and
 * interrupt suppression (flags or VIRTIO_F_EVENT_IDX).
 * Pure: no inline assembly (barriers are the caller's hooks), no libc,
 * no allocation; host unit tests link it (tests/unit/virtq.mk).
 * Owns: the descriptor table, the avail ring and the private slots.
 * Must never: trust the shared descriptor table when freeing, accept a
 * used element for a descriptor that is not a head in flight, read the
 * used ring beyond what is in flight, or publish a descriptor before its
 * contents (wmb hook first).
 */
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/virtq.h>

#define NIL 0xffffu

size_t virtq_desc_bytes(uint16_t num)
{
    return 16u * num;
}

size_t virtq_avail_bytes(uint16_t num)
{
    return 6u + 2u * num;
}

size_t virtq_used_bytes(uint16_t num)
{
    return 6u + 8u * num;
}

static volatile uint16_t *used_event(struct virtq *vq)
{
    return &vq->avail->ring[vq->num];
}

static volatile uint16_t *avail_event(struct virtq *vq)
{
    return (volatile uint16_t *)&vq->used->ring[vq->num];
}

int virtq_init(struct virtq *vq, uint16_t num, void *desc, void *avail, void *used,
               struct virtq_slot *slots, bool event_idx, const struct xl_barriers *bar)
{
    memset(vq, 0, sizeof(*vq));
    if (num == 0 || (num & (num - 1)) || num > VIRTQ_MAX_SIZE || !desc || !avail || !used || !slots)
        return -XEN_EINVAL;
    vq->num = num;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    vq->slot = slots;
    vq->event_idx = event_idx;
    if (bar)
        vq->bar = *bar;
    memset(desc, 0, virtq_desc_bytes(num));
    memset(avail, 0, virtq_avail_bytes(num));
    memset(used, 0, virtq_used_bytes(num));
    for (uint16_t i = 0; i < num; i++) {
        slots[i] = (struct virtq_slot){ .next = i + 1u < num ? (uint16_t)(i + 1u) : (uint16_t)NIL };
    }
    vq->free_head = 0;
    vq->num_free = num;
    return 0;
}

int virtq_add(struct virtq *vq, const struct virtq_buf *out, unsigned n_out,
              const struct virtq_buf *in, unsigned n_in, void *token)
{
    if (vq->broken)
        return -XEN_EIO;
    unsigned total = n_out + n_in;
    if (total == 0 || !token || total > vq->num)
        return -XEN_EINVAL;
    for (unsigned i = 0; i < total; i++) {
        const struct virtq_buf *b = i < n_out ? &out[i] : &in[i - n_out];
        if (b->len == 0)
            return -XEN_EINVAL;
    }
    if (total > vq->num_free)
        return -XEN_ENOSPC;

    uint16_t head = vq->free_head, d = head;
    uint32_t in_len = 0;
    for (unsigned i = 0; i < total; i++) {
        const struct virtq_buf *b = i < n_out ? &out[i] : &in[i - n_out];
        uint16_t flags = i < n_out ? 0 : VIRTQ_DESC_F_WRITE;
        uint16_t next = vq->slot[d].next;
        if (i + 1 < total)
            flags |= VIRTQ_DESC_F_NEXT;
        else
            vq->slot[d].next = NIL;   /* chain ends; free list goes on at next */
        if (i >= n_out)
            in_len += b->len;
        vq->desc[d].addr = b->addr;
        vq->desc[d].len = b->len;
        vq->desc[d].flags = flags;
        vq->desc[d].next = (flags & VIRTQ_DESC_F_NEXT) ? next : 0;
        d = next;
    }
    vq->free_head = d;
    vq->num_free = (uint16_t)(vq->num_free - total);
    vq->slot[head].token = token;
    vq->slot[head].ndesc = (uint16_t)total;
    vq->slot[head].in_len = in_len;
    vq->avail->ring[vq->avail_shadow & (vq->num - 1)] = head;
    vq->avail_shadow++;
    vq->inflight++;
    return head;
}

void virtq_publish(struct virtq *vq)
{
    if (vq->avail_published == vq->avail_shadow)
        return;
    xl_wmb(&vq->bar);   /* descriptors and ring entries before the index */
    vq->avail->idx = vq->avail_shadow;
    vq->avail_published = vq->avail_shadow;
}

bool virtq_kick_needed(struct virtq *vq)
{
    uint16_t old = vq->avail_kicked, new = vq->avail_published;
    if (old == new)
        return false;
    xl_mb(&vq->bar);    /* the index before we read the device's wishes */
    vq->avail_kicked = new;
    if (vq->event_idx)
        return vring_need_event(*avail_event(vq), new, old);
    return !(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}

static int brk(struct virtq *vq)
{
    vq->broken = true;
    return -XEN_EIO;
}

int virtq_get_used(struct virtq *vq, void **token, uint32_t *len)
{
    if (vq->broken)
        return -XEN_EIO;
    uint16_t idx = vq->used->idx;
    uint16_t ready = (uint16_t)(idx - vq->last_used);
    if (ready == 0)
        return 0;
    if (ready > vq->inflight)
        return brk(vq);
    xl_rmb(&vq->bar);   /* the element after the index that covers it */
    struct virtq_used_elem e;
    e.id = vq->used->ring[vq->last_used & (vq->num - 1)].id;
    e.len = vq->used->ring[vq->last_used & (vq->num - 1)].len;
    if (e.id >= vq->num || !vq->slot[e.id].token)
        return brk(vq);
    struct virtq_slot *h = &vq->slot[e.id];
    if (e.len > h->in_len)
        return brk(vq);
    *token = h->token;
    *len = e.len;
    /* Free the chain by the private links; its tail joins the free list. */
    uint16_t d = e.id, n = h->ndesc;
    for (uint16_t i = 1; i < n; i++)
        d = vq->slot[d].next;
    vq->slot[d].next = vq->free_head;
    vq->free_head = e.id;
    vq->num_free = (uint16_t)(vq->num_free + n);
    h->token = NULL;
    h->ndesc = 0;
    h->in_len = 0;
    vq->last_used++;
    vq->inflight--;
    if (vq->event_idx && !vq->cb_off)
        *used_event(vq) = vq->last_used;  /* interrupt for the next one */
    return 1;
}

void virtq_disable_cb(struct virtq *vq)
{
    vq->cb_off = true;
    if (vq->event_idx)
        *used_event(vq) = (uint16_t)(vq->last_used - 1 - 0x8000u); /* far behind */
    else
        vq->avail->flags |= VIRTQ_AVAIL_F_NO_INTERRUPT;
}

bool virtq_enable_cb(struct virtq *vq)
{
    vq->cb_off = false;
    if (vq->event_idx)
        *used_event(vq) = vq->last_used;
    else
        vq->avail->flags &= (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT;
    xl_mb(&vq->bar);    /* our wish before we look at used->idx */
    return vq->used->idx != vq->last_used;
}
