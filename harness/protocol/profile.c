/*
 * profile.c - loading protocol profiles (YAML) and decoding frames with them.
 *
 * One decoder for every protocol: a frame is parsed once with cJSON, its type
 * looked up in the profile's table (exact values, or prefixes ending in '*',
 * each optionally guarded by a condition), and every canonical field taken
 * from the first of its JSON pointers that is present, which is how a
 * service that spreads fields over the root, "payload" and "data" is merged.
 * The built-in profiles below are ordinary profile YAML.
 */
#include "profile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "yamltree.h"

static const char *const field_names[AR_PF__FIELDS] = {
    "agent", "run_id",    "parent_run_id", "tool",     "call_id",   "thread_id",         "status",
    "text",  "tokens_in", "tokens_out",    "cost_usd", "server_ts", "server_duration_us"};

const char *ar_pf_field_name(ar_pf_field f)
{
    return (unsigned)f < AR_PF__FIELDS ? field_names[f] : "?";
}

/* The built-ins. Documented, with worked examples, in docs/protocols.md. */
static const char native_yaml[] =
    "name: native\n"
    "transport: ws\n"
    "send: {type: user_message, thread_id: '${thread_id}', message: '${message}',\n"
    "       context: '${context}'}\n"
    "decode:\n"
    "  type: /type\n"
    "  events: {agent_started: agent_started, agent_thinking: agent_thinking,\n"
    "           tool_executing: tool_executing, tool_completed: tool_completed,\n"
    "           agent_completed: agent_completed, error: error}\n"
    "  fields:\n"
    "    agent: [/agent]\n"
    "    run_id: [/run_id]\n"
    "    parent_run_id: [/parent_run_id]\n"
    "    tool: [/tool]\n"
    "    call_id: [/call_id]\n"
    "    thread_id: [/thread_id]\n"
    "    status: [/status]\n"
    "    text: [/text, /message, /result/response, /error]\n"
    "    tokens_in: [/usage/input_tokens]\n"
    "    tokens_out: [/usage/output_tokens]\n"
    "    cost_usd: [/usage/cost_usd]\n"
    "    server_ts: [/ts_us]\n"
    "    server_duration_us: [/duration_us]\n"
    "  status: {ok: [ok], error: [error]}\n"
    "  end:\n"
    "    - {kind: agent_completed, when: {field: parent_run_id, equals: null}}\n"
    "    - {kind: error, when: {field: run_id, equals: null}}\n";

static const char netra_yaml[] =
    "name: netra\n"
    "transport: ws\n"
    "subprotocols: 'jwt.${NETRA_TOKEN}'\n"
    "secrets: [NETRA_TOKEN]\n"
    "send:\n"
    "  type: user_message\n"
    "  payload: {content: '${message}', thread_id: '${thread_id}', context: '${context}'}\n"
    "decode:\n"
    "  type: /type\n"
    "  events: {agent_started: agent_started, agent_thinking: agent_thinking,\n"
    "           tool_executing: tool_executing, tool_completed: tool_completed,\n"
    "           agent_completed: agent_completed, error: error}\n"
    "  fields:\n"
    "    agent: [/agent_name, /payload/agent_name, /data/agent_name]\n"
    "    run_id: [/run_id, /payload/run_id, /data/run_id]\n"
    "    parent_run_id: [/parent_run_id, /payload/parent_run_id, /data/parent_run_id]\n"
    "    tool: [/tool_name, /payload/tool_name, /data/tool_name]\n"
    "    call_id: [/tool_call_id, /payload/tool_call_id, /data/tool_call_id]\n"
    "    thread_id: [/thread_id, /payload/thread_id, /data/thread_id]\n"
    "    status: [/status, /payload/status, /data/status]\n"
    "    text: [/thought, /payload/thought, /data/thought, /result/response,\n"
    "           /payload/result/response, /data/result/response, /message,\n"
    "           /payload/message, /data/message]\n"
    "  status: {ok: [success, ok], error: [error, failed]}\n"
    "  end:\n"
    "    - {kind: agent_completed, when: {field: parent_run_id, equals: null}}\n"
    "    - {kind: error, when: {field: run_id, equals: null}}\n";

