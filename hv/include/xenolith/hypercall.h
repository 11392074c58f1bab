/*
 * hypercall.h - hypercall dispatch: one handler per Xen hypercall number.
 * Every handler has the same shape: copy in, check, act, copy out; it
 * returns a value for the guest's %rax (negative Xen errno on failure).
 */
#ifndef XENOLITH_HYPERCALL_H
#define XENOLITH_HYPERCALL_H

#include <stdint.h>
#include <xenolith/domain.h>

#define NR_HYPERCALLS 64

typedef long (*hypercall_fn)(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3,
                             uint64_t a4, uint64_t a5);

/* Run hypercall nr with the five x86_64 argument registers. */
long hypercall_dispatch(struct vcpu *v, uint64_t nr, uint64_t a1, uint64_t a2,
                        uint64_t a3, uint64_t a4, uint64_t a5);

long do_console_io(struct vcpu *v, uint64_t cmd, uint64_t count, uint64_t buf, uint64_t a4, uint64_t a5);
long do_xen_version(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5);
long do_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5);

/* Xen's 32-byte x86_64 hypercall page stubs, written into a guest page. */
void hypercall_page_fill(uint8_t *page);

/* Set by the arch layer at boot; reported by xen_version. */
extern const char *hv_cmdline;
extern const uint8_t *hv_build_id;
extern unsigned int hv_build_id_len;

#endif
