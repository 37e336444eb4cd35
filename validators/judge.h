/*
 * judge.h - the one place a recorded session is judged. The session drives
 * the service and records what it saw (harness/session.c); the mode then
 * calls ar_judge_session, which runs each turn's validators over the turn's
 * recorded events. The flow is one way: scenario -> session -> events ->
 * validators -> verdict -> reports.
 */
#ifndef AR_JUDGE_H
#define AR_JUDGE_H

#include "recorder.h"
#include "result.h"

/*
 * Runs the validators of every turn the session marked for judging (its
 * `judge` flag), appends their checks to the turn after the session's own
 * ("completed", "frames"), then the session's post checks (captures), and
 * settles the session's outcome. Borrows rec; updates s in place. Safe to
 * call once per session result; a session that errored keeps its error.
 */
void ar_judge_session(const ar_rec *rec, ar_session_result *s);

#endif
