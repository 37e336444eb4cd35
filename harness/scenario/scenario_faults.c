/*
 * scenario_faults.c - the fault-injection parts of a scenario: dependency
 * faults (`faults:`, named or raw proxy rules), the proxy's own settings,
 * per-turn client faults, cooperative fault directives, and thresholds; and
 * standalone rule files for `agentrig proxy --rules`.
 *
 * Named faults are compiled here into proxy rules for refagent's dependency
 * API (docs/protocol.md: POST /tools/<name>, POST /v1/complete with "agent"),
 * so a scenario says what fails ("tool_failure: {tool: cost_db}") and not how
 * refagent's URLs look. Every rule goes through ar_px_rule_compile, so a rule
 * file and a scenario get the same checks and the same messages.
 */
#include "scenario_faults.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCNF_INT_MAX 9007199254740992.0 /* 2^53 */

static const char *const named_faults[] = {"tool_failure", "tool_timeout", "agent_timeout",
                                           "agent_failure", "rule"};
static const char *const tool_fault_keys[] = {"tool",  "status",      "delay",
                                              "times", "probability", "turn"};
static const char *const agent_fault_keys[] = {"agent", "status",      "delay",
                                               "times", "probability", "turn"};
static const char *const rule_keys[] = {
    "name",  "match", "times", "after",    "every",     "probability", "status", "body",
    "delay", "hang",  "reset", "truncate", "malformed", "throttle",    "toxics"};
static const char *const match_keys[] = {"method", "path", "body", "json", "header", "turn"};
static const char *const json_match_keys[] = {"pointer", "equals", "matches"};
static const char *const header_match_keys[] = {"name", "matches"};
/* Toxiproxy's own JSON nests the attributes; flat is shorter to write.
 * Both are accepted: {type: latency, latency: 100} or
 * {type: latency, attributes: {latency: 100}}. */
static const char *const toxic_keys[] = {
    "type",    "stream",       "toxicity",       "attributes", "name",  "latency", "jitter",
    "timeout", "average_size", "size_variation", "delay",      "bytes", "rate"};
static const char *const toxic_types[] = {"latency", "timeout",    "reset_peer",
                                          "slicer",  "limit_data", "bandwidth"};
static const ar_tox_kind toxic_kinds[] = {AR_TOX_LATENCY, AR_TOX_TIMEOUT,    AR_TOX_RESET_PEER,
                                          AR_TOX_SLICER,  AR_TOX_LIMIT_DATA, AR_TOX_BANDWIDTH};
static const char *const proxy_keys[] = {"listen", "upstream"};
static const char *const cf_keys[] = {"disconnect_after", "slow_reader",    "send_raw",
                                      "send_binary",      "send_oversized", "send_unknown_type"};
static const char *const disconnect_keys[] = {"events", "kind"};
static const char *const directive_keys[] = {"field", "header", "value"};
static const char *const rules_file_keys[] = {"rules", "faults"};

static ar_srcloc put_loc(ar_yt *l, const yaml_node_t *n, ar_px_rule *r)
{
    ar_srcloc loc = ar_yt_loc_of(l, n);
    r->file = loc.file;
    r->line = loc.line;
    r->col = loc.col;
    return loc;
}

/* The rule's own checks (regexes, ranges) with the rule's location. */
static ar_err compile_rule(ar_yt *l, ar_px_rule *r)
{
    char msg[512];
    if (ar_px_rule_compile(r, msg, sizeof msg) == AR_OK) return AR_OK;
    if (l->err && l->err_len) snprintf(l->err, l->err_len, "%s", msg);
    return AR_EINVAL;
}

static ar_err get_number(ar_yt *l, const yaml_node_t *n, const char *field, double *out)
{
    char buf[80];
    if (!ar_yt_is_scalar(n) || !ar_yt_parse_number_text(ar_yt_sval(n), out))
        return AR_YT_FAIL(l, n, "'%s' must be a number (got %s)", field,
                          ar_yt_got(n, buf, sizeof buf));
    return AR_OK;
}

static ar_err get_int64(ar_yt *l, const yaml_node_t *n, const char *field, int64_t *out)
{
    double v;
    AR_YT_TRY(get_number(l, n, field, &v));
    if (v < 0 || v != floor(v))
        return AR_YT_FAIL(l, n, "'%s' must be a whole number, 0 or more (got %s)", field,
                          ar_yt_sval(n));
    /* Checked before the cast: converting 1e90 to int64 is undefined
     * behaviour. 2^53 is where a double stops counting in ones. */
    if (v > SCNF_INT_MAX)
        return AR_YT_FAIL(l, n, "'%s' is out of range (got %s; at most %.0f)", field,
                          ar_yt_sval(n), SCNF_INT_MAX);
    *out = (int64_t)v;
    return AR_OK;
}

