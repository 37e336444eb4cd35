/*
 * profile_cond.c - sources and conditions of protocol profiles: where a value
 * comes from (a JSON pointer, the SSE event name or id, the first key of an
 * object, optionally narrowed by a regex) and the `when` tests on it.
 *
 * The rule that matters here is "no false pass": a value the wire does not
 * carry is absent, never a default. Absent and JSON null are different
 * things (`equals: null` needs a null that is there), and a regex that does
 * not match makes the value absent rather than empty.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "profile_int.h"

static const char *const when_keys[] = {"pointer",    "field", "from",    "regex",  "equals",
                                        "not_equals", "in",    "matches", "exists", "absent"};
static const char *const op_keys[] = {"equals", "not_equals", "in", "matches", "exists", "absent"};
static const char *const from_keys[] = {"from", "regex"};

/* Values */

void ar_pf_val_free(ar_pf_val *v)
{
    free(v->text);
    memset(v, 0, sizeof *v);
}

bool ar_pf_val_is_null(const ar_pf_val *v)
{
    return v->present && !v->text && cJSON_IsNull(v->json);
}

char *ar_pf_scalar_text(const cJSON *v)
{
    if (!v) return NULL;
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* The range first: casting 1e30 (or inf) to int64 is undefined. */
        if (d > -9e15 && d < 9e15 && d == (double)(int64_t)d)
            return ar_asprintf("%lld", (long long)(int64_t)d);
        return ar_asprintf("%.17g", d);
    }
    if (cJSON_IsBool(v)) return strdup(cJSON_IsTrue(v) ? "true" : "false");
    return NULL;
}

char *ar_pf_json_text(const cJSON *v)
{
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) return cJSON_PrintUnformatted(v);
    return ar_pf_scalar_text(v);
}

static char *val_text(const ar_pf_val *v)
{
    if (!v->present) return NULL;
    return v->text ? strdup(v->text) : ar_pf_json_text(v->json);
}

bool ar_pf_type_matches(const char *pattern, const char *value)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*') return !strncmp(pattern, value, n - 1);
    return !strcmp(pattern, value);
}

/* Regexes */

static ar_err compile_regex(ar_yt *l, const yaml_node_t *n, const char *key, void **out)
{
    if (!ar_yt_is_scalar(n) || ar_yt_is_empty_plain(n))
        return AR_YT_FAIL(l, n, "'%s' must be a regular expression (PCRE2)", key);
    const char *pat = ar_yt_sval(n);
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", ec);
        return AR_YT_FAIL(l, n, "invalid regex '%s': %s at offset %zu", pat, (const char *)msg,
                          (size_t)off);
    }
    *out = re;
    return AR_OK;
}

/* The first capture group of re in s (or the whole match when re has no
 * group), owned; NULL for no match, an unset group, or a subject PCRE2
 * refuses (invalid UTF-8 from the wire). */
static char *regex_pick(void *re, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return NULL;
    char *out = NULL;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    if (rc > 0) {
        uint32_t groups = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        int g = groups > 0 ? 1 : 0;
        if (g < rc && ov[2 * g] != PCRE2_UNSET)
            out = ar_strndup(s + ov[2 * g], (size_t)(ov[2 * g + 1] - ov[2 * g]));
    }
    pcre2_match_data_free(md);
    return out;
}

static bool regex_matches(void *re, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return false;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc > 0;
}

/* Loading */

