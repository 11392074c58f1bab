# Grant tables v1: map/unmap/copy/setup state machine on the real page-type code.
UNIT_TESTS += gnttab
UNIT_SRCS_gnttab := tests/unit/fake_smp.c tests/unit/fake_hvm.c hv/common/grant_table.c hv/common/mm.c hv/arch/x86/pv/page_type.c hv/arch/x86/tlbflush.c \
                    hv/arch/x86/pv/m2p.c hv/arch/x86/pv/mmu.c hv/common/page_alloc.c hv/shared/format.c \
                    tests/unit/fake_mem.c tests/unit/fake_console.c tests/unit/fake_domains.c
# hc_unimplemented (hcstat.c) and the names it logs
UNIT_SRCS_gnttab += hv/common/hcstat.c hv/shared/hcstat.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_gnttab += hv/common/pirq.c hv/common/msi.c
