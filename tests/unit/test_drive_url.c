/* WebSocket URL splitting: what `--target` and `target:` accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "transport.h"

static void splits_ws_and_wss_urls(void **state)
{
    (void)state;
    struct {
        const char *url;
        bool tls;
        const char *host;
        int port;
        const char *path;
    } ok[] = {
        {"ws://127.0.0.1:9000/ws", false, "127.0.0.1", 9000, "/ws"},
        {"ws://localhost/chat?x=1", false, "localhost", 80, "/chat?x=1"},
        {"wss://agents.example.com", true, "agents.example.com", 443, "/"},
        {"ws://[::1]:8080/ws", false, "::1", 8080, "/ws"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(ok); i++) {
        bool tls;
        char *host = NULL, *path = NULL;
        int port;
        assert_true(ar_url_split(ok[i].url, &tls, &host, &port, &path));
        assert_int_equal(tls, ok[i].tls);
        assert_string_equal(host, ok[i].host);
        assert_int_equal(port, ok[i].port);
        assert_string_equal(path, ok[i].path);
        free(host);
        free(path);
    }
}

static void rejects_what_is_not_a_websocket_url(void **state)
{
    (void)state;
    const char *bad[] = {"http://127.0.0.1/ws", "ws://",        "ws://:80/",    "ws://h:0/",
                         "ws://h:99999/",       "ws://h:12ab/", "127.0.0.1:80", "ws://[::1/"};
    for (size_t i = 0; i < AR_ARRAY_LEN(bad); i++) {
        bool tls;
        char *host = NULL, *path = NULL;
        int port;
        assert_false(ar_url_split(bad[i], &tls, &host, &port, &path));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_ws_and_wss_urls),
        cmocka_unit_test(rejects_what_is_not_a_websocket_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
