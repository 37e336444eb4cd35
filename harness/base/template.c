/*
 * template.c - variables and ${...} expansion for scenario strings.
 *
 * Scanning rules (docs/scenarios.md, "Variables"), left to right:
 *   - a backslash and the character after it are copied as they are, so "\$"
 *     stays a regex-escaped dollar and never starts a reference
 *     ('\$${spend}K' is "\$" + the value of spend + "K");
 *   - "$$" is one literal "$" (so "$${" is a literal "${");
 *   - "${name}" is replaced by the capture or environment variable `name`;
 *   - any other "$" is literal, so "$50K/month" needs no escaping.
 * An undefined variable is an error, never an empty string: an empty URL or
 * regex would make a check silently meaningless.
 */
#include "template.h"

#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

/* A value inserted into a template (a captured response fragment, say) is
 * network-fed, so expansion output is capped. */
#define TPL_MAX_BYTES (4u * 1024u * 1024u)

struct ar_vars {
    char **names;
    char **values;
    size_t n;
    size_t cap;
};

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || !name_start(s[0])) return false;
    for (size_t i = 1; i < len; i++)
        if (!name_char(s[i])) return false;
    return true;
}

ar_vars *ar_vars_new(void)
{
    return calloc(1, sizeof(ar_vars));
}

void ar_vars_free(ar_vars *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    free(v->names);
    free(v->values);
    free(v);
}

static ssize_t vars_find(const ar_vars *v, const char *name, size_t len)
{
    for (size_t i = 0; i < v->n; i++)
        if (strlen(v->names[i]) == len && memcmp(v->names[i], name, len) == 0) return (ssize_t)i;
    return -1;
}

ar_err ar_vars_set(ar_vars *v, const char *name, const char *value)
{
    if (!v || !name || !value || !valid_name(name, strlen(name))) return AR_EINVAL;
    char *val = ar_strdup(value);
    if (!val) return AR_ENOMEM;
    ssize_t at = vars_find(v, name, strlen(name));
    if (at >= 0) {
        free(v->values[at]);
        v->values[at] = val;
        return AR_OK;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char **names = realloc(v->names, cap * sizeof(*names));
        if (!names) goto oom;
        v->names = names;
        char **values = realloc(v->values, cap * sizeof(*values));
        if (!values) goto oom;
        v->values = values;
        v->cap = cap;
    }
    v->names[v->n] = ar_strdup(name);
    if (!v->names[v->n]) goto oom;
    v->values[v->n] = val;
    v->n++;
    return AR_OK;
oom:
    free(val);
    return AR_ENOMEM;
}

const char *ar_vars_get(const ar_vars *v, const char *name)
{
    if (!v || !name) return NULL;
    ssize_t at = vars_find(v, name, strlen(name));
    return at >= 0 ? v->values[at] : NULL;
}

size_t ar_vars_count(const ar_vars *v)
{
    return v ? v->n : 0;
}

ar_vars *ar_vars_clone(const ar_vars *v)
{
    if (!v) return NULL;
    ar_vars *c = ar_vars_new();
    for (size_t i = 0; c && i < v->n; i++) {
        if (ar_vars_set(c, v->names[i], v->values[i]) != AR_OK) {
            ar_vars_free(c);
            return NULL;
        }
    }
    return c;
}

void ar_vars_at(const ar_vars *v, size_t i, const char **name, const char **value)
{
    if (!v || i >= v->n) {
        if (name) *name = NULL;
        if (value) *value = NULL;
        return;
    }
    if (name) *name = v->names[i];
    if (value) *value = v->values[i];
}

/*
 * Appends value as a PCRE2 literal. Inside \Q...\E only "\E" is special, so a
 * value holding "\E" is split there: "a\Eb" becomes \Qa\E\\E\Qb\E.
 */
