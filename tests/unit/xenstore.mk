# xenstored core (guest-drivers/xenstore): host unit tests, plus a check
# that the library builds freestanding with the guest kernels' flags.
XENSTORE_SRCS := guest-drivers/xenstore/arena.c guest-drivers/xenstore/store.c \
                 guest-drivers/xenstore/wire.c
UNIT_TESTS += xenstore
UNIT_SRCS_xenstore := $(XENSTORE_SRCS) hv/common/format.c

XENSTORE_FREESTANDING := $(patsubst %.c,$(BUILD)/guest/%.o,$(XENSTORE_SRCS))
$(BUILD)/unit/test_xenstore: $(wildcard guest-drivers/xenstore/*.h) $(XENSTORE_FREESTANDING)
all: $(XENSTORE_FREESTANDING)

# make xs-bench: transactional vs plain remove of a large directory, built
# without sanitizers (a measurement printed, not a test).
XS_BENCH := $(BUILD)/unit/bench_xenstore
$(XS_BENCH): tests/unit/test_xenstore.c $(XENSTORE_SRCS) hv/common/format.c $(wildcard guest-drivers/xenstore/*.h) | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(filter-out -fsanitize=% -fno-sanitize-recover=% -O1 -MMD -MP,$(HOST_CFLAGS)) -O2 \
	    -o $@ $(filter %.c,$^) $(HOST_LDLIBS)
.PHONY: xs-bench
xs-bench: $(XS_BENCH)
	$(Q)$(XS_BENCH) --bench 1000
