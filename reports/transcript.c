/*
 * transcript.c - one JSONL file per session with every recorded event, so a
 * failure in CI can be read frame by frame after the service is gone.
 *
 * JSONL rather than one JSON document: a transcript can hold a million events,
 * is streamed out line by line, and `grep`/`jq -c` work on it directly. The
 * header and end lines make a truncated file detectable (no "end" line) even
 * though files are published atomically.
 *
 * Integers are written as exact decimal (cJSON stores doubles, which would
 * round 64-bit timestamps); raw frames are capped at 64 KiB so one huge frame
 * cannot bloat the artefact, with "raw_truncated" saying so.
 */
#include "fsutil.h"
#include "report.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TRANSCRIPT_FORMAT 1
#define TRANSCRIPT_RAW_MAX_BYTES (64u * 1024u)

typedef struct {
    bool oom;
} tr_ctx;

static void put_str(tr_ctx *cx, cJSON *o, const char *key, const char *v)
{
    if (!v) return;
    char *clean = ar_text_utf8_clean(v, strlen(v), 0, NULL);
    if (!clean || !cJSON_AddStringToObject(o, key, clean)) cx->oom = true;
    free(clean);
}

static void put_int(tr_ctx *cx, cJSON *o, const char *key, int64_t v)
{
    char num[32];

    snprintf(num, sizeof(num), "%" PRId64, v);
    if (!cJSON_AddRawToObject(o, key, num)) cx->oom = true;
}

static void put_true(tr_ctx *cx, cJSON *o, const char *key)
{
    if (!cJSON_AddTrueToObject(o, key)) cx->oom = true;
}

static void put_raw_frame(tr_ctx *cx, cJSON *o, const ar_event *ev)
{
    size_t len = ev->raw_len;
    int cut = 0;
    char *s;

    if (ev->raw_binary) {
        if (len > TRANSCRIPT_RAW_MAX_BYTES) {
            len = TRANSCRIPT_RAW_MAX_BYTES;
            cut = 1;
        }
        s = ar_text_base64((const unsigned char *)ev->raw, len);
    } else {
        s = ar_text_utf8_clean(ev->raw, len, TRANSCRIPT_RAW_MAX_BYTES, &cut);
    }
    if (!s || !cJSON_AddStringToObject(o, "raw", s)) cx->oom = true;
    free(s);
    if (cut || ev->raw_truncated) put_true(cx, o, "raw_truncated");
}

static cJSON *event_json(tr_ctx *cx, const ar_event *ev, int64_t t0_us)
{
    cJSON *o = cJSON_CreateObject();

    if (!o) {
        cx->oom = true;
        return NULL;
    }
    put_int(cx, o, "seq", (int64_t)ev->seq);
    put_int(cx, o, "turn", ev->turn);
    put_str(cx, o, "kind", ar_ev_kind_name(ev->kind));
    put_int(cx, o, "t_us", ev->recv_us - t0_us);
    if (ev->server_ts_us >= 0) put_int(cx, o, "server_ts_us", ev->server_ts_us);
    put_str(cx, o, "type", ev->type);
    put_str(cx, o, "agent", ev->agent);
    put_str(cx, o, "run_id", ev->run_id);
    put_str(cx, o, "parent_run_id", ev->parent_run_id);
    put_str(cx, o, "tool", ev->tool);
    put_str(cx, o, "call_id", ev->call_id);
    put_str(cx, o, "thread_id", ev->thread_id);
    if (ev->status != AR_ST_NONE)
        put_str(cx, o, "status", ar_ev_status_name(ev->status));
    else if (ev->kind == AR_EV_TOOL_COMPLETED || ev->kind == AR_EV_AGENT_COMPLETED)
        put_str(cx, o, "status", "unknown"); /* the wire did not say: never assumed ok */
    put_str(cx, o, "text", ev->text);
    put_str(cx, o, ev->args_delta ? "args_delta" : "args", ev->args);
    put_str(cx, o, "result", ev->result);
    put_str(cx, o, "error", ev->error);
    if (ev->tokens_in >= 0 || ev->tokens_out >= 0 || ev->cost_usd >= 0) {
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        if (!u) {
            cx->oom = true;
        } else {
            if (ev->tokens_in >= 0) put_int(cx, u, "tokens_in", ev->tokens_in);
            if (ev->tokens_out >= 0) put_int(cx, u, "tokens_out", ev->tokens_out);
            if (ev->cost_usd >= 0 && !cJSON_AddNumberToObject(u, "cost_usd", ev->cost_usd))
                cx->oom = true;
        }
    }
    if (ev->raw) put_raw_frame(cx, o, ev);
    put_int(cx, o, "wire_len", (int64_t)ev->wire_len);
    if (ev->raw_binary) put_true(cx, o, "binary");
    if (ev->decode_error) put_true(cx, o, "decode_error");
    return o;
}

