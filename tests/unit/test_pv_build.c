/*
 * test_pv_build.c - host unit tests for the PV domain builder (cmocka,
 * ASan/UBSan).
 * Tests: hv/shared/pv_build.c + pv_build_hv.c (xenolith/pv_build.h): the
 * layout arithmetic of pv_layout_compute / pv_count_pt_pages, and a full
 * pv_build of a small ELF64 PV kernel built in memory here, checked by
 * walking the guest's page tables by hand; plus its refusal paths.
 * Links: hv/shared/pv_build.c (the shared core), pv_build_hv.c (the hv
 * back end), elf.c, page_alloc.c, format.c.
 * Mocks (xenolith/mm.h, pv_build.h, hypercall.h, guest_access.h): the
 * globals hv_pages / frame_table / max_mfn over a 16 MiB fake machine
 * memory; mm_alloc_frame (page_alloc_pages + owner + zero), mfn_to_virt /
 * virt_to_mfn (fail the test on any mfn outside the fake memory),
 * arch_hv_l4_slots (recognizable values in slots 256..271),
 * and hypercall_page_fill (memset to HCALL_MARK and count calls).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/console.h>
#include <xenolith/errno.h>
#include <xenolith/guest_access.h>
#include <xenolith/hypercall.h>
#include <xenolith/layout.h>
#include <xenolith/mm.h>
#include <xenolith/pv_build_hv.h>
#include <xenolith/elf.h>
#include <xen/elfnote.h>
#include <xen/xen.h>

#define NFRAMES    4096 /* 16 MiB of fake machine memory */
#define HCALL_MARK 0xC3
#define P  0x1ULL
#define RW 0x2ULL
#define US 0x4ULL
#define PS 0x80ULL
#define ADDR_MASK 0x000FFFFFFFFFF000ULL

/* ---- mocks ---- */
struct page_alloc hv_pages;
struct page_info *frame_table;
uint64_t max_mfn;

static uint8_t *mem;
static uint64_t *hv_bitmap;
static int hcall_fills;
static uint64_t m2p_fake[NFRAMES];

void *mfn_to_virt(uint64_t mfn)
{
    if (mfn >= max_mfn)
        fail_msg("mfn_to_virt(%#lx) outside the fake memory", (unsigned long)mfn);
    return mem + mfn * PAGE_SIZE;
}

uint64_t virt_to_mfn(const void *va)
{
    const uint8_t *p = va;
    if (p < mem || p >= mem + (size_t)NFRAMES * PAGE_SIZE)
        fail_msg("virt_to_mfn(%p) outside the fake memory", va);
    return (uint64_t)(p - mem) >> PAGE_SHIFT;
}

int64_t mm_alloc_frame(uint16_t owner)
{
    int64_t mfn = page_alloc_pages(&hv_pages, 0);
    if (mfn < 0)
        return mfn;
    assert_true((uint64_t)mfn < max_mfn);
    assert_int_equal(frame_table[mfn].owner, DOMID_FREE);
    frame_table[mfn] = (struct page_info){ .owner = owner };
    memset(mfn_to_virt((uint64_t)mfn), 0, PAGE_SIZE);
    return mfn;
}

void mm_free_frame(uint64_t mfn)
{
    assert_true(mfn < max_mfn && frame_table[mfn].owner != DOMID_FREE);
    frame_table[mfn] = (struct page_info){ .owner = DOMID_FREE };
    assert_int_equal(page_alloc_free_pages(&hv_pages, mfn, 0), 0);
}

void arch_set_hv_l4_slot(unsigned int slot, uint64_t e) { (void)slot; (void)e; }
/* The builder never maps I/O memory. */
int mm_io_map_ok(uint16_t pg_owner, uint64_t mfn, int rw)
{
    (void)pg_owner; (void)mfn; (void)rw;
    return -XL_EPERM;
}
void arch_flush_tlb(void) {}

void panic(const char *fmt, ...)
{
    fail_msg("panic: %s", fmt);
    abort();
}

static uint64_t hv_slot_value(unsigned s) { return 0x0000123400000063ULL | ((uint64_t)s << 12); }

const uint64_t *arch_hv_l4_slots(void)
{
    static uint64_t slots[512];
    for (unsigned s = 0; s < 512; s++)
        slots[s] = (s >= HV_SLOT_FIRST && s <= HV_SLOT_LAST) ? hv_slot_value(s) : 0xBADBADULL;
    return slots;
}

void hypercall_page_fill(uint8_t *page)
{
    memset(page, HCALL_MARK, PAGE_SIZE);
    hcall_fills++;
}

