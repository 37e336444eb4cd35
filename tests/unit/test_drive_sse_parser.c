/*
 * The SSE parser: what a service's event stream turns into, whatever way the
 * network cuts it. Each callback writes one line into a log, so a test
 * compares the whole story (events, garbage, oversize) in one string.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

typedef struct {
    ar_buf log;
    bool with_totals; /* the oversize count depends on where reads end */
} rec;

static void log_bytes(ar_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            ar_buf_puts(b, "\\n");
        else if (ch < 0x20 || ch >= 0x7F)
            ar_buf_printf(b, "\\x%02X", ch);
        else
            ar_buf_append(b, &s[i], 1);
    }
}

static void on_event(void *user, const char *type, const char *data, size_t len, const char *id)
{
    rec *r = user;
    assert_int_equal(data[len], '\0');
    ar_buf_printf(&r->log, "E type=%s id=%s data=", type ? type : "-", id ? id : "-");
    log_bytes(&r->log, data, len);
    ar_buf_puts(&r->log, "\n");
}

static void on_garbage(void *user, const char *line, size_t len)
{
    rec *r = user;
    ar_buf_puts(&r->log, "G ");
    log_bytes(&r->log, line, len);
    ar_buf_puts(&r->log, "\n");
}

static void on_oversize(void *user, const char *first, size_t len, size_t total)
{
    rec *r = user;
    ar_buf_puts(&r->log, "O ");
    log_bytes(&r->log, first, len);
    if (r->with_totals) ar_buf_printf(&r->log, " total=%zu", total);
    ar_buf_puts(&r->log, "\n");
}

static const ar_sse_cb cbs = {on_event, on_garbage, on_oversize};

/* Feeds the pieces split at cuts (sorted offsets), returns the owned log. */
static char *parse_cuts(const char *s, size_t len, size_t cap, const size_t *cuts, size_t n_cuts,
                        bool totals)
{
    rec r = {.with_totals = totals};
    ar_buf_init(&r.log, 1 << 20);
    ar_sse_parser *p = ar_sse_new(cap, &cbs, &r);
    assert_non_null(p);
    size_t at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : len;
        ar_sse_feed(p, s + at, to - at);
        at = to;
    }
    const char *pending;
    size_t n = ar_sse_finish(p, &pending);
    if (n) {
        ar_buf_puts(&r.log, "P ");
        log_bytes(&r.log, pending, n);
        ar_buf_puts(&r.log, "\n");
    }
    ar_sse_free(p);
    return ar_buf_take(&r.log);
}

static char *parse(const char *s, size_t cap)
{
    return parse_cuts(s, strlen(s), cap, NULL, 0, true);
}

static void expect_parse(const char *in, size_t cap, const char *want)
{
    char *got = parse(in, cap);
    assert_string_equal(got, want);
    free(got);
}

/* Every way of cutting s into two and three reads, and one byte per read,
 * must tell the same story as one read. */
static void expect_split_invariant(const char *s, size_t cap)
{
    size_t len = strlen(s);
    char *whole = parse_cuts(s, len, cap, NULL, 0, false);
    assert_true(strlen(whole) > 0);
    for (size_t i = 0; i <= len; i++) {
        char *got = parse_cuts(s, len, cap, &i, 1, false);
        if (strcmp(got, whole) != 0) fail_msg("split at %zu:\n%s\nvs whole:\n%s", i, got, whole);
        free(got);
        for (size_t j = i; j <= len; j += 3) {
            size_t cuts[2] = {i, j};
            got = parse_cuts(s, len, cap, cuts, 2, false);
            if (strcmp(got, whole) != 0) fail_msg("split at %zu,%zu:\n%s", i, j, got);
            free(got);
        }
    }
    size_t *ones = malloc(len * sizeof *ones);
    for (size_t i = 0; i < len; i++)
        ones[i] = i;
    char *got = parse_cuts(s, len, cap, ones, len, false);
    assert_string_equal(got, whole);
    free(got);
    free(ones);
    free(whole);
}

