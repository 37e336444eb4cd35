/*
 * Hostile input to the loaders and the frame decoder: service numbers that
 * used to be cast to int64 out of range (undefined behaviour), a rules value
 * of 1e90, and scenario, rules and profile files too large or nested too deep
 * for libyaml, which must be refused before libyaml sees them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"
#include "scenario.h"
#include "yamltree.h"

/* --- numbers from the service ----------------------------------------------- */

static void decode_native(const char *frame, ar_event *ev)
{
    ar_profile *p = NULL;
    char err[256] = "";
    if (ar_pf_load("native", &p, err, sizeof err) != AR_OK) fail_msg("%s", err);
    ar_event_init(ev);
    assert_int_equal(ar_pf_decode(p, frame, strlen(frame), ev, NULL), AR_OK);
    ar_pf_free(p);
}

static void out_of_range_numbers_are_absent(void **state)
{
    (void)state;
    static const char *const frames[] = {
        "{\"type\":\"agent_completed\",\"ts_us\":1e30,\"duration_us\":1e999,"
        "\"usage\":{\"input_tokens\":-5,\"output_tokens\":9.3e18,\"cost_usd\":-1e300}}",
        "{\"type\":\"agent_completed\",\"ts_us\":-1e30,\"duration_us\":-1e999,"
        "\"usage\":{\"input_tokens\":9223372036854775808,\"output_tokens\":1e19,"
        "\"cost_usd\":1e999}}",
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        ar_event ev;
        decode_native(frames[i], &ev);
        assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
        assert_int_equal(ev.server_ts_us, -1);
        assert_int_equal(ev.server_duration_us, -1);
        assert_int_equal(ev.tokens_in, -1);
        assert_int_equal(ev.tokens_out, -1);
        assert_true(ev.cost_usd == -1);
        ar_event_clear(&ev);
    }
    /* In range: kept, a fraction truncated. */
    ar_event ev;
    decode_native("{\"type\":\"agent_completed\",\"ts_us\":1700000000123456,\"duration_us\":2.9,"
                  "\"usage\":{\"input_tokens\":12.7,\"output_tokens\":0,\"cost_usd\":0.25}}",
                  &ev);
    assert_int_equal(ev.server_ts_us, 1700000000123456LL);
    assert_int_equal(ev.server_duration_us, 2);
    assert_int_equal(ev.tokens_in, 12);
    assert_int_equal(ev.tokens_out, 0);
    assert_true(ev.cost_usd == 0.25);
    ar_event_clear(&ev);
}

static void huge_numbers_as_text(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {{"{\"v\":1e30}", "1e+30"},
                 {"{\"v\":-1e30}", "-1e+30"},
                 {"{\"v\":1e999}", "inf"},
                 {"{\"v\":9.3e18}", "9.3e+18"},
                 {"{\"v\":42}", "42"},
                 {"{\"v\":-7}", "-7"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = ar_pf_frame_value(cases[i].json, strlen(cases[i].json), "/v");
        assert_non_null(t);
        assert_string_equal(t, cases[i].want);
        free(t);
    }
}

/* --- numbers in rules ---------------------------------------------------------- */

static void load_err(const char *yaml, const char *want)
{
    ar_scenario *s = NULL;
    char err[512] = "";
    assert_int_equal(ar_scn_load_string(yaml, strlen(yaml), "x.yaml", &s, err, sizeof err),
                     AR_EINVAL);
    assert_null(s);
    assert_string_equal(err, want);
}

static void rule_numbers_out_of_range(void **state)
{
    (void)state;
    load_err("name: x\nturns: [send: hi]\nfaults:\n"
             "  - rule: {toxics: [{type: limit_data, bytes: 1e90}]}\n",
             "x.yaml:4:47: 'bytes' is out of range (got 1e90; at most 9007199254740992)");
    load_err("name: x\nturns: [send: hi]\nfaults:\n  - rule: {status: 500, times: 1e19}\n",
             "x.yaml:4:32: 'times' is out of range (got 1e19; at most 9007199254740992)");
    load_err("name: x\nturns:\n  - send: hi\n    client_fault: {send_binary: 1e300}\n",
             "x.yaml:4:33: 'send_binary' is out of range (got 1e300; at most "
             "9007199254740992)");
    load_err("name: x\nturns: [send: hi]\nfaults:\n"
             "  - rule: {toxics: [{type: latency, latency: -1e90}]}\n",
             "x.yaml:4:46: 'latency' must be a whole number, 0 or more (got -1e90)");
}

/* --- size and depth caps --------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * n, tail, tl + 1);
    return s;
}

static void deep_flow_is_refused_at_once(void **state)
{
    (void)state;
    /* 100,000 levels used to take libyaml 23 s; the pre-scan stops at 65. */
    char *y = repeat("name: x\nturns: ", "[", 100000, "");
    ar_scenario *s = NULL;
    char err[512] = "";
    int64_t t0 = ar_now_us();
    assert_int_equal(ar_scn_load_string(y, strlen(y), "x.yaml", &s, err, sizeof err), AR_EINVAL);
    assert_true(ar_now_us() - t0 < 1000000);
    /* The mapping is level 1, the 64th '[' (column 71) level 65. */
    assert_string_equal(err, "x.yaml:2:71: nested deeper than 64 levels");
    free(y);
    /* 64 levels is allowed past the cap (and then judged as a scenario). */
    y = repeat("name: x\nturns: ", "[", 63, "");
    assert_int_equal(ar_scn_load_string(y, strlen(y), "x.yaml", &s, err, sizeof err), AR_EPARSE);
    assert_null(strstr(err, "nested deeper"));
    free(y);
}

