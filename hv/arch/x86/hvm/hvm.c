/*
 * hvm.c - the vendor-neutral half of HVM/PVH guests: domains and vcpus
 * (the p2m in the frame table, the VMCB/VMCS through the back end), the
 * guest's own paging for hypercall arguments, the exits every back end
 * reports in struct hvm_exit (CPUID with Xen's leaves, MSRs, port I/O,
 * HLT, hypercalls, nested page faults, triple faults), event delivery by
 * the callback vector, HVMOP_set_param/get_param, XEN_DOMCTL_sethvmcontext
 * and the vcpu loop that ties it to the scheduler.
 * Owns: hvm_funcs, the p2m's table frames (hv-owned), the decisions about
 * what a guest's exit does.
 * Must never: contain inline assembly (the back ends own the hardware),
 * map a frame into a p2m that its domain does not own, or let a guest's
 * bad state reach anything but that guest (domain_crash, never panic).
 */
#include <xenolith/domctl.h> /* first: the tools-only ABI (emulation flags, dm_op) */
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/event.h>
#include <xenolith/grant_table.h>
#include <xenolith/guest_access.h>
#include <xenolith/hvm.h>
#include <xenolith/hvm_guest_cpus.h>
#include <xenolith/hvm_decode.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/percpu.h>
#include <xenolith/sched.h>
#include <xenolith/version_info.h>
#include <xen/hvm/save.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>

const struct hvm_ops *hvm_funcs;

/* Back ends (svm.c, vmx.c): NULL when the CPU lacks them. */
const struct hvm_ops *svm_probe(void);
const struct hvm_ops *vmx_probe(void) __attribute__((weak));

void hvm_init(void)
{
    const struct hvm_ops *ops = svm_probe();
    if (!ops && vmx_probe)
        ops = vmx_probe();
    if (!ops) {
        printk("hvm: no SVM+NPT or VT-x+EPT on this CPU: PV guests only\n");
        return;
    }
    hvm_funcs = ops;
    hvm_cpu_up();
}

void hvm_cpu_up(void)
{
    if (!hvm_funcs)
        return;
    int rc = hvm_funcs->cpu_up();
    if (rc)
        panic("hvm: %s refused on cpu%u (%d) after the boot CPU had it", hvm_funcs->name,
              this_cpu()->cpu_id, rc);
}

/* ---- the p2m's table frames: hv-owned, from the frame table ----
 * Charged to their domain against a limit of twice what its memory needs
 * (one table per 2 MiB of RAM, plus the upper levels: Xen's HAP pool
 * plays this part), so a guest scattering its populate/decrease pairs
 * over the address space cannot take the machine's memory for tables. */
static uint64_t p2m_table_limit(const struct domain *d)
{
    return 64 + d->max_pages / 256;
}
static uint64_t p2m_alloc(void *ctx)
{
    struct domain *d = ctx;
    if (d->hvmd.p2m_tables >= p2m_table_limit(d))
        return 0;
    int64_t m = mm_alloc_frame(DOMID_HV_OWNED);
    if (m < 0)
        return 0;
    d->hvmd.p2m_tables++;
    return (uint64_t)m;
}
static void p2m_free(void *ctx, uint64_t mfn)
{
    struct domain *d = ctx;
    d->hvmd.p2m_tables--;
    mm_free_frame(mfn);
}
static uint64_t *p2m_map(void *ctx, uint64_t mfn)
{
    (void)ctx;
    return mfn_to_virt(mfn);
}

int hvm_domain_init(struct domain *d, int pvh)
{
    if (!hvm_funcs)
        return -XL_EINVAL;
    struct p2m_env env = { .alloc_table = p2m_alloc, .free_table = p2m_free, .map = p2m_map,
                           .ctx = d };
    memset(&d->hvmd, 0, sizeof(d->hvmd));
    int rc = p2m_init(&d->hvmd.p2m, hvm_funcs->p2m_format, &env);
    if (rc)
        return rc;
    d->hvm = 1;
    d->hvmd.pvh = (uint8_t)!!pvh;
    return 0;
}

void hvm_domain_destroy(struct domain *d)
{
    if (!d->hvm)
        return;
    hvm_ioreq_destroy_all(d); /* before its frames go: the ioreq pages are d's */
    struct vcpu *v;
    for_each_vcpu(d, v)
        hvm_vcpu_destroy(v);
    /* only the tables go: the frames they map are the domain's, given
     * back by mm_relinquish_step */
    p2m_destroy(&d->hvmd.p2m);
    d->hvmd.p2m_gen++;
}

/* The local APIC's callbacks: a vector entered its IRR (kick the vcpu:
 * it injects on its way in); no I/O APIC or other vcpu to tell yet. */
static void lapic_raise(void *ctx, unsigned int vector, int level)
{
    (void)vector, (void)level;
    struct vcpu *v = ctx;
    if (v->blocked)
        vcpu_wake(v);
    else
        vcpu_kick(v);
}

/* A level-triggered vector's EOI: the I/O APIC re-delivers a pin still
 * asserted. */
static void lapic_eoi_level(void *ctx, uint8_t vector)
{
    struct vcpu *v = ctx;
    if (v->domain->hvmd.emu_ioapic)
        vioapic_eoi(&v->domain->hvmd.ioapic, vector);
}

/* ---- IPIs between a domain's vcpus (the local APICs' ICR) ---- */

/* An AP's state after INIT and STARTUP with vector: real mode at
 * vector << 12 (CS = vector << 8, IP 0), as the SDM's INIT state. */
static void sipi_state(struct vcpu *u, uint8_t vector)
{
    struct hvm_hw_cpu c;
    memset(&c, 0, sizeof(c));
    c.cr0 = 0x60000010; /* CD, NW, ET */
    c.rflags = 2;
    c.rdx = 0x600;      /* the reset signature's family */
    c.cs_sel = (uint32_t)vector << 8;
    c.cs_base = (uint64_t)vector << 12;
    c.cs_limit = c.ds_limit = c.es_limit = c.ss_limit = c.fs_limit = c.gs_limit = 0xffff;
    c.cs_arbytes = 0x9b;
    c.ds_arbytes = c.es_arbytes = c.ss_arbytes = c.fs_arbytes = c.gs_arbytes = 0x93;
    c.tr_limit = c.ldtr_limit = 0xffff;
    c.tr_arbytes = 0x8b;
    c.ldtr_arbytes = 0x82;
    c.gdtr_limit = c.idtr_limit = 0xffff;
    c.dr6 = 0xffff0ff0;
    c.dr7 = 0x400;
    hvm_funcs->load_cpu(u, &c);
    u->hvm.msr_pat = 0x0007040600070406ULL;
    if (hvm_funcs->msr_write)
        hvm_funcs->msr_write(u, 0x277 /* PAT */, u->hvm.msr_pat); /* the VMCB's/VMCS's too */
    u->hvm.pending_exc = 0;
    u->hvm.st.int_shadow = 0;
    u->hvm.last_cpu = -1; /* a new life: nothing of the old one stays in the TLB */
    /* whatever it waited in before INIT is over */
    u->blocked = 0;
    u->ev.polling = 0;
    u->ev.poll_deadline = 0;
}

static int lapic_ipi_hit(const struct vcpu *u, uint32_t lo, uint32_t hi, const struct vcpu *from)
{
    unsigned int shorthand = (lo >> 18) & 3;
    uint8_t dest = (uint8_t)(hi >> 24);
    switch (shorthand) {
    case 1: return u == from;
    case 2: return 1;
    case 3: return u != from;
    default:
        /* a vcpu that never ran has the APIC it starts with: ID = vcpu id */
        if (!u->hvm.vmcb)
            return dest == 0xff || (!((lo >> 11) & 1) && dest == u->id);
        return vlapic_match_dest(&u->hvm.lapic, dest, (lo >> 11) & 1);
    }
}

/* What a vcpu's APIC cannot deliver alone (vlapic.c's cb.ipi): fixed and
 * lowest-priority vectors to the other vcpus' APICs (lowest priority as
 * fixed to every target, as Xen for IPIs); INIT stops a vcpu and makes it
 * wait for STARTUP; STARTUP starts a waiting one in real mode at the
 * vector's page (how an OS brings up its APs). NMI, SMI and the rest
 * are dropped. */
