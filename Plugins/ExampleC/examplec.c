/*
 * examplec.c — "examplec", a voxd provider plugin in plain C: text to Morse
 * code audio.
 *
 * This is the template for third-party plugins written in C. It needs only
 * vox_plugin.h (the ABI), libc, POSIX threads and libm, and shows:
 *   - the entry point, the descriptor and the vtable;
 *   - an instance configured from JSON settings, with its capabilities JSON;
 *   - operations that run on their own thread and stream audio to the host,
 *     with flow control (pause/resume), cancellation and exactly one final
 *     callback per operation;
 *   - a small JSON reader and writer, enough for settings and requests.
 *
 * Build (from the repository root):
 *   cc -std=c11 -shared -fPIC -O2 -fvisibility=hidden -Wall -Wextra -Werror \
 *      -I PluginSDK/CVoxPlugin/include Plugins/ExampleC/examplec.c \
 *      -o libvox_examplec.so -lpthread -lm
 *
 * Read alongside: Plugins/ExampleC/README.md (walk-through),
 * PluginSDK/CVoxPlugin/include/vox_plugin.h (the contract) and
 * PluginSDK/SCHEMAS.md (the JSON shapes).
 *
 * What it does. Operation "tts.synthesize" turns text into International
 * Morse code, sent as a tone with PARIS timing: a dot lasts 1200/wpm ms, a
 * dash 3 dots; gaps are 1 dot inside a character, 3 between characters and 7
 * between words. The audio starts with the first tone and ends with the last
 * one. Each tone fades in and out over 5 ms (raised cosine) so it does not
 * click. Output is always 16-bit mono PCM, streamed in 40 ms chunks.
 */
#define _POSIX_C_SOURCE 200809L

#include "vox_plugin.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

/* ======================================================================== */
/* Constants                                                                */
/* ======================================================================== */

#define PLUGIN_NAME "examplec"
#define MODEL_ID "morse"
#define LANGUAGE "en"

#define WPM_MIN 5
#define WPM_MAX 60
#define WPM_DEFAULT 20
#define TONE_HZ_MIN 200.0
#define TONE_HZ_MAX 2000.0
#define TONE_HZ_DEFAULT 600.0
#define SAMPLE_RATE_DEFAULT 16000u
#define SPEED_MIN 0.25
#define SPEED_MAX 4.0

#define AMPLITUDE (0.5 * 32767.0) /* half of full scale */
#define RAMP_SECONDS 0.005        /* fade in / fade out of each tone */
#define CHUNKS_PER_SECOND 25u     /* 40 ms chunks */
#define WORKER_STACK_SIZE (256u * 1024u)

#define UNITS_DOT 1
#define UNITS_DASH 3
#define UNITS_ELEMENT_GAP 1 /* between the dots and dashes of a character */
#define UNITS_LETTER_GAP 3  /* between characters */
#define UNITS_WORD_GAP 7    /* between words */

#define EXAMPLEC_PI 3.14159265358979323846

/* The sample rates we produce. Every one is a multiple of CHUNKS_PER_SECOND. */
static const uint32_t supported_rates[] = {8000, 16000, 22050, 24000, 48000};
#define RATE_COUNT (sizeof supported_rates / sizeof supported_rates[0])
#define MAX_CHUNK_SAMPLES (48000u / CHUNKS_PER_SECOND) /* at the highest rate */

/* Voices are waveforms. */
typedef enum waveform { WAVE_SINE, WAVE_SQUARE } waveform;

typedef struct voice_info {
    const char *id;
    const char *name;
    const char *description;
    waveform wave;
} voice_info;

static const voice_info voices[] = {
    {"sine", "Sine", "A pure sine tone", WAVE_SINE},
    {"square", "Square", "A square-wave tone, brighter and buzzier", WAVE_SQUARE},
};
#define VOICE_COUNT (sizeof voices / sizeof voices[0])
#define DEFAULT_VOICE 0 /* "sine" */

/* International Morse code: letters, digits, the punctuation of ITU-R
 * M.1677-1 (. , : ? ' - / ( ) " = + @) and the common additions ! & ; _ $. */
static const char *const morse_table[128] = {
    ['A'] = ".-",     ['B'] = "-...",   ['C'] = "-.-.",   ['D'] = "-..",
    ['E'] = ".",      ['F'] = "..-.",   ['G'] = "--.",    ['H'] = "....",
    ['I'] = "..",     ['J'] = ".---",   ['K'] = "-.-",    ['L'] = ".-..",
    ['M'] = "--",     ['N'] = "-.",     ['O'] = "---",    ['P'] = ".--.",
    ['Q'] = "--.-",   ['R'] = ".-.",    ['S'] = "...",    ['T'] = "-",
    ['U'] = "..-",    ['V'] = "...-",   ['W'] = ".--",    ['X'] = "-..-",
    ['Y'] = "-.--",   ['Z'] = "--..",
    ['0'] = "-----",  ['1'] = ".----",  ['2'] = "..---",  ['3'] = "...--",
    ['4'] = "....-",  ['5'] = ".....",  ['6'] = "-....",  ['7'] = "--...",
    ['8'] = "---..",  ['9'] = "----.",
    ['.'] = ".-.-.-", [','] = "--..--", ['?'] = "..--..", ['\''] = ".----.",
    ['!'] = "-.-.--", ['/'] = "-..-.",  ['('] = "-.--.",  [')'] = "-.--.-",
    ['&'] = ".-...",  [':'] = "---...", [';'] = "-.-.-.", ['='] = "-...-",
    ['+'] = ".-.-.",  ['-'] = "-....-", ['_'] = "..--.-", ['"'] = ".-..-.",
    ['$'] = "...-..-", ['@'] = ".--.-.",
};

/* The dots and dashes for an (upper-case) character, or NULL if Morse code
 * has no sign for it. */
static const char *morse_code(unsigned char c) {
    return c < 128 ? morse_table[c] : NULL;
}

/* The services table the host gave vox_plugin_entry; valid for the life of
 * the process. Set once, before the host calls anything else. */
static const vox_host_api *host;

/* ======================================================================== */
/* Errors and logging                                                       */
/* ======================================================================== */

/* Fills *error with `code` and a printf-style message; returns `code`, so a
 * function can end with `return fail(error, ...)`. */
