/*
 * scenario_http.c - `http:` steps in a scenario's turns list: a login, a
 * created thread, a fetched WebSocket ticket, with captures for later turns
 * and the profile (a token in `subprotocols: 'jwt.${token}'`) and asserts.
 * Parsed into harness/httpstep.h's model and checked with its own rules, so
 * a bad step is a load error with file:line:col.
 */
#include "scenario_faults.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpstep.h"

static const char *const step_keys[] = {"name", "method", "url",     "headers", "json",
                                        "body", "timeout", "capture", "expect"};
static const char *const cap_keys[] = {"from", "pointer", "regex", "group", "header"};
static const char *const cap_from[] = {"json", "regex", "header"};
static const char *const expect_keys[] = {"status", "json", "matches", "not_matches"};
static const char *const json_keys[] = {"path", "eq", "exists"};

static ar_err parse_caps(ar_yt *l, const yaml_node_t *n, ar_http_step *st)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'capture' must be a mapping like {token: {from: json, pointer: /token}}");
    size_t c = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    st->captures = calloc(c ? c : 1, sizeof *st->captures);
    if (!st->captures) return ar_yt_fail_oom(l);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ar_yt_nd(l, p->key), *v = ar_yt_nd(l, p->value);
        ar_http_capture *cap = &st->captures[st->n_captures++];
        cap->group = -1;
        AR_YT_TRY(ar_yt_get_string(l, k, "capture", false, &cap->name));
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v, "capture '%s' must be a mapping like {from: json, pointer: /token}",
                              cap->name);
        AR_YT_TRY(ar_yt_check_map(l, v, "capture", cap_keys, AR_ARRAY_LEN(cap_keys)));
        yaml_node_t *f = ar_yt_map_get(l, v, "from");
        if (!f) return AR_YT_FAIL(l, v, "capture '%s' needs 'from' (json, regex or header)", cap->name);
        int from = ar_yt_is_scalar(f) ? ar_yt_name_index(cap_from, 3, ar_yt_sval(f)) : -1;
        if (from < 0)
            return AR_YT_FAIL(l, f, "capture '%s': unknown 'from' (valid: json, regex, header)",
                              cap->name);
        cap->from = (ar_http_from)from;
        static const char *const need[] = {"pointer", "regex", "header"};
        yaml_node_t *x = ar_yt_map_get(l, v, need[from]);
        if (!x) return AR_YT_FAIL(l, v, "capture '%s' from %s needs '%s'", cap->name, cap_from[from], need[from]);
        AR_YT_TRY(ar_yt_get_string(l, x, need[from], from == 0, &cap->expr));
        if ((x = ar_yt_map_get(l, v, "group"))) AR_YT_TRY(ar_yt_get_count(l, x, "group", &cap->group));
    }
    return AR_OK;
}

static ar_err parse_expect(ar_yt *l, const yaml_node_t *n, ar_http_step *st)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'expect' must be a mapping like {status: 200}");
    AR_YT_TRY(ar_yt_check_map(l, n, "expect", expect_keys, AR_ARRAY_LEN(expect_keys)));
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "status"))) {
        size_t c = v->type == YAML_SEQUENCE_NODE
                       ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                       : 1;
        st->status = calloc(c, sizeof *st->status);
        if (!st->status) return ar_yt_fail_oom(l);
        for (size_t i = 0; i < c; i++) {
            yaml_node_t *x = v->type == YAML_SEQUENCE_NODE ? ar_yt_nd(l, v->data.sequence.items.start[i]) : v;
            AR_YT_TRY(ar_yt_get_count(l, x, "status", &st->status[st->n_status++]));
        }
    }
    if ((v = ar_yt_map_get(l, n, "json"))) {
        if (v->type != YAML_SEQUENCE_NODE) return AR_YT_FAIL(l, v, "'json' must be a list like [{path: /ok, eq: true}]");
        size_t c = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        st->json_asserts = calloc(c ? c : 1, sizeof *st->json_asserts);
        if (!st->json_asserts) return ar_yt_fail_oom(l);
        for (size_t i = 0; i < c; i++) {
            yaml_node_t *x = ar_yt_nd(l, v->data.sequence.items.start[i]);
            ar_http_json_assert *a = &st->json_asserts[st->n_json_asserts++];
            a->exists = true;
            if (x->type != YAML_MAPPING_NODE) return AR_YT_FAIL(l, x, "a json assert is {path: /x, eq: value} or {path: /x, exists: true}");
            AR_YT_TRY(ar_yt_check_map(l, x, "json", json_keys, AR_ARRAY_LEN(json_keys)));
            yaml_node_t *pth = ar_yt_map_get(l, x, "path"), *eq = ar_yt_map_get(l, x, "eq"),
                        *ex = ar_yt_map_get(l, x, "exists");
            if (!pth) return AR_YT_FAIL(l, x, "a json assert needs 'path'");
            AR_YT_TRY(ar_yt_get_string(l, pth, "path", true, &a->pointer));
            AR_YT_TRY(ar_yt_check_pointer(l, pth, a->pointer));
            if (eq && ex) return AR_YT_FAIL(l, ex, "a json assert takes 'eq' or 'exists', not both");
            if (eq) AR_YT_TRY(ar_yt_node_json(l, eq, "eq", true, 0, &a->eq));
            if (ex) AR_YT_TRY(ar_yt_get_bool(l, ex, "exists", &a->exists));
        }
    }
    for (int neg = 0; neg < 2; neg++) {
        if (!(v = ar_yt_map_get(l, n, neg ? "not_matches" : "matches"))) continue;
        ar_http_regex_assert *r = realloc(st->regex_asserts, (st->n_regex_asserts + 1) * sizeof *r);
        if (!r) return ar_yt_fail_oom(l);
        st->regex_asserts = r;
        ar_http_regex_assert *a = &r[st->n_regex_asserts++];
        memset(a, 0, sizeof *a);
        a->negate = neg;
        AR_YT_TRY(ar_yt_get_string(l, v, neg ? "not_matches" : "matches", false, &a->pattern_tpl));
    }
    return AR_OK;
}

