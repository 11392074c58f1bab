/*
 * hypercall.c - the hypercall table (the hypercall page: hypercall_page.c).
 * Owns: the mapping from Xen hypercall numbers to handlers. Every number
 * 0..NR_HYPERCALLS-1 has an entry; those not implemented yet return
 * -ENOSYS, as do numbers beyond the table (logged once per domain and
 * number by hc_unimplemented).
 */
#include <xenolith/arch.h>
#include <xenolith/errno.h>
#include <xenolith/grant_table.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>

const hypercall_fn hypercall_table[NR_HYPERCALLS] = {
    [__HYPERVISOR_set_trap_table] = do_set_trap_table,
    [__HYPERVISOR_mmu_update] = do_mmu_update,
    [__HYPERVISOR_set_gdt] = do_set_gdt,
    [__HYPERVISOR_stack_switch] = do_stack_switch,
    [__HYPERVISOR_set_callbacks] = do_set_callbacks,
    [__HYPERVISOR_fpu_taskswitch] = do_fpu_taskswitch,
    [__HYPERVISOR_set_debugreg] = do_set_debugreg,
    [__HYPERVISOR_get_debugreg] = do_get_debugreg,
    [__HYPERVISOR_update_descriptor] = do_update_descriptor,
    [__HYPERVISOR_memory_op] = do_memory_op,
    [__HYPERVISOR_multicall] = do_multicall,
    [__HYPERVISOR_update_va_mapping] = do_update_va_mapping,
    [__HYPERVISOR_set_timer_op] = do_set_timer_op,
    [__HYPERVISOR_xen_version] = do_xen_version,
    [__HYPERVISOR_console_io] = do_console_io,
    [__HYPERVISOR_vm_assist] = do_vm_assist,
    [__HYPERVISOR_update_va_mapping_otherdomain] = do_update_va_mapping_otherdomain,
    [__HYPERVISOR_iret] = do_iret,
    [__HYPERVISOR_vcpu_op] = do_vcpu_op,
    [__HYPERVISOR_set_segment_base] = do_set_segment_base,
    [__HYPERVISOR_mmuext_op] = do_mmuext_op,
    [__HYPERVISOR_sched_op] = do_sched_op,
    [__HYPERVISOR_callback_op] = do_callback_op,
    [__HYPERVISOR_event_channel_op] = do_event_channel_op,
    [__HYPERVISOR_physdev_op] = do_physdev_op,
    [__HYPERVISOR_grant_table_op] = do_grant_table_op,
    [__HYPERVISOR_domctl] = do_domctl,
    [__HYPERVISOR_sysctl] = do_sysctl,
    [__HYPERVISOR_platform_op] = do_platform_op,
    [__HYPERVISOR_xenpmu_op] = do_xenpmu_op,
    [__HYPERVISOR_hvm_op] = do_hvm_op,
    [__HYPERVISOR_dm_op] = do_dm_op,
    /* Not planned: the old
     * compat sched_op/event_channel_op (6, 16), xsm, hvm,
     * kexec, tmem, argo, hypfs. */
};

/* One CPU, hypercalls do not nest (a multicall runs its entries one by
 * one, straight through hypercall_table, not through hypercall_dispatch):
 * the outermost one may run PREEMPT_AFTER_NS from its first preemption
 * check. The clock is read there, not on entry, so the many hypercalls
 * that never check pay no clock read; work before the first check is one
 * batch (each long loop checks every few entries). All of this is under
 * the big lock. */
static uint64_t started_ns; /* 0: no check yet in this hypercall */
int hypercall_in_multicall;
int hypercall_mc_cont_pending; /* hypercall_continuation asked from a multicall entry */
static uint64_t mc_cont_args[5];

#define PREEMPT_AFTER_NS 1000000ULL /* 1 ms, a tenth of a scheduler tick */

/* A number with no handler: counted, -ENOSYS, logged once per domain. For the
 * multiplexed ones not implemented at all, the log names the sub-op too:
 * platform_op's cmd at the start of its structure. */
static long __attribute__((noinline)) no_handler(struct vcpu *v, uint64_t nr, uint64_t a1)
{
    struct hcstat_counts *c = &v->domain->hcstat;
    unsigned int op = HCSTAT_NO_SUBOP;
    c->calls[nr < NR_HYPERCALLS ? nr : HCSTAT_OTHER_CALL]++;
    if (nr == __HYPERVISOR_platform_op) {
        uint32_t cmd;
        if (!copy_from_guest_va(v->cr3, &cmd, a1, sizeof(cmd))) {
            op = cmd;
            HCSTAT_SUB(c, platform_op, cmd);
        }
    }
    /* Numbers past 32 bits are logged (and share a bit) as 0xffffffff. */
    return hc_unimplemented(v->domain, nr < 0xffffffffULL ? (unsigned int)nr : 0xffffffffu, op);
}

long hypercall_dispatch(struct vcpu *v, uint64_t nr, uint64_t a1, uint64_t a2,
                        uint64_t a3, uint64_t a4, uint64_t a5)
{
    if (nr >= NR_HYPERCALLS || !hypercall_table[nr])
        return no_handler(v, nr, a1);
    if (v->domain->hvm && !hvm_hypercall_allowed(nr))
        return -XL_ENOSYS; /* a multicall entry of an HVM guest: its own table */
    v->domain->hcstat.calls[nr]++; /* sub-ops: HCSTAT_SUB in the handlers */
    started_ns = 0;
    return hypercall_table[nr](v, a1, a2, a3, a4, a5);
}

/* The guest's `syscall`: number and arguments straight from its saved
 * frame (rax; rdi, rsi, rdx, r10, r8), the handler tail-called. */
long hypercall_from_frame(struct vcpu *v, const struct cpu_regs *r)
{
    uint64_t nr = r->rax;
    if (__builtin_expect(nr >= NR_HYPERCALLS || !hypercall_table[nr], 0))
        return no_handler(v, nr, r->rdi);
    v->domain->hcstat.calls[nr]++;
    started_ns = 0;
    return hypercall_table[nr](v, r->rdi, r->rsi, r->rdx, r->r10, r->r8);
}

int hypercall_preempt_check(void)
{
    uint64_t now = arch_time_ns();
    if (!started_ns) {
        started_ns = now ? now : 1;
        return 0;
    }
    return now - started_ns > PREEMPT_AFTER_NS;
}

long hypercall_continuation(struct vcpu *v, unsigned int nr, uint64_t a1, uint64_t a2,
                            uint64_t a3, uint64_t a4, uint64_t a5)
{
    if (hypercall_in_multicall) {
        hypercall_mc_cont_pending = 1;
        mc_cont_args[0] = a1, mc_cont_args[1] = a2, mc_cont_args[2] = a3;
        mc_cont_args[3] = a4, mc_cont_args[4] = a5;
        return (long)nr;
    }
    v->regs.rip -= v->domain->hvm ? 3 : 2; /* back over `syscall` (0f 05) or vmcall/vmmcall */
    v->regs.rdi = a1, v->regs.rsi = a2, v->regs.rdx = a3, v->regs.r10 = a4, v->regs.r8 = a5;
    return (long)nr; /* becomes %rax: the number to re-issue */
}

int hypercall_take_mc_continuation(uint64_t args[5])
{
    if (!hypercall_mc_cont_pending)
        return 0;
    memcpy(args, mc_cont_args, sizeof(mc_cont_args));
    hypercall_mc_cont_pending = 0;
    return 1;
}
