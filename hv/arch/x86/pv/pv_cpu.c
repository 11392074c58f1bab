/*
 * pv_cpu.c - the x86_64 PV virtual CPU: trap table, callbacks, bounce
 * frames (Xen's create_bounce_frame), the iret hypercall, guest
 * kernel/user mode, event upcall delivery, the running vcpu's cache of
 * guest page translations (pv_running_frame), and the small CPU
 * hypercalls (stack_switch, set_segment_base, fpu_taskswitch, vm_assist;
 * physdev_op is physdev.c's).
 * Owns: struct pv_vcpu state changes. Must never: touch the hardware
 * (arch hooks do that), trust a guest value, or let a guest mistake
 * become anything but an errno or a crash of that guest.
 */
#include <xenolith/console.h>
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/tlbflush.h>
#include <xen/callback.h>
#include <xen/physdev.h>

#define RFLAGS_TF   (1ULL << 8)
#define RFLAGS_IF   (1ULL << 9)
#define RFLAGS_IOPL (3ULL << 12)
#define RFLAGS_NT   (1ULL << 14)
#define RFLAGS_RF   (1ULL << 16)
#define RFLAGS_VM   (1ULL << 17)
#define RFLAGS_AC   (1ULL << 18)

#define PFEC_USER 4
/* Exceptions that push an error code (Xen's TRAP_HAVE_EC). */
#define VEC_HAS_EC ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
                    (1u << 14) | (1u << 17) | (1u << 21))

static int canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFF;
}

void pv_update_cr3(struct vcpu *v)
{
    uint64_t mfn = v->guest_table;
    if (!v->pv.kernel_mode && v->guest_table_user)
        mfn = v->guest_table_user;
    v->cr3 = mfn << PAGE_SHIFT;
}

void pv_toggle_mode(struct vcpu *v)
{
    pv_sync_segments(v); /* the GS pair swaps with the mode */
    v->pv.kernel_mode = !v->pv.kernel_mode;
    pv_update_cr3(v);
    if (v->ev.rs_pending || v->ev.time_pending)
        timer_vcpu_mode_toggled(v);
}

/* ------------------------------------------------------------ bouncing */

/* The hv's view of len bytes of guest memory at va under v's current
 * page table, when they lie in one page and the guest itself could
 * access them (write: writable): one software walk (guest_translate:
 * same rules and Accessed/Dirty updates as copy_*_guest_va), then plain
 * loads or stores. NULL if not; callers then take copy_*_guest_va,
 * which gives the answer for a frame that crosses a page. */
static void *guest_frame_at(const struct vcpu *v, uint64_t va, size_t len, int write)
{
    uint64_t ma;
    if ((va & (PAGE_SIZE - 1)) + len > PAGE_SIZE || guest_translate(v->cr3, va, write, &ma))
        return NULL;
    return (uint8_t *)mfn_to_virt(ma >> PAGE_SHIFT) + (ma & (PAGE_SIZE - 1));
}

/* The same for v running on this CPU with its domain's page tables
 * loaded (its own exception or hypercall entry), through v's small
 * translation cache. An entry is used only as long as a TLB entry made
 * by the same walk could be: the TLB flush clock has not moved (every
 * frame that changes type or owner waits for a flush of each CPU that
 * held its domain's tables since the frame was last mapped - this one,
 * running v, included - and that flush moves the clock), no invlpg was
 * done anywhere since (a grant unmap's, a guest's), the vcpu is on
 * the CPU that walked, the page table is the same, and the leaf entry
 * still holds what the walk left in it (a guest's PTE update or unmap
 * ends it at once, as invlpg would). */
static __attribute__((noinline)) void *running_frame_walk(struct vcpu *v, struct pv_tcache *e,
                                                           uint64_t now, uint64_t va, int write)
{
    uint64_t ma, *leaf;
    if (guest_translate_leaf(v->cr3, va, write, &ma, &leaf)) {
        e->clock = 0;
        return NULL;
    }
    *e = (struct pv_tcache){ .clock = now, .invlpgs = tlbflush_invlpg_count, .cr3 = v->cr3, .page = va & ~(PAGE_SIZE - 1),
                             .leaf = leaf, .pte = __atomic_load_n(leaf, __ATOMIC_RELAXED),
                             .hv = mfn_to_virt(ma >> PAGE_SHIFT), .cpu = v->processor,
                             .write = write };
    return e->hv + (va & (PAGE_SIZE - 1));
}

