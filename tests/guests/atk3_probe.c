/*
 * atk3_probe.c - attacker review 3: one kit test kernel, several modes
 * (command line mode=...), aimed at the device-model surface: the ioreq
 * servers and dm_op, the hv-consumed event channels, the emulated 8259
 * PIC and 8254 PIT of a type=hvm domain and dom0's 16550A device model.
 * Each check prints "PASS what" or "FAIL what"; a FAIL means the attack
 * got further than it may on Xen. The verdict line is "atk3 MODE: N
 * passed, M failed".
 *   mode=evtchn (HVM): find the hv-consumed port(s) with EVTCHNOP_status,
 *     try close/send/bind_vcpu/unmask/set_priority on them, EVTCHNOP_reset,
 *     again; dm_op and XENMEM_acquire_resource on itself and dom0; then
 *     the UART (scratch register) must still answer.
 *   mode=pic (HVM): PIC/PIT programming (ICW sequences, poll, special
 *     mask, rotate, auto-EOI, PIT modes 0-5 with counts 0/1/2, latch and
 *     read-back), a 1-count PIT storm for secs=S seconds counting the
 *     vectors that arrive; random writes to every PIC/PIT port and size.
 *   mode=uart (HVM): every size at every UART offset and across 0x3ff,
 *     DLAB, loopback and FIFO overrun, loopback and IER toggling storms of
 *     storm=N rounds (20000), and an output flood of secs=S seconds.
 *   mode=fifo (HVM): EVTCHNOP_init_control on one of its own gfns, then on
 *     every number below limit=N: which frames does the hv take?
 *   mode=fifo2 (HVM): the frames found so, those that are not RAM runs as the
 *     FIFO control block and event array, a timer event while vcpu 0
 *     waits on the UART: does the hv write into the ioreq page?
 *   mode=lapic (HVM): the PIC's INTR against vcpu 0's local APIC: as
 *     booted, software-enabled with LINT0 masked, fixed, ExtINT, and
 *     software-disabled (which masks LINT0): when is an 8259 interrupt
 *     taken (Xen and QEMU: only through an unmasked ExtINT LINT0 or a
 *     hardware-disabled APIC).
 *   mode=spin (HVM): read the UART's LSR forever (for xl destroy races).
 *   mode=pvdm target=D (PV): dm_op, XENMEM_acquire_resource and
 *     mmu_update MMU_PT_UPDATE_NO_TRANSLATE against HVM neighbour D and
 *     against frames this domain does not own.
 */
#include <stdarg.h>
#include <stdint.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/memory.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/m2p.h>
#include <xlguest/platform.h>
#include <xlguest/time.h>

static int passed, failed, raw_console;

/* After EVTCHNOP_reset the PV console's port is gone: print through
 * console_io from then on. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    if (raw_console)
        HYPERVISOR_console_io(CONSOLEIO_write, (int)len, buf);
    else
        console_write(buf, len);
}

static void check(const char *what, int ok, long got)
{
    if (ok) {
        passed++;
        say("PASS %s (%ld)\n", what, got);
    } else {
        failed++;
        say("FAIL %s (got %ld)\n", what, got);
    }
}

static unsigned int num_arg(start_info_t *si, const char *key, unsigned int dflt)
{
    char arg[16];
    if (!cmdline_get(si, key, arg, sizeof(arg)))
        return dflt;
    unsigned int n = 0;
    for (const char *c = arg; *c >= '0' && *c <= '9'; c++)
        n = n * 10 + (unsigned int)(*c - '0');
    return n;
}

static uint64_t now_ns(void)
{
    return guest_shared_info ? pvclock_read(&guest_shared_info->vcpu_info[0].time) : 0;
}

/* ---- port I/O (ring 0 in an HVM guest) ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* ---- interrupt counting stubs: one 16-byte stub per vector ---- */
volatile uint32_t atk3_irq_count[256];
extern char atk3_irq_stubs[];
__asm__(".text\n"
        ".align 16\n"
        ".globl atk3_irq_stubs\n"
        "atk3_irq_stubs:\n"
        ".set atk3_vec, 0\n"
        ".rept 256\n"
        ".align 16\n"
        "pushq %rax\n"
        "movl $atk3_vec, %eax\n"
        "jmp atk3_irq_common\n"
        ".set atk3_vec, atk3_vec + 1\n"
        ".endr\n"
        "atk3_irq_common:\n"
        "pushq %rdx\n"
        "leaq atk3_irq_count(%rip), %rdx\n"
        "lock incl (%rdx,%rax,4)\n"
        "popq %rdx\n"
        "popq %rax\n"
        "iretq\n");

struct gate { uint64_t lo, hi; };
static struct gate *idt_base(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d;
    __asm__ volatile("sidt %0" : "=m"(d));
    return (struct gate *)d.base;
}
static struct gate saved_idt[256];

/* Counting stubs on vectors [lo, hi] (but the event callback's). */
static void stubs_install(unsigned int lo, unsigned int hi)
{
    struct gate *idt = idt_base();
    for (unsigned int v = lo; v <= hi && v < 256; v++) {
        if (v == XL_PVH_EVENT_VECTOR)
            continue;
        uint64_t a = (uint64_t)(atk3_irq_stubs + 16 * v);
        idt[v].lo = (a & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) | (((a >> 16) & 0xffff) << 48);
        idt[v].hi = a >> 32;
    }
}
static void idt_save(void) { memcpy(saved_idt, idt_base(), sizeof(saved_idt)); }
static void idt_restore(void) { memcpy(idt_base(), saved_idt, sizeof(saved_idt)); }