static void lapic_ipi(void *ctx, uint32_t lo, uint32_t hi)
{
    struct vcpu *from = ctx, *u;
    struct domain *d = from->domain;
    unsigned int mode = (lo >> 8) & 7;
    for_each_vcpu(d, u) {
        if (!lapic_ipi_hit(u, lo, hi, from))
            continue;
        if (mode == 0 || mode == 1) {
            if (u != from && u->hvm.vmcb)
                vlapic_set_irq(&u->hvm.lapic, (uint8_t)lo, 0);
        } else if (mode == 5) {
            /* INIT: level de-assert (trigger level, bit 14 clear) does nothing */
            if (((lo >> 15) & 1) && !((lo >> 14) & 1))
                continue;
            if (u == from || u->id == 0)
                continue; /* the BSP is not reset by its own or anyone's INIT here */
            if (hvm_vcpu_init(u))
                continue;
            u->hvm.init_gen++; /* an exit of its old life still on its way is dropped */
            u->hvm.wait_sipi = 1;
            u->hvm.sipi_pending = 0;
            if (u->hvm.io.wait)
                u->hvm.io.discard = 1; /* a device model's late answer is not applied */
            if (u->online) {
                vcpu_set_online(u, 0);
                vcpu_kick(u);
            }
            /* stopped before the sender goes on, as Xen pauses the target:
             * out of the guest on its CPU, it finds itself offline */
            if (u->running)
                hvm_cpu_kick_wait(d, u->processor, arch_cpu_id());
            struct vlapic_cb cb = u->hvm.lapic.cb;
            vlapic_init(&u->hvm.lapic, (uint8_t)u->id, &cb);
        } else if (mode == 6) {
            if (!u->hvm.wait_sipi || !u->hvm.vmcb)
                continue; /* a STARTUP with no INIT before it is ignored, as the CPU does */
            /* the vcpu loads the state itself, on its own CPU (it may still
             * be on its way out of the guest elsewhere) */
            u->hvm.wait_sipi = 0;
            u->hvm.sipi_vector = (uint8_t)lo;
            u->hvm.sipi_pending = 1;
            u->initialised = 1;
            vcpu_set_online(u, 1);
        }
    }
}

int hvm_vcpu_init(struct vcpu *v)
{
    if (v->hvm.vmcb)
        return 0;
    int rc = hvm_funcs->vcpu_init(v);
    if (rc)
        return rc;
    if (v->domain->hvmd.emu_lapic) {
        struct vlapic_cb cb = { .ctx = v, .raise = lapic_raise, .eoi_level = lapic_eoi_level,
                                .ipi = lapic_ipi };
        vlapic_init(&v->hvm.lapic, (uint8_t)v->id, &cb);
    }
    v->ev.periodic_period = 0; /* Xen's 100 Hz ticker is for PV vcpus only */
    return 0;
}

void hvm_vcpu_destroy(struct vcpu *v)
{
    if (v->hvm.vmcb)
        hvm_funcs->vcpu_destroy(v);
    memset(&v->hvm, 0, sizeof(v->hvm));
}

int hvm_map_gfn(struct domain *d, uint64_t gfn, uint64_t mfn, unsigned int flags)
{
    if (mfn >= max_mfn || frame_table[mfn].owner != d->domid)
        return -XL_EINVAL;
    int rc = p2m_set(&d->hvmd.p2m, gfn, mfn, flags);
    if (!rc && gfn + 1 > d->hvmd.max_gfn)
        d->hvmd.max_gfn = gfn + 1;
    return rc;
}

int hvm_unmap_gfn(struct domain *d, uint64_t gfn, uint64_t *old_mfn)
{
    int rc = p2m_clear(&d->hvmd.p2m, gfn, old_mfn);
    if (!rc) {
        /* every vcpu flushes before it runs again, and none is left in
         * the guest on another CPU with the old entry in its TLB when
         * the caller frees the frame (guest_cpus.c) */
        __atomic_add_fetch(&d->hvmd.p2m_gen, 1, __ATOMIC_SEQ_CST);
        hvm_p2m_shootdown(d, arch_cpu_id(), nr_cpus_online);
    }
    return rc;
}

int64_t hvm_gfn_to_mfn(const struct domain *d, uint64_t gfn)
{
    uint64_t mfn;
    if (!d->hvm)
        return -XL_EINVAL;
    if (p2m_lookup(&d->hvmd.p2m, gfn, &mfn, NULL))
        return -XL_ENOENT;
    return (int64_t)mfn;
}

/* XENMEM_add_to_physmap for a translated domain (memory.c checked the
 * caller): its shared_info (idx 0) or grant table frame idx (status frame
 * with XENMAPIDX_grant_table_status) at gpfn. As Xen's
 * xenmem_add_to_physmap_one: RAM that was at gpfn goes back (a shared
 * frame there only leaves that place), the frame leaves its old place. */
int hvm_add_to_physmap(struct domain *d, unsigned int space, uint64_t idx, uint64_t gpfn)
{
    int rc;
    if (gpfn >= (1ULL << P2M_GFN_BITS))
        return -XL_EINVAL;
    uint64_t mfn;
    if (space == XENMAPSPACE_shared_info) {
        if (idx != 0)
            return -XL_EINVAL;
        mfn = d->shared_info_mfn;
    } else if (space == XENMAPSPACE_grant_table) {
        if ((rc = gnttab_physmap_frame(d, idx & ~XENMAPIDX_grant_table_status,
                                       !!(idx & XENMAPIDX_grant_table_status), &mfn)))
            return rc;
    } else {
        return -XL_EINVAL;
    }
    if (hvm_gfn_to_mfn(d, gpfn) == (int64_t)mfn)
        return 0;
    uint64_t old;
    if (!hvm_unmap_gfn(d, gpfn, &old) && old != d->shared_info_mfn &&
        !gnttab_is_table_frame(d->domid, old))
        mm_remove_page(d, old);
    uint64_t old_gfn = m2p_get(mfn);
    if (old_gfn != ~0ULL && hvm_gfn_to_mfn(d, old_gfn) == (int64_t)mfn)
        hvm_unmap_gfn(d, old_gfn, NULL);
    rc = hvm_map_gfn(d, gpfn, mfn, P2M_R | P2M_W);
    if (!rc)
        m2p_set(mfn, gpfn);
    return rc;
}

/* ---- the guest's own paging (hypercall arguments, instruction bytes) ---- */
#define GPTE_P   1ULL
#define GPTE_RW  2ULL
#define GPTE_A   0x20ULL
#define GPTE_D   0x40ULL
#define GPTE_PS  0x80ULL
#define CR0_PE   1ULL
#define CR0_WP   (1ULL << 16)
#define CR0_PG   (1ULL << 31)
#define CR4_PSE  (1ULL << 4)
#define CR4_PAE  (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define RFLAGS_IF (1ULL << 9)

/* The hv's view of guest frame gfn of d: its bytes, or NULL (a hole). */
static void *gfn_ptr(const struct domain *d, uint64_t gfn)
{
    int64_t mfn = hvm_gfn_to_mfn(d, gfn);
    return mfn < 0 ? NULL : mfn_to_virt((uint64_t)mfn);
}

#define GPTE_US  4ULL

/* One table entry at guest-physical address ea, width 4 or 8: its value
 * (Accessed set, as the CPU would, and Dirty too for the leaf of a
 * write: leaf_write), or -EFAULT when it lacks a bit of need. */
static int read_gpte(const struct domain *d, uint64_t ea, int wide, uint64_t need, uint64_t *out)
{
    uint8_t *page = gfn_ptr(d, ea >> PAGE_SHIFT);
    if (!page)
        return -XL_EFAULT;
    void *slot = page + (ea & (PAGE_SIZE - 1));
    uint64_t e;
    if (wide) {
        e = __atomic_load_n((uint64_t *)slot, __ATOMIC_RELAXED);
        if ((e & need) != need)
            return -XL_EFAULT;
        if (!(e & GPTE_A))
            __atomic_fetch_or((uint64_t *)slot, GPTE_A, __ATOMIC_RELAXED);
    } else {
        e = __atomic_load_n((uint32_t *)slot, __ATOMIC_RELAXED);
        if ((e & need) != need)
            return -XL_EFAULT;
        if (!(e & GPTE_A))
            __atomic_fetch_or((uint32_t *)slot, (uint32_t)GPTE_A, __ATOMIC_RELAXED);
    }
    *out = e;
    return 0;
}

