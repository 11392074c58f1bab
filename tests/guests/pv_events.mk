TEST_GUESTS += $(BUILD)/guests/pv_events.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_events.elf,tests/guests/pv_events.c))