static const char agui_yaml[] =
    "name: ag-ui\n"
    "transport: sse\n"
    "invariants: ag-ui\n"
    "send:\n"
    "  threadId: '${thread_id}'\n"
    "  runId: '${thread_id}-run-${turn}'\n"
    "  state: '${context}'\n"
    "  messages: '${messages}'\n"
    "  tools: []\n"
    "  context: []\n"
    "  forwardedProps: {}\n"
    "decode:\n"
    "  type: /type\n"
    "  events:\n"
    "    RUN_STARTED: {kind: agent_started, root: true}\n"
    "    SUBAGENT_STARTED: agent_started\n"
    "    STEP_STARTED: agent_started\n"
    "    SUBAGENT_FINISHED: {kind: agent_completed, status: ok}\n"
    "    STEP_FINISHED: {kind: agent_completed, status: ok}\n"
    "    TOOL_CALL_START: tool_executing\n"
    "    TOOL_CALL_RESULT: {kind: tool_completed, status: ok}\n"
    "    REASONING_*: agent_thinking\n"
    "    THINKING_*: agent_thinking\n"
    "    RUN_FINISHED: {kind: agent_completed, root: true, status: ok}\n"
    "    RUN_ERROR: {kind: error, root: true}\n"
    "  fields:\n"
    "    agent: [/stepName, /name, /metadata/agentName]\n"
    "    run_id: [/runId]\n"
    "    thread_id: [/threadId]\n"
    "    tool: [/toolCallName, /metadata/toolName]\n"
    "    call_id: [/toolCallId]\n"
    "    text: [/message, /delta, /content]\n"
    "  response: {deltas: [TEXT_MESSAGE_CONTENT], pointer: /delta}\n"
    "  end:\n"
    "    - {kind: agent_completed, root: true}\n"
    "    - {kind: error, root: true}\n";

const char *const ar_pf_builtin_names[] = {"native", "netra", "ag-ui", NULL};
static const char *const builtin_yaml[] = {native_yaml, netra_yaml, agui_yaml};

/* Loading */

static const char *const top_keys[] = {
    "name",      "transport", "url",    "headers",   "query", "subprotocols", "secrets",
    "handshake", "send",      "decode", "keepalive", "sse",   "invariants"};
static const char *const decode_keys[] = {"type", "events", "fields", "status", "response", "end"};
static const char *const row_keys[] = {"kind", "when", "agent", "root", "status"};
static const char *const when_keys[] = {"pointer", "field", "equals"};
static const char *const end_keys[] = {"kind", "root", "when"};
static const char *const status_keys[] = {"ok", "error"};
static const char *const response_keys[] = {"deltas", "pointer"};
static const char *const hs_keys[] = {"wait", "send", "capture"};
static const char *const keepalive_keys[] = {"ping_every"};
static const char *const sse_keys[] = {"reconnect"};
static const char *const transports[] = {"ws", "sse"};

static ar_err get_pointer_list(ar_yt *l, const yaml_node_t *n, const char *field, char ***out,
                               size_t *n_out)
{
    if (ar_yt_is_scalar(n)) { /* a single pointer is a list of one */
        *out = calloc(1, sizeof **out);
        if (!*out) return ar_yt_fail_oom(l);
        AR_YT_TRY(ar_yt_get_string(l, n, field, true, &(*out)[0]));
        *n_out = 1;
    } else {
        AR_YT_TRY(ar_yt_get_str_list(l, n, field, out, n_out));
    }
    for (size_t i = 0; i < *n_out; i++)
        AR_YT_TRY(ar_yt_check_pointer(l, n, (*out)[i]));
    return AR_OK;
}

