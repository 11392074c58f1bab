# tests/unit/netif.mk - netback's netif request judge
# (guest-drivers/net/netif_req.c): host unit tests, after its freestanding
# build (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += netif
UNIT_SRCS_netif := guest-drivers/net/netif_req.c
$(BUILD)/unit/test_netif: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_netif: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/net/netif_req.nm-ok
