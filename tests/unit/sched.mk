UNIT_TESTS += sched
UNIT_SRCS_sched := hv/common/sched.c hv/common/timer.c hv/common/event_channel.c