ar_err ar_scnh_parse_step(ar_yt *l, const yaml_node_t *n, struct ar_http_step **out)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'http' must be a mapping like {method: POST, url: ..., expect: {status: 200}}");
    AR_YT_TRY(ar_yt_check_map(l, n, "http", step_keys, AR_ARRAY_LEN(step_keys)));
    ar_http_step *st = calloc(1, sizeof *st);
    if (!st) return ar_yt_fail_oom(l);
    ar_http_step_init(st);
    *out = st; /* owned by the turn from here on, freed with it */
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "name"))) AR_YT_TRY(ar_yt_get_string(l, v, "name", false, &st->name));
    if ((v = ar_yt_map_get(l, n, "method"))) AR_YT_TRY(ar_yt_get_string(l, v, "method", false, &st->method));
    if (!(v = ar_yt_map_get(l, n, "url"))) return AR_YT_FAIL(l, n, "an http step needs a 'url'");
    AR_YT_TRY(ar_yt_get_string(l, v, "url", false, &st->url_tpl));
    AR_YT_TRY(ar_yt_check_tpl(l, v, "url", st->url_tpl));
    if ((v = ar_yt_map_get(l, n, "headers"))) {
        if (v->type != YAML_MAPPING_NODE) return AR_YT_FAIL(l, v, "'headers' must be a mapping of names to values");
        size_t c = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        st->headers = calloc(c ? c : 1, sizeof *st->headers);
        if (!st->headers) return ar_yt_fail_oom(l);
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            ar_http_header *h = &st->headers[st->n_headers++];
            AR_YT_TRY(ar_yt_get_string(l, ar_yt_nd(l, p->key), "header", false, &h->name));
            AR_YT_TRY(ar_yt_get_string(l, ar_yt_nd(l, p->value), h->name, true, &h->value_tpl));
        }
    }
    yaml_node_t *js = ar_yt_map_get(l, n, "json"), *body = ar_yt_map_get(l, n, "body");
    if (js && body) return AR_YT_FAIL(l, body, "an http step takes 'json' or 'body', not both");
    if (js) AR_YT_TRY(ar_yt_node_json(l, js, "json", true, 0, &st->body_json));
    if (body) AR_YT_TRY(ar_yt_get_string(l, body, "body", true, &st->body_tpl));
    if ((v = ar_yt_map_get(l, n, "timeout"))) AR_YT_TRY(ar_yt_get_duration(l, v, "timeout", &st->timeout_us));
    if ((v = ar_yt_map_get(l, n, "capture"))) AR_YT_TRY(parse_caps(l, v, st));
    if ((v = ar_yt_map_get(l, n, "expect"))) AR_YT_TRY(parse_expect(l, v, st));
    char msg[400];
    if (ar_http_step_check(st, msg, sizeof msg) != AR_OK) return AR_YT_FAIL(l, n, "http step: %s", msg);
    return AR_OK;
}

void ar_scnh_free_step(struct ar_http_step *st)
{
    if (!st) return;
    ar_http_step_clear(st);
    free(st);
}
