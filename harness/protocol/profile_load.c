/*
 * profile_load.c - loading protocol profiles: YAML -> ar_profile, checked
 * completely before any socket opens. Every problem is one line,
 * "file:line:col: message" (exit 2 through the scenario loader), because a
 * profile that silently means something else produces verdicts nobody can
 * trust.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"

/* Loading */

static const char *const top_keys[] = {
    "name",      "transport", "url",    "headers",   "query", "subprotocols", "secrets",
    "handshake", "send",      "decode", "keepalive", "sse",   "invariants", "thread_ids"};
static const char *const decode_keys[] = {"type",   "events",      "fields",        "status",
                                          "response", "args",      "end",           "ignore",
                                          "unclassified", "derive_started"};
static const char *const row_keys[] = {"kind", "when", "agent", "root", "status"};
static const char *const ignore_keys[] = {"type", "event", "when"};
static const char *const unclassified_modes[] = {"other", "fail"};
static const char *const end_keys[] = {"kind", "root", "when", "stream_end"};
static const char *const status_keys[] = {"ok", "error"};
static const char *const response_keys[] = {"deltas", "pointer"};
static const char *const hs_keys[] = {"wait", "send", "capture"};
static const char *const keepalive_keys[] = {"ping_every"};
static const char *const sse_keys[] = {"reconnect"};
static const char *const transports[] = {"ws", "sse"};

/* A field's sources: one source, or a list of fallbacks. */
static ar_err get_source_list(ar_yt *l, const yaml_node_t *n, const char *field, ar_pf_source **out,
                              size_t *n_out)
{
    size_t cnt = n->type == YAML_SEQUENCE_NODE
                     ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
                     : 1;
    if (n->type == YAML_SEQUENCE_NODE && cnt == 0)
        return AR_YT_FAIL(l, n, "'%s' needs at least one source", field);
    if (!(*out = calloc(cnt, sizeof **out))) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        const yaml_node_t *e =
            n->type == YAML_SEQUENCE_NODE ? ar_yt_nd(l, n->data.sequence.items.start[i]) : n;
        (*n_out)++; /* counted first: a half-parsed source is freed with the rest */
        AR_YT_TRY(ar_pf_parse_source(l, e, field, &(*out)[i]));
    }
    return AR_OK;
}

static ar_err parse_row(ar_yt *l, const yaml_node_t *k, const yaml_node_t *v, ar_pf_row *r,
                        ar_ev_status *st)
{
    AR_YT_TRY(ar_yt_get_string(l, k, "event type", false, &r->value));
    if (ar_yt_is_scalar(v)) return ar_yt_get_kind(l, v, &r->kind);
    if (v->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, v, "an event row is a kind or a mapping like {kind: agent_started}");
    AR_YT_TRY(ar_yt_check_map(l, v, "event", row_keys, AR_ARRAY_LEN(row_keys)));
    yaml_node_t *x = ar_yt_map_get(l, v, "kind");
    if (!x) return AR_YT_FAIL(l, v, "event '%s' needs a 'kind'", r->value);
    AR_YT_TRY(ar_yt_get_kind(l, x, &r->kind));
    if ((x = ar_yt_map_get(l, v, "agent")))
        AR_YT_TRY(ar_yt_get_string(l, x, "agent", false, &r->agent));
    if ((x = ar_yt_map_get(l, v, "root"))) AR_YT_TRY(ar_yt_get_bool(l, x, "root", &r->root));
    if ((x = ar_yt_map_get(l, v, "when"))) {
        AR_YT_TRY(ar_pf_parse_when(l, x, &r->when));
        r->has_when = true;
    }
    if ((x = ar_yt_map_get(l, v, "status"))) {
        static const char *const sts[] = {"ok", "error"};
        int s;
        if (!ar_yt_is_scalar(x) || (s = ar_yt_name_index(sts, 2, ar_yt_sval(x))) < 0)
            return AR_YT_FAIL(l, x, "'status' must be ok or error");
        *st = s == 0 ? AR_ST_OK : AR_ST_ERROR;
    }
    return AR_OK;
}