static ar_err append_quoted(ar_buf *b, const char *value)
{
    ar_err rc = ar_buf_puts(b, "\\Q");
    const char *p = value;
    const char *hit;
    while (rc == AR_OK && (hit = strstr(p, "\\E")) != NULL) {
        rc = ar_buf_append(b, p, (size_t)(hit - p));
        if (rc == AR_OK) rc = ar_buf_puts(b, "\\E\\\\E\\Q");
        p = hit + 2;
    }
    if (rc == AR_OK) rc = ar_buf_puts(b, p);
    if (rc == AR_OK) rc = ar_buf_puts(b, "\\E");
    return rc;
}

ar_err ar_tpl_expand(const char *tpl, const ar_vars *v, ar_tpl_mode mode, char **out, char *err,
                     size_t err_len)
{
    if (!tpl || !out) return AR_EINVAL;
    *out = NULL;
    ar_buf b;
    ar_buf_init(&b, TPL_MAX_BYTES);
    ar_err rc = AR_OK;
    size_t i = 0;
    while (tpl[i] && rc == AR_OK) {
        if (tpl[i] == '\\' && tpl[i + 1]) {
            rc = ar_buf_append(&b, tpl + i, 2);
            i += 2;
        } else if (tpl[i] == '$' && tpl[i + 1] == '$') {
            rc = ar_buf_append(&b, "$", 1);
            i += 2;
        } else if (tpl[i] == '$' && tpl[i + 1] == '{') {
            const char *name = tpl + i + 2;
            const char *close = strchr(name, '}');
            if (!close) {
                snprintf(err, err_len, "unterminated '${' at offset %zu", i);
                rc = AR_EINVAL;
                break;
            }
            size_t len = (size_t)(close - name);
            /* ${NAME:-default}: the default (literal text) when NAME is
             * unset or empty, as in the shell. */
            const char *dflt = NULL;
            size_t dlen = 0;
            const char *sep = memchr(name, ':', len);
            if (sep && sep + 1 < close && sep[1] == '-') {
                dflt = sep + 2;
                dlen = (size_t)(close - dflt);
                len = (size_t)(sep - name);
            }
            if (!valid_name(name, len)) {
                snprintf(err, err_len, "invalid variable name '%.*s' at offset %zu", (int)len, name,
                         i);
                rc = AR_EINVAL;
                break;
            }
            char key[256];
            if (len >= sizeof(key)) {
                snprintf(err, err_len, "variable name too long at offset %zu", i);
                rc = AR_EINVAL;
                break;
            }
            memcpy(key, name, len);
            key[len] = '\0';
            const char *val = ar_vars_get(v, key);
            if (!val) val = getenv(key);
            char dbuf[256];
            if ((!val || !*val) && dflt) {
                if (dlen >= sizeof dbuf) dlen = sizeof dbuf - 1;
                memcpy(dbuf, dflt, dlen);
                dbuf[dlen] = '\0';
                val = dbuf;
            }
            if (!val) {
                snprintf(err, err_len, "undefined variable '%s'", key);
                rc = AR_EINVAL;
                break;
            }
            rc = mode == AR_TPL_REGEX ? append_quoted(&b, val) : ar_buf_puts(&b, val);
            i = (size_t)(close - tpl) + 1;
        } else {
            rc = ar_buf_append(&b, tpl + i, 1);
            i++;
        }
    }
    if (rc == AR_ETOOBIG)
        snprintf(err, err_len, "expanded template is larger than %u bytes", TPL_MAX_BYTES);
    else if (rc == AR_ENOMEM)
        snprintf(err, err_len, "out of memory");
    if (rc != AR_OK) {
        ar_buf_free(&b);
        return rc;
    }
    *out = ar_buf_take(&b);
    if (!*out) {
        snprintf(err, err_len, "out of memory");
        return AR_ENOMEM;
    }
    return AR_OK;
}

bool ar_tpl_has_vars(const char *s)
{
    if (!s) return false;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1])
            i++;
        else if (s[i] == '$' && s[i + 1] == '$')
            i++;
        else if (s[i] == '$' && s[i + 1] == '{')
            return true;
    }
    return false;
}
