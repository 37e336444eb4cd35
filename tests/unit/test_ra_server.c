/*
 * test_ra_server.c - refagent's WebSocket server and deps server together,
 * over real loopback sockets, with a minimal hand-written WebSocket client
 * (so the test depends on nothing but the server under test): GET /stats
 * counts what was actually written, fault_directive arrives through the
 * frame, and a client that drops mid-turn can reconnect on the same thread
 * and be served at once while the old turn is still running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "deps.h"

#include <libwebsockets.h>
#include "server.h"
#include "util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct {
    ra_stats stats;
    ra_deps *deps;
    ra_srv *srv;
    pthread_t thread;
} fixture;

static void *serve(void *arg)
{
    ra_srv_run(arg);
    return NULL;
}

static int fixture_up(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char err[160];
    f->deps = ra_deps_start(0, &f->stats, err, sizeof(err));
    ra_srv_opts o = {.port = 0,
                     .deps_inline = true,
                     .think_ms = 0,
                     .workers = 4,
                     .dep_timeout_ms = 2000,
                     .turn_deadline_ms = 30000,
                     .max_threads = 100,
                     .stats = &f->stats};
    f->srv = ra_srv_new(&o, err, sizeof(err));
    if (!f->deps || !f->srv) return -1;
    pthread_create(&f->thread, NULL, serve, f->srv);
    *state = f;
    return 0;
}

static int fixture_down(void **state)
{
    fixture *f = *state;
    ra_srv_stop(f->srv);
    pthread_join(f->thread, NULL);
    ra_srv_free(f->srv);
    ra_srv_free(NULL);
    ra_deps_stop(f->deps);
    free(f);
    return 0;
}

static int ws_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char *req = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    /* Byte by byte up to the blank line, so no frame byte is swallowed. */
    char hdr[2048];
    size_t n = 0;
    while (n < sizeof(hdr) - 1 && (n < 4 || memcmp(hdr + n - 4, "\r\n\r\n", 4) != 0)) {
        assert_int_equal(read(fd, hdr + n, 1), 1);
        n++;
    }
    hdr[n] = '\0';
    assert_non_null(strstr(hdr, " 101 "));
    return fd;
}

static void read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

/* Sends one masked text frame (a zero mask key: valid, and keeps the bytes as they are). */
static void ws_send(int fd, const char *text)
{
    size_t len = strlen(text);
    unsigned char h[8] = {0x81};
    size_t hl;
    if (len < 126) {
        h[1] = 0x80 | (unsigned char)len;
        hl = 2;
    } else {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    }
    memset(h + hl, 0, 4);
    assert_int_equal(write(fd, h, hl + 4), (ssize_t)(hl + 4));
    assert_int_equal(write(fd, text, len), (ssize_t)len);
}

/* Reads one server frame (unmasked text) as parsed JSON (owned). */
static cJSON *ws_recv(int fd)
{
    unsigned char h[2];
    read_full(fd, h, 2);
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
        unsigned char e[2];
        read_full(fd, e, 2);
        len = ((uint64_t)e[0] << 8) | e[1];
    } else if (len == 127) {
        unsigned char e[8];
        read_full(fd, e, 8);
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | e[i];
    }
    char *buf = malloc(len + 1);
    read_full(fd, buf, len);
    buf[len] = '\0';
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    assert_non_null(j);
    return j;
}