static void deep_block_is_refused(void **state)
{
    (void)state;
    ar_buf b;
    ar_buf_init(&b, 1 << 20);
    for (int i = 0; i < 70; i++)
        ar_buf_printf(&b, "%*sk%d:\n", 2 * i, "", i);
    ar_profile *p = NULL;
    char err[512] = "";
    assert_int_equal(ar_pf_load_string(b.ptr, b.len, "deep.yaml", &p, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "deep.yaml:65:129: nested deeper than 64 levels");
    ar_buf_reset(&b);
    /* "- " at its parent's own indentation is one level deeper all the same. */
    for (int i = 0; i < 40; i++)
        ar_buf_printf(&b, "%*s- k%d:\n", 2 * i, "", i);
    ar_yt l = {.file = "seq.yaml", .err = err, .err_len = sizeof err};
    assert_int_equal(ar_yt_check_caps(&l, b.ptr, b.len), AR_EINVAL);
    assert_string_equal(err, "seq.yaml:33:65: nested deeper than 64 levels");
    ar_buf_free(&b);
}

static void quotes_comments_and_block_scalars_do_not_nest(void **state)
{
    (void)state;
    char *open = repeat("", "[", 80, "");
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: x # %s\n"
             "turns:\n"
             "  - send: '%s don''t'\n"
             "    expect:\n"
             "      response:\n"
             "        - matches: \"%s\\\"\"\n"
             "        - contains: a %s b\n"
             "  - send: |\n"
             "      %s\n"
             "        %s\n"
             "  - send: >-\n"
             "      %s\n",
             open, open, open, open, open, open, open);
    char err[256] = "";
    ar_yt l = {.file = "ok.yaml", .err = err, .err_len = sizeof err};
    if (ar_yt_check_caps(&l, yaml, strlen(yaml)) != AR_OK) fail_msg("%s\n%s", err, yaml);
    free(open);
}

static void files_over_the_size_cap(void **state)
{
    (void)state;
    size_t n = AR_YT_FILE_MAX_BYTES + 1;
    char *big = malloc(n);
    memset(big, '#', n);
    ar_scenario *s = NULL;
    char err[512] = "";
    assert_int_equal(ar_scn_load_string(big, n, "x.yaml", &s, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "x.yaml: larger than the 4 MiB cap");

    char path[] = "/tmp/ar-big-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, big, n), (ssize_t)n);
    close(fd);
    char want[600];
    snprintf(want, sizeof want, "%s: larger than the 4 MiB cap", path);
    assert_int_equal(ar_scn_load_file(path, &s, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, want);
    ar_px_rule *rules = NULL;
    size_t n_rules = 0;
    assert_int_equal(ar_scn_load_rules_file(path, &rules, &n_rules, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, want);
    ar_profile *p = NULL;
    assert_int_equal(ar_pf_load(path, &p, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, want);
    unlink(path);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_of_range_numbers_are_absent),
        cmocka_unit_test(huge_numbers_as_text),
        cmocka_unit_test(rule_numbers_out_of_range),
        cmocka_unit_test(deep_flow_is_refused_at_once),
        cmocka_unit_test(deep_block_is_refused),
        cmocka_unit_test(quotes_comments_and_block_scalars_do_not_nest),
        cmocka_unit_test(files_over_the_size_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
