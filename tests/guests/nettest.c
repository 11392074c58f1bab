/*
 * nettest.c - a PV test kernel on the kit's netfront and tiny IPv4 stack
 * (guest-drivers/net/{netfront,ip}.c): it brings up vif 0 and pings a
 * peer through dom0's netback and bridge, answering pings meanwhile.
 *   ip=10.0.0.N peer=10.0.0.M count=K  K echoes (56 bytes), one at a time,
 *       after a warm-up that waits (wait=MS, default 20000) for the peer
 *       to answer once; interval=MS between echoes (default 0); then it
 *       keeps answering for linger=MS (default 4000).
 *   expect=lost   the peer must be unreachable: no warm-up, every echo
 *       must be lost (a domU on another VLAN).
 *   count=0 answer=MS   only answer, for MS ms.
 *   wait_vif=MS   wait up to MS for device/vif/0 to appear first (a vif
 *       that `xl network-attach` adds after the domain started).
 *   until_detach=MS   after the count= echoes, go on pinging (every
 *       100 ms) until the back end starts closing (`xl network-detach`),
 *       then close our end (and stay 2 s without a vif); at most the one
 *       echo in flight may be lost.
 *   udp=PORT      echo every UDP datagram to PORT back to its sender
 *       (checks the back end filled in a Linux front end's csum_blank
 *       checksums: ip.c drops a datagram whose checksum is wrong).
 *   udp_quit=MS   with udp=: after the echoes, keep answering until a
 *       datagram "quit" came (echoed too), MS at most; PASS needs it (a
 *       peer outside the machine, behind dom0's uplink, says it is done).
 *   hostile=1|2|3 before pinging, attack its own netback (bad grant refs,
 *       an oversized packet, a runt, slot sizes that do not add up, a
 *       storm of 20000 bad requests: each must come back
 *       NETIF_RSP_ERROR), ping, then break the protocol (1: a slot past
 *       its page, 2: a producer index jump, 3: half a packet, then a flood
 *       of follow-on slots): the back end must close.
 *   hostile=4     slot-array overflow: push the first 10 slots of a packet
 *       (NETTXF_more_data on the last), let netback keep them, then push
 *       100 more requests in one go. Netback must take no more than its
 *       slot array holds (each request answered, the vif stays up); the
 *       100 carry gref 0x7fff0000, so one that lands past the array
 *       turns netback's slot count into garbage.
 *   hostile=5     instead, after pinging: a packet's first slot alone,
 *       then 100 slots at once (netback's tx stash must not overflow):
 *       all 101 answered NETIF_RSP_ERROR, then 5 echoes, no bad rx; and
 *       102 slots of six good packets at once (cut mid-packet: kept).
 *   hostile=6 steal=D steal_ms=MS   first, for MS ms, send frames whose
 *       source is domain D's vif 0 MAC; no frame for that MAC may reach
 *       us (the bridge must not let a vif take another's address).
 *   blast=N port=P   (benchmark, sender) after the warm-up, N UDP
 *       datagrams in 64-byte frames to peer:P, then N in 1400-byte
 *       frames, then the count= echoes timed, then an end datagram:
 *       "bench: net ..." lines (TSC ticks per op and virtual-time rates).
 *   sink=P        (benchmark, receiver; with count=0) count the datagrams
 *       to port P by frame size, TSC from the first to the last of each
 *       size; stop at the end datagram (or answer=MS) and print them.
 * Prints "nettest: K sent, R received, L lost" and a verdict line
 * "nettest: PASS ..." or "nettest: FAIL ...". Owns: nothing outside
 * itself. Must never: spin without blocking, or wait without a bound.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xenolith/lib.h>
#include <xlguest/console_ring.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/hypercall.h>
#include <xlguest/ip.h>
#include <xlguest/kernel.h>
#include <xlguest/netfront_dev.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>
#include <xlguest/xenbus.h>
#include <xen/io/xenbus.h>

#define PING_ID 0x4e54
#define PAYLOAD 56

static struct netfront nf;
static struct ip_stack ip;
static struct ip_arp_entry arp[16];
static volatile unsigned long timer_ticks;

/* Only printk: the scenarios count nettest lines as dom0 relays them. */
#define say printk

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void on_timer(evtchn_port_t p, void *d) { (void)p; (void)d; timer_ticks++; }

