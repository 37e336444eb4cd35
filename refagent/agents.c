/*
 * agents.c - the orchestration of one turn (see agents.h).
 *
 * Every decision that a fault should be able to disturb goes through the
 * link: Triage's route comes from the model, figures come from the tools.
 * What is decided here is the shape of the call chain and how failures are
 * surfaced and recovered from:
 *   - a tool that fails twice becomes tool_completed/status=error and a
 *     partial answer that names the missing data;
 *   - a specialist whose model call fails streams an error event and its
 *     agent_completed/status=error, then a fallback agent (a real run under
 *     the same parent) does a simpler job in its place;
 *   - Triage failing makes the Supervisor route by keyword itself;
 *   - the Supervisor's answer failing makes the root status error;
 *   - the turn deadline cancels the work that has not started, keeping a
 *     reserve so that the answer is still written in time.
 * In every case the turn ends with the root agent_completed.
 */
#include "agents.h"
#include "model.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer step keeps this share of the turn deadline (capped by the call timeout). */
#define RA_ANSWER_RESERVE_DIVISOR 10
#define RA_INJECTED_MODEL_ERR "HTTP 500 (injected by fault_directive)"
#define RA_INJECTED_TOOL_ERR "HTTP 503 (injected by fault_directive)"

static atomic_uint_fast64_t g_next_run = 1;
static atomic_uint_fast64_t g_next_call = 1;

typedef struct {
    const ra_agents_cfg *cfg;
    ra_link *link;
    const ra_turn *t;
    ra_emit_fn emit;
    void *emit_ctx;
    cJSON *memory;   /* the facts as JSON, sent to model and tools */
    cJSON *findings; /* what the Supervisor synthesises from */
    cJSON *intents;  /* borrowed from findings */
    int64_t total_in, total_out;
    int64_t deadline_us;      /* the root must complete by then; 0 = none */
    int64_t work_deadline_us; /* agents and tools stop here; the rest is the answer's */
} turn_ctx;

typedef struct {
    const char *name;
    char run_id[32];
    const char *parent; /* NULL for the root run */
    int64_t start_us;
    int64_t in_tokens, out_tokens;
} run;

double ra_agents_cost_usd(int64_t input_tokens, int64_t output_tokens)
{
    /* $3 per million input tokens, $15 per million output tokens. */
    return (double)input_tokens * 3e-6 + (double)output_tokens * 15e-6;
}

const char *ra_agents_fallback(const char *agent)
{
    if (strcmp(agent, "Data") == 0) return "Estimator";
    if (strcmp(agent, "Optimization") == 0) return "Planner";
    if (strcmp(agent, "Compliance") == 0) return "Auditor";
    return NULL;
}

static void add_int(cJSON *o, const char *key, int64_t v)
{
    /* cJSON prints up to 15 significant digits exactly; larger integers go
     * out as raw text so they never appear in exponent form. */
    if (v > -1000000000000000LL && v < 1000000000000000LL) {
        cJSON_AddNumberToObject(o, key, (double)v);
        return;
    }
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    cJSON_AddRawToObject(o, key, buf);
}

static cJSON *find(const turn_ctx *tc, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(tc->findings, key);
}

/* Milliseconds left before the work deadline (or, for the answer, the turn's). */
static long left_ms(const turn_ctx *tc, bool answer)
{
    int64_t until = answer ? tc->deadline_us : tc->work_deadline_us;
    if (!tc->deadline_us) return LONG_MAX;
    int64_t left = (until - ra_now_us()) / 1000;
    return left > 0 ? (long)left : 0;
}

static void deadline_msg(const turn_ctx *tc, char *err, size_t err_len)
{
    snprintf(err, err_len, "turn deadline reached (%ld ms)", tc->cfg->turn_deadline_ms);
}

static cJSON *ev_new(turn_ctx *tc, const char *type, const run *r)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "thread_id", tc->t->thread_id);
    cJSON_AddNumberToObject(e, "turn", tc->t->turn);
    cJSON_AddStringToObject(e, "agent", r->name);
    cJSON_AddStringToObject(e, "run_id", r->run_id);
    if (r->parent)
        cJSON_AddStringToObject(e, "parent_run_id", r->parent);
    else
        cJSON_AddNullToObject(e, "parent_run_id");
    return e;
}

