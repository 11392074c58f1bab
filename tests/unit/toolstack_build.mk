# The dom0 domain builder (toolstack/libxc/build.c) and the
# libxenctrl-style library (ctrl.c): host unit tests against fake
# hypercalls, plus a freestanding compile of every GUEST_TOOLSTACK_SRCS
# file with the guest kit's flags (linking into dom0 is the dom0 owner's).
include toolstack/libxc/toolstack.mk
UNIT_TESTS += build ctrl
UNIT_SRCS_build := toolstack/libxc/build.c toolstack/libxc/ctrl.c \
                   hv/shared/pv_build.c hv/shared/elf.c hv/shared/hypercall_page.c \
                   hv/shared/format.c
UNIT_SRCS_ctrl := toolstack/libxc/ctrl.c
TOOLSTACK_BUILD_HDRS := toolstack/libxc/ctrl.h toolstack/libxc/build.h
$(BUILD)/unit/test_build $(BUILD)/unit/test_ctrl: $(TOOLSTACK_BUILD_HDRS)
TOOLSTACK_BUILD_OBJS := $(patsubst %.c,$(BUILD)/guest/%.o,$(GUEST_TOOLSTACK_SRCS))
$(TOOLSTACK_BUILD_OBJS): $(TOOLSTACK_BUILD_HDRS)
all: $(TOOLSTACK_BUILD_OBJS)
