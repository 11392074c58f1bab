TEST_GUESTS += $(BUILD)/guests/kit_self.elf
$(eval $(call guest_kernel,$(BUILD)/guests/kit_self.elf,tests/guests/kit_self.c))
