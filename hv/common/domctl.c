/*
 * domctl.c - XEN_DOMCTL_* for the toolstack in dom0, with Xen 4.17's
 * semantics and errors: createdomain (paused, no memory but shared_info,
 * grant table and event channels), max_vcpus, max_mem, getdomaininfo,
 * pause/unpause (counted), destroydomain, set/getvcpucontext (x86_64
 * PV), setdomainhandle, getvcpuinfo, set/getvcpuaffinity (hard and soft,
 * stored per vcpu as Xen's vcpu_affinity_domctl keeps them).
 * Owns: the checks on every domctl argument, and the controller pause
 * count. Must never: let an unprivileged domain do anything here (-EPERM
 * after the version check, as Xen's XSM dummy policy), let a domain
 * pause, destroy or reload itself, or install a vcpu context whose page
 * table is not a validated L4 of that domain (the type reference is
 * taken as MMUEXT_NEW_BASEPTR takes it).
 */
#include <xenolith/domctl.h> /* first: see there */
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/grant_table.h>
#include <xenolith/guest_access.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>

/* domctl_on's "again later" (never a guest-visible value): Xen's -ERESTART. */
#define DOMCTL_RESTART (-10000)

#include <xenolith/mm.h>
#include <xenolith/sched.h>

#define MAX_PAUSE_COUNT 255      /* Xen: the toolstack's pause count limit */
#define XEN_DEFAULT_GNT_FRAMES GNTTAB_MAX_FRAMES
#define XEN_DEFAULT_MAPTRACK_FRAMES 1024 /* Xen's opt_max_maptrack_frames */
#define KNOWN_CDF (XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap | XEN_DOMCTL_CDF_s3_integrity | \
                   XEN_DOMCTL_CDF_oos_off | XEN_DOMCTL_CDF_xs_domain | XEN_DOMCTL_CDF_iommu | \
                   XEN_DOMCTL_CDF_nested_virt | XEN_DOMCTL_CDF_vpmu)

/* One CPU and hypercalls do not nest: the op and a vcpu context (5 KiB)
 * live here, not on the hv stack. */
static struct xen_domctl op;
static struct vcpu_guest_context ctx;
/* XEN_DOMCTL_sethvmcontext's records: a header and a CPU record per
 * vcpu fit (Xen's whole save image is larger; the other records are not
 * loaded here). */
static uint8_t hvmctx_buf[8192];

static int canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* Xen's sanitise_domain_config + arch checks + grant_table_init's
 * limits, for what this hv offers: PV only, up to MAX_VCPUS vcpus, grant v1/v2, no
 * IOMMU, vPMU, vmtrace or cpupools. */
static int check_create_config(const struct xen_domctl_createdomain *c)
{
    uint32_t f = c->flags;
    if (f & ~KNOWN_CDF)
        return -XL_EINVAL;
    if (c->grant_opts & ~XEN_DOMCTL_GRANT_version_mask)
        return -XL_EINVAL;
    if (c->max_vcpus < 1)
        return -XL_EINVAL;
    if ((f & XEN_DOMCTL_CDF_hap) && !(f & XEN_DOMCTL_CDF_hvm))
        return -XL_EINVAL;
    if (f & (XEN_DOMCTL_CDF_iommu | XEN_DOMCTL_CDF_vpmu | XEN_DOMCTL_CDF_nested_virt))
        return -XL_EINVAL; /* no IOMMU, no vPMU here: Xen says -EINVAL too */
    if ((f & XEN_DOMCTL_CDF_hvm) && (!hvm_available() || !(f & XEN_DOMCTL_CDF_hap)))
        return -XL_EINVAL; /* HVM needs SVM+NPT or VT-x+EPT: no shadow paging here */
    if (c->iommu_opts)
        return -XL_EINVAL;
    if (c->vmtrace_size)
        return -XL_EINVAL;
    if (c->arch.misc_flags & ~XEN_X86_MSR_RELAXED)
        return -XL_EINVAL;
    if (!(f & XEN_DOMCTL_CDF_hvm) && c->arch.emulation_flags)
        return -XEN_EOPNOTSUPP; /* a PV domU emulates nothing */
    /* HVM: the local APIC, I/O APIC, 8259 PIC, 8254 PIT and RTC are the
     * platform devices emulated so far (hvm_domain_set_emulation); nothing for PVH. */
    if ((f & XEN_DOMCTL_CDF_hvm) &&
        (c->arch.emulation_flags &
         ~(XEN_X86_EMU_LAPIC | XEN_X86_EMU_PIC | XEN_X86_EMU_PIT | XEN_X86_EMU_IOAPIC |
           XEN_X86_EMU_RTC)))
        return -XEN_EOPNOTSUPP;
    if (c->max_vcpus > MAX_VCPUS)
        return -XL_EINVAL; /* Xen: above its max_vcpus for PV (here MAX_VCPUS) */
    int32_t gf = c->max_grant_frames < 0 ? XEN_DEFAULT_GNT_FRAMES : c->max_grant_frames;
    int32_t mf = c->max_maptrack_frames < 0 ? XEN_DEFAULT_MAPTRACK_FRAMES : c->max_maptrack_frames;
    /* Xen's limits (gnttab_max_frames 64, gnttab_max_maptrack_frames 1024
     * by default), so libxl's defaults are accepted; grant_table.c caps a
     * domain's maptrack at GNTTAB_MAX_MAPTRACK_FRAMES of its own. */
    if (gf < GNTTAB_INITIAL_FRAMES || gf > GNTTAB_MAX_FRAMES || mf > XEN_DEFAULT_MAPTRACK_FRAMES)
        return -XL_EINVAL;
    unsigned int ver = XEN_DOMCTL_GRANT_version(c->grant_opts);
    if (!ver || ver > GNTTAB_MAX_VERSION)
        return -XL_EINVAL; /* 0 is invalid; Xen 4.17's max version is 2 */
    if (c->cpupool_id)
        return -XL_ENOENT; /* only pool 0 exists */
    return 0;
}