/* Schedule keys shared by raw rules and named faults; at most one. */
static ar_err parse_schedule(ar_yt *l, const yaml_node_t *n, bool named, ar_px_rule *r)
{
    static const char *const keys[] = {"times", "after", "every", "probability"};
    const yaml_node_t *seen = NULL;
    for (size_t i = 0; i < AR_ARRAY_LEN(keys); i++) {
        yaml_node_t *v = ar_yt_map_get(l, n, keys[i]);
        if (!v) continue;
        if (seen)
            return AR_YT_FAIL(l, v, "'%s' and '%s' cannot be combined: a rule has one schedule",
                              ar_yt_sval(seen), keys[i]);
        seen = v;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
            if (ar_yt_nd(l, p->value) == v) seen = ar_yt_nd(l, p->key);
        if (i == 3) {
            r->schedule = AR_PX_PROBABILITY;
            AR_YT_TRY(get_number(l, v, "probability", &r->p));
        } else {
            int64_t k;
            AR_YT_TRY(get_int64(l, v, keys[i], &k));
            r->n = (long)k;
            r->schedule = i == 0 ? AR_PX_FIRST_N : i == 1 ? AR_PX_AFTER_N : AR_PX_EVERY_K;
            /* times: 0 is "every call", the natural reading for a named fault;
             * in a raw rule it stays an error (ar_px_rule_compile says so). */
            if (named && i == 0 && k == 0) r->schedule = AR_PX_ALL;
        }
    }
    return AR_OK;
}

static int k_index(ar_tox_kind kind)
{
    for (size_t i = 0; i < AR_ARRAY_LEN(toxic_kinds); i++)
        if (toxic_kinds[i] == kind) return (int)i;
    return 0;
}

static ar_err parse_toxic(ar_yt *l, const yaml_node_t *n, ar_tox *t)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "a toxic must be a mapping like {type: latency, attributes: "
                          "{latency: 100}}");
    AR_YT_TRY(ar_yt_check_map(l, n, "toxic", toxic_keys, AR_ARRAY_LEN(toxic_keys)));
    yaml_node_t *v = ar_yt_map_get(l, n, "type");
    if (!v) return AR_YT_FAIL(l, n, "a toxic needs a 'type'");
    int k = ar_yt_is_scalar(v)
                ? ar_yt_name_index(toxic_types, AR_ARRAY_LEN(toxic_types), ar_yt_sval(v))
                : -1;
    if (k < 0) {
        char names[160], buf[80];
        ar_yt_join_names(toxic_types, AR_ARRAY_LEN(toxic_types), names, sizeof names);
        return AR_YT_FAIL(l, v, "unknown toxic type %s (valid: %s)", ar_yt_got(v, buf, sizeof buf),
                          names);
    }
    t->kind = toxic_kinds[k];
    t->toxicity = 1.0;
    if ((v = ar_yt_map_get(l, n, "stream"))) {
        static const char *const streams[] = {"downstream", "upstream"};
        int s = ar_yt_is_scalar(v) ? ar_yt_name_index(streams, 2, ar_yt_sval(v)) : -1;
        char buf[80];
        if (s < 0)
            return AR_YT_FAIL(l, v, "unknown stream %s (valid: downstream, upstream)",
                              ar_yt_got(v, buf, sizeof buf));
        t->upstream = s == 1;
    }
    if ((v = ar_yt_map_get(l, n, "toxicity")))
        AR_YT_TRY(get_number(l, v, "toxicity", &t->toxicity));
    const yaml_node_t *attrs = ar_yt_map_get(l, n, "attributes");
    /* Toxiproxy's attribute names, per type. */
    static const char *const lat[] = {"latency", "jitter"};
    static const char *const tmo[] = {"timeout"};
    static const char *const sli[] = {"average_size", "size_variation", "delay"};
    static const char *const lim[] = {"bytes"};
    static const char *const bw[] = {"rate"};
    const char *const *valid;
    size_t nv;
    switch (t->kind) {
    case AR_TOX_LATENCY:
        valid = lat, nv = 2;
        break;
    case AR_TOX_TIMEOUT:
    case AR_TOX_RESET_PEER:
        valid = tmo, nv = 1;
        break;
    case AR_TOX_SLICER:
        valid = sli, nv = 3;
        break;
    case AR_TOX_LIMIT_DATA:
        valid = lim, nv = 1;
        break;
    default:
        valid = bw, nv = 1;
        break;
    }
    if (attrs) {
        AR_YT_TRY(ar_yt_check_map(l, attrs, "attributes", valid, nv));
    } else {
        /* Flat form: any attribute key present must belong to this type. */
        for (size_t i = 5; i < AR_ARRAY_LEN(toxic_keys); i++) {
            yaml_node_t *key = NULL;
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
                 p++)
                if (!strcmp(ar_yt_sval(ar_yt_nd(l, p->key)), toxic_keys[i]))
                    key = ar_yt_nd(l, p->key);
            if (key && ar_yt_name_index(valid, nv, toxic_keys[i]) < 0) {
                char names[160];
                ar_yt_join_names(valid, nv, names, sizeof names);
                return AR_YT_FAIL(l, key, "'%s' is not an attribute of a %s toxic (valid: %s)",
                                  toxic_keys[i], toxic_types[k_index(t->kind)], names);
            }
        }
        attrs = n;
    }
    struct {
        const char *name;
        int64_t *dst;
    } map[] = {{"latency", &t->latency_ms},
               {"jitter", &t->jitter_ms},
               {"timeout", &t->timeout_ms},
               {"average_size", &t->average_size},
               {"size_variation", &t->size_variation},
               {"delay", &t->delay_us},
               {"bytes", &t->bytes},
               {"rate", &t->rate_kbps}};
    for (size_t i = 0; i < AR_ARRAY_LEN(map); i++)
        if ((v = ar_yt_map_get(l, attrs, map[i].name)))
            AR_YT_TRY(get_int64(l, v, map[i].name, map[i].dst));
    return AR_OK;
}

