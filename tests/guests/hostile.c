/*
 * hostile.c - a hostile PV test kernel, run as an unprivileged boot-time
 * domU: it calls hypercalls with random and malicious arguments, written
 * against the Xen 4.17 ABI, and counts what came back. 4 calls in 5 go
 * to the hypercalls Xenolith implements (implemented[]), mostly with
 * valid sub-op numbers and structured arguments (request lists, memory
 * reservations, event-channel ports, callback registrations); the 5th
 * picks any number 0-63.
 * The hypervisor must answer each with an errno or a harmless success,
 * never panic, never hurt another domain, and get every frame back when
 * this domain is gone. The guest must never: pass arguments that would
 * legitimately end or freeze itself (list below); anything else is fair.
 *
 * Command line: seed=S (PRNG seed, default 1; the same seed replays the
 * same calls) calls=N (default 50000, per vcpu) progress=P (a line every
 * P calls, default 10000) self=D (its own domid, default 1: never
 * targeted by remote shutdown) vcpus=V (1 or 2, default 1: with 2, vcpu 0
 * brings up vcpu 1 with VCPUOP_initialise + VCPUOP_up and both fuzz at
 * once, each with its own PRNG stream (seed, seed + 1000003), its own half
 * of the scratch buffer and its own counts; on an SMP host they run on
 * two CPUs, so each call races the other vcpu's changes to the same page
 * tables, scratch windows, event channels and grant table. The
 * stale-TLB sequences run on vcpu 0 only).
 *
 * Arguments: pointers are NULL, unmapped (low half), non-canonical,
 * hypervisor addresses 0xffff800000000000-0xffff87ffffffffff, its own
 * read-only page tables (start_info.pt_base), a victim area in its own
 * .text that is never executed, or a window of a scratch buffer filled
 * with the same kinds of words. Counts, commands, sub-ops, domids are
 * small, huge, negative or random; ports small, at the 2-level limit or
 * huge. Frame numbers are other domains' or unowned frames (any mfn not
 * in its own P2M list), huge ones, its scratch frames, or (as targets of
 * mappings and mmuext ops) its own page-table frames. mmu_update and
 * update_va_mapping aim at the L1 entries that map the victim area, so
 * mapping its own page tables writable, foreign frames, etc. meet a
 * real, present L1 slot. Structures (multicall entries, mmu_update requests,
 * mmuext ops, memory_op, event channel, grant, vcpu, domctl/sysctl
 * arguments) are scratch windows of such words.
 *
 * Exclusions - the only calls it does not make, because on a correct
 * hypervisor they would end or freeze this guest:
 *  - iret (23) at all: a garbage frame legitimately kills the guest.
 *  - sched_op (29) SCHEDOP_block (freeze: no event source), and
 *    SCHEDOP_shutdown / shutdown_code / poll / watchdog unless the
 *    argument pointer is unreadable (NULL, unmapped, non-canonical, or hv
 *    memory outside the read-only M2P); SCHEDOP_remote_shutdown never
 *    names its own domid or DOMID_SELF. sched_op_compat (6): never
 *    SCHEDOP_block or SCHEDOP_shutdown.
 *  - vcpu_op (24): never VCPUOP_down on a fuzzing vcpu, never VCPUOP_send_nmi,
 *    never VCPUOP_register_vcpu_info with a readable argument (it would
 *    move the event mask this guest relies on).
 *  - frame numbers and virtual addresses never name its own memory other
 *    than the scratch buffer, the victim text (its L1 entries too) and,
 *    as mapping or mmuext targets, its page-table frames: mmu_update,
 *    update_va_mapping(_otherdomain) and mmuext_op (NEW_BASEPTR,
 *    CLEAR_PAGE, ...) could otherwise legitimately unmap or overwrite its
 *    own stack, code or page tables; memory_op could free them
 *    (decrease_reservation never names its own frames, scratch included).
 *  - counts with a pointer into its own memory are clamped so that the
 *    array fits in the scratch window (a huge count goes only with a bad
 *    pointer): otherwise a correct hypervisor writes past the window.
 *  - console_io write from readable memory writes one short printable
 *    line (garbage bytes or a megabyte of serial output would only make
 *    the log unreadable, not attack the hypervisor).
 *  - every readable pointer has 4 KiB of its own memory behind it: a
 *    correct hypervisor may write a fixed-size result whatever the count.
 *  - multicall entries never are iret (it would end the guest, as alone).
 * After set_trap_table, set_callbacks and callback_op it re-installs the
 * kit's handlers (traps_init). Events stay masked in its vcpu_info, so
 * no upcall ever lands on a garbage callback. Its trap handler turns off
 * debug registers on #DB, clears TS on #NM, ignores NMI and #BP; any
 * other fault is a failure (memory it relies on was changed).
 *
 * About one iteration in 64 also runs a stale-TLB sequence on a pool page
 * of its own (stale_sequence: write, read-only without a flush, pin or
 * set_gdt, write again: it must fault).
 * At the end it checks that its own text (outside the victim area) and
 * P2M list are unchanged and that the hypervisor still answers plain
 * calls, prints "hostile: N calls made, seed S", the check summary, and
 * shuts down.
 */
#include <xenolith/lib.h>
#include <xlguest/hypercall.h>
#include <xen/errno.h>
#include <xen/nmi.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/traps.h>
#include <xlguest/time.h>
#include <xlguest/vcpu.h>
#include <xlguest/platform.h>

/* domctl.h and sysctl.h refuse to be included outside the toolstack;
 * their Xen 4.17 interface versions: */
