UNIT_TESTS += pv_cpu
UNIT_SRCS_pv_cpu := hv/arch/x86/pv/pv_cpu.c hv/arch/x86/pv/pv_emul.c