/* The leaf at ea maps a page being written: Dirty, as the CPU sets it. */
static void set_dirty(const struct domain *d, uint64_t ea, int wide)
{
    uint8_t *page = gfn_ptr(d, ea >> PAGE_SHIFT);
    if (!page)
        return;
    void *slot = page + (ea & (PAGE_SIZE - 1));
    if (wide)
        __atomic_fetch_or((uint64_t *)slot, GPTE_D, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or((uint32_t *)slot, (uint32_t)GPTE_D, __ATOMIC_RELAXED);
}

/* va -> guest-physical for the vcpu's paging mode (as of its last exit):
 * none, 2-level (PSE), PAE, 4-level. Present everywhere; writable when
 * write and (user or CR0.WP); user-accessible everywhere when user (a
 * CPL 3 access); the leaf of a write gets Dirty. */
static int guest_walk(const struct vcpu *v, uint64_t va, int write, int user, uint64_t *gpa)
{
    const struct hvm_guest_state *s = &v->hvm.st;
    const struct domain *d = v->domain;
    if (!(s->cr0 & CR0_PG)) {
        *gpa = va & 0xffffffffULL;
        return 0;
    }
    uint64_t need = GPTE_P | ((write && (user || (s->cr0 & CR0_WP))) ? GPTE_RW : 0) |
                    (user ? GPTE_US : 0), e, ea;
    if (s->efer & EFER_LMA) {
        uint64_t top = va >> 47;
        if (top != 0 && top != 0x1ffff)
            return -XL_EFAULT;
        uint64_t table = s->cr3 & 0x000ffffffffff000ULL;
        for (int shift = 39; shift >= 12; shift -= 9) {
            ea = table + ((va >> shift) & 511) * 8;
            if (read_gpte(d, ea, 1, need, &e))
                return -XL_EFAULT;
            uint64_t addr = e & 0x000ffffffffff000ULL;
            if (shift == 12 || ((shift == 30 || shift == 21) && (e & GPTE_PS))) {
                uint64_t span = 1ULL << shift;
                *gpa = (addr & ~(span - 1)) | (va & (span - 1));
                if (write)
                    set_dirty(d, ea, 1);
                return 0;
            }
            table = addr;
        }
        return -XL_EFAULT;
    }
    va &= 0xffffffffULL;
    if (s->cr4 & CR4_PAE) {
        /* the PDPTEs have no RW or US bits */
        if (read_gpte(d, (s->cr3 & 0xffffffe0ULL) + (va >> 30) * 8, 1, GPTE_P, &e))
            return -XL_EFAULT;
        uint64_t table = e & 0x000ffffffffff000ULL;
        ea = table + ((va >> 21) & 511) * 8;
        if (read_gpte(d, ea, 1, need, &e))
            return -XL_EFAULT;
        if (e & GPTE_PS) {
            *gpa = (e & 0x000fffffffe00000ULL) | (va & 0x1fffff);
            if (write)
                set_dirty(d, ea, 1);
            return 0;
        }
        ea = (e & 0x000ffffffffff000ULL) + ((va >> 12) & 511) * 8;
        if (read_gpte(d, ea, 1, need, &e))
            return -XL_EFAULT;
        *gpa = (e & 0x000ffffffffff000ULL) | (va & 0xfff);
        if (write)
            set_dirty(d, ea, 1);
        return 0;
    }
    ea = (s->cr3 & 0xfffff000ULL) + (va >> 22) * 4;
    if (read_gpte(d, ea, 0, need, &e))
        return -XL_EFAULT;
    if ((e & GPTE_PS) && (s->cr4 & CR4_PSE)) {
        *gpa = (e & 0xffc00000ULL) | (va & 0x3fffff);
        if (write)
            set_dirty(d, ea, 0);
        return 0;
    }
    ea = (e & 0xfffff000ULL) + ((va >> 12) & 1023) * 4;
    if (read_gpte(d, ea, 0, need, &e))
        return -XL_EFAULT;
    *gpa = (e & 0xfffff000ULL) | (va & 0xfff);
    if (write)
        set_dirty(d, ea, 0);
    return 0;
}

/* A supervisor access (hypercall arguments, instruction fetch). */
static int guest_linear_to_gpa(const struct vcpu *v, uint64_t va, int write, uint64_t *gpa)
{
    return guest_walk(v, va, write, 0, gpa);
}

int hvm_translate(struct vcpu *v, uint64_t va, int write, uint64_t *maddr)
{
    uint64_t gpa;
    if (!v || !v->domain->hvm || guest_linear_to_gpa(v, va, write, &gpa))
        return -XL_EFAULT;
    uint64_t mfn;
    unsigned int flags;
    if (p2m_lookup(&v->domain->hvmd.p2m, gpa >> PAGE_SHIFT, &mfn, &flags) ||
        (write && !(flags & P2M_W)) || (flags & P2M_UC))
        return -XL_EFAULT;
    *maddr = (mfn << PAGE_SHIFT) | (gpa & (PAGE_SIZE - 1));
    return 0;
}

int hvm_translate_tagged(uint64_t cr3, uint64_t va, int write, uint64_t *maddr)
{
    uint64_t idx = cr3 >> 1;
    if (idx >= (uint64_t)MAX_DOMAINS * MAX_VCPUS)
        return -XL_EFAULT;
    struct domain *d = &domains[idx / MAX_VCPUS];
    if (d->state == DOM_FREE || !d->hvm || idx % MAX_VCPUS >= d->max_vcpus)
        return -XL_EFAULT;
    return hvm_translate(&d->vcpus[idx % MAX_VCPUS], va, write, maddr);
}

/* ---- the emulated 8259 pair (XEN_X86_EMU_PIC): its INTR goes to
 * vcpu 0's LINT0 (virtual wire), as on Xen's HVM platform ---- */
static void pic_raise(void *ctx, unsigned int line, int level)
{
    (void)line;
    struct domain *d = ctx;
    if (level)
        lapic_raise(&d->vcpus[0], 0, 1); /* kicked or woken as for its local APIC */
}

/* The PIT's channel 0 output: ISA IRQ 0. */
static void pit_irq(void *ctx, unsigned int line, int level)
{
    (void)line;
    hvm_isa_irq_set(ctx, 0, level);
}

/* The I/O APIC's output: a fixed or lowest-priority interrupt to the
 * local APICs its destination names (lowest priority: the first, as
 * Xen's vioapic does without arbitration); other modes are not
 * delivered (ExtINT goes through the PIC and LINT0). */
static void ioapic_deliver(void *ctx, const struct vioapic_irq *irq)
{
    struct domain *d = ctx;
    if (irq->delivery_mode > 1)
        return;
    struct vcpu *v;
    for_each_vcpu(d, v) {
        if (!v->hvm.vmcb || !vlapic_match_dest(&v->hvm.lapic, irq->dest, irq->dest_logical))
            continue;
        vlapic_set_irq(&v->hvm.lapic, irq->vector, irq->level_trigger);
        if (irq->delivery_mode == 1)
            return;
    }
}

/* The RTC's interrupt: ISA IRQ 8. */
static void rtc_irq(void *ctx, unsigned int line, int level)
{
    (void)line;
    hvm_isa_irq_set(ctx, 8, level);
}

#define HVM_EMU_WIRED (XEN_X86_EMU_LAPIC | XEN_X86_EMU_PIC | XEN_X86_EMU_PIT | XEN_X86_EMU_IOAPIC | \
                       XEN_X86_EMU_RTC)

int hvm_domain_set_emulation(struct domain *d, uint32_t flags)
{
    if (flags & ~HVM_EMU_WIRED)
        return -XL_EOPNOTSUPP; /* the other platform devices are not wired yet */
    if ((flags & XEN_X86_EMU_IOAPIC) && !(flags & XEN_X86_EMU_LAPIC))
        return -XL_EINVAL;     /* it delivers to local APICs */
    if ((flags & XEN_X86_EMU_PIC) && !(flags & XEN_X86_EMU_LAPIC))
        return -XL_EINVAL;     /* the PIC reaches the CPU through LINT0 */
    if ((flags & (XEN_X86_EMU_PIT | XEN_X86_EMU_RTC)) && !(flags & XEN_X86_EMU_PIC))
        return -XL_EINVAL;     /* their IRQs (0, 8) go through the PIC */
    d->hvmd.emu_lapic = !!(flags & XEN_X86_EMU_LAPIC);
    d->hvmd.emu_pic = !!(flags & XEN_X86_EMU_PIC);
    d->hvmd.emu_pit = !!(flags & XEN_X86_EMU_PIT);
    d->hvmd.emu_ioapic = !!(flags & XEN_X86_EMU_IOAPIC);
    if (d->hvmd.emu_ioapic) {
        struct vioapic_cb cb = { .ctx = d, .deliver = ioapic_deliver };
        vioapic_init(&d->hvmd.ioapic, 0, &cb); /* ID 0, as the MADT says */
    }
    if (d->hvmd.emu_pic)
        vpic_init(&d->hvmd.pic, pic_raise, d);
    if (d->hvmd.emu_pit)
        vpit_init(&d->hvmd.pit, pit_irq, d);
    d->hvmd.emu_rtc = !!(flags & XEN_X86_EMU_RTC);
    if (d->hvmd.emu_rtc) {
        /* UTC now, from the wallclock the hv gives PV guests */
        uint64_t sec, now = arch_time_ns();
        uint32_t nsec;
        arch_wallclock_base(&sec, &nsec);
        vrtc_init(&d->hvmd.rtc, (int64_t)(sec + (nsec + now) / 1000000000ULL), now, rtc_irq, d);
    }
    return 0;
}