static void run_begin(turn_ctx *tc, run *r, const char *name, const char *parent)
{
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->parent = parent;
    snprintf(r->run_id, sizeof(r->run_id), "run-%" PRIuFAST64, atomic_fetch_add(&g_next_run, 1));
    r->start_us = ra_now_us();
    tc->emit(tc->emit_ctx, ev_new(tc, "agent_started", r));
}

/*
 * A reasoning step: one frame with the whole text, or, with thinking_deltas
 * N, exactly N frames whose deltas concatenate to the text (split on UTF-8
 * character boundaries; trailing deltas are empty when the text is short),
 * the way a streaming LLM API delivers tokens.
 */
static void emit_thinking(turn_ctx *tc, const run *r, const char *text)
{
    int n = tc->cfg->thinking_deltas;
    if (n <= 0) {
        cJSON *e = ev_new(tc, "agent_thinking", r);
        cJSON_AddStringToObject(e, "text", text);
        tc->emit(tc->emit_ctx, e);
        return;
    }
    size_t len = strlen(text), pos = 0;
    for (int i = 0; i < n; i++) {
        size_t end = i == n - 1 ? len : len * (size_t)(i + 1) / (size_t)n;
        if (end < pos) end = pos;
        while (end < len && ((unsigned char)text[end] & 0xC0) == 0x80)
            end++;
        char *piece = malloc(end - pos + 1);
        if (piece) {
            memcpy(piece, text + pos, end - pos);
            piece[end - pos] = '\0';
        }
        cJSON *e = ev_new(tc, "agent_thinking", r);
        cJSON_AddStringToObject(e, "delta", piece ? piece : "");
        cJSON_AddNumberToObject(e, "index", i);
        cJSON_AddBoolToObject(e, "last", i == n - 1);
        free(piece);
        tc->emit(tc->emit_ctx, e);
        pos = end;
    }
}

/* Takes result. For the root, usage is the turn's total and duration the turn's. */
static void run_end(turn_ctx *tc, const run *r, bool ok, cJSON *result)
{
    cJSON *e = ev_new(tc, "agent_completed", r);
    cJSON_AddStringToObject(e, "status", ok ? "ok" : "error");
    cJSON_AddItemToObject(e, "result", result ? result : cJSON_CreateObject());
    int64_t in = r->parent ? r->in_tokens : tc->total_in;
    int64_t out = r->parent ? r->out_tokens : tc->total_out;
    cJSON *u = cJSON_AddObjectToObject(e, "usage");
    add_int(u, "input_tokens", in);
    add_int(u, "output_tokens", out);
    cJSON_AddNumberToObject(u, "cost_usd", ra_agents_cost_usd(in, out));
    add_int(e, "duration_us", ra_now_us() - r->start_us);
    tc->emit(tc->emit_ctx, e);
}

static void emit_run_error(turn_ctx *tc, const run *r, const char *code, const char *msg)
{
    cJSON *e = ev_new(tc, "error", r);
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    tc->emit(tc->emit_ctx, e);
}

/* Returns the new failed_agents entry (borrowed) so callers can annotate it. */
static cJSON *note_failed_agent(turn_ctx *tc, const char *agent, const char *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "agent", agent);
    cJSON_AddStringToObject(o, "error", err);
    cJSON_AddItemToArray(find(tc, "failed_agents"), o);
    return o;
}

/*
 * Ends a run whose model call failed: the error event, then its
 * agent_completed with status error. Returns the failed_agents entry.
 */
static cJSON *fail_run(turn_ctx *tc, const run *r, const char *err)
{
    char msg[300];
    snprintf(msg, sizeof(msg), "model call failed: %s", err);
    emit_run_error(tc, r, "model_error", msg);
    cJSON *entry = note_failed_agent(tc, r->name, msg);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "error", msg);
    run_end(tc, r, false, res);
    return entry;
}

/*
 * One reasoning step: think time, then a model call bounded by the call
 * timeout and the deadline, with the turn's injected faults applied first.
 * `extra` (taken, may be NULL) is merged into the request. Returns the owned
 * reply or NULL with err set; usage is charged to r.
 */
