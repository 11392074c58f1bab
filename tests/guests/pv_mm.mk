TEST_GUESTS += $(BUILD)/guests/pv_mm.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_mm.elf,tests/guests/pv_mm.c))
