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

/* Limits (docs/toolstack.md lists them next to Xen's). Zero in a field of
 * the struct passed to xs_store_init means the default, which is Xen
 * 4.17 cxenstored's where it has one. dom0 (domid 0, the toolstack's
 * domain) is exempt from every per-domain limit, as Xen exempts
 * privileged domains; every other domain is held to them on each request
 * and again when a transaction commits. */
struct xs_quota {
    unsigned int nodes;         /* nodes owned by one domain (1000): ENOSPC */
    unsigned int entry_size;    /* a node's perms (8 bytes each, as Xen counts
                                 * them) + value + children list (2048): ENOSPC */
    unsigned int watches;       /* watches per connection (128): E2BIG */
    unsigned int transactions;  /* open transactions per connection (10): ENOSPC */
    unsigned int perms;         /* permission entries per node (5; dom0: 256): ENOSPC */
    unsigned int tx_nodes;      /* nodes one transaction may touch (1024): ENOSPC */
    unsigned int outq_bytes;    /* queued watch events per connection (65536):
                                 * more are dropped and counted */
    size_t memory;              /* arena bytes charged to one domain: nodes it
                                 * owns, its watches, transactions and queued
                                 * events (2.5 MiB, Xen's hard quota): ENOMEM */
    size_t reserve;             /* arena bytes only dom0 may use (1/8 of the
                                 * arena), so dom0 is answered whatever the
                                 * domUs hold */
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
/* Serve the connections in turn, one request each per turn, for a
 * bounded number of turns, then flush every output queue. Returns 1 if
 * requests may be left (call again soon), 0 if every ring was drained. */
int xs_process_all(struct xs_store *s);

/* A domain died or was destroyed (however: XS_RELEASE, destroy, shutdown):
 * drop its connection, watches and transactions (unmap_ring is called for
 * introduced rings), delete every node it owns with its subtree (as Xen
 * 4.17 does), strip it from the permissions of every other node, and fire
 * @releaseDomain. Afterwards nothing in the store names domid, so a new
 * domain given the same id starts clean. -XL_ENOENT if domid had no
 * connection (its nodes are removed all the same, no event fires). domid 0 is refused
 * (-XL_EINVAL). */
int xs_domain_gone(struct xs_store *s, uint16_t domid);

struct xs_stats {
    unsigned int nodes;         /* in the committed tree, "/" included */
    unsigned int conns;
    size_t arena_used, arena_size;
    unsigned long events_dropped;  /* watch events over a conn's outq or
                                    * memory quota */
};
void xs_get_stats(const struct xs_store *s, struct xs_stats *st);
/* Nodes owned by domid in the committed tree (its quota count). */
unsigned int xs_owned_nodes(const struct xs_store *s, uint16_t domid);
/* Arena bytes charged to domid (its memory quota count). */
size_t xs_domain_memory(const struct xs_store *s, uint16_t domid);

#endif