void hvm_isa_irq_set(struct domain *d, unsigned int irq, int level)
{
    if (d->hvmd.emu_pic && irq < 16)
        vpic_set_irq(&d->hvmd.pic, irq, level);
    if (d->hvmd.emu_ioapic && irq < 16) /* the MADT's override: IRQ 0 is pin 2 */
        vioapic_set_irq(&d->hvmd.ioapic, irq == 0 ? 2 : irq, level);
}

static int pit_port(uint16_t port)
{
    return (port >= 0x40 && port <= 0x43) || port == 0x61;
}

static int pic_port(uint16_t port)
{
    return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 || port == 0x4d0 ||
           port == 0x4d1;
}

/* vcpu 0 runs the PIT and the RTC: their events due by now raised; the
 * time of the next one (HVM_DEV_NO_DEADLINE: none). */
static uint64_t platform_advance(struct vcpu *v, uint64_t now)
{
    struct domain *d = v->domain;
    uint64_t dl = HVM_DEV_NO_DEADLINE;
    if (v->id != 0)
        return dl;
    if (d->hvmd.emu_pit) {
        vpit_advance(&d->hvmd.pit, now);
        uint64_t t = vpit_next_deadline(&d->hvmd.pit);
        dl = t < dl ? t : dl;
    }
    if (d->hvmd.emu_rtc) {
        vrtc_advance(&d->hvmd.rtc, now);
        uint64_t t = vrtc_next_deadline(&d->hvmd.rtc);
        dl = t < dl ? t : dl;
    }
    return dl;
}

/* The vector the PIC offers vcpu v now, or -1. */
static int pic_vector(struct vcpu *v)
{
    struct domain *d = v->domain;
    if (!d->hvmd.emu_pic || v->id != 0 || !vlapic_accepts_pic(&v->hvm.lapic))
        return -1;
    return vpic_pending_vector(&d->hvmd.pic);
}

/* ---- exits ---- */
void hvm_skip_insn(struct vcpu *v, unsigned int len)
{
    v->hvm.st.int_shadow = 0; /* an sti/mov-ss shadow ends with the emulated instruction */
    v->regs.rip += len;
    if (!(v->hvm.st.efer & EFER_LMA) || !(v->hvm.st.cs_attr & (1u << 9)))
        v->regs.rip &= 0xffffffffULL;
}

static void inject_gp(struct vcpu *v)
{
    v->hvm.pending_exc = 13 | (3u << 8) | (1u << 11) | (1u << 31);
}

static void inject_ud(struct vcpu *v)
{
    v->hvm.pending_exc = 6 | (3u << 8) | (1u << 31);
}

static void put32(uint64_t *reg, uint32_t val)
{
    *reg = val; /* a 32-bit result clears the upper half */
}

static void do_cpuid(struct vcpu *v)
{
    uint32_t leaf = (uint32_t)v->regs.rax, sub = (uint32_t)v->regs.rcx, r[4] = { 0, 0, 0, 0 };
    if (leaf >= 0x40000000 && leaf < 0x40010000) {
        switch (leaf & 0xff) {
        case 0: /* "XenVMMXenVMM", leaves up to base + 4 */
            r[0] = 0x40000004;
            r[1] = 0x566e6558; /* "XenV" */
            r[2] = 0x65584d4d; /* "MMXe" */
            r[3] = 0x4d4d566e; /* "nVMM" */
            break;
        case 1:
            r[0] = ((uint32_t)XL_XEN_MAJOR << 16) | XL_XEN_MINOR;
            break;
        case 2: /* one hypercall page, through MSR 0x40000000 */
            r[0] = 1;
            r[1] = 0x40000000;
            break;
        case 4: /* HVM features: vcpu id and domid present */
            r[0] = (1u << 3) | (1u << 4);
            r[1] = v->id;
            r[2] = v->domain->domid;
            break;
        default:
            break;
        }
        if ((leaf & 0xffff) > 4 || (leaf & 0xff00))
            r[0] = r[1] = r[2] = r[3] = 0;
    } else {
        arch_cpuid(leaf, sub, r);
        switch (leaf) {
        case 1:
            r[1] = (r[1] & 0x00ffffff) | (v->id << 24);
            /* no VMX, MONITOR, x2APIC, XSAVE/OSXSAVE, TSC deadline;
             * the hypervisor bit set */
            r[2] &= ~((1u << 3) | (1u << 5) | (1u << 21) | (1u << 24) | (1u << 26) | (1u << 27) |
                      (1u << 28));
            r[2] |= 1u << 31;
            r[3] &= ~((1u << 7) | (1u << 14)); /* no machine-check architecture (no vMCE) */
            if (!v->domain->hvmd.emu_lapic)
                r[3] &= ~(1u << 9); /* no local APIC emulated for this domain */
            break;
        case 7:
            if (sub == 0) {
                /* FSGSBASE, BMI1, SMEP, BMI2, ERMS, ADX, SMAP, CLFLUSHOPT */
                r[1] &= (1u << 0) | (1u << 3) | (1u << 7) | (1u << 8) | (1u << 9) | (1u << 19) |
                        (1u << 20) | (1u << 23);
                r[0] = 0;
            } else {
                r[1] = 0;
            }
            r[2] = r[3] = 0;
            break;
        case 0xd:   /* no XSAVE */
        case 0x6:   /* no thermal/power management */
        case 0xa:   /* no PMU */
        case 0x8000000a: /* no nested SVM */
            r[0] = r[1] = r[2] = r[3] = 0;
            break;
        case 0x80000001:
            r[2] &= ~((1u << 2) | (1u << 10) | (1u << 23)); /* SVM, IBS, PerfCtrExtCore */
            r[3] &= ~(1u << 27);                            /* RDTSCP: intercepted */
            break;
        default:
            break;
        }
    }
    put32(&v->regs.rax, r[0]);
    put32(&v->regs.rbx, r[1]);
    put32(&v->regs.rcx, r[2]);
    put32(&v->regs.rdx, r[3]);
}

/* The hypercall page for an HVM guest: Xen's 32-byte slots of
 * `mov $nr, %eax; vmmcall (or vmcall); ret`. */
static int fill_hypercall_page(struct vcpu *v, uint64_t gpa)
{
    uint8_t *p = gfn_ptr(v->domain, gpa >> PAGE_SHIFT);
    if (!p || (gpa & (PAGE_SIZE - 1)))
        return -XL_EINVAL;
    memset(p, 0xcc, PAGE_SIZE);
    int svm = hvm_funcs->p2m_format == P2M_NPT;
    for (unsigned int nr = 0; nr < PAGE_SIZE / 32; nr++) {
        uint8_t *s = p + nr * 32;
        *s++ = 0xb8;
        *s++ = (uint8_t)nr, *s++ = 0, *s++ = 0, *s++ = 0;
        *s++ = 0x0f, *s++ = 0x01, *s++ = svm ? 0xd9 : 0xc1;
        *s++ = 0xc3;
    }
    return 0;
}

#define MSR_TSC          0x10
#define MSR_APIC_BASE    0x1b
#define MSR_MTRR_CAP     0xfe
#define MSR_MISC_ENABLE  0x1a0
#define MSR_PAT          0x277
#define MSR_MTRR_DEF     0x2ff
#define MSR_EFER_NR      0xc0000080
#define MSR_TSC_AUX      0xc0000103
#define MSR_XEN_HCALL    0x40000000

/* 0, or -1: #GP. The MSRs an HVM guest has (all others #GP, as on Xen
 * for an MSR it does not offer). */
static int msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case MSR_EFER_NR:
        *val = v->hvm.st.efer;
        return 0;
    case MSR_APIC_BASE:
        *val = 0xfee00000ULL | (1ULL << 11) | (v->id == 0 ? (1ULL << 8) : 0);
        return 0;
    case MSR_PAT:
        *val = v->hvm.msr_pat;
        return 0;
    case MSR_TSC:
        *val = arch_read_tsc();
        return 0;
    case MSR_TSC_AUX:
        *val = v->hvm.tsc_aux;
        return 0;
    case MSR_MTRR_CAP:
    case MSR_MISC_ENABLE:
    case 0x8b: /* microcode revision */
    case 0xc0010055: /* AMD's interrupt-pending message: no C1E (Linux's E400 check) */
        *val = 0;
        return 0;
    case MSR_MTRR_DEF:
        *val = 0xc06; /* MTRRs and fixed ranges on, write-back default */
        return 0;
    default:
        if (msr >= 0x200 && msr < 0x210) { /* variable MTRRs: none set */
            *val = 0;
            return 0;
        }
        return hvm_funcs->msr_read ? hvm_funcs->msr_read(v, msr, val) : -1;
    }
}

