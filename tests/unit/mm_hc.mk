# Memory hypercalls through the hypercall layer: continuations (fake
# clock), multicall, shared_info's permanent type (domain.c).
UNIT_TESTS += mm_hc
UNIT_SRCS_mm_hc := tests/unit/fake_smp.c tests/unit/fake_hvm.c hv/common/hypercall.c hv/common/multicall.c hv/common/domain.c \
                   hv/common/mm.c hv/arch/x86/pv/page_type.c hv/arch/x86/tlbflush.c hv/arch/x86/pv/m2p.c hv/arch/x86/pv/mmu.c \
                   hv/common/memory.c hv/common/page_alloc.c hv/common/guest_access.c \
                   hv/shared/format.c \
                   tests/unit/fake_mem.c tests/unit/fake_console.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_mm_hc += hv/common/hcstat.c hv/shared/hcstat.c hv/common/platform.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_mm_hc += hv/common/pirq.c hv/common/msi.c
