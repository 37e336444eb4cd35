/*
 * json.c - the versioned JSON report (docs/reports.md): everything the JUnit
 * file says, in a shape scripts and dashboards can read without an XML
 * parser. The "version" field changes only when a field changes meaning or
 * goes away; added fields keep the version.
 *
 * Absent values are null rather than missing, so every session and turn has
 * the same keys and consumers need no existence checks. Strings are repaired
 * to valid UTF-8 first: cJSON passes bytes through, and one stray byte from a
 * service would make the whole report unreadable for strict parsers.
 */
#include "fsutil.h"
#include "report.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Tracks the first allocation failure while building, so the build code
 * stays linear and the failure is reported once. */
typedef struct {
    bool oom;
} json_ctx;

static void add_str(json_ctx *cx, cJSON *o, const char *key, const char *v)
{
    if (!v) {
        if (!cJSON_AddNullToObject(o, key)) cx->oom = true;
        return;
    }
    char *clean = ar_text_utf8_clean(v, strlen(v), 0, NULL);
    if (!clean || !cJSON_AddStringToObject(o, key, clean)) cx->oom = true;
    free(clean);
}

static void add_num(json_ctx *cx, cJSON *o, const char *key, double v)
{
    if (!cJSON_AddNumberToObject(o, key, v)) cx->oom = true;
}

static void add_bool(json_ctx *cx, cJSON *o, const char *key, bool v)
{
    if (!cJSON_AddBoolToObject(o, key, v)) cx->oom = true;
}

static cJSON *add_obj(json_ctx *cx, cJSON *o, const char *key)
{
    cJSON *c = cJSON_AddObjectToObject(o, key);
    if (!c) cx->oom = true;
    return c;
}

static cJSON *add_arr(json_ctx *cx, cJSON *o, const char *key)
{
    cJSON *c = cJSON_AddArrayToObject(o, key);
    if (!c) cx->oom = true;
    return c;
}

static cJSON *push_obj(json_ctx *cx, cJSON *arr)
{
    cJSON *c = cJSON_CreateObject();
    if (!c || !cJSON_AddItemToArray(arr, c)) {
        cJSON_Delete(c);
        cx->oom = true;
        return NULL;
    }
    return c;
}

static double seconds(int64_t us)
{
    return us < 0 ? 0.0 : (double)us / 1e6;
}

static void add_time(json_ctx *cx, cJSON *o, const char *key, int64_t wall_us)
{
    char iso[64];

    if (wall_us <= 0) {
        add_str(cx, o, key, NULL);
        return;
    }
    ar_wall_iso8601(wall_us, iso, sizeof(iso));
    add_str(cx, o, key, iso);
}

static void add_turn(json_ctx *cx, cJSON *arr, const ar_turn_result *t)
{
    cJSON *o = push_obj(cx, arr);
    cJSON *checks;

    if (!o) return;
    add_num(cx, o, "index", t->index);
    add_bool(cx, o, "ran", t->ran);
    add_str(cx, o, "message", t->message);
    add_num(cx, o, "duration_s", t->ran ? seconds(t->end_us - t->start_us) : 0.0);
    add_num(cx, o, "events", (double)t->n_events);
    checks = add_arr(cx, o, "checks");
    if (!checks) return;
    for (size_t i = 0; i < t->checks.n; i++) {
        const ar_check *ck = &t->checks.items[i];
        cJSON *c = push_obj(cx, checks);
        if (!c) return;
        add_str(cx, c, "name", ck->name);
        add_bool(cx, c, "passed", ck->passed);
        add_str(cx, c, "message", ck->message);
    }
}

