/*
 * xlcmd.h - the `xl` command front end of the dom0 toolstack: splits a
 * line typed on a console into words, parses `xl` subcommands and their
 * options, calls the toolstack through struct xlcmd_ops, and prints what
 * real xl (Xen 4.17) prints for them: `xl list` columns and state letters,
 * `xl info` key : value lines, xl's error messages and exit statuses.
 * Owns: argv splitting, option parsing, domain qualifiers (id or name),
 * the text of every answer. Must never: touch a domain itself (only the
 * ops do), allocate, or trust a typed line (bad input = message + status).
 * Commands: create, list, destroy, pause, unpause, shutdown, console,
 * info, dmesg, vcpu-list, vcpu-pin, vcpu-set, sched-credit, block-list,
 * block-attach, block-detach, help; and
 * Xenolith's own `hypercalls` (a domain's hypercall counts, hcstat.h).
 * Freestanding C; runs inside dom0 and in host tests.
 */
#ifndef XENOLITH_TOOLSTACK_XLCMD_H
#define XENOLITH_TOOLSTACK_XLCMD_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/hcstat.h>
#include "xlcfg.h"

#define XLCMD_MAX_ARGS     32
#define XLCMD_MAX_DOMAINS  64
#define XLCMD_NAME_MAX     64

/* Exit statuses, as xl's. */
#define XLCMD_EXIT_OK      0
#define XLCMD_EXIT_FAILURE 1
#define XLCMD_EXIT_USAGE   2

/* One domain, as libxl_dominfo has it (the ops fill it from getdomaininfo
 * and xenstore's /local/domain/N/name). */
struct xlcmd_dominfo {
    uint32_t domid;
    char name[XLCMD_NAME_MAX];
    uint64_t current_memkb;
    uint64_t outstanding_memkb;
    unsigned int vcpu_online;
    uint8_t running, blocked, paused, shutdown, dying;
    unsigned int shutdown_reason;   /* SHUTDOWN_*, meaningful if shutdown */
    uint64_t cpu_time_ns;
};

/* One vcpu, as libxl_vcpuinfo (getvcpuinfo + getvcpuaffinity). */
struct xlcmd_vcpuinfo {
    uint32_t vcpuid;
    uint32_t cpu;
    uint8_t online, blocked, running;
    uint64_t time_ns;
    uint64_t hard, soft;     /* bit c = CPU c, as the hv reports them */
};
#define XLCMD_MAX_VCPUS 128

/* XEN_SYSCTL_PHYSCAP_* bits of xen/sysctl.h (Xen 4.17), for caps. */
#define XLCMD_CAP_HVM        (1u << 0)
#define XLCMD_CAP_PV         (1u << 1)
#define XLCMD_CAP_DIRECTIO   (1u << 2)
#define XLCMD_CAP_HAP        (1u << 3)
#define XLCMD_CAP_SHADOW     (1u << 4)
#define XLCMD_CAP_IOMMU_HAP_PT_SHARE (1u << 5)
#define XLCMD_CAP_VMTRACE    (1u << 6)
#define XLCMD_CAP_VPMU       (1u << 7)
#define XLCMD_CAP_GNTTAB_V1  (1u << 8)
#define XLCMD_CAP_GNTTAB_V2  (1u << 9)

/* What `xl info` prints: uname of dom0, sysctl physinfo, xen_version. */
struct xlcmd_hostinfo {
    char host[65], release[65], version[65], machine[65];
    unsigned int nr_cpus, max_cpu_id, nr_nodes, cores_per_socket, threads_per_core;
    unsigned int cpu_khz;
    uint32_t hw_cap[8];
    uint32_t caps;                   /* XLCMD_CAP_* */
    uint64_t total_pages, free_pages, outstanding_pages;
    uint64_t sharing_freed_pages, sharing_used_frames;
    unsigned int free_cpus;
    int xen_major, xen_minor;
    char xen_extra[16];              /* xen_extraversion_t */
    char xen_caps[1024];             /* xen_capabilities_info_t */
    char scheduler[32];
    unsigned int pagesize;
    uint64_t virt_start;
    char changeset[64];              /* xen_changeset_info_t */
    char commandline[1024];          /* xen_commandline_t */
    char compiler[64], compile_by[16], compile_domain[32], compile_date[32];
    char build_id[80];
};

/* Output: fd 1 is what xl prints on stdout, fd 2 on stderr. */
struct xlcmd_io {
    void (*write)(void *opaque, int fd, const char *s, size_t n);
    void *opaque;
};

/* One vbd of a domain, as libxl_device_disk_getinfo has it. */
struct xlcmd_blkinfo {
    uint32_t devid;
    uint32_t backend_id, frontend_id;
    int state;                  /* the front end's xenbus state, -1 unreadable */
    int evtchn, ring_ref;       /* the front end's, -1 before it wrote them */
    char backend[64];
};
#define XLCMD_MAX_DISKS 16

/* The toolstack. Every call returns 0 or a negative Xen errno; a NULL op
 * makes its commands answer "not available" (exit 1). */
#define XLCMD_CONSOLE_DEFAULT 0
#define XLCMD_CONSOLE_PV      1
#define XLCMD_CONSOLE_SERIAL  2

