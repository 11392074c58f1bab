/*
 * pv_desc.c - a 64-bit PV guest's own descriptor table: set_gdt and
 * update_descriptor as Xen 4.17 has them. GDT frames hold a
 * PGT_seg_desc type reference (so they cannot be mapped writable) and
 * every descriptor in them passed pv_check_descriptor; the arch code
 * copies them into the CPU's GDT below the hv's reserved entries while
 * the vcpu runs (hv/arch/x86/traps.c, gdt_gen says when to recopy).
 * Owns: pv_vcpu.gdt_frames / gdt_ents / gdt_gen. Must never: let an
 * unchecked descriptor reach a frame that is, or may become, a GDT, or
 * leak a type reference (destroy returns every frame).
 */
#include <xenolith/domain.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/lib.h>
#include <xenolith/mm.h>

/* Strictly increasing, so a reused vcpu slot never matches what the
 * CPU's GDT was last loaded with. */
static uint64_t gdt_generation;

static void gdt_changed(struct vcpu *v)
{
    v->pv.gdt_gen = ++gdt_generation;
}

static unsigned int gdt_nr_frames(unsigned int ents)
{
    return (ents + 511) / 512;
}

/* A descriptor in frame mfn of d changed: every vcpu of d whose GDT or
 * LDT holds the frame recopies it (on Xen they all see the frame itself,
 * mapped); one running on another CPU is kicked so it does so on its
 * way back to the guest, not at its next unrelated entry. */
static void desc_frame_changed(struct domain *d, uint64_t mfn)
{
    struct vcpu *u;
    for_each_vcpu(d, u) {
        int uses = 0;
        for (unsigned int i = 0; i < gdt_nr_frames(u->pv.gdt_ents); i++)
            uses |= u->pv.gdt_frames[i] == mfn;
        for (unsigned int i = 0; i < PV_LDT_MAX_FRAMES; i++)
            uses |= u->pv.ldt_frames[i] == mfn;
        if (uses) {
            gdt_changed(u);
            if (u->running && u->processor != arch_cpu_id())
                arch_kick_cpu(u->processor);
        }
    }
}

static void destroy_gdt_frames(struct vcpu *v)
{
    unsigned int nr = gdt_nr_frames(v->pv.gdt_ents);
    for (unsigned int i = 0; i < nr; i++)
        put_page_and_type(v->pv.gdt_frames[i]);
    memset(v->pv.gdt_frames, 0, sizeof(v->pv.gdt_frames));
    v->pv.gdt_ents = 0;
    gdt_changed(v);
}

static void destroy_ldt_frames(struct vcpu *v)
{
    for (unsigned int i = 0; i < PV_LDT_MAX_FRAMES; i++)
        if (v->pv.ldt_frames[i]) {
            put_page_and_type(v->pv.ldt_frames[i]);
            v->pv.ldt_frames[i] = 0;
        }
    gdt_changed(v);
}

void pv_destroy_gdt(struct vcpu *v)
{
    destroy_gdt_frames(v);
    destroy_ldt_frames(v);
    v->pv.ldt_base = 0;
    v->pv.ldt_ents = 0;
}

void pv_set_ldt(struct vcpu *v, uint64_t base, unsigned int ents)
{
    destroy_ldt_frames(v);
    v->pv.ldt_base = ents ? base : 0;
    v->pv.ldt_ents = ents;
}

/* Check (and fix up in place) all 512 descriptors of a frame that just
 * became PGT_seg_desc, as Xen validates a new segment-descriptor page. */
static int validate_desc_frame(uint64_t mfn)
{
    uint64_t *d = mfn_to_virt(mfn);
    for (unsigned int i = 0; i < 512; i++)
        if (!pv_check_descriptor(&d[i]))
            return -XL_EINVAL;
    return 0;
}

/* Take frame mfn of the domain as a descriptor frame (checking every
 * descriptor if it just became one), as set_gdt does for each frame. */
static int take_desc_frame(uint64_t mfn, uint16_t domid)
{
    if (get_page_and_type(mfn, domid, PGT_seg_desc))
        return -XL_EINVAL;
    if (frame_table[mfn].type_count == 1 && validate_desc_frame(mfn)) {
        put_page_and_type(mfn);
        return -XL_EINVAL;
    }
    return 0;
}

