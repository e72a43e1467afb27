/* lunge_json.h - find one value in a JSON document by a plain path, without building a tree.
 *
 * For flows: a VU extracts a token or an id from a response body, or checks a field, on the
 * engine thread with no Python.  The paths are the plain ones users write in load tests:
 *
 *     $.a.b[0].c    $['a']['b'][0]    $.data[0].id    JSONPath, no filters or wildcards
 *     $.0.id        $.items.#         gjson dots: a number is an array index, '#' the length
 *
 * lj_compile() turns a path into steps once (at plan time); lj_find() walks the document's
 * text to the value (skipping everything else) and returns its slice: strings without their
 * quotes (escapes left as written: lj_unescape() decodes them when needed), other values as
 * written.  A malformed document or a path that does not resolve returns LJ_MISSING: never a
 * crash, never a read past `len`.  Depth is bounded by the path, not by the document.
 */
#ifndef LUNGE_JSON_H
#define LUNGE_JSON_H

#include <stddef.h>
#include <string.h>

#define LJ_MAX_STEPS 32

enum { LJ_KEY = 0, LJ_INDEX = 1, LJ_LENGTH = 2 };
/* What lj_find found. */
enum { LJ_MISSING = 0, LJ_STRING, LJ_NUMBER, LJ_TRUE, LJ_FALSE, LJ_NULL, LJ_OBJECT, LJ_ARRAY, LJ_COUNT };

typedef struct {
    int kind;           /* LJ_KEY, LJ_INDEX or LJ_LENGTH ('#': the array's length) */
    const char *key;    /* LJ_KEY: points into the compiled path's text (not NUL-terminated) */
    size_t keylen;
    long index;
} lj_step;

static long lj_unescape(const char *s, size_t len, char *dst, size_t cap);

static inline int lj_isdigit(char c) { return c >= '0' && c <= '9'; }

/* Steps of `path` into steps[max]; returns their number, or -1 if the path is not a plain
 * one (filters, wildcards, slices, recursive descent).  `path` must outlive the steps. */
static int lj_compile(const char *path, lj_step *steps, int max) {
    const char *p = path;
    int n = 0;
    if (*p == '$') p++;
    while (*p) {
        if (n >= max) return -1;
        lj_step *s = &steps[n];
        if (*p == '.') {
            p++;
            if (*p == '.' || *p == '\0' || *p == '*' || *p == '[') return -1;
            const char *k = p;
            while (*p && *p != '.' && *p != '[') p++;
            size_t len = (size_t)(p - k);
            if (len == 1 && *k == '#') { s->kind = LJ_LENGTH; n++; continue; }
            int digits = 1;
            for (size_t i = 0; i < len; i++) if (!lj_isdigit(k[i])) { digits = 0; break; }
            if (digits && len < 10) {       /* gjson: a number names an array index (or a key) */
                long v = 0;
                for (size_t i = 0; i < len; i++) v = v * 10 + (k[i] - '0');
                s->kind = LJ_INDEX; s->index = v; s->key = k; s->keylen = len;
            } else {
                for (size_t i = 0; i < len; i++)
                    if (k[i] == '*' || k[i] == '?' || k[i] == '(' || k[i] == ')' || k[i] == '@') return -1;
                s->kind = LJ_KEY; s->key = k; s->keylen = len;
            }
            n++;
        } else if (*p == '[') {
            p++;
            if (*p == '\'' || *p == '"') {
                char q = *p++;
                const char *k = p;
                while (*p && *p != q) p++;
                if (*p != q || p[1] != ']') return -1;
                s->kind = LJ_KEY; s->key = k; s->keylen = (size_t)(p - k);
                p += 2;
            } else {
                if (!lj_isdigit(*p)) return -1;        /* [*], [-1], [?(...)], [1:2] */
                long v = 0;
                int nd = 0;
                while (lj_isdigit(*p)) { if (++nd > 9) return -1; v = v * 10 + (*p++ - '0'); }
                if (*p != ']') return -1;
                p++;
                s->kind = LJ_INDEX; s->index = v; s->key = NULL; s->keylen = 0;
            }
            n++;
        } else {
            return -1;
        }
    }
    return n;
}

static inline const char *lj_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Past a string whose opening quote is at p; NULL if it does not end. */
static inline const char *lj_skip_string(const char *p, const char *end) {
    p++;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) return NULL;
        const char *b = q;                 /* an escaped quote has an odd run of backslashes */
        while (b > p && b[-1] == '\\') b--;
        if (((q - b) & 1) == 0) return q + 1;
        p = q + 1;
    }
    return NULL;
}

/* Past one value starting at p (whitespace skipped before); NULL if malformed.  Nesting is
 * tracked with a counter, not recursion: any depth costs no stack. */
static const char *lj_skip_value(const char *p, const char *end) {
    p = lj_ws(p, end);
    if (p >= end) return NULL;
    if (*p == '"') return lj_skip_string(p, end);
    if (*p == '{' || *p == '[') {
        long depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') { p = lj_skip_string(p, end); if (!p) return NULL; continue; }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') { if (--depth == 0) return p + 1; }
            p++;
        }
        return NULL;
    }
    const char *s = p;                     /* number, true, false, null */
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
    return p > s ? p : NULL;
}

