/*
 * scenario_expect.c - a turn's `expect:` block (events, route, tools,
 * response, latency, context) parsed into ar_expect, with the names of the
 * modes and operators it accepts.
 *
 * Why a file of its own: the expectation keys are a small language of their
 * own (modes, JSON operators, regexes, context fields, captures named in
 * reappear), independent of how files, scenarios and turns are loaded
 * (scenario.c), which only hands over each turn's `expect:` node.
 * Errors follow the loader's rule: the first one wins, reported with
 * file:line:col through the ar_yt context, and whatever was filled before it
 * is released by ar_scn_free.
 */
#include "scenario_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const order_mode_names[] = {"strict", "subsequence", "contains"};
static const char *const route_mode_names[] = {"strict", "unordered", "subset", "superset",
                                               "subsequence"};
static const char *const json_op_names[] = {"eq", "ne",  "gt",     "gte",
                                            "lt", "lte", "exists", "matches"};
static const char *const context_fields[] = {"thread_id",     "agent", "run_id",
                                             "parent_run_id", "tool",  "call_id"};
static const char *const expect_keys[] = {"events",  "route",   "tools",  "response",
                                          "latency", "context", "outcome"};
static const char *const events_keys[] = {
    "order", "mode", "tools_paired", "nothing_after_terminal", "forbidden", "count"};
static const char *const count_keys[] = {"min", "max"};
static const char *const route_keys[] = {"agents", "mode"};
static const char *const tools_keys[] = {"called", "not_called", "all_ok",
                                         "status", "args",       "args_absent"};
static const char *const outcome_keys[] = {"is", "message"};
static const char *const resp_keys[] = {"matches", "not_matches", "json"};
static const char *const json_keys[] = {"path", "eq",  "ne",     "gt",     "gte",
                                        "lt",   "lte", "exists", "matches"};
static const char *const latency_keys[] = {"first_event", "first_tool", "turn"};
static const char *const ctx_keys[] = {"same", "reappear"};

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

static ar_err parse_count(ar_yt *l, const yaml_node_t *n, ar_expect_events *e)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "'count' must be a mapping of event kind to a number or {min, max}");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt) {
        e->counts = calloc(cnt, sizeof(*e->counts));
        if (!e->counts) return ar_yt_fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *k = ar_yt_nd(l, n->data.mapping.pairs.start[i].key);
        yaml_node_t *v = ar_yt_nd(l, n->data.mapping.pairs.start[i].value);
        ar_count_rule *r = &e->counts[i];
        char what[128];
        AR_YT_TRY(ar_yt_get_kind(l, k, &r->kind));
        snprintf(what, sizeof(what), "the count of '%s'", ar_yt_sval(k));
        r->min = r->max = -1;
        if (v->type == YAML_MAPPING_NODE) {
            AR_YT_TRY(ar_yt_check_map(l, v, "count", count_keys, AR_ARRAY_LEN(count_keys)));
            yaml_node_t *mn = ar_yt_map_get(l, v, "min"), *mx = ar_yt_map_get(l, v, "max");
            if (!mn && !mx)
                return AR_YT_FAIL(l, v, "'count' for '%s' needs 'min' or 'max'", ar_yt_sval(k));
            if (mn) {
                snprintf(what, sizeof(what), "'min' for '%s'", ar_yt_sval(k));
                AR_YT_TRY(ar_yt_get_count(l, mn, what, &r->min));
            }
            if (mx) {
                snprintf(what, sizeof(what), "'max' for '%s'", ar_yt_sval(k));
                AR_YT_TRY(ar_yt_get_count(l, mx, what, &r->max));
            }
            if (mn && mx && r->min > r->max)
                return AR_YT_FAIL(l, v, "'count' for '%s' has min %d greater than max %d",
                                  ar_yt_sval(k), r->min, r->max);
        } else {
            AR_YT_TRY(ar_yt_get_count(l, v, what, &r->min));
            r->max = r->min;
        }
        e->n_counts++;
    }
    return AR_OK;
}

