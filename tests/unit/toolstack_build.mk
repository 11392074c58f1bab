# The domain builder's toolstack back end (toolstack/libxc/build.c) and
# the libxenctrl-style library (ctrl.c): host unit tests against fake
# hypercalls.
UNIT_TESTS += build ctrl
UNIT_SRCS_build := $(LIBXC_SRCS) $(SHARED_BUILD_SRCS) hv/shared/format.c
UNIT_SRCS_ctrl := toolstack/libxc/ctrl.c
$(BUILD)/unit/test_build $(BUILD)/unit/test_ctrl: $(wildcard toolstack/libxc/*.h)
