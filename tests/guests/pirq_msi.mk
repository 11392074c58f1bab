# dom0 with QEMU's edu device: MSI as an event channel (tests/scenarios/pirq_msi.scn).
TEST_GUESTS += $(BUILD)/guests/pirq_msi.elf
$(eval $(call guest_kernel,$(BUILD)/guests/pirq_msi.elf,tests/guests/pirq_msi.c guest-drivers/pci/pci.c guest-drivers/pci/pci_irq.c))
