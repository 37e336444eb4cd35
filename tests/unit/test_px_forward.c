/*
 * test_px_forward.c - the proxy as a plain reverse proxy, over real loopback
 * sockets: uninjected requests forwarded byte for byte (Content-Length,
 * chunked and close-delimited replies; chunked and 100-continue request
 * bodies), keep-alive, the upstream base path, what a dead or slow upstream
 * gets, the caps, and stopping with requests held.
 */
#include "test_px_fixture.h"

static void test_forward_byte_for_byte(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    fx_resp r = fx_get(e, "/hello?x=1");
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ok\":true,\"path\":\"/hello?x=1\"}");
    assert_non_null(strstr(r.headers, "HTTP/1.1 200 Custom Reason\r\n"));
    assert_non_null(strstr(r.headers, "X-Custom: abc\r\n"));
    assert_non_null(strstr(r.headers, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(r.headers, "Content-Length: 31\r\n"));
    fx_hit h = fx_hit_wait(&e->hits, 0);
    assert_int_equal(h.rule, -1);
    assert_int_equal(h.action, AR_PX_FORWARD);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.method, "GET");
    assert_string_equal(h.path, "/hello?x=1");
    assert_string_equal(h.detail, "");
    assert_true(h.took_us >= 0);
    assert_int_equal(ar_px_requests(e->px), 1);
    fx_resp_free(&r);

    r = fx_get(e, "/status/404");
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"ok\":true,\"path\":\"/status/404\"}");
    fx_resp_free(&r);
    fx_stop(e);
}

static void test_forward_chunked_and_close_delimited(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    fx_resp r = fx_get(e, "/chunked");
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, FX_CHUNKED_BODY);
    assert_non_null(strstr(r.headers, "X-Custom: chunky\r\n"));
    /* Transfer-Encoding is hop-by-hop: the proxy re-frames with a length. */
    assert_null(strcasestr(r.headers, "transfer-encoding"));
    assert_non_null(strstr(r.headers, "Content-Length: 20\r\n"));
    fx_resp_free(&r);

    r = fx_get(e, "/close");
    assert_int_equal(r.rc, CURLE_OK);
    assert_string_equal(r.body, FX_CLOSE_BODY);
    fx_resp_free(&r);

    r = fx_get(e, "/big");
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.body_len, FX_BIG_BYTES);
    for (size_t i = 0; i < FX_BIG_BYTES; i += 997)
        assert_int_equal(r.body[i], 'a' + i % 26);
    fx_resp_free(&r);
    fx_stop(e);
}

static void test_forward_request_bodies(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    char url[256];
    snprintf(url, sizeof(url), "%s/echo", ar_px_url(e->px));
    /* Over 1 MiB: libcurl sends Expect: 100-continue and waits for it. */
    size_t n = 2 * 1024 * 1024 + 7;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31 + 7);
    struct curl_slist *h = curl_slist_append(NULL, "Expect: 100-continue");
    fx_resp r = fx_req(NULL, url, NULL, big, n, h, 10000);
    curl_slist_free_all(h);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, n);
    assert_memory_equal(r.body, big, n);
    fx_resp_free(&r);
    free(big);

    /* A chunked request body arrives upstream de-chunked, with a Content-Length. */
    h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    r = fx_req(NULL, url, "PUT", "chunked request body", 20, h, 5000);
    curl_slist_free_all(h);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "chunked request body");
    pthread_mutex_lock(&e->up->mu);
    assert_non_null(strstr(e->up->last_head, "PUT /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(e->up->last_head, "Content-Length: 20\r\n"));
    assert_null(strcasestr(e->up->last_head, "transfer-encoding"));
    pthread_mutex_unlock(&e->up->mu);
    fx_resp_free(&r);
    fx_stop(e);
}

static void test_keep_alive_both_sides(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    char url[256];
    snprintf(url, sizeof(url), "%s/a", ar_px_url(e->px));
    CURL *c = curl_easy_init();
    for (int i = 0; i < 5; i++) {
        fx_resp r = fx_req(c, url, NULL, NULL, 0, NULL, 5000);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        /* Only the first request opened a connection to the proxy. */
        assert_int_equal(r.connects, i == 0 ? 1 : 0);
        fx_resp_free(&r);
    }
    curl_easy_cleanup(c);
    /* ... and the proxy kept one connection to the upstream. */
    assert_int_equal(atomic_load(&e->up->accepted), 1);
    assert_int_equal(atomic_load(&e->up->requests), 5);
    fx_stop(e);
}

static void test_upstream_base_path_and_host(void **state)
{
    (void)state;
    fx_up *up = fx_up_start();
    char upstream[128];
    snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%d/v1/", up->port);
    ar_px_cfg cfg = {.upstream = upstream};
    ar_proxy *px;
    char err[256];
    assert_int_equal(ar_px_start(&cfg, &px, err, sizeof(err)), AR_OK);
    char url[256];
    snprintf(url, sizeof(url), "%s/tools/cost_db", ar_px_url(px));
    assert_int_equal(strncmp(ar_px_url(px), "http://127.0.0.1:", 17), 0);
    fx_resp r = fx_req(NULL, url, NULL, NULL, 0, NULL, 5000);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ok\":true,\"path\":\"/v1/tools/cost_db\"}");
    char host[64];
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", up->port);
    pthread_mutex_lock(&up->mu);
    assert_non_null(strstr(up->last_head, host));
    pthread_mutex_unlock(&up->mu);
    fx_resp_free(&r);
    ar_px_stop(px);
    fx_up_stop(up);
}

