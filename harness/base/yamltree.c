/*
 * yamltree.c - see yamltree.h: node access, key checking with "did you mean",
 * typed getters (strings, bools, durations, counts, event kinds, modes),
 * ${} syntax, JSON pointers, PCRE2 compilation and YAML-to-JSON conversion,
 * each failing with file:line:col.
 */
#include "yamltree.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

/* send.context is converted by walking YAML nodes, and aliases can make a
 * small file describe a huge (or cyclic) value, so the walk is bounded. */
#define CTX_MAX_VALUES 100000u
#define CTX_MAX_DEPTH 64

int ar_yt_name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

/* "a, b, c" into out. */
void ar_yt_join_names(const char *const *names, size_t n, char *out, size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < out_len; i++) {
        int w = snprintf(out + used, out_len - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static void ar_yt_kind_list(char *out, size_t out_len)
{
    const char *names[AR_EV__COUNT];
    size_t n = 0;
    for (int k = 0; k < AR_EV__COUNT; k++)
        if (k != AR_EV_SENT) names[n++] = ar_ev_kind_name((ar_ev_kind)k);
    ar_yt_join_names(names, n, out, out_len);
}

/* Diagnostics */

ar_err ar_yt_fail_at(ar_yt *l, ar_err code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
ar_err ar_yt_fail_at(ar_yt *l, ar_err code, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One line, always: a quoted multi-line pattern or key must not split it. */
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    if (l->err && l->err_len) snprintf(l->err, l->err_len, "%s:%d:%d: %s", l->file, line, col, msg);
    return code;
}

ar_err ar_yt_fail_oom(ar_yt *l)
{
    if (l->err && l->err_len) snprintf(l->err, l->err_len, "%s: out of memory", l->file);
    return AR_ENOMEM;
}

/* Node access */

yaml_node_t *ar_yt_nd(ar_yt *l, int id)
{
    return yaml_document_get_node(l->doc, id);
}

const char *ar_yt_sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

bool ar_yt_is_scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE;
}

static bool ar_yt_is_plain(const yaml_node_t *n)
{
    return ar_yt_is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool ar_yt_is_empty_plain(const yaml_node_t *n)
{
    return ar_yt_is_plain(n) && n->data.scalar.length == 0;
}

static bool ar_yt_is_null(const yaml_node_t *n)
{
    if (!ar_yt_is_plain(n)) return false;
    const char *v = ar_yt_sval(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* What a node is, for "(got ...)" in messages. */
const char *ar_yt_got(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (ar_yt_is_empty_plain(n)) return "nothing";
    const char *v = ar_yt_sval(n);
    size_t vlen = strcspn(v, "\r\n");
    if (vlen > 60)
        snprintf(buf, len, "'%.57s...'", v);
    else
        snprintf(buf, len, "'%.*s'", (int)vlen, v);
    return buf;
}

static yaml_node_t *ar_yt_map_get_pair(ar_yt *l, const yaml_node_t *map, const char *key,
                                       yaml_node_t **k)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = ar_yt_nd(l, p->key);
        if (kn && ar_yt_is_scalar(kn) && strcmp(ar_yt_sval(kn), key) == 0) {
            if (k) *k = kn;
            return ar_yt_nd(l, p->value);
        }
    }
    return NULL;
}

yaml_node_t *ar_yt_map_get(ar_yt *l, const yaml_node_t *map, const char *key)
{
    return ar_yt_map_get_pair(l, map, key, NULL);
}

/* Optimal string alignment distance: a swapped pair of letters counts as one
 * edit, which is the typo people make most ("expcet"). */
static size_t ar_yt_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

static const char *ar_yt_suggest(const char *typed, const char *const *valid, size_t n)
{
    size_t len = strlen(typed);
    size_t limit = len <= 3 ? 1 : (len / 3 > 2 ? len / 3 : 2);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = ar_yt_edit_distance(typed, valid[i]);
        if (d <= limit && d < best_d) {
            best = valid[i];
            best_d = d;
        }
    }
    return best;
}

/*
 * The node must be a mapping holding only keys valid at this level. Keys in
 * `later` belong to features this version does not have: saying so beats
 * "unknown key", and beats ignoring them (a scenario with faults would pass
 * without injecting any).
 */
ar_err ar_yt_check_map_later(ar_yt *l, const yaml_node_t *n, const char *field,
                             const char *const *valid, size_t n_valid, const char *const *later,
                             size_t n_later)
{
    if (n->type != YAML_MAPPING_NODE) return AR_YT_FAIL(l, n, "'%s' must be a mapping", field);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ar_yt_nd(l, p->key);
        const char *key = ar_yt_sval(k);
        if (ar_yt_name_index(valid, n_valid, key) >= 0) continue;
        if (later && ar_yt_name_index(later, n_later, key) >= 0)
            return AR_YT_FAIL(l, k, "'%s' is not supported in this version of agentrig", key);
        const char *s = ar_yt_suggest(key, valid, n_valid);
        if (s) return AR_YT_FAIL(l, k, "unknown key '%s' (did you mean '%s'?)", key, s);
        char list[512];
        ar_yt_join_names(valid, n_valid, list, sizeof(list));
        return AR_YT_FAIL(l, k, "unknown key '%s' (valid keys: %s)", key, list);
    }
    return AR_OK;
}

ar_err ar_yt_check_map(ar_yt *l, const yaml_node_t *n, const char *field, const char *const *valid,
                       size_t n_valid)
{
    return ar_yt_check_map_later(l, n, field, valid, n_valid, NULL, 0);
}

typedef struct {
    const char *key;
    size_t index;
    const yaml_node_t *node;
} key_ref;

static int ar_yt_key_ref_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * libyaml's loader accepts duplicate keys and complex keys; both are checked
 * once over every mapping in the document before the walk. Sorting keeps a
 * mapping with many keys linear-logarithmic.
 */
ar_err ar_yt_check_all_keys(ar_yt *l)
{
    for (yaml_node_t *m = l->doc->nodes.start; m < l->doc->nodes.top; m++) {
        if (m->type != YAML_MAPPING_NODE) continue;
        size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
        if (n == 0) continue;
        key_ref *refs = calloc(n, sizeof(*refs));
        if (!refs) return ar_yt_fail_oom(l);
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *k = ar_yt_nd(l, m->data.mapping.pairs.start[i].key);
            if (!ar_yt_is_scalar(k)) {
                free(refs);
                return AR_YT_FAIL(l, k, "mapping keys must be plain names, not %s",
                                  k->type == YAML_MAPPING_NODE ? "mappings" : "lists");
            }
            refs[i] = (key_ref){ar_yt_sval(k), i, k};
        }
        qsort(refs, n, sizeof(*refs), ar_yt_key_ref_cmp);
        const key_ref *first = NULL, *dup = NULL;
        for (size_t i = 1; i < n; i++) {
            if (strcmp(refs[i].key, refs[i - 1].key) != 0) continue;
            if (!dup || refs[i].index < dup->index) {
                size_t j = i - 1;
                while (j > 0 && strcmp(refs[j - 1].key, refs[i].key) == 0)
                    j--;
                first = &refs[j];
                dup = &refs[i];
            }
        }
        if (dup) {
            ar_err rc = AR_YT_FAIL(l, dup->node, "duplicate key '%s' (first at line %d)", dup->key,
                                   (int)first->node->start_mark.line + 1);
            free(refs);
            return rc;
        }
        free(refs);
    }
    return AR_OK;
}

