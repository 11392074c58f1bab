/*
 * xlcfg.h - the xl.cfg(5) parser of the dom0 toolstack: turns the text of
 * a domain configuration file into a struct xlcfg the domain builder uses.
 * Owns: the syntax (key = value, '...'/"..." strings with xl's escapes,
 * numbers, [ lists ] across lines, # comments, ';' or newline between
 * settings), the meaning of the keys below, defaults as xl/libxl apply
 * them, and every diagnostic, written as "FILE:LINE: message" (or
 * "FILE: message" for a key that is missing altogether).
 * Must never: allocate, use libc beyond lib.h, read past the buffer it is
 * given, or trust the text (any bytes at all give diagnostics, not a crash).
 * Freestanding C; runs inside dom0 and in the host unit tests.
 *
 * Keys: name, memory, maxmem (MiB), vcpus, maxvcpus, cpus, cpus_soft,
 * kernel, ramdisk, cmdline (or root + extra, combined as xl does),
 * on_poweroff, on_reboot, on_watchdog, on_crash, on_soft_reset, type /
 * builder (pv only), uuid, vif (a list of xl vif specs, xlvif.h), disk
 * (xldisk.h's spec syntax).
 * Other keys xl knows (vfb, ...) and unknown keys are warnings.
 */
#ifndef XENOLITH_TOOLSTACK_XLCFG_H
#define XENOLITH_TOOLSTACK_XLCFG_H

#include <stddef.h>
#include <stdint.h>
#include "xlvif.h"
#include "xldisk.h"

#define XLCFG_NAME_MAX     64     /* bytes including the NUL */
#define XLCFG_PATH_MAX     256
#define XLCFG_CMDLINE_MAX  1024   /* Xen's MAX_GUEST_CMDLINE */
#define XLCFG_MAX_VCPUS    128
#define XLCFG_MAX_CPU      63     /* cpus=: CPU ids 0..63 (the hv's NR_CPUS) */
#define XLCFG_MAX_MEMORY   (1ULL << 24)   /* MiB: 16 TiB */
#define XLCFG_DEFAULT_MEMORY 32           /* MiB, libxl's default */
#define XLCFG_MAX_VIFS     8      /* vif = [ ... ] entries, devid 0.. */
#define XLCFG_MAX_ERRORS   20     /* then "too many errors" and stop */
#define XLCFG_MAX_DISKS    8      /* disk = [ ... ] entries */

/* Actions on shutdown: the values of libxl_action_on_shutdown. */
enum xlcfg_action {
    XLCFG_ACTION_DESTROY = 1,
    XLCFG_ACTION_RESTART = 2,
    XLCFG_ACTION_RENAME_RESTART = 3,
    XLCFG_ACTION_PRESERVE = 4,
    XLCFG_ACTION_COREDUMP_DESTROY = 5,
    XLCFG_ACTION_COREDUMP_RESTART = 6,
    XLCFG_ACTION_SOFT_RESET = 7,
};

/* Index into xlcfg.on[]: the shutdown reasons of sched.h (SHUTDOWN_*). */
enum xlcfg_on {
    XLCFG_ON_POWEROFF = 0,   /* SHUTDOWN_poweroff */
    XLCFG_ON_REBOOT = 1,     /* SHUTDOWN_reboot */
    XLCFG_ON_CRASH = 3,      /* SHUTDOWN_crash */
    XLCFG_ON_WATCHDOG = 4,   /* SHUTDOWN_watchdog */
    XLCFG_ON_SOFT_RESET = 5, /* SHUTDOWN_soft_reset */
    XLCFG_ON_NR = 6,         /* slot 2 (suspend) is unused */
};

enum xlcfg_type { XLCFG_TYPE_PV = 1, XLCFG_TYPE_PVH = 2, XLCFG_TYPE_HVM = 3 };

/* Keys with a meaning; lines[] and srcs[] are indexed by these. */
enum xlcfg_key {
    XLCFG_K_NAME, XLCFG_K_MEMORY, XLCFG_K_MAXMEM, XLCFG_K_VCPUS,
    XLCFG_K_MAXVCPUS, XLCFG_K_KERNEL, XLCFG_K_RAMDISK, XLCFG_K_CMDLINE,
    XLCFG_K_ROOT, XLCFG_K_EXTRA, XLCFG_K_ON_POWEROFF, XLCFG_K_ON_REBOOT,
    XLCFG_K_ON_WATCHDOG, XLCFG_K_ON_CRASH, XLCFG_K_ON_SOFT_RESET,
    XLCFG_K_TYPE, XLCFG_K_BUILDER, XLCFG_K_UUID, XLCFG_K_CPUS, XLCFG_K_CPUS_SOFT,
    XLCFG_K_VIF, XLCFG_K_DISK,
    XLCFG_K_NR
};

