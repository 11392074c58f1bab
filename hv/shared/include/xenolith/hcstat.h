/*
 * hcstat.h - hypercall statistics shared by the hypervisor and the
 * toolstack: the layout of a domain's hypercall counters (what the hv
 * keeps in struct domain and what Xenolith's own sysctl copies to dom0),
 * the names of hypercalls and sub-ops as Xen's public headers spell them
 * (XENMEM_populate_physmap -> "populate_physmap"), and the "top N"
 * listing both the hv's destroy line and `xl hypercalls` print.
 * Owns: the counter layout (one ABI between hv and toolstack, both built
 * from this header) and the name tables (hcstat.c). Must never: include
 * Xen's headers here (domain.h includes it, and xenolith/domctl.h must
 * be the first to read xen/xen.h in the hv's domctl code).
 */
#ifndef XENOLITH_HCSTAT_H
#define XENOLITH_HCSTAT_H

#include <stddef.h>
#include <stdint.h>

/* Hypercall numbers 0..63 have a counter each; every number >= 64 shares
 * the last one. */
#define HCSTAT_CALLS      65
#define HCSTAT_OTHER_CALL 64
/* "No sub-op": a call whose sub-op is not known (or that has none). */
#define HCSTAT_NO_SUBOP   0xffffffffu

/*
 * The multiplexed hypercalls whose sub-ops are counted: X(name, slots).
 * A row has `slots` counters; sub-op k counts in slot k, and every sub-op
 * >= slots - 1 in the last slot. Each row is longer than its highest
 * sub-op in Xen 4.17's headers, so the last slot holds only unknown ones
 * (except domctl's gdbsx ops, 1000+). mmuext_op counts each op of a batch
 * (its cmd), the others each call.
 */
#define HCSTAT_MUX(X)              \
    X(memory_op, 32)               \
    X(mmuext_op, 32)               \
    X(vcpu_op, 16)                 \
    X(event_channel_op, 16)        \
    X(grant_table_op, 16)          \
    X(sched_op, 16)                \
    X(physdev_op, 64)              \
    X(xen_version, 16)             \
    X(callback_op, 4)              \
    X(domctl, 128)                 \
    X(sysctl, 128)                 \
    X(platform_op, 128)            \
    X(hvm_op, 32)

/* HCS_BASE_name: the row's first slot in hcstat_counts.sub[];
 * HCS_LAST_name: its last (the "and above" slot). */
enum hcstat_slot {
#define HCSTAT_X(n, s) HCS_BASE_##n, HCS_LAST_##n = HCS_BASE_##n + (s) - 1,
    HCSTAT_MUX(HCSTAT_X)
#undef HCSTAT_X
    HCSTAT_SUBS
};

/* A domain's counters. Counting is one increment on the hypercall path
 * (hypercall.c) and one in the multiplexed handlers (HCSTAT_SUB). A call
 * that is continued counts again each time the guest re-issues it. */
struct hcstat_counts {
    uint64_t calls[HCSTAT_CALLS];
    uint64_t sub[HCSTAT_SUBS];
};

/* Count sub-op `op` (any integer; compared as 64 bits, so a value with
 * high bits set counts as "and above", not truncated) of multiplexed
 * hypercall `name` (a constant row: a compare and an increment). */
#define HCSTAT_SUB(counts, name, op)                                                      \
    do {                                                                                  \
        uint64_t op_ = (uint64_t)(op);                                                    \
        (counts)->sub[HCS_BASE_##name +                                                   \
                      (op_ < HCS_LAST_##name - HCS_BASE_##name                            \
                           ? op_ : (uint64_t)(HCS_LAST_##name - HCS_BASE_##name))]++;     \
    } while (0)

/* The same for a hypercall number known only at run time (slow paths). */
void hcstat_count_sub(struct hcstat_counts *c, unsigned int hc, unsigned int op);

/* The row of hypercall hc: 1 with its first slot and length, or 0 when
 * its sub-ops are not counted. */
int hcstat_row(unsigned int hc, unsigned int *base, unsigned int *slots);

/* Xen's name of hypercall hc ("memory_op"), or NULL. */
const char *hcstat_call_name(unsigned int hc);
/* The name of sub-op op of hypercall hc, from the Xen 4.17 public header
 * constant without its prefix (XENMEM_populate_physmap ->
 * "populate_physmap", MMUEXT_PIN_L4_TABLE -> "PIN_L4_TABLE"), or NULL.
 * Knows the multiplexed hypercalls above and console_io, vm_assist,
 * mmu_update (its MMU_* request types). */
const char *hcstat_subop_name(unsigned int hc, unsigned int op);

/* One line of a listing: a hypercall with no counted sub-ops
 * (subop == HCSTAT_NO_SUBOP), or a sub-op of a multiplexed one. For a
 * row's last slot, `subop` is that slot and `and_above` is set. A
 * multiplexed call that never reached its handler's count (its argument
 * could not be read) is listed with HCSTAT_NO_SUBOP, mmuext_op excepted
 * (its counts are per op, not per call). */
struct hcstat_leaf {
    uint16_t hc;
    uint8_t and_above;
    uint32_t subop;
    uint64_t count;
};

/* Every call counted. */
uint64_t hcstat_total(const struct hcstat_counts *c);
/* The max largest leaves, largest first (ties: lower hypercall, then
 * lower sub-op first), into out[]; returns how many non-zero leaves
 * there are in all (may exceed max). */
unsigned int hcstat_top(const struct hcstat_counts *c, struct hcstat_leaf *out, unsigned int max);
/* A leaf as text: "mmu_update", "memory_op/populate_physmap",
 * "memory_op/31+" (a row's last slot), "memory_op/?" (sub-op unknown),
 * "hypercall 45"; `sep` between the two parts ('/' or a column
 * separator). Returns snprintf's length. */
int hcstat_leaf_name(const struct hcstat_leaf *l, char sep, char *buf, size_t size);
/* Just the sub-op part ("populate_physmap", "31+", "?", "" for none). */
int hcstat_leaf_subop(const struct hcstat_leaf *l, char *buf, size_t size);

/*
 * Xenolith's own sysctl (not in Xen, whose highest in 4.17 is 29; the
 * sysctl row is 128 long so it is counted by name): copy a domain's
 * struct hcstat_counts to dom0. cmd XENOLITH_SYSCTL_hypercall_stats in struct
 * xen_sysctl (interface version as Xen's), its argument in the union
 * (u.pad). dom0 only (-EPERM), -ESRCH for no such domain, -ENOBUFS with
 * `size` set when the buffer is smaller than the counters, -EFAULT for
 * an unwritable buffer; a NULL buffer only sets `size`.
 */
#define XENOLITH_SYSCTL_hypercall_stats 100
struct xenolith_sysctl_hypercall_stats {
    uint16_t domid;   /* IN */
    uint16_t pad;
    uint32_t size;    /* IN: buffer bytes; OUT: sizeof(struct hcstat_counts) */
    uint64_t buffer;  /* IN: guest virtual address, or 0 */
};

#endif