/* Frame 0 is never given out: a sentinel for stray writes. */
static int setup(void **state)
{
    mem = aligned_alloc(PAGE_SIZE, (size_t)NFRAMES * PAGE_SIZE);
    assert_non_null(mem);
    memset(mem, 0xEE, (size_t)NFRAMES * PAGE_SIZE);
    memset(mem, 0x5A, PAGE_SIZE);
    frame_table = calloc(NFRAMES, sizeof(*frame_table));
    assert_non_null(frame_table);
    for (unsigned i = 0; i < NFRAMES; i++)
        frame_table[i].owner = DOMID_FREE;
    frame_table[0].owner = DOMID_HV_OWNED;
    max_mfn = NFRAMES;
    memset(m2p_fake, 0xff, sizeof(m2p_fake));
    m2p_table = m2p_fake;
    hv_bitmap = calloc(1, page_alloc_bitmap_bytes(NFRAMES));
    assert_non_null(hv_bitmap);
    page_alloc_init(&hv_pages, hv_bitmap, 0, NFRAMES);
    page_alloc_add_free(&hv_pages, 1, NFRAMES - 1);
    hcall_fills = 0;
    return 0;
}

static int teardown(void **state)
{
    free(mem);
    free(frame_table);
    free(hv_bitmap);
    mem = NULL;
    return 0;
}

/* ===================== (a) layout arithmetic ===================== */

#define VS 0xffffffff80000000ULL

static void test_count_pt_pages(void **state)
{
    assert_int_equal(pv_count_pt_pages(VS, VS), 1);
    assert_int_equal(pv_count_pt_pages(VS, VS + 1), 4);
    assert_int_equal(pv_count_pt_pages(VS, VS + 0x200000), 4);
    assert_int_equal(pv_count_pt_pages(VS, VS + 0x200001), 5);
    assert_int_equal(pv_count_pt_pages(VS, VS + 0x400000), 5);
    assert_int_equal(pv_count_pt_pages(VS + 0x1ff000, VS + 0x201000), 5); /* crosses 2M */
    assert_int_equal(pv_count_pt_pages(VS - 0x1000, VS + 0x1000), 6); /* VS is 1G aligned */
    /* Crosses a 1 GiB boundary: a second L2 (and L1). */
    assert_int_equal(pv_count_pt_pages(0x3FFFF000, 0x40001000), 1 + 1 + 2 + 2);
    /* Crosses a 512 GiB boundary: a second L3 as well. */
    assert_int_equal(pv_count_pt_pages(0x7FFFFFF000, 0x8000001000), 1 + 2 + 2 + 2);
}

/*
 * Small kernel: v_start = VS, kernel [VS+0x1000, VS+0x123456), a 0x5001
 * byte initrd, nr_pages = 8192 (P2M = 64 KiB). Offsets from VS:
 *
 *   0x000000 +----------------------+ v_start
 *            | (unused, mapped)     |
 *   0x001000 +----------------------+ vkern_start
 *            | kernel               |
 *   0x124000 +----------------------+ vkern_end (0x123456 rounded up) = vinitrd_start
 *            | initrd (0x5001)      |
 *   0x129001 +----------------------+ vinitrd_end
 *   0x12a000 +----------------------+ vphysmap_start (page aligned)
 *            | P2M 8192 * 8 bytes   |
 *   0x13a000 +----------------------+ vphysmap_end = vstartinfo_start
 *            | start_info           |
 *   0x13a000 + sizeof(start_info_t)   vstartinfo_end
 *   0x13b000 +----------------------+ vpt_start
 *            | 5 page-table pages   |  L4 + L3 + L2 + 2 L1 (4 MiB)
 *   0x140000 +----------------------+ vpt_end = vstack_start
 *            | stack (1 page)       |
 *   0x141000 +----------------------+ vstack_end
 *            | padding (>= 512 KiB) |
 *   0x400000 +----------------------+ v_end (4 MiB aligned)
 */
