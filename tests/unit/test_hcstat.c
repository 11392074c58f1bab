/*
 * test_hcstat.c - host unit tests for hypercall statistics (cmocka,
 * ASan/UBSan): hc_unimplemented logs once per domain and (hypercall,
 * sub-op) pair, with sub-ops >= 63 and hypercalls >= 64 collapsed into
 * one bit each, and always returns -ENOSYS; the hypercall and sub-op
 * names come from Xen's header constants; the counters' rows (HCSTAT_SUB
 * clamps to the row's last slot), the top-N listing and its names, the
 * destroy summary line. (Counting through the dispatcher and the sysctl:
 * test_domctl.)
 * Links: hv/common/hcstat.c, hv/shared/hcstat.c, hv/shared/format.c.
 * Mocks: printk (records each line).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/hcstat.h>
#include <xenolith/hypercall.h>
#include <xenolith/lib.h>
#include <xen/memory.h>
#include <xen/grant_table.h>

/* ---- mocks ---- */
static char lines[32][512];
static unsigned int nlines;

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (nlines < 32)
        xl_vsnprintf(lines[nlines], sizeof(lines[0]), fmt, ap);
    nlines++;
    va_end(ap);
}
void panic(const char *fmt, ...) { fail_msg("panic: %s", fmt); abort(); }

static struct domain doms[2];

static int setup(void **state)
{
    (void)state;
    memset(doms, 0, sizeof(doms));
    doms[0].domid = 0;
    doms[1].domid = 1;
    nlines = 0;
    memset(lines, 0, sizeof(lines));
    return 0;
}

/* ---- hc_unimplemented ---- */

static void test_log_once_per_pair(void **state)
{
    (void)state;
    struct domain *d = &doms[1];
    assert_int_equal(hc_unimplemented(d, __HYPERVISOR_memory_op, XENMEM_exchange), -XL_ENOSYS);
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "d1: memory_op 11 -ENOSYS (exchange)\n");
    /* the same pair again: quiet, still -ENOSYS */
    for (int i = 0; i < 100; i++)
        assert_int_equal(hc_unimplemented(d, __HYPERVISOR_memory_op, XENMEM_exchange),
                         -XL_ENOSYS);
    assert_int_equal(nlines, 1);
    /* another sub-op of the same hypercall, the same sub-op of another */
    hc_unimplemented(d, __HYPERVISOR_memory_op, XENMEM_machine_memory_map);
    hc_unimplemented(d, __HYPERVISOR_grant_table_op, GNTTABOP_transfer);
    assert_int_equal(nlines, 3);
    assert_string_equal(lines[1], "d1: memory_op 10 -ENOSYS (machine_memory_map)\n");
    assert_string_equal(lines[2], "d1: grant_table_op 4 -ENOSYS (transfer)\n");
    /* another domain has its own bits */
    hc_unimplemented(&doms[0], __HYPERVISOR_memory_op, XENMEM_exchange);
    assert_int_equal(nlines, 4);
    assert_string_equal(lines[3], "d0: memory_op 11 -ENOSYS (exchange)\n");
}

static void test_no_subop_and_unknown_names(void **state)
{
    (void)state;
    struct domain *d = &doms[1];
    hc_unimplemented(d, __HYPERVISOR_set_debugreg, HCSTAT_NO_SUBOP);
    hc_unimplemented(d, __HYPERVISOR_set_debugreg, HCSTAT_NO_SUBOP);
    hc_unimplemented(d, __HYPERVISOR_memory_op, 60); /* no such XENMEM_ */
    hc_unimplemented(d, 47, HCSTAT_NO_SUBOP);         /* no such hypercall */
    hc_unimplemented(d, __HYPERVISOR_hvm_op, 0);
    hc_unimplemented(d, __HYPERVISOR_platform_op, 55); /* XENPF_get_cpuinfo */
    assert_int_equal(nlines, 5);
    assert_string_equal(lines[0], "d1: set_debugreg -ENOSYS\n");
    assert_string_equal(lines[1], "d1: memory_op 60 -ENOSYS\n");
    assert_string_equal(lines[2], "d1: hypercall 47 -ENOSYS\n");
    assert_string_equal(lines[3], "d1: hvm_op 0 -ENOSYS (set_param)\n");
    assert_string_equal(lines[4], "d1: platform_op 55 -ENOSYS (get_cpuinfo)\n");
}

