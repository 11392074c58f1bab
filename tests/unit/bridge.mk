# tests/unit/bridge.mk - dom0's software bridge: Ethernet/802.1Q parsing
# (guest-drivers/net/eth.c) and the FDB and forwarding decision
# (guest-drivers/net/fdb.c), after their freestanding build
# (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += bridge
UNIT_SRCS_bridge := guest-drivers/net/fdb.c guest-drivers/net/eth.c hv/shared/format.c
$(BUILD)/unit/test_bridge: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_bridge: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/net/eth.nm-ok $(BUILD)/guest/guest-drivers/net/fdb.nm-ok
