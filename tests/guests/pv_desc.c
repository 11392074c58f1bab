/*
 * pv_desc.c - a PV test kernel that checks the guest descriptor table
 * hypercalls from inside: set_gdt refuses frames mapped writable, frames
 * with descriptors Xen's check_descriptor refuses, too many entries and
 * unreadable frame lists; an accepted GDT has its descriptors fixed up
 * (DPL 3), cannot be mapped writable, and its selectors really load into
 * %ds/%es and survive hypercalls and traps; update_descriptor checks
 * alignment, descriptor and frame; selectors outside the GDT or of a
 * not-present descriptor fault to the guest's handlers; replaced GDT
 * frames can be mapped writable again. The same lines on Xenolith and
 * on real Xen 4.17. MMUEXT_SET_LDT: LDT selectors load into %fs and read
 * through the descriptor's base, pages are typed on first use, bad pages
 * give #PF. With "keep=1" it ends with a GDT and an LDT still set (the
 * domain's destroy must return those frames).
 */
#include <stdint.h>
#include <xen/errno.h>
#include <xlguest/hypercall.h>
#include <xlguest/check.h>
#include <xlguest/kernel.h>
#include <xlguest/time.h>
#include <xlguest/traps.h>
#include <xlguest/platform.h>

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_A  0x20ULL
#define PTE_D  0x40ULL
#define PTE_ADDR 0x000FFFFFFFFFF000ULL
#define RW_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
#define RO_FLAGS (PTE_P | PTE_US | PTE_A)

#define DATA_DPL0 0x00cf92000000ffffULL /* flat data, DPL 0 (fixed up to 3) */
#define DATA_DPL3 0x00cff2000000ffffULL
#define DATA_NP   0x00cf72000000ffffULL /* DPL 3, not present */
#define TSS_DESC  0x0000890000000067ULL
#define DPL(d)    (((d) >> 45) & 3)

static uint64_t gdt1[512] __attribute__((aligned(4096)));
static uint64_t gdt2[512] __attribute__((aligned(4096)));
static uint64_t plain[512] __attribute__((aligned(4096)));

static uint64_t ldt1[512] __attribute__((aligned(4096)));
static uint64_t ldt2[512] __attribute__((aligned(4096)));

static volatile unsigned long trap_vec, trap_ec, traps, trap_cr2;

void guest_trap(struct guest_frame *f)
{
    trap_vec = f->vector;
    trap_ec = f->error_code;
    traps++;
    if (f->vector == 14)
        trap_cr2 = guest_fault_cr2();
    if (f->vector == 13 || f->vector == 11 || f->vector == 14)
        f->rip += 2; /* the 2-byte mov %ax, %es (or %fs) that faulted */
    else if (f->vector != 3) {
        printk("unexpected trap %lu at %lx (error %lx)\n", (unsigned long)f->vector,
               (unsigned long)f->rip, (unsigned long)f->error_code);
        xen_shutdown(SHUTDOWN_crash);
    }
}

static long remap(void *va, uint64_t flags)
{
    return HYPERVISOR_update_va_mapping((unsigned long)va, (virt_to_mfn(va) << 12) | flags,
                                        UVMF_INVLPG | UVMF_LOCAL);
}

static long set_gdt1(void *frame, unsigned int entries)
{
    unsigned long mfn = virt_to_mfn(frame);
    return HYPERVISOR_set_gdt(&mfn, entries);
}

static uint16_t get_es(void)
{
    uint16_t s;
    __asm__ volatile("mov %%es, %0" : "=r"(s));
    return s;
}
static uint16_t get_ds(void)
{
    uint16_t s;
    __asm__ volatile("mov %%ds, %0" : "=r"(s));
    return s;
}
/* mov %ax, %es: 2 bytes (8e c0), skipped by guest_trap if it faults. */
static void set_es(uint16_t s)
{
    __asm__ volatile("mov %0, %%es" :: "a"(s) : "memory");
}
static void set_ds(uint16_t s)
{
    __asm__ volatile("mov %0, %%ds" :: "a"(s) : "memory");
}

