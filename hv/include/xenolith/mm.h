/*
 * mm.h - machine frames: the allocator instance, the frame table (owner,
 * page type, type count and reference count of every frame), the M2P table,
 * and how the hv reaches a frame's bytes.
 * Owns: struct page_info and the page-type / reference-count API
 * (page_type.c), the M2P (m2p.c), the PV MMU operations (mmu.c, memory.c).
 * Must never: be used from hv/common with inline asm; arch hooks are
 * declared here and defined in hv/arch/x86 (or by host tests).
 */
#ifndef XENOLITH_MM_H
#define XENOLITH_MM_H

#include <stdint.h>
#include <xenolith/page_alloc.h>
#include <xenolith/tlbflush.h>

struct domain;

#define DOMID_HV_OWNED 0x7FF2 /* DOMID_XEN: frames the hypervisor owns */
#define DOMID_FREE     0x7FFF /* DOMID_INVALID: free frame */
#define DOMID_IO_OWNED 0x7FF1 /* DOMID_IO: not RAM (MMIO, firmware, ACPI, the
                               * first MiB): never allocated, never counted;
                               * only a privileged domain maps it */
/* A frame its domain gave up (decrease_reservation, destroy) while other
 * page tables still referenced it: freed when the last reference goes. */
#define DOMID_ORPHAN   0x7FF5

/* Page types (Xen's PGT_*): a frame has exactly one while type_count > 0. */
#define PGT_none      0
#define PGT_l1        1
#define PGT_l2        2
#define PGT_l3        3
#define PGT_l4        4
#define PGT_writable  5
#define PGT_seg_desc  6

/* page_info.flags */
#define PGF_pinned    0x1 /* holds one get_page_and_type of its type */
/* Given up by its domain (decrease_reservation) while still referenced:
 * out of the M2P, but still owned by and charged to the domain (tot_pages)
 * until the last put_page frees it, as Xen frees a page and only then
 * takes it off d->tot_pages. */
#define PGF_removed   0x2
/* Taken by a XENMEM_exchange chunk in flight (memory.c): unreferenced,
 * freed or handed back before the hypercall returns. */
#define PGF_exchange  0x4
/* Preemptible validation (page_type.c; Xen's PGT_partial): a page-table
 * type is being validated, entries [0, nr_validated) hold references;
 * with PGF_partial_child entry nr_validated holds the next table down,
 * itself partial; PGF_partial_top: the top of such a chain, holding one
 * general reference of its own. */
#define PGF_partial       0x8
#define PGF_partial_child 0x10
#define PGF_partial_top   0x20
/* Devalidation pending: type_count is 0 but entries [0, nr_validated)
 * still hold references (PGF_deval); on its domain's queue, which holds a
 * general reference (PGF_devalq). */
#define PGF_deval         0x40
#define PGF_devalq        0x80

struct page_info {
    uint16_t owner;      /* domid, DOMID_HV_OWNED, DOMID_ORPHAN or DOMID_FREE */
    uint8_t type;        /* PGT_*: the type held while type_count > 0; after
                            that the last type held, so the next type change
                            knows to flush (PGT_none: never typed) */
    uint8_t flags;       /* PGF_* */
    uint32_t type_count; /* references of that type; page tables are
                            validated exactly while this is > 0 */
    uint32_t count;      /* general references (mappings, types, pins) */
    int32_t linear;      /* linear page tables: > 0 linear entries this table
                            holds, < 0 linear entries naming it (Xen's
                            linear_pt_count); never both */
    uint64_t tlbflush_stamp; /* tlbflush clock when the last type reference
                                (type_count -> 0) or the frame itself (freed)
                                went; 0: never. See tlbflush.h */
    uint32_t deval_next;     /* PGF_devalq: next mfn + 1 on the queue, 0 last */
    uint16_t nr_validated;   /* PGF_partial / PGF_deval: entries [0, n) held */
};

extern struct page_alloc hv_pages;
extern struct page_info *frame_table;
extern uint64_t max_mfn; /* frames [0, max_mfn) are covered by frame_table */

/* hv-virtual address of machine frame mfn (arch: the direct map; host
 * tests: their fake memory). */
void *mfn_to_virt(uint64_t mfn);
uint64_t virt_to_mfn(const void *va);

/* Allocate one zeroed frame for the hv / for domain domid; free it.
 * Returns the mfn, or -XL_ENOMEM. */
