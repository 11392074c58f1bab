/*
 * cpu.c - descriptor tables and CPU registers: each CPU's GDT with Xen's
 * reserved selectors and its TSS (with its own IST stacks, percpu.h), the
 * IDT all CPUs share, the syscall MSRs of the PV hypercall path (LSTAR:
 * the CPU's own entry stub, copied into its struct percpu), and each
 * CPU's guest part of the GDT and LDT copy (the vcpu it runs).
 * Owns: gdt[], idt[], tss[]. Must never: give a guest a gate or selector
 * with more privilege than ring 3; write another CPU's GDT or LDT.
 */
#include <arch/x86.h>
#include <xenolith/arch.h>
#include <xenolith/console.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>
#include <xenolith/percpu.h>
#include <xenolith/pv_cpu.h>
#include <xen/xen.h>

#define GDT_ENTRIES (GDT_FIRST_RESERVED / 8 + 16)
#define SEL(s) ((s) / 8)

/* The boot CPU's GDT; an AP's is allocated by cpu_prepare_ap. The guest
 * entries below GDT_FIRST_RESERVED are only ever written into this one. */
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(4096)));
#define GDT_ORDER 4 /* an AP's GDT: 16 frames hold GDT_ENTRIES */
_Static_assert(sizeof(gdt) <= (PAGE_SIZE << GDT_ORDER), "GDT_ORDER too small");

struct tss {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3, iomap_base;
} __attribute__((packed));
/* One per CPU, each in a 128-byte slot of its own. */
static struct tss_slot {
    struct tss t;
} __attribute__((aligned(128))) tss[NR_CPUS];

struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, rsvd;
};
static struct idt_gate idt[256] __attribute__((aligned(16)));

/* The boot CPU's stack block (percpu.h): its IST stacks, and the slot
 * that makes this_cpu() work on them. Its kernel stack is entry.S's. NMI,
 * #DF and #MC run on IST1, a known-good stack. #DB has its own stack
 * (IST2), as on Xen since XSA-260: a guest data breakpoint on the value
 * it loads with `mov %ss` is delivered after the next instruction, and if
 * that is `syscall` the #DB arrives in ring 0 before the hv has switched
 * stacks - on the guest's %rsp, which must never be where the CPU writes
 * its frame. */
static uint8_t cpu0_stacks[PERCPU_STACK_SIZE] __attribute__((aligned(PERCPU_STACK_SIZE)));
extern const uint64_t trap_stub_table[256];
extern uint8_t hv_stack_top[];
extern uint8_t syscall_stub_start[], syscall_stub_end[], syscall_stub_frame[];

static void set_tss_desc(uint64_t *g, unsigned int idx, uint64_t base, uint32_t limit)
{
    g[idx] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
             ((uint64_t)(limit >> 16) << 48) | (((base >> 24) & 0xff) << 56);
    g[idx + 1] = base >> 32;
}

/* ---- the guest part of the GDT (entries below GDT_FIRST_RESERVED) ---- */

void cpu_set_guest_gdt(const uint64_t *const frames[], unsigned int nr_frames)
{
    struct percpu *pc = this_cpu();
    uint64_t *g = pc->gdt;
    BUG_ON(nr_frames * 512 > SEL(GDT_FIRST_RESERVED));
    for (unsigned int i = 0; i < nr_frames; i++)
        memcpy(&g[i * 512], frames[i], 4096);
    if (pc->guest_gdt_frames > nr_frames)
        memset(&g[nr_frames * 512], 0, (pc->guest_gdt_frames - nr_frames) * 4096);
    pc->guest_gdt_frames = nr_frames;
}

/* ---- the guest's LDT: an hv copy of its PGT_seg_desc frames ---- */

#define HV_LDT 0xe050 /* a 16-byte system descriptor after the TSS's */
#define LDT_MAX 8192
#define LDT_ORDER 4 /* an AP's LDT copy: 16 frames */
static uint64_t cpu0_ldt[LDT_MAX] __attribute__((aligned(4096)));
_Static_assert(sizeof(cpu0_ldt) <= (PAGE_SIZE << LDT_ORDER), "LDT_ORDER too small");

void cpu_set_guest_ldt(const uint64_t *const frames[], unsigned int nr_frames, unsigned int ents)
{
    struct percpu *pc = this_cpu();
    uint64_t *ldt = pc->ldt, *gd = pc->gdt;
    BUG_ON(ents > LDT_MAX || nr_frames * 512 < ents);
    for (unsigned int i = 0; i < nr_frames; i++) {
        unsigned int n = ents - i * 512 < 512 ? ents - i * 512 : 512;
        if (frames[i])
            memcpy(&ldt[i * 512], frames[i], n * 8);
        else
            memset(&ldt[i * 512], 0, n * 8);
    }
    if (pc->ldt_ents > ents)
        memset(&ldt[ents], 0, (pc->ldt_ents - ents) * 8);
    pc->ldt_ents = ents;
    if (!ents) {
        lldt(0);
        return;
    }
    uint64_t base = (uint64_t)ldt;
    uint32_t limit = ents * 8 - 1;
    gd[SEL(HV_LDT)] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x82ULL << 40) |
                       ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gd[SEL(HV_LDT) + 1] = base >> 32;
    lldt(HV_LDT);
}

