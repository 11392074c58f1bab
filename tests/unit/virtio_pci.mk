# tests/unit/virtio_pci.mk - the pure halves of dom0's virtio drivers:
# the virtio-pci capability parser and transport arithmetic
# (guest-drivers/virtio/virtio_pcicap.c) over a fake configuration space,
# and virtio-blk's configuration/chain/status logic (vblk_req.c), after
# the freestanding build of each (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += virtio_pci virtio_blk
UNIT_SRCS_virtio_pci := guest-drivers/virtio/virtio_pcicap.c
UNIT_SRCS_virtio_blk := guest-drivers/virtio/vblk_req.c guest-drivers/virtio/virtq.c
VIRTIO_LOGIC_NMOK := $(BUILD)/guest/guest-drivers/virtio/virtio_pcicap.nm-ok \
                     $(BUILD)/guest/guest-drivers/virtio/vblk_req.nm-ok
$(BUILD)/unit/test_virtio_pci $(BUILD)/unit/test_virtio_blk: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_virtio_pci $(BUILD)/unit/test_virtio_blk: \
    $(wildcard guest-drivers/include/xlguest/*.h) $(VIRTIO_LOGIC_NMOK)
all: $(VIRTIO_LOGIC_NMOK)
.SECONDARY: $(VIRTIO_LOGIC_NMOK:.nm-ok=.o)
