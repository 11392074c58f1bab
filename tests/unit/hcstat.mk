# Hypercall statistics: hc_unimplemented's log-once bits, the counters'
# rows and listing, the hypercall / sub-op names (hv and xl share them).
UNIT_TESTS += hcstat
UNIT_SRCS_hcstat := hv/common/hcstat.c hv/shared/hcstat.c hv/shared/format.c
