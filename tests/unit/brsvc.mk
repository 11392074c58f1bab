# tests/unit/brsvc.mk - dom0's named bridges (toolstack/dom0svc/bridge.c)
# on the FDB logic (guest-drivers/net/fdb.c, eth.c).
UNIT_TESTS += brsvc
UNIT_SRCS_brsvc := toolstack/dom0svc/bridge.c guest-drivers/net/fdb.c guest-drivers/net/eth.c \
                   hv/shared/format.c
$(BUILD)/unit/test_brsvc: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_brsvc: toolstack/dom0svc/brsvc.h $(wildcard guest-drivers/include/xlguest/*.h)
