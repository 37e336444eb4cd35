/*
 * test_ra_fallback.c - how a turn survives faults, driven in-process: the
 * inline link with fault directives injected (no sockets), plus a dead HTTP
 * endpoint where the point is that nothing was called. Covers each
 * specialist's fallback, a failing fallback, Triage's keyword routing, the
 * unrecoverable case, tool failure, timeouts, the turn deadline, and
 * --thinking-deltas frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agents.h"
#include "deps.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COST_MSG "Analyze our ML training infrastructure costs and optimize for 40% reduction"
#define COST_CTX "{\"current_spend\":\"$50K/month\",\"gpu_instances\":20,\"training_jobs\":150}"

static void capture_emit(void *ctx, cJSON *ev)
{
    cJSON_AddItemToArray((cJSON *)ctx, ev);
}

static const char *field(const cJSON *ev, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(ev, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool is(const cJSON *ev, const char *type, const char *agent)
{
    return strcmp(field(ev, "type"), type) == 0 &&
           (!agent || strcmp(field(ev, "agent"), agent) == 0);
}

/* Index of the first event of that type (and agent) from `from`, or -1. */
static int find_ev(const cJSON *evs, int from, const char *type, const char *agent)
{
    for (int i = from; i < cJSON_GetArraySize(evs); i++) {
        if (is(cJSON_GetArrayItem(evs, i), type, agent)) return i;
    }
    return -1;
}

typedef struct {
    ra_agents_cfg cfg;
    ra_link *link; /* NULL: inline */
} setup;

/* Runs one turn with the directive (may be NULL); returns the events (owned). */
static cJSON *turn_with(const setup *su, const char *message, const char *ctx_json,
                        const char *directive)
{
    ra_facts facts;
    ra_facts_init(&facts);
    cJSON *ctx = ctx_json ? cJSON_Parse(ctx_json) : NULL;
    ra_facts_extract(&facts, message, ctx);
    cJSON_Delete(ctx);
    ra_faults faults;
    char err[160];
    assert_int_equal(ra_faults_parse(directive ? directive : "", &faults, err, sizeof(err)), 0);
    ra_turn t = {"th-f", 1, message, &facts, &faults};
    cJSON *evs = cJSON_CreateArray();
    ra_link *link = su->link ? su->link : ra_link_new_inline();
    ra_agents_run_turn(&su->cfg, link, &t, capture_emit, evs);
    if (!su->link) ra_link_free(link);
    /* Whatever failed, the last event is the root's agent_completed. */
    const cJSON *last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    assert_true(is(last, "agent_completed", "Supervisor"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(last, "parent_run_id")));
    return evs;
}

static const setup k_inline = {{.think_ms = 0, .dep_timeout_ms = 2000, .turn_deadline_ms = 30000},
                               NULL};

static const cJSON *root_result(const cJSON *evs)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1), "result");
}

/*
 * Asserts the specialist `primary` failed and `fallback` ran in its place as a
 * real run under the Triage run, and the root says so.
 */
