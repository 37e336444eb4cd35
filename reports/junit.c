/*
 * junit.c - the run as JUnit XML, valid against junit-10.xsd (the schema
 * Jenkins' xUnit plugin checks), because that is the one format every CI
 * system can gate on and display.
 *
 * Mapping (docs/reports.md): a testsuite per session, a testcase per check
 * ("turn N: <check>"), a skipped testcase per turn that was not driven, an
 * error testcase "session" when the session could not be driven. A failure
 * shows the check's expected-vs-observed message and the last events of the
 * turn, because "route failed" alone sends people digging through transcripts.
 *
 * Names are unique per file, not just per suite: GitLab files every testcase
 * of a report under "<suite>_<classname>_<name>" and keeps one per key, so
 * two "turn 1: tools.called" testcases showed one of them - a failing second
 * one could vanish behind a passing first, a false PASS in the CI's UI.
 * Failed and errored testcases point at the session's transcript with
 * GitLab's [[ATTACHMENT|path]] in <system-out>.
 *
 * Every string comes from the service under test, so all of it goes through
 * xml_put: escaped, invalid UTF-8 repaired, XML-1.0-forbidden characters
 * replaced with U+FFFD.
 */
#include "fsutil.h"
#include "report.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Events shown under a failure: enough to see how the turn ended. */
#define JUNIT_TAIL_EVENTS 10
/* Message attributes are shown in CI tables; the body carries the rest. */
#define JUNIT_ATTR_MAX_BYTES 1024
#define JUNIT_BODY_MAX_BYTES (64u * 1024u)
/* Event text in a tail line: a hint, the transcript has the full frame. */
#define JUNIT_EVENT_TEXT_MAX_BYTES 120
/* A tool or capture name in a testcase name: enough to tell them apart. */
#define JUNIT_SUBJECT_MAX_BYTES 100

typedef struct {
    size_t tests, failures, errors, skipped;
} junit_counts;

static const char *session_name(const ar_session_result *s)
{
    return s->scn && s->scn->name ? s->scn->name : "(unnamed scenario)";
}

/*
 * The suite's name (and every testcase's classname): the scenario name, with
 * " [k]" when several sessions of the run share it (two files with the same
 * `name:`), because GitLab merges all suites of a file and keys testcases by
 * suite name. Owned.
 */
static char *suite_name(const ar_run_result *r, size_t idx)
{
    const char *name = session_name(&r->sessions[idx]);
    size_t same = 0, ord = 0;

    for (size_t i = 0; i < r->n_sessions; i++) {
        if (strcmp(session_name(&r->sessions[i]), name) != 0) continue;
        same++;
        if (i <= idx) ord++;
    }
    return same > 1 ? ar_asprintf("%s [%zu]", name, ord) : ar_strdup(name);
}

/* What the check is about (ar_check.subject: the tool of a tools.* check,
 * a capture's name), cleaned for a testcase name. Owned, or NULL. The same
 * for the passing and the failing check, so a testcase keeps its name when
 * it starts failing and CI can compare runs. */
static char *check_subject(const ar_check *ck)
{
    if (!ck->subject || !*ck->subject) return NULL;
    size_t n = strlen(ck->subject);
    if (n > JUNIT_SUBJECT_MAX_BYTES) n = JUNIT_SUBJECT_MAX_BYTES;
    return ar_text_utf8_clean(ck->subject, n, JUNIT_SUBJECT_MAX_BYTES, NULL);
}

static void free_names(char **names, size_t n)
{
    if (!names) return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/*
 * Testcase names for the checks of one turn, unique within it:
 * "turn 1: tools.called [cost_db]" when the check has a subject, and a
 * counter when a name still repeats ("turn 1: response.matches [1]",
 * "... [2]": regexes have no short subject). A name that somehow still
 * collides falls back to the check's position. Owned array, or NULL.
 */
static char **check_names(const ar_turn_result *tr)
{
    size_t n = tr->checks.n;
    char **base = calloc(n ? n : 1, sizeof *base);
    char **out = calloc(n ? n : 1, sizeof *out);
    bool oom = !base || !out;

    for (size_t k = 0; k < n && !oom; k++) {
        const ar_check *ck = &tr->checks.items[k];
        char *subject = check_subject(ck);
        const char *name = ck->name ? ck->name : "check";
        base[k] = subject ? ar_asprintf("%s [%s]", name, subject) : ar_strdup(name);
        free(subject);
        oom = !base[k];
    }
    for (size_t k = 0; k < n && !oom; k++) {
        size_t same = 0, ord = 0;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(base[j], base[k]) != 0) continue;
            same++;
            if (j <= k) ord++;
        }
        out[k] = same > 1 ? ar_asprintf("turn %u: %s [%zu]", tr->index, base[k], ord)
                          : ar_asprintf("turn %u: %s", tr->index, base[k]);
        for (size_t j = 0; out[k] && j < k; j++) {
            if (strcmp(out[j], out[k]) != 0) continue;
            free(out[k]);
            out[k] = ar_asprintf("turn %u: %s [check %zu]", tr->index, base[k], k + 1);
            break;
        }
        oom = !out[k];
    }
    free_names(base, n);
    if (oom) {
        free_names(out, n);
        return NULL;
    }
    return out;
}