static const char stream[] = "\xEF\xBB\xBF"
                             ": a comment\r\n"
                             "retry: 1500\r\n"
                             "event: agent_started\r\n"
                             "id: 1\r\n"
                             "data: {\"a\":1}\r\n"
                             "\r\n"
                             "data: line one\n"
                             "data:line two\n"
                             "data\n"
                             "\n"
                             "bogus: field\r"
                             "id: 7\r"
                             "data: cr only\r"
                             "\r"
                             "event: ignored because no data\n"
                             "\n"
                             "data: tail\r\n"
                             "\n";

static void every_split_gives_the_same_events(void **state)
{
    (void)state;
    char *whole = parse(stream, 0);
    assert_string_equal(whole, "E type=agent_started id=1 data={\"a\":1}\n"
                               "E type=- id=1 data=line one\\nline two\\n\n"
                               "G bogus: field\n"
                               "E type=- id=7 data=cr only\n"
                               "E type=- id=7 data=tail\n");
    free(whole);
    expect_split_invariant(stream, 0);
}

static void oversize_is_split_invariant(void **state)
{
    (void)state;
    const char *s = "data: small\n\n"
                    "data: 0123456789\n"
                    "data: 0123456789abcdefghij0123456789\n"
                    "data: still the big one\n"
                    "\n"
                    "data: after\n\n";
    char *whole = parse_cuts(s, strlen(s), 32, NULL, 0, false);
    assert_string_equal(whole, "E type=- id=- data=small\n"
                               "O 0123456789\\n0123456789abcde\n"
                               "E type=- id=- data=after\n");
    free(whole);
    expect_split_invariant(s, 32);
}

static void line_endings_crlf_lf_cr_and_mixed(void **state)
{
    (void)state;
    expect_parse("data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\ndata: e\n\r\n", 0,
                 "E type=- id=- data=a\n"
                 "E type=- id=- data=b\n"
                 "E type=- id=- data=c\n"
                 "E type=- id=- data=d\\ne\n");
    /* CR CR is two line endings (an empty line), not one CRLF. */
    expect_parse("data: x\r\r", 0, "E type=- id=- data=x\n");
    /* LF CR: the CR starts a new (empty) line. */
    expect_parse("data: y\n\r", 0, "E type=- id=- data=y\n");
}

static void multi_line_data_is_joined_with_newlines(void **state)
{
    (void)state;
    expect_parse("data: first\ndata:\ndata:  two spaces\ndata: last\n\n", 0,
                 "E type=- id=- data=first\\n\\n two spaces\\nlast\n");
    /* Only one space after the colon is removed; a colon in the value stays. */
    expect_parse("data:   {\"k\": \"v:w\"}\n\n", 0, "E type=- id=- data=  {\"k\": \"v:w\"}\n");
}

static void comments_are_ignored(void **state)
{
    (void)state;
    expect_parse(":\n: keepalive\n:data: not data\ndata: x\n: between\n\n", 0,
                 "E type=- id=- data=x\n");
    expect_parse(": only comments\n\n:\r\n\r\n", 0, "");
}

static void event_id_and_retry_fields(void **state)
{
    (void)state;
    rec r = {0};
    ar_buf_init(&r.log, 4096);
    ar_sse_parser *p = ar_sse_new(0, &cbs, &r);
    assert_int_equal(ar_sse_retry_ms(p), -1);
    assert_string_equal(ar_sse_last_event_id(p), "");
    const char s1[] = "event: delta\nid: 42\nretry: 250\ndata: a\n\n"
                      "data: b\n\n"  /* the type resets, the id stays */
                      "retry: 1x\n"  /* not all digits: ignored */
                      "retry:\n"     /* empty: ignored */
                      "id: 4\0003\n" /* contains NUL: ignored */
                      "event:\n"     /* empty type: the default */
                      "data: c\n\n"
                      "id\n" /* no colon: empty id, which clears it */
                      "data: d\n\n";
    ar_sse_feed(p, s1, sizeof s1 - 1);
    assert_string_equal(r.log.ptr, "E type=delta id=42 data=a\n"
                                   "E type=- id=42 data=b\n"
                                   "E type=- id=42 data=c\n"
                                   "E type=- id=- data=d\n");
    assert_int_equal(ar_sse_retry_ms(p), 250);
    assert_string_equal(ar_sse_last_event_id(p), "");
    ar_sse_feed(p, "id: 9\n", 6);
    assert_string_equal(ar_sse_last_event_id(p), "9");
    /* A reconnect keeps the id, a new request forgets it. */
    ar_sse_reset(p, true);
    assert_string_equal(ar_sse_last_event_id(p), "9");
    assert_int_equal(ar_sse_retry_ms(p), 250);
    ar_sse_reset(p, false);
    assert_string_equal(ar_sse_last_event_id(p), "");
    assert_int_equal(ar_sse_retry_ms(p), -1);
    ar_sse_free(p);
    ar_buf_free(&r.log);
}

