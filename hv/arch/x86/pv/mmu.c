/*
 * mmu.c - the PV MMU hypercalls: mmu_update, mmuext_op, update_va_mapping
 * and update_va_mapping_otherdomain, on top of page_type.c (Xen's x86_64
 * direct paging rules; see mm.h).
 * Owns: writes to guest page-table entries, pins, the vcpu base pointers
 * (guest_table, guest_table_user) and the stored LDT. mmu_update and
 * mmuext_op run their page-type work on a budget (page_type.c): an entry
 * that runs out of it is re-issued by a continuation (Xen's pdone
 * semantics), and tables they drop are devalidated before the batch
 * returns. Must never: write an
 * entry whose new references could not be taken, drop references before
 * the new ones are held, or touch a frame the caller does not own (except
 * through an L1 entry for the privileged caller's explicit foreign domain).
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/pte.h>
#include <xenolith/tlbflush.h>

/* Xen's continuation bit in the count of mmu_update / mmuext_op. */
#define MMU_UPDATE_PREEMPTED (~(~0U >> 1))

static struct mm_ldt ldts[MAX_DOMAINS][MAX_VCPUS];

const struct mm_ldt *mm_vcpu_ldt(uint16_t domid, unsigned int vcpu)
{
    static const struct mm_ldt none;
    return domid < MAX_DOMAINS && vcpu < MAX_VCPUS ? &ldts[domid][vcpu] : &none;
}

/* pv_desc.c loads the LDT; host tests that link mmu.c alone get this. */
__attribute__((weak)) void pv_set_ldt(struct vcpu *v, uint64_t base, unsigned int ents)
{
    (void)v; (void)base; (void)ents;
}

static int frame_owned(uint64_t mfn, uint16_t owner)
{
    return mfn < max_mfn && frame_table[mfn].owner == owner;
}

/* A frame's entries through the direct map (host tests: fake memory). */
#ifdef XL_HOST_TEST
#define TABLE_AT(mfn) ((uint64_t *)mfn_to_virt(mfn))
#else
#define TABLE_AT(mfn) ((uint64_t *)(DIRECTMAP_BASE + ((mfn) << PAGE_SHIFT)))
#endif

void *mm_guest_ptr(uint64_t cr3, uint64_t va, uint64_t len, int write)
{
    uint64_t ma;
    if (!len || len > PAGE_SIZE - (va & (PAGE_SIZE - 1)) || guest_translate(cr3, va, write, &ma))
        return NULL;
    return (uint8_t *)TABLE_AT(ma >> PAGE_SHIFT) + (ma & (PAGE_SIZE - 1));
}

/* Write L1 entry e (in a validated L1 of pt_owner, frame l1_mfn): the
 * fast path when no reference changes (l1_entry_keeps_refs), else new's
 * references first, then old's dropped. */
static int write_l1e(uint64_t *e, uint64_t l1_mfn, uint64_t val, uint16_t pt_owner,
                     uint16_t pg_owner, int translate)
{
    uint64_t old = *e;
    /* A translated (HVM/PVH) foreign domain's frames are named by their
     * guest frame number, as in Xen's mod_l1_entry: its p2m says which
     * machine frame that is (a hole: -EINVAL) - unless the caller names
     * the machine frame itself (MMU_PT_UPDATE_NO_TRANSLATE: an ioreq
     * page from XENMEM_acquire_resource, the domain's but in no p2m). */
    if (translate && pg_owner != pt_owner && (val & PTE_P)) {
        struct domain *fd = domain_by_id(pg_owner);
        if (fd && fd->hvm) {
            int64_t m = hvm_gfn_to_mfn(fd, (val & PTE_ADDR) >> PAGE_SHIFT);
            if (m < 0)
                return -XL_EINVAL;
            val = (val & ~PTE_ADDR) | ((uint64_t)m << PAGE_SHIFT);
        }
    }
    if (l1_entry_keeps_refs(old, val, pt_owner, pg_owner)) {
        *e = pv_adjust_guest_entry(1, val);
        return 0;
    }
    int rc = get_entry_refs_at(1, val, l1_mfn, pt_owner, pg_owner);
    if (rc)
        return rc;
    *e = pv_adjust_guest_entry(1, val);
    put_entry_refs_at(1, old, l1_mfn);
    return 0;
}

