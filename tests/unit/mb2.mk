# The multiboot2 MBI -> struct xl_bootinfo converter (hv/arch/x86/mb2.c),
# tested as it is linked into the hv: with the shared formatter only.
UNIT_TESTS += mb2
UNIT_SRCS_mb2 := hv/arch/x86/mb2.c hv/shared/format.c
