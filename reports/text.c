/*
 * text.c - UTF-8 repair, base64 and file-name slugs for the report writers.
 *
 * The strict decoder follows RFC 3629 (no overlongs, no surrogates, nothing
 * past U+10FFFF) because XML parsers and Python's json module reject exactly
 * those; repairing byte by byte keeps as much of a broken frame readable as
 * possible instead of dropping the whole string.
 */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ar_text_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1Fu;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0Fu;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        *cp = AR_TEXT_REPLACEMENT;
        return 1;
    }
    if (len < need + 1) {
        *cp = AR_TEXT_REPLACEMENT;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0u) != 0x80u) {
            *cp = AR_TEXT_REPLACEMENT;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFFu || (v >= 0xD800u && v <= 0xDFFFu)) {
        *cp = AR_TEXT_REPLACEMENT;
        return 1;
    }
    *cp = v;
    return need + 1;
}

size_t ar_text_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *ar_text_utf8_clean(const char *s, size_t len, size_t max_bytes, int *cut)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t limit = len, i = 0, o = 0;
    char *out;

    if (cut) *cut = 0;
    if (max_bytes && len > max_bytes) {
        limit = max_bytes;
        if (cut) *cut = 1;
    }
    /* Each input byte becomes at most 3 output bytes (one U+FFFD). */
    out = malloc(limit * 3 + 1);
    if (!out) return NULL;
    while (i < limit) {
        uint32_t cp;
        size_t n = ar_text_utf8_next(u + i, len - i, &cp);
        /* A character straddling the cap is left out whole, never halved. */
        if (i + n > limit) break;
        if (cp == 0) cp = AR_TEXT_REPLACEMENT;
        o += ar_text_utf8_put(cp, out + o);
        i += n;
    }
    out[o] = '\0';
    return out;
}

char *ar_text_base64(const unsigned char *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;

    if (!out) return NULL;
    for (; i + 2 < len; i += 3) {
        uint32_t v = ((uint32_t)data[i] << 16) | ((uint32_t)data[i + 1] << 8) | data[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

void ar_text_slug(const char *s, char *out, size_t out_len)
{
    size_t o = 0;
    int dash = 0;

    if (out_len == 0) return;
    for (; s && *s && o + 1 < out_len; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && o > 0) {
                /* No room for "-x": stop rather than glue two words together. */
                if (o + 2 >= out_len) break;
                out[o++] = '-';
            }
            dash = 0;
            out[o++] = c;
        } else {
            dash = 1;
        }
    }
    out[o] = '\0';
    if (o == 0) snprintf(out, out_len, "session");
}

/*
 * Writes s escaped for XML. In attributes, tab/newline/CR become character
 * references so parsers do not normalise them to spaces. At most max_bytes of
 * input are written; a cut is marked with "...".
 */
void ar_text_xml_put(FILE *f, const char *s, size_t max_bytes, bool attr)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len, i = 0;

    if (!s) return;
    len = strlen(s);
    while (i < len) {
        uint32_t cp;
        size_t n;

        if (i >= max_bytes) {
            fputs("...", f);
            return;
        }
        n = ar_text_utf8_next(u + i, len - i, &cp);
        i += n;
        switch (cp) {
        case '&':
            fputs("&amp;", f);
            continue;
        case '<':
            fputs("&lt;", f);
            continue;
        case '>':
            fputs("&gt;", f);
            continue;
        case '"':
            fputs(attr ? "&quot;" : "\"", f);
            continue;
        case '\'':
            fputs(attr ? "&apos;" : "'", f);
            continue;
        case '\t':
            fputs(attr ? "&#9;" : "\t", f);
            continue;
        case '\n':
            fputs(attr ? "&#10;" : "\n", f);
            continue;
        case '\r':
            fputs("&#13;", f);
            continue;
        default:
            break;
        }
        /* XML 1.0 Char excludes C0 controls (bar tab/LF/CR), U+FFFE, U+FFFF. */
        if (cp < 0x20 || cp == 0xFFFEu || cp == 0xFFFFu) cp = AR_TEXT_REPLACEMENT;
        char enc[4];
        fwrite(enc, 1, ar_text_utf8_put(cp, enc), f);
    }
}
