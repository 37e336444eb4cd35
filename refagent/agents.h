/*
 * agents.h - one turn of the multi-agent orchestration:
 * Supervisor -> Triage -> {Data, Optimization, Compliance} -> Supervisor.
 *
 * Runs on a worker thread and blocks (HTTP calls, think time). It knows
 * nothing about WebSockets: every event goes out through an emit callback,
 * which is how the unit tests drive it without a server.
 */
#ifndef RA_AGENTS_H
#define RA_AGENTS_H

#include "depclient.h"
#include "memory.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct {
    const char *model_url; /* base URL: POST {model_url}/v1/complete */
    const char *tools_url; /* base URL: POST {tools_url}/tools/<name> */
    int think_ms;          /* sleep before each reasoning step */
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
    const ra_facts *facts; /* the thread's facts after this message */
} ra_turn;

/*
 * Runs one turn to its end: the last event emitted is always the root
 * Supervisor's agent_completed. Borrows everything.
 */
void ra_agents_run_turn(const ra_agents_cfg *cfg, ra_dc *dc, const ra_turn *turn, ra_emit_fn emit,
                        void *emit_ctx);

/* USD cost of a token count at the reference price list. */
double ra_agents_cost_usd(int64_t input_tokens, int64_t output_tokens);

#endif