/* The result. Valid only after xlcfg_finish() returned 0. */
struct xlcfg {
    char name[XLCFG_NAME_MAX];
    uint64_t memory_mib;          /* initial allocation */
    uint64_t maxmem_mib;          /* >= memory_mib */
    unsigned int vcpus;           /* online at boot */
    unsigned int maxvcpus;        /* >= vcpus */
    /* cpus= / cpus_soft=: hard / soft affinity of vcpu i in [i] (bit c =
     * CPU c). A string sets every vcpu's, a list vcpu i's from its i-th
     * entry; nr_* counts the vcpus given one (0: none, every CPU). */
    uint64_t cpus_hard[XLCFG_MAX_VCPUS];
    uint64_t cpus_soft[XLCFG_MAX_VCPUS];
    unsigned int nr_cpus_hard, nr_cpus_soft;
    char kernel[XLCFG_PATH_MAX];
    char ramdisk[XLCFG_PATH_MAX]; /* "" = none */
    char cmdline[XLCFG_CMDLINE_MAX];
    uint8_t on[XLCFG_ON_NR];      /* enum xlcfg_action per SHUTDOWN_* */
    enum xlcfg_type type;
    int has_uuid;                 /* 0: the toolstack makes one up */
    uint8_t uuid[16];             /* as xen_domain_handle_t */
    struct xlvif vif[XLCFG_MAX_VIFS]; /* vif = [ ... ]: vif[i] is devid i */
    unsigned int nr_vifs;
    struct xldisk disks[XLCFG_MAX_DISKS]; /* disk = [ 'spec', ... ] (xldisk.h) */
    unsigned int nr_disks;

    /* Parse state (private). */
    char root_[XLCFG_CMDLINE_MAX];
    char extra_[XLCFG_CMDLINE_MAX];
    unsigned int lines_[XLCFG_K_NR];      /* line of the last setting, 0 unset */
    const char *srcs_[XLCFG_K_NR];        /* its source name */
    const char *first_src_;
    unsigned int errors_;
};

/* Diagnostics sink: lines appended to buf (always NUL-terminated; the
 * last line becomes "...\n" when it runs out), counted. */
struct xlcfg_diag {
    char *buf;
    size_t size;
    size_t len;
    unsigned int errors;
    unsigned int warnings;
    int truncated;
};

/* Empties the sink: buf[0] = '\0', counts zero. */
void xlcfg_diag_init(struct xlcfg_diag *diag, char *buf, size_t size);

void xlcfg_init(struct xlcfg *cfg);
/* Parses one text (a file, or a "key=value" override from the command
 * line: later settings win). source names it in diagnostics and must live
 * until xlcfg_finish. Returns 0, or -XL_EINVAL if it reported an error. */
int xlcfg_parse(struct xlcfg *cfg, const char *source, const char *data,
                size_t len, struct xlcfg_diag *diag);
/* Applies defaults and the checks that need every key (name and kernel
 * set, maxmem >= memory, maxvcpus >= vcpus, cmdline from root/extra).
 * Returns 0 when the whole configuration is good, else -XL_EINVAL. */
int xlcfg_finish(struct xlcfg *cfg, struct xlcfg_diag *diag);

const char *xlcfg_action_name(unsigned int action);   /* "?" if unknown */
/* xl's CPU list syntax (cpus=, xl vcpu-pin): items separated by ','
 * (empty ones skipped), each "N", "N-M" (M >= N), "all", or one of those
 * after "node:"/"nodes:" (NUMA node 0 is every CPU; there is one node),
 * "^" before an item removes its CPUs instead ("^all" is refused). Starts
 * from no CPU, as xl. CPUs 0..XLCFG_MAX_CPU. Returns 0 with *mask, or
 * -XL_EINVAL with xl's message (e.g. "Invalid pcpu range: 5-2.") in err. */
int xlcfg_parse_cpumap(const char *s, uint64_t *mask, char *err, size_t errsize);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into buf (>= 37 bytes). */
void xlcfg_format_uuid(const uint8_t uuid[16], char *buf, size_t size);
/* Parses that form (either case); 0 or -XL_EINVAL. */
int xlcfg_parse_uuid(const char *s, uint8_t uuid[16]);

#endif