static uint64_t now_ms(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time) / 1000000;
}

static uint64_t num(const start_info_t *si, const char *key, uint64_t dflt)
{
    char b[24];
    if (!cmdline_get(si, key, b, sizeof(b)) || !b[0])
        return dflt;
    uint64_t v = 0;
    for (const char *c = b; *c >= '0' && *c <= '9'; c++)
        v = v * 10 + (uint64_t)(*c - '0');
    return v;
}

static int parse_ip(const char *s, uint32_t *out)
{
    uint32_t a = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, d = 0;
        while (*s >= '0' && *s <= '9' && d < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            d++;
        }
        if (!d || v > 255 || (i < 3 && *s++ != '.'))
            return -1;
        a = a << 8 | v;
    }
    *out = a;
    return *s ? -1 : 0;
}

static struct ip_udp_sock udp_socks[2];
static unsigned long udp_in, udp_unsent;
static int udp_quit;

static void udp_echo(IP_UDP_RX_ARGS)
{
    (void)ctx;
    udp_in++;
    if (ip_udp_send(&ip, src, dport, sport, data, len, now_ms()))
        udp_unsent++;
    /* The first two at once (a scenario may end this domain before its
     * summary line). */
    if (udp_in <= 2)
        say("nettest: udp port %u: datagram %lu echoed, %u dropped for a bad checksum so far\n",
            (unsigned)dport, udp_in, ip.drops[IP_DROP_UDP_CSUM]);
    if (len == 4 && !memcmp(data, "quit", 4))
        udp_quit = 1;
}

static int tx(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    for (int tries = 0; tries < 200; tries++) {
        int rc = netfront_send(&nf, frame, len);
        if (rc != -XEN_EAGAIN)
            return rc;
        netfront_poll(&nf, NULL, NULL);   /* tx answers only: no re-entry */
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    return -XEN_EAGAIN;
}

static void rx(void *opaque, const uint8_t *frame, size_t len)
{
    (void)opaque;
    ip_input(&ip, frame, len, now_ms());
}

/* One round: frames in, timers; then sleep until an event or ms. */
static void pump(uint64_t ms)
{
    unsigned long k = nf.kicks;
    int got = netfront_poll(&nf, rx, NULL);
    ip_poll(&ip, now_ms());
    if (got > 0 || !ms)
        return;
    evtchn_disable_upcalls();
    if (k == nf.kicks) {
        HYPERVISOR_set_timer_op((now_ms() + ms) * 1000000ULL);
        evtchn_block();
    }
    evtchn_enable_upcalls();
}

/* One echo to peer: 1 answered, 0 lost. */
static int ping_once(uint32_t peer, uint16_t seq)
{
    int rc = ip_ping(&ip, peer, PING_ID, seq, PAYLOAD, now_ms());
    if (rc && rc != -XEN_EAGAIN)
        return 0;
    for (;;) {
        struct ip_ping_result r;
        rc = ip_ping_result(&ip, peer, PING_ID, seq, &r);
        if (rc != -XEN_EAGAIN)
            return rc == 0 && r.payload_len == PAYLOAD;
        pump(10);
    }
}

static void answer_for(uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end)
        pump(20);
}

/* ---- benchmark modes (blast=, sink=) ---- */

#define BENCH_SMALL 64u          /* frame bytes: 14 Ethernet + 20 IP + 8 UDP + 22 */
#define BENCH_LARGE 1400u
#define BENCH_HDRS (14u + 20u + 8u)

static inline uint64_t bench_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

struct sink_count { uint64_t n, first, last; };
static struct sink_count sink_small, sink_large;
static int sink_ended;