static cJSON *model_call(turn_ctx *tc, run *r, const char *step, cJSON *extra, char *err,
                         size_t err_len)
{
    bool answer = strcmp(step, "answer") == 0;
    long left = left_ms(tc, answer);
    ra_sleep_ms(tc->cfg->think_ms < left ? tc->cfg->think_ms : (int)left);
    left = left_ms(tc, answer);
    long timeout = tc->cfg->dep_timeout_ms < left ? tc->cfg->dep_timeout_ms : left;
    bool clipped = timeout < tc->cfg->dep_timeout_ms;
    if (timeout < 1) {
        cJSON_Delete(extra);
        deadline_msg(tc, err, err_len);
        return NULL;
    }
    if (ra_faults_agent_fails(tc->t->faults, r->name)) {
        cJSON_Delete(extra);
        snprintf(err, err_len, "%s", RA_INJECTED_MODEL_ERR);
        return NULL;
    }
    int delay_ms = ra_faults_agent_delay_ms(tc->t->faults, r->name);
    if (delay_ms >= timeout) { /* the call would hang past the timeout: wait, then give up */
        ra_sleep_ms((int)timeout);
        cJSON_Delete(extra);
        if (clipped)
            deadline_msg(tc, err, err_len);
        else
            snprintf(err, err_len, "timeout after %ld ms", timeout);
        return NULL;
    }
    ra_sleep_ms(delay_ms);
    timeout -= delay_ms;
    cJSON *req = extra ? extra : cJSON_CreateObject();
    cJSON_AddStringToObject(req, "agent", r->name);
    cJSON_AddStringToObject(req, "input", tc->t->message);
    cJSON_AddItemToObject(req, "memory", cJSON_Duplicate(tc->memory, 1));
    cJSON_AddStringToObject(req, "step", step);
    cJSON *reply = NULL;
    int rc = ra_link_model(tc->link, req, timeout, &reply, err, err_len);
    cJSON_Delete(req);
    if (rc != 0) {
        if (clipped && left_ms(tc, answer) == 0) deadline_msg(tc, err, err_len);
        return NULL;
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(reply, "text");
    if (!cJSON_IsString(text)) {
        snprintf(err, err_len, "model reply has no text");
        cJSON_Delete(reply);
        return NULL;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(reply, "usage");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(usage, "input_tokens");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(usage, "output_tokens");
    int64_t ni = cJSON_IsNumber(in) ? (int64_t)in->valuedouble : 0;
    int64_t no = cJSON_IsNumber(out) ? (int64_t)out->valuedouble : 0;
    r->in_tokens += ni;
    r->out_tokens += no;
    tc->total_in += ni;
    tc->total_out += no;
    return reply;
}

static void note_unavailable(turn_ctx *tc, const char *tool, const char *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool", tool);
    cJSON_AddStringToObject(o, "error", err);
    cJSON_AddItemToArray(find(tc, "unavailable"), o);
}

/*
 * Runs one tool, retried once (when the deadline leaves time for it); stores
 * the result in findings. Takes args. A tool the deadline leaves no time to
 * start is not called at all and is reported unavailable.
 */
static cJSON *tool_call(turn_ctx *tc, const run *r, const char *tool, cJSON *args)
{
    char err[256] = "";
    if (left_ms(tc, false) < 1) {
        cJSON_Delete(args);
        char why[128];
        deadline_msg(tc, why, sizeof(why));
        snprintf(err, sizeof(err), "not called: %s", why);
        note_unavailable(tc, tool, err);
        return NULL;
    }
    char call_id[32];
    snprintf(call_id, sizeof(call_id), "call-%" PRIuFAST64, atomic_fetch_add(&g_next_call, 1));
    cJSON *e = ev_new(tc, "tool_executing", r);
    cJSON_AddStringToObject(e, "tool", tool);
    cJSON_AddStringToObject(e, "call_id", call_id);
    cJSON_AddItemToObject(e, "args", cJSON_Duplicate(args, 1));
    tc->emit(tc->emit_ctx, e);

    cJSON *result = NULL;
    int attempts = 0, rc = -1;
    bool out_of_time = false;
    while (attempts < 2 && rc != 0) {
        long left = left_ms(tc, false);
        if (left < 1) {
            out_of_time = true;
            break;
        }
        attempts++;
        long timeout = tc->cfg->dep_timeout_ms < left ? tc->cfg->dep_timeout_ms : left;
        if (ra_faults_tool_fails(tc->t->faults, tool)) {
            snprintf(err, sizeof(err), "%s", RA_INJECTED_TOOL_ERR);
        } else {
            rc = ra_link_tool(tc->link, tool, args, timeout, &result, err, sizeof(err));
        }
    }
    cJSON_Delete(args);
    if (rc != 0) {
        size_t n = strlen(err);
        if (attempts == 2)
            snprintf(err + n, sizeof(err) - n, " after 2 attempts");
        else if (out_of_time)
            snprintf(err + n, sizeof(err) - n, " (not retried: turn deadline reached)");
    }

    e = ev_new(tc, "tool_completed", r);
    cJSON_AddStringToObject(e, "tool", tool);
    cJSON_AddStringToObject(e, "call_id", call_id);
    cJSON_AddStringToObject(e, "status", rc == 0 ? "ok" : "error");
    if (rc == 0) {
        cJSON_AddItemToObject(e, "result", cJSON_Duplicate(result, 1));
        cJSON *results = find(tc, "results");
        cJSON_DeleteItemFromObjectCaseSensitive(results, tool);
        cJSON_AddItemToObject(results, tool, cJSON_Duplicate(result, 1));
    } else {
        cJSON_AddNullToObject(e, "result");
        cJSON_AddStringToObject(e, "error", err);
        note_unavailable(tc, tool, err);
    }
    cJSON_AddNumberToObject(e, "attempts", attempts);
    tc->emit(tc->emit_ctx, e);
    cJSON_AddItemToArray(find(tc, "tools"), cJSON_CreateString(tool));
    return result;
}

static cJSON *facts_args(turn_ctx *tc, const char *const *keys, size_t n)
{
    cJSON *args = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tc->memory, keys[i]);
        if (v) cJSON_AddItemToObject(args, keys[i], cJSON_Duplicate(v, 1));
    }
    return args;
}

