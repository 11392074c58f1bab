# guest-drivers/guest.mk - the guest driver kit's PV kernel runtime and
# guest_kernel, which links a PV kernel from it (the built-in dom0 in
# guest-drivers/dom0/dom0.mk, the test guests in tests/guests).

GUEST_CFLAGS := $(KCFLAGS) -mcmodel=kernel -Iguest-drivers/include
GUEST_RT_SRCS := guest-drivers/kernel/runtime.c guest-drivers/kernel/traps.c \
                 guest-drivers/kernel/console_ring.c guest-drivers/kernel/evtchn.c \
                 guest-drivers/kernel/gnttab.c guest-drivers/kernel/xenbus.c \
                 guest-drivers/kernel/pages.c guest-drivers/kernel/pvh.c \
                 $(SHARED_LIB_SRCS)
GUEST_RT_OBJS := $(patsubst %.c,$(BUILD)/guest/%.o,$(GUEST_RT_SRCS)) \
                 $(BUILD)/guest/guest-drivers/kernel/head.o \
                 $(BUILD)/guest/guest-drivers/kernel/pvh_head.o \
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

# The split drivers' pure logic (docs/split-drivers.md): shared-ring back
# end, blkif request judge, Ethernet/802.1Q parsing and the bridge's FDB,
# the split virtqueue's driver side, the xenbus connection state machine,
# netback's netif request judge, the kit guests' tiny IPv4 stack, the
# pure part of netfront.
# No image links them yet; each is compiled freestanding here and must call
# nothing but the kit's lib and its siblings (the .nm-ok check). The host
# unit tests (tests/unit/{backring,blkif,bridge,virtq,xbfsm,netif,ip,
# netfront}.mk) depend on these checks, so `make unit` proves both builds.
GUEST_LOGIC_SRCS := guest-drivers/ring/backring.c guest-drivers/ring/frontring.c guest-drivers/blk/blkif_req.c \
                    guest-drivers/virtio/virtq.c guest-drivers/xenbus/xbfsm.c \
                    guest-drivers/net/eth.c guest-drivers/net/fdb.c \
                    guest-drivers/net/netif_req.c guest-drivers/net/ip.c \
                    guest-drivers/net/netfront.c
GUEST_LOGIC_SYMS := memcpy|memset|memmove|memcmp|strlen|xl_snprintf|xl_vsnprintf|(backring|frontring|blkif|eth|br|virtq|vring|xbfsm|netif|netfront|ip)_[a-z_0-9]+
$(BUILD)/guest/%.nm-ok: $(BUILD)/guest/%.o
	$(Q)bad=$$(nm -u $< | awk '{print $$2}' | grep -vxE '$(GUEST_LOGIC_SYMS)'); \
	    if [ -n "$$bad" ]; then echo "$<: calls outside the kit's lib: $$bad"; exit 1; fi; touch $@
all: $(patsubst %.c,$(BUILD)/guest/%.nm-ok,$(GUEST_LOGIC_SRCS))
.SECONDARY: $(patsubst %.c,$(BUILD)/guest/%.o,$(GUEST_LOGIC_SRCS))