static ar_err parse_match(ar_yt *l, const yaml_node_t *n, ar_px_rule *r)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'match' must be a mapping like {method: POST, path: '^/tools/'}");
    AR_YT_TRY(ar_yt_check_map(l, n, "match", match_keys, AR_ARRAY_LEN(match_keys)));
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "method")))
        AR_YT_TRY(ar_yt_get_string(l, v, "method", false, &r->method));
    if ((v = ar_yt_map_get(l, n, "path")))
        AR_YT_TRY(ar_yt_get_string(l, v, "path", false, &r->path_regex));
    if ((v = ar_yt_map_get(l, n, "body")))
        AR_YT_TRY(ar_yt_get_string(l, v, "body", false, &r->body_regex));
    if ((v = ar_yt_map_get(l, n, "turn"))) AR_YT_TRY(ar_yt_get_count(l, v, "turn", &r->turn));
    if ((v = ar_yt_map_get(l, n, "json"))) {
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v,
                              "'json' must be a mapping like {pointer: /agent, equals: Data}");
        AR_YT_TRY(ar_yt_check_map(l, v, "json", json_match_keys, AR_ARRAY_LEN(json_match_keys)));
        yaml_node_t *p = ar_yt_map_get(l, v, "pointer");
        if (!p) return AR_YT_FAIL(l, v, "'json' needs a 'pointer'");
        AR_YT_TRY(ar_yt_get_string(l, p, "pointer", true, &r->json_pointer));
        AR_YT_TRY(ar_yt_check_pointer(l, p, r->json_pointer));
        yaml_node_t *e = ar_yt_map_get(l, v, "equals"), *m = ar_yt_map_get(l, v, "matches");
        if (e && m) return AR_YT_FAIL(l, m, "'json' takes 'equals' or 'matches', not both");
        if (e) AR_YT_TRY(ar_yt_get_string(l, e, "equals", true, &r->json_equals));
        if (m) AR_YT_TRY(ar_yt_get_string(l, m, "matches", false, &r->json_matches));
    }
    if ((v = ar_yt_map_get(l, n, "header"))) {
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v,
                              "'header' must be a mapping like {name: X-Test, matches: 'yes'}");
        AR_YT_TRY(
            ar_yt_check_map(l, v, "header", header_match_keys, AR_ARRAY_LEN(header_match_keys)));
        yaml_node_t *h = ar_yt_map_get(l, v, "name");
        if (!h) return AR_YT_FAIL(l, v, "'header' needs a 'name'");
        AR_YT_TRY(ar_yt_get_string(l, h, "name", false, &r->header_name));
        if ((h = ar_yt_map_get(l, v, "matches")))
            AR_YT_TRY(ar_yt_get_string(l, h, "matches", false, &r->header_regex));
    }
    return AR_OK;
}

