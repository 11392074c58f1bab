# guest-drivers/dom0/dom0.mk - the built-in dom0 image: its entry point
# (main.c) on the kit's runtime, plus the toolstack that runs in dom0's
# service mode, which the toolstack/*/toolstack.mk fragments list in
# DOM0_TOOLSTACK_SRCS.
# dom0's device drivers and their registries (docs/split-drivers.md).
DOM0_SRCS := $(wildcard guest-drivers/dom0/*.c) guest-drivers/blk/blkdev.c guest-drivers/blk/ramdisk.c \
             guest-drivers/ring/backring.c guest-drivers/blk/blkif_req.c guest-drivers/xenbus/xbfsm.c \
             $(wildcard guest-drivers/pci/*.c)
DOM0_ELF  := $(BUILD)/guests/dom0.elf
$(eval $(call guest_kernel,$(DOM0_ELF),$(sort $(DOM0_SRCS) $(DOM0_TOOLSTACK_SRCS))))
