/*
 * agents.c - the orchestration of one turn (see agents.h).
 *
 * Every decision that a fault should be able to disturb goes through HTTP:
 * Triage's route comes from the model, figures come from the tools. What is
 * decided here is only the shape of the call chain and how failures are
 * surfaced: a tool that fails twice becomes tool_completed/status=error and
 * a partial answer; a model call that fails becomes agent_completed/
 * status=error; in every case the turn ends with the root agent_completed.
 */
#include "agents.h"
#include "model.h"
#include "util.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t g_next_run = 1;
static atomic_uint_fast64_t g_next_call = 1;

typedef struct {
    const ra_agents_cfg *cfg;
    ra_dc *dc;
    const ra_turn *t;
    ra_emit_fn emit;
    void *emit_ctx;
    cJSON *memory;   /* the facts as JSON, sent to model and tools */
    cJSON *findings; /* what the Supervisor synthesises from */
    cJSON *intents;  /* borrowed from findings */
    int64_t total_in, total_out;
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

static void emit_thinking(turn_ctx *tc, const run *r, const char *text)
{
    cJSON *e = ev_new(tc, "agent_thinking", r);
    cJSON_AddStringToObject(e, "text", text);
    tc->emit(tc->emit_ctx, e);
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

static void note_failed_agent(turn_ctx *tc, const char *agent, const char *err)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(tc->findings, "failed_agents");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "agent", agent);
    cJSON_AddStringToObject(o, "error", err);
    cJSON_AddItemToArray(arr, o);
}

/*
 * One reasoning step: think time, then POST to the model. `extra` (taken,
 * may be NULL) is merged into the request. Returns the owned reply or NULL
 * with err set; usage is charged to r.
 */
static cJSON *model_call(turn_ctx *tc, run *r, const char *step, cJSON *extra, char *err,
                         size_t err_len)
{
    ra_sleep_ms(tc->cfg->think_ms);
    cJSON *req = extra ? extra : cJSON_CreateObject();
    cJSON_AddStringToObject(req, "agent", r->name);
    cJSON_AddStringToObject(req, "input", tc->t->message);
    cJSON_AddItemToObject(req, "memory", cJSON_Duplicate(tc->memory, 1));
    cJSON_AddStringToObject(req, "step", step);
    char url[1024];
    snprintf(url, sizeof(url), "%s/v1/complete", tc->cfg->model_url);
    cJSON *reply = NULL;
    int rc = ra_dc_post(tc->dc, url, req, &reply, err, err_len);
    cJSON_Delete(req);
    if (rc != 0) return NULL;
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

/* Runs one tool with a retry; stores the result in findings. Takes args. */
static cJSON *tool_call(turn_ctx *tc, const run *r, const char *tool, cJSON *args)
{
    char call_id[32];
    snprintf(call_id, sizeof(call_id), "call-%" PRIuFAST64, atomic_fetch_add(&g_next_call, 1));
    cJSON *e = ev_new(tc, "tool_executing", r);
    cJSON_AddStringToObject(e, "tool", tool);
    cJSON_AddStringToObject(e, "call_id", call_id);
    cJSON_AddItemToObject(e, "args", cJSON_Duplicate(args, 1));
    tc->emit(tc->emit_ctx, e);

    char url[1024], err[256] = "";
    snprintf(url, sizeof(url), "%s/tools/%s", tc->cfg->tools_url, tool);
    cJSON *result = NULL;
    int attempts = 0;
    int rc = ra_dc_post_retry(tc->dc, url, args, &result, &attempts, err, sizeof(err));
    cJSON_Delete(args);

    e = ev_new(tc, "tool_completed", r);
    cJSON_AddStringToObject(e, "tool", tool);
    cJSON_AddStringToObject(e, "call_id", call_id);
    cJSON_AddStringToObject(e, "status", rc == 0 ? "ok" : "error");
    if (rc == 0) {
        cJSON_AddItemToObject(e, "result", cJSON_Duplicate(result, 1));
        cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(tc->findings, "results"), tool,
                              cJSON_Duplicate(result, 1));
    } else {
        cJSON_AddNullToObject(e, "result");
        cJSON_AddStringToObject(e, "error", err);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tool", tool);
        cJSON_AddStringToObject(o, "error", err);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(tc->findings, "unavailable"), o);
    }
    cJSON_AddNumberToObject(e, "attempts", attempts);
    tc->emit(tc->emit_ctx, e);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(tc->findings, "tools"),
                         cJSON_CreateString(tool));
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

/* The tools each specialist uses; the model decides which specialists run. */
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
    };
    bool migration = has_intent(tc, "migration");
    for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        if (strcmp(plan[i].agent, r->name) != 0 || (plan[i].migration_only && !migration)) continue;
        cJSON *res = tool_call(tc, r, plan[i].tool, facts_args(tc, plan[i].keys, plan[i].n_keys));
        cJSON_AddItemToObject(res_tools, plan[i].tool, res ? res : cJSON_CreateNull());
    }
}