static ar_err parse_when(ar_yt *l, const yaml_node_t *n, ar_pf_when *w, int *field)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'when' must be a mapping like {pointer: /name, equals: X}");
    AR_YT_TRY(ar_yt_check_map(l, n, "when", when_keys, AR_ARRAY_LEN(when_keys)));
    yaml_node_t *p = ar_yt_map_get(l, n, "pointer"), *f = ar_yt_map_get(l, n, "field"),
                *e = ar_yt_map_get(l, n, "equals");
    *field = -1;
    if (!!p == !!f) return AR_YT_FAIL(l, n, "'when' takes exactly one of 'pointer' and 'field'");
    if (p) {
        AR_YT_TRY(ar_yt_get_string(l, p, "pointer", true, &w->pointer));
        AR_YT_TRY(ar_yt_check_pointer(l, p, w->pointer));
    } else {
        int k =
            ar_yt_is_scalar(f) ? ar_yt_name_index(field_names, AR_PF__FIELDS, ar_yt_sval(f)) : -1;
        if (k < 0) {
            char names[256];
            ar_yt_join_names(field_names, AR_PF__FIELDS, names, sizeof names);
            return AR_YT_FAIL(l, f, "unknown field '%s' (valid: %s)", ar_yt_sval(f), names);
        }
        *field = k;
        w->pointer = ar_asprintf("#%d", k); /* marks a field condition */
    }
    if (e) {
        /* null (or ~, or nothing) matches a JSON null or an absent value */
        w->equals =
            ar_yt_is_empty_plain(e) || (ar_yt_is_scalar(e) && !strcmp(ar_yt_sval(e), "null"))
                ? strdup("null")
                : strdup(ar_yt_sval(e));
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
        int field;
        AR_YT_TRY(parse_when(l, x, &r->when, &field));
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

/* Constant statuses per row live beside the rows (same index). */
typedef struct {
    ar_profile pub;
    ar_ev_status *row_status;
} profile_impl;

static ar_err parse_events(ar_yt *l, const yaml_node_t *n, profile_impl *pi)
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

static ar_err parse_decode(ar_yt *l, const yaml_node_t *n, profile_impl *pi)
{
    ar_profile *p = &pi->pub;
    if (n->type != YAML_MAPPING_NODE) return AR_YT_FAIL(l, n, "'decode' must be a mapping");
    AR_YT_TRY(ar_yt_check_map(l, n, "decode", decode_keys, AR_ARRAY_LEN(decode_keys)));
    yaml_node_t *v = ar_yt_map_get(l, n, "type");
    if (!v) return AR_YT_FAIL(l, n, "'decode' needs 'type': the JSON pointer to the event type");
    AR_YT_TRY(ar_yt_get_string(l, v, "type", true, &p->type_pointer));
    AR_YT_TRY(ar_yt_check_pointer(l, v, p->type_pointer));
    if (!(v = ar_yt_map_get(l, n, "events")))
        return AR_YT_FAIL(l, n, "'decode' needs 'events': the service's types and their kinds");
    AR_YT_TRY(parse_events(l, v, pi));
    if ((v = ar_yt_map_get(l, n, "fields"))) {
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v,
                              "'fields' must be a mapping like {agent: [/agent, /payload/agent]}");
        AR_YT_TRY(ar_yt_check_map(l, v, "fields", field_names, AR_PF__FIELDS));
        for (int f = 0; f < AR_PF__FIELDS; f++) {
            yaml_node_t *x = ar_yt_map_get(l, v, field_names[f]);
            if (x)
                AR_YT_TRY(get_pointer_list(l, x, field_names[f], &p->fields[f], &p->n_fields[f]));
        }
    }
    if ((v = ar_yt_map_get(l, n, "status"))) {
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v,
                              "'status' must be a mapping like {ok: [success], error: [failed]}");
        AR_YT_TRY(ar_yt_check_map(l, v, "status", status_keys, AR_ARRAY_LEN(status_keys)));
        yaml_node_t *x;
        if ((x = ar_yt_map_get(l, v, "ok")))
            AR_YT_TRY(ar_yt_get_str_list(l, x, "ok", &p->ok_values, &p->n_ok));
        if ((x = ar_yt_map_get(l, v, "error")))
            AR_YT_TRY(ar_yt_get_str_list(l, x, "error", &p->error_values, &p->n_error));
    }
    if ((v = ar_yt_map_get(l, n, "response"))) {
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v,
                              "'response' must be a mapping like {deltas: [TEXT_MESSAGE_CONTENT], "
                              "pointer: /delta}");
        AR_YT_TRY(ar_yt_check_map(l, v, "response", response_keys, AR_ARRAY_LEN(response_keys)));
        yaml_node_t *d = ar_yt_map_get(l, v, "deltas"), *x = ar_yt_map_get(l, v, "pointer");
        if (!d || !x) return AR_YT_FAIL(l, v, "'response' needs 'deltas' and 'pointer'");
        AR_YT_TRY(ar_yt_get_str_list(l, d, "deltas", &p->delta_types, &p->n_delta_types));
        AR_YT_TRY(ar_yt_get_string(l, x, "pointer", true, &p->delta_pointer));
        AR_YT_TRY(ar_yt_check_pointer(l, x, p->delta_pointer));
    }
    if (!(v = ar_yt_map_get(l, n, "end")))
        return AR_YT_FAIL(
            l, n,
            "'decode' needs 'end': what ends a turn, e.g. [{kind: agent_completed, root: true}]");
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
        yaml_node_t *x = ar_yt_map_get(l, e, "kind");
        if (!x) return AR_YT_FAIL(l, e, "an 'end' entry needs a 'kind'");
        AR_YT_TRY(ar_yt_get_kind(l, x, &end->kind));
        if ((x = ar_yt_map_get(l, e, "root")))
            AR_YT_TRY(ar_yt_get_bool(l, x, "root", &end->root_only));
        if ((x = ar_yt_map_get(l, e, "when"))) {
            int field;
            AR_YT_TRY(parse_when(l, x, &end->when, &field));
            end->has_when = true;
        }
    }
    return AR_OK;
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
            int field;
            AR_YT_TRY(parse_when(l, w, &st->when, &field));
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

