# tests/unit/virtq.mk - the driver side of the split virtqueue
# (guest-drivers/virtio/virtq.c) against a fake device, after its
# freestanding build (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += virtq
UNIT_SRCS_virtq := guest-drivers/virtio/virtq.c
$(BUILD)/unit/test_virtq: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_virtq: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/virtio/virtq.nm-ok
