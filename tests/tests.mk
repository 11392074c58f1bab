# tests/tests.mk - host unit tests (cmocka + ASan/UBSan), test guests,
# QEMU scenarios, and the run/debug entry points.

# Unit tests: tests/unit/test_NAME.c linked with exactly UNIT_SRCS_NAME.
UNIT_TESTS += page_alloc format guest_access pv_build
UNIT_SRCS_page_alloc   := hv/common/page_alloc.c
UNIT_SRCS_format       := hv/shared/format.c
UNIT_SRCS_guest_access := hv/common/guest_access.c
UNIT_SRCS_pv_build     := hv/shared/pv_build.c hv/arch/x86/pv/pv_build_hv.c hv/shared/elf.c hv/common/page_alloc.c \
                          hv/shared/format.c

# Each subsystem may add its own tests in a fragment: tests/unit/NAME.mk
# (UNIT_TESTS += NAME, UNIT_SRCS_NAME := ...), tests/guests/NAME.mk.
-include $(wildcard tests/unit/*.mk)

UNIT_BINS := $(addprefix $(BUILD)/unit/test_,$(UNIT_TESTS))
UNIT_HOST_CFLAGS := $(filter-out -MMD -MP,$(HOST_CFLAGS)) -Ihv/include

.SECONDEXPANSION:
$(BUILD)/unit/test_%: tests/unit/test_%.c $$(UNIT_SRCS_$$*) $$(wildcard hv/include/xenolith/*.h hv/shared/include/xenolith/*.h tests/unit/fake_*.h) | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(UNIT_HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LDLIBS)

unit: $(DEPS_STAMP) $(UNIT_BINS)
	$(Q)fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	    if [ $$fail = 0 ]; then echo "unit: all test programs passed"; else echo "unit: FAILED"; exit 1; fi

# Test guests: PV kernels that check the hypervisor from inside.
TEST_GUESTS := $(BUILD)/guests/crash.elf $(BUILD)/guests/hypercalls.elf
$(eval $(call guest_kernel,$(BUILD)/guests/crash.elf,tests/guests/crash.c))
$(eval $(call guest_kernel,$(BUILD)/guests/hypercalls.elf,tests/guests/hypercalls.c))

-include $(wildcard tests/guests/*.mk) $(wildcard tests/guests/*/*.mk)
-include $(wildcard tests/bench/*.mk)

IMAGES := $(LOADER) $(HV_ELF) $(DOM0_ELF) $(TEST_GUESTS)

# The Linux guest fixtures (Debian's kernel, a busybox initramfs) in
# $(BUILD)/fixtures, fetched with apt-get download; see
# tests/harness/fixtures.sh. Quick when nothing changed; when they cannot
# be had it says why, writes fixtures/UNAVAILABLE and succeeds, and the
# tests that need them skip. linux-initramfs is the same step: it rebuilds
# the initramfs after an edit of tests/harness/initramfs/.
.PHONY: fixtures linux-initramfs fixtures-check fixtures-check-xen
fixtures linux-initramfs: $(DEPS_STAMP)
	$(Q)BUILD=$(BUILD) bash tests/harness/fixtures.sh
# Boot them outside Xenolith and drive the shell: plain QEMU (~10 s), or as
# dom0 of real Xen 4.17 (~45 s).
fixtures-check: fixtures
	$(Q)BUILD=$(BUILD) bash tests/harness/check-fixtures.sh
fixtures-check-xen: fixtures
	$(Q)BUILD=$(BUILD) bash tests/harness/check-fixtures.sh --xen

# Two at a time by default (make test stays within its time on 2 cores);
# SCENARIO_JOBS=1 runs them one after the other.
SCENARIO_JOBS ?= 2
scenarios: $(DEPS_STAMP) $(IMAGES) fixtures
	$(Q)bash tests/harness/scenarios.sh -j $(SCENARIO_JOBS) tests/scenarios/*.scn

test: unit boot-test scenarios

# make run [DOM0=elf] [DOM0_CMDLINE='...'] [HV_CMDLINE='...'] [RUN_TIMEOUT=s]
DOM0         ?= $(DOM0_ELF)
DOM0_CMDLINE ?=
HV_CMDLINE   ?= console=com1
RUN_TIMEOUT  ?= 60
# make run XL=1 is make run-xl: dom0 with its toolstack, xl on a socket.
ifeq ($(XL),1)
run: run-xl
else
run: $(DEPS_STAMP) $(IMAGES)
	$(Q)bash tests/harness/run-qemu.sh --dom0 '$(DOM0)' --dom0-cmdline '$(DOM0_CMDLINE)' \
	    --hv-cmdline '$(HV_CMDLINE)' --timeout $(RUN_TIMEOUT)
endif

# The xl demo: dom0 in service mode with a ramdisk of configs and kernels
# (tests/xl-demo/*.cfg), xl on a unix socket. In another terminal:
#   make xl CMD='xl create pp-front.cfg'
# XL_EXTRA adds host files to that ramdisk (by their base name: a config
# names them so), XL_DOM0_MEM sets the hv's dom0_mem= (dom0 stages
# kernels, ramdisks and P2Ms in its own memory) and XL_QEMU_MEM the
# machine's memory, e.g. for a Linux domU:
#   make run-xl XL_EXTRA='vmlinuz initrd.img linux.cfg' XL_DOM0_MEM=512M XL_QEMU_MEM=2G
XL_DEMO_CPIO := $(BUILD)/xl-demo.cpio
XL_SOCK      ?= $(BUILD)/xl.sock
XL_EXTRA     ?=
XL_DOM0_MEM  ?=
XL_QEMU_MEM  ?= 512M
XL_HV_CMDLINE := console=com1$(if $(XL_DOM0_MEM), dom0_mem=$(XL_DOM0_MEM))
# Rebuilt whenever the list of extra files changes.
XL_EXTRA_LIST := $(BUILD)/xl-demo.extra
$(XL_EXTRA_LIST): FORCE
	@mkdir -p $(dir $@)
	@echo '$(abspath $(XL_EXTRA))' | cmp -s - $@ || echo '$(abspath $(XL_EXTRA))' >$@
$(XL_DEMO_CPIO): $(wildcard tests/xl-demo/*.cfg) $(BUILD)/guests/pingpong.elf $(DOM0_ELF) \
                 $(BUILD)/guests/blktest.elf $(BUILD)/guests/nettest.elf $(HVMTEST_ELF) \
                 $(XL_EXTRA) $(XL_EXTRA_LIST)
	@rm -rf $(BUILD)/xl-demo && mkdir -p $(BUILD)/xl-demo
	$(Q)cp tests/xl-demo/*.cfg $(BUILD)/guests/pingpong.elf $(BUILD)/guests/blktest.elf \
	    $(BUILD)/guests/nettest.elf $(HVMTEST_ELF) $(BUILD)/xl-demo/
	$(Q)cp $(DOM0_ELF) $(BUILD)/xl-demo/beat.elf
	$(Q)$(if $(strip $(XL_EXTRA)),cp $(XL_EXTRA) $(BUILD)/xl-demo/)
	$(Q)cd $(BUILD)/xl-demo && ls | cpio -o -H newc --quiet >$(abspath $@)

# dom0 also gets a 64 MiB disk (vda, XL_DISK, made once) and a NIC on
# QEMU's user network with no way out (eth0).
XL_DISK ?= $(BUILD)/xl-demo-disk.img
$(XL_DISK):
	@mkdir -p $(dir $@) && truncate -s 64M $@
run-xl: $(DEPS_STAMP) $(IMAGES) $(XL_DEMO_CPIO) $(XL_DISK)
	@echo "xl is on $(XL_SOCK): in another terminal, make xl CMD='xl list'"
	$(Q)bash tests/harness/run-qemu.sh --dom0-cmdline services=1 --ramdisk $(XL_DEMO_CPIO) \
	    --disk $(XL_DISK) --nic user,id=n0,restrict=on \
	    --hv-cmdline '$(XL_HV_CMDLINE)' --mem $(XL_QEMU_MEM) --ctl $(XL_SOCK) --timeout 0

.PHONY: FORCE
FORCE:

CMD ?= xl list
xl:
	$(Q)bash tests/harness/xlctl.sh --sock $(XL_SOCK) '$(CMD)'

debug: $(DEPS_STAMP) $(IMAGES)
	$(Q)bash tests/harness/run-qemu.sh --dom0 '$(DOM0)' --dom0-cmdline '$(DOM0_CMDLINE)' \
	    --hv-cmdline '$(HV_CMDLINE)' --gdb
