/*
 * test_build.c - host unit test of the dom0 back end of the PV domain
 * builder (toolstack/libxc/build.c) on top of ctrl.c and the
 * shared builder core (hv/shared/pv_build.c), against a fake hypervisor.
 * Tests: xl_build_pv's hypercall sequence (getdomaininfo, max_vcpus,
 * max_mem, populate_physmap, alloc_unbound x2, foreign maps, M2P batch,
 * PIN_L4 with foreigndom, setvcpucontext), that nothing is mapped when
 * the L4 is pinned, and the domain's memory image afterwards (page tables
 * walked by hand, start_info incl. store/console, P2M, ELF bytes,
 * hypercall page); refusals leave nothing mapped.
 * Mocks: xc_hypercall. The fake keeps the domain's frames in an array;
 * update_va_mapping(_otherdomain) on ctrl.c's window copies a window page
 * back to its frame when it is remapped or emptied and the frame's bytes
 * in when mapped, so writes through the window land in the frames as on
 * real hardware.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../toolstack/libxc/build.h"
#include "../../toolstack/libxc/ctrl.h"
#include <xenolith/elf.h>
#include <xenolith/errno.h>
#include <xenolith/hypercall_page.h>
#include <xenolith/pv_build.h>
#include <xen/elfnote.h>

#define DOMID     3
#define SHINFO    0x4242
#define NFRAMES   9000
#define MFN_BASE  1000  /* fake mfn = MFN_BASE + index, handed out scrambled */
#define MEM_MB    8
#define P  0x1ULL
#define RW 0x2ULL
#define US 0x4ULL
#define ADDR_MASK 0x000FFFFFFFFFF000ULL

static uint8_t (*frames)[4096];
static uint64_t m2p[NFRAMES];
static unsigned int nr_given;
static uint64_t max_memkb;
static unsigned int max_vcpus_set;
static int pinned;
static uint64_t pinned_mfn;
static vcpu_guest_context_t ctx_set;
static int ctx_calls;
static int evtchn_calls;
static unsigned int mapped_now;
static int fail_populate;

struct wslot { uint8_t *va; int64_t idx; };
static struct wslot wslots[XC_WINDOW_PAGES];

static int64_t frame_index(uint64_t mfn)
{
    if (mfn < MFN_BASE || mfn >= MFN_BASE + nr_given)
        return -1;
    return (int64_t)(mfn - MFN_BASE);
}

static struct wslot *wslot_of(uint8_t *va)
{
    for (unsigned i = 0; i < XC_WINDOW_PAGES; i++)
        if (wslots[i].va == va)
            return &wslots[i];
    for (unsigned i = 0; i < XC_WINDOW_PAGES; i++)
        if (!wslots[i].va) {
            wslots[i] = (struct wslot){ va, -1 };
            return &wslots[i];
        }
    fail_msg("too many window pages");
    return NULL;
}

static void wslot_set(uint8_t *va, int64_t idx)
{
    assert_true(xc_foreign_window_contains(va));
    assert_int_equal((uintptr_t)va & 4095, 0);
    struct wslot *w = wslot_of(va);
    if (w->idx >= 0) {
        memcpy(frames[w->idx], va, 4096);
        mapped_now--;
    }
    w->idx = idx;
    if (idx >= 0) {
        memcpy(va, frames[idx], 4096);
        mapped_now++;
    } else {
        memset(va, 0xAB, 4096); /* an empty PTE: nothing real there */
    }
}

static long fake_domctl(struct xen_domctl *d)
{
    assert_int_equal(d->interface_version, XEN_DOMCTL_INTERFACE_VERSION);
    assert_int_equal(d->domain, DOMID);
    switch (d->cmd) {
    case XEN_DOMCTL_getdomaininfo:
        memset(&d->u.getdomaininfo, 0, sizeof(d->u.getdomaininfo));
        d->u.getdomaininfo.domain = DOMID;
        d->u.getdomaininfo.shared_info_frame = SHINFO;
        d->u.getdomaininfo.flags = XEN_DOMINF_paused;
        return 0;
    case XEN_DOMCTL_max_vcpus:
        max_vcpus_set = d->u.max_vcpus.max;
        return 0;
    case XEN_DOMCTL_max_mem:
        max_memkb = d->u.max_mem.max_memkb;
        return 0;
    case XEN_DOMCTL_setvcpucontext:
        assert_int_equal(d->u.vcpucontext.vcpu, 0);
        memcpy(&ctx_set, d->u.vcpucontext.ctxt.p, sizeof(ctx_set));
        ctx_calls++;
        return 0;
    }
    fail_msg("unexpected domctl %u", d->cmd);
    return -XEN_ENOSYS;
}