static int domid_free(uint16_t id)
{
    return id < MAX_DOMAINS && domains[id].state == DOM_FREE;
}

static long create_domain(struct xen_domctl *o)
{
    struct xen_domctl_createdomain *c = &o->u.createdomain;
    uint16_t id = o->domain;
    if (id > 0 && id < DOMID_FIRST_RESERVED) {
        if (id >= MAX_DOMAINS)
            return -XL_EINVAL; /* beyond this hv's domain table */
        if (!domid_free(id))
            return -XL_EEXIST;
    } else {
        /* Xen moves a rover on; here: the lowest free id (brief). */
        for (id = 1; id < MAX_DOMAINS && !domid_free(id); id++)
            ;
        if (id == MAX_DOMAINS)
            return -XL_ENOMEM;
    }
    int rc = check_create_config(c);
    if (rc)
        return rc;
    char name[16];
    xl_snprintf(name, sizeof(name), "d%u", id);
    struct domain *d = domain_create(id, 0, name);
    if (!d)
        return -XL_ENOMEM;
    BUG_ON(gnttab_set_limits(d, (unsigned int)(c->max_grant_frames < 0 ? XEN_DEFAULT_GNT_FRAMES
                                                                        : c->max_grant_frames),
                             XEN_DOMCTL_GRANT_version(c->grant_opts)) != 0);
    d->pause_count = 1;          /* Xen: controller_pause_count starts at 1 */
    sched_raise_work();
    d->vcpus[0].initialised = 0; /* no context until setvcpucontext */
    d->vcpus[0].online = 0;      /* VPF_down */
    d->vcpus[0].ev.rs_state = RUNSTATE_offline;
    domain_set_max_vcpus(d, c->max_vcpus); /* the others: the same */
    if (c->flags & XEN_DOMCTL_CDF_hvm) {
        int hrc = hvm_domain_init(d, 1);
        if (!hrc)
            hrc = hvm_domain_set_emulation(d, c->arch.emulation_flags);
        if (hrc) {
            d->state = DOM_SHUTDOWN;
            domain_destroy(d);
            return hrc;
        }
        struct vcpu *hv;
        for_each_vcpu(d, hv)
            hv->cr3 = hvm_cr3_tag((unsigned int)(d - domains), hv->id, MAX_VCPUS);
    }
    d->cdf_flags = c->flags;
    d->max_evtchn_port = c->max_evtchn_port;
    d->max_pages = 0;            /* XEN_DOMCTL_max_mem sets it */
    d->tot_pages = 0;            /* shared_info is not counted, as in Xen */
    memcpy(d->handle, c->handle, sizeof(d->handle));
    o->domain = id;
    printk("d%u created by d%u (paused)\n", id, current ? current->domain->domid : 0);
    return 0;
}

static uint64_t vcpu_cpu_time(const struct vcpu *v);

