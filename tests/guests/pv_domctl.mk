TEST_GUESTS += $(BUILD)/guests/pv_domctl.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_domctl.elf,tests/guests/pv_domctl.c))
