/*
 * bench_dom.h - the second domain of `make bench`: bench.c (dom0) creates
 * it with the toolstack's domain builder (toolstack/libxc), pins vCPUs and
 * destroys it. Only Xen 4.17's public domctl /
 * sysctl ABI, so the same calls run on Xenolith and on a real Xen.
 */
#ifndef BENCH_DOM_H
#define BENCH_DOM_H
#include <stdint.h>

/* Create a paused one-vCPU PV domain of mem_mb MiB; its id in *domid. */
int bench_dom_create(uint32_t *domid, unsigned int mem_mb);
/* Load the bench peer image (bench_peer.elf, linked into bench.elf) into
 * it with cmdline; *why says what failed. Leaves it paused. */
int bench_dom_build(uint32_t domid, unsigned int mem_mb, const char *cmdline, const char **why);
/* Hard-pin domid's vcpu to physical CPU cpu (only). */
int bench_dom_pin(uint32_t domid, unsigned int vcpu, unsigned int cpu);
/* Physical CPUs the hypervisor has (physinfo nr_cpus), or a negative errno. */
int bench_dom_nr_cpus(void);
int bench_dom_unpause(uint32_t domid);
/* Destroy it and check it is gone: 0, or a negative errno. */
int bench_dom_destroy(uint32_t domid);
#endif
