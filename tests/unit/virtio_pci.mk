# tests/unit/virtio_pci.mk - the pure halves of dom0's virtio drivers:
# the virtio-pci capability parser and transport arithmetic
# (guest-drivers/virtio/virtio_pcicap.c) over a fake configuration space,
# and virtio-blk's configuration/chain/status logic (vblk_req.c), after
# the freestanding build of each (guest-drivers/guest.mk's .nm-ok check);
# virtio-net's (vnet_req.c) with the netdev registry's checks (netdev.c).
UNIT_TESTS += virtio_pci virtio_blk virtio_net
UNIT_SRCS_virtio_pci := guest-drivers/virtio/virtio_pcicap.c
UNIT_SRCS_virtio_blk := guest-drivers/virtio/vblk_req.c guest-drivers/virtio/virtq.c
UNIT_SRCS_virtio_net := guest-drivers/virtio/vnet_req.c guest-drivers/dom0/netdev.c
VIRTIO_LOGIC_NMOK := $(BUILD)/guest/guest-drivers/virtio/virtio_pcicap.nm-ok \
                     $(BUILD)/guest/guest-drivers/virtio/vblk_req.nm-ok \
                     $(BUILD)/guest/guest-drivers/virtio/vnet_req.nm-ok \
                     $(BUILD)/guest/guest-drivers/dom0/netdev.nm-ok
VIRTIO_UNIT_BINS := $(BUILD)/unit/test_virtio_pci $(BUILD)/unit/test_virtio_blk \
                    $(BUILD)/unit/test_virtio_net
$(VIRTIO_UNIT_BINS): UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(VIRTIO_UNIT_BINS): \
    $(wildcard guest-drivers/include/xlguest/*.h) $(VIRTIO_LOGIC_NMOK)
all: $(VIRTIO_LOGIC_NMOK)
.SECONDARY: $(VIRTIO_LOGIC_NMOK:.nm-ok=.o)