static ar_err source_from_string(ar_yt *l, const yaml_node_t *n, const char *s, ar_pf_source *out)
{
    if (s[0] == '@') {
        if (!strcmp(s, "@event")) {
            out->kind = AR_PF_SRC_EVENT;
        } else if (!strcmp(s, "@id")) {
            out->kind = AR_PF_SRC_ID;
        } else if (!strcmp(s, "@key") || !strncmp(s, "@key:", 5)) {
            const char *ptr = s[4] ? s + 5 : "";
            AR_YT_TRY(ar_yt_check_pointer(l, n, ptr));
            out->kind = AR_PF_SRC_KEY;
            if (!(out->pointer = strdup(ptr))) return ar_yt_fail_oom(l);
        } else {
            return AR_YT_FAIL(l, n,
                              "unknown source '%s' (valid: @event, @id, @key, @key:/pointer, or a "
                              "JSON pointer)",
                              s);
        }
    } else {
        AR_YT_TRY(ar_yt_check_pointer(l, n, s));
        out->kind = AR_PF_SRC_POINTER;
        if (!(out->pointer = strdup(s))) return ar_yt_fail_oom(l);
    }
    if (!(out->text = strdup(s))) return ar_yt_fail_oom(l);
    return AR_OK;
}

ar_err ar_pf_parse_source(ar_yt *l, const yaml_node_t *n, const char *what, ar_pf_source *out)
{
    if (ar_yt_is_scalar(n)) {
        char *s = NULL;
        ar_err rc = ar_yt_get_string(l, n, what, true, &s);
        if (!rc) rc = source_from_string(l, n, s, out);
        free(s);
        return rc;
    }
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "'%s' is a source: a JSON pointer, @event, @id, @key, @key:/pointer, or "
                          "{from: SOURCE, regex: '...'}",
                          what);
    AR_YT_TRY(ar_yt_check_map(l, n, what, from_keys, AR_ARRAY_LEN(from_keys)));
    yaml_node_t *f = ar_yt_map_get(l, n, "from"), *r = ar_yt_map_get(l, n, "regex");
    if (!f || !ar_yt_is_scalar(f))
        return AR_YT_FAIL(l, f ? f : n,
                          "'%s' needs 'from': a JSON pointer, @event, @id, @key or @key:/pointer",
                          what);
    AR_YT_TRY(source_from_string(l, f, ar_yt_sval(f), out));
    if (r) AR_YT_TRY(compile_regex(l, r, "regex", &out->re));
    return AR_OK;
}

static ar_err parse_subject(ar_yt *l, const yaml_node_t *n, ar_pf_when *w)
{
    yaml_node_t *p = ar_yt_map_get(l, n, "pointer"), *f = ar_yt_map_get(l, n, "field"),
                *fr = ar_yt_map_get(l, n, "from"), *re = ar_yt_map_get(l, n, "regex");
    if (!!p + !!f + !!fr != 1)
        return AR_YT_FAIL(l, n, "'when' takes exactly one subject: 'pointer', 'field' or 'from'");
    ar_pf_source *s = &w->src;
    if (p) {
        AR_YT_TRY(ar_yt_get_string(l, p, "pointer", true, &s->pointer));
        AR_YT_TRY(ar_yt_check_pointer(l, p, s->pointer));
        s->kind = AR_PF_SRC_POINTER;
        if (!(s->text = strdup(s->pointer))) return ar_yt_fail_oom(l);
    } else if (f) {
        int k = ar_yt_is_scalar(f)
                    ? ar_yt_name_index(ar_pf_field_names, AR_PF__FIELDS, ar_yt_sval(f))
                    : -1;
        if (k < 0) {
            char names[300];
            ar_yt_join_names(ar_pf_field_names, AR_PF__FIELDS, names, sizeof names);
            return AR_YT_FAIL(l, f, "unknown field '%s' (valid: %s)",
                              ar_yt_is_scalar(f) ? ar_yt_sval(f) : "?", names);
        }
        if (re) return AR_YT_FAIL(l, re, "'regex' goes with 'pointer' or 'from', not 'field'");
        s->kind = AR_PF_SRC_FIELD;
        s->field = k;
        if (!(s->text = strdup(ar_pf_field_names[k]))) return ar_yt_fail_oom(l);
    } else {
        if (!ar_yt_is_scalar(fr))
            return AR_YT_FAIL(l, fr,
                              "'from' is a JSON pointer, @event, @id, @key or @key:/pointer");
        AR_YT_TRY(source_from_string(l, fr, ar_yt_sval(fr), s));
    }
    if (re) AR_YT_TRY(compile_regex(l, re, "regex", &s->re));
    return AR_OK;
}