static ar_err parse_events(ar_yt *l, const yaml_node_t *n, ar_pf_impl *pi)
{
    ar_profile *p = &pi->pub;
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'events' must be a mapping from the service's types to kinds");
    size_t cnt = 0;
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++) {
        yaml_node_t *v = ar_yt_nd(l, q->value);
        cnt += v->type == YAML_SEQUENCE_NODE
                   ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                   : 1;
    }
    p->rows = calloc(cnt ? cnt : 1, sizeof *p->rows);
    pi->row_status = calloc(cnt ? cnt : 1, sizeof *pi->row_status);
    if (!p->rows || !pi->row_status) return ar_yt_fail_oom(l);
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++) {
        yaml_node_t *k = ar_yt_nd(l, q->key), *v = ar_yt_nd(l, q->value);
        if (v->type == YAML_SEQUENCE_NODE) { /* several rows for one type, told apart by 'when' */
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                size_t i = p->n_rows++;
                AR_YT_TRY(parse_row(l, k, ar_yt_nd(l, *it), &p->rows[i], &pi->row_status[i]));
            }
        } else {
            size_t i = p->n_rows++;
            AR_YT_TRY(parse_row(l, k, v, &p->rows[i], &pi->row_status[i]));
        }
    }
    return AR_OK;
}

static ar_err parse_fields(ar_yt *l, const yaml_node_t *v, ar_profile *p)
{
    if (v->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, v,
                          "'fields' must be a mapping like {agent: [/agent, /payload/agent]}");
    AR_YT_TRY(ar_yt_check_map(l, v, "fields", ar_pf_field_names, AR_PF__FIELDS));
    for (int f = 0; f < AR_PF__FIELDS; f++) {
        yaml_node_t *x = ar_yt_map_get(l, v, ar_pf_field_names[f]);
        if (x)
            AR_YT_TRY(get_source_list(l, x, ar_pf_field_names[f], &p->fields[f], &p->n_fields[f]));
    }
    return AR_OK;
}

static ar_err parse_status(ar_yt *l, const yaml_node_t *v, ar_profile *p)
{
    if (v->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, v, "'status' must be a mapping like {ok: [success], error: [failed]}");
    AR_YT_TRY(ar_yt_check_map(l, v, "status", status_keys, AR_ARRAY_LEN(status_keys)));
    yaml_node_t *x;
    if ((x = ar_yt_map_get(l, v, "ok")))
        AR_YT_TRY(ar_yt_get_str_list(l, x, "ok", &p->ok_values, &p->n_ok));
    if ((x = ar_yt_map_get(l, v, "error")))
        AR_YT_TRY(ar_yt_get_str_list(l, x, "error", &p->error_values, &p->n_error));
    return AR_OK;
}

/* `response` and `args`: {deltas: [TYPES], pointer: /p}. */
static ar_err parse_deltas(ar_yt *l, const yaml_node_t *v, const char *key, char ***types,
                           size_t *n_types, char **pointer)
{
    if (v->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, v, "'%s' must be a mapping like {deltas: [%s], pointer: /delta}", key,
                          strcmp(key, "args") ? "TEXT_MESSAGE_CONTENT" : "TOOL_CALL_ARGS");
    AR_YT_TRY(ar_yt_check_map(l, v, key, response_keys, AR_ARRAY_LEN(response_keys)));
    yaml_node_t *d = ar_yt_map_get(l, v, "deltas"), *x = ar_yt_map_get(l, v, "pointer");
    if (!d || !x) return AR_YT_FAIL(l, v, "'%s' needs 'deltas' and 'pointer'", key);
    AR_YT_TRY(ar_yt_get_str_list(l, d, "deltas", types, n_types));
    AR_YT_TRY(ar_yt_get_string(l, x, "pointer", true, pointer));
    return ar_yt_check_pointer(l, x, *pointer);
}

