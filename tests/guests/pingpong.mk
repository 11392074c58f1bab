TEST_GUESTS += $(BUILD)/guests/pingpong.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pingpong.elf,tests/guests/pingpong.c tests/guests/testlog.c))
