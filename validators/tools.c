/*
 * tools.c - expect.tools: which tools ran and how they ended.
 *
 * A tool "was called" when a tool_executing names it; its outcome is the
 * status of its tool_completed. tools.status looks at the LAST completion of
 * the tool, because a service that retries after a failure should be judged
 * on where it ended up; tools.all_ok is the stricter "every call completed
 * and said ok" (a completion without a decoded status is unknown, not ok).
 * tools.args lives in tool_args.c.
 */
#include "valfmt.h"
#include "validator.h"

#include <string.h>

/* Completions listed by tools.all_ok before "and N more". */
#define NOT_OK_SHOWN 5

static bool tool_is(const ar_event *ev, const char *tool)
{
    return ev->tool && strcmp(ev->tool, tool) == 0;
}

static const char *status_name(ar_ev_status st)
{
    return st == AR_ST_NONE ? "unknown (no status decoded from the wire)" : ar_ev_status_name(st);
}

/* Appends the distinct tools that had a tool_executing: "[a, b]". */
static void vf_called(ar_vf_msg *m, const ar_turn_obs *o)
{
    const char *names[AR_VF_LIST_MAX + 1];
    size_t n = 0;
    bool more = false;
    for (size_t i = 0; i < o->n_events; i++) {
        const ar_event *ev = o->events[i];
        if (ev->kind != AR_EV_TOOL_EXECUTING) continue;
        const char *t = ev->tool ? ev->tool : "(none)";
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(names[k], t) == 0;
        if (seen) continue;
        if (n == AR_VF_LIST_MAX) {
            more = true;
            break;
        }
        names[n++] = t;
    }
    if (more) names[n++] = "...";
    ar_vf_strs(m, names, n);
}

static void check_called(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t t = 0; t < e->n_called; t++) {
        size_t hits = 0;
        for (size_t i = 0; i < o->n_events; i++)
            if (o->events[i]->kind == AR_EV_TOOL_EXECUTING && tool_is(o->events[i], e->called[t]))
                hits++;
        ar_vf_msg m;
        ar_vf_init(&m);
        if (hits) {
            ar_vf_printf(&m, "tools.called: ");
            ar_vf_text(&m, e->called[t], AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " called (%zu tool_executing)", hits);
        } else {
            ar_vf_printf(&m, "tools.called: expected ");
            ar_vf_text(&m, e->called[t], AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " to be called, it was not; called: ");
            vf_called(&m, o);
        }
        ar_vf_add(out, "tools.called", hits > 0, &m);
        ar_checks_set_subject(out, e->called[t]);
    }
}

static void check_not_called(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t t = 0; t < e->n_not_called; t++) {
        size_t hits = 0, first = 0;
        for (size_t i = 0; i < o->n_events; i++) {
            if (o->events[i]->kind != AR_EV_TOOL_EXECUTING ||
                !tool_is(o->events[i], e->not_called[t]))
                continue;
            if (hits++ == 0) first = i;
        }
        ar_vf_msg m;
        ar_vf_init(&m);
        if (hits == 0) {
            ar_vf_printf(&m, "tools.not_called: ");
            ar_vf_text(&m, e->not_called[t], AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " not called");
        } else {
            ar_vf_printf(&m, "tools.not_called: expected ");
            ar_vf_text(&m, e->not_called[t], AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " not to be called, observed %zu tool_executing (first at index %zu)",
                         hits, first);
        }
        ar_vf_add(out, "tools.not_called", hits == 0, &m);
        ar_checks_set_subject(out, e->not_called[t]);
    }
}

/* Is there a tool_completed for this tool_executing? By call id when the
 * call has one; otherwise the k-th call of a tool pairs with its k-th
 * completion. */
static bool completed(const ar_turn_obs *o, size_t exec_i)
{
    const ar_event *x = o->events[exec_i];
    if (x->call_id) {
        for (size_t i = 0; i < o->n_events; i++) {
            const ar_event *c = o->events[i];
            if (c->kind == AR_EV_TOOL_COMPLETED && c->call_id && !strcmp(c->call_id, x->call_id))
                return true;
        }
        return false;
    }
    size_t nth = 0, done = 0;
    for (size_t i = 0; i < o->n_events; i++) {
        const ar_event *c = o->events[i];
        if (!x->tool || !tool_is(c, x->tool)) continue;
        if (c->kind == AR_EV_TOOL_EXECUTING && i < exec_i) nth++;
        if (c->kind == AR_EV_TOOL_COMPLETED) done++;
    }
    return done > nth;
}