static void check_fallback(const cJSON *evs, const char *primary, const char *fallback)
{
    int triage = find_ev(evs, 0, "agent_started", "Triage");
    int start = find_ev(evs, 0, "agent_started", primary);
    int err = find_ev(evs, start, "error", primary);
    int done = find_ev(evs, start, "agent_completed", primary);
    int fb_start = find_ev(evs, 0, "agent_started", fallback);
    int fb_think = find_ev(evs, 0, "agent_thinking", fallback);
    int fb_done = find_ev(evs, 0, "agent_completed", fallback);
    assert_true(triage >= 0 && start > triage && err > start && done > err);
    assert_true(fb_start > done && fb_think > fb_start && fb_done > fb_think);
    const cJSON *e = cJSON_GetArrayItem(evs, err);
    assert_string_equal(field(e, "code"), "model_error");
    assert_string_equal(field(e, "message"),
                        "model call failed: HTTP 500 (injected by fault_directive)");
    assert_string_equal(field(cJSON_GetArrayItem(evs, done), "status"), "error");
    const char *triage_run = field(cJSON_GetArrayItem(evs, triage), "run_id");
    assert_string_equal(field(cJSON_GetArrayItem(evs, fb_start), "parent_run_id"), triage_run);
    const cJSON *fb_end = cJSON_GetArrayItem(evs, fb_done);
    assert_string_equal(field(fb_end, "status"), "ok");
    assert_string_equal(field(cJSON_GetObjectItem(fb_end, "result"), "fallback_for"), primary);
    assert_true(
        cJSON_GetObjectItem(cJSON_GetObjectItem(fb_end, "usage"), "input_tokens")->valuedouble > 0);

    const cJSON *res = root_result(evs);
    const cJSON *root = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    assert_string_equal(field(root, "status"), "ok");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "degraded")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "partial")));
    assert_string_equal(field(cJSON_GetObjectItem(res, "fallbacks"), primary), fallback);
    const cJSON *failed = cJSON_GetObjectItem(res, "failed_agents");
    assert_int_equal(cJSON_GetArraySize(failed), 1);
    const cJSON *detail = cJSON_GetArrayItem(failed, 0);
    assert_string_equal(field(detail, "agent"), primary);
    assert_string_equal(field(detail, "error"),
                        "model call failed: HTTP 500 (injected by fault_directive)");
    assert_string_equal(field(detail, "fallback"), fallback);
    char want[128];
    snprintf(want, sizeof(want), "The %s agent failed (model call failed: HTTP 500", primary);
    assert_non_null(strstr(field(res, "response"), want));
    snprintf(want, sizeof(want), "the %s agent was used instead: ", fallback);
    assert_non_null(strstr(field(res, "response"), want));
}

static void test_data_falls_back_to_estimator(void **state)
{
    (void)state;
    cJSON *evs = turn_with(&k_inline, COST_MSG, COST_CTX, "fail_agent=Data");
    check_fallback(evs, "Data", "Estimator");
    /* The Estimator calls cost_db itself, so the breakdown is still there. */
    int tool = find_ev(evs, 0, "tool_executing", "Estimator");
    assert_true(tool > 0);
    assert_string_equal(field(cJSON_GetArrayItem(evs, tool), "tool"), "cost_db");
    const char *resp = field(root_result(evs), "response");
    assert_non_null(strstr(resp, "Current spend is $50,000 per month"));
    assert_non_null(strstr(resp, "Estimating from the facts on record instead of live data: "
                                 "spend $50K/month, 20 GPU instances, 150 training jobs"));
    assert_non_null(strstr(resp, "a 42% reduction"));
    assert_int_equal(find_ev(evs, 0, "tool_executing", "Data"), -1);
    cJSON_Delete(evs);
}

static void test_optimization_falls_back_to_planner(void **state)
{
    (void)state;
    cJSON *evs = turn_with(&k_inline, COST_MSG, COST_CTX, "fail_agent=Optimization");
    check_fallback(evs, "Optimization", "Planner");
    assert_int_equal(find_ev(evs, 0, "tool_executing", "Planner"), -1);
    const char *resp = field(root_result(evs), "response");
    assert_non_null(strstr(resp, "A simpler plan without live pricing"));
    /* No pricing ran, so no savings figure is claimed. */
    assert_null(cJSON_GetObjectItem(root_result(evs), "savings_pct"));
    assert_non_null(strstr(resp, "These are partial results."));
    cJSON_Delete(evs);
}

static void test_compliance_falls_back_to_auditor(void **state)
{
    (void)state;
    cJSON *evs =
        turn_with(&k_inline, "Add PCI compliance constraints", NULL, "fail_agent=Compliance");
    check_fallback(evs, "Compliance", "Auditor");
    assert_non_null(strstr(field(root_result(evs), "response"),
                           "A generic compliance checklist in place of a PCI-DSS review"));
    cJSON_Delete(evs);
}

