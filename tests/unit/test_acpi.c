/*
 * test_acpi.c - host unit tests for the ACPI walk and the MADT parser
 * (cmocka, ASan/UBSan): a QEMU-like MADT read through RSDP 2.0 + XSDT
 * and through RSDP 1.0 + RSDT; x2APIC, online-capable and disabled
 * processors; the local APIC address override; more processors than the
 * array holds; and every kind of malformed table, each refused with its
 * reason (entry length 0 or past the end, entries too short for their
 * type, bad checksums, lengths that disagree, duplicate APIC ids, no
 * enabled CPU, an I/O APIC at 0, a non-ISA override, pointers outside
 * memory). Last, random corruptions of a valid MADT parsed from an
 * exactly-sized buffer, so ASan sees any read past its end.
 * Links: hv/common/acpi.c, hv/shared/format.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/acpi.h>

/* ---- fake physical memory: [MEM_BASE, MEM_BASE + MEM_SIZE) ---- */
#define MEM_BASE 0x7fe0000ULL
#define MEM_SIZE 0x10000
static uint8_t mem[MEM_SIZE];
static unsigned int maps;

static const void *fake_map(void *ctx, uint64_t phys, uint64_t len)
{
    (void)ctx;
    maps++;
    if (phys < MEM_BASE || len > MEM_SIZE || phys - MEM_BASE > MEM_SIZE - len)
        return NULL;
    return mem + (phys - MEM_BASE);
}

#define RSDP_AT  (MEM_BASE + 0x0)
#define XSDT_AT  (MEM_BASE + 0x100)
#define RSDT_AT  (MEM_BASE + 0x200)
#define FACP_AT  (MEM_BASE + 0x400)
#define MADT_AT  (MEM_BASE + 0x1000)

static uint8_t *at(uint64_t phys) { return mem + (phys - MEM_BASE); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void fix_sum(uint8_t *t, uint32_t len, unsigned int sum_off)
{
    t[sum_off] = 0;
    t[sum_off] = (uint8_t)(0x100 - acpi_checksum(t, len));
}

static void sdt_header(uint8_t *t, const char *sig, uint32_t len)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = 1;
    memcpy(t + 10, "XLTEST", 6);
}

/* The MADT under construction at MADT_AT. */
static uint32_t madt_len;

static void madt_begin(uint32_t lapic_addr)
{
    memset(at(MADT_AT), 0, 0x8000);
    sdt_header(at(MADT_AT), "APIC", 44);
    put32(at(MADT_AT) + 36, lapic_addr);
    put32(at(MADT_AT) + 40, 1);
    madt_len = 44;
}

static uint8_t *madt_entry(uint8_t type, uint8_t len)
{
    uint8_t *e = at(MADT_AT) + madt_len;
    e[0] = type;
    e[1] = len;
    madt_len += len;
    return e;
}

static void madt_lapic(uint8_t uid, uint8_t apic, uint32_t flags)
{
    uint8_t *e = madt_entry(0, 8);
    e[2] = uid;
    e[3] = apic;
    put32(e + 4, flags);
}

static void madt_x2apic(uint32_t apic, uint32_t uid, uint32_t flags)
{
    uint8_t *e = madt_entry(9, 16);
    put32(e + 4, apic);
    put32(e + 8, flags);
    put32(e + 12, uid);
}

static void madt_ioapic(uint8_t id, uint32_t addr, uint32_t gsi)
{
    uint8_t *e = madt_entry(1, 12);
    e[2] = id;
    put32(e + 4, addr);
    put32(e + 8, gsi);
}

static void madt_iso(uint8_t bus, uint8_t src, uint32_t gsi, uint16_t flags)
{
    uint8_t *e = madt_entry(2, 10);
    e[2] = bus;
    e[3] = src;
    put32(e + 4, gsi);
    put16(e + 8, flags);
}

static void madt_nmi(uint8_t uid, uint16_t flags, uint8_t lint)
{
    uint8_t *e = madt_entry(4, 6);
    e[2] = uid;
    put16(e + 3, flags);
    e[5] = lint;
}

static void madt_end(void)
{
    put32(at(MADT_AT) + 4, madt_len);
    fix_sum(at(MADT_AT), madt_len, 9);
}

/* What QEMU's q35 machine with -smp 4 describes. */
static void madt_qemu4(void)
{
    madt_begin(0xfee00000);
    for (uint8_t i = 0; i < 4; i++)
        madt_lapic(i, i, 1);
    madt_ioapic(0, 0xfec00000, 0);
    madt_iso(0, 0, 2, 0);
    madt_iso(0, 5, 5, 0xd);
    madt_iso(0, 9, 9, 0xd);
    madt_iso(0, 10, 10, 0xd);
    madt_iso(0, 11, 11, 0xd);
    madt_nmi(0xff, 0, 1);
    madt_end();
}