/* The action keys of a raw rule; at most one action. */
static ar_err parse_action(ar_yt *l, const yaml_node_t *n, ar_px_rule *r)
{
    static const char *const acts[] = {"status",   "delay",     "hang",    "reset",
                                       "truncate", "malformed", "throttle"};
    const char *seen = NULL;
    for (size_t i = 0; i < AR_ARRAY_LEN(acts); i++) {
        yaml_node_t *v = ar_yt_map_get(l, n, acts[i]);
        if (!v) continue;
        if (seen)
            return AR_YT_FAIL(l, v, "'%s' and '%s' cannot be combined: a rule has one action", seen,
                              acts[i]);
        seen = acts[i];
        bool on = true;
        int64_t k = 0;
        switch (i) {
        case 0: {
            int st;
            AR_YT_TRY(ar_yt_get_count(l, v, "status", &st));
            r->action = AR_PX_RESPOND;
            r->status = st;
            break;
        }
        case 1:
            r->action = AR_PX_DELAY;
            AR_YT_TRY(ar_yt_get_duration(l, v, "delay", &r->delay_us));
            break;
        case 2: /* hang: true (until the client gives up) or hang: 5s */
            r->action = AR_PX_HANG;
            if (ar_yt_is_scalar(v) &&
                (!strcmp(ar_yt_sval(v), "true") || !strcmp(ar_yt_sval(v), "false")))
                AR_YT_TRY(ar_yt_get_bool(l, v, "hang", &on));
            else
                AR_YT_TRY(ar_yt_get_duration(l, v, "hang", &r->hang_us));
            break;
        case 3:
        case 5:
            AR_YT_TRY(ar_yt_get_bool(l, v, acts[i], &on));
            r->action = i == 3 ? AR_PX_RESET : AR_PX_MALFORMED;
            break;
        case 4:
            AR_YT_TRY(get_int64(l, v, "truncate", &k));
            r->action = AR_PX_TRUNCATE;
            r->truncate_bytes = k;
            break;
        default:
            AR_YT_TRY(get_int64(l, v, "throttle", &k));
            r->action = AR_PX_THROTTLE;
            r->bytes_per_s = k;
            break;
        }
        if (!on) r->action = AR_PX_FORWARD;
    }
    yaml_node_t *b = ar_yt_map_get(l, n, "body");
    if (b) {
        if (r->action != AR_PX_RESPOND)
            return AR_YT_FAIL(l, b, "'body' goes with 'status' (the response to send)");
        AR_YT_TRY(ar_yt_get_string(l, b, "body", true, &r->body));
    }
    return AR_OK;
}

static ar_err parse_raw_rule(ar_yt *l, const yaml_node_t *n, ar_px_rule *r)
{
    put_loc(l, n, r);
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "a rule must be a mapping with 'match' and an action");
    AR_YT_TRY(ar_yt_check_map(l, n, "rule", rule_keys, AR_ARRAY_LEN(rule_keys)));
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "name")))
        AR_YT_TRY(ar_yt_get_string(l, v, "name", false, &r->name));
    if ((v = ar_yt_map_get(l, n, "match"))) AR_YT_TRY(parse_match(l, v, r));
    AR_YT_TRY(parse_schedule(l, n, false, r));
    AR_YT_TRY(parse_action(l, n, r));
    if ((v = ar_yt_map_get(l, n, "toxics"))) {
        if (v->type != YAML_SEQUENCE_NODE) return AR_YT_FAIL(l, v, "'toxics' must be a list");
        size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        r->toxics = calloc(cnt ? cnt : 1, sizeof *r->toxics);
        if (!r->toxics) return ar_yt_fail_oom(l);
        for (size_t i = 0; i < cnt; i++) {
            r->n_toxics++;
            AR_YT_TRY(parse_toxic(l, ar_yt_nd(l, v->data.sequence.items.start[i]), &r->toxics[i]));
        }
    }
    if (r->action == AR_PX_FORWARD && r->n_toxics == 0)
        return AR_YT_FAIL(l, n,
                          "the rule does nothing: give it an action (status, delay, hang, "
                          "reset, truncate, malformed, throttle) or toxics");
    return compile_rule(l, r);
}

/* ^/tools/<name>(?|$) with the name quoted, whatever it contains. */
static char *tool_path_regex(const char *tool)
{
    ar_buf b;
    ar_buf_init(&b, 4096);
    ar_buf_puts(&b, "^/tools/");
    for (const char *c = tool; *c; c++) {
        if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9') &&
            *c != '_' && *c != '-')
            ar_buf_append(&b, "\\", 1);
        ar_buf_append(&b, c, 1);
    }
    ar_buf_puts(&b, "(\\?|$)");
    return ar_buf_take(&b);
}