PRINTF_LIKE(3, 4)
static int32_t fail(vox_type_error *error, int32_t code, const char *fmt, ...) {
    va_list args;
    if (!error) return code;
    vox_error_set(error, code, 0, 0, -1, NULL);
    va_start(args, fmt);
    vsnprintf(error->message, sizeof error->message, fmt, args);
    va_end(args);
    return code;
}

/* Writes one log record through the host. */
PRINTF_LIKE(3, 4)
static void log_message(vox_host_plugin *hp, int32_t level, const char *fmt, ...) {
    char text[256];
    va_list args;
    int n;
    if (!host->log) return;
    va_start(args, fmt);
    n = vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    if (n < 0) return;
    host->log(hp, level, vox_str(text));
}

/* The length of the longest prefix of s[0..len) that is at most `max` bytes
 * and does not cut a UTF-8 sequence: for quoting user text in messages. */
static int utf8_prefix(const char *s, size_t len, size_t max) {
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    }
    return (int)len;
}

/* ======================================================================== */
/* A small JSON reader                                                      */
/* ======================================================================== */
/*
 * Just enough JSON for settings and requests: look up a member of an object
 * by key and read it as a string, a number or a boolean. Each lookup checks
 * the whole text against the JSON grammar (RFC 8259), so a malformed request
 * is refused wherever the mistake is. Nested values are checked and skipped;
 * nesting deeper than JSON_MAX_DEPTH is refused. Raw bytes >= 0x80 inside
 * strings are passed through unchecked (the host sends UTF-8). Numbers are
 * converted by hand because strtod reads the locale's decimal point.
 */

#define JSON_MAX_DEPTH 64
#define JSON_KEY_CAP 64 /* longer member names never match a key we look up */

typedef enum json_type {
    JSON_MISSING = 0, /* no such member (or its value is null) */
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

/* A value: its type and its raw text (e.g. `"a\nb"` with the quotes). */
typedef struct json_value {
    json_type type;
    const char *ptr;
    size_t len;
} json_value;

typedef struct json_scanner {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
} json_scanner;

static bool json_scan_value(json_scanner *s, int depth, json_value *out);

static bool json_is_digit(char c) { return c >= '0' && c <= '9'; }

static void json_skip_space(json_scanner *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

/* Appends one byte to a bounded output; *n counts every byte, written or not. */
static void json_put(char *out, size_t cap, size_t *n, unsigned byte) {
    if (out && *n < cap) out[*n] = (char)byte;
    (*n)++;
}

/* Appends code point cp as UTF-8. */
static void json_put_utf8(char *out, size_t cap, size_t *n, unsigned long cp) {
    if (cp < 0x80) {
        json_put(out, cap, n, (unsigned)cp);
    } else if (cp < 0x800) {
        json_put(out, cap, n, 0xC0 | (unsigned)(cp >> 6));
        json_put(out, cap, n, 0x80 | (unsigned)(cp & 0x3F));
    } else if (cp < 0x10000) {
        json_put(out, cap, n, 0xE0 | (unsigned)(cp >> 12));
        json_put(out, cap, n, 0x80 | (unsigned)((cp >> 6) & 0x3F));
        json_put(out, cap, n, 0x80 | (unsigned)(cp & 0x3F));
    } else {
        json_put(out, cap, n, 0xF0 | (unsigned)(cp >> 18));
        json_put(out, cap, n, 0x80 | (unsigned)((cp >> 12) & 0x3F));
        json_put(out, cap, n, 0x80 | (unsigned)((cp >> 6) & 0x3F));
        json_put(out, cap, n, 0x80 | (unsigned)(cp & 0x3F));
    }
}

/* Reads the 4 hex digits of a \u escape; -1 if they are not hex digits. */
static long json_hex4(json_scanner *s) {
    long value = 0;
    int i;
    if (s->end - s->p < 4) return -1;
    for (i = 0; i < 4; i++) {
        char c = *s->p++;
        value <<= 4;
        if (c >= '0' && c <= '9') value |= c - '0';
        else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
        else return -1;
    }
    return value;
}

/* Scans a string at its opening quote. If `out` is not NULL, the decoded
 * UTF-8 goes there (at most `cap` bytes); *out_len (if not NULL) gets the
 * full decoded length. The decoded text is never longer than the raw text. */
static bool json_scan_string(json_scanner *s, char *out, size_t cap, size_t *out_len) {
    size_t n = 0;
    if (s->p >= s->end || *s->p != '"') return false;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"') {
            if (out_len) *out_len = n;
            return true;
        }
        if (c < 0x20) return false; /* control characters must be escaped */
        if (c != '\\') {
            json_put(out, cap, &n, c);
            continue;
        }
        if (s->p >= s->end) return false;
        c = (unsigned char)*s->p++;
        switch (c) {
        case '"': case '\\': case '/': json_put(out, cap, &n, c); break;
        case 'b': json_put(out, cap, &n, '\b'); break;
        case 'f': json_put(out, cap, &n, '\f'); break;
        case 'n': json_put(out, cap, &n, '\n'); break;
        case 'r': json_put(out, cap, &n, '\r'); break;
        case 't': json_put(out, cap, &n, '\t'); break;
        case 'u': {
            long cp = json_hex4(s);
            if (cp < 0) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate must be followed by an escaped low one. */
                long low;
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') return false;
                s->p += 2;
                low = json_hex4(s);
                if (low < 0xDC00 || low > 0xDFFF) return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return false; /* a lone low surrogate */
            }
            json_put_utf8(out, cap, &n, (unsigned long)cp);
            break;
        }
        default:
            return false;
        }
    }
    return false; /* no closing quote */
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_scan_number(json_scanner *s) {
    const char *p = s->p, *end = s->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return false;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && json_is_digit(*p)) p++;
    } else {
        return false;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !json_is_digit(*p)) return false;
        while (p < end && json_is_digit(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !json_is_digit(*p)) return false;
        while (p < end && json_is_digit(*p)) p++;
    }
    s->p = p;
    return true;
}

static bool json_scan_literal(json_scanner *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return false;
    s->p += n;
    return true;
}