#define DOMCTL_IFACE 0x15
#define SYSCTL_IFACE 0x15

/* ---- per-vcpu state (vcpus=2): what a call's generation and its
 * counting change lives in pv[vcpu]; the names below stand for this
 * vcpu's copy. A vcpu is known by its stack (vcpu 1 runs on stack1). ---- */
enum { R_ZERO, R_POS, R_ENOSYS, R_EFAULT, R_EINVAL, R_EPERM, R_ESRCH, R_OTHER, R_N };
struct vcpu_state {
    uint64_t v_rng_state;
    size_t scratch_base, v_scratch_next; /* its half of scratch[] */
    uint64_t v_last_window_bytes, v_last_scratch_bytes;
    unsigned long v_traps_seen;
    unsigned long v_results[R_N];
    unsigned long v_made_nr[64], v_ok_nr[64], v_enosys_nr[64]; /* per hypercall number */
};
static struct vcpu_state pv[2];
static uint8_t stack1[16384] __attribute__((aligned(16)));
static unsigned int nr_fuzzers = 1;

static inline unsigned int cur_vcpu(void)
{
    uint64_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    return sp >= (uint64_t)stack1 && sp < (uint64_t)stack1 + sizeof(stack1);
}
#define rng_state          (pv[cur_vcpu()].v_rng_state)
#define scratch_next       (pv[cur_vcpu()].v_scratch_next)
#define last_window_bytes  (pv[cur_vcpu()].v_last_window_bytes)
#define last_scratch_bytes (pv[cur_vcpu()].v_last_scratch_bytes)
#define traps_seen         (pv[cur_vcpu()].v_traps_seen)
#define results            (pv[cur_vcpu()].v_results)
#define made_nr            (pv[cur_vcpu()].v_made_nr)
#define ok_nr              (pv[cur_vcpu()].v_ok_nr)
#define enosys_nr          (pv[cur_vcpu()].v_enosys_nr)

/* ---- deterministic PRNG (xorshift64*) ---- */

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- what this guest owns ---- */
#define SCRATCH_SIZE (64 * 1024)
#define WINDOW_MAX   1024
#define VICTIM_SIZE  8192
/* The hypervisor may write a fixed-size structure (up to xen_version's
 * 1 KiB strings) at any readable pointer whatever the count: keep this
 * much room behind every window and victim pointer. */
#define GUARD        4096

static uint8_t scratch[SCRATCH_SIZE] __attribute__((aligned(4096)));
/* scratch_next (per vcpu, above): bump allocator, windows of one call
 * never overlap; with two vcpus each has half the buffer. */
#define SCRATCH_SPAN (SCRATCH_SIZE / nr_fuzzers)

/* A never-executed area inside .text: the "kernel text" pointer target. */
__asm__(".section .text.hostile_victim,\"ax\",@progbits\n"
        ".balign 4096\n"
        ".globl hostile_text_victim\n"
        "hostile_text_victim:\n"
        ".fill 8192,1,0xcc\n"
        ".previous\n");
extern uint8_t hostile_text_victim[VICTIM_SIZE];
extern char _start[];
static const char rodata_marker[] = "hostile"; /* .rodata follows .text and .note */

#define MAX_OWN 16384
static uint64_t own_mfns[MAX_OWN]; /* sorted copy of the P2M list */
static unsigned long nr_own;
static uint64_t scratch_mfn, pt_base, pt_len, max_mfn_guess;
static unsigned int self_domid = 1;