static ar_err parse_ends(ar_yt *l, const yaml_node_t *v, ar_profile *p)
{
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
        return AR_YT_FAIL(
            l, v, "'end' must be a non-empty list like [{kind: agent_completed, root: true}]");
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    p->ends = calloc(cnt, sizeof *p->ends);
    if (!p->ends) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = ar_yt_nd(l, v->data.sequence.items.start[i]);
        ar_pf_end *end = &p->ends[p->n_ends++];
        if (e->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(
                l, e, "an 'end' entry is a mapping like {kind: agent_completed, root: true}");
        AR_YT_TRY(ar_yt_check_map(l, e, "end", end_keys, AR_ARRAY_LEN(end_keys)));
        yaml_node_t *x = ar_yt_map_get(l, e, "stream_end");
        if (x) {
            /* {stream_end: true}: an SSE response that ends cleanly ends the
             * turn (LangGraph sends no end event). */
            bool on = false;
            AR_YT_TRY(ar_yt_get_bool(l, x, "stream_end", &on));
            if (!on || e->data.mapping.pairs.top - e->data.mapping.pairs.start != 1)
                return AR_YT_FAIL(l, e, "a stream_end entry is exactly {stream_end: true}");
            if (p->transport != AR_PF_SSE)
                return AR_YT_FAIL(l, e, "'stream_end' needs transport: sse");
            p->end_on_stream_end = true;
            p->n_ends--; /* not an event rule */
            continue;
        }
        x = ar_yt_map_get(l, e, "kind");
        if (!x) return AR_YT_FAIL(l, e, "an 'end' entry needs a 'kind'");
        AR_YT_TRY(ar_yt_get_kind(l, x, &end->kind));
        if ((x = ar_yt_map_get(l, e, "root")))
            AR_YT_TRY(ar_yt_get_bool(l, x, "root", &end->root_only));
        if ((x = ar_yt_map_get(l, e, "when"))) {
            AR_YT_TRY(ar_pf_parse_when(l, x, &end->when));
            end->has_when = true;
        }
    }
    return AR_OK;
}

/* decode.ignore: [{type: T}, {event: NAME}, {when: {...}}], one key each. */
static ar_err parse_ignore(ar_yt *l, const yaml_node_t *v, ar_profile *p)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, v,
                          "'ignore' must be a list like [{event: metadata}, {type: ping}, {when: "
                          "{pointer: /kind, equals: heartbeat}}]");
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (!(p->ignores = calloc(cnt ? cnt : 1, sizeof *p->ignores))) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = ar_yt_nd(l, v->data.sequence.items.start[i]);
        ar_pf_ignore *ig = &p->ignores[p->n_ignores++];
        if (e->type != YAML_MAPPING_NODE ||
            e->data.mapping.pairs.top - e->data.mapping.pairs.start != 1)
            return AR_YT_FAIL(l, e,
                              "an 'ignore' entry is one of {type: T}, {event: NAME} or {when: "
                              "{...}}");
        AR_YT_TRY(ar_yt_check_map(l, e, "ignore", ignore_keys, AR_ARRAY_LEN(ignore_keys)));
        yaml_node_t *x;
        if ((x = ar_yt_map_get(l, e, "when"))) {
            ig->kind = AR_PF_IGN_WHEN;
            AR_YT_TRY(ar_pf_parse_when(l, x, &ig->when));
        } else if ((x = ar_yt_map_get(l, e, "event"))) {
            ig->kind = AR_PF_IGN_EVENT;
            AR_YT_TRY(ar_yt_get_string(l, x, "event", false, &ig->pattern));
        } else {
            x = ar_yt_map_get(l, e, "type");
            ig->kind = AR_PF_IGN_TYPE;
            AR_YT_TRY(ar_yt_get_string(l, x, "type", false, &ig->pattern));
        }
    }
    return AR_OK;
}

