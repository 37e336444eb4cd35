/*
 * tools.h - the deterministic tools refagent's agents call over HTTP
 * (served by deps.c at POST /tools/<name>). Pure functions of their args:
 * the same args always give the same result, so tests and scenarios can pin
 * figures such as savings_pct.
 */
#ifndef RA_TOOLS_H
#define RA_TOOLS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* True for cost_db, gpu_inventory, pricing, compliance_check, migration_planner. */
bool ra_tools_exists(const char *name);

/*
 * Runs tool `name` on args (borrowed; a JSON object, NULL treated as {}).
 * Returns an owned JSON object, or NULL when the tool is unknown or memory ran out.
 */
cJSON *ra_tools_call(const char *name, const cJSON *args);

/* Savings the pricing tool promises for this fleet: a pure function of the GPU count. */
int ra_tools_savings_pct(int gpu_instances);

#endif
