/*
 * bridge.h - dom0's software bridge: ports with VLAN modes, the
 * forwarding database (FDB) and the per-frame forwarding decision.
 * Implemented by guest-drivers/net/fdb.c; frames are parsed by eth.c.
 *
 * VLANs: an access port belongs to one VLAN (its pvid): it sends and
 * receives untagged frames (a priority tag, VID 0, is read as untagged).
 * A trunk port carries 802.1Q-tagged frames of its allowed VLANs, plus,
 * if it has a native VLAN (pvid != 0), that VLAN untagged.
 * FDB: (VLAN, MAC) -> port, learned from source addresses, aged out
 * after ageing_ms without traffic (300 s by default); time is the
 * caller's argument, the bridge reads no clock. The table is the caller's
 * array of fdb_cap entries; when it is full a new address takes the slot
 * of an aged entry, else of the dynamic entry seen longest ago (lowest
 * slot on a tie); static entries are never replaced, moved or aged, and
 * when only they remain the address is not learned (the frame is still
 * forwarded). Lookups scan the table: O(fdb_cap), fine for the hundreds
 * of entries a dom0 bridge holds.
 */
#ifndef XLGUEST_BRIDGE_H
#define XLGUEST_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xlguest/eth.h>

#define BR_MAX_PORTS 32
#define BR_PORT_NAME 16
#define BR_AGEING_DEFAULT_MS 300000ull

enum br_port_mode { BR_PORT_ACCESS, BR_PORT_TRUNK };

struct br_port {
    bool used, up;
    enum br_port_mode mode;
    uint16_t pvid;                       /* access VLAN, or trunk native VLAN (0: none) */
    uint8_t allowed[(VLAN_VID_MAX + 8) / 8]; /* trunk: tagged VLANs carried */
    char name[BR_PORT_NAME];
};

#define BR_FDB_USED   1
#define BR_FDB_STATIC 2

struct br_fdb_entry {
    uint8_t mac[ETH_ALEN];
    uint8_t port;
    uint8_t flags;
    uint16_t vid;
    uint64_t seen_ms;
};

struct br_stats {
    uint64_t learned, moved, replaced, aged, learn_dropped;
};

struct bridge {
    struct br_port port[BR_MAX_PORTS];
    struct br_fdb_entry *fdb;
    uint32_t fdb_cap, fdb_count;
    uint64_t ageing_ms;
    struct br_stats stats;
};

enum br_why {
    BR_FORWARD = 0,
    BR_DROP_RUNT,           /* shorter than its header */
    BR_DROP_PORT,           /* no such port, or down */
    BR_DROP_BAD_SRC,        /* source multicast, broadcast or zero */
    BR_DROP_LINK_LOCAL,     /* 01:80:c2:00:00:0x */
    BR_DROP_VLAN,           /* tag not allowed on this port, or VID 4095 */
    BR_DROP_SAME_PORT,      /* destination lives on the ingress port */
    BR_DROP_NO_MEMBERS,     /* nobody else in the VLAN */
};

/* The decision for one frame. */
struct br_fwd {
    enum br_why why;
    uint16_t vid;            /* the VLAN the frame belongs to */
    uint16_t tci;            /* its priority bits and vid, for a tag on egress */
    bool flooded;            /* unknown unicast, broadcast or multicast */
    uint32_t out_ports;      /* ports to send to */
    uint32_t tagged_ports;   /* of those, the ones that get an 802.1Q tag */
    struct eth_info eth;
};

void br_init(struct bridge *br, struct br_fdb_entry *table, uint32_t cap);

/* Ports: -XEN_EINVAL for a bad index, VLAN or name, -XEN_EEXIST/-XEN_ENOENT. */
int br_port_add(struct bridge *br, unsigned port, const char *name, enum br_port_mode mode,
                uint16_t pvid);
int br_port_del(struct bridge *br, unsigned port);     /* flushes its entries */
int br_port_set_up(struct bridge *br, unsigned port, bool up);
int br_trunk_allow(struct bridge *br, unsigned port, uint16_t vid, bool allow);
bool br_port_member(const struct bridge *br, unsigned port, uint16_t vid);

/* FDB. learn returns 0, or -XEN_ENOSPC when only static entries fill the
 * table; lookup returns the port or -XEN_ENOENT (aged entries are gone). */
int br_fdb_learn(struct bridge *br, uint16_t vid, const uint8_t *mac, unsigned port, uint64_t now);
int br_fdb_add_static(struct bridge *br, uint16_t vid, const uint8_t *mac, unsigned port);
int br_fdb_lookup(const struct bridge *br, uint16_t vid, const uint8_t *mac, uint64_t now);
unsigned br_fdb_age(struct bridge *br, uint64_t now);   /* entries removed */
unsigned br_fdb_flush_port(struct bridge *br, unsigned port);

/* Classifies, learns and decides for a frame received on in_port at
 * time now. Returns out->why (BR_FORWARD: send to out->out_ports). */
enum br_why br_input(struct bridge *br, unsigned in_port, const uint8_t *frame, size_t len,
                     uint64_t now, struct br_fwd *out);

/* The frame as it leaves `port` (tag added or removed as that port needs):
 * its length in out, -XEN_EINVAL if port is not in f->out_ports,
 * -XEN_ENOSPC if out is too small. out may be the input frame itself. */
int br_egress(const struct br_fwd *f, unsigned port, const uint8_t *frame, size_t len,
              uint8_t *out, size_t cap);

/* The FDB as `xl bridge-fdb` prints it, sorted by port, VLAN, MAC:
 *   port            vlan  mac                age
 *   vif1.0             1  00:16:3e:00:00:01  12
 * (age in seconds, "static" for static entries; aged ones left out).
 * snprintf-like: returns the full length, writes at most size bytes. */
size_t br_fdb_format(const struct bridge *br, uint64_t now, char *buf, size_t size);

const char *br_why_str(enum br_why why);

#endif