static ar_err parse_profile(ar_yt *l, const yaml_node_t *root, profile_impl *pi)
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
    profile_impl *pi = calloc(1, sizeof *pi);
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
            return ar_pf_load_string(builtin_yaml[i], strlen(builtin_yaml[i]), file, out, err,
                                     err_len);
        }
    size_t n = strlen(name);
    bool is_path = strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
                   (n > 4 && !strcmp(name + n - 4, ".yml"));
    if (!is_path) {
        snprintf(err, err_len,
                 "unknown protocol '%s' (built-in: native, netra, ag-ui; or a path to a profile "
                 "file)",
                 name);
        return AR_EINVAL;
    }
    FILE *f = fopen(name, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open the profile: %s", name, strerror(errno));
        return AR_EIO;
    }
    ar_buf b;
    ar_buf_init(&b, 1024 * 1024);
    char chunk[4096];
    size_t got;
    ar_err rc = AR_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = ar_buf_append(&b, chunk, got)) != AR_OK) break;
    fclose(f);
    if (rc) {
        snprintf(err, err_len, "%s: the profile is larger than 1 MiB", name);
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
    profile_impl *pi = (profile_impl *)p;
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
        free(s->when.pointer);
        free(s->when.equals);
        cJSON_Delete(s->frame);
        free_strv(s->cap_names, s->n_caps);
        free_strv(s->cap_pointers, s->n_caps);
    }
    free(p->handshake);
    cJSON_Delete(p->send);
    free(p->type_pointer);
    for (size_t i = 0; i < p->n_rows; i++) {
        free(p->rows[i].value);
        free(p->rows[i].agent);
        free(p->rows[i].when.pointer);
        free(p->rows[i].when.equals);
    }
    free(p->rows);
    free(pi->row_status);
    for (int f = 0; f < AR_PF__FIELDS; f++)
        free_strv(p->fields[f], p->n_fields[f]);
    free_strv(p->ok_values, p->n_ok);
    free_strv(p->error_values, p->n_error);
    free_strv(p->delta_types, p->n_delta_types);
    free(p->delta_pointer);
    for (size_t i = 0; i < p->n_ends; i++) {
        free(p->ends[i].when.pointer);
        free(p->ends[i].when.equals);
    }
    free(p->ends);
    free(pi);
}

/* Decoding */

/* The first present value among a field's pointers (borrowed), or NULL. */
static const cJSON *field_value(const ar_profile *p, const cJSON *root, ar_pf_field f)
{
    for (size_t i = 0; i < p->n_fields[f]; i++) {
        const cJSON *v = ar_json_pointer_get(root, p->fields[f][i]);
        if (v && !cJSON_IsNull(v)) return v;
    }
    return NULL;
}

static char *as_text(const cJSON *v)
{
    if (!v) return NULL;
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(int64_t)d && d > -9e15 && d < 9e15)
            return ar_asprintf("%lld", (long long)(int64_t)d);
        return ar_asprintf("%.17g", d);
    }
    if (cJSON_IsBool(v)) return strdup(cJSON_IsTrue(v) ? "true" : "false");
    return NULL; /* objects and arrays are not a field's text */
}

