# tests/guests/hostile.mk - the hostile fuzzing guest (tests/scenarios/hostile*.scn)
TEST_GUESTS += $(BUILD)/guests/hostile.elf
$(eval $(call guest_kernel,$(BUILD)/guests/hostile.elf,tests/guests/hostile.c))