static void test_collapsed_bits(void **state)
{
    (void)state;
    struct domain *d = &doms[1];
    /* sub-ops 63 and above share one bit: only the first is logged */
    hc_unimplemented(d, __HYPERVISOR_domctl, 63);
    hc_unimplemented(d, __HYPERVISOR_domctl, 85);
    hc_unimplemented(d, __HYPERVISOR_domctl, 0xffffffffu - 1);
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "d1: domctl 63 -ENOSYS (getvcpuextstate)\n");
    hc_unimplemented(d, __HYPERVISOR_domctl, 62);
    assert_int_equal(nlines, 2);
    /* hypercall numbers 64 and above share one row of bits */
    hc_unimplemented(d, 64, HCSTAT_NO_SUBOP);
    hc_unimplemented(d, 1000, HCSTAT_NO_SUBOP);
    hc_unimplemented(d, 0xffffffffu, HCSTAT_NO_SUBOP);
    assert_int_equal(nlines, 3);
    assert_string_equal(lines[2], "d1: hypercall 64 -ENOSYS\n");
    /* a flood of distinct pairs prints at most 64 lines per hypercall */
    nlines = 0;
    for (unsigned int op = 0; op < 100000; op++)
        hc_unimplemented(d, __HYPERVISOR_physdev_op, op);
    assert_int_equal(nlines, 64);
}

/* ---- names ---- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(hcstat_call_name(__HYPERVISOR_mmu_update), "mmu_update");
    assert_string_equal(hcstat_call_name(__HYPERVISOR_event_channel_op), "event_channel_op");
    assert_string_equal(hcstat_call_name(48), "mca");
    assert_null(hcstat_call_name(11));
    assert_null(hcstat_call_name(64));
    assert_null(hcstat_call_name(0xffffffffu));
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_memory_op, XENMEM_populate_physmap),
                        "populate_physmap");
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_mmuext_op, MMUEXT_PIN_L4_TABLE),
                        "PIN_L4_TABLE");
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_mmu_update, MMU_MACHPHYS_UPDATE),
                        "MACHPHYS_UPDATE");
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_domctl, 86), "set_paging_mempool_size");
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_sysctl, XENOLITH_SYSCTL_hypercall_stats),
                        "hypercall_stats");
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_event_channel_op, 14), "reset_cont");
    assert_string_equal(hcstat_subop_name(__HYPERVISOR_sched_op, SCHEDOP_poll), "poll");
    assert_null(hcstat_subop_name(__HYPERVISOR_memory_op, 8)); /* removed from 4.17 */
    assert_null(hcstat_subop_name(__HYPERVISOR_iret, 0));      /* no sub-ops */
}

/* Every row is longer than its highest named sub-op, so the "and above"
 * slot never hides a named one (domctl's gdbsx ops, 1000+, excepted). */
static void test_rows_cover_names(void **state)
{
    (void)state;
    unsigned int base, slots, covered = 0;
    static uint8_t owner[HCSTAT_SUBS];
    memset(owner, 0, sizeof(owner));
    for (unsigned int hc = 0; hc < HCSTAT_CALLS; hc++) {
        if (!hcstat_row(hc, &base, &slots))
            continue;
        assert_true(base + slots <= HCSTAT_SUBS);
        for (unsigned int s = 0; s < slots; s++) /* rows do not overlap */
            assert_int_equal(owner[base + s]++, 0);
        covered += slots;
        for (unsigned int op = slots - 1; op < 1000; op++)
            if (hcstat_subop_name(hc, op))
                fail_msg("%s sub-op %u (%s) is past the row's %u slots",
                         hcstat_call_name(hc), op, hcstat_subop_name(hc, op), slots);
    }
    assert_int_equal(covered, HCSTAT_SUBS);
    assert_false(hcstat_row(__HYPERVISOR_mmu_update, &base, &slots));
    assert_true(hcstat_row(__HYPERVISOR_hvm_op, &base, &slots));
    assert_int_equal(base, HCS_BASE_hvm_op);
}

/* ---- counters and listing ---- */

static void test_sub_clamps(void **state)
{
    (void)state;
    static struct hcstat_counts c;
    memset(&c, 0, sizeof(c));
    HCSTAT_SUB(&c, memory_op, XENMEM_populate_physmap);
    HCSTAT_SUB(&c, memory_op, 31);
    HCSTAT_SUB(&c, memory_op, 1000);
    HCSTAT_SUB(&c, memory_op, 1ULL << 32); /* not truncated to 0 */
    HCSTAT_SUB(&c, vcpu_op, -1);           /* an int cmd < 0 */
    HCSTAT_SUB(&c, callback_op, 1);
    assert_int_equal(c.sub[HCS_BASE_memory_op + XENMEM_populate_physmap], 1);
    assert_int_equal(c.sub[HCS_BASE_memory_op], 0);
    assert_int_equal(c.sub[HCS_LAST_memory_op], 3);
    assert_int_equal(c.sub[HCS_LAST_vcpu_op], 1);
    assert_int_equal(c.sub[HCS_BASE_callback_op + 1], 1);
    hcstat_count_sub(&c, __HYPERVISOR_sched_op, SCHEDOP_poll);
    hcstat_count_sub(&c, __HYPERVISOR_sched_op, 99);
    hcstat_count_sub(&c, __HYPERVISOR_mmu_update, 0); /* no row: nothing */
    assert_int_equal(c.sub[HCS_BASE_sched_op + SCHEDOP_poll], 1);
    assert_int_equal(c.sub[HCS_LAST_sched_op], 1);
    uint64_t sum = 0;
    for (unsigned int i = 0; i < HCSTAT_SUBS; i++)
        sum += c.sub[i];
    assert_int_equal(sum, 8);
}

