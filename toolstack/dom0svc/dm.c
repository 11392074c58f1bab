/*
 * dm.c - dom0's device model for HVM domains (what QEMU is to Xen): an
 * ioreq server per domain (XEN_DMOP_create_ioreq_server, its page mapped
 * through XENMEM_acquire_resource and mmu_update's
 * MMU_PT_UPDATE_NO_TRANSLATE, one event channel per vcpu), claiming the
 * first serial port's 8 registers (0x3f8, ISA IRQ 4) for a 16550A
 * (uart16550.c). What the guest transmits becomes its "(dN) ..." lines
 * and goes to `xl console` (type serial, xl's default for HVM); what is
 * typed there arrives in the UART's receive FIFO, with its IRQ raised
 * and lowered through XEN_DMOP_set_isa_irq_level.
 * Owns: the per-domain device state, the ioreq page mappings. Must
 * never: act on a slot whose state is not IOREQ_READY, answer a slot
 * twice, or trust the guest's addresses beyond the ranges it claimed
 * (the hv sends only those).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xen/memory.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/ioreq.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/m2p.h>
#include <xenolith/ioreq_state.h>
#include "svc.h"
#include "uart16550.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ  4
#define DM_MAX_VCPUS 8
#define LINE_MAX_ 160
#define PENDING_MAX 4096

static struct dmdom {
    int used;
    uint16_t srv;
    ioreq_t *page;
    unsigned int nvcpus;
    uint32_t lport[DM_MAX_VCPUS];
    struct uart16550 uart;
    int irq;                    /* the level last given to the PIC */
    int interactive;
    char line[LINE_MAX_];
    unsigned int len;
    char pending[PENDING_MAX];  /* output kept for the next xl console */
    unsigned int npending;
} doms[SVC_MAX_DOMS];

static long dm_op(uint16_t domid, struct xen_dm_op *op)
{
    struct xen_dm_op_buf buf = { .size = sizeof(*op) };
    buf.h.p = op;
    return xen_hypercall5(__HYPERVISOR_dm_op, domid, 1, (uint64_t)&buf, 0, 0);
}

/* ---- output: lines in dom0's log, bytes to an attached console ---- */

static void flush_line(uint16_t domid, struct dmdom *m)
{
    if (!m->len)
        return;
    printk("(d%u) %.*s\n", domid, (int)m->len, m->line);
    m->len = 0;
}

static void tx_byte(void *ctx, uint8_t ch)
{
    struct dmdom *m = ctx;
    uint16_t domid = (uint16_t)(m - doms);
    if (m->interactive) {
        ctl_write((const char *)&ch, 1);
    } else {
        if (m->npending == PENDING_MAX) {
            memmove(m->pending, m->pending + PENDING_MAX / 2, PENDING_MAX / 2);
            m->npending = PENDING_MAX / 2;
        }
        m->pending[m->npending++] = (char)ch;
    }
    if (ch == '\n') {
        flush_line(domid, m);
        return;
    }
    if (ch == '\r')
        return;
    static const char hex[] = "0123456789abcdef";
    int plain = (ch >= 0x20 && ch < 0x7f) || ch == '\t';
    if (m->len + 4 > LINE_MAX_ - 1)
        flush_line(domid, m);
    if (plain) {
        m->line[m->len++] = (char)ch;
    } else { /* a control byte never reaches a terminal showing the log */
        m->line[m->len++] = '\\';
        m->line[m->len++] = 'x';
        m->line[m->len++] = hex[ch >> 4];
        m->line[m->len++] = hex[ch & 15];
    }
}

/* The UART's IRQ line to the domain's PIC, on a change. */
static void update_irq(uint16_t domid, struct dmdom *m)
{
    int level = uart_irq_level(&m->uart);
    if (level == m->irq)
        return;
    struct xen_dm_op op = { .op = XEN_DMOP_set_isa_irq_level };
    op.u.set_isa_irq_level.isa_irq = COM1_IRQ;
    op.u.set_isa_irq_level.level = (uint8_t)level;
    if (dm_op(domid, &op) == 0)
        m->irq = level;
}

/* ---- the ioreq page: mapped by machine frame ---- */

/* Machine address of the L1 entry mapping va in dom0's own (bootstrap)
 * tables, 0 if not found. */