int cpu_data_selector_ok(uint16_t sel)
{
    const struct percpu *pc = this_cpu();
    const uint64_t *ldt = pc->ldt, *gd = pc->gdt;
    unsigned int ldt_ents = pc->ldt_ents;
    if ((sel & ~3u) == 0)
        return 1; /* null */
    uint64_t desc;
    if (sel & 4) {
        if (sel / 8 >= ldt_ents)
            return 0;
        desc = ldt[sel / 8];
    } else {
        if (sel / 8 >= GDT_ENTRIES)
            return 0;
        desc = gd[sel / 8];
    }
    uint32_t hi = (uint32_t)(desc >> 32);
    unsigned int type = (hi >> 8) & 15;
    if (!(hi & (1u << 15)) || !(hi & (1u << 12)) || ((hi >> 13) & 3) != 3)
        return 0; /* not present, system, or not ring 3 */
    return !(type & 8) || (type & 2); /* data, or readable code */
}

/* The kernel stack the CPU switches to on an entry from ring 3 (the
 * running vcpu's in-place frame, see traps.c). */
void cpu_set_rsp0(uint64_t rsp0)
{
    ((struct tss *)this_cpu()->tss)->rsp[0] = rsp0;
}

/* The hv's entries of a CPU's GDT and its TSS (kernel stack rsp0, IST
 * stacks from its block), then load them on the CPU this runs on. */
static void gdt_init(struct percpu *pc, uint64_t rsp0)
{
    uint64_t *g = pc->gdt;
    struct tss *t = pc->tss;
    g[SEL(HV_CS)] = 0x00209a0000000000ULL;           /* ring 0, 64-bit code */
    g[SEL(HV_DS)] = 0x00cf92000000ffffULL;           /* ring 0 data */
    g[SEL(FLAT_RING3_CS32)] = 0x00cffa000000ffffULL; /* ring 3, 32-bit code */
    g[SEL(FLAT_RING3_DS32)] = 0x00cff2000000ffffULL; /* ring 3 data (also SS64) */
    g[SEL(FLAT_RING3_CS64)] = 0x0020fa0000000000ULL; /* ring 3, 64-bit code */
    t->rsp[0] = rsp0;
    pc->hv_stack_top = rsp0;
    /* Each IST stack starts 16 bytes below its top, where its first slot
     * holds the CPU's kernel stack top: an entry from a guest finds it at
     * the top of its frame, as on the in-place frame (vcpu.hv_rsp). */
    t->ist[0] = (uint64_t)(pc->stacks + PERCPU_IST1_TOP - 16);
    t->ist[1] = (uint64_t)(pc->stacks + PERCPU_IST2_TOP - 16);
    *(uint64_t *)t->ist[0] = rsp0;
    *(uint64_t *)t->ist[1] = rsp0;
    t->iomap_base = sizeof(*t); /* no I/O bitmap: ring 3 has no ports */
    set_tss_desc(g, SEL(HV_TSS), (uint64_t)t, sizeof(*t) - 1);
    struct desc_ptr p = { sizeof(gdt) - 1, (uint64_t)g };
    lgdt(&p);
    load_segments(HV_CS, HV_DS);
    ltr(HV_TSS);
    lldt(0);
}

static void idt_set(unsigned int vec, uint64_t handler, unsigned int dpl, unsigned int ist)
{
    idt[vec] = (struct idt_gate){
        .off0 = (uint16_t)handler, .sel = HV_CS, .ist = (uint8_t)ist,
        .type = (uint8_t)(0x8e | (dpl << 5)),
        .off1 = (uint16_t)(handler >> 16), .off2 = (uint32_t)(handler >> 32),
    };
}

static void idt_load(void)
{
    struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
    lidt(&p);
}

static void idt_init(void)
{
    for (unsigned int v = 0; v < 256; v++)
        idt_set(v, trap_stub_table[v], 0, 0);
    idt_set(3, trap_stub_table[3], 3, 0); /* int3 and into are legal in ring 3 */
    idt_set(4, trap_stub_table[4], 3, 0);
    idt_set(1, trap_stub_table[1], 0, 2); /* #DB: its own stack (see db_stack) */
    idt_set(2, trap_stub_table[2], 0, 1); /* NMI, #DF, #MC on a known-good stack */
    idt_set(8, trap_stub_table[8], 0, 1);
    idt_set(18, trap_stub_table[18], 0, 1);
    idt_load();
}

