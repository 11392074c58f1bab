# tests/guests/attack.mk - targeted attack guest for the security review (tests/scenarios/attack_*.scn)
TEST_GUESTS += $(BUILD)/guests/attack.elf
$(eval $(call guest_kernel,$(BUILD)/guests/attack.elf,tests/guests/attack.c tests/guests/attack_tlb.c tests/guests/attack_pt.c))
