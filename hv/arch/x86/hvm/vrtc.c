/*
 * vrtc.c - the MC146818 RTC and its 128 bytes of CMOS RAM for one HVM
 * domain (ports 0x70/0x71; see hvm_dev.h): seconds, minutes, hours, day
 * of week, day of month, month, year and century (0x32) computed from the
 * caller's clock, in BCD or binary and 24 or 12 hour format per register
 * B; the guest sets the time with register B's SET bit as on hardware;
 * registers A-D, UIP high only in the 244 us before each second's update;
 * the periodic, alarm and update-ended flags in register C and IRQ 8.
 * Owns: the RTC's registers and RAM. Must never: read a clock, index
 * past the 128 bytes, loop on guest values (dates are plain arithmetic;
 * the alarm search looks at one day of seconds at most).
 * Not emulated: the divider chain's reset and stopped states (time and
 * the periodic rate always run), daylight saving (DSE), square-wave
 * output, a day of week kept apart from the date (it is derived from it).
 */
#include <xenolith/hvm_dev.h>
#include <xenolith/lib.h>

#define NS_PER_S 1000000000ULL
#define UIP_NS   244000ULL
#define XTAL_HZ  32768ULL
#define NO_DEADLINE HVM_DEV_NO_DEADLINE

enum { R_SEC = 0x00, R_ASEC = 0x01, R_MIN = 0x02, R_AMIN = 0x03, R_AHOUR = 0x05, R_HOUR = 0x04, R_WDAY = 0x06, R_MDAY = 0x07,
       R_MON = 0x08, R_YEAR = 0x09, R_A = 0x0A, R_B = 0x0B, R_C = 0x0C, R_D = 0x0D,
       R_CENTURY = 0x32 };