/* A comparison value: plain null (or ~, or nothing) is JSON null, stored as
 * NULL; anything else is its text ('null' quoted is the string). */
static ar_err op_value(ar_yt *l, const yaml_node_t *v, const char *op, char **out)
{
    *out = NULL;
    if (!ar_yt_is_scalar(v))
        return AR_YT_FAIL(l, v, "'%s' takes one value%s", op,
                          strcmp(op, "in") ? " (use 'in' for several)" : "");
    const char *s = ar_yt_sval(v);
    bool plain = v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (plain &&
        (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")))
        return AR_OK;
    if (!(*out = strdup(s))) return ar_yt_fail_oom(l);
    return AR_OK;
}

static ar_err parse_operator(ar_yt *l, const char *op, const yaml_node_t *v, ar_pf_when *w)
{
    if (!strcmp(op, "equals") || !strcmp(op, "not_equals")) {
        w->op = op[0] == 'e' ? AR_PF_OP_EQUALS : AR_PF_OP_NOT_EQUALS;
        if (!(w->values = calloc(1, sizeof *w->values))) return ar_yt_fail_oom(l);
        w->n_values = 1;
        return op_value(l, v, op, &w->values[0]);
    }
    if (!strcmp(op, "in")) {
        w->op = AR_PF_OP_EQUALS;
        if (v->type != YAML_SEQUENCE_NODE ||
            v->data.sequence.items.top == v->data.sequence.items.start)
            return AR_YT_FAIL(l, v, "'in' takes a non-empty list of values, like [a, b]");
        size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (!(w->values = calloc(cnt, sizeof *w->values))) return ar_yt_fail_oom(l);
        for (size_t i = 0; i < cnt; i++, w->n_values++)
            AR_YT_TRY(
                op_value(l, ar_yt_nd(l, v->data.sequence.items.start[i]), "in", &w->values[i]));
        return AR_OK;
    }
    if (!strcmp(op, "matches")) {
        w->op = AR_PF_OP_MATCHES;
        return compile_regex(l, v, "matches", &w->re);
    }
    bool b;
    AR_YT_TRY(ar_yt_get_bool(l, v, op, &b));
    w->op = !strcmp(op, "exists") ? AR_PF_OP_EXISTS : AR_PF_OP_ABSENT;
    w->negate = !b;
    return AR_OK;
}

ar_err ar_pf_parse_when(ar_yt *l, const yaml_node_t *n, ar_pf_when *w)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'when' must be a mapping like {pointer: /name, equals: X}");
    AR_YT_TRY(ar_yt_check_map(l, n, "when", when_keys, AR_ARRAY_LEN(when_keys)));
    AR_YT_TRY(parse_subject(l, n, w));
    const char *op = NULL;
    const yaml_node_t *opv = NULL;
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++) {
        yaml_node_t *k = ar_yt_nd(l, q->key);
        int i = ar_yt_name_index(op_keys, AR_ARRAY_LEN(op_keys), ar_yt_sval(k));
        if (i < 0) continue;
        if (op)
            return AR_YT_FAIL(l, k, "'when' takes one operator, got '%s' and '%s'", op, op_keys[i]);
        op = op_keys[i];
        opv = ar_yt_nd(l, q->value);
    }
    w->op = AR_PF_OP_EXISTS; /* no operator: the value is there */
    return op ? parse_operator(l, op, opv, w) : AR_OK;
}

void ar_pf_source_free(ar_pf_source *s)
{
    if (!s) return;
    free(s->text);
    free(s->pointer);
    pcre2_code_free(s->re);
    memset(s, 0, sizeof *s);
}

void ar_pf_when_free(ar_pf_when *w)
{
    if (!w) return;
    ar_pf_source_free(&w->src);
    for (size_t i = 0; i < w->n_values; i++)
        free(w->values[i]);
    free(w->values);
    pcre2_code_free(w->re);
    memset(w, 0, sizeof *w);
}