static bool has_intent(turn_ctx *tc, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, tc->intents)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, name) == 0) return true;
    }
    return false;
}

/*
 * The tools each agent uses; the model decides which specialists run. Of the
 * fallbacks only the Estimator calls a tool (cost_db derives a breakdown from
 * the spend on record); Planner and Auditor work from the model alone.
 */
static void run_tools(turn_ctx *tc, const run *r, cJSON *res_tools)
{
    static const char *const cost_keys[] = {"spend", "spend_usd", "platform"};
    static const char *const inv_keys[] = {"gpu_instances", "training_jobs", "platform"};
    static const char *const price_keys[] = {"spend", "spend_usd", "gpu_instances"};
    static const char *const plan_keys[] = {"spend",         "spend_usd",  "platform",
                                            "gpu_instances", "frameworks", "training_jobs"};
    static const char *const comp_keys[] = {"frameworks", "platform"};
    struct {
        const char *agent, *tool;
        const char *const *keys;
        size_t n_keys;
        bool migration_only;
    } plan[] = {
        {"Data", "cost_db", cost_keys, 3, false},
        {"Data", "gpu_inventory", inv_keys, 3, false},
        {"Optimization", "migration_planner", plan_keys, 6, true},
        {"Optimization", "pricing", price_keys, 3, false},
        {"Compliance", "compliance_check", comp_keys, 2, false},
        {"Estimator", "cost_db", cost_keys, 3, false},
    };
    bool migration = has_intent(tc, "migration");
    for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        if (strcmp(plan[i].agent, r->name) != 0 || (plan[i].migration_only && !migration)) continue;
        cJSON *res = tool_call(tc, r, plan[i].tool, facts_args(tc, plan[i].keys, plan[i].n_keys));
        cJSON_AddItemToObject(res_tools, plan[i].tool, res ? res : cJSON_CreateNull());
    }
}

/*
 * Runs a specialist, or a fallback standing in for one (`fallback_for` is the
 * failed agent's name, else NULL). Returns false when its model call failed;
 * *entry then receives its failed_agents entry (borrowed).
 */
