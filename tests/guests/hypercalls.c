/*
 * hypercalls.c - a PV test kernel that checks the hypercall dispatcher and
 * guest-pointer validation from inside the guest: unknown hypercalls and
 * sub-ops return -ENOSYS, bad pointers return -EFAULT, bad values -EINVAL,
 * and the good calls still work afterwards. One line per check, then a
 * verdict; ends with poweroff if all passed, crash otherwise.
 */
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/kernel.h>

static int passed, failed;

static void check(const char *what, long got, long want)
{
    if (got == want) {
        passed++;
        printk("PASS %s\n", what);
    } else {
        failed++;
        printk("FAIL %s: got %ld, want %ld\n", what, got, want);
    }
}

#define HV_ADDR    0xffff830000000000UL /* inside the hypervisor's slots */
#define NONCANON   0x0000800000000000UL
#define UNMAPPED   0x1000UL

int guest_main(start_info_t *si)
{
    xen_extraversion_t extra;
    struct sched_shutdown bad_reason = { .reason = 99 };

    check("unknown hypercall 60 -> -ENOSYS", xen_hypercall5(60, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    check("unknown hypercall 63 -> -ENOSYS", xen_hypercall5(63, 1, 2, 3, 4, 5), -XEN_ENOSYS);
    check("hypercall 200 (beyond table) -> -ENOSYS", xen_raw_hypercall5(200, 0, 0, 0, 0, 0),
          -XEN_ENOSYS);
    check("hypercall ~0 -> -ENOSYS", xen_raw_hypercall5(~0UL, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    check("console_io unknown cmd -> -ENOSYS", HYPERVISOR_console_io(77, 0, NULL), -XEN_ENOSYS);
    check("sched_op unknown cmd -> -ENOSYS", HYPERVISOR_sched_op(99, NULL), -XEN_ENOSYS);
    check("xen_version unknown cmd -> -ENOSYS", HYPERVISOR_xen_version(999, NULL), -XEN_ENOSYS);
    check("console_io write from unmapped -> -EFAULT",
          HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)UNMAPPED), -XEN_EFAULT);
    check("console_io write from hv memory -> -EFAULT",
          HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)HV_ADDR), -XEN_EFAULT);
    check("console_io write from non-canonical -> -EFAULT",
          HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)NONCANON), -XEN_EFAULT);
    check("xen_version to unmapped -> -EFAULT",
          HYPERVISOR_xen_version(XENVER_extraversion, (void *)UNMAPPED), -XEN_EFAULT);
    check("xen_version into a read-only page table -> -EFAULT",
          HYPERVISOR_xen_version(XENVER_extraversion, (void *)si->pt_base), -XEN_EFAULT);
    check("sched_op shutdown from unmapped -> -EFAULT",
          HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)UNMAPPED), -XEN_EFAULT);
    check("sched_op shutdown reason 99 -> -EINVAL",
          HYPERVISOR_sched_op(SCHEDOP_shutdown, &bad_reason), -XEN_EINVAL);
    /* After all that, the good calls must still work. */
    check("xen_version version -> 4.17", HYPERVISOR_xen_version(XENVER_version, NULL),
          (4 << 16) | 17);
    check("xen_version extraversion -> 0", HYPERVISOR_xen_version(XENVER_extraversion, extra), 0);
    check("xen_version pagesize -> 4096", HYPERVISOR_xen_version(XENVER_pagesize, NULL), 4096);
    check("console_io write -> 0", HYPERVISOR_console_io(CONSOLEIO_write, 3, "ok\n"), 0);
    check("sched_op yield -> 0", HYPERVISOR_sched_op(SCHEDOP_yield, NULL), 0);
    printk("hypercalls: %d passed, %d failed\n", passed, failed);
    return failed ? SHUTDOWN_crash : SHUTDOWN_poweroff;
}
