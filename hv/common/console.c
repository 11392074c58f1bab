/*
 * console.c - the hypervisor log (printk, guest console lines, panic)
 * and the log ring that `xl dmesg` reads later (XEN_SYSCTL_readconsole).
 * Owns: line prefixes and the ring (Xen's conring: free-running 32-bit
 * producer and consumer indices over a power-of-two buffer; the oldest
 * bytes are overwritten). Must never: allocate, or block, or touch guest
 * memory itself (readers pass a copy function).
 */
#include <stdarg.h>
#include <xenolith/console.h>
#include <xenolith/lib.h>
#include <xenolith/power.h>

#define RING_SIZE CONSOLE_RING_SIZE
_Static_assert((RING_SIZE & (RING_SIZE - 1)) == 0, "ring indices wrap at 2^32");
static char ring[RING_SIZE];
static uint32_t ring_prod, ring_cons; /* Xen's conringp / conringc */
static int at_line_start = 1;
/* The domain whose unfinished line is on the serial port right now (a
 * shell prompt, keystrokes echoed one by one): its next bytes continue
 * that line; anyone else's output starts a new one. -1: none. */
static int open_line_domid = -1;

static void emit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        ring[ring_prod++ & (RING_SIZE - 1)] = s[i];
    if (ring_prod - ring_cons > RING_SIZE)
        ring_cons = ring_prod - RING_SIZE;
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
    if (open_line_domid >= 0 && !at_line_start)
        emit("\n", 1), at_line_start = 1;
    open_line_domid = -1;
    emit_lines("(XEN)", buf, (size_t)n);
}

/* Per-domain partial lines, so interleaved output stays readable. */
#define GUEST_LINE 256
static struct {
    uint16_t domid;
    size_t len;
    char buf[GUEST_LINE];
} gline[8];


/* Put slot's bytes on the serial port: complete lines always; with
 * partial set, an unfinished line too, left open for its domain. */
static void flush_guest_line(int slot, int partial)
{
    char who[16];
    size_t len = gline[slot].len;
    if (!len || (!partial && gline[slot].buf[len - 1] != '\n' && len < GUEST_LINE))
        return;
    xl_snprintf(who, sizeof(who), "(d%u)", gline[slot].domid);
    if (!at_line_start && open_line_domid != gline[slot].domid)
        emit("\n", 1), at_line_start = 1;
    emit_lines(who, gline[slot].buf, len);
    if (!at_line_start && !partial)
        emit("\n", 1), at_line_start = 1;
    open_line_domid = at_line_start ? -1 : gline[slot].domid;
    gline[slot].len = 0;
}

void console_guest_write(uint16_t domid, const char *buf, size_t len)
{
    int slot = domid % ARRAY_SIZE(gline);
    if (gline[slot].domid != domid && gline[slot].len)
        flush_guest_line(slot, 1);
    gline[slot].domid = domid;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\r' || c == '\0')
            continue;
        if (c != '\n' && (c < 0x20 || c > 0x7e) && c != '\t')
            c = '?'; /* keep guests from sending terminal escapes */
        gline[slot].buf[gline[slot].len++] = c;
        if (c == '\n' || gline[slot].len == GUEST_LINE)
            flush_guest_line(slot, 0);
    }
    /* What is left is an unfinished line: show it now (a prompt must be
     * seen before its newline comes), and keep the line open. */
    flush_guest_line(slot, 1);
}

size_t console_ring_read(char *buf, size_t len)
{
    uint32_t c = ring_cons;
    size_t n = 0;
    for (; n < len && c != ring_prod; n++, c++)
        buf[n] = ring[c & (RING_SIZE - 1)];
    return n;
}

/* Xen's read_console_ring: start at the consumer index, or at *index if
 * incremental and *index lies in (consumer, producer]; copy in at most
 * two contiguous pieces; clear moves the consumer to where reading
 * stopped. */
int console_ring_read_xen(int clear, int incremental, uint32_t *index, uint32_t *count,
                          console_copy_fn copy, void *ctx)
{
    uint32_t c = ring_cons, p = ring_prod, max = *count, sofar = 0;
    if (incremental && (c <= p ? (c < *index && *index <= p) : (c < *index || *index <= p)))
        c = *index;
    while (c != p && sofar < max) {
        uint32_t idx = c & (RING_SIZE - 1), len = p - c;
        if (idx + len > RING_SIZE)
            len = RING_SIZE - idx;
        if (sofar + len > max)
            len = max - sofar;
        int rc = copy(ctx, sofar, &ring[idx], len);
        if (rc)
            return rc;
        sofar += len;
        c += len;
    }
    if (clear)
        ring_cons = p - c > RING_SIZE ? p - RING_SIZE : c;
    *count = sofar;
    *index = c;
    return 0;
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