static void counts_clear(void)
{
    for (int i = 0; i < 256; i++)
        atk3_irq_count[i] = 0;
}

static void counts_print(const char *what)
{
    char buf[200];
    int n = 0;
    for (int i = 0; i < 256 && n < 180; i++)
        if (atk3_irq_count[i])
            n += xl_snprintf(buf + n, sizeof(buf) - (size_t)n, " v%#x=%u", i, atk3_irq_count[i]);
    buf[n] = 0;
    say("%s: vectors seen:%s\n", what, n ? buf : " none");
}

/* ---- the UART's scratch register: does the device model answer? ---- */
#define COM1 0x3f8
static int uart_alive(uint8_t pat)
{
    outb(COM1 + 3, 0x03); /* DLAB off */
    outb(COM1 + 7, pat);
    return inb(COM1 + 7) == pat;
}

/* ====================== mode=evtchn ====================== */

static long ev_status(unsigned int port, evtchn_status_t *st)
{
    *st = (evtchn_status_t){ .dom = DOMID_SELF, .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_status, st);
}

static long dmop(uint16_t dom, uint32_t op, void *payload, size_t len)
{
    struct xen_dm_op o;
    memset(&o, 0, sizeof(o));
    o.op = op;
    if (payload)
        memcpy(&o.u, payload, len);
    struct xen_dm_op_buf b = { .size = sizeof(o) };
    b.h.p = &o;
    return xen_hypercall5(__HYPERVISOR_dm_op, dom, 1, (uint64_t)&b, 0, 0);
}

static void dm_attacks(uint16_t target, const char *who)
{
    char what[96];
    struct xen_dm_op_create_ioreq_server c = { .handle_bufioreq = 0 };
    long rc = dmop(target, XEN_DMOP_create_ioreq_server, &c, sizeof(c));
    xl_snprintf(what, sizeof(what), "dm_op create_ioreq_server on %s refused", who);
    check(what, rc < 0, rc);
    struct xen_dm_op_set_isa_irq_level l = { .isa_irq = 4, .level = 1 };
    rc = dmop(target, XEN_DMOP_set_isa_irq_level, &l, sizeof(l));
    xl_snprintf(what, sizeof(what), "dm_op set_isa_irq_level on %s refused", who);
    check(what, rc < 0, rc);
    for (uint16_t id = 0; id < 8; id++) {
        struct xen_dm_op_destroy_ioreq_server ds = { .id = id };
        rc = dmop(target, XEN_DMOP_destroy_ioreq_server, &ds, sizeof(ds));
        if (rc >= 0) {
            xl_snprintf(what, sizeof(what), "dm_op destroy_ioreq_server %u on %s refused", id, who);
            check(what, 0, rc);
        }
        struct xen_dm_op_set_ioreq_server_state st = { .id = id, .enabled = 0 };
        rc = dmop(target, XEN_DMOP_set_ioreq_server_state, &st, sizeof(st));
        if (rc >= 0) {
            xl_snprintf(what, sizeof(what), "dm_op set_ioreq_server_state %u on %s refused", id, who);
            check(what, 0, rc);
        }
        struct xen_dm_op_ioreq_server_range r = { .id = id, .type = XEN_DMOP_IO_RANGE_PORT,
                                                  .start = 0, .end = 0xffff };
        rc = dmop(target, XEN_DMOP_map_io_range_to_ioreq_server, &r, sizeof(r));
        if (rc >= 0) {
            xl_snprintf(what, sizeof(what), "dm_op map_io_range %u on %s refused", id, who);
            check(what, 0, rc);
        }
    }
    xl_snprintf(what, sizeof(what), "dm_op destroy/state/map_io_range ids 0-7 on %s refused", who);
    check(what, 1, 0);
    /* XENMEM_acquire_resource of the ioreq page */
    xen_pfn_t frames[2] = { 0, 0 };
    for (uint16_t id = 0; id < 2; id++) {
        xen_mem_acquire_resource_t ar = { .domid = target, .type = XENMEM_resource_ioreq_server,
                                          .id = id, .nr_frames = 1,
                                          .frame = XENMEM_resource_ioreq_server_frame_ioreq(0) };
        ar.frame_list.p = frames;
        rc = HYPERVISOR_memory_op(XENMEM_acquire_resource, &ar);
        xl_snprintf(what, sizeof(what), "acquire_resource ioreq server %u of %s refused", id, who);
        check(what, rc < 0 && frames[0] == 0, rc ? rc : (long)frames[0]);
    }
}

