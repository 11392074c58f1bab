UNIT_TESTS += pv_cpu
UNIT_SRCS_pv_cpu := hv/common/pv_cpu.c hv/common/pv_emul.c
