/*
 * lib.c - memory and string primitives for freestanding code (hv and
 * guest kernels). gcc may emit calls to memcpy/memset itself, so these
 * keep their standard names. Never linked into host tests (libc has them).
 */
#include <xenolith/lib.h>

/* Word-sized (unaligned is fine on x86) accesses that may alias anything. */
typedef uint64_t __attribute__((may_alias, aligned(1))) xl_word;

/* Forward copy, 32 then 8 bytes at a time; each group is loaded before it
 * is stored, so memmove may use it when d < s. */
void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;
    for (; n >= 32; n -= 32, dp += 32, sp += 32) {
        xl_word a = ((const xl_word *)sp)[0], b = ((const xl_word *)sp)[1];
        xl_word c = ((const xl_word *)sp)[2], e = ((const xl_word *)sp)[3];
        ((xl_word *)dp)[0] = a;
        ((xl_word *)dp)[1] = b;
        ((xl_word *)dp)[2] = c;
        ((xl_word *)dp)[3] = e;
    }
    for (; n >= 8; n -= 8, dp += 8, sp += 8)
        *(xl_word *)dp = *(const xl_word *)sp;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;
    if (dp < sp)
        return memcpy(d, s, n);
    while (n--)
        dp[n] = sp[n];
    return d;
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *dp = d;
    xl_word w = (uint8_t)c * 0x0101010101010101ULL;
    for (; n >= 32; n -= 32, dp += 32) {
        ((xl_word *)dp)[0] = w;
        ((xl_word *)dp)[1] = w;
        ((xl_word *)dp)[2] = w;
        ((xl_word *)dp)[3] = w;
    }
    for (; n >= 8; n -= 8, dp += 8)
        *(xl_word *)dp = w;
    while (n--)
        *dp++ = (uint8_t)c;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

int strcmp(const char *a, const char *b)
{
    return strncmp(a, b, (size_t)-1);
}
