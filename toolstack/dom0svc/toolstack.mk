# toolstack/dom0svc/toolstack.mk - dom0's service mode: the event loop and
# control line (services.c), the PV console back end (consback.c), the
# domctl/sysctl adapter (ctl.c) and the ramdisk's cpio reader (cpio.c).
DOM0SVC_SRCS := $(wildcard toolstack/dom0svc/*.c)
DOM0_TOOLSTACK_SRCS += $(DOM0SVC_SRCS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(DOM0SVC_SRCS)): GUEST_CFLAGS += $(TOOLSTACK_CFLAGS)
$(patsubst %.c,$(BUILD)/guest/%.o,$(DOM0SVC_SRCS)): $(TOOLSTACK_HDRS) $(SHARED_HDRS)
# netback (netback.c) and the bridges (bridge.c) run on the kit's pure
# logic: the back ring, the xenbus state machine, Ethernet and the FDB,
# netif's request judge ($(sort) in dom0.mk drops a file listed twice).
DOM0_TOOLSTACK_SRCS += guest-drivers/ring/backring.c guest-drivers/xenbus/xbfsm.c \
                       guest-drivers/net/eth.c guest-drivers/net/fdb.c \
                       guest-drivers/net/netif_req.c