/* Prints o as one line and frees it. */
static void emit(tr_ctx *cx, FILE *f, cJSON *o)
{
    char *line = o && !cx->oom ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    if (!line) {
        cx->oom = true;
        return;
    }
    fputs(line, f);
    fputc('\n', f);
    cJSON_free(line);
}

static ar_err write_session(const ar_run_result *r, ar_session_result *s, size_t idx,
                            const char *dir, char *err, size_t err_len)
{
    tr_ctx cx = {false};
    char slug[64], iso[64];
    size_t n_events = r->rec ? ar_rec_count(r->rec, s->rec_session) : 0;
    ar_fsutil_file af;
    char *path;
    cJSON *o;
    ar_err rc;

    size_t dir_len = strlen(dir);

    /* "results/transcripts/" and "results/transcripts" name the same place. */
    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--;
    ar_text_slug(s->scn ? s->scn->name : NULL, slug, sizeof(slug));
    path = ar_asprintf("%.*s/%03zu-%s.jsonl", (int)dir_len, dir, idx + 1, slug);
    if (!path) {
        snprintf(err, err_len, "%s: out of memory", dir);
        return AR_ENOMEM;
    }
    rc = ar_fsutil_open(&af, path, err, err_len);
    if (rc != AR_OK) {
        free(path);
        return rc;
    }

    o = cJSON_CreateObject();
    if (o) {
        put_int(&cx, o, "transcript", TRANSCRIPT_FORMAT);
        put_int(&cx, o, "session", (int64_t)idx + 1);
        put_str(&cx, o, "scenario", s->scn ? s->scn->name : NULL);
        put_str(&cx, o, "file", s->scn ? s->scn->file : NULL);
        put_str(&cx, o, "target", s->target);
        put_str(&cx, o, "thread_id", s->thread_id);
        /* A session the interrupt kept from starting says so up front, so
         * nobody reads its empty transcript as a quiet pass. */
        if (ar_report_not_run(r, s)) put_str(&cx, o, "not_run", "interrupted");
        if (s->start_wall_us > 0) {
            ar_wall_iso8601(s->start_wall_us, iso, sizeof(iso));
            put_str(&cx, o, "started_at", iso);
        }
    }
    emit(&cx, af.f, o);
    for (size_t i = 0; i < n_events && !cx.oom; i++) {
        const ar_event *ev = ar_rec_get(r->rec, s->rec_session, i);
        if (ev) emit(&cx, af.f, event_json(&cx, ev, s->start_us));
    }
    o = cJSON_CreateObject();
    if (o) {
        put_true(&cx, o, "end");
        put_str(&cx, o, "outcome", ar_report_outcome_name(r, s));
        if (ar_report_not_run(r, s)) put_str(&cx, o, "not_run", "interrupted");
        if (s->outcome == AR_OUT_ERROR)
            put_str(&cx, o, "error", s->error ? s->error : ar_strerror(s->error_code));
        put_int(&cx, o, "events", (int64_t)n_events);
        put_int(&cx, o, "dropped", r->rec ? (int64_t)ar_rec_dropped(r->rec, s->rec_session) : 0);
    }
    emit(&cx, af.f, o);

    if (cx.oom) {
        ar_fsutil_abort(&af);
        snprintf(err, err_len, "%s: out of memory writing the transcript", path);
        free(path);
        return AR_ENOMEM;
    }
    rc = ar_fsutil_commit(&af, err, err_len);
    if (rc != AR_OK) {
        free(path);
        return rc;
    }
    free(s->transcript_path);
    s->transcript_path = path;
    return AR_OK;
}

ar_err ar_report_transcripts(ar_run_result *r, const char *dir, char *err, size_t err_len)
{
    char scratch[512];
    ar_err first = AR_OK;

    if (!r || !dir || !*dir) {
        if (err && err_len)
            snprintf(err, err_len, "transcripts: %s", !r ? "no run result" : "empty directory");
        return AR_EINVAL;
    }
    /* One file per session: there is no stream to put them on, and a
     * directory named "-" is never what was meant. */
    if (strcmp(dir, "-") == 0) {
        if (err && err_len)
            snprintf(err, err_len,
                     "transcripts: '-' (standard output) is not supported; transcripts are one "
                     "file per session, give a directory");
        return AR_EINVAL;
    }
    /* Every session is attempted; the first failure is the one reported. */
    for (size_t i = 0; i < r->n_sessions; i++) {
        ar_err rc = write_session(r, &r->sessions[i], i, dir, scratch, sizeof(scratch));
        if (rc != AR_OK && first == AR_OK) {
            first = rc;
            if (err && err_len) snprintf(err, err_len, "%s", scratch);
        }
    }
    return first;
}
