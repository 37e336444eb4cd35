/*
 * test_ra_memory.c - facts extraction, per-thread isolation, turn numbers
 * and the LRU cap of conversation memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "memory.h"

#include <stdio.h>
#include <string.h>

static void test_facts_from_context(void **state)
{
    (void)state;
    ra_facts f;
    ra_facts_init(&f);
    cJSON *ctx = cJSON_Parse("{\"current_spend\":\"$50K/month\",\"gpu_instances\":20,"
                             "\"training_jobs\":150,\"compliance\":[\"pci\",\"GDPR\"]}");
    ra_facts_extract(&f, "Analyze costs", ctx);
    assert_string_equal(f.spend, "$50K/month");
    assert_int_equal(f.spend_usd, 50000);
    assert_int_equal(f.gpu_instances, 20);
    assert_int_equal(f.training_jobs, 150);
    assert_int_equal(f.n_frameworks, 2);
    assert_string_equal(f.frameworks[0], "PCI-DSS");
    assert_string_equal(f.frameworks[1], "GDPR");
    cJSON_Delete(ctx);
}

static void test_facts_from_text(void **state)
{
    (void)state;
    ra_facts f;
    ra_facts_init(&f);
    ra_facts_extract(&f,
                     "Our k8s cluster costs $1.2M per month with 64 GPU instances and 300 "
                     "training jobs; we need SOC2",
                     NULL);
    assert_int_equal(f.spend_usd, 1200000);
    assert_string_equal(f.spend, "$1200K/month");
    assert_int_equal(f.gpu_instances, 64);
    assert_int_equal(f.training_jobs, 300);
    assert_string_equal(f.platform, "Kubernetes");
    assert_string_equal(f.frameworks[0], "SOC 2");
    /* A percentage is not a GPU count, and a later message keeps earlier facts. */
    ra_facts_extract(&f, "optimize for 40% reduction", NULL);
    assert_int_equal(f.gpu_instances, 64);
    assert_int_equal(f.spend_usd, 1200000);
}

static void test_parse_spend(void **state)
{
    (void)state;
    assert_int_equal(ra_parse_spend("$50K/month"), 50000);
    assert_int_equal(ra_parse_spend("50,000"), 50000);
    assert_int_equal(ra_parse_spend("$2M"), 2000000);
    assert_int_equal(ra_parse_spend("lots"), -1);
    assert_int_equal(ra_parse_spend(NULL), -1);
}

static void test_threads_isolated_and_turns_count(void **state)
{
    (void)state;
    ra_mem *m = ra_mem_new(100);
    ra_facts f;
    cJSON *ctx = cJSON_Parse("{\"current_spend\":\"$50K/month\"}");
    assert_int_equal(ra_mem_begin_turn(m, "a", "What does our Kubernetes cluster cost?", ctx, &f),
                     1);
    assert_int_equal(ra_mem_begin_turn(m, "a", "Add PCI compliance constraints", NULL, &f), 2);
    assert_int_equal(f.spend_usd, 50000);
    assert_string_equal(f.platform, "Kubernetes");
    assert_string_equal(f.frameworks[0], "PCI-DSS");
    assert_int_equal(ra_mem_begin_turn(m, "b", "Draft a migration plan", NULL, &f), 1);
    assert_int_equal(f.spend_usd, -1);
    assert_int_equal(f.n_frameworks, 0);
    assert_true(ra_mem_get(m, "a", &f));
    assert_int_equal(f.spend_usd, 50000);
    assert_false(ra_mem_get(m, "zzz", &f));
    cJSON_Delete(ctx);
    ra_mem_free(m);
    ra_mem_free(NULL);
}

static void test_lru_cap(void **state)
{
    (void)state;
    ra_mem *m = ra_mem_new(3);
    ra_facts f;
    ra_mem_begin_turn(m, "t1", "$10K", NULL, &f);
    ra_mem_begin_turn(m, "t2", "x", NULL, &f);
    ra_mem_begin_turn(m, "t3", "x", NULL, &f);
    ra_mem_begin_turn(m, "t1", "x", NULL, &f); /* t1 is now the most recent */
    ra_mem_begin_turn(m, "t4", "x", NULL, &f); /* evicts t2, the least recent */
    assert_int_equal(ra_mem_count(m), 3);
    assert_false(ra_mem_get(m, "t2", &f));
    assert_true(ra_mem_get(m, "t1", &f));
    assert_int_equal(f.spend_usd, 10000);
    assert_true(ra_mem_get(m, "t3", &f));
    assert_true(ra_mem_get(m, "t4", &f));
    /* An evicted thread starts again at turn 1. */
    assert_int_equal(ra_mem_begin_turn(m, "t2", "x", NULL, &f), 1);
    assert_int_equal(ra_mem_count(m), 3);
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "bulk-%d", i);
        ra_mem_begin_turn(m, id, "x", NULL, &f);
    }
    assert_int_equal(ra_mem_count(m), 3);
    assert_null(ra_mem_new(0));
    ra_mem_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts_from_context),
        cmocka_unit_test(test_facts_from_text),
        cmocka_unit_test(test_parse_spend),
        cmocka_unit_test(test_threads_isolated_and_turns_count),
        cmocka_unit_test(test_lru_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