static ar_err parse_named(ar_yt *l, const yaml_node_t *key, const yaml_node_t *n, int which,
                          ar_fault *f)
{
    bool tool = which == 0 || which == 1;
    bool timeout = which == 1 || which == 2;
    const char *type = named_faults[which];
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'%s' must be a mapping like {%s: %s}", type,
                          tool ? "tool" : "agent", tool ? "cost_db" : "Data");
    AR_YT_TRY(
        ar_yt_check_map(l, n, type, tool ? tool_fault_keys : agent_fault_keys,
                        tool ? AR_ARRAY_LEN(tool_fault_keys) : AR_ARRAY_LEN(agent_fault_keys)));
    f->type = strdup(type);
    f->rules = calloc(1, sizeof *f->rules);
    if (!f->type || !f->rules) return ar_yt_fail_oom(l);
    ar_px_rule *r = f->rules;
    ar_px_rule_init(r);
    f->n_rules = 1;
    put_loc(l, key, r);
    yaml_node_t *v = ar_yt_map_get(l, n, tool ? "tool" : "agent");
    if (!v) return AR_YT_FAIL(l, n, "'%s' needs '%s'", type, tool ? "tool" : "agent");
    AR_YT_TRY(ar_yt_get_string(l, v, tool ? "tool" : "agent", false, &f->subject));
    r->name = strdup(type);
    r->method = strdup("POST");
    if (tool) {
        r->path_regex = tool_path_regex(f->subject);
    } else {
        r->path_regex = strdup("^/v1/complete(\\?|$)");
        r->json_pointer = strdup("/agent");
        r->json_equals = strdup(f->subject);
        if (!r->json_pointer || !r->json_equals) return ar_yt_fail_oom(l);
    }
    if (!r->name || !r->method || !r->path_regex) return ar_yt_fail_oom(l);
    AR_YT_TRY(parse_schedule(l, n, true, r));
    if (r->schedule == AR_PX_FIRST_N) f->times = (int)r->n;
    if ((v = ar_yt_map_get(l, n, "turn"))) AR_YT_TRY(ar_yt_get_count(l, v, "turn", &r->turn));
    yaml_node_t *st = ar_yt_map_get(l, n, "status"), *dl = ar_yt_map_get(l, n, "delay");
    if (timeout) {
        if (st) return AR_YT_FAIL(l, st, "'%s' takes 'delay', not 'status'", type);
        if (!dl)
            return AR_YT_FAIL(l, n,
                              "'%s' needs 'delay': how long the call is held, longer than "
                              "the service's own timeout",
                              type);
        r->action = AR_PX_DELAY;
        AR_YT_TRY(ar_yt_get_duration(l, dl, "delay", &r->delay_us));
    } else {
        if (dl) return AR_YT_FAIL(l, dl, "'%s' takes 'status', not 'delay'", type);
        r->action = AR_PX_RESPOND;
        r->status = tool ? 503 : 500;
        if (st) AR_YT_TRY(ar_yt_get_count(l, st, "status", &r->status));
        r->body = ar_asprintf("{\"error\":\"injected by agentrig: %s on %s\"}", type, f->subject);
        if (!r->body) return ar_yt_fail_oom(l);
    }
    return compile_rule(l, r);
}

static ar_err parse_fault_item(ar_yt *l, const yaml_node_t *n, ar_fault *f)
{
    f->loc = ar_yt_loc_of(l, n);
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return AR_YT_FAIL(l, n,
                          "a fault is a mapping with one key: tool_failure, tool_timeout, "
                          "agent_timeout, agent_failure or rule");
    yaml_node_pair_t *p = n->data.mapping.pairs.start;
    yaml_node_t *k = ar_yt_nd(l, p->key), *v = ar_yt_nd(l, p->value);
    AR_YT_TRY(ar_yt_check_map(l, n, "fault", named_faults, AR_ARRAY_LEN(named_faults)));
    int which = ar_yt_name_index(named_faults, AR_ARRAY_LEN(named_faults), ar_yt_sval(k));
    if (which < 4) return parse_named(l, k, v, which, f);
    f->rules = calloc(1, sizeof *f->rules);
    if (!f->rules) return ar_yt_fail_oom(l);
    ar_px_rule_init(f->rules);
    f->n_rules = 1;
    AR_YT_TRY(parse_raw_rule(l, v, f->rules));
    f->type = strdup(f->rules->name ? f->rules->name : "rule");
    return f->type ? AR_OK : ar_yt_fail_oom(l);
}

ar_err ar_scnf_parse_faults(ar_yt *l, const yaml_node_t *n, ar_fault **out, size_t *n_out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, n, "'faults' must be a list, e.g. [{tool_failure: {tool: cost_db}}]");
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    if (!*out) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        (*n_out)++;
        AR_YT_TRY(parse_fault_item(l, ar_yt_nd(l, n->data.sequence.items.start[i]), &(*out)[i]));
    }
    return AR_OK;
}

