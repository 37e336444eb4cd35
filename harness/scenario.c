/*
 * scenario.c - loads scenario YAML into the ar_scenario model.
 *
 * Everything that can be checked without a service is checked here: keys at
 * every level (with a "did you mean" for typos), types, event kinds, modes,
 * durations, regexes (compiled with PCRE2), JSON pointers and ${...} syntax.
 * A mistake in a scenario is a configuration error with file:line:col, found
 * before any socket is opened, never a red CI run that looks like a service
 * failure. libyaml's document API gives us nodes with marks; we walk them
 * directly instead of building a second tree.
 *
 * Error handling: every parser returns ar_err and the first error wins; the
 * scenario is calloc'ed and filled in place, so on any error ar_scn_free
 * releases whatever was filled so far.
 */
#include "scenario.h"
#include "template.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* Scenario files are written by people; anything bigger is a mistake. */
#define SCN_FILE_MAX_BYTES (4u * 1024u * 1024u)
/* send.context is converted by walking YAML nodes, and aliases can make a
 * small file describe a huge (or cyclic) value, so the walk is bounded. */
#define CTX_MAX_VALUES 100000u
#define CTX_MAX_DEPTH 64
/* Directory recursion bound: symlink loops must not hang the loader. */
#define DIR_MAX_DEPTH 32

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        ar_err try_rc_ = (expr);                                                                   \
        if (try_rc_ != AR_OK) return try_rc_;                                                      \
    } while (0)

typedef struct {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t err_len;
    size_t ctx_values;
    ar_scenario *scn;
} ld;

static const char *const order_mode_names[] = {"strict", "subsequence", "contains"};
static const char *const route_mode_names[] = {"strict", "unordered", "subset", "superset",
                                               "subsequence"};
static const char *const json_op_names[] = {"eq", "ne",  "gt",     "gte",
                                            "lt", "lte", "exists", "matches"};
static const char *const cap_from_names[] = {"response", "final", "thread_id"};
static const char *const context_fields[] = {"thread_id",     "agent", "run_id",
                                             "parent_run_id", "tool",  "call_id"};

static const char *const scn_keys[] = {"name",      "tags",    "target", "protocol",
                                       "thread_id", "timeout", "turns"};
static const char *const scn_later[] = {"faults", "thresholds"};
static const char *const turn_keys[] = {"send", "timeout", "expect", "capture"};
static const char *const send_keys[] = {"message", "context", "new_thread"};
static const char *const expect_keys[] = {"events",   "route",   "tools",
                                          "response", "latency", "context"};
static const char *const events_keys[] = {
    "order", "mode", "tools_paired", "nothing_after_terminal", "forbidden", "count"};
static const char *const count_keys[] = {"min", "max"};
static const char *const route_keys[] = {"agents", "mode"};
static const char *const tools_keys[] = {"called", "not_called", "all_ok", "status"};
static const char *const resp_keys[] = {"matches", "not_matches", "json"};
static const char *const json_keys[] = {"path", "eq",  "ne",     "gt",     "gte",
                                        "lt",   "lte", "exists", "matches"};
static const char *const latency_keys[] = {"first_event", "first_tool", "turn"};
static const char *const ctx_keys[] = {"same", "reappear"};
static const char *const capture_keys[] = {"from", "regex", "pointer", "group"};

const char *ar_order_mode_name(ar_order_mode m)
{
    if ((int)m < 0 || (size_t)m >= AR_ARRAY_LEN(order_mode_names)) return "unknown";
    return order_mode_names[m];
}

const char *ar_route_mode_name(ar_route_mode m)
{
    if ((int)m < 0 || (size_t)m >= AR_ARRAY_LEN(route_mode_names)) return "unknown";
    return route_mode_names[m];
}

