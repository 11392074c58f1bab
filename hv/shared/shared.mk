# hv/shared/shared.mk - the freestanding pure code that the hypervisor,
# the guest kernels and the toolstack all link, and its include directory.
# It includes nothing but its own headers, the Xen public headers and the
# compiler's freestanding ones; the hv's and the toolstack's include dirs
# are never on its path.
SHARED_INC        := hv/shared/include
# string and formatting routines: every freestanding image links them
SHARED_LIB_SRCS   := hv/shared/format.c hv/shared/lib.c
# the PV domain builder's core: ELF reader, layout, hypercall page
SHARED_BUILD_SRCS := hv/shared/pv_build.c hv/shared/elf.c hv/shared/hypercall_page.c hv/shared/acpi_build.c hv/shared/pvh_layout.c hv/shared/linux_boot.c \
                     hv/shared/mb1_layout.c
# kernel images: bzImage/format probing and the single-call decompressors
SHARED_KIMAGE_SRCS := hv/shared/kimage.c hv/shared/decompress/crc.c hv/shared/decompress/inflate.c \
                      hv/shared/decompress/xz.c hv/shared/decompress/lz4.c hv/shared/decompress/zstd.c
SHARED_BUILD_SRCS  += $(SHARED_KIMAGE_SRCS)
# hypercall and sub-op names, the hypercall counters' listing (hv, xl)
SHARED_HCSTAT_SRCS := hv/shared/hcstat.c
SHARED_HDRS       := $(wildcard $(SHARED_INC)/xenolith/*.h)