static void mode_evtchn(start_info_t *si)
{
    unsigned int hv_ports[8], nhv = 0;
    unsigned int store = si->store_evtchn, cons = si->console.domU.evtchn;
    say("atk3 evtchn: store port %u console port %u\n", store, cons);
    for (unsigned int p = 1; p < 256; p++) {
        evtchn_status_t st;
        if (ev_status(p, &st))
            continue;
        if (st.status == EVTCHNSTAT_closed)
            continue;
        say("atk3 evtchn: port %u status %u vcpu %u dom %u rport %u\n", p, st.status, st.vcpu,
            st.u.interdomain.dom, st.u.interdomain.port);
        if ((st.status == EVTCHNSTAT_interdomain || st.status == EVTCHNSTAT_unbound) &&
            st.u.unbound.dom == 0 && p != store && p != cons && nhv < 8)
            hv_ports[nhv++] = p;
    }
    check("found the hv-consumed port(s)", nhv >= 1, nhv);
    check("UART answers before", uart_alive(0x5a), 0);
    for (unsigned int i = 0; i < nhv; i++) {
        unsigned int p = hv_ports[i];
        evtchn_send_t s = { .port = p };
        long rc = HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
        check("EVTCHNOP_send on an hv port refused", rc == -XEN_EINVAL, rc);
        evtchn_bind_vcpu_t bv = { .port = p, .vcpu = 0 };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, &bv);
        check("EVTCHNOP_bind_vcpu on an hv port refused", rc == -XEN_EINVAL, rc);
        evtchn_close_t cl = { .port = p };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
        check("EVTCHNOP_close on an hv port refused", rc == -XEN_EINVAL, rc);
        evtchn_unmask_t um = { .port = p };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &um);
        say("atk3 evtchn: unmask hv port -> %ld\n", rc);
        evtchn_set_priority_t sp = { .port = p, .priority = 0 };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_set_priority, &sp);
        say("atk3 evtchn: set_priority hv port -> %ld\n", rc);
        /* bind_interdomain to our own hv port (loopback) */
        evtchn_bind_interdomain_t bi = { .remote_dom = DOMID_SELF, .remote_port = p };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
        check("bind_interdomain to own hv port refused", rc < 0, rc);
        /* bind to dom0's end of it (the device model's port) */
        evtchn_status_t st0;
        if (!ev_status(p, &st0) && st0.status == EVTCHNSTAT_interdomain) {
            evtchn_bind_interdomain_t b0 = { .remote_dom = 0, .remote_port = st0.u.interdomain.port };
            rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &b0);
            check("bind_interdomain to dom0's device-model port refused", rc < 0, rc);
            evtchn_status_t sd = { .dom = 0, .port = st0.u.interdomain.port };
            rc = HYPERVISOR_event_channel_op(EVTCHNOP_status, &sd);
            check("EVTCHNOP_status of dom0's device-model port refused", rc < 0, rc);
        }
        /* SCHEDOP_poll on it: must come back (timeout) */
        evtchn_port_t pp = p;
        sched_poll_t po = { .nr_ports = 1, .timeout = now_ns() + 10000000ULL };
        set_xen_guest_handle(po.ports, &pp);
        rc = HYPERVISOR_sched_op(SCHEDOP_poll, &po);
        say("atk3 evtchn: poll hv port -> %ld\n", rc);
    }
    check("UART answers after the port ops", uart_alive(0xa5), 0);
    /* reset: every port of ours goes, the hv's stay */
    raw_console = 1;
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_reset, &(evtchn_reset_t){ .dom = DOMID_SELF });
    check("EVTCHNOP_reset", rc == 0, rc);
    for (unsigned int i = 0; i < nhv; i++) {
        evtchn_status_t st;
        rc = ev_status(hv_ports[i], &st);
        check("hv port still bound to dom0 after reset",
              rc == 0 && (st.status == EVTCHNSTAT_interdomain || st.status == EVTCHNSTAT_unbound) &&
                  st.u.interdomain.dom == 0, st.status);
        evtchn_close_t cl = { .port = hv_ports[i] };
        rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
        check("close hv port after reset refused", rc == -XEN_EINVAL, rc);
    }
    check("UART answers after EVTCHNOP_reset", uart_alive(0x3c), 0);
    /* many new ports: none may be an hv port */
    unsigned int clash = 0;
    for (int i = 0; i < 200; i++) {
        evtchn_alloc_unbound_t au = { .dom = DOMID_SELF, .remote_dom = 0 };
        if (HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au))
            break;
        for (unsigned int k = 0; k < nhv; k++)
            clash += au.port == hv_ports[k];
    }
    check("no new port reuses an hv port", clash == 0, clash);
    /* a second reset with 200 unbound ports, then the UART again */
    rc = HYPERVISOR_event_channel_op(EVTCHNOP_reset, &(evtchn_reset_t){ .dom = DOMID_SELF });
    check("second EVTCHNOP_reset", rc == 0, rc);
    check("UART answers after the second reset", uart_alive(0xc3), 0);
    dm_attacks(DOMID_SELF, "DOMID_SELF");
    dm_attacks(0, "dom0");
    char arg[8];
    uint16_t me = 0;
    if (cmdline_get(si, "self", arg, sizeof(arg)))
        for (const char *c = arg; *c >= '0' && *c <= '9'; c++)
            me = (uint16_t)(me * 10 + (*c - '0'));
    if (me)
        dm_attacks(me, "own domid");
    check("UART answers at the end", uart_alive(0x99), 0);
}

/* ====================== mode=pic ====================== */

static void pic_init(uint8_t mbase, uint8_t sbase, uint8_t icw4)
{
    outb(0x20, 0x11);
    outb(0x21, mbase);
    outb(0x21, 0x04);
    outb(0x21, icw4);
    outb(0xa0, 0x11);
    outb(0xa1, sbase);
    outb(0xa1, 0x02);
    outb(0xa1, icw4);
}