static void add_session(json_ctx *cx, cJSON *arr, const ar_run_result *r,
                        const ar_session_result *s)
{
    cJSON *o = push_obj(cx, arr);
    cJSON *turns, *tags;

    if (!o) return;
    add_str(cx, o, "scenario", s->scn ? s->scn->name : NULL);
    add_str(cx, o, "file", s->scn ? s->scn->file : NULL);
    tags = add_arr(cx, o, "tags");
    for (size_t i = 0; tags && s->scn && i < s->scn->n_tags; i++) {
        char *clean = ar_text_utf8_clean(s->scn->tags[i], strlen(s->scn->tags[i]), 0, NULL);
        cJSON *tag = clean ? cJSON_CreateString(clean) : NULL;
        free(clean);
        if (!tag || !cJSON_AddItemToArray(tags, tag)) {
            cJSON_Delete(tag);
            cx->oom = true;
        }
    }
    add_str(cx, o, "target", s->target);
    add_str(cx, o, "thread_id", s->thread_id);
    add_str(cx, o, "outcome", ar_report_outcome_name(r, s));
    add_str(cx, o, "error", s->outcome == AR_OUT_ERROR ? s->error : NULL);
    add_str(cx, o, "error_type", s->outcome == AR_OUT_ERROR ? ar_strerror(s->error_code) : NULL);
    add_time(cx, o, "started_at", s->start_wall_us);
    add_num(cx, o, "duration_s", seconds(s->duration_us));
    add_str(cx, o, "transcript", s->transcript_path);
    add_num(cx, o, "events", r->rec ? (double)ar_rec_count(r->rec, s->rec_session) : 0.0);
    add_num(cx, o, "dropped", r->rec ? (double)ar_rec_dropped(r->rec, s->rec_session) : 0.0);
    turns = add_arr(cx, o, "turns");
    for (size_t i = 0; turns && i < s->n_turns; i++)
        add_turn(cx, turns, &s->turns[i]);
}

static cJSON *build(json_ctx *cx, const ar_run_result *r)
{
    size_t not_run = 0;
    ar_run_totals tot = ar_report_totals(r, &not_run);
    cJSON *root = cJSON_CreateObject();
    cJSON *totals, *sessions;

    if (!root) {
        cx->oom = true;
        return NULL;
    }
    add_num(cx, root, "version", AR_REPORT_JSON_VERSION);
    add_str(cx, root, "tool", "agentrig");
    add_str(cx, root, "tool_version", AR_VERSION);
    add_str(cx, root, "mode", r->mode ? r->mode : "run");
    add_time(cx, root, "started_at", r->start_wall_us);
    add_num(cx, root, "duration_s", seconds(r->duration_us));
    add_bool(cx, root, "interrupted", r->interrupted);
    totals = add_obj(cx, root, "totals");
    if (totals) {
        add_num(cx, totals, "sessions", (double)tot.sessions);
        add_num(cx, totals, "passed", (double)tot.passed);
        add_num(cx, totals, "failed", (double)tot.failed);
        add_num(cx, totals, "errored", (double)tot.errored);
        add_num(cx, totals, "skipped", (double)not_run);
        add_num(cx, totals, "checks", (double)tot.checks);
        add_num(cx, totals, "checks_failed", (double)tot.checks_failed);
    }
    sessions = add_arr(cx, root, "sessions");
    for (size_t i = 0; sessions && i < r->n_sessions; i++)
        add_session(cx, sessions, r, &r->sessions[i]);
    return root;
}

ar_err ar_report_json(const ar_run_result *r, const char *path, char *err, size_t err_len)
{
    json_ctx cx = {false};
    ar_fsutil_file af;
    cJSON *root;
    char *text;
    ar_err rc;

    if (!r) {
        if (err && err_len) snprintf(err, err_len, "%s: no run result", path ? path : "(json)");
        return AR_EINVAL;
    }
    root = build(&cx, r);
    text = root && !cx.oom ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        if (err && err_len)
            snprintf(err, err_len, "%s: out of memory building the report", path ? path : "");
        return AR_ENOMEM;
    }
    rc = ar_fsutil_open(&af, path, err, err_len);
    if (rc == AR_OK) {
        fputs(text, af.f);
        fputc('\n', af.f);
        rc = ar_fsutil_commit(&af, err, err_len);
    }
    cJSON_free(text);
    return rc;
}
