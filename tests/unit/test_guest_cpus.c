/*
 * test_guest_cpus.c - host unit tests for the p2m shootdown
 * (hv/arch/x86/hvm/guest_cpus.c): after a p2m entry of a domain goes, no
 * other CPU may still be inside that domain's guest when
 * hvm_p2m_shootdown returns. Other CPUs are threads: one "in the guest"
 * leaves only some time after it is kicked, as a CPU takes the
 * interrupt's exit, so a shootdown that kicked without waiting fails
 * here every time. The same wait for one CPU (a vcpu stopped by INIT).
 * Also: CPUs in another domain's guest or in none are
 * neither kicked nor waited for, the caller's own CPU is skipped, and a
 * CPU that left and came back in counts as having left.
 * Links: hv/arch/x86/hvm/guest_cpus.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include <xenolith/hvm_guest_cpus.h>

static int kicked[HVM_GUEST_CPUS_MAX];
static int spins;

void arch_kick_cpu(unsigned int cpu)
{
    __atomic_add_fetch(&kicked[cpu], 1, __ATOMIC_SEQ_CST);
}

void arch_spin_relax(void)
{
    spins++;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int dom_a, dom_b; /* two domains: only their addresses matter */

struct cpu_thread {
    unsigned int cpu;
    long delay_ms;   /* from the kick to the exit */
    int reenter;     /* after the exit, into the same guest again */
    int left;        /* set right before hvm_guest_left */
};

static void *cpu_in_guest(void *arg)
{
    struct cpu_thread *t = arg;
    while (!__atomic_load_n(&kicked[t->cpu], __ATOMIC_SEQ_CST))
        sleep_ms(1);
    sleep_ms(t->delay_ms);
    __atomic_store_n(&t->left, 1, __ATOMIC_SEQ_CST);
    hvm_guest_left(t->cpu);
    if (t->reenter)
        hvm_guest_entering(t->cpu, &dom_a);
    return NULL;
}

static int reset(void **state)
{
    (void)state;
    for (unsigned int c = 0; c < HVM_GUEST_CPUS_MAX; c++) {
        kicked[c] = 0;
        hvm_guest_left(c);
    }
    spins = 0;
    return 0;
}

/* CPU 1 in dom_a's guest exits 100 ms after its kick: the shootdown from
 * CPU 0 returns only after that exit. */
static void test_waits_for_the_exit(void **state)
{
    (void)state;
    struct cpu_thread t = { .cpu = 1, .delay_ms = 100 };
    hvm_guest_entering(1, &dom_a);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cpu_in_guest, &t), 0);
    assert_int_equal(hvm_p2m_shootdown(&dom_a, 0, 4), 1);
    assert_int_equal(__atomic_load_n(&t.left, __ATOMIC_SEQ_CST), 1);
    assert_int_equal(kicked[1], 1);
    pthread_join(th, NULL);
}

/* Several CPUs in the guest: every one is waited for. */
static void test_waits_for_every_cpu(void **state)
{
    (void)state;
    struct cpu_thread t[3] = { { .cpu = 1, .delay_ms = 30 }, { .cpu = 2, .delay_ms = 60 },
                               { .cpu = 5, .delay_ms = 10 } };
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        hvm_guest_entering(t[i].cpu, &dom_a);
        assert_int_equal(pthread_create(&th[i], NULL, cpu_in_guest, &t[i]), 0);
    }
    assert_int_equal(hvm_p2m_shootdown(&dom_a, 0, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(__atomic_load_n(&t[i].left, __ATOMIC_SEQ_CST), 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}

/* A CPU in another domain's guest, one in none and the caller's own:
 * no kick, no wait. */
static void test_others_left_alone(void **state)
{
    (void)state;
    hvm_guest_entering(1, &dom_b);
    hvm_guest_entering(0, &dom_a); /* the caller itself */
    assert_int_equal(hvm_p2m_shootdown(&dom_a, 0, 4), 0);
    assert_int_equal(kicked[0] + kicked[1] + kicked[2] + kicked[3], 0);
    assert_int_equal(spins, 0);
}

/* A CPU that left and entered the same guest again (it read the new
 * p2m_gen on its way in and flushed): the wait ends on its exit count. */
static void test_reentry_counts_as_left(void **state)
{
    (void)state;
    struct cpu_thread t = { .cpu = 3, .delay_ms = 20, .reenter = 1 };
    hvm_guest_entering(3, &dom_a);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cpu_in_guest, &t), 0);
    assert_int_equal(hvm_p2m_shootdown(&dom_a, 0, 4), 1);
    assert_int_equal(__atomic_load_n(&t.left, __ATOMIC_SEQ_CST), 1);
    pthread_join(th, NULL);
}

/* One vcpu stopped synchronously (INIT): its CPU is waited for; the
 * caller's own CPU and a CPU in another guest are not. */
static void test_kick_wait_one(void **state)
{
    (void)state;
    struct cpu_thread t = { .cpu = 2, .delay_ms = 50 };
    hvm_guest_entering(2, &dom_a);
    hvm_guest_entering(3, &dom_b);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cpu_in_guest, &t), 0);
    assert_int_equal(hvm_cpu_kick_wait(&dom_a, 3, 0), 0);
    assert_int_equal(hvm_cpu_kick_wait(&dom_a, 2, 2), 0); /* itself */
    assert_int_equal(hvm_cpu_kick_wait(&dom_a, 2, 0), 1);
    assert_int_equal(__atomic_load_n(&t.left, __ATOMIC_SEQ_CST), 1);
    assert_int_equal(kicked[3], 0);
    pthread_join(th, NULL);
}

/* CPUs past the table's end are never looked at. */
static void test_cpu_range(void **state)
{
    (void)state;
    hvm_guest_entering(HVM_GUEST_CPUS_MAX + 3, &dom_a); /* ignored */
    hvm_guest_left(HVM_GUEST_CPUS_MAX + 3);
    assert_int_equal(hvm_p2m_shootdown(&dom_a, 0, HVM_GUEST_CPUS_MAX + 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_waits_for_the_exit, reset),
        cmocka_unit_test_setup(test_waits_for_every_cpu, reset),
        cmocka_unit_test_setup(test_others_left_alone, reset),
        cmocka_unit_test_setup(test_reentry_counts_as_left, reset),
        cmocka_unit_test_setup(test_kick_wait_one, reset),
        cmocka_unit_test_setup(test_cpu_range, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