static int pat_ok(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        uint8_t t = (uint8_t)(pat >> (i * 8));
        if (t == 2 || t == 3 || t > 7)
            return 0;
    }
    return 1;
}

static int msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    switch (msr) {
    case MSR_EFER_NR: {
        /* SCE, LME, LMA, NXE, FFXSR; LMA is the CPU's to set */
        uint64_t ok = 1 | EFER_LME | EFER_LMA | (1ULL << 11) | (1ULL << 14);
        if (val & ~ok)
            return -1;
        if ((v->hvm.st.cr0 & CR0_PG) && ((val ^ v->hvm.st.efer) & EFER_LME))
            return -1; /* LME changes only with paging off */
        v->hvm.st.efer = (val & ~EFER_LMA) | (v->hvm.st.efer & EFER_LMA);
        hvm_funcs->put_state(v);
        return 0;
    }
    case MSR_PAT:
        if (!pat_ok(val))
            return -1;
        v->hvm.msr_pat = val;
        return hvm_funcs->msr_write ? hvm_funcs->msr_write(v, msr, val) : 0;
    case MSR_XEN_HCALL:
        if (val >> 12 >= v->domain->hvmd.max_gfn && val >> 12 != 0)
            return -1;
        return fill_hypercall_page(v, val & ~0xfffULL) ? -1 : 0;
    case MSR_TSC_AUX:
        if (val >> 32)
            return -1;
        v->hvm.tsc_aux = val;
        return 0;
    case MSR_APIC_BASE:
    case MSR_TSC:
    case MSR_MISC_ENABLE:
    case 0x8b:
    case MSR_MTRR_DEF:
        return 0; /* kept as they are */
    default:
        if (msr >= 0x200 && msr < 0x210)
            return 0;
        return hvm_funcs->msr_write ? hvm_funcs->msr_write(v, msr, val) : -1;
    }
}

/* Xen's debug console port (XEN_HVM_DEBUGCONS_IOPORT): bytes become the
 * domain's console lines "(dN) ...". */
#define DEBUGCONS_PORT 0xe9

/* An IN's value into rax: 1 and 2 bytes merge into al/ax, 4 bytes fill
 * eax and clear the upper half (a 32-bit register write). */
void hvm_io_in_result(struct vcpu *v, unsigned int size, uint32_t val)
{
    uint64_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffULL;
    if (size == 4)
        v->regs.rax = val;
    else
        v->regs.rax = (v->regs.rax & ~mask) | (val & mask);
}

/* The guest's code size (for the decoder). */
static enum hvm_cpu_mode cpu_mode(const struct vcpu *v)
{
    if (!(v->hvm.st.cr0 & CR0_PE))
        return HVM_MODE_16;
    if ((v->hvm.st.efer & EFER_LMA) && (v->hvm.st.cs_attr & (1u << 9)))
        return HVM_MODE_64;
    return (v->hvm.st.cs_attr & (1u << 10)) ? HVM_MODE_32 : HVM_MODE_16;
}

/* Up to 15 bytes at the guest's rip (fewer where a page ends unmapped). */
static unsigned int fetch_insn(struct vcpu *v, uint8_t *buf)
{
    uint64_t va = v->hvm.st.cs_base + v->regs.rip;
    unsigned int got = 0;
    while (got < 15) {
        uint64_t ma;
        if (hvm_translate(v, va + got, 0, &ma))
            break;
        unsigned int n = PAGE_SIZE - (unsigned int)(ma & (PAGE_SIZE - 1));
        if (n > 15 - got)
            n = 15 - got;
        memcpy(buf + got, (uint8_t *)mfn_to_virt(ma >> PAGE_SHIFT) + (ma & (PAGE_SIZE - 1)), n);
        got += n;
    }
    return got;
}

/* The hv's own devices on a port (type = "hvm": PIC, PIT, RTC): 1 if
 * one is there (*val: an IN's value), 0 if not. */
enum platform_dev { PDEV_NONE, PIC, PIT, RTC };

static enum platform_dev platform_dev(const struct domain *d, uint16_t port)
{
    if (d->hvmd.emu_pic && pic_port(port))
        return PIC;
    if (d->hvmd.emu_pit && pit_port(port))
        return PIT;
    if (d->hvmd.emu_rtc && (port == VRTC_PORT_INDEX || port == VRTC_PORT_DATA))
        return RTC;
    return PDEV_NONE;
}

static int platform_port(struct vcpu *v, uint16_t port, unsigned int size, int in, uint32_t *val)
{
    struct domain *d = v->domain;
    enum platform_dev dev = platform_dev(d, port);
    if (dev == PDEV_NONE)
        return 0;
    uint64_t now = arch_time_ns();
    if (!in && dev == PIC)
        vpic_write(&d->hvmd.pic, port, size, *val);
    else if (!in && dev == PIT)
        vpit_write(&d->hvmd.pit, port, size, *val, now);
    else if (!in)
        vrtc_write(&d->hvmd.rtc, port, size, *val, now);
    else
        *val = dev == PIC   ? vpic_read(&d->hvmd.pic, port, size)
               : dev == PIT ? vpit_read(&d->hvmd.pit, port, size, now)
                            : vrtc_read(&d->hvmd.rtc, port, size, now);
    return 1;
}

/* A write nobody claims: Xen's debug console port takes bytes (a line at
 * a time, as Xen's hvm_print_line), the rest go nowhere. */
static void unclaimed_write(struct vcpu *v, uint16_t port, unsigned int size, uint32_t val)
{
    if (port != DEBUGCONS_PORT || size != 1)
        return;
    struct hvm_domain *h = &v->domain->hvmd;
    char c = (char)val;
    if (c != '\n')
        h->pbuf[h->pbuf_len++] = c;
    if (c == '\n' || h->pbuf_len == sizeof(h->pbuf) - 1) {
        h->pbuf[h->pbuf_len++] = '\n';
        console_guest_write(v->domain->domid, h->pbuf, h->pbuf_len);
        h->pbuf_len = 0;
    }
}

/* ---- string port I/O: ins / outs, with or without rep ---- */

/* #PF for a linear address the guest's tables do not map as needed:
 * P set when they map it but read-only (a write); a non-canonical one
 * in long mode is #GP(0) instead, as the CPU has it. */
static void inject_pf(struct vcpu *v, uint64_t va, int write)
{
    uint64_t gpa;
    if ((v->hvm.st.efer & EFER_LMA) && (va >> 47) != 0 && (va >> 47) != 0x1ffff) {
        inject_gp(v);
        return;
    }
    uint32_t code = (write ? 2u : 0u) | (v->hvm.st.cpl == 3 ? 4u : 0u);
    if (!guest_walk(v, va, 0, 0, &gpa))
        code |= 1u; /* present: a protection fault (read-only, or not the user's) */
    v->hvm.st.cr2 = va;
    hvm_funcs->put_state(v);
    v->hvm.pending_exc = 14 | (3u << 8) | (1u << 11) | (1u << 31) | ((uint64_t)code << 32);
}

/* len bytes between buf and the guest's linear va, page by page; the
 * guest frames must be RAM (a hole: reads give all ones, writes go
 * nowhere, as for any access there). 0, or -EFAULT with *fault_va where
 * its tables do not map it. */
static int linear_copy(struct vcpu *v, uint64_t va, void *buf, unsigned int len, int to_guest,
                       uint64_t *fault_va)
{
    uint8_t *b = buf;
    while (len) {
        uint64_t gpa;
        unsigned int n = PAGE_SIZE - (unsigned int)(va & (PAGE_SIZE - 1));
        if (n > len)
            n = len;
        if (guest_walk(v, va, to_guest, v->hvm.st.cpl == 3, &gpa)) {
            *fault_va = va;
            return -XL_EFAULT;
        }
        uint64_t mfn;
        unsigned int flags;
        int ram = !p2m_lookup(&v->domain->hvmd.p2m, gpa >> PAGE_SHIFT, &mfn, &flags) &&
                  !(flags & P2M_UC) && (!to_guest || (flags & P2M_W));
        uint8_t *p = ram ? (uint8_t *)mfn_to_virt(mfn) + (gpa & (PAGE_SIZE - 1)) : NULL;
        if (to_guest && p)
            memcpy(p, b, n);
        else if (!to_guest)
            p ? memcpy(b, p, n) : memset(b, 0xff, n);
        va += n, b += n, len -= n;
    }
    return 0;
}

struct str_insn {
    uint8_t rep, asize, seg;
    unsigned int len;
};

