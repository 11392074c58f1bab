# tests/unit/ip.mk - the kit guests' tiny IPv4 stack (guest-drivers/net/ip.c,
# over guest-drivers/net/eth.c): host unit tests, after the freestanding
# build of both (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += ip
UNIT_SRCS_ip := guest-drivers/net/ip.c guest-drivers/net/eth.c
$(BUILD)/unit/test_ip: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_ip: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/net/ip.nm-ok $(BUILD)/guest/guest-drivers/net/eth.nm-ok
