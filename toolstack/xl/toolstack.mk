# toolstack/xl/toolstack.mk - xl: the xl.cfg parser (xlcfg.c), the
# command front end (xlcmd.c) and its operations in dom0 (xlops.c).
XL_SRCS := $(wildcard toolstack/xl/*.c)
# `xl hypercalls` names and sorts with the hv's own code (hv/shared)
DOM0_TOOLSTACK_SRCS += $(XL_SRCS) $(SHARED_HCSTAT_SRCS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(XL_SRCS) $(SHARED_HCSTAT_SRCS)): GUEST_CFLAGS += $(TOOLSTACK_CFLAGS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(XL_SRCS)): $(TOOLSTACK_HDRS) $(SHARED_HDRS)
