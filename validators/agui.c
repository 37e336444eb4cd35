/*
 * agui.c - the AG-UI ordering rules (agui.h lists them).
 *
 * The rules follow @ag-ui/client's verifyEvents, the check every AG-UI front
 * end runs on its stream, with two deliberate differences: a turn is one run,
 * so a RUN_STARTED after RUN_FINISHED is a violation here rather than a new
 * run; and a messageId or toolCallId may be started only once, because ids
 * name one message and a front end that sees an id again merges two messages.
 *
 * Every violation is reported, not only the first, so one run of a broken
 * peer shows everything that is wrong with it; the count of checks is capped
 * and each message is bounded (valfmt.h), since the stream is network-fed.
 */
#include "agui.h"

#include "valfmt.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NAME "protocol.ag-ui"

/* Things that open and close. */
typedef enum {
    C_TEXT = 0,
    C_TOOL,
    C_REASONING_MSG,
    C_REASONING,
    C_STEP,
    C_THINKING,
    C_THINKING_MSG,
    C__COUNT
} cls;

typedef struct {
    const char *start;
    const char *mid; /* the streamed part (CONTENT/ARGS), or NULL */
    const char *end;
    const char *id_field; /* NULL: the deprecated THINKING_* events carry no id */
    const char *label;    /* for "still open" lists */
    bool once;            /* an id may be started only once (else: again after it closed) */
} cls_def;

static const cls_def CLS[C__COUNT] = {
    [C_TEXT] = {"TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "messageId",
                "text message", true},
    [C_TOOL] = {"TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "toolCallId", "tool call",
                true},
    [C_REASONING_MSG] = {"REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT",
                         "REASONING_MESSAGE_END", "messageId", "reasoning message", true},
    [C_REASONING] = {"REASONING_START", NULL, "REASONING_END", "messageId", "reasoning", true},
    [C_STEP] = {"STEP_STARTED", NULL, "STEP_FINISHED", "stepName", "step", false},
    [C_THINKING] = {"THINKING_START", NULL, "THINKING_END", NULL, "thinking", false},
    [C_THINKING_MSG] = {"THINKING_TEXT_MESSAGE_START", "THINKING_TEXT_MESSAGE_CONTENT",
                        "THINKING_TEXT_MESSAGE_END", NULL, "thinking message", false},
};

typedef enum { P_START, P_MID, P_END } phase;

/* One id of one class: where it started and, once closed, where it ended. */
typedef struct {
    cls c;
    char *id; /* owned; "" for the id-less THINKING_* events */
    size_t start_at;
    bool open;
    size_t end_at;
} item;

typedef struct {
    ar_checks *out;
    item *items;
    size_t n_items, cap_items;
    size_t n_violations;
    ar_vf_msg last; /* the last violation shown, held back to append "+N more" */
    bool have_last;
    size_t n_checked;
    bool seen_first;
    bool run_started;
    size_t run_started_at;
    const char *run_end_type; /* RUN_FINISHED / RUN_ERROR once the run ended */
    size_t run_end_at;
} state;

static void violation(state *s, const ar_vf_msg *m)
{
    s->n_violations++;
    if (s->n_violations > AR_VAL_AGUI_SHOWN) return;
    if (s->have_last) ar_vf_add(s->out, CHECK_NAME, false, &s->last);
    s->last = *m;
    s->have_last = true;
}

/* Starts a message "protocol.ag-ui: TYPE (idField id) at index i". */
static void msg_event(ar_vf_msg *m, const char *type, const char *id_field, const char *id,
                      size_t at)
{
    ar_vf_init(m);
    ar_vf_printf(m, CHECK_NAME ": %s", type);
    if (id_field && id) {
        ar_vf_printf(m, " (%s ", id_field);
        ar_vf_text(m, id, AR_VF_ITEM_MAX);
        ar_vf_printf(m, ")");
    }
    ar_vf_printf(m, " at index %zu", at);
}