/*
 * Strict: at least one tool ran, every call has its completion, and every
 * completion says ok. A completion without a decoded status is unknown, not
 * ok, and a call whose result never came is not "all ok": a protocol that
 * does not carry tool status can never pass this check, which is the truth.
 */
static void check_all_ok(const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg bad;
    ar_vf_init(&bad);
    size_t n_exec = 0, n_done = 0, n_bad = 0;
    for (size_t i = 0; i < o->n_events; i++) {
        const ar_event *ev = o->events[i];
        const char *why = NULL;
        if (ev->kind == AR_EV_TOOL_EXECUTING) {
            n_exec++;
            if (!completed(o, i)) why = "never completed";
        } else if (ev->kind == AR_EV_TOOL_COMPLETED) {
            n_done++;
            if (ev->status != AR_ST_OK) why = status_name(ev->status);
        }
        if (!why) continue;
        if (n_bad < NOT_OK_SHOWN) {
            ar_vf_printf(&bad, "%s", n_bad ? ", " : "");
            ar_vf_text(&bad, ev->tool, AR_VF_ITEM_MAX);
            ar_vf_printf(&bad, " (call ");
            ar_vf_text(&bad, ev->call_id, AR_VF_ITEM_MAX);
            ar_vf_printf(&bad, ") %s", why);
        }
        n_bad++;
    }
    ar_vf_msg m;
    ar_vf_init(&m);
    if (n_exec == 0 && n_done == 0) {
        ar_vf_printf(&m, "tools.all_ok: nothing to check: no tool_executing or tool_completed "
                         "in this turn");
    } else if (n_bad == 0) {
        ar_vf_printf(&m, "tools.all_ok: %zu call(s), %zu tool_completed, all ok", n_exec, n_done);
    } else {
        ar_vf_printf(&m,
                     "tools.all_ok: expected every call to complete with status ok, observed "
                     "%zu problem(s) in %zu call(s) and %zu tool_completed: %s",
                     n_bad, n_exec, n_done, bad.s);
        if (n_bad > NOT_OK_SHOWN) ar_vf_printf(&m, " and %zu more", n_bad - NOT_OK_SHOWN);
    }
    ar_vf_add(out, "tools.all_ok", n_bad == 0 && (n_exec || n_done), &m);
}

static void check_status(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t r = 0; r < e->n_status; r++) {
        const ar_tool_status_rule *rule = &e->status[r];
        const ar_event *last = NULL;
        size_t n_done = 0;
        for (size_t i = 0; i < o->n_events; i++)
            if (o->events[i]->kind == AR_EV_TOOL_COMPLETED && tool_is(o->events[i], rule->tool)) {
                last = o->events[i];
                n_done++;
            }
        bool ok = last && last->status == rule->status;
        ar_vf_msg m;
        ar_vf_init(&m);
        if (!last) {
            ar_vf_printf(&m, "tools.status: expected ");
            ar_vf_text(&m, rule->tool, AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " to complete with status %s, it never completed",
                         status_name(rule->status));
        } else if (ok) {
            ar_vf_printf(&m, "tools.status: ");
            ar_vf_text(&m, rule->tool, AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " last completed with status %s (%zu completion(s))",
                         status_name(last->status), n_done);
        } else {
            ar_vf_printf(&m, "tools.status: expected ");
            ar_vf_text(&m, rule->tool, AR_VF_ITEM_MAX);
            ar_vf_printf(&m,
                         " to end with status %s, observed %s (last of %zu completion(s), call ",
                         status_name(rule->status), status_name(last->status), n_done);
            ar_vf_text(&m, last->call_id, AR_VF_ITEM_MAX);
            ar_vf_printf(&m, ")");
        }
        ar_vf_add(out, "tools.status", ok, &m);
        ar_checks_set_subject(out, rule->tool);
    }
}

void ar_val_tools(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out)
{
    if (!e->present) return;
    check_called(e, o, out);
    check_not_called(e, o, out);
    if (e->all_ok) check_all_ok(o, out);
    check_status(e, o, out);
    ar_val_tool_args(e, o, out);
}