/* Scalars */

ar_err ar_yt_get_string(ar_yt *l, const yaml_node_t *n, const char *field, bool allow_empty,
                        char **out)
{
    if (!ar_yt_is_scalar(n))
        return AR_YT_FAIL(l, n, "'%s' must be a string (got %s)", field, ar_yt_got(n, 0, 0));
    if (!allow_empty && n->data.scalar.length == 0)
        return AR_YT_FAIL(l, n, "'%s' must not be empty", field);
    if (strlen(ar_yt_sval(n)) != n->data.scalar.length)
        return AR_YT_FAIL(l, n, "'%s' must not contain NUL characters", field);
    *out = ar_strdup(ar_yt_sval(n));
    return *out ? AR_OK : ar_yt_fail_oom(l);
}

static bool ar_yt_parse_bool_text(const char *v, bool *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
        *out = false;
        return true;
    }
    return false;
}

ar_err ar_yt_get_bool(ar_yt *l, const yaml_node_t *n, const char *field, bool *out)
{
    char buf[80];
    if (!ar_yt_is_plain(n) || !ar_yt_parse_bool_text(ar_yt_sval(n), out))
        return AR_YT_FAIL(l, n, "'%s' must be true or false (got %s)", field,
                          ar_yt_got(n, buf, sizeof(buf)));
    return AR_OK;
}

