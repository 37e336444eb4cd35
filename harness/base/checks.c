/*
 * checks.c - a list of named pass/fail findings, each one line that stands
 * alone in a report.
 */
#include "checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ar_checks_init(ar_checks *c)
{
    memset(c, 0, sizeof *c);
}

void ar_checks_free(ar_checks *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].name);
        free(c->items[i].message);
        free(c->items[i].subject);
    }
    free(c->items);
    ar_checks_init(c);
}

ar_err ar_checks_add(ar_checks *c, const char *name, bool passed, const char *fmt, ...)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        ar_check *p = realloc(c->items, cap * sizeof *p);
        if (!p) return AR_ENOMEM;
        c->items = p;
        c->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    char *nm = strdup(name);
    if (n < 0 || !nm) {
        if (n >= 0) free(msg);
        free(nm);
        return AR_ENOMEM;
    }
    c->items[c->n++] = (ar_check){.name = nm, .passed = passed, .message = msg};
    return AR_OK;
}

ar_err ar_checks_set_subject(ar_checks *c, const char *subject)
{
    if (!c->n) return AR_EINVAL;
    ar_check *last = &c->items[c->n - 1];
    char *s = subject ? strdup(subject) : NULL;
    if (subject && !s) return AR_ENOMEM;
    free(last->subject);
    last->subject = s;
    return AR_OK;
}

ar_err ar_checks_append(ar_checks *c, const ar_check *check)
{
    ar_err rc = ar_checks_add(c, check->name, check->passed, "%s", check->message);
    return rc ? rc : ar_checks_set_subject(c, check->subject);
}

size_t ar_checks_failed(const ar_checks *c)
{
    size_t f = 0;
    for (size_t i = 0; i < c->n; i++)
        f += !c->items[i].passed;
    return f;
}