static void fmt_seconds(int64_t us, char *out, size_t out_len)
{
    /* SUREFIRE_TIME: digits and a dot only, so never an exponent or a sign. */
    if (us < 0) us = 0;
    snprintf(out, out_len, "%lld.%03lld", (long long)(us / 1000000),
             (long long)((us % 1000000) / 1000));
}

static junit_counts count_session(const ar_session_result *s)
{
    junit_counts c = {0, 0, 0, 0};

    for (size_t t = 0; t < s->n_turns; t++) {
        const ar_turn_result *tr = &s->turns[t];
        if (!tr->ran) {
            c.tests++;
            c.skipped++;
            continue;
        }
        c.tests += tr->checks.n;
        c.failures += ar_checks_failed(&tr->checks);
    }
    if (s->outcome == AR_OUT_ERROR) {
        c.tests++;
        c.errors++;
    }
    return c;
}

/* One tail line: "  +1.234s tool_completed Data/cost_db call=c-3 status=error "..."". */
static void event_line(ar_buf *b, const ar_event *ev, int64_t t0_us)
{
    double rel_s = (double)(ev->recv_us - t0_us) / 1e6;

    ar_buf_printf(b, "  %+.3fs %s", rel_s, ar_ev_kind_name(ev->kind));
    if (ev->agent && ev->tool)
        ar_buf_printf(b, " %s/%s", ev->agent, ev->tool);
    else if (ev->agent || ev->tool)
        ar_buf_printf(b, " %s", ev->agent ? ev->agent : ev->tool);
    if (ev->kind == AR_EV_OTHER && ev->type) ar_buf_printf(b, " type=%s", ev->type);
    if (ev->call_id) ar_buf_printf(b, " call=%s", ev->call_id);
    if (ev->status != AR_ST_NONE) ar_buf_printf(b, " status=%s", ar_ev_status_name(ev->status));
    if (ev->decode_error) ar_buf_puts(b, " decode_error");
    if (ev->text) {
        size_t n = strlen(ev->text);
        int cut = n > JUNIT_EVENT_TEXT_MAX_BYTES;
        char *clean = ar_text_utf8_clean(ev->text, n, JUNIT_EVENT_TEXT_MAX_BYTES, NULL);
        if (clean) {
            /* One event per line: fold the text's own line breaks. */
            for (char *p = clean; *p; p++)
                if (*p == '\n' || *p == '\r') *p = ' ';
            ar_buf_printf(b, " \"%s%s\"", clean, cut ? "..." : "");
            free(clean);
        }
    }
    ar_buf_puts(b, "\n");
}

/* The last JUNIT_TAIL_EVENTS of [first, first+n) in a session, as text. */
static void event_tail(ar_buf *b, const ar_run_result *r, uint32_t session, size_t first, size_t n,
                       int64_t t0_us, const char *what)
{
    size_t total = r->rec ? ar_rec_count(r->rec, session) : 0;
    size_t end = first + n;

    if (first > total) first = total;
    if (end > total || end < first) end = total;
    if (end == first) {
        ar_buf_printf(b, "no events recorded in %s\n", what);
        return;
    }
    size_t from = end - first > JUNIT_TAIL_EVENTS ? end - JUNIT_TAIL_EVENTS : first;
    ar_buf_printf(b, "last %zu of %zu events in %s (time from its start):\n", end - from,
                  end - first, what);
    for (size_t i = from; i < end; i++) {
        const ar_event *ev = ar_rec_get(r->rec, session, i);
        if (ev) event_line(b, ev, t0_us);
    }
}

/* The message leads the body, capped so the event tail always fits after it. */
static void body_message(ar_buf *b, const char *msg)
{
    size_t n = strlen(msg);

    if (n > JUNIT_BODY_MAX_BYTES) n = JUNIT_BODY_MAX_BYTES;
    ar_buf_printf(b, "%.*s\n\n", (int)n, msg);
}

static void put_property(FILE *f, const char *name, const char *value)
{
    if (!value) return;
    fprintf(f, "      <property name=\"%s\" value=\"", name);
    ar_text_xml_put(f, value, JUNIT_BODY_MAX_BYTES, true);
    fputs("\"/>\n", f);
}

