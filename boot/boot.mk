# boot.mk - the UEFI loader (BOOTX64.EFI, gnu-efi), its host unit tests,
# and a stub hypervisor for testing the hand-over. Included by ../Makefile.
# Owns: everything under $(BUILD)/boot/. Must never: build anything the
# hypervisor links, or put the stub into `all`.

EFI_INC     := /usr/include/efi
EFI_LIB     := /usr/lib
EFI_CRT0    := $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDS     := $(EFI_LIB)/elf_x86_64_efi.lds

# gnu-efi objects: PIC, SysV ABI inside, firmware reached through
# uefi_call_wrapper. Do not add GNU_EFI_USE_MS_ABI (crashes with crt0).
EFI_CFLAGS  := -std=gnu11 -O2 -g $(WARN) -fpic -fshort-wchar -mno-red-zone \
               -ffreestanding -fno-stack-protector -fno-strict-aliasing \
               -mno-mmx -mno-sse -mno-sse2 -DEFI_FUNCTION_WRAPPER \
               -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 \
               -I$(XEN_INC) -I$(SHARED_INC) -Iboot/include -Iboot $(XEN_IFACE) -MMD -MP
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined -T $(EFI_LDS)

LOADER      := $(BUILD)/boot/BOOTX64.EFI
LOADER_OBJS := $(addprefix $(BUILD)/boot/,loader.o config.o memmap.o elf.o)

all: $(LOADER)

$(BUILD)/boot/%.o: boot/%.c | $(XEN_INC)/xen
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/boot/elf.o: hv/shared/elf.c | $(XEN_INC)/xen
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/boot/loader.so: $(LOADER_OBJS) $(EFI_CRT0) $(EFI_LDS)
	$(Q)$(LD) $(EFI_LDFLAGS) $(EFI_CRT0) $(LOADER_OBJS) -L$(EFI_LIB) -lefi -lgnuefi \
	    $(shell $(CC) -print-libgcc-file-name) -o $@

$(LOADER): $(BUILD)/boot/loader.so
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
	    -j .rela -j '.rel.*' -j '.rela.*' -j .reloc --target efi-app-x86_64 \
	    --subsystem=10 $< $@
	@echo "  EFI     $@"

# Host unit tests (built and run by tests/tests.mk).
UNIT_TESTS       += elf config memmap
UNIT_SRCS_elf    := hv/shared/elf.c
UNIT_SRCS_config := boot/config.c
UNIT_SRCS_memmap := boot/memmap.c

# Stub hypervisor: checks the hand-over and reports on COM1, then ends
# QEMU through isa-debug-exit (0x10 = pass). Not part of `all`.
STUB_HV      := $(BUILD)/boot/stub-hv.elf
STUB_HV_OBJS := $(BUILD)/boot/test/stub_hv.o

$(BUILD)/boot/test/%.o: boot/test/%.c | $(XEN_INC)/xen
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(STUB_HV): $(STUB_HV_OBJS) boot/test/stub_hv.ld
	$(Q)$(LD) -nostdlib -static -z max-page-size=4096 --no-warn-rwx-segments -T boot/test/stub_hv.ld \
	    $(STUB_HV_OBJS) -o $@

# `make boot-test`: boot the loader in QEMU/OVMF with the stub and with
# broken configs; see boot/test/run.sh.
.PHONY: boot-test
boot-test: $(DEPS_STAMP) $(LOADER) $(STUB_HV)
	$(Q)bash boot/test/run.sh $(BUILD)/boot
