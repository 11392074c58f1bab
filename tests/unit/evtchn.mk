UNIT_TESTS += evtchn
UNIT_SRCS_evtchn := hv/common/event_channel.c tests/unit/fake_console.c tests/unit/fake_domains.c
