/*
 * text.h - text hygiene shared by the report writers (internal to reports/).
 *
 * Everything a report prints came from a service under test, so it may hold
 * invalid UTF-8, NUL bytes or terminal escapes. XML, JSON and terminals each
 * break differently on those; these helpers give every writer one definition
 * of "clean" so the outputs agree.
 */
#ifndef AR_REPORT_TEXT_H
#define AR_REPORT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AR_TEXT_REPLACEMENT 0xFFFDu

/*
 * Decodes one code point from s (len bytes available, len >= 1). Returns the
 * bytes consumed (1..4). Invalid, overlong, surrogate and truncated sequences
 * consume one byte and yield U+FFFD, so a caller always makes progress.
 */
size_t ar_text_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* Encodes cp as UTF-8 into out (4 bytes available); returns the byte count. */
size_t ar_text_utf8_put(uint32_t cp, char *out);

/*
 * Returns an owned, NUL-terminated copy of the first len bytes of s that is
 * valid UTF-8: invalid sequences and NUL bytes become U+FFFD. When max_bytes
 * is non-zero, at most max_bytes input bytes are read, cut at a character
 * boundary, and *cut (when non-NULL) says whether anything was left out.
 * NULL on allocation failure.
 */
char *ar_text_utf8_clean(const char *s, size_t len, size_t max_bytes, int *cut);

/* Returns an owned base64 (RFC 4648, padded) encoding, or NULL on OOM. */
char *ar_text_base64(const unsigned char *data, size_t len);

/*
 * Writes a file-name slug of s into out: lowercase ASCII letters and digits,
 * every other run of bytes becomes one '-', no leading or trailing '-', at
 * most out_len - 1 bytes. "session" when nothing is left.
 */
void ar_text_slug(const char *s, char *out, size_t out_len);

/*
 * Writes s escaped for XML 1.0 (shared by the JUnit writers). In attributes,
 * tab/newline/CR become character references so parsers do not normalise
 * them to spaces; characters XML forbids become U+FFFD. At most max_bytes of
 * input are written; a cut is marked with "...".
 */
void ar_text_xml_put(FILE *f, const char *s, size_t max_bytes, bool attr);

#endif
