# xenstored core (toolstack/xenstored): host unit tests.
UNIT_TESTS += xenstore
UNIT_SRCS_xenstore := $(XENSTORED_CORE_SRCS) hv/shared/format.c
$(BUILD)/unit/test_xenstore: $(wildcard toolstack/xenstored/*.h)

# make xs-bench: transactional vs plain remove of a large directory, built
# without sanitizers (a measurement printed, not a test).
XS_BENCH := $(BUILD)/unit/bench_xenstore
$(XS_BENCH): tests/unit/test_xenstore.c $(XENSTORED_CORE_SRCS) hv/shared/format.c $(wildcard toolstack/xenstored/*.h) | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(filter-out -fsanitize=% -fno-sanitize-recover=% -O1 -MMD -MP,$(HOST_CFLAGS)) -O2 \
	    -o $@ $(filter %.c,$^) $(HOST_LDLIBS)
.PHONY: xs-bench
xs-bench: $(XS_BENCH)
	$(Q)$(XS_BENCH) --bench 1000
