# tests/bench/bench.mk - the PV micro-benchmark guest and `make bench`.
BENCH_ELF := $(BUILD)/guests/bench.elf
TEST_GUESTS += $(BENCH_ELF)
$(eval $(call guest_kernel,$(BENCH_ELF),tests/bench/bench.c))

# make bench: the same guest as dom0 of Xenolith and of a real Xen 4.17,
# both under QEMU -icount (TSC follows retired instructions).
bench: $(DEPS_STAMP) $(LOADER) $(HV_ELF) $(BENCH_ELF)
	$(Q)bash tests/bench/bench.sh