static item *find(state *s, cls c, const char *id)
{
    /* Latest first: a step name that ran twice is judged by its last run. */
    for (size_t i = s->n_items; i-- > 0;)
        if (s->items[i].c == c && strcmp(s->items[i].id, id) == 0) return &s->items[i];
    return NULL;
}

static bool add_item(state *s, cls c, const char *id, size_t at)
{
    if (s->n_items == s->cap_items) {
        size_t cap = s->cap_items ? 2 * s->cap_items : 16;
        item *p = realloc(s->items, cap * sizeof *p);
        if (!p) return false;
        s->items = p;
        s->cap_items = cap;
    }
    char *copy = ar_strdup(id);
    if (!copy) return false;
    s->items[s->n_items++] = (item){.c = c, .id = copy, .start_at = at, .open = true};
    return true;
}

static void on_class_event(state *s, cls c, phase ph, const cJSON *doc, size_t at)
{
    const cls_def *d = &CLS[c];
    const char *type = ph == P_START ? d->start : ph == P_MID ? d->mid : d->end;
    const char *id = "";
    ar_vf_msg m;
    if (d->id_field) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, d->id_field);
        if (!cJSON_IsString(v)) {
            msg_event(&m, type, NULL, NULL, at);
            ar_vf_printf(&m, " has no %s", d->id_field);
            violation(s, &m);
            return;
        }
        id = v->valuestring;
    }
    item *it = find(s, c, id);
    msg_event(&m, type, d->id_field, id, at);
    if (ph == P_START) {
        if (it && it->open) {
            ar_vf_printf(&m, " while the %s at index %zu is still open", d->start, it->start_at);
            violation(s, &m);
        } else if (it && d->once) {
            ar_vf_printf(&m, " repeats the %s at index %zu", d->start, it->start_at);
            violation(s, &m);
        } else if (!add_item(s, c, id, at)) {
            ar_vf_init(&m);
            ar_vf_printf(&m, CHECK_NAME ": out of memory");
            violation(s, &m);
        }
        return;
    }
    if (it && it->open) {
        if (ph == P_END) {
            it->open = false;
            it->end_at = at;
        }
        return;
    }
    if (it && d->once)
        ar_vf_printf(&m, " after its %s at index %zu", d->end, it->end_at);
    else if (d->once || ph == P_MID)
        ar_vf_printf(&m, " before its %s", d->start);
    else
        ar_vf_printf(&m, " without an open %s", d->start);
    violation(s, &m);
}

static void on_tool_result(state *s, const cJSON *doc, size_t at)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "toolCallId");
    ar_vf_msg m;
    if (!cJSON_IsString(v)) {
        msg_event(&m, "TOOL_CALL_RESULT", NULL, NULL, at);
        ar_vf_printf(&m, " has no toolCallId");
        violation(s, &m);
        return;
    }
    if (find(s, C_TOOL, v->valuestring)) return;
    msg_event(&m, "TOOL_CALL_RESULT", "toolCallId", v->valuestring, at);
    ar_vf_printf(&m, " for a tool call that was never started");
    violation(s, &m);
}

static void on_run_finished(state *s, size_t at)
{
    ar_vf_msg m;
    msg_event(&m, "RUN_FINISHED", NULL, NULL, at);
    ar_vf_printf(&m, " while still open:");
    size_t n_open = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        const item *it = &s->items[i];
        if (!it->open) continue;
        if (n_open++ == AR_VF_LIST_MAX) continue;
        ar_vf_printf(&m, "%s %s", n_open > 1 ? "," : "", CLS[it->c].label);
        if (CLS[it->c].id_field) {
            ar_vf_printf(&m, " ");
            ar_vf_text(&m, it->id, AR_VF_ITEM_MAX);
        }
        ar_vf_printf(&m, " (started at index %zu)", it->start_at);
    }
    if (n_open > AR_VF_LIST_MAX) ar_vf_printf(&m, " ... (+%zu more)", n_open - AR_VF_LIST_MAX);
    if (n_open) violation(s, &m);
}