const char *ar_json_op_name(ar_json_op op)
{
    if ((int)op < 0 || (size_t)op >= AR_ARRAY_LEN(json_op_names)) return "unknown";
    return json_op_names[op];
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

/* "a, b, c" into out. */
static void join_names(const char *const *names, size_t n, char *out, size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < out_len; i++) {
        int w = snprintf(out + used, out_len - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static void kind_list(char *out, size_t out_len)
{
    const char *names[AR_EV__COUNT];
    for (int k = 0; k < AR_EV__COUNT; k++)
        names[k] = ar_ev_kind_name((ar_ev_kind)k);
    join_names(names, AR_EV__COUNT, out, out_len);
}

/* Diagnostics */

static ar_err fail_at(ld *l, ar_err code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static ar_err fail_at(ld *l, ar_err code, int line, int col, const char *fmt, ...)
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

#define FAIL(l, node, ...)                                                                         \
    fail_at((l), AR_EINVAL, (int)(node)->start_mark.line + 1, (int)(node)->start_mark.column + 1,  \
            __VA_ARGS__)

static ar_err fail_oom(ld *l)
{
    if (l->err && l->err_len) snprintf(l->err, l->err_len, "%s: out of memory", l->file);
    return AR_ENOMEM;
}

/* Node access */

static yaml_node_t *nd(ld *l, int id)
{
    return yaml_document_get_node(l->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE;
}

static bool is_plain(const yaml_node_t *n)
{
    return is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_empty_plain(const yaml_node_t *n)
{
    return is_plain(n) && n->data.scalar.length == 0;
}

static bool is_null(const yaml_node_t *n)
{
    if (!is_plain(n)) return false;
    const char *v = sval(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* What a node is, for "(got ...)" in messages. */
static const char *got(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (is_empty_plain(n)) return "nothing";
    const char *v = sval(n);
    size_t vlen = strcspn(v, "\r\n");
    if (vlen > 60)
        snprintf(buf, len, "'%.57s...'", v);
    else
        snprintf(buf, len, "'%.*s'", (int)vlen, v);
    return buf;
}

static yaml_node_t *map_get_pair(ld *l, const yaml_node_t *map, const char *key, yaml_node_t **k)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = nd(l, p->key);
        if (kn && is_scalar(kn) && strcmp(sval(kn), key) == 0) {
            if (k) *k = kn;
            return nd(l, p->value);
        }
    }
    return NULL;
}

static yaml_node_t *map_get(ld *l, const yaml_node_t *map, const char *key)
{
    return map_get_pair(l, map, key, NULL);
}

/* Optimal string alignment distance: a swapped pair of letters counts as one
 * edit, which is the typo people make most ("expcet"). */
static size_t edit_distance(const char *a, const char *b)
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

static const char *suggest(const char *typed, const char *const *valid, size_t n)
{
    size_t len = strlen(typed);
    size_t limit = len <= 3 ? 1 : (len / 3 > 2 ? len / 3 : 2);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(typed, valid[i]);
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
static ar_err check_map_later(ld *l, const yaml_node_t *n, const char *field,
                              const char *const *valid, size_t n_valid, const char *const *later,
                              size_t n_later)
{
    if (n->type != YAML_MAPPING_NODE) return FAIL(l, n, "'%s' must be a mapping", field);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key);
        const char *key = sval(k);
        if (name_index(valid, n_valid, key) >= 0) continue;
        if (later && name_index(later, n_later, key) >= 0)
            return FAIL(l, k, "'%s' is not supported in this version of agentrig", key);
        const char *s = suggest(key, valid, n_valid);
        if (s) return FAIL(l, k, "unknown key '%s' (did you mean '%s'?)", key, s);
        char list[512];
        join_names(valid, n_valid, list, sizeof(list));
        return FAIL(l, k, "unknown key '%s' (valid keys: %s)", key, list);
    }
    return AR_OK;
}

static ar_err check_map(ld *l, const yaml_node_t *n, const char *field, const char *const *valid,
                        size_t n_valid)
{
    return check_map_later(l, n, field, valid, n_valid, NULL, 0);
}

typedef struct {
    const char *key;
    size_t index;
    const yaml_node_t *node;
} key_ref;

static int key_ref_cmp(const void *a, const void *b)
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
static ar_err check_all_keys(ld *l)
{
    for (yaml_node_t *m = l->doc->nodes.start; m < l->doc->nodes.top; m++) {
        if (m->type != YAML_MAPPING_NODE) continue;
        size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
        if (n == 0) continue;
        key_ref *refs = calloc(n, sizeof(*refs));
        if (!refs) return fail_oom(l);
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *k = nd(l, m->data.mapping.pairs.start[i].key);
            if (!is_scalar(k)) {
                free(refs);
                return FAIL(l, k, "mapping keys must be plain names, not %s",
                            k->type == YAML_MAPPING_NODE ? "mappings" : "lists");
            }
            refs[i] = (key_ref){sval(k), i, k};
        }
        qsort(refs, n, sizeof(*refs), key_ref_cmp);
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
            ar_err rc = FAIL(l, dup->node, "duplicate key '%s' (first at line %d)", dup->key,
                             (int)first->node->start_mark.line + 1);
            free(refs);
            return rc;
        }
        free(refs);
    }
    return AR_OK;
}

/* Scalars */

static ar_err get_string(ld *l, const yaml_node_t *n, const char *field, bool allow_empty,
                         char **out)
{
    if (!is_scalar(n)) return FAIL(l, n, "'%s' must be a string (got %s)", field, got(n, 0, 0));
    if (!allow_empty && n->data.scalar.length == 0)
        return FAIL(l, n, "'%s' must not be empty", field);
    if (strlen(sval(n)) != n->data.scalar.length)
        return FAIL(l, n, "'%s' must not contain NUL characters", field);
    *out = ar_strdup(sval(n));
    return *out ? AR_OK : fail_oom(l);
}

static bool parse_bool_text(const char *v, bool *out)
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

static ar_err get_bool(ld *l, const yaml_node_t *n, const char *field, bool *out)
{
    char buf[80];
    if (!is_plain(n) || !parse_bool_text(sval(n), out))
        return FAIL(l, n, "'%s' must be true or false (got %s)", field, got(n, buf, sizeof(buf)));
    return AR_OK;
}

/* Timeouts and latency limits: a positive duration, or a number of seconds. */
static ar_err get_duration(ld *l, const yaml_node_t *n, const char *field, int64_t *out_us)
{
    char buf[80];
    if (!is_scalar(n) || ar_parse_duration(sval(n), out_us) != AR_OK)
        return FAIL(l, n, "'%s' must be a duration like 45s, 500ms or 2m (got %s)", field,
                    got(n, buf, sizeof(buf)));
    if (*out_us <= 0)
        return FAIL(l, n, "'%s' must be greater than 0 (got %s)", field, got(n, buf, sizeof(buf)));
    return AR_OK;
}

/* A whole number >= 0 that fits an int. */
static ar_err get_count(ld *l, const yaml_node_t *n, const char *what, int *out)
{
    char buf[80];
    const char *v = is_scalar(n) ? sval(n) : "";
    bool ok = is_scalar(n) && *v;
    long long acc = 0;
    for (const char *p = v; ok && *p; p++) {
        if (*p < '0' || *p > '9' || acc > INT_MAX / 10)
            ok = false;
        else
            acc = acc * 10 + (*p - '0');
    }
    if (!ok || acc > INT_MAX)
        return FAIL(l, n, "%s must be a whole number, 0 or more (got %s)", what,
                    got(n, buf, sizeof(buf)));
    *out = (int)acc;
    return AR_OK;
}

/* YAML 1.2 core-schema decimal numbers; hex, octal, .inf and .nan stay strings. */
static bool parse_number_text(const char *v, double *out)
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

static bool tpl_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool tpl_name_char(char c)
{
    return tpl_name_start(c) || (c >= '0' && c <= '9');
}

/*
 * Checks ${...} syntax with the scanning rules of template.c. Only syntax:
 * whether a name is defined is known at run time (a capture or the
 * environment of the run).
 */
static ar_err check_tpl(ld *l, const yaml_node_t *n, const char *field, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            i++;
        } else if (s[i] == '$' && s[i + 1] == '$') {
            i++;
        } else if (s[i] == '$' && s[i + 1] == '{') {
            const char *close = strchr(s + i + 2, '}');
            if (!close) return FAIL(l, n, "'%s': unterminated '${' at offset %zu", field, i);
            size_t len = (size_t)(close - (s + i + 2));
            bool ok = len > 0 && tpl_name_start(s[i + 2]);
            for (size_t j = 1; ok && j < len; j++)
                ok = tpl_name_char(s[i + 2 + j]);
            if (!ok)
                return FAIL(l, n, "'%s': invalid variable name '%.*s' at offset %zu", field,
                            (int)len, s + i + 2, i);
            i = (size_t)(close - s);
        }
    }
    return AR_OK;
}

static ar_err check_pointer(ld *l, const yaml_node_t *n, const char *p)
{
    if (!*p) return AR_OK;
    if (*p != '/') return FAIL(l, n, "invalid JSON pointer '%s': must start with '/'", p);
    for (const char *c = p; *c; c++)
        if (*c == '~' && c[1] != '0' && c[1] != '1')
            return FAIL(l, n, "invalid JSON pointer '%s': '~' must be followed by 0 or 1", p);
    return AR_OK;
}

/*
 * Compiles pat with PCRE2_UTF. A pattern holding ${...} cannot be compiled
 * before its values exist, so a probe with each reference replaced by "x" is
 * compiled instead (to catch syntax errors now); the error offset is mapped
 * back onto the pattern as written, and *out stays NULL.
 */
static ar_err compile_regex(ld *l, const yaml_node_t *n, const char *pat, void **out,
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
            return fail_oom(l);
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
        rc = FAIL(l, n, "invalid regex '%s': %s at offset %zu", pat, (const char *)msg, off);
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

static cJSON *scalar_json(const yaml_node_t *n)
{
    if (!is_plain(n)) return cJSON_CreateString(sval(n));
    double d;
    bool b;
    if (is_null(n)) return cJSON_CreateNull();
    if (parse_bool_text(sval(n), &b)) return cJSON_CreateBool(b);
    if (parse_number_text(sval(n), &d)) return cJSON_CreateNumber(d);
    return cJSON_CreateString(sval(n));
}

/*
 * Converts a node to JSON. String values anywhere in send.context are
 * templates, so with `tpl` their ${...} syntax is checked on the way.
 */
static ar_err node_json(ld *l, const yaml_node_t *n, const char *field, bool tpl, int depth,
                        cJSON **out)
{
    *out = NULL;
    if (depth > CTX_MAX_DEPTH)
        return FAIL(l, n, "'%s' is nested more than %d levels deep", field, CTX_MAX_DEPTH);
    if (++l->ctx_values > CTX_MAX_VALUES)
        return FAIL(l, n, "'%s' is too large (more than %u values, aliases included)", field,
                    CTX_MAX_VALUES);
    if (n->type == YAML_SCALAR_NODE) {
        if (tpl && !is_null(n)) TRY(check_tpl(l, n, field, sval(n)));
        *out = scalar_json(n);
        return *out ? AR_OK : fail_oom(l);
    }
    cJSON *c = n->type == YAML_MAPPING_NODE ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!c) return fail_oom(l);
    if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            cJSON *v;
            ar_err rc = node_json(l, nd(l, p->value), field, tpl, depth + 1, &v);
            if (rc) {
                cJSON_Delete(c);
                return rc;
            }
            cJSON_AddItemToObject(c, sval(nd(l, p->key)), v);
        }
    } else {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            cJSON *v;
            ar_err rc = node_json(l, nd(l, *it), field, tpl, depth + 1, &v);
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

static ar_err get_str_list(ld *l, const yaml_node_t *n, const char *field, char ***out,
                           size_t *n_out)
{
    if (n->type != YAML_SEQUENCE_NODE) return FAIL(l, n, "'%s' must be a list of strings", field);
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt) {
        *out = calloc(cnt, sizeof(char *));
        if (!*out) return fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = nd(l, n->data.sequence.items.start[i]);
        if (!is_scalar(it) || it->data.scalar.length == 0)
            return FAIL(l, it, "'%s' must be a list of strings", field);
        TRY(get_string(l, it, field, false, &(*out)[i]));
        (*n_out)++;
    }
    return AR_OK;
}