static ar_err parse_events(ar_yt *l, const yaml_node_t *n, ar_expect_events *e)
{
    AR_YT_TRY(ar_yt_check_map(l, n, "events", events_keys, AR_ARRAY_LEN(events_keys)));
    e->present = true;
    e->mode = AR_ORDER_SUBSEQUENCE;
    e->loc = ar_yt_loc_of(l, n);
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "order")))
        AR_YT_TRY(ar_yt_get_kind_list(l, v, "order", &e->order, &e->n_order));
    if ((v = ar_yt_map_get(l, n, "mode"))) {
        int m;
        AR_YT_TRY(
            ar_yt_get_mode(l, v, "events", order_mode_names, AR_ARRAY_LEN(order_mode_names), &m));
        e->mode = (ar_order_mode)m;
    }
    if ((v = ar_yt_map_get(l, n, "tools_paired")))
        AR_YT_TRY(ar_yt_get_bool(l, v, "tools_paired", &e->tools_paired));
    if ((v = ar_yt_map_get(l, n, "nothing_after_terminal")))
        AR_YT_TRY(ar_yt_get_bool(l, v, "nothing_after_terminal", &e->nothing_after_terminal));
    if ((v = ar_yt_map_get(l, n, "forbidden")))
        AR_YT_TRY(ar_yt_get_kind_list(l, v, "forbidden", &e->forbidden, &e->n_forbidden));
    if ((v = ar_yt_map_get(l, n, "count"))) AR_YT_TRY(parse_count(l, v, e));
    return AR_OK;
}

static ar_err parse_route(ar_yt *l, const yaml_node_t *n, ar_expect_route *r)
{
    r->present = true;
    r->mode = AR_ROUTE_SUBSEQUENCE;
    r->loc = ar_yt_loc_of(l, n);
    if (n->type == YAML_SEQUENCE_NODE)
        return ar_yt_get_str_list(l, n, "route", &r->agents, &r->n_agents);
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "'route' must be a list of agents or a mapping with 'agents' and 'mode'");
    AR_YT_TRY(ar_yt_check_map(l, n, "route", route_keys, AR_ARRAY_LEN(route_keys)));
    yaml_node_t *v = ar_yt_map_get(l, n, "agents");
    if (!v) return AR_YT_FAIL(l, n, "'route' has no 'agents'");
    AR_YT_TRY(ar_yt_get_str_list(l, v, "agents", &r->agents, &r->n_agents));
    if ((v = ar_yt_map_get(l, n, "mode"))) {
        int m;
        AR_YT_TRY(
            ar_yt_get_mode(l, v, "route", route_mode_names, AR_ARRAY_LEN(route_mode_names), &m));
        r->mode = (ar_route_mode)m;
    }
    return AR_OK;
}

/* tools.args: {TOOL: {key: value, ...}} or tools.args_absent: {TOOL: [key, ...]}. */
static ar_err parse_tool_args(ar_yt *l, const yaml_node_t *n, bool absent, ar_expect_tools *t)
{
    const char *field = absent ? "args_absent" : "args";
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          absent ? "'args_absent' must be a mapping of tool name to a list of keys"
                                 : "'args' must be a mapping of tool name to the arguments its "
                                   "call must carry, like {pricing: {spend_k: 50}}");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    ar_tool_args_rule *r = realloc(t->args, (t->n_args + cnt + 1) * sizeof *r);
    if (!r) return ar_yt_fail_oom(l);
    t->args = r;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *k = ar_yt_nd(l, n->data.mapping.pairs.start[i].key);
        yaml_node_t *v = ar_yt_nd(l, n->data.mapping.pairs.start[i].value);
        ar_tool_args_rule *rule = &t->args[t->n_args++];
        memset(rule, 0, sizeof *rule);
        rule->loc = ar_yt_loc_of(l, k);
        AR_YT_TRY(ar_yt_get_string(l, k, field, false, &rule->tool));
        if (absent) {
            AR_YT_TRY(ar_yt_get_str_list(l, v, field, &rule->absent, &rule->n_absent));
            if (!rule->n_absent)
                return AR_YT_FAIL(l, v, "'args_absent' of tool '%s' lists no keys", rule->tool);
            continue;
        }
        if (v->type != YAML_MAPPING_NODE || v->data.mapping.pairs.top == v->data.mapping.pairs.start)
            return AR_YT_FAIL(l, v,
                              "'args' of tool '%s' must be a non-empty mapping of argument "
                              "names to values",
                              rule->tool);
        AR_YT_TRY(ar_yt_node_json(l, v, field, true, 0, &rule->subset));
    }
    return AR_OK;
}