static void test_upstream_refused_is_502(void **state)
{
    (void)state;
    fx_hits hits = {.n = 0};
    pthread_mutex_init(&hits.mu, NULL);
    int port = fx_dead_port();
    char upstream[64];
    snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%d", port);
    ar_px_cfg cfg = {.upstream = upstream, .on_hit = fx_on_hit, .user = &hits};
    ar_proxy *px;
    char err[256];
    assert_int_equal(ar_px_start(&cfg, &px, err, sizeof(err)), AR_OK);
    char url[256];
    snprintf(url, sizeof(url), "%s/tools/x", ar_px_url(px));
    fx_resp r = fx_req(NULL, url, NULL, NULL, 0, NULL, 5000);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 502);
    char detail[128];
    snprintf(detail, sizeof(detail), "upstream 127.0.0.1:%d refused: Connection refused", port);
    char body[256];
    snprintf(body, sizeof(body), "{\"error\":\"Bad Gateway\",\"detail\":\"%s\"}", detail);
    assert_string_equal(r.body, body);
    fx_hit h = fx_hit_wait(&hits, 0);
    assert_int_equal(h.status, 502);
    assert_int_equal(h.rule, -1);
    assert_string_equal(h.detail, detail);
    fx_resp_free(&r);
    ar_px_stop(px);
    pthread_mutex_destroy(&hits.mu);
}

static void test_upstream_timeout_is_504(void **state)
{
    (void)state;
    fx_hits hits = {.n = 0};
    pthread_mutex_init(&hits.mu, NULL);
    fx_up *up = fx_up_start();
    char upstream[64];
    snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%d", up->port);
    ar_px_cfg cfg = {.upstream = upstream,
                     .on_hit = fx_on_hit,
                     .user = &hits,
                     .upstream_timeout_us = 150 * 1000};
    ar_proxy *px;
    char err[256];
    assert_int_equal(ar_px_start(&cfg, &px, err, sizeof(err)), AR_OK);
    char url[256];
    snprintf(url, sizeof(url), "%s/slow", ar_px_url(px));
    fx_resp r = fx_req(NULL, url, NULL, NULL, 0, NULL, 5000);
    assert_int_equal(r.status, 504);
    char detail[128];
    snprintf(detail, sizeof(detail), "upstream 127.0.0.1:%d did not answer within 150ms", up->port);
    assert_non_null(strstr(r.body, detail));
    fx_hit h = fx_hit_wait(&hits, 0);
    assert_int_equal(h.status, 504);
    assert_string_equal(h.detail, detail);
    assert_true(r.took_us >= 140 * 1000);
    fx_resp_free(&r);
    /* The same client connection still works afterwards. */
    snprintf(url, sizeof(url), "%s/fine", ar_px_url(px));
    r = fx_req(NULL, url, NULL, NULL, 0, NULL, 5000);
    assert_int_equal(r.status, 200);
    fx_resp_free(&r);
    ar_px_stop(px);
    fx_up_stop(up);
    pthread_mutex_destroy(&hits.mu);
}

