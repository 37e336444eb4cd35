/*
 * response.c - expect.response matches / not_matches: PCRE2 regexes over the
 * turn's final response text.
 *
 * A pattern with ${capture} cannot be compiled at load time; it is expanded
 * here with the captures so far (values inserted as literals) and compiled
 * per turn. A turn with no response fails both kinds of check: "the text does
 * not contain X" is not established by a turn that produced no text.
 */
#include "valfmt.h"
#include "validator.h"

#include <stdlib.h>
#include <string.h>

static void check_one(const ar_expect_regex *r, const ar_turn_obs *o, ar_checks *out)
{
    const char *name = r->negate ? "response.not_matches" : "response.matches";
    ar_vf_msg m;
    ar_vf_init(&m);
    ar_vf_printf(&m, "%s: ", name);
    if (!o->response) {
        ar_vf_printf(&m, "%s; expected /",
                     o->terminal ? "no response text (the turn completed, but its terminal event "
                                   "carried none the profile could decode)"
                                 : "no response (the turn did not complete)");
        ar_vf_text(&m, r->pattern_tpl, AR_VF_QUOTE_MAX);
        ar_vf_printf(&m, "/ %s", r->negate ? "not to match" : "to match");
        ar_vf_add(out, name, false, &m);
        return;
    }
    char err[512];
    bool owned = false;
    char *expanded = NULL;
    void *code =
        ar_vf_regex_get(r->pattern_tpl, r->compiled, o->vars, &owned, &expanded, err, sizeof err);
    if (!code) {
        ar_vf_printf(&m, "%s", err);
        ar_vf_add(out, name, false, &m);
        free(expanded);
        return;
    }
    size_t len = strlen(o->response), ms = 0, me = 0;
    int rc = ar_vf_regex_match(code, o->response, len, &ms, &me, err, sizeof err);

    /* "/pattern/" and, when it was templated, what it expanded to. */
    ar_vf_msg pat;
    ar_vf_init(&pat);
    ar_vf_printf(&pat, "/");
    ar_vf_text(&pat, r->pattern_tpl, AR_VF_QUOTE_MAX);
    ar_vf_printf(&pat, "/");
    if (expanded) {
        ar_vf_printf(&pat, " (as /");
        ar_vf_text(&pat, expanded, AR_VF_QUOTE_MAX);
        ar_vf_printf(&pat, "/)");
    }

    char *hit = rc == 1 ? ar_strndup(o->response + ms, me - ms) : NULL;
    bool ok = false;
    if (rc < 0) {
        ar_vf_printf(&m, "%s: %s", pat.s, err);
    } else if (!r->negate && rc == 1) {
        ok = true;
        ar_vf_printf(&m, "%s matched ", pat.s);
        ar_vf_quote(&m, hit ? hit : "", AR_VF_QUOTE_MAX);
    } else if (!r->negate) {
        ar_vf_printf(&m, "expected %s to match the response, it did not; response: ", pat.s);
        ar_vf_quote(&m, o->response, AR_VF_QUOTE_MAX);
    } else if (rc == 0) {
        ok = true;
        ar_vf_printf(&m, "%s did not match", pat.s);
    } else {
        ar_vf_printf(&m, "expected %s not to match the response, it matched ", pat.s);
        ar_vf_quote(&m, hit ? hit : "", AR_VF_QUOTE_MAX);
        ar_vf_printf(&m, " at offset %zu; response: ", ms);
        ar_vf_quote(&m, o->response, AR_VF_QUOTE_MAX);
    }
    ar_vf_add(out, name, ok, &m);
    free(hit);
    free(expanded);
    if (owned) ar_vf_regex_free(code);
}

void ar_val_response(const ar_expect_regex *rs, size_t n, const ar_turn_obs *o, ar_checks *out)
{
    for (size_t i = 0; i < n; i++)
        check_one(&rs[i], o, out);
}
