# tests/unit/blkif.mk - the split drivers' shared-ring back end
# (guest-drivers/ring/backring.c) and blkback's request judge
# (guest-drivers/blk/blkif_req.c): host unit tests, after the freestanding
# build of each (guest-drivers/guest.mk's .nm-ok check).
UNIT_TESTS += backring blkif
UNIT_SRCS_backring := guest-drivers/ring/backring.c guest-drivers/blk/blkif_req.c
UNIT_SRCS_blkif    := guest-drivers/blk/blkif_req.c
$(BUILD)/unit/test_backring $(BUILD)/unit/test_blkif: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_backring $(BUILD)/unit/test_blkif: $(wildcard guest-drivers/include/xlguest/*.h) \
    $(BUILD)/guest/guest-drivers/ring/backring.nm-ok $(BUILD)/guest/guest-drivers/blk/blkif_req.nm-ok