/* Does the frame meet the condition? field conditions are written "#N". */
static bool when_holds(const ar_profile *p, const cJSON *root, const ar_pf_when *w)
{
    const cJSON *v;
    if (w->pointer[0] == '#')
        v = field_value(p, root, (ar_pf_field)atoi(w->pointer + 1));
    else
        v = ar_json_pointer_get(root, w->pointer);
    if (!w->equals) return v && !cJSON_IsNull(v);
    if (!strcmp(w->equals, "null")) return !v || cJSON_IsNull(v);
    char *t = as_text(v);
    bool eq = t && !strcmp(t, w->equals);
    free(t);
    return eq;
}

static bool type_matches(const char *pattern, const char *type)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*') return !strncmp(pattern, type, n - 1);
    return !strcmp(pattern, type);
}

static bool in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s)) return true;
    return false;
}

static ar_err decode_fail(ar_event *ev, const char *why)
{
    ev->kind = AR_EV_ERROR;
    ev->decode_error = true;
    free(ev->text);
    ev->text = strdup(why);
    return ev->text ? AR_EPARSE : AR_ENOMEM;
}

ar_err ar_pf_decode(const ar_profile *p, const char *frame, size_t len, ar_event *ev, char **delta)
{
    const profile_impl *pi = (const profile_impl *)p;
    if (delta) *delta = NULL;
    ev->raw = ar_strndup(frame, len);
    if (!ev->raw) return AR_ENOMEM;
    ev->raw_len = ev->wire_len = len;
    cJSON *root = cJSON_ParseWithLength(frame, len);
    if (!root) return decode_fail(ev, "frame is not valid JSON");
    ar_err rc = AR_OK;
    const cJSON *type = ar_json_pointer_get(root, p->type_pointer);
    if (!cJSON_IsObject(root)) {
        rc = decode_fail(ev, "frame is not a JSON object");
        goto out;
    }
    if (!cJSON_IsString(type)) {
        char why[160];
        snprintf(why, sizeof why, "frame has no string type at %s", p->type_pointer);
        rc = decode_fail(ev, why);
        goto out;
    }
    ev->type = strdup(type->valuestring);
    ev->kind = AR_EV_OTHER;
    const ar_pf_row *row = NULL;
    size_t ri = 0;
    for (size_t i = 0; i < p->n_rows && !row; i++)
        if (type_matches(p->rows[i].value, type->valuestring) &&
            (!p->rows[i].has_when || when_holds(p, root, &p->rows[i].when))) {
            row = &p->rows[i];
            ri = i;
        }
    if (row) ev->kind = row->kind;

    char **dst[AR_PF__FIELDS] = {[AR_PF_AGENT] = &ev->agent,
                                 [AR_PF_RUN_ID] = &ev->run_id,
                                 [AR_PF_PARENT_RUN_ID] = &ev->parent_run_id,
                                 [AR_PF_TOOL] = &ev->tool,
                                 [AR_PF_CALL_ID] = &ev->call_id,
                                 [AR_PF_THREAD_ID] = &ev->thread_id,
                                 [AR_PF_TEXT] = &ev->text};
    for (int f = 0; f < AR_PF__FIELDS; f++)
        if (dst[f]) *dst[f] = as_text(field_value(p, root, (ar_pf_field)f));
    if (row && row->agent && !ev->agent) ev->agent = strdup(row->agent);
    const cJSON *v;
    if ((v = field_value(p, root, AR_PF_TOKENS_IN)) && cJSON_IsNumber(v))
        ev->tokens_in = (int64_t)v->valuedouble;
    if ((v = field_value(p, root, AR_PF_TOKENS_OUT)) && cJSON_IsNumber(v))
        ev->tokens_out = (int64_t)v->valuedouble;
    if ((v = field_value(p, root, AR_PF_COST)) && cJSON_IsNumber(v)) ev->cost_usd = v->valuedouble;
    if ((v = field_value(p, root, AR_PF_SERVER_TS)) && cJSON_IsNumber(v))
        ev->server_ts_us = (int64_t)v->valuedouble;
    if ((v = field_value(p, root, AR_PF_SERVER_DURATION)) && cJSON_IsNumber(v))
        ev->server_duration_us = (int64_t)v->valuedouble;
    char *st = as_text(field_value(p, root, AR_PF_STATUS));
    if (st && in_list(p->ok_values, p->n_ok, st)) ev->status = AR_ST_OK;
    if (st && in_list(p->error_values, p->n_error, st)) ev->status = AR_ST_ERROR;
    free(st);
    if (row && ev->status == AR_ST_NONE && pi->row_status[ri] != AR_ST_NONE)
        ev->status = pi->row_status[ri];
    if (ev->kind == AR_EV_ERROR && ev->status == AR_ST_NONE) ev->status = AR_ST_ERROR;

    if (delta && p->delta_pointer && in_list(p->delta_types, p->n_delta_types, ev->type))
        *delta = as_text(ar_json_pointer_get(root, p->delta_pointer));

    for (size_t i = 0; i < p->n_ends && !ev->terminal; i++) {
        const ar_pf_end *e = &p->ends[i];
        if (e->kind != ev->kind) continue;
        if (e->root_only && !(row && row->root)) continue;
        if (e->has_when && !when_holds(p, root, &e->when)) continue;
        ev->terminal = true;
    }
out:
    cJSON_Delete(root);
    return rc;
}