/* The ins/outs at rip: its prefixes (rep, address size, segment), 0; or
 * -1 when the bytes there are not the string instruction that exited
 * (changed under it: it is run again). */
static int decode_string(struct vcpu *v, int in, struct str_insn *s)
{
    uint8_t b[15];
    unsigned int n = fetch_insn(v, b), i;
    enum hvm_cpu_mode m = cpu_mode(v);
    unsigned int asize = m == HVM_MODE_64 ? 8 : m == HVM_MODE_32 ? 4 : 2;
    s->rep = 0, s->seg = 3; /* DS */
    for (i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (c == 0xf2 || c == 0xf3)
            s->rep = 1;
        else if (c == 0x67)
            asize = m == HVM_MODE_64 ? 4 : m == HVM_MODE_32 ? 2 : 4;
        else if (c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e)
            s->seg = (uint8_t)((c >> 3) & 3); /* es 0, cs 1, ss 2, ds 3 */
        else if (c == 0x64 || c == 0x65)
            s->seg = (uint8_t)(c - 0x60);
        else if (c == 0x66 || c == 0xf0 || (m == HVM_MODE_64 && (c & 0xf0) == 0x40))
            ;
        else
            break;
    }
    if (i >= n || (in ? (b[i] & 0xfe) != 0x6c : (b[i] & 0xfe) != 0x6e))
        return -1;
    if (in)
        s->seg = 0; /* ins always writes es:rdi */
    s->asize = (uint8_t)asize;
    s->len = i + 1;
    return 0;
}

static uint64_t amask_of(unsigned int asize)
{
    return asize == 8 ? ~0ULL : (1ULL << (asize * 8)) - 1;
}

/* n elements done: rsi or rdi moves on (wrapping in its address size),
 * rcx counts down under rep; the instruction ends when none are left. */
static void string_advance(struct vcpu *v, int in, unsigned int size, uint8_t rep, uint8_t asize,
                           uint8_t df, uint64_t n, unsigned int insn_len)
{
    if (!n)
        return; /* the first element faulted: the CPU writes no register */
    uint64_t am = amask_of(asize), step = n * size;
    /* in long mode a 32-bit address size writes edi/esi and ecx as 32-bit
     * registers: their upper halves cleared (as the CPU, Xen's emulator) */
    uint64_t keep = asize == 4 && cpu_mode(v) == HVM_MODE_64 ? 0 : ~am;
    uint64_t *idx = in ? &v->regs.rdi : &v->regs.rsi;
    *idx = (*idx & keep) | ((df ? *idx - step : *idx + step) & am);
    if (rep) {
        v->regs.rcx = (v->regs.rcx & keep) | ((v->regs.rcx - n) & am);
        if (v->regs.rcx & am)
            return; /* run again for the rest: interrupts can come between */
    }
    hvm_skip_insn(v, insn_len);
}

void hvm_string_io_done(struct vcpu *v, uint64_t val)
{
    struct hvm_io_wait *w = &v->hvm.io;
    if (w->read && !w->ptr) {
        uint64_t fva;
        if (linear_copy(v, w->va, &val, w->size, 1, &fva)) {
            inject_pf(v, fva, 1); /* its tables changed meanwhile */
            return;
        }
    }
    string_advance(v, w->read, w->size, w->rep, w->asize, w->df, w->count, w->skip);
}

/* Elements per exit the hv moves itself (its own devices, no device). */
#define STRING_IO_BATCH 64

static void do_string_io(struct vcpu *v, const struct hvm_exit *e)
{
    struct str_insn si;
    if (decode_string(v, e->io_in, &si))
        return;
    unsigned int size = e->io_size, len = e->insn_len ? e->insn_len : si.len;
    enum hvm_cpu_mode m = cpu_mode(v);
    uint64_t am = amask_of(si.asize);
    uint64_t count = si.rep ? v->regs.rcx & am : 1;
    if (!count) {
        hvm_skip_insn(v, len);
        return;
    }
    uint8_t df = (v->regs.rflags >> 10) & 1;
    uint64_t off = (e->io_in ? v->regs.rdi : v->regs.rsi) & am;
    uint64_t base = m == HVM_MODE_64 && si.seg < 4 ? 0 : hvm_funcs->seg_base(v, si.seg);
    uint64_t va = base + off;
    if (m != HVM_MODE_64)
        va &= 0xffffffffULL;
    /* elements from va on (down when df) that stay in its page and do not
     * wrap the index register */
    unsigned int pgoff = (unsigned int)(va & (PAGE_SIZE - 1));
    uint64_t n = pgoff + size > PAGE_SIZE ? 0
                 : df ? pgoff / size + 1 : (PAGE_SIZE - pgoff) / size;
    uint64_t room = df ? off / size + 1 : (am - off) / size; /* + 1, without overflowing */
    if (room < ~0ULL)
        room++;
    if (n > room)
        n = room;
    if (n > count)
        n = count;
    uint32_t val = 0;
    uint64_t fva;
    int srv_claims = 0;
    struct hvm_string_io s = { .rep = si.rep, .asize = si.asize, .df = df };
    if (platform_dev(v->domain, e->port) != PDEV_NONE || (e->port == DEBUGCONS_PORT && !e->io_in)) {
        if (!n)
            n = 1; /* the hv's: never a device model's */
    } else if (n >= 1) {
        /* by pointer: the device model moves the elements itself */
        uint64_t gpa;
        if (guest_walk(v, va, e->io_in, v->hvm.st.cpl == 3, &gpa)) {
            inject_pf(v, va, e->io_in);
            return;
        }
        s.count = (uint32_t)n, s.ptr = 1, s.data = gpa;
        srv_claims = hvm_ioreq_port_string(v, e->port, size, e->io_in, &s, len);
    } else {
        /* one element across a page boundary: by value */
        s.count = 1, s.va = va;
        if (!e->io_in && linear_copy(v, va, &val, size, 0, &fva)) {
            inject_pf(v, fva, 0);
            return;
        }
        s.data = val;
        srv_claims = hvm_ioreq_port_string(v, e->port, size, e->io_in, &s, len);
        n = 1;
    }
    if (srv_claims)
        return; /* the vcpu waits for the device model */
    /* the hv's own devices, or nothing there: element by element here */
    if (n > STRING_IO_BATCH)
        n = STRING_IO_BATCH;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t eva = df ? va - i * size : va + i * size;
        if (m != HVM_MODE_64)
            eva &= 0xffffffffULL;
        if (e->io_in) {
            val = ~0u;
            platform_port(v, e->port, size, 1, &val);
            if (linear_copy(v, eva, &val, size, 1, &fva)) {
                string_advance(v, 1, size, si.rep, si.asize, df, i, 0);
                inject_pf(v, fva, 1);
                return;
            }
        } else {
            val = 0;
            if (linear_copy(v, eva, &val, size, 0, &fva)) {
                string_advance(v, 0, size, si.rep, si.asize, df, i, 0);
                inject_pf(v, fva, 0);
                return;
            }
            if (!platform_port(v, e->port, size, 0, &val))
                unclaimed_write(v, e->port, size, val);
        }
    }
    string_advance(v, e->io_in, size, si.rep, si.asize, df, n, len);
}

static void do_io(struct vcpu *v, const struct hvm_exit *e)
{
    if (e->io_string) {
        do_string_io(v, e);
        return;
    }
    uint64_t mask = e->io_size == 1 ? 0xff : e->io_size == 2 ? 0xffff : 0xffffffffULL;
    uint32_t val = (uint32_t)(v->regs.rax & mask);
    if (platform_port(v, e->port, e->io_size, e->io_in, &val)) {
        if (e->io_in)
            hvm_io_in_result(v, e->io_size, val);
        hvm_skip_insn(v, e->insn_len);
        return;
    }
    if (!(e->port == DEBUGCONS_PORT && !e->io_in) &&
        hvm_ioreq_port(v, e->port, e->io_size, e->io_in, v->regs.rax & mask, e->insn_len))
        return; /* a device model's: the vcpu waits for its answer */
    if (e->io_in)
        hvm_io_in_result(v, e->io_size, ~0u); /* nothing there: all ones, as Xen's null handler */
    else
        unclaimed_write(v, e->port, e->io_size, val);
    hvm_skip_insn(v, e->insn_len);
}

/* The hypercalls an HVM guest has (Xen's hvm64 column); the others
 * answer -ENOSYS. */