int64_t mm_alloc_frame(uint16_t owner);
/* 2^order contiguous zeroed frames aligned to their size, all owned by
 * owner. Returns the first mfn, or -XL_ENOMEM. */
int64_t mm_alloc_frames(uint16_t owner, unsigned int order);
/* The same with every frame below limit_mfn (XENMEM address_bits). */
int64_t mm_alloc_frames_below(uint16_t owner, unsigned int order, uint64_t limit_mfn);
/* Give a frame back to the allocator (M2P entry INVALID). A PGF_removed
 * frame is taken off its domain's tot_pages here. */
void mm_free_frame(uint64_t mfn);
/* Give back every frame owned by domid: first drop the references the
 * domain's own state holds (pins, base pointers; validated tables then
 * drop their entries' references, foreign mappings included), then free
 * each frame; a frame something still references becomes DOMID_ORPHAN and
 * is freed by the last put_page. The CPU subsystem's PGT_seg_desc
 * references (GDT/LDT) must be dropped before (domain_destroy calls
 * pv_destroy_gdt first), else those frames stay orphaned until it does.
 * Returns how many frames were freed now. */
uint64_t mm_free_domain_frames(uint16_t domid);
uint64_t mm_free_count(void);

/* ---- page types and reference counts (page_type.c) ----
 * Xen's rules for x86_64 PV direct paging. Every function checks mfn
 * against max_mfn and the owner; errors are negative Xen errno. */
int get_page(uint64_t mfn, uint16_t owner);
/* Drop one reference; the last one frees a DOMID_ORPHAN or PGF_removed
 * frame. */
void put_page(uint64_t mfn);
/* Take one reference of type `type`. Taking a page-table type on a frame
 * with type_count 0 validates every entry (taking their references; the
 * entries may only name frames of the table's own owner), and dropping the
 * last one drops them again. Taking PGT_l4 first overwrites slots 256..271
 * with the hv's own (arch_hv_l4_slots), whatever the guest wrote there. A frame already holding another type: -EINVAL.
 * An L1 entry that cannot be referenced is -EBUSY, as in Xen 4.17. */
int get_page_type(uint64_t mfn, unsigned int type);
void put_page_type(uint64_t mfn);
int get_page_and_type(uint64_t mfn, uint16_t owner, unsigned int type);
/* Preemption of page-type work (Xen's -ERESTART; page_type.c's header).
 * Between mm_preempt_begin and mm_preempt_end (a hypercall that can
 * continue) the work is budgeted: validation that runs out returns
 * MM_ERESTART (never guest-visible: the caller makes a continuation) and
 * leaves the frame partially validated, to be resumed by the next
 * get_page_type of it; dropped tables are devalidated by
 * mm_deval_drain. Outside (boot, host tests) all of it is done at once. */
#define MM_ERESTART    (-85) /* Xen's ERESTART (internal in Xen too) */
#define MM_WORK_BUDGET 8192 /* present entries per hypercall (and step) */
void mm_preempt_begin(void);
void mm_preempt_end(void);
/* Charge n units of work: 0 if the budget is gone (nothing charged). */
int mm_work_take(uint64_t n);
/* Devalidate d's queued tables within the budget: 0 when none is left,
 * MM_ERESTART if some are. */
int mm_deval_drain(struct domain *d);
int mm_deval_pending(const struct domain *d);
/* Give up d's partially validated chain, if any (its references are
 * queued to be dropped). */
void mm_abandon_partial(struct domain *d);
void put_page_and_type(uint64_t mfn);
/* Take / drop the references one entry of the level-`level` table
 * table_mfn owned by pt_owner needs (level 1: the target frame, writable
 * type if RW; levels 2-4: the next level's type, or for a read-only entry
 * naming a validated same-level table of pt_owner, a linear reference -
 * see page_type.c). pg_owner: domain whose frames an L1 entry may map
 * besides pt_owner's. 0, -XL_EINVAL, or -XL_EBUSY for an L1 entry. */
int get_entry_refs_at(unsigned int level, uint64_t e, uint64_t table_mfn, uint16_t pt_owner,
                      uint16_t pg_owner);
