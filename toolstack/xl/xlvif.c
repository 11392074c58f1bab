/*
 * xlvif.c - xl's vif spec syntax (see xlvif.h).
 * Owns: splitting "key=value, key=value", the MAC, bridge and VLAN checks.
 * Must never: allocate, read past the spec's NUL, or write past a field.
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>
#include "xlvif.h"

/* xl keys that Xenolith's netback has no use for: accepted, ignored. */
static const char *const ignored[] = {
    "type", "model", "vifname", "script", "ip", "rate", "gatewaydev",
    "backend", "accel", "mtu", "devid", "forwarddev",
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int xlvif_parse_mac(const char *s, size_t n, uint8_t mac[6])
{
    if (n != 17)
        return -XL_EINVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -XL_EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void xlvif_default_mac(uint16_t domid, unsigned int devid, uint8_t mac[6])
{
    mac[0] = 0x00;
    mac[1] = 0x16;
    mac[2] = 0x3e;
    mac[3] = (uint8_t)(0x5a ^ ((domid >> 8) & 0x7f));
    mac[4] = (uint8_t)(domid & 0xff);
    mac[5] = (uint8_t)devid;
}

/* A decimal 1..4094 in s[0..n). */
static int parse_vlan(const char *s, size_t n, uint16_t *out)
{
    uint32_t v = 0;
    if (!n || n > 4)
        return -XL_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -XL_EINVAL;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v < 1 || v > 4094 || (s[0] == '0'))
        return -XL_EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* bridge=NAME[.VLAN][:T[:T...]]: NAME of [A-Za-z0-9_-], 1..15 bytes (the
 * syntax of xl's vif-openvswitch script). */
static int parse_bridge(const char *s, size_t n, struct xlvif *v, char *err, size_t errsize)
{
    size_t name = 0, end;
    while (name < n && s[name] != '.' && s[name] != ':')
        name++;
    if (!name || name >= XLVIF_BRIDGE_MAX) {
        xl_snprintf(err, errsize, "invalid bridge name (1 to %d characters)",
                    XLVIF_BRIDGE_MAX - 1);
        return -XL_EINVAL;
    }
    for (size_t i = 0; i < name; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-')) {
            xl_snprintf(err, errsize, "invalid bridge name (letters, digits, `_' and `-')");
            return -XL_EINVAL;
        }
    }
    size_t at = name;
    if (at < n && s[at] == '.') {
        for (end = ++at; end < n && s[end] != ':'; end++)
            ;
        if (parse_vlan(s + at, end - at, &v->vlan))
            goto bad_vlan;
        v->has_vlan = 1;
        at = end;
    }
    v->nr_trunk = 0;
    while (at < n) {                      /* s[at] == ':' */
        for (end = ++at; end < n && s[end] != ':'; end++)
            ;
        if (v->nr_trunk == XLVIF_TRUNK_MAX) {
            xl_snprintf(err, errsize, "at most %d trunk VLANs", XLVIF_TRUNK_MAX);
            return -XL_EINVAL;
        }
        if (parse_vlan(s + at, end - at, &v->trunk[v->nr_trunk]))
            goto bad_vlan;
        v->nr_trunk++;
        at = end;
    }
    memcpy(v->bridge, s, name);
    v->bridge[name] = '\0';
    return 0;
bad_vlan:
    xl_snprintf(err, errsize, "invalid VLAN in bridge=%.*s (1..4094)", (int)(n < 40 ? n : 40), s);
    return -XL_EINVAL;
}

int xlvif_format_bridge(const struct xlvif *v, char *buf, size_t size)
{
    int n = xl_snprintf(buf, size, "%s", v->bridge);
    if (v->has_vlan || (!v->nr_trunk && v->vlan != XLVIF_DEFAULT_VLAN))
        n += xl_snprintf(buf + ((size_t)n < size ? (size_t)n : size), (size_t)n < size ? size - (size_t)n : 0,
                         ".%u", v->vlan);
    for (unsigned i = 0; i < v->nr_trunk; i++)
        n += xl_snprintf(buf + ((size_t)n < size ? (size_t)n : size), (size_t)n < size ? size - (size_t)n : 0,
                         ":%u", v->trunk[i]);
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int key_is(const char *k, size_t kn, const char *name)
{
    return strlen(name) == kn && !memcmp(k, name, kn);
}

/* One key=value item, trimmed. */
static int parse_item(const char *k, size_t kn, const char *val, size_t vn, struct xlvif *v,
                      char *err, size_t errsize)
{
    if (key_is(k, kn, "mac")) {
        if (xlvif_parse_mac(val, vn, v->mac) || (v->mac[0] & 1) ||
            !(v->mac[0] | v->mac[1] | v->mac[2] | v->mac[3] | v->mac[4] | v->mac[5])) {
            xl_snprintf(err, errsize, "invalid mac address `%.*s' (a unicast aa:bb:cc:dd:ee:ff)",
                        (int)(vn < 24 ? vn : 24), val);
            return -XL_EINVAL;
        }
        v->has_mac = 1;
        return 0;
    }
    if (key_is(k, kn, "bridge"))
        return parse_bridge(val, vn, v, err, errsize);
    if (key_is(k, kn, "vlan")) {
        if (parse_vlan(val, vn, &v->vlan)) {
            xl_snprintf(err, errsize, "invalid vlan `%.*s' (1..4094)", (int)(vn < 24 ? vn : 24), val);
            return -XL_EINVAL;
        }
        v->has_vlan = 1;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
        if (key_is(k, kn, ignored[i]))
            return 0;
    xl_snprintf(err, errsize, "unknown vif option `%.*s'", (int)(kn < 24 ? kn : 24), k);
    return -XL_EINVAL;
}

int xlvif_parse(const char *spec, struct xlvif *v, char *err, size_t errsize)
{
    memset(v, 0, sizeof(*v));
    memcpy(v->bridge, XLVIF_DEFAULT_BRIDGE, sizeof(XLVIF_DEFAULT_BRIDGE));
    v->vlan = XLVIF_DEFAULT_VLAN;
    if (errsize)
        err[0] = '\0';
    const char *p = spec;
    while (*p) {
        const char *item = p, *end = p;
        while (*end && *end != ',')
            end++;
        p = *end ? end + 1 : end;
        while (item < end && is_space(*item))
            item++;
        const char *ie = end;
        while (ie > item && is_space(ie[-1]))
            ie--;
        if (item == ie)
            continue;               /* "a=1,,b=2" and a trailing comma */
        const char *eq = item;
        while (eq < ie && *eq != '=')
            eq++;
        if (eq == ie) {
            xl_snprintf(err, errsize, "vif option `%.*s' is not key=value",
                        (int)(ie - item < 24 ? ie - item : 24), item);
            return -XL_EINVAL;
        }
        const char *ke = eq, *val = eq + 1;
        while (ke > item && is_space(ke[-1]))
            ke--;
        while (val < ie && is_space(*val))
            val++;
        if (parse_item(item, (size_t)(ke - item), val, (size_t)(ie - val), v, err, errsize))
            return -XL_EINVAL;
    }
    return 0;
}