static inline void *running_frame_at(struct vcpu *v, uint64_t va, size_t len, int write)
{
    uint64_t off = va & (PAGE_SIZE - 1);
    if (off + len > PAGE_SIZE)
        return NULL;
    struct pv_tcache *e = &v->pv.tc[(va >> PAGE_SHIFT) & 1];
    uint64_t now = __atomic_load_n(&tlbflush_clock, __ATOMIC_ACQUIRE);
    if (e->clock == now && e->invlpgs == tlbflush_invlpg_count && e->page == va - off &&
        e->cr3 == v->cr3 && e->cpu == v->processor &&
        e->write >= write && __atomic_load_n(e->leaf, __ATOMIC_RELAXED) == e->pte)
        return e->hv + off;
    return running_frame_walk(v, e, now, va, write);
}

void *pv_running_frame(struct vcpu *v, uint64_t va, size_t len, int write)
{
    if (v->domain->hvm)
        return NULL; /* no PV page table or leaf to cache: the caller copies */
    return running_frame_at(v, va, len, write);
}

/* The bounce frame's words at w: RCX, R11, [error code,] RIP, CS word
 * (upcall mask in bits 32-39), RFLAGS, RSP, SS. */
static inline __attribute__((always_inline)) void bounce_words(uint64_t *w,
                                                               const struct cpu_regs *regs,
                                                               unsigned int flags,
                                                               uint32_t error_code, uint64_t csw,
                                                               uint64_t rflags)
{
    *w++ = regs->rcx;
    *w++ = regs->r11;
    if (flags & PV_TBF_ERRCODE)
        *w++ = error_code;
    *w++ = regs->rip;
    *w++ = csw;
    *w++ = rflags;
    *w++ = regs->rsp;
    *w = regs->ss;
}

/* bounce's frame of n words below sp when it is not in one page the
 * guest may write (or sp is too low): built here and copied, else the
 * domain crashes (-1). Out of line: the common case keeps no frame. */
static __attribute__((noinline)) int bounce_copy(struct vcpu *v, const struct cpu_regs *regs,
                                                 uint64_t sp, unsigned int n, unsigned int flags,
                                                 uint32_t error_code, uint64_t csw,
                                                 uint64_t rflags)
{
    uint64_t frame[8];
    bounce_words(frame, regs, flags, error_code, csw, rflags);
    if (sp < n * 8 || copy_to_guest_va(v->cr3, sp - n * 8, frame, n * 8)) {
        domain_crash(v->domain, "bounce frame unwritable at %016lx (rip %016lx)", sp - n * 8,
                     regs->rip);
        return -1;
    }
    return 0;
}

/* running: v is on this CPU with its tables loaded (running_frame_at). */
static inline __attribute__((always_inline)) int bounce(struct vcpu *v, struct cpu_regs *regs,
                                                      uint64_t target, unsigned int flags,
                                                      uint32_t error_code, int running)
{
    struct domain *d = v->domain;
    uint64_t cs = regs->cs, sp;

    if (!target) {
        domain_crash(d, "bounce to a null handler at %016lx", regs->rip);
        return -1;
    }
    if (!v->pv.kernel_mode) {
        pv_toggle_mode(v); /* onto the registered kernel stack */
        sp = v->pv.kernel_sp;
    } else {
        sp = regs->rsp;
        cs &= ~3ULL; /* RPL 0 tells the guest it was in kernel context */
    }
    sp &= ~15ULL;

    uint8_t saved_mask = v->info->evtchn_upcall_mask;
    uint64_t rflags = regs->rflags & ~(RFLAGS_IF | RFLAGS_IOPL);
    if (!saved_mask)
        rflags |= RFLAGS_IF;
    if (v->pv.vm_assist & (1ULL << VMASST_TYPE_architectural_iopl))
        rflags |= (uint64_t)v->pv.iopl << 12;

    /* Written in place when the frame lies in one page (a guest vcpu
     * on another CPU may watch it being written: its own stack, its own
     * business, as under Xen), else built here and copied. */
    unsigned int n = (flags & PV_TBF_ERRCODE) ? 8 : 7;
    uint64_t csw = (cs & 0xffff) | ((uint64_t)saved_mask << 32), *f = NULL;
    if (sp >= n * 8)
        f = running ? running_frame_at(v, sp - n * 8, n * 8, 1)
                    : guest_frame_at(v, sp - n * 8, n * 8, 1);
    if (f)
        bounce_words(f, regs, flags, error_code, csw, rflags);
    else if (bounce_copy(v, regs, sp, n, flags, error_code, csw, rflags))
        return -1;
    sp -= n * 8;
    if (flags & PV_TBF_INTERRUPT)
        v->info->evtchn_upcall_mask = 1;

    regs->rflags &= ~(RFLAGS_AC | RFLAGS_VM | RFLAGS_RF | RFLAGS_NT | RFLAGS_TF);
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = sp;
    regs->cs = FLAT_KERNEL_CS;
    regs->rip = target;
    return 0;
}

