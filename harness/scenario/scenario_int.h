/*
 * scenario_int.h - internal to the scenario loader: what scenario.c (files,
 * scenarios, turns, captures) needs from scenario_expect.c (a turn's
 * `expect:` block). Kept apart from scenario.h so the public model does not
 * pull in libyaml and the loader context.
 */
#ifndef AR_SCENARIO_INT_H
#define AR_SCENARIO_INT_H

#include "scenario.h"
#include "yamltree.h"

/*
 * `expect:` of turn turn_idx (0-based) -> x. l->scn must already hold the
 * turns before turn_idx: `context: reappear:` may only name their captures.
 */
ar_err ar_scn_parse_expect(ar_yt *l, const yaml_node_t *n, size_t turn_idx, ar_expect *x);

#endif