static void pit_ch0(uint8_t mode, uint16_t count)
{
    outb(0x43, (uint8_t)(0x30 | (mode << 1)));
    outb(0x40, (uint8_t)count);
    outb(0x40, (uint8_t)(count >> 8));
}

static void sti_(void) { __asm__ volatile("sti" ::: "memory"); }
static void cli_(void) { __asm__ volatile("cli" ::: "memory"); }

/* Spin (and hlt when hlt=1) for ms milliseconds of system time. */
static uint64_t run_for(uint64_t ms, int hlt)
{
    uint64_t end = now_ns() + ms * 1000000ULL, loops = 0;
    while (now_ns() < end) {
        if (hlt)
            __asm__ volatile("sti; hlt" ::: "memory");
        loops++;
    }
    return loops;
}

static void lapic_map(void);
static volatile uint32_t *lapic_reg(unsigned int off);

static void mode_pic(start_info_t *si)
{
    unsigned int secs = num_arg(si, "secs", 5);
    /* the 8259 reaches vcpu 0 through LINT0 as ExtINT, as a PC OS using
     * the PIC sets it up (after reset every LVT is masked) */
    lapic_map();
    *lapic_reg(0xf0) = 0x1ff;
    *lapic_reg(0x350) = 0x700;
    idt_save();
    stubs_install(0x20, 0xff);
    /* 1: classic init, auto-EOI, PIT mode 2 count 1 (1.19 MHz) */
    say("atk3 pic: storm 1 (PIT count 1, spinning) for %u s\n", secs);
    cli_();
    counts_clear();
    pic_init(0x20, 0x28, 0x03);
    outb(0x21, 0xfe);
    outb(0xa1, 0xff);
    pit_ch0(2, 1);
    sti_();
    uint64_t t0 = now_ns();
    uint64_t loops = run_for(1000ULL * secs, 0);
    uint64_t t1 = now_ns();
    cli_();
    say("atk3 pic: PIT count 1 mode 2, auto-EOI, spin %u s: %lu loops, %u IRQ0 in %lu ms\n", secs,
        (unsigned long)loops, atk3_irq_count[0x20], (unsigned long)((t1 - t0) / 1000000));
    counts_print("atk3 pic storm 1");
    int stray = 0;
    for (int v = 0; v < 256; v++)
        if (v != 0x20 && v != 0x27 && atk3_irq_count[v])
            stray++;
    check("only IRQ0's vector (or spurious 0x27) in storm 1", stray == 0, stray);
    check("the PIT's IRQ0 arrived", atk3_irq_count[0x20] > 0, atk3_irq_count[0x20]);
    /* 2: the same with sti;hlt (the vcpu sleeps between edges) */
    say("atk3 pic: storm 2 (PIT count 1, hlt loop) for %u s\n", secs);
    counts_clear();
    sti_();
    loops = run_for(1000ULL * secs, 1);
    cli_();
    say("atk3 pic: hlt loop %u s: %lu wakeups, %u IRQ0\n", secs, (unsigned long)loops,
        atk3_irq_count[0x20]);
    /* 3: no EOI (normal EOI mode): one interrupt only, then poll mode */
    counts_clear();
    pic_init(0x20, 0x28, 0x01);
    outb(0x21, 0xfe);
    outb(0xa1, 0xff);
    pit_ch0(2, 1);
    sti_();
    run_for(200, 0);
    cli_();
    check("without EOI only one IRQ0 is taken", atk3_irq_count[0x20] == 1, atk3_irq_count[0x20]);
    outb(0x20, 0x0b); /* OCW3: read ISR */
    uint8_t isr = inb(0x20);
    check("ISR shows IRQ0 in service", isr == 0x01, isr);
    outb(0x20, 0x20); /* EOI */
    outb(0x20, 0x0c); /* poll */
    uint8_t pollv = inb(0x20);
    say("atk3 pic: poll -> %#x\n", pollv);
    outb(0x20, 0x20);
    /* special mask mode, rotate on, set priority */
    outb(0x20, 0x68);
    outb(0x20, 0xc7);
    outb(0x20, 0xa0);
    outb(0x20, 0x80);
    outb(0x20, 0x48);
    /* 4: base 0x00: IRQ0 arrives as vector 0 (what the guest asked) */
    stubs_install(0x00, 0x1f);
    counts_clear();
    pic_init(0x00, 0x08, 0x03);
    outb(0x21, 0xfe);
    outb(0xa1, 0xff);
    pit_ch0(2, 100);
    sti_();
    run_for(100, 0);
    cli_();
    counts_print("atk3 pic base 0");
    /* 5: every PIT mode with counts 0, 1, 2 and latch / read-back */
    for (uint8_t mode = 0; mode < 8; mode++)
        for (uint16_t cnt = 0; cnt < 3; cnt++) {
            pit_ch0(mode, cnt);
            sti_();
            for (int k = 0; k < 50; k++) {
                outb(0x43, 0x00);                      /* latch ch0 */
                (void)inb(0x40);
                (void)inb(0x40);
                outb(0x43, (uint8_t)(0xc0 | 0x0e));    /* read-back status+count, all */
                (void)inb(0x40);
                (void)inb(0x41);
                (void)inb(0x42);
                outb(0x61, (uint8_t)(k & 3));          /* gate 2 toggles */
                (void)inb(0x61);
            }
            cli_();
        }
    counts_print("atk3 pit modes");
    /* 6: random writes to every PIC/PIT port and size, IF on, every vector counted */
    say("atk3 pic: storm 3 (random PIC/PIT writes) for %u s\n", secs);
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42,
                                      0x43, 0x61, 0x1f, 0x3f, 0x9f, 0x4cf, 0x60, 0x22 };
    counts_clear();
    uint64_t end = now_ns() + 1000000000ULL * secs;
    unsigned long ops = 0;
    sti_();
    while (now_ns() < end) {
        for (int k = 0; k < 64; k++, ops++) {
            uint16_t p = ports[rnd() % (sizeof(ports) / sizeof(ports[0]))];
            uint32_t v = rnd();
            switch (rnd() % 6) {
            case 0: outb(p, (uint8_t)v); break;
            case 1: outw(p, (uint16_t)v); break;
            case 2: outl(p, v); break;
            case 3: (void)inb(p); break;
            case 4: (void)inw(p); break;
            default: (void)inl(p); break;
            }
        }
    }
    cli_();
    say("atk3 pic: %lu random PIC/PIT accesses\n", ops);
    counts_print("atk3 pic random");
    /* back to quiet: all masked, PIT stopped (mode 0 one-shot) */
    pic_init(0x20, 0x28, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    pit_ch0(0, 0xffff);
    idt_restore();
    sti_();
    check("hypercalls still answered", HYPERVISOR_xen_version(XENVER_version, NULL) > 0, 0);
    check("UART still answers", uart_alive(0x77), 0);
}

