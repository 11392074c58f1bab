# The credit scheduler's pure logic (weights, caps, affinity, run queues,
# load balancing) on simulated time; it links nothing else.
UNIT_TESTS += sched_credit
UNIT_SRCS_sched_credit := hv/common/sched_credit.c
