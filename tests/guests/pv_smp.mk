TEST_GUESTS += $(BUILD)/guests/pv_smp.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_smp.elf,tests/guests/pv_smp.c))
