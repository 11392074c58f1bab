/*
 * fake_domains.c - the domain table for hv unit tests that do not link
 * domain.c: domains[], current and domain_by_id as domain.c has them.
 * Must never: be linked into the hv.
 */
#include <stdint.h>
#include <xenolith/domain.h>

struct domain domains[MAX_DOMAINS];
struct vcpu *current;
uint64_t sched_work_pending;
struct domain *domain_by_id(uint16_t id)
{
    return id < MAX_DOMAINS && domains[id].state != DOM_FREE ? &domains[id] : NULL;
}
