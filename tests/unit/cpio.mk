# tests/unit/cpio.mk - dom0's newc cpio reader (guest-drivers/dom0/cpio.c).
UNIT_TESTS += cpio
UNIT_SRCS_cpio := guest-drivers/dom0/cpio.c
$(BUILD)/unit/test_cpio: guest-drivers/dom0/cpio.h
