# Xenolith top-level Makefile (non-recursive; fragments live beside what
# they build). `make help` lists the targets.

BUILD      ?= build
CC         := gcc
LD         := ld
OBJCOPY    := objcopy
Q          ?= @

# Xen public headers (Debian libxen-dev) are reached through a private
# include dir that holds only them, so freestanding code never sees glibc.
XEN_INC    := $(BUILD)/include
XEN_IFACE  := -D__XEN_INTERFACE_VERSION__=0x00040e00

WARN       := -Wall -Wextra -Werror -Wno-unused-parameter -Wstrict-prototypes \
              -Wmissing-prototypes -Wshadow -Wpointer-arith
GCC_INC    := $(shell $(CC) -print-file-name=include)

# The code every part links (hv/shared): SHARED_INC, SHARED_*_SRCS.
include hv/shared/shared.mk

# Freestanding code: the hypervisor and guest kernels.
KCFLAGS    := -std=gnu11 -O2 -g $(WARN) -ffreestanding -nostdinc -isystem $(GCC_INC) \
              -fno-builtin -fno-pic -fno-pie -mno-red-zone -mno-mmx -mno-sse -mno-sse2 \
              -fno-stack-protector -fno-asynchronous-unwind-tables \
              -fno-omit-frame-pointer -ffunction-sections -fdata-sections \
              -I$(XEN_INC) -I$(SHARED_INC) -Iboot/include $(XEN_IFACE) -MMD -MP

# Host unit tests: the same pure sources, with sanitizers.
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -fsanitize=address,undefined \
              -fno-sanitize-recover=all -fno-omit-frame-pointer \
              -I$(XEN_INC) -I$(SHARED_INC) -Iboot/include $(XEN_IFACE) -DXL_HOST_TEST -MMD -MP
HOST_LDLIBS := -lcmocka

.PHONY: all help deps run test unit scenarios debug clean bench run-xl xl
all:

help:
	@echo "make run        build and boot Xenolith in QEMU (DOM0=elf DOM0_CMDLINE='...' RUN_TIMEOUT=s)"
	@echo "make test       host unit tests (cmocka, ASan/UBSan) then QEMU scenario tests"
	@echo "make unit       host unit tests only"
	@echo "make scenarios  QEMU scenario tests only"
	@echo "make debug      boot with QEMU's gdbstub waiting; see tests/harness/gdbinit"
	@echo "make iso        build/boot/xenolith.iso: GRUB + multiboot2 (ISO_HV_CMDLINE='...'), for -cdrom / Bochs"
	@echo "make deps       install the Debian packages the build and tests need"
	@echo "make fixtures   fetch Debian's kernel + busybox, build the Linux test initramfs (build/fixtures)"
	@echo "make fixtures-check[-xen]  boot them in plain QEMU [as dom0 of real Xen 4.17] and drive the shell"

# Installs missing Debian packages once per machine (see tests/harness/deps.sh).
DEPS_STAMP := $(BUILD)/.deps-ok
deps: $(DEPS_STAMP)
$(DEPS_STAMP): tests/harness/deps.sh
	$(Q)bash tests/harness/deps.sh
	$(Q)mkdir -p $(dir $@) && touch $@

$(XEN_INC)/xen: | $(DEPS_STAMP)
	$(Q)mkdir -p $(XEN_INC) && ln -sfn /usr/include/xen $@

-include boot/boot.mk
include hv/hv.mk
include guest-drivers/guest.mk
# The toolstack (toolstack/*/toolstack.mk) is built as Xen's tools are:
# with __XEN_TOOLS__ (domctl/sysctl) and the newest interface version. Each
# fragment adds its sources to DOM0_TOOLSTACK_SRCS, which dom0.mk links.
TOOLSTACK_CFLAGS := -D__XEN_TOOLS__ -U__XEN_INTERFACE_VERSION__
TOOLSTACK_HDRS   := $(wildcard toolstack/*/*.h)
include $(wildcard toolstack/*/toolstack.mk)
include guest-drivers/dom0/dom0.mk
include tests/tests.mk
include boot/iso.mk

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
