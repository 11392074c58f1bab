/*
 * hcstat.c - the hv's side of hypercall statistics: the log line for an
 * unimplemented hypercall or sub-op (once per domain and pair) and the
 * summary printed when a domain is destroyed. The counters themselves
 * are incremented inline (hypercall.c, HCSTAT_SUB in the multiplexed
 * handlers); names and the top-N listing are hv/shared/hcstat.c.
 * Owns: struct domain's hc_unimpl_logged bits (the counters belong to
 * whoever increments them). Must never: print more
 * than once per (domain, hypercall, sub-op bit), whatever a guest
 * issues; no inline asm (host-tested).
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/hcstat.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>

long hc_unimplemented(struct domain *d, unsigned int hc, unsigned int subop)
{
    unsigned int row = hc < HCSTAT_OTHER_CALL ? hc : HCSTAT_OTHER_CALL;
    unsigned int bit = subop < 63 ? subop : 63; /* HCSTAT_NO_SUBOP too */
    if (d->hc_unimpl_logged[row] & (1ULL << bit))
        return -XL_ENOSYS;
    d->hc_unimpl_logged[row] |= 1ULL << bit;
    char name[24];
    const char *n = hcstat_call_name(hc);
    if (n)
        xl_snprintf(name, sizeof(name), "%s", n);
    else
        xl_snprintf(name, sizeof(name), "hypercall %u", hc);
    if (subop == HCSTAT_NO_SUBOP) {
        printk("d%u: %s -ENOSYS\n", d->domid, name);
        return -XL_ENOSYS;
    }
    const char *s = hcstat_subop_name(hc, subop);
    if (s)
        printk("d%u: %s %u -ENOSYS (%s)\n", d->domid, name, subop, s);
    else
        printk("d%u: %s %u -ENOSYS\n", d->domid, name, subop);
    return -XL_ENOSYS;
}

void hcstat_print_summary(const struct domain *d)
{
    struct hcstat_leaf top[8];
    char line[480], name[48];
    unsigned int n = hcstat_top(&d->hcstat, top, ARRAY_SIZE(top));
    int at = xl_snprintf(line, sizeof(line), "d%u hypercalls: %lu total", d->domid,
                         (unsigned long)hcstat_total(&d->hcstat));
    if (n > ARRAY_SIZE(top))
        n = ARRAY_SIZE(top);
    for (unsigned int i = 0; i < n && at < (int)sizeof(line); i++) {
        hcstat_leaf_name(&top[i], '/', name, sizeof(name));
        at += xl_snprintf(line + at, sizeof(line) - (size_t)at, "%s%s %lu", i ? ", " : "; ",
                          name, (unsigned long)top[i].count);
    }
    printk("%s\n", line);
}