int mm_l1_update(uint16_t pt_owner, uint16_t pg_owner, uint64_t ptr, uint64_t val,
                 uint64_t *old)
{
    uint64_t mfn = ptr >> PAGE_SHIFT;
    /* a partially validated L1 (page_type.c) holds no references past
     * nr_validated: writing there would drop one never taken */
    if (!frame_owned(mfn, pt_owner) || (ptr & 7) || frame_table[mfn].type != PGT_l1 ||
        !frame_table[mfn].type_count || (frame_table[mfn].flags & PGF_partial))
        return -XL_EINVAL;
    uint64_t *e = TABLE_AT(mfn) + ((ptr & (PAGE_SIZE - 1)) >> 3);
    *old = *e;
    return write_l1e(e, mfn, val, pt_owner, pg_owner, 1);
}

int mm_l1_of_va(uint16_t owner, uint64_t l4_mfn, uint64_t va, uint64_t *ptr)
{
    if (!guest_va_ok(va) || l4_mfn >= max_mfn)
        return -XL_EINVAL;
    uint64_t e = TABLE_AT(l4_mfn)[(va >> 39) & 511];
    for (unsigned int shift = 30; shift >= 21; shift -= 9) {
        uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
        if ((e & (PTE_P | PTE_PS)) != PTE_P || mfn >= max_mfn)
            return -XL_EINVAL;
        e = TABLE_AT(mfn)[(va >> shift) & 511];
    }
    uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
    if ((e & (PTE_P | PTE_PS)) != PTE_P || !frame_owned(mfn, owner) ||
        frame_table[mfn].type != PGT_l1 || !frame_table[mfn].type_count ||
        (frame_table[mfn].flags & PGF_partial))
        return -XL_EINVAL;
    *ptr = (mfn << PAGE_SHIFT) | (((va >> PAGE_SHIFT) & 511) << 3);
    return 0;
}

int mm_pt_update(uint16_t pt_owner, uint16_t pg_owner, uint64_t ptr, uint64_t val,
                 int flags)
{
    uint64_t mfn = ptr >> PAGE_SHIFT;
    if (!frame_owned(mfn, pt_owner) || (ptr & 7))
        return -XL_EINVAL;
    struct page_info *pg = &frame_table[mfn];
    uint64_t *e = TABLE_AT(mfn) + ((ptr & (PAGE_SIZE - 1)) >> 3);
    /* A partially validated table (page_type.c) is no table yet: its
     * entries past nr_validated hold nothing; the plain-write path below
     * refuses it (it holds a page-table type). */
    if (pg->type_count && pg->type >= PGT_l1 && pg->type <= PGT_l4 &&
        !(pg->flags & PGF_partial)) {
        unsigned int level = pg->type;
        if (level == 4 && l4_slot_is_hv((unsigned int)((ptr & (PAGE_SIZE - 1)) >> 3)))
            return -XL_EINVAL; /* the hv fills its own slots */
        uint64_t old = *e;
        if (flags & MM_PT_PRESERVE_AD)
            val = (val & ~(PTE_A | PTE_D)) | (old & (PTE_A | PTE_D));
        if (level == 1)
            return write_l1e(e, mfn, val, pt_owner, pg_owner, !(flags & MM_PT_NO_TRANSLATE));
        int rc = get_entry_refs_at(level, val, mfn, pt_owner, pg_owner);
        if (rc)
            return rc;
        *e = pv_adjust_guest_entry(level, val); /* Xen's adjust_guest_lNe */
        put_entry_refs_at(level, old, mfn);
        return 0;
    }
    /* Not a page table: as Xen does, a plain write if the frame can be
     * writable (untyped or already writable), else refused. */
    int rc = get_page_and_type(mfn, pt_owner, PGT_writable);
    if (rc)
        return rc;
    *e = val;
    put_page_and_type(mfn);
    return 0;
}

int mm_update_va(uint16_t pt_owner, uint16_t pg_owner, uint64_t l4_mfn, uint64_t va,
                 uint64_t val)
{
    uint64_t ptr;
    int rc = mm_l1_of_va(pt_owner, l4_mfn, va, &ptr);
    if (rc)
        return rc;
    return write_l1e(TABLE_AT(ptr >> PAGE_SHIFT) + ((ptr & (PAGE_SIZE - 1)) >> 3),
                     ptr >> PAGE_SHIFT, val, pt_owner, pg_owner, 1);
}

