/*
 * acpi.c - the RSDP -> XSDT/RSDT -> MADT walk and the MADT parser (see
 * acpi.h). Pure: it reads firmware memory only through the caller's map
 * callback and never logs; what it refuses it explains in *why.
 * Owns: the validity rules for the tables it reads. Must never: read
 * past a length it has not checked; loop on an entry of length 0; keep
 * anything of a table it refuses.
 */
#include <xenolith/acpi.h>
#include <xenolith/lib.h>

static char why_buf[160];

/* Set *why to a formatted reason (boot-time, one CPU: a static buffer). */
static int refuse(const char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(const char **why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xl_vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
    va_end(ap);
    *why = why_buf;
    return -1;
}

/* Firmware tables are packed and byte-aligned: read fields by memcpy. */
static uint8_t rd8(const uint8_t *p) { return p[0]; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

uint8_t acpi_checksum(const void *p, uint64_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (uint64_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return sum;
}

#define SDT_HDR_LEN 36

/* Map and check the whole table at phys: a header with a plausible
 * length, then the full length with a zero checksum. NULL and *why if
 * not; *len its length. want is the signature it must have (or NULL). */
static const uint8_t *map_table(acpi_map_fn map, void *ctx, uint64_t phys, const char *want,
                                uint32_t *len, const char **why)
{
    const uint8_t *h = map(ctx, phys, SDT_HDR_LEN);
    if (!h) {
        refuse(why, "table at %#lx cannot be read", (unsigned long)phys);
        return NULL;
    }
    char sig[5] = { (char)h[0], (char)h[1], (char)h[2], (char)h[3], 0 };
    for (int i = 0; i < 4; i++)
        if (sig[i] < 0x20 || sig[i] > 0x7e)
            sig[i] = '?';
    if (want && memcmp(h, want, 4)) {
        refuse(why, "table at %#lx has signature \"%s\", expected \"%.4s\"", (unsigned long)phys,
               sig, want);
        return NULL;
    }
    uint32_t l = rd32(h + 4);
    if (l < SDT_HDR_LEN || l > ACPI_TABLE_MAX_LEN) {
        refuse(why, "%s at %#lx claims length %u (must be %u..%u)", sig, (unsigned long)phys, l,
               SDT_HDR_LEN, ACPI_TABLE_MAX_LEN);
        return NULL;
    }
    const uint8_t *t = map(ctx, phys, l);
    if (!t) {
        refuse(why, "%s at %#lx, %u bytes, cannot be read", sig, (unsigned long)phys, l);
        return NULL;
    }
    if (acpi_checksum(t, l)) {
        refuse(why, "%s at %#lx: bad checksum", sig, (unsigned long)phys);
        return NULL;
    }
    *len = l;
    return t;
}

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36

int acpi_find_table(acpi_map_fn map, void *ctx, uint64_t rsdp_phys, const char sig[4],
                    uint64_t *phys, uint32_t *len, const char **why)
{
    if (!rsdp_phys)
        return refuse(why, "no RSDP from the loader");
    const uint8_t *r = map(ctx, rsdp_phys, RSDP_V1_LEN);
    if (!r)
        return refuse(why, "RSDP at %#lx cannot be read", (unsigned long)rsdp_phys);
    if (memcmp(r, "RSD PTR ", 8))
        return refuse(why, "RSDP at %#lx: bad signature", (unsigned long)rsdp_phys);
    if (acpi_checksum(r, RSDP_V1_LEN))
        return refuse(why, "RSDP at %#lx: bad checksum", (unsigned long)rsdp_phys);
    uint64_t root = rd32(r + 16);
    unsigned int esize = 4;
    const char *root_sig = "RSDT";
    if (rd8(r + 15) >= 2) {
        r = map(ctx, rsdp_phys, RSDP_V2_LEN);
        if (!r)
            return refuse(why, "RSDP 2.0 at %#lx cannot be read", (unsigned long)rsdp_phys);
        uint32_t rlen = rd32(r + 20);
        if (rlen < RSDP_V2_LEN || rlen > 4096)
            return refuse(why, "RSDP 2.0 claims length %u", rlen);
        r = map(ctx, rsdp_phys, rlen);
        if (!r || acpi_checksum(r, rlen))
            return refuse(why, "RSDP 2.0 at %#lx: bad extended checksum", (unsigned long)rsdp_phys);
        if (rd64(r + 24)) {
            root = rd64(r + 24);
            esize = 8;
            root_sig = "XSDT";
        }
    }
    if (!root)
        return refuse(why, "RSDP names no RSDT or XSDT");
    uint32_t rootlen;
    const uint8_t *t = map_table(map, ctx, root, root_sig, &rootlen, why);
    if (!t)
        return -1;
    if ((rootlen - SDT_HDR_LEN) % esize)
        return refuse(why, "%s length %u is not a header plus %u-byte entries", root_sig, rootlen,
                      esize);
    unsigned int n = (rootlen - SDT_HDR_LEN) / esize;
    for (unsigned int i = 0; i < n; i++) {
        const uint8_t *e = t + SDT_HDR_LEN + i * esize;
        uint64_t p = esize == 8 ? rd64(e) : rd32(e);
        if (!p)
            continue;
        const uint8_t *h = map(ctx, p, SDT_HDR_LEN);
        if (!h)
            return refuse(why, "%s entry %u (%#lx) cannot be read", root_sig, i, (unsigned long)p);
        if (memcmp(h, sig, 4))
            continue;
        /* The first table with the signature is the one; a bad one is
         * refused rather than passed over for a later copy. */
        if (!map_table(map, ctx, p, sig, len, why))
            return -1;
        *phys = p;
        return 0;
    }
    return refuse(why, "no \"%.4s\" table among the %u entries of the %s", sig, n, root_sig);
}

/* Minimum lengths of the MADT entry types this parser reads (ACPI 6.5
 * table 5.21); 0: not read, skipped by its length. */
static uint8_t madt_min_len(uint8_t type)
{
    switch (type) {
    case 0: return 8;   /* Processor Local APIC */
    case 1: return 12;  /* I/O APIC */
    case 2: return 10;  /* Interrupt Source Override */
    case 3: return 8;   /* NMI Source */
    case 4: return 6;   /* Local APIC NMI */
    case 5: return 12;  /* Local APIC Address Override */
    case 9: return 16;  /* Processor Local x2APIC */
    case 10: return 12; /* Local x2APIC NMI */
    default: return 0;
    }
}

#define MADT_ENTRIES 44 /* header, local APIC address, flags */

static int add_cpu(struct madt_info *m, uint32_t apic_id, uint32_t uid, uint32_t flags,
                   int x2apic, const char **why)
{
    if (!(flags & 3)) {
        m->cpus_disabled++; /* neither enabled nor online-capable: not there */
        return 0;
    }
    for (unsigned int i = 0; i < m->nr_cpus; i++)
        if (m->cpus[i].apic_id == apic_id)
            return refuse(why, "MADT lists processor APIC id %u twice", apic_id);
    if (m->nr_cpus == MADT_MAX_CPUS) {
        m->cpus_dropped++;
        return 0;
    }
    m->cpus[m->nr_cpus++] = (struct madt_cpu){ .apic_id = apic_id, .acpi_uid = uid,
                                               .enabled = flags & 1,
                                               .online_capable = !(flags & 1) && (flags & 2),
                                               .x2apic = (uint8_t)x2apic };
    return 0;
}

int madt_parse(const void *table, uint64_t len, struct madt_info *out, const char **why)
{
    const uint8_t *t = table;
    struct madt_info *m = out;
    memset(m, 0, sizeof(*m));
    if (len < MADT_ENTRIES || len > ACPI_TABLE_MAX_LEN)
        return refuse(why, "MADT of %lu bytes (must be %u..%u)", (unsigned long)len, MADT_ENTRIES,
                      ACPI_TABLE_MAX_LEN);
    if (memcmp(t, "APIC", 4))
        return refuse(why, "MADT has the wrong signature");
    if (rd32(t + 4) != len)
        return refuse(why, "MADT header says %u bytes, %lu given", rd32(t + 4), (unsigned long)len);
    if (acpi_checksum(t, len))
        return refuse(why, "MADT: bad checksum");
    m->lapic_addr = rd32(t + 36);
    m->flags = rd32(t + 40);
    unsigned int idx = 0;
    for (uint64_t off = MADT_ENTRIES; off < len; idx++) {
        if (len - off < 2)
            return refuse(why, "MADT entry %u at offset %lu: 1 byte left, a header needs 2", idx,
                          (unsigned long)off);
        const uint8_t *e = t + off;
        uint8_t type = e[0], elen = e[1];
        if (elen < 2)
            return refuse(why, "MADT entry %u (type %u) at offset %lu: length %u", idx, type,
                          (unsigned long)off, elen);
        if (elen > len - off)
            return refuse(why, "MADT entry %u (type %u) at offset %lu: length %u runs past the "
                          "table's end (%lu)", idx, type, (unsigned long)off, elen,
                          (unsigned long)len);
        uint8_t need = madt_min_len(type);
        if (elen < need)
            return refuse(why, "MADT entry %u (type %u) at offset %lu: length %u, needs %u", idx,
                          type, (unsigned long)off, elen, need);
        off += elen;
        switch (type) {
        case 0:
            if (e[3] == 0xff) { /* the xAPIC broadcast id: not a processor */
                m->other_dropped++;
                break;
            }
            if (add_cpu(m, e[3], e[2], rd32(e + 4), 0, why))
                return -1;
            break;
        case 9:
            if (rd32(e + 4) == 0xffffffffu) {
                m->other_dropped++;
                break;
            }
            if (add_cpu(m, rd32(e + 4), rd32(e + 12), rd32(e + 8), 1, why))
                return -1;
            break;
        case 1: {
            uint32_t addr = rd32(e + 4);
            if (!addr)
                return refuse(why, "MADT: I/O APIC id %u at address 0", e[2]);
            for (unsigned int i = 0; i < m->nr_ioapics; i++)
                if (m->ioapics[i].id == e[2] || m->ioapics[i].addr == addr)
                    return refuse(why, "MADT: I/O APIC id %u at %#x collides with id %u at %#x",
                                  e[2], addr, m->ioapics[i].id, m->ioapics[i].addr);
            if (m->nr_ioapics == MADT_MAX_IOAPICS) {
                m->other_dropped++;
                break;
            }
            m->ioapics[m->nr_ioapics++] = (struct madt_ioapic){ .id = e[2], .addr = addr,
                                                                .gsi_base = rd32(e + 8) };
            break;
        }
        case 2:
            if (e[2] != 0 || e[3] >= 16)
                return refuse(why, "MADT: interrupt override of bus %u IRQ %u (only ISA IRQs "
                              "0-15 exist)", e[2], e[3]);
            if (m->nr_overrides == MADT_MAX_OVERRIDES) {
                m->other_dropped++;
                break;
            }
            m->overrides[m->nr_overrides++] = (struct madt_override){
                .bus = e[2], .source = e[3], .gsi = rd32(e + 4), .flags = rd16(e + 8) };
            break;
        case 4:
        case 10: {
            struct madt_nmi n = type == 4
                ? (struct madt_nmi){ .acpi_uid = e[2], .flags = rd16(e + 3), .lint = e[5] }
                : (struct madt_nmi){ .acpi_uid = rd32(e + 4), .flags = rd16(e + 2), .lint = e[8] };
            if (n.lint > 1)
                return refuse(why, "MADT: local APIC NMI on LINT%u (only LINT0/1 exist)", n.lint);
            if (m->nr_nmis == MADT_MAX_NMIS) {
                m->other_dropped++;
                break;
            }
            m->nmis[m->nr_nmis++] = n;
            break;
        }
        case 5:
            m->lapic_addr = rd64(e + 4);
            break;
        case 3:
            break; /* NMI source: a GSI wired to NMI; the hv routes none */
        default:
            m->unknown_entries++;
            break;
        }
    }
    if (!m->lapic_addr || (m->lapic_addr & 0xfff))
        return refuse(why, "MADT: local APIC address %#lx", (unsigned long)m->lapic_addr);
    unsigned int enabled = 0;
    for (unsigned int i = 0; i < m->nr_cpus; i++)
        enabled += m->cpus[i].enabled;
    if (!enabled)
        return refuse(why, "MADT lists no enabled processor");
    return 0;
}

int acpi_read_madt(acpi_map_fn map, void *ctx, uint64_t rsdp_phys, struct madt_info *out,
                   const char **why)
{
    uint64_t phys;
    uint32_t len;
    if (acpi_find_table(map, ctx, rsdp_phys, "APIC", &phys, &len, why))
        return -1;
    const void *t = map(ctx, phys, len);
    if (!t)
        return refuse(why, "MADT at %#lx cannot be read", (unsigned long)phys);
    return madt_parse(t, len, out, why);
}