static void put_properties(FILE *f, const ar_run_result *r, const ar_session_result *s)
{
    fputs("    <properties>\n", f);
    put_property(f, "target", s->target);
    put_property(f, "thread_id", s->thread_id);
    if (s->scn) {
        put_property(f, "protocol", s->scn->protocol);
        ar_buf tags;
        ar_buf_init(&tags, JUNIT_BODY_MAX_BYTES);
        for (size_t i = 0; i < s->scn->n_tags; i++)
            ar_buf_printf(&tags, "%s%s", i ? "," : "", s->scn->tags[i]);
        if (s->scn->n_tags) put_property(f, "tags", tags.ptr); /* empty ones are left out */
        ar_buf_free(&tags);
    }
    if (r->interrupted) put_property(f, "interrupted", "true");
    fputs("    </properties>\n", f);
}

/* Why a turn was not driven, for its skipped testcase. */
static char *skip_reason(const ar_run_result *r, const ar_session_result *s, size_t t)
{
    if (ar_report_not_run(r, s)) return ar_strdup("not run: interrupted");
    if (s->outcome == AR_OUT_ERROR)
        return ar_asprintf("not run: the session failed (%s): %s", ar_strerror(s->error_code),
                           s->error ? s->error : "no details");
    for (size_t k = t; k-- > 0;) {
        if (s->turns[k].ran && ar_checks_failed(&s->turns[k].checks))
            return ar_asprintf("not run: turn %u failed", s->turns[k].index);
    }
    if (r->interrupted) return ar_strdup("not run: the run was interrupted");
    return ar_strdup("not run: the session stopped before this turn");
}

static void put_testcase_open(FILE *f, const char *classname, const char *name, int64_t time_us)
{
    char tbuf[32];

    fmt_seconds(time_us, tbuf, sizeof(tbuf));
    fputs("    <testcase classname=\"", f);
    ar_text_xml_put(f, classname, JUNIT_ATTR_MAX_BYTES, true);
    fputs("\" name=\"", f);
    ar_text_xml_put(f, name, JUNIT_ATTR_MAX_BYTES, true);
    fprintf(f, "\" time=\"%s\"", tbuf);
}

/*
 * One <system-out>: the scenario file and the transcript as GitLab's
 * attachment (its parser takes the first [[ATTACHMENT|path]] of a failed or
 * errored testcase; the Jenkins attachments plugin reads the same). GitLab's
 * pattern excludes '[', ']' and '|' from the path, so such a path is only
 * named. Exactly one element: GitLab fails the whole report on two.
 */
static void put_system_out(FILE *f, const ar_session_result *s)
{
    const char *tp = s->transcript_path;
    const char *file = s->scn ? s->scn->file : NULL;

    if (!tp && !file) return;
    fputs("      <system-out>", f);
    if (file) {
        fputs("scenario: ", f);
        ar_text_xml_put(f, file, JUNIT_ATTR_MAX_BYTES, false);
        fputs("\n", f);
    }
    if (tp && !strpbrk(tp, "[]|")) {
        fputs("[[ATTACHMENT|", f);
        ar_text_xml_put(f, tp, JUNIT_ATTR_MAX_BYTES, false);
        fputs("]]\n", f);
    } else if (tp) {
        fputs("transcript: ", f);
        ar_text_xml_put(f, tp, JUNIT_ATTR_MAX_BYTES, false);
        fputs("\n", f);
    }
    fputs("</system-out>\n", f);
}

static void put_problem(FILE *f, const ar_session_result *s, const char *tag, const char *type,
                        const char *message, const char *body)
{
    fprintf(f, ">\n      <%s type=\"", tag);
    ar_text_xml_put(f, type, JUNIT_ATTR_MAX_BYTES, true);
    fputs("\" message=\"", f);
    ar_text_xml_put(f, message ? message : "", JUNIT_ATTR_MAX_BYTES, true);
    fputs("\">", f);
    ar_text_xml_put(f, body, JUNIT_BODY_MAX_BYTES, false);
    fprintf(f, "</%s>\n", tag);
    put_system_out(f, s);
    fputs("    </testcase>\n", f);
}

