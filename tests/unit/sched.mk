UNIT_TESTS += sched
UNIT_SRCS_sched := tests/unit/fake_smp.c tests/unit/fake_hvm.c hv/common/sched.c hv/common/sched_credit.c hv/common/timer.c \
                   hv/common/event_channel.c \
                   tests/unit/fake_console.c tests/unit/fake_domains.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_sched += hv/common/hcstat.c hv/shared/hcstat.c hv/shared/format.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_sched += hv/common/pirq.c hv/common/msi.c
