/*
 * capture.h - taking a value from a completed turn for later turns
 * (`capture:` in a scenario; docs/scenarios.md).
 */
#ifndef AR_CAPTURE_H
#define AR_CAPTURE_H

#include "event.h"
#include "result.h"
#include "scenario.h"
#include "template.h"

/*
 * Takes capture c from the turn's terminal event and response text (both
 * borrowed; response may be NULL) into vars.
 * thread_id is the one the harness sent, used when the service reported
 * none. On failure adds a failed "capture" check saying why and returns
 * false; vars is then unchanged.
 */
bool ar_capture_take(const ar_capture *c, const ar_event *terminal, const char *response,
                     const char *thread_id, ar_vars *vars, ar_checks *checks);

#endif
