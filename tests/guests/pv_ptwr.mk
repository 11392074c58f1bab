TEST_GUESTS += $(BUILD)/guests/pv_ptwr.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_ptwr.elf,tests/guests/pv_ptwr.c))