static void sink_rx(IP_UDP_RX_ARGS)
{
    (void)ctx; (void)src; (void)sport; (void)dport; (void)data;
    uint64_t t = bench_tsc();
    struct sink_count *c = len == BENCH_SMALL - BENCH_HDRS ? &sink_small
                         : len == BENCH_LARGE - BENCH_HDRS ? &sink_large : NULL;
    if (!c) {
        sink_ended = 1;
        return;
    }
    if (!c->n++)
        c->first = t;
    c->last = t;
}

/* "bench: net NAME: T ticks/op (N ops)" and the rate in virtual time. */
static void bench_line(const char *name, uint64_t ticks, uint64_t n)
{
    if (!n || !ticks)
        return;
    say("bench: net %s: %lu ticks/op (%lu ops), %lu per s (virtual time)\n", name,
        (unsigned long)(ticks / n), (unsigned long)n,
        (unsigned long)(n * 1000000000ULL / ticks));
}

static void sink_report(const char *name, const struct sink_count *c)
{
    say("bench: net %s received: %lu datagrams\n", name, (unsigned long)c->n);
    if (c->n > 1)
        bench_line(name, c->last - c->first, c->n - 1);
}

static void sink_run(uint64_t ms)
{
    say("bench: net: receiver: TSC ticks from the first to the last datagram of each size "
        "/ (datagrams - 1); under QEMU -icount shift=0 ticks = instructions retired (all "
        "CPUs) = ns of virtual time\n");
    uint64_t end = now_ms() + ms;
    while (!sink_ended && now_ms() < end)
        pump(20);
    sink_report("udp 64-byte frames, domU -> domU, at the receiver", &sink_small);
    sink_report("udp 1400-byte frames, domU -> domU, at the receiver", &sink_large);
    say("bench: net receiver done%s\n", sink_ended ? "" : " (no end datagram: timed out)");
}

/* n datagrams of frame bytes to peer:port as fast as the ring takes them. */
static void blast_size(uint32_t peer, uint16_t port, unsigned frame, uint64_t n, const char *name)
{
    static uint8_t payload[BENCH_LARGE];
    uint64_t sent = 0, t0 = bench_tsc();
    for (uint64_t i = 0; i < n; i++) {
        netfront_poll(&nf, rx, NULL);
        sent += ip_udp_send(&ip, peer, port, port, payload, frame - BENCH_HDRS, now_ms()) == 0;
    }
    uint64_t t = bench_tsc() - t0;
    say("bench: net %s sent: %lu of %lu datagrams\n", name, (unsigned long)sent, (unsigned long)n);
    bench_line(name, t, n);
    answer_for(300);    /* let the receiver drain before the next size */
}

static void blast_run(uint32_t peer, uint16_t port, uint64_t n)
{
    blast_size(peer, port, BENCH_SMALL, n, "udp 64-byte frames, domU -> domU, at the sender");
    blast_size(peer, port, BENCH_LARGE, n, "udp 1400-byte frames, domU -> domU, at the sender");
}

static void blast_end(uint32_t peer, uint16_t port)
{
    uint8_t one = 0;
    for (int i = 0; i < 3; i++) {
        ip_udp_send(&ip, peer, port, port, &one, 1, now_ms());
        answer_for(50);
    }
}

/* ---- hostile=1: attacks on our own netback ---- */

static unsigned wait_raw(uint64_t want, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        uint64_t got = nf.st.raw_okay + nf.st.raw_error + nf.st.raw_dropped + nf.st.raw_null;
        if (got >= want || now_ms() >= end || nf.broken)
            return (unsigned)got;
        pump(10);
    }
}

