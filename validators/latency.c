/*
 * latency.c - expect.latency: per-turn time limits, measured on the monotonic
 * clock from the moment the turn's message was sent.
 *
 *   first_event - until the first event of the turn arrived;
 *   first_tool  - until the first tool_executing;
 *   turn        - until the terminal event.
 * A limit holds when observed <= limit. A milestone that never happened
 * fails its limit: a turn with no tool call cannot show that its first tool
 * came fast enough, and a turn that never ended certainly was not fast.
 */
#include "valfmt.h"
#include "validator.h"

#include <string.h>

static void check_limit(const char *name, int64_t limit_us, const ar_event *ev, const char *missing,
                        const ar_turn_obs *o, ar_checks *out)
{
    char lim[32], obs[32];
    ar_fmt_duration(limit_us, lim, sizeof lim);
    ar_vf_msg m;
    ar_vf_init(&m);
    if (!ev) {
        ar_fmt_duration(o->end_us - o->start_us, obs, sizeof obs);
        ar_vf_printf(&m, "%s: expected ≤ %s, observed %s (waited %s)", name, lim, missing, obs);
        ar_vf_add(out, name, false, &m);
        return;
    }
    int64_t took_us = ev->recv_us - o->start_us;
    ar_fmt_duration(took_us, obs, sizeof obs);
    bool ok = took_us <= limit_us;
    ar_vf_printf(&m, "%s: expected ≤ %s, observed %s", name, lim, obs);
    /* Rounding can print a failing value the same as its limit. */
    if (!ok && strcmp(lim, obs) == 0)
        ar_vf_printf(&m, " (%lldus > %lldus)", (long long)took_us, (long long)limit_us);
    ar_vf_add(out, name, ok, &m);
}

void ar_val_latency(const ar_expect_latency *e, const ar_turn_obs *o, ar_checks *out)
{
    if (!e->present) return;
    if (e->first_event_us >= 0)
        check_limit("latency.first_event", e->first_event_us, o->n_events ? o->events[0] : NULL,
                    "no event", o, out);
    if (e->first_tool_us >= 0) {
        const ar_event *tool = NULL;
        for (size_t i = 0; i < o->n_events && !tool; i++)
            if (o->events[i]->kind == AR_EV_TOOL_EXECUTING) tool = o->events[i];
        check_limit("latency.first_tool", e->first_tool_us, tool, "no tool_executing", o, out);
    }
    if (e->turn_us >= 0)
        check_limit("latency.turn", e->turn_us, o->terminal,
                    "no terminal event (the turn did not complete)", o, out);
}