static void test_layout_small_kernel(void **state)
{
    struct pv_layout l;
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x123456, 0x5001, 8192), 0);
    assert_int_equal(l.v_start, VS);
    assert_int_equal(l.vkern_start, VS + 0x1000);
    assert_int_equal(l.vkern_end, VS + 0x124000);
    assert_int_equal(l.vinitrd_start, VS + 0x124000);
    assert_int_equal(l.vinitrd_end, VS + 0x129001);
    assert_int_equal(l.vphysmap_start, VS + 0x12a000);
    assert_int_equal(l.vphysmap_end, VS + 0x13a000);
    assert_int_equal(l.vstartinfo_start, VS + 0x13a000);
    assert_int_equal(l.vstartinfo_end, VS + 0x13a000 + sizeof(start_info_t));
    assert_true(sizeof(start_info_t) <= PAGE_SIZE);
    assert_int_equal(l.vpt_start, VS + 0x13b000);
    assert_int_equal(l.nr_pt_pages, 5);
    assert_int_equal(l.vpt_end, VS + 0x140000);
    assert_int_equal(l.vstack_start, VS + 0x140000);
    assert_int_equal(l.vstack_end, VS + 0x141000);
    assert_int_equal(l.v_end, VS + 0x400000);
    assert_int_equal(l.nr_pages, 8192);
    assert_int_equal(pv_count_pt_pages(l.v_start, l.v_end), l.nr_pt_pages);
    assert_true(l.v_end - l.vstack_end >= 512 * 1024);
    assert_int_equal(l.v_end & 0x3FFFFF, 0);

    /* No initrd: the P2M follows the kernel directly. */
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x2000, VS + 0x5000, 0, 1024), 0);
    assert_int_equal(l.vinitrd_start, VS + 0x5000);
    assert_int_equal(l.vinitrd_end, VS + 0x5000);
    assert_int_equal(l.vphysmap_start, VS + 0x5000);
    assert_int_equal(l.vphysmap_end, VS + 0x7000);
    assert_int_equal(l.vstartinfo_start, VS + 0x7000);
    assert_int_equal(l.vpt_start, VS + 0x8000);
    assert_int_equal(l.nr_pt_pages, 5);
    assert_int_equal(l.vstack_end, VS + 0xe000);
    assert_int_equal(l.v_end, VS + 0x400000);
}

/* The stack ends within 512 KiB of a 4 MiB boundary: v_end moves on by
 * 4 MiB, which needs two more L1 pages, which moves the stack again. */
static void test_layout_padding_grows(void **state)
{
    struct pv_layout l;
    /* kernel to VS+0x3b0000, P2M 0x8000 -> vpt_start = VS+0x3b9000. */
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x3b0000, 0, 4096), 0);
    assert_int_equal(l.vpt_start, VS + 0x3b9000);
    assert_int_equal(l.nr_pt_pages, 7); /* L4 + L3 + L2 + 4 L1 for 8 MiB */
    assert_int_equal(l.vstack_end, VS + 0x3c1000);
    assert_int_equal(l.v_end, VS + 0x800000);
    assert_int_equal(pv_count_pt_pages(l.v_start, l.v_end), l.nr_pt_pages);
    assert_true(l.v_end - l.vstack_end >= 512 * 1024);
}

static void test_layout_enomem(void **state)
{
    struct pv_layout l;
    /* Needs exactly 4 MiB = 1024 pages. */
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x2000, 0, 1024), 0);
    assert_int_equal(l.v_end - l.v_start, 0x400000);
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x2000, 0, 1023), -XL_ENOMEM);
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x2000, 0, 100), -XL_ENOMEM);
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x2000, 0, 0), -XL_ENOMEM);
    /* A big initrd that does not fit the memory. */
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x1000, VS + 0x2000, 0x400000, 1024),
                     -XL_ENOMEM);
}

static void test_layout_einval(void **state)
{
    struct pv_layout l;
    assert_int_equal(pv_layout_compute(&l, VS, VS - 0x1000, VS + 0x2000, 0, 4096), -XL_EINVAL);
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x2000, VS + 0x2000, 0, 4096), -XL_EINVAL);
    assert_int_equal(pv_layout_compute(&l, VS, VS + 0x3000, VS + 0x2000, 0, 4096), -XL_EINVAL);
    assert_int_equal(pv_layout_compute(&l, VS + 0x10, VS + 0x1000, VS + 0x2000, 0, 4096),
                     -XL_EINVAL);
    /* The mapping would run past the top of the address space. */
    assert_int_equal(pv_layout_compute(&l, 0xFFFFFFFFFFE00000ULL, 0xFFFFFFFFFFE00000ULL,
                                       0xFFFFFFFFFFE01000ULL, 0, 4096), -XL_EINVAL);
}

/* [v_start, v_end) crosses a 512 GiB (and so a 1 GiB) boundary:
 *   v_start = 0x7FFFFC0000 (256 KiB below 512 GiB), P2M 2048 * 8
 *   0x7FFFFC0000 kernel | 0x7FFFFC1000 P2M | 0x7FFFFC5000 start_info
 *   0x7FFFFC6000 8 PT pages (L4, 2 L3, 2 L2, 3 L1) | 0x7FFFFCE000 stack
 *   0x7FFFFCF000 padding: 0x31000 < 512 KiB to 0x8000000000, so
 *   v_end = 0x8000400000. */