static bool json_scan_array(json_scanner *s, int depth) {
    if (depth > JSON_MAX_DEPTH) return false;
    s->p++; /* '[' */
    json_skip_space(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        json_skip_space(s);
        if (!json_scan_value(s, depth, NULL)) return false;
        json_skip_space(s);
        if (s->p >= s->end) return false;
        if (*s->p == ']') {
            s->p++;
            return true;
        }
        if (*s->p++ != ',') return false;
    }
}

/* Scans an object at its '{'. If `key` is not NULL, the value of the first
 * member named `key` goes to *found (which the caller set to JSON_MISSING). */
static bool json_scan_object(json_scanner *s, int depth, const char *key, json_value *found) {
    if (depth > JSON_MAX_DEPTH) return false;
    s->p++; /* '{' */
    json_skip_space(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        char name[JSON_KEY_CAP];
        size_t name_len = 0;
        json_value value;
        json_skip_space(s);
        if (!json_scan_string(s, name, sizeof name, &name_len)) return false;
        json_skip_space(s);
        if (s->p >= s->end || *s->p++ != ':') return false;
        json_skip_space(s);
        if (!json_scan_value(s, depth, &value)) return false;
        if (key && found->type == JSON_MISSING && name_len <= sizeof name && name_len == strlen(key) &&
            memcmp(name, key, name_len) == 0) {
            *found = value;
        }
        json_skip_space(s);
        if (s->p >= s->end) return false;
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        if (*s->p++ != ',') return false;
    }
}

/* Scans any value; `depth` is the nesting level of its container. */
static bool json_scan_value(json_scanner *s, int depth, json_value *out) {
    json_value v;
    bool ok;
    v.ptr = s->p;
    if (s->p >= s->end) return false;
    switch (*s->p) {
    case '{': v.type = JSON_OBJECT; ok = json_scan_object(s, depth + 1, NULL, NULL); break;
    case '[': v.type = JSON_ARRAY; ok = json_scan_array(s, depth + 1); break;
    case '"': v.type = JSON_STRING; ok = json_scan_string(s, NULL, 0, NULL); break;
    case 't': v.type = JSON_TRUE; ok = json_scan_literal(s, "true"); break;
    case 'f': v.type = JSON_FALSE; ok = json_scan_literal(s, "false"); break;
    case 'n': v.type = JSON_NULL; ok = json_scan_literal(s, "null"); break;
    default: v.type = JSON_NUMBER; ok = json_scan_number(s); break;
    }
    if (!ok) return false;
    v.len = (size_t)(s->p - v.ptr);
    if (out) *out = v;
    return true;
}

/* Checks that `text` is exactly one well-formed JSON object and, if `key` is
 * not NULL, looks the member up: *out gets its value, or JSON_MISSING if it
 * is absent or null. An empty or blank text reads as {}. */
static bool json_object_get(vox_type_str text, const char *key, json_value *out) {
    json_scanner s;
    out->type = JSON_MISSING;
    out->ptr = NULL;
    out->len = 0;
    if (text.len == 0) return true;
    s.p = text.ptr;
    s.end = text.ptr + text.len;
    json_skip_space(&s);
    if (s.p == s.end) return true;
    if (*s.p != '{' || !json_scan_object(&s, 1, key, out)) return false;
    json_skip_space(&s);
    if (s.p != s.end) return false; /* trailing bytes */
    if (out->type == JSON_NULL) out->type = JSON_MISSING;
    return true;
}

static bool json_is_object(vox_type_str text) {
    json_value ignored;
    return json_object_get(text, NULL, &ignored);
}

/* A member of an object already checked with json_is_object (or a nested
 * object value, which the check covered). */
static json_value json_member(vox_type_str object, const char *key) {
    json_value v;
    if (!json_object_get(object, key, &v)) v.type = JSON_MISSING; /* not reached */
    return v;
}

/* The raw text of an object value, to look members up inside it. */
static vox_type_str json_text(json_value v) {
    vox_type_str s;
    s.ptr = v.ptr;
    s.len = v.len;
    return s;
}

/* Decodes a JSON_STRING value into a new NUL-terminated buffer (free it).
 * *len gets the length; the text may hold NUL bytes (from \u0000). */
static char *json_string_dup(json_value v, size_t *len) {
    json_scanner s;
    char *buf = malloc(v.len + 1); /* decoded text is shorter than the raw */
    size_t n = 0;
    if (!buf) return NULL;
    s.p = v.ptr;
    s.end = v.ptr + v.len;
    if (!json_scan_string(&s, buf, v.len, &n)) n = 0; /* not reached: checked */
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void json_add_digit(uint64_t *mantissa, int *exp10, char c, bool fraction) {
    if (*mantissa < UINT64_C(100000000000000000)) { /* room for another digit */
        *mantissa = *mantissa * 10 + (uint64_t)(c - '0');
        if (fraction) (*exp10)--;
    } else if (!fraction) {
        (*exp10)++; /* an integer digit beyond double precision */
    }
}

/* The value of a JSON_NUMBER (whose grammar was checked). */
static double json_number(json_value v) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    bool negative = false;
    uint64_t mantissa = 0;
    int exp10 = 0, i;
    double value;

    if (p < end && *p == '-') {
        negative = true;
        p++;
    }
    for (; p < end && json_is_digit(*p); p++) json_add_digit(&mantissa, &exp10, *p, false);
    if (p < end && *p == '.') {
        for (p++; p < end && json_is_digit(*p); p++) json_add_digit(&mantissa, &exp10, *p, true);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool exp_negative = false;
        int e = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) exp_negative = (*p++ == '-');
        for (; p < end && json_is_digit(*p); p++) {
            if (e < 10000) e = e * 10 + (*p - '0');
        }
        exp10 += exp_negative ? -e : e;
    }
    /* Powers of ten up to 1e22 are exact doubles: divide by them rather than
     * multiply by an inexact 1e-k, so that 0.25 reads as exactly 0.25. */
    value = (double)mantissa;
    while (exp10 > 0 && value != 0.0 && value < 1e308) {
        value *= 10.0;
        exp10--;
    }
    while (exp10 < 0 && value != 0.0) {
        int k = exp10 < -22 ? 22 : -exp10;
        double scale = 1.0;
        for (i = 0; i < k; i++) scale *= 10.0;
        value /= scale;
        exp10 += k;
    }
    return negative ? -value : value;
}

