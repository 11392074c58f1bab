# xenstored core (toolstack/xenstored): host unit tests.
UNIT_TESTS += xenstore
UNIT_SRCS_xenstore := $(XENSTORED_CORE_SRCS) hv/shared/format.c
$(BUILD)/unit/test_xenstore: $(wildcard toolstack/xenstored/*.h)