ar_err ar_scnf_parse_proxy(ar_yt *l, const yaml_node_t *n, ar_scenario *s)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "'proxy' must be a mapping like {listen: 127.0.0.1:9100, "
                          "upstream: http://tools:8000}");
    AR_YT_TRY(ar_yt_check_map(l, n, "proxy", proxy_keys, AR_ARRAY_LEN(proxy_keys)));
    yaml_node_t *v;
    if ((v = ar_yt_map_get(l, n, "listen")))
        AR_YT_TRY(ar_yt_get_string(l, v, "listen", false, &s->proxy_listen));
    if ((v = ar_yt_map_get(l, n, "upstream"))) {
        AR_YT_TRY(ar_yt_get_string(l, v, "upstream", false, &s->proxy_upstream_tpl));
        AR_YT_TRY(ar_yt_check_tpl(l, v, "upstream", s->proxy_upstream_tpl));
    }
    return AR_OK;
}

/* A threshold list: strings ("p(95)<15s") or k6's object form
 * ({threshold: "p(95)<15s", abortOnFail: true, delayAbortEval: 10s}). */
static ar_err parse_threshold_list(ar_yt *l, const yaml_node_t *v, ar_scn_threshold *t)
{
    static const char *const keys[] = {"threshold", "abortOnFail", "delayAbortEval"};
    if (v->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, v, "'%s' must be a list of thresholds, e.g. [\"p(95) < 15s\"]",
                          t->metric);
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    t->exprs = calloc(cnt ? cnt : 1, sizeof *t->exprs);
    t->abort_on_fail = calloc(cnt ? cnt : 1, sizeof *t->abort_on_fail);
    t->delay_abort_us = calloc(cnt ? cnt : 1, sizeof *t->delay_abort_us);
    if (!t->exprs || !t->abort_on_fail || !t->delay_abort_us) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *x = ar_yt_nd(l, v->data.sequence.items.start[i]);
        size_t k = t->n_exprs++;
        if (x->type != YAML_MAPPING_NODE) {
            AR_YT_TRY(ar_yt_get_string(l, x, t->metric, false, &t->exprs[k]));
            continue;
        }
        AR_YT_TRY(ar_yt_check_map(l, x, "threshold", keys, AR_ARRAY_LEN(keys)));
        yaml_node_t *e = ar_yt_map_get(l, x, "threshold"), *a = ar_yt_map_get(l, x, "abortOnFail"),
                    *d = ar_yt_map_get(l, x, "delayAbortEval");
        if (!e) return AR_YT_FAIL(l, x, "a threshold in object form needs 'threshold'");
        AR_YT_TRY(ar_yt_get_string(l, e, "threshold", false, &t->exprs[k]));
        if (a) AR_YT_TRY(ar_yt_get_bool(l, a, "abortOnFail", &t->abort_on_fail[k]));
        if (d) AR_YT_TRY(ar_yt_get_duration(l, d, "delayAbortEval", &t->delay_abort_us[k]));
    }
    return AR_OK;
}

ar_err ar_scnf_parse_thresholds(ar_yt *l, const yaml_node_t *n, ar_scenario *s)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "'thresholds' must be a mapping like {recovery: [\"rate >= 0.66\"]}");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    s->thresholds = calloc(cnt ? cnt : 1, sizeof *s->thresholds);
    if (!s->thresholds) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        yaml_node_t *k = ar_yt_nd(l, p->key), *v = ar_yt_nd(l, p->value);
        ar_scn_threshold *t = &s->thresholds[s->n_thresholds++];
        t->loc = ar_yt_loc_of(l, k);
        AR_YT_TRY(ar_yt_get_string(l, k, "threshold metric", false, &t->metric));
        AR_YT_TRY(parse_threshold_list(l, v, t));
        if (t->n_exprs == 0)
            return AR_YT_FAIL(l, v, "'%s' has no threshold expressions", t->metric);
        for (size_t e = 0; e < t->n_exprs; e++) {
            ar_threshold thr;
            char msg[256];
            if (ar_thr_parse(t->exprs[e], &thr, msg, sizeof msg) != AR_OK)
                return AR_YT_FAIL(l, v, "threshold '%s' on %s: %s", t->exprs[e], t->metric, msg);
        }
    }
    return AR_OK;
}

ar_err ar_scnf_parse_stages(ar_yt *l, const yaml_node_t *n, ar_scenario *s)
{
    static const char *const keys[] = {"duration", "target"};
    if (n->type != YAML_SEQUENCE_NODE)
        return AR_YT_FAIL(l, n, "'stages' must be a list like [{duration: 30s, target: 100}]");
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    s->stages = calloc(cnt ? cnt : 1, sizeof *s->stages);
    if (!s->stages) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *st = ar_yt_nd(l, n->data.sequence.items.start[i]);
        if (st->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, st, "a stage is a mapping like {duration: 30s, target: 100}");
        AR_YT_TRY(ar_yt_check_map(l, st, "stage", keys, 2));
        yaml_node_t *d = ar_yt_map_get(l, st, "duration"), *t = ar_yt_map_get(l, st, "target");
        if (!d || !t) return AR_YT_FAIL(l, st, "a stage needs 'duration' and 'target'");
        ar_stage *sg = &s->stages[s->n_stages++];
        AR_YT_TRY(ar_yt_get_duration(l, d, "duration", &sg->duration_us));
        AR_YT_TRY(get_number(l, t, "target", &sg->target));
        if (sg->target < 0) return AR_YT_FAIL(l, t, "'target' must be 0 or more");
    }
    return AR_OK;
}

