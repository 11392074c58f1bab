# The PVH guest layout both builders share: ACPI tables (RSDP, XSDT,
# MADT), the start page, the entry state, segment and ramdisk checks.
UNIT_TESTS += pvh_layout
UNIT_SRCS_pvh_layout := hv/shared/pvh_layout.c hv/shared/acpi_build.c hv/shared/linux_boot.c hv/shared/elf.c hv/shared/format.c