static void test_layout_crossing_boundaries(void **state)
{
    struct pv_layout l;
    const uint64_t vs = 0x7FFFFC0000ULL;
    assert_int_equal(pv_layout_compute(&l, vs, vs, vs + 0x1000, 0, 2048), 0);
    assert_int_equal(l.vphysmap_start, vs + 0x1000);
    assert_int_equal(l.vpt_start, vs + 0x6000);
    assert_int_equal(l.nr_pt_pages, 8);
    assert_int_equal(l.vstack_end, vs + 0xf000);
    assert_int_equal(l.v_end, 0x8000400000ULL);
    assert_int_equal(pv_count_pt_pages(l.v_start, l.v_end), 8);
    /* The same-size kernel away from any boundary needs only 5. */
    struct pv_layout m;
    assert_int_equal(pv_layout_compute(&m, 0x40000000, 0x40000000, 0x40001000, 0, 2048), 0);
    assert_int_equal(m.nr_pt_pages, 5);
    assert_true(l.nr_pt_pages > m.nr_pt_pages);
}

/* A kernel range whose end rounds up past 2^64 cannot be laid out: the
 * API promises -XL_EINVAL for an impossible kernel range. */
static void test_layout_kernel_end_wraps(void **state)
{
    struct pv_layout l;
    int rc = pv_layout_compute(&l, 0, 0xFFFFFFFFFFFF0000ULL, 0xFFFFFFFFFFFFF001ULL, 0,
                               1ULL << 20);
    if (rc == 0)
        fail_msg("accepted: vkern_end %#lx v_end %#lx (kernel outside [v_start, v_end))",
                 (unsigned long)l.vkern_end, (unsigned long)l.v_end);
    assert_int_equal(rc, -XL_EINVAL);
}

/* ===================== (b) full pv_build ===================== */

#define IMG_SIZE   0x3000
#define NOTE_OFF   0x200
#define SEG_OFF    0x1000
#define SEG_FILESZ 0x1800
#define SEG_MEMSZ  0x3000
#define KVIRT_BASE 0xffffffff80000000ULL
#define SEG_VADDR  0xffffffff80002000ULL
#define SEG_PADDR  0x2000ULL
#define ENTRY      (SEG_VADDR + 0x10)
#define HCALL_VA   (SEG_VADDR + 0x2000) /* in the .bss part */
#define NR_PAGES   1024
#define DOMID      1
#define SHINFO_MFN 0x777

static uint64_t img_store[IMG_SIZE / 8];
static size_t note_len;

static uint8_t *img_bytes(void) { return (uint8_t *)img_store; }
static elf64_phdr *img_phdr(int i) { return (elf64_phdr *)(img_bytes() + 64) + i; }
static uint8_t code_byte(size_t i) { return (uint8_t)(i * 7 + 3); }

static void add_note64(uint32_t type, uint64_t v)
{
    uint8_t *p = img_bytes() + NOTE_OFF + note_len;
    uint32_t hdr[3] = { 4, 8, type };
    memcpy(p, hdr, 12);
    memcpy(p + 12, "Xen", 4);
    memcpy(p + 16, &v, 8);
    note_len += 24;
    img_phdr(1)->p_filesz = note_len;
}

/* A string note; desc is NUL-terminated and padded to 4 bytes. */
static void add_note_str(uint32_t type, const char *str)
{
    uint8_t *p = img_bytes() + NOTE_OFF + note_len;
    uint32_t len = (uint32_t)strlen(str) + 1, padded = (len + 3) & ~3u;
    uint32_t hdr[3] = { 4, len, type };
    memcpy(p, hdr, 12);
    memcpy(p + 12, "Xen", 4);
    memset(p + 16, 0, padded);
    memcpy(p + 16, str, len);
    note_len += 16 + padded;
    img_phdr(1)->p_filesz = note_len;
}

/* One PT_LOAD (code + .bss) and a PT_NOTE; notes added by the caller. */
static void build_image(void)
{
    memset(img_store, 0, sizeof(img_store));
    note_len = 0;
    elf64_ehdr *e = (elf64_ehdr *)img_store;
    memcpy(e->e_ident, "\x7f" "ELF", 4);
    e->e_ident[4] = 2;
    e->e_ident[5] = 1;
    e->e_ident[6] = 1;
    e->e_type = 2;
    e->e_machine = 62;
    e->e_version = 1;
    e->e_entry = ENTRY;
    e->e_phoff = 64;
    e->e_ehsize = sizeof(*e);
    e->e_phentsize = sizeof(elf64_phdr);
    e->e_phnum = 2;
    *img_phdr(0) = (elf64_phdr){ ELF_PT_LOAD, ELF_PF_R | ELF_PF_W | ELF_PF_X, SEG_OFF,
                                 SEG_VADDR, SEG_PADDR, SEG_FILESZ, SEG_MEMSZ, 0x1000 };
    *img_phdr(1) = (elf64_phdr){ ELF_PT_NOTE, ELF_PF_R, NOTE_OFF, 0, 0, 0, 0, 4 };
    for (size_t i = 0; i < SEG_FILESZ; i++)
        img_bytes()[SEG_OFF + i] = code_byte(i);
}