struct xlcmd_ops {
    /* The whole file, in memory the toolstack owns until the next call. */
    int (*read_file)(void *ctx, const char *path, const char **data, size_t *len);
    int (*create)(void *ctx, const struct xlcfg *cfg, int paused, uint32_t *domid);
    /* Fills up to max entries in domid order; returns how many. */
    int (*list)(void *ctx, struct xlcmd_dominfo *out, unsigned int max);
    int (*destroy)(void *ctx, uint32_t domid);
    int (*pause)(void *ctx, uint32_t domid);
    int (*unpause)(void *ctx, uint32_t domid);
    int (*shutdown)(void *ctx, uint32_t domid, int wait);
    /* Attaches the console until the user detaches (Ctrl-]). */
    /* type: XLCMD_CONSOLE_* (default: serial for HVM, pv otherwise) */
    int (*console)(void *ctx, uint32_t domid, int type);
    int (*hostinfo)(void *ctx, struct xlcmd_hostinfo *hi);
    /* Writes the hypervisor's console ring through io; clear afterwards. */
    int (*dmesg)(void *ctx, int clear, const struct xlcmd_io *io);
    /* The domain's vcpus 0..max_vcpu_id into out (up to max); returns how
     * many (libxl_list_vcpu). */
    int (*vcpu_list)(void *ctx, uint32_t domid, struct xlcmd_vcpuinfo *out, unsigned int max);
    /* XEN_DOMCTL_setvcpuaffinity of vcpu (-1: every vcpu; libxl goes on
     * past a failing one and returns the error): hard and soft, NULL
     * leaves one alone; force undoes a pin override. */
    int (*vcpu_pin)(void *ctx, uint32_t domid, int vcpu, const uint64_t *hard,
                    const uint64_t *soft, int force);
    /* libxl_set_vcpuonline for a PV domain: /local/domain/N/cpu/I/
     * availability "online" for I < n, "offline" up to max_vcpu_id (the
     * guest takes its vcpus up and down itself). */
    int (*vcpu_set)(void *ctx, uint32_t domid, unsigned int n);
    /* Xenolith's own: the domain's hypercall counters. */
    int (*hypercalls)(void *ctx, uint32_t domid, struct hcstat_counts *out);
    /* The credit scheduler (xl sched-credit): a domain's weight and cap
     * (and its vcpu count, for libxl's cap range), setting them (weight
     * 0 / cap 0xffff: leave it), Pool-0's tslice / ratelimit / migration
     * delay. */
    int (*sched_credit_get)(void *ctx, uint32_t domid, uint16_t *weight, uint16_t *cap,
                            unsigned int *nr_vcpus);
    int (*sched_credit_set)(void *ctx, uint32_t domid, uint16_t weight, uint16_t cap);
    int (*sched_credit_params_get)(void *ctx, unsigned int *tslice_ms, unsigned int *ratelimit_us,
                                   unsigned int *migr_delay_us);
    int (*sched_credit_params_set)(void *ctx, unsigned int tslice_ms, unsigned int ratelimit_us,
                                   unsigned int migr_delay_us);
    /* Virtual block devices (xl block-list/-attach/-detach): the domain's
     * vbds (how many); add one as xl create does; start its removal
     * (online = 0; the back end closes it with the front end). */
    int (*block_list)(void *ctx, uint32_t domid, struct xlcmd_blkinfo *out, unsigned int max);
    int (*block_attach)(void *ctx, uint32_t domid, const struct xldisk *d);
    int (*block_detach)(void *ctx, uint32_t domid, uint32_t devid);
};

/* One per console; big scratch lives here, not on the stack. */
struct xlcmd {
    const struct xlcmd_ops *ops;
    void *ctx;
    struct xlcmd_io io;
    /* scratch */
    struct xlcmd_dominfo doms[XLCMD_MAX_DOMAINS];
    struct xlcmd_hostinfo host;
    struct xlcfg cfg;
    struct hcstat_counts hc;
    struct xlcmd_vcpuinfo vcpus[XLCMD_MAX_VCPUS];
    struct xlcmd_blkinfo blks[XLCMD_MAX_DISKS];
    struct hcstat_leaf hc_leaves[HCSTAT_CALLS + HCSTAT_SUBS];
    char diag[2048];
    char line[1600];
};

void xlcmd_init(struct xlcmd *x, const struct xlcmd_ops *ops, void *ctx,
                const struct xlcmd_io *io);

/* Splits line in place into words: blanks separate; '...' keeps all
 * literally; "..." keeps all but \" \\ (backslash-escaped); outside quotes
 * a backslash escapes the next byte; quoted parts join their neighbours
 * (a"b c"d is one word). Returns argc (argv[argc] = NULL), -XL_EINVAL for
 * an unterminated quote or a trailing backslash, -XL_E2BIG for more than
 * max - 1 words. */
int xlcmd_split(char *line, char **argv, int max);

/* xl's print_bitmap of a CPU map of nbits CPUs into buf: "none" if
 * empty, "all" if every CPU from 0 to the last is in it, else runs like
 * "0,2-3". */
void xlcmd_format_cpumap(char *buf, size_t size, uint64_t map, unsigned int nbits);
/* printf("%9.1f", (float)ns / 1e9)'s digits, without floating point. */
void xlcmd_format_seconds(char *buf, size_t size, uint64_t ns);

/* Runs `xl ARGS` (argv[0] may be "xl" or the subcommand). Returns the exit
 * status xl would have. */
int xlcmd_run(struct xlcmd *x, int argc, char **argv);
/* xlcmd_split + xlcmd_run; an empty line does nothing (returns 0). */
int xlcmd_run_line(struct xlcmd *x, char *line);

#endif