/* ======================================================================== */
/* A small JSON writer                                                      */
/* ======================================================================== */

/* A growable string; `failed` records an allocation failure. */
typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} strbuf;

/* Appends printf-style text (only integers and plain strings here: %f would
 * follow the locale's decimal point, and JSON needs '.'). */
PRINTF_LIKE(2, 3)
static void sb_add(strbuf *b, const char *fmt, ...) {
    va_list args;
    int n;
    if (b->failed) return;
    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *data;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    va_start(args, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, args);
    va_end(args);
    b->len += (size_t)n;
}

/* Takes the text out of the buffer (NULL on allocation failure). */
static char *sb_take(strbuf *b, size_t *len) {
    if (b->failed) {
        free(b->data);
        return NULL;
    }
    *len = b->len;
    return b->data;
}

/* ======================================================================== */
/* The instance                                                             */
/* ======================================================================== */

struct vox_plugin_instance {
    vox_host_plugin *hp;  /* the host's handle, for log() and metric() */
    int wpm;              /* words per minute at speed 1.0 */
    double tone_hz;       /* tone frequency */
    uint32_t sample_rate; /* output rate unless the request asks for another */
    char *capabilities;   /* JSON, built once; freed by destroy */
    size_t capabilities_len;
};

static bool rate_supported(double rate) {
    size_t i;
    for (i = 0; i < RATE_COUNT; i++) {
        if (rate == (double)supported_rates[i]) return true;
    }
    return false;
}

/* Writes "8000, 16000, ..." (the supported rates) for error messages. */
static const char *rate_list(char *buf, size_t cap) {
    size_t i, n = 0;
    buf[0] = '\0';
    for (i = 0; i < RATE_COUNT && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%u", i ? ", " : "", (unsigned)supported_rates[i]);
        if (w < 0) break;
        n += (size_t)w;
    }
    return buf;
}

/* Writes "sine, square" (the voice ids) for error messages. */
static const char *voice_list(char *buf, size_t cap) {
    size_t i, n = 0;
    buf[0] = '\0';
    for (i = 0; i < VOICE_COUNT && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", voices[i].id);
        if (w < 0) break;
        n += (size_t)w;
    }
    return buf;
}

/* Reads the settings object into *inst. All members are optional. */
static int32_t read_settings(vox_type_str json, vox_plugin_instance *inst, vox_type_error *error) {
    json_value v;
    double x;

    inst->wpm = WPM_DEFAULT;
    inst->tone_hz = TONE_HZ_DEFAULT;
    inst->sample_rate = SAMPLE_RATE_DEFAULT;
    if (!json_is_object(json)) {
        return fail(error, VOX_ERR_INVALID_REQUEST, PLUGIN_NAME ": the settings are not a well-formed JSON object");
    }

    v = json_member(json, "wpm");
    if (v.type != JSON_MISSING) {
        x = v.type == JSON_NUMBER ? json_number(v) : -1.0;
        if (x < WPM_MIN || x > WPM_MAX || x != (double)(int)x) {
            return fail(error, VOX_ERR_INVALID_REQUEST,
                        PLUGIN_NAME ": setting \"wpm\" must be a whole number from %d to %d", WPM_MIN, WPM_MAX);
        }
        inst->wpm = (int)x;
    }

    v = json_member(json, "tone_hz");
    if (v.type != JSON_MISSING) {
        x = v.type == JSON_NUMBER ? json_number(v) : -1.0;
        if (x < TONE_HZ_MIN || x > TONE_HZ_MAX) {
            return fail(error, VOX_ERR_INVALID_REQUEST,
                        PLUGIN_NAME ": setting \"tone_hz\" must be a number from %d to %d",
                        (int)TONE_HZ_MIN, (int)TONE_HZ_MAX);
        }
        inst->tone_hz = x;
    }

    v = json_member(json, "sample_rate");
    if (v.type != JSON_MISSING) {
        x = v.type == JSON_NUMBER ? json_number(v) : -1.0;
        if (!rate_supported(x)) {
            char rates[128];
            return fail(error, VOX_ERR_INVALID_REQUEST, PLUGIN_NAME ": setting \"sample_rate\" must be one of %s",
                        rate_list(rates, sizeof rates));
        }
        inst->sample_rate = (uint32_t)x;
    }
    return VOX_OK;
}

/* The capabilities JSON (PluginSDK/SCHEMAS.md, "Capabilities"). */
static char *build_capabilities(size_t *len) {
    strbuf b = {NULL, 0, 0, false};
    size_t i;
    sb_add(&b, "{\"operations\":{\"tts.synthesize\":{\"stream\":true,\"formats\":[\"pcm_s16le\"],\"sample_rates\":[");
    for (i = 0; i < RATE_COUNT; i++) sb_add(&b, "%s%u", i ? "," : "", (unsigned)supported_rates[i]);
    sb_add(&b, "]},\"voices.list\":{\"custom\":false,\"clone\":false}},");
    sb_add(&b, "\"models\":[{\"id\":\"%s\",\"operations\":[\"tts.synthesize\"],\"languages\":[\"%s\"],"
               "\"default_voice\":\"%s\",\"description\":\"International Morse code as tones\"}],",
           MODEL_ID, LANGUAGE, voices[DEFAULT_VOICE].id);
    sb_add(&b, "\"default_model\":\"%s\",\"default_voice\":\"%s\",\"languages\":[\"%s\"],", MODEL_ID,
           voices[DEFAULT_VOICE].id, LANGUAGE);
    sb_add(&b, "\"prices\":[{\"operation\":\"tts.synthesize\",\"model\":\"*\",\"unit\":\"character\","
               "\"usd_per_unit\":0,\"source\":\"local\"}]}");
    return sb_take(&b, len);
}

static int32_t examplec_create(vox_host_plugin *hp, vox_type_str settings_json, vox_plugin_instance **out,
                               vox_type_error *error) {
    vox_plugin_instance *inst = calloc(1, sizeof *inst);
    int32_t rc;
    if (!inst) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    inst->hp = hp;
    rc = read_settings(settings_json, inst, error);
    if (rc != VOX_OK) {
        free(inst);
        return rc;
    }
    inst->capabilities = build_capabilities(&inst->capabilities_len);
    if (!inst->capabilities) {
        free(inst);
        return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    }
    log_message(hp, VOX_LOG_INFO, PLUGIN_NAME " ready: %d wpm, %g Hz, %u Hz", inst->wpm, inst->tone_hz,
                (unsigned)inst->sample_rate);
    *out = inst;
    return VOX_OK;
}

