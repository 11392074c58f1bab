/* pv_cpu.c - PLACEHOLDER until the PV CPU work lands (not done). */
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>

HYPERCALL_DECL(set_trap_table) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(set_gdt) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(stack_switch) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(set_callbacks) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(fpu_taskswitch) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(set_debugreg) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(get_debugreg) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(update_descriptor) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(vm_assist) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(iret) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(set_segment_base) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(callback_op) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
HYPERCALL_DECL(physdev_op) { (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; return -XL_ENOSYS; }
#include <xenolith/domain.h>
void pv_update_cr3(struct vcpu *v) { v->cr3 = v->guest_table << 12; }
void pv_return_to_guest(struct vcpu *v, struct cpu_regs *regs) { (void)v; (void)regs; }