/* RSDP 2.0 -> XSDT {FACP, APIC} (or RSDP 1.0 -> RSDT). */
static void tables(int v2)
{
    memset(mem, 0, 0x1000);
    uint8_t *r = at(RSDP_AT);
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "XLTEST", 6);
    r[15] = v2 ? 2 : 0;
    put32(r + 16, (uint32_t)RSDT_AT);
    if (v2) {
        put32(r + 20, 36);
        put64(r + 24, XSDT_AT);
        fix_sum(r, 36, 32);
    }
    fix_sum(r, 20, 8);
    if (v2)
        fix_sum(r, 36, 32); /* the v1 sum changed byte 8, which it covers */
    uint8_t *x = at(XSDT_AT);
    sdt_header(x, "XSDT", 36 + 16);
    put64(x + 36, FACP_AT);
    put64(x + 44, MADT_AT);
    fix_sum(x, 36 + 16, 9);
    uint8_t *rs = at(RSDT_AT);
    sdt_header(rs, "RSDT", 36 + 8);
    put32(rs + 36, (uint32_t)FACP_AT);
    put32(rs + 40, (uint32_t)MADT_AT);
    fix_sum(rs, 36 + 8, 9);
    uint8_t *f = at(FACP_AT);
    sdt_header(f, "FACP", 36 + 8);
    fix_sum(f, 36 + 8, 9);
}

static struct madt_info info;

static int read_madt(const char **why)
{
    *why = "";
    return acpi_read_madt(fake_map, NULL, RSDP_AT, &info, why);
}

/* Parse the MADT now at MADT_AT and expect it refused for a reason that
 * contains want. */
static void expect_refused(const char *want)
{
    const char *why = "";
    assert_int_equal(read_madt(&why), -1);
    if (!strstr(why, want))
        fail_msg("refused for \"%s\", expected a reason with \"%s\"", why, want);
}

/* ---- good tables ---- */

static void test_qemu_xsdt(void **state)
{
    (void)state;
    tables(1);
    madt_qemu4();
    const char *why;
    assert_int_equal(read_madt(&why), 0);
    assert_int_equal(info.lapic_addr, 0xfee00000);
    assert_int_equal(info.flags, 1);
    assert_int_equal(info.nr_cpus, 4);
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(info.cpus[i].apic_id, i);
        assert_int_equal(info.cpus[i].acpi_uid, i);
        assert_true(info.cpus[i].enabled);
        assert_false(info.cpus[i].online_capable);
        assert_false(info.cpus[i].x2apic);
    }
    assert_int_equal(info.nr_ioapics, 1);
    assert_int_equal(info.ioapics[0].addr, 0xfec00000);
    assert_int_equal(info.nr_overrides, 5);
    assert_int_equal(info.overrides[0].source, 0);
    assert_int_equal(info.overrides[0].gsi, 2);
    assert_int_equal(info.overrides[1].flags, 0xd);
    assert_int_equal(info.nr_nmis, 1);
    assert_int_equal(info.nmis[0].lint, 1);
    assert_int_equal(info.nmis[0].acpi_uid, 0xff);
    assert_int_equal(info.cpus_disabled + info.cpus_dropped + info.other_dropped, 0);
}

static void test_rsdt(void **state)
{
    (void)state;
    tables(0);
    madt_qemu4();
    const char *why;
    assert_int_equal(read_madt(&why), 0);
    assert_int_equal(info.nr_cpus, 4);
    uint64_t phys;
    uint32_t len;
    assert_int_equal(acpi_find_table(fake_map, NULL, RSDP_AT, "FACP", &phys, &len, &why), 0);
    assert_int_equal(phys, FACP_AT);
    assert_int_equal(len, 44);
    assert_int_equal(acpi_find_table(fake_map, NULL, RSDP_AT, "HPET", &phys, &len, &why), -1);
    assert_string_equal(why, "no \"HPET\" table among the 2 entries of the RSDT");
}

