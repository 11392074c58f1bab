UNIT_TESTS += pv_cpu
UNIT_SRCS_pv_cpu := hv/arch/x86/pv/pv_cpu.c hv/arch/x86/pv/pv_emul.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_pv_cpu += hv/common/hcstat.c hv/shared/hcstat.c hv/shared/format.c tests/unit/fake_console.c
