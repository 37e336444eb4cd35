/*
 * tool_args.c - expect.tools.args and args_absent: what a tool call carried.
 *
 * The strongest context signal a multi-turn test has is a later turn's tool
 * call carrying a figure the user gave earlier (`args: {pricing: {spend_k:
 * 50}}`), and the strongest isolation signal is a fresh thread's call NOT
 * carrying it (`args_absent: {pricing: [spend]}`).
 *
 * A call's arguments are its tool_executing's `args`, or, for protocols that
 * stream them (AG-UI's TOOL_CALL_ARGS), the fragments with its call id joined
 * in arrival order. Arguments the wire did not carry are unknown: both checks
 * fail on them rather than guess, and both fail when the tool was not called
 * at all (nothing to check is not a pass).
 *
 * args is a subset match: every expected key must be present with an equal
 * value (objects recursively, arrays element by element); string values are
 * templates, and a template's text equals a number on the wire when it reads
 * as the same number (a captured "50" matches 50).
 */
#include "valfmt.h"
#include "validator.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX_BYTES (256u * 1024u)

/* The call's arguments as text, owned; NULL when the wire carried none. */
static char *call_args(const ar_turn_obs *o, const ar_event *exec)
{
    if (exec->args && !exec->args_delta) return ar_strdup(exec->args);
    if (!exec->call_id) return NULL;
    ar_buf b;
    ar_buf_init(&b, ARGS_MAX_BYTES);
    bool any = false;
    for (size_t i = 0; i < o->n_events; i++) {
        const ar_event *ev = o->events[i];
        if (ev->args_delta && ev->args && ev->call_id && !strcmp(ev->call_id, exec->call_id)) {
            ar_buf_puts(&b, ev->args);
            any = true;
        }
    }
    if (!any) {
        ar_buf_free(&b);
        return exec->args ? ar_strdup(exec->args) : NULL;
    }
    return ar_buf_take(&b);
}

static bool number_text_eq(const char *s, double d)
{
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == '\0' && fabs(v - d) <= 1e-9 * (fabs(d) > 1 ? fabs(d) : 1);
}

/* Is `want` (a template tree) a subset of `got`? why says where it is not. */
static bool subset(const cJSON *want, const cJSON *got, const ar_vars *vars, const char *path,
                   ar_vf_msg *why)
{
    if (cJSON_IsString(want)) {
        char *exp = NULL, err[256];
        if (ar_tpl_expand(want->valuestring, vars, AR_TPL_PLAIN, &exp, err, sizeof err)) {
            ar_vf_printf(why, "%s: %s", path, err);
            return false;
        }
        bool ok = (cJSON_IsString(got) && !strcmp(exp, got->valuestring)) ||
                  (cJSON_IsNumber(got) && number_text_eq(exp, got->valuedouble));
        if (!ok) {
            ar_vf_printf(why, "%s: expected ", path);
            ar_vf_quote(why, exp, AR_VF_ITEM_MAX);
        }
        free(exp);
        return ok;
    }
    if (cJSON_IsObject(want)) {
        if (!cJSON_IsObject(got)) {
            ar_vf_printf(why, "%s: expected an object", path);
            return false;
        }
        for (const cJSON *w = want->child; w; w = w->next) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s/%s", path, w->string);
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);
            if (!g) {
                ar_vf_printf(why, "%s: absent", sub);
                return false;
            }
            if (!subset(w, g, vars, sub, why)) return false;
        }
        return true;
    }
    if (cJSON_IsArray(want)) {
        if (!cJSON_IsArray(got) || cJSON_GetArraySize(got) != cJSON_GetArraySize(want)) {
            ar_vf_printf(why, "%s: expected an array of %d", path, cJSON_GetArraySize(want));
            return false;
        }
        const cJSON *g = got->child;
        int i = 0;
        for (const cJSON *w = want->child; w; w = w->next, g = g->next, i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s/%d", path, i);
            if (!subset(w, g, vars, sub, why)) return false;
        }
        return true;
    }
    if (cJSON_Compare(want, got, true)) return true;
    char *t = cJSON_PrintUnformatted(want);
    ar_vf_printf(why, "%s: expected %s", path, t ? t : "?");
    free(t);
    return false;
}

