/*
 * event.c - the canonical event.
 *
 * Frames are decoded into events by protocol profiles (profile.c); this file
 * holds the event itself: kinds, ownership, description.
 */
#include "event.h"

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
    [AR_EV_SENT] = "sent",
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
        if (k != AR_EV_SENT && strcmp(name, kind_names[k]) == 0) {
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
    ev->server_duration_us = -1;
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
    free(ev->args);
    free(ev->result);
    free(ev->error);
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
    dst->args = dst->result = dst->error = NULL;
    bool ok = dup_field(&dst->type, src->type) && dup_field(&dst->agent, src->agent) &&
              dup_field(&dst->run_id, src->run_id) &&
              dup_field(&dst->parent_run_id, src->parent_run_id) &&
              dup_field(&dst->tool, src->tool) && dup_field(&dst->call_id, src->call_id) &&
              dup_field(&dst->thread_id, src->thread_id) && dup_field(&dst->text, src->text) &&
              dup_field(&dst->args, src->args) && dup_field(&dst->result, src->result) &&
              dup_field(&dst->error, src->error);
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
    return ev->terminal && !ev->decode_error;
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