static bool run_agent(turn_ctx *tc, const char *name, const char *parent, const char *fallback_for,
                      cJSON **entry)
{
    run r;
    run_begin(tc, &r, name, parent);
    char err[256] = "";
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddItemToObject(extra, "intents", cJSON_Duplicate(tc->intents, 1));
    if (fallback_for) cJSON_AddStringToObject(extra, "fallback_for", fallback_for);
    cJSON *reply = model_call(tc, &r, "reason", extra, err, sizeof(err));
    if (!reply) {
        *entry = fail_run(tc, &r, err);
        if (fallback_for) cJSON_AddStringToObject(*entry, "fallback_for", fallback_for);
        return false;
    }
    const char *text = cJSON_GetObjectItemCaseSensitive(reply, "text")->valuestring;
    emit_thinking(tc, &r, text);
    cJSON *res = cJSON_CreateObject();
    if (fallback_for) {
        cJSON_AddStringToObject(res, "fallback_for", fallback_for);
        cJSON_AddStringToObject(res, "text", text);
        cJSON *note = cJSON_CreateObject();
        cJSON_AddStringToObject(note, "agent", name);
        cJSON_AddStringToObject(note, "for", fallback_for);
        cJSON_AddStringToObject(note, "text", text);
        cJSON_AddItemToArray(find(tc, "fallback_notes"), note);
    }
    cJSON_Delete(reply);
    cJSON *res_tools = cJSON_AddObjectToObject(res, "tools");
    int before = cJSON_GetArraySize(find(tc, "unavailable"));
    run_tools(tc, &r, res_tools);
    int after = cJSON_GetArraySize(find(tc, "unavailable"));
    /* A stand-in's answer is partial by nature: it replaces live analysis. */
    cJSON_AddBoolToObject(res, "partial", after > before || fallback_for != NULL);
    run_end(tc, &r, true, res);
    cJSON_AddItemToArray(find(tc, "agents"), cJSON_CreateString(name));
    return true;
}

/* A routed specialist, then its fallback if it failed and time allows. */
static void run_specialist(turn_ctx *tc, const char *name, const char *parent)
{
    if (left_ms(tc, false) < 1) {
        cJSON_AddItemToArray(find(tc, "skipped"), cJSON_CreateString(name));
        return;
    }
    cJSON *entry = NULL;
    if (run_agent(tc, name, parent, NULL, &entry)) return;
    const char *fb = ra_agents_fallback(name);
    if (!fb) return;
    if (left_ms(tc, false) < 1) {
        cJSON_AddItemToArray(find(tc, "skipped"), cJSON_CreateString(fb));
        return;
    }
    cJSON_AddStringToObject(entry, "fallback", fb);
    cJSON_AddStringToObject(find(tc, "fallbacks"), name, fb);
    cJSON *fb_entry = NULL;
    run_agent(tc, fb, parent, name, &fb_entry);
}

/*
 * Runs Triage; returns the owned route array and the Triage run id, the
 * parent of the specialists' runs. When Triage's model call fails, the
 * Supervisor (run sup) routes by keyword itself and says so.
 */
