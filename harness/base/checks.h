/*
 * checks.h - what a check found: a name, passed or not, and one line that
 * says expected vs observed. Validators, http: steps and the session all
 * report through it; result.h collects them per turn.
 */
#ifndef AR_CHECKS_H
#define AR_CHECKS_H

#include "ar.h"

typedef struct {
    char *name; /* "route", "events.order", "response.matches", ... */
    bool passed;
    /* One line that starts with the check's name, so it stands alone in any
     * report: "route (subsequence): expected [...], observed [...]".
     * passed: what held; failed: expected vs observed. */
    char *message;
    /* What the check is about when its kind repeats on a turn (the tool of
     * a tools.* check, a capture's name), so reports can tell two
     * "tools.called" apart; NULL when there is none. Owned. */
    char *subject;
} ar_check;

typedef struct {
    ar_check *items;
    size_t n;
    size_t cap;
} ar_checks;

void ar_checks_init(ar_checks *c);
void ar_checks_free(ar_checks *c); /* NULL-safe */
/* Appends a check; name is copied, the message is formatted. */
ar_err ar_checks_add(ar_checks *c, const char *name, bool passed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets the subject of the check added last (copied; NULL clears it). */
ar_err ar_checks_set_subject(ar_checks *c, const char *subject);
/* Appends a copy of check (name, outcome, message, subject). */
ar_err ar_checks_append(ar_checks *c, const ar_check *check);
size_t ar_checks_failed(const ar_checks *c);

#endif
