# Multiboot (v1) for an HVM guest (hv/shared/mb1_layout.c): the header
# search, the ELF segments and entry, the refusals, the information page,
# the entry state.
UNIT_TESTS += mb1_layout
UNIT_SRCS_mb1_layout := hv/shared/mb1_layout.c hv/shared/pvh_layout.c hv/shared/elf.c hv/shared/format.c