void domctl_getdomaininfo(const struct domain *d, struct xen_domctl_getdomaininfo *info)
{
    uint32_t flags = XEN_DOMINF_blocked;
    memset(info, 0, sizeof(*info));
    info->domain = d->domid;
    /* Xen: the sum over vcpus; blocked only if every vcpu that is up is. */
    for (unsigned int i = 0; i < d->max_vcpus; i++) {
        const struct vcpu *v = &d->vcpus[i];
        info->cpu_time += vcpu_cpu_time(v);
        info->max_vcpu_id = i;
        if (v->online && d->state == DOM_RUNNING) {
            if (!v->blocked)
                flags &= ~XEN_DOMINF_blocked;
            if (v->running || current == v) /* Xen: v->is_running, on any CPU */
                flags |= XEN_DOMINF_running;
            info->nr_online_vcpus++;
        }
    }
    info->flags = (info->nr_online_vcpus ? flags : 0) |
                  (d->state == DOM_SHUTDOWN ? XEN_DOMINF_shutdown : 0) |
                  (d->pause_count ? XEN_DOMINF_paused : 0) |
                  ((d->cdf_flags & XEN_DOMCTL_CDF_xs_domain) ? XEN_DOMINF_xs_domain : 0) |
                  (d->state == DOM_SHUTDOWN ? (d->shutdown_reason & XEN_DOMINF_shutdownmask)
                                                  << XEN_DOMINF_shutdownshift : 0);
    info->tot_pages = d->tot_pages;
    info->max_pages = d->max_pages;
    info->shr_pages = 0;
    info->paged_pages = 0;
    info->outstanding_pages = 0;
    info->shared_info_frame = d->shared_info_mfn; /* PV: mfn_to_gfn is the mfn */
    info->ssidref = 0;
    info->cpupool = 0;
    info->gpaddr_bits = 52;
    memcpy(info->handle, d->handle, sizeof(info->handle));
}

/* ---- vcpu context (x86_64 PV) ---- */

/* An FXSAVE image from the toolstack with MXCSR bits this CPU reserves
 * would make FXRSTOR fault in the hv when the vcpu is first scheduled.
 * Xen restores such an image through a fixup that zeroes it and retries;
 * the same result, decided here once: the image becomes all zeroes. */
static void fpu_image_sanitize(uint8_t fpu[512])
{
    uint32_t mxcsr;
    memcpy(&mxcsr, fpu + 24, sizeof(mxcsr)); /* FXSAVE layout: MXCSR at 24 */
    if (mxcsr & ~arch_mxcsr_mask())
        memset(fpu, 0, 512);
}

static uint64_t vcpu_cpu_time(const struct vcpu *v)
{
    uint64_t run = v->ev.rs_time[RUNSTATE_running];
    if (v->ev.rs_state == RUNSTATE_running && xl_now() > v->ev.rs_entry)
        run += xl_now() - v->ev.rs_entry;
    return run;
}

/* Xen's arch_set_info_guest for a 64-bit PV vcpu: XEN_DOMCTL_setvcpucontext
 * and VCPUOP_initialise. */
