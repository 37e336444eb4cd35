/*
 * httpstep_int.h - what httpstep.c (the step model and its load-time check)
 * and httpstep_run.c (running a step) share and nobody else sees: quoting
 * text into check messages and compiling patterns, which both the check at
 * load time and the expanded patterns at run time need, with the same
 * options and the same error wording.
 */
#ifndef AR_HTTPSTEP_INT_H
#define AR_HTTPSTEP_INT_H

#include "httpstep.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* How much of a pattern a check message quotes. */
#define PATTERN_QUOTE_BYTES 100

/* Writes s into out (out_len > 4) as one line: control bytes become spaces;
 * longer than max bytes is cut on a UTF-8 boundary and ends with "...". */
void ar_http_excerpt(char *out, size_t out_len, const char *s, size_t len, size_t max);

/*
 * Compiles pattern, or returns NULL with the reason in err ("cannot compile
 * /x(/ at offset 2: ..."). Bytes that are not UTF-8 in a body then simply do
 * not match, instead of failing the whole match.
 */
pcre2_code *ar_http_regex_compile(const char *pattern, char *err, size_t err_len);
/* The number of capture groups in re. */
uint32_t ar_http_regex_groups(const pcre2_code *re);

#endif