int mm_pin(uint16_t owner, uint64_t mfn, unsigned int type)
{
    int rc = get_page_and_type(mfn, owner, type);
    if (rc)
        return rc;
    if (frame_table[mfn].flags & PGF_pinned) {
        put_page_and_type(mfn);
        return -XL_EINVAL; /* already pinned */
    }
    frame_table[mfn].flags |= PGF_pinned;
    return 0;
}

int mm_unpin(uint16_t owner, uint64_t mfn)
{
    if (!frame_owned(mfn, owner) || !(frame_table[mfn].flags & PGF_pinned))
        return -XL_EINVAL;
    frame_table[mfn].flags &= (uint8_t)~PGF_pinned;
    put_page_and_type(mfn);
    return 0;
}

int mm_new_baseptr(struct vcpu *v, uint64_t mfn, int user)
{
    uint64_t *slot = user ? &v->guest_table_user : &v->guest_table;
    if (mfn || !user) {
        int rc = get_page_and_type(mfn, v->domain->domid, PGT_l4);
        if (rc)
            return rc;
    }
    uint64_t old = *slot;
    *slot = mfn;
    pv_update_cr3(v);
    /* Xen's write_ptbase before put_page_and_type: the old table may be
     * the one the CPU runs on, and dropping its last reference makes it
     * an ordinary frame (clearable, freeable) - so leave it first. */
    if (v == current)
        arch_write_ptbase(v->cr3);
    if (old)
        put_page_and_type(old);
    return 0;
}

void mm_release_vcpus(struct domain *d)
{
    struct vcpu *v;
    mm_abandon_partial(d);
    for_each_vcpu(d, v) {
        if (v->guest_table)
            put_page_and_type(v->guest_table);
        if (v->guest_table_user)
            put_page_and_type(v->guest_table_user);
        v->guest_table = v->guest_table_user = 0;
    }
    if (d->domid < MAX_DOMAINS)
        memset(ldts[d->domid], 0, sizeof(ldts[d->domid]));
}

int mm_release_pins(struct domain *d, uint64_t *cursor)
{
    for (uint64_t mfn = *cursor; mfn < max_mfn; mfn++) {
        if ((mfn & 255) == 0 && !mm_work_take(1)) {
            *cursor = mfn;
            return MM_ERESTART;
        }
        if (frame_table[mfn].owner == d->domid && (frame_table[mfn].flags & PGF_pinned)) {
            frame_table[mfn].flags &= (uint8_t)~PGF_pinned;
            put_page_and_type(mfn);
        }
    }
    *cursor = max_mfn;
    return 0;
}

void mm_release_domain(struct domain *d)
{
    uint64_t cursor = 0;
    mm_release_vcpus(d);
    (void)mm_release_pins(d, &cursor); /* no budget: always all of them */
}

/* The domain whose frames the caller names (Xen's get_pg_owner): itself
 * for DOMID_SELF; naming its own id explicitly, an unknown or a special
 * domain is -ESRCH; another domain only for a privileged caller (-EPERM). */
static int pg_owner_of(const struct vcpu *v, uint64_t foreigndom, uint16_t *out)
{
    const struct domain *d = v->domain;
    uint16_t id = (uint16_t)foreigndom;
    if (foreigndom >> 16)
        return -XL_EINVAL; /* separate pt_owner (Xen's pt_dom) not supported */
    if (id == DOMID_SELF) {
        *out = d->domid;
        return 0;
    }
    if (id == d->domid || !domain_by_id(id) || domain_by_id(id)->destroy_stage)
        return -XL_ESRCH; /* a dying domain's frames are being given back */
    if (!d->privileged)
        return -XL_EPERM;
    *out = id;
    return 0;
}

/* Progress of a continued mmu_update / mmuext_op: pdone accumulates
 * across continuations (Xen reads it back when MMU_UPDATE_PREEMPTED is
 * set in count, and adds this call's work to it). */
static unsigned int read_done(struct vcpu *v, uint64_t count, uint64_t pdone)
{
    unsigned int done = 0;
    if ((count & MMU_UPDATE_PREEMPTED) && pdone)
        (void)copy_from_guest_va(v->cr3, &done, pdone, sizeof(done));
    return done;
}

static int write_done(struct vcpu *v, uint64_t pdone, unsigned int done)
{
    if (!pdone)
        return 0;
    return copy_to_guest_va(v->cr3, pdone, &done, sizeof(done)) ? -XL_EFAULT : 0;
}

/* Look at the clock every this many list entries (never before the
 * first, so every call makes progress). */
