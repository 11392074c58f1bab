/*
 * xenbus.h - a xenstore client for the kit's guest kernels: requests and
 * replies in the xs_wire.h format over the xenstore_domain_interface page
 * of start_info.store_mfn, kicked through start_info.store_evtchn. One
 * request is outstanding at a time; XS_WATCH_EVENTs that arrive meanwhile
 * are queued for xenbus_read_watch.
 *
 * The framing core works on any mapped interface with two callbacks, so
 * host tests drive it against the xenstored library; xenbus_init() is the
 * guest-kernel glue.
 */
#ifndef XLGUEST_XENBUS_H
#define XLGUEST_XENBUS_H

#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/io/xs_wire.h>

#define XENBUS_EVQ_BYTES 8192 /* queued watch events (path\0token\0 each) */

typedef uint32_t xenbus_transaction_t;
#define XBT_NIL 0u

struct xenbus {
    struct xenstore_domain_interface *intf;
    void (*notify)(void *opaque);   /* kick the server */
    void (*wait)(void *opaque);     /* wait for the server to do something */
    void *opaque;
    uint32_t next_id;
    int broken;                     /* protocol or ring-index error: -EIO */
    /* the message being received */
    uint32_t rx_have;
    uint8_t rx[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
    /* the awaited reply */
    uint32_t want_id;
    int got;
    uint32_t reply_type, reply_len;
    char reply[XENSTORE_PAYLOAD_MAX + 1];
    /* watch events: records of u32 length + path\0token\0 */
    uint32_t evq_len;
    unsigned long events_dropped;   /* did not fit in the queue */
    uint8_t evq[XENBUS_EVQ_BYTES];
};

/* Set b up over an already mapped interface. */
void xenbus_attach(struct xenbus *b, struct xenstore_domain_interface *intf,
                   void (*notify)(void *), void (*wait)(void *), void *opaque);

/* Guest kernels: find start_info's store page in the bootstrap mapping
 * (xlguest/m2p.h, as Xen's builder places it), mask its port (the client
 * polls it), attach. NULL if the domain has no store (store_mfn 0) or
 * the page is not there. */
struct xenbus *xenbus_init(void);

/* Take whatever replies/events the server has written. 0, or -EIO once
 * the server broke the protocol (a bad index or an oversized message). */
int xenbus_pump(struct xenbus *b);

/* All return a negative Xen errno on failure: the server's XS_ERROR
 * (EACCES, ENOENT, ...), -E2BIG for a request over XENSTORE_PAYLOAD_MAX,
 * -ENOSPC for a reply bigger than the caller's buffer, -EIO for a broken
 * connection. */
/* Value of path into buf (NUL-terminated); returns its length. */
int xenbus_read(struct xenbus *b, xenbus_transaction_t t, const char *path, char *buf,
                size_t len);
int xenbus_write(struct xenbus *b, xenbus_transaction_t t, const char *path,
                 const char *value);
int xenbus_mkdir(struct xenbus *b, xenbus_transaction_t t, const char *path);
int xenbus_rm(struct xenbus *b, xenbus_transaction_t t, const char *path);
/* Children of path as NUL-separated names in buf; returns their count. */
int xenbus_directory(struct xenbus *b, xenbus_transaction_t t, const char *path, char *buf,
                     size_t len);
/* Read a decimal number. */
int xenbus_read_u64(struct xenbus *b, xenbus_transaction_t t, const char *path,
                    uint64_t *val);
int xenbus_write_u64(struct xenbus *b, xenbus_transaction_t t, const char *path,
                     uint64_t val);

/* XS_SET_PERMS: perms is a list of n strings such as "n1" (owner 1, no
 * access for others) then "r2" (domain 2 may read), as Xen spells them. */
int xenbus_set_perms(struct xenbus *b, xenbus_transaction_t t, const char *path,
                     const char *const *perms, unsigned int n);

int xenbus_watch(struct xenbus *b, const char *path, const char *token);
int xenbus_unwatch(struct xenbus *b, const char *path, const char *token);
/* Next queued watch event. If none: -EAGAIN when !block, else waits.
 * Returns 0 with path and token copied (truncated to their buffers). */
int xenbus_read_watch(struct xenbus *b, char *path, size_t plen, char *token, size_t tlen,
                      int block);

int xenbus_transaction_start(struct xenbus *b, xenbus_transaction_t *t);
/* Commit (abort = 0) or abort; -EAGAIN: the commit lost a race, retry. */
int xenbus_transaction_end(struct xenbus *b, xenbus_transaction_t t, int abort);

/* Our domain's home, "/local/domain/N", from XS_GET_DOMAIN_PATH. */
int xenbus_get_domain_path(struct xenbus *b, domid_t domid, char *buf, size_t len);

/* An XS_ERROR payload (xs_wire.h's error names, s[0..len), NUL or not)
 * as a negative Xen errno; unknown for a name not in the list. */
int xenbus_errno(const char *s, uint32_t len, int unknown);

#endif