static void build_xen_image(uint64_t hcall_va)
{
    build_image();
    add_note64(XEN_ELFNOTE_VIRT_BASE, KVIRT_BASE);
    add_note64(XEN_ELFNOTE_PADDR_OFFSET, 0);
    add_note64(XEN_ELFNOTE_ENTRY, ENTRY);
    add_note64(XEN_ELFNOTE_HYPERCALL_PAGE, hcall_va);
    add_note_str(XEN_ELFNOTE_LOADER, "generic");
    add_note_str(XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
}

static struct domain dom;

static void init_domain(int privileged)
{
    memset(&dom, 0, sizeof(dom));
    dom.domid = DOMID;
    dom.privileged = privileged;
    dom.shared_info_mfn = SHINFO_MFN;
}

static struct pv_image make_img(const char *cmdline)
{
    return (struct pv_image){ .kernel = img_store, .kernel_len = IMG_SIZE,
                              .cmdline = cmdline, .nr_pages = NR_PAGES };
}

/* Walk the guest page tables from cr3 by hand. Returns the leaf PTE (0 if
 * not mapped); every non-leaf entry must be P|RW|US and point at a frame
 * the domain owns. */
static uint64_t walk(uint64_t cr3, uint64_t va)
{
    uint64_t table = cr3 & ADDR_MASK;
    for (int level = 4; level >= 1; level--) {
        const uint64_t *t = mfn_to_virt(table >> PAGE_SHIFT);
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & P))
            return 0;
        if (level == 1)
            return e;
        assert_int_equal(e & PS, 0);
        assert_int_equal(e & (P | RW | US), P | RW | US);
        table = e & ADDR_MASK;
        assert_true((table >> PAGE_SHIFT) < max_mfn);
        assert_int_equal(frame_table[table >> PAGE_SHIFT].owner, DOMID);
    }
    return 0;
}

static uint8_t *gptr(uint64_t va)
{
    uint64_t e = walk(dom.vcpus[0].cr3, va);
    if (!e)
        fail_msg("guest va %#lx not mapped", (unsigned long)va);
    return (uint8_t *)mfn_to_virt((e & ADDR_MASK) >> PAGE_SHIFT) + (va & 0xfff);
}

static void copy_from_guest(void *dst, uint64_t va, size_t len)
{
    uint8_t *d = dst;
    while (len) {
        size_t n = PAGE_SIZE - (va & 0xfff);
        if (n > len)
            n = len;
        memcpy(d, gptr(va), n);
        d += n;
        va += n;
        len -= n;
    }
}

