/* lunge_tmpl.h - render a request's text (URL, header value, body) for one VU, natively.
 *
 * At plan time Python resolves everything that is the same for every request (global
 * variables, the environment, baseUrl, tags) and leaves a template of segments: literal
 * text, and the parts that change per VU or per iteration: a value the VU extracted
 * earlier in its flow, {{iteration}}, {{vuId}}, {{timestamp}} (Unix seconds),
 * {{timestampMs}}, {{isoTimestamp}} (UTC, ms: 2026-12-06T07:20:00.123Z), {{$uuid}} and
 * {{$randomInt}}.  The engine renders it into the VU's buffer before each request: no
 * Python, no allocation, bounded by the buffer.
 */
#ifndef LUNGE_TMPL_H
#define LUNGE_TMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { LT_LIT = 0, LT_VAR, LT_ITERATION, LT_VU, LT_TIMESTAMP, LT_UUID, LT_RANDINT, LT_TIMESTAMP_MS, LT_ISO };

typedef struct {
    int kind;
    const char *text;   /* LT_LIT: the literal (not NUL-terminated) */
    size_t len;
    int var;            /* LT_VAR: index in the VU's variable table */
    int64_t lo, hi;     /* LT_RANDINT: inclusive range */
} lt_seg;

typedef struct {
    const char *const *vals;  /* the VU's variables: vals[i][0..lens[i]) (NULL: not set yet) */
    const size_t *lens;
    int nvars;
    uint64_t iteration;       /* the VU's iteration (0-based, as k6's __ITER) */
    uint64_t vu;              /* the VU's number (1-based, as k6's __VU) */
    uint64_t now_ms;          /* wall-clock ms since the epoch */
    uint64_t *rng;            /* the VU's xorshift64* state (never 0) */
} lt_ctx;

static inline uint64_t lt_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline size_t lt_u64(uint64_t v, char *out) {
    char tmp[20];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* now_ms as ISO 8601 UTC with milliseconds into out (24 characters): 2026-12-06T07:20:00.123Z.
 * Days to a civil date: Howard Hinnant's days_from_civil, inverted. */
static inline size_t lt_iso(uint64_t now_ms, char *out) {
    uint64_t ms = now_ms % 1000, secs = now_ms / 1000;
    uint64_t sod = secs % 86400;
    int64_t z = (int64_t)(secs / 86400) + 719468;
    int64_t era = z / 146097;
    uint64_t doe = (uint64_t)(z - era * 146097);
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    uint64_t d = doy - (153 * mp + 2) / 5 + 1;
    uint64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    uint64_t f[7] = {(uint64_t)y, m, d, sod / 3600, sod / 60 % 60, sod % 60, ms};
    static const char sep[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    static const int width[7] = {4, 2, 2, 2, 2, 2, 3};
    size_t o = 0;
    for (int i = 0; i < 7; i++) {
        uint64_t v = f[i];
        for (int k = width[i] - 1; k >= 0; k--) { out[o + (size_t)k] = (char)('0' + v % 10); v /= 10; }
        o += (size_t)width[i];
        out[o++] = sep[i];
    }
    return o;
}

/* Render the n segments into out[0..cap); the length, or -1 if it does not fit or a
 * variable is not set (the request is then not sent: the flow's earlier extraction failed). */
static long lt_render(const lt_seg *segs, int n, const lt_ctx *c, char *out, size_t cap) {
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        const lt_seg *s = &segs[i];
        char num[24];
        const char *src = num;
        size_t len = 0;
        switch (s->kind) {
        case LT_LIT: src = s->text; len = s->len; break;
        case LT_VAR:
            if (s->var < 0 || s->var >= c->nvars || c->vals[s->var] == NULL) return -1;
            src = c->vals[s->var]; len = c->lens[s->var];
            break;
        case LT_ITERATION: len = lt_u64(c->iteration, num); break;
        case LT_VU: len = lt_u64(c->vu, num); break;
        case LT_TIMESTAMP: len = lt_u64(c->now_ms / 1000, num); break;
        case LT_TIMESTAMP_MS: len = lt_u64(c->now_ms, num); break;
        case LT_ISO: len = lt_iso(c->now_ms, num); break;
        case LT_RANDINT: {
            uint64_t span = (uint64_t)(s->hi - s->lo) + 1;
            int64_t v = s->lo + (int64_t)(span ? lt_next(c->rng) % span : lt_next(c->rng));
            if (v < 0) { num[0] = '-'; len = 1 + lt_u64((uint64_t)0 - (uint64_t)v, num + 1); }
            else len = lt_u64((uint64_t)v, num);
            break;
        }
        case LT_UUID: {     /* a version-4 UUID */
            static const char hex[] = "0123456789abcdef";
            uint64_t a = lt_next(c->rng), b = lt_next(c->rng);
            unsigned char bytes[16];
            for (int k = 0; k < 8; k++) { bytes[k] = (unsigned char)(a >> (8 * k)); bytes[8 + k] = (unsigned char)(b >> (8 * k)); }
            bytes[6] = (unsigned char)((bytes[6] & 0x0F) | 0x40);
            bytes[8] = (unsigned char)((bytes[8] & 0x3F) | 0x80);
            /* 36 characters: straight to out */
            if (o + 36 > cap) return -1;
            {
                size_t w = 0;
                for (int k = 0; k < 16; k++) {
                    if (k == 4 || k == 6 || k == 8 || k == 10) out[o + w++] = '-';
                    out[o + w++] = hex[bytes[k] >> 4];
                    out[o + w++] = hex[bytes[k] & 15];
                }
                o += w;
            }
            continue;
        }
        default: return -1;
        }
        if (o + len > cap) return -1;
        memcpy(out + o, src, len);
        o += len;
    }
    return (long)o;
}

#endif
