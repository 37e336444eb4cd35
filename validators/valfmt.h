/*
 * valfmt.h - what the validators share: bounded one-line messages and
 * regexes that may still hold ${...}.
 *
 * Private to validators/. Every failure message goes into a JUnit attribute
 * and a terminal line, so it is built in a fixed buffer: one line, at most
 * AR_VF_MSG_MAX bytes, long lists and quoted text cut with "...". A service
 * that streams a megabyte of text must not produce a megabyte of report.
 */
#ifndef AR_VALFMT_H
#define AR_VALFMT_H

#include "event.h"
#include "result.h"
#include "template.h"

#define AR_VF_MSG_MAX 1024
/* How much of a response a failure message quotes. */
#define AR_VF_QUOTE_MAX 200
/* Items shown in a list before "... (+N more)". */
#define AR_VF_LIST_MAX 16
/* Bytes shown of one list item. */
#define AR_VF_ITEM_MAX 60

typedef struct {
    char s[AR_VF_MSG_MAX];
    size_t len;
    bool truncated;
} ar_vf_msg;

void ar_vf_init(ar_vf_msg *m);
/* Appends formatted text; past the cap the message is cut and marked. */
void ar_vf_printf(ar_vf_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (borrowed; NULL shows as "(none)") with control bytes turned into
 * spaces, cut to max_bytes on a UTF-8 boundary with "..." when longer. */
void ar_vf_text(ar_vf_msg *m, const char *s, size_t max_bytes);
/* Same, between double quotes. */
void ar_vf_quote(ar_vf_msg *m, const char *s, size_t max_bytes);
/* Appends "[a, b, c]" (items borrowed; NULL items show as "(none)"). */
void ar_vf_strs(ar_vf_msg *m, const char *const *items, size_t n);
/* Appends "[agent_started, tool_executing x3, ...]"; collapse folds runs of
 * one kind into "kind xN" (used for observed streams full of thinking). */
void ar_vf_kinds(ar_vf_msg *m, const ar_ev_kind *kinds, size_t n, bool collapse);
/* Appends the check to out; the message is copied. */
void ar_vf_add(ar_checks *out, const char *name, bool passed, const ar_vf_msg *m);

/*
 * Returns the pcre2_code* to use for a pattern: `compiled` itself when the
 * loader compiled it (then *owned = false), else the pattern expanded with
 * vars in regex mode and compiled here (*owned = true: free it with
 * ar_vf_regex_free). *expanded receives an owned copy of the expanded pattern
 * when one was made (else NULL). On failure returns NULL and writes why into
 * err ("undefined variable 'spend'", "cannot compile /x(/ at offset 2: ...").
 */
void *ar_vf_regex_get(const char *pattern, void *compiled, const ar_vars *vars, bool *owned,
                      char **expanded, char *err, size_t err_len);
void ar_vf_regex_free(void *code); /* NULL-safe */

/*
 * Matches code against subject[0..len). Returns 1 on a match (and the match's
 * byte span in *mstart / *mend), 0 on no match, -1 on a matching error with
 * the reason in err (e.g. invalid UTF-8 in the subject).
 */
int ar_vf_regex_match(void *code, const char *subject, size_t len, size_t *mstart, size_t *mend,
                      char *err, size_t err_len);

#endif
