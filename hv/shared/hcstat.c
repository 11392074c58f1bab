/*
 * hcstat.c - hypercall and sub-op names (from Xen 4.17's public headers)
 * and the listing of a domain's hypercall counters (hcstat.h). Pure C:
 * linked into the hypervisor, dom0's toolstack and host unit tests.
 * Owns: the name tables. Every sub-op name is spelled by its header
 * constant through N(PREFIX_, name), so a wrong number cannot compile.
 */
/* domctl.h and sysctl.h are tools-only; with __XEN_TOOLS__ the headers
 * pick their latest interface version (4.17's, the build's anyway). */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#undef __XEN_INTERFACE_VERSION__
#endif
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/callback.h>
#include <xen/domctl.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>
#include <xen/physdev.h>
#include <xen/platform.h>
#include <xen/sched.h>
#include <xen/sysctl.h>
#include <xen/vcpu.h>
#include <xen/version.h>

#include <xenolith/hcstat.h>
#include <xenolith/lib.h>

static const char *const call_names[] = {
#define C(n) [__HYPERVISOR_##n] = #n
    C(set_trap_table), C(mmu_update), C(set_gdt), C(stack_switch), C(set_callbacks),
    C(fpu_taskswitch), C(sched_op_compat), C(platform_op), C(set_debugreg), C(get_debugreg),
    C(update_descriptor), C(memory_op), C(multicall), C(update_va_mapping),
    C(set_timer_op), C(event_channel_op_compat), C(xen_version), C(console_io),
    C(physdev_op_compat), C(grant_table_op), C(vm_assist), C(update_va_mapping_otherdomain),
    C(iret), C(vcpu_op), C(set_segment_base), C(mmuext_op), C(xsm_op), C(nmi_op),
    C(sched_op), C(callback_op), C(xenoprof_op), C(event_channel_op), C(physdev_op),
    C(hvm_op), C(sysctl), C(domctl), C(kexec_op), C(tmem_op), C(argo_op), C(xenpmu_op),
    C(dm_op), C(hypfs_op),
#undef C
    /* x86's arch hypercalls (arch-x86/xen-mca.h, Xen's hypercall table) */
    [__HYPERVISOR_arch_0] = "mca",
    [__HYPERVISOR_arch_1] = "paging_domctl_cont",
};

struct subop_name {
    uint32_t op;
    const char *name;
};
#define N(prefix, n) { prefix##n, #n }

