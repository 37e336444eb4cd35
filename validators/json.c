/*
 * json.c - response.json: assertions on the final result, addressed by RFC
 * 6901 JSON pointers into the terminal frame.
 *
 * The terminal frame, not the response text, because services put their
 * structured result (savings_pct, status, ids) in fields next to the text,
 * and a regex over prose is the wrong tool for a number.
 *
 * Comparisons: eq/ne take any JSON (numbers numerically, objects and arrays
 * deeply). gt/gte/lt/lte need a number; a string is accepted when the whole
 * string is a finite number ("42.5"), since many services serialise numbers
 * as strings; anything else fails naming the type it found. matches runs the
 * regex over a string, or over a number formatted the way JSON prints it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "jsonptr.h"
#include "valfmt.h"
#include "validator.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

/* Appends v as compact JSON, cut to keep the message bounded. */
static void vf_json(ar_vf_msg *m, const cJSON *v)
{
    if (!v) {
        ar_vf_printf(m, "(none)");
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        ar_vf_printf(m, "(unprintable)");
        return;
    }
    ar_vf_text(m, s, AR_VF_QUOTE_MAX);
    cJSON_free(s);
}

/* "a string \"forty\"", or just "null" (whose type and value are one word). */
static void vf_typed(ar_vf_msg *m, const cJSON *v)
{
    if (cJSON_IsNull(v)) {
        ar_vf_printf(m, "null");
        return;
    }
    ar_vf_printf(m, "%s ", json_type_name(v));
    vf_json(m, v);
}

/* A number as JSON prints it: shortest of %.15g / %.17g that round-trips. */
static void fmt_number(double d, char *out, size_t out_len)
{
    snprintf(out, out_len, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, out_len, "%.17g", d);
}

/* The value as a number: a JSON number, or a string that is wholly one. */
static bool as_number(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring && v->valuestring[0] != '\0') {
        char *end = NULL;
        errno = 0;
        double d = strtod(v->valuestring, &end);
        if (errno == 0 && end && *end == '\0' && isfinite(d) &&
            !(v->valuestring[0] == ' ' || v->valuestring[0] == '\t')) {
            *out = d;
            return true;
        }
    }
    return false;
}

static bool json_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
    return cJSON_Compare(a, b, true) != 0;
}

/* "/result/savings_pct gte 40" */
static void vf_label(ar_vf_msg *m, const ar_expect_json *j)
{
    ar_vf_printf(m, "response.json: ");
    ar_vf_text(m, j->pointer, AR_VF_ITEM_MAX);
    ar_vf_printf(m, " %s ", ar_json_op_name(j->op));
    if (j->op == AR_JOP_MATCHES) {
        ar_vf_printf(m, "/");
        ar_vf_text(m, j->pattern, AR_VF_QUOTE_MAX);
        ar_vf_printf(m, "/");
    } else {
        vf_json(m, j->value);
    }
}

/* gt, gte, lt, lte: both sides as numbers (a numeric string counts as its number). */
static bool check_compare(const ar_expect_json *j, const cJSON *v, ar_vf_msg *m)
{
    if (!v) {
        ar_vf_printf(m, ": no value at that path in the terminal frame");
        return false;
    }
    double want, got;
    if (!as_number(j->value, &want)) {
        ar_vf_printf(m, ": the expected value is %s, not a number", json_type_name(j->value));
        return false;
    }
    if (!as_number(v, &got)) {
        ar_vf_printf(m, ": expected a number, observed ");
        vf_typed(m, v);
        return false;
    }
    bool ok;
    switch (j->op) {
    case AR_JOP_GT:
        ok = got > want;
        break;
    case AR_JOP_GTE:
        ok = got >= want;
        break;
    case AR_JOP_LT:
        ok = got < want;
        break;
    default:
        ok = got <= want;
        break;
    }
    ar_vf_printf(m, ": observed ");
    vf_json(m, v);
    if (cJSON_IsString(v)) ar_vf_printf(m, " (a string, compared as a number)");
    return ok;
}

