# tests/unit/kimage.mk - kernel-image probing and the decompressors
# (hv/shared/kimage.c, hv/shared/decompress/), checked against Debian's
# gzip/xz/lz4/zstd on samples made at test time (kimage_samples.sh), and
# against a real Debian kernel when one is at hand: KIMAGE_TEST_KERNEL
# (and KIMAGE_TEST_VMLINUX for its reference), else build/fixtures/.
UNIT_TESTS += kimage
UNIT_SRCS_kimage := $(SHARED_KIMAGE_SRCS)
KIMAGE_SAMPLES := $(BUILD)/unit/kimage-samples
$(KIMAGE_SAMPLES)/.stamp: tests/unit/kimage_samples.sh
	$(Q)bash tests/unit/kimage_samples.sh $(KIMAGE_SAMPLES)
$(BUILD)/unit/test_kimage: hv/shared/decompress/decompress.h $(KIMAGE_SAMPLES)/.stamp
$(BUILD)/unit/test_kimage: UNIT_HOST_CFLAGS += -DKIMAGE_SAMPLES='"$(abspath $(KIMAGE_SAMPLES))"' \
    -DKIMAGE_FIXTURES='"$(abspath $(BUILD))/fixtures"'