ar_err ar_scnf_parse_directive(ar_yt *l, const yaml_node_t *n, bool scenario_level, ar_directive *d)
{
    d->loc = ar_yt_loc_of(l, n);
    if (ar_yt_is_scalar(n)) { /* shorthand: the value, in the message field "fault_directive" */
        AR_YT_TRY(ar_yt_get_string(l, n, "fault_directive", false, &d->value_tpl));
        d->field = strdup("fault_directive");
        if (!d->field) return ar_yt_fail_oom(l);
        return ar_yt_check_tpl(l, n, "fault_directive", d->value_tpl);
    }
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n,
                          "'fault_directive' must be a string or a mapping like "
                          "{field: fault, value: 'fail_tool=cost_db'}");
    AR_YT_TRY(
        ar_yt_check_map(l, n, "fault_directive", directive_keys, AR_ARRAY_LEN(directive_keys)));
    yaml_node_t *f = ar_yt_map_get(l, n, "field"), *h = ar_yt_map_get(l, n, "header"),
                *v = ar_yt_map_get(l, n, "value");
    if (f && h) return AR_YT_FAIL(l, h, "'fault_directive' takes 'field' or 'header', not both");
    if (h && !scenario_level)
        return AR_YT_FAIL(l, h,
                          "a header directive goes at the scenario level: headers are sent "
                          "once, when the connection opens");
    if (!v) return AR_YT_FAIL(l, n, "'fault_directive' needs a 'value'");
    AR_YT_TRY(ar_yt_get_string(l, v, "value", false, &d->value_tpl));
    AR_YT_TRY(ar_yt_check_tpl(l, v, "value", d->value_tpl));
    if (h) return ar_yt_get_string(l, h, "header", false, &d->header);
    if (f) return ar_yt_get_string(l, f, "field", false, &d->field);
    d->field = strdup("fault_directive");
    return d->field ? AR_OK : ar_yt_fail_oom(l);
}

ar_err ar_scnf_parse_client_fault(ar_yt *l, const yaml_node_t *n, ar_client_fault *cf)
{
    cf->loc = ar_yt_loc_of(l, n);
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return AR_YT_FAIL(l, n,
                          "'client_fault' is a mapping with one key: disconnect_after, "
                          "slow_reader, send_raw, send_binary, send_oversized or "
                          "send_unknown_type");
    AR_YT_TRY(ar_yt_check_map(l, n, "client_fault", cf_keys, AR_ARRAY_LEN(cf_keys)));
    yaml_node_pair_t *p = n->data.mapping.pairs.start;
    yaml_node_t *k = ar_yt_nd(l, p->key), *v = ar_yt_nd(l, p->value);
    int which = ar_yt_name_index(cf_keys, AR_ARRAY_LEN(cf_keys), ar_yt_sval(k));
    switch (which) {
    case 0: {
        cf->kind = AR_CF_DISCONNECT;
        if (v->type != YAML_MAPPING_NODE)
            return AR_YT_FAIL(l, v,
                              "'disconnect_after' must be {events: N} or {kind: tool_executing}");
        AR_YT_TRY(ar_yt_check_map(l, v, "disconnect_after", disconnect_keys,
                                  AR_ARRAY_LEN(disconnect_keys)));
        yaml_node_t *e = ar_yt_map_get(l, v, "events"), *kd = ar_yt_map_get(l, v, "kind");
        if (!!e == !!kd)
            return AR_YT_FAIL(l, v, "'disconnect_after' takes exactly one of 'events' and 'kind'");
        if (e) {
            AR_YT_TRY(ar_yt_get_count(l, e, "events", &cf->events));
            if (cf->events < 1) return AR_YT_FAIL(l, e, "'events' must be 1 or more");
        } else {
            cf->has_kind_after = true;
            AR_YT_TRY(ar_yt_get_kind(l, kd, &cf->kind_after));
        }
        return AR_OK;
    }
    case 1:
        cf->kind = AR_CF_SLOW_READER;
        return ar_yt_get_duration(l, v, "slow_reader", &cf->pause_us);
    case 2:
        cf->kind = AR_CF_SEND_RAW;
        return ar_yt_get_string(l, v, "send_raw", true, &cf->raw);
    case 3:
    case 4: {
        cf->kind = which == 3 ? AR_CF_SEND_BINARY : AR_CF_SEND_OVERSIZED;
        AR_YT_TRY(get_int64(l, v, cf_keys[which], &cf->bytes));
        if (cf->bytes < 1 || cf->bytes > 64 * 1024 * 1024)
            return AR_YT_FAIL(l, v, "'%s' must be between 1 and 67108864 bytes", cf_keys[which]);
        return AR_OK;
    }
    default: {
        bool on;
        AR_YT_TRY(ar_yt_get_bool(l, v, "send_unknown_type", &on));
        cf->kind = on ? AR_CF_SEND_UNKNOWN_TYPE : AR_CF_NONE;
        return AR_OK;
    }
    }
}

