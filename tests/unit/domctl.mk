# domctl / sysctl (and console.c's ring) through the real hypercall layer
# and memory code.
UNIT_TESTS += domctl
UNIT_SRCS_domctl := tests/unit/fake_smp.c tests/unit/fake_hvm.c hv/common/domctl.c hv/common/sysctl.c hv/common/console.c \
                    hv/common/hypercall.c hv/common/multicall.c hv/common/domain.c \
                    hv/common/mm.c hv/arch/x86/pv/page_type.c hv/arch/x86/tlbflush.c hv/arch/x86/pv/m2p.c hv/arch/x86/pv/mmu.c \
                    hv/common/memory.c hv/common/page_alloc.c hv/common/guest_access.c \
                    hv/shared/format.c \
                    tests/unit/fake_mem.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_domctl += hv/common/hcstat.c hv/shared/hcstat.c hv/common/platform.c
# the scheduler (XEN_DOMCTL/SYSCTL_scheduler_op, domain_destroy) with its
# credit logic; its timer and event hooks are stubs in test_domctl.c
UNIT_SRCS_domctl += hv/common/sched.c hv/common/sched_credit.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_domctl += hv/common/pirq.c hv/common/msi.c