static ar_err parse_decode(ar_yt *l, const yaml_node_t *n, ar_pf_impl *pi)
{
    ar_profile *p = &pi->pub;
    if (n->type != YAML_MAPPING_NODE) return AR_YT_FAIL(l, n, "'decode' must be a mapping");
    AR_YT_TRY(ar_yt_check_map(l, n, "decode", decode_keys, AR_ARRAY_LEN(decode_keys)));
    yaml_node_t *v = ar_yt_map_get(l, n, "type");
    if (!v)
        return AR_YT_FAIL(l, n,
                          "'decode' needs 'type': where the event type is (a JSON pointer, or "
                          "@event)");
    AR_YT_TRY(ar_pf_parse_source(l, v, "type", &p->type_src));
    if (!(v = ar_yt_map_get(l, n, "events")))
        return AR_YT_FAIL(l, n, "'decode' needs 'events': the service's types and their kinds");
    AR_YT_TRY(parse_events(l, v, pi));
    if ((v = ar_yt_map_get(l, n, "fields"))) AR_YT_TRY(parse_fields(l, v, p));
    if ((v = ar_yt_map_get(l, n, "status"))) AR_YT_TRY(parse_status(l, v, p));
    if ((v = ar_yt_map_get(l, n, "response")))
        AR_YT_TRY(
            parse_deltas(l, v, "response", &p->delta_types, &p->n_delta_types, &p->delta_pointer));
    if ((v = ar_yt_map_get(l, n, "args")))
        AR_YT_TRY(parse_deltas(l, v, "args", &p->args_delta_types, &p->n_args_delta_types,
                               &p->args_delta_pointer));
    if ((v = ar_yt_map_get(l, n, "ignore"))) AR_YT_TRY(parse_ignore(l, v, p));
    if ((v = ar_yt_map_get(l, n, "unclassified"))) {
        int m;
        if (!ar_yt_is_scalar(v) || (m = ar_yt_name_index(unclassified_modes, 2, ar_yt_sval(v))) < 0)
            return AR_YT_FAIL(l, v, "unknown unclassified '%s' (valid: other, fail)",
                              ar_yt_is_scalar(v) ? ar_yt_sval(v) : "?");
        p->unclassified_fail = m == 1;
    }
    if ((v = ar_yt_map_get(l, n, "derive_started")))
        AR_YT_TRY(ar_yt_get_bool(l, v, "derive_started", &p->derive_started));
    if (!(v = ar_yt_map_get(l, n, "end")))
        return AR_YT_FAIL(
            l, n,
            "'decode' needs 'end': what ends a turn, e.g. [{kind: agent_completed, root: true}]");
    return parse_ends(l, v, p);
}

static ar_err parse_map_of_templates(ar_yt *l, const yaml_node_t *n, const char *field,
                                     char ***names, char ***tpls, size_t *cnt)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'%s' must be a mapping of names to values", field);
    size_t c = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    *names = calloc(c ? c : 1, sizeof **names);
    *tpls = calloc(c ? c : 1, sizeof **tpls);
    if (!*names || !*tpls) return ar_yt_fail_oom(l);
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++) {
        size_t i = (*cnt)++;
        yaml_node_t *k = ar_yt_nd(l, q->key), *v = ar_yt_nd(l, q->value);
        AR_YT_TRY(ar_yt_get_string(l, k, field, false, &(*names)[i]));
        AR_YT_TRY(ar_yt_get_string(l, v, (*names)[i], true, &(*tpls)[i]));
        AR_YT_TRY(ar_yt_check_tpl(l, v, (*names)[i], (*tpls)[i]));
    }
    return AR_OK;
}

