# The HVM MMIO instruction decoder (hv/arch/x86/hvm/decode.c).
UNIT_TESTS += hvm_decode
UNIT_SRCS_hvm_decode := hv/arch/x86/hvm/decode.c
