TEST_GUESTS += $(BUILD)/guests/pv_desc.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_desc.elf,tests/guests/pv_desc.c))