static int set_vcpu_context(struct vcpu *v, struct vcpu_guest_context *c)
{
    unsigned long flags = c->flags;
    /* Xen's arch_set_info_guest checks for a 64-bit PV guest. */
    if (!canonical(c->user_regs.rip) || !canonical(c->user_regs.rsp) ||
        !canonical(c->kernel_sp) || (c->ldt_ents && !canonical(c->ldt_base)) ||
        !canonical(c->fs_base) || !canonical(c->gs_base_kernel) ||
        !canonical(c->gs_base_user) || !canonical(c->event_callback_eip) ||
        !canonical(c->syscall_callback_eip) || !canonical(c->failsafe_callback_eip))
        return -XL_EINVAL;
    for (unsigned int i = 0; i < 256; i++)
        if (!canonical(c->trap_ctxt[i].address))
            return -XL_EINVAL;
    if ((c->ldt_base & (PAGE_SIZE - 1)) || c->ldt_ents > 8192 ||
        (c->ldt_ents && (!guest_va_ok(c->ldt_base) ||
                         !guest_va_ok(c->ldt_base + c->ldt_ents * 8 - 1))))
        return -XL_EINVAL;
    unsigned int nr_gdt = (c->gdt_ents + 511) / 512;
    if (nr_gdt > PV_GDT_MAX_FRAMES)
        return -XL_EINVAL;
    uint64_t l4 = c->ctrlreg[3] >> PAGE_SHIFT;   /* xen_cr3_to_pfn, x86_64 */
    uint64_t ul4 = c->ctrlreg[1] >> PAGE_SHIFT;
    if (!v->initialised) {
        if (!(flags & VGCF_in_kernel) && !ul4)
            return -XL_EINVAL;
    } else {
        int fail = l4 != v->guest_table || ul4 != v->guest_table_user || c->ldt_ents ||
                   v->pv.gdt_ents != c->gdt_ents;
        for (unsigned int i = 0; !fail && i < nr_gdt; i++)
            fail = v->pv.gdt_frames[i] != c->gdt_frames[i];
        if (fail)
            return -XEN_EOPNOTSUPP; /* Xen: these cannot change on a running vcpu */
    }
    if (!v->initialised) {
        /* The L4 type references, as MMUEXT_NEW_BASEPTR takes them. */
        if (!l4)
            return -XL_EINVAL;
        int rc = mm_new_baseptr(v, l4, 0);
        if (rc)
            return rc;
        /* The user table stopped part-way (MM_ERESTART): the kernel one
         * stays held; the continuation takes it again and drops this. */
        if (ul4 && (rc = mm_new_baseptr(v, ul4, 1)) == MM_ERESTART)
            return rc;
        if (rc) {
            put_page_and_type(v->guest_table); /* the kernel table's, just taken */
            v->guest_table = 0;
            pv_update_cr3(v);
            return rc;
        }
        /* Xen's pv_set_gdt: the frames get the seg_desc type (Linux
         * passes its per-CPU GDT page to VCPUOP_initialise). */
        if ((rc = pv_set_gdt(v, c->gdt_frames, c->gdt_ents))) {
            if (v->guest_table_user)
                put_page_and_type(v->guest_table_user);
            put_page_and_type(v->guest_table);
            v->guest_table = v->guest_table_user = 0;
            pv_update_cr3(v);
            return rc;
        }
    }
    struct cpu_regs *r = &v->regs;
    const struct cpu_user_regs *u = &c->user_regs;
    r->r15 = u->r15, r->r14 = u->r14, r->r13 = u->r13, r->r12 = u->r12;
    r->r11 = u->r11, r->r10 = u->r10, r->r9 = u->r9, r->r8 = u->r8;
    r->rbp = u->rbp, r->rdi = u->rdi, r->rsi = u->rsi, r->rdx = u->rdx;
    r->rcx = u->rcx, r->rbx = u->rbx, r->rax = u->rax;
    r->rip = u->rip, r->rsp = u->rsp;
    /* Xen's fixup_guest_{code,stack}_selector: a 64-bit PV kernel runs
     * in ring 3. IOPL goes to the virtual IOPL; IF is always on. */
    r->cs = (u->cs & 3) ? u->cs : (u->cs | 3u);
    r->ss = (u->ss & 3) ? u->ss : (u->ss | 3u);
    v->pv.iopl = (unsigned int)(u->rflags >> 12) & 3;
    r->rflags = (u->rflags & ~0x3000ULL) | 0x202;
    v->pv.sel[0] = u->ds, v->pv.sel[1] = u->es, v->pv.sel[2] = u->fs, v->pv.sel[3] = u->gs;
    for (unsigned int i = 0; i < 256; i++) {
        uint16_t cs = c->trap_ctxt[i].cs;
        v->pv.traps[i] = (struct pv_trap){ .address = c->trap_ctxt[i].address,
                                           .cs = (cs & 3) ? cs : (uint16_t)(cs | 3),
                                           .flags = c->trap_ctxt[i].flags };
    }
    v->pv.kernel_ss = (c->kernel_ss & 3) ? c->kernel_ss : (c->kernel_ss | 3);
    v->pv.kernel_sp = c->kernel_sp;
    v->pv.event_callback = c->event_callback_eip;
    v->pv.failsafe_callback = c->failsafe_callback_eip;
    v->pv.syscall_callback = c->syscall_callback_eip;
    v->pv.failsafe_masks_events = !!(flags & VGCF_failsafe_disables_events);
    v->pv.syscall_masks_events = !!(flags & VGCF_syscall_disables_events);
    v->pv.fs_base = c->fs_base;
    v->pv.gs_base_kernel = c->gs_base_kernel;
    v->pv.gs_base_user = c->gs_base_user;
    if (flags & VGCF_i387_valid) {
        memcpy(v->pv.fpu, &c->fpu_ctxt, sizeof(v->pv.fpu));
        fpu_image_sanitize(v->pv.fpu);
        v->pv.fpu_initialised = 1;
    } else if (!v->initialised) {
        v->pv.fpu_initialised = 0; /* Xen's vcpu_setup_fpu: the reset state */
    }
    v->pv.kernel_mode = !!(flags & VGCF_in_kernel);
    pv_update_cr3(v);
    v->initialised = 1;
    vcpu_set_online(v, !!(flags & VGCF_online)); /* Xen: VPF_down unless online */
    sched_raise_work();
    return 0;
}

/* VCPUOP_initialise (Xen's default_initialise_vcpu): the caller's context
 * for vcpu v of its own domain, -EEXIST once v has one. */
long vcpu_initialise(struct vcpu *caller, struct vcpu *v, uint64_t arg)
{
    /* An HVM/PVH vcpu's state is a vcpu_hvm_context (not offered yet),
     * never the PV context below: that would type guest frames as PV
     * page tables the guest still maps writable in its p2m. */
    if (v->domain->hvm)
        return -XEN_EOPNOTSUPP;
    if (copy_from_guest_va(caller->cr3, &ctx, arg, sizeof(ctx)))
        return -XL_EFAULT;
    if (v->initialised)
        return -XL_EEXIST;
    mm_preempt_begin(); /* a new L4 is validated in steps */
    int rc = set_vcpu_context(v, &ctx);
    mm_preempt_end();
    if (rc == MM_ERESTART)
        return hypercall_continuation(caller, __HYPERVISOR_vcpu_op, VCPUOP_initialise, v->id, arg,
                                      0, 0);
    return rc;
}