static ar_err get_kind(ld *l, const yaml_node_t *n, ar_ev_kind *out)
{
    char buf[80], list[256];
    if (!is_scalar(n) || !ar_ev_kind_parse(sval(n), out)) {
        kind_list(list, sizeof(list));
        if (is_scalar(n) && n->data.scalar.length)
            return FAIL(l, n, "unknown event kind '%s' (valid: %s)", sval(n), list);
        return FAIL(l, n, "expected an event kind (got %s; valid: %s)", got(n, buf, sizeof(buf)),
                    list);
    }
    return AR_OK;
}

static ar_err get_kind_list(ld *l, const yaml_node_t *n, const char *field, ar_ev_kind **out,
                            size_t *n_out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return FAIL(l, n, "'%s' must be a list of event kinds", field);
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt) {
        *out = calloc(cnt, sizeof(ar_ev_kind));
        if (!*out) return fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        TRY(get_kind(l, nd(l, n->data.sequence.items.start[i]), &(*out)[i]));
        (*n_out)++;
    }
    return AR_OK;
}

static ar_err get_mode(ld *l, const yaml_node_t *n, const char *what, const char *const *names,
                       size_t n_names, int *out)
{
    char buf[80], list[256];
    join_names(names, n_names, list, sizeof(list));
    int i = is_scalar(n) ? name_index(names, n_names, sval(n)) : -1;
    if (i < 0)
        return FAIL(l, n, "unknown %s mode %s (valid: %s)", what, got(n, buf, sizeof(buf)), list);
    *out = i;
    return AR_OK;
}

/* expect.* */

static ar_srcloc loc_of(ld *l, const yaml_node_t *n)
{
    return (ar_srcloc){l->scn->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

static ar_err parse_count(ld *l, const yaml_node_t *n, ar_expect_events *e)
{
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n, "'count' must be a mapping of event kind to a number or {min, max}");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt) {
        e->counts = calloc(cnt, sizeof(*e->counts));
        if (!e->counts) return fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *k = nd(l, n->data.mapping.pairs.start[i].key);
        yaml_node_t *v = nd(l, n->data.mapping.pairs.start[i].value);
        ar_count_rule *r = &e->counts[i];
        char what[128];
        TRY(get_kind(l, k, &r->kind));
        snprintf(what, sizeof(what), "the count of '%s'", sval(k));
        r->min = r->max = -1;
        if (v->type == YAML_MAPPING_NODE) {
            TRY(check_map(l, v, "count", count_keys, AR_ARRAY_LEN(count_keys)));
            yaml_node_t *mn = map_get(l, v, "min"), *mx = map_get(l, v, "max");
            if (!mn && !mx) return FAIL(l, v, "'count' for '%s' needs 'min' or 'max'", sval(k));
            if (mn) {
                snprintf(what, sizeof(what), "'min' for '%s'", sval(k));
                TRY(get_count(l, mn, what, &r->min));
            }
            if (mx) {
                snprintf(what, sizeof(what), "'max' for '%s'", sval(k));
                TRY(get_count(l, mx, what, &r->max));
            }
            if (mn && mx && r->min > r->max)
                return FAIL(l, v, "'count' for '%s' has min %d greater than max %d", sval(k),
                            r->min, r->max);
        } else {
            TRY(get_count(l, v, what, &r->min));
            r->max = r->min;
        }
        e->n_counts++;
    }
    return AR_OK;
}