static void test_top_and_names(void **state)
{
    (void)state;
    static struct hcstat_counts c;
    memset(&c, 0, sizeof(c));
    c.calls[__HYPERVISOR_mmu_update] = 5000;
    c.calls[__HYPERVISOR_memory_op] = 5;
    c.sub[HCS_BASE_memory_op + XENMEM_populate_physmap] = 3;
    c.sub[HCS_LAST_memory_op] = 1;           /* "31+" */
    c.calls[__HYPERVISOR_mmuext_op] = 2;      /* two calls, ... */
    c.sub[HCS_BASE_mmuext_op + MMUEXT_PIN_L4_TABLE] = 1;
    c.sub[HCS_BASE_mmuext_op + MMUEXT_TLB_FLUSH_LOCAL] = 7; /* ... eight ops */
    c.calls[HCSTAT_OTHER_CALL] = 4;
    c.calls[47] = 2;
    c.calls[__HYPERVISOR_domctl] = 1;
    c.sub[HCS_BASE_domctl + 70] = 1; /* removed from 4.17: by number */
    assert_int_equal(hcstat_total(&c), 5014);

    struct hcstat_leaf all[16];
    char name[48], subop[40];
    assert_int_equal(hcstat_top(&c, all, 16), 9);
    const char *want[] = { "mmu_update 5000", "mmuext_op/TLB_FLUSH_LOCAL 7", "hypercall 64+ 4",
                           "memory_op/populate_physmap 3", "hypercall 47 2",
                           "memory_op/31+ 1", "memory_op/? 1", "mmuext_op/PIN_L4_TABLE 1",
                           "domctl/70 1" };
    for (unsigned int i = 0; i < 9; i++) {
        char line[80];
        hcstat_leaf_name(&all[i], '/', name, sizeof(name));
        snprintf(line, sizeof(line), "%s %lu", name, (unsigned long)all[i].count);
        assert_string_equal(line, want[i]);
    }
    /* ties: lower hypercall first (memory_op 12 < mmuext_op 26 < domctl
     * 36), in a row by sub-op, the unread last; top 3 of 9 */
    struct hcstat_leaf top[3];
    assert_int_equal(hcstat_top(&c, top, 3), 9);
    assert_memory_equal(top, all, sizeof(top));
    assert_int_equal(hcstat_top(&c, top, 0), 9);
    /* the sub-op column alone, and separators */
    hcstat_leaf_subop(&all[0], subop, sizeof(subop));
    assert_string_equal(subop, "");
    hcstat_leaf_subop(&all[3], subop, sizeof(subop));
    assert_string_equal(subop, "populate_physmap");
    hcstat_leaf_name(&all[3], ' ', name, sizeof(name));
    assert_string_equal(name, "memory_op populate_physmap");
    /* truncation: NUL-terminated, full length returned */
    char tiny[8];
    assert_int_equal(hcstat_leaf_name(&all[3], '/', tiny, sizeof(tiny)),
                     (int)strlen("memory_op/populate_physmap"));
    assert_string_equal(tiny, "memory_");
    assert_int_equal(hcstat_leaf_name(&all[3], '/', tiny, 0), 26);
    memset(&c, 0, sizeof(c));
    assert_int_equal(hcstat_top(&c, all, 16), 0);
}

static void test_summary_line(void **state)
{
    (void)state;
    struct domain *d = &doms[1];
    d->hcstat.calls[__HYPERVISOR_mmu_update] = 12;
    for (unsigned int i = 0; i < 10; i++) { /* more leaves than the 8 shown */
        d->hcstat.calls[__HYPERVISOR_event_channel_op] += i + 1;
        d->hcstat.sub[HCS_BASE_event_channel_op + i] = i + 1;
    }
    hcstat_print_summary(d);
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "d1 hypercalls: 67 total; mmu_update 12, "
                                  "event_channel_op/unmask 10, event_channel_op/bind_vcpu 9, event_channel_op/bind_ipi 8, "
                                  "event_channel_op/alloc_unbound 7, event_channel_op/status 6, "
                                  "event_channel_op/send 5, event_channel_op/close 4\n");
    memset(&d->hcstat, 0, sizeof(d->hcstat));
    hcstat_print_summary(d);
    assert_string_equal(lines[1], "d1 hypercalls: 0 total\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_log_once_per_pair, setup),
        cmocka_unit_test_setup(test_no_subop_and_unknown_names, setup),
        cmocka_unit_test_setup(test_collapsed_bits, setup),
        cmocka_unit_test_setup(test_names, setup),
        cmocka_unit_test_setup(test_rows_cover_names, setup),
        cmocka_unit_test_setup(test_sub_clamps, setup),
        cmocka_unit_test_setup(test_top_and_names, setup),
        cmocka_unit_test_setup(test_summary_line, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
