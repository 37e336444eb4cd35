/*
 * agents.h - one turn of the multi-agent orchestration:
 * Supervisor -> Triage -> {Data, Optimization, Compliance} -> Supervisor,
 * with fallbacks when an agent's model fails: Triage -> keyword routing by
 * the Supervisor; Data -> Estimator, Optimization -> Planner, Compliance ->
 * Auditor (see docs/protocol.md, "Failures and fallbacks").
 *
 * Runs on a worker thread and blocks (model/tool calls, think time). It knows
 * nothing about WebSockets: every event goes out through an emit callback,
 * which is how the unit tests drive it without a server, and the model and
 * tools are reached through an ra_link, which the tests run inline.
 */
#ifndef RA_AGENTS_H
#define RA_AGENTS_H

#include "faults.h"
#include "link.h"
#include "memory.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct {
    int think_ms;          /* sleep before each reasoning step */
    int thinking_deltas;   /* 0: one agent_thinking with "text"; N: N frames with "delta" */
    long dep_timeout_ms;   /* bound of each model or tool call (>= 1) */
    long turn_deadline_ms; /* the root completes within this; 0 = no deadline */
} ra_agents_cfg;

/*
 * Receives one event (owned by the callee) without "seq" and "ts_us": the
 * emitter stamps those, because seq is per connection.
 */
typedef void (*ra_emit_fn)(void *emit_ctx, cJSON *event);

typedef struct {
    const char *thread_id;
    uint32_t turn;
    const char *message;
    const ra_facts *facts;   /* the thread's facts after this message */
    const ra_faults *faults; /* the turn's fault_directive; NULL = none */
} ra_turn;

/*
 * Runs one turn to its end: the last event emitted is always the root
 * Supervisor's agent_completed, whatever failed. Borrows everything.
 */
void ra_agents_run_turn(const ra_agents_cfg *cfg, ra_link *link, const ra_turn *turn,
                        ra_emit_fn emit, void *emit_ctx);

/* The agent that stands in when `agent` fails (Data -> "Estimator", ...); NULL if none. */
const char *ra_agents_fallback(const char *agent);

/* USD cost of a token count at the reference price list. */
double ra_agents_cost_usd(int64_t input_tokens, int64_t output_tokens);

#endif
