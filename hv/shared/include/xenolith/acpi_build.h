/*
 * acpi_build.h - a PVH guest's ACPI tables (hv/shared/acpi_build.c):
 * RSDP at the start of the page, XSDT, MADT (one local APIC per vcpu).
 */
#ifndef XENOLITH_ACPI_BUILD_H
#define XENOLITH_ACPI_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* Build the tables into page (size bytes, to be placed at guest-physical
 * page_gpa); the RSDP is at page_gpa. 0, or -1 if they do not fit. */
int acpi_build_pvh(uint8_t *page, size_t size, uint64_t page_gpa, unsigned int nr_vcpus);
/* The HVM platform's (type = "hvm"): the same, and in the MADT the
 * PCAT_COMPAT flag (an 8259 pair), the I/O APIC at 0xfec00000 (ID 0, GSI
 * 0..23) and the override of ISA IRQ 0 to GSI 2. 0, or -1. */
int acpi_build_hvm(uint8_t *page, size_t size, uint64_t page_gpa, unsigned int nr_vcpus);

#endif
