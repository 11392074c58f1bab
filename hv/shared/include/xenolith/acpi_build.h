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
/* A uniprocessor PC's: RSDP and an XSDT with no MADT. Without an I/O
 * APIC to describe, an MADT would make Linux use the local APIC in
 * symmetric mode with LINT0 masked, and the 8259's interrupts would
 * never arrive; without one it keeps the virtual wire (LINT0 ExtINT).
 * 0, or -1 if the page is too small. */
int acpi_build_uniproc(uint8_t *page, size_t size, uint64_t page_gpa);

#endif