static cJSON *run_triage(turn_ctx *tc, const run *sup, char *run_id_out, size_t run_id_len)
{
    run r;
    run_begin(tc, &r, "Triage", sup->run_id);
    snprintf(run_id_out, run_id_len, "%s", r.run_id);
    char err[256] = "";
    cJSON *reply = model_call(tc, &r, "route", NULL, err, sizeof(err));
    cJSON *route = cJSON_DetachItemFromObjectCaseSensitive(reply, "route");
    cJSON *intents = cJSON_DetachItemFromObjectCaseSensitive(reply, "intents");
    if (!reply || !cJSON_IsArray(route)) {
        fail_run(tc, &r, reply ? "reply has no route" : err);
        cJSON_Delete(route);
        cJSON_Delete(intents);
        cJSON_Delete(reply);
        route = cJSON_CreateArray();
        intents = cJSON_CreateArray();
        ra_model_route(ra_model_intents(tc->t->message), route, intents);
        cJSON_ReplaceItemInObjectCaseSensitive(tc->findings, "routing",
                                               cJSON_CreateString("keyword"));
        ra_sb sb;
        ra_sb_init(&sb, 1024);
        ra_sb_puts(&sb, "Triage is unavailable, so I am routing by keyword");
        const cJSON *it;
        const char *sep = ": ";
        cJSON_ArrayForEach(it, route)
        {
            ra_sb_printf(&sb, "%s%s", sep, it->valuestring);
            sep = ", ";
        }
        ra_sb_puts(&sb, cJSON_GetArraySize(route) ? "." : ": no specialist is needed.");
        emit_thinking(tc, sup, sb.ptr ? sb.ptr : "");
        ra_sb_free(&sb);
    } else {
        emit_thinking(tc, &r, cJSON_GetObjectItemCaseSensitive(reply, "text")->valuestring);
        if (!cJSON_IsArray(intents)) {
            cJSON_Delete(intents);
            intents = cJSON_CreateArray();
        }
        cJSON *res = cJSON_CreateObject();
        cJSON_AddItemToObject(res, "route", cJSON_Duplicate(route, 1));
        cJSON_AddItemToObject(res, "intents", cJSON_Duplicate(intents, 1));
        run_end(tc, &r, true, res);
        cJSON_Delete(reply);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(tc->findings, "intents", intents);
    tc->intents = intents;
    return route;
}

static cJSON *root_result(turn_ctx *tc, const char *response, bool partial)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "response", response);
    const cJSON *pricing = cJSON_GetObjectItemCaseSensitive(find(tc, "results"), "pricing");
    static const char *const copy_keys[] = {"savings_pct", "current_spend_usd",
                                            "projected_spend_usd"};
    for (size_t i = 0; pricing && i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(pricing, copy_keys[i]);
        if (cJSON_IsNumber(v)) add_int(res, copy_keys[i], (int64_t)(v->valuedouble + 0.5));
    }
    static const char *const lists[] = {"route",         "agents",    "tools",   "unavailable",
                                        "failed_agents", "fallbacks", "skipped", "routing"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        cJSON_AddItemToObject(res, lists[i], cJSON_Duplicate(find(tc, lists[i]), 1));
    cJSON_AddItemToObject(res, "memory", cJSON_Duplicate(tc->memory, 1));
    cJSON_AddBoolToObject(res, "partial", partial);
    cJSON_AddBoolToObject(res, "degraded",
                          cJSON_GetArraySize(find(tc, "failed_agents")) > 0 ||
                              cJSON_GetArraySize(find(tc, "skipped")) > 0);
    cJSON_AddBoolToObject(res, "deadline_exceeded", cJSON_GetArraySize(find(tc, "skipped")) > 0);
    return res;
}

/* The root's answer when its own answer step failed. Returns owned. */
static char *answer_without_model(turn_ctx *tc, const char *err)
{
    ra_sb sb;
    ra_sb_init(&sb, 128 * 1024);
    if (cJSON_GetArraySize(find(tc, "agents")) == 0 &&
        cJSON_GetArraySize(find(tc, "failed_agents")) > 1) {
        ra_sb_printf(&sb,
                     "Sorry, the service could not answer this request: its model failed (%s) "
                     "and no agent could produce results (failed:",
                     err);
        const cJSON *it;
        const char *sep = " ";
        cJSON_ArrayForEach(it, find(tc, "failed_agents"))
        {
            ra_sb_printf(&sb, "%s%s", sep,
                         cJSON_GetObjectItemCaseSensitive(it, "agent")->valuestring);
            sep = ", ";
        }
        ra_sb_puts(&sb, "). Please try again later.");
        return ra_sb_take(&sb);
    }
    char *raw = ra_model_compose(tc->t->message, tc->memory, tc->findings);
    ra_sb_printf(&sb,
                 "The model failed while writing this answer (%s), so it was assembled "
                 "from the agents' raw findings. %s",
                 err, raw ? raw : "");
    free(raw);
    return ra_sb_take(&sb);
}

