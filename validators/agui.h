/*
 * agui.h - AG-UI's own ordering rules, checked over one turn's events.
 *
 * A service can produce the right route and the right answer and still break
 * the protocol its clients parse (a TEXT_MESSAGE_CONTENT before its START, a
 * RUN_FINISHED with a tool call still open); an @ag-ui/client front end then
 * throws. This validator applies those rules to what the harness recorded, so
 * the break shows up as a failed check with the event index and the ids.
 */
#ifndef AR_VAL_AGUI_H
#define AR_VAL_AGUI_H

#include "validator.h"

/* Failed checks listed one by one; the last one shown says how many more. */
#define AR_VAL_AGUI_SHOWN 8

/*
 * Checks the turn's events (borrowed; each event's `type` is the AG-UI type
 * string and `raw` the frame's JSON) against AG-UI's ordering rules:
 *   - the first AG-UI event is RUN_STARTED (or RUN_ERROR: a run that failed
 *     before it started, which @ag-ui/client accepts too);
 *   - no event after RUN_FINISHED or RUN_ERROR, and no second RUN_STARTED;
 *   - TEXT_MESSAGE_START / CONTENT / END by messageId, TOOL_CALL_START / ARGS
 *     / END by toolCallId, REASONING_MESSAGE_START / CONTENT / END and
 *     REASONING_START / END by messageId: the START comes first, once per id;
 *     nothing for an id after its END;
 *   - TOOL_CALL_RESULT names a toolCallId that was started in this turn;
 *   - STEP_FINISHED closes an open STEP_STARTED with the same stepName (a
 *     step name may run again after it finished);
 *   - the deprecated THINKING_START / END and THINKING_TEXT_MESSAGE_START /
 *     CONTENT / END (no ids) open and close in order;
 *   - RUN_FINISHED only when nothing of the above is still open.
 * Events with no type, a raw frame that is not a JSON object, *_CHUNK events
 * and faults injected by agentrig are skipped. Indexes in messages are
 * 0-based positions in the turn's event list.
 *
 * Appends one failed check named "protocol.ag-ui" per violation (at most
 * AR_VAL_AGUI_SHOWN), or one passing check when every rule holds.
 */
void ar_val_agui(const ar_turn_obs *o, ar_checks *out);

#endif
