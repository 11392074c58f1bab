/*
 * multicall.c - the multicall hypercall: run a guest list of hypercalls
 * through hypercall_dispatch, storing each result in its entry; a long
 * list is continued (Xen's do_multicall), and an entry that itself asked
 * for a continuation gets its new arguments written back and is re-run
 * first when the multicall continues.
 * Owns: hypercall_in_multicall while a list runs. Must never: nest (an
 * inner multicall entry gets -EINVAL, as in Xen), run iret from a list
 * (the domain is crashed, as Xen does), or read the list except through
 * guest_access.
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>

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
    hypercall_in_multicall = 1;
    for (i = 0; i < nr; i++) {
        multicall_entry_t e;
        uint64_t at = list + (uint64_t)i * sizeof(e);
        if (i && hypercall_preempt_check())
            goto preempted;
        if (copy_from_guest_va(v->cr3, &e, at, sizeof(e))) {
            rc = -XL_EFAULT;
            break;
        }
        if (e.op == __HYPERVISOR_iret) {
            domain_crash(v->domain, "multicall entry %u is iret", i);
            break;
        }
        e.result = (xen_ulong_t)hypercall_dispatch(v, e.op, e.args[0], e.args[1], e.args[2],
                                                   e.args[3], e.args[4]);
        uint64_t cont[5];
        if (hypercall_take_mc_continuation(cont)) {
            /* The entry is not finished: store its progress in the entry
             * (whole, as Xen copies the call back) and go on from it. */
            for (int k = 0; k < 5; k++)
                e.args[k] = cont[k];
            if (copy_to_guest_va(v->cr3, at, &e, sizeof(e))) {
                rc = -XL_EFAULT;
                break;
            }
            goto preempted;
        }
        if (copy_to_guest_va(v->cr3, at + offsetof(multicall_entry_t, result), &e.result,
                             sizeof(e.result))) {
            rc = -XL_EFAULT;
            break;
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