/* syscall from ring 3 enters the CPU's copy of entry.S's stub on
 * __HYPERVISOR_CS; IF, TF, DF, NT and AC are cleared on entry (AMD APM
 * vol 2, 6.1.1). The stub is position independent: its data (the frame
 * top, the saved guest %rsp, the common entry's address) sit right after
 * its code and are reached RIP-relative. */
static void syscall_init(struct percpu *pc)
{
    size_t n = (size_t)(syscall_stub_end - syscall_stub_start);
    BUG_ON(n > SYSCALL_STUB_SIZE);
    memcpy(pc->syscall_stub, syscall_stub_start, n);
    wrmsr(MSR_STAR, ((uint64_t)FLAT_RING3_CS32 << 48) | ((uint64_t)HV_CS << 32));
    wrmsr(MSR_LSTAR, (uint64_t)pc->syscall_stub);
    wrmsr(MSR_CSTAR, (uint64_t)pc->syscall_stub);
    wrmsr(MSR_SFMASK, 0x47700);
}

/* The in-place frame `syscall` builds on this CPU: the running vcpu's
 * (traps.c), in the CPU's stub. */
void cpu_set_syscall_frame(uint64_t frame_top)
{
    struct percpu *pc = this_cpu();
    uint64_t *slot = (uint64_t *)(pc->syscall_stub + (syscall_stub_frame - syscall_stub_start));
    *slot = frame_top;
}

/* FXSAVE's MXCSR_MASK (bytes 28..31; 0 means the architectural 0xffbf). */
static uint32_t mxcsr_mask;

uint32_t arch_mxcsr_mask(void)
{
    return mxcsr_mask;
}

/* AMD CPUs without RstrFpErrPtrs (CPUID 0x80000008 EBX bit 2) save and
 * restore the x87 FIP/FDP/FOP only while an exception is pending, so
 * FXRSTOR would leave the previous vcpu's pointers for the next to read
 * (Xen's XSA-172 workaround clears them first). */
static int fpu_keeps_error_pointers;

static void fpu_probe(void)
{
    static uint8_t area[512] __attribute__((aligned(16)));
    uint32_t r[4];
    clts();
    fxsave(area);
    memcpy(&mxcsr_mask, area + 28, sizeof(mxcsr_mask));
    if (!mxcsr_mask)
        mxcsr_mask = 0xffbf;
    cpuid(0, 0, r);
    int amd = r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163; /* AuthenticAMD */
    cpuid(0x80000000, 0, r);
    uint32_t max_ext = r[0];
    r[1] = 0;
    if (max_ext >= 0x80000008)
        cpuid(0x80000008, 0, r);
    fpu_keeps_error_pointers = amd && !(r[1] & (1u << 2));
}

void cpu_fpu_load(const uint8_t img[512])
{
    /* FSW & ~FCW & 0x3f: an unmasked exception pending in the image makes
     * FXRSTOR load the pointers anyway. */
    uint16_t fcw, fsw;
    memcpy(&fcw, img, 2);
    memcpy(&fsw, img + 2, 2);
    if (fpu_keeps_error_pointers && !(fsw & ~fcw & 0x3f))
        x87_reset_error_pointers(img);
    fxrstor(img);
}

/* The boot CPU: percpu[0], with the static GDT, TSS and stack block. */
void cpu_init(void)
{
    struct percpu *pc = &percpu[0];
    pc->cpu_id = 0;
    pc->gdt = gdt;
    pc->tss = &tss[0].t;
    pc->stacks = cpu0_stacks;
    pc->ldt = cpu0_ldt;
    pc->hw_cr0_ts = -1; /* CR0.TS as the firmware left it: not known */
    *(struct percpu **)(cpu0_stacks + PERCPU_STACK_TOP) = pc;
    pc->state = CPU_ONLINE;
    gdt_init(pc, (uint64_t)hv_stack_top);
    idt_init();
    syscall_init(pc);
    fpu_probe();
}

int cpu_prepare_ap(struct percpu *pc)
{
    BUG_ON(!pc->cpu_id || pc->cpu_id >= NR_CPUS);
    int64_t g = mm_alloc_frames(DOMID_HV_OWNED, GDT_ORDER); /* zeroed */
    if (g < 0)
        return (int)g;
    pc->gdt = mfn_to_virt((uint64_t)g);
    int64_t l = mm_alloc_frames(DOMID_HV_OWNED, LDT_ORDER); /* zeroed */
    if (l < 0)
        return (int)l; /* its GDT stays allocated, as its stacks do */
    pc->ldt = mfn_to_virt((uint64_t)l);
    pc->tss = &tss[pc->cpu_id].t;
    memset(pc->tss, 0, sizeof(struct tss));
    return 0;
}

/* On the AP itself, from smp.c's ap_start: its GDT and TSS (kernel stack
 * at the top of its block), the shared IDT, the syscall MSRs. */
void cpu_init_ap(struct percpu *pc)
{
    gdt_init(pc, (uint64_t)(pc->stacks + PERCPU_STACK_TOP));
    idt_load();
    syscall_init(pc);
}