void ra_agents_run_turn(const ra_agents_cfg *cfg, ra_link *link, const ra_turn *t, ra_emit_fn emit,
                        void *emit_ctx)
{
    turn_ctx tc = {.cfg = cfg, .link = link, .t = t, .emit = emit, .emit_ctx = emit_ctx};
    if (cfg->turn_deadline_ms > 0) {
        int64_t reserve_ms = cfg->turn_deadline_ms / RA_ANSWER_RESERVE_DIVISOR;
        if (reserve_ms > cfg->dep_timeout_ms) reserve_ms = cfg->dep_timeout_ms;
        tc.deadline_us = ra_now_us() + (int64_t)cfg->turn_deadline_ms * 1000;
        tc.work_deadline_us = tc.deadline_us - reserve_ms * 1000;
    }
    tc.memory = ra_facts_to_json(t->facts);
    tc.findings = cJSON_CreateObject();
    static const char *const arrays[] = {"route",   "intents",       "agents",
                                         "tools",   "unavailable",   "failed_agents",
                                         "skipped", "fallback_notes"};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        cJSON_AddArrayToObject(tc.findings, arrays[i]);
    cJSON_AddObjectToObject(tc.findings, "results");
    cJSON_AddObjectToObject(tc.findings, "fallbacks");
    cJSON_AddStringToObject(tc.findings, "routing", "model");
    add_int(tc.findings, "deadline_ms", cfg->turn_deadline_ms);
    tc.intents = find(&tc, "intents");

    run sup;
    run_begin(&tc, &sup, "Supervisor", NULL);
    bool sup_ok = true;
    char err[256] = "";
    cJSON *reply = model_call(&tc, &sup, "reason", NULL, err, sizeof(err));
    if (reply) {
        emit_thinking(&tc, &sup, cJSON_GetObjectItemCaseSensitive(reply, "text")->valuestring);
        cJSON_Delete(reply);
    } else {
        char msg[300];
        snprintf(msg, sizeof(msg), "model call failed: %s", err);
        emit_run_error(&tc, &sup, "model_error", msg);
        note_failed_agent(&tc, "Supervisor", msg);
    }

    char triage_id[32];
    cJSON *route = run_triage(&tc, &sup, triage_id, sizeof(triage_id));
    cJSON_ReplaceItemInObjectCaseSensitive(tc.findings, "route", cJSON_Duplicate(route, 1));
    static const char *const known[] = {"Data", "Optimization", "Compliance"};
    const cJSON *it;
    cJSON_ArrayForEach(it, route)
    {
        bool ok = false;
        for (size_t i = 0; cJSON_IsString(it) && i < 3; i++)
            ok = ok || strcmp(it->valuestring, known[i]) == 0;
        if (ok) run_specialist(&tc, it->valuestring, triage_id);
    }
    cJSON_Delete(route);

    const cJSON *agents = find(&tc, "agents");
    ra_sb sb;
    ra_sb_init(&sb, 1024);
    ra_sb_puts(&sb, cJSON_GetArraySize(agents)               ? "Synthesising the findings of"
                    : cJSON_GetArraySize(find(&tc, "route")) ? "No specialist produced findings; "
                                                               "answering with what is known"
                                                             : "Answering directly");
    const char *sep = " ";
    cJSON_ArrayForEach(it, agents)
    {
        ra_sb_printf(&sb, "%s%s", sep, it->valuestring);
        sep = ", ";
    }
    ra_sb_puts(&sb, ".");
    emit_thinking(&tc, &sup, sb.ptr ? sb.ptr : "");
    ra_sb_free(&sb);

    cJSON *extra = cJSON_CreateObject();
    cJSON_AddItemToObject(extra, "findings", cJSON_Duplicate(tc.findings, 1));
    reply = model_call(&tc, &sup, "answer", extra, err, sizeof(err));
    char *response;
    if (reply) {
        response = strdup(cJSON_GetObjectItemCaseSensitive(reply, "text")->valuestring);
        cJSON_Delete(reply);
    } else {
        char msg[300];
        snprintf(msg, sizeof(msg), "model call failed: %s", err);
        emit_run_error(&tc, &sup, "model_error", msg);
        sup_ok = false;
        response = answer_without_model(&tc, err);
    }
    bool partial = cJSON_GetArraySize(find(&tc, "unavailable")) > 0 ||
                   cJSON_GetArraySize(find(&tc, "failed_agents")) > 0 ||
                   cJSON_GetArraySize(find(&tc, "skipped")) > 0 || !sup_ok;
    run_end(&tc, &sup, sup_ok, root_result(&tc, response ? response : "", partial));
    free(response);
    cJSON_Delete(tc.findings);
    cJSON_Delete(tc.memory);
}
