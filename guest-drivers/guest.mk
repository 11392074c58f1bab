# guest-drivers/guest.mk - the guest driver kit's PV kernel runtime and
# guest_kernel, which links a PV kernel from it (the built-in dom0 in
# guest-drivers/dom0/dom0.mk, the test guests in tests/guests).

GUEST_CFLAGS := $(KCFLAGS) -mcmodel=kernel -Iguest-drivers/include
GUEST_RT_SRCS := guest-drivers/kernel/runtime.c guest-drivers/kernel/traps.c \
                 guest-drivers/kernel/console_ring.c guest-drivers/kernel/evtchn.c \
                 guest-drivers/kernel/gnttab.c guest-drivers/kernel/xenbus.c \
                 guest-drivers/kernel/pages.c \
                 $(SHARED_LIB_SRCS)
GUEST_RT_OBJS := $(patsubst %.c,$(BUILD)/guest/%.o,$(GUEST_RT_SRCS)) \
                 $(BUILD)/guest/guest-drivers/kernel/head.o \
                 $(BUILD)/guest/guest-drivers/kernel/trap_entry.o

$(BUILD)/guest/%.o: %.c | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/%.o: %.S | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# $(call guest_kernel,OUTPUT,SOURCES)
define guest_kernel
$(1): $(patsubst %.c,$(BUILD)/guest/%.o,$(2)) $(GUEST_RT_OBJS) guest-drivers/kernel/kernel.lds
	@mkdir -p $$(dir $$@)
	$$(Q)$$(LD) -nostdlib -static --gc-sections -z max-page-size=4096 \
	    -T guest-drivers/kernel/kernel.lds -o $$@ $$(filter %.o,$$^)
	@echo "  LD      $$@"
all: $(1)
endef