void put_entry_refs_at(unsigned int level, uint64_t e, uint64_t table_mfn);
/* The same without the table: linear entries are refused. */
int get_entry_refs(unsigned int level, uint64_t e, uint16_t pt_owner, uint16_t pg_owner);
void put_entry_refs(unsigned int level, uint64_t e);
/* May L1 entry old be replaced by new without taking or dropping any
 * reference (not present both, or the same RAM frame with the same RW bit,
 * an owner and flags get_entry_refs_at would accept)? 1: yes; 0: take the
 * full path (get new's references, put old's). See page_type.c. */
int l1_entry_keeps_refs(uint64_t old, uint64_t new, uint16_t pt_owner, uint16_t pg_owner);
/* Xen 4.17's adjust_guest_l{1,2,3,4}e for a 64-bit PV guest: what a
 * present entry a guest writes becomes in its table. L1: a kernel page
 * (no USER) gets USER and the software bit 52 (_PAGE_GUEST_KERNEL), a
 * user page gets _PAGE_GLOBAL; L2/L3: USER; L4: USER and ACCESSED.
 * Applied by mm_pt_update and when a table is validated. */
uint64_t pv_adjust_guest_entry(unsigned int level, uint64_t e);
/* Is slot i of an L4 one the hv fills (256..271)? */
int l4_slot_is_hv(unsigned int i);

/* ---- the M2P table (m2p.c) ---- */
extern uint64_t *m2p_table;     /* hv view (direct map), max_mfn entries */
extern uint64_t m2p_first_mfn;  /* first frame of the (contiguous) table */
extern uint64_t m2p_bytes;      /* bytes mapped for guests at M2P_BASE */
/* Allocate the table (every entry INVALID_M2P_ENTRY) and map it read-only
 * and user-readable at M2P_BASE in the hv L4 slot every guest L4 copies.
 * Must run before the first domain is built. 0 or -XL_ENOMEM. */
int m2p_init(void);
static inline void m2p_set(uint64_t mfn, uint64_t pfn)
{
    if (m2p_table && mfn < max_mfn)
        m2p_table[mfn] = pfn;
}
static inline uint64_t m2p_get(uint64_t mfn)
{
    return (m2p_table && mfn < max_mfn) ? m2p_table[mfn] : ~0ULL;
}

/* ---- PV MMU operations (mmu.c), the cores of the hypercalls ---- */
struct vcpu;
struct domain;
/* MMU_NORMAL_PT_UPDATE / MMU_PT_UPDATE_PRESERVE_AD / MMU_PT_UPDATE_NO_TRANSLATE
 * of the entry at machine address ptr (8-byte aligned) in a frame of
 * pt_owner; flags below. */
#define MM_PT_PRESERVE_AD   1
#define MM_PT_NO_TRANSLATE  2 /* a translated pg_owner's frame named by mfn */
int mm_pt_update(uint16_t pt_owner, uint16_t pg_owner, uint64_t ptr, uint64_t val,
                 int flags);
/* Update the L1 entry that maps va under the L4 frame l4_mfn. */
int mm_update_va(uint16_t pt_owner, uint16_t pg_owner, uint64_t l4_mfn, uint64_t va,
                 uint64_t val);
/* mm_pt_update of an entry that must be in a validated L1 of pt_owner
 * (-XL_EINVAL otherwise); *old: what it held before (set whenever the
 * entry was reached, also when the update is refused). */
int mm_l1_update(uint16_t pt_owner, uint16_t pg_owner, uint64_t ptr, uint64_t val,
                 uint64_t *old);
/* Machine address of the L1 entry that maps va under the L4 frame l4_mfn
 * (walked now, every call: nothing is cached), in a validated L1 owned by
 * owner. 0, or -XL_EINVAL (bad va, a level not present or a superpage,
 * the L1 not owner's or not a validated L1). */
int mm_l1_of_va(uint16_t owner, uint64_t l4_mfn, uint64_t va, uint64_t *ptr);
/* A pointer to guest bytes [va, va + len) through the direct map when
 * they lie in one page that v's tables (cr3) let the guest read, or write
 * if write (Accessed/Dirty set as a copy would); NULL otherwise, and the
 * caller uses copy_{from,to}_guest_va (which gives the error). */
