/*
 * context.c - expect.context: does the service keep the conversation's
 * context across turns?
 *
 * same: a field (thread_id, agent, run_id, parent_run_id, tool, call_id, or a
 *   JSON pointer such as /payload/thread_id evaluated on every raw frame) must
 *   keep the value it had in the first earlier event that carried it: every
 *   event of this turn that carries the field must carry that value. No
 *   earlier value fails (nothing to compare with), and so does a turn in which
 *   no event carries the field at all: a thread id that silently disappears
 *   is exactly the regression this check exists for.
 * reappear: the value captured under a name must occur, as plain text, in
 *   this turn's response (the service remembered what it said or was told).
 */
#include "jsonptr.h"
#include "valfmt.h"
#include "validator.h"

#include <stdlib.h>
#include <string.h>

typedef enum {
    F_THREAD_ID = 0,
    F_AGENT,
    F_RUN_ID,
    F_PARENT_RUN_ID,
    F_TOOL,
    F_CALL_ID,
    F_POINTER,
    F_UNKNOWN
} field_id;

static const char *const field_names[] = {"thread_id",     "agent", "run_id",
                                          "parent_run_id", "tool",  "call_id"};

static field_id field_parse(const char *name)
{
    if (name[0] == '/') return F_POINTER;
    for (size_t i = 0; i < AR_ARRAY_LEN(field_names); i++)
        if (strcmp(name, field_names[i]) == 0) return (field_id)i;
    return F_UNKNOWN;
}

/*
 * The field's value in ev, or NULL when the event does not carry it. For a
 * pointer the value is an owned string (*owned = true): a JSON string as is,
 * anything else as compact JSON.
 */
static const char *field_value(const ar_event *ev, field_id f, const char *ptr, bool *owned)
{
    *owned = false;
    /* Only the service's frames say what the service kept, not agentrig's own. */
    if (ev->kind == AR_EV_FAULT || ev->kind == AR_EV_SENT) return NULL;
    switch (f) {
    case F_THREAD_ID:
        return ev->thread_id;
    case F_AGENT:
        return ev->agent;
    case F_RUN_ID:
        return ev->run_id;
    case F_PARENT_RUN_ID:
        return ev->parent_run_id;
    case F_TOOL:
        return ev->tool;
    case F_CALL_ID:
        return ev->call_id;
    case F_POINTER:
        break;
    default:
        return NULL;
    }
    if (!ev->raw || ev->raw_binary || ev->raw_truncated) return NULL;
    cJSON *root = cJSON_Parse(ev->raw);
    if (!root) return NULL;
    const cJSON *v = ar_json_pointer_get(root, ptr);
    char *s = NULL;
    if (cJSON_IsString(v))
        s = ar_strdup(v->valuestring);
    else if (v && !cJSON_IsNull(v))
        s = cJSON_PrintUnformatted(v);
    cJSON_Delete(root);
    /* cJSON_PrintUnformatted uses the default allocator, so free() is right. */
    *owned = s != NULL;
    return s;
}

static void check_same(const char *field, const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg m;
    ar_vf_init(&m);
    field_id f = field_parse(field);
    if (f == F_UNKNOWN) {
        ar_vf_printf(&m, "context.same: unknown field '");
        ar_vf_text(&m, field, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, "' (expected thread_id, agent, run_id, parent_run_id, tool, call_id or "
                         "a JSON pointer such as /payload/thread_id)");
        ar_vf_add(out, "context.same", false, &m);
        return;
    }
    char *ref = NULL;
    uint32_t ref_turn = 0;
    for (size_t i = 0; i < o->n_prev_events && !ref; i++) {
        bool owned;
        const char *v = field_value(o->prev_events[i], f, field, &owned);
        if (v) {
            ref = owned ? (char *)v : ar_strdup(v);
            ref_turn = o->prev_events[i]->turn;
        }
    }
    if (!ref) {
        ar_vf_printf(&m, "context.same: no earlier turn carried ");
        ar_vf_text(&m, field, AR_VF_ITEM_MAX);
        ar_vf_add(out, "context.same", false, &m);
        return;
    }
    size_t carried = 0, differ = 0, first = 0;
    char *first_val = NULL;
    for (size_t i = 0; i < o->n_events; i++) {
        bool owned;
        const char *v = field_value(o->events[i], f, field, &owned);
        if (!v) continue;
        carried++;
        if (strcmp(v, ref) != 0 && differ++ == 0) {
            first = i;
            first_val = ar_strdup(v);
        }
        if (owned) free((char *)v);
    }
    ar_vf_printf(&m, "context.same: ");
    ar_vf_text(&m, field, AR_VF_ITEM_MAX);
    if (carried == 0) {
        ar_vf_printf(&m, " expected ");
        ar_vf_quote(&m, ref, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " (as in turn %u), observed no event of this turn carrying it", ref_turn);
    } else if (differ == 0) {
        ar_vf_printf(&m, " stayed ");
        ar_vf_quote(&m, ref, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " (%zu event(s) of this turn)", carried);
    } else {
        ar_vf_printf(&m, " expected ");
        ar_vf_quote(&m, ref, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " (as in turn %u), observed ", ref_turn);
        ar_vf_quote(&m, first_val, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " at index %zu (%s); %zu of %zu event(s) differ", first,
                     ar_ev_kind_name(o->events[first]->kind), differ, carried);
    }
    ar_vf_add(out, "context.same", carried > 0 && differ == 0, &m);
    free(first_val);
    free(ref);
}

static void check_reappear(const char *name, const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg m;
    ar_vf_init(&m);
    const char *val = o->vars ? ar_vars_get(o->vars, name) : NULL;
    bool ok = false;
    if (!val) {
        ar_vf_printf(&m, "context.reappear: unknown capture '");
        ar_vf_text(&m, name, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, "' (no earlier turn captured it)");
    } else if (!o->response) {
        ar_vf_printf(&m, "context.reappear: %s; expected capture ",
                     o->terminal ? "no response text (the turn completed, but its terminal event "
                                   "carried none)"
                                 : "no response (the turn did not complete)");
        ar_vf_text(&m, name, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " ");
        ar_vf_quote(&m, val, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " to reappear");
    } else if (strstr(o->response, val)) {
        ok = true;
        ar_vf_printf(&m, "context.reappear: ");
        ar_vf_text(&m, name, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " ");
        ar_vf_quote(&m, val, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " found in the response");
    } else {
        ar_vf_printf(&m, "context.reappear: expected capture ");
        ar_vf_text(&m, name, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " ");
        ar_vf_quote(&m, val, AR_VF_ITEM_MAX);
        ar_vf_printf(&m, " to reappear in the response, it did not; response: ");
        ar_vf_quote(&m, o->response, AR_VF_QUOTE_MAX);
    }
    ar_vf_add(out, "context.reappear", ok, &m);
}

void ar_val_context(const ar_expect_context *e, const ar_turn_obs *o, ar_checks *out)
{
    if (!e->present) return;
    for (size_t i = 0; i < e->n_same; i++)
        check_same(e->same[i], o, out);
    for (size_t i = 0; i < e->n_reappear; i++)
        check_reappear(e->reappear[i], o, out);
}
