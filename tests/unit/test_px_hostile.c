/*
 * A hostile client of the fault proxy: malformed chunk sizes are a 400 (the
 * client broke HTTP), not a 413; a client that trickles a request head, or
 * connects and sends nothing, is cut off after the head deadline instead of
 * holding one of the 1,024 connections for minutes.
 */
#include "test_px_fixture.h"

static fx_env *start_with_head_timeout(int64_t head_us)
{
    fx_env *e = calloc(1, sizeof(*e));
    pthread_mutex_init(&e->hits.mu, NULL);
    e->up = fx_up_start();
    snprintf(e->upstream, sizeof(e->upstream), "http://127.0.0.1:%d", e->up->port);
    ar_px_cfg cfg = {.upstream = e->upstream,
                     .on_hit = fx_on_hit,
                     .user = &e->hits,
                     .head_timeout_us = head_us};
    char err[256] = "";
    assert_int_equal(ar_px_start(&cfg, &e->px, err, sizeof(err)), AR_OK);
    return e;
}

static void chunk(fx_env *e, const char *size_line, const char *want_status, const char *want_why)
{
    char req[512];
    snprintf(req, sizeof req,
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nhello\r\n"
             "0\r\n\r\n",
             size_line);
    char *out = fx_raw(e, req, strlen(req));
    if (strncmp(out, want_status, strlen(want_status)) != 0)
        fail_msg("chunk size '%s': got %.60s", size_line, out);
    if (want_why) assert_non_null(strstr(out, want_why));
    free(out);
}

static void malformed_chunk_sizes_are_400(void **state)
{
    (void)state;
    fx_env *e = fx_start(NULL, 0, 1);
    static const char *const bad[] = {"-1", "zz", " 5", "+5", "0x5", "", "5g", "-0"};
    for (size_t i = 0; i < AR_ARRAY_LEN(bad); i++)
        chunk(e, bad[i], "HTTP/1.1 400 Bad Request\r\n", "malformed chunk size");
    /* Well-formed but huge, even past 64 bits: the body cap, 413. */
    chunk(e, "FFFFFFFFFFFFFFFFFFFFFFFF", "HTTP/1.1 413 Content Too Large\r\n", "body over 16 MiB");
    chunk(e, "1000001", "HTTP/1.1 413 Content Too Large\r\n", "body over 16 MiB");
    /* Upper or lower case, an extension, whitespace before it: forwarded. */
    chunk(e, "5", "HTTP/1.1 201", NULL);
    chunk(e, "05;name=value", "HTTP/1.1 201", NULL);
    chunk(e, "5 ", "HTTP/1.1 201", NULL);
    assert_int_equal(atomic_load(&e->up->requests), 3);
    fx_stop(e);
}

static int raw_connect(fx_env *e)
{
    int port = atoi(strrchr(ar_px_url(e->px), ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Trickles a head one byte per 50 ms until the proxy answers or closes; returns what it said. */
static char *slowloris(int fd, int64_t *took_us)
{
    static const char head[] = "GET /slow HTTP/1.1\r\nHost: x\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    char *out = calloc(1, 4096);
    size_t len = 0, sent = 0;
    int64_t t0 = ar_now_us();
    while (ar_now_us() - t0 < 5000000) {
        if (sent < sizeof head - 1) send(fd, head + sent++, 1, MSG_NOSIGNAL);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0) continue;
        ssize_t r = recv(fd, out + len, 4095 - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    *took_us = ar_now_us() - t0;
    return out;
}

static void slow_heads_are_cut_off(void **state)
{
    (void)state;
    fx_env *e = start_with_head_timeout(400 * 1000);
    int fd = raw_connect(e);
    int64_t took;
    char *out = slowloris(fd, &took);
    close(fd);
    assert_int_equal(strncmp(out, "HTTP/1.1 408 Request Timeout\r\n", 30), 0);
    assert_non_null(strstr(out, "request head not complete in time"));
    assert_true(took >= 350 * 1000 && took < 2500 * 1000);
    free(out);
    fx_hit h = fx_hit_find(&e->hits, 1, NULL, 408);
    assert_string_equal(h.detail, "request refused: request head not complete in time");

    /* Connects and says nothing: closed after the same deadline, no answer. */
    fd = raw_connect(e);
    int64_t t0 = ar_now_us();
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 5000), 1);
    char b;
    assert_int_equal(recv(fd, &b, 1, 0), 0);
    took = ar_now_us() - t0;
    assert_true(took >= 350 * 1000 && took < 2500 * 1000);
    close(fd);

    /* A real request beside them is served. */
    fx_resp r = fx_get(e, "/ok");
    assert_int_equal(r.status, 200);
    fx_resp_free(&r);
    fx_stop(e);
}

static void head_timeout_from_the_environment(void **state)
{
    (void)state;
    setenv("AGENTRIG_PROXY_HEAD_TIMEOUT", "300ms", 1);
    fx_env *e = start_with_head_timeout(0);
    int fd = raw_connect(e);
    int64_t took;
    char *out = slowloris(fd, &took);
    close(fd);
    assert_int_equal(strncmp(out, "HTTP/1.1 408 Request Timeout\r\n", 30), 0);
    assert_true(took < 2000 * 1000);
    free(out);
    fx_stop(e);

    setenv("AGENTRIG_PROXY_HEAD_TIMEOUT", "soon", 1);
    ar_px_cfg cfg = {.upstream = "http://127.0.0.1:9"};
    ar_proxy *px = NULL;
    char err[256] = "";
    assert_int_equal(ar_px_start(&cfg, &px, err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err,
                        "AGENTRIG_PROXY_HEAD_TIMEOUT='soon' is not a duration above 0 (e.g. 10s)");
    unsetenv("AGENTRIG_PROXY_HEAD_TIMEOUT");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_chunk_sizes_are_400),
        cmocka_unit_test(slow_heads_are_cut_off),
        cmocka_unit_test(head_timeout_from_the_environment),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
