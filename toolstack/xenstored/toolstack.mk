# toolstack/xenstored/toolstack.mk - xenstored: the store, its arena and
# the wire protocol (XENSTORED_CORE_SRCS, pure, also host-tested), and
# xsd.c, which serves them to the domains' rings in dom0.
XENSTORED_CORE_SRCS := toolstack/xenstored/arena.c toolstack/xenstored/store.c \
                       toolstack/xenstored/wire.c
XENSTORED_SRCS := $(XENSTORED_CORE_SRCS) toolstack/xenstored/xsd.c
DOM0_TOOLSTACK_SRCS += $(XENSTORED_SRCS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(XENSTORED_SRCS)): GUEST_CFLAGS += $(TOOLSTACK_CFLAGS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(XENSTORED_SRCS)): $(TOOLSTACK_HDRS) $(SHARED_HDRS)