static void run_specialist(turn_ctx *tc, const char *name, const char *parent)
{
    run r;
    run_begin(tc, &r, name, parent);
    char err[256] = "";
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddItemToObject(extra, "intents", cJSON_Duplicate(tc->intents, 1));
    cJSON *reply = model_call(tc, &r, "reason", extra, err, sizeof(err));
    if (!reply) {
        char msg[300];
        snprintf(msg, sizeof(msg), "model call failed: %s", err);
        emit_run_error(tc, &r, "model_error", msg);
        note_failed_agent(tc, name, msg);
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "error", msg);
        run_end(tc, &r, false, res);
        return;
    }
    emit_thinking(tc, &r, cJSON_GetObjectItemCaseSensitive(reply, "text")->valuestring);
    cJSON_Delete(reply);
    cJSON *res = cJSON_CreateObject();
    cJSON *res_tools = cJSON_AddObjectToObject(res, "tools");
    int before = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tc->findings, "unavailable"));
    run_tools(tc, &r, res_tools);
    int after = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tc->findings, "unavailable"));
    cJSON_AddBoolToObject(res, "partial", after > before);
    run_end(tc, &r, true, res);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(tc->findings, "agents"),
                         cJSON_CreateString(name));
}

/*
 * Runs Triage; returns the owned route array (empty when the model failed)
 * and the Triage run id, the parent of the specialists' runs.
 */
static cJSON *run_triage(turn_ctx *tc, const char *parent, char *run_id_out, size_t run_id_len)
{
    run r;
    run_begin(tc, &r, "Triage", parent);
    snprintf(run_id_out, run_id_len, "%s", r.run_id);
    char err[256] = "";
    cJSON *reply = model_call(tc, &r, "route", NULL, err, sizeof(err));
    cJSON *route = cJSON_DetachItemFromObjectCaseSensitive(reply, "route");
    cJSON *intents = cJSON_DetachItemFromObjectCaseSensitive(reply, "intents");
    if (!reply || !cJSON_IsArray(route)) {
        char msg[300];
        snprintf(msg, sizeof(msg), "model call failed: %s", reply ? "reply has no route" : err);
        emit_run_error(tc, &r, "model_error", msg);
        note_failed_agent(tc, "Triage", msg);
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "error", msg);
        run_end(tc, &r, false, res);
        cJSON_Delete(route);
        cJSON_Delete(intents);
        cJSON_Delete(reply);
        return cJSON_CreateArray();
    }
    emit_thinking(tc, &r, cJSON_GetObjectItemCaseSensitive(reply, "text")->valuestring);
    if (!cJSON_IsArray(intents)) {
        cJSON_Delete(intents);
        intents = cJSON_CreateArray();
    }
    cJSON_ReplaceItemInObjectCaseSensitive(tc->findings, "intents", intents);
    tc->intents = intents;
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "route", cJSON_Duplicate(route, 1));
    cJSON_AddItemToObject(res, "intents", cJSON_Duplicate(intents, 1));
    run_end(tc, &r, true, res);
    cJSON_Delete(reply);
    return route;
}

static cJSON *root_result(turn_ctx *tc, const char *response, bool partial)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "response", response);
    const cJSON *pricing = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(tc->findings, "results"), "pricing");
    static const char *const copy_keys[] = {"savings_pct", "current_spend_usd",
                                            "projected_spend_usd"};
    for (size_t i = 0; pricing && i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(pricing, copy_keys[i]);
        if (cJSON_IsNumber(v)) add_int(res, copy_keys[i], (int64_t)(v->valuedouble + 0.5));
    }
    static const char *const lists[] = {"route", "agents", "tools", "unavailable", "failed_agents"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        cJSON_AddItemToObject(
            res, lists[i],
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(tc->findings, lists[i]), 1));
    cJSON_AddItemToObject(res, "memory", cJSON_Duplicate(tc->memory, 1));
    cJSON_AddBoolToObject(res, "partial", partial);
    return res;
}

void ra_agents_run_turn(const ra_agents_cfg *cfg, ra_dc *dc, const ra_turn *t, ra_emit_fn emit,
                        void *emit_ctx)
{
    turn_ctx tc = {.cfg = cfg, .dc = dc, .t = t, .emit = emit, .emit_ctx = emit_ctx};
    tc.memory = ra_facts_to_json(t->facts);
    tc.findings = cJSON_CreateObject();
    static const char *const arrays[] = {"route", "intents",     "agents",
                                         "tools", "unavailable", "failed_agents"};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        cJSON_AddArrayToObject(tc.findings, arrays[i]);
    cJSON_AddObjectToObject(tc.findings, "results");
    tc.intents = cJSON_GetObjectItemCaseSensitive(tc.findings, "intents");

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
        sup_ok = false;
    }

    char triage_id[32];
    cJSON *route = run_triage(&tc, sup.run_id, triage_id, sizeof(triage_id));
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

    const cJSON *agents = cJSON_GetObjectItemCaseSensitive(tc.findings, "agents");
    ra_sb sb;
    ra_sb_init(&sb, 1024);
    ra_sb_puts(&sb,
               cJSON_GetArraySize(agents) ? "Synthesising the findings of" : "Answering directly");
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
        char *raw = ra_model_compose(t->message, tc.memory, tc.findings);
        ra_sb_init(&sb, 128 * 1024);
        ra_sb_printf(&sb,
                     "The model failed while writing this answer (%s), so it was assembled "
                     "from the agents' raw findings. %s",
                     err, raw ? raw : "");
        free(raw);
        response = ra_sb_take(&sb);
    }
    bool partial =
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tc.findings, "unavailable")) > 0 ||
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tc.findings, "failed_agents")) > 0 ||
        !sup_ok;
    run_end(&tc, &sup, sup_ok, root_result(&tc, response ? response : "", partial));
    free(response);
    cJSON_Delete(tc.findings);
    cJSON_Delete(tc.memory);
}
