/*
 * services.c - dom0's service loop (cmdline "services=1" or "xl"): the
 * event upcall (2-level demux into a local pending set), VIRQ_DOM_EXC and
 * VIRQ_TIMER, a one-shot timer so it blocks between passes, the COM2
 * UART (the host control line, port 0x2f8, reached with virtual IOPL 1)
 * and its line protocol: one command per line, the answer, then
 * "xl-exit: N" ("ping X" answers "pong X": the host's sync, since the
 * firmware and dom0's UART reset may eat what was sent before). Also the foreign-mapping slots used by xsd.c/consback.c.
 * Owns: dom0's vcpu event state, COM2, the map slots. Must never: touch
 * COM1 (the hypervisor's), block without a timer armed, or let one bad
 * line stop the loop.
 */
#include <stdarg.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/domctl.h>
#include <xlguest/dom0_drivers.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>
#include "svc.h"
#include "brsvc.h"
#include "netback.h"

#define COM2 0x2f8
#define POLL_NS 10000000ULL   /* COM2 has no interrupt: poll every 10 ms */
#define DRIVERS_POLL_NS 100000ULL /* devices without interrupts, I/O out: 100 us */
#define CTL_LINE_MAX 1024

static unsigned long pending_set[64];  /* ports seen pending (4096 ports) */
static uint32_t dom_exc_port, timer_port;

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* ---- events ---- */

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    shared_info_t *s = guest_shared_info;
    vcpu_info_t *vi = &s->vcpu_info[0];
    vi->evtchn_upcall_pending = 0;
    unsigned long sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned int w = (unsigned int)__builtin_ctzl(sel);
        sel &= sel - 1;
        unsigned long bits = s->evtchn_pending[w] & ~s->evtchn_mask[w];
        if (!bits)
            continue;
        __atomic_and_fetch(&s->evtchn_pending[w], ~bits, __ATOMIC_SEQ_CST);
        if (w < 64)
            __atomic_or_fetch(&pending_set[w], bits, __ATOMIC_SEQ_CST);
    }
}

