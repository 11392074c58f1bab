# Physical interrupts: the pirq table, MSI/MSI-X programming, physdev_op's
# pirq sub-ops, EVTCHNOP_bind_pirq and delivery (test_pirq.c).
UNIT_TESTS += pirq
UNIT_SRCS_pirq := hv/common/pirq.c hv/common/msi.c hv/arch/x86/pv/physdev.c hv/common/event_channel.c \
                  tests/unit/fake_smp.c tests/unit/fake_console.c tests/unit/fake_domains.c \
                  hv/common/hcstat.c hv/shared/hcstat.c hv/shared/format.c
# event_channel.c calls the HVM layer (its ioreq ports)
UNIT_SRCS_pirq += tests/unit/fake_hvm.c
