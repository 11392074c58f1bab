TEST_GUESTS += $(BUILD)/guests/pv_gnttab.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_gnttab.elf,tests/guests/pv_gnttab.c))