int svc_port_pending(uint32_t port)
{
    if (port >= 64 * 64)
        return 0;
    unsigned long bit = 1UL << (port % 64);
    return (__atomic_fetch_and(&pending_set[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

long svc_bind_interdomain(uint16_t domid, uint32_t remote_port)
{
    evtchn_bind_interdomain_t b = { .remote_dom = domid, .remote_port = remote_port };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &b);
    return rc ? rc : (long)b.local_port;
}

void svc_close_port(uint32_t port)
{
    evtchn_close_t c = { .port = port };
    HYPERVISOR_event_channel_op(EVTCHNOP_close, &c);
    svc_port_pending(port);
}

void svc_send(uint32_t port)
{
    evtchn_send_t s = { .port = port };
    HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
}

static long bind_virq(uint32_t virq, uint32_t *port)
{
    evtchn_bind_virq_t b = { .virq = virq, .vcpu = 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &b);
    *port = b.port;
    return rc;
}

/* ---- foreign mapping slots ---- */

#define MAP_SLOTS 64
#define PTE_RW 0x67ULL  /* present, writable, user, accessed, dirty */
static char map_area[MAP_SLOTS][4096] __attribute__((aligned(4096)));
static uint8_t map_used[MAP_SLOTS];

void *svc_map_foreign(uint16_t domid, uint64_t mfn)
{
    for (unsigned int i = 0; i < MAP_SLOTS; i++) {
        if (map_used[i])
            continue;
        long rc = xen_hypercall5(__HYPERVISOR_update_va_mapping_otherdomain,
                                 (uint64_t)map_area[i], (mfn << 12) | PTE_RW, UVMF_INVLPG,
                                 domid, 0);
        if (rc) {
            printk("dom0: cannot map d%u's frame %#lx: %ld\n", domid, (unsigned long)mfn, rc);
            return NULL;
        }
        map_used[i] = 1;
        return map_area[i];
    }
    printk("dom0: no free foreign-map slot\n");
    return NULL;
}

void svc_unmap(void *va)
{
    for (unsigned int i = 0; i < MAP_SLOTS; i++) {
        if (va != map_area[i] || !map_used[i])
            continue;
        /* Our own frame back (the P2M still names it). */
        HYPERVISOR_update_va_mapping((unsigned long)va, (virt_to_mfn(va) << 12) | PTE_RW,
                                     UVMF_INVLPG);
        map_used[i] = 0;
    }
}

/* ---- control-line helpers for the dom0 commands (vdisk, vnet, bridge) ---- */

void svc_out(const char *fmt, ...)
{
    char b[200];
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(b) - 1)
        n = sizeof(b) - 1;
    ctl_write(b, (size_t)n);
    printk("dom0: %s", b);
}

unsigned int svc_split_args(char *line, char **arg, unsigned int max)
{
    unsigned int n = 0;
    for (char *p = line; *p && n < max;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        arg[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    return n;
}

/* ---- COM2 ---- */

static int com2_ok;

static void com2_init(void)
{
    struct physdev_set_iopl io = { .iopl = 1 };
    if (HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &io)) {
        printk("dom0: no I/O privilege, no control line\n");
        return;
    }
    outb(COM2 + 1, 0x00);           /* no interrupts: polled */
    outb(COM2 + 3, 0x80);           /* DLAB */
    outb(COM2 + 0, 0x01);           /* 115200 */
    outb(COM2 + 1, 0x00);
    outb(COM2 + 3, 0x03);           /* 8N1 */
    outb(COM2 + 2, 0x07);           /* FIFO on, cleared */
    outb(COM2 + 4, 0x03);           /* DTR, RTS */
    /* Scratch register echo: is there a UART at all? */
    outb(COM2 + 7, 0x5a);
    com2_ok = inb(COM2 + 7) == 0x5a;
    printk("dom0: control line on COM2 %s\n", com2_ok ? "ready" : "absent");
}

int ctl_getc(void)
{
    if (!com2_ok || !(inb(COM2 + 5) & 0x01))
        return -1;
    return inb(COM2);
}

void ctl_write(const char *s, size_t n)
{
    if (!com2_ok)
        return;
    for (size_t i = 0; i < n; i++) {
        for (unsigned int spin = 0; !(inb(COM2 + 5) & 0x20) && spin < 100000; spin++)
            ;
        outb(COM2, (uint8_t)s[i]);
    }
}

static char ctl_line[CTL_LINE_MAX];
static size_t ctl_len;
static int ctl_overlong;

static void ctl_answer_exit(int status)
{
    char t[32];
    int n = xl_snprintf(t, sizeof(t), "xl-exit: %d\n", status);
    ctl_write(t, (size_t)n);
}

static int halt_reason = -1;

static uint64_t now_ns(void);

/* `bridge show`: every bridge, its ports and its FDB, on the control line. */
static int bridge_show(void)
{
    static char buf[16384];
    size_t n = brsvc_show(buf, sizeof(buf), now_ns() / 1000000);
    ctl_write(buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
    return 0;
}

static void ctl_run(void)
{
    ctl_line[ctl_len] = '\0';
    char *p = ctl_line;
    while (*p == ' ' || *p == '\t')
        p++;
    int status;
    if (ctl_overlong) {
        static const char msg[] = "dom0-ctl: line too long\n";
        ctl_write(msg, sizeof(msg) - 1);
        status = 2;
    } else if (!strncmp(p, "ping", 4) && (p[4] == ' ' || !p[4])) {
        /* The host's sync: answered, not logged. */
        ctl_write("pong", 4);
        ctl_write(p + 4, strlen(p + 4));
        ctl_write("\n", 1);
        status = 0;
    } else if (!strcmp(p, "halt") || !strcmp(p, "halt poweroff")) {
        halt_reason = SHUTDOWN_poweroff;
        status = 0;
    } else if (!strcmp(p, "bridge show")) {
        status = bridge_show();
    } else if (!strncmp(p, "bridge ", 7)) {
        printk("dom0: ctl> %s\n", p);
        status = uplink_run_line(p);
    } else if (!strcmp(p, "halt reboot")) {
        halt_reason = SHUTDOWN_reboot;
        status = 0;
    } else if (!strncmp(p, "vdisk", 5) && (p[5] == ' ' || !p[5])) {
        status = vdisk_run_line(p);
    } else if (!strncmp(p, "vnet", 4) && (p[4] == ' ' || !p[4])) {
        status = vnet_run_line(p);
    } else {
        printk("dom0: ctl> %s\n", p);
        status = xlops_run_line(p);
        printk("dom0: ctl: exit %d\n", status);
    }
    ctl_answer_exit(status);
    ctl_len = 0;
    ctl_overlong = 0;
}

static void ctl_poll(void)
{
    int c;
    while ((c = ctl_getc()) >= 0) {
        if (c == '\r')
            continue;
        if (c == '\n') {
            ctl_run();
            if (halt_reason >= 0)
                return;
            continue;
        }
        if (ctl_len + 1 < CTL_LINE_MAX)
            ctl_line[ctl_len++] = (char)c;
        else
            ctl_overlong = 1;
    }
}

/* ---- the loop ---- */

void svc_domain_cleanup(uint16_t domid)
{
    if (domid == 0 || domid >= SVC_MAX_DOMS)
        return;
    consback_detach(domid);
    dm_detach(domid);
    netback_domain_gone(domid);
    blkback_domain_gone(domid);
    xsd_domain_gone(domid);
    xlops_domain_gone(domid);
}

static void dom_exc(void)
{
    /* Some domain changed state: apply xl's on_* action to those that
     * shut down, then clean up after every one gone, however it went. */
    static struct ctl_dominfo di[SVC_MAX_DOMS];
    int n = ctl_list(1, di, SVC_MAX_DOMS);
    for (int i = 0; i < n; i++)
        if (di[i].flags & XEN_DOMINF_shutdown)
            xlops_domain_shutdown(di[i].domid, (di[i].flags >> XEN_DOMINF_shutdownshift) &
                                                   XEN_DOMINF_shutdownmask);
    for (uint16_t d = 1; d < SVC_MAX_DOMS; d++) {
        if ((xsd_has_conn(d) || consback_attached(d) || dm_attached(d) || xlops_created(d)) &&
            !ctl_exists(d)) {
            printk("dom0: d%u is gone\n", d);
            svc_domain_cleanup(d);
        }
    }
}

static uint64_t now_ns(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

/* netback's rings and states, the bridges' ageing (once a second). */
static int net_poll(void)
{
    static uint64_t next_age_ms;
    uint64_t ms = now_ns() / 1000000;
    if (ms >= next_age_ms) {
        brsvc_age(ms);
        next_age_ms = ms + 1000;
    }
    return netback_poll(ms);
}

void svc_step(int with_ctl)
{
    if (svc_port_pending(dom_exc_port))
        dom_exc();
    svc_port_pending(timer_port);
    int busy = xsd_process();
    int io = dom0_drivers_poll();   /* block completions; polled I/O out: short sleeps */
    consback_poll();
    dm_poll();
    busy |= net_poll();
    busy |= blkback_poll();
    if (with_ctl)
        ctl_poll();
    if (halt_reason >= 0 || busy)
        return;     /* requests left: another pass before blocking */
    /* Block until an event or the next poll of COM2. Upcalls are masked
     * before the timer is set: set first, a timer that fired before the
     * mask (this vcpu held up over POLL_NS, as a QEMU thread on a busy
     * host is) had its event taken by the upcall, and the block then
     * waited for no timer at all - dom0 stopped answering. Masked, its
     * event stays pending and the check below (or SCHEDOP_block) sees it. */
    vcpu_info_t *vi = &guest_shared_info->vcpu_info[0];
    vi->evtchn_upcall_mask = 1;
    __asm__ volatile("" ::: "memory");
    HYPERVISOR_set_timer_op(now_ns() + (io ? DRIVERS_POLL_NS : POLL_NS));
    __asm__ volatile("" ::: "memory");
    if (vi->evtchn_upcall_pending || dom0_drivers_pending()) {
        vi->evtchn_upcall_mask = 0;
        guest_event_upcall(NULL);
        return;
    }
    HYPERVISOR_sched_op(SCHEDOP_block, NULL); /* unmasks; the upcall runs */
}

static const void *ramdisk;
static size_t ramdisk_len;

const void *svc_ramdisk(size_t *len)
{
    *len = ramdisk_len;
    return ramdisk;
}

int services_main(start_info_t *si)
{
    if (!guest_shared_info) {
        printk("dom0: services need shared_info\n");
        return SHUTDOWN_crash;
    }
    long rc = traps_init();
    if (!rc)
        rc = bind_virq(VIRQ_DOM_EXC, &dom_exc_port);
    if (!rc)
        rc = bind_virq(VIRQ_TIMER, &timer_port);
    if (rc) {
        printk("dom0: services: event setup failed: %ld\n", rc);
        return SHUTDOWN_crash;
    }
    if (si->mod_start && si->mod_len) {
        ramdisk = (const void *)si->mod_start;
        ramdisk_len = si->mod_len;
    }
    printk("dom0: services: ramdisk %lu bytes\n", (unsigned long)ramdisk_len);
    if ((rc = xsd_init())) {
        printk("dom0: xenstored failed to start: %ld\n", rc);
        return SHUTDOWN_crash;
    }
    xlops_init();
    dom0_drivers_init();
    blkback_init(si);
    uplink_boot(si);
    com2_init();
    guest_shared_info->vcpu_info[0].evtchn_upcall_mask = 0;
    printk("dom0: services running\n");
    while (halt_reason < 0)
        svc_step(1);
    printk("dom0: halt requested on the control line\n");
    return halt_reason;
}
