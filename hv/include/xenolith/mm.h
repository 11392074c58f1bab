/*
 * mm.h - machine frames: the allocator instance, the frame table (owner,
 * type, count of every frame) and how the hv reaches a frame's bytes.
 */
#ifndef XENOLITH_MM_H
#define XENOLITH_MM_H

#include <stdint.h>
#include <xenolith/page_alloc.h>

#define DOMID_HV_OWNED 0x7FF2 /* DOMID_XEN: frames the hypervisor owns */
#define DOMID_FREE     0x7FFF /* DOMID_INVALID: free frame */

#define PGT_none      0
#define PGT_l1        1
#define PGT_l2        2
#define PGT_l3        3
#define PGT_l4        4
#define PGT_writable  5

struct page_info {
    uint16_t owner;  /* domid, DOMID_HV_OWNED, or DOMID_FREE */
    uint8_t type;    /* PGT_* */
    uint8_t pad;
    uint32_t count;  /* references of that type */
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
void mm_free_frame(uint64_t mfn);
/* Free every frame owned by domid; returns how many. */
uint64_t mm_free_domain_frames(uint16_t domid);
uint64_t mm_free_count(void);

/* TLB maintenance of the running CPU (arch; host tests provide their own). */
void arch_flush_tlb(void);
void arch_invlpg(uint64_t va);
/* Load the hypervisor's own page tables (before a guest's are freed). */
void arch_leave_guest_page_tables(void);

#endif