static void bom_only_at_the_very_start(void **state)
{
    (void)state;
    expect_parse("\xEF\xBB\xBF"
                 "data: x\n\n",
                 0, "E type=- id=- data=x\n");
    /* A second BOM is part of the field name, which makes it no field. */
    expect_parse("\xEF\xBB\xBF\xEF\xBB\xBF"
                 "data: x\n\n",
                 0, "G \\xEF\\xBB\\xBFdata: x\n");
    /* Something that starts like a BOM but is not one is text. */
    expect_parse("\xEF\xBB"
                 "data: x\n\n",
                 0, "G \\xEF\\xBBdata: x\n");
    expect_split_invariant("\xEF\xBB\xBF"
                           "data: bom\n\n\xEF\xBB\xBF"
                           "data: y\n\n",
                           0);
    /* After a reset (a new response) a BOM is skipped again. */
    rec r = {0};
    ar_buf_init(&r.log, 4096);
    ar_sse_parser *p = ar_sse_new(0, &cbs, &r);
    ar_sse_feed(p,
                "\xEF\xBB\xBF"
                "data: 1\n\n",
                12);
    ar_sse_reset(p, false);
    ar_sse_feed(p, "\xEF\xBB", 2);
    ar_sse_feed(p,
                "\xBF"
                "data: 2\n\n",
                10);
    assert_string_equal(r.log.ptr, "E type=- id=- data=1\nE type=- id=- data=2\n");
    ar_sse_free(p);
    ar_buf_free(&r.log);
}

static void events_without_data_are_not_dispatched(void **state)
{
    (void)state;
    expect_parse("event: ping\n\nid: 3\n\n\n\ndata: real\n\n", 0, "E type=- id=3 data=real\n");
    /* An empty data line is data: the event is dispatched, empty. */
    expect_parse("data:\n\ndata\n\n", 0, "E type=- id=- data=\nE type=- id=- data=\n");
}

static void garbage_lines_are_reported_raw(void **state)
{
    (void)state;
    expect_parse("hello world\r\n"
                 "Data: capitalised\n"
                 "datax: y\n"
                 "<html><body>oops</body></html>\n"
                 "data: kept\n"
                 " data: leading space\n"
                 "\n",
                 0,
                 "G hello world\n"
                 "G Data: capitalised\n"
                 "G datax: y\n"
                 "G <html><body>oops</body></html>\n"
                 "G  data: leading space\n"
                 "E type=- id=- data=kept\n");
    /* A line of one unknown field name with no colon. */
    expect_parse("{\"type\":\"RUN_STARTED\"}\n\n", 0, "G {\"type\":\"RUN_STARTED\"}\n");
}

static void oversize_event_reported_once_and_next_parsed(void **state)
{
    (void)state;
    /* cap 16: the data "0123456789\n" (11) plus the raw line "data: abcdef" (12). */
    expect_parse("data: 0123456789\n"
                 "data: abcdef\n"
                 "data: more of it\n"
                 "event: still skipped\n"
                 "nonsense inside the skipped event\n"
                 "\n"
                 "event: next\n"
                 "data: ok\n"
                 "\n",
                 16,
                 "O 0123456789\\n total=23\n"
                 "E type=next id=- data=ok\n");
    /* Exactly at the cap is fine: 6 + 10 = 16. */
    expect_parse("data: 0123456789\n\n", 16, "E type=- id=- data=0123456789\n");
    expect_parse("data: 0123456789A\n\n", 16, "O 0123456789 total=17\n");
}

