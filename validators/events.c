/*
 * events.c - expect.events: the shape of the event stream of one turn.
 *
 * Order modes (docs/scenarios.md repeats these definitions):
 *   strict      - the observed kinds, after dropping every kind that does not
 *                 appear anywhere in the expected list, equal the expected
 *                 list exactly. Kinds the scenario does not mention (usually
 *                 agent_thinking) are noise a service may emit any number of
 *                 times, so an exact match over all kinds would be brittle.
 *   subsequence - the expected kinds appear in that order, not necessarily
 *                 next to each other.
 *   contains    - every expected kind appears at least as many times as it is
 *                 listed, in any order.
 * count: per kind, min/max occurrences (-1 = unbounded).
 * tools_paired: every tool_executing has exactly one later tool_completed with
 *   the same call id, and no tool_completed comes without an earlier
 *   tool_executing; a tool_executing without a call id cannot be paired.
 * nothing_after_terminal: no event follows the terminal event (a turn with no
 *   terminal event fails it), and no event of the turn's runs arrives later,
 *   during a later turn (the judge attributes those by run id).
 * forbidden: none of these kinds appear (one check per kind).
 */
#include "valfmt.h"
#include "validator.h"

#include <stdlib.h>
#include <string.h>

/* Problems listed in detail before "and N more". */
#define PAIR_PROBLEMS_SHOWN 6
/* Offending events listed by events.forbidden before "and N more". */
#define FORBIDDEN_SHOWN 5

static void check_order(const ar_expect_events *e, const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg m;
    ar_vf_init(&m);
    const char *mode = ar_order_mode_name(e->mode);
    ar_ev_kind *obs = malloc((o->n_events ? o->n_events : 1) * sizeof *obs);
    if (!obs) {
        ar_vf_printf(&m, "events.order (%s): out of memory", mode);
        ar_vf_add(out, "events.order", false, &m);
        return;
    }
    size_t n_obs = 0;
    bool ok = false;

    if (e->mode == AR_ORDER_STRICT) {
        for (size_t i = 0; i < o->n_events; i++) {
            bool listed = false;
            for (size_t k = 0; k < e->n_order && !listed; k++)
                listed = e->order[k] == o->events[i]->kind;
            if (listed) obs[n_obs++] = o->events[i]->kind;
        }
        size_t diff = 0;
        while (diff < n_obs && diff < e->n_order && obs[diff] == e->order[diff])
            diff++;
        ok = n_obs == e->n_order && diff == n_obs;
        if (ok) {
            ar_vf_printf(&m, "events.order (strict): ");
            ar_vf_kinds(&m, e->order, e->n_order, false);
            ar_vf_printf(&m, " observed");
        } else {
            ar_vf_printf(&m, "events.order (strict): expected ");
            ar_vf_kinds(&m, e->order, e->n_order, false);
            ar_vf_printf(&m, ", observed ");
            ar_vf_kinds(&m, obs, n_obs, false);
            ar_vf_printf(&m,
                         "; first difference at position %zu (kinds not in the expected "
                         "list are ignored)",
                         diff + 1);
        }
    } else if (e->mode == AR_ORDER_SUBSEQUENCE) {
        for (size_t i = 0; i < o->n_events; i++)
            obs[n_obs++] = o->events[i]->kind;
        size_t k = 0;
        for (size_t i = 0; i < n_obs && k < e->n_order; i++)
            if (obs[i] == e->order[k]) k++;
        ok = k == e->n_order;
        if (ok) {
            ar_vf_printf(&m, "events.order (subsequence): ");
            ar_vf_kinds(&m, e->order, e->n_order, false);
            ar_vf_printf(&m, " observed in order");
        } else {
            ar_vf_printf(&m, "events.order (subsequence): expected ");
            ar_vf_kinds(&m, e->order, e->n_order, false);
            ar_vf_printf(&m, " in order, observed ");
            ar_vf_kinds(&m, obs, n_obs, true);
            ar_vf_printf(&m,
                         "; no %s at position %zu of the expected list or after the ones "
                         "matched",
                         ar_ev_kind_name(e->order[k]), k + 1);
        }
    } else {
        size_t want[AR_EV__COUNT] = {0}, got[AR_EV__COUNT] = {0};
        for (size_t k = 0; k < e->n_order; k++)
            if ((unsigned)e->order[k] < AR_EV__COUNT) want[e->order[k]]++;
        for (size_t i = 0; i < o->n_events; i++) {
            obs[n_obs++] = o->events[i]->kind;
            if ((unsigned)o->events[i]->kind < AR_EV__COUNT) got[o->events[i]->kind]++;
        }
        ok = true;
        for (int kd = 0; kd < AR_EV__COUNT; kd++)
            if (got[kd] < want[kd]) ok = false;
        if (ok) {
            ar_vf_printf(&m, "events.order (contains): ");
            ar_vf_kinds(&m, e->order, e->n_order, false);
            ar_vf_printf(&m, " all observed");
        } else {
            ar_vf_printf(&m, "events.order (contains): expected ");
            ar_vf_kinds(&m, e->order, e->n_order, false);
            ar_vf_printf(&m, ", observed ");
            ar_vf_kinds(&m, obs, n_obs, true);
            ar_vf_printf(&m, "; missing");
            bool first = true;
            for (int kd = 0; kd < AR_EV__COUNT; kd++)
                if (got[kd] < want[kd]) {
                    ar_vf_printf(&m, "%s %s (expected %zu, observed %zu)", first ? "" : ",",
                                 ar_ev_kind_name((ar_ev_kind)kd), want[kd], got[kd]);
                    first = false;
                }
        }
    }
    free(obs);
    ar_vf_add(out, "events.order", ok, &m);
}

