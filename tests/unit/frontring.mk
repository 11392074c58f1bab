# tests/unit/frontring.mk - the split drivers' shared-ring front end
# (guest-drivers/ring/frontring.c), after its freestanding build.
UNIT_TESTS += frontring
UNIT_SRCS_frontring := guest-drivers/ring/frontring.c guest-drivers/ring/backring.c
$(BUILD)/unit/test_frontring: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_frontring: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/ring/frontring.nm-ok