#define MM_PREEMPT_EVERY 16

static int time_to_preempt(uint64_t i)
{
    return i && (i % MM_PREEMPT_EVERY) == 0 && hypercall_preempt_check();
}

/* mmu_update / mmuext_op preempted after i of count entries of list:
 * pdone gets what is done so far and the call is re-issued for the rest
 * (count | MMU_UPDATE_PREEMPTED, as Xen). */
static long continue_batch(struct vcpu *v, unsigned int nr, uint64_t list, size_t elem,
                           unsigned int i, unsigned int count, unsigned int done,
                           uint64_t pdone, uint64_t a4, uint64_t a5)
{
    int rc = write_done(v, pdone, done + i);
    if (rc)
        return rc;
    return hypercall_continuation(v, nr, list + (uint64_t)i * elem,
                                  (count - i) | MMU_UPDATE_PREEMPTED, pdone, a4, a5);
}

/* Page-type work left over (a failed or abandoned validation) is done
 * before a batch starts: MM_ERESTART if it needs another call. */
static int drain_first(struct vcpu *v)
{
    return mm_deval_pending(v->domain) ? mm_deval_drain(v->domain) : 0;
}

static long mmu_update_batch(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                             uint64_t a5);

HYPERCALL_DECL(mmu_update)
{
    mm_preempt_begin();
    long rc = mmu_update_batch(v, a1, a2, a3, a4, a5);
    mm_preempt_end();
    return rc;
}

static long mmu_update_batch(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                             uint64_t a5)
{
    uint16_t pg_owner;
    unsigned int count = (unsigned int)a2 & ~MMU_UPDATE_PREEMPTED, i;
    int rc = pg_owner_of(v, a4, &pg_owner);
    if (rc)
        return rc;
    if (drain_first(v))
        return hypercall_continuation(v, __HYPERVISOR_mmu_update, a1, a2, a3, a4, a5);
    unsigned int done = read_done(v, a2, a3);
    uint16_t self = v->domain->domid;
    for (i = 0; i < count; i++) {
        mmu_update_t req;
        if (time_to_preempt(i))
            return continue_batch(v, __HYPERVISOR_mmu_update, a1, sizeof(req), i, count, done,
                                  a3, a4, a5);
        uint64_t va = a1 + (uint64_t)i * sizeof(req);
        const mmu_update_t *g = mm_guest_ptr(v->cr3, va, sizeof(req), 0);
        if (g)
            req = *g;
        else if (copy_from_guest_va(v->cr3, &req, va, sizeof(req))) {
            rc = -XL_EFAULT;
            break;
        }
        switch (req.ptr & 7) {
        case MMU_NORMAL_PT_UPDATE:
        case MMU_PT_UPDATE_PRESERVE_AD:
            rc = mm_pt_update(self, pg_owner, req.ptr & ~7ULL, req.val,
                              (req.ptr & 7) == MMU_PT_UPDATE_PRESERVE_AD ? MM_PT_PRESERVE_AD : 0);
            break;
        case MMU_PT_UPDATE_NO_TRANSLATE: /* the frame is named by its mfn even for a translated pg_owner */
            rc = mm_pt_update(self, pg_owner, req.ptr & ~7ULL, req.val, MM_PT_NO_TRANSLATE);
            break;
        case MMU_MACHPHYS_UPDATE:
            if (frame_owned(req.ptr >> PAGE_SHIFT, pg_owner))
                m2p_set(req.ptr >> PAGE_SHIFT, req.val);
            else
                rc = -XL_EINVAL;
            break;
        default: /* unknown ones */
            rc = hc_unimplemented(v->domain, __HYPERVISOR_mmu_update, (unsigned int)(req.ptr & 7));
        }
        if (rc == MM_ERESTART) /* this entry again, where its validation stopped */
            return continue_batch(v, __HYPERVISOR_mmu_update, a1, sizeof(req), i, count, done,
                                  a3, a4, a5);
        if (rc)
            break;
        if (mm_deval_drain(v->domain)) /* what the old entry held: the next call goes on */
            return continue_batch(v, __HYPERVISOR_mmu_update, a1, sizeof(req), i + 1, count,
                                  done, a3, a4, a5);
    }
    int drc = write_done(v, a3, done + i);
    return rc ? rc : drc;
}

static int vcpumask_ok(struct vcpu *v, uint64_t mask_va)
{
    uint64_t mask;
    return copy_from_guest_va(v->cr3, &mask, mask_va, sizeof(mask)) ? -XL_EFAULT : 0;
}