int hvm_hypercall_allowed(uint64_t nr)
{
    switch (nr) {
    case __HYPERVISOR_memory_op:
    case __HYPERVISOR_multicall: /* its entries pass this test too (hypercall.c) */
    case __HYPERVISOR_set_timer_op:
    case __HYPERVISOR_xen_version:
    case __HYPERVISOR_console_io:
    case __HYPERVISOR_vm_assist:
    case __HYPERVISOR_vcpu_op:
    case __HYPERVISOR_sched_op:
    case __HYPERVISOR_event_channel_op:
    case __HYPERVISOR_grant_table_op: /* the frame-free ops (grant_table.c) */
    case __HYPERVISOR_hvm_op:
    case __HYPERVISOR_sysctl:
    case __HYPERVISOR_domctl:
    case __HYPERVISOR_dm_op:
        return 1;
    default:
        return 0;
    }
}

static void do_hypercall(struct vcpu *v, const struct hvm_exit *e)
{
    hvm_skip_insn(v, e->insn_len); /* a continuation steps back over it */
    if (v->hvm.st.cpl) {
        v->regs.rax = (uint64_t)(int64_t)-XL_EPERM; /* from guest user mode: refused, as Xen */
        return;
    }
    if (!(v->hvm.st.efer & EFER_LMA) || !(v->hvm.st.cs_attr & (1u << 9))) {
        put32(&v->regs.rax, (uint32_t)-XL_ENOSYS); /* the 32-bit (compat) ABI is not here */
        return;
    }
    if (!hvm_hypercall_allowed(v->regs.rax)) {
        v->regs.rax = (uint64_t)(int64_t)-XL_ENOSYS;
        return;
    }
    v->regs.rax = (uint64_t)hypercall_from_frame(v, &v->regs);
}

static void gprs_out(const struct cpu_regs *r, uint64_t g[HVM_NR_GPRS])
{
    g[0] = r->rax, g[1] = r->rcx, g[2] = r->rdx, g[3] = r->rbx;
    g[4] = r->rsp, g[5] = r->rbp, g[6] = r->rsi, g[7] = r->rdi;
    g[8] = r->r8, g[9] = r->r9, g[10] = r->r10, g[11] = r->r11;
    g[12] = r->r12, g[13] = r->r13, g[14] = r->r14, g[15] = r->r15;
}

static void gprs_in(struct cpu_regs *r, const uint64_t g[HVM_NR_GPRS])
{
    r->rax = g[0], r->rcx = g[1], r->rdx = g[2], r->rbx = g[3];
    r->rsp = g[4], r->rbp = g[5], r->rsi = g[6], r->rdi = g[7];
    r->r8 = g[8], r->r9 = g[9], r->r10 = g[10], r->r11 = g[11];
    r->r12 = g[12], r->r13 = g[13], r->r14 = g[14], r->r15 = g[15];
}

/* A nested page fault: a guest-physical address with nothing behind it
 * (no RAM, no device of the hv). As Xen with no device model for it,
 * reads give all ones and writes go nowhere - for the instructions the
 * MMIO decoder knows; anything else crashes the guest. An instruction
 * fetch from there crashes it too. */
static void do_npf(struct vcpu *v, const struct hvm_exit *e)
{
    struct domain *d = v->domain;
    if (e->npf_fetch) {
        domain_crash(d, "d%u v%u: instruction fetch from gpa %#lx (no memory there), rip %#lx",
                     d->domid, v->id, (unsigned long)e->gpa, (unsigned long)v->regs.rip);
        return;
    }
    uint8_t insn[15];
    unsigned int n = fetch_insn(v, insn);
    struct hvm_mmio_insn in;
    int rc = hvm_decode_mmio(insn, n, cpu_mode(v), &in);
    int lapic = d->hvmd.emu_lapic && e->gpa >= VLAPIC_BASE && e->gpa < VLAPIC_BASE + 0x1000;
    int ioapic = d->hvmd.emu_ioapic && e->gpa >= VIOAPIC_BASE && e->gpa < VIOAPIC_BASE + VIOAPIC_SIZE;
    if (rc) {
        domain_crash(d, "d%u v%u: access to gpa %#lx by an instruction not emulated (%d) at rip %#lx",
                     d->domid, v->id, (unsigned long)e->gpa, rc, (unsigned long)v->regs.rip);
        return;
    }
    uint64_t g[HVM_NR_GPRS];
    gprs_out(&v->regs, g);
    if (ioapic) {
        uint32_t ioff = (uint32_t)(e->gpa - VIOAPIC_BASE);
        if (in.kind == HVM_MMIO_LOAD) {
            uint64_t val = in.size > 4 ? ~0ULL : vioapic_read(&d->hvmd.ioapic, ioff, in.size);
            hvm_mmio_load_complete(&in, g, val);
            gprs_in(&v->regs, g);
        } else if (in.size <= 4) {
            vioapic_write(&d->hvmd.ioapic, ioff, in.size, (uint32_t)hvm_mmio_store_value(&in, g));
        }
        hvm_skip_insn(v, in.len);
        return;
    }
    if (!lapic && hvm_ioreq_mmio(v, e->gpa, &in,
                                 in.kind == HVM_MMIO_LOAD ? 0 : hvm_mmio_store_value(&in, g)))
        return; /* a device model's: completed when it answers */
    uint32_t off = (uint32_t)(e->gpa - VLAPIC_BASE);
    if (in.kind == HVM_MMIO_LOAD) {
        uint64_t val = in.size == 8 ? ~0ULL : (1ULL << (in.size * 8)) - 1; /* a hole: all ones */
        if (lapic)
            val = in.size == 8 ? ~0ULL : vlapic_read(&v->hvm.lapic, off, in.size, arch_time_ns());
        hvm_mmio_load_complete(&in, g, val);
        gprs_in(&v->regs, g);
    } else if (lapic && in.size <= 4) {
        vlapic_write(&v->hvm.lapic, off, in.size, (uint32_t)hvm_mmio_store_value(&in, g),
                     arch_time_ns());
    }
    hvm_skip_insn(v, in.len);
}

void hvm_mmio_complete_load(struct vcpu *v, const struct hvm_mmio_insn *in, uint64_t val)
{
    uint64_t g[HVM_NR_GPRS];
    gprs_out(&v->regs, g);
    hvm_mmio_load_complete(in, g, val);
    gprs_in(&v->regs, g);
}

/* Xen's hvm_hlt: with interrupts off the vcpu is done (all down: the
 * domain powers off); otherwise it sleeps until an event is due. */
static void do_hlt(struct vcpu *v, const struct hvm_exit *e)
{
    hvm_skip_insn(v, e->insn_len);
    if (!(v->regs.rflags & RFLAGS_IF)) {
        v->online = 0;
        struct vcpu *o;
        for_each_vcpu(v->domain, o)
            if (o->online)
                goto others;
        domain_shutdown(v->domain, SHUTDOWN_poweroff);
    others:
        sched_raise_work();
        return;
    }
    if (v->domain->hvmd.callback_vector && v->info->evtchn_upcall_pending)
        return;
    if (v->domain->hvmd.emu_lapic) {
        vlapic_advance(&v->hvm.lapic, arch_time_ns());
        if (vlapic_pending_vector(&v->hvm.lapic) >= 0)
            return;
    }
    platform_advance(v, arch_time_ns());
    if (pic_vector(v) >= 0)
        return;
    v->blocked = 1;
    sched_raise_work();
}

static void handle_exit(struct vcpu *v, const struct hvm_exit *e)
{
    struct domain *d = v->domain;
    switch (e->reason) {
    case HVM_EXIT_NONE:
        if (e->insn_len)
            hvm_skip_insn(v, e->insn_len);
        return;
    case HVM_EXIT_CPUID:
        do_cpuid(v);
        hvm_skip_insn(v, e->insn_len);
        return;
    case HVM_EXIT_HLT:
        do_hlt(v, e);
        return;
    case HVM_EXIT_IO:
        do_io(v, e);
        return;
    case HVM_EXIT_MSR_READ: {
        uint64_t val;
        if (msr_read(v, (uint32_t)v->regs.rcx, &val)) {
            inject_gp(v);
            return;
        }
        put32(&v->regs.rax, (uint32_t)val);
        put32(&v->regs.rdx, (uint32_t)(val >> 32));
        hvm_skip_insn(v, e->insn_len);
        return;
    }
    case HVM_EXIT_MSR_WRITE:
        if (msr_write(v, (uint32_t)v->regs.rcx,
                      (v->regs.rax & 0xffffffffULL) | (v->regs.rdx << 32))) {
            inject_gp(v);
            return;
        }
        hvm_skip_insn(v, e->insn_len);
        return;
    case HVM_EXIT_HYPERCALL:
        do_hypercall(v, e);
        return;
    case HVM_EXIT_NPF:
        do_npf(v, e);
        return;
    case HVM_EXIT_UD:
        inject_ud(v);
        return;
    case HVM_EXIT_TRIPLE_FAULT:
        domain_crash(d, "d%u v%u: triple fault at rip %#lx", d->domid, v->id,
                     (unsigned long)v->regs.rip);
        return;
    case HVM_EXIT_INVALID:
        domain_crash(d, "d%u v%u: %s refused the guest state (rip %#lx cr0 %#lx cr4 %#lx efer %#lx)",
                     d->domid, v->id, hvm_funcs->name, (unsigned long)v->regs.rip,
                     (unsigned long)v->hvm.st.cr0, (unsigned long)v->hvm.st.cr4,
                     (unsigned long)v->hvm.st.efer);
        return;
    case HVM_EXIT_UNHANDLED:
    default:
        domain_crash(d, "d%u v%u: unhandled %s exit %#lx (info %#lx %#lx) at rip %#lx", d->domid,
                     v->id, hvm_funcs->name, (unsigned long)e->raw, (unsigned long)e->info1,
                     (unsigned long)e->info2, (unsigned long)v->regs.rip);
        return;
    }
}

