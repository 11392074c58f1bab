# xenstored core (guest-drivers/xenstore): host unit tests, plus a check
# that the library builds freestanding with the guest kernels' flags.
XENSTORE_SRCS := toolstack/xenstored/arena.c toolstack/xenstored/store.c \
                 toolstack/xenstored/wire.c
UNIT_TESTS += xenstore
UNIT_SRCS_xenstore := $(XENSTORE_SRCS) hv/shared/format.c

XENSTORE_FREESTANDING := $(patsubst %.c,$(BUILD)/guest/%.o,$(XENSTORE_SRCS))
$(BUILD)/unit/test_xenstore: $(wildcard toolstack/xenstored/*.h) $(XENSTORE_FREESTANDING)
all: $(XENSTORE_FREESTANDING)
