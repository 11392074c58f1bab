UNIT_TESTS += evtchn
UNIT_SRCS_evtchn := hv/common/event_channel.c
