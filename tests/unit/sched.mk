UNIT_TESTS += sched
UNIT_SRCS_sched := hv/common/sched.c hv/common/timer.c hv/common/event_channel.c \
                   tests/unit/fake_console.c tests/unit/fake_domains.c