/* Timeouts and latency limits: a positive duration, or a number of seconds. */
ar_err ar_yt_get_duration(ar_yt *l, const yaml_node_t *n, const char *field, int64_t *out_us)
{
    char buf[80];
    if (!ar_yt_is_scalar(n) || ar_parse_duration(ar_yt_sval(n), out_us) != AR_OK)
        return AR_YT_FAIL(l, n, "'%s' must be a duration like 45s, 500ms or 2m (got %s)", field,
                          ar_yt_got(n, buf, sizeof(buf)));
    if (*out_us <= 0)
        return AR_YT_FAIL(l, n, "'%s' must be greater than 0 (got %s)", field,
                          ar_yt_got(n, buf, sizeof(buf)));
    return AR_OK;
}

/* A whole number >= 0 that fits an int. */
ar_err ar_yt_get_count(ar_yt *l, const yaml_node_t *n, const char *what, int *out)
{
    char buf[80];
    const char *v = ar_yt_is_scalar(n) ? ar_yt_sval(n) : "";
    bool ok = ar_yt_is_scalar(n) && *v;
    long long acc = 0;
    for (const char *p = v; ok && *p; p++) {
        if (*p < '0' || *p > '9' || acc > INT_MAX / 10)
            ok = false;
        else
            acc = acc * 10 + (*p - '0');
    }
    if (!ok || acc > INT_MAX)
        return AR_YT_FAIL(l, n, "%s must be a whole number, 0 or more (got %s)", what,
                          ar_yt_got(n, buf, sizeof(buf)));
    *out = (int)acc;
    return AR_OK;
}

/* YAML 1.2 core-schema decimal numbers; hex, octal, .inf and .nan stay strings. */
bool ar_yt_parse_number_text(const char *v, double *out)
{
    const char *p = v;
    if (*p == '-' || *p == '+') p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits) return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+') p++;
        if (!(*p >= '0' && *p <= '9')) return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p) return false;
    char *end;
    double d = strtod(v, &end);
    if (*end || !isfinite(d)) return false;
    *out = d;
    return true;
}

/* Templates, pointers, regexes */

bool ar_yt_tpl_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool ar_yt_tpl_name_char(char c)
{
    return ar_yt_tpl_name_start(c) || (c >= '0' && c <= '9');
}

/*
 * Checks ${...} syntax with the scanning rules of template.c. Only syntax:
 * whether a name is defined is known at run time (a capture or the
 * environment of the run).
 */