int pv_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t target, unsigned int flags,
              uint32_t error_code)
{
    return bounce(v, regs, target, flags, error_code, 0);
}

/* Xen's load_segments failure path: the hv could not load one of the
 * guest's data selectors on switching to it (its descriptor is no longer
 * usable; the register is null now). A frame of RCX, R11, DS, ES, FS, GS
 * (what the guest had), RIP, CS (upcall mask in bits 32-39), RFLAGS, RSP,
 * SS goes onto the guest kernel stack and the failsafe callback runs. */
int pv_failsafe(struct vcpu *v, struct cpu_regs *regs, const uint16_t sel[4])
{
    struct domain *d = v->domain;
    uint64_t cs = regs->cs, sp;

    if (!v->pv.failsafe_callback) {
        domain_crash(d, "data selector unusable on return to %016lx, no failsafe callback",
                     regs->rip);
        return -1;
    }
    uint8_t mask = v->info->evtchn_upcall_mask;
    uint64_t rflags = regs->rflags & ~(RFLAGS_IF | RFLAGS_IOPL);
    if (!mask)
        rflags |= RFLAGS_IF;
    if (v->pv.vm_assist & (1ULL << VMASST_TYPE_architectural_iopl))
        rflags |= (uint64_t)v->pv.iopl << 12;
    if (!v->pv.kernel_mode) {
        sp = v->pv.kernel_sp;
        pv_toggle_mode(v);
    } else {
        sp = regs->rsp;
        cs &= ~3ULL;
    }
    sp &= ~15ULL;
    uint64_t frame[11] = {
        regs->rcx, regs->r11, sel[0], sel[1], sel[2], sel[3], regs->rip,
        (cs & 0xffff) | ((uint64_t)mask << 32), rflags, regs->rsp, regs->ss,
    };
    if (sp < sizeof(frame) || copy_to_guest_va(v->cr3, sp - sizeof(frame), frame, sizeof(frame))) {
        domain_crash(d, "failsafe callback frame unwritable at %016lx (rip %016lx)",
                     sp - sizeof(frame), regs->rip);
        return -1;
    }
    if (v->pv.failsafe_masks_events)
        v->info->evtchn_upcall_mask = 1;
    regs->rflags &= ~(RFLAGS_AC | RFLAGS_VM | RFLAGS_RF | RFLAGS_NT | RFLAGS_TF);
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = sp - sizeof(frame);
    regs->cs = FLAT_KERNEL_CS;
    regs->rip = v->pv.failsafe_callback;
    return 0;
}

static const char *const vec_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

const char *x86_vector_name(uint64_t v)
{
    return v < 32 && vec_names[v] ? vec_names[v] : "reserved";
}

/* Queue vector for delivery; hw: a CPU exception (error code if it has
 * one), else a software interrupt (never an error code). */
