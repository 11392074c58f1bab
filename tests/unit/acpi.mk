# The ACPI walk (RSDP -> XSDT/RSDT -> MADT) and the MADT parser.
UNIT_TESTS += acpi
UNIT_SRCS_acpi := hv/common/acpi.c hv/shared/format.c
