/*
 * pte.h - x86_64 page-table entry bits (Intel SDM vol 3, 4.5), shared by
 * the guest page-table walker and the PV domain builder.
 */
#ifndef XENOLITH_PTE_H
#define XENOLITH_PTE_H

#define PTE_P    0x1ULL
#define PTE_RW   0x2ULL
#define PTE_US   0x4ULL
#define PTE_A    0x20ULL
#define PTE_D    0x40ULL
#define PTE_PS   0x80ULL
#define PTE_G    0x100ULL
#define PTE_AVAIL 0xE00ULL /* bits 9-11, the software-available ones */
#define PTE_GUEST_KERNEL (1ULL << 52) /* Xen marks a PV kernel page so */
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ULL

#endif