static void test_fallback_also_fails(void **state)
{
    (void)state;
    cJSON *evs = turn_with(&k_inline, COST_MSG, COST_CTX, "fail_agent=Data fail_agent=Estimator");
    int fb_done = find_ev(evs, 0, "agent_completed", "Estimator");
    assert_true(fb_done > 0);
    assert_string_equal(field(cJSON_GetArrayItem(evs, fb_done), "status"), "error");
    assert_true(find_ev(evs, 0, "error", "Estimator") > 0);
    const cJSON *root = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    /* The Supervisor itself worked: ok, but degraded, and the answer says what is missing. */
    assert_string_equal(field(root, "status"), "ok");
    const cJSON *res = root_result(evs);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "degraded")));
    assert_non_null(strstr(field(res, "response"),
                           "The Data agent failed (model call failed: HTTP 500 (injected by "
                           "fault_directive)) and its fallback Estimator failed too (model call "
                           "failed: HTTP 500 (injected by fault_directive)), so this part of the "
                           "analysis could not be completed."));
    const cJSON *second = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "failed_agents"), 1);
    assert_string_equal(field(second, "agent"), "Estimator");
    assert_string_equal(field(second, "fallback_for"), "Data");
    cJSON_Delete(evs);
}

static void test_triage_failure_routes_by_keyword(void **state)
{
    (void)state;
    cJSON *evs = turn_with(&k_inline, COST_MSG, COST_CTX, "fail_agent=Triage");
    int done = find_ev(evs, 0, "agent_completed", "Triage");
    assert_true(find_ev(evs, 0, "error", "Triage") > 0);
    assert_string_equal(field(cJSON_GetArrayItem(evs, done), "status"), "error");
    const cJSON *note = cJSON_GetArrayItem(evs, done + 1);
    assert_true(is(note, "agent_thinking", "Supervisor"));
    assert_string_equal(field(note, "text"),
                        "Triage is unavailable, so I am routing by keyword: Data, Optimization.");
    assert_true(find_ev(evs, done, "agent_completed", "Data") > done);
    assert_true(find_ev(evs, done, "agent_completed", "Optimization") > done);
    const cJSON *res = root_result(evs);
    assert_string_equal(field(res, "routing"), "keyword");
    assert_int_equal((int)cJSON_GetObjectItem(res, "savings_pct")->valuedouble, 42);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "degraded")));
    assert_non_null(strstr(field(res, "response"), "The Triage agent failed (model call failed: "
                                                   "HTTP 500 (injected by fault_directive)), so "
                                                   "the request was routed by keyword."));
    cJSON_Delete(evs);

    /* Without faults the model routes, and nothing is degraded. */
    evs = turn_with(&k_inline, COST_MSG, COST_CTX, NULL);
    res = root_result(evs);
    assert_string_equal(field(res, "routing"), "model");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(res, "degraded")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(res, "failed_agents")), 0);
    assert_int_equal(find_ev(evs, 0, "error", NULL), -1);
    cJSON_Delete(evs);
}

static void test_every_model_call_fails(void **state)
{
    (void)state;
    cJSON *evs = turn_with(&k_inline, COST_MSG, COST_CTX, "fail_agent=*");
    const cJSON *root = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    assert_string_equal(field(root, "status"), "error");
    assert_string_equal(field(root_result(evs), "response"),
                        "Sorry, the service could not answer this request: its model failed "
                        "(HTTP 500 (injected by fault_directive)) and no agent could produce "
                        "results (failed: Supervisor, Triage, Data, Estimator, Optimization, "
                        "Planner). Please try again later.");
    int errors = 0;
    for (int i = 0; i < cJSON_GetArraySize(evs); i++) {
        const cJSON *ev = cJSON_GetArrayItem(evs, i);
        if (is(ev, "error", NULL)) {
            errors++;
            assert_non_null(field(ev, "run_id"));
        }
    }
    assert_int_equal(errors, 7); /* Supervisor twice, Triage, two primaries, two fallbacks */
    cJSON_Delete(evs);
}

static void test_tool_failure_without_calling(void **state)
{
    (void)state;
    /* A dead tools URL: if fail_tool called it, the error would say "connection failed". */
    char err[128], base[64], dead[64];
    ra_deps *d = ra_deps_start(0, NULL, err, sizeof(err));
    ra_deps *gone = ra_deps_start(0, NULL, err, sizeof(err));
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ra_deps_port(d));
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ra_deps_port(gone));
    ra_deps_stop(gone);
    setup su = k_inline;
    su.link = ra_link_new_http(base, dead);
    cJSON *evs =
        turn_with(&su, "Add PCI compliance constraints", NULL, "fail_tool=compliance_check");
    int tc = find_ev(evs, 0, "tool_completed", "Compliance");
    const cJSON *ev = cJSON_GetArrayItem(evs, tc);
    assert_string_equal(field(ev, "status"), "error");
    assert_int_equal((int)cJSON_GetObjectItem(ev, "attempts")->valuedouble, 2);
    assert_string_equal(field(ev, "error"),
                        "HTTP 503 (injected by fault_directive) after 2 attempts");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(ev, "result")));
    assert_non_null(strstr(field(root_result(evs), "response"),
                           "Some data was unavailable: compliance_check (HTTP 503 (injected by "
                           "fault_directive) after 2 attempts); this answer is partial."));
    /* A failed tool is partial data, not a failed agent. */
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(root_result(evs), "degraded")));
    cJSON_Delete(evs);
    ra_link_free(su.link);
    ra_deps_stop(d);
}