static void examplec_destroy(vox_plugin_instance *inst) {
    if (!inst) return;
    free(inst->capabilities);
    free(inst);
}

static vox_type_str examplec_capabilities(vox_plugin_instance *inst) {
    vox_type_str caps;
    caps.ptr = inst->capabilities;
    caps.len = inst->capabilities_len;
    return caps;
}

/* ======================================================================== */
/* Operations                                                               */
/* ======================================================================== */
/*
 * Life of an operation:
 *   op_start   checks the request, prepares everything that can fail, starts
 *              a worker thread and returns at once;
 *   worker     sends data (op_audio / op_event), obeys flow control and
 *              cancellation, then makes EXACTLY ONE final call (op_done or
 *              op_error) as its very last act: after it, the host may
 *              release the operation and even destroy the instance;
 *   op_release joins the worker (it has nothing left to do but return) and
 *              frees the operation.
 */

/* Where an operation stands after a data callback. */
typedef enum op_status {
    OP_RUNNING,   /* keep going (at the end: success) */
    OP_CANCELLED, /* op_cancel was called */
    OP_STOPPED    /* the host answered VOX_FLOW_STOP */
} op_status;

struct vox_plugin_op {
    vox_plugin_instance *instance;
    vox_host_op *host_op; /* where we report; untouched after the final call */
    uint32_t kind;        /* vox_type_op_kind */
    pthread_t thread;

    pthread_mutex_t lock; /* guards `cancelled` and `resumes` */
    pthread_cond_t wake;  /* signalled by op_cancel and op_resume */
    bool sync_ready;      /* lock and wake are initialised */
    bool cancelled;
    uint64_t resumes; /* how many times op_resume was called */

    /* voices.list: the event to send. */
    char *event_json;
    size_t event_len;

    /* tts.synthesize */
    char *text;               /* encodable characters, words separated by one space */
    size_t characters;        /* billed: Unicode characters of "input" */
    waveform wave;
    uint32_t sample_rate;
    double tone_hz;
    double samples_per_unit;  /* samples in one dot */
};

static void op_free(vox_plugin_op *op) {
    if (op->sync_ready) {
        pthread_cond_destroy(&op->wake);
        pthread_mutex_destroy(&op->lock);
    }
    free(op->event_json);
    free(op->text);
    free(op);
}

/* --- flow control and cancellation ------------------------------------- */

/* Before a data callback: are we still wanted? *ticket remembers the resume
 * count, so that an op_resume that arrives while the callback is still
 * returning VOX_FLOW_PAUSE (the host may call us from any thread) is not
 * missed. */
static op_status op_check(vox_plugin_op *op, uint64_t *ticket) {
    op_status status;
    pthread_mutex_lock(&op->lock);
    status = op->cancelled ? OP_CANCELLED : OP_RUNNING;
    *ticket = op->resumes;
    pthread_mutex_unlock(&op->lock);
    return status;
}

/* After a data callback: obeys its vox_type_flow answer. On VOX_FLOW_PAUSE
 * sleeps until op_resume (or op_cancel) is called. */
static op_status op_obey(vox_plugin_op *op, int32_t flow, uint64_t ticket) {
    op_status status;
    if (flow == VOX_FLOW_STOP) return OP_STOPPED;
    pthread_mutex_lock(&op->lock);
    if (flow == VOX_FLOW_PAUSE) {
        while (!op->cancelled && op->resumes == ticket) pthread_cond_wait(&op->wake, &op->lock);
    }
    status = op->cancelled ? OP_CANCELLED : OP_RUNNING;
    pthread_mutex_unlock(&op->lock);
    return status;
}

static op_status send_audio(vox_plugin_op *op, const vox_type_audio_format *format, const uint8_t *data,
                            size_t len) {
    uint64_t ticket;
    if (op_check(op, &ticket) != OP_RUNNING) return OP_CANCELLED;
    return op_obey(op, host->op_audio(op->host_op, format, data, len), ticket);
}

static op_status send_event(vox_plugin_op *op, const char *json, size_t len) {
    uint64_t ticket;
    vox_type_str s;
    if (op_check(op, &ticket) != OP_RUNNING) return OP_CANCELLED;
    s.ptr = json;
    s.len = len;
    return op_obey(op, host->op_event(op->host_op, s), ticket);
}

static void examplec_op_cancel(vox_plugin_op *op) {
    pthread_mutex_lock(&op->lock);
    op->cancelled = true;
    pthread_cond_broadcast(&op->wake);
    pthread_mutex_unlock(&op->lock);
}

static void examplec_op_resume(vox_plugin_op *op) {
    pthread_mutex_lock(&op->lock);
    op->resumes++;
    pthread_cond_broadcast(&op->wake);
    pthread_mutex_unlock(&op->lock);
}

/* --- requests ---------------------------------------------------------- */

/* "model" is optional in every request; when present it must be ours. */
static int32_t check_model(vox_type_str request, vox_type_error *error) {
    json_value v = json_member(request, "model");
    size_t len;
    char *id;
    bool ours;
    if (v.type == JSON_MISSING) return VOX_OK;
    if (v.type != JSON_STRING) return fail(error, VOX_ERR_INVALID_REQUEST, "\"model\" must be a string");
    if (!(id = json_string_dup(v, &len))) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    ours = len == strlen(MODEL_ID) && memcmp(id, MODEL_ID, len) == 0;
    if (!ours) {
        fail(error, VOX_ERR_NOT_FOUND, PLUGIN_NAME " has no model \"%.*s\" (it has: " MODEL_ID ")",
             utf8_prefix(id, len, 64), id);
    }
    free(id);
    return ours ? VOX_OK : VOX_ERR_NOT_FOUND;
}

/* --- voices.list ------------------------------------------------------- */

