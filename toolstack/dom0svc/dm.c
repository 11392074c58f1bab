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
 * An xl disk with vdev=hda becomes an ATA disk on the primary IDE channel
 * (0x1f0-0x1f7, 0x3f6, ISA IRQ 14; ata.c), its sectors a region of a
 * dom0 block device as blkback's targets name them ("vda:8M+16M"). The
 * guest's `rep insw/outsw` arrive as ioreqs with data_is_ptr: the
 * elements are moved between the device and the guest's frames, mapped
 * one at a time through mmu_update with the domain as foreigndom (its
 * p2m translates the gfn; a hole is not mapped and reads as all ones).
 * Owns: the per-domain device state, the ioreq page and guest frame
 * mappings, the disks' bounce buffers and requests. Must never: act on a
 * slot whose state is not IOREQ_READY, answer a slot twice, trust the
 * guest's addresses beyond the ranges it claimed (the hv sends only
 * those), move a data_is_ptr element across its guest page, or reuse a
 * bounce buffer a block request still holds.
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
#include <xlguest/blkdev.h>
#include "../xl/xldisk.h"
#include "ata.h"
#include "svc.h"
#include "uart16550.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ  4
#define IDE0_BASE 0x1f0
#define IDE0_CTL  0x3f6
#define IDE0_IRQ  14
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
    /* hda: the ATA disk (ata.c) and where its sectors are */
    int has_disk;
    struct ata_channel ata;
    struct ata_backend ata_be;
    struct blkdev *bdev;
    uint64_t first;             /* the region's first sector on bdev */
    int ata_irq;                /* the level last given to the PIC */
} doms[SVC_MAX_DOMS];

/* A disk's block request and bounce buffer, outside doms[] so that one
 * still in flight when its domain goes is left alone (gen tells its
 * answer is stale); a new disk in the slot waits for it. */
static struct dmreq {
    struct blkdev_req r;
    int busy;
    uint32_t gen;
    uint8_t *dest;              /* a read's: the channel's buffer */
    unsigned int nsect;
    int nop;                    /* a flush of a device without a cache: done at the next poll */
    uint8_t bounce[ATA_BUF_SECTORS * ATA_SECTOR] __attribute__((aligned(4096)));
} dm_req[SVC_MAX_DOMS];
static uint32_t dm_gen[SVC_MAX_DOMS];

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

/* An ISA IRQ line of the domain's PIC and I/O APIC, on a change from
 * *last (the level it was given last). */
static void set_isa_irq(uint16_t domid, unsigned int irq, int level, int *last)
{
    if (level == *last)
        return;
    struct xen_dm_op op = { .op = XEN_DMOP_set_isa_irq_level };
    op.u.set_isa_irq_level.isa_irq = (uint8_t)irq;
    op.u.set_isa_irq_level.level = (uint8_t)level;
    if (dm_op(domid, &op) == 0)
        *last = level;
}

