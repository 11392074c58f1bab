# tests/unit/xlcfg.mk - the dom0 toolstack's xl.cfg parser and xl command
# front end (guest-drivers/toolstack/): host unit tests, plus a
# freestanding compile of the same sources with the guest kit's flags so
# they are known to build for dom0 (linking them into dom0 is not done
# here).
UNIT_TESTS += xlcfg xlcmd
UNIT_SRCS_xlcfg := toolstack/xl/xlcfg.c hv/shared/format.c
UNIT_SRCS_xlcmd := toolstack/xl/xlcmd.c toolstack/xl/xlcfg.c \
                   hv/shared/format.c

TOOLSTACK_HDRS := $(wildcard toolstack/xl/*.h)
$(BUILD)/unit/test_xlcfg $(BUILD)/unit/test_xlcmd: $(TOOLSTACK_HDRS)

TOOLSTACK_OBJS := $(BUILD)/guest/toolstack/xl/xlcfg.o \
                  $(BUILD)/guest/toolstack/xl/xlcmd.o
$(TOOLSTACK_OBJS): $(TOOLSTACK_HDRS)
all: $(TOOLSTACK_OBJS)
