# tests/guests/xsattack.mk - hostile xl domU against xenstored and the console back end (issue 14)
TEST_GUESTS += $(BUILD)/guests/xsattack.elf
$(eval $(call guest_kernel,$(BUILD)/guests/xsattack.elf,tests/guests/xsattack.c))
