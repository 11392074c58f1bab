# tests/unit/ata.mk - the device model's IDE disk (toolstack/dom0svc/ata.c):
# the task file, reset and signature, IDENTIFY, PIO data-in/out, errors.
UNIT_TESTS += ata
UNIT_SRCS_ata := toolstack/dom0svc/ata.c
$(BUILD)/unit/test_ata: toolstack/dom0svc/ata.h