static void test_slow_agent_times_out(void **state)
{
    (void)state;
    setup su = k_inline;
    su.cfg.dep_timeout_ms = 100;
    int64_t t0 = ra_now_us();
    cJSON *evs = turn_with(&su, COST_MSG, COST_CTX, "slow_agent=Data:5000");
    int64_t took_ms = (ra_now_us() - t0) / 1000;
    assert_true(took_ms >= 100 && took_ms < 2000); /* waited for the timeout, not the 5 s */
    const cJSON *e = cJSON_GetArrayItem(evs, find_ev(evs, 0, "error", "Data"));
    assert_string_equal(field(e, "message"), "model call failed: timeout after 100 ms");
    assert_true(find_ev(evs, 0, "agent_completed", "Estimator") > 0);
    cJSON_Delete(evs);

    /* Slower than usual but within the timeout: no fault at all. */
    evs = turn_with(&su, COST_MSG, COST_CTX, "slow_agent=Data:30");
    assert_int_equal(find_ev(evs, 0, "error", NULL), -1);
    cJSON_Delete(evs);
}

static void test_turn_deadline(void **state)
{
    (void)state;
    setup su = k_inline;
    su.cfg.dep_timeout_ms = 5000;
    su.cfg.turn_deadline_ms = 400;
    int64_t t0 = ra_now_us();
    cJSON *evs = turn_with(&su, "Analyze costs and PCI compliance", NULL, "slow_agent=Data:3000");
    int64_t took_ms = (ra_now_us() - t0) / 1000;
    assert_true(took_ms >= 300 && took_ms < 600);
    const cJSON *root = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    /* The answer still came from the model within the reserve: the root is ok. */
    assert_string_equal(field(root, "status"), "ok");
    const cJSON *res = root_result(evs);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "deadline_exceeded")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "partial")));
    const cJSON *skipped = cJSON_GetObjectItem(res, "skipped");
    assert_string_equal(cJSON_GetArrayItem(skipped, 0)->valuestring, "Estimator");
    assert_string_equal(cJSON_GetArrayItem(skipped, 1)->valuestring, "Optimization");
    assert_string_equal(cJSON_GetArrayItem(skipped, 2)->valuestring, "Compliance");
    assert_string_equal(field(cJSON_GetArrayItem(evs, find_ev(evs, 0, "error", "Data")), "message"),
                        "model call failed: turn deadline reached (400 ms)");
    assert_int_equal(find_ev(evs, 0, "agent_started", "Optimization"), -1);
    assert_non_null(strstr(field(res, "response"),
                           "The turn deadline (400 ms) was reached before Estimator, "
                           "Optimization, Compliance could run, so that part is missing."));
    cJSON_Delete(evs);
}