static ar_err parse_events(ld *l, const yaml_node_t *n, ar_expect_events *e)
{
    TRY(check_map(l, n, "events", events_keys, AR_ARRAY_LEN(events_keys)));
    e->present = true;
    e->mode = AR_ORDER_SUBSEQUENCE;
    e->loc = loc_of(l, n);
    yaml_node_t *v;
    if ((v = map_get(l, n, "order"))) TRY(get_kind_list(l, v, "order", &e->order, &e->n_order));
    if ((v = map_get(l, n, "mode"))) {
        int m;
        TRY(get_mode(l, v, "events", order_mode_names, AR_ARRAY_LEN(order_mode_names), &m));
        e->mode = (ar_order_mode)m;
    }
    if ((v = map_get(l, n, "tools_paired"))) TRY(get_bool(l, v, "tools_paired", &e->tools_paired));
    if ((v = map_get(l, n, "nothing_after_terminal")))
        TRY(get_bool(l, v, "nothing_after_terminal", &e->nothing_after_terminal));
    if ((v = map_get(l, n, "forbidden")))
        TRY(get_kind_list(l, v, "forbidden", &e->forbidden, &e->n_forbidden));
    if ((v = map_get(l, n, "count"))) TRY(parse_count(l, v, e));
    return AR_OK;
}

static ar_err parse_route(ld *l, const yaml_node_t *n, ar_expect_route *r)
{
    r->present = true;
    r->mode = AR_ROUTE_SUBSEQUENCE;
    r->loc = loc_of(l, n);
    if (n->type == YAML_SEQUENCE_NODE) return get_str_list(l, n, "route", &r->agents, &r->n_agents);
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n, "'route' must be a list of agents or a mapping with 'agents' and 'mode'");
    TRY(check_map(l, n, "route", route_keys, AR_ARRAY_LEN(route_keys)));
    yaml_node_t *v = map_get(l, n, "agents");
    if (!v) return FAIL(l, n, "'route' has no 'agents'");
    TRY(get_str_list(l, v, "agents", &r->agents, &r->n_agents));
    if ((v = map_get(l, n, "mode"))) {
        int m;
        TRY(get_mode(l, v, "route", route_mode_names, AR_ARRAY_LEN(route_mode_names), &m));
        r->mode = (ar_route_mode)m;
    }
    return AR_OK;
}

static ar_err parse_tools(ld *l, const yaml_node_t *n, ar_expect_tools *t)
{
    TRY(check_map(l, n, "tools", tools_keys, AR_ARRAY_LEN(tools_keys)));
    t->present = true;
    t->loc = loc_of(l, n);
    yaml_node_t *v;
    if ((v = map_get(l, n, "called"))) TRY(get_str_list(l, v, "called", &t->called, &t->n_called));
    if ((v = map_get(l, n, "not_called")))
        TRY(get_str_list(l, v, "not_called", &t->not_called, &t->n_not_called));
    if ((v = map_get(l, n, "all_ok"))) TRY(get_bool(l, v, "all_ok", &t->all_ok));
    if ((v = map_get(l, n, "status"))) {
        if (v->type != YAML_MAPPING_NODE)
            return FAIL(l, v, "'status' must be a mapping of tool name to ok or error");
        size_t cnt = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        if (cnt) {
            t->status = calloc(cnt, sizeof(*t->status));
            if (!t->status) return fail_oom(l);
        }
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *k = nd(l, v->data.mapping.pairs.start[i].key);
            yaml_node_t *s = nd(l, v->data.mapping.pairs.start[i].value);
            ar_tool_status_rule *r = &t->status[i];
            TRY(get_string(l, k, "status", false, &r->tool));
            t->n_status++;
            char buf[80];
            if (is_scalar(s) && !strcmp(sval(s), "ok"))
                r->status = AR_ST_OK;
            else if (is_scalar(s) && !strcmp(sval(s), "error"))
                r->status = AR_ST_ERROR;
            else
                return FAIL(l, s, "status of tool '%s' must be ok or error (got %s)", r->tool,
                            got(s, buf, sizeof(buf)));
        }
    }
    return AR_OK;
}

static ar_err add_regex(ld *l, const yaml_node_t *v, bool negate, ar_expect *x)
{
    const char *field = negate ? "not_matches" : "matches";
    ar_expect_regex *grown = realloc(x->regexes, (x->n_regexes + 1) * sizeof(*grown));
    if (!grown) return fail_oom(l);
    x->regexes = grown;
    ar_expect_regex *r = &x->regexes[x->n_regexes++];
    memset(r, 0, sizeof(*r));
    r->negate = negate;
    r->loc = loc_of(l, v);
    TRY(get_string(l, v, field, false, &r->pattern_tpl));
    TRY(check_tpl(l, v, field, r->pattern_tpl));
    return compile_regex(l, v, r->pattern_tpl, &r->compiled, NULL);
}