static int copy_or_clear(uint16_t owner, uint64_t dst, int copy, uint64_t src)
{
    if (copy && get_page(src, owner))
        return -XL_EINVAL;
    int rc = get_page_and_type(dst, owner, PGT_writable);
    if (rc) {
        if (copy)
            put_page(src);
        return rc;
    }
    if (copy)
        memcpy(mfn_to_virt(dst), mfn_to_virt(src), PAGE_SIZE);
    else
        memset(mfn_to_virt(dst), 0, PAGE_SIZE);
    put_page_and_type(dst);
    if (copy)
        put_page(src);
    return 0;
}

static int mmuext_one(struct vcpu *v, uint16_t pg_owner, const struct mmuext_op *op)
{
    struct domain *d = v->domain;
    switch (op->cmd) {
    case MMUEXT_PIN_L1_TABLE:
    case MMUEXT_PIN_L2_TABLE:
    case MMUEXT_PIN_L3_TABLE:
    case MMUEXT_PIN_L4_TABLE:
        return mm_pin(pg_owner, op->arg1.mfn, PGT_l1 + (op->cmd - MMUEXT_PIN_L1_TABLE));
    case MMUEXT_UNPIN_TABLE:
        return mm_unpin(pg_owner, op->arg1.mfn);
    case MMUEXT_NEW_BASEPTR:
    case MMUEXT_NEW_USER_BASEPTR:
        if (pg_owner != d->domid)
            return -XL_EPERM;
        return mm_new_baseptr(v, op->arg1.mfn, op->cmd == MMUEXT_NEW_USER_BASEPTR);
    case MMUEXT_TLB_FLUSH_MULTI:
        if (vcpumask_ok(v, (uint64_t)op->arg2.vcpumask.p))
            return -XL_EFAULT;
        __attribute__((fallthrough)); /* every CPU with its tables: a superset */
    case MMUEXT_TLB_FLUSH_ALL:
        flush_tlb_mask(v->domain->dirty_cpumask | (1ULL << smp_processor_id()));
        return 0;
    case MMUEXT_TLB_FLUSH_LOCAL:
        flush_tlb_local();
        return 0;
    case MMUEXT_INVLPG_MULTI:
        if (vcpumask_ok(v, (uint64_t)op->arg2.vcpumask.p))
            return -XL_EFAULT;
        __attribute__((fallthrough));
    case MMUEXT_INVLPG_ALL:
        /* Other CPUs flush whole (one flush IPI kind), this one the page. */
        arch_invlpg(op->arg1.linear_addr);
        flush_tlb_mask(v->domain->dirty_cpumask & ~(1ULL << smp_processor_id()));
        return 0;
    case MMUEXT_INVLPG_LOCAL:
        arch_invlpg(op->arg1.linear_addr);
        return 0;
    case MMUEXT_FLUSH_CACHE:
    case MMUEXT_FLUSH_CACHE_GLOBAL:
        if (pg_owner != d->domid)
            return -XL_EPERM;
        /* Only a domain with I/O resources (Xen's cache_flush_permitted:
         * here dom0); Xen 4.17 refuses the others with -EACCES for
         * FLUSH_CACHE but -EINVAL for FLUSH_CACHE_GLOBAL. */
        if (!d->privileged)
            return op->cmd == MMUEXT_FLUSH_CACHE ? -XL_EACCES : -XL_EINVAL;
        arch_flush_cache();
        return 0;
    case MMUEXT_COPY_PAGE:
        return copy_or_clear(pg_owner, op->arg1.mfn, 1, op->arg2.src_mfn);
    case MMUEXT_CLEAR_PAGE:
        return copy_or_clear(pg_owner, op->arg1.mfn, 0, 0);
    case MMUEXT_SET_LDT: {
        /* Xen: only the base is checked (page aligned, guest-accessible);
         * a changed LDT drops the old one's frames (pv_desc.c). */
        unsigned int ents = op->arg2.nr_ents;
        uint64_t la = ents ? op->arg1.linear_addr : 0;
        if (pg_owner != d->domid)
            return -XL_EPERM;
        if ((la & (PAGE_SIZE - 1)) || !guest_va_ok(la) || ents > 8192)
            return -XL_EINVAL;
        /* Per vcpu, as in Xen: the caller's own LDT. */
        if (d->domid < MAX_DOMAINS && v->id < MAX_VCPUS &&
            (ldts[d->domid][v->id].linear_addr != la || ldts[d->domid][v->id].nr_ents != ents)) {
            ldts[d->domid][v->id] = (struct mm_ldt){ .linear_addr = la, .nr_ents = ents };
            pv_set_ldt(v, la, ents);
        }
        return 0;
    }
    default: /* MARK_SUPER, UNMARK_SUPER (superpages) and unknown ones */
        return (int)hc_unimplemented(d, __HYPERVISOR_mmuext_op, op->cmd);
    }
}