static void get_vcpu_context(const struct vcpu *v, struct vcpu_guest_context *c)
{
    const struct domain *d = v->domain;
    const struct cpu_regs *r = &v->regs;
    struct cpu_user_regs *u = &c->user_regs;
    memset(c, 0, sizeof(*c));
    c->flags = (v->pv.kernel_mode ? VGCF_in_kernel : 0) | (v->online ? VGCF_online : 0) |
               (v->pv.fpu_initialised ? VGCF_i387_valid : 0) |
               (v->pv.failsafe_masks_events ? VGCF_failsafe_disables_events : 0) |
               (v->pv.syscall_masks_events ? VGCF_syscall_disables_events : 0);
    if (v->pv.fpu_initialised)
        memcpy(&c->fpu_ctxt, v->pv.fpu, sizeof(v->pv.fpu));
    u->r15 = r->r15, u->r14 = r->r14, u->r13 = r->r13, u->r12 = r->r12;
    u->r11 = r->r11, u->r10 = r->r10, u->r9 = r->r9, u->r8 = r->r8;
    u->rbp = r->rbp, u->rdi = r->rdi, u->rsi = r->rsi, u->rdx = r->rdx;
    u->rcx = r->rcx, u->rbx = r->rbx, u->rax = r->rax;
    u->rip = r->rip, u->rsp = r->rsp;
    u->cs = (uint16_t)r->cs, u->ss = (uint16_t)r->ss;
    u->rflags = (r->rflags & ~0x3000ULL) | ((uint64_t)v->pv.iopl << 12);
    u->ds = v->pv.sel[0], u->es = v->pv.sel[1], u->fs = v->pv.sel[2], u->gs = v->pv.sel[3];
    u->saved_upcall_mask = v->info ? v->info->evtchn_upcall_mask : 0;
    for (unsigned int i = 0; i < 256; i++) {
        c->trap_ctxt[i].vector = (uint8_t)i;
        c->trap_ctxt[i].flags = v->pv.traps[i].flags;
        c->trap_ctxt[i].cs = v->pv.traps[i].cs;
        c->trap_ctxt[i].address = v->pv.traps[i].address;
    }
    const struct mm_ldt *ldt = mm_vcpu_ldt(d->domid, v->id);
    c->ldt_base = ldt->linear_addr;
    c->ldt_ents = ldt->nr_ents;
    c->gdt_ents = v->pv.gdt_ents;
    for (unsigned int i = 0; i < PV_GDT_MAX_FRAMES && i < 16; i++)
        c->gdt_frames[i] = v->pv.gdt_frames[i];
    c->kernel_ss = v->pv.kernel_ss;
    c->kernel_sp = v->pv.kernel_sp;
    c->ctrlreg[0] = 0x80050033ULL | (v->pv.cr0_ts ? 8 : 0); /* PG|AM|WP|NE|ET|MP|PE (+TS) */
    c->ctrlreg[2] = v->pv.cr2;
    c->ctrlreg[3] = v->guest_table << PAGE_SHIFT;       /* xen_pfn_to_cr3 */
    c->ctrlreg[1] = v->guest_table_user << PAGE_SHIFT;
    c->event_callback_eip = v->pv.event_callback;
    c->failsafe_callback_eip = v->pv.failsafe_callback;
    c->syscall_callback_eip = v->pv.syscall_callback;
    c->vm_assist = v->pv.vm_assist;
    c->fs_base = v->pv.fs_base;
    c->gs_base_kernel = v->pv.gs_base_kernel;
    c->gs_base_user = v->pv.gs_base_user;
}

/* ---- vcpu affinity ---- */

/* Xen's nr_cpu_ids: the CPU ids an affinity map covers (the CPUs the hv
 * brought up; at most the 64 bits of a mask). */
