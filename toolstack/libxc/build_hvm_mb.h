/*
 * build_hvm_mb.h - between build_pvh.c's builder and build_hvm_mb.c: an
 * HVM domain whose kernel is a Multiboot (v1) ELF (hv/shared/mb1_layout.h),
 * started as QEMU's direct kernel boot (-kernel) starts one.
 */
#ifndef TOOLSTACK_BUILD_HVM_MB_H
#define TOOLSTACK_BUILD_HVM_MB_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/mb1_layout.h>

struct xl_build_args;
struct hvm_hw_cpu;

/* Whether the kernel is an ELF (not a bzImage): the Multiboot path. */
int xl_hvm_mb_is_elf(const void *kernel, size_t len);

/* The plan (mb1_prepare) for RAM [0, ram_end), with the ramdisk, if any,
 * clear of the kernel: 0, or a negative errno with *why. */
int xl_hvm_mb_prepare(const struct xl_build_args *a, uint64_t ram_end, struct mb1_plan *p,
                      const char **why);

/* Copy the segments (the rest of RAM is fresh, zero frames, which is
 * the bss) and the information page at guest-physical info (the start
 * page), through the window page win. 0 or a negative errno. */
int xl_hvm_mb_write(uint32_t domid, uint8_t *win, const struct xl_build_args *a,
                    const struct mb1_plan *p, uint64_t info, uint64_t ram_end,
                    uint64_t reserved_pages, uint64_t acpi_gpa, uint64_t rd_gpa);

/* vcpu 0 at the Multiboot entry (mb1_entry_cpu). */
void xl_hvm_mb_entry(struct hvm_hw_cpu *c, const struct mb1_plan *p, uint64_t info);

/* build_pvh.c's copy through the window page (src NULL: zeros). */
int xl_build_copy_to_gpa(uint32_t domid, uint8_t *win, uint64_t gpa, const uint8_t *src,
                         uint64_t len);

#endif