static const struct subop_name memory_op_names[] = {
    N(XENMEM_, increase_reservation), N(XENMEM_, decrease_reservation),
    N(XENMEM_, maximum_ram_page), N(XENMEM_, current_reservation), N(XENMEM_, maximum_reservation),
    N(XENMEM_, machphys_mfn_list), N(XENMEM_, populate_physmap), N(XENMEM_, add_to_physmap),
    N(XENMEM_, memory_map), N(XENMEM_, machine_memory_map), N(XENMEM_, exchange),
    N(XENMEM_, machphys_mapping), N(XENMEM_, set_memory_map), N(XENMEM_, maximum_gpfn),
    N(XENMEM_, remove_from_physmap), N(XENMEM_, set_pod_target), N(XENMEM_, get_pod_target),
    N(XENMEM_, get_sharing_freed_pages), N(XENMEM_, get_sharing_shared_pages),
    N(XENMEM_, paging_op), N(XENMEM_, access_op), N(XENMEM_, sharing_op),
    N(XENMEM_, add_to_physmap_batch), N(XENMEM_, claim_pages), N(XENMEM_, machphys_compat_mfn_list),
    N(XENMEM_, get_vnumainfo), N(XENMEM_, reserved_device_memory_map), N(XENMEM_, acquire_resource),
};
static const struct subop_name mmuext_op_names[] = {
    N(MMUEXT_, PIN_L1_TABLE), N(MMUEXT_, PIN_L2_TABLE), N(MMUEXT_, PIN_L3_TABLE),
    N(MMUEXT_, PIN_L4_TABLE), N(MMUEXT_, UNPIN_TABLE), N(MMUEXT_, NEW_BASEPTR),
    N(MMUEXT_, TLB_FLUSH_LOCAL), N(MMUEXT_, INVLPG_LOCAL), N(MMUEXT_, TLB_FLUSH_MULTI),
    N(MMUEXT_, INVLPG_MULTI), N(MMUEXT_, TLB_FLUSH_ALL), N(MMUEXT_, INVLPG_ALL),
    N(MMUEXT_, FLUSH_CACHE), N(MMUEXT_, SET_LDT), N(MMUEXT_, NEW_USER_BASEPTR),
    N(MMUEXT_, CLEAR_PAGE), N(MMUEXT_, COPY_PAGE), N(MMUEXT_, FLUSH_CACHE_GLOBAL),
    N(MMUEXT_, MARK_SUPER), N(MMUEXT_, UNMARK_SUPER),
};
static const struct subop_name mmu_update_names[] = {
    N(MMU_, NORMAL_PT_UPDATE), N(MMU_, MACHPHYS_UPDATE), N(MMU_, PT_UPDATE_PRESERVE_AD),
    N(MMU_, PT_UPDATE_NO_TRANSLATE),
};
static const struct subop_name vcpu_op_names[] = {
    N(VCPUOP_, initialise), N(VCPUOP_, up), N(VCPUOP_, down), N(VCPUOP_, is_up),
    N(VCPUOP_, get_runstate_info), N(VCPUOP_, register_runstate_memory_area),
    N(VCPUOP_, set_periodic_timer), N(VCPUOP_, stop_periodic_timer),
    N(VCPUOP_, set_singleshot_timer), N(VCPUOP_, stop_singleshot_timer),
    N(VCPUOP_, register_vcpu_info), N(VCPUOP_, send_nmi), N(VCPUOP_, get_physid),
    N(VCPUOP_, register_vcpu_time_memory_area),
};
static const struct subop_name event_channel_op_names[] = {
    N(EVTCHNOP_, bind_interdomain), N(EVTCHNOP_, bind_virq), N(EVTCHNOP_, bind_pirq),
    N(EVTCHNOP_, close), N(EVTCHNOP_, send), N(EVTCHNOP_, status), N(EVTCHNOP_, alloc_unbound),
    N(EVTCHNOP_, bind_ipi), N(EVTCHNOP_, bind_vcpu), N(EVTCHNOP_, unmask), N(EVTCHNOP_, reset),
    N(EVTCHNOP_, init_control), N(EVTCHNOP_, expand_array), N(EVTCHNOP_, set_priority),
    { 14, "reset_cont" }, /* EVTCHNOP_reset_cont: hv-internal (__XEN__) */
};
static const struct subop_name grant_table_op_names[] = {
    N(GNTTABOP_, map_grant_ref), N(GNTTABOP_, unmap_grant_ref), N(GNTTABOP_, setup_table),
    N(GNTTABOP_, dump_table), N(GNTTABOP_, transfer), N(GNTTABOP_, copy), N(GNTTABOP_, query_size),
    N(GNTTABOP_, unmap_and_replace), N(GNTTABOP_, set_version), N(GNTTABOP_, get_status_frames),
    N(GNTTABOP_, get_version), N(GNTTABOP_, swap_grant_ref), N(GNTTABOP_, cache_flush),
};
static const struct subop_name sched_op_names[] = {
    N(SCHEDOP_, yield), N(SCHEDOP_, block), N(SCHEDOP_, shutdown), N(SCHEDOP_, poll),
    N(SCHEDOP_, remote_shutdown), N(SCHEDOP_, shutdown_code), N(SCHEDOP_, watchdog),
    N(SCHEDOP_, pin_override),
};
static const struct subop_name physdev_op_names[] = {
    N(PHYSDEVOP_, IRQ_UNMASK_NOTIFY), N(PHYSDEVOP_, irq_status_query), N(PHYSDEVOP_, set_iopl),
    N(PHYSDEVOP_, set_iobitmap), N(PHYSDEVOP_, apic_read), N(PHYSDEVOP_, apic_write),
    N(PHYSDEVOP_, alloc_irq_vector), N(PHYSDEVOP_, free_irq_vector), N(PHYSDEVOP_, eoi),
    N(PHYSDEVOP_, map_pirq), N(PHYSDEVOP_, unmap_pirq), N(PHYSDEVOP_, manage_pci_add),
    N(PHYSDEVOP_, manage_pci_remove), N(PHYSDEVOP_, pirq_eoi_gmfn_v1), N(PHYSDEVOP_, restore_msi),
    N(PHYSDEVOP_, manage_pci_add_ext), N(PHYSDEVOP_, setup_gsi), N(PHYSDEVOP_, get_free_pirq),
    N(PHYSDEVOP_, pci_mmcfg_reserved), N(PHYSDEVOP_, pci_device_add),
    N(PHYSDEVOP_, pci_device_remove), N(PHYSDEVOP_, restore_msi_ext),
    N(PHYSDEVOP_, pirq_eoi_gmfn_v2), N(PHYSDEVOP_, dbgp_op), N(PHYSDEVOP_, prepare_msix),
    N(PHYSDEVOP_, release_msix),
};
static const struct subop_name xen_version_names[] = {
    N(XENVER_, version), N(XENVER_, extraversion), N(XENVER_, compile_info),
    N(XENVER_, capabilities), N(XENVER_, changeset), N(XENVER_, platform_parameters),
    N(XENVER_, get_features), N(XENVER_, pagesize), N(XENVER_, guest_handle),
    N(XENVER_, commandline), N(XENVER_, build_id),
};
static const struct subop_name callback_op_names[] = {
    N(CALLBACKOP_, register), N(CALLBACKOP_, unregister),
};
static const struct subop_name console_io_names[] = {
    N(CONSOLEIO_, write), N(CONSOLEIO_, read),
};
static const struct subop_name vm_assist_names[] = {
    N(VMASST_CMD_, enable), N(VMASST_CMD_, disable),
};
static const struct subop_name domctl_names[] = {
    N(XEN_DOMCTL_, createdomain), N(XEN_DOMCTL_, destroydomain), N(XEN_DOMCTL_, pausedomain),
    N(XEN_DOMCTL_, unpausedomain), N(XEN_DOMCTL_, getdomaininfo), N(XEN_DOMCTL_, setvcpuaffinity),
    N(XEN_DOMCTL_, shadow_op), N(XEN_DOMCTL_, max_mem), N(XEN_DOMCTL_, setvcpucontext),
    N(XEN_DOMCTL_, getvcpucontext), N(XEN_DOMCTL_, getvcpuinfo), N(XEN_DOMCTL_, max_vcpus),
    N(XEN_DOMCTL_, scheduler_op), N(XEN_DOMCTL_, setdomainhandle), N(XEN_DOMCTL_, setdebugging),
    N(XEN_DOMCTL_, irq_permission), N(XEN_DOMCTL_, iomem_permission),
    N(XEN_DOMCTL_, ioport_permission), N(XEN_DOMCTL_, hypercall_init),
    N(XEN_DOMCTL_, settimeoffset), N(XEN_DOMCTL_, getvcpuaffinity), N(XEN_DOMCTL_, real_mode_area),
    N(XEN_DOMCTL_, resumedomain), N(XEN_DOMCTL_, sendtrigger), N(XEN_DOMCTL_, subscribe),
    N(XEN_DOMCTL_, gethvmcontext), N(XEN_DOMCTL_, sethvmcontext), N(XEN_DOMCTL_, set_address_size),
    N(XEN_DOMCTL_, get_address_size), N(XEN_DOMCTL_, assign_device), N(XEN_DOMCTL_, bind_pt_irq),
    N(XEN_DOMCTL_, memory_mapping), N(XEN_DOMCTL_, ioport_mapping),
    N(XEN_DOMCTL_, set_ext_vcpucontext), N(XEN_DOMCTL_, get_ext_vcpucontext),
    N(XEN_DOMCTL_, set_opt_feature), N(XEN_DOMCTL_, test_assign_device), N(XEN_DOMCTL_, set_target),
    N(XEN_DOMCTL_, deassign_device), N(XEN_DOMCTL_, unbind_pt_irq),
    N(XEN_DOMCTL_, get_device_group), N(XEN_DOMCTL_, debug_op),
    N(XEN_DOMCTL_, gethvmcontext_partial), N(XEN_DOMCTL_, vm_event_op),
    N(XEN_DOMCTL_, mem_sharing_op), N(XEN_DOMCTL_, gettscinfo), N(XEN_DOMCTL_, settscinfo),
    N(XEN_DOMCTL_, getpageframeinfo3), N(XEN_DOMCTL_, setvcpuextstate),
    N(XEN_DOMCTL_, getvcpuextstate), N(XEN_DOMCTL_, set_access_required), N(XEN_DOMCTL_, audit_p2m),
    N(XEN_DOMCTL_, set_virq_handler), N(XEN_DOMCTL_, set_broken_page_p2m),
    N(XEN_DOMCTL_, setnodeaffinity), N(XEN_DOMCTL_, getnodeaffinity), N(XEN_DOMCTL_, cacheflush),
    N(XEN_DOMCTL_, get_vcpu_msrs), N(XEN_DOMCTL_, set_vcpu_msrs), N(XEN_DOMCTL_, setvnumainfo),
    N(XEN_DOMCTL_, psr_cmt_op), N(XEN_DOMCTL_, monitor_op), N(XEN_DOMCTL_, psr_alloc),
    N(XEN_DOMCTL_, soft_reset), N(XEN_DOMCTL_, vuart_op), N(XEN_DOMCTL_, get_cpu_policy),
    N(XEN_DOMCTL_, set_cpu_policy), N(XEN_DOMCTL_, vmtrace_op),
    N(XEN_DOMCTL_, get_paging_mempool_size), N(XEN_DOMCTL_, set_paging_mempool_size),
    N(XEN_DOMCTL_, gdbsx_guestmemio), N(XEN_DOMCTL_, gdbsx_pausevcpu),
    N(XEN_DOMCTL_, gdbsx_unpausevcpu), N(XEN_DOMCTL_, gdbsx_domstatus),
};
static const struct subop_name sysctl_names[] = {
    N(XEN_SYSCTL_, readconsole), N(XEN_SYSCTL_, tbuf_op), N(XEN_SYSCTL_, physinfo),
    N(XEN_SYSCTL_, sched_id), N(XEN_SYSCTL_, perfc_op), N(XEN_SYSCTL_, getdomaininfolist),
    N(XEN_SYSCTL_, debug_keys), N(XEN_SYSCTL_, getcpuinfo), N(XEN_SYSCTL_, availheap),
    N(XEN_SYSCTL_, get_pmstat), N(XEN_SYSCTL_, cpu_hotplug), N(XEN_SYSCTL_, pm_op),
    N(XEN_SYSCTL_, page_offline_op), N(XEN_SYSCTL_, lockprof_op), N(XEN_SYSCTL_, cputopoinfo),
    N(XEN_SYSCTL_, numainfo), N(XEN_SYSCTL_, cpupool_op), N(XEN_SYSCTL_, scheduler_op),
    N(XEN_SYSCTL_, coverage_op), N(XEN_SYSCTL_, psr_cmt_op), N(XEN_SYSCTL_, pcitopoinfo),
    N(XEN_SYSCTL_, psr_alloc), N(XEN_SYSCTL_, get_cpu_levelling_caps),
    N(XEN_SYSCTL_, get_cpu_featureset), N(XEN_SYSCTL_, livepatch_op),
    N(XEN_SYSCTL_, get_cpu_policy),
    { XENOLITH_SYSCTL_hypercall_stats, "hypercall_stats" }, /* Xenolith's own */
};
static const struct subop_name platform_op_names[] = {
    N(XENPF_, settime32), N(XENPF_, add_memtype), N(XENPF_, del_memtype), N(XENPF_, read_memtype),
    N(XENPF_, microcode_update), N(XENPF_, platform_quirk), N(XENPF_, get_cpu_version),
    N(XENPF_, efi_runtime_call), N(XENPF_, firmware_info), N(XENPF_, enter_acpi_sleep),
    N(XENPF_, change_freq), N(XENPF_, getidletime), N(XENPF_, set_processor_pminfo),
    N(XENPF_, get_cpuinfo), N(XENPF_, cpu_online), N(XENPF_, cpu_offline), N(XENPF_, cpu_hotadd),
    N(XENPF_, mem_hotadd), N(XENPF_, core_parking), N(XENPF_, resource_op), N(XENPF_, settime64),
    N(XENPF_, get_symbol),
};
static const struct subop_name hvm_op_names[] = {
    N(HVMOP_, set_param), N(HVMOP_, get_param), N(HVMOP_, flush_tlbs), N(HVMOP_, pagetable_dying),
    N(HVMOP_, get_time), N(HVMOP_, xentrace), N(HVMOP_, set_mem_access), N(HVMOP_, get_mem_access),
    N(HVMOP_, get_mem_type), N(HVMOP_, set_evtchn_upcall_vector), N(HVMOP_, guest_request_vm_event),
    N(HVMOP_, altp2m),
};
#undef N
/* Sub-ops removed from the 4.17 headers (commented out, or older
 * interface versions only) are not named: they are logged by number. */