void *mm_guest_ptr(uint64_t cr3, uint64_t va, uint64_t len, int write);
int mm_pin(uint16_t owner, uint64_t mfn, unsigned int type);
int mm_unpin(uint16_t owner, uint64_t mfn);
int mm_new_baseptr(struct vcpu *v, uint64_t mfn, int user);
/* decrease_reservation of one frame (memory.c): unpin it, take it out of
 * the M2P; freed now (and off d->tot_pages) if unreferenced, else marked
 * PGF_removed and still charged to d until its last put_page. 0 (also for
 * a frame already removed) or -XL_EINVAL (not d's, or d's shared_info). */
int mm_remove_page(struct domain *d, uint64_t mfn);
/* Extent orders of populate_physmap / decrease_reservation (Xen's
 * max_order): MM_MAX_ORDER for the control domain, MM_DOMU_MAX_ORDER for
 * the others; a larger order makes the call do nothing. */
#define MM_MAX_ORDER      20
#define MM_DOMU_MAX_ORDER 9
unsigned int mm_max_extent_order(const struct domain *caller);
/* Drop what a domain's own state holds: pins of its frames, base ptrs
 * (all at once, with no budget: mm_release_vcpus, then mm_release_pins). */
void mm_release_domain(struct domain *d);
/* Its vcpus' base pointers and LDTs, and its partially validated chain. */
void mm_release_vcpus(struct domain *d);
/* The pins of its frames from *cursor on, within the budget: 0 when all
 * are gone, MM_ERESTART with *cursor where to go on. */
int mm_release_pins(struct domain *d, uint64_t *cursor);
/* One bounded step of giving back every frame of dying domain d (Xen's
 * relinquish_resources; stages and cursors in d->destroy_*): its vcpus'
 * tables, its pins, the devalidation of its tables, then each frame freed
 * (or DOMID_ORPHAN while another domain references it). 0 when done (the
 * number freed in d->destroy_freed), MM_ERESTART when another step is
 * needed. The caller sets the budget (mm_preempt_begin) or none. */
int mm_relinquish_step(struct domain *d);

/* MMUEXT_SET_LDT, stored for the CPU subsystem (not loaded by mm). */
struct mm_ldt {
    uint64_t linear_addr;
    unsigned int nr_ents;
};
/* The LDT vcpu `vcpu` of domain domid last set (zeroes if none). */
const struct mm_ldt *mm_vcpu_ldt(uint16_t domid, unsigned int vcpu);

/* TLB maintenance of the running CPU (arch; host tests provide their own).
 * Full flushes go through flush_tlb_local() (tlbflush.h), which records
 * them on the flush clock. */
void arch_invlpg(uint64_t va);
/* Write back and invalidate caches (MMUEXT_FLUSH_CACHE). */
void arch_flush_cache(void);
/* Load the hypervisor's own page tables (before a guest's are freed). */
void arch_leave_guest_page_tables(void);
/* d is being destroyed (none of its vcpus runs on another CPU): no CPU
 * may keep taking the x87/SSE state in its registers for one of d's vcpu
 * slots, which a new domain will reuse (traps.c's lazy FPU owner). */
void arch_forget_domain_cpu_state(const struct domain *d);
/* Set one of the hv's L4 slots (256..271) copied into every guest L4. */
void arch_set_hv_l4_slot(unsigned int slot, uint64_t entry);
/* The hv's L4 (all 512 slots; 256..271 are the ones guests get). */
const uint64_t *arch_hv_l4_slots(void);
/* Load cr3 into the CPU now (Xen's write_ptbase): mmu.c calls it for the
 * running vcpu before dropping the reference of the table it replaces. */
void arch_write_ptbase(uint64_t cr3);

/* E820 memory-map entries as XENMEM_memory_map and
 * XENMEM_machine_memory_map hand them out (Xen's public e820 layout). */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4
struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));

/* Append one range of the machine's map (called at boot, in address
 * order; adjacent ranges of one type merge). */
void memory_add_machine_range(uint64_t addr, uint64_t size, uint32_t type);

/* Is mfn I/O memory (Xen's dom_io frames and frames past the frame
 * table)? Fixed at boot, so a mapping's count rule never changes. */
static inline int mm_is_io_frame(uint64_t mfn)
{
    return mfn >= max_mfn || frame_table[mfn].owner == DOMID_IO_OWNED;
}

/* May pg_owner map I/O frame mfn (writable if rw)? 0, or Xen's -EPERM for
 * an unprivileged domain or a frame the hv keeps (local APIC, I/O APIC). */
int mm_io_map_ok(uint16_t pg_owner, uint64_t mfn, int rw);

#endif