static ar_err add_json_op(ld *l, const yaml_node_t *jn, const char *pointer, ar_json_op op,
                          const yaml_node_t *v, ar_expect *x)
{
    ar_expect_json *grown = realloc(x->jsons, (x->n_jsons + 1) * sizeof(*grown));
    if (!grown) return fail_oom(l);
    x->jsons = grown;
    ar_expect_json *j = &x->jsons[x->n_jsons++];
    memset(j, 0, sizeof(*j));
    j->op = op;
    j->loc = loc_of(l, jn);
    j->pointer = ar_strdup(pointer);
    if (!j->pointer) return fail_oom(l);
    const char *name = ar_json_op_name(op);
    char buf[80];
    double d;
    bool b;
    switch (op) {
    case AR_JOP_EQ:
    case AR_JOP_NE:
        l->ctx_values = 0;
        return node_json(l, v, name, false, 0, &j->value);
    case AR_JOP_GT:
    case AR_JOP_GTE:
    case AR_JOP_LT:
    case AR_JOP_LTE:
        if (!is_scalar(v) || !parse_number_text(sval(v), &d))
            return FAIL(l, v, "'%s' must be a number (got %s)", name, got(v, buf, sizeof(buf)));
        j->value = cJSON_CreateNumber(d);
        return j->value ? AR_OK : fail_oom(l);
    case AR_JOP_EXISTS:
        TRY(get_bool(l, v, name, &b));
        j->value = cJSON_CreateBool(b);
        return j->value ? AR_OK : fail_oom(l);
    case AR_JOP_MATCHES:
        TRY(get_string(l, v, name, false, &j->pattern));
        TRY(check_tpl(l, v, name, j->pattern));
        return compile_regex(l, v, j->pattern, &j->compiled, NULL);
    }
    return AR_OK;
}

static ar_err parse_json(ld *l, const yaml_node_t *n, ar_expect *x)
{
    TRY(check_map(l, n, "json", json_keys, AR_ARRAY_LEN(json_keys)));
    yaml_node_t *pn = map_get(l, n, "path");
    if (!pn) return FAIL(l, n, "'json' has no 'path'");
    char *pointer = NULL;
    TRY(get_string(l, pn, "path", true, &pointer));
    ar_err rc = check_pointer(l, pn, pointer);
    size_t ops = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; !rc && p < n->data.mapping.pairs.top;
         p++) {
        const char *key = sval(nd(l, p->key));
        if (!strcmp(key, "path")) continue;
        int op = name_index(json_op_names, AR_ARRAY_LEN(json_op_names), key);
        rc = add_json_op(l, n, pointer, (ar_json_op)op, nd(l, p->value), x);
        ops++;
    }
    if (!rc && ops == 0) {
        char list[128];
        join_names(json_op_names, AR_ARRAY_LEN(json_op_names), list, sizeof(list));
        rc = FAIL(l, n, "'json' needs an operator (one of: %s)", list);
    }
    free(pointer);
    return rc;
}

static ar_err parse_response_item(ld *l, const yaml_node_t *n, ar_expect *x)
{
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n,
                    "each 'response' item must be a mapping with matches, not_matches or "
                    "json");
    TRY(check_map(l, n, "response", resp_keys, AR_ARRAY_LEN(resp_keys)));
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return FAIL(l, n, "'response' item needs one of: matches, not_matches, json");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = sval(nd(l, p->key));
        yaml_node_t *v = nd(l, p->value);
        if (!strcmp(key, "json"))
            TRY(parse_json(l, v, x));
        else
            TRY(add_regex(l, v, !strcmp(key, "not_matches"), x));
    }
    return AR_OK;
}

static ar_err parse_response(ld *l, const yaml_node_t *n, ar_expect *x)
{
    if (n->type == YAML_MAPPING_NODE) return parse_response_item(l, n, x);
    if (n->type != YAML_SEQUENCE_NODE)
        return FAIL(l, n, "'response' must be a list of checks (matches, not_matches, json)");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
        TRY(parse_response_item(l, nd(l, *it), x));
    return AR_OK;
}

static ar_err parse_latency(ld *l, const yaml_node_t *n, ar_expect_latency *t)
{
    TRY(check_map(l, n, "latency", latency_keys, AR_ARRAY_LEN(latency_keys)));
    t->present = true;
    t->loc = loc_of(l, n);
    yaml_node_t *v;
    if ((v = map_get(l, n, "first_event")))
        TRY(get_duration(l, v, "first_event", &t->first_event_us));
    if ((v = map_get(l, n, "first_tool"))) TRY(get_duration(l, v, "first_tool", &t->first_tool_us));
    if ((v = map_get(l, n, "turn"))) TRY(get_duration(l, v, "turn", &t->turn_us));
    return AR_OK;
}

static bool captured_before(const ar_scenario *s, size_t turn_idx, const char *name)
{
    for (size_t i = 0; i < turn_idx; i++)
        for (size_t c = 0; c < s->turns[i].n_captures; c++)
            if (!strcmp(s->turns[i].captures[c].name, name)) return true;
    return false;
}

static ar_err parse_context(ld *l, const yaml_node_t *n, size_t turn_idx, ar_expect_context *c)
{
    TRY(check_map(l, n, "context", ctx_keys, AR_ARRAY_LEN(ctx_keys)));
    c->present = true;
    c->loc = loc_of(l, n);
    yaml_node_t *v;
    if ((v = map_get(l, n, "same"))) {
        TRY(get_str_list(l, v, "same", &c->same, &c->n_same));
        for (size_t i = 0; i < c->n_same; i++) {
            yaml_node_t *it = nd(l, v->data.sequence.items.start[i]);
            if (c->same[i][0] == '/') {
                TRY(check_pointer(l, it, c->same[i]));
            } else if (name_index(context_fields, AR_ARRAY_LEN(context_fields), c->same[i]) < 0) {
                char list[128];
                join_names(context_fields, AR_ARRAY_LEN(context_fields), list, sizeof(list));
                return FAIL(l, it,
                            "unknown context field '%s' (valid: %s, or a JSON pointer like "
                            "/payload/thread_id)",
                            c->same[i], list);
            }
        }
    }
    if ((v = map_get(l, n, "reappear"))) {
        TRY(get_str_list(l, v, "reappear", &c->reappear, &c->n_reappear));
        for (size_t i = 0; i < c->n_reappear; i++)
            if (!captured_before(l->scn, turn_idx, c->reappear[i]))
                return FAIL(l, nd(l, v->data.sequence.items.start[i]),
                            "'%s' in 'reappear' is not captured by an earlier turn",
                            c->reappear[i]);
    }
    return AR_OK;
}

static ar_err parse_expect(ld *l, const yaml_node_t *n, size_t turn_idx, ar_expect *x)
{
    TRY(check_map(l, n, "expect", expect_keys, AR_ARRAY_LEN(expect_keys)));
    x->latency.first_event_us = x->latency.first_tool_us = x->latency.turn_us = -1;
    yaml_node_t *v;
    if ((v = map_get(l, n, "events"))) TRY(parse_events(l, v, &x->events));
    if ((v = map_get(l, n, "route"))) TRY(parse_route(l, v, &x->route));
    if ((v = map_get(l, n, "tools"))) TRY(parse_tools(l, v, &x->tools));
    if ((v = map_get(l, n, "response"))) TRY(parse_response(l, v, x));
    if ((v = map_get(l, n, "latency"))) TRY(parse_latency(l, v, &x->latency));
    if ((v = map_get(l, n, "context"))) TRY(parse_context(l, v, turn_idx, &x->context));
    return AR_OK;
}

