# iso.mk - `make iso`: build/boot/xenolith.iso, a GRUB (legacy BIOS)
# rescue ISO that boots the hypervisor through multiboot2 with the
# built-in dom0 (boot/mkiso.sh; docs/boot-info.md, "Multiboot2 path").
# Owns: $(BUILD)/boot/xenolith.iso. Must never: put the ISO into `all`
# (grub-mkrescue is a test/deploy tool, not a build step of the hv).

ISO             := $(BUILD)/boot/xenolith.iso
ISO_HV_CMDLINE  ?= console=com1
ISO_DOM0_CMDLINE ?=

.PHONY: iso
iso: $(ISO)
$(ISO): $(DEPS_STAMP) $(HV_ELF) $(DOM0_ELF) boot/mkiso.sh FORCE
	$(Q)BUILD=$(BUILD) bash boot/mkiso.sh --out $@ --hv $(HV_ELF) --dom0 $(DOM0_ELF) \
	    --hv-cmdline '$(ISO_HV_CMDLINE)' --dom0-cmdline '$(ISO_DOM0_CMDLINE)'
	@echo "  ISO     $@"