ar_err ar_yt_check_tpl(ar_yt *l, const yaml_node_t *n, const char *field, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            i++;
        } else if (s[i] == '$' && s[i + 1] == '$') {
            i++;
        } else if (s[i] == '$' && s[i + 1] == '{') {
            const char *close = strchr(s + i + 2, '}');
            if (!close) return AR_YT_FAIL(l, n, "'%s': unterminated '${' at offset %zu", field, i);
            size_t len = (size_t)(close - (s + i + 2));
            const char *sep = memchr(s + i + 2, ':', len); /* ${NAME:-default} */
            if (sep && sep + 1 < close && sep[1] == '-') len = (size_t)(sep - (s + i + 2));
            bool ok = len > 0 && ar_yt_tpl_name_start(s[i + 2]);
            for (size_t j = 1; ok && j < len; j++)
                ok = ar_yt_tpl_name_char(s[i + 2 + j]);
            if (!ok)
                return AR_YT_FAIL(l, n, "'%s': invalid variable name '%.*s' at offset %zu", field,
                                  (int)len, s + i + 2, i);
            i = (size_t)(close - s);
        }
    }
    return AR_OK;
}

ar_err ar_yt_check_pointer(ar_yt *l, const yaml_node_t *n, const char *p)
{
    if (!*p) return AR_OK;
    if (*p != '/') return AR_YT_FAIL(l, n, "invalid JSON pointer '%s': must start with '/'", p);
    for (const char *c = p; *c; c++)
        if (*c == '~' && c[1] != '0' && c[1] != '1')
            return AR_YT_FAIL(l, n, "invalid JSON pointer '%s': '~' must be followed by 0 or 1", p);
    return AR_OK;
}

/*
 * Compiles pat with PCRE2_UTF. A pattern holding ${...} cannot be compiled
 * before its values exist, so a probe with each reference replaced by "x" is
 * compiled instead (to catch syntax errors now); the error offset is mapped
 * back onto the pattern as written, and *out stays NULL.
 */
ar_err ar_yt_compile_regex(ar_yt *l, const yaml_node_t *n, const char *pat, void **out,
                           uint32_t *groups)
{
    *out = NULL;
    if (groups) *groups = 0;
    size_t len = strlen(pat);
    bool tpl = ar_tpl_has_vars(pat);
    char *probe = NULL;
    size_t *map = NULL;
    if (tpl) {
        probe = malloc(len + 1);
        map = malloc((len + 1) * sizeof(*map));
        if (!probe || !map) {
            free(probe);
            free(map);
            return ar_yt_fail_oom(l);
        }
        size_t o = 0;
        for (size_t i = 0; pat[i];) {
            if (pat[i] == '\\' && pat[i + 1]) {
                map[o] = i;
                probe[o++] = pat[i];
                map[o] = i + 1;
                probe[o++] = pat[i + 1];
                i += 2;
            } else if (pat[i] == '$' && pat[i + 1] == '$') {
                map[o] = i;
                probe[o++] = '$';
                i += 2;
            } else if (pat[i] == '$' && pat[i + 1] == '{') {
                map[o] = i;
                probe[o++] = 'x';
                i = (size_t)(strchr(pat + i, '}') - pat) + 1; /* check_tpl ran first */
            } else {
                map[o] = i;
                probe[o++] = pat[i++];
            }
        }
        probe[o] = '\0';
        map[o] = len;
    }
    int ec;
    PCRE2_SIZE eoff;
    const char *src = tpl ? probe : pat;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eoff, NULL);
    ar_err rc = AR_OK;
    if (!re) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", ec);
        size_t off = eoff;
        if (tpl) off = map[eoff <= strlen(probe) ? eoff : strlen(probe)];
        rc = AR_YT_FAIL(l, n, "invalid regex '%s': %s at offset %zu", pat, (const char *)msg, off);
    } else {
        uint32_t g = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &g);
        if (groups) *groups = g;
        if (tpl)
            pcre2_code_free(re);
        else
            *out = re;
    }
    free(probe);
    free(map);
    return rc;
}

/* YAML -> cJSON */

static cJSON *ar_yt_scalar_json(const yaml_node_t *n)
{
    if (!ar_yt_is_plain(n)) return cJSON_CreateString(ar_yt_sval(n));
    double d;
    bool b;
    if (ar_yt_is_null(n)) return cJSON_CreateNull();
    if (ar_yt_parse_bool_text(ar_yt_sval(n), &b)) return cJSON_CreateBool(b);
    if (ar_yt_parse_number_text(ar_yt_sval(n), &d)) return cJSON_CreateNumber(d);
    return cJSON_CreateString(ar_yt_sval(n));
}

