/*
 * test_ra_model.c - the deterministic model: routing by keyword, step
 * texts, token counts, the final answer, and its error messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "memory.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

static cJSON *request(const char *agent, const char *input, const char *step)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "agent", agent);
    cJSON_AddStringToObject(r, "input", input);
    cJSON_AddObjectToObject(r, "memory");
    cJSON_AddStringToObject(r, "step", step);
    return r;
}

/* Returns the route as "A,B,C" (owned). */
static char *route_of(const char *input)
{
    cJSON *req = request("Triage", input, "route");
    char err[128];
    cJSON *reply = ra_model_complete(req, err, sizeof(err));
    assert_non_null(reply);
    char buf[256] = "";
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(reply, "route"))
    {
        if (buf[0]) strcat(buf, ",");
        strcat(buf, it->valuestring);
    }
    cJSON_Delete(reply);
    cJSON_Delete(req);
    return strdup(buf);
}

static void assert_route(const char *input, const char *want)
{
    char *got = route_of(input);
    assert_string_equal(got, want);
    free(got);
}

static void test_routing_by_keyword(void **state)
{
    (void)state;
    assert_route("Analyze our ML training infrastructure costs and optimize for 40% reduction",
                 "Data,Optimization");
    assert_route("How do we cut the BUDGET?", "Data,Optimization");
    assert_route("Add PCI compliance constraints", "Compliance");
    assert_route("are we ready for a SOC 2 audit", "Compliance");
    assert_route("Draft a migration plan", "Optimization");
    assert_route("Reduce spend and check HIPAA", "Data,Optimization,Compliance");
    assert_route("hello there", "");
}

static void test_route_intents_and_usage(void **state)
{
    (void)state;
    cJSON *req = request("Triage", "Draft a migration plan", "route");
    char err[128];
    cJSON *reply = ra_model_complete(req, err, sizeof(err));
    cJSON *intents = cJSON_GetObjectItem(reply, "intents");
    assert_int_equal(cJSON_GetArraySize(intents), 1);
    assert_string_equal(cJSON_GetArrayItem(intents, 0)->valuestring, "migration");
    const char *text = cJSON_GetObjectItem(reply, "text")->valuestring;
    assert_string_equal(text, "Routing to Optimization: the request is about migration.");
    cJSON *usage = cJSON_GetObjectItem(reply, "usage");
    assert_int_equal((int)cJSON_GetObjectItem(usage, "output_tokens")->valuedouble,
                     (int)(strlen(text) / 4 + 1));
    assert_true(cJSON_GetObjectItem(usage, "input_tokens")->valuedouble > 5);
    cJSON_Delete(reply);
    cJSON_Delete(req);
}

static void test_deterministic(void **state)
{
    (void)state;
    const char *steps[] = {"route", "reason", "answer"};
    for (size_t i = 0; i < 3; i++) {
        cJSON *req = request("Data", "Analyze costs", steps[i]);
        char err[128];
        cJSON *a = ra_model_complete(req, err, sizeof(err));
        cJSON *b = ra_model_complete(req, err, sizeof(err));
        char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
        assert_string_equal(sa, sb);
        free(sa);
        free(sb);
        cJSON_Delete(a);
        cJSON_Delete(b);
        cJSON_Delete(req);
    }
}

static void test_bad_requests(void **state)
{
    (void)state;
    char err[128] = "";
    cJSON *req = cJSON_Parse("{\"agent\":\"Data\",\"input\":\"x\"}");
    assert_null(ra_model_complete(req, err, sizeof(err)));
    assert_string_equal(err, "request needs string fields agent, input and step");
    cJSON_Delete(req);
    req = request("Data", "x", "dance");
    assert_null(ra_model_complete(req, err, sizeof(err)));
    assert_string_equal(err, "unknown step 'dance' (route, reason or answer)");
    cJSON_Delete(req);
}

static cJSON *findings(const char *route_json, const char *intents_json, const char *results_json)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddItemToObject(f, "route", cJSON_Parse(route_json));
    cJSON_AddItemToObject(f, "intents", cJSON_Parse(intents_json));
    cJSON_AddItemToObject(f, "results", cJSON_Parse(results_json));
    cJSON_AddArrayToObject(f, "unavailable");
    cJSON_AddArrayToObject(f, "failed_agents");
    return f;
}

static void test_compose_migration_uses_memory(void **state)
{
    (void)state;
    ra_facts facts;
    ra_facts_init(&facts);
    cJSON *ctx = cJSON_Parse("{\"current_spend\":\"$50K/month\"}");
    ra_facts_extract(&facts, "What does our Kubernetes cluster cost?", ctx);
    ra_facts_extract(&facts, "Add PCI compliance constraints", NULL);
    cJSON *mem = ra_facts_to_json(&facts);
    cJSON *f = findings("[\"Optimization\"]", "[\"migration\"]",
                        "{\"migration_planner\":{\"source_platform\":\"Kubernetes\",\"phases\":[],"
                        "\"duration_weeks\":11},\"pricing\":{\"savings_pct\":30,"
                        "\"projected_spend_usd\":35000}}");
    char *text = ra_model_compose("Draft a migration plan", mem, f);
    assert_non_null(strstr(text, "$50K/month"));
    assert_non_null(strstr(text, "PCI-DSS"));
    assert_non_null(strstr(text, "Kubernetes"));
    free(text);

    cJSON *empty = cJSON_CreateObject();
    text = ra_model_compose("Draft a migration plan", empty, f);
    assert_null(strstr(text, "$50K"));
    assert_non_null(strstr(text, "No current spend is on record"));
    free(text);
    cJSON_Delete(empty);
    cJSON_Delete(f);
    cJSON_Delete(mem);
    cJSON_Delete(ctx);
}

static void test_compose_reports_unavailable(void **state)
{
    (void)state;
    cJSON *f = findings("[\"Data\"]", "[\"cost\"]", "{}");
    cJSON *un = cJSON_GetObjectItem(f, "unavailable");
    cJSON_AddItemToArray(
        un, cJSON_Parse("{\"tool\":\"cost_db\",\"error\":\"HTTP 503 after 2 attempts\"}"));
    cJSON *mem = cJSON_CreateObject();
    char *text = ra_model_compose("costs", mem, f);
    assert_non_null(strstr(text, "Some data was unavailable: cost_db (HTTP 503 after 2 attempts); "
                                 "this answer is partial."));
    free(text);
    cJSON_Delete(mem);
    cJSON_Delete(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_by_keyword),
        cmocka_unit_test(test_route_intents_and_usage),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_compose_migration_uses_memory),
        cmocka_unit_test(test_compose_reports_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