/* Evaluation */

void ar_pf_source_get(const ar_profile *p, const ar_pf_source *s, const cJSON *root,
                      const ar_pf_meta *meta, ar_pf_val *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *j;
    switch (s->kind) {
    case AR_PF_SRC_POINTER:
        if ((j = ar_json_pointer_get(root, s->pointer))) {
            out->present = true;
            out->json = j;
        }
        break;
    case AR_PF_SRC_EVENT:
    case AR_PF_SRC_ID: {
        const char *m = !meta ? NULL : s->kind == AR_PF_SRC_EVENT ? meta->event : meta->id;
        if (m && (out->text = strdup(m))) out->present = true;
        break;
    }
    case AR_PF_SRC_KEY:
        j = ar_json_pointer_get(root, s->pointer);
        if (cJSON_IsObject(j) && j->child && j->child->string &&
            (out->text = strdup(j->child->string)))
            out->present = true;
        break;
    case AR_PF_SRC_FIELD:
        ar_pf_field_get(p, (ar_pf_field)s->field, root, meta, out);
        break;
    }
    if (!s->re || !out->present) return;
    char *subject = val_text(out); /* a JSON null has no text: no match */
    char *pick = subject ? regex_pick(s->re, subject) : NULL;
    free(subject);
    ar_pf_val_free(out);
    if (pick) {
        out->present = true;
        out->text = pick;
    }
}

/* Can v be field f's value? Name-like fields want a scalar, numeric ones a
 * number, args/result/error anything but null. */
static bool usable(ar_pf_field f, const ar_pf_val *v)
{
    bool numeric = f >= AR_PF_TOKENS_IN && f <= AR_PF_SERVER_DURATION;
    if (v->text) {
        double d;
        return !numeric || ar_yt_parse_number_text(v->text, &d);
    }
    if (cJSON_IsNull(v->json)) return false;
    if (numeric) return cJSON_IsNumber(v->json);
    if (f >= AR_PF_ARGS) return true;
    return !cJSON_IsObject(v->json) && !cJSON_IsArray(v->json);
}

void ar_pf_field_get(const ar_profile *p, ar_pf_field f, const cJSON *root, const ar_pf_meta *meta,
                     ar_pf_val *out)
{
    const cJSON *null_seen = NULL;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < p->n_fields[f]; i++) {
        ar_pf_source_get(p, &p->fields[f][i], root, meta, out);
        if (!out->present) continue;
        if (usable(f, out)) return;
        if (ar_pf_val_is_null(out)) null_seen = out->json;
        ar_pf_val_free(out);
    }
    if (null_seen) {
        out->present = true;
        out->json = null_seen;
    }
}

static bool equals_any(const ar_pf_val *v, const ar_pf_when *w)
{
    char *t = val_text(v);
    bool hit = false;
    for (size_t i = 0; i < w->n_values && !hit; i++)
        hit = w->values[i] ? t && !strcmp(t, w->values[i]) : ar_pf_val_is_null(v);
    free(t);
    return hit;
}

bool ar_pf_when_holds(const ar_profile *p, const ar_pf_when *w, const cJSON *root,
                      const ar_pf_meta *meta)
{
    ar_pf_val v;
    ar_pf_source_get(p, &w->src, root, meta, &v);
    bool r = false;
    switch (w->op) {
    case AR_PF_OP_EXISTS:
        r = v.present && !ar_pf_val_is_null(&v);
        break;
    case AR_PF_OP_ABSENT:
        r = !v.present;
        break;
    case AR_PF_OP_EQUALS:
        r = equals_any(&v, w);
        break;
    case AR_PF_OP_NOT_EQUALS:
        r = !equals_any(&v, w);
        break;
    case AR_PF_OP_MATCHES: {
        char *t = val_text(&v);
        r = t && regex_matches(w->re, t);
        free(t);
        break;
    }
    }
    ar_pf_val_free(&v);
    return w->negate ? !r : r;
}
