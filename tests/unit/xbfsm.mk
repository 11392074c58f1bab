# tests/unit/xbfsm.mk - the xenbus connection state machine of split
# devices (guest-drivers/xenbus/xbfsm.c), after its freestanding build
# (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += xbfsm
UNIT_SRCS_xbfsm := guest-drivers/xenbus/xbfsm.c
$(BUILD)/unit/test_xbfsm: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_xbfsm: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/xenbus/xbfsm.nm-ok
