/*
 * jsonptr.h - RFC 6901 JSON pointers, evaluated over cJSON trees, with two
 * agentrig extensions: a negative array index counts from the end
 * ("/messages/-1" is the last element, "-2" the one before), and "*" in an
 * object is its first member whatever its name (so "/" "*" "/messages"
 * reaches the messages of {"Data": {"messages": []}}), unless a member is
 * literally named "*".
 * RFC 6901's "-" keeps its meaning (the element after the last: nothing).
 *
 * Shared by the response.json validator (assertions on the terminal frame),
 * context.same (fields given as pointers into every frame), captures, and
 * the fault proxy's JSON match. Syntax checking at load time is the scenario
 * loader's own business.
 */
#ifndef AR_JSONPTR_H
#define AR_JSONPTR_H

#include <cjson/cJSON.h>

/*
 * Returns the value ptr points at inside root (borrowed from root), or NULL
 * when there is none: a missing member, an array index that is out of range
 * (also from the end: "-4" of three elements), "-", "-0" or not a canonical
 * number ("01", "-01"), a step into a scalar, or a malformed
 * pointer (not "" and not starting with '/', or a '~' not followed by 0 or 1).
 * "" is root itself. root may be NULL.
 */
const cJSON *ar_json_pointer_get(const cJSON *root, const char *ptr);

#endif
