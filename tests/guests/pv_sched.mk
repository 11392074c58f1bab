TEST_GUESTS += $(BUILD)/guests/pv_sched.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pv_sched.elf,tests/guests/pv_sched.c))
