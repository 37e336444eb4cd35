/*
 * validate.c - runs every expectation a turn declares, in one fixed order
 * (the order of validator.h), so reports list a turn's checks the same way
 * every run and a diff between two reports shows real changes only.
 */
#include "validator.h"

void ar_val_turn(const ar_expect *e, const ar_turn_obs *o, ar_checks *out)
{
    if (e->events.present) ar_val_events(&e->events, o, out);
    if (e->route.present) ar_val_route(&e->route, o, out);
    if (e->tools.present) ar_val_tools(&e->tools, o, out);
    if (e->n_regexes > 0) ar_val_response(e->regexes, e->n_regexes, o, out);
    if (e->n_jsons > 0) ar_val_json(e->jsons, e->n_jsons, o, out);
    if (e->latency.present) ar_val_latency(&e->latency, o, out);
    if (e->context.present) ar_val_context(&e->context, o, out);
}
