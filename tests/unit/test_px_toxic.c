/*
 * test_px_toxic.c - Toxiproxy-style TCP toxics on the exchanges a rule
 * matches, each checked by its observable effect on a libcurl client:
 * latency (both streams), timeout, reset_peer, slicer, limit_data, bandwidth,
 * and toxicity (0 never applies; the draw is seeded).
 */
#include "test_px_fixture.h"

/* A forward rule carrying one toxic; started, and the rule cleared. */
static fx_env *start_tox(ar_tox t)
{
    ar_px_rule r = fx_rule(AR_PX_FORWARD, "^/x");
    r.toxics = malloc(sizeof(ar_tox));
    r.toxics[0] = t;
    r.n_toxics = 1;
    fx_env *e = fx_start(&r, 1, 7);
    ar_px_rule_clear(&r);
    return e;
}

static void test_latency_downstream_and_upstream(void **state)
{
    (void)state;
    fx_env *e = start_tox(
        (ar_tox){.kind = AR_TOX_LATENCY, .toxicity = 1, .latency_ms = 200, .jitter_ms = 20});
    fx_resp x = fx_get(e, "/x");
    assert_int_equal(x.rc, CURLE_OK);
    assert_string_equal(x.body, "{\"ok\":true,\"path\":\"/x\"}");
    assert_true(x.took_us >= 170 * 1000);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.rule, 0);
    assert_int_equal(h.action, AR_PX_FORWARD);
    assert_non_null(strstr(h.detail, "downstream toxics: latency "));
    fx_resp_free(&x);
    /* Paths the rule does not match are not slowed (the toxic belongs to the rule). */
    x = fx_get(e, "/y");
    assert_int_equal(x.status, 200);
    h = fx_hit_find(&e->hits, 2, "/y", 0);
    assert_int_equal(h.rule, -1);
    assert_string_equal(h.detail, "");
    fx_resp_free(&x);
    fx_stop(e);

    e = start_tox(
        (ar_tox){.kind = AR_TOX_LATENCY, .upstream = true, .toxicity = 1, .latency_ms = 200});
    x = fx_get(e, "/x");
    assert_int_equal(x.status, 200);
    assert_true(x.took_us >= 180 * 1000);
    h = fx_hit_wait(&e->hits, 0);
    assert_string_equal(h.detail, "upstream toxics: latency 200ms");
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_timeout(void **state)
{
    (void)state;
    fx_env *e = start_tox((ar_tox){.kind = AR_TOX_TIMEOUT, .toxicity = 1, .timeout_ms = 200});
    fx_resp x = fx_get(e, "/x");
    /* No data, then the connection closes. */
    assert_int_equal(x.rc, CURLE_GOT_NOTHING);
    assert_true(x.took_us >= 180 * 1000);
    fx_resp_free(&x);
    fx_stop(e);

    /* timeout 0: never closes; the client gives up; upstream never saw the request. */
    e = start_tox(
        (ar_tox){.kind = AR_TOX_TIMEOUT, .upstream = true, .toxicity = 1, .timeout_ms = 0});
    char url[256];
    snprintf(url, sizeof(url), "%s/x", ar_px_url(e->px));
    x = fx_req(NULL, url, NULL, NULL, 0, NULL, 300);
    assert_int_equal(x.rc, CURLE_OPERATION_TIMEDOUT);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.status, 0);
    assert_non_null(strstr(h.detail, "timeout toxic: held until the client gave up"));
    assert_int_equal(atomic_load(&e->up->requests), 0);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_reset_peer(void **state)
{
    (void)state;
    fx_env *e = start_tox((ar_tox){.kind = AR_TOX_RESET_PEER, .toxicity = 1, .timeout_ms = 0});
    fx_resp x = fx_get(e, "/x");
    assert_int_equal(x.rc, CURLE_RECV_ERROR);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_non_null(strstr(h.detail, "reset_peer toxic: reset"));
    /* downstream: the request did reach the upstream before the reset. */
    assert_int_equal(atomic_load(&e->up->requests), 1);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_reset_peer_after_timeout(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_FORWARD, "^/slow");
    r.toxics = malloc(sizeof(ar_tox));
    r.toxics[0] = (ar_tox){.kind = AR_TOX_RESET_PEER, .toxicity = 1, .timeout_ms = 100};
    r.n_toxics = 1;
    fx_env *e = fx_start(&r, 1, 7);
    ar_px_rule_clear(&r);
    /* The upstream takes FX_SLOW_MS: the reset comes first. */
    fx_resp x = fx_get(e, "/slow");
    assert_int_equal(x.rc, CURLE_RECV_ERROR);
    assert_true(x.took_us >= 90 * 1000);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_non_null(strstr(h.detail, "reset_peer toxic: reset before the upstream answered"));
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_slicer(void **state)
{
    (void)state;
    fx_env *e = start_tox((ar_tox){.kind = AR_TOX_SLICER,
                                   .toxicity = 1,
                                   .average_size = 10,
                                   .size_variation = 4,
                                   .delay_us = 20000});
    char body[301];
    memset(body, 'q', 300);
    body[300] = '\0';
    fx_resp x = fx_post(e, "/x/echo", body);
    assert_int_equal(x.rc, CURLE_OK);
    assert_int_equal(x.status, 201);
    /* Bytes intact, but they came in many pieces, 20 ms apart. */
    assert_string_equal(x.body, body);
    assert_true(x.writes >= 5);
    assert_true(x.took_us >= 500 * 1000);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_limit_data(void **state)
{
    (void)state;
    fx_env *e = start_tox((ar_tox){.kind = AR_TOX_LIMIT_DATA, .toxicity = 1, .bytes = 1000});
    fx_resp x = fx_get(e, "/x");
    /* The response is shorter than the limit: delivered whole, then closed. */
    assert_int_equal(x.rc, CURLE_OK);
    fx_resp_free(&x);
    fx_stop(e);

    ar_px_rule r = fx_rule(AR_PX_FORWARD, "^/big");
    r.toxics = malloc(sizeof(ar_tox));
    r.toxics[0] = (ar_tox){.kind = AR_TOX_LIMIT_DATA, .toxicity = 1, .bytes = 1000};
    r.n_toxics = 1;
    e = fx_start(&r, 1, 7);
    ar_px_rule_clear(&r);
    x = fx_get(e, "/big");
    assert_int_equal(x.rc, CURLE_PARTIAL_FILE);
    assert_true(x.body_len > 0 && x.body_len < 1000);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_non_null(strstr(h.detail, "limit_data toxic: closed after 1000 of "));
    fx_resp_free(&x);
    fx_stop(e);

    /* upstream: the request is cut; the client gets nothing. */
    e = start_tox(
        (ar_tox){.kind = AR_TOX_LIMIT_DATA, .upstream = true, .toxicity = 1, .bytes = 10});
    x = fx_post(e, "/x/echo", "a body that will not arrive whole");
    assert_int_equal(x.rc, CURLE_GOT_NOTHING);
    h = fx_hit_wait(&e->hits, 0);
    assert_non_null(strstr(h.detail, "limit_data toxic: request cut"));
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_bandwidth(void **state)
{
    (void)state;
    fx_env *e = start_tox((ar_tox){.kind = AR_TOX_BANDWIDTH, .toxicity = 1, .rate_kbps = 4});
    char body[2001];
    memset(body, 'b', 2000);
    body[2000] = '\0';
    fx_resp x = fx_post(e, "/x/echo", body);
    assert_int_equal(x.rc, CURLE_OK);
    assert_string_equal(x.body, body);
    /* ~2100 bytes at 4 KB/s. */
    assert_true(x.took_us >= 400 * 1000);
    fx_resp_free(&x);
    fx_stop(e);
}

static void test_toxicity(void **state)
{
    (void)state;
    fx_env *e = start_tox((ar_tox){.kind = AR_TOX_LATENCY, .toxicity = 0, .latency_ms = 3000});
    fx_resp x = fx_get(e, "/x");
    assert_int_equal(x.status, 200);
    /* Generous: the toxic would have added 3 s. */
    assert_true(x.took_us < 2 * 1000 * 1000);
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.rule, 0);
    assert_string_equal(h.detail, "");
    fx_resp_free(&x);
    fx_stop(e);

    /* toxicity 0.5: which requests get the toxic is a function of the seed. */
    int got[2][16];
    for (int run = 0; run < 2; run++) {
        e = start_tox((ar_tox){.kind = AR_TOX_LIMIT_DATA, .toxicity = 0.5, .bytes = 0});
        for (int i = 0; i < 16; i++) {
            x = fx_get(e, "/x");
            got[run][i] = x.rc != CURLE_OK;
            fx_resp_free(&x);
        }
        fx_stop(e);
    }
    assert_memory_equal(got[0], got[1], sizeof(got[0]));
    int hit = 0;
    for (int i = 0; i < 16; i++)
        hit += got[0][i];
    assert_in_range(hit, 1, 15);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_downstream_and_upstream),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_reset_peer),
        cmocka_unit_test(test_reset_peer_after_timeout),
        cmocka_unit_test(test_slicer),
        cmocka_unit_test(test_limit_data),
        cmocka_unit_test(test_bandwidth),
        cmocka_unit_test(test_toxicity),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
