/*
 * virtq.h - the driver side of a virtio 1.x split virtqueue (virtio spec
 * 1.1 section 2.6): descriptor table, available ring, used ring, driven
 * by dom0's virtio-blk and virtio-net drivers. Implemented by
 * guest-drivers/virtio/virtq.c; no memory of its own: the caller gives
 * the three rings (device-visible) and an array of num private slots.
 *
 * The device is not trusted: a used element naming a descriptor that is
 * not the head of a chain in flight, a length beyond the chain's writable
 * bytes, or a used index that runs ahead of what is in flight breaks the
 * queue (-XEN_EIO from then on: the driver resets the device). Freeing a
 * chain follows the private copy of the links, never the shared table.
 * Little-endian fields as on x86 (VIRTIO_F_VERSION_1).
 */
#ifndef XLGUEST_VIRTQ_H
#define XLGUEST_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xlguest/barrier_hooks.h>

#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1
#define VIRTQ_MAX_SIZE 32768

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];    /* num entries, then used_event */
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];  /* num entries, then avail_event */
};

/* Private, per descriptor: never seen by the device. */
struct virtq_slot {
    void *token;       /* set on a chain's head while in flight */
    uint32_t in_len;   /* head: writable bytes of the chain */
    uint16_t next;     /* link in the chain or the free list */
    uint16_t ndesc;    /* head: descriptors in the chain */
};

struct virtq {
    uint16_t num;
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    struct virtq_slot *slot;
    uint16_t free_head, num_free;
    uint16_t avail_shadow;     /* next avail idx (unpublished part included) */
    uint16_t avail_published;  /* avail->idx as we last wrote it */
    uint16_t avail_kicked;     /* avail idx at the last notify decision */
    uint16_t last_used;        /* next used element to consume */
    uint16_t inflight;         /* chains added and not yet returned */
    bool event_idx;            /* VIRTIO_F_EVENT_IDX negotiated */
    bool cb_off;               /* virtq_disable_cb in force */
    bool broken;
    struct xl_barriers bar;
};

/* One buffer of a chain: guest-physical (or bus) address and length. */
struct virtq_buf {
    uint64_t addr;
    uint32_t len;
};

/* Bytes of the three parts for num entries (spec alignments: 16, 2, 4). */
size_t virtq_desc_bytes(uint16_t num);
size_t virtq_avail_bytes(uint16_t num);   /* with used_event */
size_t virtq_used_bytes(uint16_t num);    /* with avail_event */

/* num: a power of two, 1..32768. Clears the rings, builds the free list. */
int virtq_init(struct virtq *vq, uint16_t num, void *desc, void *avail, void *used,
               struct virtq_slot *slots, bool event_idx, const struct xl_barriers *bar);

/* Adds a chain: n_out device-readable buffers then n_in device-writable
 * ones, and queues its head in the avail ring (not yet published).
 * -XEN_ENOSPC without enough free descriptors, -XEN_EINVAL for an empty
 * chain, a NULL token or a zero-length buffer, -XEN_EIO when broken.
 * Returns the head's index. */
int virtq_add(struct virtq *vq, const struct virtq_buf *out, unsigned n_out,
              const struct virtq_buf *in, unsigned n_in, void *token);

/* Makes queued heads visible: wmb, then avail->idx. */
void virtq_publish(struct virtq *vq);

/* After virtq_publish: mb, then whether the device wants a notification
 * for the heads published since the last call (event index or
 * VIRTQ_USED_F_NO_NOTIFY). */
bool virtq_kick_needed(struct virtq *vq);

/* Takes one used element: 1 with *token and *len, 0 when none, -XEN_EIO
 * when the device broke the protocol. */
int virtq_get_used(struct virtq *vq, void **token, uint32_t *len);

/* Interrupt suppression: disable stops asking for interrupts (best
 * effort: the device may still send one); enable asks again and returns
 * true if used elements arrived meanwhile (poll again before sleeping). */
void virtq_disable_cb(struct virtq *vq);
bool virtq_enable_cb(struct virtq *vq);

/* The spec's vring_need_event: did moving the index from old to new_idx
 * pass event_idx? */
static inline bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif
