/*
 * capture.c - captured values: a regex group of the response, a JSON pointer
 * into the final frame (optionally narrowed by a regex), or the thread id.
 * A capture that cannot be taken is a failed check, never an empty value: a
 * later `${name}` would otherwise quietly match anything.
 */
#include "capture.h"

#include <cjson/cJSON.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"

/* The text the capture reads, owned; NULL (with a failed check) if none. */
static char *capture_subject(const ar_capture *c, const ar_event *terminal, const char *response,
                             const char *thread_id, ar_checks *checks)
{
    if (c->from == AR_CAP_THREAD_ID)
        return strdup(terminal->thread_id ? terminal->thread_id : thread_id ? thread_id : "");
    if (c->from == AR_CAP_RESPONSE) {
        if (response) return strdup(response);
        ar_checks_add(checks, "capture", false, "capture '%s': the turn has no response text",
                      c->name);
        return NULL;
    }
    cJSON *doc = cJSON_ParseWithLength(terminal->raw ? terminal->raw : "", terminal->raw_len);
    const cJSON *v = doc ? ar_json_pointer_get(doc, c->pointer) : NULL;
    char *out = NULL;
    if (!v)
        ar_checks_add(checks, "capture", false,
                      "capture '%s': JSON pointer %s not found in the final frame", c->name,
                      c->pointer);
    else if (cJSON_IsString(v))
        out = strdup(v->valuestring);
    else if (cJSON_IsNumber(v))
        out = ar_asprintf("%.15g", v->valuedouble);
    else
        out = cJSON_PrintUnformatted(v); /* objects, arrays, booleans, null: as JSON */
    cJSON_Delete(doc);
    return out;
}

/* Applies the capture's regex; returns the chosen group, owned, or NULL. */
static char *capture_match(const ar_capture *c, const char *subject)
{
    pcre2_code *re = c->compiled;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return NULL;
    char *value = NULL;
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    if (rc > c->group) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        PCRE2_SIZE s0 = ov[2 * c->group], s1 = ov[2 * c->group + 1];
        if (s0 != PCRE2_UNSET) value = ar_strndup(subject + s0, s1 - s0);
    }
    pcre2_match_data_free(md);
    return value;
}

static bool take(const ar_capture *c, const ar_event *terminal, const char *response,
                 const char *thread_id, ar_vars *vars, ar_checks *checks)
{
    char *subject = capture_subject(c, terminal, response, thread_id, checks);
    if (!subject) return false;
    char *value = subject;
    if (c->compiled) {
        value = capture_match(c, subject);
        if (!value) {
            size_t len = strlen(subject);
            ar_checks_add(checks, "capture", false, "capture '%s': /%s/ did not match \"%.100s%s\"",
                          c->name, c->regex, subject, len > 100 ? "..." : "");
            free(subject);
            return false;
        }
        free(subject);
    }
    ar_err rc = ar_vars_set(vars, c->name, value);
    free(value);
    if (rc != AR_OK) {
        ar_checks_add(checks, "capture", false, "capture '%s': %s", c->name, ar_strerror(rc));
        return false;
    }
    return true;
}

bool ar_capture_take(const ar_capture *c, const ar_event *terminal, const char *response,
                     const char *thread_id, ar_vars *vars, ar_checks *checks)
{
    size_t before = checks->n;
    bool ok = take(c, terminal, response, thread_id, vars, checks);
    if (checks->n > before) ar_checks_set_subject(checks, c->name); /* a failed capture */
    return ok;
}