long xc_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                  uint64_t a5)
{
    switch (nr) {
    case __HYPERVISOR_domctl:
        return fake_domctl((struct xen_domctl *)(uintptr_t)a1);
    case __HYPERVISOR_memory_op: {
        assert_int_equal(a1, XENMEM_populate_physmap);
        struct xen_memory_reservation *r = (void *)(uintptr_t)a2;
        assert_int_equal(r->domid, DOMID);
        assert_int_equal(r->extent_order, 0);
        assert_true(max_memkb >= (uint64_t)r->nr_extents << 2); /* max_mem came first */
        assert_true(r->nr_extents <= NFRAMES);
        unsigned long n = fail_populate ? r->nr_extents / 2 : r->nr_extents;
        for (unsigned long i = 0; i < n; i++) {
            assert_int_equal(r->extent_start.p[i], i); /* pfn in */
            /* scrambled but distinct: pfn i -> index (i * 7) % n' */
            r->extent_start.p[i] = MFN_BASE + (i * 7919) % r->nr_extents;
        }
        nr_given = (unsigned int)r->nr_extents;
        return (long)n;
    }
    case __HYPERVISOR_event_channel_op: {
        assert_int_equal(a1, EVTCHNOP_alloc_unbound);
        struct evtchn_alloc_unbound *a = (void *)(uintptr_t)a2;
        assert_int_equal(a->dom, DOMID);
        assert_int_equal(a->remote_dom, 0);
        a->port = (evtchn_port_t)(5 + evtchn_calls++);
        return 0;
    }
    case __HYPERVISOR_update_va_mapping_otherdomain: {
        assert_int_equal(a4, DOMID);
        assert_int_equal(a3, UVMF_INVLPG | UVMF_LOCAL);
        assert_int_equal(a2 & (P | RW | US), P | RW | US);
        int64_t idx = frame_index((a2 & ADDR_MASK) >> 12);
        if (idx < 0)
            return -XEN_EINVAL;
        assert_false(pinned);
        wslot_set((uint8_t *)(uintptr_t)a1, idx);
        return 0;
    }
    case __HYPERVISOR_update_va_mapping:
        assert_int_equal(a2, 0);
        wslot_set((uint8_t *)(uintptr_t)a1, -1);
        return 0;
    case __HYPERVISOR_mmu_update: {
        mmu_update_t *u = (void *)(uintptr_t)a1;
        assert_int_equal(a4, DOMID);
        assert_true(a2 >= 1 && a2 <= XC_MMU_BATCH);
        for (unsigned i = 0; i < a2; i++) {
            assert_int_equal(u[i].ptr & 7, MMU_MACHPHYS_UPDATE);
            int64_t idx = frame_index(u[i].ptr >> 12);
            assert_true(idx >= 0);
            m2p[idx] = u[i].val;
        }
        *(unsigned int *)(uintptr_t)a3 = (unsigned int)a2;
        return 0;
    }
    case __HYPERVISOR_mmuext_op: {
        struct mmuext_op *op = (void *)(uintptr_t)a1;
        assert_int_equal(a2, 1);
        assert_int_equal(a4, DOMID);
        assert_int_equal(op->cmd, MMUEXT_PIN_L4_TABLE);
        /* The rule: dom0 maps none of the domain's frames at pin time. */
        assert_int_equal(mapped_now, 0);
        pinned = 1;
        pinned_mfn = op->arg1.mfn;
        *(unsigned int *)(uintptr_t)a3 = 1;
        return 0;
    }
    }
    fail_msg("unexpected hypercall %u", nr);
    return -XEN_ENOSYS;
}

/* ---- a small PV kernel image (one PT_LOAD with .bss, Xen notes) ---- */
#define IMG_SIZE   0x3000
#define NOTE_OFF   0x200
#define SEG_OFF    0x1000
#define SEG_FILESZ 0x1800
#define SEG_MEMSZ  0x3000
#define KVIRT_BASE 0xffffffff80000000ULL
#define SEG_VADDR  0xffffffff80002000ULL
#define ENTRY      (SEG_VADDR + 0x10)
#define HCALL_VA   (SEG_VADDR + 0x2000)

static uint64_t img_store[IMG_SIZE / 8];
static size_t note_len;
static uint8_t *img(void) { return (uint8_t *)img_store; }
static elf64_phdr *phdr(int i) { return (elf64_phdr *)(img() + 64) + i; }
static uint8_t code_byte(size_t i) { return (uint8_t)(i * 13 + 1); }

