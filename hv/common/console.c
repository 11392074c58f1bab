/*
 * console.c - the hypervisor log (printk, guest console lines, panic)
 * and the log ring that `xl dmesg` reads later.
 * Owns: line prefixes and the ring. Must never: allocate, or block.
 */
#include <stdarg.h>
#include <xenolith/console.h>
#include <xenolith/lib.h>
#include <xenolith/power.h>

#define RING_SIZE 16384
static char ring[RING_SIZE];
static uint64_t ring_pos;
static int at_line_start = 1;

static void emit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        ring[ring_pos++ % RING_SIZE] = s[i];
    arch_console_write(s, len);
}

static void emit_prefix(const char *who)
{
    char pre[48];
    uint64_t ns = arch_time_ns();
    int n = xl_snprintf(pre, sizeof(pre), "%s [%4lu.%06lu] ", who,
                        (unsigned long)(ns / 1000000000), (unsigned long)(ns / 1000 % 1000000));
    emit(pre, (size_t)n);
}

/* Write text, prefixing each new line with who. */
static void emit_lines(const char *who, const char *s, size_t len)
{
    while (len) {
        if (at_line_start)
            emit_prefix(who);
        size_t n = 0;
        while (n < len && s[n] != '\n')
            n++;
        if (n < len)
            n++; /* include the newline */
        emit(s, n);
        at_line_start = s[n - 1] == '\n';
        s += n;
        len -= n;
    }
}

void printk(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = xl_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    emit_lines("(XEN)", buf, (size_t)n);
}

/* Per-domain partial lines, so interleaved output stays readable. */
#define GUEST_LINE 256
static struct {
    uint16_t domid;
    size_t len;
    char buf[GUEST_LINE];
} gline[8];

static void flush_guest_line(int slot)
{
    char who[16];
    xl_snprintf(who, sizeof(who), "(d%u)", gline[slot].domid);
    if (!at_line_start)
        emit("\n", 1), at_line_start = 1;
    emit_lines(who, gline[slot].buf, gline[slot].len);
    if (!at_line_start)
        emit("\n", 1), at_line_start = 1;
    gline[slot].len = 0;
}

void console_guest_write(uint16_t domid, const char *buf, size_t len)
{
    int slot = domid % ARRAY_SIZE(gline);
    if (gline[slot].domid != domid && gline[slot].len)
        flush_guest_line(slot);
    gline[slot].domid = domid;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\r' || c == '\0')
            continue;
        if (c != '\n' && (c < 0x20 || c > 0x7e) && c != '\t')
            c = '?'; /* keep guests from sending terminal escapes */
        gline[slot].buf[gline[slot].len++] = c;
        if (c == '\n' || gline[slot].len == GUEST_LINE)
            flush_guest_line(slot);
    }
}

size_t console_ring_read(char *buf, size_t len)
{
    uint64_t avail = ring_pos < RING_SIZE ? ring_pos : RING_SIZE;
    uint64_t start = ring_pos - avail;
    size_t n = 0;
    for (; n < len && n < avail; n++)
        buf[n] = ring[(start + n) % RING_SIZE];
    return n;
}

void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    xl_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printk("\n");
    printk("****************************************\n");
    printk("PANIC: %s\n", buf);
    printk("****************************************\n");
    arch_dump_stack();
    printk("hypervisor halted (exit status: panic)\n");
    arch_halt_machine(XL_EXIT_PANIC);
}
