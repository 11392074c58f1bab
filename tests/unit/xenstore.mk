# xenstored core (guest-drivers/xenstore): host unit tests, plus a check
# that the library builds freestanding with the guest kernels' flags.
XENSTORE_SRCS := guest-drivers/xenstore/arena.c guest-drivers/xenstore/store.c \
                 guest-drivers/xenstore/wire.c
UNIT_TESTS += xenstore
UNIT_SRCS_xenstore := $(XENSTORE_SRCS) hv/shared/format.c

XENSTORE_FREESTANDING := $(patsubst %.c,$(BUILD)/guest/%.o,$(XENSTORE_SRCS))
$(BUILD)/unit/test_xenstore: $(wildcard guest-drivers/xenstore/*.h) $(XENSTORE_FREESTANDING)
all: $(XENSTORE_FREESTANDING)
