/*
 * profile_int.h - what the files of the profile module share, internal to
 * harness/protocol/profile*.c: the built-in YAML (profile.c), sources and
 * conditions (profile_cond.c), loading (profile_load.c) and decoding
 * (profile_decode.c).
 */
#ifndef AR_PROFILE_INT_H
#define AR_PROFILE_INT_H

#include <cjson/cJSON.h>

#include "profile.h"
#include "yamltree.h"

/* Constant statuses per row live beside the rows (same index), so the
 * public row stays as it was. */
typedef struct {
    ar_profile pub;
    ar_ev_status *row_status;
} ar_pf_impl;

/* profile.c: field names (indexed by ar_pf_field) and the built-ins' YAML,
 * parallel to ar_pf_builtin_names. */
extern const char *const ar_pf_field_names[AR_PF__FIELDS];
extern const char *const ar_pf_builtin_yaml[];

/*
 * A source's value for one frame. Absent: present false. Otherwise exactly
 * one of json (borrowed from the frame; may be a JSON null) and text
 * (owned: @event, @id, @key, a regex capture).
 */
typedef struct {
    bool present;
    const cJSON *json;
    char *text;
} ar_pf_val;

void ar_pf_val_free(ar_pf_val *v); /* frees text, marks absent */
/* A present JSON null (not an absent value)? */
bool ar_pf_val_is_null(const ar_pf_val *v);

/* Text of a JSON value: a string as is, a number without trailing noise,
 * true/false, objects and arrays as compact JSON; NULL for null and NULL.
 * Owned. */
char *ar_pf_json_text(const cJSON *v);
/* Same, but NULL for objects and arrays too: a name-like field's text. */
char *ar_pf_scalar_text(const cJSON *v);

/* Pattern with an optional trailing '*' (a prefix) against a value. */
bool ar_pf_type_matches(const char *pattern, const char *value);

/*
 * Loading (profile_cond.c). A source is written as a string (a JSON pointer,
 * @event, @id, @key, @key:/ptr) or as {from: SOURCE, regex: PCRE2}.
 * what names the key for messages. Errors are "file:line:col: ...".
 */
ar_err ar_pf_parse_source(ar_yt *l, const yaml_node_t *n, const char *what, ar_pf_source *out);
ar_err ar_pf_parse_when(ar_yt *l, const yaml_node_t *n, ar_pf_when *w);
void ar_pf_source_free(ar_pf_source *s); /* the members; NULL-safe */
void ar_pf_when_free(ar_pf_when *w);     /* the members; NULL-safe */

/*
 * Evaluation (profile_cond.c). root: the parsed frame, NULL when it is not
 * JSON (pointer sources are then absent); meta may be NULL. *out is owned
 * by the caller (ar_pf_val_free).
 */
void ar_pf_source_get(const ar_profile *p, const ar_pf_source *s, const cJSON *root,
                      const ar_pf_meta *meta, ar_pf_val *out);
/* A canonical field's value: the first of its sources with a usable value
 * (name-like fields skip objects and arrays, numeric ones non-numbers, all
 * skip JSON null); when none is usable but one held a JSON null, that null
 * (present); else absent. */
void ar_pf_field_get(const ar_profile *p, ar_pf_field f, const cJSON *root, const ar_pf_meta *meta,
                     ar_pf_val *out);
bool ar_pf_when_holds(const ar_profile *p, const ar_pf_when *w, const cJSON *root,
                      const ar_pf_meta *meta);

#endif