static void test_x2apic_online_capable_disabled(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_lapic(1, 1, 2);      /* online-capable, not enabled */
    madt_lapic(2, 2, 0);      /* neither: not there */
    madt_lapic(3, 0xff, 1);   /* the broadcast id */
    madt_x2apic(300, 7, 1);   /* an x2APIC id beyond 254 */
    madt_x2apic(0xffffffff, 8, 1);
    uint8_t *o = madt_entry(5, 12); /* local APIC address override */
    put64(o + 4, 0xfed00000);
    madt_entry(0x7f, 5);      /* a type this parser does not know */
    madt_end();
    const char *why;
    assert_int_equal(read_madt(&why), 0);
    assert_int_equal(info.nr_cpus, 3);
    assert_true(info.cpus[1].online_capable);
    assert_false(info.cpus[1].enabled);
    assert_int_equal(info.cpus[2].apic_id, 300);
    assert_int_equal(info.cpus[2].acpi_uid, 7);
    assert_true(info.cpus[2].x2apic);
    assert_int_equal(info.cpus_disabled, 1);
    assert_int_equal(info.other_dropped, 2);
    assert_int_equal(info.unknown_entries, 1);
    assert_int_equal(info.lapic_addr, 0xfed00000);
}

static void test_more_cpus_than_the_array(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    for (uint32_t i = 0; i < MADT_MAX_CPUS + 44; i++)
        madt_x2apic(i, i, 1);
    madt_end();
    const char *why;
    assert_int_equal(read_madt(&why), 0);
    assert_int_equal(info.nr_cpus, MADT_MAX_CPUS);
    assert_int_equal(info.cpus_dropped, 44);
}

/* ---- malformed MADTs ---- */

static void test_entry_length_zero(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_entry(0, 0);
    madt_len += 6;
    madt_end();
    expect_refused("MADT entry 1 (type 0) at offset 52: length 0");
}

static void test_entry_past_end(void **state)
{
    (void)state;
    tables(1);
    madt_qemu4();
    uint8_t *t = at(MADT_AT);
    t[madt_len - 6 + 1] = 40; /* the last entry (6 bytes) claims 40 */
    fix_sum(t, madt_len, 9);
    expect_refused("runs past the table's end");
}

static void test_entry_too_short(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_entry(9, 12); /* x2APIC needs 16 */
    madt_end();
    expect_refused("(type 9) at offset 52: length 12, needs 16");
    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_entry(1, 8); /* I/O APIC needs 12 */
    madt_end();
    expect_refused("length 8, needs 12");
}

static void test_trailing_byte(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_len += 1;
    madt_end();
    expect_refused("1 byte left");
}

static void test_bad_checksum(void **state)
{
    (void)state;
    tables(1);
    madt_qemu4();
    at(MADT_AT)[50] ^= 1;
    expect_refused("APIC at 0x7fe1000: bad checksum");
}

static void test_lengths(void **state)
{
    (void)state;
    tables(1);
    madt_qemu4();
    put32(at(MADT_AT) + 4, 40); /* shorter than its fixed fields */
    fix_sum(at(MADT_AT), 40, 9);
    expect_refused("MADT of 40 bytes");
    madt_qemu4();
    put32(at(MADT_AT) + 4, ACPI_TABLE_MAX_LEN + 1);
    expect_refused("claims length 1048577");
    madt_qemu4();
    put32(at(MADT_AT) + 4, 0x20000); /* runs out of memory */
    expect_refused("cannot be read");
    /* madt_parse given fewer bytes than the header says */
    madt_qemu4();
    const char *why;
    assert_int_equal(madt_parse(at(MADT_AT), madt_len - 6, &info, &why), -1);
    assert_non_null(strstr(why, "MADT header says"));
}

static void test_semantic_refusals(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_lapic(1, 1, 1);
    madt_x2apic(1, 5, 1);
    madt_end();
    expect_refused("processor APIC id 1 twice");

    madt_begin(0xfee00000);
    madt_lapic(0, 0, 2);
    madt_lapic(1, 1, 0);
    madt_end();
    expect_refused("no enabled processor");

    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_ioapic(0, 0, 0);
    madt_end();
    expect_refused("I/O APIC id 0 at address 0");

    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_ioapic(0, 0xfec00000, 0);
    madt_ioapic(0, 0xfec01000, 24);
    madt_end();
    expect_refused("collides");

    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_iso(1, 4, 4, 0);
    madt_end();
    expect_refused("override of bus 1 IRQ 4");

    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_iso(0, 16, 16, 0);
    madt_end();
    expect_refused("override of bus 0 IRQ 16");

    madt_begin(0xfee00000);
    madt_lapic(0, 0, 1);
    madt_nmi(0xff, 0, 2);
    madt_end();
    expect_refused("LINT2");

    madt_begin(0);
    madt_lapic(0, 0, 1);
    madt_end();
    expect_refused("local APIC address 0");
}

/* ---- malformed root tables ---- */