/* The UART's IRQ line. */
static void update_irq(uint16_t domid, struct dmdom *m)
{
    set_isa_irq(domid, COM1_IRQ, uart_irq_level(&m->uart), &m->irq);
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
static char dm_guest_area[SVC_MAX_DOMS][4096] __attribute__((aligned(4096)));

/* Our page va now shows frame (an mfn with MMU_PT_UPDATE_NO_TRANSLATE,
 * else a gfn of domid's the hv translates through its p2m): 0, or the
 * hv's refusal. */
static long map_at(void *va, uint16_t domid, uint64_t how, uint64_t frame, int write)
{
    uint64_t ptr = pte_maddr(va);
    if (!ptr)
        return -XEN_EFAULT;
    mmu_update_t u = { .ptr = ptr | how, .val = (frame << 12) | (write ? 0x67 : 0x65) };
    long rc = HYPERVISOR_mmu_update(&u, 1, NULL, domid);
    if (rc)
        return rc;
    struct mmuext_op f = { .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = (unsigned long)va };
    HYPERVISOR_mmuext_op(&f, 1, NULL, DOMID_SELF);
    return 0;
}

/* Our own frame back at va. */
static void unmap_at(void *va)
{
    HYPERVISOR_update_va_mapping((unsigned long)va, (virt_to_mfn(va) << 12) | 0x67, UVMF_INVLPG);
}

/* The ioreq page, by machine frame. */
static void *map_mfn(uint16_t domid, uint64_t mfn)
{
    long rc = map_at(dm_map_area[domid], domid, MMU_PT_UPDATE_NO_TRANSLATE, mfn, 1);
    if (rc) {
        printk("dom0: d%u's ioreq page: mmu_update %ld\n", domid, rc);
        return NULL;
    }
    return dm_map_area[domid];
}

static void unmap_mfn(uint16_t domid)
{
    unmap_at(dm_map_area[domid]);
}

/* A frame of the guest's, by gfn, at a page of our own per domain; NULL
 * for a hole or a refused frame. */
static void *map_gfn(uint16_t domid, uint64_t gfn, int write)
{
    void *va = dm_guest_area[domid];
    return map_at(va, domid, MMU_NORMAL_PT_UPDATE, gfn, write) ? NULL : va;
}

static void unmap_gfn(uint16_t domid)
{
    unmap_at(dm_guest_area[domid]);
}

/* ---- the disk: ATA channel <-> dom0 block device ---- */

static void ata_irq_cb(void *ctx, int level)
{
    struct dmdom *m = ctx;
    set_isa_irq((uint16_t)(m - doms), IDE0_IRQ, level, &m->ata_irq);
}

static void ata_req_done(struct blkdev_req *r, int status)
{
    struct dmreq *q = r->priv;
    unsigned int domid = (unsigned int)(q - dm_req);
    q->busy = 0;
    if (q->gen != dm_gen[domid] || !doms[domid].has_disk)
        return; /* its domain went meanwhile */
    struct dmdom *m = &doms[domid];
    if (!status && r->op == BLKDEV_READ)
        memcpy(q->dest, q->bounce, (size_t)q->nsect * ATA_SECTOR);
    ata_io_done(&m->ata, status);
}

static int ata_io_cb(void *ctx, enum ata_io_op op, uint64_t lba, unsigned int nsect, uint8_t *buf)
{
    struct dmdom *m = ctx;
    unsigned int domid = (unsigned int)(m - doms);
    struct dmreq *q = &dm_req[domid];
    if (q->busy || nsect > ATA_BUF_SECTORS)
        return -XEN_EBUSY;
    if (op == ATA_IO_FLUSH && !blkdev_info(m->bdev)->has_flush) {
        /* no volatile cache below: nothing to flush (answered from dm_poll,
         * never from inside io) */
        q->gen = dm_gen[domid];
        q->busy = q->nop = 1;
        return 0;
    }
    memset(&q->r, 0, sizeof(q->r));
    q->r.op = op == ATA_IO_READ ? BLKDEV_READ : op == ATA_IO_WRITE ? BLKDEV_WRITE : BLKDEV_FLUSH;
    q->r.sector = m->first + lba;
    q->r.done = ata_req_done;
    q->r.priv = q;
    if (op == ATA_IO_WRITE)
        memcpy(q->bounce, buf, (size_t)nsect * ATA_SECTOR);
    for (unsigned int b = 0; op != ATA_IO_FLUSH && b < nsect * ATA_SECTOR; b += 4096) {
        uint32_t len = nsect * ATA_SECTOR - b;
        q->r.seg[q->r.nr_segs].maddr = virt_to_mfn(q->bounce + b) << 12;
        q->r.seg[q->r.nr_segs++].len = len > 4096 ? 4096 : len;
    }
    q->gen = dm_gen[domid];
    q->dest = buf;
    q->nsect = nsect;
    q->busy = 1;
    int rc = blkdev_submit(m->bdev, &q->r);
    if (rc)
        q->busy = 0;
    return rc;
}

static long claim_ports(uint16_t domid, struct dmdom *m, uint64_t start, uint64_t end)
{
    struct xen_dm_op op = { .op = XEN_DMOP_map_io_range_to_ioreq_server };
    op.u.map_io_range_to_ioreq_server.id = m->srv;
    op.u.map_io_range_to_ioreq_server.type = XEN_DMOP_IO_RANGE_PORT;
    op.u.map_io_range_to_ioreq_server.start = start;
    op.u.map_io_range_to_ioreq_server.end = end;
    return dm_op(domid, &op);
}

int dm_disk_attach(uint16_t domid, const struct xldisk *disk)
{
    if (!dm_attached(domid))
        return -XEN_EINVAL;
    struct dmdom *m = &doms[domid];
    if (strcmp(disk->vdev, "hda")) {
        printk("dom0: d%u: disk %s: the device model emulates hda only (the primary IDE master)\n",
               domid, disk->vdev);
        return -XEN_EINVAL;
    }
    if (m->has_disk) {
        printk("dom0: d%u: disk hda given twice\n", domid);
        return -XEN_EEXIST;
    }
    struct blkdev *b = blkdev_find(disk->t.dev);
    if (!b) {
        printk("dom0: d%u: hda: no block device %s in dom0\n", domid, disk->t.dev);
        return -XEN_ENODEV;
    }
    const struct blkdev_info *bi = blkdev_info(b);
    uint64_t dev_bytes = bi->nr_sectors * BLKDEV_SECTOR, off = disk->t.offset;
    uint64_t size = disk->t.size ? disk->t.size : (off < dev_bytes ? dev_bytes - off : 0);
    if (!size || off > dev_bytes || size > dev_bytes - off || bi->lblock_size != ATA_SECTOR) {
        printk("dom0: d%u: hda: %s does not hold the region, or its blocks are not 512 bytes\n",
               domid, disk->target);
        return -XEN_ERANGE;
    }
    m->bdev = b;
    m->first = off / ATA_SECTOR;
    m->ata_be = (struct ata_backend){ .ctx = m, .io = ata_io_cb, .irq = ata_irq_cb };
    ata_init(&m->ata, &m->ata_be, size / ATA_SECTOR, disk->readonly || bi->read_only,
             "XENOLITH HARDDISK", disk->target);
    long rc = claim_ports(domid, m, IDE0_BASE, IDE0_BASE + 7);
    if (!rc)
        rc = claim_ports(domid, m, IDE0_CTL, IDE0_CTL);
    if (rc) {
        printk("dom0: d%u: hda: claiming its ports: %ld\n", domid, rc);
        return (int)rc;
    }
    m->has_disk = 1;
    printk("dom0: d%u hda -> %s (%lu sectors%s): IDE primary master at %#x, IRQ %u\n", domid,
           disk->target, (unsigned long)(size / ATA_SECTOR),
           m->ata.readonly ? ", read-only" : "", IDE0_BASE, IDE0_IRQ);
    return 0;
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
    dm_gen[domid]++; /* a disk request still out is answered to nobody */
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

/* One register access of size bytes at port: the UART's or the disk's;
 * anything else reads all ones. */
static uint64_t port_read(struct dmdom *m, uint64_t port, unsigned int size)
{
    uint64_t data = 0;
    if (port >= COM1_BASE && port < COM1_BASE + 8) {
        unsigned int off = (unsigned int)(port - COM1_BASE);
        for (unsigned int i = 0; i < size && off + i < 8; i++)
            data |= (uint64_t)uart_read(&m->uart, off + i) << (8 * i);
        return data;
    }
    if (m->has_disk && port >= IDE0_BASE && port < IDE0_BASE + 8)
        return ata_read(&m->ata, (unsigned int)(port - IDE0_BASE), size);
    if (m->has_disk && port == IDE0_CTL)
        return ata_read(&m->ata, ATA_REG_CTL, size);
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void port_write(struct dmdom *m, uint64_t port, unsigned int size, uint64_t data)
{
    if (port >= COM1_BASE && port < COM1_BASE + 8) {
        unsigned int off = (unsigned int)(port - COM1_BASE);
        for (unsigned int i = 0; i < size && off + i < 8; i++)
            uart_write(&m->uart, off + i, (uint8_t)(data >> (8 * i)));
    } else if (m->has_disk && port >= IDE0_BASE && port < IDE0_BASE + 8) {
        ata_write(&m->ata, (unsigned int)(port - IDE0_BASE), size, (uint32_t)data);
    } else if (m->has_disk && port == IDE0_CTL) {
        ata_write(&m->ata, ATA_REG_CTL, size, (uint32_t)data);
    }
}

/* data_is_ptr: count elements between the port and guest memory from gpa
 * on (down when df). The hv keeps them in one guest page; elements
 * beyond it are not moved. */
static void serve_ptr(uint16_t domid, struct dmdom *m, const ioreq_t *p)
{
    unsigned int size = p->size;
    if (size != 1 && size != 2 && size != 4)
        return;
    uint8_t *page = map_gfn(domid, p->data >> 12, p->dir == IOREQ_READ);
    for (uint32_t i = 0; i < p->count; i++) {
        uint64_t a = p->df ? p->data - (uint64_t)i * size : p->data + (uint64_t)i * size;
        if ((a >> 12) != (p->data >> 12) || ((a & 4095) + size > 4096))
            break;
        if (p->dir == IOREQ_READ) {
            uint32_t v = (uint32_t)port_read(m, p->addr, size);
            if (page)
                memcpy(page + (a & 4095), &v, size);
        } else {
            uint32_t v = ~0u;
            if (page)
                memcpy(&v, page + (a & 4095), size);
            port_write(m, p->addr, size, v);
        }
    }
    if (page)
        unmap_gfn(domid);
}

/* Answer one slot (state READY): a port access on the UART or the disk. */
static void serve(uint16_t domid, struct dmdom *m, unsigned int vcpu)
{
    ioreq_t *p = &m->page[vcpu];
    if (ioreq_state_get(p) != STATE_IOREQ_READY)
        return;
    ioreq_state_set(p, STATE_IOREQ_INPROCESS);
    if (p->type == IOREQ_TYPE_PIO && p->data_is_ptr) {
        serve_ptr(domid, m, p);
    } else if (p->type == IOREQ_TYPE_PIO && p->size >= 1 && p->size <= 4) {
        if (p->dir == IOREQ_READ)
            p->data = port_read(m, p->addr, p->size);
        else
            port_write(m, p->addr, p->size, p->data);
    } else if (p->dir == IOREQ_READ && !p->data_is_ptr) {
        p->data = ~0ULL;
    }
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
    for (uint16_t d = 1; d < SVC_MAX_DOMS; d++) {
        struct dmreq *q = &dm_req[d];
        if (q->nop) {
            q->nop = q->busy = 0;
            if (q->gen == dm_gen[d] && doms[d].used && doms[d].has_disk)
                ata_io_done(&doms[d].ata, 0);
        }
        if (doms[d].used)
            poll_dom(d, &doms[d]);
    }
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
