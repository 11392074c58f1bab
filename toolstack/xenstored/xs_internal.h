/*
 * xs_internal.h - structures shared by the xenstore library's files
 * (store.c: tree, permissions, transactions; wire.c: rings, messages,
 * watches, domains). Not for users of the library (they see store.h).
 * Owns: the in-arena layouts. Must never be included outside this dir.
 */
#ifndef XS_INTERNAL_H
#define XS_INTERNAL_H

#include "store.h"
#include "arena.h"

#include <xenolith/errno.h>
#include <xenolith/lib.h>

#define XS_HASH_BUCKETS 1024u
#define XS_PERMS_HARD_MAX 256u   /* even dom0 */
#define XS_PATH_BUF (XENSTORE_ABS_PATH_MAX + 1)
#define XS_LOCAL_PREFIX "/local/domain/"
#define XS_TX_BUCKETS 256u       /* per transaction: touched paths by hash */
#define XS_XEN_PERM_SIZE 8u      /* sizeof(struct xs_permissions) in Xen's count */
#define XS_TURNS_MAX 64u         /* turns of xs_process_all per call */
/* Arena tags: a domid (the domain charged for the block) or the store's
 * own bookkeeping, which is charged to nobody. */
#define XS_TAG_SYS 0x10000u

struct xs_perm {
    uint16_t id;
    uint8_t perm;               /* XSL_PERM_* */
    uint8_t pad;
};

/* A node is one arena block, never changed in place once in the tree or a
 * transaction: a modification builds a new node. Data after perms[]:
 * path '\0', value (vlen bytes), children (clen bytes: "name\0name\0"). */
struct xs_node {
    struct xs_node *hnext;
    uint64_t gen;               /* store generation of the last change */
    uint32_t hash;
    uint16_t nperms;
    uint16_t plen;
    uint32_t vlen;
    uint32_t clen;
    struct xs_perm perms[];
};

static inline char *xs_node_path(const struct xs_node *n)
{
    return (char *)&n->perms[n->nperms];
}
static inline char *xs_node_val(const struct xs_node *n)
{
    return xs_node_path(n) + n->plen + 1;
}
static inline char *xs_node_kids(const struct xs_node *n)
{
    return xs_node_val(n) + n->vlen;
}

/* What a transaction touched: gen_seen is the committed node's gen when
 * first touched (0: absent); a modified entry carries the transaction's own
 * version (node NULL: deleted in the transaction). */
struct xs_txent {
    struct xs_txent *next;      /* all of the transaction's, newest first */
    struct xs_txent *hnext;     /* same bucket of xs_tx.hash */
    uint32_t hash;
    uint64_t gen_seen;
    struct xs_node *node;
    struct xs_event *ev;        /* the event queued for this path, if any */
    uint8_t modified;
    char path[];
};

/* A watch event to fire at commit: one per path a transaction changed
 * (later changes of the same path update it), so a transaction queues no
 * more events than it touches nodes. */
struct xs_event {
    struct xs_event *next;
    uint16_t nperms, cap;       /* perms[] in use, room for */
    uint8_t recursive;          /* rm: watches below path fire too */
    uint8_t dead;               /* replaced by a larger one: skipped */
    const char *path;           /* the txent's */
    struct xs_perm perms[];     /* the node's perms, for the READ check */
};

/* Transaction entries are carved from chunks of the transaction's own,
 * freed all together when it ends (one arena call per ~40 entries). */
#define XS_TX_CHUNK 4096u
struct xs_txchunk {
    struct xs_txchunk *next;
    uint32_t used, cap;
    uint8_t data[];
};

struct xs_tx {
    struct xs_tx *next;
    struct xs_txchunk *chunks;
    uint32_t id;
    uint32_t tag;               /* the conn's domid: charged for all of it */
    unsigned int nents;
    int created;                /* change of the conn's own node count */
    struct xs_txent *ents;
    struct xs_event *evs, **evs_tail;
    struct xs_txent *hash[XS_TX_BUCKETS];
};

struct xs_watch {
    struct xs_watch *next;
    uint8_t relative;           /* registered relative: events relative too */
    char *abs;                  /* canonical path (or "@special") */
    char *token;
    char data[];                /* abs '\0' token '\0' */
};