static ar_err parse_handshake(ar_yt *l, const yaml_node_t *n, ar_profile *p)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, n, "'handshake' must be a list of steps");
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    p->handshake = calloc(cnt ? cnt : 1, sizeof *p->handshake);
    if (!p->handshake) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *s = ar_yt_nd(l, n->data.sequence.items.start[i]);
        ar_pf_step *st = &p->handshake[p->n_handshake++];
        if (s->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, s, "a handshake step is {wait: ...} or {send: ...}");
        AR_YT_TRY(ar_yt_check_map(l, s, "handshake step", hs_keys, AR_ARRAY_LEN(hs_keys)));
        yaml_node_t *w = ar_yt_map_get(l, s, "wait"), *snd = ar_yt_map_get(l, s, "send"),
                    *cap = ar_yt_map_get(l, s, "capture");
        if (!!w == !!snd)
            return AR_YT_FAIL(l, s, "a handshake step has exactly one of 'wait' and 'send'");
        if (snd) {
            st->kind = AR_PF_HS_SEND;
            if (cap) return AR_YT_FAIL(l, cap, "'capture' goes with 'wait'");
            AR_YT_TRY(ar_yt_node_json(l, snd, "send", true, 0, &st->frame));
            continue;
        }
        st->kind = AR_PF_HS_WAIT;
        if (ar_yt_is_scalar(w)) {
            AR_YT_TRY(ar_yt_get_string(l, w, "wait", false, &st->type));
        } else {
            AR_YT_TRY(ar_pf_parse_when(l, w, &st->when));
            st->has_when = true;
        }
        if (cap) {
            if (cap->type != YAML_MAPPING_NODE)
                return AR_YT_FAIL(l, cap, "'capture' must be a mapping of names to JSON pointers");
            size_t c = (size_t)(cap->data.mapping.pairs.top - cap->data.mapping.pairs.start);
            st->cap_names = calloc(c ? c : 1, sizeof *st->cap_names);
            st->cap_pointers = calloc(c ? c : 1, sizeof *st->cap_pointers);
            if (!st->cap_names || !st->cap_pointers) return ar_yt_fail_oom(l);
            for (yaml_node_pair_t *q = cap->data.mapping.pairs.start;
                 q < cap->data.mapping.pairs.top; q++) {
                size_t k = st->n_caps++;
                yaml_node_t *kn = ar_yt_nd(l, q->key), *vn = ar_yt_nd(l, q->value);
                AR_YT_TRY(ar_yt_get_string(l, kn, "capture", false, &st->cap_names[k]));
                AR_YT_TRY(ar_yt_get_string(l, vn, st->cap_names[k], true, &st->cap_pointers[k]));
                AR_YT_TRY(ar_yt_check_pointer(l, vn, st->cap_pointers[k]));
            }
        }
    }
    return AR_OK;
}

