# update_descriptor on a frame other vcpus hold as GDT/LDT (pv_desc.c):
# every holder recopies, a running holder elsewhere is kicked.
UNIT_TESTS += pv_desc
UNIT_SRCS_pv_desc := hv/arch/x86/pv/pv_desc.c hv/common/mm.c hv/arch/x86/pv/page_type.c \
                     hv/arch/x86/tlbflush.c hv/arch/x86/pv/m2p.c hv/common/page_alloc.c hv/common/guest_access.c \
                     tests/unit/fake_mem.c tests/unit/fake_console.c tests/unit/fake_domains.c \
                     tests/unit/fake_smp.c hv/shared/format.c
# physical IRQs (pirq.c, msi.c): event_channel.c, mm.c and domain.c call them
UNIT_SRCS_pv_desc += hv/common/pirq.c hv/common/msi.c
# event_channel.c calls the HVM layer (its ioreq ports)
UNIT_SRCS_pv_desc += tests/unit/fake_hvm.c
