/*
 * profile_decode.c - decoding frames with a protocol profile.
 *
 * One decoder for every protocol: a frame is parsed once with cJSON (any
 * JSON value: an object, an array, even null), its type taken from the
 * profile's type source (a pointer, or the SSE event name), frames the
 * profile ignores set aside as `other`, the type looked up in the table
 * (exact values, or prefixes ending in '*', each optionally guarded by a
 * condition), and every canonical field taken from the first of its sources
 * with a usable value, which is how a service that spreads fields over the
 * root, "payload" and "data" is merged. Nothing is invented: a field the
 * frame does not carry stays NULL.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "profile_int.h"

static bool in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s)) return true;
    return false;
}

static ar_err decode_fail(ar_event *ev, const char *why)
{
    ev->kind = AR_EV_ERROR;
    ev->decode_error = true;
    free(ev->text);
    ev->text = strdup(why);
    return ev->text ? AR_EPARSE : AR_ENOMEM;
}

/* The frame's type as an owned string, or NULL when the type source has no
 * string there (a number is no type either). */
static char *frame_type(const ar_profile *p, const cJSON *root, const ar_pf_meta *meta)
{
    ar_pf_val v;
    ar_pf_source_get(p, &p->type_src, root, meta, &v);
    char *t = NULL;
    if (v.text) {
        t = v.text;
        v.text = NULL;
    } else if (cJSON_IsString(v.json)) {
        t = strdup(v.json->valuestring);
    }
    ar_pf_val_free(&v);
    return t;
}

/* Does decode.ignore set this frame aside? Without JSON (root NULL) only
 * the entries that need none can: an event name, or a type that did not
 * come from the JSON. A `when` never excuses a frame that is not JSON. */
static bool ignored(const ar_profile *p, const char *type, const cJSON *root,
                    const ar_pf_meta *meta)
{
    const char *event = meta ? meta->event : NULL;
    for (size_t i = 0; i < p->n_ignores; i++) {
        const ar_pf_ignore *ig = &p->ignores[i];
        switch (ig->kind) {
        case AR_PF_IGN_TYPE:
            if (type && ar_pf_type_matches(ig->pattern, type)) return true;
            break;
        case AR_PF_IGN_EVENT:
            if (event && ar_pf_type_matches(ig->pattern, event)) return true;
            break;
        case AR_PF_IGN_WHEN:
            if (root && ar_pf_when_holds(p, &ig->when, root, meta)) return true;
            break;
        }
    }
    return false;
}

static char *field_text(const ar_profile *p, ar_pf_field f, const cJSON *root,
                        const ar_pf_meta *meta)
{
    ar_pf_val v;
    ar_pf_field_get(p, f, root, meta, &v);
    char *t = NULL;
    if (v.text) {
        t = v.text;
        v.text = NULL;
    } else if (v.present) {
        t = ar_pf_json_text(v.json); /* usable values only: scalars for name-like fields */
    }
    ar_pf_val_free(&v);
    return t;
}

/* A numeric field: *out set when the frame carries a number there. */
static bool field_number(const ar_profile *p, ar_pf_field f, const cJSON *root,
                         const ar_pf_meta *meta, double *out)
{
    ar_pf_val v;
    ar_pf_field_get(p, f, root, meta, &v);
    bool ok = false;
    if (v.text)
        ok = ar_yt_parse_number_text(v.text, out);
    else if (cJSON_IsNumber(v.json)) {
        *out = v.json->valuedouble;
        ok = true;
    }
    ar_pf_val_free(&v);
    return ok;
}

/*
 * Usage counts, timestamps, durations and the cost are never negative, and
 * the int64 ones come from a JSON double: a service's 1e30 or -5 (or 1e999,
 * which parses as infinity) must not reach the cast, which is undefined
 * behaviour outside int64's range. Such a value is no usable number, so the
 * field stays absent (-1), exactly as if the frame did not carry it; the
 * transcript keeps the raw frame for whoever wants to see it. A fraction is
 * truncated toward zero.
 */
#define DECODE_INT64_LIMIT 9223372036854775808.0 /* 2^63, exact as a double */

static bool field_count(const ar_profile *p, ar_pf_field f, const cJSON *root,
                        const ar_pf_meta *meta, int64_t *out)
{
    double d;
    if (!field_number(p, f, root, meta, &d) || !(d >= 0 && d < DECODE_INT64_LIMIT)) return false;
    *out = (int64_t)d;
    return true;
}

static void decode_fields(const ar_profile *p, const cJSON *root, const ar_pf_meta *meta,
                          ar_event *ev)
{
    char **dst[AR_PF__FIELDS] = {[AR_PF_AGENT] = &ev->agent,
                                 [AR_PF_RUN_ID] = &ev->run_id,
                                 [AR_PF_PARENT_RUN_ID] = &ev->parent_run_id,
                                 [AR_PF_TOOL] = &ev->tool,
                                 [AR_PF_CALL_ID] = &ev->call_id,
                                 [AR_PF_THREAD_ID] = &ev->thread_id,
                                 [AR_PF_TEXT] = &ev->text,
                                 [AR_PF_ARGS] = &ev->args,
                                 [AR_PF_RESULT] = &ev->result,
                                 [AR_PF_ERROR] = &ev->error};
    for (int f = 0; f < AR_PF__FIELDS; f++)
        if (dst[f]) *dst[f] = field_text(p, (ar_pf_field)f, root, meta);
    field_count(p, AR_PF_TOKENS_IN, root, meta, &ev->tokens_in);
    field_count(p, AR_PF_TOKENS_OUT, root, meta, &ev->tokens_out);
    field_count(p, AR_PF_SERVER_TS, root, meta, &ev->server_ts_us);
    field_count(p, AR_PF_SERVER_DURATION, root, meta, &ev->server_duration_us);
    double d;
    if (field_number(p, AR_PF_COST, root, meta, &d) && d >= 0 && isfinite(d)) ev->cost_usd = d;
    char *st = field_text(p, AR_PF_STATUS, root, meta);
    if (st && in_list(p->ok_values, p->n_ok, st)) ev->status = AR_ST_OK;
    if (st && in_list(p->error_values, p->n_error, st)) ev->status = AR_ST_ERROR;
    free(st);
}