static void single_line_longer_than_the_cap(void **state)
{
    (void)state;
    size_t cap = 64, n = 100000;
    char *s = malloc(n + 64);
    memcpy(s, "data: ", 6);
    memset(s + 6, 'x', n);
    strcpy(s + 6 + n, "\n\ndata: next\n\n");
    size_t len = strlen(s);
    char xs[59];
    memset(xs, 'x', 58);
    xs[58] = '\0';
    char want[256];
    /* One read: the preview is what fitted under the cap, without "data: ";
     * the count is the whole line, seen at once. */
    char *got = parse_cuts(s, len, cap, NULL, 0, true);
    snprintf(want, sizeof want, "O %s total=%zu\nE type=- id=- data=next\n", xs, n + 6);
    assert_string_equal(got, want);
    free(got);
    /* A byte per read: the same preview, counted one byte over the cap. */
    size_t *ones = malloc(len * sizeof *ones);
    for (size_t i = 0; i < len; i++)
        ones[i] = i;
    got = parse_cuts(s, len, cap, ones, len, true);
    snprintf(want, sizeof want, "O %s total=65\nE type=- id=- data=next\n", xs);
    assert_string_equal(got, want);
    free(got);
    free(ones);
    /* A long comment is dropped without being held or reported. */
    s[0] = ':';
    got = parse_cuts(s, len, cap, NULL, 0, true);
    assert_string_equal(got, "E type=- id=- data=next\n");
    free(got);
    free(s);
}

static void preview_is_capped(void **state)
{
    (void)state;
    size_t n = 3 * AR_SSE_PREVIEW_BYTES;
    char *s = malloc(n + 16);
    memcpy(s, "data: ", 6);
    memset(s + 6, 'y', n);
    strcpy(s + 6 + n, "\n\n");
    rec r = {.with_totals = true};
    ar_buf_init(&r.log, 1 << 20);
    ar_sse_parser *p = ar_sse_new(2 * AR_SSE_PREVIEW_BYTES, &cbs, &r);
    ar_sse_feed(p, s, strlen(s));
    /* "O " + preview + " total=N\n" */
    assert_int_equal(r.log.len, 2 + AR_SSE_PREVIEW_BYTES + strlen(" total=12294\n"));
    assert_non_null(strstr(r.log.ptr, " total=12294\n"));
    ar_sse_free(p);
    ar_buf_free(&r.log);
    free(s);
}

static void unterminated_event_is_pending_at_the_end(void **state)
{
    (void)state;
    expect_parse("data: done\n\ndata: half\ndata: way", 0,
                 "E type=- id=- data=done\nP half\\ndata: way\n");
    expect_parse("data: no blank line\n", 0, "P no blank line\\n\n");
    /* A clean end, or a trailing comment or type-only event: nothing pending. */
    expect_parse("data: a\n\n", 0, "E type=- id=- data=a\n");
    expect_parse("data: a\n\n: bye", 0, "E type=- id=- data=a\n");
    expect_parse("event: x\n", 0, "");
}

static void free_null_is_a_no_op(void **state)
{
    (void)state;
    ar_sse_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_split_gives_the_same_events),
        cmocka_unit_test(oversize_is_split_invariant),
        cmocka_unit_test(line_endings_crlf_lf_cr_and_mixed),
        cmocka_unit_test(multi_line_data_is_joined_with_newlines),
        cmocka_unit_test(comments_are_ignored),
        cmocka_unit_test(event_id_and_retry_fields),
        cmocka_unit_test(bom_only_at_the_very_start),
        cmocka_unit_test(events_without_data_are_not_dispatched),
        cmocka_unit_test(garbage_lines_are_reported_raw),
        cmocka_unit_test(oversize_event_reported_once_and_next_parsed),
        cmocka_unit_test(single_line_longer_than_the_cap),
        cmocka_unit_test(preview_is_capped),
        cmocka_unit_test(unterminated_event_is_pending_at_the_end),
        cmocka_unit_test(free_null_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