static void test_rsdp_and_root(void **state)
{
    (void)state;
    const char *why;
    tables(1);
    madt_qemu4();
    assert_int_equal(acpi_read_madt(fake_map, NULL, 0, &info, &why), -1);
    assert_string_equal(why, "no RSDP from the loader");
    assert_int_equal(acpi_read_madt(fake_map, NULL, 0x1000, &info, &why), -1);
    assert_string_equal(why, "RSDP at 0x1000 cannot be read");

    at(RSDP_AT)[0] = 'X';
    expect_refused("RSDP at 0x7fe0000: bad signature");
    tables(1);
    at(RSDP_AT)[10] ^= 0x40; /* inside both checksums */
    expect_refused("bad checksum");
    tables(1);
    at(RSDP_AT)[33] = 1; /* only the extended checksum covers it */
    expect_refused("bad extended checksum");
    tables(1);
    put32(at(RSDP_AT) + 20, 1 << 20);
    fix_sum(at(RSDP_AT), 36, 32);
    fix_sum(at(RSDP_AT), 20, 8);
    expect_refused("RSDP 2.0 claims length 1048576");

    /* XSDT whose length is not header + whole entries */
    tables(1);
    put32(at(XSDT_AT) + 4, 36 + 12);
    fix_sum(at(XSDT_AT), 36 + 12, 9);
    expect_refused("XSDT length 48 is not a header plus 8-byte entries");
    /* an XSDT entry pointing outside memory */
    tables(1);
    put64(at(XSDT_AT) + 36, 0xdead0000);
    fix_sum(at(XSDT_AT), 36 + 16, 9);
    expect_refused("XSDT entry 0 (0xdead0000) cannot be read");
    /* the RSDP points at something that is not an XSDT */
    tables(1);
    put64(at(RSDP_AT) + 24, FACP_AT);
    fix_sum(at(RSDP_AT), 36, 32);
    fix_sum(at(RSDP_AT), 20, 8);
    expect_refused("has signature \"FACP\", expected \"XSDT\"");
    /* no MADT at all */
    tables(1);
    put32(at(XSDT_AT) + 4, 36 + 8);
    fix_sum(at(XSDT_AT), 36 + 8, 9);
    expect_refused("no \"APIC\" table among the 1 entries of the XSDT");
    /* a wrapping address */
    tables(1);
    put64(at(XSDT_AT) + 44, 0xfffffffffffffff0ULL);
    fix_sum(at(XSDT_AT), 36 + 16, 9);
    expect_refused("cannot be read");
}

/* ---- random corruption: never a read outside the table ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void test_random_corruption(void **state)
{
    (void)state;
    tables(1);
    madt_begin(0xfee00000);
    for (uint8_t i = 0; i < 8; i++)
        madt_lapic(i, i, 1);
    madt_x2apic(400, 9, 1);
    madt_ioapic(0, 0xfec00000, 0);
    madt_iso(0, 0, 2, 0);
    madt_iso(0, 9, 9, 0xd);
    madt_nmi(0xff, 0, 1);
    madt_end();
    uint32_t good_len = madt_len;
    unsigned int refused = 0, accepted = 0;
    for (unsigned int round = 0; round < 20000; round++) {
        uint32_t len = good_len;
        if (next_rand() % 4 == 0)
            len = 44 + next_rand() % (good_len - 44 + 8); /* cut or extended */
        uint8_t *t = malloc(len); /* exact size: ASan catches any over-read */
        assert_non_null(t);
        memcpy(t, at(MADT_AT), len < good_len ? len : good_len);
        if (len > good_len)
            memset(t + good_len, (int)next_rand(), len - good_len);
        unsigned int flips = 1 + next_rand() % 4;
        for (unsigned int i = 0; i < flips && len > 44; i++)
            t[44 + next_rand() % (len - 44)] = (uint8_t)next_rand();
        put32(t + 4, len);
        if (next_rand() % 2)
            fix_sum(t, len, 9);
        const char *why = NULL;
        if (madt_parse(t, len, &info, &why)) {
            assert_non_null(why);
            assert_true(strlen(why) > 0);
            refused++;
        } else {
            assert_true(info.nr_cpus <= MADT_MAX_CPUS);
            assert_true(info.nr_ioapics <= MADT_MAX_IOAPICS);
            accepted++;
        }
        free(t);
    }
    assert_true(refused > 0);
    assert_true(accepted > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_xsdt),
        cmocka_unit_test(test_rsdt),
        cmocka_unit_test(test_x2apic_online_capable_disabled),
        cmocka_unit_test(test_more_cpus_than_the_array),
        cmocka_unit_test(test_entry_length_zero),
        cmocka_unit_test(test_entry_past_end),
        cmocka_unit_test(test_entry_too_short),
        cmocka_unit_test(test_trailing_byte),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_semantic_refusals),
        cmocka_unit_test(test_rsdp_and_root),
        cmocka_unit_test(test_random_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
