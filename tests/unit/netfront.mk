# tests/unit/netfront.mk - the pure part of the netif front end
# (guest-drivers/net/netfront.c), alone and against netback's judge
# (guest-drivers/net/netif_req.c): host unit tests, after the freestanding
# build of both (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += netfront
UNIT_SRCS_netfront := guest-drivers/net/netfront.c guest-drivers/net/netif_req.c
$(BUILD)/unit/test_netfront: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_netfront: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/net/netfront.nm-ok $(BUILD)/guest/guest-drivers/net/netif_req.nm-ok
