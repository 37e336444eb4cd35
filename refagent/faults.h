/*
 * faults.h - refagent's cooperative test hooks: the "fault_directive" string
 * a user_message may carry, parsed into the faults that turn must suffer.
 *
 * A real service would have its own hooks; these exist so a harness can make
 * a tool or an agent fail without a fault proxy, and so the unit tests can
 * fault the orchestration in-process. A directive is a list of items
 * separated by ';' ',' or spaces:
 *   fail_tool=<tool>        every call of that tool fails (HTTP 503, injected)
 *   fail_agent=<agent|*>    every model call of that agent fails (HTTP 500, injected)
 *   slow_agent=<agent|*>:<ms>  that agent's model calls take ms longer
 */
#ifndef RA_FAULTS_H
#define RA_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

#define RA_FAULTS_MAX 8
#define RA_FAULTS_NAME_MAX 32
#define RA_FAULTS_DIRECTIVE_MAX_BYTES 512

/* Plain data: what one turn must suffer. Zeroed = no faults. */
typedef struct {
    char fail_tools[RA_FAULTS_MAX][RA_FAULTS_NAME_MAX];
    int n_fail_tools;
    char fail_agents[RA_FAULTS_MAX][RA_FAULTS_NAME_MAX];
    int n_fail_agents;
    char slow_agents[RA_FAULTS_MAX][RA_FAULTS_NAME_MAX];
    int slow_ms[RA_FAULTS_MAX];
    int n_slow_agents;
} ra_faults;

/*
 * Parses directive (borrowed) into *out (zeroed first). Returns 0, or -1 with
 * the reason in err, e.g. "fault_directive: unknown item 'x' (use fail_tool=,
 * fail_agent= or slow_agent=)".
 */
int ra_faults_parse(const char *directive, ra_faults *out, char *err, size_t err_len);
/* True when the directive makes tool `name` fail. f may be NULL. */
bool ra_faults_tool_fails(const ra_faults *f, const char *tool);
/* True when agent's model calls must fail ("*" matches every agent). f may be NULL. */
bool ra_faults_agent_fails(const ra_faults *f, const char *agent);
/* Extra latency of agent's model calls in ms (0 = none). f may be NULL. */
int ra_faults_agent_delay_ms(const ra_faults *f, const char *agent);

#endif
