/*
 * brsvc.h - dom0's named software bridges (xenbr0, ...) around the
 * bridge logic of guest-drivers/net/fdb.c: which ports each bridge has,
 * how a frame that comes in on a port reaches the others (br_input, then
 * br_egress per out port, then the port's deliver callback), ageing, and
 * the `bridge show` text. Ports are vifs (access ports on one VLAN) or,
 * later, an "uplink" (a real NIC: a trunk port, all VLANs tagged, VLAN 1
 * native) - brsvc_uplink_attach is that hook; nothing calls it yet.
 * Implemented by toolstack/dom0svc/bridge.c; pure (no clock, no
 * hypercall: time is an argument), so host unit tests link it.
 */
#ifndef DOM0_BRSVC_H
#define DOM0_BRSVC_H

#include <stddef.h>
#include <stdint.h>
#include <xlguest/bridge.h>

#define BRSVC_MAX_BRIDGES 4
#define BRSVC_NAME_MAX    16
#define BRSVC_FDB_SIZE    256
#define BRSVC_FRAME_MAX   (65536 + VLAN_HLEN)

/* Called for each frame a port must send (tagged or not as the port
 * needs): the port's owner copies it out before returning. */
typedef void (*brsvc_deliver_t)(void *opaque, const uint8_t *frame, size_t len);

struct brsvc_stats {
    uint64_t in, forwarded, flooded, dropped;
};

/* A port on bridge `bridge` (created on first use) named `port_name`
 * (e.g. "vif1.0"), access port on VLAN vlan (1..4094), up. Returns a
 * handle >= 0 for the calls below, or -XEN_EINVAL (bad name or VLAN),
 * -XEN_ENOSPC (no bridge or port slot left). */
int brsvc_port_attach(const char *bridge, const char *port_name, uint16_t vlan,
                      brsvc_deliver_t deliver, void *opaque);
/* A trunk port (a vif with bridge=NAME[.VLAN]:T:T...): the n VLANs of
 * vids tagged, native (0: none) untagged. Same returns. */
int brsvc_trunk_attach(const char *bridge, const char *port_name, uint16_t native,
                       const uint16_t *vids, unsigned n, brsvc_deliver_t deliver, void *opaque);
/* The uplink hook: a trunk port carrying every VLAN tagged and VLAN 1
 * untagged. Same returns. */
int brsvc_uplink_attach(const char *bridge, const char *port_name, brsvc_deliver_t deliver,
                        void *opaque);
/* Pins unicast address mac to the port in its VLAN (a static FDB entry:
 * never learned elsewhere, aged or replaced), so that no other port can
 * take a vif's configured MAC. 0, or -XEN_EINVAL / -XEN_ENOSPC. */
int brsvc_port_pin_mac(int handle, const uint8_t mac[6]);
/* The port goes, with its FDB entries; a bridge with no port left stays
 * (as `brctl` leaves xenbr0). */
void brsvc_port_detach(int handle);

/* A frame received from the port's device at time now_ms: forwarded to
 * the other ports (their deliver callbacks run before this returns).
 * Returns the number of ports it was delivered to, or 0 if dropped. */
unsigned brsvc_input(int handle, const uint8_t *frame, size_t len, uint64_t now_ms);

/* Every bridge: br_fdb_age(now_ms). Returns entries removed. */
unsigned brsvc_age(uint64_t now_ms);

/* `bridge show`: each bridge, its ports (name, mode, VLAN) and its FDB.
 * snprintf-like: the full length, at most size bytes written. */
size_t brsvc_show(char *buf, size_t size, uint64_t now_ms);

/* Forget every bridge (host tests). */
void brsvc_reset(void);
const struct brsvc_stats *brsvc_stats(void);

#endif
