# hv/hv.mk - the hypervisor ELF (build/hv/xenolith.elf).

HV_ELF    := $(BUILD)/hv/xenolith.elf
HV_SRCS   := $(wildcard hv/common/*.c) $(wildcard hv/arch/x86/*.c) $(wildcard hv/arch/x86/pv/*.c) $(wildcard hv/arch/x86/hvm/*.c) \
             $(SHARED_LIB_SRCS) $(SHARED_BUILD_SRCS) $(SHARED_HCSTAT_SRCS)
HV_ASMS   := $(wildcard hv/arch/x86/*.S)
HV_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(HV_SRCS)) $(patsubst %.S,$(BUILD)/%.o,$(HV_ASMS))
HV_CFLAGS := $(KCFLAGS) -mcmodel=large -Ihv/include -Ihv/arch/x86/include

# Version facts come from git, so one commit always reports the same.
GIT_SHA   := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DATE  := $(shell git log -1 --format=%cd --date=format:%Y-%m-%d 2>/dev/null || echo unknown)
GCC_VER   := $(shell $(CC) -dumpfullversion)
HV_VERSION_DEFS := -DXL_CHANGESET='"$(GIT_SHA)"' -DXL_BUILD_DATE='"$(GIT_DATE)"' \
                   -DXL_COMPILER='"gcc $(GCC_VER)"'

all: $(HV_ELF)

$(BUILD)/hv/%.o: hv/%.c | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/common/version.o: HV_CFLAGS += $(HV_VERSION_DEFS)
$(BUILD)/hv/arch/x86/setup.o: HV_CFLAGS += $(HV_VERSION_DEFS)

$(BUILD)/hv/%.o: hv/%.S | $(XEN_INC)/xen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(HV_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(HV_ELF): $(HV_OBJS) hv/arch/x86/hv.lds
	$(Q)$(LD) -nostdlib -static --gc-sections --build-id=sha1 -z max-page-size=4096 \
	    -T hv/arch/x86/hv.lds -o $@ $(HV_OBJS)
	@echo "  LD      $@"