static ar_err parse_profile(ar_yt *l, const yaml_node_t *root, ar_pf_impl *pi)
{
    ar_profile *p = &pi->pub;
    if (root->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, root, "a profile is a mapping with 'name', 'send' and 'decode'");
    AR_YT_TRY(ar_yt_check_map(l, root, "profile", top_keys, AR_ARRAY_LEN(top_keys)));
    yaml_node_t *v = ar_yt_map_get(l, root, "name");
    if (!v) return AR_YT_FAIL(l, root, "the profile has no 'name'");
    AR_YT_TRY(ar_yt_get_string(l, v, "name", false, &p->name));
    if ((v = ar_yt_map_get(l, root, "transport"))) {
        int t;
        if (!ar_yt_is_scalar(v) || (t = ar_yt_name_index(transports, 2, ar_yt_sval(v))) < 0)
            return AR_YT_FAIL(l, v, "unknown transport '%s' (valid: ws, sse)",
                              ar_yt_is_scalar(v) ? ar_yt_sval(v) : "?");
        p->transport = (ar_pf_transport)t;
    }
    if ((v = ar_yt_map_get(l, root, "url"))) {
        AR_YT_TRY(ar_yt_get_string(l, v, "url", false, &p->url_tpl));
        AR_YT_TRY(ar_yt_check_tpl(l, v, "url", p->url_tpl));
    }
    if ((v = ar_yt_map_get(l, root, "headers")))
        AR_YT_TRY(parse_map_of_templates(l, v, "headers", &p->header_names, &p->header_tpls,
                                         &p->n_headers));
    if ((v = ar_yt_map_get(l, root, "query")))
        AR_YT_TRY(
            parse_map_of_templates(l, v, "query", &p->query_names, &p->query_tpls, &p->n_query));
    if ((v = ar_yt_map_get(l, root, "subprotocols"))) {
        AR_YT_TRY(ar_yt_get_string(l, v, "subprotocols", false, &p->subprotocol_tpl));
        AR_YT_TRY(ar_yt_check_tpl(l, v, "subprotocols", p->subprotocol_tpl));
    }
    if ((v = ar_yt_map_get(l, root, "secrets")))
        AR_YT_TRY(ar_yt_get_str_list(l, v, "secrets", &p->secrets, &p->n_secrets));
    if ((v = ar_yt_map_get(l, root, "handshake"))) AR_YT_TRY(parse_handshake(l, v, p));
    if (!(v = ar_yt_map_get(l, root, "send")))
        return AR_YT_FAIL(l, root,
                          "the profile has no 'send': the JSON template of a turn's message");
    AR_YT_TRY(ar_yt_node_json(l, v, "send", true, 0, &p->send));
    if (!(v = ar_yt_map_get(l, root, "decode")))
        return AR_YT_FAIL(l, root, "the profile has no 'decode'");
    AR_YT_TRY(parse_decode(l, v, pi));
    if ((v = ar_yt_map_get(l, root, "keepalive"))) {
        AR_YT_TRY(ar_yt_check_map(l, v, "keepalive", keepalive_keys, AR_ARRAY_LEN(keepalive_keys)));
        yaml_node_t *x = ar_yt_map_get(l, v, "ping_every");
        if (x) AR_YT_TRY(ar_yt_get_duration(l, x, "ping_every", &p->ping_every_us));
    }
    if ((v = ar_yt_map_get(l, root, "invariants"))) {
        /* A protocol's own ordering rules, checked on every turn. */
        if (!ar_yt_is_scalar(v) || strcmp(ar_yt_sval(v), "ag-ui"))
            return AR_YT_FAIL(l, v, "unknown invariants '%s' (valid: ag-ui)",
                              ar_yt_is_scalar(v) ? ar_yt_sval(v) : "?");
        p->agui_invariants = true;
    }
    if ((v = ar_yt_map_get(l, root, "thread_ids"))) {
        if (!ar_yt_is_scalar(v) || (strcmp(ar_yt_sval(v), "uuid") && strcmp(ar_yt_sval(v), "ar")))
            return AR_YT_FAIL(l, v, "unknown thread_ids '%s' (valid: ar, uuid)",
                              ar_yt_is_scalar(v) ? ar_yt_sval(v) : "?");
        p->uuid_thread_ids = !strcmp(ar_yt_sval(v), "uuid");
    }
    if ((v = ar_yt_map_get(l, root, "sse"))) {
        AR_YT_TRY(ar_yt_check_map(l, v, "sse", sse_keys, AR_ARRAY_LEN(sse_keys)));
        yaml_node_t *x = ar_yt_map_get(l, v, "reconnect");
        if (x) AR_YT_TRY(ar_yt_get_bool(l, x, "reconnect", &p->sse_reconnect));
    }
    return AR_OK;
}

ar_err ar_pf_load_string(const char *yaml, size_t len, const char *file, ar_profile **out,
                         char *err, size_t err_len)
{
    *out = NULL;
    ar_pf_impl *pi = calloc(1, sizeof *pi);
    if (!pi) return AR_ENOMEM;
    pi->pub.file = strdup(file);
    ar_yt l = {.file = pi->pub.file, .err = err, .err_len = err_len};
    yaml_parser_t parser;
    yaml_document_t doc;
    ar_err rc = AR_OK;
    if (!pi->pub.file || !yaml_parser_initialize(&parser)) {
        ar_pf_free(&pi->pub);
        return AR_ENOMEM;
    }
    if (ar_yt_check_caps(&l, yaml, len)) {
        yaml_parser_delete(&parser);
        ar_pf_free(&pi->pub);
        return AR_EINVAL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = ar_yt_fail_at(&l, AR_EPARSE, (int)parser.problem_mark.line + 1,
                           (int)parser.problem_mark.column + 1, "%s",
                           parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        ar_pf_free(&pi->pub);
        return rc;
    }
    l.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || ar_yt_is_empty_plain(root))
        rc = ar_yt_fail_at(&l, AR_EINVAL, 1, 1, "empty profile");
    if (!rc) rc = ar_yt_check_all_keys(&l);
    if (!rc) rc = parse_profile(&l, root, pi);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        ar_pf_free(&pi->pub);
        return rc;
    }
    *out = &pi->pub;
    return AR_OK;
}