/* ====================== mode=lapic ====================== */

/* The local APIC's page at 0xfee00000, identity-mapped through L4[0]
 * (the kit maps only guest-physical 0-1 GiB, high). */
static uint64_t lapic_l3[512] __attribute__((aligned(4096)));
static uint64_t lapic_l2[512] __attribute__((aligned(4096)));
#define LAPIC_PA 0xfee00000ULL
static volatile uint32_t *lapic_reg(unsigned int off)
{
    return (volatile uint32_t *)(uintptr_t)(LAPIC_PA + off);
}
static void lapic_map(void)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *l4 = (uint64_t *)(GUEST_VIRT_BASE + (cr3 & ~0xfffULL));
    lapic_l2[(LAPIC_PA >> 21) & 511] = (LAPIC_PA & ~0x1fffffULL) | 0x83 | 0x18; /* 2M, PCD|PWT */
    lapic_l3[3] = xl_pvh_virt_to_phys(lapic_l2) | 3;
    l4[0] = xl_pvh_virt_to_phys(lapic_l3) | 3;
    __asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
}

/* IRQ0 (vector 0x20) in 200 ms with the PIT at 1 kHz. */
static unsigned int pic_irqs_in_200ms(void)
{
    counts_clear();
    sti_();
    run_for(200, 0);
    cli_();
    return atk3_irq_count[0x20];
}

static void mode_lapic(void)
{
    lapic_map();
    say("atk3 lapic: id %#x version %#x svr %#x lvt0 %#x\n", *lapic_reg(0x20), *lapic_reg(0x30),
        *lapic_reg(0xf0), *lapic_reg(0x350));
    idt_save();
    stubs_install(0x20, 0xff);
    cli_();
    pic_init(0x20, 0x28, 0x03);
    outb(0x21, 0xfe);
    outb(0xa1, 0xff);
    pit_ch0(2, 1193);
    unsigned int n = pic_irqs_in_200ms();
    check("as booted (after reset every LVT masked, as Xen's vlapic): no PIC interrupt", n == 0, n);
    *lapic_reg(0xf0) = 0x1ff;             /* software-enabled */
    *lapic_reg(0x350) = 0x10700;          /* LINT0 ExtINT, masked */
    n = pic_irqs_in_200ms();
    check("enabled, LINT0 masked: no PIC interrupt", n == 0, n);
    *lapic_reg(0x350) = 0x00040;          /* LINT0 fixed vector 0x40 */
    n = pic_irqs_in_200ms();
    check("enabled, LINT0 fixed mode: no PIC interrupt (no INTA)", atk3_irq_count[0x20] == 0, n);
    *lapic_reg(0x350) = 0x00700;          /* LINT0 ExtINT */
    n = pic_irqs_in_200ms();
    check("enabled, LINT0 ExtINT: PIC interrupts arrive", n > 0, n);
    *lapic_reg(0xf0) = 0x0ff;             /* software-disabled: every LVT masked */
    uint32_t lvt0 = *lapic_reg(0x350);
    say("atk3 lapic: software-disabled, lvt0 now %#x\n", lvt0);
    n = pic_irqs_in_200ms();
    check("software-disabled (LINT0 masked by it): no PIC interrupt, as Xen and QEMU", n == 0, n);
    counts_print("atk3 lapic");
    *lapic_reg(0xf0) = 0x1ff;
    *lapic_reg(0x350) = 0x00700;
    outb(0x21, 0xff);
    pit_ch0(0, 0xffff);
    idt_restore();
    sti_();
    check("hypercalls still answered", HYPERVISOR_xen_version(XENVER_version, NULL) > 0, 0);
}

/* ====================== mode=fifo ====================== */