/* capture */

static ar_err parse_capture(ld *l, const yaml_node_t *k, const yaml_node_t *n, ar_capture *c)
{
    const char *name = sval(k);
    bool ok = tpl_name_start(name[0]);
    for (const char *p = name; ok && *p; p++)
        ok = tpl_name_char(*p);
    if (!ok)
        return FAIL(l, k,
                    "capture name '%s' must be letters, digits and '_', not starting with a "
                    "digit",
                    name);
    c->name = ar_strdup(name);
    if (!c->name) return fail_oom(l);
    c->loc = loc_of(l, k);
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n, "capture '%s' must be a mapping with 'from'", name);
    TRY(check_map(l, n, "capture", capture_keys, AR_ARRAY_LEN(capture_keys)));
    yaml_node_t *from = map_get(l, n, "from"), *rx = map_get(l, n, "regex");
    yaml_node_t *ptr = map_get(l, n, "pointer"), *grp = map_get(l, n, "group");
    if (!from) return FAIL(l, n, "capture '%s' has no 'from'", name);
    char buf[80], list[128];
    int f =
        is_scalar(from) ? name_index(cap_from_names, AR_ARRAY_LEN(cap_from_names), sval(from)) : -1;
    if (f < 0) {
        join_names(cap_from_names, AR_ARRAY_LEN(cap_from_names), list, sizeof(list));
        return FAIL(l, from, "unknown capture source %s (valid: %s)", got(from, buf, sizeof(buf)),
                    list);
    }
    c->from = (ar_cap_from)f;
    if (c->from == AR_CAP_RESPONSE && !rx)
        return FAIL(l, n, "capture '%s' from response needs a 'regex'", name);
    if (c->from == AR_CAP_FINAL && !ptr)
        return FAIL(l, n, "capture '%s' from final needs a 'pointer'", name);
    if (c->from == AR_CAP_THREAD_ID && rx)
        return FAIL(l, rx, "capture '%s': 'regex' cannot be used with from: thread_id", name);
    if (c->from != AR_CAP_FINAL && ptr)
        return FAIL(l, ptr, "capture '%s': 'pointer' is only used with from: final", name);
    if (c->from == AR_CAP_THREAD_ID && grp)
        return FAIL(l, grp, "capture '%s': 'group' is only used with a 'regex'", name);
    if (ptr) {
        TRY(get_string(l, ptr, "pointer", true, &c->pointer));
        TRY(check_pointer(l, ptr, c->pointer));
    }
    uint32_t groups = 0;
    if (rx) {
        TRY(get_string(l, rx, "regex", false, &c->regex));
        TRY(check_tpl(l, rx, "regex", c->regex));
        /* The session applies only the compiled form: a capture regex is not a
         * template, and a ${...} in it is refused rather than silently unused. */
        if (ar_tpl_has_vars(c->regex))
            return FAIL(l, rx, "capture '%s': 'regex' cannot use ${...} variables", name);
        TRY(compile_regex(l, rx, c->regex, &c->compiled, &groups));
    }
    c->group = groups > 0 ? 1 : 0;
    if (grp) {
        if (!rx) return FAIL(l, grp, "capture '%s': 'group' is only used with a 'regex'", name);
        TRY(get_count(l, grp, "'group'", &c->group));
        if ((uint32_t)c->group > groups)
            return FAIL(l, grp, "capture '%s': 'group' is %d but the regex has %u group(s)", name,
                        c->group, (unsigned)groups);
    }
    return AR_OK;
}

static ar_err parse_captures(ld *l, const yaml_node_t *n, ar_turn *t)
{
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n, "'capture' must be a mapping of name to {from, regex, pointer}");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt) {
        t->captures = calloc(cnt, sizeof(*t->captures));
        if (!t->captures) return fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        t->n_captures++;
        TRY(parse_capture(l, nd(l, n->data.mapping.pairs.start[i].key),
                          nd(l, n->data.mapping.pairs.start[i].value), &t->captures[i]));
    }
    return AR_OK;
}

/* turn and scenario */

static ar_err parse_send(ld *l, const yaml_node_t *n, ar_turn *t)
{
    if (is_scalar(n)) {
        TRY(get_string(l, n, "send", false, &t->message_tpl));
        return check_tpl(l, n, "send", t->message_tpl);
    }
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n, "'send' must be a message or a mapping with 'message'");
    TRY(check_map(l, n, "send", send_keys, AR_ARRAY_LEN(send_keys)));
    yaml_node_t *v = map_get(l, n, "message");
    if (!v) return FAIL(l, n, "'send' has no 'message'");
    TRY(get_string(l, v, "message", false, &t->message_tpl));
    TRY(check_tpl(l, v, "message", t->message_tpl));
    if ((v = map_get(l, n, "context"))) {
        if (v->type != YAML_MAPPING_NODE) return FAIL(l, v, "'context' must be a mapping");
        l->ctx_values = 0;
        TRY(node_json(l, v, "context", true, 0, &t->context));
    }
    if ((v = map_get(l, n, "new_thread"))) TRY(get_bool(l, v, "new_thread", &t->new_thread));
    return AR_OK;
}

static ar_err parse_turn(ld *l, const yaml_node_t *n, size_t idx, ar_turn *t)
{
    t->timeout_us = -1;
    t->expect.latency.first_event_us = t->expect.latency.first_tool_us = -1;
    t->expect.latency.turn_us = -1;
    t->loc = loc_of(l, n);
    if (n->type != YAML_MAPPING_NODE)
        return FAIL(l, n, "turn %zu must be a mapping with 'send' and 'expect'", idx + 1);
    TRY(check_map(l, n, "turn", turn_keys, AR_ARRAY_LEN(turn_keys)));
    yaml_node_t *v = map_get(l, n, "send");
    if (!v) return FAIL(l, n, "turn %zu has no 'send'", idx + 1);
    TRY(parse_send(l, v, t));
    if ((v = map_get(l, n, "timeout"))) TRY(get_duration(l, v, "timeout", &t->timeout_us));
    if ((v = map_get(l, n, "expect"))) TRY(parse_expect(l, v, idx, &t->expect));
    if ((v = map_get(l, n, "capture"))) TRY(parse_captures(l, v, t));
    return AR_OK;
}