static int is_own_mfn(uint64_t mfn)
{
    unsigned long lo = 0, hi = nr_own;
    while (lo < hi) {
        unsigned long mid = (lo + hi) / 2;
        if (own_mfns[mid] == mfn)
            return 1;
        if (own_mfns[mid] < mfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static void sort_own(void)
{
    /* Shell sort: once, a few thousand entries. */
    for (unsigned long gap = nr_own / 2; gap; gap /= 2)
        for (unsigned long i = gap; i < nr_own; i++)
            for (unsigned long j = i; j >= gap && own_mfns[j - gap] > own_mfns[j]; j -= gap) {
                uint64_t t = own_mfns[j];
                own_mfns[j] = own_mfns[j - gap];
                own_mfns[j - gap] = t;
            }
}

/* ---- argument generators ---- */
/* last_window_bytes (per vcpu): room behind the last readable pointer, 0 if bad */
/* last_scratch_bytes (per vcpu): room behind the last pointer if it is a
 * scratch window, else 0: the only memory this guest itself writes
 * arguments into (the victim text may have been remapped read-only by
 * its own update_va_mapping). */

/* A pointer nothing readable sits behind (for calls whose success would
 * end this guest): NULL, unmapped, non-canonical, hv memory above the M2P. */
static uint64_t unreadable_ptr(void)
{
    switch (below(4)) {
    case 0: return 0;
    case 1: return 0x1000 + (below(0x7fff00000000ULL) & ~7ULL);
    case 2: return 0x0000800000000000ULL + below(0x7fff000000000000ULL);
    default: return 0xffff804000000000ULL + below(0x7c000000000ULL);
    }
}

static uint64_t scratch_window(size_t *room)
{
    size_t len = 64 + below(WINDOW_MAX - 64);
    if (scratch_next + len > SCRATCH_SPAN - GUARD)
        scratch_next = 0;
    uint64_t p = (uint64_t)&scratch[pv[cur_vcpu()].scratch_base + scratch_next];
    scratch_next += len;
    *room = len;
    return p;
}

static uint64_t any_word(void);

/* Fill a fresh scratch window with generator words and return it. */
static uint64_t struct_window(size_t *room)
{
    uint64_t p = scratch_window(room);
    uint64_t *w = (uint64_t *)p;
    for (size_t i = 0; i < *room / 8; i++)
        w[i] = below(4) ? any_word() : rnd();
    return p;
}

static uint64_t bad_or_victim_ptr(void)
{
    switch (below(8)) {
    case 0: case 1: case 2: case 3: return unreadable_ptr();
    case 4: return 0xffff800000000000ULL + below(0x8000000000ULL); /* hv slots incl. M2P */
    case 5: return pt_base + below(pt_len);                       /* own page tables (RO) */
    case 6: last_window_bytes = 64; return (uint64_t)hostile_text_victim + below(VICTIM_SIZE - GUARD);
    default: return ~0ULL - below(4096);
    }
}

/* Any pointer argument. */
static uint64_t ptr(void)
{
    last_window_bytes = last_scratch_bytes = 0;
    if (below(3) == 0) {
        size_t room;
        uint64_t p = struct_window(&room);
        last_window_bytes = last_scratch_bytes = room;
        return p;
    }
    return bad_or_victim_ptr();
}

/* A count for an array of elem-byte entries at the last ptr(). */
static uint64_t count(size_t elem)
{
    uint64_t c;
    switch (below(6)) {
    case 0: c = 0; break;
    case 1: c = 1; break;
    case 2: c = below(16); break;
    case 3: c = (uint64_t)-(int64_t)(1 + below(16)); break;
    case 4: { static const uint64_t huge[] = { 0x7fffffff, 0x80000000, 0xffffffff,
                                               1ULL << 32, 1ULL << 63, ~0ULL };
              c = huge[below(6)]; break; }
    default: c = rnd(); break;
    }
    if (last_window_bytes && c > last_window_bytes / elem)
        c = last_window_bytes / elem;
    return c;
}

static uint64_t cmd(unsigned int usual)
{
    switch (below(8)) {
    case 0: return rnd();
    case 1: return below(2) ? (uint64_t)-(int64_t)(1 + below(4)) : 0x7fffffff + below(2);
    default: return below(usual);
    }
}

static uint64_t domid(void)
{
    static const uint64_t special[] = { 0, DOMID_SELF, DOMID_IO, DOMID_XEN, DOMID_COW,
                                        DOMID_INVALID, DOMID_IDLE, 0x7fff, 0xffff, 0x10000 };
    switch (below(3)) {
    case 0: return special[below(sizeof(special) / sizeof(special[0]))];
    case 1: return below(17);
    default: return rnd();
    }
}

/* A frame this guest does not own (another domain's, the hv's, free or
 * beyond RAM). */
static uint64_t foreign_mfn(void)
{
    uint64_t m;
    int tries = 0;
    do {
        m = below(4) ? own_mfns[below(nr_own)] + 1 + below(64) - 32 : below(max_mfn_guess);
    } while (is_own_mfn(m) && ++tries < 16);
    return is_own_mfn(m) ? 0 : m;
}

/* A frame this guest does not own, a huge one, or its scratch frame. */
static uint64_t mfn(void)
{
    switch (below(5)) {
    case 0: return scratch_mfn + (pv[cur_vcpu()].scratch_base + below(SCRATCH_SPAN)) / 4096;
    case 1: return ~0ULL >> below(40);
    default: return foreign_mfn();
    }
}

/* Its own page-table frames (pinned L4, L3, L2, L1s). */
#define MAX_PT 64
static uint64_t pt_mfns[MAX_PT];
static unsigned int nr_pt;

/* A frame as the target of a mapping or a page-table operation: also its
 * own page-table frames (mapping one writable must be refused; CLEAR_PAGE
 * or COPY_PAGE into one must be refused; pinning it again, or unpinning
 * the pinned L4 that %cr3 still holds, is harmless). */
static uint64_t target_mfn(void)
{
    return nr_pt && below(3) == 0 ? pt_mfns[below(nr_pt)] : mfn();
}

static uint64_t pte(void)
{
    uint64_t flags = rnd() & 0xfff;
    if (below(4) == 0)
        flags |= rnd() & 0xfff0000000000000ULL;
    else if (below(2))
        flags = (flags & ~0x80ULL) | 1; /* present, no PAT: gets past the first checks */
    return (target_mfn() << 12) | flags;
}

/* The L1 entries that map the victim area (machine addresses), found by
 * walking its own page tables; 0 if the walk failed. */
static uint64_t victim_pte_maddr[VICTIM_SIZE / 4096];

static uint64_t victim_va(void)
{
    return (uint64_t)hostile_text_victim + 4096 * below(VICTIM_SIZE / 4096);
}

/* A virtual address that is not its own memory (update_va_mapping and
 * friends could otherwise legitimately unmap its stack or code). */
static uint64_t foreign_va(void)
{
    switch (below(3)) {
    case 0: return unreadable_ptr() & ~0xfffULL;
    case 1: return 0xffff800000000000ULL + (below(0x8000000000ULL) & ~0xfffULL);
    default: return rnd();
    }
}

static uint64_t any_word(void)
{
    switch (below(7)) {
    case 0: return below(64);
    case 1: return cmd(32);
    case 2: return domid();
    case 3: return mfn();
    case 4: return pte();
    case 5: { size_t room; return scratch_window(&room); }
    default: return bad_or_victim_ptr();
    }
}

/* ---- one random call ---- */
struct call {
    uint64_t nr, a[5];
    int reinit_traps;
};

static void gen_call(struct call *c, int nested);

static void gen_multicall(struct call *c)
{
    size_t room;
    uint64_t p = scratch_window(&room);
    multicall_entry_t *e = (multicall_entry_t *)p;
    size_t n = room / sizeof(*e);
    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++) {
        struct call sub;
        gen_call(&sub, 1);
        e[i].op = sub.nr;
        e[i].result = rnd();
        for (int k = 0; k < 5; k++)
            e[i].args[k] = sub.a[k];
        e[i].args[5] = rnd();
        c->reinit_traps |= sub.reinit_traps;
    }
    c->a[0] = below(4) ? p : bad_or_victim_ptr();
    c->a[1] = c->a[0] == p ? below(n + 1) : count(sizeof(*e));
}

/* The hypercalls Xenolith implements: most calls go to these, so the
 * fuzzing reaches real code instead of -ENOSYS; the rest pick any 0-63. */
static const uint8_t implemented[] = {
    __HYPERVISOR_set_trap_table, __HYPERVISOR_mmu_update, __HYPERVISOR_stack_switch,
    __HYPERVISOR_set_callbacks, __HYPERVISOR_fpu_taskswitch, __HYPERVISOR_memory_op,
    __HYPERVISOR_multicall, __HYPERVISOR_update_va_mapping, __HYPERVISOR_set_timer_op,
    __HYPERVISOR_xen_version, __HYPERVISOR_console_io, __HYPERVISOR_vm_assist,
    __HYPERVISOR_update_va_mapping_otherdomain, __HYPERVISOR_vcpu_op,
    __HYPERVISOR_set_segment_base, __HYPERVISOR_mmuext_op, __HYPERVISOR_sched_op,
    __HYPERVISOR_callback_op, __HYPERVISOR_event_channel_op, __HYPERVISOR_physdev_op,
};

/* A port number: small (maybe bound), at the 2-level limit, or huge. */
static uint32_t port(void)
{
    static const uint32_t edge[] = { 4095, 4096, 1U << 17, 0x7fffffff, 0xffffffff };
    return below(4) ? (uint32_t)below(16) : edge[below(5)];
}

/* memory_op's reservation commands: a xen_memory_reservation with an
 * extent list; decrease_reservation only ever names frames it does not
 * own (freeing its own would legitimately pull memory from under it). */
static void gen_reservation(struct call *c)
{
    size_t room;
    uint64_t p = scratch_window(&room);
    struct xen_memory_reservation *r = (void *)p;
    memset(r, 0, sizeof(*r));
    uint64_t list = ptr();
    if (last_scratch_bytes && c->a[0] == XENMEM_decrease_reservation)
        for (size_t i = 0; i < last_scratch_bytes / 8; i++)
            ((uint64_t *)list)[i] = below(8) ? foreign_mfn() : ~0ULL >> below(40);
    set_xen_guest_handle(r->extent_start, (xen_pfn_t *)list);
    r->nr_extents = count(8);
    r->extent_order = below(4) ? (unsigned int)below(2) : (unsigned int)rnd();
    r->mem_flags = below(2) ? 0 : (unsigned int)rnd();
    r->domid = below(2) ? DOMID_SELF : (domid_t)domid();
    c->a[1] = below(8) ? p : bad_or_victim_ptr();
}

static void gen_call(struct call *c, int nested)
{
    c->nr = below(5) ? implemented[below(sizeof(implemented))] : below(64);
    c->reinit_traps = 0;
    for (int k = 0; k < 5; k++)
        c->a[k] = any_word();
    switch (c->nr) {
    case __HYPERVISOR_set_trap_table:
        c->a[0] = ptr();
        c->reinit_traps = 1;
        break;
    case __HYPERVISOR_mmu_update:
    case __HYPERVISOR_mmuext_op: {
        size_t elem = c->nr == __HYPERVISOR_mmu_update ? sizeof(mmu_update_t)
                                                      : sizeof(struct mmuext_op);
        do /* mostly a request list it filled, so the requests get looked at */
            c->a[0] = ptr();
        while (!last_scratch_bytes && below(4));
        if (last_window_bytes && c->a[0] >= (uint64_t)scratch &&
            c->a[0] < (uint64_t)scratch + SCRATCH_SIZE) {
            uint64_t *w = (uint64_t *)c->a[0];
            for (size_t i = 0; i < last_window_bytes / 8; i++) {
                if (c->nr == __HYPERVISOR_mmu_update) {
                    uint64_t slot = victim_pte_maddr[below(VICTIM_SIZE / 4096)];
                    if (i & 1)
                        w[i] = pte();
                    else if (slot && below(2))
                        w[i] = slot | (below(2) ? MMU_NORMAL_PT_UPDATE : MMU_PT_UPDATE_PRESERVE_AD);
                    else if (below(8) == 0)
                        w[i] = (target_mfn() << 12) | MMU_MACHPHYS_UPDATE; /* M2P only */
                    else
                        w[i] = (mfn() << 12) | (rnd() & 0xff8) | below(4);
                } else {
                    w[i] = (i % 3 == 0) ? cmd(22)
                         : (i % 3 == 1 && below(2)) ? target_mfn()
                         : below(2) ? mfn() : foreign_va();
                }
            }
        }
        c->a[1] = count(elem);
        c->a[2] = ptr();
        c->a[3] = below(2) ? DOMID_SELF : domid();
        break;
    }
    case __HYPERVISOR_set_gdt:
        c->a[0] = ptr();
        if (last_window_bytes && c->a[0] >= (uint64_t)scratch &&
            c->a[0] < (uint64_t)scratch + SCRATCH_SIZE)
            for (size_t i = 0; i < last_window_bytes / 8; i++)
                ((uint64_t *)c->a[0])[i] = mfn();
        c->a[1] = count(8) * 512;
        break;
    case __HYPERVISOR_stack_switch:
        c->a[0] = cmd(0x10000);
        break;
    case __HYPERVISOR_set_callbacks:
    case __HYPERVISOR_callback_op:
        c->reinit_traps = 1;
        if (c->nr == __HYPERVISOR_callback_op) {
            c->a[0] = cmd(2);
            c->a[1] = ptr();
            if (last_scratch_bytes && below(2)) {
                struct callback_register *r = (void *)c->a[1];
                r->type = (uint16_t)below(8);
                r->flags = (uint16_t)below(4);
                r->address = below(2) ? (uint64_t)hostile_text_victim : any_word();
            }
        }
        break;
    case __HYPERVISOR_fpu_taskswitch:
    case __HYPERVISOR_get_debugreg:
        c->a[0] = cmd(10);
        break;
    case __HYPERVISOR_sched_op_compat:
        c->a[0] = cmd(8);
        if (c->a[0] == SCHEDOP_block || c->a[0] == SCHEDOP_shutdown)
            c->a[0] = SCHEDOP_yield;
        break;
    case __HYPERVISOR_set_debugreg:
        c->a[0] = cmd(10);
        break;
    case __HYPERVISOR_update_descriptor:
        c->a[0] = (mfn() << 12) | (rnd() & 0xfff);
        c->a[1] = rnd();
        break;
    case __HYPERVISOR_memory_op:
        c->a[0] = cmd(below(4) ? 13 : 32);
        c->a[1] = ptr();
        if (c->a[0] == XENMEM_increase_reservation || c->a[0] == XENMEM_decrease_reservation ||
            c->a[0] == XENMEM_populate_physmap)
            gen_reservation(c);
        else if (last_scratch_bytes && below(2))
            *(domid_t *)c->a[1] = (domid_t)domid(); /* current/maximum_reservation, ... */
        break;
    case __HYPERVISOR_event_channel_op:
        c->a[0] = cmd(15);
        c->a[1] = ptr();
        if (last_scratch_bytes && below(4)) {
            /* Every evtchn_* struct is u16 domids and u32 ports/virqs/vcpus. */
            uint32_t *w = (uint32_t *)c->a[1];
            for (size_t i = 0; i < last_scratch_bytes / 4; i++)
                w[i] = below(3) ? port() : below(2) ? (uint32_t)domid() << (16 * below(2))
                                                    : (uint32_t)below(NR_VIRQS + 2);
        }
        break;
    case __HYPERVISOR_physdev_op:
        c->a[0] = below(2) ? PHYSDEVOP_set_iopl : cmd(32);
        c->a[1] = ptr();
        if (last_scratch_bytes && below(2))
            *(uint32_t *)c->a[1] = below(2) ? (uint32_t)below(5) : (uint32_t)rnd(); /* iopl */
        break;
    case __HYPERVISOR_xen_version:
    case __HYPERVISOR_hvm_op:
        c->a[0] = cmd(20);
        c->a[1] = ptr();
        break;
    case __HYPERVISOR_multicall:
        if (nested) { /* a multicall inside a multicall: must be refused */
            c->a[0] = ptr();
            c->a[1] = count(sizeof(multicall_entry_t));
        } else {
            gen_multicall(c);
        }
        break;
    case __HYPERVISOR_update_va_mapping:
        c->a[0] = below(2) ? victim_va() : foreign_va();
        c->a[1] = pte();
        c->a[2] = cmd(8);
        break;
    case __HYPERVISOR_update_va_mapping_otherdomain:
        c->a[0] = below(3) ? victim_va() : foreign_va();
        c->a[1] = pte();
        c->a[2] = cmd(8);
        c->a[3] = domid();
        break;
    case __HYPERVISOR_console_io:
        c->a[0] = cmd(2);
        c->a[2] = ptr();
        c->a[1] = count(1);
        if (last_window_bytes && c->a[2] >= (uint64_t)scratch &&
            c->a[2] < (uint64_t)scratch + SCRATCH_SIZE) {
            /* Readable: a short printable line, so the log stays legible. */
            static const char line[] = "hostile: console_io from scratch\n";
            memcpy((void *)c->a[2], line, sizeof(line) - 1);
            c->a[1] = below(2) ? sizeof(line) - 1 : below(sizeof(line));
        } else if (last_window_bytes) {
            c->a[1] = 0; /* victim text: not printable either */
        }
        break;
    case __HYPERVISOR_grant_table_op:
        c->a[0] = cmd(16);
        c->a[1] = ptr();
        c->a[2] = count(64);
        break;
    case __HYPERVISOR_vm_assist:
        c->a[0] = cmd(4);
        c->a[1] = cmd(40);
        break;
    case __HYPERVISOR_iret:
        c->nr = __HYPERVISOR_xen_version; /* excluded: see the header */
        c->a[0] = cmd(20);
        c->a[1] = ptr();
        break;
    case __HYPERVISOR_vcpu_op:
        c->a[0] = cmd(16);
        c->a[1] = below(2) ? 0 : cmd(64);
        c->a[2] = ptr();
        if (c->a[0] == VCPUOP_send_nmi || (c->a[0] == VCPUOP_down && c->a[1] < nr_fuzzers))
            c->a[0] = VCPUOP_is_up;
        if (c->a[0] == VCPUOP_register_vcpu_info)
            c->a[2] = unreadable_ptr();
        break;
    case __HYPERVISOR_set_segment_base:
        c->a[0] = cmd(5);
        break;
    case __HYPERVISOR_sched_op:
        c->a[0] = cmd(below(4) ? 6 : 10);
        c->a[1] = ptr();
        switch (c->a[0]) {
        case SCHEDOP_block:
            c->a[0] = SCHEDOP_yield;
            break;
        case SCHEDOP_shutdown:
        case SCHEDOP_shutdown_code: /* the first code recorded becomes the reason */
        case SCHEDOP_poll:
        case SCHEDOP_watchdog:
            c->a[1] = unreadable_ptr();
            break;
        case SCHEDOP_remote_shutdown:
            if (last_scratch_bytes) {
                struct sched_remote_shutdown *r = (void *)c->a[1];
                if (r->domain_id == (domid_t)self_domid || r->domain_id == DOMID_SELF)
                    r->domain_id = 0;
            }
            break;
        }
        break;
    case __HYPERVISOR_nmi_op:
        c->a[0] = cmd(3);
        c->a[1] = ptr();
        break;
    case __HYPERVISOR_domctl:
    case __HYPERVISOR_sysctl:
        c->a[0] = ptr();
        if (last_scratch_bytes >= 16 && below(2)) {
            uint32_t *w = (uint32_t *)c->a[0];
            w[0] = below(64);                                  /* cmd */
            w[1] = c->nr == __HYPERVISOR_domctl ? DOMCTL_IFACE
                                                : SYSCTL_IFACE;
            w[2] = (uint32_t)domid();
        }
        break;
    default:
        break;
    }
}

/* The initial page-table frames, and the L1 entries mapping the victim
 * area (walking its own tables, which are mapped read-only). */
static const uint64_t *table_of(const start_info_t *si, uint64_t mfn)
{
    const uint64_t *p2m = (const uint64_t *)si->mfn_list;
    for (unsigned long pfn = 0; pfn < si->nr_pages; pfn++)
        if (p2m[pfn] == mfn)
            return (const uint64_t *)(GUEST_VIRT_BASE + pfn * 4096);
    return NULL;
}

static void find_page_tables(const start_info_t *si)
{
    const uint64_t *p2m = (const uint64_t *)si->mfn_list;
    unsigned long pfn0 = (pt_base - GUEST_VIRT_BASE) >> 12;
    for (unsigned long i = 0; i < si->nr_pt_frames && nr_pt < MAX_PT; i++)
        if (pfn0 + i < si->nr_pages)
            pt_mfns[nr_pt++] = p2m[pfn0 + i];
    for (unsigned int v = 0; v < VICTIM_SIZE / 4096; v++) {
        uint64_t va = (uint64_t)hostile_text_victim + 4096ULL * v;
        const uint64_t *t = (const uint64_t *)pt_base;
        for (int level = 4; t; level--) {
            unsigned int idx = (va >> (12 + 9 * (level - 1))) & 511;
            if (level == 1) {
                victim_pte_maddr[v] = (virt_to_mfn(t) << 12) + idx * 8;
                break;
            }
            if (!(t[idx] & 1) || (t[idx] & 0x80))
                break;
            t = table_of(si, (t[idx] & 0x000ffffffffff000ULL) >> 12);
        }
    }
}

/* ---- traps ---- */

static void debugregs_off(void)
{
    HYPERCALL(__HYPERVISOR_set_debugreg, 7, 0, 0);
    HYPERCALL(__HYPERVISOR_set_debugreg, 6, 0, 0);
}

/* A stale-TLB probe write is running (stale_sequence): its #PF is the
 * expected answer. */
static volatile int probing, probe_faulted;

void guest_trap(struct guest_frame *f)
{
    traps_seen++;
    if (probing && f->vector == 14 && cur_vcpu() == 0) {
        probe_faulted = 1;
        f->rip += 3; /* mov %rax, (%rsi) */
        return;
    }
    switch (f->vector) {
    case 1: /* #DB: our own set_debugreg armed a breakpoint */
        debugregs_off();
        return;
    case 7: /* #NM: our own fpu_taskswitch(1) */
        HYPERVISOR_fpu_taskswitch(0);
        return;
    case 2: /* NMI */
    case 3: /* int3 already past */
        return;
    default:
        printk("hostile: unexpected trap %lu at %lx (error %lx, cr2 %lx)\n",
               (unsigned long)f->vector, (unsigned long)f->rip, (unsigned long)f->error_code,
               (unsigned long)guest_fault_cr2());
        xen_shutdown(SHUTDOWN_crash);
    }
}

/* ---- stale TLB entries across a change of type ----
 * The review's sequence, at random: write one of our pool pages through
 * its writable mapping, make that mapping read-only (mostly without a
 * flush), give the frame a type that forbids writable mappings (an L1..L4
 * pin or a GDT), and write through the old mapping. The write must fault;
 * one that lands in a frame holding such a type is an isolation break. */
#define STALE_PAGES 4
static uint64_t stale_pool[STALE_PAGES][512] __attribute__((aligned(4096)));
static unsigned long stale_tries, stale_typed, stale_faulted, stale_landed_typed;

static int probe_write(volatile uint64_t *at, uint64_t val)
{
    probe_faulted = 0;
    probing = 1;
    __asm__ volatile("mov %%rax, (%%rsi)" :: "a"(val), "S"(at) : "memory");
    probing = 0;
    return probe_faulted;
}

static long map_self(uint64_t *page, uint64_t flags, uint64_t uvmf)
{
    return HYPERVISOR_update_va_mapping((unsigned long)page, (virt_to_mfn(page) << 12) | flags,
                                        uvmf);
}

static void stale_sequence(void)
{
    static const uint64_t uvmf[4] = { UVMF_NONE, UVMF_NONE, UVMF_NONE, UVMF_INVLPG };
    uint64_t *page = stale_pool[below(STALE_PAGES)];
    uint64_t mfn = virt_to_mfn(page);
    unsigned int how = (unsigned int)below(5); /* 0-3: pin L1..L4, 4: GDT */
    stale_tries++;
    traps_init(); /* the fuzzing may have left a trap table of garbage */
    memset(page, 0, 4096); /* a valid empty table or GDT; the TLB holds it writable */
    if (map_self(page, 0x025 /* P US A */, uvmf[below(4)]))
        return;
    long rc;
    if (how < 4) {
        struct mmuext_op op = { .cmd = MMUEXT_PIN_L1_TABLE + how };
        op.arg1.mfn = mfn;
        rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    } else {
        unsigned long frames[1] = { mfn };
        rc = HYPERVISOR_set_gdt(frames, 512);
    }
    /* For a table: a writable entry naming the table itself, which the hv
     * (and a writable-page-table emulation) must refuse. */
    uint64_t poison = (mfn << 12) | 0x067;
    int faulted = probe_write(&page[0], poison);
    stale_faulted += faulted;
    if (rc == 0) {
        stale_typed++;
        if (!faulted || page[0] == poison) {
            stale_landed_typed++;
            printk("FAIL hostile: a write through a stale TLB entry landed in a frame "
                   "pinned as %s (try %lu)\n", how < 4 ? "a page table" : "a GDT", stale_tries);
        }
        if (how < 4) {
            struct mmuext_op op = { .cmd = MMUEXT_UNPIN_TABLE };
            op.arg1.mfn = mfn;
            HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
        } else {
            HYPERVISOR_set_gdt(NULL, 0);
        }
    }
    if (map_self(page, 0x067 /* P RW US A D */, UVMF_INVLPG))
        printk("FAIL hostile: pool page %lx cannot be made writable again\n", (unsigned long)mfn);
}

/* ---- the run ---- */
static uint64_t checksum(const uint8_t *p, const uint8_t *end, const uint8_t *skip, size_t skip_len)
{
    uint64_t h = 1469598103934665603ULL;
    for (; p < end; p++) {
        if (p == skip) {
            p += skip_len - 1;
            continue;
        }
        h = (h ^ *p) * 1099511628211ULL;
    }
    return h;
}

static uint64_t text_sum(void)
{
    return checksum((const uint8_t *)_start, (const uint8_t *)rodata_marker,
                    hostile_text_victim, VICTIM_SIZE);
}

static uint64_t p2m_sum(const start_info_t *si)
{
    const uint8_t *p = (const uint8_t *)si->mfn_list;
    return checksum(p, p + si->nr_pages * 8, NULL, 0);
}

static unsigned long parse_ulong(const char *s)
{
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long)(*s++ - '0');
    return v;
}

/* Result classes: 0, positive, then errnos by name, then other negatives. */
/* Result classes (R_*, above): 0, positive, then errnos by name, then
 * other negatives. */

static void tally(long rc)
{
    int k = rc == 0 ? R_ZERO : rc > 0 ? R_POS
          : rc == -XEN_ENOSYS ? R_ENOSYS : rc == -XEN_EFAULT ? R_EFAULT
          : rc == -XEN_EINVAL ? R_EINVAL : rc == -XEN_EPERM ? R_EPERM
          : rc == -XEN_ESRCH ? R_ESRCH : R_OTHER;
    results[k]++;
}

static void report(const char *what, unsigned long n)
{
    printk("hostile: %s%s %lu calls (0: %lu, >0: %lu, ENOSYS %lu, EFAULT %lu, EINVAL %lu, "
           "EPERM %lu, ESRCH %lu, other <0 %lu), %lu traps\n", cur_vcpu() ? "vcpu1 " : "", what,
           n, results[R_ZERO],
           results[R_POS], results[R_ENOSYS], results[R_EFAULT], results[R_EINVAL],
           results[R_EPERM], results[R_ESRCH], results[R_OTHER], traps_seen);
}

/* The fuzzing loop of one vcpu: calls hypercalls; returns how many. */
static unsigned long fuzz(unsigned long calls, unsigned long progress)
{
    unsigned int me = cur_vcpu();
    unsigned long n;
    for (n = 1; n <= calls; n++) {
        struct call c;
        scratch_next = below((SCRATCH_SPAN - GUARD) / 2);
        gen_call(&c, 0);
        long rc = xen_hypercall5((unsigned int)c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4]);
        tally(rc);
        if (c.nr < 64) {
            made_nr[c.nr]++;
            ok_nr[c.nr] += rc >= 0;
            enosys_nr[c.nr] += rc == -XEN_ENOSYS;
        }
        if (c.reinit_traps)
            traps_init();
        if (guest_shared_info)
            guest_shared_info->vcpu_info[me].evtchn_upcall_mask = 1;
        if (below(64) == 0 && me == 0)
            stale_sequence();
        if (progress && n % progress == 0)
            report("progress:", n);
    }
    return n - 1;
}

