# tests/guests/hvm/hvm.mk - the HVM test guest (PVH- or Multiboot-booted,
# no guest kit): tests/scenarios/hvm_*.scn. Linked 1:1 at 1 MiB with its
# own script. hvmtest-nomb.elf: the same without the Multiboot header (a
# PVH-only kernel, which type = "hvm" must refuse: hvm_mb_refuse).
HVMTEST_ELF  := $(BUILD)/guests/hvmtest.elf
HVMTEST_OBJS := $(BUILD)/hvmguest/hvmtest.o $(BUILD)/hvmguest/head.o \
                $(patsubst hv/shared/%.c,$(BUILD)/hvmguest/shared/%.o,$(SHARED_LIB_SRCS))
HVMTEST_CFLAGS := $(KCFLAGS) -mcmodel=small

$(BUILD)/hvmguest/%.o: tests/guests/hvm/%.c | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HVMTEST_CFLAGS) -c $< -o $@
$(BUILD)/hvmguest/%.o: tests/guests/hvm/%.S | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HVMTEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@
$(BUILD)/hvmguest/shared/%.o: hv/shared/%.c | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HVMTEST_CFLAGS) -c $< -o $@

HVMTEST_NOMB_ELF  := $(BUILD)/guests/hvmtest-nomb.elf
HVMTEST_NOMB_OBJS := $(filter-out $(BUILD)/hvmguest/head.o,$(HVMTEST_OBJS)) \
                     $(BUILD)/hvmguest/head-nomb.o
$(BUILD)/hvmguest/head-nomb.o: tests/guests/hvm/head.S | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HVMTEST_CFLAGS) -D__ASSEMBLY__ -DHVMTEST_NO_MB1 -c $< -o $@

$(HVMTEST_ELF): $(HVMTEST_OBJS) tests/guests/hvm/hvm.lds
	@mkdir -p $(dir $@)
	$(Q)$(LD) -nostdlib -static --gc-sections -z max-page-size=4096 \
	    --no-warn-rwx-segments -T tests/guests/hvm/hvm.lds -o $@ $(HVMTEST_OBJS)
	@echo "  LD      $@"
$(HVMTEST_NOMB_ELF): $(HVMTEST_NOMB_OBJS) tests/guests/hvm/hvm.lds
	@mkdir -p $(dir $@)
	$(Q)$(LD) -nostdlib -static --gc-sections -z max-page-size=4096 \
	    --no-warn-rwx-segments -T tests/guests/hvm/hvm.lds -o $@ $(HVMTEST_NOMB_OBJS)
	@echo "  LD      $@"
all: $(HVMTEST_ELF) $(HVMTEST_NOMB_ELF)
TEST_GUESTS += $(HVMTEST_ELF) $(HVMTEST_NOMB_ELF)