/* matches: a string, or a number in its printed form, against the (expanded) pattern. */
static bool check_matches(const ar_expect_json *j, const cJSON *v, const ar_turn_obs *o,
                          ar_vf_msg *m)
{
    if (!v) {
        ar_vf_printf(m, ": no value at that path in the terminal frame");
        return false;
    }
    char num[64];
    const char *subject = NULL;
    if (cJSON_IsString(v)) {
        subject = v->valuestring ? v->valuestring : "";
    } else if (cJSON_IsNumber(v)) {
        fmt_number(v->valuedouble, num, sizeof num);
        subject = num;
    } else {
        ar_vf_printf(m, ": expected a string or a number, observed ");
        vf_typed(m, v);
        return false;
    }
    char err[512];
    bool owned = false;
    char *expanded = NULL;
    void *code =
        ar_vf_regex_get(j->pattern, j->compiled, o->vars, &owned, &expanded, err, sizeof err);
    if (!code) {
        ar_vf_printf(m, ": %s", err);
        free(expanded);
        return false;
    }
    bool ok = false;
    size_t ms = 0, me = 0;
    int rc = ar_vf_regex_match(code, subject, strlen(subject), &ms, &me, err, sizeof err);
    if (rc < 0) {
        ar_vf_printf(m, ": %s", err);
    } else {
        ok = rc == 1;
        ar_vf_printf(m, ok ? ": matched " : ": no match in ");
        vf_json(m, v);
    }
    if (owned) ar_vf_regex_free(code);
    free(expanded);
    return ok;
}

static void check_one(const ar_expect_json *j, const cJSON *root, const char *no_root,
                      const ar_turn_obs *o, ar_checks *out)
{
    ar_vf_msg m;
    ar_vf_init(&m);
    vf_label(&m, j);
    if (!root) {
        ar_vf_printf(&m, ": %s", no_root);
        ar_vf_add(out, "response.json", false, &m);
        return;
    }
    const cJSON *v = ar_json_pointer_get(root, j->pointer);
    bool ok = false;

    switch (j->op) {
    case AR_JOP_EXISTS: {
        bool want = !j->value || cJSON_IsTrue(j->value);
        ok = (v != NULL) == want;
        if (ok && want) {
            ar_vf_printf(&m, ": observed ");
            vf_json(&m, v);
        } else if (ok) {
            ar_vf_printf(&m, ": absent, as expected");
        } else if (want) {
            ar_vf_printf(&m, ": expected a value, there is none in the terminal frame");
        } else {
            ar_vf_printf(&m, ": expected no value, observed ");
            vf_json(&m, v);
        }
        break;
    }
    case AR_JOP_EQ:
    case AR_JOP_NE:
        if (!v) {
            ar_vf_printf(&m, ": no value at that path in the terminal frame");
            break;
        }
        ok = json_equal(v, j->value) == (j->op == AR_JOP_EQ);
        ar_vf_printf(&m, ": observed ");
        vf_json(&m, v);
        break;
    case AR_JOP_GT:
    case AR_JOP_GTE:
    case AR_JOP_LT:
    case AR_JOP_LTE:
        ok = check_compare(j, v, &m);
        break;
    case AR_JOP_MATCHES:
        ok = check_matches(j, v, o, &m);
        break;
    default:
        ar_vf_printf(&m, ": unknown operator %d", (int)j->op);
        break;
    }
    ar_vf_add(out, "response.json", ok, &m);
}

void ar_val_json(const ar_expect_json *js, size_t n, const ar_turn_obs *o, ar_checks *out)
{
    if (n == 0) return;
    cJSON *root = NULL;
    const char *no_root = NULL;
    if (!o->terminal) {
        no_root = "no terminal event (the turn did not complete)";
    } else if (!o->terminal->raw || o->terminal->raw_binary) {
        no_root = "the terminal event has no text frame";
    } else if (o->terminal->raw_truncated) {
        no_root = "the terminal frame was truncated (over the frame cap), cannot parse it";
    } else {
        const char *raw = o->terminal->raw;
        root =
            cJSON_ParseWithLength(raw, o->terminal->raw_len ? o->terminal->raw_len : strlen(raw));
        if (!root) no_root = "the terminal frame is not valid JSON";
    }
    for (size_t i = 0; i < n; i++)
        check_one(&js[i], root, no_root, o, out);
    cJSON_Delete(root);
}
