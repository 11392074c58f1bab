# tests/bench/bench.mk - the PV micro-benchmark guest and `make bench`.
# bench.elf (dom0) links the toolstack's domain builder (bench_dom.c over
# toolstack/libxc) and carries bench_peer.elf, the second domain it
# builds for the two-domain rows (bench_peer_image.S).
BENCH_ELF := $(BUILD)/guests/bench.elf
BENCH_PEER_ELF := $(BUILD)/guests/bench_peer.elf
BENCH_PEER_IMG := $(BUILD)/guest/tests/bench/bench_peer_image.o
TEST_GUESTS += $(BENCH_ELF)
$(eval $(call guest_kernel,$(BENCH_PEER_ELF),tests/bench/bench_peer.c))
$(eval $(call guest_kernel,$(BENCH_ELF),tests/bench/bench.c tests/bench/bench_dom.c \
    $(LIBXC_SRCS) $(SHARED_BUILD_SRCS)))
$(BENCH_ELF): $(BENCH_PEER_IMG)
$(BENCH_PEER_IMG): $(BENCH_PEER_ELF)
$(BENCH_PEER_IMG): GUEST_CFLAGS += -DBENCH_PEER_PATH='"$(BENCH_PEER_ELF)"'
$(BUILD)/guest/tests/bench/bench_dom.o: GUEST_CFLAGS += $(TOOLSTACK_CFLAGS)
$(BUILD)/guest/tests/bench/bench_dom.o: $(TOOLSTACK_HDRS) $(SHARED_HDRS)

# make bench: the same guest as dom0 of Xenolith and of a real Xen 4.17,
# both under QEMU -icount (TSC follows retired instructions); a second
# pair of runs with two CPUs for the two-CPU row. BENCH_XEN=0 skips the
# (slow) Xen runs. Then tests/bench/bench-io.sh: the split drivers
# (blkfront/netfront domUs on dom0's services) under -icount, appended to
# the same results file; BENCH_IO=0 skips it.
BENCH_IO ?= 1
bench: $(DEPS_STAMP) $(LOADER) $(HV_ELF) $(BENCH_ELF) $(DOM0_ELF) $(BUILD)/guests/blktest.elf \
    $(BUILD)/guests/nettest.elf
	$(Q)BENCH_XEN=$(BENCH_XEN) bash tests/bench/bench.sh
	$(Q)if [ "$(BENCH_IO)" != 0 ]; then bash tests/bench/bench-io.sh; fi