static unsigned int affinity_bits(void)
{
    unsigned int n = arch_nr_cpus();
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

static uint64_t affinity_all(void)
{
    unsigned int n = affinity_bits();
    return n == 64 ? ~0ULL : (1ULL << n) - 1;
}

/* Xen's xenctl_bitmap_to_bitmap for nr_cpu_ids bits: the guest's first
 * min(its bytes, ours) bytes, bits at and above its nr_bits cleared,
 * bits at and above nr_cpu_ids dropped. */
static int affinity_from_guest(uint64_t cr3, const struct xenctl_bitmap *b, uint64_t *mask)
{
    uint8_t bytes[8] = { 0 };
    unsigned int ours = (affinity_bits() + 7) / 8;
    uint64_t theirs = ((uint64_t)b->nr_bits + 7) / 8;
    unsigned int n = theirs < ours ? (unsigned int)theirs : ours;
    if (n && copy_from_guest_va(cr3, bytes, (uint64_t)b->bitmap.p, n))
        return -XL_EFAULT;
    if ((b->nr_bits & 7) && theirs == n)
        bytes[n - 1] &= (uint8_t)((1u << (b->nr_bits & 7)) - 1);
    uint64_t m = 0;
    for (unsigned int i = 0; i < n; i++)
        m |= (uint64_t)bytes[i] << (8 * i);
    *mask = m & affinity_all();
    return 0;
}

/* Xen's bitmap_to_xenctl_bitmap: our bytes, then zeroes up to the
 * guest's nr_bits. */
static int affinity_to_guest(uint64_t cr3, const struct xenctl_bitmap *b, uint64_t mask)
{
    static const uint8_t zero[64];
    uint8_t bytes[8];
    unsigned int ours = (affinity_bits() + 7) / 8;
    uint64_t theirs = ((uint64_t)b->nr_bits + 7) / 8;
    unsigned int n = theirs < ours ? (unsigned int)theirs : ours;
    uint64_t va = (uint64_t)b->bitmap.p;
    mask &= affinity_all();
    for (unsigned int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(mask >> (8 * i));
    if (n && copy_to_guest_va(cr3, va, bytes, n))
        return -XL_EFAULT;
    for (uint64_t off = n; off < theirs;) {
        uint64_t chunk = theirs - off < sizeof(zero) ? theirs - off : sizeof(zero);
        if (copy_to_guest_va(cr3, va + off, zero, (size_t)chunk))
            return -XL_EFAULT;
        off += chunk;
    }
    return 0;
}

/* XEN_DOMCTL_setvcpuaffinity / getvcpuaffinity as Xen 4.17's
 * vcpu_affinity_domctl: a vcpu past max_vcpus or no flags (or a flag
 * whose bitmap handle is NULL) -EINVAL; a hard map without an online CPU
 * -EINVAL (nothing changes). Set writes back what is in effect: hard &
 * online, soft & hard & online. FORCE (undo SCHEDOP_pin_override) is
 * accepted; there is no pin override here. */
static long vcpu_affinity(struct vcpu *caller, struct domain *d, struct xen_domctl *o)
{
    struct xen_domctl_vcpuaffinity *a = &o->u.vcpuaffinity;
    struct vcpu *v = domain_vcpu(d, a->vcpu);
    uint64_t cr3 = caller->cr3, hard = 0, soft = 0;
    int rc;
    if (!v)
        return -XL_EINVAL;
    if (!a->flags ||
        ((a->flags & XEN_VCPUAFFINITY_HARD) && !a->cpumap_hard.bitmap.p) ||
        ((a->flags & XEN_VCPUAFFINITY_SOFT) && !a->cpumap_soft.bitmap.p))
        return -XL_EINVAL;
    if (o->cmd == XEN_DOMCTL_getvcpuaffinity) {
        if ((a->flags & XEN_VCPUAFFINITY_HARD) &&
            (rc = affinity_to_guest(cr3, &a->cpumap_hard, v->affinity)))
            return rc;
        if ((a->flags & XEN_VCPUAFFINITY_SOFT) &&
            (rc = affinity_to_guest(cr3, &a->cpumap_soft, v->soft_affinity)))
            return rc;
        return 0;
    }
    uint64_t old_hard = v->affinity;
    if (a->flags & XEN_VCPUAFFINITY_HARD) {
        if ((rc = affinity_from_guest(cr3, &a->cpumap_hard, &hard)))
            return rc;
        if (!(hard & affinity_all()))
            return -XL_EINVAL; /* Xen: no online CPU in it */
        v->affinity = hard;
        if ((rc = affinity_to_guest(cr3, &a->cpumap_hard, hard & affinity_all())))
            return rc;
        /* Xen's vcpu_set_affinity moves a vcpu that is not running into
         * its new map at once (vcpu_migrate_finish), so getvcpuinfo's
         * cpu is a CPU it may run on; a running one is moved by its CPU's
         * next pass (kicked below) and its cpu follows when it runs. */
        uint64_t eff = hard & affinity_all();
        if (!v->running && (v->processor >= 64 || !(eff >> v->processor & 1)))
            v->processor = (unsigned int)__builtin_ctzll(eff);
    }
    if (a->flags & XEN_VCPUAFFINITY_SOFT) {
        if ((rc = affinity_from_guest(cr3, &a->cpumap_soft, &soft))) {
            v->affinity = old_hard; /* Xen rolls the hard one back */
            return rc;
        }
        v->soft_affinity = soft;
        rc = affinity_to_guest(cr3, &a->cpumap_soft, soft & v->affinity & affinity_all());
        if (rc)
            return rc;
    }
    sched_raise_work();
    vcpu_kick(v); /* a running vcpu leaves a CPU outside its new affinity */
    return 0;
}

/* ---- the hypercall ---- */

static long domctl_on(struct vcpu *caller, struct domain *d, struct xen_domctl *o, int *copyback)
{
    struct domain *self = caller->domain;
    switch (o->cmd) {
    case XEN_DOMCTL_pausedomain: {
        uint32_t waiting = caller->pause_wait == d->domid + 1u;
        caller->pause_wait = 0;
        if (d == self)
            return -XL_EINVAL;
        if (!waiting) {
            if (d->pause_count >= MAX_PAUSE_COUNT)
                return -XL_EOVERFLOW;
            d->pause_count++;
            sched_raise_work();
        }
        /* Xen's domain_pause is synchronous (vcpu_sleep_sync): it returns
         * once no vcpu of d runs. Those on other CPUs are kicked; the
         * caller comes back as a continuation (its pause already
         * counted) until they have stopped. */
        if (domain_running_elsewhere(d)) {
            caller->pause_wait = d->domid + 1u;
            return DOMCTL_RESTART;
        }
        return 0;
    }
    case XEN_DOMCTL_unpausedomain:
        if (!d->pause_count)
            return -XL_EINVAL;
        if (--d->pause_count == 0)
            d->creation_finished = 1;
        sched_raise_work();
        return 0;
    case XEN_DOMCTL_destroydomain:
        if (d == self)
            return -XL_EINVAL; /* Xen: protects dom0 (and anyone) from itself */
        if (d->state == DOM_RUNNING) {
            d->state = DOM_SHUTDOWN; /* dying: never runs again */
            d->shutdown_reason = SHUTDOWN_poweroff;
            sched_raise_work();
        }
        /* Another CPU still runs one of its vcpus (now kicked): the
         * caller issues the domctl again, as Xen's -ERESTART
         * continuation of domain_kill, once the big lock was let go. */
        if (domain_running_elsewhere(d))
            return DOMCTL_RESTART;
        /* Xen's relinquish_resources: one bounded step per call. */
        mm_preempt_begin();
        int more = domain_destroy_step(d);
        mm_preempt_end();
        return more == MM_ERESTART ? DOMCTL_RESTART : more;
    case XEN_DOMCTL_max_vcpus:
        if (d == self || o->u.max_vcpus.max != d->max_vcpus)
            return -XL_EINVAL; /* Xen 4.17: must match createdomain's max_vcpus */
        return 0;
    case XEN_DOMCTL_max_mem: {
        uint64_t pages = o->u.max_mem.max_memkb >> (PAGE_SHIFT - 10);
        d->max_pages = pages > 0xffffffffULL ? 0xffffffffULL : pages; /* Xen: unsigned int */
        return 0;
    }
    case XEN_DOMCTL_setdomainhandle:
        memcpy(d->handle, o->u.setdomainhandle.handle, sizeof(d->handle));
        return 0;
    case XEN_DOMCTL_getvcpuinfo: {
        const struct vcpu *v = domain_vcpu(d, o->u.getvcpuinfo.vcpu);
        if (!v)
            return -XL_EINVAL;
        o->u.getvcpuinfo.online = (uint8_t)v->online;
        o->u.getvcpuinfo.blocked = (uint8_t)!!v->blocked;
        o->u.getvcpuinfo.running = (uint8_t)!!v->running;
        o->u.getvcpuinfo.cpu_time = vcpu_cpu_time(v);
        o->u.getvcpuinfo.cpu = v->processor; /* Xen: v->processor, where it runs or ran last */
        *copyback = 1;
        return 0;
    }
    case XEN_DOMCTL_setvcpucontext: {
        uint64_t h = (uint64_t)o->u.vcpucontext.ctxt.p;
        struct vcpu *v = domain_vcpu(d, o->u.vcpucontext.vcpu);
        if (d == self || !v)
            return -XL_EINVAL;
        if (d->state != DOM_RUNNING)
            return -XL_EINVAL;
        if (!h)
            return -XEN_EOPNOTSUPP; /* vcpu_reset: not offered */
        if (!d->pause_count && v->initialised)
            return -XL_EBUSY; /* the domain must be paused (or not yet started) */
        if (d->hvm)
            return -XEN_EOPNOTSUPP; /* HVM/PVH state comes by sethvmcontext */
        if (copy_from_guest_va(caller->cr3, &ctx, h, sizeof(ctx)))
            return -XL_EFAULT;
        mm_preempt_begin(); /* a new L4 is validated in steps */
        int rc = set_vcpu_context(v, &ctx);
        mm_preempt_end();
        return rc == MM_ERESTART ? DOMCTL_RESTART : rc;
    }
    case XEN_DOMCTL_sethvmcontext: {
        uint32_t size = o->u.hvmcontext.size;
        if (d == self || !d->hvm || d->state != DOM_RUNNING)
            return -XL_EINVAL;
        if (!d->pause_count)
            return -XL_EBUSY;
        if (size > sizeof(hvmctx_buf))
            return -XL_EINVAL;
        if (copy_from_guest_va(caller->cr3, hvmctx_buf, (uint64_t)o->u.hvmcontext.buffer.p, size))
            return -XL_EFAULT;
        return hvm_load_context(d, hvmctx_buf, size);
    }
    case XEN_DOMCTL_setvcpuaffinity:
    case XEN_DOMCTL_getvcpuaffinity:
        return vcpu_affinity(caller, d, o);
    case XEN_DOMCTL_scheduler_op: {
        /* Xen 4.17's sched_adjust + csched_dom_cntl: the credit
         * scheduler's put/getinfo; per-vcpu sub-ops are -EINVAL there. */
        struct xen_domctl_scheduler_op *so = &o->u.scheduler_op;
        if (so->sched_id != XEN_SCHEDULER_CREDIT)
            return -XL_EINVAL;
        if (so->cmd == XEN_DOMCTL_SCHEDOP_getinfo) {
            *copyback = 1;
            return sched_credit_dom_get(d, &so->u.credit.weight, &so->u.credit.cap);
        }
        if (so->cmd == XEN_DOMCTL_SCHEDOP_putinfo)
            return sched_credit_dom_put(d, so->u.credit.weight, so->u.credit.cap);
        return -XL_EINVAL;
    }
    case XEN_DOMCTL_getvcpucontext: {
        uint64_t h = (uint64_t)o->u.vcpucontext.ctxt.p;
        const struct vcpu *v = domain_vcpu(d, o->u.vcpucontext.vcpu);
        if (d == self || !v)
            return -XL_EINVAL;
        if (!v->initialised)
            return -XL_ENODATA;
        /* Xen pauses the vcpu for the copy. Here a vcpu of a domain that
         * is not paused may be running on another CPU: the copy is then
         * its state at its last entry into the hv (a toolstack that needs
         * it exact pauses the domain first, which waits for its vcpus). */
        get_vcpu_context(v, &ctx);
        if (h && copy_to_guest_va(caller->cr3, h, &ctx, sizeof(ctx)))
            return -XL_EFAULT;
        return 0;
    }
    default:
        return hc_unimplemented(self, __HYPERVISOR_domctl, o->cmd);
    }
}

/* Xen 4.17's XEN_DOMCTL_getdomaininfo answers for the first domain whose
 * id is >= the one asked for (libxc's xc_domain_getinfo walks the list
 * that way); -ESRCH if there is none, -EINVAL for a reserved id. */
static long get_domain_info(struct xen_domctl *o)
{
    if (o->domain >= DOMID_FIRST_RESERVED)
        return -XL_EINVAL;
    for (unsigned int id = o->domain; id < MAX_DOMAINS; id++) {
        if (domains[id].state == DOM_FREE)
            continue;
        domctl_getdomaininfo(&domains[id], &o->u.getdomaininfo);
        o->domain = (domid_t)id;
        return 0;
    }
    return -XL_ESRCH;
}

HYPERCALL_DECL(domctl)
{
    (void)a2; (void)a3; (void)a4; (void)a5;
    if (copy_from_guest_va(v->cr3, &op, a1, sizeof(op)))
        return -XL_EFAULT;
    HCSTAT_SUB(&v->domain->hcstat, domctl, op.cmd);
    if (op.interface_version != XEN_DOMCTL_INTERFACE_VERSION)
        return -XL_EACCES;
    struct domain *d = NULL;
    if (op.cmd != XEN_DOMCTL_createdomain) {
        d = domain_by_id(op.domain);
        if (!d && op.cmd != XEN_DOMCTL_getdomaininfo)
            return -XL_ESRCH;
    }
    if (!v->domain->privileged)
        return -XL_EPERM; /* XSM dummy: control domain only */
    int copyback = 0;
    long rc;
    if (op.cmd == XEN_DOMCTL_createdomain) {
        rc = create_domain(&op);
        copyback = 1;
    } else if (op.cmd == XEN_DOMCTL_getdomaininfo) {
        rc = get_domain_info(&op);
        copyback = 1;
    } else {
        if (op.cmd != XEN_DOMCTL_pausedomain)
            v->pause_wait = 0;
        rc = domctl_on(v, d, &op, &copyback);
        if (rc == DOMCTL_RESTART)
            return hypercall_continuation(v, __HYPERVISOR_domctl, a1, a2, a3, a4, a5);
    }
    if (!rc && copyback && copy_to_guest_va(v->cr3, a1, &op, sizeof(op)))
        rc = -XL_EFAULT;
    return rc;
}
