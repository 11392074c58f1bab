/*
 * store.h - public interface of the xenstore library: the core of a
 * xenstored that dom0 embeds (freestanding, no libc) and host tests link.
 * Owns: the API only. The library keeps everything in the memory block the
 * caller gives it; it maps no page and binds no event channel itself (the
 * caller does that through struct xs_ops).
 *
 * Model (as Xen's C xenstored): a tree of nodes "/a/b" with a value, a
 * children list and permissions [owner+default, domid+perm...]; requests
 * come as xsd_sockmsg on each domain's xenstore_domain_interface ring;
 * replies and XS_WATCH_EVENTs go back on its rsp ring.
 */
#ifndef XS_STORE_H
#define XS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

/* Permission bits as Xen's xenstore_lib.h (XS_PERM_*). */
#define XSL_PERM_NONE  0u
#define XSL_PERM_READ  1u
#define XSL_PERM_WRITE 2u
#define XSL_PERM_BOTH  3u

/* Limits. Zero in a field of the struct passed to xs_store_init means the
 * default (Xen's defaults where Xen has one). dom0 is exempt from the node
 * quota, as Xen exempts privileged domains. */
struct xs_quota {
    unsigned int nodes;         /* nodes owned by one unprivileged domain (1000) */
    unsigned int watches;       /* watches per connection (128) */
    unsigned int transactions;  /* open transactions per connection (10) */
    unsigned int perms;         /* permission entries per node (5; dom0: 256) */
    unsigned int tx_nodes;      /* nodes one transaction may touch (1024) */
    unsigned int outq_bytes;    /* queued replies+events per connection (65536) */
};

/* The caller's services. All may be NULL: then XS_INTRODUCE answers
 * ENOSYS and nobody is notified (tests poll the rings). */
struct xs_ops {
    /* XS_INTRODUCE from dom0: map domid's store frame and bind its event
     * channel; return the mapped interface or NULL (-> the request gets
     * EINVAL). */
    struct xenstore_domain_interface *(*map_ring)(void *opaque, uint16_t domid,
                                                  uint64_t mfn, uint32_t port);
    /* A connection made by map_ring goes away (XS_RELEASE, xs_domain_gone). */
    void (*unmap_ring)(void *opaque, uint16_t domid,
                       struct xenstore_domain_interface *intf);
    /* Kick domid's event channel: its rsp ring has new data or its req ring
     * has new room. */
    void (*notify)(void *opaque, uint16_t domid);
    void *opaque;
};

struct xs_store;
struct xs_conn;

/* Builds an empty store ("/" owned by dom0, "n0") in mem. The store and all
 * its nodes, connections, watches and queued messages live in mem; nothing
 * else is allocated. Returns NULL if mem is too small (< 64 KiB). */
struct xs_store *xs_store_init(void *mem, size_t size, const struct xs_quota *q,
                               const struct xs_ops *ops);

/* Attach a connection for domid over an already mapped interface (dom0's
 * own local ring, or a boot-time domU's page mapped by the caller). The
 * domain counts as introduced. NULL if domid already has one or no memory. */
struct xs_conn *xs_conn_attach(struct xs_store *s, uint16_t domid,
                               struct xenstore_domain_interface *intf);
struct xs_conn *xs_conn_find(struct xs_store *s, uint16_t domid);

/* Consume every complete request in c's req ring and answer each into the
 * rsp ring (queueing what does not fit). Returns the number of requests
 * handled, or -XL_EIO when the connection is broken (bad ring indexes;
 * intf->error then says why). Partial messages wait for more bytes. */
int xs_conn_process(struct xs_store *s, struct xs_conn *c);
/* xs_conn_process on every connection, then flush every output queue. */
void xs_process_all(struct xs_store *s);

/* A domain died or was destroyed: drop its connection, watches and
 * transactions (unmap_ring is called for introduced rings) and fire
 * @releaseDomain. Its nodes stay, as in Xen (the toolstack removes them).
 * -XL_ENOENT if domid had no connection. */
int xs_domain_gone(struct xs_store *s, uint16_t domid);

struct xs_stats {
    unsigned int nodes;         /* in the committed tree, "/" included */
    unsigned int conns;
    size_t arena_used, arena_size;
    unsigned long events_dropped;  /* watch events over a conn's outq quota */
};
void xs_get_stats(const struct xs_store *s, struct xs_stats *st);
/* Nodes owned by domid in the committed tree (its quota count). */
unsigned int xs_owned_nodes(const struct xs_store *s, uint16_t domid);

#endif