static int hostile(void)
{
    int ok = 1;
    uint16_t id = NETFRONT_TX_BUFS;      /* ids netfront only counts */
    grant_ref_t good = nf.tx_gref[0];
    struct netif_tx_request r[4];
    /* A bad grant ref, one never granted, a reserved one: copy fails -> ERROR. */
    r[0] = (struct netif_tx_request){ .gref = 400, .offset = 0, .id = id++, .size = 60 };
    r[1] = (struct netif_tx_request){ .gref = 1, .offset = 0, .id = id++, .size = 60 };
    netfront_tx_raw(&nf, r, 2);
    wait_raw(2, 2000);
    say("nettest: hostile: bad grant refs: %lu error, %lu okay\n",
        (unsigned long)nf.st.raw_error, (unsigned long)nf.st.raw_okay);
    ok &= nf.st.raw_error == 2 && !nf.st.raw_okay;
    /* Oversized (over MTU 1500 without feature-sg), a runt, and slots that
     * claim more than the first one's size. */
    r[0] = (struct netif_tx_request){ .gref = good, .offset = 0, .id = id++, .size = 3000 };
    r[1] = (struct netif_tx_request){ .gref = good, .offset = 0, .id = id++, .size = 8 };
    r[2] = (struct netif_tx_request){ .gref = good, .offset = 0, .id = id++, .size = 100,
                                      .flags = NETTXF_more_data };
    r[3] = (struct netif_tx_request){ .gref = good, .offset = 0, .id = id++, .size = 200 };
    netfront_tx_raw(&nf, r, 4);
    wait_raw(6, 2000);
    say("nettest: hostile: oversized, runt: %lu error, %lu okay, broken %d\n",
        (unsigned long)nf.st.raw_error, (unsigned long)nf.st.raw_okay, nf.broken);
    ok &= nf.st.raw_error == 6 && !nf.st.raw_okay && !nf.broken;
    /* A tx storm: 20000 runt requests, as fast as the ring takes them. */
    uint64_t before = nf.st.raw_error;
    for (unsigned i = 0; i < 20000 && !nf.broken; i++) {
        r[0] = (struct netif_tx_request){ .gref = good, .offset = 0,
                                          .id = (uint16_t)(NETFRONT_TX_BUFS + (i & 0x3ff)),
                                          .size = 10 };
        while (netfront_tx_raw(&nf, r, 1) == -XEN_EAGAIN)
            pump(1);
    }
    wait_raw(6 + 20000, 10000);
    say("nettest: hostile: storm of 20000 runts: %lu errors back\n",
        (unsigned long)(nf.st.raw_error - before));
    ok &= nf.st.raw_error - before == 20000;
    return ok;
}

/* hostile=4: a partial packet kept by netback, then a full batch. */
static int slot_overflow(void)
{
    static struct netif_tx_request r[100];
    grant_ref_t good = nf.tx_gref[0];
    uint64_t before = nf.st.raw_okay + nf.st.raw_error + nf.st.raw_dropped + nf.st.raw_null;
    for (unsigned i = 0; i < 10; i++)
        r[i] = (struct netif_tx_request){ .gref = good, .offset = 0,
                                          .id = (uint16_t)(NETFRONT_TX_BUFS + i),
                                          .size = i ? 10 : 1000, .flags = NETTXF_more_data };
    netfront_tx_raw(&nf, r, 10);
    answer_for(500);                 /* netback takes the 10 and keeps them */
    for (unsigned i = 0; i < 100; i++)
        r[i] = (struct netif_tx_request){ .gref = 0x7fff0000, .offset = 0,
                                          .id = (uint16_t)(NETFRONT_TX_BUFS + 10 + i),
                                          .size = 60 };
    int rc = netfront_tx_raw(&nf, r, 100);
    unsigned got = wait_raw(before + 110, 5000);
    say("nettest: hostile: 10-slot partial packet then 100 requests (push %d): %lu answers, "
        "%lu okay, broken %d\n", rc, (unsigned long)(got - before),
        (unsigned long)nf.st.raw_okay, nf.broken);
    return !rc && got - before == 110 && !nf.st.raw_okay && !nf.broken;
}

/* hostile=5 (after the pings, so netback holds some of our rx requests
 * in its stash): a packet whose first slot (more_data) is pushed alone,
 * so netback keeps it taken and waits for the rest, then 100 slots at
 * once (its follow-on slot with the reserved gref 1, 99 runts): netback
 * must not take more than its tx stash holds (the slots past it landed on
 * its stash of our rx requests; the last one's offset 4000 reads there as
 * an rx id we never posted). Every one of the 101 slots must come back
 * NETIF_RSP_ERROR, then 5 more echoes must all be answered with no bad rx
 * response. */