/* Events reach an HVM guest through its callback vector (Xen's
 * HVMIRQ_callback_vector): offered while an upcall is pending. */
static void deliver_events(struct vcpu *v)
{
    struct domain *d = v->domain;
    int vec = (d->hvmd.callback_vector && v->info->evtchn_upcall_pending) ? d->hvmd.callback_vector
                                                                          : -1;
    int from_lapic = 0;
    if (d->hvmd.emu_lapic) {
        struct vlapic *l = &v->hvm.lapic;
        uint64_t now = arch_time_ns();
        vlapic_advance(l, now);
        uint64_t dl = vlapic_next_deadline(l);
        uint64_t pd = platform_advance(v, now); /* the PIT's and RTC's events wake vcpu 0 too */
        if (pd < dl)
            dl = pd;
        dl = dl == HVM_DEV_NO_DEADLINE ? 0 : dl;
        if (dl != v->hvm.lapic_deadline) {
            v->hvm.lapic_deadline = dl;
            if (dl)
                sched_raise_work(); /* the timer CPU re-arms for it (timer.c) */
        }
        if (vec < 0 && (vec = vlapic_pending_vector(l)) >= 0)
            from_lapic = 1;
    }
    int from_pic = 0;
    if (vec < 0 && (vec = pic_vector(v)) >= 0)
        from_pic = 1;
    uint64_t before = v->hvm.pending_exc;
    hvm_funcs->set_virq(v, vec);
    if (from_lapic && !before && v->hvm.pending_exc)
        vlapic_ack(&v->hvm.lapic, (uint8_t)vec); /* injected: IRR -> ISR */
    if (from_pic && !before && v->hvm.pending_exc)
        vpic_ack(&d->hvmd.pic); /* the INTA cycle */
}

static int needs_scheduler(const struct vcpu *v)
{
    return sched_work_pending_here() || !domain_vcpu_may_run(v) || v->blocked || v->ev.yielded;
}


void hvm_vcpu_loop(void)
{
    struct vcpu *v = current;
    struct hvm_exit e;
    arch_hvm_exit_begin();
    for (;;) {
        if (v->hvm.io.wait)
            hvm_ioreq_complete(v); /* or it waits again (blocked) */
        if (v->hvm.sipi_pending && !v->hvm.io.wait) {
            v->hvm.sipi_pending = 0;
            sipi_state(v, v->hvm.sipi_vector);
        }
        if (needs_scheduler(v)) {
            if (hvm_funcs->vcpu_leave)
                hvm_funcs->vcpu_leave(v);
            hvm_leave_to_scheduler(v);
        }
        deliver_events(v);
        uint32_t init_gen = v->hvm.init_gen;
        arch_hvm_exit_end();
        hvm_funcs->run(v, &e);
        arch_hvm_exit_begin();
        /* An INIT while it ran (another vcpu's exit, between its exit and
         * this lock): the instruction behind the exit never happened, as
         * INIT takes effect at an instruction boundary - a hlt handled
         * now would leave the STARTUP that followed offline or blocked. */
        if (v->hvm.init_gen != init_gen)
            continue;
        handle_exit(v, &e);
    }
}

/* ---- XEN_DOMCTL_sethvmcontext: HEADER, CPU records, END ---- */
int hvm_load_context(struct domain *d, const uint8_t *buf, uint32_t size)
{
    uint32_t off = 0;
    int seen_header = 0;
    if (!d->hvm)
        return -XL_EINVAL;
    while (off + sizeof(struct hvm_save_descriptor) <= size) {
        struct hvm_save_descriptor desc;
        memcpy(&desc, buf + off, sizeof(desc));
        off += (uint32_t)sizeof(desc);
        if (desc.length > size - off)
            return -XL_EINVAL;
        const uint8_t *body = buf + off;
        off += desc.length;
        if (!seen_header) {
            struct hvm_save_header h;
            if (desc.typecode != 1 || desc.length != sizeof(h))
                return -XL_EINVAL;
            memcpy(&h, body, sizeof(h));
            if (h.magic != HVM_FILE_MAGIC || h.version != HVM_FILE_VERSION)
                return -XL_EINVAL;
            seen_header = 1;
            continue;
        }
        switch (desc.typecode) {
        case 0: /* END */
            return 0;
        case 2: { /* CPU */
            struct hvm_hw_cpu c;
            if (desc.length != sizeof(c) || desc.instance >= d->max_vcpus)
                return -XL_EINVAL;
            memcpy(&c, body, sizeof(c));
            struct vcpu *v = &d->vcpus[desc.instance];
            int rc = hvm_vcpu_init(v);
            if (rc)
                return rc;
            if ((c.cr0 & CR0_PG) && !(c.cr0 & CR0_PE))
                return -XL_EINVAL;
            if (c.msr_efer & ~(1ULL | EFER_LME | EFER_LMA | (1ULL << 11) | (1ULL << 14)))
                return -XL_EINVAL;
            hvm_funcs->load_cpu(v, &c);
            v->hvm.msr_pat = 0x0007040600070406ULL;
            if (hvm_funcs->msr_write)
                hvm_funcs->msr_write(v, MSR_PAT, v->hvm.msr_pat);
            v->hvm.last_cpu = -1; /* flushed before it runs the loaded state */
            v->initialised = 1;
            v->online = 1;
            sched_raise_work();
            break;
        }
        default:
            return -XL_EINVAL; /* a record this hv cannot load */
        }
    }
    return seen_header ? 0 : -XL_EINVAL;
}

/* ---- HVMOP_set_param / get_param ---- */
static int param_ok_for_guest(uint32_t index, int set)
{
    switch (index) {
    case HVM_PARAM_CALLBACK_IRQ:
        return 1;
    case HVM_PARAM_STORE_PFN:
    case HVM_PARAM_STORE_EVTCHN:
    case HVM_PARAM_CONSOLE_PFN:
    case HVM_PARAM_CONSOLE_EVTCHN:
        return !set; /* the toolstack sets them; the guest reads */
    default:
        return 0;
    }
}

long do_hvm_op(struct vcpu *v, uint64_t op, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5)
{
    (void)a3, (void)a4, (void)a5;
    HCSTAT_SUB(&v->domain->hcstat, hvm_op, op);
    if (op != HVMOP_set_param && op != HVMOP_get_param)
        return -XL_ENOSYS;
    struct xen_hvm_param p;
    if (copy_from_guest_va(v->cr3, &p, arg, sizeof(p)))
        return -XL_EFAULT;
    struct domain *d = p.domid == DOMID_SELF ? v->domain : domain_by_id(p.domid);
    if (!d || d->state == DOM_FREE)
        return -XL_ESRCH;
    if (d != v->domain && !v->domain->privileged)
        return -XL_EPERM;
    if (!d->hvm)
        return -XL_EINVAL;
    if (p.index >= HVM_NR_PARAMS)
        return -XL_EINVAL;
    int set = op == HVMOP_set_param;
    if (d == v->domain && !v->domain->privileged && !param_ok_for_guest(p.index, set))
        return -XL_EPERM;
    if (!set) {
        p.value = d->hvmd.params[p.index];
        return copy_to_guest_va(v->cr3, arg, &p, sizeof(p)) ? -XL_EFAULT : 0;
    }
    if (p.index == HVM_PARAM_CALLBACK_IRQ) {
        uint64_t type = p.value >> 56;
        if (p.value && type != HVM_PARAM_CALLBACK_TYPE_VECTOR)
            return -XL_EINVAL; /* GSI / PCI INTx callbacks: no emulated interrupt controllers yet */
        uint8_t vec = (uint8_t)p.value;
        if (p.value && vec < 0x10)
            return -XL_EINVAL;
        d->hvmd.callback_vector = p.value ? vec : 0;
    }
    d->hvmd.params[p.index] = p.value;
    return 0;
}