/* Appends "; observed <args>" (or that they were unknown) for one call. */
static void vf_observed(ar_vf_msg *m, const char *args)
{
    ar_vf_printf(m, "; observed ");
    if (args)
        ar_vf_text(m, args, AR_VF_QUOTE_MAX);
    else
        ar_vf_printf(m, "no arguments on the wire (unknown)");
}

static void check_rule(const ar_tool_args_rule *r, const ar_turn_obs *o, ar_checks *out)
{
    const char *name = r->subset ? "tools.args" : "tools.args_absent";
    ar_vf_msg m, last_why;
    ar_vf_init(&m);
    ar_vf_init(&last_why);
    size_t calls = 0, unknown = 0, matched = 0, carrying = 0;
    char *last = NULL;
    for (size_t i = 0; i < o->n_events; i++) {
        const ar_event *ev = o->events[i];
        if (ev->kind != AR_EV_TOOL_EXECUTING || !ev->tool || strcmp(ev->tool, r->tool)) continue;
        calls++;
        char *args = call_args(o, ev);
        cJSON *doc = args ? cJSON_Parse(args) : NULL;
        if (!doc) {
            unknown++;
        } else if (r->subset) {
            ar_vf_msg why;
            ar_vf_init(&why);
            if (subset(r->subset, doc, o->vars, "", &why)) {
                matched++;
            } else {
                ar_vf_init(&last_why);
                ar_vf_printf(&last_why, "%s", why.s);
            }
        } else {
            for (size_t k = 0; k < r->n_absent; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, r->absent[k]);
                if (v && !cJSON_IsNull(v)) { /* a null is no value: strict schemas send one */
                    carrying++;
                    ar_vf_init(&last_why);
                    ar_vf_printf(&last_why, "/%s present", r->absent[k]);
                    break;
                }
            }
        }
        cJSON_Delete(doc);
        free(last);
        last = args;
    }
    bool ok;
    ar_vf_printf(&m, "%s: ", name);
    if (calls == 0) {
        ok = false;
        ar_vf_printf(&m, "nothing to check: ");
        ar_vf_text(&m, r->tool, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " was not called in this turn");
    } else if (r->subset) {
        ok = matched > 0;
        char *want = cJSON_PrintUnformatted(r->subset);
        if (ok) {
            ar_vf_text(&m, r->tool, AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " called with %s (%zu of %zu call(s))", want ? want : "?", matched,
                         calls);
        } else {
            ar_vf_printf(&m, "expected a call of ");
            ar_vf_text(&m, r->tool, AR_VF_ITEM_MAX);
            ar_vf_printf(&m, " with %s", want ? want : "?");
            if (last_why.s[0]) ar_vf_printf(&m, " (%s)", last_why.s);
            vf_observed(&m, last);
        }
        free(want);
    } else {
        ok = carrying == 0 && unknown == 0;
        ar_vf_text(&m, r->tool, AR_VF_ITEM_MAX);
        if (ok) {
            ar_vf_printf(&m, ": none of %zu call(s) carried", calls);
        } else if (carrying) {
            ar_vf_printf(&m, ": expected no call to carry");
        } else {
            ar_vf_printf(&m, ": cannot tell (arguments unknown) whether its calls carried");
        }
        for (size_t k = 0; k < r->n_absent; k++)
            ar_vf_printf(&m, "%s%s", k ? ", " : " ", r->absent[k]);
        if (!ok) {
            if (carrying) ar_vf_printf(&m, " (%s)", last_why.s);
            vf_observed(&m, last);
        }
    }
    free(last);
    ar_vf_add(out, name, ok, &m);
    ar_checks_set_subject(out, r->tool);
}

void ar_val_tool_args(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t i = 0; i < e->n_args; i++)
        check_rule(&e->args[i], o, out);
}
