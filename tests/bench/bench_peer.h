/*
 * bench_peer.h - what the bench peer (bench_peer.c) counts into the page
 * dom0 grants it (grant ref "gref=" on its command line), for bench.c to
 * check that a measured loop went through the peer.
 */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H
#include <stdint.h>

struct bench_peer_stats {
    uint64_t echoes; /* events sent back on the echo channel */
    uint64_t yields; /* SCHEDOP_yield calls returned in the yield loop */
};
#endif