#define TABLE(hc, t) { __HYPERVISOR_##hc, t, ARRAY_SIZE(t) }
static const struct {
    unsigned int hc;
    const struct subop_name *names;
    unsigned int n;
} subop_tables[] = {
    TABLE(memory_op, memory_op_names), TABLE(mmuext_op, mmuext_op_names),
    TABLE(mmu_update, mmu_update_names), TABLE(vcpu_op, vcpu_op_names),
    TABLE(event_channel_op, event_channel_op_names),
    TABLE(grant_table_op, grant_table_op_names), TABLE(sched_op, sched_op_names),
    TABLE(physdev_op, physdev_op_names), TABLE(xen_version, xen_version_names),
    TABLE(callback_op, callback_op_names), TABLE(console_io, console_io_names),
    TABLE(vm_assist, vm_assist_names), TABLE(domctl, domctl_names),
    TABLE(sysctl, sysctl_names), TABLE(platform_op, platform_op_names),
    TABLE(hvm_op, hvm_op_names),
};
#undef TABLE

static const struct {
    uint8_t hc;
    uint16_t base, slots;
} rows[] = {
#define HCSTAT_X(n, s) { __HYPERVISOR_##n, HCS_BASE_##n, s },
    HCSTAT_MUX(HCSTAT_X)
#undef HCSTAT_X
};