static void vf_bounds(ar_vf_msg *m, int min, int max)
{
    if (min >= 0 && max >= 0 && min == max)
        ar_vf_printf(m, "exactly %d", min);
    else if (min >= 0 && max >= 0)
        ar_vf_printf(m, "%d..%d", min, max);
    else if (min >= 0)
        ar_vf_printf(m, "at least %d", min);
    else if (max >= 0)
        ar_vf_printf(m, "at most %d", max);
    else
        ar_vf_printf(m, "any number");
}

static void check_counts(const ar_expect_events *e, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t r = 0; r < e->n_counts; r++) {
        const ar_count_rule *c = &e->counts[r];
        size_t got = 0;
        for (size_t i = 0; i < o->n_events; i++)
            if (o->events[i]->kind == c->kind) got++;
        bool ok = (c->min < 0 || got >= (size_t)c->min) && (c->max < 0 || got <= (size_t)c->max);
        ar_vf_msg m;
        ar_vf_init(&m);
        ar_vf_printf(&m, "events.count: %s expected ", ar_ev_kind_name(c->kind));
        vf_bounds(&m, c->min, c->max);
        ar_vf_printf(&m, ", observed %zu", got);
        ar_vf_add(out, "events.count", ok, &m);
    }
}

/* Appends "call c1 (cost_db)" for a tool event. */
static void vf_call(ar_vf_msg *m, const ar_event *ev)
{
    ar_vf_printf(m, "call ");
    ar_vf_text(m, ev->call_id, AR_VF_ITEM_MAX);
    ar_vf_printf(m, " (");
    ar_vf_text(m, ev->tool, AR_VF_ITEM_MAX);
    ar_vf_printf(m, ")");
}

static bool same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Does execution ex belong to the same call as completion ev? By call id;
 * on a wire that carries none (netra), a call is its tool and its order:
 * an execution without a call id pairs with a completion without one, of
 * the same tool, first open first. */
