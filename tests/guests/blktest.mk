# tests/guests/blktest.mk - the blkif test guest (tests/scenarios/blk_*.scn)
# on the kit's blkfront and front-ring helper.
TEST_GUESTS += $(BUILD)/guests/blktest.elf
$(eval $(call guest_kernel,$(BUILD)/guests/blktest.elf,tests/guests/blktest.c tests/guests/testlog.c \
    guest-drivers/blk/blkfront.c guest-drivers/ring/frontring.c guest-drivers/ring/backring.c \
    guest-drivers/xenbus/xbfsm.c))
