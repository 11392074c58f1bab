/*
 * pv_sched.c - a PV test kernel for the scheduler, run as dom0 plus one
 * boot-time domU (role=dom0 / role=domu on the command line):
 *   1. handshake over an interdomain event channel (domU offers an
 *      unbound port, dom0 binds it and sends "go"; domU polls for it);
 *   2. both spin without a hypercall that yields until each has had
 *      SPIN_MS of CPU; each checks from its runstate that it also waited
 *      runnable a fair share (the other ran: preemption, no starvation);
 *   3. domU then blocks on the channel and dom0 wakes it with a send
 *      (domU polls instead when shared_info is not mapped);
 *   4. domU writes 100 numbered 100-byte lines in ONE console_io call
 *      (10000 bytes: more than a domU's per-call budget, so the
 *      hypervisor continues the call; the scenario checks each line
 *      appears exactly once);
 *   5. domU records shutdown_code 2 (suspend), then 3 (crash: ignored,
 *      Xen keeps the first code) and returns poweroff: as on Xen 4.17 the
 *      recorded code replaces the reason, so the log says "suspend (code
 *      2)". dom0 ends with poweroff.
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>

#define MS 1000000ULL
#define SPIN_MS 300

static struct vcpu_runstate_info runstate(void)
{
    struct vcpu_runstate_info r = { 0 };
    HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &r);
    return r;
}

static long poll1(unsigned int port, uint64_t timeout)
{
    evtchn_port_t p = port;
    struct sched_poll sp = { .nr_ports = 1, .timeout = timeout };
    set_xen_guest_handle(sp.ports, &p);
    return HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
}

/* Spin until this vcpu has run SPIN_MS more; report the runnable share. */
static void spin(const char *who)
{
    struct vcpu_runstate_info a = runstate(), b;
    volatile uint64_t x = 0;
    do {
        for (int i = 0; i < 200000; i++)
            x += (uint64_t)i;
        b = runstate();
    } while (b.time[RUNSTATE_running] - a.time[RUNSTATE_running] < SPIN_MS * MS);
    uint64_t ran = (b.time[RUNSTATE_running] - a.time[RUNSTATE_running]) / MS;
    uint64_t waited = (b.time[RUNSTATE_runnable] - a.time[RUNSTATE_runnable]) / MS;
    printk("%s: ran %lu ms, waited runnable %lu ms while spinning\n", who, (unsigned long)ran,
           (unsigned long)waited);
    check_true("spinning: I was preempted and waited for the other domain (>= 60 ms)",
               waited >= 60);
    check_true("spinning: no starvation (waited < 3x what I ran)", waited < 3 * ran);
}

static int dom0_main(void)
{
    evtchn_bind_interdomain_t b = { .remote_dom = 1, .remote_port = 1 };
    long rc;
    /* d1 offers its port 1; wait (yielding) until it has. */
    for (int i = 0; i < 1000; i++) {
        if ((rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &b)) != -XEN_EINVAL &&
            rc != -XEN_ESRCH)
            break;
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    if (!check_eq("dom0: bind_interdomain to d1 port 1", rc, 0))
        return check_summary("pv_sched dom0");
    evtchn_send_t s = { .port = b.local_port };
    check_eq("dom0: send go", HYPERVISOR_event_channel_op(EVTCHNOP_send, &s), 0);
    spin("pv_sched dom0");
    /* Let d1 finish spinning and block, then wake it. */
    struct sched_poll sp = { .nr_ports = 0, .timeout = runstate().state_entry_time + 500 * MS };
    HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
    check_eq("dom0: send wake-up", HYPERVISOR_event_channel_op(EVTCHNOP_send, &s), 0);
    /* Wait for d1 to be gone: its end of our channel turns unbound. */
    evtchn_status_t st = { .dom = DOMID_SELF, .port = b.local_port };
    for (int i = 0; i < 500; i++) {
        HYPERVISOR_event_channel_op(EVTCHNOP_status, &st);
        if (st.status != EVTCHNSTAT_interdomain)
            break;
        struct sched_poll nap = { .nr_ports = 0, .timeout = runstate().state_entry_time + 20 * MS };
        HYPERVISOR_sched_op(SCHEDOP_poll, &nap);
    }
    check_eq("dom0: d1's end closed when it was destroyed", st.status, EVTCHNSTAT_unbound);
    return check_summary("pv_sched dom0");
}

static int domu_main(void)
{
    evtchn_alloc_unbound_t a = { .dom = DOMID_SELF, .remote_dom = 0 };
    check_eq("domU: alloc_unbound for dom0", HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a), 0);
    check_eq("domU: it is port 1", a.port, 1);
    check_eq("domU: poll for go", poll1(a.port, 0), 0);
    spin("pv_sched domU");
    shared_info_t *sh = guest_shared_info;
    if (sh) {
        /* Clear our pending bit, then block until dom0 sends again. */
        __atomic_and_fetch(&sh->evtchn_pending[0], ~(1UL << a.port), __ATOMIC_SEQ_CST);
        sh->vcpu_info[0].evtchn_upcall_pending = 0;
        sh->vcpu_info[0].evtchn_pending_sel = 0;
        sh->evtchn_mask[0] |= ~(1UL << a.port); /* only our port may wake us */
        uint64_t t0 = runstate().state_entry_time;
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
        sh->vcpu_info[0].evtchn_upcall_mask = 1;
        check_true("domU: block woke on dom0's event",
                   (sh->evtchn_pending[0] >> a.port) & 1);
        check_true("domU: blocked a while first", runstate().state_entry_time > t0);
    } else {
        printk("SKIP domU block check: shared_info not mapped\n");
    }
    static char big[100 * 100];
    for (int i = 0; i < 100; i++) {
        char *l = big + i * 100;
        for (int k = 0; k < 99; k++)
            l[k] = '.';
        const char tag[] = "console-cont line ";
        for (int k = 0; tag[k]; k++)
            l[k] = tag[k];
        l[18] = (char)('0' + i / 10);
        l[19] = (char)('0' + i % 10);
        l[20] = ' ';
        l[99] = '\n';
    }
    check_eq("domU: console_io write of 10000 bytes in one call -> 0",
             HYPERVISOR_console_io(CONSOLEIO_write, sizeof(big), big), 0);
    struct sched_shutdown code = { .reason = SHUTDOWN_suspend };
    check_eq("domU: shutdown_code 2", HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &code), 0);
    code.reason = SHUTDOWN_crash;
    check_eq("domU: second shutdown_code 3 -> 0 (ignored)",
             HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &code), 0);
    return check_summary("pv_sched domU");
}

int guest_main(start_info_t *si)
{
    char role[16];
    if (cmdline_get(si, "role", role, sizeof(role)) && role[0] == 'd' && role[3] == 'u')
        return domu_main();
    return dom0_main();
}