static void test_thinking_deltas(void **state)
{
    (void)state;
    cJSON *plain = turn_with(&k_inline, COST_MSG, COST_CTX, NULL);
    setup su = k_inline;
    su.cfg.thinking_deltas = 4;
    cJSON *deltas = turn_with(&su, COST_MSG, COST_CTX, NULL);
    int n_plain = cJSON_GetArraySize(plain), steps = 0;
    int j = 0;
    for (int i = 0; i < n_plain; i++) {
        const cJSON *ev = cJSON_GetArrayItem(plain, i);
        if (!is(ev, "agent_thinking", NULL)) {
            assert_string_equal(field(cJSON_GetArrayItem(deltas, j), "type"), field(ev, "type"));
            j++;
            continue;
        }
        steps++;
        char joined[1024] = "";
        for (int k = 0; k < 4; k++, j++) {
            const cJSON *d = cJSON_GetArrayItem(deltas, j);
            assert_true(is(d, "agent_thinking", field(ev, "agent")));
            assert_null(cJSON_GetObjectItem(d, "text"));
            assert_int_equal((int)cJSON_GetObjectItem(d, "index")->valuedouble, k);
            assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(d, "last")), k == 3);
            const char *piece = field(d, "delta");
            assert_non_null(piece);
            assert_true(k == 3 || strlen(piece) > 0);
            strncat(joined, piece, sizeof(joined) - strlen(joined) - 1);
        }
        assert_string_equal(joined, field(ev, "text"));
    }
    assert_int_equal(steps, 5); /* Supervisor, Triage, Data, Optimization, synthesis */
    assert_int_equal(cJSON_GetArraySize(deltas), n_plain + steps * 3);
    cJSON_Delete(plain);
    cJSON_Delete(deltas);
}

/* --deps inline gives the same turn as HTTP: same events, same answer, same usage. */
static void test_inline_matches_http(void **state)
{
    (void)state;
    char err[128], base[64];
    ra_deps *d = ra_deps_start(0, NULL, err, sizeof(err));
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ra_deps_port(d));
    setup su = k_inline;
    su.link = ra_link_new_http(base, base);
    cJSON *http = turn_with(&su, COST_MSG, COST_CTX, NULL);
    cJSON *inl = turn_with(&k_inline, COST_MSG, COST_CTX, NULL);
    assert_int_equal(cJSON_GetArraySize(http), cJSON_GetArraySize(inl));
    for (int i = 0; i < cJSON_GetArraySize(http); i++) {
        const cJSON *a = cJSON_GetArrayItem(http, i), *b = cJSON_GetArrayItem(inl, i);
        assert_string_equal(field(a, "type"), field(b, "type"));
        assert_string_equal(field(a, "agent"), field(b, "agent"));
    }
    const cJSON *ra = cJSON_GetArrayItem(http, cJSON_GetArraySize(http) - 1);
    const cJSON *rb = cJSON_GetArrayItem(inl, cJSON_GetArraySize(inl) - 1);
    assert_string_equal(field(root_result(http), "response"), field(root_result(inl), "response"));
    assert_true(
        cJSON_Compare(cJSON_GetObjectItem(ra, "usage"), cJSON_GetObjectItem(rb, "usage"), 1));
    cJSON_Delete(http);
    cJSON_Delete(inl);

    /* The inline link fails like HTTP does. */
    ra_link *l = ra_link_new_inline();
    cJSON *req = cJSON_CreateObject(), *out = NULL;
    assert_int_equal(ra_link_tool(l, "nope", req, 100, &out, err, sizeof(err)), -1);
    assert_string_equal(err, "HTTP 404");
    assert_int_equal(ra_link_model(l, req, 100, &out, err, sizeof(err)), -1);
    assert_string_equal(err, "HTTP 400");
    assert_null(out);
    cJSON_Delete(req);
    ra_link_free(l);
    ra_link_free(NULL);
    ra_link_free(su.link);
    ra_deps_stop(d);
}

static void test_fallback_names(void **state)
{
    (void)state;
    assert_string_equal(ra_agents_fallback("Data"), "Estimator");
    assert_string_equal(ra_agents_fallback("Optimization"), "Planner");
    assert_string_equal(ra_agents_fallback("Compliance"), "Auditor");
    assert_null(ra_agents_fallback("Triage"));
    assert_null(ra_agents_fallback("Estimator"));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_falls_back_to_estimator),
        cmocka_unit_test(test_optimization_falls_back_to_planner),
        cmocka_unit_test(test_compliance_falls_back_to_auditor),
        cmocka_unit_test(test_fallback_also_fails),
        cmocka_unit_test(test_triage_failure_routes_by_keyword),
        cmocka_unit_test(test_every_model_call_fails),
        cmocka_unit_test(test_tool_failure_without_calling),
        cmocka_unit_test(test_slow_agent_times_out),
        cmocka_unit_test(test_turn_deadline),
        cmocka_unit_test(test_thinking_deltas),
        cmocka_unit_test(test_inline_matches_http),
        cmocka_unit_test(test_fallback_names),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
