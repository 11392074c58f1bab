/*
 * attack.h - what the attack guest's files share (attack.c holds them):
 * PTE bits, a pool of scratch frames, remapping our own pages, probes
 * that survive the fault they provoke, and the mode dispatcher of
 * attack_tlb.c.
 */
#ifndef ATTACK_H
#define ATTACK_H

#include <stdint.h>
#include <xen/xen.h>

#define PTE_P  0x001ULL
#define PTE_RW 0x002ULL
#define PTE_US 0x004ULL
#define PTE_A  0x020ULL
#define PTE_D  0x040ULL
#define PTE_PS 0x080ULL
#define PTE_RO_FLAGS (PTE_P | PTE_US | PTE_A)
#define PTE_RW_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)

/* A zeroed page of the kernel image (crashes the guest when none is left). */
uint64_t *pool_page(void);
uint64_t mfn_of(const void *va);
/* Map va to its own frame with flags (0: unmap), flushing that va. */
long remap(const void *va, uint64_t flags);
long mmuext1(unsigned int cmd, uint64_t mfn);
/* One order-0 extent of XENMEM_decrease_reservation / populate_physmap for
 * ourselves (frame: the mfn, or the pfn in and the new mfn out). */
long reservation(unsigned int cmd, xen_pfn_t *frame);
/* 1 if reading addr faulted; the value read in *val. */
int probe_read(uint64_t addr, uint64_t *val);
/* The vector a write of val to addr faulted with, or 0 if it landed. */
int probe_write(uint64_t addr, uint64_t val);
/* Block for ms of system time (so dom0's heartbeat shows around an attack). */
void linger(uint64_t ms);

/* Run attack `name` (or several joined by '+') if attack_tlb.c has them:
 * 1, else 0. Its checks'
 * counts are added to *passed and *failed (check.h counts per file). */
int attack_tlb(start_info_t *si, const char *name, int *passed, int *failed);

/* attack=pt_tree (attack_pt.c): pin / unpin a tree of mb MiB of full L1
 * tables `rounds` times, one failing pin, then leave it pinned for the
 * destroy. Its checks' counts are added to *passed and *failed. */
void attack_pt_deval(start_info_t *si, unsigned int mb, int *passed, int *failed);
void attack_pt_tree(start_info_t *si, unsigned int mb, unsigned int rounds, int *passed,
                    int *failed);

#endif