static ar_err parse_tools(ar_yt *l, const yaml_node_t *n, ar_expect_tools *t)
{
    AR_YT_TRY(ar_yt_check_map(l, n, "tools", tools_keys, AR_ARRAY_LEN(tools_keys)));
    t->present = true;
    t->loc = ar_yt_loc_of(l, n);
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "called")))
        AR_YT_TRY(ar_yt_get_str_list(l, v, "called", &t->called, &t->n_called));
    if ((v = ar_yt_map_get(l, n, "not_called")))
        AR_YT_TRY(ar_yt_get_str_list(l, v, "not_called", &t->not_called, &t->n_not_called));
    if ((v = ar_yt_map_get(l, n, "all_ok"))) AR_YT_TRY(ar_yt_get_bool(l, v, "all_ok", &t->all_ok));
    if ((v = ar_yt_map_get(l, n, "status"))) {
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v, "'status' must be a mapping of tool name to ok or error");
        size_t cnt = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        if (cnt) {
            t->status = calloc(cnt, sizeof(*t->status));
            if (!t->status) return ar_yt_fail_oom(l);
        }
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *k = ar_yt_nd(l, v->data.mapping.pairs.start[i].key);
            yaml_node_t *s = ar_yt_nd(l, v->data.mapping.pairs.start[i].value);
            ar_tool_status_rule *r = &t->status[i];
            AR_YT_TRY(ar_yt_get_string(l, k, "status", false, &r->tool));
            t->n_status++;
            char buf[80];
            if (ar_yt_is_scalar(s) && !strcmp(ar_yt_sval(s), "ok"))
                r->status = AR_ST_OK;
            else if (ar_yt_is_scalar(s) && !strcmp(ar_yt_sval(s), "error"))
                r->status = AR_ST_ERROR;
            else
                return AR_YT_FAIL(l, s, "status of tool '%s' must be ok or error (got %s)", r->tool,
                                  ar_yt_got(s, buf, sizeof(buf)));
        }
    }
    if ((v = ar_yt_map_get(l, n, "args"))) AR_YT_TRY(parse_tool_args(l, v, false, t));
    if ((v = ar_yt_map_get(l, n, "args_absent"))) AR_YT_TRY(parse_tool_args(l, v, true, t));
    return AR_OK;
}

/* outcome: ok | error | {is: error, message: REGEX} */
static ar_err parse_outcome(ar_yt *l, const yaml_node_t *n, ar_expect_outcome *o)
{
    o->loc = ar_yt_loc_of(l, n);
    const yaml_node_t *is = n;
    if (n->type == YAML_MAPPING_NODE) {
        AR_YT_TRY(ar_yt_check_map(l, n, "outcome", outcome_keys, AR_ARRAY_LEN(outcome_keys)));
        is = ar_yt_map_get(l, n, "is");
        if (!is) return AR_YT_FAIL(l, n, "'outcome' needs 'is': ok or error");
        yaml_node_t *m = ar_yt_map_get(l, n, "message");
        if (m) {
            AR_YT_TRY(ar_yt_get_string(l, m, "message", false, &o->message));
            uint32_t groups;
            AR_YT_TRY(ar_yt_compile_regex(l, m, o->message, &o->compiled, &groups));
        }
    }
    char buf[80];
    if (ar_yt_is_scalar(is) && !strcmp(ar_yt_sval(is), "error"))
        o->expect_error = true;
    else if (!(ar_yt_is_scalar(is) && !strcmp(ar_yt_sval(is), "ok")))
        return AR_YT_FAIL(l, is, "'outcome' must be ok or error (got %s)",
                          ar_yt_got(is, buf, sizeof buf));
    if (o->message && !o->expect_error)
        return AR_YT_FAIL(l, n, "'outcome' has a 'message' only with 'is: error'");
    return AR_OK;
}

static ar_err add_regex(ar_yt *l, const yaml_node_t *v, bool negate, ar_expect *x)
{
    const char *field = negate ? "not_matches" : "matches";
    ar_expect_regex *grown = realloc(x->regexes, (x->n_regexes + 1) * sizeof(*grown));
    if (!grown) return ar_yt_fail_oom(l);
    x->regexes = grown;
    ar_expect_regex *r = &x->regexes[x->n_regexes++];
    memset(r, 0, sizeof(*r));
    r->negate = negate;
    r->loc = ar_yt_loc_of(l, v);
    AR_YT_TRY(ar_yt_get_string(l, v, field, false, &r->pattern_tpl));
    AR_YT_TRY(ar_yt_check_tpl(l, v, field, r->pattern_tpl));
    return ar_yt_compile_regex(l, v, r->pattern_tpl, &r->compiled, NULL);
}

