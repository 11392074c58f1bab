/*
 * acpi.h - finding and reading the ACPI MADT ("APIC" table): the CPUs,
 * I/O APICs and interrupt overrides of the machine (hv/common/acpi.c).
 * Owns: struct madt_info. Must never: read a byte of firmware tables
 * outside what a length field, checked against its container and the
 * map callback, allows; trust a table that fails a check (it is refused,
 * with the reason in *why, and nothing of it is used).
 */
#ifndef XENOLITH_ACPI_H
#define XENOLITH_ACPI_H

#include <stdint.h>

/* Physical memory for the parser: a pointer to len readable bytes at
 * phys, or NULL if that range cannot be read (not mapped, wraps). */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t phys, uint64_t len);

/* Bounds on what a table may claim: a root table or a MADT longer than
 * this is refused as corrupt (real ones are a few KiB). */
#define ACPI_TABLE_MAX_LEN (1u << 20)

#define MADT_MAX_CPUS      256
#define MADT_MAX_IOAPICS   16
#define MADT_MAX_OVERRIDES 32
#define MADT_MAX_NMIS      32

/* A processor entry (Processor Local APIC, type 0, or Processor Local
 * x2APIC, type 9) that is enabled or online-capable. */
struct madt_cpu {
    uint32_t apic_id;
    uint32_t acpi_uid;       /* ACPI processor UID (type 0: its 8-bit ID) */
    uint8_t enabled;         /* flags bit 0: usable now */
    uint8_t online_capable;  /* flags bit 1 (ACPI 6.3): may be enabled later */
    uint8_t x2apic;          /* from a type-9 entry */
};

struct madt_ioapic {
    uint8_t id;
    uint32_t addr;           /* physical MMIO base */
    uint32_t gsi_base;
};

/* Interrupt Source Override (type 2): ISA IRQ source is GSI gsi. */
struct madt_override {
    uint8_t bus, source;
    uint32_t gsi;
    uint16_t flags;          /* MPS INTI flags: polarity bits 0-1, trigger 2-3 */
};

/* Local APIC NMI (type 4, or x2APIC type 0xA): which LINT pin is NMI. */
struct madt_nmi {
    uint32_t acpi_uid;       /* 0xff (type 4) / 0xffffffff (type 0xA): all */
    uint16_t flags;
    uint8_t lint;
};

struct madt_info {
    uint64_t lapic_addr;     /* the header's, or a type-5 override's */
    uint32_t flags;          /* bit 0: PC-AT compatible dual 8259s */
    unsigned int nr_cpus, nr_ioapics, nr_overrides, nr_nmis;
    /* Entries not kept: beyond the arrays; processors neither enabled nor
     * online-capable; xAPIC entries with the broadcast id 0xff; types
     * this parser does not know (skipped by their length). */
    unsigned int cpus_dropped, cpus_disabled, other_dropped, unknown_entries;
    struct madt_cpu cpus[MADT_MAX_CPUS];
    struct madt_ioapic ioapics[MADT_MAX_IOAPICS];
    struct madt_override overrides[MADT_MAX_OVERRIDES];
    struct madt_nmi nmis[MADT_MAX_NMIS];
};

/* The sum of len bytes, mod 256 (every ACPI checksum makes it 0). */
uint8_t acpi_checksum(const void *p, uint64_t len);

/* From the RSDP at rsdp_phys, through the XSDT (or the RSDT for ACPI
 * 1.0), find the table with the 4-byte signature sig. 0 and its physical
 * address and length (header checked: signature, length, checksum), or
 * -1 with *why saying what was wrong or missing. */
int acpi_find_table(acpi_map_fn map, void *ctx, uint64_t rsdp_phys, const char sig[4],
                    uint64_t *phys, uint32_t *len, const char **why);

/* Parse a MADT of len bytes (the whole table, header included, checksum
 * already checked or not: it is checked again). 0, or -1 with *why. */
int madt_parse(const void *table, uint64_t len, struct madt_info *out, const char **why);

/* Both: find the MADT from the RSDP and parse it. */
int acpi_read_madt(acpi_map_fn map, void *ctx, uint64_t rsdp_phys, struct madt_info *out,
                   const char **why);

#endif
