# toolstack/dom0svc/toolstack.mk - dom0's service mode: the event loop and
# control line (services.c), the PV console back end (consback.c), the
# domctl/sysctl adapter (ctl.c) and the ramdisk's cpio reader (cpio.c).
DOM0SVC_SRCS := $(wildcard toolstack/dom0svc/*.c)
DOM0_TOOLSTACK_SRCS += $(DOM0SVC_SRCS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(DOM0SVC_SRCS)): GUEST_CFLAGS += $(TOOLSTACK_CFLAGS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(DOM0SVC_SRCS)): $(TOOLSTACK_HDRS) $(SHARED_HDRS)
