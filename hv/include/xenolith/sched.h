/*
 * sched.h - what the rest of the hv asks of the scheduler (sched.c)
 * beyond picking the next vcpu (domain.h): set-up, a domain's end, the
 * credit scheduler's parameters for XEN_DOMCTL_scheduler_op and
 * XEN_SYSCTL_scheduler_op, a vcpu's CPU time as the scheduler charged it.
 * Owns nothing. Must never: be used from a guest-controlled path without
 * the domctl/sysctl checks (privilege, domain exists) done first.
 */
#ifndef XENOLITH_SCHED_H
#define XENOLITH_SCHED_H

#include <stdint.h>

struct domain;
struct vcpu;

/* Once, after smp_init and before the first domain: nr_cpus CPUs get a
 * run queue (only CPU 0 runs guests until the SMP entry path). */
void sched_init(unsigned int nr_cpus);
/* Before domain.c wipes the slot: its vcpus leave the run queues. */
void sched_domain_destroy(struct domain *d);
/* XEN_DOMCTL_SCHEDOP_getinfo / putinfo for XEN_SCHEDULER_CREDIT, as Xen
 * 4.17's csched_dom_cntl: weight 0 and cap 0xffff leave the value as is. */
int sched_credit_dom_get(struct domain *d, uint16_t *weight, uint16_t *cap);
int sched_credit_dom_put(struct domain *d, uint16_t weight, uint16_t cap);
/* XEN_SYSCTL_SCHEDOP_getinfo / putinfo for the one pool: tslice 1..1000
 * ms, ratelimit 0 or 100..500000 us and not above the slice (-EINVAL). */
void sched_credit_pool_get(unsigned int *tslice_ms, unsigned int *ratelimit_us);
int sched_credit_pool_put(unsigned int tslice_ms, unsigned int ratelimit_us);
/* CPU time the credit scheduler charged v with (the running slice
 * included). */
uint64_t sched_vcpu_runtime_ns(const struct vcpu *v);

#endif