const char *hcstat_call_name(unsigned int hc)
{
    return hc < ARRAY_SIZE(call_names) ? call_names[hc] : NULL;
}

const char *hcstat_subop_name(unsigned int hc, unsigned int op)
{
    for (unsigned int t = 0; t < ARRAY_SIZE(subop_tables); t++) {
        if (subop_tables[t].hc != hc)
            continue;
        for (unsigned int i = 0; i < subop_tables[t].n; i++)
            if (subop_tables[t].names[i].op == op)
                return subop_tables[t].names[i].name;
        return NULL;
    }
    return NULL;
}

int hcstat_row(unsigned int hc, unsigned int *base, unsigned int *slots)
{
    for (unsigned int r = 0; r < ARRAY_SIZE(rows); r++) {
        if (rows[r].hc == hc) {
            *base = rows[r].base;
            *slots = rows[r].slots;
            return 1;
        }
    }
    return 0;
}

void hcstat_count_sub(struct hcstat_counts *c, unsigned int hc, unsigned int op)
{
    unsigned int base, slots;
    if (hcstat_row(hc, &base, &slots))
        c->sub[base + (op < slots - 1 ? op : slots - 1)]++;
}

uint64_t hcstat_total(const struct hcstat_counts *c)
{
    uint64_t t = 0;
    for (unsigned int i = 0; i < HCSTAT_CALLS; i++)
        t += c->calls[i];
    return t;
}

