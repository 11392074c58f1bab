# tests/unit/cpio.mk - dom0's newc cpio reader (toolstack/dom0svc/cpio.c).
UNIT_TESTS += cpio
UNIT_SRCS_cpio := toolstack/dom0svc/cpio.c
$(BUILD)/unit/test_cpio: toolstack/dom0svc/cpio.h
