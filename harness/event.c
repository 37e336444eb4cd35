/*
 * event.c - the canonical event and the decoder for refagent's `native`
 * protocol (docs/protocol.md).
 *
 * The decoder is deliberately forgiving about *missing* fields (a service
 * may omit what it does not have) and strict about the frame itself: a frame
 * that is not a JSON object with a string "type" becomes an error event with
 * decode_error set, so the validators see it and the transcript keeps it.
 */
#include "event.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[AR_EV__COUNT] = {
    [AR_EV_AGENT_STARTED] = "agent_started",
    [AR_EV_AGENT_THINKING] = "agent_thinking",
    [AR_EV_TOOL_EXECUTING] = "tool_executing",
    [AR_EV_TOOL_COMPLETED] = "tool_completed",
    [AR_EV_AGENT_COMPLETED] = "agent_completed",
    [AR_EV_ERROR] = "error",
    [AR_EV_FAULT] = "fault",
    [AR_EV_OTHER] = "other",
};

const char *ar_ev_kind_name(ar_ev_kind kind)
{
    if ((int)kind < 0 || kind >= AR_EV__COUNT) return "other";
    return kind_names[kind];
}

bool ar_ev_kind_parse(const char *name, ar_ev_kind *out)
{
    if (!name) return false;
    for (int k = 0; k < AR_EV__COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (ar_ev_kind)k;
            return true;
        }
    }
    return false;
}

const char *ar_ev_status_name(ar_ev_status st)
{
    switch (st) {
    case AR_ST_OK:
        return "ok";
    case AR_ST_ERROR:
        return "error";
    default:
        return "";
    }
}

void ar_event_init(ar_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = AR_EV_OTHER;
    ev->server_ts_us = -1;
    ev->tokens_in = -1;
    ev->tokens_out = -1;
    ev->cost_usd = -1;
}

void ar_event_clear(ar_event *ev)
{
    if (!ev) return;
    free(ev->type);
    free(ev->agent);
    free(ev->run_id);
    free(ev->parent_run_id);
    free(ev->tool);
    free(ev->call_id);
    free(ev->thread_id);
    free(ev->text);
    free(ev->raw);
    ar_event_init(ev);
}

static bool dup_field(char **dst, const char *src)
{
    if (!src) return true;
    *dst = strdup(src);
    return *dst != NULL;
}

ar_err ar_event_copy(ar_event *dst, const ar_event *src)
{
    *dst = *src;
    dst->type = dst->agent = dst->run_id = dst->parent_run_id = NULL;
    dst->tool = dst->call_id = dst->thread_id = dst->text = dst->raw = NULL;
    bool ok = dup_field(&dst->type, src->type) && dup_field(&dst->agent, src->agent) &&
              dup_field(&dst->run_id, src->run_id) &&
              dup_field(&dst->parent_run_id, src->parent_run_id) &&
              dup_field(&dst->tool, src->tool) && dup_field(&dst->call_id, src->call_id) &&
              dup_field(&dst->thread_id, src->thread_id) && dup_field(&dst->text, src->text);
    if (ok && src->raw) {
        dst->raw = ar_strndup(src->raw, src->raw_len);
        ok = dst->raw != NULL;
    }
    if (!ok) {
        ar_event_clear(dst);
        return AR_ENOMEM;
    }
    return AR_OK;
}

bool ar_event_is_terminal(const ar_event *ev)
{
    if (ev->decode_error) return false;
    if (ev->kind == AR_EV_AGENT_COMPLETED) return ev->parent_run_id == NULL;
    if (ev->kind == AR_EV_ERROR) return ev->run_id == NULL && ev->parent_run_id == NULL;
    return false;
}

static char *str_field(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsString(v) && v->valuestring) return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) return ar_asprintf("%.17g", v->valuedouble);
    return NULL;
}

static int64_t int_field(const cJSON *obj, const char *name, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

static ar_err decode_fail(ar_event *ev, const char *why)
{
    ev->kind = AR_EV_ERROR;
    ev->decode_error = true;
    free(ev->text);
    ev->text = strdup(why);
    return ev->text ? AR_EPARSE : AR_ENOMEM;
}

ar_err ar_event_decode_native(const char *frame, size_t len, ar_event *ev)
{
    ev->raw = ar_strndup(frame, len);
    if (!ev->raw) return AR_ENOMEM;
    ev->raw_len = len;
    ev->wire_len = len;

    cJSON *root = cJSON_ParseWithLength(frame, len);
    if (!root) return decode_fail(ev, "frame is not valid JSON");
    ar_err rc = AR_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsObject(root)) {
        rc = decode_fail(ev, "frame is not a JSON object");
        goto out;
    }
    if (!cJSON_IsString(type) || !type->valuestring) {
        rc = decode_fail(ev, "frame has no string \"type\"");
        goto out;
    }
    ev->type = strdup(type->valuestring);
    /* "fault" is ours (what agentrig injected): a service cannot claim it. */
    if (!ar_ev_kind_parse(type->valuestring, &ev->kind) || ev->kind == AR_EV_FAULT)
        ev->kind = AR_EV_OTHER;

    ev->agent = str_field(root, "agent");
    ev->run_id = str_field(root, "run_id");
    ev->parent_run_id = str_field(root, "parent_run_id");
    ev->tool = str_field(root, "tool");
    ev->call_id = str_field(root, "call_id");
    ev->thread_id = str_field(root, "thread_id");
    ev->server_ts_us = int_field(root, "ts_us", -1);

    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (cJSON_IsString(st)) {
        if (strcmp(st->valuestring, "ok") == 0)
            ev->status = AR_ST_OK;
        else if (strcmp(st->valuestring, "error") == 0)
            ev->status = AR_ST_ERROR;
    }

    switch (ev->kind) {
    case AR_EV_AGENT_THINKING:
        ev->text = str_field(root, "text");
        break;
    case AR_EV_ERROR:
        ev->text = str_field(root, "message");
        if (ev->status == AR_ST_NONE) ev->status = AR_ST_ERROR;
        break;
    case AR_EV_TOOL_COMPLETED:
        ev->text = str_field(root, "error");
        break;
    case AR_EV_AGENT_COMPLETED: {
        const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
        ev->text = str_field(result, "response");
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
        if (cJSON_IsObject(usage)) {
            ev->tokens_in = int_field(usage, "input_tokens", -1);
            ev->tokens_out = int_field(usage, "output_tokens", -1);
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(usage, "cost_usd");
            if (cJSON_IsNumber(c)) ev->cost_usd = c->valuedouble;
        }
        break;
    }
    default:
        break;
    }
out:
    cJSON_Delete(root);
    return rc;
}

void ar_event_describe(const ar_event *ev, int64_t t0_us, char *out, size_t out_len)
{
    char when[32];
    ar_fmt_duration(ev->recv_us - t0_us, when, sizeof when);
    if (ev->decode_error) {
        snprintf(out, out_len, "undecodable frame (%s) at %s", ev->text ? ev->text : "?", when);
        return;
    }
    /* An "other" event is more useful under the service's own type name. */
    const char *name = ev->kind == AR_EV_OTHER && ev->type ? ev->type : ar_ev_kind_name(ev->kind);
    const char *who = ev->agent ? ev->agent : "";
    const char *what = ev->tool ? ev->tool : "";
    const char *err = ev->status == AR_ST_ERROR ? " status=error" : "";
    if (*who || *what)
        snprintf(out, out_len, "%s (%s%s%s)%s at %s", name, who, (*who && *what) ? "/" : "", what,
                 err, when);
    else
        snprintf(out, out_len, "%s%s at %s", name, err, when);
}
