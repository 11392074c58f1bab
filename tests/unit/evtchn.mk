UNIT_TESTS += evtchn
UNIT_SRCS_evtchn := tests/unit/fake_smp.c hv/common/event_channel.c tests/unit/fake_console.c tests/unit/fake_domains.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_evtchn += hv/common/hcstat.c hv/shared/hcstat.c hv/shared/format.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_evtchn += hv/common/pirq.c hv/common/msi.c
# the HVM layer as host tests see it (hvm_ioreq_port_notify for the hv-consumed ports)
UNIT_SRCS_evtchn += tests/unit/fake_hvm.c
