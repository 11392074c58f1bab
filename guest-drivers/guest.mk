# guest-drivers/guest.mk - the guest driver kit's PV kernel runtime and the
# kernels built on it: the built-in dom0 and the test guests in tests/guests.

GUEST_CFLAGS := $(KCFLAGS) -mcmodel=kernel -Iguest-drivers/include
GUEST_RT_SRCS := guest-drivers/kernel/runtime.c guest-drivers/kernel/traps.c \
                 guest-drivers/kernel/console_ring.c guest-drivers/kernel/evtchn.c \
                 guest-drivers/kernel/gnttab.c guest-drivers/kernel/xenbus.c \
                 hv/shared/format.c hv/shared/lib.c
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

# dom0: its own files, the embedded xenstored, the xl front end, and the
# builder engineer's toolstack sources (GUEST_TOOLSTACK_SRCS) once that
# fragment exists.
-include toolstack/libxc/toolstack.mk
DOM0_SRCS := $(wildcard guest-drivers/dom0/*.c) $(wildcard toolstack/dom0svc/*.c) \
             $(wildcard toolstack/xenstored/*.c) $(wildcard toolstack/xl/*.c) \
             $(GUEST_TOOLSTACK_SRCS)
DOM0_HDRS := $(wildcard guest-drivers/dom0/*.h toolstack/*/*.h)
$(patsubst %.c,$(BUILD)/guest/%.o,$(DOM0_SRCS)): GUEST_CFLAGS += -D__XEN_TOOLS__ -U__XEN_INTERFACE_VERSION__
$(patsubst %.c,$(BUILD)/guest/%.o,$(DOM0_SRCS)): $(DOM0_HDRS)
DOM0_ELF := $(BUILD)/guests/dom0.elf
$(eval $(call guest_kernel,$(DOM0_ELF),$(sort $(DOM0_SRCS))))
