/*
 * ioreq.h - I/O request servers (Xen's ioreq interface, xen/hvm/ioreq.h
 * and xen/hvm/dm_op.h): a device model in another domain (dom0's, in
 * toolstack/dom0svc) claims port and MMIO ranges of an HVM domain; a
 * guest access there is sent to it as an ioreq_t in a shared page and
 * the vcpu waits until the answer is back.
 * Owns: struct hvm_ioreq_server, the per-vcpu wait state.
 * Must never: let the guest see or reach the ioreq page (it is never in
 * the guest's p2m), or trust the device model's page beyond one answer.
 */
#ifndef XENOLITH_IOREQ_H
#define XENOLITH_IOREQ_H

#include <stdint.h>
#include <xenolith/hvm_decode.h>

struct domain;
struct vcpu;

#define HVM_MAX_IOREQ_SERVERS 8   /* Xen's MAX_NR_IOREQ_SERVERS */
#define HVM_IOREQ_MAX_RANGES  16  /* of each kind, per server */

struct hvm_io_range {
    uint64_t s, e;                /* inclusive, as dm_op gives them */
};

struct hvm_ioreq_server {
    uint8_t used, enabled;
    uint16_t emulator;            /* the device model's domain */
    uint64_t mfn;                 /* the ioreq page: the target's, never in its p2m */
    uint8_t nr_port, nr_mmio;
    struct hvm_io_range port[HVM_IOREQ_MAX_RANGES];
    struct hvm_io_range mmio[HVM_IOREQ_MAX_RANGES];
    uint16_t vcpu_port[8];        /* per vcpu (MAX_VCPUS): the target's end, the hv's */
};

/* A vcpu's access in flight at a device model (hvm_vcpu.io). */
struct hvm_io_wait {
    uint8_t wait;                 /* an ioreq is out: the vcpu runs when it is answered */
    uint8_t discard;              /* the vcpu was reset (INIT) meanwhile: drop the answer */
    uint8_t srv;
    uint8_t mmio;                 /* 0: port I/O (rax), 1: an MMIO instruction (insn) */
    uint8_t read;
    uint8_t size;
    unsigned int skip;            /* instruction length to step over when done */
    struct hvm_mmio_insn insn;
    /* ins/outs (hvm.c's hvm_string_io_done finishes them) */
    uint8_t string;
    uint8_t ptr;                  /* data_is_ptr: the device model moved the elements */
    uint8_t rep, asize, df;       /* rep prefix, address size (2, 4, 8), direction */
    uint32_t count;               /* elements in this request */
    uint64_t va;                  /* one element by value (ins): where it goes */
};

/* A string access (ins/outs) for hvm_ioreq_port_string. */
struct hvm_string_io {
    uint8_t rep, asize, df;
    uint32_t count;               /* elements (ptr: all within one guest page) */
    int ptr;                      /* 1: data is the gpa of the first element */
    uint64_t data;                /* ptr ? gpa : the value (outs) */
    uint64_t va;                  /* !ptr and ins: the element's linear address */
};

/* Is there a server for this access? If so the request is sent and the
 * vcpu waits (1); 0: nobody claims it. */
int hvm_ioreq_port(struct vcpu *v, uint16_t port, unsigned int size, int read, uint64_t data,
                   unsigned int insn_len);
int hvm_ioreq_mmio(struct vcpu *v, uint64_t gpa, const struct hvm_mmio_insn *in, uint64_t data);
/* ins/outs: count elements at once with data_is_ptr (Xen's protocol: the
 * device model reads or writes guest memory from the gpa on, downwards
 * when df), or one by value. */
int hvm_ioreq_port_string(struct vcpu *v, uint16_t port, unsigned int size, int read,
                          const struct hvm_string_io *s, unsigned int insn_len);
/* Before each entry of a waiting vcpu: 1 when the answer has come and
 * was completed into its registers (or the server went away), 0 while
 * it must wait (v->blocked is set again). */
int hvm_ioreq_complete(struct vcpu *v);
/* event_channel.c: the device model sent on a port the hv consumes. */
void hvm_ioreq_port_notify(struct domain *d, unsigned int port);
/* Domain teardown: every server goes. */
void hvm_ioreq_destroy_all(struct domain *d);
/* XENMEM_acquire_resource, XENMEM_resource_ioreq_server: the frame's mfn. */
int hvm_ioreq_resource(struct vcpu *caller, struct domain *d, uint32_t id, uint64_t frame,
                       uint64_t *mfn);

/* hypercall: __HYPERVISOR_dm_op */
long do_dm_op(struct vcpu *v, uint64_t domid, uint64_t nr_bufs, uint64_t bufs, uint64_t a4,
              uint64_t a5);

#endif