static const char *field(const cJSON *ev, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(ev, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool ends_turn(const cJSON *ev)
{
    return strcmp(field(ev, "type"), "agent_completed") == 0 &&
           cJSON_IsNull(cJSON_GetObjectItem(ev, "parent_run_id"));
}

/* Reads up to the root agent_completed; returns it (owned) and the frame count. */
static cJSON *read_turn(int fd, int *frames)
{
    for (*frames = 1;; (*frames)++) {
        cJSON *ev = ws_recv(fd);
        if (ends_turn(ev)) return ev;
        cJSON_Delete(ev);
    }
}

static cJSON *get_stats(int port)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats", port);
    ra_sb body;
    ra_sb_init(&body, 4096);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *mem = open_memstream(&body.ptr, &body.len);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_cleanup(c);
    fclose(mem);
    cJSON *j = cJSON_Parse(body.ptr);
    free(body.ptr);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_stats_count_what_was_written(void **state)
{
    fixture *f = *state;
    cJSON *st = get_stats(ra_deps_port(f->deps));
    int before_events = (int)num(st, "events_sent");
    cJSON_Delete(st);
    int fd = ws_open(ra_srv_port(f->srv));
    int frames = 0;
    ws_send(fd, "{\"type\":\"user_message\",\"thread_id\":\"s-1\",\"message\":\"Analyze costs\"}");
    cJSON *root = read_turn(fd, &frames);
    assert_string_equal(field(root, "status"), "ok");
    cJSON_Delete(root);
    /* The last frame is counted once written; the loop may still be finishing it. */
    st = NULL;
    for (int i = 0; i < 100; i++) {
        cJSON_Delete(st);
        st = get_stats(ra_deps_port(f->deps));
        if ((int)num(st, "events_sent") == before_events + frames) break;
        ra_sleep_ms(10);
    }
    assert_int_equal((int)num(st, "events_sent"), before_events + frames);
    assert_true(num(st, "turns_completed") >= 1);
    assert_int_equal((int)num(st, "connections"), 1);
    assert_int_equal((int)ra_srv_events_sent(f->srv), before_events + frames);
    cJSON_Delete(st);
    close(fd);
    for (int i = 0; i < 100; i++) {
        st = get_stats(ra_deps_port(f->deps));
        int conns = (int)num(st, "connections");
        cJSON_Delete(st);
        if (conns == 0) return;
        ra_sleep_ms(10);
    }
    fail_msg("connections did not drop to 0 after the client closed");
}

static void test_fault_directive_over_the_wire(void **state)
{
    fixture *f = *state;
    int fd = ws_open(ra_srv_port(f->srv));
    ws_send(fd, "{\"type\":\"user_message\",\"message\":\"Analyze costs\",\"fault_directive\":"
                "\"fail_agent=Data\"}");
    int frames = 0;
    cJSON *root = read_turn(fd, &frames);
    const cJSON *res = cJSON_GetObjectItem(root, "result");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "degraded")));
    assert_string_equal(field(cJSON_GetObjectItem(res, "fallbacks"), "Data"), "Estimator");
    cJSON_Delete(root);

    ws_send(fd, "{\"type\":\"user_message\",\"message\":\"hi\",\"fault_directive\":\"fail_it\"}");
    cJSON *e = ws_recv(fd);
    assert_string_equal(field(e, "type"), "error");
    assert_string_equal(field(e, "code"), "bad_request");
    assert_string_equal(field(e, "message"), "fault_directive: unknown item 'fail_it' (use "
                                             "fail_tool=, fail_agent= or slow_agent=)");
    cJSON_Delete(e);
    ws_send(fd, "{\"type\":\"user_message\",\"message\":\"hi\",\"fault_directive\":7}");
    e = ws_recv(fd);
    assert_string_equal(field(e, "message"), "fault_directive must be a string");
    cJSON_Delete(e);
    close(fd);
}

static void test_reconnect_mid_turn(void **state)
{
    fixture *f = *state;
    int fd = ws_open(ra_srv_port(f->srv));
    /* The first turn is slowed to 1.5 s in Data; the client leaves after 3 events. */
    ws_send(fd, "{\"type\":\"user_message\",\"thread_id\":\"rc-1\",\"message\":\"What do we spend "
                "on GPUs?\",\"context\":{\"current_spend\":\"$50K/month\"},\"fault_directive\":"
                "\"slow_agent=Data:1500\"}");
    for (int i = 0; i < 3; i++)
        cJSON_Delete(ws_recv(fd));
    close(fd);
    int64_t t0 = ra_now_us();
    fd = ws_open(ra_srv_port(f->srv));
    ws_send(fd, "{\"type\":\"user_message\",\"thread_id\":\"rc-1\",\"message\":\"Draft a migration "
                "plan\"}");
    int frames = 0;
    cJSON *root = read_turn(fd, &frames);
    int64_t took_ms = (ra_now_us() - t0) / 1000;
    assert_true(took_ms < 1000); /* not queued behind the old turn */
    assert_int_equal((int)num(root, "turn"), 2);
    assert_string_equal(field(root, "thread_id"), "rc-1");
    assert_non_null(
        strstr(field(cJSON_GetObjectItem(root, "result"), "response"), "baseline $50K/month"));
    cJSON_Delete(root);
    close(fd);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lws_set_log_level(LLL_ERR, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_count_what_was_written),
        cmocka_unit_test(test_fault_directive_over_the_wire),
        cmocka_unit_test(test_reconnect_mid_turn),
    };
    int rc = cmocka_run_group_tests(tests, fixture_up, fixture_down);
    curl_global_cleanup();
    return rc;
}
