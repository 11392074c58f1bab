/*
 * kit_self.c - a test kernel that checks the kit's own runtime services
 * on itself, the same way whether it was booted as a PV or as a PVH guest
 * (docs/hvm.md): the page allocator (pages.c), event channels through the
 * kit's API (evtchn.c: a loopback channel, VIRQ_TIMER, evtchn_block, the
 * upcall through traps_init), and grant tables through the kit's API
 * (gnttab.c: its table, a grant of one of its pages to itself mapped
 * over another page, writes seen both ways, unmap gives the page back,
 * end_access). Runs as dom0 (self=ID for another domid). One PASS/FAIL
 * line per check, then "kit_self: N passed, M failed".
 * Under PVH a grant of one's own page is special in Xen 4.17: mapping it
 * at another gpfn moves the frame there (p2m_add_page drops its old gfn,
 * as for any frame the domain owns), so the granted page's own address
 * is a hole from then on: that check is a SKIP line and the page is not
 * given back to the allocator. Another domain's grant does not move.
 * Owns: nothing outside itself. Must never: use a PV-only or PVH-only
 * call directly (only the kit's API), so both runs mean the same.
 */
#include <stdint.h>
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/evtchn.h>
#include <xlguest/gnttab.h>
#include <xlguest/kernel.h>
#include <xlguest/pages.h>
#include <xlguest/platform.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>

#define MS 1000000ULL

static volatile unsigned int loop_hits, timer_hits;

void guest_event_upcall(struct guest_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

static void on_loop(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    loop_hits++;
}

static volatile uint64_t timer_at;
static uint64_t now(void);

static void on_timer(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    timer_at = now();
    timer_hits++;
}

static uint64_t now(void)
{
    return pvclock_read(&guest_shared_info->vcpu_info[0].time);
}

static void pages(void)
{
    uint64_t total = pages_total(), free0 = pages_free_count();
    printk("kit_self: allocator %lu pages, %lu free\n", (unsigned long)total,
           (unsigned long)free0);
    check_true("pages: the allocator has at least 256 pages", free0 >= 256);
    uint8_t *a = pages_alloc(4);
    if (!check_true("pages_alloc(4)", a != NULL))
        return;
    memset(a, 0x5a, 4 * 4096);
    check_true("pages: 4 pages written and read back", a[0] == 0x5a && a[4 * 4096 - 1] == 0x5a);
    check_eq("pages: free count down by 4", (long)pages_free_count(), (long)free0 - 4);
    check_true("virt_to_mfn of an allocated page", virt_to_mfn(a) != ~0ULL);
    pages_free(a, 4);
    check_eq("pages: free count back", (long)pages_free_count(), (long)free0);
}

static void events(void)
{
    if (!check_true("shared_info mapped", guest_shared_info != NULL))
        return;
    check_eq("traps_init", traps_init(), 0);
    evtchn_port_t a = 0, b = 0, t = 0;
    check_eq("evtchn_alloc_unbound for myself", evtchn_alloc_unbound(DOMID_SELF, &a), 0);
    check_eq("evtchn_bind_interdomain loopback", evtchn_bind_interdomain(DOMID_SELF, a, &b), 0);
    check_eq("evtchn_bind handler", evtchn_bind(b, on_loop, NULL), 0);
    evtchn_disable_upcalls();
    check_eq("evtchn_send", evtchn_send(a), 0);
    uint64_t until = now() + 2000 * MS;
    while (!loop_hits && now() < until)
        evtchn_block();
    check_eq("loopback event handled once", loop_hits, 1);

    /* no periodic ticks (Xen starts vCPUs with a 10 ms one): only ours */
    check_eq("VCPUOP_stop_periodic_timer", HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
    check_eq("evtchn_bind_virq VIRQ_TIMER", evtchn_bind_virq(VIRQ_TIMER, &t), 0);
    check_eq("evtchn_bind timer handler", evtchn_bind(t, on_timer, NULL), 0);
    timer_hits = 0;
    uint64_t deadline = now() + 10 * MS;
    HYPERVISOR_set_timer_op(deadline);
    until = deadline + 2000 * MS;
    while (!timer_hits && now() < until)
        evtchn_block();
    check_true("VIRQ_TIMER through evtchn_block", timer_hits >= 1);
    check_true("timer no earlier than its deadline", timer_at >= deadline);
    evtchn_enable_upcalls();
    loop_hits = 0;
    evtchn_send(a);
    until = now() + 2000 * MS;
    while (!loop_hits && now() < until)
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    check_eq("upcall with upcalls enabled", loop_hits, 1);
    evtchn_disable_upcalls();
    check_eq("evtchn_close", evtchn_close(b), 0);
    check_eq("evtchn_close other end", evtchn_close(a), 0);
    check_eq("unhandled events", (long)evtchn_unhandled, 0);
}

static void grants(domid_t me)
{
    if (!check_eq("gnttab_init", gnttab_init(), 0))
        return;
    uint8_t *src = pages_alloc(1), *dst = pages_alloc(1);
    if (!check_true("two pages for the grant", src && dst))
        return;
    memset(src, 0xa5, 4096);
    memset(dst, 0x3c, 4096);
    long ref = gnttab_grant_access(me, virt_to_mfn(src), 0);
    if (!check_true("grant my page to myself", ref >= GNTTAB_FIRST_REF))
        return;
    grant_handle_t h = 0;
    int16_t st = 0;
    if (check_eq("gnttab_map over another page", gnttab_map(me, (grant_ref_t)ref, dst, 0, &h, &st), 0)) {
        check_true("mapped page shows the granted one", dst[0] == 0xa5 && dst[4095] == 0xa5);
        dst[100] = 0x11;
        if (xl_is_pvh) /* the page left src's gpfn: see the header */
            printk("SKIP write through the mapping seen at the granted page: "
                   "a self-grant moves the page under PVH\n");
        else
            check_eq("write through the mapping reaches the granted page", src[100], 0x11);
        check_true("GTF_reading|GTF_writing while mapped",
                   (gnttab_flags((grant_ref_t)ref) & (GTF_reading | GTF_writing)) ==
                       (GTF_reading | GTF_writing));
        check_eq("gnttab_end_access while mapped -> -EBUSY", gnttab_end_access((grant_ref_t)ref),
                 -XEN_EBUSY);
        check_eq("gnttab_unmap", gnttab_unmap(dst, h, &st), 0);
        dst[0] = 0x77;
        check_true("page usable again after unmap, not the granted one",
                   dst[0] == 0x77 && (xl_is_pvh || (src[0] == 0xa5 && src[100] == 0x11)));
    }
    check_eq("GTF_reading|GTF_writing cleared", gnttab_flags((grant_ref_t)ref) &
                                                    (GTF_reading | GTF_writing), 0);
    check_eq("gnttab_end_access", gnttab_end_access((grant_ref_t)ref), 0);
    if (!xl_is_pvh) /* under PVH src's gpfn is a hole now: never reused */
        pages_free(src, 1);
    pages_free(dst, 1);
}

int guest_main(start_info_t *si)
{
    printk("kit_self: booted as %s\n", xl_boot_mode());
    domid_t me = 0;
    char arg[16];
    if (cmdline_get(si, "self", arg, sizeof(arg)))
        for (const char *c = arg; *c >= '0' && *c <= '9'; c++)
            me = (domid_t)(me * 10 + (*c - '0'));
    pages();
    events();
    grants(me);
    return check_summary("kit_self");
}
