/*
 * fake_hvm.c - the HVM layer as the host unit tests of hv/common see it:
 * no SVM or VT-x (hvm_funcs NULL), so every HVM entry point refuses and a
 * domain is never HVM. The HVM code itself is tested by test_p2m and
 * test_hvm_decode (pure) and by the hvm_* scenarios (in QEMU).
 * Must never: pretend an HVM operation succeeded.
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/hvm.h>

const struct hvm_ops *hvm_funcs;

int hvm_domain_init(struct domain *d, int pvh)
{
    (void)d, (void)pvh;
    return -XL_EINVAL;
}
void hvm_domain_destroy(struct domain *d)
{
    (void)d;
}
int hvm_map_gfn(struct domain *d, uint64_t gfn, uint64_t mfn, unsigned int flags)
{
    (void)d, (void)gfn, (void)mfn, (void)flags;
    return -XL_EINVAL;
}
int hvm_unmap_gfn(struct domain *d, uint64_t gfn, uint64_t *old_mfn)
{
    (void)d, (void)gfn, (void)old_mfn;
    return -XL_EINVAL;
}
int64_t hvm_gfn_to_mfn(const struct domain *d, uint64_t gfn)
{
    (void)d, (void)gfn;
    return -XL_EINVAL;
}
int hvm_add_to_physmap(struct domain *d, unsigned int space, uint64_t idx, uint64_t gpfn)
{
    (void)d, (void)space, (void)idx, (void)gpfn;
    return -XL_EINVAL;
}
int hvm_load_context(struct domain *d, const uint8_t *buf, uint32_t size)
{
    (void)d, (void)buf, (void)size;
    return -XL_EINVAL;
}
int hvm_translate_tagged(uint64_t cr3, uint64_t va, int write, uint64_t *maddr)
{
    (void)cr3, (void)va, (void)write, (void)maddr;
    return -XL_EFAULT;
}
int hvm_hypercall_allowed(uint64_t nr)
{
    (void)nr;
    return 0; /* never asked: no domain is HVM here */
}
long do_hvm_op(struct vcpu *v, uint64_t op, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5)
{
    (void)arg, (void)a3, (void)a4, (void)a5;
    HCSTAT_SUB(&v->domain->hcstat, hvm_op, op); /* counted as the real one does */
    return -XL_ENOSYS;
}
int hvm_domain_set_emulation(struct domain *d, uint32_t flags)
{
    (void)d, (void)flags;
    return -XL_EOPNOTSUPP;
}
/* No domain is HVM here, so no ioreq server exists and no port of the
 * hv's is ever allocated. */
void hvm_ioreq_port_notify(struct domain *d, unsigned int port)
{
    (void)d, (void)port;
}
int hvm_ioreq_resource(struct vcpu *caller, struct domain *d, uint32_t id, uint64_t frame,
                       uint64_t *mfn)
{
    (void)caller, (void)d, (void)id, (void)frame, (void)mfn;
    return -XL_EINVAL;
}
long do_dm_op(struct vcpu *v, uint64_t domid, uint64_t nr_bufs, uint64_t bufs, uint64_t a4,
              uint64_t a5)
{
    (void)v, (void)domid, (void)nr_bufs, (void)bufs, (void)a4, (void)a5;
    return -XL_EINVAL;
}
