/*
 * xlvif.h - one vif spec of xl.cfg's `vif = [ '...' ]` or of
 * `xl network-attach`, in xl's syntax (xl-network-configuration(5)):
 * comma-separated key=value pairs. Xenolith reads mac, bridge (with
 * Open vSwitch's convention in xl: bridge=NAME.VLAN is an access port on
 * VLAN, bridge=NAME[.VLAN]:T1:T2... a trunk carrying T1, T2... tagged and
 * VLAN, if given, untagged), vlan=N, and accepts-but-ignores xl's keys that need a script,
 * a device model or QoS (type, model, vifname, script, ip, rate, ...).
 * Owns: the spec's syntax and checks, the default MAC. Must never:
 * allocate, read past the string, or accept a MAC that is multicast or
 * zero. Freestanding C; runs inside dom0 and in the host unit tests.
 */
#ifndef XENOLITH_TOOLSTACK_XLVIF_H
#define XENOLITH_TOOLSTACK_XLVIF_H

#include <stddef.h>
#include <stdint.h>

#define XLVIF_BRIDGE_MAX 16      /* bytes with the NUL (IFNAMSIZ) */
#define XLVIF_DEFAULT_BRIDGE "xenbr0"
#define XLVIF_DEFAULT_VLAN 1     /* a Linux bridge's default pvid */
#define XLVIF_SPEC_MAX 256
#define XLVIF_TRUNK_MAX 8        /* tagged VLANs of a trunk vif */

struct xlvif {
    uint8_t mac[6];
    int has_mac;                 /* 0: xlvif_default_mac at create */
    char bridge[XLVIF_BRIDGE_MAX];
    uint16_t vlan;               /* access VLAN (trunk: the native one), 1..4094 */
    int has_vlan;                /* VLAN given (a trunk without it has no native VLAN) */
    uint16_t trunk[XLVIF_TRUNK_MAX]; /* a trunk's tagged VLANs, 1..4094 */
    unsigned int nr_trunk;       /* 0: an access port */
};

/* Parses spec into *v (defaults: no MAC, xenbr0, VLAN 1). 0, or
 * -XL_EINVAL with a message in err ("invalid mac address `...'"). */
int xlvif_parse(const char *spec, struct xlvif *v, char *err, size_t errsize);

/* The backend's "bridge" node for v: NAME, NAME.VLAN or NAME[.VLAN]:T:T,
 * as xlvif_parse reads it back. snprintf-like. */
int xlvif_format_bridge(const struct xlvif *v, char *buf, size_t size);

/* 00:16:3e:xx:xx:xx made from (domid, devid): the same pair always gives
 * the same address, distinct pairs distinct ones (domid < 32768, devid < 256). */
void xlvif_default_mac(uint16_t domid, unsigned int devid, uint8_t mac[6]);

/* "aa:bb:cc:dd:ee:ff" (either case) into mac: 0 or -XL_EINVAL. */
int xlvif_parse_mac(const char *s, size_t n, uint8_t mac[6]);

#endif