/*
 * Converts a node to JSON. String values anywhere in send.context are
 * templates, so with `tpl` their ${...} syntax is checked on the way.
 */
ar_err ar_yt_node_json(ar_yt *l, const yaml_node_t *n, const char *field, bool tpl, int depth,
                       cJSON **out)
{
    *out = NULL;
    if (depth > CTX_MAX_DEPTH)
        return AR_YT_FAIL(l, n, "'%s' is nested more than %d levels deep", field, CTX_MAX_DEPTH);
    if (++l->ctx_values > CTX_MAX_VALUES)
        return AR_YT_FAIL(l, n, "'%s' is too large (more than %u values, aliases included)", field,
                          CTX_MAX_VALUES);
    if (n->type == YAML_SCALAR_NODE) {
        if (tpl && !ar_yt_is_null(n)) AR_YT_TRY(ar_yt_check_tpl(l, n, field, ar_yt_sval(n)));
        *out = ar_yt_scalar_json(n);
        return *out ? AR_OK : ar_yt_fail_oom(l);
    }
    cJSON *c = n->type == YAML_MAPPING_NODE ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!c) return ar_yt_fail_oom(l);
    if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            cJSON *v;
            ar_err rc = ar_yt_node_json(l, ar_yt_nd(l, p->value), field, tpl, depth + 1, &v);
            if (rc) {
                cJSON_Delete(c);
                return rc;
            }
            cJSON_AddItemToObject(c, ar_yt_sval(ar_yt_nd(l, p->key)), v);
        }
    } else {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            cJSON *v;
            ar_err rc = ar_yt_node_json(l, ar_yt_nd(l, *it), field, tpl, depth + 1, &v);
            if (rc) {
                cJSON_Delete(c);
                return rc;
            }
            cJSON_AddItemToArray(c, v);
        }
    }
    *out = c;
    return AR_OK;
}

/* Lists */

ar_err ar_yt_get_str_list(ar_yt *l, const yaml_node_t *n, const char *field, char ***out,
                          size_t *n_out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, n, "'%s' must be a list of strings", field);
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt) {
        *out = calloc(cnt, sizeof(char *));
        if (!*out) return ar_yt_fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = ar_yt_nd(l, n->data.sequence.items.start[i]);
        if (!ar_yt_is_scalar(it) || it->data.scalar.length == 0)
            return AR_YT_FAIL(l, it, "'%s' must be a list of strings", field);
        AR_YT_TRY(ar_yt_get_string(l, it, field, false, &(*out)[i]));
        (*n_out)++;
    }
    return AR_OK;
}

ar_err ar_yt_get_kind(ar_yt *l, const yaml_node_t *n, ar_ev_kind *out)
{
    char buf[80], list[256];
    if (!ar_yt_is_scalar(n) || !ar_ev_kind_parse(ar_yt_sval(n), out)) {
        ar_yt_kind_list(list, sizeof(list));
        if (ar_yt_is_scalar(n) && n->data.scalar.length)
            return AR_YT_FAIL(l, n, "unknown event kind '%s' (valid: %s)", ar_yt_sval(n), list);
        return AR_YT_FAIL(l, n, "expected an event kind (got %s; valid: %s)",
                          ar_yt_got(n, buf, sizeof(buf)), list);
    }
    return AR_OK;
}

ar_err ar_yt_get_kind_list(ar_yt *l, const yaml_node_t *n, const char *field, ar_ev_kind **out,
                           size_t *n_out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, n, "'%s' must be a list of event kinds", field);
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt) {
        *out = calloc(cnt, sizeof(ar_ev_kind));
        if (!*out) return ar_yt_fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        AR_YT_TRY(ar_yt_get_kind(l, ar_yt_nd(l, n->data.sequence.items.start[i]), &(*out)[i]));
        (*n_out)++;
    }
    return AR_OK;
}