struct xs_msg {                 /* a queued reply or event */
    struct xs_msg *next;
    uint32_t len, off;          /* total bytes (header included), sent */
    uint8_t *bytes;             /* after the struct, or xs_conn.reply_buf */
};

struct xs_conn {
    struct xs_conn *next;
    uint16_t domid;
    uint8_t privileged;
    uint8_t introduced;         /* ring mapped by ops->map_ring */
    uint8_t broken;
    uint32_t round;             /* xs_process_all pass that last saw it */
    struct xenstore_domain_interface *intf;
    unsigned int nwatches, ntx;
    uint32_t next_txid;         /* per connection, as Xen: ids say nothing
                                   of other domains' transactions */
    struct xs_watch *watches;
    struct xs_tx *txs;
    struct xs_msg *outq, **outq_tail;
    uint32_t outq_bytes;
    uint32_t skip;              /* payload bytes of an oversized msg to drop */
    uint32_t in_have;           /* bytes of in_buf filled */
    uint8_t in_buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
    /* Every reply goes through this one slot: a request is read only once
     * the previous reply is in the ring, so a reply never waits for memory
     * and is never dropped. */
    uint8_t reply_busy;
    struct xs_msg reply;
    uint8_t reply_buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
};

struct xs_acct {
    struct xs_acct *next;
    uint16_t domid;
    unsigned int nodes;
    size_t mem;                 /* arena bytes tagged with domid */
};

struct xs_store {
    struct xs_arena arena;
    struct xs_quota q;
    struct xs_ops ops;
    uint64_t gen;
    uint32_t round;
    uint8_t exempt;             /* serving dom0: no quota refuses its request */
    unsigned int nnodes;
    unsigned long events_dropped;
    struct xs_node **buckets;
    struct xs_acct *accts;
    struct xs_conn *conns;
    /* the reply being built (one request at a time) */
    uint32_t rlen;
    char rbuf[XENSTORE_PAYLOAD_MAX];
    char pbuf[XS_PATH_BUF], pbuf2[XS_PATH_BUF];
};

/* store.c: memory charged to a domain (tag: domid or XS_TAG_SYS). With
 * check, an allocation for a domain other than dom0 fails (NULL) past its
 * memory quota or when it would eat into dom0's reserve; without, only
 * an empty arena stops it (for what must not fail: shrinking a node,
 * cleaning up after a domain). XS_CHECK does not refuse what dom0's own
 * requests need (dom0 writing into a domU's node charges the domU);
 * XS_CHECK_ALWAYS (watch events) refuses whoever sent the request. */
#define XS_NOCHECK 0
#define XS_CHECK 1
#define XS_CHECK_ALWAYS 2
void *xs_mem_alloc(struct xs_store *s, size_t n, uint32_t tag, int check);
void xs_mem_free(struct xs_store *s, void *p);
void xs_mem_retag(struct xs_store *s, void *p, uint32_t tag);
/* Delete what domid owns and strip it from other nodes' permissions. */
void xs_purge_domain(struct xs_store *s, uint16_t domid);

/* store.c: operations on the tree, for the connection c in transaction tx
 * (NULL: none). Each returns 0 or a negative Xen errno, and builds its
 * reply payload in s->rbuf/s->rlen. */
int xs_canonical(const struct xs_conn *c, const char *in, char *out, int allow_special);
int xs_op_read(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path);
int xs_op_directory(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path);
int xs_op_directory_part(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx,
                         const char *path, const char *offset);
int xs_op_get_perms(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path);
int xs_op_write(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path,
                const char *val, uint32_t vlen);
int xs_op_mkdir(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path);
int xs_op_rm(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path);
int xs_op_set_perms(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path,
                    const char *perms, uint32_t len);
int xs_tx_start(struct xs_store *s, struct xs_conn *c);
int xs_tx_end(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, int commit);
void xs_tx_free(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx);
struct xs_tx *xs_tx_find(struct xs_conn *c, uint32_t id);
int xs_store_setup(struct xs_store *s);
unsigned int xs_perm_for(const struct xs_conn *c, const struct xs_perm *p, unsigned int n);
int xs_reply_str(struct xs_store *s, const char *str);  /* appends str and its NUL */

/* wire.c: watch events out of the tree. */
void xs_watch_fire(struct xs_store *s, const char *path, const struct xs_perm *perms,
                   unsigned int nperms, int recursive);

#endif