static uint64_t pte_maddr(const void *va)
{
    uint64_t a = (uint64_t)va;
    const uint64_t *t = (const uint64_t *)start_info->pt_base;
    for (int shift = 39; shift >= 21; shift -= 9) {
        uint64_t e = t[(a >> shift) & 511];
        if (!(e & 1) || (e & 0x80))
            return 0;
        t = guest_mfn_to_virt(start_info, (e & 0x000ffffffffff000ULL) >> 12);
        if (!t)
            return 0;
    }
    uint64_t l1_mfn = virt_to_mfn(t);
    return (l1_mfn << 12) | (((a >> 12) & 511) * 8);
}

static char dm_map_area[SVC_MAX_DOMS][4096] __attribute__((aligned(4096)));

static void *map_mfn(uint16_t domid, uint64_t mfn)
{
    void *va = dm_map_area[domid];
    uint64_t ptr = pte_maddr(va);
    if (!ptr)
        return NULL;
    mmu_update_t u = { .ptr = ptr | MMU_PT_UPDATE_NO_TRANSLATE, .val = (mfn << 12) | 0x67 };
    long rc = HYPERVISOR_mmu_update(&u, 1, NULL, domid);
    if (rc) {
        printk("dom0: d%u's ioreq page: mmu_update %ld\n", domid, rc);
        return NULL;
    }
    struct mmuext_op f = { .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = (unsigned long)va };
    HYPERVISOR_mmuext_op(&f, 1, NULL, DOMID_SELF);
    return va;
}

static void unmap_mfn(uint16_t domid)
{
    void *va = dm_map_area[domid];
    HYPERVISOR_update_va_mapping((unsigned long)va, (virt_to_mfn(va) << 12) | 0x67, UVMF_INVLPG);
}

/* ---- attach / detach ---- */

int dm_attach(uint16_t domid, unsigned int nvcpus)
{
    if (domid == 0 || domid >= SVC_MAX_DOMS || doms[domid].used || !nvcpus ||
        nvcpus > DM_MAX_VCPUS)
        return -XEN_EINVAL;
    struct dmdom *m = &doms[domid];
    memset(m, 0, sizeof(*m));
    struct xen_dm_op op = { .op = XEN_DMOP_create_ioreq_server };
    op.u.create_ioreq_server.handle_bufioreq = HVM_IOREQSRV_BUFIOREQ_OFF;
    long rc = dm_op(domid, &op);
    if (rc)
        return (int)rc;
    m->srv = op.u.create_ioreq_server.id;
    xen_pfn_t mfn = 0;
    xen_mem_acquire_resource_t r = { .domid = domid, .type = XENMEM_resource_ioreq_server,
                                     .id = m->srv, .nr_frames = 1,
                                     .frame = XENMEM_resource_ioreq_server_frame_ioreq(0) };
    r.frame_list.p = &mfn;
    if ((rc = HYPERVISOR_memory_op(XENMEM_acquire_resource, &r)))
        goto fail;
    m->page = map_mfn(domid, mfn);
    if (!m->page) {
        rc = -XEN_EFAULT;
        goto fail;
    }
    m->nvcpus = nvcpus;
    for (unsigned int i = 0; i < nvcpus; i++) {
        long lp = svc_bind_interdomain(domid, m->page[i].vp_eport);
        if (lp < 0) {
            rc = lp;
            goto fail;
        }
        m->lport[i] = (uint32_t)lp;
    }
    op = (struct xen_dm_op){ .op = XEN_DMOP_map_io_range_to_ioreq_server };
    op.u.map_io_range_to_ioreq_server.id = m->srv;
    op.u.map_io_range_to_ioreq_server.type = XEN_DMOP_IO_RANGE_PORT;
    op.u.map_io_range_to_ioreq_server.start = COM1_BASE;
    op.u.map_io_range_to_ioreq_server.end = COM1_BASE + 7;
    if ((rc = dm_op(domid, &op)))
        goto fail;
    uart_init(&m->uart, tx_byte, m);
    op = (struct xen_dm_op){ .op = XEN_DMOP_set_ioreq_server_state };
    op.u.set_ioreq_server_state.id = m->srv;
    op.u.set_ioreq_server_state.enabled = 1;
    if ((rc = dm_op(domid, &op)))
        goto fail;
    m->used = 1;
    return 0;
fail:
    printk("dom0: d%u's device model: %ld\n", domid, rc);
    for (unsigned int i = 0; i < DM_MAX_VCPUS; i++)
        if (m->lport[i])
            svc_close_port(m->lport[i]);
    if (m->page)
        unmap_mfn(domid);
    op = (struct xen_dm_op){ .op = XEN_DMOP_destroy_ioreq_server };
    op.u.destroy_ioreq_server.id = m->srv;
    dm_op(domid, &op);
    memset(m, 0, sizeof(*m));
    return (int)rc;
}