ar_err ar_yt_get_mode(ar_yt *l, const yaml_node_t *n, const char *what, const char *const *names,
                      size_t n_names, int *out)
{
    char buf[80], list[256];
    ar_yt_join_names(names, n_names, list, sizeof(list));
    int i = ar_yt_is_scalar(n) ? ar_yt_name_index(names, n_names, ar_yt_sval(n)) : -1;
    if (i < 0)
        return AR_YT_FAIL(l, n, "unknown %s mode %s (valid: %s)", what,
                          ar_yt_got(n, buf, sizeof(buf)), list);
    *out = i;
    return AR_OK;
}

/* expect.* */

ar_srcloc ar_yt_loc_of(ar_yt *l, const yaml_node_t *n)
{
    /* A scenario's locations borrow its own copy of the path (it outlives the
     * loader); a rules file has no scenario, and its path is the caller's. */
    const char *file = l->loc_file ? l->loc_file : l->file;
    return (ar_srcloc){file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

/* Caps */

/* Block levels are keyed by column * 2, plus 1 for a sequence: "- " may sit
 * at its parent mapping's own indentation and is still one level deeper. */
typedef struct {
    const char *s;
    size_t ls, eol; /* the line being scanned */
    int line;       /* 1-based */
    size_t flow;    /* open [ and { */
    char quote;     /* inside a quoted scalar: ' or " */
    bool tok;       /* a node may start here (after an indicator) */
    bool pending;   /* after "- ", "? " or ": " in block context: the next content nests */
    int key_col;    /* >= 0: a scalar there after "- " turns into a mapping if ": " follows */
    int block_sc;   /* >= 0: inside a block scalar whose parent is at this column */
    int key[AR_YT_MAX_DEPTH + 1];
    size_t n_key; /* open block levels */
} yt_scan;

static bool ar_yt_blank_at(const yt_scan *sc, size_t k)
{
    return k >= sc->eol || sc->s[k] == ' ' || sc->s[k] == '\t' || sc->s[k] == '\r';
}

static bool ar_yt_too_deep(ar_yt *l, yt_scan *sc, size_t k)
{
    if (sc->n_key + sc->flow <= AR_YT_MAX_DEPTH) return false;
    ar_yt_fail_at(l, AR_EINVAL, sc->line, (int)(k - sc->ls) + 1, "nested deeper than %d levels",
                  AR_YT_MAX_DEPTH);
    return true;
}

/* The block node whose content starts at k; false (l->err set) when one too many. */
static bool ar_yt_block_at(ar_yt *l, yt_scan *sc, size_t k)
{
    int key = (int)(k - sc->ls) * 2 + (sc->s[k] == '-' && ar_yt_blank_at(sc, k + 1));
    while (sc->n_key && sc->key[sc->n_key - 1] > key)
        sc->n_key--;
    if (sc->n_key && sc->key[sc->n_key - 1] == key) return true; /* a sibling */
    sc->key[sc->n_key++] = key;
    return !ar_yt_too_deep(l, sc, k);
}

/* One character outside quotes at k: how many to skip, 0 to end the line. */
static size_t ar_yt_scan_char(ar_yt *l, yt_scan *sc, size_t k, bool *fail)
{
    char c = sc->s[k];
    bool block = sc->flow == 0;
    if (c == '#' && (k == sc->ls || sc->s[k - 1] == ' ' || sc->s[k - 1] == '\t')) return 0;
    if (c == ' ' || c == '\t' || c == '\r') return 1;
    if (sc->tok && block && (c == '|' || c == '>')) {
        sc->block_sc = sc->n_key ? sc->key[sc->n_key - 1] / 2 : 0;
        return 0;
    }
    if (sc->tok && (c == '!' || c == '&')) { /* a tag or an anchor: the node follows */
        size_t n = 1;
        while (!ar_yt_blank_at(sc, k + n))
            n++;
        return n;
    }
    if (block && sc->pending) { /* what "- " holds: a sequence, a mapping, or a leaf */
        sc->pending = false;
        if ((c == '-' || c == '?') && ar_yt_blank_at(sc, k + 1)) {
            if (!ar_yt_block_at(l, sc, k)) return *fail = true, 0;
        } else if (c != '[' && c != '{') { /* a flow collection counts itself */
            sc->key_col = (int)(k - sc->ls);
        }
    }
    if ((c == '[' || c == '{') && (sc->tok || !block)) {
        sc->flow++;
        sc->tok = true;
        return ar_yt_too_deep(l, sc, k) ? (*fail = true, 0) : 1;
    }
    if (!block && (c == ']' || c == '}')) return sc->flow--, sc->tok = false, 1;
    if (!block && c == ',') return sc->tok = true, 1;
    if ((c == ':' || ((c == '-' || c == '?') && sc->tok)) &&
        (ar_yt_blank_at(sc, k + 1) || (!block && c == ':'))) {
        if (block && c == ':' && sc->key_col >= 0 &&
            !ar_yt_block_at(l, sc, sc->ls + (size_t)sc->key_col))
            return *fail = true, 0;
        sc->key_col = -1;
        sc->tok = true;
        sc->pending = block;
        return 1;
    }
    if (sc->tok && (c == '\'' || c == '"')) sc->quote = c;
    sc->tok = false; /* a quoted or plain scalar */
    return 1;
}

/* The rest of a line from k: quotes, comments, indicators, brackets. */
static bool ar_yt_scan_line(ar_yt *l, yt_scan *sc, size_t k)
{
    while (k < sc->eol) {
        char c = sc->s[k];
        if (sc->quote) {
            if (sc->quote == '"' && c == '\\')
                k++; /* an escape: the next byte is not the end */
            else if (c == sc->quote && c == '\'' && k + 1 < sc->eol && sc->s[k + 1] == '\'')
                k++; /* '' is a quote inside '...' */
            else if (c == sc->quote)
                sc->quote = 0;
            k++;
            continue;
        }
        bool fail = false;
        size_t n = ar_yt_scan_char(l, sc, k, &fail);
        if (fail) return false;
        if (!n) break;
        k += n;
    }
    return true;
}

ar_err ar_yt_check_caps(ar_yt *l, const char *yaml, size_t len)
{
    if (len > AR_YT_FILE_MAX_BYTES) {
        if (l->err && l->err_len)
            snprintf(l->err, l->err_len, "%s: larger than the " AR_YT_FILE_MAX_TEXT " cap",
                     l->file);
        return AR_EINVAL;
    }
    yt_scan sc = {.s = yaml, .block_sc = -1};
    for (size_t i = 0; i < len; i = sc.eol + 1) {
        const char *nl = memchr(yaml + i, '\n', len - i);
        sc.ls = i;
        sc.eol = nl ? (size_t)(nl - yaml) : len;
        sc.line++;
        size_t k = i;
        while (k < sc.eol && yaml[k] == ' ')
            k++;
        bool blank = k == sc.eol || yaml[k] == '\r' || yaml[k] == '#';
        if (sc.block_sc >= 0) {
            if (blank || (int)(k - i) > sc.block_sc) continue;
            sc.block_sc = -1;
        }
        sc.pending = false;
        sc.key_col = -1;
        if (!sc.quote && !sc.flow && !blank) {
            sc.tok = true;
            bool marker = k == i && sc.eol - i >= 3 &&
                          (!strncmp(yaml + i, "---", 3) || !strncmp(yaml + i, "...", 3)) &&
                          ar_yt_blank_at(&sc, i + 3);
            if (marker) {
                sc.n_key = 0; /* a new document */
                k = i + 3;
            } else if (!ar_yt_block_at(l, &sc, k)) {
                return AR_EINVAL;
            }
        }
        if (!ar_yt_scan_line(l, &sc, k)) return AR_EINVAL;
    }
    return AR_OK;
}