static void test_build_ok(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    build_xen_image(HCALL_VA);
    init_domain(0);
    struct pv_image img = make_img("console=hvc0 root=/dev/xvda");
    uint64_t free_before = hv_pages.nr_free;

    assert_int_equal(pv_build(&dom, &img, &l, &why), 0);
    assert_int_equal(l.v_start, KVIRT_BASE);
    assert_int_equal(l.vkern_start, SEG_VADDR);
    assert_int_equal(l.vkern_end, SEG_VADDR + SEG_MEMSZ);
    assert_int_equal(l.nr_pages, NR_PAGES);
    assert_int_equal(l.v_end, KVIRT_BASE + 0x400000);
    assert_int_equal(dom.tot_pages, NR_PAGES);
    assert_int_equal(dom.max_pages, NR_PAGES);
    /* The domain's frames are gone from hv_pages; the P2M scratch is back. */
    assert_int_equal(hv_pages.nr_free, free_before - NR_PAGES);
    /* Frame 0 (never allocatable) was not written. */
    for (size_t i = 0; i < PAGE_SIZE; i++)
        assert_int_equal(mem[i], 0x5A);

    /* vcpu registers. */
    assert_int_equal(dom.vcpus[0].regs.rip, ENTRY);
    assert_int_equal(dom.vcpus[0].regs.rsp, l.vstack_end);
    assert_int_equal(dom.vcpus[0].regs.rsi, l.vstartinfo_start);
    assert_int_equal(dom.vcpus[0].regs.cs, 0xe033);
    assert_int_equal(dom.vcpus[0].regs.cs, FLAT_KERNEL_CS64);
    assert_int_equal(dom.vcpus[0].regs.ss, FLAT_KERNEL_SS64);

    /* P2M as the guest sees it: distinct frames, all owned by the domain. */
    static uint64_t p2m[NR_PAGES];
    copy_from_guest(p2m, l.vphysmap_start, sizeof(p2m));
    static uint8_t seen[NFRAMES];
    memset(seen, 0, sizeof(seen));
    for (uint64_t pfn = 0; pfn < NR_PAGES; pfn++) {
        assert_true(p2m[pfn] > 0 && p2m[pfn] < max_mfn);
        assert_int_equal(seen[p2m[pfn]], 0);
        seen[p2m[pfn]] = 1;
        assert_int_equal(frame_table[p2m[pfn]].owner, DOMID);
    }
    uint64_t owned = 0;
    for (uint64_t m = 0; m < NFRAMES; m++)
        owned += frame_table[m].owner == DOMID;
    assert_int_equal(owned, NR_PAGES); /* no frame beyond the P2M's */

    /* Every page of [v_start, v_end) maps p2m[pfn]; page tables read-only. */
    for (uint64_t va = l.v_start; va < l.v_end; va += PAGE_SIZE) {
        uint64_t pfn = (va - l.v_start) >> PAGE_SHIFT;
        uint64_t e = walk(dom.vcpus[0].cr3, va);
        assert_int_equal((e & ADDR_MASK) >> PAGE_SHIFT, p2m[pfn]);
        assert_int_equal(e & (P | US), P | US);
        int is_pt = va >= l.vpt_start && va < l.vpt_end;
        if (is_pt)
            assert_int_equal(e & RW, 0);
        else
            assert_int_equal(e & RW, RW);
    }
    assert_int_equal(walk(dom.vcpus[0].cr3, l.v_end), 0);
    assert_int_equal(walk(dom.vcpus[0].cr3, l.v_start - PAGE_SIZE), 0);

    /* cr3 is the first page-table page; its frame is typed as an L4. */
    uint64_t l4_mfn = dom.vcpus[0].cr3 >> PAGE_SHIFT;
    assert_int_equal(dom.vcpus[0].cr3 & 0xfff, 0);
    assert_int_equal(l4_mfn, p2m[(l.vpt_start - l.v_start) >> PAGE_SHIFT]);
    /* The L4 is validated, pinned and the vcpu's guest_table: two type
     * references (pin, guest_table) plus its read-only mapping. */
    assert_int_equal(frame_table[l4_mfn].type, PGT_l4);
    assert_int_equal(frame_table[l4_mfn].type_count, 2);
    assert_int_equal(frame_table[l4_mfn].count, 3);
    assert_true(frame_table[l4_mfn].flags & PGF_pinned);
    assert_int_equal(dom.vcpus[0].guest_table, l4_mfn);
    /* Every other page-table frame has the level its parent entry says,
     * one type reference (that entry) and one read-only mapping. */
    for (uint64_t va = l.vpt_start; va < l.vpt_end; va += PAGE_SIZE) {
        uint64_t m = p2m[(va - l.v_start) >> PAGE_SHIFT];
        assert_true(frame_table[m].type >= PGT_l1 && frame_table[m].type <= PGT_l4);
        if (m == l4_mfn)
            continue;
        assert_int_equal(frame_table[m].type_count, 1);
        assert_int_equal(frame_table[m].count, 2);
        assert_false(frame_table[m].flags & PGF_pinned);
    }
    {
        const uint64_t *t4 = mfn_to_virt(l4_mfn);
        for (unsigned i4 = 0; i4 < 256; i4++) {
            if (!(t4[i4] & P))
                continue;
            const uint64_t *t3 = mfn_to_virt((t4[i4] & ADDR_MASK) >> PAGE_SHIFT);
            assert_int_equal(frame_table[(t4[i4] & ADDR_MASK) >> PAGE_SHIFT].type, PGT_l3);
            for (unsigned i3 = 0; i3 < 512; i3++) {
                if (!(t3[i3] & P))
                    continue;
                uint64_t m2 = (t3[i3] & ADDR_MASK) >> PAGE_SHIFT;
                assert_int_equal(frame_table[m2].type, PGT_l2);
                const uint64_t *t2 = mfn_to_virt(m2);
                for (unsigned i2 = 0; i2 < 512; i2++)
                    if (t2[i2] & P)
                        assert_int_equal(frame_table[(t2[i2] & ADDR_MASK) >> PAGE_SHIFT].type, PGT_l1);
            }
        }
    }
    /* Every other page is mapped once, writable: type writable, one ref;
     * and the M2P names its pfn. */
    for (uint64_t pfn = 0; pfn < l.nr_pages; pfn++) {
        uint64_t m = p2m[pfn], va = l.v_start + pfn * PAGE_SIZE;
        assert_int_equal(m2p_fake[m], pfn);
        if (va >= l.vpt_start && va < l.vpt_end)
            continue;
        if (va < l.v_end) {
            assert_int_equal(frame_table[m].type, PGT_writable);
            assert_int_equal(frame_table[m].type_count, 1);
            assert_int_equal(frame_table[m].count, 1);
        } else {
            assert_int_equal(frame_table[m].count, 0);
        }
    }
    /* The L4 holds the hv slots, the kernel slot, and nothing else. */
    const uint64_t *l4 = mfn_to_virt(l4_mfn);
    for (unsigned s = 0; s < 512; s++) {
        if (s >= HV_SLOT_FIRST && s <= HV_SLOT_LAST)
            assert_int_equal(l4[s], hv_slot_value(s));
        else if (s == 511)
            assert_int_equal(l4[s] & (P | RW | US), P | RW | US);
        else
            assert_int_equal(l4[s], 0);
    }

    /* start_info, read through the guest's own mapping. */
    start_info_t si;
    copy_from_guest(&si, l.vstartinfo_start, sizeof(si));
    assert_string_equal(si.magic, "xen-3.0-x86_64");
    assert_int_equal(si.nr_pages, NR_PAGES);
    assert_int_equal(si.shared_info, (uint64_t)SHINFO_MFN << PAGE_SHIFT);
    assert_int_equal(si.flags, 0);
    assert_int_equal(si.pt_base, l.vpt_start);
    assert_int_equal(si.nr_pt_frames, l.nr_pt_pages);
    assert_int_equal(si.nr_pt_frames, 5);
    assert_int_equal(si.mfn_list, l.vphysmap_start);
    assert_int_equal(si.mod_start, 0);
    assert_int_equal(si.mod_len, 0);
    assert_string_equal((const char *)si.cmd_line, "console=hvc0 root=/dev/xvda");
    /* The P2M pointer in start_info leads to the same frames. */
    uint64_t first;
    copy_from_guest(&first, si.mfn_list, sizeof(first));
    assert_int_equal(first, p2m[0]);

    /* Segment bytes, .bss zero, hypercall page filled once. */
    static uint8_t seg[SEG_MEMSZ];
    copy_from_guest(seg, SEG_VADDR, SEG_MEMSZ);
    for (size_t i = 0; i < SEG_FILESZ; i++)
        assert_int_equal(seg[i], code_byte(i));
    for (size_t i = SEG_FILESZ; i < HCALL_VA - SEG_VADDR; i++)
        assert_int_equal(seg[i], 0);
    for (size_t i = HCALL_VA - SEG_VADDR; i < SEG_MEMSZ; i++)
        assert_int_equal(seg[i], HCALL_MARK);
    assert_int_equal(hcall_fills, 1);
    /* Below the kernel: mapped, zeroed memory. */
    assert_int_equal(*gptr(KVIRT_BASE), 0);
    assert_int_equal(*gptr(l.vstack_end - 1), 0);
}