struct rtc_tm { int64_t year; int sec, min, hour, wday, mday, mon; };

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm: whole eras of 400 years, then the day of the era). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct rtc_tm *tm)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    tm->year = yoe + era * 400 + (tm->mon <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static void to_tm(int64_t t, struct rtc_tm *tm)
{
    int64_t days = floor_div(t, 86400), s = t - days * 86400;
    civil_from_days(days, tm);
    tm->hour = (int)(s / 3600);
    tm->min = (int)(s / 60 % 60);
    tm->sec = (int)(s % 60);
    tm->wday = (int)((days + 4) - floor_div(days + 4, 7) * 7); /* 1970-01-01: Thursday */
}

static int64_t from_tm(const struct rtc_tm *tm)
{
    return days_from_civil(tm->year, tm->mon, tm->mday) * 86400 + tm->hour * 3600 +
           tm->min * 60 + tm->sec;
}

int64_t vrtc_time(const struct vrtc *rtc, uint64_t now_ns)
{
    uint64_t el = now_ns > rtc->base_ns ? now_ns - rtc->base_ns : 0;
    return rtc->epoch + (int64_t)(el / NS_PER_S);
}

static int binary(const struct vrtc *rtc) { return (rtc->cmos[R_B] & VRTC_B_DM) != 0; }

static uint8_t enc(const struct vrtc *rtc, int v)
{
    return binary(rtc) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static int dec(const struct vrtc *rtc, uint8_t v)
{
    return binary(rtc) ? v : (v >> 4) * 10 + (v & 0xF);
}

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The time register reg as the RTC shows time t. */
static uint8_t encode_reg(const struct vrtc *rtc, uint8_t reg, int64_t t)
{
    struct rtc_tm tm;
    to_tm(t, &tm);
    switch (reg) {
    case R_SEC: return enc(rtc, tm.sec);
    case R_MIN: return enc(rtc, tm.min);
    case R_HOUR:
        if (rtc->cmos[R_B] & VRTC_B_24H)
            return enc(rtc, tm.hour);
        return (uint8_t)(enc(rtc, tm.hour % 12 ? tm.hour % 12 : 12) | (tm.hour >= 12 ? 0x80 : 0));
    case R_WDAY: return enc(rtc, tm.wday + 1); /* Sunday = 1 */
    case R_MDAY: return enc(rtc, tm.mday);
    case R_MON: return enc(rtc, tm.mon);
    case R_YEAR: return enc(rtc, (int)(tm.year % 100));
    default: return enc(rtc, (int)(tm.year / 100)); /* R_CENTURY */
    }
}

static int is_time_reg(uint8_t reg)
{
    return reg == R_SEC || reg == R_MIN || reg == R_HOUR || reg == R_WDAY || reg == R_MDAY ||
           reg == R_MON || reg == R_YEAR || reg == R_CENTURY;
}

static const uint8_t time_regs[] = { R_SEC, R_MIN, R_HOUR, R_WDAY, R_MDAY, R_MON, R_YEAR, R_CENTURY };

static void rebase(struct vrtc *rtc, uint64_t now_ns);

/* Time registers -> the RTC's time; out-of-range values are clamped. */
static void set_from_regs(struct vrtc *rtc, uint64_t now_ns)
{
    const uint8_t *c = rtc->cmos;
    struct rtc_tm tm;
    tm.sec = clamp(dec(rtc, c[R_SEC]), 0, 59);
    tm.min = clamp(dec(rtc, c[R_MIN]), 0, 59);
    if (rtc->cmos[R_B] & VRTC_B_24H) {
        tm.hour = clamp(dec(rtc, c[R_HOUR]), 0, 23);
    } else {
        int h = clamp(dec(rtc, c[R_HOUR] & 0x7F), 1, 12) % 12;
        tm.hour = h + (c[R_HOUR] & 0x80 ? 12 : 0);
    }
    tm.mday = clamp(dec(rtc, c[R_MDAY]), 1, 31);
    tm.mon = clamp(dec(rtc, c[R_MON]), 1, 12);
    tm.year = clamp(dec(rtc, c[R_CENTURY]), 0, 99) * 100 + clamp(dec(rtc, c[R_YEAR]), 0, 99);
    tm.wday = 0;
    rebase(rtc, now_ns);
    rtc->epoch = from_tm(&tm);
}

void vrtc_init(struct vrtc *rtc, int64_t epoch_s, uint64_t now_ns, hvm_raise_fn raise, void *ctx)
{
    memset(rtc, 0, sizeof(*rtc));
    rtc->raise = raise;
    rtc->ctx = ctx;
    rtc->epoch = epoch_s;
    rtc->base_ns = now_ns;
    rtc->last_ns = now_ns;
    rtc->cmos[R_A] = 0x26;
    rtc->cmos[R_B] = VRTC_B_24H;
    rtc->cmos[R_D] = 0x80;
}

/* ---- register C: periodic, alarm, update-ended ---- */

/* 32.768 kHz cycles in ns, floor, and the first ns reaching c cycles. */
static uint64_t ns_to_cycles(uint64_t ns)
{
    return ns / NS_PER_S * XTAL_HZ + ns % NS_PER_S * XTAL_HZ / NS_PER_S;
}

static uint64_t cycles_to_ns(uint64_t c)
{
    return c / XTAL_HZ * NS_PER_S + (c % XTAL_HZ * NS_PER_S + XTAL_HZ - 1) / XTAL_HZ;
}

/* The periodic interrupt's period in 32.768 kHz cycles (register A rate
 * select; 1 and 2 are 256 and 128 Hz as 8 and 9), 0 if off. */
static uint64_t pf_period(const struct vrtc *rtc)
{
    unsigned int rs = rtc->cmos[R_A] & 0xF;
    if (rs == 0)
        return 0;
    if (rs < 3)
        rs += 7;
    return 1ULL << (rs - 1);
}

static int alarm_field(uint8_t alarm, uint8_t now) { return (alarm & 0xC0) == 0xC0 || alarm == now; }

/* The seconds field first, without a date conversion: the search over a
 * day of seconds costs little more than a division per second. */
static int alarm_match(const struct vrtc *rtc, int64_t t)
{
    return alarm_field(rtc->cmos[R_ASEC], enc(rtc, (int)(t - floor_div(t, 60) * 60))) &&
           alarm_field(rtc->cmos[R_AMIN], encode_reg(rtc, R_MIN, t)) &&
           alarm_field(rtc->cmos[R_AHOUR], encode_reg(rtc, R_HOUR, t));
}

/* IRQF = PF.PIE + AF.AIE + UF.UIE; IRQ 8 rises with it. */
static void update_irqf(struct vrtc *rtc)
{
    uint8_t c = rtc->cmos[R_C], b = rtc->cmos[R_B];
    if (c & VRTC_C_IRQF)
        return;
    if ((c & VRTC_C_PF && b & VRTC_B_PIE) || (c & VRTC_C_AF && b & VRTC_B_AIE) ||
        (c & VRTC_C_UF && b & VRTC_B_UIE)) {
        rtc->cmos[R_C] = c | VRTC_C_IRQF;
        if (rtc->raise)
            rtc->raise(rtc->ctx, VRTC_IRQ, 1);
    }
}

void vrtc_advance(struct vrtc *rtc, uint64_t now_ns)
{
    if (now_ns <= rtc->last_ns)
        return;
    uint64_t from = rtc->last_ns - rtc->base_ns, to = now_ns - rtc->base_ns;
    uint8_t f = 0;
    rtc->last_ns = now_ns;
    uint64_t per = pf_period(rtc);
    if (per && ns_to_cycles(to) / per > ns_to_cycles(from) / per)
        f |= VRTC_C_PF;
    if (!(rtc->cmos[R_B] & VRTC_B_SET)) {
        uint64_t s_from = from / NS_PER_S, s_to = to / NS_PER_S;
        if (s_to > s_from)
            f |= VRTC_C_UF;
        /* any second in (s_from, s_to] the alarm matches; a day holds them all */
        uint64_t first = s_to - s_from > 86400 ? s_to - 86400 : s_from;
        if (rtc->cmos[R_C] & VRTC_C_AF)
            first = s_to;              /* already flagged: nothing to find */
        for (uint64_t s = s_to; s > first; s--) {
            if (alarm_match(rtc, rtc->epoch + (int64_t)s)) {
                f |= VRTC_C_AF;
                break;
            }
        }
    }
    rtc->cmos[R_C] |= f;
    update_irqf(rtc);
}

uint64_t vrtc_next_deadline(const struct vrtc *rtc)
{
    uint8_t b = rtc->cmos[R_B];
    if (rtc->cmos[R_C] & VRTC_C_IRQF)
        return NO_DEADLINE;
    uint64_t d = NO_DEADLINE, el = rtc->last_ns - rtc->base_ns;
    uint64_t per = pf_period(rtc);
    if (per && (b & VRTC_B_PIE))
        d = rtc->base_ns + cycles_to_ns((ns_to_cycles(el) / per + 1) * per);
    if (!(b & VRTC_B_SET) && (b & (VRTC_B_UIE | VRTC_B_AIE))) {
        uint64_t s = rtc->base_ns + (el / NS_PER_S + 1) * NS_PER_S;
        if (s < d)
            d = s;
    }
    return d;
}

/* The time base moves (the guest set the time): account for the time
 * until now under the old one first. */
static void rebase(struct vrtc *rtc, uint64_t now_ns)
{
    vrtc_advance(rtc, now_ns);
    rtc->base_ns = now_ns;
    if (rtc->last_ns < now_ns)
        rtc->last_ns = now_ns;
}

static uint8_t read_data(struct vrtc *rtc, uint64_t now_ns)
{
    uint8_t reg = rtc->index, set = rtc->cmos[R_B] & VRTC_B_SET;
    if (is_time_reg(reg))
        return set ? rtc->cmos[reg] : encode_reg(rtc, reg, vrtc_time(rtc, now_ns));
    switch (reg) {
    case R_A: {
        uint64_t el = now_ns > rtc->base_ns ? now_ns - rtc->base_ns : 0;
        int uip = !set && el % NS_PER_S >= NS_PER_S - UIP_NS;
        return (uint8_t)((rtc->cmos[R_A] & 0x7F) | (uip ? VRTC_A_UIP : 0));
    }
    case R_C: {
        uint8_t c = rtc->cmos[R_C];
        rtc->cmos[R_C] = 0;
        if ((c & VRTC_C_IRQF) && rtc->raise)
            rtc->raise(rtc->ctx, VRTC_IRQ, 0);
        return c;
    }
    case R_D: return 0x80;
    }
    return rtc->cmos[reg];
}

static void write_data(struct vrtc *rtc, uint8_t v, uint64_t now_ns)
{
    uint8_t reg = rtc->index, set = rtc->cmos[R_B] & VRTC_B_SET;
    if (is_time_reg(reg)) {
        if (!set) {                    /* set one field of the running time */
            int64_t t = vrtc_time(rtc, now_ns);
            for (unsigned int i = 0; i < sizeof(time_regs); i++)
                rtc->cmos[time_regs[i]] = encode_reg(rtc, time_regs[i], t);
        }
        rtc->cmos[reg] = v;
        if (!set)
            set_from_regs(rtc, now_ns);
        return;
    }
    switch (reg) {
    case R_A:
        rtc->cmos[R_A] = v & 0x7F;     /* UIP is read-only */
        return;
    case R_B:
        if ((v & VRTC_B_SET) && !set) {
            /* freeze the time in the format the guest now asks for */
            int64_t t = vrtc_time(rtc, now_ns);
            rtc->cmos[R_B] = v;
            for (unsigned int i = 0; i < sizeof(time_regs); i++)
                rtc->cmos[time_regs[i]] = encode_reg(rtc, time_regs[i], t);
        }
        if (v & VRTC_B_SET)
            v &= (uint8_t)~VRTC_B_UIE; /* SET clears UIE */
        rtc->cmos[R_B] = v;
        if (!(v & VRTC_B_SET) && set)
            set_from_regs(rtc, now_ns);
        update_irqf(rtc);              /* an enable with its flag already set */
        return;
    case R_C: case R_D:
        return;                        /* read-only */
    }
    rtc->cmos[reg] = v;
}

static uint8_t read_byte(struct vrtc *rtc, uint16_t port, uint64_t now_ns)
{
    if (port == VRTC_PORT_DATA)
        return read_data(rtc, now_ns);
    return 0xFF;                       /* the index register is write-only */
}

static void write_byte(struct vrtc *rtc, uint16_t port, uint8_t v, uint64_t now_ns)
{
    if (port == VRTC_PORT_INDEX)
        rtc->index = v & 0x7F;         /* bit 7 masks NMI: ignored */
    else if (port == VRTC_PORT_DATA)
        write_data(rtc, v, now_ns);
}

uint32_t vrtc_read(struct vrtc *rtc, uint16_t port, unsigned int size, uint64_t now_ns)
{
    if (size != 1 && size != 2 && size != 4)
        return ~0u;
    vrtc_advance(rtc, now_ns);
    uint32_t v = 0;
    for (unsigned int i = 0; i < size; i++)
        v |= (uint32_t)read_byte(rtc, (uint16_t)(port + i), now_ns) << (8 * i);
    return v;
}

void vrtc_write(struct vrtc *rtc, uint16_t port, unsigned int size, uint32_t value, uint64_t now_ns)
{
    if (size != 1 && size != 2 && size != 4)
        return;
    vrtc_advance(rtc, now_ns);
    for (unsigned int i = 0; i < size; i++)
        write_byte(rtc, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)), now_ns);
}
