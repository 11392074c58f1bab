TEST_GUESTS += $(BUILD)/guests/atk3_probe.elf
$(eval $(call guest_kernel,$(BUILD)/guests/atk3_probe.elf,tests/guests/atk3_probe.c))
