# The HVM guest-physical -> machine table builder (NPT and EPT formats).
UNIT_TESTS += p2m
UNIT_SRCS_p2m := hv/arch/x86/hvm/p2m_pt.c
