# tests/unit/xlcfg.mk - xl's config parser and command front end
# (toolstack/xl/): host unit tests.
UNIT_TESTS += xlcfg xlcmd
UNIT_SRCS_xlcfg := toolstack/xl/xlcfg.c toolstack/xl/xlvif.c toolstack/xl/xldisk.c hv/shared/format.c
UNIT_SRCS_xlcmd := toolstack/xl/xlcmd.c toolstack/xl/xlcfg.c toolstack/xl/xlvif.c toolstack/xl/xldisk.c \
                   hv/shared/format.c hv/shared/hcstat.c
$(BUILD)/unit/test_xlcfg $(BUILD)/unit/test_xlcmd: $(wildcard toolstack/xl/*.h)
