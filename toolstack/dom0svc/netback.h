/*
 * netback.h - dom0's netif back end (toolstack/dom0svc/netback.c): the
 * calls the toolstack and the service loop make. netback owns the vifs'
 * rings, channels and bridge ports; callers must never touch those, only
 * the xenstore directories the toolstack writes.
 */
#ifndef DOM0_NETBACK_H
#define DOM0_NETBACK_H

#include <stddef.h>
#include <stdint.h>

/* A vif whose backend directory /local/domain/0/backend/vif/D/N the
 * toolstack has written (frontend, frontend-id, online, state=1, mac,
 * bridge, handle): netback takes it over (a xenbus backend probe). 0,
 * -XEN_EEXIST, -XEN_ENOSPC (no slot), -XEN_EINVAL (a node missing or bad). */
int netback_probe(uint16_t domid, unsigned int devid);
/* One pass over every vif: xenbus states, tx requests (into the bridge),
 * rx notifications. Returns 1 if work may be left (poll again before
 * blocking). now_ms: the service loop's clock, for the bridge's FDB. */
int netback_poll(uint64_t now_ms);
/* The domain is gone: every vif of it torn down (nothing stays mapped)
 * and its backend directories removed. */
void netback_domain_gone(uint16_t domid);
/* Tear one vif down now (xl network-detach after the close handshake,
 * or when it timed out): rings unmapped, channel closed, bridge port
 * gone. The toolstack removes the directories. */
void netback_detach(uint16_t domid, unsigned int devid);
/* Counters of one vif, for logs and tests: a line into buf. -XEN_ENOENT. */
int netback_stats(uint16_t domid, unsigned int devid, char *buf, size_t size);

#endif