static int take_overflow(uint32_t peer)
{
    static struct netif_tx_request r[100];
    uint16_t id = NETFRONT_TX_BUFS;
    grant_ref_t good = nf.tx_gref[0];
    uint64_t before = nf.st.raw_error, bad = nf.st.rx_bad + nf.st.rx_err;
    r[0] = (struct netif_tx_request){ .gref = good, .offset = 0, .id = id++, .size = 60,
                                      .flags = NETTXF_more_data };
    netfront_tx_raw(&nf, r, 1);
    answer_for(300);              /* netback takes it and waits for the rest */
    r[0] = (struct netif_tx_request){ .gref = 1, .offset = 0, .id = id++, .size = 10 };
    for (unsigned i = 1; i < 100; i++)
        r[i] = (struct netif_tx_request){ .gref = good, .offset = i == 99 ? 4000 : 0,
                                          .id = id++, .size = 10 };
    while (netfront_tx_raw(&nf, r, 100) == -XEN_EAGAIN)
        pump(1);
    wait_raw(nf.st.raw_okay + nf.st.raw_error + nf.st.raw_dropped + nf.st.raw_null + 101, 5000);
    /* Six well-formed packets of 17 slots each (76 bytes: 60 in the first
     * slot, 1 in each other) in one push: 102 slots, more than netback
     * takes at once, so its cut falls inside the sixth packet: it must
     * wait for the rest, not call that a protocol violation. */
    uint64_t okay = nf.st.raw_okay;
    for (unsigned i = 0; i < 102; i++) {
        unsigned k = i % 17;
        r[i % 100] = (struct netif_tx_request){ .gref = good, .offset = 0, .id = id++,
                                                .size = k ? 1 : 76,
                                                .flags = k < 16 ? NETTXF_more_data : 0 };
        if (i == 99) {
            while (netfront_tx_raw(&nf, r, 100) == -XEN_EAGAIN)
                pump(1);
        }
    }
    netfront_tx_raw(&nf, r, 2);
    wait_raw(nf.st.raw_okay + nf.st.raw_error + nf.st.raw_dropped + nf.st.raw_null + 102, 5000);
    say("nettest: hostile: 102 slots of 6 packets at once: %lu okay, broken %d\n",
        (unsigned long)(nf.st.raw_okay - okay), nf.broken);
    int cut_ok = nf.st.raw_okay - okay == 102 && !nf.broken;
    unsigned got = 0;
    for (uint16_t i = 0; i < 5; i++)
        got += (unsigned)ping_once(peer, (uint16_t)(0x7000 + i));
    say("nettest: hostile: tx take overflow: %lu errors back of 101, %lu okay, broken %d, "
        "then %u of 5 echoes, %lu bad rx\n", (unsigned long)(nf.st.raw_error - before),
        (unsigned long)nf.st.raw_okay, nf.broken, got,
        (unsigned long)(nf.st.rx_bad + nf.st.rx_err - bad));
    return nf.st.raw_error - before == 101 && !nf.broken && got == 5 && cut_ok &&
           nf.st.rx_bad + nf.st.rx_err == bad;
}

/* hostile=6 steal=D: for ms, every 5 ms a frame whose source is domain
 * D's vif 0 MAC (00:16:3e:5a:D:00; to our own MAC, so the bridge drops it
 * after learning), counting the frames that arrive for D's MAC: the
 * bridge must not let a vif take another vif's address. 1 if none came. */
static unsigned long stolen;
static uint8_t victim[6];

static void rx_steal(void *opaque, const uint8_t *frame, size_t len)
{
    if (len >= 6 && !memcmp(frame, victim, 6))
        stolen++;
    rx(opaque, frame, len);
}