static long mmuext_op_batch(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                            uint64_t a5);

HYPERCALL_DECL(mmuext_op)
{
    mm_preempt_begin();
    long rc = mmuext_op_batch(v, a1, a2, a3, a4, a5);
    mm_preempt_end();
    return rc;
}

static long mmuext_op_batch(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                            uint64_t a5)
{
    uint16_t pg_owner;
    unsigned int count = (unsigned int)a2 & ~MMU_UPDATE_PREEMPTED, i;
    int rc = pg_owner_of(v, a4, &pg_owner);
    if (rc)
        return rc;
    if (drain_first(v))
        return hypercall_continuation(v, __HYPERVISOR_mmuext_op, a1, a2, a3, a4, a5);
    unsigned int done = read_done(v, a2, a3);
    for (i = 0; i < count; i++) {
        struct mmuext_op op;
        if (time_to_preempt(i))
            return continue_batch(v, __HYPERVISOR_mmuext_op, a1, sizeof(op), i, count, done,
                                  a3, a4, a5);
        if (copy_from_guest_va(v->cr3, &op, a1 + (uint64_t)i * sizeof(op), sizeof(op))) {
            rc = -XL_EFAULT;
            break;
        }
        HCSTAT_SUB(&v->domain->hcstat, mmuext_op, op.cmd); /* per op, not per call */
        rc = mmuext_one(v, pg_owner, &op);
        if (rc == MM_ERESTART) /* this op again, where its validation stopped */
            return continue_batch(v, __HYPERVISOR_mmuext_op, a1, sizeof(op), i, count, done,
                                  a3, a4, a5);
        if (rc)
            break;
        if (mm_deval_drain(v->domain)) /* an unpin's tables: the next call goes on */
            return continue_batch(v, __HYPERVISOR_mmuext_op, a1, sizeof(op), i + 1, count,
                                  done, a3, a4, a5);
    }
    int drc = write_done(v, a3, done + i);
    return rc ? rc : drc;
}

static long update_va(struct vcpu *v, uint16_t pg_owner, uint64_t va, uint64_t val,
                      uint64_t flags)
{
    int rc = mm_update_va(v->domain->domid, pg_owner, v->cr3 >> PAGE_SHIFT, va, val);
    if (rc)
        return rc;
    /* UVMF_ALL or a vcpu mask (UVMF_MULTI): every CPU with the domain's
     * tables (a superset of the vcpus named); otherwise this CPU. */
    uint64_t others = (flags & ~(uint64_t)UVMF_FLUSHTYPE_MASK)
                          ? v->domain->dirty_cpumask & ~(1ULL << smp_processor_id()) : 0;
    switch (flags & UVMF_FLUSHTYPE_MASK) {
    case UVMF_TLB_FLUSH:
        flush_tlb_local();
        if (others)
            flush_tlb_mask(others);
        break;
    case UVMF_INVLPG:
        arch_invlpg(va);
        if (others)
            flush_tlb_mask(others);
        break;
    default:
        return 0; /* UVMF_NONE (and 3, which Xen ignores too) */
    }
    uint64_t mask_va = flags & ~(uint64_t)(UVMF_FLUSHTYPE_MASK | UVMF_ALL);
    if (!(flags & UVMF_ALL) && mask_va && vcpumask_ok(v, mask_va))
        return -XL_EFAULT; /* UVMF_MULTI with a bad vcpumask pointer */
    return 0;
}

HYPERCALL_DECL(update_va_mapping)
{
    (void)a4; (void)a5;
    return update_va(v, v->domain->domid, a1, a2, a3);
}

HYPERCALL_DECL(update_va_mapping_otherdomain)
{
    (void)a5;
    uint16_t pg_owner;
    int rc = pg_owner_of(v, a4, &pg_owner);
    if (rc)
        return rc;
    return update_va(v, pg_owner, a1, a2, a3);
}