static ar_err parse_scenario(ld *l, const yaml_node_t *root, ar_scenario *s)
{
    s->loc = loc_of(l, root);
    if (root->type != YAML_MAPPING_NODE)
        return FAIL(l, root, "a scenario must be a mapping with 'name' and 'turns' (got %s)",
                    root->type == YAML_SEQUENCE_NODE ? "a list" : "a string");
    TRY(check_map_later(l, root, "scenario", scn_keys, AR_ARRAY_LEN(scn_keys), scn_later,
                        AR_ARRAY_LEN(scn_later)));
    yaml_node_t *v = map_get(l, root, "name");
    if (!v) return FAIL(l, root, "scenario has no 'name'");
    TRY(get_string(l, v, "name", false, &s->name));
    if ((v = map_get(l, root, "tags"))) TRY(get_str_list(l, v, "tags", &s->tags, &s->n_tags));
    if ((v = map_get(l, root, "target"))) {
        TRY(get_string(l, v, "target", false, &s->target_tpl));
        TRY(check_tpl(l, v, "target", s->target_tpl));
    }
    v = map_get(l, root, "protocol");
    if (v) {
        char buf[80];
        if (!is_scalar(v) || strcmp(sval(v), "native") != 0) {
            if (is_scalar(v) && (!strcmp(sval(v), "netra") || !strcmp(sval(v), "ag-ui")))
                return FAIL(l, v,
                            "protocol '%s' is not supported in this version of agentrig (valid: "
                            "native)",
                            sval(v));
            return FAIL(l, v, "unknown protocol %s (valid: native)", got(v, buf, sizeof(buf)));
        }
    }
    s->protocol = ar_strdup("native");
    if (!s->protocol) return fail_oom(l);
    if ((v = map_get(l, root, "thread_id"))) {
        TRY(get_string(l, v, "thread_id", false, &s->thread_id_tpl));
        TRY(check_tpl(l, v, "thread_id", s->thread_id_tpl));
    }
    s->timeout_us = 60 * INT64_C(1000000);
    if ((v = map_get(l, root, "timeout"))) TRY(get_duration(l, v, "timeout", &s->timeout_us));
    v = map_get(l, root, "turns");
    if (!v) return FAIL(l, root, "scenario has no 'turns'");
    if (v->type != YAML_SEQUENCE_NODE) return FAIL(l, v, "'turns' must be a list");
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (cnt == 0) return FAIL(l, v, "'turns' is empty");
    s->turns = calloc(cnt, sizeof(*s->turns));
    if (!s->turns) return fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        s->n_turns++;
        TRY(parse_turn(l, nd(l, v->data.sequence.items.start[i]), i, &s->turns[i]));
    }
    return AR_OK;
}

/* Reader errors carry a byte offset instead of a mark. */
static void offset_to_linecol(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static ar_err yaml_fail(ld *l, yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_MEMORY_ERROR) return fail_oom(l);
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        offset_to_linecol(text, len, p->problem_offset, &line, &col);
        return fail_at(l, AR_EPARSE, line, col, "%s", problem);
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return fail_at(l, AR_EPARSE, line, col, "%s (%s started at line %d, column %d)", problem,
                       p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return fail_at(l, AR_EPARSE, line, col, "%s", problem);
}

ar_err ar_scn_load_string(const char *yaml, size_t len, const char *name, ar_scenario **out,
                          char *err, size_t err_len)
{
    if (!out) return AR_EINVAL;
    *out = NULL;
    if (err && err_len) err[0] = '\0';
    if (!name) name = "<string>";
    if (!yaml) len = 0;
    ld l = {.file = name, .err = err, .err_len = err_len};

    ar_scenario *s = calloc(1, sizeof(*s));
    if (!s || !(s->file = ar_strdup(name))) {
        free(s);
        return fail_oom(&l);
    }
    l.scn = s;

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        ar_scn_free(s);
        return fail_oom(&l);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), len);
    if (!yaml_parser_load(&parser, &doc)) {
        ar_err rc = yaml_fail(&l, &parser, yaml, len);
        yaml_parser_delete(&parser);
        ar_scn_free(s);
        return rc;
    }
    l.doc = &doc;
    ar_err rc = AR_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || is_empty_plain(root))
        rc = fail_at(&l, AR_EINVAL, 1, 1,
                     "empty scenario: a scenario is a mapping with at least 'name' and 'turns'");
    if (!rc) rc = check_all_keys(&l);
    if (!rc) rc = parse_scenario(&l, root, s);
    if (!rc) {
        /* One scenario per file: a second document would be silently ignored. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = yaml_fail(&l, &parser, yaml, len);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&next);
            if (r2)
                rc = fail_at(&l, AR_EINVAL, (int)r2->start_mark.line + 1,
                             (int)r2->start_mark.column + 1,
                             "a file holds one scenario, but a second YAML document starts here");
            yaml_document_delete(&next);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        ar_scn_free(s);
        return rc;
    }
    *out = s;
    return AR_OK;
}

static ar_err read_file(const char *path, char **out, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return AR_EIO;
    }
    ar_buf b;
    ar_buf_init(&b, SCN_FILE_MAX_BYTES);
    char chunk[16384];
    ar_err rc = AR_OK;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n) rc = ar_buf_append(&b, chunk, n);
        if (rc || n < sizeof(chunk)) break;
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno) {
        snprintf(err, err_len, "%s: %s", path, strerror(read_errno));
        rc = AR_EIO;
    } else if (rc == AR_ETOOBIG) {
        snprintf(err, err_len, "%s: larger than %u bytes; not a scenario file", path,
                 SCN_FILE_MAX_BYTES);
        rc = AR_EINVAL;
    } else if (rc) {
        snprintf(err, err_len, "%s: out of memory", path);
    }
    if (rc) {
        ar_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = ar_buf_take(&b);
    if (!*out) {
        snprintf(err, err_len, "%s: out of memory", path);
        return AR_ENOMEM;
    }
    return AR_OK;
}

ar_err ar_scn_load_file(const char *path, ar_scenario **out, char *err, size_t err_len)
{
    if (!path || !out) return AR_EINVAL;
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    char dummy[1];
    if (!err || !err_len) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    ar_err rc = read_file(path, &text, &len, err, err_len);
    if (rc) return rc;
    rc = ar_scn_load_string(text, len, path, out, err, err_len);
    free(text);
    return rc;
}

/* Directory loading */

typedef struct {
    char **paths;
    size_t n;
    size_t cap;
} path_list;

static void path_list_free(path_list *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->paths[i]);
    free(pl->paths);
    pl->paths = NULL;
    pl->n = pl->cap = 0;
}

