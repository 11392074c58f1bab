/*
 * blkfront.h - a blkif front end (xen/io/blkif.h) for the kit's test
 * guests: connects to device/vbd/<id> through xenbus (xbfsm_step's front
 * end flow), grants a one-page ring, and offers synchronous reads, writes
 * and flushes that keep several requests in flight. Implemented by
 * guest-drivers/blk/blkfront.c on frontring.h, gnttab.h, evtchn.h,
 * xenbus.h. Needs gnttab_init() and event upcalls enabled first.
 */
#ifndef XLGUEST_BLKFRONT_H
#define XLGUEST_BLKFRONT_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/io/blkif.h>
#include <xlguest/frontring.h>
#include <xlguest/xenbus.h>

struct blkfront {
    struct xenbus *xb;
    uint32_t devid;
    domid_t backend_id;
    char fe[64], be[96];
    uint32_t state;                 /* ours, as written */
    uint64_t sectors;               /* 512-byte sectors */
    uint32_t sector_size;
    int readonly, flush;
    uint8_t *ring_page;
    grant_ref_t ring_ref;
    evtchn_port_t port;
    struct frontring ring;
    unsigned long errors;           /* responses that were not OKAY */
};

/* Connects to device/vbd/<devid> (devid 0: the first one listed). 0 or a
 * negative Xen errno (-ENODEV: no such device; -EIO: the back end closed
 * or broke the protocol; -ETIMEDOUT). */
int blkfront_open(struct blkfront *f, struct xenbus *xb, uint32_t devid);

/* nsect 512-byte sectors at sector from/to buf (page aligned, the kit's
 * own pages). 0, or -EIO if any request got BLKIF_RSP_ERROR / EOPNOTSUPP
 * (the whole transfer is still waited for), -ETIMEDOUT, -EINVAL. */
int blkfront_rw(struct blkfront *f, uint64_t sector, void *buf, uint32_t nsect, int write);
int blkfront_flush(struct blkfront *f);

/* For benchmarks: nreq requests of seg pages (seg * 8 sectors) each,
 * sequential from sector and wrapping inside [sector, sector + span),
 * keeping up to depth (1..32) in flight. Request i uses the pages of its
 * slot in buf (depth * seg pages, page aligned), granted for it and
 * ended after its response, as blkfront_rw does. 0, -EIO if any
 * response failed, -ETIMEDOUT, -EINVAL. */
int blkfront_stream(struct blkfront *f, uint64_t sector, uint64_t span, void *buf,
                    unsigned int seg, unsigned int depth, unsigned int nreq, int write);

/* One request as given (its id is replaced), for tests of the back end:
 * the response's status (BLKIF_RSP_*), or -ETIMEDOUT / -EIO (broken ring). */
int blkfront_raw(struct blkfront *f, const struct blkif_request *req);

/* Close handshake: Closing, Closed once the back end let go of the ring,
 * then the ring grant and the channel go. 0 or a negative Xen errno. */
int blkfront_close(struct blkfront *f);

#endif