/* Does a come before b in a listing? */
static int before(const struct hcstat_leaf *a, const struct hcstat_leaf *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    if (a->hc != b->hc)
        return a->hc < b->hc;
    return a->subop < b->subop; /* HCSTAT_NO_SUBOP last */
}

/* Insert l into the sorted out[0..*n) of capacity max, dropping the
 * smallest when full. */
static void insert(struct hcstat_leaf *out, unsigned int *n, unsigned int max,
                   const struct hcstat_leaf *l)
{
    unsigned int i = *n;
    if (i == max) {
        if (!max || !before(l, &out[max - 1]))
            return;
        i = max - 1;
    } else {
        (*n)++;
    }
    while (i && before(l, &out[i - 1])) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *l;
}

unsigned int hcstat_top(const struct hcstat_counts *c, struct hcstat_leaf *out, unsigned int max)
{
    unsigned int n = 0, all = 0;
    for (unsigned int hc = 0; hc < HCSTAT_CALLS; hc++) {
        unsigned int base, slots;
        struct hcstat_leaf l = { .hc = (uint16_t)hc, .subop = HCSTAT_NO_SUBOP };
        if (!hcstat_row(hc, &base, &slots)) {
            if ((l.count = c->calls[hc]) != 0)
                insert(out, &n, max, &l), all++;
            continue;
        }
        uint64_t attributed = 0;
        for (unsigned int s = 0; s < slots; s++) {
            if (!c->sub[base + s])
                continue;
            l.subop = s;
            l.and_above = s == slots - 1;
            l.count = c->sub[base + s];
            attributed += l.count;
            insert(out, &n, max, &l), all++;
        }
        /* Calls that failed before their sub-op was read. */
        if (hc != __HYPERVISOR_mmuext_op && c->calls[hc] > attributed) {
            l = (struct hcstat_leaf){ .hc = (uint16_t)hc, .subop = HCSTAT_NO_SUBOP,
                                      .count = c->calls[hc] - attributed };
            insert(out, &n, max, &l), all++;
        }
    }
    return all;
}