ar_err ar_pf_load(const char *name, ar_profile **out, char *err, size_t err_len)
{
    for (size_t i = 0; ar_pf_builtin_names[i]; i++)
        if (!strcmp(name, ar_pf_builtin_names[i])) {
            char file[64];
            snprintf(file, sizeof file, "<built-in %s>", name);
            return ar_pf_load_string(ar_pf_builtin_yaml[i], strlen(ar_pf_builtin_yaml[i]), file,
                                     out, err, err_len);
        }
    size_t n = strlen(name);
    bool is_path = strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
                   (n > 4 && !strcmp(name + n - 4, ".yml"));
    if (!is_path) {
        char names[160];
        ar_yt_join_names(ar_pf_builtin_names, ar_pf_builtin_count(), names, sizeof names);
        snprintf(err, err_len,
                 "unknown protocol '%s' (built-in: %s; or a path to a profile file)", name,
                 names);
        return AR_EINVAL;
    }
    FILE *f = fopen(name, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open the profile: %s", name, strerror(errno));
        return AR_EIO;
    }
    ar_buf b;
    ar_buf_init(&b, AR_YT_FILE_MAX_BYTES);
    char chunk[4096];
    size_t got;
    ar_err rc = AR_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = ar_buf_append(&b, chunk, got)) != AR_OK) break;
    fclose(f);
    if (rc) {
        snprintf(err, err_len, "%s: larger than the " AR_YT_FILE_MAX_TEXT " cap", name);
        ar_buf_free(&b);
        return AR_EINVAL;
    }
    rc = ar_pf_load_string(b.ptr ? b.ptr : "", b.len, name, out, err, err_len);
    ar_buf_free(&b);
    return rc;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void ar_pf_free(ar_profile *p)
{
    if (!p) return;
    ar_pf_impl *pi = (ar_pf_impl *)p;
    free(p->name);
    free(p->file);
    free(p->url_tpl);
    free_strv(p->header_names, p->n_headers);
    free_strv(p->header_tpls, p->n_headers);
    free_strv(p->query_names, p->n_query);
    free_strv(p->query_tpls, p->n_query);
    free(p->subprotocol_tpl);
    free_strv(p->secrets, p->n_secrets);
    for (size_t i = 0; i < p->n_handshake; i++) {
        ar_pf_step *s = &p->handshake[i];
        free(s->type);
        ar_pf_when_free(&s->when);
        cJSON_Delete(s->frame);
        free_strv(s->cap_names, s->n_caps);
        free_strv(s->cap_pointers, s->n_caps);
    }
    free(p->handshake);
    cJSON_Delete(p->send);
    ar_pf_source_free(&p->type_src);
    for (size_t i = 0; i < p->n_rows; i++) {
        free(p->rows[i].value);
        free(p->rows[i].agent);
        ar_pf_when_free(&p->rows[i].when);
    }
    free(p->rows);
    free(pi->row_status);
    for (int f = 0; f < AR_PF__FIELDS; f++) {
        for (size_t i = 0; i < p->n_fields[f]; i++)
            ar_pf_source_free(&p->fields[f][i]);
        free(p->fields[f]);
    }
    for (size_t i = 0; i < p->n_ignores; i++) {
        free(p->ignores[i].pattern);
        ar_pf_when_free(&p->ignores[i].when);
    }
    free(p->ignores);
    free_strv(p->ok_values, p->n_ok);
    free_strv(p->error_values, p->n_error);
    free_strv(p->delta_types, p->n_delta_types);
    free(p->delta_pointer);
    free_strv(p->args_delta_types, p->n_args_delta_types);
    free(p->args_delta_pointer);
    for (size_t i = 0; i < p->n_ends; i++)
        ar_pf_when_free(&p->ends[i].when);
    free(p->ends);
    free(pi);
}