/* The testcases of one turn: one skipped testcase, or one per check. */
static void put_turn(FILE *f, const ar_run_result *r, const ar_session_result *s, size_t t,
                     const char *classname, ar_buf *body)
{
    const ar_turn_result *tr = &s->turns[t];

    if (!tr->ran) {
        char *why = skip_reason(r, s, t);
        char *tc_name = ar_asprintf("turn %u", tr->index);
        put_testcase_open(f, classname, tc_name ? tc_name : "turn", 0);
        fputs(">\n      <skipped message=\"", f);
        ar_text_xml_put(f, why ? why : "not run", JUNIT_ATTR_MAX_BYTES, true);
        fputs("\"/>\n    </testcase>\n", f);
        free(why);
        free(tc_name);
        return;
    }
    char **names = check_names(tr);
    for (size_t k = 0; k < tr->checks.n; k++) {
        const ar_check *ck = &tr->checks.items[k];
        const char *ck_name = ck->name ? ck->name : "check";
        int64_t t_us = strcmp(ck_name, "completed") == 0 ? tr->end_us - tr->start_us : 0;

        put_testcase_open(f, classname, names ? names[k] : ck_name, t_us);
        if (ck->passed) {
            fputs("/>\n", f);
            continue;
        }
        char what[32];
        snprintf(what, sizeof(what), "turn %u", tr->index);
        body_message(body, ck->message ? ck->message : "(no message)");
        event_tail(body, r, s->rec_session, tr->first_event, tr->n_events, tr->start_us, what);
        put_problem(f, s, "failure", ck_name, ck->message, body->ptr);
        ar_buf_reset(body);
    }
    free_names(names, tr->checks.n);
}

static void put_session(FILE *f, const ar_run_result *r, size_t idx, const char *hostname)
{
    const ar_session_result *s = &r->sessions[idx];
    char *owned_name = suite_name(r, idx);
    const char *name = owned_name ? owned_name : session_name(s);
    junit_counts c = count_session(s);
    char tbuf[32], stamp[64];
    ar_buf body;

    fmt_seconds(s->duration_us, tbuf, sizeof(tbuf));
    ar_wall_iso8601(s->start_wall_us ? s->start_wall_us : r->start_wall_us, stamp, sizeof(stamp));
    fputs("  <testsuite name=\"", f);
    ar_text_xml_put(f, name, JUNIT_ATTR_MAX_BYTES, true);
    fprintf(f, "\" id=\"%zu\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", idx,
            c.tests, c.failures, c.errors, c.skipped);
    fprintf(f, " time=\"%s\" timestamp=\"%s\" hostname=\"", tbuf, stamp);
    ar_text_xml_put(f, hostname, JUNIT_ATTR_MAX_BYTES, true);
    fputs("\"", f);
    if (s->scn && s->scn->file) {
        fputs(" file=\"", f);
        ar_text_xml_put(f, s->scn->file, JUNIT_ATTR_MAX_BYTES, true);
        fputs("\"", f);
    }
    fputs(">\n", f);
    put_properties(f, r, s);

    ar_buf_init(&body, JUNIT_BODY_MAX_BYTES * 2);
    if (s->outcome == AR_OUT_ERROR) {
        const char *msg = s->error ? s->error : ar_strerror(s->error_code);
        put_testcase_open(f, name, "session", 0);
        body_message(&body, msg);
        event_tail(&body, r, s->rec_session, 0, SIZE_MAX, s->start_us, "the session");
        put_problem(f, s, "error", ar_strerror(s->error_code), msg, body.ptr);
        ar_buf_reset(&body);
    }
    for (size_t t = 0; t < s->n_turns; t++)
        put_turn(f, r, s, t, name, &body);
    ar_buf_free(&body);
    free(owned_name);
    fputs("  </testsuite>\n", f);
}

ar_err ar_report_junit(const ar_run_result *r, const char *path, char *err, size_t err_len)
{
    ar_fsutil_file af;
    junit_counts all = {0, 0, 0, 0};
    char hostname[256], tbuf[32];
    ar_err rc;

    if (!r) {
        if (err && err_len) snprintf(err, err_len, "%s: no run result", path ? path : "(junit)");
        return AR_EINVAL;
    }
    rc = ar_fsutil_open(&af, path, err, err_len);
    if (rc != AR_OK) return rc;
    if (gethostname(hostname, sizeof(hostname)) != 0 || !hostname[0])
        snprintf(hostname, sizeof(hostname), "localhost");
    hostname[sizeof(hostname) - 1] = '\0';

    for (size_t i = 0; i < r->n_sessions; i++) {
        junit_counts c = count_session(&r->sessions[i]);
        all.tests += c.tests;
        all.failures += c.failures;
        all.errors += c.errors;
        all.skipped += c.skipped;
    }
    fmt_seconds(r->duration_us, tbuf, sizeof(tbuf));
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", af.f);
    /* testsuites has no "skipped" attribute in junit-10.xsd; the suites carry it. */
    fprintf(af.f,
            "<testsuites name=\"agentrig\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%s\">\n",
            all.tests, all.failures, all.errors, tbuf);
    for (size_t i = 0; i < r->n_sessions; i++)
        put_session(af.f, r, i, hostname);
    fputs("</testsuites>\n", af.f);
    return ar_fsutil_commit(&af, err, err_len);
}