static bool class_of(const char *type, cls *c, phase *ph)
{
    for (int i = 0; i < C__COUNT; i++) {
        const cls_def *d = &CLS[i];
        *c = (cls)i;
        if (strcmp(type, d->start) == 0)
            *ph = P_START;
        else if (d->mid && strcmp(type, d->mid) == 0)
            *ph = P_MID;
        else if (strcmp(type, d->end) == 0)
            *ph = P_END;
        else
            continue;
        return true;
    }
    return false;
}

static void on_event(state *s, const char *type, const cJSON *doc, size_t at)
{
    ar_vf_msg m;
    s->n_checked++;
    if (s->run_end_type) {
        msg_event(&m, type, NULL, NULL, at);
        ar_vf_printf(&m, " after %s at index %zu", s->run_end_type, s->run_end_at);
        violation(s, &m);
        return;
    }
    bool first = !s->seen_first;
    s->seen_first = true;
    if (first && strcmp(type, "RUN_STARTED") != 0 && strcmp(type, "RUN_ERROR") != 0) {
        ar_vf_init(&m);
        ar_vf_printf(&m, CHECK_NAME ": the first event is %s (index %zu), not RUN_STARTED", type,
                     at);
        violation(s, &m);
    }
    cls c;
    phase ph;
    if (strcmp(type, "RUN_STARTED") == 0) {
        if (s->run_started) {
            msg_event(&m, type, NULL, NULL, at);
            ar_vf_printf(&m, " while the run started at index %zu is still running",
                         s->run_started_at);
            violation(s, &m);
        } else {
            s->run_started = true;
            s->run_started_at = at;
        }
    } else if (strcmp(type, "RUN_FINISHED") == 0 || strcmp(type, "RUN_ERROR") == 0) {
        if (type[4] == 'F') on_run_finished(s, at);
        s->run_end_type = type[4] == 'F' ? "RUN_FINISHED" : "RUN_ERROR";
        s->run_end_at = at;
    } else if (strcmp(type, "TOOL_CALL_RESULT") == 0) {
        on_tool_result(s, doc, at);
    } else if (class_of(type, &c, &ph)) {
        on_class_event(s, c, ph, doc, at);
    }
    /* Anything else (TEXT_MESSAGE_CHUNK and TOOL_CALL_CHUNK included: the
     * client expands chunks into START/CONTENT/END itself) has only the run
     * rules above. */
}

void ar_val_agui(const ar_turn_obs *o, ar_checks *out)
{
    state s = {.out = out};
    size_t skipped = 0;
    for (size_t i = 0; i < o->n_events; i++) {
        const ar_event *ev = o->events[i];
        if (!ev || ev->kind == AR_EV_FAULT || ev->kind == AR_EV_SENT || !ev->raw) {
            skipped++;
            continue;
        }
        cJSON *doc = cJSON_ParseWithLength(ev->raw, ev->raw_len);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
        const char *type = ev->type ? ev->type : cJSON_IsString(t) ? t->valuestring : NULL;
        if (!cJSON_IsObject(doc) || !type || !*type) {
            skipped++;
        } else {
            on_event(&s, type, doc, i);
        }
        cJSON_Delete(doc);
    }
    if (s.have_last) {
        if (s.n_violations > AR_VAL_AGUI_SHOWN)
            ar_vf_printf(&s.last, " (+%zu more violations)", s.n_violations - AR_VAL_AGUI_SHOWN);
        ar_vf_add(out, CHECK_NAME, false, &s.last);
    } else {
        ar_vf_msg m;
        ar_vf_init(&m);
        ar_vf_printf(&m, CHECK_NAME ": %zu %s AG-UI's ordering rules", s.n_checked,
                     s.n_checked == 1 ? "event follows" : "events follow");
        if (skipped)
            ar_vf_printf(&m, " (%zu %s without an AG-UI type skipped)", skipped,
                         skipped == 1 ? "frame" : "frames");
        ar_vf_add(out, CHECK_NAME, true, &m);
    }
    for (size_t i = 0; i < s.n_items; i++)
        free(s.items[i].id);
    free(s.items);
}