/* vcpus=2: vcpu 1 fuzzes beside vcpu 0, then reports and goes down. */
static unsigned long fuzz_calls, fuzz_progress, v1_made;
static volatile int v1_done;
static struct vcpu_guest_context v1_ctx;

static void __attribute__((noreturn, used)) vcpu1_entry(void)
{
    traps_init();
    v1_made = fuzz(fuzz_calls, fuzz_progress);
    debugregs_off();
    HYPERVISOR_fpu_taskswitch(0);
    report("done:", v1_made);
    __atomic_store_n(&v1_done, 1, __ATOMIC_RELEASE);
    HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

static long start_vcpu1(const start_info_t *si)
{
    return guest_vcpu_start(&v1_ctx, si, 1, vcpu1_entry, 0, stack1 + sizeof(stack1));
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("hostile"))
        return SHUTDOWN_poweroff;
    char num[24];
    unsigned long seed = 1, calls = 50000, progress = 10000;
    if (cmdline_get(si, "seed", num, sizeof(num)))
        seed = parse_ulong(num);
    if (cmdline_get(si, "calls", num, sizeof(num)))
        calls = parse_ulong(num);
    if (cmdline_get(si, "progress", num, sizeof(num)))
        progress = parse_ulong(num);
    if (cmdline_get(si, "self", num, sizeof(num)))
        self_domid = (unsigned int)parse_ulong(num);
    if (cmdline_get(si, "vcpus", num, sizeof(num)) && parse_ulong(num) == 2)
        nr_fuzzers = 2;
    pv[0].v_rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    pv[1].v_rng_state = (seed + 1000003) * 0x9E3779B97F4A7C15ULL + 1;
    pv[1].scratch_base = SCRATCH_SIZE / 2;

    nr_own = si->nr_pages < MAX_OWN ? si->nr_pages : MAX_OWN;
    const uint64_t *p2m = (const uint64_t *)si->mfn_list;
    uint64_t top = 0;
    for (unsigned long i = 0; i < nr_own; i++) {
        own_mfns[i] = p2m[i];
        if (p2m[i] > top)
            top = p2m[i];
    }
    sort_own();
    max_mfn_guess = top + 0x10000;
    scratch_mfn = virt_to_mfn(scratch);
    pt_base = si->pt_base;
    pt_len = si->nr_pt_frames * 4096;
    find_page_tables(si);

    /* Events stay masked: no upcall can reach a callback it scribbled. */
    if (guest_shared_info)
        guest_shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
    long trc = traps_init();
    printk("hostile: seed %lu, %lu calls, %lu pages (mfns %lx-%lx), scratch mfn %lx, traps_init %ld\n",
           seed, calls, (unsigned long)si->nr_pages, (unsigned long)own_mfns[0],
           (unsigned long)top, (unsigned long)scratch_mfn, trc);
    printk("hostile: %u page-table frames, victim PTEs at %lx %lx\n", nr_pt,
           (unsigned long)victim_pte_maddr[0], (unsigned long)victim_pte_maddr[1]);
    uint64_t text0 = text_sum(), p2m0 = p2m_sum(si);
    fuzz_calls = calls;
    fuzz_progress = progress;
    if (nr_fuzzers == 2) {
        long rc = start_vcpu1(si);
        printk("hostile: vcpu 1 up (VCPUOP_initialise + up: %ld), both vcpus fuzz\n", rc);
        check_eq("vcpu 1 brought up", rc, 0);
        if (rc)
            nr_fuzzers = 1;
    }

    unsigned long n = fuzz(calls, progress);
    if (nr_fuzzers == 2) {
        /* vcpu 1 ends within a minute of system time of vcpu 0 */
        const volatile struct vcpu_time_info *t = &guest_shared_info->vcpu_info[0].time;
        uint64_t t0 = pvclock_read(t);
        while (!__atomic_load_n(&v1_done, __ATOMIC_ACQUIRE) && pvclock_read(t) - t0 < 60000000000ULL)
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        check_true("vcpu 1 finished", v1_done);
        check_eq("vcpu 1 made every call", (long)v1_made, (long)calls);
    }
    debugregs_off();
    HYPERVISOR_fpu_taskswitch(0);
    report("done:", n);
    for (unsigned int h = 0; h < 64; h++)
        if (made_nr[h] && (ok_nr[h] || made_nr[h] != enosys_nr[h]))
            printk("hostile: hypercall %u: %lu calls, %lu >= 0, %lu ENOSYS\n", h, made_nr[h],
                   ok_nr[h], enosys_nr[h]);
    printk("hostile: %lu stale-TLB sequences, %lu retyped, %lu writes faulted, "
           "%lu landed in a retyped frame\n", stale_tries, stale_typed, stale_faulted,
           stale_landed_typed);
    printk("hostile: %lu calls made, seed %lu\n", n, seed);
    check_true("stale-TLB sequences tried", stale_tries > 0);
    check_eq("no stale write landed in a frame pinned as a table or GDT",
             (long)stale_landed_typed, 0);
    check_eq("hostile made every call", (long)n, (long)calls);
    check_true("own text unchanged (outside the victim area)", text_sum() == text0);
    check_true("own P2M list unchanged", p2m_sum(si) == p2m0);
    check_eq("xen_version still answers 4.17", HYPERVISOR_xen_version(XENVER_version, NULL) >> 16,
             4);
    check_eq("console_io write still works", HYPERVISOR_console_io(CONSOLEIO_write, 3, "ok\n"), 0);
    check_eq("sched_op yield still works", HYPERVISOR_sched_op(SCHEDOP_yield, NULL), 0);
    return check_summary("hostile");
}