static int inject(struct vcpu *v, struct cpu_regs *regs, unsigned int vector, int hw,
                  uint32_t error_code, uint64_t cr2)
{
    const struct pv_trap *t = &v->pv.traps[vector & 255];
    struct domain *d = v->domain;
    uint32_t hw_ec = error_code; /* the crash line shows the CPU's code */

    if (hw && vector == 14) {
        v->pv.cr2 = cr2;
        v->info->arch.cr2 = cr2;
        error_code &= ~PFEC_USER; /* the guest's own idea of user mode */
        if (!v->pv.kernel_mode)
            error_code |= PFEC_USER;
    }
    if (!t->address) {
        if (hw && vector == 14)
            domain_crash(d, "%s at %016lx (cr2 %016lx, error %x), no guest handler",
                         x86_vector_name(vector), regs->rip, cr2, hw_ec);
        else if (hw)
            domain_crash(d, "%s at %016lx (error %x), no guest handler", x86_vector_name(vector),
                         regs->rip, hw_ec);
        else
            domain_crash(d, "int $0x%x at %016lx, no guest handler", vector, regs->rip);
        return -1;
    }
    v->pv.tb.pending = 1;
    v->pv.tb.vector = (uint8_t)vector;
    v->pv.tb.flags = 0;
    if (hw && vector < 32 && (VEC_HAS_EC & (1u << vector)))
        v->pv.tb.flags |= PV_TBF_ERRCODE;
    if (t->flags & PV_TI_IF)
        v->pv.tb.flags |= PV_TBF_INTERRUPT;
    v->pv.tb.error_code = error_code;
    return 0;
}

int pv_inject_exception(struct vcpu *v, struct cpu_regs *regs, unsigned int vector,
                        uint32_t error_code, uint64_t cr2)
{
    return inject(v, regs, vector, 1, error_code, cr2);
}

void pv_syscall_from_user(struct vcpu *v, struct cpu_regs *regs)
{
    if (!v->pv.syscall_callback) {
        pv_inject_exception(v, regs, 6, 0, 0); /* Xen 4.17: #UD */
        return;
    }
    pv_bounce(v, regs, v->pv.syscall_callback,
              v->pv.syscall_masks_events ? PV_TBF_INTERRUPT : 0, 0);
    regs->rflags &= ~(1ULL << 10); /* DF, as Xen's switch_to_kernel */
}

/* int $n from the guest arrives as #GP with the IDT bit (2) set in the
 * error code. Xen lets it through when the trap table gives n a DPL the
 * current mode may use. The vector is taken from the instruction, not
 * from the error code: QEMU's TCG reports (n << 4) | 2 in long mode where
 * the SDM says (n << 3) | 2. */
static int soft_int(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t buf[2];
    struct pv_insn in;
    if (copy_from_guest_va(v->cr3, buf, regs->rip, 2) || pv_decode(buf, 2, &in) ||
        in.op != PV_OP_INT)
        return 0;
    unsigned int need = v->pv.kernel_mode ? 1 : 3;
    if (PV_TI_DPL(v->pv.traps[in.imm].flags) < need)
        return 0;
    regs->rip += in.len;
    inject(v, regs, in.imm, 0, 0, 0);
    return 1;
}

/* Exceptions the guest gets exactly as the CPU raised them: no
 * emulation, no fixup, no virtual state touched (Xen's plain do_trap).
 * #DB (DR6), #UD (forced cpuid), #NM (virtual TS), #GP (int $n, LDT,
 * privileged instructions) and #PF (ptwr, cr2) are not among them. */
#define VEC_REFLECT ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 10) | \
                     (1u << 11) | (1u << 12) | (1u << 16) | (1u << 17) | (1u << 19))

int pv_reflect_exception(struct vcpu *v, struct cpu_regs *regs)
{
    uint64_t vec = regs->vector;
    if (vec >= 32 || !(VEC_REFLECT >> vec & 1) || v->pv.tb.pending)
        return 0;
    const struct pv_trap *t = &v->pv.traps[vec];
    if (!t->address)
        return 0; /* the general path says why the domain dies */
    unsigned int flags = (VEC_HAS_EC >> vec & 1) ? PV_TBF_ERRCODE : 0;
    if (t->flags & PV_TI_IF)
        flags |= PV_TBF_INTERRUPT;
    bounce(v, regs, t->address, flags, (uint32_t)regs->error_code, 1);
    return 1;
}