static int32_t voices_prepare(vox_type_str request, vox_plugin_op *op, vox_type_error *error) {
    json_value language, flag;
    int32_t rc;
    bool english = true;
    strbuf b = {NULL, 0, 0, false};
    size_t i;

    if (!json_is_object(request)) {
        return fail(error, VOX_ERR_INVALID_REQUEST, PLUGIN_NAME ": the request is not a well-formed JSON object");
    }
    if ((rc = check_model(request, error)) != VOX_OK) return rc;
    /* A language filter: every voice speaks "en", so anything else lists
     * none. Compare the primary subtag only ("en-GB" is English). */
    language = json_member(request, "language");
    if (language.type != JSON_MISSING) {
        size_t len;
        char *tag;
        if (language.type != JSON_STRING) {
            return fail(error, VOX_ERR_INVALID_REQUEST, "\"language\" must be a string");
        }
        if (!(tag = json_string_dup(language, &len))) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
        english = len >= 2 && (tag[0] | 0x20) == 'e' && (tag[1] | 0x20) == 'n' &&
                  (len == 2 || tag[2] == '-' || tag[2] == '_');
        free(tag);
    }
    /* We have no custom voices, so the booleans only need to be booleans. */
    flag = json_member(request, "include_custom");
    if (flag.type != JSON_MISSING && flag.type != JSON_TRUE && flag.type != JSON_FALSE) {
        return fail(error, VOX_ERR_INVALID_REQUEST, "\"include_custom\" must be true or false");
    }
    flag = json_member(request, "refresh");
    if (flag.type != JSON_MISSING && flag.type != JSON_TRUE && flag.type != JSON_FALSE) {
        return fail(error, VOX_ERR_INVALID_REQUEST, "\"refresh\" must be true or false");
    }

    sb_add(&b, "{\"type\":\"voices\",\"voices\":[");
    for (i = 0; english && i < VOICE_COUNT; i++) {
        sb_add(&b,
               "%s{\"id\":\"%s\",\"name\":\"%s\",\"languages\":[\"%s\"],\"gender\":\"neutral\","
               "\"description\":\"%s\",\"custom\":false,\"model\":\"%s\"}",
               i ? "," : "", voices[i].id, voices[i].name, LANGUAGE, voices[i].description, MODEL_ID);
    }
    sb_add(&b, "]}");
    op->event_json = sb_take(&b, &op->event_len);
    if (!op->event_json) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    return VOX_OK;
}

static op_status voices_run(vox_plugin_op *op) {
    return send_event(op, op->event_json, op->event_len);
}

/* --- tts.synthesize ---------------------------------------------------- */

static bool is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Keeps what Morse code can send: letters (upper-cased), digits and the ITU
 * punctuation. Runs of ASCII whitespace become one space between words;
 * every other byte is dropped (so "A#B" is "AB" and "A # B" is "A B").
 * `out` needs room for `len` bytes; returns the length written. */
static size_t morse_filter(const char *in, size_t len, char *out) {
    size_t i, n = 0;
    bool word_break = false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_space(c)) {
            word_break = true;
            continue;
        }
        if (c >= 'a' && c <= 'z') c = (unsigned char)(c - 'a' + 'A');
        if (!morse_code(c)) continue;
        if (word_break && n > 0) out[n++] = ' ';
        word_break = false;
        out[n++] = (char)c;
    }
    return n;
}

/* Unicode characters in UTF-8 text: bytes that do not continue a sequence. */
static size_t utf8_count(const char *s, size_t len) {
    size_t i, n = 0;
    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    }
    return n;
}

static int32_t tts_prepare(vox_plugin_instance *inst, vox_type_str request, vox_plugin_op *op,
                           vox_type_error *error) {
    json_value v, format;
    char *input;
    size_t input_len, text_len, i;
    double speed = 1.0;
    int32_t rc;

    if (!json_is_object(request)) {
        return fail(error, VOX_ERR_INVALID_REQUEST, PLUGIN_NAME ": the request is not a well-formed JSON object");
    }

    if ((rc = check_model(request, error)) != VOX_OK) return rc;

    /* "voice": optional, one of voices[]. */
    op->wave = voices[DEFAULT_VOICE].wave;
    v = json_member(request, "voice");
    if (v.type != JSON_MISSING) {
        size_t len;
        char *id;
        bool found = false;
        if (v.type != JSON_STRING) return fail(error, VOX_ERR_INVALID_REQUEST, "\"voice\" must be a string");
        if (!(id = json_string_dup(v, &len))) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
        for (i = 0; i < VOICE_COUNT && !found; i++) {
            if (len == strlen(voices[i].id) && memcmp(id, voices[i].id, len) == 0) {
                op->wave = voices[i].wave;
                found = true;
            }
        }
        if (!found) {
            char names[128];
            fail(error, VOX_ERR_NOT_FOUND, PLUGIN_NAME " has no voice \"%.*s\" (it has: %s)",
                 utf8_prefix(id, len, 64), id, voice_list(names, sizeof names));
            free(id);
            return VOX_ERR_NOT_FOUND;
        }
        free(id);
    }

    /* "speed": optional, scales the words per minute. */
    v = json_member(request, "speed");
    if (v.type != JSON_MISSING) {
        speed = v.type == JSON_NUMBER ? json_number(v) : -1.0;
        if (speed < SPEED_MIN || speed > SPEED_MAX) {
            return fail(error, VOX_ERR_INVALID_REQUEST, "\"speed\" must be a number from 0.25 to 4.0");
        }
    }

    /* "format": what the client wants. We honour a sample rate we support
     * and always produce pcm_s16le mono; the host converts the rest. */
    op->sample_rate = inst->sample_rate;
    format = json_member(request, "format");
    if (format.type != JSON_MISSING) {
        if (format.type != JSON_OBJECT) return fail(error, VOX_ERR_INVALID_REQUEST, "\"format\" must be an object");
        v = json_member(json_text(format), "sample_rate");
        if (v.type != JSON_MISSING && v.type != JSON_NUMBER) {
            return fail(error, VOX_ERR_INVALID_REQUEST, "\"format.sample_rate\" must be a number");
        }
        if (v.type == JSON_NUMBER && rate_supported(json_number(v))) op->sample_rate = (uint32_t)json_number(v);
    }

    /* "input": required, and something in it must be sendable. */
    v = json_member(request, "input");
    if (v.type != JSON_STRING || v.len <= 2) {
        return fail(error, VOX_ERR_INVALID_REQUEST, "\"input\" is required and must be a non-empty string");
    }
    if (!(input = json_string_dup(v, &input_len))) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    op->text = malloc(input_len + 1);
    if (!op->text) {
        free(input);
        return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    }
    text_len = morse_filter(input, input_len, op->text);
    op->text[text_len] = '\0';
    op->characters = utf8_count(input, input_len);
    free(input);
    if (text_len == 0) {
        return fail(error, VOX_ERR_INVALID_REQUEST,
                    "\"input\" has nothing Morse code can send (letters, digits and . , ? ' ! / ( ) & : ; = + - _ \" $ @)");
    }

    op->tone_hz = inst->tone_hz;
    /* PARIS timing: a dot lasts 1.2 / wpm seconds. */
    op->samples_per_unit = (double)op->sample_rate * 1.2 / ((double)inst->wpm * speed);
    return VOX_OK;
}

