# PV memory management: page types, reference counts, M2P, MMU hypercalls.
UNIT_TESTS += mm
UNIT_SRCS_mm := tests/unit/fake_smp.c tests/unit/fake_hvm.c hv/common/mm.c hv/arch/x86/pv/page_type.c hv/arch/x86/tlbflush.c hv/arch/x86/pv/m2p.c hv/arch/x86/pv/mmu.c \
                hv/common/memory.c hv/common/page_alloc.c hv/common/guest_access.c \
                hv/shared/format.c \
                tests/unit/fake_mem.c tests/unit/fake_console.c tests/unit/fake_domains.c
# pv_build now types its tables and fills the M2P.
UNIT_SRCS_pv_build += tests/unit/fake_smp.c hv/arch/x86/pv/page_type.c hv/arch/x86/tlbflush.c hv/arch/x86/pv/m2p.c \
                      tests/unit/fake_domains.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_mm += hv/common/hcstat.c hv/shared/hcstat.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_mm += hv/common/pirq.c hv/common/msi.c
