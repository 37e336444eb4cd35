/*
 * test_ra_deps.c - the dependency HTTP server over a real loopback socket,
 * the retrying client, and whole turns of the orchestration driven through
 * them (including a dead tools endpoint and a dead model endpoint).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agents.h"
#include "depclient.h"
#include "deps.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *body;
    size_t len;
} sink;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    s->body = realloc(s->body, s->len + sz * n + 1);
    memcpy(s->body + s->len, p, sz * n);
    s->len += sz * n;
    s->body[s->len] = '\0';
    return sz * n;
}

/* Performs one request on handle c; returns the status, body in *out (owned). */
static long http(CURL *c, const char *method, const char *url, const char *body, char **out)
{
    sink s = {calloc(1, 1), 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    *out = s.body;
    return status;
}

static void test_deps_http(void **state)
{
    (void)state;
    char err[128], url[128], *body;
    ra_deps *d = ra_deps_start(0, NULL, err, sizeof(err));
    assert_non_null(d);
    assert_true(ra_deps_port(d) > 0);
    CURL *c = curl_easy_init();

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/tools/pricing", ra_deps_port(d));
    assert_int_equal(http(c, "POST", url, "{\"spend_usd\":50000,\"gpu_instances\":20}", &body),
                     200);
    cJSON *j = cJSON_Parse(body);
    assert_int_equal((int)cJSON_GetObjectItem(j, "savings_pct")->valuedouble, 42);
    cJSON_Delete(j);
    free(body);

    /* Keep-alive: the second request reuses the connection. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/complete", ra_deps_port(d));
    assert_int_equal(http(c, "POST", url,
                          "{\"agent\":\"Triage\",\"input\":\"cut costs\",\"step\":\"route\"}",
                          &body),
                     200);
    long new_conns = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns);
    assert_int_equal(new_conns, 0);
    assert_non_null(strstr(body, "\"route\":[\"Data\",\"Optimization\"]"));
    free(body);

    assert_int_equal(http(c, "POST", url, "{\"agent\":1}", &body), 400);
    assert_string_equal(body, "{\"error\":\"request needs string fields agent, input and step\"}");
    free(body);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/tools/nope", ra_deps_port(d));
    assert_int_equal(http(c, "POST", url, "{}", &body), 404);
    assert_string_equal(body, "{\"error\":\"unknown tool 'nope'\"}");
    free(body);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/tools/cost_db", ra_deps_port(d));
    assert_int_equal(http(c, "POST", url, "{not json", &body), 400);
    assert_string_equal(body, "{\"error\":\"body must be a JSON object\"}");
    free(body);
    assert_int_equal(http(c, "GET", url, NULL, &body), 405);
    assert_string_equal(body, "{\"error\":\"use POST\"}");
    free(body);

    /* Started without counters, /stats reports zeros; it is GET-only. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats", ra_deps_port(d));
    assert_int_equal(http(c, "GET", url, NULL, &body), 200);
    assert_string_equal(body, "{\"events_sent\":0,\"turns_completed\":0,\"connections\":0}");
    free(body);
    assert_int_equal(http(c, "POST", url, "{}", &body), 405);
    assert_string_equal(body, "{\"error\":\"use GET\"}");
    free(body);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/elsewhere", ra_deps_port(d));
    assert_int_equal(http(c, "GET", url, NULL, &body), 404);
    assert_string_equal(body, "{\"error\":\"not found\"}");
    free(body);

    curl_easy_cleanup(c);
    ra_deps_stop(d);
    ra_deps_stop(NULL);
}

static void test_depclient_retry(void **state)
{
    (void)state;
    char err[128];
    ra_deps *d = ra_deps_start(0, NULL, err, sizeof(err));
    ra_dc *dc = ra_dc_new(2000);
    char url[128];
    cJSON *body = cJSON_CreateObject(), *out = NULL;
    int attempts = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/tools/cost_db", ra_deps_port(d));
    assert_int_equal(ra_dc_post_retry(dc, url, body, &out, &attempts, err, sizeof(err)), 0);
    assert_int_equal(attempts, 1);
    assert_non_null(cJSON_GetObjectItem(out, "breakdown"));
    cJSON_Delete(out);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/tools/nope", ra_deps_port(d));
    assert_int_equal(ra_dc_post_retry(dc, url, body, &out, &attempts, err, sizeof(err)), -1);
    assert_int_equal(attempts, 2);
    assert_null(out);
    assert_string_equal(err, "HTTP 404 after 2 attempts");

    int port = ra_deps_port(d);
    ra_deps_stop(d);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/tools/cost_db", port);
    assert_int_equal(ra_dc_post(dc, url, body, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "connection failed: "));
    cJSON_Delete(body);
    ra_dc_free(dc);
    ra_dc_free(NULL);
}

typedef struct {
    cJSON *events;
} capture;

static void capture_emit(void *ctx, cJSON *ev)
{
    cJSON_AddItemToArray(((capture *)ctx)->events, ev);
}

static const char *field(const cJSON *ev, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(ev, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Runs one turn against the given base URLs; returns the captured events (owned). */
static cJSON *run_turn(const char *model_url, const char *tools_url, const char *message,
                       const char *ctx_json)
{
    ra_facts facts;
    ra_facts_init(&facts);
    cJSON *ctx = ctx_json ? cJSON_Parse(ctx_json) : NULL;
    ra_facts_extract(&facts, message, ctx);
    cJSON_Delete(ctx);
    ra_agents_cfg cfg = {.think_ms = 0, .dep_timeout_ms = 2000, .turn_deadline_ms = 30000};
    ra_turn t = {"th-1", 1, message, &facts, NULL};
    capture cap = {cJSON_CreateArray()};
    ra_link *link = ra_link_new_http(model_url, tools_url);
    ra_agents_run_turn(&cfg, link, &t, capture_emit, &cap);
    ra_link_free(link);
    return cap.events;
}

static void test_turn_order_and_chain(void **state)
{
    (void)state;
    char err[128], base[64];
    ra_deps *d = ra_deps_start(0, NULL, err, sizeof(err));
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ra_deps_port(d));
    cJSON *evs = run_turn(
        base, base, "Analyze our ML training infrastructure costs and optimize for 40% reduction",
        "{\"current_spend\":\"$50K/month\",\"gpu_instances\":20,\"training_jobs\":150}");
    const char *want[][3] = {
        {"agent_started", "Supervisor", NULL},
        {"agent_thinking", "Supervisor", NULL},
        {"agent_started", "Triage", NULL},
        {"agent_thinking", "Triage", NULL},
        {"agent_completed", "Triage", NULL},
        {"agent_started", "Data", NULL},
        {"agent_thinking", "Data", NULL},
        {"tool_executing", "Data", "cost_db"},
        {"tool_completed", "Data", "cost_db"},
        {"tool_executing", "Data", "gpu_inventory"},
        {"tool_completed", "Data", "gpu_inventory"},
        {"agent_completed", "Data", NULL},
        {"agent_started", "Optimization", NULL},
        {"agent_thinking", "Optimization", NULL},
        {"tool_executing", "Optimization", "pricing"},
        {"tool_completed", "Optimization", "pricing"},
        {"agent_completed", "Optimization", NULL},
        {"agent_thinking", "Supervisor", NULL},
        {"agent_completed", "Supervisor", NULL},
    };
    assert_int_equal(cJSON_GetArraySize(evs), (int)(sizeof(want) / sizeof(want[0])));
    const char *sup_run = field(cJSON_GetArrayItem(evs, 0), "run_id");
    const char *triage_run = field(cJSON_GetArrayItem(evs, 2), "run_id");
    for (int i = 0; i < cJSON_GetArraySize(evs); i++) {
        const cJSON *ev = cJSON_GetArrayItem(evs, i);
        assert_string_equal(field(ev, "type"), want[i][0]);
        assert_string_equal(field(ev, "agent"), want[i][1]);
        assert_string_equal(field(ev, "thread_id"), "th-1");
        if (want[i][2]) assert_string_equal(field(ev, "tool"), want[i][2]);
        const char *agent = want[i][1];
        const char *parent = field(ev, "parent_run_id");
        if (strcmp(agent, "Supervisor") == 0)
            assert_null(parent);
        else if (strcmp(agent, "Triage") == 0)
            assert_string_equal(parent, sup_run);
        else
            assert_string_equal(parent, triage_run);
    }
    const cJSON *done = cJSON_GetArrayItem(evs, 15);
    assert_string_equal(field(done, "status"), "ok");
    assert_int_equal((int)cJSON_GetObjectItem(done, "attempts")->valuedouble, 1);
    const cJSON *root = cJSON_GetArrayItem(evs, 18);
    const cJSON *res = cJSON_GetObjectItem(root, "result");
    assert_int_equal((int)cJSON_GetObjectItem(res, "savings_pct")->valuedouble, 42);
    assert_int_equal((int)cJSON_GetObjectItem(res, "projected_spend_usd")->valuedouble, 29000);
    const char *resp = field(res, "response");
    assert_non_null(strstr(resp, "40% reduction target"));
    assert_non_null(strstr(resp, "20 GPU instances"));
    assert_non_null(strstr(resp, "150 training jobs"));
    assert_non_null(strstr(resp, "$50,000"));
    assert_string_equal(field(root, "status"), "ok");
    assert_true(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "usage"), "input_tokens")->valuedouble > 0);
    cJSON_Delete(evs);
    ra_deps_stop(d);
}

