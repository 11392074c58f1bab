# The guest kit's xenstore client (guest-drivers/kernel/xenbus.c, host
# part) against the xenstored library, directly and through a relay that
# trickles bytes; and against a fake server that breaks the protocol.
UNIT_TESTS += ring
UNIT_SRCS_ring := guest-drivers/kernel/xenbus.c $(XENSTORED_CORE_SRCS) \
                  hv/shared/format.c
$(BUILD)/unit/test_ring: UNIT_HOST_CFLAGS += -Iguest-drivers/include
$(BUILD)/unit/test_ring: $(wildcard guest-drivers/include/xlguest/*.h toolstack/xenstored/*.h)