static int steal_mac(unsigned domid, uint64_t ms)
{
    uint8_t f[60] = { 0 };
    victim[0] = 0x00, victim[1] = 0x16, victim[2] = 0x3e;
    victim[3] = 0x5a, victim[4] = (uint8_t)domid, victim[5] = 0;
    memcpy(f, nf.mac, 6);
    memcpy(f + 6, victim, 6);
    f[12] = 0x88, f[13] = 0xb5;         /* local experimental ethertype */
    uint64_t end = now_ms() + ms;
    unsigned long sent = 0;
    while (now_ms() < end && !nf.broken) {
        if (!netfront_send(&nf, f, sizeof(f)))
            sent++;
        netfront_poll(&nf, rx_steal, NULL);
        ip_poll(&ip, now_ms());
        evtchn_disable_upcalls();
        HYPERVISOR_set_timer_op((now_ms() + 5) * 1000000ULL);
        evtchn_block();
        evtchn_enable_upcalls();
    }
    char m[18];
    eth_format_mac(m, victim);
    say("nettest: hostile: %lu frames from %s sent, %lu frames for it received\n", sent, m,
        stolen);
    return stolen == 0;
}

/* The last attack (a protocol violation): hostile=1 a slot whose offset
 * + size runs past its page, hostile=2 a producer index far ahead of
 * anything pushed. The back end must disconnect this vif only (Closing,
 * an error node). */
static int fatal_attack(struct xenbus *b, int kind)
{
    char p[96], v[96];
    if (kind == 1) {
        struct netif_tx_request r = { .gref = nf.tx_gref[0], .offset = 4000,
                                      .id = NETFRONT_TX_BUFS, .size = 200 };
        netfront_tx_raw(&nf, &r, 1);
    } else if (kind == 3) {
        /* Half a packet (more_data on the last slot pushed), time for the
         * back end to take it and wait for the rest, then a flood of
         * follow-on slots: more than any packet may have. */
        struct netif_tx_request r = { .gref = nf.tx_gref[0], .offset = 0,
                                      .id = NETFRONT_TX_BUFS, .size = 1000,
                                      .flags = NETTXF_more_data };
        netfront_tx_raw(&nf, &r, 1);
        answer_for(200);
        r.size = 10;
        for (unsigned i = 0; i < 200; i++) {
            r.id = (uint16_t)(NETFRONT_TX_BUFS + 1 + i);
            if (netfront_tx_raw(&nf, &r, 1))
                break;
        }
    } else {
        nf.tx.hdr->req_prod = nf.tx.req_pushed + 5000;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        evtchn_send(nf.port);
    }
    uint64_t end = now_ms() + 5000;
    uint64_t st = 0;
    xl_snprintf(p, sizeof(p), "%s/state", nf.be);
    while (now_ms() < end) {
        if (!xenbus_read_u64(b, XBT_NIL, p, &st) && st >= XenbusStateClosing)
            break;
        pump(10);
    }
    xl_snprintf(p, sizeof(p), "%s/error", nf.be);
    if (xenbus_read(b, XBT_NIL, p, v, sizeof(v)) < 0)
        v[0] = '\0';
    say("nettest: hostile: %s: backend state %lu, error \"%s\"\n",
        kind == 1 ? "offset past the page" : kind == 3 ? "half a packet, then a flood"
                                           : "producer index jump", (unsigned long)st, v);
    return st >= XenbusStateClosing;
}

/* The back end's state (0 if unreadable). */
static unsigned be_state(struct xenbus *b)
{
    char p[96];
    uint64_t st = 0;
    xl_snprintf(p, sizeof(p), "%s/state", nf.be);
    return xenbus_read_u64(b, XBT_NIL, p, &st) ? 0 : (unsigned)st;
}

/* until_detach: ping until the back end closes. 1 if it closed within ms
 * and no more than the echo in flight was lost. */
static int until_detach(struct xenbus *b, uint32_t peer, uint64_t ms)
{
    uint64_t end = now_ms() + ms, sent = 0, got = 0;
    unsigned st = 0;
    while (now_ms() < end && (st = be_state(b)) == XenbusStateConnected) {
        got += (uint64_t)ping_once(peer, (uint16_t)(0x8000 + sent));
        sent++;
        answer_for(100);
    }
    say("nettest: backend state %u after %lu more echoes (%lu lost)\n", st,
        (unsigned long)sent, (unsigned long)(sent - got));
    return st >= XenbusStateClosing && sent - got <= 1;
}