int dm_attached(uint16_t domid)
{
    return domid < SVC_MAX_DOMS && doms[domid].used;
}

void dm_detach(uint16_t domid)
{
    if (!dm_attached(domid))
        return;
    struct dmdom *m = &doms[domid];
    flush_line(domid, m);
    for (unsigned int i = 0; i < m->nvcpus; i++)
        svc_close_port(m->lport[i]);
    unmap_mfn(domid);
    /* The domain may be gone already (-ESRCH): its servers went with it. */
    struct xen_dm_op op = { .op = XEN_DMOP_destroy_ioreq_server };
    op.u.destroy_ioreq_server.id = m->srv;
    dm_op(domid, &op);
    memset(m, 0, sizeof(*m));
}

/* ---- requests ---- */

/* Answer one slot (state READY): the port access on the UART. */
static void serve(uint16_t domid, struct dmdom *m, unsigned int vcpu)
{
    ioreq_t *p = &m->page[vcpu];
    if (ioreq_state_get(p) != STATE_IOREQ_READY)
        return;
    ioreq_state_set(p, STATE_IOREQ_INPROCESS);
    uint64_t data = ~0ULL;
    if (p->type == IOREQ_TYPE_PIO && p->addr >= COM1_BASE && p->addr < COM1_BASE + 8) {
        unsigned int off = (unsigned int)(p->addr - COM1_BASE);
        if (p->dir == IOREQ_READ) {
            data = 0;
            for (unsigned int i = 0; i < p->size && off + i < 8; i++)
                data |= (uint64_t)uart_read(&m->uart, off + i) << (8 * i);
        } else {
            for (unsigned int i = 0; i < p->size && off + i < 8; i++)
                uart_write(&m->uart, off + i, (uint8_t)(p->data >> (8 * i)));
        }
    }
    if (p->dir == IOREQ_READ)
        p->data = data;
    ioreq_state_set(p, STATE_IORESP_READY);
    update_irq(domid, m);
    svc_send(m->lport[vcpu]);
}

static void poll_dom(uint16_t domid, struct dmdom *m)
{
    for (unsigned int i = 0; i < m->nvcpus; i++) {
        svc_port_pending(m->lport[i]);
        serve(domid, m, i);
    }
}

void dm_poll(void)
{
    for (uint16_t d = 1; d < SVC_MAX_DOMS; d++)
        if (doms[d].used)
            poll_dom(d, &doms[d]);
}

/* `xl console` of an HVM domain: its serial port, as a pty would be. */
int dm_interactive(uint16_t domid)
{
    if (!dm_attached(domid))
        return -XEN_ENOENT;
    struct dmdom *m = &doms[domid];
    ctl_write(m->pending, m->npending);
    m->npending = 0;
    m->interactive = 1;
    static char typed[256];
    unsigned int ntyped = 0, head = 0;
    for (;;) {
        int ch, done = 0;
        while (ntyped < sizeof(typed) && (ch = ctl_getc()) >= 0) {
            if (ch == 0x1d) { /* Ctrl-] */
                done = 1;
                break;
            }
            typed[(head + ntyped++) % sizeof(typed)] = (char)ch;
        }
        /* Into the FIFO as it has room: the guest drains it on its IRQ. */
        while (ntyped && uart_rx_room(&m->uart)) {
            uart_receive(&m->uart, (uint8_t)typed[head]);
            head = (head + 1) % sizeof(typed);
            ntyped--;
        }
        update_irq(domid, m);
        if (done)
            break;
        svc_step(0); /* serves our requests too */
        if (!dm_attached(domid))
            return 0; /* the domain went away meanwhile */
    }
    m->interactive = 0;
    ctl_write("\n", 1);
    return 0;
}
