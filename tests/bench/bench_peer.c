/*
 * bench_peer.c - the second domain of `make bench`, built by bench.c
 * (dom0) with the toolstack's domain builder. Its command line names two
 * of dom0's unbound ports: "echo=P yield=Q". It binds both; every event
 * on the echo channel is sent straight back from the upcall; the first
 * event on the yield channel turns it into a CPU-bound loop of
 * SCHEDOP_yield (the domain-switch ping-pong). It sends one event on the
 * echo channel when both are bound ("ready"), then blocks between events.
 * It maps dom0's grant "gref=R" (a struct bench_peer_stats) and counts
 * its echoes and yields there, so dom0 can check its loops.
 * It never shuts down: dom0 destroys it. Prints nothing while measured.
 */
#include <stdint.h>
#include <xen/grant_table.h>
#include <xlguest/evtchn.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/traps.h>

#include "bench_peer.h"

static evtchn_port_t echo_port, yield_port;
static volatile int yielding;
static char stats_win[4096] __attribute__((aligned(4096)));
static struct bench_peer_stats no_stats;
static volatile struct bench_peer_stats *stats = &no_stats;

/* dom0's page at stats_win, or keep counting into no_stats. */
static void map_stats(long gref)
{
    if (gref < 0)
        return;
    struct gnttab_map_grant_ref m = { .host_addr = (uint64_t)stats_win,
                                      .flags = GNTMAP_host_map, .ref = (grant_ref_t)gref,
                                      .dom = 0 };
    long rc = HYPERCALL(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, &m, 1);
    if (!rc && m.status == GNTST_okay)
        stats = (volatile struct bench_peer_stats *)stats_win;
    else
        printk("bench-peer: cannot map dom0's grant %ld (%ld, status %d)\n", gref, rc,
               (int)m.status);
}

void guest_trap(struct guest_frame *f)
{
    printk("bench-peer: unexpected trap %lu at %lx\n", (unsigned long)f->vector,
           (unsigned long)f->rip);
    xen_shutdown(SHUTDOWN_crash);
}

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void on_echo(evtchn_port_t port, void *data)
{
    (void)data;
    evtchn_send(port);
    stats->echoes++;
}

static void on_yield(evtchn_port_t port, void *data)
{
    (void)port; (void)data;
    yielding = 1;
}

static long arg(const start_info_t *si, const char *key)
{
    char buf[16];
    const char *v = cmdline_get(si, key, buf, sizeof(buf));
    if (!v || !*v)
        return -1;
    long n = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        n = n * 10 + (*v - '0');
    return n;
}

static long bind(long remote, evtchn_port_t *port, evtchn_handler_t h)
{
    if (remote < 0)
        return -1;
    long rc = evtchn_bind_interdomain(0, (evtchn_port_t)remote, port);
    if (rc)
        return rc;
    evtchn_test_and_clear(*port); /* Xen marks a fresh binding pending */
    return evtchn_bind(*port, h, NULL);
}

int guest_main(start_info_t *si)
{
    long rc = traps_init();
    map_stats(arg(si, "gref"));
    if (!rc)
        rc = bind(arg(si, "echo"), &echo_port, on_echo);
    if (!rc)
        rc = bind(arg(si, "yield"), &yield_port, on_yield);
    if (rc) {
        printk("bench-peer: cannot bind dom0's ports (%ld)\n", rc);
        return SHUTDOWN_crash;
    }
    evtchn_send(echo_port); /* ready */
    for (;;) {
        if (yielding) {
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            stats->yields++;
        } else
            evtchn_block();
    }
}