static int lj_kind(const char *p) {
    switch (*p) {
    case '"': return LJ_STRING;
    case '{': return LJ_OBJECT;
    case '[': return LJ_ARRAY;
    case 't': return LJ_TRUE;
    case 'f': return LJ_FALSE;
    case 'n': return LJ_NULL;
    default: return LJ_NUMBER;
    }
}

/* The value at steps[0..n) in json[0..len): its kind, and out/outlen its text (a string's
 * without quotes; LJ_COUNT: count is the array's length, out NULL). */
static int lj_find(const char *json, size_t len, const lj_step *steps, int n,
                   const char **out, size_t *outlen, long *count) {
    const char *p = json, *end = json + len;
    for (int i = 0; i < n; i++) {
        const lj_step *s = &steps[i];
        p = lj_ws(p, end);
        if (p >= end) return LJ_MISSING;
        if (*p == '[' && (s->kind == LJ_INDEX || s->kind == LJ_LENGTH)) {
            long k = 0;
            p = lj_ws(p + 1, end);
            if (p < end && *p == ']') {
                if (s->kind == LJ_LENGTH && i == n - 1) { *count = 0; *out = NULL; *outlen = 0; return LJ_COUNT; }
                return LJ_MISSING;
            }
            for (;;) {
                if (s->kind == LJ_INDEX && k == s->index) break;
                p = lj_skip_value(p, end);
                if (!p) return LJ_MISSING;
                p = lj_ws(p, end);
                k++;
                if (p < end && *p == ',') { p = lj_ws(p + 1, end); continue; }
                if (p < end && *p == ']' && s->kind == LJ_LENGTH && i == n - 1) {
                    *count = k; *out = NULL; *outlen = 0; return LJ_COUNT;
                }
                return LJ_MISSING;          /* the array ended first, or malformed */
            }
        } else if (*p == '{' && (s->kind == LJ_KEY || (s->kind == LJ_INDEX && s->key != NULL))) {
            p = lj_ws(p + 1, end);
            for (;;) {
                if (p >= end || *p != '"') return LJ_MISSING;   /* '}' (not found) or malformed */
                const char *k = p + 1;
                const char *after = lj_skip_string(p, end);
                if (!after) return LJ_MISSING;
                size_t klen = (size_t)(after - 1 - k);
                p = lj_ws(after, end);
                if (p >= end || *p != ':') return LJ_MISSING;
                p = lj_ws(p + 1, end);
                if (klen == s->keylen && memcmp(k, s->key, klen) == 0) break;
                if (memchr(k, '\\', klen) != NULL) {  /* an escaped key: compare it decoded */
                    char dec[256];
                    long m = lj_unescape(k, klen, dec, sizeof dec);
                    if (m == (long)s->keylen && memcmp(dec, s->key, (size_t)m) == 0) break;
                }
                p = lj_skip_value(p, end);
                if (!p) return LJ_MISSING;
                p = lj_ws(p, end);
                if (p < end && *p == ',') { p = lj_ws(p + 1, end); continue; }
                return LJ_MISSING;
            }
        } else {
            return LJ_MISSING;
        }
    }
    p = lj_ws(p, end);
    if (p >= end) return LJ_MISSING;
    const char *v_end = lj_skip_value(p, end);
    if (!v_end) return LJ_MISSING;
    int kind = lj_kind(p);
    if (kind == LJ_STRING) { *out = p + 1; *outlen = (size_t)(v_end - p - 2); }
    else { *out = p; *outlen = (size_t)(v_end - p); }
    return kind;
}

/* The four hex digits at h as a number; -1 if one is not a hex digit. */
static inline int lj_hex4(const char *h, unsigned long *out) {
    unsigned long v = 0;
    for (int j = 0; j < 4; j++) {
        char c = h[j];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned long)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* A string's text with JSON escapes decoded into dst (at most cap bytes); its length, or -1
 * if it does not fit or an escape is malformed.  \uXXXX becomes UTF-8 (surrogate pairs too). */
static long lj_unescape(const char *s, size_t len, char *dst, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned long cp;
        char c = s[i];
        if (c != '\\') { if (o >= cap) return -1; dst[o++] = c; continue; }
        if (++i >= len) return -1;
        switch (s[i]) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            if (i + 4 >= len || lj_hex4(s + i + 1, &cp) < 0) return -1;
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < len && s[i + 1] == '\\' && s[i + 2] == 'u') {
                unsigned long lo;
                if (lj_hex4(s + i + 3, &lo) < 0) return -1;
                if (lo >= 0xDC00 && lo < 0xE000) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
            }
            break;
        }
        default: return -1;
        }
        /* UTF-8 */
        if (cp < 0x80) { if (o + 1 > cap) return -1; dst[o++] = (char)cp; }
        else if (cp < 0x800) { if (o + 2 > cap) return -1; dst[o++] = (char)(0xC0 | (cp >> 6)); dst[o++] = (char)(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { if (o + 3 > cap) return -1; dst[o++] = (char)(0xE0 | (cp >> 12)); dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F)); dst[o++] = (char)(0x80 | (cp & 0x3F)); }
        else { if (o + 4 > cap) return -1; dst[o++] = (char)(0xF0 | (cp >> 18)); dst[o++] = (char)(0x80 | ((cp >> 12) & 0x3F)); dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F)); dst[o++] = (char)(0x80 | (cp & 0x3F)); }
    }
    return (long)o;
}

#endif
