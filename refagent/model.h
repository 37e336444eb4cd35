/*
 * model.h - the deterministic "language model" refagent's agents consult
 * over HTTP (served by deps.c at POST /v1/complete).
 *
 * Same request, same reply: routing is by keyword, texts are templates over
 * the request, token counts are derived from text lengths. It is a model in
 * the sense that matters for testing: a separate dependency whose failure
 * changes what the agents can do.
 */
#ifndef RA_MODEL_H
#define RA_MODEL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Route intents, decided from the user's words. */
enum {
    RA_INTENT_COST = 1u << 0,
    RA_INTENT_COMPLIANCE = 1u << 1,
    RA_INTENT_MIGRATION = 1u << 2,
};

/* Returns the RA_INTENT_* bits for a user message (case-insensitive keywords). */
unsigned ra_model_intents(const char *input);

/*
 * Appends the agents for intent bits to route and the intent names to
 * intents (both borrowed arrays): the keyword routing the model's "route"
 * step uses, and the Supervisor's own fallback when Triage fails.
 */
void ra_model_route(unsigned bits, cJSON *route, cJSON *intents);

/*
 * Answers one completion request (borrowed): {"agent","input","memory",
 * "step":"route"|"reason"|"answer", "intents"?, "findings"?}.
 * Returns an owned reply {"text", "route"/"intents" (route step), "usage"},
 * or NULL with a reason in err (for a 400) when the request is malformed.
 */
cJSON *ra_model_complete(const cJSON *req, char *err, size_t err_len);

/*
 * Writes the Supervisor's final answer from the findings the agents gathered
 * (see docs/protocol.md): the model's "answer" step, also used directly when
 * the model is unreachable. All arguments borrowed; returns an owned string.
 */
char *ra_model_compose(const char *input, const cJSON *memory, const cJSON *findings);

#endif
