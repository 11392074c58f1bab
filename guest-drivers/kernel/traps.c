/*
 * traps.c - C side of the guest kit's trap and event entry (trap_entry.S):
 * the trap table, the callbacks, and default handlers.
 * Under PVH (xlguest/platform.h) the IDT is pvh.c's and traps_init only
 * sets up the callback vector; the handlers and the frame are the same.
 * Runs in the guest kernel. Must never: return from a fault it cannot
 * fix without changing the frame (it would fault again forever).
 */
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/platform.h>
#include <xlguest/traps.h>

extern char guest_trap_0[], guest_event_callback[], guest_failsafe_callback[];
void guest_trap_dispatch(struct guest_frame *f);
void guest_failsafe(const uint64_t *frame);

/* Stubs are 16-byte aligned and each shorter than 16 bytes. */
#define STUB(vec) ((unsigned long)guest_trap_0 + 16 * (vec))

extern shared_info_t *guest_shared_info; /* runtime.c maps it */

__attribute__((weak)) void guest_trap(struct guest_frame *f)
{
    printk("unhandled trap %lu at %lx (error %lx, cr2 %lx)\n", (unsigned long)f->vector,
           (unsigned long)f->rip, (unsigned long)f->error_code,
           (unsigned long)guest_fault_cr2());
    xen_shutdown(SHUTDOWN_crash);
}

__attribute__((weak)) void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    if (guest_shared_info)
        guest_shared_info->vcpu_info[0].evtchn_upcall_pending = 0;
}

void guest_trap_dispatch(struct guest_frame *f)
{
    if (f->vector == GUEST_VEC_EVENT && xl_is_pvh && guest_shared_info &&
        __atomic_load_n(&guest_shared_info->vcpu_info[0].evtchn_upcall_mask, __ATOMIC_SEQ_CST)) {
        f->rflags &= ~0x200ULL; /* masked: defer until the next sti (platform.h) */
        return;
    }
    if (f->vector == GUEST_VEC_EVENT)
        guest_event_upcall(f);
    else
        guest_trap(f);
}

void guest_failsafe(const uint64_t *frame)
{
    printk("failsafe callback: the hypervisor could not return to %lx\n",
           (unsigned long)frame[6]);
    xen_shutdown(SHUTDOWN_crash);
}

uint64_t guest_fault_cr2(void)
{
    if (xl_is_pvh) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        return cr2;
    }
    return guest_shared_info ? guest_shared_info->vcpu_info[0].arch.cr2 : 0;
}

long traps_init(void)
{
    if (xl_is_pvh)
        return xl_pvh_traps_init();
    static struct trap_info table[21];
    for (unsigned int v = 0; v < 20; v++) {
        table[v] = (struct trap_info){
            .vector = (uint8_t)v,
            .flags = (v == 3 || v == 4) ? 3 : 0, /* DPL: who may raise it with int */
            .cs = FLAT_KERNEL_CS,
            .address = STUB(v),
        };
    }
    table[20] = (struct trap_info){ 0 }; /* address 0 ends the table */
    long rc = HYPERVISOR_set_trap_table(table);
    if (rc)
        return rc;
    struct callback_register ev = {
        .type = CALLBACKTYPE_event, .address = (unsigned long)guest_event_callback,
    };
    struct callback_register fs = {
        .type = CALLBACKTYPE_failsafe, .address = (unsigned long)guest_failsafe_callback,
    };
    if ((rc = HYPERVISOR_callback_op(CALLBACKOP_register, &ev)))
        return rc;
    return HYPERVISOR_callback_op(CALLBACKOP_register, &fs);
}
