/*
 * template.h - variables and ${...} expansion.
 *
 * A scenario refers to environment variables (${AGENT_URL}) and to values
 * captured by earlier turns (${spend}). Captures win over the environment, so
 * a scenario means the same thing whatever the shell exports. `$$` is a
 * literal `$`. An unknown variable is an error naming it, never an empty
 * string: a silently empty URL or regex would make a check meaningless,
 * unless the template says what to use instead: `${NAME:-default}` (the
 * default, literal text, when NAME is unset or empty, as in the shell).
 */
#ifndef AR_TEMPLATE_H
#define AR_TEMPLATE_H

#include "ar.h"

typedef struct ar_vars ar_vars;

ar_vars *ar_vars_new(void);
void ar_vars_free(ar_vars *v); /* NULL-safe */
/* Sets (or replaces) name=value; both copied. */
ar_err ar_vars_set(ar_vars *v, const char *name, const char *value);
/* Borrowed value or NULL. Looks only at captures, not the environment. */
const char *ar_vars_get(const ar_vars *v, const char *name);
size_t ar_vars_count(const ar_vars *v);
/* i-th entry in insertion order (borrowed). */
void ar_vars_at(const ar_vars *v, size_t i, const char **name, const char **value);
/* A copy of v (NULL for NULL); NULL on OOM. Returns owned. */
ar_vars *ar_vars_clone(const ar_vars *v);

typedef enum {
    AR_TPL_PLAIN = 0, /* insert values as they are */
    AR_TPL_REGEX,     /* insert values as literals inside a PCRE2 pattern (\Q...\E) */
} ar_tpl_mode;

/*
 * Expands ${name} in tpl: captures in v first, then getenv(). v may be NULL
 * (environment only). On success *out is owned by the caller. On failure
 * returns AR_EINVAL and writes "undefined variable 'name'" (or "unterminated
 * ${") into err.
 */
ar_err ar_tpl_expand(const char *tpl, const ar_vars *v, ar_tpl_mode mode, char **out, char *err,
                     size_t err_len);

/* True when s contains a ${...} reference. */
bool ar_tpl_has_vars(const char *s);

#endif
