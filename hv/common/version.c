/*
 * version.c - the xen_version hypercall: who we are, what we offer.
 * Xenolith speaks the Xen 4.17 ABI, so it reports version 4.17, and every
 * sub-op answers as Xen 4.17's with the default (dummy XSM) policy:
 * version, platform_parameters, get_features for everyone; extraversion,
 * compile_info, capabilities, changeset, pagesize, guest_handle for
 * everyone; commandline and build_id for the privileged domain only (an
 * unprivileged one reads "<denied>" / gets -EPERM, as on Xen).
 * Owns: nothing mutable. Must never: reveal the hv command line or build
 * id to an unprivileged domain; claim a XENFEAT whose behaviour the
 * hypervisor does not implement.
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/version_info.h>

const char *hv_cmdline = "";
const uint8_t *hv_build_id;
unsigned int hv_build_id_len;

static long put_string(struct vcpu *v, uint64_t arg, size_t size, const char *s)
{
    char buf[1024];
    memset(buf, 0, size);
    xl_snprintf(buf, size, "%s", s);
    return copy_to_guest_va(v->cr3, arg, buf, size) ? -XL_EFAULT : 0;
}

#define XEN_DENY "<denied>"

/* Submap 0 for a 64-bit PV domain: Xen's set minus what Xenolith does not
 * implement (memory_op_vnode_supported: no XENMEM_get_vnumainfo). */
static uint32_t feature_submap0(const struct vcpu *v)
{
    if (v->domain->hvm) {
        /* Xen's for a translated (HVM/PVH) domain: it writes its own page
         * tables over a p2m; events by the callback vector; the PV clock
         * in vcpu_info is safe (guest TSC = host TSC, no offset). No
         * pirqs: no emulated interrupt controller routes them. */
        uint32_t hmap = (1u << XENFEAT_writable_page_tables) |
                        (1u << XENFEAT_auto_translated_physmap) |
                        (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock);
        if (v->domain->privileged)
            hmap |= 1u << XENFEAT_dom0;
        return hmap;
    }
    uint32_t map = (1u << XENFEAT_mmu_pt_update_preserve_ad) | /* mmu_update */
                   (1u << XENFEAT_highmem_assist) |            /* MMUEXT_{COPY,CLEAR}_PAGE */
                   (1u << XENFEAT_direct_mapped) |             /* PV: not translated */
                   (1u << XENFEAT_gnttab_map_avail_bits);      /* grant PTEs keep bits 9-11 */
    if (v->pv.vm_assist & (1ULL << VMASST_TYPE_pae_extended_cr3))
        map |= 1u << XENFEAT_pae_pgdir_above_4gb;
    if (v->domain->privileged)
        map |= 1u << XENFEAT_dom0;
    return map;
}

/* Xen: a NULL handle asks for the size only; len 0 is -EINVAL. */
static long version_build_id(struct vcpu *v, uint64_t arg, uint64_t len)
{
    (void)len;
    xen_build_id_t hdr = { 0 };
    if (!v->domain->privileged)
        return -XL_EPERM;
    if (arg) {
        if (copy_from_guest_va(v->cr3, &hdr, arg, sizeof(hdr)))
            return -XL_EFAULT;
        if (hdr.len == 0)
            return -XL_EINVAL;
    }
    if (!hv_build_id_len)
        return -XL_ENODATA;
    if (!arg)
        return hv_build_id_len;
    if (hdr.len < hv_build_id_len)
        return -XL_ENOBUFS;
    if (copy_to_guest_va(v->cr3, arg + sizeof(hdr), hv_build_id, hv_build_id_len))
        return -XL_EFAULT;
    return hv_build_id_len;
}

long do_xen_version(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t len, uint64_t a4,
                    uint64_t a5)
{
    HCSTAT_SUB(&v->domain->hcstat, xen_version, cmd);
    switch (cmd) {
    case XENVER_version:
        return (XL_XEN_MAJOR << 16) | XL_XEN_MINOR;
    case XENVER_extraversion:
        return put_string(v, arg, sizeof(xen_extraversion_t), XL_EXTRAVERSION);
    case XENVER_compile_info: {
        xen_compile_info_t ci;
        memset(&ci, 0, sizeof(ci));
        xl_snprintf(ci.compiler, sizeof(ci.compiler), "%s", XL_COMPILER);
        xl_snprintf(ci.compile_by, sizeof(ci.compile_by), "%s", "xenolith");
        xl_snprintf(ci.compile_domain, sizeof(ci.compile_domain), "%s", "local");
        xl_snprintf(ci.compile_date, sizeof(ci.compile_date), "%s", XL_BUILD_DATE);
        return copy_to_guest_va(v->cr3, arg, &ci, sizeof(ci)) ? -XL_EFAULT : 0;
    }
    case XENVER_capabilities:
        return put_string(v, arg, sizeof(xen_capabilities_info_t), "xen-3.0-x86_64 ");
    case XENVER_changeset:
        return put_string(v, arg, sizeof(xen_changeset_info_t), XL_CHANGESET);
    case XENVER_platform_parameters: {
        xen_platform_parameters_t p = { .virt_start = HYPERVISOR_VIRT_START };
        return copy_to_guest_va(v->cr3, arg, &p, sizeof(p)) ? -XL_EFAULT : 0;
    }
    case XENVER_get_features: {
        xen_feature_info_t fi;
        if (copy_from_guest_va(v->cr3, &fi, arg, sizeof(fi)))
            return -XL_EFAULT;
        if (fi.submap_idx != 0) /* XENFEAT_NR_SUBMAPS == 1 */
            return -XL_EINVAL;
        fi.submap = feature_submap0(v);
        return copy_to_guest_va(v->cr3, arg, &fi, sizeof(fi)) ? -XL_EFAULT : 0;
    }
    case XENVER_pagesize:
        return arg ? -XL_EINVAL : PAGE_SIZE; /* Xen wants a NULL handle */
    case XENVER_guest_handle:
        return copy_to_guest_va(v->cr3, arg, v->domain->handle, sizeof(xen_domain_handle_t))
                   ? -XL_EFAULT : 0;
    case XENVER_commandline:
        if (!v->domain->privileged) /* Xen copies its deny string, 9 bytes */
            return copy_to_guest_va(v->cr3, arg, XEN_DENY, sizeof(XEN_DENY)) ? -XL_EFAULT : 0;
        return put_string(v, arg, sizeof(xen_commandline_t), hv_cmdline);
    case XENVER_build_id:
        return version_build_id(v, arg, len);
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_xen_version, (unsigned int)cmd);
    }
}
