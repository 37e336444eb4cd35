/*
 * profile.c - the protocol profile module's data and its one writer: the
 * canonical field names and building a turn's frame from `send`. The
 * built-in profiles are ordinary profile YAML files in builtin/, compiled in
 * by cmake/embed_profiles.cmake and run through the same loader and decoder
 * as a user's file, so they can only do what a user's profile can.
 *
 * Loading is profile_load.c, sources and conditions profile_cond.c,
 * decoding profile_decode.c.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"

const char *const ar_pf_field_names[AR_PF__FIELDS] = {
    "agent",  "run_id",    "parent_run_id", "tool",     "call_id",   "thread_id",          "status",
    "text",   "tokens_in", "tokens_out",    "cost_usd", "server_ts", "server_duration_us", "args",
    "result", "error"};

size_t ar_pf_builtin_count(void)
{
    size_t n = 0;
    while (ar_pf_builtin_names[n])
        n++;
    return n;
}

const char *ar_pf_field_name(ar_pf_field f)
{
    return (unsigned)f < AR_PF__FIELDS ? ar_pf_field_names[f] : "?";
}

/* Building a turn's frame */

static bool whole_var(const char *s, const char *name)
{
    size_t n = strlen(name);
    return s[0] == '$' && s[1] == '{' && !strncmp(s + 2, name, n) && s[2 + n] == '}' &&
           s[3 + n] == '\0';
}

/* ReplaceItemViaPointer does not carry the key over; in an object the
 * replacement must take the old key. */
static void replace_child(cJSON *node, cJSON *old, cJSON *with)
{
    if (cJSON_IsObject(node) && old->string)
        cJSON_ReplaceItemInObjectCaseSensitive(node, old->string, with);
    else
        cJSON_ReplaceItemViaPointer(node, old, with);
}

static ar_err fill(cJSON *node, const ar_vars *vars, const cJSON *context, const cJSON *messages,
                   char *err, size_t err_len)
{
    for (cJSON *c = node->child, *next; c; c = next) {
        next = c->next;
        if (cJSON_IsString(c)) {
            const cJSON *whole = whole_var(c->valuestring, "context")    ? context
                                 : whole_var(c->valuestring, "messages") ? messages
                                                                         : (const cJSON *)1;
            if (whole != (const cJSON *)1) {
                /* A JSON value in place of the string; an absent one drops
                 * the key, so frames carry no "context": null noise. */
                if (!whole || cJSON_IsNull(whole)) {
                    cJSON_DetachItemViaPointer(node, c);
                    cJSON_Delete(c);
                    continue;
                }
                cJSON *dup = cJSON_Duplicate(whole, 1);
                if (!dup) return AR_ENOMEM;
                replace_child(node, c, dup);
                continue;
            }
            char *s;
            ar_err rc = ar_tpl_expand(c->valuestring, vars, AR_TPL_PLAIN, &s, err, err_len);
            if (rc) return rc;
            cJSON *ns = cJSON_CreateString(s);
            free(s);
            if (!ns) return AR_ENOMEM;
            replace_child(node, c, ns);
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            ar_err rc = fill(c, vars, context, messages, err, err_len);
            if (rc) return rc;
        }
    }
    return AR_OK;
}

char *ar_pf_build_send(const ar_profile *p, const cJSON *tpl, const ar_vars *vars,
                       const cJSON *context, const cJSON *messages, char *err, size_t err_len)
{
    (void)p;
    cJSON *frame = cJSON_Duplicate(tpl, 1);
    if (!frame) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (fill(frame, vars, context, messages, err, err_len) != AR_OK) {
        cJSON_Delete(frame);
        return NULL;
    }
    char *out = cJSON_PrintUnformatted(frame);
    cJSON_Delete(frame);
    return out;
}