void pv_guest_exception(struct vcpu *v, struct cpu_regs *regs, uint64_t hw_cr2)
{
    unsigned int vec = (unsigned int)regs->vector;
    uint32_t ec = (uint32_t)regs->error_code;

    switch (vec) {
    case 13:
        if ((ec & 3) == 2 && soft_int(v, regs))
            return;
        if ((ec & 7) == 4 && pv_ldt_fault(v, regs, ec))
            return; /* an LDT page taken on demand (or its #PF queued) */
        if (ec == 0 && pv_emulate_priv_op(v, regs))
            return;
        break;
    case 6: {
        uint8_t buf[8];
        if (!copy_from_guest_va(v->cr3, buf, regs->rip, 7) && pv_is_forced_cpuid(buf, 7)) {
            uint32_t r[4];
            pv_cpuid(v, (uint32_t)regs->rax, (uint32_t)regs->rcx, r);
            regs->rax = r[0], regs->rbx = r[1], regs->rcx = r[2], regs->rdx = r[3];
            regs->rip += 7;
            return;
        }
        break;
    }
    case 14:
        if (pv_ptwr_fault(v, regs, hw_cr2))
            return; /* a write to one of its L1 tables, done for it */
        break;
    case 7:
        v->pv.cr0_ts = 0; /* Xen clears the virtual TS as it delivers #NM */
        break;
    default:
        break;
    }
    inject(v, regs, vec, 1, ec, hw_cr2);
}

static void return_to_guest(struct vcpu *v, struct cpu_regs *regs, int running)
{
    struct domain *d = v->domain;
    if (d->state != DOM_RUNNING)
        return;
    /* A non-canonical rip (from iret, or rip + length after an emulated
     * instruction) must never reach iretq: Intel CPUs fault on it in
     * ring 0. Xen's iretq faults there and the fault is bounced to the
     * guest as #GP(0) with that rip in the frame; do the same without
     * the fault. A bounce already pending saves the rip in its frame
     * and leaves with the (canonical) handler address instead. */
    if (!v->pv.tb.pending && !canonical(regs->rip) &&
        pv_inject_exception(v, regs, 13, 0, 0))
        return;
    if (v->pv.tb.pending) {
        v->pv.tb.pending = 0;
        if (bounce(v, regs, v->pv.traps[v->pv.tb.vector].address, v->pv.tb.flags,
                   v->pv.tb.error_code, running))
            return;
    }
    if (!v->info->evtchn_upcall_mask && v->info->evtchn_upcall_pending && v->pv.event_callback)
        bounce(v, regs, v->pv.event_callback, PV_TBF_INTERRUPT, 0, running);
}

void pv_return_to_guest(struct vcpu *v, struct cpu_regs *regs)
{
    return_to_guest(v, regs, 0);
}

void pv_return_to_running(struct vcpu *v)
{
    return_to_guest(v, &v->regs, 1);
}

/* ---------------------------------------------------------- hypercalls */

/* The table runs to its first zero address, however long (as Xen):
 * after every TRAP_TABLE_BATCH entries the hypercall may be continued
 * at the next entry, so a huge or unterminated table cannot hold the
 * (single) CPU. */
#define TRAP_TABLE_BATCH 64

HYPERCALL_DECL(set_trap_table)
{
    struct trap_info ti;
    if (!a1) {
        memset(v->pv.traps, 0, sizeof(v->pv.traps));
        return 0;
    }
    for (uint64_t p = a1, n = 0;; p += sizeof(ti), n++) {
        if (n && n % TRAP_TABLE_BATCH == 0 && hypercall_preempt_check())
            return hypercall_continuation(v, __HYPERVISOR_set_trap_table, p, 0, 0, 0, 0);
        if (copy_from_guest_va(v->cr3, &ti, p, sizeof(ti)))
            return -XL_EFAULT; /* entries before this one stay set, as in Xen */
        if (ti.address == 0)
            return 0;
        if (!canonical(ti.address))
            return -XL_EINVAL;
        uint16_t cs = ti.cs;
        if ((cs & 3) == 0)
            cs |= 3; /* 64-bit PV kernels run in ring 3 */
        v->pv.traps[ti.vector] = (struct pv_trap){ .address = ti.address, .cs = cs,
                                                   .flags = ti.flags };
    }
}

