# The HVM platform device models (hvm_dev.h): one test program per device.
UNIT_TESTS += vlapic
UNIT_SRCS_vlapic := hv/arch/x86/hvm/vlapic.c
UNIT_TESTS += vioapic
UNIT_SRCS_vioapic := hv/arch/x86/hvm/vioapic.c
UNIT_TESTS += vpit
UNIT_SRCS_vpit := hv/arch/x86/hvm/vpit.c
UNIT_TESTS += vpic
UNIT_SRCS_vpic := hv/arch/x86/hvm/vpic.c
UNIT_TESTS += vrtc
UNIT_SRCS_vrtc := hv/arch/x86/hvm/vrtc.c