static uint16_t get_fs(void)
{
    uint16_t s;
    __asm__ volatile("mov %%fs, %0" : "=r"(s));
    return s;
}
static void set_fs(uint16_t s)
{
    __asm__ volatile("mov %0, %%fs" :: "a"(s) : "memory");
}
static long set_ldt(const void *base, unsigned int ents)
{
    struct mmuext_op op = { .cmd = MMUEXT_SET_LDT };
    op.arg1.linear_addr = (unsigned long)base;
    op.arg2.nr_ents = ents;
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

/* The failsafe callback (Xen's frame: RCX, R11, DS, ES, FS, GS, RIP, CS,
 * RFLAGS, RSP, SS): note FS and the count, then return with iret as
 * Linux's xen_failsafe_callback does for a bad segment (the register is
 * null by then). */
volatile uint64_t failsafe_fs, failsafe_count;
extern char pvd_failsafe[], guest_failsafe_callback[];
__asm__(".text\n"
        ".globl pvd_failsafe\n"
        "pvd_failsafe:\n"
        "    movq 0x20(%rsp), %r11\n"
        "    movq %r11, failsafe_fs(%rip)\n"
        "    incq failsafe_count(%rip)\n"
        "    movq (%rsp), %rcx\n"
        "    movq 8(%rsp), %r11\n"
        "    addq $0x30, %rsp\n"          /* RIP CS RFLAGS RSP SS remain */
        "    pushq $0\n"                  /* iret flags */
        /* __HYPERVISOR_iret: its stub pushes %rcx, %r11, %rax (Xen's) */
        "    jmp hypercall_page + 23 * 32\n");

static long set_failsafe(void *cb)
{
    struct callback_register r = { .type = CALLBACKTYPE_failsafe, .address = (unsigned long)cb };
    return HYPERVISOR_callback_op(CALLBACKOP_register, &r);
}

/* A data descriptor, DPL 3, 4 GiB limit, base 0x1000. */
#define DATA_B1000 (0x00cff2000000ffffULL | (0x1000ULL << 16))
static volatile uint64_t ldt_probe = 0x1dea5eed;

/* MMUEXT_SET_LDT: the LDT is loaded; its pages are taken (typed as
 * descriptor frames, checked as Xen's check_descriptor) when a selector
 * first needs them, so they cannot be mapped writable until the LDT is
 * replaced; a page that cannot be taken gives the guest #PF at the
 * descriptor's address. */
static void ldt_checks(int keep)
{
    check_eq("set_ldt misaligned -> -EINVAL", set_ldt((char *)ldt1 + 8, 1), -XEN_EINVAL);
    check_eq("set_ldt 8193 entries -> -EINVAL", set_ldt(ldt1, 8193), -XEN_EINVAL);
    check_eq("set_ldt at an hv address -> -EINVAL",
             set_ldt((void *)0xffff800000000000UL, 1), -XEN_EINVAL);
    ldt1[1] = DATA_B1000;
    ldt1[2] = DATA_DPL0;
    check_eq("remap LDT page read-only", remap(ldt1, RO_FLAGS), 0);
    check_eq("set_ldt 3 entries -> 0", set_ldt(ldt1, 3), 0);
    traps = 0;
    set_fs(0x0f);
    check_eq("%fs loads LDT selector 0x0f (no trap seen)", traps, 0);
    check_eq("%fs holds 0x0f", get_fs(), 0x0f);
    uint64_t v;
    __asm__ volatile("mov %%fs:(%1), %0" : "=r"(v) : "r"((uint64_t)&ldt_probe - 0x1000));
    check_eq("read through %fs uses the LDT descriptor's base", (long)v, 0x1dea5eed);
    check_eq("LDT DPL 0 descriptor fixed up to DPL 3 once taken", (long)DPL(ldt1[2]), 3);
    check_true("LDT page cannot be mapped writable", remap(ldt1, RW_FLAGS) < 0);
    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    __asm__ volatile("int3");
    v = 0;
    __asm__ volatile("mov %%fs:(%1), %0" : "=r"(v) : "r"((uint64_t)&ldt_probe - 0x1000));
    check_eq("%fs survives a hypercall and a trap", get_fs() == 0x0f && v == 0x1dea5eed, 1);
    set_fs(0x17);
    check_eq("%fs loads LDT selector 0x17", get_fs(), 0x17);
    set_fs(0);
    HYPERVISOR_set_segment_base(SEGBASE_FS, 0);
    traps = 0;
    set_fs(0x1f);
    check_eq("LDT selector beyond its entries -> #GP", traps == 1 && trap_vec == 13, 1);
    check_eq("... error code is the selector", (long)trap_ec, 0x1c);
    uint64_t ma = virt_to_mfn(ldt1) << 12;
    check_eq("update_descriptor LDT entry 1 not present -> 0",
             HYPERVISOR_update_descriptor(ma + 8, DATA_NP), 0);
    traps = 0;
    set_fs(0x0f);
    check_eq("not-present LDT selector -> #NP", traps == 1 && trap_vec == 11, 1);
    check_eq("... error code is the selector", (long)trap_ec, 0x0c);
    check_eq("update_descriptor LDT entry 1 present again -> 0",
             HYPERVISOR_update_descriptor(ma + 8, DATA_B1000), 0);
    traps = 0;
    set_fs(0x0f);
    check_eq("... and it loads again", traps == 0 && get_fs() == 0x0f, 1);
    /* Loaded, then made not present: the CPU keeps the cached descriptor
     * (on Xen too) until the hv loads the register again - which it does
     * when it switches back to this vcpu after another ran: the register
     * cannot be loaded, so the failsafe callback gets the old selectors
     * (Xen's load_segments). As dom0 alone nothing else runs in the poll
     * (Xen and Xenolith keep the vcpu's state), as a domU next to a
     * beating dom0 it is switched out and back in. */
    check_eq("update_descriptor LDT entry 1 not present while %fs holds it -> 0",
             HYPERVISOR_update_descriptor(ma + 8, DATA_NP), 0);
    v = 0;
    __asm__ volatile("mov %%fs:(%1), %0" : "=r"(v) : "r"((uint64_t)&ldt_probe - 0x1000));
    check_eq("%fs keeps its cached descriptor", get_fs() == 0x0f && v == 0x1dea5eed, 1);
    check_eq("register our failsafe callback", set_failsafe(pvd_failsafe), 0);
    failsafe_count = 0;
    if (guest_shared_info) {
        struct sched_poll sp = { .nr_ports = 0,
                                 .timeout = pvclock_read(&guest_shared_info->vcpu_info[0].time) +
                                            300000000ULL };
        HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
    }
    if (failsafe_count)
        printk("pv_desc: failsafe callback %lu time(s), fs 0x%lx in its frame, %%fs now 0x%x\n",
               (unsigned long)failsafe_count, (unsigned long)failsafe_fs, get_fs());
    else
        printk("pv_desc: no other vcpu ran during the poll: no failsafe callback\n");
    set_failsafe(guest_failsafe_callback);
    set_fs(0);
    HYPERVISOR_set_segment_base(SEGBASE_FS, 0);
    check_eq("update_descriptor LDT entry 1 present again -> 0",
             HYPERVISOR_update_descriptor(ma + 8, DATA_B1000), 0);
    set_fs(0);
    HYPERVISOR_set_segment_base(SEGBASE_FS, 0);

    /* A page with a descriptor check_descriptor refuses cannot be taken. */
    ldt2[0] = TSS_DESC;
    ldt2[1] = DATA_DPL3;
    check_eq("remap second LDT page read-only", remap(ldt2, RO_FLAGS), 0);
    check_eq("set_ldt to a page holding a TSS descriptor -> 0 (taken only when used)",
             set_ldt(ldt2, 2), 0);
    check_eq("replaced LDT page can be mapped writable again", remap(ldt1, RW_FLAGS), 0);
    traps = 0;
    set_fs(0x0f);
    check_eq("using it -> #PF", traps == 1 && trap_vec == 14, 1);
    check_eq("... at the descriptor's address", (long)trap_cr2, (long)&ldt2[1]);
    check_eq("... error code 0 (kernel read, not present)", (long)trap_ec, 0);
    check_eq("set_ldt 0 entries -> 0", set_ldt(NULL, 0), 0);
    check_eq("the second page maps writable", remap(ldt2, RW_FLAGS), 0);
    traps = 0;
    set_fs(0x0f);
    check_eq("LDT selector with no LDT -> #GP", traps == 1 && trap_vec == 13, 1);
    set_fs(0);
    if (keep) {
        /* End with an LDT whose page is taken: destroy must return it. */
        remap(ldt1, RO_FLAGS);
        set_ldt(ldt1, 3);
        set_fs(0x0f);
        HYPERVISOR_set_segment_base(SEGBASE_FS, 0);
        printk("pv_desc: keeping the LDT (%%fs=0x%x)\n", get_fs());
    }
}

int guest_main(start_info_t *si)
{
    if (xl_pvh_refuse("pv_desc"))
        return SHUTDOWN_poweroff;
    char buf[8];
    int keep = cmdline_get(si, "keep", buf, sizeof(buf)) && buf[0] == '1';

    check_eq("traps_init -> 0", traps_init(), 0);

    /* ---- set_gdt refusals ---- */
    gdt1[1] = DATA_DPL0;
    gdt1[2] = DATA_DPL3;
    gdt1[3] = TSS_DESC;
    gdt2[1] = DATA_DPL3;
    check_eq("set_gdt of a frame mapped writable -> -EINVAL", set_gdt1(gdt1, 16), -XEN_EINVAL);
    check_eq("remap GDT frame read-only", remap(gdt1, RO_FLAGS), 0);
    check_eq("set_gdt of a frame holding a TSS descriptor -> -EINVAL", set_gdt1(gdt1, 16),
             -XEN_EINVAL);
    check_eq("remap GDT frame writable again", remap(gdt1, RW_FLAGS), 0);
    gdt1[3] = 0;
    check_eq("remap GDT frame read-only", remap(gdt1, RO_FLAGS), 0);
    check_eq("set_gdt 7169 entries -> -EINVAL", set_gdt1(gdt1, 7169), -XEN_EINVAL);
    check_eq("set_gdt frame list unmapped -> -EFAULT",
             HYPERVISOR_set_gdt((unsigned long *)0x1000, 16), -XEN_EFAULT);
    unsigned long bogus = ~0UL >> 12;
    check_eq("set_gdt of a frame not ours -> -EINVAL", HYPERVISOR_set_gdt(&bogus, 16),
             -XEN_EINVAL);

    /* ---- an accepted GDT ---- */
    check_eq("set_gdt 512 entries -> 0", set_gdt1(gdt1, 512), 0);
    check_eq("DPL 0 data descriptor fixed up to DPL 3", (long)DPL(gdt1[1]), 3);
    check_eq("DPL 3 descriptor unchanged", (long)(gdt1[2] == DATA_DPL3), 1);
    check_true("GDT frame cannot be mapped writable", remap(gdt1, RW_FLAGS) < 0);
    set_es(0x0b);
    check_eq("%es loads selector 0x0b of our GDT", get_es(), 0x0b);
    set_ds(0x13);
    check_eq("%ds loads selector 0x13 of our GDT", get_ds(), 0x13);
    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    check_eq("%es and %ds survive a hypercall", get_es() == 0x0b && get_ds() == 0x13, 1);
    __asm__ volatile("int3");
    check_eq("%es survives a trap bounce", get_es() == 0x0b && traps == 1 && trap_vec == 3, 1);

    /* ---- update_descriptor ---- */
    uint64_t ma = virt_to_mfn(gdt1) << 12;
    check_eq("update_descriptor entry 4 -> 0", HYPERVISOR_update_descriptor(ma + 32, DATA_DPL0), 0);
    check_eq("entry 4 written, DPL 3", (long)(gdt1[4] == (DATA_DPL0 | (3ULL << 45))), 1);
    set_es(0x23);
    check_eq("%es loads the updated selector 0x23", get_es(), 0x23);
    check_eq("update_descriptor misaligned -> -EINVAL",
             HYPERVISOR_update_descriptor(ma + 36, DATA_DPL3), -XEN_EINVAL);
    check_eq("update_descriptor TSS -> -EINVAL", HYPERVISOR_update_descriptor(ma + 40, TSS_DESC),
             -XEN_EINVAL);
    uint64_t gate_hv = 0x1234ec00ULL << 32 | 0xe0085678ULL;
    check_eq("update_descriptor call gate to a hv selector -> -EINVAL",
             HYPERVISOR_update_descriptor(ma + 48, gate_hv), -XEN_EINVAL);
    uint64_t gate = 0x0000ec00ULL << 32 | 0x00105678ULL;
    check_eq("update_descriptor call gate to selector 0x10 -> 0",
             HYPERVISOR_update_descriptor(ma + 48, gate), 0);
    check_eq("call gate stored with DPL 0, its DPL in the selector RPL",
             (long)gdt1[6], (long)(0x00008c00ULL << 32 | 0x00135678ULL));
    check_eq("update_descriptor into a plain page -> 0",
             HYPERVISOR_update_descriptor(virt_to_mfn(plain) << 12, DATA_DPL3), 0);
    check_eq("plain page written", (long)(plain[0] == DATA_DPL3), 1);
    uint64_t l4_ma = virt_to_mfn((const void *)si->pt_base) << 12;
    check_eq("update_descriptor into a page table -> -EINVAL",
             HYPERVISOR_update_descriptor(l4_ma + 8 * 300, 0), -XEN_EINVAL);
    const uint64_t *l4 = (const uint64_t *)si->pt_base;
    check_eq("update_descriptor into a hv frame -> -EINVAL",
             HYPERVISOR_update_descriptor(l4[256] & PTE_ADDR, 0), -XEN_EINVAL);

    /* ---- faults on unusable selectors ---- */
    traps = 0;
    set_es(600 * 8 + 3);
    check_eq("selector beyond the GDT frames -> #GP", traps == 1 && trap_vec == 13, 1);
    check_eq("#GP error code is the selector", (long)trap_ec, 600 * 8);
    check_eq("update_descriptor not-present entry 5 -> 0",
             HYPERVISOR_update_descriptor(ma + 40, DATA_NP), 0);
    traps = 0;
    set_es(0x2b);
    check_eq("not-present selector -> #NP", traps == 1 && trap_vec == 11, 1);
    check_eq("#NP error code is the selector", (long)trap_ec, 0x28);
    set_es(0);
    set_ds(0);

    ldt_checks(keep);

    /* ---- replacing and dropping the GDT ---- */
    check_eq("remap second GDT frame read-only", remap(gdt2, RO_FLAGS), 0);
    check_eq("set_gdt to the second frame -> 0", set_gdt1(gdt2, 16), 0);
    check_eq("old GDT frame can be mapped writable again", remap(gdt1, RW_FLAGS), 0);
    check_true("new GDT frame cannot", remap(gdt2, RW_FLAGS) < 0);
    if (!keep) {
        check_eq("set_gdt 0 entries -> 0", HYPERVISOR_set_gdt(NULL, 0), 0);
        check_eq("dropped GDT frame can be mapped writable again", remap(gdt2, RW_FLAGS), 0);
    } else {
        set_es(0x0b); /* a selector of a GDT that is still set at the end */
        printk("pv_desc: keeping the GDT (2nd frame) and %%es=0x%x\n", get_es());
    }
    return check_summary("pv_desc");
}
