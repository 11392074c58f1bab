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
# The models wired together as docs/hvm.md describes.
UNIT_TESTS += hvm_wiring
UNIT_SRCS_hvm_wiring := hv/arch/x86/hvm/vlapic.c hv/arch/x86/hvm/vioapic.c hv/arch/x86/hvm/vpit.c \
                        hv/arch/x86/hvm/vpic.c
