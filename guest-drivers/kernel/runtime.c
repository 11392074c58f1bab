/*
 * runtime.c - the C side of the guest kit's PV kernel runtime: start of
 * day, console output (console_io, or the domU console ring when there
 * is one), command-line lookup.
 * Runs in the guest kernel (ring 3 under a PV hypervisor; ring 0 when
 * booted as PVH or HVM, pvh.c, which joins kernel_start with a start_info of its
 * making). Must never: execute a privileged instruction; every service is
 * a hypercall.
 */
#include <stdarg.h>
#include <xenolith/lib.h>
#include <xlguest/console_ring.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>
#include <xlguest/platform.h>

start_info_t *start_info;
shared_info_t *guest_shared_info;
/* A page of our own image that is remapped onto the shared_info frame. */
static char shared_info_va[4096] __attribute__((aligned(4096)));
extern char _end[];

#define GUEST_PTE_FLAGS 0x67ULL /* present, writable, user, accessed, dirty */

uint64_t virt_to_mfn(const void *va)
{
    uint64_t pfn = ((uint64_t)va - GUEST_VIRT_BASE) >> 12;
    if (xl_is_pvh) /* frames are guest frames */
        return pfn < start_info->nr_pages || (const char *)va < _end ? pfn : ~0ULL;
    return pfn < start_info->nr_pages ? ((const uint64_t *)start_info->mfn_list)[pfn] : ~0ULL;
}

/* Map shared_info over shared_info_va; leaves guest_shared_info NULL if
 * the hypervisor refuses. PVH: the page's gpfn becomes shared_info
 * (XENMEM_add_to_physmap; Xen frees the RAM page that was there). */
static void map_shared_info(start_info_t *si)
{
    if (xl_is_pvh) {
        struct xen_add_to_physmap xatp = {
            .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0,
            .gpfn = xl_pvh_virt_to_phys(shared_info_va) >> 12,
        };
        if (HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp) == 0) {
            guest_shared_info = (shared_info_t *)shared_info_va;
            /* events masked, as a PV vCPU starts (platform.h) */
            guest_shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
            si->shared_info = xl_pvh_virt_to_phys(shared_info_va);
        }
        return;
    }
    if (HYPERVISOR_update_va_mapping((unsigned long)shared_info_va,
                                     si->shared_info | GUEST_PTE_FLAGS, UVMF_INVLPG) == 0)
        guest_shared_info = (shared_info_t *)shared_info_va;
}

/* A domU with a console ring (console_ring.c) writes there; dom0 and
 * domains without one use console_io. */
void console_write(const char *s, size_t len)
{
    if (console_ring_active()) {
        console_ring_write(s, len);
        return;
    }
    HYPERVISOR_console_io(CONSOLEIO_write, (int)len, s);
}

void printk(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

const char *cmdline_get(const start_info_t *si, const char *key, char *buf, size_t len)
{
    const char *c = (const char *)si->cmd_line;
    size_t kl = strlen(key);
    for (size_t i = 0; c[i]; i++) {
        if ((i == 0 || c[i - 1] == ' ') && !strncmp(c + i, key, kl) && c[i + kl] == '=') {
            size_t n = 0;
            for (const char *v = c + i + kl + 1; *v && *v != ' ' && n + 1 < len; v++)
                buf[n++] = *v;
            buf[n] = '\0';
            return buf;
        }
    }
    return NULL;
}

void kernel_start(start_info_t *si)
{
    start_info = si;
    map_shared_info(si);
    console_ring_init(si);
    if (xl_is_pvh)
        printk("kit: %s guest (%s), shared_info %s, free RAM pfns %#lx-%#lx\n", xl_boot_mode(),
               (si->flags & SIF_INITDOMAIN) ? "dom0" : "domU",
               guest_shared_info ? "at its gpfn" : "refused",
               (unsigned long)xl_pvh_free_start_pfn, (unsigned long)xl_pvh_free_end_pfn);
    int reason = guest_main(si);
    xen_shutdown((unsigned int)reason);
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL); /* shutdown refused: nothing left to do */
}