static void note(uint32_t type, const void *desc, uint32_t len)
{
    uint8_t *p = img() + NOTE_OFF + note_len;
    uint32_t padded = (len + 3) & ~3u, hdr[3] = { 4, len, type };
    memcpy(p, hdr, 12);
    memcpy(p + 12, "Xen", 4);
    memset(p + 16, 0, padded);
    memcpy(p + 16, desc, len);
    note_len += 16 + padded;
    phdr(1)->p_filesz = note_len;
}
static void note64(uint32_t type, uint64_t v) { note(type, &v, 8); }
static void note_str(uint32_t type, const char *s) { note(type, s, (uint32_t)strlen(s) + 1); }

static void build_image(void)
{
    memset(img_store, 0, sizeof(img_store));
    note_len = 0;
    elf64_ehdr *e = (elf64_ehdr *)img_store;
    memcpy(e->e_ident, "\x7f" "ELF", 4);
    e->e_ident[4] = 2, e->e_ident[5] = 1, e->e_ident[6] = 1;
    e->e_type = 2, e->e_machine = 62, e->e_version = 1, e->e_entry = ENTRY;
    e->e_phoff = 64, e->e_ehsize = sizeof(*e), e->e_phentsize = sizeof(elf64_phdr), e->e_phnum = 2;
    *phdr(0) = (elf64_phdr){ ELF_PT_LOAD, 7, SEG_OFF, SEG_VADDR, SEG_VADDR - KVIRT_BASE,
                             SEG_FILESZ, SEG_MEMSZ, 0x1000 };
    *phdr(1) = (elf64_phdr){ ELF_PT_NOTE, 4, NOTE_OFF, 0, 0, 0, 0, 4 };
    for (size_t i = 0; i < SEG_FILESZ; i++)
        img()[SEG_OFF + i] = code_byte(i);
    note64(XEN_ELFNOTE_VIRT_BASE, KVIRT_BASE);
    note64(XEN_ELFNOTE_PADDR_OFFSET, 0);
    note64(XEN_ELFNOTE_ENTRY, ENTRY);
    note64(XEN_ELFNOTE_HYPERCALL_PAGE, HCALL_VA);
    note_str(XEN_ELFNOTE_LOADER, "generic");
    note_str(XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
}

static int setup(void **state)
{
    frames = calloc(NFRAMES, 4096);
    assert_non_null(frames);
    memset(frames, 0xEE, (size_t)NFRAMES * 4096); /* not zeroed: the builder must not rely on it for tables */
    memset(m2p, 0xff, sizeof(m2p));
    memset(wslots, 0, sizeof(wslots));
    nr_given = 0, max_memkb = 0, max_vcpus_set = 0, pinned = 0, pinned_mfn = 0;
    ctx_calls = 0, evtchn_calls = 0, mapped_now = 0, fail_populate = 0;
    memset(&ctx_set, 0, sizeof(ctx_set));
    build_image();
    return 0;
}

static int teardown(void **state)
{
    free(frames);
    return 0;
}

static uint8_t *frame(uint64_t mfn)
{
    int64_t i = frame_index(mfn);
    if (i < 0)
        fail_msg("mfn %#lx not the domain's", (unsigned long)mfn);
    return frames[i];
}

static uint64_t walk(uint64_t l4, uint64_t va)
{
    uint64_t t = l4;
    for (int level = 4; level >= 1; level--) {
        uint64_t e = ((uint64_t *)frame(t))[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & P))
            return 0;
        if (level == 1)
            return e;
        assert_int_equal(e & (P | RW | US), P | RW | US);
        t = (e & ADDR_MASK) >> 12;
    }
    return 0;
}

static uint8_t *gptr(uint64_t l4, uint64_t va)
{
    uint64_t e = walk(l4, va);
    if (!e)
        fail_msg("va %#lx not mapped", (unsigned long)va);
    return frame((e & ADDR_MASK) >> 12) + (va & 4095);
}

/* The builder's P2M scratch is the caller's. */
static uint64_t p2m_scratch[(uint64_t)MEM_MB << 8];

static int build(const void *k, size_t klen, const char *cmdline, unsigned int mem_mb,
                 struct xl_build_out *out, const char **why)
{
    const struct xl_build_args a = {
        .kernel = k, .kernel_len = klen, .cmdline = cmdline, .memory_mb = mem_mb,
        .p2m = p2m_scratch, .p2m_entries = sizeof(p2m_scratch) / sizeof(p2m_scratch[0]),
    };
    return xl_build_pv(DOMID, &a, out, why);
}

