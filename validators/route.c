/*
 * route.c - expect.route: the agent handoff path of a turn, i.e. the agent
 * names of its agent_started events, in arrival order.
 *
 * Modes follow agentevals' trajectory match, plus subsequence:
 *   strict      - the observed path equals the expected one exactly;
 *   unordered   - the same agents the same number of times, any order;
 *   subset      - every observed agent is in the expected list (observed is
 *                 a subset of expected: no agent outside the plan ran);
 *   superset    - every expected agent was observed (others may run too);
 *   subsequence - the expected agents appear in that order (the default).
 * An agent_started without an agent name counts as "(none)".
 */
#include "valfmt.h"
#include "validator.h"

#include <stdlib.h>
#include <string.h>

static const char *agent_name(const ar_event *ev)
{
    return ev->agent ? ev->agent : "(none)";
}

static bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static bool in_list(const char *s, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (streq(s, list[i])) return true;
    return false;
}

/* Appends "; <label> a, b" listing names (with repeats) when there are any. */
static void vf_names(ar_vf_msg *m, const char *label, const char *const *names, size_t n)
{
    if (n == 0) return;
    ar_vf_printf(m, "; %s ", label);
    for (size_t i = 0; i < n; i++) {
        if (i == AR_VF_LIST_MAX) {
            ar_vf_printf(m, ", ... (+%zu more)", n - i);
            break;
        }
        ar_vf_printf(m, "%s", i ? ", " : "");
        ar_vf_text(m, names[i], AR_VF_ITEM_MAX);
    }
}

void ar_val_route(const ar_expect_route *e, const ar_turn_obs *o, ar_checks *out)
{
    if (!e->present) return;
    const char *mode = ar_route_mode_name(e->mode);
    ar_vf_msg m;
    ar_vf_init(&m);
    size_t cap = o->n_events + e->n_agents + 1;
    const char **obs = malloc(cap * sizeof *obs);
    const char **missing = malloc(cap * sizeof *missing);
    const char **extra = malloc(cap * sizeof *extra);
    bool *used = calloc(cap, sizeof *used);
    if (!obs || !missing || !extra || !used) {
        free(obs);
        free(missing);
        free(extra);
        free(used);
        ar_vf_printf(&m, "route (%s): out of memory", mode);
        ar_vf_add(out, "route", false, &m);
        return;
    }
    size_t n_obs = 0, n_missing = 0, n_extra = 0;
    for (size_t i = 0; i < o->n_events; i++)
        if (o->events[i]->kind == AR_EV_AGENT_STARTED) obs[n_obs++] = agent_name(o->events[i]);

    bool ok = false;
    switch (e->mode) {
    case AR_ROUTE_STRICT:
        ok = n_obs == e->n_agents;
        for (size_t i = 0; ok && i < n_obs; i++)
            ok = streq(obs[i], e->agents[i]);
        break;
    case AR_ROUTE_UNORDERED:
        /* Multiset difference both ways: used[] marks observed entries
         * consumed by an expected one. */
        for (size_t k = 0; k < e->n_agents; k++) {
            bool found = false;
            for (size_t i = 0; i < n_obs && !found; i++)
                if (!used[i] && streq(obs[i], e->agents[k])) used[i] = found = true;
            if (!found) missing[n_missing++] = e->agents[k];
        }
        for (size_t i = 0; i < n_obs; i++)
            if (!used[i]) extra[n_extra++] = obs[i];
        ok = n_missing == 0 && n_extra == 0;
        break;
    case AR_ROUTE_SUBSET:
        for (size_t i = 0; i < n_obs; i++)
            if (!in_list(obs[i], e->agents, e->n_agents)) extra[n_extra++] = obs[i];
        ok = n_extra == 0;
        break;
    case AR_ROUTE_SUPERSET:
        for (size_t k = 0; k < e->n_agents; k++) {
            bool found = false;
            for (size_t i = 0; i < n_obs && !found; i++)
                found = streq(obs[i], e->agents[k]);
            if (!found) missing[n_missing++] = e->agents[k];
        }
        ok = n_missing == 0;
        break;
    case AR_ROUTE_SUBSEQUENCE:
    default: {
        size_t k = 0;
        for (size_t i = 0; i < n_obs && k < e->n_agents; i++)
            if (streq(obs[i], e->agents[k])) k++;
        ok = k == e->n_agents;
        for (size_t r = k; r < e->n_agents; r++)
            missing[n_missing++] = e->agents[r];
        break;
    }
    }

    if (ok) {
        ar_vf_printf(&m, "route (%s): ", mode);
        if (e->mode == AR_ROUTE_SUBSEQUENCE || e->mode == AR_ROUTE_SUPERSET) {
            ar_vf_strs(&m, (const char *const *)e->agents, e->n_agents);
            ar_vf_printf(&m, " observed in ");
        }
        ar_vf_strs(&m, obs, n_obs);
        if (e->mode != AR_ROUTE_SUBSEQUENCE && e->mode != AR_ROUTE_SUPERSET)
            ar_vf_printf(&m, " observed");
    } else {
        ar_vf_printf(&m, "route (%s): expected ", mode);
        ar_vf_strs(&m, (const char *const *)e->agents, e->n_agents);
        ar_vf_printf(&m, ", observed ");
        ar_vf_strs(&m, obs, n_obs);
        vf_names(&m, e->mode == AR_ROUTE_SUBSEQUENCE ? "not reached in order:" : "missing", missing,
                 n_missing);
        vf_names(&m, e->mode == AR_ROUTE_SUBSET ? "not in the expected list:" : "unexpected", extra,
                 n_extra);
    }
    ar_vf_add(out, "route", ok, &m);
    free(obs);
    free(missing);
    free(extra);
    free(used);
}
