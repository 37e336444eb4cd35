/*
 * test_ra_tools.c - the tools' results: figures the scenarios rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tools.h"

#include <string.h>

static cJSON *call(const char *tool, const char *args)
{
    cJSON *a = cJSON_Parse(args);
    cJSON *r = ra_tools_call(tool, a);
    cJSON_Delete(a);
    return r;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_cost_db_breakdown(void **state)
{
    (void)state;
    cJSON *r = call("cost_db", "{\"spend_usd\":50000}");
    assert_int_equal((int)num(r, "monthly_spend_usd"), 50000);
    double sum = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(r, "breakdown")) sum += num(row, "usd");
    assert_int_equal((int)sum, 50000);
    assert_int_equal((int)num(r, "gpu_compute_usd"), 31000);
    cJSON_Delete(r);
    r = call("cost_db", "{\"spend\":\"$50K/month\"}");
    assert_int_equal((int)num(r, "monthly_spend_usd"), 50000);
    cJSON_Delete(r);
    r = call("cost_db", "{}");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "monthly_spend_usd")));
    assert_string_equal(cJSON_GetObjectItem(r, "note")->valuestring, "no spend on record");
    cJSON_Delete(r);
}

static void test_pricing_savings(void **state)
{
    (void)state;
    cJSON *r = call("pricing", "{\"spend_usd\":50000,\"gpu_instances\":20}");
    assert_int_equal((int)num(r, "savings_pct"), 42);
    assert_int_equal((int)num(r, "projected_spend_usd"), 29000);
    int sum = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(r, "options")) sum += (int)num(o, "savings_pct");
    assert_int_equal(sum, 42);
    cJSON_Delete(r);
    for (int g = 0; g < 200; g += 7)
        assert_true(ra_tools_savings_pct(g) >= 40);
    r = call("pricing", "{}");
    assert_int_equal((int)num(r, "savings_pct"), 30);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "projected_spend_usd")));
    cJSON_Delete(r);
}

static void test_gpu_inventory(void **state)
{
    (void)state;
    cJSON *r = call("gpu_inventory", "{\"gpu_instances\":20,\"training_jobs\":150}");
    assert_int_equal((int)num(r, "instances"), 20);
    assert_int_equal((int)num(r, "avg_utilisation_pct"), 38);
    assert_int_equal((int)num(r, "training_jobs"), 150);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r, "gpu_instances_assumed")));
    cJSON_Delete(r);
}

static void test_compliance_and_migration(void **state)
{
    (void)state;
    cJSON *r = call("compliance_check", "{\"frameworks\":[\"PCI-DSS\"]}");
    cJSON *cons = cJSON_GetObjectItem(r, "constraints");
    assert_int_equal(cJSON_GetArraySize(cons), 4);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cons, 0), "framework")->valuestring,
                        "PCI-DSS");
    cJSON_Delete(r);
    r = call("compliance_check", "{}");
    assert_string_equal(cJSON_GetObjectItem(r, "note")->valuestring,
                        "no compliance framework on record");
    cJSON_Delete(r);
    r = call("migration_planner",
             "{\"platform\":\"Kubernetes\",\"spend_usd\":50000,\"frameworks\":[\"PCI-DSS\"]}");
    assert_string_equal(cJSON_GetObjectItem(r, "source_platform")->valuestring, "Kubernetes");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "phases")), 5);
    assert_int_equal((int)num(r, "duration_weeks"), 11);
    cJSON_Delete(r);
}

static void test_unknown_tool(void **state)
{
    (void)state;
    assert_null(ra_tools_call("nope", NULL));
    assert_false(ra_tools_exists("nope"));
    assert_false(ra_tools_exists(NULL));
    assert_true(ra_tools_exists("migration_planner"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost_db_breakdown), cmocka_unit_test(test_pricing_savings),
        cmocka_unit_test(test_gpu_inventory),     cmocka_unit_test(test_compliance_and_migration),
        cmocka_unit_test(test_unknown_tool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