static ar_err add_json_op(ar_yt *l, const yaml_node_t *jn, const char *pointer, ar_json_op op,
                          const yaml_node_t *v, ar_expect *x)
{
    ar_expect_json *grown = realloc(x->jsons, (x->n_jsons + 1) * sizeof(*grown));
    if (!grown) return ar_yt_fail_oom(l);
    x->jsons = grown;
    ar_expect_json *j = &x->jsons[x->n_jsons++];
    memset(j, 0, sizeof(*j));
    j->op = op;
    j->loc = ar_yt_loc_of(l, jn);
    j->pointer = ar_strdup(pointer);
    if (!j->pointer) return ar_yt_fail_oom(l);
    const char *name = ar_json_op_name(op);
    char buf[80];
    double d;
    bool b;
    switch (op) {
    case AR_JOP_EQ:
    case AR_JOP_NE:
        l->ctx_values = 0;
        return ar_yt_node_json(l, v, name, false, 0, &j->value);
    case AR_JOP_GT:
    case AR_JOP_GTE:
    case AR_JOP_LT:
    case AR_JOP_LTE:
        if (!ar_yt_is_scalar(v) || !ar_yt_parse_number_text(ar_yt_sval(v), &d))
            return AR_YT_FAIL(l, v, "'%s' must be a number (got %s)", name,
                              ar_yt_got(v, buf, sizeof(buf)));
        j->value = cJSON_CreateNumber(d);
        return j->value ? AR_OK : ar_yt_fail_oom(l);
    case AR_JOP_EXISTS:
        AR_YT_TRY(ar_yt_get_bool(l, v, name, &b));
        j->value = cJSON_CreateBool(b);
        return j->value ? AR_OK : ar_yt_fail_oom(l);
    case AR_JOP_MATCHES:
        AR_YT_TRY(ar_yt_get_string(l, v, name, false, &j->pattern));
        AR_YT_TRY(ar_yt_check_tpl(l, v, name, j->pattern));
        return ar_yt_compile_regex(l, v, j->pattern, &j->compiled, NULL);
    }
    return AR_OK;
}

static ar_err parse_json(ar_yt *l, const yaml_node_t *n, ar_expect *x)
{
    AR_YT_TRY(ar_yt_check_map(l, n, "json", json_keys, AR_ARRAY_LEN(json_keys)));
    yaml_node_t *pn = ar_yt_map_get(l, n, "path");
    if (!pn) return AR_YT_FAIL(l, n, "'json' has no 'path'");
    char *pointer = NULL;
    AR_YT_TRY(ar_yt_get_string(l, pn, "path", true, &pointer));
    ar_err rc = ar_yt_check_pointer(l, pn, pointer);
    size_t ops = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; !rc && p < n->data.mapping.pairs.top;
         p++) {
        const char *key = ar_yt_sval(ar_yt_nd(l, p->key));
        if (!strcmp(key, "path")) continue;
        int op = ar_yt_name_index(json_op_names, AR_ARRAY_LEN(json_op_names), key);
        rc = add_json_op(l, n, pointer, (ar_json_op)op, ar_yt_nd(l, p->value), x);
        ops++;
    }
    if (!rc && ops == 0) {
        char list[128];
        ar_yt_join_names(json_op_names, AR_ARRAY_LEN(json_op_names), list, sizeof(list));
        rc = AR_YT_FAIL(l, n, "'json' needs an operator (one of: %s)", list);
    }
    free(pointer);
    return rc;
}

static ar_err parse_response_item(ar_yt *l, const yaml_node_t *n, ar_expect *x)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "each 'response' item must be a mapping with matches, not_matches or "
                          "json");
    AR_YT_TRY(ar_yt_check_map(l, n, "response", resp_keys, AR_ARRAY_LEN(resp_keys)));
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return AR_YT_FAIL(l, n, "'response' item needs one of: matches, not_matches, json");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = ar_yt_sval(ar_yt_nd(l, p->key));
        yaml_node_t *v = ar_yt_nd(l, p->value);
        if (!strcmp(key, "json"))
            AR_YT_TRY(parse_json(l, v, x));
        else
            AR_YT_TRY(add_regex(l, v, !strcmp(key, "not_matches"), x));
    }
    return AR_OK;
}