static long register_callback(struct vcpu *v, const struct callback_register *r)
{
    if (!canonical(r->address))
        return -XL_EINVAL;
    int mask = !!(r->flags & CALLBACKF_mask_events);
    switch (r->type) {
    case CALLBACKTYPE_event:
        v->pv.event_callback = r->address;
        return 0;
    case CALLBACKTYPE_failsafe:
        v->pv.failsafe_callback = r->address;
        v->pv.failsafe_masks_events = mask;
        return 0;
    case CALLBACKTYPE_syscall:
        v->pv.syscall_callback = r->address;
        v->pv.syscall_masks_events = mask;
        return 0;
    case CALLBACKTYPE_nmi:
        v->pv.traps[2] = (struct pv_trap){ .address = r->address, .cs = FLAT_KERNEL_CS,
                                           .flags = PV_TI_IF };
        return 0;
    case CALLBACKTYPE_syscall32:
    case CALLBACKTYPE_sysenter:
        /* 32-bit user entry points: accepted and kept by Xen; this
         * hypervisor never runs 32-bit guest user code, so they are unused. */
        return 0;
    default:
        return -XL_ENOSYS;
    }
}

HYPERCALL_DECL(callback_op)
{
    HCSTAT_SUB(&v->domain->hcstat, callback_op, a1);
    switch (a1) {
    case CALLBACKOP_register: {
        struct callback_register r;
        if (copy_from_guest_va(v->cr3, &r, a2, sizeof(r)))
            return -XL_EFAULT;
        return register_callback(v, &r);
    }
    case CALLBACKOP_unregister: {
        struct callback_unregister u;
        if (copy_from_guest_va(v->cr3, &u, a2, sizeof(u)))
            return -XL_EFAULT;
        switch (u.type) {
        case CALLBACKTYPE_event:
        case CALLBACKTYPE_failsafe:
        case CALLBACKTYPE_syscall:
        case CALLBACKTYPE_syscall32:
        case CALLBACKTYPE_sysenter:
            return -XL_EINVAL; /* Xen: these cannot be unregistered */
        case CALLBACKTYPE_nmi:
            v->pv.traps[2].address = 0;
            return 0;
        default:
            return -XL_ENOSYS; /* an unknown type: Xen's answer too */
        }
    }
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_callback_op, (unsigned int)a1);
    }
}

HYPERCALL_DECL(set_callbacks)
{
    /* Xen registers all three and ignores the individual results. */
    struct callback_register r[3] = {
        { .type = CALLBACKTYPE_event, .address = a1 },
        { .type = CALLBACKTYPE_failsafe, .address = a2 },
        { .type = CALLBACKTYPE_syscall, .address = a3 },
    };
    for (unsigned int i = 0; i < 3; i++)
        register_callback(v, &r[i]);
    return 0;
}

HYPERCALL_DECL(stack_switch)
{
    uint64_t ss = a1;
    if ((ss & 3) == 0)
        ss |= 3;
    v->pv.kernel_ss = ss;
    v->pv.kernel_sp = a2;
    return 0;
}

HYPERCALL_DECL(set_segment_base)
{
    pv_sync_segments(v);
    switch (a1) {
    case SEGBASE_FS:
        if (!canonical(a2))
            return -XL_EINVAL;
        v->pv.fs_base = a2;
        return 0;
    case SEGBASE_GS_USER:
        if (!canonical(a2))
            return -XL_EINVAL;
        v->pv.gs_base_user = a2;
        return 0;
    case SEGBASE_GS_KERNEL:
        if (!canonical(a2))
            return -XL_EINVAL;
        v->pv.gs_base_kernel = a2;
        return 0;
    case SEGBASE_GS_USER_SEL: {
        /* Xen loads the selector into the user %gs (base from the
         * descriptor). Guest GDTs are not supported here, so only the
         * null selector and the flat ring-3 data selectors (base 0) are
         * possible: their base is 0. */
        uint16_t sel = (uint16_t)a2;
        if (sel > 3)
            sel |= 3;
        v->pv.gs_sel_user = sel;
        v->pv.gs_base_user = 0;
        return 0;
    }
    default:
        return -XL_EINVAL;
    }
}