/* Xen's pv_map_ldt_shadow_page: the page is found through the guest's
 * kernel page tables (present; the frame the domain's own) and must take
 * the PGT_seg_desc type. */
static int ldt_take_page(struct vcpu *v, unsigned int page)
{
    uint64_t maddr;
    if (v->pv.ldt_frames[page])
        return 0;
    if (guest_translate(v->guest_table << PAGE_SHIFT, v->pv.ldt_base + page * PAGE_SIZE, 0,
                        &maddr))
        return -XL_EFAULT;
    if (take_desc_frame(maddr >> PAGE_SHIFT, v->domain->domid))
        return -XL_EINVAL;
    v->pv.ldt_frames[page] = maddr >> PAGE_SHIFT;
    gdt_changed(v); /* the CPU's LDT copy gets the page */
    return 0;
}

static int canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFF;
}

int pv_ldt_fault(struct vcpu *v, struct cpu_regs *regs, uint32_t error_code)
{
    unsigned int idx = (error_code & 0xfff8) >> 3;
    if ((error_code & 7) != 4 || idx >= v->pv.ldt_ents ||
        v->pv.ldt_frames[idx * 8 / PAGE_SIZE])
        return 0; /* not an LDT selector, or its page is there: a real #GP */
    if (!ldt_take_page(v, idx * 8 / PAGE_SIZE))
        return 1; /* retry the instruction with the page in the CPU's LDT */
    uint64_t va = v->pv.ldt_base + idx * 8;
    if (!canonical(va))
        return 0; /* Xen: #GP(selector) */
    pv_inject_exception(v, regs, 14, 0, va);
    return 1;
}

long pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int entries)
{
    uint16_t domid = v->domain->domid;
    unsigned int i, nr;

    if (entries > PV_GDT_MAX_ENTRIES)
        return -XL_EINVAL;
    nr = gdt_nr_frames(entries);
    for (i = 0; i < nr; i++) {
        if (get_page_and_type(frames[i], domid, PGT_seg_desc))
            goto fail;
        if (frame_table[frames[i]].type_count == 1 && validate_desc_frame(frames[i])) {
            put_page_and_type(frames[i]);
            goto fail;
        }
    }
    destroy_gdt_frames(v);
    for (i = 0; i < nr; i++)
        v->pv.gdt_frames[i] = frames[i];
    v->pv.gdt_ents = entries;
    gdt_changed(v);
    return 0;

fail:
    while (i-- > 0)
        put_page_and_type(frames[i]);
    return -XL_EINVAL;
}

HYPERCALL_DECL(set_gdt)
{
    unsigned int entries = (unsigned int)a2;
    unsigned long frames[PV_GDT_MAX_FRAMES];

    if (entries > PV_GDT_MAX_ENTRIES)
        return -XL_EINVAL;
    unsigned int nr = gdt_nr_frames(entries);
    if (nr && copy_from_guest_va(v->cr3, frames, a1, nr * sizeof(frames[0])))
        return -XL_EFAULT;
    return pv_set_gdt(v, frames, entries);
}

HYPERCALL_DECL(update_descriptor)
{
    uint64_t maddr = a1, desc = a2, mfn = a1 >> PAGE_SHIFT;
    uint16_t domid = v->domain->domid;

    if ((maddr & 7) || !pv_check_descriptor(&desc))
        return -XL_EINVAL;
    if (get_page(mfn, domid))
        return -XL_EINVAL; /* not a frame of the caller */
    const struct page_info *pg = &frame_table[mfn];
    int seg = pg->type_count && pg->type == PGT_seg_desc;
    if (get_page_type(mfn, seg ? PGT_seg_desc : PGT_writable)) {
        put_page(mfn); /* a page table (or otherwise typed): refused */
        return -XL_EINVAL;
    }
    ((volatile uint64_t *)mfn_to_virt(mfn))[(maddr & (PAGE_SIZE - 1)) >> 3] = desc;
    put_page_type(mfn);
    put_page(mfn);
    if (seg)
        desc_frame_changed(v->domain, mfn);
    return 0;
}