static bool same_call(const ar_event *ex, const ar_event *ev)
{
    if (ev->call_id) return same_str(ex->call_id, ev->call_id);
    return !ex->call_id && same_str(ex->tool, ev->tool);
}

static void check_paired(const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg m;
    ar_vf_init(&m);
    size_t n = o->n_events;
    /* completions[i]: how many tool_completed were paired with event i. */
    size_t *completions = calloc(n ? n : 1, sizeof *completions);
    if (!completions) {
        ar_vf_printf(&m, "events.tools_paired: out of memory");
        ar_vf_add(out, "events.tools_paired", false, &m);
        return;
    }
    ar_vf_msg probs;
    ar_vf_init(&probs);
    size_t n_probs = 0, n_calls = 0;

    for (size_t i = 0; i < n; i++) {
        const ar_event *ev = o->events[i];
        if (ev->kind == AR_EV_TOOL_EXECUTING) n_calls++;
        if (ev->kind != AR_EV_TOOL_COMPLETED) continue;
        /* Pair with the earliest still-open execution of this call id; if
         * every one is already completed, this is a second completion. */
        size_t open = n, done = n;
        for (size_t k = 0; k < i; k++) {
            const ar_event *ex = o->events[k];
            if (ex->kind != AR_EV_TOOL_EXECUTING || !same_call(ex, ev)) continue;
            if (completions[k] == 0 && open == n)
                open = k;
            else if (completions[k] > 0 && done == n)
                done = k;
        }
        const char *problem = NULL;
        if (open < n)
            completions[open]++;
        else if (done < n) {
            completions[done]++;
            problem = "completed more than once";
        } else if (!ev->call_id && !ev->tool) {
            problem = "tool_completed without a call id or a tool name";
        } else {
            problem = "tool_completed without an earlier tool_executing";
        }
        if (problem) {
            if (n_probs < PAIR_PROBLEMS_SHOWN) {
                ar_vf_printf(&probs, "%s", n_probs ? "; " : "");
                vf_call(&probs, ev);
                ar_vf_printf(&probs, " %s at index %zu", problem, i);
            }
            n_probs++;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const ar_event *ex = o->events[k];
        if (ex->kind != AR_EV_TOOL_EXECUTING || completions[k] > 0) continue;
        if (n_probs < PAIR_PROBLEMS_SHOWN) {
            ar_vf_printf(&probs, "%s", n_probs ? "; " : "");
            vf_call(&probs, ex);
            ar_vf_printf(&probs, " %s at index %zu",
                         ex->call_id || ex->tool ? "tool_executing never completed"
                                                 : "tool_executing without a call id or a tool name",
                         k);
        }
        n_probs++;
    }
    free(completions);

    if (n_probs == 0) {
        ar_vf_printf(&m, "events.tools_paired: %zu tool call(s), each completed exactly once",
                     n_calls);
    } else {
        ar_vf_printf(&m,
                     "events.tools_paired: expected each tool_executing to have one later "
                     "tool_completed with its call id, observed %zu problem(s): %s",
                     n_probs, probs.s);
        if (n_probs > PAIR_PROBLEMS_SHOWN)
            ar_vf_printf(&m, "; and %zu more", n_probs - PAIR_PROBLEMS_SHOWN);
    }
    ar_vf_add(out, "events.tools_paired", n_probs == 0, &m);
}

static void check_after_terminal(const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg m;
    ar_vf_init(&m);
    if (!o->terminal) {
        ar_vf_printf(&m, "events.nothing_after_terminal: the turn had no terminal event");
        ar_vf_add(out, "events.nothing_after_terminal", false, &m);
        return;
    }
    size_t at = o->n_events;
    for (size_t i = 0; i < o->n_events; i++)
        if (o->events[i] == o->terminal) {
            at = i;
            break;
        }
    if (at == o->n_events) {
        ar_vf_printf(&m, "events.nothing_after_terminal: the terminal event is not among the "
                         "turn's events");
        ar_vf_add(out, "events.nothing_after_terminal", false, &m);
        return;
    }
    size_t after = o->n_events - at - 1;
    const char *tk = ar_ev_kind_name(o->terminal->kind);
    if (after == 0 && o->n_late_events == 0) {
        ar_vf_printf(&m, "events.nothing_after_terminal: %s (index %zu) was the last event", tk,
                     at);
        ar_vf_add(out, "events.nothing_after_terminal", true, &m);
        return;
    }
    if (after == 0) {
        /* Late events of this turn's runs, recorded during a later turn. */
        const ar_event *late = o->late_events[0];
        ar_vf_printf(&m,
                     "events.nothing_after_terminal: expected nothing after the terminal %s, "
                     "observed %zu event(s) of this turn's run(s) later, during turn %u: first %s",
                     tk, o->n_late_events, late->turn, ar_ev_kind_name(late->kind));
        if (late->run_id) {
            ar_vf_printf(&m, " of run ");
            ar_vf_text(&m, late->run_id, AR_VF_ITEM_MAX);
        }
        ar_vf_add(out, "events.nothing_after_terminal", false, &m);
        return;
    }
    ar_ev_kind kinds[AR_VF_LIST_MAX + 1];
    size_t nk = after < AR_ARRAY_LEN(kinds) ? after : AR_ARRAY_LEN(kinds);
    for (size_t i = 0; i < nk; i++)
        kinds[i] = o->events[at + 1 + i]->kind;
    ar_vf_printf(&m,
                 "events.nothing_after_terminal: expected nothing after the terminal %s "
                 "(index %zu), observed %zu event(s) after it: ",
                 tk, at, after);
    ar_vf_kinds(&m, kinds, nk, false);
    if (after > nk) ar_vf_printf(&m, " and %zu more", after - nk);
    if (o->n_late_events)
        ar_vf_printf(&m, "; and %zu more of its run(s) during later turns", o->n_late_events);
    ar_vf_add(out, "events.nothing_after_terminal", false, &m);
}

static void check_forbidden(const ar_expect_events *e, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t f = 0; f < e->n_forbidden; f++) {
        ar_ev_kind kind = e->forbidden[f];
        const char *kn = ar_ev_kind_name(kind);
        ar_vf_msg where;
        ar_vf_init(&where);
        size_t hits = 0;
        for (size_t i = 0; i < o->n_events; i++) {
            const ar_event *ev = o->events[i];
            if (ev->kind != kind) continue;
            if (hits < FORBIDDEN_SHOWN) {
                ar_vf_printf(&where, "%sindex %zu (agent ", hits ? ", " : "", i);
                ar_vf_text(&where, ev->agent, AR_VF_ITEM_MAX);
                if (ev->text && (kind == AR_EV_ERROR || ev->decode_error)) {
                    ar_vf_printf(&where, ": ");
                    ar_vf_quote(&where, ev->text, 80);
                }
                ar_vf_printf(&where, ")");
            }
            hits++;
        }
        ar_vf_msg m;
        ar_vf_init(&m);
        if (hits == 0) {
            ar_vf_printf(&m, "events.forbidden: no %s events", kn);
        } else {
            ar_vf_printf(&m, "events.forbidden: expected no %s events, observed %zu at %s", kn,
                         hits, where.s);
            if (hits > FORBIDDEN_SHOWN) ar_vf_printf(&m, " and %zu more", hits - FORBIDDEN_SHOWN);
        }
        ar_vf_add(out, "events.forbidden", hits == 0, &m);
    }
}

void ar_val_events(const ar_expect_events *e, const ar_turn_obs *o, ar_checks *out)
{
    if (!e->present) return;
    if (e->n_order > 0) check_order(e, o, out);
    check_counts(e, o, out);
    if (e->tools_paired) check_paired(o, out);
    if (e->nothing_after_terminal) check_after_terminal(o, out);
    check_forbidden(e, o, out);
}