static void test_build_privileged_flags(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    build_xen_image(HCALL_VA);
    init_domain(1);
    struct pv_image img = make_img(NULL);
    assert_int_equal(pv_build(&dom, &img, &l, &why), 0);
    start_info_t si;
    copy_from_guest(&si, l.vstartinfo_start, sizeof(si));
    assert_int_equal(si.flags, SIF_PRIVILEGED | SIF_INITDOMAIN);
    assert_int_equal(si.cmd_line[0], '\0');
}

static void test_build_initrd(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    static uint8_t initrd[0x1801];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i ^ 0x5b);
    build_xen_image(HCALL_VA);
    init_domain(0);
    struct pv_image img = make_img("x");
    img.initrd = initrd;
    img.initrd_len = sizeof(initrd);
    assert_int_equal(pv_build(&dom, &img, &l, &why), 0);
    assert_int_equal(l.vinitrd_start, l.vkern_end);
    start_info_t si;
    copy_from_guest(&si, l.vstartinfo_start, sizeof(si));
    assert_int_equal(si.mod_start, l.vinitrd_start);
    assert_int_equal(si.mod_len, sizeof(initrd));
    static uint8_t got[sizeof(initrd)];
    copy_from_guest(got, l.vinitrd_start, sizeof(got));
    assert_memory_equal(got, initrd, sizeof(initrd));
}

static void test_build_no_xen_notes(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    build_image(); /* PT_NOTE present but empty */
    init_domain(0);
    struct pv_image img = make_img(NULL);
    uint64_t free_before = hv_pages.nr_free;
    assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_ENOEXEC);
    assert_non_null(why);
    assert_int_equal(hv_pages.nr_free, free_before);
    assert_int_equal(dom.tot_pages, 0);
    assert_int_equal(hcall_fills, 0);
}