/* EVTCHNOP_init_control names the control block by gfn (Xen's
 * map_guest_page: a translated guest's gfn goes through its p2m). */
static uint8_t fifo_ctl[4096] __attribute__((aligned(4096)));

static long fifo_init(uint64_t gfn, uint32_t offset)
{
    evtchn_init_control_t ic = { .control_gfn = gfn, .offset = offset, .vcpu = 0 };
    return HYPERVISOR_event_channel_op(EVTCHNOP_init_control, &ic);
}

static long ev_reset(void)
{
    return HYPERVISOR_event_channel_op(EVTCHNOP_reset, &(evtchn_reset_t){ .dom = DOMID_SELF });
}

static void mode_fifo(start_info_t *si)
{
    unsigned int limit = num_arg(si, "limit", 0x40000);
    uint64_t gfn = xl_pvh_virt_to_phys(fifo_ctl) >> 12;
    uint64_t ram_pages = xl_pvh_free_end_pfn; /* the top of RAM (pfns), as the kit saw it */
    say("atk3 fifo: control page gfn %#lx, RAM pfns below %#lx\n", (unsigned long)gfn,
        (unsigned long)ram_pages);
    raw_console = 1; /* the resets below close the PV console's port */
    long rc = ev_reset();
    rc = fifo_init(gfn, 0);
    say("atk3 fifo: init_control on a gfn of ours (%#lx) -> %ld\n", (unsigned long)gfn, rc);
    check("EVTCHNOP_init_control on one of our own gfns works (Xen: 0)", rc == 0, rc);
    ev_reset();
    /* Every number below limit as a "gfn": which does the hv take? */
    unsigned long ok = 0, beyond = 0, runs = 0;
    uint64_t run_s = 0, prev = ~0ULL;
    char line[200];
    int n = 0;
    for (uint64_t g = 0; g < limit; g++) {
        if (fifo_init(g, 0) != 0)
            continue;
        ev_reset();
        ok++;
        if (g >= ram_pages && g < 0xf0000)
            beyond++;
        if (g != prev + 1) {
            if (prev != ~0ULL && runs < 12)
                n += xl_snprintf(line + n, sizeof(line) - (size_t)n, " %#lx-%#lx",
                                 (unsigned long)run_s, (unsigned long)prev);
            runs++;
            run_s = g;
        }
        prev = g;
    }
    if (prev != ~0ULL && runs <= 12)
        n += xl_snprintf(line + n, sizeof(line) - (size_t)n, " %#lx-%#lx", (unsigned long)run_s,
                         (unsigned long)prev);
    line[n] = 0;
    say("atk3 fifo: init_control accepted %lu of %#x numbers as the control block, %lu above our RAM; %lu runs:%s\n",
        ok, limit, beyond, runs, line);
    /* gfns: one run from 0 over our RAM and the few special pages right
     * above it (all in our p2m); machine frame numbers would be runs
     * anywhere (seen before the fix: 21 runs at 0x8a27 and up) */
    check("only our own gfns taken (one run from 0: RAM and the special pages above it)",
          ok && runs == 0 /* the walk counts a break only: 0 = one run from 0 */ &&
              prev + 1 >= ram_pages && beyond <= 16,
          (long)runs);
}

/* mode=fifo2: the frames the hv takes by number that are short runs (not
 * the RAM's 512-frame runs) are tried as the FIFO control block (offset
 * 8) and event array: VIRQ_TIMER on port p, priority 3, fires while vcpu
 * 0 waits on the UART. If the frame is the ioreq page, event word p is
 * slot 0's word p (p = 1: the address's high half, rewritten by every
 * request, so the port links again each time), ready (offset 8) is the
 * slot's data word (0 after every request: each link marks the upcall
 * and wakes the vcpu) and head[3] (offset 8 + 8 + 12 = 28) is the word
 * holding the slot's state byte: the hv itself writes state 0 into a
 * request in flight. */
static void mode_fifo2(start_info_t *si)
{
    unsigned int limit = num_arg(si, "limit", 0x40000);
    raw_console = 1;
    ev_reset();
    uint64_t cand[32];
    unsigned int nc = 0;
    uint64_t run_s = 0, last = 0;
    int in_run = 0;
    for (uint64_t g = 0; g <= limit && nc < 32; g++) {
        int owned = g < limit && fifo_init(g, 0) == 0;
        if (owned)
            ev_reset();
        if (owned && in_run && g == last + 1) {
            last = g;
            continue;
        }
        if (in_run && last - run_s + 1 < 16) /* a short run ended: candidates */
            for (uint64_t c = run_s; c <= last && nc < 32; c++)
                cand[nc++] = c;
        in_run = owned;
        run_s = last = g;
    }
    say("atk3 fifo2: %u candidate frames in short runs\n", nc);
    for (unsigned int i = 0; i < nc; i++) {
        ev_reset();
        if (fifo_init(cand[i], 8))
            continue;
        evtchn_expand_array_t ea = { .array_gfn = cand[i] };
        long rc = HYPERVISOR_event_channel_op(EVTCHNOP_expand_array, &ea);
        evtchn_bind_virq_t bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
        long rc2 = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv);
        evtchn_set_priority_t sp = { .port = bv.port, .priority = 3 };
        long rc3 = HYPERVISOR_event_channel_op(EVTCHNOP_set_priority, &sp);
        say("atk3 fifo2: frame %#lx as control block and event array (%ld), VIRQ_TIMER port %u (%ld), priority 3 (%ld)\n",
            (unsigned long)cand[i], rc, bv.port, rc2, rc3);
        if (rc || rc2 || rc3)
            continue;
        for (int k = 0; k < 300; k++) {
            HYPERVISOR_set_timer_op(now_ns() + 50000 + (uint64_t)(k % 11) * 20000);
            for (int j = 0; j < 6; j++)
                (void)inb(COM1 + 5);
        }
        say("atk3 fifo2: frame %#lx: survived 1800 UART reads\n", (unsigned long)cand[i]);
    }
    ev_reset();
    say("atk3 fifo2: no candidate frame reached the ioreq page\n");
}