bool ar_pf_frame_matches(const ar_profile *p, const char *raw, size_t len, const char *type,
                         const ar_pf_when *when)
{
    cJSON *root = cJSON_ParseWithLength(raw, len);
    if (!root) return false;
    bool ok = true;
    if (type) {
        const cJSON *t = ar_json_pointer_get(root, p->type_pointer);
        ok = cJSON_IsString(t) && type_matches(type, t->valuestring);
    }
    if (ok && when) ok = when_holds(p, root, when);
    cJSON_Delete(root);
    return ok;
}

char *ar_pf_frame_value(const char *raw, size_t len, const char *pointer)
{
    cJSON *root = cJSON_ParseWithLength(raw, len);
    char *v = root ? as_text(ar_json_pointer_get(root, pointer)) : NULL;
    cJSON_Delete(root);
    return v;
}

/* Building a turn's frame */

static bool whole_var(const char *s, const char *name)
{
    size_t n = strlen(name);
    return s[0] == '$' && s[1] == '{' && !strncmp(s + 2, name, n) && s[2 + n] == '}' &&
           s[3 + n] == '\0';
}

/* ReplaceItemViaPointer does not carry the key over; in an object the
 * replacement must take the old key. */
static void replace_child(cJSON *node, cJSON *old, cJSON *with)
{
    if (cJSON_IsObject(node) && old->string)
        cJSON_ReplaceItemInObjectCaseSensitive(node, old->string, with);
    else
        cJSON_ReplaceItemViaPointer(node, old, with);
}

static ar_err fill(cJSON *node, const ar_vars *vars, const cJSON *context, const cJSON *messages,
                   char *err, size_t err_len)
{
    for (cJSON *c = node->child, *next; c; c = next) {
        next = c->next;
        if (cJSON_IsString(c)) {
            const cJSON *whole = whole_var(c->valuestring, "context")    ? context
                                 : whole_var(c->valuestring, "messages") ? messages
                                                                         : (const cJSON *)1;
            if (whole != (const cJSON *)1) {
                /* A JSON value in place of the string; an absent one drops
                 * the key, so frames carry no "context": null noise. */
                if (!whole || cJSON_IsNull(whole)) {
                    cJSON_DetachItemViaPointer(node, c);
                    cJSON_Delete(c);
                    continue;
                }
                cJSON *dup = cJSON_Duplicate(whole, 1);
                if (!dup) return AR_ENOMEM;
                replace_child(node, c, dup);
                continue;
            }
            char *s;
            ar_err rc = ar_tpl_expand(c->valuestring, vars, AR_TPL_PLAIN, &s, err, err_len);
            if (rc) return rc;
            cJSON *ns = cJSON_CreateString(s);
            free(s);
            if (!ns) return AR_ENOMEM;
            replace_child(node, c, ns);
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            ar_err rc = fill(c, vars, context, messages, err, err_len);
            if (rc) return rc;
        }
    }
    return AR_OK;
}

char *ar_pf_build_send(const ar_profile *p, const cJSON *tpl, const ar_vars *vars,
                       const cJSON *context, const cJSON *messages, char *err, size_t err_len)
{
    (void)p;
    cJSON *frame = cJSON_Duplicate(tpl, 1);
    if (!frame) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (fill(frame, vars, context, messages, err, err_len) != AR_OK) {
        cJSON_Delete(frame);
        return NULL;
    }
    char *out = cJSON_PrintUnformatted(frame);
    cJSON_Delete(frame);
    return out;
}