/* Xen's note checks run before any memory is given to the domain. */
static void test_build_refuses_unsupported_kernel(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    init_domain(0);
    struct pv_image img = make_img(NULL);
    uint64_t free_before = hv_pages.nr_free;

    build_xen_image(HCALL_VA);
    add_note_str(XEN_ELFNOTE_FEATURES, "!auto_translated_physmap");
    assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_EINVAL);
    assert_non_null(strstr(why, "feature"));

    build_image(); /* no LOADER/GUEST_OS: neither generic nor linux */
    add_note64(XEN_ELFNOTE_VIRT_BASE, KVIRT_BASE);
    add_note64(XEN_ELFNOTE_ENTRY, ENTRY);
    add_note_str(XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
    assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_EINVAL);
    assert_non_null(strstr(why, "loader"));

    assert_int_equal(hv_pages.nr_free, free_before);
    assert_int_equal(dom.tot_pages, 0);

    /* Linux's "!writable_page_tables" is accepted. */
    build_xen_image(HCALL_VA);
    add_note_str(XEN_ELFNOTE_FEATURES, "!writable_page_tables|pae_pgdir_above_4gb");
    assert_int_equal(pv_build(&dom, &img, &l, &why), 0);
}

static void test_build_hypercall_page_outside(void **state)
{
    static const uint64_t bad[] = {
        SEG_VADDR + SEG_MEMSZ,        /* just past the kernel */
        SEG_VADDR - PAGE_SIZE,        /* just before it */
        SEG_VADDR + 0x1010,           /* inside, not page aligned */
        KVIRT_BASE + 0x10000000,      /* far away */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pv_layout l;
        const char *why = NULL;
        build_xen_image(bad[i]);
        init_domain(0);
        struct pv_image img = make_img(NULL);
        uint64_t free_before = hv_pages.nr_free;
        assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_EINVAL);
        assert_non_null(why);
        assert_int_equal(hv_pages.nr_free, free_before);
        assert_int_equal(hcall_fills, 0);
    }
}

static void test_build_enomem(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    build_xen_image(HCALL_VA);
    init_domain(0);
    struct pv_image img = make_img(NULL);

    /* Nothing at all: not even the P2M scratch. */
    page_alloc_reserve(&hv_pages, 0, NFRAMES);
    assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_ENOMEM);
    assert_non_null(why);
    assert_int_equal(dom.tot_pages, 0);

    /* Room for the P2M scratch but only half the domain. */
    page_alloc_add_free(&hv_pages, 1, 2 + NR_PAGES / 2);
    why = NULL;
    assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_ENOMEM);
    assert_non_null(why);
    assert_int_equal(hcall_fills, 0);
    /* The frames given stay with the domain; the scratch went back. */
    uint64_t owned = 0;
    for (uint64_t m = 0; m < NFRAMES; m++)
        owned += frame_table[m].owner == DOMID;
    assert_int_equal(owned, dom.tot_pages);
    assert_true(dom.tot_pages > 0 && dom.tot_pages < NR_PAGES);
    assert_int_equal(hv_pages.nr_free, 2);

    /* Too few pages for the initial mapping itself. */
    build_xen_image(HCALL_VA);
    init_domain(0);
    img.nr_pages = 1023;
    assert_int_equal(pv_build(&dom, &img, &l, &why), -XL_ENOMEM);
}

/* A HYPERCALL_PAGE note at the very last page of the address space:
 * hypercall_page + PAGE_SIZE wraps to 0, so the "outside the kernel"
 * check in pv_build passes and the builder writes through p2m[] far
 * outside the domain's pages. Must be -XL_EINVAL. */
static void test_build_hypercall_page_wraps(void **state)
{
    struct pv_layout l;
    const char *why = NULL;
    build_xen_image(0xFFFFFFFFFFFFF000ULL);
    init_domain(0);
    struct pv_image img = make_img(NULL);
    int rc = pv_build(&dom, &img, &l, &why);
    assert_int_equal(rc, -XL_EINVAL);
    assert_int_equal(hcall_fills, 0);
    assert_int_equal(mem[0], 0x5A);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_count_pt_pages),
        T(test_layout_small_kernel),
        T(test_layout_padding_grows),
        T(test_layout_enomem),
        T(test_layout_einval),
        T(test_layout_crossing_boundaries),
        T(test_layout_kernel_end_wraps),
        T(test_build_ok),
        T(test_build_privileged_flags),
        T(test_build_initrd),
        T(test_build_no_xen_notes),
        T(test_build_refuses_unsupported_kernel),
        T(test_build_hypercall_page_outside),
        T(test_build_enomem),
        T(test_build_hypercall_page_wraps),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