/* The state of a synthesis: where we are on the time line and the chunk
 * being filled. */
typedef struct tone_writer {
    vox_plugin_op *op;
    vox_type_audio_format format;
    uint64_t unit;          /* dot units sent so far */
    uint64_t samples;       /* samples sent so far (and buffered) */
    size_t fill;            /* samples in chunk[] */
    size_t chunk_samples;   /* 40 ms */
    uint64_t ramp_samples;  /* 5 ms */
    uint8_t chunk[MAX_CHUNK_SAMPLES * 2];
} tone_writer;

/* Unit boundaries are rounded to samples from the start of the time line,
 * so rounding never accumulates: the whole text lasts
 * round(units * samples_per_unit) samples. */
static uint64_t unit_to_sample(const tone_writer *w, uint64_t unit) {
    return (uint64_t)((double)unit * w->op->samples_per_unit + 0.5);
}

static op_status tts_flush(tone_writer *w) {
    op_status status = OP_RUNNING;
    if (w->fill > 0) status = send_audio(w->op, &w->format, w->chunk, w->fill * 2);
    w->fill = 0;
    return status;
}

/* Sample i of a tone n samples long, with raised-cosine edges. */
static int16_t tone_sample(const tone_writer *w, uint64_t i, uint64_t n) {
    uint64_t ramp = w->ramp_samples < n / 2 ? w->ramp_samples : n / 2;
    uint64_t from_edge = i < n - 1 - i ? i : n - 1 - i;
    double wave = sin(2.0 * EXAMPLEC_PI * w->op->tone_hz * (double)i / (double)w->op->sample_rate);
    double envelope = 1.0, x;
    if (w->op->wave == WAVE_SQUARE) wave = wave >= 0.0 ? 1.0 : -1.0;
    if (from_edge < ramp) envelope = 0.5 - 0.5 * cos(EXAMPLEC_PI * (double)from_edge / (double)ramp);
    x = AMPLITUDE * envelope * wave;
    return (int16_t)(x >= 0.0 ? x + 0.5 : x - 0.5);
}

/* Appends `units` dot-lengths of tone or silence, sending full chunks. */
static op_status tts_segment(tone_writer *w, bool tone, unsigned units) {
    uint64_t start = unit_to_sample(w, w->unit);
    uint64_t end = unit_to_sample(w, w->unit + units);
    uint64_t i, n = end - start;
    w->unit += units;
    for (i = 0; i < n; i++) {
        uint16_t bits = (uint16_t)(tone ? tone_sample(w, i, n) : 0);
        w->chunk[2 * w->fill] = (uint8_t)(bits & 0xFF); /* little-endian */
        w->chunk[2 * w->fill + 1] = (uint8_t)(bits >> 8);
        w->samples++;
        if (++w->fill == w->chunk_samples) {
            op_status status = tts_flush(w);
            if (status != OP_RUNNING) return status;
        }
    }
    return OP_RUNNING;
}

static op_status tts_run(vox_plugin_op *op, uint64_t *samples) {
    tone_writer w;
    const char *c;
    bool word_start = false;
    op_status status = OP_RUNNING;

    memset(&w, 0, sizeof w);
    w.op = op;
    w.format.struct_size = (uint32_t)sizeof w.format;
    w.format.encoding = VOX_AUDIO_PCM_S16LE;
    w.format.sample_rate = op->sample_rate;
    w.format.channels = 1;
    w.chunk_samples = op->sample_rate / CHUNKS_PER_SECOND;
    w.ramp_samples = (uint64_t)((double)op->sample_rate * RAMP_SECONDS + 0.5);

    for (c = op->text; *c && status == OP_RUNNING; c++) {
        const char *code, *e;
        if (*c == ' ') {
            word_start = true;
            continue;
        }
        /* The gap before this character (none before the first). */
        if (c != op->text) status = tts_segment(&w, false, word_start ? UNITS_WORD_GAP : UNITS_LETTER_GAP);
        word_start = false;
        code = morse_code((unsigned char)*c);
        for (e = code; *e && status == OP_RUNNING; e++) {
            if (e != code) status = tts_segment(&w, false, UNITS_ELEMENT_GAP);
            if (status == OP_RUNNING) status = tts_segment(&w, true, *e == '-' ? UNITS_DASH : UNITS_DOT);
        }
    }
    if (status == OP_RUNNING) status = tts_flush(&w); /* the last, shorter chunk */
    *samples = w.samples;
    return status;
}

/* --- the worker -------------------------------------------------------- */

