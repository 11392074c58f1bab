# Which domain each CPU runs in guest mode, and the p2m shootdown.
UNIT_TESTS += guest_cpus
UNIT_SRCS_guest_cpus := hv/arch/x86/hvm/guest_cpus.c
