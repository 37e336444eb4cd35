/*
 * test_px_action.c - what a fired rule does, seen from a libcurl client over
 * loopback: respond, delay, hang (released by the client and by a
 * duration), reset, truncate, malformed, throttle; the schedules (first N,
 * after N, every k, seeded probability); each match criterion and the turn
 * scope. Timings assert generous lower bounds only.
 */
#include "test_px_fixture.h"

#include <cJSON.h>

static fx_env *start1(ar_px_rule *r, uint64_t seed)
{
    fx_env *e = fx_start(r, 1, seed);
    ar_px_rule_clear(r);
    return e;
}

static void test_respond(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_RESPOND, "^/tools/cost_db");
    r.name = strdup("tool_failure");
    r.status = 503;
    r.body = strdup("{\"error\":\"db down\"}");
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_post(e, "/tools/cost_db", "{\"q\":1}");
    assert_int_equal(x.rc, CURLE_OK);
    assert_int_equal(x.status, 503);
    assert_string_equal(x.body, "{\"error\":\"db down\"}");
    assert_non_null(strstr(x.headers, "Content-Type: application/json\r\n"));
    fx_resp_free(&x);
    /* Not forwarded. */
    assert_int_equal(atomic_load(&e->up->requests), 0);
    assert_int_equal(ar_px_fired(e->px, 0), 1);
    assert_int_equal(ar_px_fired(e->px, 1), 0);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.rule, 0);
    assert_string_equal(h.name, "tool_failure");
    assert_int_equal(h.action, AR_PX_RESPOND);
    assert_int_equal(h.status, 503);
    assert_string_equal(h.method, "POST");
    assert_string_equal(h.path, "/tools/cost_db");
    assert_string_equal(h.detail, "responded 503");
    /* Other paths are forwarded. */
    x = fx_get(e, "/tools/gpu");
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_respond_defaults(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_RESPOND, NULL);
    r.name = strdup("boom");
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/any");
    assert_int_equal(x.status, 500);
    assert_string_equal(x.body, "{\"error\":\"Internal Server Error\",\"detail\":\"injected by the "
                                "agentrig fault proxy (boom)\"}");
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_delay(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_DELAY, NULL);
    r.delay_us = 200 * 1000;
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/d");
    assert_int_equal(x.rc, CURLE_OK);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "{\"ok\":true,\"path\":\"/d\"}");
    assert_true(x.took_us >= 180 * 1000);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.action, AR_PX_DELAY);
    assert_string_equal(h.detail, "delayed 200ms");
    assert_true(h.took_us >= 180 * 1000);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_hang_until_client_gives_up(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_HANG, NULL);
    fx_env *e = start1(&r, 1);
    char url[256];
    snprintf(url, sizeof(url), "%s/h", ar_px_url(e->px));
    fx_resp x = fx_req(NULL, url, NULL, NULL, 0, NULL, 300);
    assert_int_equal(x.rc, CURLE_OPERATION_TIMEDOUT);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.action, AR_PX_HANG);
    assert_int_equal(h.status, 0);
    assert_string_equal(h.detail, "held until the client gave up");
    assert_true(h.took_us >= 250 * 1000);
    assert_int_equal(atomic_load(&e->up->requests), 0);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_hang_for_a_duration(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_HANG, NULL);
    r.hang_us = 200 * 1000;
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/h");
    /* Closed without a byte of response. */
    assert_int_equal(x.rc, CURLE_GOT_NOTHING);
    assert_true(x.took_us >= 180 * 1000);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_string_equal(h.detail, "held until its deadline, then closed");
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_reset(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_RESET, NULL);
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/r");
    assert_int_equal(x.rc, CURLE_RECV_ERROR);
    assert_non_null(strstr(x.err, "reset by peer"));
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.action, AR_PX_RESET);
    assert_int_equal(h.status, 0);
    assert_string_equal(h.detail, "reset the connection");
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_truncate(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_TRUNCATE, NULL);
    r.truncate_bytes = 5;
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/t");
    assert_int_equal(x.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(x.status, 200);
    /* The original Content-Length was announced, five bytes came. */
    assert_int_equal(x.content_length, 23);
    assert_int_equal(x.body_len, 5);
    assert_memory_equal(x.body, "{\"ok\"", 5);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_string_equal(h.detail, "truncated body at 5 of 23 bytes");
    assert_int_equal(h.status, 200);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_truncate_always_cuts(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_TRUNCATE, NULL);
    r.truncate_bytes = 1000;
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/t");
    assert_int_equal(x.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(x.body_len, 22);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_malformed(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_MALFORMED, NULL);
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/m");
    assert_int_equal(x.rc, CURLE_OK);
    assert_int_equal(x.status, 200);
    assert_string_equal(x.body, "{\"result\": [1, 2,");
    assert_int_equal(x.content_length, (curl_off_t)x.body_len);
    assert_non_null(strstr(x.headers, "Content-Type: application/json\r\n"));
    cJSON *j = cJSON_Parse(x.body);
    assert_null(j);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_string_equal(h.detail, "replaced the 23-byte body with malformed JSON");
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_throttle(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_THROTTLE, NULL);
    r.bytes_per_s = 4000;
    fx_env *e = start1(&r, 1);
    char body[2001];
    memset(body, 'z', 2000);
    body[2000] = '\0';
    fx_resp x = fx_post(e, "/echo", body);
    assert_int_equal(x.rc, CURLE_OK);
    assert_string_equal(x.body, body);
    /* ~2100 bytes at 4000 B/s: about half a second. */
    assert_true(x.took_us >= 400 * 1000);
    assert_true(x.writes >= 2);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_string_equal(h.detail, "throttled to 4000 B/s");
    fx_resp_free(&x);
    fx_stop(e);
}

/* Sends n GETs on one connection; out[i] = 1 when the rule fired (503). */
static void decisions(fx_env *e, int n, int *out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/s", ar_px_url(e->px));
    CURL *c = curl_easy_init();
    for (int i = 0; i < n; i++) {
        fx_resp x = fx_req(c, url, NULL, NULL, 0, NULL, 5000);
        assert_int_equal(x.rc, CURLE_OK);
        out[i] = x.status == 503;
        fx_resp_free(&x);
    }
    curl_easy_cleanup(c);
}

static fx_env *sched(ar_px_schedule s, long n, double p, uint64_t seed)
{
    ar_px_rule r = fx_rule(AR_PX_RESPOND, NULL);
    r.status = 503;
    r.schedule = s;
    r.n = n;
    r.p = p;
    return start1(&r, seed);
}

static void test_schedule_first_after_every(void **state)
{
    (void)state;
    int d[6];
    fx_env *e = sched(AR_PX_FIRST_N, 2, 0, 1);
    decisions(e, 5, d);
    int first[] = {1, 1, 0, 0, 0};
    assert_memory_equal(d, first, sizeof(first));
    assert_int_equal(ar_px_fired(e->px, 0), 2);
    assert_int_equal(ar_px_requests(e->px), 5);
    fx_stop(e);

    e = sched(AR_PX_AFTER_N, 2, 0, 1);
    decisions(e, 5, d);
    int after[] = {0, 0, 1, 1, 1};
    assert_memory_equal(d, after, sizeof(after));
    fx_stop(e);

    e = sched(AR_PX_EVERY_K, 3, 0, 1);
    decisions(e, 6, d);
    int every[] = {0, 0, 1, 0, 0, 1};
    assert_memory_equal(d, every, sizeof(every));
    fx_stop(e);
}

#define NP 40

static void test_schedule_probability_is_seeded(void **state)
{
    (void)state;
    int a[NP], b[NP], c[NP], none[NP], all[NP];
    fx_env *e = sched(AR_PX_PROBABILITY, 0, 0.5, 42);
    decisions(e, NP, a);
    fx_stop(e);
    e = sched(AR_PX_PROBABILITY, 0, 0.5, 42);
    decisions(e, NP, b);
    fx_stop(e);
    e = sched(AR_PX_PROBABILITY, 0, 0.5, 43);
    decisions(e, NP, c);
    fx_stop(e);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    int fired = 0;
    for (int i = 0; i < NP; i++)
        fired += a[i];
    /* p = 0.5 over 40 draws: far from 0 and from 40 (fixed seed, so not flaky). */
    assert_in_range(fired, 8, 32);

    e = sched(AR_PX_PROBABILITY, 0, 0.0, 42);
    decisions(e, NP, none);
    fx_stop(e);
    e = sched(AR_PX_PROBABILITY, 0, 1.0, 42);
    decisions(e, NP, all);
    fx_stop(e);
    for (int i = 0; i < NP; i++) {
        assert_int_equal(none[i], 0);
        assert_int_equal(all[i], 1);
    }
}

static void test_first_firing_rule_wins_and_counts(void **state)
{
    (void)state;
    ar_px_rule rules[2];
    rules[0] = fx_rule(AR_PX_RESPOND, "^/s");
    rules[0].status = 503;
    rules[0].schedule = AR_PX_FIRST_N;
    rules[0].n = 1;
    rules[1] = fx_rule(AR_PX_RESPOND, "^/s");
    rules[1].status = 429;
    fx_env *e = fx_start(rules, 2, 1);
    ar_px_rule_clear(&rules[0]);
    ar_px_rule_clear(&rules[1]);
    fx_resp x = fx_get(e, "/s");
    assert_int_equal(x.status, 503);
    fx_resp_free(&x);
    /* Rule 0 matched again but its schedule said no: rule 1 fires. */
    x = fx_get(e, "/s");
    assert_int_equal(x.status, 429);
    fx_resp_free(&x);
    assert_int_equal(ar_px_fired(e->px, 0), 1);
    assert_int_equal(ar_px_fired(e->px, 1), 1);
    fx_hit h = fx_hit_find(&e->hits, 2, NULL, 429);
    assert_int_equal(h.rule, 1);
    h = fx_hit_find(&e->hits, 2, NULL, 503);
    assert_int_equal(h.rule, 0);
    fx_stop(e);
}

static void test_match_method_path_body(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_RESPOND, "^/tools/(cost|gpu)");
    r.status = 418;
    r.method = strdup("post");
    r.body_regex = strdup("\"region\":\\s*\"eu");
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_post(e, "/tools/cost_db", "{\"region\": \"eu-west\"}");
    assert_int_equal(x.status, 418);
    fx_resp_free(&x);
    x = fx_post(e, "/tools/cost_db", "{\"region\": \"us-east\"}"); /* body differs */
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    x = fx_post(e, "/tools/other", "{\"region\": \"eu-west\"}"); /* path differs */
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    char url[256];
    snprintf(url, sizeof(url), "%s/tools/gpu", ar_px_url(e->px));
    x = fx_req(NULL, url, "PUT", "{\"region\": \"eu\"}", 16, NULL, 5000); /* method differs */
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_match_json_pointer(void **state)
{
    (void)state;
    ar_px_rule rules[3];
    rules[0] = fx_rule(AR_PX_RESPOND, NULL);
    rules[0].status = 418;
    rules[0].json_pointer = strdup("/agent");
    rules[0].json_equals = strdup("Data");
    rules[1] = fx_rule(AR_PX_RESPOND, NULL);
    rules[1].status = 419;
    rules[1].json_pointer = strdup("/args/limit");
    rules[1].json_equals = strdup("20");
    rules[2] = fx_rule(AR_PX_RESPOND, NULL);
    rules[2].status = 420;
    rules[2].json_pointer = strdup("/messages/0/role");
    rules[2].json_matches = strdup("^sys");
    fx_env *e = fx_start(rules, 3, 1);
    for (int i = 0; i < 3; i++)
        ar_px_rule_clear(&rules[i]);
    struct {
        const char *body;
        long status;
    } cases[] = {
        {"{\"agent\":\"Data\"}", 418},
        {"{\"agent\":\"Database\"}", 200},
        {"{\"args\":{\"limit\":20}}", 419},
        {"{\"args\":{\"limit\":21}}", 200},
        {"{\"args\":{\"limit\":20.0}}", 419},
        {"{\"messages\":[{\"role\":\"system\"}]}", 420},
        {"{\"messages\":[{\"role\":\"user\"}]}", 200},
        {"not json", 200},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_resp x = fx_post(e, "/model", cases[i].body);
        if (x.status != cases[i].status) fprintf(stderr, "case %zu: %s\n", i, cases[i].body);
        assert_int_equal(x.status, cases[i].status);
        fx_resp_free(&x);
    }
    fx_stop(e);
}

static void test_match_header(void **state)
{
    (void)state;
    ar_px_rule rules[2];
    rules[0] = fx_rule(AR_PX_RESPOND, NULL);
    rules[0].status = 418;
    rules[0].header_name = strdup("x-agent");
    rules[0].header_regex = strdup("^Optim");
    rules[1] = fx_rule(AR_PX_RESPOND, NULL);
    rules[1].status = 419;
    rules[1].header_name = strdup("X-Fault");
    fx_env *e = fx_start(rules, 2, 1);
    ar_px_rule_clear(&rules[0]);
    ar_px_rule_clear(&rules[1]);
    char url[256];
    snprintf(url, sizeof(url), "%s/model", ar_px_url(e->px));
    const char *hdr[] = {"X-Agent: Optimization", "X-Agent: Data", "x-fault: yes", NULL};
    long want[] = {418, 200, 419};
    for (int i = 0; hdr[i]; i++) {
        struct curl_slist *h = curl_slist_append(NULL, hdr[i]);
        fx_resp x = fx_req(NULL, url, NULL, NULL, 0, h, 5000);
        curl_slist_free_all(h);
        assert_int_equal(x.status, want[i]);
        fx_resp_free(&x);
    }
    fx_resp x = fx_get(e, "/model");
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_turn_scope(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_RESPOND, NULL);
    r.status = 503;
    r.turn = 2;
    fx_env *e = start1(&r, 1);
    fx_resp x = fx_get(e, "/t");
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    ar_px_set_turn(e->px, 1);
    x = fx_get(e, "/t");
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    ar_px_set_turn(e->px, 2);
    x = fx_get(e, "/t");
    assert_int_equal(x.status, 503);
    fx_resp_free(&x);
    ar_px_set_turn(e->px, 3);
    x = fx_get(e, "/t");
    assert_int_equal(x.status, 200);
    fx_resp_free(&x);
    /* Hits come from the proxy's connection threads, in the order those
     * finish, not necessarily the order of the requests: look them up. */
    fx_hit_wait(&e->hits, 3);
    unsigned fired_turns = 0, forwarded_turns = 0;
    for (int i = 0; i < 4; i++) {
        fx_hit h = fx_hit_wait(&e->hits, i);
        if (h.rule == 0)
            fired_turns |= 1u << h.turn;
        else
            forwarded_turns |= 1u << h.turn;
    }
    assert_int_equal(fired_turns, 1u << 2);                               /* only in turn 2 */
    assert_int_equal(forwarded_turns, (1u << 0) | (1u << 1) | (1u << 3)); /* the others */
    fx_stop(e);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respond),
        cmocka_unit_test(test_respond_defaults),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_hang_until_client_gives_up),
        cmocka_unit_test(test_hang_for_a_duration),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_truncate_always_cuts),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_schedule_first_after_every),
        cmocka_unit_test(test_schedule_probability_is_seeded),
        cmocka_unit_test(test_first_firing_rule_wins_and_counts),
        cmocka_unit_test(test_match_method_path_body),
        cmocka_unit_test(test_match_json_pointer),
        cmocka_unit_test(test_match_header),
        cmocka_unit_test(test_turn_scope),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
