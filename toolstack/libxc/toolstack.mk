# toolstack/libxc/toolstack.mk - the libxenctrl-style library (ctrl.c)
# and the domain builder's toolstack back end (build.c) on the shared PV
# layout core, linked into dom0.
LIBXC_SRCS := toolstack/libxc/ctrl.c toolstack/libxc/build.c toolstack/libxc/build_pvh.c \
             toolstack/libxc/build_hvm_mb.c
DOM0_TOOLSTACK_SRCS += $(LIBXC_SRCS) $(SHARED_BUILD_SRCS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(LIBXC_SRCS) $(SHARED_BUILD_SRCS)): GUEST_CFLAGS += $(TOOLSTACK_CFLAGS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(LIBXC_SRCS)): $(TOOLSTACK_HDRS) $(SHARED_HDRS)