static ar_err parse_response(ar_yt *l, const yaml_node_t *n, ar_expect *x)
{
    if (n->type == YAML_MAPPING_NODE) return parse_response_item(l, n, x);
    if (n->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, n, "'response' must be a list of checks (matches, not_matches, json)");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
        AR_YT_TRY(parse_response_item(l, ar_yt_nd(l, *it), x));
    return AR_OK;
}

static ar_err parse_latency(ar_yt *l, const yaml_node_t *n, ar_expect_latency *t)
{
    AR_YT_TRY(ar_yt_check_map(l, n, "latency", latency_keys, AR_ARRAY_LEN(latency_keys)));
    t->present = true;
    t->loc = ar_yt_loc_of(l, n);
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "first_event")))
        AR_YT_TRY(ar_yt_get_duration(l, v, "first_event", &t->first_event_us));
    if ((v = ar_yt_map_get(l, n, "first_tool")))
        AR_YT_TRY(ar_yt_get_duration(l, v, "first_tool", &t->first_tool_us));
    if ((v = ar_yt_map_get(l, n, "turn"))) AR_YT_TRY(ar_yt_get_duration(l, v, "turn", &t->turn_us));
    return AR_OK;
}

static bool captured_before(const ar_scenario *s, size_t turn_idx, const char *name)
{
    for (size_t i = 0; i < turn_idx; i++)
        for (size_t c = 0; c < s->turns[i].n_captures; c++)
            if (!strcmp(s->turns[i].captures[c].name, name)) return true;
    return false;
}

static ar_err parse_context(ar_yt *l, const yaml_node_t *n, size_t turn_idx, ar_expect_context *c)
{
    AR_YT_TRY(ar_yt_check_map(l, n, "context", ctx_keys, AR_ARRAY_LEN(ctx_keys)));
    c->present = true;
    c->loc = ar_yt_loc_of(l, n);
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "same"))) {
        AR_YT_TRY(ar_yt_get_str_list(l, v, "same", &c->same, &c->n_same));
        for (size_t i = 0; i < c->n_same; i++) {
            yaml_node_t *it = ar_yt_nd(l, v->data.sequence.items.start[i]);
            if (c->same[i][0] == '/') {
                AR_YT_TRY(ar_yt_check_pointer(l, it, c->same[i]));
            } else if (ar_yt_name_index(context_fields, AR_ARRAY_LEN(context_fields), c->same[i]) <
                       0) {
                char list[128];
                ar_yt_join_names(context_fields, AR_ARRAY_LEN(context_fields), list, sizeof(list));
                return AR_YT_FAIL(l, it,
                                  "unknown context field '%s' (valid: %s, or a JSON pointer like "
                                  "/payload/thread_id)",
                                  c->same[i], list);
            }
        }
    }
    if ((v = ar_yt_map_get(l, n, "reappear"))) {
        AR_YT_TRY(ar_yt_get_str_list(l, v, "reappear", &c->reappear, &c->n_reappear));
        for (size_t i = 0; i < c->n_reappear; i++)
            if (!captured_before(l->scn, turn_idx, c->reappear[i]))
                return AR_YT_FAIL(l, ar_yt_nd(l, v->data.sequence.items.start[i]),
                                  "'%s' in 'reappear' is not captured by an earlier turn",
                                  c->reappear[i]);
    }
    return AR_OK;
}

ar_err ar_scn_parse_expect(ar_yt *l, const yaml_node_t *n, size_t turn_idx, ar_expect *x)
{
    AR_YT_TRY(ar_yt_check_map(l, n, "expect", expect_keys, AR_ARRAY_LEN(expect_keys)));
    x->latency.first_event_us = x->latency.first_tool_us = x->latency.turn_us = -1;
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "events"))) AR_YT_TRY(parse_events(l, v, &x->events));
    if ((v = ar_yt_map_get(l, n, "route"))) AR_YT_TRY(parse_route(l, v, &x->route));
    if ((v = ar_yt_map_get(l, n, "tools"))) AR_YT_TRY(parse_tools(l, v, &x->tools));
    if ((v = ar_yt_map_get(l, n, "response"))) AR_YT_TRY(parse_response(l, v, x));
    if ((v = ar_yt_map_get(l, n, "latency"))) AR_YT_TRY(parse_latency(l, v, &x->latency));
    if ((v = ar_yt_map_get(l, n, "context"))) AR_YT_TRY(parse_context(l, v, turn_idx, &x->context));
    if ((v = ar_yt_map_get(l, n, "outcome"))) AR_YT_TRY(parse_outcome(l, v, &x->outcome));
    return AR_OK;
}
