TEST_GUESTS += $(BUILD)/guests/pv_traps.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_traps.elf,tests/guests/pv_traps.c))
