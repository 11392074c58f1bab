/*
 * test_pv_desc.c - host unit tests for pv_desc.c's update_descriptor
 * on a descriptor frame shared by several vcpus of a domain: on Xen each
 * vcpu maps the frame itself and sees the change; here each CPU runs a
 * copy, so every vcpu holding the frame (GDT or LDT) must recopy, and
 * one running on another CPU is kicked to do so at once.
 * Links: pv_desc.c mm.c page_type.c tlbflush.c page_alloc.c
 * guest_access.c m2p.c format.c. Mocks: fake machine memory, domains and SMP
 * hooks; pv_check_descriptor accepts everything (its own tests are in
 * test_pv_cpu.c), pv_inject_exception is never reached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include "fake_mem.h"

extern uint64_t fake_smp_kicked;
extern unsigned int fake_smp_cpu;

int pv_check_descriptor(uint64_t *desc)
{
    (void)desc;
    return 1;
}

int pv_inject_exception(struct vcpu *v, struct cpu_regs *regs, unsigned int vector,
                        uint32_t error_code, uint64_t cr2)
{
    (void)v; (void)regs; (void)vector; (void)error_code; (void)cr2;
    fail_msg("no exception is injected in these tests");
    return 0;
}

/* mmu.c (not linked): no domain is released here */
void mm_release_domain(struct domain *dom)
{
    (void)dom;
}
void mm_release_vcpus(struct domain *dom)
{
    (void)dom;
}
int mm_release_pins(struct domain *dom, uint64_t *cursor)
{
    (void)dom;
    (void)cursor;
    return 0;
}

enum { A = 1, NFRAMES = 256, FIRST_FREE = 16 };
static struct domain *d;
static uint64_t gdt_a, gdt_b;

static uint64_t frame(void)
{
    int64_t m = mm_alloc_frame(A);
    assert_true(m >= FIRST_FREE);
    memset(mfn_to_virt((uint64_t)m), 0, PAGE_SIZE);
    return (uint64_t)m;
}

static int setup(void **state)
{
    (void)state;
    fake_mem_setup(NFRAMES, FIRST_FREE);
    memset(domains, 0, sizeof(domains));
    d = &domains[A];
    d->domid = A;
    d->state = DOM_RUNNING;
    d->max_vcpus = 3;
    for (unsigned int i = 0; i < d->max_vcpus; i++) {
        d->vcpus[i].domain = d;
        d->vcpus[i].id = i;
    }
    fake_smp_kicked = 0;
    fake_smp_cpu = 0;
    gdt_a = frame();
    gdt_b = frame();
    /* vcpus 0 and 1 share GDT frame a; vcpu 2 has its own, b */
    unsigned long fa[1] = { gdt_a }, fb[1] = { gdt_b };
    assert_int_equal(pv_set_gdt(&d->vcpus[0], fa, 512), 0);
    assert_int_equal(pv_set_gdt(&d->vcpus[1], fa, 512), 0);
    assert_int_equal(pv_set_gdt(&d->vcpus[2], fb, 512), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        pv_destroy_gdt(&d->vcpus[i]);
    fake_mem_teardown();
    return 0;
}

static long update(struct vcpu *v, uint64_t mfn, unsigned int slot, uint64_t desc)
{
    return do_update_descriptor(v, (mfn << PAGE_SHIFT) + slot * 8, desc, 0, 0, 0);
}

static void test_every_holder_recopies(void **state)
{
    (void)state;
    struct vcpu *v0 = &d->vcpus[0], *v1 = &d->vcpus[1], *v2 = &d->vcpus[2];
    uint64_t g0 = v0->pv.gdt_gen, g1 = v1->pv.gdt_gen, g2 = v2->pv.gdt_gen;
    /* vcpu 1 runs on CPU 2 while vcpu 0 (CPU 0) changes their frame */
    v1->running = 1;
    v1->processor = 2;
    assert_int_equal(update(v0, gdt_a, 20, 0x00cf9a000000ffffULL), 0);
    assert_int_equal(((uint64_t *)mfn_to_virt(gdt_a))[20], 0x00cf9a000000ffffULL);
    assert_true(v0->pv.gdt_gen != g0);
    assert_true(v1->pv.gdt_gen != g1); /* was: only the caller's copy refreshed */
    assert_int_equal(v2->pv.gdt_gen, g2); /* a vcpu without the frame: untouched */
    assert_int_equal(fake_smp_kicked, 1ULL << 2);
}

static void test_other_frame_and_idle_holder(void **state)
{
    (void)state;
    struct vcpu *v0 = &d->vcpus[0], *v1 = &d->vcpus[1], *v2 = &d->vcpus[2];
    uint64_t g0 = v0->pv.gdt_gen, g1 = v1->pv.gdt_gen, g2 = v2->pv.gdt_gen;
    /* vcpu 0 changes vcpu 2's frame: vcpu 2 (not running) recopies when
     * it next runs; no CPU is kicked; vcpus 0 and 1 keep their copies */
    assert_int_equal(update(v0, gdt_b, 3, 0x00cf92000000ffffULL), 0);
    assert_true(v2->pv.gdt_gen != g2);
    assert_int_equal(v0->pv.gdt_gen, g0);
    assert_int_equal(v1->pv.gdt_gen, g1);
    assert_int_equal(fake_smp_kicked, 0);
    /* an ordinary writable frame: written, nobody recopies */
    uint64_t plain = frame();
    assert_int_equal(update(v0, plain, 0, 0x00cf92000000ffffULL), 0);
    assert_int_equal(v0->pv.gdt_gen, g0);
    /* misaligned, or not the caller's frame: -EINVAL, nothing changes */
    assert_int_equal(do_update_descriptor(v0, (gdt_a << PAGE_SHIFT) + 4, 0, 0, 0, 0),
                     -XL_EINVAL);
    assert_int_equal(update(v0, 2 /* hv-owned */, 0, 0), -XL_EINVAL);
    assert_int_equal(v1->pv.gdt_gen, g1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_holder_recopies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_frame_and_idle_holder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