ar_err ar_scnf_parse_rules_file(ar_yt *l, const yaml_node_t *root, ar_px_rule **out, size_t *n_out)
{
    if (root->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, root, "a rules file must be a mapping with 'rules' and/or 'faults'");
    AR_YT_TRY(
        ar_yt_check_map(l, root, "rules file", rules_file_keys, AR_ARRAY_LEN(rules_file_keys)));
    yaml_node_t *rules = ar_yt_map_get(l, root, "rules"),
                *faults = ar_yt_map_get(l, root, "faults");
    if (!rules && !faults) return AR_YT_FAIL(l, root, "the rules file has no 'rules' or 'faults'");
    size_t cap = 0;
    if (rules) {
        if (rules->type != YAML_SEQUENCE_NODE)
            return AR_YT_FAIL(l, rules, "'rules' must be a list");
        cap += (size_t)(rules->data.sequence.items.top - rules->data.sequence.items.start);
    }
    ar_fault *fs = NULL;
    size_t nf = 0;
    ar_err rc = AR_OK;
    if (faults && (rc = ar_scnf_parse_faults(l, faults, &fs, &nf)) != AR_OK) goto out;
    for (size_t i = 0; i < nf; i++)
        cap += fs[i].n_rules;
    *out = calloc(cap ? cap : 1, sizeof **out);
    if (!*out) {
        rc = ar_yt_fail_oom(l);
        goto out;
    }
    if (rules) {
        for (yaml_node_item_t *it = rules->data.sequence.items.start;
             it < rules->data.sequence.items.top; it++) {
            ar_px_rule *r = &(*out)[(*n_out)++];
            ar_px_rule_init(r);
            if ((rc = parse_raw_rule(l, ar_yt_nd(l, *it), r)) != AR_OK) goto out;
        }
    }
    for (size_t i = 0; i < nf; i++)
        for (size_t k = 0; k < fs[i].n_rules; k++) {
            ar_px_rule *r = &(*out)[(*n_out)++];
            ar_px_rule_init(r);
            if ((rc = ar_px_rule_copy(r, &fs[i].rules[k])) != AR_OK) {
                rc = ar_yt_fail_oom(l);
                goto out;
            }
        }
out:
    for (size_t i = 0; i < nf; i++)
        ar_scnf_fault_clear(&fs[i]);
    free(fs);
    return rc;
}

void ar_scnf_fault_clear(ar_fault *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n_rules; i++)
        ar_px_rule_clear(&f->rules[i]);
    free(f->rules);
    free(f->type);
    free(f->subject);
    memset(f, 0, sizeof *f);
}

void ar_scnf_directive_clear(ar_directive *d)
{
    free(d->field);
    free(d->header);
    free(d->value_tpl);
    memset(d, 0, sizeof *d);
}

void ar_scnf_client_fault_clear(ar_client_fault *cf)
{
    free(cf->raw);
    memset(cf, 0, sizeof *cf);
}

void ar_scnf_threshold_clear(ar_scn_threshold *t)
{
    for (size_t i = 0; i < t->n_exprs; i++)
        free(t->exprs[i]);
    free(t->exprs);
    free(t->abort_on_fail);
    free(t->delay_abort_us);
    free(t->metric);
    memset(t, 0, sizeof *t);
}

const char *ar_cf_kind_name(ar_cf_kind k)
{
    switch (k) {
    case AR_CF_DISCONNECT:
        return "disconnect";
    case AR_CF_SLOW_READER:
        return "slow_reader";
    case AR_CF_SEND_RAW:
        return "malformed_frame";
    case AR_CF_SEND_BINARY:
        return "binary_frame";
    case AR_CF_SEND_OVERSIZED:
        return "oversized_frame";
    case AR_CF_SEND_UNKNOWN_TYPE:
        return "unknown_type";
    default:
        return "none";
    }
}
