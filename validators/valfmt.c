/*
 * valfmt.c - bounded one-line messages and late-compiled regexes for the
 * validators (see valfmt.h for why messages are bounded).
 *
 * Cutting happens on UTF-8 boundaries so a truncated message is still valid
 * UTF-8: it ends up in XML and JSON reports, where a split sequence would
 * make the whole report unreadable.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "valfmt.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ar_vf_init(ar_vf_msg *m)
{
    m->s[0] = '\0';
    m->len = 0;
    m->truncated = false;
}

/* Largest k <= n such that s[0..k) does not end inside a UTF-8 sequence;
 * only the n bytes are read (s[n] may already be gone). */
static size_t utf8_cut(const char *s, size_t n)
{
    size_t p = n;
    size_t back = 0;
    while (p > 0 && back < 4 && ((unsigned char)s[p - 1] & 0xC0u) == 0x80u) {
        p--;
        back++;
    }
    if (p == 0) return n;
    unsigned char lead = (unsigned char)s[p - 1];
    size_t want = lead >= 0xF0u ? 4 : lead >= 0xE0u ? 3 : lead >= 0xC0u ? 2 : 1;
    return (p - 1) + want <= n ? n : p - 1;
}

void ar_vf_printf(ar_vf_msg *m, const char *fmt, ...)
{
    if (m->truncated) return;
    size_t room = sizeof m->s - m->len;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(m->s + m->len, room, fmt, ap);
    va_end(ap);
    if (w < 0) {
        m->s[m->len] = '\0';
        return;
    }
    if ((size_t)w >= room) {
        m->len = utf8_cut(m->s, sizeof m->s - 1);
        m->s[m->len] = '\0';
        m->truncated = true;
        return;
    }
    m->len += (size_t)w;
}

void ar_vf_text(ar_vf_msg *m, const char *s, size_t max_bytes)
{
    if (!s) {
        ar_vf_printf(m, "(none)");
        return;
    }
    size_t n = strlen(s);
    bool cut = false;
    if (n > max_bytes) {
        n = utf8_cut(s, max_bytes);
        cut = true;
    }
    char tmp[AR_VF_MSG_MAX];
    if (n >= sizeof tmp) {
        n = utf8_cut(s, sizeof tmp - 1);
        cut = true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* One line: newlines and tabs in a response would break reports. */
        tmp[i] = (c < 0x20u || c == 0x7Fu) ? ' ' : (char)c;
    }
    tmp[n] = '\0';
    ar_vf_printf(m, "%s%s", tmp, cut ? "..." : "");
}

void ar_vf_quote(ar_vf_msg *m, const char *s, size_t max_bytes)
{
    if (!s) {
        ar_vf_printf(m, "(none)");
        return;
    }
    ar_vf_printf(m, "\"");
    ar_vf_text(m, s, max_bytes);
    ar_vf_printf(m, "\"");
}

void ar_vf_strs(ar_vf_msg *m, const char *const *items, size_t n)
{
    ar_vf_printf(m, "[");
    for (size_t i = 0; i < n; i++) {
        if (i == AR_VF_LIST_MAX) {
            ar_vf_printf(m, ", ... (+%zu more)", n - i);
            break;
        }
        if (i > 0) ar_vf_printf(m, ", ");
        ar_vf_text(m, items[i], AR_VF_ITEM_MAX);
    }
    ar_vf_printf(m, "]");
}

void ar_vf_kinds(ar_vf_msg *m, const ar_ev_kind *kinds, size_t n, bool collapse)
{
    ar_vf_printf(m, "[");
    size_t shown = 0;
    for (size_t i = 0; i < n;) {
        size_t run = 1;
        if (collapse)
            while (i + run < n && kinds[i + run] == kinds[i])
                run++;
        if (shown == AR_VF_LIST_MAX) {
            ar_vf_printf(m, ", ... (+%zu more)", n - i);
            break;
        }
        if (shown > 0) ar_vf_printf(m, ", ");
        if (run > 1)
            ar_vf_printf(m, "%s x%zu", ar_ev_kind_name(kinds[i]), run);
        else
            ar_vf_printf(m, "%s", ar_ev_kind_name(kinds[i]));
        shown++;
        i += run;
    }
    ar_vf_printf(m, "]");
}

void ar_vf_add(ar_checks *out, const char *name, bool passed, const ar_vf_msg *m)
{
    char tmp[AR_VF_MSG_MAX + 4];
    memcpy(tmp, m->s, m->len + 1);
    if (m->truncated) {
        size_t at = m->len > 3 ? utf8_cut(tmp, m->len - 3) : 0;
        memcpy(tmp + at, "...", 4);
    }
    (void)ar_checks_add(out, name, passed, "%s", tmp);
}

void *ar_vf_regex_get(const char *pattern, void *compiled, const ar_vars *vars, bool *owned,
                      char **expanded, char *err, size_t err_len)
{
    *owned = false;
    *expanded = NULL;
    if (compiled) return compiled;
    if (!pattern) {
        snprintf(err, err_len, "no pattern");
        return NULL;
    }
    char *pat = NULL;
    char terr[256] = "";
    if (ar_tpl_has_vars(pattern)) {
        if (ar_tpl_expand(pattern, vars, AR_TPL_REGEX, &pat, terr, sizeof terr) != AR_OK) {
            snprintf(err, err_len, "cannot expand /%.200s/: %s", pattern, terr);
            return NULL;
        }
        *expanded = pat;
    }
    const char *src = pat ? pat : pattern;
    int ecode = 0;
    PCRE2_SIZE eoff = 0;
    /* MATCH_INVALID_UTF: a service may stream invalid UTF-8, and that must be
     * a non-match in the bad bytes, not a matching error for the whole check. */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ecode, &eoff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ecode, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", ecode);
        snprintf(err, err_len, "cannot compile /%.200s/ at offset %zu: %s", src, (size_t)eoff,
                 (const char *)msg);
        return NULL;
    }
    *owned = true;
    return code;
}

void ar_vf_regex_free(void *code)
{
    pcre2_code_free((pcre2_code *)code);
}

int ar_vf_regex_match(void *code, const char *subject, size_t len, size_t *mstart, size_t *mend,
                      char *err, size_t err_len)
{
    pcre2_code *re = code;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, len, 0, 0, md, NULL);
    int ret;
    if (rc >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        *mstart = ov[0];
        /* \K can put the end before the start; show an empty match then. */
        *mend = ov[1] < ov[0] ? ov[0] : ov[1];
        ret = 1;
    } else if (rc == PCRE2_ERROR_NOMATCH) {
        ret = 0;
    } else {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", rc);
        snprintf(err, err_len, "matching error: %s", (const char *)msg);
        ret = -1;
    }
    pcre2_match_data_free(md);
    return ret;
}
