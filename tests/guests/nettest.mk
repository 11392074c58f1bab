# nettest: netfront + the tiny IPv4 stack pinging through dom0's netback.
TEST_GUESTS += $(BUILD)/guests/nettest.elf
$(eval $(call guest_kernel,$(BUILD)/guests/nettest.elf,tests/guests/nettest.c guest-drivers/net/netfront_dev.c guest-drivers/net/ip.c guest-drivers/net/eth.c guest-drivers/ring/frontring.c guest-drivers/ring/backring.c))