int guest_main(start_info_t *si)
{
    char buf[32];
    uint32_t self = 0, peer = 0;
    int pass = 0;
    uint64_t count = num(si, "count", 10), interval = num(si, "interval", 0),
             linger = num(si, "linger", 4000), wait = num(si, "wait", 20000),
             answer = num(si, "answer", 10000);
    int expect_lost = cmdline_get(si, "expect", buf, sizeof(buf)) && !strcmp(buf, "lost");
    int is_hostile = (int)num(si, "hostile", 0);

    if (!cmdline_get(si, "ip", buf, sizeof(buf)) || parse_ip(buf, &self) ||
        (count && (!cmdline_get(si, "peer", buf, sizeof(buf)) || parse_ip(buf, &peer)))) {
        say("nettest: FAIL: usage ip=A.B.C.D peer=A.B.C.D count=K\n");
        return SHUTDOWN_crash;
    }
    evtchn_port_t tport;
    struct xenbus *b = NULL;
    if (traps_init() || !guest_shared_info || evtchn_bind_virq(VIRQ_TIMER, &tport) ||
        evtchn_bind(tport, on_timer, NULL) || gnttab_init() || !(b = xenbus_init())) {
        say("nettest: FAIL: kernel setup\n");
        return SHUTDOWN_crash;
    }
    evtchn_enable_upcalls();
    uint64_t wait_vif = num(si, "wait_vif", 0), detach = num(si, "until_detach", 0);
    for (uint64_t t0 = now_ms(); wait_vif && now_ms() - t0 < wait_vif;) {
        char be[64];
        if (xenbus_read(b, XBT_NIL, "device/vif/0/backend", be, sizeof(be)) >= 0)
            break;
        evtchn_disable_upcalls();
        HYPERVISOR_set_timer_op((now_ms() + 50) * 1000000ULL);
        evtchn_block();
        evtchn_enable_upcalls();
    }
    struct netfront_opts o = { .no_sg = is_hostile };
    int rc = netfront_init(&nf, b, 0, &o);
    if (rc) {
        say("nettest: FAIL: netfront_init: %d\n", rc);
        return SHUTDOWN_crash;
    }
    char mac[18];
    eth_format_mac(mac, nf.mac);
    say("nettest: vif0 connected, mac %s, backend %s\n", mac, nf.be);
    struct ip_config c = { .addr = self, .netmask = 0xffffff00, .arp = arp,
                           .arp_n = sizeof(arp) / sizeof(arp[0]), .tx = tx,
                           .udp = udp_socks, .udp_n = 2 };
    memcpy(c.mac, nf.mac, 6);
    if ((rc = ip_init(&ip, &c))) {
        say("nettest: FAIL: ip_init: %d\n", rc);
        return SHUTDOWN_crash;
    }

    uint64_t udp_port = num(si, "udp", 0);
    if (udp_port && ip_udp_bind(&ip, (uint16_t)udp_port, udp_echo, NULL)) {
        say("nettest: FAIL: udp bind %lu\n", (unsigned long)udp_port);
        return SHUTDOWN_crash;
    }
    int hostile_ok = 1;
    if (is_hostile == 4)
        hostile_ok = slot_overflow();
    else if (is_hostile && is_hostile <= 3)
        hostile_ok = hostile();
    if (is_hostile == 6)
        hostile_ok = steal_mac((unsigned)num(si, "steal", 2), num(si, "steal_ms", 8000));
    uint64_t blast = num(si, "blast", 0), bench_port = num(si, "port", 7001),
             sink = num(si, "sink", 0);
    if (sink && ip_udp_bind(&ip, (uint16_t)sink, sink_rx, NULL)) {
        say("nettest: FAIL: udp bind %lu\n", (unsigned long)sink);
        return SHUTDOWN_crash;
    }

    if (!count && sink) {
        sink_run(answer);
        pass = 1;
    } else if (!count) {
        answer_for(answer);
        say("nettest: answered for %lu ms: %lu frames in, %lu out\n", (unsigned long)answer,
            (unsigned long)nf.st.rx_pkts, (unsigned long)nf.st.tx_pkts);
        pass = 1;
    } else {
        uint64_t t0 = now_ms();
        int up = expect_lost;
        for (uint16_t w = 0; !up && now_ms() - t0 < wait; w++)
            up = ping_once(peer, (uint16_t)(0xf000 + w));
        if (!expect_lost)
            say("nettest: peer %s %s after %lu ms\n", buf, up ? "reachable" : "unreachable",
                (unsigned long)(now_ms() - t0));
        uint64_t got = 0;
        if (up && blast)
            blast_run(peer, (uint16_t)bench_port, blast);
        uint64_t t1 = now_ms(), p0 = bench_tsc();
        for (uint64_t i = 0; up && i < count; i++) {
            got += (uint64_t)ping_once(peer, (uint16_t)i);
            if (interval)
                answer_for(interval);
        }
        if (up && blast) {
            bench_line("ping round trip (56 bytes), domU <-> domU", bench_tsc() - p0, count);
            blast_end(peer, (uint16_t)bench_port);
        }
        uint64_t sent = up ? count : 0;
        say("nettest: %lu sent, %lu received, %lu lost (%lu ms)\n", (unsigned long)sent,
            (unsigned long)got, (unsigned long)(sent - got), (unsigned long)(now_ms() - t1));
        if (expect_lost)
            pass = sent == count && got == 0;
        else
            pass = up && got == count;
        answer_for(linger);
    }
    if (is_hostile == 5)
        hostile_ok &= take_overflow(peer);
    else if (is_hostile && is_hostile <= 3)
        hostile_ok &= fatal_attack(b, is_hostile);
    if (detach)
        pass &= until_detach(b, peer, detach);
    uint64_t quit_ms = num(si, "udp_quit", 0);
    if (udp_port && quit_ms) {
        for (uint64_t end = now_ms() + quit_ms; !udp_quit && now_ms() < end;)
            pump(20);
        answer_for(200);    /* the quit echo's transmit */
        say("nettest: udp port %lu: %s\n", (unsigned long)udp_port,
            udp_quit ? "quit received" : "no quit within the bound");
        pass &= udp_quit;
    }
    say("nettest: tx %lu (%lu refused), rx %lu (%lu bad)\n", (unsigned long)nf.st.tx_pkts,
        (unsigned long)nf.st.tx_err, (unsigned long)nf.st.rx_pkts,
        (unsigned long)(nf.st.rx_err + nf.st.rx_bad));
    if (udp_port)
        say("nettest: udp port %lu: %lu datagrams echoed, %u dropped for a bad checksum\n",
            (unsigned long)udp_port, udp_in, ip.drops[IP_DROP_UDP_CSUM]);
    if (udp_unsent)
        say("nettest: udp: %lu echoes could not be sent\n", udp_unsent);
    if (is_hostile)
        say("nettest: hostile: %s\n", hostile_ok ? "every attack answered as it should be"
                                                  : "an attack was not refused");
    pass &= hostile_ok;
    netfront_close(&nf);
    if (detach) {
        /* Stay a moment with no vif, as a domain whose NIC was unplugged. */
        uint64_t t = now_ms() + 2000;
        while (now_ms() < t) {
            evtchn_disable_upcalls();
            HYPERVISOR_set_timer_op((now_ms() + 100) * 1000000ULL);
            evtchn_block();
            evtchn_enable_upcalls();
        }
    }
    if (expect_lost)
        say("nettest: %s (peer unreachable: all %lu lost%s)\n", pass ? "PASS" : "FAIL",
            (unsigned long)count, pass ? ", as expected" : " expected");
    else
        say("nettest: %s\n", pass ? "PASS" : "FAIL");
    return pass ? SHUTDOWN_poweroff : SHUTDOWN_crash;
}