static void test_turn_with_dead_tools(void **state)
{
    (void)state;
    char err[128], base[64], dead[64];
    ra_deps *d = ra_deps_start(0, NULL, err, sizeof(err));
    ra_deps *gone = ra_deps_start(0, NULL, err, sizeof(err));
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ra_deps_port(d));
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ra_deps_port(gone));
    ra_deps_stop(gone);
    cJSON *evs = run_turn(base, dead, "Add PCI compliance constraints", NULL);
    int n = cJSON_GetArraySize(evs);
    const cJSON *tc = NULL;
    for (int i = 0; i < n; i++) {
        const cJSON *ev = cJSON_GetArrayItem(evs, i);
        if (strcmp(field(ev, "type"), "tool_completed") == 0) tc = ev;
    }
    assert_non_null(tc);
    assert_string_equal(field(tc, "status"), "error");
    assert_int_equal((int)cJSON_GetObjectItem(tc, "attempts")->valuedouble, 2);
    assert_non_null(strstr(field(tc, "error"), "after 2 attempts"));
    const cJSON *root = cJSON_GetArrayItem(evs, n - 1);
    assert_string_equal(field(root, "agent"), "Supervisor");
    assert_non_null(strstr(field(cJSON_GetObjectItem(root, "result"), "response"),
                           "Some data was unavailable: compliance_check (connection failed"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "result"), "partial")));
    cJSON_Delete(evs);

    /* A dead model: every agent run fails (fallbacks too), the turn still ends with the
     * root, status error, saying the service could not answer. */
    evs = run_turn(dead, base, "Analyze costs", NULL);
    n = cJSON_GetArraySize(evs);
    const cJSON *last = cJSON_GetArrayItem(evs, n - 1);
    assert_string_equal(field(last, "type"), "agent_completed");
    assert_null(field(last, "parent_run_id"));
    assert_string_equal(field(last, "status"), "error");
    const char *resp = field(cJSON_GetObjectItem(last, "result"), "response");
    assert_non_null(strstr(resp, "Sorry, the service could not answer this request: its model "
                                 "failed (connection failed"));
    assert_non_null(strstr(resp, "(failed: Supervisor, Triage, Data, Estimator, Optimization, "
                                 "Planner)"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(last, "result"), "degraded")));
    int triage_errors = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *ev = cJSON_GetArrayItem(evs, i);
        if (strcmp(field(ev, "type"), "agent_completed") == 0 &&
            strcmp(field(ev, "agent"), "Triage") == 0 && strcmp(field(ev, "status"), "error") == 0)
            triage_errors++;
        if (strcmp(field(ev, "type"), "error") == 0) {
            assert_string_equal(field(ev, "code"), "model_error");
            assert_non_null(field(ev, "run_id"));
        }
    }
    assert_int_equal(triage_errors, 1);
    cJSON_Delete(evs);
    ra_deps_stop(d);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deps_http),
        cmocka_unit_test(test_depclient_retry),
        cmocka_unit_test(test_turn_order_and_chain),
        cmocka_unit_test(test_turn_with_dead_tools),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