/* The type table, the fields, deltas and the end rules, for a frame whose
 * type is known. */
static void decode_typed(const ar_profile *p, const cJSON *root, const ar_pf_meta *meta,
                         ar_event *ev, char **delta)
{
    const ar_pf_impl *pi = (const ar_pf_impl *)p;
    ev->kind = AR_EV_OTHER;
    const ar_pf_row *row = NULL;
    size_t ri = 0;
    for (size_t i = 0; i < p->n_rows && !row; i++)
        if (ar_pf_type_matches(p->rows[i].value, ev->type) &&
            (!p->rows[i].has_when || ar_pf_when_holds(p, &p->rows[i].when, root, meta))) {
            row = &p->rows[i];
            ri = i;
        }
    if (row) ev->kind = row->kind;
    decode_fields(p, root, meta, ev);
    if (row && row->agent && !ev->agent) ev->agent = strdup(row->agent);
    if (row && ev->status == AR_ST_NONE && pi->row_status[ri] != AR_ST_NONE)
        ev->status = pi->row_status[ri];
    if (ev->kind == AR_EV_ERROR && ev->status == AR_ST_NONE) ev->status = AR_ST_ERROR;

    if (delta && p->delta_pointer && in_list(p->delta_types, p->n_delta_types, ev->type))
        *delta = ar_pf_scalar_text(ar_json_pointer_get(root, p->delta_pointer));
    if (p->args_delta_pointer && in_list(p->args_delta_types, p->n_args_delta_types, ev->type)) {
        /* One fragment of the call's arguments, not the arguments: the
         * flag keeps anyone from reading it as a whole. */
        free(ev->args);
        ev->args = ar_pf_json_text(ar_json_pointer_get(root, p->args_delta_pointer));
        ev->args_delta = true;
    }

    for (size_t i = 0; i < p->n_ends && !ev->terminal; i++) {
        const ar_pf_end *e = &p->ends[i];
        if (e->kind != ev->kind) continue;
        if (e->root_only && !(row && row->root)) continue;
        if (e->has_when && !ar_pf_when_holds(p, &e->when, root, meta)) continue;
        ev->terminal = true;
    }
}

ar_err ar_pf_decode_meta(const ar_profile *p, const char *frame, size_t len, const ar_pf_meta *meta,
                         ar_event *ev, char **delta)
{
    if (delta) *delta = NULL;
    ev->raw = ar_strndup(frame, len);
    if (!ev->raw) return AR_ENOMEM;
    ev->raw_len = ev->wire_len = len;
    cJSON *root = cJSON_ParseWithLength(frame, len);
    ev->type = frame_type(p, root, meta);
    ar_err rc = AR_OK;
    if (ignored(p, ev->type, root, meta)) {
        ev->kind = AR_EV_OTHER;
    } else if (!root) {
        rc = decode_fail(ev, "frame is not valid JSON");
    } else if (!ev->type) {
        char why[200];
        snprintf(why, sizeof why, "frame has no string type at %.150s", p->type_src.text);
        if (p->unclassified_fail) {
            rc = decode_fail(ev, why);
        } else {
            /* Valid JSON the profile cannot place: recorded, not judged. */
            ev->kind = AR_EV_OTHER;
            ev->text = ar_asprintf("unclassified: %s", why);
        }
    } else {
        decode_typed(p, root, meta, ev, delta);
    }
    cJSON_Delete(root);
    return rc;
}

ar_err ar_pf_decode(const ar_profile *p, const char *frame, size_t len, ar_event *ev, char **delta)
{
    return ar_pf_decode_meta(p, frame, len, NULL, ev, delta);
}

bool ar_pf_frame_matches(const ar_profile *p, const char *raw, size_t len, const char *type,
                         const ar_pf_when *when)
{
    cJSON *root = cJSON_ParseWithLength(raw, len);
    if (!root) return false;
    bool ok = true;
    if (type) {
        char *t = frame_type(p, root, NULL);
        ok = t && ar_pf_type_matches(type, t);
        free(t);
    }
    if (ok && when) ok = ar_pf_when_holds(p, when, root, NULL);
    cJSON_Delete(root);
    return ok;
}

char *ar_pf_frame_value(const char *raw, size_t len, const char *pointer)
{
    cJSON *root = cJSON_ParseWithLength(raw, len);
    char *v = root ? ar_pf_scalar_text(ar_json_pointer_get(root, pointer)) : NULL;
    cJSON_Delete(root);
    return v;
}