/* ====================== mode=uart ====================== */

static void mode_uart(start_info_t *si)
{
    unsigned int secs = num_arg(si, "secs", 5);
    /* storm=N: rounds of the loopback and IER storms (each round is a few
     * device model round trips: 20000 take minutes on a loaded TCG host) */
    unsigned int storm = num_arg(si, "storm", 20000);
    check("UART answers", uart_alive(0x5a), 0);
    /* across the top: not the device model's (all ones, as Xen) */
    uint16_t w = inw(0x3ff);
    check("inw 0x3ff (straddles 0x400) all ones", w == 0xffff, w);
    uint32_t l = inl(0x3fd);
    check("inl 0x3fd (straddles 0x400) all ones", l == 0xffffffffu, (long)l);
    l = inl(0x3fe);
    check("inl 0x3fe all ones", l == 0xffffffffu, (long)l);
    outw(0x3ff, 0x4141);
    outl(0x3fd, 0x41414141);
    /* every size at every offset */
    for (uint16_t off = 0; off < 8; off++) {
        (void)inb(COM1 + off);
        (void)inw(COM1 + off);
        (void)inl(COM1 + off);
    }
    outl(COM1 + 4, 0x00000000); /* MCR, LSR, MSR, SCR */
    outw(COM1 + 6, 0x2200);     /* MSR, SCR */
    check("outw 0x3fe wrote SCR", inb(COM1 + 7) == 0x22, inb(COM1 + 7));
    uint32_t l4 = inl(COM1 + 4);
    say("atk3 uart: inl 0x3fc = %#x\n", l4);
    /* DLAB */
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 0x12);
    outb(COM1 + 1, 0x34);
    uint16_t div = inw(COM1 + 0);
    outb(COM1 + 3, 0x03);
    check("DLAB divisor reads back", div == 0x3412, div);
    /* loopback + FIFO overrun */
    outb(COM1 + 2, 0x07); /* FIFO on, both cleared */
    outb(COM1 + 4, 0x10); /* loopback */
    for (int i = 0; i < 20; i++)
        outb(COM1, (uint8_t)('a' + i));
    uint8_t lsr = inb(COM1 + 5);
    check("loopback overrun sets OE and DR", (lsr & 0x03) == 0x03, lsr);
    int got = 0;
    while ((inb(COM1 + 5) & 1) && got < 100) {
        (void)inb(COM1);
        got++;
    }
    check("16 bytes in the receive FIFO", got == 16, got);
    /* loopback storm */
    for (unsigned int i = 0; i < storm; i++) {
        outb(COM1, (uint8_t)i);
        if (i & 1)
            (void)inb(COM1);
    }
    outb(COM1 + 4, 0x0b);   /* DTR, RTS, OUT2 */
    outb(COM1 + 2, 0x06);
    /* IER toggling: each toggle changes the IRQ line (set_isa_irq_level) */
    idt_save();
    stubs_install(0x20, 0xff);
    counts_clear();
    pic_init(0x20, 0x28, 0x03);
    outb(0x21, (uint8_t)~(1u << 4));
    outb(0xa1, 0xff);
    sti_();
    uint64_t t0 = now_ns();
    for (unsigned int i = 0; i < storm; i++) {
        outb(COM1 + 1, 0x02);
        outb(COM1 + 1, 0x00);
        outw(COM1 + 1, (uint16_t)(i & 0x0f));
    }
    uint64_t t1 = now_ns();
    outb(COM1 + 1, 0x00);
    cli_();
    say("atk3 uart: %u IER toggles in %lu ms\n", storm, (unsigned long)((t1 - t0) / 1000000));
    counts_print("atk3 uart IER");
    outb(0x21, 0xff);
    idt_restore();
    sti_();
    check("UART answers after the storms", uart_alive(0x3c), 0);
    /* output flood: secs seconds of lines */
    say("atk3 uart: flood begins, %u s\n", secs);
    uint64_t end = now_ns() + 1000000000ULL * secs;
    unsigned long bytes = 0, lines = 0;
    static const char msg[] = "atk3 flood 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
    while (now_ns() < end) {
        for (size_t i = 0; i < sizeof(msg) - 1; i++)
            outb(COM1, (uint8_t)msg[i]);
        bytes += sizeof(msg) - 1;
        lines++;
    }
    say("atk3 uart: flood %u s: %lu bytes, %lu lines\n", secs, bytes, lines);
    check("UART answers after the flood", uart_alive(0x42), 0);
}

/* ====================== mode=spin ====================== */