HYPERCALL_DECL(fpu_taskswitch)
{
    v->pv.cr0_ts = a1 != 0;
    return 0;
}

/* Xen 4.17's VM assists for a 64-bit PV domain. */
#define PV64_VM_ASSIST_MASK ((1ULL << VMASST_TYPE_4gb_segments) |          \
                             (1ULL << VMASST_TYPE_4gb_segments_notify) |   \
                             (1ULL << VMASST_TYPE_writable_pagetables) |   \
                             (1ULL << VMASST_TYPE_pae_extended_cr3) |      \
                             (1ULL << VMASST_TYPE_architectural_iopl) |    \
                             (1ULL << VMASST_TYPE_runstate_update_flag) |  \
                             (1ULL << VMASST_TYPE_m2p_strict))

HYPERCALL_DECL(vm_assist)
{
    if (a2 >= 64 || !(PV64_VM_ASSIST_MASK & (1ULL << a2)))
        return -XL_EINVAL;
    /* Xen's d->vm_assist is per domain: every vcpu keeps the same copy. */
    struct vcpu *u;
    switch (a1) {
    case VMASST_CMD_enable:
        for_each_vcpu(v->domain, u)
            u->pv.vm_assist |= 1ULL << a2;
        return 0;
    case VMASST_CMD_disable:
        for_each_vcpu(v->domain, u)
            u->pv.vm_assist &= ~(1ULL << a2);
        return 0;
    default:
        return hc_unimplemented(v->domain, __HYPERVISOR_vm_assist, (unsigned int)a1);
    }
}

/* One read of field f of the guest's iret frame: the frame may be the
 * guest's own memory, which another of its vcpus can change meanwhile,
 * so each field is loaded once and only that value is checked and used. */
#define IRET_FIELD(p, f) __atomic_load_n(&(p)->f, __ATOMIC_RELAXED)

HYPERCALL_DECL(iret)
{
    struct iret_context c;
    struct cpu_regs *regs = &v->regs;
    const struct iret_context *g = running_frame_at(v, regs->rsp, sizeof(c), 0);

    if (!g) {
        if (copy_from_guest_va(v->cr3, &c, regs->rsp, sizeof(c))) {
            domain_crash(v->domain, "iret: frame at %016lx unreadable", regs->rsp);
            return 0;
        }
        g = &c;
    }
    /* all read before anything changes (the mode toggle included) */
    uint64_t cs = IRET_FIELD(g, cs), rflags = IRET_FIELD(g, rflags), rip = IRET_FIELD(g, rip);
    uint64_t rsp = IRET_FIELD(g, rsp), ss = IRET_FIELD(g, ss), flags = IRET_FIELD(g, flags);
    uint64_t rcx = IRET_FIELD(g, rcx), r11 = IRET_FIELD(g, r11), rax = IRET_FIELD(g, rax);
    if ((cs & 3) == 3 && v->pv.kernel_mode) {
        if (!v->guest_table_user) {
            domain_crash(v->domain, "iret: switch to user mode without a user page table");
            return 0;
        }
        pv_toggle_mode(v);
    }
    if (v->pv.vm_assist & (1ULL << VMASST_TYPE_architectural_iopl))
        v->pv.iopl = (unsigned int)(rflags >> 12) & 3;
    regs->rip = rip;
    regs->cs = cs | 3;
    regs->rflags = (rflags & ~(RFLAGS_IOPL | RFLAGS_VM)) | RFLAGS_IF;
    regs->rsp = rsp;
    regs->ss = ss | 3;
    if (flags & VGCF_in_syscall) {
        regs->rcx = regs->rip; /* as Xen's sysret leaves them */
        regs->r11 = regs->rflags;
    } else {
        regs->rcx = rcx;
        regs->r11 = r11;
    }
    v->info->evtchn_upcall_mask = !(rflags & RFLAGS_IF);
    return (long)rax; /* the dispatcher stores it in regs->rax */
}

