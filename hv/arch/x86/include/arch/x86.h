/*
 * x86.h - every inline-assembly accessor the hypervisor uses, as small
 * static inlines. Owns: nothing but instructions. Only the files directly
 * in hv/arch/x86 include it; hv/common and hv/arch/x86/pv stay
 * assembly-free so host tests can link them.
 */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" :: "r"(v) : "memory"); }
static inline void wbinvd(void) { __asm__ volatile("wbinvd" ::: "memory"); }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void halt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause"); }
/* Interrupts off, returning RFLAGS as they were; irq_restore puts IF back. */
static inline uint64_t irq_save(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(f) :: "memory");
    return f;
}
static inline void irq_restore(uint64_t f)
{
    if (f & (1 << 9))
        sti();
}

struct desc_ptr { uint16_t limit; uint64_t base; } __attribute__((packed));
static inline void lgdt(const struct desc_ptr *p) { __asm__ volatile("lgdt %0" :: "m"(*p)); }
static inline void lidt(const struct desc_ptr *p) { __asm__ volatile("lidt %0" :: "m"(*p)); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" :: "r"(sel)); }
static inline void lldt(uint16_t sel) { __asm__ volatile("lldt %0" :: "r"(sel)); }

/* Reload CS (far return) and the data segment registers after lgdt. */
static inline void load_segments(uint16_t cs, uint16_t ds)
{
    __asm__ volatile("pushq %q0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %w1, %%ds\n\t mov %w1, %%es\n\t mov %w1, %%ss\n\t"
                     "xor %%eax, %%eax\n\t mov %%ax, %%fs\n\t mov %%ax, %%gs"
                     :: "r"((uint64_t)cs), "r"(ds) : "rax", "memory");
}

/* Data segment selectors (the hv runs with whatever the guest loaded:
 * 64-bit mode ignores %ds/%es and the hv never uses %fs/%gs). */
static inline uint16_t read_ds(void) { uint16_t v; __asm__ volatile("mov %%ds, %0" : "=r"(v)); return v; }
static inline uint16_t read_es(void) { uint16_t v; __asm__ volatile("mov %%es, %0" : "=r"(v)); return v; }
static inline uint16_t read_fs(void) { uint16_t v; __asm__ volatile("mov %%fs, %0" : "=r"(v)); return v; }
static inline uint16_t read_gs(void) { uint16_t v; __asm__ volatile("mov %%gs, %0" : "=r"(v)); return v; }
/* Loading a selector whose descriptor is unusable faults: callers check
 * it first (cpu_data_selector_ok). %fs/%gs loads reset the base MSRs. */
static inline void load_ds(uint16_t s) { __asm__ volatile("mov %0, %%ds" :: "r"(s) : "memory"); }
static inline void load_es(uint16_t s) { __asm__ volatile("mov %0, %%es" :: "r"(s) : "memory"); }
static inline void load_fs(uint16_t s) { __asm__ volatile("mov %0, %%fs" :: "r"(s) : "memory"); }
static inline void load_gs(uint16_t s) { __asm__ volatile("mov %0, %%gs" :: "r"(s) : "memory"); }

/* cpu.c: the guest part of the CPU's GDT (entries below 0xe000). */
/* Make entries [0, nr_frames * 512) the contents of those frames (each
 * an hv pointer to 512 descriptors) and clear what the last call set. */
void cpu_set_guest_gdt(const uint64_t *const frames[], unsigned int nr_frames);
/* The CPU's LDT (LLDT'd through the hv's reserved GDT entry at HV_LDT):
 * entries [0, ents) become the contents of the frames (NULL: a frame not
 * mapped yet, its entries zero), the rest is cleared; ents 0 loads a null
 * LDT. */
void cpu_set_guest_ldt(const uint64_t *const frames[], unsigned int nr_frames, unsigned int ents);
/* May a data segment register be loaded with sel now (null, or a
 * present data / readable code descriptor of DPL 3 in the GDT or the
 * loaded LDT)? */
int cpu_data_selector_ok(uint16_t sel);
/* TSS.rsp0: where the CPU pushes the frame of an entry from ring 3. */
void cpu_set_rsp0(uint64_t rsp0);
/* The in-place frame top the CPU's syscall stub switches to. */
void cpu_set_syscall_frame(uint64_t frame_top);
/* traps.c: point the in-place guest frame at v's registers and enter v
 * (the first guest entry). Never returns. */
struct vcpu;
void arch_enter_first_guest(struct vcpu *v) __attribute__((noreturn));

static inline void fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" :: "r"(area) : "memory"); }
static inline void fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" :: "r"(area) : "memory"); }
/* Reset the x87 error pointers (FIP/FDP/FOP) to values of the hv's own:
 * clear pending exceptions, free st(7), load a known integer. */
static inline void x87_reset_error_pointers(const void *known)
{
    __asm__ volatile("fnclex\n\tffree %%st(7)\n\tfildl %0" :: "m"(*(const int *)known));
}
static inline void clts(void) { __asm__ volatile("clts" ::: "memory"); }

static inline uint64_t read_rbp(void) { uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }

#define MSR_EFER   0xc0000080
#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_CSTAR  0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_APIC_BASE 0x1b

#endif
