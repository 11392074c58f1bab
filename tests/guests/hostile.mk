# tests/guests/hostile.mk - the hostile fuzzing guest (tests/scenarios/hostile*.scn)
TEST_GUESTS += $(BUILD)/guests/hostile.elf
$(eval $(call guest_kernel,$(BUILD)/guests/hostile.elf,tests/guests/hostile.c))

# Until the kit's traps.S stops sharing traps.o with traps.c (renamed
# trap_entry.S on main), assemble it under its own name for this guest.
ifneq ($(words $(filter %/kernel/traps.o,$(GUEST_RT_OBJS))),1)
$(BUILD)/guest/hostile-kit-traps-S.o: guest-drivers/kernel/traps.S | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@
$(BUILD)/guests/hostile.elf: $(BUILD)/guest/hostile-kit-traps-S.o
endif