static void test_build_pv_ok(void **state)
{
    struct xl_build_out out;
    const char *why = NULL;
    int rc = build(img_store, IMG_SIZE, "root=/dev/xvda1", MEM_MB, &out, &why);
    if (rc)
        fail_msg("xl_build_pv: %d (%s)", rc, why);
    uint64_t nr = (uint64_t)MEM_MB << 8;
    assert_int_equal(out.nr_pages, nr);
    assert_int_equal(nr_given, nr);
    assert_int_equal(max_vcpus_set, 1);
    assert_int_equal(max_memkb, MEM_MB * 1024);
    assert_int_equal(evtchn_calls, 2);
    assert_int_equal(out.store_evtchn, 5);
    assert_int_equal(out.console_evtchn, 6);
    assert_true(pinned);
    assert_int_equal(pinned_mfn, out.l4_mfn);
    assert_int_equal(mapped_now, 0);
    /* M2P: every frame names its pfn. */
    for (uint64_t pfn = 0; pfn < nr; pfn++)
        assert_int_equal(m2p[(pfn * 7919) % nr], pfn);

    /* vcpu context. */
    assert_int_equal(ctx_calls, 1);
    assert_int_equal(ctx_set.user_regs.rip, ENTRY);
    assert_int_equal(ctx_set.ctrlreg[3], out.l4_mfn << 12);
    assert_int_equal(ctx_set.user_regs.cs, FLAT_KERNEL_CS);
    assert_int_equal(ctx_set.user_regs.ss, FLAT_KERNEL_SS);
    assert_int_equal(ctx_set.kernel_ss, FLAT_KERNEL_SS);
    assert_true(ctx_set.flags & VGCF_in_kernel);
    assert_int_equal(ctx_set.user_regs.rsi, out.start_info_va);
    uint64_t l4 = out.l4_mfn;

    /* start_info through the guest's own page tables. */
    start_info_t si;
    memcpy(&si, gptr(l4, out.start_info_va), sizeof(si));
    assert_string_equal(si.magic, "xen-3.0-x86_64");
    assert_int_equal(si.nr_pages, nr);
    assert_int_equal(si.shared_info, (uint64_t)SHINFO << 12);
    assert_int_equal(si.flags, 0);
    assert_int_equal(si.store_mfn, out.store_mfn);
    assert_int_equal(si.store_evtchn, 5);
    assert_int_equal(si.console.domU.mfn, out.console_mfn);
    assert_int_equal(si.console.domU.evtchn, 6);
    assert_string_equal((char *)si.cmd_line, "root=/dev/xvda1");
    assert_int_equal(ctx_set.user_regs.rsp, si.pt_base + si.nr_pt_frames * 4096 + 4096);

    /* The L4: no hv slots (the hv fills them), the kernel's slot. */
    const uint64_t *t4 = (const uint64_t *)frame(l4);
    for (unsigned s = 0; s < 511; s++)
        assert_int_equal(t4[s], 0);
    /* Every page of the mapping maps pfn's frame; the tables read-only. */
    uint64_t v_end = KVIRT_BASE + 0x400000;
    for (uint64_t va = KVIRT_BASE; va < v_end; va += 4096) {
        uint64_t pfn = (va - KVIRT_BASE) >> 12, e = walk(l4, va);
        assert_int_equal((e & ADDR_MASK) >> 12, MFN_BASE + (pfn * 7919) % nr);
        int pt = va >= si.pt_base && va < si.pt_base + si.nr_pt_frames * 4096;
        assert_int_equal(!!(e & RW), !pt);
    }
    assert_int_equal(walk(l4, v_end), 0);
    /* Store and console pages: mapped, the two after the stack, zeroed. */
    uint64_t store_va = KVIRT_BASE + m2p[frame_index(out.store_mfn)] * 4096;
    assert_int_equal(store_va, ctx_set.user_regs.rsp);
    assert_int_equal(m2p[frame_index(out.console_mfn)], m2p[frame_index(out.store_mfn)] + 1);
    for (int i = 0; i < 4096; i++) {
        assert_int_equal(frame(out.store_mfn)[i], 0);
        assert_int_equal(frame(out.console_mfn)[i], 0);
    }
    /* P2M list, ELF bytes, .bss zero, hypercall page in Xen's format. */
    for (uint64_t pfn = 0; pfn < nr; pfn++) {
        uint64_t va = si.mfn_list + pfn * 8, m;
        memcpy(&m, gptr(l4, va), 8);
        assert_int_equal(m, MFN_BASE + (pfn * 7919) % nr);
    }
    for (size_t i = 0; i < SEG_FILESZ; i++)
        assert_int_equal(*gptr(l4, SEG_VADDR + i), code_byte(i));
    for (uint64_t va = SEG_VADDR + SEG_FILESZ; va < HCALL_VA; va++)
        assert_int_equal(*gptr(l4, va), 0);
    static uint8_t hc[4096];
    hypercall_page_fill(hc);
    assert_memory_equal(gptr(l4, HCALL_VA), hc, 4096);
}