static void test_caps_and_bad_requests(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    /* A header block over 64 KiB. */
    size_t n = 70 * 1024;
    char *big = malloc(n + 64);
    int off = snprintf(big, n + 64, "GET / HTTP/1.1\r\nX-Big: ");
    memset(big + off, 'x', n);
    memcpy(big + off + n, "\r\n\r\n", 5);
    char *out = fx_raw(e, big, strlen(big));
    assert_int_equal(strncmp(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46), 0);
    assert_non_null(strstr(out, "request refused: head over 64 KiB"));
    free(out);
    free(big);

    static const char huge[] = "POST /x HTTP/1.1\r\nContent-Length: 20000000\r\n\r\nabc";
    out = fx_raw(e, huge, sizeof(huge) - 1);
    assert_int_equal(strncmp(out, "HTTP/1.1 413 Content Too Large\r\n", 32), 0);
    assert_non_null(strstr(out, "body over 16 MiB"));
    free(out);

    static const char garbage[] = "garbage\r\n\r\n";
    out = fx_raw(e, garbage, sizeof(garbage) - 1);
    assert_int_equal(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
    assert_non_null(strstr(out, "malformed request line"));
    free(out);

    /* Each refusal is a hit, with the reason. */
    fx_hit h = fx_hit_find(&e->hits, 3, NULL, 400);
    assert_string_equal(h.detail, "request refused: malformed request line");
    h = fx_hit_find(&e->hits, 3, NULL, 413);
    assert_string_equal(h.path, "/x");
    assert_int_equal(atomic_load(&e->up->requests), 0);
    fx_stop(e);
}

static void test_pipelined_requests(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    static const char two[] = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *out = fx_raw(e, two, sizeof(two) - 1);
    char *first = strstr(out, "{\"ok\":true,\"path\":\"/one\"}");
    char *second = strstr(out, "{\"ok\":true,\"path\":\"/two\"}");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    free(out);
    fx_stop(e);
}

typedef struct {
    char url[256];
    fx_resp r;
} bg_req;

static void *bg_main(void *arg)
{
    bg_req *b = arg;
    b->r = fx_req(NULL, b->url, NULL, NULL, 0, NULL, 20000);
    return NULL;
}

static void test_stop_releases_held_requests(void **state)
{
    (void)state;
    ar_px_rule r = fx_rule(AR_PX_HANG, "^/hang");
    fx_env *e = fx_start(&r, 1, 1);
    ar_px_rule_clear(&r);
    bg_req b[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        snprintf(b[i].url, sizeof(b[i].url), "%s/hang/%d", ar_px_url(e->px), i);
        pthread_create(&th[i], NULL, bg_main, &b[i]);
    }
    while (ar_px_fired(e->px, 0) < 3)
        usleep(5000);
    int64_t t0 = ar_now_us();
    ar_px_stop(e->px);
    int64_t took = ar_now_us() - t0;
    /* Generous: the point is "not 20 s", the hang's client timeout. */
    assert_true(took < 3 * 1000 * 1000);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_not_equal(b[i].r.rc, CURLE_OK);
        assert_true(b[i].r.took_us < 10 * 1000 * 1000);
        fx_resp_free(&b[i].r);
    }
    fx_hit h = fx_hit_wait(&e->hits, 2);
    assert_string_equal(h.detail, "held until the proxy stopped");
    e->px = NULL;
    fx_stop(e);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_byte_for_byte),
        cmocka_unit_test(test_forward_chunked_and_close_delimited),
        cmocka_unit_test(test_forward_request_bodies),
        cmocka_unit_test(test_keep_alive_both_sides),
        cmocka_unit_test(test_upstream_base_path_and_host),
        cmocka_unit_test(test_upstream_refused_is_502),
        cmocka_unit_test(test_upstream_timeout_is_504),
        cmocka_unit_test(test_caps_and_bad_requests),
        cmocka_unit_test(test_pipelined_requests),
        cmocka_unit_test(test_stop_releases_held_requests),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
