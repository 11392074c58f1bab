/*
 * multicall.c - the multicall hypercall: run a guest list of hypercalls
 * through the hypercall table, storing each result in its entry; a long
 * list is continued (Xen's do_multicall), and an entry that itself asked
 * for a continuation gets its new arguments written back and is re-run
 * first when the multicall continues.
 * Owns: hypercall_in_multicall while a list runs. Must never: nest (an
 * inner multicall entry gets -EINVAL, as in Xen), run iret from a list
 * (the domain is crashed, as Xen does), read the list except through
 * guest_access's translation (guest_translate, or the copy helpers), or
 * keep a translation of the list across an entry that could change the
 * guest's page tables or free its memory (MC_KEEPS_MAPPING).
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>

/* Hypercalls that never change a guest's page tables, its CR3 or who
 * owns a frame: after one of these, the list's page is still mapped
 * where guest_translate found it, so the next entry on the same page
 * is read through the same pointer without a new walk. After any other
 * entry the page is walked again (the entry may have unmapped the list,
 * or freed the frame under it). The big lock is held throughout, so
 * nothing else changes the tables meanwhile (guests write page tables
 * only through the hv). */
#define MC_KEEPS_MAPPING                                                         \
    ((1ULL << __HYPERVISOR_xen_version) | (1ULL << __HYPERVISOR_fpu_taskswitch) | \
     (1ULL << __HYPERVISOR_stack_switch))

/* Entries between two preemption checks (a clock read each): every
 * entry is itself a bounded piece of work (a long one has its own
 * continuation), so a few entries are one batch. A power of two. */
#define MC_PREEMPT_EVERY 8

/* The guest page holding the entries being run, as last translated. */
struct mc_page {
    uint64_t va;     /* its guest address, ~0: none */
    uint8_t *hv;     /* the same page through the direct map */
    int writable;    /* translated for a write too (RW checked, Dirty set) */
};

/* The entry at guest address at, through the cached page: NULL if it
 * spans two pages or its page does not translate (the caller then uses
 * the copy helpers, which report the -EFAULT). */
static multicall_entry_t *mc_entry_ptr(struct vcpu *v, struct mc_page *pg, uint64_t at)
{
    uint64_t off = at & (PAGE_SIZE - 1);
    if (off > PAGE_SIZE - sizeof(multicall_entry_t))
        return NULL;
    if ((at - off) != pg->va) {
        uint64_t ma;
        pg->va = ~0ULL;
        if (guest_translate(v->cr3, at - off, 0, &ma))
            return NULL;
        pg->va = at - off;
        pg->hv = (uint8_t *)mfn_to_virt(ma >> PAGE_SHIFT);
        pg->writable = 0;
    }
    return (multicall_entry_t *)(pg->hv + off);
}

long do_multicall(struct vcpu *v, uint64_t list, uint64_t nr_calls, uint64_t a3, uint64_t a4,
                  uint64_t a5)
{
    (void)a3; (void)a4; (void)a5;
    unsigned int nr = (unsigned int)nr_calls; /* Xen: unsigned int nr_calls */
    if (hypercall_in_multicall)
        return -XL_EINVAL;
    uint64_t bytes = (uint64_t)nr * sizeof(multicall_entry_t);
    if (nr && (!guest_va_ok(list) || list + bytes < list || !guest_va_ok(list + bytes - 1)))
        return -XL_EFAULT;
    long rc = 0;
    unsigned int i;
    struct mc_page pg = { .va = ~0ULL };
    uint64_t *calls = v->domain->hcstat.calls;
    hypercall_in_multicall = 1;
    for (i = 0; i < nr; i++) {
        uint64_t at = list + (uint64_t)i * sizeof(multicall_entry_t);
        if (!(i & (MC_PREEMPT_EVERY - 1)) && i && hypercall_preempt_check())
            goto preempted;
        /* Each field read once (the guest may change the list while it
         * runs, from another vcpu): what runs is what was read. */
        uint64_t op, a[5];
        multicall_entry_t *ep = mc_entry_ptr(v, &pg, at);
        if (ep) {
            volatile const uint64_t *f = (volatile const uint64_t *)ep;
            op = f[0];
            a[0] = f[2], a[1] = f[3], a[2] = f[4], a[3] = f[5], a[4] = f[6];
        } else {
            multicall_entry_t e;
            if (copy_from_guest_va(v->cr3, &e, at, sizeof(e))) {
                rc = -XL_EFAULT;
                break;
            }
            op = e.op;
            for (int k = 0; k < 5; k++)
                a[k] = e.args[k];
        }
        if (op == __HYPERVISOR_iret) {
            domain_crash(v->domain, "multicall entry %u is iret", i);
            break;
        }
        /* Entries run nested in this hypercall: straight through the
         * table (hypercall_dispatch's outermost-call bookkeeping is this
         * multicall's); numbers without a handler take its way. */
        xen_ulong_t result;
        if (op < NR_HYPERCALLS && hypercall_table[op]) {
            calls[op]++;
            result = (xen_ulong_t)hypercall_table[op](v, a[0], a[1], a[2], a[3], a[4]);
        } else {
            result = (xen_ulong_t)hypercall_dispatch(v, op, a[0], a[1], a[2], a[3], a[4]);
        }
        if (op >= 64 || !(MC_KEEPS_MAPPING >> op & 1))
            pg.va = ~0ULL; /* the entry may have changed the tables: walk again */
        if (hypercall_mc_cont_pending) {
            uint64_t cont[5];
            hypercall_take_mc_continuation(cont);
            /* The entry is not finished: store its progress in the entry
             * (op, result and the five arguments, as Xen copies the call
             * back; args[5] is left as it was) and go on from it. */
            multicall_entry_t e = { .op = op, .result = result };
            for (int k = 0; k < 5; k++)
                e.args[k] = cont[k];
            if (copy_to_guest_va(v->cr3, at, &e, offsetof(multicall_entry_t, args[5]))) {
                rc = -XL_EFAULT;
                break;
            }
            goto preempted;
        }
        if (ep && pg.va == (at & ~(uint64_t)(PAGE_SIZE - 1))) {
            if (!pg.writable) {
                uint64_t ma;
                if (guest_translate(v->cr3, pg.va, 1, &ma) ||
                    mfn_to_virt(ma >> PAGE_SHIFT) != pg.hv) {
                    pg.va = ~0ULL;
                    goto slow_store;
                }
                pg.writable = 1;
            }
            ((volatile multicall_entry_t *)ep)->result = result;
        } else {
        slow_store:
            if (copy_to_guest_va(v->cr3, at + offsetof(multicall_entry_t, result), &result,
                                 sizeof(result))) {
                rc = -XL_EFAULT;
                break;
            }
        }
        if (v->domain->state != DOM_RUNNING)
            break; /* an entry shut the domain down */
    }
    hypercall_in_multicall = 0;
    return rc;

preempted:
    hypercall_in_multicall = 0;
    return hypercall_continuation(v, __HYPERVISOR_multicall, list + (uint64_t)i * sizeof(multicall_entry_t),
                                  nr - i, 0, 0, 0);
}
