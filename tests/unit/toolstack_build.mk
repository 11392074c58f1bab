# The dom0 domain builder (guest-drivers/toolstack/build.c) and the
# libxenctrl-style library (ctrl.c): host unit tests against fake
# hypercalls, plus a freestanding compile of every GUEST_TOOLSTACK_SRCS
# file with the guest kit's flags (linking into dom0 is the dom0 owner's).
include guest-drivers/toolstack/toolstack.mk
UNIT_TESTS += build ctrl
UNIT_SRCS_build := guest-drivers/toolstack/build.c guest-drivers/toolstack/ctrl.c \
                   hv/shared/pv_build.c hv/shared/elf.c hv/shared/hypercall_page.c \
                   hv/shared/format.c
UNIT_SRCS_ctrl := guest-drivers/toolstack/ctrl.c
TOOLSTACK_BUILD_HDRS := guest-drivers/toolstack/ctrl.h guest-drivers/toolstack/build.h
$(BUILD)/unit/test_build $(BUILD)/unit/test_ctrl: $(TOOLSTACK_BUILD_HDRS)
TOOLSTACK_BUILD_OBJS := $(patsubst %.c,$(BUILD)/guest/%.o,$(GUEST_TOOLSTACK_SRCS))
$(TOOLSTACK_BUILD_OBJS): $(TOOLSTACK_BUILD_HDRS)
all: $(TOOLSTACK_BUILD_OBJS)
