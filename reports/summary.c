/*
 * summary.c - the few lines a person reads in the terminal after a run: one
 * verdict line per session, the failed checks under it, then the totals.
 *
 * Messages come from the service under test and may hold terminal escape
 * sequences; they are printed with control characters made visible (\x1b),
 * so a hostile or broken response cannot repaint the user's terminal.
 */
#include "report.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

#define SGR_RESET "\x1b[0m"
#define SGR_GREEN "\x1b[32m"
#define SGR_RED "\x1b[31m"
#define SGR_YELLOW "\x1b[33m"
#define SGR_DIM "\x1b[2m"
#define SGR_BOLD "\x1b[1m"

/* Long messages (a whole response) are cut: the reports carry them in full. */
#define SUMMARY_MESSAGE_MAX_BYTES 2000

static const char *session_name(const ar_session_result *s)
{
    return s->scn && s->scn->name ? s->scn->name : "(unnamed scenario)";
}

/*
 * Prints s with control characters escaped; each newline continues at
 * `indent` so multi-line messages stay under their heading.
 */
static void put_text_raw(FILE *out, const char *s, const char *indent);

/* Everything the summary prints from a service or a scenario passes here,
 * so a secret never reaches the terminal. */
static void put_text(FILE *out, const char *s, const char *indent)
{
    if (!s || !ar_report_has_secrets()) {
        put_text_raw(out, s, indent);
        return;
    }
    char *masked = ar_report_mask(s, strlen(s), NULL);
    put_text_raw(out, masked ? masked : "***", indent);
    free(masked);
}

static void put_text_raw(FILE *out, const char *s, const char *indent)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = s ? strlen(s) : 0, i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n;

        if (i >= SUMMARY_MESSAGE_MAX_BYTES) {
            fputs("...", out);
            return;
        }
        n = ar_text_utf8_next(u + i, len - i, &cp);
        if (cp == '\n')
            fprintf(out, "\n%s", indent);
        else if (cp == '\t')
            fputc(' ', out);
        else if (cp < 0x20 || cp == 0x7f || (cp == AR_TEXT_REPLACEMENT && n == 1))
            /* Controls and invalid bytes are shown, not sent to the terminal. */
            fprintf(out, "\\x%02x", u[i]);
        else
            fwrite(u + i, 1, n, out);
        i += n;
    }
}

static void put_session(FILE *out, const ar_run_result *r, const ar_session_result *s, bool color)
{
    const char *verdict, *col;
    size_t ran = 0;
    char dur[32];

    if (ar_report_not_run(r, s)) {
        /* Never a PASS: nothing of it was driven. */
        fprintf(out, "%sSKIP %s ", color ? SGR_YELLOW : "", color ? SGR_RESET : "");
        put_text(out, session_name(s), "");
        fprintf(out, "  %snot run (interrupted)%s\n", color ? SGR_DIM : "", color ? SGR_RESET : "");
        return;
    }
    switch (s->outcome) {
    case AR_OUT_PASS:
        verdict = "PASS";
        col = SGR_GREEN;
        break;
    case AR_OUT_FAIL:
        verdict = "FAIL";
        col = SGR_RED;
        break;
    default:
        verdict = "ERROR";
        col = SGR_RED SGR_BOLD;
        break;
    }
    for (size_t t = 0; t < s->n_turns; t++)
        ran += s->turns[t].ran;
    ar_fmt_duration(s->duration_us, dur, sizeof(dur));

    /* "PASS  name", "ERROR name": names line up in one column. */
    fprintf(out, "%s%-5s%s ", color ? col : "", verdict, color ? SGR_RESET : "");
    put_text(out, session_name(s), "");
    fputs("  ", out);
    if (color) fputs(SGR_DIM, out);
    if (ran == s->n_turns)
        fprintf(out, "(%zu turn%s", ran, ran == 1 ? "" : "s");
    else
        fprintf(out, "(%zu/%zu turns", ran, s->n_turns);
    size_t n_events = r->rec ? ar_rec_count(r->rec, s->rec_session) : 0;
    fprintf(out, ", %zu event%s, %s)", n_events, n_events == 1 ? "" : "s", dur);
    if (color) fputs(SGR_RESET, out);
    fputc('\n', out);

    if (s->outcome == AR_OUT_ERROR) {
        fprintf(out, "      %serror (%s): ", color ? SGR_RED : "", ar_strerror(s->error_code));
        put_text(out, s->error ? s->error : "no details", "        ");
        fprintf(out, "%s\n", color ? SGR_RESET : "");
    }
    for (size_t t = 0; t < s->n_turns; t++) {
        const ar_turn_result *tr = &s->turns[t];
        for (size_t k = 0; tr->ran && k < tr->checks.n; k++) {
            const ar_check *ck = &tr->checks.items[k];
            if (ck->passed) continue;
            /* Check messages start with the check's name (result.h). */
            fprintf(out, "      turn %u: ", tr->index);
            put_text(out, ck->message ? ck->message : "(no message)", "        ");
            fprintf(out, "%s\n", color ? SGR_RESET : "");
        }
    }
    if (ran < s->n_turns && ran > 0 && s->outcome != AR_OUT_ERROR)
        fprintf(out, "      %s%zu turn%s not run%s\n", color ? SGR_DIM : "", s->n_turns - ran,
                s->n_turns - ran == 1 ? "" : "s", color ? SGR_RESET : "");
    if (s->transcript_path && s->outcome != AR_OUT_PASS) {
        fprintf(out, "      %stranscript: ", color ? SGR_DIM : "");
        put_text(out, s->transcript_path, "");
        fprintf(out, "%s\n", color ? SGR_RESET : "");
    }
}

void ar_report_summary(const ar_run_result *r, FILE *out, bool color)
{
    ar_run_totals t;
    char dur[32];
    bool ok;

    if (!r || !out) return;
    for (size_t i = 0; i < r->n_sessions; i++)
        put_session(out, r, &r->sessions[i], color);
    size_t not_run = 0;
    t = ar_report_totals(r, &not_run);
    ok = t.failed == 0 && t.errored == 0 && !r->interrupted;
    ar_fmt_duration(r->duration_us, dur, sizeof(dur));
    if (r->n_sessions) fputc('\n', out);
    fprintf(out,
            "%s%zu session%s: %zu passed, %zu failed, %zu error%s; %zu check%s, %zu failed%s"
            "  %s(%s)%s\n",
            color ? (ok ? SGR_GREEN : SGR_RED) : "", t.sessions, t.sessions == 1 ? "" : "s",
            t.passed, t.failed, t.errored, t.errored == 1 ? "" : "s", t.checks,
            t.checks == 1 ? "" : "s", t.checks_failed, color ? SGR_RESET : "", color ? SGR_DIM : "",
            dur, color ? SGR_RESET : "");
    if (not_run)
        fprintf(out, "%s%zu session%s not run (interrupted)%s\n", color ? SGR_YELLOW : "", not_run,
                not_run == 1 ? "" : "s", color ? SGR_RESET : "");
    if (r->interrupted)
        fprintf(out, "%sinterrupted: the run was stopped; sessions marked SKIP did not run%s\n",
                color ? SGR_YELLOW : "", color ? SGR_RESET : "");
}