static void *op_worker(void *arg) {
    vox_plugin_op *op = arg;
    vox_host_op *host_op = op->host_op;
    uint64_t samples = 0;
    op_status status;
    vox_type_error error;
    char result[128];
    bool cancelled;

    status = op->kind == VOX_OP_TTS_SYNTHESIZE ? tts_run(op, &samples) : voices_run(op);

    /* A cancel that arrived after the last data still wins: the host asked
     * for it and expects VOX_ERR_CANCELLED. */
    pthread_mutex_lock(&op->lock);
    cancelled = op->cancelled;
    pthread_mutex_unlock(&op->lock);
    if (cancelled) status = OP_CANCELLED;

    if (status != OP_RUNNING) {
        memset(&error, 0, sizeof error);
        fail(&error, VOX_ERR_CANCELLED,
             status == OP_CANCELLED ? "cancelled" : "stopped by the host (VOX_FLOW_STOP)");
        host->op_error(host_op, &error); /* FINAL: `op` is not touched again */
        return NULL;
    }

    if (op->kind == VOX_OP_TTS_SYNTHESIZE) {
        /* audio_seconds with 6 decimals, formatted without the locale. */
        uint64_t micros = (samples * 1000000u + op->sample_rate / 2) / op->sample_rate;
        snprintf(result, sizeof result, "{\"usage\":{\"characters\":%lu,\"audio_seconds\":%lu.%06lu}}",
                 (unsigned long)op->characters, (unsigned long)(micros / 1000000u),
                 (unsigned long)(micros % 1000000u));
        /* Anything that needs the instance happens BEFORE the final call:
         * after it the host may release us and destroy the instance. */
        if (host->metric) {
            host->metric(op->instance->hp, VOX_METRIC_COUNTER, vox_str("characters_synthesized"),
                         (double)op->characters);
        }
    } else {
        snprintf(result, sizeof result, "{}");
    }
    host->op_done(host_op, vox_str(result)); /* FINAL: `op` is not touched again */
    return NULL;
}

/* Starts the worker with every signal blocked, so that the process's
 * signals go to the host's threads, never to ours. */
static int32_t op_spawn(vox_plugin_op *op, vox_type_error *error) {
    pthread_attr_t attr;
    sigset_t all, previous;
    int rc;

    if (pthread_attr_init(&attr) != 0) return fail(error, VOX_ERR_INTERNAL, "cannot start a thread");
    pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    rc = pthread_create(&op->thread, &attr, op_worker, op);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        vox_error_set(error, VOX_ERR_UNAVAILABLE, VOX_ERROR_RETRIABLE, 0, -1,
                      PLUGIN_NAME ": cannot start a worker thread");
        return VOX_ERR_UNAVAILABLE;
    }
    return VOX_OK;
}

static int32_t examplec_op_start(vox_plugin_instance *inst, const vox_type_op_request *request,
                                 vox_host_op *host_op, vox_plugin_op **out, vox_type_error *error) {
    vox_plugin_op *op;
    int32_t rc;

    if (!request || !VOX_HAS_FIELD(request, vox_type_op_request, request_json)) {
        return fail(error, VOX_ERR_INVALID_REQUEST, PLUGIN_NAME ": the request struct is too small");
    }
    if (request->kind != VOX_OP_TTS_SYNTHESIZE && request->kind != VOX_OP_LIST_VOICES) {
        return fail(error, VOX_ERR_UNSUPPORTED,
                    PLUGIN_NAME " does not implement operation kind %u (it has tts.synthesize and voices.list)",
                    (unsigned)request->kind);
    }

    op = calloc(1, sizeof *op);
    if (!op) return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": out of memory");
    op->instance = inst;
    op->host_op = host_op;
    op->kind = request->kind;
    if (pthread_mutex_init(&op->lock, NULL) != 0) {
        free(op);
        return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": cannot create a mutex");
    }
    if (pthread_cond_init(&op->wake, NULL) != 0) {
        pthread_mutex_destroy(&op->lock);
        free(op);
        return fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": cannot create a condition variable");
    }
    op->sync_ready = true;

    if (op->kind == VOX_OP_TTS_SYNTHESIZE) rc = tts_prepare(inst, request->request_json, op, error);
    else rc = voices_prepare(request->request_json, op, error);
    if (rc == VOX_OK) rc = op_spawn(op, error);
    if (rc != VOX_OK) {
        op_free(op); /* no worker runs, no op_* call will come */
        return rc;
    }
    /* The worker may already have reported its final call; `op` stays valid
     * until op_release, which the host cannot call before we return it. */
    *out = op;
    return VOX_OK;
}

static void examplec_op_release(vox_plugin_op *op) {
    /* The final callback was the worker's last act, so joining is short.
     * A host may release from inside that callback, i.e. on the worker
     * itself: then detach instead (a thread cannot join itself). */
    if (pthread_equal(op->thread, pthread_self())) pthread_detach(op->thread);
    else pthread_join(op->thread, NULL);
    op_free(op);
}

/* ======================================================================== */
/* Descriptor, vtable and entry point                                       */
/* ======================================================================== */

static const vox_plugin_vtable examplec_vtable = {
    .struct_size = sizeof(vox_plugin_vtable),
    .create = examplec_create,
    .destroy = examplec_destroy,
    .capabilities = examplec_capabilities,
    .op_start = examplec_op_start,
    .op_cancel = examplec_op_cancel,
    .op_release = examplec_op_release,
    .op_resume = examplec_op_resume,
    .op_push = NULL,         /* no stt.stream */
    .op_finish_input = NULL,
};

static const vox_plugin_descriptor examplec_descriptor = {
    .struct_size = sizeof(vox_plugin_descriptor),
    .abi_major = VOX_ABI_MAJOR,
    .abi_minor = VOX_ABI_MINOR,
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .vendor = "voxd project",
    .description = "Text to International Morse code audio: the plain-C example plugin",
    .swift_runtime = NULL, /* plain C: no Swift runtime */
    .vtable = &examplec_vtable,
};

/* The only exported symbol. The host calls it once, before anything else. */
VOX_EXPORT const vox_plugin_descriptor *vox_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                                         const vox_host_api *host_api, vox_type_error *error) {
    /* A host with a newer minor is fine (it only appends); the host itself
     * refuses a plugin built against a newer minor than its own. */
    (void)host_abi_minor;
    if (host_abi_major != VOX_ABI_MAJOR) {
        fail(error, VOX_ERR_UNSUPPORTED,
             PLUGIN_NAME " was built for voxd plugin ABI %d.x, but the host speaks ABI %u.x",
             VOX_ABI_MAJOR, (unsigned)host_abi_major);
        return NULL;
    }
    if (!host_api || !VOX_HAS_FIELD(host_api, vox_host_api, timer_release)) {
        fail(error, VOX_ERR_INTERNAL, PLUGIN_NAME ": the host's services table is smaller than ABI 1.0 defines");
        return NULL;
    }
    host = host_api;
    return &examplec_descriptor;
}
