/*
 * platform.c - platform_op (Xen's do_platform_op) and xenpmu_op.
 * Owns: the platform_op sub-ops a dom0 without passed-through devices
 * asks for while it boots (settime, get_cpuinfo, firmware_info), with
 * Xen 4.17's checks in Xen's order; the answer Xen gives to xenpmu_op
 * when the virtual PMU is off (its default).
 * Must never: act for an unprivileged domain, or write a guest structure
 * field other than the one Xen writes back for the sub-op.
 */
#include <xenolith/arch.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/event.h>
#include <xenolith/guest_access.h>
#include <xenolith/hcstat.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>
#include <xen/platform.h>

/* Xen's do_settime: the wallclock base becomes (secs.nsecs - system_time)
 * and every domain's shared_info sees it. */
static void settime(struct vcpu *v, uint64_t secs, uint32_t nsecs, uint64_t system_time)
{
    (void)v;
    uint64_t x = secs * 1000000000ULL + nsecs - system_time;
    arch_wallclock_set(x / 1000000000ULL, (uint32_t)(x % 1000000000ULL));
    for (unsigned int i = 0; i < MAX_DOMAINS; i++)
        if (domains[i].state != DOM_FREE)
            domain_update_wallclock(&domains[i]);
}

/* XENPF_firmware_info as Xen answers when its loader handed it no EFI
 * system table, EDD, EDID or MBR signatures (Xen booted by multiboot on
 * a machine without them). A deliberate difference from Xen booted as
 * xen.efi, which hands dom0 the EFI version, configuration tables and
 * EDD from the firmware: the hv keeps no EFI tables for dom0 (yet), so
 * Linux as dom0 sees no EFI and finds no ACPI tables through it. */
static long firmware_info(struct vcpu *v, uint64_t uop, struct xen_platform_op *op)
{
    switch (op->u.firmware_info.type) {
    case XEN_FW_DISK_INFO:
    case XEN_FW_DISK_MBR_SIGNATURE:
    case XEN_FW_VBEDDC_INFO:
        return -XL_ESRCH; /* no entry at any index */
    case XEN_FW_EFI_INFO:
        return -XL_ENOSYS; /* Xen's efi_get_info without EFI_BOOT */
    case XEN_FW_KBD_SHIFT_FLAGS:
        if (op->u.firmware_info.index)
            return -XL_ESRCH;
        op->u.firmware_info.u.kbd_shift_flags = 0; /* Xen under EFI: none read */
        return copy_to_guest_va(v->cr3, uop + offsetof(struct xen_platform_op,
                                                       u.firmware_info.u.kbd_shift_flags),
                                &op->u.firmware_info.u.kbd_shift_flags,
                                sizeof(op->u.firmware_info.u.kbd_shift_flags)) ? -XL_EFAULT : 0;
    default:
        return -XL_EINVAL;
    }
}

HYPERCALL_DECL(platform_op)
{
    (void)a2; (void)a3; (void)a4; (void)a5;
    struct xen_platform_op op;
    if (copy_from_guest_va(v->cr3, &op, a1, sizeof(op)))
        return -XL_EFAULT;
    HCSTAT_SUB(&v->domain->hcstat, platform_op, op.cmd);
    if (op.interface_version != XENPF_INTERFACE_VERSION)
        return -XL_EACCES;
    if (!v->domain->privileged)
        return -XL_EPERM; /* xsm_platform_op(XSM_PRIV) */
    switch (op.cmd) {
    case XENPF_settime32:
        settime(v, op.u.settime32.secs, op.u.settime32.nsecs, op.u.settime32.system_time);
        return 0;
    case XENPF_settime64:
        if (op.u.settime64.mbz)
            return -XL_EINVAL;
        settime(v, op.u.settime64.secs, op.u.settime64.nsecs, op.u.settime64.system_time);
        return 0;
    case XENPF_get_cpuinfo: {
        struct xenpf_pcpuinfo *c = &op.u.pcpu_info;
        if (c->xen_cpuid >= arch_nr_cpus()) {
            c->flags = XEN_PCPU_FLAGS_INVALID;
        } else {
            c->apic_id = arch_cpu_apic_id(c->xen_cpuid);
            c->acpi_id = c->xen_cpuid; /* the MADT's processor order */
            c->flags = XEN_PCPU_FLAGS_ONLINE;
        }
        c->max_present = arch_nr_cpus() - 1;
        return copy_to_guest_va(v->cr3, a1 + offsetof(struct xen_platform_op, u.pcpu_info), c,
                                sizeof(*c)) ? -XL_EFAULT : 0;
    }
    case XENPF_firmware_info:
        return firmware_info(v, a1, &op);
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_platform_op, op.cmd);
    }
}

/* Xen 4.17 with the virtual PMU off (its default, "vpmu" not given):
 * every op -EOPNOTSUPP, before anything is read. Linux then says "VPMU
 * disabled by hypervisor." */
HYPERCALL_DECL(xenpmu_op)
{
    (void)v; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
    return -XEN_EOPNOTSUPP;
}
