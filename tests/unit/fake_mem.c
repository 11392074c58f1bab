/*
 * fake_mem.c - fake machine memory and arch paging hooks for the hv's
 * memory unit tests (see fake_mem.h). mfn_to_virt fails the test for an
 * mfn outside the fake memory.
 * Owns: fake_mem and the recorders. Must never: be linked into the hv.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/domain.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/page_alloc.h>
#include "fake_mem.h"

uint8_t *fake_mem;
static uint64_t fake_nframes;
static uint64_t *fake_bitmap;
int fake_tlb_flushes, fake_invlpgs, fake_cache_flushes, fake_ptbase_writes;
uint64_t fake_hw_cr3;
uint64_t fake_hv_slot_set[512];
uint64_t fake_hv_l4[512];
void (*fake_on_write_ptbase)(uint64_t cr3);

void fake_mem_setup(uint64_t nframes, uint64_t first_free)
{
    fake_nframes = nframes;
    fake_mem = aligned_alloc(PAGE_SIZE, (size_t)nframes * PAGE_SIZE);
    frame_table = calloc(nframes, sizeof(*frame_table));
    fake_bitmap = calloc(1, page_alloc_bitmap_bytes(nframes));
    assert_non_null(fake_mem);
    assert_non_null(frame_table);
    assert_non_null(fake_bitmap);
    memset(fake_mem, 0xEE, (size_t)nframes * PAGE_SIZE);
    max_mfn = nframes;
    page_alloc_init(&hv_pages, fake_bitmap, 0, nframes);
    page_alloc_add_free(&hv_pages, first_free, nframes - first_free);
    for (uint64_t m = 0; m < nframes; m++)
        frame_table[m] = (struct page_info){ .owner = m < first_free ? DOMID_HV_OWNED : DOMID_FREE };
    m2p_table = NULL;
    m2p_bytes = 0;
    fake_tlb_flushes = fake_invlpgs = fake_cache_flushes = fake_ptbase_writes = 0;
    fake_hw_cr3 = 0;
    memset(fake_hv_slot_set, 0, sizeof(fake_hv_slot_set));
    memset(fake_hv_l4, 0, sizeof(fake_hv_l4));
    fake_on_write_ptbase = NULL;
}

void fake_mem_teardown(void)
{
    free(fake_mem);
    free(frame_table);
    free(fake_bitmap);
    fake_mem = NULL;
    frame_table = NULL;
    fake_bitmap = NULL;
}

void *mfn_to_virt(uint64_t mfn)
{
    if (mfn >= fake_nframes)
        fail_msg("mfn_to_virt(%#lx) outside the fake memory", (unsigned long)mfn);
    return fake_mem + mfn * PAGE_SIZE;
}
uint64_t virt_to_mfn(const void *va) { return (uint64_t)((const uint8_t *)va - fake_mem) >> PAGE_SHIFT; }

void pv_update_cr3(struct vcpu *v) { v->cr3 = v->guest_table << PAGE_SHIFT; }
void arch_flush_tlb(void) { fake_tlb_flushes++; }
void arch_invlpg(uint64_t va) { (void)va; fake_invlpgs++; }
void arch_flush_cache(void) { fake_cache_flushes++; }
void arch_leave_guest_page_tables(void) {}
void arch_forget_domain_cpu_state(const struct domain *d) { (void)d; }
void arch_set_hv_l4_slot(unsigned int slot, uint64_t e) { fake_hv_slot_set[slot & 511] = e; }
void arch_write_ptbase(uint64_t cr3)
{
    fake_hw_cr3 = cr3;
    fake_ptbase_writes++;
    if (fake_on_write_ptbase)
        fake_on_write_ptbase(cr3);
}
const uint64_t *arch_hv_l4_slots(void) { return fake_hv_l4; }
