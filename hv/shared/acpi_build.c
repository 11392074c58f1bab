/*
 * acpi_build.c - the ACPI tables a PVH guest gets (as libxl gives one):
 * an RSDP (ACPI 2.0) pointing at an XSDT that lists a MADT with one
 * enabled local APIC per vcpu (APIC ID = vcpu id) and no I/O APIC. Built
 * into one page at a guest-physical address the caller chooses; the hv's
 * PVH builder and the toolstack's both use it.
 * Owns: the table layout. Must never: write past the page it is given.
 */
#include <xenolith/acpi_build.h>
#include <xenolith/lib.h>

struct acpi_hdr {
    char sig[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
    char sig[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

static uint8_t sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *b++);
    return s;
}

static void header(struct acpi_hdr *h, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(h->sig, sig, 4);
    h->length = len;
    h->revision = rev;
    memcpy(h->oem_id, "XENLTH", 6);
    memcpy(h->oem_table_id, "XENOLITH", 8);
    h->oem_revision = 1;
    memcpy(&h->creator_id, "XLTH", 4);
    h->creator_revision = 1;
    h->checksum = 0;
    h->checksum = (uint8_t)-sum(h, len);
}

#define XSDT_OFF 64
#define MADT_OFF 128

static void rsdp_xsdt(uint8_t *page, uint64_t page_gpa, unsigned int nr_tables);

/* The MADT: local APIC address, flags, one type-0 entry (processor local
 * APIC, enabled) per vcpu; with the HVM platform, PCAT_COMPAT (the 8259
 * pair is there), the I/O APIC (ID 0 at 0xfec00000, GSIs from 0) and the
 * override of ISA IRQ 0 to GSI 2 (edge, high: the bus's defaults). */
static int build(uint8_t *page, size_t size, uint64_t page_gpa, unsigned int nr_vcpus,
                 int platform)
{
    size_t madt_len = sizeof(struct acpi_hdr) + 8 + 8 * (size_t)nr_vcpus + (platform ? 12 + 10 : 0);
    if (!nr_vcpus || nr_vcpus > 255 || MADT_OFF + madt_len > size)
        return -1;
    memset(page, 0, size);
    uint8_t *m = page + MADT_OFF;
    uint32_t lapic_addr = 0xfee00000u, flags = platform ? 1 : 0;
    memcpy(m + sizeof(struct acpi_hdr), &lapic_addr, 4);
    memcpy(m + sizeof(struct acpi_hdr) + 4, &flags, 4);
    uint8_t *e = m + sizeof(struct acpi_hdr) + 8;
    for (unsigned int i = 0; i < nr_vcpus; i++, e += 8) {
        e[0] = 0;            /* processor local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i;   /* ACPI processor UID */
        e[3] = (uint8_t)i;   /* APIC ID */
        e[4] = 1;            /* enabled */
    }
    if (platform) {
        uint32_t ioapic_addr = 0xfec00000u, gsi_base = 0, gsi2 = 2;
        e[0] = 1, e[1] = 12, e[2] = 0; /* I/O APIC, ID 0 */
        memcpy(e + 4, &ioapic_addr, 4);
        memcpy(e + 8, &gsi_base, 4);
        e += 12;
        e[0] = 2, e[1] = 10, e[2] = 0, e[3] = 0; /* override: ISA bus, IRQ 0 */
        memcpy(e + 4, &gsi2, 4);                 /* flags 0: conforms to the bus */
    }
    header((struct acpi_hdr *)m, "APIC", (uint32_t)madt_len, 4);
    rsdp_xsdt(page, page_gpa, 1);
    return 0;
}

int acpi_build_pvh(uint8_t *page, size_t size, uint64_t page_gpa, unsigned int nr_vcpus)
{
    return build(page, size, page_gpa, nr_vcpus, 0);
}

int acpi_build_hvm(uint8_t *page, size_t size, uint64_t page_gpa, unsigned int nr_vcpus)
{
    return build(page, size, page_gpa, nr_vcpus, 1);
}

/* The XSDT (listing the MADT if nr_tables is 1) and the RSDP. */
static void rsdp_xsdt(uint8_t *page, uint64_t page_gpa, unsigned int nr_tables)
{
    uint8_t *x = page + XSDT_OFF;
    uint64_t madt_gpa = page_gpa + MADT_OFF;
    if (nr_tables)
        memcpy(x + sizeof(struct acpi_hdr), &madt_gpa, 8);
    header((struct acpi_hdr *)x, "XSDT", (uint32_t)(sizeof(struct acpi_hdr) + 8 * nr_tables), 1);
    /* RSDP (ACPI 2.0) */
    struct acpi_rsdp *r = (struct acpi_rsdp *)page;
    memcpy(r->sig, "RSD PTR ", 8);
    memcpy(r->oem_id, "XENLTH", 6);
    r->revision = 2;
    r->length = sizeof(*r);
    r->xsdt = page_gpa + XSDT_OFF;
    r->checksum = (uint8_t)-sum(r, 20);
    r->ext_checksum = (uint8_t)-sum(r, sizeof(*r));
}