static bool has_scenario_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static ar_err collect(const char *dir, int depth, path_list *pl, char *err, size_t err_len)
{
    if (depth > DIR_MAX_DEPTH) {
        snprintf(err, err_len, "%s: directories nested more than %d deep (a symlink loop?)", dir,
                 DIR_MAX_DEPTH);
        return AR_EINVAL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, err_len, "%s: %s", dir, strerror(errno));
        return AR_EIO;
    }
    ar_err rc = AR_OK;
    struct dirent *de;
    size_t dlen = strlen(dir);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    while (!rc && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char *full = ar_asprintf("%s%s%s", dir, slash ? "" : "/", de->d_name);
        if (!full) {
            rc = AR_ENOMEM;
            snprintf(err, err_len, "%s: out of memory", dir);
            break;
        }
        struct stat st;
        if (stat(full, &st) != 0) {
            /* A dangling symlink is not a scenario; skip it like any other non-file. */
            free(full);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = collect(full, depth + 1, pl, err, err_len);
            free(full);
        } else if (S_ISREG(st.st_mode) && has_scenario_ext(de->d_name)) {
            if (pl->n == pl->cap) {
                size_t cap = pl->cap ? pl->cap * 2 : 16;
                char **grown = realloc(pl->paths, cap * sizeof(*grown));
                if (!grown) {
                    free(full);
                    snprintf(err, err_len, "%s: out of memory", dir);
                    rc = AR_ENOMEM;
                    break;
                }
                pl->paths = grown;
                pl->cap = cap;
            }
            pl->paths[pl->n++] = full;
        } else {
            free(full);
        }
    }
    closedir(d);
    return rc;
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ar_err list_push(ar_scn_list *out, ar_scenario *s)
{
    ar_scenario **grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
    if (!grown) return AR_ENOMEM;
    out->items = grown;
    out->items[out->n++] = s;
    return AR_OK;
}

static ar_err load_one_into(const char *path, ar_scn_list *out, char *err, size_t err_len)
{
    ar_scenario *s = NULL;
    ar_err rc = ar_scn_load_file(path, &s, err, err_len);
    if (rc) return rc;
    if (list_push(out, s) != AR_OK) {
        ar_scn_free(s);
        snprintf(err, err_len, "%s: out of memory", path);
        return AR_ENOMEM;
    }
    return AR_OK;
}

ar_err ar_scn_load_paths(const char *const *paths, size_t n_paths, ar_scn_list *out, char *err,
                         size_t err_len)
{
    if (!out) return AR_EINVAL;
    out->items = NULL;
    out->n = 0;
    char dummy[1];
    if (!err || !err_len) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    err[0] = '\0';
    ar_err rc = AR_OK;
    for (size_t i = 0; !rc && i < n_paths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            snprintf(err, err_len, "%s: %s", paths[i], strerror(errno));
            rc = AR_EIO;
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc = load_one_into(paths[i], out, err, err_len);
            continue;
        }
        path_list pl = {0};
        rc = collect(paths[i], 0, &pl, err, err_len);
        if (!rc && pl.n == 0) {
            snprintf(err, err_len, "%s: no scenario files (*.yaml, *.yml) found", paths[i]);
            rc = AR_EINVAL;
        }
        if (!rc) qsort(pl.paths, pl.n, sizeof(*pl.paths), path_cmp);
        for (size_t j = 0; !rc && j < pl.n; j++)
            rc = load_one_into(pl.paths[j], out, err, err_len);
        path_list_free(&pl);
    }
    if (rc) ar_scn_list_free(out);
    return rc;
}

/* Freeing */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_expect(ar_expect *x)
{
    free(x->events.order);
    free(x->events.forbidden);
    free(x->events.counts);
    free_strv(x->route.agents, x->route.n_agents);
    free_strv(x->tools.called, x->tools.n_called);
    free_strv(x->tools.not_called, x->tools.n_not_called);
    for (size_t i = 0; i < x->tools.n_status; i++)
        free(x->tools.status[i].tool);
    free(x->tools.status);
    for (size_t i = 0; i < x->n_regexes; i++) {
        free(x->regexes[i].pattern_tpl);
        pcre2_code_free(x->regexes[i].compiled);
    }
    free(x->regexes);
    for (size_t i = 0; i < x->n_jsons; i++) {
        free(x->jsons[i].pointer);
        cJSON_Delete(x->jsons[i].value);
        free(x->jsons[i].pattern);
        pcre2_code_free(x->jsons[i].compiled);
    }
    free(x->jsons);
    free_strv(x->context.same, x->context.n_same);
    free_strv(x->context.reappear, x->context.n_reappear);
}

void ar_scn_free(ar_scenario *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_turns; i++) {
        ar_turn *t = &s->turns[i];
        free(t->message_tpl);
        cJSON_Delete(t->context);
        free_expect(&t->expect);
        for (size_t c = 0; c < t->n_captures; c++) {
            free(t->captures[c].name);
            free(t->captures[c].regex);
            pcre2_code_free(t->captures[c].compiled);
            free(t->captures[c].pointer);
        }
        free(t->captures);
    }
    free(s->turns);
    free_strv(s->tags, s->n_tags);
    free(s->file);
    free(s->name);
    free(s->target_tpl);
    free(s->protocol);
    free(s->thread_id_tpl);
    free(s);
}

void ar_scn_list_free(ar_scn_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++)
        ar_scn_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int64_t ar_scn_turn_timeout_us(const ar_scenario *s, const ar_turn *t)
{
    if (t && t->timeout_us > 0) return t->timeout_us;
    return s ? s->timeout_us : 60 * INT64_C(1000000);
}