static void mode_spin(void)
{
    say("atk3 spin: reading the UART's LSR forever\n");
    unsigned long n = 0;
    for (;;) {
        (void)inb(COM1 + 5);
        if (++n % 10000 == 0)
            say("atk3 spin: %lu reads\n", n);
    }
}

/* ====================== mode=pvdm (PV) ====================== */

/* Machine address of the L1 entry mapping va (PV, the boot tables). */
static uint64_t l1e_maddr(start_info_t *si, const void *va)
{
    uint64_t a = (uint64_t)va;
    const uint64_t *t = (const uint64_t *)si->pt_base;
    for (int shift = 39; shift >= 21; shift -= 9) {
        uint64_t e = t[(a >> shift) & 511];
        if (!(e & 1) || (e & 0x80))
            return 0;
        t = guest_mfn_to_virt(si, (e & 0x000ffffffffff000ULL) >> 12);
        if (!t)
            return 0;
    }
    return (virt_to_mfn(t) << 12) | (((a >> 12) & 511) * 8);
}

static uint8_t victim[4096] __attribute__((aligned(4096)));

static void mode_pvdm(start_info_t *si)
{
    char arg[8];
    uint16_t target = 0;
    if (cmdline_get(si, "target", arg, sizeof(arg)))
        for (const char *c = arg; *c >= '0' && *c <= '9'; c++)
            target = (uint16_t)(target * 10 + (*c - '0'));
    say("atk3 pvdm: target d%u\n", target);
    if (target)
        dm_attacks(target, "the HVM neighbour");
    dm_attacks(0, "dom0");
    /* mmu_update NO_TRANSLATE with foreigndom = the neighbour / dom0 */
    victim[0] = 1;
    uint64_t ptr = l1e_maddr(si, victim);
    uint64_t own = virt_to_mfn(victim);
    check("found the victim's L1 entry", ptr != 0, (long)ptr);
    if (!ptr)
        return;
    uint16_t doms[2] = { target, 0 };
    for (int k = 0; k < 2; k++) {
        for (uint64_t mfn = 0x100; mfn < 0x100 + 64; mfn++) {
            mmu_update_t u = { .ptr = ptr | MMU_PT_UPDATE_NO_TRANSLATE, .val = (mfn << 12) | 0x67 };
            long rc = HYPERVISOR_mmu_update(&u, 1, NULL, doms[k]);
            if (rc >= 0) {
                check("NO_TRANSLATE with a foreign foreigndom refused", 0, (long)mfn);
                break;
            }
        }
    }
    /* DOMID_SELF: every frame not ours must be refused */
    unsigned long ok_foreign = 0, tried = 0;
    const unsigned long *p2m = (const unsigned long *)si->mfn_list;
    for (uint64_t mfn = 0; mfn < 0x20000; mfn += 7) {
        int mine = 0;
        for (unsigned long i = 0; i < si->nr_pages && !mine; i++)
            mine = p2m[i] == mfn;
        if (mine)
            continue;
        tried++;
        mmu_update_t u = { .ptr = ptr | MMU_PT_UPDATE_NO_TRANSLATE, .val = (mfn << 12) | 0x65 };
        long rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
        if (rc >= 0) {
            ok_foreign++;
            say("atk3 pvdm: mapped mfn %#lx (not ours) with NO_TRANSLATE\n", (unsigned long)mfn);
            mmu_update_t r = { .ptr = ptr, .val = (own << 12) | 0x67 };
            HYPERVISOR_mmu_update(&r, 1, NULL, DOMID_SELF);
            if (ok_foreign > 4)
                break;
        }
    }
    say("atk3 pvdm: %lu foreign frames tried\n", tried);
    check("NO_TRANSLATE/DOMID_SELF never maps a frame not ours", ok_foreign == 0, (long)ok_foreign);
    /* and on our own frame it works as NORMAL_PT_UPDATE */
    mmu_update_t u = { .ptr = ptr | MMU_PT_UPDATE_NO_TRANSLATE, .val = (own << 12) | 0x67 };
    long rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
    check("NO_TRANSLATE of our own frame", rc == 0 && victim[0] == 1, rc);
}

int guest_main(start_info_t *si)
{
    char mode[16] = "evtchn";
    cmdline_get(si, "mode", mode, sizeof(mode));
    char arg[16];
    if (cmdline_get(si, "seed", arg, sizeof(arg)))
        rng = (uint32_t)arg[0] * 7919u + 1;
    say("atk3 %s: booted as %s\n", mode, xl_boot_mode());
    if (!strcmp(mode, "pvdm")) {
        mode_pvdm(si);
    } else if (!xl_is_hvm) {
        say("atk3 %s: needs type=hvm\n", mode);
        failed++;
    } else if (!strcmp(mode, "evtchn")) {
        mode_evtchn(si);
    } else if (!strcmp(mode, "pic")) {
        mode_pic(si);
    } else if (!strcmp(mode, "uart")) {
        mode_uart(si);
    } else if (!strcmp(mode, "fifo")) {
        mode_fifo(si);
    } else if (!strcmp(mode, "fifo2")) {
        mode_fifo2(si);
    } else if (!strcmp(mode, "lapic")) {
        mode_lapic();
    } else if (!strcmp(mode, "spin")) {
        mode_spin();
    }
    say("atk3 %s: %d passed, %d failed\n", mode, passed, failed);
    return failed ? SHUTDOWN_crash : SHUTDOWN_poweroff;
}