static void test_build_pv_refusals(void **state)
{
    struct xl_build_out out;
    const char *why = NULL;
    /* Not a kernel: refused before the domain is given anything. */
    static uint8_t junk[4096];
    assert_int_equal(build(junk, sizeof(junk), "", MEM_MB, &out, &why),
                     -XEN_ENOEXEC);
    assert_non_null(why);
    assert_int_equal(max_memkb, 0);
    assert_int_equal(nr_given, 0);
    /* Too much / no memory. */
    assert_int_equal(build(img_store, IMG_SIZE, "", 0, &out, &why),
                     -XEN_EINVAL);
    assert_int_equal(build(img_store, IMG_SIZE, "", XL_BUILD_MAX_MB + 1, &out, &why), -XEN_EINVAL);
    /* Too little for the initial mapping (4 MiB). */
    assert_int_equal(build(img_store, IMG_SIZE, "", 3, &out, &why),
                     -XEN_ENOMEM);
    /* The hv gives fewer frames than asked: -EBUSY, nothing mapped. */
    fail_populate = 1;
    why = NULL;
    assert_int_equal(build(img_store, IMG_SIZE, "", MEM_MB, &out, &why),
                     -XEN_EBUSY);
    assert_non_null(why);
    assert_int_equal(mapped_now, 0);
    assert_false(pinned);
    assert_int_equal(ctx_calls, 0);
}

/* max_mem is the caller's (libxl: memory + 1 MiB); a P2M scratch
 * smaller than the domain is refused before anything is given. */
static void test_build_pv_maxmem_scratch(void **state)
{
    struct xl_build_out out;
    const char *why = NULL;
    struct xl_build_args a = {
        .kernel = img_store, .kernel_len = IMG_SIZE, .cmdline = "", .memory_mb = MEM_MB,
        .max_memkb = MEM_MB * 1024 + 1024, .p2m = p2m_scratch,
        .p2m_entries = ((uint64_t)MEM_MB << 8) - 1,
    };
    assert_int_equal(xl_build_pv(DOMID, &a, &out, &why), -XEN_EINVAL);
    assert_non_null(why);
    assert_int_equal(max_memkb, 0);
    assert_int_equal(nr_given, 0);
    a.p2m_entries++;
    int rc = xl_build_pv(DOMID, &a, &out, &why);
    if (rc)
        fail_msg("xl_build_pv: %d (%s)", rc, why);
    assert_int_equal(max_memkb, MEM_MB * 1024 + 1024);
    assert_int_equal(nr_given, (uint64_t)MEM_MB << 8);
    assert_int_equal(max_vcpus_set, 1); /* max_vcpus 0: one */
}

/* max_vcpus is the caller's (createdomain's, xl.cfg maxvcpus): the
 * builder repeats it with XEN_DOMCTL_max_vcpus, as libxl__build_pre. */
static void test_build_pv_max_vcpus(void **state)
{
    struct xl_build_out out;
    const char *why = NULL;
    const struct xl_build_args a = {
        .kernel = img_store, .kernel_len = IMG_SIZE, .cmdline = "", .memory_mb = MEM_MB,
        .max_vcpus = 6, .p2m = p2m_scratch,
        .p2m_entries = (uint64_t)MEM_MB << 8,
    };
    int rc = xl_build_pv(DOMID, &a, &out, &why);
    if (rc)
        fail_msg("xl_build_pv: %d (%s)", rc, why);
    assert_int_equal(max_vcpus_set, 6);
}

/* The window is given back: many builds in a row still find room. */
static void test_build_pv_repeat(void **state)
{
    for (int i = 0; i < 10; i++) {
        struct xl_build_out out;
        const char *why = NULL;
        pinned = 0;
        evtchn_calls = 0;
        int rc = build(img_store, IMG_SIZE, "x", MEM_MB, &out, &why);
        if (rc)
            fail_msg("build %d: %d (%s)", i, rc, why);
        assert_int_equal(mapped_now, 0);
    }
    void *all = xc_foreign_window_alloc(XC_WINDOW_PAGES);
    assert_non_null(all);
    xc_foreign_window_free(all, XC_WINDOW_PAGES);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_build_pv_ok),
        T(test_build_pv_refusals),
        T(test_build_pv_maxmem_scratch),
        T(test_build_pv_max_vcpus),
        T(test_build_pv_repeat),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