int hcstat_leaf_subop(const struct hcstat_leaf *l, char *buf, size_t size)
{
    unsigned int base, slots;
    if (l->subop == HCSTAT_NO_SUBOP)
        return xl_snprintf(buf, size, "%s", hcstat_row(l->hc, &base, &slots) ? "?" : "");
    if (l->and_above)
        return xl_snprintf(buf, size, "%u+", l->subop);
    const char *s = hcstat_subop_name(l->hc, l->subop);
    return s ? xl_snprintf(buf, size, "%s", s) : xl_snprintf(buf, size, "%u", l->subop);
}

int hcstat_leaf_name(const struct hcstat_leaf *l, char sep, char *buf, size_t size)
{
    const char *name = hcstat_call_name(l->hc);
    int n;
    if (l->hc == HCSTAT_OTHER_CALL)
        n = xl_snprintf(buf, size, "hypercall 64+");
    else if (name)
        n = xl_snprintf(buf, size, "%s", name);
    else
        n = xl_snprintf(buf, size, "hypercall %u", l->hc);
    char sub[40];
    hcstat_leaf_subop(l, sub, sizeof(sub));
    if (!sub[0])
        return n;
    size_t at = (size_t)n < size ? (size_t)n : (size ? size - 1 : 0);
    return n + xl_snprintf(buf + at, size - at, "%c%s", sep, sub);
}
