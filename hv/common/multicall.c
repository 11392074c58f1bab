/*
 * multicall.c - the multicall hypercall: run a guest list of hypercalls
 * through hypercall_dispatch, storing each result in its entry.
 * Owns: the in-multicall flag. Must never: nest (an inner multicall
 * entry gets -EINVAL, as in Xen), run iret from a list (the domain is
 * crashed, as Xen does), or read the list except through guest_access.
 */
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>

static int in_multicall; /* one CPU: at most one multicall runs at a time */

long do_multicall(struct vcpu *v, uint64_t list, uint64_t nr_calls, uint64_t a3, uint64_t a4,
                  uint64_t a5)
{
    (void)a3; (void)a4; (void)a5;
    unsigned int nr = (unsigned int)nr_calls; /* Xen: unsigned int nr_calls */
    if (in_multicall)
        return -XL_EINVAL;
    uint64_t bytes = (uint64_t)nr * sizeof(multicall_entry_t);
    if (nr && (!guest_va_ok(list) || list + bytes < list || !guest_va_ok(list + bytes - 1)))
        return -XL_EFAULT;
    long rc = 0;
    in_multicall = 1;
    for (unsigned int i = 0; i < nr; i++) {
        multicall_entry_t e;
        uint64_t at = list + (uint64_t)i * sizeof(e);
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
        if (copy_to_guest_va(v->cr3, at + offsetof(multicall_entry_t, result), &e.result,
                             sizeof(e.result))) {
            rc = -XL_EFAULT;
            break;
        }
        if (v->domain->state != DOM_RUNNING)
            break; /* an entry shut the domain down */
    }
    in_multicall = 0;
    return rc;
}
