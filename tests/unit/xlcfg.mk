# tests/unit/xlcfg.mk - the dom0 toolstack's xl.cfg parser
# (guest-drivers/toolstack/): host unit test, plus a freestanding compile
# with the guest kit's flags so it is known to build for dom0 (linking it
# into dom0 is not done here).
UNIT_TESTS += xlcfg
UNIT_SRCS_xlcfg := guest-drivers/toolstack/xlcfg.c hv/common/format.c

TOOLSTACK_HDRS := $(wildcard guest-drivers/toolstack/*.h)
$(BUILD)/unit/test_xlcfg: $(TOOLSTACK_HDRS)

TOOLSTACK_OBJS := $(BUILD)/guest/guest-drivers/toolstack/xlcfg.o
$(TOOLSTACK_OBJS): $(TOOLSTACK_HDRS)
all: $(TOOLSTACK_OBJS)
