/*
 * fake_mem.h - the fake machine the hv's memory unit tests link
 * (fake_mem.c): machine memory, its frame table and allocator, and the
 * arch paging hooks of mm.h as recorders. fake_console.c (printk, panic)
 * and fake_domains.c (domains[], current, domain_by_id) are for tests
 * that do not link console.c or domain.c.
 * Owns: the fake memory and the hook counters. Must never: be linked
 * into the hypervisor.
 */
#ifndef TESTS_FAKE_MEM_H
#define TESTS_FAKE_MEM_H

#include <stdint.h>

/* nframes frames of 0xEE-filled memory, mfn == index; frames below
 * first_free hv-owned, the rest free in hv_pages; max_mfn = nframes,
 * no M2P; every hook counter and recorder back to 0. */
void fake_mem_setup(uint64_t nframes, uint64_t first_free);
void fake_mem_teardown(void);
extern uint8_t *fake_mem;

/* What the arch paging hooks saw since fake_mem_setup. */
extern int fake_tlb_flushes, fake_invlpgs, fake_cache_flushes, fake_ptbase_writes;
extern uint64_t fake_hw_cr3;                /* last arch_write_ptbase */
extern uint64_t fake_hv_slot_set[512];      /* arch_set_hv_l4_slot, by slot */
extern uint64_t fake_hv_l4[512];            /* what arch_hv_l4_slots returns */
/* Called by arch_write_ptbase when set (cleared by fake_mem_setup). */
extern void (*fake_on_write_ptbase)(uint64_t cr3);

#endif