/* ---------------------------------------------------- debug registers */

/* Xen 4.17's x86_adj_dr6_rsvd / x86_adj_dr7_rsvd for a CPU policy
 * without RTM or bus-lock detect (QEMU's TCG offers neither): DR6 bits
 * 4-11 and 16-31 read as 1, bit 12 and 32-63 as 0; DR7 bit 10 as 1, bits
 * 11, 12, 14, 15 and 32-63 as 0. */
#define DR6_ZEROS 0xffffffff00001000ULL
#define DR7_ZEROS 0xffffffff0000d800ULL
#define DR7_GD    (1ULL << 13)
#define DR_IO     2ULL
/* The guest's virtual CR4.DE: always clear here (the emulator takes no
 * mov to %cr4), so DR4/DR5 alias DR6/DR7 and I/O breakpoints are refused,
 * as Xen does for a guest that has not set CR4.DE. The upper halves of
 * DR6/DR7 are refused (-EINVAL) rather than forced. */
#define GUEST_CR4_DE 0

static uint64_t adj_dr6(uint64_t v)
{
    return (v | PV_DR6_DEFAULT) & ~DR6_ZEROS;
}

void pv_debug_trap(struct vcpu *v, uint64_t hw_dr6)
{
    uint64_t pos = adj_dr6(hw_dr6) ^ PV_DR6_DEFAULT; /* what this #DB reports */
    v->pv.dr6_pos = (v->pv.dr6_pos & ~0xfULL) | pos;
}

/* Xen's set_debugreg for a 64-bit PV vcpu: DR0-3 only guest-accessible
 * addresses (-EPERM), DR6 and DR7 with their reserved bits forced (bits
 * 32-63 set: -EINVAL), DR7.GD
 * -EPERM, an I/O breakpoint without CR4.DE -EPERM, other registers
 * -ENODEV. The CPU gets them on the way back to the guest (traps.c). */
HYPERCALL_DECL(set_debugreg)
{
    int reg = (int)a1;
    uint64_t value = a2;
    switch (reg) {
    case 0: case 1: case 2: case 3:
        if (!guest_va_ok(value))
            return -XL_EPERM; /* Xen: !access_ok(value, sizeof(long)) */
        v->pv.dr[reg] = value;
        return 0;
    case 4:
        if (GUEST_CR4_DE)
            return -XEN_ENODEV;
        /* fall through */
    case 6:
        if (value >> 32)
            return -XL_EINVAL; /* Xen: the upper half is strictly reserved */
        v->pv.dr6_pos = adj_dr6(value) ^ PV_DR6_DEFAULT;
        return 0;
    case 5:
        if (GUEST_CR4_DE)
            return -XEN_ENODEV;
        /* fall through */
    case 7:
        if (value >> 32)
            return -XL_EINVAL;
        value = (value | PV_DR7_DEFAULT) & ~DR7_ZEROS;
        if (value & DR7_GD)
            return -XL_EPERM;
        if (value & PV_DR7_ACTIVE)
            for (unsigned int i = 16; i < 32; i += 4)
                if (((value >> i) & 3) == DR_IO)
                    return -XL_EPERM; /* needs CR4.DE */
        v->pv.dr7 = value;
        return 0;
    default:
        return -XEN_ENODEV;
    }
}

/* Xen's do_get_debugreg (x86emul_read_dr): the value, or -ENODEV. */
HYPERCALL_DECL(get_debugreg)
{
    switch ((int)a1) {
    case 0: case 1: case 2: case 3:
        return (long)v->pv.dr[a1];
    case 4:
        if (GUEST_CR4_DE)
            return -XEN_ENODEV;
        /* fall through */
    case 6:
        return (long)(v->pv.dr6_pos ^ PV_DR6_DEFAULT);
    case 5:
        if (GUEST_CR4_DE)
            return -XEN_ENODEV;
        /* fall through */
    case 7:
        return (long)(v->pv.dr7 | PV_DR7_DEFAULT);
    default:
        return -XEN_ENODEV;
    }
}
